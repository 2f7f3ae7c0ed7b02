//! Deterministic simulation: N engines, the real wire codec, a network that drops,
//! duplicates, delays and reorders, over many seeds. A failing seed replays exactly:
//! `HALO_SIM_SEED=<seed> cargo test -p halo-messaging --test sim -- --nocapture`.
//! `HALO_SIM_SEEDS=<n>` runs more seeds than the default.
#![allow(clippy::unwrap_used)] // test harness outside #[test] fns

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use halo_messaging::*;
use halo_types::{AuthMethod, ClusterName, Generation, NodeName, Timestamp};
use halo_wire::{Inbound, Keyring, Outbound, Received};

/// The simulation's own randomness (independent of the engines').
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[derive(Clone, Copy, Debug)]
struct NetParams {
    /// Probability that one copy on one medium is lost.
    loss: f64,
    /// Probability that a copy that got through arrives twice.
    duplicate: f64,
    /// One-way delay, uniformly in this range: reorders whatever is sent closer
    /// together than the spread.
    delay_us: (u64, u64),
    /// Every packet goes out on each medium.
    media: usize,
}

struct SimNode {
    engine: Engine,
    out: Outbound,
    inb: Inbound,
    running: bool,
    next_heartbeat: Timestamp,
    delivered: Vec<Message>,
    losses: Vec<Loss>,
}

/// A packet copy on its way: (arrival, tie-break, destination node, bytes).
type InFlight = (Timestamp, u64, usize, Vec<u8>);

struct Sim {
    now: Timestamp,
    rng: Rng,
    net: NetParams,
    ring: Keyring,
    nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<InFlight>>,
    counter: u64,
}

const KEEPALIVE: Duration = Duration::from_millis(50);
const DEADTIME: Duration = Duration::from_millis(200);

fn name(i: usize) -> NodeName {
    NodeName::new(&format!("n{i}")).unwrap()
}

impl Sim {
    fn new(n: usize, seed: u64, net: NetParams, config: &Config) -> Sim {
        let cluster = ClusterName::new("sim").unwrap();
        let nodes = (0..n)
            .map(|i| SimNode {
                engine: Engine::new(
                    name(i),
                    Generation(1),
                    config.clone(),
                    seed ^ ((i as u64) << 40),
                )
                .unwrap(),
                out: Outbound::new(cluster.clone(), name(i), Generation(1)),
                inb: Inbound::new(cluster.clone(), name(i)),
                running: true,
                next_heartbeat: Timestamp::from_millis(i as u64),
                delivered: Vec::new(),
                losses: Vec::new(),
            })
            .collect();
        let mut sim = Sim {
            now: Timestamp::ZERO,
            rng: Rng(seed),
            net,
            ring: Keyring::single(1, AuthMethod::Sha256, b"sim key".to_vec()).unwrap(),
            nodes,
            queue: BinaryHeap::new(),
            counter: 0,
        };
        // The failure detector has seen everyone alive.
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                sim.nodes[i].engine.handle_peer(
                    Timestamp::ZERO,
                    PeerEvent::Alive {
                        node: name(j),
                        generation: Generation(1),
                    },
                );
            }
        }
        sim
    }

    /// Seals `body` as node `i` and puts the copies on the network.
    fn broadcast(&mut self, i: usize, body: &Body) {
        let bytes = self.nodes[i].out.seal(body, &self.ring).unwrap();
        for j in (0..self.nodes.len()).filter(|&j| j != i) {
            for _ in 0..self.net.media {
                if self.rng.chance(self.net.loss) {
                    continue;
                }
                let copies = if self.rng.chance(self.net.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let (lo, hi) = self.net.delay_us;
                    let delay = lo + self.rng.below(hi - lo + 1);
                    self.counter += 1;
                    self.queue.push(Reverse((
                        self.now + Duration::from_micros(delay),
                        self.counter,
                        j,
                        bytes.clone(),
                    )));
                }
            }
        }
    }

    /// Carries out node `i`'s outputs.
    fn flush(&mut self, i: usize) {
        let outputs: Vec<Output> = self.nodes[i].engine.drain_outputs().collect();
        for o in outputs {
            match o {
                Output::Transmit(body) => self.broadcast(i, &body),
                Output::Deliver(m) => self.nodes[i].delivered.push(m),
                Output::Loss(l) => self.nodes[i].losses.push(l),
            }
        }
    }

    fn next_event(&self) -> Option<Timestamp> {
        let packets = self.queue.peek().map(|Reverse(e)| e.0);
        let timers = self
            .nodes
            .iter()
            .filter(|n| n.running)
            .flat_map(|n| [n.engine.next_deadline(), Some(n.next_heartbeat)])
            .flatten();
        packets.into_iter().chain(timers).min()
    }

    /// Advances to the next event, but not past `until`, and handles all that is due.
    fn step(&mut self, until: Timestamp) {
        let next = self.next_event().unwrap_or(until).min(until);
        self.now = self.now.max(next);
        let now = self.now;
        while self.queue.peek().is_some_and(|Reverse(e)| e.0 <= now) {
            let Reverse((_, _, j, bytes)) = self.queue.pop().unwrap();
            if !self.nodes[j].running {
                continue;
            }
            let node = &mut self.nodes[j];
            let v = match node.inb.receive(&bytes, &self.ring) {
                Received::Fresh(v) | Received::NewGeneration { verified: v, .. } => v,
                Received::Duplicate(_) => continue,
                other => panic!("unexpected {other:?}"),
            };
            let p = v.packet;
            node.engine
                .handle_packet(now, &p.sender, p.generation, &p.body);
            self.flush(j);
        }
        for i in 0..self.nodes.len() {
            if !self.nodes[i].running {
                continue;
            }
            if self.nodes[i]
                .engine
                .next_deadline()
                .is_some_and(|t| t <= now)
            {
                self.nodes[i].engine.handle_tick(now);
            }
            if self.nodes[i].next_heartbeat <= now {
                self.nodes[i].next_heartbeat = now + KEEPALIVE;
                let hb = self.nodes[i]
                    .engine
                    .heartbeat(SenderStatus::Active, 50, 200);
                self.broadcast(i, &hb);
            }
            self.flush(i);
        }
    }

    /// The failure detector of every running node declares node `dead` dead.
    fn declare_dead(&mut self, dead: usize) {
        for i in 0..self.nodes.len() {
            if i == dead || !self.nodes[i].running {
                continue;
            }
            self.nodes[i]
                .engine
                .handle_peer(self.now, PeerEvent::Dead { node: name(dead) });
            self.flush(i);
        }
    }
}

/// A message the workload sends: from, to, and a payload that names it.
#[derive(Clone, Debug)]
struct Planned {
    at: Timestamp,
    from: usize,
    to: Option<usize>,
    id: u64,
    size: usize,
}

fn payload(p: &Planned) -> Vec<u8> {
    let mut v = Vec::with_capacity(p.size.max(16));
    v.extend_from_slice(&(p.from as u64).to_be_bytes());
    v.extend_from_slice(&p.id.to_be_bytes());
    let mut x = p.id.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    while v.len() < p.size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x as u8);
    }
    v
}

fn plan(rng: &mut Rng, nodes: usize, messages: usize, max_size: usize) -> Vec<Planned> {
    let mut t = 0u64;
    (0..messages as u64)
        .map(|id| {
            t += rng.below(20_000); // up to 20 ms apart, microseconds
            let from = rng.below(nodes as u64) as usize;
            let to = if rng.chance(0.3) {
                let mut to = rng.below(nodes as u64 - 1) as usize;
                if to >= from {
                    to += 1;
                }
                Some(to)
            } else {
                None
            };
            let size = if rng.chance(0.2) {
                rng.below(max_size as u64) as usize
            } else {
                16 + rng.below(200) as usize
            };
            Planned {
                at: Timestamp::from_duration(Duration::from_micros(t)),
                from,
                to,
                id,
                size,
            }
        })
        .collect()
}

/// Runs the workload: sends each planned message at its time, retrying on
/// backpressure. Returns the messages the senders got accepted, in order. Before
/// every step `hook` may act on the simulation (kill a node, declare it dead); once
/// every planned message has been handed to its sender, the run stops as soon as the
/// hook returns true. It also stops at `limit`.
fn run(
    sim: &mut Sim,
    plan: &[Planned],
    limit: Timestamp,
    mut hook: impl FnMut(&mut Sim, &[Planned]) -> bool,
) -> Vec<Planned> {
    let mut accepted: Vec<Planned> = Vec::new();
    let mut queue: std::collections::VecDeque<Planned> = plan.iter().cloned().collect();
    let mut backoff_until = Timestamp::ZERO;
    while sim.now < limit {
        if hook(sim, &accepted) && queue.is_empty() {
            break;
        }
        // Per-sender order must hold, so a message blocked by backpressure blocks the
        // ones after it (simplest: the whole queue).
        while let Some(p) = queue.front() {
            if p.at > sim.now || backoff_until > sim.now {
                break;
            }
            if !sim.nodes[p.from].running {
                queue.pop_front();
                continue;
            }
            let to =
                p.to.map_or(Destination::All, |t| Destination::Node(name(t)));
            match sim.nodes[p.from]
                .engine
                .send(sim.now, to, Channel::USER, &payload(p))
            {
                Ok(()) => {
                    accepted.push(queue.pop_front().unwrap());
                    sim.flush(accepted.last().unwrap().from);
                }
                Err(SendError::Backpressure { .. }) => {
                    backoff_until = sim.now + Duration::from_millis(5);
                }
                Err(SendError::NotAlive(_)) => {
                    queue.pop_front();
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
        let mut until = limit;
        if let Some(p) = queue.front() {
            until = until.min(
                p.at.max(backoff_until)
                    .max(sim.now + Duration::from_micros(1)),
            );
        }
        sim.step(until);
    }
    accepted
}

/// What receiver `r` must get from sender `s`, in order.
fn expected(accepted: &[Planned], s: usize, r: usize) -> Vec<u64> {
    accepted
        .iter()
        .filter(|p| p.from == s && s != r && p.to.is_none_or(|t| t == r))
        .map(|p| p.id)
        .collect()
}

/// What receiver `r` got from sender `s`, in order, after checking each payload.
fn got(sim: &Sim, plan: &[Planned], s: usize, r: usize) -> Vec<u64> {
    sim.nodes[r]
        .delivered
        .iter()
        .filter(|m| m.from == name(s))
        .map(|m| {
            let id = u64::from_be_bytes(m.payload[8..16].try_into().unwrap());
            let p = &plan[id as usize];
            assert_eq!(m.payload, payload(p), "payload of message {id} corrupted");
            assert_eq!(
                m.to,
                p.to.map_or(Destination::All, |t| Destination::Node(name(t)))
            );
            id
        })
        .collect()
}

/// Whether receiver `r` has as many messages from `s` as it should.
fn complete(sim: &Sim, accepted: &[Planned], s: usize, r: usize) -> bool {
    let count = sim.nodes[r]
        .delivered
        .iter()
        .filter(|m| m.from == name(s))
        .count();
    count == expected(accepted, s, r).len()
}

fn all_delivered(sim: &Sim, accepted: &[Planned], plan_len: usize) -> bool {
    let n = sim.nodes.len();
    accepted.len() == plan_len && (0..n).all(|r| (0..n).all(|s| complete(sim, accepted, s, r)))
}

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("HALO_SIM_SEED") {
        return vec![s.parse().expect("HALO_SIM_SEED is a number")];
    }
    let n = std::env::var("HALO_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

fn small_config() -> Config {
    Config {
        // Small fragments and a small window: more fragments per message, more
        // backpressure, more to go wrong.
        fragment_size: 300,
        max_message_size: 8 * 1024,
        send_window: 96,
        recv_window: 96,
        ..Config::default()
    }
}

fn scenario(seed: u64) -> (usize, NetParams) {
    let mut r = Rng(seed.wrapping_mul(7919));
    let nodes = 2 + r.below(4) as usize;
    let net = NetParams {
        // Every other seed at 20% or more.
        loss: if seed.is_multiple_of(2) {
            0.20 + r.below(16) as f64 / 100.0
        } else {
            r.below(20) as f64 / 100.0
        },
        duplicate: r.below(10) as f64 / 100.0,
        delay_us: (100, 200 + r.below(20_000)),
        media: 1 + r.below(2) as usize,
    };
    (nodes, net)
}

/// Every message is delivered exactly once and in order to every intended receiver,
/// under loss, duplication, reordering and delay; no loss is ever reported (everyone
/// stays alive); and afterwards every send buffer drains (acknowledgements work).
#[test]
fn every_message_arrives_once_in_order_under_loss() {
    for seed in seeds(48) {
        let (n, net) = scenario(seed);
        let config = small_config();
        let mut sim = Sim::new(n, seed, net, &config);
        let plan = plan(&mut sim.rng, n, 60, config.max_message_size);
        let limit = Timestamp::from_millis(600_000);
        let plan_len = plan.len();
        let accepted = run(&mut sim, &plan, limit, |sim, acc| {
            all_delivered(sim, acc, plan_len)
        });
        let ctx = format!("seed {seed}, {n} nodes, {net:?}");
        assert_eq!(
            accepted.len(),
            plan.len(),
            "{ctx}: not all sent by the limit"
        );
        for r in 0..n {
            for s in 0..n {
                assert_eq!(
                    got(&sim, &plan, s, r),
                    expected(&accepted, s, r),
                    "{ctx}: n{r} from n{s}"
                );
            }
            assert!(
                sim.nodes[r].losses.is_empty(),
                "{ctx}: {:?}",
                sim.nodes[r].losses
            );
        }
        // Quiet period: acknowledgements (and re-acks prompted by heartbeats) empty
        // every buffer.
        let drain_limit = sim.now + Duration::from_secs(60);
        while sim.now < drain_limit && sim.nodes.iter().any(|n| n.engine.unacked() > 0) {
            sim.step(drain_limit);
        }
        for (i, node) in sim.nodes.iter().enumerate() {
            assert_eq!(
                node.engine.unacked(),
                0,
                "{ctx}: n{i} still holds fragments"
            );
            let c = node.engine.counters();
            assert_eq!(c.protocol_errors, 0, "{ctx}");
            assert_eq!(c.receive_buffer_fragments, 0, "{ctx}");
        }
    }
}

/// Large messages (hundreds of fragments) under 25% loss on a single medium.
#[test]
fn large_messages_survive_heavy_loss() {
    for seed in seeds(6) {
        let net = NetParams {
            loss: 0.25,
            duplicate: 0.05,
            delay_us: (100, 5_000),
            media: 1,
        };
        let config = Config {
            fragment_size: 1000,
            max_message_size: 300_000,
            send_window: 1024,
            recv_window: 1024,
            ..Config::default()
        };
        let mut sim = Sim::new(3, seed, net, &config);
        let plan: Vec<Planned> = (0..4)
            .map(|id| Planned {
                at: Timestamp::from_millis(id * 10),
                from: (id % 3) as usize,
                to: None,
                id,
                size: 150_000 + 30_000 * id as usize,
            })
            .collect();
        let plan_len = plan.len();
        let accepted = run(&mut sim, &plan, Timestamp::from_millis(600_000), |s, a| {
            all_delivered(s, a, plan_len)
        });
        for r in 0..3 {
            for s in 0..3 {
                assert_eq!(
                    got(&sim, &plan, s, r),
                    expected(&accepted, s, r),
                    "seed {seed}: n{r} from n{s}"
                );
            }
        }
        let c = sim.nodes[0].engine.counters();
        assert!(c.retransmits_sent > 0, "25% loss must need retransmissions");
    }
}

/// A sender dies in the middle of its stream: every survivor delivers an in-order,
/// duplicate-free prefix of what it sent and reports the death as a loss when it knew
/// of undelivered fragments; the survivors keep exchanging among themselves; and no
/// buffer is held forever on the dead node's account.
#[test]
fn a_sender_dying_mid_stream_is_a_loss_not_a_hang() {
    let mut seeds_with_loss = 0;
    let all = seeds(24);
    for &seed in &all {
        let (n, mut net) = scenario(seed);
        let n = n.max(3);
        net.loss = net.loss.max(0.2);
        let config = small_config();
        let mut sim = Sim::new(n, seed, net, &config);
        let victim = n - 1;
        // The victim sends the largest messages; everyone chats throughout.
        let mut plan = plan(&mut sim.rng, n, 80, config.max_message_size);
        for p in plan.iter_mut().filter(|p| p.from == victim) {
            p.size = config.max_message_size - 1;
        }
        let kill_at = Timestamp::from_millis(200 + sim.rng.below(400));
        let mut killed_at: Option<Timestamp> = None;
        let mut declared = false;
        let accepted = run(
            &mut sim,
            &plan,
            Timestamp::from_millis(600_000),
            |sim, acc| {
                if killed_at.is_none() && sim.now >= kill_at {
                    sim.nodes[victim].running = false;
                    killed_at = Some(sim.now);
                }
                if let Some(t) = killed_at
                    && !declared
                    && sim.now >= t + DEADTIME
                {
                    sim.declare_dead(victim);
                    declared = true;
                }
                declared && survivors_done(sim, acc, victim)
            },
        );
        let ctx = format!("seed {seed}, {n} nodes, {net:?}");
        assert!(declared, "{ctx}: never got to the death");
        for r in (0..n).filter(|&r| r != victim) {
            for s in (0..n).filter(|&s| s != victim) {
                assert_eq!(
                    got(&sim, &plan, s, r),
                    expected(&accepted, s, r),
                    "{ctx}: n{r} from n{s}"
                );
            }
            let from_victim = got(&sim, &plan, victim, r);
            let sent = expected(&accepted, victim, r);
            assert!(
                sent.starts_with(&from_victim),
                "{ctx}: n{r} got {from_victim:?} of {sent:?}"
            );
            for l in &sim.nodes[r].losses {
                assert_eq!(l.from, name(victim), "{ctx}: {l:?}");
                assert_eq!(l.reason, LossReason::PeerDead, "{ctx}: {l:?}");
                assert!(l.fragments > 0);
            }
            if !sim.nodes[r].losses.is_empty() {
                seeds_with_loss += 1;
            }
        }
        let drain_limit = sim.now + Duration::from_secs(60);
        while sim.now < drain_limit
            && (0..n).any(|i| i != victim && sim.nodes[i].engine.unacked() > 0)
        {
            sim.step(drain_limit);
        }
        for i in (0..n).filter(|&i| i != victim) {
            assert_eq!(
                sim.nodes[i].engine.unacked(),
                0,
                "{ctx}: n{i} holds fragments"
            );
        }
    }
    // The victim dies while sending 28-fragment messages under 20%+ loss: across the
    // seeds, survivors must have been caught mid-message and said so.
    assert!(
        all.len() < 8 || seeds_with_loss > 0,
        "no loss was ever reported"
    );
}

fn survivors_done(sim: &Sim, accepted: &[Planned], victim: usize) -> bool {
    let survivors = || (0..sim.nodes.len()).filter(move |&i| i != victim);
    survivors().all(|r| survivors().all(|s| complete(sim, accepted, s, r)))
}
