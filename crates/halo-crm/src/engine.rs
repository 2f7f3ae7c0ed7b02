//! The engine: one per node. See the crate documentation for the protocol.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use halo_cib::model::{LrmResource, NodeState, NvPair, NvSet, Resource};
use halo_cib::{Cib, Configuration, Version};
use halo_policy::{ActionKind, GraphAction, Transition};
use halo_types::{NodeName, Timestamp};

use crate::edit::{self, Edit};
use crate::message::Message;
use crate::persist;
use crate::status::{self, Presence};
use crate::transition::{self, Run, Step};
use crate::types::{
    Agent, Channel, ClientRequest, Config, EXEC_CANCELLED, EXEC_DONE, EXEC_NOT_CONNECTED, Event,
    FailCount, FailedAction, Input, LrmOp, LrmRequest, LrmResult, Membership, OpOutcome, Output,
    ResourceView, Target,
};

/// The property that records which `haresources` file the configuration came from.
pub const HARESOURCES_DIGEST: &str = "halo-haresources-digest";

/// The cluster resource manager engine of one node (see the crate documentation).
#[derive(Debug)]
pub struct Crm {
    cfg: Config,
    /// Issuer id in transition keys: node name and generation.
    uuid: String,
    /// This node's copy of the CIB (the master copy on the DC).
    cib: Cib,
    membership: Option<Membership>,
    dc: Option<NodeName>,
    /// Whether this node has the CIB of the current membership's join round.
    synced: bool,
    /// Asked the DC for a full copy after a status update did not apply.
    resync_asked: bool,
    /// This node's own resource histories, as its LRM reported them: authoritative.
    local: BTreeMap<String, LrmResource>,
    /// Operations sent to the local LRM and not answered, by operation key.
    in_flight: BTreeMap<String, LrmOp>,
    /// Messages of a membership not installed yet.
    future: Vec<(NodeName, Message)>,
    /// Client requests of this node, until the DC answers.
    forwarded: BTreeMap<u64, Forwarded>,
    next_req: u64,
    next_policy: u64,
    dcs: Option<Dc>,
    lease: Lease,
    out: Vec<Output>,
    now: Timestamp,
}

#[derive(Debug)]
struct Forwarded {
    client: u64,
    request: ClientRequest,
    /// The membership it was last sent in.
    sent_in: Option<u64>,
    deadline: Timestamp,
}

#[derive(Debug, Default)]
struct Lease {
    /// A quorum is heard (starts true: nothing is running yet).
    heard: bool,
    /// Lost: local resources stopped, starts refused.
    lost: bool,
    /// Stops still to do, one chain per top-level resource (members right to left).
    chains: Vec<VecDeque<String>>,
    /// The daemon is shutting down: everything is stopped, starts are refused for good.
    shutting_down: bool,
    /// [`Output::ShutdownReady`] was sent.
    shutdown_reported: bool,
}

/// Where a queued CIB update comes from.
#[derive(Debug, Clone)]
enum Origin {
    /// An administrator on a node, with the node's request number.
    Client(NodeName, u64),
    /// The DC itself.
    Internal,
}

#[derive(Debug, Clone)]
enum UpdateKind {
    Client(ClientRequest),
    /// The configuration imported from `haresources`.
    Import(Box<Configuration>),
    /// Cluster nodes missing from the configuration.
    AddNodes(Vec<NodeName>),
    /// Second step of a restart.
    RestartFinish(String),
}

#[derive(Debug)]
struct Validating {
    origin: Origin,
    /// The request id of the policy run, once requested.
    policy: Option<u64>,
    configuration: Box<Configuration>,
    admin_epoch: u64,
    what: String,
    /// A restart's first step: the reply waits for the restart to finish.
    restart_of: Option<String>,
}

#[derive(Debug)]
struct Reply {
    to: NodeName,
    req: u64,
    version: Version,
    message: String,
}

#[derive(Debug)]
struct JoinRound {
    replies: BTreeMap<NodeName, JoinReply>,
    deadline: Timestamp,
    /// Fetching the CIB from the holder of the highest version.
    fetching: Option<NodeName>,
    fetched: Option<Cib>,
}

#[derive(Debug)]
struct JoinReply {
    version: Version,
    haresources: Option<String>,
    node_state: NodeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Validate,
    Schedule,
}

/// The DC's state for one membership.
#[derive(Debug)]
struct Dc {
    mid: u64,
    round: u32,
    join: Option<JoinRound>,
    joined: BTreeSet<NodeName>,
    acked: BTreeMap<NodeName, Version>,
    /// The version of the last CIB sent whole (join or commit): members acknowledge
    /// those; status updates are not acknowledged.
    sent_whole: Version,
    replies: Vec<Reply>,
    updates: VecDeque<(Origin, UpdateKind)>,
    validating: Option<Validating>,
    policy: Option<(u64, Purpose)>,
    schedule_wanted: bool,
    /// A plan could not be carried out (refused by a lease, fencing needed): no new
    /// run until something changes.
    blocked: bool,
    run: Option<Run>,
    next_transition: u64,
    /// Messages that arrived while joining.
    buffered: Vec<(NodeName, Message)>,
    /// Clients waiting for a restart to finish: (origin, req, resource).
    restart_waiters: Vec<(NodeName, u64, String)>,
    /// Restarts whose second step is queued.
    restart_finishing: BTreeSet<String>,
    /// Restarts whose second step is committed: answered once the transition that
    /// starts the resource again is over.
    restart_settling: Vec<Reply>,
    recheck_at: Timestamp,
}

impl Dc {
    fn new(mid: u64, now: Timestamp, cfg: &Config) -> Self {
        Dc {
            mid,
            round: 0,
            join: None,
            joined: BTreeSet::new(),
            acked: BTreeMap::new(),
            sent_whole: Version::default(),
            replies: Vec::new(),
            updates: VecDeque::new(),
            validating: None,
            policy: None,
            schedule_wanted: false,
            blocked: false,
            run: None,
            next_transition: 1,
            buffered: Vec::new(),
            restart_waiters: Vec::new(),
            restart_finishing: BTreeSet::new(),
            restart_settling: Vec::new(),
            recheck_at: now + cfg.recheck_interval,
        }
    }
}

/// Actions that bring a resource up; refused while the lease is lost.
fn starts_something(action: &str) -> bool {
    matches!(action, "start" | "promote" | "migrate_to" | "migrate_from")
}

fn op_key(resource: &str, action: &str, interval_ms: u64) -> String {
    format!("{resource}_{action}_{interval_ms}")
}

impl Crm {
    /// A new engine with an empty CIB listing the configured nodes; feed it
    /// [`Input::Start`] first.
    pub fn new(cfg: Config) -> Self {
        let mut cib = Cib {
            validate_with: Some("pacemaker-3.0".into()),
            ..Cib::default()
        };
        for n in &cfg.nodes {
            cib.configuration
                .nodes
                .push(halo_cib::Node::new(n.as_str(), n.as_str()));
        }
        edit::apply_defaults(&mut cib.configuration);
        Crm {
            uuid: format!("{}-{}", cfg.node, cfg.generation),
            cib,
            membership: None,
            dc: None,
            synced: false,
            resync_asked: false,
            local: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            future: Vec::new(),
            forwarded: BTreeMap::new(),
            next_req: 1,
            next_policy: 1,
            dcs: None,
            lease: Lease {
                heard: true,
                ..Lease::default()
            },
            out: Vec::new(),
            now: Timestamp::ZERO,
            cfg,
        }
    }

    // ------------------------------------------------------------------
    // queries

    /// This node's name.
    pub fn node(&self) -> &NodeName {
        &self.cfg.node
    }

    /// The DC of the current membership.
    pub fn dc(&self) -> Option<&NodeName> {
        self.dc.as_ref()
    }

    /// Whether this node is the DC and its join round is complete.
    pub fn is_active_dc(&self) -> bool {
        self.dcs.as_ref().is_some_and(|d| d.join.is_none())
    }

    /// The current membership.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// This node's copy of the CIB.
    pub fn cib(&self) -> &Cib {
        &self.cib
    }

    /// Whether this node has the current membership's CIB.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Whether the resource lease is lost (resources stopped, starts refused).
    pub fn lease_lost(&self) -> bool {
        self.lease.lost
    }

    /// Whether the daemon is shutting down (resources being stopped, starts refused).
    pub fn shutting_down(&self) -> bool {
        self.lease.shutting_down
    }

    /// Whether the DC has nothing to do: no join, update, policy run or transition.
    pub fn idle(&self) -> bool {
        match &self.dcs {
            None => true,
            Some(d) => {
                d.join.is_none()
                    && d.updates.is_empty()
                    && d.validating.is_none()
                    && d.policy.is_none()
                    && d.run.is_none()
                    && (!d.schedule_wanted || d.blocked)
            }
        }
    }

    /// This node's resource histories as its LRM reported them.
    pub fn local_history(&self) -> &BTreeMap<String, LrmResource> {
        &self.local
    }

    /// Resources as `halo status` lists them.
    pub fn resources(&self) -> Vec<ResourceView> {
        status::resource_views(&self.cib)
    }

    /// Failed operations as `halo status` lists them.
    pub fn failed_actions(&self) -> Vec<FailedAction> {
        status::failed_actions(&self.cib)
    }

    /// Fail counts as `halo status` lists them.
    pub fn fail_counts(&self) -> Vec<FailCount> {
        status::fail_counts(&self.cib)
    }

    /// The bytes to persist for the current CIB.
    pub fn encode_cib(&self) -> Vec<u8> {
        persist::encode(&self.cib)
    }

    /// When the engine wants an [`Input::Tick`].
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let mut d: Option<Timestamp> = self.forwarded.values().map(|f| f.deadline).min();
        let mut take = |t: Option<Timestamp>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        if let Some(dc) = &self.dcs {
            take(dc.join.as_ref().map(|j| j.deadline));
            take(dc.run.as_ref().and_then(Run::next_deadline));
            if dc.join.is_none() {
                take(Some(dc.recheck_at));
            }
        }
        d
    }

    // ------------------------------------------------------------------
    // the entry point

    /// Handles one input at time `now` and returns what to do.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Output> {
        self.now = now;
        match input {
            Input::Start { cib } => self.on_start(cib.map(|c| *c)),
            Input::Membership(m) => self.on_membership(m),
            Input::Message { from, bytes } => match Message::decode(&bytes) {
                Ok(m) => self.on_message(from, m),
                Err(detail) => self.event(Event::BadMessage { from, detail }),
            },
            Input::Lrm(r) => self.on_lrm(*r),
            Input::PolicyDone { request, result } => self.on_policy(request, result),
            Input::Client { id, request } => self.on_client(id, request),
            Input::Lease { quorum_heard } => self.on_lease(quorum_heard),
            Input::Shutdown { epoch_secs } => self.on_shutdown(epoch_secs),
            Input::Tick => self.on_tick(),
        }
        std::mem::take(&mut self.out)
    }

    fn event(&mut self, e: Event) {
        self.out.push(Output::Event(e));
    }

    fn send(&mut self, to: Target, channel: Channel, m: &Message) {
        if to == Target::Node(self.cfg.node.clone()) {
            return;
        }
        self.out.push(Output::Send {
            to,
            channel,
            bytes: m.encode(),
        });
    }

    fn mid(&self) -> u64 {
        self.membership.as_ref().map_or(0, |m| m.id)
    }

    fn is_member(&self, n: &NodeName) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|m| m.members.contains(n))
    }

    fn persist(&mut self) {
        self.out
            .push(Output::PersistCib(persist::encode(&self.cib)));
    }

    // ------------------------------------------------------------------
    // start, membership

    fn on_start(&mut self, cib: Option<Cib>) {
        if let Some(mut cib) = cib {
            // Status is rebuilt by the join round; this node's transient attributes
            // (fail counts) start afresh, as after a restart of Pacemaker's attrd.
            cib.status.clear();
            self.cib = cib;
        }
        if !edit::fencing_enabled(&self.cib) {
            self.event(Event::Warning {
                text: "fencing is disabled (fencing-enabled=false): without fencing a node \
                       that stops responding is assumed down; the resource lease stops its \
                       resources first"
                    .into(),
            });
        }
        self.out.push(Output::Lrm(LrmRequest::Recover));
    }

    fn on_membership(&mut self, m: Membership) {
        if self.membership.as_ref().is_some_and(|cur| m.id <= cur.id) {
            return;
        }
        let me = self.cfg.node.clone();
        let dc = m.members.iter().min().cloned();
        self.membership = Some(m.clone());
        self.synced = false;
        self.resync_asked = false;
        self.dc = if m.members.contains(&me) { dc } else { None };
        self.dcs = None;
        if let Some(dc) = self.dc.clone() {
            self.event(Event::DcElected {
                membership: m.id,
                dc: dc.clone(),
            });
        }
        if self.lease.lost && self.lease.heard && self.in_quorate_membership() {
            self.regain_lease();
        }
        let Some(dc) = self.dc.clone() else { return };
        if dc == me {
            self.dcs = Some(Dc::new(m.id, self.now, &self.cfg));
            self.start_join_round();
        } else {
            self.send(
                Target::Node(dc),
                Channel::Crm,
                &Message::JoinAnnounce { mid: m.id },
            );
        }
        let future = std::mem::take(&mut self.future);
        for (from, msg) in future {
            match msg.mid() {
                Some(x) if x < m.id => {}
                Some(x) if x > m.id => self.future.push((from, msg)),
                _ => self.on_message(from, msg),
            }
        }
    }

    fn start_join_round(&mut self) {
        let me = self.cfg.node.clone();
        let timeout = self.cfg.join_timeout;
        let now = self.now;
        let own = self.own_reply();
        let Some(dc) = self.dcs.as_mut() else { return };
        dc.round += 1;
        let mut replies = BTreeMap::new();
        replies.insert(me, own);
        dc.join = Some(JoinRound {
            replies,
            deadline: now + timeout,
            fetching: None,
            fetched: None,
        });
        if let Some(run) = dc.run.as_mut()
            && run.aborted.is_none()
        {
            run.aborted = Some("join round".into());
        }
        let (mid, round) = (dc.mid, dc.round);
        self.send(
            Target::All,
            Channel::Crm,
            &Message::JoinRequest { mid, round },
        );
        self.maybe_finish_join();
    }

    /// This node's join reply: its version, haresources digest and own state.
    fn own_reply(&self) -> JoinReply {
        JoinReply {
            version: self.cib.version,
            haresources: self.cfg.haresources.as_ref().map(|h| h.digest.clone()),
            node_state: self.own_node_state(),
        }
    }

    /// This node's state: its LRM histories with operations in flight as pending
    /// entries, and the transient attributes its copy of the CIB holds for it.
    fn own_node_state(&self) -> NodeState {
        let me = self.cfg.node.as_str();
        let mut ns = NodeState {
            id: status::node_id(&self.cib, me),
            uname: Some(me.to_string()),
            ..NodeState::default()
        };
        let mut list: BTreeMap<String, LrmResource> = self.local.clone();
        for op in self.in_flight.values().filter(|o| o.interval_ms == 0) {
            let r = list
                .entry(op.resource.clone())
                .or_insert_with(|| LrmResource {
                    id: op.resource.clone(),
                    class: op.agent.as_ref().map(|a| a.class.clone()),
                    provider: op.agent.as_ref().and_then(|a| a.provider.clone()),
                    agent: op.agent.as_ref().map(|a| a.kind.clone()),
                    ..LrmResource::default()
                });
            r.ops.push(status::pending_op(
                &op.resource,
                &op.action,
                0,
                &op.transition_key,
                me,
            ));
        }
        status::set_lrm_resources(&mut ns, list.into_values().collect());
        if let Some(mine) = status::node_state(&self.cib, me) {
            ns.transient = mine.transient.clone();
        }
        ns
    }

    // ------------------------------------------------------------------
    // messages

    fn on_message(&mut self, from: NodeName, msg: Message) {
        if let Some(mid) = msg.mid() {
            let cur = self.mid();
            if mid < cur {
                return;
            }
            if mid > cur || self.membership.is_none() {
                self.future.push((from, msg));
                return;
            }
        }
        let me = self.cfg.node.clone();
        let from_dc = self.dc.as_ref() == Some(&from);
        let am_dc = self.dcs.is_some();
        match msg {
            Message::JoinAnnounce { .. } if am_dc => self.dc_announce(from),
            Message::JoinRequest { mid, round } if from_dc => {
                let r = self.own_reply();
                self.send(
                    Target::Node(from),
                    Channel::Crm,
                    &Message::JoinReply {
                        mid,
                        round,
                        version: r.version.into(),
                        haresources: r.haresources,
                        node_state: status::node_state_to_xml(&r.node_state),
                    },
                );
            }
            Message::JoinReply {
                round,
                version,
                haresources,
                node_state,
                ..
            } if am_dc => match status::node_state_from_xml(&node_state) {
                Ok(ns) => self.dc_join_reply(from, round, version.into(), haresources, ns),
                Err(e) => self.event(Event::BadMessage {
                    from,
                    detail: format!("join reply: {e}"),
                }),
            },
            Message::CibFetch { mid, round } if from_dc => {
                let cib = self.cib.to_xml();
                self.send(
                    Target::Node(from),
                    Channel::Cib,
                    &Message::CibFull { mid, round, cib },
                );
            }
            Message::CibFull { round, cib, .. } if am_dc => self.dc_cib_full(from, round, &cib),
            Message::CibReplace { cib, .. } if from_dc => self.member_cib(&from, &cib, false),
            Message::CibCommit { cib, .. } if from_dc => self.member_cib(&from, &cib, true),
            Message::CibAck { version, .. } if am_dc => {
                if let Some(dc) = self.dcs.as_mut() {
                    let v: Version = version.into();
                    let e = dc.acked.entry(from).or_default();
                    *e = (*e).max(v);
                }
                self.dc_pump();
            }
            Message::CibWanted { mid } if am_dc => {
                let cib = self.cib.to_xml();
                self.send(
                    Target::Node(from),
                    Channel::Cib,
                    &Message::CibReplace { mid, cib },
                );
            }
            Message::StatusUpdate {
                from: v_from,
                to,
                node,
                resources,
                removed,
                attrs,
                ..
            } if from_dc => self.member_status(
                v_from.into(),
                to.into(),
                &node,
                &resources,
                &removed,
                &attrs,
            ),
            Message::Update { req, request, .. } if am_dc => {
                self.dc_enqueue(Origin::Client(from, req), UpdateKind::Client(request));
            }
            Message::UpdateResult { req, result } => self.origin_result(req, result),
            Message::ExecOp { op, .. } if from_dc => self.exec_local(op),
            Message::CancelOp {
                resource,
                action,
                interval_ms,
                ..
            } if from_dc => self.cancel_local(resource, action, interval_ms),
            Message::Forget { resource, .. } if from_dc => self.forget_local(&resource),
            Message::OpResult {
                outcome, history, ..
            } if am_dc => {
                let h = if history.is_empty() {
                    None
                } else {
                    match status::lrm_resource_from_xml(&history) {
                        Ok(h) => Some(h),
                        Err(e) => {
                            self.event(Event::BadMessage {
                                from: from.clone(),
                                detail: format!("operation result: {e}"),
                            });
                            None
                        }
                    }
                };
                self.dc_result(from, outcome, h);
            }
            Message::ShuttingDown { epoch_secs, .. } if am_dc => {
                self.dc_shutdown_of(&from, epoch_secs);
            }
            Message::LeaseRegained { .. } if am_dc => {
                if let Some(dc) = self.dcs.as_mut() {
                    dc.blocked = false;
                }
                self.want_schedule("a node regained its lease");
            }
            other => {
                // A message for another role (e.g. for the DC of a membership this
                // node no longer agrees on): not an error in a changing cluster.
                let _ = (other, me);
            }
        }
    }

    /// A member applies the DC's CIB (after a join round, or only its configuration
    /// after a commit), persists it and acknowledges.
    fn member_cib(&mut self, from: &NodeName, xml: &str, configuration_only: bool) {
        let mut cib = match Cib::from_xml(xml) {
            Ok(c) => c,
            Err(e) => {
                self.event(Event::BadMessage {
                    from: from.clone(),
                    detail: format!("CIB: {e}"),
                });
                return;
            }
        };
        if configuration_only {
            cib.status = std::mem::take(&mut self.cib.status);
        }
        let was_synced = self.synced;
        let version = cib.version;
        self.cib = cib;
        self.synced = true;
        self.resync_asked = false;
        self.persist();
        let mid = self.mid();
        self.send(
            Target::Node(from.clone()),
            Channel::Cib,
            &Message::CibAck {
                mid,
                version: version.into(),
            },
        );
        if !was_synced {
            self.event(Event::Synced { version });
            self.try_forward();
        }
    }

    fn member_status(
        &mut self,
        from: Version,
        to: Version,
        node: &str,
        resources: &[String],
        removed: &[String],
        attrs: &[(String, Option<String>)],
    ) {
        if !self.synced {
            return;
        }
        if self.cib.version != from {
            if !self.resync_asked {
                self.resync_asked = true;
                let mid = self.mid();
                if let Some(dc) = self.dc.clone() {
                    self.send(Target::Node(dc), Channel::Crm, &Message::CibWanted { mid });
                }
            }
            return;
        }
        let mut parsed = Vec::new();
        for r in resources {
            match status::lrm_resource_from_xml(r) {
                Ok(h) => parsed.push(h),
                Err(e) => {
                    // Unusable: ask for the whole CIB instead.
                    let dc = self.dc.clone();
                    if let Some(dc) = dc {
                        self.event(Event::BadMessage {
                            from: dc.clone(),
                            detail: format!("status update: {e}"),
                        });
                        self.resync_asked = true;
                        let mid = self.mid();
                        self.send(Target::Node(dc), Channel::Crm, &Message::CibWanted { mid });
                    }
                    return;
                }
            }
        }
        let ns = status::node_state_mut(&mut self.cib, node);
        for h in parsed {
            status::put_lrm_resource(ns, h);
        }
        for r in removed {
            status::remove_lrm_resource(ns, r);
        }
        for (name, value) in attrs {
            status::set_transient(ns, name, value.as_deref());
        }
        self.cib.version = to;
    }

    // ------------------------------------------------------------------
    // the DC: join round

    fn dc_announce(&mut self, from: NodeName) {
        let Some(dc) = self.dcs.as_ref() else { return };
        let replied = dc
            .join
            .as_ref()
            .is_some_and(|j| j.replies.contains_key(&from));
        if dc.join.is_none() || replied {
            // It restarted after joining: a new round collects its state.
            self.start_join_round();
        }
    }

    fn dc_join_reply(
        &mut self,
        from: NodeName,
        round: u32,
        version: Version,
        haresources: Option<String>,
        node_state: NodeState,
    ) {
        let Some(dc) = self.dcs.as_mut() else { return };
        if dc.round != round {
            return;
        }
        let Some(join) = dc.join.as_mut() else { return };
        join.replies.insert(
            from,
            JoinReply {
                version,
                haresources,
                node_state,
            },
        );
        self.maybe_finish_join();
    }

    fn dc_cib_full(&mut self, from: NodeName, round: u32, xml: &str) {
        let parsed = Cib::from_xml(xml);
        let Some(dc) = self.dcs.as_mut() else { return };
        if dc.round != round {
            return;
        }
        let Some(join) = dc.join.as_mut() else { return };
        if join.fetching.as_ref() != Some(&from) {
            return;
        }
        match parsed {
            Ok(c) => join.fetched = Some(c),
            Err(e) => {
                // Its copy is unusable: drop its claim and choose again.
                join.fetching = None;
                if let Some(r) = join.replies.get_mut(&from) {
                    r.version = Version::default();
                }
                self.event(Event::BadMessage {
                    from,
                    detail: format!("fetched CIB: {e}"),
                });
            }
        }
        self.maybe_finish_join();
    }

    fn maybe_finish_join(&mut self) {
        let Some(m) = self.membership.clone() else {
            return;
        };
        let Some(dc) = self.dcs.as_ref() else { return };
        let Some(join) = dc.join.as_ref() else { return };
        let waiting = if join.fetching.is_some() {
            join.fetched.is_none()
        } else {
            !m.members.iter().all(|n| join.replies.contains_key(n))
        };
        if waiting && self.now < join.deadline {
            return;
        }
        self.finish_join();
    }

    fn finish_join(&mut self) {
        let me = self.cfg.node.clone();
        let Some(m) = self.membership.clone() else {
            return;
        };
        // The best copy: highest version; ties keep the DC's own.
        let (best_node, best_version) = {
            let Some(join) = self.dcs.as_ref().and_then(|d| d.join.as_ref()) else {
                return;
            };
            let mut best = (me.clone(), self.cib.version);
            for (n, r) in &join.replies {
                if r.version > best.1 {
                    best = (n.clone(), r.version);
                }
            }
            (best.0, best.1)
        };
        let chosen = if best_node == me {
            self.cib.clone()
        } else {
            let Some(dc) = self.dcs.as_mut() else { return };
            let Some(join) = dc.join.as_mut() else { return };
            match join.fetched.take() {
                Some(c) if join.fetching.as_ref() == Some(&best_node) => c,
                _ if join.fetching.is_none() => {
                    join.fetching = Some(best_node.clone());
                    join.deadline = self.now + self.cfg.join_timeout;
                    let (mid, round) = (dc.mid, dc.round);
                    self.send(
                        Target::Node(best_node),
                        Channel::Crm,
                        &Message::CibFetch { mid, round },
                    );
                    return;
                }
                _ => {
                    // The holder did not deliver in time: its claim is dropped.
                    if let Some(r) = join.replies.get_mut(&best_node) {
                        r.version = Version::default();
                    }
                    join.fetching = None;
                    return self.finish_join();
                }
            }
        };
        let Some(mut dc) = self.dcs.take() else {
            return;
        };
        let Some(join) = dc.join.take() else {
            self.dcs = Some(dc);
            return;
        };
        let others: Vec<(NodeName, Version)> = join
            .replies
            .iter()
            .filter(|(n, _)| **n != best_node)
            .map(|(n, r)| (n.clone(), r.version))
            .collect();
        self.event(Event::CibChosen {
            version: best_version,
            from: best_node,
            others,
        });

        // Rebuild the status section from what the members reported.
        let mut cib = chosen;
        let mut names: Vec<String> = cib
            .configuration
            .nodes
            .iter()
            .map(|n| n.uname.clone())
            .collect();
        for n in &m.members {
            if !names.iter().any(|x| x == n.as_str()) {
                names.push(n.to_string());
            }
        }
        let mut status = Vec::new();
        for name in &names {
            let node = NodeName::new(name).ok();
            let mut ns = NodeState {
                id: status::node_id(&cib, name),
                uname: Some(name.clone()),
                ..NodeState::default()
            };
            let reply = node.as_ref().and_then(|n| join.replies.get(n));
            let presence = match (&node, reply) {
                (_, Some(r)) => {
                    ns.transient = r.node_state.transient.clone();
                    ns.lrm = r.node_state.lrm.clone();
                    if let Some(l) = ns.lrm.as_mut() {
                        l.id = Some(ns.id.clone());
                    }
                    if let Some(t) = ns.transient.as_mut() {
                        t.id = Some(ns.id.clone());
                    }
                    Presence::Joined
                }
                (Some(n), None) if m.members.contains(n) => Presence::Unjoined,
                _ => Presence::Away,
            };
            status::set_presence(&mut ns, presence);
            status.push(ns);
        }
        cib.status = status;
        cib.have_quorum = Some(m.quorate);
        cib.dc_uuid = Some(status::node_id(&cib, me.as_str()));
        cib.version = cib.version.next_update();
        self.cib = cib;
        self.persist();
        let cib_xml = self.cib.to_xml();
        self.send(
            Target::All,
            Channel::Cib,
            &Message::CibReplace {
                mid: dc.mid,
                cib: cib_xml,
            },
        );
        let joined: BTreeSet<NodeName> = join.replies.keys().cloned().collect();
        let missing: Vec<NodeName> = m
            .members
            .iter()
            .filter(|n| !joined.contains(*n))
            .cloned()
            .collect();
        dc.acked.clear();
        dc.acked.insert(me.clone(), self.cib.version);
        dc.sent_whole = self.cib.version;
        dc.joined = joined.clone();
        dc.schedule_wanted = true;
        dc.blocked = false;
        let buffered = std::mem::take(&mut dc.buffered);
        let mid = dc.mid;
        self.dcs = Some(dc);
        self.synced = true;
        self.event(Event::JoinComplete {
            membership: mid,
            joined: joined.into_iter().collect(),
            missing,
        });
        self.event(Event::Synced {
            version: self.cib.version,
        });
        self.after_join(&join.replies, m.quorate);
        for (from, msg) in buffered {
            self.on_message(from, msg);
        }
        self.try_forward();
        self.dc_pump();
    }

    /// Internal updates after a join: cluster nodes missing from the configuration,
    /// the `haresources` import.
    fn after_join(&mut self, replies: &BTreeMap<NodeName, JoinReply>, quorate: bool) {
        if !quorate {
            return;
        }
        let missing: Vec<NodeName> = self
            .cfg
            .nodes
            .iter()
            .filter(|n| {
                !self
                    .cib
                    .configuration
                    .nodes
                    .iter()
                    .any(|x| x.uname == n.as_str())
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.dc_enqueue(Origin::Internal, UpdateKind::AddNodes(missing));
        }
        let Some(h) = self.cfg.haresources.clone() else {
            return;
        };
        let mismatched: Vec<NodeName> = replies
            .iter()
            .filter(|(_, r)| r.haresources.as_deref() != Some(h.digest.as_str()))
            .map(|(n, _)| n.clone())
            .collect();
        if !mismatched.is_empty() {
            self.event(Event::HaresourcesMismatch { nodes: mismatched });
            return;
        }
        let stored = status::cluster_option(&self.cib, HARESOURCES_DIGEST);
        let no_config = self.cib.configuration.resources.is_empty();
        let changed = stored.is_some_and(|s| s != h.digest);
        if stored == Some(h.digest.as_str()) || !(no_config || changed) {
            return;
        }
        let nodes: Vec<String> = self.cfg.nodes.iter().map(|n| n.to_string()).collect();
        let init = h.init_scripts.clone();
        match halo_cib::haresources::import(&h.groups, &nodes, h.auto_failback, &|s| {
            init.contains(s)
        }) {
            Ok(imported) => {
                let mut cfg = imported.configuration;
                if let Some(policy) = &h.no_quorum_policy {
                    for p in cfg.crm_config.iter_mut().flat_map(|s| s.pairs.iter_mut()) {
                        if p.name.as_deref() == Some("no-quorum-policy") {
                            p.value = Some(policy.clone());
                        }
                    }
                }
                cfg.crm_config.push(NvSet::new(
                    "halo-haresources",
                    vec![NvPair::new(
                        "halo-haresources-digest",
                        HARESOURCES_DIGEST,
                        &h.digest,
                    )],
                ));
                self.dc_enqueue(Origin::Internal, UpdateKind::Import(Box::new(cfg)));
            }
            Err(e) => self.event(Event::Refused {
                what: "haresources import".into(),
                reason: e.to_string(),
            }),
        }
    }

    // ------------------------------------------------------------------
    // the DC: updates

    fn dc_enqueue(&mut self, origin: Origin, kind: UpdateKind) {
        let Some(dc) = self.dcs.as_mut() else { return };
        if dc.join.is_some()
            && let (Origin::Client(n, req), UpdateKind::Client(request)) = (&origin, &kind)
        {
            let mid = dc.mid;
            dc.buffered.push((
                n.clone(),
                Message::Update {
                    mid,
                    req: *req,
                    request: request.clone(),
                },
            ));
            return;
        }
        dc.updates.push_back((origin, kind));
        self.dc_pump();
    }

    /// Moves the DC along: updates, policy runs, replies, restarts.
    fn dc_pump(&mut self) {
        if !self.is_active_dc() {
            return;
        }
        self.next_update();
        self.next_policy_run();
        self.check_restarts();
        self.send_replies();
    }

    fn quorate(&self) -> bool {
        self.membership.as_ref().is_some_and(|m| m.quorate)
    }

    /// Takes queued updates until one needs validation.
    fn next_update(&mut self) {
        loop {
            let Some(dc) = self.dcs.as_mut() else { return };
            if dc.validating.is_some() {
                return;
            }
            let Some((origin, kind)) = dc.updates.pop_front() else {
                return;
            };
            self.process_update(origin, kind);
        }
    }

    fn process_update(&mut self, origin: Origin, kind: UpdateKind) {
        let me = self.cfg.node.clone();
        let origin_node = match &origin {
            Origin::Client(n, _) => n.clone(),
            Origin::Internal => me.clone(),
        };
        let (edit, restart_of) = match &kind {
            UpdateKind::Client(ClientRequest::ResourceRestart { id }) => {
                match edit::restart_begin(&self.cib, id) {
                    Err(e) => (Err(e), None),
                    Ok(None) => {
                        if let (Origin::Client(n, req), Some(dc)) = (&origin, self.dcs.as_mut()) {
                            dc.restart_waiters.push((n.clone(), *req, id.clone()));
                        }
                        return;
                    }
                    Ok(Some(cfg)) => (
                        Ok(Edit::Config {
                            configuration: Box::new(cfg),
                            admin_epoch: self.cib.version.admin_epoch,
                            what: format!("restart {id}: stop"),
                        }),
                        Some(id.clone()),
                    ),
                }
            }
            UpdateKind::Client(req) => (edit::edit(&self.cib, &origin_node, req), None),
            UpdateKind::Import(cfg) => (
                Ok(Edit::Config {
                    configuration: cfg.clone(),
                    admin_epoch: self.cib.version.admin_epoch,
                    what: "haresources imported".into(),
                }),
                None,
            ),
            UpdateKind::AddNodes(nodes) => {
                let mut cfg = self.cib.configuration.clone();
                for n in nodes {
                    if !cfg.nodes.iter().any(|x| x.uname == n.as_str()) {
                        cfg.nodes.push(halo_cib::Node::new(n.as_str(), n.as_str()));
                    }
                }
                let names: Vec<&str> = nodes.iter().map(NodeName::as_str).collect();
                (
                    Ok(Edit::Config {
                        configuration: Box::new(cfg),
                        admin_epoch: self.cib.version.admin_epoch,
                        what: format!("nodes added: {}", names.join(" ")),
                    }),
                    None,
                )
            }
            UpdateKind::RestartFinish(id) => {
                if let Some(dc) = self.dcs.as_mut() {
                    dc.restart_finishing.remove(id);
                }
                if !edit::restarts_pending(&self.cib).contains(id) {
                    return;
                }
                (
                    edit::restart_finish(&self.cib, id).map(|cfg| Edit::Config {
                        configuration: Box::new(cfg),
                        admin_epoch: self.cib.version.admin_epoch,
                        what: format!("restart {id}: start"),
                    }),
                    None,
                )
            }
        };
        match edit {
            Err(reason) => self.refuse(&origin, &kind, reason),
            Ok(Edit::Nothing(message)) => self.reply_when_everyone_has_it(origin, message),
            Ok(Edit::Cleanup { resources, node }) => {
                let message = self.cleanup(resources.as_deref(), node.as_ref());
                self.reply_when_everyone_has_it(origin, message);
                self.want_schedule("cleanup");
            }
            Ok(Edit::Config {
                configuration,
                admin_epoch,
                what,
            }) => {
                if !self.quorate() {
                    return self.refuse(&origin, &kind, "no quorum: refused".into());
                }
                if let Some(dc) = self.dcs.as_mut() {
                    dc.validating = Some(Validating {
                        origin,
                        policy: None,
                        configuration,
                        admin_epoch,
                        what,
                        restart_of,
                    });
                }
            }
        }
    }

    /// Answers a client once every joined member has the current configuration.
    fn reply_when_everyone_has_it(&mut self, origin: Origin, message: String) {
        if let (Origin::Client(to, req), Some(dc)) = (origin, self.dcs.as_mut()) {
            let version = dc.sent_whole;
            dc.replies.push(Reply {
                to,
                req,
                version,
                message,
            });
        }
    }

    fn refuse(&mut self, origin: &Origin, kind: &UpdateKind, reason: String) {
        let what = match kind {
            UpdateKind::Client(r) => r.to_string(),
            UpdateKind::Import(_) => "haresources import".into(),
            UpdateKind::AddNodes(_) => "adding nodes".into(),
            UpdateKind::RestartFinish(id) => format!("restart {id}: start"),
        };
        self.event(Event::Refused {
            what,
            reason: reason.clone(),
        });
        if let Origin::Client(n, req) = origin {
            self.reply_to(n.clone(), *req, Err(reason));
        }
    }

    fn reply_to(&mut self, to: NodeName, req: u64, result: Result<String, String>) {
        if to == self.cfg.node {
            self.origin_result(req, result);
        } else {
            self.send(
                Target::Node(to),
                Channel::Crm,
                &Message::UpdateResult { req, result },
            );
        }
    }

    /// Replies whose version every joined member now has.
    fn send_replies(&mut self) {
        let Some(dc) = self.dcs.as_mut() else { return };
        let members: Vec<NodeName> = self
            .membership
            .as_ref()
            .map(|m| m.members.clone())
            .unwrap_or_default();
        let acked = &dc.acked;
        let joined = &dc.joined;
        let all_have = |v: Version| {
            joined
                .iter()
                .filter(|n| members.contains(n))
                .all(|n| acked.get(n).is_some_and(|a| *a >= v))
        };
        let (ready, waiting): (Vec<Reply>, Vec<Reply>) = std::mem::take(&mut dc.replies)
            .into_iter()
            .partition(|r| all_have(r.version));
        dc.replies = waiting;
        for r in ready {
            self.reply_to(r.to, r.req, Ok(r.message));
        }
    }

    /// Forgets failures and histories; returns the reply text.
    fn cleanup(&mut self, resources: Option<&[String]>, node: Option<&NodeName>) -> String {
        let names: Vec<String> = self
            .cib
            .status
            .iter()
            .filter_map(|s| s.uname.clone())
            .filter(|u| node.is_none_or(|n| n.as_str() == u))
            .collect();
        let mut forgotten = 0;
        let mut cleared = 0;
        for name in names {
            let ns = status::node_state_mut(&mut self.cib, &name);
            let mut attrs = Vec::new();
            let mut removed = Vec::new();
            match resources {
                None => {
                    attrs.extend(status::clear_failures(ns, None));
                    removed.extend(ns.lrm_resources().iter().map(|r| r.id.clone()));
                }
                Some(list) => {
                    for r in list {
                        attrs.extend(status::clear_failures(ns, Some(r)));
                        removed.extend(
                            ns.lrm_resources()
                                .iter()
                                .filter(|h| h.id.split(':').next() == Some(r.as_str()))
                                .map(|h| h.id.clone()),
                        );
                    }
                }
            }
            for r in &removed {
                status::remove_lrm_resource(ns, r);
            }
            if attrs.is_empty() && removed.is_empty() {
                continue;
            }
            cleared += attrs.len();
            forgotten += removed.len();
            self.status_update(
                &name,
                Vec::new(),
                removed.clone(),
                attrs.iter().map(|a| (a.clone(), None)).collect(),
            );
            if let Ok(n) = NodeName::new(&name) {
                for r in removed {
                    self.forget_on(&n, &r);
                }
            }
        }
        format!("cleaned up: {forgotten} histories, {cleared} failure attributes")
    }

    fn forget_on(&mut self, node: &NodeName, resource: &str) {
        if *node == self.cfg.node {
            self.forget_local(resource);
        } else if self.is_member(node) {
            let mid = self.mid();
            self.send(
                Target::Node(node.clone()),
                Channel::Crm,
                &Message::Forget {
                    mid,
                    resource: resource.to_string(),
                },
            );
        }
    }

    /// Cancels a recurring operation of the local LRM; its entry leaves the history.
    fn cancel_local(&mut self, resource: String, action: String, interval_ms: u64) {
        let key = op_key(&resource, &action, interval_ms);
        self.in_flight.remove(&key);
        if let Some(h) = self.local.get_mut(&resource) {
            h.ops.retain(|o| o.id != key);
        }
        self.out.push(Output::Lrm(LrmRequest::Cancel {
            resource,
            action,
            interval_ms,
        }));
    }

    /// The DC removes a cancelled recurring operation's entry from the status section
    /// (as Pacemaker's controller does when the executor confirms the cancellation),
    /// so the policy engine schedules it again when it is wanted again.
    fn drop_recurring_entry(
        &mut self,
        node: &NodeName,
        resource: &str,
        action: &str,
        interval_ms: u64,
    ) {
        let key = op_key(resource, action, interval_ms);
        let ns = status::node_state_mut(&mut self.cib, node.as_str());
        let Some(h) = ns
            .lrm_resources()
            .iter()
            .find(|r| r.id == resource)
            .cloned()
        else {
            return;
        };
        let mut h2 = h.clone();
        h2.ops.retain(|o| o.id != key);
        if h2 != h {
            status::put_lrm_resource(ns, h2.clone());
            self.status_update(
                node.as_str(),
                vec![status::lrm_resource_to_xml(&h2)],
                Vec::new(),
                Vec::new(),
            );
        }
    }

    /// Forgets a resource here (its history, its recurring operations). A recurring
    /// operation sent by the DC that has not reported its first result yet never will
    /// (the LRM cancels it), so it is reported as cancelled now: the DC's transition
    /// must not wait for it until its deadline (timeout + cluster-delay).
    fn forget_local(&mut self, resource: &str) {
        self.local.remove(resource);
        self.out.push(Output::Lrm(LrmRequest::Forget {
            resource: resource.to_string(),
        }));
        let pending: Vec<String> = self
            .in_flight
            .iter()
            .filter(|(_, op)| op.resource == resource && op.interval_ms > 0)
            .map(|(k, _)| k.clone())
            .collect();
        for key in pending {
            let Some(op) = self.in_flight.remove(&key) else {
                continue;
            };
            let outcome = OpOutcome {
                resource: op.resource,
                action: op.action,
                interval_ms: op.interval_ms,
                call_id: 0,
                rc: 1,
                op_status: EXEC_CANCELLED,
                expected_rc: op.expected_rc,
                failed: false,
                transition_key: Some(op.transition_key),
                exit_reason: Some("cancelled: the resource was cleaned up".into()),
                epoch_secs: 0,
            };
            self.report(outcome, None);
        }
    }

    fn commit(&mut self, v: Validating) {
        let mut cib = self.cib.clone();
        cib.configuration = *v.configuration;
        cib.version = if v.admin_epoch > cib.version.admin_epoch {
            Version::new(v.admin_epoch, 1, 0)
        } else {
            cib.version.next_epoch()
        };
        self.cib = cib;
        self.persist();
        let version = self.cib.version;
        let mid = self.mid();
        // The members have the status section already (status updates).
        let xml = Cib {
            status: Vec::new(),
            ..self.cib.clone()
        }
        .to_xml();
        self.send(
            Target::All,
            Channel::Cib,
            &Message::CibCommit { mid, cib: xml },
        );
        let me = self.cfg.node.clone();
        self.event(Event::Committed {
            version,
            what: v.what.clone(),
        });
        if let Some(dc) = self.dcs.as_mut() {
            dc.acked.insert(me, version);
            dc.sent_whole = version;
            match (v.origin, v.restart_of) {
                (Origin::Client(n, req), Some(id)) => dc.restart_waiters.push((n, req, id)),
                (Origin::Client(n, req), None) => dc.replies.push(Reply {
                    to: n,
                    req,
                    version,
                    message: format!("{} (CIB {version})", v.what),
                }),
                (Origin::Internal, _) => {}
            }
            if let Some(id) = v
                .what
                .strip_prefix("restart ")
                .and_then(|s| s.strip_suffix(": start"))
            {
                let done: Vec<(NodeName, u64, String)> = dc
                    .restart_waiters
                    .iter()
                    .filter(|(_, _, r)| r == id)
                    .cloned()
                    .collect();
                dc.restart_waiters.retain(|(_, _, r)| r != id);
                for (n, req, r) in done {
                    dc.restart_settling.push(Reply {
                        to: n,
                        req,
                        version,
                        message: format!("restarted {r} (CIB {version})"),
                    });
                }
            }
        }
        self.want_schedule("configuration changed");
    }

    /// Queues the second step of restarts whose resource is stopped everywhere.
    fn check_restarts(&mut self) {
        let Some(dc) = self.dcs.as_mut() else { return };
        if dc.run.is_some() || dc.policy.is_some() || dc.schedule_wanted {
            return;
        }
        let settled = std::mem::take(&mut dc.restart_settling);
        dc.replies.extend(settled);
        let pending = edit::restarts_pending(&self.cib);
        for id in pending {
            let busy = self
                .dcs
                .as_ref()
                .is_some_and(|d| d.restart_finishing.contains(&id));
            if busy || !status::active_nodes(&self.cib, &id).is_empty() {
                continue;
            }
            if let Some(dc) = self.dcs.as_mut() {
                dc.restart_finishing.insert(id.clone());
                dc.updates
                    .push_back((Origin::Internal, UpdateKind::RestartFinish(id)));
            }
        }
        let queued = self.dcs.as_ref().is_some_and(|d| !d.updates.is_empty());
        if queued {
            self.next_update();
            self.next_policy_run();
        }
    }

    // ------------------------------------------------------------------
    // the DC: policy runs and transitions

    fn want_schedule(&mut self, reason: &str) {
        let Some(dc) = self.dcs.as_mut() else { return };
        dc.schedule_wanted = true;
        dc.blocked = false;
        let mut aborted = None;
        if let Some(run) = dc.run.as_mut()
            && run.aborted.is_none()
        {
            run.aborted = Some(reason.to_string());
            aborted = Some(run.id);
        }
        if let Some(id) = aborted {
            self.event(Event::TransitionAborted {
                id,
                reason: reason.to_string(),
            });
        }
        self.dc_pump();
    }

    fn next_policy_run(&mut self) {
        if !self.is_active_dc() {
            return;
        }
        let quorate = self.quorate();
        let me_id = status::node_id(&self.cib, self.cfg.node.as_str());
        let Some(dc) = self.dcs.as_mut() else { return };
        if dc.policy.is_some() {
            return;
        }
        if let Some(v) = dc.validating.as_mut() {
            let id = self.next_policy;
            self.next_policy += 1;
            v.policy = Some(id);
            let mut candidate = Cib {
                version: self.cib.version,
                validate_with: self.cib.validate_with.clone(),
                have_quorum: Some(true),
                configuration: (*v.configuration).clone(),
                ..Cib::default()
            };
            candidate.status.clear();
            dc.policy = Some((id, Purpose::Validate));
            self.out.push(Output::RunPolicy {
                request: id,
                cib: Box::new(candidate),
            });
            return;
        }
        let drained = dc.run.as_ref().is_none_or(|r| r.in_flight() == 0);
        if !dc.schedule_wanted || dc.blocked || !drained {
            return;
        }
        if let Some(run) = dc.run.take() {
            let id = run.id;
            self.event(Event::TransitionComplete { id, aborted: true });
        }
        let Some(dc) = self.dcs.as_mut() else { return };
        dc.schedule_wanted = false;
        let id = self.next_policy;
        self.next_policy += 1;
        dc.policy = Some((id, Purpose::Schedule));
        let mut cib = self.cib.clone();
        cib.have_quorum = Some(quorate);
        cib.dc_uuid = Some(me_id);
        self.out.push(Output::RunPolicy {
            request: id,
            cib: Box::new(cib),
        });
    }

    fn on_policy(&mut self, request: u64, result: Result<Box<Transition>, String>) {
        let Some(dc) = self.dcs.as_mut() else { return };
        let purpose = match dc.policy {
            Some((id, p)) if id == request => p,
            _ => return,
        };
        dc.policy = None;
        match purpose {
            Purpose::Validate => {
                let Some(v) = dc.validating.take() else {
                    return;
                };
                let errors: Vec<String> = match &result {
                    Err(e) => vec![e.clone()],
                    Ok(t) => t
                        .notices
                        .iter()
                        .filter(|n| n.error)
                        .map(|n| n.text.clone())
                        .collect(),
                };
                if errors.is_empty() {
                    self.commit(v);
                } else {
                    let reason = format!("the policy engine refuses it: {}", errors.join("; "));
                    self.event(Event::Refused {
                        what: v.what.clone(),
                        reason: reason.clone(),
                    });
                    if let Origin::Client(n, req) = v.origin {
                        self.reply_to(n, req, Err(reason));
                    }
                    if let Some(id) = v.restart_of.as_ref().or(v
                        .what
                        .strip_prefix("restart ")
                        .and_then(|s| s.strip_suffix(": start"))
                        .map(|s| s.to_string())
                        .as_ref())
                        && let Some(dc) = self.dcs.as_mut()
                    {
                        dc.restart_finishing.remove(id);
                    }
                }
            }
            Purpose::Schedule => {
                if dc.schedule_wanted {
                    // Something changed while it ran: plan again.
                } else {
                    match result {
                        Err(e) => {
                            dc.blocked = true;
                            self.event(Event::PolicyProblem { detail: e });
                        }
                        Ok(t) => self.start_run(*t),
                    }
                }
            }
        }
        self.dc_pump();
    }

    fn start_run(&mut self, t: Transition) {
        for n in t.notices.iter().filter(|n| n.error) {
            self.out.push(Output::Event(Event::PolicyProblem {
                detail: n.text.clone(),
            }));
        }
        let Some(dc) = self.dcs.as_mut() else { return };
        dc.recheck_at = self.now + self.cfg.recheck_interval;
        if t.actions.is_empty() {
            return;
        }
        let id = dc.next_transition;
        dc.next_transition += 1;
        let summary: Vec<String> = halo_policy::format_summary(&t.summary)
            .into_iter()
            .map(|s| s.trim().to_string())
            .collect();
        let actions = t.actions.len();
        dc.run = Some(Run::new(id, t));
        self.event(Event::TransitionStarted {
            id,
            actions,
            summary,
        });
        self.advance();
    }

    /// Starts every ready action; finishes the run when nothing is left.
    fn advance(&mut self) {
        loop {
            let Some(run) = self.dcs.as_ref().and_then(|d| d.run.as_ref()) else {
                return;
            };
            let ready = run.ready();
            if ready.is_empty() {
                break;
            }
            for i in ready {
                self.dispatch(i);
            }
        }
        let Some(dc) = self.dcs.as_mut() else { return };
        let finished = dc.run.as_ref().is_some_and(Run::finished);
        if finished && let Some(run) = dc.run.take() {
            let aborted = run.aborted.is_some();
            if aborted && !dc.blocked {
                dc.schedule_wanted = true;
            }
            self.event(Event::TransitionComplete {
                id: run.id,
                aborted,
            });
            self.dc_pump();
        }
    }

    fn set_step(&mut self, i: usize, s: Step) {
        if let Some(step) = self
            .dcs
            .as_mut()
            .and_then(|d| d.run.as_mut())
            .and_then(|r| r.steps.get_mut(i))
        {
            *step = s;
        }
    }

    fn fail_action(&mut self, i: usize, detail: String, block: bool) {
        let Some(dc) = self.dcs.as_mut() else { return };
        let Some(run) = dc.run.as_mut() else { return };
        let Some(a) = run.actions.get(i) else { return };
        let (key, node) = (a.key.clone(), a.node.clone().unwrap_or_default());
        run.steps[i] = Step::Failed;
        let id = run.id;
        let newly = run.aborted.is_none();
        if newly {
            run.aborted = Some(format!("{key} on {node}: {detail}"));
        }
        if block {
            dc.blocked = true;
        }
        self.event(Event::ActionFailed {
            key: key.clone(),
            node: node.clone(),
            detail: detail.clone(),
        });
        if newly {
            self.event(Event::TransitionAborted {
                id,
                reason: format!("{key} on {node}: {detail}"),
            });
        }
    }

    fn dispatch(&mut self, i: usize) {
        let Some(run) = self.dcs.as_ref().and_then(|d| d.run.as_ref()) else {
            return;
        };
        let a = run.actions[i].clone();
        let tid = run.id;
        match a.kind {
            ActionKind::Pseudo => self.set_step(i, Step::Done),
            ActionKind::Fence => {
                let node = a.node.clone().unwrap_or_default();
                self.event(Event::PolicyProblem {
                    detail: format!(
                        "the plan fences {node}, and fencing is not available yet: \
                         recovery of its resources waits"
                    ),
                });
                self.fail_action(i, "fencing is not available".into(), true);
            }
            ActionKind::Cluster => {
                let node = a.node.as_deref().and_then(|n| NodeName::new(n).ok());
                match (a.task.as_str(), node, a.op_rsc.as_deref()) {
                    ("clear_failcount", Some(n), Some(rsc)) => {
                        self.clear_failcount(&n, rsc);
                    }
                    ("lrm_delete", Some(n), _) => {
                        if let Some(name) = a.history_name.as_deref() {
                            self.delete_history(&n, name);
                        }
                    }
                    _ => {}
                }
                self.set_step(i, Step::Done);
            }
            ActionKind::Resource => {
                let Some(node) = a.node.as_deref().and_then(|n| NodeName::new(n).ok()) else {
                    return self.fail_action(i, "no node".into(), false);
                };
                let joined = self.dcs.as_ref().is_some_and(|d| d.joined.contains(&node));
                if !joined {
                    return self.fail_action(i, "the node has not joined".into(), false);
                }
                let resource = a.history_name.clone().unwrap_or_default();
                if a.task == "cancel" {
                    let action = a
                        .meta
                        .get("operation")
                        .cloned()
                        .unwrap_or_else(|| "monitor".into());
                    let interval_ms = u64::from(a.interval_ms);
                    self.drop_recurring_entry(&node, &resource, &action, interval_ms);
                    if node == self.cfg.node {
                        self.cancel_local(resource, action, interval_ms);
                    } else {
                        let mid = self.mid();
                        self.send(
                            Target::Node(node),
                            Channel::Crm,
                            &Message::CancelOp {
                                mid,
                                resource,
                                action,
                                interval_ms,
                            },
                        );
                    }
                    return self.set_step(i, Step::Done);
                }
                let target = a.target_rc.unwrap_or(0);
                let key = transition::key(i, tid, target, &self.uuid);
                let op = self.op_for(&a, key);
                let timeout = std::time::Duration::from_millis(op.timeout_ms.unwrap_or(20_000));
                let deadline = self.now + timeout + self.cfg.cluster_delay;
                self.set_step(
                    i,
                    Step::Running {
                        node: node.clone(),
                        deadline,
                    },
                );
                if node == self.cfg.node {
                    self.exec_local(op);
                } else {
                    let mid = self.mid();
                    self.send(
                        Target::Node(node),
                        Channel::Crm,
                        &Message::ExecOp { mid, op },
                    );
                }
            }
        }
    }

    /// The LRM operation for a resource action of the graph.
    fn op_for(&self, a: &GraphAction, key: String) -> LrmOp {
        let resource = a.history_name.clone().unwrap_or_default();
        let agent = a.agent.as_ref().map(|(class, provider, kind)| Agent {
            class: class.clone(),
            provider: provider.clone(),
            kind: kind.clone(),
        });
        let own = self.op_param_names(a);
        let mut params = a.params.clone();
        let mut op_params = BTreeMap::new();
        for name in own {
            if let Some(v) = params.remove(&name) {
                op_params.insert(name, v);
            }
        }
        LrmOp {
            resource,
            agent,
            params: Some(params),
            op_params,
            meta: a.meta.clone(),
            action: a.task.clone(),
            interval_ms: u64::from(a.interval_ms),
            timeout_ms: a.meta.get("timeout").and_then(|t| t.parse().ok()),
            expected_rc: a.target_rc.unwrap_or(0),
            transition_key: key,
        }
    }

    /// Names of the operation's own instance attributes in the configuration.
    fn op_param_names(&self, a: &GraphAction) -> Vec<String> {
        let Some(rsc) = a.op_rsc.as_deref().or(a.history_name.as_deref()) else {
            return Vec::new();
        };
        let base = rsc.split(':').next().unwrap_or(rsc);
        let mut out = Vec::new();
        let mut visit = |p: &halo_cib::model::Primitive| {
            if p.id != base {
                return;
            }
            for op in p.ops() {
                let interval = halo_policy::util::parse_interval(Some(&op.interval));
                if op.name == a.task && interval == a.interval_ms {
                    for s in &op.instance {
                        out.extend(s.pairs.iter().filter_map(|p| p.name.clone()));
                    }
                }
            }
        };
        for r in &self.cib.configuration.resources {
            match r {
                Resource::Primitive(p) => visit(p),
                Resource::Group(g) => g.members.iter().for_each(&mut visit),
                Resource::Clone(c) => match &c.child {
                    halo_cib::model::CloneChild::Primitive(p) => visit(p),
                    halo_cib::model::CloneChild::Group(g) => g.members.iter().for_each(&mut visit),
                },
            }
        }
        out
    }

    fn status_update(
        &mut self,
        node: &str,
        resources: Vec<String>,
        removed: Vec<String>,
        attrs: Vec<(String, Option<String>)>,
    ) {
        let from = self.cib.version;
        self.cib.version = from.next_update();
        let to = self.cib.version;
        let mid = self.mid();
        self.send(
            Target::All,
            Channel::Cib,
            &Message::StatusUpdate {
                mid,
                from: from.into(),
                to: to.into(),
                node: node.to_string(),
                resources,
                removed,
                attrs,
            },
        );
    }

    fn clear_failcount(&mut self, node: &NodeName, rsc: &str) {
        let ns = status::node_state_mut(&mut self.cib, node.as_str());
        let removed = status::clear_failures(ns, Some(rsc.split(':').next().unwrap_or(rsc)));
        if !removed.is_empty() {
            let attrs = removed.into_iter().map(|a| (a, None)).collect();
            self.status_update(node.as_str(), Vec::new(), Vec::new(), attrs);
        }
    }

    fn delete_history(&mut self, node: &NodeName, name: &str) {
        let ns = status::node_state_mut(&mut self.cib, node.as_str());
        if status::remove_lrm_resource(ns, name) {
            self.status_update(
                node.as_str(),
                Vec::new(),
                vec![name.to_string()],
                Vec::new(),
            );
        }
        self.forget_on(node, name);
    }

    /// The DC records a result of `node`'s LRM and matches it to the transition.
    fn dc_result(&mut self, node: NodeName, outcome: OpOutcome, history: Option<LrmResource>) {
        if self.dcs.as_ref().is_some_and(|d| d.join.is_some()) {
            if let Some(dc) = self.dcs.as_mut() {
                let mid = dc.mid;
                dc.buffered.push((
                    node,
                    Message::OpResult {
                        mid,
                        outcome,
                        history: history
                            .as_ref()
                            .map(status::lrm_resource_to_xml)
                            .unwrap_or_default(),
                    },
                ));
            }
            return;
        }
        // Not run (the node's lease is lost) or cancelled before its first result (the
        // resource was cleaned up): nothing to record, the action did not complete.
        let refused = outcome.op_status == EXEC_NOT_CONNECTED && history.is_none();
        let cancelled = outcome.op_status == EXEC_CANCELLED && history.is_none();
        if !refused && !cancelled {
            let fatal = status::cluster_option(&self.cib, "start-failure-is-fatal")
                .and_then(status::truthy)
                .unwrap_or(true);
            let ns = status::node_state_mut(&mut self.cib, node.as_str());
            let mut resources = Vec::new();
            if let Some(h) = &history {
                resources.push(status::lrm_resource_to_xml(h));
                status::put_lrm_resource(ns, h.clone());
            }
            let attrs = status::record_failure(ns, &outcome, fatal);
            self.status_update(node.as_str(), resources, Vec::new(), attrs);
            self.event(Event::OpRecorded {
                node: node.clone(),
                key: op_key(&outcome.resource, &outcome.action, outcome.interval_ms),
                rc: outcome.rc,
                op_status: outcome.op_status,
                failed: outcome.failed,
            });
        }
        // Which action, if any, does it complete?
        let matched = outcome.transition_key.as_deref().and_then(|k| {
            let (i, tid) = transition::parse_key(k, &self.uuid)?;
            let run = self.dcs.as_ref()?.run.as_ref()?;
            if run.id != tid {
                return None;
            }
            let a = run.actions.get(i)?;
            let running_here = matches!(&run.steps[i], Step::Running { node: n, .. } if *n == node);
            (running_here
                && a.task == outcome.action
                && u64::from(a.interval_ms) == outcome.interval_ms)
                .then_some((i, a.target_rc.unwrap_or(0)))
        });
        match matched {
            Some((i, target)) => {
                if outcome.op_status == EXEC_DONE && outcome.rc == target {
                    self.set_step(i, Step::Done);
                } else if refused {
                    self.fail_action(i, "refused: the node's lease is lost".into(), true);
                } else if cancelled {
                    let why = outcome
                        .exit_reason
                        .clone()
                        .unwrap_or_else(|| "cancelled".into());
                    self.fail_action(i, why, false);
                } else {
                    let detail = format!(
                        "rc={} (expected {target}), status {}{}",
                        outcome.rc,
                        outcome.op_status,
                        outcome
                            .exit_reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                    self.fail_action(i, detail, false);
                }
                self.advance();
            }
            None if outcome.op_status == EXEC_CANCELLED || refused || cancelled => {}
            None => {
                let key = op_key(&outcome.resource, &outcome.action, outcome.interval_ms);
                self.want_schedule(&format!("result of {key} on {node}"));
            }
        }
        self.dc_pump();
    }

    // ------------------------------------------------------------------
    // the local LRM

    fn exec_local(&mut self, op: LrmOp) {
        if self.refusing_starts() && starts_something(&op.action) {
            let key = op_key(&op.resource, &op.action, op.interval_ms);
            self.event(Event::LeaseRefused { key });
            let outcome = OpOutcome {
                resource: op.resource.clone(),
                action: op.action.clone(),
                interval_ms: op.interval_ms,
                call_id: 0,
                rc: 1,
                op_status: EXEC_NOT_CONNECTED,
                expected_rc: op.expected_rc,
                failed: false,
                transition_key: Some(op.transition_key.clone()),
                exit_reason: Some(
                    if self.lease.shutting_down {
                        "the node is shutting down"
                    } else {
                        "resource lease lost"
                    }
                    .into(),
                ),
                epoch_secs: 0,
            };
            return self.report(outcome, None);
        }
        self.in_flight
            .insert(op_key(&op.resource, &op.action, op.interval_ms), op.clone());
        self.out.push(Output::Lrm(LrmRequest::Execute(op)));
    }

    fn on_lrm(&mut self, r: LrmResult) {
        let LrmResult { outcome, history } = r;
        let key = op_key(&outcome.resource, &outcome.action, outcome.interval_ms);
        self.in_flight.remove(&key);
        if history.ops.is_empty() {
            self.local.remove(&history.id);
        } else {
            self.local.insert(history.id.clone(), history.clone());
        }
        if self.refusing_starts() && outcome.action == "stop" {
            self.next_lease_stop(&outcome.resource);
        }
        self.report(outcome, Some(history));
        self.maybe_shutdown_ready();
    }

    /// Sends a local result to the DC (or records it, on the DC).
    fn report(&mut self, outcome: OpOutcome, history: Option<LrmResource>) {
        let me = self.cfg.node.clone();
        if self.dcs.is_some() {
            return self.dc_result(me, outcome, history);
        }
        let Some(dc) = self.dc.clone() else { return };
        let mid = self.mid();
        let history = history
            .as_ref()
            .map(status::lrm_resource_to_xml)
            .unwrap_or_default();
        self.send(
            Target::Node(dc),
            Channel::Crm,
            &Message::OpResult {
                mid,
                outcome,
                history,
            },
        );
    }

    // ------------------------------------------------------------------
    // the lease

    fn on_lease(&mut self, heard: bool) {
        self.lease.heard = heard;
        if !heard && !self.lease.lost {
            self.lose_lease();
        } else if heard
            && self.lease.lost
            && !self.lease.shutting_down
            && self.in_quorate_membership()
        {
            // Heard again while still a member of a quorate membership: the silence was
            // shorter than deadtime, so nobody declared this node dead and nobody
            // recovered its resources. The stops made meanwhile are ordinary status
            // updates that reach the DC, which plans again. (Had the silence been
            // longer, this node would have installed a membership without the others,
            // which is not quorate, and waits for a quorate one that includes it.)
            self.regain_lease();
        }
    }

    /// Whether this node is a member of the installed membership and it is quorate.
    fn in_quorate_membership(&self) -> bool {
        self.quorate() && self.is_member(&self.cfg.node)
    }

    /// Stops every local resource at once: top-level resources in parallel, the members
    /// of a group right to left.
    fn lose_lease(&mut self) {
        self.lease.lost = true;
        let stopping = self.stop_everything_locally();
        self.event(Event::LeaseLost { stopping });
    }

    /// Whether starts are refused: the lease is lost or the daemon is shutting down.
    fn refusing_starts(&self) -> bool {
        self.lease.lost || self.lease.shutting_down
    }

    /// The daemon is shutting down: stop everything here (as when the lease is lost),
    /// refuse starts from now on, and ask the DC to move this node's resources away
    /// (transient attribute `shutdown`, as Pacemaker's controller sets it).
    fn on_shutdown(&mut self, epoch_secs: u64) {
        if self.lease.shutting_down {
            return;
        }
        self.lease.shutting_down = true;
        let stopping = if self.lease.lost && !self.lease.chains.is_empty() {
            Vec::new()
        } else {
            self.stop_everything_locally()
        };
        self.event(Event::ShuttingDown { stopping });
        let me = self.cfg.node.clone();
        let mid = self.mid();
        if self.dcs.is_some() {
            self.dc_shutdown_of(&me, epoch_secs);
        } else if let Some(dc) = self.dc.clone() {
            self.send(
                Target::Node(dc),
                Channel::Crm,
                &Message::ShuttingDown { mid, epoch_secs },
            );
        }
        self.maybe_shutdown_ready();
    }

    /// The DC records that `node` is shutting down, so the policy engine moves its
    /// resources elsewhere.
    fn dc_shutdown_of(&mut self, node: &NodeName, epoch_secs: u64) {
        let value = epoch_secs.max(1).to_string();
        let ns = status::node_state_mut(&mut self.cib, node.as_str());
        status::set_transient(ns, "shutdown", Some(&value));
        self.status_update(
            node.as_str(),
            Vec::new(),
            Vec::new(),
            vec![("shutdown".into(), Some(value))],
        );
        self.want_schedule(&format!("{node} is shutting down"));
    }

    /// Tells the daemon it may exit once a shutdown stopped everything.
    fn maybe_shutdown_ready(&mut self) {
        if !self.lease.shutting_down || self.lease.shutdown_reported {
            return;
        }
        let busy = !self.lease.chains.is_empty()
            || self
                .in_flight
                .values()
                .any(|o| o.interval_ms == 0 && (o.action == "stop" || starts_something(&o.action)));
        if busy {
            return;
        }
        self.lease.shutdown_reported = true;
        self.out.push(Output::ShutdownReady);
    }

    /// Stops every local resource at once (top-level resources in parallel, group
    /// members right to left); returns what is being stopped.
    fn stop_everything_locally(&mut self) -> Vec<String> {
        let mut active: BTreeSet<String> = self
            .local
            .values()
            .filter(|r| status::run_state(r).active())
            .map(|r| r.id.clone())
            .collect();
        active.extend(
            self.in_flight
                .values()
                .filter(|o| starts_something(&o.action))
                .map(|o| o.resource.clone()),
        );
        // (top-level index, member index) of each resource in the configuration.
        let mut place: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (ti, r) in self.cib.configuration.resources.iter().enumerate() {
            match r {
                Resource::Primitive(p) => {
                    place.insert(p.id.clone(), (ti, 0));
                }
                Resource::Group(g) => {
                    for (mi, m) in g.members.iter().enumerate() {
                        place.insert(m.id.clone(), (ti, mi));
                    }
                }
                Resource::Clone(c) => match &c.child {
                    halo_cib::model::CloneChild::Primitive(p) => {
                        place.insert(p.id.clone(), (ti, 0));
                    }
                    halo_cib::model::CloneChild::Group(g) => {
                        for (mi, m) in g.members.iter().enumerate() {
                            place.insert(m.id.clone(), (ti, mi));
                        }
                    }
                },
            }
        }
        let mut chains: BTreeMap<(usize, String), Vec<(usize, String)>> = BTreeMap::new();
        for name in &active {
            let base = name.split(':').next().unwrap_or(name);
            let (chain, pos) = match place.get(base) {
                // Clone instances stop on their own; group members in their group's chain.
                Some((t, m)) => ((*t, name.split(':').nth(1).unwrap_or("").to_string()), *m),
                None => ((usize::MAX, name.clone()), 0),
            };
            chains.entry(chain).or_default().push((pos, name.clone()));
        }
        self.lease.chains = chains
            .into_values()
            .map(|mut v| {
                v.sort_by_key(|x| std::cmp::Reverse(x.0));
                v.into_iter().map(|(_, n)| n).collect()
            })
            .collect();
        let heads: Vec<String> = self
            .lease
            .chains
            .iter()
            .filter_map(|c| c.front().cloned())
            .collect();
        for h in heads {
            self.lease_stop(&h);
        }
        active.into_iter().collect()
    }

    fn lease_stop(&mut self, resource: &str) {
        let op = LrmOp {
            resource: resource.to_string(),
            agent: None,
            params: None,
            op_params: BTreeMap::new(),
            meta: BTreeMap::new(),
            action: "stop".into(),
            interval_ms: 0,
            timeout_ms: self.configured_timeout(resource, "stop"),
            expected_rc: 0,
            transition_key: format!("0:-1:0:lease-{}", self.cfg.node),
        };
        self.in_flight
            .insert(op_key(resource, "stop", 0), op.clone());
        self.out.push(Output::Lrm(LrmRequest::Execute(op)));
    }

    /// The timeout the configuration gives an action of a primitive, in ms.
    fn configured_timeout(&self, resource: &str, action: &str) -> Option<u64> {
        let base = resource.split(':').next().unwrap_or(resource);
        let mut found = None;
        for r in &self.cib.configuration.resources {
            let prims: Vec<&halo_cib::model::Primitive> = match r {
                Resource::Primitive(p) => vec![p],
                Resource::Group(g) => g.members.iter().collect(),
                Resource::Clone(c) => match &c.child {
                    halo_cib::model::CloneChild::Primitive(p) => vec![p],
                    halo_cib::model::CloneChild::Group(g) => g.members.iter().collect(),
                },
            };
            for p in prims.into_iter().filter(|p| p.id == base) {
                found = p
                    .ops()
                    .iter()
                    .find(|o| o.name == action)
                    .and_then(|o| o.timeout.as_deref())
                    .and_then(halo_policy::util::parse_ms)
                    .and_then(|v| u64::try_from(v).ok());
            }
        }
        found
    }

    fn next_lease_stop(&mut self, resource: &str) {
        let mut next = None;
        for chain in &mut self.lease.chains {
            if chain.front().map(String::as_str) == Some(resource) {
                chain.pop_front();
                next = chain.front().cloned();
            }
        }
        self.lease.chains.retain(|c| !c.is_empty());
        if let Some(n) = next {
            self.lease_stop(&n);
        }
    }

    fn regain_lease(&mut self) {
        self.lease.lost = false;
        if self.lease.shutting_down {
            return;
        }
        self.lease.chains.clear();
        self.event(Event::LeaseRegained);
        let mid = self.mid();
        if self.dcs.is_some() {
            if let Some(dc) = self.dcs.as_mut() {
                dc.blocked = false;
            }
            self.want_schedule("lease regained");
        } else if let Some(dc) = self.dc.clone() {
            self.send(
                Target::Node(dc),
                Channel::Crm,
                &Message::LeaseRegained { mid },
            );
        }
    }

    // ------------------------------------------------------------------
    // clients

    fn on_client(&mut self, id: u64, request: ClientRequest) {
        let req = self.next_req;
        self.next_req += 1;
        self.forwarded.insert(
            req,
            Forwarded {
                client: id,
                request,
                sent_in: None,
                deadline: self.now + self.cfg.request_timeout,
            },
        );
        self.try_forward();
    }

    /// Sends the requests not yet sent in this membership to its DC.
    fn try_forward(&mut self) {
        if !self.synced {
            return;
        }
        let Some(dc) = self.dc.clone() else { return };
        let mid = self.mid();
        let me = self.cfg.node.clone();
        let todo: Vec<(u64, ClientRequest)> = self
            .forwarded
            .iter_mut()
            .filter(|(_, f)| f.sent_in != Some(mid))
            .map(|(req, f)| {
                f.sent_in = Some(mid);
                (*req, f.request.clone())
            })
            .collect();
        for (req, request) in todo {
            if dc == me {
                self.dc_enqueue(Origin::Client(me.clone(), req), UpdateKind::Client(request));
            } else {
                self.send(
                    Target::Node(dc.clone()),
                    Channel::Crm,
                    &Message::Update { mid, req, request },
                );
            }
        }
    }

    fn origin_result(&mut self, req: u64, result: Result<String, String>) {
        if let Some(f) = self.forwarded.remove(&req) {
            self.out.push(Output::ClientReply {
                id: f.client,
                result,
            });
        }
    }

    // ------------------------------------------------------------------
    // time

    fn on_tick(&mut self) {
        let now = self.now;
        let expired: Vec<u64> = self
            .forwarded
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(r, _)| *r)
            .collect();
        for req in expired {
            let dc = self
                .dc
                .as_ref()
                .map_or("none".to_string(), |d| d.to_string());
            self.origin_result(
                req,
                Err(format!(
                    "timed out: the change was not confirmed by every member (DC: {dc}); \
                     check with `halo configure show`"
                )),
            );
        }
        let join_due = self
            .dcs
            .as_ref()
            .and_then(|d| d.join.as_ref())
            .is_some_and(|j| j.deadline <= now);
        if join_due {
            self.maybe_finish_join();
        }
        let late: Vec<usize> = self
            .dcs
            .as_ref()
            .and_then(|d| d.run.as_ref())
            .map(|r| {
                r.steps
                    .iter()
                    .enumerate()
                    .filter(
                        |(_, s)| matches!(s, Step::Running { deadline, .. } if *deadline <= now),
                    )
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default();
        for i in late {
            self.fail_action(i, "no result in time".into(), false);
        }
        if self.is_active_dc() {
            let recheck = self.dcs.as_ref().is_some_and(|d| d.recheck_at <= now);
            if recheck {
                if let Some(dc) = self.dcs.as_mut() {
                    dc.recheck_at = now + self.cfg.recheck_interval;
                }
                self.want_schedule("recheck");
            }
            self.advance();
            self.dc_pump();
        }
    }
}
