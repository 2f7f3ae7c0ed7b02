//! Agreement: every node that installs a membership id installs the same member list; two
//! different memberships with the same seq share no member; the installer is a member.

use std::collections::{BTreeSet, HashMap};

use halo_membership::{Member, Membership, MembershipId};

use super::{Invariant, list};
use crate::sim::Sim;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Agreement {
    by_id: HashMap<MembershipId, Vec<Member>>,
    by_seq: HashMap<u64, Vec<MembershipId>>,
}

impl Invariant for Agreement {
    fn name(&self) -> &'static str {
        "agreement"
    }

    fn on_install(&mut self, sim: &Sim, node: usize, m: &Membership) -> Result<(), String> {
        let me = sim.nodes[node].member();
        if !m.members.contains(&me) {
            return Err(format!(
                "{me} installed {} without being a member: {}",
                m.id,
                list(&m.members)
            ));
        }
        if !m.members.windows(2).all(|w| w[0].name < w[1].name) {
            return Err(format!(
                "{me} installed {} with unsorted or repeated members: {}",
                m.id,
                list(&m.members)
            ));
        }
        if let Some(first) = self.by_id.get(&m.id) {
            if first != &m.members {
                return Err(format!(
                    "{me} installed {} as {} but it was installed elsewhere as {}",
                    m.id,
                    list(&m.members),
                    list(first)
                ));
            }
            return Ok(());
        }
        let mine: BTreeSet<&Member> = m.members.iter().collect();
        for other in self.by_seq.get(&m.id.seq).into_iter().flatten() {
            if let Some(members) = self.by_id.get(other)
                && let Some(shared) = members.iter().find(|x| mine.contains(x))
            {
                return Err(format!(
                    "memberships {} and {} have the same seq and share {shared}",
                    m.id, other
                ));
            }
        }
        self.by_id.insert(m.id.clone(), m.members.clone());
        self.by_seq.entry(m.id.seq).or_default().push(m.id.clone());
        Ok(())
    }
}
