//! The entry point shared by the cargo-fuzz target (`fuzz/`, nightly) and the stable
//! test that replays its corpus: arbitrary bytes, read as a program of inputs to one
//! engine, with the engine's invariants checked after every step.
//!
//! Each step is an opcode byte and its operands (missing bytes read as 0):
//!
//! | op % 8 | step |
//! | --- | --- |
//! | 0 | advance time by `b` ms, tick |
//! | 1 | peer event: peer `b % 3`, kind `c % 3` (alive / dead / left), generation `1 + d % 3` |
//! | 2 | send `c` bytes to peer `b % 4` (3: everyone) |
//! | 3 | a packet from peer `b % 3`, generation `1 + c % 3`, type `d`, body of `e` bytes, decoded by `halo-wire` |
//! | 4 | a data fragment with small numbers: seq `b`, oldest `c`, index `d % 4`, count `1 + e % 4`, dest `f % 5`, `g % 16` payload bytes |
//! | 5 | a heartbeat: highest `b`, oldest `c` |
//! | 6 | ack `c`, nak `c..=c+d`, or retransmit request `c..=c+d` (by `b % 3`) |
//! | 7 | the engine's own transmissions so far, fed back in from a peer |
//!
//! Small numbers matter: random 64-bit sequence numbers would almost never line up.

use std::collections::BTreeMap;
use std::time::Duration;

use halo_types::{Generation, NodeName, Timestamp};
use halo_wire::{
    Ack, Body, Channel, DataFragment, Heartbeat, Nak, RetransmitRequest, SenderStatus, SeqRange,
};

use crate::{Config, Destination, Engine, Output, PeerEvent};

/// A small configuration, so windows fill and fragments split with few bytes.
pub fn fuzz_config() -> Config {
    Config {
        fragment_size: 8,
        max_message_size: 64,
        send_window: 16,
        recv_window: 16,
        ..Config::default()
    }
}

fn name(i: u8) -> NodeName {
    // Only the literal names n0..n3.
    NodeName::new(&format!("n{}", i % 4)).expect("a valid node name")
}

struct Bytes<'a>(std::slice::Iter<'a, u8>);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// Runs `data` as a program against a fresh engine `n0`, checking its invariants.
pub fn run(data: &[u8]) {
    let config = fuzz_config();
    let Ok(mut engine) = Engine::new(name(0), Generation(1), config.clone(), 0) else {
        return;
    };
    let mut now = Timestamp::ZERO;
    let mut bytes = Bytes(data.iter());
    let mut sent: Vec<Body> = Vec::new();
    let mut last_delivered: BTreeMap<(NodeName, Generation), u64> = BTreeMap::new();
    while bytes.0.len() > 0 {
        let op = bytes.next();
        let (b, c) = (bytes.next(), bytes.next());
        match op % 8 {
            0 => {
                now = now + Duration::from_millis(u64::from(b));
                engine.handle_tick(now);
                if let Some(d) = engine.next_deadline() {
                    assert!(d > now, "deadline {d} not after the tick at {now}");
                }
            }
            1 => {
                let node = name(1 + b % 3);
                let generation = Generation(1 + u64::from(bytes.next() % 3));
                let event = match c % 3 {
                    0 => PeerEvent::Alive { node, generation },
                    1 => PeerEvent::Dead { node },
                    _ => PeerEvent::Left { node },
                };
                engine.handle_peer(now, event);
            }
            2 => {
                let to = if b % 4 == 3 {
                    Destination::All
                } else {
                    Destination::Node(name(1 + b % 4))
                };
                let _ = engine.send(now, to, Channel::USER, &bytes.take(usize::from(c)));
            }
            3 => {
                let from = name(1 + b % 3);
                let generation = Generation(1 + u64::from(c % 3));
                let ty = bytes.next();
                let len = usize::from(bytes.next());
                if let Ok(body) = Body::decode(ty, &bytes.take(len)) {
                    engine.handle_packet(now, &from, generation, &body);
                }
            }
            4 => {
                let (d, e, f, g) = (bytes.next(), bytes.next(), bytes.next(), bytes.next());
                let count = 1 + u16::from(e % 4);
                let body = Body::Data(DataFragment {
                    seq: u64::from(b),
                    oldest_retained: u64::from(c),
                    dest: (f % 5 < 4).then(|| name(f % 5)),
                    channel: Channel::USER,
                    index: u16::from(d % 4) % count,
                    count,
                    payload: bytes.take(usize::from(g % 16)),
                });
                engine.handle_packet(now, &name(1), Generation(1), &body);
            }
            5 => {
                let body = Body::Heartbeat(Heartbeat {
                    status: SenderStatus::Active,
                    keepalive_ms: 100,
                    deadtime_ms: 500,
                    highest_sent: u64::from(b),
                    oldest_retained: u64::from(c),
                });
                engine.handle_packet(now, &name(1), Generation(1), &body);
            }
            6 => {
                let d = bytes.next();
                let (first, last) = (u64::from(c), u64::from(c) + u64::from(d));
                let body = match b % 3 {
                    0 => Body::Ack(Ack {
                        to: name(0),
                        generation: Generation(1),
                        cumulative: first,
                    }),
                    1 => Body::Nak(Nak {
                        to: name(0),
                        first,
                        last,
                    }),
                    _ => Body::RetransmitRequest(RetransmitRequest {
                        to: name(0),
                        generation: Generation(1),
                        ranges: vec![SeqRange { first, last }],
                    }),
                };
                engine.handle_packet(now, &name(1 + d % 3), Generation(1), &body);
            }
            _ => {
                // Our own stream as a peer would see it, under another name: exercises
                // the receive side with well-formed fragment sequences.
                for body in std::mem::take(&mut sent) {
                    engine.handle_packet(now, &name(1 + b % 3), Generation(1), &body);
                }
            }
        }
        check(&engine, &config);
        for out in engine.drain_outputs() {
            match out {
                Output::Transmit(body) => {
                    let mut buf = Vec::new();
                    if let Err(e) = body.encode_into(&mut buf) {
                        panic!("the engine produced a body that does not encode: {e}: {body:?}");
                    }
                    if sent.len() < 256 {
                        sent.push(body);
                    }
                }
                Output::Deliver(m) => {
                    assert!(m.payload.len() <= config.max_message_size);
                    if m.from != name(0) {
                        let last = last_delivered
                            .entry((m.from.clone(), m.generation))
                            .or_insert(0);
                        assert!(m.seq > *last, "delivered {} after {}", m.seq, *last);
                        *last = m.seq;
                    }
                }
                Output::Loss(l) => assert!(l.fragments > 0),
            }
        }
    }
}

fn check(engine: &Engine, config: &Config) {
    let c = engine.counters();
    assert!(c.send_buffer_fragments <= config.send_window as u64);
    // Three peers at most, each within its window.
    assert!(c.receive_buffer_fragments <= 3 * config.recv_window);
    let p = engine.position();
    assert!(p.oldest_retained >= 1 && p.oldest_retained <= p.highest_sent + 1);
}
