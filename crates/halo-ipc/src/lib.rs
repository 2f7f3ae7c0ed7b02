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
//! [`Event`] per line until the client hangs up.
//!
//! Resource and CIB requests ([`Request::Change`], [`Request::Cib`],
//! [`Request::LrmHistory`]) are answered by halod's cluster resource manager thread,
//! the others by its core. A [`Request::Change`] is answered only once the change is
//! decided: validated by the policy engine and committed on every member
//! ([`Reply::Done`]), or refused with the reason ([`Reply::Error`]). JSON keeps the API usable from a shell
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
    /// Change the cluster's configuration (`halo resource …`, `halo node …`,
    /// `halo configure load`, `halo standby`, `halo takeover`). The DC applies it to a
    /// copy of the CIB, the policy engine validates it, and it is committed only when
    /// valid; the reply comes once every member has it.
    Change {
        /// What to change.
        change: Change,
    },
    /// This node's copy of the CIB (`halo configure show`). Read-only.
    Cib {
        /// With the status section (operation histories, node states).
        #[serde(default)]
        status: bool,
    },
    /// The local resource manager's operation histories (`halo lrm history`).
    /// Read-only.
    LrmHistory {
        /// One resource (all when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource: Option<String>,
    },
}

/// A change of the cluster's configuration, as an administrator asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Allow a resource to run (`target-role` removed).
    ResourceStart {
        /// The resource (a primitive, group or clone).
        id: String,
    },
    /// Stop a resource (`target-role=Stopped`).
    ResourceStop {
        /// The resource.
        id: String,
    },
    /// Stop a resource everywhere, then start it again.
    ResourceRestart {
        /// The resource.
        id: String,
    },
    /// Move a resource to a node, or away from where it runs when no node is given.
    ResourceMove {
        /// The resource.
        id: String,
        /// The destination.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeName>,
    },
    /// Remove the constraints of earlier moves, standbys and takeovers.
    ResourceUnmove {
        /// The resource.
        id: String,
    },
    /// Forget failures and operation history, so the resource is probed again.
    ResourceCleanup {
        /// The resource (all when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The node (every node when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeName>,
    },
    /// Put a node in standby: it runs no resources.
    NodeStandby {
        /// The node (this node when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeName>,
    },
    /// Take a node out of standby.
    NodeOnline {
        /// The node (this node when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeName>,
    },
    /// Put a node in or out of maintenance: its resources are left alone.
    NodeMaintenance {
        /// The node (this node when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeName>,
        /// On or off.
        on: bool,
    },
    /// Replace the configuration with that of a CIB (Pacemaker's schema; its status
    /// section is ignored).
    ConfigureLoad {
        /// The CIB's XML.
        cib_xml: String,
    },
    /// Replace the configuration with a heartbeat-1 `haresources` file, imported as
    /// halo does at start-up.
    ConfigureLoadHaresources {
        /// Where the text came from, for error messages.
        file: String,
        /// The file's text.
        text: String,
    },
    /// heartbeat's `hb_standby`: move the groups of the scope away from this node.
    Standby {
        /// Which groups (relative to this node).
        scope: Scope,
    },
    /// heartbeat's `hb_takeover`: move the groups of the scope to this node.
    Takeover {
        /// Which groups (relative to this node).
        scope: Scope,
    },
}

/// Groups of a heartbeat cluster relative to a node (`hb_standby`, `hb_takeover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every group.
    #[default]
    All,
    /// Groups whose preferred node is this node.
    Local,
    /// Groups whose preferred node is another node.
    Foreign,
}

impl Request {
    /// Whether the request only reads state.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Request::Status
                | Request::Watch
                | Request::Listen
                | Request::Memberships
                | Request::Cib { .. }
                | Request::LrmHistory { .. }
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
    /// A [`Request::Change`] was committed on every member (or there was nothing to
    /// change).
    Done {
        /// What was done, with the new CIB version.
        message: String,
    },
    /// The answer to [`Request::Cib`].
    Cib {
        /// The CIB as XML.
        xml: String,
        /// Its version, `admin_epoch.epoch.num_updates`.
        version: String,
        /// Whether this node has the CIB of the current membership (else it is the copy
        /// it started with, or had before it left).
        synced: bool,
    },
    /// The answer to [`Request::LrmHistory`]: halo-lrm's `ResourceHistory` records
    /// (definition and bounded operation log per resource), as JSON.
    LrmHistory {
        /// The histories, sorted by resource.
        histories: serde_json::Value,
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
    /// Operations that failed, newest information from the CIB's status section.
    #[serde(default)]
    pub failed_actions: Vec<FailedActionStatus>,
    /// Resources' failure counts per node.
    #[serde(default)]
    pub fail_counts: Vec<FailCountStatus>,
    /// The cluster resource manager's own state (absent when it does not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm: Option<CrmStatus>,
}

/// A failed operation (`halo status`'s "Failed resource actions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedActionStatus {
    /// The resource.
    pub resource: String,
    /// The operation, `RSC_ACTION_INTERVAL`.
    pub operation: String,
    /// Where it ran.
    pub node: NodeName,
    /// The OCF return code.
    pub rc: i32,
    /// Pacemaker's execution status (0 done, 2 timed out, 4 error, 7 not installed, …).
    pub op_status: i32,
    /// The agent's reason, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    /// When its result last changed, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rc_change: Option<u64>,
}

/// A resource's failure count on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailCountStatus {
    /// The resource.
    pub resource: String,
    /// The node.
    pub node: NodeName,
    /// The operation the count is for (`monitor_10000`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The count (INFINITY is 1000000).
    pub count: i64,
}

/// The cluster resource manager as this node runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CrmStatus {
    /// This node's CIB version, `admin_epoch.epoch.num_updates`.
    pub cib_version: String,
    /// Whether this node has the CIB of the current membership.
    pub synced: bool,
    /// Whether this node's resource lease is lost (it does not hear a quorum: its
    /// resources are stopped and no start is accepted).
    pub lease_lost: bool,
    /// Whether fencing is enabled in the configuration (not implemented yet: when it
    /// is off, a node that stops responding is assumed down).
    pub fencing_enabled: bool,
    /// Whether the DC has nothing left to do (only known on the DC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<bool>,
    /// Warnings for the administrator (fencing off, two-node split risk, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Nodes in standby (`halo node standby`): they run no resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<NodeName>,
    /// Nodes in maintenance (`halo node maintenance`): their resources are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<NodeName>,
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
    /// `Started`, `Stopped`, `Promoted`, `Unpromoted`, `Starting`, `Stopping`,
    /// `FAILED`.
    pub role: String,
    /// Where it runs, if anywhere.
    pub node: Option<NodeName>,
    /// Agent provider (OCF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The group or clone it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Its `target-role`, when set (`Stopped`: stopped by an administrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role: Option<String>,
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
    /// The DC started a transition (its Transition Summary).
    TransitionStarted {
        /// Transition number (per DC).
        id: u64,
        /// Actions in its graph.
        actions: usize,
        /// Summary lines (`Start ip ( node1 )`, …).
        summary: Vec<String>,
    },
    /// A transition ended.
    TransitionComplete {
        /// Transition number.
        id: u64,
        /// Whether it was aborted (a new one follows).
        aborted: bool,
    },
    /// A transition is being aborted: nothing new starts, then the policy engine plans
    /// again.
    TransitionAborted {
        /// Transition number.
        id: u64,
        /// Why.
        reason: String,
    },
    /// An operation's result was recorded in the CIB (on the DC).
    Action {
        /// Where it ran.
        node: NodeName,
        /// `RSC_ACTION_INTERVAL`.
        operation: String,
        /// OCF return code.
        rc: i32,
        /// Execution status.
        op_status: i32,
        /// Whether it counts as a failure.
        failed: bool,
    },
    /// An action of a transition failed or returned something unexpected.
    ActionFailed {
        /// Where it ran.
        node: String,
        /// The action's key.
        operation: String,
        /// What happened.
        detail: String,
    },
    /// Anything else the resource manager reports: DC elected, CIB chosen or
    /// committed, changes refused, the resource lease lost or regained, warnings.
    Crm {
        /// In words.
        text: String,
        /// Whether it is a problem (logged as a warning).
        problem: bool,
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
                provider: Some("heartbeat".into()),
                parent: None,
                target_role: None,
            }],
            counters: Counters::default(),
            failed_actions: vec![FailedActionStatus {
                resource: "vip".into(),
                operation: "vip_monitor_10000".into(),
                node: n("beta"),
                rc: 7,
                op_status: 0,
                exit_reason: None,
                last_rc_change: Some(1_700_000_000),
            }],
            fail_counts: vec![],
            crm: Some(CrmStatus::default()),
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
        assert_eq!(v["failed_actions"][0]["operation"], "vip_monitor_10000");
        let back: Status = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn an_older_status_without_the_crm_fields_still_reads() {
        let v = serde_json::json!({
            "node": "alpha", "cluster": "c", "generation": 1, "nodes": [],
            "membership": {"id": 0, "members": [], "quorate": false},
            "dc": null, "resources": [], "counters": {"values": {}}
        });
        let s: Status = serde_json::from_value(v).unwrap();
        assert!(s.failed_actions.is_empty() && s.crm.is_none());
    }

    #[test]
    fn changes_have_stable_names() {
        let r = Request::Change {
            change: Change::ResourceMove {
                id: "web".into(),
                node: Some(n("beta")),
            },
        };
        let line = encode_line(&r);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"request\":\"change\",\"change\":{\"op\":\"resource_move\",\"id\":\"web\",\"node\":\"beta\"}}\n"
        );
        assert_eq!(decode_line::<Request>(&line).unwrap(), r);
        let t: Request = decode_line(
            b"{\"request\":\"change\",\"change\":{\"op\":\"takeover\",\"scope\":\"foreign\"}}",
        )
        .unwrap();
        assert_eq!(
            t,
            Request::Change {
                change: Change::Takeover {
                    scope: Scope::Foreign
                }
            }
        );
        assert!(!t.is_read_only());
        assert!(Request::Cib { status: false }.is_read_only());
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
