// Cause: windows-lock-held
//
// What it is: Windows only. A process still holds Kudu's deployment lock file
// (site/locks/deployments.lock) although no deployment is progressing: a hung deployment or one
// of its child processes (a build, a post-deployment script).
// How we know: the file is listed (Windows Kudu deletes a lock file nobody holds as soon as it
// checks, so a listed file means a live handle) and no deployment record is progressing.
// What to do: restart Kudu (the SCM site only, not your app), which ends the process holding
// it. Deleting the file does not work while the handle is open.

//! Detects a Windows deployment lock held by a process that is not progressing.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::wording::relative;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, LockState, Rank, Recommendation,
};
use crate::model::Personality;

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::WindowsLockHeld,
    rank: Rank::Fixed(9),
    claims: &[Claim::DeploymentsBlocked, Claim::NothingRunning],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    // Without the deployment list "no deployment is progressing" is not known; the held lock
    // is then reported by deployment-in-progress, which says so.
    if ctx.personality != Personality::Windows
        || ctx.lock.state != LockState::Held
        || !ctx.deployments_known
    {
        return None;
    }
    let mut evidence = vec![Evidence::new(
        "/api/vfs/site/locks/",
        ctx.lock.explanation.clone(),
    )];
    let hung = ctx.running.iter().find(|r| r.hung());
    if let Some(r) = hung {
        let since = r
            .last_activity
            .map(|t| format!(" since {} ({})", ctx.at(t), relative(t, ctx.now)))
            .unwrap_or_default();
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{} is still '{}' with no activity{since}.",
                ctx.describe(&r.deployment),
                r.deployment.status.as_str()
            ),
        ));
    }
    if ctx.latest_pending().is_some() {
        evidence.push(Evidence::new(
            "/api/deployments/latest",
            "/api/deployments/latest answers 202 Accepted: Kudu still counts a deployment as unfinished.".into(),
        ));
    }
    let confidence = if hung.is_some() || ctx.latest_pending().is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Some(Finding {
        cause: CauseId::WindowsLockHeld,
        confidence,
        // The lock's full reading is the first piece of evidence, not repeated here.
        summary: format!(
            "A process still holds the deployment lock (deployments.lock{}) but no deployment \
             is progressing{}.",
            ctx.lock
                .acquired
                .map(|t| format!(", written at {}", ctx.at(t)))
                .unwrap_or_default(),
            hung.map(|r| format!(
                ": deployment {} looks hung",
                crate::diagnose::facts::wording::short_id(r.id())
            ))
            .unwrap_or_default()
        ),
        evidence,
        recommendations: recommendations(ctx),
    })
}

/// Restart Kudu first, unless the restart may reach another instance than the one holding the
/// lock (`DELETE /api/processes/0` restarts only the instance the request reached): then how to
/// reach the holder comes first, and the restart is no longer promised to release it.
fn recommendations(ctx: &Context) -> Vec<Recommendation> {
    let instances = crate::diagnose::facts::instances::report(ctx.session, &ctx.lock);
    let mut out = vec![
        Recommendation::RestartKudu,
        Recommendation::TargetedCleanup,
        Recommendation::RestartApp,
    ];
    if instances.restart_may_miss_the_holder()
        && let Some(note) = instances.note
    {
        out.insert(0, Recommendation::LookElsewhere { advice: note });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    /// A scaled-out plan: Kudu ran on two instances and the browser cannot say which one it
    /// reaches, so a restart from here is not promised to release the handle.
    #[test]
    fn on_several_instances_the_restart_is_not_promised() {
        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 20, 0),
                None,
            ))
            .build();
        s.kudu_trace_dir = crate::session::Observed::Value(vec![
            file(
                "2026-11-26T09-00-00_05be39_001_Startup_GET_api-deployments_0s.xml",
                at(9, 0, 0),
            ),
            file(
                "2026-11-26T09-00-05_a1b2c3_001_Startup_GET_api-deployments_0s.xml",
                at(9, 0, 5),
            ),
        ]);
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        let Recommendation::LookElsewhere { advice } = &f.recommendations[0] else {
            panic!("{:?}", f.recommendations)
        };
        assert!(advice.contains("2 instances (05be39, a1b2c3)"), "{advice}");
        assert!(
            f.evidence[0].fact.contains("may restart another one"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn a_listed_lock_with_a_hung_deployment_is_held() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 20, 0),
                None,
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.recommendations[0], Recommendation::RestartKudu);
        assert!(f.summary.contains("11:20:00 UTC"), "{}", f.summary);
        assert!(
            f.summary.contains("deployment c0c0 looks hung"),
            "{}",
            f.summary
        );
        assert!(!f.summary.contains(&f.evidence[0].fact), "{}", f.summary);
    }

    #[test]
    fn a_listed_lock_with_a_progressing_deployment_is_live_not_held() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 58, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 58, 0),
                None,
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn without_the_deployment_list_it_does_not_claim_nothing_progresses() {
        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .build();
        s.deployments = crate::session::Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn no_listed_lock_file_means_nothing_is_held() {
        let s = Site::windows().build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
