//! Test support: sessions built straight from domain types, as a parser would leave them,
//! around one fixed day (2026-11-26, UTC).

use crate::diagnose::facts::context::LINUX_LOCK_LIFETIME_SECS;
use crate::model::*;
use crate::reads::SETTINGS_READ;
use crate::session::{Observed, Session};
use crate::time::{Timestamp, days_from_civil};

/// 2026-11-26 at `h:m:s` UTC.
pub(crate) fn at(h: i64, m: i64, s: i64) -> Timestamp {
    Timestamp::from_unix_millis(
        (days_from_civil(2026, 11, 26) * 86_400 + h * 3600 + m * 60 + s) * 1000,
    )
}

/// A deployment record as Kudu's list shows it.
pub(crate) fn deployment(
    id: &str,
    status: DeployStatus,
    deployer: &str,
    received: Timestamp,
    ended: Option<Timestamp>,
) -> Deployment {
    Deployment {
        id: Some(id.to_string()),
        status,
        status_code: None,
        status_text: String::new(),
        received: Some(received),
        started: Some(received),
        ended,
        last_success_end: None,
        deployer: deployer.to_string(),
        author: "N/A".to_string(),
        message: "Created via a push deployment".to_string(),
        progress: String::new(),
        complete: !status.is_running(),
        active: false,
        temp: id.starts_with("temp-"),
        provisioning_state: None,
        flex_fields: false,
    }
}

pub(crate) fn dir(name: &str) -> VfsEntry {
    VfsEntry {
        name: name.to_string(),
        is_dir: true,
        size: 0,
        modified: Some(at(9, 0, 0)),
        physical_path: None,
    }
}

pub(crate) fn file(name: &str, modified: Timestamp) -> VfsEntry {
    VfsEntry {
        name: name.to_string(),
        is_dir: false,
        size: 0,
        modified: Some(modified),
        physical_path: None,
    }
}

pub(crate) fn log_line(time: Timestamp, message: &str) -> LogEntry {
    LogEntry {
        time: Some(time),
        id: "6b1d0000".to_string(),
        message: message.to_string(),
        level: LogLevel::Info,
        has_details: false,
    }
}

/// A site whose every read answered, with nothing deploying and no lock.
pub(crate) struct Site {
    pub(crate) session: Session,
}

impl Site {
    pub(crate) fn linux() -> Self {
        let mut s = Site::common();
        s.session.is_deploying = Observed::Value(IsDeploying {
            deploying: false,
            message: String::new(),
        });
        s.session.info_lock = Observed::Missing;
        s.session.locks_dir = Observed::Value(vec![VfsEntry {
            physical_path: Some("/home/site/locks/status.lock".into()),
            ..file("status.lock", at(9, 0, 0))
        }]);
        s
    }

    pub(crate) fn windows() -> Self {
        let mut s = Site::common();
        s.session.is_deploying = Observed::Missing;
        s.session.info_lock = Observed::Missing;
        s.session.locks_dir = Observed::Value(vec![]);
        s
    }

    fn common() -> Self {
        let mut session = Session::new();
        let mut active = deployment(
            "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            DeployStatus::Success,
            "GITHUB_ZIP_DEPLOY",
            at(9, 0, 0),
            Some(at(9, 2, 0)),
        );
        active.active = true;
        session.deployments = Observed::Value(vec![active]);
        session.latest = Observed::NotRead;
        session.deployments_dir = Observed::Value(vec![
            file("pending", at(9, 0, 0)),
            file("active", at(9, 2, 0)),
            file("settings.xml", at(8, 0, 0)),
            dir("tools"),
            dir("a1b2c3d4e5f60718293a4b5c6d7e8f90"),
        ]);
        session.wwwroot_dir = Observed::Value(vec![
            file("hostingstart.html", at(8, 0, 0)),
            file("index.js", at(9, 2, 0)),
            dir("node_modules"),
        ]);
        for key in SETTINGS_READ {
            session
                .settings
                .insert((*key).to_string(), Observed::Value(None));
        }
        Site { session }
    }

    /// KuduLite's `info.lock`, taken at `acquired`, plus `isdeploying` True and the lock dir.
    pub(crate) fn linux_lock(mut self, op: &str, acquired: Timestamp) -> Self {
        self.session.info_lock = Observed::Value(LockInfo {
            holder_operation: Some(op.to_string()),
            worker: Some("a1b2c3d4e5f6".to_string()),
            pid: Some(93),
            acquired: Some(acquired),
            expires: Some(acquired.plus_secs(LINUX_LOCK_LIFETIME_SECS)),
        });
        self.session.is_deploying = Observed::Value(IsDeploying {
            deploying: true,
            message: "Deployment Underway".to_string(),
        });
        self.list_lock(dir("deployment"))
    }

    pub(crate) fn list_lock(mut self, entry: VfsEntry) -> Self {
        if let Observed::Value(list) = &mut self.session.locks_dir {
            list.push(entry);
        }
        self
    }

    /// Adds a record to the list and its folder to `site/deployments`.
    pub(crate) fn deployment(mut self, d: Deployment) -> Self {
        if let (Observed::Value(dirs), Some(id)) = (&mut self.session.deployments_dir, &d.id) {
            dirs.push(dir(id));
        }
        if let Observed::Value(list) = &mut self.session.deployments {
            list.insert(0, d);
        }
        self
    }

    pub(crate) fn setting(mut self, key: &str, value: &str) -> Self {
        self.session
            .settings
            .insert(key.to_string(), Observed::Value(Some(value.to_string())));
        self
    }

    pub(crate) fn wwwroot(mut self, entries: Vec<VfsEntry>) -> Self {
        self.session.wwwroot_dir = Observed::Value(entries);
        self
    }

    /// Kudu's trace folder with the `_Startup` trace of instance `a1b2c3` (the lock's worker)
    /// at `started`, to the second.
    pub(crate) fn kudu_started(mut self, started: Timestamp) -> Self {
        let stamp = started.to_rfc3339();
        let name = format!(
            "{}_a1b2c3_001_Startup_POST_api-zipdeploy_0s.xml",
            stamp[..19].replace(':', "-")
        );
        self.session.kudu_trace_dir = Observed::Value(vec![file(&name, started)]);
        self
    }

    pub(crate) fn log(mut self, id: &str, lines: Vec<LogEntry>) -> Self {
        self.session
            .logs
            .insert(id.to_string(), Observed::Value(lines));
        self
    }

    pub(crate) fn build(self) -> Session {
        self.session
    }
}
