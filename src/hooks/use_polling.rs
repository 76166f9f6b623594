//! `use_polling`: while the site is busy (a deployment in progress, a live lock), asks for a
//! new read round every few seconds, and stops by itself once it is clear.
//!
//! ```ignore
//! use_polling(&state); // state: UseReducerHandle<UiState>
//! ```

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::state::{Action, UiState};

/// Pause between the end of one round and the start of the next while watching.
pub const POLL_INTERVAL_MS: u32 = 5_000;

/// Arms one timer after each finished round for as long as [`UiState::wants_polling`] holds.
#[hook]
pub fn use_polling(state: &UseReducerHandle<UiState>) {
    let dispatcher = state.dispatcher();
    use_effect_with(
        (state.wants_polling(), state.round),
        move |(wants, _round)| {
            let timer = wants.then(|| {
                Timeout::new(POLL_INTERVAL_MS, move || {
                    dispatcher.dispatch(Action::RefreshRequested)
                })
            });
            // Dropping the timeout cancels it: a manual refresh or an unmount ends the watch.
            move || drop(timer)
        },
    );
}
