//! One verdict the user can trust (issue 15), in real Chromium with the extension loaded: from
//! the first answer shown to the last, the launcher names the settled cause and nothing else
//! (`checking` until then), a live build is never called hung, and the cleanup asks for the
//! user's word exactly where only silence says a deployment stopped.
//!
//! Every launcher state is recorded in the page by a main-world observer installed before the
//! page loads, so a state that shows for a moment is seen too.

use std::time::Duration;

use kudu_e2e::cleanup_support::{cleanup_sim_config, user_click};
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};
use serde_json::{Value, json};

const SCM: &str = "myapp.scm.azurewebsites.net";

/// Records every `data-state` the launcher takes, in order.
const STATES: &str = r#"
(() => {
  const seen = (window.__kuduStates = []);
  const watch = (host) => {
    const launcher = host.shadowRoot?.querySelector('[data-testid="launcher"]');
    if (!launcher) return false;
    const note = () => {
      const s = launcher.dataset.state;
      if (seen[seen.length - 1] !== s) seen.push(s);
    };
    note();
    new MutationObserver(note).observe(launcher, { attributes: true, attributeFilter: ["data-state"] });
    return true;
  };
  new MutationObserver((_, observer) => {
    const host = document.getElementById("kudu-doctor-host");
    if (host && watch(host)) observer.disconnect();
  }).observe(document, { childList: true, subtree: true });
})();
"#;

/// Opens the SCM page with the state recorder installed, and waits for `cause`.
async fn open(e2e: &E2e, cause: &str) -> anyhow::Result<()> {
    e2e.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": STATES }),
    )
    .await?;
    e2e.goto(&site_url(SCM, "/")).await?;
    e2e.wait_for_launcher_state(cause).await
}

/// Every launcher state so far, in order.
async fn states(e2e: &E2e) -> anyhow::Result<Vec<String>> {
    let value = e2e
        .client
        .execute("return window.__kuduStates ?? null;", vec![])
        .await?;
    Ok(serde_json::from_value::<Option<Vec<String>>>(value)?.unwrap_or_default())
}

/// The states shown, with `checking` (and the loader's first state) left out: what the user
/// read as the answer.
fn answers(states: &[String]) -> Vec<&str> {
    states
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "checking" && *s != "probing")
        .collect()
}

async fn shadow_count(e2e: &E2e, selector: &str) -> anyhow::Result<u64> {
    let n = e2e
        .in_shadow(&format!(
            "return root?.querySelectorAll({selector:?}).length ?? 0;"
        ))
        .await?;
    Ok(n.as_u64().unwrap_or_default())
}

/// Opens the wizard (if it did not open by itself) and the cleanup's confirmation.
async fn open_confirmation(e2e: &E2e, cause: &str) -> anyhow::Result<()> {
    e2e.open_wizard().await?;
    e2e.shadow_element(&format!("[data-testid=guide][data-for-cause=\"{cause}\"]"))
        .await?;
    user_click(e2e, "[data-testid=cleanup]").await?;
    e2e.shadow_element("[data-testid=confirm-panel]").await?;
    Ok(())
}

async fn confirm_disabled(e2e: &E2e) -> anyhow::Result<bool> {
    let disabled = e2e
        .in_shadow("return root?.querySelector('[data-testid=confirm]')?.disabled ?? null;")
        .await?;
    Ok(disabled == Value::Bool(true))
}

/// The hung deployment's log was silent 13 minutes: the first answer shown is the settled
/// one, never "in progress" first. Only silence says it stopped, so the cleanup waits for the
/// user's word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_site_shows_only_its_settled_cause_and_asks_for_the_users_word()
-> anyhow::Result<()> {
    run(
        "verdict-stuck-linux",
        cleanup_sim_config("stuck-linux", Personality::Linux)?,
        |e2e| async move {
            open(&e2e, "stale-lock").await?;
            let seen = states(&e2e).await?;
            assert_eq!(answers(&seen), ["stale-lock"], "states shown: {seen:?}");
            open_confirmation(&e2e, "stale-lock").await?;
            assert_eq!(
                shadow_count(&e2e, "[data-testid=ack-no-deployment]").await?,
                1
            );
            assert!(confirm_disabled(&e2e).await?, "no cleanup without the word");
            user_click(&e2e, "[data-testid=ack-no-deployment]").await?;
            assert!(!confirm_disabled(&e2e).await?, "the word enables it");
            Ok(())
        },
    )
    .await
}

/// Kudu restarted after the lock was taken: strong evidence, so the cleanup is offered as it
/// is, without the acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_outlived_by_a_kudu_restart_is_stale_on_strong_evidence() -> anyhow::Result<()> {
    run(
        "verdict-restarted-holder",
        cleanup_sim_config("restarted-holder", Personality::Linux)?,
        |e2e| async move {
            open(&e2e, "stale-lock").await?;
            let seen = states(&e2e).await?;
            assert_eq!(answers(&seen), ["stale-lock"], "states shown: {seen:?}");
            open_confirmation(&e2e, "stale-lock").await?;
            assert_eq!(
                shadow_count(&e2e, "[data-testid=ack-no-deployment]").await?,
                0
            );
            assert!(!confirm_disabled(&e2e).await?);
            Ok(())
        },
    )
    .await
}

/// A build that outlives the Linux lock's 25 minutes (or a quiet one, silent 8 minutes) and a
/// Windows one alike: in progress from the first answer to the last, across polls, with no
/// cleanup offered and no stale lock claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_build_is_in_progress_from_the_first_answer_to_the_last() -> anyhow::Result<()> {
    for (scenario, personality) in [
        ("long-build", Personality::Linux),
        ("long-build", Personality::Windows),
        ("quiet-build", Personality::Linux),
    ] {
        let name = format!("verdict-{scenario}-{personality:?}").to_lowercase();
        run(
            &name,
            cleanup_sim_config(scenario, personality)?,
            |e2e| async move {
                open(&e2e, "deployment-in-progress").await?;
                // Two polls later (every 5 s while busy) it is still the same answer.
                tokio::time::sleep(Duration::from_secs(11)).await;
                let seen = states(&e2e).await?;
                assert_eq!(
                    answers(&seen),
                    ["deployment-in-progress"],
                    "{scenario}: states shown: {seen:?}"
                );
                assert_eq!(shadow_count(&e2e, "[data-testid=cleanup]").await?, 0);
                assert_eq!(
                    shadow_count(&e2e, "[data-cause=stale-lock]").await?,
                    0,
                    "{scenario}: no stale lock beside a live build"
                );
                Ok(())
            },
        )
        .await?;
    }
    Ok(())
}

/// Windows, with the simulator's clock following the wall clock so a build's CPU time moves
/// between the round's two reads of its processes.
fn windows_config(scenario: &str) -> anyhow::Result<kudu_e2e::kudu_sim::SimConfig> {
    Ok(kudu_e2e::kudu_sim::SimConfig {
        realtime: true,
        ..cleanup_sim_config(scenario, Personality::Windows)?
    })
}

/// A Windows build silent for 12 minutes, past the log silence that makes a holder look hung,
/// whose npm keeps using CPU: the round watches its processes and settles on "in progress",
/// the first answer shown and the last, with no cleanup offered and no stale lock claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_windows_build_whose_npm_uses_cpu_is_in_progress() -> anyhow::Result<()> {
    run(
        "verdict-quiet-build-windows",
        windows_config("quiet-build")?,
        |e2e| async move {
            open(&e2e, "deployment-in-progress").await?;
            // A poll later (every 5 s while busy, plus the 5 s between process reads) it is
            // still the same answer.
            tokio::time::sleep(Duration::from_secs(12)).await;
            let seen = states(&e2e).await?;
            assert_eq!(
                answers(&seen),
                ["deployment-in-progress"],
                "states shown: {seen:?}"
            );
            assert_eq!(shadow_count(&e2e, "[data-testid=cleanup]").await?, 0);
            assert_eq!(shadow_count(&e2e, "[data-cause=stale-lock]").await?, 0);
            Ok(())
        },
    )
    .await
}

/// A Windows build hung 14 minutes ago whose npm uses no CPU: still only weak evidence, so the
/// settled cause is the held lock from the first answer on, and the cleanup waits for the
/// user's word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_windows_build_whose_npm_uses_no_cpu_asks_for_the_users_word() -> anyhow::Result<()>
{
    run(
        "verdict-stuck-windows",
        windows_config("stuck-windows")?,
        |e2e| async move {
            open(&e2e, "windows-lock-held").await?;
            let seen = states(&e2e).await?;
            assert_eq!(
                answers(&seen),
                ["windows-lock-held"],
                "states shown: {seen:?}"
            );
            open_confirmation(&e2e, "windows-lock-held").await?;
            assert_eq!(
                shadow_count(&e2e, "[data-testid=ack-no-deployment]").await?,
                1
            );
            assert!(confirm_disabled(&e2e).await?, "no cleanup without the word");
            Ok(())
        },
    )
    .await
}
