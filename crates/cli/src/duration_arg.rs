//! Durations on the command line (`15m`, `5s`, `500ms`, `1h30m`) and back into words.

use std::time::Duration;

/// Parses one or more `<number><unit>` parts, unit one of `h`, `m`, `s`, `ms`; a bare number
/// is seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration such as 15m, 90s or 500ms");
    if text.is_empty() {
        return Err(bad());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "s" => Some(Duration::from_secs(number)),
            "ms" => Some(Duration::from_millis(number)),
            _ => None,
        }
        .ok_or_else(bad)?;
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// `1h 5m`, `4m 10s`, `12s`, `500ms`: short and exact enough for a progress line.
pub fn show(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.subsec_millis());
    }
    show_secs(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Whole seconds in the same words; negative values read as their size.
pub fn show_secs(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("2s").unwrap(), Duration::from_secs(2));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in ["", "m", "5x", "-5s", "1.5m", "5 s", "99999999999999999999h"] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn shows_the_two_largest_units() {
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_secs(12)), "12s");
        assert_eq!(show(Duration::from_secs(250)), "4m 10s");
        assert_eq!(show(Duration::from_secs(900)), "15m");
        assert_eq!(show(Duration::from_secs(3900)), "1h 5m");
        assert_eq!(show_secs(-65), "1m 5s");
    }
}
