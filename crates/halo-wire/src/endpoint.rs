//! The two ends a daemon holds: [`Outbound`] seals bodies into packets, [`Inbound`]
//! opens datagrams into packets, judging and counting them.

use std::collections::BTreeMap;

use halo_types::{ClusterName, Generation, NodeName};

use crate::auth::Keyring;
use crate::body::{Body, EncodeError};
use crate::counters::WireCounters;
use crate::packet::{DropReason, Verified, decode, encode_parts};
use crate::replay::{ReplayGuard, Verdict};

/// This node's sending side: its identity and its packet counter.
#[derive(Debug, Clone)]
pub struct Outbound {
    cluster: ClusterName,
    sender: NodeName,
    generation: Generation,
    next_seq: u64,
}

impl Outbound {
    /// The sending side of node `sender` in its life `generation`. Packet sequence
    /// numbers start at 1.
    pub fn new(cluster: ClusterName, sender: NodeName, generation: Generation) -> Outbound {
        Outbound {
            cluster,
            sender,
            generation,
            next_seq: 1,
        }
    }

    /// Encodes and signs `body` as the next packet. The same bytes go out on every
    /// medium: receivers recognise the copies as duplicates.
    pub fn seal(&mut self, body: &Body, keyring: &Keyring) -> Result<Vec<u8>, EncodeError> {
        let bytes = encode_parts(
            &self.cluster,
            &self.sender,
            self.generation,
            self.next_seq,
            body,
            keyring,
        )?;
        // 2^64 packets will not be sent; saturating keeps this panic-free regardless.
        self.next_seq = self.next_seq.saturating_add(1);
        Ok(bytes)
    }

    /// The sequence number the next packet will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// This node's generation.
    pub fn generation(&self) -> Generation {
        self.generation
    }
}

/// The outcome of receiving one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Authentic and new: act on it.
    Fresh(Verified),
    /// Authentic, and the first packet of a new generation of its sender (`previous`
    /// is `None` the first time we hear the node): act on it, and forget what was
    /// known about the sender's previous life.
    NewGeneration {
        /// The packet.
        verified: Verified,
        /// The generation known before.
        previous: Option<Generation>,
    },
    /// An authentic copy of a recent packet: proof the link it came on works; do not
    /// act on its content again.
    Duplicate(Verified),
    /// One of our own packets, heard back (broadcast and multicast loop back). If its
    /// generation is not ours, another node is configured with our name.
    Echo(Verified),
    /// Dropped, for this reason (already counted).
    Dropped(DropReason),
}

/// This node's receiving side: checks, judges against each peer's replay guard, counts.
#[derive(Debug, Clone)]
pub struct Inbound {
    cluster: ClusterName,
    local: NodeName,
    /// One guard per authentic sender: grows only with nodes holding a valid key.
    guards: BTreeMap<NodeName, ReplayGuard>,
    counters: WireCounters,
}

impl Inbound {
    /// The receiving side of node `local` in cluster `cluster`.
    pub fn new(cluster: ClusterName, local: NodeName) -> Inbound {
        Inbound {
            cluster,
            local,
            guards: BTreeMap::new(),
            counters: WireCounters::default(),
        }
    }

    /// Installs a guard for `peer` that refuses generations below `floor` (see
    /// [`ReplayGuard::with_floor`]). Call before receiving anything from the peer.
    pub fn set_generation_floor(&mut self, peer: NodeName, floor: Generation) {
        self.guards.insert(peer, ReplayGuard::with_floor(floor));
    }

    /// Checks, authenticates and judges one datagram, and counts the outcome.
    pub fn receive(&mut self, bytes: &[u8], keyring: &Keyring) -> Received {
        let verified = match decode(bytes, keyring, &self.cluster) {
            Ok(v) => v,
            Err(reason) => return self.dropped(reason),
        };
        let sender = &verified.packet.sender;
        if *sender == self.local {
            self.counters.echoes = self.counters.echoes.saturating_add(1);
            return Received::Echo(verified);
        }
        let guard = self.guards.entry(sender.clone()).or_default();
        match guard.check(verified.packet.generation, verified.packet.seq) {
            Verdict::Fresh => {
                self.counters.accepted = self.counters.accepted.saturating_add(1);
                Received::Fresh(verified)
            }
            Verdict::NewGeneration { previous } => {
                self.counters.accepted = self.counters.accepted.saturating_add(1);
                self.counters.new_generations = self.counters.new_generations.saturating_add(1);
                Received::NewGeneration { verified, previous }
            }
            Verdict::Duplicate => {
                self.counters.duplicates = self.counters.duplicates.saturating_add(1);
                Received::Duplicate(verified)
            }
            Verdict::Replay => self.dropped(DropReason::Replay),
            Verdict::StaleGeneration => self.dropped(DropReason::StaleGeneration),
        }
    }

    fn dropped(&mut self, reason: DropReason) -> Received {
        self.counters.record_drop(&reason);
        Received::Dropped(reason)
    }

    /// What was received so far, by outcome.
    pub fn counters(&self) -> &WireCounters {
        &self.counters
    }

    /// The generation last heard from `peer`.
    pub fn peer_generation(&self, peer: &NodeName) -> Option<Generation> {
        self.guards.get(peer).and_then(ReplayGuard::generation)
    }
}
