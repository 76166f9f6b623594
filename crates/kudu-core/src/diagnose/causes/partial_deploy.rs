// Cause: partial-deploy
//
// What it is: a deployment failed half way and left site/wwwroot holding only the uploaded
// artifact (such as output.tar.zst) and placeholders, so the app itself is down, not only
// blocked.
// How we know: wwwroot lists an archive plus nothing but placeholders (.ostype,
// hostingstart.html), with no Oryx manifest that would make the archive legitimate. Or wwwroot
// holds both output.tar.zst and output.tar.gz written at different times: a failed deploy left
// the new archive beside the old one, and the app can start from the stale one
// (Azure/app-service-linux-docs#263).
// What to do: clear whatever blocks deployments first, then deploy again so wwwroot is
// rebuilt; restart the app afterwards. With two archives, remove the stale one by hand first
// (Kudu Doctor never touches wwwroot).

//! Detects a wwwroot left holding only a deployment artifact.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::wording::clock;
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
    rank: Rank::Fixed(10),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

/// A half-written wwwroot is certain when the newest deployment failed or never completed:
/// that record joins the evidence and the finding is High; otherwise Medium.
fn add_failed_newest(ctx: &Context, evidence: &mut Vec<Evidence>) -> Confidence {
    let Some(d) = ctx
        .newest()
        .filter(|d| d.status.is_unsuccessful_end() || !d.complete)
    else {
        return Confidence::Medium;
    };
    evidence.push(Evidence::new(
        "/api/deployments",
        format!(
            "The newest deployment, {}, is '{}'.",
            ctx.describe(d),
            d.status.as_str()
        ),
    ));
    Confidence::High
}

/// The two compressed build outputs Oryx can leave in wwwroot (Azure/app-service-linux-docs#263).
const BUILD_OUTPUTS: [&str; 2] = ["output.tar.zst", "output.tar.gz"];

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let entries = ctx.session.wwwroot_dir.value()?;
    if let Some(finding) = detect_two_outputs(ctx, entries) {
        return Some(finding);
    }
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
    let confidence = add_failed_newest(ctx, &mut evidence);
    Some(Finding {
        cause: CauseId::PartialDeploy,
        confidence,
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

/// Both build outputs listed with different modified times: the older one is stale. Equal or
/// unknown times say nothing about which is stale, so they are no finding.
fn detect_two_outputs(ctx: &Context, entries: &[crate::model::VfsEntry]) -> Option<Finding> {
    let output = |name: &str| {
        entries
            .iter()
            .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case(name))
    };
    let (zst, gz) = (output(BUILD_OUTPUTS[0])?, output(BUILD_OUTPUTS[1])?);
    let (zst_time, gz_time) = (zst.modified?, gz.modified?);
    if zst_time == gz_time {
        return None;
    }
    let (stale, fresh) = if zst_time < gz_time {
        (zst, gz)
    } else {
        (gz, zst)
    };
    let clock = |e: &crate::model::VfsEntry| {
        e.modified
            .map(|t| clock(t, ctx.now))
            .unwrap_or_else(|| "an unknown time".into())
    };
    let mut evidence = vec![Evidence::new(
        "/api/vfs/site/wwwroot/",
        format!(
            "site/wwwroot lists {} (modified {}) and {} (modified {}).",
            fresh.name,
            clock(fresh),
            stale.name,
            clock(stale)
        ),
    )];
    let confidence = add_failed_newest(ctx, &mut evidence);
    Some(Finding {
        cause: CauseId::PartialDeploy,
        confidence,
        summary: format!(
            "A deployment stopped half way and left two build outputs in site/wwwroot: {} from \
             {} is stale beside {} from {}, and the app can start from the stale one.",
            stale.name,
            clock(stale),
            fresh.name,
            clock(fresh)
        ),
        evidence,
        recommendations: vec![
            Recommendation::Redeploy {
                advice: format!(
                    "Remove the stale site/wwwroot/{} by hand (Kudu Doctor never touches wwwroot), \
                     then, once nothing blocks deployments, deploy again.",
                    stale.name
                ),
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

    /// Azure/app-service-linux-docs#263: a failed deploy left the new output.tar.zst beside
    /// the old output.tar.gz (an Oryx manifest too, so the archive-only rule stays quiet).
    #[test]
    fn two_build_outputs_of_different_times_name_the_stale_one() {
        let s = Site::linux()
            .deployment(deployment(
                "f1f1",
                DeployStatus::Failed,
                "GITHUB_ONE_DEPLOY",
                at(11, 0, 0),
                Some(at(11, 3, 0)),
            ))
            .wwwroot(vec![
                file("oryx-manifest.toml", at(9, 0, 0)),
                file("output.tar.gz", at(9, 0, 0)),
                file("output.tar.zst", at(11, 2, 0)),
            ])
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(
            f.summary
                .contains("output.tar.gz from 09:00:00 UTC is stale"),
            "{}",
            f.summary
        );
        let Recommendation::Redeploy { advice } = &f.recommendations[0] else {
            panic!("{:?}", f.recommendations)
        };
        assert!(advice.contains("site/wwwroot/output.tar.gz"), "{advice}");
    }

    #[test]
    fn two_build_outputs_of_the_same_time_are_no_finding() {
        let s = Site::linux()
            .wwwroot(vec![
                file("oryx-manifest.toml", at(11, 2, 0)),
                file("output.tar.gz", at(11, 2, 0)),
                file("output.tar.zst", at(11, 2, 0)),
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
