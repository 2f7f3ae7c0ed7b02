//! The packet: header, body, digest. Encoding and check-then-parse decoding.

use halo_types::{ClusterName, Generation, MAX_NAME_LEN, NodeName};

use crate::auth::{Keyring, MAX_DIGEST_LEN, digest_len};
use crate::body::{Body, BodyError, EncodeError, MAX_DATA_BODY_OVERHEAD};
use crate::reader::{Malformation, Reader, Writer, parse_name};

/// The first four bytes of every halo packet.
pub const MAGIC: [u8; 4] = *b"HALO";
/// The major protocol version this crate speaks. A different major version has a
/// different layout after the version bytes; its packets are dropped and counted.
pub const VERSION_MAJOR: u8 = 1;
/// The minor protocol version this crate sends. Minor versions only add packet types
/// and append body fields; any 1.x receiver reads any 1.y header.
pub const VERSION_MINOR: u8 = 0;

/// The largest packet: the largest UDP payload over IPv4 (65535 − 20 − 8).
pub const MAX_PACKET_LEN: usize = 65_507;

/// Header bytes before the cluster name: magic, major, minor, type, key index,
/// generation, sequence.
const FIXED_LEN: usize = 4 + 1 + 1 + 1 + 2 + 8 + 8;
/// The longest header: fixed part, two names with their length bytes, body length.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + 2 * (1 + MAX_NAME_LEN) + 4;
/// Everything a data packet adds around its payload, at most: the header, the data
/// body's fields, the longest digest. A fragment payload of
/// `MTU − IP header − UDP header − MAX_DATA_OVERHEAD` bytes always fits one datagram.
pub const MAX_DATA_OVERHEAD: usize = MAX_HEADER_LEN + MAX_DATA_BODY_OVERHEAD + MAX_DIGEST_LEN;

/// A packet as the program sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The cluster it belongs to.
    pub cluster: ClusterName,
    /// The node that sent it.
    pub sender: NodeName,
    /// The sender's generation (incremented by its daemon on every start).
    pub generation: Generation,
    /// The sender's packet counter within the generation: every packet, of every type,
    /// gets the next number. The replay guard works on it.
    pub seq: u64,
    /// What it carries.
    pub body: Body,
}

/// A packet that passed every check of [`decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The packet.
    pub packet: Packet,
    /// The index of the key that signed it: during a key rotation this tells which
    /// nodes still sign with the old key.
    pub key_index: u16,
    /// The sender's minor protocol version.
    pub minor_version: u8,
}

/// Why a received packet is dropped. Every reason has its own counter
/// ([`crate::WireCounters`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Not a well-formed packet (including "not a halo packet at all").
    #[error("malformed packet: {0}")]
    Malformed(Malformation),
    /// A major version we do not speak.
    #[error("unsupported protocol version {major}.{minor}")]
    UnsupportedVersion {
        /// Its major version.
        major: u8,
        /// Its minor version.
        minor: u8,
    },
    /// A packet of another cluster sharing the network.
    #[error("packet of another cluster")]
    OtherCluster,
    /// Signed with a key index our `authkeys` does not list.
    #[error("unknown key index {0}")]
    UnknownKeyIndex(u16),
    /// The digest does not match: forged, corrupted, or signed with another secret.
    #[error("bad digest")]
    BadDigest,
    /// Authentic, but of a type we do not know (a newer minor version's).
    #[error("unknown packet type {0}")]
    UnknownType(u8),
    /// Authentic, but older than the replay window of its sender.
    #[error("replayed packet (older than the replay window)")]
    Replay,
    /// Authentic, but from an earlier life (generation) of its sender.
    #[error("packet of a stale generation")]
    StaleGeneration,
}

/// Encodes and signs `packet` with the keyring's signing key.
pub fn encode(packet: &Packet, keyring: &Keyring) -> Result<Vec<u8>, EncodeError> {
    encode_parts(
        &packet.cluster,
        &packet.sender,
        packet.generation,
        packet.seq,
        &packet.body,
        keyring,
    )
}

/// [`encode`] without building a [`Packet`].
pub(crate) fn encode_parts(
    cluster: &ClusterName,
    sender: &NodeName,
    generation: Generation,
    seq: u64,
    body: &Body,
    keyring: &Keyring,
) -> Result<Vec<u8>, EncodeError> {
    let key = keyring.signing_key();
    let mut out = Vec::with_capacity(MAX_HEADER_LEN + 64);
    let mut w = Writer(&mut out);
    w.bytes(&MAGIC);
    w.u8(VERSION_MAJOR);
    w.u8(VERSION_MINOR);
    w.u8(body.packet_type().code());
    w.u16(key.index());
    w.u64(generation.0);
    w.u64(seq);
    w.name(cluster.as_str());
    w.name(sender.as_str());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_at = out.len();
    body.encode_into(&mut out)?;
    let body_len = out.len() - body_at;
    let total = out.len() + digest_len(key.method());
    if total > MAX_PACKET_LEN {
        return Err(EncodeError::TooLarge(total));
    }
    // body_len < MAX_PACKET_LEN < 2^32, checked just above.
    out[len_at..body_at].copy_from_slice(&(body_len as u32).to_be_bytes());
    let digest = key.digest(&out);
    out.extend_from_slice(digest.as_bytes());
    Ok(out)
}

/// Checks and parses a received datagram.
///
/// Check first, parse second: the framing is read with bounds checks, then the
/// version, the cluster name and the digest are checked, and only an authentic packet's
/// body is parsed. Nothing here panics, and nothing allocates more than the input's
/// size. See the crate documentation for the order of checks and why.
pub fn decode(
    bytes: &[u8],
    keyring: &Keyring,
    cluster: &ClusterName,
) -> Result<Verified, DropReason> {
    use DropReason::Malformed as M;
    if bytes.len() > MAX_PACKET_LEN {
        return Err(M(Malformation::TooLong));
    }
    if bytes.len() < MAGIC.len() {
        return Err(M(Malformation::TooShort));
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(M(Malformation::BadMagic));
    }
    let mut r = Reader::new(bytes);
    r.take(MAGIC.len(), "magic").map_err(M)?;
    let major = r.u8("version").map_err(|_| M(Malformation::TooShort))?;
    let minor = r.u8("version").map_err(|_| M(Malformation::TooShort))?;
    if major != VERSION_MAJOR {
        return Err(DropReason::UnsupportedVersion { major, minor });
    }
    let ty = r.u8("packet type").map_err(M)?;
    let key_index = r.u16("key index").map_err(M)?;
    let generation = Generation(r.u64("generation").map_err(M)?);
    let seq = r.u64("sequence").map_err(M)?;
    let cluster_bytes = r.name_bytes("cluster name").map_err(M)?;
    let sender_bytes = r.name_bytes("sender name").map_err(M)?;
    let body_len = r.u32("body length").map_err(M)? as usize;
    let body = r.take(body_len, "body").map_err(M)?;
    let signed_len = r.position();
    let trailer = &bytes[signed_len..];

    // The cluster name is checked before the digest although it is not yet
    // authenticated: a foreign cluster's packet would fail the digest anyway, and
    // "other cluster" tells the administrator what is really going on.
    if cluster_bytes != cluster.as_str().as_bytes() {
        return Err(DropReason::OtherCluster);
    }
    let key = keyring
        .key(key_index)
        .ok_or(DropReason::UnknownKeyIndex(key_index))?;
    if !key.digest(&bytes[..signed_len]).ct_eq(trailer) {
        return Err(DropReason::BadDigest);
    }

    // Authentic from here on.
    let sender = parse_name(sender_bytes, "sender name").map_err(M)?;
    let body = Body::decode(ty, body).map_err(|e| match e {
        BodyError::UnknownType(t) => DropReason::UnknownType(t),
        BodyError::Malformed(m) => M(m),
    })?;
    Ok(Verified {
        packet: Packet {
            cluster: cluster.clone(),
            sender,
            generation,
            seq,
            body,
        },
        key_index,
        minor_version: minor,
    })
}
