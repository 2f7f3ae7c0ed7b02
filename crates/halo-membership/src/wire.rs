//! The membership protocol's messages and their binary encoding.
//!
//! These travel as the payload of reliable messages on the membership channel of
//! `halo-messaging`, which authenticates them and names the sender; this layer adds its
//! own version byte so the format can change without confusing an older node.
//!
//! ```text
//! message  = version:u8 (=1)  kind:u8  table  sender:idx  body
//! table    = count:varint  { name_len:u8  name:bytes  generation:varint }   sorted, unique
//! idx      = varint index into the table (every incarnation named in the message)
//! id       = seq:varint  coordinator:idx
//!
//! kind 1 Gossip   mode:u8  count:varint { node:idx  version:varint  hears:bitset
//!                                         digest:u64le  has_installed:u8 [id] }
//! kind 2 Propose  id  count:varint { member:idx }          strictly increasing
//! kind 3 Accept   id
//! kind 4 Reject   id  reason:u8  promised:varint
//! kind 5 Commit   id
//! bitset   = ceil(table count / 8) bytes, bit i of byte i/8 = table entry i
//! varint   = unsigned LEB128, at most 10 bytes
//! ```
//!
//! Decoding checks everything before using it: lengths against the bytes left, indices
//! against the table, names against the rules of [`NodeName`], no trailing bytes. Bad
//! input is a [`DecodeError`], never a panic.

use std::collections::BTreeMap;

use halo_types::{Generation, NameError, NodeName};

use crate::types::{Member, MembershipId};

/// The format version this code writes and reads.
pub const VERSION: u8 = 1;

/// Most incarnations one message may name. Bounds what a malformed message can make a
/// receiver allocate; far above any real cluster.
pub const MAX_TABLE: usize = 4096;

/// One node's view as gossiped: whom it hears, what it computed, what it installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Whose view this is.
    pub node: Member,
    /// Grows with every change of the view within one incarnation; with the generation it
    /// orders views of the same node (newer generation first, then higher version).
    pub version: u64,
    /// The incarnations this node's failure detector says are alive, sorted.
    pub hears: Vec<Member>,
    /// A digest of the partition this node computed for its connected component: equal
    /// digests mean the nodes agree on who goes with whom.
    pub digest: u64,
    /// The membership this node has installed.
    pub installed: Option<MembershipId>,
}

impl Entry {
    /// Whether this entry is newer than `other` (which must be about the same node name).
    pub fn newer_than(&self, other: &Entry) -> bool {
        (self.node.generation, self.version) > (other.node.generation, other.version)
    }
}

/// What a gossip message asks of its receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipMode {
    /// News: merge the entries, relay what needs relaying. No answer.
    Delta = 0,
    /// The sender's whole table (anti-entropy): merge, and answer the sender with every
    /// entry you know in a newer version, and always your own.
    Full = 1,
    /// The sender just started hearing you: merge, and answer with your own entry, which
    /// tells it that you hear it (or not) as of now.
    Hello = 2,
}

/// Why a member refused a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// It already promised or installed this sequence number or a higher one.
    SeqTooLow,
    /// The proposed members are not the membership it computes for itself.
    NotTarget,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Views: the sender's own when it changes, others' when relayed; see [`GossipMode`].
    Gossip {
        /// What the receiver is asked to do with it.
        mode: GossipMode,
        /// The entries.
        entries: Vec<Entry>,
    },
    /// Phase 1: the coordinator proposes `members` under `id`.
    Propose {
        /// The proposed membership's id.
        id: MembershipId,
        /// The proposed members, sorted.
        members: Vec<Member>,
    },
    /// Phase 1 answer: the sender promises `id`.
    Accept {
        /// The accepted proposal.
        id: MembershipId,
    },
    /// Phase 1 answer: the sender refuses `id`.
    Reject {
        /// The refused proposal.
        id: MembershipId,
        /// Why.
        reason: RejectReason,
        /// The highest sequence number the sender has promised or installed.
        promised: u64,
    },
    /// Phase 2: everyone accepted; install `id`.
    Commit {
        /// The committed proposal.
        id: MembershipId,
    },
}

/// A membership protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The incarnation that sent it.
    pub sender: Member,
    /// What it says.
    pub body: Body,
}

/// Why bytes are not a membership message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message ends in the middle of a field.
    #[error("message truncated while reading {0}")]
    Truncated(&'static str),
    /// A format version this code does not speak.
    #[error("unsupported membership message version {0} (this node speaks {VERSION})")]
    Version(u8),
    /// An unknown message kind.
    #[error("unknown membership message kind {0}")]
    Kind(u8),
    /// A varint longer than 64 bits.
    #[error("number too large in {0}")]
    Overflow(&'static str),
    /// A count larger than the message could hold or than [`MAX_TABLE`].
    #[error("{what} count {count} is too large")]
    Count {
        /// Which count.
        what: &'static str,
        /// Its value.
        count: u64,
    },
    /// A node name that is not valid.
    #[error("bad node name: {0}")]
    Name(#[from] NameError),
    /// A name that is not valid UTF-8.
    #[error("node name is not UTF-8")]
    Utf8,
    /// An index pointing outside the table.
    #[error("{0} refers to incarnation {1}, beyond the table")]
    Index(&'static str, u64),
    /// The table is not sorted or holds an incarnation twice, or a list repeats one.
    #[error("{0} is not strictly increasing")]
    Order(&'static str),
    /// A flag byte other than 0 or 1, or an unknown reason code.
    #[error("bad value {1} for {0}")]
    Value(&'static str, u8),
    /// Bytes after the end of the message.
    #[error("{0} unexpected bytes after the message")]
    Trailing(usize),
}

const KIND_GOSSIP: u8 = 1;
const KIND_PROPOSE: u8 = 2;
const KIND_ACCEPT: u8 = 3;
const KIND_REJECT: u8 = 4;
const KIND_COMMIT: u8 = 5;

impl Message {
    /// The incarnations the message names, sorted and unique: its table.
    fn table(&self) -> BTreeMap<&Member, usize> {
        let mut t: BTreeMap<&Member, usize> = BTreeMap::new();
        t.insert(&self.sender, 0);
        match &self.body {
            Body::Gossip { entries, .. } => {
                for e in entries {
                    t.insert(&e.node, 0);
                    for h in &e.hears {
                        t.insert(h, 0);
                    }
                    if let Some(id) = &e.installed {
                        t.insert(&id.coordinator, 0);
                    }
                }
            }
            Body::Propose { id, members } => {
                t.insert(&id.coordinator, 0);
                for m in members {
                    t.insert(m, 0);
                }
            }
            Body::Accept { id } | Body::Reject { id, .. } | Body::Commit { id } => {
                t.insert(&id.coordinator, 0);
            }
        }
        for (i, v) in t.values_mut().enumerate() {
            *v = i;
        }
        t
    }

    /// The message as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let table = self.table();
        let idx = |m: &Member| table.get(m).copied().unwrap_or(0) as u64;
        let mut w = Vec::with_capacity(64 + table.len() * 16);
        w.push(VERSION);
        w.push(match self.body {
            Body::Gossip { .. } => KIND_GOSSIP,
            Body::Propose { .. } => KIND_PROPOSE,
            Body::Accept { .. } => KIND_ACCEPT,
            Body::Reject { .. } => KIND_REJECT,
            Body::Commit { .. } => KIND_COMMIT,
        });
        put_varint(&mut w, table.len() as u64);
        for m in table.keys() {
            let name = m.name.as_str().as_bytes();
            // Names are at most MAX_NAME_LEN (64) bytes: the length fits in a byte.
            w.push(name.len() as u8);
            w.extend_from_slice(name);
            put_varint(&mut w, m.generation.0);
        }
        put_varint(&mut w, idx(&self.sender));
        let put_id = |w: &mut Vec<u8>, id: &MembershipId| {
            put_varint(w, id.seq);
            put_varint(w, idx(&id.coordinator));
        };
        match &self.body {
            Body::Gossip { mode, entries } => {
                w.push(*mode as u8);
                put_varint(&mut w, entries.len() as u64);
                let bytes = table.len().div_ceil(8);
                for e in entries {
                    put_varint(&mut w, idx(&e.node));
                    put_varint(&mut w, e.version);
                    let mut bits = vec![0u8; bytes];
                    for h in &e.hears {
                        let i = idx(h) as usize;
                        bits[i / 8] |= 1 << (i % 8);
                    }
                    w.extend_from_slice(&bits);
                    w.extend_from_slice(&e.digest.to_le_bytes());
                    match &e.installed {
                        None => w.push(0),
                        Some(id) => {
                            w.push(1);
                            put_id(&mut w, id);
                        }
                    }
                }
            }
            Body::Propose { id, members } => {
                put_id(&mut w, id);
                put_varint(&mut w, members.len() as u64);
                for m in members {
                    put_varint(&mut w, idx(m));
                }
            }
            Body::Accept { id } | Body::Commit { id } => put_id(&mut w, id),
            Body::Reject {
                id,
                reason,
                promised,
            } => {
                put_id(&mut w, id);
                w.push(match reason {
                    RejectReason::SeqTooLow => 1,
                    RejectReason::NotTarget => 2,
                });
                put_varint(&mut w, *promised);
            }
        }
        w
    }

    /// Parses `bytes`, checking every field.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader { buf: bytes };
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let kind = r.u8("kind")?;
        if !(KIND_GOSSIP..=KIND_COMMIT).contains(&kind) {
            return Err(DecodeError::Kind(kind));
        }
        // Each table row takes at least 2 bytes.
        let n = r.count("table", 2)?;
        let mut table: Vec<Member> = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u8("name length")? as usize;
            let raw = r.bytes(len, "name")?;
            let s = std::str::from_utf8(raw).map_err(|_| DecodeError::Utf8)?;
            let name = NodeName::new(s)?;
            if name.as_str() != s {
                // Names travel lower-cased; anything else is not what we wrote.
                return Err(DecodeError::Order("table"));
            }
            let generation = Generation(r.varint("generation")?);
            let m = Member { name, generation };
            if table.last().is_some_and(|last| *last >= m) {
                return Err(DecodeError::Order("table"));
            }
            table.push(m);
        }
        let member = |r: &mut Reader<'_>, what: &'static str| -> Result<Member, DecodeError> {
            let i = r.varint(what)?;
            usize::try_from(i)
                .ok()
                .and_then(|i| table.get(i))
                .cloned()
                .ok_or(DecodeError::Index(what, i))
        };
        let id = |r: &mut Reader<'_>| -> Result<MembershipId, DecodeError> {
            let seq = r.varint("seq")?;
            let coordinator = member(r, "coordinator")?;
            Ok(MembershipId { seq, coordinator })
        };
        let sender = member(&mut r, "sender")?;
        let body = match kind {
            KIND_GOSSIP => {
                let mode = match r.u8("mode")? {
                    0 => GossipMode::Delta,
                    1 => GossipMode::Full,
                    2 => GossipMode::Hello,
                    v => return Err(DecodeError::Value("mode", v)),
                };
                let bits = table.len().div_ceil(8);
                // node + version + bitset + digest + flag
                let count = r.count("entries", 3 + bits + 8)?;
                let mut entries = Vec::with_capacity(count);
                let mut prev: Option<usize> = None;
                for _ in 0..count {
                    let ni = r.varint("entry node")?;
                    let ni = usize::try_from(ni)
                        .ok()
                        .filter(|&i| i < table.len())
                        .ok_or(DecodeError::Index("entry node", ni))?;
                    if prev.is_some_and(|p| p >= ni) {
                        return Err(DecodeError::Order("entries"));
                    }
                    prev = Some(ni);
                    let version = r.varint("version")?;
                    let raw = r.bytes(bits, "hears")?;
                    let mut hears = Vec::new();
                    for (i, m) in table.iter().enumerate() {
                        if raw[i / 8] & (1 << (i % 8)) != 0 {
                            hears.push(m.clone());
                        }
                    }
                    // Bits beyond the table must be clear.
                    if let Some(&last) = raw.last() {
                        let used = table.len() - (bits - 1) * 8;
                        if used < 8 && last >> used != 0 {
                            return Err(DecodeError::Index("hears", (bits * 8) as u64));
                        }
                    }
                    let digest = u64::from_le_bytes(
                        r.bytes(8, "digest")?
                            .try_into()
                            .map_err(|_| DecodeError::Truncated("digest"))?,
                    );
                    let installed = if r.flag("installed")? {
                        Some(id(&mut r)?)
                    } else {
                        None
                    };
                    entries.push(Entry {
                        node: table[ni].clone(),
                        version,
                        hears,
                        digest,
                        installed,
                    });
                }
                Body::Gossip { mode, entries }
            }
            KIND_PROPOSE => {
                let id = id(&mut r)?;
                let count = r.count("members", 1)?;
                let mut members: Vec<Member> = Vec::with_capacity(count);
                for _ in 0..count {
                    let m = member(&mut r, "member")?;
                    if members.last().is_some_and(|last| *last >= m) {
                        return Err(DecodeError::Order("members"));
                    }
                    members.push(m);
                }
                Body::Propose { id, members }
            }
            KIND_ACCEPT => Body::Accept { id: id(&mut r)? },
            KIND_REJECT => {
                let id = id(&mut r)?;
                let reason = match r.u8("reason")? {
                    1 => RejectReason::SeqTooLow,
                    2 => RejectReason::NotTarget,
                    v => return Err(DecodeError::Value("reason", v)),
                };
                let promised = r.varint("promised")?;
                Body::Reject {
                    id,
                    reason,
                    promised,
                }
            }
            _ => Body::Commit { id: id(&mut r)? },
        };
        if !r.buf.is_empty() {
            return Err(DecodeError::Trailing(r.buf.len()));
        }
        Ok(Message { sender, body })
    }
}

fn put_varint(w: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            w.push(b);
            return;
        }
        w.push(b | 0x80);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(DecodeError::Truncated(what))?;
        self.buf = rest;
        Ok(b)
    }

    fn flag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::Value(what, v)),
        }
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.u8(what)?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError::Overflow(what));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Overflow(what))
    }

    /// A count of items that each take at least `min_size` bytes: refused if the rest of
    /// the message could not hold them, so a forged count cannot make us allocate.
    fn count(&mut self, what: &'static str, min_size: usize) -> Result<usize, DecodeError> {
        let c = self.varint(what)?;
        let fits = usize::try_from(c)
            .ok()
            .filter(|&c| c <= MAX_TABLE && c.saturating_mul(min_size.max(1)) <= self.buf.len());
        fits.ok_or(DecodeError::Count { what, count: c })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, g: u64) -> Member {
        Member::new(NodeName::new(name).unwrap(), Generation(g))
    }

    fn samples() -> Vec<Message> {
        let id = MembershipId {
            seq: 300,
            coordinator: m("alpha", 7),
        };
        vec![
            Message {
                sender: m("beta", 1 << 40),
                body: Body::Gossip {
                    mode: GossipMode::Full,
                    entries: vec![
                        Entry {
                            node: m("alpha", 7),
                            version: 3,
                            hears: vec![m("beta", 1 << 40), m("gamma", 2)],
                            digest: 0xdead_beef_0102_0304,
                            installed: Some(id.clone()),
                        },
                        Entry {
                            node: m("zeta", 1),
                            version: 0,
                            hears: vec![],
                            digest: 0,
                            installed: None,
                        },
                    ],
                },
            },
            Message {
                sender: m("alpha", 7),
                body: Body::Propose {
                    id: id.clone(),
                    members: vec![m("alpha", 7), m("beta", 1 << 40)],
                },
            },
            Message {
                sender: m("beta", 9),
                body: Body::Accept { id: id.clone() },
            },
            Message {
                sender: m("beta", 9),
                body: Body::Reject {
                    id: id.clone(),
                    reason: RejectReason::NotTarget,
                    promised: u64::MAX,
                },
            },
            Message {
                sender: m("alpha", 7),
                body: Body::Commit { id },
            },
        ]
    }

    #[test]
    fn messages_round_trip() {
        for msg in samples() {
            let bytes = msg.encode();
            assert_eq!(Message::decode(&bytes), Ok(msg));
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for msg in samples() {
            let bytes = msg.encode();
            for n in 0..bytes.len() {
                assert!(Message::decode(&bytes[..n]).is_err(), "{msg:?} cut at {n}");
            }
        }
    }

    #[test]
    fn trailing_bytes_and_wrong_versions_are_refused() {
        let mut bytes = samples()[2].encode();
        bytes.push(0);
        assert_eq!(Message::decode(&bytes), Err(DecodeError::Trailing(1)));
        let mut bytes = samples()[2].encode();
        bytes[0] = 2;
        assert_eq!(Message::decode(&bytes), Err(DecodeError::Version(2)));
        bytes[0] = 1;
        bytes[1] = 9;
        assert_eq!(Message::decode(&bytes), Err(DecodeError::Kind(9)));
    }

    #[test]
    fn a_huge_count_is_refused_without_allocating() {
        // version, kind, table count = 2^60
        let bytes = [1, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::Count { what: "table", .. })
        ));
    }

    #[test]
    fn out_of_range_indices_are_refused() {
        // Accept with a one-row table whose sender index is 5.
        let mut w = vec![1, KIND_ACCEPT, 1, 1, b'a', 0, 5];
        assert_eq!(Message::decode(&w), Err(DecodeError::Index("sender", 5)));
        w[6] = 0;
        w.extend_from_slice(&[3, 1]); // seq 3, coordinator index 1
        assert_eq!(
            Message::decode(&w),
            Err(DecodeError::Index("coordinator", 1))
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let _ = Message::decode(&bytes);
            }

            #[test]
            fn mutated_messages_never_panic(i in 0usize..5, pos in any::<usize>(), byte in any::<u8>()) {
                let mut bytes = samples()[i].encode();
                let p = pos % bytes.len();
                bytes[p] = byte;
                if let Ok(msg) = Message::decode(&bytes) {
                    // Whatever decodes survives a round trip unchanged.
                    prop_assert_eq!(Message::decode(&msg.encode()), Ok(msg));
                }
            }
        }
    }
}
