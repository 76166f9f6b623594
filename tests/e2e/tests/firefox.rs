//! The Firefox package in real Firefox ESR: installed as a temporary add-on through
//! geckodriver, it puts the launcher on the simulator's SCM page, mounts the app in the page
//! and leads with the scenario's cause, as in Chromium (`extension.rs`).

use kudu_e2e::gecko::{firefox_store_zip, run_in_firefox, run_in_firefox_with, tunnel_target};
use kudu_e2e::kudu_sim::RequestRecord;
use kudu_e2e::kudu_sim::{Personality, SimConfig};
use kudu_e2e::{browser_sim_config, site_url};

/// Every read of the site's API carried the user's Kudu session cookie and no Authorization
/// header: Firefox runs the content script's requests as the page's own.
fn assert_reads_ride_the_session(log: &[RequestRecord]) {
    let api: Vec<&RequestRecord> = log.iter().filter(|r| r.path.starts_with("/api/")).collect();
    assert!(!api.is_empty(), "no /api/ read reached the simulator");
    assert!(
        api.iter()
            .all(|r| r.session_cookie && r.authorization.is_none()),
        "{api:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_package_diagnoses_a_stale_lock_on_the_scm_page() -> anyhow::Result<()> {
    let config = SimConfig {
        scenario: "stale-lock-linux".to_owned(),
        personality: Personality::Linux,
        ..browser_sim_config()?
    };
    run_in_firefox("firefox-stale-lock-linux", config, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        let launcher = e2e.launcher().await?;
        let text = launcher.text().await?;
        assert!(
            text.starts_with("409 Doctor") || text.starts_with("locked"),
            "{text}"
        );
        let mode = e2e
            .launcher_attr("data-mode", |mode| !mode.is_empty())
            .await?;
        assert_eq!(
            mode, "in-page",
            "the app did not mount in the page in Firefox"
        );
        e2e.wait_for_launcher_state("stale-lock").await?;

        e2e.open_wizard().await?;
        let primary = e2e
            .shadow_element(r#"[data-testid="diagnosis"] [data-primary="true"]"#)
            .await?;
        assert_eq!(
            primary.attr("data-cause").await?.as_deref(),
            Some("stale-lock")
        );
        assert_reads_ride_the_session(&e2e.sim.requests());
        Ok(())
    })
    .await
}

/// Under the strict page Content-Security-Policy (no `'wasm-unsafe-eval'`) that keeps the wasm
/// out of a Chromium page, Firefox still mounts the app in the page: it compiles a content
/// script's wasm under the extension's own policy, not the page's. So the extension-page
/// fallback is Chromium's; were Firefox to start applying the page's policy, this test says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_under_a_strict_page_csp_still_diagnoses_in_the_page() -> anyhow::Result<()> {
    let mut config = SimConfig {
        scenario: "stale-lock-linux".to_owned(),
        personality: Personality::Linux,
        ..browser_sim_config()?
    };
    config.strict_csp = true;
    run_in_firefox("firefox-strict-csp", config, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        // The policy is in force: the page's own inline script does not run.
        let inline_ran = e2e
            .client
            .execute(
                "const s = document.createElement('script'); \
                 s.textContent = 'window.__kdInlineRan = true;'; \
                 document.head.append(s); \
                 return window.__kdInlineRan === true;",
                vec![],
            )
            .await?;
        assert_eq!(
            inline_ran,
            serde_json::json!(false),
            "the strict CSP is not in force"
        );
        let mode = e2e
            .launcher_attr("data-mode", |mode| !mode.is_empty())
            .await?;
        assert_eq!(
            mode, "in-page",
            "Firefox fell back to the extension page under the strict CSP"
        );
        e2e.wait_for_launcher_state("stale-lock").await?;
        assert_reads_ride_the_session(&e2e.sim.requests());
        Ok(())
    })
    .await
}

/// The store zip itself (what addons.mozilla.org gets) installs and runs: the loader's host
/// is on the page with its shadow root closed, and the app read the site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_store_zip_installs_and_reads_the_site() -> anyhow::Result<()> {
    let config = SimConfig {
        scenario: "stale-lock-linux".to_owned(),
        personality: Personality::Linux,
        ..browser_sim_config()?
    };
    let zip = firefox_store_zip()?;
    run_in_firefox_with("firefox-store-zip", config, &zip, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        e2e.wait_for("the loader's host", || async {
            Ok(e2e.has_loader_host().await?.then_some(()))
        })
        .await?;
        let closed = e2e
            .client
            .execute(
                "return document.getElementById('kudu-doctor-host').shadowRoot === null;",
                vec![],
            )
            .await?;
        assert_eq!(
            closed,
            serde_json::json!(true),
            "the shipped build's shadow root is closed"
        );
        // The held deployment's log is a follow-up read: only the running app, having read
        // the first round, asks for it (the loader's early reads never include it).
        e2e.wait_for("the app's follow-up read of the deployment log", || async {
            let log = e2e.sim.requests();
            Ok(log
                .iter()
                .any(|r| {
                    r.path.starts_with("/api/vfs/site/deployments/")
                        && r.path.ends_with("/log.log")
                        && r.status == 200
                })
                .then_some(log))
        })
        .await
        .map(|log| assert_reads_ride_the_session(&log))
    })
    .await
}

/// The proxy that stands in for Chromium's host-resolver rules tunnels only Azure hosts, so a
/// Firefox test can never reach anything but the simulator.
#[test]
fn the_firefox_proxy_tunnels_only_azure_hosts() {
    let connect = |target: &str| format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    for host in [
        "myapp.scm.azurewebsites.net",
        "MyApp.SCM.AzureWebsites.net",
        "myapp.scm.azurewebsites.us",
        "myapp.scm.chinacloudsites.cn",
        "myapp.scm.myase.appserviceenvironment.net",
    ] {
        assert_eq!(tunnel_target(&connect(&format!("{host}:443"))), Some(host));
    }
    for refused in [
        connect("example.com:443"),
        connect("azurewebsites.net:443"),
        connect("evil-azurewebsites.net:443"),
        "GET http://myapp.scm.azurewebsites.net/ HTTP/1.1\r\n\r\n".to_owned(),
        String::new(),
    ] {
        assert_eq!(tunnel_target(&refused), None, "{refused}");
    }
}

/// Issue 16 in Firefox: the cleanup shows the checked backup and deletes nothing until the
/// user's trusted "I have the backup"; then it fixes the stuck site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_cleanup_waits_for_the_backup_then_fixes() -> anyhow::Result<()> {
    use kudu_e2e::cleanup_support::{
        backup_awaiting_confirmation, cleanup_outcome, cleanup_sim_config, deletes,
        give_word_if_asked, shadow_text, user_click,
    };
    let config = cleanup_sim_config("stuck-linux", Personality::Linux)?;
    run_in_firefox("firefox-cleanup-backup", config, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        e2e.wait_for_launcher_state("stale-lock").await?;
        e2e.open_wizard().await?;
        user_click(&e2e, "[data-testid=cleanup]").await?;
        give_word_if_asked(&e2e).await?;
        e2e.sim.clear_requests();
        user_click(&e2e, "[data-testid=confirm]").await?;
        let wait = std::time::Duration::from_secs(120);
        let (name, bytes) = backup_awaiting_confirmation(&e2e, wait).await?;
        assert!(
            name.starts_with("myapp-kudu-backup-") && bytes > 0,
            "{name} {bytes}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            deletes(&e2e.sim),
            Vec::<String>::new(),
            "nothing deleted yet"
        );
        user_click(&e2e, "[data-testid=backup-saved]").await?;
        let outcome = cleanup_outcome(&e2e, wait).await?;
        let text = shadow_text(&e2e, "[data-testid=cleanup-run]").await?;
        assert_eq!(outcome, "fixed", "{text}");
        assert!(!deletes(&e2e.sim).is_empty());
        Ok(())
    })
    .await
}
