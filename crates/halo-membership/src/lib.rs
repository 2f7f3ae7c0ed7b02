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
//! incarnations that node hears, a digest of the partition it computed, and the membership
//! it installed. An entry has a version; the owner bumps it on every change, and a newer
//! generation or a higher version replaces an older entry everywhere. A node **gossips**
//! its own entry to all nodes whenever it changes (at once, then batched at most every
//! `gossip_interval`).
//!
//! *Hearing is confirmed.* A node lists a peer in its own entry only when its failure
//! detector hears the peer **and** the peer's own entry has reached it directly since it
//! started hearing the peer. On every `PeerUp` it greets the peer (`Hello`), and the peer
//! answers with its entry. Without this, a node that hears a peer again after a cut could
//! go on trusting the peer's last entry — "I hear you" — for ever, while the peer, which
//! does not hear it, has no reason to send a new one. A confirmed edge is therefore a
//! round trip: both directions work.
//!
//! *Relays.* Nodes that do not hear each other directly still need each other's entries
//! when they share a connected group. Of the nodes that hear the owner and are heard by
//! the node that needs the entry, the first in name order forwards it (the *designated
//! relayer*: with consistent knowledge exactly one node forwards each entry to each node
//! that needs it).
//!
//! *Anti-entropy.* While a node is not settled it sends its whole table every
//! `resync_interval` (`Full`); every receiver answers with what it knows better and with
//! its own entry. A peer that answers neither that nor a second, direct greeting within
//! `round_timeout` is no longer counted as heard: its messages reach this node, but this
//! node's do not reach it. This repairs anything lost, whatever the network did.
//!
//! ## The rule: who goes with whom
//!
//! From the entries, each node builds the **mutual-hearing graph** (`u — v` when `u`'s
//! entry lists `v` and `v`'s entry lists `u`, generations matching) and applies the rule of
//! [`rule`]: connected components, then in each a maximal clique found by peeling off the
//! least connected node (ties: the name that sorts last), then the same on what is left.
//! Every node lands in exactly one set, its **target**. The rule is deterministic, so
//! nodes that know the same entries compute the same partition; each node publishes a
//! digest of the partition of its connected component in its entry. (The view is
//! recomputed at most once per `gossip_interval`, and nothing is decided on an outdated
//! one.)
//!
//! For asymmetric links this gives one stable answer, documented with examples in
//! `tests/testdata/partition.txt`: if `b` stops hearing `a` but `a` still hears `b`, there
//! is no edge `a — b`; with a third node `c` connected to both, the memberships are
//! `{a, c}` and `{b}` (the tie between `a` and `b` goes to the name that sorts first). A
//! node heard by only some of the others is peeled off first.
//!
//! ## Rounds
//!
//! The first member (in name order) of a target is its **coordinator**. It starts a round
//! when (a) every node of its connected component reports the same partition digest as
//! its own (*consensus*: everybody connected agrees who goes with whom, so nobody is about
//! to refuse or to form something else), (b) the target differs from what is installed,
//! or a member has not reported installing it, and (c) it is not waiting for a peer it has
//! just started hearing to answer its greeting.
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
//!  (a member that does not report the new id within round_timeout: Commit again, with
//!   a Full table; still nothing after another round_timeout: a new round)
//! ```
//!
//! The id is `(seq, coordinator incarnation)`. The coordinator never proposes the same seq
//! twice in one incarnation, and a restarted coordinator is a new incarnation, so an id
//! names one proposal for ever: **agreement** (same id ⇒ same members) needs no
//! persistence before sending. A member promises at most one proposal per seq, so two
//! memberships with the same seq never share a member: partitions may reuse a seq, but
//! their coordinators differ. Every member checked that it hears every other member
//! (confirmed, both ways) when it accepted: **strong connectivity** at formation. A node
//! installs only increasing seqs, and `halod` persists the last one, so **ids grow** on
//! every node across restarts; a member only accepts a seq above everything it installed,
//! so a new membership's seq exceeds every seq its members had installed: ids also grow
//! across the cluster.
//!
//! ## When things fail during a round
//!
//! | what fails | what happens |
//! | --- | --- |
//! | a member dies or is cut off before accepting | the coordinator's failure detector removes it, its target changes, the round is abandoned (or it times out after `round_timeout`); a new round with a higher seq follows once the survivors agree again |
//! | a member's view changed | it refuses with `NotTarget`; the coordinator abandons the round and waits for consensus again (the member's new entry is on its way) |
//! | a member promised a higher seq elsewhere | it refuses with `SeqTooLow` and its promise; the coordinator retries at once above it |
//! | the coordinator dies before committing | members hold a promise and install nothing; when their detectors notice, the next node in name order coordinates with a higher seq; a restarted coordinator is a new incarnation, so commits of its old rounds are ignored |
//! | the coordinator dies after committing to some members only | those install, the rest do not; all of them notice the death and form a new membership above it; whoever installed the id installed the same list |
//! | a commit or a gossip is lost | the member does not report the id; the coordinator sends the commit again with its whole table, and after another `round_timeout` runs a new round |
//! | messages are duplicated or reordered | duplicates of a proposal are answered again, stale ones refused by the seq check, commits for unknown ids ignored, and older entries never replace newer ones |
//! | a member restarts during the round | the new incarnation is not the proposed member: it ignores the proposal and commit; everyone's detector reports the new generation, and a new round includes it |
//! | links become asymmetric | the greeting of the side that is not heard goes unanswered, so the edge disappears on both sides; everyone applies the rule to the same graph and reaches the same outcome, which does not flap |
//!
//! ## Liveness
//!
//! Once the failure detectors stop changing, entries stop changing; gossip, greetings,
//! relays and anti-entropy bring every node of a connected group to the same entries,
//! hence the same partition and consensus; each coordinator then runs one round, which
//! succeeds because every member computes the same target. The simulator (`halo-sim`)
//! checks this on thousands of seeded runs and reports how long it takes.
//!
//! ## Start-up
//!
//! A node waits `startup_hold` before forming a membership of itself alone, so that a node
//! starting next to running peers joins them instead of first installing a singleton. It
//! joins any larger group as soon as it has greeted its peers.
//!
//! # Configuration (`ha.cf`)
//!
//! | directive | meaning | default |
//! | --- | --- | --- |
//! | `votes NODE N` | `NODE` (listed by a `node` line) carries `N` votes, 0 ≤ N < 2³² | 1 |
//! | `expected_votes N` | the expected votes (N ≥ 1), instead of the listed nodes' total | the total |
//! | `two_node on\|off` | a two-node cluster: a survivor alone keeps quorum, fencing arbitrates | off |
//! | `wait_for_all on\|off` | no quorum until all expected votes were seen together once | as `two_node` |
//! | `no_quorum_policy stop\|freeze\|ignore\|suicide` | what the resource manager does without quorum | stop |
//!
//! `halo-config` parses them into a [`QuorumConfig`] (its `nodes` are the `node` lines) and
//! checks it with [`QuorumConfig::validate`], reporting a [`QuorumConfigError`] with the
//! file and line. See [`quorum`] for the exact rules.
//!
//! # Driving the engine (`halod`)
//!
//! 1. At start: read `STATE/membership` (the last installed seq, 0 if absent) and build an
//!    [`Engine`] with [`Config`] (node name, generation, that seq, [`Timings::default`],
//!    the quorum settings).
//! 2. Feed failure-detector events as [`Input::PeerUp`] / [`Input::PeerDown`] (a restart
//!    is a `PeerUp` with the new generation; a clean leave is a `PeerDown`), messages of
//!    the membership channel as [`Input::Message`] with the sender the messaging layer
//!    authenticated, and [`Input::Tick`] when [`Engine::next_deadline`] passes (ask for it
//!    again after every call).
//! 3. Carry out the outputs in order: [`Output::Send`] on the membership channel
//!    (`Destination::All` = every other node the messaging layer knows); on
//!    [`Output::Install`] write the seq to `STATE/membership` (write and rename) before
//!    anything that follows, then publish the membership and its quorum on the API (the
//!    status `membership.id` is `id.seq`).
//! 4. An [`InputError`] means the input was dropped and nothing changed: log and count it.
//!
//! The engine never blocks and does bounded work per input (at most one recomputation of
//! the rule per `gossip_interval`, polynomial in the number of nodes).

pub mod engine;
pub mod quorum;
pub mod rule;
mod table;
pub mod types;
pub mod wire;

pub use engine::{Config, Destination, Engine, Input, InputError, Output, Stats, Timings};
pub use quorum::{NoQuorumPolicy, QuorumConfig, QuorumConfigError, QuorumStatus, QuorumTracker};
pub use types::{Member, Membership, MembershipId};
