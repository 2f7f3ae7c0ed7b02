//! What the engine did, for `halo status`.

use serde::Serialize;

/// Counters and gauges of one engine. Serialises to a flat JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Messages accepted by `send` (including those to this node itself).
    pub messages_sent: u64,
    /// Fragments sent for the first time.
    pub fragments_sent: u64,
    /// Messages delivered to upper layers.
    pub messages_delivered: u64,
    /// Data fragments received (first copies, any destination).
    pub fragments_received: u64,
    /// Data fragments received again (retransmissions meant for someone else, or late).
    pub duplicate_fragments: u64,
    /// Retransmission requests this node sent.
    pub retransmit_requests_sent: u64,
    /// Fragments those requests asked for.
    pub retransmits_requested: u64,
    /// Retransmission requests received for this node's stream.
    pub retransmit_requests_received: u64,
    /// Fragments this node retransmitted.
    pub retransmits_sent: u64,
    /// Requested fragments not retransmitted because they just were.
    pub retransmits_suppressed: u64,
    /// Naks sent ("cannot retransmit, skip").
    pub naks_sent: u64,
    /// Naks received.
    pub naks_received: u64,
    /// Acknowledgements sent.
    pub acks_sent: u64,
    /// Acknowledgements received for this node's stream.
    pub acks_received: u64,
    /// Loss reports made to the upper layers.
    pub losses_reported: u64,
    /// Fragments those reports covered.
    pub fragments_lost: u64,
    /// Fragments sent before this node joined a peer's stream that could not be
    /// fetched any more: not a loss, they were never promised.
    pub history_skipped: u64,
    /// Authentic packets that broke the protocol's rules (a peer's bug).
    pub protocol_errors: u64,
    /// Fragments that arrived too far ahead of the receive window, to be asked again.
    pub window_drops: u64,
    /// `send` calls refused because the send window was full.
    pub backpressure_rejections: u64,
    /// Times a live peer stopped holding back the send buffer (no ack within
    /// `ack_timeout`).
    pub ack_timeouts: u64,
    /// Gauge: fragments held for retransmission.
    pub send_buffer_fragments: u64,
    /// Gauge: payload bytes held for retransmission.
    pub send_buffer_bytes: u64,
    /// Gauge: fragments held out of order, waiting for gaps, over all senders.
    pub receive_buffer_fragments: u64,
}

macro_rules! bump {
    ($c:expr, $field:ident) => {
        $c.$field = $c.$field.saturating_add(1)
    };
    ($c:expr, $field:ident, $n:expr) => {
        $c.$field = $c.$field.saturating_add($n)
    };
}
pub(crate) use bump;
