//! A slow or failing SCM site in real Chromium: a read that hangs past the app's timeout, 5xx on
//! the deployment list, a truncated reply, and seeded random fault schedules. The page never
//! freezes, the wizard says which read failed and offers a Retry that works, the other panels
//! keep what the other reads showed, and no panel is left blank or shows a raw error.

use std::time::{Duration, Instant};

use kudu_e2e::kudu_sim::{FaultKind, FaultRule, SimConfig};
use kudu_e2e::{E2e, browser_sim_config, run, site_url};
use serde_json::{Value, json};

/// The app's per-request timeout (`src/kudu_http.rs`, `REQUEST_TIMEOUT_MS`).
const APP_TIMEOUT: Duration = Duration::from_secs(15);

/// Every cause id kudu-core can lead with (`CauseId::as_str`).
const CAUSE_IDS: [&str; 15] = [
    "autoswap-in-progress",
    "cancelled-then-retried",
    "client-self-collision",
    "deployment-in-progress",
    "healthy",
    "no-lock-found",
    "parallel-deployments",
    "partial-deploy",
    "restart-raced-deployment",
    "run-from-package-url",
    "scan-underway",
    "session-expired",
    "stale-lock",
    "status-lock-denied",
    "windows-lock-held",
];

fn rule(prefix: &str, kind: FaultKind) -> FaultRule {
    FaultRule {
        prefix: prefix.to_owned(),
        kind,
        count: None,
    }
}

/// The SCM page of a stuck Linux site: a lock, deployments, leftovers, so every panel has
/// something to say.
fn stuck_site() -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        scenario: "stuck-linux".to_owned(),
        ..browser_sim_config()?
    })
}

/// Waits until the launcher names a cause or `error`, and returns it.
async fn settled_state(e2e: &E2e) -> anyhow::Result<String> {
    e2e.settled_launcher_state().await
}

/// `textContent` of the first match of `selector` in the shadow root, or null.
async fn shadow_text(e2e: &E2e, selector: &str) -> anyhow::Result<Option<String>> {
    let text = e2e
        .in_shadow(&format!(
            "return root?.querySelector({selector:?})?.textContent ?? null;"
        ))
        .await?;
    Ok(text.as_str().map(str::to_owned))
}

/// What the final screen must never show, whatever failed: an empty panel, or an error as the
/// program saw it instead of words for the user.
async fn assert_screen_is_whole(e2e: &E2e, context: &str) -> anyhow::Result<()> {
    let screen = e2e
        .in_shadow(
            "const app = root.querySelector('.app');
             const panels = ['diagnosis', 'lock', 'guide', 'timeline-table', 'read-errors']
               .map((id) => [id, root.querySelector(`[data-testid=\"${id}\"]`)])
               .filter(([, el]) => el !== null)
               .map(([id, el]) => [id, el.textContent.trim().length]);
             return { text: app?.textContent ?? '', panels,
                      causes: root.querySelectorAll('[data-testid=\"diagnosis\"] [data-cause]').length };",
        )
        .await?;
    let text = screen["text"].as_str().unwrap_or_default();
    for raw in [
        "JsValue",
        "[object ",
        "undefined",
        "TypeError",
        "panicked",
        "NaN",
        "RuntimeError",
    ] {
        anyhow::ensure!(
            !text.contains(raw),
            "{context}: the screen shows a raw error ({raw}): {text}"
        );
    }
    let panels = screen["panels"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(
        !panels.is_empty(),
        "{context}: neither a diagnosis nor a read error is shown: {text}"
    );
    for panel in &panels {
        anyhow::ensure!(
            panel[1].as_u64().is_some_and(|len| len > 0),
            "{context}: panel {} is blank",
            panel[0]
        );
    }
    let has_diagnosis = panels.iter().any(|p| p[0] == "diagnosis");
    if has_diagnosis {
        anyhow::ensure!(
            screen["causes"].as_u64().is_some_and(|n| n > 0),
            "{context}: the diagnosis panel names no cause"
        );
    }
    Ok(())
}

/// `/api/isdeploying` hangs longer than the app waits: the page stays responsive, the wizard
/// diagnoses from the other reads and lists the timed-out read with a Retry, and the Retry
/// clears it once the site answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_read_times_out_visibly_and_retry_recovers() -> anyhow::Result<()> {
    run("fault-hung-read", stuck_site()?, |e2e| async move {
        e2e.sim.add_fault(rule(
            "/api/isdeploying",
            FaultKind::Latency {
                ms: APP_TIMEOUT.as_millis() as u64 + 20_000,
            },
        ));
        let started = Instant::now();
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        // While the read hangs the page answers scripts at once and shows that it is reading.
        e2e.launcher().await?;
        let probe = Instant::now();
        let state = e2e
            .in_shadow("return root.querySelector('[data-testid=\"launcher\"]').dataset.state;")
            .await?;
        eprintln!(
            "page answered a script in {:?} while a read hung",
            probe.elapsed()
        );
        assert!(
            state == json!("probing") || state == json!("checking"),
            "nothing can be settled before the timeout: {state}"
        );

        let state = settled_state(&e2e).await?;
        let settled_after = started.elapsed();
        eprintln!("diagnosis with a hung read after {settled_after:?}");
        assert!(
            settled_after >= APP_TIMEOUT - Duration::from_secs(1),
            "settled after {settled_after:?}, before the hung read could time out"
        );
        assert!(
            CAUSE_IDS.contains(&state.as_str()),
            "the other reads still give a diagnosis; launcher says {state}"
        );
        e2e.open_wizard().await?;
        let errors = e2e.shadow_element(r#"[data-testid="read-errors"]"#).await?;
        let listed = errors.text().await?;
        assert!(
            listed.contains("/api/isdeploying") && listed.contains("no answer within 15 s"),
            "the timed-out read is not named: {listed}"
        );
        e2e.shadow_element(r#"[data-testid="diagnosis"] [data-cause]"#)
            .await?;
        assert_screen_is_whole(&e2e, "hung read").await?;

        e2e.sim.clear_faults();
        e2e.shadow_element(r#"[data-testid="read-errors"] [data-testid="retry"]"#)
            .await?
            .click()
            .await?;
        e2e.wait_for("the read errors to clear after Retry", || async {
            let shown = e2e
                .in_shadow("return root.querySelector('[data-testid=\"read-errors\"]') !== null;")
                .await?;
            Ok((shown == json!(false)).then_some(()))
        })
        .await?;
        let state = settled_state(&e2e).await?;
        assert!(CAUSE_IDS.contains(&state.as_str()), "after Retry: {state}");
        assert_screen_is_whole(&e2e, "after Retry").await
    })
    .await
}

/// 500 and 503 on the deployment list: the error is shown and the lock and diagnosis panels
/// keep what the other reads showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_the_deployment_list_keep_the_other_panels() -> anyhow::Result<()> {
    run("fault-deployments-5xx", stuck_site()?, |e2e| async move {
        for status in [503, 500] {
            e2e.sim.clear_faults();
            e2e.sim
                .add_fault(rule("/api/deployments", FaultKind::Status { status }));
            e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
                .await?;
            let state = settled_state(&e2e).await?;
            assert!(
                CAUSE_IDS.contains(&state.as_str()),
                "HTTP {status}: the launcher says {state}"
            );
            e2e.open_wizard().await?;
            let errors = e2e.shadow_element(r#"[data-testid="read-errors"]"#).await?;
            let listed = errors.text().await?;
            assert!(
                listed.contains("/api/deployments") && listed.contains(&format!("HTTP {status}")),
                "HTTP {status} is not shown: {listed}"
            );
            errors
                .find(kudu_e2e::fantoccini::Locator::Css(
                    r#"[data-testid="retry"]"#,
                ))
                .await?;
            e2e.shadow_element(r#"[data-testid="lock"]"#).await?;
            e2e.shadow_element(r#"[data-testid="diagnosis"] [data-cause]"#)
                .await?;
            assert_screen_is_whole(&e2e, &format!("HTTP {status}")).await?;
        }
        Ok(())
    })
    .await
}

/// A deployment list cut off mid-JSON is named as unreadable in words, and the rest of the
/// diagnosis stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_deployment_list_is_named_clearly() -> anyhow::Result<()> {
    run("fault-truncated", stuck_site()?, |e2e| async move {
        e2e.sim
            .add_fault(rule("/api/deployments", FaultKind::TruncateBody));
        e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
            .await?;
        let state = settled_state(&e2e).await?;
        assert!(CAUSE_IDS.contains(&state.as_str()), "launcher says {state}");
        e2e.open_wizard().await?;
        e2e.shadow_element(r#"[data-testid="warnings"]"#).await?;
        let warnings = shadow_text(&e2e, r#"[data-testid="warnings"]"#)
            .await?
            .unwrap_or_default();
        assert!(
            warnings.contains("/api/deployments") && warnings.contains("not JSON"),
            "the truncated list is not named: {warnings}"
        );
        assert_screen_is_whole(&e2e, "truncated list").await
    })
    .await
}

/// The reads a diagnosis makes, by path prefix.
const READ_PREFIXES: [&str; 8] = [
    "/api/deployments",
    "/api/deployments/latest",
    "/api/isdeploying",
    "/api/vfs/site/locks/",
    "/api/vfs/site/deployments/",
    "/api/vfs/site/wwwroot/",
    "/api/settings/",
    "/api/environment",
];

/// How many seeded schedules [`random_fault_schedules_never_leave_a_blank_or_raw_screen`] runs.
const SCHEDULES: u64 = 8;

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
    }
}

fn schedule(seed: u64) -> Vec<FaultRule> {
    let mut random = Seeded(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let faults = 1 + random.next(4);
    (0..faults)
        .map(|_| {
            let prefix = READ_PREFIXES[random.next(READ_PREFIXES.len() as u64) as usize];
            let kind = match random.next(6) {
                0 => FaultKind::Status { status: 500 },
                1 => FaultKind::Status { status: 503 },
                2 => FaultKind::Drop,
                3 => FaultKind::TruncateBody,
                4 => FaultKind::Latency {
                    ms: 200 + random.next(1800),
                },
                _ => FaultKind::SlowBody { chunk_delay_ms: 5 },
            };
            FaultRule {
                prefix: prefix.to_owned(),
                kind,
                // Some faults hit only the first request, so a follow-up or retry differs.
                count: (random.next(2) == 0).then(|| 1 + random.next(2) as u32),
            }
        })
        .collect()
}

/// Seeded schedules of faults across the reads: after each, the launcher names a known cause
/// or `error`, and the wizard shows a diagnosis or the failed reads with a Retry, never a blank
/// panel or a raw error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_fault_schedules_never_leave_a_blank_or_raw_screen() -> anyhow::Result<()> {
    run("fault-random", stuck_site()?, |e2e| async move {
        for seed in 0..SCHEDULES {
            let rules = schedule(seed);
            let context = format!("seed {seed} {:?}", rules);
            e2e.sim.clear_faults();
            for rule in rules {
                e2e.sim.add_fault(rule);
            }
            e2e.goto(&site_url("myapp.scm.azurewebsites.net", "/"))
                .await?;
            let state = settled_state(&e2e).await?;
            anyhow::ensure!(
                CAUSE_IDS.contains(&state.as_str()) || state == "error",
                "{context}: the launcher says {state}"
            );
            e2e.open_wizard().await?;
            e2e.wait_for("a diagnosis or the read errors", || async {
                let shown: Value = e2e
                    .in_shadow(
                        "return root.querySelector('[data-testid=\"diagnosis\"], [data-testid=\"read-errors\"]') !== null;",
                    )
                    .await?;
                Ok((shown == json!(true)).then_some(()))
            })
            .await?;
            if state == "error" {
                let errors = shadow_text(&e2e, r#"[data-testid="read-errors"]"#).await?;
                anyhow::ensure!(
                    errors.is_some_and(|text| text.contains("Retry")),
                    "{context}: nothing could be read and no Retry is offered"
                );
            }
            assert_screen_is_whole(&e2e, &context).await?;
            eprintln!("{context}: {state}");
        }
        Ok(())
    })
    .await
}
