//! Deployment logs: the JSON of `/api/deployments/<id>/log` (an array of `LogEntry`), and the
//! on-disk `log.log` text a user may have downloaded through VFS.
//!
//! `log.log` holds one entry per line, `<time>,<message>,<id>,<type>`, children indented with
//! one tab per level and an empty id, commas in the message written as `&comma;`.

use super::json::Value;

use super::loose_json::{
    Body, describe, integer_from, kind_of, list_item_record, list_items, parse_body_lazily,
    quote_short, unwrap_record,
};
use super::{FieldWarning, ParseError, Parsed};
use crate::model::{LogEntry, LogLevel};
use crate::time::Timestamp;

/// Either shape: JSON when the body opens like JSON (`[`, `{`, `"`) or HTML, `log.log` text
/// otherwise (its lines open with a date).
pub fn parse_log(body: &str) -> Result<Parsed<Vec<LogEntry>>, ParseError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with(['[', '{', '"', '<']) {
        parse_log_json(body)
    } else {
        parse_log_text(body)
    }
}

/// A bare array is read one entry at a time (see `parse_body_lazily`): a log of hundreds of
/// thousands of lines is never held as a JSON tree.
fn parse_log_json(body: &str) -> Result<Parsed<Vec<LogEntry>>, ParseError> {
    let mut warnings = Vec::new();
    let value = match parse_body_lazily(body)? {
        Body::List(items) => {
            let mut entries = Vec::with_capacity(items.len());
            for (index, item) in items.enumerate() {
                entries.extend(entry_from(index, &item?, &mut warnings));
            }
            return Ok(Parsed {
                value: entries,
                warnings,
            });
        }
        Body::Value(value) => value,
    };
    let items: &[Value] = match list_items(&value) {
        Some(items) => items,
        // A single entry (one child fetched by id) is a list of one.
        None if matches!(unwrap_record(&value), Value::Object(_)) => std::slice::from_ref(&value),
        None => {
            return Err(ParseError::new(
                "body",
                format!(
                    "expected a JSON array of log entries, got {}",
                    kind_of(&value)
                ),
            ));
        }
    };
    let mut entries = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        entries.extend(entry_from(index, item, &mut warnings));
    }
    Ok(Parsed {
        value: entries,
        warnings,
    })
}

/// The `index`-th item of a log, or `None` with a warning saying why it was skipped.
fn entry_from(index: usize, item: &Value, warnings: &mut Vec<FieldWarning>) -> Option<LogEntry> {
    let record = list_item_record(index, item, "a log entry", warnings)?;
    let level = match record.get(&["type"]) {
        None | Some(Value::Null) => LogLevel::Info,
        Some(v) => match integer_from(v) {
            Some(code) => level_from_code(code),
            None => {
                warnings.push(FieldWarning {
                    field: record.field_name(&["type"]),
                    problem: format!("{} is not a log level; read as info", describe(v)),
                });
                LogLevel::Info
            }
        },
    };
    let details = record.text(&["details_url"], warnings);
    Some(LogEntry {
        time: record.instant(&["log_time"], warnings),
        id: record.text_or_empty(&["id"], warnings),
        message: record.text_or_empty(&["message"], warnings),
        level,
        has_details: details.is_some_and(|d| !d.is_empty()),
    })
}

/// 0 message, 1 warning, 2 error; a number outside that is treated by how bad it sounds.
fn level_from_code(code: i64) -> LogLevel {
    match code {
        i64::MIN..=0 => LogLevel::Info,
        1 => LogLevel::Warning,
        _ => LogLevel::Error,
    }
}

fn parse_log_text(body: &str) -> Result<Parsed<Vec<LogEntry>>, ParseError> {
    let mut warnings = Vec::new();
    let mut entries: Vec<LogEntry> = Vec::new();
    let mut last_top_level: Option<usize> = None;
    for (index, raw_line) in body.trim_start_matches('\u{feff}').lines().enumerate() {
        let line_no = index + 1;
        if raw_line.trim().is_empty() {
            continue;
        }
        let depth = raw_line.chars().take_while(|c| *c == '\t').count();
        let line = raw_line.trim_start_matches('\t').trim_end_matches('\r');
        let Some(entry) = entry_from_line(line, line_no, &mut warnings) else {
            continue;
        };
        if depth == 0 {
            last_top_level = Some(entries.len());
        } else if let Some(parent) = last_top_level.and_then(|i| entries.get_mut(i)) {
            parent.has_details = true;
        }
        entries.push(entry);
    }
    if entries.is_empty() && !warnings.is_empty() {
        return Err(ParseError::new(
            "line 1",
            "not a deployment log: no line has the form <time>,<message>,<id>,<type>",
        ));
    }
    Ok(Parsed {
        value: entries,
        warnings,
    })
}

fn entry_from_line(
    line: &str,
    line_no: usize,
    warnings: &mut Vec<FieldWarning>,
) -> Option<LogEntry> {
    if let Some(entry) = entry_from_csv_line(line, line_no, warnings) {
        return Some(entry);
    }
    let field = format!("line {line_no}");
    // Split from both ends rather than into a list: a line of millions of commas must not
    // become millions of slices. An unescaped comma inside the message leaves extra fields;
    // they all belong to it.
    let fields = line.split_once(',').and_then(|(time_text, rest)| {
        let mut tail = rest.rsplitn(3, ',');
        let level_text = tail.next()?;
        let id = tail.next()?;
        let message = tail.next()?;
        Some((time_text, message, id, level_text))
    });
    let Some((time_text, message, id, level_text)) = fields else {
        warnings.push(FieldWarning {
            field,
            problem: format!(
                "expected <time>,<message>,<id>,<type>, got {} comma-separated parts; line skipped",
                line.bytes().filter(|b| *b == b',').count() + 1
            ),
        });
        return None;
    };
    let message = message.replace("&comma;", ",");
    let time = Timestamp::parse_rfc3339(time_text);
    if time.is_none() {
        warnings.push(FieldWarning {
            field: format!("{field} time"),
            problem: format!(
                "{} is not an RFC 3339 date; ignored",
                quote_short(time_text)
            ),
        });
    }
    let level = match level_text.trim().parse::<i64>() {
        Ok(code) => level_from_code(code),
        Err(_) => {
            warnings.push(FieldWarning {
                field: format!("{field} type"),
                problem: format!(
                    "{} is not a log level; read as info",
                    quote_short(level_text)
                ),
            });
            LogLevel::Info
        }
    };
    Some(LogEntry {
        time,
        id: id.to_string(),
        message,
        level,
        has_details: false,
    })
}

/// The ten-column shape a Linux site's deployment log can take instead (projectkudu/kudu#3512,
/// quoted whole there):
/// `<time>,<host>,,,<deployment id>,<stack>,<os>,<state>,<kind>,<text>`, such as
/// `2024-07-31T09:51:24.281Z,app.azurewebsites.net,,,2041e4bc-…,NODE,Linux,InProgress,Message,Start deployment in the background`.
/// Known by its two empty columns after the host; everything after the ninth comma is the text,
/// commas and all. Only `<kind>` values that say error or warning raise the level; the `<state>`
/// column is kept out of the level because `InProgress` is on every line of a running deploy.
fn entry_from_csv_line(
    line: &str,
    line_no: usize,
    warnings: &mut Vec<FieldWarning>,
) -> Option<LogEntry> {
    let mut columns = line.splitn(10, ',');
    let time_text = columns.next()?;
    let host = columns.next()?;
    let (first_blank, second_blank) = (columns.next()?, columns.next()?);
    let id = columns.next()?;
    let (stack, os, state) = (columns.next()?, columns.next()?, columns.next()?);
    let kind = columns.next()?;
    let text = columns.next()?;
    // Every named column is filled and the two between them are empty: a `log.log` line whose
    // message holds commas cannot look like this by accident.
    let filled = [host, id, stack, os, state, kind]
        .iter()
        .all(|c| !c.trim().is_empty());
    if !filled || !first_blank.trim().is_empty() || !second_blank.trim().is_empty() {
        return None;
    }
    let time = Timestamp::parse_rfc3339(time_text.trim());
    if time.is_none() {
        warnings.push(FieldWarning {
            field: format!("line {line_no} time"),
            problem: format!(
                "{} is not an RFC 3339 date; ignored",
                quote_short(time_text)
            ),
        });
    }
    let kind_lower = kind.trim().to_ascii_lowercase();
    let level = if kind_lower.contains("error") || kind_lower.contains("fail") {
        LogLevel::Error
    } else if kind_lower.contains("warn") {
        LogLevel::Warning
    } else {
        LogLevel::Info
    };
    Some(LogEntry {
        time,
        id: id.trim().to_string(),
        message: text.trim_end().replace("&comma;", ","),
        level,
        has_details: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_entries_from_kudu() {
        let body = r#"[
          {"log_time":"2024-05-01T12:00:00.1234567Z","id":"6b1d2c3e-0000-4000-8000-000000000001",
           "message":"Updating submodules.","type":0,"details_url":null},
          {"log_time":"2024-05-01T12:00:05.12345Z","id":"6b1d2c3e-0000-4000-8000-000000000002",
           "message":"Deployment Failed.","type":2,
           "details_url":"https://x.scm.azurewebsites.net/api/deployments/a/log/6b1d"}
        ]"#;
        let parsed = parse_log(body).unwrap();
        assert!(parsed.warnings.is_empty());
        assert_eq!(parsed.value[0].level, LogLevel::Info);
        assert!(!parsed.value[0].has_details);
        assert_eq!(parsed.value[1].level, LogLevel::Error);
        assert!(parsed.value[1].has_details);
        assert_eq!(
            parsed.value[1].time,
            Timestamp::parse_rfc3339("2024-05-01T12:00:05.123Z")
        );
    }

    #[test]
    fn log_log_text_with_children_and_escaped_commas() {
        let body = "2024-05-01T12:00:00.1234567Z,Updating branch 'x'&comma; then more.,6b1d-guid,0\n\
                    \t2024-05-01T12:00:01.0000000Z,Some child,,1\n\
                    2024-05-01T12:00:02.0000000Z,Deployment Failed.,7c2e-guid,2\n";
        let parsed = parse_log(body).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let entries = parsed.value;
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].message, "Updating branch 'x', then more.");
        assert!(entries[0].has_details);
        assert_eq!(entries[1].id, "");
        assert_eq!(entries[1].level, LogLevel::Warning);
        assert_eq!(entries[2].level, LogLevel::Error);
    }

    /// The ten-column log of projectkudu/kudu#3512, as posted there (host name and the
    /// temporary path shortened).
    #[test]
    fn ten_column_csv_log_lines() {
        let body = "2024-07-31T09:51:24.281Z,app.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Writing artifact to /tmp/zipdeploy/87fc.zip\n\
                    2024-07-31T09:51:27.445Z,app.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Start deployment in the background\n\
                    2024-07-31T09:53:01.000Z,app.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,Failed,Error,Access to the path '/home/site/locks/status.lock' is denied, giving up\n";
        let parsed = parse_log(body).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let entries = parsed.value;
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].message, "Start deployment in the background");
        assert_eq!(entries[1].id, "2041e4bc-57fa-4e07-adc5-3bcb58e06c37");
        assert_eq!(
            entries[1].time,
            Timestamp::parse_rfc3339("2024-07-31T09:51:27.445Z")
        );
        assert_eq!(entries[0].level, LogLevel::Info);
        assert_eq!(entries[2].level, LogLevel::Error);
        assert!(entries[2].message.ends_with("is denied, giving up"));
    }

    /// A `log.log` line whose message is made of commas is still a `log.log` line.
    #[test]
    fn a_log_log_message_of_commas_is_not_a_csv_line() {
        let parsed = parse_log("2024-05-01T12:00:00Z,,,,,,,,,,,,x,entry-id,0\n").unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.value[0].id, "entry-id");
        assert_eq!(parsed.value[0].message, ",,,,,,,,,,,x");
    }

    #[test]
    fn bad_lines_are_skipped_with_warnings() {
        let body = "garbage\n2024-05-01T12:00:00Z,ok,id,0\n";
        let parsed = parse_log(body).unwrap();
        assert_eq!(parsed.value.len(), 1);
        assert_eq!(parsed.warnings[0].field, "line 1");
        assert!(parse_log("not a log at all").is_err());
    }

    #[test]
    fn odd_json_types() {
        let parsed = parse_log(r#"[{"log_time":5,"type":"9","message":null}, "x"]"#).unwrap();
        assert_eq!(parsed.value.len(), 1);
        assert_eq!(parsed.value[0].level, LogLevel::Error);
        assert_eq!(parsed.warnings.len(), 2);
        assert_eq!(parse_log("\"x\"").unwrap_err().field, "body");
    }
}
