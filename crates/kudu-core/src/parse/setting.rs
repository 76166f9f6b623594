//! `GET /api/settings/<key>`: the value as a JSON string (`"1"`,
//! `"https://.../app.zip?sv=..."`). 404 (`The setting '<key>' does not exist.`) is handled by
//! the caller as "not set".

use super::json::Value;

use super::loose_json::kind_of;
use super::sign_in::looks_like_html;
use super::{FieldWarning, ParseError, Parsed};

/// What a settings reply said: the key when the body names it, and the value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SettingReply {
    pub key: Option<String>,
    /// `None` for a JSON `null`.
    pub value: Option<String>,
}

/// A setting value. A JSON string is the normal shape; numbers and booleans are turned into
/// text; `{"KEY": "value"}` (one pair) and `{"key": ..., "value": ...}` are read too. A body
/// that is not JSON at all is taken as the raw value, with a warning.
pub fn parse_setting(body: &str) -> Result<Parsed<SettingReply>, ParseError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    if looks_like_html(None, trimmed) {
        return Err(ParseError::new(
            "body",
            "an HTML page where JSON was expected (the session has probably expired)",
        ));
    }
    let value = match super::json::parse(trimmed) {
        Ok(value) => value,
        Err(_) if !trimmed.is_empty() => {
            return Ok(Parsed {
                value: SettingReply {
                    key: None,
                    value: Some(trimmed.to_string()),
                },
                warnings: vec![FieldWarning {
                    field: "body".into(),
                    problem: "not JSON; the text is taken as the value".into(),
                }],
            });
        }
        Err(_) => return Err(ParseError::new("body", "empty, expected a JSON string")),
    };
    let reply = match &value {
        Value::Object(map) => {
            let lookup = |name: &str| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
            if let Some((_, v)) = lookup("value") {
                let key = lookup("key")
                    .or_else(|| lookup("name"))
                    .and_then(|(_, k)| k.as_str())
                    .map(str::to_string);
                SettingReply {
                    key,
                    value: scalar_text(v, "value")?,
                }
            } else if map.len() == 1 {
                let Some((key, v)) = map.iter().next() else {
                    return Err(ParseError::new("value", "missing"));
                };
                SettingReply {
                    key: Some(key.to_string()),
                    value: scalar_text(v, key)?,
                }
            } else {
                return Err(ParseError::new(
                    "value",
                    format!(
                        "expected a JSON string, got an object with {} fields",
                        map.len()
                    ),
                ));
            }
        }
        other => SettingReply {
            key: None,
            value: scalar_text(other, "value")?,
        },
    };
    Ok(Parsed {
        value: reply,
        warnings: Vec::new(),
    })
}

fn scalar_text(value: &Value, field: &str) -> Result<Option<String>, ParseError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(ParseError::new(
            field,
            format!("expected a JSON string, got {}", kind_of(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(body: &str) -> Option<String> {
        parse_setting(body).unwrap().value.value
    }

    #[test]
    fn json_string_values() {
        assert_eq!(value_of("\"1\"").as_deref(), Some("1"));
        assert_eq!(
            value_of("\"https://acct.blob.core.windows.net/c/app.zip?sv=2020\"").as_deref(),
            Some("https://acct.blob.core.windows.net/c/app.zip?sv=2020")
        );
        assert_eq!(value_of("null"), None);
        assert_eq!(value_of("0").as_deref(), Some("0"));
    }

    #[test]
    fn object_shapes() {
        let reply = parse_setting(r#"{"WEBSITE_RUN_FROM_PACKAGE":"1"}"#)
            .unwrap()
            .value;
        assert_eq!(reply.key.as_deref(), Some("WEBSITE_RUN_FROM_PACKAGE"));
        assert_eq!(reply.value.as_deref(), Some("1"));
        let reply = parse_setting(r#"{"key":"WEBSITE_USE_ZIP","value":"0"}"#)
            .unwrap()
            .value;
        assert_eq!(reply.key.as_deref(), Some("WEBSITE_USE_ZIP"));
        assert_eq!(
            parse_setting(r#"{"a":1,"b":2}"#).unwrap_err().field,
            "value"
        );
        assert_eq!(parse_setting("[1]").unwrap_err().field, "value");
    }

    #[test]
    fn plain_text_is_taken_with_a_warning() {
        let parsed = parse_setting("1").unwrap();
        assert_eq!(parsed.value.value.as_deref(), Some("1"));
        let parsed = parse_setting("some text").unwrap();
        assert_eq!(parsed.value.value.as_deref(), Some("some text"));
        assert_eq!(parsed.warnings.len(), 1);
    }

    #[test]
    fn html_and_empty_are_errors() {
        assert_eq!(parse_setting("<html>").unwrap_err().field, "body");
        assert_eq!(parse_setting("").unwrap_err().field, "body");
    }
}
