//! The failure detector: who is alive, per peer and per link, from when heartbeats arrive.
//!
//! ```text
//!            Heartbeat { from, link, generation, status, deadtime }  ──┐
//!            left(from, generation)   (a clean shutdown)           ──┤
//!            ping_reply(addr)         (ICMP echo answered)         ──┼──▶ Detector ──▶ Vec<Event>
//!            tick(now)                (at next_deadline())         ──┘        │
//!                                                                             ├─▶ next_deadline()
//!                                                                             └─▶ snapshot(now)
//! ```
//!
//! Pure: no clock, no socket, no timer. Every call takes `now` ([`Timestamp`]) and returns
//! the events it caused as values; `halod` arms one timer for [`Detector::next_deadline`]
//! and calls [`Detector::tick`] when it fires. Events carry the exact instant they
//! happened (`at`: a deadline, not the moment the timer was served), so tests assert
//! transition times to the millisecond whatever the tick granularity.
//!
//! ```
//! use std::time::Duration;
//! use halo_heartbeat::*;
//! use halo_types::{Generation, NodeName};
//!
//! let ms = Duration::from_millis;
//! let node = |s| NodeName::new(s).unwrap();
//! let config = DetectorConfig {
//!     local: node("a"),
//!     nodes: vec![node("a"), node("b")],
//!     links: vec![LinkName::new("eth0")],
//!     ping_nodes: vec![],
//!     ping_groups: vec![],
//!     timing: Timing { warntime: ms(1000), deadtime: ms(2000), initdead: ms(12_000), deadping: ms(2000) },
//! };
//! let mut d = Detector::new(config, Timestamp::ZERO);
//! let beat = Heartbeat {
//!     from: node("b"),
//!     link: LinkName::new("eth0"),
//!     generation: Generation(1),
//!     status: PeerStatus::Active,
//!     deadtime: None,
//! };
//! let events = d.heartbeat(Timestamp::from_millis(100), &beat);
//! assert!(events.contains(&Event::CommUp { at: Timestamp::from_millis(100) }));
//!
//! // The daemon sleeps until the next deadline, then ticks.
//! assert_eq!(d.next_deadline(), Some(Timestamp::from_millis(1100)));
//! let late = d.tick(Timestamp::from_millis(1100));
//! assert_eq!(late[0].to_string(), "node b: no heartbeat for 1000 ms");
//! let dead = d.tick(d.next_deadline().unwrap());
//! assert_eq!(dead.last().unwrap().to_string(), "node b: is dead (silent for 2000 ms)");
//! ```
//!
//! # Semantics (heartbeat 1.x, where not stated otherwise)
//!
//! * **Peers** are the other cluster nodes, ping nodes and ping groups ([`PeerId`]).
//!   A peer is heard on **links** (the media: `eth0`, `/dev/ttyS0`; for ping peers, the
//!   address that answered). Links start `dead` and come up when first heard.
//! * **Dead past deadtime.** A link is dead once it has been silent for the peer's
//!   deadtime; a peer is dead once it has been silent on *every* link for that long — a
//!   node is alive while any link to it is. The deadtime is the one the peer advertises
//!   in its heartbeats when it does (heartbeat's `dt` field, so that a node configured
//!   slower is not declared dead by faster peers), else ours; `deadping` for ping peers.
//!   "Silent for d" means no heartbeat in `[t - d, t)`: a heartbeat that arrives exactly
//!   at a deadline wins over the deadline.
//! * **initdead.** A peer never heard since we started is declared dead `initdead`
//!   after our start ([`Why::NeverHeard`]). Unlike heartbeat, which used initdead for
//!   everyone until "comm up", halo switches to deadtime per peer as soon as that peer is
//!   heard: once a peer's network works, a slow start of *another* peer's network is no
//!   reason to detect its death slowly.
//! * **Late past warntime.** When a peer has been silent for warntime, [`Event::Late`];
//!   when it is then heard again, [`Event::LateHeartbeat`] with the interval — heartbeat's
//!   `Late heartbeat: Node X: interval N ms`. The same for a single link while the peer as
//!   a whole is still heard on another link (so a flaky link is reported without
//!   repeating what the peer-level event already says). Warntime is ours, even when the
//!   peer advertises its deadtime; if it is not shorter than the deadtime in force there
//!   is no late warning.
//! * **Node states** ([`NodeState`]): `init` (never heard), `up` (heard, says it is still
//!   starting), `active` (says it is active), `dead` (timed out, or left cleanly — the
//!   event says which: [`Why::Timeout`], [`Why::NeverHeard`], [`Why::Left`]), `ping` (a
//!   ping node or group that answers). A peer that says `init` is shown as `up`: it has
//!   been heard.
//! * **Generations.** A heartbeat with a higher generation than known is a restart
//!   ([`Event::Restarted`]); a lower one is stale and ignored (the wire layer normally
//!   drops those first). After a clean leave, heartbeats of the generation that left are
//!   ignored, so a packet that was still in flight on a slower link cannot bring the
//!   node back; only a restart (higher generation) does. A node declared dead by
//!   timeout that is heard again with the same generation comes back with
//!   [`Why::Returned`] (heartbeat's "returning after partition").
//! * **Comm up**: once every peer has been heard or declared dead, [`Event::CommUp`]
//!   (heartbeat's start-up rule: a silent peer costs initdead). This node's own state
//!   goes from `up` to `active` then.
//! * **This node's links** are tracked too if `halod` feeds its own looped-back packets
//!   (broadcast and multicast with loop deliver them; a `ucast` line to our own address
//!   does too): they then show whether our sending path works, as in heartbeat. The local
//!   node itself never times out, and its links get no late warnings.

mod detector;
mod event;

pub use detector::{Detector, DetectorConfig, Heartbeat, PeerStatus, Timing};
pub use event::{Event, LinkName, PeerId, Why};

pub use halo_types::{LinkState, NodeState, Timestamp};

use std::time::Duration;

/// A peer's state for `halo status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSnapshot {
    /// Who.
    pub peer: PeerId,
    /// Its state.
    pub state: NodeState,
    /// Its generation, once heard (cluster nodes only).
    pub generation: Option<halo_types::Generation>,
    /// When it was last heard on any link.
    pub last_heard: Option<Timestamp>,
    /// Whether it is silent past warntime right now.
    pub late: bool,
    /// How many late heartbeats it sent since we started.
    pub late_count: u64,
    /// The deadtime in force for it (advertised, ours, deadping or — before it is first
    /// heard — initdead).
    pub deadtime: Duration,
    /// Its links, in configuration order, then in the order first heard.
    pub links: Vec<LinkSnapshot>,
}

/// One link to one peer, for `halo status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSnapshot {
    /// The link.
    pub name: LinkName,
    /// Up or dead.
    pub state: LinkState,
    /// When it last carried a heartbeat from this peer.
    pub last_heard: Option<Timestamp>,
    /// Late heartbeats on this link.
    pub late_count: u64,
}

/// Everything `halo status` shows about failure detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// When it was taken.
    pub at: Timestamp,
    /// When comm came up, if it has.
    pub comm_up: Option<Timestamp>,
    /// This node first, then the peers in configuration order.
    pub peers: Vec<PeerSnapshot>,
}
