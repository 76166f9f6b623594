//! 409 bodies. Kudu-W sends plain text (`StringContent`) or an HttpError `{"Message": ...}`;
//! KuduLite sends plain text, or a JSON-quoted string when the request asked for JSON. All
//! are reduced to the bare message, then classified by Kudu's own resource strings.

use super::json::Value;

use super::loose_json::one_line;
use super::sign_in::looks_like_html;
use super::{ParseError, Parsed};
use crate::model::{Conflict, ConflictKind};

/// A 409 body. An empty body is a conflict with nothing to say (`unknown`), not an error;
/// only an HTML page is refused.
pub fn parse_conflict(body: &str) -> Result<Parsed<Conflict>, ParseError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    if looks_like_html(None, trimmed) {
        return Err(ParseError::new(
            "body",
            "an HTML page, not a Kudu message (the session has probably expired)",
        ));
    }
    let message = message_text(trimmed);
    Ok(Parsed {
        value: classify(&message),
        warnings: Vec::new(),
    })
}

/// The human message inside an error body: unquoted, unwrapped from `{"Message": ...}`,
/// `{"ExceptionMessage": ...}` or ARM's `{"error": {"message": ...}}`; otherwise the text.
pub fn message_text(body: &str) -> String {
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    match super::json::parse(trimmed) {
        Ok(Value::String(text)) => text.trim().to_string(),
        Ok(Value::Object(map)) => {
            let field = |name: &str| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().to_string())
            };
            let nested = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("error"))
                .and_then(|(_, v)| v.as_object())
                .and_then(|error| {
                    error
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("message"))
                        .and_then(|(_, v)| v.as_str())
                        .map(|s| s.trim().to_string())
                });
            field("ExceptionMessage")
                .filter(|m| m.contains("operation conflicts with"))
                .or_else(|| field("Message"))
                .or_else(|| field("ExceptionMessage"))
                .or(nested)
                .unwrap_or_else(|| trimmed.to_string())
        }
        _ => trimmed.to_string(),
    }
}

/// Names the kind of conflict and pulls out the operations of a lock-conflict message.
pub fn classify(message: &str) -> Conflict {
    let lower = message.to_ascii_lowercase();
    let mut conflict = Conflict {
        kind: ConflictKind::Unknown,
        operation: None,
        holder_operation: None,
        since: None,
        message: message.to_string(),
    };
    if let Some((operation, holder, since)) = operation_conflict_parts(message) {
        conflict.kind = ConflictKind::OperationConflict;
        conflict.operation = operation;
        conflict.holder_operation = holder;
        conflict.since = since;
    } else if lower.contains("another operation is in progress") {
        conflict.kind = ConflictKind::SiteOperationInProgress;
        conflict.holder_operation = arm_operation_name(message);
    } else if lower.contains("no available instances") {
        conflict.kind = ConflictKind::NoAvailableInstances;
    } else if (lower.contains("deployment with id") && lower.contains("exists"))
        || lower.contains("deploymentidexists")
    {
        conflict.kind = ConflictKind::DeploymentIdExists;
    } else if lower.contains("failed to acquire deployment lock")
        || lower.contains("deploymentlockfailed")
    {
        conflict.kind = ConflictKind::DeploymentLockFailed;
    } else if lower.contains("deployment currently in progress") {
        conflict.kind = ConflictKind::DeploymentInProgress;
    } else if lower.contains("run-from-zip")
        || lower.contains("website_run_from_package")
        || lower.contains("website_use_zip")
        || lower.contains("run from package")
    {
        conflict.kind = ConflictKind::RunFromPackageUrl;
    } else if lower.contains("auto swap") || lower.contains("autoswap") {
        conflict.kind = ConflictKind::AutoswapInProgress;
    }
    conflict
}

/// The longest pasted text kept: an error message with its details, not a whole build log.
pub const PASTED_MAX_CHARS: usize = 4_000;

/// An error text the user pasted (a CI log's lines, a JSON body, a portal toast), classified
/// like a 409 body: the message inside JSON when there is one, else the text itself. Never
/// fails; a page of HTML or a log with no known text is `unknown`, with the text kept (cut to
/// [`PASTED_MAX_CHARS`]) so the user sees what was read.
pub fn classify_pasted(text: &str) -> Conflict {
    let text: String = text
        .trim_start_matches('\u{feff}')
        .trim()
        .chars()
        .take(PASTED_MAX_CHARS)
        .collect();
    let inner = classify(&message_text(&text));
    if inner.kind != ConflictKind::Unknown {
        return inner;
    }
    // A log line around a JSON body (`ERROR: {"Code":"Conflict",...}`): look at the whole text.
    let mut whole = classify(&text);
    whole.message = text;
    whole
}

/// ARM's `... Details: Id: ..., OperationName: SwapSiteSlots, CreatedTime: ...` → the operation.
fn arm_operation_name(message: &str) -> Option<String> {
    const KEY: &str = "operationname:";
    let at = message.to_ascii_lowercase().find(KEY)?;
    let rest = message.get(at + KEY.len()..)?;
    let name = rest
        .trim_start()
        .split(|c: char| c == ',' || c == ';' || c == '"' || c.is_whitespace())
        .next()?;
    let name = one_line(name, 80);
    (!name.is_empty()).then_some(name)
}

type ConflictParts = (Option<String>, Option<String>, Option<String>);

/// `The 'X' operation conflicts with the pending 'Y' operation started at T.  Please retry
/// operation later.` → (X, Y, T). `unknown` holder or time (KuduLite, unreadable lock info)
/// becomes `None`.
fn operation_conflict_parts(message: &str) -> Option<ConflictParts> {
    const MIDDLE: &str = "' operation conflicts with the pending '";
    const HOLDER_END: &str = "' operation started at ";
    let middle_at = message.find(MIDDLE)?;
    let before = &message[..middle_at];
    let operation = before
        .rfind("The '")
        .map(|start| &before[start + "The '".len()..])
        .or_else(|| before.rfind('\'').map(|start| &before[start + 1..]));
    let after_middle = &message[middle_at + MIDDLE.len()..];
    let (holder, since) = match after_middle.find(HOLDER_END) {
        Some(end) => {
            let since_text = &after_middle[end + HOLDER_END.len()..];
            let since_text = match since_text.find("Please retry") {
                Some(cut) => &since_text[..cut],
                None => since_text,
            };
            let since_text = since_text.trim_end();
            let since_text = since_text.strip_suffix('.').unwrap_or(since_text).trim();
            (Some(&after_middle[..end]), Some(since_text))
        }
        None => (after_middle.split('\'').next(), None),
    };
    let known = |s: Option<&str>| {
        s.map(|s| one_line(s, 200))
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("unknown"))
    };
    Some((known(operation), known(holder), known(since)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATION_CONFLICT: &str = "The 'Preparing zip package' operation conflicts with the pending 'Performing continuous deployment' operation started at 2024-05-01T12:03:10.1234567Z.  Please retry operation later.";

    #[test]
    fn windows_plain_text_operation_conflict() {
        let c = parse_conflict(OPERATION_CONFLICT).unwrap().value;
        assert_eq!(c.kind, ConflictKind::OperationConflict);
        assert_eq!(c.operation.as_deref(), Some("Preparing zip package"));
        assert_eq!(
            c.holder_operation.as_deref(),
            Some("Performing continuous deployment")
        );
        assert_eq!(c.since.as_deref(), Some("2024-05-01T12:03:10.1234567Z"));
        assert_eq!(c.message, OPERATION_CONFLICT);
    }

    #[test]
    fn quoted_and_wrapped_bodies() {
        let quoted = serde_json::to_string(OPERATION_CONFLICT).unwrap();
        assert_eq!(
            parse_conflict(&quoted).unwrap().value.message,
            OPERATION_CONFLICT
        );
        let http_error = format!(r#"{{"Message":{quoted}}}"#);
        assert_eq!(
            parse_conflict(&http_error).unwrap().value.message,
            OPERATION_CONFLICT
        );
        let exception = format!(
            r#"{{"Message":"An error has occurred.","ExceptionMessage":{quoted},"StackTrace":null}}"#
        );
        let c = parse_conflict(&exception).unwrap().value;
        assert_eq!(c.kind, ConflictKind::OperationConflict);
    }

    #[test]
    fn kudu_resource_strings() {
        let cases = [
            (
                "\"There is a deployment currently in progress. Please try again when it completes.\"",
                ConflictKind::DeploymentInProgress,
            ),
            (
                "Run-From-Zip is set to a remote URL using WEBSITE_RUN_FROM_PACKAGE or WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration.",
                ConflictKind::RunFromPackageUrl,
            ),
            (
                "There is an auto swap deployment currently ongoing please try again when it completes.",
                ConflictKind::AutoswapInProgress,
            ),
            ("Conflict", ConflictKind::Unknown),
            ("", ConflictKind::Unknown),
        ];
        for (body, kind) in cases {
            assert_eq!(parse_conflict(body).unwrap().value.kind, kind, "{body}");
        }
    }

    #[test]
    fn kudulite_unknown_holder() {
        let c = classify(
            "The 'Getting deployment status' operation conflicts with the pending 'unknown' operation started at unknown.  Please retry operation later.",
        );
        assert_eq!(c.kind, ConflictKind::OperationConflict);
        assert_eq!(c.operation.as_deref(), Some("Getting deployment status"));
        assert_eq!(c.holder_operation, None);
        assert_eq!(c.since, None);
    }

    #[test]
    fn conflicts_from_outside_kudu_and_azure_clis_texts() {
        let cases = [
            (
                "Cannot modify this site because another operation is in progress. Details: Id: 4e8e1f2a-0000-4000-8000-000000000000, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM, RequestId: 0f0f, EntityType: 3",
                ConflictKind::SiteOperationInProgress,
                Some("SwapSiteSlots"),
            ),
            (
                r#"{"error":{"code":"Conflict","message":"Cannot modify this site because another operation is in progress. Details: Id: 1, OperationName: StopContainerAppOperation, CreatedTime: x"}}"#,
                ConflictKind::SiteOperationInProgress,
                Some("StopContainerAppOperation"),
            ),
            (
                "Cannot modify this site because another operation is in progress.",
                ConflictKind::SiteOperationInProgress,
                None,
            ),
            (
                "No available instances to satisfy this request. App Service is attempting to increase capacity. Please retry your request shortly.",
                ConflictKind::NoAvailableInstances,
                None,
            ),
            (
                "Failed to acquire deployment lock",
                ConflictKind::DeploymentLockFailed,
                None,
            ),
            (
                "Deployment with id '6b1f0d9e' exists",
                ConflictKind::DeploymentIdExists,
                None,
            ),
        ];
        for (body, kind, operation) in cases {
            let c = parse_conflict(body).unwrap().value;
            assert_eq!(c.kind, kind, "{body}");
            assert_eq!(c.holder_operation.as_deref(), operation, "{body}");
        }
    }

    #[test]
    fn pasted_text_is_classified_whole_or_by_its_message() {
        let ci_log = "Run azure/webapps-deploy@v3\nERROR: Status Code: 409, Details: {\"Code\":\"Conflict\",\"Message\":\"Cannot modify this site because another operation is in progress. Details: Id: 1, OperationName: Create, CreatedTime: x\"}\n";
        let c = classify_pasted(ci_log);
        assert_eq!(c.kind, ConflictKind::SiteOperationInProgress);
        assert_eq!(c.holder_operation.as_deref(), Some("Create"));
        let c = classify_pasted(
            "Error: Failed to deploy web package to App Service.\nConflict (CODE: 409)",
        );
        assert_eq!(c.kind, ConflictKind::Unknown);
        assert!(c.message.contains("CODE: 409"));
        let c = classify_pasted(&"x".repeat(PASTED_MAX_CHARS * 3));
        assert_eq!(c.message.chars().count(), PASTED_MAX_CHARS);
        assert_eq!(
            classify_pasted("<html>Sign in</html>").kind,
            ConflictKind::Unknown
        );
        assert_eq!(classify_pasted("").kind, ConflictKind::Unknown);
    }

    #[test]
    fn kind_ids_are_the_names_json_shows() {
        for kind in [
            ConflictKind::DeploymentInProgress,
            ConflictKind::OperationConflict,
            ConflictKind::RunFromPackageUrl,
            ConflictKind::AutoswapInProgress,
            ConflictKind::SiteOperationInProgress,
            ConflictKind::NoAvailableInstances,
            ConflictKind::DeploymentLockFailed,
            ConflictKind::DeploymentIdExists,
            ConflictKind::Unknown,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn html_is_refused() {
        assert_eq!(
            parse_conflict("<html><body>Sign in</body></html>")
                .unwrap_err()
                .field,
            "body"
        );
    }
}
