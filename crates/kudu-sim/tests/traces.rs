//! Kudu's trace files in `LogFiles/kudu/trace/` (README "Trace files"): names as XmlTracer
//! builds them, which requests are traced, the startup and shutdown traces, pending traces of
//! unfinished work, and the cleanup cap.

mod common;

use common::{
    BOTH, BROWSER, Fixture, names, parse_name, stamp_time, start, start_with, start_with_quirks,
    traces,
};
use kudu_sim::{Personality, Quirks, SimConfig, SimRequest};

fn short_instance(f: &Fixture) -> String {
    f.sim.with_kudu(|k| k.instance_id[..6].to_string())
}

#[tokio::test]
async fn every_push_of_a_scenario_leaves_its_traces_named_as_xml_tracer_names_them() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let all = names(&f).await;
        let instance = short_instance(&f);
        assert!(all.iter().all(|t| t.instance == instance), "{all:#?}");
        // The first push of the scenario is the process's first request: the startup trace
        // (salt 001, no status), then the request (202) and its async run's background trace,
        // whose seconds are the build's.
        assert_eq!(all[0].what, "Startup_POST_api-zipdeploy", "{all:#?}");
        assert_eq!(
            (all[0].salt, all[0].status, all[0].secs),
            (1, None, Some(0))
        );
        assert_eq!(all[1].what, "POST_api-zipdeploy");
        assert_eq!((all[1].salt, all[1].status), (2, Some(202)));
        assert!(all[1].secs.unwrap() <= 1);
        assert_eq!(all[2].what, "Background_POST_api-zipdeploy");
        assert_eq!((all[2].salt, all[2].status), (3, None));
        assert!((95..=97).contains(&all[2].secs.unwrap()), "{:?}", all[2]);
        // Three pushes (the last a OneDeploy), nine files, counting on.
        let whats: Vec<&str> = all.iter().map(|t| t.what.as_str()).collect();
        assert_eq!(
            whats[3..],
            [
                "POST_api-zipdeploy",
                "Background_POST_api-zipdeploy",
                "POST_api-publish",
                "Background_POST_api-publish",
            ]
        );
        let salts: Vec<u32> = all.iter().map(|t| t.salt).collect();
        assert_eq!(salts, (1..=7).collect::<Vec<_>>());
        // The name's time is the trace's start in UTC; the mtime is when it ended.
        let (_, mtime) = traces(&f).await[2];
        let started = stamp_time(&all[2].time);
        assert!(mtime.secs_since(started) >= 95, "{mtime:?} {started:?}");
    }
}

#[tokio::test]
async fn a_push_answered_409_is_traced_with_its_status() {
    for p in BOTH {
        let f = start(p, "deploying").await;
        let before = names(&f).await.len();
        let reply = f.push_async("probe").await;
        assert_eq!(reply.status, 409);
        let all = names(&f).await;
        let new: Vec<(&str, Option<u16>)> = all[before..]
            .iter()
            .map(|t| (t.what.as_str(), t.status))
            .collect();
        match p {
            // Windows answers from `Preparing zip package`, before any background work.
            Personality::Windows => assert_eq!(new, [("POST_api-zipdeploy", Some(409))]),
            // The async run's background tracer starts before it tries the lock.
            Personality::Linux => assert_eq!(
                new,
                [
                    ("POST_api-zipdeploy", Some(409)),
                    ("Background_POST_api-zipdeploy", None)
                ]
            ),
        }
        // The running build's background trace is still pending.
        assert!(
            all.iter()
                .any(|t| t.what == "Background_POST_api-zipdeploy" && t.secs.is_none()),
            "{all:#?}"
        );
    }
}

#[tokio::test]
async fn which_requests_are_traced() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let base = names(&f).await.len();
        // Browsers are skipped, whatever the method.
        let reply = f
            .send(
                "PUT",
                "/api/vfs/site/wwwroot/note.txt",
                &[("user-agent", BROWSER)],
                b"hi".to_vec(),
            )
            .await;
        assert_eq!(reply.status, 201);
        assert_eq!(names(&f).await.len(), base);
        // Other clients: every non-GET; a GET unless it is a 304 or a 200 on the portal's
        // polled paths.
        let curl = [("user-agent", "curl/8.5.0")];
        f.send(
            "DELETE",
            "/api/vfs/site/wwwroot/note.txt",
            &[("user-agent", "curl/8.5.0"), ("if-match", "*")],
            Vec::new(),
        )
        .await;
        f.send("GET", "/api/vfs/site/wwwroot/", &curl, Vec::new())
            .await;
        f.send("GET", "/api/deployments", &curl, Vec::new()).await;
        f.send("GET", "/api/deployments/latest", &curl, Vec::new())
            .await;
        f.send("GET", "/api/vfs/site/nope.txt", &curl, Vec::new())
            .await;
        let all = names(&f).await;
        let new: Vec<(&str, Option<u16>)> = all[base..]
            .iter()
            .map(|t| (t.what.as_str(), t.status))
            .collect();
        let mut expected = vec![
            ("DELETE_api-vfs-site-wwwroot-note.txt", Some(200)),
            ("GET_api-vfs-site-wwwroot", Some(200)),
        ];
        if p == Personality::Windows {
            // Only KuduLite filters `/api/deployments/latest`.
            expected.push(("GET_api-deployments-latest", Some(200)));
        }
        expected.push(("GET_api-vfs-site-nope.txt", Some(404)));
        assert_eq!(new, expected, "{}", p.name());
        // The salt counts the filtered GET too: its file was named, then deleted.
        let salts: Vec<u32> = all[base..].iter().map(|t| t.salt).collect();
        let first = all[base - 1].salt + 1;
        let expected_salts: Vec<u32> = match p {
            Personality::Windows => vec![first, first + 1, first + 3, first + 4],
            Personality::Linux => vec![first, first + 1, first + 4],
        };
        assert_eq!(salts, expected_salts, "{}", p.name());
    }
}

#[tokio::test]
async fn trace_level_zero_turns_tracing_off_and_verbose_traces_browsers() {
    let f = start(Personality::Linux, "healthy").await;
    let base = names(&f).await.len();
    f.sim.set_setting("SCM_TRACE_LEVEL", Some("0"));
    f.send("POST", "/api/settings", &[], b"{}".to_vec()).await;
    assert_eq!(names(&f).await.len(), base);
    f.sim.set_setting("SCM_TRACE_LEVEL", Some("4"));
    // Verbose: the browser's own listing is traced too (it sees its own pending file).
    let listed = traces(&f).await;
    assert!(
        listed
            .last()
            .unwrap()
            .0
            .ends_with("_GET_api-vfs-LogFiles-kudu-trace_pending.xml"),
        "{listed:#?}"
    );
}

#[tokio::test]
async fn a_sync_push_is_pending_until_its_build_ends() {
    let f = start_with(SimConfig {
        personality: Personality::Linux,
        scenario: "healthy".into(),
        build_ms: 90_000,
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    let before = names(&f).await.len();
    f.sim.with_kudu(|k| {
        let req = SimRequest::new("POST", "/api/zipdeploy?deployer=az_cli")
            .with_body(kudu_sim::app_zip(7));
        let _ = k.handle(&req);
    });
    let pending = names(&f).await;
    assert_eq!(pending.len(), before + 1);
    assert_eq!(pending[before].what, "POST_api-zipdeploy");
    assert_eq!(pending[before].secs, None);
    f.sim.advance(91);
    let ended = names(&f).await;
    assert_eq!(ended[before].status, Some(200));
    assert!((90..=91).contains(&ended[before].secs.unwrap()));
}

#[tokio::test]
async fn a_restart_writes_shutdown_and_the_next_request_the_startup_trace() {
    for p in BOTH {
        let f = start(p, "deploying").await;
        let before = names(&f).await;
        let last_salt = before.last().unwrap().salt;
        let restarted_at = f.sim.now();
        f.sim.restart_kudu();
        f.sim.advance(30);
        // The listing is the new process's first request: its startup trace (salt 001) is
        // written before the listing is read.
        let after = names(&f).await;
        let new = &after[before.len()..];
        assert_eq!(new.len(), 2, "{new:#?}");
        assert_eq!(new[0].what, "Shutdown");
        assert_eq!(
            (new[0].salt, new[0].status, new[0].secs),
            (last_salt + 1, None, Some(0))
        );
        assert_eq!(new[0].time, restarted_at.to_trace_stamp());
        assert_eq!(new[1].what, "Startup_GET_api-vfs-LogFiles-kudu-trace");
        assert_eq!((new[1].salt, new[1].secs), (1, Some(0)));
        assert_eq!(new[1].time, f.sim.now().to_trace_stamp());
        // The killed build's background trace stays pending.
        assert!(
            after
                .iter()
                .any(|t| t.what == "Background_POST_api-zipdeploy" && t.secs.is_none())
        );
    }
}

#[tokio::test]
async fn with_a_warmup_request_the_startup_trace_comes_with_the_restart() {
    let f = start_with_quirks(
        Personality::Linux,
        "healthy",
        Quirks {
            kudu_warmup_path: Some("/robots933456.txt".into()),
            ..Quirks::default()
        },
    )
    .await;
    let first = names(&f).await;
    assert_eq!(first[0].what, "Startup_GET_robots933456.txt");
    assert_eq!(first[1].what, "GET_robots933456.txt");
    assert_eq!(first[1].status, Some(404));
    let restarted_at = f.sim.now();
    f.sim.restart_kudu();
    f.sim.advance(60);
    let after = names(&f).await;
    let new: Vec<(&str, u32)> = after[first.len()..]
        .iter()
        .map(|t| (t.what.as_str(), t.salt))
        .collect();
    // Names sort by time, then by number: in the same second the new process's 001 comes
    // before the old one's last number.
    assert_eq!(
        new,
        [
            ("Startup_GET_robots933456.txt", 1),
            ("GET_robots933456.txt", 2),
            ("Shutdown", first.last().unwrap().salt + 1),
        ]
    );
    assert!(
        after[first.len()..]
            .iter()
            .all(|t| t.time == restarted_at.to_trace_stamp())
    );
}

#[tokio::test]
async fn killing_kudu_through_the_process_api_leaves_its_request_pending() {
    let f = start(Personality::Windows, "healthy").await;
    let before = names(&f).await;
    let reply = f
        .send(
            "DELETE",
            "/api/processes/0",
            &[("user-agent", "curl/8.5.0")],
            Vec::new(),
        )
        .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let after = names(&f).await;
    let new: Vec<(&str, Option<u64>)> = after[before.len()..]
        .iter()
        .map(|t| (t.what.as_str(), t.secs))
        .collect();
    // No shutdown trace (Process.Kill); the browser listing starts the new process (its 001
    // sorts first within the same second).
    assert_eq!(
        new,
        [
            ("Startup_GET_api-vfs-LogFiles-kudu-trace", Some(0)),
            ("DELETE_api-processes-0", None),
        ]
    );
}

/// Sends `n` traced requests (404 GETs) one virtual second apart, in process.
fn flood(f: &Fixture, n: usize) {
    f.sim.with_kudu(|k| {
        for i in 0..n {
            let _ = k.handle(&SimRequest::new("GET", &format!("/api/nope{i}")));
            k.advance_secs(1);
        }
    });
}

#[tokio::test]
async fn windows_keeps_about_200_trace_files_dropping_the_oldest() {
    let f = start(Personality::Windows, "healthy").await;
    let first = traces(&f).await[0].0.clone();
    flood(&f, 400);
    let listed = traces(&f).await;
    // A cleanup runs when a new file starts, at most every 10 s, at 200 files or more, and
    // leaves 160.
    assert!(
        (160..=210).contains(&listed.len()),
        "{} files",
        listed.len()
    );
    assert!(listed.iter().all(|(n, _)| n != &first));
    assert!(listed.last().unwrap().0.contains("GET_api-nope399_404"));
    // The oldest went first: what is left is the newest run of requests.
    let oldest = parse_name(&listed[0].0);
    assert!(oldest.what.starts_with("GET_api-nope"));
}

#[tokio::test]
async fn linux_cleanup_only_deletes_default_names_unless_switched() {
    let f = start(Personality::Linux, "healthy").await;
    let base = traces(&f).await.len();
    flood(&f, 300);
    assert_eq!(traces(&f).await.len(), base + 300);

    let f = start_with_quirks(
        Personality::Linux,
        "healthy",
        Quirks {
            linux_trace_cleanup_all: true,
            ..Quirks::default()
        },
    )
    .await;
    flood(&f, 300);
    let n = traces(&f).await.len();
    // Every 3 s on Linux.
    assert!((160..=203).contains(&n), "{n} files");
}

#[tokio::test]
async fn the_instance_part_can_be_switched() {
    let f = start_with_quirks(
        Personality::Linux,
        "healthy",
        Quirks {
            trace_instance_id: Some("10-30-".into()),
            ..Quirks::default()
        },
    )
    .await;
    assert!(names(&f).await.iter().all(|t| t.instance == "10-30-"));
}

/// Every deployment route Kudu refuses while the lock is held leaves a `_409_` trace, and the
/// names read back through Kudu Doctor's own parser as refused deployment requests with their
/// method, path, instance and duration (issue 18).
#[tokio::test]
async fn refused_pushes_on_every_route_are_traced_as_kudu_doctor_reads_them() {
    for p in BOTH {
        let f = start(p, "deploying").await;
        let before: Vec<String> = traces(&f).await.into_iter().map(|(n, _)| n).collect();
        for path in [
            "/api/zipdeploy?isAsync=true",
            "/api/publish?type=zip&async=true",
        ] {
            let reply = f.send("POST", path, &[], kudu_sim::app_zip(9)).await;
            assert_eq!(reply.status, 409, "{p:?} {path}");
        }
        let refused: Vec<(String, u16, String)> = traces(&f)
            .await
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !before.contains(name))
            .filter_map(|name| kudu_core::parse::parse_trace_name(&name))
            .filter(|t| t.is_deployment_request())
            .map(|t| {
                assert_eq!(t.instance, short_instance(&f), "{}", t.file);
                assert!(t.duration_secs.is_some(), "{}", t.file);
                (
                    t.url_path(),
                    t.status.unwrap_or(0),
                    t.method.unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            refused,
            [
                ("/api/zipdeploy".to_string(), 409, "POST".to_string()),
                ("/api/publish".to_string(), 409, "POST".to_string()),
            ],
            "{p:?}"
        );
    }
}
