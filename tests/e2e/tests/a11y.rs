//! Automated accessibility check: axe-core (npm, installed by `cargo xtask test`) injected into
//! real Chromium and run over the loader's shadow host in each main state of the wizard, in the
//! light and the dark colour scheme. Any serious or critical violation fails the test and names
//! the element; minor and moderate ones are printed.
//!
//! Two browsers, one per group of states, each walking its states in one session: the
//! simulator loads the next scenario and the page is opened again.

use kudu_e2e::a11y_support::{AxeScope, ColorScheme, assert_accessible, set_color_scheme};
use kudu_e2e::cleanup_support::{
    backup_awaiting_confirmation, cleanup_outcome, cleanup_sim_config, give_word_if_asked,
    user_click,
};
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};
use serde_json::json;

const SCM: &str = "myapp.scm.azurewebsites.net";

/// Tall enough that the drawer shows most of a state at once: axe checks the contrast of what
/// is on screen.
const WINDOW: (u32, u32) = (1280, 2400);

/// Checks the current state in both colour schemes, ending in the light one.
async fn check_both_schemes(e2e: &E2e, state: &str, min_buttons: usize) -> anyhow::Result<()> {
    check_scope_in_both_schemes(e2e, AxeScope::Loader, state, min_buttons).await
}

async fn check_scope_in_both_schemes(
    e2e: &E2e,
    scope: AxeScope,
    state: &str,
    min_buttons: usize,
) -> anyhow::Result<()> {
    for scheme in ColorScheme::BOTH {
        set_color_scheme(e2e, scheme).await?;
        let state = format!("{state} ({})", scheme.name());
        assert_accessible(e2e, scope, &state, min_buttons).await?;
    }
    set_color_scheme(e2e, ColorScheme::Light).await
}

async fn is_open(e2e: &E2e) -> anyhow::Result<bool> {
    let open = e2e
        .in_shadow("return root?.querySelector('[data-testid=kudu-doctor]')?.getAttribute('data-open') ?? null;")
        .await?;
    Ok(open == json!("true"))
}

/// Opens the SCM page, waits for the launcher to name `cause` and opens the wizard.
async fn diagnosed(e2e: &E2e, cause: &str) -> anyhow::Result<()> {
    e2e.goto(&site_url(SCM, "/")).await?;
    e2e.wait_for_launcher_state(cause).await?;
    if !is_open(e2e).await? {
        user_click(e2e, "[data-testid=launcher]").await?;
    }
    e2e.wait_for("the wizard to open", || async {
        Ok(is_open(e2e).await?.then_some(()))
    })
    .await
}

/// The check can fail: grey-on-white text put at the very end of a drawer taller than the
/// window (reached only by scrolling) fails it; the probe is removed again.
async fn caught_a_planted_contrast_failure_at_the_end(e2e: &E2e) -> anyhow::Result<()> {
    e2e.in_shadow(
        "const p = document.createElement('p');\n\
         p.id = 'kd-a11y-probe';\n\
         p.textContent = 'low contrast probe';\n\
         p.style.cssText = 'color: #c8c8c8; background: #ffffff; font-size: 14px;';\n\
         root.querySelector('.kd-body').append(p);",
    )
    .await?;
    let found = assert_accessible(e2e, AxeScope::Loader, "planted probe", 3).await;
    e2e.in_shadow("root.getElementById('kd-a11y-probe')?.remove();")
        .await?;
    let error = found
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("color-contrast") && error.contains("kd-a11y-probe"),
        "axe missed a planted contrast failure: {error:?}"
    );
    Ok(())
}

/// The same wizard as a whole page (the standalone page; the extension page, used when a site's
/// CSP keeps the app out of the Kudu page, has the same markup), where page-level rules
/// (language, title, landmarks) apply too. The loader injects on this SCM page as well: its
/// drawer is closed first so it does not cover the page.
async fn standalone_page(e2e: &E2e) -> anyhow::Result<()> {
    e2e.sim
        .load_scenario_as("stuck-linux", Personality::Linux)?;
    e2e.goto(&site_url(SCM, "/doctor/")).await?;
    e2e.page_element("#app [data-testid=guide][data-for-cause=stale-lock]")
        .await?;
    // The page hosts the app itself: the extension adds no launcher or drawer (issue 20).
    assert!(!e2e.has_loader_host().await?);
    check_scope_in_both_schemes(e2e, AxeScope::Page, "standalone page: stuck-linux", 3).await
}

/// Launcher closed on a healthy site, then the diagnosis open for a stuck site, a deployment
/// in progress, parallel deployments and an expired session, and the standalone page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnosis_states_have_no_serious_violations() -> anyhow::Result<()> {
    run(
        "a11y-diagnosis",
        cleanup_sim_config("healthy", Personality::Linux)?,
        |e2e| async move {
            e2e.client.set_window_size(WINDOW.0, WINDOW.1).await?;
            e2e.goto(&site_url(SCM, "/")).await?;
            // The probe finds it healthy: the launcher alone, no app loaded (issue 17).
            e2e.wait_for_launcher_state("ready").await?;
            assert!(
                !e2e.has_loader_host().await? || !is_open(&e2e).await?,
                "a healthy site keeps the wizard closed"
            );
            check_both_schemes(&e2e, "launcher closed", 1).await?;

            for (scenario, cause, ready) in [
                (
                    "stuck-linux",
                    "stale-lock",
                    "[data-testid=guide][data-for-cause=stale-lock]",
                ),
                (
                    "deploying",
                    "deployment-in-progress",
                    "[data-recommendation=wait]",
                ),
                (
                    "parallel",
                    "deployment-in-progress",
                    "[data-testid=guide][data-for-cause=deployment-in-progress]",
                ),
                (
                    "session-expired",
                    "session-expired",
                    "[data-testid=sign-in]",
                ),
            ] {
                e2e.sim.load_scenario_as(scenario, Personality::Linux)?;
                diagnosed(&e2e, cause).await?;
                e2e.shadow_element(ready).await?;
                check_both_schemes(&e2e, &format!("diagnosis open: {scenario}"), 3).await?;
                if scenario == "parallel" {
                    standalone_page(&e2e).await?;
                }
            }
            Ok(())
        },
    )
    .await
}

/// The cleanup plan, its confirmation, the result after a fixing run, and the full reset's
/// typed confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_states_have_no_serious_violations() -> anyhow::Result<()> {
    run(
        "a11y-cleanup",
        cleanup_sim_config("stuck-linux", Personality::Linux)?,
        |e2e| async move {
            e2e.client.set_window_size(WINDOW.0, WINDOW.1).await?;
            diagnosed(&e2e, "stale-lock").await?;
            user_click(&e2e, "[data-step=guide]").await?;
            e2e.shadow_element("[data-testid=plan] [data-testid=cleanup]")
                .await?;
            check_both_schemes(&e2e, "cleanup plan", 3).await?;
            caught_a_planted_contrast_failure_at_the_end(&e2e).await?;

            user_click(&e2e, "[data-testid=cleanup]").await?;
            e2e.shadow_element("[data-testid=confirm-panel]").await?;
            check_both_schemes(&e2e, "cleanup confirm", 3).await?;

            give_word_if_asked(&e2e).await?;

            user_click(&e2e, "[data-testid=confirm]").await?;
            // The run waits for the user's word that they hold the backup (issue 16).
            backup_awaiting_confirmation(&e2e, std::time::Duration::from_secs(120)).await?;
            check_both_schemes(&e2e, "cleanup waiting for the backup", 3).await?;
            let outcome = cleanup_outcome(&e2e, std::time::Duration::from_secs(120)).await?;
            assert_eq!(outcome, "fixed");
            // The run's closing read re-diagnoses the site; check the screen it settles on.
            e2e.wait_for_launcher_state("healthy").await?;
            check_both_schemes(&e2e, "cleanup result: fixed", 3).await?;

            e2e.sim
                .load_scenario_as("stuck-linux", Personality::Linux)?;
            diagnosed(&e2e, "stale-lock").await?;
            user_click(&e2e, "[data-testid=full-reset-section] summary").await?;
            user_click(&e2e, "[data-testid=full-reset]").await?;
            e2e.shadow_element("[data-testid=full-reset-name]").await?;
            check_both_schemes(&e2e, "full reset confirm", 3).await?;
            Ok(())
        },
    )
    .await
}
