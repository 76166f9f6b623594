//! `kudu-doctor parse KIND FILE` run as a process: stdout JSON, exit codes, the one-line error,
//! and no panic on arbitrary bytes.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kudu-doctor");

/// A file of its own under the system temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &[u8]) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kudu-doctor-cli-test-{}-{}.txt",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn parse(kind: &str, contents: &str) -> (Output, TempFile) {
    let file = TempFile::new(contents.as_bytes());
    (run(&["parse", kind, file.path()]), file)
}

fn stdout_json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn deployments_list_in_contract_shape() {
    let body = r#"[{"id":"temp-ab12cd34","status":0,"status_text":"Receiving changes.",
        "author":"N/A","deployer":"Push-Deployer","message":"Deploying from pushed zip file",
        "received_time":"2024-05-01T12:03:10.1234567Z","start_time":"2024-05-01T12:03:10.12345Z",
        "end_time":null,"complete":false,"active":false,"is_temp":true,"url":null},
        {"id":"abc","status":-1,"received_time":"2024-05-01T04:00:00-07:00",
        "end_time":"2024-05-01T11:05:00+00:00","complete":"True","active":"False","is_temp":"False",
        "provisioningState":"Failed"}]"#;
    let (output, _file) = parse("deployments", body);
    assert_eq!(
        stdout_json(&output),
        json!([
            {"id": "temp-ab12cd34", "status": "pending", "status_code": 0,
             "received": "2024-05-01T12:03:10.123Z", "started": "2024-05-01T12:03:10.123Z",
             "ended": null, "deployer": "Push-Deployer", "author": "N/A",
             "message": "Deploying from pushed zip file", "complete": false, "active": false,
             "temp": true},
            {"id": "abc", "status": "cancelled", "status_code": -1,
             "received": "2024-05-01T11:00:00Z", "started": null,
             "ended": "2024-05-01T11:05:00Z", "deployer": "", "author": "", "message": "",
             "complete": true, "active": false, "temp": false}
        ])
    );
    assert_eq!(stderr(&output), "");
    let text = String::from_utf8(output.stdout).unwrap();
    let id_at = text.find("\"id\"").unwrap();
    let temp_at = text.find("\"temp\"").unwrap();
    assert!(id_at < temp_at, "fields keep the contract's order");
}

#[test]
fn a_single_record_is_a_one_element_array() {
    let (output, _file) = parse("deployments", r#"{"properties":{"id":"x","status":6}}"#);
    let value = stdout_json(&output);
    assert_eq!(value[0]["status"], "partial-success");
    assert_eq!(value.as_array().unwrap().len(), 1);
}

#[test]
fn warnings_go_to_stderr_and_keep_exit_zero() {
    let (output, file) = parse(
        "deployments",
        r#"[{"id":"a","status":4,"end_time":"yesterday"}]"#,
    );
    let value = stdout_json(&output);
    assert_eq!(value[0]["ended"], Value::Null);
    let err = stderr(&output);
    assert!(err.starts_with("kudu-doctor: warning: "), "{err}");
    assert!(
        err.contains(file.path()) && err.contains("[0].end_time"),
        "{err}"
    );
}

#[test]
fn unusable_input_is_one_line_with_file_field_and_problem() {
    let (output, file) = parse("isdeploying", r#"{"msg":"Deployment Underway"}"#);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        err,
        format!("kudu-doctor: {}: value: missing\n", file.path())
    );

    let (output, _file) = parse("vfs", "<!DOCTYPE html>\n<html><title>Sign in</title>");
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("body: an HTML page"), "{err}");

    let (output, _file) = parse("deployments", "{\"id\": ");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[test]
fn every_kind_prints_its_shape() {
    let cases = [
        (
            "log",
            "2024-05-01T12:00:00.1234567Z,Deployment Failed.,6b1d,2\n",
            json!([{"time": "2024-05-01T12:00:00.123Z", "id": "6b1d",
                    "message": "Deployment Failed.", "level": "error"}]),
        ),
        (
            "vfs",
            r#"[{"name":"deployment","size":0,"mtime":"2024-05-01T12:03:10.1234567+00:00",
                "mime":"inode/directory","path":"/home/site/locks/deployment"}]"#,
            json!([{"name": "deployment", "is_dir": true, "size": 0,
                    "modified": "2024-05-01T12:03:10.123Z"}]),
        ),
        (
            "isdeploying",
            r#"{"value":"True","msg":"Scan Underway"}"#,
            json!({"deploying": true, "message": "Scan Underway"}),
        ),
        (
            "lock",
            r#"{"lockExpiry":"2024-05-01T12:28:10Z","heldByPID":87,"heldByTID":3,
                "heldByOp":"Performing continuous deployment","heldByWorker":"a1b2"}"#,
            json!({"holder_operation": "Performing continuous deployment", "worker": "a1b2",
                   "pid": 87, "acquired": "2024-05-01T12:03:10Z",
                   "expires": "2024-05-01T12:28:10Z"}),
        ),
        (
            "conflict",
            r#"{"Message":"The 'Preparing zip package' operation conflicts with the pending 'Performing continuous deployment' operation started at 2024-05-01T12:03:10.1234567Z.  Please retry operation later."}"#,
            json!({"kind": "operation-conflict", "operation": "Preparing zip package",
                   "holder_operation": "Performing continuous deployment",
                   "since": "2024-05-01T12:03:10.1234567Z",
                   "message": "The 'Preparing zip package' operation conflicts with the pending 'Performing continuous deployment' operation started at 2024-05-01T12:03:10.1234567Z.  Please retry operation later."}),
        ),
        (
            "conflict",
            "Run-From-Zip is set to a remote URL using WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration.",
            json!({"kind": "run-from-package-url", "operation": null, "holder_operation": null,
                   "since": null,
                   "message": "Run-From-Zip is set to a remote URL using WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration."}),
        ),
        ("setting", "\"1\"", json!({"key": null, "value": "1"})),
        (
            "setting",
            r#"{"WEBSITE_RUN_FROM_PACKAGE":"https://a.blob.core.windows.net/c/app.zip"}"#,
            json!({"key": "WEBSITE_RUN_FROM_PACKAGE",
                   "value": "https://a.blob.core.windows.net/c/app.zip"}),
        ),
    ];
    for (kind, body, expected) in cases {
        let (output, _file) = parse(kind, body);
        assert_eq!(stdout_json(&output), expected, "{kind}: {body}");
    }
}

#[test]
fn usage_errors_exit_64_and_missing_files_exit_2() {
    for args in [
        &[][..],
        &["parse"][..],
        &["parse", "deployments"][..],
        &["parse", "nonsense", "file"][..],
        &["frobnicate"][..],
        &["parse", "log", "a", "b"][..],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        assert!(stderr(&output).starts_with("kudu-doctor: "), "{args:?}");
    }
    let missing = std::env::temp_dir().join("kudu-doctor-cli-test-does-not-exist.json");
    let output = run(&["parse", "log", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("file: cannot read"), "{err}");
}

#[test]
fn help_documents_the_contract_and_exit_codes() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "parse KIND FILE",
        "partial-success",
        "64",
        "\"holder_operation\"",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
}

#[test]
fn invalid_utf8_is_replaced_with_a_warning() {
    let file = TempFile::new(b"\"caf\xe9\"");
    let output = run(&["parse", "setting", file.path()]);
    assert_eq!(
        stdout_json(&output),
        json!({"key": null, "value": "caf\u{fffd}"})
    );
    assert!(stderr(&output).contains("not valid UTF-8"));
}

const KINDS: [&str; 7] = [
    "deployments",
    "log",
    "vfs",
    "isdeploying",
    "lock",
    "conflict",
    "setting",
];

proptest! {
    // Each case spawns a process; a few dozen cases cover the exit-code paths.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        kind in 0..KINDS.len(),
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "[\\[\\]{}\",:0-9a-zA-Z<> .\\-+T]{0,80}".prop_map(String::into_bytes),
        ],
    ) {
        let file = TempFile::new(&bytes);
        let output = run(&["parse", KINDS[kind], file.path()]);
        let code = output.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "exit {:?}: {}", code, stderr(&output));
        if code == Some(0) {
            prop_assert!(serde_json::from_slice::<Value>(&output.stdout).is_ok());
        } else {
            prop_assert_eq!(stderr(&output).lines().count(), 1);
        }
    }
}
