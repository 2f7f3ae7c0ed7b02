//! Entry points shared by the cargo-fuzz targets (`fuzz/`, nightly) and the stable test
//! that replays their corpus (`tests/fuzz_corpus.rs`), so both exercise the same code.
//!
//! Each takes arbitrary bytes, must never panic, and checks an invariant on success.

use halo_types::{AuthMethod, ClusterName, Generation, NodeName};

use crate::auth::Keyring;
use crate::body::{
    Ack, Body, Channel, DataFragment, Heartbeat, Nak, RetransmitRequest, SenderStatus, SeqRange,
};
use crate::packet::{Packet, Verified, decode, encode};

/// The cluster name the fuzz keyrings expect.
pub fn fuzz_cluster() -> ClusterName {
    ClusterName::new("fuzz").expect("a valid literal cluster name")
}

/// The keys of the fuzz keyring: every method, so every digest length is exercised.
fn fuzz_keys() -> [(u16, AuthMethod, Vec<u8>); 4] {
    [
        (1, AuthMethod::Sha256, b"fuzz-sha256".to_vec()),
        (2, AuthMethod::Sha1, b"fuzz-sha1".to_vec()),
        (3, AuthMethod::Md5, b"fuzz-md5".to_vec()),
        (4, AuthMethod::Crc, Vec::new()),
    ]
}

/// The fuzz keyring, signing with key `index` (1..=4).
pub fn fuzz_keyring(index: u16) -> Option<Keyring> {
    Keyring::new(index, fuzz_keys()).ok()
}

fn check_round_trip(v: &Verified) {
    let cluster = fuzz_cluster();
    let Some(ring) = fuzz_keyring(v.key_index) else {
        panic!(
            "decode accepted key index {} the keyring lacks",
            v.key_index
        );
    };
    let bytes = match encode(&v.packet, &ring) {
        Ok(b) => b,
        Err(e) => panic!("a decoded packet does not encode again: {e}"),
    };
    match decode(&bytes, &ring, &cluster) {
        Ok(again) => assert_eq!(again.packet, v.packet, "round trip changed the packet"),
        Err(e) => panic!("a re-encoded packet does not decode: {e}"),
    }
}

/// Decodes raw bytes as a received datagram. Almost nothing random passes the digest,
/// so this target explores the framing and the checks before authentication.
pub fn decode_raw(data: &[u8]) {
    let Some(ring) = fuzz_keyring(1) else { return };
    if let Ok(v) = decode(data, &ring, &fuzz_cluster()) {
        check_round_trip(&v);
    }
}

/// Treats `data` as the signed part of a packet and appends the correct digest for the
/// key index it names (bytes 7..9, when present and known), so that the fuzzer reaches
/// the body parsers behind authentication.
pub fn decode_sealed(data: &[u8]) {
    let index = data
        .get(7..9)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .filter(|i| (1..=4).contains(i))
        .unwrap_or(1);
    let Some(ring) = fuzz_keyring(index) else {
        return;
    };
    let mut packet = data.to_vec();
    packet.extend_from_slice(ring.signing_key().digest(data).as_bytes());
    if let Ok(v) = decode(&packet, &ring, &fuzz_cluster()) {
        check_round_trip(&v);
    }
}

fn node_name(s: &str) -> NodeName {
    // Only called with the literal names below.
    NodeName::new(s).expect("a valid literal node name")
}

/// One body of every type, with non-trivial field values.
pub fn sample_bodies() -> Vec<Body> {
    vec![
        Body::Heartbeat(Heartbeat {
            status: SenderStatus::Active,
            keepalive_ms: 100,
            deadtime_ms: 500,
            highest_sent: 12,
            oldest_retained: 9,
        }),
        Body::Leave,
        Body::Data(DataFragment {
            seq: 10,
            oldest_retained: 3,
            dest: Some(node_name("beta")),
            channel: Channel::CIB,
            index: 1,
            count: 3,
            payload: b"hello world".to_vec(),
        }),
        Body::Data(DataFragment {
            seq: 11,
            oldest_retained: 3,
            dest: None,
            channel: Channel::USER,
            index: 0,
            count: 1,
            payload: vec![],
        }),
        Body::Ack(Ack {
            to: node_name("beta"),
            generation: Generation(3),
            cumulative: 99,
        }),
        Body::RetransmitRequest(RetransmitRequest {
            to: node_name("gamma"),
            generation: Generation(4),
            ranges: vec![
                SeqRange { first: 1, last: 1 },
                SeqRange { first: 5, last: 9 },
            ],
        }),
        Body::Nak(Nak {
            to: node_name("delta"),
            first: 2,
            last: 8,
        }),
    ]
}

/// A packet of the fuzz cluster carrying `body`.
pub fn sample_packet(body: Body) -> Packet {
    Packet {
        cluster: fuzz_cluster(),
        sender: node_name("alpha"),
        generation: Generation(7),
        seq: 42,
        body,
    }
}
