// Cause: healthy
//
// What it is: the site is in a good state for deploying: nothing is running, no lock is held,
// the last deployment is active and nothing looks left over or wrong.
// How we know: every read answered and no other cause applies.
// What to do: nothing. If a deploy got 409 anyway, see "no-lock-found" for causes outside Kudu.

//! The finding for a site with nothing wrong.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, LockState, Rank, Recommendation,
};

/// Added when the verdict says deployments are accepted, the core reads answered, no lock is
/// there at all, and `nothing_else_found`: no other cause applies (the coordinator knows that;
/// a cause never reads another's findings).
pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::Healthy,
    rank: Rank::Fixed(17),
    claims: &[Claim::NothingBlocks, Claim::NothingRunning],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context, nothing_else_found: bool) -> Option<Finding> {
    if !nothing_else_found
        || !ctx.deployability.is_clear()
        || !ctx.unreadable().is_empty()
        || ctx.lock.state != LockState::Free
    {
        return None;
    }
    let mut evidence = vec![Evidence::new("site/locks", ctx.lock.explanation.clone())];
    if let Some(d) = ctx.deployments.iter().find(|d| d.active) {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "The active deployment is {}, '{}'.",
                ctx.describe(d),
                d.status.as_str()
            ),
        ));
    }
    if ctx
        .session
        .latest
        .value()
        .is_some_and(|latest| latest.deployment.is_none())
    {
        evidence.push(Evidence::new(
            "/api/deployments/latest",
            "/api/deployments/latest answered {}: Kudu restarted and holds no current deployment \
             record (an answer, not an unreadable reply)."
                .into(),
        ));
    }
    let leftovers = ctx.leftover_folders();
    let (summary, recommendations) = if leftovers.is_empty() {
        (
            "Ready to deploy: nothing is running, no lock is held and nothing is left over."
                .to_string(),
            vec![],
        )
    } else {
        let names: Vec<&str> = leftovers.iter().map(|(e, _)| e.name.as_str()).collect();
        evidence.push(Evidence::new(
            "/api/vfs/site/deployments/",
            format!(
                "Leftover folders from deployments that never finished: {}.",
                names.join(", ")
            ),
        ));
        (
            format!(
                "Ready to deploy: nothing is running and no lock is held. {} leftover folder(s) \
                 of unfinished deployments can be cleaned up; they do not block.",
                names.len()
            ),
            vec![Recommendation::TargetedCleanup],
        )
    };
    Some(Finding {
        cause: CauseId::Healthy,
        confidence: Confidence::High,
        summary,
        evidence,
        recommendations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    #[test]
    fn an_idle_site_is_healthy() {
        let s = Site::windows().build();
        let f = detect(&Context::new(&s, at(12, 0, 0)), true).unwrap();
        assert!(
            f.evidence[1].fact.contains("a1b2c3d4 by GITHUB_ZIP_DEPLOY"),
            "{}",
            f.evidence[1].fact
        );
    }

    #[test]
    fn a_held_lock_is_not_healthy() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 59, 0))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0)), true).is_none());
    }

    #[test]
    fn isdeploying_true_is_not_healthy() {
        let mut s = Site::windows().build();
        s.is_deploying = crate::session::Observed::Value(crate::model::IsDeploying {
            deploying: true,
            message: "Deployment Underway".into(),
        });
        assert!(detect(&Context::new(&s, at(12, 0, 0)), true).is_none());
    }

    #[test]
    fn failed_reads_are_not_healthy() {
        let mut s = Site::linux().build();
        s.locks_dir = crate::session::Observed::Failed {
            status: 502,
            reason: "Bad Gateway".into(),
        };
        assert!(detect(&Context::new(&s, at(12, 0, 0)), true).is_none());
    }
}
