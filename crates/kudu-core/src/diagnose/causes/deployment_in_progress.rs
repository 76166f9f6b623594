// Cause: deployment-in-progress
//
// What it is: a real deployment is running right now and holds Kudu's deployment lock, so any
// other deployment gets 409 "There is a deployment currently in progress" until it ends.
// How we know: a deployment record is pending or building and still active (recent times or
// log lines), and the lock is held (/api/isdeploying True, a fresh info.lock, or on Windows a
// listed deployments.lock).
// What to do: wait for it to finish; Kudu releases the lock by itself. Do not clear anything:
// deleting a live lock lets two deployments write wwwroot at once.

//! Detects a deployment that is really progressing.

use crate::diagnose::facts::context::{Context, LOG_SILENCE_SECS, ProcessSignal};
use crate::diagnose::facts::wording::{duration, relative, short_id};
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, LockState, Rank, Recommendation,
};
use crate::model::Personality;

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::DeploymentInProgress,
    rank: Rank::Fixed(5),
    claims: &[Claim::DeploymentsBlocked, Claim::SomethingRunning],
    ends_by_itself: true,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    if ctx.scan_underway() {
        return None;
    }
    let progressing: Vec<_> = ctx.progressing().collect();
    if progressing.is_empty()
        && ctx.lock.state != LockState::Live
        && let Some(f) = held_unconfirmed(ctx)
    {
        return Some(f);
    }
    let latest_pending = ctx.latest_pending();
    let fresh_lock_only =
        progressing.is_empty() && ctx.lock.state == LockState::Live && ctx.lock.acquired.is_some();
    if progressing.is_empty() && !fresh_lock_only && latest_pending.is_none() {
        return None;
    }
    // A 202 from `latest` alone, with every running record hung, is a stuck deployment, which
    // the lock causes report.
    if progressing.is_empty() && !fresh_lock_only && !ctx.running.is_empty() {
        return None;
    }
    let mut evidence = vec![];
    for r in &progressing {
        let d = &r.deployment;
        let active = r
            .last_activity
            .map(|t| {
                let what = if r.log_read {
                    "last log line"
                } else {
                    "last change"
                };
                format!(", {what} at {} ({})", ctx.at(t), relative(t, ctx.now))
            })
            .unwrap_or_default();
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{} is {}{}{active}.",
                ctx.describe(d),
                d.status.as_str(),
                if d.progress.is_empty() {
                    String::new()
                } else {
                    format!(" ('{}')", d.progress)
                },
            ),
        ));
    }
    // A quiet log with a build that used CPU between two reads: the reason it counts as alive.
    if let ProcessSignal::Busy { .. } | ProcessSignal::Ended { .. } = &ctx.processes
        && let Some(what) = ctx.processes.describe()
    {
        evidence.push(Evidence::new(
            "/api/processes",
            format!("Its log is quiet, but {what}: the build is working."),
        ));
    }
    if let Some(d) = latest_pending {
        evidence.push(Evidence::new(
            "/api/deployments/latest",
            format!(
                "/api/deployments/latest answered 202 Accepted: {} has not finished.",
                d.id.as_deref()
                    .map(short_id)
                    .unwrap_or_else(|| "a deployment".into())
            ),
        ));
    }
    let lock_live = ctx.lock.state == LockState::Live;
    if lock_live {
        evidence.push(Evidence::new(
            ctx.lock_source(),
            ctx.lock.explanation.clone(),
        ));
    }
    if let Some(d) = ctx.is_deploying().filter(|d| d.deploying) {
        evidence.push(Evidence::new(
            "/api/isdeploying",
            format!("/api/isdeploying says True ('{}').", d.message),
        ));
    }
    // Quiet for longer than a log silence that would count as hung, but the log is unread:
    // the follow-up read of its log decides, so until then this is only probable.
    let unconfirmed: Vec<_> = progressing
        .iter()
        .filter(|r| {
            !r.log_read
                && r.last_activity
                    .is_some_and(|t| t.secs_until(ctx.now) > LOG_SILENCE_SECS)
        })
        .collect();
    if let Some(r) = unconfirmed.first() {
        evidence.push(Evidence::new(
            &format!("/api/deployments/{}/log", r.id()),
            format!(
                "{} has shown no change for {}; its log has not been read yet, and it tells a \
                 slow deployment from a hung one.",
                short_id(r.id()),
                r.last_activity
                    .map(|t| duration(t.secs_until(ctx.now)))
                    .unwrap_or_default()
            ),
        ));
    }
    let confidence = match (progressing.is_empty(), lock_live, ctx.lock.state) {
        (false, true, _) if !unconfirmed.is_empty() => Confidence::Medium,
        (false, true, _) => Confidence::High,
        (false, false, LockState::Free) => Confidence::Low,
        (false, false, _) => Confidence::Medium,
        (true, _, _) => Confidence::Medium,
    };
    let until = match ctx.personality {
        Personality::Windows => None,
        _ => ctx.lock.expires.filter(|e| *e > ctx.now),
    };
    let summary = match progressing.first() {
        Some(r) => {
            let running_for = r
                .deployment
                .received
                .or(r.deployment.started)
                .map(|t| format!(", running for {}", duration(t.secs_until(ctx.now))))
                .unwrap_or_default();
            format!(
                "A deployment is in progress: {} is {}{running_for}. Other deployments get 409 \
                 until it ends{}.",
                ctx.describe(&r.deployment),
                r.deployment.status.as_str(),
                until
                    .map(|u| format!(
                        "; the lock expires by itself at {} at the latest",
                        ctx.at(u)
                    ))
                    .unwrap_or_default()
            )
        }
        None => format!(
            "Kudu's deployment lock was just taken{}; a deployment is starting.",
            ctx.lock
                .holder_operation
                .as_deref()
                .map(|op| format!(" by '{op}'"))
                .unwrap_or_default()
        ),
    };
    Some(Finding {
        cause: CauseId::DeploymentInProgress,
        confidence,
        summary,
        evidence,
        recommendations: vec![Recommendation::Wait {
            until,
            reason: "Let it finish; Kudu releases the lock when the deployment ends. Clearing a \
                     live lock would let two deployments write wwwroot at once."
                .into(),
        }],
    })
}

/// The lock is taken (or /api/isdeploying says True) but nothing shows whether a deployment
/// progresses: the deployment list could not be read, or on Windows no lock file backs the
/// True. The held lock must still lead the screen, so it is reported as a possible deployment
/// with the doubt said out loud; the planner refuses to delete while the list is unreadable.
fn held_unconfirmed(ctx: &Context) -> Option<Finding> {
    let held_unread = !ctx.deployments_known && ctx.lock.state == LockState::Held;
    let deploying = ctx.is_deploying().filter(|d| d.deploying);
    let deploying_without_lock =
        deploying.is_some() && matches!(ctx.lock.state, LockState::Free | LockState::Unknown);
    if !held_unread && !deploying_without_lock {
        return None;
    }
    let mut evidence = vec![];
    if held_unread {
        evidence.push(Evidence::new(
            ctx.lock_source(),
            ctx.lock.explanation.clone(),
        ));
    }
    if let Some(d) = deploying {
        evidence.push(Evidence::new(
            "/api/isdeploying",
            format!("/api/isdeploying says True ('{}').", d.message),
        ));
    }
    if let Some(d) = ctx.latest_pending() {
        evidence.push(Evidence::new(
            "/api/deployments/latest",
            format!(
                "/api/deployments/latest answered 202 Accepted: {} has not finished.",
                d.id.as_deref()
                    .map(short_id)
                    .unwrap_or_else(|| "a deployment".into())
            ),
        ));
    }
    let unreadable = ctx.unreadable();
    if !unreadable.is_empty() {
        evidence.push(Evidence::new(
            "Kudu Doctor",
            format!(
                "These reads gave no usable answer: {}.",
                unreadable.join(", ")
            ),
        ));
    }
    let held = if held_unread {
        "The deployment lock is held, so new deployments get 409 until it is released"
    } else {
        "Kudu says a deployment is running (/api/isdeploying True), so new deployments get 409 \
         until it ends"
    };
    let doubt = if ctx.deployments_known {
        "no deployment record shows it progressing"
    } else {
        "the deployment list could not be read, so whether a deployment is still progressing \
         is unknown"
    };
    let until = match ctx.personality {
        Personality::Windows => None,
        _ => ctx.lock.expires.filter(|e| *e > ctx.now),
    };
    Some(Finding {
        cause: CauseId::DeploymentInProgress,
        confidence: if deploying.is_some() {
            Confidence::Medium
        } else {
            Confidence::Low
        },
        summary: format!(
            "{held}; {doubt}. Wait a minute and re-run the diagnosis before cleaning anything{}.",
            until
                .map(|u| format!(
                    "; the lock expires by itself at {} at the latest",
                    ctx.at(u)
                ))
                .unwrap_or_default()
        ),
        evidence,
        recommendations: vec![Recommendation::Wait {
            until,
            reason: "Re-run the diagnosis once Kudu answers the deployment reads; deleting a lock \
                     whose deployment may still be running would let two deployments write \
                     wwwroot at once."
                .into(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    #[test]
    fn a_building_deployment_holding_the_lock_is_in_progress() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .deployment(deployment(
                "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 55, 1),
                None,
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(f.summary.contains("b0b0b0b0 by GitHub"), "{}", f.summary);
        assert!(f.summary.contains("12:20:00 UTC"), "{}", f.summary);
        assert!(matches!(
            f.recommendations.as_slice(),
            [Recommendation::Wait { .. }]
        ));
    }

    #[test]
    fn a_deployment_silent_for_half_an_hour_is_not_progressing() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 30, 0),
                None,
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_silent_log_marks_a_young_deployment_hung() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 45, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 45, 1),
                None,
            ))
            .log("b0b0", vec![log_line(at(11, 46, 0), "Fetching changes.")])
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
        // Near miss: the log grew a minute ago.
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 45, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 45, 1),
                None,
            ))
            .log(
                "b0b0",
                vec![log_line(at(11, 59, 0), "Running oryx build...")],
            )
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_some());
    }

    #[test]
    fn a_quiet_top_level_with_unread_children_is_not_conclusive() {
        let mut build = log_line(at(11, 45, 5), "Running oryx build...");
        build.id = "c332f4ce-0716-4a3f-ae07-b1fe3aaf572b".into();
        build.has_details = true;
        let site = || {
            Site::linux()
                .linux_lock("Performing continuous deployment", at(11, 45, 0))
                .deployment(deployment(
                    "b0b0",
                    DeployStatus::Building,
                    "GitHub",
                    at(11, 45, 1),
                    None,
                ))
                .log("b0b0", vec![build.clone()])
        };
        let f = detect(&Context::new(&site().build(), at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        // The children show the build is still writing: progressing, and now certain.
        let s = site()
            .log(
                "b0b0/c332f4ce-0716-4a3f-ae07-b1fe3aaf572b",
                vec![log_line(at(11, 59, 40), "Copying file")],
            )
            .build();
        assert_eq!(
            detect(&Context::new(&s, at(12, 0, 0))).unwrap().confidence,
            Confidence::High
        );
        // The children stopped twelve minutes ago: looks hung.
        let s = site()
            .log(
                "b0b0/c332f4ce-0716-4a3f-ae07-b1fe3aaf572b",
                vec![log_line(at(11, 48, 0), "Copying file")],
            )
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_quiet_deployment_whose_log_is_unread_is_only_probable() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 48, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 48, 1),
                None,
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.evidence
                .iter()
                .any(|e| e.fact.contains("its log has not been read yet"))
        );
    }

    #[test]
    fn a_held_lock_with_the_list_unread_leads_with_its_doubt() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        s.deployments = crate::session::Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        // /api/isdeploying True backs the lock, so Medium; the list is what is missing.
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(f.summary.contains("lock is held"), "{}", f.summary);
        assert!(
            f.summary
                .contains("whether a deployment is still progressing is unknown"),
            "{}",
            f.summary
        );
        assert!(matches!(
            f.recommendations.as_slice(),
            [Recommendation::Wait { until: Some(_), .. }]
        ));

        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .build();
        s.deployments = crate::session::Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Low);
        assert!(matches!(
            f.recommendations.as_slice(),
            [Recommendation::Wait { until: None, .. }]
        ));
    }

    #[test]
    fn an_idle_site_has_nothing_in_progress() {
        let s = Site::linux().build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
