//! `use_cleanup_run`: drives `kudu-core`'s [`CleanupRun`] (backup, re-check, exact deletes,
//! restart, verify). The run decides every request and how many are in flight (up to
//! `LEFTOVER_MAX_IN_FLIGHT` leftover deletes at once, which the browser multiplexes over one
//! HTTP/2 connection); this hook only sends them through [`kudu_http::send_run`] (or a test's
//! scripted Kudu), hands the answers back, wakes the run when it waits (for Kudu to come back,
//! or for a throttled delete's back-off), offers the backup as a browser download the moment it
//! was checked, and publishes a [`CleanupView`] after every change.
//!
//! ```ignore
//! let cleanup = use_cleanup_run(&transport, state.dispatcher());
//! cleanup.start.emit(CleanupStart { plan, site_name, before, .. }); // after a trusted confirm
//! // cleanup.view: progress, the activity log and finally the outcome
//! ```

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use kudu_core::cleanup::{
    Acknowledgement, ActivityEntry, BackupReceipt, CleanupRun, Confirmation, Outcome, RunEvent,
    RunReply, RunRequest, StepState,
};
use kudu_core::{CleanupPlan, Diagnosis, PlanKind, Timestamp};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::kudu_http;
use crate::state::{Action, UiState};

/// A test's stand-in for Kudu: answers each request of a run.
pub type ScriptedKudu = Rc<dyn Fn(&RunRequest) -> RunReply>;

/// Where a run's requests go.
#[derive(Clone)]
pub enum CleanupTransport {
    /// Kudu over `fetch` (same-origin relative URLs when `origin` is `None`); the backup is a
    /// real browser download.
    Network { origin: Option<String> },
    /// Answers from a function, no network and no download (tests).
    Scripted(ScriptedKudu),
}

impl PartialEq for CleanupTransport {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CleanupTransport::Network { origin: a }, CleanupTransport::Network { origin: b }) => {
                a == b
            }
            (CleanupTransport::Scripted(a), CleanupTransport::Scripted(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for CleanupTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CleanupTransport::Network { origin } => write!(f, "Network({origin:?})"),
            CleanupTransport::Scripted(_) => write!(f, "Scripted"),
        }
    }
}

impl CleanupTransport {
    async fn send(&self, request: &RunRequest) -> RunReply {
        match self {
            CleanupTransport::Network { origin } => {
                kudu_http::send_run(origin.as_deref(), request).await
            }
            CleanupTransport::Scripted(kudu) => {
                // Answer on a later task, as the network would: the run must cope with
                // replies arriving after `poll_requests` returned.
                yew::platform::time::sleep(std::time::Duration::ZERO).await;
                kudu(request)
            }
        }
    }
}

/// What the user confirmed.
#[derive(Clone, Debug)]
pub struct CleanupStart {
    /// The plan on screen, shared; the run takes the one copy it needs.
    pub plan: Rc<CleanupPlan>,
    /// Names the backup file.
    pub site_name: String,
    /// The diagnosis the plan came from ("before").
    pub before: Diagnosis,
    /// Run the plan's optional steps (Windows: also restart the app worker).
    pub include_optional: bool,
    /// A full reset's typed confirmation; `None` for a targeted plan.
    pub confirmation: Option<Confirmation>,
    /// The user's word that nothing is deploying, when the plan rests on weak evidence and the
    /// user ticked its statement with a trusted click.
    pub acknowledgement: Option<Acknowledgement>,
    /// The SCM site's clock minus the browser's (the run works on the site's time).
    pub clock_offset_ms: i64,
}

/// The backup file the user was handed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BackupOffer {
    pub file_name: String,
    pub bytes: usize,
}

/// A run as the UI shows it.
#[derive(Clone, PartialEq, Debug)]
pub struct CleanupView {
    pub plan: Rc<CleanupPlan>,
    pub steps: Vec<StepState>,
    pub events: Vec<RunEvent>,
    pub log: Vec<ActivityEntry>,
    pub outcome: Option<Outcome>,
    pub before: Option<Diagnosis>,
    pub after: Option<Diagnosis>,
    pub backup: Option<BackupOffer>,
    /// The backup was checked and the run waits for the user to say they hold it.
    pub awaiting_backup_saved: bool,
    /// Why the last hand-over of the backup to the browser failed, or why the run refused the
    /// user's confirmation; cleared by the next success.
    pub backup_problem: Option<String>,
    /// Kudu was restarted and the run waits for it to answer again.
    pub waiting_for_kudu: bool,
}

impl CleanupView {
    pub fn is_full_reset(&self) -> bool {
        self.plan.kind == PlanKind::FullReset
    }

    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }
}

/// The run (if any) and what the UI may do with it.
#[derive(Clone, PartialEq)]
pub struct CleanupHandle {
    pub view: Option<Rc<CleanupView>>,
    /// Starts a run; ignored while one is running.
    pub start: Callback<CleanupStart>,
    /// Hands the checked backup to the browser again.
    pub save_backup_again: Callback<()>,
    /// The user holds the backup (called only on a trusted click): the run goes on to its
    /// first re-check.
    pub backup_saved: Callback<()>,
}

struct Driver {
    run: CleanupRun,
    plan: Rc<CleanupPlan>,
    transport: CleanupTransport,
    clock_offset_ms: i64,
    backup_offered: bool,
    backup_problem: Option<String>,
    finished_told: bool,
    /// Counts scheduled wake-ups; only the newest one still pumps when it fires.
    wake_generation: u64,
    /// A publication of the view is due (they are batched, see [`PUBLISH_EVERY`]).
    publish_scheduled: bool,
    stopped: bool,
    publish: UseStateSetter<Option<Rc<CleanupView>>>,
    dispatcher: UseReducerDispatcher<UiState>,
}

impl Driver {
    fn now(&self) -> Timestamp {
        let wall = wall_clock().unix_millis();
        Timestamp::from_unix_millis(wall.saturating_add(self.clock_offset_ms))
    }

    fn view(&self) -> CleanupView {
        CleanupView {
            plan: self.plan.clone(),
            steps: self.run.step_states().to_vec(),
            events: self.run.events().to_vec(),
            log: self.run.log().to_vec(),
            outcome: self.run.outcome().cloned(),
            before: self.run.before().cloned(),
            after: self.run.after().cloned(),
            backup: self
                .run
                .backup_file_ref()
                .map(|(file_name, bytes)| BackupOffer {
                    file_name: file_name.to_string(),
                    bytes: bytes.len(),
                }),
            awaiting_backup_saved: self.run.awaiting_backup_saved(),
            backup_problem: self.backup_problem.clone(),
            // Not `poll_timeout().is_some()`: a throttled delete's back-off is a timeout too.
            waiting_for_kudu: self.run.waiting_for_kudu(),
        }
    }
}

type SharedDriver = Rc<RefCell<Driver>>;

/// Sends what the run asks for, schedules its wake-up and publishes its state. Called at the
/// start, after every answer and at every wake-up.
fn pump(driver: &SharedDriver) {
    let (requests, transport) = {
        let mut d = driver.borrow_mut();
        if d.stopped {
            return;
        }
        let now = d.now();
        (d.run.poll_requests(now), d.transport.clone())
    };
    for request in requests {
        let driver = driver.clone();
        let transport = transport.clone();
        spawn_local(async move {
            let reply = transport.send(&request).await;
            {
                let mut d = driver.borrow_mut();
                if d.stopped {
                    return;
                }
                let now = d.now();
                d.run.handle_reply(request.id, reply, now);
            }
            pump(&driver);
        });
    }
    settle(driver);
}

/// The view is published at most this often: with hundreds of deletes in flight, rendering
/// the activity log after every single answer would cost more than the deletes.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// After a pump: the download (at once), the wake-up while Kudu restarts, and a publication.
fn settle(driver: &SharedDriver) {
    let mut download = None;
    let mut wake = None;
    let mut schedule_publish = false;
    let mut publish_now = false;
    {
        let mut d = driver.borrow_mut();
        while d.run.poll_event().is_some() {}
        if !d.backup_offered
            && let Some((name, bytes)) = d.run.backup_file_ref()
        {
            if matches!(d.transport, CleanupTransport::Network { .. }) {
                download = Some((name.to_string(), bytes.to_vec()));
            }
            d.backup_offered = true;
        }
        d.wake_generation += 1;
        if d.run.outcome().is_none()
            && d.run.in_flight() == 0
            && let Some(at) = d.run.poll_timeout()
        {
            let wait = at.unix_millis().saturating_sub(d.now().unix_millis());
            wake = Some((d.wake_generation, u64::try_from(wait).unwrap_or(0)));
        }
        if d.run.outcome().is_some() && !d.finished_told {
            // The outcome is what the user waits for: show it now, not at the next tick.
            publish_now = true;
        } else if !d.publish_scheduled {
            d.publish_scheduled = true;
            schedule_publish = true;
        }
    }
    if publish_now {
        // On a later task, as every publication: never inside the caller's borrow or callback.
        let driver = driver.clone();
        spawn_local(async move { publish(&driver) });
    }
    if let Some((name, bytes)) = download {
        let saved = save_file(&name, &bytes);
        driver.borrow_mut().backup_problem = saved.err();
    }
    if let Some((generation, wait_ms)) = wake {
        let driver = driver.clone();
        spawn_local(async move {
            yew::platform::time::sleep(Duration::from_millis(wait_ms)).await;
            let current = {
                let d = driver.borrow();
                !d.stopped && d.wake_generation == generation
            };
            if current {
                pump(&driver);
            }
        });
    }
    if schedule_publish {
        let driver = driver.clone();
        spawn_local(async move {
            yew::platform::time::sleep(PUBLISH_EVERY).await;
            publish(&driver);
        });
    }
}

/// Publishes the view on a later task (never inside a callback's borrow).
fn publish_soon(driver: &SharedDriver) {
    let driver = driver.clone();
    spawn_local(async move { publish(&driver) });
}

/// Shows the run's current state; once it has ended, the wizard reads the site again.
fn publish(driver: &SharedDriver) {
    let (view, finished, setter, dispatcher) = {
        let mut d = driver.borrow_mut();
        d.publish_scheduled = false;
        if d.stopped {
            return;
        }
        let finished = d.run.outcome().is_some() && !d.finished_told;
        if finished {
            d.finished_told = true;
        }
        (
            Rc::new(d.view()),
            finished,
            d.publish.clone(),
            d.dispatcher.clone(),
        )
    };
    setter.set(Some(view));
    if finished {
        // The outcome stays on screen; the wizard around it reads the site again.
        dispatcher.dispatch(Action::CleanupRunning(false));
        dispatcher.dispatch(Action::RefreshRequested);
    }
}

/// Hands `bytes` to the browser as a download named `name`: a Blob, an object URL and an
/// `<a download>` click, the URL revoked once the browser has taken the file. `Err` says what
/// failed in words for the user. A browser reports nothing about the download itself (a
/// cancelled "Save as", a blocked second download), which is why the run waits for the
/// user's own confirmation that they hold the file.
fn save_file(name: &str, bytes: &[u8]) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let failed = |what: &str| {
        format!(
            "The browser could not be handed the backup ({what}). Nothing was deleted; try \"Save again\"."
        )
    };
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| failed("no document"))?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/zip");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| failed("the file could not be made, perhaps for lack of memory"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| failed("the file could not be given an address"))?;
    let anchor = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    // Revoking at once can cancel the download in some browsers; a minute is plenty.
    let revoke = {
        let url = url.clone();
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    };
    let Some(anchor) = anchor else {
        revoke();
        return Err(failed("no download link could be made"));
    };
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    Timeout::new(60_000, revoke).forget();
    Ok(())
}

/// The cleanup run of this app (one at a time).
#[hook]
pub fn use_cleanup_run(
    transport: &CleanupTransport,
    dispatcher: UseReducerDispatcher<UiState>,
) -> CleanupHandle {
    let view = use_state(|| None::<Rc<CleanupView>>);
    let driver = use_mut_ref(|| None::<SharedDriver>);
    {
        let driver = driver.clone();
        use_effect_with((), move |()| {
            move || {
                if let Some(d) = driver.borrow_mut().take() {
                    d.borrow_mut().stopped = true;
                }
            }
        });
    }
    let start = {
        let driver = driver.clone();
        let transport = transport.clone();
        let publish = view.setter();
        Callback::from(move |start: CleanupStart| {
            let busy = driver
                .borrow()
                .as_ref()
                .is_some_and(|d| d.borrow().run.outcome().is_none());
            if busy {
                return;
            }
            let wall = wall_clock().unix_millis();
            let now = Timestamp::from_unix_millis(wall.saturating_add(start.clock_offset_ms));
            let plan = start.plan.clone();
            let owned = (*start.plan).clone();
            let run = match start.confirmation {
                Some(confirmation) => CleanupRun::new_full_reset(owned, confirmation, now),
                None => CleanupRun::new(owned, &start.site_name, now),
            }
            .with_optional_steps(start.include_optional)
            .with_acknowledgement(start.acknowledgement)
            .with_before(start.before);
            let shared = Rc::new(RefCell::new(Driver {
                run,
                plan,
                transport: transport.clone(),
                clock_offset_ms: start.clock_offset_ms,
                backup_offered: false,
                backup_problem: None,
                finished_told: false,
                wake_generation: 0,
                publish_scheduled: false,
                stopped: false,
                publish: publish.clone(),
                dispatcher: dispatcher.clone(),
            }));
            if let Some(old) = driver.borrow_mut().replace(shared.clone()) {
                old.borrow_mut().stopped = true;
            }
            dispatcher.dispatch(Action::CleanupRunning(true));
            pump(&shared);
        })
    };
    let save_backup_again = {
        let driver = driver.clone();
        Callback::from(move |()| {
            let file = driver.borrow().as_ref().and_then(|d| {
                let d = d.borrow();
                let network = matches!(d.transport, CleanupTransport::Network { .. });
                d.run
                    .backup_file_ref()
                    .filter(|_| network)
                    .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            });
            if let Some((name, bytes)) = file {
                let saved = save_file(&name, &bytes);
                if let Some(d) = driver.borrow().as_ref() {
                    d.borrow_mut().backup_problem = saved.err();
                    publish_soon(d);
                }
            }
        })
    };
    let backup_saved = {
        let driver = driver.clone();
        Callback::from(move |()| {
            let Some(shared) = driver.borrow().as_ref().cloned() else {
                return;
            };
            {
                let mut d = shared.borrow_mut();
                if !d.run.awaiting_backup_saved() {
                    // A second click while the first is taken in: nothing to say.
                    return;
                }
                let now = d.now();
                // The receipt names the file and size the confirmation showed.
                let receipt = d
                    .run
                    .backup_file_ref()
                    .map(|(name, bytes)| BackupReceipt::confirmed(name, bytes.len() as u64));
                let Some(receipt) = receipt else {
                    return;
                };
                let confirmed = d.run.backup_saved(&receipt, now);
                d.backup_problem = confirmed.err();
            }
            pump(&shared);
        })
    };
    CleanupHandle {
        view: (*view).clone(),
        start,
        save_backup_again,
        backup_saved,
    }
}
