// Cause: stale-lock
//
// What it is: Linux only. Kudu's deployment lock (site/locks/deployment/info.lock) is still
// there although no deployment is using it: the deployment that took it hung or died, or the
// lock is past its expiry. Until KuduLite lets go (25 minutes after it was taken) every
// deployment gets 409.
// How we know: info.lock names the holder and its expiry, Kudu still honours it
// (/api/isdeploying True), and no deployment is progressing. The evidence is strong when the
// run that took it has an outcome or Kudu restarted after it was taken; it is weak when a
// running deployment has only been silent, because a quiet build looks the same.
// What to do: wait until the lock expires, or let Kudu Doctor back up and delete exactly the
// stale lock and leftovers (targeted cleanup). Restarting the app also clears it, with downtime.
// On weak evidence waiting comes first, and the cleanup asks you to confirm that nothing is
// deploying.

//! Detects an expired or orphaned Linux deployment lock.

use crate::diagnose::facts::context::{Context, Liveness};
use crate::diagnose::facts::deployability::BlockerKind;
use crate::diagnose::facts::wording::{duration, relative};
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, EvidenceStrength, Finding, LockState, Rank,
    Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::StaleLock,
    rank: Rank::Fixed(8),
    claims: &[Claim::DeploymentsBlocked, Claim::NothingRunning],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    // The verdict decides whether this lock blocks (the expired-lock rule lives there).
    if !matches!(ctx.lock.state, LockState::Expired | LockState::Orphaned)
        || !ctx.deployability.blocked_by(BlockerKind::StaleLock)
    {
        return None;
    }
    let weak = ctx
        .lock
        .idle_evidence
        .as_ref()
        .is_none_or(|e| e.strength == EvidenceStrength::Weak);
    let hung = ctx.running.iter().find(|r| r.hung());
    let mut evidence = vec![Evidence::new(
        "site/locks/deployment/info.lock",
        ctx.lock.explanation.clone(),
    )];
    if let Some(r) = hung {
        let silent = r
            .last_activity
            .map(|t| {
                let what = if r.log_read {
                    "its last log line was"
                } else {
                    "it began"
                };
                format!("; {what} at {} ({})", ctx.at(t), relative(t, ctx.now))
            })
            .unwrap_or_default();
        evidence.push(Evidence::new(
            &if r.log_read {
                format!("/api/deployments/{}/log", r.id())
            } else {
                "/api/deployments".to_string()
            },
            format!(
                "{} is still '{}'{silent}.",
                ctx.describe(&r.deployment),
                r.deployment.status.as_str()
            ),
        ));
    } else {
        evidence.push(Evidence::new(
            "/api/deployments",
            "No deployment record is pending or building.".into(),
        ));
    }
    if let Some(d) = ctx.is_deploying().filter(|d| d.deploying) {
        evidence.push(Evidence::new(
            "/api/isdeploying",
            format!("/api/isdeploying still says True ('{}').", d.message),
        ));
    }
    // The summary says what it means in a sentence or two; the lock's full reading is the
    // first piece of evidence, so the card does not show the same paragraph twice.
    let holder = format!(
        "'{}'",
        ctx.lock
            .holder_operation
            .as_deref()
            .unwrap_or("an unnamed operation")
    );
    let since = ctx
        .lock
        .acquired
        .map(|t| format!(" since {}", ctx.at(t)))
        .unwrap_or_default();
    let why_idle = match hung {
        Some(r) if r.liveness == Liveness::Dead => format!(
            ": deployment {} stopped when Kudu restarted",
            crate::diagnose::facts::wording::short_id(r.id())
        ),
        Some(r) => format!(
            ": deployment {} looks hung{}",
            crate::diagnose::facts::wording::short_id(r.id()),
            r.last_activity
                .map(|t| format!(
                    " (no {} for {})",
                    if r.log_read { "log line" } else { "change" },
                    duration(t.secs_until(ctx.now))
                ))
                .unwrap_or_default()
        ),
        None => ": no deployment is running".to_string(),
    };
    if let Some(idle) = &ctx.lock.idle_evidence {
        evidence.push(Evidence::new("Kudu Doctor", idle.reason.clone()));
    }
    if weak {
        return Some(weak_finding(ctx, holder, since, why_idle, evidence));
    }
    let (confidence, recommendations, summary) = match ctx.lock.state {
        LockState::Expired => (
            Confidence::High,
            vec![Recommendation::TargetedCleanup],
            format!(
                "The deployment lock is stale: {holder} took it{}; it expired{} but is still \
                 there, and nothing is using it{why_idle}. A targeted cleanup removes it and the \
                 leftovers of the deployment that held it.",
                ctx.lock
                    .acquired
                    .map(|t| format!(" at {}", ctx.at(t)))
                    .unwrap_or_default(),
                ctx.lock
                    .expires
                    .map(|e| format!(" at {} ({})", ctx.at(e), relative(e, ctx.now)))
                    .unwrap_or_default()
            ),
        ),
        _ => {
            let until = ctx.lock.expires.filter(|e| *e > ctx.now);
            // Weak evidence took the other path: what is left is an outcome on record or a
            // restart of Kudu after the lock was taken.
            let confidence = Confidence::High;
            (
                confidence,
                vec![
                    Recommendation::Wait {
                        until,
                        reason: until.map_or_else(
                            || "KuduLite lets go of the lock when it expires.".to_string(),
                            |u| {
                                format!(
                                    "KuduLite lets go of the lock by itself at {} ({}).",
                                    ctx.at(u),
                                    relative(u, ctx.now)
                                )
                            },
                        ),
                    },
                    Recommendation::TargetedCleanup,
                    Recommendation::RestartApp,
                ],
                format!(
                    "The deployment lock is stale: {holder} has held it{since}, but nothing is \
                     using it{why_idle}. {} every deployment gets 409; a targeted cleanup \
                     releases it now.",
                    until.map_or_else(
                        || "Until it expires".to_string(),
                        |u| format!(
                            "Until it expires at {} ({})",
                            ctx.at(u),
                            relative(u, ctx.now)
                        )
                    )
                ),
            )
        }
    };
    Some(Finding {
        cause: CauseId::StaleLock,
        confidence,
        summary,
        evidence,
        recommendations,
    })
}

/// Only silence says the holder stopped: waiting leads, and the cleanup stays behind the user's
/// word that nothing is deploying (the plan asks for it).
fn weak_finding(
    ctx: &Context,
    holder: String,
    since: String,
    why_idle: String,
    evidence: Vec<Evidence>,
) -> Finding {
    let until = ctx.lock.expires.filter(|e| *e > ctx.now);
    let wait_reason = until.map_or_else(
        || {
            "If the deployment is only quiet, Kudu releases the lock when it ends; if it is \
             stuck, restarting the app releases it."
                .to_string()
        },
        |u| {
            format!(
                "KuduLite lets go of the lock by itself at {} ({}), and a quiet build may \
                 finish before that.",
                ctx.at(u),
                relative(u, ctx.now)
            )
        },
    );
    Finding {
        cause: CauseId::StaleLock,
        confidence: Confidence::Medium,
        summary: format!(
            "The deployment lock may be stale: {holder} has held it{since}, and the deployment \
             that holds it{why_idle}. Silence alone does not prove it stopped, so {}; clear it \
             only if you know no deployment is running.",
            until.map_or_else(
                || "restart the app to release it (Kudu still keeps it past its expiry)".into(),
                |u| format!(
                    "wait until it expires at {} ({})",
                    ctx.at(u),
                    relative(u, ctx.now)
                )
            )
        ),
        evidence,
        // With a countdown, waiting leads; once the lock has expired and Kudu still keeps it,
        // waiting for the expiry is over, and a restart (which clears it: KuduLite deletes the
        // lock at startup) leads instead.
        recommendations: if until.is_some() {
            vec![
                Recommendation::Wait {
                    until,
                    reason: wait_reason,
                },
                Recommendation::RestartApp,
                Recommendation::TargetedCleanup,
            ]
        } else {
            vec![
                Recommendation::RestartApp,
                Recommendation::Wait {
                    until,
                    reason: wait_reason,
                },
                Recommendation::TargetedCleanup,
            ]
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    #[test]
    fn a_fresh_lock_whose_deployment_hung_is_stale_with_medium_confidence() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 50, 1),
                None,
            ))
            .log("b0b0", vec![log_line(at(11, 50, 5), "Fetching changes.")])
            .build();
        let f = detect(&Context::new(&s, at(12, 3, 10))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(matches!(
            f.recommendations[0],
            Recommendation::Wait { until: Some(_), .. }
        ));
        // Only silence says it stopped: waiting leads, the cleanup comes last (and its plan
        // asks the user to confirm nothing is deploying).
        assert_eq!(f.recommendations[1], Recommendation::RestartApp);
        assert_eq!(f.recommendations[2], Recommendation::TargetedCleanup);
        assert!(
            f.summary
                .contains("'Performing continuous deployment' has held it since 11:50:00 UTC"),
            "{}",
            f.summary
        );
        assert!(
            f.summary.contains("expires at 12:15:00 UTC (in 12 min)"),
            "{}",
            f.summary
        );
        assert!(
            f.summary
                .contains(": deployment b0b0 looks hung (no log line for 13 min)."),
            "{}",
            f.summary
        );
        // The lock's whole reading is the evidence, not the summary again.
        assert_eq!(
            f.evidence[0].fact,
            Context::new(&s, at(12, 3, 10)).lock.explanation
        );
        assert!(!f.summary.contains(&f.evidence[0].fact), "{}", f.summary);
    }

    #[test]
    fn an_expired_lock_is_stale_with_high_confidence() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.recommendations, vec![Recommendation::TargetedCleanup]);
        assert!(
            f.summary.contains(
                "'Performing continuous deployment' took it at 11:00:00 UTC; it expired at \
                 11:25:00 UTC (35 min ago) but is still there, and nothing is using it: no \
                 deployment is running."
            ),
            "{}",
            f.summary
        );
    }

    #[test]
    fn a_lock_with_no_deployment_is_orphaned() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
    }

    #[test]
    fn a_lock_taken_seconds_ago_is_not_stale() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 59, 30))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_progressing_deployment_keeps_its_lock() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 55, 1),
                None,
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
