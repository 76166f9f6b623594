//! `kudu-doctor parse KIND FILE`: a saved Kudu reply through the core's parser, out as JSON.
//!
//! The JSON written here is a stable contract (see `--help`), so it is built field by field
//! rather than by serialising the domain types, which may grow.

use std::io::Read as _;

use kudu_core::parse::{self, FieldWarning, ParseError, Parsed, one_line};
use kudu_core::{ConflictKind, Deployment, LogEntry, LogLevel, Timestamp, VfsEntry};
use serde::Serialize;

use crate::exit_code::Failure;
use crate::report;

/// What a file can hold, by the name given on the command line.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Deployments,
    Log,
    Vfs,
    IsDeploying,
    Lock,
    Conflict,
    Setting,
}

const KINDS: &str = "deployments, log, vfs, isdeploying, lock, conflict, setting";

impl Kind {
    fn from_arg(arg: &str) -> Option<Self> {
        Some(match arg {
            "deployments" => Kind::Deployments,
            "log" => Kind::Log,
            "vfs" => Kind::Vfs,
            "isdeploying" => Kind::IsDeploying,
            "lock" => Kind::Lock,
            "conflict" => Kind::Conflict,
            "setting" => Kind::Setting,
            _ => return None,
        })
    }
}

/// Runs the subcommand on `args` (everything after `parse`).
pub fn run(args: &[String]) -> Result<(), Failure> {
    let [kind, file] = args else {
        return Err(Failure::usage(format!(
            "parse takes KIND and FILE, got {} argument(s)",
            args.len()
        )));
    };
    let Some(kind) = Kind::from_arg(kind) else {
        return Err(Failure::usage(format!(
            "unknown KIND '{}'; expected one of {KINDS}",
            one_line(kind, 40)
        )));
    };
    let shown = one_line(file, 200);
    let (body, mut warnings) = read_input(file)
        .map_err(|problem| Failure::bad_input(format!("{shown}: file: {problem}")))?;
    let json = normalise(kind, &body, &mut warnings)
        .map_err(|error| Failure::bad_input(format!("{shown}: {}", one_line_error(&error))))?;
    for warning in &warnings {
        report::warning(&format!("{shown}: {}", one_line(&warning.to_string(), 500)));
    }
    report::stdout_line(&json)
}

fn one_line_error(error: &ParseError) -> String {
    one_line(&error.to_string(), 500)
}

/// The file's text. Bytes that are not UTF-8 are replaced, with a warning, rather than refused:
/// the parsers can still use the rest.
fn read_input(file: &str) -> Result<(String, Vec<FieldWarning>), String> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| format!("cannot read ({e})"))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, Vec::new())),
        Err(e) => Ok((
            String::from_utf8_lossy(e.as_bytes()).into_owned(),
            vec![FieldWarning {
                field: "body".into(),
                problem: "not valid UTF-8; invalid bytes were replaced".into(),
            }],
        )),
    }
}

fn take<T>(parsed: Parsed<T>, warnings: &mut Vec<FieldWarning>) -> T {
    warnings.extend(parsed.warnings);
    parsed.value
}

fn normalise(
    kind: Kind,
    body: &str,
    warnings: &mut Vec<FieldWarning>,
) -> Result<String, ParseError> {
    Ok(match kind {
        Kind::Deployments => {
            let list = take(parse::parse_deployments(body)?, warnings);
            to_json(list.iter().map(deployment_out).collect::<Vec<_>>())?
        }
        Kind::Log => {
            let entries = take(parse::parse_log(body)?, warnings);
            to_json(entries.iter().map(log_out).collect::<Vec<_>>())?
        }
        Kind::Vfs => {
            let entries = take(parse::parse_vfs_listing(body)?, warnings);
            to_json(entries.iter().map(vfs_out).collect::<Vec<_>>())?
        }
        Kind::IsDeploying => {
            let v = take(parse::parse_is_deploying(body)?, warnings);
            to_json(IsDeployingOut {
                deploying: v.deploying,
                message: &v.message,
            })?
        }
        Kind::Lock => {
            let l = take(parse::parse_lock(body)?, warnings);
            to_json(LockOut {
                holder_operation: l.holder_operation.as_deref(),
                worker: l.worker.as_deref(),
                pid: l.pid,
                acquired: time_text(l.acquired),
                expires: time_text(l.expires),
            })?
        }
        Kind::Conflict => {
            let c = take(parse::parse_conflict(body)?, warnings);
            to_json(ConflictOut {
                kind: c.kind,
                operation: c.operation.as_deref(),
                holder_operation: c.holder_operation.as_deref(),
                since: c.since.as_deref(),
                message: &c.message,
            })?
        }
        Kind::Setting => {
            let setting = take(parse::parse_setting(body)?, warnings);
            to_json(SettingOut {
                key: setting.key,
                value: setting.value,
            })?
        }
    })
}

fn time_text(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_rfc3339)
}

// The output records, in the field order of the documented contract.

#[derive(Serialize)]
struct DeploymentOut<'a> {
    id: Option<&'a str>,
    status: &'static str,
    status_code: Option<i64>,
    received: Option<String>,
    started: Option<String>,
    ended: Option<String>,
    deployer: &'a str,
    author: &'a str,
    message: &'a str,
    complete: bool,
    active: bool,
    temp: bool,
}

fn deployment_out(d: &Deployment) -> DeploymentOut<'_> {
    DeploymentOut {
        id: d.id.as_deref(),
        status: d.status.as_str(),
        status_code: d.status_code,
        received: time_text(d.received),
        started: time_text(d.started),
        ended: time_text(d.ended),
        deployer: &d.deployer,
        author: &d.author,
        message: &d.message,
        complete: d.complete,
        active: d.active,
        temp: d.temp,
    }
}

#[derive(Serialize)]
struct LogOut<'a> {
    time: Option<String>,
    id: &'a str,
    message: &'a str,
    level: LogLevel,
}

fn log_out(e: &LogEntry) -> LogOut<'_> {
    LogOut {
        time: time_text(e.time),
        id: &e.id,
        message: &e.message,
        level: e.level,
    }
}

#[derive(Serialize)]
struct VfsOut<'a> {
    name: &'a str,
    is_dir: bool,
    size: u64,
    modified: Option<String>,
}

fn vfs_out(e: &VfsEntry) -> VfsOut<'_> {
    VfsOut {
        name: &e.name,
        is_dir: e.is_dir,
        size: e.size,
        modified: time_text(e.modified),
    }
}

#[derive(Serialize)]
struct IsDeployingOut<'a> {
    deploying: bool,
    message: &'a str,
}

#[derive(Serialize)]
struct LockOut<'a> {
    holder_operation: Option<&'a str>,
    worker: Option<&'a str>,
    pid: Option<i64>,
    acquired: Option<String>,
    expires: Option<String>,
}

#[derive(Serialize)]
struct ConflictOut<'a> {
    kind: ConflictKind,
    operation: Option<&'a str>,
    holder_operation: Option<&'a str>,
    since: Option<&'a str>,
    message: &'a str,
}

#[derive(Serialize)]
struct SettingOut {
    key: Option<String>,
    value: Option<String>,
}

/// Pretty JSON text; serialising the records directly keeps the contract's field order.
fn to_json(out: impl Serialize) -> Result<String, ParseError> {
    serde_json::to_string_pretty(&out).map_err(|e| ParseError {
        field: "output".into(),
        problem: e.to_string(),
    })
}
