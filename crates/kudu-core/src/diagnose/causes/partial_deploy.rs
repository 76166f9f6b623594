// Cause: partial-deploy
//
// What it is: a deployment failed half way and left site/wwwroot holding only the uploaded
// artifact (such as output.tar.zst) and placeholders, so the app itself is down, not only
// blocked.
// How we know: wwwroot lists an archive plus nothing but placeholders (.ostype,
// hostingstart.html), with no Oryx manifest that would make the archive legitimate.
// What to do: clear whatever blocks deployments first, then deploy again so wwwroot is
// rebuilt; restart the app afterwards.

//! Detects a wwwroot left holding only a deployment artifact.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};

/// Files a wwwroot may hold without containing an app.
const PLACEHOLDERS: [&str; 2] = [".ostype", "hostingstart.html"];

fn is_archive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        ".zip", ".tar", ".tar.gz", ".tgz", ".tar.zst", ".war", ".jar",
    ]
    .iter()
    .any(|ext| n.ends_with(ext))
}

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::PartialDeploy,
    rank: Rank::Fixed(9),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let entries = ctx.session.wwwroot_dir.value()?;
    let archives: Vec<&str> = entries
        .iter()
        .filter(|e| !e.is_dir && is_archive(&e.name))
        .map(|e| e.name.as_str())
        .collect();
    let only_artifact = !archives.is_empty()
        && entries.iter().all(|e| {
            !e.is_dir
                && (is_archive(&e.name)
                    || PLACEHOLDERS.iter().any(|p| e.name.eq_ignore_ascii_case(p)))
        });
    if !only_artifact {
        return None;
    }
    let newest = ctx.newest();
    let after_failure = newest.is_some_and(|d| d.status.is_unsuccessful_end() || !d.complete);
    let mut evidence = vec![Evidence::new(
        "/api/vfs/site/wwwroot/",
        format!(
            "site/wwwroot lists only {}: the archive was never unpacked into an app.",
            entries
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )];
    if let Some(d) = newest.filter(|_| after_failure) {
        evidence.push(Evidence::new(
            "/api/deployments",
            format!(
                "The newest deployment, {}, is '{}'.",
                ctx.describe(d),
                d.status.as_str()
            ),
        ));
    }
    Some(Finding {
        cause: CauseId::PartialDeploy,
        confidence: if after_failure {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: format!(
            "A deployment stopped half way: site/wwwroot holds only {} and no app, so the site is \
             down until a deployment completes.",
            archives.join(", ")
        ),
        evidence,
        recommendations: vec![
            Recommendation::Redeploy {
                advice: "Once nothing blocks deployments, deploy again so wwwroot is rebuilt."
                    .into(),
            },
            Recommendation::RestartApp,
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;

    #[test]
    fn only_the_artifact_after_a_failure_is_a_partial_deploy() {
        let s = Site::linux()
            .deployment(deployment(
                "f1f1",
                DeployStatus::Failed,
                "GITHUB_ONE_DEPLOY",
                at(11, 0, 0),
                Some(at(11, 3, 0)),
            ))
            .wwwroot(vec![
                file(".ostype", at(11, 0, 0)),
                file("hostingstart.html", at(8, 0, 0)),
                file("output.tar.zst", at(11, 2, 0)),
            ])
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(f.summary.contains("output.tar.zst"), "{}", f.summary);
    }

    #[test]
    fn an_oryx_compressed_build_is_legitimate() {
        let s = Site::linux()
            .wwwroot(vec![
                file("output.tar.gz", at(11, 2, 0)),
                file("oryx-manifest.toml", at(11, 2, 0)),
            ])
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn a_fresh_app_with_only_the_placeholder_is_not_partial() {
        let s = Site::linux()
            .wwwroot(vec![file("hostingstart.html", at(8, 0, 0))])
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
