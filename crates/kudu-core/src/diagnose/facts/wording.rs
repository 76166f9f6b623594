//! How times and durations read in findings: `12:03:10 UTC`, `14 min`.
//!
//! Kept here rather than in `time.rs` because the words are the diagnosis's own: a person reads
//! them next to a deployment log, where Kudu prints UTC clock times.

use crate::time::{Timestamp, civil_from_days};

const MS_PER_DAY: i64 = 86_400_000;

/// `12:03:10 UTC`, with the date in front when `t` is not on the same UTC day as `now`.
pub(crate) fn clock(t: Timestamp, now: Timestamp) -> String {
    let ms = t.unix_millis();
    let day = ms.div_euclid(MS_PER_DAY);
    let secs = ms.rem_euclid(MS_PER_DAY) / 1000;
    let hms = format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if day == now.unix_millis().div_euclid(MS_PER_DAY) {
        hms
    } else {
        let (y, m, d) = civil_from_days(day);
        format!("{y:04}-{m:02}-{d:02} {hms}")
    }
}

/// A rounded duration for people: `40 s`, `14 min`, `2 h 5 min`, `3 days`.
pub(crate) fn duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5_399 => format!("{} min", (secs + 30) / 60),
        5_400..=172_799 => {
            let mins = (secs + 30) / 60;
            format!("{} h {} min", mins / 60, mins % 60)
        }
        _ => format!("{} days", secs / 86_400),
    }
}

/// `in 14 min` or `14 min ago`, from `now` to `t`.
pub(crate) fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = now.secs_until(t);
    if secs >= 0 {
        format!("in {}", duration(secs))
    } else {
        format!("{} ago", duration(secs))
    }
}

/// A deployment id as people recognise it: the first 8 characters of a 32/40-hex id.
pub(crate) fn short_id(id: &str) -> String {
    if id.chars().count() > 12 && !id.starts_with("temp-") {
        id.chars().take(8).collect()
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::days_from_civil;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> Timestamp {
        Timestamp::from_unix_millis(
            (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000,
        )
    }

    #[test]
    fn clock_shows_time_and_date_only_on_other_days() {
        let now = at(2026, 11, 26, 12, 30, 0);
        assert_eq!(clock(at(2026, 11, 26, 12, 3, 10), now), "12:03:10 UTC");
        assert_eq!(
            clock(at(2026, 11, 25, 23, 59, 59), now),
            "2026-11-25 23:59:59 UTC"
        );
        assert_eq!(
            clock(at(2024, 2, 29, 0, 0, 1), now),
            "2024-02-29 00:00:01 UTC"
        );
    }

    #[test]
    fn durations_round_for_people() {
        assert_eq!(duration(40), "40 s");
        assert_eq!(duration(-840), "14 min");
        assert_eq!(duration(7_500), "2 h 5 min");
        assert_eq!(duration(3 * 86_400 + 5), "3 days");
        let now = at(2026, 11, 26, 12, 0, 0);
        assert_eq!(relative(now.plus_secs(840), now), "in 14 min");
        assert_eq!(relative(now.plus_secs(-120), now), "2 min ago");
    }

    #[test]
    fn short_ids_keep_temp_names() {
        assert_eq!(short_id("3f2a9c1e0b7d4e5f8a6b1c2d3e4f5a6b"), "3f2a9c1e");
        assert_eq!(short_id("temp-ab12cd34"), "temp-ab12cd34");
    }
}
