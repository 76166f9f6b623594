//! A fresh read of the site in rounds, into a new [`Session`]: the diagnosis reads (all of them
//! to verify, the ones preconditions name to re-check), then the deployment logs that tell a
//! hung deployment from a slow one.
//!
//! To verify, the logs are gathered exactly as a diagnosis gathers them (follow-up rounds). A
//! re-check needs only the logs its preconditions name, which the plan knows in advance, and
//! the children of their newest lines, which the run learnt from an earlier read of the same
//! logs: all of them go in the first round, so a re-check of an unchanged site is one round
//! trip. A child not known yet is read in a second round.

use std::collections::BTreeSet;

use crate::cleanup::recheck::{LockFileSeen, windows_lock_file};
use crate::diagnose::facts::lock_report::WINDOWS_LOCK_FILE;
use crate::model::Personality;
use crate::plan::Precondition;
use crate::plan::paths::{check_name, encode_segment};
use crate::reads::{HttpReply, Read, ReadId, diagnosis_reads};
use crate::session::Session;

/// Log rounds after the first: top-level logs, then the children of their newest lines.
const LOG_ROUNDS: u8 = 2;

pub(super) struct Survey {
    pub(super) session: Session,
    /// Logs a precondition names, read even past the diagnosis' per-round cap.
    required_logs: Vec<String>,
    /// `(deployment id, entry id)`: children of required logs' newest lines, as last seen.
    known_children: Vec<(String, String)>,
    scope: Scope,
    asked: BTreeSet<ReadId>,
    rounds_left: u8,
    /// Windows: `site/locks/` is listed once more after `latest` was read (see `next_round`);
    /// this keeps what the first listing showed of `deployments.lock`.
    pub(super) first_look: Option<LockFileSeen>,
    /// List `site/deployments/` only after the deployment list was answered (see
    /// [`Survey::list_folders_after_the_list`]).
    folders_after_list: bool,
    /// Reads held back from the first round for the second.
    deferred: Vec<Read>,
    /// Windows build processes a precondition names (`BuildCpuUnchanged`).
    required_processes: Vec<u32>,
}

/// Which reads a survey starts with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Scope {
    /// Everything a diagnosis reads.
    Full,
    /// What preconditions name: deployments, latest, isdeploying, both listings, info.lock.
    Preconditions,
}

impl Survey {
    pub(super) fn new(required_logs: Vec<String>, known_children: Vec<(String, String)>) -> Self {
        Survey {
            session: Session::new(),
            required_logs,
            known_children,
            scope: Scope::Full,
            asked: BTreeSet::new(),
            rounds_left: LOG_ROUNDS,
            first_look: None,
            folders_after_list: false,
            deferred: vec![],
            required_processes: vec![],
        }
    }

    /// Reads these build processes' details in the first round, for the preconditions that
    /// compare their CPU time with the plan's ([`required_processes`]).
    pub(super) fn with_processes(mut self, pids: Vec<u32>) -> Self {
        self.required_processes = pids;
        self
    }

    /// Reads `site/deployments/` in the round after `GET /api/deployments`. Once the lock is
    /// free, reading the list makes Kudu purge leftover temporary deployments and the folders
    /// of hung ones it marks failed (kudu-facts 1.3); a listing read after it shows what is
    /// really left, so the run does not send deletes that could only answer 404. One more
    /// round here saves a wave of deletes per hundred folders.
    pub(super) fn list_folders_after_the_list(mut self) -> Self {
        self.folders_after_list = true;
        self
    }

    /// The first round.
    pub(super) fn first_round(&mut self, scope: Scope, cache_bust: u64) -> Vec<Read> {
        self.scope = scope;
        // A deployment the plan judged stopped is graded again from its log, and a Kudu start
        // after its last activity is the strong evidence that it died: without Kudu's trace
        // folder the re-check would grade it on its log's silence alone and stop the run the
        // diagnosis offered. Plans that watch no log need no traces.
        let watches_a_log = !self.required_logs.is_empty();
        let mut reads: Vec<Read> = diagnosis_reads(cache_bust)
            .into_iter()
            .filter(|r| {
                scope == Scope::Full
                    || matches!(
                        r.id,
                        ReadId::Deployments
                            | ReadId::Latest
                            | ReadId::IsDeploying
                            | ReadId::LocksDir
                            | ReadId::InfoLock
                            | ReadId::DeploymentsDir
                    )
                    || (watches_a_log && r.id == ReadId::KuduTraceDir)
            })
            .collect();
        if self.folders_after_list {
            let (later, now): (Vec<Read>, Vec<Read>) = reads
                .into_iter()
                .partition(|r| r.id == ReadId::DeploymentsDir);
            self.deferred = later;
            reads = now;
        }
        if scope == Scope::Preconditions {
            reads.extend(self.required_processes.iter().map(|pid| Read {
                id: ReadId::Process(*pid),
                method: "GET",
                path: format!("/api/processes/{pid}"),
                headers: vec![("Accept", "application/json".to_string())],
            }));
            reads.extend(log_reads(&self.required_logs));
            reads.extend(
                self.known_children
                    .iter()
                    .filter(|(id, _)| self.required_logs.contains(id))
                    .filter_map(|(id, entry)| child_read(id, entry)),
            );
        }
        self.asked.extend(reads.iter().map(|r| r.id.clone()));
        reads
    }

    pub(super) fn ingest(&mut self, read: &Read, reply: &HttpReply) {
        self.session.ingest(&read.id, &read.path, reply);
    }

    /// The next round once every read of the last one was answered; empty when done.
    ///
    /// On Windows, a listed `deployments.lock` is listed once more: reading `latest` in the
    /// first round made Kudu check the lock and delete the file if no process holds it, so a
    /// file still listed afterwards is really held.
    pub(super) fn next_round(&mut self) -> Vec<Read> {
        let mut reads = std::mem::take(&mut self.deferred);
        if self.first_look.is_none()
            && self.session.personality() == Personality::Windows
            && self.asked.contains(&ReadId::Latest)
            && self.session.locks_dir.value().is_some_and(|list| {
                list.iter()
                    .any(|e| !e.is_dir && e.name.eq_ignore_ascii_case(WINDOWS_LOCK_FILE))
            })
        {
            self.first_look = windows_lock_file(&self.session);
            reads.extend(
                diagnosis_reads(0)
                    .into_iter()
                    .filter(|r| r.id == ReadId::LocksDir),
            );
        }
        if self.rounds_left == 0 {
            self.asked.extend(reads.iter().map(|r| r.id.clone()));
            return reads;
        }
        self.rounds_left -= 1;
        match self.scope {
            Scope::Full => reads.extend(
                self.session
                    .follow_up_reads()
                    .into_iter()
                    .filter(|r| !self.asked.contains(&r.id)),
            ),
            // Only the children the first round could not know: a required log whose newest
            // line changed since it was last read.
            Scope::Preconditions => reads.extend(
                newest_children(&self.session)
                    .into_iter()
                    .filter(|(id, _)| self.required_logs.contains(id))
                    .filter_map(|(id, entry)| child_read(&id, &entry))
                    .filter(|r| !self.asked.contains(&r.id)),
            ),
        }
        self.asked.extend(reads.iter().map(|r| r.id.clone()));
        reads
    }
}

/// The build processes `preconditions` compare CPU time for, each once.
pub(super) fn required_processes<'a>(
    preconditions: impl IntoIterator<Item = &'a Precondition>,
) -> Vec<u32> {
    fn collect(p: &Precondition, out: &mut Vec<u32>) {
        match p {
            Precondition::BuildCpuUnchanged { pid, .. } if !out.contains(pid) => out.push(*pid),
            Precondition::All(all) => all.iter().for_each(|p| collect(p, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    for p in preconditions {
        collect(p, &mut out);
    }
    out
}

/// Each usable id's whole log, read as the diagnosis reads it (`log.log`, children included),
/// so the re-check compares the same lines the plan recorded.
pub(super) fn log_reads(ids: &[String]) -> Vec<Read> {
    ids.iter()
        .filter_map(|id| crate::diagnose::facts::follow_up::log_file_read(id))
        .collect()
}

/// `GET /api/deployments/<id>/log/<entry>`, keyed `<id>/<entry>` as the diagnosis keys it.
fn child_read(id: &str, entry: &str) -> Option<Read> {
    (check_name(id).is_ok() && check_name(entry).is_ok()).then(|| Read {
        id: ReadId::DeploymentLog(format!("{id}/{entry}")),
        method: "GET",
        path: format!(
            "/api/deployments/{}/log/{}",
            encode_segment(id),
            encode_segment(entry)
        ),
        headers: vec![("Accept", "application/json".to_string())],
    })
}

/// `(deployment id, entry id)` of each top-level log's newest line that has children.
pub(super) fn newest_children(session: &Session) -> Vec<(String, String)> {
    session
        .logs
        .iter()
        .filter(|(key, _)| !key.contains('/'))
        .filter_map(|(id, observed)| {
            let newest = observed.value()?.iter().max_by_key(|e| e.time)?;
            newest.has_details.then(|| (id.clone(), newest.id.clone()))
        })
        .collect()
}
