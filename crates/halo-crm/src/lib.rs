//! The cluster resource manager at run time: DC election, the join round, the
//! replicated CIB, the transition engine and the resource lease. Pure (sans-I/O): no
//! sockets, clocks, threads or processes; time comes in as [`halo_types::Timestamp`],
//! effects go out as [`Output`] values.
//!
//! ```text
//!                 ┌──────────────────────── Crm::handle(now, Input) ─────────────────────────┐
//!  Membership ───▶│ DC = smallest member name ── join round (DC) ── CIB choice, status rebuild│
//!  Message ──────▶│ CIB copy ◀── CibReplace / CibCommit / StatusUpdate (members)             │
//!  Client ───────▶│ request ──▶ DC: edit ─▶ policy validation ─▶ commit ─▶ acks ─▶ reply     │
//!  PolicyDone ───▶│ transition engine (DC): graph ─▶ ExecOp / local LRM, results recorded    │
//!  Lrm(result) ──▶│ own history (authoritative) ─▶ OpResult to the DC                         │
//!  Lease ────────▶│ no quorum heard: stop everything locally, refuse starts                  │
//!  Tick ─────────▶│ join, action and request deadlines, periodic recheck                     │
//!                 └──────┬──────────┬────────────┬──────────────┬──────────────┬─────────────┘
//!                        ▼          ▼            ▼              ▼              ▼
//!                 Send{to,bytes} PersistCib  Lrm(Execute/    RunPolicy{cib}  ClientReply,
//!                                (atomic,    Cancel/Forget/  (off-thread)    Event
//!                                 checksum)  Recover)
//! ```
//!
//! # DC election
//!
//! Per installed membership the DC is the member with the smallest node name: every
//! member computes the same DC from the same agreed member list, so membership
//! agreement is DC agreement and no election messages are needed. A node with a
//! smaller name that rejoins becomes DC after the join round; resources keep running
//! through DC changes (they live in the LRMs, not in the DC).
//!
//! # The join round
//!
//! On every new membership the DC asks each member for its CIB version, its
//! `haresources` digest and its own state: its LRM history (authoritative for what
//! runs on it, operations in flight included as pending entries, so a new DC never
//! starts elsewhere what is being started here) and the transient attributes (fail
//! counts) it holds. The DC takes the CIB with the highest version
//! (`admin_epoch`, `epoch`, `num_updates`; ties keep its own), fetching it from the
//! holder when it is not its own, logs the choice, rebuilds the status section from
//! the replies (members that did not answer in time are online but not joined,
//! non-members offline), sets `have-quorum`, and sends the result to every member,
//! which persists it and acknowledges. Then it plans. Messages of older memberships
//! are ignored; a new membership restarts the round.
//!
//! # CIB updates
//!
//! An administrator's request goes from its node to the DC, which applies it to a
//! copy ([`edit`]), refuses configuration changes without quorum ("no quorum:
//! refused"), validates the candidate with the policy engine (an error is a refusal
//! with the engine's reason; nothing is committed), bumps the epoch, sends the new
//! CIB to every member, and answers only once every joined member has acknowledged
//! (persisted) it. Because a partition without quorum cannot raise the epoch, the
//! quorate side's copy wins every later join: nothing acknowledged to a quorate
//! partition is lost (any later quorate membership contains a member that has it).
//! A request whose DC changes before it answers is sent again to the next DC (the
//! edits are idempotent).
//!
//! # The transition engine
//!
//! On a join, a committed change, a cleanup, or a result nobody expected (a recurring
//! monitor reporting a change, a probe of a restarted node), the DC asks for a policy
//! run ([`Output::RunPolicy`]; at most one in flight, triggers coalesce) and executes
//! the graph: an action starts when its inputs completed, pseudo actions complete at
//! once, resource actions go to their node's LRM with Pacemaker's transition key,
//! `clear_failcount` and `lrm_delete` are done by the DC. Every result is recorded in
//! the status section with fail counts as Pacemaker's controller raises them
//! ([`status`]). An unexpected result, a timeout, a new membership or a CIB change
//! aborts the transition: nothing new starts, in-flight actions are awaited, then the
//! policy engine plans again.
//!
//! # The resource lease
//!
//! A node that no longer hears a quorum of the cluster ([`Input::Lease`]) stops every
//! resource it runs at once, without a DC, and refuses to start any until it hears a
//! quorum again *and* is a member of a quorate membership. When the silence was
//! shorter than deadtime the membership has not changed: nobody declared this node
//! dead or recovered its resources, so it simply resumes, and the stops it made are
//! ordinary status updates from which the DC plans again. When it was longer, this
//! node installed a membership without the others (not quorate) and waits for a
//! quorate one that includes it. `halod` reports the loss at `deadtime - 2 *
//! keepalive` of silence, while the quorate side declares the node dead only after
//! `deadtime` and then agrees a membership before it recovers anything: the isolated
//! node has at least `2 * keepalive` plus the membership round to stop, assuming
//! equal clock rates. Stops that take longer than that margin (a slow database) are
//! a documented risk until fencing lands.
//!
//! # Persistence
//!
//! [`persist`] defines the file format (a header with the length and SHA-256 of the
//! XML): a torn or corrupt file is detected and never loaded.

pub mod edit;
mod engine;
pub mod message;
pub mod persist;
pub mod status;
pub mod transition;
mod types;

pub use edit::{RESTART_META, apply_defaults, fencing_enabled, groups_in_scope, preferred_node};
pub use engine::{Crm, HARESOURCES_DIGEST};
pub use types::*;
