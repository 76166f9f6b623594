// Cause: session-expired
//
// What it is: the SCM site answered with a sign-in page, 401/403 or a redirect where it should
// have sent data, so your sign-in to Kudu has expired.
// How we know: a JSON endpoint returned HTML or an authentication error.
// What to do: open the SCM site in a tab and sign in again, then run Kudu Doctor again. Nothing
// else can be judged until then, so this comes first.

//! Detects an expired SCM sign-in from replies the parser marked as session-expired.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::SessionExpired,
    rank: Rank::Fixed(0),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: false,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let (core_expired, endpoints) = ctx.expired_reads();
    if endpoints.is_empty() {
        return None;
    }
    let evidence = endpoints
        .iter()
        .take(5)
        .map(|e| {
            Evidence::new(
                e,
                format!(
                    "{e} answered with a sign-in page or an authentication error instead of data."
                ),
            )
        })
        .collect();
    Some(Finding {
        cause: CauseId::SessionExpired,
        confidence: if core_expired {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: format!(
            "Your sign-in to the SCM site has expired: {} of Kudu Doctor's reads came back as a \
             sign-in page. Sign in again and re-run the diagnosis; nothing else can be judged \
             until then.",
            endpoints.len()
        ),
        evidence,
        recommendations: vec![Recommendation::SignIn],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::session::Observed;

    #[test]
    fn expired_deployment_list_is_high_confidence() {
        let mut s = Site::linux().build();
        s.deployments = Observed::SessionExpired;
        s.locks_dir = Observed::SessionExpired;
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.recommendations, vec![Recommendation::SignIn]);
        assert!(f.summary.contains("2 of"), "{}", f.summary);
    }

    #[test]
    fn one_expired_setting_read_is_medium() {
        let mut s = Site::linux().build();
        s.settings
            .insert("WEBSITE_USE_ZIP".into(), Observed::SessionExpired);
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::Medium);
    }

    #[test]
    fn failed_reads_are_not_an_expired_session() {
        let mut s = Site::linux().build();
        s.deployments = Observed::Failed {
            status: 500,
            reason: "boom".into(),
        };
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
