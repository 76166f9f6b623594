//! UTC instants as milliseconds since the Unix epoch, with the RFC 3339 parsing Kudu needs.
//!
//! Kudu writes .NET round-trip dates: 0 to 7 fractional digits, `Z` or an offset such as
//! `+00:00` or `-07:00`, or no offset at all. We keep millisecond precision, which is finer
//! than anything a person reads on a timeline.

use serde::{Serialize, Serializer};

/// A UTC instant in whole milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    pub const fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// Whole seconds from `self` to `later` (negative when `later` is earlier).
    pub const fn secs_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0).div_euclid(1000)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH:MM]` (no offset means UTC, as Kudu stores
    /// UTC everywhere); `None` for anything else, including impossible dates.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        crate::parse::time::parse_rfc3339(text)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, or with `.mmm` when the milliseconds are not zero.
    pub fn to_rfc3339(self) -> String {
        crate::parse::time::format_rfc3339(self)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}
