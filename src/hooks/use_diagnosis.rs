//! `use_diagnosis`: runs a read round whenever [`UiState::round`] grows, and dispatches what it
//! found. All reads of a round go out at once.
//!
//! ```ignore
//! let state = use_reducer(|| UiState::new(options));
//! use_diagnosis(&props.source, &state);
//! // later: state.dispatch(Action::RefreshRequested) starts the next round
//! ```

use futures_util::future::join_all;
use kudu_core::reads::diagnosis_reads;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::kudu_http;
use crate::round::{RoundOutcome, outcome_from_replies};
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
                let outcome = read_round(origin.as_deref()).await;
                dispatcher.dispatch(Action::RoundFinished { round, outcome });
            }),
        }
    });
}

async fn read_round(origin: Option<&str>) -> RoundOutcome {
    let cache_bust = wall_clock().unix_millis().unsigned_abs();
    let reads = diagnosis_reads(cache_bust);
    let replies = join_all(reads.iter().map(|read| kudu_http::send(origin, read))).await;
    outcome_from_replies(&reads, &replies, wall_clock())
}
