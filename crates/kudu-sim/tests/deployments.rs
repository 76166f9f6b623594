//! Push deployments and the deployment read APIs against kudu-facts.md §1 and §3.

mod common;

use common::{BOTH, start, start_with};
use kudu_sim::{Personality, SimConfig};

const IN_PROGRESS: &str =
    "There is a deployment currently in progress. Please try again when it completes.";

#[tokio::test]
async fn async_push_answers_202_with_location_and_retry_after_on_windows_only() {
    for p in BOTH {
        let f = start_with(SimConfig {
            personality: p,
            build_ms: 30_000,
            password: Some("pw".into()),
            ..SimConfig::default()
        })
        .await;
        let now = f.sim.now();
        let resp = f.push_async("GITHUB_ZIP_DEPLOY").await;
        assert_eq!(resp.status, 202);
        assert_eq!(resp.body, "");
        let location = resp.header("location").unwrap();
        assert_eq!(
            location,
            format!(
                "{}/api/deployments/latest?deployer=GITHUB_ZIP_DEPLOY&time={}",
                f.sim.url,
                now.to_location_stamp()
            )
        );
        assert_eq!(
            resp.header("retry-after"),
            (p == Personality::Windows).then_some("30")
        );
        // While building, `latest` is 202; after 30 virtual seconds it is the new success.
        let latest = f.get_json("/api/deployments/latest").await;
        assert_eq!(latest.status, 202);
        assert_eq!(
            latest.json()["status"],
            if p == Personality::Linux { 0 } else { 1 }
        );
        f.sim.advance(30);
        let latest = f.get_json("/api/deployments/latest").await;
        assert_eq!(latest.status, 200);
        let body = latest.json();
        assert_eq!(body["status"], 4);
        assert_eq!(body["deployer"], "GITHUB_ZIP_DEPLOY");
        assert_eq!(body["active"], true);
        assert_eq!(body["complete"], true);
        assert_eq!(
            body.get("provisioningState").is_some(),
            p == Personality::Windows
        );
        // The zip was extracted into wwwroot.
        let index = f.get("/api/vfs/site/wwwroot/index.html").await;
        assert!(index.body.contains("My App v9"));
    }
}

#[tokio::test]
async fn two_parallel_async_pushes_give_exactly_one_409_with_kudus_text() {
    for p in BOTH {
        let f = start_with(SimConfig {
            personality: p,
            build_ms: 60_000,
            password: Some("pw".into()),
            ..SimConfig::default()
        })
        .await;
        let (a, b) = tokio::join!(f.push_async("A"), f.push_async("B"));
        let statuses = [a.status, b.status];
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1);
        let conflict = if a.status == 409 { a } else { b };
        assert_eq!(conflict.content_type(), "text/plain; charset=utf-8");
        match p {
            Personality::Linux => assert_eq!(conflict.body, IN_PROGRESS),
            Personality::Windows => {
                // The body is saved under the lock first (facts §1.9 step 1).
                assert!(conflict.body.starts_with("The 'Preparing zip package' operation conflicts with the pending 'Performing continuous deployment' operation started at 2026-"), "{}", conflict.body);
                assert!(conflict.body.ends_with(".  Please retry operation later."));
            }
        }
    }
}

#[tokio::test]
async fn linux_409_is_json_quoted_when_json_is_accepted() {
    let f = start(Personality::Linux, "deploying").await;
    let resp = f
        .send(
            "POST",
            "/api/zipdeploy?isAsync=true",
            &[("accept", "application/json")],
            kudu_sim::app_zip(1),
        )
        .await;
    assert_eq!(resp.status, 409);
    assert_eq!(resp.content_type(), "application/json; charset=utf-8");
    assert_eq!(resp.body, format!("\"{IN_PROGRESS}\""));
}

#[tokio::test]
async fn sync_push_waits_for_the_build_on_the_virtual_clock() {
    for p in BOTH {
        let f = start_with(SimConfig {
            personality: p,
            build_ms: 45_000,
            password: Some("pw".into()),
            ..SimConfig::default()
        })
        .await;
        let push = f.send(
            "POST",
            "/api/zipdeploy?deployer=az_cli&message=sync",
            &[],
            kudu_sim::app_zip(3),
        );
        let advance = async {
            f.wait_for_workers(1).await;
            f.sim.advance(46);
        };
        let (resp, ()) = tokio::join!(push, advance);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "");
        let latest = f.get_json("/api/deployments/latest").await.json();
        assert_eq!(latest["deployer"], "az_cli");
        assert_eq!(latest["message"], "sync");
        assert_eq!(latest["status"], 4);
    }
}

#[tokio::test]
async fn linux_sync_push_barely_holds_the_lock_by_default() {
    let f = start_with(SimConfig {
        build_ms: 60_000,
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    let sync = f.send("POST", "/api/zipdeploy", &[], kudu_sim::app_zip(2));
    let second = async {
        f.wait_for_workers(1).await;
        // The sync push released its lock early (facts §1.9 [I]), so this one is not a 409.
        let r = f.push_async("second").await;
        f.sim.advance(61);
        r
    };
    let (first, second) = tokio::join!(sync, second);
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 202);
}

#[tokio::test]
async fn onedeploy_publish_takes_async_and_type() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let resp = f
            .send(
                "POST",
                "/api/publish?type=static&path=robots.txt&async=true",
                &[],
                b"User-agent: *".to_vec(),
            )
            .await;
        assert_eq!(resp.status, 202);
        let latest = f.get_json("/api/deployments/latest").await.json();
        assert_eq!(latest["deployer"], "OneDeploy");
        let robots = f.get("/api/vfs/site/wwwroot/robots.txt").await;
        assert_eq!(robots.body, "User-agent: *");
        let put = f
            .send("PUT", "/api/publish?type=zip", &[], kudu_sim::app_zip(7))
            .await;
        assert_eq!(put.status, 200);
    }
}

#[tokio::test]
async fn run_from_package_url_and_autoswap_409s() {
    for p in BOTH {
        let f = start(p, "run-from-package-url").await;
        let resp = f.push_async("x").await;
        assert_eq!(resp.status, 409);
        let text = match p {
            Personality::Windows => {
                "Run-From-Zip is set to a remote URL using WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration."
            }
            Personality::Linux => {
                "Run-From-Zip is set to a remote URL using WEBSITE_RUN_FROM_PACKAGE or WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration."
            }
        };
        assert_eq!(resp.body, text);

        let f = start(p, "autoswap").await;
        let resp = f.push_async("x").await;
        assert_eq!(resp.status, 409);
        assert_eq!(
            resp.body,
            "There is an auto swap deployment currently ongoing please try again when it completes."
        );
        // Auto swap counts as ongoing for 2 minutes after the lock file's mtime.
        f.sim.advance(120);
        assert_eq!(f.push_async("x").await.status, 202);
    }
}

#[tokio::test]
async fn list_has_kudus_fields_newest_first() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await;
        assert_eq!(list.status, 200);
        let items = list.json();
        let items = items.as_array().unwrap();
        assert_eq!(items.len(), 3);
        let deployers: Vec<&str> = items
            .iter()
            .map(|i| i["deployer"].as_str().unwrap())
            .collect();
        assert_eq!(
            deployers,
            ["OneDeploy", "ms-azuretools-vscode", "GITHUB_ZIP_DEPLOY"]
        );
        // Key order as Newtonsoft writes the declared properties (serde_json::Value sorts, so
        // read the order off the raw text).
        let raw_first = &list.body[..list.body.find('}').unwrap()];
        let mut keys: Vec<(usize, &str)> = [
            "id",
            "status",
            "status_text",
            "author_email",
            "author",
            "deployer",
            "message",
            "progress",
            "received_time",
            "start_time",
            "end_time",
            "last_success_end_time",
            "complete",
            "active",
            "is_temp",
            "is_readonly",
            "url",
            "log_url",
            "site_name",
            "provisioningState",
        ]
        .iter()
        .filter_map(|k| raw_first.find(&format!("\"{k}\":")).map(|pos| (pos, *k)))
        .collect();
        keys.sort();
        let keys: Vec<&str> = keys.into_iter().map(|(_, k)| k).collect();
        let mut expected = vec![
            "id",
            "status",
            "status_text",
            "author_email",
            "author",
            "deployer",
            "message",
            "progress",
            "received_time",
            "start_time",
            "end_time",
            "last_success_end_time",
            "complete",
            "active",
            "is_temp",
            "is_readonly",
            "url",
            "log_url",
            "site_name",
        ];
        if p == Personality::Windows {
            expected.push("provisioningState");
        }
        assert_eq!(keys, expected);
        assert_eq!(items[0]["active"], true);
        assert_eq!(items[1]["active"], false);
        assert_eq!(items[0]["id"].as_str().unwrap().len(), 32);
        assert!(items[0]["received_time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(items[0]["site_name"], "myapp");
    }
}

#[tokio::test]
async fn etag_cache_serves_stale_lists_until_active_changes_or_the_query_does() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let first = f.get_json("/api/deployments").await;
        let etag = first.header("etag").unwrap().to_string();
        let not_modified = f
            .send(
                "GET",
                "/api/deployments",
                &[("if-none-match", &etag)],
                Vec::new(),
            )
            .await;
        assert_eq!(not_modified.status, 304);
        // Delete the oldest deployment's folder through VFS.
        let oldest = first.json()[2]["id"].as_str().unwrap().to_string();
        let del = f
            .delete(
                &format!("/api/vfs/site/deployments/{oldest}/?recursive=true"),
                &[],
            )
            .await;
        assert_eq!(del.status, 200);
        // Same URL: the static cache still lists it (facts §1.3).
        let stale = f.get_json("/api/deployments").await.json();
        assert_eq!(stale.as_array().unwrap().len(), 3);
        // A cache-busting query changes PathAndQuery and so the ETag.
        let fresh = f.get_json("/api/deployments?_=1").await.json();
        assert_eq!(fresh.as_array().unwrap().len(), 2);
        // Touching `active` through VFS busts the cache for the plain URL too.
        let active = f.get("/api/vfs/site/deployments/active").await.body;
        let put = f
            .send(
                "PUT",
                "/api/vfs/site/deployments/active",
                &[("if-match", "*")],
                active.into_bytes(),
            )
            .await;
        assert_eq!(put.status, 204);
        let busted = f.get_json("/api/deployments").await.json();
        assert_eq!(busted.as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn latest_404_when_there_are_no_deployments() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await.json();
        for item in list.as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            f.delete(
                &format!("/api/vfs/site/deployments/{id}/?recursive=true"),
                &[],
            )
            .await;
        }
        let latest = f.get_json("/api/deployments/latest").await;
        assert_eq!(latest.status, 404);
        let missing = f.get("/api/deployments/nope").await;
        assert_eq!(missing.status, 404);
        match p {
            Personality::Windows => {
                assert_eq!(
                    latest.body,
                    r#"{"Message":"Deployment 'latest' not found."}"#
                );
                assert_eq!(
                    missing.body,
                    r#"{"Message":"Deployment 'nope' not found."}"#
                );
            }
            Personality::Linux => {
                assert_eq!(latest.body, "\"Deployment 'latest' not found.\"");
                assert_eq!(missing.body, "Deployment 'nope' not found.");
            }
        }
    }
}

#[tokio::test]
async fn linux_forces_status_0_on_any_item_while_locked() {
    let f = start(Personality::Linux, "stuck-linux").await;
    let list = f.get_json("/api/deployments").await.json();
    let done = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == 4)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let item = f.get_json(&format!("/api/deployments/{done}")).await.json();
    assert_eq!(item["status"], 0);
    assert_eq!(item["complete"], true);
    let latest = f.get_json("/api/deployments/latest").await;
    assert_eq!(latest.status, 202);
    assert_eq!(latest.json()["status"], 0);
    assert!(latest.header("retry-after").is_none());
    assert!(
        latest
            .header("location")
            .unwrap()
            .ends_with("/api/deployments/latest")
    );
}

#[tokio::test]
async fn windows_latest_202_has_no_urls_and_a_retry_after() {
    let f = start(Personality::Windows, "stuck-windows").await;
    let latest = f
        .get_json("/api/deployments/latest?deployer=x&time=y")
        .await;
    assert_eq!(latest.status, 202);
    let body = latest.json();
    assert_eq!(body["status"], 1);
    assert_eq!(body["provisioningState"], "InProgress");
    assert!(body["url"].is_null() && body["log_url"].is_null());
    assert_eq!(latest.header("retry-after"), Some("30"));
    assert!(
        latest
            .header("location")
            .unwrap()
            .ends_with("/api/deployments/latest?deployer=x&time=y")
    );
}

#[tokio::test]
async fn verify_deployment_marks_stale_items_failed_windows_at_once_linux_after_180_s() {
    for p in BOTH {
        let f = start_with(SimConfig {
            personality: p,
            build_ms: 600_000,
            password: Some("pw".into()),
            ..SimConfig::default()
        })
        .await;
        assert_eq!(f.push_async("x").await.status, 202);
        f.sim.advance(30);
        assert!(f.sim.kill_deployment());
        if p == Personality::Linux {
            // The lock stays (the dead process never released it): delete it by hand.
            let del = f
                .delete("/api/vfs/site/locks/deployment/?recursive=true", &[])
                .await;
            assert_eq!(del.status, 200);
        }
        let list = f.get_json("/api/deployments?_=1").await.json();
        let newest = &list[0];
        match p {
            Personality::Windows => {
                assert_eq!(newest["status"], 3);
                assert_eq!(newest["complete"], true);
            }
            Personality::Linux => {
                // Younger than 180 s: still incomplete.
                assert_eq!(newest["complete"], false);
                f.sim.advance(151);
                let list = f.get_json("/api/deployments?_=2").await.json();
                assert_eq!(list[0]["status"], 3);
                let id = list[0]["id"].as_str().unwrap();
                let log = f
                    .get_json(&format!("/api/deployments/{id}/log"))
                    .await
                    .json();
                let last = log.as_array().unwrap().last().unwrap();
                assert_eq!(
                    last["message"],
                    "An unknown error has occurred. Check the diagnostic log for details."
                );
                assert_eq!(last["type"], 2);
            }
        }
    }
}

#[tokio::test]
async fn logs_and_log_details_and_their_404s() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await.json();
        let id = list[0]["id"].as_str().unwrap().to_string();
        let log = f.get_json(&format!("/api/deployments/{id}/log")).await;
        assert_eq!(log.status, 200);
        let entries = log.json();
        let entries = entries.as_array().unwrap();
        assert!(
            entries[0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Preparing deployment for commit id '")
        );
        assert_eq!(entries.last().unwrap()["message"], "Deployment successful.");
        let with_details = entries
            .iter()
            .find(|e| !e["details_url"].is_null())
            .unwrap();
        let details_url = with_details["details_url"].as_str().unwrap();
        let log_id = with_details["id"].as_str().unwrap();
        assert!(details_url.ends_with(&format!("/api/deployments/{id}/log/{log_id}")));
        let children = f
            .get_json(&format!("/api/deployments/{id}/log/{log_id}"))
            .await
            .json();
        assert_eq!(children[0]["id"], "");
        assert!(entries.iter().any(|e| e["details_url"].is_null()));

        let missing = f.get_json("/api/deployments/nope/log").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("No log found for 'nope'."));
        let missing_child = f.get_json(&format!("/api/deployments/{id}/log/nope")).await;
        assert_eq!(missing_child.status, 404);
        assert!(
            missing_child
                .body
                .contains(&format!("LogId 'nope' was not found in Deployment '{id}'."))
        );
    }
}

#[tokio::test]
async fn status_xml_and_log_are_in_kudus_formats_on_disk() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await.json();
        let id = list[0]["id"].as_str().unwrap().to_string();
        let xml = f
            .get(&format!("/api/vfs/site/deployments/{id}/status.xml"))
            .await
            .body;
        let nl = if p == Personality::Windows {
            "\r\n"
        } else {
            "\n"
        };
        assert!(xml.starts_with(&format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>{nl}<deployment>{nl}  <id>{id}</id>"
        )));
        let order = [
            "<id>",
            "<author>",
            "<deployer>",
            "<authorEmail>",
            "<message>",
            "<progress",
            "<status>",
            "<statusText",
            "<lastSuccessEndTime>",
            "<receivedTime>",
            "<startTime>",
            "<endTime>",
            "<complete>",
            "<is_temp>",
            "<is_readonly>",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|t| xml.find(t).unwrap_or_else(|| panic!("{t} in {xml}")))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        assert!(xml.contains("<status>Success</status>"));
        assert!(xml.contains("<complete>True</complete>"));
        assert_eq!(xml.contains("<project_type />"), p == Personality::Windows);
        let log = f
            .get(&format!("/api/vfs/site/deployments/{id}/log.log"))
            .await
            .body;
        let first = log.lines().next().unwrap();
        let fields: Vec<&str> = first.split(',').collect();
        assert_eq!(fields.len(), 4, "{first}");
        assert_eq!(fields[0].len(), "2026-11-26T12:00:00.0000000Z".len());
        assert_eq!(fields[3], "0");
        assert!(log.lines().any(|l| l.starts_with('\t')));
        let active = f.get("/api/vfs/site/deployments/active").await.body;
        assert_eq!(active, id);
        let pending = f.get("/api/vfs/site/deployments/pending").await;
        assert_eq!((pending.status, pending.body.as_str()), (200, ""));
    }
}

#[tokio::test]
async fn corrupt_status_xml_makes_kudu_delete_the_folder() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await.json();
        let id = list[2]["id"].as_str().unwrap().to_string();
        for name in ["status.xml", "status_complete.xml"] {
            f.send(
                "PUT",
                &format!("/api/vfs/site/deployments/{id}/{name}"),
                &[("if-match", "*")],
                b"<deployment><oops".to_vec(),
            )
            .await;
        }
        let list = f.get_json("/api/deployments?_=9").await.json();
        assert_eq!(list.as_array().unwrap().len(), 2);
        let gone = f.get(&format!("/api/vfs/site/deployments/{id}/")).await;
        assert_eq!(gone.status, 404);
    }
}

#[tokio::test]
async fn delete_deployment_rules() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let list = f.get_json("/api/deployments").await.json();
        let active = list[0]["id"].as_str().unwrap().to_string();
        let old = list[2]["id"].as_str().unwrap().to_string();
        let r = f.delete(&format!("/api/deployments/{active}"), &[]).await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains(&format!(
            "Unable to delete '{active}'. The deployment is currently active."
        )));
        let r = f.delete("/api/deployments/nope", &[]).await;
        assert_eq!(r.status, 404);
        assert!(
            r.body
                .contains("Unable to delete 'nope'. No deployment found.")
        );
        let r = f.delete(&format!("/api/deployments/{old}"), &[]).await;
        assert_eq!(r.status, if p == Personality::Windows { 204 } else { 200 });
        // It touched `active`, so even the plain URL is fresh.
        let list = f.get_json("/api/deployments").await.json();
        assert_eq!(list.as_array().unwrap().len(), 2);

        let f = start(p, "deploying").await;
        let r = f.delete(&format!("/api/deployments/{old}"), &[]).await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("The 'Deleting deployment' operation conflicts with the pending 'Performing continuous deployment' operation started at "));
    }
}

#[tokio::test]
async fn purge_keeps_ten_successes_and_drops_failed_ones_that_never_succeeded() {
    let f = start_with(SimConfig {
        personality: Personality::Windows,
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..9 {
        assert_eq!(f.push_async("x").await.status, 202);
        f.sim.advance(60);
    }
    f.sim.fail_next(kudu_sim::FailMode::Build);
    f.push_async("x").await;
    f.sim.advance(60);
    f.sim.fail_next(kudu_sim::FailMode::Build);
    f.push_async("x").await;
    f.sim.advance(60);
    let list = f.get_json("/api/deployments?_=1").await.json();
    let items = list.as_array().unwrap();
    let failed = items.iter().filter(|i| i["status"] == 3).count();
    let succeeded = items.iter().filter(|i| i["status"] == 4).count();
    // The newest failed one stays because it is first; the older failed one is purged.
    assert_eq!(failed, 1);
    assert_eq!(items[0]["status"], 3);
    assert_eq!(succeeded, 10);
}

#[tokio::test]
async fn isdeploying_is_linux_only() {
    let f = start(Personality::Windows, "healthy").await;
    let r = f.get_json("/api/isdeploying").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, "\"No route registered for '/api/isdeploying'\"");
    let f = start(Personality::Linux, "healthy").await;
    let r = f.get_json("/api/isdeploying").await;
    assert_eq!(r.body, r#"{"value":"False","msg":""}"#);
    let f = start(Personality::Linux, "deploying").await;
    let r = f.get_json("/api/isdeploying").await;
    assert_eq!(r.body, r#"{"value":"True","msg":"Deployment Underway"}"#);
}

#[tokio::test]
async fn track_deployment_progress_returns_the_id_header() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let resp = f
            .send(
                "POST",
                "/api/zipdeploy?isAsync=true&trackDeploymentProgress=true",
                &[],
                kudu_sim::app_zip(4),
            )
            .await;
        assert_eq!(resp.status, 202);
        let id = resp.header("scm-deployment-id").unwrap().to_string();
        assert_eq!(id.len(), 36, "a dashed GUID: {id}");
        let item = f.get_json(&format!("/api/deployments/{id}")).await;
        assert_eq!(item.status, 200);
        // VS Code's `trackDeploymentId` is not what public Kudu reads (facts §7.3).
        let plain = f
            .send(
                "POST",
                "/api/zipdeploy?isAsync=true&trackDeploymentId=true",
                &[],
                kudu_sim::app_zip(5),
            )
            .await;
        assert!(plain.header("scm-deployment-id").is_none());
    }
}

#[tokio::test]
async fn put_deployment_records_history_like_webapps_deploy() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let body = br#"{"status":4,"message":"Container image updated","deployer":"GitHub","author":"octocat","active":true}"#;
        let r = f
            .send(
                "PUT",
                "/api/deployments/container-1",
                &[("content-type", "application/json")],
                body.to_vec(),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["deployer"], "GitHub");
        let latest = f.get_json("/api/deployments/latest").await.json();
        assert_eq!(latest["id"], "container-1");
        assert_eq!(latest["active"], true);
        let again = f
            .send("PUT", "/api/deployments/container-1", &[], body.to_vec())
            .await;
        assert_eq!(again.status, 409);
        assert!(
            again
                .body
                .contains("Deployment with id 'container-1' exists")
        );
    }
}
