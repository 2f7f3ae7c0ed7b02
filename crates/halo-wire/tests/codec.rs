//! Codec and authentication: round trips, tampering, keys, clusters, replays.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use halo_types::{AuthMethod, ClusterName, Generation, NodeName};
use halo_wire::*;
use proptest::prelude::*;

fn node(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

fn cluster() -> ClusterName {
    ClusterName::new("prod").unwrap()
}

fn ring(method: AuthMethod) -> Keyring {
    Keyring::single(1, method, b"the secret".to_vec()).unwrap()
}

const METHODS: [AuthMethod; 4] = [
    AuthMethod::Sha256,
    AuthMethod::Sha1,
    AuthMethod::Md5,
    AuthMethod::Crc,
];

fn packet(body: Body) -> Packet {
    Packet {
        cluster: cluster(),
        sender: node("alpha"),
        generation: Generation(7),
        seq: 42,
        body,
    }
}

fn sample_bodies() -> Vec<Body> {
    fuzzing::sample_bodies()
}

#[test]
fn every_sample_body_round_trips_with_every_method() {
    for method in METHODS {
        let ring = ring(method);
        for body in sample_bodies() {
            let p = packet(body);
            let bytes = encode(&p, &ring).unwrap();
            let v = decode(&bytes, &ring, &cluster()).unwrap();
            assert_eq!(v.packet, p);
            assert_eq!(v.key_index, 1);
            assert_eq!(v.minor_version, VERSION_MINOR);
        }
    }
}

#[test]
fn header_starts_with_magic_and_version() {
    let bytes = encode(&packet(Body::Leave), &ring(AuthMethod::Sha256)).unwrap();
    assert_eq!(&bytes[..4], b"HALO");
    assert_eq!(bytes[4], VERSION_MAJOR);
    assert_eq!(bytes[5], VERSION_MINOR);
    assert_eq!(bytes[6], PacketType::Leave.code());
    assert_eq!(&bytes[bytes.len() - 32..].len(), &32);
}

/// Every single bit flipped anywhere in a signed packet, and every byte replaced by
/// every other value, fails: with each method (CRC-32 detects every error burst up to
/// 32 bits, so even `crc` catches these — it just does not stop a forger).
#[test]
fn every_flipped_bit_and_byte_fails() {
    for method in METHODS {
        let ring = ring(method);
        for body in sample_bodies() {
            let bytes = encode(&packet(body), &ring).unwrap();
            for i in 0..bytes.len() {
                for value in 0..=255u8 {
                    if value == bytes[i] {
                        continue;
                    }
                    let mut t = bytes.clone();
                    t[i] = value;
                    let r = decode(&t, &ring, &cluster());
                    assert!(
                        r.is_err(),
                        "{method}: byte {i} set to {value:#x} was accepted: {r:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn truncated_or_extended_packets_fail() {
    let ring = ring(AuthMethod::Sha256);
    for body in sample_bodies() {
        let bytes = encode(&packet(body), &ring).unwrap();
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len], &ring, &cluster()).is_err(),
                "len {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, &ring, &cluster()).is_err());
    }
}

#[test]
fn a_wrong_secret_is_a_bad_digest() {
    let bytes = encode(&packet(Body::Leave), &ring(AuthMethod::Sha256)).unwrap();
    let other = Keyring::single(1, AuthMethod::Sha256, b"another secret".to_vec()).unwrap();
    assert_eq!(
        decode(&bytes, &other, &cluster()),
        Err(DropReason::BadDigest)
    );
}

#[test]
fn the_same_index_with_another_method_is_a_bad_digest() {
    let bytes = encode(&packet(Body::Leave), &ring(AuthMethod::Sha256)).unwrap();
    assert_eq!(
        decode(&bytes, &ring(AuthMethod::Md5), &cluster()),
        Err(DropReason::BadDigest)
    );
}

#[test]
fn an_unknown_key_index_is_reported_as_such() {
    let signer = Keyring::single(5, AuthMethod::Sha256, b"k".to_vec()).unwrap();
    let bytes = encode(&packet(Body::Leave), &signer).unwrap();
    assert_eq!(
        decode(&bytes, &ring(AuthMethod::Sha256), &cluster()),
        Err(DropReason::UnknownKeyIndex(5))
    );
}

#[test]
fn another_clusters_packets_are_dropped_as_such() {
    let ring = ring(AuthMethod::Sha256);
    let bytes = encode(&packet(Body::Leave), &ring).unwrap();
    assert_eq!(
        decode(&bytes, &ring, &ClusterName::new("test").unwrap()),
        Err(DropReason::OtherCluster)
    );
}

#[test]
fn key_rotation_old_key_verifies_new_key_signs() {
    let old = (1, AuthMethod::Sha1, b"old secret".to_vec());
    let new = (2, AuthMethod::Sha256, b"new secret".to_vec());
    // Step 1: everyone lists both keys, `a` already signs with the new one.
    let a = Keyring::new(2, [old.clone(), new.clone()]).unwrap();
    let b = Keyring::new(1, [old.clone(), new.clone()]).unwrap();
    // A node that has not been given the new key yet.
    let c = Keyring::new(1, [old.clone()]).unwrap();

    let from_a = encode(&packet(Body::Leave), &a).unwrap();
    let from_b = encode(&packet(Body::Leave), &b).unwrap();
    assert_eq!(decode(&from_a, &b, &cluster()).unwrap().key_index, 2);
    assert_eq!(decode(&from_b, &a, &cluster()).unwrap().key_index, 1);
    assert_eq!(decode(&from_b, &c, &cluster()).unwrap().key_index, 1);
    assert_eq!(
        decode(&from_a, &c, &cluster()),
        Err(DropReason::UnknownKeyIndex(2))
    );
}

#[test]
fn crc_is_accepted_but_anyone_can_forge_it() {
    let ring = ring(AuthMethod::Crc);
    assert!(!ring.signs_authenticated());
    // An attacker with no secret at all builds a packet and computes the CRC itself.
    let forger = Keyring::single(1, AuthMethod::Crc, Vec::new()).unwrap();
    let mut forged = packet(Body::Leave);
    forged.sender = node("victim");
    let bytes = encode(&forged, &forger).unwrap();
    assert_eq!(decode(&bytes, &ring, &cluster()).unwrap().packet, forged);
    // With an HMAC method the same attempt fails.
    let forger = Keyring::single(1, AuthMethod::Sha256, b"guess".to_vec()).unwrap();
    let bytes = encode(&forged, &forger).unwrap();
    assert_eq!(
        decode(&bytes, &self::ring(AuthMethod::Sha256), &cluster()),
        Err(DropReason::BadDigest)
    );
}

/// Re-signs `signed` (header + body, no digest) so that checks after authentication
/// can be reached with hand-made content.
fn seal(mut signed: Vec<u8>, ring: &Keyring) -> Vec<u8> {
    let d = ring.signing_key().digest(&signed);
    signed.extend_from_slice(d.as_bytes());
    signed
}

fn strip_digest(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() - 32].to_vec()
}

#[test]
fn unknown_types_from_a_newer_minor_version_are_dropped_not_fatal() {
    let ring = ring(AuthMethod::Sha256);
    let mut signed = strip_digest(&encode(&packet(Body::Leave), &ring).unwrap());
    signed[5] = VERSION_MINOR + 1;
    signed[6] = 42;
    assert_eq!(
        decode(&seal(signed.clone(), &ring), &ring, &cluster()),
        Err(DropReason::UnknownType(42))
    );
    // A known type from a newer minor version is read normally.
    signed[6] = PacketType::Leave.code();
    let v = decode(&seal(signed, &ring), &ring, &cluster()).unwrap();
    assert_eq!(v.minor_version, VERSION_MINOR + 1);
    assert_eq!(v.packet.body, Body::Leave);
}

#[test]
fn other_major_versions_are_unsupported() {
    let ring = ring(AuthMethod::Sha256);
    let mut bytes = encode(&packet(Body::Leave), &ring).unwrap();
    bytes[4] = 2;
    bytes[5] = 7;
    assert_eq!(
        decode(&bytes, &ring, &cluster()),
        Err(DropReason::UnsupportedVersion { major: 2, minor: 7 })
    );
}

#[test]
fn garbage_is_malformed() {
    let ring = ring(AuthMethod::Sha256);
    assert_eq!(
        decode(b"GET / HTTP/1.0\r\n", &ring, &cluster()),
        Err(DropReason::Malformed(Malformation::BadMagic))
    );
    assert_eq!(
        decode(b"HAL", &ring, &cluster()),
        Err(DropReason::Malformed(Malformation::TooShort))
    );
    assert_eq!(
        decode(&vec![0; MAX_PACKET_LEN + 1], &ring, &cluster()),
        Err(DropReason::Malformed(Malformation::TooLong))
    );
}

#[test]
fn an_upper_case_sender_in_a_signed_packet_is_malformed() {
    // Names have one spelling on the wire; a sender writing "Alpha" is buggy.
    let ring = ring(AuthMethod::Sha256);
    let mut signed = strip_digest(&encode(&packet(Body::Leave), &ring).unwrap());
    let at = signed.windows(5).position(|w| w == b"alpha").unwrap();
    signed[at] = b'A';
    assert!(matches!(
        decode(&seal(signed, &ring), &ring, &cluster()),
        Err(DropReason::Malformed(_))
    ));
}

#[test]
fn oversized_bodies_are_an_encode_error_not_a_panic() {
    let body = Body::Data(DataFragment {
        seq: 1,
        oldest_retained: 1,
        dest: None,
        channel: Channel::USER,
        index: 0,
        count: 1,
        payload: vec![0; MAX_PACKET_LEN],
    });
    assert!(matches!(
        encode(&packet(body), &ring(AuthMethod::Sha256)),
        Err(EncodeError::TooLarge(_))
    ));
}

#[test]
fn the_largest_data_overhead_is_an_upper_bound() {
    // Longest names and destination, longest digest, empty payload.
    let long = "x".repeat(halo_types::MAX_NAME_LEN);
    let p = Packet {
        cluster: ClusterName::new(&long).unwrap(),
        sender: NodeName::new(&long).unwrap(),
        generation: Generation(u64::MAX),
        seq: u64::MAX,
        body: Body::Data(DataFragment {
            seq: u64::MAX,
            oldest_retained: u64::MAX,
            dest: Some(NodeName::new(&long).unwrap()),
            channel: Channel(u16::MAX),
            index: 0,
            count: 1,
            payload: vec![],
        }),
    };
    let bytes = encode(&p, &ring(AuthMethod::Sha256)).unwrap();
    assert_eq!(bytes.len(), MAX_DATA_OVERHEAD);
}

// ---------------------------------------------------------------------------------
// Inbound / Outbound: replay, generations, echoes, counters.

fn endpoints() -> (Outbound, Inbound, Keyring) {
    (
        Outbound::new(cluster(), node("alpha"), Generation(5)),
        Inbound::new(cluster(), node("beta")),
        ring(AuthMethod::Sha256),
    )
}

#[test]
fn inbound_accepts_once_and_recognises_copies() {
    let (mut out, mut inb, ring) = endpoints();
    let p1 = out.seal(&Body::Leave, &ring).unwrap();
    let p2 = out.seal(&Body::Leave, &ring).unwrap();
    assert!(matches!(
        inb.receive(&p1, &ring),
        Received::NewGeneration { previous: None, .. }
    ));
    assert!(matches!(inb.receive(&p1, &ring), Received::Duplicate(_)));
    assert!(matches!(inb.receive(&p2, &ring), Received::Fresh(_)));
    assert!(matches!(inb.receive(&p2, &ring), Received::Duplicate(_)));
    let c = inb.counters();
    assert_eq!((c.accepted, c.new_generations, c.duplicates), (2, 1, 2));
    assert_eq!(inb.peer_generation(&node("alpha")), Some(Generation(5)));
}

#[test]
fn inbound_drops_replays_older_than_the_window() {
    let (mut out, mut inb, ring) = endpoints();
    let first = out.seal(&Body::Leave, &ring).unwrap();
    inb.receive(&first, &ring);
    let mut last = Vec::new();
    for _ in 0..REPLAY_WINDOW {
        last = out.seal(&Body::Leave, &ring).unwrap();
    }
    assert!(matches!(inb.receive(&last, &ring), Received::Fresh(_)));
    assert_eq!(
        inb.receive(&first, &ring),
        Received::Dropped(DropReason::Replay)
    );
    assert_eq!(inb.counters().replay, 1);
}

#[test]
fn inbound_handles_restarts_and_drops_the_previous_life() {
    let (mut old, mut inb, ring) = endpoints();
    let old_pkt = old.seal(&Body::Leave, &ring).unwrap();
    let old_pkt2 = old.seal(&Body::Leave, &ring).unwrap();
    inb.receive(&old_pkt, &ring);
    let mut new = Outbound::new(cluster(), node("alpha"), Generation(6));
    let new_pkt = new.seal(&Body::Leave, &ring).unwrap();
    assert!(matches!(
        inb.receive(&new_pkt, &ring),
        Received::NewGeneration {
            previous: Some(Generation(5)),
            ..
        }
    ));
    // A recorded packet of the old life, never seen before, is still refused.
    assert_eq!(
        inb.receive(&old_pkt2, &ring),
        Received::Dropped(DropReason::StaleGeneration)
    );
    assert_eq!(inb.counters().stale_generation, 1);
}

#[test]
fn a_generation_floor_refuses_old_lives_from_the_start() {
    let (mut out, mut inb, ring) = endpoints();
    inb.set_generation_floor(node("alpha"), Generation(6));
    let p = out.seal(&Body::Leave, &ring).unwrap();
    assert_eq!(
        inb.receive(&p, &ring),
        Received::Dropped(DropReason::StaleGeneration)
    );
}

#[test]
fn own_packets_are_echoes() {
    let (_, mut inb, ring) = endpoints();
    let mut me = Outbound::new(cluster(), node("beta"), Generation(1));
    let p = me.seal(&Body::Leave, &ring).unwrap();
    assert!(matches!(inb.receive(&p, &ring), Received::Echo(_)));
    assert_eq!(inb.counters().echoes, 1);
}

#[test]
fn every_drop_reason_is_counted_and_serialised() {
    let (mut out, mut inb, ring) = endpoints();
    let good = out.seal(&Body::Leave, &ring).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    inb.receive(&bad, &ring);
    inb.receive(b"nonsense", &ring);
    let wrong = Keyring::single(9, AuthMethod::Sha256, b"x".to_vec()).unwrap();
    inb.receive(&out.seal(&Body::Leave, &wrong).unwrap(), &ring);
    let c = inb.counters().clone();
    assert_eq!((c.bad_digest, c.malformed, c.unknown_key_index), (1, 1, 1));
    assert_eq!(c.dropped(), 3);
    assert_eq!(c.rejected(), 2);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["bad_digest"], 1);
    assert_eq!(json["unknown_key_index"], 1);
    assert_eq!(json["stale_generation"], 0);
}

// ---------------------------------------------------------------------------------
// Property tests.

fn arb_name() -> impl Strategy<Value = NodeName> {
    "[a-z0-9][a-z0-9._-]{0,63}".prop_map(|s| NodeName::new(&s).unwrap())
}

fn arb_status() -> impl Strategy<Value = SenderStatus> {
    prop_oneof![
        Just(SenderStatus::Init),
        Just(SenderStatus::Up),
        Just(SenderStatus::Active),
        Just(SenderStatus::Leaving),
    ]
}

fn arb_range() -> impl Strategy<Value = SeqRange> {
    (any::<u64>(), any::<u64>()).prop_map(|(a, b)| SeqRange {
        first: a.min(b),
        last: a.max(b),
    })
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (
            arb_status(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(
                |(status, keepalive_ms, deadtime_ms, highest_sent, oldest_retained)| {
                    Body::Heartbeat(Heartbeat {
                        status,
                        keepalive_ms,
                        deadtime_ms,
                        highest_sent,
                        oldest_retained,
                    })
                }
            ),
        Just(Body::Leave),
        (
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(arb_name()),
            any::<u16>(),
            1..=u16::MAX,
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..2000),
        )
            .prop_map(
                |(seq, oldest_retained, dest, channel, count, index, payload)| {
                    Body::Data(DataFragment {
                        seq,
                        oldest_retained,
                        dest,
                        channel: Channel(channel),
                        index: index % count,
                        count,
                        payload,
                    })
                }
            ),
        (arb_name(), any::<u64>(), any::<u64>()).prop_map(|(to, g, cumulative)| {
            Body::Ack(Ack {
                to,
                generation: Generation(g),
                cumulative,
            })
        }),
        (
            arb_name(),
            any::<u64>(),
            proptest::collection::vec(arb_range(), 1..=MAX_RANGES)
        )
            .prop_map(
                |(to, g, ranges)| Body::RetransmitRequest(RetransmitRequest {
                    to,
                    generation: Generation(g),
                    ranges,
                })
            ),
        (arb_name(), arb_range()).prop_map(|(to, r)| Body::Nak(Nak {
            to,
            first: r.first,
            last: r.last,
        })),
    ]
}

fn arb_method() -> impl Strategy<Value = AuthMethod> {
    proptest::sample::select(METHODS.to_vec())
}

proptest! {
    #[test]
    fn any_packet_round_trips(
        body in arb_body(),
        sender in arb_name(),
        cluster_name in arb_name(),
        generation in any::<u64>(),
        seq in any::<u64>(),
        method in arb_method(),
        index in any::<u16>(),
        secret in proptest::collection::vec(any::<u8>(), 1..100),
    ) {
        let cluster = ClusterName::new(cluster_name.as_str()).unwrap();
        let ring = Keyring::single(index, method, secret).unwrap();
        let p = Packet { cluster: cluster.clone(), sender, generation: Generation(generation), seq, body };
        let bytes = encode(&p, &ring).unwrap();
        let v = decode(&bytes, &ring, &cluster).unwrap();
        prop_assert_eq!(v.packet, p);
        prop_assert_eq!(v.key_index, index);
    }

    #[test]
    fn any_body_round_trips_alone(body in arb_body()) {
        let mut bytes = Vec::new();
        body.encode_into(&mut bytes).unwrap();
        prop_assert_eq!(Body::decode(body.packet_type().code(), &bytes), Ok(body));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let ring = ring(AuthMethod::Sha256);
        let _ = decode(&bytes, &ring, &cluster());
        fuzzing::decode_raw(&bytes);
        fuzzing::decode_sealed(&bytes);
    }

    #[test]
    fn random_bodies_never_panic(code in any::<u8>(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Body::decode(code, &bytes);
    }

    #[test]
    fn a_flipped_bit_in_a_random_packet_fails(
        body in arb_body(),
        method in arb_method(),
        pick in any::<proptest::sample::Index>(),
        bit in 0..8u8,
    ) {
        let ring = ring(method);
        let mut bytes = encode(&packet(body), &ring).unwrap();
        let i = pick.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(decode(&bytes, &ring, &cluster()).is_err());
    }
}
