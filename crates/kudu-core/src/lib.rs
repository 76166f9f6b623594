//! Kudu Doctor's brain, in the sans-IO style of quinn-proto.
//!
//! This crate never performs I/O, never reads a clock and never spawns work. A shell (the
//! browser extension, the standalone page, the `kudu-doctor` command line) drives a
//! [`DiagnosisRound`]: it sends the reads the round hands out (all at once), hands every reply
//! back with its own clock, and shows the events: a provisional answer while logs are read,
//! then the settled [`Diagnosis`] and its cleanup plan. From a diagnosis, [`plan`] builds a cleanup plan whose every step
//! carries the exact request, the precondition to re-check right before it runs, and the effect
//! it expects.
//!
//! Nothing in here may depend on web-sys, js-sys, gloo, yew or tokio, or call
//! `Instant::now`/`SystemTime::now`; a tidy test in xtask enforces it.

pub mod cleanup;
pub mod diagnose;
pub mod diagnosis_round;
pub mod model;
pub mod parse;
pub mod plan;
pub mod reads;
pub mod report;
pub mod session;
pub mod time;

pub use diagnose::{CauseId, Confidence, Diagnosis, Evidence, Finding, Recommendation};
pub use diagnosis_round::{DiagnosisRound, Provisional, ReadToken, RoundEvent};
pub use model::*;
pub use plan::{CleanupPlan, PlanKind, Precondition, Step, StepKind};
pub use reads::{HttpReply, Read, ReadId};
pub use session::Session;
pub use time::Timestamp;
