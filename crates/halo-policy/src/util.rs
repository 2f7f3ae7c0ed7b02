//! Small helpers with Pacemaker's exact semantics: value parsing, operation keys,
//! and GLib's merge sort (whose behaviour with non-transitive comparisons some
//! results depend on).

use std::cmp::Ordering;

/// Sorts like GLib's `g_list_sort`: a top-down merge sort that splits a list of
/// n elements into ceil(n/2) and floor(n/2) and, when merging, takes from the
/// left run while `cmp(left, right) <= 0`. Stable. For a transitive comparison
/// this equals any stable sort; for the few non-transitive comparisons Pacemaker
/// uses it reproduces GLib's result exactly.
pub fn glib_sort<T: Clone>(v: &mut [T], cmp: &mut dyn FnMut(&T, &T) -> Ordering) {
    let mut buf = Vec::with_capacity(v.len());
    merge_sort(v, &mut buf, cmp);
}

/// Sorts `v` in place, merging through `buf` (one buffer for all levels).
fn merge_sort<T: Clone>(v: &mut [T], buf: &mut Vec<T>, cmp: &mut dyn FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let mid = v.len().div_ceil(2);
    merge_sort(&mut v[..mid], buf, cmp);
    merge_sort(&mut v[mid..], buf, cmp);
    buf.clear();
    let (left, right) = v.split_at(mid);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&left[i], &right[j]) != Ordering::Greater {
            buf.push(left[i].clone());
            i += 1;
        } else {
            buf.push(right[j].clone());
            j += 1;
        }
    }
    buf.extend_from_slice(&left[i..]);
    buf.extend_from_slice(&right[j..]);
    v.clone_from_slice(buf);
}

/// Inserts like `g_list_insert_sorted`: before the first element `e` with
/// `cmp(new, e) <= 0`.
pub fn glib_insert_sorted<T>(v: &mut Vec<T>, item: T, cmp: &mut dyn FnMut(&T, &T) -> Ordering) {
    let pos = v
        .iter()
        .position(|e| cmp(&item, e) != Ordering::Greater)
        .unwrap_or(v.len());
    v.insert(pos, item);
}

/// Pacemaker's boolean parser (`pcmk__parse_bool`): true/on/yes/y/1 and
/// false/off/no/n/0, case-insensitively.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "y" | "1" => Some(true),
        "false" | "off" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// `pcmk__is_true`: the value parses as a true boolean.
pub fn is_true(s: Option<&str>) -> bool {
    s.and_then(parse_bool).unwrap_or(false)
}

/// `strtoll`-like: optional whitespace, sign, digits; returns the value and the
/// unparsed rest, or `None` if there are no digits.
pub fn scan_ll(s: &str) -> Option<(i64, &str)> {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if neg { -v } else { v }, &t[i..]))
}

/// `pcmk__scan_ll` with a default: the leading integer of `s`, ignoring trailing text.
pub fn int_or(s: Option<&str>, default: i64) -> i64 {
    s.and_then(scan_ll).map_or(default, |(v, _)| v)
}

/// `pcmk__parse_ms`: a duration with optional unit (s, ms, us, m, h) in ms.
pub fn parse_ms(s: &str) -> Option<i64> {
    let (n, rest) = scan_ll(s)?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let rest = rest.trim_start();
    let lower = rest.to_ascii_lowercase();
    let (mul, div): (i64, i64) = if lower.is_empty() || lower.starts_with('s') {
        (1000, 1)
    } else if lower.starts_with("ms") {
        (1, 1)
    } else if lower.starts_with("us") {
        (1, 1000)
    } else if lower.starts_with('m') {
        (60_000, 1)
    } else if lower.starts_with('h') {
        (3_600_000, 1)
    } else {
        return None;
    };
    Some(n.saturating_mul(mul) / div)
}

/// `pcmk_parse_interval_spec`: a duration or an ISO 8601 period (`P…`), in ms;
/// unset is 0 and invalid values are 0.
pub fn parse_interval(s: Option<&str>) -> u32 {
    let Some(s) = s else { return 0 };
    let ms = if s.starts_with('P') {
        parse_iso_duration(s).map(|secs| secs.min(i64::from(u32::MAX / 1000)) * 1000)
    } else {
        parse_ms(s)
    };
    match ms {
        Some(v) if v >= 0 => u32::try_from(v).unwrap_or(u32::MAX),
        _ => 0,
    }
}

/// Seconds of an ISO 8601 duration like `P1DT2H3M4S` or `PT10S` (years and months
/// counted as 365 and 30 days, which is what a duration without a start date
/// can mean).
fn parse_iso_duration(s: &str) -> Option<i64> {
    let body = s.strip_prefix('P')?;
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut num = String::new();
    for c in body.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                // Like Pacemaker, only M depends on the T separator.
                let unit = match (c, in_time) {
                    ('Y', _) => 365 * 86_400,
                    ('M', false) => 30 * 86_400,
                    ('M', true) => 60,
                    ('W', _) => 7 * 86_400,
                    ('D', _) => 86_400,
                    ('H', _) => 3_600,
                    ('S', _) => 1,
                    _ => return None,
                };
                total = total.saturating_add(n.saturating_mul(unit));
            }
        }
    }
    num.is_empty().then_some(total)
}

/// `pcmk__op_key`: `RSC_TASK_INTERVAL`.
pub fn op_key(rsc: &str, task: &str, interval_ms: u32) -> String {
    format!("{rsc}_{task}_{interval_ms}")
}

/// Whether `key` is `op_key(rsc, task, interval_ms)`, without building it
/// (lookups by key run for every resource on every node).
pub fn is_op_key(key: &str, rsc: &str, task: &str, interval_ms: u32) -> bool {
    let Some(rest) = key
        .strip_prefix(rsc)
        .and_then(|k| k.strip_prefix('_'))
        .and_then(|k| k.strip_prefix(task))
        .and_then(|k| k.strip_prefix('_'))
    else {
        return false;
    };
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut v = interval_ms;
    loop {
        start -= 1;
        digits[start] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    rest.as_bytes() == &digits[start..]
}

/// `pcmk__numeric_strcasecmp`: case-insensitive, with digit runs compared as numbers.
pub fn numeric_strcasecmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            let sj = j;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na: u128 = std::str::from_utf8(&a[si..i])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u128::MAX);
            let nb: u128 = std::str::from_utf8(&b[sj..j])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u128::MAX);
            match na.cmp(&nb).then((i - si).cmp(&(j - sj))) {
                Ordering::Equal => {}
                o => return o,
            }
        } else {
            match a[i].to_ascii_lowercase().cmp(&b[j].to_ascii_lowercase()) {
                Ordering::Equal => {}
                o => return o,
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).min(1).cmp(&(b.len() - j).min(1))
}

/// Formats epoch seconds as `YYYY-MM-DD HH:MM:SSZ` (UTC).
pub fn format_utc(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_keys_match_without_building() {
        for (rsc, task, interval) in [
            ("ip", "start", 0),
            ("a_b", "monitor", 10_000),
            ("x", "y", u32::MAX),
        ] {
            let key = op_key(rsc, task, interval);
            assert!(is_op_key(&key, rsc, task, interval), "{key}");
            assert!(
                !is_op_key(&key, rsc, task, interval.wrapping_add(1)),
                "{key}"
            );
            assert!(!is_op_key(&key, rsc, "stop", interval), "{key}");
            assert!(!is_op_key(&key, "a", task, interval), "{key}");
            assert!(!is_op_key(&format!("{key}0"), rsc, task, interval), "{key}");
        }
        assert!(!is_op_key("ip_start_00", "ip", "start", 0));
    }

    #[test]
    fn durations_parse_like_pacemaker() {
        assert_eq!(parse_ms("10s"), Some(10_000));
        assert_eq!(parse_ms("10"), Some(10_000));
        assert_eq!(parse_ms("500ms"), Some(500));
        assert_eq!(parse_ms("2min"), Some(120_000));
        assert_eq!(parse_ms("1h"), Some(3_600_000));
        assert_eq!(parse_ms("3.5s"), Some(3_000));
        assert_eq!(parse_ms("x"), None);
        assert_eq!(parse_interval(Some("P1D")), 86_400_000);
        assert_eq!(parse_interval(Some("PT10S")), 10_000);
        assert_eq!(parse_interval(Some("P30S")), 30_000);
        assert_eq!(parse_interval(None), 0);
    }

    #[test]
    fn numeric_names_sort_numerically() {
        assert_eq!(numeric_strcasecmp("node2", "node10"), Ordering::Less);
        assert_eq!(numeric_strcasecmp("Node1", "node1"), Ordering::Equal);
        assert_eq!(numeric_strcasecmp("node", "node1"), Ordering::Less);
        assert_eq!(numeric_strcasecmp("007", "7"), Ordering::Greater);
    }

    #[test]
    fn glib_sort_is_stable_merge() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (1, 'd'), (2, 'e')];
        glib_sort(&mut v, &mut |a, b| a.0.cmp(&b.0));
        assert_eq!(v, vec![(1, 'b'), (1, 'd'), (2, 'e'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(1_533_840_941), "2018-08-09 18:55:41Z");
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
    }
}
