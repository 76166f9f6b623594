//! The only paths a cleanup may touch, and the only names it may build them from.
//!
//! A name is used only when it came from a directory listing, matches exactly, and consists of
//! ASCII letters, digits, `-`, `_` and inner dots. That refuses traversal (`..`, `a/../b`),
//! separators of either OS, percent signs that a server could decode twice, control characters,
//! Unicode look-alikes (a Cyrillic `е` in `tеmp-`) and names longer than Kudu ever writes.

use crate::plan::StepRequest;

/// The longest name Kudu writes in these folders is a 40-hex git id; leave room for GUIDs.
pub const MAX_NAME_LEN: usize = 64;

/// Why a listed name cannot be used in a request, or `Ok` when it can.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("the name is longer than any Kudu writes");
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters");
    }
    if !name.is_ascii() {
        return Err("the name contains non-ASCII characters (possibly a look-alike)");
    }
    if name.contains(['/', '\\']) {
        return Err("the name contains a path separator");
    }
    if name.contains('%') {
        return Err("the name contains '%', which a server could decode into something else");
    }
    if name.starts_with('.') || name.ends_with('.') {
        return Err("the name starts or ends with a dot (`..` climbs out of the folder)");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("the name contains characters Kudu never uses in these folders");
    }
    Ok(())
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass through).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The folders a cleanup may read or delete in, relative to HOME.
pub const LOCKS_DIR: &str = "site/locks/";
pub const DEPLOYMENTS_DIR: &str = "site/deployments/";

/// KuduLite's lock file under [`LOCKS_DIR`]: releasing the Linux lock deletes this file, not
/// its folder (an empty `deployment/` does not block: `IsHeld` is false without `info.lock`,
/// kudu-facts §2.3), so the delete can carry the ETag the run read (§4.4).
pub const LINUX_LOCK_FILE: &str = "deployment/info.lock";

/// The `If-Match` value a plan writes for the Linux lock's release: the plan cannot know the
/// ETag, so the cleanup run replaces this with the ETag of its latest read of `info.lock` when
/// it sends the step, and sends nothing when it read none. Sent as it is, it matches no ETag,
/// so Kudu would refuse the delete.
pub const IF_MATCH_FROM_RECHECK: &str = "<ETag of info.lock from the re-check>";

/// Whether a step's request stays inside the allow-list: zip backups of the two folders, VFS
/// deletes of one checked name directly inside them or of KuduLite's `info.lock`, the two
/// Windows process restarts, and the verify reads.
pub fn is_allowed(request: &StepRequest) -> bool {
    let path = request.path.as_str();
    if request.method == "DELETE"
        && path
            .strip_prefix("/api/vfs/")
            .and_then(|p| p.strip_prefix(LOCKS_DIR))
            == Some(LINUX_LOCK_FILE)
    {
        return true;
    }
    match request.method {
        "GET" => matches!(
            path,
            "/api/zip/site/locks/"
                | "/api/zip/site/deployments/"
                | "/api/isdeploying"
                | "/api/vfs/site/locks/"
                | "/api/vfs/site/deployments/"
        ),
        "DELETE" => {
            if matches!(path, "/api/processes/0" | "/api/processes/-1") {
                return true;
            }
            [LOCKS_DIR, DEPLOYMENTS_DIR].iter().any(|dir| {
                let Some(rest) = path
                    .strip_prefix("/api/vfs/")
                    .and_then(|p| p.strip_prefix(dir))
                else {
                    return false;
                };
                let name = rest.strip_suffix("/?recursive=true").unwrap_or(rest);
                check_name(name).is_ok()
            })
        }
        _ => false,
    }
}

/// The listed name a delete request targets, with its folder (for checks and tests).
pub fn delete_target(request: &StepRequest) -> Option<(&'static str, &str)> {
    if request.method != "DELETE" {
        return None;
    }
    for dir in [LOCKS_DIR, DEPLOYMENTS_DIR] {
        if let Some(rest) = request
            .path
            .strip_prefix("/api/vfs/")
            .and_then(|p| p.strip_prefix(dir))
        {
            return Some((dir, rest.strip_suffix("/?recursive=true").unwrap_or(rest)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kudu_names_pass() {
        for name in [
            "deployment",
            "status.lock",
            "pending",
            "temp-ab12cd34",
            "3f2a9c1e0b7d4e5f8a6b1c2d3e4f5a6b",
            "b7d2a11c-4f3e-4d2a-9a8b-0c1d2e3f4a5b",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in [
            "",
            ".",
            "..",
            "../wwwroot",
            "temp-x/../..",
            "a\\b",
            "temp-%2e%2e",
            "te\0mp",
            "tеmp-1234",
            "temp-1 2",
            "x.",
            &"a".repeat(65),
        ] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("temp-ab12cd34"), "temp-ab12cd34");
        assert_eq!(encode_segment("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn only_the_allow_list_passes() {
        let req = |method, path: &str| StepRequest {
            method,
            path: path.into(),
            headers: vec![],
        };
        assert!(is_allowed(&req(
            "DELETE",
            "/api/vfs/site/locks/deployment/?recursive=true"
        )));
        assert!(is_allowed(&req(
            "DELETE",
            "/api/vfs/site/locks/deployment/info.lock"
        )));
        assert!(!is_allowed(&req(
            "DELETE",
            "/api/vfs/site/locks/deployment/other.lock"
        )));
        assert!(!is_allowed(&req(
            "DELETE",
            "/api/vfs/site/deployments/deployment/info.lock"
        )));
        assert!(is_allowed(&req(
            "DELETE",
            "/api/vfs/site/deployments/pending"
        )));
        assert!(is_allowed(&req("DELETE", "/api/processes/-1")));
        assert!(!is_allowed(&req(
            "DELETE",
            "/api/vfs/site/wwwroot/index.js"
        )));
        assert!(!is_allowed(&req(
            "DELETE",
            "/api/vfs/site/deployments/../wwwroot/?recursive=true"
        )));
        assert!(!is_allowed(&req("DELETE", "/api/vfs/site/deployments/")));
        assert!(!is_allowed(&req("DELETE", "/api/processes/1234")));
        assert!(!is_allowed(&req("POST", "/api/command")));
    }
}
