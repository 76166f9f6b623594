//! Short plain-words titles for `kudu-core`'s cause ids. The core writes the site-specific
//! summary; these are the headlines above it.

use kudu_core::CauseId;

/// A headline for a cause, e.g. "A deployment is in progress".
pub fn cause_title(cause: CauseId) -> &'static str {
    match cause {
        CauseId::AutoswapInProgress => "An auto swap is in progress",
        CauseId::CancelledThenRetried => "A cancelled deployment was retried too soon",
        CauseId::ClientSelfCollision => "Your deploy tool collided with itself",
        CauseId::DeploymentInProgress => "A deployment is in progress",
        CauseId::FlexConsumption => "A Flex Consumption app: Kudu's lock does not apply",
        CauseId::Healthy => "Nothing blocks a deployment",
        CauseId::NoAvailableInstances => "Azure had no instance available",
        CauseId::NoLockFound => "No lock found",
        CauseId::ParallelDeployments => "Two deployments ran at the same time",
        CauseId::PartialDeploy => "The last deployment only partly succeeded",
        CauseId::RestartRacedDeployment => "A restart interrupted a deployment",
        CauseId::RunFromPackageUrl => "The site runs from a package URL",
        CauseId::ScanUnderway => "A scan of the deployed files is underway",
        CauseId::SessionExpired => "Your SCM session has expired",
        CauseId::SiteOperationInProgress => "Another operation on the site was in progress",
        CauseId::StaleLock => "A stale deployment lock blocks deployments",
        CauseId::StatusLockDenied => "Kudu cannot open its status lock",
        CauseId::WindowsLockHeld => "Kudu holds the deployment lock",
    }
}

/// The confidence as a word for the badge.
pub fn confidence_word(confidence: kudu_core::Confidence) -> &'static str {
    match confidence {
        kudu_core::Confidence::High => "high",
        kudu_core::Confidence::Medium => "medium",
        kudu_core::Confidence::Low => "low",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_a_distinct_title() {
        let mut titles: Vec<&str> = CauseId::ALL.iter().map(|c| cause_title(*c)).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), CauseId::ALL.len());
    }
}
