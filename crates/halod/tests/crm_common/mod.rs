//! What the resource manager's lab tests share: writing a cluster's configuration onto
//! the lab's hosts, asking halod (over its socket, or with the real `halo` binary run on
//! a host) where resources run, waiting for conditions with a generous deadline, probing
//! from inside each host's namespaces that nothing is active on two nodes at once, and
//! reading the client's ping stream.
//!
//! Each test file uses a part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use halo_ipc::{Reply, Request, Status};
use halo_lab::Lab;

pub const HALOD: &str = env!("CARGO_BIN_EXE_halod");
/// How long any condition may take to come true.
pub const LIMIT: Duration = Duration::from_secs(60);
pub const DUMMY_AGENT: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";

/// Service address `k` on the first bridge (`10.213.0.(100+k)`).
pub fn vip_n(k: u8) -> String {
    halo_lab::service_ipv4(0, k).to_string()
}

pub fn halo_binary() -> PathBuf {
    let p = PathBuf::from(HALOD).with_file_name("halo");
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

/// A fresh key for `authkeys`.
pub fn random_key() -> String {
    halo_bench::config::random_secret()
}

/// Writes `ha.cf`, `authkeys` (sha256 with `key`) and, when given, `haresources` into
/// every node's `/etc/ha.d`.
pub fn write_config(lab: &Lab, nodes: &[&str], ha_cf: &str, haresources: Option<&str>, key: &str) {
    for n in nodes {
        let h = lab.host(n).unwrap();
        std::fs::write(h.path("/etc/ha.d/ha.cf").unwrap(), ha_cf).unwrap();
        let ak = h.path("/etc/ha.d/authkeys").unwrap();
        std::fs::write(&ak, format!("auth 1\n1 sha256 {key}\n")).unwrap();
        std::fs::set_permissions(&ak, std::fs::Permissions::from_mode(0o600)).unwrap();
        let hr = h.path("/etc/ha.d/haresources").unwrap();
        match haresources {
            Some(text) => std::fs::write(&hr, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&hr);
            }
        }
    }
}

/// A node's status over its socket (`None` while halod does not answer).
pub fn status(lab: &Lab, host: &str) -> Option<Status> {
    let sock = lab.host(host).ok()?.path("/run/halo/halod.sock").ok()?;
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(&halo_ipc::encode_line(&Request::Status)).ok()?;
    let mut line = Vec::new();
    BufReader::new(s).read_until(b'\n', &mut line).ok()?;
    match halo_ipc::decode_line::<Reply>(&line).ok()? {
        Reply::Status(st) => Some(*st),
        _ => None,
    }
}

/// `halo status --json`, run on `host` with the real `halo` binary.
pub fn halo_status_json(lab: &Lab, host: &str) -> serde_json::Value {
    let out = halo_ok(lab, host, &["status", "--json"]);
    serde_json::from_str(&out).unwrap()
}

/// Where `id` runs according to a `halo status --json` document: (class, type, role,
/// node).
pub fn json_placement(v: &serde_json::Value, id: &str) -> Option<(String, String, String, String)> {
    v["resources"].as_array()?.iter().find_map(|r| {
        (r["id"] == id).then(|| {
            (
                r["class"].as_str().unwrap_or("").to_string(),
                r["type"].as_str().unwrap_or("").to_string(),
                r["role"].as_str().unwrap_or("").to_string(),
                r["node"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}

/// The node where `id` is started, as `s` says.
pub fn placed_on(s: &Status, id: &str) -> Option<String> {
    s.resources
        .iter()
        .find(|r| r.id == id && r.role == "Started")
        .and_then(|r| r.node.as_ref().map(|n| n.to_string()))
}

/// Waits (up to [`LIMIT`]) until `f` gives a value.
pub fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_within(LIMIT, what, f)
}

/// Waits up to `limit` until `f` gives a value.
pub fn wait_within<T>(limit: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    halo_bench::cluster::wait_for(what, limit, f).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until every one of `nodes` sees each of `ids` started on `on` with its CIB in
/// sync.
pub fn wait_placed(lab: &Lab, nodes: &[&str], ids: &[&str], on: &str) {
    for n in nodes {
        wait_for(&format!("{n}: {ids:?} started on {on}"), || {
            let s = status(lab, n)?;
            (ids.iter()
                .all(|id| placed_on(&s, id).as_deref() == Some(on))
                && s.crm.as_ref()?.synced)
                .then_some(())
        });
    }
}

/// Nodes whose interfaces carry `ip` (`ip addr` in each node's namespace).
pub fn ip_holders(lab: &Lab, nodes: &[&str], ip: &str) -> BTreeSet<String> {
    let needle = format!("inet {ip}/");
    nodes
        .iter()
        .filter(|n| {
            lab.output(n, &["ip", "-o", "-4", "addr", "show"])
                .map(|o| String::from_utf8_lossy(&o.stdout).contains(&needle))
                .unwrap_or(false)
        })
        .map(|n| n.to_string())
        .collect()
}

/// Nodes where `path` (as the host sees it) exists: e.g. the Dummy agent's state file,
/// `/run/resource-agents/Dummy-ID.state`.
pub fn file_holders(lab: &Lab, nodes: &[&str], path: &str) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|n| {
            lab.host(n)
                .and_then(|h| h.path(path))
                .is_ok_and(|p| p.exists())
        })
        .map(|n| n.to_string())
        .collect()
}

/// The Dummy agent's state file for resource `id`.
pub fn dummy_state(id: &str) -> String {
    format!("/run/resource-agents/Dummy-{id}.state")
}

/// Whether `client` reaches `ip`, and the MAC it reaches it at.
pub fn client_reaches(lab: &Lab, client: &str, ip: &str) -> Option<String> {
    let ok = lab
        .output(client, &["ping", "-c1", "-W1", "-q", ip])
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let out = lab
        .output(client, &["ip", "neigh", "show", ip, "dev", "eth0"])
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = text.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_string)
}

/// The MAC of `nodeN` on the first bridge.
pub fn mac_of(node: &str) -> String {
    let n: u8 = node.trim_start_matches("node").parse().unwrap();
    halo_lab::spec::mac_string(halo_lab::spec::node_mac(0, n))
}

/// The node whose MAC the client reaches `ip` at, among `nodes`.
pub fn client_sees_on<'a>(lab: &Lab, client: &str, ip: &str, nodes: &[&'a str]) -> Option<&'a str> {
    let mac = client_reaches(lab, client, ip)?;
    nodes.iter().copied().find(|n| mac_of(n) == mac)
}

/// One thing that must never be active on two live nodes: a name and how to find the
/// nodes where it is active.
pub enum Probe {
    /// An IPv4 address on a node's interfaces.
    Ip(String),
    /// A file that exists on a node while the resource runs there.
    File(String),
    /// Anything else, found by a command run on each node that succeeds where it is
    /// active (e.g. `mountpoint -q DIR`).
    Command(Vec<String>),
}

impl Probe {
    /// Whether it is active on `node`.
    fn active_on(&self, lab: &Lab, node: &str) -> bool {
        match self {
            Probe::Ip(ip) => !ip_holders(lab, &[node], ip).is_empty(),
            Probe::File(p) => !file_holders(lab, &[node], p).is_empty(),
            Probe::Command(argv) => lab.output(node, argv).is_ok_and(|o| o.status.success()),
        }
    }

    /// The nodes where it is active, when two or more are caught at the same moment.
    ///
    /// The nodes are looked at one after the other, so a move (stopped on A, then
    /// started on B) between two looks would seem to be on both. What counts is
    /// proven: when A, looked at before B, is still active when looked at again after
    /// B was found active, both were active at B's look (unless A went away and came
    /// back within that window, which nothing here does). A look that found two but
    /// could not prove it is returned as `Err`.
    fn overlap(&self, lab: &Lab, nodes: &[&str]) -> Option<Result<BTreeSet<String>, String>> {
        let seen: Vec<&str> = nodes
            .iter()
            .copied()
            .filter(|n| self.active_on(lab, n))
            .collect();
        let (&last, earlier) = seen.split_last()?;
        if earlier.is_empty() {
            return None;
        }
        let mut still: BTreeSet<String> = earlier
            .iter()
            .filter(|n| self.active_on(lab, n))
            .map(|n| n.to_string())
            .collect();
        if still.is_empty() {
            return Some(Err(format!(
                "{} seen on {seen:?} one after the other, not at once",
                self.name()
            )));
        }
        still.insert(last.to_string());
        Some(Ok(still))
    }

    fn name(&self) -> String {
        match self {
            Probe::Ip(ip) => format!("address {ip}"),
            Probe::File(p) => format!("file {p}"),
            Probe::Command(a) => format!("`{}`", a.join(" ")),
        }
    }
}

/// Probes every 50 ms, from inside each live node's namespaces, that nothing is active
/// on two of them at once (see [`Probe`]). Each node also runs `ip -ts monitor
/// address`, whose log is shown when something was found twice.
pub struct Prober {
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<&'static str>>>,
    violations: Arc<Mutex<Vec<String>>>,
    unproven: Arc<Mutex<Vec<String>>>,
    rounds: Arc<Mutex<u64>>,
    monitors: Vec<halo_lab::Proc>,
    lab: Arc<Lab>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    pub fn start(lab: Arc<Lab>, live: &[&'static str], probes: Vec<Probe>) -> Prober {
        let monitors = live
            .iter()
            .filter_map(|n| lab.spawn_args(n, &["ip", "-ts", "monitor", "address"]).ok())
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(live.to_vec()));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let unproven = Arc::new(Mutex::new(Vec::new()));
        let rounds = Arc::new(Mutex::new(0));
        let (s, l, v, u, r, lab2) = (
            stop.clone(),
            live.clone(),
            violations.clone(),
            unproven.clone(),
            rounds.clone(),
            lab.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let nodes = l.lock().unwrap().clone();
                for p in &probes {
                    match p.overlap(&lab2, &nodes) {
                        Some(Ok(on)) => v.lock().unwrap().push(format!(
                            "{} active on {on:?} at once ({})",
                            p.name(),
                            wall_clock()
                        )),
                        Some(Err(e)) => u.lock().unwrap().push(e),
                        None => {}
                    }
                }
                *r.lock().unwrap() += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Prober {
            stop,
            live,
            violations,
            unproven,
            rounds,
            monitors,
            lab,
            thread: Some(thread),
        }
    }

    /// The nodes that count as live from now on.
    pub fn set_live(&self, nodes: &[&'static str]) {
        *self.live.lock().unwrap() = nodes.to_vec();
    }

    /// Every change of `ip` on the nodes' interfaces so far, in time order, as
    /// `ip -ts monitor address` saw it: (time, node, "added" or "deleted").
    pub fn address_events(&self, ip: &str) -> Vec<(String, String, &'static str)> {
        let needle = format!(" {ip}/");
        let mut v: Vec<_> = self
            .monitors
            .iter()
            .flat_map(|m| {
                m.log_text()
                    .lines()
                    .filter(|l| l.contains(&needle))
                    .filter_map(|l| {
                        let (ts, rest) = l.strip_prefix('[')?.split_once(']')?;
                        let what = if rest.trim_start().starts_with("Deleted") {
                            "deleted"
                        } else {
                            "added"
                        };
                        Some((ts.to_string(), m.host.clone(), what))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v
    }

    /// Rounds probed so far.
    pub fn rounds(&self) -> u64 {
        *self.rounds.lock().unwrap()
    }

    /// Stops probing; asserts that it probed and found nothing active twice at once.
    pub fn finish(mut self) -> u64 {
        self.halt();
        let rounds = *self.rounds.lock().unwrap();
        let violations = self.violations.lock().unwrap().clone();
        let unproven = self.unproven.lock().unwrap().clone();
        if !unproven.is_empty() {
            println!(
                "prober: {} looks saw a resource on two nodes one after the other (a move \
                 between the looks), never at once: {unproven:?}",
                unproven.len()
            );
        }
        assert!(rounds > 5, "the prober ran {rounds} rounds");
        if !violations.is_empty() {
            let events: String = self
                .monitors
                .iter()
                .map(|m| format!("--- {} (ip -ts monitor address)\n{}", m.host, m.log_text()))
                .collect();
            panic!(
                "a resource was active on two live nodes at once ({} of {rounds} rounds): \
                 {:?}\n{events}",
                violations.len(),
                &violations[..violations.len().min(20)]
            );
        }
        rounds
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for m in &self.monitors {
            let _ = self.lab.kill(m);
        }
    }
}

impl Drop for Prober {
    /// Also on a failed assertion: the prober lets go of the lab, which tears it down.
    fn drop(&mut self) {
        self.halt();
    }
}

/// The wall clock, seconds since the epoch (to line up with `ip -ts` and halod's logs).
fn wall_clock() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// The longest gap between consecutive replies in a `ping -D` log, in ms, with the
/// replies counted.
pub fn longest_gap_ms(log: &str) -> (f64, usize) {
    let mut last: Option<f64> = None;
    let mut gap: f64 = 0.0;
    let mut replies = 0;
    for line in log.lines().filter(|l| l.contains("bytes from")) {
        let Some(ts) = line
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        replies += 1;
        if let Some(prev) = last {
            gap = gap.max(ts - prev);
        }
        last = Some(ts);
    }
    (gap * 1000.0, replies)
}

/// `halo ARGS…` on `host`: (exit code, stdout, stderr).
pub fn halo(lab: &Lab, host: &str, args: &[&str]) -> (i32, String, String) {
    let halo = halo_binary();
    let mut argv: Vec<&std::ffi::OsStr> = vec![halo.as_os_str()];
    argv.extend(args.iter().map(std::ffi::OsStr::new));
    let out = lab.output(host, &argv).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `halo ARGS…` that must succeed; its stdout.
pub fn halo_ok(lab: &Lab, host: &str, args: &[&str]) -> String {
    let (code, out, err) = halo(lab, host, args);
    assert_eq!(code, 0, "halo {args:?} on {host}: {out}{err}");
    out
}

/// The CIB version `halo configure show --json` reports on `host`, as (admin_epoch,
/// epoch, num_updates).
pub fn cib_version(lab: &Lab, host: &str) -> (u64, u64, u64) {
    let out = halo_ok(lab, host, &["configure", "show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let parts: Vec<u64> = v["version"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    (parts[0], parts[1], parts[2])
}
