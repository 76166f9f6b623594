//! [`CleanupRun`]: the stages of a run and the moves between them. The stages' own rules live
//! next door: the backup checks in `backup`, the re-check's judgement in `recheck`, sending and
//! judging deletes in `delete_stage`, the final verdict in `verdict`, every wait in `timers`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::diagnose::Diagnosis;
use crate::plan::paths::{delete_target, is_allowed};
use crate::plan::{CleanupPlan, PlanKind, Precondition, StepKind};
use crate::reads::{Read, ReadId, diagnosis_reads};
use crate::session::{Observed, Session};
use crate::time::Timestamp;

use super::backup::{self, CheckedArchive, VerifiedBackup};
use super::delete_stage::{
    DEFAULT_MAX_IN_FLIGHT, DeleteStage, Judgement, LEFTOVER_MAX_IN_FLIGHT, LockReread, Outgoing,
    is_leftover_group, judge_lock_reread, judge_reply, lock_read, release_refused,
    releases_linux_lock,
};
use super::outcome::{ActivityEntry, Outcome, Progress, RunEvent, StepFailure, StepState};
use super::recheck::{self, LockFileSeen, RecheckInput};
use super::requests::{Pending, Requests};
use super::survey::{self, Scope, Survey};
use super::timers::{KUDU_FIRST_PROBE_SECS, KUDU_PROBE_INTERVAL_SECS, KUDU_RESTART_DEADLINE_SECS};
use super::verdict;
use super::wire::{ReplyBody, RequestId, RunReply, RunRequest};

/// A read that failed below HTTP or with 500/502/503/504 is sent again at once, at most this
/// many times in all: reads change nothing. Deletes have their own rule
/// ([`MAX_DELETE_ATTEMPTS`](super::MAX_DELETE_ATTEMPTS)).
pub const MAX_READ_ATTEMPTS: u8 = 3;

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

/// The user's word that no deployment is running, which a plan resting on weak evidence needs
/// (`CleanupPlan::requires_acknowledgement`: only silence says the deployment stopped). Only
/// [`Acknowledgement::given`] builds one, for the statement that plan asked about; a shell
/// calls it when the user ticks that statement with a trusted click, or passes the command
/// line's `--i-know-nothing-is-deploying`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Acknowledgement {
    statement: String,
}

impl Acknowledgement {
    /// `Some` when `plan` asks for an acknowledgement: the user confirmed its statement.
    pub fn given(plan: &CleanupPlan) -> Option<Acknowledgement> {
        plan.requires_acknowledgement
            .as_ref()
            .map(|statement| Acknowledgement {
                statement: statement.clone(),
            })
    }
}

/// What the user holds of the run's backup, which the first destructive group waits for
/// ([`CleanupRun::backup_saved`]). It names the file and its size, so a confirmation given for
/// another run's backup, or for a file that came out short, is refused.
///
/// - The wizard builds it with [`BackupReceipt::confirmed`] when the user presses "I have the
///   backup" (a trusted click) on the confirmation that shows this run's file name and size:
///   a browser cannot read back what it saved, so this is the user's word.
/// - The command line writes [`CleanupRun::backup_file_ref`]'s bytes to a file, reads the file
///   back and builds it with [`BackupReceipt::read_back`] from what it read: the run then
///   checks the bytes' length and CRC-32 as well.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BackupReceipt {
    file_name: String,
    bytes: u64,
    crc32: Option<u32>,
}

impl BackupReceipt {
    /// The user's word that they hold `file_name` of `bytes` bytes (the name
    /// `backup_file_ref` gave, not the folder it was saved in).
    pub fn confirmed(file_name: &str, bytes: u64) -> Self {
        BackupReceipt {
            file_name: file_name.to_string(),
            bytes,
            crc32: None,
        }
    }

    /// The backup `file_name` as read back from where it was written.
    pub fn read_back(file_name: &str, contents: &[u8]) -> Self {
        BackupReceipt {
            file_name: file_name.to_string(),
            bytes: contents.len() as u64,
            crc32: Some(super::crc32::crc32(contents)),
        }
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
    /// Built, and nothing sent yet: the shell may still choose options.
    NotStarted,
    /// Both archives download while the logs the re-checks name are read.
    Backup(Box<BackupStage>),
    /// The backup was checked and handed to the user; nothing more is sent until the user
    /// confirms they hold it ([`CleanupRun::backup_saved`]), however long that takes. Log
    /// prefetches still in flight land here.
    AwaitBackupSaved {
        prefetched: Session,
    },
    /// The backup was checked, and the first re-check waits for log prefetches still in
    /// flight: they answer about when the zips do, and a child log they name then goes in the
    /// re-check's one round instead of a second one.
    AwaitPrefetch {
        prefetched: Session,
    },
    Recheck {
        group: u32,
        survey: Box<Survey>,
    },
    Delete(DeleteStage),
    AwaitKudu(AwaitKudu),
    Verify {
        survey: Box<Survey>,
        then: AfterVerify,
    },
    Finished(Outcome),
}

struct BackupStage {
    /// Downloaded archives not yet checked, by backup step.
    archives: BTreeMap<usize, Vec<u8>>,
    /// Logs read while the backup downloads.
    prefetched: Session,
    /// The VFS listings of `site/locks/` and `site/deployments/`, read beside the zips: each
    /// archive is checked against its folder's listing.
    listings: Session,
}

/// Waiting for Kudu to answer after its restart: one probe at a time until the deadline.
struct AwaitKudu {
    deadline: Timestamp,
    next_probe: Timestamp,
    probing: bool,
}

/// What the shell chose before the first `poll_requests`.
struct Choices {
    include_optional: bool,
    /// The statement the user confirmed, when the plan asked for one.
    acknowledged: Option<String>,
    max_in_flight: usize,
    leftover_max_in_flight: usize,
}

/// What earlier reads showed, which later re-checks and the final read hold the site to.
#[derive(Default)]
struct SiteMemory {
    /// Deployment ids at the first re-check that read the list: later, a new id is a change.
    known_deployments: Option<BTreeSet<String>>,
    /// Windows: `deployments.lock` as last seen (diagnosis or re-check).
    windows_lock_before: Option<LockFileSeen>,
    /// Deployment id → the id of its log's newest top-level line that has children, from the
    /// prefetch or the latest re-check: the next re-check reads those children in its one
    /// round.
    log_children: BTreeMap<String, String>,
    /// Steps whose delete answered 404, or that were not sent because a re-check read their
    /// target as already gone: the final read must show them gone.
    confirm_gone: BTreeSet<usize>,
    /// Linux: the ETag of `info.lock` in the latest read of it (the re-check before the
    /// release, or the read after an unclear answer to it); the release's `If-Match`.
    lock_etag: Option<String>,
}

/// A cleanup plan being run. See the module docs for the call order and the invariants.
pub struct CleanupRun {
    plan: CleanupPlan,
    site_name: String,
    started_at: Timestamp,
    choices: Choices,
    before: Option<Diagnosis>,
    after: Option<Diagnosis>,
    stage: Stage,
    /// Destructive groups not yet finished, ascending.
    groups_left: VecDeque<u32>,
    backup: Option<VerifiedBackup>,
    requests: Requests,
    progress: Progress,
    memory: SiteMemory,
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
        let progress = Progress::new(plan.steps.len());
        let mut run = CleanupRun {
            plan,
            site_name: site_name.to_string(),
            started_at,
            choices: Choices {
                include_optional: false,
                acknowledged: None,
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                leftover_max_in_flight: LEFTOVER_MAX_IN_FLIGHT,
            },
            before: None,
            after: None,
            stage: Stage::NotStarted,
            groups_left: VecDeque::new(),
            backup: None,
            requests: Requests::default(),
            progress,
            memory: SiteMemory::default(),
        };
        if let Some(why) = run.refusal() {
            run.finish(Outcome::Aborted {
                reason: why,
                changes: vec![],
            });
        }
        run
    }

    /// The user's word that nothing is deploying, for a plan that asks for it. Without it such
    /// a plan ends aborted at the first `poll_requests`, before anything is sent.
    pub fn with_acknowledgement(mut self, acknowledgement: Option<Acknowledgement>) -> Self {
        self.choices.acknowledged = acknowledgement.map(|a| a.statement);
        self
    }

    /// Include the plan's optional steps (restarting the app worker). Call before the first
    /// `poll_requests`.
    pub fn with_optional_steps(mut self, include: bool) -> Self {
        self.choices.include_optional = include;
        self
    }

    /// Concurrent destructive requests within any group (at least 1), the leftover group
    /// included; by default [`DEFAULT_MAX_IN_FLIGHT`], and [`LEFTOVER_MAX_IN_FLIGHT`] for the
    /// leftover deletes.
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.choices.max_in_flight = max.max(1);
        self.choices.leftover_max_in_flight = self.choices.max_in_flight;
        self
    }

    /// The diagnosis the plan came from, shown as "before".
    pub fn with_before(mut self, diagnosis: Diagnosis) -> Self {
        if diagnosis.personality == crate::model::Personality::Windows {
            self.memory.windows_lock_before = Some(if diagnosis.lock.windows_lock_file {
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
        &self.progress.steps
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

    /// The backup was checked and the run waits for [`CleanupRun::backup_saved`] before its
    /// first destructive group: the shell shows the file's name and size and lets the user
    /// save it (again) and confirm.
    pub fn awaiting_backup_saved(&self) -> bool {
        matches!(self.stage, Stage::AwaitBackupSaved { .. })
    }

    /// The user holds the backup: the run goes on to the re-check before its first destructive
    /// group (read now, after the confirmation, since the user may have taken minutes). `Err`
    /// when the run is not waiting for it, or the receipt names another file, size or content
    /// than this run's backup; the run keeps waiting then.
    pub fn backup_saved(&mut self, receipt: &BackupReceipt, now: Timestamp) -> Result<(), String> {
        if !self.awaiting_backup_saved() {
            return Err("The cleanup is not waiting for the backup.".into());
        }
        let Some(backup) = &self.backup else {
            return Err("The cleanup is not waiting for the backup.".into());
        };
        let (name, bytes) = (backup.file_name(), backup.bytes());
        if receipt.file_name != name {
            return Err(format!(
                "The file saved is {}, not this cleanup's backup {name}.",
                receipt.file_name
            ));
        }
        if receipt.bytes != bytes.len() as u64 {
            return Err(format!(
                "{name} holds {} bytes, but the backup is {} bytes: it was not saved whole. Save it again.",
                receipt.bytes,
                bytes.len()
            ));
        }
        if receipt
            .crc32
            .is_some_and(|crc| crc != super::crc32::crc32(bytes))
        {
            return Err(format!(
                "{name} as read back differs from the backup: it was not saved intact. Save it again."
            ));
        }
        self.progress.events.push(RunEvent::BackupSaved {
            file_name: name.to_string(),
            bytes: bytes.len(),
        });
        let Stage::AwaitBackupSaved { prefetched } = &mut self.stage else {
            return Ok(());
        };
        let prefetched = std::mem::take(prefetched);
        if self.requests.prefetch_in_flight() {
            self.stage = Stage::AwaitPrefetch { prefetched };
        } else {
            self.start_next_group();
        }
        self.tick(now);
        Ok(())
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.stage {
            Stage::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }

    pub fn log(&self) -> &[ActivityEntry] {
        self.requests.log()
    }

    /// Every event so far.
    pub fn events(&self) -> &[RunEvent] {
        &self.progress.events
    }

    /// The next event not yet polled.
    pub fn poll_event(&mut self) -> Option<RunEvent> {
        self.progress.poll_event()
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.requests.in_flight()
    }

    /// When to call `poll_requests` again even without a reply (waiting for Kudu, or for a
    /// throttled delete's back-off).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match &self.stage {
            Stage::AwaitKudu(wait) => Some(if wait.probing {
                wait.deadline
            } else {
                wait.next_probe.min(wait.deadline)
            }),
            Stage::Delete(stage) => stage.next_retry(),
            _ => None,
        }
    }

    /// Kudu was restarted and the run waits for it to answer again.
    pub fn waiting_for_kudu(&self) -> bool {
        matches!(self.stage, Stage::AwaitKudu(_))
    }

    /// The requests to send now.
    pub fn poll_requests(&mut self, now: Timestamp) -> Vec<RunRequest> {
        if matches!(self.stage, Stage::NotStarted) {
            let asked = self.plan.requires_acknowledgement.as_ref();
            if asked.is_some() && asked != self.choices.acknowledged.as_ref() {
                self.finish(Outcome::Aborted {
                    reason: "Only silence says the deployment stopped, so this cleanup needs your \
                             word that no deployment is running; nothing was sent."
                        .into(),
                    changes: vec![],
                });
                return vec![];
            }
            self.start_backup();
        }
        self.tick(now);
        let mut out = vec![];
        while let Some((request, pending)) = self.requests.hand_out(&self.plan, now) {
            if let Pending::Step {
                step, attempt: 1, ..
            } = *pending
            {
                self.progress.steps[step] = StepState::Running;
                self.progress.events.push(RunEvent::StepStarted { step });
            }
            out.push(request);
        }
        out
    }

    /// Takes the answer to a request. Answers to unknown ids, or arriving after the run ended,
    /// are logged and otherwise ignored.
    pub fn handle_reply(&mut self, id: RequestId, reply: RunReply, now: Timestamp) {
        let Some(pending) = self.requests.answered(id, &reply, now) else {
            return;
        };
        if self.outcome().is_some() {
            return;
        }
        match pending {
            Pending::Backup { step, attempt } => self.on_backup(step, attempt, reply),
            Pending::SurveyRead {
                read,
                attempt,
                group,
            } => self.on_survey_read(read, attempt, group, &reply, now),
            Pending::Step { step, attempt, .. } => self.on_step(step, attempt, &reply, now),
            Pending::LockCheck {
                step,
                attempt,
                read,
            } => self.on_lock_check(step, attempt, read, &reply, now),
            Pending::Prefetch { read } => self.on_prefetch(&read, &reply),
            Pending::BackupListing { read, attempt } => {
                self.on_backup_listing(read, attempt, &reply)
            }
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
        step.kind.is_destructive() && (!step.optional || self.choices.include_optional)
    }

    fn start_backup(&mut self) {
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.optional && !self.choices.include_optional {
                self.progress.steps[i] = StepState::Skipped;
            }
        }
        let mut groups: Vec<u32> = (0..self.plan.steps.len())
            .filter(|&i| self.included(i))
            .map(|i| self.plan.steps[i].group)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        self.progress.events.push(RunEvent::BackupStarted);
        self.stage = Stage::Backup(Box::new(BackupStage {
            archives: BTreeMap::new(),
            prefetched: Session::new(),
            listings: Session::new(),
        }));
        // Listed beside the zips, so each archive is checked against what its folder held at
        // the same moment.
        for read in diagnosis_reads(self.requests.cache_bust(self.started_at)) {
            if matches!(read.id, ReadId::LocksDir | ReadId::DeploymentsDir) {
                self.requests
                    .send(Pending::BackupListing { read, attempt: 1 });
            }
        }
        let backups: Vec<usize> = (0..self.plan.steps.len())
            .filter(|&i| self.plan.steps[i].kind == StepKind::Backup)
            .collect();
        for step in backups {
            self.progress.steps[step] = StepState::Running;
            self.requests.send(Pending::Backup { step, attempt: 1 });
        }
        // The re-checks read these logs again; reading them now, while the zips download,
        // tells the first re-check which child logs to read in its one round.
        let mut logs: Vec<String> = vec![];
        for &group in &groups {
            for id in self.required_logs(group) {
                if !logs.contains(&id) {
                    logs.push(id);
                }
            }
        }
        for read in survey::log_reads(&logs) {
            self.requests.send(Pending::Prefetch { read });
        }
        self.groups_left = groups.into();
    }

    /// A prefetched log: remember the child log its newest line points to. A failed read is
    /// no loss: the re-check then reads the children in a second round.
    fn on_prefetch(&mut self, read: &Read, reply: &RunReply) {
        let prefetched = match &mut self.stage {
            Stage::Backup(stage) => &mut stage.prefetched,
            Stage::AwaitPrefetch { prefetched } | Stage::AwaitBackupSaved { prefetched } => {
                prefetched
            }
            // Unreachable: the first re-check starts only once no prefetch is in flight.
            _ => return,
        };
        prefetched.ingest(&read.id, &read.path, &reply.to_http());
        self.memory
            .log_children
            .extend(survey::newest_children(prefetched));
        if matches!(self.stage, Stage::AwaitPrefetch { .. }) && !self.requests.prefetch_in_flight()
        {
            self.start_next_group();
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        for state in &mut self.progress.steps {
            if matches!(state, StepState::Pending | StepState::Running) {
                *state = StepState::NotRun;
            }
        }
        self.requests.drop_queued();
        self.progress.events.push(RunEvent::Finished {
            outcome: outcome.clone(),
        });
        self.stage = Stage::Finished(outcome);
    }

    // ------------------------------------------------------------------ backup

    fn on_backup(&mut self, step: usize, attempt: u8, reply: RunReply) {
        let dir = backup::backup_dir(&self.plan.steps[step].request.path).unwrap_or("the folder");
        if reply.is_transient() && attempt < MAX_READ_ATTEMPTS {
            self.requests.send(Pending::Backup {
                step,
                attempt: attempt + 1,
            });
            return;
        }
        let problem = if let Some(e) = &reply.transport_error {
            Some(format!(
                "the download of {dir} failed before Kudu answered ({e})"
            ))
        } else if reply.is_sign_in() && (200..300).contains(&reply.status) {
            Some(format!(
                "Kudu answered the download of {dir} with a web page (probably the sign-in page), not a zip"
            ))
        } else if reply.is_sign_in() {
            Some(format!(
                "the download of {dir} was refused (HTTP {}): the SCM session probably expired",
                reply.status
            ))
        } else if reply.status != 200 {
            Some(format!(
                "Kudu answered HTTP {} to the download of {dir}",
                reply.status
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.progress.steps[step] = StepState::Failed {
                reason: problem.clone(),
            };
            self.abort_backup(format!("The backup failed: {problem}."));
            return;
        }
        let bytes = match reply.body {
            ReplyBody::Bytes(b) => b,
            ReplyBody::Text(t) => t.into_bytes(),
        };
        self.progress.steps[step] = StepState::Done { note: None };
        let Stage::Backup(stage) = &mut self.stage else {
            return;
        };
        stage.archives.insert(step, bytes);
        self.check_backups_when_all_in();
    }

    /// A listing read beside the zips. A failed one is judged when the archives are checked.
    fn on_backup_listing(&mut self, read: Read, attempt: u8, reply: &RunReply) {
        if reply.is_transient() && attempt < MAX_READ_ATTEMPTS {
            self.requests.send(Pending::BackupListing {
                read,
                attempt: attempt + 1,
            });
            return;
        }
        let Stage::Backup(stage) = &mut self.stage else {
            return;
        };
        stage
            .listings
            .ingest(&read.id, &read.path, &reply.to_http());
        self.check_backups_when_all_in();
    }

    fn check_backups_when_all_in(&mut self) {
        let Stage::Backup(stage) = &self.stage else {
            return;
        };
        let all_in = self
            .plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == StepKind::Backup)
            .all(|(i, _)| stage.archives.contains_key(&i));
        if all_in && !self.requests.backup_listing_waiting() {
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
        let Stage::Backup(stage) = &mut self.stage else {
            return;
        };
        let archives = std::mem::take(&mut stage.archives);
        let listings = std::mem::take(&mut stage.listings);
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
            let listed = if dir == crate::plan::paths::LOCKS_DIR {
                &listings.locks_dir
            } else {
                &listings.deployments_dir
            };
            let mut expect = backup::expectation(dir, &included);
            match listed {
                Observed::Value(entries) => expect.listing = entries.clone(),
                Observed::Missing => {}
                Observed::SessionExpired => {
                    failure = Some(format!(
                        "The listing of {dir}, read to check its backup against, came back as a sign-in page: the SCM session probably expired."
                    ));
                    break;
                }
                Observed::Failed { reason, .. } => {
                    failure = Some(format!(
                        "The listing of {dir}, read to check its backup against, failed: {reason}."
                    ));
                    break;
                }
                Observed::NotRead => {
                    failure = Some(format!(
                        "The listing of {dir}, read to check its backup against, was not answered."
                    ));
                    break;
                }
            }
            if dir == crate::plan::paths::LOCKS_DIR
                && included.iter().any(|s| s.kind == StepKind::RestartKudu)
                && !included
                    .iter()
                    .any(|s| delete_target(&s.request).is_some_and(|(d, _)| d == dir))
            {
                expect
                    .held_open
                    .push(crate::diagnose::facts::lock_report::WINDOWS_LOCK_FILE.to_string());
            }
            match backup::check_archive(dir, &bytes, &expect) {
                Ok(index) => {
                    self.progress.events.push(RunEvent::BackupChecked {
                        dir: dir.to_string(),
                        entries: index.entries.len(),
                        bytes: bytes.len(),
                    });
                    checked.push(CheckedArchive { dir, bytes, index });
                }
                Err(why) => {
                    self.progress.steps[step] = StepState::Failed {
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
                self.progress.events.push(RunEvent::BackupReady {
                    file_name: verified.file_name().to_string(),
                    bytes: verified.bytes().len(),
                });
                self.backup = Some(verified);
                if !self.groups_left.is_empty() {
                    if let Stage::Backup(stage) = &mut self.stage {
                        let prefetched = std::mem::take(&mut stage.prefetched);
                        self.stage = Stage::AwaitBackupSaved { prefetched };
                    }
                } else if !self.requests.prefetch_in_flight() {
                    self.start_next_group();
                } else if let Stage::Backup(stage) = &mut self.stage {
                    let prefetched = std::mem::take(&mut stage.prefetched);
                    self.stage = Stage::AwaitPrefetch { prefetched };
                }
            }
            Err(why) => self.abort_backup(why),
        }
    }

    // ------------------------------------------------------------------ re-check

    fn start_next_group(&mut self) {
        let Some(&group) = self.groups_left.front() else {
            self.start_verify(AfterVerify::Judge);
            return;
        };
        if self.progress.failure.is_some() {
            self.start_verify(AfterVerify::Judge);
            return;
        }
        let logs = self.required_logs(group);
        let children: Vec<(String, String)> = logs
            .iter()
            .filter_map(|id| Some((id.clone(), self.memory.log_children.get(id)?.clone())))
            .collect();
        let processes = survey::required_processes(
            self.group_steps(group)
                .into_iter()
                .map(|i| &self.plan.steps[i].precondition),
        );
        let mut survey = Survey::new(logs, children).with_processes(processes);
        if !self.progress.done.is_empty() && is_leftover_group(&self.plan, &self.group_steps(group))
        {
            survey = survey.list_folders_after_the_list();
        }
        let mut survey = Box::new(survey);
        let reads = survey.first_round(
            Scope::Preconditions,
            self.requests.cache_bust(self.started_at),
        );
        self.stage = Stage::Recheck { group, survey };
        self.progress
            .events
            .push(RunEvent::RecheckStarted { group });
        for read in reads {
            self.requests.send(Pending::SurveyRead {
                read,
                attempt: 1,
                group: Some(group),
            });
        }
    }

    fn group_steps(&self, group: u32) -> Vec<usize> {
        (0..self.plan.steps.len())
            .filter(|&i| self.included(i) && self.plan.steps[i].group == group)
            .collect()
    }

    /// Logs the group's preconditions name (a handful: see `plan::steps::unchanged_guards`).
    fn required_logs(&self, group: u32) -> Vec<String> {
        fn collect(p: &Precondition, out: &mut Vec<String>) {
            match p {
                Precondition::LogUnchanged { deployment_id, .. }
                    if !out.contains(deployment_id) =>
                {
                    out.push(deployment_id.clone());
                }
                Precondition::All(all) => all.iter().for_each(|p| collect(p, out)),
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
            self.requests.send(Pending::SurveyRead {
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
        if self.requests.survey_read_waiting() {
            return;
        }
        let next = survey.next_round();
        if !next.is_empty() {
            for read in next {
                self.requests.send(Pending::SurveyRead {
                    read,
                    attempt: 1,
                    group,
                });
            }
            return;
        }
        if matches!(self.stage, Stage::Recheck { .. }) {
            self.judge_recheck(now);
        } else {
            self.judge_verify(now);
        }
    }

    /// The re-check's reads are all in: start the group's deletes, or stop.
    fn judge_recheck(&mut self, now: Timestamp) {
        let Stage::Recheck { group, survey } = &self.stage else {
            return;
        };
        let group = *group;
        self.memory
            .log_children
            .extend(survey::newest_children(&survey.session));
        let indices = self.group_steps(group);
        let input = RecheckInput {
            group,
            steps: indices.iter().map(|&i| &self.plan.steps[i]).collect(),
            own_changes_made: !self.progress.done.is_empty(),
            windows_lock_before: self.memory.windows_lock_before,
            windows_lock_first_look: survey.first_look,
            known_deployments: self.memory.known_deployments.as_ref(),
        };
        let lock_etag = survey.session.info_lock_etag.clone();
        let releases = indices
            .iter()
            .any(|&i| releases_linux_lock(&self.plan.steps[i]));
        let evaluated = recheck::evaluate(&survey.session, now, &input).and_then(|passed| {
            if releases && lock_etag.is_none() {
                // The release is tied to the state the re-check read through info.lock's ETag;
                // without one it could delete a lock taken after this read.
                return Err(vec![
                    "Kudu sent no ETag with site/locks/deployment/info.lock, so Kudu Doctor cannot tie the lock's release to the holder it just checked (a deployment taking the lock meanwhile would lose it) and did not send it.".to_string(),
                ]);
            }
            Ok(passed)
        });
        match evaluated {
            Ok(passed) => {
                if releases {
                    self.memory.lock_etag = lock_etag;
                }
                if let Some(seen) = passed.windows_lock() {
                    self.memory.windows_lock_before = Some(seen);
                }
                if self.memory.known_deployments.is_none() {
                    self.memory.known_deployments = passed.deployment_ids().cloned();
                }
                self.progress.events.push(RunEvent::RecheckPassed {
                    group,
                    notes: passed.notes().to_vec(),
                });
                let Some(backup) = &self.backup else {
                    // Unreachable by construction: re-checks start only after the backup.
                    self.abort_backup("The backup was not verified.".into());
                    return;
                };
                let max = if is_leftover_group(&self.plan, &indices) {
                    self.choices.leftover_max_in_flight
                } else {
                    self.choices.max_in_flight
                };
                let (gone, to_send): (Vec<usize>, Vec<usize>) =
                    indices.into_iter().partition(|&i| {
                        delete_target(&self.plan.steps[i].request).is_some_and(|(dir, name)| {
                            passed.already_gone().contains(&(dir, name.to_string()))
                        })
                    });
                for step in gone {
                    self.progress.step_done(step, Some(
                        "Already gone: Kudu removed it after the earlier steps, so no delete was sent; the final read confirms it.".to_string(),
                    ));
                    self.memory.confirm_gone.insert(step);
                }
                let stage = DeleteStage::new(backup, &passed, to_send, max);
                self.stage = Stage::Delete(stage);
                self.tick(now);
            }
            Err(changes) if releases && lock_etag.is_none() && changes.len() == 1 => {
                let reason = "Kudu Doctor stopped before releasing the lock: it releases it only with the ETag of the info.lock it just checked, and Kudu sent none. Nothing more was deleted; re-run the diagnosis.".to_string();
                if self.progress.done.is_empty() {
                    self.finish(Outcome::Aborted { reason, changes });
                } else {
                    self.start_verify(AfterVerify::Abort { reason, changes });
                }
            }
            Err(changes) => {
                let reason = if self.progress.done.is_empty() {
                    "The site changed since the diagnosis, so Kudu Doctor stopped before deleting anything. Re-run the diagnosis.".to_string()
                } else {
                    format!(
                        "The site changed during the cleanup, so Kudu Doctor stopped before the next steps. Already done: {}. Re-run the diagnosis.",
                        self.progress.done.join("; ")
                    )
                };
                if self.progress.done.is_empty() {
                    self.finish(Outcome::Aborted { reason, changes });
                } else {
                    self.start_verify(AfterVerify::Abort { reason, changes });
                }
            }
        }
    }

    // ------------------------------------------------------------------ deletes

    /// Moves time-driven and queue-driven work forward.
    fn tick(&mut self, now: Timestamp) {
        match &mut self.stage {
            Stage::Delete(stage) => {
                let to_send = stage.release(now);
                let group_over = stage.is_over();
                for outgoing in to_send {
                    self.requests.send(match outgoing {
                        Outgoing::Step { step, attempt } => Pending::Step {
                            step,
                            attempt,
                            lock_etag: releases_linux_lock(&self.plan.steps[step])
                                .then(|| self.memory.lock_etag.clone())
                                .flatten(),
                        },
                        Outgoing::LockCheck { step, attempt } => Pending::LockCheck {
                            step,
                            attempt,
                            read: 1,
                        },
                    });
                }
                if group_over {
                    self.group_finished(now);
                }
            }
            Stage::AwaitKudu(wait) => {
                if now >= wait.deadline {
                    self.progress.failure.get_or_insert(StepFailure {
                        step: None,
                        method: "GET".into(),
                        path: "/api/environment".into(),
                        status: 0,
                        reason: format!(
                            "Kudu did not answer again within {KUDU_RESTART_DEADLINE_SECS} s of its restart."
                        ),
                    });
                    self.start_verify(AfterVerify::Judge);
                } else if !wait.probing && now >= wait.next_probe {
                    wait.probing = true;
                    self.requests.send(Pending::Probe);
                }
            }
            _ => {}
        }
    }

    fn on_step(&mut self, step: usize, attempt: u8, reply: &RunReply, now: Timestamp) {
        let kind = self.plan.steps[step].kind;
        if releases_linux_lock(&self.plan.steps[step])
            && release_refused(reply)
            && matches!(self.stage, Stage::Delete(_))
        {
            let change = format!(
                "The deployment lock changed hands after the re-check: Kudu refused its release (HTTP {}) because site/locks/deployment/info.lock is no longer the file the re-check read (its ETag changed), so a new deployment may hold it now.",
                reply.status
            );
            return self.stop_on_lock(step, change,
                "Kudu refused the lock's release because the lock changed hands since the re-check read it: a new deployment may hold it now. Kudu Doctor left that lock alone and stopped before anything else. Re-run the diagnosis.");
        }
        let may_retry = self.progress.failure.is_none() && matches!(self.stage, Stage::Delete(_));
        match judge_reply(kind, attempt, reply, may_retry) {
            Judgement::Retry { wait_ms } => {
                let check_lock = releases_linux_lock(&self.plan.steps[step]);
                if let Stage::Delete(stage) = &mut self.stage {
                    let at = Timestamp::from_unix_millis(now.unix_millis().saturating_add(wait_ms));
                    stage.retry_at(at, step, attempt + 1, check_lock);
                }
                self.tick(now);
                return;
            }
            Judgement::Done { note, confirm_gone } => {
                if confirm_gone {
                    self.memory.confirm_gone.insert(step);
                }
                if let Stage::Delete(stage) = &mut self.stage {
                    stage.succeeded(kind);
                }
                self.progress.step_done(step, note);
                let request = &self.plan.steps[step].request;
                self.progress
                    .done
                    .push(format!("{} {}", request.method, request.path));
            }
            Judgement::Failed { reason } => {
                self.progress.steps[step] = StepState::Failed {
                    reason: reason.clone(),
                };
                self.progress.events.push(RunEvent::StepFailed {
                    step,
                    reason: reason.clone(),
                });
                let request = &self.plan.steps[step].request;
                self.progress.failure.get_or_insert(StepFailure {
                    step: Some(step),
                    method: request.method.to_string(),
                    path: request.path.clone(),
                    status: reply.status,
                    reason,
                });
                // Steps of this group not yet sent, or waiting to be sent again, are not sent.
                if let Stage::Delete(stage) = &mut self.stage {
                    for waiting in stage.stop() {
                        // Its first answer was "busy" or none at all: it may have run.
                        self.progress.steps[waiting] = StepState::Failed {
                            reason: "Kudu was busy or did not answer, and the run stopped before sending it again; the final read shows whether it ran.".into(),
                        };
                    }
                }
            }
        }
        if let Stage::Delete(stage) = &mut self.stage {
            stage.answered();
        }
        self.tick(now);
    }

    /// The lock read after an unclear answer to the Linux lock's release (attempt `attempt`
    /// waits for it): free means the release worked, the same holder lets it go again at once,
    /// anything else stops the run with nothing more destructive sent (see `delete_stage`).
    fn on_lock_check(
        &mut self,
        step: usize,
        attempt: u8,
        read: u8,
        reply: &RunReply,
        now: Timestamp,
    ) {
        const STOPPED: &str = "Kudu's answer was unclear, and the run stopped before sending it again; the final read shows whether it ran.";
        let Stage::Delete(_) = &self.stage else {
            // Unreachable: the read holds its step's place, so the group cannot end before it.
            self.progress.steps[step] = StepState::Failed {
                reason: STOPPED.into(),
            };
            return;
        };
        if reply.is_transient() && read < MAX_READ_ATTEMPTS {
            self.requests.send(Pending::LockCheck {
                step,
                attempt,
                read: read + 1,
            });
            return;
        }
        let lock = lock_read();
        let mut session = Session::new();
        session.ingest(&lock.id, &lock.path, &reply.to_http());
        match judge_lock_reread(&self.plan.steps[step], &session.info_lock) {
            LockReread::Unchanged
                if self.progress.failure.is_none() && session.info_lock_etag.is_none() =>
            {
                return self.stop_on_lock(step,
                    "Kudu Doctor could not confirm who holds the deployment lock after Kudu's unclear answer to its release (Kudu sent no ETag with info.lock), so it did not send the release again.".into(),
                    "Kudu answered the lock's release unclearly, and Kudu Doctor could not confirm who holds the lock now, so it did not send the release again and stopped. Re-run the diagnosis.");
            }
            LockReread::Unchanged if self.progress.failure.is_none() => {
                // The read holds the step's place in flight: the release takes it over, with
                // the ETag of this read (the same holder's).
                self.memory.lock_etag = session.info_lock_etag.clone();
                self.requests.send(Pending::Step {
                    step,
                    attempt,
                    lock_etag: self.memory.lock_etag.clone(),
                });
                return;
            }
            LockReread::Unchanged => {
                // Another step of the group failed meanwhile: nothing is sent again.
                self.progress.steps[step] = StepState::Failed {
                    reason: STOPPED.into(),
                };
            }
            LockReread::Gone => {
                let kind = self.plan.steps[step].kind;
                if let Stage::Delete(stage) = &mut self.stage {
                    stage.succeeded(kind);
                }
                self.progress.step_done(
                    step,
                    Some("Kudu's answer was unclear, and a re-read shows the lock free: the release worked, so it was not sent again. The final read confirms it.".into()),
                );
                let request = &self.plan.steps[step].request;
                self.progress
                    .done
                    .push(format!("{} {}", request.method, request.path));
            }
            LockReread::ChangedHands(change) => {
                return self.stop_on_lock(step, change,
                    "Kudu answered the lock's release unclearly, and a re-read shows the lock changed hands: a new deployment may hold it now. Linux Kudu deletes the lock without checking who holds it, so Kudu Doctor did not send the release again and stopped. Re-run the diagnosis.");
            }
            LockReread::Unconfirmed(change) => {
                return self.stop_on_lock(step, change,
                    "Kudu answered the lock's release unclearly, and Kudu Doctor could not confirm who holds the lock now, so it did not send the release again and stopped. Re-run the diagnosis.");
            }
        }
        if let Stage::Delete(stage) = &mut self.stage {
            stage.answered();
        }
        self.tick(now);
    }

    /// The lock's release may not go again: the step fails, nothing more destructive is sent,
    /// and the final read says how the site stands.
    fn stop_on_lock(&mut self, step: usize, change: String, reason: &str) {
        self.progress.steps[step] = StepState::Failed {
            reason: change.clone(),
        };
        self.progress.events.push(RunEvent::StepFailed {
            step,
            reason: change.clone(),
        });
        if let Stage::Delete(stage) = &mut self.stage {
            for waiting in stage.stop() {
                self.progress.steps[waiting] = StepState::Failed {
                    reason: "Kudu was busy or did not answer, and the run stopped before sending it again; the final read shows whether it ran.".into(),
                };
            }
        }
        self.start_verify(AfterVerify::Abort {
            reason: reason.to_string(),
            changes: vec![change],
        });
    }

    fn group_finished(&mut self, now: Timestamp) {
        let Stage::Delete(stage) = &self.stage else {
            return;
        };
        let restarted_kudu = stage.restarted_kudu();
        self.progress.events.push(RunEvent::GroupDone {
            group: stage.group(),
        });
        self.groups_left.pop_front();
        if restarted_kudu {
            let deadline = now.plus_secs(KUDU_RESTART_DEADLINE_SECS);
            self.progress
                .events
                .push(RunEvent::WaitingForKudu { until: deadline });
            self.stage = Stage::AwaitKudu(AwaitKudu {
                deadline,
                next_probe: now.plus_secs(KUDU_FIRST_PROBE_SECS),
                probing: false,
            });
            return;
        }
        self.start_next_group();
    }

    fn on_probe(&mut self, reply: &RunReply, now: Timestamp) {
        let Stage::AwaitKudu(wait) = &mut self.stage else {
            return;
        };
        wait.probing = false;
        if reply.transport_error.is_none() && reply.status == 200 && !reply.is_sign_in() {
            self.progress.events.push(RunEvent::KuduAnswers);
            self.start_next_group();
            return;
        }
        wait.next_probe = now.plus_secs(KUDU_PROBE_INTERVAL_SECS);
        self.tick(now);
    }

    // ------------------------------------------------------------------ verify

    fn start_verify(&mut self, then: AfterVerify) {
        for (i, state) in self.progress.steps.iter_mut().enumerate() {
            if matches!(state, StepState::Pending) && self.plan.steps[i].kind.is_destructive() {
                *state = StepState::NotRun;
            }
        }
        let mut survey = Box::new(Survey::new(vec![], vec![]));
        let reads = survey.first_round(Scope::Full, self.requests.cache_bust(self.started_at));
        self.stage = Stage::Verify { survey, then };
        self.progress.events.push(RunEvent::VerifyStarted);
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.kind == StepKind::Verify {
                self.progress.steps[i] = StepState::Running;
            }
        }
        for read in reads {
            self.requests.send(Pending::SurveyRead {
                read,
                attempt: 1,
                group: None,
            });
        }
    }

    /// The final read is in: say how the run ended.
    fn judge_verify(&mut self, now: Timestamp) {
        let Stage::Verify { survey, then } = &self.stage else {
            return;
        };
        let diagnosis = survey.session.diagnose(now);
        // Every deleted folder must be gone, and so must every file whose delete answered 404
        // (Kudu's answer both to "not there" and to a delete that threw). A deleted file that
        // answered 200 may come back on its own (Kudu recreates `pending`).
        let deleted: Vec<(String, String)> = self
            .plan
            .steps
            .iter()
            .enumerate()
            .zip(&self.progress.steps)
            .filter(|((i, s), state)| {
                matches!(state, StepState::Done { .. })
                    && (s.kind == StepKind::DeleteDir
                        || s.kind == StepKind::DeleteFile && self.memory.confirm_gone.contains(i))
            })
            .filter_map(|((_, s), _)| delete_target(&s.request))
            .map(|(dir, name)| (dir.to_string(), name.to_string()))
            .collect();
        let (accepts, description) = verdict::site_state(&survey.session, &diagnosis, &deleted);
        for (i, step) in self.plan.steps.iter().enumerate() {
            if step.kind == StepKind::Verify {
                self.progress.steps[i] = StepState::Done {
                    note: Some(description.clone()),
                };
            }
        }
        let outcome = match then {
            AfterVerify::Abort { reason, changes } => Outcome::Aborted {
                reason: format!("{reason} State now: {description}"),
                changes: changes.clone(),
            },
            AfterVerify::Judge => match self.progress.failure.take() {
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
        self.after = Some(diagnosis);
        self.finish(outcome);
    }
}
