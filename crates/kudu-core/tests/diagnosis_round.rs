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
