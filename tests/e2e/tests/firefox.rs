//! The Firefox package in real Firefox ESR: installed as a temporary add-on through
//! geckodriver, it puts the launcher on the simulator's SCM page, mounts the app in the page
//! and leads with the scenario's cause, as in Chromium (`extension.rs`).

use kudu_e2e::E2e;
use kudu_e2e::gecko::{run_in_firefox, tunnel_target};
use kudu_e2e::kudu_sim::{Personality, SimConfig};
use kudu_e2e::{browser_sim_config, site_url};

/// Opens the wizard with the launcher unless it opened by itself.
async fn open_wizard(e2e: &E2e) -> anyhow::Result<()> {
    let wizard = e2e.shadow_element(r#"[data-testid="kudu-doctor"]"#).await?;
    if wizard.attr("data-open").await?.as_deref() != Some("true") {
        e2e.launcher().await?.click().await?;
    }
    e2e.wait_for("the wizard to open", || async {
        let open = wizard.attr("data-open").await?;
        Ok((open.as_deref() == Some("true")).then_some(()))
    })
    .await
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
        assert_eq!(launcher.text().await?, "409 Doctor");
        let mode = e2e
            .launcher_attr("data-mode", |mode| !mode.is_empty())
            .await?;
        assert_eq!(
            mode, "in-page",
            "the app did not mount in the page in Firefox"
        );
        e2e.wait_for_launcher_state("stale-lock").await?;

        open_wizard(&e2e).await?;
        let primary = e2e
            .shadow_element(r#"[data-testid="diagnosis"] [data-primary="true"]"#)
            .await?;
        assert_eq!(
            primary.attr("data-cause").await?.as_deref(),
            Some("stale-lock")
        );
        Ok(())
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
