//! Sending one group's destructive steps: the in-flight bound, the back-off of throttled
//! deletes, [`judge_reply`], which says what one answer to a step means, and
//! [`judge_lock_reread`], which says whether the Linux lock's release may go again.
//!
//! Kudu-L releases its deployment lock by deleting `site/locks/deployment/` without checking
//! who holds it (kudu-facts 2.3). The run releases it by deleting `info.lock` with `If-Match`
//! set to the ETag of its latest read of that file (4.4): a lock taken again since has a new
//! ETag, and Kudu answers 412 (409 on Kudu-L) instead of deleting it, which stops the run as
//! "the lock changed hands". Nor is the release sent again blindly: after an unclear answer (no
//! answer, 429, 502-504) the back-off runs, then `info.lock` is read, and the release goes again
//! at once, with that read's ETag, only while the holder the re-check saw still holds it.
//! Gone: the release worked. Anyone else, or no usable answer: the run stops, since a new
//! deployment may hold the lock now.
//!
//! A delete stage can only be built from a [`VerifiedBackup`] and a [`RecheckPassed`] for its
//! group (safety invariants 2 and 3 in the module docs of `cleanup`).

use std::collections::VecDeque;

use crate::model::LockInfo;
use crate::plan::paths::{DEPLOYMENTS_DIR, LINUX_LOCK_FILE, LOCKS_DIR, delete_target};
use crate::plan::{CleanupPlan, Precondition, Step, StepKind};
use crate::reads::{Read, ReadId, diagnosis_reads};
use crate::session::Observed;
use crate::time::Timestamp;

use super::backup::VerifiedBackup;
use super::outcome::EXCERPT_CHARS;
use super::recheck::RecheckPassed;
use super::timers::delete_retry_wait_ms;
use super::wire::RunReply;

/// Concurrent destructive requests in the groups that release the lock or restart Kudu (one or
/// two steps each) unless the shell asks otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;
/// Concurrent deletes in the leftover group (deletes of listed entries of `site/deployments/`)
/// unless the shell asks otherwise. Each is one small, independent, idempotent VFS request on
/// its own folder. Browsers allow 6 HTTP/1.1 connections per host, but App Service's front end
/// speaks HTTP/2 to browsers (an inference, see `kudu-sim`'s README), where one connection
/// carries about 100 concurrent streams; a higher bound would only queue in the browser. With
/// 8, 500 temp folders needed 63 sequential round trips; with 100 they need 5. Throttling
/// (429, 502-504, no answer) halves the bound at once and each success raises it by one again.
pub const LEFTOVER_MAX_IN_FLIGHT: usize = 100;
/// A delete of a listed entry that was throttled or got no answer is sent at most this many
/// times in all. Sending the same planned request again is safe: deleting a folder that is
/// already gone answers 404, which the final read must then confirm. The Linux lock's release
/// is the exception: a new holder may have taken the lock its first attempt freed, so it goes
/// again only after a re-read shows the same holder ([`judge_lock_reread`]). Restarts are
/// never sent again.
pub const MAX_DELETE_ATTEMPTS: u8 = 3;

/// What one answer to a destructive step means.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Judgement {
    /// Kudu or its front end was too busy, or did not answer: send the same request again
    /// after `wait_ms`.
    Retry {
        wait_ms: i64,
    },
    /// The step did what it was for. `confirm_gone`: the answer was 404, which Kudu also gives
    /// when a delete threw, so the final read must show the target gone.
    Done {
        note: Option<String>,
        confirm_gone: bool,
    },
    Failed {
        reason: String,
    },
}

/// Judges the answer to attempt `attempt` of a step of `kind`. `may_retry` is false once the
/// run is stopping (a step of the group failed): nothing is sent again then.
///
/// Deletes are sent again only after a throttled (429, 502-504) or unanswered attempt, and at
/// most [`MAX_DELETE_ATTEMPTS`] times; restarts never are. For the Linux lock's release a
/// `Retry` means "read the lock after the back-off": the coordinator sends it again only if
/// [`judge_lock_reread`] says the holder is unchanged. A sign-in page is never retried: it
/// is a 200, and sending the delete again would only meet it again.
pub(super) fn judge_reply(
    kind: StepKind,
    attempt: u8,
    reply: &RunReply,
    may_retry: bool,
) -> Judgement {
    let deletes = matches!(kind, StepKind::DeleteDir | StepKind::DeleteFile);
    let busy = reply.transport_error.is_some() || matches!(reply.status, 429 | 502..=504);
    if deletes && busy && attempt < MAX_DELETE_ATTEMPTS && may_retry {
        return Judgement::Retry {
            wait_ms: delete_retry_wait_ms(attempt, reply.header("retry-after")),
        };
    }
    let done = |note: Option<String>| Judgement::Done {
        note,
        confirm_gone: false,
    };
    if let Some(e) = &reply.transport_error {
        return if kind == StepKind::RestartKudu {
            done(Some(format!(
                "No answer ({e}): Kudu was probably already restarting."
            )))
        } else {
            Judgement::Failed {
                reason: format!("No answer from Kudu ({e}); whether it ran is checked at the end."),
            }
        };
    }
    match reply.status {
        200 | 204 if reply.is_sign_in() => Judgement::Failed {
            reason: "Kudu answered with a web page (probably the sign-in page): the SCM session expired and the step did not run.".into(),
        },
        200 | 204 => done(None),
        404 if deletes => Judgement::Done {
            note: Some(
                "Already gone (404). Kudu also answers 404 when a delete fails; the final read checks it.".into(),
            ),
            confirm_gone: true,
        },
        502 | 503 if kind == StepKind::RestartKudu => done(Some(format!(
            "HTTP {}: Kudu was probably already restarting.",
            reply.status
        ))),
        status => {
            let text = reply.body.text();
            let message: String = text.trim().chars().take(EXCERPT_CHARS).collect();
            Judgement::Failed {
                reason: if message.is_empty() {
                    format!("HTTP {status}.")
                } else {
                    format!("HTTP {status}: {message}")
                },
            }
        }
    }
}

/// The step releases the Linux deployment lock (`DELETE site/locks/deployment/info.lock`):
/// sent with the ETag of the run's latest read of `info.lock` ([`with_lock_etag`]), and sent
/// again only after [`judge_lock_reread`] says the holder is unchanged.
pub(super) fn releases_linux_lock(step: &Step) -> bool {
    step.kind == StepKind::DeleteFile
        && delete_target(&step.request) == Some((LOCKS_DIR, LINUX_LOCK_FILE))
}

/// The release's request as sent: the plan's, with its `If-Match` set to `etag`, the ETag of
/// `info.lock` in the run's latest read of it (the re-check's, or the read after an unclear
/// answer). Every other header and the path stay exactly as planned.
pub(super) fn with_lock_etag(
    headers: &[(&'static str, String)],
    etag: &str,
) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("if-match"))
        .cloned()
        .collect();
    out.push(("If-Match", etag.to_string()));
    out
}

/// An answer to the release that means the lock changed hands since the run read it: Kudu
/// refused the delete because `info.lock`'s ETag is no longer the one sent (412 on Kudu-W, 409
/// on Kudu-L, kudu-facts §4.4).
pub(super) fn release_refused(reply: &RunReply) -> bool {
    reply.transport_error.is_none() && matches!(reply.status, 409 | 412) && !reply.is_sign_in()
}

/// The read of the Linux lock before a release goes again: `info.lock`, as the re-check reads
/// it.
pub(super) fn lock_read() -> Read {
    diagnosis_reads(0)
        .into_iter()
        .find(|r| r.id == ReadId::InfoLock)
        .unwrap_or_else(|| Read {
            id: ReadId::InfoLock,
            method: "GET",
            path: "/api/vfs/site/locks/deployment/info.lock".into(),
            headers: vec![],
        })
}

/// What a re-read of the lock after an unclear answer to its release says.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum LockReread {
    /// `info.lock` is gone: the lock is free, so the release worked (or someone else released
    /// it). Nothing is sent again; the final read checks the folder is gone.
    Gone,
    /// Still held by the holder the re-check saw: the release may go again.
    Unchanged,
    /// Held by someone else: a change, in a sentence.
    ChangedHands(String),
    /// No usable answer: why, in a sentence.
    Unconfirmed(String),
}

/// Judges a re-read of `info.lock` against the step's `LockUnchanged` precondition (the holder
/// the re-check confirmed before the release). A step without one cannot confirm anything.
pub(super) fn judge_lock_reread(step: &Step, observed: &Observed<LockInfo>) -> LockReread {
    fn expected(p: &Precondition) -> Option<(&Option<String>, &Option<Timestamp>)> {
        match p {
            Precondition::LockUnchanged {
                holder_operation,
                acquired,
            } => Some((holder_operation, acquired)),
            Precondition::All(all) => all.iter().find_map(expected),
            _ => None,
        }
    }
    let unconfirmed = |why: &str| {
        LockReread::Unconfirmed(format!(
            "Kudu Doctor could not confirm who holds the deployment lock after Kudu's unclear answer to its release ({why}), so it did not send the release again."
        ))
    };
    let Some((operation, acquired)) = expected(&step.precondition) else {
        return unconfirmed("the plan does not say which holder it releases");
    };
    match observed {
        Observed::Missing => LockReread::Gone,
        Observed::Value(info)
            if info.holder_operation == *operation && info.acquired == *acquired =>
        {
            LockReread::Unchanged
        }
        Observed::Value(info) => LockReread::ChangedHands(format!(
            "The deployment lock changed hands after Kudu's unclear answer to its release: the re-check saw it held by {} since {}, and it is now held by {} since {}. Kudu Doctor did not send the release again.",
            quoted(operation.as_deref()),
            time(*acquired),
            quoted(info.holder_operation.as_deref()),
            time(info.acquired)
        )),
        Observed::SessionExpired => unconfirmed("the SCM session expired"),
        Observed::Failed { reason, .. } => unconfirmed(reason),
        Observed::NotRead => unconfirmed("it was not read"),
    }
}

fn quoted(operation: Option<&str>) -> String {
    operation.map_or_else(|| "an unnamed operation".into(), |op| format!("'{op}'"))
}

fn time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "an unknown time".into(), Timestamp::to_rfc3339)
}

/// What a delete stage hands out: a step's request, or the lock read that must come before
/// the Linux lock's release goes again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Outgoing {
    Step { step: usize, attempt: u8 },
    LockCheck { step: usize, attempt: u8 },
}

/// Every step deletes a listed entry of `site/deployments/`: independent, idempotent requests,
/// which may go many at a time. Lock releases and restarts keep the small bound.
pub(super) fn is_leftover_group(plan: &CleanupPlan, steps: &[usize]) -> bool {
    steps.iter().all(|&i| {
        let step = &plan.steps[i];
        matches!(step.kind, StepKind::DeleteDir | StepKind::DeleteFile)
            && delete_target(&step.request).is_some_and(|(dir, _)| dir == DEPLOYMENTS_DIR)
    })
}

/// Sending one group's destructive steps, at most `window` at a time.
pub(super) struct DeleteStage {
    group: u32,
    /// `(step, attempt)` not yet sent.
    queue: VecDeque<(usize, u8)>,
    /// Throttled deletes waiting for their back-off: `(not before, step, attempt, read the
    /// lock first)`.
    retries: Vec<(Timestamp, usize, u8, bool)>,
    /// Steps whose next attempt must wait for a read of the lock: `(step, attempt)` queued.
    checks: VecDeque<(usize, u8)>,
    in_flight: usize,
    /// The bound now: `max` until throttling halves it, then growing back by one per success.
    window: usize,
    max: usize,
    restarted_kudu: bool,
}

impl DeleteStage {
    /// Needs both proofs: the backup was verified and this group's re-check passed.
    pub(super) fn new(
        _backup: &VerifiedBackup,
        passed: &RecheckPassed,
        steps: Vec<usize>,
        max: usize,
    ) -> Self {
        DeleteStage {
            group: passed.group(),
            queue: steps.into_iter().map(|s| (s, 1)).collect(),
            retries: vec![],
            checks: VecDeque::new(),
            in_flight: 0,
            window: max,
            max,
            restarted_kudu: false,
        }
    }

    pub(super) fn group(&self) -> u32 {
        self.group
    }

    /// A step of this group restarted Kudu: the run waits for it before going on.
    pub(super) fn restarted_kudu(&self) -> bool {
        self.restarted_kudu
    }

    /// What to send now: retries whose back-off is over first, in the order they were
    /// throttled (a lock release as the read of its lock), then the queue, as far as the window
    /// allows. Counts them in flight; a lock read holds its step's place until the release
    /// goes again (at once, in the same place: the read was the last look before it) or the
    /// step ends.
    pub(super) fn release(&mut self, now: Timestamp) -> Vec<Outgoing> {
        let mut due = vec![];
        self.retries.retain(|&(at, step, attempt, check)| {
            if at <= now {
                due.push((step, attempt, check));
                false
            } else {
                true
            }
        });
        for (step, attempt, check) in due.into_iter().rev() {
            if check {
                self.checks.push_front((step, attempt));
            } else {
                self.queue.push_front((step, attempt));
            }
        }
        let mut to_send = vec![];
        while self.in_flight < self.window {
            let entry = if let Some((step, attempt)) = self.checks.pop_front() {
                Outgoing::LockCheck { step, attempt }
            } else if let Some((step, attempt)) = self.queue.pop_front() {
                Outgoing::Step { step, attempt }
            } else {
                break;
            };
            self.in_flight += 1;
            to_send.push(entry);
        }
        to_send
    }

    /// Every step was answered and nothing waits to be sent again.
    pub(super) fn is_over(&self) -> bool {
        self.queue.is_empty()
            && self.retries.is_empty()
            && self.checks.is_empty()
            && self.in_flight == 0
    }

    /// When the next throttled delete may go again.
    pub(super) fn next_retry(&self) -> Option<Timestamp> {
        self.retries.iter().map(|(at, _, _, _)| *at).min()
    }

    /// A step's answer came in (whatever it was).
    pub(super) fn answered(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A delete was throttled: it goes again at `at` (after a read of the lock when
    /// `check_lock`), and the window halves at once.
    pub(super) fn retry_at(&mut self, at: Timestamp, step: usize, attempt: u8, check_lock: bool) {
        self.answered();
        self.window = (self.window / 2).max(1);
        self.retries.push((at, step, attempt, check_lock));
    }

    /// A step succeeded: the window grows back by one.
    pub(super) fn succeeded(&mut self, kind: StepKind) {
        self.window = (self.window + 1).min(self.max);
        if kind == StepKind::RestartKudu {
            self.restarted_kudu = true;
        }
    }

    /// A step failed: nothing more of this group is sent. Returns the steps that were waiting
    /// to be sent again.
    pub(super) fn stop(&mut self) -> Vec<usize> {
        self.queue.clear();
        self.retries
            .drain(..)
            .map(|(_, step, _, _)| step)
            .chain(self.checks.drain(..).map(|(step, _)| step))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(kind: StepKind, attempt: u8, reply: RunReply) -> Judgement {
        judge_reply(kind, attempt, &reply, true)
    }

    fn failed(judgement: &Judgement) -> &str {
        match judgement {
            Judgement::Failed { reason } => reason,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_delete_answered_200_or_204_is_done() {
        for status in [200, 204] {
            assert_eq!(
                judge(
                    StepKind::DeleteDir,
                    1,
                    RunReply::text(status, "text/plain", "")
                ),
                Judgement::Done {
                    note: None,
                    confirm_gone: false
                }
            );
        }
    }

    #[test]
    fn a_sign_in_page_fails_the_step_and_is_never_retried() {
        let login = RunReply::text(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Sign in to your account</title>",
        );
        for attempt in 1..=MAX_DELETE_ATTEMPTS {
            let reason = judge(StepKind::DeleteFile, attempt, login.clone());
            assert!(failed(&reason).contains("sign-in page"));
        }
    }

    #[test]
    fn a_404_on_a_delete_is_done_but_must_be_confirmed_gone() {
        let judged = judge(
            StepKind::DeleteDir,
            1,
            RunReply::text(404, "text/plain", ""),
        );
        assert!(matches!(
            judged,
            Judgement::Done {
                note: Some(_),
                confirm_gone: true
            }
        ));
        // A restart that answers 404 did not restart anything.
        let restart = judge(
            StepKind::RestartKudu,
            1,
            RunReply::text(404, "text/plain", ""),
        );
        assert_eq!(failed(&restart), "HTTP 404.");
    }

    #[test]
    fn throttled_deletes_wait_and_go_again_until_the_last_attempt() {
        for status in [429, 502, 503, 504] {
            let reply = RunReply::text(status, "text/plain", "busy");
            assert_eq!(
                judge(StepKind::DeleteDir, 1, reply.clone()),
                Judgement::Retry { wait_ms: 500 }
            );
            assert_eq!(
                judge(StepKind::DeleteDir, 2, reply.clone()),
                Judgement::Retry { wait_ms: 1000 }
            );
            assert_eq!(
                failed(&judge(StepKind::DeleteDir, MAX_DELETE_ATTEMPTS, reply)),
                format!("HTTP {status}: busy")
            );
        }
        let mut asked = RunReply::text(429, "text/plain", "");
        asked.headers.push(("retry-after".into(), "7".into()));
        assert_eq!(
            judge(StepKind::DeleteFile, 1, asked),
            Judgement::Retry { wait_ms: 7000 }
        );
    }

    #[test]
    fn no_answer_retries_a_delete_and_fails_it_at_the_end() {
        let none = RunReply::transport_error("timed out");
        assert_eq!(
            judge(StepKind::DeleteDir, 1, none.clone()),
            Judgement::Retry { wait_ms: 500 }
        );
        assert!(
            failed(&judge(StepKind::DeleteDir, MAX_DELETE_ATTEMPTS, none)).contains("No answer")
        );
    }

    #[test]
    fn nothing_is_retried_once_the_run_is_stopping() {
        let busy = RunReply::text(503, "text/plain", "");
        assert_eq!(
            failed(&judge_reply(StepKind::DeleteDir, 1, &busy, false)),
            "HTTP 503."
        );
    }

    #[test]
    fn a_restart_that_gets_no_answer_or_a_gateway_error_counts_as_restarting() {
        for reply in [
            RunReply::transport_error("connection reset"),
            RunReply::text(502, "text/html", "<html>Bad Gateway</html>"),
            RunReply::text(503, "text/plain", ""),
        ] {
            assert!(matches!(
                judge(StepKind::RestartKudu, 1, reply),
                Judgement::Done {
                    note: Some(_),
                    confirm_gone: false
                }
            ));
        }
        // Restarts are never sent again, not even after a 429.
        let throttled = judge(
            StepKind::RestartKudu,
            1,
            RunReply::text(429, "text/plain", ""),
        );
        assert_eq!(failed(&throttled), "HTTP 429.");
    }

    fn lock_release(holder: &str, acquired: Timestamp) -> Step {
        Step {
            kind: StepKind::DeleteFile,
            request: crate::plan::StepRequest {
                method: "DELETE",
                path: "/api/vfs/site/locks/deployment/info.lock".into(),
                headers: vec![("If-Match", crate::plan::paths::IF_MATCH_FROM_RECHECK.into())],
            },
            precondition: Precondition::All(vec![
                Precondition::BackupVerified,
                Precondition::LockUnchanged {
                    holder_operation: Some(holder.into()),
                    acquired: Some(acquired),
                },
            ]),
            expect: String::new(),
            risk: String::new(),
            group: 1,
            optional: false,
        }
    }

    fn held(holder: &str, acquired: Timestamp) -> Observed<LockInfo> {
        Observed::Value(LockInfo {
            holder_operation: Some(holder.into()),
            worker: None,
            pid: None,
            acquired: Some(acquired),
            expires: None,
        })
    }

    #[test]
    fn only_the_linux_lock_release_waits_for_a_lock_read() {
        let t = Timestamp::from_unix_millis(1_795_692_000_000);
        assert!(releases_linux_lock(&lock_release("op", t)));
        let mut status = lock_release("op", t);
        status.request.path = "/api/vfs/site/locks/status.lock".into();
        assert!(!releases_linux_lock(&status));
        let mut old_dir_delete = lock_release("op", t);
        old_dir_delete.kind = StepKind::DeleteDir;
        old_dir_delete.request.path = "/api/vfs/site/locks/deployment/?recursive=true".into();
        assert!(!releases_linux_lock(&old_dir_delete));
        assert_eq!(lock_read().path, "/api/vfs/site/locks/deployment/info.lock");
    }

    #[test]
    fn a_reread_lock_goes_again_only_for_the_same_holder() {
        let op = "Performing continuous deployment";
        let t = Timestamp::from_unix_millis(1_795_692_000_000);
        let step = lock_release(op, t);
        assert_eq!(
            judge_lock_reread(&step, &Observed::Missing),
            LockReread::Gone
        );
        assert_eq!(
            judge_lock_reread(&step, &held(op, t)),
            LockReread::Unchanged
        );
        // The same operation name taken again later is a new holder.
        for other in [
            held(op, t.plus_secs(3)),
            held("Performing zip deployment", t),
        ] {
            let LockReread::ChangedHands(why) = judge_lock_reread(&step, &other) else {
                panic!("{other:?}")
            };
            assert!(why.contains("changed hands"), "{why}");
        }
        for unreadable in [
            Observed::SessionExpired,
            Observed::NotRead,
            Observed::Failed {
                status: 503,
                reason: "HTTP 503".into(),
            },
        ] {
            let LockReread::Unconfirmed(why) = judge_lock_reread(&step, &unreadable) else {
                panic!("{unreadable:?}")
            };
            assert!(why.contains("could not confirm"), "{why}");
        }
        // A release whose plan names no holder confirms nothing.
        let mut blind = step.clone();
        blind.precondition = Precondition::BackupVerified;
        assert!(matches!(
            judge_lock_reread(&blind, &held(op, t)),
            LockReread::Unconfirmed(_)
        ));
    }

    #[test]
    fn a_lock_release_waits_its_back_off_then_goes_out_as_a_lock_read() {
        let mut stage = DeleteStage {
            group: 1,
            queue: VecDeque::from([(0, 1)]),
            retries: vec![],
            checks: VecDeque::new(),
            in_flight: 0,
            window: 8,
            max: 8,
            restarted_kudu: false,
        };
        let t = Timestamp::from_unix_millis(0);
        assert_eq!(
            stage.release(t),
            [Outgoing::Step {
                step: 0,
                attempt: 1
            }]
        );
        stage.retry_at(t.plus_secs(1), 0, 2, true);
        assert!(stage.release(t).is_empty());
        assert!(!stage.is_over());
        assert_eq!(stage.next_retry(), Some(t.plus_secs(1)));
        assert_eq!(
            stage.release(t.plus_secs(1)),
            [Outgoing::LockCheck {
                step: 0,
                attempt: 2
            }]
        );
        assert!(!stage.is_over(), "the read holds the step's place");
        stage.answered();
        assert!(stage.is_over());
    }

    #[test]
    fn other_answers_fail_with_the_start_of_the_body() {
        let long = format!("  Access denied {}", "x".repeat(400));
        let reason = judge(
            StepKind::DeleteFile,
            1,
            RunReply::text(500, "text/plain", long),
        );
        let reason = failed(&reason);
        assert!(reason.starts_with("HTTP 500: Access denied x"));
        assert_eq!(reason.chars().count(), "HTTP 500: ".len() + EXCERPT_CHARS);
    }
}
