// Cause: status-lock-denied
//
// What it is: Kudu cannot open site/locks/status.lock (wrong owner or permissions, typically
// after the file was created as root over SSH), so every read and write of a deployment's
// status fails and deployments hang or fail. The file itself existing is normal on Linux.
// How we know: a Kudu reply says "Access to the path '/home/site/locks/status.lock' is denied",
// or that 'Getting deployment status' conflicts with a pending operation.
// What to do: let Kudu Doctor back up and delete status.lock (Kudu recreates it with the right
// owner), then deploy again.

//! Detects a `status.lock` Kudu is denied access to.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::predicates::{says_status_lock_denied, status_lock_denied_message};
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::StatusLockDenied,
    rank: Rank::Fixed(6),
    claims: &[Claim::DeploymentsBlocked],
    ends_by_itself: false,
    relies_on_core_reads: false,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let text = status_lock_denied_message(ctx.session)?;
    let denied = says_status_lock_denied(text);
    Some(Finding {
        cause: CauseId::StatusLockDenied,
        confidence: if denied {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: if denied {
            "Kudu is denied access to site/locks/status.lock, so it cannot read or write any \
             deployment's status; deployments hang until the file is deleted."
                .into()
        } else {
            "Kudu's deployment status reads time out waiting for site/locks/status.lock, which \
             usually means Kudu cannot take that file (wrong owner or permissions)."
                .into()
        },
        evidence: vec![Evidence::new(
            "Kudu reply",
            format!(
                "Kudu said: \"{}\"",
                text.chars().take(240).collect::<String>()
            ),
        )],
        recommendations: vec![
            Recommendation::TargetedCleanup,
            Recommendation::Redeploy {
                advice: "Deploy again once status.lock is gone; Kudu recreates it with the right \
                         owner."
                    .into(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::reads::ReadId;

    #[test]
    fn access_denied_on_status_lock_is_found() {
        let mut s = Site::linux().build();
        s.lock_errors.push((
            ReadId::Deployments,
            500,
            "Access to the path '/home/site/locks/status.lock' is denied.".into(),
        ));
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.recommendations[0], Recommendation::TargetedCleanup);
    }

    #[test]
    fn a_status_read_conflict_is_medium() {
        let mut s = Site::linux().build();
        s.lock_errors.push((
            ReadId::Latest,
            409,
            "The 'Getting deployment status' operation conflicts with the pending 'Updating deployment status' operation started at 11/26/2026 11:59:00.  Please retry operation later.".into(),
        ));
        assert_eq!(
            detect(&Context::new(&s, at(12, 0, 0))).unwrap().confidence,
            Confidence::Medium
        );
    }

    #[test]
    fn a_listed_status_lock_alone_is_normal() {
        let s = Site::linux().build();
        assert!(
            s.locks_dir
                .value()
                .unwrap()
                .iter()
                .any(|e| e.name == "status.lock")
        );
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
