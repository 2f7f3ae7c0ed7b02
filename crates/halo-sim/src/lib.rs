//! Deterministic simulation of halo's membership: many nodes' engines in one process, on
//! a simulated clock, network and failure detector, with invariants checked after every
//! step. A run is a pure function of `(nodes, seed)`: a failing seed prints itself and
//! replays exactly.
//!
//! ```text
//!            seed ──▶ scenario: start ▸ chaos phase ▸ healing phase
//!                         │ crash, restart, cut a→b, heal, partition, isolate,
//!                         │ false suspicion, flapping link, quick restart
//!                         ▼
//!  ┌───────────────────────── Sim (one event queue, ordered by time then insertion) ──┐
//!  │  network model            failure detector (real or model)  nodes                │
//!  │  reliable: per-pair FIFO, heard = peer alive ∧ link up      Engine per node,     │
//!  │   exactly once while      up: within a keepalive            10 µs per message,   │
//!  │   both alive, retried     down: deadtime after the last     one input at a time, │
//!  │   across cuts, lost when  heartbeat; restarts are a new     Tick at its          │
//!  │   a detector gives up     generation; false suspicions      next_deadline()      │
//!  │  datagram: loss, dup,                                                            │
//!  │   delay, reordering                                                              │
//!  └────────────────────────────────┬─────────────────────────────────────────────────┘
//!                                   ▼ every send, install and step
//!            invariants: agreement · monotonic ids · connected at formation ·
//!                        convergence (within a bound, to the rule's outcome, no flapping)
//! ```
//!
//! - `cargo run -p halo-sim --release -- run --nodes 5 --seed 42 --trace` replays one run
//!   and prints every event, message and install.
//! - `cargo run -p halo-sim --release -- campaign --nodes 3,5,16 --seeds 10000` runs many.
//! - `cargo run -p halo-sim --release -- bench` prints the figures of `BENCHMARKS.md`.
//!
//! The model of the messaging layer is the contract `halo-messaging` promises. The failure
//! detector is, in half the seeds and in the benchmarks, `halo-heartbeat`'s real
//! [`halo_heartbeat::Detector`] on every node, fed simulated heartbeats (every keepalive,
//! to every peer, over the same links, latencies and losses as the messages); in the other
//! half a model of it (alive within a keepalive of being heard, dead a deadtime after the
//! last heartbeat) that can also be made to suspect a live peer wrongly. Either way the
//! engine sees what `halod` will feed it: `PeerUp` with the generation heard, `PeerDown`.

pub mod bench;
pub mod campaign;
pub mod invariants;
pub mod rng;
pub mod scenario;
pub mod sim;
