//! `kudu-doctor fix` and `wait --fix-stale` run as processes against the simulator in both
//! personalities: the stale lock is backed up into the backup folder, cleared and verified, and
//! the same push then succeeds; the typed confirmation, the weak-evidence refusal, and the
//! fault kinds the wizard's cleanup is tested with (a failing backup deletes nothing, a lock
//! taken again mid-run stops it, a failing delete is reported part way).
//!
//! The simulators here follow the wall clock (`wall_clock` and `realtime`), as in the wizard's
//! cleanup tests: a run waits real seconds for Kudu to come back after a Windows restart.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kudu_sim::{FaultKind, FaultRule, Personality, Sim, SimConfig, SimHandle};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kudu-doctor");
const PASSWORD: &str = "pw";

/// Exit codes, as `kudu-doctor --help` documents them.
const FIXED: i32 = 0;
const NOTHING_TO_FIX: i32 = 5;
const ABORTED: i32 = 6;
const PART_WAY: i32 = 7;

struct TestSim {
    sim: SimHandle,
    /// The backup folder of this test.
    backups: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Drop for TestSim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.backups);
    }
}

/// Test names, so tests running at once never share a backup folder.
static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn start(scenario: &str, personality: Personality) -> TestSim {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(Sim::start(SimConfig {
            personality,
            scenario: scenario.into(),
            password: Some(PASSWORD.into()),
            wall_clock: true,
            realtime: true,
            ..SimConfig::default()
        }))
        .unwrap();
    let backups = std::env::temp_dir().join(format!(
        "kudu-cli-fix-{}-{}-{scenario}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        personality.name()
    ));
    let _ = std::fs::remove_dir_all(&backups);
    TestSim {
        sim,
        backups,
        _runtime: runtime,
    }
}

impl TestSim {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("KUDU_BEARER_TOKEN")
            .env("KUDU_USERNAME", "$myapp")
            .env("KUDU_PASSWORD", PASSWORD)
            .stdin(Stdio::null());
        cmd
    }

    /// `fix URL --backup-dir <the test's folder> <extra>`.
    fn fix(&self, extra: &[&str]) -> Output {
        let dir = self.backups.display().to_string();
        let mut args = vec!["fix", self.sim.url.as_str(), "--backup-dir", dir.as_str()];
        args.extend_from_slice(extra);
        self.command(&args).output().unwrap()
    }

    fn deletes(&self) -> Vec<String> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .map(|r| r.path)
            .collect()
    }

    fn backup_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.backups)
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    fn diagnose(&self) -> Value {
        let output = self
            .command(&["diagnose", &self.sim.url, "--json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// An async zip push, as `azure/webapps-deploy` does it; returns the HTTP status.
    fn push_async(&self) -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .post(format!("{}/api/zipdeploy?isAsync=true", self.sim.url))
            .header("Authorization", self.sim.basic_auth_default())
            .send(&kudu_sim::app_zip(9)[..])
            .unwrap()
            .status()
            .as_u16()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON event: {line}: {e}"))
        })
        .collect()
}

fn is_zip(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"PK\x03\x04"))
}

#[test]
fn fix_clears_a_stuck_lock_in_both_personalities() {
    for (scenario, personality, cause) in [
        ("stuck-linux", Personality::Linux, "stale-lock"),
        ("stuck-windows", Personality::Windows, "windows-lock-held"),
    ] {
        let t = start(scenario, personality);
        assert_eq!(t.push_async(), 409, "{scenario}: the push is refused first");
        let output = t.fix(&["--yes", "--json", "--i-know-nothing-is-deploying"]);
        let err = text(&output.stderr);
        let events = events(&output);
        assert_eq!(
            output.status.code(),
            Some(FIXED),
            "{scenario}: {err}\n{events:#?}"
        );
        assert_eq!(events[0]["event"], "diagnosis");
        assert_eq!(events[0]["primary"], cause, "{scenario}");
        let saved = events
            .iter()
            .find(|e| e["event"] == "backup-saved")
            .expect("a backup-saved event");
        let path = PathBuf::from(saved["path"].as_str().unwrap());
        assert!(path.starts_with(&t.backups), "{path:?}");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("myapp-kudu-backup-"), "{name}");
        assert!(is_zip(&path));
        assert!(events.iter().any(|e| e["event"] == "group-done"));
        let result = events.last().unwrap();
        assert_eq!(result["event"], "result");
        assert_eq!(result["result"], "fixed");
        assert!(!result["done"].as_array().unwrap().is_empty());
        // The backup event came before the first delete was done.
        let backup_at = events.iter().position(|e| e["event"] == "backup-saved");
        let first_step = events.iter().position(|e| e["event"] == "step-started");
        assert!(backup_at < first_step, "{events:#?}");
        if personality == Personality::Windows {
            assert!(t.deletes().iter().any(|p| p == "/api/processes/0"));
        }
        assert_eq!(t.diagnose()["clear"], true, "{scenario}");
        assert_eq!(t.push_async(), 202, "{scenario}: the same push now starts");
    }
}

/// Windows: `--restart-app` adds the plan's optional `DELETE /api/processes/-1` after Kudu's
/// restart, as the wizard's "also restart the app"; the run still waits for Kudu and verifies.
#[test]
fn windows_can_also_restart_the_app() {
    let t = start("stuck-windows", Personality::Windows);
    let output = t.fix(&["--yes", "--restart-app", "--i-know-nothing-is-deploying"]);
    assert_eq!(
        output.status.code(),
        Some(FIXED),
        "{}",
        text(&output.stderr)
    );
    let deletes = t.deletes();
    let kudu = deletes.iter().position(|p| p == "/api/processes/0");
    let app = deletes.iter().position(|p| p == "/api/processes/-1");
    assert!(
        matches!((kudu, app), (Some(k), Some(a)) if k < a),
        "Kudu, then the app: {deletes:?}"
    );
    let out = text(&output.stdout);
    assert!(out.contains("waiting for Kudu to answer again"), "{out}");
    assert!(out.contains("Kudu answers again"), "{out}");
}

#[test]
fn fix_asks_for_the_site_name_and_shows_each_group() {
    let t = start("stuck-linux", Personality::Linux);
    let run = |typed: &str| {
        let dir = t.backups.display().to_string();
        let mut child = t
            .command(&[
                "fix",
                &t.sim.url,
                "--backup-dir",
                &dir,
                "--verbose",
                "--i-know-nothing-is-deploying",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(typed.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run("my-app\n");
    assert_eq!(
        output.status.code(),
        Some(ABORTED),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stderr).contains("type the site name (myapp)"));
    assert!(text(&output.stderr).contains("nothing was sent"));
    assert_eq!(t.deletes(), Vec::<String>::new());
    assert!(t.backup_files().is_empty());

    let output = run("myapp\n");
    let out = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(FIXED),
        "{}\n{out}",
        text(&output.stderr)
    );
    for part in [
        "PRIMARY CAUSE: stale-lock",
        "CLEANUP PLAN (targeted)",
        "backup saved and checked: ",
        "group 1: re-reading the site before its steps",
        "  GET /api/zip/site/locks/ -> 200",
        "verifying: reading the site again",
        "kudu-doctor: fixed: ",
    ] {
        assert!(out.contains(part), "missing {part:?} in:\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("group ") && l.contains(" done: DELETE ")),
        "{out}"
    );
}

#[test]
fn weak_evidence_needs_the_users_word() {
    let t = start("stuck-linux", Personality::Linux);
    let output = t.fix(&["--yes", "--json"]);
    let events = events(&output);
    // Only silence says stuck-linux's deployment stopped.
    let statement = events[0]["plan"]["requires_acknowledgement"].as_str();
    assert!(statement.is_some_and(|s| !s.is_empty()), "{events:#?}");
    assert_eq!(events.last().unwrap()["result"], "aborted");
    assert_eq!(
        output.status.code(),
        Some(ABORTED),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stderr).contains("--i-know-nothing-is-deploying"));
    assert_eq!(t.deletes(), Vec::<String>::new());
    assert!(
        t.sim
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/api/zip/")),
        "nothing of the run was sent"
    );
}

#[test]
fn nothing_to_fix_on_a_healthy_or_deploying_site() {
    for personality in [Personality::Linux, Personality::Windows] {
        for scenario in ["healthy", "deploying"] {
            let t = start(scenario, personality);
            let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
            let err = text(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(NOTHING_TO_FIX),
                "{scenario} {personality:?}: {err}"
            );
            assert!(err.contains("nothing"), "{err}");
            assert_eq!(t.deletes(), Vec::<String>::new(), "{scenario}");
            assert!(t.backup_files().is_empty());
        }
    }
}

#[test]
fn a_failing_backup_deletes_nothing() {
    for (scenario, personality) in [
        ("stuck-linux", Personality::Linux),
        ("stuck-windows", Personality::Windows),
    ] {
        let t = start(scenario, personality);
        t.sim.add_fault(FaultRule {
            prefix: "/api/zip/".into(),
            kind: FaultKind::Status { status: 500 },
            count: None,
        });
        let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
        let err = text(&output.stderr);
        assert_eq!(output.status.code(), Some(ABORTED), "{scenario}: {err}");
        assert!(err.contains("nothing was deleted"), "{err}");
        assert_eq!(t.deletes(), Vec::<String>::new(), "{scenario}");
        assert!(t.backup_files().is_empty());
    }
}

/// The backup folder cannot be written (here it is a file): the run stops before its first
/// re-check and says why; nothing is deleted.
#[test]
fn a_backup_that_cannot_be_written_deletes_nothing() {
    let t = start("stuck-linux", Personality::Linux);
    std::fs::create_dir_all(t.backups.parent().unwrap()).unwrap();
    std::fs::write(&t.backups, "not a folder").unwrap();
    let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(ABORTED), "{err}");
    assert!(
        err.contains("the backup could not be saved: cannot create"),
        "{err}"
    );
    assert!(err.contains("nothing was deleted"), "{err}");
    assert_eq!(t.deletes(), Vec::<String>::new());
    let _ = std::fs::remove_file(&t.backups);
}

#[test]
fn a_broken_archive_or_dropped_download_deletes_nothing() {
    for kind in [FaultKind::TruncateBody, FaultKind::Drop] {
        let t = start("stuck-linux", Personality::Linux);
        t.sim.add_fault(FaultRule {
            prefix: "/api/zip/site/deployments/".into(),
            kind: kind.clone(),
            count: None,
        });
        let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
        assert_eq!(
            output.status.code(),
            Some(ABORTED),
            "{kind:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(t.deletes(), Vec::<String>::new(), "{kind:?}");
    }
}

#[test]
fn slow_and_throttled_answers_still_fix() {
    let t = start("stuck-linux", Personality::Linux);
    for (prefix, kind) in [
        (
            "/api/zip/site/locks/",
            FaultKind::SlowBody { chunk_delay_ms: 2 },
        ),
        ("/api/vfs/site/deployments/", FaultKind::Latency { ms: 300 }),
        ("/api/vfs/site/locks/", FaultKind::Status { status: 503 }),
    ] {
        t.sim.add_fault(FaultRule {
            prefix: prefix.into(),
            kind,
            count: Some(1),
        });
    }
    let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
    assert_eq!(
        output.status.code(),
        Some(FIXED),
        "{}",
        text(&output.stderr)
    );
}

/// Someone restarts Kudu and a new deployment takes the lock while `fix` waits for the typed
/// name: the re-check stops the run and nothing is deleted.
#[test]
fn a_lock_taken_again_before_the_run_stops_it() {
    let t = start("stuck-linux", Personality::Linux);
    let dir = t.backups.display().to_string();
    let mut child = t
        .command(&[
            "fix",
            &t.sim.url,
            "--backup-dir",
            &dir,
            "--i-know-nothing-is-deploying",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("type the site name") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no prompt");
    }
    t.sim.restart_kudu();
    t.sim.hang_next();
    assert_eq!(t.push_async(), 202, "the new deployment began");
    child.stdin.take().unwrap().write_all(b"myapp\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(ABORTED), "{rest}");
    assert!(rest.contains("nothing was deleted"), "{rest}");
    assert!(rest.contains("What changed:"), "{rest}");
    assert_eq!(t.deletes(), Vec::<String>::new());
}

#[test]
fn a_500_on_one_delete_is_reported_part_way_with_the_backup() {
    let t = start("stuck-linux", Personality::Linux);
    // Not a `temp-` folder: Kudu purges those itself once the lock is free.
    t.sim.add_fault(FaultRule {
        prefix: "/api/vfs/site/deployments/pending".into(),
        kind: FaultKind::Status { status: 500 },
        count: Some(1),
    });
    let output = t.fix(&["--yes", "--i-know-nothing-is-deploying"]);
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(PART_WAY), "{err}");
    assert!(err.contains("failed part way"), "{err}");
    assert!(err.contains("/api/vfs/site/deployments/pending"), "{err}");
    assert!(err.contains("Already done: DELETE "), "{err}");
    let backups = t.backup_files();
    assert_eq!(backups.len(), 1);
    assert!(err.contains(&backups[0].display().to_string()), "{err}");
}

#[test]
fn a_full_reset_needs_the_typed_name_even_with_yes() {
    let t = start("stuck-linux", Personality::Linux);
    let output = t.fix(&["--full-reset", "--yes", "--i-know-nothing-is-deploying"]);
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(ABORTED), "{err}");
    assert!(
        err.contains("To run the FULL RESET, type the site name"),
        "{err}"
    );
    assert_eq!(t.deletes(), Vec::<String>::new());
}

/// Weak evidence (only a silent log): `--fix-stale` never acts on it and the wait times out
/// as before.
#[test]
fn wait_fix_stale_leaves_a_lock_on_weak_evidence() {
    let t = start("stuck-linux", Personality::Linux);
    let dir = t.backups.display().to_string();
    let output = t
        .command(&[
            "wait",
            &t.sim.url,
            "--fix-stale",
            "--backup-dir",
            &dir,
            "--timeout",
            "1s",
        ])
        .output()
        .unwrap();
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(!err.contains("--fix-stale:"), "{err}");
    assert_eq!(t.deletes(), Vec::<String>::new());
    assert!(t.backup_files().is_empty());
}

#[test]
fn a_full_reset_runs_once_the_name_is_typed() {
    let t = start("stuck-linux", Personality::Linux);
    let dir = t.backups.display().to_string();
    let mut child = t
        .command(&[
            "fix",
            &t.sim.url,
            "--backup-dir",
            &dir,
            "--full-reset",
            "--i-know-nothing-is-deploying",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"myapp\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let out = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(FIXED),
        "{}\n{out}",
        text(&output.stderr)
    );
    assert!(out.contains("CLEANUP PLAN (full reset)"), "{out}");
    assert_eq!(t.backup_files().len(), 1);
    assert!(
        t.deletes()
            .iter()
            .all(|p| p.starts_with("/api/vfs/site/locks/")
                || p.starts_with("/api/vfs/site/deployments/")),
        "{:?}",
        t.deletes()
    );
}

/// restarted-holder: Kudu started after the hung holder's last line, strong evidence that it
/// stopped, so `--fix-stale` backs up into the folder and runs the targeted cleanup. The run
/// re-reads the site before deleting; if it sees any change it stops with nothing deleted
/// and the wait goes on (exit 3 here); otherwise the lock is cleared and the wait ends clear.
#[test]
fn wait_fix_stale_runs_the_cleanup_on_strong_evidence() {
    let t = start("restarted-holder", Personality::Linux);
    let dir = t.backups.display().to_string();
    let output = t
        .command(&[
            "wait",
            &t.sim.url,
            "--fix-stale",
            "--backup-dir",
            &dir,
            "--timeout",
            "15s",
            "--interval",
            "500ms",
        ])
        .output()
        .unwrap();
    let err = text(&output.stderr);
    for part in [
        "--fix-stale: the only blocker is a stale lock (stale-lock) on strong evidence",
        "  planned: DELETE /api/vfs/site/locks/deployment/info.lock",
        "backup saved and checked: ",
        "group 1: re-reading the site before its steps",
    ] {
        assert!(err.contains(part), "missing {part:?} in:\n{err}");
    }
    let backups = t.backup_files();
    assert!(
        !backups.is_empty() && backups.iter().all(|b| is_zip(b)),
        "{backups:?}"
    );
    // The re-check must grade the holder as the diagnosis did (Kudu started after its last
    // activity), so the strong evidence that offered the cleanup lets it run.
    assert!(
        err.contains("--fix-stale: cleared the stale lock: DELETE "),
        "{err}"
    );
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(text(&output.stdout).contains("is clear"));
}

#[test]
fn wait_fix_stale_never_touches_a_live_deployment() {
    for personality in [Personality::Linux, Personality::Windows] {
        let t = start("deploying", personality);
        let dir = t.backups.display().to_string();
        let output = t
            .command(&[
                "wait",
                &t.sim.url,
                "--fix-stale",
                "--backup-dir",
                &dir,
                "--timeout",
                "2s",
                "--interval",
                "500ms",
            ])
            .output()
            .unwrap();
        let err = text(&output.stderr);
        assert!(matches!(output.status.code(), Some(0 | 3)), "{err}");
        assert!(!err.contains("--fix-stale:"), "{err}");
        assert_eq!(t.deletes(), Vec::<String>::new());
        assert!(
            t.sim
                .requests()
                .iter()
                .all(|r| !r.path.starts_with("/api/zip/")),
            "no backup of a live deployment"
        );
        assert!(t.backup_files().is_empty());
    }
}

#[test]
fn wait_fix_stale_needs_a_backup_folder() {
    let output = Command::new(BIN)
        .args(["wait", "https://a.scm.azurewebsites.net", "--fix-stale"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(text(&output.stderr).contains("--backup-dir"));
}

#[test]
fn a_linux_restart_is_printed_never_run() {
    let t = start("stuck-linux", Personality::Linux);
    let output = t.fix(&["--json", "--i-know-nothing-is-deploying"]);
    let events = events(&output);
    let command = &events[0]["restart_command"];
    if let Some(command) = command.as_str() {
        assert!(
            command.starts_with("az webapp restart --name myapp --resource-group "),
            "{command}"
        );
    }
    assert!(
        t.sim
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/api/processes")),
        "Linux has no restart API; nothing tries one"
    );
}
