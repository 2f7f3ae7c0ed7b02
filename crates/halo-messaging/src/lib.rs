//! Reliable cluster messaging above the wire codec: per-sender order, exactly-once
//! delivery, retransmission, fragmentation. Pure (sans-I/O): no sockets, clocks,
//! threads or global state; time comes in as [`halo_types::Timestamp`], randomness as a
//! seed, and effects go out as [`Output`] values.
//!
//! One [`Engine`] per node. Feed it authentic, fresh packets (from
//! [`halo_wire::Inbound`]), the failure detector's [`PeerEvent`]s and ticks at
//! [`Engine::next_deadline`]; give it messages with [`Engine::send`]; carry out what
//! [`Engine::drain_outputs`] returns.
#![doc = include_str!("../docs/messaging.md")]

mod config;
mod counters;
mod engine;
pub mod fuzzing;
mod recv;
mod rng;
mod send;

pub use config::{Config, ConfigError, DEFAULT_FRAGMENT_SIZE, MAX_FRAGMENT_SIZE};
pub use counters::Counters;
pub use engine::Engine;
pub use halo_wire::{Body, Channel, SenderStatus};

use halo_types::{Generation, NodeName};

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Every other member (a node's own broadcasts are not delivered back to it).
    All,
    /// One node.
    Node(NodeName),
}

/// What the engine asks its daemon to do, or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Seal this body into a packet and send it on every medium.
    Transmit(Body),
    /// A message for this node's upper layers, in order and once.
    Deliver(Message),
    /// Some of a peer's stream will never be delivered.
    Loss(Loss),
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender.
    pub from: NodeName,
    /// The sender's generation.
    pub generation: Generation,
    /// The data sequence number of its first fragment in the sender's stream
    /// (increasing per sender and generation; 0 for a message a node sent itself).
    pub seq: u64,
    /// The upper layer it is for.
    pub channel: Channel,
    /// Whether it was sent to every member or to this node alone.
    pub to: Destination,
    /// The message.
    pub payload: Vec<u8>,
}

/// A gap in a peer's stream that will never be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The sender.
    pub from: NodeName,
    /// The generation of the sender's stream.
    pub generation: Generation,
    /// Why.
    pub reason: LossReason,
    /// How many fragments of the stream were known to exist but not delivered. Some may
    /// have been addressed to other nodes: the receiver cannot tell.
    pub fragments: u64,
}

/// Why a loss happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossReason {
    /// The failure detector declared the sender dead with its stream unfinished.
    PeerDead,
    /// The sender left cleanly with its stream unfinished.
    PeerLeft,
    /// The sender restarted (a new generation) with its old stream unfinished.
    PeerRestarted,
    /// The sender no longer holds the fragments: it stopped counting this node as
    /// alive for a while (so freed them without its acknowledgement).
    NotRetained,
    /// The sender broke the fragmentation rules (a bug on its side).
    ProtocolError,
}

/// A liveness event of the failure detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The peer is alive in this generation (first heard, back from the dead, or
    /// restarted). It joins the ack set.
    Alive {
        /// The peer.
        node: NodeName,
        /// Its generation.
        generation: Generation,
    },
    /// The peer is dead: it leaves the ack set, and its unfinished stream is reported.
    Dead {
        /// The peer.
        node: NodeName,
    },
    /// The peer left cleanly: as `Dead`, with another reason.
    Left {
        /// The peer.
        node: NodeName,
    },
}

/// Where a node's stream stands: what it tells receivers in every heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPosition {
    /// The highest data sequence number sent (0: none).
    pub highest_sent: u64,
    /// The oldest still held for retransmission (`highest_sent + 1` if none).
    pub oldest_retained: u64,
}

/// Why `send` refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Larger than `max_message_size`.
    #[error("message of {size} bytes is larger than the {max} allowed")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The send window cannot take the message now: try again once peers have
    /// acknowledged (or been declared dead).
    #[error("send window full: the message needs {needed} fragments, {free} are free")]
    Backpressure {
        /// Fragments the message needs.
        needed: usize,
        /// Fragments free in the window.
        free: usize,
    },
    /// The destination is not a live peer.
    #[error("node {0} is not alive")]
    NotAlive(NodeName),
}
