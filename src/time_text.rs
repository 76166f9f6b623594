//! Times and durations as people read them in the wizard, always in UTC (Kudu's own times are
//! UTC, and the user's local zone would make them disagree with Kudu's logs).

use kudu_core::Timestamp;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// `14:05 UTC`.
pub fn clock_utc(at: Timestamp) -> String {
    format!("{} UTC", hh_mm(at))
}

/// `14:05:09 UTC`, for "read at" lines that change every few seconds while watching.
pub fn clock_secs_utc(at: Timestamp) -> String {
    format!("{} UTC", hh_mm_ss(at))
}

/// `14:05`, for axis ticks.
pub fn hh_mm(at: Timestamp) -> String {
    let minutes_of_day = at.unix_millis().rem_euclid(MS_PER_DAY) / MS_PER_MINUTE;
    format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60)
}

/// `14:05:09`, for axis ticks seconds apart and refused pushes.
pub fn hh_mm_ss(at: Timestamp) -> String {
    let secs = at.unix_millis().rem_euclid(MS_PER_DAY) / 1000;
    format!("{}:{:02}", hh_mm(at), secs % 60)
}

/// `11-26`, for axis ticks days apart.
pub fn month_day(at: Timestamp) -> String {
    at.to_rfc3339().get(5..10).unwrap_or_default().to_string()
}

/// `11-26 14:05`, for axis ticks spanning days.
pub fn month_day_hh_mm(at: Timestamp) -> String {
    let rfc = at.to_rfc3339();
    match rfc.get(5..10) {
        Some(month_day) => format!("{month_day} {}", hh_mm(at)),
        None => hh_mm(at),
    }
}

/// `2026-11-26 14:05 UTC`.
pub fn date_time_utc(at: Timestamp) -> String {
    let rfc = at.to_rfc3339();
    match rfc.get(..10) {
        Some(date) => format!("{date} {}", clock_utc(at)),
        None => clock_utc(at),
    }
}

/// `2026-11-26 14:05:09 UTC`, for the start of a timeline span seconds or minutes long.
pub fn date_time_secs_utc(at: Timestamp) -> String {
    let rfc = at.to_rfc3339();
    match rfc.get(..10) {
        Some(date) => format!("{date} {}", clock_secs_utc(at)),
        None => clock_secs_utc(at),
    }
}

/// `9:58` for a countdown (minutes and seconds; hours when there are any: `1:02:03`).
pub fn countdown(secs: i64) -> String {
    let secs = secs.max(0);
    let (hours, minutes, seconds) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// `45 s`, `12 min`, `3 h 5 min`, `2 days`: a rough length.
pub fn duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 if (secs % 3600) / 60 == 0 => format!("{} h", secs / 3600),
        3600..86_400 => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
        86_400..172_800 => "1 day".to_string(),
        _ => format!("{} days", secs / 86_400),
    }
}

/// `3 min ago` or `in 3 min`, relative to `now`.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let secs = at.secs_until(now);
    if secs >= 0 {
        format!("{} ago", duration(secs))
    } else {
        format!("in {}", duration(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-11-26T14:05:09Z
    const AT: Timestamp = Timestamp::from_unix_millis(1_764_165_909_000);

    #[test]
    fn clock_and_date_are_utc() {
        assert_eq!(hh_mm(AT), "14:05");
        assert_eq!(clock_utc(AT), "14:05 UTC");
        assert_eq!(clock_secs_utc(AT), "14:05:09 UTC");
        assert_eq!(date_time_utc(AT), "2025-11-26 14:05 UTC");
        assert_eq!(hh_mm(Timestamp::from_unix_millis(-60_000)), "23:59");
        assert_eq!(month_day_hh_mm(AT), "11-26 14:05");
    }

    #[test]
    fn countdown_shows_minutes_and_seconds() {
        assert_eq!(countdown(598), "9:58");
        assert_eq!(countdown(3723), "1:02:03");
        assert_eq!(countdown(-5), "0:00");
    }

    #[test]
    fn durations_round_down_to_a_readable_unit() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(720), "12 min");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(11_100), "3 h 5 min");
        assert_eq!(duration(100_000), "1 day");
        assert_eq!(duration(300_000), "3 days");
        assert_eq!(relative(AT, AT.plus_secs(180)), "3 min ago");
        assert_eq!(relative(AT.plus_secs(180), AT), "in 3 min");
    }
}
