//! Monotonic ids: each node installs strictly increasing seqs, across its restarts too;
//! and a member never accepts a membership whose seq is not above what it has installed,
//! so every new membership's seq exceeds every seq its members had installed: ids grow
//! across the cluster.

use std::collections::HashMap;

use halo_membership::Membership;
use halo_membership::wire::{Body, Message};
use halo_types::NodeName;

use super::Invariant;
use crate::sim::Sim;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Monotonic {
    /// The last seq each node (by name, over all its lives) installed.
    last: HashMap<NodeName, u64>,
}

impl Invariant for Monotonic {
    fn name(&self) -> &'static str {
        "monotonic ids"
    }

    fn on_send(&mut self, sim: &Sim, node: usize, msg: &Message) -> Result<(), String> {
        let id = match &msg.body {
            Body::Accept { id } | Body::Propose { id, .. } => id,
            _ => return Ok(()),
        };
        let name = &sim.nodes[node].name;
        let last = self.last.get(name).copied().unwrap_or(0);
        if id.seq <= last {
            return Err(format!(
                "{name} accepted or proposed {id} after installing seq {last}"
            ));
        }
        Ok(())
    }

    fn on_install(&mut self, sim: &Sim, node: usize, m: &Membership) -> Result<(), String> {
        let name = &sim.nodes[node].name;
        let last = self.last.get(name).copied().unwrap_or(0);
        if m.id.seq <= last {
            return Err(format!("{name} installed {} after seq {last}", m.id));
        }
        self.last.insert(name.clone(), m.id.seq);
        Ok(())
    }
}
