//! `GET /api/processes` and `GET /api/processes/{id}` (Kudu-W only; projectkudu/kudu
//! `Kudu.Services/Diagnostics/ProcessController.cs`, the JSON names in
//! `Kudu.Contracts/Diagnostics/ProcessInfo.cs`).
//!
//! The list holds `{id, name, href, user_name, machineName}` per process and no CPU time;
//! the details add `total_cpu_time` (a .NET `TimeSpan`, `[-][d.]hh:mm:ss[.fffffff]`),
//! `start_time`, `time_stamp`, `parent` and `children` (links ending in a process id),
//! `open_file_handles`, `is_scm_site`, `is_webjob`, `command_line` and the whole
//! `environment_variables` (the app's secrets: never read here). Kudu reads each field
//! with `SafeGetValue`, so a field it could not read comes back as its default: -1 s,
//! `0001-01-01`, an empty list. Those become "unknown" here, never a value. KuduLite answers
//! these routes with 400 `"Not supported on Linux"`, which the round never asks for.

use super::json::Value;
use super::loose_json::{Record, describe, kind_of, list_item_record, list_items, parse_body};
use super::loose_json::{integer_from, unwrap_record};
use super::{FieldWarning, ParseError, Parsed};
use crate::model::{ProcessDetails, ProcessSummary};
use crate::time::Timestamp;

/// The processes Kudu lists; entries without a usable id are skipped with a warning.
pub fn parse_process_list(body: &str) -> Result<Parsed<Vec<ProcessSummary>>, ParseError> {
    let value = parse_body(body)?;
    let Some(items) = list_items(&value) else {
        return Err(ParseError::new(
            "body",
            format!("expected a list of processes, got {}", kind_of(&value)),
        ));
    };
    let mut warnings = Vec::new();
    let mut processes = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(record) = list_item_record(index, item, "a process", &mut warnings) else {
            continue;
        };
        let Some(id) = process_id(&record, &mut warnings) else {
            warnings.push(FieldWarning {
                field: record.field_name(&["id"]),
                problem: "no usable process id; entry skipped".into(),
            });
            continue;
        };
        let name = record.text_or_empty(&["name"], &mut warnings);
        processes.push(ProcessSummary { id, name });
    }
    Ok(Parsed {
        value: processes,
        warnings,
    })
}

/// One process in detail. A reply without a usable id is an error: nothing in it could be
/// tied to a process.
pub fn parse_process_details(body: &str) -> Result<Parsed<ProcessDetails>, ParseError> {
    let value = parse_body(body)?;
    let inner = unwrap_record(&value);
    let Value::Object(map) = inner else {
        return Err(ParseError::new(
            "body",
            format!("expected a process object, got {}", kind_of(inner)),
        ));
    };
    let record = Record::new(map, "");
    let mut warnings = Vec::new();
    let id = process_id(&record, &mut warnings).ok_or_else(|| ParseError::new("id", "missing"))?;
    let name = record.text_or_empty(&["name"], &mut warnings);
    let total_cpu_ms = match record.get(&["total_cpu_time", "TotalProcessorTime"]) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let parsed = timespan_millis(text);
            if parsed.is_none() {
                warnings.push(FieldWarning {
                    field: record.field_name(&["total_cpu_time"]),
                    problem: format!(
                        "{} is not a time span; ignored",
                        describe(&Value::String(text.clone()))
                    ),
                });
            }
            // Kudu's "could not read" is -1 s.
            parsed.and_then(|ms| u64::try_from(ms).ok())
        }
        Some(other) => {
            warnings.push(FieldWarning {
                field: record.field_name(&["total_cpu_time"]),
                problem: format!("expected a time span, got {}; ignored", kind_of(other)),
            });
            None
        }
    };
    let start_time = real_instant(record.instant(&["start_time"], &mut warnings));
    let time_stamp = real_instant(record.instant(&["time_stamp"], &mut warnings));
    let parent = record
        .text(&["parent"], &mut warnings)
        .and_then(|link| id_from_link(&link))
        // `new Uri(selfLink, "0")` when Kudu could not find the parent.
        .filter(|id| *id != 0);
    let children = match record.get(&["children"]) {
        Some(Value::Array(links)) => links
            .iter()
            .filter_map(|link| match link {
                Value::String(text) => id_from_link(text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let holds_deployment_lock = match record.get(&["open_file_handles"]) {
        Some(Value::Array(paths)) => {
            let paths: Vec<&str> = paths
                .iter()
                .filter_map(|path| match path {
                    Value::String(text) => Some(text.as_ref()),
                    _ => None,
                })
                .collect();
            // KuduHandles prints `[Error] Can't get open file handles for process N` on its
            // standard output when it fails, and Kudu returns what it printed.
            let failed = paths.is_empty() || paths.iter().any(|p| p.starts_with("[Error]"));
            (!failed).then(|| paths.iter().any(|p| is_deployment_lock(p)))
        }
        _ => None,
    };
    let is_scm_site = record
        .flag(&["is_scm_site"], &mut warnings)
        .unwrap_or(false);
    let is_webjob = record.flag(&["is_webjob"], &mut warnings).unwrap_or(false);
    let tool = record
        .text(&["command_line"], &mut warnings)
        .and_then(|command| build_tool(&name, &command));
    Ok(Parsed {
        value: ProcessDetails {
            id,
            name,
            total_cpu_ms,
            start_time,
            time_stamp,
            parent,
            children,
            holds_deployment_lock,
            is_scm_site,
            is_webjob,
            tool,
        },
        warnings,
    })
}

fn process_id(record: &Record, warnings: &mut Vec<FieldWarning>) -> Option<u32> {
    record
        .get(&["id"])
        .and_then(integer_from)
        .and_then(|id| u32::try_from(id).ok())
        .filter(|id| *id != 0)
        .or_else(|| {
            record
                .text(&["href"], warnings)
                .and_then(|link| id_from_link(&link))
        })
}

/// Kudu-W's deployment lock (`D:\home\site\locks\deployments.lock`).
fn is_deployment_lock(path: &str) -> bool {
    path.to_ascii_lowercase()
        .replace('/', "\\")
        .ends_with("\\site\\locks\\deployments.lock")
}

/// npm, yarn and pnpm run as `node`: the tool a user knows, from the command line.
fn build_tool(name: &str, command: &str) -> Option<String> {
    if !name.eq_ignore_ascii_case("node") {
        return None;
    }
    let command = command.to_ascii_lowercase();
    ["npm", "yarn", "pnpm"]
        .into_iter()
        .find(|tool| command.contains(tool))
        .map(str::to_string)
}

/// The process id a link ends in (`https://x.scm.azurewebsites.net/api/processes/4312`).
fn id_from_link(link: &str) -> Option<u32> {
    let last = link.trim_end_matches('/').rsplit('/').next()?;
    last.parse::<u32>().ok()
}

/// Kudu's `DateTime.MinValue` ("could not read") is no time.
fn real_instant(at: Option<Timestamp>) -> Option<Timestamp> {
    at.filter(|t| t.unix_millis() > 0)
}

/// A .NET `TimeSpan` as Newtonsoft writes it (`TimeSpan.ToString("c")`:
/// `[-][d.]hh:mm:ss[.fffffff]`) in milliseconds; `None` for anything else.
pub(crate) fn timespan_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (days_hours_minutes, seconds_part) = text.rsplit_once(':')?;
    let (seconds, fraction) = match seconds_part.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (seconds_part, None),
    };
    let (days_hours, minutes) = days_hours_minutes.rsplit_once(':')?;
    let (days, hours) = match days_hours.split_once('.') {
        Some((days, hours)) => (days, hours),
        None => ("0", days_hours),
    };
    let number = |digits: &str, max: i64| -> Option<i64> {
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok().filter(|n| *n <= max)
    };
    let days = number(days, 10_675_199)?;
    let hours = number(hours, 23)?;
    let minutes = number(minutes, 59)?;
    let seconds = number(seconds, 59)?;
    let millis = match fraction {
        None => 0,
        Some(digits) if !digits.is_empty() && digits.len() <= 7 => {
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{digits:0<7}");
            padded.parse::<i64>().ok()? / 10_000
        }
        Some(_) => return None,
    };
    let total = ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000 + millis;
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_as_newtonsoft_writes_them() {
        assert_eq!(timespan_millis("00:00:12.3437500"), Some(12_343));
        assert_eq!(timespan_millis("00:05:00"), Some(300_000));
        assert_eq!(timespan_millis("1.02:03:04.5"), Some(93_784_500));
        assert_eq!(timespan_millis("-00:00:01"), Some(-1000));
        for odd in [
            "",
            "12",
            "00:60:00",
            "a:b:c",
            "00:00:01.12345678",
            "00:00:01.",
            "1e3",
        ] {
            assert_eq!(timespan_millis(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn the_list_keeps_ids_and_names_and_skips_what_has_no_id() {
        let body = r#"[{"id":4312,"name":"node","href":"https://s/api/processes/4312","user_name":"IIS APPPOOL\\~1site"},
                      {"name":"w3wp","href":"https://s/api/processes/2080"},
                      {"name":"ghost"}, 7]"#;
        let parsed = parse_process_list(body).unwrap();
        assert_eq!(
            parsed.value,
            [
                ProcessSummary {
                    id: 4312,
                    name: "node".into()
                },
                ProcessSummary {
                    id: 2080,
                    name: "w3wp".into()
                },
            ]
        );
        assert_eq!(parsed.warnings.len(), 2);
        assert!(parse_process_list(r#""Not supported on Linux""#).is_err());
        assert!(parse_process_list("<html>").is_err());
    }

    #[test]
    fn details_read_cpu_links_handles_and_the_scm_flag() {
        let body = r#"{"id":4312,"name":"node","href":"https://s/api/processes/4312",
            "parent":"https://s/api/processes/3900","children":["https://s/api/processes/5000"],
            "open_file_handles":["D:\\home\\site\\repository\\package.json"],
            "start_time":"2026-11-26T12:01:35.1234567Z","time_stamp":"2026-11-26T12:14:00Z",
            "total_cpu_time":"00:04:31.2500000","user_cpu_time":"00:04:00","is_scm_site":true,
            "is_webjob":false,"command_line":"node npm-cli.js ci"}"#;
        let d = parse_process_details(body).unwrap().value;
        assert_eq!(d.id, 4312);
        assert_eq!(d.total_cpu_ms, Some(271_250));
        assert_eq!(d.parent, Some(3900));
        assert_eq!(d.children, [5000]);
        assert!(d.is_scm_site && !d.is_webjob);
        assert_eq!(d.holds_deployment_lock, Some(false));
        assert_eq!(d.tool.as_deref(), Some("npm"));
        let holder = r#"{"id":2080,"name":"w3wp","open_file_handles":["D:\\home\\LogFiles\\x","D:\\home\\site\\locks\\deployments.lock"],
            "environment_variables":{"APPSETTING_SECRET":"s3cret"},"command_line":"w3wp.exe -ap x"}"#;
        let holder = parse_process_details(holder).unwrap().value;
        assert_eq!(holder.holds_deployment_lock, Some(true));
        assert_eq!(holder.tool, None);
        assert!(
            !format!("{holder:?}").contains("s3cret"),
            "the environment is never kept"
        );
        assert!(d.time_stamp.is_some() && d.start_time.is_some());
    }

    #[test]
    fn what_kudu_could_not_read_is_unknown_never_a_value() {
        let body = r#"{"id":"4312","total_cpu_time":"-00:00:01","start_time":"0001-01-01T00:00:00Z",
            "parent":"https://s/api/processes/0","open_file_handles":[],"is_scm_site":"maybe"}"#;
        let parsed = parse_process_details(body).unwrap();
        let d = parsed.value;
        assert_eq!(d.total_cpu_ms, None);
        assert_eq!(d.start_time, None);
        assert_eq!(d.parent, None);
        assert_eq!(d.holds_deployment_lock, None);
        assert!(!d.is_scm_site);
        let failed =
            r#"{"id":1,"open_file_handles":["[Error] Can't get open file handles for process 1"]}"#;
        assert_eq!(
            parse_process_details(failed)
                .unwrap()
                .value
                .holds_deployment_lock,
            None
        );
        for odd in [
            "",
            "[]",
            "null",
            r#"{"name":"node"}"#,
            r#""Not supported on Linux""#,
        ] {
            assert!(parse_process_details(odd).is_err(), "{odd}");
        }
        assert!(
            parse_process_details(r#"{"id":2,"total_cpu_time":12}"#)
                .unwrap()
                .warnings
                .len()
                == 1
        );
    }
}
