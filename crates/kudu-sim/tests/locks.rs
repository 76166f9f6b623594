//! Lock semantics against kudu-facts.md §2: Linux `info.lock` with its expiry, cache and
//! restart clearing; Windows handle-held `deployments.lock`; `status.lock` denied; malware scan;
//! cancelling a deployment; the process API.

mod common;

use common::{BOTH, start, start_with};
use kudu_sim::{Personality, Quirks, SimConfig};

const IN_PROGRESS: &str =
    "There is a deployment currently in progress. Please try again when it completes.";

fn config(p: Personality) -> SimConfig {
    SimConfig {
        personality: p,
        build_ms: 3_600_000,
        password: Some("pw".into()),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn linux_info_lock_is_kudus_json_with_a_1500_s_expiry() {
    let f = start_with(config(Personality::Linux)).await;
    let now = f.sim.now();
    assert_eq!(f.push_async("x").await.status, 202);
    let info = f.get("/api/vfs/site/locks/deployment/info.lock").await;
    assert_eq!(info.status, 200);
    let expiry = now.plus_secs(1500).to_json();
    assert!(
        info.body
            .starts_with(&format!("{{\"lockExpiry\":\"{expiry}\",\"heldByPID\":")),
        "{}",
        info.body
    );
    assert!(
        info.body
            .contains(",\"heldByOp\":\"Performing continuous deployment\",\"heldByWorker\":\"")
    );
    // No deployments.lock on Linux.
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        404
    );
}

#[tokio::test]
async fn linux_lock_past_its_expiry_stops_blocking_by_default() {
    let f = start_with(config(Personality::Linux)).await;
    assert_eq!(f.push_async("x").await.status, 202);
    f.sim.hang_deployment();
    f.sim.advance(1499);
    assert_eq!(f.push_async("y").await.status, 409);
    f.sim.advance(2);
    // IsHeld finds the expiry past and deletes the lock dir; this push takes a fresh lock.
    assert_eq!(f.push_async("z").await.status, 202);
}

#[tokio::test]
async fn stale_lock_linux_keeps_blocking_past_its_expiry() {
    let f = start(Personality::Linux, "stale-lock-linux").await;
    let info = f
        .get("/api/vfs/site/locks/deployment/info.lock")
        .await
        .json();
    let expiry = kudu_sim::VTime::parse(info["lockExpiry"].as_str().unwrap()).unwrap();
    assert!(
        expiry < f.sim.now(),
        "the scenario's lock must be past its expiry"
    );
    let resp = f.push_async("x").await;
    assert_eq!((resp.status, resp.body.as_str()), (409, IN_PROGRESS));
    assert!(f.get("/api/isdeploying").await.body.contains("\"True\""));
}

#[tokio::test]
async fn editing_the_expiry_does_not_beat_the_process_cache_but_deleting_does() {
    let f = start_with(config(Personality::Linux)).await;
    assert_eq!(f.push_async("x").await.status, 202);
    f.sim.hang_deployment();
    let past = r#"{"lockExpiry":"2020-01-01T00:00:00Z","heldByPID":1,"heldByTID":1,"heldByOp":"Performing continuous deployment","heldByWorker":"x"}"#;
    let put = f
        .send(
            "PUT",
            "/api/vfs/site/locks/deployment/info.lock",
            &[("if-match", "*")],
            past.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(put.status, 204);
    // The per-process cache still says "held" (facts §2.3).
    assert_eq!(f.push_async("y").await.status, 409);
    let del = f
        .delete(
            "/api/vfs/site/locks/deployment/info.lock",
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(f.push_async("z").await.status, 202);
}

#[tokio::test]
async fn linux_release_has_no_ownership_check() {
    let f = start_with(SimConfig {
        build_ms: 100_000,
        ..config(Personality::Linux)
    })
    .await;
    // A is building; someone deletes its lock by hand; B takes a fresh lock.
    assert_eq!(f.push_async("A").await.status, 202);
    let del = f
        .delete("/api/vfs/site/locks/deployment/?recursive=true", &[])
        .await;
    assert_eq!(del.status, 200);
    f.sim.with_kudu(|k| k.build_ms = 3_600_000);
    assert_eq!(f.push_async("B").await.status, 202);
    assert_eq!(f.push_async("C").await.status, 409);
    // A finishes and releases "its" lock, which is B's: C gets in while B still builds.
    f.sim.advance(100);
    assert_eq!(f.sim.state().workers.len(), 1);
    assert_eq!(f.push_async("C").await.status, 202);
}

#[tokio::test]
async fn kudu_restart_clears_the_linux_lock_and_kills_workers() {
    let f = start(Personality::Linux, "stuck-linux").await;
    assert_eq!(f.push_async("x").await.status, 409);
    f.sim.restart_kudu();
    assert_eq!(f.get("/api/vfs/site/locks/deployment/").await.status, 404);
    assert!(f.sim.state().workers.is_empty());
    assert_eq!(f.push_async("x").await.status, 202);
}

#[tokio::test]
async fn windows_stale_lock_file_never_blocks_while_a_held_one_cannot_be_deleted() {
    // Held: a live worker has the handle.
    let f = start(Personality::Windows, "stuck-windows").await;
    let lock = f.get("/api/vfs/site/locks/deployments.lock").await;
    assert_eq!(lock.status, 200);
    assert!(
        lock.body
            .contains("\"OperationName\": \"Performing continuous deployment\"")
    );
    let del = f
        .delete("/api/vfs/site/locks/deployments.lock", &[("if-match", "*")])
        .await;
    assert_eq!(del.status, 404);
    assert!(
        del.body
            .contains("because it is being used by another process")
    );
    let rec = f.delete("/api/vfs/site/locks/?recursive=true", &[]).await;
    assert_eq!(rec.status, 409);
    assert_eq!(
        rec.body,
        r#"{"Message":"Cannot delete directory. It is either not empty or access is not allowed."}"#
    );
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        200
    );
    let push = f.push_async("x").await;
    assert_eq!(push.status, 409);

    // Stale: the file is there but no process holds it.
    let f = start(Personality::Windows, "stale-files-windows").await;
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        200
    );
    assert_eq!(f.push_async("x").await.status, 202);
}

#[tokio::test]
async fn windows_isheld_deletes_the_stale_file_itself() {
    let f = start(Personality::Windows, "stale-files-windows").await;
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        200
    );
    f.get_json("/api/deployments?_=1").await;
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        404
    );
}

#[tokio::test]
async fn processes_api_restarts_kudu_on_windows_and_is_400_on_linux() {
    let f = start_with(SimConfig {
        personality: Personality::Windows,
        scenario: "stuck-windows".into(),
        password: Some("pw".into()),
        quirks: Quirks {
            restart_downtime_ms: 1500,
            ..Quirks::default()
        },
        ..SimConfig::default()
    })
    .await;
    let list = f.get_json("/api/processes").await.json();
    // Kudu's w3wp, the app's, and the hung build's cmd with its node (the process model).
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["cmd", "node", "w3wp", "w3wp"]);
    let scm = f.get_json("/api/processes/0").await.json();
    assert_eq!(scm["is_scm_site"], true);
    assert!(
        scm["open_file_handles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == "D:\\home\\site\\locks\\deployments.lock"),
        "{scm}"
    );
    let app = f.send("DELETE", "/api/processes/-1", &[], Vec::new()).await;
    assert_eq!(app.status, 200);
    assert_eq!(f.sim.state().app_restarts, 1);
    assert_eq!(
        f.push_async("x").await.status,
        409,
        "an app restart does not free Kudu's lock"
    );
    let kill = f.send("DELETE", "/api/processes/0", &[], Vec::new()).await;
    assert_eq!(kill.status, 200);
    // Kudu is briefly unavailable, then answers again with the lock released.
    assert_eq!(f.get("/api/environment").await.status, 503);
    let mut status = 503;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status = f.get("/api/environment").await.status;
        if status != 503 {
            break;
        }
    }
    assert_eq!(status, 200);
    assert_eq!(f.push_async("x").await.status, 202);

    let f = start(Personality::Linux, "healthy").await;
    for (method, path) in [("GET", "/api/processes"), ("DELETE", "/api/processes/0")] {
        let r = f.send(method, path, &[], Vec::new()).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (400, "\"Not supported on Linux\"")
        );
    }
}

#[tokio::test]
async fn status_lock_denied_fails_deployment_reads_with_500() {
    let f = start(Personality::Linux, "status-lock-denied").await;
    for path in ["/api/deployments", "/api/deployments/latest"] {
        let r = f.get(path).await;
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body,
            "The 'Getting deployment status' operation conflicts with the pending 'unknown' operation started at unknown.  Please retry operation later. Access to the path '/home/site/locks/status.lock' is denied."
        );
    }
    assert_eq!(f.push_async("x").await.status, 500);
    // Deleting the file fixes it (a new one gets the right owner).
    let del = f
        .delete("/api/vfs/site/locks/status.lock", &[("if-match", "*")])
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(f.get("/api/deployments").await.status, 200);
}

#[tokio::test]
async fn malware_scan_holds_the_lock_with_scan_underway() {
    let f = start(Personality::Linux, "scan-underway").await;
    let r = f.get("/api/isdeploying").await;
    assert_eq!(r.body, r#"{"value":"True","msg":"Scan Underway"}"#);
    assert_eq!(f.push_async("x").await.status, 409);
    f.sim.advance(15 * 60);
    assert_eq!(
        f.get("/api/isdeploying").await.body,
        r#"{"value":"False","msg":""}"#
    );
    assert_eq!(f.push_async("x").await.status, 202);
}

#[tokio::test]
async fn cancelling_leaves_the_state_kudu_leaves() {
    for p in BOTH {
        let f = start_with(config(p)).await;
        assert_eq!(f.push_async("x").await.status, 202);
        f.sim.advance(20);
        let killed = f
            .client
            .post(f.url("/_sim/deployment/kill"))
            .send()
            .await
            .unwrap();
        assert_eq!(killed.status(), 200);
        let locks = f.get("/api/vfs/site/locks/").await.body;
        match p {
            // The dir stays until it expires or Kudu restarts.
            Personality::Linux => {
                assert!(locks.contains("\"deployment\""));
                assert_eq!(f.push_async("y").await.status, 409);
            }
            // The handle died with the process: a stale file that does not block.
            Personality::Windows => {
                assert!(locks.contains("deployments.lock"));
                assert_eq!(f.push_async("y").await.status, 202);
            }
        }
    }
}

#[tokio::test]
async fn client_disconnect_on_a_sync_push_kills_its_worker() {
    let f = start_with(config(Personality::Windows)).await;
    {
        let push = f.send("POST", "/api/zipdeploy", &[], kudu_sim::app_zip(1));
        tokio::pin!(push);
        tokio::select! {
            _ = &mut push => panic!("the sync push must wait for its build"),
            () = f.wait_for_workers(1) => {}
        }
        // Leaving the block drops the request: the client hangs up.
    }
    // Give the server a moment to notice the closed connection.
    let mut workers = f.sim.state().workers.len();
    for _ in 0..500 {
        if workers == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        workers = f.sim.state().workers.len();
    }
    assert_eq!(workers, 0);
    // Windows: the stale lock file remains and does not block.
    assert_eq!(
        f.get("/api/vfs/site/locks/deployments.lock").await.status,
        200
    );
    assert_eq!(f.push_async("again").await.status, 202);
}

#[tokio::test]
async fn expiry_switch_can_be_flipped_at_run_time() {
    let f = start_with(config(Personality::Linux)).await;
    f.sim.set_quirks(Quirks {
        lock_expiry_honoured: false,
        ..Quirks::default()
    });
    assert_eq!(f.push_async("x").await.status, 202);
    f.sim.hang_deployment();
    f.sim.advance(4000);
    assert_eq!(f.push_async("y").await.status, 409);
}

#[tokio::test]
async fn killing_a_sync_push_drops_its_connection() {
    let f = start_with(config(Personality::Linux)).await;
    let push = f
        .client
        .post(f.url("/api/zipdeploy"))
        .header("authorization", &f.auth)
        .body(kudu_sim::app_zip(1))
        .send();
    let kill = async {
        f.wait_for_workers(1).await;
        f.sim.kill_deployment();
    };
    let (resp, ()) = tokio::join!(push, kill);
    let complete = match resp {
        Err(_) => false,
        Ok(r) => r.text().await.is_ok(),
    };
    assert!(!complete, "a killed Kudu process sends no answer");
    assert_eq!(f.sim.requests().last().unwrap().status, 0);
}
