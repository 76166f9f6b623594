//! RFC 3339 as Kudu writes it, and back.
//!
//! Kudu serialises .NET `DateTime`/`DateTimeOffset` values with Newtonsoft's round-trip format:
//! `2024-05-01T12:34:56.1234567Z`, `...+00:00` on VFS entries, and sometimes no offset at all
//! (a `DateTime` whose kind was lost). Kudu stores UTC everywhere, so a date without an offset
//! is read as UTC. The calendar arithmetic is [`crate::time`]'s.

use crate::time::{Timestamp, civil_from_days, days_from_civil, days_in_month};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH:MM]`; a missing offset means UTC. Returns `None`
/// for anything else, including impossible dates (month 13, February 30) and the space
/// separator, which Kudu never writes. Fractions finer than a millisecond are truncated.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let bytes = text.trim().as_bytes();
    let year = digits(bytes, 0, 4)?;
    expect(bytes, 4, b"-")?;
    let month = digits(bytes, 5, 2)?;
    expect(bytes, 7, b"-")?;
    let day = digits(bytes, 8, 2)?;
    expect(bytes, 10, b"Tt")?;
    let hour = digits(bytes, 11, 2)?;
    expect(bytes, 13, b":")?;
    let minute = digits(bytes, 14, 2)?;
    expect(bytes, 16, b":")?;
    let second = digits(bytes, 17, 2)?;
    let mut at = 19;

    let mut millis = 0u32;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let count = at - start;
        if count == 0 || count > 9 {
            return None;
        }
        // Keep the first three digits, padded on the right: ".5" is 500 ms.
        for i in 0..3 {
            let digit = if i < count {
                bytes[start + i] - b'0'
            } else {
                0
            };
            millis = millis * 10 + u32::from(digit);
        }
    }

    let offset_minutes: i64 = match bytes.get(at) {
        None => 0,
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let hours = digits(bytes, at + 1, 2)?;
            expect(bytes, at + 3, b":")?;
            let minutes = digits(bytes, at + 4, 2)?;
            at += 6;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = i64::from(hours * 60 + minutes);
            if sign == b'-' { -total } else { total }
        }
        Some(_) => return None,
    };
    if at != bytes.len() {
        return None;
    }

    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // 60 admits a leap second; it lands on the next minute's first second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds_of_day = i64::from(hour * 3600 + minute * 60 + second);
    let local_millis = days * MILLIS_PER_DAY + seconds_of_day * 1000 + i64::from(millis);
    Some(Timestamp::from_unix_millis(
        local_millis - offset_minutes * 60_000,
    ))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DDTHH:MM:SS.mmmZ` when the milliseconds are not zero.
pub fn format_rfc3339(t: Timestamp) -> String {
    let ms = t.unix_millis();
    let days = ms.div_euclid(MILLIS_PER_DAY);
    let millis_of_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let hour = millis_of_day / 3_600_000;
    let minute = millis_of_day / 60_000 % 60;
    let second = millis_of_day / 1000 % 60;
    let millis = millis_of_day % 1000;
    let date_time = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if millis == 0 {
        format!("{date_time}Z")
    } else {
        format!("{date_time}.{millis:03}Z")
    }
}

/// Reads exactly `len` ASCII digits at `at`.
fn digits(bytes: &[u8], at: usize, len: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(len)?)?;
    slice.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn expect(bytes: &[u8], at: usize, wanted: &[u8]) -> Option<()> {
    bytes.get(at).filter(|b| wanted.contains(b)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<i64> {
        parse_rfc3339(text).map(Timestamp::unix_millis)
    }

    #[test]
    fn kudu_round_trip_dates_with_seven_digits() {
        assert_eq!(
            parse("2024-05-01T12:34:56.1234567Z"),
            Some(1_714_566_896_123)
        );
    }

    #[test]
    fn fraction_lengths_zero_to_nine() {
        assert_eq!(parse("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse("1970-01-01T00:00:01.12345Z"), Some(1123));
        assert_eq!(parse("1970-01-01T00:00:01.123456Z"), Some(1123));
        assert_eq!(parse("1970-01-01T00:00:01.999999999Z"), Some(1999));
        assert_eq!(parse("1970-01-01T00:00:01.1234567890Z"), None);
        assert_eq!(parse("1970-01-01T00:00:01.Z"), None);
    }

    #[test]
    fn offsets_move_to_utc() {
        assert_eq!(
            parse("2024-05-01T12:00:00+00:00"),
            parse("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            parse("2024-05-01T05:00:00.1234567-07:00"),
            parse("2024-05-01T12:00:00.123Z")
        );
        assert_eq!(
            parse("2024-05-01T14:30:00+02:30"),
            parse("2024-05-01T12:00:00Z")
        );
        assert_eq!(parse("2024-05-01T12:00:00+24:00"), None);
        assert_eq!(parse("2024-05-01T12:00:00+0200"), None);
    }

    #[test]
    fn missing_offset_means_utc() {
        assert_eq!(
            parse("2024-05-01T12:00:00.1234567"),
            parse("2024-05-01T12:00:00.123Z")
        );
    }

    #[test]
    fn impossible_dates_and_other_shapes_are_refused() {
        for text in [
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-00-10T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:60:00Z",
            "2024-01-01 12:00:00Z",
            "2024-1-01T12:00:00Z",
            "2024-01-01",
            "2024-01-01T12:00:00Zjunk",
            "",
            "unknown",
            "5/1/2024 12:34:56 PM",
            "２024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        assert!(parse("2024-02-29T00:00:00Z").is_some());
        assert!(parse("2000-02-29T00:00:00Z").is_some());
        assert_eq!(parse("1900-02-29T00:00:00Z"), None);
    }

    #[test]
    fn dates_before_1970_and_far_ahead() {
        assert_eq!(parse("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(parse("0000-03-01T00:00:00Z"), Some(-62_162_035_200_000));
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_millis(-62_162_035_200_000)),
            "0000-03-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(parse_rfc3339("9999-12-31T23:59:59.999Z").unwrap()),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn format_drops_zero_millis() {
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_millis(0)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_millis(1_714_566_896_123)),
            "2024-05-01T12:34:56.123Z"
        );
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_millis(-1)),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn extreme_instants_format_without_panicking() {
        for ms in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let text = format_rfc3339(Timestamp::from_unix_millis(ms));
            assert!(text.ends_with('Z'));
        }
    }
}
