//! Hostile sizes: a 20 MB deployment log, VFS listings of 50,000 entries and long deployment
//! lists are parsed, diagnosed and planned in memory linear in the input, with sane answers.
//!
//! On Linux each call's peak resident memory is measured (`/proc/self/clear_refs` resets the
//! high-water mark) and must stay within a small multiple of the replies' size: a quadratic or
//! unbounded parser fails that long before it fails a clock. Tests hold one lock so the peak
//! is theirs alone. Wall time per call is printed (`--nocapture`) for the record, never asserted.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use kudu_core::parse::{parse_deployments, parse_log, parse_vfs_listing};
use kudu_core::plan::paths::{check_name, delete_target, is_allowed};
use kudu_core::plan::{CleanupPlan, FullResetOptions, PlanKind, plan, plan_full_reset};
use kudu_core::{Diagnosis, HttpReply, LogLevel, ReadId, Session, Timestamp};
use serde_json::{Value, json};

/// One measurement at a time, so the peak is one call's.
static MEASURING: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the process's peak resident size to its current size (Linux `clear_refs` 5) and
/// returns that size; `None` where the kernel offers no such reset.
fn reset_peak_rss() -> Option<usize> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_bytes("VmRSS:")
}

/// Runs `call`, prints its wall time and returns its value with the peak resident memory it
/// added (`None` when the platform cannot tell). Callers hold [`serial`]. The allocator may
/// keep memory freed by an earlier call and reuse it unseen, so this can only under-count;
/// a bound it breaks is broken.
// The wall time is printed for the record and never asserted; kudu-core itself stays clockless.
#[allow(clippy::disallowed_methods)]
fn measured<T>(label: &str, input_bytes: usize, call: impl FnOnce() -> T) -> (T, Option<usize>) {
    let before = reset_peak_rss();
    let started = Instant::now();
    let value = call();
    let elapsed = started.elapsed();
    let peak = before
        .zip(status_bytes("VmHWM:"))
        .map(|(before, high)| high.saturating_sub(before));
    eprintln!(
        "{label}: {:.1} MB in, {:.1} ms, peak RSS +{}",
        input_bytes as f64 / 1e6,
        elapsed.as_secs_f64() * 1e3,
        peak.map_or("unknown".to_string(), |p| format!(
            "{:.1} MB ({:.1}x input)",
            p as f64 / 1e6,
            p as f64 / input_bytes.max(1) as f64
        )),
    );
    (value, peak)
}

fn assert_linear(label: &str, peak: Option<usize>, input_bytes: usize, factor: usize) {
    let Some(peak) = peak else { return };
    let bound = factor * input_bytes + (4 << 20);
    assert!(
        peak <= bound,
        "{label}: peak resident memory +{peak} bytes for {input_bytes} bytes of input exceeds {factor}x \
         input + 4 MiB ({bound}): something holds more than a linear copy of the reply"
    );
}

const MB: usize = 1_000_000;

/// The stuck Linux site the scenarios start from: a build hung mid-way, holding the lock.
const BASE_FIXTURE: &str = "stuck-linux-linux.json";
/// The deployment whose log the fixture reads.
const STUCK_ID: &str = "1856a8ed229949f29128fffa4da16b28";

struct Round {
    now: Timestamp,
    replies: Vec<(ReadId, String, HttpReply)>,
}

fn base_round() -> Round {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(BASE_FIXTURE);
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let now = Timestamp::parse_rfc3339(fixture["now"].as_str().unwrap()).unwrap();
    let replies = fixture["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reply = HttpReply {
                status: u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().unwrap_or("").to_string(),
                headers: vec![],
                transport_error: None,
            };
            let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
            (read, r["path"].as_str().unwrap().to_string(), reply)
        })
        .collect();
    Round { now, replies }
}

impl Round {
    /// Replaces the body of `read`'s reply (200, JSON).
    fn with_body(mut self, read: &ReadId, body: String) -> Self {
        let slot = self
            .replies
            .iter_mut()
            .find(|(id, _, _)| id == read)
            .unwrap_or_else(|| panic!("{BASE_FIXTURE} has no {read:?} reply"));
        slot.2.status = 200;
        slot.2.content_type = Some("application/json; charset=utf-8".into());
        slot.2.body = body;
        self
    }

    fn session(&self) -> Session {
        let mut session = Session::new();
        for (read, path, reply) in &self.replies {
            session.ingest(read, path, reply);
        }
        session
    }
}

/// What the unmodified fixture leads with: a hostile size must not change the answer.
fn base_cause() -> &'static str {
    let round = base_round();
    let diagnosis = round.session().diagnose(round.now);
    diagnosis.primary().unwrap().cause.as_str()
}

fn primary_cause(diagnosis: &Diagnosis) -> &'static str {
    diagnosis
        .primary()
        .expect("a diagnosis always has a leading finding")
        .cause
        .as_str()
}

/// The plan keeps every safety rule whatever the listing held: allow-listed requests only,
/// backups first, and deletes only of well-formed names.
fn assert_safe(label: &str, plan: &CleanupPlan, listed: usize) {
    assert!(
        plan.steps.len() <= listed + 8,
        "{label}: {} steps for {listed} listed entries",
        plan.steps.len()
    );
    let first_destructive = plan.steps.iter().position(|s| s.kind.is_destructive());
    let last_backup = plan
        .steps
        .iter()
        .rposition(|s| s.kind == kudu_core::StepKind::Backup);
    if let (Some(destructive), Some(backup)) = (first_destructive, last_backup) {
        assert!(backup < destructive, "{label}: a delete before a backup");
    }
    if first_destructive.is_some() {
        assert!(last_backup.is_some(), "{label}: deletes without a backup");
    }
    for step in &plan.steps {
        assert!(is_allowed(&step.request), "{label}: {:?}", step.request);
        // Every delete names one checked, listed entry, or is the Linux lock's release, whose
        // path is fixed (`site/locks/deployment/info.lock`).
        if let Some((_, name)) = delete_target(&step.request)
            && name != kudu_core::plan::paths::LINUX_LOCK_FILE
        {
            assert!(check_name(name).is_ok(), "{label}: deletes {name:?}");
        }
    }
}

const LOG_TIME: &str = "2026-11-27T22:21:38.0956126Z";

/// `log.log` text of at least `bytes`, each line a real-looking build line with escaped
/// commas, a child line every tenth, and a failure at the end.
fn log_text(bytes: usize) -> (String, usize) {
    let mut text = String::with_capacity(bytes + 256);
    let mut lines = 0;
    while text.len() < bytes {
        let tab = if lines % 10 == 9 { "\t" } else { "" };
        let _ = writeln!(
            text,
            "{tab}{LOG_TIME},npm WARN deprecated package-{lines}@1.0.0&comma; see <b>notes</b>,{lines:08x}-27d7-4de6-88bc-f2e65154b7ba,0"
        );
        lines += 1;
    }
    let _ = writeln!(text, "{LOG_TIME},Deployment Failed.,ffffffff-0000,2");
    (text, lines + 1)
}

/// The same log as Kudu's JSON array.
fn log_json(bytes: usize) -> (String, usize) {
    let mut text = String::with_capacity(bytes + 256);
    text.push('[');
    let mut entries = 0;
    while text.len() < bytes {
        let entry = json!({
            "log_time": LOG_TIME,
            "id": format!("{entries:08x}-27d7-4de6-88bc-f2e65154b7ba"),
            "message": format!("npm WARN deprecated package-{entries}@1.0.0, see <img src=x onerror=alert(1)>"),
            "type": 0,
            "details_url": null,
        });
        let _ = write!(text, "{entry},");
        entries += 1;
    }
    text.push_str(
        &json!({"log_time": LOG_TIME, "id": "f", "message": "Deployment Failed.", "type": 2})
            .to_string(),
    );
    text.push(']');
    (text, entries + 1)
}

#[test]
fn a_20_mb_log_log_is_read_in_linear_memory() {
    let _serial = serial();
    let (body, lines) = log_text(20 * MB);
    let (parsed, peak) = measured("parse_log text 20 MB", body.len(), || parse_log(&body));
    let parsed = parsed.unwrap();
    assert_eq!(parsed.value.len(), lines);
    assert!(parsed.warnings.is_empty(), "{:?}", &parsed.warnings[..1]);
    assert_eq!(
        parsed.value[0].message,
        "npm WARN deprecated package-0@1.0.0, see <b>notes</b>"
    );
    // Line 10 is indented: a child of line 9.
    assert!(parsed.value[8].has_details && !parsed.value[0].has_details);
    assert_eq!(parsed.value.last().unwrap().level, LogLevel::Error);
    assert_linear("parse_log text", peak, body.len(), 4);
}

#[test]
fn a_20_mb_json_log_is_read_in_linear_memory() {
    let _serial = serial();
    let (body, entries) = log_json(20 * MB);
    let (parsed, peak) = measured("parse_log json 20 MB", body.len(), || parse_log(&body));
    let parsed = parsed.unwrap();
    assert_eq!(parsed.value.len(), entries);
    assert!(
        parsed.value[0]
            .message
            .contains("<img src=x onerror=alert(1)>")
    );
    assert_eq!(parsed.value.last().unwrap().level, LogLevel::Error);
    assert_linear("parse_log json", peak, body.len(), 12);
}

/// Degenerate 20 MB logs: one endless line, and a line of nothing but commas (20 million
/// fields), are a clean error or a skipped line, in linear memory.
#[test]
fn degenerate_20_mb_logs_fail_cleanly() {
    let _serial = serial();
    let endless = "x".repeat(20 * MB);
    let (parsed, peak) = measured("parse_log one 20 MB line", endless.len(), || {
        parse_log(&endless)
    });
    assert!(parsed.is_err(), "a line without fields is not a log");
    assert_linear("one line", peak, endless.len(), 2);

    let commas = format!("{LOG_TIME},{},id,0\n", ",".repeat(20 * MB));
    let (parsed, peak) = measured("parse_log 20 M commas", commas.len(), || parse_log(&commas));
    let parsed = parsed.unwrap();
    assert_eq!(parsed.value.len(), 1);
    assert_eq!(parsed.value[0].message.len(), 20 * MB);
    assert_linear("commas", peak, commas.len(), 3);

    let nested = format!("[{}]", "[".repeat(100_000) + &"]".repeat(100_000));
    let (parsed, _) = measured("parse_log 100,000 nested arrays", nested.len(), || {
        parse_log(&nested)
    });
    assert!(
        parsed.is_err() || parsed.is_ok_and(|p| p.value.is_empty()),
        "deep nesting is refused, not followed"
    );
}

#[test]
fn a_20_mb_log_of_the_stuck_deployment_still_gives_the_same_diagnosis() {
    let _serial = serial();
    let cause = base_cause();
    // The diagnosis reads the whole log.log (children included) in one read.
    let (body, _) = log_text(20 * MB);
    let mut round = base_round().with_body(&ReadId::DeploymentLogFile(STUCK_ID.into()), body);
    for (read, _, reply) in &mut round.replies {
        if *read == ReadId::DeploymentLogFile(STUCK_ID.into()) {
            reply.content_type = Some("application/octet-stream".into());
        }
    }
    let input = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let ((session, diagnosis), peak) =
        measured("ingest + diagnose with a 20 MB log", input, || {
            let session = round.session();
            let diagnosis = session.diagnose(round.now);
            (session, diagnosis)
        });
    assert_eq!(primary_cause(&diagnosis), cause);
    let plan = plan(&session, &diagnosis, PlanKind::Targeted);
    assert_safe("20 MB log", &plan, 16);
    assert_linear("ingest + diagnose 20 MB log", peak, input, 12);
}

/// A VFS entry as Kudu-L lists it.
fn vfs_entry(dir: &str, name: &str, is_dir: bool) -> Value {
    let slash = if is_dir { "/" } else { "" };
    json!({
        "name": name,
        "size": if is_dir { 0 } else { 1234 },
        "mtime": "2026-11-27T20:04:37.1209536+00:00",
        "crtime": "2026-11-27T20:02:27.1209536+00:00",
        "mime": if is_dir { "inode/directory" } else { "application/octet-stream" },
        "href": format!("https://myapp.scm.azurewebsites.net/api/vfs/site/{dir}/{name}{slash}"),
        "path": format!("/home/site/{dir}/{name}"),
    })
}

/// Names a hostile or broken site may list, beside plenty of ordinary ones.
const HOSTILE_NAMES: [&str; 10] = [
    "..",
    "../wwwroot",
    "temp-x/../..",
    "temp-1\\..\\..",
    "temp-%2e%2e",
    "t\u{0435}mp-12345678",
    "\u{202e}temp-1",
    "temp-1\n",
    "x\0y",
    "tools.",
];

/// `count` entries of `site/deployments/`: temp- folders, deployment-id folders (finished and
/// not), files, hostile names and very long names.
fn deployments_listing(count: usize) -> String {
    let entries: Vec<Value> = (0..count)
        .map(|i| match i % 10 {
            0..=3 => vfs_entry("deployments", &format!("temp-{i:08x}"), true),
            4..=6 => vfs_entry("deployments", &format!("{i:032x}"), true),
            7 => vfs_entry("deployments", &format!("notes-{i}.txt"), false),
            8 => vfs_entry(
                "deployments",
                HOSTILE_NAMES[(i / 10) % HOSTILE_NAMES.len()],
                true,
            ),
            _ => vfs_entry("deployments", &"n".repeat(200 + i % 50), true),
        })
        .collect();
    serde_json::to_string(&entries).unwrap()
}

#[test]
fn a_vfs_listing_of_50000_entries_is_read_in_linear_memory() {
    let _serial = serial();
    let body = deployments_listing(50_000);
    let (parsed, peak) = measured("parse_vfs_listing 50,000", body.len(), || {
        parse_vfs_listing(&body)
    });
    let parsed = parsed.unwrap();
    assert_eq!(
        parsed.value.len(),
        50_000,
        "names are kept exactly, hostile or not"
    );
    assert!(parsed.warnings.is_empty());
    assert_linear("parse_vfs_listing", peak, body.len(), 12);
}

#[test]
fn a_site_deployments_listing_of_50000_entries_is_diagnosed_and_planned_safely() {
    let _serial = serial();
    let cause = base_cause();
    let body = deployments_listing(50_000);
    let round = base_round().with_body(&ReadId::DeploymentsDir, body);
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let ((session, diagnosis), peak) = measured(
        "ingest + diagnose, 50,000-entry site/deployments",
        input,
        || {
            let session = round.session();
            let diagnosis = session.diagnose(round.now);
            (session, diagnosis)
        },
    );
    assert_eq!(primary_cause(&diagnosis), cause);
    assert_linear("diagnose 50,000 entries", peak, input, 12);

    let (targeted, peak) = measured("plan targeted, 50,000 entries", input, || {
        plan(&session, &diagnosis, PlanKind::Targeted)
    });
    assert_safe("targeted", &targeted, 50_000);
    assert_linear("plan targeted", peak, input, 12);

    let options = FullResetOptions::default();
    let (reset, peak) = measured("plan full reset, 50,000 entries", input, || {
        plan_full_reset(&session, &diagnosis, options)
    });
    assert_safe("full reset", &reset, 50_000);
    assert_linear("plan full reset", peak, input, 12);
    // Every hostile name is left alone, whichever plan.
    for step in targeted.steps.iter().chain(&reset.steps) {
        if let Some((_, name)) = delete_target(&step.request) {
            assert!(
                !HOSTILE_NAMES.contains(&name) && name.len() < 200,
                "{name:?}"
            );
        }
    }
}

/// A deployment record as Kudu-L lists it, finished successfully.
fn deployment_record(i: usize) -> Value {
    json!({
        "id": format!("{i:032x}"),
        "status": 4,
        "status_text": "",
        "author_email": "N/A",
        "author": "<script>alert(1)</script>",
        "deployer": "GITHUB_ZIP_DEPLOY",
        "message": format!("Deploy {i:07x} (main)"),
        "progress": "",
        "received_time": "2026-11-27T20:02:27.1209536Z",
        "start_time": "2026-11-27T20:02:28.1209536Z",
        "end_time": "2026-11-27T20:04:37.1209536Z",
        "last_success_end_time": "2026-11-27T20:04:37.1209536Z",
        "complete": true,
        "active": false,
        "is_temp": false,
        "is_readonly": true,
        "url": format!("https://myapp.scm.azurewebsites.net/api/deployments/{i:032x}"),
        "log_url": format!("https://myapp.scm.azurewebsites.net/api/deployments/{i:032x}/log"),
        "site_name": "myapp",
    })
}

/// The fixture's own records first (the stuck build leads), then `extra` finished ones.
fn long_deployment_list(extra: usize) -> String {
    let round = base_round();
    let (_, _, reply) = round
        .replies
        .iter()
        .find(|(id, _, _)| *id == ReadId::Deployments)
        .unwrap();
    let Value::Array(mut records) = serde_json::from_str(&reply.body).unwrap() else {
        panic!("the fixture's deployment list is an array")
    };
    records.extend((0..extra).map(deployment_record));
    serde_json::to_string(&records).unwrap()
}

#[test]
fn a_list_of_200_deployments_gives_the_same_diagnosis() {
    let _serial = serial();
    let cause = base_cause();
    let body = long_deployment_list(200);
    let (parsed, _) = measured("parse_deployments 200", body.len(), || {
        parse_deployments(&body)
    });
    assert!(parsed.unwrap().value.len() > 200);
    let round = base_round().with_body(&ReadId::Deployments, body);
    let session = round.session();
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let (diagnosis, _) = measured("diagnose 200 deployments", input, || {
        session.diagnose(round.now)
    });
    assert_eq!(primary_cause(&diagnosis), cause);
    assert_safe(
        "200 deployments",
        &plan(&session, &diagnosis, PlanKind::Targeted),
        16,
    );
}

/// 200 deployment records beside a 50,000-entry `site/deployments/`: every folder is matched
/// against the records, and the plan stays safe. (Kudu's purge keeps the list itself short:
/// at most 10 deployments that ever succeeded, kudu-facts §2.)
#[test]
fn two_hundred_deployments_beside_fifty_thousand_folders_are_planned_safely() {
    let _serial = serial();
    let cause = base_cause();
    let round = base_round()
        .with_body(&ReadId::Deployments, long_deployment_list(200))
        .with_body(&ReadId::DeploymentsDir, deployments_listing(50_000));
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let ((session, diagnosis), peak) = measured(
        "ingest + diagnose 200 deployments, 50,000 folders",
        input,
        || {
            let session = round.session();
            let diagnosis = session.diagnose(round.now);
            (session, diagnosis)
        },
    );
    assert_eq!(primary_cause(&diagnosis), cause);
    assert_linear("diagnose 200 + 50,000", peak, input, 12);
    let (targeted, _) = measured("plan targeted 200 + 50,000", input, || {
        plan(&session, &diagnosis, PlanKind::Targeted)
    });
    assert_safe("200 + 50,000", &targeted, 50_000);
}

/// 200 deployments that never finished, all open at once (every pair overlaps): the follow-up
/// log reads stay capped and the diagnosis still comes.
#[test]
fn two_hundred_unfinished_deployments_ask_for_a_few_logs() {
    let _serial = serial();
    let records: Vec<Value> = (0..200)
        .map(|i| {
            let mut record = deployment_record(i);
            record["status"] = json!(1);
            record["complete"] = json!(false);
            record["end_time"] = Value::Null;
            record
        })
        .collect();
    let body = serde_json::to_string(&records).unwrap();
    let round = base_round().with_body(&ReadId::Deployments, body);
    let session = round.session();
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let (reads, _) = measured("follow_up_reads, 200 unfinished", input, || {
        session.follow_up_reads()
    });
    assert!(!reads.is_empty());
    // kudu-core's MAX_FOLLOW_UP_LOGS.
    assert!(reads.len() <= 4, "{} follow-up reads", reads.len());
    let (diagnosis, _) = measured("diagnose 200 unfinished", input, || {
        session.diagnose(round.now)
    });
    assert!(diagnosis.primary().is_some());
    assert_safe(
        "200 unfinished",
        &plan(&session, &diagnosis, PlanKind::Targeted),
        16,
    );
}

/// 5,000 records that never finished, every pair overlapping: the timeline keeps the newest
/// `TIMELINE_MAX_ENTRIES`, so pair matching stays bounded and the diagnosis still comes (it
/// used to grow cubically: 4,000 such records took minutes).
#[test]
fn five_thousand_overlapping_deployments_are_diagnosed() {
    let _serial = serial();
    let records: Vec<Value> = (0..5_000)
        .map(|i| {
            let mut record = deployment_record(i);
            record["status"] = json!(1);
            record["complete"] = json!(false);
            record["end_time"] = Value::Null;
            record
        })
        .collect();
    let body = serde_json::to_string(&records).unwrap();
    let round = base_round().with_body(&ReadId::Deployments, body);
    let session = round.session();
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let (diagnosis, peak) = measured("diagnose 5,000 overlapping", input, || {
        session.diagnose(round.now)
    });
    assert!(diagnosis.primary().is_some());
    assert_eq!(
        diagnosis.timeline.entries.len(),
        kudu_core::diagnose::TIMELINE_MAX_ENTRIES
    );
    assert_linear("diagnose 5,000 overlapping", peak, input, 12);
    assert_safe(
        "5,000 overlapping",
        &plan(&session, &diagnosis, PlanKind::Targeted),
        16,
    );
}

/// KuduLite's trace cleanup deletes only names holding `default` (sim README "Trace files"), so
/// a busy Linux site's trace folder grows without bound: 50,000 names, most of them refused
/// pushes, are read in linear memory, the timeline keeps the newest marks only, and the
/// answer is the same.
#[test]
fn a_trace_folder_of_50000_files_keeps_the_newest_marks_and_the_answer() {
    let _serial = serial();
    let cause = base_cause();
    let entries: Vec<Value> = (0..50_000)
        .map(|i| {
            let what = match i % 4 {
                0 => "POST_api-zipdeploy_409_0s",
                1 => "GET_api-vfs-site-wwwroot_200_0s",
                2 => "Startup_GET_api-settings_0s",
                _ => "POST_api-publish_pending",
            };
            let name = format!(
                "2026-11-27T{:02}-{:02}-{:02}_05be39_{:03}_{what}.xml",
                (i / 3600) % 24,
                (i / 60) % 60,
                i % 60,
                i % 1000
            );
            let mut entry = vfs_entry("trace", &name, false);
            entry["path"] = json!(format!("/home/LogFiles/kudu/trace/{name}"));
            entry
        })
        .collect();
    let body = serde_json::to_string(&entries).unwrap();
    let round = base_round().with_body(&ReadId::KuduTraceDir, body);
    let input: usize = round.replies.iter().map(|(_, _, r)| r.body.len()).sum();
    let (diagnosis, peak) = measured("ingest + diagnose, 50,000 trace files", input, || {
        round.session().diagnose(round.now)
    });
    assert_eq!(
        diagnosis.timeline.marks.len(),
        kudu_core::diagnose::TIMELINE_MAX_MARKS
    );
    assert!(
        diagnosis
            .timeline
            .marks
            .windows(2)
            .all(|pair| pair[0].at <= pair[1].at),
        "oldest first"
    );
    assert_linear("diagnose 50,000 trace files", peak, input, 12);
    // The startup traces are of the holder's instance but all older than its lock: the answer
    // stays the same.
    assert_eq!(primary_cause(&diagnosis), cause);
}
