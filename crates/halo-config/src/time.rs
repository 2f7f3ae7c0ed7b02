//! Time values, as heartbeat writes them (`cl_get_msec` in cluster-glue).
//!
//! A decimal number (a `.` is allowed: `0.5`, `.5`, `2.`) with an optional unit glued to
//! it, case-insensitive:
//!
//! | unit | meaning |
//! | --- | --- |
//! | none | seconds (heartbeat's rule) |
//! | `ms`, `msec` | milliseconds |
//! | `us`, `usec` | microseconds |
//! | `s`, `sec` | seconds — a halo extension: heartbeat rejected `1s`, but the tutorial in our seeds writes it |
//!
//! The value is rounded to the nearest millisecond, halves up (heartbeat's `+ 0.5`), so
//! `499us` is `0ms` and `501us` is `1ms`. A blank between number and unit is an error (in
//! `ha.cf` it would make the unit a second value), as are signs, exponents and values
//! above [`MAX_TIME`]. The arithmetic is exact (integers, no floating point): `0.1` is
//! exactly 100 ms.

use std::fmt;
use std::time::Duration;

/// The longest time value accepted: one day. No heartbeat timer is meaningfully longer;
/// a larger value is a typo (`deadtime 30000` meant as milliseconds, say).
pub const MAX_TIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Digits after the point that are taken into account; further digits cannot change the
/// rounding to whole milliseconds for any unit we know, except in the astronomically
/// unlikely `…4999999999999999999…` case, where they are truncated.
const MAX_FRACTION_DIGITS: usize = 18;

/// Why a string is not a time value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The string is empty.
    #[error("empty time value")]
    Empty,
    /// No digits before the unit.
    #[error("a time value starts with a number, like 2, 0.5 or 500ms")]
    NoNumber,
    /// A unit that is not one of ours.
    #[error(
        "unknown unit {0:?}: write seconds as a plain number (2, 0.5), or glue ms, msec, us or usec to it (500ms)"
    )]
    BadUnit(String),
    /// The value is more than [`MAX_TIME`].
    #[error("too long: at most 86400s (one day)")]
    TooLarge,
}

/// Parses a time value; see the module documentation for the grammar.
pub fn parse_time(s: &str) -> Result<Duration, TimeError> {
    if s.is_empty() {
        return Err(TimeError::Empty);
    }
    let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (int_part, rest) = s.split_at(int_end);
    let (frac_part, unit) = match rest.strip_prefix('.') {
        Some(r) => r.split_at(r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len())),
        None => ("", rest),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(TimeError::NoNumber);
    }
    // value = mantissa / 10^scale  (in `unit`s)
    let frac_used = &frac_part[..frac_part.len().min(MAX_FRACTION_DIGITS)];
    let int_digits = int_part.trim_start_matches('0');
    // Anything with more than 12 integer digits is far beyond MAX_TIME in any unit.
    if int_digits.len() > 12 {
        return Err(TimeError::TooLarge);
    }
    let mut mantissa: u128 = 0;
    for b in int_digits.bytes().chain(frac_used.bytes()) {
        mantissa = mantissa * 10 + u128::from(b - b'0');
    }
    let scale = 10u128.pow(frac_used.len() as u32);
    // milliseconds = mantissa * mul / (scale * div)
    let (mul, div): (u128, u128) = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" => (1000, 1),
        "ms" | "msec" => (1, 1),
        "us" | "usec" => (1, 1000),
        _ => return Err(TimeError::BadUnit(unit.to_string())),
    };
    let den = scale * div;
    // Round half up: floor((2·n + d) / 2d). mantissa < 10^30, so no overflow.
    let ms = (2 * mantissa * mul + den) / (2 * den);
    if ms > MAX_TIME.as_millis() {
        return Err(TimeError::TooLarge);
    }
    Ok(Duration::from_millis(ms as u64))
}

/// A duration shown the way an administrator writes it: `2s`, `1500ms`, `250ms`.
/// Whole seconds are shown in seconds, anything else in milliseconds (sub-millisecond
/// parts, which configuration values never have, are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> Result<Duration, TimeError> {
        Ok(Duration::from_millis(v))
    }

    #[test]
    fn heartbeat_documented_examples() {
        // The examples from cl_get_msec's comment, which define the format.
        assert_eq!(parse_time("1"), ms(1000));
        assert_eq!(parse_time("1000ms"), ms(1000));
        assert_eq!(parse_time("1000000us"), ms(1000));
        assert_eq!(parse_time("0.1"), ms(100));
        assert_eq!(parse_time("100ms"), ms(100));
        assert_eq!(parse_time("100000us"), ms(100));
        assert_eq!(parse_time("0.001"), ms(1));
        assert_eq!(parse_time("1ms"), ms(1));
        assert_eq!(parse_time("1000us"), ms(1));
        assert_eq!(parse_time("499us"), ms(0));
        assert_eq!(parse_time("501us"), ms(1));
    }

    #[test]
    fn units_are_case_insensitive_and_long_forms_work() {
        assert_eq!(parse_time("200MS"), ms(200));
        assert_eq!(parse_time("200msec"), ms(200));
        assert_eq!(parse_time("1500USEC"), ms(2));
        assert_eq!(parse_time("1s"), ms(1000));
        assert_eq!(parse_time("2.5sec"), ms(2500));
        assert_eq!(parse_time(".5"), ms(500));
        assert_eq!(parse_time("2."), ms(2000));
        assert_eq!(parse_time("0.0005"), ms(1));
        assert_eq!(parse_time("0.0004999"), ms(0));
        assert_eq!(parse_time("007"), ms(7000));
    }

    #[test]
    fn bad_values_are_rejected_with_a_reason() {
        assert_eq!(parse_time(""), Err(TimeError::Empty));
        assert_eq!(parse_time("ms"), Err(TimeError::NoNumber));
        assert_eq!(parse_time("."), Err(TimeError::NoNumber));
        assert_eq!(parse_time("-1"), Err(TimeError::NoNumber));
        assert_eq!(parse_time("5 ms"), Err(TimeError::BadUnit(" ms".into())));
        assert_eq!(parse_time("5m"), Err(TimeError::BadUnit("m".into())));
        assert_eq!(parse_time("5min"), Err(TimeError::BadUnit("min".into())));
        assert_eq!(parse_time("1e3"), Err(TimeError::BadUnit("e3".into())));
        assert_eq!(parse_time("1.2.3"), Err(TimeError::BadUnit(".3".into())));
        assert_eq!(parse_time("86401"), Err(TimeError::TooLarge));
        assert_eq!(parse_time("99999999999999999999"), Err(TimeError::TooLarge));
        assert_eq!(parse_time("86400"), ms(86_400_000));
    }

    #[test]
    fn display_prefers_whole_seconds() {
        assert_eq!(Time(Duration::from_millis(1000)).to_string(), "1s");
        assert_eq!(Time(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Time(Duration::ZERO).to_string(), "0s");
    }

    proptest! {
        #[test]
        fn whole_milliseconds_round_trip(v in 0u64..=86_400_000) {
            prop_assert_eq!(parse_time(&format!("{v}ms")), ms(v));
            prop_assert_eq!(parse_time(&format!("{v}msec")), ms(v));
            prop_assert_eq!(parse_time(&Time(Duration::from_millis(v)).to_string()), ms(v));
        }

        #[test]
        fn seconds_and_fractions_agree_with_milliseconds(s in 0u64..86_400, frac in 0u64..1000) {
            let text = format!("{s}.{frac:03}");
            prop_assert_eq!(parse_time(&text), ms(s * 1000 + frac));
            prop_assert_eq!(parse_time(&format!("{text}s")), ms(s * 1000 + frac));
        }

        #[test]
        fn microseconds_round_half_up(us in 0u64..86_400_000_000) {
            // Reference: integer rounding of us/1000, halves up.
            let expect = (us + 500) / 1000;
            prop_assert_eq!(parse_time(&format!("{us}us")), ms(expect));
        }

        #[test]
        fn never_panics_and_never_exceeds_the_maximum(s in "\\PC{0,24}") {
            if let Ok(d) = parse_time(&s) {
                prop_assert!(d <= MAX_TIME);
            }
        }

        #[test]
        fn a_blank_before_the_unit_is_an_error(v in 0u64..100_000, unit in "(ms|msec|us|usec|s)") {
            let text = format!("{v} {unit}");
            prop_assert!(parse_time(&text).is_err());
        }
    }
}
