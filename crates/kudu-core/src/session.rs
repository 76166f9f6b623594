//! Collects the replies to [`crate::reads::diagnosis_reads`] as normalised observations.
//!
//! Call order (as quinn-proto documents its own): `Session::new()`, then `ingest` once per
//! reply in any order, then `diagnose(now)` as often as wanted. Ingesting the same read again
//! replaces the earlier observation, which is how a re-check works.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::*;
use crate::reads::{HttpReply, ReadId};
use crate::time::Timestamp;

/// What one read told us.
#[derive(Clone, PartialEq, Debug, Serialize, Default)]
#[serde(tag = "state", content = "value", rename_all = "kebab-case")]
pub enum Observed<T> {
    /// Not read (yet).
    #[default]
    NotRead,
    /// 404: the thing does not exist. Evidence, not an error.
    Missing,
    Value(T),
    /// A login page, 401/403 or a redirect where JSON was expected.
    SessionExpired,
    /// A reply we could not use; `reason` says why in words a user can follow.
    Failed {
        status: u16,
        reason: String,
    },
}

impl<T> Observed<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Observed::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// `/api/deployments/latest`: 202 means something is not finished.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LatestReply {
    pub http_status: u16,
    /// `None` when Kudu answered `{}`: it recycled and holds no current record
    /// (vscode-azuretools `waitForDeploymentToComplete.ts`). An answer, not an unreadable reply.
    pub deployment: Option<Deployment>,
    pub retry_after_secs: Option<u64>,
}

/// `/api/environment`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct EnvironmentInfo {
    pub version: Option<String>,
}

/// A reply that could not be used, or a field that was dropped.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Warning {
    /// The path that was read (`/api/deployments`).
    pub endpoint: String,
    pub reason: String,
}

/// Everything read so far.
#[derive(Clone, PartialEq, Debug, Default, Serialize)]
pub struct Session {
    pub deployments: Observed<Vec<Deployment>>,
    pub latest: Observed<LatestReply>,
    pub is_deploying: Observed<IsDeploying>,
    pub locks_dir: Observed<Vec<VfsEntry>>,
    pub info_lock: Observed<LockInfo>,
    /// The strong `ETag` Kudu sent with `info_lock` when it was read (kudu-facts §4.3): the
    /// cleanup run releases the lock with `If-Match` set to it, so a lock taken again since
    /// that read is refused rather than deleted. `None` when info.lock was not read, is
    /// missing, or came without a strong ETag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_lock_etag: Option<String>,
    pub deployments_dir: Observed<Vec<VfsEntry>>,
    pub wwwroot_dir: Observed<Vec<VfsEntry>>,
    /// `site/deployments/active`: the active deployment's id (empty when Kudu has none yet).
    pub active_file: Observed<String>,
    /// `LogFiles/kudu/trace/`: Kudu's trace files (names and times only).
    pub kudu_trace_dir: Observed<Vec<VfsEntry>>,
    pub environment: Observed<EnvironmentInfo>,
    /// `None` value inside: 404, the setting does not exist.
    pub settings: BTreeMap<String, Observed<Option<String>>>,
    pub logs: BTreeMap<String, Observed<Vec<LogEntry>>>,
    /// `/api/processes` (Windows), read only when a holder looks hung on log silence.
    #[serde(skip_serializing_if = "is_not_read")]
    pub processes: Observed<Vec<ProcessSummary>>,
    /// `/api/processes/<id>`, first read, by process id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub process_details: BTreeMap<u32, Observed<ProcessDetails>>,
    /// `/api/processes/<id>` read again after the sampling gap, by process id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub process_details_again: BTreeMap<u32, Observed<ProcessDetails>>,
    /// Deployment reads that failed with a 409/500 body naming a lock (e.g. `status.lock`
    /// access denied), kept verbatim for the causes that look for them.
    pub lock_errors: Vec<(ReadId, u16, String)>,
    /// `/api/isdeploying` answered Kudu-W's 404 `No route registered for '/api/isdeploying'`:
    /// evidence of Windows that [`Observed::Missing`] alone does not carry.
    pub is_deploying_no_route: bool,
    /// Linux or Windows as shown by replies whose observation does not keep the clue, such as
    /// a VFS 404 naming `D:\home\site\...` or `/home/site/...`. One entry per read at most.
    pub os_hints: Vec<(ReadId, Personality)>,
    /// The error text the user pasted (the wizard's box, `--error-file`), classified
    /// ([`crate::parse::classify_pasted`]); the diagnosis combines it with what the site shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pasted_error: Option<Conflict>,
    /// The instance the replies came from (the `ARRAffinity` cookie's value), when the shell
    /// could see it ([`Session::reached_instance_is`]); the browser cannot (the cookie is
    /// `HttpOnly`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached_instance: Option<String>,
    pub warnings: Vec<Warning>,
}

fn is_not_read<T>(observed: &Observed<T>) -> bool {
    matches!(observed, Observed::NotRead)
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one reply. Never panics; what cannot be used becomes a [`Warning`].
    pub fn ingest(&mut self, read: &ReadId, path: &str, reply: &HttpReply) {
        crate::parse::ingest(self, read, path, reply);
    }

    /// Takes the error text the user got (blank text clears it).
    pub fn paste_error(&mut self, text: &str) {
        self.pasted_error = (!text.trim().is_empty()).then(|| crate::parse::classify_pasted(text));
    }

    /// Says which instance the replies come from: the value of the `ARRAffinity` cookie the
    /// shell pinned (kudu-facts §5.3). Blank text clears it.
    pub fn reached_instance_is(&mut self, instance: &str) {
        let instance = instance.trim();
        self.reached_instance = (!instance.is_empty()).then(|| instance.to_string());
    }

    /// Linux or Windows, from what the replies showed (VFS physical path style, `isdeploying`
    /// 404, `provisioningState`).
    pub fn personality(&self) -> Personality {
        crate::parse::detect_personality(self)
    }

    /// A setting read one key at a time (`WEBSITE_SITE_NAME`), when it exists and is not blank.
    /// Shells read settings through this, never through the fields.
    pub fn setting(&self, key: &str) -> Option<&str> {
        match self.settings.get(key) {
            Some(Observed::Value(Some(value))) if !value.trim().is_empty() => Some(value.as_str()),
            _ => None,
        }
    }

    pub fn diagnose(&self, now: Timestamp) -> crate::Diagnosis {
        crate::diagnose::diagnose(self, now)
    }
}
