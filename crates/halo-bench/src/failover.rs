//! Client-visible failover: how long a client cannot reach a virtual IP when the node
//! holding it dies, measured the way the anchors were (shared/anchors/README.md), for
//! halo and for the anchors themselves (heartbeat 3.0.6, keepalived, Corosync +
//! Pacemaker) on the same lab, with the same probe.
//!
//! ```text
//!                    ┌──────── bridge br0 (no uplink) ────────┐
//!  client ── udp every 10 ms ─▶ VIP 10.213.0.100:7395          │
//!    ▲                          ├─ node1: responder bound to the VIP (IP_FREEBIND)
//!    │  "node2"                 ├─ node2: responder bound to the VIP
//!    └──────────────────────────┴─ (node3)            the stack under test moves the VIP
//!
//!  trial: clean start ─▶ node1 answers steadily ─▶ random 0–1 s ─▶ kill | cut node1
//!         ─▶ outage = fault instant → first answer from another node
//! ```
//!
//! The responders are sockets of this process, made in each node's network namespace and
//! bound to the VIP with `IP_FREEBIND`, so a node answers only while its kernel really
//! holds the VIP; they are no part of the stack and survive a kill (a killed stack leaves
//! its VIP behind, as a hung node's kernel would, until a peer's gratuitous ARP moves
//! the client). The client sends a datagram to the VIP every 10 ms, so figures include
//! up to 10 ms of probe granularity.
//!
//! Faults: `kill` is SIGKILL of every process on node1 (the stack and what it started);
//! `cut` is the lab's nftables rule dropping every frame of node1's switch port (its link
//! stays up), timed to the millisecond by a 1/ms probe stream across the cut
//! ([`crate::probe`]). Each trial starts the stack from clean state (the anchors' "from
//! a clean start"), and the fault comes after a random 0–1 s pause so that the phase of
//! periodic protocols is spread.
//!
//! Also measured: after a cut heals, the longest gap between answers at the client
//! ([`HealGap`]); and, with nothing failing and CPU hogs running, whether the VIP ever
//! answers from another node ([`quiet`]).
//!
//! Benchmarks report; they never assert.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use halo_lab::{Lab, LabSpec};
use nix::sys::signal::Signal;
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket, sockopt,
};

use crate::cluster::wait_for;
use crate::error::{BenchError, Result};
use crate::probe::{Probe, spawn_receiver, spawn_sender};
use crate::watch::{Recorder, Stamped};

/// The client's host name in the lab.
pub const CLIENT: &str = "client";
/// The node that holds the VIP at the start and fails.
pub const ACTIVE: &str = "node1";
/// The responders' UDP port.
pub const PORT: u16 = 7395;
/// The client's send interval.
pub const INTERVAL: Duration = Duration::from_millis(10);
/// How long node1 must answer without a break before a trial starts.
const STEADY: Duration = Duration::from_secs(1);
/// Generous limit for a stack to start and place the VIP.
const START_LIMIT: Duration = Duration::from_secs(120);

/// The virtual IP: the lab's first service address, 10.213.0.100.
pub fn vip() -> Ipv4Addr {
    halo_lab::service_ipv4(0, 0)
}

/// The VIP with its prefix, as `ip addr` and the stacks' configurations write it.
pub fn vip_cidr() -> String {
    format!("{}/{}", vip(), halo_lab::spec::IPV4_PREFIX_LEN)
}

/// A failure injected on the active node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// SIGKILL of every process on the node.
    Kill,
    /// nftables drop of every frame of the node's switch port.
    Cut,
}

impl Failure {
    /// `kill` or `cut`.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Kill => "kill",
            Failure::Cut => "cut",
        }
    }
}

/// A cluster stack that can hold the VIP, started afresh for each trial.
pub trait Stack {
    /// Stack and settings in words, e.g. `halo 100/500 ms, 3 nodes`.
    fn label(&self) -> String;
    /// Number of cluster nodes (`node1`…); the lab adds the client.
    fn nodes(&self) -> usize;
    /// Extra lab settings (private directories) the stack needs.
    fn lab_spec(&self, spec: LabSpec) -> LabSpec {
        spec
    }
    /// Start on every node from clean state, preferring node1 for the VIP.
    fn start(&mut self, lab: &Lab) -> Result<()>;
    /// Whether the stack reports itself settled with the VIP on node1 (beyond the
    /// client's view, which the caller checks).
    fn settled(&self, lab: &Lab) -> bool {
        let _ = lab;
        true
    }
    /// Stack-specific cleanup after every process is gone: state files to wipe so that
    /// the next start is clean.
    fn clean(&mut self, lab: &Lab, host: &str) -> Result<()>;
    /// Lines worth keeping after a trial (logs of the survivors), for `--log-dir`.
    fn logs(&self, lab: &Lab) -> Vec<(String, String)> {
        let _ = lab;
        Vec::new()
    }
}

/// Node names `node1`…`nodeN`.
pub fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("node{i}")).collect()
}

/// The lab for `stack`: its nodes and the client on one bridge.
pub fn build_lab(stack: &dyn Stack) -> Result<Lab> {
    let spec = stack.lab_spec(LabSpec::new().hosts(stack.nodes()).host(CLIENT));
    Ok(Lab::create(&spec)?)
}

/// Kill every process on every node, remove the VIP from every node and let the stack
/// wipe its state.
pub fn stop_all(stack: &mut dyn Stack, lab: &Lab) -> Result<()> {
    let nodes = node_names(stack.nodes());
    for n in &nodes {
        lab.signal_host(n, Signal::SIGKILL)?;
    }
    for n in &nodes {
        // Processes in uninterruptible sleep take a moment; zombies are reaped by the lab.
        let _ = wait_for(
            &format!("{n}'s processes to exit"),
            Duration::from_secs(20),
            || {
                let left = lab.pids_on(n).ok()?;
                if left.is_empty() {
                    Some(())
                } else {
                    let _ = lab.signal_host(n, Signal::SIGKILL);
                    None
                }
            },
        );
        let _ = lab.output(n, &["ip", "addr", "del", &vip_cidr(), "dev", "eth0"]);
        stack.clean(lab, n)?;
    }
    Ok(())
}

/// A UDP responder on each node, bound to the VIP, answering with the node's name.
#[derive(Debug)]
pub struct Responders {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

fn freebind_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let SocketAddr::V4(v4) = addr else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let fd: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::IpFreebind, &true)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(v4))?;
    Ok(UdpSocket::from(fd))
}

impl Responders {
    /// One responder on each of `nodes`.
    pub fn start(lab: &Lab, nodes: &[String]) -> Result<Responders> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let addr = SocketAddr::new(vip().into(), PORT);
        for n in nodes {
            let sock = lab
                .in_host_net(n, || freebind_socket(addr))?
                .map_err(|e| BenchError::io(format!("binding {addr} (freebind) on {n}"), e))?;
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .map_err(|e| BenchError::io("setting a timeout", e))?;
            let name = n.clone();
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("responder-{n}"))
                    .spawn(move || {
                        let mut buf = [0u8; 64];
                        while !stop.load(Ordering::Relaxed) {
                            if let Ok((8, from)) = sock.recv_from(&mut buf) {
                                // The request's sequence number, then the node's name.
                                let mut reply = buf[..8].to_vec();
                                reply.extend_from_slice(name.as_bytes());
                                let _ = sock.send_to(&reply, from);
                            }
                        }
                    })
                    .map_err(|e| BenchError::io("starting a responder", e))?,
            );
        }
        Ok(Responders { stop, threads })
    }
}

impl Drop for Responders {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// An answer to the client: the request's sequence number and who answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The request's number (one every [`INTERVAL`], from 1).
    pub seq: u64,
    /// The node that answered.
    pub node: String,
}

/// The client: a datagram to the VIP every 10 ms, every answer recorded with the name
/// of the node that sent it.
#[derive(Debug)]
pub struct Client {
    answers: Recorder<Answer>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Client {
    /// Start sending from the client host.
    pub fn start(lab: &Lab) -> Result<Client> {
        let src = SocketAddr::new(lab.host(CLIENT)?.ipv4(0)?.into(), 0);
        let dst = SocketAddr::new(vip().into(), PORT);
        let sock = lab
            .in_host_net(CLIENT, || UdpSocket::bind(src))?
            .map_err(|e| BenchError::io(format!("binding {src} on the client"), e))?;
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| BenchError::io("setting a timeout", e))?;
        let rx = sock
            .try_clone()
            .map_err(|e| BenchError::io("cloning the client socket", e))?;
        let answers = Recorder::new();
        let stop = Arc::new(AtomicBool::new(false));
        let sender = spawn_sender("client-tx", sock, dst, INTERVAL, stop.clone())?;
        let receiver = spawn_receiver("client-rx", rx, answers.clone(), stop.clone(), |b| {
            let (seq, node) = b.split_at_checked(8)?;
            Some(Answer {
                seq: u64::from_le_bytes(seq.try_into().ok()?),
                node: String::from_utf8_lossy(node).into_owned(),
            })
        })?;
        Ok(Client {
            answers,
            stop,
            threads: vec![sender, receiver],
        })
    }

    /// Every answer so far.
    pub fn answers(&self) -> Vec<Stamped<Answer>> {
        self.answers.answers_since(None)
    }

    /// The first answer at or after `since` from a node other than `old`, waiting up
    /// to `limit`.
    pub fn first_from_other(
        &self,
        old: &str,
        since: Instant,
        limit: Duration,
    ) -> Option<Stamped<Answer>> {
        self.answers
            .wait_for(limit, |s| s.at >= since && s.item.node != old)
    }

    /// Wait until `node` has answered every request for 1 s (no gap over three
    /// intervals, no other node answering), up to `limit`.
    pub fn wait_steady(&self, node: &str, limit: Duration) -> Result<()> {
        wait_for(
            &format!("the VIP to answer steadily from {node}"),
            limit,
            || {
                let now = Instant::now();
                let from = now.checked_sub(STEADY)?;
                let recent: Vec<Stamped<Answer>> = self
                    .answers
                    .answers_since(Some(from.checked_sub(INTERVAL * 3)?));
                let ok = !recent.is_empty()
                    && recent.iter().all(|s| s.item.node == node)
                    && longest_gap(&recent, from, now) <= INTERVAL * 3;
                ok.then_some(())
            },
        )
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

trait Since {
    fn answers_since(&self, from: Option<Instant>) -> Vec<Stamped<Answer>>;
}

impl Since for Recorder<Answer> {
    fn answers_since(&self, from: Option<Instant>) -> Vec<Stamped<Answer>> {
        let all = self.items();
        match from {
            None => all,
            Some(t) => all.into_iter().filter(|s| s.at >= t).collect(),
        }
    }
}

/// The longest stretch without an answer within `[from, to]`: between `from` and the
/// first answer, between consecutive answers, and from the last answer to `to`.
pub fn longest_gap(answers: &[Stamped<Answer>], from: Instant, to: Instant) -> Duration {
    let mut last = from;
    let mut gap = Duration::ZERO;
    for s in answers.iter().filter(|s| s.at >= from && s.at <= to) {
        gap = gap.max(s.at - last);
        last = s.at;
    }
    gap.max(to.saturating_duration_since(last))
}

/// What happened at the client after a partition healed.
#[derive(Clone, Debug, PartialEq)]
pub struct HealGap {
    /// The longest stretch without an answer in the watch window after the heal.
    pub longest: Duration,
    /// When it started, from the heal.
    pub at: Duration,
    /// Nodes that answered in the window, in order of first answer.
    pub answered: Vec<String>,
    /// The node answering at the end of the window.
    pub last: Option<String>,
    /// The most consecutive requests left unanswered in the window (a gap in the
    /// sequence numbers): lost in the network or unanswered, as opposed to a stall of
    /// this process's client threads, which delays answers without losing requests.
    pub lost_run: u64,
}

/// The heal gap in `answers` for a heal at `healed`, watched until `to`.
pub fn heal_gap(answers: &[Stamped<Answer>], healed: Instant, to: Instant) -> HealGap {
    let window: Vec<&Stamped<Answer>> = answers
        .iter()
        .filter(|s| s.at >= healed && s.at <= to)
        .collect();
    let mut last = healed;
    let mut longest = Duration::ZERO;
    let mut at = Duration::ZERO;
    for s in &window {
        if s.at - last > longest {
            longest = s.at - last;
            at = last - healed;
        }
        last = s.at;
    }
    if to.saturating_duration_since(last) > longest {
        longest = to - last;
        at = last - healed;
    }
    let mut answered: Vec<String> = Vec::new();
    for s in &window {
        if !answered.contains(&s.item.node) {
            answered.push(s.item.node.clone());
        }
    }
    let lost_run = window
        .windows(2)
        .map(|w| w[1].item.seq.saturating_sub(w[0].item.seq + 1))
        .max()
        .unwrap_or(0);
    HealGap {
        longest,
        at,
        answered,
        last: window.last().map(|s| s.item.node.clone()),
        lost_run,
    }
}

/// Options of a failover run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The failure.
    pub failure: Failure,
    /// Number of trials.
    pub trials: usize,
    /// Seed of the random pauses.
    pub seed: u64,
    /// A failover slower than this counts as missed.
    pub limit: Duration,
    /// For cuts: after the failover, heal and watch the client this long (`None`: no
    /// heal measurement, the cut is healed before the next trial's clean start).
    pub heal_watch: Option<Duration>,
    /// Wait this long after the failover before healing.
    pub heal_after: Duration,
    /// Write each trial's logs here.
    pub log_dir: Option<std::path::PathBuf>,
}

/// One trial's result.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Fault instant → first answer from another node; `None` when missed.
    pub outage: Option<Duration>,
    /// The node that answered.
    pub new_node: Option<String>,
    /// The fault's wall-clock time (to read logs by).
    pub wall: SystemTime,
    /// For cuts with heal measurement.
    pub heal: Option<HealGap>,
}

/// Run `opts.trials` trials of `stack` on a fresh lab, printing each.
pub fn run(stack: &mut dyn Stack, opts: &Options) -> Result<Vec<Trial>> {
    use rand::{RngExt as _, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let lab = build_lab(stack)?;
    let nodes = node_names(stack.nodes());
    let _responders = Responders::start(&lab, &nodes)?;
    let client = Client::start(&lab)?;
    let probe = match opts.failure {
        Failure::Cut => Some(Probe::start(&lab, ACTIVE, "node2", 0)?),
        Failure::Kill => None,
    };
    let mut out = Vec::new();
    for trial in 1..=opts.trials {
        stop_all(stack, &lab)?;
        lab.heal_all()?;
        stack.start(&lab)?;
        wait_for("the stack to settle", START_LIMIT, || {
            stack.settled(&lab).then_some(())
        })?;
        client.wait_steady(ACTIVE, START_LIMIT)?;
        std::thread::sleep(Duration::from_micros(rng.random_range(0..1_000_000)));
        let wall = SystemTime::now();
        let before = Instant::now();
        match opts.failure {
            Failure::Kill => {
                lab.signal_host(ACTIVE, Signal::SIGKILL)?;
            }
            Failure::Cut => lab.cut(ACTIVE)?,
        }
        let returned = Instant::now();
        let t0 = match &probe {
            Some(p) => p.cut_at(before, returned).unwrap_or(before),
            None => before,
        };
        let first = client.first_from_other(ACTIVE, t0, opts.limit);
        let outage = first.as_ref().map(|s| s.at - t0);
        let mut heal = None;
        if let (Failure::Cut, Some(watch), Some(_)) = (opts.failure, opts.heal_watch, &first) {
            std::thread::sleep(opts.heal_after);
            lab.heal(ACTIVE)?;
            let healed = Instant::now();
            std::thread::sleep(watch);
            heal = Some(heal_gap(&client.answers(), healed, Instant::now()));
        }
        let shown = match (&outage, &first) {
            (Some(d), Some(s)) => format!("{:>8.1} ms (first answer from {})", ms(*d), s.item.node),
            _ => format!("missed within {:?}", opts.limit),
        };
        let heal_shown = heal
            .as_ref()
            .map(|h| {
                format!(
                    "; after heal: longest gap {:.1} ms at +{:.0} ms ({} requests in a row unanswered), answered {:?}, last {}",
                    ms(h.longest),
                    ms(h.at),
                    h.lost_run,
                    h.answered,
                    h.last.as_deref().unwrap_or("nobody")
                )
            })
            .unwrap_or_default();
        println!(
            "trial {trial:>3}: {} {shown}{heal_shown} [fault at {}]",
            opts.failure.name(),
            wall_string(wall)
        );
        if let Some(dir) = &opts.log_dir {
            save_logs(stack, &lab, dir, trial)?;
        }
        out.push(Trial {
            outage,
            new_node: first.map(|s| s.item.node),
            wall,
            heal,
        });
    }
    stop_all(stack, &lab)?;
    Ok(out)
}

fn save_logs(stack: &dyn Stack, lab: &Lab, dir: &std::path::Path, trial: usize) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
    for (name, text) in stack.logs(lab) {
        let path = dir.join(format!("trial{trial:03}-{name}.log"));
        std::fs::write(&path, text)
            .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// What a quiet run saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Quiet {
    /// Answers from a node other than node1 (a false failover shows here).
    pub from_others: usize,
    /// Nodes other than node1 that answered.
    pub others: Vec<String>,
    /// Answers in total.
    pub answers: usize,
    /// The longest stretch without an answer.
    pub longest_gap: Duration,
}

/// Start `stack`, then watch the client for `seconds` with `hogs` busy threads and
/// nothing failing: any answer from another node is a false failover.
pub fn quiet(stack: &mut dyn Stack, seconds: u64, hogs: usize) -> Result<Quiet> {
    let lab = build_lab(stack)?;
    let nodes = node_names(stack.nodes());
    let _responders = Responders::start(&lab, &nodes)?;
    let client = Client::start(&lab)?;
    stop_all(stack, &lab)?;
    stack.start(&lab)?;
    wait_for("the stack to settle", START_LIMIT, || {
        stack.settled(&lab).then_some(())
    })?;
    client.wait_steady(ACTIVE, START_LIMIT)?;
    let hog_threads = Hogs::start(hogs);
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let summary = |to: Instant| {
        let answers = client.answers();
        let window: Vec<Stamped<Answer>> = answers
            .into_iter()
            .filter(|s| s.at >= start && s.at <= to)
            .collect();
        let mut others: Vec<String> = Vec::new();
        for s in window.iter().filter(|s| s.item.node != ACTIVE) {
            if !others.contains(&s.item.node) {
                others.push(s.item.node.clone());
            }
        }
        Quiet {
            from_others: window.iter().filter(|s| s.item.node != ACTIVE).count(),
            others,
            answers: window.len(),
            longest_gap: longest_gap(&window, start, to),
        }
    };
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(60).min(end - Instant::now()));
        let q = summary(Instant::now());
        println!(
            "{:>5.0} s: {} answers, {} from another node {:?}, longest gap {:.1} ms",
            start.elapsed().as_secs_f64(),
            q.answers,
            q.from_others,
            q.others,
            ms(q.longest_gap)
        );
    }
    drop(hog_threads);
    let q = summary(end);
    if let Some(dir) = std::env::var_os("HALO_BENCH_LOG_DIR") {
        save_logs(stack, &lab, std::path::Path::new(&dir), 0)?;
    }
    stop_all(stack, &lab)?;
    Ok(q)
}

/// Busy threads (one core each) until dropped: the load of the false-failover and
/// false-death runs.
#[derive(Debug)]
pub struct Hogs {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Hogs {
    /// Start `n` busy threads.
    pub fn start(n: usize) -> Hogs {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..100_000 {
                            x = std::hint::black_box(
                                x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
                            );
                        }
                    }
                    x
                })
            })
            .collect();
        Hogs { stop, threads }
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The last component of an anchors' configuration directory (`config-fast`).
pub fn variant(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The logs of tracked processes, by node.
pub fn proc_logs<'a>(
    procs: impl IntoIterator<Item = (&'a String, &'a halo_lab::Proc)>,
) -> Vec<(String, String)> {
    procs
        .into_iter()
        .map(|(n, p)| (n.clone(), p.log_text()))
        .collect()
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `HH:MM:SS.mmm` UTC.
pub fn wall_string(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let s = d.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64, who: &str) -> Stamped<Answer> {
        Stamped {
            at: base + Duration::from_millis(ms),
            item: Answer {
                seq: ms / 10,
                node: who.to_owned(),
            },
        }
    }

    #[test]
    fn gaps_count_the_edges_of_the_window() {
        let t = Instant::now();
        let a = vec![
            at(t, 10, "node1"),
            at(t, 20, "node1"),
            at(t, 95, "node2"),
            at(t, 100, "node2"),
        ];
        assert_eq!(
            longest_gap(&a, t, t + Duration::from_millis(110)),
            Duration::from_millis(75)
        );
        // Nothing after the last answer for a long time: that is the gap.
        assert_eq!(
            longest_gap(&a, t, t + Duration::from_millis(300)),
            Duration::from_millis(200)
        );
        let h = heal_gap(
            &a,
            t + Duration::from_millis(15),
            t + Duration::from_millis(105),
        );
        assert_eq!(h.longest, Duration::from_millis(75));
        assert_eq!(h.at, Duration::from_millis(5));
        assert_eq!(h.answered, vec!["node1".to_owned(), "node2".to_owned()]);
        assert_eq!(h.last.as_deref(), Some("node2"));
        // Requests 3 to 8 went unanswered between the answers to 2 and 9.
        assert_eq!(h.lost_run, 6);
    }

    #[test]
    fn wall_clock_is_shown_in_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(3_723_004);
        assert_eq!(wall_string(t), "01:02:03.004Z");
    }
}
