//! Members, membership ids and installed memberships.

use std::fmt;

use halo_types::{Generation, NodeName, Timestamp};
use serde::{Deserialize, Serialize};

use crate::quorum::QuorumStatus;

/// One incarnation of a node: its name and the generation it runs under.
///
/// Memberships list incarnations, not names: a node that restarts (new generation) is a
/// new member, so a promise or an acknowledgement given by the old incarnation never
/// counts for the new one. Ordered by name, then generation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The node's name.
    pub name: NodeName,
    /// The generation the node runs under (persisted and incremented by `halod` on start).
    pub generation: Generation,
}

impl Member {
    /// The incarnation `name` at `generation`.
    pub fn new(name: NodeName, generation: Generation) -> Self {
        Member { name, generation }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.generation)
    }
}

/// The identity of one membership: a sequence number and the incarnation that formed it.
///
/// `seq` is the number people see (`halo status`: "membership 42"). It grows: a new
/// membership's `seq` is larger than the `seq` of every membership any of its members
/// installed before, and a node's installed `seq` only ever grows, across restarts too
/// (`halod` persists the last one and passes it back in [`crate::Config::last_seq`]).
///
/// Two partitions that cannot talk form memberships independently and may pick the same
/// `seq`; they never share a member, and their coordinators differ, so the pair
/// (`seq`, `coordinator`) names exactly one membership over the cluster's whole life. This
/// is Corosync's ring id (representative, sequence) with the representative's generation
/// added, which removes the need to persist anything before sending a proposal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MembershipId {
    /// The sequence number: grows over the cluster's life.
    pub seq: u64,
    /// The incarnation that coordinated the round (the first member in name order).
    pub coordinator: Member,
}

impl fmt::Display for MembershipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (by {})", self.seq, self.coordinator)
    }
}

/// A membership installed on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Its identity; the same on every member.
    pub id: MembershipId,
    /// The members, sorted by name; the same on every member that installs `id`.
    pub members: Vec<Member>,
    /// When this node installed it, on this node's clock (local: not comparable across
    /// nodes).
    pub formed_at: Timestamp,
    /// Members that were not in this node's previous membership (empty for the first one).
    pub joined: Vec<Member>,
    /// Members of this node's previous membership that are not in this one: dead, left,
    /// restarted (the new incarnation then appears in `joined`) or cut off.
    pub left: Vec<Member>,
    /// Whether this membership may run services, and what to do if not.
    pub quorum: QuorumStatus,
}

impl Membership {
    /// The members' names, sorted.
    pub fn names(&self) -> Vec<NodeName> {
        self.members.iter().map(|m| m.name.clone()).collect()
    }

    /// Whether `name` (any incarnation) is a member.
    pub fn contains(&self, name: &NodeName) -> bool {
        self.members.iter().any(|m| &m.name == name)
    }
}
