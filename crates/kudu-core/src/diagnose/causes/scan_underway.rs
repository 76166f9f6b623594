// Cause: scan-underway
//
// What it is: on Linux a malware scan of the site takes the same lock as a deployment, so
// deployments get 409 while it runs.
// How we know: /api/isdeploying says True with the message "Scan Underway", or info.lock is
// held by a scan operation.
// What to do: wait for the scan to finish (the lock expires by itself at the latest), then
// deploy again. Do not delete the lock while a scan is running.

//! Detects a malware scan holding the Linux deployment lock.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::wording::relative;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::ScanUnderway,
    rank: Rank::Fixed(4),
    claims: &[Claim::DeploymentsBlocked, Claim::SomethingRunning],
    ends_by_itself: true,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let by_isdeploying = ctx.scan_underway();
    let by_holder = ctx
        .lock
        .holder_operation
        .as_deref()
        .filter(|op| op.to_ascii_lowercase().contains("scan"));
    if !by_isdeploying && by_holder.is_none() {
        return None;
    }
    let mut evidence = vec![];
    if by_isdeploying {
        evidence.push(Evidence::new(
            "/api/isdeploying",
            "/api/isdeploying says True with the message 'Scan Underway'.".into(),
        ));
    }
    if let Some(op) = by_holder {
        evidence.push(Evidence::new(
            "site/locks/deployment/info.lock",
            format!("info.lock is held by '{op}'."),
        ));
    }
    let until = ctx.lock.expires.filter(|e| *e > ctx.now);
    Some(Finding {
        cause: CauseId::ScanUnderway,
        confidence: if by_isdeploying {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: match until {
            Some(u) => format!(
                "A malware scan holds the deployment lock; it is released when the scan ends, at \
                 the latest at {} ({}).",
                ctx.at(u),
                relative(u, ctx.now)
            ),
            None => "A malware scan holds the deployment lock; it is released when the scan ends."
                .into(),
        },
        evidence,
        recommendations: vec![Recommendation::Wait {
            until,
            reason: "Deploy again once /api/isdeploying says False.".into(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::IsDeploying;
    use crate::session::Observed;

    #[test]
    fn scan_underway_message_is_found() {
        let mut s = Site::linux()
            .linux_lock("Performing malware scan", at(11, 55, 0))
            .build();
        s.is_deploying = Observed::Value(IsDeploying {
            deploying: true,
            message: "Scan Underway".into(),
        });
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(f.summary.contains("12:20:00 UTC"), "{}", f.summary);
    }

    #[test]
    fn a_deployment_underway_is_not_a_scan() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
