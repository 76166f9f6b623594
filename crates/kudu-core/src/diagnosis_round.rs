//! One diagnosis round as a state machine, sans I/O (shaped like [`crate::CleanupRun`] and
//! quinn-proto's `Connection`): it hands out reads, takes their replies in any order, decides
//! the follow-up reads itself, and emits events. The wizard, the command line and the bench
//! drive this one machine; they only send requests, keep the clock and render.
//!
//! ```text
//! let mut round = DiagnosisRound::new(cache_bust);
//! loop {
//!     for (token, read) in round.poll_reads() { send it; later: round.handle_reply(token, &reply, wall_clock) }
//!     while let Some(event) = round.poll_event() { show it }
//!     if round.is_done() { break }
//! }
//! ```
//!
//! Events, in order: at most two [`RoundEvent::Provisional`] (the first reads are in, but the
//! deployment logs that can change the answer are still being read; and, on Windows, once more
//! when a holder's build processes are watched: show the latest as "checking", never as the
//! diagnosis), then exactly one [`RoundEvent::Settled`] (the diagnosis to act on)
//! followed by [`RoundEvent::PlanReady`], or [`RoundEvent::Unreachable`] alone. The plan is
//! built inside the `poll_event` call that returns it, so a shell that renders between two
//! calls never builds and draws a big plan in one task.
//!
//! Time: the machine reads no clock. Each reply comes with the shell's wall clock at its
//! arrival, and the site's own `Date` headers give the offset between the two; the diagnosis is
//! made at the site's time.
//!
//! Timers: on Windows, when the logs leave a lock holder looking hung on silence alone, the
//! round reads the SCM site's processes (`/api/processes`, then each one's details) and needs
//! a second read of their CPU time [`PROCESS_SAMPLE_GAP_SECS`] later. It then hands out no
//! reads until the shell, having slept until [`DiagnosisRound::poll_timeout`], calls
//! [`DiagnosisRound::handle_timeout`] with its clock (as [`crate::CleanupRun`]'s timers work).
//! Linux sites and holders with a clear answer never wait.

use std::collections::VecDeque;

use crate::diagnose::facts::context::PROCESS_SAMPLE_GAP_SECS;
use crate::diagnose::{Diagnosis, EvidenceStrength};
use crate::model::Personality;
use crate::plan::{CleanupPlan, PlanKind};
use crate::reads::{HttpReply, Read, ReadId, diagnosis_reads};
use crate::session::Session;
use crate::time::Timestamp;

/// Levels of follow-up reads at most: the core asks for two today (a deployment's log, then
/// the children of its newest line), and no reply can make it ask forever.
pub const MAX_FOLLOW_UP_LEVELS: usize = 3;

/// Names one read handed out by [`DiagnosisRound::poll_reads`]; its reply goes back with it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ReadToken(usize);

/// What the first reads suggest while the logs that can change it are still being read.
#[derive(Clone, PartialEq, Debug)]
pub struct Provisional {
    /// The diagnosis from what is read so far. Not to be shown as the answer.
    pub diagnosis: Diagnosis,
    /// What is known and what is being checked, in words, for a "checking" state.
    pub checking: String,
}

/// What a round tells its shell.
#[derive(Clone, PartialEq, Debug)]
pub enum RoundEvent {
    Provisional(Box<Provisional>),
    /// The diagnosis to act on: every read of the round is in.
    Settled(Box<Diagnosis>),
    /// The targeted cleanup plan for the settled diagnosis.
    PlanReady(Box<CleanupPlan>),
    /// No first-round read got an answer from Kudu or its front end (network down, every
    /// read 5xx): there is nothing to diagnose.
    Unreachable,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// Reads of the current level are out (or not yet handed out).
    Reading { level: usize },
    /// Waiting until the shell's clock reaches `until` to read the processes' CPU time again.
    Waiting { level: usize, until: Timestamp },
    /// Settled; the plan is built when the shell next polls.
    Settled,
    /// Nothing more to say.
    Done,
}

/// One diagnosis of a site, from the first reads to the plan.
pub struct DiagnosisRound {
    session: Session,
    /// Every read of the round, in the order handed out; a token is an index here.
    reads: Vec<Read>,
    answered: Vec<bool>,
    /// Reads before this index were handed out.
    handed_out: usize,
    /// Where the current level's reads start in `reads`.
    level_start: usize,
    /// How many reads the first level has.
    first_level_len: usize,
    stage: Stage,
    /// The first level's replies that got no answer from Kudu at all.
    first_level_unanswered: usize,
    /// The site's clock minus the shell's, from the newest `Date` header seen.
    clock_offset_ms: Option<i64>,
    /// The shell's clock at the newest reply.
    last_wall: Option<Timestamp>,
    settled: Option<Diagnosis>,
    events: VecDeque<RoundEvent>,
    process_step: ProcessStep,
}

/// How far the round got with the SCM site's processes (Windows only).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ProcessStep {
    /// Not asked for (yet).
    NotAsked,
    /// `/api/processes` is out.
    Listing,
    /// Each listed process's details are out.
    FirstSample,
    /// The same details again, after the gap.
    SecondSample,
    /// Nothing more to read.
    Done,
}

impl DiagnosisRound {
    /// A round whose deployment-list URLs carry `cache_bust` (see [`diagnosis_reads`]).
    pub fn new(cache_bust: u64) -> Self {
        let reads = diagnosis_reads(cache_bust);
        DiagnosisRound {
            session: Session::new(),
            answered: vec![false; reads.len()],
            first_level_len: reads.len(),
            reads,
            handed_out: 0,
            level_start: 0,
            stage: Stage::Reading { level: 0 },
            first_level_unanswered: 0,
            clock_offset_ms: None,
            last_wall: None,
            settled: None,
            events: VecDeque::new(),
            process_step: ProcessStep::NotAsked,
        }
    }

    /// Adds the error text the user got (a pasted CI log, `--error-file`) before the round
    /// settles: the diagnosis combines its classification with what the site shows.
    pub fn paste_error(&mut self, text: &str) {
        self.session.paste_error(text);
    }

    /// Says which instance the replies come from (the `ARRAffinity` value the shell pinned),
    /// so the diagnosis can tell a lock held on another instance.
    pub fn reached_instance_is(&mut self, instance: &str) {
        self.session.reached_instance_is(instance);
    }

    /// Reads to send now, all independent of each other: send them at once.
    pub fn poll_reads(&mut self) -> Vec<(ReadToken, Read)> {
        let out = (self.handed_out..self.reads.len())
            .map(|index| (ReadToken(index), self.reads[index].clone()))
            .collect();
        self.handed_out = self.reads.len();
        out
    }

    /// The place of a token's read in the round, in the order handed out: shells list what
    /// they report per read in this order, whichever reply came first.
    pub fn read_index(&self, token: ReadToken) -> usize {
        token.0
    }

    /// The read a token stands for (for logs and failure lists).
    pub fn read(&self, token: ReadToken) -> Option<&Read> {
        self.reads.get(token.0)
    }

    /// Takes the reply to one read, in any order; `wall` is the shell's clock when it
    /// arrived. A token that is unknown or already answered is ignored. The body can be
    /// dropped as soon as this returns: the session keeps only what it parsed.
    pub fn handle_reply(&mut self, token: ReadToken, reply: &HttpReply, wall: Timestamp) {
        let index = token.0;
        if index >= self.handed_out || self.answered[index] {
            return;
        }
        let Stage::Reading { level } = self.stage else {
            return;
        };
        self.answered[index] = true;
        self.last_wall = Some(self.last_wall.map_or(wall, |w| w.max(wall)));
        if let Some(site) = reply.header("date").and_then(Timestamp::from_http_date) {
            self.clock_offset_ms = Some(site.unix_millis() - wall.unix_millis());
        }
        let read = &self.reads[index];
        if level == 0 {
            if got_no_answer(reply) {
                self.first_level_unanswered += 1;
            }
            // Failed replies go in too: the session records what it could not use.
            self.session.ingest(&read.id, &read.path, reply);
        } else if !got_no_answer(reply) && !crate::parse::is_sign_in_reply(reply) {
            // A follow-up only refines: a log read that failed is simply not evidence.
            self.session.ingest(&read.id, &read.path, reply);
        }
        if self.answered[self.level_start..].iter().all(|a| *a) {
            self.level_done(level);
        }
    }

    /// The next event, if any. The plan is built in the call that returns
    /// [`RoundEvent::PlanReady`].
    pub fn poll_event(&mut self) -> Option<RoundEvent> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.stage == Stage::Settled {
            self.stage = Stage::Done;
            let diagnosis = self.settled.as_ref()?;
            let plan = crate::plan::plan(&self.session, diagnosis, PlanKind::Targeted);
            return Some(RoundEvent::PlanReady(Box::new(plan)));
        }
        None
    }

    /// When the shell should call [`DiagnosisRound::handle_timeout`], on its own clock: the
    /// round waits between two reads of the build's processes and hands out nothing meanwhile.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.stage {
            Stage::Waiting { until, .. } => Some(until),
            _ => None,
        }
    }

    /// The shell's clock reached (or passed) the time [`DiagnosisRound::poll_timeout`] gave:
    /// the second reads of the processes are handed out by the next
    /// [`DiagnosisRound::poll_reads`]. Early calls do nothing.
    pub fn handle_timeout(&mut self, wall: Timestamp) {
        let Stage::Waiting { level, until } = self.stage else {
            return;
        };
        if wall < until {
            return;
        }
        self.last_wall = Some(self.last_wall.map_or(wall, |w| w.max(wall)));
        let again = self.session.process_reads_again();
        self.process_step = ProcessStep::SecondSample;
        self.start_level(level, again);
    }

    /// Every event was handed out; nothing more will come.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done && self.events.is_empty()
    }

    /// Whether the round is settled (or gave up): a "checking" state ends here.
    pub fn is_settled(&self) -> bool {
        matches!(self.stage, Stage::Settled | Stage::Done)
    }

    /// The site's clock minus the shell's, in milliseconds (0 until a reply carried a `Date`):
    /// countdowns add it to the shell's clock.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.unwrap_or(0)
    }

    /// What was read. For plans the user shapes afterwards (a full reset's options) and for
    /// the facts a guide quotes (the site's name).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, once the round is done with it (after [`RoundEvent::PlanReady`], or
    /// after [`RoundEvent::Settled`] by a shell that wants no plan); the round keeps an empty
    /// one. A shell keeps what was read for plans it builds later, without a copy.
    pub fn take_session(&mut self) -> Session {
        std::mem::take(&mut self.session)
    }

    /// Whether `token` is one of the first reads (not a follow-up): shells list only those as
    /// failed, since a follow-up that fails is simply not evidence.
    pub fn is_first_read(&self, token: ReadToken) -> bool {
        token.0 < self.first_level_len
    }

    /// The site's time for the newest reply.
    fn site_now(&self) -> Timestamp {
        let wall = self.last_wall.unwrap_or(Timestamp::from_unix_millis(0));
        Timestamp::from_unix_millis(wall.unix_millis().saturating_add(self.clock_offset_ms()))
    }

    fn level_done(&mut self, level: usize) {
        in_read_order(&mut self.session, &self.reads[self.level_start..]);
        if level == 0 && self.first_level_unanswered >= self.level_start_len() {
            self.stage = Stage::Done;
            self.events.push_back(RoundEvent::Unreachable);
            return;
        }
        let mut follow_ups = match self.process_step {
            ProcessStep::NotAsked if level < MAX_FOLLOW_UP_LEVELS => self.session.follow_up_reads(),
            _ => vec![],
        };
        if level == 0 {
            // The list read of this level may have purged what the listing beside it shows.
            follow_ups.extend(self.session.listing_after_the_list());
        }
        let mut diagnosis = None;
        if follow_ups.is_empty() {
            let now = self.site_now();
            let current = self.session.diagnose(now);
            match self.next_process_step(&current) {
                ProcessStep::Done | ProcessStep::NotAsked => {
                    self.process_step = ProcessStep::Done;
                    self.events
                        .push_back(RoundEvent::Settled(Box::new(current.clone())));
                    self.settled = Some(current);
                    self.stage = Stage::Settled;
                    return;
                }
                ProcessStep::SecondSample => {
                    self.process_step = ProcessStep::SecondSample;
                    let wall = self.last_wall.unwrap_or(Timestamp::from_unix_millis(0));
                    self.stage = Stage::Waiting {
                        level: level + 1,
                        until: wall.plus_secs(PROCESS_SAMPLE_GAP_SECS),
                    };
                    self.maybe_provisional(level, current);
                    return;
                }
                step => {
                    follow_ups = match step {
                        ProcessStep::Listing => self.session.process_list_read(),
                        _ => self.session.process_reads(),
                    };
                    self.process_step = step;
                }
            }
            diagnosis = Some(current);
        }
        if let Some(current) = diagnosis {
            // Watching a build's processes takes a few seconds: the "checking" text says so,
            // whichever level the logs left the round at.
            let level = if self.process_step == ProcessStep::Listing {
                0
            } else {
                level
            };
            self.maybe_provisional(level, current);
        } else if level == 0 {
            let current = self.session.diagnose(self.site_now());
            self.maybe_provisional(level, current);
        }
        self.start_level(level + 1, follow_ups);
    }

    /// The first round's answer, labelled, when more reads follow it.
    fn maybe_provisional(&mut self, level: usize, diagnosis: Diagnosis) {
        if level != 0 {
            return;
        }
        let checking = checking_text(&diagnosis, self.process_step != ProcessStep::NotAsked);
        self.events
            .push_back(RoundEvent::Provisional(Box::new(Provisional {
                diagnosis,
                checking,
            })));
    }

    /// Hands out `reads` as level `level`.
    fn start_level(&mut self, level: usize, reads: Vec<Read>) {
        self.level_start = self.reads.len();
        self.answered.extend(reads.iter().map(|_| false));
        self.reads.extend(reads);
        self.stage = Stage::Reading { level };
        if self.level_start_len() == 0 {
            // Nothing to read after all (no process could be named): settle on what is in.
            self.level_done(level);
        }
    }

    /// What to read of the processes next, given the diagnosis so far. The processes are
    /// read only on Windows and only when they can change the verdict: the lock's holder
    /// looks hung on weak evidence (log silence alone), which a busy build overturns and a
    /// lock nobody holds makes strong.
    fn next_process_step(&self, diagnosis: &Diagnosis) -> ProcessStep {
        match self.process_step {
            ProcessStep::NotAsked => {
                let weak = diagnosis
                    .lock
                    .idle_evidence
                    .as_ref()
                    .is_some_and(|e| e.strength == EvidenceStrength::Weak);
                if diagnosis.personality == Personality::Windows && weak {
                    ProcessStep::Listing
                } else {
                    ProcessStep::Done
                }
            }
            ProcessStep::Listing => ProcessStep::FirstSample,
            ProcessStep::FirstSample if !self.session.process_reads_again().is_empty() => {
                ProcessStep::SecondSample
            }
            _ => ProcessStep::Done,
        }
    }

    fn level_start_len(&self) -> usize {
        self.reads.len() - self.level_start
    }
}

/// No answer from Kudu or its front end: a failure below HTTP, or a server error. A sign-in
/// page or redirect is an answer (the session expired), and so is a 404.
fn got_no_answer(reply: &HttpReply) -> bool {
    if crate::parse::is_sign_in_reply(reply) {
        return false;
    }
    reply.transport_error.is_some() || reply.status == 0 || reply.status >= 500
}

/// What a "checking" state says while the logs (or the build's processes) are read.
fn checking_text(provisional: &Diagnosis, processes: bool) -> String {
    if processes {
        return "A process holds the deployment lock and its log has been silent; watching the \
                build's processes for a few seconds to see whether they still use CPU…"
            .into();
    }
    use crate::diagnose::LockState;
    let lock_taken = !matches!(provisional.lock.state, LockState::Free | LockState::Unknown);
    let unfinished = provisional
        .timeline
        .entries
        .iter()
        .any(|e| e.end.is_none() && !e.deployment.temp);
    let holder = if provisional.personality == Personality::Windows {
        "A process holds the deployment lock"
    } else {
        "A deployment holds the lock"
    };
    match (lock_taken, unfinished) {
        (true, _) => {
            format!("{holder}; reading its deployment's log to see whether it is still working…")
        }
        (false, true) => "A deployment has not finished; reading its log to see whether it is \
                          still working…"
            .into(),
        (false, false) => {
            "Reading the logs of recent deployments to tell what happened to them…".into()
        }
    }
}

/// Puts what the session lists per read (warnings, lock errors, OS hints) in the order of
/// `reads`, as if the replies had arrived in that order, after entries from other reads, so a
/// report reads the same whichever reply came first.
fn in_read_order(session: &mut Session, reads: &[Read]) {
    let by_path = |path: &str| reads.iter().position(|read| read.path == path);
    let by_id = |id: &ReadId| reads.iter().position(|read| read.id == *id);
    // `None` (not one of these reads) sorts first, and the sorts are stable: what earlier
    // levels left keeps its place.
    session
        .warnings
        .sort_by_cached_key(|warning| by_path(&warning.endpoint));
    session
        .lock_errors
        .sort_by_cached_key(|(id, _, _)| by_id(id));
    session.os_hints.sort_by_cached_key(|(id, _)| by_id(id));
}
