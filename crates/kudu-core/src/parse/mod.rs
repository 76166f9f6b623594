//! Tolerant parsers from Kudu's real-world replies to the domain types in [`crate::model`].
//!
//! Real Kudu differs from its public source: unknown fields, status numbers the enum lacks,
//! `null` where a value was expected, 5 to 7 fractional-second digits, offsets, `"True"`
//! strings, ARM wrappers, 409 bodies as text, quoted strings or JSON objects, and login pages
//! where JSON was expected. Each parser here takes a body and returns the value with a
//! [`FieldWarning`] for every field it could not use, or a [`ParseError`] naming the field that
//! made the whole reply unusable. None of them panics, whatever the input.
//!
//! [`ingest`] routes a reply to its parser by [`ReadId`] and stores the outcome in a
//! [`Session`]; [`detect_personality`] reads Linux or Windows off what was stored.

mod conflict;
mod deployments;
mod environment;
mod ingest;
mod is_deploying;
mod json;
mod lock;
mod log;
mod loose_json;
mod personality;
mod processes;
mod setting;
pub mod sign_in;
pub mod time;
mod trace;
mod vfs;

use std::fmt;

pub use conflict::{classify as classify_conflict, classify_pasted, message_text, parse_conflict};
pub use deployments::{parse_deployment, parse_deployments};
pub use environment::parse_environment;
pub use ingest::ingest;
pub use is_deploying::parse_is_deploying;
pub use lock::{LINUX_LOCK_TIMEOUT_SECS, parse_lock};
pub use log::parse_log;
pub use loose_json::one_line;
pub use personality::detect_personality;
pub use processes::{parse_process_details, parse_process_list};
pub use setting::{SettingReply, parse_setting};
pub use sign_in::{is_sign_in_reply, looks_like_html};
pub use trace::{TraceKind, TracedRequest, parse_trace_name};
pub use vfs::parse_vfs_listing;

#[cfg(doc)]
use crate::{reads::ReadId, session::Session};

/// A field of a reply that could not be used; the rest of the reply was.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldWarning {
    /// The field as it appears in the reply, with a list index when there is one
    /// (`[2].received_time`, `line 4`).
    pub field: String,
    pub problem: String,
}

impl fmt::Display for FieldWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Why a whole reply could not be used.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ParseError {
    /// The field that made the reply unusable, or `body` when it is the whole thing.
    pub field: String,
    pub problem: String,
}

impl ParseError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ParseError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ParseError {}

/// A parsed reply and what had to be dropped from it.
#[derive(Clone, PartialEq, Debug)]
pub struct Parsed<T> {
    pub value: T,
    pub warnings: Vec<FieldWarning>,
}

/// A reply as a shell hands it over, for the parsers' tests.
#[cfg(test)]
pub(crate) fn test_reply(status: u16, content_type: &str, body: &str) -> crate::reads::HttpReply {
    crate::reads::HttpReply {
        status,
        content_type: Some(content_type.to_string()),
        body: body.to_string(),
        ..crate::reads::HttpReply::default()
    }
}
