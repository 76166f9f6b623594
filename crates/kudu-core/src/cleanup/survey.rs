//! A fresh read of the site in rounds, into a new [`Session`]: the diagnosis reads (all of them
//! to verify, the ones preconditions name to re-check), then the deployment logs that tell a
//! hung deployment from a slow one, exactly as a diagnosis gathers them.

use std::collections::BTreeSet;

use crate::cleanup::recheck::{LockFileSeen, windows_lock_file};
use crate::diagnose::lock_report::WINDOWS_LOCK_FILE;
use crate::model::Personality;
use crate::plan::paths::{check_name, encode_segment};
use crate::reads::{HttpReply, Read, ReadId, diagnosis_reads};
use crate::session::Session;

/// Log rounds after the first: top-level logs, then the children of their newest lines.
const LOG_ROUNDS: u8 = 2;

pub(super) struct Survey {
    pub(super) session: Session,
    /// Logs a precondition names, read even past the diagnosis' per-round cap.
    required_logs: Vec<String>,
    asked: BTreeSet<ReadId>,
    rounds_left: u8,
    /// Windows: `site/locks/` is listed once more after `latest` was read (see `next_round`);
    /// this keeps what the first listing showed of `deployments.lock`.
    pub(super) first_look: Option<LockFileSeen>,
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
    pub(super) fn new(required_logs: Vec<String>) -> Self {
        Survey {
            session: Session::new(),
            required_logs,
            asked: BTreeSet::new(),
            rounds_left: LOG_ROUNDS,
            first_look: None,
        }
    }

    /// The first round.
    pub(super) fn first_round(&mut self, scope: Scope, cache_bust: u64) -> Vec<Read> {
        let reads: Vec<Read> = diagnosis_reads(cache_bust)
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
            })
            .collect();
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
        let mut reads = vec![];
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
            return reads;
        }
        self.rounds_left -= 1;
        reads.extend(
            self.session
                .follow_up_reads()
                .into_iter()
                .filter(|r| !self.asked.contains(&r.id)),
        );
        for id in &self.required_logs {
            let key = ReadId::DeploymentLog(id.clone());
            if check_name(id).is_ok()
                && !self.asked.contains(&key)
                && !reads.iter().any(|r| r.id == key)
            {
                reads.push(Read {
                    id: key,
                    method: "GET",
                    path: format!("/api/deployments/{}/log", encode_segment(id)),
                    headers: vec![("Accept", "application/json".to_string())],
                });
            }
        }
        self.asked.extend(reads.iter().map(|r| r.id.clone()));
        reads
    }
}
