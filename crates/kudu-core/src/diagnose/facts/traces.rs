//! What Kudu's own trace folder (`LogFiles/kudu/trace/`, names only) adds to the timeline: every
//! deployment request Kudu refused with 409, with the deployment that held the lock when the
//! times line up, and every Kudu start and graceful stop. File names only, one listing: see
//! [`crate::parse::parse_trace_name`] for what a name holds.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::timeline::running_at;
use crate::diagnose::{TimelineMark, TimelineMarkKind};
use crate::parse::{TraceKind, parse_trace_name};

/// The timeline shows at most this many marks, the newest: Kudu-W keeps up to 200 trace
/// files and KuduLite may keep thousands (its cleanup skips most names, sim README "Trace
/// files").
pub const TIMELINE_MAX_MARKS: usize = 50;

/// The marks of this round, oldest first. Empty when the folder was not read.
pub(crate) fn marks(ctx: &Context) -> Vec<TimelineMark> {
    let Some(listing) = ctx.session.kudu_trace_dir.value() else {
        return vec![];
    };
    let mut marks: Vec<TimelineMark> = listing
        .iter()
        .filter(|entry| !entry.is_dir)
        .filter_map(|entry| parse_trace_name(&entry.name))
        .filter_map(|trace| {
            let kind = match trace.kind {
                TraceKind::Startup | TraceKind::Request
                    if trace.status == Some(409) && trace.is_deployment_request() =>
                {
                    TimelineMarkKind::RefusedDeployment
                }
                TraceKind::Startup => TimelineMarkKind::KuduStarted,
                TraceKind::Shutdown => TimelineMarkKind::KuduStopped,
                _ => return None,
            };
            Some((kind, trace))
        })
        .map(|(kind, trace)| {
            let at = trace.at;
            let request = format!(
                "{} {}",
                trace.method.as_deref().unwrap_or_default(),
                trace.url_path()
            );
            let on = format!("instance {}", trace.instance);
            let (held_by, summary) = match kind {
                TimelineMarkKind::RefusedDeployment => {
                    let holder = running_at(&ctx.timeline.entries, at, ctx.now);
                    let summary = match (holder, ctx.lock.acquired) {
                        (Some(entry), _) => format!(
                            "Your push at {} ({request}, {on}) was refused with 409 while {} held \
                             the lock.",
                            ctx.at(at),
                            ctx.describe(&entry.deployment)
                        ),
                        (None, Some(taken)) if taken <= at => format!(
                            "Your push at {} ({request}, {on}) was refused with 409 while the \
                             deployment lock taken at {} was held.",
                            ctx.at(at),
                            ctx.at(taken)
                        ),
                        _ => format!(
                            "Your push at {} ({request}, {on}) was refused with 409; no \
                             deployment on record was running then.",
                            ctx.at(at)
                        ),
                    };
                    (holder.and_then(|e| e.deployment.id.clone()), summary)
                }
                TimelineMarkKind::KuduStarted => (
                    None,
                    format!(
                        "Kudu started on {on} at {} (its first request: {request}).",
                        ctx.at(at)
                    ),
                ),
                TimelineMarkKind::KuduStopped => {
                    (None, format!("Kudu stopped on {on} at {}.", ctx.at(at)))
                }
            };
            let path = (kind != TimelineMarkKind::KuduStopped).then(|| trace.url_path());
            TimelineMark {
                kind,
                at,
                instance: trace.instance,
                method: trace.method,
                path,
                status: trace.status,
                duration_secs: trace.duration_secs,
                file: trace.file,
                held_by,
                summary,
            }
        })
        .collect();
    // By time, then by file name: within one second a new process's counter starts again.
    marks.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.file.cmp(&b.file)));
    if marks.len() > TIMELINE_MAX_MARKS {
        marks.drain(..marks.len() - TIMELINE_MAX_MARKS);
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;
    use crate::session::Observed;

    fn traces(names: &[&str]) -> Observed<Vec<crate::model::VfsEntry>> {
        Observed::Value(names.iter().map(|n| file(n, at(11, 0, 0))).collect())
    }

    #[test]
    fn a_refused_push_names_the_deployment_that_held_the_lock() {
        let mut s = Site::linux()
            .deployment(deployment(
                "3f2a9c1e00000000000000000000000a",
                DeployStatus::Building,
                "GitHub",
                at(10, 0, 0),
                None,
            ))
            .build();
        s.kudu_trace_dir = traces(&[
            "2026-11-26T10-02-03_a1b2c3_014_POST_api-zipdeploy_409_0s.xml",
            "2026-11-26T10-01-00_a1b2c3_013_GET_api-deployments_200_0s.xml",
            "2026-11-26T09-59-00_a1b2c3_001_Startup_GET_api-settings_0s.xml",
            "2026-11-26T09-58-00_a1b2c3_400_Shutdown_0s.xml",
            "RD0003FF-1a2b.txt",
        ]);
        let ctx = Context::new(&s, at(12, 0, 0));
        let marks = marks(&ctx);
        let kinds: Vec<_> = marks.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                TimelineMarkKind::KuduStopped,
                TimelineMarkKind::KuduStarted,
                TimelineMarkKind::RefusedDeployment
            ]
        );
        let refused = &marks[2];
        assert_eq!(
            refused.summary,
            "Your push at 10:02:03 UTC (POST /api/zipdeploy, instance a1b2c3) was refused with \
             409 while deployment 3f2a9c1e by GitHub (received 10:00:00 UTC) held the lock."
        );
        assert_eq!(
            refused.held_by.as_deref(),
            Some("3f2a9c1e00000000000000000000000a")
        );
        assert_eq!(refused.path.as_deref(), Some("/api/zipdeploy"));
        assert_eq!(refused.duration_secs, Some(0));
    }

    #[test]
    fn a_refusal_outside_every_deployment_says_so() {
        let mut s = Site::windows()
            .deployment(deployment(
                "aa",
                DeployStatus::Success,
                "GitHub",
                at(9, 0, 0),
                Some(at(9, 1, 0)),
            ))
            .build();
        s.kudu_trace_dir = traces(&["2026-11-26T10-02-03_a1b2c3_014_POST_api-publish_409_1s.xml"]);
        let marks = marks(&Context::new(&s, at(12, 0, 0)));
        assert_eq!(marks.len(), 1);
        assert!(
            marks[0]
                .summary
                .ends_with("no deployment on record was running then."),
            "{}",
            marks[0].summary
        );
        assert_eq!(marks[0].held_by, None);
    }

    #[test]
    fn at_most_the_newest_marks_and_nothing_without_the_listing() {
        let mut s = Site::linux().build();
        let names: Vec<String> = (0..TIMELINE_MAX_MARKS + 20)
            .map(|i| {
                format!(
                    "2026-11-26T10-{:02}-{:02}_a1b2c3_{:03}_POST_api-publish_409_0s.xml",
                    i / 60,
                    i % 60,
                    i % 1000
                )
            })
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        s.kudu_trace_dir = traces(&refs);
        let marks = marks(&Context::new(&s, at(12, 0, 0)));
        assert_eq!(marks.len(), TIMELINE_MAX_MARKS);
        assert_eq!(marks.last().map(|m| m.file.as_str()), refs.last().copied());

        let s = Site::linux().build();
        assert!(super::marks(&Context::new(&s, at(12, 0, 0))).is_empty());
    }
}
