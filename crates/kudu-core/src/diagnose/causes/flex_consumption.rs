// Cause: flex-consumption
//
// What it is: the app runs on the Flex Consumption plan. Its deployments go through
// /api/publish to records of their own, not through Kudu's deployment lock, so a 409 there is
// one deployment refused because another was in progress (status 5, "cancelled, another
// deployment in progress", as Azure Functions Core Tools reads it). Kudu's lock files and Kudu
// Doctor's cleanup do not apply, and nothing is offered for deletion.
// How we know: a deployment record carries remoteBuild, a field only Flex Consumption's
// records have (Kudu's own records never do).
// What to do: let the deployment in progress finish, then deploy again, one deployment at a
// time.

//! Recognises a Flex Consumption app and diagnoses it from the deployment records alone.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::predicates::flex_consumption_record;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};
use crate::model::{DeployStatus, Deployment};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::FlexConsumption,
    rank: Rank::Fixed(1),
    // What runs or blocks now is told by the record causes (`deployment-in-progress` reads the
    // same records); this finding says what kind of site it is and what does not apply.
    claims: &[],
    ends_by_itself: false,
    // The lock reads are expected to fail here and say nothing: only the records count.
    relies_on_core_reads: false,
};

/// What these sites do not have, said once for the summary and the advice.
const NOT_KUDU_LOCKS: &str = "Kudu's deployment lock files do not apply here, so Kudu Doctor's \
                              lock inspector and cleanup have nothing to act on";

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let marker = flex_consumption_record(ctx.session)?;
    let mut evidence = vec![Evidence::new(
        "/api/deployments",
        format!(
            "{} carries remoteBuild, a field only Flex Consumption's deployment records have.",
            capitalised(&ctx.describe(marker))
        ),
    )];
    let running: Vec<&Deployment> = ctx
        .deployments
        .iter()
        .filter(|d| d.status.is_running())
        .collect();
    let newest = ctx.newest();
    let cancelled_for_another = newest.filter(|d| d.status == DeployStatus::Conflict);
    let mut recommendations = vec![];
    let what_now = if let Some(refused) = cancelled_for_another {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "The newest, {}, has status 5: cancelled because another deployment was in \
                 progress.",
                ctx.describe(refused)
            ),
        ));
        let other = running
            .first()
            .map(|d| format!(" ({} is still running)", ctx.describe(d)))
            .unwrap_or_default();
        recommendations.push(Recommendation::FixPipeline {
            advice: "Run one deployment to this app at a time: a second publish while one is in \
                     progress is cancelled with status 5."
                .into(),
        });
        format!(
            "{} was cancelled because another deployment was in progress{other}",
            ctx.describe(refused)
        )
    } else if let Some(d) = running.first() {
        format!(
            "{} is in progress ('{}'), so a new publish is refused until it ends",
            ctx.describe(d),
            d.status.as_str()
        )
    } else if let Some(d) = newest {
        format!(
            "the newest record, {}, is '{}'",
            ctx.describe(d),
            d.status.as_str()
        )
    } else {
        "no deployment record says more".to_string()
    };
    if let Some(d) = running.first() {
        recommendations.insert(
            0,
            Recommendation::Wait {
                until: None,
                reason: format!(
                    "{} has not finished; deploy again once it has.",
                    capitalised(&ctx.describe(d))
                ),
            },
        );
    }
    // A 404 is usually evidence; here it may only mean the route is not served, so every lock
    // read without a value counts as unknown.
    let s = ctx.session;
    let unanswered: Vec<&str> = [
        ("/api/vfs/site/locks/", s.locks_dir.value().is_some()),
        (
            "/api/vfs/site/deployments/",
            s.deployments_dir.value().is_some(),
        ),
        ("/api/isdeploying", s.is_deploying.value().is_some()),
    ]
    .into_iter()
    .filter(|(_, answered)| !answered)
    .map(|(read, _)| read)
    .collect();
    if !unanswered.is_empty() {
        evidence.push(Evidence::new(
            "Kudu Doctor",
            format!(
                "No usable answer from {}: read as unknown, as Flex Consumption's SCM site may \
                 not serve them.",
                unanswered.join(", ")
            ),
        ));
    }
    recommendations.push(Recommendation::LookElsewhere {
        advice: format!(
            "This is a Flex Consumption app: it deploys through /api/publish only. \
             {NOT_KUDU_LOCKS}; do not delete files under site/locks or site/deployments."
        ),
    });
    Some(Finding {
        cause: CauseId::FlexConsumption,
        confidence: Confidence::High,
        summary: format!(
            "This is a Flex Consumption app: {what_now}. {NOT_KUDU_LOCKS}, and none is offered."
        ),
        evidence,
        recommendations,
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::session::Observed;

    fn flex(id: &str, status: DeployStatus, received: (i64, i64)) -> Deployment {
        let mut d = deployment(
            id,
            status,
            "core_tools",
            at(received.0, received.1, 0),
            (!status.is_running()).then(|| at(received.0, received.1 + 1, 0)),
        );
        d.flex_fields = true;
        d
    }

    #[test]
    fn a_status_5_record_is_a_publish_cancelled_for_another() {
        let mut s = Site::linux()
            .deployment(flex("aaaa1111", DeployStatus::Building, (11, 50)))
            .deployment(flex("bbbb2222", DeployStatus::Conflict, (11, 55)))
            .build();
        s.locks_dir = Observed::Missing;
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(
            f.summary.contains("bbbb2222") && f.summary.contains("cancelled"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("aaaa1111"), "{}", f.summary);
        assert!(f.summary.contains("do not apply"), "{}", f.summary);
        assert!(
            !f.recommendations.iter().any(|r| matches!(
                r,
                Recommendation::TargetedCleanup | Recommendation::RestartKudu
            )),
            "{:?}",
            f.recommendations
        );
        assert!(matches!(f.recommendations[0], Recommendation::Wait { .. }));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.fact.contains("/api/vfs/site/locks/") && e.fact.contains("unknown")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn a_kudu_site_is_not_flex() {
        let s = Site::linux()
            .deployment(deployment(
                "cccc3333",
                DeployStatus::Success,
                "ZipDeploy",
                at(11, 0, 0),
                Some(at(11, 1, 0)),
            ))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
