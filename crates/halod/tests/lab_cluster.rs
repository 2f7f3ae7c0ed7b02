//! halod on the lab: real daemons in network namespaces, real UDP over bridges without
//! uplink, a serial line over a pty pair, nftables cuts and loss, and the real `halo`
//! command run on the hosts.
//!
//! Every test waits for conditions with generous deadlines and never asserts timings
//! (timings are figures for `halo-bench`, see BENCHMARKS.md). The timing is the fast
//! preset, keepalive 100 ms / deadtime 500 ms, unless a test says why not.
//!
//! Needs root and the lab's tools (`scripts/setup`), and the `halo` binary next to
//! `halod` in the target directory (`cargo build --workspace`, as `scripts/test` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use halo_bench::cluster::{HaloCluster, counter, link_state, peer_state};
use halo_bench::config::{HaCf, Timing, authkeys, random_secret};
use halo_bench::watch::{EventStream, Stamped};
use halo_ipc::Event;
use halo_lab::{Lab, LabSpec, LossTarget, Port};
use halo_types::{LinkState, NodeState};

mod common;

use common::{LIMIT, cluster, wait_all_active, wait_link, wait_peer, wait_status};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const SERIAL: &str = "/run/halo-lab/ttyS0";
/// The ping host's address on bridge 0.
const PING: &str = "10.213.0.201";

/// The issue's lab: 3 nodes on 2 bridges, a serial line between node1 and node2, and a
/// ping host.
fn three_node_lab() -> Lab {
    Lab::create(
        &LabSpec::new()
            .hosts(3)
            .bridges(2)
            .serial("node1", "node2")
            .ping_host("ping1"),
    )
    .unwrap()
}

/// Configure the three nodes (broadcast on both bridges, the serial line on node1 and
/// node2, the ping host on all) with one shared key, start them, and wait until each
/// sees all three active.
fn start_three(c: &HaloCluster<'_>) {
    let key = authkeys("sha256", &random_secret());
    for h in NODES {
        let mut cf = HaCf::new(Timing::FAST, &NODES)
            .line("bcast eth0 eth1")
            .line(format!("ping {PING}"));
        if h != "node3" {
            cf = cf.line(format!("serial {SERIAL}"));
        }
        c.configure(h, &cf.render(), &key).unwrap();
    }
    for h in NODES {
        c.start(h).unwrap();
    }
    wait_all_active(c, &NODES);
}

/// Node events of `peer` recorded by `stream`.
fn node_events(stream: &EventStream, peer: &str) -> Vec<(NodeState, NodeState, String)> {
    stream
        .recorder()
        .items()
        .into_iter()
        .filter_map(|Stamped { item, .. }| match item {
            Event::Node {
                node,
                from,
                to,
                reason,
            } if node == peer => Some((from, to, reason.unwrap_or_default())),
            _ => None,
        })
        .collect()
}

/// Wait for a node event of `peer` on `stream` that `pred` accepts.
fn wait_node_event(
    stream: &EventStream,
    peer: &str,
    pred: impl Fn(NodeState, NodeState, &str) -> bool,
) -> (NodeState, NodeState, String) {
    let got = stream.recorder().wait_for(LIMIT, |s| match &s.item {
        Event::Node {
            node,
            from,
            to,
            reason,
        } => node == peer && pred(*from, *to, reason.as_deref().unwrap_or("")),
        _ => false,
    });
    match got.map(|s| s.item) {
        Some(Event::Node {
            from, to, reason, ..
        }) => (from, to, reason.unwrap_or_default()),
        _ => panic!(
            "no such event for {peer} on {}; events: {:?}",
            stream.socket().display(),
            stream.recorder().items()
        ),
    }
}

fn assert_no_death(streams: &[(&str, EventStream)]) {
    for (h, s) in streams {
        for item in s.recorder().items() {
            if let Event::Node {
                to: NodeState::Dead,
                ..
            } = &item.item
            {
                panic!("{h} declared a node dead: {:?}", item.item);
            }
        }
    }
}

#[test]
fn lab_three_nodes_become_active_and_a_bridge_cut_kills_only_that_link() -> TestResult {
    let lab = three_node_lab();
    let c = cluster(&lab);
    start_three(&c);
    for h in NODES {
        for p in NODES.iter().filter(|p| **p != h) {
            for link in ["eth0", "eth1"] {
                wait_link(&c, h, p, link, LinkState::Up);
            }
        }
    }
    wait_link(&c, "node1", "node2", SERIAL, LinkState::Up);
    wait_link(&c, "node2", "node1", SERIAL, LinkState::Up);
    let streams: Vec<(&str, EventStream)> =
        NODES.iter().map(|h| (*h, c.watch(h).unwrap())).collect();

    // Bridge 1 dies: every port on it drops everything.
    lab.update_faults(|f| {
        f.cut.extend(NODES.iter().map(|h| Port {
            node: (*h).to_owned(),
            bridge: 1,
        }))
    })?;
    for h in NODES {
        for p in NODES.iter().filter(|p| **p != h) {
            wait_link(&c, h, p, "eth1", LinkState::Dead);
        }
    }
    for h in NODES {
        let s = c.halo_status(h)?;
        for p in NODES {
            assert_eq!(
                peer_state(&s, p),
                Some(NodeState::Active),
                "{h} sees {p}: {s:#?}"
            );
        }
        for p in NODES.iter().filter(|p| **p != h) {
            assert_eq!(
                link_state(&s, p, "eth0"),
                Some(LinkState::Up),
                "{h}: {s:#?}"
            );
        }
    }
    // `halo links` shows it to the administrator.
    let links = String::from_utf8(c.halo("node1", &["links"])?.stdout)?;
    assert!(
        links
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["node2", "eth1", "dead"]),
        "{links}"
    );
    // The watchers saw the link go, and nobody was declared dead.
    for (h, s) in &streams {
        for p in NODES.iter().filter(|p| *p != h) {
            let seen = s.recorder().wait_for(LIMIT, |e| {
                e.item
                    == Event::Link {
                        node: (*p).to_owned(),
                        link: "eth1".into(),
                        state: LinkState::Dead,
                    }
            });
            assert!(seen.is_some(), "{h} streamed no link event for {p}/eth1");
        }
    }
    assert_no_death(&streams);

    lab.heal_all()?;
    for h in NODES {
        for p in NODES.iter().filter(|p| **p != h) {
            wait_link(&c, h, p, "eth1", LinkState::Up);
        }
    }
    assert_no_death(&streams);
    Ok(())
}

#[test]
fn lab_cut_node_is_dead_to_the_others_and_returns_when_healed() -> TestResult {
    let lab = three_node_lab();
    let c = cluster(&lab);
    start_three(&c);
    let w1 = c.watch("node1")?;

    lab.cut("node3")?;
    for h in ["node1", "node2"] {
        wait_peer(&c, h, "node3", NodeState::Dead);
    }
    for p in ["node1", "node2"] {
        wait_peer(&c, "node3", p, NodeState::Dead);
    }
    let (from, _, reason) = wait_node_event(&w1, "node3", |_, to, _| to == NodeState::Dead);
    assert_eq!(from, NodeState::Active);
    assert!(reason.contains("silent"), "a cut is a timeout: {reason}");
    for h in ["node1", "node2"] {
        let s = c.halo_status(h)?;
        assert_eq!(peer_state(&s, "node1"), Some(NodeState::Active), "{s:#?}");
        assert_eq!(peer_state(&s, "node2"), Some(NodeState::Active), "{s:#?}");
    }
    lab.heal("node3")?;
    wait_all_active(&c, &NODES);

    // node1 off both bridges: the serial line keeps it alive for node2, not for node3.
    lab.cut("node1")?;
    wait_peer(&c, "node3", "node1", NodeState::Dead);
    wait_link(&c, "node2", "node1", "eth0", LinkState::Dead);
    wait_link(&c, "node2", "node1", "eth1", LinkState::Dead);
    let s = c.halo_status("node2")?;
    assert_eq!(peer_state(&s, "node1"), Some(NodeState::Active), "{s:#?}");
    assert_eq!(
        link_state(&s, "node1", SERIAL),
        Some(LinkState::Up),
        "{s:#?}"
    );
    lab.heal("node1")?;
    wait_all_active(&c, &NODES);

    // The ping node: `ping` while it answers, dead when cut, back when healed.
    for h in NODES {
        wait_peer(&c, h, PING, NodeState::Ping);
    }
    lab.cut("ping1")?;
    for h in NODES {
        wait_peer(&c, h, PING, NodeState::Dead);
    }
    lab.heal("ping1")?;
    for h in NODES {
        wait_peer(&c, h, PING, NodeState::Ping);
    }
    Ok(())
}

#[test]
fn lab_sigterm_is_seen_as_a_clean_leave_not_a_death() -> TestResult {
    let lab = three_node_lab();
    let c = cluster(&lab);
    start_three(&c);
    let streams = [("node1", c.watch("node1")?), ("node3", c.watch("node3")?)];

    let status = c.stop("node2", LIMIT)?;
    assert!(status.success(), "halod exits 0 after SIGTERM: {status}");
    for (h, s) in &streams {
        let (from, _, reason) = wait_node_event(s, "node2", |_, to, _| to == NodeState::Dead);
        assert_eq!(from, NodeState::Active, "{h}");
        assert!(
            reason.contains("left"),
            "{h}: a leave, not a timeout: {reason}"
        );
        wait_peer(&c, h, "node2", NodeState::Dead);
    }
    for (h, s) in &streams {
        let timeouts: Vec<_> = node_events(s, "node2")
            .into_iter()
            .filter(|(_, _, r)| r.contains("silent"))
            .collect();
        assert!(timeouts.is_empty(), "{h}: {timeouts:?}");
    }
    Ok(())
}

#[test]
fn lab_restarted_node_is_seen_with_a_higher_generation() -> TestResult {
    let lab = three_node_lab();
    let c = cluster(&lab);
    start_three(&c);
    let before = c.halo_status("node2")?.generation;
    let w1 = c.watch("node1")?;

    c.kill("node2")?;
    c.start("node2")?;
    c.wait_serving("node2", LIMIT)?;
    let after = c.halo_status("node2")?.generation;
    assert!(after > before, "generation {before} -> {after}");
    let (_, _, reason) = wait_node_event(&w1, "node2", |_, _, r| r.starts_with("restarted"));
    assert_eq!(
        reason,
        format!("restarted (generation {before} -> {after})")
    );
    wait_all_active(&c, &NODES);
    for h in ["node1", "node3"] {
        let s = c.halo_status(h)?;
        let seen = s.nodes.iter().find(|n| n.name == "node2").unwrap();
        assert_eq!(seen.generation, Some(after), "{h}: {s:#?}");
    }
    Ok(())
}

#[test]
fn lab_node_with_a_wrong_key_is_never_accepted_and_its_packets_are_rejected() -> TestResult {
    let lab = three_node_lab();
    let c = cluster(&lab);
    let good = authkeys("sha256", &random_secret());
    let wrong = authkeys("sha256", &random_secret());
    for h in NODES {
        let cf = HaCf::new(Timing::FAST, &NODES).line("bcast eth0 eth1");
        c.configure(h, &cf.render(), if h == "node3" { &wrong } else { &good })?;
    }
    c.start("node1")?;
    c.start("node2")?;
    wait_peer(&c, "node1", "node2", NodeState::Up);
    let streams = [("node1", c.watch("node1")?), ("node2", c.watch("node2")?)];
    c.start("node3")?;

    // Enough of node3's packets arrive and are rejected (10 a second per link).
    for h in ["node1", "node2"] {
        wait_status(&c, h, "40 packets with a bad digest", |s| {
            counter(s, "wire_bad_digest") >= 40
        });
    }
    for h in ["node1", "node2"] {
        let s = c.halo_status(h)?;
        assert!(
            matches!(
                peer_state(&s, "node3"),
                Some(NodeState::Init | NodeState::Dead)
            ),
            "{h}: {s:#?}"
        );
        assert!(counter(&s, "wire_rejected") >= counter(&s, "wire_bad_digest"));
        assert!(counter(&s, "wire_accepted") > 0, "{s:#?}");
    }
    // node1 and node2 still form a cluster; node3 is alone.
    wait_all_active(&c, &["node1", "node2"]);
    let s3 = c.halo_status("node3")?;
    for p in ["node1", "node2"] {
        assert!(
            matches!(peer_state(&s3, p), Some(NodeState::Init | NodeState::Dead)),
            "{s3:#?}"
        );
    }
    assert!(counter(&s3, "wire_bad_digest") > 0, "{s3:#?}");
    for (h, s) in &streams {
        let accepted: Vec<_> = node_events(s, "node3")
            .into_iter()
            .filter(|(_, to, _)| matches!(to, NodeState::Up | NodeState::Active))
            .collect();
        assert!(accepted.is_empty(), "{h} accepted node3: {accepted:?}");
    }
    Ok(())
}

/// Two hosts talking over one medium only: both become active on that link (and have no
/// other), a cut makes them dead to each other, a heal brings them back.
fn medium_alone(
    spec: LabSpec,
    lines: impl Fn(&str) -> Vec<String>,
    link: &str,
    cut: impl Fn(&Lab),
    heal: impl Fn(&Lab),
) {
    let lab = Lab::create(&spec).unwrap();
    let c = cluster(&lab);
    let nodes = ["node1", "node2"];
    let key = authkeys("sha256", &random_secret());
    for h in nodes {
        let cf = lines(h)
            .into_iter()
            .fold(HaCf::new(Timing::FAST, &nodes), HaCf::line);
        c.configure(h, &cf.render(), &key).unwrap();
        c.start(h).unwrap();
    }
    wait_all_active(&c, &nodes);
    for (h, p) in [("node1", "node2"), ("node2", "node1")] {
        let s = c.halo_status(h).unwrap();
        let peer = s.nodes.iter().find(|n| n.name == p).unwrap();
        let links: Vec<(&str, LinkState)> = peer
            .links
            .iter()
            .map(|l| (l.name.as_str(), l.state))
            .collect();
        assert_eq!(links, [(link, LinkState::Up)], "{h}: {s:#?}");
    }
    cut(&lab);
    wait_peer(&c, "node1", "node2", NodeState::Dead);
    wait_peer(&c, "node2", "node1", NodeState::Dead);
    heal(&lab);
    wait_all_active(&c, &nodes);
}

/// Two hosts on one bridge heartbeating by `line` only; a cut of node2's port cuts it.
fn network_medium_alone(line: &str) {
    medium_alone(
        LabSpec::new().hosts(2),
        |_| vec![line.to_owned()],
        "eth0",
        |lab| lab.cut("node2").unwrap(),
        |lab| lab.heal("node2").unwrap(),
    );
}

#[test]
fn lab_medium_ucast_alone() {
    network_medium_alone("ucast eth0 10.213.0.1 10.213.0.2");
}

#[test]
fn lab_medium_ucast6_alone() {
    network_medium_alone("ucast6 eth0 fd48:616c:6f00::1 fd48:616c:6f00::2");
}

#[test]
fn lab_medium_mcast_alone() {
    network_medium_alone("mcast eth0 239.0.0.94 694 1 0");
}

#[test]
fn lab_medium_mcast6_alone() {
    network_medium_alone("mcast6 eth0 ff12::694 694 1 0");
}

#[test]
fn lab_medium_serial_alone() {
    medium_alone(
        LabSpec::new().hosts(2).serial("node1", "node2"),
        |_| vec![format!("serial {SERIAL}")],
        SERIAL,
        |lab| lab.cut_serial(0).unwrap(),
        |lab| lab.heal_serial(0).unwrap(),
    );
}

#[test]
fn lab_halo_watch_streams_node_and_link_events() -> TestResult {
    let lab = Lab::create(&LabSpec::new().hosts(2).bridges(2))?;
    let c = cluster(&lab);
    let nodes = ["node1", "node2"];
    let key = authkeys("sha256", &random_secret());
    for h in nodes {
        let cf = HaCf::new(Timing::FAST, &nodes).line("bcast eth0 eth1");
        c.configure(h, &cf.render(), &key)?;
        c.start(h)?;
    }
    wait_all_active(&c, &nodes);
    let halo = c.halo_binary().to_path_buf();
    let human = lab.spawn_args("node1", &[halo.as_os_str(), "watch".as_ref()])?;
    let json = lab.spawn_args(
        "node1",
        &[halo.as_os_str(), "watch".as_ref(), "--json".as_ref()],
    )?;

    // Until both streams show the link going, they may not be connected yet: cut and
    // heal node2's second link until they do.
    let link_dead = "link node2/eth1: dead";
    let link_dead_json = r#"{"event":"link","node":"node2","link":"eth1","state":"dead"}"#;
    halo_bench::cluster::wait_for("halo watch to show a link event", LIMIT, || {
        lab.cut_link("node2", 1).ok()?;
        let seen = halo_bench::cluster::wait_for("", Duration::from_secs(3), || {
            (human.log_text().contains(link_dead) && json.log_text().contains(link_dead_json))
                .then_some(())
        });
        lab.heal_link("node2", 1).ok()?;
        wait_link(&c, "node1", "node2", "eth1", LinkState::Up);
        seen.ok()
    })?;
    assert!(lab.is_running(&human)? && lab.is_running(&json)?);

    lab.cut("node2")?;
    wait_peer(&c, "node1", "node2", NodeState::Dead);
    halo_bench::cluster::wait_for("node events in halo watch", LIMIT, || {
        let text = human.log_text();
        let line = text
            .lines()
            .find(|l| l.contains("node node2: active -> dead (silent for"))?;
        let events: Vec<Event> = json
            .log_text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        events
            .iter()
            .any(|e| {
                matches!(e, Event::Node { node, from: NodeState::Active, to: NodeState::Dead, .. }
                    if node == "node2")
            })
            .then_some(line.to_owned())
    })?;
    Ok(())
}

#[test]
fn lab_reliable_messaging_under_20_percent_loss_delivers_each_message_once_in_order() -> TestResult
{
    const MESSAGES: usize = 500;
    let lab = Lab::create(&LabSpec::new().hosts(3))?;
    let c = cluster(&lab);
    let key = authkeys("sha256", &random_secret());
    // One medium, so that every packet meets the loss once; deadtime 1 s rather than
    // 500 ms: with 20 % loss, 5 heartbeats lost in a row (0.2^5) would make a false
    // death likely within the test, and delivery is only promised while both stay alive.
    let timing = Timing::ms(100, 1000);
    for h in NODES {
        let cf = HaCf::new(timing, &NODES).line("bcast eth0");
        c.configure(h, &cf.render(), &key)?;
        c.start(h)?;
    }
    wait_all_active(&c, &NODES);
    let watch = c.watch("node1")?;
    let halo = c.halo_binary().to_path_buf();
    let listeners: Vec<_> = ["node2", "node3"]
        .iter()
        .map(|h| {
            let l = lab
                .spawn_args(h, &[halo.as_os_str(), "listen".as_ref(), "--json".as_ref()])
                .unwrap();
            (*h, l)
        })
        .collect();
    // The listeners are connected once a probe reaches both.
    let mut probe = 0;
    halo_bench::cluster::wait_for("halo listen to receive a probe", LIMIT, || {
        probe += 1;
        let out = c.halo("node1", &["send", &format!("probe {probe}")]).ok()?;
        assert!(out.status.success(), "{out:?}");
        std::thread::sleep(Duration::from_millis(200));
        listeners
            .iter()
            .all(|(_, l)| l.log_text().contains("probe"))
            .then_some(())
    })?;

    lab.set_loss(LossTarget::Bridge(0), 0.2)?;
    let sent = (1..=MESSAGES).map(|i| format!("msg-{i:04}"));
    for body in sent.clone() {
        let out = c.halo("node1", &["send", &body])?;
        assert!(
            out.status.success(),
            "halo send {body}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let expected: Vec<String> = sent.collect();
    let received = |l: &halo_lab::Proc| -> Vec<(String, String)> {
        l.log_text()
            .lines()
            .filter_map(|line| match serde_json::from_str::<Event>(line) {
                Ok(Event::Message { from, body, .. }) if body.starts_with("msg-") => {
                    Some((from.to_string(), body))
                }
                _ => None,
            })
            .collect()
    };
    for (h, l) in &listeners {
        let got = halo_bench::cluster::wait_for(
            &format!("{MESSAGES} messages on {h}"),
            Duration::from_secs(120),
            || {
                let got = received(l);
                (got.len() >= MESSAGES).then_some(got)
            },
        )
        .unwrap_or_else(|e| panic!("{e}: got {} of {MESSAGES}", received(l).len()));
        let bodies: Vec<String> = got.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(bodies, expected, "{h}: every message once, in order");
        assert!(got.iter().all(|(from, _)| from == "node1"));
    }
    // Give a late duplicate the chance to show itself, then check again.
    std::thread::sleep(Duration::from_secs(1));
    for (h, l) in &listeners {
        assert_eq!(
            received(l).len(),
            MESSAGES,
            "{h}: no duplicate arrived late"
        );
    }
    // The loss really happened and was repaired by retransmission.
    assert!(lab.dropped()?.frames > 0);
    let s1 = c.halo_status("node1")?;
    assert!(
        counter(&s1, "msg_retransmits_sent") > 0,
        "{:?}",
        s1.counters
    );
    let deaths: BTreeSet<String> = node_events(&watch, "node2")
        .into_iter()
        .chain(node_events(&watch, "node3"))
        .filter(|(_, to, _)| *to == NodeState::Dead)
        .map(|e| format!("{e:?}"))
        .collect();
    assert!(
        deaths.is_empty(),
        "a node was declared dead under loss: {deaths:?}"
    );
    Ok(())
}
