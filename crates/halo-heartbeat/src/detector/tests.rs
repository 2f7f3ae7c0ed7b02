use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;

fn n(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

const WARN: u64 = 1000;
const DEAD: u64 = 2000;
const INITDEAD: u64 = 12_000;
const DEADPING: u64 = 3000;

fn timing() -> Timing {
    Timing {
        warntime: ms(WARN),
        deadtime: ms(DEAD),
        initdead: ms(INITDEAD),
        deadping: ms(DEADPING),
    }
}

fn config(nodes: &[&str], links: &[&str]) -> DetectorConfig {
    DetectorConfig {
        local: n("me"),
        nodes: nodes.iter().map(|s| n(s)).collect(),
        links: links.iter().map(|s| LinkName::new(*s)).collect(),
        ping_nodes: vec![],
        ping_groups: vec![],
        timing: timing(),
    }
}

fn hb(from: &str, link: &str, generation: u64, status: PeerStatus) -> Heartbeat {
    Heartbeat {
        from: n(from),
        link: LinkName::new(link),
        generation: Generation(generation),
        status,
        deadtime: None,
    }
}

fn up(from: &str, link: &str) -> Heartbeat {
    hb(from, link, 1, PeerStatus::Up)
}

fn node(s: &str) -> PeerId {
    PeerId::Node(n(s))
}

fn changed(peer: &str, from: NodeState, to: NodeState, why: Why, at: u64) -> Event {
    Event::NodeChanged {
        peer: node(peer),
        from,
        to,
        why,
        at: t(at),
    }
}

fn link(peer: &str, l: &str, from: LinkState, to: LinkState, why: Why, at: u64) -> Event {
    Event::LinkChanged {
        peer: node(peer),
        link: LinkName::new(l),
        from,
        to,
        why,
        at: t(at),
    }
}

fn timeout(v: u64) -> Why {
    Why::Timeout { silent_for: ms(v) }
}

/// Ticks at every deadline up to and including `until`, like halod's timer would.
fn run_until(d: &mut Detector, until: u64) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(next) = d.next_deadline().filter(|&x| x <= t(until)) {
        events.extend(d.tick(next));
    }
    events.extend(d.tick(t(until)));
    events
}

use LinkState::{Dead as LDead, Up as LUp};
use NodeState::{Active, Dead, Init, Up};

#[test]
fn alive_then_late_at_warntime_then_dead_at_deadtime() {
    let mut d = Detector::new(config(&["me", "b"], &["eth0"]), t(0));
    assert_eq!(
        d.heartbeat(t(100), &up("b", "eth0")),
        [
            changed("b", Init, Up, Why::FirstHeard, 100),
            link("b", "eth0", LDead, LUp, Why::FirstHeard, 100),
            Event::CommUp { at: t(100) },
        ]
    );
    assert_eq!(d.next_deadline(), Some(t(100 + WARN)));
    assert!(d.tick(t(100 + WARN - 1)).is_empty());
    assert_eq!(
        d.tick(t(100 + WARN)),
        [Event::Late {
            peer: node("b"),
            link: None,
            last_heard: t(100),
            at: t(1100)
        }]
    );
    assert_eq!(d.next_deadline(), Some(t(100 + DEAD)));
    assert!(d.tick(t(100 + DEAD - 1)).is_empty());
    assert_eq!(
        d.tick(t(100 + DEAD)),
        [
            link("b", "eth0", LUp, LDead, timeout(DEAD), 2100),
            changed("b", Up, Dead, timeout(DEAD), 2100),
        ]
    );
    assert_eq!(d.next_deadline(), None);
    assert_eq!(d.state(&node("b")), Some(Dead));
}

#[test]
fn events_carry_the_deadline_not_the_tick_time() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(100), &up("b", "eth0"));
    // A timer served very late still reports the exact instants.
    let e = d.tick(t(60_000));
    let ats: Vec<Timestamp> = e.iter().map(Event::at).collect();
    assert_eq!(ats, [t(1100), t(2100), t(2100)]);
}

#[test]
fn initdead_until_first_heard_then_comm_up() {
    let mut d = Detector::new(config(&["me", "b", "c"], &["eth0"]), t(0));
    assert_eq!(d.comm_up(), None);
    d.heartbeat(t(50), &up("b", "eth0"));
    assert_eq!(d.comm_up(), None, "c is neither heard nor dead");
    // b, heard, is on deadtime; c, never heard, on initdead.
    let e = run_until(&mut d, INITDEAD);
    assert_eq!(
        e,
        [
            Event::Late {
                peer: node("b"),
                link: None,
                last_heard: t(50),
                at: t(1050)
            },
            link("b", "eth0", LUp, LDead, timeout(DEAD), 2050),
            changed("b", Up, Dead, timeout(DEAD), 2050),
            changed(
                "c",
                Init,
                Dead,
                Why::NeverHeard {
                    initdead: ms(INITDEAD)
                },
                INITDEAD
            ),
            Event::CommUp { at: t(INITDEAD) },
        ]
    );
    assert_eq!(d.state(&node("me")), Some(Active));
    // c shows up late: first heard, not "returned".
    assert_eq!(
        d.heartbeat(t(20_000), &up("c", "eth0"))[0],
        changed("c", Dead, Up, Why::FirstHeard, 20_000)
    );
}

#[test]
fn a_peer_never_heard_is_not_dead_one_ms_before_initdead() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(500));
    assert_eq!(d.next_deadline(), Some(t(500 + INITDEAD)));
    assert!(run_until(&mut d, 500 + INITDEAD - 1).is_empty());
    assert_eq!(d.state(&node("b")), Some(Init));
    assert_eq!(d.state(&node("me")), Some(Up));
    assert_eq!(d.tick(t(500 + INITDEAD)).len(), 2);
}

#[test]
fn advertised_deadtime_is_used() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    let mut beat = up("b", "eth0");
    beat.deadtime = Some(ms(5000));
    d.heartbeat(t(100), &beat);
    let e = run_until(&mut d, 10_000);
    assert_eq!(
        e,
        [
            Event::Late {
                peer: node("b"),
                link: None,
                last_heard: t(100),
                at: t(1100)
            },
            link("b", "eth0", LUp, LDead, timeout(5000), 5100),
            changed("b", Up, Dead, timeout(5000), 5100),
        ]
    );
    // An advertised deadtime shorter than warntime: no late warning, just death.
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    beat.deadtime = Some(ms(500));
    d.heartbeat(t(100), &beat);
    let e = run_until(&mut d, 10_000);
    assert_eq!(
        e,
        [
            link("b", "eth0", LUp, LDead, timeout(500), 600),
            changed("b", Up, Dead, timeout(500), 600),
        ]
    );
    // Zero means "not advertised".
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    beat.deadtime = Some(Duration::ZERO);
    d.heartbeat(t(100), &beat);
    assert_eq!(d.snapshot(t(100)).peers[1].deadtime, ms(DEAD));
}

#[test]
fn a_node_stays_alive_while_one_of_two_links_lives() {
    let mut d = Detector::new(config(&["b"], &["eth0", "eth1"]), t(0));
    d.heartbeat(t(0), &up("b", "eth0"));
    d.heartbeat(t(0), &up("b", "eth1"));
    // From now on only eth1 carries heartbeats, every 500 ms.
    let mut events = Vec::new();
    for k in 1..=10u64 {
        events.extend(run_until(&mut d, k * 500 - 1));
        events.extend(d.heartbeat(t(k * 500), &up("b", "eth1")));
    }
    assert_eq!(
        events,
        [
            Event::Late {
                peer: node("b"),
                link: Some(LinkName::new("eth0")),
                last_heard: t(0),
                at: t(WARN)
            },
            link("b", "eth0", LUp, LDead, timeout(DEAD), DEAD),
        ]
    );
    assert_eq!(d.state(&node("b")), Some(Up));
    // eth0 comes back.
    assert_eq!(
        d.heartbeat(t(5200), &up("b", "eth0")),
        [link("b", "eth0", LDead, LUp, Why::Heard, 5200)]
    );
    let s = d.snapshot(t(5200));
    let b = &s.peers[1];
    assert_eq!(
        b.links.iter().map(|l| l.state).collect::<Vec<_>>(),
        [LUp, LUp]
    );
}

#[test]
fn a_late_link_is_reported_on_its_own_only_while_the_node_is_heard() {
    let mut d = Detector::new(config(&["b"], &["eth0", "eth1"]), t(0));
    d.heartbeat(t(0), &up("b", "eth0"));
    d.heartbeat(t(0), &up("b", "eth1"));
    d.heartbeat(t(600), &up("b", "eth1"));
    // Deadlines that passed before an arrival are served by the arrival itself.
    assert_eq!(
        d.heartbeat(t(1200), &up("b", "eth1")),
        [Event::Late {
            peer: node("b"),
            link: Some(LinkName::new("eth0")),
            last_heard: t(0),
            at: t(WARN)
        }]
    );
    assert!(run_until(&mut d, 1499).is_empty());
    assert_eq!(
        d.heartbeat(t(1500), &up("b", "eth0")),
        [Event::LateHeartbeat {
            peer: node("b"),
            link: LinkName::new("eth0"),
            whole_peer: false,
            interval: ms(1500),
            at: t(1500)
        }]
    );
    // eth1 (last heard 1200) is late at 2200 while b is still fresh from eth0 at 1500;
    // at 2500 b as a whole is late, and eth0's lateness at that same instant is not
    // reported separately.
    let e = run_until(&mut d, 2600);
    assert_eq!(
        e,
        [
            Event::Late {
                peer: node("b"),
                link: Some(LinkName::new("eth1")),
                last_heard: t(1200),
                at: t(2200)
            },
            Event::Late {
                peer: node("b"),
                link: None,
                last_heard: t(1500),
                at: t(2500)
            },
        ]
    );
    let e = d.heartbeat(t(2700), &up("b", "eth1"));
    assert_eq!(
        e,
        [Event::LateHeartbeat {
            peer: node("b"),
            link: LinkName::new("eth1"),
            whole_peer: true,
            interval: ms(1200),
            at: t(2700)
        }]
    );
    assert_eq!(e[0].to_string(), "Late heartbeat: Node b: interval 1200 ms");
    let s = d.snapshot(t(2700));
    assert_eq!(s.peers[1].late_count, 1);
    assert_eq!(
        s.peers[1]
            .links
            .iter()
            .map(|l| l.late_count)
            .collect::<Vec<_>>(),
        [1, 1]
    );
}

#[test]
fn a_heartbeat_exactly_at_the_deadline_wins() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &up("b", "eth0"));
    d.tick(t(WARN));
    let e = d.heartbeat(t(DEAD), &up("b", "eth0"));
    assert!(
        e.iter()
            .all(|e| !matches!(e, Event::NodeChanged { to: Dead, .. })),
        "{e:?}"
    );
    assert_eq!(d.state(&node("b")), Some(Up));
    // One ms later it would have been dead.
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &up("b", "eth0"));
    let e = d.heartbeat(t(DEAD + 1), &up("b", "eth0"));
    assert_eq!(
        e,
        [
            Event::Late {
                peer: node("b"),
                link: None,
                last_heard: t(0),
                at: t(WARN)
            },
            link("b", "eth0", LUp, LDead, timeout(DEAD), DEAD),
            changed("b", Up, Dead, timeout(DEAD), DEAD),
            changed("b", Dead, Up, Why::Returned, DEAD + 1),
            link("b", "eth0", LDead, LUp, Why::Heard, DEAD + 1),
        ]
    );
}

#[test]
fn status_up_then_active() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &up("b", "eth0"));
    assert_eq!(
        d.heartbeat(t(200), &hb("b", "eth0", 1, PeerStatus::Active)),
        [changed("b", Up, Active, Why::Status, 200)]
    );
    assert!(
        d.heartbeat(t(400), &hb("b", "eth0", 1, PeerStatus::Active))
            .is_empty()
    );
    // A node heard first as active goes straight there.
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    let e = d.heartbeat(t(0), &hb("b", "eth0", 1, PeerStatus::Active));
    assert_eq!(e[0], changed("b", Init, Active, Why::FirstHeard, 0));
}

#[test]
fn clean_leave_is_not_a_death_by_timeout() {
    let mut d = Detector::new(config(&["b"], &["eth0", "eth1"]), t(0));
    d.heartbeat(t(0), &hb("b", "eth0", 7, PeerStatus::Active));
    d.heartbeat(t(0), &hb("b", "eth1", 7, PeerStatus::Active));
    assert_eq!(
        d.left(t(300), &n("b"), Generation(7)),
        [
            link("b", "eth0", LUp, LDead, Why::Left, 300),
            link("b", "eth1", LUp, LDead, Why::Left, 300),
            changed("b", Active, Dead, Why::Left, 300),
        ]
    );
    assert_eq!(d.next_deadline(), None, "nothing left to time out");
    // A heartbeat of the same incarnation still in flight does not bring it back.
    assert!(
        d.heartbeat(t(310), &hb("b", "eth1", 7, PeerStatus::Active))
            .is_empty()
    );
    assert_eq!(d.state(&node("b")), Some(Dead));
    // Its restart does.
    assert_eq!(
        d.heartbeat(t(5000), &hb("b", "eth0", 8, PeerStatus::Up)),
        [
            Event::Restarted {
                node: n("b"),
                from: Generation(7),
                to: Generation(8),
                at: t(5000)
            },
            changed("b", Dead, Up, Why::Restarted, 5000),
            link("b", "eth0", LDead, LUp, Why::Heard, 5000),
        ]
    );
}

#[test]
fn a_restart_within_deadtime_is_an_event() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &hb("b", "eth0", 3, PeerStatus::Active));
    let e = d.heartbeat(t(500), &hb("b", "eth0", 4, PeerStatus::Up));
    assert_eq!(
        e,
        [
            Event::Restarted {
                node: n("b"),
                from: Generation(3),
                to: Generation(4),
                at: t(500)
            },
            changed("b", Active, Up, Why::Restarted, 500),
        ]
    );
    assert_eq!(
        e[0].to_string(),
        "Heartbeat restart on node b (generation 3 -> 4)"
    );
    // An older generation afterwards is stale: ignored, and it does not keep b alive.
    assert!(
        d.heartbeat(t(1000), &hb("b", "eth0", 3, PeerStatus::Active))
            .is_empty()
    );
    let e = run_until(&mut d, 2500);
    assert_eq!(e.last(), Some(&changed("b", Up, Dead, timeout(DEAD), 2500)));
}

#[test]
fn a_leave_of_an_older_incarnation_is_ignored() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &hb("b", "eth0", 5, PeerStatus::Active));
    assert!(d.left(t(10), &n("b"), Generation(4)).is_empty());
    assert_eq!(d.state(&node("b")), Some(Active));
    assert!(d.left(t(10), &n("nobody"), Generation(4)).is_empty());
    assert!(d.left(t(10), &n("me"), Generation(4)).is_empty());
}

#[test]
fn a_leave_before_being_heard_counts_for_comm_up() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    assert_eq!(
        d.left(t(100), &n("b"), Generation(1)),
        [
            changed("b", Init, Dead, Why::Left, 100),
            Event::CommUp { at: t(100) }
        ]
    );
}

#[test]
fn ping_nodes_use_deadping() {
    let mut c = config(&["b"], &["eth0"]);
    let gw = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
    c.ping_nodes = vec![gw];
    let mut d = Detector::new(c, t(0));
    let e = d.ping_reply(t(100), gw);
    assert_eq!(
        e,
        [
            Event::NodeChanged {
                peer: PeerId::Ping(gw),
                from: Init,
                to: NodeState::Ping,
                why: Why::FirstHeard,
                at: t(100)
            },
            Event::LinkChanged {
                peer: PeerId::Ping(gw),
                link: LinkName::new("10.0.0.254"),
                from: LDead,
                to: LUp,
                why: Why::FirstHeard,
                at: t(100)
            },
        ]
    );
    d.heartbeat(t(100), &up("b", "eth0"));
    let e: Vec<Event> = run_until(&mut d, 20_000)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::NodeChanged {
                    peer: PeerId::Ping(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        e,
        [Event::NodeChanged {
            peer: PeerId::Ping(gw),
            from: NodeState::Ping,
            to: Dead,
            why: timeout(DEADPING),
            at: t(100 + DEADPING)
        }]
    );
    // A reply from an address we do not ping changes nothing.
    assert!(
        d.ping_reply(t(20_001), IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)))
            .is_empty()
    );
}

#[test]
fn a_ping_group_is_alive_while_any_member_answers() {
    let a1 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let a2 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let mut c = config(&[], &[]);
    c.ping_groups = vec![(n("gw"), vec![a1, a2])];
    c.ping_nodes = vec![a1];
    let mut d = Detector::new(c, t(0));
    let gw = PeerId::PingGroup(n("gw"));
    // a1 answers until 1000, a2 until 4000.
    let mut e = Vec::new();
    for k in 0..=8u64 {
        e.extend(run_until(&mut d, k * 500));
        if k * 500 <= 1000 {
            e.extend(d.ping_reply(t(k * 500), a1));
        }
        e.extend(d.ping_reply(t(k * 500), a2));
    }
    e.extend(run_until(&mut d, 20_000));
    let group: Vec<(NodeState, NodeState, Timestamp)> = e
        .iter()
        .filter_map(|e| match e {
            Event::NodeChanged {
                peer, from, to, at, ..
            } if *peer == gw => Some((*from, *to, *at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        group,
        [
            (Init, NodeState::Ping, t(0)),
            (NodeState::Ping, Dead, t(4000 + DEADPING))
        ]
    );
    // Its member a1 died long before, as a link of the group and as a ping node.
    let a1_link_dead = e.iter().find_map(|e| match e {
        Event::LinkChanged {
            peer,
            link,
            to: LDead,
            at,
            ..
        } if *peer == gw && link.as_str() == "10.0.0.1" => Some(*at),
        _ => None,
    });
    assert_eq!(a1_link_dead, Some(t(1000 + DEADPING)));
    assert_eq!(d.state(&PeerId::Ping(a1)), Some(Dead));
}

#[test]
fn own_links_come_up_from_looped_back_packets_and_the_local_node_never_dies() {
    let mut d = Detector::new(config(&["me", "b"], &["eth0", "eth1"]), t(0));
    assert_eq!(
        d.heartbeat(t(10), &up("me", "eth0")),
        [Event::LinkChanged {
            peer: node("me"),
            link: LinkName::new("eth0"),
            from: LDead,
            to: LUp,
            why: Why::FirstHeard,
            at: t(10)
        }]
    );
    let e = run_until(&mut d, 100_000);
    assert!(e.contains(&link("me", "eth0", LUp, LDead, timeout(DEAD), 2010)));
    assert!(
        !e.iter()
            .any(|e| matches!(e, Event::NodeChanged { peer, .. } if *peer == node("me")))
    );
    assert!(
        !e.iter()
            .any(|e| matches!(e, Event::Late { peer, .. } if *peer == node("me")))
    );
    assert_eq!(
        d.state(&node("me")),
        Some(Active),
        "comm came up when b was declared dead"
    );
}

#[test]
fn unknown_nodes_are_reported_once() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    assert_eq!(
        d.heartbeat(t(1), &up("x", "eth0")),
        [Event::UnknownNode {
            node: n("x"),
            link: LinkName::new("eth0"),
            at: t(1)
        }]
    );
    assert!(d.heartbeat(t(2), &up("x", "eth0")).is_empty());
}

#[test]
fn links_not_configured_are_added_when_heard() {
    let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
    d.heartbeat(t(0), &up("b", "serial0"));
    let s = d.snapshot(t(0));
    let names: Vec<&str> = s.peers[1].links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["eth0", "serial0"]);
}

#[test]
fn snapshot_for_status() {
    let mut c = config(&["me", "b", "c"], &["eth0", "eth1"]);
    c.ping_nodes = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254))];
    let mut d = Detector::new(c, t(0));
    d.heartbeat(t(100), &hb("b", "eth1", 9, PeerStatus::Active));
    let s = d.snapshot(t(150));
    assert_eq!(s.at, t(150));
    assert_eq!(s.comm_up, None);
    let names: Vec<String> = s.peers.iter().map(|p| p.peer.to_string()).collect();
    assert_eq!(names, ["me", "b", "c", "10.0.0.254"]);
    let b = &s.peers[1];
    assert_eq!(
        (
            b.state,
            b.generation,
            b.last_heard,
            b.late,
            b.late_count,
            b.deadtime
        ),
        (
            Active,
            Some(Generation(9)),
            Some(t(100)),
            false,
            0,
            ms(DEAD)
        )
    );
    assert_eq!(
        b.links,
        [
            LinkSnapshot {
                name: LinkName::new("eth0"),
                state: LDead,
                last_heard: None,
                late_count: 0
            },
            LinkSnapshot {
                name: LinkName::new("eth1"),
                state: LUp,
                last_heard: Some(t(100)),
                late_count: 0
            },
        ]
    );
    let c = &s.peers[2];
    assert_eq!((c.state, c.deadtime), (Init, ms(INITDEAD)));
    assert_eq!(s.peers[0].state, Up);
    assert_eq!(s.peers[3].deadtime, ms(INITDEAD));
}

#[test]
fn a_single_node_cluster_comes_up_at_once() {
    let mut d = Detector::new(config(&["me"], &["eth0"]), t(5));
    assert_eq!(d.next_deadline(), Some(t(5)));
    assert_eq!(d.tick(t(5)), [Event::CommUp { at: t(5) }]);
    assert_eq!(d.next_deadline(), None);
}

#[test]
fn events_read_like_heartbeat_log_lines() {
    assert_eq!(
        changed("b", Up, Dead, timeout(2000), 1).to_string(),
        "node b: is dead (silent for 2000 ms)"
    );
    assert_eq!(
        link("b", "eth0", LUp, LDead, Why::Left, 1).to_string(),
        "Link b:eth0 dead (left the cluster)"
    );
    assert_eq!(
        Event::Late {
            peer: node("b"),
            link: None,
            last_heard: t(0),
            at: t(1000)
        }
        .to_string(),
        "node b: no heartbeat for 1000 ms"
    );
}

// ── properties ───────────────────────────────────────────────────────────────────────────

/// Arrival times with gaps strictly shorter than `max_gap`.
fn arrivals(max_gap: u64, n: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(1..max_gap, 1..n).prop_map(|gaps| {
        gaps.iter()
            .scan(0u64, |acc, g| {
                *acc += g;
                Some(*acc)
            })
            .collect()
    })
}

proptest! {
    /// Never dead while heard within deadtime, however often ticks come.
    #[test]
    fn never_dead_while_heard_within_deadtime(times in arrivals(DEAD, 60), tick_every in 1u64..700) {
        let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
        let mut next_tick = tick_every;
        for &a in &times {
            while next_tick < a {
                for e in d.tick(t(next_tick)) {
                    prop_assert!(!matches!(e, Event::NodeChanged { to: Dead, .. }), "{e:?} at tick {next_tick}");
                }
                next_tick += tick_every;
            }
            for e in d.heartbeat(t(a), &up("b", "eth0")) {
                prop_assert!(!matches!(e, Event::NodeChanged { to: Dead, .. }), "{e:?}");
            }
        }
    }

    /// Always dead by deadtime + the tick granularity, and the event says exactly when.
    #[test]
    fn always_dead_by_deadtime_plus_tick_granularity(times in arrivals(DEAD, 30), tick_every in 1u64..500) {
        let mut d = Detector::new(config(&["b"], &["eth0"]), t(0));
        for &a in &times {
            d.heartbeat(t(a), &up("b", "eth0"));
        }
        let last = *times.last().unwrap_or(&0);
        let mut now = last;
        let death = loop {
            now += tick_every;
            let found = d.tick(t(now)).into_iter().find_map(|e| match e {
                Event::NodeChanged { to: Dead, at, why, .. } => Some((at, why)),
                _ => None,
            });
            if let Some(found) = found {
                break found;
            }
            prop_assert!(now <= last + DEAD + tick_every, "not dead at {now}");
        };
        prop_assert_eq!(death, (t(last + DEAD), timeout(DEAD)));
        prop_assert!(now < last + DEAD + tick_every);
    }

    /// With two links, a node is dead exactly when both links are; and every link event
    /// happens at last-heard-on-that-link + deadtime.
    #[test]
    fn alive_while_any_link_is(
        events in prop::collection::vec((0u64..3000, any::<bool>()), 1..40),
    ) {
        let mut sorted = events.clone();
        sorted.sort();
        let mut d = Detector::new(config(&["b"], &["eth0", "eth1"]), t(0));
        let mut last = [None::<u64>; 2];
        let mut all = Vec::new();
        for (at, second) in sorted {
            let l = usize::from(second);
            all.extend(d.heartbeat(t(at), &up("b", ["eth0", "eth1"][l])));
            last[l] = Some(at);
            let s = d.snapshot(t(at));
            let b = &s.peers[1];
            prop_assert_ne!(b.state, Dead);
        }
        all.extend(run_until(&mut d, 10_000));
        let s = d.snapshot(t(10_000));
        prop_assert_eq!(s.peers[1].state, Dead);
        prop_assert!(s.peers[1].links.iter().all(|l| l.state == LDead));
        let node_death = all.iter().rev().find_map(|e| match e {
            Event::NodeChanged { to: Dead, at, .. } => Some(*at),
            _ => None,
        });
        let newest = last.iter().flatten().max().copied().unwrap_or(0);
        prop_assert_eq!(node_death, Some(t(newest + DEAD)));
        for (i, name) in ["eth0", "eth1"].iter().enumerate() {
            let link_death = all.iter().rev().find_map(|e| match e {
                Event::LinkChanged { link, to: LDead, at, .. } if link.as_str() == *name => Some(*at),
                _ => None,
            });
            prop_assert_eq!(link_death, last[i].map(|l| t(l + DEAD)));
        }
    }

}

proptest! {
    // Each case ticks every millisecond for up to a minute of simulated time.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ticking at next_deadline() and ticking every millisecond give the same events.
    #[test]
    fn next_deadline_is_enough(times in arrivals(3000, 15)) {
        let mut a = Detector::new(config(&["b", "c"], &["eth0"]), t(0));
        let mut b = a.clone();
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        let mut now = 0;
        for &at in &times {
            ea.extend(run_until(&mut a, at - 1));
            while now < at {
                eb.extend(b.tick(t(now)));
                now += 1;
            }
            ea.extend(a.heartbeat(t(at), &up("b", "eth0")));
            eb.extend(b.heartbeat(t(at), &up("b", "eth0")));
        }
        let end = times.last().copied().unwrap_or(0) + INITDEAD + 10;
        ea.extend(run_until(&mut a, end));
        while now <= end {
            eb.extend(b.tick(t(now)));
            now += 1;
        }
        prop_assert_eq!(ea, eb);
    }
}
