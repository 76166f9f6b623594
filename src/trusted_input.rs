//! Destructive buttons act only on real user input: a click or key press the browser itself
//! reports (`event.isTrusted`). A script on the SCM page can call `element.click()` on the
//! wizard's buttons, but that event is not trusted, so it does nothing.
//!
//! Starting a run also waits [`FOCUS_SETTLE_MS`] after the page last gained focus (a window
//! `focus` event, or the tab becoming visible): a page that brings our tab or window to the
//! front under the user's pointer, mid double-click, cannot turn that click into a "Confirm".
//! [`use_focus_guard`] listens for focus; every `runs` check reads it, so every confirm that
//! goes through this gate gets the delay.
//!
//! The gate is a Yew context. Only the Rust-side test entry point
//! (`kudu_doctor::testing::mount_with_cleanup`) can loosen it, so that headless tests can
//! reach the later steps; nothing exported to JavaScript can.

use std::cell::Cell;

use gloo_events::EventListener;
use web_sys::Event;
use yew::prelude::*;

/// How long after the page gains focus a confirm ignores clicks. Longer than a double-click
/// (Windows' default is 500 ms), short enough that a user who looks before clicking never
/// meets it.
pub const FOCUS_SETTLE_MS: f64 = 600.0;

thread_local! {
    /// `performance.now()` when the page last gained focus; `None` before any focus event
    /// (the page was opened by the user, in front, and has not changed since).
    static FOCUSED_AT: Cell<Option<f64>> = const { Cell::new(None) };
}

/// Which destructive actions also accept synthetic events (tests only; both false in every
/// mount the loaders can call).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TrustGate {
    /// Opening a confirmation (`cleanup`, `full-reset`).
    pub synthetic_opens: bool,
    /// Starting a run (`confirm`, `full-reset-confirm`).
    pub synthetic_runs: bool,
    /// Saying the user holds the backup (`backup-saved`), after which deletes go out.
    pub synthetic_receipts: bool,
}

impl TrustGate {
    /// May `event` open a confirmation?
    pub fn opens(&self, event: &Event) -> bool {
        event.is_trusted() || self.synthetic_opens
    }

    /// May `event` start a run? Never within [`FOCUS_SETTLE_MS`] of the page gaining focus.
    pub fn runs(&self, event: &Event) -> bool {
        (event.is_trusted() || self.synthetic_runs) && focus_settled(now_ms())
    }

    /// May `event` say the user holds the backup, releasing the first deletes? Never within
    /// [`FOCUS_SETTLE_MS`] of the page gaining focus.
    pub fn receives_backup(&self, event: &Event) -> bool {
        (event.is_trusted() || self.synthetic_receipts) && focus_settled(now_ms())
    }
}

/// True unless the page gained focus less than [`FOCUS_SETTLE_MS`] before `now`.
fn focus_settled(now: f64) -> bool {
    FOCUSED_AT.with(|at| at.get().is_none_or(|at| now - at >= FOCUS_SETTLE_MS))
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}

fn focus_gained() {
    FOCUSED_AT.with(|at| at.set(Some(now_ms())));
}

/// Records when the page gains focus, for [`TrustGate::runs`]; the listeners go with the app.
#[hook]
pub fn use_focus_guard() {
    use_effect_with((), |_| {
        let listeners = web_sys::window().and_then(|window| {
            let document = window.document()?;
            let focus = EventListener::new(&window, "focus", |_| focus_gained());
            let visible = {
                let document = document.clone();
                EventListener::new(&document.clone(), "visibilitychange", move |_| {
                    if !document.hidden() {
                        focus_gained();
                    }
                })
            };
            Some((focus, visible))
        });
        move || drop(listeners)
    });
}
