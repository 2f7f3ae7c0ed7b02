//! Quorum: whether a membership may run services.
//!
//! Each node carries votes (1 unless `votes NODE N` says otherwise). A membership is
//! **quorate** when its members' votes reach the *quorum*, `expected / 2 + 1` (more than
//! half), where *expected* is
//!
//! - `expected_votes N` if set, otherwise the votes of the nodes listed in `ha.cf`
//!   (`node` lines and nodes given votes), and
//! - raised to the largest number of votes ever present in one membership since start-up,
//!   so that adding nodes that are not listed cannot let two halves both be quorate
//!   (Corosync's votequorum does the same).
//!
//! **`two_node on`** is for clusters of exactly two one-vote nodes: the quorum becomes 1, so
//! a survivor keeps quorum when its peer dies. Both halves of a split would then be
//! quorate, so this is safe only where fencing arbitrates (the survivor must fence its peer
//! before taking over anything): a status that is quorate by this rule alone carries
//! [`QuorumStatus::fencing_required`] for the resource manager to honour.
//!
//! **`wait_for_all on`** (the default when `two_node` is on): the cluster is not quorate
//! until, once since this node started, one membership held every expected vote at the same
//! time. This stops a freshly booted node of a two-node cluster, which cannot hear its
//! peer, from declaring itself quorate and fencing a healthy peer.
//!
//! **`no_quorum_policy`** (`stop`, `freeze`, `ignore`, `suicide`; default `stop`) is not
//! acted on here: it is carried in every [`QuorumStatus`] for the resource manager.
//!
//! Only votes of listed nodes can be configured; an unlisted node that joins has one vote.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use halo_types::NodeName;
use serde::{Deserialize, Serialize};

/// What the resource manager does with the resources of a partition without quorum
/// (`ha.cf`: `no_quorum_policy`; Pacemaker's `no-quorum-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoQuorumPolicy {
    /// Stop every resource in the partition (the default, as in Pacemaker).
    #[default]
    Stop,
    /// Keep running what runs; start nothing new.
    Freeze,
    /// Carry on as if quorate. Only for clusters that cannot split (or do not care).
    Ignore,
    /// Fence every node of the partition.
    Suicide,
}

impl NoQuorumPolicy {
    /// The value as written in `ha.cf`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoQuorumPolicy::Stop => "stop",
            NoQuorumPolicy::Freeze => "freeze",
            NoQuorumPolicy::Ignore => "ignore",
            NoQuorumPolicy::Suicide => "suicide",
        }
    }
}

impl fmt::Display for NoQuorumPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `no_quorum_policy` value that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown no_quorum_policy {0:?}; expected stop, freeze, ignore or suicide")]
pub struct UnknownPolicy(pub String);

impl FromStr for NoQuorumPolicy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, UnknownPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "stop" => Ok(NoQuorumPolicy::Stop),
            "freeze" => Ok(NoQuorumPolicy::Freeze),
            "ignore" => Ok(NoQuorumPolicy::Ignore),
            "suicide" => Ok(NoQuorumPolicy::Suicide),
            _ => Err(UnknownPolicy(s.to_string())),
        }
    }
}

/// Quorum settings, as `halo-config` reads them from `ha.cf`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuorumConfig {
    /// The cluster's nodes (`node` lines). Each has one vote unless `votes` says otherwise.
    pub nodes: Vec<NodeName>,
    /// `votes NODE N`: votes of listed nodes other than 1 (0 makes a node a non-voter).
    pub votes: BTreeMap<NodeName, u32>,
    /// `expected_votes N`: the expected votes, instead of the listed nodes' total.
    pub expected_votes: Option<u32>,
    /// `two_node on`: a two-node cluster whose survivor keeps quorum (fencing arbitrates).
    pub two_node: bool,
    /// `wait_for_all on|off`; unset means on with `two_node`, off otherwise.
    pub wait_for_all: Option<bool>,
    /// `no_quorum_policy`.
    pub no_quorum_policy: NoQuorumPolicy,
}

/// Why quorum settings cannot work. `halo-config` adds file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumConfigError {
    /// `expected_votes 0`.
    #[error("expected_votes must be at least 1")]
    ZeroExpected,
    /// `votes` for a node that no `node` line lists.
    #[error("votes given for {0}, which no `node` line lists")]
    UnknownNode(NodeName),
    /// `two_node on` where the cluster does not have exactly two votes.
    #[error(
        "two_node needs a cluster of exactly two one-vote nodes, but the expected votes are {0} \
         (list two nodes with `node`, or set `expected_votes 2`)"
    )]
    TwoNodeNeedsTwo(u32),
}

impl QuorumConfig {
    /// The votes `name` carries.
    pub fn votes_of(&self, name: &NodeName) -> u32 {
        self.votes.get(name).copied().unwrap_or(1)
    }

    /// The expected votes from configuration alone.
    pub fn configured_expected(&self) -> u32 {
        self.expected_votes.unwrap_or_else(|| {
            self.nodes
                .iter()
                .map(|n| self.votes_of(n))
                .fold(0u32, u32::saturating_add)
        })
    }

    /// Whether `wait_for_all` is in force.
    pub fn wait_for_all(&self) -> bool {
        self.wait_for_all.unwrap_or(self.two_node)
    }

    /// Checks that the settings make sense together.
    pub fn validate(&self) -> Result<(), QuorumConfigError> {
        if self.expected_votes == Some(0) {
            return Err(QuorumConfigError::ZeroExpected);
        }
        if let Some(n) = self.votes.keys().find(|n| !self.nodes.contains(n)) {
            return Err(QuorumConfigError::UnknownNode(n.clone()));
        }
        let expected = self.configured_expected();
        if self.two_node && (expected != 2 || self.nodes.iter().any(|n| self.votes_of(n) > 1)) {
            return Err(QuorumConfigError::TwoNodeNeedsTwo(expected));
        }
        Ok(())
    }
}

/// Quorum as computed for one membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumStatus {
    /// Whether the membership may run services.
    pub quorate: bool,
    /// The members' votes.
    pub votes: u32,
    /// The expected votes at this time.
    pub expected_votes: u32,
    /// The votes needed: more than half of `expected_votes` (1 in two-node mode).
    pub quorum: u32,
    /// Quorate only by the `two_node` rule (the peer is missing): the resource manager
    /// must fence the peer before recovering anything, and must treat the partition as
    /// without quorum if fencing is not configured.
    pub fencing_required: bool,
    /// `wait_for_all` is holding quorum back: all expected votes have not yet been seen in
    /// one membership since start-up.
    pub waiting_for_all: bool,
    /// What to do without quorum.
    pub no_quorum_policy: NoQuorumPolicy,
}

/// Computes quorum for successive memberships, remembering what `wait_for_all` and the
/// raising of expected votes need to know (state since this node started).
#[derive(Debug, Clone)]
pub struct QuorumTracker {
    config: QuorumConfig,
    /// The most votes seen in one membership.
    most_seen: u32,
    /// Whether one membership has held all expected votes.
    all_seen: bool,
}

impl QuorumTracker {
    /// A tracker for `config`, which must be valid.
    pub fn new(config: QuorumConfig) -> Result<Self, QuorumConfigError> {
        config.validate()?;
        Ok(QuorumTracker {
            config,
            most_seen: 0,
            all_seen: false,
        })
    }

    /// The settings.
    pub fn config(&self) -> &QuorumConfig {
        &self.config
    }

    /// Quorum for a membership of `members`, which is now installed (updates the memory).
    pub fn install<'a>(&mut self, members: impl IntoIterator<Item = &'a NodeName>) -> QuorumStatus {
        let votes = self.votes(members);
        self.most_seen = self.most_seen.max(votes);
        if votes >= self.expected() {
            self.all_seen = true;
        }
        self.status(votes)
    }

    /// Quorum for a membership of `members`, without remembering it.
    pub fn evaluate<'a>(&self, members: impl IntoIterator<Item = &'a NodeName>) -> QuorumStatus {
        self.status(self.votes(members))
    }

    fn votes<'a>(&self, members: impl IntoIterator<Item = &'a NodeName>) -> u32 {
        members
            .into_iter()
            .map(|n| self.config.votes_of(n))
            .fold(0u32, u32::saturating_add)
    }

    fn expected(&self) -> u32 {
        self.config.configured_expected().max(self.most_seen)
    }

    fn status(&self, votes: u32) -> QuorumStatus {
        let expected = self.expected();
        let two_node = self.config.two_node && expected == 2;
        let majority = expected / 2 + 1;
        let quorum = if two_node { 1 } else { majority };
        let waiting = self.config.wait_for_all() && !self.all_seen && votes < expected;
        let quorate = votes >= quorum && !waiting;
        QuorumStatus {
            quorate,
            votes,
            expected_votes: expected,
            quorum,
            fencing_required: quorate && two_node && votes < majority,
            waiting_for_all: waiting,
            no_quorum_policy: self.config.no_quorum_policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    #[test]
    fn policies_parse_and_print() {
        for p in ["stop", "freeze", "ignore", "suicide"] {
            assert_eq!(p.parse::<NoQuorumPolicy>().unwrap().as_str(), p);
        }
        assert_eq!("FREEZE".parse(), Ok(NoQuorumPolicy::Freeze));
        assert!("demote".parse::<NoQuorumPolicy>().is_err());
    }

    #[test]
    fn invalid_settings_are_refused() {
        let mut c = QuorumConfig {
            nodes: vec![n("a"), n("b"), n("c")],
            two_node: true,
            ..QuorumConfig::default()
        };
        assert_eq!(c.validate(), Err(QuorumConfigError::TwoNodeNeedsTwo(3)));
        c.expected_votes = Some(0);
        assert_eq!(c.validate(), Err(QuorumConfigError::ZeroExpected));
        c.expected_votes = None;
        c.two_node = false;
        c.votes.insert(n("z"), 2);
        assert_eq!(c.validate(), Err(QuorumConfigError::UnknownNode(n("z"))));
    }
}
