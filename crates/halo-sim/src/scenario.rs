//! One seeded run: start the cluster, a chaos phase of random faults, then a healing phase
//! in which the network is stable and the membership must converge and stay put.
//!
//! Everything about a run — network mode, loss rates, timings, the faults and when they
//! happen — is drawn from its seed, so `(nodes, seed)` names the run exactly.

use std::fmt;
use std::time::Duration;

use halo_types::Timestamp;

use crate::invariants::{self, Violation, convergence};
use crate::rng::Rng;
use crate::sim::{NetMode, Sim, SimConfig};

/// How long a healing phase may take before it counts as a liveness failure. Generous on
/// purpose: the figure that matters is the measured one, reported by campaigns.
pub const HEALING_BOUND: Duration = Duration::from_secs(15);

/// How long the cluster must stay put after converging.
pub const STABLE_WINDOW: Duration = Duration::from_secs(2);

/// What a passing run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Cluster size.
    pub nodes: usize,
    /// Seed.
    pub seed: u64,
    /// Network mode drawn for the run.
    pub mode: NetMode,
    /// Faults injected.
    pub faults: u32,
    /// From the network becoming stable to convergence.
    pub converged_after: Duration,
    /// From the last failure-detector change to convergence.
    pub protocol_time: Duration,
    /// Memberships installed over the run (all nodes).
    pub installs: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Events processed.
    pub events: u64,
}

/// A failing run: enough to replay it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Cluster size.
    pub nodes: usize,
    /// Seed.
    pub seed: u64,
    /// What broke.
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} with {} nodes failed: {}\n  replay: cargo run -p halo-sim --release -- run --nodes {} --seed {} --trace",
            self.seed, self.nodes, self.violation, self.nodes, self.seed
        )
    }
}

/// The cluster and network a seed describes.
pub fn config_for(nodes: usize, seed: u64) -> SimConfig {
    let mut rng = Rng::new(seed ^ 0x5eed_c0de_5eed_c0de);
    let mut cfg = SimConfig::lan(nodes, seed);
    if rng.chance(0.3) {
        cfg.net.mode = NetMode::Datagram;
        cfg.net.loss = rng.below(200) as f64 / 1000.0;
        cfg.net.dup = rng.below(100) as f64 / 1000.0;
        cfg.net.latency = (Duration::from_micros(50), Duration::from_millis(3));
    }
    if rng.chance(0.25) {
        // The fast preset of the failure detector.
        cfg.fd.keepalive = Duration::from_millis(10);
        cfg.fd.deadtime = Duration::from_millis(40);
    }
    // Half the runs use halo-heartbeat's real detector on simulated heartbeats.
    cfg.fd.real = rng.chance(0.5);
    cfg
}

/// Runs seed `seed` on `nodes` nodes.
pub fn run(nodes: usize, seed: u64, trace: bool) -> Result<RunReport, Failure> {
    let cfg = config_for(nodes, seed);
    let mode = cfg.net.mode;
    let fail = |violation| Failure {
        nodes,
        seed,
        violation,
    };
    let mut sim = Sim::new(cfg, invariants::all());
    sim.trace = trace;
    let mut rng = Rng::new(seed ^ 0xc4a0_5c4a_05c4_a05c);
    let n = nodes;
    for i in 0..n {
        let at = Timestamp::from_duration(rng.duration(Duration::ZERO, Duration::from_millis(300)));
        sim.start_at(i, at);
    }
    // Chaos.
    let chaos_start = rng.duration(Duration::ZERO, Duration::from_millis(1500));
    let chaos_len = rng.duration(Duration::from_secs(1), Duration::from_secs(6));
    let mean_gap = rng.duration(Duration::from_millis(20), Duration::from_millis(400));
    let chaos_end = Timestamp::from_duration(chaos_start + chaos_len);
    let mut t = Timestamp::from_duration(chaos_start);
    let mut faults = 0;
    while t < chaos_end {
        sim.run_until(t).map_err(fail)?;
        faults += 1;
        chaos_action(&mut sim, &mut rng).map_err(fail)?;
        t = sim.now() + rng.duration(Duration::ZERO, mean_gap * 2);
    }
    sim.run_until(chaos_end).map_err(fail)?;
    // Healing: restart the dead (usually), heal the links (often), stop losing datagrams.
    if rng.chance(0.85) {
        for i in 0..n {
            if !sim.nodes[i].alive() {
                sim.start_at(i, sim.now());
            }
        }
    }
    if rng.chance(0.6) {
        heal_all(&mut sim);
    }
    sim.cfg.net.loss = 0.0;
    let now = sim.now();
    sim.run_until(now).map_err(fail)?;
    sim.begin_healing(HEALING_BOUND);
    let since = sim.now();
    loop {
        let h = sim.healing.clone();
        let Some(h) = h else { break };
        let until = match h.converged_at {
            Some(at) => at + STABLE_WINDOW,
            None => since + HEALING_BOUND,
        };
        if sim.now() >= until {
            break;
        }
        sim.run_until(until).map_err(fail)?;
    }
    let h = sim.healing.clone();
    match h.and_then(|h| h.converged_at.map(|at| (at, h.last_fd_change))) {
        Some((at, fd)) => Ok(RunReport {
            nodes,
            seed,
            mode,
            faults,
            converged_after: at - since,
            protocol_time: at - fd.max(since),
            installs: sim.counters.installs,
            delivered: sim.counters.delivered,
            events: sim.counters.events,
        }),
        None => Err(fail(Violation {
            invariant: "convergence",
            at: sim.now(),
            what: format!(
                "no convergence within {HEALING_BOUND:?}: {}",
                convergence::describe(&sim)
            ),
        })),
    }
}

fn heal_all(sim: &mut Sim) {
    let n = sim.nodes.len();
    for a in 0..n {
        for b in 0..n {
            sim.set_link(a, b, true);
        }
    }
}

fn alive(sim: &Sim) -> Vec<usize> {
    (0..sim.nodes.len())
        .filter(|&i| sim.nodes[i].alive())
        .collect()
}

/// One random fault.
fn chaos_action(sim: &mut Sim, rng: &mut Rng) -> Result<(), Violation> {
    let n = sim.nodes.len();
    let up = alive(sim);
    let down: Vec<usize> = (0..n).filter(|i| !up.contains(i)).collect();
    let a = rng.index(n);
    let b = (a + 1 + rng.index(n - 1)) % n;
    match rng.below(100) {
        // Crash a node (keep at least one).
        0..=11 if up.len() > 1 => sim.crash(up[rng.index(up.len())]),
        // Restart a crashed node.
        12..=27 if !down.is_empty() => {
            let i = down[rng.index(down.len())];
            sim.start_at(i, sim.now());
        }
        // Cut one direction of one pair: asymmetric.
        28..=42 => sim.set_link(a, b, false),
        // Heal one direction.
        43..=55 => sim.set_link(a, b, true),
        // Partition into 2 or 3 groups.
        56..=63 => {
            let groups = rng.range(2, 3) as usize;
            let side: Vec<usize> = (0..n).map(|_| rng.index(groups)).collect();
            for x in 0..n {
                for y in 0..n {
                    sim.set_link(x, y, side[x] == side[y]);
                }
            }
        }
        // Heal everything.
        64..=71 => heal_all(sim),
        // Isolate a node.
        72..=76 => {
            for y in 0..n {
                sim.set_link(a, y, false);
                sim.set_link(y, a, false);
            }
        }
        // A false suspicion.
        77..=88 => sim.fd_blip(a, b),
        // A flapping link: cut and heal a few times, fast.
        89..=94 => {
            let times = rng.range(3, 10);
            for _ in 0..times {
                sim.set_link(a, b, false);
                sim.set_link(b, a, false);
                let t =
                    sim.now() + rng.duration(Duration::from_millis(20), Duration::from_millis(300));
                sim.run_until(t)?;
                sim.set_link(a, b, true);
                sim.set_link(b, a, true);
                let t =
                    sim.now() + rng.duration(Duration::from_millis(20), Duration::from_millis(300));
                sim.run_until(t)?;
            }
        }
        // Restart a running node at once (a quick restart: the failure detectors see a new
        // generation, perhaps without a death in between).
        _ if up.len() > 1 => {
            let i = up[rng.index(up.len())];
            sim.crash(i);
            let t = sim.now() + rng.duration(Duration::ZERO, Duration::from_millis(200));
            sim.run_until(t)?;
            sim.start_at(i, t);
            sim.run_until(t)?;
        }
        _ => {}
    }
    Ok(())
}
