//! The browser half of `cargo xtask bench` (issue 6): time to diagnosis (one round, and
//! settled over follow-up rounds), cleanup and the big-site case, measured in real headless
//! Chromium with the e2e build of the extension against `kudu-sim` with a fixed latency on
//! every request.
//!
//! Runs only with `KUDU_BENCH=1` (xtask sets it); otherwise the bench test prints a note and
//! passes, so `cargo xtask test` stays fast. Results go to `KUDU_BENCH_OUT` (default
//! `<target>/bench/browser.json`) for xtask to merge into `report.json`.
//!
//! Timings come from the page itself: a main-world script installed with CDP
//! `Page.addScriptToEvaluateOnNewDocument` watches for the loader's host element (the content
//! script creates it synchronously as it starts) and for the launcher's `data-state` leaving
//! `checking` (the test build's shadow root is open), and records `longtask` entries. Rounds
//! come from the simulator's request log. Nothing is added to the extension or the app.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use kudu_e2e::cleanup_support::give_word_if_asked;
use kudu_e2e::kudu_sim::kudu::{DEPLOYMENTS, Kudu};
use kudu_e2e::kudu_sim::{RequestRecord, SimConfig, StatusFile, VTime};
use kudu_e2e::{E2e, browser_sim_config, run, site_url};
use serde_json::{Value, json};

const SCM_HOST: &str = "myapp.scm.azurewebsites.net";

/// How long the issue's scale case may take before it is reported as not measured.
const SCALE_CAP: Duration = Duration::from_secs(150);

/// Records, in the main world, when the content script started, when the diagnosis reached the
/// launcher, each click (with the clicked test id), when the cleanup outcome appeared, and
/// every long task.
const PROBE: &str = r#"
(() => {
  const b = (window.__kuduBench = {
    hostAt: null, stateAt: null, paintAt: null, mountedAt: null, states: [], clicks: [],
    appLoadingAt: null, appMountedAt: null,
    resultAt: null, outcome: null, longTasks: [], longTaskError: null, backupAskedAt: null,
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { b.longTaskError = String(e); }
  document.addEventListener("click", (e) => {
    const el = e.composedPath()[0];
    const id = el?.closest?.("[data-testid]")?.dataset?.testid ?? null;
    b.clicks.push([id, performance.now(), e.isTrusted]);
  }, true);
  const watch = (host) => {
    const root = host.shadowRoot;
    const launcher = root?.querySelector('[data-testid="launcher"]');
    if (!launcher) return false;
    const note = () => {
      if (launcher.dataset.mode && b.mountedAt === null) b.mountedAt = performance.now();
      if (launcher.dataset.app === "loading" && b.appLoadingAt === null) b.appLoadingAt = performance.now();
      if (launcher.dataset.app === "mounted" && b.appMountedAt === null) b.appMountedAt = performance.now();
      const s = launcher.dataset.state;
      if (b.states.length && b.states[b.states.length - 1][0] === s) return;
      b.states.push([s, performance.now()]);
      if (s !== "checking" && s !== "probing" && s !== "ready" && b.stateAt === null) {
        b.stateAt = performance.now();
        requestAnimationFrame(() => { b.paintAt = performance.now(); });
      }
    };
    note();
    new MutationObserver(note).observe(launcher, { attributes: true, attributeFilter: ["data-state", "data-mode", "data-app"] });
    new MutationObserver(() => {
      if (b.resultAt !== null) return;
      if (b.backupAskedAt === null && root.querySelector('[data-testid="backup-saved"]')) b.backupAskedAt = performance.now();
      const result = root.querySelector('[data-testid="cleanup-result"]');
      if (result) { b.resultAt = performance.now(); b.outcome = result.dataset.outcome ?? null; }
    }).observe(root, { childList: true, subtree: true, attributes: true });
    return true;
  };
  new MutationObserver((_, observer) => {
    const host = document.getElementById("kudu-doctor-host");
    if (host && b.hostAt === null) {
      b.hostAt = performance.now();
      if (watch(host)) observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench() -> anyhow::Result<()> {
    if std::env::var("KUDU_BENCH").as_deref() != Ok("1") {
        println!("kudu-e2e bench: skipped (set KUDU_BENCH=1, or run cargo xtask bench)");
        return Ok(());
    }
    let out = std::env::var_os("KUDU_BENCH_OUT").map_or_else(
        || kudu_e2e::target_dir().join("bench").join("browser.json"),
        Into::into,
    );
    // `KUDU_BENCH_CASES=diagnosis,settled_diagnosis` runs a subset (all of `diagnosis`,
    // `settled_diagnosis`, `cleanup` and `scale` by default).
    let cases = std::env::var("KUDU_BENCH_CASES").unwrap_or_default();
    let wanted = |case: &str| cases.is_empty() || cases.split(',').any(|c| c.trim() == case);
    let mut report = serde_json::Map::new();
    // A case that fails is reported as such; the others still run.
    let mut keep = |case: &str, result: anyhow::Result<Value>| {
        let value = result.unwrap_or_else(|error| json!({ "error": format!("{error:#}") }));
        println!("kudu-e2e bench: {case}: {value}");
        report.insert(case.into(), value);
    };
    if wanted("passive") {
        keep("passive", passive_view(200, 3).await);
    }
    if wanted("click_to_settled") {
        keep("click_to_settled", click_to_settled(200).await);
    }
    if wanted("diagnosis") {
        keep("diagnosis", time_to_diagnosis(&SINGLE_ROUND, 200).await);
    }
    if wanted("settled_diagnosis") {
        keep("settled_diagnosis", time_to_diagnosis(&SETTLED, 200).await);
    }
    // When the issue's size cannot be measured, a smaller site still gives the figure, under
    // its own key so nobody mistakes it for the issue's case.
    if wanted("cleanup") {
        keep("cleanup", cleanup(100, 500).await);
        // The same site with 20 folders: what the size adds (Kudu's zip, purge and listings
        // grow with the folders; the run's rounds do not).
        keep("cleanup_small", cleanup(100, 20).await);
    }
    if wanted("scale") {
        // The issue's size may keep the page busy for many minutes; give it a bounded time
        // (dropping the run kills chromedriver and its browser).
        let result = match tokio::time::timeout(SCALE_CAP, scale(200, 5000)).await {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(
                "no diagnosis within {} s: the page stayed busy",
                SCALE_CAP.as_secs()
            )),
        };
        let failed = result
            .as_ref()
            .map_or(true, |value| value["wasm_memory"]["mib"].is_null());
        keep("scale", result);
        if failed {
            keep("scale_small", scale(200, 100).await);
        }
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(&Value::Object(report))?;
    std::fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
    println!("{text}");
    Ok(())
}

/// Runs `body` in a fresh browser with the probe installed, and hands back what it returns.
async fn measured<F, Fut>(name: &str, config: SimConfig, body: F) -> anyhow::Result<Value>
where
    F: FnOnce(E2e) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Value>> + Send + 'static,
{
    let result = Arc::new(Mutex::new(Value::Null));
    let slot = result.clone();
    run(name, config, move |e2e| async move {
        e2e.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": PROBE }),
        )
        .await?;
        let value = body(e2e).await?;
        *slot.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = value;
        Ok(())
    })
    .await?;
    let value = result
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .take();
    Ok(value)
}

async fn probe(e2e: &E2e) -> anyhow::Result<Value> {
    e2e.client
        .execute(
            "const b = window.__kuduBench ?? null; \
             return b && Object.assign({}, b, { timeOrigin: performance.timeOrigin, \
               nav: performance.getEntriesByType('navigation')[0]?.toJSON() ?? null, \
               apiResources: performance.getEntriesByType('resource') \
                 .filter(r => r.name.includes('/api/')).length });",
            vec![],
        )
        .await
        .context("reading the probe")
}

/// Waits until the probe saw the launcher leave `checking`.
async fn wait_for_diagnosis(e2e: &E2e) -> anyhow::Result<Value> {
    // A page too busy to answer a script within WebDriver's timeout is still diagnosing.
    e2e.wait_for("the diagnosis on the launcher", || async {
        Ok(probe(e2e)
            .await
            .ok()
            .filter(|seen| !seen["stateAt"].is_null()))
    })
    .await
}

fn f64_of(value: &Value, key: &str) -> anyhow::Result<f64> {
    value[key]
        .as_f64()
        .with_context(|| format!("the probe has no {key}: {value}"))
}

/// An extension that does nothing, for the passive view's baseline: the same browser, flags
/// and extension machinery, no content script.
fn empty_extension() -> anyhow::Result<std::path::PathBuf> {
    let dir = kudu_e2e::target_dir().join("bench").join("empty-extension");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("manifest.json"),
        r#"{ "manifest_version": 3, "name": "Kudu Doctor bench baseline", "version": "1.0.0" }"#,
    )?;
    Ok(dir)
}

/// One passive view: load the healthy page, touch nothing, wait `settle`, and read the
/// renderer's own counters (CDP `Performance.getMetrics`: main-thread script and task time)
/// and what reached the simulator.
async fn one_passive_view(e2e: &E2e, settle: Duration) -> anyhow::Result<Value> {
    e2e.cdp("Performance.enable", json!({})).await?;
    e2e.sim.clear_requests();
    e2e.goto(&site_url(SCM_HOST, "/")).await?;
    tokio::time::sleep(settle).await;
    let metrics = e2e.cdp("Performance.getMetrics", json!({})).await?;
    let metric = |name: &str| {
        metrics["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == name)
            .and_then(|m| m["value"].as_f64())
    };
    let log = e2e.sim.requests();
    let api: Vec<String> = log
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.path.clone())
        .collect();
    let seen = probe(e2e).await?;
    Ok(json!({
        "script_ms": metric("ScriptDuration").map(|s| s * 1000.0),
        "task_ms": metric("TaskDuration").map(|s| s * 1000.0),
        "api_requests": api.len(),
        "api_paths": api,
        "app_loaded": !seen["appLoadingAt"].is_null(),
        "launcher_states": seen["states"],
    }))
}

/// Issue 17's passive figures on `healthy` (Linux), latency `latency_ms`: `runs` views with the
/// e2e build and `runs` with an empty extension, alternated in the same run; the medians'
/// difference is what the extension adds to a page view.
async fn passive_view(latency_ms: u64, runs: usize) -> anyhow::Result<Value> {
    let config = || -> anyhow::Result<SimConfig> {
        Ok(SimConfig {
            scenario: "healthy".into(),
            latency_ms,
            ..browser_sim_config()?
        })
    };
    let settle = Duration::from_millis(10 * latency_ms + 2000);
    let mut with = Vec::new();
    let mut without = Vec::new();
    for run_index in 0..runs {
        let slot = Arc::new(Mutex::new(Value::Null));
        let kept = slot.clone();
        measured(
            &format!("bench-passive-{run_index}"),
            config()?,
            move |e2e| async move {
                let value = one_passive_view(&e2e, settle).await?;
                *kept.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = value.clone();
                Ok(value)
            },
        )
        .await?;
        with.push(slot.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.take());
        let slot = Arc::new(Mutex::new(Value::Null));
        let kept = slot.clone();
        kudu_e2e::run_with_extension(
            &format!("bench-passive-baseline-{run_index}"),
            config()?,
            &empty_extension()?,
            move |e2e| async move {
                let value = one_passive_view(&e2e, settle).await?;
                *kept.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = value;
                Ok(())
            },
        )
        .await?;
        without.push(slot.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.take());
    }
    let median = |views: &[Value], key: &str| -> Option<f64> {
        let mut values: Vec<f64> = views.iter().filter_map(|v| v[key].as_f64()).collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied()
    };
    let extra = |key: &str| Some(median(&with, key)? - median(&without, key)?);
    Ok(json!({
        "scenario": "healthy",
        "latency_ms": latency_ms,
        "runs": runs,
        "api_requests_max": with.iter().filter_map(|v| v["api_requests"].as_u64()).max(),
        "wasm_loaded_in_any_view": with.iter().any(|v| v["app_loaded"] == json!(true)),
        "extra_script_ms": extra("script_ms"),
        "extra_task_ms": extra("task_ms"),
        "script_ms_with": with.iter().map(|v| v["script_ms"].clone()).collect::<Vec<_>>(),
        "script_ms_without": without.iter().map(|v| v["script_ms"].clone()).collect::<Vec<_>>(),
        "task_ms_with": with.iter().map(|v| v["task_ms"].clone()).collect::<Vec<_>>(),
        "task_ms_without": without.iter().map(|v| v["task_ms"].clone()).collect::<Vec<_>>(),
        "views": with,
    }))
}

/// Issue 17: on `healthy` (Linux), from the user's click on the launcher (the probe said
/// `ready`, no app loaded) to the settled diagnosis on the launcher, wasm fetch, compile and
/// instantiate included; latency `latency_ms` on every request.
async fn click_to_settled(latency_ms: u64) -> anyhow::Result<Value> {
    let config = SimConfig {
        scenario: "healthy".into(),
        latency_ms,
        ..browser_sim_config()?
    };
    measured("bench-click-to-settled", config, move |e2e| async move {
        e2e.goto(&site_url(SCM_HOST, "/")).await?;
        e2e.launcher_attr("data-state", |state| state == "ready")
            .await?;
        e2e.sim.clear_requests();
        e2e.launcher().await?.click().await?;
        let seen = wait_for_diagnosis(&e2e).await?;
        let clicked_at = seen["clicks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|click| click[0] == "launcher")
            .and_then(|click| click[1].as_f64())
            .context("the probe saw no click on the launcher")?;
        let state_at = f64_of(&seen, "stateAt")?;
        let loading = seen["appLoadingAt"].as_f64();
        let mounted = seen["appMountedAt"].as_f64();
        let settled_ms = state_at - clicked_at;
        let log = e2e.sim.requests();
        Ok(json!({
            "scenario": "healthy",
            "latency_ms": latency_ms,
            "click_to_settled_ms": settled_ms,
            "click_to_settled_latency_ratio": settled_ms / latency_ms as f64,
            // From the loader's start of the app's load to `mount` returning: the wasm's
            // fetch from the extension, compile and instantiate.
            "load_compile_instantiate_ms": loading.zip(mounted).map(|(l, m)| m - l),
            "api_requests": log.iter().filter(|r| r.path.starts_with("/api/")).count(),
            "cause": seen["states"].as_array().and_then(|s| s.last()).map(|s| s[0].clone()),
        }))
    })
    .await
}

/// A time-to-diagnosis case: a scenario and the cause the launcher must show first.
struct DiagnosisCase {
    /// The harness's run name (its screenshot is `<target>/e2e/<name>.png`).
    name: &'static str,
    scenario: &'static str,
    /// The settled cause: the launcher's first `data-state` other than `checking` must be it,
    /// or the figure is not a time to the diagnosis.
    settled_cause: &'static str,
}

/// Case 2: an expired stale lock on Linux (issue 6's case). Its holder's record still says
/// Building, so its log is read before the lock may be called stale: since issue 15 this case
/// takes two rounds too (a site with no unfinished deployment still settles in one).
const SINGLE_ROUND: DiagnosisCase = DiagnosisCase {
    name: "bench-diagnosis",
    scenario: "stale-lock-linux",
    settled_cause: "stale-lock",
};

/// Case 2b: a fresh lock whose deployment's log has been silent 13 minutes. The first reads
/// alone cannot settle it: the deployment's whole `log.log` (its id comes from the first reads,
/// its children come with it) is read before the launcher leaves `checking`: two rounds.
const SETTLED: DiagnosisCase = DiagnosisCase {
    name: "bench-settled-diagnosis",
    scenario: "stuck-linux",
    settled_cause: "stale-lock",
};

/// Case 2: from the content script's start to the launcher's first `data-state` other than
/// `checking`, latency `latency_ms` on every request. That first state must be the case's
/// settled cause: a provisional cause shown and changed later is a failure, not a figure.
async fn time_to_diagnosis(case: &'static DiagnosisCase, latency_ms: u64) -> anyhow::Result<Value> {
    let config = SimConfig {
        scenario: case.scenario.into(),
        latency_ms,
        ..browser_sim_config()?
    };
    measured(case.name, config, move |e2e| async move {
        e2e.sim.clear_requests();
        e2e.goto(&site_url(SCM_HOST, "/")).await?;
        let seen = wait_for_diagnosis(&e2e).await?;
        // Let follow-up rounds finish so the log shows them too.
        tokio::time::sleep(Duration::from_millis(3 * latency_ms + 1500)).await;
        let later = probe(&e2e).await?;
        let log = e2e.sim.requests();
        let host_at = f64_of(&seen, "hostAt")?;
        let state_at = f64_of(&seen, "stateAt")?;
        let time_origin = f64_of(&seen, "timeOrigin")?;
        let diagnosis_at_epoch = time_origin + state_at;
        let api = api_requests(&log)?;
        let first_api_start = api
            .iter()
            .map(|r| r.end_ms - latency_ms as f64)
            .fold(f64::INFINITY, f64::min);
        let before_diagnosis: Vec<Timed> = api
            .iter()
            .filter(|r| r.end_ms <= diagnosis_at_epoch)
            .cloned()
            .collect();
        let diagnosis_ms = state_at - host_at;
        let last_reply = before_diagnosis
            .iter()
            .map(|r| r.end_ms)
            .fold(f64::NEG_INFINITY, f64::max);
        let content_script_at_epoch = time_origin + host_at;
        let states = later["states"].as_array().cloned().unwrap_or_default();
        let first_state = states
            .iter()
            .map(|s| &s[0])
            .find(|s| !matches!(s.as_str(), Some("checking" | "probing" | "ready")))
            .cloned()
            .unwrap_or(Value::Null);
        if first_state != json!(case.settled_cause) {
            bail!(
                "{}: the launcher's first state after `checking` was {first_state}, not the \
                 settled cause {:?} (a provisional cause was shown); after {diagnosis_ms:.0} ms \
                 ({:.2} L); launcher states [state, ms since navigation start]: {}",
                case.scenario,
                case.settled_cause,
                diagnosis_ms / latency_ms as f64,
                later["states"],
            );
        }
        Ok(json!({
            "scenario": case.scenario,
            "latency_ms": latency_ms,
            "diagnosis_ms": diagnosis_ms,
            "diagnosis_latency_ratio": diagnosis_ms / latency_ms as f64,
            "from_navigation_start_ms": state_at,
            "from_first_api_request_ms": diagnosis_at_epoch - first_api_start,
            "content_script_to_first_api_request_ms": first_api_start - content_script_at_epoch,
            "last_reply_to_diagnosis_ms": diagnosis_at_epoch - last_reply,
            "paint_after_state_ms": later["paintAt"].as_f64().map(|p| p - state_at),
            // When `mount` returned (the launcher's `data-mode`): the wasm's start-up.
            "content_script_to_app_mounted_ms": later["mountedAt"].as_f64().map(|m| m - host_at),
            "last_reply_from_content_script_ms": last_reply - content_script_at_epoch,
            "content_script_start_ms": host_at,
            "dom_content_loaded_ms": seen["nav"]["domContentLoadedEventEnd"],
            "critical_path_rounds": rounds(&before_diagnosis, latency_ms as f64),
            "critical_path_requests": before_diagnosis.len(),
            // `[ms after the content script started, method, path]` of each answer before the
            // diagnosis: which reads the rounds were.
            "critical_path_answers": answers_since(&before_diagnosis, content_script_at_epoch),
            "first_round_overlaps": first_round_overlaps(&before_diagnosis, latency_ms as f64),
            "all_rounds": rounds(&api, latency_ms as f64),
            "api_requests": api.len(),
            "resource_timing_api_entries": seen["apiResources"],
            "launcher_states": later["states"],
            // The first state after `checking`, checked above to be the settled cause.
            "first_state": first_state,
            "cause": states.last().map(|s| s[0].clone()),
        }))
    })
    .await
}

/// Case 3: a Linux stale lock with `temp_folders` stale `temp-*` folders, latency
/// `latency_ms`: from the confirm click to the verified outcome.
/// Clicks `element`, or the element now matching `selector` when a re-render replaced it:
/// the diagnosis is shown before its cleanup plan is built, so the button found first can be
/// swapped for a new one a moment later.
async fn click_current(
    e2e: &E2e,
    element: fantoccini::elements::Element,
    selector: &str,
) -> anyhow::Result<()> {
    let mut element = element;
    let mut attempts = 0;
    loop {
        match element.click().await {
            Ok(()) => return Ok(()),
            Err(error) if attempts < 10 && error.to_string().contains("stale") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                element = e2e.shadow_element(selector).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Clicks `cleanup` until its confirmation shows. With hundreds of folders the plan is built
/// after the diagnosis is on screen, and the refined snapshot can re-render the step under the
/// first click; a user would click again, and so does the bench.
async fn open_confirmation(e2e: &E2e, start: fantoccini::elements::Element) -> anyhow::Result<()> {
    let selector = r#"[data-testid="cleanup"]"#;
    let mut start = start;
    for _ in 0..10 {
        click_current(e2e, start, selector)
            .await
            .context("clicking cleanup")?;
        for _ in 0..30 {
            let shown = e2e
                .in_shadow(r#"return !!root?.querySelector('[data-testid="confirm"]');"#)
                .await?;
            if shown == json!(true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        start = e2e.shadow_element(selector).await?;
    }
    bail!("clicking cleanup ten times never showed its confirmation")
}

async fn cleanup(latency_ms: u64, temp_folders: usize) -> anyhow::Result<Value> {
    let config = SimConfig {
        scenario: "stale-lock-linux".into(),
        latency_ms,
        ..browser_sim_config()?
    };
    measured("bench-cleanup", config, move |e2e| async move {
        let added = e2e
            .sim
            .with_kudu(|kudu| add_temp_folders(kudu, temp_folders))?;
        e2e.goto(&site_url(SCM_HOST, "/")).await?;
        let seen = wait_for_diagnosis(&e2e).await?;
        let cause = seen["states"]
            .as_array()
            .and_then(|s| s.last())
            .map(|s| s[0].clone());
        let start = match e2e.shadow_element(r#"[data-testid="cleanup"]"#).await {
            Ok(start) => start,
            Err(error) => {
                let log = e2e.sim.requests();
                bail!(
                    "{error:#}; the simulator answered {} requests: {:?}",
                    log.len(),
                    log.iter()
                        .take(40)
                        .map(|r| (&r.path, r.status, &r.wall_time))
                        .collect::<Vec<_>>()
                );
            }
        };
        open_confirmation(&e2e, start).await?;
        // The stale lock's holder is only silent (weak evidence): the user gives their word.
        give_word_if_asked(&e2e).await?;
        let confirm = e2e.shadow_element(r#"[data-testid="confirm"]"#).await?;
        e2e.sim.clear_requests();
        click_current(&e2e, confirm, r#"[data-testid="confirm"]"#)
            .await
            .context("clicking confirm")?;
        // Longer than the harness's WAIT: hundreds of deletes at L take a while.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        // A page too busy to answer a script (WebDriver's 30 s script timeout) is noted, not
        // fatal: the run may still finish.
        let mut unresponsive = 0;
        let done = loop {
            // The user says they hold the backup as soon as it is asked (issue 16); the time
            // the question waits for them is not the run's.
            let _ = kudu_e2e::cleanup_support::confirm_backup_if_asked(&e2e).await;
            match probe(&e2e).await {
                Ok(seen) if !seen["resultAt"].is_null() => break seen,
                Ok(_) => {}
                Err(_) => unresponsive += 1,
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "no cleanup outcome within 300 s; {} requests so far",
                    e2e.sim.requests().len()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        // A run that did not fix the site is no figure for "click to verified": say why.
        if done["outcome"] != json!("fixed") {
            let result = e2e
                .in_shadow(
                    r#"return root?.querySelector('[data-testid="cleanup-result"]')?.innerText ?? null;"#,
                )
                .await?;
            bail!(
                "the cleanup ended {} instead of fixed: {}",
                done["outcome"],
                result.as_str().unwrap_or("(no result shown)")
            );
        }
        let log = e2e.sim.requests();
        let clicked_at = done["clicks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c[0] == "confirm")
            .filter_map(|c| c[1].as_f64())
            .next_back()
            .context("the probe saw no confirm click")?;
        let result_at = f64_of(&done, "resultAt")?;
        // Minus the time the backup question waited for the (scripted) user.
        let user_wait = done["clicks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c[0] == "backup-saved")
            .filter_map(|c| c[1].as_f64())
            .next()
            .zip(done["backupAskedAt"].as_f64())
            .map_or(0.0, |(answered, asked)| (answered - asked).max(0.0));
        let cleanup_ms = result_at - clicked_at - user_wait;
        let api = api_requests(&log)?;
        let zip = zip_download(
            &api,
            &log,
            f64_of(&done, "timeOrigin")? + clicked_at,
            latency_ms as f64,
        );
        let deletes = log.iter().filter(|r| r.method == "DELETE").count();
        Ok(json!({
            "latency_ms": latency_ms,
            "temp_folders": added,
            "cause": cause,
            "outcome": done["outcome"],
            "cleanup_ms": cleanup_ms,
            "cleanup_latency_ratio": cleanup_ms / latency_ms as f64,
            "zip_download": zip,
            "probes_timed_out": unresponsive,
            "requests": log.len(),
            "deletes": deletes,
            "rounds": rounds(&api, latency_ms as f64),
            "by_method": by_method(&log),
            "answers": answers_since(&api, f64_of(&done, "timeOrigin")? + clicked_at),
            // `[ms after the click, duration]` of main-thread tasks over 50 ms during the run.
            "long_tasks": done["longTasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| Some((t[0].as_f64()?, t[1].as_f64()?)))
                .filter(|(start, _)| *start >= clicked_at)
                .map(|(start, duration)| json!([(start - clicked_at).round(), duration]))
                .collect::<Vec<_>>(),
        }))
    })
    .await
}

/// Case 4: `records` deployment records and `temp_folders` stale `temp-*` folders.
async fn scale(records: usize, temp_folders: usize) -> anyhow::Result<Value> {
    let config = SimConfig {
        scenario: "stale-lock-linux".into(),
        ..browser_sim_config()?
    };
    measured("bench-scale", config, move |e2e| async move {
        let (made_records, made_temps) = e2e.sim.with_kudu(|kudu| {
            let records = add_records(kudu, records)?;
            let temps = add_temp_folders(kudu, temp_folders)?;
            anyhow::Ok((records, temps))
        })?;
        e2e.goto(&site_url(SCM_HOST, "/")).await?;
        let seen = wait_for_diagnosis(&e2e).await?;
        // Whatever the first answer triggers (follow-up reads, the timeline) must settle too.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = probe(&e2e).await?;
        let long_tasks: Vec<(f64, f64)> = later["longTasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t[0].as_f64()?, t[1].as_f64()?)))
            .collect();
        let longest = long_tasks.iter().map(|t| t.1).fold(0.0, f64::max);
        let bars = e2e
            .in_shadow(
                "return root?.querySelectorAll('[data-testid=\"timeline-bar\"]').length ?? null;",
            )
            .await?;
        // What the page holds for the big site: the leftover folders as one timeline line, and
        // the plan's steps in the DOM (paged, not thousands).
        let folded = e2e
            .in_shadow(
                "return { leftovers: root?.querySelector('[data-testid=\"timeline-leftover-temps\"]')?.textContent ?? null, \
                   plan_items: root?.querySelectorAll('[data-testid=\"plan\"] [data-step-kind]').length ?? null, \
                   elements: root?.querySelectorAll('*').length ?? null };",
            )
            .await
            .unwrap_or(Value::Null);
        let memory = wasm_memory(&e2e).await;
        let heap = tokio::time::timeout(
            Duration::from_secs(10),
            e2e.cdp("Runtime.getHeapUsage", json!({})),
        )
        .await
        .ok()
        .and_then(Result::ok);
        let log = e2e.sim.requests();
        Ok(json!({
            "records_added": made_records,
            "temp_folders_added": made_temps,
            "diagnosis_ms": f64_of(&seen, "stateAt")? - f64_of(&seen, "hostAt")?,
            "cause": later["states"].as_array().and_then(|s| s.last()).map(|s| s[0].clone()),
            "timeline_bars": bars,
            "timeline_leftover_line": folded["leftovers"],
            "plan_items_in_dom": folded["plan_items"],
            "shadow_elements": folded["elements"],
            "long_tasks": long_tasks.len(),
            "longest_task_ms": longest,
            // `[start, duration]` in ms after the content script started, beside the launcher's
            // states: which part of the work each long task was.
            "long_task_list": since_host(&long_tasks, f64_of(&seen, "hostAt")?),
            "launcher_states": later["states"],
            "long_task_error": later["longTaskError"],
            "wasm_memory": memory,
            "heap_usage": heap,
            "api_requests": api_requests(&log)?.len(),
        }))
    })
    .await
}

/// The wasm memory of the content script's module, read in the extension's isolated world: CDP
/// `Runtime.evaluate` with each execution context id in turn until one is the content script's
/// (it has `chrome.runtime.id` and the loader's instance); there, importing the glue again
/// returns the same module, whose `default()` returns the live exports.
async fn wasm_memory(e2e: &E2e) -> Value {
    const PROBE_WORLD: &str = "(async () => {\
        if (typeof chrome === 'undefined' || !chrome.runtime?.id || !globalThis.kuduDoctorInstance) return null;\
        const glue = await import(chrome.runtime.getURL('pkg/kudu_doctor.js'));\
        const exports = await glue.default({ module_or_path: chrome.runtime.getURL('pkg/kudu_doctor_bg.wasm') });\
        return exports.memory.buffer.byteLength; })()";
    let mut tried = Vec::new();
    for context in 1..=60 {
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            e2e.cdp(
                "Runtime.evaluate",
                json!({ "expression": PROBE_WORLD, "contextId": context, "awaitPromise": true, "returnByValue": true }),
            ),
        )
        .await;
        match answer {
            Err(_) => {
                return json!({ "bytes": null, "how": "the page did not answer CDP within 10 s (main thread busy)" });
            }
            Ok(Ok(answer)) => {
                if let Some(bytes) = answer["result"]["value"].as_f64() {
                    return json!({
                        "bytes": bytes,
                        "mib": bytes / (1024.0 * 1024.0),
                        "context_id": context,
                        "how": "CDP Runtime.evaluate in the content script's world: the glue's exports.memory",
                    });
                }
                tried.push(context);
            }
            Ok(Err(_)) => continue,
        }
    }
    json!({ "bytes": null, "how": "no execution context answered", "contexts_that_answered": tried })
}

/// One `/api/` request with its answer time in ms since the epoch.
#[derive(Clone, Debug)]
struct Timed {
    method: String,
    path: String,
    end_ms: f64,
}

fn api_requests(log: &[RequestRecord]) -> anyhow::Result<Vec<Timed>> {
    log.iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| {
            let at =
                VTime::parse(&r.wall_time).with_context(|| format!("wall time {}", r.wall_time))?;
            let since_epoch = at
                .to_system_time()
                .duration_since(std::time::UNIX_EPOCH)
                .context("a wall time before 1970")?;
            Ok(Timed {
                method: r.method.clone(),
                path: r.path.clone(),
                end_ms: since_epoch.as_secs_f64() * 1000.0,
            })
        })
        .collect()
}

fn since_host(tasks: &[(f64, f64)], host_at: f64) -> Value {
    tasks
        .iter()
        .map(|(start, duration)| json!([(start - host_at).round(), duration.round()]))
        .collect()
}

/// Each API answer as `[ms after the click (or other start), method, path]`, in answer order,
/// so a report shows where a run's time went. Runs of identical answers (hundreds of deletes)
/// are folded into one line with a count.
fn answers_since(api: &[Timed], clicked_at_epoch: f64) -> Value {
    let mut sorted: Vec<&Timed> = api.iter().collect();
    sorted.sort_by(|a, b| a.end_ms.total_cmp(&b.end_ms));
    let mut lines: Vec<Value> = vec![];
    let mut last_kind: Option<(String, String)> = None;
    for answer in sorted {
        let bare = answer.path.split('?').next().unwrap_or(&answer.path);
        let kind = if answer.method == "DELETE" {
            (answer.method.clone(), "(delete)".to_string())
        } else {
            (answer.method.clone(), bare.to_string())
        };
        let at = (answer.end_ms - clicked_at_epoch).round();
        if last_kind.as_ref() == Some(&kind)
            && kind.1 == "(delete)"
            && let Some(Value::Array(line)) = lines.last_mut()
        {
            let count = line.get(3).and_then(Value::as_u64).unwrap_or(1);
            line.truncate(3);
            line.push(json!(count + 1));
            continue;
        }
        lines.push(json!([at, kind.0, bare]));
        last_kind = Some(kind);
    }
    Value::Array(lines)
}

/// Sequential rounds: request B follows request A when B started (its answer time less the
/// added latency, an upper bound of its start) at or after A's answer. The longest such chain.
fn rounds(requests: &[Timed], latency_ms: f64) -> usize {
    let mut sorted: Vec<&Timed> = requests.iter().collect();
    sorted.sort_by(|a, b| a.end_ms.total_cmp(&b.end_ms));
    let mut depth = vec![0usize; sorted.len()];
    for i in 0..sorted.len() {
        let start = sorted[i].end_ms - latency_ms;
        let before = (0..i)
            .filter(|&j| sorted[j].end_ms <= start)
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth[i] = before + 1;
    }
    depth.into_iter().max().unwrap_or(0)
}

/// Whether every first-round read started before any of them completed.
fn first_round_overlaps(requests: &[Timed], latency_ms: f64) -> bool {
    let first_end = requests
        .iter()
        .map(|r| r.end_ms)
        .fold(f64::INFINITY, f64::min);
    let latest_start = requests
        .iter()
        .filter(|r| r.end_ms - latency_ms < first_end)
        .count();
    latest_start == requests.len()
}

/// The backup's share of the run: from the click to the answer of the last zip (the run
/// downloads `site/locks/` and `site/deployments/` at once), less one latency L, the round
/// trip any read takes anyway. What remains is the time Kudu took to zip and send the folders.
fn zip_download(
    api: &[Timed],
    log: &[RequestRecord],
    clicked_at_epoch: f64,
    latency_ms: f64,
) -> Value {
    let zips: Vec<&Timed> = api
        .iter()
        .filter(|r| r.path.starts_with("/api/zip/"))
        .collect();
    let Some(last) = zips.iter().max_by(|a, b| a.end_ms.total_cmp(&b.end_ms)) else {
        return json!({ "ms": null, "note": "no /api/zip/ request in the log" });
    };
    json!({
        "ms": (last.end_ms - clicked_at_epoch - latency_ms).max(0.0),
        "paths": zips.iter().map(|z| z.path.clone()).collect::<Vec<_>>(),
        "statuses": zips
            .iter()
            .map(|z| log.iter().find(|r| r.path == z.path).map(|r| r.status))
            .collect::<Vec<_>>(),
        "how": "answer time of the last zip after the click, less one latency L (sim log)",
    })
}

fn by_method(log: &[RequestRecord]) -> Value {
    let mut counts = serde_json::Map::new();
    for record in log {
        let entry = counts.entry(record.method.clone()).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + 1);
    }
    Value::Object(counts)
}

/// The first `temp-*` record of the loaded scenario.
fn temp_template(kudu: &Kudu) -> anyhow::Result<String> {
    let entries = kudu.home.list(DEPLOYMENTS)?;
    entries
        .into_iter()
        .find(|e| e.is_dir && e.name.starts_with("temp-"))
        .map(|e| e.name)
        .context("the scenario has no temp-* folder to copy")
}

/// A finished deployment record of the loaded scenario.
fn record_template(kudu: &Kudu) -> anyhow::Result<(String, StatusFile)> {
    for entry in kudu.home.list(DEPLOYMENTS)? {
        if !entry.is_dir || entry.name.starts_with("temp-") {
            continue;
        }
        let status = kudu
            .home
            .read_string(&format!("{DEPLOYMENTS}/{}/status.xml", entry.name))
            .and_then(|xml| StatusFile::parse(&xml));
        if let Some(status) = status.filter(|s| s.complete) {
            return Ok((entry.name, status));
        }
    }
    bail!("the scenario has no finished deployment to copy")
}

/// Copies every file of record `from` to `to`, with the id replaced.
fn copy_record(kudu: &mut Kudu, from: &str, to: &str) -> anyhow::Result<()> {
    let now = kudu.now;
    let dir = format!("{DEPLOYMENTS}/{from}");
    for entry in kudu.home.list(&dir)? {
        if entry.is_dir {
            continue;
        }
        let text = kudu
            .home
            .read_string(&format!("{dir}/{}", entry.name))
            .unwrap_or_default()
            .replace(from, to);
        kudu.home.write(
            &format!("{DEPLOYMENTS}/{to}/{}", entry.name),
            text.as_bytes(),
            now,
        )?;
    }
    Ok(())
}

/// Adds `count` stale `temp-*` folders, copies of the scenario's own leftover.
fn add_temp_folders(kudu: &mut Kudu, count: usize) -> anyhow::Result<usize> {
    let template = temp_template(kudu)?;
    for index in 0..count {
        let id = format!("temp-b{index:07x}");
        copy_record(kudu, &template, &id)?;
    }
    Ok(count)
}

/// Adds finished deployment records until there are `count`, each two hours before the last.
fn add_records(kudu: &mut Kudu, count: usize) -> anyhow::Result<usize> {
    let (template_id, template) = record_template(kudu)?;
    let existing = kudu
        .home
        .list(DEPLOYMENTS)?
        .into_iter()
        .filter(|e| e.is_dir && !e.name.starts_with("temp-"))
        .count();
    let now = kudu.now;
    let mut added = 0;
    for index in existing..count {
        let id = format!("{:032x}", 0xbe_0000_u64 + index as u64);
        copy_record(kudu, &template_id, &id)?;
        let shift = -(2 * 3600 * (index as i64 + 1));
        let status = StatusFile {
            id: id.clone(),
            received_time: template.received_time.plus_secs(shift),
            start_time: template.start_time.plus_secs(shift),
            end_time: template.end_time.map(|t| t.plus_secs(shift)),
            last_success_end_time: template.last_success_end_time.map(|t| t.plus_secs(shift)),
            ..template.clone()
        };
        kudu.home.write(
            &format!("{DEPLOYMENTS}/{id}/status.xml"),
            status.to_xml(kudu.personality).as_bytes(),
            now,
        )?;
        added += 1;
    }
    Ok(existing + added)
}

#[test]
fn rounds_count_sequential_chains_only() {
    let timed = |path: &str, end_ms: f64| Timed {
        method: "GET".into(),
        path: path.into(),
        end_ms,
    };
    // Three parallel reads answered within 30 ms of each other at L = 200: one round.
    let one = [
        timed("/a", 1200.0),
        timed("/b", 1210.0),
        timed("/c", 1230.0),
    ];
    assert_eq!(rounds(&one, 200.0), 1);
    assert!(first_round_overlaps(&one, 200.0));
    // A follow-up sent after the first answers: two rounds.
    let two = [
        timed("/a", 1200.0),
        timed("/b", 1210.0),
        timed("/log", 1450.0),
    ];
    assert_eq!(rounds(&two, 200.0), 2);
    assert!(!first_round_overlaps(&two, 200.0));
    assert_eq!(rounds(&[], 200.0), 0);
}
