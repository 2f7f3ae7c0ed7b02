//! The local API between `halo` (and any script) and `halod`.
//!
//! ```text
//!  halo / scripts ──Request (one JSON line)──▶ halod.sock ──▶ halod::api
//!                 ◀──Reply (one JSON line)────
//!                 ◀──Event, Event, …──────────   (only after Watch or Listen)
//! ```
//!
//! The framing is newline-delimited JSON: one request per connection, then one reply,
//! then, for the streaming requests ([`Request::Watch`], [`Request::Listen`]), one
//! [`Event`] per line until the client hangs up. JSON keeps the API usable from a shell
//! (`socat - UNIX-CONNECT:/run/halo/halod.sock`) and its shape is documented by these
//! types.
//!
//! [`Status`] is a **stable contract** (DESIGN.md): fields may be added, never renamed or
//! removed. `halo status --json` prints it unchanged.

use halo_types::{Generation, LinkState, NodeName, NodeState};
use serde::{Deserialize, Serialize};

/// Default path of halod's control socket (`$HALO_SOCKET` overrides it in `halo`).
pub const DEFAULT_SOCKET: &str = "/run/halo/halod.sock";

/// Longest request line halod reads; longer requests are refused. Messages sent with
/// [`Request::Send`] are bounded by this.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// A request from a client. Each is allowed for the clients authorised on the socket
/// (root or group `haclient`); read-only ones are marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// This node's view of the cluster. Read-only.
    Status,
    /// A stream of node, link and membership events. Read-only.
    Watch,
    /// Send a user message to one node or to all members (`halo send`).
    Send {
        /// Destination node; `None` sends to every member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<NodeName>,
        /// The message text.
        body: String,
    },
    /// A stream of user messages received from the cluster (`halo listen`). Read-only.
    Listen,
    /// The recent memberships this node installed, newest last (`halo membership`).
    /// Read-only.
    Memberships,
}

impl Request {
    /// Whether the request only reads state.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Request::Status | Request::Watch | Request::Listen | Request::Memberships
        )
    }
}

/// halod's reply to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The answer to [`Request::Status`].
    Status(Box<Status>),
    /// The request was carried out (for streams: events follow).
    Ok,
    /// The answer to [`Request::Memberships`].
    Memberships {
        /// Oldest first.
        memberships: Vec<MembershipRecord>,
    },
    /// The request was refused or failed.
    Error {
        /// What went wrong, for a human.
        message: String,
    },
}

/// This node's view of the cluster: the body of `halo status --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// This node's name.
    pub node: NodeName,
    /// The cluster's name (`cluster` in ha.cf).
    pub cluster: String,
    /// This daemon's generation (incremented on every start).
    pub generation: Generation,
    /// Every configured node, this one included, and every ping node.
    pub nodes: Vec<NodeStatus>,
    /// The current membership.
    pub membership: Membership,
    /// The designated coordinator, once one is elected.
    pub dc: Option<NodeName>,
    /// Resources and where they run.
    pub resources: Vec<ResourceStatus>,
    /// Packets dropped, by reason, and other counters.
    pub counters: Counters,
}

/// Whether a node is a cluster node or a ping pseudo-node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A node running halod.
    Normal,
    /// A ping node or ping group (ICMP echo).
    Ping,
}

/// One node as seen from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's name (for a ping node its address, for a ping group the group's name).
    pub name: String,
    /// Normal or ping.
    pub kind: NodeKind,
    /// `init`, `up`, `active`, `dead` or `ping`.
    pub state: NodeState,
    /// Per link: whether this node is heard on it.
    pub links: Vec<LinkStatus>,
    /// The node's generation as last heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<Generation>,
    /// Milliseconds since the node was last heard on any link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heard_ms: Option<u64>,
    /// How many late heartbeats (past warntime) were seen.
    #[serde(default)]
    pub late: u64,
}

/// One link to one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The local medium's name: an interface (`eth0`) or a serial device.
    pub name: String,
    /// `up` or `dead`.
    pub state: LinkState,
}

/// The cluster membership as this node last installed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Membership {
    /// Grows with every membership change over the cluster's life (0: none yet).
    pub id: u64,
    /// The members, sorted.
    pub members: Vec<NodeName>,
    /// Whether the membership has quorum.
    pub quorate: bool,
}

/// One installed membership, with why it changed (`halo membership`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecord {
    /// The membership.
    #[serde(flatten)]
    pub membership: Membership,
    /// The node that coordinated its formation.
    pub coordinator: NodeName,
    /// Milliseconds since this node installed it.
    pub age_ms: u64,
    /// Members that were not in this node's previous membership.
    pub joined: Vec<NodeName>,
    /// Members of the previous membership that are not in this one (dead, left,
    /// restarted or cut off).
    pub left: Vec<NodeName>,
    /// Votes of the members, and the votes needed for quorum.
    pub votes: u32,
    /// Votes needed for quorum.
    pub quorum: u32,
}

/// A resource and where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    /// Resource id.
    pub id: String,
    /// Agent class (`ocf`, `lsb`, `heartbeat`, …).
    pub class: String,
    /// Agent type (`IPaddr2`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// `Started`, `Stopped`, `Promoted`, `Unpromoted`.
    pub role: String,
    /// Where it runs, if anywhere.
    pub node: Option<NodeName>,
}

/// Counters a node keeps about what it received and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counters {
    /// Named counters (`rejected_bad_digest`, `log_dropped`, …), sorted by name.
    pub values: std::collections::BTreeMap<String, u64>,
}

/// Something that happened, streamed to `Watch` and `Listen` clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A node changed state.
    Node {
        /// The node.
        node: String,
        /// Its previous state.
        from: NodeState,
        /// Its new state.
        to: NodeState,
        /// Why, in words (`timeout`, `left`, `restarted`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A link to a node went up or dead.
    Link {
        /// The node.
        node: String,
        /// The local medium.
        link: String,
        /// Its new state.
        state: LinkState,
    },
    /// A heartbeat arrived later than warntime.
    Late {
        /// The node.
        node: String,
        /// Time since the previous heartbeat, in milliseconds.
        interval_ms: u64,
    },
    /// A new membership was installed.
    Membership(Membership),
    /// A user message arrived (`Listen` streams only these).
    Message {
        /// The sender.
        from: NodeName,
        /// Whether it was addressed to this node only (else to all).
        direct: bool,
        /// The text.
        body: String,
    },
    /// Events were dropped because this client read too slowly.
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// A malformed line on the socket.
#[derive(Debug, thiserror::Error)]
#[error("malformed API message: {0}")]
pub struct DecodeError(#[from] serde_json::Error);

/// Serialises a value as one JSON line (with the trailing newline).
pub fn encode_line<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail: no maps with non-string keys,
    // no custom serialisers that error.
    let mut v = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    v.push(b'\n');
    v
}

/// Parses one JSON line.
pub fn decode_line<T: for<'de> Deserialize<'de>>(line: &[u8]) -> Result<T, DecodeError> {
    Ok(serde_json::from_slice(line)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    #[test]
    fn requests_round_trip_and_have_stable_names() {
        let r = Request::Send {
            to: Some(n("alpha")),
            body: "hi".into(),
        };
        let line = encode_line(&r);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"request\":\"send\",\"to\":\"alpha\",\"body\":\"hi\"}\n"
        );
        assert_eq!(decode_line::<Request>(&line).unwrap(), r);
        assert_eq!(
            decode_line::<Request>(b"{\"request\":\"status\"}").unwrap(),
            Request::Status
        );
        assert!(decode_line::<Request>(b"{\"request\":\"reboot\"}").is_err());
        assert!(Request::Watch.is_read_only());
        assert!(!r.is_read_only());
    }

    #[test]
    fn status_json_has_the_contract_fields() {
        let s = Status {
            node: n("alpha"),
            cluster: "default".into(),
            generation: Generation(3),
            nodes: vec![NodeStatus {
                name: "beta".into(),
                kind: NodeKind::Normal,
                state: NodeState::Active,
                links: vec![LinkStatus {
                    name: "eth0".into(),
                    state: LinkState::Up,
                }],
                generation: Some(Generation(7)),
                last_heard_ms: Some(12),
                late: 0,
            }],
            membership: Membership {
                id: 4,
                members: vec![n("alpha"), n("beta")],
                quorate: true,
            },
            dc: None,
            resources: vec![ResourceStatus {
                id: "vip".into(),
                class: "ocf".into(),
                kind: "IPaddr2".into(),
                role: "Started".into(),
                node: Some(n("beta")),
            }],
            counters: Counters::default(),
        };
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(v["node"], "alpha");
        assert_eq!(v["nodes"][0]["name"], "beta");
        assert_eq!(v["nodes"][0]["state"], "active");
        assert_eq!(v["nodes"][0]["links"][0]["name"], "eth0");
        assert_eq!(v["nodes"][0]["links"][0]["state"], "up");
        assert_eq!(v["membership"]["id"], 4);
        assert_eq!(v["membership"]["members"][1], "beta");
        assert_eq!(v["membership"]["quorate"], true);
        assert!(v["dc"].is_null());
        assert_eq!(v["resources"][0]["id"], "vip");
        assert_eq!(v["resources"][0]["class"], "ocf");
        assert_eq!(v["resources"][0]["type"], "IPaddr2");
        assert_eq!(v["resources"][0]["role"], "Started");
        assert_eq!(v["resources"][0]["node"], "beta");
        let back: Status = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn every_reply_carries_its_tag() {
        let r = Reply::Memberships {
            memberships: Vec::new(),
        };
        let line = encode_line(&r);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"reply\":\"memberships\",\"memberships\":[]}\n"
        );
        assert_eq!(decode_line::<Reply>(&line).unwrap(), r);
    }

    #[test]
    fn events_are_tagged() {
        let e = Event::Link {
            node: "beta".into(),
            link: "eth1".into(),
            state: LinkState::Dead,
        };
        let line = encode_line(&e);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"event\":\"link\",\"node\":\"beta\",\"link\":\"eth1\",\"state\":\"dead\"}\n"
        );
        assert_eq!(decode_line::<Event>(&line).unwrap(), e);
    }
}
