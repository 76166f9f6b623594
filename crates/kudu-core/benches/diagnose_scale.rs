//! Issue 6, case 5: `kudu-core` diagnosing a big site, per call, without a browser.
//!
//! The site is the captured `stale-lock-linux` round grown to 200 deployment records and
//! 5,000 stale `temp-*` folders (each one a `temp-*` record in `/api/deployments` and a folder
//! in `/api/vfs/site/deployments/`, as Kudu leaves them after killed pushes). Each sample ingests
//! every reply into a fresh [`Session`], diagnoses at the round's `now` and plans the targeted
//! cleanup, timed apart; the median of the samples is printed, one JSON line prefixed with
//! `BENCH_JSON `, which `cargo xtask bench` reads.
//!
//! A plain harness (`harness = false`) timing with `std::time::Instant`: the clock lives here,
//! outside the crate's sources, which never read one.
//!
//! Before the timed samples, one round is measured in bytes by a counting global allocator, in
//! the order the extension goes through it: replies taken one at a time (each body dropped once
//! ingested), the diagnosis, then the plan. The extension's wasm memory never shrinks, so the
//! figure that matters is the peak (`memory.round_peak_bytes`), not what is kept.
//!
//! `cargo bench -p kudu-core --bench diagnose_scale [-- RECORDS TEMPS]`

// The crate's clippy.toml bans clocks so its sources stay sans-IO; a benchmark is the one place
// that must read one, and it is not part of the library.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::{Duration, Instant};

use kudu_core::plan::{PlanKind, plan};
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::{Session, Timestamp};
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// Samples at most, and stop early once they took this long in total.
const MAX_SAMPLES: usize = 21;
const TIME_BUDGET: Duration = Duration::from_secs(20);

struct Round {
    now: Timestamp,
    replies: Vec<(ReadId, String, HttpReply)>,
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse::<usize>().ok());
    let records = args.next().unwrap_or(200);
    let temps = args.next().unwrap_or(5000);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("stale-lock-linux-linux.json");
    let text = match std::fs::read_to_string(&fixture) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("diagnose_scale: reading {}: {error}", fixture.display());
            std::process::exit(1);
        }
    };
    let round = match grown_round(&text, records, temps) {
        Some(round) => round,
        None => {
            eprintln!(
                "diagnose_scale: {} is not a round I can grow",
                fixture.display()
            );
            std::process::exit(1);
        }
    };
    let body_bytes: usize = round.replies.iter().map(|r| r.2.body.len()).sum();

    let memory = memory_round(&round);

    let mut ingest = Vec::new();
    let mut diagnose = Vec::new();
    let mut planning = Vec::new();
    let mut cause = String::new();
    let mut plan_steps = 0;
    let started = Instant::now();
    while ingest.len() < MAX_SAMPLES && (ingest.len() < 3 || started.elapsed() < TIME_BUDGET) {
        let t0 = Instant::now();
        let mut session = Session::new();
        for (read, path, reply) in &round.replies {
            session.ingest(read, path, reply);
        }
        let t1 = Instant::now();
        let diagnosis = session.diagnose(round.now);
        let t2 = Instant::now();
        let cleanup = plan(&session, &diagnosis, PlanKind::Targeted);
        let t3 = Instant::now();
        ingest.push(t1 - t0);
        diagnose.push(t2 - t1);
        planning.push(t3 - t2);
        cause = diagnosis
            .primary()
            .map(|finding| format!("{:?}", finding.cause))
            .unwrap_or_default();
        plan_steps = cleanup.steps.len();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let total: Vec<Duration> = (0..ingest.len())
        .map(|i| ingest[i] + diagnose[i] + planning[i])
        .collect();
    let report = json!({
        "records": records,
        "temp_folders": temps,
        "reply_bytes": body_bytes,
        "samples": ingest.len(),
        "median_ingest_ms": ms(median(&ingest)),
        "median_diagnose_ms": ms(median(&diagnose)),
        "median_plan_ms": ms(median(&planning)),
        "median_total_ms": ms(median(&total)),
        "cause": cause,
        "plan_steps": plan_steps,
        "memory": memory,
    });
    println!(
        "diagnose_scale: {records} records, {temps} temp folders, {} KiB of replies, {} samples",
        body_bytes / 1024,
        ingest.len()
    );
    println!(
        "diagnose_scale: median per call: ingest {:.2} ms, diagnose {:.2} ms, plan {:.2} ms, total {:.2} ms",
        ms(median(&ingest)),
        ms(median(&diagnose)),
        ms(median(&planning)),
        ms(median(&total))
    );
    let mib = |key: &str| report["memory"][key].as_f64().unwrap_or(0.0) / (1024.0 * 1024.0);
    println!(
        "diagnose_scale: peak heap: ingest {:.1} MiB, diagnose {:.1} MiB, plan {:.1} MiB (session {:.1} MiB, plan {:.1} MiB kept)",
        mib("ingest_peak_bytes"),
        mib("diagnose_peak_bytes"),
        mib("plan_peak_bytes"),
        mib("session_bytes"),
        mib("plan_bytes"),
    );
    println!("BENCH_JSON {report}");
}

/// Bytes alive now and the most that were alive at once since the last mark, above `base`.
fn mark(base: usize) -> (usize, usize) {
    let now = ALLOCATOR.current_usage().saturating_sub(base);
    let peak = ALLOCATOR.peak_usage().saturating_sub(base);
    ALLOCATOR.reset_peak_usage();
    (now, peak)
}

/// One round in bytes, phase by phase; every peak counts what earlier phases left alive.
fn memory_round(round: &Round) -> Value {
    let base = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let mut session = Session::new();
    for (read, path, reply) in &round.replies {
        // The body as the shell hands it over, dropped once the session has it.
        let arrived = reply.clone();
        session.ingest(read, path, &arrived);
    }
    let (session_bytes, ingest_peak) = mark(base);
    let diagnosis = session.diagnose(round.now);
    let (after_diagnose, diagnose_peak) = mark(base);
    let cleanup = plan(&session, &diagnosis, PlanKind::Targeted);
    let (after_plan, plan_peak) = mark(base);
    drop((cleanup, diagnosis, session));
    json!({
        "ingest_peak_bytes": ingest_peak,
        "session_bytes": session_bytes,
        "diagnose_peak_bytes": diagnose_peak,
        "diagnosis_bytes": after_diagnose - session_bytes,
        "plan_peak_bytes": plan_peak,
        "plan_bytes": after_plan - after_diagnose,
        "round_peak_bytes": ingest_peak.max(diagnose_peak).max(plan_peak),
    })
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The captured round with `records` finished records and `temps` temp records.
fn grown_round(text: &str, records: usize, temps: usize) -> Option<Round> {
    let fixture: Value = serde_json::from_str(text).ok()?;
    let now = Timestamp::parse_rfc3339(fixture["now"].as_str()?)?;
    let mut replies = Vec::new();
    for r in fixture["replies"].as_array()? {
        let read: ReadId = serde_json::from_value(r["read"].clone()).ok()?;
        let mut body = r["body"].as_str().unwrap_or("").to_string();
        match read {
            ReadId::Deployments => body = grown_deployments(&body, records, temps)?,
            ReadId::DeploymentsDir => body = grown_listing(&body, records, temps)?,
            _ => {}
        }
        let headers = r["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        Some((
                            h[0].as_str()?.to_ascii_lowercase(),
                            h[1].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reply = HttpReply {
            status: u16::try_from(r["status"].as_u64()?).ok()?,
            content_type: r["content_type"].as_str().map(str::to_string),
            body,
            headers,
            transport_error: None,
        };
        replies.push((read, r["path"].as_str()?.to_string(), reply));
    }
    Some(Round { now, replies })
}

fn record_id(index: usize) -> String {
    format!("{:032x}", 0x00be_0000_u64 + index as u64)
}

fn temp_id(index: usize) -> String {
    format!("temp-b{index:07x}")
}

/// A time `index * 2` hours into October 2026, older than the captured history.
fn older_time(index: usize) -> String {
    let hours = index * 2;
    format!("2026-10-{:02}T{:02}:00:00Z", 1 + hours / 24, hours % 24)
}

fn grown_deployments(body: &str, records: usize, temps: usize) -> Option<String> {
    let mut list: Vec<Value> = serde_json::from_str(body).ok()?;
    let finished = list
        .iter()
        .find(|d| d["complete"] == json!(true) && d["is_temp"] == json!(false))?
        .clone();
    let temp = list.iter().find(|d| d["is_temp"] == json!(true))?.clone();
    let existing = list.iter().filter(|d| d["is_temp"] == json!(false)).count();
    for index in existing..records {
        let mut record = finished.clone();
        let id = record_id(index);
        let when = older_time(index);
        record["id"] = json!(id);
        for key in ["received_time", "start_time", "end_time"] {
            record[key] = json!(when);
        }
        record["active"] = json!(false);
        list.push(record);
    }
    for index in 0..temps {
        let mut record = temp.clone();
        record["id"] = json!(temp_id(index));
        list.push(record);
    }
    serde_json::to_string(&list).ok()
}

fn grown_listing(body: &str, records: usize, temps: usize) -> Option<String> {
    let mut entries: Vec<Value> = serde_json::from_str(body).ok()?;
    let folder = entries
        .iter()
        .find(|e| e["mime"] == json!("inode/directory"))?
        .clone();
    let name = folder["name"].as_str()?.to_string();
    let renamed = |new: &str| -> Value {
        let text = folder.to_string().replace(&name, new);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let existing = entries
        .iter()
        .filter(|e| e["mime"] == json!("inode/directory"))
        .count();
    for index in existing..records {
        entries.push(renamed(&record_id(index)));
    }
    for index in 0..temps {
        entries.push(renamed(&temp_id(index)));
    }
    serde_json::to_string(&entries).ok()
}
