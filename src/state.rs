//! The app's whole UI state and its one reducer. Pure: no web-sys, no clock, no I/O, so every
//! transition is tested natively (`cargo test -p kudu-doctor --lib`). Hooks dispatch
//! [`Action`]s; components read [`UiState`].

use std::rc::Rc;

use kudu_core::{CauseId, Diagnosis};
use yew::Reducible;

use crate::round::{RoundFailure, RoundOutcome, Snapshot};

/// Data that loads, keeping what was shown before while a refresh runs or after it fails.
#[derive(Clone, PartialEq, Debug)]
pub enum LoadState<T, E> {
    Loading { previous: Option<T> },
    Loaded(T),
    Failed { previous: Option<T>, error: E },
}

impl<T, E> LoadState<T, E> {
    /// The newest data there is, fresh or not.
    pub fn data(&self) -> Option<&T> {
        match self {
            LoadState::Loading { previous } | LoadState::Failed { previous, .. } => {
                previous.as_ref()
            }
            LoadState::Loaded(data) => Some(data),
        }
    }

    pub fn error(&self) -> Option<&E> {
        match self {
            LoadState::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    pub fn is_loading(&self) -> bool {
        matches!(self, LoadState::Loading { .. })
    }
}

/// The wizard's steps, in the order they are shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WizardStep {
    Diagnosis,
    Timeline,
    Lock,
    Guide,
}

impl WizardStep {
    pub const ALL: [WizardStep; 4] = [
        WizardStep::Diagnosis,
        WizardStep::Timeline,
        WizardStep::Lock,
        WizardStep::Guide,
    ];

    pub fn title(self) -> &'static str {
        match self {
            WizardStep::Diagnosis => "Diagnosis",
            WizardStep::Timeline => "Timeline",
            WizardStep::Lock => "Lock",
            WizardStep::Guide => "What to do",
        }
    }

    /// The section's `data-testid`, also its anchor.
    pub fn testid(self) -> &'static str {
        match self {
            WizardStep::Diagnosis => "diagnosis",
            WizardStep::Timeline => "timeline",
            WizardStep::Lock => "lock",
            WizardStep::Guide => "guide",
        }
    }
}

/// Who opened the wizard: focus moves into it only when the user did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opener {
    User,
    Itself,
}

/// How the app was mounted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UiOptions {
    /// Open the wizard without a click when the site is deploying or locked.
    pub auto_open: bool,
    /// A panel on the Kudu page toggled by the launcher (else a full page, always open).
    pub embedded: bool,
}

/// Everything the view needs.
#[derive(Clone, PartialEq, Debug)]
pub struct UiState {
    pub load: LoadState<Rc<Snapshot>, RoundFailure>,
    /// The round whose answer is awaited or was last taken; hooks start a round when it grows.
    pub round: u64,
    pub options: UiOptions,
    /// Whether the wizard is visible (always on a full page).
    pub open: Option<Opener>,
    pub step: WizardStep,
    /// While the first round reads the logs that can change its answer: what it knows so far,
    /// in words. Never a diagnosis; gone once the round settles.
    pub checking: Option<String>,
    /// The site was busy and no longer is: "The lock is gone — you can deploy again".
    pub lock_cleared: bool,
    /// A cleanup run is under way: no polling meanwhile (the run reads the site itself, and
    /// the read after it must not be skipped for a poll still in flight).
    pub cleanup_running: bool,
    /// The error text the user pasted ("Paste the error you got"): every round reads the site
    /// with it, and the core combines the two.
    pub pasted_error: Option<Rc<str>>,
    auto_opened: bool,
}

/// What happened.
#[derive(Clone, PartialEq, Debug)]
pub enum Action {
    /// The user asked to retry or refresh, or the poll timer fired.
    RefreshRequested,
    /// The round's first reads are in and the logs that decide it are being read.
    RoundChecking {
        round: u64,
        checking: String,
    },
    /// The round settled: its diagnosis (the plan follows), or no answer at all.
    RoundFinished {
        round: u64,
        outcome: RoundOutcome,
    },
    /// The same round's snapshot with its cleanup plan; the diagnosis is the settled one.
    RoundPlanned {
        round: u64,
        snapshot: Rc<Snapshot>,
    },
    /// A trusted click on the launcher.
    LauncherClicked,
    /// The close button or Escape.
    CloseRequested,
    StepSelected(WizardStep),
    NoticeDismissed,
    /// A cleanup run started (`true`) or ended (`false`).
    CleanupRunning(bool),
    /// The user submitted the error text they got (blank: forget it).
    ErrorPasted(String),
}

/// Whether something that ends by itself blocks deployments now (a deployment, scan or swap,
/// or a Linux lock before its expiry): the wizard keeps watching until it does. The core's
/// verdict decides.
pub fn is_busy(diagnosis: &Diagnosis) -> bool {
    diagnosis.deployability.is_busy()
}

impl UiState {
    /// The state at mount: the first round is already under way.
    pub fn new(options: UiOptions) -> Self {
        UiState {
            load: LoadState::Loading { previous: None },
            round: 1,
            options,
            open: (!options.embedded).then_some(Opener::Itself),
            step: WizardStep::Diagnosis,
            checking: None,
            lock_cleared: false,
            cleanup_running: false,
            pasted_error: None,
            auto_opened: false,
        }
    }

    pub fn snapshot(&self) -> Option<&Rc<Snapshot>> {
        self.load.data()
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The state at mount when the user's own click on the launcher loaded the app: open, as
    /// the click asked (issue 17: the loader mounts the app on that first click).
    pub fn opened_by_user(self) -> Self {
        UiState {
            open: Some(Opener::User),
            auto_opened: true,
            ..self
        }
    }

    /// Whether anyone sees the wizard's answer: a closed drawer leaves the watching to the
    /// loader's cheap probe (issue 17), so no full round runs for it.
    pub fn is_watched(&self) -> bool {
        !self.options.embedded || self.is_open()
    }

    /// The launcher's `data-state`: `checking` until the first round settles, then the
    /// leading cause id of the settled diagnosis (`session-expired` when sign-in is needed,
    /// `error` when nothing could be read). A refresh keeps the last settled cause until its
    /// own round settles.
    pub fn launcher_state(&self) -> &'static str {
        match (self.snapshot(), &self.load) {
            (Some(snapshot), _) => snapshot
                .diagnosis
                .primary()
                .map_or("unknown", |finding| finding.cause.as_str()),
            (None, LoadState::Failed { .. }) => "error",
            (None, _) => "checking",
        }
    }

    /// Whether the poll timer should run: the wizard is seen, the last round succeeded and the
    /// site is busy.
    pub fn wants_polling(&self) -> bool {
        if self.cleanup_running || !self.is_watched() {
            return false;
        }
        match &self.load {
            LoadState::Loaded(snapshot) => is_busy(&snapshot.diagnosis),
            _ => false,
        }
    }

    fn finish_round(mut self, outcome: RoundOutcome) -> Self {
        let previous = self.snapshot().cloned();
        let leading = match &outcome {
            RoundOutcome::Diagnosed(snapshot) => {
                snapshot.diagnosis.primary().map(|finding| finding.cause)
            }
            RoundOutcome::Failed(RoundFailure::Unreachable { .. }) => None,
        };
        self.checking = None;
        self.load = match outcome {
            RoundOutcome::Diagnosed(snapshot) => {
                let was_busy = previous.is_some_and(|p| is_busy(&p.diagnosis));
                self.lock_cleared =
                    (was_busy || self.lock_cleared) && is_clear(&snapshot.diagnosis);
                LoadState::Loaded(snapshot)
            }
            RoundOutcome::Failed(error) => LoadState::Failed { previous, error },
        };
        self.open_by_itself_for(leading);
        self
    }

    /// The settled snapshot of the same round with its plan: the diagnosis does not change,
    /// so neither does anything decided from it.
    fn plan_round(mut self, snapshot: Rc<Snapshot>) -> Self {
        self.load = LoadState::Loaded(snapshot);
        self
    }

    fn open_by_itself_for(&mut self, leading: Option<CauseId>) {
        // Decided once, in kudu-core: only what the user must act on covers Kudu's page.
        let opens = leading.is_some_and(|cause| cause.needs_the_user());
        if self.options.embedded && self.options.auto_open && !self.auto_opened && opens {
            self.auto_opened = true;
            self.open.get_or_insert(Opener::Itself);
        }
    }
}

/// A deployment would be accepted: the core's verdict.
fn is_clear(diagnosis: &Diagnosis) -> bool {
    diagnosis.deployability.is_clear()
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::RefreshRequested => {
                if next.load.is_loading() {
                    return self;
                }
                next.round += 1;
                next.load = LoadState::Loading {
                    previous: next.snapshot().cloned(),
                };
            }
            Action::ErrorPasted(text) => {
                let text = text.trim();
                next.pasted_error = (!text.is_empty()).then(|| Rc::from(text));
                match next.snapshot().filter(|s| s.is_planned()).cloned() {
                    // The site's replies are in hand: the core reads them again with the text,
                    // and nothing is sent.
                    Some(snapshot) => {
                        let mut session = (*snapshot.session).clone();
                        session.paste_error(text);
                        let diagnosis = session.diagnose(snapshot.diagnosis.now);
                        next.load = LoadState::Loaded(Rc::new(Snapshot {
                            diagnosis,
                            session: Rc::new(session),
                            ..(*snapshot).clone()
                        }));
                    }
                    // A round under way started without it; the box waits for it to settle.
                    None if next.load.is_loading() => return self,
                    None => {
                        next.round += 1;
                        next.load = LoadState::Loading {
                            previous: next.snapshot().cloned(),
                        };
                    }
                }
            }
            Action::RoundFinished { round, outcome } => {
                if round != next.round || !next.load.is_loading() {
                    return self;
                }
                next = next.finish_round(outcome);
            }
            Action::RoundChecking { round, checking } => {
                if round != next.round || !next.load.is_loading() {
                    return self;
                }
                next.checking = Some(checking);
            }
            Action::RoundPlanned { round, snapshot } => {
                if round != next.round || !matches!(next.load, LoadState::Loaded(_)) {
                    return self;
                }
                next = next.plan_round(snapshot);
            }
            Action::LauncherClicked => {
                next.open = match next.open {
                    Some(_) if next.options.embedded => None,
                    Some(opener) => Some(opener),
                    None => Some(Opener::User),
                };
                // A user who opened or closed it has decided; never pop it open again.
                next.auto_opened = true;
            }
            Action::CloseRequested => {
                if next.options.embedded {
                    next.open = None;
                    next.auto_opened = true;
                }
            }
            Action::StepSelected(step) => next.step = step,
            Action::NoticeDismissed => next.lock_cleared = false,
            Action::CleanupRunning(running) => next.cleanup_running = running,
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use kudu_core::diagnose::{
        Blocker, BlockerKind, CanDeploy, Deployability, LockReport, LockState, Timeline,
    };
    use kudu_core::{Confidence, Finding, Personality, Timestamp};

    use super::*;
    use crate::round::SiteFacts;

    fn lock(state: LockState) -> LockReport {
        LockReport {
            state,
            holder_operation: None,
            worker: None,
            pid: None,
            acquired: None,
            expires: None,
            secs_left: None,
            windows_lock_file: false,
            explanation: String::new(),
            others: vec![],
            idle_evidence: None,
        }
    }

    /// The verdict the core gives alongside `cause` in these tests.
    fn verdict(cause: CauseId) -> Deployability {
        let blocked = |kind, ends_by_itself| Deployability {
            can_deploy: CanDeploy::No,
            blockers: vec![Blocker {
                kind,
                text: String::new(),
                ends_by_itself,
                until: None,
            }],
        };
        match cause {
            CauseId::DeploymentInProgress => blocked(BlockerKind::DeploymentRunning, true),
            CauseId::StaleLock => blocked(BlockerKind::StaleLock, false),
            CauseId::SessionExpired => Deployability {
                can_deploy: CanDeploy::Unknown,
                blockers: vec![Blocker {
                    kind: BlockerKind::SignInNeeded,
                    text: String::new(),
                    ends_by_itself: false,
                    until: None,
                }],
            },
            _ => Deployability {
                can_deploy: CanDeploy::Yes,
                blockers: vec![],
            },
        }
    }

    fn diagnosed(cause: CauseId, lock_state: LockState) -> RoundOutcome {
        let diagnosis = Diagnosis {
            now: Timestamp::from_unix_millis(0),
            personality: Personality::Linux,
            findings: vec![Finding {
                cause,
                confidence: Confidence::High,
                summary: String::new(),
                evidence: vec![],
                recommendations: vec![],
            }],
            timeline: Timeline::default(),
            lock: lock(lock_state),
            deployability: verdict(cause),
            pasted_error: None,
            instances: Default::default(),
            warnings: vec![],
        };
        RoundOutcome::Diagnosed(Rc::new(Snapshot {
            diagnosis,
            plan: Rc::new(crate::round::unplanned()),
            site: SiteFacts::default(),
            failed_reads: vec![],
            clock_offset_ms: 0,
            session: Rc::default(),
        }))
    }

    fn embedded() -> Rc<UiState> {
        Rc::new(UiState::new(UiOptions {
            auto_open: true,
            embedded: true,
        }))
    }

    /// An embedded wizard the user opened.
    fn opened() -> Rc<UiState> {
        embedded().reduce(Action::LauncherClicked)
    }

    fn finish(state: Rc<UiState>, outcome: RoundOutcome) -> Rc<UiState> {
        let round = state.round;
        state.reduce(Action::RoundFinished { round, outcome })
    }

    fn unreachable() -> RoundOutcome {
        RoundOutcome::Failed(RoundFailure::Unreachable { failures: vec![] })
    }

    #[test]
    fn launcher_is_checking_until_the_first_round_ends() {
        let state = embedded();
        assert_eq!(state.launcher_state(), "checking");
        let state = finish(state, diagnosed(CauseId::StaleLock, LockState::Orphaned));
        assert_eq!(state.launcher_state(), "stale-lock");
    }

    #[test]
    fn opens_by_itself_once_when_the_site_is_locked() {
        let state = finish(
            embedded(),
            diagnosed(CauseId::StaleLock, LockState::Orphaned),
        );
        assert_eq!(state.open, Some(Opener::Itself));
        let state = state.reduce(Action::CloseRequested);
        assert!(!state.is_open());
        let state = state.reduce(Action::RefreshRequested);
        let state = finish(state, diagnosed(CauseId::StaleLock, LockState::Orphaned));
        assert!(!state.is_open(), "a closed wizard stays closed on refresh");
    }

    /// Issue 17: a deployment, scan or auto swap that ends by itself shows in the launcher
    /// and never covers Kudu's page; a closed drawer is not polled with full rounds.
    #[test]
    fn stays_closed_and_unpolled_for_what_ends_by_itself() {
        for cause in [
            CauseId::DeploymentInProgress,
            CauseId::ScanUnderway,
            CauseId::AutoswapInProgress,
        ] {
            let state = finish(embedded(), diagnosed(cause, LockState::Live));
            assert!(!state.is_open(), "{cause:?} opened the drawer");
            assert_eq!(state.launcher_state(), cause.as_str());
            assert!(
                !state.wants_polling(),
                "{cause:?}: full rounds behind a closed drawer"
            );
            // The same diagnosis with the wizard open is watched (when the verdict says busy).
            let seen = state.reduce(Action::LauncherClicked);
            let open_from_the_start = finish(opened(), diagnosed(cause, LockState::Live));
            assert_eq!(seen.wants_polling(), open_from_the_start.wants_polling());
        }
        let running = finish(
            embedded(),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        assert!(running.reduce(Action::LauncherClicked).wants_polling());
    }

    #[test]
    fn the_users_first_click_mounts_it_open() {
        let state = UiState::new(UiOptions {
            auto_open: true,
            embedded: true,
        })
        .opened_by_user();
        assert_eq!(state.open, Some(Opener::User));
        let state = finish(Rc::new(state), diagnosed(CauseId::Healthy, LockState::Free));
        assert!(state.is_open());
    }

    #[test]
    fn stays_closed_for_a_healthy_site_or_without_auto_open() {
        let state = finish(embedded(), diagnosed(CauseId::Healthy, LockState::Free));
        assert!(!state.is_open());
        let quiet = Rc::new(UiState::new(UiOptions {
            auto_open: false,
            embedded: true,
        }));
        let quiet = finish(quiet, diagnosed(CauseId::StaleLock, LockState::Orphaned));
        assert!(!quiet.is_open());
    }

    #[test]
    fn launcher_toggles_an_embedded_wizard_and_full_pages_stay_open() {
        let state = embedded().reduce(Action::LauncherClicked);
        assert_eq!(state.open, Some(Opener::User));
        assert!(!state.clone().reduce(Action::LauncherClicked).is_open());
        let page = Rc::new(UiState::new(UiOptions::default()));
        assert!(page.is_open());
        assert!(page.clone().reduce(Action::CloseRequested).is_open());
        assert!(page.reduce(Action::LauncherClicked).is_open());
    }

    #[test]
    fn a_failed_refresh_keeps_the_previous_diagnosis() {
        let state = finish(
            embedded(),
            diagnosed(CauseId::StaleLock, LockState::Orphaned),
        );
        let state = finish(state.reduce(Action::RefreshRequested), unreachable());
        assert!(state.load.error().is_some());
        let kept = state.snapshot().expect("previous data kept");
        assert_eq!(
            kept.diagnosis.primary().map(|f| f.cause),
            Some(CauseId::StaleLock)
        );
        assert_eq!(state.launcher_state(), "stale-lock");
    }

    #[test]
    fn session_expiry_leads_the_launcher_and_opens_the_wizard() {
        let state = finish(
            embedded(),
            diagnosed(CauseId::SessionExpired, LockState::Unknown),
        );
        assert_eq!(state.launcher_state(), "session-expired");
        assert!(state.is_open());
        let nothing = finish(embedded(), unreachable());
        assert_eq!(nothing.launcher_state(), "error");
    }

    #[test]
    fn stale_and_duplicate_rounds_are_ignored() {
        let state = embedded();
        let stale = state.clone().reduce(Action::RoundFinished {
            round: 0,
            outcome: diagnosed(CauseId::Healthy, LockState::Free),
        });
        assert_eq!(stale.launcher_state(), "checking");
        let state = state.reduce(Action::RefreshRequested);
        assert_eq!(state.round, 1, "no second round while one is running");
    }

    #[test]
    fn no_polling_while_a_cleanup_runs() {
        let state = finish(embedded(), diagnosed(CauseId::StaleLock, LockState::Live));
        let busy = state.wants_polling();
        let running = state.reduce(Action::CleanupRunning(true));
        assert!(!running.wants_polling());
        let ended = running.reduce(Action::CleanupRunning(false));
        assert_eq!(ended.wants_polling(), busy);
    }

    #[test]
    fn polls_while_busy_and_announces_when_the_lock_clears() {
        let state = finish(
            opened(),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        assert!(state.wants_polling());
        assert!(!state.lock_cleared);
        let state = state.reduce(Action::RefreshRequested);
        assert!(!state.wants_polling(), "no timer while a round runs");
        let state = finish(state, diagnosed(CauseId::Healthy, LockState::Free));
        assert!(!state.wants_polling());
        assert!(state.lock_cleared);
        let state = state.reduce(Action::NoticeDismissed);
        assert!(!state.lock_cleared);
    }

    #[test]
    fn the_notice_waits_out_a_failed_poll_and_goes_when_busy_again() {
        let state = finish(
            opened(),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        let state = finish(state.reduce(Action::RefreshRequested), unreachable());
        assert!(!state.wants_polling());
        let state = finish(
            state.reduce(Action::RefreshRequested),
            diagnosed(CauseId::Healthy, LockState::Free),
        );
        assert!(state.lock_cleared);
        let state = finish(
            state.reduce(Action::RefreshRequested),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        assert!(!state.lock_cleared);
    }

    #[test]
    fn a_deployment_that_hangs_is_not_announced_as_gone() {
        let state = finish(
            opened(),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        let state = finish(
            state.reduce(Action::RefreshRequested),
            diagnosed(CauseId::StaleLock, LockState::Orphaned),
        );
        assert!(!state.lock_cleared);
        assert!(!state.wants_polling());
    }

    #[test]
    fn the_plan_replaces_the_snapshot_of_its_own_round_only() {
        let state = finish(
            opened(),
            diagnosed(CauseId::DeploymentInProgress, LockState::Live),
        );
        let state = finish(
            state.reduce(Action::RefreshRequested),
            diagnosed(CauseId::Healthy, LockState::Free),
        );
        assert!(state.lock_cleared);
        let RoundOutcome::Diagnosed(planned) = diagnosed(CauseId::Healthy, LockState::Free) else {
            unreachable!()
        };
        let old = state.clone().reduce(Action::RoundPlanned {
            round: state.round - 1,
            snapshot: planned.clone(),
        });
        assert!(
            !Rc::ptr_eq(old.snapshot().unwrap(), &planned),
            "an older round's plan is dropped"
        );
        let with_plan = state.reduce(Action::RoundPlanned {
            round: 2,
            snapshot: planned.clone(),
        });
        assert!(Rc::ptr_eq(with_plan.snapshot().unwrap(), &planned));
        assert!(with_plan.lock_cleared, "the plan changes nothing decided");
    }

    /// Issue 15: a provisional answer is never shown as the diagnosis. The launcher says
    /// `checking` (and the wizard what it knows) until the round settles.
    #[test]
    fn the_launcher_says_checking_until_the_round_settles() {
        let state = embedded();
        assert_eq!(state.launcher_state(), "checking");
        let state = state.reduce(Action::RoundChecking {
            round: 1,
            checking: "A deployment holds the lock; reading its deployment's log…".into(),
        });
        assert_eq!(state.launcher_state(), "checking");
        assert!(state.checking.as_deref().unwrap().contains("reading"));
        assert!(!state.is_open(), "nothing settled opens the wizard");
        let state = finish(state, diagnosed(CauseId::StaleLock, LockState::Orphaned));
        assert_eq!(state.launcher_state(), "stale-lock");
        assert_eq!(state.checking, None);
        assert!(state.is_open());
        // A refresh keeps the settled cause while it checks.
        let state = state
            .reduce(Action::RefreshRequested)
            .reduce(Action::RoundChecking {
                round: 2,
                checking: "…".into(),
            });
        assert_eq!(state.launcher_state(), "stale-lock");
    }

    #[test]
    fn steps_are_selected() {
        let state = embedded().reduce(Action::StepSelected(WizardStep::Lock));
        assert_eq!(state.step, WizardStep::Lock);
    }
}
