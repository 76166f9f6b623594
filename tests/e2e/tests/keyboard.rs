//! Keyboard only: on a stuck Linux site, a user who never touches the mouse opens the wizard
//! from the launcher, moves to the cleanup step, opens the confirmation, confirms and gets a
//! fixed site, with Tab, Shift+Tab, Enter, Space and Escape sent as WebDriver key actions
//! (trusted input, as a real keyboard's). The buttons pressed show a visible focus ring, Escape
//! hands the focus back to the button that opened the confirmation, and after the run the focus
//! is on its result rather than lost.

use std::time::Duration;

use kudu_e2e::a11y_support::{Focused, focused, press, tab_until};
use kudu_e2e::cleanup_support::{cleanup_outcome, cleanup_sim_config, push_zip};
use kudu_e2e::fantoccini::key::Key;
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};
use serde_json::json;

const SCM: &str = "myapp.scm.azurewebsites.net";

/// Tab presses allowed to reach one target: the Kudu page's links, then every focusable thing
/// of the wizard (the timeline's bars among them).
const TABS: usize = 80;

async fn wizard_open(e2e: &E2e) -> anyhow::Result<bool> {
    let open = e2e
        .in_shadow("return root?.querySelector('[data-testid=kudu-doctor]')?.getAttribute('data-open') ?? null;")
        .await?;
    Ok(open == json!("true"))
}

/// Presses `key` and waits for the wizard to be open (`true`) or closed.
async fn press_and_wait_open(e2e: &E2e, key: Key, open: bool) -> anyhow::Result<()> {
    press(e2e, key, false).await?;
    e2e.wait_for(&format!("the wizard open = {open}"), || async {
        Ok((wizard_open(e2e).await? == open).then_some(()))
    })
    .await
}

/// The focused element draws a focus ring: an outline at least 2 px wide, not `none`.
async fn assert_focus_ring(e2e: &E2e, what: &str) -> anyhow::Result<()> {
    let ring = e2e
        .in_shadow(
            "const el = root?.activeElement; if (!el) return null;\n\
             const style = getComputedStyle(el);\n\
             return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };",
        )
        .await?;
    let style = ring["style"].as_str().unwrap_or("none");
    let width = ring["width"].as_f64().unwrap_or_default();
    assert!(
        style != "none" && width >= 2.0,
        "{what}: no visible focus ring ({ring})"
    );
    Ok(())
}

fn is(testid: &'static str) -> impl Fn(&Focused) -> bool {
    move |now| now.in_shadow && now.testid.as_deref() == Some(testid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_linux_is_fixed_with_the_keyboard_alone() -> anyhow::Result<()> {
    run(
        "keyboard-stuck-linux",
        cleanup_sim_config("stuck-linux", Personality::Linux)?,
        |e2e| async move {
            let refused = push_zip(&e2e.sim, 41).await?;
            assert_eq!(refused.status, 409, "the first push: {}", refused.body);

            e2e.goto(&site_url(SCM, "/")).await?;
            e2e.wait_for_launcher_state("stale-lock").await?;

            // From the top of the Kudu page, Tab reaches the launcher.
            tab_until(&e2e, "the launcher", false, TABS, is("launcher")).await?;
            assert_focus_ring(&e2e, "the launcher").await?;
            // A stuck site opens the wizard by itself without taking the focus; Enter on the
            // launcher closes it, Enter again opens it and moves the focus to its heading.
            if wizard_open(&e2e).await? {
                press_and_wait_open(&e2e, Key::Enter, false).await?;
            }
            press_and_wait_open(&e2e, Key::Enter, true).await?;
            let heading = e2e
                .wait_for("the focus on the wizard's heading", || async {
                    let now = focused(&e2e).await?;
                    Ok((now.in_shadow && now.tag == "h1").then_some(now))
                })
                .await?;
            assert_eq!(heading.text, "409 Doctor");

            // The step list: "What to do" moves the focus to the guide.
            tab_until(&e2e, "the What to do step", false, TABS, |now| {
                now.in_shadow && now.step.as_deref() == Some("guide")
            })
            .await?;
            assert_focus_ring(&e2e, "the What to do step").await?;
            press(&e2e, Key::Enter, false).await?;
            e2e.wait_for("the focus on the guide", || async {
                Ok(is("guide")(&focused(&e2e).await?).then_some(()))
            })
            .await?;

            // The cleanup button, then its confirmation, which takes the focus.
            tab_until(&e2e, "the cleanup button", false, TABS, is("cleanup")).await?;
            assert_focus_ring(&e2e, "the cleanup button").await?;
            press(&e2e, Key::Enter, false).await?;
            e2e.wait_for("the focus on the confirmation", || async {
                Ok(is("confirm-panel")(&focused(&e2e).await?).then_some(()))
            })
            .await?;
            // Escape closes the confirmation and gives the focus back to the cleanup button;
            // Space opens it again.
            press(&e2e, Key::Escape, false).await?;
            e2e.wait_for("the focus back on the cleanup button", || async {
                Ok(is("cleanup")(&focused(&e2e).await?).then_some(()))
            })
            .await?;
            press(&e2e, Key::Space, false).await?;
            e2e.wait_for("the focus on the confirmation again", || async {
                Ok(is("confirm-panel")(&focused(&e2e).await?).then_some(()))
            })
            .await?;
            // The holder is only silent: tick the user's word with Space, which enables
            // the confirm button.
            tab_until(
                &e2e,
                "the acknowledgement",
                false,
                10,
                is("ack-no-deployment"),
            )
            .await?;
            press(&e2e, Key::Space, false).await?;
            // Past the confirm button to Cancel, and back with Shift+Tab.
            tab_until(&e2e, "the confirm button", false, 10, is("confirm")).await?;
            tab_until(&e2e, "Cancel", false, 1, is("cancel")).await?;
            tab_until(&e2e, "the confirm button again", true, 1, is("confirm")).await?;
            assert_focus_ring(&e2e, "the confirm button").await?;
            press(&e2e, Key::Space, false).await?;

            // The backup is checked: the focus moves to "I have the backup", and Enter gives
            // the user's word that they hold it (the deletes wait for it).
            e2e.wait_for("the focus on the backup confirmation", || async {
                Ok(is("backup-saved")(&focused(&e2e).await?).then_some(()))
            })
            .await?;
            assert_focus_ring(&e2e, "the backup confirmation").await?;
            press(&e2e, Key::Enter, false).await?;
            e2e.wait_for("the run to take the word", || async {
                let gone = e2e
                    .in_shadow("return !root?.querySelector('[data-testid=backup-saved]');")
                    .await?;
                Ok((gone == json!(true)).then_some(()))
            })
            .await?;

            let outcome = cleanup_outcome(&e2e, Duration::from_secs(120)).await?;
            assert_eq!(outcome, "fixed");
            // The confirmation is gone; the focus is on the run and its result, not lost.
            e2e.wait_for("the focus on the cleanup run", || async {
                Ok(is("cleanup-run")(&focused(&e2e).await?).then_some(()))
            })
            .await?;
            let accepted = push_zip(&e2e.sim, 42).await?;
            assert_eq!(
                accepted.status, 202,
                "the push after the cleanup: {}",
                accepted.body
            );
            Ok(())
        },
    )
    .await
}
