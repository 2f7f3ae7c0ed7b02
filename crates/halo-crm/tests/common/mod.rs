//! A deterministic cluster in one process: N engines, a simulated network with the
//! messaging layer's guarantees, a simulated membership layer and resource lease, a
//! simulated LRM per node that tracks which resources really run where, the real
//! policy engine, and simulated time. A seed decides every delay; a failing seed
//! replays exactly.
//!
//! Network: per ordered pair of nodes FIFO, exactly once while both live and
//! connected; a message whose sender or receiver died, restarted or was cut off before
//! delivery is lost (the messaging layer reports such gaps; the engines must cope).
//!
//! Membership: after a change of connectivity or liveness, every connected component
//! of live nodes installs a new membership `deadtime + settle` later (on each node with
//! its own small jitter); quorate when it holds more than half of the cluster. The
//! lease: a node whose component (itself included) is not a majority learns it
//! `deadtime - 2 * keepalive` after the change.
//!
//! LRM: operations on one resource run one at a time, each takes a random time;
//! recurring monitors report their first result and then only changes, like halo-lrm.
//! The invariant checked after every event: no primitive outside a clone runs on two
//! nodes at once.

#![allow(dead_code, clippy::unwrap_used, clippy::large_enum_variant)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::time::Duration;

use halo_cib::Cib;
use halo_cib::model::{LrmResource, LrmRscOp};
use halo_crm::{
    ClientRequest, Config, Crm, Event, Input, LrmOp, LrmRequest, LrmResult, Membership, OpOutcome,
    Output, Target,
};
use halo_types::{NodeName, Timestamp};

/// Wall-clock seconds at simulated time zero.
pub const EPOCH: u64 = 1_700_000_000;

pub fn n(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

/// splitmix64: small, deterministic, good enough for delays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo + 1)
    }
    pub fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }
}

/// Timing of the simulated cluster.
#[derive(Debug, Clone)]
pub struct Timing {
    pub keepalive: Duration,
    pub deadtime: Duration,
    /// Membership agreement after deadtime.
    pub settle: Duration,
    /// Network latency range (ms).
    pub latency: (u64, u64),
    /// Operation durations (ms).
    pub op_time: (u64, u64),
    /// Policy engine run time (ms).
    pub policy_time: (u64, u64),
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            keepalive: Duration::from_millis(100),
            deadtime: Duration::from_millis(500),
            settle: Duration::from_millis(30),
            latency: (0, 2),
            op_time: (5, 40),
            policy_time: (1, 5),
        }
    }
}

#[derive(Debug)]
enum Ev {
    Deliver {
        from: NodeName,
        to: NodeName,
        /// Incarnations of sender and receiver when sent.
        inc: (u64, u64),
        bytes: Vec<u8>,
    },
    LrmDone {
        node: NodeName,
        inc: u64,
        op: LrmOp,
        call_id: i64,
    },
    Recurring {
        node: NodeName,
        inc: u64,
        key: String,
        call_id: i64,
    },
    Policy {
        node: NodeName,
        inc: u64,
        request: u64,
        result: Result<Box<halo_policy::Transition>, String>,
    },
    Tick {
        node: NodeName,
        inc: u64,
    },
    Install {
        node: NodeName,
        inc: u64,
        m: Membership,
    },
    /// The failure detector looks at what the node hears.
    LeaseCheck {
        node: NodeName,
        inc: u64,
    },
    Recompute,
}

struct Queued {
    at: Timestamp,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// One operation record of the simulated LRM.
#[derive(Debug, Clone)]
struct Record {
    action: String,
    interval: u64,
    call_id: i64,
    rc: i32,
    op_status: i32,
    expected: i32,
    key: String,
    failed: bool,
    digest: String,
    at: u64,
}

#[derive(Debug, Clone)]
struct Def {
    class: String,
    provider: Option<String>,
    kind: String,
    params: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct RecurringOp {
    op: LrmOp,
    call_id: i64,
    last: Option<(i32, i32)>,
}

/// The simulated LRM of one node.
#[derive(Debug, Default)]
pub struct SimLrm {
    /// What really runs here.
    pub running: BTreeSet<String>,
    defs: BTreeMap<String, Def>,
    records: BTreeMap<String, Vec<Record>>,
    recurring: BTreeMap<String, RecurringOp>,
    busy_until: BTreeMap<String, Timestamp>,
    next_call: i64,
    /// Resources whose next start fails.
    pub fail_start: BTreeSet<String>,
    /// Operations executed, in order: (action, resource).
    pub executed: Vec<(String, String)>,
}

impl SimLrm {
    fn call(&mut self) -> i64 {
        self.next_call += 1;
        self.next_call
    }

    /// The CIB entries of a resource, shaped like halo-lrm's `lrm_rsc_ops`.
    fn history(&self, node: &str, id: &str) -> LrmResource {
        let def = self.defs.get(id);
        let recs = self.records.get(id).cloned().unwrap_or_default();
        let mut ops = Vec::new();
        let entry = |eid: String, r: &Record| LrmRscOp {
            id: eid,
            operation_key: Some(format!("{id}_{}_{}", r.action, r.interval)),
            operation: r.action.clone(),
            call_id: r.call_id,
            rc_code: r.rc,
            op_status: r.op_status,
            interval: r.interval,
            transition_key: Some(r.key.clone()),
            transition_magic: Some(format!("{}:{};{}", r.op_status, r.rc, r.key)),
            on_node: Some(node.to_string()),
            last_rc_change: Some(r.at.to_string()),
            last_run: Some(r.at.to_string()),
            exec_time: Some("10".into()),
            queue_time: Some("0".into()),
            op_digest: Some(r.digest.clone()),
            ..LrmRscOp::default()
        };
        if let Some(last) = recs.iter().rev().find(|r| r.interval == 0) {
            ops.push(entry(format!("{id}_last_0"), last));
        }
        let last_stop = recs
            .iter()
            .rposition(|r| r.action == "stop" && r.interval == 0);
        let mut rec: BTreeMap<String, (usize, &Record)> = BTreeMap::new();
        for (i, r) in recs.iter().enumerate().filter(|(_, r)| r.interval > 0) {
            rec.insert(format!("{id}_{}_{}", r.action, r.interval), (i, r));
        }
        for (key, (i, r)) in rec {
            let before_stop = last_stop.is_some_and(|s| i < s);
            if r.op_status != 1 && !before_stop && self.recurring.contains_key(&key) {
                ops.push(entry(key, r));
            }
        }
        if let Some(f) = recs.iter().rev().find(|r| r.failed) {
            ops.push(entry(format!("{id}_last_failure_0"), f));
        }
        LrmResource {
            id: id.to_string(),
            class: def.map(|d| d.class.clone()),
            provider: def.and_then(|d| d.provider.clone()),
            agent: def.map(|d| d.kind.clone()),
            ops,
            ..LrmResource::default()
        }
    }
}

pub struct SimNode {
    pub crm: Crm,
    pub alive: bool,
    /// Bumped on every (re)start: old events for the node are dropped.
    pub inc: u64,
    pub lrm: SimLrm,
    pub disk: Option<Vec<u8>>,
    pub cfg: Config,
    pub installed: Option<Membership>,
    /// What the engine was last told about the lease.
    pub heard: bool,
    /// Since when the node has not heard a quorum.
    pub cut_since: Option<Timestamp>,
    pub tick_at: Option<Timestamp>,
    pub replies: BTreeMap<u64, Result<String, String>>,
}

pub struct Sim {
    pub now: Timestamp,
    pub rng: Rng,
    pub timing: Timing,
    pub nodes: BTreeMap<NodeName, SimNode>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    /// Connectivity groups (every node in exactly one).
    groups: Vec<BTreeSet<NodeName>>,
    /// When each cut pair of nodes was cut (the failure detector notices after
    /// deadtime).
    cut_at: BTreeMap<(NodeName, NodeName), Timestamp>,
    /// When each crashed node died.
    died_at: BTreeMap<NodeName, Timestamp>,
    last_delivery: BTreeMap<(NodeName, NodeName), Timestamp>,
    next_mid: u64,
    next_client: u64,
    pub log: Vec<String>,
    pub events: Vec<(Timestamp, NodeName, Event)>,
    /// Primitives that are clones (allowed on several nodes).
    pub cloned: BTreeSet<String>,
    /// Set when the invariant broke (with the log line).
    pub violation: Option<String>,
    pub check_invariant: bool,
}

impl Sim {
    pub fn new(names: &[&str], seed: u64) -> Self {
        Sim::with(names, seed, Timing::default(), |_| {})
    }

    pub fn with(names: &[&str], seed: u64, timing: Timing, tweak: impl Fn(&mut Config)) -> Self {
        let all: Vec<NodeName> = names.iter().map(|s| n(s)).collect();
        let mut nodes = BTreeMap::new();
        for name in &all {
            let mut cfg = Config::new(name.clone(), all.clone());
            cfg.join_timeout = Duration::from_secs(2);
            tweak(&mut cfg);
            nodes.insert(
                name.clone(),
                SimNode {
                    crm: Crm::new(cfg.clone()),
                    alive: false,
                    inc: 0,
                    lrm: SimLrm::default(),
                    disk: None,
                    cfg,
                    installed: None,
                    heard: true,
                    cut_since: None,
                    tick_at: None,
                    replies: BTreeMap::new(),
                },
            );
        }
        Sim {
            now: Timestamp::ZERO,
            rng: Rng::new(seed),
            timing,
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            groups: vec![all.into_iter().collect()],
            cut_at: BTreeMap::new(),
            died_at: BTreeMap::new(),
            last_delivery: BTreeMap::new(),
            next_mid: 1,
            next_client: 1,
            log: Vec::new(),
            events: Vec::new(),
            cloned: BTreeSet::new(),
            violation: None,
            check_invariant: true,
        }
    }

    fn push(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            ev,
        }));
    }

    fn wall(&self) -> u64 {
        EPOCH + self.now.as_duration().as_secs()
    }

    fn inc(&self, node: &NodeName) -> u64 {
        self.nodes.get(node).map_or(0, |x| x.inc)
    }

    pub fn connected(&self, a: &NodeName, b: &NodeName) -> bool {
        self.groups.iter().any(|g| g.contains(a) && g.contains(b))
    }

    fn size(&self) -> usize {
        self.nodes.len()
    }

    // ---------------------------------------------------------------
    // faults and administration

    /// Starts (or restarts) a node's daemon: its persisted CIB is loaded if valid.
    pub fn start(&mut self, name: &str) {
        let node = n(name);
        let now = self.now;
        self.died_at.remove(&node);
        let s = self.nodes.get_mut(&node).unwrap();
        s.alive = true;
        s.inc += 1;
        s.installed = None;
        s.heard = true;
        s.cut_since = None;
        s.tick_at = None;
        s.crm = Crm::new(s.cfg.clone());
        let cib = s
            .disk
            .as_deref()
            .and_then(|b| halo_crm::persist::decode(b).ok())
            .map(Box::new);
        self.log.push(format!("{now} start {name}"));
        self.feed(&node, Input::Start { cib });
        let at = self.now + self.timing.keepalive;
        self.push(at, Ev::Recompute);
        // The others hear it again.
        self.changed();
    }

    /// Only the daemon restarts (SIGKILL and start): the resources it ran keep
    /// running, its LRM history stays on disk; the new daemon probes them.
    pub fn restart_daemon(&mut self, name: &str) {
        let node = n(name);
        {
            let s = self.nodes.get_mut(&node).unwrap();
            s.lrm.recurring.clear();
            s.lrm.busy_until.clear();
        }
        self.log.push(format!("{} restart daemon {name}", self.now));
        self.start(name);
    }

    /// The machine dies: its resources die with it.
    pub fn crash(&mut self, name: &str) {
        let node = n(name);
        let s = self.nodes.get_mut(&node).unwrap();
        s.alive = false;
        self.died_at.insert(node.clone(), self.now);
        let s = self.nodes.get_mut(&node).unwrap();
        s.lrm.running.clear();
        s.lrm.recurring.clear();
        s.lrm.busy_until.clear();
        self.log.push(format!("{} crash {name}", self.now));
        self.changed();
    }

    /// SIGTERM for a node's daemon: it stops its resources, then leaves (peers see the
    /// leave at once, as with heartbeat's leave packets).
    pub fn shutdown(&mut self, name: &str) {
        let node = n(name);
        self.log.push(format!("{} shutdown {name}", self.now));
        let epoch_secs = self.wall();
        self.feed(&node, Input::Shutdown { epoch_secs });
    }

    /// The node's daemon exits after a clean shutdown.
    fn leave(&mut self, node: &NodeName) {
        let s = self.nodes.get_mut(node).unwrap();
        s.alive = false;
        // Leave packets: noticed at once, not after deadtime.
        self.died_at.insert(node.clone(), Timestamp::ZERO);
        self.log.push(format!("{} {node} left", self.now));
        self.changed();
    }

    /// Cuts the cluster into groups (nodes not named form a group of their own each).
    pub fn partition(&mut self, groups: &[&[&str]]) {
        let mut seen = BTreeSet::new();
        let mut gs = Vec::new();
        for g in groups {
            let set: BTreeSet<NodeName> = g.iter().map(|s| n(s)).collect();
            seen.extend(set.iter().cloned());
            gs.push(set);
        }
        for name in self.nodes.keys() {
            if !seen.contains(name) {
                gs.push([name.clone()].into_iter().collect());
            }
        }
        self.groups = gs;
        self.note_cuts();
        self.log.push(format!("{} partition {groups:?}", self.now));
        self.changed();
    }

    pub fn heal(&mut self) {
        self.groups = vec![self.nodes.keys().cloned().collect()];
        self.note_cuts();
        self.log.push(format!("{} heal", self.now));
        self.changed();
    }

    /// Connectivity or liveness changed: lease news soon, membership later.
    fn changed(&mut self) {
        let names: Vec<NodeName> = self.nodes.keys().cloned().collect();
        for name in names {
            if !self.nodes[&name].alive {
                continue;
            }
            let hears = self.hears_quorum(&name);
            let inc = self.inc(&name);
            let s = self.nodes.get_mut(&name).unwrap();
            let at = match (hears, s.cut_since) {
                (false, None) => {
                    s.cut_since = Some(self.now);
                    self.now + self.lease_delay()
                }
                (true, Some(_)) => {
                    s.cut_since = None;
                    self.now + self.timing.keepalive
                }
                _ => continue,
            };
            self.push(at, Ev::LeaseCheck { node: name, inc });
        }
        let at = self.now + self.timing.deadtime + self.timing.settle;
        self.push(at, Ev::Recompute);
    }

    /// Silence after which the failure detector reports the lease lost.
    fn lease_delay(&self) -> Duration {
        self.timing
            .deadtime
            .saturating_sub(self.timing.keepalive * 2)
    }

    fn lease_check(&mut self, node: &NodeName) {
        let now = self.now;
        let delay = self.lease_delay();
        let s = &self.nodes[node];
        let heard = match s.cut_since {
            None => true,
            Some(t) if now - t >= delay => false,
            Some(_) => return,
        };
        if heard != s.heard {
            self.nodes.get_mut(node).unwrap().heard = heard;
            self.feed(
                node,
                Input::Lease {
                    quorum_heard: heard,
                },
            );
        }
    }

    fn note_cuts(&mut self) {
        let names: Vec<NodeName> = self.nodes.keys().cloned().collect();
        for a in &names {
            for b in &names {
                let pair = (a.clone(), b.clone());
                if self.connected(a, b) {
                    self.cut_at.remove(&pair);
                } else {
                    self.cut_at.entry(pair).or_insert(self.now);
                }
            }
        }
    }

    /// Whether the failure detector has noticed something that happened at `t`.
    fn noticed(&self, t: Timestamp) -> bool {
        self.now - t >= self.timing.deadtime
    }

    /// The component of `node` as the membership layer sees it: cuts and deaths count
    /// only once they are older than deadtime.
    fn detected_component(&self, node: &NodeName) -> Vec<NodeName> {
        let up = |x: &NodeName| match self.died_at.get(x) {
            Some(t) => !self.noticed(*t),
            None => self.nodes[x].alive,
        };
        let linked = |a: &NodeName, b: &NodeName| match self.cut_at.get(&(a.clone(), b.clone())) {
            Some(t) => !self.noticed(*t),
            None => true,
        };
        let mut seen: BTreeSet<NodeName> = [node.clone()].into_iter().collect();
        let mut todo = vec![node.clone()];
        while let Some(x) = todo.pop() {
            for y in self.nodes.keys() {
                if !seen.contains(y) && up(y) && linked(&x, y) {
                    seen.insert(y.clone());
                    todo.push(y.clone());
                }
            }
        }
        seen.into_iter().collect()
    }

    fn component(&self, node: &NodeName) -> Vec<NodeName> {
        let g = self
            .groups
            .iter()
            .find(|g| g.contains(node))
            .cloned()
            .unwrap_or_default();
        g.into_iter()
            .filter(|x| self.nodes.get(x).is_some_and(|s| s.alive))
            .collect()
    }

    fn hears_quorum(&self, node: &NodeName) -> bool {
        2 * self.component(node).len() > self.size()
    }

    /// Installs new memberships where the live components differ from what is installed.
    fn recompute(&mut self) {
        let names: Vec<NodeName> = self.nodes.keys().cloned().collect();
        let mut done: BTreeSet<NodeName> = BTreeSet::new();
        for name in names {
            if done.contains(&name) || !self.nodes[&name].alive {
                continue;
            }
            let comp = self.detected_component(&name);
            done.extend(comp.iter().cloned());
            let same = comp.iter().all(|x| {
                self.nodes[x]
                    .installed
                    .as_ref()
                    .is_some_and(|m| m.members == comp)
            });
            if same {
                continue;
            }
            let m = Membership {
                id: self.next_mid,
                members: comp.clone(),
                quorate: 2 * comp.len() > self.size(),
            };
            self.next_mid += 1;
            for x in &comp {
                self.nodes.get_mut(x).unwrap().installed = Some(m.clone());
                let at = self.now + self.rng.ms(0, 20);
                let inc = self.inc(x);
                self.push(
                    at,
                    Ev::Install {
                        node: x.clone(),
                        inc,
                        m: m.clone(),
                    },
                );
            }
        }
    }

    /// Sends an administrator's request on `node`; returns its id.
    pub fn client(&mut self, node: &str, request: ClientRequest) -> u64 {
        let id = self.next_client;
        self.next_client += 1;
        self.log
            .push(format!("{} client {node} #{id} {request:?}", self.now));
        self.feed(&n(node), Input::Client { id, request });
        id
    }

    pub fn reply(&self, node: &str, id: u64) -> Option<&Result<String, String>> {
        self.nodes[&n(node)].replies.get(&id)
    }

    /// Makes the monitor of `rsc` on `node` find it stopped (it died by itself).
    pub fn kill_resource(&mut self, node: &str, rsc: &str) {
        let s = self.nodes.get_mut(&n(node)).unwrap();
        s.lrm.running.remove(rsc);
        self.log.push(format!("{} {rsc} dies on {node}", self.now));
    }

    // ---------------------------------------------------------------
    // the engine's outputs

    fn feed(&mut self, node: &NodeName, input: Input) {
        let Some(s) = self.nodes.get_mut(node) else {
            return;
        };
        if !s.alive {
            return;
        }
        let outputs = s.crm.handle(self.now, input);
        for o in outputs {
            self.output(node, o);
        }
        let next = self.nodes[node].crm.next_deadline();
        if let Some(t) = next {
            let s = self.nodes.get_mut(node).unwrap();
            if s.tick_at.is_none_or(|x| t < x || x <= self.now) {
                s.tick_at = Some(t);
                let inc = s.inc;
                self.push(
                    t.max(self.now),
                    Ev::Tick {
                        node: node.clone(),
                        inc,
                    },
                );
            }
        }
    }

    fn output(&mut self, node: &NodeName, o: Output) {
        match o {
            Output::Send { to, bytes, .. } => {
                let dests: Vec<NodeName> = match to {
                    Target::All => self.nodes.keys().filter(|x| *x != node).cloned().collect(),
                    Target::Node(x) => vec![x],
                };
                for d in dests {
                    // Across a cut the messaging layer retransmits until the peer is
                    // declared dead (see `Ev::Deliver`).
                    if !self.nodes.get(&d).is_some_and(|s| s.alive) {
                        continue;
                    }
                    let lat = self.rng.ms(self.timing.latency.0, self.timing.latency.1);
                    let pair = (node.clone(), d.clone());
                    let at = (self.now + lat)
                        .max(self.last_delivery.get(&pair).copied().unwrap_or_default());
                    self.last_delivery.insert(pair, at);
                    let inc = (self.inc(node), self.inc(&d));
                    self.push(
                        at,
                        Ev::Deliver {
                            from: node.clone(),
                            to: d,
                            inc,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
            Output::PersistCib(bytes) => {
                self.nodes.get_mut(node).unwrap().disk = Some(bytes);
            }
            Output::Lrm(req) => self.lrm(node, req),
            Output::RunPolicy { request, cib } => {
                let wall = halo_types::Timestamp::from_duration(Duration::from_secs(self.wall()));
                let result = halo_policy::schedule(&cib, wall)
                    .map(Box::new)
                    .map_err(|e| e.to_string());
                let at = self.now
                    + self
                        .rng
                        .ms(self.timing.policy_time.0, self.timing.policy_time.1);
                let inc = self.inc(node);
                self.push(
                    at,
                    Ev::Policy {
                        node: node.clone(),
                        inc,
                        request,
                        result,
                    },
                );
            }
            Output::ClientReply { id, result } => {
                self.log
                    .push(format!("{} reply {node} #{id} {result:?}", self.now));
                self.nodes.get_mut(node).unwrap().replies.insert(id, result);
            }
            Output::Event(e) => {
                self.log.push(format!("{} {node}: {e}", self.now));
                self.events.push((self.now, node.clone(), e));
            }
            Output::ShutdownReady => self.leave(node),
        }
    }

    fn lrm(&mut self, node: &NodeName, req: LrmRequest) {
        let inc = self.inc(node);
        match req {
            LrmRequest::Execute(op) => {
                let s = self.nodes.get_mut(node).unwrap();
                if let (Some(a), Some(p)) = (&op.agent, &op.params) {
                    s.lrm.defs.insert(
                        op.resource.clone(),
                        Def {
                            class: a.class.clone(),
                            provider: a.provider.clone(),
                            kind: a.kind.clone(),
                            params: p.clone(),
                        },
                    );
                }
                let call_id = s.lrm.call();
                let d = self.rng.ms(self.timing.op_time.0, self.timing.op_time.1);
                let s = self.nodes.get_mut(node).unwrap();
                let free = s
                    .lrm
                    .busy_until
                    .get(&op.resource)
                    .copied()
                    .unwrap_or_default();
                let at = free.max(self.now) + d;
                s.lrm.busy_until.insert(op.resource.clone(), at);
                if op.interval_ms > 0 {
                    let key = format!("{}_{}_{}", op.resource, op.action, op.interval_ms);
                    s.lrm.recurring.insert(
                        key.clone(),
                        RecurringOp {
                            op,
                            call_id,
                            last: None,
                        },
                    );
                    self.push(
                        at,
                        Ev::Recurring {
                            node: node.clone(),
                            inc,
                            key,
                            call_id,
                        },
                    );
                } else {
                    if op.action == "stop" {
                        let prefix = format!("{}_", op.resource);
                        s.lrm.recurring.retain(|k, _| !k.starts_with(&prefix));
                    }
                    self.push(
                        at,
                        Ev::LrmDone {
                            node: node.clone(),
                            inc,
                            op,
                            call_id,
                        },
                    );
                }
            }
            LrmRequest::Cancel {
                resource,
                action,
                interval_ms,
            } => {
                let s = self.nodes.get_mut(node).unwrap();
                s.lrm
                    .recurring
                    .remove(&format!("{resource}_{action}_{interval_ms}"));
            }
            LrmRequest::Forget { resource } => {
                let s = self.nodes.get_mut(node).unwrap();
                s.lrm.records.remove(&resource);
                let prefix = format!("{resource}_");
                s.lrm.recurring.retain(|k, _| !k.starts_with(&prefix));
            }
            LrmRequest::Recover => {
                let ids: Vec<String> = self.nodes[node].lrm.records.keys().cloned().collect();
                for id in ids {
                    let op = LrmOp {
                        resource: id,
                        agent: None,
                        params: None,
                        op_params: BTreeMap::new(),
                        meta: BTreeMap::new(),
                        action: "monitor".into(),
                        interval_ms: 0,
                        timeout_ms: None,
                        expected_rc: 7,
                        transition_key: "0:-1:7:recover".into(),
                    };
                    self.lrm(node, LrmRequest::Execute(op));
                }
            }
        }
    }

    /// Runs one operation in the simulated LRM and returns its record.
    fn perform(&mut self, node: &NodeName, op: &LrmOp, call_id: i64) -> Record {
        let wall = self.wall();
        let s = self.nodes.get_mut(node).unwrap();
        let rsc = op.resource.clone();
        let running = s.lrm.running.contains(&rsc);
        let (rc, status) = match op.action.as_str() {
            "start" => {
                if s.lrm.fail_start.remove(&rsc) {
                    (1, 4)
                } else {
                    s.lrm.running.insert(rsc.clone());
                    (0, 0)
                }
            }
            "stop" => {
                s.lrm.running.remove(&rsc);
                (0, 0)
            }
            "monitor" => {
                if running {
                    (0, 0)
                } else {
                    (7, 0)
                }
            }
            _ => (0, 0),
        };
        s.lrm.executed.push((op.action.clone(), rsc.clone()));
        let probe = op.action == "monitor" && op.interval_ms == 0;
        let failed = if probe {
            !matches!(rc, 0 | 7 | 8)
        } else {
            status != 0 || rc != op.expected_rc
        };
        let op_status = if failed { 4 } else { 0 };
        let mut params = s
            .lrm
            .defs
            .get(&rsc)
            .map(|d| d.params.clone())
            .unwrap_or_default();
        params.extend(op.op_params.clone());
        let digest =
            halo_lrm::digest::op_digest(&params, op.interval_ms, op.timeout_ms.unwrap_or(20_000));
        let rec = Record {
            action: op.action.clone(),
            interval: op.interval_ms,
            call_id,
            rc,
            op_status,
            expected: op.expected_rc,
            key: op.transition_key.clone(),
            failed,
            digest,
            at: wall,
        };
        s.lrm.records.entry(rsc).or_default().push(rec.clone());
        rec
    }

    fn result(&mut self, node: &NodeName, op: &LrmOp, rec: &Record) {
        let history = self.nodes[node].lrm.history(node.as_str(), &op.resource);
        let outcome = OpOutcome {
            resource: op.resource.clone(),
            action: op.action.clone(),
            interval_ms: op.interval_ms,
            call_id: rec.call_id,
            rc: rec.rc,
            op_status: rec.op_status,
            expected_rc: rec.expected,
            failed: rec.failed,
            transition_key: Some(rec.key.clone()),
            exit_reason: None,
            epoch_secs: rec.at,
        };
        self.feed(node, Input::Lrm(Box::new(LrmResult { outcome, history })));
    }

    // ---------------------------------------------------------------
    // running

    /// Handles the next event; false when there is none.
    pub fn step(&mut self) -> bool {
        let Some(Reverse(q)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(q.at);
        match q.ev {
            Ev::Deliver {
                from,
                to,
                inc,
                bytes,
            } => {
                let ok = self.nodes[&from].alive
                    && self.nodes[&to].alive
                    && inc == (self.inc(&from), self.inc(&to));
                let pair = (from.clone(), to.clone());
                if ok && self.connected(&from, &to) {
                    self.feed(&to, Input::Message { from, bytes });
                } else if ok && self.cut_at.get(&pair).is_some_and(|t| !self.noticed(*t)) {
                    // Reliable messaging: a message across a cut that nobody has
                    // noticed yet (the peer is not dead) is retransmitted, in order,
                    // until the cut heals or the peer is declared dead.
                    let at = (self.now + self.timing.keepalive)
                        .max(self.last_delivery.get(&pair).copied().unwrap_or_default());
                    self.last_delivery.insert(pair, at);
                    self.push(
                        at,
                        Ev::Deliver {
                            from,
                            to,
                            inc,
                            bytes,
                        },
                    );
                }
            }
            Ev::LrmDone {
                node,
                inc,
                op,
                call_id,
            } => {
                if inc == self.inc(&node) && self.nodes[&node].alive {
                    let rec = self.perform(&node, &op, call_id);
                    self.result(&node, &op, &rec);
                }
            }
            Ev::Recurring {
                node,
                inc,
                key,
                call_id,
            } => {
                let live = inc == self.inc(&node) && self.nodes[&node].alive;
                let r = self.nodes[&node].lrm.recurring.get(&key).cloned();
                if let (true, Some(r)) = (live, r)
                    && r.call_id == call_id
                {
                    let rec = self.perform(&node, &r.op, call_id);
                    let changed = r.last != Some((rec.rc, rec.op_status));
                    if let Some(x) = self
                        .nodes
                        .get_mut(&node)
                        .unwrap()
                        .lrm
                        .recurring
                        .get_mut(&key)
                    {
                        x.last = Some((rec.rc, rec.op_status));
                    }
                    if changed {
                        self.result(&node, &r.op, &rec);
                    } else {
                        // Unchanged results are not reported (nor kept, like
                        // halo-lrm's still-running events).
                        let s = self.nodes.get_mut(&node).unwrap();
                        if let Some(v) = s.lrm.records.get_mut(&r.op.resource) {
                            v.pop();
                        }
                    }
                    let at = self.now + Duration::from_millis(r.op.interval_ms);
                    self.push(
                        at,
                        Ev::Recurring {
                            node,
                            inc,
                            key,
                            call_id,
                        },
                    );
                }
            }
            Ev::Policy {
                node,
                inc,
                request,
                result,
            } => {
                if inc == self.inc(&node) {
                    self.feed(&node, Input::PolicyDone { request, result });
                }
            }
            Ev::Tick { node, inc } => {
                if inc == self.inc(&node) {
                    let s = self.nodes.get_mut(&node).unwrap();
                    if s.tick_at.is_some_and(|t| t <= self.now) {
                        s.tick_at = None;
                    }
                    self.feed(&node, Input::Tick);
                }
            }
            Ev::Install { node, inc, m } => {
                if inc == self.inc(&node) {
                    self.log.push(format!(
                        "{} {node} installs {} {:?} q={}",
                        self.now, m.id, m.members, m.quorate
                    ));
                    self.feed(&node, Input::Membership(m));
                }
            }
            Ev::LeaseCheck { node, inc } => {
                if inc == self.inc(&node) && self.nodes[&node].alive {
                    self.lease_check(&node);
                }
            }
            Ev::Recompute => self.recompute(),
        }
        if self.check_invariant && self.violation.is_none() {
            self.check();
        }
        true
    }

    fn check(&mut self) {
        let mut seen: BTreeMap<String, Vec<NodeName>> = BTreeMap::new();
        for (name, s) in &self.nodes {
            for r in &s.lrm.running {
                seen.entry(r.clone()).or_default().push(name.clone());
            }
        }
        for (r, nodes) in seen {
            let base = r.split(':').next().unwrap_or(&r).to_string();
            if nodes.len() > 1 && !self.cloned.contains(&base) {
                let msg = format!("{} INVARIANT: {r} runs on {nodes:?}", self.now);
                self.log.push(msg.clone());
                self.violation = Some(msg);
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(Reverse(q)) = self.queue.peek() {
            if q.at > end {
                break;
            }
            self.step();
        }
        self.now = self.now.max(end);
    }

    /// Runs until `pred` holds (checked after every event), for at most `limit`.
    pub fn until(&mut self, limit: Duration, what: &str, pred: impl Fn(&Sim) -> bool) {
        let end = self.now + limit;
        while !pred(self) {
            let next = self.queue.peek().map(|Reverse(q)| q.at);
            match next {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.dump();
                    panic!("{what}: not reached within {limit:?} (now {})", self.now);
                }
            }
        }
        self.assert_safe();
    }

    pub fn assert_safe(&self) {
        if let Some(v) = &self.violation {
            self.dump();
            panic!("{v}");
        }
    }

    pub fn dump(&self) {
        let from = self.log.len().saturating_sub(400);
        for l in &self.log[from..] {
            eprintln!("{l}");
        }
        for (name, s) in &self.nodes {
            eprintln!(
                "{name}: alive={} running={:?} dc={:?} v={} synced={}",
                s.alive,
                s.lrm.running,
                s.crm.dc(),
                s.crm.cib().version,
                s.crm.synced()
            );
        }
    }

    // ---------------------------------------------------------------
    // questions

    /// Live nodes where `rsc` really runs.
    pub fn where_runs(&self, rsc: &str) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, s)| s.alive && s.lrm.running.contains(rsc))
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// Whether every live node agrees on the DC, the DC is idle and every member is
    /// synced.
    pub fn settled(&self) -> bool {
        let live: Vec<&SimNode> = self.nodes.values().filter(|s| s.alive).collect();
        live.iter().all(|s| {
            s.crm.synced()
                && s.crm.dc().is_some()
                && s.installed
                    .as_ref()
                    .is_some_and(|m| s.crm.membership() == Some(m))
                && s.crm.idle()
        }) && self
            .queue
            .iter()
            .all(|Reverse(q)| matches!(q.ev, Ev::Recurring { .. } | Ev::Tick { .. }))
    }

    /// Every live node's copy equals its DC's, status included.
    pub fn assert_copies_agree(&self) {
        for (name, s) in self.nodes.iter().filter(|(_, s)| s.alive) {
            let Some(dc) = s.crm.dc() else { continue };
            let master = self.nodes[dc].crm.cib();
            if s.crm.cib() != master {
                self.dump();
                panic!(
                    "{name}'s CIB {} differs from its DC {dc}'s {}",
                    s.crm.cib().version,
                    master.version
                );
            }
        }
    }

    pub fn cib(&self, node: &str) -> &Cib {
        self.nodes[&n(node)].crm.cib()
    }

    pub fn dc_of(&self, node: &str) -> Option<String> {
        self.nodes[&n(node)].crm.dc().map(|d| d.to_string())
    }

    pub fn count_events(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, _, e)| f(e)).count()
    }
}

/// Queue of simulated time for chaos tests.
pub type Plan = VecDeque<(Duration, String)>;
