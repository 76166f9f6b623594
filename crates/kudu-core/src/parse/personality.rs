//! Linux or Windows, read off the replies only.
//!
//! Evidence for Linux: VFS physical paths under `/home/` (in listings, or in a VFS 404's
//! message), an `/api/isdeploying` answer with a value (only KuduLite has the route). Evidence
//! for Windows: VFS paths like `D:\home\`, Kudu-W's `No route registered` 404 for
//! `isdeploying`, a `provisioningState` on a deployment (only Kudu-W writes it). No evidence,
//! or evidence both ways, is [`Personality::Unknown`]: a wrong guess would plan the wrong fix
//! (deleting files does not release a Windows lock).

use crate::model::{Personality, VfsEntry};
use crate::session::{Observed, Session};

/// See [`Session::personality`].
pub fn detect_personality(session: &Session) -> Personality {
    // Flex Consumption runs on Linux only; its SCM host may answer unserved routes with a 404
    // that reads like Kudu-W's (`No route registered`), so its records decide.
    if crate::diagnose::facts::predicates::flex_consumption_record(session).is_some() {
        return Personality::Linux;
    }
    let mut votes = Vec::new();
    listing_evidence(&session.locks_dir, &mut votes);
    listing_evidence(&session.deployments_dir, &mut votes);
    listing_evidence(&session.wwwroot_dir, &mut votes);
    if session.is_deploying.value().is_some() {
        votes.push(Personality::Linux);
    }
    if session.is_deploying_no_route {
        votes.push(Personality::Windows);
    }
    votes.extend(session.os_hints.iter().map(|(_, os)| *os));
    let mut records = session.deployments.value().into_iter().flatten();
    let latest = session.latest.value().and_then(|l| l.deployment.as_ref());
    if records.any(|d| d.provisioning_state.is_some())
        || latest.is_some_and(|d| d.provisioning_state.is_some())
    {
        votes.push(Personality::Windows);
    }
    let linux = votes.contains(&Personality::Linux);
    let windows = votes.contains(&Personality::Windows);
    match (linux, windows) {
        (true, false) => Personality::Linux,
        (false, true) => Personality::Windows,
        _ => Personality::Unknown,
    }
}

/// Linux for `/...`, Windows for `X:\...` (or `X:/...`), otherwise nothing.
pub(crate) fn path_personality(path: &str) -> Option<Personality> {
    let bytes = path.as_bytes();
    if path.starts_with('/') {
        Some(Personality::Linux)
    } else if bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes[2] == b'\\' || bytes[2] == b'/')
    {
        Some(Personality::Windows)
    } else {
        None
    }
}

fn listing_evidence(listing: &Observed<Vec<VfsEntry>>, votes: &mut Vec<Personality>) {
    if let Some(entries) = listing.value() {
        votes.extend(
            entries
                .iter()
                .filter_map(|e| e.physical_path.as_deref())
                .filter_map(path_personality),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::{HttpReply, ReadId};

    fn ok(body: &str) -> HttpReply {
        HttpReply {
            status: 200,
            content_type: Some("application/json".into()),
            body: body.into(),
            ..HttpReply::default()
        }
    }

    /// A Flex Consumption app's SCM host may answer `isdeploying` with Kudu-W's words; its
    /// records say it is Linux.
    #[test]
    fn a_flex_consumption_record_is_linux_whatever_the_404s_say() {
        let mut s = Session::new();
        s.ingest(
            &ReadId::IsDeploying,
            "/api/isdeploying",
            &HttpReply {
                status: 404,
                content_type: Some("application/json".into()),
                body: r#""No route registered for '/api/isdeploying'""#.into(),
                ..HttpReply::default()
            },
        );
        assert_eq!(s.personality(), Personality::Windows);
        s.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &ok(r#"[{"id":"a1","status":5,"remoteBuild":true}]"#),
        );
        assert_eq!(s.personality(), Personality::Linux);
    }

    #[test]
    fn no_evidence_is_unknown() {
        assert_eq!(Session::new().personality(), Personality::Unknown);
    }

    #[test]
    fn linux_from_vfs_paths_and_isdeploying() {
        let mut s = Session::new();
        s.ingest(
            &ReadId::LocksDir,
            "/api/vfs/site/locks/",
            &ok(r#"[{"name":"status.lock","path":"/home/site/locks/status.lock"}]"#),
        );
        assert_eq!(s.personality(), Personality::Linux);
        let mut s = Session::new();
        s.ingest(
            &ReadId::IsDeploying,
            "/api/isdeploying",
            &ok(r#"{"value":"False","msg":""}"#),
        );
        assert_eq!(s.personality(), Personality::Linux);
    }

    #[test]
    fn windows_from_paths_route_and_provisioning_state() {
        let mut s = Session::new();
        s.ingest(
            &ReadId::WwwrootDir,
            "/api/vfs/site/wwwroot/",
            &ok(r#"[{"name":"web.config","path":"C:\\home\\site\\wwwroot\\web.config"}]"#),
        );
        assert_eq!(s.personality(), Personality::Windows);

        let mut s = Session::new();
        let not_found = HttpReply {
            status: 404,
            body: "\"No route registered for '/api/isdeploying'\"".into(),
            ..HttpReply::default()
        };
        s.ingest(&ReadId::IsDeploying, "/api/isdeploying", &not_found);
        assert_eq!(s.is_deploying, Observed::Missing);
        assert_eq!(s.personality(), Personality::Windows);

        let mut s = Session::new();
        s.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &ok(r#"[{"id":"a","status":4,"provisioningState":"Succeeded"}]"#),
        );
        assert_eq!(s.personality(), Personality::Windows);
    }

    #[test]
    fn vfs_not_found_messages_name_the_os() {
        let mut s = Session::new();
        let windows = HttpReply {
            status: 404,
            body: r#"{"Message":"'D:\\home\\site\\locks\\deployment\\info.lock' not found."}"#
                .into(),
            ..HttpReply::default()
        };
        s.ingest(
            &ReadId::InfoLock,
            "/api/vfs/site/locks/deployment/info.lock",
            &windows,
        );
        assert_eq!(s.info_lock, Observed::Missing);
        assert_eq!(s.personality(), Personality::Windows);

        let linux = HttpReply {
            status: 404,
            body: "'/home/site/locks/deployment/info.lock' not found.".into(),
            ..HttpReply::default()
        };
        s.ingest(
            &ReadId::InfoLock,
            "/api/vfs/site/locks/deployment/info.lock",
            &linux,
        );
        assert_eq!(s.os_hints.len(), 1, "a re-read replaces its hint");
        assert_eq!(s.personality(), Personality::Linux);
    }

    #[test]
    fn a_plain_404_is_not_evidence_and_conflicts_are_unknown() {
        let mut s = Session::new();
        let not_found = HttpReply {
            status: 404,
            ..HttpReply::default()
        };
        s.ingest(&ReadId::IsDeploying, "/api/isdeploying", &not_found);
        assert_eq!(s.personality(), Personality::Unknown);
        s.ingest(
            &ReadId::LocksDir,
            "/api/vfs/site/locks/",
            &ok(r#"[{"name":"a","path":"/home/site/locks/a"}]"#),
        );
        s.ingest(
            &ReadId::WwwrootDir,
            "/api/vfs/site/wwwroot/",
            &ok(r#"[{"name":"b","path":"D:\\home\\site\\wwwroot\\b"}]"#),
        );
        assert_eq!(s.personality(), Personality::Unknown);
    }
}
