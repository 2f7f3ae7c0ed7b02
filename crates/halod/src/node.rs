//! The node's core: one event loop owning the engines.
//!
//! Everything that decides runs here, on one thread, in the order events arrive:
//!
//! ```text
//!  datagram ─▶ Inbound (auth, replay) ─┬─ heartbeat ─▶ Detector ─▶ node/link events ─┐
//!                                       │                                             │
//!                                       └─ data/ack/rexmit/nak ─▶ Engine (messaging) ◀┘ peer alive/dead
//!                                                                   │ transmit / deliver / loss
//!  timer ─▶ heartbeat out, Detector::tick, Engine::handle_tick ─────┘
//!  API call ─▶ status, send
//! ```
//!
//! The loop never waits on anything but its inputs: sends are non-blocking (see
//! `media`), logging is non-blocking (see `logging`), and API clients get their answers
//! through channels.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use halo_config::{Config, MediumKind};
use halo_heartbeat::{
    Detector, DetectorConfig, Event as HbEvent, Heartbeat, LinkName, PeerId, PeerStatus, Timing,
    Why,
};
use halo_ipc::{
    Counters, Event, LinkStatus, Membership, MembershipRecord, NodeKind, NodeStatus, Reply,
    Request, Status,
};
use halo_messaging::{Destination, Engine, Output, PeerEvent};
use halo_types::{Generation, NodeName, NodeState, Timestamp};
use halo_wire::{Body, Channel, Inbound, Keyring, Outbound, Received, SenderStatus};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::api::Call;
use crate::logging::LogDrops;
use crate::media::{Media, MediumSpec, Received as Datagram};
use crate::persist::Persister;
use crate::ping::{Answer, Pinger};

/// How often housekeeping runs (dropped-log and rejected-packet reports).
const HOUSEKEEPING: Duration = Duration::from_secs(10);
/// How long a clean shutdown waits for peers to acknowledge our last messages.
const LEAVE_FLUSH: Duration = Duration::from_secs(2);
/// How many leave packets go out (each on every medium), to survive some loss.
const LEAVE_COPIES: usize = 3;
/// How many installed memberships `halo membership` remembers.
const MEMBERSHIP_HISTORY: usize = 64;

/// Reads the seq of the last membership installed before this start (0 if none).
pub fn last_membership_seq(state_dir: &std::path::Path) -> anyhow::Result<u64> {
    let path = state_dir.join("membership");
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u64>().with_context(|| {
            format!(
                "{}: not a membership number: {:?} (remove the file to start afresh)",
                path.display(),
                text.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Converts ha.cf's media into what `media` opens.
pub fn medium_specs(config: &Config) -> Vec<MediumSpec> {
    config
        .ha_cf
        .media
        .iter()
        .map(|m| match &m.kind {
            MediumKind::Bcast { iface, port } => MediumSpec::Bcast {
                iface: iface.clone(),
                port: *port,
            },
            MediumKind::Ucast { iface, peer, port } => MediumSpec::Ucast {
                iface: iface.clone(),
                peer: IpAddr::V4(*peer),
                port: *port,
            },
            MediumKind::Ucast6 {
                iface, peer, port, ..
            } => MediumSpec::Ucast {
                iface: iface.clone(),
                peer: IpAddr::V6(*peer),
                port: *port,
            },
            MediumKind::Mcast {
                iface,
                group,
                port,
                ttl,
                loopback,
            } => MediumSpec::Mcast {
                iface: iface.clone(),
                group: IpAddr::V4(*group),
                port: *port,
                ttl: u32::from(*ttl),
                looped: *loopback,
            },
            MediumKind::Mcast6 {
                iface,
                group,
                port,
                hops,
                loopback,
            } => MediumSpec::Mcast {
                iface: iface.clone(),
                group: IpAddr::V6(*group),
                port: *port,
                ttl: u32::from(*hops),
                looped: *loopback,
            },
            MediumKind::Serial { device, baud } => MediumSpec::Serial {
                device: device.clone(),
                baud: *baud,
            },
        })
        .collect()
}

/// Builds the wire keyring from authkeys.
pub fn keyring(config: &Config) -> Result<Keyring> {
    let keys = config.authkeys.keys().iter().map(|k| {
        (
            u16::from(k.index),
            k.method,
            k.secret
                .as_ref()
                .map(|s| s.expose().to_vec())
                .unwrap_or_default(),
        )
    });
    Keyring::new(u16::from(config.authkeys.signing_key().index), keys)
        .context("authkeys cannot be used")
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// What the core tells the cluster resource manager (the crm thread). Unbounded: the
/// core must never wait on the crm thread; what it sends is bounded by the messaging
/// layer's windows and by membership changes.
#[derive(Debug)]
pub enum ToCrm {
    /// A membership was installed.
    Membership(halo_membership::Membership),
    /// A message arrived on the CIB or CRM channel.
    Message {
        /// The sender.
        from: NodeName,
        /// The channel.
        channel: Channel,
        /// The payload.
        payload: Vec<u8>,
    },
    /// Whether this node still hears a quorum of the cluster within the lease time
    /// (`deadtime - 2 × keepalive`): when it does not, the CRM stops its resources before
    /// the quorate side declares this node dead and recovers them.
    Lease {
        /// Quorum heard.
        quorum_heard: bool,
    },
    /// SIGTERM or SIGINT: stop the local resources, then say [`FromCrm::ShutdownDone`].
    Shutdown,
}

/// What the cluster resource manager asks of the core.
#[derive(Debug)]
pub enum FromCrm {
    /// Send a message on the CIB or CRM channel.
    Send {
        /// To one node, or to all.
        to: Destination,
        /// The channel.
        channel: Channel,
        /// The payload.
        payload: Vec<u8>,
    },
    /// After [`ToCrm::Shutdown`]: nothing runs here any more; the core may leave.
    ShutdownDone,
}

/// The longest a shutdown waits for the resource manager to stop the local resources
/// before leaving anyway (a stop that hangs is killed by its own timeout first).
const CRM_SHUTDOWN_LIMIT: Duration = Duration::from_secs(600);

/// The core's end of the link to the crm thread.
#[derive(Debug)]
pub struct CrmLink {
    /// Towards the crm thread.
    pub tx: mpsc::UnboundedSender<ToCrm>,
    /// From the crm thread.
    pub rx: mpsc::Receiver<FromCrm>,
}

/// What the node keeps across restarts, and how it writes it.
#[derive(Debug)]
pub struct NodeState0 {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The seq of the last membership installed before this start.
    pub last_membership_seq: u64,
    /// The background writer for state files.
    pub persister: Persister,
}

/// The channels the core reads.
#[derive(Debug)]
pub struct Inputs {
    /// Datagrams and frames from the media.
    pub packets: mpsc::Receiver<Datagram>,
    /// Ping answers.
    pub pings: mpsc::Receiver<Answer>,
    /// API calls.
    pub calls: mpsc::Receiver<Call>,
    /// The crm thread, when it runs.
    pub crm: Option<CrmLink>,
}

/// The node: engines, media and the state the API shows.
#[derive(Debug)]
pub struct Node {
    me: NodeName,
    cluster: String,
    generation: Generation,
    origin: Instant,
    keepalive: Duration,
    deadtime: Duration,
    keyring: Keyring,
    outbound: Outbound,
    inbound: Inbound,
    detector: Detector,
    messaging: Engine,
    membership: halo_membership::Engine,
    installed: Option<halo_membership::Membership>,
    history: VecDeque<halo_membership::Membership>,
    persister: Persister,
    membership_file: PathBuf,
    /// Quorum arithmetic for the lease (kept in step with installed memberships).
    lease_quorum: halo_membership::QuorumTracker,
    /// The last lease state told to the CRM.
    lease_heard: Option<bool>,
    to_crm: Option<mpsc::UnboundedSender<ToCrm>>,
    media: Media,
    link_names: Vec<LinkName>,
    pinger: Option<Pinger>,
    ping_targets: Vec<IpAddr>,
    configured_nodes: Vec<NodeName>,
    status: SenderStatus,
    next_heartbeat: Timestamp,
    next_housekeeping: Timestamp,
    events: broadcast::Sender<Event>,
    messages: broadcast::Sender<Event>,
    log_drops: LogDrops,
    reported_rejected: u64,
    send_errors: u64,
}

impl Node {
    /// Sets the node up; must run inside the runtime (it opens sockets).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        generation: Generation,
        media: Media,
        pinger: Option<Pinger>,
        events: broadcast::Sender<Event>,
        messages: broadcast::Sender<Event>,
        log_drops: LogDrops,
        seed: u64,
        state: NodeState0,
    ) -> Result<Node> {
        let hacf = &config.ha_cf;
        let me = config.local_node.clone();
        let t = hacf.timing;
        let link_names: Vec<LinkName> = media
            .links
            .iter()
            .map(|l| LinkName::new(l.name.clone()))
            .collect();
        let ping_targets: Vec<IpAddr> = hacf
            .ping_nodes
            .iter()
            .map(|p| p.value)
            .chain(
                hacf.ping_groups
                    .iter()
                    .flat_map(|g| g.addrs.iter().copied()),
            )
            .collect();
        let detector = Detector::new(
            DetectorConfig {
                local: me.clone(),
                nodes: hacf.node_names(),
                links: link_names.clone(),
                ping_nodes: hacf.ping_nodes.iter().map(|p| p.value).collect(),
                ping_groups: hacf
                    .ping_groups
                    .iter()
                    .map(|g| (g.name.clone(), g.addrs.clone()))
                    .collect(),
                timing: Timing {
                    warntime: t.warntime,
                    deadtime: t.deadtime,
                    initdead: t.initdead,
                    deadping: t.deadping,
                },
            },
            Timestamp::ZERO,
        );
        let messaging = Engine::new(
            me.clone(),
            generation,
            halo_messaging::Config::default(),
            seed,
        )
        .context("messaging configuration")?;
        let keyring = keyring(config)?;
        let membership = halo_membership::Engine::new(
            halo_membership::Config {
                node: me.clone(),
                generation,
                last_seq: state.last_membership_seq,
                timings: halo_membership::Timings::default(),
                quorum: hacf.quorum.clone(),
            },
            Timestamp::ZERO,
        )
        .context("quorum configuration")?;
        Ok(Node {
            membership,
            installed: None,
            history: VecDeque::new(),
            persister: state.persister,
            membership_file: state.state_dir.join("membership"),
            lease_quorum: halo_membership::QuorumTracker::new(hacf.quorum.clone())
                .context("quorum configuration")?,
            lease_heard: None,
            to_crm: None,
            cluster: hacf.cluster.to_string(),
            generation,
            origin: Instant::now(),
            keepalive: t.keepalive,
            deadtime: t.deadtime,
            outbound: Outbound::new(hacf.cluster.clone(), me.clone(), generation),
            inbound: Inbound::new(hacf.cluster.clone(), me.clone()),
            keyring,
            detector,
            messaging,
            media,
            link_names,
            pinger,
            ping_targets,
            configured_nodes: hacf.node_names(),
            status: SenderStatus::Up,
            next_heartbeat: Timestamp::ZERO,
            next_housekeeping: Timestamp::ZERO + HOUSEKEEPING,
            events,
            messages,
            log_drops,
            reported_rejected: 0,
            send_errors: 0,
            me,
        })
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.origin.elapsed())
    }

    fn instant(&self, t: Timestamp) -> Instant {
        self.origin + t.as_duration()
    }

    /// Runs until SIGTERM or SIGINT, then leaves the cluster cleanly.
    pub async fn run(mut self, mut inputs: Inputs) -> Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot handle SIGTERM")?;
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("cannot handle SIGINT")?;
        tracing::info!(
            node = %self.me,
            generation = %self.generation,
            links = ?self.link_names.iter().map(LinkName::as_str).collect::<Vec<_>>(),
            "halod started"
        );
        self.send_heartbeat();
        let mut from_crm = match inputs.crm.take() {
            Some(link) => {
                self.to_crm = Some(link.tx);
                Some(link.rx)
            }
            None => None,
        };
        // Shutdown with a resource manager: it stops the local resources first, while
        // the core keeps heartbeating (so nobody declares this node dead and starts
        // them elsewhere while they still run here); a second signal leaves at once.
        let mut crm_shutdown: Option<Instant> = None;
        loop {
            let deadline = self.next_deadline();
            let signalled = tokio::select! {
                biased;
                _ = term.recv() => true,
                _ = int.recv() => true,
                _ = async { match crm_shutdown {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                } } => {
                    tracing::error!("the resource manager did not stop the resources in time; leaving anyway");
                    break;
                }
                Some(d) = inputs.packets.recv() => { self.on_datagram(d); false }
                _ = tokio::time::sleep_until(self.instant(deadline)) => { self.on_timer(); false }
                Some(a) = inputs.pings.recv() => { self.on_ping(a); false }
                Some(c) = inputs.calls.recv() => { self.on_call(c); false }
                Some(m) = async { match from_crm.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                } } => {
                    if matches!(m, FromCrm::ShutdownDone) {
                        break;
                    }
                    self.on_crm(m);
                    false
                }
            };
            if signalled {
                if crm_shutdown.is_some() || self.to_crm.is_none() {
                    break;
                }
                tracing::info!("shutting down: stopping the local resources first");
                crm_shutdown = Some(Instant::now() + CRM_SHUTDOWN_LIMIT);
                self.tell_crm(ToCrm::Shutdown);
            }
        }
        self.leave(&mut inputs).await;
        Ok(())
    }

    fn next_deadline(&self) -> Timestamp {
        [
            Some(self.next_heartbeat),
            Some(self.next_housekeeping),
            self.detector.next_deadline(),
            self.messaging.next_deadline(),
            self.membership.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.next_heartbeat)
    }

    fn on_timer(&mut self) {
        let now = self.now();
        if now >= self.next_heartbeat {
            self.send_heartbeat();
            self.check_lease(now);
        }
        let events = self.detector.tick(now);
        self.on_detector_events(events);
        self.messaging.handle_tick(now);
        self.flush_messaging();
        if self.membership.next_deadline().is_some_and(|d| d <= now) {
            self.membership_input(halo_membership::Input::Tick);
        }
        if now >= self.next_housekeeping {
            self.housekeeping();
            self.next_housekeeping = now + HOUSEKEEPING;
        }
    }

    fn send_heartbeat(&mut self) {
        let now = self.now();
        let body = self
            .messaging
            .heartbeat(self.status, ms(self.keepalive), ms(self.deadtime));
        self.transmit(&body);
        if let Some(p) = self.pinger.as_mut() {
            p.ping(&self.ping_targets);
        }
        // Keep the cadence even if the loop was late; never schedule in the past.
        let next = self.next_heartbeat + self.keepalive;
        self.next_heartbeat = if next > now {
            next
        } else {
            now + self.keepalive
        };
    }

    fn transmit(&mut self, body: &Body) {
        match self.outbound.seal(body, &self.keyring) {
            Ok(bytes) => self.media.send_all(&bytes),
            Err(e) => {
                self.send_errors += 1;
                tracing::error!("cannot encode a packet: {e}");
            }
        }
    }

    fn on_datagram(&mut self, d: Datagram) {
        let now = self.now();
        let link = match self.link_names.get(d.link) {
            Some(l) => l.clone(),
            None => return,
        };
        match self.inbound.receive(&d.data, &self.keyring) {
            Received::Fresh(v) | Received::NewGeneration { verified: v, .. } => {
                let p = v.packet;
                self.feed_detector(now, &p.sender, &link, p.generation, &p.body);
                if matches!(p.body, Body::Leave) {
                    let events = self.detector.left(now, &p.sender, p.generation);
                    self.on_detector_events(events);
                }
                self.messaging
                    .handle_packet(now, &p.sender, p.generation, &p.body);
                self.flush_messaging();
            }
            Received::Duplicate(v) => {
                let p = v.packet;
                self.feed_detector(now, &p.sender, &link, p.generation, &p.body);
            }
            Received::Echo(v) => {
                let p = v.packet;
                if p.generation == self.generation {
                    self.feed_detector(now, &p.sender, &link, p.generation, &p.body);
                } else if p.generation > self.generation {
                    tracing::error!(
                        link = %link,
                        "another node is configured with this node's name ({}) and a newer \
                         generation ({}): check `node` lines and --node",
                        self.me,
                        p.generation
                    );
                }
            }
            Received::Dropped(reason) => {
                tracing::trace!(link = %link, "dropped a packet: {reason}");
            }
        }
    }

    fn feed_detector(
        &mut self,
        now: Timestamp,
        from: &NodeName,
        link: &LinkName,
        generation: Generation,
        body: &Body,
    ) {
        if let Body::Heartbeat(hb) = body {
            // A node that is leaving stays active until its leave arrives: it still
            // serves until it has handed everything over.
            let status = match hb.status {
                SenderStatus::Active | SenderStatus::Leaving => PeerStatus::Active,
                SenderStatus::Init | SenderStatus::Up => PeerStatus::Up,
            };
            let events = self.detector.heartbeat(
                now,
                &Heartbeat {
                    from: from.clone(),
                    link: link.clone(),
                    generation,
                    status,
                    deadtime: (hb.deadtime_ms > 0)
                        .then(|| Duration::from_millis(u64::from(hb.deadtime_ms))),
                },
            );
            self.on_detector_events(events);
        }
    }

    fn on_ping(&mut self, a: Answer) {
        let now = self.now();
        let events = self.detector.ping_reply(now, a.addr);
        self.on_detector_events(events);
    }

    fn on_detector_events(&mut self, events: Vec<HbEvent>) {
        let now = self.now();
        for ev in events {
            match ev {
                HbEvent::NodeChanged {
                    peer,
                    from,
                    to,
                    why,
                    ..
                } => {
                    let reason = why.to_string();
                    if to == NodeState::Dead {
                        tracing::warn!("node {peer}: {from} -> dead ({reason})");
                    } else {
                        tracing::info!("node {peer}: {from} -> {to} ({reason})");
                    }
                    if let PeerId::Node(node) = &peer
                        && *node != self.me
                    {
                        let pe = match (to, why) {
                            (NodeState::Dead, Why::Left) => {
                                Some(PeerEvent::Left { node: node.clone() })
                            }
                            (NodeState::Dead, _) => Some(PeerEvent::Dead { node: node.clone() }),
                            (NodeState::Up | NodeState::Active, _)
                                if matches!(from, NodeState::Init | NodeState::Dead) =>
                            {
                                self.inbound.peer_generation(node).map(|generation| {
                                    PeerEvent::Alive {
                                        node: node.clone(),
                                        generation,
                                    }
                                })
                            }
                            _ => None,
                        };
                        if let Some(pe) = pe {
                            let input = match &pe {
                                PeerEvent::Alive { node, generation } => {
                                    halo_membership::Input::PeerUp {
                                        node: node.clone(),
                                        generation: *generation,
                                    }
                                }
                                PeerEvent::Dead { node } | PeerEvent::Left { node } => {
                                    halo_membership::Input::PeerDown { node: node.clone() }
                                }
                            };
                            self.messaging.handle_peer(now, pe);
                            self.flush_messaging();
                            self.membership_input(input);
                        }
                    }
                    let _ = self.events.send(Event::Node {
                        node: peer.to_string(),
                        from,
                        to,
                        reason: Some(reason),
                    });
                }
                HbEvent::LinkChanged { peer, link, to, .. } => {
                    if peer.node() == Some(&self.me) {
                        tracing::info!("own link {link}: {to}");
                    } else if to == halo_types::LinkState::Dead {
                        tracing::warn!("link {peer}/{link}: dead");
                    } else {
                        tracing::info!("link {peer}/{link}: up");
                    }
                    let _ = self.events.send(Event::Link {
                        node: peer.to_string(),
                        link: link.to_string(),
                        state: to,
                    });
                }
                HbEvent::Late {
                    peer,
                    link,
                    last_heard,
                    at,
                } => {
                    let silent = at - last_heard;
                    match link {
                        Some(l) => tracing::warn!(
                            "no heartbeat from {peer} on {l} for {} ms",
                            silent.as_millis()
                        ),
                        None => {
                            tracing::warn!("no heartbeat from {peer} for {} ms", silent.as_millis())
                        }
                    }
                }
                HbEvent::LateHeartbeat {
                    peer,
                    link,
                    whole_peer,
                    interval,
                    ..
                } => {
                    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
                    if whole_peer {
                        tracing::warn!("Late heartbeat: Node {peer}: interval {interval_ms} ms");
                        let _ = self.events.send(Event::Late {
                            node: peer.to_string(),
                            interval_ms,
                        });
                    } else {
                        tracing::warn!(
                            "Late heartbeat: Node {peer} on {link}: interval {interval_ms} ms"
                        );
                    }
                }
                HbEvent::Restarted { node, from, to, .. } => {
                    tracing::info!("node {node} restarted (generation {from} -> {to})");
                    self.messaging.handle_peer(
                        now,
                        PeerEvent::Alive {
                            node: node.clone(),
                            generation: to,
                        },
                    );
                    self.flush_messaging();
                    self.membership_input(halo_membership::Input::PeerUp {
                        node: node.clone(),
                        generation: to,
                    });
                    let state = self
                        .detector
                        .state(&PeerId::Node(node.clone()))
                        .unwrap_or(NodeState::Up);
                    let _ = self.events.send(Event::Node {
                        node: node.to_string(),
                        from: state,
                        to: state,
                        reason: Some(format!("restarted (generation {from} -> {to})")),
                    });
                }
                HbEvent::CommUp { .. } => {
                    tracing::info!("communications up: every node heard or declared dead");
                    if self.status == SenderStatus::Up {
                        self.status = SenderStatus::Active;
                        self.send_heartbeat();
                    }
                }
                HbEvent::UnknownNode { node, link, .. } => {
                    tracing::warn!(
                        "heartbeats from {node} on {link}, which is not a configured node \
                         (add a `node {node}` line to ha.cf, or check its cluster settings)"
                    );
                }
            }
        }
        self.flush_messaging();
    }

    fn flush_messaging(&mut self) {
        while let Some(out) = self.messaging.poll_output() {
            match out {
                Output::Transmit(body) => self.transmit(&body),
                Output::Deliver(m) => {
                    if m.channel == Channel::MEMBERSHIP {
                        let from = m.from.clone();
                        self.membership_input(halo_membership::Input::Message {
                            from,
                            bytes: &m.payload,
                        });
                    } else if m.channel == Channel::CIB || m.channel == Channel::CRM {
                        self.tell_crm(ToCrm::Message {
                            from: m.from,
                            channel: m.channel,
                            payload: m.payload,
                        });
                    } else if m.channel == Channel::USER {
                        let body = String::from_utf8_lossy(&m.payload).into_owned();
                        let _ = self.messages.send(Event::Message {
                            from: m.from,
                            direct: matches!(m.to, Destination::Node(_)),
                            body,
                        });
                    } else {
                        tracing::debug!(from = %m.from, channel = ?m.channel, "message for a layer not running here");
                    }
                }
                Output::Loss(l) => tracing::warn!(
                    from = %l.from,
                    "lost {} fragments of messages from {} ({:?})",
                    l.fragments,
                    l.from,
                    l.reason
                ),
            }
        }
    }

    /// Feeds the membership engine and carries out what it asks.
    fn membership_input(&mut self, input: halo_membership::Input<'_>) {
        let now = self.now();
        let outputs = match self.membership.handle(now, input) {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!("membership: {e}");
                return;
            }
        };
        for out in outputs {
            match out {
                halo_membership::Output::Send { to, bytes } => {
                    let dest = match to {
                        halo_membership::Destination::All => Destination::All,
                        halo_membership::Destination::One(n) => Destination::Node(n),
                    };
                    if let Err(e) = self.messaging.send(now, dest, Channel::MEMBERSHIP, &bytes) {
                        tracing::warn!("membership message not sent: {e}");
                    }
                }
                halo_membership::Output::Install(m) => self.install(m),
            }
        }
        self.flush_messaging();
    }

    fn install(&mut self, m: halo_membership::Membership) {
        // Persisted in the background, in order: ids keep growing across restarts.
        self.persister.write(
            self.membership_file.clone(),
            format!("{}\n", m.id.seq).into_bytes(),
        );
        let names: Vec<String> = m.members.iter().map(|x| x.name.to_string()).collect();
        let who = |v: &[halo_membership::Member]| {
            v.iter()
                .map(|x| x.name.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        tracing::info!(
            "membership {}: {} ({}, {}/{} votes){}{}",
            m.id.seq,
            names.join(" "),
            if m.quorum.quorate {
                "quorate"
            } else {
                "no quorum"
            },
            m.quorum.votes,
            m.quorum.quorum,
            if m.joined.is_empty() {
                String::new()
            } else {
                format!("; joined: {}", who(&m.joined))
            },
            if m.left.is_empty() {
                String::new()
            } else {
                format!("; left: {}", who(&m.left))
            },
        );
        let _ = self
            .events
            .send(Event::Membership(Self::api_membership(&m)));
        self.lease_quorum.install(m.members.iter().map(|x| &x.name));
        self.tell_crm(ToCrm::Membership(m.clone()));
        // The lease is otherwise re-evaluated with each heartbeat: do it now, so the CRM
        // never holds a new membership with a stale "quorum not heard" (at start-up,
        // before the first peers were heard, it refused starts until the next check).
        let now = self.now();
        self.check_lease(now);
        self.history.push_back(m.clone());
        while self.history.len() > MEMBERSHIP_HISTORY {
            self.history.pop_front();
        }
        self.installed = Some(m);
    }

    fn tell_crm(&self, msg: ToCrm) {
        if let Some(tx) = &self.to_crm
            && tx.send(msg).is_err()
        {
            tracing::error!("the cluster resource manager has stopped");
        }
    }

    fn on_crm(&mut self, m: FromCrm) {
        match m {
            FromCrm::Send {
                to,
                channel,
                payload,
            } => {
                let now = self.now();
                if let Err(e) = self.messaging.send(now, to, channel, &payload) {
                    tracing::warn!("cluster resource manager message not sent: {e}");
                }
                self.flush_messaging();
            }
            FromCrm::ShutdownDone => {}
        }
    }

    /// Recomputes whether this node still hears a quorum within the lease time, and tells
    /// the CRM when that changes. The lease time, `deadtime - 2 × keepalive`, is shorter
    /// than the time the others need to declare this node dead (deadtime, then a
    /// membership round), so a node that is cut off stops its resources before anyone
    /// else starts them.
    fn check_lease(&mut self, now: Timestamp) {
        if self.to_crm.is_none() {
            return;
        }
        let lease = self.deadtime.saturating_sub(self.keepalive * 2);
        let snap = self.detector.snapshot(now);
        let heard: Vec<NodeName> = snap
            .peers
            .iter()
            .filter_map(|p| {
                let node = p.peer.node()?;
                let fresh = *node == self.me
                    || p.last_heard.is_some_and(|t| now - t <= lease)
                        && matches!(p.state, NodeState::Up | NodeState::Active);
                fresh.then(|| node.clone())
            })
            .collect();
        let heard_quorum = self.lease_quorum.evaluate(heard.iter()).quorate;
        if self.lease_heard != Some(heard_quorum) {
            if !heard_quorum {
                tracing::warn!(
                    "lease lost: this node hears only {} within {} ms, not a quorum",
                    heard
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    lease.as_millis()
                );
            } else if self.lease_heard.is_some() {
                tracing::info!("lease regained: a quorum is heard again");
            }
            self.lease_heard = Some(heard_quorum);
            self.tell_crm(ToCrm::Lease {
                quorum_heard: heard_quorum,
            });
        }
    }

    fn api_membership(m: &halo_membership::Membership) -> Membership {
        Membership {
            id: m.id.seq,
            members: m.names(),
            quorate: m.quorum.quorate,
        }
    }

    fn membership_records(&self) -> Vec<MembershipRecord> {
        let now = self.now();
        self.history
            .iter()
            .map(|m| MembershipRecord {
                membership: Self::api_membership(m),
                coordinator: m.id.coordinator.name.clone(),
                age_ms: u64::try_from((now - m.formed_at).as_millis()).unwrap_or(u64::MAX),
                joined: m.joined.iter().map(|x| x.name.clone()).collect(),
                left: m.left.iter().map(|x| x.name.clone()).collect(),
                votes: m.quorum.votes,
                quorum: m.quorum.quorum,
            })
            .collect()
    }

    fn housekeeping(&mut self) {
        let dropped = self.log_drops.take_new();
        if dropped > 0 {
            tracing::warn!("{dropped} log messages were dropped (log writers fell behind)");
        }
        match self.log_drops.take_syslog_change() {
            Some(true) => tracing::warn!(
                "syslog does not accept messages (nothing listens on /dev/log): halod's \
                 syslog lines are discarded until it does; logfile and debugfile still get \
                 everything"
            ),
            Some(false) => tracing::info!(
                "syslog accepts messages again ({} lines were discarded meanwhile)",
                self.log_drops.syslog_refused()
            ),
            None => {}
        }
        let rejected = self.inbound.counters().rejected();
        if rejected > self.reported_rejected {
            tracing::warn!(
                "{} packets failed authentication since the last report (a node with a \
                 wrong key, or another cluster on the same network and port?)",
                rejected - self.reported_rejected
            );
            self.reported_rejected = rejected;
        }
    }

    fn on_call(&mut self, call: Call) {
        let reply = match call.request {
            Request::Status => Reply::Status(Box::new(self.status())),
            Request::Watch | Request::Listen => Reply::Ok,
            Request::Memberships => Reply::Memberships {
                memberships: self.membership_records(),
            },
            Request::Send { to, body } => self.send_user(to, body),
            // The API sends these to the resource manager thread.
            Request::Change { .. } | Request::Cib { .. } | Request::LrmHistory { .. } => {
                Reply::Error {
                    message: "a resource manager request reached the core".into(),
                }
            }
        };
        let _ = call.reply.send(reply);
    }

    fn send_user(&mut self, to: Option<NodeName>, body: String) -> Reply {
        let dest = match to {
            None => Destination::All,
            Some(n) if n == self.me => {
                return Reply::Error {
                    message: format!("{n} is this node"),
                };
            }
            Some(n) if !self.configured_nodes.contains(&n) => {
                return Reply::Error {
                    message: format!("{n} is not a node of this cluster"),
                };
            }
            Some(n) => Destination::Node(n),
        };
        let now = self.now();
        match self
            .messaging
            .send(now, dest, Channel::USER, body.as_bytes())
        {
            Ok(()) => {
                self.flush_messaging();
                Reply::Ok
            }
            Err(e) => Reply::Error {
                message: e.to_string(),
            },
        }
    }

    /// The API's view of this node.
    pub fn status(&self) -> Status {
        let now = self.now();
        let snap = self.detector.snapshot(now);
        let nodes: Vec<NodeStatus> = snap
            .peers
            .iter()
            .map(|p| NodeStatus {
                name: p.peer.to_string(),
                kind: match p.peer {
                    PeerId::Node(_) => NodeKind::Normal,
                    _ => NodeKind::Ping,
                },
                state: p.state,
                links: p
                    .links
                    .iter()
                    .map(|l| LinkStatus {
                        name: l.name.to_string(),
                        state: l.state,
                    })
                    .collect(),
                generation: p.generation,
                last_heard_ms: p
                    .last_heard
                    .map(|t| u64::try_from((now - t).as_millis()).unwrap_or(u64::MAX)),
                late: p.late_count,
            })
            .collect();
        let membership = self
            .installed
            .as_ref()
            .map(Self::api_membership)
            .unwrap_or_default();
        Status {
            node: self.me.clone(),
            cluster: self.cluster.clone(),
            generation: self.generation,
            nodes,
            membership,
            // Filled by the API from the resource manager.
            dc: None,
            resources: Vec::new(),
            counters: self.counters(),
            failed_actions: Vec::new(),
            fail_counts: Vec::new(),
            crm: None,
        }
    }

    fn counters(&self) -> Counters {
        let mut values = BTreeMap::new();
        let mut flatten = |prefix: &str, v: serde_json::Value| {
            if let serde_json::Value::Object(map) = v {
                for (k, v) in map {
                    if let Some(n) = v.as_u64() {
                        values.insert(format!("{prefix}{k}"), n);
                    }
                }
            }
        };
        flatten(
            "wire_",
            serde_json::to_value(self.inbound.counters()).unwrap_or_default(),
        );
        flatten(
            "msg_",
            serde_json::to_value(self.messaging.counters()).unwrap_or_default(),
        );
        values.insert("wire_rejected".into(), self.inbound.counters().rejected());
        values.insert(
            "media_send_dropped".into(),
            self.media
                .send_dropped
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        values.insert("log_dropped".into(), self.log_drops.total());
        values.insert("log_syslog_refused".into(), self.log_drops.syslog_refused());
        values.insert("encode_errors".into(), self.send_errors);
        let m = self.membership.stats();
        for (k, v) in [
            ("rounds_started", m.rounds_started),
            ("rounds_committed", m.rounds_committed),
            ("rounds_abandoned", m.rounds_abandoned),
            ("proposals_refused", m.proposals_refused),
            ("messages_sent", m.messages_sent),
            ("messages_received", m.messages_received),
        ] {
            values.insert(format!("membership_{k}"), v);
        }
        Counters { values }
    }

    /// Leaves the cluster cleanly: say we are leaving, give peers a bounded time to
    /// acknowledge our last messages, then send the leave (a few copies, on every link).
    async fn leave(&mut self, inputs: &mut Inputs) {
        tracing::info!("shutting down: leaving the cluster");
        self.status = SenderStatus::Leaving;
        self.send_heartbeat();
        let until = Instant::now() + LEAVE_FLUSH;
        while self.messaging.unacked() > 0 && Instant::now() < until {
            let deadline = self.next_deadline();
            tokio::select! {
                Some(d) = inputs.packets.recv() => self.on_datagram(d),
                _ = tokio::time::sleep_until(self.instant(deadline).min(until)) => self.on_timer(),
            }
        }
        for i in 0..LEAVE_COPIES {
            self.transmit(&Body::Leave);
            if i + 1 < LEAVE_COPIES {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        // Give the writers (serial links) a moment to push the last frames out.
        tokio::time::sleep(Duration::from_millis(20)).await;
        tracing::info!("left the cluster");
    }
}
