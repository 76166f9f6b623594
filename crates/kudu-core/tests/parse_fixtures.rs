//! The simulator's captured rounds (`tests/fixtures/<scenario>-<os>.json`) through
//! `Session::ingest`: every 2xx JSON reply the simulator sends must parse, and the personality
//! read off a round must never be the other OS.
//!
//! Fixture format: `{"scenario", "personality", "now", "replies": [{"read", "path", "status",
//! "content_type", "headers": [[name, value]], "body"}]}`.

use std::path::{Path, PathBuf};

use kudu_core::parse::looks_like_html;
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::session::Observed;
use kudu_core::{Personality, Session};
use serde_json::Value;

struct Reply {
    read: ReadId,
    path: String,
    http: HttpReply,
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with("-linux.json") || name.ends_with("-windows.json")
        })
        .collect();
    files.sort();
    files
}

fn load(file: &Path) -> (Personality, Vec<Reply>) {
    let text = std::fs::read_to_string(file).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let personality = match fixture["personality"].as_str() {
        Some("linux") => Personality::Linux,
        Some("windows") => Personality::Windows,
        other => panic!("{}: personality {other:?}", file.display()),
    };
    let replies = fixture["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Reply {
            read: serde_json::from_value(r["read"].clone()).unwrap(),
            path: r["path"].as_str().unwrap().to_string(),
            http: HttpReply {
                status: u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().unwrap_or("").to_string(),
                headers: r["headers"]
                    .as_array()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap().to_ascii_lowercase(),
                                    h[1].as_str().unwrap().to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                transport_error: None,
            },
        })
        .collect();
    (personality, replies)
}

/// The `state` tag of the observation a read landed in (`value`, `missing`, `failed`, ...).
fn state_of(session: &Session, read: &ReadId) -> String {
    let slot = match read {
        ReadId::Deployments => serde_json::to_value(&session.deployments),
        ReadId::Latest => serde_json::to_value(&session.latest),
        ReadId::IsDeploying => serde_json::to_value(&session.is_deploying),
        ReadId::LocksDir => serde_json::to_value(&session.locks_dir),
        ReadId::InfoLock => serde_json::to_value(&session.info_lock),
        ReadId::DeploymentsDir => serde_json::to_value(&session.deployments_dir),
        ReadId::WwwrootDir => serde_json::to_value(&session.wwwroot_dir),
        ReadId::KuduTraceDir => serde_json::to_value(&session.kudu_trace_dir),
        ReadId::ActiveFile => serde_json::to_value(&session.active_file),
        ReadId::Environment => serde_json::to_value(&session.environment),
        ReadId::Setting(key) => serde_json::to_value(&session.settings[key]),
        ReadId::DeploymentLog(id) | ReadId::DeploymentLogFile(id) => {
            serde_json::to_value(&session.logs[id])
        }
        ReadId::Processes => serde_json::to_value(&session.processes),
        ReadId::Process(pid) => serde_json::to_value(&session.process_details[pid]),
        ReadId::ProcessAgain(pid) => serde_json::to_value(&session.process_details_again[pid]),
    };
    slot.unwrap()["state"].as_str().unwrap().to_string()
}

fn has_listing(listing: &Observed<Vec<kudu_core::VfsEntry>>) -> bool {
    listing
        .value()
        .is_some_and(|entries| entries.iter().any(|e| e.physical_path.is_some()))
}

#[test]
fn simulator_rounds_parse_and_show_their_personality() {
    for file in fixture_files() {
        let name = file.display();
        let (personality, replies) = load(&file);
        assert!(!replies.is_empty(), "{name}: no replies");
        let mut session = Session::new();
        for reply in &replies {
            session.ingest(&reply.read, &reply.path, &reply.http);
            let usable_json = (200..300).contains(&reply.http.status)
                && !reply.http.body.trim().is_empty()
                && !looks_like_html(reply.http.content_type.as_deref(), &reply.http.body);
            if usable_json {
                assert_ne!(
                    state_of(&session, &reply.read),
                    "failed",
                    "{name}: {} {}: {:?}",
                    reply.path,
                    reply.http.status,
                    session.warnings
                );
            }
        }
        let detected = session.personality();
        let has_evidence = has_listing(&session.locks_dir)
            || has_listing(&session.deployments_dir)
            || has_listing(&session.wwwroot_dir);
        if has_evidence {
            assert_eq!(detected, personality, "{name}");
        } else {
            assert!(
                detected == personality || detected == Personality::Unknown,
                "{name}: detected {detected:?}"
            );
        }
    }
}
