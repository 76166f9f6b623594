//! Site shapes from the field (issue 18, items 3 and 5), in real Chromium with the extension
//! loaded against the simulator: a Flex Consumption app is named from its deployment records
//! alone, read as Linux, and offered nothing to delete; a failed deploy's two build outputs name
//! the stale archive.

use kudu_e2e::cleanup_support::cleanup_sim_config;
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};

const SCM: &str = "myapp.scm.azurewebsites.net";

async fn shadow_text(e2e: &E2e, selector: &str) -> anyhow::Result<String> {
    let text = e2e
        .in_shadow(&format!(
            "return [...(root?.querySelectorAll({selector:?}) ?? [])].map(e => e.textContent).join('\\n');"
        ))
        .await?;
    Ok(text.as_str().unwrap_or_default().to_string())
}

/// `flex-consumption`: VFS and isdeploying answer 404 there, the records carry `remoteBuild`,
/// and the newest publish was recorded Conflict (5) while Core Tools' build runs. The wizard
/// says what it is and that the lock files do not apply, and offers no cleanup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flex_consumption_app_is_named_from_its_records_and_offered_nothing_to_delete()
-> anyhow::Result<()> {
    run(
        "site-shapes-flex-consumption",
        cleanup_sim_config("flex-consumption", Personality::Linux)?,
        |e2e| async move {
            e2e.goto(&site_url(SCM, "/")).await?;
            e2e.wait_for_launcher_state("flex-consumption").await?;
            e2e.open_wizard().await?;
            e2e.shadow_element("[data-testid=guide][data-for-cause=\"flex-consumption\"]")
                .await?;
            let diagnosis = shadow_text(&e2e, "[data-testid=diagnosis]").await?;
            assert!(diagnosis.contains("on Linux"), "{diagnosis}");
            let finding = shadow_text(&e2e, "[data-cause=flex-consumption]").await?;
            assert!(
                finding.contains("was cancelled because another"),
                "{finding}"
            );
            assert!(finding.contains("do not apply"), "{finding}");
            let cleanup = e2e
                .in_shadow("return root?.querySelectorAll('[data-testid=cleanup]').length ?? 0;")
                .await?;
            assert_eq!(cleanup.as_u64(), Some(0), "no cleanup button");
            Ok(())
        },
    )
    .await
}

/// `two-outputs`: a failed build wrote output.tar.zst beside the older build's output.tar.gz
/// (Azure/app-service-linux-docs#263). The finding names the stale archive and says to remove
/// it by hand: Kudu Doctor never touches wwwroot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_build_outputs_name_the_stale_archive() -> anyhow::Result<()> {
    run(
        "site-shapes-two-outputs",
        cleanup_sim_config("two-outputs", Personality::Linux)?,
        |e2e| async move {
            e2e.goto(&site_url(SCM, "/")).await?;
            let state = e2e.settled_launcher_state().await?;
            assert_eq!(state, "partial-deploy");
            e2e.open_wizard().await?;
            e2e.shadow_element("[data-testid=guide][data-for-cause=\"partial-deploy\"]")
                .await?;
            let finding = shadow_text(&e2e, "[data-cause=partial-deploy]").await?;
            assert!(
                finding.contains("output.tar.gz from") && finding.contains("is stale"),
                "{finding}"
            );
            let guide = shadow_text(&e2e, "[data-testid=guide]").await?;
            assert!(guide.contains("site/wwwroot/output.tar.gz"), "{guide}");
            Ok(())
        },
    )
    .await
}
