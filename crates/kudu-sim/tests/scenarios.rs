//! Every scenario loads in each of its personalities and shows the state kudu-facts.md
//! describes for it (§3.3 and friends). Also the smaller read APIs.

mod common;

use common::{BOTH, Fixture, TraceName, names, stamp_time, start, start_with, start_with_quirks};
use kudu_sim::{Personality, Quirks, SCENARIOS, SimConfig, VTime};

/// What a scenario must look like through the API.
struct Expect {
    lock_file: bool,
    is_deploying: Option<&'static str>,
    latest: u16,
    push: u16,
}

async fn observe(f: &Fixture, p: Personality) -> (bool, Option<String>, u16) {
    let lock_path = match p {
        Personality::Linux => "/api/vfs/site/locks/deployment/info.lock",
        Personality::Windows => "/api/vfs/site/locks/deployments.lock",
    };
    let lock_file = f.get(lock_path).await.status == 200;
    let is_deploying = match p {
        Personality::Linux => Some(
            f.get_json("/api/isdeploying").await.json()["msg"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
        Personality::Windows => None,
    };
    let latest = f.get_json("/api/deployments/latest").await.status;
    (lock_file, is_deploying, latest)
}

fn expectation(name: &str, p: Personality) -> Expect {
    let linux = p == Personality::Linux;
    let busy = |msg: &'static str| Expect {
        lock_file: true,
        is_deploying: linux.then_some(msg),
        latest: 202,
        push: 409,
    };
    let free = |push: u16| Expect {
        lock_file: false,
        is_deploying: linux.then_some(""),
        latest: 200,
        push,
    };
    match name {
        "healthy" | "session-expired" => free(202),
        "deploying" | "stuck-linux" | "stuck-windows" | "stale-lock-linux" => {
            busy("Deployment Underway")
        }
        "parallel" => busy("Deployment Underway"),
        // A live build past the Linux expiry, a silent live build, a lock that survived a
        // restart: all still block.
        "long-build" | "quiet-build" | "restarted-holder" => busy("Deployment Underway"),
        // Held by the second instance; the shared HOME shows it to the first, where these
        // cookie-less requests land.
        "held-elsewhere" => busy("Deployment Underway"),
        "partial-deploy" | "two-outputs" => free(202),
        // The cancelled run's lock outlives it; every record is complete, so `latest` is 200.
        "cancelled-retried" => Expect {
            latest: 200,
            ..busy("Deployment Underway")
        },
        // The stale file is there until IsHeld deletes it; `latest` marks the incomplete
        // records Failed at once (Windows VerifyDeployment), so it is 200.
        "stale-files-windows" => Expect {
            lock_file: true,
            is_deploying: None,
            latest: 200,
            push: 202,
        },
        "run-from-package-url" | "autoswap" => free(409),
        "scan-underway" => Expect {
            lock_file: true,
            is_deploying: Some("Scan Underway"),
            latest: 200,
            push: 409,
        },
        "status-lock-denied" => Expect {
            lock_file: false,
            is_deploying: Some(""),
            latest: 500,
            push: 500,
        },
        other => panic!("no expectation for {other}"),
    }
}

#[tokio::test]
async fn every_scenario_shows_its_state() {
    for scenario in SCENARIOS {
        if scenario.name == "flex-consumption" {
            // No VFS, isdeploying or zipdeploy there: its own test below.
            continue;
        }
        for &p in scenario.personalities {
            let f = start(p, scenario.name).await;
            if scenario.name == "session-expired" {
                // Basic auth still works; the browser's cookie does not (tested in shell.rs).
                assert_eq!(f.sim.state().scenario, "session-expired");
            }
            let expect = expectation(scenario.name, p);
            let (lock_file, is_deploying, latest) = observe(&f, p).await;
            let label = format!("{} ({})", scenario.name, p.name());
            assert_eq!(lock_file, expect.lock_file, "{label}: lock file");
            assert_eq!(
                is_deploying.as_deref(),
                expect.is_deploying,
                "{label}: isdeploying"
            );
            assert_eq!(latest, expect.latest, "{label}: latest");
            assert_eq!(
                f.push_async("probe").await.status,
                expect.push,
                "{label}: push"
            );
        }
    }
}

#[tokio::test]
async fn os_specific_scenarios_switch_personality() {
    let f = start(Personality::Windows, "stuck-linux").await;
    assert_eq!(f.sim.state().personality, "linux");
    f.sim.load_scenario("stuck-windows").unwrap();
    assert_eq!(f.sim.state().personality, "windows");
    assert!(f.sim.load_scenario("nope").is_err());
}

#[tokio::test]
async fn stuck_log_stopped_growing_while_deploying_keeps_growing() {
    for (scenario, p) in [
        ("deploying", Personality::Linux),
        ("stuck-linux", Personality::Linux),
        ("stuck-windows", Personality::Windows),
    ] {
        let f = start(p, scenario).await;
        let id = f.get_json("/api/deployments").await.json()[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/vfs/site/deployments/{id}/log.log");
        let before = f.get(&path).await.body;
        f.sim.advance(60);
        let after = f.get(&path).await.body;
        assert_eq!(before == after, scenario != "deploying", "{scenario}");
    }
}

#[tokio::test]
async fn stale_files_windows_has_leftovers_that_the_first_list_cleans() {
    let f = start(Personality::Windows, "stale-files-windows").await;
    let dir = f.get("/api/vfs/site/deployments/").await.json();
    let temps = dir
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().unwrap().starts_with("temp-"))
        .count();
    assert_eq!(temps, 2);
    let list = f.get_json("/api/deployments").await.json();
    assert_eq!(
        list[0]["status"], 3,
        "the newest incomplete one is marked Failed and kept"
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["complete"] == true)
    );
}

#[tokio::test]
async fn partial_deploy_leaves_only_the_artifact() {
    for p in BOTH {
        let f = start(p, "partial-deploy").await;
        let names: Vec<String> = f
            .get("/api/vfs/site/wwwroot/")
            .await
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, [".ostype", "hostingstart.html", "output.tar.zst"]);
        let latest = f.get_json("/api/deployments/latest").await.json();
        assert_eq!(latest["status"], 3);
        assert_eq!(latest["deployer"], "OneDeploy");
    }
}

#[tokio::test]
async fn cancelled_retried_keeps_the_cancelled_record_and_its_lock() {
    for p in BOTH {
        let f = start(p, "cancelled-retried").await;
        let first = f.get_json("/api/deployments?_=1").await.json();
        // Status -1 (facts §1.2); the re-run's 409 left no record; purge keeps Cancelled ones.
        assert_eq!(first[0]["status"], -1, "{}", p.name());
        assert!(!first[0]["message"].as_str().unwrap().contains("re-run"));
        let again = f.get_json("/api/deployments?_=2").await.json();
        assert_eq!(
            first.as_array().unwrap().len(),
            again.as_array().unwrap().len()
        );
        assert_eq!(f.push_async("retry").await.status, 409, "{}", p.name());
        // Windows: the winding-down worker lets the handle go; Linux: info.lock stays until
        // its expiry (facts §2.2, §2.3).
        f.sim.advance(200);
        let expected = match p {
            Personality::Windows => 202,
            Personality::Linux => 409,
        };
        assert_eq!(f.push_async("later").await.status, expected, "{}", p.name());
    }
}

#[tokio::test]
async fn scenarios_are_deterministic() {
    let a = start(Personality::Linux, "parallel").await;
    let b = start(Personality::Linux, "parallel").await;
    assert_eq!(
        a.get_json("/api/deployments")
            .await
            .body
            .replace(&a.sim.url, ""),
        b.get_json("/api/deployments")
            .await
            .body
            .replace(&b.sim.url, "")
    );
    assert_eq!(a.sim.now(), b.sim.now());
}

#[tokio::test]
async fn settings_environment_and_scm_info() {
    for p in BOTH {
        let f = start(p, "run-from-package-url").await;
        let rfp = f.get_json("/api/settings/WEBSITE_RUN_FROM_PACKAGE").await;
        assert_eq!(rfp.status, 200);
        assert!(rfp.json().as_str().unwrap().starts_with("https://"));
        let missing = f.get("/api/settings/NOPE").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("The setting 'NOPE' does not exist."));
        let owner = f.get_json("/api/settings/WEBSITE_OWNER_NAME").await.json();
        assert!(
            owner
                .as_str()
                .unwrap()
                .ends_with("+myapp-rg-WestEuropewebspace")
        );
        let all = f.get_json("/api/settings").await.json();
        assert_eq!(all["WEBSITE_SITE_NAME"], "myapp");
        assert_eq!(all["ScmType"], "None");
        assert!(all["WEBSITE_RUN_FROM_PACKAGE"].is_string());
        let env = f.get_json("/api/environment").await.json();
        assert!(env["version"].is_string());
        let scm = f.get_json("/api/scm/info").await.json();
        assert_eq!(scm["Type"], 0);
        assert_eq!(scm["GitUrl"], format!("{}/myapp.git", f.sim.url));
    }
    let mut config = SimConfig {
        password: Some("pw".into()),
        quirks: Quirks {
            hide_site_identity_settings: true,
            ..Quirks::default()
        },
        ..SimConfig::default()
    };
    config.personality = Personality::Linux;
    let f = start_with(config).await;
    assert_eq!(
        f.get("/api/settings/WEBSITE_RESOURCE_GROUP").await.status,
        404
    );
}

#[tokio::test]
async fn settings_post_takes_the_deployment_lock() {
    for p in BOTH {
        let f = start(p, "deploying").await;
        let r = f
            .send(
                "POST",
                "/api/settings",
                &[("content-type", "application/json")],
                br#"{"branch":"main"}"#.to_vec(),
            )
            .await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("The 'Updating deployment setting' operation conflicts with the pending 'Performing continuous deployment' operation"));
        let f = start(p, "healthy").await;
        let r = f
            .send(
                "POST",
                "/api/settings",
                &[("content-type", "application/json")],
                br#"{"branch":"main"}"#.to_vec(),
            )
            .await;
        assert_eq!(r.status, 204);
        assert_eq!(f.get_json("/api/settings/branch").await.json(), "main");
        let xml = f.get("/api/vfs/site/deployments/settings.xml").await.body;
        assert!(xml.contains("<add key=\"branch\" value=\"main\" />"));
    }
}

#[tokio::test]
async fn control_api_loads_scenarios_and_drives_workers() {
    let f = start(Personality::Linux, "healthy").await;
    let post = |path: &str| f.client.post(f.url(path)).send();
    let r = post("/_sim/scenario/deploying?personality=windows")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let state: kudu_sim::SimState = r.json().await.unwrap();
    assert_eq!(
        (state.personality.as_str(), state.scenario.as_str()),
        ("windows", "deploying")
    );
    assert_eq!(state.workers.len(), 1);
    assert_eq!(post("/_sim/deployment/hang").await.unwrap().status(), 200);
    assert!(f.sim.state().workers[0].2, "hung");
    assert_eq!(post("/_sim/deployment/kill").await.unwrap().status(), 200);
    assert!(f.sim.state().workers.is_empty());
    assert_eq!(post("/_sim/deployment/kill").await.unwrap().status(), 404);
    assert_eq!(post("/_sim/scenario/nope").await.unwrap().status(), 404);
    let r = f
        .client
        .post(f.url("/_sim/faults"))
        .body(r#"{"prefix":"/api/environment","kind":"status","status":500,"count":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(f.get("/api/environment").await.status, 500);
    let r = f
        .client
        .post(f.url("/_sim/settings"))
        .body(r#"{"WEBSITE_SWAP_SLOTNAME":"production"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        f.get_json("/api/settings/WEBSITE_SWAP_SLOTNAME")
            .await
            .json(),
        "production"
    );
    assert_eq!(post("/_sim/kudu/restart").await.unwrap().status(), 200);
    assert_eq!(f.sim.state().kudu_restarts, 1);
    let clock: serde_json::Value = f
        .client
        .get(f.url("/_sim/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["now"], f.sim.now().to_json());
    let list: serde_json::Value = f
        .client
        .get(f.url("/_sim/scenarios"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), SCENARIOS.len());
    let ui = f
        .client
        .get(f.url("/_sim/ui"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ui.contains("action=\"/_sim/scenario/stuck-linux?personality=linux\""));
}

#[tokio::test]
async fn realtime_mode_moves_virtual_time_with_the_wall_clock() {
    let f = start_with(SimConfig {
        realtime: true,
        build_ms: 300,
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    let before = f.sim.now();
    assert_eq!(f.push_async("rt").await.status, 202);
    // Nobody advances the clock: only wall time can finish the build.
    let mut latest = f.get_json("/api/deployments/latest").await;
    for _ in 0..100 {
        if latest.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        latest = f.get_json("/api/deployments/latest").await;
    }
    assert!(f.sim.now() > before);
    assert_eq!(
        (latest.status, latest.json()["deployer"].as_str()),
        (200, Some("rt"))
    );
}

#[tokio::test]
async fn production_only_knobs_emit_unknown_statuses_and_fields() {
    let f = start_with(SimConfig {
        password: Some("pw".into()),
        quirks: Quirks {
            extra_deploy_fields: true,
            ..Quirks::default()
        },
        ..SimConfig::default()
    })
    .await;
    let list = f.get_json("/api/deployments").await.json();
    assert!(list[0]["build_summary"].is_object());
    let id = list[1]["id"].as_str().unwrap().to_string();
    for status in [-1, 5, 6] {
        let r = f
            .client
            .post(f.url(&format!("/_sim/deployment-status?id={id}&status={status}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let item = f.get_json(&format!("/api/deployments/{id}")).await.json();
        assert_eq!(item["status"], status);
    }
}

#[tokio::test]
async fn status_lock_2020_mode_blocks_on_a_leftover_file() {
    let f = start_with(SimConfig {
        password: Some("pw".into()),
        quirks: Quirks {
            status_lock_exists_means_locked: true,
            ..Quirks::default()
        },
        ..SimConfig::default()
    })
    .await;
    // In that build release deleted the file: no leftover, reads work.
    assert_eq!(f.get("/api/vfs/site/locks/status.lock").await.status, 404);
    assert_eq!(f.get("/api/deployments").await.status, 200);
    // A crash leaves one behind.
    let put = f
        .send(
            "PUT",
            "/api/vfs/site/locks/status.lock",
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(put.status, 201);
    assert_eq!(f.get("/api/deployments?_=1").await.status, 500);
    f.delete("/api/vfs/site/locks/status.lock", &[("if-match", "*")])
        .await;
    assert_eq!(f.get("/api/deployments?_=2").await.status, 200);
}

#[tokio::test]
async fn wall_clock_mode_puts_the_scenarios_now_at_the_real_now() {
    let f = start_with(SimConfig {
        scenario: "stuck-linux".into(),
        wall_clock: true,
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    let wall = kudu_sim::VTime::from_system_time(std::time::SystemTime::now());
    let drift = (f.sim.now().0 - wall.0).abs();
    assert!(
        drift < 60 * 10_000_000,
        "virtual now within a minute of the wall clock"
    );
    // Same history, shifted: the stuck deployment is still 6 minutes silent.
    let info = f
        .get("/api/vfs/site/locks/deployment/info.lock")
        .await
        .json();
    let expiry = kudu_sim::VTime::parse(info["lockExpiry"].as_str().unwrap()).unwrap();
    assert!(expiry > f.sim.now());
}

/// The newest deployment record as the list shows it (a cache-busting query each time).
async fn newest_record(f: &Fixture) -> serde_json::Value {
    let nonce = f.sim.now().0;
    f.get_json(&format!("/api/deployments?_={nonce}"))
        .await
        .json()[0]
        .clone()
}

/// A deployment's `log.log` lines as `(time, message)`, children included.
async fn log_lines(f: &Fixture, id: &str) -> Vec<(VTime, String)> {
    f.get(&format!("/api/vfs/site/deployments/{id}/log.log"))
        .await
        .body
        .lines()
        .map(|line| {
            let mut fields = line.trim_start_matches('\t').split(',');
            let time = VTime::parse(fields.next().unwrap()).unwrap();
            (time, fields.next().unwrap().replace("&comma;", ","))
        })
        .collect()
}

/// Linux `info.lock`: `(lockExpiry, acquired = expiry - 1500 s)` (facts §2.3).
async fn linux_lock(f: &Fixture) -> Option<(VTime, VTime)> {
    let reply = f.get("/api/vfs/site/locks/deployment/info.lock").await;
    if reply.status != 200 {
        return None;
    }
    let expiry = VTime::parse(reply.json()["lockExpiry"].as_str().unwrap()).unwrap();
    Some((expiry, expiry.plus_secs(-1500)))
}

/// Loads `scenario` and checks its newest record is Building: `(now, id, record)`.
async fn building(p: Personality, scenario: &str) -> (Fixture, VTime, String, serde_json::Value) {
    let f = start(p, scenario).await;
    let now = f.sim.now();
    let record = newest_record(&f).await;
    let id = record["id"].as_str().unwrap().to_string();
    assert_eq!(record["status"], 1, "{scenario} ({}): Building", p.name());
    assert_eq!(record["complete"], false);
    (f, now, id, record)
}

fn find<'a>(traces: &'a [TraceName], what: &str, pending: bool) -> Vec<&'a TraceName> {
    traces
        .iter()
        .filter(|t| t.what == what && t.secs.is_none() == pending)
        .collect()
}

#[tokio::test]
async fn long_build_still_logs_after_the_linux_lock_expired() {
    for p in BOTH {
        let (f, now, id, record) = building(p, "long-build").await;
        let label = p.name();
        let received = VTime::parse(record["received_time"].as_str().unwrap()).unwrap();
        assert!((1800..=1807).contains(&now.secs_since(received)), "{label}");
        let lines = log_lines(&f, &id).await;
        let last = lines.last().unwrap().0;
        assert!(
            now.secs_since(last) < 20,
            "{label}: last line {last:?}, now {now:?}"
        );
        assert!(lines.len() > 80, "{label}: a line every 20 s");
        if p == Personality::Linux {
            let (expiry, acquired) = linux_lock(&f).await.unwrap();
            assert!(
                (300..=307).contains(&now.secs_since(expiry)),
                "expired 5 min ago"
            );
            assert!(acquired <= received);
        }
        let traces = names(&f).await;
        let background = find(&traces, "Background_POST_api-zipdeploy", true);
        assert_eq!(background.len(), 1, "{label}: the run's trace is open");
        assert!((1800..=1807).contains(&now.secs_since(stamp_time(&background[0].time))));
        // Still alive: the log grows, the build ends with success, the lock goes.
        f.sim.advance(30);
        assert!(log_lines(&f, &id).await.len() > lines.len(), "{label}");
        f.sim.advance(10 * 60);
        let latest = f.get_json("/api/deployments/latest").await;
        assert_eq!(latest.status, 200, "{label}");
        assert_eq!(latest.json()["status"], 4, "{label}");
        assert_eq!(f.push_async("next").await.status, 202, "{label}");
    }
}

#[tokio::test]
async fn long_build_under_the_public_source_loses_its_lock_and_is_marked_failed_while_alive() {
    let f = start(Personality::Linux, "long-build").await;
    // `lock_expiry_honoured` on, as the public KuduLite does: the first IsHeld deletes the
    // expired lock, and the list's VerifyDeployment fails the live build.
    f.sim.set_quirks(Quirks::default());
    assert!(linux_lock(&f).await.is_some(), "nobody has asked yet");
    assert_eq!(
        f.get_json("/api/isdeploying").await.json()["value"],
        "False"
    );
    assert!(linux_lock(&f).await.is_none());
    let record = newest_record(&f).await;
    assert_eq!(record["status"], 3);
    let id = record["id"].as_str().unwrap().to_string();
    let marked = log_lines(&f, &id).await;
    assert!(
        marked
            .last()
            .unwrap()
            .1
            .starts_with("An unknown error has occurred")
    );
    f.sim.advance(30);
    assert!(
        log_lines(&f, &id).await.len() > marked.len(),
        "the build goes on"
    );
    f.sim.advance(10 * 60);
    assert_eq!(
        newest_record(&f).await["status"],
        4,
        "and overwrites Failed"
    );
}

#[tokio::test]
async fn quiet_build_is_silent_for_8_minutes_then_logs_again_and_succeeds() {
    for p in BOTH {
        let (f, now, id, _) = building(p, "quiet-build").await;
        let label = p.name();
        let lines = log_lines(&f, &id).await;
        let (last, message) = lines.last().unwrap().clone();
        // Windows stays silent past the core's 10-minute threshold: its CPU time speaks.
        let silent = match p {
            Personality::Linux => 480..=482,
            Personality::Windows => 720..=722,
        };
        assert!(
            silent.contains(&now.secs_since(last)),
            "{label}: silent 8 min (Windows 12)"
        );
        let quiet = match p {
            Personality::Linux => "Running pip install...",
            Personality::Windows => "Running 'npm ci'...",
        };
        assert_eq!(message, quiet);
        if p == Personality::Linux {
            let (expiry, _) = linux_lock(&f).await.unwrap();
            assert!(
                expiry.secs_since(now) > 14 * 60,
                "{label}: the lock is fresh"
            );
        }
        f.sim.advance(100);
        assert_eq!(log_lines(&f, &id).await.len(), lines.len(), "{label}");
        f.sim.advance(60);
        let resumed = log_lines(&f, &id).await;
        let expected = match p {
            Personality::Linux => "Done in 600 sec(s).",
            Personality::Windows => "added 1432 packages, and audited 1433 packages in 14m",
        };
        assert_eq!(resumed[lines.len()].1, expected, "{label}");
        assert!(
            resumed.len() > lines.len() + 1,
            "{label}: progress lines follow"
        );
        f.sim.advance(5 * 60);
        let latest = f.get_json("/api/deployments/latest").await;
        assert_eq!(
            (latest.status, &latest.json()["status"]),
            (200, &4.into()),
            "{label}"
        );
    }
}

#[tokio::test]
async fn restarted_holder_keeps_its_lock_across_the_restart() {
    let (f, now, id, record) = building(Personality::Linux, "restarted-holder").await;
    let state = f.sim.state();
    assert_eq!((state.kudu_restarts, state.workers.len()), (1, 0));
    let (expiry, acquired) = linux_lock(&f).await.unwrap();
    assert!(expiry > now);
    assert!(!record["message"].as_str().unwrap().contains("re-run"));
    let last = log_lines(&f, &id).await.last().unwrap().0;
    assert!(
        (480..=490).contains(&now.secs_since(last)),
        "the log stopped 8 min ago"
    );
    // The traces tell the story: the hung run's background trace is still pending (its
    // process died), the old process shut down, the new one started after the lock was taken.
    let traces = names(&f).await;
    let hung = find(&traces, "Background_POST_api-zipdeploy", true);
    assert_eq!(hung.len(), 1);
    assert!(stamp_time(&hung[0].time).secs_since(acquired).abs() <= 1);
    let shutdown = find(&traces, "Shutdown", false);
    let startup = find(&traces, "Startup_POST_api-zipdeploy", false);
    assert_eq!((shutdown.len(), startup.len()), (1, 2), "{traces:#?}");
    let restarted = stamp_time(&startup[1].time);
    assert!(restarted > acquired && stamp_time(&shutdown[0].time) <= restarted);
    assert_eq!(startup[1].salt, 1);
    let retry = traces
        .iter()
        .find(|t| t.what == "POST_api-zipdeploy" && t.status == Some(409))
        .unwrap();
    assert_eq!((retry.salt, &retry.time), (2, &startup[1].time));
    // Until the lock expires (25 min after the hung run took it).
    assert_eq!(f.push_async("again").await.status, 409);
    f.sim.advance(expiry.secs_since(now) + 1);
    assert_eq!(
        f.get_json("/api/isdeploying").await.json()["value"],
        "False"
    );
    assert_eq!(newest_record(&f).await["status"], 3);
    assert_eq!(f.push_async("after").await.status, 202);
}

/// README "Flex Consumption": the records carry azure-dev#3658's Flex fields, the newest
/// publish was recorded Conflict (5) while Core Tools' remote build runs, zipdeploy is not
/// served, and VFS and isdeploying answer 404 unless the switch says Flex serves them.
#[tokio::test]
async fn flex_consumption_answers_from_its_records_only() {
    let f = start(Personality::Linux, "flex-consumption").await;
    let list = f.get_json("/api/deployments").await.json();
    let list = list.as_array().unwrap();
    // Four finished and one running record, the running one's temp- twin, the Conflict.
    assert_eq!(list.len(), 6);
    assert!(
        list.iter()
            .all(|d| d["remoteBuild"] == true && d["build_summary"]["errors"].is_array())
    );
    assert_eq!(
        (list[0]["status"].as_i64(), list[0]["deployer"].as_str()),
        (Some(5), Some("az_cli"))
    );
    assert_eq!(
        (list[1]["status"].as_i64(), list[1]["deployer"].as_str()),
        (Some(1), Some("core_tools"))
    );
    assert_eq!(f.get_json("/api/deployments/latest").await.status, 202);
    for path in [
        "/api/vfs/site/locks/",
        "/api/vfs/site/deployments/",
        "/api/isdeploying",
    ] {
        let r = f.get_json(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body.contains("No route registered"), "{path}: {}", r.body);
    }
    assert_eq!(
        f.push_async("probe").await.status,
        404,
        "no zipdeploy on Flex"
    );
    let refused = f
        .send(
            "POST",
            "/api/publish?async=true&Deployer=probe",
            &[],
            kudu_sim::app_zip(9),
        )
        .await;
    assert_eq!(refused.status, 202);
    let newest = f.get_json("/api/deployments").await.json()[0].clone();
    assert_eq!(
        (newest["status"].as_i64(), newest["deployer"].as_str()),
        (Some(5), Some("probe"))
    );

    let served = start_with_quirks(
        Personality::Linux,
        "flex-consumption",
        Quirks {
            flex_serves_vfs_and_isdeploying: true,
            ..Quirks::default()
        },
    )
    .await;
    assert_eq!(served.get_json("/api/vfs/site/locks/").await.status, 200);
    assert_eq!(served.get_json("/api/isdeploying").await.status, 200);
}

/// Switch `latest_empty_after_restart`: after a Kudu recycle `latest` answers 200 `{}` until a
/// push makes a record again; off (the default) it keeps answering the newest record.
#[tokio::test]
async fn latest_answers_an_empty_object_after_a_recycle_when_switched_on() {
    let f = start_with_quirks(
        Personality::Linux,
        "healthy",
        Quirks {
            latest_empty_after_restart: true,
            ..Quirks::default()
        },
    )
    .await;
    assert!(f.get_json("/api/deployments/latest").await.json()["id"].is_string());
    f.sim.restart_kudu();
    let latest = f.get_json("/api/deployments/latest").await;
    assert_eq!((latest.status, latest.json()), (200, serde_json::json!({})));
    assert_eq!(f.push_async("after-recycle").await.status, 202);
    assert_eq!(
        f.get_json("/api/deployments/latest").await.json()["deployer"],
        "after-recycle"
    );

    let off = start(Personality::Linux, "healthy").await;
    off.sim.restart_kudu();
    assert!(off.get_json("/api/deployments/latest").await.json()["id"].is_string());
}

/// `two-outputs`: compressed builds left output.tar.gz and Oryx's manifest; the failed OneDeploy
/// wrote output.tar.zst beside them, later (Azure/app-service-linux-docs#263).
#[tokio::test]
async fn two_outputs_leaves_the_new_archive_beside_the_old() {
    let f = start(Personality::Linux, "two-outputs").await;
    let listing = f.get("/api/vfs/site/wwwroot/").await.json();
    let entry = |name: &str| {
        listing
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {listing}"))
    };
    let (gz, zst) = (entry("output.tar.gz"), entry("output.tar.zst"));
    entry("oryx-manifest.toml");
    assert!(gz["mtime"].as_str().unwrap() < zst["mtime"].as_str().unwrap());
    let latest = f.get_json("/api/deployments/latest").await.json();
    assert_eq!(latest["status"], 3);
}
