// Cause: parallel-deployments
//
// What it is: two pipelines (or a pipeline and a person) deployed to this app at the same time.
// Kudu runs one deployment at a time, so the other gets 409, and which one wins is luck.
// How we know: deployments whose received..ended intervals overlap, from different deployers
// or more than a minute apart (closer than that from one deployer is a client retry instead).
// What to do: serialise deployments: a GitHub `concurrency` group with
// `cancel-in-progress: false`, or an Azure DevOps exclusive lock on the environment.

//! Detects overlapping deployments from different sources.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::timeline::{colliding_pairs, display_id};
use crate::diagnose::facts::wording::short_id;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::ParallelDeployments,
    rank: Rank::Fixed(15),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let entries = &ctx.timeline.entries;
    let pairs: Vec<_> = colliding_pairs(entries)
        .into_iter()
        .map(|(i, j)| (&entries[i], &entries[j]))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let running_involved = pairs
        .iter()
        .any(|(a, b)| a.deployment.status.is_running() || b.deployment.status.is_running());
    let evidence = pairs
        .iter()
        .rev()
        .take(3)
        .map(|(a, b)| {
            Evidence::new(
                "/api/deployments",
                format!(
                    "{} ({}) overlapped {} ({}).",
                    ctx.describe(&a.deployment),
                    a.deployment.status.as_str(),
                    ctx.describe(&b.deployment),
                    b.deployment.status.as_str()
                ),
            )
        })
        .collect();
    let (a, b) = pairs[pairs.len() - 1];
    Some(Finding {
        cause: CauseId::ParallelDeployments,
        confidence: if running_involved {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: format!(
            "Deployments ran in parallel: {} from {} and {} from {} overlapped{}. Kudu runs one at \
             a time, so parallel runs get 409.",
            short_id(&display_id(&a.deployment)),
            a.deployment.deployer,
            short_id(&display_id(&b.deployment)),
            b.deployment.deployer,
            if pairs.len() > 1 {
                format!(" ({} overlapping pairs in all)", pairs.len())
            } else {
                String::new()
            }
        ),
        evidence,
        recommendations: vec![Recommendation::FixPipeline {
            advice: "Serialise deployments to this app: in GitHub Actions put every deploy job in \
                     one `concurrency` group with `cancel-in-progress: false`; in Azure DevOps add \
                     an exclusive lock check on the environment."
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
    fn overlapping_deployers_are_parallel() {
        let s = Site::linux()
            .deployment(deployment(
                "a0a0",
                DeployStatus::Success,
                "GitHub",
                at(11, 0, 0),
                Some(at(11, 6, 0)),
            ))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Failed,
                "VSTS_ZIP_DEPLOY",
                at(11, 3, 0),
                Some(at(11, 4, 0)),
            ))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.summary
                .contains("a0a0 from GitHub and b0b0 from VSTS_ZIP_DEPLOY"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn back_to_back_deployments_are_not_parallel() {
        let s = Site::linux()
            .deployment(deployment(
                "a0a0",
                DeployStatus::Success,
                "GitHub",
                at(11, 0, 0),
                Some(at(11, 2, 0)),
            ))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Success,
                "VSTS",
                at(11, 2, 30),
                Some(at(11, 4, 0)),
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_client_retry_seconds_apart_is_left_to_self_collision() {
        let s = Site::linux()
            .deployment(deployment(
                "a0a0",
                DeployStatus::Success,
                "core_tools",
                at(11, 0, 0),
                Some(at(11, 2, 0)),
            ))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Failed,
                "core_tools",
                at(11, 0, 2),
                Some(at(11, 0, 3)),
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
