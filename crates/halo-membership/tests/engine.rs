//! The engine's behaviour, message by message: each test drives one or a few engines by
//! hand and checks exactly what they send and install.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::collections::VecDeque;
use std::time::Duration;

use halo_membership::wire::{Body, Entry, GossipMode, Message, RejectReason};
use halo_membership::{
    Config, Destination, Engine, Input, InputError, Member, Membership, MembershipId, Output,
    QuorumConfig, Timings,
};
use halo_types::{Generation, NodeName, Timestamp};

fn name(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

fn member(s: &str, g: u64) -> Member {
    Member::new(name(s), Generation(g))
}

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn engine(node: &str, generation: u64, last_seq: u64, all: &[&str]) -> Engine {
    Engine::new(
        Config {
            node: name(node),
            generation: Generation(generation),
            last_seq,
            timings: Timings::default(),
            quorum: QuorumConfig {
                nodes: all.iter().map(|n| name(n)).collect(),
                ..QuorumConfig::default()
            },
        },
        t(0),
    )
    .unwrap()
}

fn sent(out: &[Output]) -> Vec<(Destination, Body)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, bytes } => Some((to.clone(), Message::decode(bytes).unwrap().body)),
            Output::Install(_) => None,
        })
        .collect()
}

fn installs(out: &[Output]) -> Vec<Membership> {
    out.iter()
        .filter_map(|o| match o {
            Output::Install(m) => Some(m.clone()),
            Output::Send { .. } => None,
        })
        .collect()
}

/// Tells `e` at `ms` that its failure detector hears `node` at generation `g`.
fn peer_up(e: &mut Engine, ms: u64, node: &str, g: u64) {
    e.handle(
        t(ms),
        Input::PeerUp {
            node: name(node),
            generation: Generation(g),
        },
    )
    .unwrap();
}

/// Hands `bytes` to `e` at `ms` as a message from `from`.
fn deliver(e: &mut Engine, ms: u64, from: &str, bytes: &[u8]) -> Result<Vec<Output>, InputError> {
    e.handle(
        t(ms),
        Input::Message {
            from: name(from),
            bytes,
        },
    )
}

fn propose(sender: Member, id: MembershipId, members: Vec<Member>) -> Vec<u8> {
    msg(sender, Body::Propose { id, members })
}

fn msg(sender: Member, body: Body) -> Vec<u8> {
    Message { sender, body }.encode()
}

/// A few engines on a perfect network: messages arrive in order, one millisecond apart;
/// ticks happen when due.
struct Cluster {
    now: u64,
    nodes: Vec<(String, Engine)>,
    queue: VecDeque<(usize, String, Vec<u8>)>,
    installed: Vec<(String, Membership)>,
}

impl Cluster {
    fn new(names: &[&str]) -> Self {
        Cluster {
            now: 0,
            nodes: names
                .iter()
                .map(|n| (n.to_string(), engine(n, 1, 0, names)))
                .collect(),
            queue: VecDeque::new(),
            installed: Vec::new(),
        }
    }

    fn index(&self, n: &str) -> usize {
        self.nodes.iter().position(|(m, _)| m == n).unwrap()
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let out = self.nodes[i].1.handle(t(self.now), input).unwrap();
        let from = self.nodes[i].0.clone();
        for o in out {
            match o {
                Output::Send { to, bytes } => match to {
                    Destination::One(n) => {
                        let j = self.index(n.as_str());
                        self.queue.push_back((j, from.clone(), bytes));
                    }
                    Destination::All => {
                        for j in 0..self.nodes.len() {
                            if j != i {
                                self.queue.push_back((j, from.clone(), bytes.clone()));
                            }
                        }
                    }
                },
                Output::Install(m) => self.installed.push((from.clone(), m)),
            }
        }
    }

    /// Everyone hears everyone.
    fn connect_all(&mut self) {
        for i in 0..self.nodes.len() {
            for j in 0..self.nodes.len() {
                if i != j {
                    let node = name(&self.nodes[j].0);
                    self.input(
                        i,
                        Input::PeerUp {
                            node,
                            generation: Generation(1),
                        },
                    );
                }
            }
        }
    }

    /// Runs until nothing is queued and no deadline falls within `horizon_ms`.
    fn settle(&mut self, horizon_ms: u64) {
        let end = self.now + horizon_ms;
        while self.now < end {
            if let Some((j, from, bytes)) = self.queue.pop_front() {
                self.now += 1;
                self.input(
                    j,
                    Input::Message {
                        from: name(&from),
                        bytes: &bytes,
                    },
                );
                continue;
            }
            let next = self
                .nodes
                .iter()
                .filter_map(|(_, e)| e.next_deadline())
                .min()
                .map(|d| d.as_millis());
            match next {
                Some(d) if d <= end => {
                    self.now = self.now.max(d);
                    for i in 0..self.nodes.len() {
                        if self.nodes[i]
                            .1
                            .next_deadline()
                            .is_some_and(|x| x.as_millis() <= self.now)
                        {
                            self.input(i, Input::Tick);
                        }
                    }
                }
                _ => break,
            }
        }
    }
}

#[test]
fn three_nodes_form_one_membership_with_one_round() {
    let mut c = Cluster::new(&["a", "b", "c"]);
    c.connect_all();
    c.settle(5_000);
    // Everyone installed the same membership, once, coordinated by a (first by name).
    assert_eq!(c.installed.len(), 3, "{:?}", c.installed);
    let expected = vec![member("a", 1), member("b", 1), member("c", 1)];
    for (_, m) in &c.installed {
        assert_eq!(m.members, expected);
        assert_eq!(
            m.id,
            MembershipId {
                seq: 1,
                coordinator: member("a", 1)
            }
        );
        assert!(m.quorum.quorate);
    }
    for (_, e) in &c.nodes {
        assert!(e.is_settled(t(c.now)));
        assert_eq!(
            e.stats().rounds_started,
            u64::from(e.me().name.as_str() == "a")
        );
    }
}

#[test]
fn a_death_forms_a_new_membership_without_the_dead_node() {
    let mut c = Cluster::new(&["a", "b", "c"]);
    c.connect_all();
    c.settle(5_000);
    c.installed.clear();
    // a dies: b and c notice, and b coordinates.
    c.nodes.remove(0);
    for i in 0..2 {
        c.input(i, Input::PeerDown { node: name("a") });
    }
    c.queue.retain(|(j, _, _)| *j < 2);
    c.settle(5_000);
    assert_eq!(c.installed.len(), 2);
    for (_, m) in &c.installed {
        assert_eq!(m.members, vec![member("b", 1), member("c", 1)]);
        assert_eq!(
            m.id,
            MembershipId {
                seq: 2,
                coordinator: member("b", 1)
            }
        );
        assert_eq!(m.left, vec![member("a", 1)]);
        assert!(m.quorum.quorate, "2 of 3 votes");
    }
}

#[test]
fn the_first_membership_follows_the_persisted_seq() {
    let mut e = engine("a", 4, 41, &["a"]);
    // Alone: nothing before the start-up hold, then a membership of itself, seq 42.
    assert_eq!(e.next_deadline(), Some(t(1000)));
    let out = e.handle(t(500), Input::Tick).unwrap();
    assert!(out.is_empty());
    let out = e.handle(t(1000), Input::Tick).unwrap();
    let m = installs(&out);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].id,
        MembershipId {
            seq: 42,
            coordinator: member("a", 4)
        }
    );
    assert_eq!(m[0].members, vec![member("a", 4)]);
    assert!(
        sent(&out)
            .iter()
            .all(|(_, b)| matches!(b, Body::Gossip { .. })),
        "a membership of one needs no round"
    );
}

/// Makes `b` (generation 1) hear `a` and know `a`'s entry saying it hears `b`, so that
/// `b`'s target is {a, b}. Returns a's entry.
fn b_knows_a(b: &mut Engine) {
    peer_up(b, 1, "a", 1);
    let entry = Entry {
        node: member("a", 1),
        version: 5,
        hears: vec![member("b", 1)],
        digest: 0,
        installed: None,
    };
    let bytes = msg(
        member("a", 1),
        Body::Gossip {
            mode: GossipMode::Delta,
            entries: vec![entry],
        },
    );
    deliver(b, 10, "a", &bytes).unwrap();
    assert_eq!(b.target(), &[member("a", 1), member("b", 1)]);
}

#[test]
fn a_member_accepts_a_proposal_of_its_target_and_installs_on_commit() {
    let mut b = engine("b", 1, 0, &["a", "b"]);
    b_knows_a(&mut b);
    let id = MembershipId {
        seq: 7,
        coordinator: member("a", 1),
    };
    let members = vec![member("a", 1), member("b", 1)];
    let p = propose(member("a", 1), id.clone(), members.clone());
    let out = deliver(&mut b, 3, "a", &p).unwrap();
    assert_eq!(
        sent(&out),
        vec![(Destination::One(name("a")), Body::Accept { id: id.clone() })]
    );
    // A duplicate is answered again.
    let out = deliver(&mut b, 4, "a", &p).unwrap();
    assert_eq!(
        sent(&out),
        vec![(Destination::One(name("a")), Body::Accept { id: id.clone() })]
    );
    let c = msg(member("a", 1), Body::Commit { id: id.clone() });
    let out = deliver(&mut b, 5, "a", &c).unwrap();
    let m = installs(&out);
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].id.clone(), m[0].members.clone()),
        (id.clone(), members)
    );
    assert_eq!(m[0].formed_at, t(5));
    // A second commit installs nothing.
    let out = deliver(&mut b, 6, "a", &c).unwrap();
    assert!(installs(&out).is_empty());
    // A lower seq is refused now.
    let old = MembershipId {
        seq: 6,
        coordinator: member("a", 1),
    };
    let p = propose(
        member("a", 1),
        old.clone(),
        vec![member("a", 1), member("b", 1)],
    );
    let out = deliver(&mut b, 7, "a", &p).unwrap();
    assert_eq!(
        sent(&out),
        vec![(
            Destination::One(name("a")),
            Body::Reject {
                id: old,
                reason: RejectReason::SeqTooLow,
                promised: 7
            }
        )]
    );
}

#[test]
fn a_proposal_that_is_not_the_members_target_is_refused() {
    let mut b = engine("b", 1, 0, &["a", "b", "c"]);
    b_knows_a(&mut b);
    // a proposes {a, b, c}, but b does not hear c.
    let id = MembershipId {
        seq: 1,
        coordinator: member("a", 1),
    };
    let p = propose(
        member("a", 1),
        id.clone(),
        vec![member("a", 1), member("b", 1), member("c", 1)],
    );
    let out = deliver(&mut b, 3, "a", &p).unwrap();
    assert_eq!(
        sent(&out),
        vec![(
            Destination::One(name("a")),
            Body::Reject {
                id: id.clone(),
                reason: RejectReason::NotTarget,
                promised: 0
            }
        )]
    );
    // And a commit for it is ignored.
    let c = msg(member("a", 1), Body::Commit { id });
    let out = deliver(&mut b, 4, "a", &c).unwrap();
    assert!(installs(&out).is_empty());
}

#[test]
fn a_proposal_for_an_old_incarnation_is_ignored() {
    let mut b = engine("b", 2, 0, &["a", "b"]);
    peer_up(&mut b, 1, "a", 1);
    let id = MembershipId {
        seq: 1,
        coordinator: member("a", 1),
    };
    let p = propose(member("a", 1), id, vec![member("a", 1), member("b", 1)]);
    let out = deliver(&mut b, 3, "a", &p).unwrap();
    assert!(sent(&out).is_empty(), "b/1 is not b/2");
}

#[test]
fn protocol_violations_and_bad_bytes_are_errors() {
    let mut b = engine("b", 1, 0, &["a", "b"]);
    let before = b.stats().clone();
    let err = b
        .handle(
            t(1),
            Input::Message {
                from: name("a"),
                bytes: &[1, 2, 3],
            },
        )
        .unwrap_err();
    assert!(matches!(err, InputError::Malformed { .. }), "{err}");
    // A sender that is not the authenticated one.
    let id = MembershipId {
        seq: 1,
        coordinator: member("c", 1),
    };
    let bytes = msg(member("c", 1), Body::Commit { id: id.clone() });
    let err = deliver(&mut b, 2, "a", &bytes).unwrap_err();
    assert_eq!(
        err,
        InputError::WrongSender {
            from: name("a"),
            claimed: name("c")
        }
    );
    // A proposal by someone other than its coordinator.
    let bytes = propose(member("a", 1), id, vec![member("b", 1), member("c", 1)]);
    let err = deliver(&mut b, 3, "a", &bytes).unwrap_err();
    assert!(matches!(err, InputError::Protocol { .. }), "{err}");
    // Events about itself.
    let err = b
        .handle(t(4), Input::PeerDown { node: name("b") })
        .unwrap_err();
    assert_eq!(err, InputError::AboutSelf);
    assert_eq!(b.stats(), &before, "nothing was counted as received");
}

#[test]
fn a_restart_is_a_new_member() {
    let mut c = Cluster::new(&["a", "b"]);
    c.connect_all();
    c.settle(5_000);
    c.installed.clear();
    // b restarts: a new engine at generation 2, which remembers seq 1.
    c.nodes[1].1 = Engine::new(
        Config {
            node: name("b"),
            generation: Generation(2),
            last_seq: 1,
            timings: Timings::default(),
            quorum: QuorumConfig::default(),
        },
        t(c.now),
    )
    .unwrap();
    c.queue.clear();
    c.input(
        0,
        Input::PeerUp {
            node: name("b"),
            generation: Generation(2),
        },
    );
    c.input(
        1,
        Input::PeerUp {
            node: name("a"),
            generation: Generation(1),
        },
    );
    c.settle(5_000);
    assert_eq!(c.installed.len(), 2, "{:?}", c.installed);
    for (_, m) in &c.installed {
        assert_eq!(m.members, vec![member("a", 1), member("b", 2)]);
        assert_eq!(m.id.seq, 2);
    }
    let (_, on_a) = &c.installed.iter().find(|(n, _)| n == "a").unwrap();
    assert_eq!(on_a.left, vec![member("b", 1)]);
    assert_eq!(on_a.joined, vec![member("b", 2)]);
}

#[test]
fn an_asymmetric_link_settles_on_the_documented_outcome() {
    // b does not hear a; a hears b; c hears and is heard by both. The rule: {a, c}, {b}.
    let mut c = Cluster::new(&["a", "b", "c"]);
    let up = |c: &mut Cluster, i: usize, n: &str| {
        c.input(
            i,
            Input::PeerUp {
                node: name(n),
                generation: Generation(1),
            },
        )
    };
    up(&mut c, 0, "b");
    up(&mut c, 0, "c");
    up(&mut c, 1, "c");
    up(&mut c, 2, "a");
    up(&mut c, 2, "b");
    // Messages from a to b are lost (b does not hear a).
    let mut end = c.now + 5_000;
    while c.now < end {
        c.queue.retain(|(j, from, _)| !(*j == 1 && from == "a"));
        let before = c.now;
        c.settle(1);
        if c.now == before && c.queue.is_empty() {
            // Jump to the next deadline.
            match c.nodes.iter().filter_map(|(_, e)| e.next_deadline()).min() {
                Some(d) => c.now = d.as_millis().saturating_sub(1).max(c.now),
                None => break,
            }
            end = end.max(c.now + 1);
        }
        if c.now >= end {
            break;
        }
    }
    let on = |n: &str| c.nodes[c.index(n)].1.installed().map(|m| m.members.clone());
    assert_eq!(on("a"), Some(vec![member("a", 1), member("c", 1)]));
    assert_eq!(on("c"), Some(vec![member("a", 1), member("c", 1)]));
    assert_eq!(on("b"), Some(vec![member("b", 1)]));
    let _ = Duration::ZERO;
}

#[test]
fn a_duplicate_proposal_after_the_view_changed_is_refused() {
    let mut b = engine("b", 1, 0, &["a", "b"]);
    b_knows_a(&mut b);
    let id = MembershipId {
        seq: 3,
        coordinator: member("a", 1),
    };
    let p = propose(
        member("a", 1),
        id.clone(),
        vec![member("a", 1), member("b", 1)],
    );
    let out = deliver(&mut b, 20, "a", &p).unwrap();
    assert_eq!(
        sent(&out),
        vec![(Destination::One(name("a")), Body::Accept { id: id.clone() })]
    );
    // b stops hearing a; the proposal arrives again (a duplicate): b no longer vouches.
    b.handle(t(21), Input::PeerDown { node: name("a") })
        .unwrap();
    let out = deliver(&mut b, 40, "a", &p).unwrap();
    assert!(
        sent(&out).contains(&(
            Destination::One(name("a")),
            Body::Reject {
                id,
                reason: RejectReason::NotTarget,
                promised: 3
            }
        )),
        "{:?}",
        sent(&out)
    );
}
