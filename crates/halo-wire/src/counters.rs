//! Counters of what a receiver accepted and dropped, for `halo status`.

use serde::Serialize;

use crate::packet::DropReason;

/// Packets received, by outcome. Serialises to a flat JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WireCounters {
    /// Authentic, fresh packets acted on (including the first of a new generation).
    pub accepted: u64,
    /// Of those, the first packet of a new generation of its sender.
    pub new_generations: u64,
    /// Authentic copies of recent packets (normal with redundant media).
    pub duplicates: u64,
    /// Our own packets heard back (broadcast and multicast loop back).
    pub echoes: u64,
    /// Dropped: not a well-formed halo packet.
    pub malformed: u64,
    /// Dropped: a protocol major version we do not speak.
    pub unsupported_version: u64,
    /// Dropped: another cluster's.
    pub other_cluster: u64,
    /// Dropped: signed with a key index we do not list.
    pub unknown_key_index: u64,
    /// Dropped: digest mismatch (forged, corrupt or wrong secret).
    pub bad_digest: u64,
    /// Dropped: authentic but of a packet type we do not know.
    pub unknown_type: u64,
    /// Dropped: authentic but older than the replay window.
    pub replay: u64,
    /// Dropped: authentic but from an earlier generation of its sender.
    pub stale_generation: u64,
}

impl WireCounters {
    /// Counts one dropped packet.
    pub fn record_drop(&mut self, reason: &DropReason) {
        let c = match reason {
            DropReason::Malformed(_) => &mut self.malformed,
            DropReason::UnsupportedVersion { .. } => &mut self.unsupported_version,
            DropReason::OtherCluster => &mut self.other_cluster,
            DropReason::UnknownKeyIndex(_) => &mut self.unknown_key_index,
            DropReason::BadDigest => &mut self.bad_digest,
            DropReason::UnknownType(_) => &mut self.unknown_type,
            DropReason::Replay => &mut self.replay,
            DropReason::StaleGeneration => &mut self.stale_generation,
        };
        *c = c.saturating_add(1);
    }

    /// Every dropped packet, whatever the reason.
    pub fn dropped(&self) -> u64 {
        [
            self.malformed,
            self.unsupported_version,
            self.other_cluster,
            self.unknown_key_index,
            self.bad_digest,
            self.unknown_type,
            self.replay,
            self.stale_generation,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Packets that failed authentication: what `halo status` reports as "rejected"
    /// (a node with a wrong key shows up here).
    pub fn rejected(&self) -> u64 {
        self.unknown_key_index.saturating_add(self.bad_digest)
    }
}
