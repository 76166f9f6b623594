//! Issue 17: a passive view of an SCM page costs almost nothing. The loader's probe makes at
//! most two cheap reads and loads no wasm while the site looks healthy; a busy or locked site
//! is diagnosed in the background, and the drawer opens by itself only for what the user must
//! act on; a deployment in progress shows in the launcher's words and is then watched with the
//! probe alone. Issue 20: the standalone page gets no second app. Chromium, then Firefox.

use std::time::Duration;

use kudu_e2e::gecko::run_in_firefox;
use kudu_e2e::kudu_sim::{Personality, RequestRecord, SimConfig};
use kudu_e2e::{E2e, browser_sim_config, run, site_url};

const SCM_HOST: &str = "myapp.scm.azurewebsites.net";
/// Every read the probe may send (`extension/content.js`): Linux, then Windows.
const PROBE_PATHS: [&str; 3] = [
    "/api/isdeploying",
    "/api/vfs/site/locks/deployment/info.lock",
    "/api/deployments/latest",
];
/// Scenarios a passive view must find healthy, with their personality.
const HEALTHY: [(&str, Personality); 3] = [
    ("healthy", Personality::Linux),
    ("healthy", Personality::Windows),
    ("stale-files-windows", Personality::Windows),
];

fn scenario(name: &str, personality: Personality) -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        scenario: name.to_owned(),
        personality,
        ..browser_sim_config()?
    })
}

fn api_reads(log: &[RequestRecord]) -> Vec<String> {
    log.iter()
        .filter(|record| record.path.starts_with("/api/"))
        .map(|record| format!("{} {}", record.method, record.path))
        .collect()
}

async fn wizard_open(e2e: &E2e) -> anyhow::Result<bool> {
    let open = e2e
        .in_shadow(
            "return root?.querySelector('[data-testid=\"kudu-doctor\"]')?.getAttribute('data-open') ?? null;",
        )
        .await?;
    Ok(open.as_str() == Some("true"))
}

/// Loads the SCM page without touching the launcher and checks the passive cost: `ready`, at
/// most two API reads, and the app's code never requested.
async fn assert_passive_healthy_view(e2e: &E2e, what: &str) -> anyhow::Result<()> {
    e2e.sim.clear_requests();
    e2e.goto(&site_url(SCM_HOST, "/")).await?;
    e2e.launcher_attr("data-state", |state| state == "ready")
        .await?;
    // Anything late (a second probe, the app) has time to show itself.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let reads = api_reads(&e2e.sim.requests());
    assert!(
        !reads.is_empty() && reads.len() <= 2,
        "{what}: a passive view sent {reads:?}"
    );
    assert!(
        reads.iter().all(|read| PROBE_PATHS
            .iter()
            .any(|path| read == &format!("GET {path}"))),
        "{what}: {reads:?}"
    );
    let launcher = e2e.launcher().await?;
    assert_eq!(launcher.text().await?, "409 Doctor \u{b7} ready", "{what}");
    assert_eq!(
        launcher.attr("data-app").await?,
        None,
        "{what}: the app was loaded"
    );
    let wasm = e2e
        .client
        .execute(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('kudu_doctor')).length;",
            vec![],
        )
        .await?;
    assert_eq!(
        wasm,
        serde_json::json!(0),
        "{what}: the app's files were fetched"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_view_of_a_healthy_site_reads_twice_at_most_and_loads_no_wasm()
-> anyhow::Result<()> {
    for (name, personality) in HEALTHY {
        let what = format!("{name} ({personality:?})");
        run(
            &format!("probe-passive-{name}-{personality:?}"),
            scenario(name, personality)?,
            |e2e| async move { assert_passive_healthy_view(&e2e, &what).await },
        )
        .await?;
    }
    Ok(())
}

/// Enter on the focused launcher of a healthy site loads the app open, and the app then takes
/// the launcher over: a second Enter closes the wizard.
async fn assert_keyboard_opens(e2e: &E2e) -> anyhow::Result<()> {
    e2e.goto(&site_url(SCM_HOST, "/")).await?;
    e2e.launcher_attr("data-state", |state| state == "ready")
        .await?;
    let launcher = e2e.launcher().await?;
    // Enter on the focused button: a trusted click, as the browser reports it.
    launcher.send_keys("\u{E007}").await?;
    e2e.wait_for_launcher_state("healthy").await?;
    e2e.wait_for("the wizard to open", || async {
        Ok(wizard_open(e2e).await?.then_some(()))
    })
    .await?;
    assert_eq!(launcher.attr("data-app").await?.as_deref(), Some("mounted"));
    launcher.send_keys("\u{E007}").await?;
    e2e.wait_for("the wizard to close", || async {
        Ok((!wizard_open(e2e).await?).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launcher_opens_with_the_keyboard_and_then_diagnoses() -> anyhow::Result<()> {
    run(
        "probe-keyboard-opens",
        scenario("healthy", Personality::Linux)?,
        |e2e| async move { assert_keyboard_opens(&e2e).await },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_sites_are_diagnosed_in_the_background_and_open_by_themselves() -> anyhow::Result<()>
{
    for (name, personality, cause) in [
        ("stale-lock-linux", Personality::Linux, "stale-lock"),
        ("stuck-linux", Personality::Linux, "stale-lock"),
        ("stuck-windows", Personality::Windows, "windows-lock-held"),
    ] {
        run(
            &format!("probe-opens-{name}"),
            scenario(name, personality)?,
            |e2e| async move {
                e2e.goto(&site_url(SCM_HOST, "/")).await?;
                let probe = e2e
                    .launcher_attr("data-probe", |probe| !probe.is_empty())
                    .await?;
                assert!(
                    ["busy", "locked"].contains(&probe.as_str()),
                    "{name}: {probe}"
                );
                e2e.launcher_attr("data-state", |state| state == cause)
                    .await?;
                e2e.wait_for("the drawer to open by itself", || async {
                    Ok(wizard_open(&e2e).await?.then_some(()))
                })
                .await?;
                let text = e2e.launcher().await?.text().await?;
                assert!(text.starts_with("409 Doctor \u{b7} "), "{name}: {text}");
                Ok(())
            },
        )
        .await?;
    }
    Ok(())
}

/// The in-progress scenario: the launcher's words change, the drawer stays closed, and the
/// site is then watched with the probe alone.
async fn assert_in_progress_stays_in_the_launcher(e2e: &E2e) -> anyhow::Result<()> {
    e2e.goto(&site_url(SCM_HOST, "/")).await?;
    let launcher = e2e.launcher().await?;
    // The probe's "deploying · N min" comes first; the app, loaded in the background, may
    // already have replaced it with the settled cause by the time we look.
    let probe = e2e
        .launcher_attr("data-probe", |probe| !probe.is_empty())
        .await?;
    assert_eq!(probe, "busy");
    e2e.launcher_attr("data-state", |state| state == "deployment-in-progress")
        .await?;
    let text = launcher.text().await?;
    assert!(text.contains("in progress"), "{text}");
    assert!(!wizard_open(e2e).await?, "the drawer covered Kudu's page");
    e2e.sim.clear_requests();
    // The loader's refresh is every 10 s; the app alone would have polled twice by then.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let reads = api_reads(&e2e.sim.requests());
    assert!(
        !reads.is_empty() && reads.len() <= 4,
        "a closed drawer is watched by the probe: {reads:?}"
    );
    assert!(
        reads.iter().all(|read| PROBE_PATHS
            .iter()
            .any(|path| read == &format!("GET {path}"))),
        "a full round behind a closed drawer: {reads:?}"
    );
    assert!(!wizard_open(e2e).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_in_progress_shows_in_the_launcher_and_is_watched_by_the_probe()
-> anyhow::Result<()> {
    run(
        "probe-in-progress",
        scenario("deploying", Personality::Linux)?,
        |e2e| async move { assert_in_progress_stays_in_the_launcher(&e2e).await },
    )
    .await
}

/// Issue 20: the simulator's standalone page under `/doctor/` hosts the app itself; the
/// extension adds no launcher or drawer on top of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_page_gets_no_second_app() -> anyhow::Result<()> {
    run(
        "probe-one-app-per-page",
        browser_sim_config()?,
        |e2e| async move {
            e2e.goto(&site_url(SCM_HOST, "/doctor/")).await?;
            e2e.page_element(r#"#app [data-testid="kudu-doctor"]"#)
                .await?;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert!(
                !e2e.has_loader_host().await?,
                "the loader ran on the standalone page"
            );
            // The same browser does put the launcher on the SCM page itself.
            e2e.goto(&site_url(SCM_HOST, "/")).await?;
            e2e.launcher().await?;
            Ok(())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_passive_view_keyboard_and_in_progress_behave_the_same() -> anyhow::Result<()> {
    run_in_firefox(
        "firefox-probe-passive",
        scenario("healthy", Personality::Linux)?,
        |e2e| async move {
            assert_passive_healthy_view(&e2e, "healthy in Firefox").await?;
            assert_keyboard_opens(&e2e).await
        },
    )
    .await?;
    run_in_firefox(
        "firefox-probe-in-progress",
        scenario("deploying", Personality::Linux)?,
        |e2e| async move { assert_in_progress_stays_in_the_launcher(&e2e).await },
    )
    .await
}
