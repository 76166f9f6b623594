//! The loader's early first round (issue 6): once `extension/content.js` decides to load the
//! app (its probe saw the site busy, or the user opens the launcher: issue 17), it sends the
//! diagnosis reads while the wasm downloads and compiles, and hands the pending replies to the
//! app. The app uses each of them instead of reading again, and sends a read itself when the
//! loader's request for it failed below HTTP.

use kudu_e2e::kudu_sim::{FaultKind, FaultRule, RequestRecord, SimConfig};
use kudu_e2e::{E2e, browser_sim_config, run, site_url, test_extension_dir};

const SCM_HOST: &str = "myapp.scm.azurewebsites.net";

/// The loader's probe on Linux (`extension/content.js`): read before the first round, and
/// again by it.
const PROBE_PATHS: [&str; 2] = [
    "/api/isdeploying",
    "/api/vfs/site/locks/deployment/info.lock",
];

/// The first-round paths (without their query) as the loader has them: the list
/// `cargo xtask dist` wrote into the test build's `loader-config.js` from kudu-core.
fn first_round_paths() -> anyhow::Result<Vec<String>> {
    let script = std::fs::read_to_string(test_extension_dir()?.join("loader-config.js"))?;
    let marker = "globalThis.kuduDoctorFirstReads = Object.freeze(";
    let start = script
        .find(marker)
        .map(|at| at + marker.len())
        .ok_or_else(|| anyhow::anyhow!("loader-config.js has no first-round list: {script}"))?;
    let end = script[start..]
        .find(");")
        .map(|at| start + at)
        .ok_or_else(|| anyhow::anyhow!("the first-round list does not end"))?;
    let reads: Vec<serde_json::Value> = serde_json::from_str(&script[start..end])?;
    let paths: Vec<String> = reads
        .iter()
        .filter_map(|read| read["path"].as_str())
        .map(|path| without_query(path).to_owned())
        .collect();
    anyhow::ensure!(paths.len() >= 10, "too few first-round reads: {paths:?}");
    Ok(paths)
}

fn without_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// How many `GET`s of `path` (any query) the simulator answered.
fn times_read(log: &[RequestRecord], path: &str) -> usize {
    log.iter()
        .filter(|record| record.method == "GET" && without_query(&record.path) == path)
        .count()
}

/// A stale lock on Linux: no polling, so the log holds one round and its follow-ups.
fn stale_lock_site() -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        scenario: "stale-lock-linux".to_owned(),
        ..browser_sim_config()?
    })
}

/// Loads the SCM page and waits for the launcher to name a cause.
async fn diagnosed(e2e: &E2e) -> anyhow::Result<String> {
    e2e.goto(&site_url(SCM_HOST, "/")).await?;
    e2e.settled_launcher_state().await
}

async fn shows_read_errors(e2e: &E2e) -> anyhow::Result<bool> {
    let found = e2e
        .in_shadow("return !!root?.querySelector('[data-testid=\"read-errors\"]');")
        .await?;
    Ok(found.as_bool() == Some(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loaders_first_round_is_read_once_and_used() -> anyhow::Result<()> {
    let paths = first_round_paths()?;
    run("prefetch-read-once", stale_lock_site()?, |e2e| async move {
        e2e.sim.clear_requests();
        let cause = diagnosed(&e2e).await?;
        assert_eq!(cause, "stale-lock");
        let log = e2e.sim.requests();
        for path in &paths {
            let probe = usize::from(PROBE_PATHS.contains(&path.as_str()));
            // The round lists site/deployments/ again after the deployment list when that
            // listing shows a folder Kudu's list read may purge: a follow-up, not the prefetch.
            let follow_up = usize::from(path == "/api/vfs/site/deployments/");
            let read = times_read(&log, path);
            assert!(
                (1 + probe..=1 + probe + follow_up).contains(&read),
                "{path} must be read once by the first round (and once by the probe), read \
                 {read} times: {:?}",
                log.iter().map(|r| &r.path).collect::<Vec<_>>()
            );
        }
        // Every first-round read carried the user's session, like the app's own reads.
        assert!(
            log.iter()
                .filter(|r| paths.iter().any(|p| p == without_query(&r.path)))
                .all(|r| r.session_cookie && r.authorization.is_none()),
            "{log:?}"
        );
        // The list and `latest` carry one cache-busting number: the loader's, handed to the app.
        let busts: Vec<&str> = log
            .iter()
            .filter(|r| {
                r.path.starts_with("/api/deployments?")
                    || r.path.starts_with("/api/deployments/latest?")
            })
            .filter_map(|r| r.path.split_once("?_=").map(|(_, bust)| bust))
            .collect();
        assert_eq!(busts.len(), 2, "{busts:?}");
        assert_eq!(busts[0], busts[1]);
        assert!(!shows_read_errors(&e2e).await?);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_early_read_is_sent_again_by_the_app() -> anyhow::Result<()> {
    run(
        "prefetch-falls-back",
        stale_lock_site()?,
        |e2e| async move {
            e2e.sim.clear_requests();
            // The probe's read and then the loader's early one close unanswered (the probe,
            // with no answer, has the app diagnose).
            e2e.sim.add_fault(FaultRule {
                prefix: "/api/isdeploying".to_owned(),
                kind: FaultKind::Drop,
                count: Some(2),
            });
            let cause = diagnosed(&e2e).await?;
            assert_eq!(cause, "stale-lock");
            let log = e2e.sim.requests();
            assert_eq!(
                times_read(&log, "/api/isdeploying"),
                3,
                "the probe's and the loader's dropped reads, then the app's own: {:?}",
                log.iter().map(|r| (&r.path, r.status)).collect::<Vec<_>>()
            );
            assert!(
                !shows_read_errors(&e2e).await?,
                "the app's own read succeeded, so nothing failed"
            );
            Ok(())
        },
    )
    .await
}
