//! Parsers for single values of ha.cf directives. Each returns the [`Problem`] to report
//! at the directive's line.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use halo_types::NodeName;

use crate::error::Problem;
use crate::time::parse_time;

/// heartbeat's booleans: true/on/yes/y/1 and false/off/no/n/0, case-insensitive.
pub(crate) fn boolean(s: &str) -> Result<bool, Problem> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "y" | "1" => Ok(true),
        "false" | "off" | "no" | "n" | "0" => Ok(false),
        _ => Err(Problem::BadValue {
            value: s.to_string(),
            expected: "a boolean (on/off, yes/no, true/false, y/n, 1/0)",
        }),
    }
}

pub(crate) fn time(s: &str) -> Result<Duration, Problem> {
    parse_time(s).map_err(|reason| Problem::BadTime {
        value: s.to_string(),
        reason,
    })
}

/// An unsigned integer in `lo..=hi`; `range` describes it for the error.
pub(crate) fn number(s: &str, lo: u64, hi: u64, range: &'static str) -> Result<u64, Problem> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::BadValue {
            value: s.to_string(),
            expected: "a whole number",
        });
    }
    match s.parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(Problem::OutOfRange {
            value: s.to_string(),
            range,
        }),
    }
}

pub(crate) fn port(s: &str) -> Result<u16, Problem> {
    // The range fits u16, so the conversion cannot fail.
    number(s, 1, 65535, "a UDP port is 1 to 65535").map(|v| v as u16)
}

pub(crate) fn byte(s: &str, range: &'static str) -> Result<u8, Problem> {
    number(s, 0, 255, range).map(|v| v as u8)
}

/// A network interface name, as the kernel allows (at most 15 bytes, no `/`, no blanks).
/// Whether it exists is checked by `halod`, not here.
pub(crate) fn iface(s: &str) -> Result<String, Problem> {
    let ok = !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && !s.contains(|c: char| c == '/' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(s.to_string())
    } else {
        Err(Problem::BadValue {
            value: s.to_string(),
            expected: "a network interface name (at most 15 characters, no '/')",
        })
    }
}

pub(crate) fn abs_path(s: &str) -> Result<PathBuf, Problem> {
    if s.starts_with('/') {
        Ok(PathBuf::from(s))
    } else {
        Err(Problem::BadValue {
            value: s.to_string(),
            expected: "an absolute path (starting with '/')",
        })
    }
}

pub(crate) fn node_name(s: &str) -> Result<NodeName, Problem> {
    NodeName::new(s).map_err(|source| Problem::BadName {
        name: s.to_string(),
        source,
    })
}

pub(crate) fn ipv4(s: &str, v6_hint: &'static str) -> Result<Ipv4Addr, Problem> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Ok(a);
    }
    Err(Problem::BadValue {
        value: s.to_string(),
        expected: if s.parse::<Ipv6Addr>().is_ok() {
            v6_hint
        } else {
            "an IPv4 address (host names are not resolved: the failure detector must not depend on DNS)"
        },
    })
}

pub(crate) fn ipv6(s: &str) -> Result<Ipv6Addr, Problem> {
    s.parse::<Ipv6Addr>().map_err(|_| Problem::BadValue {
        value: s.to_string(),
        expected: "an IPv6 address (host names are not resolved: the failure detector must not depend on DNS)",
    })
}

pub(crate) fn ip(s: &str) -> Result<IpAddr, Problem> {
    s.parse::<IpAddr>().map_err(|_| Problem::BadValue {
        value: s.to_string(),
        expected: "an IP address (host names are not resolved: the failure detector must not depend on DNS)",
    })
}

/// One of `choices` (exact, lower-case as heartbeat wrote them, but compared
/// case-insensitively).
pub(crate) fn choice<T: Copy>(
    s: &str,
    choices: &[(&str, T)],
    expected: &'static str,
) -> Result<T, Problem> {
    let lower = s.to_ascii_lowercase();
    choices
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, v)| *v)
        .ok_or_else(|| Problem::BadValue {
            value: s.to_string(),
            expected,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_heartbeat() {
        for t in ["true", "ON", "Yes", "y", "1"] {
            assert!(boolean(t).unwrap(), "{t}");
        }
        for f in ["false", "Off", "NO", "n", "0"] {
            assert!(!boolean(f).unwrap(), "{f}");
        }
        assert!(boolean("2").is_err());
        assert!(boolean("enabled").is_err());
    }

    #[test]
    fn numbers_and_ports() {
        assert_eq!(port("694").unwrap(), 694);
        assert!(matches!(port("0"), Err(Problem::OutOfRange { .. })));
        assert!(matches!(port("65536"), Err(Problem::OutOfRange { .. })));
        assert!(matches!(port("-1"), Err(Problem::BadValue { .. })));
        assert!(matches!(
            port("99999999999999999999999"),
            Err(Problem::OutOfRange { .. })
        ));
        assert!(matches!(port("6 94"), Err(Problem::BadValue { .. })));
    }

    #[test]
    fn interfaces() {
        assert_eq!(iface("eth0").unwrap(), "eth0");
        assert_eq!(iface("eth0:1").unwrap(), "eth0:1");
        assert!(iface("averyveryverylongname").is_err());
        assert!(iface("a/b").is_err());
        assert!(iface("..").is_err());
    }

    #[test]
    fn addresses_explain_what_was_wrong() {
        let e = ipv4("fe80::1", "an IPv4 address; use ucast6 for IPv6").unwrap_err();
        assert!(e.to_string().contains("use ucast6"), "{e}");
        let e = ipv4("node2", "x").unwrap_err();
        assert!(e.to_string().contains("host names are not resolved"), "{e}");
    }
}
