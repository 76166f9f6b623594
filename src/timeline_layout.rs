//! Where each deployment's bar goes on the timeline SVG: a time axis with ticks, one bar per
//! deployment that has a start time, and lanes so that overlapping deployments sit one above
//! the other instead of hiding each other. Pure geometry, tested natively.

use kudu_core::diagnose::{Timeline, TimelineEntry};
use kudu_core::{DeployStatus, Timestamp};

use crate::time_text;

/// How a bar is coloured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Success,
    Failed,
    Cancelled,
    Running,
    Partial,
    Unknown,
}

impl Outcome {
    pub fn of(status: DeployStatus) -> Self {
        match status {
            DeployStatus::Success => Outcome::Success,
            DeployStatus::Failed => Outcome::Failed,
            DeployStatus::Cancelled | DeployStatus::Conflict => Outcome::Cancelled,
            DeployStatus::Pending | DeployStatus::Building | DeployStatus::Deploying => {
                Outcome::Running
            }
            DeployStatus::PartialSuccess => Outcome::Partial,
            DeployStatus::Unknown(_) => Outcome::Unknown,
        }
    }

    /// The `data-outcome` value and CSS class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Running => "running",
            Outcome::Partial => "partial",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One bar, in SVG user units.
#[derive(Clone, PartialEq, Debug)]
pub struct Bar {
    /// Index into the timeline's entries.
    pub entry: usize,
    pub x: f64,
    pub width: f64,
    pub lane: usize,
    pub outcome: Outcome,
    /// Still running: drawn to the axis end, hatched.
    pub open_ended: bool,
    /// Overlaps another deployment.
    pub overlaps: bool,
    /// The push that collided: refused with status 5, or the later of an overlapping pair, or
    /// retried right after ending unsuccessfully.
    pub conflicting: bool,
}

/// A labelled tick on the axis.
#[derive(Clone, PartialEq, Debug)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

#[derive(Clone, PartialEq, Debug)]
pub struct TimelineLayout {
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub lanes: usize,
    /// Entries without any time; listed in the table only.
    pub untimed: usize,
}

/// What the timeline shows of a diagnosis' timeline.
#[derive(Clone, PartialEq, Debug)]
pub struct ShownEntries {
    /// The newest entries drawn and listed, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// How many entries could have been drawn (leftover `temp-` records aside).
    pub of: usize,
    /// `temp-` records of pushes that are over: one line of text, not bars.
    pub leftover_temps: usize,
}

/// Picks what the timeline draws: at most `max` of the newest entries, without leftover
/// `temp-` records. A `temp-` record is drawn only while it may be a push under way whose real
/// record is not written yet: still open and the newest entry of all. Every other one is a
/// leftover and only counted (`Timeline::temp_records` counts the whole list, which the
/// timeline itself caps).
pub fn shown_entries(timeline: &Timeline, max: usize) -> ShownEntries {
    let all = &timeline.entries;
    let live_temp = all
        .last()
        .filter(|entry| entry.deployment.temp && entry.end.is_none());
    let candidates: Vec<&TimelineEntry> = all
        .iter()
        .filter(|entry| !entry.deployment.temp)
        .chain(live_temp)
        .collect();
    let temps_listed = all.iter().filter(|entry| entry.deployment.temp).count();
    let live = usize::from(live_temp.is_some());
    ShownEntries {
        entries: candidates[candidates.len().saturating_sub(max)..]
            .iter()
            .map(|entry| (*entry).clone())
            .collect(),
        of: candidates.len(),
        leftover_temps: timeline.temp_records.max(temps_listed) - live,
    }
}

/// An SVG coordinate rounded to a tenth and written with integer maths ("12", "12.5",
/// "-0.3"; "0" for NaN or infinity): `format!` on an `f64` would put Rust's float printing
/// code into the wasm just for these attributes (issue 6, payload).
pub fn svg_number(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    // `as` saturates, so an absurd coordinate stays a number instead of wrapping.
    let tenths = (x * 10.0).round() as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    let magnitude = tenths.unsigned_abs();
    let (whole, tenth) = (magnitude / 10, magnitude % 10);
    if tenth == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{tenth}")
    }
}

/// Narrowest bar drawn, so an instant deployment stays visible and focusable.
pub const MIN_BAR_WIDTH: f64 = 4.0;
const TICK_STEPS_MIN: [i64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
const MAX_TICKS: i64 = 6;
const MS_PER_DAY: i64 = 86_400_000;

/// Lays out `entries` (oldest first) across `width` units; open deployments end at `now`.
pub fn layout(entries: &[TimelineEntry], now: Timestamp, width: f64) -> TimelineLayout {
    let spans: Vec<Option<(i64, i64)>> = entries
        .iter()
        .map(|entry| {
            let begin = entry.begin.or(entry.deployment.started)?.unix_millis();
            let end = entry.end.map_or(now.unix_millis(), Timestamp::unix_millis);
            Some((begin, end.max(begin)))
        })
        .collect();
    let timed: Vec<(i64, i64)> = spans.iter().flatten().copied().collect();
    let (Some(first), Some(last)) = (
        timed.iter().map(|s| s.0).min(),
        timed.iter().map(|s| s.1).max(),
    ) else {
        return TimelineLayout {
            bars: vec![],
            ticks: vec![],
            lanes: 0,
            untimed: entries.len(),
        };
    };
    let pad = ((last - first) / 20).max(2 * 60_000);
    let (start, end) = (first - pad, last + pad);
    let scale = width / (end - start) as f64;
    let x_of = |ms: i64| (ms - start) as f64 * scale;

    let mut lane_ends: Vec<i64> = Vec::new();
    let mut bars = Vec::new();
    for (index, (entry, span)) in entries.iter().zip(&spans).enumerate() {
        let Some((begin, finish)) = *span else {
            continue;
        };
        let lane = match lane_ends.iter().position(|&lane_end| lane_end < begin) {
            Some(lane) => lane,
            None => {
                lane_ends.push(i64::MIN);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = finish;
        let overlaps = !entry.overlaps.is_empty();
        let began_after_an_overlap = overlaps
            && entries.iter().zip(&spans).any(|(other, other_span)| {
                other_span.is_some_and(|(other_begin, _)| other_begin < begin)
                    && other
                        .deployment
                        .id
                        .as_ref()
                        .is_some_and(|id| entry.overlaps.contains(id))
            });
        bars.push(Bar {
            entry: index,
            x: x_of(begin),
            width: (x_of(finish) - x_of(begin)).max(MIN_BAR_WIDTH),
            lane,
            outcome: Outcome::of(entry.deployment.status),
            open_ended: entry.end.is_none(),
            overlaps,
            conflicting: entry.deployment.status == DeployStatus::Conflict
                || began_after_an_overlap
                || entry.ended_unsuccessfully_before_next,
        });
    }
    TimelineLayout {
        lanes: lane_ends.len(),
        untimed: entries.len() - bars.len(),
        ticks: ticks(start, end, x_of),
        bars,
    }
}

fn ticks(start: i64, end: i64, x_of: impl Fn(i64) -> f64) -> Vec<Tick> {
    let span_min = (end - start) / 60_000;
    let step_min = TICK_STEPS_MIN
        .into_iter()
        .find(|step| span_min / step < MAX_TICKS)
        .unwrap_or(span_min / MAX_TICKS + 1);
    let step = step_min * 60_000;
    // Past a day, a bare HH:MM is ambiguous: the label carries the date too.
    let dated = end - start > MS_PER_DAY;
    let mut at = start.div_euclid(step) * step + step;
    let mut ticks = Vec::new();
    while at < end {
        let when = Timestamp::from_unix_millis(at);
        ticks.push(Tick {
            x: x_of(at),
            label: if dated {
                time_text::month_day_hh_mm(when)
            } else {
                time_text::hh_mm(when)
            },
        });
        at += step;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use kudu_core::Deployment;

    use super::*;

    const T0: i64 = 1_764_165_600_000; // 2025-11-26 14:00 UTC

    fn entry(
        id: &str,
        status: DeployStatus,
        begin_min: i64,
        end_min: Option<i64>,
    ) -> TimelineEntry {
        TimelineEntry {
            deployment: Deployment {
                id: Some(id.to_string()),
                status,
                status_code: None,
                status_text: String::new(),
                received: None,
                started: None,
                ended: None,
                last_success_end: None,
                deployer: String::new(),
                author: String::new(),
                message: String::new(),
                progress: String::new(),
                complete: end_min.is_some(),
                active: false,
                temp: false,
                provisioning_state: None,
                flex_fields: false,
            },
            begin: Some(Timestamp::from_unix_millis(T0 + begin_min * 60_000)),
            end: end_min.map(|m| Timestamp::from_unix_millis(T0 + m * 60_000)),
            overlaps: vec![],
            ended_unsuccessfully_before_next: false,
            died_mid_deploy: false,
        }
    }

    #[test]
    fn overlapping_deployments_get_separate_lanes_and_the_later_is_conflicting() {
        let mut first = entry("a", DeployStatus::Success, 0, Some(10));
        let mut second = entry("b", DeployStatus::Failed, 5, Some(12));
        first.overlaps = vec!["b".into()];
        second.overlaps = vec!["a".into()];
        let third = entry("c", DeployStatus::Deploying, 20, None);
        let now = Timestamp::from_unix_millis(T0 + 30 * 60_000);
        let layout = layout(&[first, second, third], now, 400.0);
        assert_eq!(layout.bars.len(), 3);
        assert_eq!(layout.lanes, 2);
        let lanes: Vec<usize> = layout.bars.iter().map(|b| b.lane).collect();
        assert_eq!(lanes, vec![0, 1, 0]);
        let conflicting: Vec<bool> = layout.bars.iter().map(|b| b.conflicting).collect();
        assert_eq!(conflicting, vec![false, true, false]);
        assert!(layout.bars[0].overlaps && layout.bars[1].overlaps);
        assert!(layout.bars[2].open_ended);
        assert_eq!(layout.bars[2].outcome, Outcome::Running);
        assert!(
            layout
                .bars
                .iter()
                .all(|b| b.x >= 0.0 && b.x + b.width <= 400.0)
        );
    }

    fn temp(id: &str, begin_min: i64, end_min: Option<i64>) -> TimelineEntry {
        let mut entry = entry(id, DeployStatus::Pending, begin_min, end_min);
        entry.deployment.temp = true;
        entry
    }

    #[test]
    fn leftover_temp_records_are_counted_not_drawn() {
        let timeline = Timeline {
            entries: vec![
                entry("a", DeployStatus::Success, 0, Some(5)),
                temp("temp-1", 10, None),
                entry("b", DeployStatus::Failed, 20, Some(25)),
                temp("temp-2", 30, None),
            ],
            // The list held thousands; the timeline kept two of them.
            temp_records: 5000,
        };
        let shown = shown_entries(&timeline, 40);
        let ids: Vec<_> = shown
            .entries
            .iter()
            .filter_map(|e| e.deployment.id.as_deref())
            .collect();
        // The newest record is an open temp record: maybe a push whose real record is not
        // written yet, so it stays.
        assert_eq!(ids, ["a", "b", "temp-2"]);
        assert_eq!((shown.of, shown.leftover_temps), (3, 4999));

        let finished = Timeline {
            entries: vec![
                temp("temp-1", 0, Some(5)),
                entry("a", DeployStatus::Success, 10, Some(12)),
            ],
            temp_records: 0,
        };
        let shown = shown_entries(&finished, 1);
        assert_eq!(shown.entries.len(), 1);
        assert_eq!((shown.of, shown.leftover_temps), (1, 1));
    }

    #[test]
    fn ticks_are_round_utc_times_inside_the_axis() {
        let entries = [entry("a", DeployStatus::Success, 0, Some(60))];
        let layout = layout(&entries, Timestamp::from_unix_millis(T0), 600.0);
        let labels: Vec<&str> = layout.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["14:00", "14:15", "14:30", "14:45", "15:00"]);
        assert!(layout.ticks.windows(2).all(|w| w[0].x < w[1].x));
    }

    #[test]
    fn ticks_over_several_days_carry_the_date() {
        let entries = [
            entry("a", DeployStatus::Success, 0, Some(1)),
            entry(
                "b",
                DeployStatus::Success,
                3 * 24 * 60,
                Some(3 * 24 * 60 + 1),
            ),
        ];
        let layout = layout(&entries, Timestamp::from_unix_millis(T0), 600.0);
        assert!(layout.ticks.len() <= 6 && !layout.ticks.is_empty());
        assert_eq!(layout.ticks[0].label, "11-27 00:00");
    }

    #[test]
    fn entries_without_times_are_counted_not_drawn() {
        let mut untimed = entry("x", DeployStatus::Failed, 0, Some(1));
        untimed.begin = None;
        let alone = layout(&[untimed.clone()], Timestamp::from_unix_millis(T0), 100.0);
        assert_eq!((alone.bars.len(), alone.untimed), (0, 1));
        let timed = entry("y", DeployStatus::Cancelled, 0, Some(0));
        let mixed = layout(&[untimed, timed], Timestamp::from_unix_millis(T0), 100.0);
        assert_eq!((mixed.bars.len(), mixed.untimed), (1, 1));
        assert!(mixed.bars[0].width >= MIN_BAR_WIDTH);
        assert_eq!(mixed.bars[0].outcome, Outcome::Cancelled);
    }

    #[test]
    fn svg_numbers_have_at_most_one_decimal() {
        assert_eq!(svg_number(12.0), "12");
        assert_eq!(svg_number(12.5), "12.5");
        assert_eq!(svg_number(12.04), "12");
        assert_eq!(svg_number(12.06), "12.1");
        assert_eq!(svg_number(419.96), "420");
        assert_eq!(svg_number(0.0), "0");
        assert_eq!(svg_number(0.3), "0.3");
        assert_eq!(svg_number(-0.3), "-0.3");
        assert_eq!(svg_number(-0.04), "0");
        assert_eq!(svg_number(-12.5), "-12.5");
        assert_eq!(svg_number(-7.0), "-7");
        assert_eq!(svg_number(f64::NAN), "0");
        assert_eq!(svg_number(f64::INFINITY), "0");
        assert_eq!(svg_number(f64::NEG_INFINITY), "0");
        assert_eq!(svg_number(1e300), "922337203685477580.7");
    }
}
