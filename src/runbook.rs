//! The guided path for a finding: its recommendations in runbook order (sign in → wait →
//! settings and pipelines → restart → targeted cleanup → full reset), and plan preconditions
//! in words. Pure, tested natively.

use kudu_core::plan::{Precondition, StepKind};
use kudu_core::{CauseId, Finding, Recommendation};

/// The finding's recommendations in runbook order. When the core gave none, the cause's
/// usual path stands in, so the guide is never empty for a known cause.
pub fn runbook(finding: &Finding) -> Vec<Recommendation> {
    let mut steps = if finding.recommendations.is_empty() {
        default_path(finding.cause)
    } else {
        finding.recommendations.clone()
    };
    steps.sort_by_key(rank);
    steps
}

fn rank(recommendation: &Recommendation) -> u8 {
    match recommendation {
        Recommendation::SignIn => 0,
        Recommendation::Wait { .. } => 1,
        Recommendation::ChangeSetting { .. } => 2,
        Recommendation::FixPipeline { .. } => 3,
        Recommendation::Redeploy { .. } => 4,
        Recommendation::RestartKudu => 5,
        Recommendation::RestartApp => 6,
        Recommendation::TargetedCleanup => 7,
        Recommendation::LookElsewhere { .. } => 8,
    }
}

fn default_path(cause: CauseId) -> Vec<Recommendation> {
    let wait = |reason: &str| Recommendation::Wait {
        until: None,
        reason: reason.to_string(),
    };
    let pipeline = || Recommendation::FixPipeline {
        advice: "Let only one deployment to this site run at a time: queue them instead of \
                 starting a new one while another is running."
            .to_string(),
    };
    match cause {
        CauseId::DeploymentInProgress => vec![wait(
            "A deployment is running; Kudu refuses \
             another until it ends.",
        )],
        CauseId::ScanUnderway => vec![wait(
            "Kudu is scanning the deployed files; it refuses \
             deployments until the scan ends.",
        )],
        CauseId::AutoswapInProgress => vec![wait(
            "An auto swap is running; deploy again once \
             it has finished.",
        )],
        CauseId::RunFromPackageUrl => vec![Recommendation::ChangeSetting {
            key: "WEBSITE_RUN_FROM_PACKAGE".to_string(),
            advice: "It points at a package URL, so Kudu refuses pushed deployments. Set it to \
                     1 (or remove it) to deploy with zip deploy, or update the package at the \
                     URL instead."
                .to_string(),
        }],
        CauseId::StaleLock | CauseId::StatusLockDenied => vec![
            wait("The lock may still be released by the deployment that took it."),
            Recommendation::RestartApp,
            Recommendation::TargetedCleanup,
        ],
        CauseId::WindowsLockHeld => vec![
            wait("A Kudu process holds the lock; a running deployment releases it when done."),
            Recommendation::RestartKudu,
            Recommendation::TargetedCleanup,
        ],
        CauseId::ParallelDeployments
        | CauseId::ClientSelfCollision
        | CauseId::CancelledThenRetried => vec![pipeline()],
        CauseId::SessionExpired => vec![Recommendation::SignIn],
        CauseId::PartialDeploy | CauseId::RestartRacedDeployment => {
            vec![Recommendation::Redeploy {
                advice: "The previous deployment is over; deploy again.".to_string(),
            }]
        }
        CauseId::FlexConsumption => vec![
            wait("Flex Consumption refuses a deployment while another is in progress."),
            pipeline(),
        ],
        CauseId::SiteOperationInProgress => vec![
            wait("Another operation on the site (a swap, a restart, an update) is still running."),
            pipeline(),
        ],
        CauseId::NoAvailableInstances => vec![Recommendation::Redeploy {
            advice: "Azure had no instance free; retry in a few minutes.".to_string(),
        }],
        CauseId::Healthy | CauseId::NoLockFound => vec![],
    }
}

/// What a plan step does, in a few words.
pub fn step_title(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Backup => "Back up",
        StepKind::DeleteFile => "Delete a file",
        StepKind::DeleteDir => "Delete a folder",
        StepKind::RestartKudu => "Restart Kudu",
        StepKind::RestartAppWorker => "Restart the app worker",
        StepKind::Verify => "Check again",
    }
}

/// A precondition as a sentence: what is re-checked right before the step runs.
pub fn describe_precondition(precondition: &Precondition) -> String {
    match precondition {
        Precondition::None => "Nothing to re-check.".to_string(),
        Precondition::LockUnchanged {
            holder_operation,
            acquired,
        } => match (holder_operation, acquired) {
            (Some(holder), Some(at)) => format!(
                "The lock is still held by \u{201c}{holder}\u{201d} since {}.",
                crate::time_text::date_time_utc(*at)
            ),
            (Some(holder), None) => format!("The lock is still held by \u{201c}{holder}\u{201d}."),
            _ => "The lock has not changed hands.".to_string(),
        },
        Precondition::NotDeploying => "No deployment is in progress.".to_string(),
        Precondition::LatestUnchanged { id, status } => format!(
            "The newest deployment is still {} with status {status}.",
            id.as_deref().unwrap_or("the same one")
        ),
        Precondition::StillListed {
            dir,
            name,
            modified,
        } => match modified {
            Some(at) => format!(
                "{name} is still listed in {dir}, last modified {}.",
                crate::time_text::date_time_utc(*at)
            ),
            None => format!("{name} is still listed in {dir}."),
        },
        Precondition::BackupVerified => "The backup was downloaded and checked.".to_string(),
        Precondition::LogUnchanged {
            deployment_id,
            last_line,
        } => match last_line {
            Some(at) => format!(
                "The log of deployment {deployment_id} has still nothing after {}.",
                crate::time_text::date_time_utc(*at)
            ),
            None => format!("The log of deployment {deployment_id} is still empty."),
        },
        Precondition::BuildCpuUnchanged { pid, label, .. } => {
            format!("{label} (process {pid}) has used no CPU since the diagnosis.")
        }
        Precondition::All(all) => all
            .iter()
            .map(describe_precondition)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use kudu_core::{Confidence, Timestamp};

    use super::*;

    fn finding(cause: CauseId, recommendations: Vec<Recommendation>) -> Finding {
        Finding {
            cause,
            confidence: Confidence::High,
            summary: String::new(),
            evidence: vec![],
            recommendations,
        }
    }

    #[test]
    fn the_core_order_is_sorted_into_runbook_order() {
        let steps = runbook(&finding(
            CauseId::StaleLock,
            vec![
                Recommendation::TargetedCleanup,
                Recommendation::RestartApp,
                Recommendation::Wait {
                    until: None,
                    reason: "r".into(),
                },
            ],
        ));
        let ranks: Vec<u8> = steps.iter().map(rank).collect();
        assert_eq!(ranks, vec![1, 6, 7]);
    }

    #[test]
    fn known_causes_without_recommendations_get_their_usual_path() {
        let steps = runbook(&finding(CauseId::ParallelDeployments, vec![]));
        assert!(matches!(steps[..], [Recommendation::FixPipeline { .. }]));
        let steps = runbook(&finding(CauseId::StaleLock, vec![]));
        assert!(matches!(
            steps.last(),
            Some(Recommendation::TargetedCleanup)
        ));
        assert!(runbook(&finding(CauseId::Healthy, vec![])).is_empty());
    }

    #[test]
    fn preconditions_read_as_sentences() {
        let text = describe_precondition(&Precondition::All(vec![
            Precondition::LockUnchanged {
                holder_operation: Some("Performing zip deployment".into()),
                acquired: Some(Timestamp::from_unix_millis(1_764_165_909_000)),
            },
            Precondition::NotDeploying,
        ]));
        assert_eq!(
            text,
            "The lock is still held by \u{201c}Performing zip deployment\u{201d} since \
             2025-11-26 14:05 UTC. No deployment is in progress."
        );
    }
}
