//! The error texts users paste, as their tools print them (`tests/fixtures/pasted/`), and
//! Kudu's trace file names as the simulator writes them (every captured trace listing in
//! `tests/fixtures/`): each family is recognised, and every trace name parses.

use std::path::Path;

use kudu_core::parse::{classify_pasted, parse_trace_name, parse_vfs_listing};
use kudu_core::{ConflictKind, reads::ReadId};
use serde_json::Value;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn every_pasted_family_is_recognised() {
    let cases: [(&str, ConflictKind, Option<&str>); 8] = [
        (
            "arm-swap-webapps-deploy.txt",
            ConflictKind::SiteOperationInProgress,
            Some("SwapSiteSlots"),
        ),
        (
            "arm-create-az.json",
            ConflictKind::SiteOperationInProgress,
            Some("Create"),
        ),
        (
            "arm-stop-container-logicapps.txt",
            ConflictKind::SiteOperationInProgress,
            Some("StopContainerAppOperation"),
        ),
        (
            "capacity-container-apps.txt",
            ConflictKind::NoAvailableInstances,
            None,
        ),
        (
            "az-deployment-lock-failed.txt",
            ConflictKind::DeploymentLockFailed,
            None,
        ),
        (
            "az-deployment-id-exists.txt",
            ConflictKind::DeploymentIdExists,
            None,
        ),
        (
            "kudu-deployment-in-progress.txt",
            ConflictKind::DeploymentInProgress,
            None,
        ),
        (
            "webapps-deploy-bare-conflict.txt",
            ConflictKind::Unknown,
            None,
        ),
    ];
    let dir = fixtures().join("pasted");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut named: Vec<String> = cases.iter().map(|(f, _, _)| f.to_string()).collect();
    named.sort();
    assert_eq!(files, named, "every pasted fixture has its expected kind");
    for (file, kind, operation) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let c = classify_pasted(&text);
        assert_eq!(c.kind, kind, "{file}");
        if kind == ConflictKind::SiteOperationInProgress {
            assert_eq!(c.holder_operation.as_deref(), operation, "{file}");
        }
        assert!(!c.message.is_empty(), "{file}");
    }
}

#[test]
fn every_trace_name_the_simulator_writes_parses() {
    let mut names = 0;
    let mut refused = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for reply in fixture["replies"].as_array().into_iter().flatten() {
            let read: ReadId = serde_json::from_value(reply["read"].clone()).unwrap();
            if read != ReadId::KuduTraceDir || reply["status"] != 200 {
                continue;
            }
            // A sign-in page (the session-expired scenarios) is no listing.
            let Ok(listing) = parse_vfs_listing(reply["body"].as_str().unwrap_or_default()) else {
                continue;
            };
            for file in listing.value.iter().filter(|e| !e.is_dir) {
                let trace = parse_trace_name(&file.name)
                    .unwrap_or_else(|| panic!("{}: {}", path.display(), file.name));
                assert!(!trace.instance.is_empty(), "{}", file.name);
                names += 1;
                if trace.status == Some(409) && trace.is_deployment_request() {
                    refused += 1;
                }
            }
        }
    }
    assert!(names > 30, "only {names} trace names in the fixtures");
    assert!(refused > 3, "only {refused} refused pushes in the fixtures");
}
