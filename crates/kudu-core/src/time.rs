//! UTC instants as milliseconds since the Unix epoch, with the RFC 3339 parsing Kudu needs,
//! HTTP dates, and the one civil-calendar conversion everything else uses (the app, the
//! simulator and the core's own parsers and wording).
//!
//! Kudu writes .NET round-trip dates: 0 to 7 fractional digits, `Z` or an offset such as
//! `+00:00` or `-07:00`, or no offset at all. We keep millisecond precision, which is finer
//! than anything a person reads on a timeline. The calendar is the proleptic Gregorian one,
//! done by hand so the core needs no date crate and no clock.

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

    /// Parses an HTTP `Date` in IMF-fixdate form, `Thu, 26 Nov 2026 10:34:40 GMT`; `None`
    /// otherwise. The weekday is not checked against the date (it says nothing the date does
    /// not); impossible dates and years outside 1970..=9999 are refused, since no server's
    /// clock is there. The obsolete RFC 850 and asctime forms are not read: the App Service
    /// front end and the simulator send IMF-fixdate.
    pub fn from_http_date(text: &str) -> Option<Self> {
        let mut parts = text.split_ascii_whitespace();
        let (_weekday, day, month, year, clock, zone) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if zone != "GMT" || parts.next().is_some() {
            return None;
        }
        let month = MONTH_NAMES.iter().position(|m| *m == month)? as u32 + 1;
        let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
        let day: u32 = day
            .parse()
            .ok()
            .filter(|d| (1..=days_in_month(year, month)).contains(d))?;
        let mut hms = clock.split(':').map(|n| n.parse::<i64>().ok());
        let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
        // 60 admits a leap second; it lands on the next minute's first second.
        if hms.next().is_some()
            || !(0..=23).contains(&hour)
            || !(0..=59).contains(&minute)
            || !(0..=60).contains(&second)
        {
            return None;
        }
        let secs =
            days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second;
        Some(Timestamp(secs * 1000))
    }

    /// The IMF-fixdate of this instant, `Thu, 26 Nov 2026 10:34:40 GMT` (whole seconds,
    /// rounded down), as servers send in `Date` and `Last-Modified`.
    pub fn to_http_date(self) -> String {
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(SECS_PER_DAY);
        let second_of_day = secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday.
        let weekday =
            ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
        let month = MONTH_NAMES[(month - 1) as usize];
        format!(
            "{weekday}, {day:02} {month} {year:04} {:02}:{:02}:{:02} GMT",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )
    }
}

const SECS_PER_DAY: i64 = 86_400;

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian, Howard Hinnant's
/// `days_from_civil`). The caller keeps `month` in 1..=12 and `day` in 1..=31; any `year` an
/// `i32` holds stays far from overflow.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March so the leap day is the last day of the counted year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day count from 1970-01-01; the inverse of
/// [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both ranges are guaranteed by the arithmetic above (day 1..=31, month 1..=12).
    (year, month as u32, day as u32)
}

/// Days in `month` (1..=12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        let mut expected = (1900, 1, 1);
        for days in start..end {
            assert_eq!(civil_from_days(days), expected);
            assert_eq!(days_from_civil(expected.0, expected.1, expected.2), days);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for days in [-800_000, -1, 0, 1, 19_000, 20_418, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn http_dates_parse_and_junk_does_not() {
        assert_eq!(
            Timestamp::from_http_date("Thu, 26 Nov 2026 10:34:40 GMT").map(Timestamp::to_rfc3339),
            Some("2026-11-26T10:34:40Z".to_string())
        );
        assert_eq!(
            Timestamp::from_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Timestamp(0))
        );
        assert!(Timestamp::from_http_date("Thu, 29 Feb 2024 00:00:00 GMT").is_some());
        for junk in [
            "",
            "yesterday",
            "Thu, 26 Nov 2026 10:34:40 PST",
            "Thu, 32 Nov 2026 1:2:3 GMT",
            "Thu, 31 Nov 2026 10:34:40 GMT",
            "Thu, 29 Feb 2023 10:34:40 GMT",
            "Thu, 26 Nov 1969 10:34:40 GMT",
            "Thu, 26 Nov 2026 24:00:00 GMT",
            "Thu, 26 Nov 2026 10:34 GMT",
            "Thu, 26 Nov 2026 10:34:40:00 GMT",
            "Thu, 26 Nov 2026 10:34:40 GMT extra",
            "Thursday, 26-Nov-26 10:34:40 GMT",
            "Thu Nov 26 10:34:40 2026",
        ] {
            assert_eq!(Timestamp::from_http_date(junk), None, "{junk}");
        }
    }

    #[test]
    fn http_dates_round_trip_to_the_second() {
        for text in [
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Thu, 26 Nov 2026 12:00:00 GMT",
            "Thu, 29 Feb 2024 23:59:59 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let parsed = Timestamp::from_http_date(text);
            assert_eq!(parsed.map(Timestamp::to_http_date).as_deref(), Some(text));
        }
        // Milliseconds round down, before the epoch too.
        assert_eq!(
            Timestamp(1_999).to_http_date(),
            "Thu, 01 Jan 1970 00:00:01 GMT"
        );
        assert_eq!(
            Timestamp(-1).to_http_date(),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
    }
}
