//! `kudu-doctor diagnose` and `wait` run as processes against the simulator in both
//! personalities: the JSON contract, waiting out a real deployment, timing out on a stuck
//! one, credentials from the environment, and the pinned affinity cookie.
//!
//! The command line takes `now` from the system clock, so every simulator here is started
//! with its virtual clock calibrated to end its scenario at the wall-clock now; the clock then
//! only moves when a test advances it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use kudu_sim::{
    FaultKind, FaultRule, Personality, Quirks, Sim, SimConfig, SimHandle, UnauthAnswer, VTime,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kudu-doctor");
const PASSWORD: &str = "pw";
const BOTH: [Personality; 2] = [Personality::Linux, Personality::Windows];

/// A simulator and the runtime serving it; the simulator stops first.
struct TestSim {
    sim: SimHandle,
    _runtime: tokio::runtime::Runtime,
}

fn config(personality: Personality, scenario: &str) -> SimConfig {
    SimConfig {
        personality,
        scenario: scenario.into(),
        password: Some(PASSWORD.into()),
        ..SimConfig::default()
    }
}

/// Starts `config` with `start` moved so that, once the scenario has run, the virtual now is
/// the wall-clock now. A probe simulator measures how far the scenario moves the clock.
fn start(mut config: SimConfig) -> TestSim {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let probe = runtime.block_on(Sim::start(config.clone())).unwrap();
    let scenario_span = probe.now().0 - config.start.0;
    drop(probe);
    config.start = VTime(VTime::from_system_time(SystemTime::now()).0 - scenario_span);
    let sim = runtime.block_on(Sim::start(config)).unwrap();
    TestSim {
        sim,
        _runtime: runtime,
    }
}

impl TestSim {
    /// The command with no credentials in its environment.
    fn bare(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("KUDU_USERNAME")
            .env_remove("KUDU_PASSWORD")
            .env_remove("KUDU_BEARER_TOKEN");
        cmd
    }

    /// The command with the site's publishing credentials, as CI would set them.
    fn signed_in(&self, args: &[&str]) -> Command {
        let mut cmd = self.bare(args);
        cmd.env("KUDU_USERNAME", "$myapp")
            .env("KUDU_PASSWORD", PASSWORD);
        cmd
    }

    fn diagnose_json(&self) -> Value {
        let output = self
            .signed_in(&["diagnose", &self.sim.url, "--json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn causes(report: &Value) -> Vec<&str> {
    report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

/// Waits for `child` to exit, killing it after `limit`.
fn exit_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kudu-doctor did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Forwards the child's stderr lines to a channel (and keeps them all for messages).
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stream = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn diagnose_json_on_a_healthy_site_leads_with_healthy() {
    for personality in BOTH {
        let t = start(config(personality, "healthy"));
        let report = t.diagnose_json();
        assert_eq!(report["primary"], "healthy", "{personality:?}");
        assert_eq!(causes(&report)[0], "healthy");
        assert_eq!(report["personality"], personality.name());
        assert_eq!(report["clear"], true);
        assert_eq!(report["blocked_by"], serde_json::json!([]));
        assert_eq!(report["lock"]["state"], "free");
        assert_eq!(report["site"], t.sim.url.as_str());
        let timeline = report["timeline"].as_array().unwrap();
        assert_eq!(timeline.len(), 3, "the scenario has three deployments");
        assert!(report["plan"]["steps"].as_array().unwrap().is_empty());
    }
}

#[test]
fn diagnose_json_on_a_stuck_site_names_the_stuck_lock() {
    for (scenario, primary) in [
        ("stuck-linux", "stale-lock"),
        ("stuck-windows", "windows-lock-held"),
    ] {
        let t = start(config(Personality::Linux, scenario));
        let report = t.diagnose_json();
        assert_eq!(report["primary"], primary, "{scenario}: {report:#}");
        assert_eq!(report["clear"], false, "{scenario}");
        assert!(!report["blocked_by"].as_array().unwrap().is_empty());
        // The follow-up read of the hung deployment's log is what tells hung from slow.
        assert!(
            t.sim
                .requests()
                .iter()
                .any(|r| r.path.starts_with("/api/vfs/site/deployments/")
                    && r.path.ends_with("/log.log")),
            "{scenario}: no follow-up log read"
        );
    }
}

#[test]
fn diagnose_prints_a_readable_report() {
    let t = start(config(Personality::Linux, "stuck-linux"));
    let output = t.signed_in(&["diagnose", &t.sim.url]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for part in [
        "PRIMARY CAUSE: stale-lock",
        "Evidence:",
        "LOCK: orphaned",
        "DEPLOY NOW? No",
        "RECENT DEPLOYMENTS",
        "CLEANUP PLAN (targeted)",
        "DELETE /api/vfs/site/locks/deployment/",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn wait_returns_as_soon_as_a_real_deployment_ends() {
    for personality in BOTH {
        let t = start(SimConfig {
            build_ms: 60_000,
            ..config(personality, "healthy")
        });
        assert_eq!(t.push_async(), 202, "{personality:?}");
        let mut child = t
            .signed_in(&[
                "wait",
                &t.sim.url,
                "--interval",
                "200ms",
                "--timeout",
                "60s",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = stderr_lines(&mut child);
        let mut seen = Vec::new();
        while !seen.iter().any(|l: &String| l.contains("busy:")) {
            match lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => seen.push(line),
                Err(e) => panic!("{personality:?}: no progress line ({e}); saw {seen:#?}"),
            }
        }
        // The build takes 60 virtual seconds; let them pass.
        t.sim.advance(90);
        let code = exit_within(&mut child, Duration::from_secs(20));
        seen.extend(lines.try_iter());
        assert_eq!(code, Some(0), "{personality:?}: {seen:#?}");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        assert!(out.contains("is clear"), "{out}");
    }
}

#[test]
fn wait_times_out_on_a_stuck_site_and_points_at_the_wizard() {
    // stale-lock-linux: past lockExpiry, yet KuduLite still honours it (isdeploying True).
    for scenario in ["stuck-linux", "stuck-windows", "stale-lock-linux"] {
        let t = start(config(Personality::Linux, scenario));
        let output = t
            .signed_in(&["wait", &t.sim.url, "--timeout", "1s", "--interval", "300ms"])
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{scenario}: {err}");
        assert!(err.contains("timed out after 1s"), "{err}");
        assert!(err.contains("looks stuck"), "{err}");
        assert!(
            err.contains(&format!(
                "open {}/ in a browser with Kudu Doctor",
                t.sim.url
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("kudu-doctor diagnose {}", t.sim.url)),
            "{err}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn wait_is_clear_at_once_when_leftovers_do_not_block() {
    // Killed deployments left temp- folders, incomplete records and a deployments.lock file
    // that no process holds: Windows Kudu deletes such a file when it next checks.
    let t = start(config(Personality::Windows, "stale-files-windows"));
    let output = t
        .signed_in(&["wait", &t.sim.url, "--timeout", "20s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("busy:"), "{}", stderr(&output));
    let out = String::from_utf8(output.stdout).unwrap();
    assert!(out.contains("is clear"), "{out}");
}

#[test]
fn a_503_and_a_dropped_connection_are_retried_visibly() {
    let t = start(config(Personality::Linux, "healthy"));
    t.sim.add_fault(FaultRule {
        prefix: "/api/isdeploying".into(),
        kind: FaultKind::Status { status: 503 },
        count: Some(1),
    });
    t.sim.add_fault(FaultRule {
        prefix: "/api/environment".into(),
        kind: FaultKind::Drop,
        count: Some(1),
    });
    let output = t
        .signed_in(&["diagnose", &t.sim.url, "--json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("GET /api/isdeploying: HTTP 503; retrying in 1s (attempt 2 of 3)"),
        "{err}"
    );
    assert!(
        err.contains("GET /api/environment: ") && err.matches("retrying in 1s").count() == 2,
        "{err}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["primary"], "healthy");
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn without_credentials_the_login_page_names_the_variables() {
    let t = start(config(Personality::Linux, "healthy"));
    let output = t
        .bare(&["diagnose", &t.sim.url, "--json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["primary"], "session-expired");
    for name in ["KUDU_USERNAME", "KUDU_PASSWORD", "KUDU_BEARER_TOKEN"] {
        assert!(err.contains(name), "{err}");
    }
    assert!(
        t.sim.requests().iter().all(|r| r.authorization.is_none()),
        "an Authorization header was sent without credentials"
    );

    let output = t.bare(&["wait", &t.sim.url]).output().unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(stderr(&output).contains("no credentials are set"));
}

#[test]
fn a_401_or_a_refused_token_is_an_auth_failure() {
    let t = start(SimConfig {
        quirks: Quirks {
            unauthenticated: UnauthAnswer::Unauthorized,
            ..Quirks::default()
        },
        ..config(Personality::Windows, "healthy")
    });
    let output = t
        .bare(&["wait", &t.sim.url])
        .env("KUDU_USERNAME", "$myapp")
        .env("KUDU_PASSWORD", "wrong")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(
        err.contains("refused Basic auth from KUDU_USERNAME/KUDU_PASSWORD"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the password leaked: {err}");

    // The simulator accepts Basic only, as a site may for a token without SCM rights.
    t.sim.clear_requests();
    let output = t
        .bare(&["diagnose", &t.sim.url])
        .env("KUDU_BEARER_TOKEN", "token-value")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(err.contains("KUDU_BEARER_TOKEN"), "{err}");
    assert!(!err.contains("token-value"), "the token leaked: {err}");
    let requests = t.sim.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer"))
    );
}

#[test]
fn basic_auth_from_the_environment_and_the_affinity_cookie_reach_every_read() {
    let t = start(config(Personality::Linux, "healthy"));
    t.diagnose_json();
    let requests = t.sim.requests();
    // The warm-up `GET /` comes first and sets ARRAffinity (and a session cookie, which is
    // not kept: the command line authenticates with the environment's credentials only).
    let (warm_up, reads) = requests.split_first().unwrap();
    assert_eq!(
        (warm_up.method.as_str(), warm_up.path.as_str()),
        ("GET", "/")
    );
    assert!(!warm_up.cookie);
    assert!(reads.len() >= 16, "{} reads", reads.len());
    for r in reads {
        assert!(r.path.starts_with("/api/"), "{}", r.path);
        assert_eq!(r.method, "GET");
        assert!(r.cookie, "{} without the affinity cookie", r.path);
        assert!(!r.session_cookie, "{} sent the session cookie", r.path);
        assert_eq!(r.authorization.as_deref(), Some("Basic"), "{}", r.path);
        assert!(
            matches!(r.status, 200 | 404),
            "{} answered {}",
            r.path,
            r.status
        );
    }
}

#[test]
fn usage_errors_and_an_unreachable_site_have_their_own_codes() {
    for args in [
        &["diagnose"][..],
        &["diagnose", "https://$app:pw@app.scm.azurewebsites.net"][..],
        &["diagnose", "ftp://app.scm.azurewebsites.net"][..],
        &[
            "wait",
            "https://app.scm.azurewebsites.net",
            "--timeout",
            "soon",
        ][..],
    ] {
        let output = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(64),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let output = Command::new(BIN).args(["wait", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("cannot reach {url}")));
}

#[test]
fn help_documents_the_ci_guard() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "kudu-doctor diagnose URL [--json | --markdown]",
        "kudu-doctor wait URL [--timeout 15m] [--interval 5s]",
        "KUDU_USERNAME, KUDU_PASSWORD",
        "KUDU_BEARER_TOKEN",
        "ARRAffinity",
        "\"primary\": \"<cause id>\"",
        "    3    wait: still busy when --timeout ran out",
        "    4    the site asked for a sign-in",
        "    1    the site could not be reached",
        "kudu-doctor fix URL [--backup-dir DIR] [--yes] [--full-reset]",
        "[--fix-stale --backup-dir DIR]",
        "kudu-doctor diagnose URL --format github | azure-devops",
        "    5    fix: nothing to fix",
        "    6    fix, wait --fix-stale: stopped or refused with nothing deleted",
        "    7    fix, wait --fix-stale: failed part way",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
}

/// A file under the system's temp folder holding `text`, removed when dropped.
struct ErrorFile(std::path::PathBuf);

impl ErrorFile {
    fn new(name: &str, text: &str) -> ErrorFile {
        let path =
            std::env::temp_dir().join(format!("kudu-doctor-{}-{name}.txt", std::process::id()));
        std::fs::write(&path, text).unwrap();
        ErrorFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ErrorFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const ARM_SWAP: &str = "Error: Failed to deploy web package to App Service.\nConflict (CODE: 409)\nCannot modify this site because another operation is in progress. Details: Id: 4e8e, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM, RequestId: 0f0f, EntityType: 3\n";

#[test]
fn an_error_file_with_arms_conflict_on_an_idle_site_is_its_own_cause() {
    for personality in BOTH {
        let t = start(config(personality, "healthy"));
        let file = ErrorFile::new(&format!("arm-{}", personality.name()), ARM_SWAP);
        let output = t
            .signed_in(&[
                "diagnose",
                &t.sim.url,
                "--json",
                "--error-file",
                file.path(),
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            report["primary"], "site-operation-in-progress",
            "{report:#}"
        );
        assert!(!causes(&report).contains(&"no-lock-found"), "{report:#}");
        assert_eq!(report["pasted_error"]["kind"], "site-operation-in-progress");
        assert_eq!(report["pasted_error"]["holder_operation"], "SwapSiteSlots");
    }
}

#[test]
fn an_error_from_stdin_is_classified_and_shown_beside_what_the_site_shows() {
    let t = start(config(Personality::Linux, "deploying"));
    let mut child = t
        .signed_in(&["diagnose", &t.sim.url, "--error-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"ERROR: Status Code: 409, Details: Failed to acquire deployment lock\n")
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for part in [
        "THE ERROR YOU GAVE: azure-cli: failed to acquire the deployment lock",
        "PRIMARY CAUSE: deployment-in-progress",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn an_unreadable_error_file_sends_nothing() {
    let t = start(config(Personality::Linux, "healthy"));
    let before = t.sim.requests().len();
    let output = t
        .signed_in(&[
            "diagnose",
            &t.sim.url,
            "--error-file",
            "/nonexistent/kudu-doctor-error.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot read the error file"));
    assert_eq!(t.sim.requests().len(), before);
}

#[test]
fn diagnose_json_lists_the_refused_push_from_kudus_traces() {
    for personality in BOTH {
        let t = start(config(personality, "deploying"));
        assert_eq!(
            t.push_async(),
            409,
            "{personality:?}: the push should be refused"
        );
        let report = t.diagnose_json();
        let traces = report["kudu_traces"].as_array().unwrap();
        let refused: Vec<&Value> = traces
            .iter()
            .filter(|m| m["kind"] == "refused-deployment")
            .collect();
        let last = refused.last().unwrap_or_else(|| panic!("{report:#}"));
        assert_eq!(last["method"], "POST");
        assert_eq!(last["path"], "/api/zipdeploy");
        assert_eq!(last["status"], 409);
        assert!(last["held_by"].is_string(), "{last:#}");
        assert!(
            last["summary"]
                .as_str()
                .unwrap()
                .starts_with("Your push at "),
            "{last:#}"
        );
        assert!(report["pasted_error"].is_null());
    }
}

/// A Windows build silent past the log silence that makes it look hung, whose npm keeps using
/// CPU: the command line waits between the round's two reads of its processes, as the round's
/// timer asks, and reports it in progress.
#[test]
fn diagnose_watches_a_quiet_windows_build_and_finds_it_working() {
    let t = start(SimConfig {
        realtime: true,
        ..config(Personality::Windows, "quiet-build")
    });
    let began = Instant::now();
    let report = t.diagnose_json();
    assert_eq!(report["primary"], "deployment-in-progress", "{report:#}");
    assert!(
        began.elapsed() >= Duration::from_secs(5),
        "the second read waits for the timer"
    );
    let requests = t.sim.requests();
    let detail_reads = |path: &str| requests.iter().filter(|r| r.path == path).count();
    let twice: Vec<&str> = requests
        .iter()
        .map(|r| r.path.as_str())
        .filter(|p| p.starts_with("/api/processes/") && detail_reads(p) == 2)
        .collect();
    assert!(
        !twice.is_empty(),
        "a build process read twice: {requests:#?}"
    );
}

/// held-elsewhere (a scaled-out plan): the hung build on the second instance holds the lock,
/// and the command line, pinned by its warm-up to the first, says so and promises no release
/// from a restart here.
#[test]
fn diagnose_on_a_scaled_out_site_names_both_instances_and_promises_no_release_from_here() {
    for personality in BOTH {
        let t = start(config(personality, "held-elsewhere"));
        let ids = t.sim.with_kudu(|k| k.instance_ids());
        let (first, second) = (&ids[0], &ids[1]);
        let report = t.diagnose_json();
        let instances = &report["instances"];
        assert_eq!(instances["reading"], first.as_str(), "{instances:#}");
        let traced: Vec<&str> = instances["traced"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for id in [first, second] {
            assert!(
                traced.iter().any(|t| id.starts_with(*t)),
                "{personality:?}: {} not in {traced:?}",
                &id[..6]
            );
        }
        if personality == Personality::Linux {
            // `heldByWorker` names the holder, so the two are compared.
            assert_eq!(instances["lock_holder"], second.as_str(), "{instances:#}");
            assert_eq!(instances["same_instance"], false, "{instances:#}");
        }

        let output = t.signed_in(&["diagnose", &t.sim.url]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = String::from_utf8(output.stdout).unwrap();
        let reading = format!("you are reading instance {}", &first[..12]);
        assert!(
            text.contains(&reading),
            "{personality:?}: {reading:?} in:\n{text}"
        );
        if personality == Personality::Linux {
            let held = format!("The lock is held on instance {}", &second[..12]);
            assert!(text.contains(&held), "{held:?} in:\n{text}");
            assert!(
                text.contains(&format!(
                    "not the deployment on {} that holds the lock",
                    &second[..12]
                )),
                "{text}"
            );
        } else {
            assert!(text.contains("may not release it"), "{text}");
        }
        assert!(
            !text.contains("restarting Kudu (DELETE /api/processes/0) releases it"),
            "{personality:?}: a restart from here is promised to release the lock:\n{text}"
        );
    }
}
