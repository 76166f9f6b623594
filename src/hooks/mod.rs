//! The app's side effects, one hook per file: read rounds, polling, the clock, the launcher.
//! Hooks dispatch [`crate::state::Action`]s; they hold no UI state of their own.

mod use_cleanup_run;
mod use_clock;
mod use_diagnosis;
mod use_launcher;
mod use_polling;

pub use use_cleanup_run::{
    CleanupHandle, CleanupStart, CleanupTransport, CleanupView, ScriptedKudu, use_cleanup_run,
};
pub use use_clock::{use_clock, wall_clock};
pub use use_diagnosis::{FirstRoundReplies, ReadSource, use_diagnosis};
pub use use_launcher::use_launcher;
pub use use_polling::{POLL_INTERVAL_MS, use_polling};
