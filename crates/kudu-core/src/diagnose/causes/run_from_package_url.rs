// Cause: run-from-package-url
//
// What it is: WEBSITE_RUN_FROM_PACKAGE (or WEBSITE_RUN_FROM_ZIP / WEBSITE_USE_ZIP) points at a
// URL, so the app runs straight from that package and Kudu refuses every push deployment with
// 409 "Run-From-Zip is set to a remote URL". Retrying, waiting or clearing locks never helps.
// How we know: the setting's value starts with http:// or https://, or a 409 body says so.
// What to do: remove the setting or set it to 1 and deploy again, or keep the URL and publish
// by uploading a new package to it.

//! Detects a run-from-package setting that points at a URL (a permanent 409).

use crate::diagnose::facts::context::Context;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::RunFromPackageUrl,
    rank: Rank::Fixed(2),
    claims: &[Claim::DeploymentsBlocked],
    ends_by_itself: false,
    relies_on_core_reads: false,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let key = ctx.run_from_package_url_key()?;
    let url_setting = ctx.run_from_package_url_setting();
    let body = ctx.run_from_package_refusal();
    let mut evidence = vec![];
    if let Some((key, value)) = url_setting {
        evidence.push(Evidence::new(
            &format!("/api/settings/{key}"),
            format!(
                "{key} is set to a URL ({}), so the app runs from that package and Kudu refuses \
                 push deployments.",
                redact(value)
            ),
        ));
    }
    if let Some((_, status, text)) = body {
        evidence.push(Evidence::new(
            "409 body",
            format!("Kudu answered {status}: \"{}\"", excerpt(text)),
        ));
    }
    Some(Finding {
        cause: CauseId::RunFromPackageUrl,
        confidence: Confidence::High,
        summary: format!(
            "{key} points at a URL, so every deployment through Kudu gets 409 and no amount of \
             waiting, restarting or lock clearing changes that."
        ),
        evidence,
        recommendations: vec![Recommendation::ChangeSetting {
            key: key.to_string(),
            advice: format!(
                "Remove {key} or set it to 1, then deploy again; or keep the URL and publish by \
                 uploading the new package to it. Do not clear locks: they are not the cause."
            ),
        }],
    })
}

/// Scheme, host and path only: a blob URL's query string is usually a SAS token (a secret).
fn redact(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let base: String = url[..cut].chars().take(80).collect();
    if cut < url.len() {
        format!("{base}?… (query hidden)")
    } else {
        base
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    #[test]
    fn a_url_setting_is_found_and_its_secret_hidden() {
        let s = Site::linux()
            .setting(
                "WEBSITE_RUN_FROM_PACKAGE",
                "https://store.blob.core.windows.net/pkgs/app.zip?sv=2024&sig=SECRET",
            )
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        let fact = &f.evidence[0].fact;
        assert!(
            fact.contains("https://store.blob.core.windows.net/pkgs/app.zip"),
            "{fact}"
        );
        assert!(!fact.contains("SECRET"), "{fact}");
        assert!(
            matches!(&f.recommendations[0], Recommendation::ChangeSetting { key, .. } if key == "WEBSITE_RUN_FROM_PACKAGE")
        );
    }

    #[test]
    fn a_409_body_alone_is_enough() {
        let mut s = Site::windows().build();
        s.lock_errors.push((
            crate::reads::ReadId::Deployments,
            409,
            "Run-From-Zip is set to a remote URL using WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration.".into(),
        ));
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_some());
    }

    #[test]
    fn run_from_package_1_is_not_a_url() {
        let s = Site::linux()
            .setting("WEBSITE_RUN_FROM_PACKAGE", "1")
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
