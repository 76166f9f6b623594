//! Reads that decide a delete are fresh (issue 16). Kudu sends `ETag` and `Last-Modified` on
//! VFS files, so a browser may answer a second read of `info.lock` from its cache, and a front
//! end could add caching headers of its own; here the simulator sends the worst case
//! (`Cache-Control: private, max-age=600`, switch `vfs_max_age_secs`).
//!
//! Every read the app and the loader send is `cache: "no-store"`, which makes the browser
//! bypass its cache and send `Cache-Control: no-cache` (the Fetch standard, "HTTP-network-or-
//! cache fetch"): the request log shows it on every read, and a lock released between two
//! reads is seen released. (Chromium keeps no HTTP cache for a site whose certificate it was
//! told to ignore, as the tests' is, so the header is the evidence that holds on a real site.)

use std::time::Duration;

use kudu_e2e::cleanup_support::{cleanup_sim_config, user_click};
use kudu_e2e::kudu_sim::Personality;
use kudu_e2e::{run, site_url};

const SCM: &str = "myapp.scm.azurewebsites.net";
const INFO_LOCK: &str = "/api/vfs/site/locks/deployment/info.lock";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_bypasses_the_cache_and_a_released_lock_is_seen_released() -> anyhow::Result<()>
{
    let mut config = cleanup_sim_config("stuck-linux", Personality::Linux)?;
    config.quirks.vfs_max_age_secs = Some(600);
    run("fresh-reads-lock-released", config, |e2e| async move {
        e2e.goto(&site_url(SCM, "/")).await?;
        e2e.wait_for_launcher_state("stale-lock").await?;
        e2e.open_wizard().await?;
        let reads_of_the_lock = || {
            e2e.sim
                .requests()
                .iter()
                .filter(|r| r.method == "GET" && r.path == INFO_LOCK)
                .count()
        };
        let before = reads_of_the_lock();
        assert!(before >= 1, "the first round read info.lock");
        // Kudu restarts and deletes its lock directory at startup (facts §2.3): the lock
        // file the browser read a moment ago, cacheable for ten minutes, is gone.
        e2e.sim.restart_kudu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        user_click(&e2e, "[data-testid=refresh]").await?;
        e2e.wait_for("the refresh to read info.lock again at Kudu", || async {
            Ok((reads_of_the_lock() > before).then_some(()))
        })
        .await?;
        e2e.wait_for("a diagnosis without the released lock", || async {
            let state = e2e.launcher().await?.attr("data-state").await?;
            Ok(state
                .filter(|s| s != "checking" && s != "stale-lock")
                .map(|_| ()))
        })
        .await?;
        let cached: Vec<String> = e2e
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/"))
            .filter(|r| r.cache_control.as_deref() != Some("no-cache"))
            .map(|r| format!("{} (Cache-Control {:?})", r.path, r.cache_control))
            .collect();
        assert!(
            cached.is_empty(),
            "reads that may come from the browser's cache: {cached:#?}"
        );
        Ok(())
    })
    .await
}
