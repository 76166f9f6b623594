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
    fn html_is_refused() {
        assert_eq!(
            parse_conflict("<html><body>Sign in</body></html>")
                .unwrap_err()
                .field,
            "body"
        );
    }
}
