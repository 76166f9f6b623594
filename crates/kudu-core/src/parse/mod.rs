//! Tolerant parsers from Kudu's real-world replies to domain types. Never panic.

pub mod time;

use crate::model::Personality;
use crate::reads::{HttpReply, ReadId};
use crate::session::Session;

/// Stores one reply in the session (see [`Session::ingest`]).
pub fn ingest(_session: &mut Session, _read: &ReadId, _path: &str, _reply: &HttpReply) {}

/// See [`Session::personality`].
pub fn detect_personality(_session: &Session) -> Personality {
    Personality::Unknown
}
