//! Reading Kudu's JSON loosely: ARM wrappers, field names in any case, numbers sent as
//! strings, `"True"`/`"False"`, nulls where a value was expected.
//!
//! Every reader here returns what it could use and records a [`FieldWarning`] for what it
//! could not, so one odd field never costs the whole reply.

use super::json::{self, Document, Items, Map, Value};

use super::sign_in::looks_like_html;
use super::{FieldWarning, ParseError};
use crate::time::Timestamp;

/// The JSON value of a body, or why there is none. A UTF-8 byte order mark is skipped
/// (Kudu-W's formatter can emit one).
pub(crate) fn parse_body(body: &str) -> Result<Value<'_>, ParseError> {
    json::parse(json_text(body)?).map_err(not_json)
}

/// What [`parse_body_lazily`] found.
pub(crate) enum Body<'a> {
    /// A bare JSON array (checked whole), its items parsed one at a time.
    List(ListItems<'a>),
    /// Anything else, parsed whole (ARM's `{"value": [...]}` included).
    Value(Value<'a>),
}

/// A checked list body's items, each parsed when asked for; a [`ParseError`] only if the
/// checker and the parser ever disagreed.
pub(crate) struct ListItems<'a>(Items<'a>);

impl<'a> Iterator for ListItems<'a> {
    type Item = Result<Value<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|item| item.map_err(not_json))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for ListItems<'_> {}

/// [`parse_body`] for replies that can be long lists: the same checks and errors, but a bare
/// array never becomes one tree, so a 5,000-record list costs one record's tree at a time.
pub(crate) fn parse_body_lazily(body: &str) -> Result<Body<'_>, ParseError> {
    match json::parse_document(json_text(body)?).map_err(not_json)? {
        Document::List(items) => Ok(Body::List(ListItems(items))),
        Document::Value(value) => Ok(Body::Value(value)),
    }
}

/// The body without a byte order mark or surrounding whitespace, when it can be JSON at all.
fn json_text(body: &str) -> Result<&str, ParseError> {
    let text = body.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(ParseError::new("body", "empty, expected JSON"));
    }
    if looks_like_html(None, text) {
        return Err(ParseError::new(
            "body",
            "an HTML page where JSON was expected (the session has probably expired)",
        ));
    }
    Ok(text)
}

fn not_json(error: json::JsonError) -> ParseError {
    ParseError::new("body", format!("not JSON ({error})"))
}

/// ARM wraps a record as `{"id", "name", "type", "properties": {...}}`; the record is inside.
pub(crate) fn unwrap_record<'v, 't>(value: &'v Value<'t>) -> &'v Value<'t> {
    match value {
        Value::Object(map) => match map.get("properties") {
            Some(inner @ Value::Object(_)) => inner,
            _ => value,
        },
        _ => value,
    }
}

/// The items of a list reply: a bare array, or ARM's `{"value": [...]}`.
pub(crate) fn list_items<'v, 't>(value: &'v Value<'t>) -> Option<&'v Vec<Value<'t>>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(map) => match map.get("value") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// A short, human description of a JSON value's type for warnings.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A key without `_` and `-`, lower-cased, one character at a time.
fn normalised(key: &str) -> impl Iterator<Item = char> + '_ {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
}

/// Whether two keys name one field (`is_temp`, `isTemp`, `IsTemp`). Compared without building
/// the normalised keys: a list of thousands of records looks up its missing fields this way.
fn same_field(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return ascii_normalised(a).eq(ascii_normalised(b));
    }
    normalised(a).eq(normalised(b))
}

/// [`normalised`] byte by byte, for ASCII keys (Kudu's are).
fn ascii_normalised(key: &str) -> impl Iterator<Item = u8> + '_ {
    key.bytes()
        .filter(|b| *b != b'_' && *b != b'-')
        .map(|b| b.to_ascii_lowercase())
}

/// The `index`-th item of a list as a [`Record`] (unwrapped from Kudu's `{"value": …}`
/// envelope), or `None` with a warning that the `what` was skipped because it is no object.
pub(crate) fn list_item_record<'a>(
    index: usize,
    item: &'a Value<'a>,
    what: &str,
    warnings: &mut Vec<FieldWarning>,
) -> Option<Record<'a>> {
    let context = format!("[{index}].");
    let inner = unwrap_record(item);
    let Value::Object(map) = inner else {
        warnings.push(FieldWarning {
            field: format!("{context}entry"),
            problem: format!(
                "expected {what} object, got {}; entry skipped",
                kind_of(inner)
            ),
        });
        return None;
    };
    Some(Record::new(map, context))
}

/// An object's fields, looked up by any of several names and forgiving about case and
/// underscores (`is_temp`, `isTemp` and `IsTemp` are one field).
pub(crate) struct Record<'a> {
    map: &'a Map<'a>,
    /// Prefix for field names in warnings, e.g. `[2].` for the third list item.
    context: String,
}

impl<'a> Record<'a> {
    pub(crate) fn new(map: &'a Map<'a>, context: impl Into<String>) -> Self {
        Record {
            map,
            context: context.into(),
        }
    }

    /// The field's value; `None` when absent. A JSON `null` is returned as `Some(Null)`.
    pub(crate) fn get(&self, names: &[&str]) -> Option<&'a Value<'a>> {
        for name in names {
            if let Some(v) = self.map.get(name) {
                return Some(v);
            }
        }
        self.map
            .iter()
            .find(|(k, _)| names.iter().any(|name| same_field(name, k)))
            .map(|(_, v)| v)
    }

    /// The name used in warnings for the first of `names`.
    pub(crate) fn field_name(&self, names: &[&str]) -> String {
        format!("{}{}", self.context, names.first().copied().unwrap_or(""))
    }

    fn warn(&self, warnings: &mut Vec<FieldWarning>, names: &[&str], problem: String) {
        warnings.push(FieldWarning {
            field: self.field_name(names),
            problem,
        });
    }

    /// A text field. Numbers and booleans are turned into text; null and absent are `None`.
    pub(crate) fn text(&self, names: &[&str], warnings: &mut Vec<FieldWarning>) -> Option<String> {
        match self.get(names)? {
            Value::Null => None,
            Value::String(s) => Some(s.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.warn(
                    warnings,
                    names,
                    format!("expected text, got {}; ignored", kind_of(other)),
                );
                None
            }
        }
    }

    /// A text field where absent or null means the empty string.
    pub(crate) fn text_or_empty(&self, names: &[&str], warnings: &mut Vec<FieldWarning>) -> String {
        self.text(names, warnings).unwrap_or_default()
    }

    /// A flag: JSON booleans, `"True"`/`"False"` in any case, `"1"`/`"0"`, 1/0.
    pub(crate) fn flag(&self, names: &[&str], warnings: &mut Vec<FieldWarning>) -> Option<bool> {
        let value = self.get(names)?;
        let parsed = match value {
            Value::Null => return None,
            Value::Bool(b) => Some(*b),
            Value::String(s) => flag_from_text(s),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.warn(
                warnings,
                names,
                format!("expected true or false, got {}; ignored", describe(value)),
            );
        }
        parsed
    }

    /// A whole number, also from a string (`"5"`) or an integral float (`5.0`).
    pub(crate) fn integer(&self, names: &[&str], warnings: &mut Vec<FieldWarning>) -> Option<i64> {
        let value = self.get(names)?;
        let parsed = match value {
            Value::Null => return None,
            Value::Number(_) | Value::String(_) => integer_from(value),
            _ => None,
        };
        if parsed.is_none() {
            self.warn(
                warnings,
                names,
                format!("expected a whole number, got {}; ignored", describe(value)),
            );
        }
        parsed
    }

    /// An RFC 3339 instant. Null, absent and empty are `None` without a warning (Kudu sends
    /// `null` end times while a deployment runs).
    pub(crate) fn instant(
        &self,
        names: &[&str],
        warnings: &mut Vec<FieldWarning>,
    ) -> Option<Timestamp> {
        let value = self.get(names)?;
        match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => {
                let parsed = Timestamp::parse_rfc3339(s);
                if parsed.is_none() {
                    self.warn(
                        warnings,
                        names,
                        format!("{} is not an RFC 3339 date; ignored", quote_short(s)),
                    );
                }
                parsed
            }
            other => {
                self.warn(
                    warnings,
                    names,
                    format!("expected a date string, got {}; ignored", kind_of(other)),
                );
                None
            }
        }
    }
}

/// `"True"`, `"false"`, `"1"`, `"0"`, `"yes"`, `"no"`.
pub(crate) fn flag_from_text(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A whole number from a JSON number or a numeric string.
pub(crate) fn integer_from(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A value for a warning: short, on one line.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => quote_short(s),
        Value::Array(_) | Value::Object(_) => kind_of(value).to_string(),
        other => other.to_string(),
    }
}

/// `"text"` cut to 60 characters on one line, for messages.
pub(crate) fn quote_short(text: &str) -> String {
    format!("\"{}\"", one_line(text, 60))
}

/// The text on one line (newlines, tabs and the Unicode line and paragraph separators become
/// spaces), cut to `max_chars` with `…`. The separators count because Markdown viewers and
/// terminals break lines on them too.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() > max_chars {
        let cut: String = flat.chars().take(max_chars).collect();
        format!("{cut}…")
    } else {
        flat.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value<'_> {
        json::parse(text).unwrap()
    }

    #[test]
    fn fields_match_across_case_and_underscores() {
        let value = json(r#"{"IsTemp": "True", "received_time": null, "status": "4"}"#);
        let Value::Object(map) = &value else {
            unreachable!()
        };
        let record = Record::new(map, "");
        let mut warnings = Vec::new();
        assert_eq!(record.flag(&["is_temp"], &mut warnings), Some(true));
        assert_eq!(record.instant(&["received_time"], &mut warnings), None);
        assert_eq!(record.integer(&["status"], &mut warnings), Some(4));
        assert!(warnings.is_empty());
    }

    #[test]
    fn odd_values_become_warnings() {
        let value = json(r#"{"complete": "maybe", "status": [1], "end_time": "yesterday"}"#);
        let Value::Object(map) = &value else {
            unreachable!()
        };
        let record = Record::new(map, "[0].");
        let mut warnings = Vec::new();
        assert_eq!(record.flag(&["complete"], &mut warnings), None);
        assert_eq!(record.integer(&["status"], &mut warnings), None);
        assert_eq!(record.instant(&["end_time"], &mut warnings), None);
        let fields: Vec<&str> = warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(fields, ["[0].complete", "[0].status", "[0].end_time"]);
    }

    #[test]
    fn arm_shapes_unwrap() {
        let record = json(r#"{"id": "/subscriptions/x", "properties": {"status": 4}}"#);
        assert_eq!(unwrap_record(&record), &json(r#"{"status": 4}"#));
        let list = json(r#"{"value": [1, 2]}"#);
        assert_eq!(list_items(&list).map(Vec::len), Some(2));
        assert!(list_items(&json(r#"{"values": []}"#)).is_none());
    }

    #[test]
    fn html_and_empty_bodies_are_errors() {
        assert_eq!(parse_body("  ").unwrap_err().field, "body");
        assert!(
            parse_body("<!DOCTYPE html><html>")
                .unwrap_err()
                .problem
                .contains("session")
        );
        assert_eq!(parse_body("\u{feff}[1]").unwrap(), json(r#"[1]"#));
        assert!(looks_like_html(Some("text/html; charset=utf-8"), "{}"));
        assert!(!looks_like_html(Some("application/json"), "{}"));
    }

    #[test]
    fn integers_from_strings_and_floats() {
        assert_eq!(integer_from(&json(r#""-1""#)), Some(-1));
        assert_eq!(integer_from(&json(r#"5.0"#)), Some(5));
        assert_eq!(integer_from(&json(r#"5.5"#)), None);
        assert_eq!(integer_from(&json(r#"1e300"#)), None);
    }
}
