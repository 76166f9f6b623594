//! `/api/deployments` (a list), `/api/deployments/<id>` and `/latest` (one `DeployResult`).
//!
//! `status` is a number on the wire (no enum converter is registered in either Kudu), but
//! production Kudu sends -1, 5 and 6 that the public enum lacks, so every number is kept and
//! unknown ones become [`DeployStatus::Unknown`]. Status names (`"Success"`) are accepted too,
//! in case a proxy or a future Kudu sends them.

use super::json::Value;

use super::loose_json::{
    Body, Record, describe, integer_from, kind_of, list_items, parse_body, parse_body_lazily,
    unwrap_record,
};
use super::{FieldWarning, ParseError, Parsed};
use crate::model::{DeployStatus, Deployment};

/// Status number the .NET SDK uses for "no status" (`Unknown = -10`); used when a record has
/// no usable `status` at all.
const NO_STATUS: i64 = -10;

/// The field of a Flex Consumption deployment record that Kudu's `DeployResult` lacks: Flex's
/// `latest` echoes the `RemoteBuild` option its `/api/publish` took (azure-dev#3658, the Flex
/// team's sample body; kudu-facts §1.2 has no such field). Its `build_summary` is not enough on
/// its own: production Kudu may add that one too (the simulator's `extra_deploy_fields`).
/// Matched as every field is, ignoring case and underscores.
const FLEX_ONLY_FIELDS: [&str; 1] = ["remoteBuild"];

/// A list of deployments, or one record (returned as a one-element list). ARM shapes
/// (`{"value": [...]}`, `{"properties": {...}}`) are unwrapped. List items that are not
/// records are skipped with a warning.
///
/// A bare list is read one record at a time (see `parse_body_lazily`): a big site's list is
/// never held as a JSON tree.
pub fn parse_deployments(body: &str) -> Result<Parsed<Vec<Deployment>>, ParseError> {
    let mut warnings = Vec::new();
    let value = match parse_body_lazily(body)? {
        Body::List(items) => {
            let mut deployments = Vec::with_capacity(items.len());
            for (index, item) in items.enumerate() {
                list_item(index, &item?, &mut deployments, &mut warnings);
            }
            return Ok(Parsed {
                value: deployments,
                warnings,
            });
        }
        Body::Value(value) => value,
    };
    if let Some(items) = list_items(&value) {
        let mut deployments = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            list_item(index, item, &mut deployments, &mut warnings);
        }
        return Ok(Parsed {
            value: deployments,
            warnings,
        });
    }
    let deployment = record_from(&value, "", &mut warnings)?;
    Ok(Parsed {
        value: vec![deployment],
        warnings,
    })
}

/// The `index`-th item of a list: a record, or a warning saying why it was skipped.
fn list_item(
    index: usize,
    item: &Value,
    deployments: &mut Vec<Deployment>,
    warnings: &mut Vec<FieldWarning>,
) {
    match record_from(item, &format!("[{index}]."), warnings) {
        Ok(d) => deployments.push(d),
        Err(e) => warnings.push(FieldWarning {
            field: e.field,
            problem: format!("{}; item skipped", e.problem),
        }),
    }
}

/// Exactly one deployment record (`/api/deployments/<id>`, `/latest`).
pub fn parse_deployment(body: &str) -> Result<Parsed<Deployment>, ParseError> {
    let value = parse_body(body)?;
    let mut warnings = Vec::new();
    let value = match &value {
        // Some proxies answer a single-item request with a one-element list.
        Value::Array(items) if items.len() == 1 => &items[0],
        _ => &value,
    };
    let deployment = record_from(value, "", &mut warnings)?;
    Ok(Parsed {
        value: deployment,
        warnings,
    })
}

fn record_from(
    value: &Value,
    context: &str,
    warnings: &mut Vec<FieldWarning>,
) -> Result<Deployment, ParseError> {
    let inner = unwrap_record(value);
    let Value::Object(map) = inner else {
        return Err(ParseError::new(
            format!("{context}record"),
            format!("expected a deployment object, got {}", kind_of(inner)),
        ));
    };
    let record = Record::new(map, context);
    let id = record.text(&["id"], warnings).filter(|s| !s.is_empty());
    let (status, status_code) = status_of(&record, warnings);
    if id.is_none() && status_code.is_none() {
        return Err(ParseError::new(
            format!("{context}status"),
            "the record has neither an id nor a status, so it is not a deployment",
        ));
    }
    Ok(Deployment {
        id,
        status,
        status_code,
        status_text: record.text_or_empty(&["status_text"], warnings),
        received: record.instant(&["received_time"], warnings),
        started: record.instant(&["start_time"], warnings),
        ended: record.instant(&["end_time"], warnings),
        last_success_end: record.instant(&["last_success_end_time"], warnings),
        deployer: record.text_or_empty(&["deployer"], warnings),
        author: record.text_or_empty(&["author"], warnings),
        message: record.text_or_empty(&["message"], warnings),
        progress: record.text_or_empty(&["progress"], warnings),
        complete: record.flag(&["complete"], warnings).unwrap_or(false),
        active: record.flag(&["active"], warnings).unwrap_or(false),
        temp: record.flag(&["is_temp", "temp"], warnings).unwrap_or(false),
        provisioning_state: record
            .text(&["provisioningState"], warnings)
            .filter(|s| !s.is_empty()),
        // Presence alone counts, whatever the value (an object, a flag or null): the field's
        // shape is not documented, its name is what no Kudu sends.
        flex_fields: record.get(&FLEX_ONLY_FIELDS).is_some(),
    })
}

/// The status and the number Kudu sent for it.
fn status_of(record: &Record<'_>, warnings: &mut Vec<FieldWarning>) -> (DeployStatus, Option<i64>) {
    let field = record.field_name(&["status"]);
    let Some(value) = record.get(&["status"]) else {
        warnings.push(FieldWarning {
            field,
            problem: "missing; status unknown".into(),
        });
        return (DeployStatus::Unknown(NO_STATUS), None);
    };
    if let Some(code) = integer_from(value) {
        return (DeployStatus::from_code(code), Some(code));
    }
    if let Value::String(name) = value
        && let Some(code) = code_from_name(name)
    {
        return (DeployStatus::from_code(code), Some(code));
    }
    warnings.push(FieldWarning {
        field,
        problem: format!(
            "{} is not a deployment status; status unknown",
            describe(value)
        ),
    });
    (DeployStatus::Unknown(NO_STATUS), None)
}

/// The number behind a status name as Kudu's enum and the clients spell it.
fn code_from_name(name: &str) -> Option<i64> {
    let key: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some(match key.as_str() {
        "cancelled" | "canceled" => -1,
        "pending" => 0,
        "building" => 1,
        "deploying" => 2,
        "failed" => 3,
        "success" | "succeeded" => 4,
        "conflict" => 5,
        "partialsuccess" => 6,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn ts(text: &str) -> Option<Timestamp> {
        Some(Timestamp::parse_rfc3339(text).unwrap())
    }

    const LINUX_LIST: &str = r#"[
      {"id":"temp-ab12cd34","status":0,"status_text":"Receiving changes.","author_email":"N/A",
       "author":"N/A","deployer":"Push-Deployer","message":"Deploying from pushed zip file",
       "progress":"","received_time":"2024-05-01T12:03:10.1234567Z",
       "start_time":"2024-05-01T12:03:10.1234567Z","end_time":null,"last_success_end_time":null,
       "complete":false,"active":false,"is_temp":true,"is_readonly":false,"url":null,
       "log_url":null,"site_name":"myapp"},
      {"id":"9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f","status":4,"status_text":"",
       "author_email":"N/A","author":"N/A","deployer":"GITHUB_ZIP_DEPLOY",
       "message":"Created via a push deployment","progress":"",
       "received_time":"2024-05-01T11:00:00.12345Z","start_time":"2024-05-01T11:00:01.123456Z",
       "end_time":"2024-05-01T11:02:00Z","last_success_end_time":"2024-05-01T11:02:00Z",
       "complete":true,"active":true,"is_temp":false,"is_readonly":true,
       "url":"https://myapp.scm.azurewebsites.net/api/deployments/9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f",
       "log_url":"https://myapp.scm.azurewebsites.net/api/deployments/9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f/log",
       "site_name":"myapp"}
    ]"#;

    #[test]
    fn linux_list_with_temp_item() {
        let parsed = parse_deployments(LINUX_LIST).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let [temp, done] = parsed.value.as_slice() else {
            panic!("two items expected")
        };
        assert_eq!(temp.id.as_deref(), Some("temp-ab12cd34"));
        assert_eq!(temp.status, DeployStatus::Pending);
        assert!(temp.temp && !temp.complete);
        assert_eq!(temp.ended, None);
        assert_eq!(temp.received, ts("2024-05-01T12:03:10.123Z"));
        assert_eq!(done.status, DeployStatus::Success);
        assert_eq!(done.status_code, Some(4));
        assert_eq!(done.started, ts("2024-05-01T11:00:01.123Z"));
        assert!(done.active && done.complete);
        assert_eq!(done.provisioning_state, None);
    }

    #[test]
    fn windows_record_with_provisioning_state_and_strings() {
        let body = r#"{"id":"abc","status":"1","status_text":"Building and Deploying 'abc'.",
            "author":"N/A","deployer":"ZipDeploy","message":"Created via a push deployment",
            "received_time":"2024-05-01T05:03:10.1234567-07:00","start_time":"2024-05-01T12:03:11Z",
            "end_time":null,"complete":"False","active":"False","is_temp":"False",
            "provisioningState":"InProgress","extra":{"nested":[1,2]}}"#;
        let parsed = parse_deployment(body).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let d = parsed.value;
        assert_eq!(d.status, DeployStatus::Building);
        assert_eq!(d.received, ts("2024-05-01T12:03:10.123Z"));
        assert_eq!(d.provisioning_state.as_deref(), Some("InProgress"));
        assert!(!d.complete);
    }

    #[test]
    fn production_only_status_numbers() {
        for (code, status) in [
            (-1, DeployStatus::Cancelled),
            (5, DeployStatus::Conflict),
            (6, DeployStatus::PartialSuccess),
            (42, DeployStatus::Unknown(42)),
        ] {
            let body = format!(r#"{{"id":"x","status":{code}}}"#);
            let d = parse_deployment(&body).unwrap().value;
            assert_eq!(d.status, status);
            assert_eq!(d.status_code, Some(code));
        }
    }

    #[test]
    fn arm_wrapped_list_and_record() {
        let body = r#"{"value":[{"id":"/subscriptions/s/x","name":"x","type":"Microsoft.Web/sites/deployments",
            "properties":{"id":"x","status":3,"end_time":"2024-05-01T12:00:00+00:00"}}, 7]}"#;
        let parsed = parse_deployments(body).unwrap();
        assert_eq!(parsed.value.len(), 1);
        assert_eq!(parsed.value[0].status, DeployStatus::Failed);
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].field, "[1].record");
    }

    #[test]
    fn null_id_and_bad_fields_are_warnings_not_errors() {
        let body =
            r#"[{"id":null,"status":"Success","received_time":"soon","complete":"perhaps"}]"#;
        let parsed = parse_deployments(body).unwrap();
        let d = &parsed.value[0];
        assert_eq!(d.id, None);
        assert_eq!(d.status, DeployStatus::Success);
        let fields: Vec<&str> = parsed.warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(fields, ["[0].received_time", "[0].complete"]);
    }

    /// A Flex Consumption record as azure-dev#3658 shows its fields: status 5, `remoteBuild`
    /// and `build_summary`. Any spelling and any value of `remoteBuild` marks the record;
    /// `build_summary` alone does not.
    #[test]
    fn flex_consumption_records_are_marked_by_their_build_fields() {
        let body = r#"[
          {"id":"a1","status":5,"status_text":"","remoteBuild":true,
           "build_summary":{"errors":[],"warnings":[]},"received_time":"2026-11-26T11:00:00Z"},
          {"id":"a2","status":4,"RemoteBuild":null},
          {"id":"a3","status":4,"remote_build":false},
          {"id":"a4","status":4,"build_summary":{"errors":[]}}
        ]"#;
        let parsed = parse_deployments(body).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let marked: Vec<bool> = parsed.value.iter().map(|d| d.flex_fields).collect();
        assert_eq!(marked, [true, true, true, false]);
        assert_eq!(parsed.value[0].status, DeployStatus::Conflict);
        let kudu = parse_deployments(LINUX_LIST).unwrap().value;
        assert!(kudu.iter().all(|d| !d.flex_fields));
    }

    #[test]
    fn unusable_replies_name_the_field() {
        assert_eq!(parse_deployments("42").unwrap_err().field, "record");
        assert_eq!(parse_deployments("{}").unwrap_err().field, "status");
        assert_eq!(parse_deployments("").unwrap_err().field, "body");
        assert_eq!(parse_deployments("[]").unwrap().value, vec![]);
    }
}
