//! Screenshots for README in the light and the dark colour scheme: the wizard on the
//! simulator's `stuck-linux` scenario as it opens and after a fixing cleanup, and the timeline
//! of the `parallel` scenario. Written to `target/e2e/screenshots/`; with
//! `KUDU_UPDATE_SCREENSHOTS=1` also to `docs/screenshots/` (committed, shown by README). Each is
//! cropped to the wizard's drawer or to the timeline. A tidy test (`xtask/src/tidy_screenshots.rs`)
//! fails when a committed screenshot is older than the newest change to the UI it shows.
//!
//! The test also proves the dark scheme is real: the drawer's background is dark in it and
//! light otherwise.

use std::time::Duration;

use kudu_e2e::a11y_support::{ColorScheme, element_screenshot, scroll_drawer, set_color_scheme};
use kudu_e2e::cleanup_support::{
    cleanup_outcome, cleanup_sim_config, give_word_if_asked, user_click,
};
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{E2e, run, site_url};
use serde_json::json;

const SCM: &str = "myapp.scm.azurewebsites.net";
const WIZARD: &str = "[data-testid=kudu-doctor]";

/// The wizard's background colour as `[r, g, b]`.
async fn wizard_background(e2e: &E2e) -> anyhow::Result<[u8; 3]> {
    let rgb = e2e
        .in_shadow(&format!(
            "const el = root?.querySelector({WIZARD:?}); if (!el) return null;\n\
             return (getComputedStyle(el).backgroundColor.match(/\\d+/g) ?? []).slice(0, 3).map(Number);"
        ))
        .await?;
    let channel = |i: usize| {
        rgb[i]
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or_default()
    };
    Ok([channel(0), channel(1), channel(2)])
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    Some((word(16), word(20)))
}

/// Shoots the wizard in both schemes as `<label>-light` and `<label>-dark`, checking the
/// background follows the scheme; ends in the light scheme. The drawer is scrolled to its top
/// first, so each picture starts where a user's eye does.
async fn shoot_both(e2e: &E2e, label: &str) -> anyhow::Result<()> {
    scroll_drawer(e2e, 0.0).await?;
    for scheme in ColorScheme::BOTH {
        set_color_scheme(e2e, scheme).await?;
        let background = wizard_background(e2e).await?;
        let brightness: u32 = background.iter().map(|&c| u32::from(c)).sum::<u32>() / 3;
        match scheme {
            ColorScheme::Light => assert!(brightness > 200, "light {label}: {background:?}"),
            ColorScheme::Dark => assert!(brightness < 60, "dark {label}: {background:?}"),
        }
        let name = format!("{label}-{}", scheme.name());
        let png = element_screenshot(e2e, WIZARD, &name).await?;
        let (width, height) = png_size(&png).unwrap_or_default();
        // Cropped to the drawer (460 CSS px wide), not the whole 1280 px window.
        assert!(
            (300..=700).contains(&width) && height >= 400,
            "{name}: {width}×{height}"
        );
    }
    set_color_scheme(e2e, ColorScheme::Light).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wizard_in_light_and_dark() -> anyhow::Result<()> {
    run(
        "screenshots",
        cleanup_sim_config("stuck-linux", Personality::Linux)?,
        |e2e| async move {
            e2e.goto(&site_url(SCM, "/")).await?;
            e2e.wait_for_launcher_state("stale-lock").await?;
            let open = e2e
                .in_shadow(&format!(
                    "return root?.querySelector({WIZARD:?})?.getAttribute('data-open') ?? null;"
                ))
                .await?;
            if open != json!("true") {
                user_click(&e2e, "[data-testid=launcher]").await?;
            }
            e2e.shadow_element("[data-testid=guide][data-for-cause=stale-lock]")
                .await?;
            shoot_both(&e2e, "wizard").await?;

            user_click(&e2e, "[data-testid=cleanup]").await?;
            give_word_if_asked(&e2e).await?;
            user_click(&e2e, "[data-testid=confirm]").await?;
            let outcome = cleanup_outcome(&e2e, Duration::from_secs(120)).await?;
            assert_eq!(outcome, "fixed");
            // The run's closing read re-diagnoses the site; shoot the screen it settles on.
            e2e.wait_for_launcher_state("healthy").await?;
            shoot_both(&e2e, "cleanup-fixed").await
        },
    )
    .await
}

/// The timeline of two pipelines that pushed at once, in both schemes: the deployments that
/// collided in lanes of their own, the refused push labelled, the live edge at "now".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_of_parallel_pushes() -> anyhow::Result<()> {
    const TIMELINE: &str = "[data-testid=timeline]";
    run(
        "screenshots-timeline",
        cleanup_sim_config("parallel", Personality::Linux)?,
        |e2e| async move {
            e2e.goto(&site_url(SCM, "/")).await?;
            e2e.wait_for_launcher_state("deployment-in-progress")
                .await?;
            let open = e2e
                .in_shadow(&format!(
                    "return root?.querySelector({WIZARD:?})?.getAttribute('data-open') ?? null;"
                ))
                .await?;
            if open != json!("true") {
                user_click(&e2e, "[data-testid=launcher]").await?;
            }
            e2e.shadow_element("[data-testid=timeline-mark][data-mark=refused]")
                .await?;
            for scheme in ColorScheme::BOTH {
                set_color_scheme(&e2e, scheme).await?;
                let name = format!("timeline-parallel-{}", scheme.name());
                let png = element_screenshot(&e2e, TIMELINE, &name).await?;
                let (width, height) = png_size(&png).unwrap_or_default();
                assert!(
                    (300..=700).contains(&width) && height >= 150,
                    "{name}: {width}×{height}"
                );
            }
            set_color_scheme(&e2e, ColorScheme::Light).await
        },
    )
    .await
}
