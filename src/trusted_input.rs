//! Destructive buttons act only on real user input: a click or key press the browser itself
//! reports (`event.isTrusted`). A script on the SCM page can call `element.click()` on the
//! wizard's buttons, but that event is not trusted, so it does nothing.
//!
//! The gate is a Yew context. Only the Rust-side test entry point
//! (`kudu_doctor::testing::mount_with_cleanup`) can loosen it, so that headless tests can
//! reach the later steps; nothing exported to JavaScript can.

use web_sys::Event;

/// Which destructive actions also accept synthetic events (tests only; both false in every
/// mount the loaders can call).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TrustGate {
    /// Opening a confirmation (`cleanup`, `full-reset`).
    pub synthetic_opens: bool,
    /// Starting a run (`confirm`, `full-reset-confirm`).
    pub synthetic_runs: bool,
}

impl TrustGate {
    /// May `event` open a confirmation?
    pub fn opens(&self, event: &Event) -> bool {
        event.is_trusted() || self.synthetic_opens
    }

    /// May `event` start a run?
    pub fn runs(&self, event: &Event) -> bool {
        event.is_trusted() || self.synthetic_runs
    }
}
