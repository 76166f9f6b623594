// Cause: no-lock-found
//
// What it is: nothing on this site explains a 409: no deployment is running, no lock is held,
// no setting or swap refuses deployments.
// How we know: every cause above was checked against this site's replies and none applies.
// What to do: if deploys still get 409, the conflict comes from outside Kudu: an ARM template
// deployment still running (`DeploymentActive`), a CI identity without rights on the App
// Service plan (the CLI then falls back to the legacy zipdeploy, which answers 409), or a plan
// starved at 100% CPU (scale up while deploying).

//! The finding for "nothing here blocks deployments".

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::deployability::BlockerKind;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};
use crate::model::{Conflict, ConflictKind};

/// Added when the verdict names nothing that blocks deployments, only reads that failed.
pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::NoLockFound,
    rank: Rank::Fixed(18),
    claims: &[Claim::NothingBlocks, Claim::NothingRunning],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let only_unknowns = ctx
        .deployability
        .blockers
        .iter()
        .all(|b| b.kind == BlockerKind::Unreadable);
    // A pasted ARM conflict on a site where Kudu shows nothing is `site-operation-in-progress`.
    if !only_unknowns || ctx.site_operation_conflict().is_some() {
        return None;
    }
    let unreadable = ctx.unreadable();
    let mut evidence = vec![Evidence::new("Kudu Doctor", ctx.lock.explanation.clone())];
    if !unreadable.is_empty() {
        evidence.push(Evidence::new(
            "Kudu Doctor",
            format!(
                "These reads gave no usable answer: {}.",
                unreadable.join(", ")
            ),
        ));
    }
    if let Some(said) = ctx.session.pasted_error.as_ref().and_then(pasted_meaning) {
        evidence.push(Evidence::new("the error you pasted", said));
    }
    let sure = unreadable.is_empty() && ctx.deployability.blockers.is_empty();
    Some(Finding {
        cause: CauseId::NoLockFound,
        confidence: Confidence::Low,
        summary: if sure {
            "Nothing on this site explains a 409: no deployment is running, no lock is held and \
             no setting refuses deployments. If deploys still get 409, look outside Kudu."
                .into()
        } else {
            "Kudu Doctor found nothing that blocks deployments, but some reads failed, so it may \
             have missed something. If deploys still get 409, re-run the diagnosis, then look \
             outside Kudu."
                .into()
        },
        evidence,
        recommendations: vec![Recommendation::LookElsewhere {
            advice: "Check for an ARM template deployment still running on the resource group \
                     (409 `DeploymentActive`); make sure the CI identity has rights on the App \
                     Service plan (without them `az` falls back to the legacy zipdeploy, which \
                     answers 409); check the plan's CPU and scale up if it sits at 100%."
                .into(),
        }],
    })
}

/// What a pasted Kudu refusal means on a site where nothing blocks now.
fn pasted_meaning(pasted: &Conflict) -> Option<String> {
    match pasted.kind {
        ConflictKind::DeploymentInProgress
        | ConflictKind::OperationConflict
        | ConflictKind::DeploymentLockFailed => Some(
            "It is Kudu's deployment lock refusing the push, but nothing holds the lock now: whatever held it has ended, so deploying again should work."
                .into(),
        ),
        ConflictKind::DeploymentIdExists => Some(
            "Kudu already has a deployment with the id your tool sent (azure-cli's DeploymentIdExists): let the tool choose a new id, or leave the id out."
                .into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    #[test]
    fn an_idle_site_points_elsewhere() {
        let s = Site::linux().build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Low);
        assert!(matches!(
            f.recommendations[0],
            Recommendation::LookElsewhere { .. }
        ));
    }

    #[test]
    fn a_held_lock_or_isdeploying_true_suppresses_it_even_when_reads_failed() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        s.deployments = crate::session::Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());

        let mut s = Site::linux().build();
        s.is_deploying = crate::session::Observed::Value(crate::model::IsDeploying {
            deploying: true,
            message: "Deployment Underway".into(),
        });
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_pasted_arm_conflict_is_not_no_lock_found_but_a_pasted_kudu_refusal_is_explained() {
        let mut s = Site::linux().build();
        s.paste_error("Cannot modify this site because another operation is in progress. Details: OperationName: SwapSiteSlots");
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
        s.paste_error("Failed to acquire deployment lock");
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(
            f.evidence
                .iter()
                .any(|e| e.fact.contains("nothing holds the lock now")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn a_setting_that_refuses_pushes_suppresses_it() {
        let s = Site::linux()
            .setting("WEBSITE_RUN_FROM_PACKAGE", "https://x/y.zip")
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
