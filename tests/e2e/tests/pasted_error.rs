//! Issue 18 in real Chromium with the extension loaded: the user's own error text ("Paste the
//! error you got") goes to the core with the site's replies, and Kudu's trace folder puts the
//! refused push on the timeline with the deployment that held the lock.

use kudu_e2e::cleanup_support::{cleanup_sim_config, push_zip, user_click};
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};
use serde_json::json;

const SCM: &str = "myapp.scm.azurewebsites.net";

const ARM_SWAP: &str = "Conflict (CODE: 409) Cannot modify this site because another operation is in progress. Details: Id: 4e8e, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM";

async fn count(e2e: &E2e, selector: &str) -> anyhow::Result<serde_json::Value> {
    e2e.in_shadow(&format!(
        "return root ? root.querySelectorAll({selector:?}).length : -1;"
    ))
    .await
}

/// An idle site, and the pipeline's log says ARM refused: the wizard names the slot swap, not
/// "no lock found", and says what it read the text as.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_arm_conflict_on_an_idle_site_is_its_own_cause() -> anyhow::Result<()> {
    for personality in [Personality::Linux, Personality::Windows] {
        let name = format!("pasted-arm-{personality:?}").to_lowercase();
        run(
            &name,
            cleanup_sim_config("healthy", personality)?,
            |e2e| async move {
                e2e.goto(&site_url(SCM, "/")).await?;
                assert_eq!(e2e.settled_launcher_state().await?, "healthy");
                e2e.open_wizard().await?;
                let text = e2e
                    .shadow_element("[data-testid=pasted-error-text]")
                    .await?;
                text.send_keys(ARM_SWAP).await?;
                user_click(&e2e, "[data-testid=pasted-error-submit]").await?;
                e2e.wait_for_launcher_state("site-operation-in-progress")
                    .await?;
                let kind = e2e
                    .shadow_element("[data-testid=pasted-error-kind]")
                    .await?;
                assert_eq!(
                    kind.attr("data-kind").await?.as_deref(),
                    Some("site-operation-in-progress")
                );
                assert!(kind.text().await?.contains("SwapSiteSlots"));
                assert_eq!(count(&e2e, "[data-cause=no-lock-found]").await?, json!(0));
                Ok(())
            },
        )
        .await?;
    }
    Ok(())
}

/// A push refused while a deployment runs: Kudu's own trace of it is on the timeline's lane of
/// marks, and its detail names the deployment that held the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_is_marked_on_the_timeline_with_its_holder() -> anyhow::Result<()> {
    run(
        "refused-push-mark",
        cleanup_sim_config("deploying", Personality::Linux)?,
        |e2e| async move {
            let refused = push_zip(&e2e.sim, 7).await?;
            assert_eq!(refused.status, 409, "{}", refused.body);
            e2e.goto(&site_url(SCM, "/")).await?;
            e2e.wait_for_launcher_state("deployment-in-progress").await?;
            e2e.open_wizard().await?;
            e2e.shadow_element("[data-testid=timeline-mark][data-mark=refused]")
                .await?;
            let summaries = e2e
                .in_shadow(
                    "return [...root.querySelectorAll('[data-testid=timeline-mark][data-mark=refused]')]\
                     .map(m => m.getAttribute('aria-label'));",
                )
                .await?;
            let text = summaries.to_string();
            assert!(
                text.contains("was refused with 409 while deployment"),
                "{text}"
            );
            Ok(())
        },
    )
    .await
}
