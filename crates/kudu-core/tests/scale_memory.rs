//! Peak heap of a big site (issue 6: 200 deployment records and 5,000 leftover `temp-*`
//! folders), counted by a global allocator: the extension's wasm memory only ever grows to its
//! peak, so what matters is what is alive at once, not what is kept.
//!
//! Each bound states a design rule and fails loudly when it breaks: a list reply is read one
//! record at a time (never one JSON tree of the whole list), and a diagnosis or a plan borrows
//! the session's records instead of copying them. Counts are bytes asked of the allocator, so
//! they do not depend on the machine. Tests hold one lock so each peak is one call's.

use std::fmt::Write as _;
use std::sync::Mutex;

use kudu_core::parse::{parse_deployments, parse_log, parse_vfs_listing};
use kudu_core::plan::{PlanKind, plan};
use kudu_core::{HttpReply, ReadId, Session, Timestamp};

#[global_allocator]
static ALLOCATOR: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

static MEASURING: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `call` and returns its value with the most bytes that were alive at once during it
/// (above what was alive before) and the bytes its value keeps.
fn measured<T>(call: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let value = call();
    let peak = ALLOCATOR.peak_usage().saturating_sub(before);
    let kept = ALLOCATOR.current_usage().saturating_sub(before);
    (value, peak, kept)
}

const KIB: usize = 1024;
const TEMPS: usize = 5000;
const RECORDS: usize = 200;
const NOW: &str = "2026-11-26T12:00:00Z";

/// `/api/deployments` as KuduLite lists it: `RECORDS` finished deployments, then `TEMPS`
/// pending `temp-` records of pushes that never finished.
fn deployment_list() -> String {
    let mut body = String::from("[");
    for index in 0..RECORDS {
        let _ = write!(
            body,
            r#"{{"id":"{index:032x}","status":4,"status_text":"","author_email":"N/A","author":"N/A","deployer":"GITHUB_ZIP_DEPLOY","message":"Created via a push deployment","progress":"","received_time":"2026-10-{day:02}T10:00:00.1234567Z","start_time":"2026-10-{day:02}T10:00:01.1234567Z","end_time":"2026-10-{day:02}T10:02:00Z","last_success_end_time":"2026-10-{day:02}T10:02:00Z","complete":true,"active":{active},"is_temp":false,"is_readonly":true,"url":"https://x.scm.azurewebsites.net/api/deployments/{index:032x}","log_url":"https://x.scm.azurewebsites.net/api/deployments/{index:032x}/log","site_name":"x"}},"#,
            day = 1 + index % 28,
            active = index == RECORDS - 1,
        );
    }
    for index in 0..TEMPS {
        let _ = write!(
            body,
            r#"{{"id":"temp-b{index:07x}","status":0,"status_text":"Receiving changes.","author_email":"N/A","author":"N/A","deployer":"Push-Deployer","message":"Deploying from pushed zip file","progress":"","received_time":"2026-11-20T08:00:00.1234567Z","start_time":"2026-11-20T08:00:00.1234567Z","end_time":null,"last_success_end_time":null,"complete":false,"active":false,"is_temp":true,"is_readonly":false,"url":null,"log_url":null,"site_name":"x"}},"#
        );
    }
    body.pop();
    body.push(']');
    body
}

/// `/api/vfs/site/deployments/`: a folder per record and per `temp-` record.
fn deployments_listing() -> String {
    let names = (0..RECORDS)
        .map(|index| format!("{index:032x}"))
        .chain((0..TEMPS).map(|index| format!("temp-b{index:07x}")));
    let entries: Vec<String> = names
        .map(|name| {
            format!(
                r#"{{"name":"{name}","size":0,"mtime":"2026-11-20T08:00:00.1234567+00:00","crtime":"2026-11-20T08:00:00.1234567+00:00","mime":"inode/directory","href":"https://x.scm.azurewebsites.net/api/vfs/site/deployments/{name}/","path":"/home/site/deployments/{name}"}}"#
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}

fn json_reply(body: String) -> HttpReply {
    HttpReply {
        status: 200,
        content_type: Some("application/json; charset=utf-8".into()),
        body,
        ..HttpReply::default()
    }
}

/// The big site's round: the two big replies, and a stale Linux lock from a push long over.
fn big_site() -> Session {
    let mut session = Session::new();
    let info_lock = r#"{"heldByPID":41,"heldByTID":7,"heldByWorker":"10-30-4-7","heldByOp":"Performing zip deployment","lockExpiry":"2026-11-20T08:25:00.0000000Z"}"#;
    let replies = [
        (ReadId::Deployments, "/api/deployments", deployment_list()),
        (
            ReadId::DeploymentsDir,
            "/api/vfs/site/deployments/",
            deployments_listing(),
        ),
        (
            ReadId::LocksDir,
            "/api/vfs/site/locks/",
            r#"[{"name":"deployment","size":0,"mtime":"2026-11-20T08:00:00+00:00","mime":"inode/directory","href":"https://x.scm.azurewebsites.net/api/vfs/site/locks/deployment/","path":"/home/site/locks/deployment"}]"#.to_string(),
        ),
        (
            ReadId::InfoLock,
            "/api/vfs/site/locks/deployment/info.lock",
            info_lock.to_string(),
        ),
        (
            ReadId::IsDeploying,
            "/api/isdeploying",
            r#"{"value":"True","msg":"Deployment Underway"}"#.to_string(),
        ),
    ];
    for (read, path, body) in replies {
        session.ingest(&read, path, &json_reply(body));
    }
    session
}

#[test]
fn a_long_deployment_list_is_read_one_record_at_a_time() {
    let _serial = serial();
    let body = deployment_list();
    let (parsed, peak, kept) = measured(|| parse_deployments(&body).map(|p| p.value.len()));
    assert_eq!(parsed, Ok(RECORDS + TEMPS));
    // `kept` is the records, dropped with the value; what the reader needs beside them is one
    // record's tree. A tree of the whole list was about 4.6 times the body (14 MB for 3 MB).
    assert_eq!(kept, 0, "the parsed list was dropped");
    let records = ALLOCATOR.current_usage();
    let list = parse_deployments(&body).map(|p| p.value);
    let records = ALLOCATOR.current_usage().saturating_sub(records);
    drop(list);
    assert!(
        peak <= records + 64 * KIB,
        "parsing a {} KiB list of {} records peaked at {} KiB for {} KiB of records: more than \
         one record's JSON tree beside them",
        body.len() / KIB,
        RECORDS + TEMPS,
        peak / KIB,
        records / KIB
    );
}

#[test]
fn a_long_listing_and_a_long_log_are_read_one_entry_at_a_time() {
    let _serial = serial();
    let body = deployments_listing();
    let (entries, peak, _) = measured(|| parse_vfs_listing(&body).map(|p| p.value));
    let entries = entries.map(|e| e.len());
    assert_eq!(entries, Ok(RECORDS + TEMPS));
    // The entries themselves are well under half the text; a whole tree was three times it.
    assert!(
        peak <= body.len() / 2,
        "parsing a {} KiB listing peaked at {} KiB",
        body.len() / KIB,
        peak / KIB
    );

    let lines: Vec<String> = (0..20_000)
        .map(|n| {
            format!(
                r#"{{"log_time":"2026-11-20T08:00:{:02}.1234567Z","id":"{n:08x}-27d7-4de6-88bc-f2e65154b7ba","message":"npm WARN deprecated package-{n}@1.0.0","type":0,"details_url":null}}"#,
                n % 60
            )
        })
        .collect();
    let log = format!("[{}]", lines.join(","));
    drop(lines);
    let (parsed, peak, _) = measured(|| parse_log(&log).map(|p| p.value.len()));
    assert_eq!(parsed, Ok(20_000));
    assert!(
        peak <= log.len(),
        "parsing a {} KiB log peaked at {} KiB",
        log.len() / KIB,
        peak / KIB
    );
}

#[test]
fn diagnosing_and_planning_a_big_site_borrow_its_records() {
    let _serial = serial();
    let (session, _, session_bytes) = measured(big_site);
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let (diagnosis, diagnose_peak, _) = measured(|| session.diagnose(now));
    assert_eq!(
        diagnosis.primary().map(|f| f.cause.as_str()),
        Some("stale-lock")
    );
    assert_eq!(diagnosis.timeline.temp_records, TEMPS);
    // The records are about 2 MB; a diagnosis used to copy them three times over (the list,
    // the running ones, the timeline before its cap), 8 MB at its peak.
    assert!(
        diagnose_peak <= session_bytes / 2,
        "diagnosing a session of {} KiB peaked at {} KiB",
        session_bytes / KIB,
        diagnose_peak / KIB
    );
    let (cleanup, plan_peak, plan_bytes) =
        measured(|| plan(&session, &diagnosis, PlanKind::Targeted));
    assert!(cleanup.steps.len() > TEMPS, "{} steps", cleanup.steps.len());
    // Beside the plan itself (thousands of steps) and its growing list, less than a copy of
    // the records; the copies a plan's context made came to 8 MB.
    assert!(
        plan_peak <= plan_bytes + session_bytes,
        "planning peaked at {} KiB for a plan of {} KiB and a session of {} KiB: it copies the \
         session's records",
        plan_peak / KIB,
        plan_bytes / KIB,
        session_bytes / KIB
    );
}
