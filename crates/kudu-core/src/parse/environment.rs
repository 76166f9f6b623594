//! `GET /api/environment`: `{"version":"<Kudu assembly version>"}`, plus `siteLastModified`
//! when the DWAS file exists.

use super::json::Value;

use super::loose_json::{Record, kind_of, parse_body, unwrap_record};
use super::{ParseError, Parsed};
use crate::session::EnvironmentInfo;

/// Kudu's version; an object without one is still usable (the version is only shown).
pub fn parse_environment(body: &str) -> Result<Parsed<EnvironmentInfo>, ParseError> {
    let value = parse_body(body)?;
    let inner = unwrap_record(&value);
    let Value::Object(map) = inner else {
        return Err(ParseError::new(
            "body",
            format!(
                "expected an object with \"version\", got {}",
                kind_of(inner)
            ),
        ));
    };
    let record = Record::new(map, "");
    let mut warnings = Vec::new();
    let version = record
        .text(&["version"], &mut warnings)
        .filter(|v| !v.is_empty());
    Ok(Parsed {
        value: EnvironmentInfo { version },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_extras() {
        let parsed = parse_environment(
            r#"{"version":"106.0.7.0","siteLastModified":"2024-05-01T12:00:00.1234567Z"}"#,
        )
        .unwrap();
        assert_eq!(parsed.value.version.as_deref(), Some("106.0.7.0"));
        assert_eq!(parse_environment("{}").unwrap().value.version, None);
        assert_eq!(parse_environment("[]").unwrap_err().field, "body");
    }
}
