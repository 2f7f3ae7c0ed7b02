//! Packet bodies: what each packet type carries, and its byte layout.
//!
//! Every multi-byte integer is big-endian. A *name* is one length byte (1..=64) and
//! that many bytes of `[a-z0-9._-]`; an *optional name* uses length 0 for "none".
//! A decoder of version 1.x ignores bytes after the last field it knows: a later
//! minor version may append fields to a body, never change the ones before.

use std::fmt;

use halo_types::{Generation, MAX_NAME_LEN, NodeName};
use serde::Serialize;

use crate::reader::{Malformation, Reader, Writer};

/// A packet type: the first byte after the version that says how to read the body.
///
/// Types 1..=6 are defined by protocol 1.0. 7..=127 are reserved for later halo minor
/// versions (a 1.0 receiver drops and counts them as unknown, it does not fail);
/// 128..=255 are reserved for experiments and never sent by a release. 0 is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// [`Heartbeat`].
    Heartbeat = 1,
    /// [`Body::Leave`].
    Leave = 2,
    /// [`DataFragment`].
    Data = 3,
    /// [`Ack`].
    Ack = 4,
    /// [`RetransmitRequest`].
    RetransmitRequest = 5,
    /// [`Nak`].
    Nak = 6,
}

impl PacketType {
    /// The type with this code, if protocol 1.0 defines one.
    pub fn from_code(code: u8) -> Option<PacketType> {
        Some(match code {
            1 => PacketType::Heartbeat,
            2 => PacketType::Leave,
            3 => PacketType::Data,
            4 => PacketType::Ack,
            5 => PacketType::RetransmitRequest,
            6 => PacketType::Nak,
            _ => return None,
        })
    }

    /// The code on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What a node says about itself in its heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderStatus {
    /// Starting: configuration read, not yet settled.
    Init = 0,
    /// Up: heard by the cluster, still starting its services.
    Up = 1,
    /// Active: fully started.
    Active = 2,
    /// Shutting down cleanly; a [`Body::Leave`] follows.
    Leaving = 3,
}

impl SenderStatus {
    fn from_code(code: u8) -> Option<SenderStatus> {
        Some(match code {
            0 => SenderStatus::Init,
            1 => SenderStatus::Up,
            2 => SenderStatus::Active,
            3 => SenderStatus::Leaving,
            _ => return None,
        })
    }
}

/// A heartbeat: "I am alive", plus what receivers need to judge and repair.
///
/// Layout: status u8, keepalive_ms u32, deadtime_ms u32, highest_sent u64,
/// oldest_retained u64 (25 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// The sender's own status.
    pub status: SenderStatus,
    /// The sender's keepalive interval in milliseconds.
    pub keepalive_ms: u32,
    /// The sender's deadtime in milliseconds: receivers may use it, as heartbeat did,
    /// to judge this sender by its own timing rather than theirs.
    pub deadtime_ms: u32,
    /// The highest reliable-data sequence number the sender has sent in this generation
    /// (0: none yet). A receiver behind this has lost the tail of the stream and asks
    /// for it, so a lost last message is noticed within one keepalive.
    pub highest_sent: u64,
    /// The oldest data sequence number the sender still holds for retransmission
    /// (`highest_sent + 1` when it holds none). Anything older cannot be repaired;
    /// a receiver that first hears this sender starts its stream here.
    pub oldest_retained: u64,
}

/// A reliable-messaging channel: which upper layer a message belongs to.
///
/// The registry lives here because the number travels in every data fragment.
/// 0 is reserved; 1..=63 are assigned by halo (below); 64..=65535 are free for
/// clients of the local API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Channel(pub u16);

impl Channel {
    /// Administrator messages: `halo send` / `halo listen`.
    pub const USER: Channel = Channel(1);
    /// The membership protocol.
    pub const MEMBERSHIP: Channel = Channel(2);
    /// CIB replication.
    pub const CIB: Channel = Channel(3);
    /// The cluster resource manager (DC ↔ nodes: transitions, operation results).
    pub const CRM: Channel = Channel(4);
    /// Fencing requests and results.
    pub const FENCING: Channel = Channel(5);
    /// Node attributes (health and connectivity monitors).
    pub const ATTRIBUTES: Channel = Channel(6);
    /// The first channel number free for local API clients.
    pub const FIRST_CLIENT: Channel = Channel(64);

    /// The registry's name for a halo channel, if it has one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Channel::USER => "user",
            Channel::MEMBERSHIP => "membership",
            Channel::CIB => "cib",
            Channel::CRM => "crm",
            Channel::FENCING => "fencing",
            Channel::ATTRIBUTES => "attributes",
            _ => return None,
        })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{}({n})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// One fragment of a reliable message. A message of `count` fragments occupies
/// `count` consecutive data sequence numbers, fragment `index` 0 first.
///
/// Layout: seq u64, oldest_retained u64, channel u16, index u16, count u16,
/// optional dest name, payload length u32, payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataFragment {
    /// The data sequence number in the sender's stream of this generation (from 1).
    pub seq: u64,
    /// As in [`Heartbeat::oldest_retained`], current when this copy was sent.
    pub oldest_retained: u64,
    /// The one node this message is for, or `None` for every member. Everyone still
    /// sequences it, so nobody sees a gap.
    pub dest: Option<NodeName>,
    /// Which upper layer the message belongs to.
    pub channel: Channel,
    /// This fragment's place in its message, from 0.
    pub index: u16,
    /// How many fragments the message has (at least 1).
    pub count: u16,
    /// This fragment's share of the message.
    pub payload: Vec<u8>,
}

/// A cumulative acknowledgement: "of your stream in `generation`, I have everything up
/// to and including `cumulative`". Lets the sender free its retransmission buffer.
///
/// Layout: to name, generation u64, cumulative u64.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ack {
    /// The sender of the stream being acknowledged.
    pub to: NodeName,
    /// The generation of that stream: an ack for an earlier life is ignored.
    pub generation: Generation,
    /// Every sequence number up to this one has been received or skipped.
    pub cumulative: u64,
}

/// An inclusive range of data sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First number in the range.
    pub first: u64,
    /// Last number in the range (not below `first`).
    pub last: u64,
}

/// The most ranges one retransmission request may carry.
pub const MAX_RANGES: usize = 32;

/// "Please send these again." Sent by a receiver that sees a gap.
///
/// Layout: to name, generation u64, range count u8 (1..=32), then per range
/// first u64 and last u64.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetransmitRequest {
    /// The sender of the stream with the gap.
    pub to: NodeName,
    /// The generation of that stream.
    pub generation: Generation,
    /// The missing sequence numbers, at most [`MAX_RANGES`] ranges.
    pub ranges: Vec<SeqRange>,
}

/// "I cannot send these again: skip them." The sender no longer holds
/// `first..=last` (nor anything older: it frees its buffer oldest first).
///
/// Layout: to name, first u64, last u64. The stream is the packet's own sender and
/// generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nak {
    /// The node that asked.
    pub to: NodeName,
    /// First sequence number that cannot be repaired.
    pub first: u64,
    /// Last sequence number that cannot be repaired.
    pub last: u64,
}

/// What a packet carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// Periodic liveness and stream position.
    Heartbeat(Heartbeat),
    /// Clean shutdown: peers see a leave, not a death. No fields.
    Leave,
    /// A fragment of a reliable message.
    Data(DataFragment),
    /// A cumulative acknowledgement of someone's stream.
    Ack(Ack),
    /// A request to retransmit.
    RetransmitRequest(RetransmitRequest),
    /// A refusal to retransmit.
    Nak(Nak),
}

/// Why a body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A type this version does not know (perhaps from a newer minor version).
    #[error("unknown packet type {0}")]
    UnknownType(u8),
    /// The bytes do not follow the layout of the type.
    #[error("malformed body: {0}")]
    Malformed(#[from] Malformation),
}

/// Why a body cannot be encoded (a caller's mistake, reported instead of a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A retransmission request with no range or more than [`MAX_RANGES`].
    #[error("a retransmission request needs 1 to {MAX_RANGES} ranges, not {0}")]
    RangeCount(usize),
    /// A range whose last number is below its first.
    #[error("range {first}..={last} is backwards")]
    BackwardRange {
        /// First.
        first: u64,
        /// Last.
        last: u64,
    },
    /// A data fragment with a count of 0 or an index not below its count.
    #[error("fragment {index} of {count} is impossible")]
    BadFragment {
        /// Index.
        index: u16,
        /// Count.
        count: u16,
    },
    /// The packet would exceed [`crate::MAX_PACKET_LEN`].
    #[error("the packet would be {0} bytes, more than the {max} allowed", max = crate::MAX_PACKET_LEN)]
    TooLarge(usize),
}

impl Body {
    /// The packet type of this body.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Body::Heartbeat(_) => PacketType::Heartbeat,
            Body::Leave => PacketType::Leave,
            Body::Data(_) => PacketType::Data,
            Body::Ack(_) => PacketType::Ack,
            Body::RetransmitRequest(_) => PacketType::RetransmitRequest,
            Body::Nak(_) => PacketType::Nak,
        }
    }

    /// Appends the body's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut w = Writer(out);
        match self {
            Body::Heartbeat(h) => {
                w.u8(h.status as u8);
                w.u32(h.keepalive_ms);
                w.u32(h.deadtime_ms);
                w.u64(h.highest_sent);
                w.u64(h.oldest_retained);
            }
            Body::Leave => {}
            Body::Data(d) => {
                if d.count == 0 || d.index >= d.count {
                    return Err(EncodeError::BadFragment {
                        index: d.index,
                        count: d.count,
                    });
                }
                let len = u32::try_from(d.payload.len())
                    .map_err(|_| EncodeError::TooLarge(d.payload.len()))?;
                w.u64(d.seq);
                w.u64(d.oldest_retained);
                w.u16(d.channel.0);
                w.u16(d.index);
                w.u16(d.count);
                w.opt_name(d.dest.as_ref().map(NodeName::as_str));
                w.u32(len);
                w.bytes(&d.payload);
            }
            Body::Ack(a) => {
                w.name(a.to.as_str());
                w.u64(a.generation.0);
                w.u64(a.cumulative);
            }
            Body::RetransmitRequest(r) => {
                let n = r.ranges.len();
                if n == 0 || n > MAX_RANGES {
                    return Err(EncodeError::RangeCount(n));
                }
                w.name(r.to.as_str());
                w.u64(r.generation.0);
                // n <= MAX_RANGES < 256, checked above.
                w.u8(n as u8);
                for range in &r.ranges {
                    if range.last < range.first {
                        return Err(EncodeError::BackwardRange {
                            first: range.first,
                            last: range.last,
                        });
                    }
                    w.u64(range.first);
                    w.u64(range.last);
                }
            }
            Body::Nak(n) => {
                if n.last < n.first {
                    return Err(EncodeError::BackwardRange {
                        first: n.first,
                        last: n.last,
                    });
                }
                w.name(n.to.as_str());
                w.u64(n.first);
                w.u64(n.last);
            }
        }
        Ok(())
    }

    /// Decodes a body of type `code`. Bounded: it allocates at most `bytes.len()`
    /// bytes and never panics.
    pub fn decode(code: u8, bytes: &[u8]) -> Result<Body, BodyError> {
        let ty = PacketType::from_code(code).ok_or(BodyError::UnknownType(code))?;
        let mut r = Reader::new(bytes);
        let body = match ty {
            PacketType::Heartbeat => {
                let status = SenderStatus::from_code(r.u8("heartbeat status")?)
                    .ok_or(Malformation::BadValue("heartbeat status"))?;
                Body::Heartbeat(Heartbeat {
                    status,
                    keepalive_ms: r.u32("keepalive")?,
                    deadtime_ms: r.u32("deadtime")?,
                    highest_sent: r.u64("highest sent")?,
                    oldest_retained: r.u64("oldest retained")?,
                })
            }
            PacketType::Leave => Body::Leave,
            PacketType::Data => {
                let seq = r.u64("data seq")?;
                let oldest_retained = r.u64("oldest retained")?;
                let channel = Channel(r.u16("channel")?);
                let index = r.u16("fragment index")?;
                let count = r.u16("fragment count")?;
                if count == 0 || index >= count {
                    return Err(Malformation::BadValue("fragment index/count").into());
                }
                let dest = r.opt_name("destination")?;
                let len = r.u32("payload length")?;
                let payload = r.take(len as usize, "payload")?.to_vec();
                Body::Data(DataFragment {
                    seq,
                    oldest_retained,
                    dest,
                    channel,
                    index,
                    count,
                    payload,
                })
            }
            PacketType::Ack => Body::Ack(Ack {
                to: r.name("ack to")?,
                generation: Generation(r.u64("ack generation")?),
                cumulative: r.u64("ack cumulative")?,
            }),
            PacketType::RetransmitRequest => {
                let to = r.name("rexmit to")?;
                let generation = Generation(r.u64("rexmit generation")?);
                let n = usize::from(r.u8("range count")?);
                if n == 0 || n > MAX_RANGES {
                    return Err(Malformation::BadValue("range count").into());
                }
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    let first = r.u64("range first")?;
                    let last = r.u64("range last")?;
                    if last < first {
                        return Err(Malformation::BadValue("range").into());
                    }
                    ranges.push(SeqRange { first, last });
                }
                Body::RetransmitRequest(RetransmitRequest {
                    to,
                    generation,
                    ranges,
                })
            }
            PacketType::Nak => {
                let to = r.name("nak to")?;
                let first = r.u64("nak first")?;
                let last = r.u64("nak last")?;
                if last < first {
                    return Err(Malformation::BadValue("nak range").into());
                }
                Body::Nak(Nak { to, first, last })
            }
        };
        // Trailing bytes are deliberately ignored: room for later minor versions.
        Ok(body)
    }
}

/// Bytes a data body adds around its payload, at most (longest destination name).
pub const MAX_DATA_BODY_OVERHEAD: usize = 8 + 8 + 2 + 2 + 2 + 1 + MAX_NAME_LEN + 4;

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    /// A data body written field by field: fragment 0 of `count`, no destination, a
    /// payload length field of `len` and no payload bytes.
    fn raw_data_body(count: u16, len: u32) -> Vec<u8> {
        let mut raw = Vec::new();
        let mut w = Writer(&mut raw);
        w.u64(1);
        w.u64(1);
        w.u16(1);
        w.u16(0);
        w.u16(count);
        w.u8(0);
        w.u32(len);
        raw
    }

    #[test]
    fn every_defined_type_code_round_trips() {
        for code in 0..=255u8 {
            match PacketType::from_code(code) {
                Some(t) => assert_eq!(t.code(), code),
                None => assert!(code == 0 || code > 6),
            }
        }
    }

    #[test]
    fn unknown_types_are_reported_as_such() {
        assert_eq!(Body::decode(7, &[]), Err(BodyError::UnknownType(7)));
        assert_eq!(Body::decode(0, &[1, 2]), Err(BodyError::UnknownType(0)));
    }

    #[test]
    fn heartbeat_layout_is_as_documented() {
        let hb = Body::Heartbeat(Heartbeat {
            status: SenderStatus::Active,
            keepalive_ms: 0x0102_0304,
            deadtime_ms: 5,
            highest_sent: 6,
            oldest_retained: 7,
        });
        let mut out = Vec::new();
        hb.encode_into(&mut out).unwrap();
        assert_eq!(
            out,
            [
                2, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7
            ]
        );
    }

    #[test]
    fn trailing_bytes_are_ignored_for_later_minor_versions() {
        let mut out = Vec::new();
        Body::Leave.encode_into(&mut out).unwrap();
        out.extend_from_slice(b"future field");
        assert_eq!(Body::decode(2, &out), Ok(Body::Leave));
    }

    #[test]
    fn impossible_fragments_and_ranges_are_refused_both_ways() {
        let bad = Body::Data(DataFragment {
            seq: 1,
            oldest_retained: 1,
            dest: None,
            channel: Channel::USER,
            index: 2,
            count: 2,
            payload: vec![],
        });
        assert!(matches!(
            bad.encode_into(&mut Vec::new()),
            Err(EncodeError::BadFragment { .. })
        ));
        let empty = Body::RetransmitRequest(RetransmitRequest {
            to: node("a"),
            generation: Generation(1),
            ranges: vec![],
        });
        assert_eq!(
            empty.encode_into(&mut Vec::new()),
            Err(EncodeError::RangeCount(0))
        );
        // A hand-made body with count 0 is malformed on decode.
        let raw = raw_data_body(0, 0);
        assert!(matches!(
            Body::decode(3, &raw),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn payload_length_beyond_the_body_is_malformed_not_an_allocation() {
        let raw = raw_data_body(1, u32::MAX);
        assert!(matches!(
            Body::decode(3, &raw),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn channel_names() {
        assert_eq!(Channel::CIB.to_string(), "3(cib)");
        assert_eq!(Channel(100).to_string(), "100");
    }
}
