//! The membership and quorum on the lab (issue 3): real halods in network namespaces,
//! real UDP broadcast over a bridge without uplink, nftables cuts, one-way cuts and
//! partitions, and the real `halo` command run on the hosts.
//!
//! What is checked, on 3 and 5 nodes at keepalive 100 ms / deadtime 500 ms:
//!
//! - a node dies → the survivors agree on a new membership without it (same id, same
//!   members on every survivor, quorate);
//! - a 2|3 partition → two memberships, only the 3-side quorate; the heal → one
//!   membership of all;
//! - an asymmetric cut (A hears B, B does not hear A) → the outcome the crate documents
//!   (`halo-membership`: `{a, c}` and `{b}`, whichever way the cut goes), which then
//!   stays put;
//! - a flapping link → no crash, one common membership once the flapping stops;
//! - `two_node` with `wait_for_all`: a node that starts alone has no quorum until it has
//!   seen its peer; a survivor then keeps quorum alone;
//! - `halo membership` tells why each membership changed (joined, left), and `halo
//!   watch --json` streams the installs.
//!
//! Throughout, every node's `halo watch` stream is checked for the protocol's own
//! promises: a node's installed ids only grow, and two nodes that install the same
//! membership (the same seq, coordinated by the same node: the first member) install
//! the same member list.
//!
//! Conditions are waited for with generous deadlines; no timing is asserted (the
//! convergence figures are `halo-bench membership`'s, see BENCHMARKS.md).
//!
//! Needs root and the lab's tools (`scripts/setup`), and the `halo` binary next to
//! `halod` (`cargo build --workspace`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use halo_bench::cluster::{HaloCluster, peer_state};
use halo_bench::config::{HaCf, Timing, authkeys, random_secret};
use halo_bench::watch::EventStream;
use halo_ipc::{Event, Membership, MembershipRecord, Reply, Request};
use halo_lab::{Lab, LabSpec, OneWay};
use halo_types::{NodeName, NodeState};

mod common;

use common::{LIMIT, cluster, wait_peer};

const THREE: [&str; 3] = ["node1", "node2", "node3"];
const FIVE: [&str; 5] = ["node1", "node2", "node3", "node4", "node5"];
/// How long a settled membership must stay put to count as stable (no install on any
/// node meanwhile): several deadtimes and anti-entropy intervals.
const QUIET: Duration = Duration::from_secs(4);

/// `n` hosts on one bridge.
fn lab(n: usize) -> Lab {
    Lab::create(&LabSpec::new().hosts(n)).unwrap()
}

/// Configure `nodes` (the fast preset, broadcast on eth0, `extra` lines) with one key.
fn configure(c: &HaloCluster<'_>, nodes: &[&str], extra: &[&str]) {
    let key = authkeys("sha256", &random_secret());
    let cf = extra.iter().fold(
        HaCf::new(Timing::FAST, nodes).line("bcast eth0"),
        |cf, l| cf.line(*l),
    );
    for h in nodes {
        c.configure(h, &cf.render(), &key).unwrap();
    }
}

/// Every node's `halo watch` stream, by host.
struct Streams(BTreeMap<String, Vec<EventStream>>);

impl Streams {
    fn new() -> Streams {
        Streams(BTreeMap::new())
    }

    /// Start watching `host` (again, after a restart: earlier streams are kept).
    fn watch(&mut self, c: &HaloCluster<'_>, host: &str) {
        let s = c.watch(host).unwrap();
        self.0.entry(host.to_owned()).or_default().push(s);
    }

    /// The memberships `host` installed while watched, in order.
    fn installs(&self, host: &str) -> Vec<Membership> {
        self.0
            .get(host)
            .into_iter()
            .flatten()
            .flat_map(|s| s.recorder().items())
            .filter_map(|s| match s.item {
                Event::Membership(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Installs on every node so far.
    fn counts(&self) -> BTreeMap<String, usize> {
        self.0
            .keys()
            .map(|h| (h.clone(), self.installs(h).len()))
            .collect()
    }

    /// The protocol's promises over everything streamed: on each node the ids grow;
    /// the same membership (seq and coordinator, the first member) has the same members
    /// wherever it was installed.
    fn check(&self) {
        let mut seen: BTreeMap<(u64, String), (String, Vec<String>)> = BTreeMap::new();
        for host in self.0.keys() {
            let installs = self.installs(host);
            for w in installs.windows(2) {
                assert!(
                    w[1].id > w[0].id,
                    "{host}: membership ids went {} then {}: {installs:?}",
                    w[0].id,
                    w[1].id
                );
            }
            for m in installs {
                let members: Vec<String> = m.members.iter().map(|n| n.to_string()).collect();
                assert!(!members.is_empty(), "{host} installed an empty membership");
                assert!(
                    members.iter().any(|n| n == host),
                    "{host} installed a membership without itself: {m:?}"
                );
                let key = (m.id, members[0].clone());
                match seen.get(&key) {
                    Some((other, theirs)) => assert_eq!(
                        theirs, &members,
                        "membership {} by {}: {other} and {host} disagree",
                        key.0, key.1
                    ),
                    None => {
                        seen.insert(key, (host.to_owned(), members));
                    }
                }
            }
        }
    }
}

/// Wait until every host of `hosts` has installed the same membership (same id) of
/// exactly `members`, and return it (as `halo status --json` shows it on the first).
fn wait_agreed(c: &HaloCluster<'_>, hosts: &[&str], members: &[&str]) -> Membership {
    let mut last = Vec::new();
    halo_bench::cluster::wait_for(
        &format!("{hosts:?} to agree on a membership of {members:?}"),
        LIMIT,
        || {
            last = hosts
                .iter()
                .map(|h| c.halo_status(h).map(|s| s.membership).ok())
                .collect();
            let first = last.first()?.clone()?;
            let names: Vec<&str> = first.members.iter().map(|n| n.as_str()).collect();
            (names == members && first.id > 0 && last.iter().all(|m| m.as_ref() == Some(&first)))
                .then_some(first)
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}; last seen: {:#?}",
            hosts.iter().zip(&last).collect::<Vec<_>>()
        )
    })
}

/// Wait as [`wait_agreed`], then check the membership's quorum.
fn wait_agreed_quorum(
    c: &HaloCluster<'_>,
    hosts: &[&str],
    members: &[&str],
    quorate: bool,
) -> Membership {
    let m = wait_agreed(c, hosts, members);
    assert_eq!(
        m.quorate,
        quorate,
        "{members:?} should {}be quorate: {m:?}",
        if quorate { "" } else { "not " }
    );
    m
}

/// No node installs anything for [`QUIET`], and each still shows `expect` (host →
/// membership) afterwards.
fn assert_stable(c: &HaloCluster<'_>, streams: &Streams, expect: &[(&str, &Membership)]) {
    let before = streams.counts();
    std::thread::sleep(QUIET);
    let after = streams.counts();
    assert_eq!(
        before,
        after,
        "memberships changed after settling: {:#?}",
        streams
            .0
            .keys()
            .map(|h| (h, streams.installs(h)))
            .collect::<Vec<_>>()
    );
    for (h, m) in expect {
        assert_eq!(&c.halo_status(h).unwrap().membership, *m, "{h}");
    }
}

/// Configure and start `nodes`, watch each, and wait for the membership of all.
fn start_all<'l>(c: &HaloCluster<'l>, nodes: &[&str], extra: &[&str]) -> (Streams, Membership) {
    configure(c, nodes, extra);
    for h in nodes {
        c.start(h).unwrap();
    }
    let mut streams = Streams::new();
    for h in nodes {
        c.wait_serving(h, LIMIT).unwrap();
        streams.watch(c, h);
    }
    let m = wait_agreed_quorum(c, nodes, nodes, true);
    (streams, m)
}

/// The names of `nodes`, to compare with string lists.
fn names(nodes: &[NodeName]) -> Vec<&str> {
    nodes.iter().map(NodeName::as_str).collect()
}

fn without<'a>(nodes: &[&'a str], gone: &[&str]) -> Vec<&'a str> {
    nodes
        .iter()
        .copied()
        .filter(|n| !gone.contains(n))
        .collect()
}

/// `host`'s `halo membership --json`.
fn history(c: &HaloCluster<'_>, host: &str) -> Vec<MembershipRecord> {
    let out = c.halo(host, &["membership", "--json"]).unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: Vec<MembershipRecord> = serde_json::from_slice(&out.stdout).unwrap();
    // The same as the API answers.
    match c.request(host, &Request::Memberships).unwrap() {
        Reply::Memberships { memberships } => {
            let ids =
                |v: &[MembershipRecord]| v.iter().map(|r| r.membership.id).collect::<Vec<_>>();
            assert_eq!(ids(&json), ids(&memberships), "{host}");
        }
        other => panic!("{host}: {other:?}"),
    }
    json
}

/// Kill one node of `nodes` (SIGKILL): the survivors agree on a membership without it,
/// with a higher id, still quorate.
fn kill_one(nodes: &[&str], victim: &str) {
    let lab = lab(nodes.len());
    let c = cluster(&lab);
    let (streams, all) = start_all(&c, nodes, &[]);

    c.kill(victim).unwrap();
    let rest = without(nodes, &[victim]);
    let after = wait_agreed_quorum(&c, &rest, &rest, true);
    assert!(after.id > all.id, "{all:?} then {after:?}");
    for h in &rest {
        let last = history(&c, h).pop().unwrap();
        assert_eq!(last.membership, after, "{h}");
        assert_eq!(names(&last.left), [victim], "{h}: {last:?}");
        assert!(last.joined.is_empty(), "{h}: {last:?}");
    }
    streams.check();
    let expect: Vec<(&str, &Membership)> = rest.iter().map(|h| (*h, &after)).collect();
    assert_stable(&c, &streams, &expect);
    streams.check();
}

#[test]
fn lab_membership_3_nodes_kill_one_the_rest_agree() {
    kill_one(&THREE, "node2");
}

#[test]
fn lab_membership_5_nodes_kill_one_the_rest_agree() {
    // The coordinator (first in name order) itself: the next one takes over.
    kill_one(&FIVE, "node1");
}

#[test]
fn lab_membership_5_nodes_partition_2_3_only_the_larger_side_is_quorate_and_the_heal_rejoins() {
    let lab = lab(5);
    let c = cluster(&lab);
    let (streams, all) = start_all(&c, &FIVE, &[]);
    let small = ["node1", "node2"];
    let large = ["node3", "node4", "node5"];

    lab.partition(&[&small[..], &large[..]]).unwrap();
    let ms = wait_agreed_quorum(&c, &small, &small, false);
    let ml = wait_agreed_quorum(&c, &large, &large, true);
    assert!(
        ms.id > all.id && ml.id > all.id,
        "{all:?} then {ms:?} and {ml:?}"
    );
    streams.check();
    let expect: Vec<(&str, &Membership)> = small
        .iter()
        .map(|h| (*h, &ms))
        .chain(large.iter().map(|h| (*h, &ml)))
        .collect();
    assert_stable(&c, &streams, &expect);

    lab.heal_partition().unwrap();
    let healed = wait_agreed_quorum(&c, &FIVE, &FIVE, true);
    assert!(
        healed.id > ms.id && healed.id > ml.id,
        "{ms:?} {ml:?} then {healed:?}"
    );
    // Each node's history, from its side's membership to the healed one, tells who
    // joined and who left at every step. The heal may take more than one step (edges
    // come back one by one, and a group that agrees on part of them may install it
    // first); the steps' reasons must add up to "the other side joined".
    for h in FIVE {
        let side = if small.contains(&h) { &ms } else { &ml };
        let records = history(&c, h);
        let from = records
            .iter()
            .position(|r| r.membership == *side)
            .unwrap_or_else(|| panic!("{h}: {side:?} is not in its history: {records:#?}"));
        let steps = &records[from..];
        assert_eq!(
            steps.last().map(|r| &r.membership),
            Some(&healed),
            "{h}: {records:#?}"
        );
        assert_reasons_chain(h, steps);
    }
    streams.check();
}

/// Each record after the first says exactly who joined and who left since the one
/// before it.
fn assert_reasons_chain(host: &str, records: &[MembershipRecord]) {
    for w in records.windows(2) {
        let before: Vec<&str> = names(&w[0].membership.members);
        let after: Vec<&str> = names(&w[1].membership.members);
        let joined: Vec<&str> = after
            .iter()
            .copied()
            .filter(|n| !before.contains(n))
            .collect();
        let left: Vec<&str> = before
            .iter()
            .copied()
            .filter(|n| !after.contains(n))
            .collect();
        assert_eq!(
            (names(&w[1].joined), names(&w[1].left)),
            (joined, left),
            "{host}: {:#?} then {:#?}",
            w[0],
            w[1]
        );
    }
}

#[test]
fn lab_membership_3_nodes_partition_1_2_and_heal() {
    let lab = lab(3);
    let c = cluster(&lab);
    let (streams, _) = start_all(&c, &THREE, &[]);

    lab.partition(&[&["node1"][..], &["node2", "node3"][..]])
        .unwrap();
    wait_agreed_quorum(&c, &["node1"], &["node1"], false);
    wait_agreed_quorum(&c, &["node2", "node3"], &["node2", "node3"], true);
    lab.heal_partition().unwrap();
    wait_agreed_quorum(&c, &THREE, &THREE, true);
    streams.check();
}

/// A one-way cut on a 3-node cluster: `deaf` no longer hears `talker` (its frames to
/// `deaf` are dropped), `talker` still hears `deaf`. The documented outcome (crate docs
/// of `halo-membership`, `tests/testdata/partition.txt`): only mutual hearing counts,
/// so the edge between them is gone whichever way the cut goes; node1 and node2 tie
/// with one mutual neighbour each (node3), and the one that sorts last, node2, is set
/// aside: `{node1, node3}` and `{node2}`, and that does not flap.
fn one_way(c: &HaloCluster<'_>, lab: &Lab, streams: &Streams, talker: &str, deaf: &str) {
    lab.cut_one_way(talker, deaf).unwrap();
    let pair = wait_agreed_quorum(c, &["node1", "node3"], &["node1", "node3"], true);
    let alone = wait_agreed_quorum(c, &["node2"], &["node2"], false);
    streams.check();
    assert_stable(
        c,
        streams,
        &[("node1", &pair), ("node3", &pair), ("node2", &alone)],
    );
    // The cut is really one-way: the deaf node's failure detector lost the talker,
    // the talker's still hears the deaf node.
    wait_peer(c, deaf, talker, NodeState::Dead);
    let seen = c.halo_status(talker).unwrap();
    assert_eq!(
        peer_state(&seen, deaf),
        Some(NodeState::Active),
        "{talker} should still hear {deaf}: {:#?}",
        seen.nodes
    );
    lab.heal_all().unwrap();
    wait_agreed_quorum(c, &THREE, &THREE, true);
    streams.check();
}

#[test]
fn lab_membership_asymmetric_cut_gives_the_documented_stable_outcome() {
    let lab = lab(3);
    let c = cluster(&lab);
    let (streams, _) = start_all(&c, &THREE, &[]);
    // node1 hears node2, node2 does not hear node1.
    one_way(&c, &lab, &streams, "node1", "node2");
    // The other way round: node2 hears node1, node1 does not hear node2.
    one_way(&c, &lab, &streams, "node2", "node1");
}

/// Cut and heal the link between node1 and node2 (both directions) every `period`, for
/// `total`; returns the number of cuts.
fn flap(lab: &Lab, period: Duration, total: Duration) -> usize {
    let pair = |cut: bool| {
        lab.update_faults(|f| {
            for (a, b) in [("node1", "node2"), ("node2", "node1")] {
                let o = OneWay {
                    from: a.into(),
                    to: b.into(),
                    bridge: 0,
                };
                if cut {
                    f.one_way.insert(o);
                } else {
                    f.one_way.remove(&o);
                }
            }
        })
        .unwrap()
    };
    let end = Instant::now() + total;
    let mut next = Instant::now();
    let mut cuts: usize = 0;
    while Instant::now() < end {
        pair(cuts.is_multiple_of(2));
        cuts += 1;
        next += period;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    pair(false);
    cuts.div_ceil(2)
}

#[test]
fn lab_membership_flapping_link_settles_once_it_stops() {
    let lab = lab(3);
    let c = cluster(&lab);
    let (streams, _) = start_all(&c, &THREE, &[]);
    let procs: Vec<_> = THREE.iter().map(|h| c.proc(h).unwrap()).collect();

    // The pattern: cut, heal, every 200 ms, for 20 s (shorter than the
    // deadtime: the detectors may or may not notice).
    let cuts = flap(&lab, Duration::from_millis(200), Duration::from_secs(20));
    let before = streams.counts();
    let settled = wait_agreed_quorum(&c, &THREE, &THREE, true);
    println!("{cuts} cuts of 200 ms; installs by then: {before:?}");
    streams.check();
    let expect: Vec<(&str, &Membership)> = THREE.iter().map(|h| (*h, &settled)).collect();
    assert_stable(&c, &streams, &expect);

    // Slower flapping that the detectors do see: cut 700 ms, healed 300 ms.
    let mut slow = 0;
    let end = Instant::now() + Duration::from_secs(8);
    while Instant::now() < end {
        slow += flap(&lab, Duration::from_millis(700), Duration::from_millis(700));
        std::thread::sleep(Duration::from_millis(300));
    }
    let settled = wait_agreed_quorum(&c, &THREE, &THREE, true);
    println!(
        "{slow} cuts of 700 ms; installs by then: {:?}",
        streams.counts()
    );
    streams.check();
    let expect: Vec<(&str, &Membership)> = THREE.iter().map(|h| (*h, &settled)).collect();
    assert_stable(&c, &streams, &expect);
    for p in &procs {
        assert!(lab.is_running(p).unwrap(), "halod exited: {}", p.log_text());
    }
}

#[test]
fn lab_membership_two_node_waits_for_all_then_a_survivor_keeps_quorum() {
    let lab = lab(2);
    let c = cluster(&lab);
    let nodes = ["node1", "node2"];
    configure(&c, &nodes, &["two_node on"]);

    // node1 starts alone: after its start-up hold it forms a membership of itself, but
    // has never seen its peer, so wait_for_all (on with two_node) keeps it inquorate.
    c.start("node1").unwrap();
    let alone = wait_agreed_quorum(&c, &["node1"], &["node1"], false);
    let mut streams = Streams::new();
    streams.watch(&c, "node1");

    c.start("node2").unwrap();
    c.wait_serving("node2", LIMIT).unwrap();
    streams.watch(&c, "node2");
    let both = wait_agreed_quorum(&c, &nodes, &nodes, true);
    assert!(both.id > alone.id);

    // node2 dies: node1 alone keeps quorum (two_node: fencing arbitrates).
    c.kill("node2").unwrap();
    wait_agreed_quorum(&c, &["node1"], &["node1"], true);

    // node2 starts again while cut off: a fresh start that has not seen its peer has no
    // quorum, even alone in a two-node cluster.
    lab.cut("node2").unwrap();
    c.start("node2").unwrap();
    c.wait_serving("node2", LIMIT).unwrap();
    streams.watch(&c, "node2");
    let fresh = wait_agreed_quorum(&c, &["node2"], &["node2"], false);
    assert_stable(&c, &streams, &[("node2", &fresh)]);

    lab.heal("node2").unwrap();
    wait_agreed_quorum(&c, &nodes, &nodes, true);
    streams.check();
}

#[test]
fn lab_membership_history_and_watch_tell_who_joined_and_who_left() {
    let lab = lab(3);
    let c = cluster(&lab);
    configure(&c, &THREE, &[]);
    c.start("node1").unwrap();
    c.start("node2").unwrap();
    let first = wait_agreed_quorum(&c, &["node1", "node2"], &["node1", "node2"], true);
    let halo = c.halo_binary().to_path_buf();
    let watch = lab
        .spawn_args(
            "node1",
            &[halo.as_os_str(), "watch".as_ref(), "--json".as_ref()],
        )
        .unwrap();
    let human = lab
        .spawn_args("node1", &[halo.as_os_str(), "watch".as_ref()])
        .unwrap();
    // Both `halo watch` commands must be connected before node3 joins: make node1
    // install something they must show (node2 cut off, then back), and wait for it.
    let shown = |m: &Membership| {
        let want = serde_json::to_string(&Event::Membership(m.clone())).unwrap();
        halo_bench::cluster::wait_for("halo watch --json to show the membership", LIMIT, || {
            watch.log_text().lines().any(|l| l == want).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}: want {want}; got:\n{}", watch.log_text()));
        halo_bench::cluster::wait_for("halo watch to show the membership", LIMIT, || {
            human
                .log_text()
                .lines()
                .any(|l| l.contains(&format!(" membership {}: ", m.id)))
                .then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}: want {}:\n{}", m.id, human.log_text()));
    };
    lab.cut("node2").unwrap();
    let barrier = wait_agreed_quorum(&c, &["node1"], &["node1"], false);
    shown(&barrier);
    lab.heal("node2").unwrap();
    wait_agreed_quorum(&c, &["node1", "node2"], &["node1", "node2"], true);

    c.start("node3").unwrap();
    let all = wait_agreed_quorum(&c, &THREE, &THREE, true);
    c.stop("node3", LIMIT).unwrap();
    let left = wait_agreed_quorum(&c, &["node1", "node2"], &["node1", "node2"], true);

    let records = history(&c, "node1");
    let ids: Vec<u64> = records.iter().map(|r| r.membership.id).collect();
    let tail: Vec<&MembershipRecord> = records.iter().rev().take(2).rev().collect();
    assert_eq!(
        tail.iter().map(|r| r.membership.id).collect::<Vec<_>>(),
        [all.id, left.id],
        "{records:#?}"
    );
    assert!(ids.contains(&first.id), "{records:#?}");
    assert_eq!(names(&tail[0].joined), ["node3"], "{records:#?}");
    assert!(tail[0].left.is_empty(), "{records:#?}");
    assert_eq!(names(&tail[1].left), ["node3"], "{records:#?}");
    assert!(tail[1].joined.is_empty(), "{records:#?}");
    assert_eq!(tail[0].coordinator.as_str(), "node1");
    assert_eq!((tail[0].votes, tail[0].quorum), (3, 2), "{records:#?}");
    assert_eq!((tail[1].votes, tail[1].quorum), (2, 2), "{records:#?}");

    // The text form gives the same reasons.
    let out = c.halo("node1", &["membership"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |id: u64| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
            .unwrap_or_else(|| panic!("no line for membership {id}:\n{text}"))
            .to_owned()
    };
    let joined = line(all.id);
    assert!(
        joined.contains("node1 node2 node3") && joined.ends_with("joined: node3"),
        "{joined}"
    );
    assert!(joined.contains("quorate, 3/2 votes, by node1"), "{joined}");
    assert!(line(left.id).ends_with("left: node3"), "{text}");

    // `halo watch` streamed both installs, as JSON and as text.
    for m in [&all, &left] {
        shown(m);
    }
}
