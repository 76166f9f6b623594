//! Every deployment as an interval (received or started, until ended or still open), which
//! intervals overlap, and which deployments ended without success shortly before another
//! began (the cancel-then-retry pattern); and the window of time that explains the site's
//! state now ([`Timeline::window`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnose::{Timeline, TimelineEntry, TimelineMark, TimelineMarkKind};
use crate::model::{DeployStatus, Deployment, LogEntry};
use crate::session::Observed;
use crate::time::Timestamp;

/// The line Kudu's VerifyDeployment logs when it marks an incomplete deployment failed
/// (kudu-facts 1.3), as Kudu-W and Kudu-L write it.
pub const VERIFY_DEPLOYMENT_LINE: &str =
    "An unknown error has occurred. Check the diagnostic log for details.";

/// "Shortly before": a deployment that ended without success at most this long before another
/// began. CI retries and re-runs after a cancel land within seconds to a few minutes.
pub const RETRY_WINDOW_SECS: i64 = 5 * 60;

/// The timeline keeps the newest this many deployments. Overlap lists name every overlapping
/// pair, so an unbounded list (a hostile or corrupt site can list thousands of records that
/// all overlap) would grow quadratically in the lists it builds; Kudu's own purge keeps real
/// lists far shorter (at most 10 that ever succeeded, kudu-facts §1.3), and causes only look at
/// recent history. The full list stays in the session for the planner.
pub const TIMELINE_MAX_ENTRIES: usize = 250;

/// Two deployments from one deployer that began at most this far apart are one client
/// retrying, not two releases (functions core tools retries after 1 s; webapps-deploy after
/// 2, 6, 14 and 30 s).
pub const SELF_COLLISION_SECS: i64 = 60;

/// The default window starts this long (or a tenth of its span, if more) before the oldest
/// deployment that matters, so the first bar does not sit on the axis' edge; short, so a
/// collision of a few seconds still fills most of the picture.
pub const WINDOW_MIN_MARGIN_SECS: i64 = 10;

/// What stretch of history a shell shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub enum TimelineView {
    /// The deployments that explain the site's state now ([`Timeline::window`]).
    #[default]
    ExplainsNow,
    /// The 24 hours before now.
    LastDay,
    /// Everything the timeline holds.
    All,
}

/// How far after the site's "now" a recorded time may lie and still count as now: the `Date`
/// header's whole second, and the clocks of two instances of one site.
const CLOCK_SKEW_SECS: i64 = 60;

/// A stretch of time, `from` before `to`; `to` is the diagnosis' "now".
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct TimeWindow {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl TimeWindow {
    pub fn secs(self) -> i64 {
        self.from.secs_until(self.to)
    }
}

impl Timeline {
    /// The stretch of time `view` shows, ending at `now` (or at a record stamped up to
    /// [`CLOCK_SKEW_SECS`] after it). By default (`ExplainsNow`) it spans
    /// the deployments that matter to the current diagnosis: unfinished ones, overlapping ones,
    /// ones that ended unsuccessfully right before the next began, the refused pushes (409:
    /// status 5 records and refused-deployment [`Timeline::marks`]) and every deployment within
    /// [`RETRY_WINDOW_SECS`] of one; with nothing of the kind, the newest deployment. A margin
    /// of a tenth of the span (at least [`WINDOW_MIN_MARGIN_SECS`]) goes before it. Leftover
    /// `temp-` records (every one but an open newest) never widen it.
    pub fn window(&self, view: TimelineView, now: Timestamp) -> TimeWindow {
        // "Now" is the site's `Date` header, in whole seconds, while Kudu stamps to the
        // fraction: what it recorded in the current second (or on an instance whose clock runs
        // a little ahead) may lie just after it, and must not fall off the window's end.
        let latest = self
            .drawable()
            .filter_map(|e| e.begin)
            .chain(self.marks.iter().map(|m| m.at))
            .filter(|t| *t <= now.plus_secs(CLOCK_SKEW_SECS))
            .fold(now, Timestamp::max);
        let relevant: Vec<(Timestamp, Timestamp)> = match view {
            TimelineView::LastDay => {
                return TimeWindow {
                    from: now.plus_secs(-24 * 3600),
                    to: latest,
                };
            }
            TimelineView::All => self
                .drawable()
                .filter_map(|e| span(e, now))
                .chain(self.marks.iter().map(|m| (m.at, m.at)))
                .collect(),
            TimelineView::ExplainsNow => self.explaining_spans(now),
        };
        let from = relevant.iter().map(|s| s.0).min().unwrap_or(now).min(now);
        let margin = (from.secs_until(now) / 10).max(WINDOW_MIN_MARGIN_SECS);
        TimeWindow {
            from: from.plus_secs(-margin),
            to: latest,
        }
    }

    /// The entries a view of `window` lists, oldest first: every drawable entry whose interval
    /// meets the window, and every one without times (they can only be listed).
    pub fn entries_in(&self, window: TimeWindow, now: Timestamp) -> Vec<&TimelineEntry> {
        self.drawable()
            .filter(|e| span(e, now).is_none_or(|(b, e)| b <= window.to && e >= window.from))
            .collect()
    }

    /// The marks (refused pushes, Kudu starts and stops) inside `window`, oldest first.
    pub fn marks_in(&self, window: TimeWindow) -> Vec<&TimelineMark> {
        self.marks
            .iter()
            .filter(|m| m.at >= window.from && m.at <= window.to)
            .collect()
    }

    /// Entries other than leftover `temp-` records: a `temp-` record counts only while it may
    /// be a push under way whose real record is not written yet (open, and the newest entry).
    pub fn drawable(&self) -> impl Iterator<Item = &TimelineEntry> {
        let last = self.entries.len().saturating_sub(1);
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            (!e.deployment.temp || (i == last && e.end.is_none())).then_some(e)
        })
    }

    fn explaining_spans(&self, now: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let timed: Vec<(&TimelineEntry, (Timestamp, Timestamp))> = self
            .drawable()
            .filter_map(|e| span(e, now).map(|s| (e, s)))
            .collect();
        let open = |e: &TimelineEntry| {
            e.end.is_none() && (e.deployment.status.is_running() || !e.deployment.complete)
        };
        // The moments a push was refused or collided: when a 409 came back, and when the later
        // of two overlapping deployments began.
        let mut conflicts: Vec<Timestamp> = self
            .marks
            .iter()
            .filter(|m| m.kind == TimelineMarkKind::RefusedDeployment)
            .map(|m| m.at)
            .collect();
        for (e, (begin, _)) in &timed {
            let collided = timed.iter().any(|(other, (other_begin, _))| {
                other_begin < begin
                    && other
                        .deployment
                        .id
                        .as_ref()
                        .is_some_and(|id| e.overlaps.contains(id))
            });
            if e.deployment.status == DeployStatus::Conflict || collided {
                conflicts.push(*begin);
            }
        }
        // Within the retry window of a conflict: the interval comes that close to it.
        let near_a_conflict = |(begin, end): (Timestamp, Timestamp)| {
            conflicts.iter().any(|&c| {
                c >= begin.plus_secs(-RETRY_WINDOW_SECS) && c <= end.plus_secs(RETRY_WINDOW_SECS)
            })
        };
        let mut spans: Vec<(Timestamp, Timestamp)> = timed
            .iter()
            .filter(|(e, s)| {
                open(e)
                    || !e.overlaps.is_empty()
                    || e.ended_unsuccessfully_before_next
                    || near_a_conflict(*s)
            })
            .map(|(_, s)| *s)
            .collect();
        spans.extend(conflicts.iter().map(|&c| (c, c)));
        if spans.is_empty()
            && let Some((_, newest)) = timed.iter().max_by_key(|(_, (b, _))| *b)
        {
            spans.push(*newest);
        }
        spans
    }
}

/// Builds the timeline, oldest first; deployments without any time sort first. `logs` are the
/// deployment logs read so far (`Session::logs`): a failed record's log tells whether Kudu
/// marked it failed ([`died_mid_deploy`]).
pub(crate) fn build(
    deployments: &[Deployment],
    logs: &BTreeMap<String, Observed<Vec<LogEntry>>>,
    now: Timestamp,
) -> Timeline {
    // Sorted and capped as references, so only the kept records are copied: a site with
    // thousands of leftover temp records copied them all to keep 250 (issue 6, memory).
    let mut kept: Vec<&Deployment> = deployments.iter().collect();
    kept.sort_by_key(|d| d.received.or(d.started));
    let temp_records = kept.iter().filter(|d| d.temp).count();
    keep_newest(&mut kept);
    let mut entries: Vec<TimelineEntry> = kept
        .into_iter()
        .map(|d| TimelineEntry {
            deployment: d.clone(),
            begin: d.received.or(d.started),
            end: d.ended,
            overlaps: vec![],
            ended_unsuccessfully_before_next: false,
            died_mid_deploy: died_mid_deploy(d) || marked_failed_by_kudu(d, logs),
        })
        .collect();

    let spans: Vec<Option<(Timestamp, Timestamp)>> = entries.iter().map(|e| span(e, now)).collect();
    let mut overlaps: Vec<Vec<usize>> = vec![vec![]; entries.len()];
    // Sorted by begin, so the deployments overlapping `i` from after it are the ones right
    // after it that begin before it ends: stop at the first that begins later.
    for i in 0..entries.len() {
        let Some((b1, e1)) = spans[i] else { continue };
        for j in i + 1..entries.len() {
            let Some((b2, e2)) = spans[j] else { continue };
            if b2 >= e1 {
                break;
            }
            if b1 < e2 && !same_push(&entries[i].deployment, &entries[j].deployment) {
                overlaps[i].push(j);
                overlaps[j].push(i);
            }
        }
    }
    for (i, mut with) in overlaps.into_iter().enumerate() {
        with.sort_unstable();
        entries[i].overlaps = with
            .into_iter()
            .map(|j| display_id(&entries[j].deployment))
            .collect();
    }
    let begins: Vec<Option<Timestamp>> = entries.iter().map(|e| e.begin).collect();
    for i in 0..entries.len() {
        let this = &entries[i];
        let Some(end) = this
            .end
            .filter(|_| this.deployment.status.is_unsuccessful_end())
        else {
            continue;
        };
        // `None` sorts first, so every begin from here on is a time at or after `end`.
        let from = begins.partition_point(|begin| begin.is_none_or(|b| b < end));
        let retried = (from..entries.len())
            .take_while(|&j| begins[j].is_some_and(|b| end.secs_until(b) <= RETRY_WINDOW_SECS))
            .any(|j| {
                let next = &entries[j].deployment;
                j != i && !next.temp && !same_push(&entries[i].deployment, next)
            });
        entries[i].ended_unsuccessfully_before_next = retried;
    }
    Timeline {
        entries,
        temp_records,
        marks: vec![],
    }
}

/// The deployment that was running at `at`, a real record before its `temp-` twin: the one
/// whose span (as [`span`] draws it) holds `at`, the latest to begin when several do.
pub(crate) fn running_at(
    entries: &[TimelineEntry],
    at: Timestamp,
    now: Timestamp,
) -> Option<&TimelineEntry> {
    entries
        .iter()
        .filter(|e| span(e, now).is_some_and(|(begin, end)| begin <= at && at <= end))
        .max_by_key(|e| (!e.deployment.temp, e.begin))
}

/// Caps `entries` (sorted by begin) at [`TIMELINE_MAX_ENTRIES`]. `temp-` records of pushes
/// long over go first, oldest first, so a site with thousands of leftover temp folders still
/// shows its real deployments; the newest `temp-` record stays (it may be a push under way
/// whose real record is not written yet). Then the oldest of the rest.
fn keep_newest(entries: &mut Vec<&Deployment>) {
    if entries.len() <= TIMELINE_MAX_ENTRIES {
        return;
    }
    let newest_temp = entries.iter().rposition(|d| d.temp);
    let mut excess = entries.len() - TIMELINE_MAX_ENTRIES;
    let mut index = 0;
    entries.retain(|d| {
        let drop = excess > 0 && d.temp && Some(index) != newest_temp;
        index += 1;
        if drop {
            excess -= 1;
        }
        !drop
    });
    if entries.len() > TIMELINE_MAX_ENTRIES {
        entries.drain(..entries.len() - TIMELINE_MAX_ENTRIES);
    }
}

/// A deployment that failed or was cancelled in the middle of its work, as opposed to a build
/// that reported its own failure: it was cancelled outright, or its record is failed but still
/// carries the in-progress status text (`Building and Deploying '…'`, `Receiving changes.`), as a
/// record written by something other than Kudu's `MarkFailed` can. Its `end` is when that was
/// noticed, not when it died.
///
/// Kudu's own `MarkFailed` (also what VerifyDeployment calls) clears the status text
/// (kudu-facts 3.2; `DeploymentStatusFileExtensions.MarkFailed` in Kudu and KuduLite), and so
/// does the simulator: a record Kudu marked failed is told by its log instead
/// ([`marked_failed_by_kudu`]), which the timeline's entries combine with this.
pub(crate) fn died_mid_deploy(d: &Deployment) -> bool {
    match d.status {
        DeployStatus::Cancelled | DeployStatus::Conflict => true,
        DeployStatus::Failed => {
            let t = d.status_text.to_ascii_lowercase();
            t.starts_with("building and deploying") || t.starts_with("receiving changes")
        }
        _ => false,
    }
}

/// A failed record whose log's newest line is VerifyDeployment's: Kudu found it incomplete and
/// marked it failed (kudu-facts 1.3), so it died mid-way, and its end time is when Kudu looked,
/// which can be long after the next deployment began. Needs the log (a follow-up read, see
/// `Session::follow_up_reads`); without it the record reads as an ordinary failure.
fn marked_failed_by_kudu(d: &Deployment, logs: &BTreeMap<String, Observed<Vec<LogEntry>>>) -> bool {
    if d.status != DeployStatus::Failed {
        return false;
    }
    let Some(Observed::Value(lines)) = d.id.as_deref().and_then(|id| logs.get(id)) else {
        return false;
    };
    lines
        .iter()
        .max_by_key(|line| line.time)
        .is_some_and(|newest| newest.message.trim() == VERIFY_DEPLOYMENT_LINE)
}

/// The overlapping pairs `(i, j)`, `i < j`, that are two deployments really running at once,
/// in entry order. Left out: `temp-` records (each stands for its push's real record, compared
/// already), a deployment that died mid-way (it only looks open until Kudu marks it failed, so
/// its overlap is a cancel followed by the next run) and one deployer's pushes within
/// `SELF_COLLISION_SECS` (a client retry, its own cause). The `parallel-deployments` cause and
/// the prevention advice both count collisions by this one rule.
///
/// Each pair is checked in constant time (the overlap lists become sets first), so a hostile
/// history whose records all overlap stays quadratic in the capped timeline.
pub(crate) fn colliding_pairs(entries: &[TimelineEntry]) -> Vec<(usize, usize)> {
    use std::collections::HashSet;

    let ids: Vec<String> = entries.iter().map(|e| display_id(&e.deployment)).collect();
    let overlaps: Vec<HashSet<&str>> = entries
        .iter()
        .map(|e| e.overlaps.iter().map(String::as_str).collect())
        .collect();
    let eligible = |e: &TimelineEntry| !e.deployment.temp && !e.died_mid_deploy;
    let mut pairs = vec![];
    for (i, a) in entries.iter().enumerate() {
        if !eligible(a) {
            continue;
        }
        for (j, b) in entries.iter().enumerate().skip(i + 1) {
            if !eligible(b) || !overlaps[i].contains(ids[j].as_str()) {
                continue;
            }
            let close = a
                .begin
                .zip(b.begin)
                .is_some_and(|(x, y)| x.secs_until(y).abs() <= SELF_COLLISION_SECS);
            if close && a.deployment.deployer == b.deployment.deployer {
                continue;
            }
            pairs.push((i, j));
        }
    }
    pairs
}

/// The id shown for a deployment; Kudu sometimes sends `null`.
pub(crate) fn display_id(d: &Deployment) -> String {
    d.id.clone().unwrap_or_else(|| "(no id)".to_string())
}

/// The interval a deployment occupied. An open one runs until `now` while it is still running;
/// a finished record without an end time is a point at its begin.
fn span(e: &TimelineEntry, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    let begin = e.begin?;
    let end = match e.end {
        Some(end) => end.max(begin),
        None if e.deployment.status.is_running() || !e.deployment.complete => now.max(begin),
        None => begin,
    };
    Some((begin, end))
}

/// A `temp-` record and the real record of the same push overlap by construction (Kudu creates
/// the temp item when it takes the lock and the real one a moment later), so they are one push,
/// not two deployments.
fn same_push(a: &Deployment, b: &Deployment) -> bool {
    (a.temp != b.temp) && a.deployer == b.deployer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    /// The all-pairs definition the sweep must agree with: `(overlaps, retried)` per entry.
    fn all_pairs(entries: &[TimelineEntry], now: Timestamp) -> Vec<(Vec<String>, bool)> {
        let spans: Vec<_> = entries.iter().map(|e| span(e, now)).collect();
        (0..entries.len())
            .map(|i| {
                let mut overlaps = vec![];
                let mut retried = false;
                for j in 0..entries.len() {
                    if i == j || same_push(&entries[i].deployment, &entries[j].deployment) {
                        continue;
                    }
                    if let (Some((b1, e1)), Some((b2, e2))) = (spans[i], spans[j])
                        && b1 < e2
                        && b2 < e1
                    {
                        overlaps.push(display_id(&entries[j].deployment));
                    }
                    if entries[i].deployment.status.is_unsuccessful_end()
                        && !entries[j].deployment.temp
                        && let (Some(end), Some(next)) = (entries[i].end, entries[j].begin)
                        && end <= next
                        && end.secs_until(next) <= RETRY_WINDOW_SECS
                    {
                        retried = true;
                    }
                }
                (overlaps, retried)
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_sweep_finds_exactly_the_overlapping_pairs(
            records in proptest::collection::vec(
                (0..4u8, 0..3u8, 0..40i64, proptest::option::of(0..20i64), proptest::bool::ANY, proptest::bool::ANY),
                0..30,
            )
        ) {
            let statuses = [
                DeployStatus::Success,
                DeployStatus::Failed,
                DeployStatus::Cancelled,
                DeployStatus::Building,
            ];
            let deployments: Vec<Deployment> = records
                .iter()
                .enumerate()
                .map(|(i, (status, deployer, begin, length, temp, untimed))| {
                    let begin = at(11, 0, 0).plus_secs(begin * 60);
                    let name = if *temp { format!("temp-{i:08x}") } else { format!("d{i}") };
                    let mut d = deployment(
                        &name,
                        statuses[usize::from(*status)],
                        ["GitHub", "VSTS", "ZipDeploy"][usize::from(*deployer)],
                        begin,
                        length.map(|l| begin.plus_secs(l * 60)),
                    );
                    if *untimed {
                        d.received = None;
                        d.started = None;
                    }
                    d
                })
                .collect();
            let now = at(12, 0, 0);
            let timeline = build(&deployments, &BTreeMap::new(), now);
            let found: Vec<(Vec<String>, bool)> = timeline
                .entries
                .iter()
                .map(|e| (e.overlaps.clone(), e.ended_unsuccessfully_before_next))
                .collect();
            proptest::prop_assert_eq!(found, all_pairs(&timeline.entries, now));
        }
    }

    #[test]
    fn thousands_of_leftover_temp_records_leave_the_real_deployments_on_the_timeline() {
        let real: Vec<Deployment> = (0..200)
            .map(|i| {
                deployment(
                    &format!("d{i:03}"),
                    DeployStatus::Success,
                    "GitHub",
                    at(0, 0, 0).plus_secs(i * 60),
                    Some(at(0, 0, 30).plus_secs(i * 60)),
                )
            })
            .collect();
        let temps = (0..5000).map(|i| {
            deployment(
                &format!("temp-{i:08x}"),
                DeployStatus::Pending,
                "GitHub",
                at(10, 0, 0).plus_secs(i),
                None,
            )
        });
        let all: Vec<Deployment> = real.iter().cloned().chain(temps).collect();
        let t = build(&all, &BTreeMap::new(), at(12, 0, 0));
        assert_eq!(t.entries.len(), TIMELINE_MAX_ENTRIES);
        assert_eq!(t.temp_records, 5000);
        let kept_real = t.entries.iter().filter(|e| !e.deployment.temp).count();
        assert_eq!(kept_real, 200, "no real deployment gives way to a leftover");
        assert_eq!(
            t.entries.last().and_then(|e| e.deployment.id.as_deref()),
            Some("temp-00001387"),
            "the newest temp record stays"
        );
    }

    #[test]
    fn a_huge_history_keeps_the_newest_entries() {
        let deployments: Vec<Deployment> = (0..TIMELINE_MAX_ENTRIES as i64 + 40)
            .map(|i| {
                deployment(
                    &format!("d{i}"),
                    DeployStatus::Building,
                    "GITHUB_ZIP_DEPLOY",
                    Timestamp::from_unix_millis(i * 1000),
                    None,
                )
            })
            .collect();
        let t = build(
            &deployments,
            &BTreeMap::new(),
            Timestamp::from_unix_millis(10_000_000),
        );
        assert_eq!(t.entries.len(), TIMELINE_MAX_ENTRIES);
        assert_eq!(t.entries[0].deployment.id.as_deref(), Some("d40"));
        assert_eq!(
            t.entries.last().and_then(|e| e.deployment.id.as_deref()),
            Some(format!("d{}", TIMELINE_MAX_ENTRIES + 39).as_str())
        );
    }

    #[test]
    fn overlapping_deployments_name_each_other() {
        let a = deployment(
            "aaaa",
            DeployStatus::Success,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 6, 0)),
        );
        let b = deployment(
            "bbbb",
            DeployStatus::Failed,
            "VSTS",
            at(11, 3, 0),
            Some(at(11, 4, 0)),
        );
        let c = deployment(
            "cccc",
            DeployStatus::Success,
            "GitHub",
            at(11, 30, 0),
            Some(at(11, 31, 0)),
        );
        let t = build(&[c, b, a], &BTreeMap::new(), at(12, 0, 0));
        let ids: Vec<_> = t
            .entries
            .iter()
            .map(|e| display_id(&e.deployment))
            .collect();
        assert_eq!(ids, ["aaaa", "bbbb", "cccc"]);
        assert_eq!(t.entries[0].overlaps, ["bbbb"]);
        assert_eq!(t.entries[1].overlaps, ["aaaa"]);
        assert!(t.entries[2].overlaps.is_empty());
    }

    #[test]
    fn an_open_deployment_runs_until_now() {
        let a = deployment("aaaa", DeployStatus::Building, "GitHub", at(11, 0, 0), None);
        let b = deployment(
            "bbbb",
            DeployStatus::Success,
            "VSTS",
            at(11, 50, 0),
            Some(at(11, 52, 0)),
        );
        let t = build(&[a, b], &BTreeMap::new(), at(12, 0, 0));
        assert_eq!(t.entries[0].overlaps, ["bbbb"]);
    }

    #[test]
    fn a_temp_record_is_the_same_push_as_its_real_record() {
        let mut temp = deployment(
            "temp-ab12cd34",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 5, 0)),
        );
        temp.temp = true;
        let real = deployment(
            "aaaa",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 2),
            Some(at(11, 4, 0)),
        );
        let t = build(&[temp, real], &BTreeMap::new(), at(12, 0, 0));
        assert!(t.entries.iter().all(|e| e.overlaps.is_empty()));
    }

    fn done(id: &str, deployer: &str, begin: Timestamp, secs: i64) -> Deployment {
        deployment(
            id,
            DeployStatus::Success,
            deployer,
            begin,
            Some(begin.plus_secs(secs)),
        )
    }

    #[test]
    fn the_default_window_spans_the_collision_not_the_history() {
        // Two days of old deployments, then two builds that collided in the last minutes.
        let old = done("old1", "VSTS", at(0, 0, 0).plus_secs(-2 * 86_400), 90);
        let older = done("old2", "VSTS", at(0, 0, 0).plus_secs(-86_400), 90);
        let first = deployment("a", DeployStatus::Building, "GitHub", at(11, 58, 0), None);
        let second = deployment("b", DeployStatus::Building, "VSTS", at(11, 59, 0), None);
        let now = at(12, 0, 0);
        let t = build(&[old, older, first, second], &BTreeMap::new(), now);
        let w = t.window(TimelineView::ExplainsNow, now);
        assert_eq!(w.to, now, "the window ends at now");
        assert_eq!(
            w.from,
            at(11, 57, 48),
            "two minutes of builds, a tenth more"
        );
        let ids: Vec<_> = t
            .entries_in(w, now)
            .iter()
            .map(|e| display_id(&e.deployment))
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let all = t.window(TimelineView::All, now);
        assert!(all.from < at(0, 0, 0).plus_secs(-2 * 86_400));
        assert_eq!(t.entries_in(all, now).len(), 4);
        let day = t.window(TimelineView::LastDay, now);
        assert_eq!((day.from, day.to), (at(12, 0, 0).plus_secs(-86_400), now));
        assert_eq!(t.entries_in(day, now).len(), 2);
    }

    #[test]
    fn the_default_window_reaches_a_refused_push_and_what_ran_near_it() {
        let earlier = done("x", "GitHub", at(9, 0, 0), 60);
        let holder = done("h", "GitHub", at(11, 50, 0), 4 * 60);
        let now = at(12, 0, 0);
        let mut t = build(&[earlier, holder], &BTreeMap::new(), now);
        t.marks.push(TimelineMark {
            kind: TimelineMarkKind::RefusedDeployment,
            at: at(11, 52, 0),
            instance: "a1b2c3".into(),
            method: Some("POST".into()),
            path: Some("/api/zipdeploy".into()),
            status: Some(409),
            duration_secs: Some(0),
            file: "x.xml".into(),
            held_by: Some("h".into()),
            summary: String::new(),
        });
        let w = t.window(TimelineView::ExplainsNow, now);
        assert_eq!((w.from, w.to), (at(11, 49, 0), now));
        assert_eq!(t.marks_in(w).len(), 1);
        let ids: Vec<_> = t
            .entries_in(w, now)
            .iter()
            .map(|e| display_id(&e.deployment))
            .collect();
        assert_eq!(ids, ["h"]);
    }

    #[test]
    fn a_quiet_site_shows_its_newest_deployment_up_to_now() {
        let old = done("old", "VSTS", at(0, 0, 0), 90);
        let newest = done("new", "GitHub", at(10, 0, 0), 120);
        let now = at(12, 0, 0);
        let t = build(&[old, newest], &BTreeMap::new(), now);
        let w = t.window(TimelineView::ExplainsNow, now);
        // Two hours to now, and a tenth of that before.
        assert_eq!((w.from, w.to), (at(9, 48, 0), now));
        assert_eq!(t.entries_in(w, now).len(), 1);
        let empty = build(&[], &BTreeMap::new(), now);
        let w = empty.window(TimelineView::ExplainsNow, now);
        assert_eq!(w.secs(), WINDOW_MIN_MARGIN_SECS);
    }

    /// "Now" comes from the site's `Date` header, which has whole seconds, while Kudu stamps a
    /// deployment to the fraction: a push received in the same second can begin after "now".
    /// It is still the newest deployment and must be listed, not fall off the window's end.
    #[test]
    fn a_push_stamped_after_the_dates_second_is_still_in_the_window() {
        let old = done("old", "VSTS", at(10, 0, 0), 60);
        let now = at(12, 0, 0);
        let stamped = Timestamp::from_unix_millis(now.unix_millis() + 600);
        let just_now = deployment("new", DeployStatus::Building, "GitHub", stamped, None);
        let t = build(&[old, just_now], &BTreeMap::new(), now);
        for view in [
            TimelineView::ExplainsNow,
            TimelineView::LastDay,
            TimelineView::All,
        ] {
            let w = t.window(view, now);
            let listed: Vec<_> = t
                .entries_in(w, now)
                .iter()
                .map(|e| e.deployment.id.clone())
                .collect();
            assert!(
                listed.contains(&Some("new".to_string())),
                "{view:?}: {listed:?}"
            );
        }
    }

    #[test]
    fn leftover_temp_records_never_widen_the_window() {
        let mut leftover = deployment(
            "temp-0000aaaa",
            DeployStatus::Pending,
            "GitHub",
            at(1, 0, 0),
            None,
        );
        leftover.temp = true;
        let newest = done("new", "GitHub", at(11, 0, 0), 60);
        let now = at(12, 0, 0);
        let t = build(&[leftover, newest], &BTreeMap::new(), now);
        let w = t.window(TimelineView::ExplainsNow, now);
        assert_eq!(w.from, at(10, 54, 0));
        assert_eq!(t.drawable().count(), 1);
    }

    #[test]
    fn unsuccessful_end_shortly_before_the_next_begin_is_marked() {
        let cancelled = deployment(
            "aaaa",
            DeployStatus::Cancelled,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 2, 0)),
        );
        let retry = deployment(
            "bbbb",
            DeployStatus::Success,
            "GitHub",
            at(11, 2, 30),
            Some(at(11, 5, 0)),
        );
        let t = build(&[cancelled.clone(), retry], &BTreeMap::new(), at(12, 0, 0));
        assert!(t.entries[0].ended_unsuccessfully_before_next);
        assert!(!t.entries[1].ended_unsuccessfully_before_next);

        // Near miss: the next one began six minutes later.
        let later = deployment(
            "cccc",
            DeployStatus::Success,
            "GitHub",
            at(11, 8, 0),
            Some(at(11, 9, 0)),
        );
        let t = build(&[cancelled, later], &BTreeMap::new(), at(12, 0, 0));
        assert!(!t.entries[0].ended_unsuccessfully_before_next);
    }
}
