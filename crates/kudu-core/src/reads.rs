//! The reads a diagnosis needs, described as data, and the replies a shell hands back.
//!
//! Every read in [`diagnosis_reads`] is independent of the others, so a shell sends them all at
//! once: one round trip to a diagnosis.

use serde::{Deserialize, Serialize};

/// Settings that change what a 409 means. Read one key at a time: the whole `/api/settings`
/// holds secrets and Kudu Doctor never reads it.
pub const SETTINGS_READ: &[&str] = &[
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_RUN_FROM_ZIP",
    "WEBSITE_USE_ZIP",
    "WEBSITE_SWAP_SLOTNAME",
    "SCM_DEP_LOCK_INVALIDATION_MINS",
    "WEBSITE_RESOURCE_GROUP",
    "WEBSITE_OWNER_NAME",
    "WEBSITE_SITE_NAME",
];

/// What a read is for. Stable across releases; shells key replies by it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "kebab-case")]
pub enum ReadId {
    /// `GET /api/deployments?_=<cache-bust>`.
    Deployments,
    /// `GET /api/deployments/latest?_=<cache-bust>`.
    Latest,
    /// `GET /api/isdeploying` (404 on Windows: that is evidence).
    IsDeploying,
    /// `GET /api/vfs/site/locks/`.
    LocksDir,
    /// `GET /api/vfs/site/locks/deployment/info.lock` (Linux).
    InfoLock,
    /// `GET /api/vfs/site/deployments/`.
    DeploymentsDir,
    /// `GET /api/vfs/site/wwwroot/`.
    WwwrootDir,
    /// `GET /api/vfs/site/deployments/active`: the id of the active deployment, as Kudu wrote
    /// it on the last success (fact sheet §3): what the next deployment's cleanup of wwwroot
    /// relies on, so no plan may delete its folder.
    ActiveFile,
    /// `GET /api/vfs/LogFiles/kudu/trace/`: Kudu's own trace files, one per non-GET request
    /// and one per process start (`_Startup`) and stop; only their names and times are used.
    KuduTraceDir,
    /// `GET /api/settings/<key>`.
    Setting(String),
    /// `GET /api/environment`.
    Environment,
    /// `GET /api/deployments/<id>/log` for one deployment (optional, not on the critical path).
    DeploymentLog(String),
    /// `GET /api/vfs/site/deployments/<id>/log.log`: the deployment's whole log in one read,
    /// every child line included (fact sheet §3.4), where the API needs a second read for the
    /// children of each line.
    DeploymentLogFile(String),
    /// `GET /api/processes` (Windows only: KuduLite answers 400): the site user's processes,
    /// asked for only when a lock holder looks hung on log silence alone.
    Processes,
    /// `GET /api/processes/<id>`: one process's details, CPU time included; the first of the
    /// two reads a holder's liveness is judged from.
    Process(u32),
    /// The same read again, a few seconds later ([`crate::diagnose::PROCESS_SAMPLE_GAP_SECS`]):
    /// CPU time that moved in between shows the build alive.
    ProcessAgain(u32),
}

/// One HTTP request to send, relative to the SCM origin.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Read {
    pub id: ReadId,
    pub method: &'static str,
    /// Starts with `/api/`; percent-encoding already applied.
    pub path: String,
    /// Extra headers (for example `Accept: application/json`).
    pub headers: Vec<(&'static str, String)>,
}

/// What came back for a read, as the shell saw it.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct HttpReply {
    /// 0 when the request never got an HTTP answer (network error, opaque redirect).
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    /// Headers that matter (`Location`, `Retry-After`, `ETag`), names lower-case.
    pub headers: Vec<(String, String)>,
    /// Set by the shell when the request failed below HTTP (timeout, connection reset).
    pub transport_error: Option<String>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every read of a full diagnosis, all independent. `cache_bust` changes the deployment list's
/// URL so Kudu's ETag cache cannot answer with a list from before a VFS delete (the cache is
/// keyed on the path and query).
pub fn diagnosis_reads(cache_bust: u64) -> Vec<Read> {
    reads_with_cache_bust(&cache_bust.to_string())
}

/// Stands for the cache-busting number in [`diagnosis_read_templates`].
pub const CACHE_BUST_SLOT: &str = "{cacheBust}";

/// [`diagnosis_reads`] with [`CACHE_BUST_SLOT`] where the number goes. A loader that sends the
/// first round before the app has loaded (`extension/content.js`) fills the slot with its own
/// number and hands that number to the app, so both name the same URLs.
pub fn diagnosis_read_templates() -> Vec<Read> {
    reads_with_cache_bust(CACHE_BUST_SLOT)
}

/// [`diagnosis_read_templates`] as a script for the loader: it sets
/// `globalThis.kuduDoctorFirstReads` to a frozen array of `{ path, headers }` (every read is a
/// `GET`; `headers` is an array of `[name, value]`). `cargo xtask dist` writes it into the
/// extension's `loader-config.js`, so the loader's list is always this crate's list.
pub fn first_reads_script() -> String {
    let reads: Vec<String> = diagnosis_read_templates()
        .into_iter()
        .map(|read| {
            debug_assert_eq!(read.method, "GET", "the loader sends only GETs");
            let headers: Vec<String> = read
                .headers
                .iter()
                .map(|(name, value)| format!("[{},{}]", json_string(name), json_string(value)))
                .collect();
            format!(
                "{{\"path\":{},\"headers\":[{}]}}",
                json_string(&read.path),
                headers.join(",")
            )
        })
        .collect();
    let list = format!("[{}]", reads.join(","));
    format!(
        "// Written by `cargo xtask dist` from kudu_core::reads::diagnosis_read_templates: the\n\
         // first-round reads the loader starts before the app has loaded ({CACHE_BUST_SLOT} is its\n\
         // cache-busting number, handed to the app with the replies).\n\
         globalThis.kuduDoctorFirstReads = Object.freeze({list});\n"
    )
}

/// `text` as a JSON string literal (also a JavaScript one).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn reads_with_cache_bust(cache_bust: &str) -> Vec<Read> {
    let json = || vec![("Accept", "application/json".to_string())];
    let get = |id: ReadId, path: String| Read {
        id,
        method: "GET",
        path,
        headers: json(),
    };
    let mut reads = vec![
        get(
            ReadId::Deployments,
            format!("/api/deployments?_={cache_bust}"),
        ),
        get(
            ReadId::Latest,
            format!("/api/deployments/latest?_={cache_bust}"),
        ),
        get(ReadId::IsDeploying, "/api/isdeploying".into()),
        get(ReadId::LocksDir, "/api/vfs/site/locks/".into()),
        get(
            ReadId::InfoLock,
            "/api/vfs/site/locks/deployment/info.lock".into(),
        ),
        get(ReadId::DeploymentsDir, "/api/vfs/site/deployments/".into()),
        get(ReadId::WwwrootDir, "/api/vfs/site/wwwroot/".into()),
        get(ReadId::KuduTraceDir, "/api/vfs/LogFiles/kudu/trace/".into()),
        get(
            ReadId::ActiveFile,
            "/api/vfs/site/deployments/active".into(),
        ),
        get(ReadId::Environment, "/api/environment".into()),
    ];
    reads.extend(SETTINGS_READ.iter().map(|key| {
        get(
            ReadId::Setting((*key).to_string()),
            format!("/api/settings/{key}"),
        )
    }));
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loader's list, parsed back out of the script it is given.
    fn loader_list() -> Vec<serde_json::Value> {
        let script = first_reads_script();
        let start = script.find("Object.freeze(").unwrap() + "Object.freeze(".len();
        let end = script.rfind(");").unwrap();
        serde_json::from_str(&script[start..end]).unwrap()
    }

    #[test]
    fn the_loaders_list_is_the_diagnosis_reads_with_its_number_filled_in() {
        let cache_bust = 1_764_150_000_123_u64;
        let reads = diagnosis_reads(cache_bust);
        let listed = loader_list();
        assert_eq!(listed.len(), reads.len());
        for (read, listed) in reads.iter().zip(&listed) {
            let path = listed["path"]
                .as_str()
                .unwrap()
                .replace(CACHE_BUST_SLOT, &cache_bust.to_string());
            assert_eq!(path, read.path);
            assert_eq!(read.method, "GET");
            let headers: Vec<(String, String)> =
                serde_json::from_value(listed["headers"].clone()).unwrap();
            let expected: Vec<(String, String)> = read
                .headers
                .iter()
                .map(|(name, value)| ((*name).to_string(), value.clone()))
                .collect();
            assert_eq!(headers, expected);
        }
    }

    #[test]
    fn json_strings_escape_what_json_and_javascript_need() {
        let text = "a\"b\\c\nd\u{2028}e";
        let literal = json_string(text);
        assert_eq!(literal, r#""a\"b\\c\u000ad\u2028e""#);
        assert_eq!(serde_json::from_str::<String>(&literal).unwrap(), text);
    }

    #[test]
    fn the_loader_only_ever_reads_relative_api_paths() {
        for listed in loader_list() {
            let path = listed["path"].as_str().unwrap();
            assert!(path.starts_with("/api/"), "{path}");
            assert!(!path.contains("//") && !path.contains(".."), "{path}");
        }
        assert!(first_reads_script().contains("globalThis.kuduDoctorFirstReads = Object.freeze(["));
    }
}
