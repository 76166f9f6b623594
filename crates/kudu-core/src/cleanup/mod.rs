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
//! 3. stop when [`CleanupRun::outcome`] is `Some`. [`CleanupRun::backup_file`] is the download
//!    as soon as the backup was checked; [`CleanupRun::log`] is every request and its answer.
//!
//! # Safety invariants
//!
//! `tests/cleanup_props.rs` checks each against a fake Kudu under random fault schedules.
//!
//! 1. **Nothing outside the plan is deleted.** Every destructive request is a plan step's
//!    [`StepRequest`](crate::plan::StepRequest), cloned, never rebuilt from text; a plan with a
//!    step outside [`paths::is_allowed`](crate::plan::paths::is_allowed) is refused whole.
//! 2. **No delete before a verified backup.** The delete stage can only be built from a
//!    `backup::VerifiedBackup`, which only exists once both archives opened, were non-empty
//!    where the listing was, and held every name the plan deletes.
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

pub mod backup;
pub mod crc32;
mod recheck;
mod survey;
mod verdict;
pub mod zip_index;
pub mod zip_writer;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use crate::diagnose::Diagnosis;
use crate::plan::paths::{delete_target, is_allowed};
use crate::plan::{CleanupPlan, PlanKind, StepKind};
use crate::reads::{HttpReply, Read};
use crate::session::Session;
use crate::time::Timestamp;

use backup::{CheckedArchive, VerifiedBackup};
use recheck::{LockFileSeen, RecheckInput, RecheckPassed};
use survey::{Scope, Survey};

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
/// already gone answers 404, which the final read must then confirm. Restarts are never sent
/// again.
pub const MAX_DELETE_ATTEMPTS: u8 = 3;
/// The wait before sending a throttled delete again, times the attempt number, unless the
/// answer's `Retry-After` asks for longer (at most [`MAX_RETRY_AFTER_SECS`]).
pub const DELETE_RETRY_BASE_MS: i64 = 500;
/// The longest `Retry-After` the run honours.
pub const MAX_RETRY_AFTER_SECS: i64 = 30;
/// How long Kudu may take to answer again after `DELETE /api/processes/0`.
pub const KUDU_RESTART_DEADLINE_SECS: i64 = 120;
/// The first probe waits this long: the dying process may still answer for a moment.
pub const KUDU_FIRST_PROBE_SECS: i64 = 5;
pub const KUDU_PROBE_INTERVAL_SECS: i64 = 3;
/// A read that failed below HTTP or with 500/502/503/504 is sent again, at most this many times
/// in all. Deletes are never repeated.
pub const MAX_READ_ATTEMPTS: u8 = 3;
/// The activity log keeps this much of each answer.
pub const EXCERPT_CHARS: usize = 200;

/// A request id, unique within one run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub struct RequestId(pub u64);

/// Why a request is sent.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RequestPurpose {
    /// Download the zip of a plan step (`step` indexes `plan.steps`).
    Backup { step: usize },
    /// Re-read before the destructive steps of `group`.
    Recheck { group: u32 },
    /// A deployment log a later re-check names, read while the backup downloads so that the
    /// re-check knows which child log to read in the same round.
    LogPrefetch,
    /// A destructive plan step, sent exactly as planned.
    Step { step: usize },
    /// Is Kudu answering again after its restart?
    WaitForKudu,
    /// The final read.
    Verify,
}

/// One HTTP request for the shell to send, relative to the SCM origin.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RunRequest {
    pub id: RequestId,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    /// Hand the body back as bytes ([`ReplyBody::Bytes`]): it is a zip.
    pub keep_bytes: bool,
    pub purpose: RequestPurpose,
}

/// A reply body as the shell read it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReplyBody {
    Bytes(Vec<u8>),
    Text(String),
}

impl Default for ReplyBody {
    fn default() -> Self {
        ReplyBody::Text(String::new())
    }
}

impl ReplyBody {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ReplyBody::Bytes(b) => String::from_utf8_lossy(b),
            ReplyBody::Text(t) => std::borrow::Cow::Borrowed(t),
        }
    }
}

/// What came back for a [`RunRequest`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RunReply {
    /// 0 when there was no HTTP answer (network error, opaque redirect).
    pub status: u16,
    pub content_type: Option<String>,
    /// Headers that matter, names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
    /// Set when the request failed below HTTP (timeout, connection reset).
    pub transport_error: Option<String>,
}

impl RunReply {
    /// A text answer (JSON, HTML, plain text).
    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        RunReply {
            status,
            content_type: Some(content_type.to_string()),
            body: ReplyBody::Text(body.into()),
            ..RunReply::default()
        }
    }

    /// A binary answer (a zip).
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        RunReply {
            status,
            content_type: Some(content_type.to_string()),
            body: ReplyBody::Bytes(body),
            ..RunReply::default()
        }
    }

    /// No HTTP answer at all.
    pub fn transport_error(error: impl Into<String>) -> Self {
        RunReply {
            transport_error: Some(error.into()),
            ..RunReply::default()
        }
    }

    fn to_http(&self) -> HttpReply {
        HttpReply {
            status: self.status,
            content_type: self.content_type.clone(),
            body: self.body.text().into_owned(),
            headers: self.headers.clone(),
            transport_error: self.transport_error.clone(),
        }
    }

    /// Worth sending a read again: no answer, a server error or a gateway/unavailable status.
    fn is_transient(&self) -> bool {
        self.transport_error.is_some() || matches!(self.status, 500 | 502..=504)
    }

    fn looks_like_html(&self) -> bool {
        let ct_html = self
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
        let text = self.body.text();
        let head = text.trim_start();
        ct_html
            || head.starts_with('<')
                && head
                    .get(..64.min(head.len()))
                    .is_some_and(|h| h.to_ascii_lowercase().contains("html"))
    }
}

/// A failed step, for the outcome and the UI.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct StepFailure {
    /// Index into `plan.steps`; `None` when the failure was Kudu not coming back.
    pub step: Option<usize>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub reason: String,
}

/// How the run ended. The UI maps it to `data-outcome` with [`Outcome::as_str`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step succeeded and the final read shows the lock free and nothing deploying.
    Fixed,
    /// Something failed or the site is still not accepting deployments; `state_description`
    /// says what the final read showed.
    Failed {
        step: Option<StepFailure>,
        state_description: String,
    },
    /// Stopped on purpose: the backup failed, or the site changed under the plan. `changes`
    /// lists what changed (show it and re-diagnose).
    Aborted {
        reason: String,
        changes: Vec<String>,
    },
}

impl Outcome {
    /// `fixed`, `failed` or `aborted`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Fixed => "fixed",
            Outcome::Failed { .. } => "failed",
            Outcome::Aborted { .. } => "aborted",
        }
    }
}

/// Where one plan step stands.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum StepState {
    Pending,
    /// Optional and not chosen.
    Skipped,
    Running,
    Done {
        note: Option<String>,
    },
    Failed {
        reason: String,
    },
    /// The run stopped before this step.
    NotRun,
}

/// Progress the user sees, in order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEvent {
    BackupStarted,
    /// One archive opened and held what the listing showed.
    BackupChecked {
        dir: String,
        entries: usize,
        bytes: usize,
    },
    /// The download is ready ([`CleanupRun::backup_file`]).
    BackupReady {
        file_name: String,
        bytes: usize,
    },
    RecheckStarted {
        group: u32,
    },
    /// Nothing changed; `notes` are differences the run's own steps explain.
    RecheckPassed {
        group: u32,
        notes: Vec<String>,
    },
    StepStarted {
        step: usize,
    },
    StepDone {
        step: usize,
        note: Option<String>,
    },
    StepFailed {
        step: usize,
        reason: String,
    },
    /// Every step of `group` was answered (or the group stopped at a failure).
    GroupDone {
        group: u32,
    },
    WaitingForKudu {
        until: Timestamp,
    },
    KuduAnswers,
    VerifyStarted,
    Finished {
        outcome: Outcome,
    },
}

/// One request and its answer, for the on-screen activity log.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ActivityEntry {
    pub id: RequestId,
    pub method: String,
    pub path: String,
    pub sent_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    /// `None` until answered; 0 when there was no HTTP answer.
    pub status: Option<u16>,
    /// The start of the body (text), or its size and type (bytes).
    pub excerpt: String,
    pub transport_error: Option<String>,
}

/// Proof that the user typed the site name for a full reset. Only [`Confirmation::typed`]
/// builds one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Confirmation {
    site_name: String,
}

impl Confirmation {
    /// `Some` only when `typed_text` is exactly the (non-empty) site name.
    pub fn typed(site_name: &str, typed_text: &str) -> Option<Confirmation> {
        (!site_name.is_empty() && typed_text == site_name).then(|| Confirmation {
            site_name: site_name.to_string(),
        })
    }

    pub fn site_name(&self) -> &str {
        &self.site_name
    }
}

/// What happens once the final read is in.
#[derive(Debug)]
enum AfterVerify {
    Judge,
    Abort {
        reason: String,
        changes: Vec<String>,
    },
}

/// The run's stage. Each destructive stage holds the proof it needs to exist.
enum Stage {
    Backup {
        archives: BTreeMap<usize, Vec<u8>>,
    },
    Recheck {
        group: u32,
        survey: Box<Survey>,
    },
    Delete(DeleteStage),
    AwaitKudu {
        deadline: Timestamp,
        next_probe: Timestamp,
        probing: bool,
    },
    Verify {
        survey: Box<Survey>,
        then: AfterVerify,
    },
    Done,
}

/// Sending one group's destructive steps, at most `window` at a time.
struct DeleteStage {
    group: u32,
    /// `(step, attempt)` not yet sent.
    queue: VecDeque<(usize, u8)>,
    /// Throttled deletes waiting for their back-off: `(not before, step, attempt)`.
    retries: Vec<(Timestamp, usize, u8)>,
    in_flight: usize,
    /// The bound now: `max` until throttling halves it, then growing back by one per success.
    window: usize,
    max: usize,
    restarted_kudu: bool,
}

impl DeleteStage {
    /// Needs both proofs: the backup was verified and this group's re-check passed.
    fn new(
        _backup: &VerifiedBackup,
        passed: &RecheckPassed,
        steps: Vec<usize>,
        max: usize,
    ) -> Self {
        DeleteStage {
            group: passed.group(),
            queue: steps.into_iter().map(|s| (s, 1)).collect(),
            retries: vec![],
            in_flight: 0,
            window: max,
            max,
            restarted_kudu: false,
        }
    }

    fn throttled(&mut self) {
        self.window = (self.window / 2).max(1);
    }

    fn succeeded(&mut self) {
        self.window = (self.window + 1).min(self.max);
    }
}

/// What a pending request was for.
enum Pending {
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
    },
    /// A log read while the backup downloads (see [`RequestPurpose::LogPrefetch`]).
    Prefetch {
        read: Read,
    },
    Probe,
}

/// A cleanup plan being run. See the module docs for the call order and the invariants.
pub struct CleanupRun {
    plan: CleanupPlan,
    site_name: String,
    started_at: Timestamp,
    max_in_flight: usize,
    leftover_max_in_flight: usize,
    include_optional: bool,
    before: Option<Diagnosis>,
    after: Option<Diagnosis>,
    stage: Stage,
    steps: Vec<StepState>,
    /// Destructive groups, ascending; `next_group` indexes it.
    groups: Vec<u32>,
    next_group: usize,
    backup: Option<VerifiedBackup>,
    next_id: u64,
    pending: BTreeMap<RequestId, Pending>,
    outbox: VecDeque<(RequestId, Pending)>,
    events: Vec<RunEvent>,
    event_cursor: usize,
    log: Vec<ActivityEntry>,
    outcome: Option<Outcome>,
    /// Destructive steps that finished, in words.
    done: Vec<String>,
    failure: Option<StepFailure>,
    /// Deployment ids at the first re-check that read the list: later, a new id is a change.
    known_deployments: Option<BTreeSet<String>>,
    /// Windows: `deployments.lock` as last seen (diagnosis or re-check).
    windows_lock_before: Option<LockFileSeen>,
    started: bool,
    surveys: u64,
    /// Deployment id → the id of its log's newest top-level line that has children, from the
    /// prefetch or the latest re-check: the next re-check reads those children in its one
    /// round.
    log_children: BTreeMap<String, String>,
    /// Logs read while the backup downloads.
    prefetched: Session,
    /// The backup is in and checked, and the first re-check waits for log prefetches still
    /// in flight: they answer about when the zips do, and a child log they name then goes in
    /// the re-check's one round instead of a second one.
    first_group_waits: bool,
    /// Steps whose delete answered 404, or that were not sent because a re-check read their
    /// target as already gone: the final read must show them gone.
    confirm_gone: BTreeSet<usize>,
}

impl CleanupRun {
    /// A run of a targeted plan. A full reset plan is refused here (the run ends aborted at
    /// once): it needs [`CleanupRun::new_full_reset`] and the typed confirmation.
    pub fn new(plan: CleanupPlan, site_name: &str, started_at: Timestamp) -> Self {
        let refuse_full_reset = plan.kind == PlanKind::FullReset;
        let mut run = CleanupRun::build(plan, site_name, started_at);
        if refuse_full_reset {
            run.finish(Outcome::Aborted {
                reason: "A full reset needs its own confirmation: type the site name.".into(),
                changes: vec![],
            });
        }
        run
    }

    /// A run of a full reset plan (or any plan), confirmed by the typed site name.
    pub fn new_full_reset(
        plan: CleanupPlan,
        confirmation: Confirmation,
        started_at: Timestamp,
    ) -> Self {
        CleanupRun::build(plan, &confirmation.site_name, started_at)
    }

    fn build(plan: CleanupPlan, site_name: &str, started_at: Timestamp) -> Self {
        let steps = vec![StepState::Pending; plan.steps.len()];
        let mut run = CleanupRun {
            plan,
            site_name: site_name.to_string(),
            started_at,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            leftover_max_in_flight: LEFTOVER_MAX_IN_FLIGHT,
            include_optional: false,
            before: None,
            after: None,
            stage: Stage::Backup {
                archives: BTreeMap::new(),
            },
            steps,
            groups: vec![],
            next_group: 0,
            backup: None,
            next_id: 0,
            pending: BTreeMap::new(),
            outbox: VecDeque::new(),
            events: vec![],
            event_cursor: 0,
            log: vec![],
            outcome: None,
            done: vec![],
            failure: None,
            windows_lock_before: None,
            known_deployments: None,
            started: false,
            surveys: 0,
            log_children: BTreeMap::new(),
            prefetched: Session::new(),
            first_group_waits: false,
            confirm_gone: BTreeSet::new(),
        };
        if let Some(why) = run.refusal() {
            run.finish(Outcome::Aborted {
                reason: why,
                changes: vec![],
            });
        }
        run
    }

    /// Include the plan's optional steps (restarting the app worker). Call before the first
    /// `poll_requests`.
    pub fn with_optional_steps(mut self, include: bool) -> Self {
        self.include_optional = include;
        self
    }

    /// Concurrent destructive requests within any group (at least 1), the leftover group
    /// included; by default [`DEFAULT_MAX_IN_FLIGHT`], and [`LEFTOVER_MAX_IN_FLIGHT`] for the
    /// leftover deletes.
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self.leftover_max_in_flight = self.max_in_flight;
        self
    }

    /// The diagnosis the plan came from, shown as "before".
    pub fn with_before(mut self, diagnosis: Diagnosis) -> Self {
        if diagnosis.personality == crate::model::Personality::Windows {
            self.windows_lock_before = Some(if diagnosis.lock.windows_lock_file {
                LockFileSeen::Written(diagnosis.lock.acquired)
            } else {
                LockFileSeen::NotListed
            });
        }
        self.before = Some(diagnosis);
        self
    }

    pub fn plan(&self) -> &CleanupPlan {
        &self.plan
    }

    /// One state per `plan().steps`.
    pub fn step_states(&self) -> &[StepState] {
        &self.steps
    }

    pub fn before(&self) -> Option<&Diagnosis> {
        self.before.as_ref()
    }

    /// The diagnosis of the final read.
    pub fn after(&self) -> Option<&Diagnosis> {
        self.after.as_ref()
    }

    /// `(file name, bytes)` of the one backup file, once both archives were checked (a copy;
    /// see [`CleanupRun::backup_file_ref`]).
    pub fn backup_file(&self) -> Option<(String, Vec<u8>)> {
        self.backup_file_ref()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
    }

    /// The backup file without copying it.
    pub fn backup_file_ref(&self) -> Option<(&str, &[u8])> {
        self.backup.as_ref().map(|b| (b.file_name(), b.bytes()))
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn log(&self) -> &[ActivityEntry] {
        &self.log
    }

    /// Every event so far.
    pub fn events(&self) -> &[RunEvent] {
        &self.events
    }

    /// The next event not yet polled.
    pub fn poll_event(&mut self) -> Option<RunEvent> {
        let event = self.events.get(self.event_cursor).cloned();
        if event.is_some() {
            self.event_cursor += 1;
        }
        event
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// When to call `poll_requests` again even without a reply (waiting for Kudu, or for a
    /// throttled delete's back-off).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.outcome.is_some() {
            return None;
        }
        match &self.stage {
            Stage::AwaitKudu {
                deadline,
                next_probe,
                probing,
            } => Some(if *probing {
                *deadline
            } else {
                (*next_probe).min(*deadline)
            }),
            Stage::Delete(stage) => stage.retries.iter().map(|(at, _, _)| *at).min(),
            _ => None,
        }
    }

    /// Kudu was restarted and the run waits for it to answer again.
    pub fn waiting_for_kudu(&self) -> bool {
        self.outcome.is_none() && matches!(self.stage, Stage::AwaitKudu { .. })
    }

    /// The requests to send now.
    pub fn poll_requests(&mut self, now: Timestamp) -> Vec<RunRequest> {
        if self.outcome.is_none() && !self.started {
            self.started = true;
            self.start_backup();
        }
        if self.outcome.is_none() {
            self.tick(now);
        }
        let mut out = vec![];
        while let Some((id, pending)) = self.outbox.pop_front() {
            let (method, path, headers, keep_bytes, purpose) = self.describe(&pending);
            self.log.push(ActivityEntry {
                id,
                method: method.to_string(),
                path: path.clone(),
                sent_at: now,
                answered_at: None,
                status: None,
                excerpt: String::new(),
                transport_error: None,
            });
            if let Pending::Step { step, attempt: 1 } = &pending {
                self.steps[*step] = StepState::Running;
                self.events.push(RunEvent::StepStarted { step: *step });
            }
            self.pending.insert(id, pending);
            out.push(RunRequest {
                id,
                method,
                path,
                headers,
                keep_bytes,
                purpose,
            });
        }
        out
    }

    /// Takes the answer to a request. Answers to unknown ids, or arriving after the run ended,
    /// are logged and otherwise ignored.
    pub fn handle_reply(&mut self, id: RequestId, reply: RunReply, now: Timestamp) {
        self.log_reply(id, &reply, now);
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        if self.outcome.is_some() {
            return;
        }
        match pending {
            Pending::Backup { step, attempt } => self.on_backup(step, attempt, reply),
            Pending::SurveyRead {
                read,
                attempt,
                group,
            } => self.on_survey_read(read, attempt, group, &reply, now),
            Pending::Step { step, attempt } => self.on_step(step, attempt, &reply, now),
            Pending::Prefetch { read } => self.on_prefetch(&read, &reply),
            Pending::Probe => self.on_probe(&reply, now),
        }
    }

    // ------------------------------------------------------------------ set-up

    /// Why this plan cannot be run at all.
    fn refusal(&self) -> Option<String> {
        let plan = &self.plan;
        if plan.steps.is_empty() {
            return Some(
                plan.not_offered
                    .clone()
                    .unwrap_or_else(|| "The plan has no steps.".into()),
            );
        }
        if !plan.steps.iter().all(|s| is_allowed(&s.request)) {
            return Some(
                "The plan has a step outside the paths Kudu Doctor may touch; nothing was run."
                    .into(),
            );
        }
        let destructive = plan.steps.iter().any(|s| s.kind.is_destructive());
        let backups: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Backup)
            .filter_map(|s| backup::backup_dir(&s.request.path))
            .collect();
        let both = [
            crate::plan::paths::LOCKS_DIR,
            crate::plan::paths::DEPLOYMENTS_DIR,
        ]
        .iter()
        .all(|d| backups.contains(d));
        if destructive && !both {
            return Some("The plan does not back up both site/locks/ and site/deployments/ first; nothing was run.".into());
        }
        None
    }

    fn included(&self, index: usize) -> bool {
        let step = &self.plan.steps[index];
        step.kind.is_destructive() && (!step.optional || self.include_optional)
    }

    fn start_backup(&mut self) {
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.optional && !self.include_optional {
                self.steps[i] = StepState::Skipped;
            }
        }
        let mut groups: Vec<u32> = (0..self.plan.steps.len())
            .filter(|&i| self.included(i))
            .map(|i| self.plan.steps[i].group)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        self.groups = groups;
        self.events.push(RunEvent::BackupStarted);
        let backups: Vec<usize> = (0..self.plan.steps.len())
            .filter(|&i| self.plan.steps[i].kind == StepKind::Backup)
            .collect();
        for step in backups {
            self.steps[step] = StepState::Running;
            self.send(Pending::Backup { step, attempt: 1 });
        }
        // The re-checks read these logs again; reading them now, while the zips download,
        // tells the first re-check which child logs to read in its one round.
        let mut logs: Vec<String> = vec![];
        for &group in &self.groups.clone() {
            for id in self.required_logs(group) {
                if !logs.contains(&id) {
                    logs.push(id);
                }
            }
        }
        for read in survey::log_reads(&logs) {
            self.send(Pending::Prefetch { read });
        }
    }

    /// A prefetched log: remember the child log its newest line points to. A failed read is
    /// no loss: the re-check then reads the children in a second round.
    fn on_prefetch(&mut self, read: &Read, reply: &RunReply) {
        self.prefetched
            .ingest(&read.id, &read.path, &reply.to_http());
        self.log_children
            .extend(survey::newest_children(&self.prefetched));
        if self.first_group_waits && !self.prefetch_in_flight() {
            self.first_group_waits = false;
            self.start_next_group();
        }
    }

    fn prefetch_in_flight(&self) -> bool {
        self.pending
            .values()
            .any(|pending| matches!(pending, Pending::Prefetch { .. }))
    }

    fn send(&mut self, pending: Pending) {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.outbox.push_back((id, pending));
    }

    fn describe(
        &self,
        pending: &Pending,
    ) -> (
        &'static str,
        String,
        Vec<(&'static str, String)>,
        bool,
        RequestPurpose,
    ) {
        match pending {
            Pending::Backup { step, .. } => {
                let r = &self.plan.steps[*step].request;
                (
                    r.method,
                    r.path.clone(),
                    r.headers.clone(),
                    true,
                    RequestPurpose::Backup { step: *step },
                )
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
            Pending::Step { step, .. } => {
                let r = &self.plan.steps[*step].request;
                (
                    r.method,
                    r.path.clone(),
                    r.headers.clone(),
                    false,
                    RequestPurpose::Step { step: *step },
                )
            }
            Pending::Probe => (
                "GET",
                "/api/environment".to_string(),
                vec![("Accept", "application/json".to_string())],
                false,
                RequestPurpose::WaitForKudu,
            ),
        }
    }

    fn log_reply(&mut self, id: RequestId, reply: &RunReply, now: Timestamp) {
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
    }

    fn finish(&mut self, outcome: Outcome) {
        for state in &mut self.steps {
            if matches!(state, StepState::Pending | StepState::Running) {
                *state = StepState::NotRun;
            }
        }
        self.outbox.clear();
        self.stage = Stage::Done;
        self.events.push(RunEvent::Finished {
            outcome: outcome.clone(),
        });
        self.outcome = Some(outcome);
    }

    // ------------------------------------------------------------------ backup

    fn on_backup(&mut self, step: usize, attempt: u8, reply: RunReply) {
        let dir = backup::backup_dir(&self.plan.steps[step].request.path).unwrap_or("the folder");
        if reply.is_transient() && attempt < MAX_READ_ATTEMPTS {
            self.send(Pending::Backup {
                step,
                attempt: attempt + 1,
            });
            return;
        }
        let problem = if let Some(e) = &reply.transport_error {
            Some(format!(
                "the download of {dir} failed before Kudu answered ({e})"
            ))
        } else if matches!(reply.status, 0 | 401 | 403 | 300..=399) {
            Some(format!(
                "the download of {dir} was refused (HTTP {}): the SCM session probably expired",
                reply.status
            ))
        } else if reply.status != 200 {
            Some(format!(
                "Kudu answered HTTP {} to the download of {dir}",
                reply.status
            ))
        } else if reply.looks_like_html() {
            Some(format!(
                "Kudu answered the download of {dir} with a web page (probably the sign-in page), not a zip"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.steps[step] = StepState::Failed {
                reason: problem.clone(),
            };
            self.abort_backup(format!("The backup failed: {problem}."));
            return;
        }
        let bytes = match reply.body {
            ReplyBody::Bytes(b) => b,
            ReplyBody::Text(t) => t.into_bytes(),
        };
        if let Stage::Backup { archives } = &mut self.stage {
            archives.insert(step, bytes);
        }
        self.steps[step] = StepState::Done { note: None };
        let all_in = match &self.stage {
            Stage::Backup { archives } => self
                .plan
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.kind == StepKind::Backup)
                .all(|(i, _)| archives.contains_key(&i)),
            _ => false,
        };
        if all_in {
            self.check_backups();
        }
    }

    fn abort_backup(&mut self, reason: String) {
        self.finish(Outcome::Aborted {
            reason: format!("{reason} Nothing was deleted."),
            changes: vec![],
        });
    }

    fn check_backups(&mut self) {
        let Stage::Backup { archives } = std::mem::replace(&mut self.stage, Stage::Done) else {
            return;
        };
        let included: Vec<&crate::plan::Step> = (0..self.plan.steps.len())
            .filter(|&i| self.included(i))
            .map(|i| &self.plan.steps[i])
            .collect();
        let mut checked = vec![];
        let mut failure = None;
        for (step, bytes) in archives {
            let Some(dir) = backup::backup_dir(&self.plan.steps[step].request.path) else {
                failure = Some("a backup step names a folder Kudu Doctor does not know".into());
                break;
            };
            let expect = backup::expectation(dir, &included);
            match backup::check_archive(dir, &bytes, &expect) {
                Ok(index) => {
                    self.events.push(RunEvent::BackupChecked {
                        dir: dir.to_string(),
                        entries: index.entries.len(),
                        bytes: bytes.len(),
                    });
                    checked.push(CheckedArchive { dir, bytes, index });
                }
                Err(why) => {
                    self.steps[step] = StepState::Failed {
                        reason: why.clone(),
                    };
                    failure = Some(why);
                    break;
                }
            }
        }
        if let Some(why) = failure {
            self.abort_backup(why);
            return;
        }
        match backup::combine(&self.site_name, self.started_at, &checked) {
            Ok(verified) => {
                self.events.push(RunEvent::BackupReady {
                    file_name: verified.file_name().to_string(),
                    bytes: verified.bytes().len(),
                });
                self.backup = Some(verified);
                if self.prefetch_in_flight() {
                    self.first_group_waits = true;
                } else {
                    self.start_next_group();
                }
            }
            Err(why) => self.abort_backup(why),
        }
    }

    // ------------------------------------------------------------------ re-check

    fn start_next_group(&mut self) {
        let Some(&group) = self.groups.get(self.next_group) else {
            self.start_verify(AfterVerify::Judge);
            return;
        };
        if self.failure.is_some() {
            self.start_verify(AfterVerify::Judge);
            return;
        }
        let logs = self.required_logs(group);
        let children: Vec<(String, String)> = logs
            .iter()
            .filter_map(|id| Some((id.clone(), self.log_children.get(id)?.clone())))
            .collect();
        let mut survey = Survey::new(logs, children);
        if !self.done.is_empty() && self.is_leftover_group(&self.group_steps(group)) {
            survey = survey.list_folders_after_the_list();
        }
        let mut survey = Box::new(survey);
        let reads = survey.first_round(Scope::Preconditions, self.cache_bust());
        self.stage = Stage::Recheck { group, survey };
        self.events.push(RunEvent::RecheckStarted { group });
        for read in reads {
            self.send(Pending::SurveyRead {
                read,
                attempt: 1,
                group: Some(group),
            });
        }
    }

    fn cache_bust(&mut self) -> u64 {
        self.surveys += 1;
        (self.started_at.unix_millis().unsigned_abs() / 1000)
            .wrapping_mul(1000)
            .wrapping_add(self.surveys)
    }

    fn group_steps(&self, group: u32) -> Vec<usize> {
        (0..self.plan.steps.len())
            .filter(|&i| self.included(i) && self.plan.steps[i].group == group)
            .collect()
    }

    /// Logs the group's preconditions name (a handful: see `plan::steps::unchanged_guards`).
    fn required_logs(&self, group: u32) -> Vec<String> {
        fn collect(p: &crate::plan::Precondition, out: &mut Vec<String>) {
            match p {
                crate::plan::Precondition::LogUnchanged { deployment_id, .. }
                    if !out.contains(deployment_id) =>
                {
                    out.push(deployment_id.clone());
                }
                crate::plan::Precondition::All(all) => all.iter().for_each(|p| collect(p, out)),
                _ => {}
            }
        }
        let mut out = vec![];
        for i in self.group_steps(group) {
            collect(&self.plan.steps[i].precondition, &mut out);
        }
        out
    }

    fn on_survey_read(
        &mut self,
        read: Read,
        attempt: u8,
        group: Option<u32>,
        reply: &RunReply,
        now: Timestamp,
    ) {
        if reply.is_transient() && attempt < MAX_READ_ATTEMPTS {
            self.send(Pending::SurveyRead {
                read,
                attempt: attempt + 1,
                group,
            });
            return;
        }
        let http = reply.to_http();
        let survey = match &mut self.stage {
            Stage::Recheck { survey, .. } | Stage::Verify { survey, .. } => survey,
            _ => return,
        };
        survey.ingest(&read, &http);
        let waiting = self
            .pending
            .values()
            .chain(self.outbox.iter().map(|(_, p)| p))
            .any(|p| matches!(p, Pending::SurveyRead { .. }));
        if waiting {
            return;
        }
        let next = survey.next_round();
        if !next.is_empty() {
            for read in next {
                self.send(Pending::SurveyRead {
                    read,
                    attempt: 1,
                    group,
                });
            }
            return;
        }
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Recheck { group, survey } => self.judge_recheck(group, &survey, now),
            Stage::Verify { survey, then } => self.judge_verify(&survey, then, now),
            other => self.stage = other,
        }
    }

    fn judge_recheck(&mut self, group: u32, survey: &Survey, now: Timestamp) {
        self.log_children
            .extend(survey::newest_children(&survey.session));
        let indices = self.group_steps(group);
        let input = RecheckInput {
            group,
            steps: indices.iter().map(|&i| &self.plan.steps[i]).collect(),
            own_changes_made: !self.done.is_empty(),
            windows_lock_before: self.windows_lock_before,
            windows_lock_first_look: survey.first_look,
            known_deployments: self.known_deployments.as_ref(),
        };
        match recheck::evaluate(&survey.session, now, &input) {
            Ok(passed) => {
                if let Some(seen) = passed.windows_lock() {
                    self.windows_lock_before = Some(seen);
                }
                if self.known_deployments.is_none() {
                    self.known_deployments = passed.deployment_ids().cloned();
                }
                self.events.push(RunEvent::RecheckPassed {
                    group,
                    notes: passed.notes().to_vec(),
                });
                let Some(backup) = &self.backup else {
                    // Unreachable by construction: re-checks start only after the backup.
                    self.abort_backup("The backup was not verified.".into());
                    return;
                };
                let max = if self.is_leftover_group(&indices) {
                    self.leftover_max_in_flight
                } else {
                    self.max_in_flight
                };
                let (gone, to_send): (Vec<usize>, Vec<usize>) =
                    indices.into_iter().partition(|&i| {
                        delete_target(&self.plan.steps[i].request).is_some_and(|(dir, name)| {
                            passed.already_gone().contains(&(dir, name.to_string()))
                        })
                    });
                for step in gone {
                    let note = Some(
                        "Already gone: Kudu removed it after the earlier steps, so no delete was sent; the final read confirms it.".to_string(),
                    );
                    self.steps[step] = StepState::Done { note: note.clone() };
                    self.events.push(RunEvent::StepDone { step, note });
                    self.confirm_gone.insert(step);
                }
                let stage = DeleteStage::new(backup, &passed, to_send, max);
                self.stage = Stage::Delete(stage);
                self.tick(now);
            }
            Err(changes) => {
                let reason = if self.done.is_empty() {
                    "The site changed since the diagnosis, so Kudu Doctor stopped before deleting anything. Re-run the diagnosis.".to_string()
                } else {
                    format!(
                        "The site changed during the cleanup, so Kudu Doctor stopped before the next steps. Already done: {}. Re-run the diagnosis.",
                        self.done.join("; ")
                    )
                };
                if self.done.is_empty() {
                    self.finish(Outcome::Aborted { reason, changes });
                } else {
                    self.start_verify(AfterVerify::Abort { reason, changes });
                }
            }
        }
    }

    // ------------------------------------------------------------------ deletes

    /// Every step deletes a listed entry of `site/deployments/`: independent, idempotent
    /// requests, which may go many at a time. Lock releases and restarts keep the small bound.
    fn is_leftover_group(&self, steps: &[usize]) -> bool {
        steps.iter().all(|&i| {
            let step = &self.plan.steps[i];
            matches!(step.kind, StepKind::DeleteDir | StepKind::DeleteFile)
                && delete_target(&step.request)
                    .is_some_and(|(dir, _)| dir == crate::plan::paths::DEPLOYMENTS_DIR)
        })
    }

    /// Moves time-driven and queue-driven work forward.
    fn tick(&mut self, now: Timestamp) {
        match &mut self.stage {
            Stage::Delete(stage) => {
                // Retries whose back-off is over go first, in the order they were throttled.
                let mut due = vec![];
                stage.retries.retain(|&(at, step, attempt)| {
                    if at <= now {
                        due.push((step, attempt));
                        false
                    } else {
                        true
                    }
                });
                for entry in due.into_iter().rev() {
                    stage.queue.push_front(entry);
                }
                let mut to_send = vec![];
                while stage.in_flight < stage.window {
                    let Some(entry) = stage.queue.pop_front() else {
                        break;
                    };
                    stage.in_flight += 1;
                    to_send.push(entry);
                }
                let group_over =
                    stage.queue.is_empty() && stage.retries.is_empty() && stage.in_flight == 0;
                for (step, attempt) in to_send {
                    self.send(Pending::Step { step, attempt });
                }
                if group_over {
                    self.group_finished(now);
                }
            }
            Stage::AwaitKudu {
                deadline,
                next_probe,
                probing,
            } => {
                if now >= *deadline {
                    self.failure.get_or_insert(StepFailure {
                        step: None,
                        method: "GET".into(),
                        path: "/api/environment".into(),
                        status: 0,
                        reason: format!(
                            "Kudu did not answer again within {KUDU_RESTART_DEADLINE_SECS} s of its restart."
                        ),
                    });
                    self.start_verify(AfterVerify::Judge);
                } else if !*probing && now >= *next_probe {
                    *probing = true;
                    self.send(Pending::Probe);
                }
            }
            _ => {}
        }
    }

    fn on_step(&mut self, step: usize, attempt: u8, reply: &RunReply, now: Timestamp) {
        let kind = self.plan.steps[step].kind;
        let request = self.plan.steps[step].request.clone();
        if let Some(wait_ms) = self.retry_wait(kind, attempt, reply)
            && let Stage::Delete(stage) = &mut self.stage
        {
            stage.in_flight = stage.in_flight.saturating_sub(1);
            stage.throttled();
            stage.retries.push((
                Timestamp::from_unix_millis(now.unix_millis().saturating_add(wait_ms)),
                step,
                attempt + 1,
            ));
            self.tick(now);
            return;
        }
        let result: Result<Option<String>, String> = if let Some(e) = &reply.transport_error {
            if kind == StepKind::RestartKudu {
                Ok(Some(format!(
                    "No answer ({e}): Kudu was probably already restarting."
                )))
            } else {
                Err(format!(
                    "No answer from Kudu ({e}); whether it ran is checked at the end."
                ))
            }
        } else {
            match reply.status {
                200 | 204 if reply.looks_like_html() => Err(
                    "Kudu answered with a web page (probably the sign-in page): the SCM session expired and the step did not run.".into(),
                ),
                200 | 204 => Ok(None),
                404 if matches!(kind, StepKind::DeleteFile | StepKind::DeleteDir) => {
                    self.confirm_gone.insert(step);
                    Ok(Some(
                        "Already gone (404). Kudu also answers 404 when a delete fails; the final read checks it.".into(),
                    ))
                }
                502 | 503 if kind == StepKind::RestartKudu => Ok(Some(format!(
                    "HTTP {}: Kudu was probably already restarting.",
                    reply.status
                ))),
                status => {
                    let text = reply.body.text();
                    let message: String = text.trim().chars().take(EXCERPT_CHARS).collect();
                    Err(if message.is_empty() {
                        format!("HTTP {status}.")
                    } else {
                        format!("HTTP {status}: {message}")
                    })
                }
            }
        };
        match result {
            Ok(note) => {
                if let Stage::Delete(stage) = &mut self.stage {
                    stage.succeeded();
                }
                self.steps[step] = StepState::Done { note: note.clone() };
                self.events.push(RunEvent::StepDone { step, note });
                self.done
                    .push(format!("{} {}", request.method, request.path));
                if kind == StepKind::RestartKudu
                    && let Stage::Delete(stage) = &mut self.stage
                {
                    stage.restarted_kudu = true;
                }
            }
            Err(reason) => {
                self.steps[step] = StepState::Failed {
                    reason: reason.clone(),
                };
                self.events.push(RunEvent::StepFailed {
                    step,
                    reason: reason.clone(),
                });
                self.failure.get_or_insert(StepFailure {
                    step: Some(step),
                    method: request.method.to_string(),
                    path: request.path.clone(),
                    status: reply.status,
                    reason,
                });
                // Steps of this group not yet sent, or waiting to be sent again, are not sent.
                if let Stage::Delete(stage) = &mut self.stage {
                    stage.queue.clear();
                    for (_, waiting, _) in stage.retries.drain(..) {
                        // Its first answer was "busy" or none at all: it may have run.
                        self.steps[waiting] = StepState::Failed {
                            reason: "Kudu was busy or did not answer, and the run stopped before sending it again; the final read shows whether it ran.".into(),
                        };
                    }
                }
            }
        }
        if let Stage::Delete(stage) = &mut self.stage {
            stage.in_flight = stage.in_flight.saturating_sub(1);
        }
        self.tick(now);
    }

    /// How long to wait before sending a delete again, when its answer says the front end or
    /// Kudu was too busy (429, 502-504) or there was no answer, and attempts remain. `None`:
    /// judge the answer as it is. Restarts are never repeated; a login page is never retried.
    fn retry_wait(&self, kind: StepKind, attempt: u8, reply: &RunReply) -> Option<i64> {
        let deletes = matches!(kind, StepKind::DeleteDir | StepKind::DeleteFile);
        let busy = reply.transport_error.is_some() || matches!(reply.status, 429 | 502..=504);
        if !deletes || !busy || attempt >= MAX_DELETE_ATTEMPTS || self.failure.is_some() {
            return None;
        }
        let base = DELETE_RETRY_BASE_MS.saturating_mul(i64::from(attempt));
        let asked = reply
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, value)| value.trim().parse::<i64>().ok())
            .map(|secs| secs.clamp(0, MAX_RETRY_AFTER_SECS) * 1000)
            .unwrap_or(0);
        Some(base.max(asked))
    }

    fn group_finished(&mut self, now: Timestamp) {
        let Stage::Delete(stage) = std::mem::replace(&mut self.stage, Stage::Done) else {
            return;
        };
        self.events.push(RunEvent::GroupDone { group: stage.group });
        self.next_group += 1;
        if stage.restarted_kudu {
            let deadline = now.plus_secs(KUDU_RESTART_DEADLINE_SECS);
            self.events
                .push(RunEvent::WaitingForKudu { until: deadline });
            self.stage = Stage::AwaitKudu {
                deadline,
                next_probe: now.plus_secs(KUDU_FIRST_PROBE_SECS),
                probing: false,
            };
            return;
        }
        self.start_next_group();
    }

    fn on_probe(&mut self, reply: &RunReply, now: Timestamp) {
        let Stage::AwaitKudu {
            next_probe,
            probing,
            ..
        } = &mut self.stage
        else {
            return;
        };
        *probing = false;
        if reply.transport_error.is_none() && reply.status == 200 && !reply.looks_like_html() {
            self.events.push(RunEvent::KuduAnswers);
            self.start_next_group();
            return;
        }
        *next_probe = now.plus_secs(KUDU_PROBE_INTERVAL_SECS);
        self.tick(now);
    }

    // ------------------------------------------------------------------ verify

    fn start_verify(&mut self, then: AfterVerify) {
        for (i, state) in self.steps.iter_mut().enumerate() {
            if matches!(state, StepState::Pending) && self.plan.steps[i].kind.is_destructive() {
                *state = StepState::NotRun;
            }
        }
        let mut survey = Box::new(Survey::new(vec![], vec![]));
        let reads = survey.first_round(Scope::Full, self.cache_bust());
        self.stage = Stage::Verify { survey, then };
        self.events.push(RunEvent::VerifyStarted);
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.kind == StepKind::Verify {
                self.steps[i] = StepState::Running;
            }
        }
        for read in reads {
            self.send(Pending::SurveyRead {
                read,
                attempt: 1,
                group: None,
            });
        }
    }

    fn judge_verify(&mut self, survey: &Survey, then: AfterVerify, now: Timestamp) {
        let diagnosis = survey.session.diagnose(now);
        // Every deleted folder must be gone, and so must every file whose delete answered 404
        // (Kudu's answer both to "not there" and to a delete that threw). A deleted file that
        // answered 200 may come back on its own (Kudu recreates `pending`).
        let deleted: Vec<(String, String)> = self
            .plan
            .steps
            .iter()
            .enumerate()
            .zip(&self.steps)
            .filter(|((i, s), state)| {
                matches!(state, StepState::Done { .. })
                    && (s.kind == StepKind::DeleteDir
                        || s.kind == StepKind::DeleteFile && self.confirm_gone.contains(i))
            })
            .filter_map(|((_, s), _)| delete_target(&s.request))
            .map(|(dir, name)| (dir.to_string(), name.to_string()))
            .collect();
        let (accepts, description) = verdict::site_state(&survey.session, &diagnosis, &deleted);
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.kind == StepKind::Verify {
                self.steps[i] = StepState::Done {
                    note: Some(description.clone()),
                };
            }
        }
        self.after = Some(diagnosis);
        let outcome = match then {
            AfterVerify::Abort { reason, changes } => Outcome::Aborted {
                reason: format!("{reason} State now: {description}"),
                changes,
            },
            AfterVerify::Judge => match self.failure.take() {
                None if accepts => Outcome::Fixed,
                step => Outcome::Failed {
                    state_description: match &step {
                        Some(f) => {
                            format!("{} {} failed: {} {description}", f.method, f.path, f.reason)
                        }
                        None => description,
                    },
                    step,
                },
            },
        };
        self.finish(outcome);
    }
}
