//! Kudu Doctor's brain, in the sans-IO style of quinn-proto.
//!
//! This crate never performs I/O, never reads a clock and never spawns work. A shell (the
//! browser extension, the standalone page, the `kudu-doctor` command line) asks it which reads
//! a diagnosis needs ([`reads::diagnosis_reads`]), sends them however it likes (all in one
//! parallel round), hands every reply back to a [`Session`], and asks for a [`Diagnosis`] at a
//! time it passes in. From a diagnosis, [`plan`] builds a cleanup plan whose every step
//! carries the exact request, the precondition to re-check right before it runs, and the effect
//! it expects.
//!
//! Nothing in here may depend on web-sys, js-sys, gloo, yew or tokio, or call
//! `Instant::now`/`SystemTime::now`; a tidy test in xtask enforces it.

pub mod cleanup;
pub mod diagnose;
pub mod model;
pub mod parse;
pub mod plan;
pub mod reads;
pub mod report;
pub mod session;
pub mod time;

pub use diagnose::{CauseId, Confidence, Diagnosis, Evidence, Finding, Recommendation};
pub use model::*;
pub use plan::{CleanupPlan, PlanKind, Precondition, Step, StepKind};
pub use reads::{HttpReply, Read, ReadId};
pub use session::Session;
pub use time::Timestamp;
