//! The replay and generation guard: one per peer, fed only authentic packets.

use halo_types::Generation;

use crate::packet::DropReason;

/// How many packet sequence numbers behind the newest one the guard still remembers.
///
/// Every packet goes out on every medium, so the copies of one packet arrive at
/// different times; a copy that arrives more than this many packets late is
/// indistinguishable from a replay and is dropped as one. 4096 packets is several
/// seconds of a busy sender; the bitmap costs 512 bytes per peer.
pub const REPLAY_WINDOW: u64 = 4096;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// What the guard says about one authentic packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not seen before: accept it.
    Fresh,
    /// A copy of a recent packet, normal with redundant media. It proves that the link
    /// it came on works, but its content must not be acted on twice.
    Duplicate,
    /// The first packet of a newer generation: the peer started (`previous` is `None`
    /// the first time we hear it) or restarted. Accept it, and reset whatever was known
    /// about the peer's previous life.
    NewGeneration {
        /// The generation we knew before, if any.
        previous: Option<Generation>,
    },
    /// Older than the window: drop it and count it.
    Replay,
    /// From an earlier generation than the one we know: drop it and count it.
    StaleGeneration,
}

impl Verdict {
    /// Whether the packet's content should be acted on.
    pub fn is_accepted(self) -> bool {
        matches!(self, Verdict::Fresh | Verdict::NewGeneration { .. })
    }

    /// The drop reason for the verdicts that drop.
    pub fn drop_reason(self) -> Option<DropReason> {
        match self {
            Verdict::Replay => Some(DropReason::Replay),
            Verdict::StaleGeneration => Some(DropReason::StaleGeneration),
            _ => None,
        }
    }
}

#[derive(Clone)]
struct Window {
    generation: Generation,
    highest: u64,
    /// Bit `seq % REPLAY_WINDOW` is set when `seq` (within the window) has been seen.
    seen: Box<[u64; WORDS]>,
}

impl Window {
    fn new(generation: Generation, seq: u64) -> Window {
        let mut w = Window {
            generation,
            highest: seq,
            seen: Box::new([0; WORDS]),
        };
        w.set(seq);
        w
    }

    fn slot(seq: u64) -> (usize, u64) {
        let bit = seq % REPLAY_WINDOW;
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    fn set(&mut self, seq: u64) {
        let (word, mask) = Window::slot(seq);
        self.seen[word] |= mask;
    }

    fn is_set(&self, seq: u64) -> bool {
        let (word, mask) = Window::slot(seq);
        self.seen[word] & mask != 0
    }

    /// Moves the window so that `seq` is its newest number.
    fn advance_to(&mut self, seq: u64) {
        let step = seq - self.highest;
        if step >= REPLAY_WINDOW {
            self.seen.fill(0);
        } else {
            // The numbers entering the window reuse the slots of those leaving it.
            for s in self.highest + 1..=seq {
                let (word, mask) = Window::slot(s);
                self.seen[word] &= !mask;
            }
        }
        self.highest = seq;
        self.set(seq);
    }
}

/// Tracks one peer's generation and the sequence numbers recently seen from it.
///
/// **Feed it authentic packets only** (after [`crate::decode`]): a forged packet with a
/// huge sequence number would otherwise push the window past every real one.
///
/// # What it protects against
///
/// An attacker on the network can record packets and send them again. The HMAC does
/// not stop that: a replayed packet is authentic. The guard does:
///
/// * a copy of a packet still inside the window is recognised ([`Verdict::Duplicate`])
///   and never acted on twice;
/// * a packet older than the window is dropped ([`Verdict::Replay`]);
/// * a packet of an earlier generation (an earlier life of the daemon) is dropped
///   ([`Verdict::StaleGeneration`]), however recent its sequence number, so a recorded
///   "leave" cannot be replayed after the peer restarted.
///
/// What an attacker *can* still do, and why it is acceptable:
///
/// * **Delay, reorder and drop** packets within the window: a packet it withheld and
///   then sends is accepted once, as if the network had been slow. An attacker who can
///   drop packets can make a node look dead anyway; an authenticated protocol cannot
///   prevent denial of service, only forgery.
/// * **Relay** live packets from one medium onto another (a wormhole): the copy is a
///   duplicate, which the daemon counts as proof that the link it arrived on works.
///   So an attacker on a dead medium's network, who also hears a live medium, can make
///   the dead link look up. The node's own liveness is unaffected (the packets are
///   real and recent); only the per-link status can be misled.
/// * **Right after the receiver starts**, before it has heard a peer's current
///   generation, it cannot tell an old recorded packet from a live one: the first
///   authentic packet sets the generation. A replayed packet of an old generation can
///   then make the peer look alive, or (a recorded leave) leaving, until the peer's
///   next real packet announces a newer generation — at most one keepalive later,
///   which is why a daemon should not act on membership before `initdead`. A daemon
///   that persists the highest generation seen per peer closes this gap with
///   [`ReplayGuard::with_floor`].
/// * It cannot forge a packet, make a packet count twice, raise a generation, or make
///   an old generation current again once the guard has heard a newer one.
#[derive(Clone, Default)]
pub struct ReplayGuard {
    window: Option<Window>,
    /// Generations below this are stale even before anything was heard.
    floor: Generation,
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("generation", &self.generation())
            .field("highest", &self.window.as_ref().map(|w| w.highest))
            .field("floor", &self.floor)
            .finish()
    }
}

impl ReplayGuard {
    /// A guard that has heard nothing: the first authentic packet sets the generation.
    pub fn new() -> ReplayGuard {
        ReplayGuard::default()
    }

    /// A guard that treats every generation below `floor` as stale: for a daemon that
    /// remembers (across its own restarts) the newest generation it saw of each peer.
    pub fn with_floor(floor: Generation) -> ReplayGuard {
        ReplayGuard {
            window: None,
            floor,
        }
    }

    /// The peer's generation, once heard.
    pub fn generation(&self) -> Option<Generation> {
        self.window.as_ref().map(|w| w.generation)
    }

    /// Judges one authentic packet of generation `generation` with packet sequence
    /// number `seq`, and records it.
    pub fn check(&mut self, generation: Generation, seq: u64) -> Verdict {
        let Some(w) = self.window.as_mut() else {
            if generation < self.floor {
                return Verdict::StaleGeneration;
            }
            self.window = Some(Window::new(generation, seq));
            return Verdict::NewGeneration { previous: None };
        };
        if generation < w.generation {
            return Verdict::StaleGeneration;
        }
        if generation > w.generation {
            let previous = Some(w.generation);
            *w = Window::new(generation, seq);
            return Verdict::NewGeneration { previous };
        }
        if seq > w.highest {
            w.advance_to(seq);
            return Verdict::Fresh;
        }
        if w.highest - seq >= REPLAY_WINDOW {
            return Verdict::Replay;
        }
        if w.is_set(seq) {
            return Verdict::Duplicate;
        }
        w.set(seq);
        Verdict::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: Generation = Generation(1);
    const G2: Generation = Generation(2);

    #[test]
    fn first_packet_sets_the_generation() {
        let mut g = ReplayGuard::new();
        assert_eq!(g.check(G2, 100), Verdict::NewGeneration { previous: None });
        assert_eq!(g.generation(), Some(G2));
        assert_eq!(g.check(G2, 101), Verdict::Fresh);
    }

    #[test]
    fn copies_within_the_window_are_duplicates_and_late_originals_are_fresh() {
        let mut g = ReplayGuard::new();
        g.check(G1, 1);
        assert_eq!(g.check(G1, 5), Verdict::Fresh);
        assert_eq!(g.check(G1, 5), Verdict::Duplicate);
        assert_eq!(g.check(G1, 1), Verdict::Duplicate);
        // 3 never came: late but inside the window, so accepted once.
        assert_eq!(g.check(G1, 3), Verdict::Fresh);
        assert_eq!(g.check(G1, 3), Verdict::Duplicate);
    }

    #[test]
    fn packets_older_than_the_window_are_replays() {
        let mut g = ReplayGuard::new();
        g.check(G1, 1);
        g.check(G1, 1 + REPLAY_WINDOW);
        assert_eq!(g.check(G1, 1), Verdict::Replay);
        // The oldest number still inside the window, never seen: fresh.
        assert_eq!(g.check(G1, 2), Verdict::Fresh);
    }

    #[test]
    fn slots_reused_by_newer_numbers_do_not_leak_old_bits() {
        let mut g = ReplayGuard::new();
        g.check(G1, 10);
        // 10 + WINDOW reuses 10's slot; it must be fresh, not a duplicate.
        assert_eq!(g.check(G1, 10 + REPLAY_WINDOW), Verdict::Fresh);
        // A jump of many windows clears everything.
        assert_eq!(g.check(G1, 10 + 5 * REPLAY_WINDOW), Verdict::Fresh);
        assert_eq!(
            g.check(G1, 10 + 5 * REPLAY_WINDOW - 1),
            Verdict::Fresh,
            "never seen"
        );
    }

    #[test]
    fn generations_order_lives() {
        let mut g = ReplayGuard::new();
        g.check(G2, 500);
        assert_eq!(g.check(G1, 501), Verdict::StaleGeneration);
        assert_eq!(
            g.check(Generation(3), 1),
            Verdict::NewGeneration { previous: Some(G2) }
        );
        // The new life starts its window afresh: low numbers are fine.
        assert_eq!(g.check(Generation(3), 2), Verdict::Fresh);
        assert_eq!(g.check(G2, 600), Verdict::StaleGeneration);
    }

    #[test]
    fn a_floor_rejects_old_lives_before_anything_is_heard() {
        let mut g = ReplayGuard::with_floor(G2);
        assert_eq!(g.check(G1, 1), Verdict::StaleGeneration);
        assert_eq!(g.check(G2, 1), Verdict::NewGeneration { previous: None });
    }

    #[test]
    fn verdicts_map_to_drop_reasons() {
        assert_eq!(Verdict::Replay.drop_reason(), Some(DropReason::Replay));
        assert_eq!(
            Verdict::StaleGeneration.drop_reason(),
            Some(DropReason::StaleGeneration)
        );
        assert_eq!(Verdict::Duplicate.drop_reason(), None);
        assert!(!Verdict::Duplicate.is_accepted());
        assert!(Verdict::NewGeneration { previous: None }.is_accepted());
    }
}
