//! Issue 16: the extension page `doctor.html` (the CSP fallback) opens only from the launcher
//! of an SCM page, for that page's site. It is not web-accessible, so no page (an app's own
//! site, or a script on the SCM page itself) can navigate to it; and a copy of its URL without
//! the one-time token background.js issued gets no app. Both in Chromium and in Firefox.

use std::time::Duration;

use kudu_e2e::gecko::{FIREFOX_EXTENSION_UUID, run_in_firefox};
use kudu_e2e::kudu_sim::{Personality, SimConfig};
use kudu_e2e::{E2e, browser_sim_config, run, site_url};

const SITE_QUERY: &str = "?site=https%3A%2F%2Fmyapp.scm.azurewebsites.net";
/// A token of the right shape that background.js never issued.
const FORGED_TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Has the page at `from` navigate itself to `target` by script, as a hostile page would;
/// returns the error the browser threw at the script, if any.
async fn page_navigates_to(e2e: &E2e, from: &str, target: &str) -> anyhow::Result<Option<String>> {
    e2e.goto(from).await?;
    let thrown = e2e
        .client
        .execute(
            "try { location.href = arguments[0]; } catch (e) { return String(e); } return null;",
            vec![target.into()],
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(thrown.as_str().map(str::to_owned))
}

/// Opened directly (as a typed address is), the page loads but, with no valid token, refuses.
async fn assert_refused_without_a_valid_token(e2e: &E2e, doctor: &str) -> anyhow::Result<()> {
    for url in [doctor.to_owned(), format!("{doctor}#{FORGED_TOKEN}")] {
        e2e.goto(&url).await?;
        let refused = e2e.page_element(r#"#app[data-state="refused"]"#).await?;
        assert!(refused.text().await?.contains("not valid"), "{url}");
        let mounted = e2e
            .client
            .execute(
                "return document.querySelector('[data-testid=\"kudu-doctor\"]') !== null;",
                vec![],
            )
            .await?;
        assert_eq!(
            mounted,
            serde_json::json!(false),
            "the app mounted for {url}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_opens_the_extension_page_only_from_the_scm_launcher() -> anyhow::Result<()> {
    let mut config = browser_sim_config()?;
    config.strict_csp = true;
    run("doctor-page-only-from-launcher", config, |e2e| async move {
        let scm = site_url("myapp.scm.azurewebsites.net", "/");
        e2e.goto(&scm).await?;
        // The probe finds the site healthy; the user's click loads the app, the page's CSP
        // stops the wasm, and the loader asks background.js for the extension page.
        e2e.launcher_attr("data-state", |state| state == "ready")
            .await?;
        e2e.launcher().await?.click().await?;
        e2e.launcher_attr("data-mode", |mode| mode == "extension-page")
            .await?;
        let title = "409 Doctor: myapp.scm.azurewebsites.net";
        let opened = e2e
            .wait_for("the extension page the launcher opened", || async {
                let tabs = e2e.tabs().await?;
                Ok(tabs.into_iter().find(|tab| tab.title == title))
            })
            .await?;
        let base = opened
            .url
            .split("doctor.html")
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(base.starts_with("chrome-extension://"), "{}", opened.url);
        let doctor = format!("{base}doctor.html{SITE_QUERY}");

        // Pages navigating to it by script: an app's own site, and the SCM page's own world.
        for from in [site_url("myapp.azurewebsites.net", "/"), scm.clone()] {
            page_navigates_to(&e2e, &from, &format!("{doctor}#{FORGED_TOKEN}")).await?;
            let tabs = e2e.tabs().await?;
            let doctor_pages: Vec<_> = tabs
                .iter()
                .filter(|tab| tab.title.starts_with("409 Doctor"))
                .collect();
            assert_eq!(doctor_pages.len(), 1, "{from} opened doctor.html: {tabs:?}");
        }
        assert_refused_without_a_valid_token(&e2e, &doctor).await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_keeps_the_extension_page_from_other_pages() -> anyhow::Result<()> {
    let config = SimConfig {
        scenario: "stale-lock-linux".to_owned(),
        personality: Personality::Linux,
        ..browser_sim_config()?
    };
    run_in_firefox("firefox-doctor-page", config, |e2e| async move {
        let doctor = format!("moz-extension://{FIREFOX_EXTENSION_UUID}/doctor.html{SITE_QUERY}");
        for from in [
            site_url("myapp.azurewebsites.net", "/"),
            site_url("myapp.scm.azurewebsites.net", "/"),
        ] {
            let thrown = page_navigates_to(&e2e, &from, &format!("{doctor}#{FORGED_TOKEN}"))
                .await?
                .unwrap_or_default();
            // Firefox refuses because the page is not web-accessible, naming the address.
            assert!(
                thrown.contains("denied") && thrown.contains(FIREFOX_EXTENSION_UUID),
                "{from}: {thrown}"
            );
            let now = e2e.client.current_url().await?;
            assert_eq!(now.as_str(), from, "a page script navigated to doctor.html");
        }
        // geckodriver cannot open a moz-extension:// address itself, so the token's refusal
        // is checked in Chromium (`chromium_opens_the_extension_page_only_from_the_scm_launcher`).
        Ok(())
    })
    .await
}
