//! Timestamps and durations as they appear in exports and on the command line.
//!
//! Every timestamp is held as microseconds since the Unix epoch, UTC (`i64`), so comparisons and
//! window arithmetic are plain integer operations and nothing depends on the local time zone.
//! Accepted forms (docs/data-format.md):
//! - RFC 3339 with an offset: `2025-10-07T09:50:26+02:00`, `2025-10-07T07:50:26Z`, fractions allowed;
//! - `YYYY-MM-DD HH:MM:SS` (or with `T`), optionally with fractional seconds, optionally followed by
//!   ` UTC` or by a numeric offset such as ` +0200` (the form store exports use);
//! - `YYYY-MM-DD` (midnight UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Microseconds per second, minute, hour and day.
pub const SECOND: i64 = 1_000_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Timestamps outside [1990-01-01, 2100-01-01) are refused as placeholders (`9999-12-31`,
/// `1970-01-01`): one of them would silently move the as-of time or every window.
pub const PLAUSIBLE_FROM: i64 = 631_152_000 * SECOND;
pub const PLAUSIBLE_UNTIL: i64 = 4_102_444_800 * SECOND;

/// The unit of integer timestamps (Unix epochs) in an export, named by `[columns] epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl EpochUnit {
    /// `s`, `ms`, `us` or `ns`.
    pub fn parse(raw: &str) -> Option<EpochUnit> {
        match raw.trim() {
            "s" => Some(EpochUnit::Seconds),
            "ms" => Some(EpochUnit::Milliseconds),
            "us" => Some(EpochUnit::Microseconds),
            "ns" => Some(EpochUnit::Nanoseconds),
            _ => None,
        }
    }
    /// Microseconds since the epoch of `v` units since the epoch (nanoseconds truncated towards
    /// the past, as a text timestamp's are); `None` when out of range.
    pub fn micros(self, v: i64) -> Option<i64> {
        match self {
            EpochUnit::Seconds => v.checked_mul(SECOND),
            EpochUnit::Milliseconds => v.checked_mul(1000),
            EpochUnit::Microseconds => Some(v),
            EpochUnit::Nanoseconds => Some(v.div_euclid(1000)),
        }
    }
}

/// Whether a timestamp is inside [`PLAUSIBLE_FROM`, `PLAUSIBLE_UNTIL`).
pub fn plausible(t: i64) -> bool {
    (PLAUSIBLE_FROM..PLAUSIBLE_UNTIL).contains(&t)
}

/// Parses a timestamp in one of the accepted forms into microseconds since the epoch (UTC).
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    let s = raw.trim();
    if s.len() < 10 {
        return None;
    }
    if s.len() == 10 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(
            Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
                .timestamp_micros(),
        );
    }
    if let Some(micros) = canonical(s.as_bytes()) {
        return Some(micros);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    let s = s.strip_suffix(" UTC").unwrap_or(s);
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&n).timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.timestamp_micros());
        }
    }
    None
}

/// `YYYY-MM-DDTHH:MM:SSZ`, what cartsona writes and most exports hold, read digit by digit, the
/// date and time still checked by chrono: chrono's general RFC 3339 parser was 4% of a CSV
/// `segment`'s samples (issue 19). Any other form, or a value this refuses (a leap second, a
/// 30 February), goes the general way, so every result is the general parser's.
fn canonical(s: &[u8]) -> Option<i64> {
    let shape = s.len() == 20
        && s[4] == b'-'
        && s[7] == b'-'
        && s[10] == b'T'
        && s[13] == b':'
        && s[16] == b':'
        && s[19] == b'Z';
    if !shape {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<u32> {
        s[a..b].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = date.and_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(time.and_utc().timestamp_micros())
}

/// Formats microseconds since the epoch as RFC 3339 in UTC (`2025-01-31T00:00:00Z`), with
/// fractional seconds only when there are any.
///
/// Years 0-9999 are laid out digit by digit (the CSV outputs write one per shopper; chrono's
/// `format` reads its pattern again for each); other years through chrono, which writes them
/// with a sign. A test compares both with chrono's text on random instants.
pub fn format_timestamp(micros: i64) -> String {
    use chrono::{Datelike, Timelike};
    match Utc.timestamp_micros(micros).single() {
        Some(dt) if (0..=9999).contains(&dt.year()) => {
            // Digits of `v` in `width` places, after the separator `sep` (0: none).
            fn put(out: &mut Vec<u8>, sep: u8, v: u32, width: u32) {
                if sep != 0 {
                    out.push(sep);
                }
                for place in (0..width).rev() {
                    out.push(b'0' + (v / 10u32.pow(place) % 10) as u8);
                }
            }
            let mut out = Vec::with_capacity(27);
            put(&mut out, 0, dt.year() as u32, 4);
            put(&mut out, b'-', dt.month(), 2);
            put(&mut out, b'-', dt.day(), 2);
            put(&mut out, b'T', dt.hour(), 2);
            put(&mut out, b':', dt.minute(), 2);
            put(&mut out, b':', dt.second(), 2);
            if micros % SECOND != 0 {
                put(&mut out, b'.', dt.nanosecond() / 1_000, 6);
            }
            out.push(b'Z');
            String::from_utf8(out).expect("ASCII digits")
        }
        Some(dt) if micros % SECOND == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => micros.to_string(),
    }
}

/// Parses a duration such as `45s`, `90m`, `24h`, `30d` or `2w` into microseconds.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{raw}' has no unit: write it like 90m, 24h or 30d"))?;
    let (digits, unit) = s.split_at(split);
    let n: i64 = digits.parse().map_err(|_| {
        format!("'{raw}' does not start with a whole number: write it like 90m, 24h or 30d")
    })?;
    let per = match unit {
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => {
            return Err(format!(
                "'{raw}' has unknown unit '{unit}': use s, m, h, d or w (as in 90m, 24h, 30d)"
            ))
        }
    };
    n.checked_mul(per)
        .ok_or_else(|| format!("'{raw}' is too long a duration"))
}

/// Formats a duration in microseconds with the largest unit that divides it (`30d`, `90m`).
pub fn format_duration(micros: i64) -> String {
    for (per, unit) in [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")] {
        if micros % per == 0 {
            return format!("{}{unit}", micros / per);
        }
    }
    format!("{}s", micros as f64 / SECOND as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_timestamp_writes_what_chrono_writes() {
        use chrono::{TimeZone, Utc};
        use rand::{Rng, SeedableRng};
        let chrono_text = |micros: i64| {
            let dt = Utc.timestamp_micros(micros).single().expect("in range");
            match micros % super::SECOND {
                0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                _ => dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            }
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
        // Years -300 to 10300 (both ways of writing them), whole seconds and not.
        let (lo, hi) = (
            -71_000_000_000i64 * super::SECOND,
            263_000_000_000 * super::SECOND,
        );
        for _ in 0..100_000 {
            let micros = rng.gen_range(lo..hi);
            assert_eq!(super::format_timestamp(micros), chrono_text(micros));
            let whole = micros - micros.rem_euclid(super::SECOND);
            assert_eq!(super::format_timestamp(whole), chrono_text(whole));
        }
        assert_eq!(super::format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::format_timestamp(1_500_001),
            "1970-01-01T00:00:01.500001Z"
        );
        assert_eq!(super::format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
    }

    use super::*;

    const JAN1: i64 = 1_735_689_600 * SECOND; // 2025-01-01T00:00:00Z

    /// The digit-by-digit path gives the general parser's result, and leaves it every value it
    /// does not take (issue 19): leap days and seconds, impossible dates, other shapes.
    #[test]
    fn canonical_timestamps_parse_as_chrono_does() {
        let general = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.timestamp_micros())
        };
        for s in [
            "2025-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2024-02-29T12:34:56Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(canonical(s.as_bytes()), general(s), "{s}");
            assert!(canonical(s.as_bytes()).is_some(), "{s}");
        }
        assert_eq!(parse_timestamp("2025-01-01T00:00:00Z"), Some(JAN1));
        for s in [
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:60:00Z",
            "2016-12-31T23:59:60Z",
            "2025-01-01t00:00:00z",
            "2025-01-01T00:00:00+00:00",
            "2025-01-01 00:00:00Z",
            "+025-01-01T00:00:00Z",
            "2025-01-0aT00:00:00Z",
        ] {
            assert_eq!(canonical(s.as_bytes()), None, "{s}");
        }
        // Those it leaves still parse as before.
        assert_eq!(
            parse_timestamp("2016-12-31T23:59:60Z"),
            general("2016-12-31T23:59:60Z")
        );
        assert_eq!(parse_timestamp("2025-01-01t00:00:00z"), Some(JAN1));
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_timestamp("2025-01-01"), Some(JAN1));
        assert_eq!(parse_timestamp("2025-01-01 00:00:00"), Some(JAN1));
        assert_eq!(parse_timestamp("2025-01-01 00:00:00 UTC"), Some(JAN1));
        assert_eq!(parse_timestamp("2025-01-01T00:00:00Z"), Some(JAN1));
        assert_eq!(parse_timestamp("2025-01-01T02:00:00+02:00"), Some(JAN1));
        assert_eq!(parse_timestamp("2025-01-01 02:00:00 +0200"), Some(JAN1));
        assert_eq!(
            parse_timestamp("2025-01-01 00:00:01.5"),
            Some(JAN1 + SECOND + SECOND / 2)
        );
        assert_eq!(parse_timestamp(" 2025-01-01T00:00:00 "), Some(JAN1));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "2025-13-01",
            "01/02/2025",
            "2025-01-01 25:00:00",
            "yesterday",
            "2025-01-01 00:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Ok(90 * MINUTE));
        assert_eq!(parse_duration("24h"), Ok(DAY));
        assert_eq!(parse_duration("30d"), Ok(30 * DAY));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3y").is_err());
        assert_eq!(format_duration(30 * DAY), "30d");
        assert_eq!(format_duration(90 * MINUTE), "90m");
        assert_eq!(format_timestamp(JAN1), "2025-01-01T00:00:00Z");
    }
}
