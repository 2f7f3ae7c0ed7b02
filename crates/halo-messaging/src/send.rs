//! The sending side: this node's reliable stream and the acknowledgements of its peers.

use std::collections::{BTreeMap, VecDeque};

use halo_types::{Generation, NodeName, Timestamp};
use halo_wire::{Body, Channel, DataFragment};

/// One fragment kept for retransmission.
#[derive(Debug, Clone)]
pub(crate) struct Retained {
    pub(crate) dest: Option<NodeName>,
    pub(crate) channel: Channel,
    pub(crate) index: u16,
    pub(crate) count: u16,
    pub(crate) payload: Vec<u8>,
    /// When it was last retransmitted (not the first transmission: a request right
    /// after the original went out means the original was lost, and is served).
    pub(crate) last_rexmit: Option<Timestamp>,
}

fn data_body(seq: u64, oldest_retained: u64, r: &Retained) -> Body {
    Body::Data(DataFragment {
        seq,
        oldest_retained,
        dest: r.dest.clone(),
        channel: r.channel,
        index: r.index,
        count: r.count,
        payload: r.payload.clone(),
    })
}

/// What this node knows about one live peer's reception of its stream.
#[derive(Debug, Clone)]
pub(crate) struct PeerAck {
    /// The peer's generation: an ack from another life of the peer means nothing.
    pub(crate) generation: Generation,
    /// Everything up to here is acknowledged (or was sent before the peer joined).
    pub(crate) acked: u64,
    /// Since when the peer has left sent data unacknowledged, if it has.
    pub(crate) waiting_since: Option<Timestamp>,
    /// No acknowledgement for `ack_timeout`: the peer no longer holds the buffer.
    pub(crate) unresponsive: bool,
}

/// This node's stream in its current generation.
#[derive(Debug)]
pub(crate) struct SendStream {
    /// The data sequence number the next fragment gets (from 1).
    next_seq: u64,
    /// Fragments `oldest()..next_seq`, oldest first.
    retained: VecDeque<Retained>,
    retained_bytes: usize,
    /// The ack set: peers the failure detector reports alive.
    pub(crate) peers: BTreeMap<NodeName, PeerAck>,
}

impl SendStream {
    pub(crate) fn new() -> SendStream {
        SendStream {
            next_seq: 1,
            retained: VecDeque::new(),
            retained_bytes: 0,
            peers: BTreeMap::new(),
        }
    }

    pub(crate) fn highest_sent(&self) -> u64 {
        self.next_seq - 1
    }

    pub(crate) fn oldest_retained(&self) -> u64 {
        self.next_seq - self.retained.len() as u64
    }

    pub(crate) fn retained_len(&self) -> usize {
        self.retained.len()
    }

    pub(crate) fn retained_bytes(&self) -> usize {
        self.retained_bytes
    }

    /// Appends a fragment to the stream and returns its first transmission.
    pub(crate) fn push(&mut self, r: Retained) -> Body {
        // Appending does not move the low-water mark, so the body can be built first.
        let body = data_body(self.next_seq, self.oldest_retained(), &r);
        self.next_seq += 1;
        self.retained_bytes += r.payload.len();
        self.retained.push_back(r);
        body
    }

    /// The data body of retained fragment `seq`, with the current low-water mark.
    pub(crate) fn body_of(&self, seq: u64) -> Option<Body> {
        Some(data_body(seq, self.oldest_retained(), self.get(seq)?))
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&Retained> {
        let i = seq.checked_sub(self.oldest_retained())?;
        self.retained.get(usize::try_from(i).ok()?)
    }

    pub(crate) fn get_mut(&mut self, seq: u64) -> Option<&mut Retained> {
        let i = seq.checked_sub(self.oldest_retained())?;
        self.retained.get_mut(usize::try_from(i).ok()?)
    }

    /// A peer reported alive: it is owed everything sent from now on, and also what is
    /// still retained (it may have synchronised on an older heartbeat).
    pub(crate) fn peer_alive(&mut self, node: NodeName, generation: Generation) {
        let acked = self.oldest_retained() - 1;
        match self.peers.get(&node) {
            Some(p) if p.generation >= generation => {}
            _ => {
                self.peers.insert(
                    node,
                    PeerAck {
                        generation,
                        acked,
                        waiting_since: None,
                        unresponsive: false,
                    },
                );
            }
        }
    }

    /// A peer is dead or gone: it no longer holds the buffer.
    pub(crate) fn peer_gone(&mut self, node: &NodeName) {
        self.peers.remove(node);
        self.free();
    }

    /// Records an acknowledgement. Returns whether it was from a peer of the ack set.
    pub(crate) fn ack(
        &mut self,
        from: &NodeName,
        generation: Generation,
        cumulative: u64,
        now: Timestamp,
    ) -> bool {
        let highest = self.highest_sent();
        let Some(p) = self.peers.get_mut(from) else {
            return false;
        };
        if p.generation != generation {
            return false;
        }
        let c = cumulative.min(highest);
        if c > p.acked {
            p.acked = c;
            p.waiting_since = (c < highest).then_some(now);
        }
        if c >= highest {
            p.waiting_since = None;
        }
        p.unresponsive = false;
        self.free();
        true
    }

    /// Frees every fragment that every responsive live peer has acknowledged.
    pub(crate) fn free(&mut self) {
        let highest = self.highest_sent();
        let floor = self
            .peers
            .values()
            .filter(|p| !p.unresponsive)
            .map(|p| p.acked)
            .min()
            .unwrap_or(highest);
        while self.oldest_retained() <= floor {
            match self.retained.pop_front() {
                Some(r) => self.retained_bytes -= r.payload.len(),
                None => break,
            }
        }
    }

    /// Starts the ack timers of peers that now owe an acknowledgement, and returns how
    /// many peers timed out at `now` (they stop holding back the buffer).
    pub(crate) fn check_ack_timers(&mut self, now: Timestamp, timeout: std::time::Duration) -> u64 {
        let highest = self.highest_sent();
        let mut timed_out = 0;
        for p in self.peers.values_mut() {
            if p.acked >= highest {
                p.waiting_since = None;
                continue;
            }
            let since = *p.waiting_since.get_or_insert(now);
            if !p.unresponsive && now >= since + timeout {
                p.unresponsive = true;
                timed_out += 1;
            }
        }
        if timed_out > 0 {
            self.free();
        }
        timed_out
    }

    /// When the next ack timeout expires.
    pub(crate) fn next_ack_timeout(&self, timeout: std::time::Duration) -> Option<Timestamp> {
        self.peers
            .values()
            .filter(|p| !p.unresponsive)
            .filter_map(|p| p.waiting_since)
            .map(|t| t + timeout)
            .min()
    }
}
