//! The verdict after the final read: fixed only when the lock is gone and nothing is
//! deploying, every step succeeded and every deleted entry is really gone; otherwise a plain
//! account of the site's true state.

use crate::cleanup::recheck::{LockFileSeen, windows_lock_file};
use crate::diagnose::{Diagnosis, LockState};
use crate::model::Personality;
use crate::session::{Observed, Session};

/// Whether the fresh read shows a site that accepts deployments, and if not, why, in plain
/// sentences. `deleted` are `(folder, name)` of entries the run deleted and that must be gone.
pub(super) fn site_state(
    session: &Session,
    diagnosis: &Diagnosis,
    deleted: &[(String, String)],
) -> (bool, String) {
    let mut problems = vec![];
    let mut facts = vec![];
    // The survey listed site/locks/ again after reading `latest`, which makes Windows Kudu
    // delete a lock file nobody holds: a file still listed is held, whatever else says.
    if diagnosis.personality == Personality::Windows
        && let Some(LockFileSeen::Written(_)) = windows_lock_file(session)
    {
        problems.push(
            "deployments.lock is still listed after Kudu checked it: a process holds the deployment lock (restart Kudu again, or from the portal)".to_string(),
        );
    }
    match diagnosis.lock.state {
        LockState::Free => facts.push("the deployment lock is free".to_string()),
        LockState::Unknown => {
            problems.push("the deployment lock's state could not be read".to_string())
        }
        LockState::Live => problems.push(format!(
            "a running operation holds the deployment lock ({})",
            diagnosis
                .lock
                .holder_operation
                .as_deref()
                .unwrap_or("deployments.lock is held")
        )),
        _ => problems.push(format!(
            "the deployment lock is still held{}",
            diagnosis
                .lock
                .holder_operation
                .as_deref()
                .map(|op| format!(" by '{op}'"))
                .unwrap_or_default()
        )),
    }
    if diagnosis.personality != Personality::Windows {
        match &session.is_deploying {
            Observed::Value(d) if !d.deploying => {
                facts.push("/api/isdeploying says False".to_string())
            }
            Observed::Value(d) => problems.push(format!(
                "/api/isdeploying says True{}",
                if d.message.is_empty() {
                    String::new()
                } else {
                    format!(" ('{}')", d.message)
                }
            )),
            _ => problems.push("/api/isdeploying could not be read".to_string()),
        }
    }
    match &session.latest {
        Observed::Value(l) if l.http_status == 202 => problems.push(
            "/api/deployments/latest still answers 202: Kudu records an unfinished deployment"
                .to_string(),
        ),
        Observed::Value(_) | Observed::Missing => {
            facts.push("no unfinished deployment is recorded".to_string())
        }
        _ => problems.push("/api/deployments/latest could not be read".to_string()),
    }
    // One pass over each listing, not one per deleted entry: a run may delete thousands.
    fn names(
        listing: &Observed<Vec<crate::model::VfsEntry>>,
    ) -> Option<std::collections::HashMap<&str, bool>> {
        listing
            .value()
            .map(|list| list.iter().map(|e| (e.name.as_str(), e.is_dir)).collect())
    }
    let locks = names(&session.locks_dir);
    let deployments = names(&session.deployments_dir);
    for (dir, name) in deleted {
        // The Linux lock's release deletes `deployment/info.lock`, which the listing of
        // site/locks/ does not show; its own read says whether it is gone. The empty
        // `deployment/` folder it leaves may stay listed: it does not block (kudu-facts §2.3).
        if dir == crate::plan::paths::LOCKS_DIR && name == crate::plan::paths::LINUX_LOCK_FILE {
            match &session.info_lock {
                Observed::Missing => {}
                Observed::Value(_) => problems.push(format!("{dir}{name} is still there")),
                _ => problems.push(format!(
                    "{dir}{name} could not be read to confirm it is gone"
                )),
            }
            continue;
        }
        let (listing, names) = if dir == crate::plan::paths::LOCKS_DIR {
            (&session.locks_dir, &locks)
        } else {
            (&session.deployments_dir, &deployments)
        };
        match (listing, names) {
            (_, Some(names)) => {
                if let Some(&is_dir) = names.get(name.as_str()) {
                    let slash = if is_dir { "/" } else { "" };
                    problems.push(format!("{dir}{name}{slash} is still listed"));
                }
            }
            (Observed::Missing, _) => {}
            _ => problems.push(format!(
                "{dir} could not be listed to confirm {name} is gone"
            )),
        }
    }
    let ok = problems.is_empty();
    let mut text = if ok {
        format!("Deployments are accepted again: {}.", facts.join(", "))
    } else {
        let mut t = format!("The site is not fixed: {}.", problems.join("; "));
        if !facts.is_empty() {
            t.push_str(&format!(" Otherwise {}.", facts.join(", ")));
        }
        t
    };
    if let Some(f) = diagnosis.primary() {
        text.push_str(&format!(" Diagnosis now: {}", f.summary));
    }
    (ok, text)
}
