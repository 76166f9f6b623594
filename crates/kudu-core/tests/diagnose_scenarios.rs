//! Data-driven diagnosis tests in rust-analyzer's style: one `check(scenario, expect)` helper
//! loads a captured round of Kudu replies, ingests it, diagnoses at the round's `now`, plans a
//! targeted cleanup and compares a compact rendering with an inline snapshot.
//!
//! Fixtures: `tests/fixtures/<scenario>-<os>.json` are captured from the simulator;
//! `tests/fixtures/hand/*.json` are written by hand from the fact sheet. Format:
//! `{"scenario", "personality", "now", "replies": [{"read", "path", "status", "content_type",
//! "headers": [[name, value]], "body"}]}`. Replies to follow-up reads (deployment logs) may be
//! part of a round; the shells send them after the first diagnosis.

use std::path::{Path, PathBuf};

use kudu_core::plan::{CleanupPlan, PlanKind, plan};
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::{Diagnosis, Session, Timestamp};
use serde_json::Value;

/// The cause that must lead for every captured scenario, by fixture file stem. Rounds with the
/// deployment logs of unfinished deployments are expected to reach the refined answer; rounds
/// without them, the first-round answer (a deployment silent for minutes is still "in progress"
/// until its log shows it stopped).
const EXPECTED_PRIMARY: &[(&str, &str, &str)] = &[
    // (fixture stem, first round, with follow-up logs)
    ("healthy-linux", "healthy", "healthy"),
    ("healthy-windows", "healthy", "healthy"),
    (
        "deploying-linux",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "deploying-windows",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "parallel-linux",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "parallel-windows",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "cancelled-retried-linux",
        "cancelled-then-retried",
        "cancelled-then-retried",
    ),
    (
        "cancelled-retried-windows",
        "cancelled-then-retried",
        "cancelled-then-retried",
    ),
    (
        "cancelled-retried-linux-list-first",
        "cancelled-then-retried",
        "cancelled-then-retried",
    ),
    (
        "cancelled-retried-windows-list-first",
        "cancelled-then-retried",
        "cancelled-then-retried",
    ),
    ("stuck-linux-linux", "deployment-in-progress", "stale-lock"),
    ("stale-lock-linux-linux", "stale-lock", "stale-lock"),
    (
        "stuck-windows-windows",
        "deployment-in-progress",
        "windows-lock-held",
    ),
    // Nothing blocks: a stale Windows lock file never does (kudu-facts §2.2), and the killed
    // runs' folders are leftovers for the targeted cleanup (§3.3), not a current 409 cause.
    ("stale-files-windows-windows", "healthy", "healthy"),
    (
        "stale-files-windows-windows-list-first",
        "healthy",
        "healthy",
    ),
    (
        "status-lock-denied-linux",
        "status-lock-denied",
        "status-lock-denied",
    ),
    (
        "status-lock-denied-windows",
        "status-lock-denied",
        "status-lock-denied",
    ),
    (
        "run-from-package-url-linux",
        "run-from-package-url",
        "run-from-package-url",
    ),
    (
        "run-from-package-url-windows",
        "run-from-package-url",
        "run-from-package-url",
    ),
    (
        "autoswap-linux",
        "autoswap-in-progress",
        "autoswap-in-progress",
    ),
    (
        "autoswap-windows",
        "autoswap-in-progress",
        "autoswap-in-progress",
    ),
    // A build past the Linux lock's 25-minute expiry that still writes its log is in
    // progress, never a stale lock (issue 15).
    (
        "long-build-linux",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "long-build-windows",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    // Eight quiet minutes are under the 10-minute silence that would make it look hung.
    (
        "quiet-build-linux",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    (
        "quiet-build-windows",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    // Kudu restarted after the lock was taken: strong evidence, from the first round on.
    ("restarted-holder-linux", "stale-lock", "stale-lock"),
    ("scan-underway-linux", "scan-underway", "scan-underway"),
    ("partial-deploy-linux", "partial-deploy", "partial-deploy"),
    ("partial-deploy-windows", "partial-deploy", "partial-deploy"),
    (
        "session-expired-linux",
        "session-expired",
        "session-expired",
    ),
    (
        "session-expired-windows",
        "session-expired",
        "session-expired",
    ),
    ("hand-healthy-windows", "healthy", "healthy"),
    (
        "hand-deploying-linux",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
    ("hand-stuck-linux", "deployment-in-progress", "stale-lock"),
    (
        "hand-stuck-windows",
        "deployment-in-progress",
        "windows-lock-held",
    ),
    (
        "hand-run-from-package-linux",
        "run-from-package-url",
        "run-from-package-url",
    ),
    (
        "hand-partial-deploy-linux",
        "partial-deploy",
        "partial-deploy",
    ),
    // A failed deploy left the new build output beside the old one, and `latest` answers {}
    // after Kudu recycled (no current record, not an unreadable reply).
    (
        "hand-recycled-two-outputs-linux",
        "partial-deploy",
        "partial-deploy",
    ),
    // hand-stuck-windows on a plan of two instances: a restart may reach the other one.
    (
        "hand-scaled-out-windows",
        "deployment-in-progress",
        "windows-lock-held",
    ),
    ("two-outputs-linux", "partial-deploy", "partial-deploy"),
    // Scaled out: a hung build on the other instance holds the lock; read from the first
    // instance it is the same lock as stuck-linux / stuck-windows.
    ("held-elsewhere-linux", "stale-lock", "stale-lock"),
    (
        "held-elsewhere-windows",
        "windows-lock-held",
        "windows-lock-held",
    ),
    // The site is told apart from its records alone (VFS and isdeploying answer 404 there).
    (
        "flex-consumption-linux",
        "flex-consumption",
        "flex-consumption",
    ),
    (
        "hand-session-expired-windows",
        "session-expired",
        "session-expired",
    ),
    (
        "hand-status-lock-denied-linux",
        "status-lock-denied",
        "status-lock-denied",
    ),
    // A run that died, its retry, then Kudu's VerifyDeployment marking the dead run failed:
    // only its log (a follow-up read) tells the two apart from deployments running at once.
    (
        "hand-killed-retried-linux",
        "parallel-deployments",
        "cancelled-then-retried",
    ),
    // Simulator rounds with the follow-up log reads (top level, then the children of the
    // newest line), captured by hand from the same scenarios.
    (
        "hand-sim-stuck-linux-logs",
        "deployment-in-progress",
        "stale-lock",
    ),
    (
        "hand-sim-stuck-windows-logs",
        "deployment-in-progress",
        "windows-lock-held",
    ),
    (
        "hand-sim-deploying-linux-logs",
        "deployment-in-progress",
        "deployment-in-progress",
    ),
];

struct Round {
    now: Timestamp,
    replies: Vec<(ReadId, String, HttpReply)>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = vec![];
    for dir in [fixtures_dir(), fixtures_dir().join("hand")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        files.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json")),
        );
    }
    files.sort();
    files
}

fn load(file: &Path) -> Round {
    let text = std::fs::read_to_string(file).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let now_text = fixture["now"].as_str().unwrap();
    let now = Timestamp::parse_rfc3339(now_text)
        .unwrap_or_else(|| panic!("{}: bad now {now_text}", file.display()));
    let replies = fixture["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let headers = r["headers"]
                .as_array()
                .map(|hs| {
                    hs.iter()
                        .map(|h| {
                            (
                                h[0].as_str().unwrap().to_ascii_lowercase(),
                                h[1].as_str().unwrap().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let reply = HttpReply {
                status: u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().unwrap_or("").to_string(),
                headers,
                transport_error: None,
            };
            let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
            (read, r["path"].as_str().unwrap().to_string(), reply)
        })
        .collect();
    Round { now, replies }
}

fn run(round: &Round) -> (Session, Diagnosis, CleanupPlan) {
    run_pasted(round, None)
}

/// [`run`], with the error text the user pasted.
fn run_pasted(round: &Round, pasted: Option<&str>) -> (Session, Diagnosis, CleanupPlan) {
    let mut session = Session::new();
    if let Some(text) = pasted {
        session.paste_error(text);
    }
    for (read, path, reply) in &round.replies {
        session.ingest(read, path, reply);
    }
    let diagnosis = session.diagnose(round.now);
    let plan = plan(&session, &diagnosis, PlanKind::Targeted);
    (session, diagnosis, plan)
}

fn has_logs(round: &Round) -> bool {
    round
        .replies
        .iter()
        .any(|(r, _, _)| matches!(r, ReadId::DeploymentLog(_) | ReadId::DeploymentLogFile(_)))
}

/// Primary cause and confidence, every cause id, the lock state, the plan's steps (group,
/// method, path) or why none is offered, and refused names.
fn render(d: &Diagnosis, p: &CleanupPlan) -> String {
    let mut out = String::new();
    let primary = d.primary().unwrap();
    out += &format!(
        "primary: {} ({:?})\n",
        primary.cause.as_str(),
        primary.confidence
    );
    let ids: Vec<&str> = d.findings.iter().map(|f| f.cause.as_str()).collect();
    out += &format!("causes: {}\n", ids.join(", "));
    let lock = &d.lock;
    out += &format!("lock: {:?}", lock.state);
    if let Some(op) = &lock.holder_operation {
        out += &format!(", held by '{op}'");
    }
    if let Some(secs) = lock.secs_left {
        out += &format!(", {secs} s left");
    }
    if lock.windows_lock_file {
        out += ", deployments.lock listed";
    }
    let blocking: Vec<&str> = lock
        .others
        .iter()
        .filter(|o| o.blocking)
        .map(|o| o.name.as_str())
        .collect();
    if !blocking.is_empty() {
        out += &format!(", blocking: {}", blocking.join(" "));
    }
    out += "\n";
    out += &format!("deployable: {:?}", d.deployability.can_deploy);
    if let Some(evidence) = &lock.idle_evidence {
        out += &format!(", idle evidence: {:?}", evidence.strength);
    }
    out += "\n";
    if p.requires_acknowledgement.is_some() {
        out += "plan needs the user's word that nothing is deploying\n";
    }
    match &p.not_offered {
        Some(why) => out += &format!("plan: none ({why})\n"),
        None => {
            out += "plan:\n";
            for s in &p.steps {
                let optional = if s.optional { " (optional)" } else { "" };
                out += &format!(
                    "  {} {} {}{optional}\n",
                    s.group, s.request.method, s.request.path
                );
            }
        }
    }
    for r in &p.refused {
        out += &format!("refused: {}{:?} ({})\n", r.dir, r.name, r.reason);
    }
    for m in &d.timeline.marks {
        out += &format!("trace: {:?}: {}\n", m.kind, m.summary);
    }
    if let Some(pasted) = &d.pasted_error {
        out += &format!("pasted: {:?}\n", pasted.kind);
    }
    out
}

fn check(scenario: &str, expect: &str) {
    check_pasted(scenario, None, expect);
}

/// [`check`] on the scenario's replies with `pasted` as the error the user got.
fn check_pasted(scenario: &str, pasted: Option<&str>, expect: &str) {
    let file = [fixtures_dir(), fixtures_dir().join("hand")]
        .iter()
        .map(|dir| dir.join(format!("{scenario}.json")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no fixture named {scenario}"));
    let (_, d, p) = run_pasted(&load(&file), pasted);
    let actual = render(&d, &p);
    let expect = expect.trim_start_matches('\n');
    assert!(
        actual == expect,
        "{scenario}: rendering differs.\n--- expected\n{expect}\n--- actual (paste this)\n{actual}"
    );
}

#[test]
fn every_fixture_leads_with_its_expected_cause() {
    let files = fixture_files();
    assert!(!files.is_empty());
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let Some((_, first, refined)) = EXPECTED_PRIMARY.iter().find(|(s, _, _)| *s == stem) else {
            panic!("{stem}: add its expected primary cause to EXPECTED_PRIMARY");
        };
        let round = load(&file);
        let expected = if has_logs(&round) { refined } else { first };
        let (session, d, _) = run(&round);
        let ids: Vec<&str> = d.findings.iter().map(|f| f.cause.as_str()).collect();
        assert_eq!(
            d.primary().unwrap().cause.as_str(),
            *expected,
            "{stem}: causes {ids:?}, warnings {:?}",
            session.warnings
        );
    }
}

/// Browsers send the reads in parallel, so Kudu may run the deployment list's side effects
/// (VerifyDeployment, purge, a stale Windows lock file deleted; kudu-facts §1.3, §2.2) before
/// or after the VFS listings. Scenarios whose evidence those side effects touch are captured in
/// both orders, and both must lead with the same cause and confidence.
#[test]
fn the_read_order_does_not_change_the_leading_cause() {
    let pairs = [
        ("cancelled-retried-linux", "cancelled-then-retried"),
        ("cancelled-retried-windows", "cancelled-then-retried"),
        ("stale-files-windows-windows", "healthy"),
    ];
    for (stem, expected) in pairs {
        let mut leads = vec![];
        for file in [format!("{stem}.json"), format!("{stem}-list-first.json")] {
            let round = load(&fixtures_dir().join(&file));
            let (_, d, _) = run(&round);
            let primary = d.primary().unwrap();
            leads.push((file, primary.cause.as_str(), primary.confidence));
        }
        assert_eq!(leads[0].1, expected, "{leads:?}");
        assert_eq!(
            (leads[0].1, leads[0].2),
            (leads[1].1, leads[1].2),
            "{leads:?}"
        );
    }
}

#[test]
fn a_first_round_without_logs_asks_for_them_and_they_refine_it() {
    let round = load(&fixtures_dir().join("hand/hand-stuck-linux.json"));
    let first = Round {
        now: round.now,
        replies: round
            .replies
            .iter()
            .filter(|(r, _, _)| !matches!(r, ReadId::DeploymentLog(_)))
            .cloned()
            .collect(),
    };
    let (session, d, p) = run(&first);
    assert_eq!(
        d.primary().unwrap().cause.as_str(),
        "deployment-in-progress"
    );
    assert!(p.steps.is_empty());
    let follow_up: Vec<ReadId> = session
        .follow_up_reads()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(follow_up.len(), 2, "{follow_up:?}");
    let (_, d, p) = run(&round);
    assert_eq!(d.primary().unwrap().cause.as_str(), "stale-lock");
    assert!(!p.steps.is_empty());
}

#[test]
fn hand_stuck_linux() {
    check(
        "hand-stuck-linux",
        r#"
primary: stale-lock (Medium)
causes: stale-lock
lock: Orphaned, held by 'Performing continuous deployment', 795 s left
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/temp-3b9d0a7e/?recursive=true
  2 DELETE /api/vfs/site/deployments/e51c9b2fe51c9b2fe51c9b2fe51c9b2f/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
"#,
    );
}

#[test]
fn hand_killed_retried_linux() {
    check(
        "hand-killed-retried-linux",
        r#"
primary: cancelled-then-retried (Medium)
causes: cancelled-then-retried, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
"#,
    );
}

#[test]
fn hand_stuck_windows() {
    check(
        "hand-stuck-windows",
        r#"
primary: windows-lock-held (High)
causes: windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/temp-5c6d7e8f/?recursive=true
  2 DELETE /api/vfs/site/deployments/77ac0e1f77ac0e1f77ac0e1f77ac0e1f/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
"#,
    );
}

/// `hand-stuck-windows` on a plan scaled out to two instances (their Kudu `_Startup` traces):
/// the browser cannot tell which instance it reaches, so the restart from here is not promised
/// to release the lock, and how to reach the holder comes first.
#[test]
fn hand_scaled_out_windows() {
    check(
        "hand-scaled-out-windows",
        r#"
primary: windows-lock-held (High)
causes: windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/temp-5c6d7e8f/?recursive=true
  2 DELETE /api/vfs/site/deployments/77ac0e1f77ac0e1f77ac0e1f77ac0e1f/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 08:00:00 UTC (its first request: GET /api/deployments).
trace: KuduStarted: Kudu started on instance a1b2c3 at 08:00:07 UTC (its first request: GET /api/deployments).
"#,
    );
    let round = load(&fixtures_dir().join("hand/hand-scaled-out-windows.json"));
    let (_, d, p) = run(&round);
    assert_eq!(d.instances.traced, ["05be39", "a1b2c3"]);
    let held = d.primary().unwrap();
    assert_eq!(held.cause.as_str(), "windows-lock-held");
    let Some(kudu_core::Recommendation::LookElsewhere { advice }) = held.recommendations.first()
    else {
        panic!("{:?}", held.recommendations)
    };
    assert!(advice.contains("may restart another one"), "{advice}");
    let restart = p
        .steps
        .iter()
        .find(|s| s.request.path == "/api/processes/0")
        .unwrap();
    assert!(
        restart.expect.contains("may be held on another instance"),
        "{}",
        restart.expect
    );
}

#[test]
fn hand_deploying_linux() {
    check(
        "hand-deploying-linux",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', 1380 s left
deployable: No
plan: none (deployment 9c41e0d2 by GITHUB_ZIP_DEPLOY (received 11:58:01 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
"#,
    );
}

#[test]
fn hand_healthy_windows() {
    check(
        "hand-healthy-windows",
        r#"
primary: healthy (High)
causes: healthy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
"#,
    );
}

#[test]
fn hand_run_from_package_linux() {
    check(
        "hand-run-from-package-linux",
        r#"
primary: run-from-package-url (High)
causes: run-from-package-url
lock: Free
deployable: No
plan: none (The app runs from a package URL; no cleanup can help. Change the setting instead.)
"#,
    );
}

#[test]
fn hand_partial_deploy_linux() {
    check(
        "hand-partial-deploy-linux",
        r#"
primary: partial-deploy (High)
causes: partial-deploy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
"#,
    );
}

#[test]
fn hand_session_expired_windows() {
    check(
        "hand-session-expired-windows",
        r#"
primary: session-expired (High)
causes: session-expired
lock: Unknown
deployable: Unknown
plan: none (Your sign-in to the SCM site expired; sign in again and re-run the diagnosis before cleaning anything.)
"#,
    );
}

#[test]
fn hand_status_lock_denied_linux() {
    check(
        "hand-status-lock-denied-linux",
        r#"
primary: status-lock-denied (High)
causes: status-lock-denied
lock: Free, blocking: status.lock
deployable: No
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/status.lock
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
"#,
    );
}

#[test]
fn sim_autoswap_linux() {
    check(
        "autoswap-linux",
        r#"
primary: autoswap-in-progress (High)
causes: autoswap-in-progress
lock: Free, blocking: autoswap.lock
deployable: No
plan: none (An auto swap is under way; wait about 2 minutes instead of cleaning up.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_autoswap_windows() {
    check(
        "autoswap-windows",
        r#"
primary: autoswap-in-progress (High)
causes: autoswap-in-progress
lock: Free, blocking: autoswap.lock
deployable: No
plan: none (An auto swap is under way; wait about 2 minutes instead of cleaning up.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_cancelled_retried_linux() {
    check(
        "cancelled-retried-linux",
        r#"
primary: cancelled-then-retried (High)
causes: cancelled-then-retried, stale-lock
lock: Orphaned, held by 'Performing continuous deployment', 1337 s left
deployable: No, idle evidence: Strong
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/1856a8ed229949f29128fffa4da16b28/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:23:18 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while the deployment lock taken at 22:21:37 UTC was held.
"#,
    );
}

#[test]
fn sim_cancelled_retried_windows() {
    check(
        "cancelled-retried-windows",
        r#"
primary: cancelled-then-retried (High)
causes: cancelled-then-retried, windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Strong
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/304fe5a3de3b4cbcb753d21fa702fa1d/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:23:19 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while the deployment lock taken at 22:21:37 UTC was held.
"#,
    );
}

#[test]
fn sim_cancelled_retried_linux_list_first() {
    check(
        "cancelled-retried-linux-list-first",
        r#"
primary: cancelled-then-retried (High)
causes: cancelled-then-retried, stale-lock
lock: Orphaned, held by 'Performing continuous deployment', 1337 s left
deployable: No, idle evidence: Strong
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/1856a8ed229949f29128fffa4da16b28/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:23:18 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while the deployment lock taken at 22:21:37 UTC was held.
"#,
    );
}

#[test]
fn sim_cancelled_retried_windows_list_first() {
    check(
        "cancelled-retried-windows-list-first",
        r#"
primary: cancelled-then-retried (High)
causes: cancelled-then-retried, windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Strong
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/304fe5a3de3b4cbcb753d21fa702fa1d/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:23:19 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while the deployment lock taken at 22:21:37 UTC was held.
"#,
    );
}

#[test]
fn sim_deploying_linux() {
    check(
        "deploying-linux",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', 1433 s left
deployable: No
plan: none (deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_deploying_windows() {
    check(
        "deploying-windows",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, deployments.lock listed
deployable: No
plan: none (deployment 304fe5a3 by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_healthy_linux() {
    check(
        "healthy-linux",
        r#"
primary: healthy (High)
causes: healthy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_healthy_windows() {
    check(
        "healthy-windows",
        r#"
primary: healthy (High)
causes: healthy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_parallel_linux() {
    check(
        "parallel-linux",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress, parallel-deployments
lock: Live, held by 'Performing continuous deployment', 1469 s left
deployable: No
plan: none (deployment 85a32bc6 by GITHUB_ZIP_DEPLOY (received 22:21:43 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:21:43 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while deployment 1856a8ed by az_cli_functions (received 22:21:38 UTC) held the lock.
"#,
    );
}

#[test]
fn sim_parallel_windows() {
    check(
        "parallel-windows",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, deployments.lock listed
deployable: No
plan: none (deployment 304fe5a3 by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:21:38 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while the deployment lock taken at 22:21:37 UTC was held.
"#,
    );
}

#[test]
fn sim_partial_deploy_linux() {
    check(
        "partial-deploy-linux",
        r#"
primary: partial-deploy (High)
causes: partial-deploy, no-lock-found
lock: Free
deployable: Yes
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  2 DELETE /api/vfs/site/deployments/temp-2244a2c6/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn hand_recycled_two_outputs_linux() {
    check(
        "hand-recycled-two-outputs-linux",
        r#"
primary: partial-deploy (High)
causes: partial-deploy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
"#,
    );
    let round = load(&fixtures_dir().join("hand/hand-recycled-two-outputs-linux.json"));
    let (_, d, _) = run(&round);
    assert!(
        d.warnings.iter().all(|w| !w.endpoint.contains("latest")),
        "{:?}",
        d.warnings
    );
    let partial = d
        .findings
        .iter()
        .find(|f| f.cause.as_str() == "partial-deploy")
        .unwrap();
    assert!(
        partial
            .summary
            .contains("output.tar.gz from 09:01:50 UTC is stale"),
        "{}",
        partial.summary
    );
}

#[test]
fn sim_two_outputs_linux() {
    check(
        "two-outputs-linux",
        r#"
primary: partial-deploy (High)
causes: partial-deploy, no-lock-found
lock: Free
deployable: Yes
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  2 DELETE /api/vfs/site/deployments/temp-2244a2c6/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
    let (_, d, _) = run(&load(&fixtures_dir().join("two-outputs-linux.json")));
    let summary = &d.primary().unwrap().summary;
    assert!(
        summary.contains("output.tar.gz from")
            && summary.contains("is stale beside output.tar.zst"),
        "{summary}"
    );
}

#[test]
fn sim_flex_consumption_linux() {
    check(
        "flex-consumption-linux",
        r#"
primary: flex-consumption (High)
causes: flex-consumption, deployment-in-progress
lock: Unknown
deployable: No
plan: none (This is a Flex Consumption app: its deployments do not use Kudu's lock files, so there is nothing here for Kudu Doctor to delete. Let the deployment in progress finish, then deploy again.)
"#,
    );
}

#[test]
fn sim_partial_deploy_windows() {
    check(
        "partial-deploy-windows",
        r#"
primary: partial-deploy (High)
causes: partial-deploy, no-lock-found
lock: Free
deployable: Yes
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  2 DELETE /api/vfs/site/deployments/temp-cdda8eb2/?recursive=true
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_run_from_package_url_linux() {
    check(
        "run-from-package-url-linux",
        r#"
primary: run-from-package-url (High)
causes: run-from-package-url
lock: Free
deployable: No
plan: none (The app runs from a package URL; no cleanup can help. Change the setting instead.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 23:21:37 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409; no deployment on record was running then.
"#,
    );
}

#[test]
fn sim_run_from_package_url_windows() {
    check(
        "run-from-package-url-windows",
        r#"
primary: run-from-package-url (High)
causes: run-from-package-url
lock: Free
deployable: No
plan: none (The app runs from a package URL; no cleanup can help. Change the setting instead.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 23:21:38 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409; no deployment on record was running then.
"#,
    );
}

#[test]
fn sim_scan_underway_linux() {
    check(
        "scan-underway-linux",
        r#"
primary: scan-underway (High)
causes: scan-underway
lock: Live, held by 'Performing continuous scan', 1379 s left
deployable: No
plan: none (A malware scan holds the deployment lock; wait for it to finish instead of cleaning up.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_session_expired_linux() {
    check(
        "session-expired-linux",
        r#"
primary: session-expired (High)
causes: session-expired
lock: Unknown
deployable: Unknown
plan: none (Your sign-in to the SCM site expired; sign in again and re-run the diagnosis before cleaning anything.)
"#,
    );
}

#[test]
fn sim_session_expired_windows() {
    check(
        "session-expired-windows",
        r#"
primary: session-expired (High)
causes: session-expired
lock: Unknown
deployable: Unknown
plan: none (Your sign-in to the SCM site expired; sign in again and re-run the diagnosis before cleaning anything.)
"#,
    );
}

#[test]
fn sim_stale_files_windows_windows() {
    check(
        "stale-files-windows-windows",
        r#"
primary: healthy (High)
causes: healthy, no-lock-found
lock: Free, deployments.lock listed
deployable: Yes
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  2 DELETE /api/vfs/site/deployments/304fe5a3de3b4cbcb753d21fa702fa1d/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-cdda8eb2/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-f30bb0d0/?recursive=true
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_stale_files_windows_windows_list_first() {
    check(
        "stale-files-windows-windows-list-first",
        r#"
primary: healthy (High)
causes: healthy, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_stale_lock_linux_linux() {
    check(
        "stale-lock-linux-linux",
        r#"
primary: stale-lock (Medium)
causes: stale-lock
lock: Expired, held by 'Performing continuous deployment', -9363 s left
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/1856a8ed229949f29128fffa4da16b28/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-2244a2c6/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 01:22:28 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 2026-11-27 22:21:38 UTC) held the lock.
"#,
    );
}

#[test]
fn sim_status_lock_denied_linux() {
    check(
        "status-lock-denied-linux",
        r#"
primary: status-lock-denied (High)
causes: status-lock-denied
lock: Free, blocking: status.lock
deployable: No
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/status.lock
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_stuck_linux_linux() {
    check(
        "stuck-linux-linux",
        r#"
primary: stale-lock (Medium)
causes: stale-lock
lock: Orphaned, held by 'Performing continuous deployment', 673 s left
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/1856a8ed229949f29128fffa4da16b28/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-2244a2c6/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_stuck_windows_windows() {
    check(
        "stuck-windows-windows",
        r#"
primary: windows-lock-held (High)
causes: windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/304fe5a3de3b4cbcb753d21fa702fa1d/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-cdda8eb2/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn hand_sim_stuck_linux_logs() {
    check(
        "hand-sim-stuck-linux-logs",
        r#"
primary: stale-lock (Medium)
causes: stale-lock
lock: Orphaned, held by 'Performing continuous deployment', 733 s left
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/2d464fbba7314c3f8856a8ed229919f2/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-09cd0c22/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
"#,
    );
}

#[test]
fn hand_sim_stuck_windows_logs() {
    check(
        "hand-sim-stuck-windows-logs",
        r#"
primary: windows-lock-held (High)
causes: windows-lock-held
lock: Held, deployments.lock listed
deployable: No, idle evidence: Weak
plan needs the user's word that nothing is deploying
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/processes/0
  2 DELETE /api/vfs/site/deployments/a775d3e44e6346af804fe5a3de3becbc/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-995df5cd/?recursive=true
  3 DELETE /api/processes/-1 (optional)
  4 GET /api/vfs/site/locks/
"#,
    );
}

#[test]
fn hand_sim_deploying_linux_logs() {
    check(
        "hand-sim-deploying-linux-logs",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', 1434 s left
deployable: No
plan: none (deployment 2d464fbb by GITHUB_ZIP_DEPLOY (received 22:21:35 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
"#,
    );
}

#[test]
fn sim_long_build_linux() {
    check(
        "long-build-linux",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', -307 s left
deployable: No
plan: none (deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_long_build_windows() {
    check(
        "long-build-windows",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, deployments.lock listed
deployable: No
plan: none (deployment 304fe5a3 by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_quiet_build_linux() {
    check(
        "quiet-build-linux",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', 923 s left
deployable: No
plan: none (deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_quiet_build_windows() {
    check(
        "quiet-build-windows",
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, deployments.lock listed
deployable: No
plan: none (deployment 304fe5a3 by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
"#,
    );
}

#[test]
fn sim_restarted_holder_linux() {
    check(
        "restarted-holder-linux",
        r#"
primary: stale-lock (High)
causes: stale-lock, restart-raced-deployment
lock: Orphaned, held by 'Performing continuous deployment', 972 s left
deployable: No, idle evidence: Strong
plan:
  0 GET /api/zip/site/locks/
  0 GET /api/zip/site/deployments/
  1 DELETE /api/vfs/site/locks/deployment/info.lock
  2 DELETE /api/vfs/site/deployments/1856a8ed229949f29128fffa4da16b28/?recursive=true
  2 DELETE /api/vfs/site/deployments/temp-2244a2c6/?recursive=true
  2 DELETE /api/vfs/site/deployments/pending
  4 GET /api/isdeploying
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
trace: KuduStopped: Kudu stopped on instance 05be39 at 22:27:23 UTC.
trace: KuduStarted: Kudu started on instance 05be39 at 22:28:24 UTC (its first request: POST /api/zipdeploy).
trace: RefusedDeployment: Your push at 22:28:24 UTC (POST /api/zipdeploy, instance 05be39) was refused with 409 while deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) held the lock.
"#,
    );
}

/// A pasted ARM slot-swap conflict on a site whose Kudu is idle: a cause of its own, not
/// "nothing found".
#[test]
fn pasted_swap_conflict_on_a_healthy_site() {
    check_pasted(
        "healthy-linux",
        Some(
            "Error: Failed to deploy web package to App Service.\nCannot modify this site because another operation is in progress. Details: Id: 4e8e, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM, RequestId: 0f0f, EntityType: 3",
        ),
        r#"
primary: site-operation-in-progress (High)
causes: site-operation-in-progress
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
pasted: SiteOperationInProgress
"#,
    );
}

/// The capacity 409 is the platform's, whatever Kudu shows.
#[test]
fn pasted_capacity_conflict_on_a_healthy_site() {
    check_pasted(
        "healthy-windows",
        Some(
            "No available instances to satisfy this request. App Service is attempting to increase capacity. Please retry your request shortly.",
        ),
        r#"
primary: no-available-instances (High)
causes: no-available-instances, no-lock-found
lock: Free
deployable: Yes
plan: none (Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
pasted: NoAvailableInstances
"#,
    );
}

/// azure-cli's lock text on a site where a deployment really holds the lock: the lock cause
/// leads, and the classification is kept.
#[test]
fn pasted_lock_failure_on_a_deploying_site() {
    check_pasted(
        "deploying-linux",
        Some("ERROR: Status Code: 409, Details: Failed to acquire deployment lock"),
        r#"
primary: deployment-in-progress (High)
causes: deployment-in-progress
lock: Live, held by 'Performing continuous deployment', 1433 s left
deployable: No
plan: none (deployment 1856a8ed by GITHUB_ZIP_DEPLOY (received 22:21:38 UTC) is progressing; wait for it to finish. Deleting its lock or folders now would break it.)
trace: KuduStarted: Kudu started on instance 05be39 at 2026-11-26 12:00:00 UTC (its first request: POST /api/zipdeploy).
pasted: DeploymentLockFailed
"#,
    );
}

/// The Windows captures include the SCM site's processes, read twice 5 virtual seconds apart:
/// the quiet build's npm used CPU (alive, however quiet its log), the stuck build's none (still
/// only weak evidence, said in the finding's words).
#[test]
fn windows_build_processes_decide_quiet_from_stuck() {
    let diagnose = |name: &str| {
        let round = load(&fixtures_dir().join(format!("{name}.json")));
        let mut session = Session::new();
        for (read, path, reply) in &round.replies {
            session.ingest(read, path, reply);
        }
        session.diagnose(round.now)
    };
    let quiet = diagnose("quiet-build-windows");
    let primary = quiet.primary().unwrap();
    assert_eq!(primary.cause.as_str(), "deployment-in-progress");
    let evidence: Vec<&str> = primary.evidence.iter().map(|e| e.fact.as_str()).collect();
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("npm used") && e.contains("s of CPU in 5 s")),
        "{evidence:?}"
    );
    let stuck = diagnose("stuck-windows-windows");
    assert_eq!(stuck.primary().unwrap().cause.as_str(), "windows-lock-held");
    let idle = stuck.lock.idle_evidence.unwrap();
    assert_eq!(idle.strength, kudu_core::diagnose::EvidenceStrength::Weak);
    assert!(
        idle.reason.contains("npm used no CPU in 5 s"),
        "{}",
        idle.reason
    );
}
