//! Running a [`CleanupPlan`]: backup, re-check, exact deletes, verify, as a sans-IO state
//! machine in the style of quinn-proto. The shell sends what [`CleanupRun::poll_requests`]
//! returns and hands every answer to [`CleanupRun::handle_reply`]; the run never performs I/O
//! and never reads a clock (`now` is always a parameter).
//!
//! Call order:
//! 1. [`CleanupRun::new`] (targeted plans) or [`CleanupRun::new_full_reset`] (which needs a
//!    [`Confirmation`], built only from the site name typed exactly), then optionally
//!    [`CleanupRun::with_optional_steps`], [`CleanupRun::with_max_in_flight`],
//!    [`CleanupRun::with_before`];
//! 2. loop: send every request of `poll_requests(now)` (any order, concurrently); for each
//!    answer call `handle_reply(id, reply, now)` and then `poll_requests(now)` again, since an
//!    answer usually releases the next requests; drain [`CleanupRun::poll_event`] for
//!    progress; when nothing is in flight and [`CleanupRun::poll_timeout`] is `Some(t)`, call
//!    `poll_requests` again at `t` (only while waiting for Kudu to come back after a restart);
//!    when [`CleanupRun::awaiting_backup_saved`] is true, nothing more is sent until the shell
//!    hands the user the file ([`CleanupRun::backup_file`]) and passes their
//!    [`BackupReceipt`] to [`CleanupRun::backup_saved`] (no deadline: the user may take
//!    minutes);
//! 3. stop when [`CleanupRun::outcome`] is `Some`. [`CleanupRun::log`] is every request and
//!    its answer.
//!
//! # Safety invariants
//!
//! `tests/cleanup_props.rs` checks each against a fake Kudu under random fault schedules.
//!
//! 1. **Nothing outside the plan is deleted.** Every destructive request is a plan step's
//!    [`StepRequest`](crate::plan::StepRequest), cloned, never rebuilt from text; a plan with a
//!    step outside [`paths::is_allowed`](crate::plan::paths::is_allowed) is refused whole. The
//!    one part filled in at send time is the Linux lock release's `If-Match`: the ETag of the
//!    run's latest read of `info.lock`, so a lock taken again since is refused by Kudu (412, or
//!    409 on Kudu-L), which stops the run as "the lock changed hands".
//! 2. **No delete before a verified backup the user holds.** The delete stage can only be
//!    built from a `backup::VerifiedBackup`, which only exists once both archives opened, every
//!    file entry matched its CRC-32, and each held every entry of its folder's VFS listing
//!    (read beside the zip: the top level, files with the listed size) and every name the plan
//!    deletes; Kudu's zip skips files it cannot open, and each one missing is named. The first
//!    re-check starts only after the user's [`BackupReceipt`] for that file.
//! 3. **No delete on a precondition that no longer holds.** Before each group of destructive
//!    steps the site is read afresh, in one round, and every precondition re-checked
//!    (`recheck::RecheckPassed` is the delete stage's other ingredient), along with guards that
//!    hold for every group: nothing progresses, no scan, nobody new holds the lock. Anything
//!    changed or unconfirmable stops the run with nothing more sent. The only differences
//!    accepted are Kudu's own reactions to the run's finished steps (hung deployments marked
//!    failed and purged, Windows' old lock file lingering until Kudu's next check); they show
//!    as notes.
//! 4. **A failed step stops the destructive part.** Later groups are not run; the site is read
//!    again so the outcome states its true state. A delete that was throttled (429, 502-504)
//!    or got no answer is sent again, exactly as planned, at most [`MAX_DELETE_ATTEMPTS`]
//!    times in all, with fewer deletes in flight; only then does it count as failed.
//!    The Linux lock's release is never sent again blindly (Kudu-L deletes the lock without
//!    checking who holds it, so a resend after a release that worked could delete the next
//!    deployment's lock): after its back-off `info.lock` is read, and the release goes again
//!    only while the holder the re-check saw still holds it. A free lock means it worked; any
//!    other holder, or no usable answer, stops the run with nothing more destructive sent.
//! 5. **Never claim success.** [`Outcome::Fixed`] only when every step succeeded and the final
//!    read shows the lock free, nothing deploying, every deleted folder gone and every entry
//!    whose delete answered 404 ("already gone", but also Kudu's answer to a delete that threw)
//!    really gone.
//!
//! # Rounds
//!
//! A run of a Linux stale lock with leftover folders takes seven round trips, however many
//! folders: the backup, one re-check, the lock, a two-round re-check (the lock is free now, so
//! "nothing is deploying" must be read again; its deployment list makes Kudu purge the leftover
//! temporary deployments, kudu-facts 1.3, and `site/deployments/` is listed after it), the
//! deletes of whatever that listing still shows, [`LEFTOVER_MAX_IN_FLIGHT`] at a time, and the
//! final read. Planned entries the re-check reads as already gone are not sent; the final read
//! must confirm them gone like any other delete. The logs a re-check needs are known from the
//! plan, so they are fetched while the backup downloads (the first re-check waits for them, so
//! the child logs they name go in its first round too) and re-read in the re-check's first
//! round.
//!
//! # Where things are
//!
//! - `wire`: the requests a shell sends and the replies it hands back;
//! - `outcome`: step states, events, the activity log and how the run ended;
//! - `timers`: every wait and deadline, in one table;
//! - `backup`: the two archives, checked before they count as the proof deletes need;
//! - `survey` and `recheck`: the fresh reads before each group and their judgement;
//! - `delete_stage`: sending a group's steps, judging each answer, and the lock re-read before
//!   the Linux lock's release goes again;
//! - `verdict`: what the final read says about the site;
//! - `coordinator`: [`CleanupRun`], the stages and the moves between them.

pub mod backup;
mod coordinator;
pub mod crc32;
mod delete_stage;
pub mod inflate;
mod outcome;
mod recheck;
mod requests;
mod survey;
mod timers;
mod verdict;
mod wire;
pub mod zip_index;
pub mod zip_writer;

pub use coordinator::{
    Acknowledgement, BackupReceipt, CleanupRun, Confirmation, MAX_READ_ATTEMPTS,
};
pub use delete_stage::{DEFAULT_MAX_IN_FLIGHT, LEFTOVER_MAX_IN_FLIGHT, MAX_DELETE_ATTEMPTS};
pub use outcome::{ActivityEntry, EXCERPT_CHARS, Outcome, RunEvent, StepFailure, StepState};
pub use timers::{
    DELETE_RETRY_BASE_MS, KUDU_FIRST_PROBE_SECS, KUDU_PROBE_INTERVAL_SECS,
    KUDU_RESTART_DEADLINE_SECS, MAX_RETRY_AFTER_SECS,
};
pub use wire::{ReplyBody, RequestId, RequestPurpose, RunReply, RunRequest};

#[cfg(doc)]
use crate::plan::CleanupPlan;
