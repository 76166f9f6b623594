//! `GET /api/vfs/<dir>/`: an array of `VfsStatEntry` (`name`, `size`, `mtime`, `crtime`, `mime`,
//! `href`, `path`).
//!
//! A directory is recognised by its mime `inode/directory`, or failing that by the trailing
//! slash Kudu puts on directory `href`s. Names are kept exactly as listed: cleanup steps may
//! only ever use a name that came from here.

use super::json::Value;

use super::loose_json::{Body, describe, kind_of, list_item_record, list_items, parse_body_lazily};
use super::{FieldWarning, ParseError, Parsed};
use crate::model::VfsEntry;

/// A directory listing. Entries without a usable `name` are skipped with a warning.
///
/// A bare array is read one entry at a time (see `parse_body_lazily`): a folder of thousands
/// of leftovers is never held as a JSON tree.
pub fn parse_vfs_listing(body: &str) -> Result<Parsed<Vec<VfsEntry>>, ParseError> {
    let mut warnings = Vec::new();
    let entries = match parse_body_lazily(body)? {
        Body::List(items) => {
            let mut entries = Vec::with_capacity(items.len());
            for (index, item) in items.enumerate() {
                entries.extend(entry_from(index, &item?, &mut warnings));
            }
            entries
        }
        Body::Value(value) => {
            let Some(items) = list_items(&value) else {
                return Err(ParseError::new(
                    "body",
                    format!(
                        "expected a JSON array of directory entries, got {}",
                        kind_of(&value)
                    ),
                ));
            };
            let mut entries = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                entries.extend(entry_from(index, item, &mut warnings));
            }
            entries
        }
    };
    Ok(Parsed {
        value: entries,
        warnings,
    })
}

/// The `index`-th item of a listing, or `None` with a warning saying why it was skipped.
fn entry_from(index: usize, item: &Value, warnings: &mut Vec<FieldWarning>) -> Option<VfsEntry> {
    let record = list_item_record(index, item, "a directory entry", warnings)?;
    let name = match record.get(&["name"]) {
        Some(Value::String(name)) if !name.is_empty() => name.to_string(),
        other => {
            let got = other.map_or_else(|| "nothing".to_string(), describe);
            warnings.push(FieldWarning {
                field: record.field_name(&["name"]),
                problem: format!("expected a non-empty name, got {got}; entry skipped"),
            });
            return None;
        }
    };
    let mime = record.text(&["mime"], warnings).unwrap_or_default();
    let href = record.text(&["href"], warnings).unwrap_or_default();
    let physical_path = record.text(&["path"], warnings).filter(|p| !p.is_empty());
    let is_dir = if mime.is_empty() {
        let href_path = href.split(['?', '#']).next().unwrap_or("");
        href_path.ends_with('/')
            || physical_path
                .as_deref()
                .is_some_and(|p| p.ends_with('/') || p.ends_with('\\'))
    } else {
        mime.eq_ignore_ascii_case("inode/directory")
    };
    let size = match record.integer(&["size"], warnings) {
        Some(n) if n >= 0 => n as u64,
        Some(n) => {
            warnings.push(FieldWarning {
                field: record.field_name(&["size"]),
                problem: format!("negative size {n}; read as 0"),
            });
            0
        }
        None => 0,
    };
    Some(VfsEntry {
        name,
        is_dir,
        size,
        modified: record.instant(&["mtime"], warnings),
        physical_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn linux_locks_listing() {
        let body = r#"[
          {"name":"deployment","size":0,"mtime":"2024-05-01T12:03:10.1234567+00:00",
           "crtime":"2024-05-01T12:03:10.1234567+00:00","mime":"inode/directory",
           "href":"https://x.scm.azurewebsites.net/api/vfs/site/locks/deployment/",
           "path":"/home/site/locks/deployment"},
          {"name":"status.lock","size":1234,"mtime":"2024-04-01T08:00:00.12345+00:00",
           "crtime":"2024-04-01T08:00:00+00:00","mime":"application/octet-stream",
           "href":"https://x.scm.azurewebsites.net/api/vfs/site/locks/status.lock",
           "path":"/home/site/locks/status.lock"}
        ]"#;
        let parsed = parse_vfs_listing(body).unwrap();
        assert!(parsed.warnings.is_empty());
        let [dir, file] = parsed.value.as_slice() else {
            panic!("two entries expected")
        };
        assert!(dir.is_dir && !file.is_dir);
        assert_eq!(file.size, 1234);
        assert_eq!(
            dir.modified,
            Timestamp::parse_rfc3339("2024-05-01T12:03:10.123Z")
        );
        assert_eq!(
            dir.physical_path.as_deref(),
            Some("/home/site/locks/deployment")
        );
    }

    #[test]
    fn windows_listing_without_mime_uses_href() {
        let body = r#"[{"name":"temp-1a2b3c4d","size":"0","mtime":"2024-05-01T05:00:00-07:00",
            "href":"https://x.scm.azurewebsites.net/api/vfs/site/deployments/temp-1a2b3c4d/?a=b",
            "path":"D:\\home\\site\\deployments\\temp-1a2b3c4d"}]"#;
        let parsed = parse_vfs_listing(body).unwrap();
        let entry = &parsed.value[0];
        assert!(entry.is_dir);
        assert_eq!(
            entry.physical_path.as_deref(),
            Some(r"D:\home\site\deployments\temp-1a2b3c4d")
        );
        assert_eq!(
            entry.modified,
            Timestamp::parse_rfc3339("2024-05-01T12:00:00Z")
        );
    }

    #[test]
    fn names_are_kept_exactly_and_bad_entries_skipped() {
        let body = r#"[{"name":"../wwwroot","mime":"inode/directory"},{"name":""},{"size":-4,"name":"x"},null]"#;
        let parsed = parse_vfs_listing(body).unwrap();
        let names: Vec<&str> = parsed.value.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["../wwwroot", "x"]);
        assert_eq!(parsed.value[1].size, 0);
        assert_eq!(parsed.warnings.len(), 3);
    }

    #[test]
    fn a_non_list_is_an_error() {
        let err = parse_vfs_listing(r#"{"Message":"'/home/site/x' not found."}"#).unwrap_err();
        assert_eq!(err.field, "body");
    }
}
