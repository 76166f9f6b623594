//! Lock files read through VFS.
//!
//! KuduLite's deployment lock, `site/locks/deployment/info.lock`, is
//! `{"lockExpiry","heldByPID","heldByTID","heldByOp","heldByWorker"}` with an expiry 1500 s
//! after the lock was taken. Kudu's `LockFile` (Windows `deployments.lock`, and `status.lock`
//! on both) writes `{"OperationName","AcquiredDateTime","StackTrace","InstanceId"}` instead;
//! both shapes are read.

use super::json::Value;

use super::loose_json::{Record, kind_of, parse_body, unwrap_record};
use super::{FieldWarning, ParseError, Parsed};
use crate::model::LockInfo;

/// KuduLite's `defaultLockTimeout`: a deployment lock expires this long after it was taken.
pub const LINUX_LOCK_TIMEOUT_SECS: i64 = 1500;

/// A lock file. An empty file is a lock with nothing known about it (KuduLite treats it as
/// expired), returned with a warning.
pub fn parse_lock(body: &str) -> Result<Parsed<LockInfo>, ParseError> {
    if body.trim_start_matches('\u{feff}').trim().is_empty() {
        return Ok(Parsed {
            value: LockInfo {
                holder_operation: None,
                worker: None,
                pid: None,
                acquired: None,
                expires: None,
            },
            warnings: vec![FieldWarning {
                field: "body".into(),
                problem: "the lock file is empty (KuduLite treats an empty lock as expired)".into(),
            }],
        });
    }
    let value = parse_body(body)?;
    let inner = unwrap_record(&value);
    let Value::Object(map) = inner else {
        return Err(ParseError::new(
            "body",
            format!("expected a lock object, got {}", kind_of(inner)),
        ));
    };
    let record = Record::new(map, "");
    let mut warnings = Vec::new();
    let expires = record.instant(&["lockExpiry"], &mut warnings);
    let acquired = record
        .instant(&["AcquiredDateTime"], &mut warnings)
        .or_else(|| expires.map(|e| e.plus_secs(-LINUX_LOCK_TIMEOUT_SECS)));
    let lock = LockInfo {
        holder_operation: record
            .text(&["heldByOp", "OperationName"], &mut warnings)
            .filter(|s| !s.is_empty()),
        worker: record
            .text(&["heldByWorker", "InstanceId"], &mut warnings)
            .filter(|s| !s.is_empty()),
        pid: record.integer(&["heldByPID"], &mut warnings),
        acquired,
        expires,
    };
    if lock
        == (LockInfo {
            holder_operation: None,
            worker: None,
            pid: None,
            acquired: None,
            expires: None,
        })
    {
        return Err(ParseError::new(
            "lockExpiry",
            "missing, and no other lock field (heldByOp, OperationName, ...) either",
        ));
    }
    Ok(Parsed {
        value: lock,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn kudulite_info_lock() {
        let body = r#"{"lockExpiry":"2024-05-01T12:28:10.1234567Z","heldByPID":87,"heldByTID":12,
            "heldByOp":"Performing continuous deployment","heldByWorker":"a1b2c3d4e5f6"}"#;
        let parsed = parse_lock(body).unwrap();
        assert!(parsed.warnings.is_empty());
        let lock = parsed.value;
        assert_eq!(
            lock.holder_operation.as_deref(),
            Some("Performing continuous deployment")
        );
        assert_eq!(lock.worker.as_deref(), Some("a1b2c3d4e5f6"));
        assert_eq!(lock.pid, Some(87));
        assert_eq!(
            lock.expires,
            Timestamp::parse_rfc3339("2024-05-01T12:28:10.123Z")
        );
        assert_eq!(
            lock.acquired,
            Timestamp::parse_rfc3339("2024-05-01T12:03:10.123Z")
        );
    }

    #[test]
    fn lock_file_shape_of_status_lock() {
        let body = "{\r\n  \"OperationName\": \"Getting deployment status\",\r\n  \
            \"AcquiredDateTime\": \"2024-05-01T12:00:00.1234567+00:00\",\r\n  \
            \"StackTrace\": \"   at Kudu.Core...\",\r\n  \"InstanceId\": \"a1b2c3\"\r\n}";
        let lock = parse_lock(body).unwrap().value;
        assert_eq!(
            lock.holder_operation.as_deref(),
            Some("Getting deployment status")
        );
        assert_eq!(
            lock.acquired,
            Timestamp::parse_rfc3339("2024-05-01T12:00:00.123Z")
        );
        assert_eq!(lock.expires, None);
    }

    #[test]
    fn empty_and_useless_lock_files() {
        let parsed = parse_lock("").unwrap();
        assert_eq!(parsed.value.expires, None);
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parse_lock("{}").unwrap_err().field, "lockExpiry");
        assert_eq!(parse_lock("[1]").unwrap_err().field, "body");
        let parsed = parse_lock(r#"{"lockExpiry":"never","heldByOp":"x"}"#).unwrap();
        assert_eq!(parsed.warnings[0].field, "lockExpiry");
    }
}
