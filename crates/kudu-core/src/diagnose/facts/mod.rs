//! The facts of one round, derived once from the session before any cause is judged: the
//! [`context::Context`] (personality, the deployments and which of them are really
//! progressing), the [`timeline`], the [`lock_report`], the [`deployability`] verdict, the
//! shared wording, and the predicates more than one cause (or fact) relies on. Cause detectors
//! (`diagnose/causes/`) read only from here and from the types in `diagnose`, never from each
//! other, so a rule is decided in one place and every cause agrees on it.

pub(crate) mod context;
pub mod deployability;
pub(crate) mod follow_up;
pub mod instances;
pub(crate) mod lock_report;
pub(crate) mod predicates;
pub(crate) mod timeline;
pub(crate) mod traces;
pub(crate) mod wording;
