//! What the detector reports.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use halo_types::{Generation, LinkState, NodeName, NodeState, Timestamp};

/// A link's name: the medium's interface or device (`eth0`, `/dev/ttyS0`), or for ping
/// peers the address that answered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkName(String);

impl LinkName {
    /// A link name.
    pub fn new(name: impl Into<String>) -> Self {
        LinkName(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for LinkName {
    fn from(s: &str) -> Self {
        LinkName::new(s)
    }
}

/// Who a peer is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerId {
    /// A cluster node (or this node).
    Node(NodeName),
    /// A ping node: an address that should answer ICMP echo.
    Ping(IpAddr),
    /// A ping group: alive while any of its addresses answers.
    PingGroup(NodeName),
}

impl PeerId {
    /// The node's name, if this is a cluster node.
    pub fn node(&self) -> Option<&NodeName> {
        match self {
            PeerId::Node(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for PeerId {
    /// The name `halo status` shows: the node or group name, or the address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerId::Node(n) | PeerId::PingGroup(n) => write!(f, "{n}"),
            PeerId::Ping(a) => write!(f, "{a}"),
        }
    }
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Heard for the first time since we started (also when initdead had already
    /// declared it dead: it was late, not back).
    FirstHeard,
    /// A dead link carries heartbeats again.
    Heard,
    /// The peer announced a new status (`up` → `active`).
    Status,
    /// Heard again after being declared dead, same generation: it was cut off, not
    /// restarted (heartbeat's "returning after partition").
    Returned,
    /// Heard with a new generation: it restarted.
    Restarted,
    /// Silent for this long (its deadtime).
    Timeout {
        /// The deadtime that ran out.
        silent_for: Duration,
    },
    /// Never heard within initdead of our start.
    NeverHeard {
        /// initdead.
        initdead: Duration,
    },
    /// It left the cluster cleanly (shutdown).
    Left,
}

/// Something the daemon should know, log, or pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A peer's state changed.
    NodeChanged {
        /// Who.
        peer: PeerId,
        /// Before.
        from: NodeState,
        /// After.
        to: NodeState,
        /// Why.
        why: Why,
        /// When.
        at: Timestamp,
    },
    /// A link to a peer came up or died.
    LinkChanged {
        /// Whose link.
        peer: PeerId,
        /// Which link.
        link: LinkName,
        /// Before.
        from: LinkState,
        /// After.
        to: LinkState,
        /// Why.
        why: Why,
        /// When.
        at: Timestamp,
    },
    /// A peer (`link: None`), or one link to a peer that is still heard on another,
    /// has been silent for warntime.
    Late {
        /// Who.
        peer: PeerId,
        /// The link, when only it is late.
        link: Option<LinkName>,
        /// When it was last heard (on that link).
        last_heard: Timestamp,
        /// When it became late: `last_heard + warntime`.
        at: Timestamp,
    },
    /// A heartbeat arrived after a late silence: heartbeat's
    /// `Late heartbeat: Node X: interval N ms`.
    LateHeartbeat {
        /// Who.
        peer: PeerId,
        /// The link it arrived on.
        link: LinkName,
        /// Whether the peer as a whole was late (else only this link was).
        whole_peer: bool,
        /// Time since the previous heartbeat (from the peer, or on the link).
        interval: Duration,
        /// When it arrived.
        at: Timestamp,
    },
    /// A node restarted: its generation went up.
    Restarted {
        /// Who.
        node: NodeName,
        /// The generation we knew.
        from: Generation,
        /// The new one.
        to: Generation,
        /// When we noticed.
        at: Timestamp,
    },
    /// Every peer has been heard or declared dead.
    CommUp {
        /// When.
        at: Timestamp,
    },
    /// Heartbeats from a node that is not configured (reported once per name).
    UnknownNode {
        /// Its name.
        node: NodeName,
        /// Where it was heard.
        link: LinkName,
        /// When.
        at: Timestamp,
    },
}

impl Event {
    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            Event::NodeChanged { at, .. }
            | Event::LinkChanged { at, .. }
            | Event::Late { at, .. }
            | Event::LateHeartbeat { at, .. }
            | Event::Restarted { at, .. }
            | Event::CommUp { at }
            | Event::UnknownNode { at, .. } => *at,
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::FirstHeard => f.write_str("first heard"),
            Why::Heard => f.write_str("heard again"),
            Why::Status => f.write_str("status update"),
            Why::Returned => f.write_str("returned after being declared dead"),
            Why::Restarted => f.write_str("restarted"),
            Why::Timeout { silent_for } => write!(f, "silent for {} ms", silent_for.as_millis()),
            Why::NeverHeard { initdead } => {
                write!(
                    f,
                    "never heard within initdead ({} ms)",
                    initdead.as_millis()
                )
            }
            Why::Left => f.write_str("left the cluster"),
        }
    }
}

impl fmt::Display for Event {
    /// One log line, in heartbeat's words where it had some.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::NodeChanged { peer, to, why, .. } => {
                write!(f, "node {peer}: is {to} ({why})")
            }
            Event::LinkChanged {
                peer,
                link,
                to,
                why,
                ..
            } => {
                write!(f, "Link {peer}:{link} {to} ({why})")
            }
            Event::Late {
                peer,
                link: None,
                last_heard,
                at,
            } => write!(
                f,
                "node {peer}: no heartbeat for {} ms",
                (*at - *last_heard).as_millis()
            ),
            Event::Late {
                peer,
                link: Some(link),
                last_heard,
                at,
            } => write!(
                f,
                "Link {peer}:{link}: no heartbeat for {} ms",
                (*at - *last_heard).as_millis()
            ),
            Event::LateHeartbeat {
                peer,
                link,
                whole_peer,
                interval,
                ..
            } => {
                if *whole_peer {
                    write!(
                        f,
                        "Late heartbeat: Node {peer}: interval {} ms",
                        interval.as_millis()
                    )
                } else {
                    write!(
                        f,
                        "Late heartbeat: Link {peer}:{link}: interval {} ms",
                        interval.as_millis()
                    )
                }
            }
            Event::Restarted { node, from, to, .. } => write!(
                f,
                "Heartbeat restart on node {node} (generation {from} -> {to})"
            ),
            Event::CommUp { .. } => f.write_str("comm up: every node heard or declared dead"),
            Event::UnknownNode { node, link, .. } => write!(
                f,
                "heartbeats from node {node} on {link}, which is not configured: ignored"
            ),
        }
    }
}
