//! The messages CRMs exchange (JSON; CIB contents as the CIB's XML).
//!
//! Every message but [`Message::UpdateResult`] carries the id of the membership its
//! sender had installed. A receiver drops messages of older memberships, and keeps
//! messages of a newer one until it installs that membership itself (the membership
//! layer installs a membership on the nodes at slightly different times).
//!
//! ```text
//!  member                          DC (smallest name of the membership)
//!    │ JoinAnnounce ──────────────▶ │  (only after a restart inside one membership)
//!    │ ◀────────────── JoinRequest  │
//!    │ JoinReply ─────────────────▶ │  version, haresources digest, own node state
//!    │ ◀────────────────  CibFetch  │  (to the holder of the highest version)
//!    │ CibFull ───────────────────▶ │
//!    │ ◀──────────────  CibReplace  │  chosen CIB with the rebuilt status
//!    │ CibAck ────────────────────▶ │  after persisting
//!    │ Update ────────────────────▶ │  an administrator's change
//!    │ ◀──────────────── CibCommit  │  the changed CIB, to every member
//!    │ CibAck ────────────────────▶ │  → UpdateResult to the origin once all acked
//!    │ ◀────────────────── ExecOp   │  transition actions for this node's LRM
//!    │ OpResult ──────────────────▶ │  every result of this node's LRM
//!    │ ◀──────────── StatusUpdate   │  the recorded result, to every member
//!    │ ShuttingDown ──────────────▶ │  SIGTERM: `shutdown` attribute, move away
//! ```

use halo_cib::Version;
use serde::{Deserialize, Serialize};

use crate::types::{ClientRequest, LrmOp, OpOutcome};

/// The protocol version this engine speaks; a message of another is dropped.
pub const PROTOCOL: u32 = 1;

/// Encoded messages longer than this are deflated (a whole CIB of 1,000 resources is
/// about 3 MB of XML and some 150 kB deflated, well inside the messaging layer's
/// message size limit).
pub const DEFLATE_ABOVE: usize = 16 * 1024;

/// The most bytes a deflated message may inflate to: a corrupt or hostile message
/// cannot make a node allocate more.
pub const MAX_INFLATED: usize = 256 << 20;

/// First byte of a deflated message (a JSON message starts with `{`).
const DEFLATED: u8 = b'Z';

/// A CIB version on the wire: `[admin_epoch, epoch, num_updates]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireVersion(pub u64, pub u64, pub u64);

impl From<Version> for WireVersion {
    fn from(v: Version) -> Self {
        WireVersion(v.admin_epoch, v.epoch, v.num_updates)
    }
}

impl From<WireVersion> for Version {
    fn from(v: WireVersion) -> Self {
        Version::new(v.0, v.1, v.2)
    }
}

/// A message between CRMs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "m", rename_all = "snake_case")]
pub enum Message {
    /// A member that has not joined the DC's round asks for one (it restarted).
    JoinAnnounce {
        /// Membership id.
        mid: u64,
    },
    /// The DC opens a join round.
    JoinRequest {
        /// Membership id.
        mid: u64,
        /// Round within the membership.
        round: u32,
    },
    /// A member's answer: its CIB version and its own state.
    JoinReply {
        /// Membership id.
        mid: u64,
        /// Round.
        round: u32,
        /// The member's CIB version.
        version: WireVersion,
        /// Digest of its `haresources`, if it has one.
        haresources: Option<String>,
        /// Its own `node_state` (LRM history incl. operations in flight, transient
        /// attributes), as XML.
        node_state: String,
    },
    /// The DC asks the holder of the highest version for its CIB.
    CibFetch {
        /// Membership id.
        mid: u64,
        /// Round.
        round: u32,
    },
    /// The answer to [`Message::CibFetch`].
    CibFull {
        /// Membership id.
        mid: u64,
        /// Round.
        round: u32,
        /// The CIB.
        cib: String,
    },
    /// The DC's CIB for the membership (after a join round or on request).
    CibReplace {
        /// Membership id.
        mid: u64,
        /// The CIB.
        cib: String,
    },
    /// A committed configuration change: the new CIB without its status section (the
    /// members keep theirs, which status updates keep current).
    CibCommit {
        /// Membership id.
        mid: u64,
        /// The CIB.
        cib: String,
    },
    /// A member has (persisted) this version.
    CibAck {
        /// Membership id.
        mid: u64,
        /// The version.
        version: WireVersion,
    },
    /// A member's copy is not at the version a status update applies to.
    CibWanted {
        /// Membership id.
        mid: u64,
    },
    /// A status change recorded by the DC.
    StatusUpdate {
        /// Membership id.
        mid: u64,
        /// Version it applies to.
        from: WireVersion,
        /// Version after it.
        to: WireVersion,
        /// The node whose state changed.
        node: String,
        /// Resource histories to replace (XML of each `lrm_resource`).
        resources: Vec<String>,
        /// Resource histories to remove.
        removed: Vec<String>,
        /// Transient attributes to set (`Some`) or remove (`None`).
        attrs: Vec<(String, Option<String>)>,
    },
    /// An administrator's request, to the DC.
    Update {
        /// Membership id.
        mid: u64,
        /// The origin's request number.
        req: u64,
        /// The request.
        request: ClientRequest,
    },
    /// The DC's answer to [`Message::Update`], once every member has the change.
    UpdateResult {
        /// The origin's request number.
        req: u64,
        /// Message or reason.
        result: Result<String, String>,
    },
    /// A transition action for the receiver's LRM.
    ExecOp {
        /// Membership id.
        mid: u64,
        /// The operation.
        op: LrmOp,
    },
    /// Cancel a recurring operation.
    CancelOp {
        /// Membership id.
        mid: u64,
        /// The resource.
        resource: String,
        /// The action.
        action: String,
        /// The interval.
        interval_ms: u64,
    },
    /// Forget a resource's history (cleanup, `lrm_delete`).
    Forget {
        /// Membership id.
        mid: u64,
        /// The resource.
        resource: String,
    },
    /// A result of the sender's LRM with the resource's history after it.
    OpResult {
        /// Membership id.
        mid: u64,
        /// The result.
        outcome: OpOutcome,
        /// The `lrm_resource` as XML (empty for refused operations: nothing ran).
        history: String,
    },
    /// The sender regained its resource lease.
    LeaseRegained {
        /// Membership id.
        mid: u64,
    },
    /// The sender is shutting down: the DC sets its `shutdown` attribute, so its
    /// resources move elsewhere.
    ShuttingDown {
        /// Membership id.
        mid: u64,
        /// Seconds since the Unix epoch.
        epoch_secs: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u32,
    #[serde(flatten)]
    msg: Message,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

impl Message {
    /// The membership id the message belongs to (`None`: any).
    pub fn mid(&self) -> Option<u64> {
        match self {
            Message::JoinAnnounce { mid }
            | Message::JoinRequest { mid, .. }
            | Message::JoinReply { mid, .. }
            | Message::CibFetch { mid, .. }
            | Message::CibFull { mid, .. }
            | Message::CibReplace { mid, .. }
            | Message::CibCommit { mid, .. }
            | Message::CibAck { mid, .. }
            | Message::CibWanted { mid }
            | Message::StatusUpdate { mid, .. }
            | Message::Update { mid, .. }
            | Message::ExecOp { mid, .. }
            | Message::CancelOp { mid, .. }
            | Message::Forget { mid, .. }
            | Message::OpResult { mid, .. }
            | Message::LeaseRegained { mid }
            | Message::ShuttingDown { mid, .. } => Some(*mid),
            Message::UpdateResult { .. } => None,
        }
    }

    /// The encoded message: JSON, deflated when long.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising these types cannot fail: no maps with non-string keys, no
        // foreign Serialize implementations.
        let json = serde_json::to_vec(&Envelope {
            v: PROTOCOL,
            msg: self.clone(),
        })
        .unwrap_or_default();
        if json.len() <= DEFLATE_ABOVE {
            return json;
        }
        let mut out = vec![DEFLATED];
        out.extend(miniz_oxide::deflate::compress_to_vec(&json, 1));
        out
    }

    /// Decodes a message; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Message, String> {
        if bytes.first() == Some(&DEFLATED) {
            let json =
                miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes[1..], MAX_INFLATED)
                    .map_err(|e| format!("deflated CRM message does not inflate: {e:?}"))?;
            return Self::decode_json(&json);
        }
        Self::decode_json(bytes)
    }

    fn decode_json(bytes: &[u8]) -> Result<Message, String> {
        let v: VersionOnly =
            serde_json::from_slice(bytes).map_err(|e| format!("not a CRM message: {e}"))?;
        if v.v != PROTOCOL {
            return Err(format!(
                "protocol version {}, this node speaks {PROTOCOL}",
                v.v
            ));
        }
        let e: Envelope =
            serde_json::from_slice(bytes).map_err(|e| format!("malformed CRM message: {e}"))?;
        Ok(e.msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_version() {
        let m = Message::StatusUpdate {
            mid: 4,
            from: WireVersion(0, 3, 9),
            to: WireVersion(0, 3, 10),
            node: "a".into(),
            resources: vec!["<cib/>".into()],
            removed: vec![],
            attrs: vec![("fail-count-ip#start_0".into(), Some("INFINITY".into()))],
        };
        let bytes = m.encode();
        assert!(bytes.starts_with(b"{\"v\":1,\"m\":\"status_update\""));
        assert_eq!(Message::decode(&bytes), Ok(m));
        let r = Message::UpdateResult {
            req: 3,
            result: Err("no quorum".into()),
        };
        assert_eq!(Message::decode(&r.encode()), Ok(r.clone()));
        assert_eq!(r.mid(), None);
    }

    #[test]
    fn long_messages_are_deflated() {
        let cib = format!("<cib>{}</cib>", "<x a=\"1\"/>".repeat(10_000));
        let m = Message::CibReplace { mid: 1, cib };
        let bytes = m.encode();
        assert_eq!(bytes[0], b'Z');
        assert!(bytes.len() < 5_000, "{}", bytes.len());
        assert_eq!(Message::decode(&bytes), Ok(m));
        let mut bad = bytes.clone();
        bad.truncate(20);
        assert!(
            Message::decode(&bad)
                .expect_err("truncated")
                .contains("inflate")
        );
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let err = Message::decode(br#"{"v":2,"m":"join_announce","mid":1}"#).expect_err("v2");
        assert!(err.contains("protocol version 2"), "{err}");
        assert!(Message::decode(b"\x00\x01").is_err());
        let err = Message::decode(br#"{"v":1,"m":"no_such"}"#).expect_err("unknown");
        assert!(err.contains("malformed"), "{err}");
    }
}
