//! The simulated world: nodes running membership engines, a clock, a network and a
//! failure-detector model, driven by one event queue.
//!
//! Everything happens at simulated times, in the order of a single queue keyed by
//! `(time, insertion number)`, and every random choice comes from one seeded stream: a
//! run is a pure function of its configuration and seed.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use halo_heartbeat::{
    Detector, DetectorConfig, Heartbeat, LinkName, NodeState, PeerId, PeerStatus, Timing,
};
use halo_membership::wire::{Body, Message};
use halo_membership::{
    Config, Destination, Engine, Input, Member, Membership, Output, QuorumConfig, Timings,
};
use halo_types::{Generation, NodeName, Timestamp};

use crate::invariants::{Invariant, Violation};
use crate::rng::Rng;

/// How the network treats membership messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMode {
    /// The guarantees of `halo-messaging`: per sender and receiver, in order and exactly
    /// once while both stay alive and see each other; messages waiting on a cut link are
    /// retransmitted until it heals, and lost when either side's failure detector
    /// declares the other dead or either restarts.
    Reliable,
    /// Raw datagrams: each message may be lost, duplicated, delayed and reordered, and is
    /// lost if the link is cut when it arrives. Harsher than anything `halod` will see;
    /// safety must hold regardless.
    Datagram,
}

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Reliable or datagram.
    pub mode: NetMode,
    /// One-way latency, drawn uniformly per message.
    pub latency: (Duration, Duration),
    /// Chance that a message is slow instead (a latency spike) …
    pub spike_chance: f64,
    /// … and how slow.
    pub spike: (Duration, Duration),
    /// Datagram mode: chance a message is lost.
    pub loss: f64,
    /// Datagram mode: chance a message is delivered twice.
    pub dup: f64,
    /// Reliable mode: how often a message waiting on a cut link is retried.
    pub retransmit: Duration,
}

/// The failure detector's timings (`ha.cf` `keepalive` and `deadtime`) and which one runs.
#[derive(Debug, Clone, Copy)]
pub struct FdConfig {
    /// Heartbeat interval: a peer is noticed alive within one interval of being heard.
    pub keepalive: Duration,
    /// A peer silent this long is declared dead.
    pub deadtime: Duration,
    /// Run `halo-heartbeat`'s real detector on simulated heartbeats (every keepalive, to
    /// every peer, over the same links and losses as messages) instead of the model.
    pub real: bool,
}

/// Everything that defines a simulated cluster (with the seed, a whole run).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes.
    pub nodes: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// The network.
    pub net: NetConfig,
    /// The failure detector.
    pub fd: FdConfig,
    /// Time a node spends handling one message (nodes handle one input at a time).
    pub cpu_per_message: Duration,
    /// The engines' timings.
    pub timings: Timings,
}

impl SimConfig {
    /// A LAN with the defaults: reliable messaging, 50–500 µs latency with rare spikes,
    /// keepalive 100 ms / deadtime 500 ms, 10 µs per message.
    pub fn lan(nodes: usize, seed: u64) -> Self {
        SimConfig {
            nodes,
            seed,
            net: NetConfig {
                mode: NetMode::Reliable,
                latency: (Duration::from_micros(50), Duration::from_micros(500)),
                spike_chance: 0.001,
                spike: (Duration::from_millis(2), Duration::from_millis(20)),
                loss: 0.0,
                dup: 0.0,
                retransmit: Duration::from_millis(50),
            },
            fd: FdConfig {
                keepalive: Duration::from_millis(100),
                deadtime: Duration::from_millis(500),
                real: false,
            },
            cpu_per_message: Duration::from_micros(10),
            timings: Timings::default(),
        }
    }
}

/// One simulated node.
#[derive(Debug)]
pub struct Node {
    /// Its name (`n01`, `n02`, …: sorted like the index).
    pub name: NodeName,
    /// Its current (or last) generation.
    pub generation: Generation,
    /// Its engine; `None` while crashed.
    pub engine: Option<Engine>,
    /// Its failure detector, when the real one runs.
    detector: Option<Detector>,
    /// The generation of the last heartbeat it received from each peer.
    heard_generation: Vec<Option<Generation>>,
    det_token: u64,
    /// When its detector's pending tick is due.
    det_at: Option<Timestamp>,
    /// What `halod` would have persisted: the last installed seq.
    pub persisted_seq: u64,
    busy_until: Timestamp,
    tick_token: u64,
    tick_at: Option<Timestamp>,
}

impl Node {
    /// Whether the node runs.
    pub fn alive(&self) -> bool {
        self.engine.is_some()
    }

    /// Its current incarnation.
    pub fn member(&self) -> Member {
        Member::new(self.name.clone(), self.generation)
    }

    /// The membership it has installed.
    pub fn installed(&self) -> Option<&Membership> {
        self.engine.as_ref().and_then(|e| e.installed())
    }
}

/// What one observer's failure detector believes about one peer.
#[derive(Debug, Clone, Default)]
struct Belief {
    /// `Some(generation)` while the peer is believed alive.
    up: Option<Generation>,
    /// Invalidates pending timers when the situation changes.
    token: u64,
}

/// Reliable mode: one direction of one pair.
#[derive(Debug, Default)]
struct Channel {
    queue: VecDeque<(Timestamp, Rc<[u8]>)>,
    head_scheduled: bool,
}

#[derive(Debug)]
enum Event {
    /// Reliable mode: try to deliver the head of a channel.
    Head {
        from: usize,
        to: usize,
    },
    /// Datagram mode: one datagram arrives.
    Datagram {
        from: usize,
        to: usize,
        bytes: Rc<[u8]>,
    },
    FdUp {
        observer: usize,
        peer: usize,
        token: u64,
    },
    FdDown {
        observer: usize,
        peer: usize,
        token: u64,
    },
    Tick {
        node: usize,
        token: u64,
    },
    Start {
        node: usize,
    },
    /// Real detector: node sends its heartbeats (generation: which life sends them).
    Beat {
        node: usize,
        generation: Generation,
    },
    /// Real detector: a heartbeat arrives.
    Heartbeat {
        from: usize,
        to: usize,
        generation: Generation,
    },
    /// Real detector: its deadline.
    DetectorTick {
        node: usize,
        token: u64,
    },
}

/// The healing phase's bookkeeping.
#[derive(Debug, Clone)]
pub struct Healing {
    /// When the network became stable.
    pub since: Timestamp,
    /// The memberships the rule gives for the stable network (alive nodes only).
    pub expected: Vec<Vec<Member>>,
    /// When every alive node had installed its expected membership.
    pub converged_at: Option<Timestamp>,
    /// The last change of any failure detector's mind before convergence.
    pub last_fd_change: Timestamp,
    /// How long the healing phase may take before that counts as a liveness failure.
    pub bound: Duration,
}

/// Counters of a run.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Events processed.
    pub events: u64,
    /// Messages delivered to engines.
    pub delivered: u64,
    /// Messages dropped by the network model.
    pub dropped: u64,
    /// Memberships installed (over all nodes).
    pub installs: u64,
    /// Inputs the engines refused.
    pub refused: u64,
    /// Messages sent, counting each copy of a broadcast.
    pub sent: u64,
    /// Bytes sent, counting each copy of a broadcast.
    pub sent_bytes: u64,
    /// The largest message sent.
    pub largest: usize,
}

/// The simulated world.
pub struct Sim {
    /// Its configuration.
    pub cfg: SimConfig,
    rng: Rng,
    now: Timestamp,
    seq: u64,
    queue: BTreeMap<(Timestamp, u64), Event>,
    /// The nodes, in name order.
    pub nodes: Vec<Node>,
    /// `link_up[a][b]`: packets from `a` reach `b`.
    link_up: Vec<Vec<bool>>,
    chans: Vec<Vec<Channel>>,
    beliefs: Vec<Vec<Belief>>,
    invariants: Vec<Box<dyn Invariant>>,
    installs_in_step: usize,
    pending_violation: Option<Violation>,
    same_time: u32,
    /// When a failure detector last changed its mind (any node about any peer).
    pub last_fd_change: Timestamp,
    /// The healing phase, once started.
    pub healing: Option<Healing>,
    /// Counters.
    pub counters: Counters,
    /// Print every event and output (for replaying a failing seed).
    pub trace: bool,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("nodes", &self.cfg.nodes)
            .field("seed", &self.cfg.seed)
            .field("now", &self.now)
            .finish()
    }
}

/// The name of node `i` (`n01` …): zero-padded so that name order is index order.
pub fn node_name(i: usize) -> NodeName {
    // Names of this shape are always valid.
    NodeName::new(&format!("n{:02}", i + 1)).unwrap_or_else(|_| unreachable!())
}

impl Sim {
    /// A world of `cfg.nodes` nodes, none started, all links up, checked by `invariants`.
    pub fn new(cfg: SimConfig, invariants: Vec<Box<dyn Invariant>>) -> Self {
        let n = cfg.nodes;
        let nodes = (0..n)
            .map(|i| Node {
                name: node_name(i),
                generation: Generation(0),
                engine: None,
                persisted_seq: 0,
                detector: None,
                heard_generation: vec![None; n],
                det_token: 0,
                det_at: None,
                busy_until: Timestamp::ZERO,
                tick_token: 0,
                tick_at: None,
            })
            .collect();
        Sim {
            rng: Rng::new(cfg.seed),
            now: Timestamp::ZERO,
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            link_up: vec![vec![true; n]; n],
            chans: (0..n)
                .map(|_| (0..n).map(|_| Channel::default()).collect())
                .collect(),
            beliefs: vec![vec![Belief::default(); n]; n],
            invariants,
            installs_in_step: 0,
            pending_violation: None,
            same_time: 0,
            last_fd_change: Timestamp::ZERO,
            healing: None,
            counters: Counters::default(),
            trace: false,
            cfg,
        }
    }

    /// The simulated time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The random stream (for scenarios).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Whether packets from `from` reach `to`.
    pub fn link(&self, from: usize, to: usize) -> bool {
        self.link_up[from][to]
    }

    /// What `observer`'s failure detector believes about `peer`.
    pub fn belief(&self, observer: usize, peer: usize) -> Option<Generation> {
        self.beliefs[observer][peer].up
    }

    /// Whether `observer`'s failure detector will, once settled, hear `peer`: both run and
    /// the link from `peer` to `observer` is up.
    pub fn hears(&self, observer: usize, peer: usize) -> bool {
        self.nodes[observer].alive() && self.nodes[peer].alive() && self.link_up[peer][observer]
    }

    /// The index of the node called `name`.
    pub fn index_of(&self, name: &NodeName) -> Option<usize> {
        self.nodes.iter().position(|n| &n.name == name)
    }

    /// The incarnations `observer` believes alive (its own included).
    pub fn believed_alive(&self, observer: usize) -> Vec<Member> {
        let mut v: Vec<Member> = (0..self.nodes.len())
            .filter_map(|p| {
                self.belief(observer, p)
                    .map(|g| Member::new(self.nodes[p].name.clone(), g))
            })
            .collect();
        v.push(self.nodes[observer].member());
        v.sort();
        v
    }

    /// How many memberships were installed in the step being checked.
    pub fn installs_in_step(&self) -> usize {
        self.installs_in_step
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.trace {
            println!("{:>12} {}", self.now.to_string(), what());
        }
    }

    fn schedule(&mut self, at: Timestamp, ev: Event) {
        self.seq += 1;
        self.queue.insert((at.max(self.now), self.seq), ev);
    }

    fn latency(&mut self) -> Duration {
        let net = &self.cfg.net;
        let (lo, hi) = if self.rng.chance(net.spike_chance) {
            net.spike
        } else {
            net.latency
        };
        self.rng.duration(lo, hi)
    }

    // ---- actions (scenarios call these) --------------------------------------------------

    /// Starts node `i` at `at` (first start or restart after a crash).
    pub fn start_at(&mut self, i: usize, at: Timestamp) {
        self.schedule(at, Event::Start { node: i });
    }

    fn start(&mut self, i: usize) {
        if self.nodes[i].alive() {
            return;
        }
        let now = self.now;
        let node = &mut self.nodes[i];
        node.generation = Generation(node.generation.0 + 1);
        let quorum = QuorumConfig {
            nodes: (0..self.cfg.nodes).map(node_name).collect(),
            ..QuorumConfig::default()
        };
        let config = Config {
            node: node.name.clone(),
            generation: node.generation,
            last_seq: node.persisted_seq,
            timings: self.cfg.timings.clone(),
            quorum,
        };
        match Engine::new(config, now) {
            Ok(e) => node.engine = Some(e),
            Err(e) => panic!("simulator built an invalid quorum configuration: {e}"),
        }
        node.busy_until = now;
        let generation = node.generation;
        if self.cfg.fd.real {
            let ka = self.cfg.fd.keepalive;
            let dead = self.cfg.fd.deadtime;
            let nodes = (0..self.cfg.nodes).map(node_name).collect();
            let node = &mut self.nodes[i];
            node.detector = Some(Detector::new(
                DetectorConfig {
                    local: node.name.clone(),
                    nodes,
                    links: vec![LinkName::new("net")],
                    ping_nodes: Vec::new(),
                    ping_groups: Vec::new(),
                    timing: Timing {
                        warntime: dead / 2,
                        deadtime: dead,
                        initdead: dead * 2,
                        deadping: dead,
                    },
                },
                now,
            ));
            node.heard_generation.iter_mut().for_each(|g| *g = None);
            node.det_at = None;
            let phase = self.rng.duration(Duration::ZERO, ka);
            self.schedule(
                now + phase,
                Event::Beat {
                    node: i,
                    generation,
                },
            );
            self.detector_deadline(i);
        }
        self.log(|| format!("start {} generation {}", node_name(i), generation));
        let n = self.nodes.len();
        for p in 0..n {
            if p != i {
                self.beliefs[i][p] = Belief {
                    up: None,
                    token: self.beliefs[i][p].token + 1,
                };
                self.reset_channels(i, p);
                self.fd_reassess(i, p);
                self.fd_reassess(p, i);
            }
        }
        self.after_handle(i);
    }

    /// Crashes node `i` now: its engine and everything in flight to or from it are lost.
    pub fn crash(&mut self, i: usize) {
        if self.nodes[i].engine.take().is_none() {
            return;
        }
        self.log(|| format!("crash {}", node_name(i)));
        self.nodes[i].detector = None;
        self.nodes[i].det_at = None;
        self.nodes[i].det_token += 1;
        self.nodes[i].tick_token += 1;
        self.nodes[i].tick_at = None;
        for p in 0..self.nodes.len() {
            if p != i {
                self.reset_channels(i, p);
                self.beliefs[i][p] = Belief {
                    up: None,
                    token: self.beliefs[i][p].token + 1,
                };
                self.fd_reassess(p, i);
            }
        }
    }

    /// Sets whether packets from `from` reach `to`.
    pub fn set_link(&mut self, from: usize, to: usize, up: bool) {
        if from == to || self.link_up[from][to] == up {
            return;
        }
        self.log(|| {
            format!(
                "link {}→{} {}",
                node_name(from),
                node_name(to),
                if up { "up" } else { "cut" }
            )
        });
        self.link_up[from][to] = up;
        self.fd_reassess(to, from);
        if up && self.cfg.net.mode == NetMode::Reliable {
            self.kick(from, to);
        }
    }

    /// Makes `observer`'s failure detector wrongly declare `peer` dead now (lost
    /// heartbeats); it hears `peer` again a little later if the link is up.
    pub fn fd_blip(&mut self, observer: usize, peer: usize) {
        if !self.nodes[observer].alive()
            || self.beliefs[observer][peer].up.is_none()
            || self.cfg.fd.real
        {
            return;
        }
        self.log(|| format!("fd blip: {} loses {}", node_name(observer), node_name(peer)));
        let b = &mut self.beliefs[observer][peer];
        b.token += 1;
        b.up = None;
        self.last_fd_change = self.now;
        self.declare_down(observer, peer);
        let ka = self.cfg.fd.keepalive;
        let back = self.rng.duration(ka, ka * 3);
        let token = self.beliefs[observer][peer].token;
        if self.hears(observer, peer) {
            self.schedule(
                self.now + back,
                Event::FdUp {
                    observer,
                    peer,
                    token,
                },
            );
        }
    }

    /// Begins the healing phase: the network is stable from now on. Records the expected
    /// outcome (the rule applied to who hears whom) and the bound for reaching it.
    pub fn begin_healing(&mut self, bound: Duration) {
        let alive: std::collections::BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive())
            .collect();
        let parts = halo_membership::rule::partition_names(&alive, |&a, &b| self.hears(a, b));
        let expected = parts
            .into_iter()
            .map(|p| p.into_iter().map(|i| self.nodes[i].member()).collect())
            .collect();
        self.log(|| format!("healing: expecting {expected:?}"));
        self.healing = Some(Healing {
            since: self.now,
            expected,
            converged_at: None,
            last_fd_change: self.now,
            bound,
        });
        self.installs_in_step = 1; // check convergence at once
        if let Err(v) = self.check() {
            self.pending_violation = Some(v);
        }
    }

    // ---- failure detector model --------------------------------------------------------

    /// Re-evaluates what `observer` will come to believe about `peer`.
    fn fd_reassess(&mut self, observer: usize, peer: usize) {
        if observer == peer || !self.nodes[observer].alive() || self.cfg.fd.real {
            return;
        }
        let heard = self.hears(observer, peer);
        let gen_now = self.nodes[peer].generation;
        let ka = self.cfg.fd.keepalive;
        let dead = self.cfg.fd.deadtime;
        self.beliefs[observer][peer].token += 1;
        let token = self.beliefs[observer][peer].token;
        let up = self.beliefs[observer][peer].up;
        if heard {
            if up != Some(gen_now) {
                // The next heartbeat arrives within one keepalive.
                let d = self.rng.duration(Duration::ZERO, ka);
                let l = self.latency();
                self.schedule(
                    self.now + d + l,
                    Event::FdUp {
                        observer,
                        peer,
                        token,
                    },
                );
            }
        } else if up.is_some() {
            // The last heartbeat arrived up to one keepalive ago.
            let since_last = self.rng.duration(Duration::ZERO, ka.min(dead));
            self.schedule(
                self.now + (dead - since_last),
                Event::FdDown {
                    observer,
                    peer,
                    token,
                },
            );
        }
    }

    /// Real detector: the nodes its events are about.
    fn mentioned(&self, events: &[halo_heartbeat::Event]) -> Vec<usize> {
        events
            .iter()
            .filter_map(|e| match e {
                halo_heartbeat::Event::NodeChanged {
                    peer: PeerId::Node(n),
                    ..
                }
                | halo_heartbeat::Event::Restarted { node: n, .. } => self.index_of(n),
                _ => None,
            })
            .collect()
    }

    /// Real detector: turns its state for `peers` into `PeerUp` / `PeerDown` for the
    /// engine, as `halod` does (a new generation of a live peer is a `PeerUp`).
    fn sync_beliefs(&mut self, observer: usize, peers: &[usize]) {
        for &p in peers {
            let Some(d) = self.nodes[observer].detector.as_ref() else {
                return;
            };
            let alive = matches!(
                d.state(&PeerId::Node(self.nodes[p].name.clone())),
                Some(NodeState::Up | NodeState::Active)
            );
            let generation = self.nodes[observer].heard_generation[p];
            let belief = self.beliefs[observer][p].up;
            match (alive, generation) {
                (true, Some(g)) if belief != Some(g) => {
                    self.beliefs[observer][p].up = Some(g);
                    self.last_fd_change = self.now;
                    self.deliver_input(
                        observer,
                        Input::PeerUp {
                            node: self.nodes[p].name.clone(),
                            generation: g,
                        },
                    );
                }
                (false, _) if belief.is_some() => {
                    self.beliefs[observer][p].up = None;
                    self.last_fd_change = self.now;
                    self.declare_down(observer, p);
                }
                _ => {}
            }
        }
    }

    /// Real detector: arms its timer if its deadline is earlier than the pending tick.
    fn detector_deadline(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(at) = node.detector.as_ref().and_then(|d| d.next_deadline()) else {
            return;
        };
        if node.det_at.is_some_and(|pending| pending <= at) {
            return;
        }
        node.det_token += 1;
        node.det_at = Some(at);
        let token = node.det_token;
        self.schedule(at, Event::DetectorTick { node: i, token });
    }

    fn declare_down(&mut self, observer: usize, peer: usize) {
        // The messaging layer gives up on the peer in both directions.
        self.reset_channels(observer, peer);
        self.deliver_input(
            observer,
            Input::PeerDown {
                node: self.nodes[peer].name.clone(),
            },
        );
    }

    // ---- network model -----------------------------------------------------------------

    fn reset_channels(&mut self, a: usize, b: usize) {
        for (x, y) in [(a, b), (b, a)] {
            let c = &mut self.chans[x][y];
            self.counters.dropped += c.queue.len() as u64;
            c.queue.clear();
        }
    }

    fn kick(&mut self, from: usize, to: usize) {
        let c = &mut self.chans[from][to];
        if c.head_scheduled {
            return;
        }
        if let Some(&(at, _)) = c.queue.front() {
            c.head_scheduled = true;
            self.schedule(at, Event::Head { from, to });
        }
    }

    fn send(&mut self, from: usize, to: usize, bytes: Rc<[u8]>) {
        match self.cfg.net.mode {
            NetMode::Reliable => {
                let at = self.now + self.latency();
                // FIFO: never before the message ahead of it.
                let at = self.chans[from][to]
                    .queue
                    .back()
                    .map_or(at, |&(prev, _)| at.max(prev));
                self.chans[from][to].queue.push_back((at, bytes));
                self.kick(from, to);
            }
            NetMode::Datagram => {
                if self.rng.chance(self.cfg.net.loss) {
                    self.counters.dropped += 1;
                    return;
                }
                let copies = if self.rng.chance(self.cfg.net.dup) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let at = self.now + self.latency();
                    self.schedule(
                        at,
                        Event::Datagram {
                            from,
                            to,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
        }
    }

    // ---- engines -------------------------------------------------------------------------

    fn deliver_input(&mut self, i: usize, input: Input<'_>) {
        let now = self.now;
        let Some(engine) = self.nodes[i].engine.as_mut() else {
            return;
        };
        if self.trace {
            let shown = match &input {
                Input::Message { from, bytes } => match Message::decode(bytes) {
                    Ok(m) => format!("from {from}: {:?}", m.body),
                    Err(e) => format!("from {from}: undecodable: {e}"),
                },
                other => format!("{other:?}"),
            };
            println!("{:>12} {} ← {}", now.to_string(), node_name(i), shown);
        }
        match engine.handle(now, input) {
            Ok(outputs) => self.apply(i, outputs),
            Err(e) => {
                self.counters.refused += 1;
                self.log(|| format!("{} refused input: {e}", node_name(i)));
            }
        }
        self.after_handle(i);
    }

    fn after_handle(&mut self, i: usize) {
        let Some(engine) = self.nodes[i].engine.as_ref() else {
            return;
        };
        let deadline = engine.next_deadline();
        let node = &mut self.nodes[i];
        if deadline != node.tick_at {
            node.tick_token += 1;
            node.tick_at = deadline;
            if let Some(at) = deadline {
                let token = node.tick_token;
                self.schedule(at, Event::Tick { node: i, token });
            }
        }
    }

    fn apply(&mut self, i: usize, outputs: Vec<Output>) {
        for out in outputs {
            match out {
                Output::Send { to, bytes } => {
                    let msg = Message::decode(&bytes);
                    if let Ok(msg) = &msg {
                        self.observe_send(i, msg);
                    }
                    if self.trace {
                        let shown = match &msg {
                            Ok(m) => format!("{:?}", m.body),
                            Err(e) => format!("undecodable: {e}"),
                        };
                        println!(
                            "{:>12} {} → {:?}: {}",
                            self.now.to_string(),
                            node_name(i),
                            to,
                            shown
                        );
                    }
                    let copies = match to {
                        Destination::One(_) => 1,
                        Destination::All => self.nodes.len() as u64 - 1,
                    };
                    self.counters.sent += copies;
                    self.counters.sent_bytes += copies * bytes.len() as u64;
                    self.counters.largest = self.counters.largest.max(bytes.len());
                    let bytes: Rc<[u8]> = bytes.into();
                    match to {
                        Destination::One(name) => {
                            if let Some(j) = self.index_of(&name) {
                                self.send(i, j, bytes);
                            }
                        }
                        Destination::All => {
                            for j in 0..self.nodes.len() {
                                if j != i {
                                    self.send(i, j, bytes.clone());
                                }
                            }
                        }
                    }
                }
                Output::Install(m) => {
                    self.log(|| {
                        format!(
                            "{} INSTALLS {} {:?} quorate={}",
                            node_name(i),
                            m.id,
                            m.members.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                            m.quorum.quorate
                        )
                    });
                    self.counters.installs += 1;
                    self.installs_in_step += 1;
                    self.observe_install(i, &m);
                    self.nodes[i].persisted_seq = m.id.seq;
                }
            }
        }
    }

    // ---- invariants ------------------------------------------------------------------------

    fn observe_send(&mut self, i: usize, msg: &Message) {
        if matches!(msg.body, Body::Accept { .. } | Body::Propose { .. }) {
            self.observe(|v, sim| v.on_send(sim, i, msg));
        }
    }

    fn observe_install(&mut self, i: usize, m: &Membership) {
        self.observe(|v, sim| v.on_install(sim, i, m));
    }

    /// Shows something to every invariant; the first complaint stops the run after the step.
    fn observe(&mut self, mut f: impl FnMut(&mut dyn Invariant, &Sim) -> Result<(), String>) {
        let mut inv = std::mem::take(&mut self.invariants);
        for v in &mut inv {
            if let Err(e) = f(v.as_mut(), self) {
                self.pending_violation.get_or_insert(Violation {
                    invariant: v.name(),
                    at: self.now,
                    what: e,
                });
            }
        }
        self.invariants = inv;
    }

    fn check(&mut self) -> Result<(), Violation> {
        if let Some(v) = self.pending_violation.take() {
            return Err(v);
        }
        let mut inv = std::mem::take(&mut self.invariants);
        let mut result = Ok(());
        for v in &mut inv {
            if let Err(e) = v.after_step(self) {
                result = Err(Violation {
                    invariant: v.name(),
                    at: self.now,
                    what: e,
                });
                break;
            }
        }
        self.invariants = inv;
        if result.is_ok()
            && self
                .healing
                .as_ref()
                .is_some_and(|h| h.converged_at.is_none())
            && crate::invariants::convergence::is_converged(self)
        {
            let now = self.now;
            let fd = self.last_fd_change;
            if let Some(h) = self.healing.as_mut() {
                h.converged_at = Some(now);
                h.last_fd_change = fd;
            }
            self.log(|| "converged".to_string());
        }
        self.installs_in_step = 0;
        result
    }

    // ---- the loop ------------------------------------------------------------------------

    /// Processes events up to and including time `until`, checking the invariants after
    /// every one.
    pub fn run_until(&mut self, until: Timestamp) -> Result<(), Violation> {
        if let Some(v) = self.pending_violation.take() {
            return Err(v);
        }
        while let Some(entry) = self.queue.first_entry() {
            let (at, _) = *entry.key();
            if at > until {
                break;
            }
            let ev = entry.remove();
            if at == self.now {
                self.same_time += 1;
                if self.same_time > 100_000 {
                    return Err(Violation {
                        invariant: "time advances",
                        at,
                        what: format!("more than 100000 events at {at}: a busy loop; next: {ev:?}"),
                    });
                }
            } else {
                self.same_time = 0;
            }
            self.now = at;
            self.counters.events += 1;
            self.step(ev);
            self.check()?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Whether anything is scheduled.
    pub fn idle(&self) -> bool {
        self.queue.is_empty()
    }

    fn busy(&mut self, i: usize) -> Option<Timestamp> {
        let b = self.nodes[i].busy_until;
        (b > self.now).then_some(b)
    }

    fn step(&mut self, ev: Event) {
        match ev {
            Event::Start { node } => self.start(node),
            Event::Beat { node, generation } => {
                if !self.nodes[node].alive() || self.nodes[node].generation != generation {
                    return;
                }
                for to in 0..self.nodes.len() {
                    if to == node || !self.link_up[node][to] {
                        continue;
                    }
                    if self.rng.chance(self.cfg.net.loss) {
                        continue;
                    }
                    let at = self.now + self.latency();
                    self.schedule(
                        at,
                        Event::Heartbeat {
                            from: node,
                            to,
                            generation,
                        },
                    );
                }
                let next = self.now + self.cfg.fd.keepalive;
                self.schedule(next, Event::Beat { node, generation });
            }
            Event::Heartbeat {
                from,
                to,
                generation,
            } => {
                if !self.link_up[from][to] {
                    return;
                }
                let now = self.now;
                let hb = Heartbeat {
                    from: self.nodes[from].name.clone(),
                    link: LinkName::new("net"),
                    generation,
                    status: PeerStatus::Active,
                    deadtime: None,
                };
                let Some(d) = self.nodes[to].detector.as_mut() else {
                    return;
                };
                let events = d.heartbeat(now, &hb);
                let seen = &mut self.nodes[to].heard_generation[from];
                if seen.is_none_or(|g| g < generation) {
                    *seen = Some(generation);
                }
                let mut peers = vec![from];
                peers.extend(self.mentioned(&events));
                self.sync_beliefs(to, &peers);
                // A heartbeat that changes nothing only moves deadlines later: the pending
                // tick stays (it re-arms itself when it finds nothing due).
                if !events.is_empty() {
                    self.detector_deadline(to);
                }
            }
            Event::DetectorTick { node, token } => {
                if self.nodes[node].det_token != token {
                    return;
                }
                self.nodes[node].det_at = None;
                let now = self.now;
                let Some(d) = self.nodes[node].detector.as_mut() else {
                    return;
                };
                let events = d.tick(now);
                let peers = self.mentioned(&events);
                self.sync_beliefs(node, &peers);
                self.detector_deadline(node);
            }
            Event::Tick { node, token } => {
                if self.nodes[node].tick_token == token {
                    self.nodes[node].tick_at = None;
                    self.deliver_input(node, Input::Tick);
                }
            }
            Event::FdUp {
                observer,
                peer,
                token,
            } => {
                if self.beliefs[observer][peer].token != token || !self.hears(observer, peer) {
                    return;
                }
                let generation = self.nodes[peer].generation;
                self.beliefs[observer][peer].up = Some(generation);
                self.last_fd_change = self.now;
                self.deliver_input(
                    observer,
                    Input::PeerUp {
                        node: self.nodes[peer].name.clone(),
                        generation,
                    },
                );
            }
            Event::FdDown {
                observer,
                peer,
                token,
            } => {
                if self.beliefs[observer][peer].token != token {
                    return;
                }
                self.beliefs[observer][peer].up = None;
                self.last_fd_change = self.now;
                self.declare_down(observer, peer);
            }
            Event::Head { from, to } => {
                self.chans[from][to].head_scheduled = false;
                if self.chans[from][to].queue.is_empty() {
                    return;
                }
                if !self.nodes[to].alive() {
                    self.counters.dropped += self.chans[from][to].queue.len() as u64;
                    self.chans[from][to].queue.clear();
                    return;
                }
                if !self.link_up[from][to] {
                    // Retransmitted until the link heals or a side gives up.
                    let retry = self.cfg.net.retransmit;
                    self.chans[from][to].head_scheduled = true;
                    self.schedule(self.now + retry, Event::Head { from, to });
                    return;
                }
                if let Some(b) = self.busy(to) {
                    self.chans[from][to].head_scheduled = true;
                    self.schedule(b, Event::Head { from, to });
                    return;
                }
                let Some((_, bytes)) = self.chans[from][to].queue.pop_front() else {
                    return;
                };
                self.consume(from, to, &bytes);
                self.kick(from, to);
            }
            Event::Datagram { from, to, bytes } => {
                if !self.nodes[to].alive() || !self.link_up[from][to] {
                    self.counters.dropped += 1;
                    return;
                }
                if let Some(b) = self.busy(to) {
                    self.schedule(b, Event::Datagram { from, to, bytes });
                    return;
                }
                self.consume(from, to, &bytes);
            }
        }
    }

    fn consume(&mut self, from: usize, to: usize, bytes: &[u8]) {
        self.counters.delivered += 1;
        self.nodes[to].busy_until = self.now + self.cfg.cpu_per_message;
        let name = self.nodes[from].name.clone();
        self.deliver_input(to, Input::Message { from: name, bytes });
    }
}
