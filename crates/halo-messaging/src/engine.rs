//! The engine: one per node, owning its send stream and every peer's receive stream.

use std::collections::{BTreeMap, VecDeque};

use halo_types::{Generation, NodeName, Timestamp};
use halo_wire::{Body, Channel, Heartbeat, Nak, RetransmitRequest, SenderStatus};

use crate::config::{Config, ConfigError};
use crate::counters::{Counters, bump};
use crate::recv::{Ctx, RecvStream};
use crate::rng::SplitMix64;
use crate::send::{Retained, SendStream};
use crate::{Destination, LossReason, Message, Output, PeerEvent, SendError, StreamPosition};

/// The reliable messaging engine of one node. See the crate documentation.
#[derive(Debug)]
pub struct Engine {
    me: NodeName,
    generation: Generation,
    config: Config,
    rng: SplitMix64,
    send: SendStream,
    streams: BTreeMap<NodeName, RecvStream>,
    outputs: VecDeque<Output>,
    counters: Counters,
}

impl Engine {
    /// The engine of node `me` in its life `generation`; `seed` drives the random
    /// delays (give each node and each start a different one; tests give fixed ones).
    pub fn new(
        me: NodeName,
        generation: Generation,
        config: Config,
        seed: u64,
    ) -> Result<Engine, ConfigError> {
        config.validate()?;
        Ok(Engine {
            me,
            generation,
            config,
            rng: SplitMix64::new(seed),
            send: SendStream::new(),
            streams: BTreeMap::new(),
            outputs: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// This node's name.
    pub fn node(&self) -> &NodeName {
        &self.me
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sends `payload` on `channel` to one node or to every other member.
    ///
    /// The message is fragmented, sequenced in this node's stream and queued as
    /// [`Output::Transmit`]s. A message to this node itself is delivered at once, without
    /// the network. Refuses (never drops) when the send window cannot take the message.
    pub fn send(
        &mut self,
        now: Timestamp,
        to: Destination,
        channel: Channel,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if payload.len() > self.config.max_message_size {
            return Err(SendError::TooLarge {
                size: payload.len(),
                max: self.config.max_message_size,
            });
        }
        let dest = match to {
            Destination::All => None,
            Destination::Node(n) if n == self.me => {
                bump!(self.counters, messages_sent);
                bump!(self.counters, messages_delivered);
                self.outputs.push_back(Output::Deliver(Message {
                    from: self.me.clone(),
                    generation: self.generation,
                    seq: 0,
                    channel,
                    to: Destination::Node(n),
                    payload: payload.to_vec(),
                }));
                return Ok(());
            }
            Destination::Node(n) => {
                if !self.send.peers.contains_key(&n) {
                    return Err(SendError::NotAlive(n));
                }
                Some(n)
            }
        };
        let count = self.config.fragments_for(payload.len());
        let free = self.config.send_window - self.send.retained_len().min(self.config.send_window);
        if count > free {
            bump!(self.counters, backpressure_rejections);
            return Err(SendError::Backpressure {
                needed: count,
                free,
            });
        }
        // `validate` bounds the fragment count of the largest message by u16::MAX.
        let count16 = u16::try_from(count).map_err(|_| SendError::TooLarge {
            size: payload.len(),
            max: self.config.max_message_size,
        })?;
        let mut chunks = payload.chunks(self.config.fragment_size);
        for index in 0..count16 {
            let body = self.send.push(Retained {
                dest: dest.clone(),
                channel,
                index,
                count: count16,
                payload: chunks.next().unwrap_or_default().to_vec(),
                last_rexmit: None,
            });
            bump!(self.counters, fragments_sent);
            self.outputs.push_back(Output::Transmit(body));
        }
        bump!(self.counters, messages_sent);
        // With nobody alive to owe it to, nothing is kept.
        self.send.free();
        self.send.check_ack_timers(now, self.config.ack_timeout);
        Ok(())
    }

    /// Handles the body of an authentic, fresh packet (not a duplicate: the wire layer
    /// filters those) from `from` in its life `generation`.
    pub fn handle_packet(
        &mut self,
        now: Timestamp,
        from: &NodeName,
        generation: Generation,
        body: &Body,
    ) {
        if *from == self.me {
            return;
        }
        // A newer life of a peer we track: it restarted.
        if self
            .send
            .peers
            .get(from)
            .is_some_and(|p| p.generation < generation)
        {
            self.send.peer_alive(from.clone(), generation);
        }
        match body {
            Body::Heartbeat(h) => {
                if let Some((s, mut ctx)) = self.stream(from, generation) {
                    s.on_heartbeat(&mut ctx, now, h.oldest_retained, h.highest_sent);
                }
            }
            Body::Leave => {
                // Only the current life of a peer can leave.
                let newer_known = self
                    .streams
                    .get(from)
                    .is_some_and(|s| s.generation > generation)
                    || self
                        .send
                        .peers
                        .get(from)
                        .is_some_and(|p| p.generation > generation);
                if !newer_known {
                    self.peer_gone(from, LossReason::PeerLeft);
                }
            }
            Body::Data(d) => {
                if let Some((s, mut ctx)) = self.stream(from, generation) {
                    s.on_data(&mut ctx, now, d);
                }
            }
            Body::Ack(a) => {
                if a.to == self.me && a.generation == self.generation {
                    bump!(self.counters, acks_received);
                    self.send.ack(from, generation, a.cumulative, now);
                }
            }
            Body::RetransmitRequest(r) => {
                if r.to == self.me && r.generation == self.generation {
                    self.serve(now, from, r);
                }
            }
            Body::Nak(n) => {
                if n.to == self.me
                    && let Some((s, mut ctx)) = self.stream(from, generation)
                {
                    s.on_nak(&mut ctx, now, n.last);
                }
            }
        }
    }

    /// Handles a liveness event of the failure detector.
    pub fn handle_peer(&mut self, _now: Timestamp, event: PeerEvent) {
        match event {
            PeerEvent::Alive { node, generation } => {
                if node == self.me {
                    return;
                }
                // Looking the stream up resets it if it belonged to an older life.
                let _ = self.stream(&node, generation);
                self.send.peer_alive(node, generation);
            }
            PeerEvent::Dead { node } => self.peer_gone(&node, LossReason::PeerDead),
            PeerEvent::Left { node } => self.peer_gone(&node, LossReason::PeerLeft),
        }
    }

    /// Acts on timers due at `now`: delayed acknowledgements, retransmission requests,
    /// acknowledgement timeouts.
    pub fn handle_tick(&mut self, now: Timestamp) {
        let timed_out = self.send.check_ack_timers(now, self.config.ack_timeout);
        bump!(self.counters, ack_timeouts, timed_out);
        let (streams, mut ctx) = self.parts();
        for s in streams.values_mut() {
            s.on_tick(&mut ctx, now);
        }
    }

    /// When [`Engine::handle_tick`] next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.streams
            .values()
            .filter_map(RecvStream::next_deadline)
            .chain(self.send.next_ack_timeout(self.config.ack_timeout))
            .min()
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Every pending output, oldest first.
    pub fn drain_outputs(&mut self) -> impl Iterator<Item = Output> + '_ {
        self.outputs.drain(..)
    }

    /// Where this node's stream stands, for its heartbeats.
    pub fn position(&self) -> StreamPosition {
        StreamPosition {
            highest_sent: self.send.highest_sent(),
            oldest_retained: self.send.oldest_retained(),
        }
    }

    /// A heartbeat body carrying this node's stream position.
    pub fn heartbeat(&self, status: SenderStatus, keepalive_ms: u32, deadtime_ms: u32) -> Body {
        let p = self.position();
        Body::Heartbeat(Heartbeat {
            status,
            keepalive_ms,
            deadtime_ms,
            highest_sent: p.highest_sent,
            oldest_retained: p.oldest_retained,
        })
    }

    /// Fragments sent but not yet acknowledged by every live peer. A daemon shutting
    /// down cleanly waits (a bounded time) for this to reach 0 before it sends its
    /// leave, so its last messages are not lost.
    pub fn unacked(&self) -> usize {
        self.send.retained_len()
    }

    /// Counters, with the gauges filled in.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.send_buffer_fragments = self.send.retained_len() as u64;
        c.send_buffer_bytes = self.send.retained_bytes() as u64;
        c.receive_buffer_fragments = self.streams.values().map(|s| s.pending_len() as u64).sum();
        c
    }

    /// The receive streams, and a context for them to work in (split borrows).
    fn parts(&mut self) -> (&mut BTreeMap<NodeName, RecvStream>, Ctx<'_>) {
        let Engine {
            me,
            config,
            rng,
            streams,
            outputs,
            counters,
            ..
        } = self;
        let ctx = Ctx {
            me,
            cfg: config,
            out: outputs,
            counters,
            rng,
        };
        (streams, ctx)
    }

    /// The receive stream of `from` in `generation` and a context to work in, or `None`
    /// for a packet of an earlier life. A newer life replaces the stream, reporting
    /// what the previous life left undelivered.
    fn stream(
        &mut self,
        from: &NodeName,
        generation: Generation,
    ) -> Option<(&mut RecvStream, Ctx<'_>)> {
        let (streams, mut ctx) = self.parts();
        let s = streams
            .entry(from.clone())
            .or_insert_with(|| RecvStream::new(from.clone(), generation));
        if s.generation > generation {
            return None;
        }
        if s.generation < generation {
            s.interrupt(&mut ctx, LossReason::PeerRestarted);
            *s = RecvStream::new(from.clone(), generation);
        }
        Some((s, ctx))
    }

    fn peer_gone(&mut self, node: &NodeName, reason: LossReason) {
        self.send.peer_gone(node);
        let (streams, mut ctx) = self.parts();
        if let Some(s) = streams.get_mut(node) {
            s.interrupt(&mut ctx, reason);
        }
    }

    /// Answers a retransmission request: resend what is retained (unless just resent),
    /// nak what is not.
    fn serve(&mut self, now: Timestamp, from: &NodeName, r: &RetransmitRequest) {
        bump!(self.counters, retransmit_requests_received);
        let oldest = self.send.oldest_retained();
        let highest = self.send.highest_sent();
        let mut budget = self.config.max_rexmit_per_request;
        let mut nak: Option<(u64, u64)> = None;
        for range in &r.ranges {
            if range.first < oldest {
                let first = range.first.max(1);
                let last = range.last.min(oldest - 1);
                if first <= last {
                    nak = Some(nak.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
                }
            }
            let mut seq = range.first.max(oldest);
            while seq <= range.last.min(highest) && budget > 0 {
                budget -= 1;
                let suppress = self.config.rexmit_suppress;
                let Some(f) = self.send.get_mut(seq) else {
                    break;
                };
                if f.last_rexmit.is_some_and(|t| now < t + suppress) {
                    bump!(self.counters, retransmits_suppressed);
                } else {
                    f.last_rexmit = Some(now);
                    if let Some(body) = self.send.body_of(seq) {
                        bump!(self.counters, retransmits_sent);
                        self.outputs.push_back(Output::Transmit(body));
                    }
                }
                seq += 1;
            }
        }
        if let Some((first, last)) = nak {
            bump!(self.counters, naks_sent);
            self.outputs.push_back(Output::Transmit(Body::Nak(Nak {
                to: from.clone(),
                first,
                last,
            })));
        }
    }
}
