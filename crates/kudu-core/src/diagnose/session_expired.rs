// Cause: session-expired
//
// What it is: the SCM site answered with a sign-in page, 401/403 or a redirect where it should
// have sent data, so your sign-in to Kudu has expired.
// How we know: a JSON endpoint returned HTML or an authentication error.
// What to do: open the SCM site in a tab and sign in again, then run Kudu Doctor again. Nothing
// else can be judged until then, so this comes first.

//! Detects an expired SCM sign-in from replies the parser marked as session-expired.

use crate::diagnose::context::Context;
use crate::diagnose::{CauseId, Confidence, Evidence, Finding, Recommendation};
use crate::session::Observed;

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let s = ctx.session;
    let expired = |o: bool, name: &str| o.then(|| name.to_string());
    let core = [
        expired(is_expired(&s.deployments), "/api/deployments"),
        expired(is_expired(&s.locks_dir), "/api/vfs/site/locks/"),
    ];
    let rest = [
        expired(is_expired(&s.latest), "/api/deployments/latest"),
        expired(is_expired(&s.is_deploying), "/api/isdeploying"),
        expired(
            is_expired(&s.info_lock),
            "/api/vfs/site/locks/deployment/info.lock",
        ),
        expired(is_expired(&s.deployments_dir), "/api/vfs/site/deployments/"),
        expired(is_expired(&s.wwwroot_dir), "/api/vfs/site/wwwroot/"),
        expired(is_expired(&s.environment), "/api/environment"),
    ];
    let settings = s
        .settings
        .iter()
        .filter(|(_, o)| is_expired(o))
        .map(|(k, _)| format!("/api/settings/{k}"));
    let logs = s
        .logs
        .iter()
        .filter(|(_, o)| is_expired(o))
        .map(|(id, _)| format!("/api/deployments/{id}/log"));
    let core_expired = core.iter().any(Option::is_some);
    let endpoints: Vec<String> = core
        .into_iter()
        .chain(rest)
        .flatten()
        .chain(settings)
        .chain(logs)
        .collect();
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

fn is_expired<T>(o: &Observed<T>) -> bool {
    matches!(o, Observed::SessionExpired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

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
