//! The Windows process model (README "Processes"): Kudu's w3wp, the site's w3wp and a running
//! build's `cmd` and `node`, whose CPU time follows the virtual clock while the build works and
//! stands still once it hangs.

mod common;

use common::start;
use kudu_sim::Personality;

/// `(name, total_cpu_time)` of every listed process, read in detail.
async fn processes(f: &common::Fixture) -> Vec<(String, String, serde_json::Value)> {
    let list = f.get_json("/api/processes").await;
    assert_eq!(list.status, 200);
    let mut out = vec![];
    for p in list.json().as_array().unwrap() {
        let id = p["id"].as_u64().unwrap();
        let details = f.get_json(&format!("/api/processes/{id}")).await.json();
        out.push((
            details["name"].as_str().unwrap().to_string(),
            details["total_cpu_time"].as_str().unwrap().to_string(),
            details,
        ));
    }
    out
}

fn node(
    list: &[(String, String, serde_json::Value)],
) -> Option<&(String, String, serde_json::Value)> {
    list.iter().find(|(name, _, _)| name == "node")
}

#[tokio::test]
async fn a_quiet_build_uses_cpu_and_a_hung_one_does_not() {
    let quiet = start(Personality::Windows, "quiet-build").await;
    let before = processes(&quiet).await;
    let (_, cpu_before, details) = node(&before).expect("the build's node runs").clone();
    assert_eq!(details["is_scm_site"], true);
    assert!(
        details["command_line"]
            .as_str()
            .unwrap()
            .contains("npm-cli.js")
    );
    quiet.sim.advance(5);
    let after = processes(&quiet).await;
    assert_ne!(
        node(&after).unwrap().1,
        cpu_before,
        "CPU time moves while the log is quiet"
    );

    let stuck = start(Personality::Windows, "stuck-windows").await;
    let before = processes(&stuck).await;
    let cpu_before = node(&before)
        .expect("the hung build's node is still there")
        .1
        .clone();
    stuck.sim.advance(5);
    assert_eq!(node(&processes(&stuck).await).unwrap().1, cpu_before);
    let kudu = stuck.get_json("/api/processes/0").await.json();
    let handles = kudu["open_file_handles"].as_array().unwrap();
    assert!(
        handles
            .iter()
            .any(|h| h.as_str().unwrap().ends_with("deployments.lock")),
        "Kudu's w3wp holds the lock: {handles:?}"
    );
    assert!(!kudu["children"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_build_processes_end_when_kudu_restarts_and_linux_has_none() {
    let f = start(Personality::Windows, "stuck-windows").await;
    assert!(node(&processes(&f).await).is_some());
    let restart = f.delete("/api/processes/0", &[]).await;
    assert_eq!(restart.status, 200);
    // Kudu answers 503 while it starts again (switch `restart_downtime_ms`).
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let after = processes(&f).await;
    assert!(node(&after).is_none(), "{after:?}");
    assert!(after.iter().all(|(name, _, _)| name == "w3wp"));

    let linux = start(Personality::Linux, "stuck-linux").await;
    let list = linux.get("/api/processes").await;
    assert_eq!(list.status, 400);
}
