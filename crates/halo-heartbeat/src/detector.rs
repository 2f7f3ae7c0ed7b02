//! The state machine.

use std::net::IpAddr;
use std::time::Duration;

use halo_types::{Generation, LinkState, NodeName, NodeState, Timestamp};

use crate::event::{Event, LinkName, PeerId, Why};
use crate::{LinkSnapshot, PeerSnapshot, Snapshot};

/// The detector's timings (from ha.cf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Silence after which a peer or link is reported late.
    pub warntime: Duration,
    /// Our deadtime: for nodes that do not advertise theirs.
    pub deadtime: Duration,
    /// The deadtime for a peer not yet heard since we started.
    pub initdead: Duration,
    /// The deadtime of ping nodes and ping groups.
    pub deadping: Duration,
}

/// What the detector watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectorConfig {
    /// This node.
    pub local: NodeName,
    /// Every cluster node (this node may be listed too; it is not a peer).
    pub nodes: Vec<NodeName>,
    /// The links every node may be heard on (the media's link names), shown `dead` until
    /// heard. A heartbeat on a link not listed adds it.
    pub links: Vec<LinkName>,
    /// Ping nodes.
    pub ping_nodes: Vec<IpAddr>,
    /// Ping groups: a name and its addresses.
    pub ping_groups: Vec<(NodeName, Vec<IpAddr>)>,
    /// Timings.
    pub timing: Timing,
}

/// What a node says about itself in a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    /// Starting (heartbeat's `init` and `up`).
    Up,
    /// Fully started (comm is up on its side).
    Active,
}

/// One heartbeat, authenticated and decoded by the wire layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The sender.
    pub from: NodeName,
    /// The link it arrived on.
    pub link: LinkName,
    /// The sender's generation.
    pub generation: Generation,
    /// What the sender says it is.
    pub status: PeerStatus,
    /// The sender's deadtime, if it advertises one (zero counts as none).
    pub deadtime: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Link {
    name: LinkName,
    state: LinkState,
    last_heard: Option<Timestamp>,
    late: bool,
    late_count: u64,
}

impl Link {
    fn new(name: LinkName) -> Self {
        Link {
            name,
            state: LinkState::Dead,
            last_heard: None,
            late: false,
            late_count: 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Peer {
    id: PeerId,
    state: NodeState,
    /// Heard at least once since we started (for comm-up and initdead).
    ever_heard: bool,
    last_heard: Option<Timestamp>,
    late: bool,
    late_count: u64,
    generation: Option<Generation>,
    /// After a clean leave: heartbeats of this generation or older are ignored.
    left_generation: Option<Generation>,
    advertised_deadtime: Option<Duration>,
    links: Vec<Link>,
}

impl Peer {
    fn new(id: PeerId, links: Vec<LinkName>) -> Self {
        Peer {
            id,
            state: NodeState::Init,
            ever_heard: false,
            last_heard: None,
            late: false,
            late_count: 0,
            generation: None,
            left_generation: None,
            advertised_deadtime: None,
            links: links.into_iter().map(Link::new).collect(),
        }
    }

    fn is_ping(&self) -> bool {
        !matches!(self.id, PeerId::Node(_))
    }

    fn link_index(&mut self, name: &LinkName) -> usize {
        match self.links.iter().position(|l| &l.name == name) {
            Some(i) => i,
            None => {
                self.links.push(Link::new(name.clone()));
                self.links.len() - 1
            }
        }
    }
}

/// A pending timer, ordered so that at one instant a peer's late warning comes before
/// its links' events, and its links die before it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    CommUp,
    PeerLate(usize),
    LinkLate(usize, usize),
    LinkDead(usize, usize),
    PeerDead(usize),
    NeverHeard(usize),
}

impl Timer {
    fn peer(self) -> usize {
        match self {
            Timer::CommUp => 0,
            Timer::PeerLate(p)
            | Timer::LinkLate(p, _)
            | Timer::LinkDead(p, _)
            | Timer::PeerDead(p)
            | Timer::NeverHeard(p) => p,
        }
    }
}

/// Most distinct unknown node names remembered (to report each once without letting a
/// misconfigured network grow our memory).
const MAX_UNKNOWN: usize = 256;

/// The failure detector of one node. See the crate documentation.
#[derive(Debug, Clone)]
pub struct Detector {
    timing: Timing,
    started: Timestamp,
    /// Index 0 is this node; it never times out.
    peers: Vec<Peer>,
    comm_up: Option<Timestamp>,
    unknown: Vec<NodeName>,
}

impl Detector {
    /// A detector started at `now` (initdead counts from here).
    pub fn new(config: DetectorConfig, now: Timestamp) -> Self {
        let mut peers = vec![Peer::new(
            PeerId::Node(config.local.clone()),
            config.links.clone(),
        )];
        peers[0].state = NodeState::Up;
        for n in &config.nodes {
            let id = PeerId::Node(n.clone());
            if !peers.iter().any(|p| p.id == id) {
                peers.push(Peer::new(id, config.links.clone()));
            }
        }
        for a in &config.ping_nodes {
            let id = PeerId::Ping(*a);
            if !peers.iter().any(|p| p.id == id) {
                peers.push(Peer::new(id, vec![LinkName::new(a.to_string())]));
            }
        }
        for (name, addrs) in &config.ping_groups {
            let id = PeerId::PingGroup(name.clone());
            if !peers.iter().any(|p| p.id == id) {
                let links = addrs.iter().map(|a| LinkName::new(a.to_string())).collect();
                peers.push(Peer::new(id, links));
            }
        }
        Detector {
            timing: config.timing,
            started: now,
            peers,
            comm_up: None,
            unknown: Vec::new(),
        }
    }

    // ── inputs ───────────────────────────────────────────────────────────────────────────

    /// A heartbeat arrived at `now`.
    pub fn heartbeat(&mut self, now: Timestamp, hb: &Heartbeat) -> Vec<Event> {
        let mut events = Vec::new();
        self.advance(now, false, &mut events);
        let id = PeerId::Node(hb.from.clone());
        let Some(p) = self.peers.iter().position(|x| x.id == id) else {
            if !self.unknown.contains(&hb.from) && self.unknown.len() < MAX_UNKNOWN {
                self.unknown.push(hb.from.clone());
                events.push(Event::UnknownNode {
                    node: hb.from.clone(),
                    link: hb.link.clone(),
                    at: now,
                });
            }
            return events;
        };
        if p == 0 {
            // Our own packet, looped back: it only tells us our links work.
            self.heard_link(0, &hb.link, now, &mut events);
            return events;
        }
        let peer = &mut self.peers[p];
        if peer.left_generation.is_some_and(|g| hb.generation <= g)
            || peer.generation.is_some_and(|g| hb.generation < g)
        {
            return events; // stale: from before a clean leave, or an older incarnation
        }
        let restarted = match peer.generation {
            Some(old) if hb.generation > old => {
                events.push(Event::Restarted {
                    node: hb.from.clone(),
                    from: old,
                    to: hb.generation,
                    at: now,
                });
                peer.left_generation = None;
                true
            }
            _ => false,
        };
        peer.generation = Some(hb.generation);
        peer.advertised_deadtime = hb.deadtime.filter(|d| !d.is_zero());
        let to = match hb.status {
            PeerStatus::Up => NodeState::Up,
            PeerStatus::Active => NodeState::Active,
        };
        self.heard(p, &hb.link, to, restarted, now, &mut events);
        self.check_comm_up(now, &mut events);
        events
    }

    /// An ICMP echo reply from `addr` arrived at `now`: it is a heartbeat of the ping node
    /// with that address and of every ping group that lists it.
    pub fn ping_reply(&mut self, now: Timestamp, addr: IpAddr) -> Vec<Event> {
        let mut events = Vec::new();
        self.advance(now, false, &mut events);
        let link = LinkName::new(addr.to_string());
        for p in 1..self.peers.len() {
            let hit = match &self.peers[p].id {
                PeerId::Ping(a) => *a == addr,
                PeerId::PingGroup(_) => self.peers[p].links.iter().any(|l| l.name == link),
                PeerId::Node(_) => false,
            };
            if hit {
                self.heard(p, &link, NodeState::Ping, false, now, &mut events);
            }
        }
        self.check_comm_up(now, &mut events);
        events
    }

    /// `node` (generation `generation`) announced at `now` that it is leaving the cluster
    /// cleanly. It is dead at once, with [`Why::Left`], and so are its links.
    pub fn left(&mut self, now: Timestamp, node: &NodeName, generation: Generation) -> Vec<Event> {
        let mut events = Vec::new();
        self.advance(now, false, &mut events);
        let id = PeerId::Node(node.clone());
        let Some(p) = self
            .peers
            .iter()
            .position(|x| x.id == id)
            .filter(|&p| p > 0)
        else {
            return events;
        };
        let peer = &mut self.peers[p];
        if peer.generation.is_some_and(|g| generation < g) {
            return events; // a leave of an earlier incarnation
        }
        peer.generation = Some(generation);
        peer.left_generation = Some(generation);
        peer.ever_heard = true;
        peer.late = false;
        for l in &mut peer.links {
            l.late = false;
            if l.state == LinkState::Up {
                l.state = LinkState::Dead;
                events.push(Event::LinkChanged {
                    peer: peer.id.clone(),
                    link: l.name.clone(),
                    from: LinkState::Up,
                    to: LinkState::Dead,
                    why: Why::Left,
                    at: now,
                });
            }
        }
        if peer.state != NodeState::Dead {
            events.push(Event::NodeChanged {
                peer: peer.id.clone(),
                from: peer.state,
                to: NodeState::Dead,
                why: Why::Left,
                at: now,
            });
            peer.state = NodeState::Dead;
        }
        self.check_comm_up(now, &mut events);
        events
    }

    /// Serves every deadline up to and including `now`. Call it at
    /// [`Detector::next_deadline`] (calling it more often is harmless).
    pub fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        self.advance(now, true, &mut events);
        events
    }

    // ── outputs ──────────────────────────────────────────────────────────────────────────

    /// When [`Detector::tick`] must be called next, if anything is pending.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.next_timer().map(|(t, _)| t)
    }

    /// When comm came up, if it has.
    pub fn comm_up(&self) -> Option<Timestamp> {
        self.comm_up
    }

    /// A peer's current state (this node included).
    pub fn state(&self, peer: &PeerId) -> Option<NodeState> {
        self.peers.iter().find(|p| &p.id == peer).map(|p| p.state)
    }

    /// Everything `halo status` shows. States are as of the last call that took a
    /// `now`; call [`Detector::tick`] first to serve deadlines that have passed.
    pub fn snapshot(&self, now: Timestamp) -> Snapshot {
        let peers = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| PeerSnapshot {
                peer: p.id.clone(),
                state: p.state,
                generation: p.generation,
                last_heard: p.last_heard,
                late: p.late,
                late_count: p.late_count,
                deadtime: if i == 0 || p.ever_heard {
                    self.deadtime(i)
                } else {
                    self.timing.initdead
                },
                links: p
                    .links
                    .iter()
                    .map(|l| LinkSnapshot {
                        name: l.name.clone(),
                        state: l.state,
                        last_heard: l.last_heard,
                        late_count: l.late_count,
                    })
                    .collect(),
            })
            .collect();
        Snapshot {
            at: now,
            comm_up: self.comm_up,
            peers,
        }
    }

    // ── internals ────────────────────────────────────────────────────────────────────────

    /// The deadtime in force for a peer that has been heard.
    fn deadtime(&self, p: usize) -> Duration {
        let peer = &self.peers[p];
        if peer.is_ping() {
            self.timing.deadping
        } else {
            peer.advertised_deadtime.unwrap_or(self.timing.deadtime)
        }
    }

    /// Whether warnings apply under deadtime `dead`.
    fn warns(&self, dead: Duration) -> bool {
        self.timing.warntime < dead
    }

    /// The earliest pending timer.
    fn next_timer(&self) -> Option<(Timestamp, Timer)> {
        let mut best: Option<(Timestamp, Timer)> = None;
        let mut offer = |t: Timestamp, timer: Timer| {
            if best.is_none_or(|b| (t, timer) < b) {
                best = Some((t, timer));
            }
        };
        if self.comm_up.is_none() && self.all_accounted() {
            offer(self.started, Timer::CommUp);
        }
        for (p, peer) in self.peers.iter().enumerate() {
            let dead = self.deadtime(p);
            let warns = p > 0 && self.warns(dead);
            for (l, link) in peer.links.iter().enumerate() {
                if let (LinkState::Up, Some(last)) = (link.state, link.last_heard) {
                    if warns && !link.late {
                        offer(last + self.timing.warntime, Timer::LinkLate(p, l));
                    }
                    offer(last + dead, Timer::LinkDead(p, l));
                }
            }
            if p == 0 {
                continue;
            }
            match (peer.state, peer.last_heard) {
                (NodeState::Dead, _) => {}
                (NodeState::Init, _) if !peer.ever_heard => {
                    offer(self.started + self.timing.initdead, Timer::NeverHeard(p));
                }
                (_, Some(last)) => {
                    if warns && !peer.late {
                        offer(last + self.timing.warntime, Timer::PeerLate(p));
                    }
                    offer(last + dead, Timer::PeerDead(p));
                }
                (_, None) => {}
            }
        }
        best
    }

    /// Fires timers due before `now` (and at `now` when `inclusive`).
    fn advance(&mut self, now: Timestamp, inclusive: bool, events: &mut Vec<Event>) {
        while let Some((t, timer)) = self.next_timer() {
            if t > now || (t == now && !inclusive) {
                break;
            }
            self.fire(t, timer, events);
        }
    }

    fn fire(&mut self, t: Timestamp, timer: Timer, events: &mut Vec<Event>) {
        let p = timer.peer();
        let dead = self.deadtime(p);
        let warntime = self.timing.warntime;
        let peer = &mut self.peers[p];
        match timer {
            Timer::CommUp => {}
            Timer::PeerLate(_) => {
                peer.late = true;
                if let Some(last) = peer.last_heard {
                    events.push(Event::Late {
                        peer: peer.id.clone(),
                        link: None,
                        last_heard: last,
                        at: t,
                    });
                }
            }
            Timer::LinkLate(_, l) => {
                let link = &mut peer.links[l];
                link.late = true;
                // Only when the peer as a whole is still heard; otherwise the peer-level
                // event (due now or already given) says it all.
                let peer_fresh = peer.last_heard.is_some_and(|last| last + warntime > t);
                if let (true, Some(last)) = (peer_fresh, link.last_heard) {
                    events.push(Event::Late {
                        peer: peer.id.clone(),
                        link: Some(link.name.clone()),
                        last_heard: last,
                        at: t,
                    });
                }
            }
            Timer::LinkDead(_, l) => {
                let link = &mut peer.links[l];
                link.state = LinkState::Dead;
                link.late = false;
                events.push(Event::LinkChanged {
                    peer: peer.id.clone(),
                    link: link.name.clone(),
                    from: LinkState::Up,
                    to: LinkState::Dead,
                    why: Why::Timeout { silent_for: dead },
                    at: t,
                });
            }
            Timer::PeerDead(_) => {
                events.push(Event::NodeChanged {
                    peer: peer.id.clone(),
                    from: peer.state,
                    to: NodeState::Dead,
                    why: Why::Timeout { silent_for: dead },
                    at: t,
                });
                peer.state = NodeState::Dead;
                peer.late = false;
            }
            Timer::NeverHeard(_) => {
                events.push(Event::NodeChanged {
                    peer: peer.id.clone(),
                    from: peer.state,
                    to: NodeState::Dead,
                    why: Why::NeverHeard {
                        initdead: self.timing.initdead,
                    },
                    at: t,
                });
                peer.state = NodeState::Dead;
            }
        }
        self.check_comm_up(t, events);
    }

    /// A link of peer `p` carried a heartbeat at `now`.
    fn heard_link(&mut self, p: usize, name: &LinkName, now: Timestamp, events: &mut Vec<Event>) {
        let peer = &mut self.peers[p];
        let l = peer.link_index(name);
        let link = &mut peer.links[l];
        if link.state == LinkState::Dead {
            events.push(Event::LinkChanged {
                peer: peer.id.clone(),
                link: link.name.clone(),
                from: LinkState::Dead,
                to: LinkState::Up,
                why: if link.last_heard.is_some() {
                    Why::Heard
                } else {
                    Why::FirstHeard
                },
                at: now,
            });
            link.state = LinkState::Up;
        } else if link.late {
            link.late_count += 1;
            // Reported on its own only if the peer as a whole was not late.
            if !peer.late
                && let Some(last) = link.last_heard
            {
                events.push(Event::LateHeartbeat {
                    peer: peer.id.clone(),
                    link: link.name.clone(),
                    whole_peer: false,
                    interval: now - last,
                    at: now,
                });
            }
        }
        link.late = false;
        link.last_heard = Some(now);
    }

    /// Peer `p` was heard at `now` on `link`, saying it is `to`.
    fn heard(
        &mut self,
        p: usize,
        link: &LinkName,
        to: NodeState,
        restarted: bool,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let peer = &mut self.peers[p];
        let from = peer.state;
        if from != to {
            let why = match from {
                _ if restarted => Why::Restarted,
                _ if !peer.ever_heard => Why::FirstHeard,
                NodeState::Dead => Why::Returned,
                _ => Why::Status,
            };
            events.push(Event::NodeChanged {
                peer: peer.id.clone(),
                from,
                to,
                why,
                at: now,
            });
            peer.state = to;
        }
        let late = (from != NodeState::Dead && peer.late)
            .then(|| peer.last_heard.map(|last| now - last))
            .flatten();
        if let Some(interval) = late {
            peer.late_count += 1;
            events.push(Event::LateHeartbeat {
                peer: peer.id.clone(),
                link: link.clone(),
                whole_peer: true,
                interval,
                at: now,
            });
        }
        if from == NodeState::Dead {
            // Lateness is about the silence before a death, which was reported already.
            for l in &mut peer.links {
                l.late = false;
            }
        }
        self.heard_link(p, link, now, events);
        let peer = &mut self.peers[p];
        peer.ever_heard = true;
        peer.late = false;
        peer.last_heard = Some(now);
    }

    /// Every peer heard or declared dead.
    fn all_accounted(&self) -> bool {
        self.peers[1..]
            .iter()
            .all(|p| p.ever_heard || p.state == NodeState::Dead)
    }

    fn check_comm_up(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        if self.comm_up.is_none() && self.all_accounted() {
            self.comm_up = Some(now);
            self.peers[0].state = NodeState::Active;
            events.push(Event::CommUp { at: now });
        }
    }
}

#[cfg(test)]
mod tests;
