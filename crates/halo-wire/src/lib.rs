//! halo's wire protocol: a versioned binary packet format, authenticated with an HMAC,
//! with a per-peer replay and generation guard. Pure: no sockets, no clocks.
//!
//! ```text
//!   sending                                   receiving
//!   ───────                                   ─────────
//!   Body ──▶ Outbound::seal ──▶ bytes ──▶ media ──▶ bytes ──▶ Inbound::receive
//!            (header, seq,                                     │ decode: framing, version,
//!             HMAC with the                                    │   cluster, key, digest,
//!             signing key)                                     │   then the body
//!                                                              │ ReplayGuard (per sender):
//!                                                              │   generation, window
//!                                                              ▼
//!                                Received::{Fresh, NewGeneration, Duplicate, Echo,
//!                                           Dropped(DropReason)}  + WireCounters
//! ```
//!
//! * [`encode`] / [`decode`] are the stateless codec; [`decode`] is check-then-parse,
//!   bounded and panic-free, and returns a typed [`DropReason`].
//! * [`Keyring`] holds the `authkeys` keys: the signing key signs, every key verifies
//!   (key rotation). Digests are compared in constant time.
//! * [`ReplayGuard`] judges each authentic packet of one peer: [`Verdict`]. Its
//!   documentation says what an attacker who replays packets can and cannot do.
//! * [`Outbound`] and [`Inbound`] bundle these for a daemon: one counter of packet
//!   sequence numbers out, one guard per peer and the [`WireCounters`] in.
//! * [`Body`] is what a packet carries: heartbeat, leave, and the reliable-messaging
//!   packets that `halo-messaging` produces and consumes.
//!
//! The [`spec`] module is the protocol's prose chapter: layout, order of checks,
//! versioning, and the security reasoning.
//!
//! `crc` authenticates nothing: with it any host that can send to the cluster's media
//! can forge any packet. It is accepted for compatibility with heartbeat's `authkeys`,
//! and [`Keyring::signs_authenticated`] lets the daemon warn loudly.

mod auth;
mod body;
mod counters;
mod endpoint;
pub mod fuzzing;
mod packet;
mod reader;
mod replay;

#[doc = include_str!("../docs/wire.md")]
pub mod spec {}

pub use auth::{Digest, Key, Keyring, KeyringError, MAX_DIGEST_LEN, compute_digest, digest_len};
pub use body::{
    Ack, Body, BodyError, Channel, DataFragment, EncodeError, Heartbeat, MAX_DATA_BODY_OVERHEAD,
    MAX_RANGES, Nak, PacketType, RetransmitRequest, SenderStatus, SeqRange,
};
pub use counters::WireCounters;
pub use endpoint::{Inbound, Outbound, Received};
pub use packet::{
    DropReason, MAGIC, MAX_DATA_OVERHEAD, MAX_HEADER_LEN, MAX_PACKET_LEN, Packet, VERSION_MAJOR,
    VERSION_MINOR, Verified, decode, encode,
};
pub use reader::Malformation;
pub use replay::{REPLAY_WINDOW, ReplayGuard, Verdict};
