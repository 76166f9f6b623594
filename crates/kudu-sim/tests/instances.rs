//! A scaled-out plan (switch `instances`, README "Scaled out"): two Kudu processes over one
//! HOME, reached through the `ARRAffinity` cookie, each with its own processes, lock handle,
//! lock-expiry cache and restarts. `held-elsewhere`: a hung deployment on the second instance
//! holds the lock while requests without a cookie land on the first.

mod common;

use common::{BOTH, Fixture, Reply, start};
use kudu_sim::Personality;

/// `[first, second]` instance ids.
fn instance_ids(f: &Fixture) -> Vec<String> {
    f.sim.with_kudu(|k| k.instance_ids())
}

async fn get_on(f: &Fixture, instance: &str, path: &str) -> Reply {
    let cookie = format!("ARRAffinity={instance}");
    f.send(
        "GET",
        path,
        &[("cookie", &cookie), ("accept", "application/json")],
        Vec::new(),
    )
    .await
}

async fn send_on(f: &Fixture, instance: &str, method: &str, path: &str, body: Vec<u8>) -> Reply {
    let cookie = format!("ARRAffinity={instance}");
    f.send(method, path, &[("cookie", &cookie)], body).await
}

fn set_cookies(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

async fn process_names(f: &Fixture, instance: &str) -> Vec<String> {
    let list = get_on(f, instance, "/api/processes").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mut names = vec![];
    for p in list.json().as_array().unwrap() {
        names.push(p["name"].as_str().unwrap().to_string());
    }
    names
}

async fn kudu_handles(f: &Fixture, instance: &str) -> Vec<String> {
    let details = get_on(f, instance, "/api/processes/0").await.json();
    details["open_file_handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_affinity_cookie_picks_the_instance_and_a_request_without_one_is_pinned_to_the_first() {
    for p in BOTH {
        let f = start(p, "held-elsewhere").await;
        let ids = instance_ids(&f);
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[0].len(), 64, "WEBSITE_INSTANCE_ID is 64 hex");

        let bare = f.get_json("/api/deployments").await;
        assert_eq!(bare.status, 200);
        let cookies = set_cookies(&bare);
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(&format!("ARRAffinity={};", ids[0]))),
            "{cookies:?}"
        );
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(&format!("ARRAffinitySameSite={};", ids[0]))),
            "{cookies:?}"
        );
        assert!(cookies.iter().all(|c| c.contains("HttpOnly")));

        // A pinned client is not re-pinned; an unknown id is, to the first instance.
        assert!(set_cookies(&get_on(&f, &ids[1], "/api/deployments").await).is_empty());
        let unknown = set_cookies(&get_on(&f, "0123abcd", "/api/deployments").await);
        assert!(
            unknown
                .iter()
                .any(|c| c.starts_with(&format!("ARRAffinity={};", ids[0]))),
            "{unknown:?}"
        );
    }
}

#[tokio::test]
async fn one_instance_sends_the_affinity_cookie_only_with_a_session_as_before() {
    let f = start(Personality::Linux, "stuck-linux").await;
    assert_eq!(instance_ids(&f).len(), 1);
    assert!(set_cookies(&f.get_json("/api/deployments").await).is_empty());
}

#[tokio::test]
async fn home_is_shared_so_the_lock_taken_on_the_second_instance_refuses_a_push_on_the_first() {
    for p in BOTH {
        let f = start(p, "held-elsewhere").await;
        let ids = instance_ids(&f);
        // The same deployment list and lock file from either instance.
        let list_a = get_on(&f, &ids[0], "/api/deployments").await.json();
        let list_b = get_on(&f, &ids[1], "/api/deployments").await.json();
        assert_eq!(list_a, list_b);
        assert!(list_a.as_array().unwrap().len() >= 4, "{list_a}");
        let lock_path = match p {
            Personality::Linux => "/api/vfs/site/locks/deployment/info.lock",
            Personality::Windows => "/api/vfs/site/locks/deployments.lock",
        };
        let lock_a = get_on(&f, &ids[0], lock_path).await;
        let lock_b = get_on(&f, &ids[1], lock_path).await;
        assert_eq!(lock_a.status, 200, "{}", lock_a.body);
        assert_eq!(lock_a.body, lock_b.body);
        if p == Personality::Linux {
            // `heldByWorker` is the instance whose Kudu took the lock.
            assert_eq!(lock_a.json()["heldByWorker"], ids[1].as_str());
        }

        let push = send_on(
            &f,
            &ids[0],
            "POST",
            "/api/zipdeploy?isAsync=true",
            kudu_sim::app_zip(9),
        )
        .await;
        assert_eq!(push.status, 409, "{p:?}: {}", push.body);
    }
}

#[tokio::test]
async fn windows_lists_and_restarts_only_the_instance_the_request_reached() {
    let f = start(Personality::Windows, "held-elsewhere").await;
    let ids = instance_ids(&f);
    let (a, b) = (&ids[0], &ids[1]);

    // The hung build runs under the second instance's Kudu, which holds the lock handle.
    let on_a = process_names(&f, a).await;
    let on_b = process_names(&f, b).await;
    assert!(!on_a.iter().any(|n| n == "node" || n == "cmd"), "{on_a:?}");
    assert!(on_b.iter().any(|n| n == "node"), "{on_b:?}");
    assert!(on_b.iter().any(|n| n == "cmd"), "{on_b:?}");
    let lock_handle = "D:\\home\\site\\locks\\deployments.lock";
    assert!(!kudu_handles(&f, a).await.iter().any(|h| h == lock_handle));
    assert!(kudu_handles(&f, b).await.iter().any(|h| h == lock_handle));

    // The held file cannot be deleted from either instance.
    let delete = send_on(
        &f,
        a,
        "DELETE",
        "/api/vfs/site/locks/deployments.lock",
        vec![],
    )
    .await;
    assert_ne!(delete.status, 200);
    assert_ne!(delete.status, 204);

    // Restarting the first instance's Kudu leaves the second one's build and handle alone.
    let restarts = f.sim.state().kudu_restarts;
    assert_eq!(
        send_on(&f, a, "DELETE", "/api/processes/0", vec![])
            .await
            .status,
        200
    );
    assert_eq!(f.sim.state().kudu_restarts, restarts + 1);
    // The second instance is not the one restarting: it answers at once.
    assert!(process_names(&f, b).await.iter().any(|n| n == "node"));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let push = send_on(
        &f,
        a,
        "POST",
        "/api/zipdeploy?isAsync=true",
        kudu_sim::app_zip(9),
    )
    .await;
    assert_eq!(push.status, 409, "{}", push.body);

    // Restarting the second instance's Kudu kills the hung build and closes the handle: the
    // stale file goes at the next IsHeld, and a push on the first instance is accepted.
    assert_eq!(
        send_on(&f, b, "DELETE", "/api/processes/0", vec![])
            .await
            .status,
        200
    );
    let push = send_on(
        &f,
        a,
        "POST",
        "/api/zipdeploy?isAsync=true",
        kudu_sim::app_zip(9),
    )
    .await;
    assert_eq!(push.status, 202, "{}", push.body);
}

#[tokio::test]
async fn linux_keeps_the_lock_expiry_cache_per_instance() {
    let f = start(Personality::Linux, "held-elsewhere").await;
    let ids = instance_ids(&f);
    // Someone edits info.lock's expiry into the past (facts §2.3): the Kudu that took the lock
    // still trusts its cached expiry, the other one reads the file and frees the lock.
    let path = f.sim.home().join("site/locks/deployment/info.lock");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut info: serde_json::Value = serde_json::from_str(&text).unwrap();
    info["lockExpiry"] = "2020-01-01T00:00:00.0000000Z".into();
    std::fs::write(&path, info.to_string()).unwrap();

    let on_b = get_on(&f, &ids[1], "/api/isdeploying").await;
    assert!(on_b.body.contains("True"), "{}", on_b.body);
    let on_a = get_on(&f, &ids[0], "/api/isdeploying").await;
    assert!(on_a.body.contains("False"), "{}", on_a.body);
    assert!(
        !path.exists(),
        "the first instance deleted the expired lock"
    );
}

#[tokio::test]
async fn trace_files_name_each_instance_that_served_requests() {
    let f = start(Personality::Linux, "held-elsewhere").await;
    let ids = instance_ids(&f);
    // The hung push was traced on the second instance; a request now traces on the first.
    f.get_json("/api/deployments").await;
    let names: Vec<String> = f
        .get_json("/api/vfs/LogFiles/kudu/trace/")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    for id in &ids {
        assert!(
            names.iter().any(|n| n.contains(&id[..6])),
            "{} missing from {names:?}",
            &id[..6]
        );
    }
}

#[tokio::test]
async fn a_sync_push_whose_client_left_dies_on_its_instance_after_another_was_reached() {
    let f = common::start_with(kudu_sim::SimConfig {
        personality: Personality::Linux,
        scenario: "healthy".into(),
        password: Some("pw".into()),
        build_ms: 600_000,
        quirks: kudu_sim::Quirks {
            instances: 2,
            ..kudu_sim::Quirks::default()
        },
        ..kudu_sim::SimConfig::default()
    })
    .await;
    let ids = instance_ids(&f);
    let workers_on_second = || {
        f.sim.with_kudu(|k| {
            let here = k.current_instance;
            k.enter_instance(1);
            let n = k.workers.len();
            k.enter_instance(here);
            n
        })
    };
    // A synchronous push on the second instance; its client gives up while it builds.
    let push = f
        .client
        .post(f.url("/api/zipdeploy"))
        .header("authorization", &f.auth)
        .header("cookie", format!("ARRAffinity={}", ids[1]))
        .timeout(std::time::Duration::from_millis(300))
        .body(kudu_sim::app_zip(9))
        .send();
    let other = async {
        for _ in 0..100 {
            if workers_on_second() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // Meanwhile a request reaches the first instance.
        get_on(&f, &ids[0], "/api/deployments").await
    };
    let (pushed, listed) = tokio::join!(push, other);
    assert!(pushed.is_err(), "the client timed out");
    assert_eq!(listed.status, 200);
    for _ in 0..100 {
        if workers_on_second() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(workers_on_second(), 0, "the abandoned sync push still runs");
}
