//! What a run tells the user: how each step stands, the events in order, the activity log of
//! every request, and how the run ended.

use serde::Serialize;

use crate::time::Timestamp;

use super::wire::RequestId;

#[cfg(doc)]
use super::CleanupRun;

/// The activity log keeps this much of each answer.
pub const EXCERPT_CHARS: usize = 200;

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
    /// The user confirmed they hold the backup ([`CleanupRun::backup_saved`]).
    BackupSaved {
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

/// What the user has seen of the run so far, and what its destructive steps did.
pub(super) struct Progress {
    /// One state per plan step.
    pub(super) steps: Vec<StepState>,
    pub(super) events: Vec<RunEvent>,
    /// Events before this index were handed out by `poll_event`.
    event_cursor: usize,
    /// Destructive steps that finished, in words: a change stopping the run later says what
    /// was already done.
    pub(super) done: Vec<String>,
    /// The first step that failed; later groups are not run, and the outcome names it.
    pub(super) failure: Option<StepFailure>,
}

impl Progress {
    pub(super) fn new(steps: usize) -> Self {
        Progress {
            steps: vec![StepState::Pending; steps],
            events: vec![],
            event_cursor: 0,
            done: vec![],
            failure: None,
        }
    }

    /// The next event not yet polled.
    pub(super) fn poll_event(&mut self) -> Option<RunEvent> {
        let event = self.events.get(self.event_cursor).cloned();
        if event.is_some() {
            self.event_cursor += 1;
        }
        event
    }

    pub(super) fn step_done(&mut self, step: usize, note: Option<String>) {
        self.steps[step] = StepState::Done { note: note.clone() };
        self.events.push(RunEvent::StepDone { step, note });
    }
}
