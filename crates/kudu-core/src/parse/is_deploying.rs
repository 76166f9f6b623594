//! `GET /api/isdeploying` (KuduLite only): `{"value":"True","msg":"Deployment Underway"}`.
//!
//! `value` is .NET's `bool.ToString()`, so a capitalised string; a real boolean is accepted
//! too. `msg` is `Deployment Underway`, `Scan Underway` (a malware scan holds the same lock) or
//! empty.

use super::json::Value;

use super::loose_json::{Record, describe, kind_of, parse_body, unwrap_record};
use super::{ParseError, Parsed};
use crate::model::IsDeploying;

/// The lock state KuduLite reports. A reply without a usable `value` is an error.
pub fn parse_is_deploying(body: &str) -> Result<Parsed<IsDeploying>, ParseError> {
    let value = parse_body(body)?;
    let inner = unwrap_record(&value);
    let Value::Object(map) = inner else {
        return Err(ParseError::new(
            "body",
            format!("expected an object with \"value\", got {}", kind_of(inner)),
        ));
    };
    let record = Record::new(map, "");
    let mut warnings = Vec::new();
    let deploying = match record.get(&["value", "isDeploying"]) {
        None => return Err(ParseError::new("value", "missing")),
        Some(v) => match record.flag(&["value", "isDeploying"], &mut warnings) {
            Some(flag) => flag,
            None => {
                return Err(ParseError::new(
                    "value",
                    format!("expected \"True\" or \"False\", got {}", describe(v)),
                ));
            }
        },
    };
    let message = record.text_or_empty(&["msg", "message"], &mut warnings);
    Ok(Parsed {
        value: IsDeploying { deploying, message },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kudulite_strings() {
        let v = parse_is_deploying(r#"{"value":"True","msg":"Deployment Underway"}"#)
            .unwrap()
            .value;
        assert!(v.deploying);
        assert_eq!(v.message, "Deployment Underway");
        let v = parse_is_deploying(r#"{"value":"False","msg":""}"#)
            .unwrap()
            .value;
        assert!(!v.deploying);
        let v = parse_is_deploying(r#"{"value":"True","msg":"Scan Underway"}"#)
            .unwrap()
            .value;
        assert_eq!(v.message, "Scan Underway");
    }

    #[test]
    fn booleans_arm_and_null_message() {
        let v = parse_is_deploying(r#"{"properties":{"value":true,"msg":null}}"#)
            .unwrap()
            .value;
        assert!(v.deploying);
        assert_eq!(v.message, "");
    }

    #[test]
    fn missing_or_odd_value_is_an_error() {
        assert_eq!(
            parse_is_deploying(r#"{"msg":"x"}"#).unwrap_err().field,
            "value"
        );
        assert_eq!(
            parse_is_deploying(r#"{"value":"perhaps"}"#)
                .unwrap_err()
                .field,
            "value"
        );
        assert_eq!(
            parse_is_deploying(r#""No route registered for '/api/isdeploying'""#)
                .unwrap_err()
                .field,
            "body"
        );
    }
}
