//! Convergence figures for BENCHMARKS.md: after a node death, and after a partition heals.
//!
//! Each trial is its own seed on a LAN with reliable messaging and `halo-heartbeat`'s
//! detector at keepalive 100 ms / deadtime 500 ms. Times are simulated: they include network latency
//! and a fixed cost per message handled, not the speed of this machine.

use std::time::Duration;

use halo_types::Timestamp;

use crate::campaign::Spread;
use crate::invariants::{self, Violation, convergence};
use crate::rng::Rng;
use crate::sim::{Sim, SimConfig};

/// The figures of one cluster size.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Cluster size.
    pub nodes: usize,
    /// Trials.
    pub trials: usize,
    /// Crash → every survivor installed the membership without the dead node.
    pub death_from_crash: Spread,
    /// Last survivor's detector declares the death → every survivor installed.
    pub death_from_detection: Spread,
    /// Partition healed → one membership of all nodes everywhere.
    pub heal_from_heal: Spread,
    /// Last detector notices the healed links → one membership everywhere.
    pub heal_from_detection: Spread,
    /// Membership messages (each copy counted) from a death to convergence, median.
    pub death_messages: u64,
    /// Their bytes, median.
    pub death_bytes: u64,
    /// The largest membership message seen.
    pub largest_message: usize,
}

const BOUND: Duration = Duration::from_secs(30);

fn converge(sim: &mut Sim) -> Result<(Duration, Duration), Violation> {
    sim.begin_healing(BOUND);
    let since = sim.now();
    loop {
        if let Some(h) = &sim.healing
            && let Some(at) = h.converged_at
        {
            return Ok((at - since, at - h.last_fd_change.max(since)));
        }
        if sim.now() > since + BOUND {
            return Err(Violation {
                invariant: "convergence",
                at: sim.now(),
                what: convergence::describe(sim),
            });
        }
        let next = sim.now() + Duration::from_millis(1);
        sim.run_until(next)?;
    }
}

fn started(nodes: usize, seed: u64) -> Result<(Sim, Rng), Violation> {
    let mut cfg = SimConfig::lan(nodes, seed);
    cfg.fd.real = true;
    let mut sim = Sim::new(cfg, invariants::all());
    let mut rng = Rng::new(seed ^ 0xbe7c_4be7_c4be_7c4b);
    for i in 0..nodes {
        let at = Timestamp::from_duration(rng.duration(Duration::ZERO, Duration::from_millis(100)));
        sim.start_at(i, at);
    }
    sim.run_until(Timestamp::from_millis(200))?;
    converge(&mut sim)?;
    // Let the start-up settle completely.
    let t = sim.now() + Duration::from_secs(2);
    sim.run_until(t)?;
    Ok((sim, rng))
}

/// Runs `trials` trials of each scenario on `nodes` nodes (seeds `0..trials`).
pub fn figures(nodes: usize, trials: usize) -> Result<Figures, (u64, Violation)> {
    let mut death = (Vec::new(), Vec::new());
    let mut heal = (Vec::new(), Vec::new());
    let mut traffic: Vec<(u64, u64)> = Vec::new();
    let mut largest = 0;
    for seed in 0..trials as u64 {
        let e = |v| (seed, v);
        // A node dies.
        let (mut sim, mut rng) = started(nodes, seed).map_err(e)?;
        let before = sim.counters.clone();
        sim.crash(rng.index(nodes));
        let (a, b) = converge(&mut sim).map_err(e)?;
        death.0.push(a);
        death.1.push(b);
        traffic.push((
            sim.counters.sent - before.sent,
            sim.counters.sent_bytes - before.sent_bytes,
        ));
        largest = largest.max(sim.counters.largest);
        // A partition into halves heals.
        let (mut sim, mut rng) = started(nodes, seed + 1_000_000).map_err(e)?;
        let side: Vec<bool> = {
            let mut v: Vec<bool> = (0..nodes).map(|i| i < nodes / 2).collect();
            // Shuffle which nodes go where.
            for i in (1..nodes).rev() {
                v.swap(i, rng.index(i + 1));
            }
            v
        };
        for x in 0..nodes {
            for y in 0..nodes {
                if side[x] != side[y] {
                    sim.set_link(x, y, false);
                }
            }
        }
        converge(&mut sim).map_err(e)?;
        let t = sim.now() + Duration::from_secs(1);
        sim.run_until(t).map_err(e)?;
        for x in 0..nodes {
            for y in 0..nodes {
                sim.set_link(x, y, true);
            }
        }
        let (a, b) = converge(&mut sim).map_err(e)?;
        heal.0.push(a);
        heal.1.push(b);
        largest = largest.max(sim.counters.largest);
    }
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    Ok(Figures {
        nodes,
        trials,
        death_from_crash: Spread::of(death.0),
        death_from_detection: Spread::of(death.1),
        heal_from_heal: Spread::of(heal.0),
        heal_from_detection: Spread::of(heal.1),
        death_messages: median(traffic.iter().map(|t| t.0).collect()),
        death_bytes: median(traffic.iter().map(|t| t.1).collect()),
        largest_message: largest,
    })
}
