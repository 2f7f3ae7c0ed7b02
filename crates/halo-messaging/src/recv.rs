//! The receiving side: one stream per sender and generation, put back in order.

use std::collections::{BTreeMap, VecDeque};

use halo_types::{Generation, NodeName, Timestamp};
use halo_wire::{Ack, Body, Channel, DataFragment, MAX_RANGES, RetransmitRequest, SeqRange};

use crate::config::Config;
use crate::counters::{Counters, bump};
use crate::rng::SplitMix64;
use crate::{Destination, Loss, LossReason, Message, Output};

/// What a stream needs from its engine while it works.
pub(crate) struct Ctx<'a> {
    pub(crate) me: &'a NodeName,
    pub(crate) cfg: &'a Config,
    pub(crate) out: &'a mut VecDeque<Output>,
    pub(crate) counters: &'a mut Counters,
    pub(crate) rng: &'a mut SplitMix64,
}

/// A fragment that arrived before its turn.
#[derive(Debug)]
struct Slot {
    /// Whether this node is a destination; if not, the payload is not kept.
    for_me: bool,
    dest: Option<NodeName>,
    channel: Channel,
    index: u16,
    count: u16,
    payload: Vec<u8>,
}

/// The message being put together from consecutive fragments.
#[derive(Debug)]
enum Partial {
    /// Between messages.
    Idle,
    /// Fragments `0..next_index` of a message for this node are in `data`.
    Collecting {
        seq: u64,
        channel: Channel,
        dest: Option<NodeName>,
        count: u16,
        next_index: u16,
        data: Vec<u8>,
    },
    /// The start of the current message is lost (or predates our joining the
    /// stream): its remaining fragments are thrown away until the next message starts.
    Discarding,
}

impl Partial {
    fn fragments(&self) -> u64 {
        match self {
            Partial::Collecting { next_index, .. } => u64::from(*next_index),
            _ => 0,
        }
    }
}

/// One sender's stream in one generation, as this node receives it.
#[derive(Debug)]
pub(crate) struct RecvStream {
    pub(crate) from: NodeName,
    pub(crate) generation: Generation,
    /// Whether we have picked our starting point in the stream.
    synced: bool,
    /// The next data sequence number to process. Kept across a death of the sender
    /// (same generation), so nothing is ever delivered twice.
    next: u64,
    /// Sequence numbers up to here were sent before we joined the stream: if the
    /// sender cannot repair them, skipping them is not a loss.
    sync_high: u64,
    /// The highest sequence number known to exist.
    highest_known: u64,
    /// Fragments after `next`, within the receive window.
    pending: BTreeMap<u64, Slot>,
    partial: Partial,
    /// The last cumulative acknowledgement sent.
    ack_sent: u64,
    ack_due: Option<Timestamp>,
    rexmit_due: Option<Timestamp>,
}

impl RecvStream {
    pub(crate) fn new(from: NodeName, generation: Generation) -> RecvStream {
        RecvStream {
            from,
            generation,
            synced: false,
            next: 1,
            sync_high: 0,
            highest_known: 0,
            pending: BTreeMap::new(),
            partial: Partial::Idle,
            ack_sent: 0,
            ack_due: None,
            rexmit_due: None,
        }
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        match (self.ack_due, self.rexmit_due) {
            (Some(a), Some(r)) => Some(a.min(r)),
            (a, r) => a.or(r),
        }
    }

    /// Picks the starting point: the oldest fragment the sender still holds, so that
    /// everything it sent since it counted us alive is fetched, and nothing older is
    /// asked for. Up to `high` (what the sender had sent when we first heard it) a
    /// fragment the sender can no longer repair is skipped without a loss report.
    fn synchronise(&mut self, oldest: u64, high: u64) {
        if self.synced {
            return;
        }
        self.synced = true;
        self.next = self.next.max(oldest).max(1);
        self.sync_high = high;
        self.highest_known = self.highest_known.max(self.next - 1);
        // The sender holds nothing below `oldest`: nothing there to acknowledge.
        self.ack_sent = self.ack_sent.max(self.next - 1);
        // We may be joining in the middle of a message.
        self.partial = Partial::Discarding;
    }

    pub(crate) fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Timestamp,
        oldest: u64,
        highest: u64,
    ) {
        self.synchronise(oldest, highest);
        self.note_position(ctx, oldest, highest);
        // The sender still holds fragments we have: our acknowledgement may have been
        // lost, or we were only just added to its ack set. Say it (again).
        if self.next > 1 && oldest < self.next {
            self.schedule_ack(ctx, now);
        }
        self.settle(ctx, now);
    }

    pub(crate) fn on_data(&mut self, ctx: &mut Ctx<'_>, now: Timestamp, d: &DataFragment) {
        if d.seq == 0 {
            bump!(ctx.counters, protocol_errors);
            return;
        }
        self.synchronise(d.oldest_retained, d.seq - 1);
        if d.seq < self.next || self.pending.contains_key(&d.seq) {
            bump!(ctx.counters, duplicate_fragments);
        } else if d.seq - self.next >= ctx.cfg.recv_window {
            bump!(ctx.counters, window_drops);
        } else {
            bump!(ctx.counters, fragments_received);
            let for_me = d.dest.as_ref().is_none_or(|n| n == ctx.me);
            self.pending.insert(
                d.seq,
                Slot {
                    for_me,
                    dest: d.dest.clone(),
                    channel: d.channel,
                    index: d.index,
                    count: d.count,
                    payload: if for_me {
                        d.payload.clone()
                    } else {
                        Vec::new()
                    },
                },
            );
        }
        self.note_position(ctx, d.oldest_retained, d.seq);
        self.settle(ctx, now);
    }

    /// The sender cannot repair anything up to `last`.
    pub(crate) fn on_nak(&mut self, ctx: &mut Ctx<'_>, now: Timestamp, last: u64) {
        bump!(ctx.counters, naks_received);
        if !self.synced {
            return;
        }
        self.skip_to(ctx, last.saturating_add(1), LossReason::NotRetained);
        self.settle(ctx, now);
    }

    /// The sender says it has sent up to `highest` and holds nothing before `oldest`.
    fn note_position(&mut self, ctx: &mut Ctx<'_>, oldest: u64, highest: u64) {
        self.highest_known = self.highest_known.max(highest);
        if oldest > self.next {
            self.skip_to(ctx, oldest, LossReason::NotRetained);
        }
    }

    /// Delivers what is in order, then decides about acknowledgements and requests.
    fn settle(&mut self, ctx: &mut Ctx<'_>, now: Timestamp) {
        while let Some(slot) = self.pending.remove(&self.next) {
            self.process(ctx, self.next, slot);
            self.next += 1;
        }
        let have = self.next - 1;
        if have > self.ack_sent {
            if have - self.ack_sent >= ctx.cfg.ack_every {
                self.send_ack(ctx);
            } else {
                self.schedule_ack(ctx, now);
            }
        }
        if self.highest_known >= self.next {
            if self.rexmit_due.is_none() {
                let delay = ctx
                    .rng
                    .between(ctx.cfg.rexmit_delay_min, ctx.cfg.rexmit_delay_max);
                self.rexmit_due = Some(now + delay);
            }
        } else {
            self.rexmit_due = None;
        }
    }

    fn schedule_ack(&mut self, ctx: &Ctx<'_>, now: Timestamp) {
        let due = now + ctx.cfg.ack_delay;
        self.ack_due = Some(self.ack_due.map_or(due, |d| d.min(due)));
    }

    fn send_ack(&mut self, ctx: &mut Ctx<'_>) {
        self.ack_due = None;
        if !self.synced || self.next <= 1 {
            return;
        }
        self.ack_sent = self.next - 1;
        bump!(ctx.counters, acks_sent);
        ctx.out.push_back(Output::Transmit(Body::Ack(Ack {
            to: self.from.clone(),
            generation: self.generation,
            cumulative: self.ack_sent,
        })));
    }

    pub(crate) fn on_tick(&mut self, ctx: &mut Ctx<'_>, now: Timestamp) {
        if self.ack_due.is_some_and(|t| t <= now) {
            self.send_ack(ctx);
        }
        if self.rexmit_due.is_some_and(|t| t <= now) {
            self.request(ctx, now);
        }
    }

    /// Asks the sender for what is missing, and plans to ask again.
    fn request(&mut self, ctx: &mut Ctx<'_>, now: Timestamp) {
        let ranges = self.missing_ranges(ctx.cfg.recv_window);
        if ranges.is_empty() {
            self.rexmit_due = None;
            return;
        }
        let asked: u64 = ranges.iter().map(|r| r.last - r.first + 1).sum();
        bump!(ctx.counters, retransmit_requests_sent);
        bump!(ctx.counters, retransmits_requested, asked);
        ctx.out.push_back(Output::Transmit(Body::RetransmitRequest(
            RetransmitRequest {
                to: self.from.clone(),
                generation: self.generation,
                ranges,
            },
        )));
        let interval = ctx.cfg.rexmit_interval;
        self.rexmit_due = Some(now + interval + ctx.rng.between(interval / 4, interval / 2));
    }

    /// The gaps between `next` and the highest known number, within the window.
    fn missing_ranges(&self, window: u64) -> Vec<SeqRange> {
        let mut ranges = Vec::new();
        if !self.synced || self.highest_known < self.next {
            return ranges;
        }
        let end = self.highest_known.min(self.next.saturating_add(window - 1));
        let mut cur = self.next;
        for &k in self.pending.range(self.next..=end).map(|(k, _)| k) {
            if k > cur {
                ranges.push(SeqRange {
                    first: cur,
                    last: k - 1,
                });
                if ranges.len() == MAX_RANGES {
                    return ranges;
                }
            }
            cur = k + 1;
        }
        if cur <= end {
            ranges.push(SeqRange {
                first: cur,
                last: end,
            });
        }
        ranges
    }

    /// Moves `next` up to `target`, processing what we have and giving up on the rest.
    fn skip_to(&mut self, ctx: &mut Ctx<'_>, target: u64, reason: LossReason) {
        let (mut lost, mut silent) = (0u64, 0u64);
        while self.next < target {
            if let Some(slot) = self.pending.remove(&self.next) {
                self.process(ctx, self.next, slot);
                self.next += 1;
                continue;
            }
            let upto = self
                .pending
                .range(self.next..target)
                .next()
                .map_or(target, |(k, _)| *k);
            let history_end = upto.min(self.sync_high.saturating_add(1)).max(self.next);
            silent += history_end - self.next;
            lost += upto - history_end;
            // The message in progress cannot be completed.
            let broken = self.partial.fragments();
            if upto > history_end {
                lost += broken;
            } else {
                silent += broken;
            }
            self.partial = Partial::Discarding;
            self.next = upto;
        }
        self.highest_known = self.highest_known.max(self.next - 1);
        // The sender freed everything below `target`: no acknowledgement needed there.
        self.ack_sent = self.ack_sent.max(self.next - 1);
        bump!(ctx.counters, history_skipped, silent);
        self.report(ctx, reason, lost);
    }

    fn report(&self, ctx: &mut Ctx<'_>, reason: LossReason, fragments: u64) {
        if fragments == 0 {
            return;
        }
        bump!(ctx.counters, losses_reported);
        bump!(ctx.counters, fragments_lost, fragments);
        ctx.out.push_back(Output::Loss(Loss {
            from: self.from.clone(),
            generation: self.generation,
            reason,
            fragments,
        }));
    }

    /// The sender died, left or restarted: report what will never come, and start
    /// afresh (keeping `next`, so nothing already delivered is delivered again).
    pub(crate) fn interrupt(&mut self, ctx: &mut Ctx<'_>, reason: LossReason) {
        if self.synced {
            let known = self.highest_known.saturating_sub(self.next - 1);
            self.report(ctx, reason, known + self.partial.fragments());
        }
        self.synced = false;
        self.pending.clear();
        self.partial = Partial::Idle;
        self.highest_known = self.next - 1;
        self.ack_due = None;
        self.rexmit_due = None;
    }

    /// Consumes fragment `seq`, the next in order.
    fn process(&mut self, ctx: &mut Ctx<'_>, seq: u64, slot: Slot) {
        if !slot.for_me {
            // Someone else's message. Ours are contiguous, so one in progress is broken.
            if matches!(self.partial, Partial::Collecting { .. }) {
                self.protocol_error(ctx);
            }
            self.partial = Partial::Idle;
            return;
        }
        if slot.index == 0 {
            if matches!(self.partial, Partial::Collecting { .. }) {
                self.protocol_error(ctx);
            }
            self.partial = Partial::Collecting {
                seq,
                channel: slot.channel,
                dest: slot.dest,
                count: slot.count,
                next_index: 0,
                data: Vec::new(),
            };
        }
        let max = ctx.cfg.max_message_size;
        match &mut self.partial {
            Partial::Collecting {
                channel,
                count,
                next_index,
                data,
                ..
            } if *next_index == slot.index
                && *count == slot.count
                && *channel == slot.channel
                && data.len() + slot.payload.len() <= max =>
            {
                data.extend_from_slice(&slot.payload);
                *next_index += 1;
                if *next_index == *count {
                    self.deliver(ctx);
                }
            }
            Partial::Discarding => {}
            _ => self.protocol_error(ctx),
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>) {
        if let Partial::Collecting {
            seq,
            channel,
            dest,
            data,
            ..
        } = std::mem::replace(&mut self.partial, Partial::Idle)
        {
            bump!(ctx.counters, messages_delivered);
            ctx.out.push_back(Output::Deliver(Message {
                from: self.from.clone(),
                generation: self.generation,
                seq,
                channel,
                to: dest.map_or(Destination::All, Destination::Node),
                payload: data,
            }));
        }
    }

    /// An authentic peer broke the fragmentation rules: drop its message in progress.
    fn protocol_error(&mut self, ctx: &mut Ctx<'_>) {
        bump!(ctx.counters, protocol_errors);
        let fragments = self.partial.fragments().max(1);
        self.report(ctx, LossReason::ProtocolError, fragments);
        self.partial = Partial::Discarding;
    }
}
