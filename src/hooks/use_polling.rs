//! `use_polling`: while the site is busy (a deployment in progress, a live lock) and the wizard
//! is seen, asks for a new read round every few seconds, and stops by itself once it is clear.
//! Behind a closed drawer the loader's cheap probe keeps the launcher current instead
//! (`extension/content.js`, issue 17). A Linux lock that
//! will expire by itself also gets one read right after its expiry, so the countdown ends in a
//! fresh diagnosis rather than a stale "0:00".
//!
//! ```ignore
//! use_polling(&state); // state: UseReducerHandle<UiState>
//! ```

use gloo_timers::callback::{Interval, Timeout};
use yew::prelude::*;

use crate::hooks::wall_clock;
use crate::state::{Action, UiState};

/// Pause between the end of one round and the start of the next while watching.
pub const POLL_INTERVAL_MS: u32 = 5_000;

/// Reading again this long after a lock's expiry gives Kudu's clock a little slack.
const AFTER_EXPIRY_MS: i64 = 2_000;

/// The longest single wait for an expiry (an hour; Kudu's Linux lock lives 25 minutes).
const MAX_WAKE_MS: i64 = 3_600_000;

/// While [`UiState::wants_polling`] holds, asks for a round every [`POLL_INTERVAL_MS`] (not
/// while the tab is hidden: nobody is watching, and Kudu need not answer for nothing); else
/// arms one timer for the lock's expiry when there is one ahead.
#[hook]
pub fn use_polling(state: &UseReducerHandle<UiState>) {
    let dispatcher = state.dispatcher();
    // The expiry on the browser's clock (Kudu's times are on the server's).
    let lock_expires = state
        .snapshot()
        .filter(|_| !state.load.is_loading() && state.is_watched())
        .and_then(|snapshot| {
            let expires = snapshot.diagnosis.lock.expires?;
            Some(
                expires
                    .unix_millis()
                    .saturating_sub(snapshot.clock_offset_ms),
            )
        });
    use_effect_with(
        (state.wants_polling(), lock_expires, state.round),
        move |(wants, lock_expires, _round)| {
            let poll = wants.then(|| {
                let dispatcher = dispatcher.clone();
                // A refresh asked for while a round runs is dropped by the reducer.
                Interval::new(POLL_INTERVAL_MS, move || {
                    if !page_hidden() {
                        dispatcher.dispatch(Action::RefreshRequested);
                    }
                })
            });
            let wake_ms = lock_expires.filter(|_| !wants).and_then(|expires_ms| {
                let ms = expires_ms - wall_clock().unix_millis() + AFTER_EXPIRY_MS;
                // Capped: browsers fire a timer at once when its delay overflows an i32, and
                // a far-future expiry (a bogus clock) must not turn into a refresh loop.
                (ms > 0).then(|| u32::try_from(ms.min(MAX_WAKE_MS)).unwrap_or(POLL_INTERVAL_MS))
            });
            let wake = wake_ms.map(|delay_ms| {
                Timeout::new(delay_ms, move || {
                    dispatcher.dispatch(Action::RefreshRequested)
                })
            });
            // Dropping the timers cancels them: a manual refresh or an unmount ends the watch.
            move || drop((poll, wake))
        },
    );
}

fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.hidden())
}
