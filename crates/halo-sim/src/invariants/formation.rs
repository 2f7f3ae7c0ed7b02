//! Strong connectivity at formation: every member of an installed membership promised it
//! (the coordinator by proposing, the others by accepting) while its failure detector
//! heard every other member, with the very incarnations listed.
//!
//! This is checked against what each failure detector believed, not against the links:
//! a detector learns of a cut only after its deadtime, and no protocol can do better.

use std::collections::{BTreeSet, HashMap};

use halo_membership::wire::{Body, Message};
use halo_membership::{Member, Membership, MembershipId};

use super::{Invariant, list};
use crate::sim::Sim;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Formation {
    /// For each id, each promiser and whom it believed alive when it promised.
    promises: HashMap<MembershipId, HashMap<Member, BTreeSet<Member>>>,
    checked: BTreeSet<MembershipId>,
}

impl Invariant for Formation {
    fn name(&self) -> &'static str {
        "connected at formation"
    }

    fn on_send(&mut self, sim: &Sim, node: usize, msg: &Message) -> Result<(), String> {
        let id = match &msg.body {
            Body::Accept { id } | Body::Propose { id, .. } => id,
            _ => return Ok(()),
        };
        let heard: BTreeSet<Member> = sim.believed_alive(node).into_iter().collect();
        // The promise is made by the first acceptance; a repeated one (an answer to a
        // duplicated proposal) does not make it again.
        self.promises
            .entry(id.clone())
            .or_default()
            .entry(sim.nodes[node].member())
            .or_insert(heard);
        Ok(())
    }

    fn on_install(&mut self, sim: &Sim, node: usize, m: &Membership) -> Result<(), String> {
        if !self.checked.insert(m.id.clone()) {
            return Ok(());
        }
        if m.members.len() == 1 && m.members[0] == sim.nodes[node].member() {
            // A node alone forms it without a message: nothing to hear.
            return Ok(());
        }
        let promises = self.promises.get(&m.id);
        for member in &m.members {
            let Some(heard) = promises.and_then(|p| p.get(member)) else {
                return Err(format!(
                    "{} installed with {} as a member, which never promised it",
                    m.id, member
                ));
            };
            if let Some(missing) = m.members.iter().find(|x| !heard.contains(x)) {
                return Err(format!(
                    "{} formed as {} but {member} did not hear {missing} when it promised",
                    m.id,
                    list(&m.members)
                ));
            }
        }
        Ok(())
    }
}
