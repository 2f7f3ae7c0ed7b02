//! One rule per test: engines wired by hand, bodies passed directly (no codec).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

use halo_messaging::*;
use halo_types::{Generation, NodeName, Timestamp};
use halo_wire::{DataFragment, Heartbeat, Nak, RetransmitRequest, SeqRange};

const G1: Generation = Generation(1);

fn node(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

fn ms(n: u64) -> Timestamp {
    Timestamp::from_millis(n)
}

fn config() -> Config {
    Config {
        fragment_size: 100,
        max_message_size: 4000,
        send_window: 64,
        recv_window: 64,
        ..Config::default()
    }
}

fn engine_with(name: &str, seed: u64, config: Config) -> Engine {
    Engine::new(node(name), G1, config, seed).unwrap()
}

fn engine(name: &str) -> Engine {
    engine_with(name, 1, config())
}

fn alive(e: &mut Engine, peer: &str) {
    e.handle_peer(
        Timestamp::ZERO,
        PeerEvent::Alive {
            node: node(peer),
            generation: G1,
        },
    );
}

#[derive(Debug, Default)]
struct Out {
    bodies: Vec<Body>,
    delivered: Vec<Message>,
    losses: Vec<Loss>,
}

fn take(e: &mut Engine) -> Out {
    let mut o = Out::default();
    for x in e.drain_outputs() {
        match x {
            Output::Transmit(b) => o.bodies.push(b),
            Output::Deliver(m) => o.delivered.push(m),
            Output::Loss(l) => o.losses.push(l),
        }
    }
    o
}

fn feed(to: &mut Engine, now: Timestamp, from: &str, bodies: &[Body]) {
    for b in bodies {
        to.handle_packet(now, &node(from), G1, b);
    }
}

fn data(bodies: &[Body]) -> Vec<&DataFragment> {
    bodies
        .iter()
        .filter_map(|b| match b {
            Body::Data(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn payloads(ms: &[Message]) -> Vec<Vec<u8>> {
    ms.iter().map(|m| m.payload.clone()).collect()
}

fn heartbeat(highest_sent: u64, oldest_retained: u64) -> Body {
    Body::Heartbeat(Heartbeat {
        status: SenderStatus::Active,
        keepalive_ms: 100,
        deadtime_ms: 500,
        highest_sent,
        oldest_retained,
    })
}

/// A data fragment of `a`'s stream (which still retains everything from 1).
fn fragment(seq: u64, index: u16, count: u16, payload: &[u8]) -> Body {
    Body::Data(DataFragment {
        seq,
        oldest_retained: 1,
        dest: None,
        channel: Channel::USER,
        index,
        count,
        payload: payload.to_vec(),
    })
}

/// `a` telling `b` it cannot retransmit `first..=last`.
fn nak_to_b(first: u64, last: u64) -> Body {
    Body::Nak(Nak {
        to: node("b"),
        first,
        last,
    })
}

fn loss_from_a(reason: LossReason, fragments: u64) -> Loss {
    Loss {
        from: node("a"),
        generation: G1,
        reason,
        fragments,
    }
}

/// An acknowledgement of `a`'s stream (generation 1) up to `cumulative`.
fn ack_to_a(cumulative: u64) -> Body {
    Body::Ack(halo_wire::Ack {
        to: node("a"),
        generation: G1,
        cumulative,
    })
}

/// `a` and `b` alive to each other.
fn pair() -> (Engine, Engine) {
    let (mut a, mut b) = (engine("a"), engine("b"));
    alive(&mut a, "b");
    alive(&mut b, "a");
    (a, b)
}

fn send_all(e: &mut Engine, now: Timestamp, payload: &[u8]) -> Vec<Body> {
    e.send(now, Destination::All, Channel::USER, payload)
        .unwrap();
    take(e).bodies
}

/// Ticks `e` every millisecond from `from` until it transmits something.
fn tick_until_transmit(
    e: &mut Engine,
    from: Timestamp,
    limit: Timestamp,
) -> (Timestamp, Vec<Body>) {
    let mut t = from;
    while t <= limit {
        e.handle_tick(t);
        let o = take(e);
        if !o.bodies.is_empty() {
            return (t, o.bodies);
        }
        t = t + Duration::from_millis(1);
    }
    panic!("nothing transmitted by {limit}");
}

fn requests(bodies: &[Body]) -> Vec<Vec<SeqRange>> {
    bodies
        .iter()
        .filter_map(|b| match b {
            Body::RetransmitRequest(r) => Some(r.ranges.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_message_is_delivered_once_and_acknowledged() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), b"hello");
    assert_eq!(a.unacked(), 1);
    feed(&mut b, ms(1), "a", &sent);
    let o = take(&mut b);
    assert_eq!(payloads(&o.delivered), vec![b"hello".to_vec()]);
    let m = &o.delivered[0];
    assert_eq!((m.from.as_str(), m.seq, m.channel), ("a", 1, Channel::USER));
    assert_eq!(m.to, Destination::All);
    // The ack waits `ack_delay` to batch.
    assert_eq!(b.next_deadline(), Some(ms(1) + config().ack_delay));
    b.handle_tick(ms(11));
    let acks = take(&mut b).bodies;
    assert!(
        matches!(&acks[..], [Body::Ack(x)] if x.to == node("a") && x.cumulative == 1 && x.generation == G1),
        "{acks:?}"
    );
    feed(&mut a, ms(12), "b", &acks);
    assert_eq!(a.unacked(), 0);
    assert_eq!(a.position().oldest_retained, 2);
}

#[test]
fn acks_go_out_at_once_after_ack_every_fragments() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), &[7; 3200]); // 32 fragments of 100 bytes
    feed(&mut b, ms(1), "a", &sent);
    let o = take(&mut b);
    assert_eq!(o.delivered.len(), 1);
    assert!(
        matches!(&o.bodies[..], [Body::Ack(x)] if x.cumulative == 32),
        "{:?}",
        o.bodies
    );
}

#[test]
fn large_messages_are_fragmented_and_reassembled_in_any_arrival_order() {
    let (mut a, mut b) = pair();
    let msg: Vec<u8> = (0..1050u32).map(|i| i as u8).collect();
    let mut sent = send_all(&mut a, ms(0), &msg);
    let frags = data(&sent);
    assert_eq!(frags.len(), 11);
    for (i, f) in frags.iter().enumerate() {
        assert_eq!((f.index as usize, f.count, f.seq), (i, 11, i as u64 + 1));
    }
    assert_eq!(frags[10].payload.len(), 50);
    sent.reverse();
    feed(&mut b, ms(1), "a", &sent);
    assert_eq!(payloads(&take(&mut b).delivered), vec![msg]);
}

#[test]
fn an_empty_message_is_one_fragment() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), b"");
    assert_eq!(data(&sent).len(), 1);
    feed(&mut b, ms(1), "a", &sent);
    assert_eq!(payloads(&take(&mut b).delivered), vec![Vec::<u8>::new()]);
}

#[test]
fn a_gap_is_requested_after_a_random_delay_then_repaired_in_order() {
    let mut first_request_times = Vec::new();
    for seed in 0..20 {
        let mut a = engine("a");
        let mut b = engine_with("b", seed, config());
        alive(&mut a, "b");
        alive(&mut b, "a");
        let m1 = send_all(&mut a, ms(0), b"one");
        let m2 = send_all(&mut a, ms(0), b"two");
        let m3 = send_all(&mut a, ms(0), b"three");
        feed(&mut b, ms(100), "a", &m1);
        feed(&mut b, ms(100), "a", &m3);
        assert_eq!(payloads(&take(&mut b).delivered), vec![b"one".to_vec()]);
        // Tick past the ack (due at 110 ms) to find the request.
        let mut t = ms(100);
        let request = loop {
            b.handle_tick(t);
            let bodies = take(&mut b).bodies;
            let r = requests(&bodies);
            if !r.is_empty() {
                break r;
            }
            t = t + Duration::from_millis(1);
            assert!(t <= ms(130), "no request by 130 ms");
        };
        let delay = t - ms(100);
        assert!(
            delay >= config().rexmit_delay_min && delay <= config().rexmit_delay_max,
            "{delay:?}"
        );
        first_request_times.push(delay);
        assert_eq!(request, vec![vec![SeqRange { first: 2, last: 2 }]]);
        let req = Body::RetransmitRequest(RetransmitRequest {
            to: node("a"),
            generation: G1,
            ranges: request[0].clone(),
        });
        feed(&mut a, t, "b", &[req]);
        let resent = take(&mut a).bodies;
        assert_eq!(
            data(&resent).iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![2]
        );
        assert_eq!(resent, m2, "a retransmission is the same fragment");
        feed(&mut b, t, "a", &resent);
        assert_eq!(
            payloads(&take(&mut b).delivered),
            vec![b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(a.counters().retransmits_sent, 1);
        assert_eq!(b.counters().retransmits_requested, 1);
    }
    first_request_times.sort();
    first_request_times.dedup();
    assert!(first_request_times.len() > 3, "delays are not randomised");
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let run = |seed| {
        let mut a = engine("a");
        let mut b = engine_with("b", seed, config());
        alive(&mut a, "b");
        alive(&mut b, "a");
        let _lost = send_all(&mut a, ms(0), b"x");
        let got = send_all(&mut a, ms(0), b"y");
        feed(&mut b, ms(0), "a", &got);
        b.next_deadline()
    };
    assert_eq!(run(42), run(42));
}

#[test]
fn a_lost_tail_is_noticed_from_the_heartbeat() {
    let (mut a, mut b) = pair();
    let _lost = send_all(&mut a, ms(0), b"last words");
    feed(
        &mut b,
        ms(50),
        "a",
        &[a.heartbeat(SenderStatus::Active, 100, 500)],
    );
    let (_, bodies) = tick_until_transmit(&mut b, ms(50), ms(100));
    assert_eq!(
        requests(&bodies),
        vec![vec![SeqRange { first: 1, last: 1 }]]
    );
}

#[test]
fn requests_repeat_at_a_limited_rate_while_the_gap_remains() {
    let (mut a, mut b) = pair();
    let _lost = send_all(&mut a, ms(0), b"x");
    feed(&mut b, ms(0), "a", &[heartbeat(1, 1)]);
    let (t1, _) = tick_until_transmit(&mut b, ms(0), ms(50));
    let (t2, bodies) = tick_until_transmit(&mut b, t1 + Duration::from_millis(1), ms(500));
    assert_eq!(requests(&bodies).len(), 1);
    let interval = config().rexmit_interval;
    let gap = t2 - t1;
    assert!(
        gap >= interval + interval / 4 && gap <= interval + interval / 2,
        "{gap:?}"
    );
}

#[test]
fn a_nak_after_joining_is_reported_as_a_loss() {
    let (_, mut b) = pair();
    feed(&mut b, ms(0), "a", &[heartbeat(0, 1)]); // b joins at the start
    feed(&mut b, ms(1), "a", &[fragment(2, 0, 1, b"second")]);
    let nak = nak_to_b(1, 1);
    feed(&mut b, ms(30), "a", &[nak]);
    let o = take(&mut b);
    assert_eq!(payloads(&o.delivered), vec![b"second".to_vec()]);
    assert_eq!(o.losses, vec![loss_from_a(LossReason::NotRetained, 1)]);
    assert_eq!(b.counters().naks_received, 1);
}

#[test]
fn history_from_before_joining_is_skipped_silently() {
    let (_, mut b) = pair();
    // a had sent 5 fragments before b first heard it, and still held them then.
    feed(&mut b, ms(0), "a", &[heartbeat(5, 1)]);
    let (_, bodies) = tick_until_transmit(&mut b, ms(0), ms(50));
    assert_eq!(
        requests(&bodies),
        vec![vec![SeqRange { first: 1, last: 5 }]]
    );
    // Meanwhile a freed them (b was not in its ack set yet).
    let nak = nak_to_b(1, 5);
    feed(&mut b, ms(40), "a", &[nak]);
    let o = take(&mut b);
    assert!(o.losses.is_empty(), "{:?}", o.losses);
    assert_eq!(b.counters().history_skipped, 5);
    assert_eq!(b.next_deadline(), None, "nothing left to ask for");
}

#[test]
fn a_late_joiner_starts_at_the_current_position() {
    let mut a = engine("a");
    for i in 0..3u8 {
        send_all(&mut a, ms(0), &[i]);
    }
    // Nobody alive: nothing kept.
    assert_eq!(a.unacked(), 0);
    assert_eq!(
        a.position(),
        StreamPosition {
            highest_sent: 3,
            oldest_retained: 4
        }
    );
    let mut b = engine("b");
    alive(&mut b, "a");
    feed(
        &mut b,
        ms(10),
        "a",
        &[a.heartbeat(SenderStatus::Active, 100, 500)],
    );
    assert_eq!(b.next_deadline(), None, "no history is asked for");
    alive(&mut a, "b");
    let sent = send_all(&mut a, ms(20), b"news");
    feed(&mut b, ms(21), "a", &sent);
    let o = take(&mut b);
    assert_eq!(payloads(&o.delivered), vec![b"news".to_vec()]);
    assert_eq!(o.delivered[0].seq, 4);
}

#[test]
fn directed_messages_are_sequenced_for_all_but_delivered_to_one() {
    let (mut a, mut b, mut c) = (engine("a"), engine("b"), engine("c"));
    alive(&mut a, "b");
    alive(&mut a, "c");
    a.send(ms(0), Destination::Node(node("b")), Channel::CIB, b"for b")
        .unwrap();
    a.send(ms(0), Destination::All, Channel::CIB, b"for all")
        .unwrap();
    let sent = take(&mut a).bodies;
    assert_eq!(data(&sent)[0].dest, Some(node("b")));
    feed(&mut b, ms(1), "a", &sent);
    feed(&mut c, ms(1), "a", &sent);
    let ob = take(&mut b);
    assert_eq!(
        payloads(&ob.delivered),
        vec![b"for b".to_vec(), b"for all".to_vec()]
    );
    assert_eq!(ob.delivered[0].to, Destination::Node(node("b")));
    let oc = take(&mut c);
    assert_eq!(payloads(&oc.delivered), vec![b"for all".to_vec()]);
    // c saw no gap, and acknowledges both sequence numbers.
    c.handle_tick(ms(20));
    let acks = take(&mut c).bodies;
    assert!(
        matches!(&acks[..], [Body::Ack(x)] if x.cumulative == 2),
        "{acks:?}"
    );
}

#[test]
fn backpressure_refuses_rather_than_drops() {
    let cfg = Config {
        send_window: 4,
        max_message_size: 400,
        ..config()
    };
    let mut a = engine_with("a", 1, cfg);
    alive(&mut a, "b");
    for i in 0..4u8 {
        a.send(ms(0), Destination::All, Channel::USER, &[i])
            .unwrap();
    }
    assert_eq!(
        a.send(ms(0), Destination::All, Channel::USER, b"more"),
        Err(SendError::Backpressure { needed: 1, free: 0 })
    );
    assert_eq!(a.counters().backpressure_rejections, 1);
    let ack = ack_to_a(2);
    feed(&mut a, ms(1), "b", &[ack]);
    assert_eq!(a.unacked(), 2);
    assert_eq!(
        a.send(ms(1), Destination::All, Channel::USER, &[0; 300]),
        Err(SendError::Backpressure { needed: 3, free: 2 })
    );
    a.send(ms(1), Destination::All, Channel::USER, &[0; 200])
        .unwrap();
    assert_eq!(
        a.send(ms(1), Destination::All, Channel::USER, &[0; 401]),
        Err(SendError::TooLarge {
            size: 401,
            max: 400
        })
    );
}

#[test]
fn a_dead_peer_no_longer_holds_the_buffer() {
    let mut a = engine("a");
    alive(&mut a, "b");
    alive(&mut a, "c");
    send_all(&mut a, ms(0), b"x");
    let ack = ack_to_a(1);
    feed(&mut a, ms(1), "b", &[ack]);
    assert_eq!(a.unacked(), 1, "c has not acknowledged");
    a.handle_peer(ms(2), PeerEvent::Dead { node: node("c") });
    assert_eq!(a.unacked(), 0);
    assert_eq!(
        a.send(ms(3), Destination::Node(node("c")), Channel::USER, b"?"),
        Err(SendError::NotAlive(node("c")))
    );
}

#[test]
fn a_peer_dying_mid_message_is_reported_as_a_loss() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), &[1; 500]); // 5 fragments
    feed(&mut b, ms(1), "a", &sent[..3]);
    feed(
        &mut b,
        ms(2),
        "a",
        &[a.heartbeat(SenderStatus::Active, 100, 500)],
    );
    assert!(take(&mut b).delivered.is_empty());
    b.handle_peer(ms(600), PeerEvent::Dead { node: node("a") });
    let o = take(&mut b);
    assert_eq!(o.losses, vec![loss_from_a(LossReason::PeerDead, 5)]);
    assert_eq!(b.next_deadline(), None, "no requests to a dead peer");
}

#[test]
fn a_clean_leave_with_nothing_pending_is_no_loss() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), b"bye");
    feed(&mut b, ms(1), "a", &sent);
    feed(&mut b, ms(2), "a", &[Body::Leave]);
    let o = take(&mut b);
    assert_eq!(o.delivered.len(), 1);
    assert!(o.losses.is_empty());
}

#[test]
fn a_leave_from_an_earlier_life_is_ignored() {
    let (mut a, mut b) = pair();
    b.handle_peer(
        ms(0),
        PeerEvent::Alive {
            node: node("a"),
            generation: Generation(2),
        },
    );
    alive(&mut a, "b");
    let sent = send_all(&mut a, ms(0), b"x");
    for body in &sent {
        b.handle_packet(ms(1), &node("a"), Generation(2), body);
    }
    b.handle_packet(ms(2), &node("a"), G1, &Body::Leave);
    b.send(
        ms(3),
        Destination::Node(node("a")),
        Channel::USER,
        b"still there",
    )
    .unwrap();
}

#[test]
fn a_restart_resets_the_stream_and_reports_the_unfinished_one() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), &[1; 300]);
    feed(&mut b, ms(1), "a", &sent[..1]);
    // a restarts: generation 2, its stream starts again at 1.
    let mut a2 = Engine::new(node("a"), Generation(2), config(), 9).unwrap();
    alive(&mut a2, "b");
    let fresh = send_all(&mut a2, ms(100), b"reborn");
    for body in &fresh {
        b.handle_packet(ms(101), &node("a"), Generation(2), body);
    }
    let o = take(&mut b);
    assert_eq!(o.losses, vec![loss_from_a(LossReason::PeerRestarted, 1)]);
    assert_eq!(payloads(&o.delivered), vec![b"reborn".to_vec()]);
    assert_eq!(o.delivered[0].generation, Generation(2));
    // A straggler of the old life is ignored.
    feed(&mut b, ms(102), "a", &sent[1..]);
    assert!(take(&mut b).delivered.is_empty());
}

#[test]
fn an_ack_from_another_life_of_the_peer_is_ignored() {
    let (mut a, _) = pair();
    send_all(&mut a, ms(0), b"x");
    let ack = ack_to_a(1);
    // Acknowledging a's generation 1, but sent by b's generation 0 (an older life).
    a.handle_packet(ms(1), &node("b"), Generation(0), &ack);
    assert_eq!(a.unacked(), 1);
    // An ack of another generation of a's stream is ignored too.
    let stale = Body::Ack(halo_wire::Ack {
        to: node("a"),
        generation: Generation(0),
        cumulative: 1,
    });
    feed(&mut a, ms(1), "b", &[stale]);
    assert_eq!(a.unacked(), 1);
}

#[test]
fn duplicates_are_counted_not_delivered_twice() {
    let (mut a, mut b) = pair();
    let sent = send_all(&mut a, ms(0), b"once");
    feed(&mut b, ms(1), "a", &sent);
    feed(&mut b, ms(2), "a", &sent);
    assert_eq!(take(&mut b).delivered.len(), 1);
    assert_eq!(b.counters().duplicate_fragments, 1);
}

#[test]
fn retransmissions_of_one_fragment_are_suppressed_briefly() {
    let (mut a, _) = pair();
    alive(&mut a, "c");
    send_all(&mut a, ms(0), b"x");
    let req = |to: &str| {
        let _ = to;
        Body::RetransmitRequest(RetransmitRequest {
            to: node("a"),
            generation: G1,
            ranges: vec![SeqRange { first: 1, last: 1 }],
        })
    };
    feed(&mut a, ms(10), "b", &[req("b")]);
    feed(&mut a, ms(15), "c", &[req("c")]);
    assert_eq!(data(&take(&mut a).bodies).len(), 1);
    assert_eq!(a.counters().retransmits_suppressed, 1);
    feed(&mut a, ms(10) + config().rexmit_suppress, "c", &[req("c")]);
    assert_eq!(data(&take(&mut a).bodies).len(), 1);
}

#[test]
fn requests_for_freed_fragments_get_a_nak() {
    let (mut a, _) = pair();
    send_all(&mut a, ms(0), b"x");
    send_all(&mut a, ms(0), b"y");
    let ack = ack_to_a(1);
    feed(&mut a, ms(1), "b", &[ack]);
    let req = Body::RetransmitRequest(RetransmitRequest {
        to: node("a"),
        generation: G1,
        ranges: vec![SeqRange { first: 1, last: 2 }],
    });
    feed(&mut a, ms(2), "c", &[req]);
    let bodies = take(&mut a).bodies;
    assert_eq!(
        data(&bodies).iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![2]
    );
    assert!(bodies.contains(&Body::Nak(Nak {
        to: node("c"),
        first: 1,
        last: 1
    })));
    assert_eq!(a.counters().naks_sent, 1);
}

#[test]
fn a_message_to_oneself_is_delivered_at_once() {
    let mut a = engine("a");
    a.send(ms(0), Destination::Node(node("a")), Channel::USER, b"note")
        .unwrap();
    let o = take(&mut a);
    assert!(o.bodies.is_empty());
    assert_eq!(payloads(&o.delivered), vec![b"note".to_vec()]);
}

#[test]
fn a_silent_peer_stops_holding_the_buffer_after_the_ack_timeout() {
    let (mut a, _) = pair();
    send_all(&mut a, ms(0), b"x");
    let timeout = config().ack_timeout;
    assert_eq!(a.next_deadline(), Some(ms(0) + timeout));
    a.handle_tick(ms(0) + (timeout - Duration::from_millis(1)));
    assert_eq!(a.unacked(), 1);
    a.handle_tick(ms(0) + timeout);
    assert_eq!(a.unacked(), 0);
    assert_eq!(a.counters().ack_timeouts, 1);
    // Meanwhile nothing is kept on its account.
    send_all(&mut a, ms(15_000), b"y");
    assert_eq!(a.unacked(), 0);
    // It counts again once it acknowledges.
    let ack = ack_to_a(2);
    feed(&mut a, ms(20_000), "b", &[ack]);
    send_all(&mut a, ms(20_001), b"z");
    assert_eq!(a.unacked(), 1, "b owes an ack for fragment 3");
}

#[test]
fn coming_back_in_the_same_generation_never_delivers_twice() {
    let (mut a, mut b) = pair();
    alive(&mut a, "c"); // c never acknowledges, so a keeps everything
    let m1 = send_all(&mut a, ms(0), b"1");
    let m2 = send_all(&mut a, ms(0), b"2");
    feed(&mut b, ms(1), "a", &m1);
    feed(&mut b, ms(1), "a", &m2);
    assert_eq!(take(&mut b).delivered.len(), 2);
    b.handle_peer(ms(500), PeerEvent::Dead { node: node("a") });
    alive(&mut b, "a");
    let m3 = send_all(&mut a, ms(600), b"3");
    // a's retransmission of 1 and its heartbeat still say "oldest retained: 1".
    feed(&mut b, ms(601), "a", &m1);
    feed(
        &mut b,
        ms(601),
        "a",
        &[a.heartbeat(SenderStatus::Active, 100, 500)],
    );
    feed(&mut b, ms(602), "a", &m3);
    assert_eq!(payloads(&take(&mut b).delivered), vec![b"3".to_vec()]);
}

#[test]
fn broken_fragmentation_is_a_protocol_error_not_a_panic() {
    let (_, mut b) = pair();
    // Fragment 0 of 2, then a new message starts: the first can never complete.
    feed(
        &mut b,
        ms(0),
        "a",
        &[
            fragment(1, 0, 2, &[1]),
            fragment(2, 0, 1, &[2]),
            fragment(3, 5, 9, &[3]),
        ],
    );
    let o = take(&mut b);
    assert_eq!(payloads(&o.delivered), vec![vec![2]]);
    assert!(
        o.losses
            .iter()
            .all(|l| l.reason == LossReason::ProtocolError)
    );
    assert_eq!(o.losses.len(), 2);
    assert_eq!(b.counters().protocol_errors, 2);
}

#[test]
fn own_packets_are_ignored() {
    let mut a = engine("a");
    let sent = send_all(&mut a, ms(0), b"me");
    feed(&mut a, ms(1), "a", &sent);
    assert!(take(&mut a).delivered.is_empty());
}

#[test]
fn counters_serialise_with_gauges() {
    let (mut a, _) = pair();
    send_all(&mut a, ms(0), &[0; 250]);
    let json = serde_json::to_value(a.counters()).unwrap();
    assert_eq!(json["messages_sent"], 1);
    assert_eq!(json["fragments_sent"], 3);
    assert_eq!(json["send_buffer_fragments"], 3);
    assert_eq!(json["send_buffer_bytes"], 250);
}

#[test]
fn bad_configurations_are_refused_at_construction() {
    let cfg = Config {
        fragment_size: 0,
        ..Config::default()
    };
    assert_eq!(
        Engine::new(node("a"), G1, cfg, 0).unwrap_err(),
        ConfigError::FragmentSize(0)
    );
}
