//! Liveness and stability: once the network is stable (the healing phase) and the failure
//! detectors have caught up with it, every alive node installs the membership the rule gives for who hears whom — one common membership
//! per fully connected group, and the documented outcome for asymmetric links — within
//! the phase's bound; and after that nothing is installed any more (no flapping).

use super::{Invariant, list};
use crate::sim::Sim;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Convergence {
    /// The healing phase (by its start) whose convergence an earlier step already saw.
    seen: Option<halo_types::Timestamp>,
}

/// Whether every failure detector has caught up with the stable network, every engine is
/// at rest (not waiting for an answer that could change its mind), and every alive node has
/// installed its expected membership, with one id per group.
pub fn is_converged(sim: &Sim) -> bool {
    let Some(h) = &sim.healing else {
        return false;
    };
    // The real detector may still time out a peer whose heartbeats stopped before the
    // network healed, until every peer it hears has had time to send one (a keepalive plus
    // the slowest delivery): only then can its beliefs be taken as final.
    if sim.cfg.fd.real && sim.now() < h.since + sim.cfg.fd.keepalive + sim.cfg.net.spike.1 {
        return false;
    }
    let n = sim.nodes.len();
    let detectors_settled = (0..n).filter(|&o| sim.nodes[o].alive()).all(|o| {
        (0..n).filter(|&p| p != o).all(|p| {
            let truth = sim.hears(o, p).then_some(sim.nodes[p].generation);
            sim.belief(o, p) == truth
        })
    });
    let engines_settled = sim
        .nodes
        .iter()
        .filter_map(|n| n.engine.as_ref())
        .all(|e| e.is_settled(sim.now()));
    detectors_settled
        && engines_settled
        && h.expected.iter().all(|group| {
            let mut id = None;
            group.iter().all(|u| {
                let Some(i) = sim.index_of(&u.name) else {
                    return false;
                };
                let node = &sim.nodes[i];
                match node.installed() {
                    Some(m) if node.generation == u.generation && &m.members == group => {
                        id.get_or_insert(&m.id) == &&m.id
                    }
                    _ => false,
                }
            })
        })
}

/// What the nodes have installed, for a failure report.
pub fn describe(sim: &Sim) -> String {
    let mut s = String::new();
    if let Some(h) = &sim.healing {
        let groups: Vec<String> = h.expected.iter().map(|g| list(g)).collect();
        s.push_str(&format!("expected {}; ", groups.join(" ")));
    }
    for n in &sim.nodes {
        match (n.alive(), n.installed()) {
            (false, _) => s.push_str(&format!("{}: down; ", n.name)),
            (true, None) => s.push_str(&format!("{}: nothing; ", n.name)),
            (true, Some(m)) => s.push_str(&format!(
                "{}: {} {}{}; ",
                n.member(),
                m.id,
                list(&m.members),
                if n.engine.as_ref().is_some_and(|e| e.is_settled(sim.now())) {
                    ""
                } else {
                    " (unsettled)"
                }
            )),
        }
    }
    s
}

impl Invariant for Convergence {
    fn name(&self) -> &'static str {
        "convergence"
    }

    fn after_step(&mut self, sim: &Sim) -> Result<(), String> {
        let Some(h) = &sim.healing else {
            return Ok(());
        };
        match h.converged_at {
            Some(at) if self.seen == Some(h.since) && sim.installs_in_step() > 0 => Err(format!(
                "a membership was installed after convergence at {at} (flapping): {}",
                describe(sim)
            )),
            Some(_) => {
                self.seen = Some(h.since);
                Ok(())
            }
            None if sim.now() > h.since + h.bound => Err(format!(
                "no convergence within {:?} of the network becoming stable at {}: {}",
                h.bound,
                h.since,
                describe(sim)
            )),
            _ => Ok(()),
        }
    }
}
