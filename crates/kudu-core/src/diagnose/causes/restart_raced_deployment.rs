// Cause: restart-raced-deployment
//
// What it is: the app or its SCM container was restarted (or a setting changed, which restarts
// it) while a deployment ran, and Kudu stopped the deployment half way.
// How we know: a deployment's status text or log says "Deployment has been stopped due to SCM
// container restart"; or Kudu's trace folder shows Kudu stopping or starting again (a
// `_Shutdown` or `_Startup` trace of the instance that held the lock) while a deployment was
// still under way, and that deployment never finished.
// What to do: deploy again once nothing else is changing the app, and do not restart or change
// settings while a deployment runs.

//! Detects a deployment stopped by an SCM container restart.

use crate::diagnose::facts::context::{Context, kudu_started};
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};
use crate::session::Observed;
use crate::time::Timestamp;

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
    let said_so = !evidence.is_empty();
    if let Some(restart) = kudu_started(ctx.session) {
        evidence.extend(raced_by_restart(ctx, restart));
    }
    if evidence.is_empty() {
        return None;
    }
    evidence.truncate(3);
    Some(Finding {
        cause: CauseId::RestartRacedDeployment,
        // A restart in the middle of a run that never finished is strong evidence that it
        // ended the run, but only Kudu's own words say so for certain.
        confidence: if said_so {
            Confidence::High
        } else {
            Confidence::Medium
        },
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

/// Deployments a Kudu restart at `restart` cut short: still open with no sign of activity
/// since, or ended without success after it. Temp records stand for their real ones.
fn raced_by_restart(ctx: &Context, restart: Timestamp) -> Vec<Evidence> {
    let source = "/api/vfs/LogFiles/kudu/trace/";
    let open = ctx
        .running
        .iter()
        .filter(|r| !r.deployment.temp)
        .filter(|r| r.last_activity.is_some_and(|active| active < restart))
        .map(|r| {
            Evidence::new(
                source,
                format!(
                    "Kudu restarted at {} (its start or stop trace), after {} last showed activity; the record still reads '{}': the run died with the old Kudu.",
                    ctx.at(restart),
                    ctx.describe(&r.deployment),
                    r.deployment.status.as_str()
                ),
            )
        });
    let ended = ctx
        .deployments
        .iter()
        .filter(|d| !d.temp && d.status.is_unsuccessful_end())
        .filter(|d| {
            d.received
                .or(d.started)
                .zip(d.ended)
                .is_some_and(|(begin, end)| begin < restart && restart <= end)
        })
        .map(|d| {
            Evidence::new(
                source,
                format!(
                    "Kudu restarted at {} (its start or stop trace) while {} ran; it ended as '{}'.",
                    ctx.at(restart),
                    ctx.describe(d),
                    d.status.as_str()
                ),
            )
        });
    open.chain(ended).collect()
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

    fn traced(s: &mut crate::session::Session, names: &[&str]) {
        s.kudu_trace_dir = Observed::Value(names.iter().map(|n| file(n, at(11, 30, 0))).collect());
    }

    #[test]
    fn a_kudu_restart_during_a_run_that_never_finished() {
        let mut s = Site::linux()
            .deployment(deployment(
                "f0f0",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .build();
        traced(&mut s, &["2026-11-26T11-10-00_a1b2c3_007_Shutdown_0s.xml"]);
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(
            f.evidence[0]
                .fact
                .starts_with("Kudu restarted at 11:10:00 UTC"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn a_failure_that_ended_after_a_restart_it_spanned() {
        let mut d = deployment(
            "f0f0",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        d.status_text = "Deployment Failed.".into();
        let mut s = Site::windows().deployment(d).build();
        traced(
            &mut s,
            &["2026-11-26T11-10-00_a1b2c3_001_Startup_POST_api-zipdeploy_0s.xml"],
        );
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(
            f.evidence[0].fact.contains("ended as 'failed'"),
            "{}",
            f.evidence[0].fact
        );
    }

    #[test]
    fn a_restart_before_or_after_a_run_is_not_a_race() {
        let mut d = deployment(
            "f0f0",
            DeployStatus::Failed,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        d.status_text = "Deployment Failed.".into();
        let ok = deployment(
            "a0a0",
            DeployStatus::Success,
            "GitHub",
            at(11, 0, 0),
            Some(at(11, 20, 0)),
        );
        let mut s = Site::windows().deployment(d).deployment(ok).build();
        traced(
            &mut s,
            &[
                "2026-11-26T10-50-00_a1b2c3_001_Startup_GET_api-settings_0s.xml",
                "2026-11-26T11-30-00_a1b2c3_001_Shutdown_0s.xml",
            ],
        );
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
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
