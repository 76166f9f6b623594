//! `use_clock`: the current time, ticking every second while a countdown is on screen.
//!
//! ```ignore
//! let now = use_clock(lock.expires.is_some(), snapshot.clock_offset_ms);
//! let secs_left = now.secs_until(expires);
//! ```
//!
//! Only the view recomputes from it; nothing is re-fetched on a tick.

use gloo_timers::callback::Interval;
use kudu_core::Timestamp;
use yew::prelude::*;

/// Ticks once a second: a countdown shows seconds.
const TICK_MS: u32 = 1_000;

/// The browser's clock as a [`Timestamp`]. The app's only clock read besides the read round.
pub fn wall_clock() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64)
}

/// Returns the time, refreshed every second while `ticking`, shifted by `offset_ms` (the SCM
/// site's clock minus the browser's, so countdowns agree with Kudu's own times).
#[hook]
pub fn use_clock(ticking: bool, offset_ms: i64) -> Timestamp {
    let now = use_state(wall_clock);
    let setter = now.setter();
    use_effect_with(ticking, move |ticking| {
        let interval = ticking.then(|| {
            setter.set(wall_clock());
            Interval::new(TICK_MS, move || setter.set(wall_clock()))
        });
        move || drop(interval)
    });
    Timestamp::from_unix_millis(now.unix_millis().saturating_add(offset_ms))
}
