//! Virtual UTC instants in .NET ticks (100 ns) since the Unix epoch, and the date formats Kudu
//! writes: round-trip `o` (status.xml, log.log), Newtonsoft JSON (trailing zero fractions
//! trimmed), DateTimeOffset `+00:00`, HTTP dates, and the `time=` query of async Locations.
//! The calendar arithmetic is `kudu_core::time`'s: the simulator and the core share one.

use kudu_core::time::{Timestamp, civil_from_days, days_from_civil};

/// Ticks per second (.NET ticks are 100 ns).
pub const TICKS_PER_SEC: i64 = 10_000_000;
const TICKS_PER_MILLI: i64 = 10_000;
/// .NET `DateTime.Ticks` of the Unix epoch; VFS ETags are built from .NET ticks (facts §4.3).
const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// A UTC instant on the simulator's virtual clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VTime(pub i64);

impl VTime {
    /// Builds an instant from a civil UTC date and time.
    pub fn from_ymd_hms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> VTime {
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        VTime(secs * TICKS_PER_SEC)
    }

    /// The default start of every simulation: 2026-11-26T12:00:00Z.
    pub fn default_start() -> VTime {
        VTime::from_ymd_hms(2026, 11, 26, 12, 0, 0)
    }

    /// This instant plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> VTime {
        VTime(self.0 + secs * TICKS_PER_SEC)
    }

    /// This instant plus `ms` milliseconds.
    pub fn plus_millis(self, ms: i64) -> VTime {
        VTime(self.0 + ms * TICKS_PER_MILLI)
    }

    /// Whole seconds from `earlier` to this instant.
    pub fn secs_since(self, earlier: VTime) -> i64 {
        (self.0 - earlier.0).div_euclid(TICKS_PER_SEC)
    }

    /// .NET `DateTime.Ticks` (since 0001-01-01).
    pub fn dotnet_ticks(self) -> i64 {
        self.0 + DOTNET_EPOCH_TICKS
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(self) -> i64 {
        self.0.div_euclid(TICKS_PER_SEC)
    }

    fn parts(self) -> (i64, u32, u32, u32, u32, u32, i64) {
        let secs = self.0.div_euclid(TICKS_PER_SEC);
        let frac = self.0.rem_euclid(TICKS_PER_SEC);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (sod / 3600) as u32,
            ((sod % 3600) / 60) as u32,
            (sod % 60) as u32,
            frac,
        )
    }

    /// .NET round-trip `o`: `2026-11-26T12:00:00.0000000Z` (status.xml, log.log, lock info).
    pub fn to_roundtrip(self) -> String {
        let (y, mo, d, h, mi, s, f) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:07}Z")
    }

    /// Newtonsoft's default DateTime JSON: up to 7 fraction digits, trailing zeros trimmed.
    pub fn to_json(self) -> String {
        format!("{}Z", self.base_trimmed())
    }

    /// Newtonsoft's DateTimeOffset JSON in UTC (VFS `mtime`/`crtime`, facts §4.2).
    pub fn to_json_offset(self) -> String {
        format!("{}+00:00", self.base_trimmed())
    }

    fn base_trimmed(self) -> String {
        let (y, mo, d, h, mi, s, f) = self.parts();
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if f != 0 {
            let digits = format!("{f:07}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out
    }

    /// RFC 3339 with seconds only, for inspection output.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `yyyy-MM-dd_HH-mm-ssZ`, the `time=` parameter of an async push's Location (facts §1.9).
    pub fn to_location_stamp(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}_{h:02}-{mi:02}-{s:02}Z")
    }

    /// `yyyy-MM-ddTHH-mm-ss`, the time at the head of a trace file's name (XmlTracer
    /// `GenerateFileName`, README "Trace files").
    pub fn to_trace_stamp(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}")
    }

    /// `yyyy-MM-ddTHH:mm:ss.fff`, a trace step's `date` attribute (milliseconds truncated, as
    /// .NET's `fff` does).
    pub fn to_trace_date(self) -> String {
        let (y, mo, d, h, mi, s, f) = self.parts();
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}",
            f / 10_000
        )
    }

    /// An HTTP date for `Date` and `Last-Modified`.
    pub fn to_http_date(self) -> String {
        Timestamp::from_unix_millis(self.0.div_euclid(TICKS_PER_MILLI)).to_http_date()
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fffffff](Z|+00:00)`, the forms the simulator itself writes.
    pub fn parse(text: &str) -> Option<VTime> {
        let text = text.trim();
        let body = text
            .strip_suffix('Z')
            .or_else(|| text.strip_suffix("+00:00"))?;
        let (date, time) = body.split_once('T')?;
        let mut dp = date.split('-');
        let y: i64 = dp.next()?.parse().ok()?;
        let mo: u32 = dp.next()?.parse().ok()?;
        let d: u32 = dp.next()?.parse().ok()?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, frac),
            None => (time, ""),
        };
        let mut tp = hms.split(':');
        let h: u32 = tp.next()?.parse().ok()?;
        let mi: u32 = tp.next()?.parse().ok()?;
        let s: u32 = tp.next()?.parse().ok()?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut ticks = 0i64;
        if !frac.is_empty() {
            if frac.len() > 7 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            ticks = format!("{frac:0<7}").parse().ok()?;
        }
        Some(VTime(VTime::from_ymd_hms(y, mo, d, h, mi, s).0 + ticks))
    }

    /// The same instant as a `SystemTime`, for file mtimes on disk.
    pub fn to_system_time(self) -> std::time::SystemTime {
        let nanos = i128::from(self.0) * 100;
        if nanos >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos as u64)
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_nanos((-nanos) as u64)
        }
    }

    /// A `SystemTime` (a file mtime) as a virtual instant.
    pub fn from_system_time(t: std::time::SystemTime) -> VTime {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => VTime((d.as_nanos() / 100) as i64),
            Err(e) => VTime(-((e.duration().as_nanos() / 100) as i64)),
        }
    }
}

/// A duration in ticks as .NET's `TimeSpan.ToString()` writes it: `[d.]hh:mm:ss[.fffffff]`.
pub fn timespan_text(ticks: i64) -> String {
    let ticks = ticks.max(0);
    let secs = ticks / TICKS_PER_SEC;
    let frac = ticks % TICKS_PER_SEC;
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    let mut out = if d > 0 {
        format!("{d}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    };
    if frac != 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_and_trimmed() {
        let t = VTime::default_start().plus_millis(1500);
        assert_eq!(t.to_roundtrip(), "2026-11-26T12:00:01.5000000Z");
        assert_eq!(t.to_json(), "2026-11-26T12:00:01.5Z");
        assert_eq!(VTime::default_start().to_json(), "2026-11-26T12:00:00Z");
        assert_eq!(t.to_location_stamp(), "2026-11-26_12-00-01Z");
        assert_eq!(VTime::parse(&t.to_roundtrip()), Some(t));
        assert_eq!(VTime::parse(&t.to_json_offset()), Some(t));
        assert_eq!(
            VTime::default_start().to_http_date(),
            "Thu, 26 Nov 2026 12:00:00 GMT"
        );
    }

    #[test]
    fn trace_formats() {
        let t = VTime(VTime::default_start().plus_secs(3725).0 + 1_239_999);
        assert_eq!(t.to_trace_stamp(), "2026-11-26T13-02-05");
        assert_eq!(t.to_trace_date(), "2026-11-26T13:02:05.123");
        assert_eq!(timespan_text(3725 * TICKS_PER_SEC), "01:02:05");
        assert_eq!(
            timespan_text(90_000 * TICKS_PER_SEC + 5),
            "1.01:00:00.0000005"
        );
    }

    #[test]
    fn dotnet_ticks_match_known_value() {
        // 2024-05-01T00:00:00Z is Unix 1714521600 s; .NET adds 621355968000000000 ticks.
        assert_eq!(
            VTime::from_ymd_hms(2024, 5, 1, 0, 0, 0).dotnet_ticks(),
            638_501_184_000_000_000
        );
    }
}
