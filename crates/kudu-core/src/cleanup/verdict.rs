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
    // Whether a deployment would be accepted is the diagnosis's one verdict, the same the
    // wizard and `kudu-doctor wait` read; this adds only what the run itself must confirm.
    let verdict = &diagnosis.deployability;
    problems.extend(verdict.blockers.iter().map(|b| b.text.clone()));
    if verdict.is_clear() {
        facts.push(match diagnosis.lock.state {
            LockState::Free => "the deployment lock is free".to_string(),
            _ => "Kudu no longer honours the deployment lock".to_string(),
        });
        facts.push("nothing is deploying".to_string());
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
