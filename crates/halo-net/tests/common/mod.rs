//! Helpers for the lab tests: a runtime, a `Net` per host, a raw capture socket on a host,
//! the decoding of the announcements it sees (written independently of the crate's own
//! packet builders), neighbour entries, and running the agent binary on a host.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Output;
use std::time::{Duration, Instant};

use halo_lab::{Lab, LabSpec};
use halo_net::Net;
use socket2::{Domain, Protocol, Socket, Type};

/// Generous: conditions are waited for, never assumed after a sleep.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long a negative check listens (a frame that is not sent never arrives, however
/// long one waits; this only bounds the test's duration).
pub const QUIET: Duration = Duration::from_millis(600);

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn lab(spec: LabSpec) -> Lab {
    Lab::create(&spec).unwrap_or_else(|e| panic!("creating the lab: {e}"))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A `Net` for `host`: its sockets are made inside the host's network namespace.
pub fn net_on(lab: &Lab, rt: &tokio::runtime::Runtime, host: &str) -> Net {
    lab.in_host_net(host, || {
        let _guard = rt.enter();
        Net::open()
    })
    .unwrap()
    .unwrap()
}

/// Wait until `f` is true or [`DEADLINE`] passes.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + DEADLINE;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn sh(lab: &Lab, host: &str, script: &str) -> String {
    let out = lab.sh(host, script).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn pings(lab: &Lab, from: &str, addr: IpAddr) -> bool {
    let v = if addr.is_ipv6() { "-6" } else { "-4" };
    lab.output(from, &["ping", v, "-n", "-c1", "-W1", &addr.to_string()])
        .unwrap()
        .status
        .success()
}

/// The link-layer address `host` has for `addr` (`ip neigh`), if any.
pub fn neighbour_mac(lab: &Lab, host: &str, addr: IpAddr) -> Option<String> {
    let out = sh(lab, host, &format!("ip neigh show {addr}"));
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "lladdr" {
            return words.next().map(str::to_string);
        }
    }
    None
}

pub fn mac_of(lab: &Lab, host: &str) -> [u8; 6] {
    halo_lab::spec::node_mac(0, lab.host(host).unwrap().number())
}

pub fn mac_str(mac: [u8; 6]) -> String {
    halo_lab::spec::mac_string(mac)
}

/// One announcement seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// ARP with sender IP = target IP (op 1 request, 2 reply).
    Garp {
        op: u16,
        eth_src: [u8; 6],
        eth_dst: [u8; 6],
        sender_mac: [u8; 6],
        target_mac: [u8; 6],
        ip: Ipv4Addr,
    },
    /// ICMPv6 neighbour advertisement.
    Na {
        eth_src: [u8; 6],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        solicited: bool,
        overrides: bool,
        target: Ipv6Addr,
        target_mac: Option<[u8; 6]>,
    },
}

/// A raw capture of every frame of one ethertype on a host.
pub struct Capture {
    socket: Socket,
    pub seen: Vec<(Instant, Seen)>,
}

impl Capture {
    pub fn arp(lab: &Lab, host: &str) -> Capture {
        Capture::open(lab, host, 0x0806)
    }

    pub fn ipv6(lab: &Lab, host: &str) -> Capture {
        Capture::open(lab, host, 0x86dd)
    }

    fn open(lab: &Lab, host: &str, ethertype: u16) -> Capture {
        let socket = lab
            .in_host_net(host, || {
                Socket::new(
                    Domain::PACKET,
                    Type::RAW,
                    Some(Protocol::from(i32::from(ethertype.to_be()))),
                )
            })
            .unwrap()
            .unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Capture {
            socket,
            seen: Vec::new(),
        }
    }

    /// Reads what has arrived, until nothing comes for `quiet`.
    pub fn poll(&mut self, quiet: Duration) {
        self.read(quiet, None);
    }

    /// Reads what arrives during `span`.
    pub fn poll_for(&mut self, span: Duration) {
        self.read(span, Some(Instant::now() + span));
    }

    fn read(&mut self, quiet: Duration, until: Option<Instant>) {
        let mut last = Instant::now();
        let mut buf = [0u8; 2048];
        while last.elapsed() < quiet && until.is_none_or(|u| Instant::now() < u) {
            match (&self.socket).read(&mut buf) {
                Ok(n) => {
                    if let Some(s) = decode(&buf[..n]) {
                        self.seen.push((Instant::now(), s));
                    }
                    last = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("capture: {e}"),
            }
        }
    }

    /// Polls until `f` holds on what was seen, or the deadline passes.
    pub fn until(&mut self, mut f: impl FnMut(&[(Instant, Seen)]) -> bool) -> bool {
        let end = Instant::now() + DEADLINE;
        while Instant::now() < end {
            self.poll_for(Duration::from_millis(20));
            if f(&self.seen) {
                return true;
            }
        }
        false
    }

    /// Gratuitous ARPs for `ip`, counted by (op, sender MAC).
    pub fn garps(&self, ip: Ipv4Addr) -> BTreeMap<(u16, [u8; 6]), usize> {
        let mut m = BTreeMap::new();
        for (_, s) in &self.seen {
            if let Seen::Garp {
                op,
                sender_mac,
                ip: i,
                ..
            } = s
                && *i == ip
            {
                *m.entry((*op, *sender_mac)).or_default() += 1;
            }
        }
        m
    }

    /// Neighbour advertisements for `target`.
    pub fn nas(&self, target: Ipv6Addr) -> Vec<Seen> {
        self.seen
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Na { target: t, .. } if *t == target))
            .map(|(_, s)| s.clone())
            .collect()
    }
}

fn mac(b: &[u8]) -> [u8; 6] {
    b[..6].try_into().unwrap()
}

fn ipv6(b: &[u8]) -> Ipv6Addr {
    <[u8; 16]>::try_from(&b[..16]).unwrap().into()
}

/// Decodes an Ethernet frame into an announcement, by RFC 826 and RFC 4861 offsets.
fn decode(f: &[u8]) -> Option<Seen> {
    if f.len() < 14 {
        return None;
    }
    let eth_dst = mac(&f[0..6]);
    let eth_src = mac(&f[6..12]);
    let ethertype = u16::from_be_bytes([f[12], f[13]]);
    let p = &f[14..];
    match ethertype {
        0x0806 if p.len() >= 28 => {
            let spa = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
            let tpa = Ipv4Addr::new(p[24], p[25], p[26], p[27]);
            (spa == tpa && p[0..6] == [0, 1, 8, 0, 6, 4]).then(|| Seen::Garp {
                op: u16::from_be_bytes([p[6], p[7]]),
                eth_src,
                eth_dst,
                sender_mac: mac(&p[8..14]),
                target_mac: mac(&p[18..24]),
                ip: spa,
            })
        }
        0x86dd if p.len() >= 40 + 24 && p[6] == 58 && p[40] == 136 => {
            let icmp = &p[40..];
            let mut target_mac = None;
            let mut opts = &icmp[24..];
            while opts.len() >= 8 && opts[1] > 0 {
                let len = usize::from(opts[1]) * 8;
                if opts[0] == 2 && len >= 8 {
                    target_mac = Some(mac(&opts[2..8]));
                }
                opts = opts.get(len..).unwrap_or_default();
            }
            Some(Seen::Na {
                eth_src,
                src: ipv6(&p[8..24]),
                dst: ipv6(&p[24..40]),
                hop_limit: p[7],
                solicited: icmp[4] & 0x40 != 0,
                overrides: icmp[4] & 0x20 != 0,
                target: ipv6(&icmp[8..24]),
                target_mac,
            })
        }
        _ => None,
    }
}

/// Runs the agent binary on `host` with `action` and `OCF_RESKEY_*` parameters.
pub fn agent(lab: &Lab, host: &str, action: &str, params: &[(&str, &str)]) -> Output {
    let mut cmd = lab
        .command(host, env!("CARGO_BIN_EXE_halo-ipaddr"))
        .unwrap();
    cmd.arg(action)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", "vip");
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    cmd.output().unwrap()
}

/// Runs Debian's `ocf:heartbeat:IPaddr2` on `host`.
pub fn ipaddr2(lab: &Lab, host: &str, action: &str, params: &[(&str, &str)]) -> Output {
    std::fs::create_dir_all(
        lab.host(host)
            .unwrap()
            .path("/run/resource-agents")
            .unwrap(),
    )
    .unwrap();
    let mut cmd = lab
        .command(host, "/usr/lib/ocf/resource.d/heartbeat/IPaddr2")
        .unwrap();
    cmd.arg(action)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", "vip2")
        .env("HA_RSCTMP", "/run/resource-agents");
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    cmd.output().unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
