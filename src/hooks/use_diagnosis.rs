//! `use_diagnosis`: runs a read round whenever [`UiState::round`] grows, and dispatches what it
//! found. All reads of a round go out at once; rounds of follow-up reads (deployment logs, then
//! the children of their newest lines) refine the answer afterwards.
//!
//! ```ignore
//! let state = use_reducer(|| UiState::new(options));
//! use_diagnosis(&props.source, &state);
//! // later: state.dispatch(Action::RefreshRequested) starts the next round
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join_all;
use kudu_core::reads::diagnosis_reads;
use kudu_core::{HttpReply, Read};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::kudu_http::{self, PrefetchedReads};
use crate::round::{RoundIngest, RoundOutcome, RoundRead, Snapshot};
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
                read_round(origin.as_deref(), round, prefetched, &dispatcher).await;
            }),
        }
    });
}

/// A reply at least this long is read in a task of its own: a big site's deployment list or
/// folder listing takes tens of milliseconds to read, and the page must stay responsive.
const OWN_TASK_BYTES: usize = 256 * 1024;

/// Rounds of follow-up reads at most: the core asks for two levels today, and no reply can
/// make it ask forever.
const MAX_FOLLOW_UP_ROUNDS: usize = 3;

/// One round: every diagnosis read at once, a first answer, then rounds of follow-up reads
/// until the core asks for nothing more, each refining the answer. The first answer never
/// waits for the logs.
///
/// Each answer is dispatched before its cleanup plan is built: the launcher and the diagnosis
/// show first, and the plan (thousands of steps on a site full of leftovers) follows as a
/// refinement of the same round once the follow-up reads are in.
///
/// Every reply goes into the session as it arrives and its body is dropped there, and a
/// snapshot is let go as soon as the next one is dispatched: wasm memory never shrinks, so a
/// big site's peak is whatever this function keeps alive at once (issue 6).
async fn read_round(
    origin: Option<&str>,
    round: u64,
    prefetched: Option<PrefetchedReads>,
    dispatcher: &UseReducerDispatcher<UiState>,
) {
    let cache_bust = prefetched.as_ref().map_or_else(
        || wall_clock().unix_millis().unsigned_abs(),
        |p| p.cache_bust,
    );
    let reads = diagnosis_reads(cache_bust);
    let ingest = RefCell::new(RoundIngest::new(&reads));
    join_all(reads.iter().enumerate().map(|(index, read)| {
        let (ingest, prefetched) = (&ingest, prefetched.as_ref());
        async move {
            let reply = send_first(origin, read, prefetched).await;
            if reply.body.len() >= OWN_TASK_BYTES {
                // Replies that settled together would otherwise all be read in one task.
                yew::platform::time::sleep(std::time::Duration::ZERO).await;
            }
            ingest.borrow_mut().add(index, reply);
        }
    }))
    .await;
    let read = match ingest.into_inner().finish(wall_clock()) {
        Ok(read) => RefCell::new(read),
        Err(failure) => {
            let outcome = RoundOutcome::Failed(failure);
            dispatcher.dispatch(Action::RoundFinished { round, outcome });
            return;
        }
    };
    let mut latest = Rc::new(read.borrow().snapshot_unplanned(wall_clock()));
    let outcome = RoundOutcome::Diagnosed(latest.clone());
    dispatcher.dispatch(Action::RoundFinished { round, outcome });
    // A deployment's log, then the children of its newest line: each answer can ask for more,
    // and a stuck deployment is only told apart from a running one after the second level.
    for _ in 0..MAX_FOLLOW_UP_ROUNDS {
        let follow_ups = read.borrow().session.follow_up_reads();
        if follow_ups.is_empty() {
            break;
        }
        add_follow_ups(origin, &follow_ups, &read).await;
        latest = Rc::new(read.borrow().snapshot_unplanned(wall_clock()));
        dispatcher.dispatch(Action::RoundRefined {
            round,
            snapshot: latest.clone(),
        });
    }
    // The plan only once the logs are all in: its preconditions record each log's newest line
    // as read, and a plan made before the children were read made the run's re-check (which
    // reads them) see "activity since the diagnosis" in lines that were always there, and stop.
    add_plan(round, latest, dispatcher).await;
}

/// Lets the browser render what was dispatched, builds the plan, and dispatches the snapshot
/// with it in the task after (so building and drawing are never one long task). Takes the unplanned snapshot so that it is let go here: the next round of
/// follow-ups must not keep it (and the session it shares) alive.
async fn add_plan(round: u64, unplanned: Rc<Snapshot>, dispatcher: &UseReducerDispatcher<UiState>) {
    yew::platform::time::sleep(std::time::Duration::ZERO).await;
    let snapshot = Rc::new(unplanned.with_plan());
    drop(unplanned);
    // Drawing the plan is a task of its own: on a site with 5,000 leftover folders, building
    // the plan and drawing it in one task blocked the page for about 110 ms (issue 6, scale).
    yew::platform::time::sleep(std::time::Duration::ZERO).await;
    dispatcher.dispatch(Action::RoundRefined { round, snapshot });
}

/// Sends the follow-up reads at once and adds each reply to the round as it arrives.
async fn add_follow_ups(origin: Option<&str>, reads: &[Read], round: &RefCell<RoundRead>) {
    join_all(reads.iter().map(|read| async move {
        let reply = kudu_http::send(origin, read).await;
        round.borrow_mut().add_follow_up(read, reply);
    }))
    .await;
    round.borrow_mut().follow_ups_done(reads);
}

/// One first-round read: the loader's reply when it has one, else sent now.
async fn send_first(
    origin: Option<&str>,
    read: &Read,
    prefetched: Option<&PrefetchedReads>,
) -> HttpReply {
    if let Some(promise) = prefetched.and_then(|p| p.take(&read.path))
        && let Some(reply) = kudu_http::settle_prefetched(promise).await
    {
        return reply;
    }
    kudu_http::send(origin, read).await
}
