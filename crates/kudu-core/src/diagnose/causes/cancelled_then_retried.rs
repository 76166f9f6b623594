// Cause: cancelled-then-retried
//
// What it is: a deployment was cancelled (for example by GitHub's `cancel-in-progress`) and the
// next one started right after. Cancelling the client does not stop Kudu at once: the cancelled
// run can still hold the deployment lock, so the retry gets 409.
// How we know: a deployment ended without success and another began within 5 minutes, or the
// newest deployment was cancelled recently and its lock is still held with nothing progressing.
// A run that died mid-way counts from its begin: its end is only when that was noticed (for a
// record Kudu marked failed, its log ends with VerifyDeployment's "An unknown error has
// occurred" line, read as a follow-up).
// What to do: wait until the lock is released (on Linux at the expiry shown), then deploy once;
// set `cancel-in-progress: false` for deploy jobs so runs queue instead of cancelling.

//! Detects the cancel-then-retry pattern, current or in the recent history.

use crate::diagnose::facts::context::{Context, LINUX_LOCK_LIFETIME_SECS};
use crate::diagnose::facts::timeline::{RETRY_WINDOW_SECS, display_id};
use crate::diagnose::facts::wording::{relative, short_id};
use crate::diagnose::{
    CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, RankFact, Recommendation,
    TimelineEntry,
};

/// An unsuccessful (or vanished) deployment and the next one that began after it.
struct Retry<'c> {
    /// `deployment 2d464fbb by GitHub (received 22:21:35 UTC) ended as 'failed' at …`.
    first: String,
    next: &'c TimelineEntry,
    died: bool,
}

/// Unsuccessful deployments followed by another: within 5 minutes of their end, or (when they
/// died mid-way, so their end is only when Kudu noticed) within one lock lifetime plus 5
/// minutes of their begin, which covers a Linux retry that had to wait the lock out.
///
/// A deployment folder that the VFS lists but the deployment list does not is no evidence: it
/// exists only when the VFS read reached Kudu before the list read whose purge deleted it
/// (kudu-facts §1.3), and browsers send the reads in parallel, so it would make the answer
/// depend on the order they arrive in.
fn retries<'c>(ctx: &'c Context) -> Vec<Retry<'c>> {
    let window = LINUX_LOCK_LIFETIME_SECS + RETRY_WINDOW_SECS;
    let real: Vec<&TimelineEntry> = ctx
        .timeline
        .entries
        .iter()
        .filter(|e| !e.deployment.temp && e.begin.is_some())
        .collect();
    let mut out = vec![];
    for (i, first) in real.iter().enumerate() {
        if !first.deployment.status.is_unsuccessful_end() {
            continue;
        }
        let Some(next) = real[i + 1..]
            .iter()
            .find(|n| n.deployment.id != first.deployment.id)
        else {
            continue;
        };
        let died = first.died_mid_deploy;
        let waited_out = first
            .begin
            .zip(next.begin)
            .is_some_and(|(a, b)| a.secs_until(b) <= window);
        if first.ended_unsuccessfully_before_next || (died && waited_out) {
            let how = if died {
                "died mid-deployment and was marked"
            } else {
                "ended as"
            };
            out.push(Retry {
                first: format!(
                    "{} {how} '{}'{}",
                    ctx.describe(&first.deployment),
                    first.deployment.status.as_str(),
                    first
                        .end
                        .map(|t| format!(" at {}", ctx.at(t)))
                        .unwrap_or_default()
                ),
                next,
                died,
            });
        }
    }
    out
}

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::CancelledThenRetried,
    // Ahead of `stale-lock` while the cancelled run still holds the lock (it names why the lock
    // is stale); otherwise history, after the causes that act now.
    rank: Rank::WhenFact {
        fact: RankFact::CancelledRunHoldsLock,
        then: 7,
        otherwise: 14,
    },
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let holding = ctx.cancelled_run_holding_lock();
    let pairs = retries(ctx);
    if holding.is_none() && pairs.is_empty() {
        return None;
    }
    let mut evidence = vec![];
    if let Some(d) = holding {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{} ended as '{}'{}.",
                ctx.describe(d),
                d.status.as_str(),
                d.ended
                    .map(|t| format!(" at {} ({})", ctx.at(t), relative(t, ctx.now)))
                    .unwrap_or_default()
            ),
        ));
        evidence.push(Evidence::new(
            ctx.lock_source(),
            format!("The lock is still held: {}", ctx.lock.explanation),
        ));
    }
    for r in pairs.iter().take(3) {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{}; {} by {} began at {}.",
                r.first,
                short_id(&display_id(&r.next.deployment)),
                r.next.deployment.deployer,
                r.next.begin.map(|t| ctx.at(t)).unwrap_or_default()
            ),
        ));
    }
    let confidence = match (holding.is_some(), pairs.iter().any(|r| r.died)) {
        (true, _) => Confidence::High,
        (false, true) => Confidence::Medium,
        (false, false) => Confidence::Low,
    };
    let until = ctx.lock.expires.filter(|e| *e > ctx.now);
    let fix = Recommendation::FixPipeline {
        advice: "Set `cancel-in-progress: false` in the deploy job's GitHub `concurrency` group \
                 (or use an Azure DevOps exclusive lock) so runs queue instead of cancelling a \
                 deployment Kudu is still running."
            .into(),
    };
    let (summary, recommendations) = match holding {
        Some(d) => (
            format!(
                "A deployment was cancelled and retried too soon: {} was cancelled but its lock is \
                 still held, so the retry gets 409{}.",
                d.id.as_deref().map(short_id).unwrap_or_else(|| "the newest deployment".into()),
                until.map(|u| format!(" until {} ({})", ctx.at(u), relative(u, ctx.now))).unwrap_or_default()
            ),
            vec![
                Recommendation::Wait {
                    until,
                    reason: "The cancelled run's lock is released when it expires; deploy once after that.".into(),
                },
                fix,
                Recommendation::TargetedCleanup,
            ],
        ),
        None => (
            format!(
                "{} deployment(s) died or ended without success and the next one began soon after: \
                 the cancel-then-retry pattern. A retry while the dead run still holds the lock \
                 gets 409 (on Linux for up to 25 minutes).",
                pairs.len()
            ),
            vec![fix],
        ),
    };
    Some(Finding {
        cause: CauseId::CancelledThenRetried,
        confidence,
        summary,
        evidence,
        recommendations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    #[test]
    fn a_vanished_deployment_folder_is_not_taken_for_a_retry() {
        let mut s = Site::windows()
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(10, 2, 0),
                Some(at(10, 4, 0)),
            ))
            .build();
        if let crate::session::Observed::Value(list) = &mut s.deployments_dir {
            list.push(crate::model::VfsEntry {
                is_dir: true,
                ..file("2d464fbba7314c3f8856a8ed229919f2", at(10, 0, 0))
            });
        }
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_cancelled_run_still_holding_the_lock_is_found() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GITHUB_ONE_DEPLOY",
                at(11, 55, 1),
                Some(at(11, 57, 0)),
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(matches!(
            f.recommendations[0],
            Recommendation::Wait { until: Some(_), .. }
        ));
        assert!(f.summary.contains("until 12:20:00 UTC"), "{}", f.summary);
    }

    #[test]
    fn a_cancel_followed_by_a_retry_is_found_in_history() {
        let s = Site::linux()
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GitHub",
                at(10, 0, 0),
                Some(at(10, 2, 0)),
            ))
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(10, 2, 20),
                Some(at(10, 4, 0)),
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.evidence[0]
                .fact
                .contains("e0e0 by GitHub began at 10:02:20 UTC"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn a_killed_run_retried_after_the_lock_expired_is_found() {
        let mut killed = deployment(
            "d0d0",
            DeployStatus::Failed,
            "GitHub",
            at(10, 0, 0),
            Some(at(10, 28, 0)),
        );
        killed.status_text = "Building and Deploying 'd0d0'.".into();
        let s = Site::linux()
            .deployment(killed)
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(10, 27, 0),
                Some(at(10, 29, 0)),
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.evidence[0].fact.contains("died mid-deployment"),
            "{}",
            f.evidence[0].fact
        );
    }

    /// A run that died, the retry that ran while nobody listed the deployments, and Kudu's
    /// VerifyDeployment marking the dead run failed afterwards: its record spans the retry.
    fn killed_then_retried(with_log: bool) -> crate::session::Session {
        let mut site = Site::linux()
            .deployment(deployment(
                "d0d0",
                DeployStatus::Failed,
                "GitHub",
                at(10, 0, 0),
                Some(at(10, 40, 0)),
            ))
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(10, 27, 0),
                Some(at(10, 29, 0)),
            ));
        if with_log {
            site = site.log(
                "d0d0",
                vec![
                    log_line(at(10, 0, 1), "Updating submodules."),
                    log_line(
                        at(10, 40, 0),
                        crate::diagnose::facts::timeline::VERIFY_DEPLOYMENT_LINE,
                    ),
                ],
            );
        }
        site.build()
    }

    #[test]
    fn a_run_kudu_marked_failed_and_its_retry_are_not_two_at_once() {
        let s = killed_then_retried(true);
        let ctx = Context::new(&s, at(12, 0, 0));
        let f = detect(&ctx).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.evidence[0].fact.contains("died mid-deployment"),
            "{}",
            f.evidence[0].fact
        );
        let d = crate::diagnose::diagnose(&s, at(12, 0, 0));
        assert!(!d.has(CauseId::ParallelDeployments), "{:?}", d.findings);
    }

    #[test]
    fn without_its_log_a_run_kudu_marked_failed_reads_as_an_ordinary_failure() {
        let s = killed_then_retried(false);
        let ctx = Context::new(&s, at(12, 0, 0));
        assert!(detect(&ctx).is_none());
        // Which is why the log is a follow-up read.
        let reads = s.follow_up_reads();
        assert!(
            reads
                .iter()
                .any(|r| r.path == "/api/vfs/site/deployments/d0d0/log.log"),
            "{reads:?}"
        );
    }

    #[test]
    fn a_cancel_long_before_the_next_deploy_is_not() {
        let s = Site::linux()
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GitHub",
                at(10, 0, 0),
                Some(at(10, 2, 0)),
            ))
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(11, 0, 0),
                Some(at(11, 2, 0)),
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
