//! The membership engine of one node: events in, messages and installed memberships out.
//!
//! See the crate documentation for the protocol. This module is its implementation:
//! [`Engine::handle`] takes one [`Input`] at a time with the current time and returns the
//! [`Output`]s it causes; [`Engine::next_deadline`] says when to call it with
//! [`Input::Tick`] if nothing else happens first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use halo_types::{Generation, NodeName, Timestamp};

use crate::quorum::{QuorumConfig, QuorumConfigError, QuorumStatus, QuorumTracker};
use crate::rule::BitSet;
use crate::table::Table;
use crate::types::{Member, Membership, MembershipId};
use crate::wire::{Body, DecodeError, Entry, GossipMode, Message, RejectReason};

/// How long the engine waits for what. The defaults suit a LAN with the failure detector
/// at `keepalive 100ms` / `deadtime 500ms`; they do not depend on the detector's timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// Changes of views are sent at once, then at most once per this interval (later
    /// changes within it are batched into one message).
    pub gossip_interval: Duration,
    /// A round whose acknowledgements are not all in by then is abandoned.
    pub round_timeout: Duration,
    /// After an abandoned or refused round, the coordinator waits this long before the
    /// next proposal (unless the refusal only asked for a higher sequence number).
    pub retry_backoff: Duration,
    /// While this node's view is unsettled, it sends its whole table this often and asks
    /// for newer entries (anti-entropy, repairing anything lost).
    pub resync_interval: Duration,
    /// For this long after start-up, the node does not form a membership of itself alone:
    /// its failure detector has not yet had time to hear its peers.
    pub startup_hold: Duration,
    /// A node that has not sent its own entry for this long sends it again, even when all
    /// is quiet. Over `halo-messaging` nothing is lost while a link works, so this only
    /// matters on a lossier transport; it bounds how long a lost update can mislead.
    pub refresh_interval: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            gossip_interval: Duration::from_millis(5),
            round_timeout: Duration::from_millis(300),
            retry_backoff: Duration::from_millis(50),
            resync_interval: Duration::from_millis(500),
            startup_hold: Duration::from_secs(1),
            refresh_interval: Duration::from_secs(5),
        }
    }
}

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's name.
    pub node: NodeName,
    /// This node's generation (incremented and persisted by `halod` on every start).
    pub generation: Generation,
    /// The `seq` of the last membership this node installed before it stopped (0 if
    /// none): `halod` persists it on every [`Output::Install`]. Memberships installed from
    /// now on have a larger `seq`.
    pub last_seq: u64,
    /// Timings.
    pub timings: Timings,
    /// Quorum settings.
    pub quorum: QuorumConfig,
}

/// One event for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The failure detector hears `node`, running as `generation` (a new generation of a
    /// node already up means it restarted: send this without a `PeerDown` first).
    PeerUp {
        /// The peer.
        node: NodeName,
        /// Its generation.
        generation: Generation,
    },
    /// The failure detector no longer hears `node` (dead, or left cleanly).
    PeerDown {
        /// The peer.
        node: NodeName,
    },
    /// A message on the membership channel, as authenticated by the messaging layer.
    Message {
        /// The sender named by the messaging layer.
        from: NodeName,
        /// The payload.
        bytes: &'a [u8],
    },
    /// Time passed: call at [`Engine::next_deadline`].
    Tick,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// One node.
    One(NodeName),
    /// Every other node the messaging layer knows.
    All,
}

/// What the engine asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `bytes` on the membership channel.
    Send {
        /// To whom.
        to: Destination,
        /// The message ([`crate::wire::Message::encode`]).
        bytes: Vec<u8>,
    },
    /// A new membership is installed on this node: persist `id.seq` (before acting on
    /// anything after it), then tell the upper layers.
    Install(Membership),
}

/// Why an input was dropped. The engine's state is unchanged; the caller logs and counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The payload is not a membership message.
    #[error("malformed membership message from {from}: {error}")]
    Malformed {
        /// The sender named by the messaging layer.
        from: NodeName,
        /// What is wrong.
        error: DecodeError,
    },
    /// The message claims another sender than the one the messaging layer authenticated.
    #[error("membership message from {from} claims to be from {claimed}")]
    WrongSender {
        /// The sender named by the messaging layer.
        from: NodeName,
        /// The sender named in the message.
        claimed: NodeName,
    },
    /// A message that breaks the protocol (e.g. a proposal by someone who is not its
    /// coordinator).
    #[error("membership protocol violation by {from}: {what}")]
    Protocol {
        /// The sender.
        from: NodeName,
        /// What it did.
        what: &'static str,
    },
    /// An event about this node itself.
    #[error("failure detector event about this node itself")]
    AboutSelf,
}

/// Counters for `halo status` and debugging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rounds this node started as coordinator.
    pub rounds_started: u64,
    /// Rounds it committed.
    pub rounds_committed: u64,
    /// Rounds it abandoned (refused, timed out, or its view changed).
    pub rounds_abandoned: u64,
    /// Proposals it refused as a member.
    pub proposals_refused: u64,
    /// Messages sent (a broadcast counts once).
    pub messages_sent: u64,
    /// Messages received and accepted.
    pub messages_received: u64,
}

/// This node's reading of its knowledge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct View {
    /// The nodes connected to this one in the mutual-hearing graph (this one included).
    component: Vec<Member>,
    /// The membership the rule gives this node.
    target: Vec<Member>,
    /// Digest of the rule's partition of the component.
    digest: u64,
}

/// A proposal this node accepted (or made) and may install on commit.
#[derive(Debug, Clone)]
struct Proposal {
    id: MembershipId,
    members: Vec<Member>,
}

/// A round this node coordinates.
#[derive(Debug, Clone)]
struct Round {
    proposal: Proposal,
    accepted: BTreeSet<Member>,
    deadline: Timestamp,
}

/// The membership engine of one node. See the crate documentation.
#[derive(Debug)]
pub struct Engine {
    me: Member,
    timings: Timings,
    started: Timestamp,
    /// The failure detector's view: peers alive and their generations.
    up: BTreeMap<NodeName, Generation>,
    /// Peers (alive) whose own entry reached this node directly since it last started
    /// hearing them: only those count as heard in this node's entry. See `merge`.
    confirmed: BTreeSet<NodeName>,
    /// Peers asked for their entry by a probe: when an answer is due, and whether this is
    /// the second asking.
    awaiting: BTreeMap<NodeName, (Timestamp, bool)>,
    /// Peers to greet (`Hello`) at the next gossip.
    hello: BTreeSet<NodeName>,
    /// When each peer heard but not confirmed was last greeted, and how many times.
    greeted: BTreeMap<NodeName, (Timestamp, u32)>,
    /// The latest known entry of every node, this one's included.
    entries: Table,
    /// Knowledge changed since the view was computed …
    stale_view: bool,
    /// … which was then.
    view_at: Option<Timestamp>,
    /// This node's hearing changed since its entry was last published.
    own_changed: bool,
    view: View,
    installed: Option<Membership>,
    installed_seq: u64,
    /// When this node last committed a round as coordinator (or probed its members).
    committed_at: Option<Timestamp>,
    /// Whether the members that did not report the last commit were asked again.
    commit_probed: bool,
    /// The highest seq this node has promised (accepted or proposed).
    promised: u64,
    /// The highest seq heard of anywhere.
    highest_seen: u64,
    /// Accepted proposals not yet installed, by seq.
    accepted: BTreeMap<u64, Proposal>,
    round: Option<Round>,
    next_round_at: Timestamp,
    /// Entries to broadcast at the next gossip.
    relay: BTreeSet<NodeName>,
    /// Entries to send to one node at the next gossip.
    push: BTreeMap<NodeName, BTreeSet<NodeName>>,
    last_gossip: Option<Timestamp>,
    /// When this node last sent its own entry to everyone.
    last_refresh: Timestamp,
    /// When this node, while unsettled, sends its whole table next.
    next_resync: Option<Timestamp>,
    quorum: QuorumTracker,
    stats: Stats,
    deadline: Option<Timestamp>,
}

/// FNV-1a, 64 bits: a fixed, portable hash for partition digests.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

impl Engine {
    /// A new engine at `now`, knowing nothing of its peers yet.
    pub fn new(config: Config, now: Timestamp) -> Result<Engine, QuorumConfigError> {
        let me = Member::new(config.node, config.generation);
        let mut entries = Table::default();
        let _ = entries.put(Entry {
            node: me.clone(),
            version: 1,
            hears: Vec::new(),
            digest: 0,
            installed: None,
        });
        let mut engine = Engine {
            me,
            timings: config.timings,
            started: now,
            up: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            awaiting: BTreeMap::new(),
            hello: BTreeSet::new(),
            greeted: BTreeMap::new(),
            entries,
            stale_view: true,
            view_at: None,
            own_changed: false,
            view: View::default(),
            installed: None,
            installed_seq: config.last_seq,
            committed_at: None,
            commit_probed: false,
            promised: config.last_seq,
            highest_seen: config.last_seq,
            accepted: BTreeMap::new(),
            round: None,
            next_round_at: now,
            relay: BTreeSet::new(),
            push: BTreeMap::new(),
            last_gossip: None,
            last_refresh: now,
            next_resync: None,
            quorum: QuorumTracker::new(config.quorum)?,
            stats: Stats::default(),
            deadline: None,
        };
        // The initial view: this node alone. Nothing to send until a peer is known.
        engine.recompute_view();
        engine.stale_view = false;
        let digest = engine.view.digest;
        let own = engine.own_index();
        engine.entries.update(own, |e| e.digest = digest);
        engine.deadline = Some(now + engine.timings.startup_hold);
        Ok(engine)
    }

    /// This node's incarnation.
    pub fn me(&self) -> &Member {
        &self.me
    }

    /// The membership installed on this node, if any.
    pub fn installed(&self) -> Option<&Membership> {
        self.installed.as_ref()
    }

    /// Quorum of the installed membership (not quorate before the first one).
    pub fn quorum(&self) -> QuorumStatus {
        match &self.installed {
            Some(m) => m.quorum.clone(),
            None => self.quorum.evaluate(std::iter::empty()),
        }
    }

    /// The membership the rule gives this node with what it knows now (the one it is
    /// working towards).
    pub fn target(&self) -> &[Member] {
        &self.view.target
    }

    /// Whether this node is at rest: it agrees with every node it is connected to, it and
    /// the other members have installed the membership the rule gives, and it is not
    /// waiting for a peer to answer a greeting or a probe.
    pub fn is_settled(&self, now: Timestamp) -> bool {
        self.settled() && self.awaiting.is_empty() && self.greeting_due(now).is_none()
    }

    /// If a peer this node just started hearing was greeted less than `round_timeout` ago
    /// (or is about to be) and has not answered, the time its answer is due: rounds wait
    /// for it, so that a node does not first form a membership without a peer it has just
    /// started hearing. (Later greetings of a peer that never answered are retries in the
    /// background: its messages reach this node, but this node's do not reach it.)
    fn greeting_due(&self, now: Timestamp) -> Option<Timestamp> {
        let first_pending = self
            .hello
            .iter()
            .any(|n| !self.greeted.contains_key(n) && !self.confirmed.contains(n));
        if first_pending {
            return Some(now + self.timings.round_timeout);
        }
        self.greeted
            .iter()
            .filter(|&(n, &(_, k))| {
                k == 1 && self.up.contains_key(n) && !self.confirmed.contains(n)
            })
            .map(|(_, &(at, _))| at + self.timings.round_timeout)
            .filter(|&due| due > now)
            .max()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When to call [`Engine::handle`] with [`Input::Tick`] at the latest.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// Handles one input at `now` (which must not go backwards).
    pub fn handle(&mut self, now: Timestamp, input: Input<'_>) -> Result<Vec<Output>, InputError> {
        let mut out = Vec::new();
        match input {
            Input::PeerUp { node, generation } => {
                if node == self.me.name {
                    return Err(InputError::AboutSelf);
                }
                if self.up.insert(node.clone(), generation) != Some(generation) {
                    // What this node knows of the peer may be stale: ask it.
                    self.confirmed.remove(&node);
                    self.awaiting.remove(&node);
                    self.greeted.remove(&node);
                    self.hello.insert(node);
                    self.own_hears_changed();
                }
            }
            Input::PeerDown { node } => {
                if node == self.me.name {
                    return Err(InputError::AboutSelf);
                }
                if self.up.remove(&node).is_some() {
                    self.confirmed.remove(&node);
                    self.awaiting.remove(&node);
                    self.hello.remove(&node);
                    self.own_hears_changed();
                }
            }
            Input::Message { from, bytes } => {
                let msg = Message::decode(bytes).map_err(|error| InputError::Malformed {
                    from: from.clone(),
                    error,
                })?;
                if msg.sender.name != from {
                    return Err(InputError::WrongSender {
                        from,
                        claimed: msg.sender.name,
                    });
                }
                if msg.sender.name == self.me.name {
                    return Err(InputError::Protocol {
                        from,
                        what: "message claims to come from this node",
                    });
                }
                self.receive(now, msg, &mut out)?;
                self.stats.messages_received += 1;
            }
            Input::Tick => {}
        }
        self.react(now, &mut out);
        Ok(out)
    }

    fn own_hears_changed(&mut self) {
        let hears: Vec<Member> = self
            .up
            .iter()
            .filter(|(n, _)| self.confirmed.contains(*n))
            .map(|(n, g)| Member::new(n.clone(), *g))
            .collect();
        let own = self.own_index();
        self.entries.update(own, |e| e.hears = hears);
        self.stale_view = true;
        self.own_changed = true;
    }

    // ---- receiving -------------------------------------------------------------------

    fn receive(
        &mut self,
        now: Timestamp,
        msg: Message,
        out: &mut Vec<Output>,
    ) -> Result<(), InputError> {
        let from = msg.sender.name.clone();
        match msg.body {
            Body::Gossip { mode, entries } => self.merge(msg.sender, mode, entries),
            Body::Propose { id, members } => {
                if id.coordinator != msg.sender {
                    return Err(InputError::Protocol {
                        from,
                        what: "proposal sent by someone other than its coordinator",
                    });
                }
                if members.first() != Some(&id.coordinator) {
                    return Err(InputError::Protocol {
                        from,
                        what: "proposal whose coordinator is not its first member",
                    });
                }
                self.ensure_view(now);
                self.on_propose(id, members, out);
            }
            Body::Accept { id } => {
                if let Some(round) = &mut self.round
                    && round.proposal.id == id
                    && round.proposal.members.contains(&msg.sender)
                {
                    round.accepted.insert(msg.sender);
                    if round.accepted.len() == round.proposal.members.len() {
                        self.commit(now, out);
                    }
                }
            }
            Body::Reject {
                id,
                reason,
                promised,
            } => {
                self.highest_seen = self.highest_seen.max(promised);
                if self.round.as_ref().is_some_and(|r| r.proposal.id == id) {
                    self.round = None;
                    self.stats.rounds_abandoned += 1;
                    self.next_round_at = match reason {
                        // Retry at once with a higher seq.
                        RejectReason::SeqTooLow => now,
                        RejectReason::NotTarget => now + self.timings.retry_backoff,
                    };
                }
            }
            Body::Commit { id } => {
                if id.coordinator != msg.sender {
                    return Err(InputError::Protocol {
                        from,
                        what: "commit sent by someone other than its coordinator",
                    });
                }
                if id.seq > self.installed_seq
                    && let Some(p) = self.accepted.get(&id.seq)
                    && p.id == id
                {
                    let p = p.clone();
                    self.install(now, p, out);
                }
            }
        }
        Ok(())
    }

    /// This node's row in the table.
    fn own_index(&self) -> usize {
        self.entries.index(&self.me.name).unwrap_or_default()
    }

    /// Merges gossiped entries; schedules relays, pushes, and the answers asked for.
    ///
    /// **Confirmation.** An entry says whom its node hears, but a node cannot tell from an
    /// entry alone whether it is current: the owner may have changed it while its messages
    /// could not get here. So this node counts a peer as heard (in its own entry, hence in
    /// everyone's graph) only once the peer's own entry has come *directly from the peer*
    /// since this node last started hearing it. A `Hello` on every new hearing asks for
    /// it; while unsettled, probes ask again, and a peer that does not answer is no longer
    /// counted (its messages reach this node, but this node's do not reach it).
    fn merge(&mut self, sender: Member, mode: GossipMode, incoming: Vec<Entry>) {
        let mut learned: Vec<(NodeName, Option<Vec<Member>>)> = Vec::new();
        let mut sender_has: BTreeMap<NodeName, (Generation, u64)> = BTreeMap::new();
        let mut from_owner = false;
        for e in incoming {
            let name = e.node.name.clone();
            if mode == GossipMode::Full {
                sender_has.insert(name.clone(), (e.node.generation, e.version));
            }
            if name == self.me.name {
                continue;
            }
            if e.node == sender {
                from_owner = true;
            }
            if let Some(installed) = &e.installed {
                self.highest_seen = self.highest_seen.max(installed.seq);
            }
            match self.entries.get(&name) {
                Some(old) if !e.newer_than(old) => {}
                old => {
                    let old_hears = old
                        .filter(|o| o.node.generation == e.node.generation)
                        .map(|o| o.hears.clone());
                    if self.entries.put(e) {
                        self.stale_view = true;
                    }
                    learned.push((name, old_hears));
                }
            }
        }
        if from_owner && self.up.get(&sender.name) == Some(&sender.generation) {
            self.awaiting.remove(&sender.name);
            if self.confirmed.insert(sender.name.clone()) {
                self.own_hears_changed();
            }
        }
        for (name, old_hears) in learned {
            if let Some(y) = self.entries.index(&name) {
                if self.relay_needed(y) {
                    self.relay.insert(name.clone());
                }
                self.plan_push(y, old_hears.as_deref());
            }
        }
        match mode {
            GossipMode::Delta => {}
            GossipMode::Hello => {
                self.push
                    .entry(sender.name)
                    .or_default()
                    .insert(self.me.name.clone());
            }
            GossipMode::Full => {
                // Answer with what the sender lacks or has older, and always this node's
                // own entry (the sender may be probing).
                let newer: BTreeSet<NodeName> = self
                    .entries
                    .entries()
                    .filter(|e| e.node.name != sender.name)
                    .filter(|e| {
                        e.node == self.me
                            || sender_has
                                .get(&e.node.name)
                                .is_none_or(|&(g, v)| (e.node.generation, e.version) > (g, v))
                    })
                    .map(|e| e.node.name.clone())
                    .collect();
                self.push.entry(sender.name).or_default().extend(newer);
            }
        }
    }

    /// The designated relayer of row `y`'s entry to row `z`: the first row in name order,
    /// other than `y` and `z`, that hears `y` and is heard by `z` (per this node's
    /// knowledge). With consistent knowledge, exactly one node relays each entry to each
    /// node that cannot hear its owner.
    fn designated_relayer(&self, y: usize, z: usize) -> Option<usize> {
        self.entries
            .heard_by(z)
            .iter()
            .find(|&x| x != y && x != z && self.entries.hears(x, y))
    }

    /// Whether this node should relay row `y`'s entry: some node it knows does not hear
    /// `y`, and this node is the designated relayer to it.
    fn relay_needed(&self, y: usize) -> bool {
        let me = self.own_index();
        (0..self.entries.len()).any(|z| {
            z != y
                && z != me
                && !self.entries.hears(z, y)
                && self.entries.hears(z, me)
                && self.designated_relayer(y, z) == Some(me)
        })
    }

    /// Row `z`'s entry is new or changed: if `z` hears this node, send it what it may have
    /// missed: the entries of nodes `z` newly stopped hearing, for which this node is the
    /// designated relayer.
    fn plan_push(&mut self, z: usize, old_hears: Option<&[Member]>) {
        let me = self.own_index();
        if !self.entries.hears(z, me) {
            return;
        }
        let was_heard = |m: &Member| old_hears.is_some_and(|h| h.binary_search(m).is_ok());
        let mut send = BTreeSet::new();
        for y in self.entries.heard_by(me).iter() {
            if y == z || self.entries.hears(z, y) {
                continue;
            }
            let ye = self.entries.at(y);
            let newly_unheard = old_hears.is_none() || was_heard(&ye.node);
            if newly_unheard && self.designated_relayer(y, z) == Some(me) {
                send.insert(ye.node.name.clone());
            }
        }
        if !send.is_empty() {
            let zname = self.entries.at(z).node.name.clone();
            self.push.entry(zname).or_default().extend(send);
        }
    }

    fn on_propose(&mut self, id: MembershipId, members: Vec<Member>, out: &mut Vec<Output>) {
        if !members.contains(&self.me) {
            return; // Not for this incarnation.
        }
        let coordinator = id.coordinator.name.clone();
        if let Some(p) = self.accepted.get(&id.seq)
            && p.id == id
        {
            // A duplicate: answer again — unless this node's view has changed since, in
            // which case the coordinator had better give the round up.
            if members == self.view.target {
                self.send(out, Destination::One(coordinator), Body::Accept { id });
            } else {
                let promised = self.promised.max(self.installed_seq);
                self.send(
                    out,
                    Destination::One(coordinator),
                    Body::Reject {
                        id,
                        reason: RejectReason::NotTarget,
                        promised,
                    },
                );
            }
            return;
        }
        self.highest_seen = self.highest_seen.max(id.seq);
        let reason = if id.seq <= self.promised.max(self.installed_seq) {
            Some(RejectReason::SeqTooLow)
        } else if members != self.view.target {
            Some(RejectReason::NotTarget)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                self.stats.proposals_refused += 1;
                let promised = self.promised.max(self.installed_seq);
                self.send(
                    out,
                    Destination::One(coordinator),
                    Body::Reject {
                        id,
                        reason,
                        promised,
                    },
                );
            }
            None => {
                self.promised = id.seq;
                self.accepted.insert(
                    id.seq,
                    Proposal {
                        id: id.clone(),
                        members,
                    },
                );
                // Keep a handful: older ones can only be installed if committed soon.
                while self.accepted.len() > 8 {
                    self.accepted.pop_first();
                }
                self.send(out, Destination::One(coordinator), Body::Accept { id });
            }
        }
    }

    // ---- rounds ----------------------------------------------------------------------

    fn commit(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        let Some(round) = self.round.take() else {
            return;
        };
        let id = round.proposal.id.clone();
        self.stats.rounds_committed += 1;
        self.committed_at = Some(now);
        self.commit_probed = false;
        let alone = round.proposal.members.len() == 1;
        // Install first: `halod` persists the seq before sending the commit.
        self.install(now, round.proposal, out);
        if !alone {
            self.send(out, Destination::All, Body::Commit { id });
        }
    }

    fn install(&mut self, now: Timestamp, p: Proposal, out: &mut Vec<Output>) {
        let previous: BTreeSet<Member> = self
            .installed
            .as_ref()
            .map(|m| m.members.iter().cloned().collect())
            .unwrap_or_default();
        let now_in: BTreeSet<Member> = p.members.iter().cloned().collect();
        let joined = if self.installed.is_some() {
            now_in.difference(&previous).cloned().collect()
        } else {
            Vec::new()
        };
        let left = previous.difference(&now_in).cloned().collect();
        let quorum = self.quorum.install(p.members.iter().map(|m| &m.name));
        let m = Membership {
            id: p.id.clone(),
            members: p.members,
            formed_at: now,
            joined,
            left,
            quorum,
        };
        self.installed_seq = p.id.seq;
        self.promised = self.promised.max(p.id.seq);
        self.highest_seen = self.highest_seen.max(p.id.seq);
        self.accepted.retain(|&seq, _| seq > p.id.seq);
        self.installed = Some(m.clone());
        out.push(Output::Install(m));
    }

    /// Whether every node of the component reports the partition this node computes.
    fn consensus(&self) -> bool {
        self.view.component.iter().all(|u| {
            self.entries
                .get(&u.name)
                .is_some_and(|e| e.node == *u && e.digest == self.view.digest)
        })
    }

    /// Whether the installed membership is the target and every member reports it.
    fn members_installed(&self) -> bool {
        let Some(m) = &self.installed else {
            return false;
        };
        m.members == self.view.target
            && self.view.target.iter().all(|u| {
                self.entries
                    .get(&u.name)
                    .is_some_and(|e| e.installed.as_ref() == Some(&m.id))
            })
    }

    fn settled(&self) -> bool {
        !self.stale_view && self.consensus() && self.members_installed()
    }

    /// Starts a round if this node coordinates its target and one is due. Returns the time
    /// it must wait until, if only time stands in the way.
    fn maybe_propose(&mut self, now: Timestamp, out: &mut Vec<Output>) -> Option<Timestamp> {
        if self.round.is_some() || self.view.target.first() != Some(&self.me) || !self.consensus() {
            return None;
        }
        let same_members = self
            .installed
            .as_ref()
            .is_some_and(|m| m.members == self.view.target);
        if same_members {
            if self.members_installed() {
                return None;
            }
            // Members that have not reported the membership yet: give the commit time to
            // arrive and their gossip time to come back. Then, once, send the commit again
            // with this node's whole table (their answers carry their newer entries), and
            // wait again. Only if that fails too, run a new round.
            if let Some(at) = self.committed_at {
                let grace = at + self.timings.round_timeout;
                if now < grace {
                    return Some(grace);
                }
                if !self.commit_probed
                    && let Some(id) = self.installed.as_ref().map(|m| m.id.clone())
                {
                    self.commit_probed = true;
                    self.committed_at = Some(now);
                    self.send(out, Destination::All, Body::Commit { id });
                    self.probe(now, out);
                    return Some(now + self.timings.round_timeout);
                }
            }
        }
        let mut not_before = self.next_round_at;
        if let Some(due) = self.greeting_due(now) {
            not_before = not_before.max(due);
        }
        if self.view.target.len() == 1 {
            not_before = not_before.max(self.started + self.timings.startup_hold);
        }
        if now < not_before {
            return Some(not_before);
        }
        let seq = self.highest_seen.max(self.promised).max(self.installed_seq) + 1;
        let id = MembershipId {
            seq,
            coordinator: self.me.clone(),
        };
        let members = self.view.target.clone();
        self.promised = seq;
        self.highest_seen = seq;
        let proposal = Proposal {
            id: id.clone(),
            members: members.clone(),
        };
        self.accepted.insert(seq, proposal.clone());
        self.stats.rounds_started += 1;
        let mut accepted = BTreeSet::new();
        accepted.insert(self.me.clone());
        self.round = Some(Round {
            proposal,
            accepted,
            deadline: now + self.timings.round_timeout,
        });
        if members.len() == 1 {
            self.commit(now, out);
        } else {
            self.send(out, Destination::All, Body::Propose { id, members });
        }
        None
    }

    // ---- after every input ---------------------------------------------------------------

    /// Recomputes the view now if anything it depends on changed.
    fn ensure_view(&mut self, now: Timestamp) {
        if self.stale_view {
            self.recompute_view();
            self.stale_view = false;
            self.view_at = Some(now);
        }
    }

    fn recompute_view(&mut self) {
        let g = self.entries.graph();
        let n = self.entries.len();
        let me = self.own_index();
        let comp = g
            .components(&BitSet::full(n))
            .into_iter()
            .find(|c| c.contains(me))
            .unwrap_or_default();
        let mut cliques = g.partition_of(&comp);
        cliques.sort_by_key(|c| c.first());
        let mut digest = 0xcbf2_9ce4_8422_2325u64;
        let mut target = Vec::new();
        for c in &cliques {
            fnv(&mut digest, b"{");
            for i in c.iter() {
                let node = &self.entries.at(i).node;
                fnv(&mut digest, node.name.as_str().as_bytes());
                fnv(&mut digest, &node.generation.0.to_le_bytes());
            }
            if c.contains(me) {
                target = c.iter().map(|i| self.entries.at(i).node.clone()).collect();
            }
        }
        self.view = View {
            component: comp
                .iter()
                .map(|i| self.entries.at(i).node.clone())
                .collect(),
            target,
            digest,
        };
    }

    /// Brings this node's own entry in line with its hearing, its view and its installed
    /// membership; a change is gossiped.
    fn refresh_own_entry(&mut self) {
        let installed_id = self.installed.as_ref().map(|m| m.id.clone());
        let digest = self.view.digest;
        let own = self.own_index();
        let e = self.entries.at(own);
        if self.own_changed || e.digest != digest || e.installed != installed_id {
            self.own_changed = false;
            self.entries.update(own, |e| {
                e.digest = digest;
                e.installed = installed_id;
                e.version += 1;
            });
            self.relay.insert(self.me.name.clone());
        }
    }

    fn react(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        // Peers that did not answer a probe in time are asked once more, directly; if they
        // do not answer that either, they are no longer counted as heard.
        let overdue: Vec<(NodeName, bool)> = self
            .awaiting
            .iter()
            .filter(|&(_, &(due, _))| now >= due)
            .map(|(n, &(_, again))| (n.clone(), again))
            .collect();
        for (n, again) in overdue {
            if again {
                self.awaiting.remove(&n);
                if self.confirmed.remove(&n) {
                    self.own_hears_changed();
                }
            } else {
                self.awaiting
                    .insert(n.clone(), (now + self.timings.round_timeout, true));
                self.hello.insert(n);
            }
        }
        // Greet again, every `resync_interval`, peers heard but not confirmed: a greeting
        // or its answer may have been lost, or this node's messages do not reach them.
        let mut wake: Vec<Timestamp> = Vec::new();
        for n in self.up.keys() {
            if self.confirmed.contains(n) {
                continue;
            }
            if self
                .greeted
                .get(n)
                .is_none_or(|&(at, _)| now >= at + self.timings.resync_interval)
            {
                self.hello.insert(n.clone());
            }
        }
        let up = &self.up;
        let confirmed = &self.confirmed;
        self.greeted
            .retain(|n, _| up.contains_key(n) && !confirmed.contains(n));
        // The view is recomputed at most once per `gossip_interval`: a burst of news (a
        // cluster starting, a death seen by everyone) costs a few computations, not one
        // per message. Nothing is decided on an outdated view meanwhile.
        let view_due = self
            .view_at
            .map_or(now, |t| t + self.timings.gossip_interval);
        if self.stale_view && now >= view_due {
            self.ensure_view(now);
        }
        self.refresh_own_entry();
        // Abandon a round that timed out, or (once the view is current) that no longer
        // matches the target.
        if let Some(r) = &self.round
            && now >= r.deadline
        {
            self.round = None;
            self.stats.rounds_abandoned += 1;
            self.next_round_at = now + self.timings.retry_backoff;
        }
        if self.stale_view {
            wake.push(view_due);
        } else {
            if let Some(r) = &self.round
                && r.proposal.members != self.view.target
            {
                self.round = None;
                self.stats.rounds_abandoned += 1;
                self.next_round_at = now + self.timings.retry_backoff;
            }
            if let Some(at) = self.maybe_propose(now, out) {
                wake.push(at);
            }
            // A membership of one is installed at once: publish it.
            self.refresh_own_entry();
        }
        if let Some(r) = &self.round {
            wake.push(r.deadline);
        }
        wake.extend(self.awaiting.values().map(|&(due, _)| due));
        wake.extend(self.greeting_due(now));
        // Anti-entropy while unsettled.
        if self.settled() {
            self.next_resync = None;
        } else {
            match self.next_resync {
                None => self.next_resync = Some(now + self.timings.resync_interval),
                Some(at) if now >= at => {
                    self.probe(now, out);
                    self.next_resync = Some(now + self.timings.resync_interval);
                }
                Some(_) => {}
            }
            wake.extend(self.next_resync);
        }
        // Refresh: send this node's own entry again after a long quiet spell.
        let refresh = self.last_refresh + self.timings.refresh_interval;
        if now >= refresh {
            self.relay.insert(self.me.name.clone());
        } else {
            wake.push(refresh);
        }
        // Gossip: at once if the last one is old enough, else at the end of the interval.
        if !self.relay.is_empty() || !self.push.is_empty() || !self.hello.is_empty() {
            let due = self
                .last_gossip
                .map_or(now, |t| t + self.timings.gossip_interval);
            if now >= due {
                self.flush_gossip(now, out);
            } else {
                wake.push(due);
            }
        }
        // (A greeting due now waits for the gossip slot, which has its own wake-up.)
        wake.extend(
            self.greeted
                .values()
                .map(|&(at, _)| at + self.timings.resync_interval)
                .filter(|&at| at > now),
        );
        self.deadline = wake.into_iter().min();
    }

    /// Sends this node's whole table to everyone and expects each peer it counts as heard
    /// to answer within `round_timeout`.
    fn probe(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        let entries: Vec<Entry> = self.entries.entries().cloned().collect();
        self.send(
            out,
            Destination::All,
            Body::Gossip {
                mode: GossipMode::Full,
                entries,
            },
        );
        let due = now + self.timings.round_timeout;
        for n in &self.confirmed {
            self.awaiting.entry(n.clone()).or_insert((due, false));
        }
    }

    fn pick(&self, names: &BTreeSet<NodeName>) -> Vec<Entry> {
        names
            .iter()
            .filter_map(|n| self.entries.get(n).cloned())
            .collect()
    }

    fn flush_gossip(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        let relay = std::mem::take(&mut self.relay);
        let mut push = std::mem::take(&mut self.push);
        let hello = std::mem::take(&mut self.hello);
        if relay.contains(&self.me.name) {
            self.last_refresh = now;
        }
        let broadcast = self.pick(&relay);
        if !broadcast.is_empty() {
            self.send(
                out,
                Destination::All,
                Body::Gossip {
                    mode: GossipMode::Delta,
                    entries: broadcast,
                },
            );
        }
        for to in hello {
            let times = self.greeted.get(&to).map_or(0, |&(_, k)| k);
            self.greeted.insert(to.clone(), (now, times + 1));
            let mut names = push.remove(&to).unwrap_or_default();
            names.insert(self.me.name.clone());
            let entries = self.pick(&names);
            self.send(
                out,
                Destination::One(to),
                Body::Gossip {
                    mode: GossipMode::Hello,
                    entries,
                },
            );
        }
        for (to, names) in push {
            // What went to everyone need not go again.
            let names: BTreeSet<NodeName> =
                names.into_iter().filter(|n| !relay.contains(n)).collect();
            let entries = self.pick(&names);
            if !entries.is_empty() {
                self.send(
                    out,
                    Destination::One(to),
                    Body::Gossip {
                        mode: GossipMode::Delta,
                        entries,
                    },
                );
            }
        }
        self.last_gossip = Some(now);
    }

    fn send(&mut self, out: &mut Vec<Output>, to: Destination, body: Body) {
        let bytes = Message {
            sender: self.me.clone(),
            body,
        }
        .encode();
        self.stats.messages_sent += 1;
        out.push(Output::Send { to, bytes });
    }
}
