// Cause: client-self-collision
//
// What it is: the deploying tool collides with itself: it retries a deploy that got 409 (or
// timed out) by uploading the same package again seconds later, or it deploys many small
// packages one after another (for example one per jar), each as its own deployment.
// How we know: deployments from the same deployer that began seconds apart, or many
// deployments from one deployer within a few minutes.
// What to do: fix the client: do not retry a deploy on 409, and deploy one package per release.

//! Detects a deploying tool that collides with its own deployments.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::timeline::{SELF_COLLISION_SECS, display_id};
use crate::diagnose::facts::wording::short_id;
use crate::diagnose::{
    CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation, TimelineEntry,
};

/// This many deployments from one deployer within [`BURST_WINDOW_SECS`] is a burst of tiny
/// deployments (azure-maven-plugins#2522 deployed about 200 jars one by one).
pub const BURST_COUNT: usize = 5;
pub const BURST_WINDOW_SECS: i64 = 10 * 60;

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::ClientSelfCollision,
    rank: Rank::Fixed(16),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let real: Vec<&TimelineEntry> = ctx
        .timeline
        .entries
        .iter()
        .filter(|e| !e.deployment.temp && e.begin.is_some())
        .collect();
    let mut retries = vec![];
    for (i, a) in real.iter().enumerate() {
        if let Some(b) = real.get(i + 1)
            && a.deployment.deployer == b.deployment.deployer
            && a.begin
                .zip(b.begin)
                .is_some_and(|(x, y)| x.secs_until(y) <= SELF_COLLISION_SECS)
        {
            retries.push((*a, *b));
        }
    }
    let burst = real.windows(BURST_COUNT).find(|w| {
        let first = &w[0];
        w.iter()
            .all(|e| e.deployment.deployer == first.deployment.deployer)
            && first
                .begin
                .zip(w[BURST_COUNT - 1].begin)
                .is_some_and(|(x, y)| x.secs_until(y) <= BURST_WINDOW_SECS)
    });
    if retries.is_empty() && burst.is_none() {
        return None;
    }
    let mut evidence = vec![];
    for (a, b) in retries.iter().rev().take(3) {
        let gap = a
            .begin
            .zip(b.begin)
            .map(|(x, y)| x.secs_until(y))
            .unwrap_or_default();
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{} and {} from the same deployer began {gap} s apart.",
                ctx.describe(&a.deployment),
                short_id(&display_id(&b.deployment)),
            ),
        ));
    }
    if let Some(w) = burst {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "{} deployments from {} began between {} and {}.",
                BURST_COUNT,
                w[0].deployment.deployer,
                w[0].begin.map(|t| ctx.at(t)).unwrap_or_default(),
                w[BURST_COUNT - 1]
                    .begin
                    .map(|t| ctx.at(t))
                    .unwrap_or_default()
            ),
        ));
    }
    let deployer = retries
        .first()
        .map(|(a, _)| a.deployment.deployer.clone())
        .or_else(|| burst.map(|w| w[0].deployment.deployer.clone()))
        .unwrap_or_default();
    Some(Finding {
        cause: CauseId::ClientSelfCollision,
        confidence: Confidence::Medium,
        summary: format!(
            "The deploying tool ({deployer}) collides with its own deployments: it started new \
             ones seconds apart, so its own earlier upload holds the lock."
        ),
        evidence,
        recommendations: vec![Recommendation::FixPipeline {
            advice: "Do not retry a deployment on 409 (the first upload is still running); deploy \
                     one package per release instead of one per file or module."
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
    fn a_retry_seconds_later_is_a_self_collision() {
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
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(
            f.evidence[0].fact.contains("began 2 s apart"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn a_burst_of_tiny_deployments_is_a_self_collision() {
        let mut site = Site::linux();
        for i in 0..5 {
            site = site.deployment(deployment(
                &format!("j{i}"),
                DeployStatus::Success,
                "maven",
                at(11, i * 2, 0),
                Some(at(11, i * 2, 30)),
            ));
        }
        assert!(detect(&Context::new(&site.build(), at(12, 0, 0))).is_some());
    }

    #[test]
    fn two_deployers_seconds_apart_are_not_one_client() {
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
                DeployStatus::Failed,
                "VSTS",
                at(11, 0, 2),
                Some(at(11, 0, 3)),
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
