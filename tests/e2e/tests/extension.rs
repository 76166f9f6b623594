//! The extension in real Chromium against the simulator: where the loader injects itself, and
//! that the app mounts wherever it runs (in the SCM page, in the extension page when the page's
//! CSP forbids wasm, and as the standalone page).

use kudu_e2e::fantoccini;
use kudu_e2e::kudu_sim::{Personality, SimConfig};
use kudu_e2e::{E2e, browser_sim_config, run, run_with_extension, shipped_extension_dir, site_url};
use serde_json::json;

/// Every SCM host form of kudu-facts §6.
const SCM_HOSTS: [&str; 7] = [
    "myapp.scm.azurewebsites.net",
    "myapp-staging.scm.azurewebsites.net",
    "myapp-ds27dh7271aah175.scm.westus-01.azurewebsites.net",
    "myapp.scm.azurewebsites.us",
    "myapp.scm.chinacloudsites.cn",
    "myapp.scm.myase.appserviceenvironment.net",
    "myapp.scm.myase.p.azurewebsites.net",
];

/// The apps' own sites (and other non-SCM hosts) under the same suffixes: never injected.
const APP_HOSTS: [&str; 6] = [
    "myapp.azurewebsites.net",
    "myapp-staging.azurewebsites.net",
    "myapp-ds27dh7271aah175.westus-01.azurewebsites.net",
    "myapp.azurewebsites.us",
    "myapp.myase.appserviceenvironment.net",
    // `scm` in the wrong place: a name that merely contains it.
    "scm.myapp.azurewebsites.net",
];

/// The loader mounted the app in the page: the wasm loaded and `mount` returned (on a site the
/// probe finds healthy, once the user opened the launcher).
async fn assert_mounted_in_page(e2e: &E2e) -> anyhow::Result<()> {
    let launcher = e2e.launcher().await?;
    let state = e2e
        .launcher_attr("data-state", |state| state != "probing")
        .await?;
    if state == "ready" {
        launcher.click().await?;
    }
    // The probe's words, then (once settled) the cause's: never empty, always ours.
    let text = launcher.text().await?;
    assert!(
        text.starts_with("409 Doctor")
            || text.starts_with("locked")
            || text.starts_with("deploying"),
        "{text}"
    );
    let mode = e2e
        .launcher_attr("data-mode", |mode| !mode.is_empty())
        .await?;
    assert_eq!(mode, "in-page", "the app did not mount in the page");
    let rendered = e2e
        .in_shadow("return root?.querySelector('.app')?.childElementCount ?? 0;")
        .await?;
    assert!(
        rendered.as_u64().is_some_and(|count| count > 0),
        "the app rendered nothing into its container"
    );
    let hosts = e2e
        .client
        .execute(
            "return document.querySelectorAll('#kudu-doctor-host').length;",
            vec![],
        )
        .await?;
    assert_eq!(hosts, json!(1), "one loader per page");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_on_a_classic_scm_host() -> anyhow::Result<()> {
    run(
        "injected-classic",
        browser_sim_config()?,
        |e2e| async move {
            e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
                .await?;
            let state = e2e.launcher().await?.attr("data-state").await?;
            assert!(
                state.is_some(),
                "the launcher has a data-state from the start"
            );
            assert_mounted_in_page(&e2e).await
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_on_a_regional_unique_host() -> anyhow::Result<()> {
    run(
        "injected-regional",
        browser_sim_config()?,
        |e2e| async move {
            e2e.goto(&site_url(
                "myapp-ds27dh7271aah175.scm.westus-01.azurewebsites.net",
                "/",
            ))
            .await?;
            assert_mounted_in_page(&e2e).await
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_on_a_slot() -> anyhow::Result<()> {
    run("injected-slot", browser_sim_config()?, |e2e| async move {
        e2e.goto(&site_url("myapp-staging.scm.azurewebsites.net", "/"))
            .await?;
        assert_mounted_in_page(&e2e).await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_on_every_scm_host_form() -> anyhow::Result<()> {
    run(
        "injected-every-form",
        browser_sim_config()?,
        |e2e| async move {
            for host in SCM_HOSTS {
                e2e.goto(&site_url(host, "/")).await?;
                e2e.launcher()
                    .await
                    .map_err(|error| error.context(format!("no launcher on {host}")))?;
            }
            Ok(())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_injected_on_the_apps_own_sites() -> anyhow::Result<()> {
    run(
        "not-injected-app-sites",
        browser_sim_config()?,
        |e2e| async move {
            for host in APP_HOSTS {
                e2e.goto(&site_url(host, "/")).await?;
                e2e.wait_loaded().await?;
                // Content scripts run by document_idle, at the latest just after `load`; give a
                // late one time to show itself before concluding it is absent.
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                assert!(!e2e.has_loader_host().await?, "the loader ran on {host}");
            }
            // The same browser does inject on an SCM host: the absence above is not a dead
            // extension.
            e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
                .await?;
            e2e.launcher().await?;
            Ok(())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_page_csp_still_gets_a_launcher_that_opens_the_extension_page() -> anyhow::Result<()>
{
    let mut config = browser_sim_config()?;
    config.strict_csp = true;
    run("strict-csp-extension-page", config, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        // Healthy: the probe loads nothing until the user opens the launcher.
        e2e.launcher_attr("data-state", |state| state == "ready")
            .await?;

        let wanted = "/doctor.html?site=https%3A%2F%2Fmyapp.scm.azurewebsites.net";
        let doctor_tabs = || async {
            let tabs = e2e.tabs().await?;
            anyhow::Ok(tabs.iter().filter(|tab| tab.url.ends_with(wanted)).count())
        };
        // A click a script makes (untrusted) opens nothing; only the user's own click does.
        e2e.in_shadow("root.querySelector('[data-testid=\"launcher\"]').click(); return null;")
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert_eq!(
            doctor_tabs().await?,
            0,
            "a scripted click opened the extension page"
        );

        e2e.launcher().await?.click().await?;
        let mode = e2e
            .launcher_attr("data-mode", |mode| !mode.is_empty())
            .await?;
        assert_eq!(
            mode, "extension-page",
            "wasm should not compile under the strict CSP"
        );
        let title = "409 Doctor: myapp.scm.azurewebsites.net";
        // The title is doctor.js's: the page loaded and accepted the site.
        let tab = e2e
            .wait_for("the extension page's tab", || async {
                let tabs = e2e.tabs().await?;
                Ok(tabs.into_iter().find(|tab| {
                    tab.url.starts_with("chrome-extension://")
                        && tab.url.ends_with(wanted)
                        && tab.title == title
                }))
            })
            .await?;
        // doctor.js sets that title only after `mount` returned, and only after it redeemed
        // the one-time token background.js issued for this site. Chromedriver cannot attach to
        // that tab (see `E2e::tabs`); the same URL opened again, its token spent, gets no app.
        assert!(
            !tab.url.contains('#'),
            "the token stayed in the address bar"
        );
        e2e.goto(&tab.url).await?;
        let refused = e2e.page_element(r#"#app[data-state="refused"]"#).await?;
        assert!(refused.text().await?.contains("not valid"));
        assert_ne!(e2e.client.title().await?, title);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_page_mounts() -> anyhow::Result<()> {
    run("standalone-page", browser_sim_config()?, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/doctor/"))
            .await?;
        e2e.page_element(r#"#app [data-testid="kudu-doctor"]"#)
            .await?;
        Ok(())
    })
    .await
}

/// Reloading and navigating between Kudu pages never stacks two loaders or two launchers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_and_navigation_keep_one_launcher() -> anyhow::Result<()> {
    run("one-launcher", browser_sim_config()?, |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        assert_mounted_in_page(&e2e).await?;
        e2e.client.refresh().await?;
        assert_mounted_in_page(&e2e).await?;
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/?page=2"))
            .await?;
        assert_mounted_in_page(&e2e).await?;
        e2e.client.back().await?;
        assert_mounted_in_page(&e2e).await?;
        let launchers = e2e
            .in_shadow("return root.querySelectorAll('[data-testid=\"launcher\"]').length;")
            .await?;
        assert_eq!(launchers, json!(1));
        Ok(())
    })
    .await
}

/// Markup a pipeline puts in a deployment's message, author or deployer is shown as text and
/// never runs: the push is a real one, made from the signed-in page like a user's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_deployment_message_renders_as_text_and_runs_nothing() -> anyhow::Result<()> {
    run("hostile-message", browser_sim_config()?, |e2e| async move {
        const MESSAGE: &str = r#"<img src=x onerror="window.kuduPwned=1">"#;
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/")).await?;
        e2e.wait_loaded().await?;
        // An empty zip (just the end-of-central-directory record) is a valid artifact.
        let pushed = e2e
            .client
            .execute_async(
                "const [message, done] = arguments;
                 const zip = new Uint8Array(22); zip.set([0x50, 0x4b, 0x05, 0x06]);
                 const query = new URLSearchParams({ message, author: message, deployer: '<b>ci</b>' });
                 fetch('/api/zipdeploy?' + query, { method: 'POST', body: zip, credentials: 'include' })
                   .then((reply) => done(reply.status), (error) => done(String(error)));",
                vec![json!(MESSAGE)],
            )
            .await?;
        assert!(
            pushed.as_u64().is_some_and(|status| (200..300).contains(&status)),
            "the push answered {pushed}"
        );

        e2e.client.refresh().await?;
        e2e.settled_launcher_state().await?;
        e2e.open_wizard().await?;
        let table = e2e
            .shadow_element(r#"[data-testid="timeline-table"]"#)
            .await?;
        let text = e2e
            .in_shadow("return root.querySelector('[data-testid=\"timeline-table\"]').textContent;")
            .await?;
        assert!(
            text.as_str().is_some_and(|text| text.contains(MESSAGE) && text.contains("<b>ci</b>")),
            "the message is not shown as text: {text}"
        );
        assert_eq!(table.find_all(fantoccini::Locator::Css("img, b")).await?.len(), 0);
        let ran = e2e
            .in_shadow("return { images: root.querySelectorAll('img').length, pwned: window.kuduPwned ?? null };")
            .await?;
        assert_eq!(ran, json!({ "images": 0, "pwned": null }));
        Ok(())
    })
    .await
}

/// The shipped build keeps its shadow root closed and leaves nothing on the page's `window`:
/// a script on the SCM page can neither look inside nor call into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_build_is_closed_to_page_scripts() -> anyhow::Result<()> {
    let shipped = shipped_extension_dir()?;
    run_with_extension(
        "shipped-closed",
        browser_sim_config()?,
        &shipped,
        |e2e| async move {
            e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
                .await?;
            e2e.wait_for("the loader's host element", || async {
                Ok(e2e.has_loader_host().await?.then_some(()))
            })
            .await?;
            let seen_by_page = e2e
                .client
                .execute(
                    "const host = document.getElementById('kudu-doctor-host');
                 return {
                   shadowRoot: host.shadowRoot === null,
                   globals: Object.keys(window).filter((key) => /kudu/i.test(key)),
                   children: host.childElementCount,
                 };",
                    vec![],
                )
                .await?;
            assert_eq!(
                seen_by_page,
                json!({ "shadowRoot": true, "globals": [], "children": 0 })
            );
            Ok(())
        },
    )
    .await
}

/// Opens the SCM page of a simulator loaded with `scenario`, waits for the launcher to name
/// `cause` (the refined answer, after the follow-up reads), opens the wizard if it did not open
/// by itself, and checks the diagnosis leads with the same cause.
async fn leads_with(
    scenario: &str,
    personality: Personality,
    cause: &'static str,
) -> anyhow::Result<()> {
    let config = SimConfig {
        scenario: scenario.to_owned(),
        personality,
        ..browser_sim_config()?
    };
    let name = format!("scenario-{scenario}-{}", personality.name());
    run(&name, config, move |e2e| async move {
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        e2e.wait_for_launcher_state(cause).await?;

        e2e.open_wizard().await?;
        if cause == "session-expired" {
            e2e.shadow_element(r#"[data-testid="sign-in"]"#).await?;
            return Ok(());
        }
        let primary = e2e
            .shadow_element(r#"[data-testid="diagnosis"] [data-primary="true"]"#)
            .await?;
        assert_eq!(primary.attr("data-cause").await?.as_deref(), Some(cause));
        Ok(())
    })
    .await
}

/// One test per scenario and personality the simulator offers, with the cause that must lead
/// (kudu-core's `EXPECTED_PRIMARY`, refined column).
macro_rules! scenario_tests {
    ($($test:ident: $scenario:literal, $personality:ident => $cause:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() -> anyhow::Result<()> {
            leads_with($scenario, Personality::$personality, $cause).await
        }
    )*};
}

scenario_tests! {
    scenario_healthy_linux: "healthy", Linux => "healthy";
    scenario_healthy_windows: "healthy", Windows => "healthy";
    scenario_deploying_linux: "deploying", Linux => "deployment-in-progress";
    scenario_deploying_windows: "deploying", Windows => "deployment-in-progress";
    scenario_parallel_linux: "parallel", Linux => "deployment-in-progress";
    scenario_parallel_windows: "parallel", Windows => "deployment-in-progress";
    scenario_cancelled_retried_linux: "cancelled-retried", Linux => "cancelled-then-retried";
    scenario_cancelled_retried_windows: "cancelled-retried", Windows => "cancelled-then-retried";
    scenario_stuck_linux: "stuck-linux", Linux => "stale-lock";
    scenario_stale_lock_linux: "stale-lock-linux", Linux => "stale-lock";
    scenario_stuck_windows: "stuck-windows", Windows => "windows-lock-held";
    // Nothing blocks there: a stale Windows lock file never does (kudu-facts §2.2), Kudu's first
    // list marks the killed runs Failed and purges them (§1.3), and what is left is a leftover
    // for the targeted cleanup (§3.3). The site is ready to deploy, whatever the read order.
    scenario_stale_files_windows: "stale-files-windows", Windows => "healthy";
    scenario_status_lock_denied_linux: "status-lock-denied", Linux => "status-lock-denied";
    scenario_status_lock_denied_windows: "status-lock-denied", Windows => "status-lock-denied";
    scenario_run_from_package_url_linux: "run-from-package-url", Linux => "run-from-package-url";
    scenario_run_from_package_url_windows: "run-from-package-url", Windows => "run-from-package-url";
    scenario_autoswap_linux: "autoswap", Linux => "autoswap-in-progress";
    scenario_autoswap_windows: "autoswap", Windows => "autoswap-in-progress";
    scenario_scan_underway_linux: "scan-underway", Linux => "scan-underway";
    scenario_partial_deploy_linux: "partial-deploy", Linux => "partial-deploy";
    scenario_partial_deploy_windows: "partial-deploy", Windows => "partial-deploy";
    scenario_session_expired_linux: "session-expired", Linux => "session-expired";
    scenario_session_expired_windows: "session-expired", Windows => "session-expired";
}
