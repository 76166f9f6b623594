//! Where each deployment's bar goes on the timeline SVG: a time axis over the window the core
//! chose, ending at "now", with ticks chosen for its span and width; one bar per deployment
//! that has a start time, at least a few pixels wide; lanes so that overlapping deployments sit
//! one above the other instead of hiding each other; and a lane of marks for refused pushes and
//! Kudu restarts. Pure geometry, tested natively.

use kudu_core::diagnose::{
    TimeWindow, Timeline, TimelineEntry, TimelineMark, TimelineMarkKind, TimelineView,
};
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

/// One bar, in SVG user units (CSS pixels: the picture is drawn at its container's width).
#[derive(Clone, PartialEq, Debug)]
pub struct Bar {
    /// Index into the shown entries.
    pub entry: usize,
    pub x: f64,
    pub width: f64,
    pub lane: usize,
    pub outcome: Outcome,
    /// Still running: drawn to the live edge ("now"), hatched.
    pub open_ended: bool,
    /// Overlaps another deployment.
    pub overlaps: bool,
    /// The push that collided: refused with status 5, or the later of an overlapping pair, or
    /// retried right after ending unsuccessfully.
    pub conflicting: bool,
    /// Began before the window: its left end is cut at the axis' start.
    pub cut_before: bool,
}

/// A piece of text on the picture, with the horizontal extent it is laid out to take.
#[derive(Clone, PartialEq, Debug)]
pub struct Label {
    pub text: String,
    /// Where the text is anchored, and how (`start`, `middle`, `end`).
    pub x: f64,
    pub anchor: &'static str,
    /// Its estimated extent, `left..right`: no two labels of one row share any of it.
    pub left: f64,
    pub right: f64,
}

impl Label {
    fn new(text: String, x: f64, anchor: &'static str) -> Self {
        let width = label_width(&text);
        let left = match anchor {
            "start" => x,
            "end" => x - width,
            _ => x - width / 2.0,
        };
        Label {
            text,
            x,
            anchor,
            left,
            right: left + width,
        }
    }

    fn clear_of(&self, other: &Label) -> bool {
        self.right + LABEL_GAP <= other.left || other.right + LABEL_GAP <= self.left
    }
}

/// A labelled tick on the axis.
#[derive(Clone, PartialEq, Debug)]
pub struct Tick {
    pub x: f64,
    pub label: Label,
}

/// A moment from Kudu's traces (a refused push, a Kudu start or stop), on the marks lane.
#[derive(Clone, PartialEq, Debug)]
pub struct MarkGlyph {
    /// Index into the shown marks.
    pub mark: usize,
    pub x: f64,
    pub kind: TimelineMarkKind,
    /// Refused pushes are labelled while there is room; the rest say it on focus.
    pub label: Option<Label>,
}

#[derive(Clone, PartialEq, Debug)]
pub struct TimelineLayout {
    pub width: f64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    /// "now", at the axis' right end: the live edge.
    pub now_label: Label,
    pub marks: Vec<MarkGlyph>,
    pub lanes: usize,
    /// Entries without any time; listed in the table only.
    pub untimed: usize,
}

/// What the timeline shows of a diagnosis' timeline, for one view: the picture and the table
/// read this one value, so they always list the same deployments.
#[derive(Clone, PartialEq, Debug)]
pub struct ShownEntries {
    pub window: TimeWindow,
    /// The newest entries of the window drawn and listed, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// The marks inside the window.
    pub marks: Vec<TimelineMark>,
    /// How many entries the window holds (leftover `temp-` records aside).
    pub of: usize,
    /// Drawable entries outside the window: another view shows them.
    pub outside: usize,
    /// `temp-` records of pushes that are over: one line of text, not bars.
    pub leftover_temps: usize,
}

/// Picks what the timeline draws for `view`: the window the core chooses
/// ([`Timeline::window`]), at most `max` of the newest entries in it, without leftover `temp-`
/// records ([`Timeline::drawable`]: only an open newest `temp-` record may be a push under way
/// whose real record is not written yet). `Timeline::temp_records` counts the whole list,
/// which the timeline itself caps.
pub fn shown_entries(
    timeline: &Timeline,
    view: TimelineView,
    now: Timestamp,
    max: usize,
) -> ShownEntries {
    let window = timeline.window(view, now);
    let inside = timeline.entries_in(window, now);
    let drawable = timeline.drawable().count();
    // A `temp-` record still counts as a push under way (not a leftover) while it is drawn, or
    // while a real record of the same deployer is still open: that record stands for it.
    let open_real = |deployer: &str| {
        timeline.entries.iter().any(|entry| {
            !entry.deployment.temp && entry.end.is_none() && entry.deployment.deployer == deployer
        })
    };
    let newest = timeline.entries.len().saturating_sub(1);
    let under_way = timeline
        .entries
        .iter()
        .enumerate()
        .filter(|(index, entry)| {
            entry.deployment.temp
                && entry.end.is_none()
                && (*index == newest || open_real(&entry.deployment.deployer))
        })
        .count();
    let temps_listed = timeline
        .entries
        .iter()
        .filter(|entry| entry.deployment.temp)
        .count();
    ShownEntries {
        window,
        entries: inside[inside.len().saturating_sub(max)..]
            .iter()
            .map(|entry| (*entry).clone())
            .collect(),
        marks: timeline.marks_in(window).into_iter().cloned().collect(),
        of: inside.len(),
        outside: drawable - inside.len(),
        leftover_temps: timeline
            .temp_records
            .max(temps_listed)
            .saturating_sub(under_way),
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
pub const MIN_BAR_WIDTH: f64 = 6.0;
/// Half the width of a mark's glyph (the component draws a 12-unit diamond).
pub const MARK_HALF_WIDTH: f64 = 6.0;
/// Room kept between two bars that share a lane.
const LANE_CLEARANCE: f64 = 2.0;
/// Font size of every label on the picture (`.kd-timeline-svg text` in style.css).
pub const LABEL_FONT_PX: f64 = 11.0;
/// What one character of a label is taken to need: wider than the digits, colons and dashes
/// of the labels are in the sans-serif fonts the stylesheet names, so estimates err wide.
const CHAR_PX: f64 = LABEL_FONT_PX * 0.66;
/// Room kept between two labels.
const LABEL_GAP: f64 = 8.0;
/// Ticks stand at least this many label widths apart (plus the gap), so the axis stays
/// airy rather than a row of labels.
const TICK_SPACING: f64 = 1.6;
/// Tick steps, seconds: the first whose labels fit the width is used.
const TICK_STEPS_SECS: [i64; 22] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 2_592_000, 31_536_000,
];
const SECS_PER_DAY: i64 = 86_400;

/// The width a label is laid out to take.
pub fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_PX
}

/// Lays out `shown` across `width` units: the window's start at 0, its end ("now") at
/// `width`. Open deployments run to now.
pub fn layout(shown: &ShownEntries, now: Timestamp, width: f64) -> TimelineLayout {
    let width = width.max(MIN_BAR_WIDTH * 4.0);
    let window = shown.window;
    let (start, end) = (
        window.from.unix_millis(),
        window
            .to
            .unix_millis()
            .max(window.from.unix_millis() + 1000),
    );
    let scale = width / (end - start) as f64;
    let x_of = |ms: i64| ((ms.clamp(start, end) - start) as f64 * scale).clamp(0.0, width);
    let entries = &shown.entries;
    let spans: Vec<Option<(i64, i64)>> = entries
        .iter()
        .map(|entry| {
            let begin = entry.begin.or(entry.deployment.started)?.unix_millis();
            let finish = entry.end.map_or(now.unix_millis(), Timestamp::unix_millis);
            Some((begin, finish.max(begin)))
        })
        .collect();

    let mut lane_ends: Vec<f64> = Vec::new();
    let mut bars = Vec::new();
    for (index, (entry, span)) in entries.iter().zip(&spans).enumerate() {
        let Some((begin, finish)) = *span else {
            continue;
        };
        let bar_width = (x_of(finish) - x_of(begin)).max(MIN_BAR_WIDTH);
        let x = x_of(begin).min(width - bar_width);
        // Lanes by drawn extent, not by time: two deployments that overlap in time overlap
        // here too, and a bar widened to stay visible never covers its neighbour.
        let lane = match lane_ends
            .iter()
            .position(|&lane_end| lane_end + LANE_CLEARANCE <= x)
        {
            Some(lane) => lane,
            None => {
                lane_ends.push(f64::MIN);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = x + bar_width;
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
            x,
            width: bar_width,
            lane,
            outcome: Outcome::of(entry.deployment.status),
            open_ended: entry.end.is_none(),
            overlaps,
            conflicting: entry.deployment.status == DeployStatus::Conflict
                || began_after_an_overlap
                || entry.ended_unsuccessfully_before_next,
            cut_before: begin < start,
        });
    }

    let now_label = Label::new("now".to_string(), width, "end");
    let ticks = ticks(start, end, width, &now_label, x_of);
    let mut marks: Vec<MarkGlyph> = Vec::new();
    let mut last_label: Option<Label> = None;
    for (index, mark) in shown.marks.iter().enumerate() {
        // A mark is a glyph about 12 units wide: kept whole inside the picture.
        let x = x_of(mark.at.unix_millis()).clamp(MARK_HALF_WIDTH, width - MARK_HALF_WIDTH);
        let label = (mark.kind == TimelineMarkKind::RefusedDeployment)
            .then(|| mark_label(mark, x, width))
            .filter(|label| last_label.as_ref().is_none_or(|last| last.clear_of(label)));
        if label.is_some() {
            last_label.clone_from(&label);
        }
        marks.push(MarkGlyph {
            mark: index,
            x,
            kind: mark.kind,
            label,
        });
    }
    TimelineLayout {
        width,
        lanes: lane_ends.len(),
        untimed: entries.len() - bars.len(),
        ticks,
        now_label,
        marks,
        bars,
    }
}

/// `409 at 10:02:03`, beside the mark: after it while it fits, before it otherwise.
fn mark_label(mark: &TimelineMark, x: f64, width: f64) -> Label {
    let text = format!("409 refused {}", time_text::hh_mm_ss(mark.at));
    const BESIDE: f64 = 7.0;
    let needs = label_width(&text);
    if x + BESIDE + needs <= width {
        Label::new(text, x + BESIDE, "start")
    } else {
        Label::new(text, (x - BESIDE).max(needs), "end")
    }
}

/// Ticks at round UTC times: the smallest step at least [`TICK_SPACING`] labels (and a gap)
/// wide, so no two labels overlap; a tick whose label would
/// leave the picture or touch "now" is dropped.
fn ticks(
    start: i64,
    end: i64,
    width: f64,
    now_label: &Label,
    x_of: impl Fn(i64) -> f64,
) -> Vec<Tick> {
    let crosses_days = start.div_euclid(SECS_PER_DAY * 1000) != end.div_euclid(SECS_PER_DAY * 1000);
    let text = |at: i64, step: i64| {
        let when = Timestamp::from_unix_millis(at);
        if step >= SECS_PER_DAY {
            time_text::month_day(when)
        } else if step < 60 {
            time_text::hh_mm_ss(when)
        } else if crosses_days {
            time_text::month_day_hh_mm(when)
        } else {
            time_text::hh_mm(when)
        }
    };
    let px_per_sec = width / ((end - start) as f64 / 1000.0);
    // Airy if that still gives two ticks; on a very short or narrow axis, as close as labels
    // can stand.
    let mut best: Vec<Tick> = vec![];
    for spacing in [TICK_SPACING, 1.0] {
        let Some(step) = TICK_STEPS_SECS.into_iter().find(|&step| {
            let widest = label_width(&text(start, step));
            step as f64 * px_per_sec >= widest * spacing + LABEL_GAP
        }) else {
            continue;
        };
        let step_ms = step * 1000;
        let mut at = start.div_euclid(step_ms) * step_ms + step_ms;
        let mut ticks = Vec::new();
        while at < end {
            let x = x_of(at);
            let label = Label::new(text(at, step), x, "middle");
            if label.left >= 0.0 && label.right <= width && label.clear_of(now_label) {
                ticks.push(Tick { x, label });
            }
            at += step_ms;
        }
        if ticks.len() >= 2 {
            return ticks;
        }
        if ticks.len() > best.len() {
            best = ticks;
        }
    }
    best
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

    fn temp(id: &str, begin_min: i64, end_min: Option<i64>) -> TimelineEntry {
        let mut entry = entry(id, DeployStatus::Pending, begin_min, end_min);
        entry.deployment.temp = true;
        entry
    }

    fn at_min(minutes: i64) -> Timestamp {
        Timestamp::from_unix_millis(T0 + minutes * 60_000)
    }

    /// The entries over the window `from_min..to_min` (minutes after 14:00).
    fn shown(entries: Vec<TimelineEntry>, from_min: i64, to_min: i64) -> ShownEntries {
        ShownEntries {
            window: TimeWindow {
                from: at_min(from_min),
                to: at_min(to_min),
            },
            of: entries.len(),
            entries,
            marks: vec![],
            outside: 0,
            leftover_temps: 0,
        }
    }

    fn refused(minute: i64) -> TimelineMark {
        TimelineMark {
            kind: TimelineMarkKind::RefusedDeployment,
            at: at_min(minute),
            instance: "a1b2c3".into(),
            method: Some("POST".into()),
            path: Some("/api/zipdeploy".into()),
            status: Some(409),
            duration_secs: Some(0),
            file: "trace.xml".into(),
            held_by: None,
            summary: "Your push was refused.".into(),
        }
    }

    fn no_labels_meet(layout: &TimelineLayout) {
        let mut row: Vec<&Label> = layout.ticks.iter().map(|t| &t.label).collect();
        row.push(&layout.now_label);
        for (i, a) in row.iter().enumerate() {
            assert!(
                a.left >= 0.0 && a.right <= layout.width,
                "{a:?} leaves the picture"
            );
            for b in &row[i + 1..] {
                assert!(a.clear_of(b), "{a:?} meets {b:?}");
            }
        }
    }

    #[test]
    fn overlapping_deployments_get_separate_lanes_and_the_later_is_conflicting() {
        let mut first = entry("a", DeployStatus::Success, 0, Some(10));
        let mut second = entry("b", DeployStatus::Failed, 5, Some(12));
        first.overlaps = vec!["b".into()];
        second.overlaps = vec!["a".into()];
        let third = entry("c", DeployStatus::Deploying, 20, None);
        let shown = shown(vec![first, second, third], -2, 30);
        let layout = layout(&shown, at_min(30), 400.0);
        assert_eq!(layout.bars.len(), 3);
        assert_eq!(layout.lanes, 2);
        let lanes: Vec<usize> = layout.bars.iter().map(|b| b.lane).collect();
        assert_eq!(lanes, vec![0, 1, 0]);
        let conflicting: Vec<bool> = layout.bars.iter().map(|b| b.conflicting).collect();
        assert_eq!(conflicting, vec![false, true, false]);
        assert!(layout.bars[0].overlaps && layout.bars[1].overlaps);
        assert!(layout.bars[2].open_ended);
        assert_eq!(layout.bars[2].outcome, Outcome::Running);
        assert_eq!(
            layout.bars[2].x + layout.bars[2].width,
            400.0,
            "runs to the live edge"
        );
        assert!(
            layout
                .bars
                .iter()
                .all(|b| b.x >= 0.0 && b.x + b.width <= 400.0)
        );
    }

    #[test]
    fn a_bar_that_began_before_the_window_is_cut_at_its_start() {
        let old = entry("a", DeployStatus::Building, -600, None);
        let layout = layout(&shown(vec![old], 0, 10), at_min(10), 300.0);
        assert_eq!((layout.bars[0].x, layout.bars[0].width), (0.0, 300.0));
        assert!(layout.bars[0].cut_before);
    }

    #[test]
    fn instant_deployments_stay_wide_enough_to_point_at_and_never_cover_each_other() {
        // Ten one-second deployments a second apart, on a day-long axis.
        let entries: Vec<TimelineEntry> = (0..10)
            .map(|i| {
                let mut e = entry(&format!("d{i}"), DeployStatus::Success, 0, Some(0));
                e.begin = Some(at_min(0).plus_secs(i));
                e.end = Some(at_min(0).plus_secs(i + 1));
                e
            })
            .collect();
        let layout = layout(&shown(entries, -720, 720), at_min(720), 420.0);
        assert!(layout.bars.iter().all(|b| b.width >= MIN_BAR_WIDTH));
        for (i, a) in layout.bars.iter().enumerate() {
            for b in &layout.bars[i + 1..] {
                let apart = a.x + a.width <= b.x || b.x + b.width <= a.x;
                assert!(apart || a.lane != b.lane, "{a:?} covers {b:?}");
            }
        }
    }

    #[test]
    fn a_refused_push_is_a_labelled_mark_of_its_own() {
        let holder = entry("h", DeployStatus::Building, 0, None);
        let mut shown = shown(vec![holder], -1, 10);
        shown.marks = vec![refused(0), refused(0), refused(9)];
        let layout = layout(&shown, at_min(10), 420.0);
        assert_eq!(layout.marks.len(), 3);
        let labels: Vec<Option<&str>> = layout
            .marks
            .iter()
            .map(|m| m.label.as_ref().map(|l| l.text.as_str()))
            .collect();
        // The second refusal at the same second has no room for a label of its own.
        assert_eq!(
            labels,
            [
                Some("409 refused 14:00:00"),
                None,
                Some("409 refused 14:09:00")
            ]
        );
        let last = layout.marks[2]
            .label
            .as_ref()
            .map(|l| (l.anchor, l.right <= 420.0));
        assert_eq!(
            last,
            Some(("end", true)),
            "near the edge the label grows inwards"
        );

        // Refused at the very last moment: the glyph stays whole inside the picture.
        shown.marks = vec![refused(10)];
        let at_the_end = super::layout(&shown, at_min(10), 420.0);
        assert_eq!(at_the_end.marks[0].x, 420.0 - MARK_HALF_WIDTH);
    }

    #[test]
    fn ticks_are_round_utc_times_inside_the_axis() {
        let entries = vec![entry("a", DeployStatus::Success, 0, Some(60))];
        let layout = layout(&shown(entries, -3, 63), at_min(63), 600.0);
        let labels: Vec<&str> = layout.ticks.iter().map(|t| t.label.text.as_str()).collect();
        // 15:00 would touch "now" at the axis' end.
        assert_eq!(
            labels,
            ["14:00", "14:10", "14:20", "14:30", "14:40", "14:50"]
        );
        assert!(layout.ticks.windows(2).all(|w| w[0].x < w[1].x));
        no_labels_meet(&layout);
    }

    #[test]
    fn ticks_are_chosen_for_the_span_and_never_overlap() {
        // (window in minutes, width) -> the unit the labels are written in.
        let cases: [(i64, f64, usize); 7] = [
            (1, 420.0, 8), // a minute: seconds, HH:MM:SS
            (1, 200.0, 8),
            (45, 300.0, 5),           // minutes, HH:MM
            (8 * 60, 420.0, 5),       // hours
            (36 * 60, 420.0, 11),     // crosses midnight: MM-DD HH:MM
            (36 * 60, 180.0, 5),      // no room for hours: days
            (20 * 24 * 60, 420.0, 5), // weeks: MM-DD
        ];
        for (minutes, width, chars) in cases {
            let layout = layout(&shown(vec![], -minutes, 0), at_min(0), width);
            assert!(!layout.ticks.is_empty(), "{minutes} min at {width}");
            assert!(
                layout
                    .ticks
                    .iter()
                    .all(|t| t.label.text.chars().count() == chars),
                "{minutes} min at {width}: {:?}",
                layout.ticks
            );
            no_labels_meet(&layout);
        }
    }

    #[test]
    fn the_healthy_history_labels_do_not_collide() {
        // Issue 20: "12-06 12:00" and "12-06 18:00" were drawn over each other.
        for width in [240.0, 420.0, 900.0] {
            let layout = layout(&shown(vec![], -(38 * 60), 0), at_min(0), width);
            no_labels_meet(&layout);
            // At 240 units only the one midnight fits a label.
            assert!(
                layout.ticks.len() >= if width < 400.0 { 1 } else { 2 },
                "{width}: {:?}",
                layout.ticks
            );
        }
    }

    #[test]
    fn entries_without_times_are_counted_not_drawn() {
        let mut untimed = entry("x", DeployStatus::Failed, 0, Some(1));
        untimed.begin = None;
        let alone = layout(&shown(vec![untimed.clone()], -1, 5), at_min(5), 100.0);
        assert_eq!((alone.bars.len(), alone.untimed), (0, 1));
        let timed = entry("y", DeployStatus::Cancelled, 0, Some(0));
        let mixed = layout(&shown(vec![untimed, timed], -1, 5), at_min(5), 100.0);
        assert_eq!((mixed.bars.len(), mixed.untimed), (1, 1));
        assert!(mixed.bars[0].width >= MIN_BAR_WIDTH);
        assert_eq!(mixed.bars[0].outcome, Outcome::Cancelled);
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
            ..Timeline::default()
        };
        let shown = shown_entries(&timeline, TimelineView::All, at_min(40), 40);
        let ids: Vec<_> = shown
            .entries
            .iter()
            .filter_map(|e| e.deployment.id.as_deref())
            .collect();
        // The newest record is an open temp record: maybe a push whose real record is not
        // written yet, so it stays.
        assert_eq!(ids, ["a", "b", "temp-2"]);
        assert_eq!((shown.of, shown.leftover_temps), (3, 4999));

        // Two pushes under way: their temp records are not leftovers.
        let mut running = entry("r", DeployStatus::Building, 30, None);
        running.deployment.deployer = "GitHub".into();
        let mut running_temp = temp("temp-3", 30, None);
        running_temp.deployment.deployer = "GitHub".into();
        let under_way = Timeline {
            entries: vec![running_temp, running],
            temp_records: 1,
            ..Timeline::default()
        };
        let shown = shown_entries(&under_way, TimelineView::All, at_min(40), 40);
        assert_eq!((shown.entries.len(), shown.leftover_temps), (1, 0));

        let finished = Timeline {
            entries: vec![
                temp("temp-1", 0, Some(5)),
                entry("a", DeployStatus::Success, 10, Some(12)),
            ],
            ..Timeline::default()
        };
        let shown = shown_entries(&finished, TimelineView::All, at_min(40), 1);
        assert_eq!(shown.entries.len(), 1);
        assert_eq!((shown.of, shown.leftover_temps), (1, 1));
    }

    #[test]
    fn the_default_view_leaves_old_history_to_another_view() {
        let timeline = Timeline {
            entries: vec![
                entry("old", DeployStatus::Success, -3000, Some(-2998)),
                entry("now", DeployStatus::Building, 0, None),
            ],
            ..Timeline::default()
        };
        let shown = shown_entries(&timeline, TimelineView::ExplainsNow, at_min(2), 40);
        assert_eq!((shown.entries.len(), shown.outside), (1, 1));
        let all = shown_entries(&timeline, TimelineView::All, at_min(2), 40);
        assert_eq!((all.entries.len(), all.outside), (2, 0));
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
