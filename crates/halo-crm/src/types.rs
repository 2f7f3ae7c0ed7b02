//! The engine's inputs and outputs, and the values they carry.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use halo_cib::haresources::{AutoFailback, HaGroup};
use halo_cib::{Cib, LrmResource, Version};
use halo_policy::Transition;
use halo_types::NodeName;
use serde::{Deserialize, Serialize};

/// An installed membership, as the membership layer agreed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Grows with every new membership.
    pub id: u64,
    /// The members, sorted.
    pub members: Vec<NodeName>,
    /// Whether the members are a quorum of the cluster.
    pub quorate: bool,
}

/// How the engine runs; `halod` fills it from `ha.cf`, `haresources` and its arguments.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node.
    pub node: NodeName,
    /// This daemon's generation: part of every transition key this node issues as DC,
    /// so a late result of a previous incarnation never completes a new action.
    pub generation: u64,
    /// The cluster's nodes (`ha.cf` `node` lines): the initial CIB lists them, and the
    /// status section gives each one a state.
    pub nodes: Vec<NodeName>,
    /// A heartbeat-1 `haresources` cluster, when `haresources` exists and `crm` is off.
    pub haresources: Option<Haresources>,
    /// How long the DC waits for join replies before it proceeds without the silent
    /// members (they stay out of placement until the next round).
    pub join_timeout: Duration,
    /// Added to an action's own timeout before the DC gives up waiting for its result
    /// (Pacemaker's `cluster-delay`): covers messaging and queueing.
    pub cluster_delay: Duration,
    /// How long a client request may wait for a DC and for every member's copy.
    pub request_timeout: Duration,
    /// How often the DC re-runs the policy engine without a trigger, for time-based
    /// rules and `failure-timeout` (Pacemaker's `cluster-recheck-interval`).
    pub recheck_interval: Duration,
}

impl Config {
    /// Defaults for `node` in a cluster of `nodes`.
    pub fn new(node: NodeName, nodes: Vec<NodeName>) -> Self {
        Config {
            node,
            generation: 0,
            nodes,
            haresources: None,
            join_timeout: Duration::from_secs(5),
            cluster_delay: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            recheck_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// A heartbeat-1 resource configuration to import into the CIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Haresources {
    /// The groups, one per line.
    pub groups: Vec<HaGroup>,
    /// `auto_failback` from `ha.cf`.
    pub auto_failback: AutoFailback,
    /// Argument-less scripts that are init scripts (found in `/etc/init.d` but not in
    /// `resource.d`): they become `lsb:` resources.
    pub init_scripts: BTreeSet<String>,
    /// `no_quorum_policy` from `ha.cf`, written into the imported configuration
    /// (`None`: the importer's default, `stop`).
    pub no_quorum_policy: Option<String>,
    /// A digest of the file and of the `ha.cf` settings imported with it: every node
    /// must have the identical file and settings.
    pub digest: String,
}

/// What happens to the engine.
#[derive(Debug, Clone)]
pub enum Input {
    /// The daemon started: the persisted CIB if one was found and verified
    /// ([`crate::persist::decode`]).
    Start {
        /// The CIB, without its status section mattering (status is rebuilt).
        cib: Option<Box<Cib>>,
    },
    /// A new membership was installed.
    Membership(Membership),
    /// A message from a peer (or from this node to itself) on the CIB or CRM channel.
    Message {
        /// The sender.
        from: NodeName,
        /// The message.
        bytes: Vec<u8>,
    },
    /// A result of the local LRM.
    Lrm(Box<LrmResult>),
    /// A policy engine run requested with [`Output::RunPolicy`] finished.
    PolicyDone {
        /// The request's number.
        request: u64,
        /// The transition, or why there is none.
        result: Result<Box<Transition>, String>,
    },
    /// An administrator's request from the local API.
    Client {
        /// The caller's number for the reply.
        id: u64,
        /// The request.
        request: ClientRequest,
    },
    /// Whether this node still hears a quorum of the cluster (failure-detector silence
    /// below `deadtime - 2 * keepalive`): the resource lease.
    Lease {
        /// A quorum (this node included) is heard.
        quorum_heard: bool,
    },
    /// The daemon is shutting down (SIGTERM): stop every local resource, refuse starts,
    /// ask the DC to move this node's resources elsewhere, and answer with
    /// [`Output::ShutdownReady`] once nothing runs here any more.
    Shutdown {
        /// Wall-clock time, seconds since the Unix epoch (the `shutdown` attribute).
        epoch_secs: u64,
    },
    /// Time passed ([`crate::Crm::next_deadline`]).
    Tick,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every other member.
    All,
    /// One node.
    Node(NodeName),
}

/// The messaging channel a message travels on (one stream per sender, so the order
/// between the two channels is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// CIB contents: replacements, commits, status updates.
    Cib,
    /// Coordination: join, updates, operations and their results.
    Crm,
}

/// What the engine asks its daemon to do, or tells it.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send a message.
    Send {
        /// To whom.
        to: Target,
        /// On which channel.
        channel: Channel,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// Write these bytes ([`crate::persist::encode`]) to the CIB file, atomically and
    /// durably, **before** carrying out any later output: acknowledgements that follow
    /// promise the copy is on disk.
    PersistCib(Vec<u8>),
    /// Ask the local LRM.
    Lrm(LrmRequest),
    /// Run `halo_policy::schedule(&cib, wall-clock now)` (off the engine's thread) and
    /// answer with [`Input::PolicyDone`].
    RunPolicy {
        /// The request's number.
        request: u64,
        /// The CIB to schedule.
        cib: Box<Cib>,
    },
    /// The answer to an [`Input::Client`].
    ClientReply {
        /// The caller's number.
        id: u64,
        /// A message for the administrator, or why the request failed.
        result: Result<String, String>,
    },
    /// Something worth logging and showing in `halo watch`.
    Event(Event),
    /// After [`Input::Shutdown`]: every local resource is stopped; the daemon may
    /// leave the cluster.
    ShutdownReady,
}

/// A request to the local resource manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LrmRequest {
    /// Run an operation (a recurring one when `interval_ms > 0`); its results come back
    /// as [`Input::Lrm`].
    Execute(LrmOp),
    /// Stop a recurring operation.
    Cancel {
        /// The resource.
        resource: String,
        /// The action.
        action: String,
        /// Its interval.
        interval_ms: u64,
    },
    /// Forget a resource's history (cleanup): the next probe finds its state anew.
    Forget {
        /// The resource.
        resource: String,
    },
    /// Probe every resource known from the stored history and resume the recurring
    /// operations of those found running (after a restart of the daemon).
    Recover,
}

/// A resource agent, as `class:provider:type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// `ocf`, `lsb`, `heartbeat`, `systemd`, `service`, `stonith`.
    pub class: String,
    /// OCF provider.
    pub provider: Option<String>,
    /// The agent's name.
    pub kind: String,
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{}:{}:{}", self.class, p, self.kind),
            None => write!(f, "{}:{}", self.class, self.kind),
        }
    }
}

/// One operation for the LRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LrmOp {
    /// The resource (the name the LRM knows it by).
    pub resource: String,
    /// Its agent; `None` to use the definition the LRM already has (local stops).
    pub agent: Option<Agent>,
    /// Instance parameters; `None` to keep the LRM's definition.
    pub params: Option<BTreeMap<String, String>>,
    /// The operation's own parameters (`OCF_CHECK_LEVEL`, ...).
    pub op_params: BTreeMap<String, String>,
    /// Meta-attributes for the agent (`OCF_RESKEY_CRM_meta_*`: timeout, interval,
    /// notification variables).
    pub meta: BTreeMap<String, String>,
    /// The action.
    pub action: String,
    /// 0 for one-shot operations.
    pub interval_ms: u64,
    /// Timeout; `None`: the agent's or the LRM's default.
    pub timeout_ms: Option<u64>,
    /// The rc that means success (7 for probes of resources believed stopped).
    pub expected_rc: i32,
    /// `action:transition:target-rc:uuid`, recorded with the result.
    pub transition_key: String,
}

/// An LRM result, as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    /// The resource.
    pub resource: String,
    /// The action.
    pub action: String,
    /// Its interval (ms).
    pub interval_ms: u64,
    /// The LRM's call id.
    pub call_id: i64,
    /// The OCF rc.
    pub rc: i32,
    /// Pacemaker's execution status code (0 done, 1 cancelled, 2 timeout, 4 error,
    /// 5 hard error, 6 fatal, 7 not installed, 8 not connected, ...).
    pub op_status: i32,
    /// The rc that was expected.
    pub expected_rc: i32,
    /// The LRM's verdict: the result is a failure (it counts towards fail counts).
    pub failed: bool,
    /// The key the operation was requested with.
    pub transition_key: Option<String>,
    /// The agent's reason, if any.
    pub exit_reason: Option<String>,
    /// Wall-clock time of the result, seconds since the Unix epoch (`last-failure`).
    pub epoch_secs: u64,
}

/// Execution status "done" (Pacemaker's `PCMK_EXEC_DONE`).
pub const EXEC_DONE: i32 = 0;
/// Execution status "cancelled".
pub const EXEC_CANCELLED: i32 = 1;
/// Execution status "not connected": the node refused to run the operation (its
/// resource lease is lost). Never recorded, never counted as a failure.
pub const EXEC_NOT_CONNECTED: i32 = 8;

/// A result of the local LRM with the resource's history after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LrmResult {
    /// The result.
    pub outcome: OpOutcome,
    /// The resource's `lrm_resource` entry with its `lrm_rsc_op` entries as the LRM
    /// derives them (last one-shot op, active recurring ops, last failure).
    pub history: LrmResource,
}

/// Groups of a heartbeat cluster, relative to a node (`hb_standby` / `hb_takeover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every group.
    All,
    /// Groups whose preferred node is the asking node.
    Local,
    /// Groups whose preferred node is another node.
    Foreign,
}

impl Scope {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Local => "local",
            Scope::Foreign => "foreign",
        }
    }
}

/// An administrator's change request. Every one is applied by the DC to a copy of the
/// CIB, validated by the policy engine and committed only when valid; the reply comes
/// once every member has the new CIB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientRequest {
    /// Allow a resource to run (remove `target-role`).
    ResourceStart {
        /// The resource.
        id: String,
    },
    /// Stop a resource (`target-role=Stopped`).
    ResourceStop {
        /// The resource.
        id: String,
    },
    /// Stop a resource, wait until it is stopped everywhere, start it again.
    ResourceRestart {
        /// The resource.
        id: String,
    },
    /// Move a resource to a node (`cli-prefer-ID`), or away from where it runs
    /// (`cli-ban-ID-on-NODE`) when no node is given.
    ResourceMove {
        /// The resource.
        id: String,
        /// The destination.
        node: Option<NodeName>,
    },
    /// Remove the constraints of earlier moves, standbys and takeovers.
    ResourceUnmove {
        /// The resource.
        id: String,
    },
    /// Forget failures and history (of one resource or all, on one node or all), so
    /// the resource is probed again and may return where it failed.
    ResourceCleanup {
        /// The resource; `None`: every resource.
        id: Option<String>,
        /// The node; `None`: every node.
        node: Option<NodeName>,
    },
    /// Put a node in standby: it runs no resources.
    NodeStandby {
        /// The node.
        node: NodeName,
    },
    /// Take a node out of standby.
    NodeOnline {
        /// The node.
        node: NodeName,
    },
    /// Put a node in or out of maintenance: its resources are left alone.
    NodeMaintenance {
        /// The node.
        node: NodeName,
        /// On or off.
        on: bool,
    },
    /// Replace the configuration with the one of this CIB (its status is ignored).
    ConfigureLoad {
        /// The CIB XML.
        cib_xml: String,
    },
    /// heartbeat's `hb_standby`: move the groups of the scope (relative to the asking
    /// node) away from the asking node.
    Standby {
        /// Which groups.
        scope: Scope,
    },
    /// heartbeat's `hb_takeover`: move the groups of the scope to the asking node.
    Takeover {
        /// Which groups.
        scope: Scope,
    },
}

impl fmt::Display for ClientRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientRequest::ResourceStart { id } => write!(f, "resource start {id}"),
            ClientRequest::ResourceStop { id } => write!(f, "resource stop {id}"),
            ClientRequest::ResourceRestart { id } => write!(f, "resource restart {id}"),
            ClientRequest::ResourceMove { id, node: Some(n) } => {
                write!(f, "resource move {id} {n}")
            }
            ClientRequest::ResourceMove { id, node: None } => write!(f, "resource move {id}"),
            ClientRequest::ResourceUnmove { id } => write!(f, "resource unmove {id}"),
            ClientRequest::ResourceCleanup { id, node } => {
                f.write_str("resource cleanup")?;
                if let Some(id) = id {
                    write!(f, " {id}")?;
                }
                if let Some(n) = node {
                    write!(f, " on {n}")?;
                }
                Ok(())
            }
            ClientRequest::NodeStandby { node } => write!(f, "node standby {node}"),
            ClientRequest::NodeOnline { node } => write!(f, "node online {node}"),
            ClientRequest::NodeMaintenance { node, on } => {
                write!(
                    f,
                    "node maintenance {node} {}",
                    if *on { "on" } else { "off" }
                )
            }
            ClientRequest::ConfigureLoad { .. } => f.write_str("configure load"),
            ClientRequest::Standby { scope } => write!(f, "standby {}", scope.as_str()),
            ClientRequest::Takeover { scope } => write!(f, "takeover {}", scope.as_str()),
        }
    }
}

/// Something worth logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A membership was installed and the DC is known.
    DcElected {
        /// Membership id.
        membership: u64,
        /// The DC.
        dc: NodeName,
    },
    /// The DC chose the CIB of the join round.
    CibChosen {
        /// Its version.
        version: Version,
        /// Whose copy it was.
        from: NodeName,
        /// What the others had.
        others: Vec<(NodeName, Version)>,
    },
    /// The join round finished.
    JoinComplete {
        /// Membership id.
        membership: u64,
        /// The nodes that joined.
        joined: Vec<NodeName>,
        /// Members that did not answer in time.
        missing: Vec<NodeName>,
    },
    /// This node has the CIB of the current membership.
    Synced {
        /// Its version.
        version: Version,
    },
    /// A configuration change was committed.
    Committed {
        /// The new version.
        version: Version,
        /// What it was.
        what: String,
    },
    /// A change was refused.
    Refused {
        /// What it was.
        what: String,
        /// Why.
        reason: String,
    },
    /// The policy engine produced a transition.
    TransitionStarted {
        /// Transition number.
        id: u64,
        /// Actions in it.
        actions: usize,
        /// Its summary lines.
        summary: Vec<String>,
    },
    /// A transition finished.
    TransitionComplete {
        /// Transition number.
        id: u64,
        /// Whether it was aborted.
        aborted: bool,
    },
    /// A transition is aborted.
    TransitionAborted {
        /// Transition number.
        id: u64,
        /// Why.
        reason: String,
    },
    /// An action of the transition failed or returned something unexpected.
    ActionFailed {
        /// Operation key.
        key: String,
        /// Node.
        node: String,
        /// What happened.
        detail: String,
    },
    /// An operation result was recorded in the status section.
    OpRecorded {
        /// Node.
        node: NodeName,
        /// `RSC_ACTION_INTERVAL`.
        key: String,
        /// rc.
        rc: i32,
        /// Execution status.
        op_status: i32,
        /// A failure (fail count raised).
        failed: bool,
    },
    /// This node no longer hears a quorum: it stops its resources.
    LeaseLost {
        /// Resources being stopped.
        stopping: Vec<String>,
    },
    /// This node may run resources again.
    LeaseRegained,
    /// This node is shutting down: it stops its resources.
    ShuttingDown {
        /// Resources being stopped.
        stopping: Vec<String>,
    },
    /// An operation was refused because the lease is lost.
    LeaseRefused {
        /// Operation key.
        key: String,
    },
    /// The policy engine failed, or planned something halo cannot execute.
    PolicyProblem {
        /// What.
        detail: String,
    },
    /// The haresources files of the nodes differ: nothing is imported.
    HaresourcesMismatch {
        /// Nodes whose file differs from this DC's.
        nodes: Vec<NodeName>,
    },
    /// A warning for the administrator.
    Warning {
        /// The text.
        text: String,
    },
    /// A message could not be decoded or made no sense.
    BadMessage {
        /// From whom.
        from: NodeName,
        /// What was wrong.
        detail: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::DcElected { membership, dc } => {
                write!(f, "membership {membership}: DC is {dc}")
            }
            Event::CibChosen {
                version,
                from,
                others,
            } => {
                write!(f, "join: chose the CIB {version} of {from}")?;
                if !others.is_empty() {
                    let o: Vec<String> = others.iter().map(|(n, v)| format!("{n} {v}")).collect();
                    write!(f, " (others: {})", o.join(", "))?;
                }
                Ok(())
            }
            Event::JoinComplete {
                membership,
                joined,
                missing,
            } => {
                let j: Vec<&str> = joined.iter().map(NodeName::as_str).collect();
                write!(f, "membership {membership}: joined {}", j.join(" "))?;
                if !missing.is_empty() {
                    let m: Vec<&str> = missing.iter().map(NodeName::as_str).collect();
                    write!(f, "; no answer from {}", m.join(" "))?;
                }
                Ok(())
            }
            Event::Synced { version } => write!(f, "CIB {version} received from the DC"),
            Event::Committed { version, what } => write!(f, "committed CIB {version}: {what}"),
            Event::Refused { what, reason } => write!(f, "refused {what}: {reason}"),
            Event::TransitionStarted {
                id,
                actions,
                summary,
            } => {
                write!(f, "transition {id}: {actions} actions")?;
                for s in summary {
                    write!(f, "; {s}")?;
                }
                Ok(())
            }
            Event::TransitionComplete { id, aborted } => {
                if *aborted {
                    write!(f, "transition {id} ended (aborted)")
                } else {
                    write!(f, "transition {id} complete")
                }
            }
            Event::TransitionAborted { id, reason } => {
                write!(f, "transition {id} aborted: {reason}")
            }
            Event::ActionFailed { key, node, detail } => {
                write!(f, "action {key} on {node}: {detail}")
            }
            Event::OpRecorded {
                node,
                key,
                rc,
                op_status,
                failed,
            } => {
                write!(f, "{key} on {node}: rc={rc} status={op_status}")?;
                if *failed {
                    f.write_str(" (failure)")?;
                }
                Ok(())
            }
            Event::LeaseLost { stopping } => write!(
                f,
                "lease lost: this node no longer hears a quorum; stopping {}",
                if stopping.is_empty() {
                    "nothing".to_string()
                } else {
                    stopping.join(" ")
                }
            ),
            Event::LeaseRegained => f.write_str("lease regained: quorate membership"),
            Event::ShuttingDown { stopping } => write!(
                f,
                "shutting down: stopping {}",
                if stopping.is_empty() {
                    "nothing".to_string()
                } else {
                    stopping.join(" ")
                }
            ),
            Event::LeaseRefused { key } => {
                write!(f, "refused {key}: lease lost (no quorum heard)")
            }
            Event::PolicyProblem { detail } => write!(f, "policy engine: {detail}"),
            Event::HaresourcesMismatch { nodes } => {
                let n: Vec<&str> = nodes.iter().map(NodeName::as_str).collect();
                write!(
                    f,
                    "haresources differs on {}: every node must have the identical file; \
                     nothing is imported until it does",
                    n.join(" ")
                )
            }
            Event::Warning { text } => f.write_str(text),
            Event::BadMessage { from, detail } => write!(f, "bad message from {from}: {detail}"),
        }
    }
}

impl Event {
    /// Whether the event is a problem (logged as a warning or error).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Event::Refused { .. }
                | Event::ActionFailed { .. }
                | Event::LeaseLost { .. }
                | Event::LeaseRefused { .. }
                | Event::PolicyProblem { .. }
                | Event::HaresourcesMismatch { .. }
                | Event::Warning { .. }
                | Event::BadMessage { .. }
        )
    }
}

/// A resource as `halo status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    /// Resource id (a primitive; group members and clone instances are listed).
    pub id: String,
    /// The group or clone it belongs to.
    pub parent: Option<String>,
    /// Agent class.
    pub class: String,
    /// Agent provider.
    pub provider: Option<String>,
    /// Agent type.
    pub kind: String,
    /// `Started`, `Promoted`, `Unpromoted`, `Stopped`, `Starting`, `Stopping`, `FAILED`.
    pub role: String,
    /// Where it runs (or failed).
    pub node: Option<NodeName>,
    /// `target-role` if set.
    pub target_role: Option<String>,
}

/// A failed operation, as `halo status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAction {
    /// The resource.
    pub resource: String,
    /// `RSC_ACTION_INTERVAL`.
    pub key: String,
    /// Node.
    pub node: NodeName,
    /// rc.
    pub rc: i32,
    /// Execution status.
    pub op_status: i32,
    /// The agent's reason.
    pub exit_reason: Option<String>,
    /// When (epoch seconds).
    pub last_rc_change: Option<String>,
}

/// A fail count, as `halo status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailCount {
    /// The resource.
    pub resource: String,
    /// Node.
    pub node: NodeName,
    /// The operation (`monitor_10000`), if the attribute names one.
    pub operation: Option<String>,
    /// The count (`INFINITY` as 1000000).
    pub count: i64,
}
