use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const FILE: &str = "/etc/ha.d/ha.cf";
/// The least a valid ha.cf needs.
const BASE: &str = "node a b\nbcast eth0\n";

fn parse(text: &str) -> Result<Parsed<HaCf>, ConfigErrors> {
    HaCf::parse(Path::new(FILE), text.as_bytes())
}

fn ok(text: &str) -> Parsed<HaCf> {
    crate::testutil::ok(text, parse(text))
}

/// `BASE` plus `extra`, parsed.
fn with(extra: &str) -> Parsed<HaCf> {
    ok(&format!("{BASE}{extra}"))
}

/// All error messages for `text`.
fn errors(text: &str) -> Vec<String> {
    crate::testutil::errors(text, parse(text))
}

/// The single error for `BASE` plus `extra` (whose lines start at line 3).
fn error(extra: &str) -> String {
    let e = errors(&format!("{BASE}{extra}"));
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e.into_iter().next().unwrap_or_default()
}

fn notices(p: &Parsed<HaCf>) -> Vec<String> {
    p.notices.iter().map(ToString::to_string).collect()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

// ── lexing ───────────────────────────────────────────────────────────────────────────────

#[test]
fn comments_blank_lines_crlf_and_commas() {
    let p = ok("# a comment\n\n   \nnode a, b\tc # trailing comment\r\nbcast eth0,eth1 # x\n");
    assert_eq!(
        p.value
            .node_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(p.value.link_names(), ["eth0", "eth1"]);
}

#[test]
fn token_directives_repeat_like_separate_lines() {
    let one = ok("node a b\nbcast eth0\nping 10.0.0.1 10.0.0.2\n").value;
    let many = ok("node a\nnode b\nbcast eth0\nping 10.0.0.1\nping 10.0.0.2\n").value;
    assert_eq!(one.node_names(), many.node_names());
    assert_eq!(
        one.ping_nodes.iter().map(|p| p.value).collect::<Vec<_>>(),
        many.ping_nodes.iter().map(|p| p.value).collect::<Vec<_>>()
    );
}

#[test]
fn directive_names_are_exact_and_suggested() {
    assert_eq!(
        error("Keepalive 1\n"),
        "/etc/ha.d/ha.cf:3: Keepalive: unknown directive; did you mean \"keepalive\"?"
    );
    assert_eq!(
        error("deadtiem 10\n"),
        "/etc/ha.d/ha.cf:3: deadtiem: unknown directive; did you mean \"deadtime\"?"
    );
    assert_eq!(
        error("frobnicate yes\n"),
        "/etc/ha.d/ha.cf:3: frobnicate: unknown directive"
    );
    // A comma glued to the directive is part of its name, as in heartbeat.
    assert_eq!(
        error("node,c\n"),
        "/etc/ha.d/ha.cf:3: node,c: unknown directive; did you mean \"node\"?"
    );
}

#[test]
fn quorum_directives_fill_the_quorum_config() {
    let h = ok(
        "node a b c\nbcast eth0\nvotes a 2\nexpected_votes 4\nwait_for_all on\nno_quorum_policy freeze\n",
    )
    .value;
    let q = &h.quorum;
    assert_eq!(q.nodes.len(), 3);
    assert_eq!(q.votes_of(&NodeName::new("a").unwrap()), 2);
    assert_eq!(q.votes_of(&NodeName::new("b").unwrap()), 1);
    assert_eq!(q.expected_votes, Some(4));
    assert_eq!(q.wait_for_all, Some(true));
    assert!(!q.two_node);
    assert_eq!(q.no_quorum_policy.as_str(), "freeze");
    let d = ok(BASE).value;
    assert_eq!(d.quorum.no_quorum_policy.as_str(), "stop");
    assert_eq!(d.quorum.expected_votes, None);
}

#[test]
fn api_read_anyone_is_off_unless_set() {
    assert!(!with("").value.api_read_anyone);
    assert!(with("api_read_anyone on\n").value.api_read_anyone);
    assert_eq!(
        error("api_read_anyone maybe\n"),
        "/etc/ha.d/ha.cf:3: api_read_anyone: \"maybe\" is not a boolean (on/off, yes/no, true/false, y/n, 1/0)"
    );
}

#[test]
fn quorum_errors_name_the_line_to_fix() {
    assert_eq!(
        error("votes zed 2\n"),
        "/etc/ha.d/ha.cf:3: votes: votes given for zed, which no `node` line lists"
    );
    assert!(with("two_node on\n").value.quorum.two_node);
    let e = error("two_node on\nexpected_votes 3\n");
    assert!(
        e.starts_with("/etc/ha.d/ha.cf:3: two_node: two_node needs a cluster of exactly two"),
        "{e}"
    );
    assert_eq!(
        error("expected_votes 0\n"),
        "/etc/ha.d/ha.cf:3: expected_votes: 0 is out of range (1 or more)"
    );
    assert_eq!(
        error("no_quorum_policy maybe\n"),
        "/etc/ha.d/ha.cf:3: no_quorum_policy: \"maybe\" is not stop, freeze, ignore or suicide"
    );
    assert_eq!(
        error("votes a 1\nvotes a 2\n"),
        "/etc/ha.d/ha.cf:4: votes: already set on line 3; give it once"
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let e = errors("node a\nbcast eth0\nkeepalive x\nbogus\nudpport 0\n");
    assert_eq!(
        e,
        [
            "/etc/ha.d/ha.cf:3: keepalive: \"x\": a time value starts with a number, like 2, 0.5 or 500ms",
            "/etc/ha.d/ha.cf:4: bogus: unknown directive",
            "/etc/ha.d/ha.cf:5: udpport: 0 is out of range (a UDP port is 1 to 65535)",
        ]
    );
}

#[test]
fn non_utf8_lines_are_errors_with_their_line() {
    let mut bytes = b"node a\nbcast eth0\nlogfile /var/log/\xff\n".to_vec();
    bytes.extend_from_slice(b"bogus\n");
    let e = HaCf::parse(Path::new(FILE), &bytes).unwrap_err();
    let e: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        e,
        [
            "/etc/ha.d/ha.cf:3: the line is not valid UTF-8",
            "/etc/ha.d/ha.cf:4: bogus: unknown directive"
        ]
    );
}

// ── timing ───────────────────────────────────────────────────────────────────────────────

#[test]
fn halo_defaults_and_the_notice_about_heartbeats() {
    let p = ok(BASE);
    assert_eq!(p.value.timing, Timing::halo_default());
    assert_eq!(
        p.value.timing,
        Timing {
            keepalive: ms(200),
            warntime: ms(1000),
            deadtime: ms(2000),
            initdead: ms(12_000),
            deadping: ms(2000),
        }
    );
    assert_eq!(
        notices(&p),
        [
            "/etc/ha.d/ha.cf: deadtime: not set: using 2s (halo's default; heartbeat's default was 30s); set deadtime to choose"
        ]
    );
}

#[test]
fn all_timings_given() {
    let p = with("keepalive 100ms\nwarntime 300ms\ndeadtime 500ms\ninitdead 12\ndeadping 1\n");
    assert_eq!(
        p.value.timing,
        Timing {
            keepalive: ms(100),
            warntime: ms(300),
            deadtime: ms(500),
            initdead: ms(12_000),
            deadping: ms(1000),
        }
    );
    assert!(p.notices.is_empty(), "{:?}", notices(&p));
}

#[test]
fn only_keepalive_keeps_the_ratio() {
    let p = with("keepalive 2\n");
    assert_eq!(p.value.timing.deadtime, ms(20_000));
    assert_eq!(p.value.timing.warntime, ms(10_000));
    assert_eq!(p.value.timing.initdead, ms(20_000));
    assert_eq!(
        notices(&p),
        [
            "/etc/ha.d/ha.cf: deadtime: not set: using 20s (10 × keepalive; heartbeat's default was 30s); set deadtime to choose"
        ]
    );
}

#[test]
fn only_deadtime_keeps_the_ratio() {
    let t = with("deadtime 10\n").value.timing;
    assert_eq!(
        (t.keepalive, t.warntime, t.initdead),
        (ms(1000), ms(5000), ms(20_000))
    );
    let t = with("deadtime 30\n").value.timing;
    assert_eq!((t.keepalive, t.initdead), (ms(3000), ms(30_000)));
    let t = with("deadtime 5ms\n").value.timing;
    assert_eq!(t.keepalive, ms(1));
}

#[test]
fn heartbeat_initdead_rule() {
    assert_eq!(Timing::heartbeat_initdead(ms(500)), ms(12_000));
    assert_eq!(Timing::heartbeat_initdead(ms(5999)), ms(12_000));
    assert_eq!(Timing::heartbeat_initdead(ms(6000)), ms(12_000));
    assert_eq!(Timing::heartbeat_initdead(ms(8000)), ms(16_000));
    assert_eq!(Timing::heartbeat_initdead(ms(10_000)), ms(20_000));
    assert_eq!(Timing::heartbeat_initdead(ms(10_001)), ms(10_001));
}

#[test]
fn deadtime_must_be_more_than_twice_keepalive() {
    assert_eq!(
        error("keepalive 1\ndeadtime 1500ms\n"),
        "/etc/ha.d/ha.cf:4: deadtime: 1500ms must be more than twice keepalive (1s)"
    );
    assert_eq!(
        error("keepalive 1\ndeadtime 2\n"),
        "/etc/ha.d/ha.cf:4: deadtime: 2s must be more than twice keepalive (1s)"
    );
    with("keepalive 1\ndeadtime 2001ms\n");
    assert_eq!(
        error("deadtime 2ms\n"),
        "/etc/ha.d/ha.cf:3: deadtime: 2ms must be more than twice keepalive (1ms)"
    );
}

#[test]
fn keepalive_must_not_round_to_zero() {
    assert_eq!(
        error("keepalive 400us\ndeadtime 1\n"),
        "/etc/ha.d/ha.cf:3: keepalive: 0s is too short: keepalive must be at least 1ms"
    );
}

#[test]
fn initdead_must_not_be_shorter_than_deadtime() {
    assert_eq!(
        error("deadtime 30\ninitdead 20\n"),
        "/etc/ha.d/ha.cf:4: initdead: 20s must not be shorter than deadtime (30s)"
    );
}

#[test]
fn initdeadtime_is_an_alias_and_shares_the_slot() {
    let p = with("initdeadtime 30\n");
    assert_eq!(p.value.timing.initdead, ms(30_000));
    assert!(notices(&p).contains(
        &"/etc/ha.d/ha.cf:3: initdeadtime: read as initdead (the tutorial's spelling; heartbeat 3.0.6 itself only knows initdead)".to_string()
    ));
    assert_eq!(
        error("initdead 30\ninitdeadtime 30\n"),
        "/etc/ha.d/ha.cf:4: initdeadtime: already set on line 3; give it once"
    );
}

#[test]
fn short_initdead_and_odd_warntimes_are_warned_about() {
    let p = with("keepalive 100ms\ndeadtime 1\nwarntime 100ms\ninitdead 2\n");
    let n = notices(&p);
    assert!(n.contains(&"/etc/ha.d/ha.cf:5: warntime: 100ms is not longer than keepalive (100ms): nearly every heartbeat will be reported late".to_string()), "{n:#?}");
    assert!(n.contains(&"/etc/ha.d/ha.cf:6: initdead: 2s may be too short for a slow network start-up; heartbeat recommends at least 10s".to_string()), "{n:#?}");
    let p = with("deadtime 10\nwarntime 10\n");
    assert_eq!(
        notices(&p),
        [
            "/etc/ha.d/ha.cf:4: warntime: 10s is not shorter than deadtime (10s): late heartbeats will never be reported"
        ]
    );
    assert!(p.notices.iter().all(|n| n.severity == Severity::Warning));
}

#[test]
fn deadping_explicit_must_be_more_than_twice_keepalive() {
    assert_eq!(
        error("keepalive 1\ndeadtime 10\ndeadping 2\n"),
        "/etc/ha.d/ha.cf:5: deadping: 2s must be more than twice keepalive (1s)"
    );
    assert_eq!(with("deadtime 10\n").value.timing.deadping, ms(10_000));
}

#[test]
fn time_value_errors() {
    assert_eq!(
        error("keepalive 500 ms\n"),
        "/etc/ha.d/ha.cf:3: keepalive: expected one time value (2, 0.5, 500ms), found 2 values; write the unit glued to the number: 500ms"
    );
    assert_eq!(
        error("deadtime 1 2\n"),
        "/etc/ha.d/ha.cf:3: deadtime: expected one time value (2, 0.5, 500ms), found 2 values"
    );
    assert_eq!(
        error("warntime\n"),
        "/etc/ha.d/ha.cf:3: warntime: missing value: expected one time value (2, 0.5, 500ms)"
    );
    assert_eq!(
        error("deadtime 5min\n"),
        "/etc/ha.d/ha.cf:3: deadtime: \"5min\": unknown unit \"min\": write seconds as a plain number (2, 0.5), or glue ms, msec, us or usec to it (500ms)"
    );
    assert_eq!(
        error("deadtime 100000\n"),
        "/etc/ha.d/ha.cf:3: deadtime: \"100000\": too long: at most 86400s (one day)"
    );
    assert_eq!(
        error("keepalive 1\nkeepalive 2\n"),
        "/etc/ha.d/ha.cf:4: keepalive: already set on line 3; give it once"
    );
}

// ── media ────────────────────────────────────────────────────────────────────────────────

fn media(p: &Parsed<HaCf>) -> Vec<MediumKind> {
    p.value.media.iter().map(|m| m.kind.clone()).collect()
}

#[test]
fn bcast_and_its_old_alias_udp() {
    let p = ok("node a\nbcast eth0 eth1\nudp eth2\n");
    assert_eq!(
        media(&p),
        [
            MediumKind::Bcast {
                iface: "eth0".into(),
                port: 694
            },
            MediumKind::Bcast {
                iface: "eth1".into(),
                port: 694
            },
            MediumKind::Bcast {
                iface: "eth2".into(),
                port: 694
            },
        ]
    );
    assert!(
        notices(&p).contains(&"/etc/ha.d/ha.cf:3: udp: heartbeat's old name for bcast".to_string())
    );
    assert_eq!(
        error("bcast eth0/1\n"),
        "/etc/ha.d/ha.cf:3: bcast: \"eth0/1\" is not a network interface name (at most 15 characters, no '/')"
    );
    assert_eq!(
        error("bcast\n"),
        "/etc/ha.d/ha.cf:3: bcast: missing value: expected one or more interfaces"
    );
}

#[test]
fn udpport_applies_wherever_it_is_written() {
    let p = ok(
        "node a\nbcast eth0\nucast eth1 10.0.0.2\nudpport 7000\nmcast eth2 239.1.1.1 7001 1 0\n",
    );
    assert_eq!(
        media(&p),
        [
            MediumKind::Bcast {
                iface: "eth0".into(),
                port: 7000
            },
            MediumKind::Ucast {
                iface: "eth1".into(),
                peer: Ipv4Addr::new(10, 0, 0, 2),
                port: 7000
            },
            MediumKind::Mcast {
                iface: "eth2".into(),
                group: Ipv4Addr::new(239, 1, 1, 1),
                port: 7001,
                ttl: 1,
                loopback: false
            },
        ]
    );
    assert_eq!(p.value.udpport, 7000);
    assert!(notices(&p).contains(&"/etc/ha.d/ha.cf:4: udpport: applies to every bcast/ucast/ucast6 medium, also to those before it (line 2); heartbeat required udpport to come first and would have used port 694 there".to_string()), "{:#?}", notices(&p));
    // Before the media: no notice about order.
    let p = ok("udpport 7000\nnode a\nbcast eth0\n");
    assert!(!notices(&p).iter().any(|n| n.contains("udpport")));
    assert_eq!(
        error("udpport 1\nudpport 2\n"),
        "/etc/ha.d/ha.cf:4: udpport: already set on line 3; give it once"
    );
    assert_eq!(
        error("udpport x\n"),
        "/etc/ha.d/ha.cf:3: udpport: \"x\" is not a whole number"
    );
}

#[test]
fn ucast_one_or_more_peers() {
    let p = ok("node a b\nucast eth0 10.0.0.1\nucast eth0 10.0.0.2 10.0.0.3\n");
    assert_eq!(p.value.media.len(), 3);
    assert_eq!(p.value.link_names(), ["eth0"]);
    assert_eq!(p.value.media[2].line, 3);
    assert_eq!(
        error("ucast eth0\n"),
        "/etc/ha.d/ha.cf:3: ucast: missing value: expected one or more peer addresses after the interface"
    );
    assert_eq!(
        error("ucast eth0 node2\n"),
        "/etc/ha.d/ha.cf:3: ucast: \"node2\" is not an IPv4 address (host names are not resolved: the failure detector must not depend on DNS)"
    );
    assert_eq!(
        error("ucast eth0 fe80::1\n"),
        "/etc/ha.d/ha.cf:3: ucast: \"fe80::1\" is not an IPv4 address; use ucast6 for IPv6"
    );
    assert_eq!(
        error("ucast\n"),
        "/etc/ha.d/ha.cf:3: ucast: missing value: expected an interface and one or more peer addresses"
    );
}

#[test]
fn repeated_media_are_kept_once() {
    let p = with("bcast eth0\n");
    assert_eq!(p.value.media.len(), 1);
    assert!(notices(&p).contains(
        &"/etc/ha.d/ha.cf:3: bcast: the same medium is already configured on line 2".to_string()
    ));
}

#[test]
fn ucast6_with_and_without_scope() {
    let p = ok("node a\nucast6 eth0 fe80::2%eth0 2001:db8::2\n");
    assert_eq!(
        media(&p),
        [
            MediumKind::Ucast6 {
                iface: "eth0".into(),
                peer: "fe80::2".parse::<Ipv6Addr>().unwrap(),
                scope: Some("eth0".into()),
                port: 694
            },
            MediumKind::Ucast6 {
                iface: "eth0".into(),
                peer: "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
                scope: None,
                port: 694
            },
        ]
    );
    assert_eq!(
        error("ucast6 eth0 10.0.0.1\n"),
        "/etc/ha.d/ha.cf:3: ucast6: \"10.0.0.1\" is not an IPv6 address (host names are not resolved: the failure detector must not depend on DNS)"
    );
    assert_eq!(
        error("ucast6 eth0 fe80::1%\n"),
        "/etc/ha.d/ha.cf:3: ucast6: \"fe80::1%\" is not ADDRESS or ADDRESS%SCOPE with a scope after '%'"
    );
}

#[test]
fn mcast_validates_all_five_fields() {
    let p = ok("node a\nmcast eth0 225.0.0.1 694 1 0\nmcast eth1 239.0.0.1 695 255 1\n");
    assert_eq!(
        media(&p)[1],
        MediumKind::Mcast {
            iface: "eth1".into(),
            group: Ipv4Addr::new(239, 0, 0, 1),
            port: 695,
            ttl: 255,
            loopback: true
        }
    );
    let cases = [
        (
            "mcast eth0 225.0.0.1 694 1",
            "expected 5 values: interface, group, port, ttl, loop, found 4 values",
        ),
        (
            "mcast eth0 225.0.0.1 694 1 0 x",
            "expected 5 values: interface, group, port, ttl, loop, found 6 values",
        ),
        (
            "mcast eth0 10.0.0.1 694 1 0",
            "\"10.0.0.1\" is not a multicast (class D) group: 224.0.0.0 to 239.255.255.255",
        ),
        (
            "mcast eth0 ff02::1 694 1 0",
            "\"ff02::1\" is not an IPv4 multicast group; use mcast6 for IPv6",
        ),
        (
            "mcast eth0 225.0.0.1 0 1 0",
            "0 is out of range (a UDP port is 1 to 65535)",
        ),
        (
            "mcast eth0 225.0.0.1 694 256 0",
            "256 is out of range (a TTL is 0 to 255)",
        ),
        (
            "mcast eth0 225.0.0.1 694 1 2",
            "\"2\" is not a loop flag: 0 (do not deliver our own packets back to us) or 1",
        ),
        (
            "mcast eth0 225.0.0.1 694 1 yes",
            "\"yes\" is not a loop flag: 0 (do not deliver our own packets back to us) or 1",
        ),
        (
            "mcast",
            "missing value: expected 5 values: interface, group, port, ttl, loop",
        ),
    ];
    for (line, msg) in cases {
        assert_eq!(
            error(&format!("{line}\n")),
            format!("/etc/ha.d/ha.cf:3: mcast: {msg}"),
            "{line}"
        );
    }
}

#[test]
fn mcast_is_whole_line_so_commas_are_not_separators() {
    // Split on commas this would be six values; as a whole line it is five, and the
    // second one is not a group.
    assert_eq!(
        error("mcast eth0,225.0.0.1 694 1 0 1\n"),
        "/etc/ha.d/ha.cf:3: mcast: \"694\" is not an IPv4 address (host names are not resolved: the failure detector must not depend on DNS)"
    );
}

#[test]
fn mcast6() {
    let p = ok("node a\nmcast6 eth0 ff12::1 694 3 1\n");
    assert_eq!(
        media(&p),
        [MediumKind::Mcast6 {
            iface: "eth0".into(),
            group: "ff12::1".parse().unwrap(),
            port: 694,
            hops: 3,
            loopback: true
        }]
    );
    assert_eq!(
        error("mcast6 eth0 2001:db8::1 694 1 0\n"),
        "/etc/ha.d/ha.cf:3: mcast6: \"2001:db8::1\" is not an IPv6 multicast group (ff00::/8)"
    );
    assert_eq!(
        error("mcast6 eth0 ff12::1 694 300 0\n"),
        "/etc/ha.d/ha.cf:3: mcast6: 300 is out of range (a hop limit is 0 to 255)"
    );
}

#[test]
fn serial_and_baud_in_any_order() {
    let p = ok("node a\nserial /dev/ttyS0 /dev/ttyS1\nbaud 115200\n");
    assert_eq!(
        media(&p),
        [
            MediumKind::Serial {
                device: PathBuf::from("/dev/ttyS0"),
                baud: 115_200
            },
            MediumKind::Serial {
                device: PathBuf::from("/dev/ttyS1"),
                baud: 115_200
            },
        ]
    );
    assert_eq!(p.value.link_names(), ["/dev/ttyS0", "/dev/ttyS1"]);
    assert!(notices(&p).contains(&"/etc/ha.d/ha.cf:3: baud: applies to every serial medium, also to those before it (line 2); heartbeat required baud to come first".to_string()));
    assert_eq!(ok("node a\nserial /dev/ttyS0\n").value.baud, 19200);
    assert_eq!(
        error("baud 12345\n"),
        "/etc/ha.d/ha.cf:3: baud: 12345 is out of range (9600, 19200, 38400, 57600, 115200, 230400 or 460800)"
    );
    assert_eq!(
        error("baud 9600\nbaud 9600\n"),
        "/etc/ha.d/ha.cf:4: baud: already set on line 3; give it once"
    );
    assert_eq!(
        error("serial ttyS0\n"),
        "/etc/ha.d/ha.cf:3: serial: \"ttyS0\" is not an absolute path (starting with '/')"
    );
}

#[test]
fn no_media_and_no_nodes() {
    assert_eq!(
        errors("node a\n"),
        [
            "/etc/ha.d/ha.cf: no heartbeat medium is configured: add at least one bcast, mcast, mcast6, ucast, ucast6 or serial line"
        ]
    );
    assert_eq!(
        errors("bcast eth0\n"),
        [
            "/etc/ha.d/ha.cf: node: no cluster node is configured: add a line \"node NAME…\" listing every node"
        ]
    );
}

// ── nodes and ping ───────────────────────────────────────────────────────────────────────

#[test]
fn nodes_are_lower_cased_validated_and_deduplicated() {
    let p = ok("node Alpha beta\nnode alpha\nbcast eth0\n");
    assert_eq!(
        p.value
            .node_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    assert!(
        notices(&p)
            .contains(&"/etc/ha.d/ha.cf:2: node: alpha is already listed on line 1".to_string())
    );
    assert_eq!(
        error("node a/b\n"),
        "/etc/ha.d/ha.cf:3: node: \"a/b\" is not a valid name: name contains '/'; only letters, digits, '.', '_' and '-' are allowed"
    );
}

#[test]
fn local_node_must_be_listed() {
    let cf = ok(BASE).value;
    assert_eq!(cf.local_node("A").unwrap().as_str(), "a");
    assert_eq!(
        cf.local_node("c").unwrap_err().to_string(),
        "/etc/ha.d/ha.cf: node: this node's name is \"c\", but no node line lists it (listed: a, b); add \"node c\" to ha.cf, or start halod with --node NAME"
    );
    assert_eq!(
        cf.local_node("").unwrap_err().to_string(),
        "/etc/ha.d/ha.cf: node: \"\" is not a valid name: name is empty"
    );
}

#[test]
fn ping_ping6_and_ping_groups() {
    let p = with(
        "ping 10.0.0.254\nping6 2001:db8::fe\nping_group gw 10.0.0.1 10.0.0.2 2001:db8::1\ndeadping 5\n",
    );
    assert_eq!(
        p.value
            .ping_nodes
            .iter()
            .map(|s| s.value)
            .collect::<Vec<_>>(),
        [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)),
            "2001:db8::fe".parse::<IpAddr>().unwrap()
        ]
    );
    let g = &p.value.ping_groups[0];
    assert_eq!((g.name.as_str(), g.addrs.len(), g.line), ("gw", 3, 5));
    assert_eq!(p.value.timing.deadping, ms(5000));
    assert_eq!(
        error("ping 2001:db8::1\n"),
        "/etc/ha.d/ha.cf:3: ping: \"2001:db8::1\" is not an IPv4 address; use ping6 for IPv6"
    );
    assert_eq!(
        error("ping gateway\n"),
        "/etc/ha.d/ha.cf:3: ping: \"gateway\" is not an IPv4 address (host names are not resolved: the failure detector must not depend on DNS)"
    );
    assert_eq!(
        error("ping_group gw\n"),
        "/etc/ha.d/ha.cf:3: ping_group: missing value: expected one or more addresses after the group name"
    );
    assert_eq!(
        error("ping_group gw 10.0.0.1\nping_group gw 10.0.0.2\n"),
        "/etc/ha.d/ha.cf:4: ping_group: \"gw\" is already used by the ping group on line 3"
    );
    assert_eq!(
        error("ping_group a 10.0.0.1\n"),
        "/etc/ha.d/ha.cf:3: ping_group: \"a\" is already used by the node on line 1"
    );
    assert_eq!(
        errors("node a 10.0.0.1\nbcast eth0\nping 10.0.0.1\n"),
        ["/etc/ha.d/ha.cf:3: ping: \"10.0.0.1\" is already used by the node on line 1"]
    );
}

// ── logging, process, cluster ────────────────────────────────────────────────────────────

#[test]
fn logging_directives() {
    let p = with(
        "logfile /var/log/ha-log\ndebugfile /var/log/ha-debug\nlogfacility local0\nuse_logd no\ndebug 3\n",
    );
    assert_eq!(
        p.value.logging,
        Logging {
            logfile: Some("/var/log/ha-log".into()),
            debugfile: Some("/var/log/ha-debug".into()),
            facility: Some(LogFacility::Local(0)),
            use_logd: Some(false),
            debug: 3,
        }
    );
    assert_eq!(
        with("logfacility none\n").value.logging.facility,
        Some(LogFacility::None)
    );
    assert_eq!(
        with("logfacility DAEMON\n")
            .value
            .logging
            .facility
            .map(LogFacility::name),
        Some("daemon".into())
    );
    let p = with("use_logd yes\n");
    assert!(notices(&p).contains(&"/etc/ha.d/ha.cf:3: use_logd: ignored: halo has no separate logging daemon; halod writes its log itself, without ever blocking the heartbeat path".to_string()));
    assert_eq!(
        error("logfacility local8\n"),
        "/etc/ha.d/ha.cf:3: logfacility: \"local8\" is not a syslog facility (daemon, local0 … local7, …) or none"
    );
    assert_eq!(
        error("debug 256\n"),
        "/etc/ha.d/ha.cf:3: debug: 256 is out of range (a debug level is 0 to 255)"
    );
    assert_eq!(
        error("logfile ha-log\n"),
        "/etc/ha.d/ha.cf:3: logfile: \"ha-log\" is not an absolute path (starting with '/')"
    );
    assert_eq!(
        error("use_logd maybe\n"),
        "/etc/ha.d/ha.cf:3: use_logd: \"maybe\" is not a boolean (on/off, yes/no, true/false, y/n, 1/0)"
    );
}

#[test]
fn realtime_and_cluster() {
    let p = ok(BASE);
    assert!(p.value.realtime);
    assert_eq!(p.value.cluster.as_str(), "default");
    let p = with("realtime off\ncluster Prod-1\n");
    assert!(!p.value.realtime);
    assert_eq!(p.value.cluster.as_str(), "prod-1");
    assert_eq!(
        error("cluster a:b\n"),
        "/etc/ha.d/ha.cf:3: cluster: \"a:b\" is not a valid name: name contains ':'; only letters, digits, '.', '_' and '-' are allowed"
    );
}

// ── directives kept for later ────────────────────────────────────────────────────────────

#[test]
fn later_directives_are_kept_with_one_notice_each() {
    let text = "auto_failback legacy\nnice_failback off\ncrm respawn\n\
                respawn hacluster /usr/lib/heartbeat/ipfail -v\nfailfast root /bin/true\n\
                stonith baytech /etc/ha.d/conf/stonith.baytech\n\
                stonith_host * rps10 /dev/ttyS1 node2 0\nstonith_host a rps10 x\n\
                watchdog /dev/watchdog\napiauth ipfail uid=hacluster,root gid=haclient\n\
                compression bz2\ncompression_threshold 2\ntraditional_compression no\n\
                env FOO=bar,BAZ=1\nautojoin none\nrtprio 50\nmemreserve 6500\n\
                max_rexmit_delay 250\nuse_apphbd no\n";
    let p = with(text);
    let l = &p.value.later;
    assert_eq!(
        l.auto_failback.as_ref().map(|s| s.value),
        Some(AutoFailback::Legacy)
    );
    assert_eq!(l.nice_failback.as_ref().map(|s| s.value), Some(false));
    assert_eq!(
        l.pacemaker.as_ref().map(|s| s.value),
        Some(Pacemaker::Respawn)
    );
    assert_eq!(
        l.respawn[0].value,
        Child {
            user: "hacluster".into(),
            command: "/usr/lib/heartbeat/ipfail".into(),
            args: vec!["-v".into()]
        }
    );
    assert_eq!(l.failfast.len(), 1);
    assert_eq!(
        l.stonith[0].value,
        Stonith {
            kind: "baytech".into(),
            config_file: "/etc/ha.d/conf/stonith.baytech".into()
        }
    );
    assert_eq!(
        l.stonith_host[0].value,
        StonithHost {
            from: None,
            kind: "rps10".into(),
            params: vec!["/dev/ttyS1".into(), "node2".into(), "0".into()]
        }
    );
    assert_eq!(
        l.stonith_host[1].value.from.as_ref().map(|n| n.as_str()),
        Some("a")
    );
    assert_eq!(
        l.watchdog.as_ref().map(|s| s.value.clone()),
        Some("/dev/watchdog".into())
    );
    assert_eq!(
        l.apiauth[0].value,
        ApiAuth {
            client: "ipfail".into(),
            uids: vec!["hacluster".into(), "root".into()],
            gids: vec!["haclient".into()]
        }
    );
    assert_eq!(
        l.compression.as_ref().map(|s| s.value),
        Some(Compression::Bz2)
    );
    assert_eq!(
        l.compression_threshold_kb.as_ref().map(|s| s.value),
        Some(2)
    );
    assert_eq!(
        l.traditional_compression.as_ref().map(|s| s.value),
        Some(false)
    );
    assert_eq!(
        l.env.iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
        [
            ("FOO".to_string(), "bar".to_string()),
            ("BAZ".to_string(), "1".to_string())
        ]
    );
    assert_eq!(l.autojoin.as_ref().map(|s| s.value), Some(AutoJoin::None));
    assert_eq!(l.rtprio.as_ref().map(|s| s.value), Some(50));
    assert_eq!(l.memreserve_kb.as_ref().map(|s| s.value), Some(6500));
    assert_eq!(l.max_rexmit_delay.as_ref().map(|s| s.value), Some(ms(250)));
    assert_eq!(l.use_apphbd.as_ref().map(|s| s.value), Some(false));
    // One notice per line (env's line has two values but is one line), plus deadtime's,
    // except for auto_failback and crm, which the resource manager acts on.
    let n = notices(&p);
    assert_eq!(n.len(), text.lines().count() + 1 - 2, "{n:#?}");
    assert!(
        !n.iter()
            .any(|s| s.contains(": auto_failback:") || s.contains(": crm:")),
        "{n:#?}"
    );
    assert!(n.iter().any(|s| s == "/etc/ha.d/ha.cf:9: stonith_host: kept for later: halo does not act on it yet (comes with fencing)"));
}

#[test]
fn later_directive_values_are_still_validated() {
    let cases = [
        (
            "auto_failback maybe",
            "auto_failback: \"maybe\" is not on, off or legacy",
        ),
        (
            "crm sometimes",
            "crm: \"sometimes\" is not a boolean, respawn, minimal, manual, ccm-only or valgrind",
        ),
        (
            "respawn hacluster ipfail",
            "respawn: \"ipfail\" is not an absolute path (starting with '/')",
        ),
        (
            "respawn hacluster",
            "respawn: missing value: expected a user and an absolute command: USER /path/to/program [ARGS…]",
        ),
        (
            "stonith baytech",
            "stonith: expected a STONITH type and its configuration file, found 1 values",
        ),
        (
            "stonith_host *",
            "stonith_host: missing value: expected a host (or *), a STONITH type and its parameters",
        ),
        (
            "apiauth ipfail",
            "apiauth: missing value: expected uid=… and/or gid=… after the client name",
        ),
        (
            "apiauth ipfail user=x",
            "apiauth: \"user=x\" is not uid=USER[,USER…] or gid=GROUP[,GROUP…]",
        ),
        (
            "compression gzip",
            "compression: \"gzip\" is not zlib or bz2",
        ),
        (
            "env 1X=2",
            "env: \"1X=2\" is not NAME=value with NAME made of letters, digits and '_'",
        ),
        ("env FOO", "env: \"FOO\" is not NAME=value"),
        (
            "autojoin all",
            "autojoin: \"all\" is not none, other or any",
        ),
        (
            "rtprio 0",
            "rtprio: 0 is out of range (a SCHED_FIFO priority is 1 to 99)",
        ),
        (
            "watchdog /dev/watchdog\nwatchdog /dev/watchdog",
            "watchdog: already set on line 3; give it once",
        ),
    ];
    for (text, msg) in cases {
        let line = 2 + text.lines().count();
        assert_eq!(
            error(&format!("{text}\n")),
            format!("/etc/ha.d/ha.cf:{line}: {msg}"),
            "{text}"
        );
    }
    assert_eq!(
        error("crm on\npacemaker on\n"),
        "/etc/ha.d/ha.cf:4: pacemaker: already set on line 3; give it once"
    );
}

#[test]
fn heartbeat_internals_are_validated_kept_and_ignored() {
    let text = "hopfudge 1\nhbgenmethod time\nuuidfrom nodename\nconn_logd_time 60\n\
                syslogmsgfmt true\nlog_badpack false\ncoredumps true\ncoreroot /var/lib/heartbeat/cores\n\
                msgfmt netstring\nnormalpoll true\nquorum_server qs1\ncrm_daemon_dir /usr/lib/pacemaker\n\
                crmd_spawns_pengine yes\nrecord_config_changes on\nrecord_pengine_inputs on\n\
                enable_config_writes on\nhbaping fc0\n";
    let p = with(text);
    let kept: Vec<(&str, &str)> = p
        .value
        .later
        .other
        .iter()
        .map(|k| (k.directive, k.value.as_str()))
        .collect();
    assert_eq!(kept.len(), text.lines().count());
    assert_eq!(kept[0], ("hopfudge", "1"));
    assert_eq!(kept[8], ("msgfmt", "netstring"));
    assert!(notices(&p).contains(
        &"/etc/ha.d/ha.cf:11: msgfmt: ignored: halo's wire protocol is its own".to_string()
    ));
    assert_eq!(
        error("hopfudge 300\n"),
        "/etc/ha.d/ha.cf:3: hopfudge: 300 is out of range (0 to 255)"
    );
    assert_eq!(
        error("msgfmt xml\n"),
        "/etc/ha.d/ha.cf:3: msgfmt: \"xml\" is not classic or netstring"
    );
    assert_eq!(
        error("coredumps 2\n"),
        "/etc/ha.d/ha.cf:3: coredumps: \"2\" is not a boolean (on/off, yes/no, true/false, y/n, 1/0)"
    );
    assert_eq!(
        error("hopfudge 1\nhopfudge 2\n"),
        "/etc/ha.d/ha.cf:4: hopfudge: already set on line 3; give it once"
    );
}

#[test]
fn every_directive_in_the_table_is_reachable() {
    // Each directive must at least produce something other than "unknown directive".
    for name in directive_names() {
        let r = parse(&format!("{BASE}{name}\n"));
        if let Err(e) = r {
            assert!(!e.to_string().contains("unknown directive"), "{name}: {e}");
        }
    }
    // And heartbeat's whole table is covered.
    let heartbeat = [
        "cluster",
        "quorum_server",
        "node",
        "hopfudge",
        "keepalive",
        "deadtime",
        "deadping",
        "initdead",
        "warntime",
        "watchdog",
        "baud",
        "udpport",
        "logfacility",
        "logfile",
        "debugfile",
        "nice_failback",
        "auto_failback",
        "rtprio",
        "hbgenmethod",
        "realtime",
        "debug",
        "normalpoll",
        "msgfmt",
        "use_logd",
        "conn_logd_time",
        "use_apphbd",
        "log_badpack",
        "syslogmsgfmt",
        "coredumps",
        "coreroot",
        "crm_daemon_dir",
        "crmd_spawns_pengine",
        "crm",
        "pacemaker",
        "autojoin",
        "uuidfrom",
        "compression",
        "compression_threshold",
        "traditional_compression",
        "env",
        "max_rexmit_delay",
        "record_config_changes",
        "record_pengine_inputs",
        "enable_config_writes",
        "memreserve",
        "stonith",
        "stonith_host",
        "apiauth",
        "respawn",
        "failfast",
        "bcast",
        "mcast",
        "mcast6",
        "ucast",
        "ucast6",
        "serial",
        "ping",
        "ping6",
        "ping_group",
        "hbaping",
        "udp",
    ];
    let ours: Vec<&str> = directive_names().collect();
    for h in heartbeat {
        assert!(ours.contains(&h), "{h} missing");
    }
}

#[test]
fn read_names_the_file_when_it_is_missing() {
    let e = HaCf::read(Path::new("/nonexistent/ha.cf")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/ha.cf: cannot read the file: "),
        "{e}"
    );
}
