//! The diagnosis round as a state machine, driven the way a shell drives it: reads out, replies
//! in (in any order), events out. Replies come from the captured and hand-written fixtures.

use std::path::PathBuf;

use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::{DiagnosisRound, RoundEvent, Timestamp};
use serde_json::Value;

struct Fixture {
    now: Timestamp,
    replies: Vec<(ReadId, String, HttpReply)>,
}

fn load(name: &str) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let now = Timestamp::parse_rfc3339(v["now"].as_str().unwrap()).unwrap();
    let replies = v["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
            let reply = HttpReply {
                status: r["status"].as_u64().unwrap() as u16,
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().unwrap_or_default().to_string(),
                headers: r["headers"]
                    .as_array()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap().to_string(),
                                    h[1].as_str().unwrap().to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                transport_error: None,
            };
            (read, r["path"].as_str().unwrap().to_string(), reply)
        })
        .collect();
    Fixture { now, replies }
}

/// A deployment's `log.log` as Kudu keeps it (facts §3.4), made from the fixture's API replies
/// for its log and the children of its lines: `None` when the fixture has no log for it.
fn log_file_for(f: &Fixture, id: &str) -> Option<HttpReply> {
    let api = |key: &str| -> Option<Vec<Value>> {
        let (_, _, reply) = f
            .replies
            .iter()
            .find(|(read, _, _)| *read == ReadId::DeploymentLog(key.to_string()))?;
        if reply.status != 200 {
            return None;
        }
        serde_json::from_str(&reply.body).ok()
    };
    let line = |entry: &Value, child: bool| {
        format!(
            "{}{},{},{},{}\n",
            if child { "\t" } else { "" },
            entry["log_time"].as_str().unwrap_or_default(),
            entry["message"]
                .as_str()
                .unwrap_or_default()
                .replace(',', "&comma;"),
            if child {
                ""
            } else {
                entry["id"].as_str().unwrap_or_default()
            },
            entry["type"].as_i64().unwrap_or(0)
        )
    };
    let mut text = String::new();
    for entry in api(id)? {
        text.push_str(&line(&entry, false));
        let children = entry["id"]
            .as_str()
            .and_then(|entry_id| api(&format!("{id}/{entry_id}")))
            .unwrap_or_default();
        for child in &children {
            text.push_str(&line(child, true));
        }
    }
    Some(HttpReply {
        status: 200,
        content_type: Some("application/octet-stream".into()),
        body: text,
        ..HttpReply::default()
    })
}

/// The fixture's reply to a read, or a 404 when the fixture has none (a log not captured).
fn reply_for(f: &Fixture, id: &ReadId) -> HttpReply {
    if let ReadId::DeploymentLogFile(deployment) = id
        && let Some(file) = log_file_for(f, deployment)
    {
        return file;
    }
    f.replies
        .iter()
        .find(|(read, _, _)| read == id)
        .map(|(_, _, reply)| reply.clone())
        .unwrap_or(HttpReply {
            status: 404,
            content_type: Some("application/json".into()),
            body: "{\"Message\":\"not found\"}".into(),
            ..HttpReply::default()
        })
}

/// Drives a round to its end, answering each batch in the given order, and lists its events.
fn drive(f: &Fixture, reverse: bool) -> Vec<RoundEvent> {
    let mut round = DiagnosisRound::new(1);
    let mut events = vec![];
    for _ in 0..10 {
        let mut batch = round.poll_reads();
        if reverse {
            batch.reverse();
        }
        for (token, read) in &batch {
            round.handle_reply(*token, &reply_for(f, &read.id), f.now);
        }
        while let Some(event) = round.poll_event() {
            events.push(event);
        }
        if round.is_done() {
            return events;
        }
        // A Windows holder that looks hung is watched twice: the shell's clock moves on.
        if let Some(until) = round.poll_timeout() {
            round.handle_timeout(until);
        }
    }
    panic!("the round never finished: {events:?}");
}

fn kinds(events: &[RoundEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            RoundEvent::Provisional(p) => format!(
                "provisional {}",
                p.diagnosis.primary().map_or("-", |f| f.cause.as_str())
            ),
            RoundEvent::Settled(d) => {
                format!("settled {}", d.primary().map_or("-", |f| f.cause.as_str()))
            }
            RoundEvent::PlanReady(p) => format!("plan {} steps", p.steps.len()),
            RoundEvent::Unreachable => "unreachable".into(),
        })
        .collect()
}

#[test]
fn a_round_that_needs_the_logs_is_provisional_until_they_are_in() {
    let f = load("hand/hand-stuck-linux");
    let events = drive(&f, false);
    let k = kinds(&events);
    assert_eq!(k.len(), 3, "{k:?}");
    assert!(k[0].starts_with("provisional "), "{k:?}");
    assert_eq!(k[1], "settled stale-lock");
    assert!(k[2].starts_with("plan ") && k[2] != "plan 0 steps", "{k:?}");
    let RoundEvent::Provisional(p) = &events[0] else {
        unreachable!()
    };
    assert!(
        p.checking.contains("reading its deployment's log"),
        "{}",
        p.checking
    );
    let RoundEvent::PlanReady(plan) = &events[2] else {
        unreachable!()
    };
    assert!(
        plan.requires_acknowledgement.is_some(),
        "only silence says the build stopped"
    );
}

#[test]
fn a_round_with_nothing_to_follow_up_settles_at_once() {
    let f = load("healthy-linux");
    assert_eq!(
        kinds(&drive(&f, false)),
        ["settled healthy", "plan 0 steps"]
    );
}

#[test]
fn the_order_replies_arrive_in_does_not_change_the_answer() {
    for name in [
        "hand/hand-stuck-linux",
        "hand/hand-killed-retried-linux",
        "parallel-linux",
        "stuck-windows-windows",
    ] {
        let f = load(name);
        let (forward, backward) = (drive(&f, false), drive(&f, true));
        let settled = |events: &[RoundEvent]| {
            events
                .iter()
                .find_map(|e| match e {
                    RoundEvent::Settled(d) => Some(d.clone()),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(settled(&forward), settled(&backward), "{name}");
    }
}

#[test]
fn a_site_that_never_answers_is_unreachable_and_nothing_else() {
    let mut round = DiagnosisRound::new(1);
    let now = Timestamp::from_unix_millis(1_795_694_400_000);
    for (token, _) in round.poll_reads() {
        round.handle_reply(
            token,
            &HttpReply {
                transport_error: Some("the connection closed or was refused".into()),
                ..HttpReply::default()
            },
            now,
        );
    }
    assert_eq!(round.poll_event(), Some(RoundEvent::Unreachable));
    assert_eq!(round.poll_event(), None);
    assert!(round.is_done());
}

#[test]
fn a_sign_in_page_everywhere_is_an_answer_not_an_outage() {
    let mut round = DiagnosisRound::new(1);
    let now = Timestamp::from_unix_millis(1_795_694_400_000);
    for (token, _) in round.poll_reads() {
        round.handle_reply(
            token,
            &HttpReply {
                status: 200,
                content_type: Some("text/html; charset=utf-8".into()),
                body: "<!DOCTYPE html><html><body>Sign in</body></html>".into(),
                ..HttpReply::default()
            },
            now,
        );
    }
    match round.poll_event() {
        Some(RoundEvent::Settled(d)) => {
            assert_eq!(d.primary().unwrap().cause.as_str(), "session-expired")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_settles_while_a_read_is_out_and_stray_replies_are_ignored() {
    let f = load("hand/hand-stuck-linux");
    let mut round = DiagnosisRound::new(1);
    let batch = round.poll_reads();
    let (last, rest) = batch.split_last().unwrap();
    for (token, read) in rest {
        round.handle_reply(*token, &reply_for(&f, &read.id), f.now);
        // The same reply twice changes nothing.
        round.handle_reply(*token, &reply_for(&f, &read.id), f.now);
    }
    assert_eq!(round.poll_event(), None);
    assert!(
        round.poll_reads().is_empty(),
        "no follow-up before the level is in"
    );
    assert!(!round.is_settled());
    round.handle_reply(last.0, &reply_for(&f, &last.1.id), f.now);
    assert!(matches!(
        round.poll_event(),
        Some(RoundEvent::Provisional(_))
    ));
    assert!(
        !round.poll_reads().is_empty(),
        "the logs are asked for next"
    );
}

#[test]
fn the_sites_date_header_sets_the_diagnosis_time() {
    let f = load("healthy-linux");
    let mut round = DiagnosisRound::new(1);
    // The shell's clock is an hour behind the site's.
    let wall = Timestamp::from_unix_millis(f.now.unix_millis() - 3_600_000);
    let date = "Thu, 26 Nov 2026 12:00:00 GMT";
    for (token, read) in round.poll_reads() {
        let mut reply = reply_for(&f, &read.id);
        reply.headers.push(("date".into(), date.into()));
        round.handle_reply(token, &reply, wall);
    }
    let Some(RoundEvent::Settled(d)) = round.poll_event() else {
        panic!("not settled")
    };
    assert_eq!(d.now, Timestamp::from_http_date(date).unwrap());
    assert_eq!(
        round.clock_offset_ms(),
        d.now.unix_millis() - wall.unix_millis()
    );
}

/// The deployment's whole log comes in one read (its `log.log`, children included), so a stuck
/// site settles after two batches: the first reads, then the logs their ids name. The API's
/// log needed a third, for the children of its newest line.
#[test]
fn a_stuck_site_settles_in_two_batches() {
    let f = load("hand/hand-stuck-linux");
    let mut round = DiagnosisRound::new(1);
    let mut batches = 0;
    while !round.is_settled() {
        let batch = round.poll_reads();
        assert!(!batch.is_empty(), "no reads, not settled");
        batches += 1;
        for (token, read) in &batch {
            round.handle_reply(*token, &reply_for(&f, &read.id), f.now);
        }
        while round.poll_event().is_some() {}
    }
    assert_eq!(batches, 2);
}

// ---------------------------------------------------------------- Windows build processes

/// The SCM site's processes as Kudu-W answers them (projectkudu/kudu `ProcessController`):
/// Kudu's w3wp (pid 2080, holding `deployments.lock` when `lock_held`), the site's w3wp, and
/// when `node_cpu` is given a build's `cmd` (4100) and `node` running npm (4104) whose total
/// CPU time is `node_cpu.0` at the first read and `node_cpu.1` at the second.
struct Processes {
    lock_held: bool,
    node_cpu: Option<(&'static str, &'static str)>,
}

impl Processes {
    fn reply(&self, id: &ReadId, second: bool) -> Option<HttpReply> {
        let json = |body: String| HttpReply {
            status: 200,
            content_type: Some("application/json; charset=utf-8".into()),
            body,
            ..HttpReply::default()
        };
        let href = |pid: u32| format!("https://myapp.scm.azurewebsites.net/api/processes/{pid}");
        let details = |pid: u32, name: &str, scm: bool, cpu: &str, handles: &str, command: &str| {
            json(format!(
                r#"{{"id":{pid},"name":"{name}","href":"{}","parent":"{}","children":[],
                "open_file_handles":[{handles}],"total_cpu_time":"{cpu}",
                "time_stamp":"{}","is_scm_site":{scm},"is_webjob":false,
                "command_line":"{command}","environment_variables":{{"APPSETTING_SECRET":"s3cret"}}}}"#,
                href(pid),
                href(2080),
                if second {
                    "2026-11-26T12:14:05Z"
                } else {
                    "2026-11-26T12:14:00Z"
                },
            ))
        };
        let lock = if self.lock_held {
            r#""D:\\home\\LogFiles\\kudu\\trace","D:\\home\\site\\locks\\deployments.lock""#
        } else {
            r#""D:\\home\\LogFiles\\kudu\\trace""#
        };
        match id {
            ReadId::Processes => {
                let mut list = vec![
                    format!(r#"{{"id":2080,"name":"w3wp","href":"{}"}}"#, href(2080)),
                    format!(r#"{{"id":2090,"name":"w3wp","href":"{}"}}"#, href(2090)),
                ];
                if self.node_cpu.is_some() {
                    list.push(format!(
                        r#"{{"id":4100,"name":"cmd","href":"{}"}}"#,
                        href(4100)
                    ));
                    list.push(format!(
                        r#"{{"id":4104,"name":"node","href":"{}"}}"#,
                        href(4104)
                    ));
                }
                Some(json(format!("[{}]", list.join(","))))
            }
            ReadId::Process(pid) | ReadId::ProcessAgain(pid) => Some(match (*pid, self.node_cpu) {
                (2080, _) => details(2080, "w3wp", true, "00:02:00", lock, "w3wp.exe"),
                (2090, _) => details(
                    2090,
                    "w3wp",
                    false,
                    "00:09:00",
                    r#""D:\\home\\site\\wwwroot""#,
                    "w3wp.exe",
                ),
                (4100, Some(_)) => details(
                    4100,
                    "cmd",
                    true,
                    "00:00:00.0468750",
                    "",
                    "cmd /c deploy.cmd",
                ),
                (4104, Some((first, again))) => details(
                    4104,
                    "node",
                    true,
                    if second { again } else { first },
                    r#""D:\\home\\site\\repository\\package.json""#,
                    "node.exe npm-cli.js ci",
                ),
                _ => HttpReply {
                    status: 404,
                    body: r#"{"Message":"Process with id 'x' not found."}"#.into(),
                    ..HttpReply::default()
                },
            }),
            _ => None,
        }
    }
}

/// Drives a round the way the wizard and the CLI do, with the shell's clock: each batch is
/// answered at `wall`, and when the round asks for a timer the clock jumps to it. Returns the
/// events, every read handed out, and the timers the round asked for (relative to the start).
fn drive_with_clock(
    f: &Fixture,
    processes: &Processes,
) -> (Vec<RoundEvent>, Vec<ReadId>, Vec<i64>) {
    let start = f.now;
    let mut wall = start;
    let mut round = DiagnosisRound::new(1);
    let (mut events, mut reads, mut timers) = (vec![], vec![], vec![]);
    let mut second = false;
    for _ in 0..20 {
        let batch = round.poll_reads();
        for (token, read) in &batch {
            reads.push(read.id.clone());
            let reply = processes
                .reply(&read.id, second)
                .unwrap_or_else(|| reply_for(f, &read.id));
            round.handle_reply(*token, &reply, wall);
        }
        while let Some(event) = round.poll_event() {
            events.push(event);
        }
        if round.is_done() {
            return (events, reads, timers);
        }
        if batch.is_empty() {
            let until = round
                .poll_timeout()
                .expect("a round that reads nothing waits");
            timers.push(start.secs_until(until));
            // Early: nothing happens.
            round.handle_timeout(until.plus_secs(-1));
            assert!(round.poll_reads().is_empty(), "nothing before the timer");
            wall = until;
            second = true;
            round.handle_timeout(wall);
        }
    }
    panic!("the round never finished: {events:?}");
}

fn settled(events: &[RoundEvent]) -> &kudu_core::Diagnosis {
    events
        .iter()
        .find_map(|e| match e {
            RoundEvent::Settled(d) => Some(d.as_ref()),
            _ => None,
        })
        .expect("settled")
}

fn plan(events: &[RoundEvent]) -> &kudu_core::CleanupPlan {
    events
        .iter()
        .find_map(|e| match e {
            RoundEvent::PlanReady(p) => Some(p.as_ref()),
            _ => None,
        })
        .expect("a plan")
}

/// A Windows holder whose log has been silent for 14 minutes, whose npm used CPU between two
/// reads five seconds apart: alive, whatever the silence says. The round waited between the
/// reads, and settled only after the second.
#[test]
fn a_busy_build_beats_log_silence_on_windows() {
    let f = load("stuck-windows-windows");
    let (events, reads, timers) = drive_with_clock(
        &f,
        &Processes {
            lock_held: true,
            node_cpu: Some(("00:03:10.1562500", "00:03:13.2812500")),
        },
    );
    assert_eq!(timers, [kudu_core::diagnose::PROCESS_SAMPLE_GAP_SECS]);
    let k = kinds(&events);
    assert_eq!(
        k,
        [
            "provisional deployment-in-progress",
            "provisional windows-lock-held",
            "settled deployment-in-progress",
            "plan 0 steps"
        ]
    );
    let watching = match &events[1] {
        RoundEvent::Provisional(p) => p.checking.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        watching.contains("watching the build's processes"),
        "{watching}"
    );
    let again: Vec<_> = reads
        .iter()
        .filter(|r| matches!(r, ReadId::ProcessAgain(_)))
        .collect();
    assert_eq!(
        again,
        [&ReadId::ProcessAgain(4100), &ReadId::ProcessAgain(4104)]
    );
    let d = settled(&events);
    let text = format!("{d:?}");
    assert!(text.contains("npm used 3.1 s of CPU in 5 s"), "{text}");
    assert!(
        !text.contains("s3cret"),
        "the process environment is never kept"
    );
    assert!(plan(&events).steps.is_empty() || d.lock.idle_evidence.is_none());
}

/// The same holder whose npm used no CPU: still only weak evidence (a build waiting on the
/// network uses none either), in the finding's words; the plan needs the user's word.
#[test]
fn a_build_that_used_no_cpu_is_stuck_on_weak_evidence_only() {
    let f = load("stuck-windows-windows");
    let (events, _, timers) = drive_with_clock(
        &f,
        &Processes {
            lock_held: true,
            node_cpu: Some(("00:00:45.5000000", "00:00:45.5000000")),
        },
    );
    assert_eq!(timers.len(), 1);
    let d = settled(&events);
    assert_eq!(
        d.primary().map(|p| p.cause.as_str()),
        Some("windows-lock-held")
    );
    let idle = d.lock.idle_evidence.clone().expect("idle evidence");
    assert_eq!(idle.strength, kudu_core::diagnose::EvidenceStrength::Weak);
    assert!(
        idle.reason.contains("npm used no CPU in 5 s"),
        "{}",
        idle.reason
    );
    assert!(plan(&events).requires_acknowledgement.is_some());
}

/// No build process and nothing with `deployments.lock` open on a single-instance site: the
/// holder is gone, strong evidence, no waiting for a second read, and no acknowledgement.
#[test]
fn no_build_and_no_handle_on_the_lock_is_strong_evidence() {
    let f = load("stuck-windows-windows");
    let (events, reads, timers) = drive_with_clock(
        &f,
        &Processes {
            lock_held: false,
            node_cpu: None,
        },
    );
    assert!(timers.is_empty(), "nothing to sample twice");
    assert!(!reads.iter().any(|r| matches!(r, ReadId::ProcessAgain(_))));
    let d = settled(&events);
    let idle = d.lock.idle_evidence.clone().expect("idle evidence");
    assert_eq!(
        idle.strength,
        kudu_core::diagnose::EvidenceStrength::Strong,
        "{idle:?}"
    );
    assert!(
        idle.reason.contains("holds deployments.lock"),
        "{}",
        idle.reason
    );
    assert!(plan(&events).requires_acknowledgement.is_none());
    assert_eq!(
        d.primary().map(|p| p.cause.as_str()),
        Some("windows-lock-held"),
        "{:?}",
        kinds(&events)
    );
}

/// Kudu's process API answering 403 or garbage is no evidence: the verdict stays as the log
/// left it (weak), and the round still settles.
#[test]
fn unreadable_processes_are_no_evidence() {
    let f = load("stuck-windows-windows");
    let mut round = DiagnosisRound::new(1);
    let mut events = vec![];
    for _ in 0..10 {
        let batch = round.poll_reads();
        for (token, read) in &batch {
            let reply = match read.id {
                ReadId::Processes => HttpReply {
                    status: 200,
                    content_type: Some("application/json".into()),
                    body: "{\"odd\":".into(),
                    ..HttpReply::default()
                },
                _ => reply_for(&f, &read.id),
            };
            round.handle_reply(*token, &reply, f.now);
        }
        while let Some(event) = round.poll_event() {
            events.push(event);
        }
        if round.is_done() {
            break;
        }
        assert!(round.poll_timeout().is_none(), "no timer without processes");
    }
    let d = settled(&events);
    assert_eq!(
        d.lock.idle_evidence.as_ref().map(|e| e.strength),
        Some(kudu_core::diagnose::EvidenceStrength::Weak)
    );
}

/// Linux and a healthy Windows site never read processes and never wait.
#[test]
fn linux_and_clear_answers_never_read_processes() {
    for name in ["stuck-linux-linux", "healthy-windows", "long-build-windows"] {
        let f = load(name);
        let (_, reads, timers) = drive_with_clock(
            &f,
            &Processes {
                lock_held: true,
                node_cpu: Some(("00:00:01", "00:00:02")),
            },
        );
        assert!(timers.is_empty(), "{name}");
        assert!(
            !reads
                .iter()
                .any(|r| matches!(r, ReadId::Processes | ReadId::Process(_))),
            "{name}: {reads:?}"
        );
    }
}

// ---------------------------------------------------------------- Kudu's purge on listing

/// Reading the deployment list makes Kudu purge pending temporary deployments and failed ones
/// (kudu-facts §1.3). The first reads go out at once, so the listing of `site/deployments/`
/// may be answered before that purge and still show folders that are gone a moment later; a
/// plan made from it would name them, and the cleanup's backup (which no longer holds them)
/// stops the run. The round reads the listing again after the list, and plans from that.
#[test]
fn a_listing_read_beside_the_list_is_read_again_after_it() {
    let f = load("hand/hand-stuck-linux");
    let first = reply_for(&f, &ReadId::DeploymentsDir);
    let listed: Vec<Value> = serde_json::from_str(&first.body).unwrap();
    let temp: Vec<String> = listed
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| n.starts_with("temp-"))
        .map(str::to_string)
        .collect();
    assert!(!temp.is_empty(), "the fixture lists a temp folder");
    let purged = HttpReply {
        body: serde_json::to_string(
            &listed
                .iter()
                .filter(|e| !e["name"].as_str().unwrap_or("").starts_with("temp-"))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
        ..first.clone()
    };

    let mut round = DiagnosisRound::new(1);
    let mut events = vec![];
    let mut listings = 0;
    let mut batches = 0;
    while !round.is_done() {
        let batch = round.poll_reads();
        assert!(
            !batch.is_empty(),
            "no reads, not done: {:?}",
            kinds(&events)
        );
        batches += 1;
        for (token, read) in &batch {
            let reply = if read.id == ReadId::DeploymentsDir {
                listings += 1;
                if listings == 1 {
                    first.clone()
                } else {
                    purged.clone()
                }
            } else {
                reply_for(&f, &read.id)
            };
            round.handle_reply(*token, &reply, f.now);
        }
        while let Some(event) = round.poll_event() {
            events.push(event);
        }
    }
    assert_eq!(listings, 2, "the listing is read again after the list");
    assert_eq!(batches, 2, "with the logs, in the same second batch");
    let plan = plan(&events);
    for step in &plan.steps {
        for name in &temp {
            assert!(
                !step.request.path.contains(name.as_str()),
                "the plan names {name}, which Kudu purged: {:?}",
                step.request
            );
        }
    }
}
