//! Consensus cluster membership and quorum. Pure: no sockets, no clocks, no threads.
//!
//! The failure detector tells each node whom *it* hears. This crate turns that into a
//! membership every member agrees on: the same id and the same member list on every node
//! that installs it, only nodes that all hear each other, and a single deterministic
//! answer when links are asymmetric. On top of it, [`quorum`] says whether a membership
//! may run services.
//!
//! ```text
//!   failure detector ──PeerUp(node, generation) / PeerDown(node)──┐
//!   messaging (membership channel) ──Message { from, bytes }──────┤
//!   timer ──Tick (at next_deadline())─────────────────────────────┤
//!                                                                 ▼
//!                                              ┌──────────────────────────────────┐
//!                                              │ Engine::handle(now, input)        │
//!                                              │   views of every node (gossip)    │
//!                                              │   the rule → this node's target   │
//!                                              │   rounds: propose/accept/commit   │
//!                                              │   quorum of what is installed     │
//!                                              └───────────────┬──────────────────┘
//!            ┌─────────────────────────────────────────────────┤
//!            ▼                                                 ▼
//!   Send { to: One(node) | All, bytes }          Install(Membership { id, members,
//!   → messaging, membership channel                formed_at, joined, left, quorum })
//!                                                  → persist id.seq, then CIB/CRM, API
//! ```
//!
//! # The protocol
//!
//! ## What a node knows
//!
//! Every node keeps an **entry** for every node it has heard of, itself included: the
//! incarnations that node hears (its failure detector's alive set, with generations), a
//! digest of the partition it computed, and the membership it installed. An entry has a
//! version; the owner bumps it on every change, and a newer generation or a higher version
//! replaces an older entry everywhere. A node **gossips** its own entry to all nodes
//! whenever it changes (at once, then batched at most every `gossip_interval`).
//!
//! Nodes that do not hear each other directly still need each other's entries when they
//! share a connected group. Such entries are **relayed**: of the nodes that hear the
//! owner and are heard by the node that needs it, the first in name order forwards the
//! entry (the *designated relayer*; with consistent knowledge exactly one node forwards
//! each entry to each node that needs it). A node that newly starts hearing another, or
//! stops hearing a third, is sent what it may have missed. While a node is not settled,
//! it also sends its whole table every `resync_interval` and peers answer with whatever
//! they know better (anti-entropy): this repairs anything lost, whatever the network did.
//!
//! ## The rule: who goes with whom
//!
//! From the entries, each node builds the **mutual-hearing graph** (`u — v` when `u`'s
//! entry lists `v` and `v`'s entry lists `u`, generations matching) and applies the rule of
//! [`rule`]: connected components, then in each a maximal clique found by peeling off the
//! least connected node (ties: the name that sorts last), then the same on what is left.
//! Every node lands in exactly one set, its **target**. The rule is deterministic, so
//! nodes that know the same entries compute the same partition; each node publishes a
//! digest of the partition of its connected component in its entry.
//!
//! ## Rounds
//!
//! The first member (in name order) of a target is its **coordinator**. It starts a round
//! when (a) every node of its connected component reports the same partition digest as
//! its own (*consensus*: everybody connected agrees who goes with whom, so nobody is about
//! to refuse or to form something else), and (b) the target differs from what is
//! installed, or a member has not installed it.
//!
//! ```text
//!  coordinator c                        member m (each other member)
//!  ─────────────                        ────────────────────────────
//!  seq = 1 + highest seq seen
//!  promise seq ── Propose(id, members) ──▶  checks: m is in members (this incarnation),
//!                                           members == m's own target, seq > m's promise
//!               ◀── Accept(id) ───────────  promise seq, remember the proposal
//!               ◀── Reject(id, why, promised)   (otherwise)
//!  all accepted:
//!  install ──────── Commit(id) ──────────▶  install the remembered proposal if seq is
//!                                           above what m has installed
//! ```
//!
//! The id is `(seq, coordinator incarnation)`. The coordinator never proposes the same seq
//! twice in one incarnation, and a restarted coordinator is a new incarnation, so an id
//! names one proposal for ever: **agreement** (same id ⇒ same members) needs no
//! persistence before sending. A member promises at most one proposal per seq, so two
//! memberships with the same seq never share a member: partitions may reuse a seq, but
//! their coordinators differ. Every member checked that it hears every other member when
//! it accepted: **strong connectivity** at formation. A node installs only increasing
//! seqs, and `halod` persists the last one, so **ids grow** on every node across restarts;
//! a new seq exceeds every seq its members had installed (they report them in their
//! entries, and refuse lower ones), so ids also grow across the cluster.
//!
//! ## When things fail during a round
//!
//! - *A member dies or is cut off before accepting*: the coordinator's failure detector
//!   removes it, the target changes, the round is abandoned; or the round times out after
//!   `round_timeout`. Either way a new round with a higher seq follows once the survivors
//!   agree again.
//! - *A member's view changed* (it refuses with `NotTarget`): the coordinator abandons the
//!   round and waits for consensus again (the member's new entry is on its way).
//! - *A member promised a higher seq elsewhere* (`SeqTooLow`): the coordinator retries at
//!   once above the reported seq.
//! - *The coordinator dies before committing*: members hold a promise and install nothing;
//!   when their detectors notice, the next node in name order coordinates with a higher
//!   seq. Promises are not persisted: a restarted member is a new incarnation, and
//!   commits for the old one are ignored.
//! - *The coordinator dies after committing to some members only*: those install, the rest
//!   do not; all of them notice the death and form a new membership above it. Agreement
//!   holds throughout: whoever installed the id installed the same list.
//! - *A commit is lost* (only possible when the messaging layer gives up on a peer): the
//!   member reports an older installed id in its entry; after `round_timeout` the
//!   coordinator runs a new round.
//! - *Messages are duplicated or reordered*: duplicates of a proposal are answered again,
//!   stale ones are refused by the seq check, commits for unknown ids are ignored, and
//!   older entries never replace newer ones.
//! - *Asymmetric links*: the rule only uses mutual edges, and everyone connected applies
//!   it to the same graph, so the outcome is the same on every node and does not flap.
//!
//! ## Liveness
//!
//! Once the failure detectors stop changing, entries stop changing; gossip, relays and
//! anti-entropy bring every node of a connected group to the same entries, hence the same
//! partition and consensus; each coordinator then runs one round, which succeeds because
//! every member computes the same target. The simulator (`halo-sim`) checks this on
//! thousands of seeded runs and reports how long it takes.
//!
//! ## Start-up
//!
//! A node waits `startup_hold` before forming a membership of itself alone, so that a node
//! starting next to running peers joins them instead of first installing a singleton. It
//! joins any larger group at once.
//!
//! # Configuration (`ha.cf`)
//!
//! | directive | meaning | default |
//! | --- | --- | --- |
//! | `votes NODE N` | `NODE` (listed by a `node` line) carries `N` votes (0 to 2³²−1) | 1 |
//! | `expected_votes N` | expected votes (N ≥ 1), instead of the listed nodes' total | total |
//! | `two_node on\|off` | two-node cluster: a survivor alone keeps quorum, fencing arbitrates | off |
//! | `wait_for_all on\|off` | no quorum until all expected votes were seen together once | = `two_node` |
//! | `no_quorum_policy stop\|freeze\|ignore\|suicide` | what the resource manager does without quorum | stop |
//!
//! See [`quorum`] for the exact rules.
//!
//! # Driving the engine (`halod`)
//!
//! 1. At start: read `STATE/membership` (the last installed seq, 0 if absent) and build an
//!    [`Engine`] with [`Config`] (node name, generation, that seq, [`Timings::default`],
//!    the quorum settings).
//! 2. Feed failure-detector events as [`Input::PeerUp`] / [`Input::PeerDown`] (a restart
//!    is a `PeerUp` with the new generation), membership-channel messages as
//!    [`Input::Message`], and [`Input::Tick`] at [`Engine::next_deadline`].
//! 3. Carry out the outputs in order: [`Output::Send`] on the membership channel;
//!    [`Output::Install`]: write the seq to `STATE/membership` (write and rename), then
//!    publish the membership and its quorum on the API.
//! 4. An [`InputError`] means the input was dropped: log it and count it.

pub mod engine;
pub mod quorum;
pub mod rule;
mod table;
pub mod types;
pub mod wire;

pub use engine::{Config, Destination, Engine, Input, InputError, Output, Stats, Timings};
pub use quorum::{NoQuorumPolicy, QuorumConfig, QuorumConfigError, QuorumStatus, QuorumTracker};
pub use types::{Member, Membership, MembershipId};
