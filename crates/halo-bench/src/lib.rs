//! Benchmarks of halo on the lab, side by side with Debian's heartbeat 3.0.6 (and, for
//! failover, keepalived and Corosync + Pacemaker), and the cluster harness halod's lab
//! tests stand on.
//!
//! ```text
//!   halo-bench detect | false-deaths | footprint        halod tests (crates/halod/tests)
//!            │                                                  │
//!            ▼                                                  ▼
//!   HaloCluster / HeartbeatCluster ── config (HaCf, authkeys) ── HaloCluster
//!            │ start, kill, cut (halo-lab)          │ status, watch, `halo …`
//!            ▼                                      ▼
//!   watch: events and log lines stamped on arrival ─▶ stats: min / median / p99 / max
//!   probe: 1 datagram/ms across a cut, to time it   procstat: RSS, PSS, CPU time
//!
//!   halo-bench failover ──▶ failover: client → VIP every 10 ms, responders on the nodes
//!        │                  Stack: failover_halo, anchor_heartbeat, anchor_keepalived,
//!        │                         anchor_pacemaker (the anchors' own files)
//!        └─ --resources N ─▶ failover_bulk: one transition with N resources
//! ```
//!
//! # Inputs and outputs
//!
//! In: a [`halo_lab::Lab`] and the binaries to run (`halod` and `halo` from the build,
//! `/usr/libexec/heartbeat/heartbeat` from Debian's package). Out: figures printed by the
//! `halo-bench` command (see BENCHMARKS.md for the commands and results); for tests, a
//! [`cluster::HaloCluster`] that configures, starts, stops and observes halod on lab
//! hosts.
//!
//! # Measuring "a peer reports it dead"
//!
//! Each peer's report is read as it happens: halod's `watch` stream over its API socket,
//! heartbeat's log file followed every millisecond. Each line is stamped with
//! [`std::time::Instant`] when read ([`watch`]). Detection time runs from the moment the
//! fault took effect to the last peer's report: for a cut, the last arrival of a probe
//! stream of one datagram per millisecond across the cut ([`probe`]; the `nft` process
//! around the change takes 10–30 ms); for a kill, the start of the call that sends the
//! signal. Faults are injected after a random 0–1 s pause, so that the phase of
//! the periodic heartbeats relative to the fault is uniformly spread (without it,
//! periodic protocols give misleadingly tight figures).
//!
//! Membership convergence, of halo and of Corosync 3, is [`membership`]'s
//! (`halo-bench membership`).
//!
//! Benchmarks report; they never assert.

pub mod anchor_heartbeat;
pub mod anchor_keepalived;
pub mod anchor_pacemaker;
pub mod cluster;
pub mod config;
mod error;
pub mod failover;
pub mod failover_bulk;
pub mod failover_halo;
pub mod heartbeat;
pub mod membership;
pub mod membership_corosync;
pub mod probe;
pub mod procstat;
pub mod stats;
pub mod watch;

pub use error::{BenchError, Result, require_installed};
