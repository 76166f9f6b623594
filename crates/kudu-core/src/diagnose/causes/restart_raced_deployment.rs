// Cause: restart-raced-deployment
//
// What it is: the app or its SCM container was restarted (or a setting changed, which restarts
// it) while a deployment ran, and Kudu stopped the deployment half way.
// How we know: a deployment's status text or log says "Deployment has been stopped due to SCM
// container restart".
// What to do: deploy again once nothing else is changing the app, and do not restart or change
// settings while a deployment runs.

//! Detects a deployment stopped by an SCM container restart.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};
use crate::session::Observed;

fn mentions_restart(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("scm container restart") || (t.contains("stopped due to") && t.contains("restart"))
}

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::RestartRacedDeployment,
    rank: Rank::Fixed(13),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: false,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let mut evidence = vec![];
    for d in &ctx.deployments {
        let text = [&d.status_text, &d.progress, &d.message]
            .into_iter()
            .find(|t| mentions_restart(t));
        let from_log =
            d.id.as_ref()
                .and_then(|id| ctx.session.logs.get(id))
                .and_then(Observed::value)
                .and_then(|lines| lines.iter().find(|l| mentions_restart(&l.message)))
                .map(|l| &l.message);
        if let Some(t) = text.or(from_log) {
            evidence.push(Evidence::new(
                &if text.is_some() {
                    "/api/deployments".to_string()
                } else {
                    format!(
                        "/api/deployments/{}/log",
                        d.id.as_deref().unwrap_or_default()
                    )
                },
                format!(
                    "{} ended as '{}': \"{}\"",
                    ctx.describe(d),
                    d.status.as_str(),
                    t.chars().take(200).collect::<String>()
                ),
            ));
        }
    }
    if evidence.is_empty() {
        return None;
    }
    evidence.truncate(3);
    Some(Finding {
        cause: CauseId::RestartRacedDeployment,
        confidence: Confidence::High,
        summary: "A deployment was stopped because the SCM container restarted while it ran (a \
                  restart or settings change raced the deployment)."
            .into(),
        evidence,
        recommendations: vec![Recommendation::Redeploy {
            advice: "Deploy again, and do not restart the app or change its settings while a \
                     deployment runs."
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
    fn status_text_naming_the_restart_is_found() {
        let mut d = deployment(
            "f0f0",
            DeployStatus::Failed,
            "GITHUB_ONE_DEPLOY",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        d.status_text = "Deployment has been stopped due to SCM container restart. The restart can happen due to a management operation on site. Do not perform a management operation and a deployment operation in quick succession.".into();
        let s = Site::linux().deployment(d).build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(
            f.evidence[0].fact.contains("f0f0 by GITHUB_ONE_DEPLOY"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn the_log_can_name_it_too() {
        let d = deployment(
            "f0f0",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        let s = Site::linux()
            .deployment(d)
            .log(
                "f0f0",
                vec![log_line(
                    at(11, 19, 0),
                    "Deployment has been stopped due to SCM container restart.",
                )],
            )
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_some());
    }

    #[test]
    fn an_ordinary_failure_is_not_a_restart_race() {
        let mut d = deployment(
            "f0f0",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        d.status_text = "Deployment Failed.".into();
        let s = Site::linux().deployment(d).build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
