//! Helpers shared by the lab tests: UDP probes between hosts, waiting for conditions,
//! and what to check after teardown.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use halo_lab::Lab;

/// Generous: conditions are waited for, never assumed after a sleep.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long a negative check listens after sending (a dropped frame never arrives,
/// however long one waits; this only bounds the test's duration).
pub const QUIET: Duration = Duration::from_millis(300);

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

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

/// A UDP socket of `host`, bound to its IPv4 address on `bridge` (or IPv6 with `v6`).
pub fn sock(lab: &Lab, host: &str, bridge: usize, v6: bool) -> UdpSocket {
    let h = lab.host(host).or_else(|_| lab.ping_host(host)).unwrap();
    let ip: IpAddr = if v6 {
        h.ipv6(bridge).unwrap().into()
    } else {
        h.ipv4(bridge).unwrap().into()
    };
    let s = lab
        .in_host_net(host, || UdpSocket::bind(SocketAddr::new(ip, 0)))
        .unwrap()
        .unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    s
}

/// Everything `rx` has received, until it has been quiet for `quiet`.
pub fn drain(rx: &UdpSocket, quiet: Duration) -> Vec<(String, SocketAddr)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        match rx.recv_from(&mut buf) {
            Ok((n, from)) => {
                out.push((String::from_utf8_lossy(&buf[..n]).into_owned(), from));
                last = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    out
}

/// Does a datagram from `tx` to `rx` get through (retrying until the deadline)? Returns
/// the sender address seen by the receiver.
pub fn reaches(tx: &UdpSocket, rx: &UdpSocket, tag: &str) -> Option<SocketAddr> {
    let to = rx.local_addr().unwrap();
    let mut n = 0;
    let end = Instant::now() + DEADLINE;
    while Instant::now() < end {
        n += 1;
        tx.send_to(format!("{tag}-{n}").as_bytes(), to).unwrap();
        if let Some((_, from)) = drain(rx, Duration::from_millis(50))
            .into_iter()
            .find(|(m, _)| m.starts_with(&format!("{tag}-")))
        {
            return Some(from);
        }
    }
    None
}

/// Send 10 datagrams from `tx` to `rx`; true when none of them arrives.
pub fn blocked(tx: &UdpSocket, rx: &UdpSocket, tag: &str) -> bool {
    let to = rx.local_addr().unwrap();
    for n in 0..10 {
        // A send may fail while a route or neighbour is missing; that is blocked too.
        let _ = tx.send_to(format!("{tag}-{n}").as_bytes(), to);
    }
    !drain(rx, QUIET)
        .iter()
        .any(|(m, _)| m.starts_with(&format!("{tag}-")))
}

/// Does `from` get an ICMP echo reply from `addr` (one try)?
pub fn pings(lab: &Lab, from: &str, addr: &str) -> bool {
    lab.output(from, &["ping", "-n", "-c1", "-W1", addr])
        .unwrap()
        .status
        .success()
}

/// Lines of `ip netns list`.
pub fn netns_list() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every trace of a lab, for checking teardown: processes (PID and start time) and names.
#[derive(Debug)]
pub struct Traces {
    pub prefix: String,
    pub procs: Vec<(u32, u64)>,
}

/// Record what a lab has running now: every process in its namespaces.
pub fn traces(lab: &Lab) -> Traces {
    let procs = halo_lab::survey(lab.prefix())
        .unwrap()
        .pids
        .into_iter()
        .filter_map(|pid| start_time(pid).map(|t| (pid, t)))
        .collect();
    Traces {
        prefix: lab.prefix().to_owned(),
        procs,
    }
}

/// Start time of a live (non-zombie) process.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Check that nothing of the lab is left: namespaces, directory, mounts, processes,
/// links and nft tables in the machine's own namespace.
pub fn assert_gone(t: &Traces) {
    let list = netns_list();
    assert!(
        !list.contains(&t.prefix),
        "namespaces of {} left: {list}",
        t.prefix
    );
    let dir = Path::new("/run/halo-lab").join(&t.prefix);
    assert!(!dir.exists(), "{} left", dir.display());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&t.prefix),
        "mounts of {} left:\n{mounts}",
        t.prefix
    );
    for &(pid, start) in &t.procs {
        assert_ne!(
            start_time(pid),
            Some(start),
            "process {pid} of lab {} still running",
            t.prefix
        );
    }
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains(&t.prefix), "links left: {links}");
    let tables = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    let tables = String::from_utf8_lossy(&tables.stdout);
    assert!(
        !tables.contains("halo_lab"),
        "nft tables in the machine's namespace: {tables}"
    );
}
