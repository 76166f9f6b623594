//! The run's side of the wire: request ids, requests queued for the next
//! [`CleanupRun::poll_requests`], requests in flight and what each was for, and the activity
//! log of every request and its answer.

use std::collections::{BTreeMap, VecDeque};

use crate::plan::CleanupPlan;
use crate::reads::Read;
use crate::time::Timestamp;

use super::outcome::{ActivityEntry, EXCERPT_CHARS};
use super::wire::{ReplyBody, RequestId, RequestPurpose, RunReply, RunRequest};

#[cfg(doc)]
use super::CleanupRun;

/// What a request was for, kept until its answer comes back.
pub(super) enum Pending {
    Backup {
        step: usize,
        attempt: u8,
    },
    /// `group` is `None` for the final read.
    SurveyRead {
        read: Read,
        attempt: u8,
        group: Option<u32>,
    },
    Step {
        step: usize,
        attempt: u8,
        /// The Linux lock's release only: the ETag of `info.lock` in the run's latest read of
        /// it, sent as `If-Match` in place of the plan's placeholder.
        lock_etag: Option<String>,
    },
    /// The read of the Linux lock before attempt `attempt` of the release `step`; `read` is
    /// this read's own attempt.
    LockCheck {
        step: usize,
        attempt: u8,
        read: u8,
    },
    /// A listing of a backed-up folder, read beside its zip so the archive can be checked
    /// against it (see [`RequestPurpose::BackupListing`]).
    BackupListing {
        read: Read,
        attempt: u8,
    },
    /// A log read while the backup downloads (see [`RequestPurpose::LogPrefetch`]).
    Prefetch {
        read: Read,
    },
    Probe,
}

impl Pending {
    /// The request as the shell sends it. Plan steps go out exactly as planned, except that the
    /// Linux lock's release carries the ETag the run read as its `If-Match`.
    fn request(&self, id: RequestId, plan: &CleanupPlan) -> RunRequest {
        let (method, path, headers, keep_bytes, purpose) = match self {
            Pending::Backup { step, .. } | Pending::Step { step, .. } => {
                let r = &plan.steps[*step].request;
                let step = *step;
                // A backup's body is a zip.
                let (keep_bytes, purpose) = match self {
                    Pending::Backup { .. } => (true, RequestPurpose::Backup { step }),
                    _ => (false, RequestPurpose::Step { step }),
                };
                let headers = match self {
                    Pending::Step {
                        lock_etag: Some(etag),
                        ..
                    } => super::delete_stage::with_lock_etag(&r.headers, etag),
                    _ => r.headers.clone(),
                };
                (r.method, r.path.clone(), headers, keep_bytes, purpose)
            }
            Pending::SurveyRead { read, group, .. } => (
                read.method,
                read.path.clone(),
                read.headers.clone(),
                false,
                match group {
                    Some(group) => RequestPurpose::Recheck { group: *group },
                    None => RequestPurpose::Verify,
                },
            ),
            Pending::Prefetch { read } => (
                read.method,
                read.path.clone(),
                read.headers.clone(),
                false,
                RequestPurpose::LogPrefetch,
            ),
            Pending::BackupListing { read, .. } => (
                read.method,
                read.path.clone(),
                read.headers.clone(),
                false,
                RequestPurpose::BackupListing,
            ),
            Pending::LockCheck { step, .. } => {
                let read = super::delete_stage::lock_read();
                (
                    read.method,
                    read.path,
                    read.headers,
                    false,
                    RequestPurpose::LockCheck { step: *step },
                )
            }
            Pending::Probe => (
                "GET",
                "/api/environment".to_string(),
                vec![("Accept", "application/json".to_string())],
                false,
                RequestPurpose::WaitForKudu,
            ),
        };
        RunRequest {
            id,
            method,
            path,
            headers,
            keep_bytes,
            purpose,
        }
    }
}

/// Every request of a run, from queued to answered.
#[derive(Default)]
pub(super) struct Requests {
    next_id: u64,
    /// Queued; the next `poll_requests` hands them out.
    outbox: VecDeque<(RequestId, Pending)>,
    /// Handed out and not yet answered.
    in_flight: BTreeMap<RequestId, Pending>,
    log: Vec<ActivityEntry>,
    /// Surveys started so far; see [`Requests::cache_bust`].
    surveys: u64,
}

impl Requests {
    /// Queues a request for the next `poll_requests`.
    pub(super) fn send(&mut self, pending: Pending) {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.outbox.push_back((id, pending));
    }

    /// The next queued request, now in flight and in the activity log as sent at `now`.
    pub(super) fn hand_out(
        &mut self,
        plan: &CleanupPlan,
        now: Timestamp,
    ) -> Option<(RunRequest, &Pending)> {
        let (id, pending) = self.outbox.pop_front()?;
        let request = pending.request(id, plan);
        self.log.push(ActivityEntry {
            id,
            method: request.method.to_string(),
            path: request.path.clone(),
            sent_at: now,
            answered_at: None,
            status: None,
            excerpt: String::new(),
            transport_error: None,
        });
        let pending = self.in_flight.entry(id).or_insert(pending);
        Some((request, pending))
    }

    /// Logs the answer to `id` and returns what the request was for; `None` for an id that is
    /// not in flight (unknown, or answered before).
    pub(super) fn answered(
        &mut self,
        id: RequestId,
        reply: &RunReply,
        now: Timestamp,
    ) -> Option<Pending> {
        let excerpt = match &reply.body {
            ReplyBody::Bytes(b) => format!(
                "{} bytes of {}",
                b.len(),
                reply.content_type.as_deref().unwrap_or("unknown type")
            ),
            ReplyBody::Text(t) => {
                let mut e: String = t.chars().take(EXCERPT_CHARS).collect();
                if t.chars().count() > EXCERPT_CHARS {
                    e.push('…');
                }
                e
            }
        };
        if let Some(entry) = self.log.iter_mut().rev().find(|e| e.id == id) {
            entry.answered_at = Some(now);
            entry.status = Some(reply.status);
            entry.excerpt = excerpt;
            entry.transport_error = reply.transport_error.clone();
        }
        self.in_flight.remove(&id)
    }

    /// Nothing queued is handed out any more (the run ended).
    pub(super) fn drop_queued(&mut self) {
        self.outbox.clear();
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub(super) fn log(&self) -> &[ActivityEntry] {
        &self.log
    }

    /// A log prefetch is still unanswered.
    pub(super) fn prefetch_in_flight(&self) -> bool {
        self.in_flight
            .values()
            .any(|pending| matches!(pending, Pending::Prefetch { .. }))
    }

    /// A backed-up folder's listing is queued or unanswered: the archives cannot be checked yet.
    pub(super) fn backup_listing_waiting(&self) -> bool {
        self.in_flight
            .values()
            .chain(self.outbox.iter().map(|(_, p)| p))
            .any(|p| matches!(p, Pending::BackupListing { .. }))
    }

    /// A survey read is queued or unanswered: the survey's round is not complete.
    pub(super) fn survey_read_waiting(&self) -> bool {
        self.in_flight
            .values()
            .chain(self.outbox.iter().map(|(_, p)| p))
            .any(|p| matches!(p, Pending::SurveyRead { .. }))
    }

    /// A number for a new survey's deployment list URL, so that Kudu's ETag cache cannot
    /// answer with a list from before the run's deletes: the run's start in whole seconds,
    /// then a count of surveys.
    pub(super) fn cache_bust(&mut self, started_at: Timestamp) -> u64 {
        self.surveys += 1;
        (started_at.unix_millis().unsigned_abs() / 1000)
            .wrapping_mul(1000)
            .wrapping_add(self.surveys)
    }
}
