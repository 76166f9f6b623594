//! Helpers for the cleanup end-to-end tests (`tests/cleanup.rs`): a real zip deploy to the
//! simulator over HTTPS with Basic auth, the deployment status and `wwwroot` listing after it,
//! the browser's downloads into a per-test folder, and the backup zip opened with its nested
//! archives.
//!
//! The simulator serves a self-signed certificate, so the HTTP client here skips certificate
//! checks; it only ever connects to the test's own simulator on 127.0.0.1.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kudu_sim::{Personality, SimConfig, SimHandle, app_zip};
use serde_json::{Value, json};

use crate::{E2e, browser_sim_config};

/// A browser-test simulator whose scenario "now" is the wall clock's now: the app takes its
/// clock from the replies' `Date` header, which is real time, while the simulator's times are
/// virtual (see the kudu-sim README, "Clock").
pub fn cleanup_sim_config(scenario: &str, personality: Personality) -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        scenario: scenario.into(),
        personality,
        wall_clock: true,
        ..browser_sim_config()?
    })
}

/// An answer from the simulator.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// `https://127.0.0.1:PORT<path>`: the simulator by address (its site is then `myapp`).
fn sim_url(sim: &SimHandle, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", sim.addr.port())
}

fn answer(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<Answer> {
    let mut response = response.context("no HTTP answer from the simulator")?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .context("reading the simulator's answer")?;
    Ok(Answer { status, body })
}

/// `POST /api/zipdeploy?isAsync=true` with the app's zip (version `version`), as a CI
/// pipeline does. Blocking: call it from `spawn_blocking`.
pub fn push_zip_blocking(sim: &SimHandle, version: u32) -> anyhow::Result<Answer> {
    let url = sim_url(sim, "/api/zipdeploy?isAsync=true&deployer=e2e-cleanup");
    answer(
        agent()
            .post(&url)
            .header("Authorization", sim.basic_auth_default())
            .header("Content-Type", "application/zip")
            .send(&app_zip(version)[..]),
    )
}

/// A GET with Basic auth. Blocking.
pub fn get_blocking(sim: &SimHandle, path: &str) -> anyhow::Result<Answer> {
    answer(
        agent()
            .get(&sim_url(sim, path))
            .header("Authorization", sim.basic_auth_default())
            .header("Accept", "application/json")
            .call(),
    )
}

/// [`push_zip_blocking`] off the async runtime.
pub async fn push_zip(sim: &std::sync::Arc<SimHandle>, version: u32) -> anyhow::Result<Answer> {
    let sim = sim.clone();
    tokio::task::spawn_blocking(move || push_zip_blocking(&sim, version)).await?
}

/// [`get_blocking`] off the async runtime.
pub async fn get(sim: &std::sync::Arc<SimHandle>, path: &str) -> anyhow::Result<Answer> {
    let sim = sim.clone();
    let path = path.to_string();
    tokio::task::spawn_blocking(move || get_blocking(&sim, &path)).await?
}

/// Polls `/api/deployments/latest` until it is no longer 202 and returns its `status`
/// (4 = success), as deploy tools do after an async push.
pub async fn latest_status_when_done(sim: &std::sync::Arc<SimHandle>) -> anyhow::Result<i64> {
    let deadline = Instant::now() + crate::WAIT;
    loop {
        let latest = get(sim, "/api/deployments/latest").await?;
        if latest.status == 200 {
            return latest.json()?["status"]
                .as_i64()
                .context("latest has no status");
        }
        if Instant::now() >= deadline || latest.status != 202 {
            bail!("latest: HTTP {}: {}", latest.status, latest.body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The names in a VFS folder listing (`site/wwwroot/`).
pub async fn vfs_names(sim: &std::sync::Arc<SimHandle>, dir: &str) -> anyhow::Result<Vec<String>> {
    let listing = get(sim, &format!("/api/vfs/{dir}")).await?;
    if listing.status != 200 {
        bail!("listing {dir}: HTTP {}: {}", listing.status, listing.body);
    }
    Ok(listing
        .json()?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["name"].as_str().map(String::from))
        .collect())
}

/// Lets the test's browser save downloads into `dir` without asking.
pub async fn allow_downloads(e2e: &E2e, dir: &Path) -> anyhow::Result<()> {
    let path = dir.to_string_lossy().into_owned();
    let browser = e2e
        .cdp(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": path }),
        )
        .await;
    if browser.is_err() {
        e2e.cdp(
            "Page.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": path }),
        )
        .await?;
    }
    Ok(())
}

/// Waits for one finished download in `dir` (Chromium writes `*.crdownload` until done).
pub async fn downloaded_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let deadline = Instant::now() + crate::WAIT;
    loop {
        let mut done = vec![];
        let mut partial = false;
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "crdownload") {
                partial = true;
            } else {
                done.push(path);
            }
        }
        if !partial && done.len() == 1 {
            return Ok(done.remove(0));
        }
        if done.len() > 1 {
            bail!("more than one download: {done:?}");
        }
        if Instant::now() >= deadline {
            bail!("no download arrived in {}", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The entry names of a zip.
pub fn zip_names(bytes: &[u8]) -> anyhow::Result<Vec<String>> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip")?;
    archive
        .file_names()
        .map(|name| Ok(name.context("an entry name")?.into_owned()))
        .collect()
}

/// One entry of a zip, read whole.
pub fn zip_entry(bytes: &[u8], name: &str) -> anyhow::Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip")?;
    let mut entry = archive
        .by_name(name)
        .with_context(|| format!("no {name} in the zip"))?;
    let mut out = vec![];
    entry.read_to_end(&mut out)?;
    Ok(out)
}

/// Clicks an element in the shadow root through WebDriver: real, trusted user input.
pub async fn user_click(e2e: &E2e, selector: &str) -> anyhow::Result<()> {
    let element = e2e.shadow_element(selector).await?;
    element
        .click()
        .await
        .with_context(|| format!("clicking {selector}"))?;
    Ok(())
}

/// When the open confirmation asks for the user's word that nothing is deploying (the plan
/// rests on silence alone), ticks it as a user does; returns whether it was asked.
pub async fn give_word_if_asked(e2e: &E2e) -> anyhow::Result<bool> {
    e2e.shadow_element("[data-testid=confirm-panel]").await?;
    let asked = e2e
        .in_shadow("return !!root?.querySelector('[data-testid=confirm-panel] [data-testid=ack-no-deployment]');")
        .await?;
    if asked != serde_json::Value::Bool(true) {
        return Ok(false);
    }
    user_click(
        e2e,
        "[data-testid=confirm-panel] [data-testid=ack-no-deployment]",
    )
    .await?;
    Ok(true)
}

/// When the run waits for the user's word that they hold the backup (`backup-saved` is on
/// screen), gives it with a trusted click as a user does; returns whether it was asked. The
/// button may go between the look and the click (the run took an earlier click in), which is
/// not an error.
pub async fn confirm_backup_if_asked(e2e: &E2e) -> anyhow::Result<bool> {
    let asked = e2e
        .in_shadow("return !!root?.querySelector('[data-testid=backup-saved]');")
        .await?;
    if asked != serde_json::Value::Bool(true) {
        return Ok(false);
    }
    let _ = user_click(e2e, "[data-testid=backup-saved]").await;
    Ok(true)
}

/// Waits until the run shows the backup and waits for the user's word (`backup-saved`), and
/// returns the file name and size it shows; fails if the run ends first.
pub async fn backup_awaiting_confirmation(
    e2e: &E2e,
    wait: Duration,
) -> anyhow::Result<(String, u64)> {
    let deadline = Instant::now() + wait;
    loop {
        let shown = e2e
            .in_shadow(
                "const r = root?.querySelector('[data-testid=backup-ready][data-awaiting=true]'); \
                 return r && root.querySelector('[data-testid=backup-saved]') \
                   ? [r.getAttribute('data-file-name'), r.getAttribute('data-bytes')] : null;",
            )
            .await?;
        if let Some([name, bytes]) = shown.as_array().map(Vec::as_slice)
            && let (Some(name), Some(bytes)) = (name.as_str(), bytes.as_str())
        {
            return Ok((name.to_string(), bytes.parse()?));
        }
        let outcome = e2e
            .in_shadow(
                "return root?.querySelector('[data-testid=cleanup-result]')?.getAttribute('data-outcome') ?? null;",
            )
            .await?;
        if let Some(outcome) = outcome.as_str() {
            let text = shadow_text(e2e, "[data-testid=cleanup-run]").await?;
            bail!("the run ended ({outcome}) before asking for the backup: {text}");
        }
        if Instant::now() >= deadline {
            bail!(
                "the run did not ask for the backup within {} s",
                wait.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An attribute of an element in the shadow root, once `selector` matches.
pub async fn shadow_attr(e2e: &E2e, selector: &str, name: &str) -> anyhow::Result<Option<String>> {
    let element = e2e.shadow_element(selector).await?;
    Ok(element.attr(name).await?)
}

/// The text of an element in the shadow root, once `selector` matches.
pub async fn shadow_text(e2e: &E2e, selector: &str) -> anyhow::Result<String> {
    let script = format!("return root?.querySelector({selector:?})?.textContent ?? null;");
    let value = e2e.in_shadow(&script).await?;
    Ok(value.as_str().unwrap_or_default().to_string())
}

/// The cleanup's outcome (`fixed`, `failed`, `aborted`), waiting up to `wait` for it. When
/// the run asks whether the user holds the backup, says yes with a trusted click
/// ([`confirm_backup_if_asked`]), as every user who goes on does.
pub async fn cleanup_outcome(e2e: &E2e, wait: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + wait;
    loop {
        confirm_backup_if_asked(e2e).await?;
        let outcome = e2e
            .in_shadow(
                "return root?.querySelector('[data-testid=cleanup-result]')?.getAttribute('data-outcome') ?? null;",
            )
            .await?;
        if let Some(outcome) = outcome.as_str() {
            return Ok(outcome.to_string());
        }
        if Instant::now() >= deadline {
            let log = shadow_text(e2e, "[data-testid=cleanup-run]").await?;
            bail!(
                "no cleanup outcome within {} s; the run says: {log}",
                wait.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Methods and paths of the DELETEs the simulator received.
pub fn deletes(sim: &SimHandle) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect()
}
