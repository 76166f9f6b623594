//! `use_diagnosis`: runs a read round whenever [`UiState::round`] grows, and dispatches what it
//! found. All reads of a round go out at once; rounds of follow-up reads (deployment logs, then
//! the children of their newest lines) refine the answer afterwards.
//!
//! ```ignore
//! let state = use_reducer(|| UiState::new(options));
//! use_diagnosis(&props.source, &state);
//! // later: state.dispatch(Action::RefreshRequested) starts the next round
//! ```

use std::rc::Rc;

use futures_util::future::join_all;
use kudu_core::reads::diagnosis_reads;
use kudu_core::{HttpReply, Read};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::kudu_http;
use crate::round::{RoundOutcome, ingest_round};
use crate::state::{Action, UiState};

/// Where a round's answers come from.
#[derive(Clone, PartialEq, Debug)]
pub enum ReadSource {
    /// Kudu over `fetch`: same-origin relative URLs when `origin` is `None`.
    Network { origin: Option<String> },
    /// Prepared answers, for tests and demos: round `n` ends with the `n`-th outcome (the last
    /// one once they run out). No network at all.
    Scripted(Vec<RoundOutcome>),
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
            ReadSource::Network { origin } => spawn_local(async move {
                read_round(origin.as_deref(), round, &dispatcher).await;
            }),
        }
    });
}

/// Rounds of follow-up reads at most: the core asks for two levels today, and no reply can
/// make it ask forever.
const MAX_FOLLOW_UP_ROUNDS: usize = 3;

/// One round: every diagnosis read at once, a first answer, then rounds of follow-up reads
/// until the core asks for nothing more, each refining the answer. The first answer never
/// waits for the logs.
async fn read_round(origin: Option<&str>, round: u64, dispatcher: &UseReducerDispatcher<UiState>) {
    let cache_bust = wall_clock().unix_millis().unsigned_abs();
    let reads = diagnosis_reads(cache_bust);
    let replies = send_all(origin, &reads).await;
    let mut read = match ingest_round(&reads, &replies, wall_clock()) {
        Ok(read) => read,
        Err(failure) => {
            let outcome = RoundOutcome::Failed(failure);
            dispatcher.dispatch(Action::RoundFinished { round, outcome });
            return;
        }
    };
    let outcome = RoundOutcome::Diagnosed(Rc::new(read.snapshot(wall_clock())));
    dispatcher.dispatch(Action::RoundFinished { round, outcome });
    // A deployment's log, then the children of its newest line: each answer can ask for more,
    // and a stuck deployment is only told apart from a running one after the second level.
    for _ in 0..MAX_FOLLOW_UP_ROUNDS {
        let follow_ups = read.session.follow_up_reads();
        if follow_ups.is_empty() {
            return;
        }
        let replies = send_all(origin, &follow_ups).await;
        read.add_follow_ups(&follow_ups, &replies);
        let snapshot = Rc::new(read.snapshot(wall_clock()));
        dispatcher.dispatch(Action::RoundRefined { round, snapshot });
    }
}

async fn send_all(origin: Option<&str>, reads: &[Read]) -> Vec<HttpReply> {
    join_all(reads.iter().map(|read| kudu_http::send(origin, read))).await
}
