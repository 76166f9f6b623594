//! `use_diagnosis`: runs a diagnosis round whenever [`UiState::round`] grows, and dispatches what
//! it found. The core's round decides every read (the first ones at once, then the deployment
//! logs that can change the answer) and when the answer is settled.
//!
//! ```ignore
//! let state = use_reducer(|| UiState::new(options));
//! use_diagnosis(&props.source, &state);
//! // later: state.dispatch(Action::RefreshRequested) starts the next round
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join_all;
use kudu_core::{HttpReply, Read};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::kudu_http::{self, PrefetchedReads};
use crate::round::{RoundOutcome, RoundUpdate, WizardRound};
use crate::state::{Action, UiState};

/// Where a round's answers come from.
#[derive(Clone, PartialEq, Debug)]
pub enum ReadSource {
    /// Kudu over `fetch`: same-origin relative URLs when `origin` is `None`. The first round
    /// takes what the loader already read ([`FirstRoundReplies`]) and sends only the rest.
    Network {
        origin: Option<String>,
        prefetched: FirstRoundReplies,
    },
    /// Prepared answers, for tests and demos: round `n` ends with the `n`-th outcome (the last
    /// one once they run out). No network at all.
    Scripted(Vec<RoundOutcome>),
}

/// The loader's replies to the first round's reads, taken by the first round that runs.
#[derive(Clone, Debug, Default)]
pub struct FirstRoundReplies(Rc<RefCell<Option<PrefetchedReads>>>);

impl FirstRoundReplies {
    pub fn new(prefetched: Option<PrefetchedReads>) -> Self {
        FirstRoundReplies(Rc::new(RefCell::new(prefetched)))
    }

    fn take(&self) -> Option<PrefetchedReads> {
        self.0.borrow_mut().take()
    }
}

impl PartialEq for FirstRoundReplies {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Starts a round for every new `state.round`.
#[hook]
pub fn use_diagnosis(source: &ReadSource, state: &UseReducerHandle<UiState>) {
    let dispatcher = state.dispatcher();
    let pasted = state.pasted_error.clone();
    use_effect_with((state.round, source.clone()), move |(round, source)| {
        let round = *round;
        match source.clone() {
            ReadSource::Scripted(outcomes) => {
                let index = usize::try_from(round.saturating_sub(1))
                    .unwrap_or(usize::MAX)
                    .min(outcomes.len().saturating_sub(1));
                if let Some(outcome) = outcomes.get(index).cloned() {
                    dispatcher.dispatch(Action::RoundFinished { round, outcome });
                }
            }
            ReadSource::Network { origin, prefetched } => spawn_local(async move {
                let prefetched = prefetched.take();
                read_round(origin.as_deref(), round, prefetched, pasted, &dispatcher).await;
            }),
        }
    });
}

/// A reply at least this long is read in a task of its own: a big site's deployment list or
/// folder listing takes tens of milliseconds to read, and the page must stay responsive.
const OWN_TASK_BYTES: usize = 256 * 1024;

/// One round, driven through the core's [`kudu_core::DiagnosisRound`] (via [`WizardRound`]):
/// every read it hands out is sent at once, each reply goes in as it arrives (its body is
/// dropped there), and its updates are dispatched: "checking" while the deployment logs are
/// read, then the settled diagnosis, then the same snapshot with its plan. Nothing is shown as
/// the diagnosis before the round settles.
///
/// The plan is built in a task after the settled diagnosis is dispatched, and drawn in a task
/// of its own: on a site with 5,000 leftover folders, building and drawing it in one task
/// blocked the page for about 110 ms (issue 6, scale).
async fn read_round(
    origin: Option<&str>,
    round: u64,
    prefetched: Option<PrefetchedReads>,
    pasted: Option<Rc<str>>,
    dispatcher: &UseReducerDispatcher<UiState>,
) {
    let cache_bust = prefetched.as_ref().map_or_else(
        || wall_clock().unix_millis().unsigned_abs(),
        |p| p.cache_bust,
    );
    let mut wizard_round = WizardRound::new(cache_bust);
    if let Some(text) = &pasted {
        wizard_round.paste_error(text);
    }
    let machine = RefCell::new(wizard_round);
    let mut first = true;
    loop {
        let batch = machine.borrow_mut().poll_reads();
        let prefetched = prefetched.as_ref().filter(|_| first);
        join_all(batch.iter().map(|(token, read)| {
            let machine = &machine;
            async move {
                let reply = match prefetched {
                    Some(prefetched) => send_first(origin, read, prefetched).await,
                    None => kudu_http::send(origin, read).await,
                };
                if reply.body.len() >= OWN_TASK_BYTES {
                    // Replies that settled together would otherwise all be read in one task.
                    yew::platform::time::sleep(std::time::Duration::ZERO).await;
                }
                machine
                    .borrow_mut()
                    .handle_reply(*token, reply, wall_clock());
            }
        }))
        .await;
        first = false;
        loop {
            let Some(update) = machine.borrow_mut().poll_update() else {
                break;
            };
            let settled = matches!(update, RoundUpdate::Finished(_));
            match update {
                RoundUpdate::Checking(checking) => {
                    dispatcher.dispatch(Action::RoundChecking { round, checking })
                }
                RoundUpdate::Finished(outcome) => {
                    dispatcher.dispatch(Action::RoundFinished { round, outcome })
                }
                RoundUpdate::Planned(snapshot) => {
                    // Drawing the plan is a task of its own.
                    yew::platform::time::sleep(std::time::Duration::ZERO).await;
                    dispatcher.dispatch(Action::RoundPlanned { round, snapshot });
                }
            }
            if settled {
                // Let the browser render the diagnosis before the plan is built.
                yew::platform::time::sleep(std::time::Duration::ZERO).await;
            }
        }
        let timeout = machine.borrow().poll_timeout();
        if let Some(until) = timeout.filter(|_| batch.is_empty()) {
            // The round watches a build's processes for a few seconds (Windows): wait on the
            // browser's clock, then it hands out the second reads.
            let wait_ms = until
                .unix_millis()
                .saturating_sub(wall_clock().unix_millis());
            let wait = std::time::Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
            yew::platform::time::sleep(wait).await;
            machine.borrow_mut().handle_timeout(wall_clock());
            continue;
        }
        if machine.borrow().is_done() || batch.is_empty() {
            break;
        }
    }
}

/// One first-round read: the loader's reply when it has one, else sent now.
async fn send_first(origin: Option<&str>, read: &Read, prefetched: &PrefetchedReads) -> HttpReply {
    if let Some(promise) = prefetched.take(&read.path)
        && let Some(reply) = kudu_http::settle_prefetched(promise).await
    {
        return reply;
    }
    kudu_http::send(origin, read).await
}
