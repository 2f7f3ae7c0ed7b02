//! Corosync 3 on the lab, the anchor for membership convergence (`halo-bench
//! membership --stack corosync`).
//!
//! What it takes to run several Corosyncs on one machine (shared/anchors/README.md): each
//! host has its own UTS namespace (Corosync takes the node name from the hostname) and
//! private `/etc/corosync`, `/var/lib/corosync`, `/var/log`, `/run` and `/dev/shm` (libqb's
//! ring buffers); halo-lab hosts have all of these. IPC uses abstract UNIX sockets, which
//! are per network namespace. Corosync runs in the foreground (`corosync -f`), one process
//! per host, with `TZ=UTC` so that its log timestamps can be compared with this
//! program's clock.
//!
//! Its reports are log lines (`timestamp: hires`, millisecond resolution), read back
//! from each host's log file after the fact:
//!
//! ```text
//! Nov 23 11:24:02.983 [18944] node1 corosync notice  [TOTEM ] A processor failed, forming new configuration: token timed out (500ms), waiting 600ms for consensus.
//! Nov 23 11:24:03.583 [18944] node1 corosync notice  [TOTEM ] A new membership (1.d) was formed. Members left: 3
//! Nov 23 11:24:03.587 [18944] node1 corosync notice  [QUORUM] Members[2]: 1 2
//! ```
//!
//! The `[QUORUM] Members[N]: …` line is when the membership reaches Corosync's clients
//! (what `corosync-quorumtool -s` shows); the ring id of the `A new membership (…)` line
//! before it names the membership, for the agreement check.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use halo_lab::{Lab, Proc};
use nix::sys::signal::Signal;

use crate::cluster::write_mode;
use crate::error::{BenchError, Result};

/// The daemon as Debian installs it.
pub const COROSYNC: &str = "/usr/sbin/corosync";
/// Its log file on every host (inside the host).
pub const LOG: &str = "/var/log/corosync/corosync.log";

/// `corosync.conf` for `nodes` (name, node id, ring-0 address): knet, messages
/// authenticated with SHA-256 (as halo's `auth 1 sha256`) but not encrypted, `token`
/// in milliseconds with `token_coefficient: 0` (otherwise Corosync adds 650 ms per node
/// above two), consensus and join at their defaults (1.2 × token, 50 ms), votequorum,
/// hires timestamps to the log file.
pub fn corosync_conf(nodes: &[(String, u32, String)], token_ms: u64) -> String {
    let mut s = format!(
        "totem {{\n\tversion: 2\n\tcluster_name: halolab\n\ttransport: knet\n\
         \tcrypto_cipher: none\n\tcrypto_hash: sha256\n\ttoken: {token_ms}\n\
         \ttoken_coefficient: 0\n}}\n\
         logging {{\n\tto_stderr: no\n\tto_syslog: no\n\tto_logfile: yes\n\
         \tlogfile: {LOG}\n\ttimestamp: hires\n\tfileline: off\n}}\n\
         quorum {{\n\tprovider: corosync_votequorum\n}}\n\
         nodelist {{\n"
    );
    for (name, id, addr) in nodes {
        s.push_str(&format!(
            "\tnode {{\n\t\tname: {name}\n\t\tnodeid: {id}\n\t\tring0_addr: {addr}\n\t}}\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// What a Corosync log line reports, of what the benchmark needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// `[TOTEM ] A processor failed, forming new configuration: …` (the token was lost:
    /// Corosync's failure detection).
    ProcessorFailed,
    /// `[TOTEM ] A new membership (RING) was formed. …`
    Formed {
        /// The ring id, e.g. `1.d`.
        ring: String,
    },
    /// `[QUORUM] Members[N]: ID …`: the membership delivered to clients.
    Members(Vec<u32>),
}

/// One recognised log line: when (milliseconds since midnight, as logged) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Time of day in milliseconds (the log's `HH:MM:SS.mmm`).
    pub ms_of_day: u32,
    /// What it reports.
    pub event: LogEvent,
}

/// Parse one line of a `timestamp: hires` log; `None` for lines the benchmark does not
/// need (and for anything malformed).
pub fn parse_line(line: &str) -> Option<LogLine> {
    let clock = line.split_whitespace().nth(2)?;
    let ms_of_day = parse_clock(clock)?;
    let event = if line.contains("[TOTEM ] A processor failed") {
        LogEvent::ProcessorFailed
    } else if let Some((_, rest)) = line.split_once("[TOTEM ] A new membership (") {
        let (ring, _) = rest.split_once(')')?;
        LogEvent::Formed {
            ring: ring.to_owned(),
        }
    } else if let Some((_, rest)) = line.split_once("[QUORUM] Members[") {
        let (count, ids) = rest.split_once("]:")?;
        let count: usize = count.parse().ok()?;
        let ids: Vec<u32> = ids
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        if ids.len() != count {
            return None;
        }
        LogEvent::Members(ids)
    } else {
        return None;
    };
    Some(LogLine { ms_of_day, event })
}

/// `HH:MM:SS.mmm` → milliseconds since midnight.
fn parse_clock(clock: &str) -> Option<u32> {
    let (hms, frac) = clock.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 || frac.len() != 3 {
        return None;
    }
    let ms: u32 = frac.parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// Microseconds since midnight UTC of `t`.
pub fn us_of_day(t: SystemTime) -> u64 {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs() % 86_400) * 1_000_000 + u64::from(since.subsec_micros())
}

/// How long after `origin_us` (microseconds since midnight) a line logged at `ms_of_day`
/// was written, across midnight if need be; `None` if it was written before. The log
/// truncates to the millisecond, so a line of the origin's own millisecond counts as 0.
pub fn since_origin(origin_us: u64, ms_of_day: u32) -> Option<Duration> {
    const DAY_US: i64 = 86_400_000_000;
    let at = i64::from(ms_of_day) * 1000;
    let origin = i64::try_from(origin_us).ok()?;
    // Wrap into [-12 h, 12 h).
    let delta = (at - origin).rem_euclid(DAY_US);
    let delta = if delta >= DAY_US / 2 {
        delta - DAY_US
    } else {
        delta
    };
    if delta >= 0 {
        Some(Duration::from_micros(delta.unsigned_abs()))
    } else if delta > -1000 {
        Some(Duration::ZERO)
    } else {
        None
    }
}

/// The first `[QUORUM] Members` line at or after `origin_us` whose members are exactly
/// `want`, and the ring id formed just before it: (time after the origin, ring).
pub fn first_install(
    lines: &[LogLine],
    origin_us: u64,
    want: &[u32],
) -> Option<(Duration, Option<String>)> {
    let mut ring = None;
    for l in lines {
        match &l.event {
            LogEvent::Formed { ring: r } => ring = Some(r.clone()),
            LogEvent::Members(ids) => {
                if let Some(d) = since_origin(origin_us, l.ms_of_day) {
                    let mut ids = ids.clone();
                    ids.sort_unstable();
                    if ids == want {
                        return Some((d, ring));
                    }
                }
            }
            LogEvent::ProcessorFailed => {}
        }
    }
    None
}

/// The first token loss logged at or after `origin_us`.
pub fn first_failure(lines: &[LogLine], origin_us: u64) -> Option<Duration> {
    lines
        .iter()
        .filter(|l| l.event == LogEvent::ProcessorFailed)
        .find_map(|l| since_origin(origin_us, l.ms_of_day))
}

/// Corosync on the hosts of a lab: node `nodeK` has node id K and its bridge-0 address.
#[derive(Debug)]
pub struct CorosyncCluster<'l> {
    lab: &'l Lab,
    ids: BTreeMap<String, u32>,
    procs: BTreeMap<String, Proc>,
}

impl<'l> CorosyncCluster<'l> {
    /// Configure Corosync on every host of `lab` (one authkey for all) with `token_ms`;
    /// fails if it is not installed.
    pub fn new(lab: &'l Lab, token_ms: u64) -> Result<CorosyncCluster<'l>> {
        crate::require_installed(COROSYNC, "corosync")?;
        let mut nodes = Vec::new();
        let mut ids = BTreeMap::new();
        for (i, name) in lab.host_names().into_iter().enumerate() {
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let addr = lab.host(name)?.ipv4(0)?;
            nodes.push((name.to_owned(), id, addr.to_string()));
            ids.insert(name.to_owned(), id);
        }
        let conf = corosync_conf(&nodes, token_ms);
        let mut key = [0u8; 256];
        getrandom::fill(&mut key).map_err(|e| BenchError::Daemon {
            host: "this machine".into(),
            message: format!("no random bytes for the authkey: {e}"),
        })?;
        for (name, _, _) in &nodes {
            let h = lab.host(name)?;
            write_mode(&h.path("/etc/corosync/corosync.conf")?, &conf, 0o644)?;
            let keyfile = h.path("/etc/corosync/authkey")?;
            std::fs::write(&keyfile, key)
                .map_err(|e| BenchError::io(format!("writing {}", keyfile.display()), e))?;
            let dir = h.path("/var/log/corosync")?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(CorosyncCluster {
            lab,
            ids,
            procs: BTreeMap::new(),
        })
    }

    /// The node id of `host`.
    pub fn id(&self, host: &str) -> Option<u32> {
        self.ids.get(host).copied()
    }

    /// The host with node id `id`.
    pub fn name_of(&self, id: u32) -> Option<String> {
        self.ids
            .iter()
            .find(|(_, i)| **i == id)
            .map(|(h, _)| h.clone())
    }

    /// The sorted node ids of `hosts`.
    pub fn ids_of(&self, hosts: &[String]) -> Vec<u32> {
        let mut v: Vec<u32> = hosts.iter().filter_map(|h| self.id(h)).collect();
        v.sort_unstable();
        v
    }

    /// Start `corosync -f` on `host` (after removing a stale pid file).
    pub fn start(&mut self, host: &str) -> Result<()> {
        let h = self.lab.host(host)?;
        let _ = std::fs::remove_file(h.path("/run/corosync.pid")?);
        let mut cmd = self.lab.command(host, COROSYNC)?;
        cmd.arg("-f").env("TZ", "UTC");
        let p = self.lab.spawn(host, cmd)?;
        self.procs.insert(host.to_owned(), p);
        Ok(())
    }

    /// SIGKILL `host`'s Corosync without waiting.
    pub fn signal_kill(&self, host: &str) -> Result<()> {
        let p = self.proc(host)?;
        Ok(self.lab.signal(p, Signal::SIGKILL)?)
    }

    /// Wait until `host`'s Corosync has exited.
    pub fn wait_exit(&self, host: &str, limit: Duration) -> Result<()> {
        let p = self.proc(host)?;
        self.lab.wait(p, limit)?;
        Ok(())
    }

    fn proc(&self, host: &str) -> Result<&Proc> {
        self.procs.get(host).ok_or_else(|| BenchError::Daemon {
            host: host.to_owned(),
            message: "corosync was not started there".into(),
        })
    }

    /// The log file of `host`, as this process sees it.
    pub fn log(&self, host: &str) -> Result<PathBuf> {
        Ok(self.lab.host(host)?.path(LOG)?)
    }

    /// The recognised lines of `host`'s log so far (none if it does not exist yet).
    pub fn lines(&self, host: &str) -> Result<Vec<LogLine>> {
        let path = self.log(host)?;
        match std::fs::read(&path) {
            Ok(b) => Ok(String::from_utf8_lossy(&b)
                .lines()
                .filter_map(parse_line)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(BenchError::io(format!("reading {}", path.display()), e)),
        }
    }

    /// `host`'s current membership: the ids of its last `[QUORUM] Members` line.
    pub fn current(&self, host: &str) -> Result<Option<Vec<u32>>> {
        Ok(self
            .lines(host)?
            .into_iter()
            .rev()
            .find_map(|l| match l.event {
                LogEvent::Members(mut ids) => {
                    ids.sort_unstable();
                    Some(ids)
                }
                _ => None,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG_TEXT: &str = "\
Nov 23 11:24:02.859 [18944] node1 corosync notice  [TOTEM ] Token has not been received in 375 ms
Nov 23 11:24:02.983 [18944] node1 corosync notice  [TOTEM ] A processor failed, forming new configuration: token timed out (500ms), waiting 600ms for consensus.
Nov 23 11:24:03.123 [18944] node1 corosync info    [KNET  ] link: host: 3 link: 0 is down
Nov 23 11:24:03.583 [18944] node1 corosync notice  [QUORUM] Sync members[2]: 1 2
Nov 23 11:24:03.583 [18944] node1 corosync notice  [TOTEM ] A new membership (1.d) was formed. Members left: 3
Nov 23 11:24:03.587 [18944] node1 corosync notice  [QUORUM] Members[2]: 1 2
Nov 23 11:24:03.587 [18944] node1 corosync notice  [MAIN  ] Completed service synchronization, ready to provide service.
";

    fn lines() -> Vec<LogLine> {
        LOG_TEXT.lines().filter_map(parse_line).collect()
    }

    fn us(h: u64, m: u64, s: u64, ms: u64) -> u64 {
        (((h * 60 + m) * 60 + s) * 1000 + ms) * 1000
    }

    #[test]
    fn reads_failure_formation_and_members_lines_only() {
        let l = lines();
        assert_eq!(
            l.iter().map(|l| l.event.clone()).collect::<Vec<_>>(),
            [
                LogEvent::ProcessorFailed,
                LogEvent::Formed { ring: "1.d".into() },
                LogEvent::Members(vec![1, 2]),
            ]
        );
        assert_eq!(l[2].ms_of_day, 41_043_587);
        // Malformed: no clock, a count that does not match the list.
        assert_eq!(parse_line("[QUORUM] Members[2]: 1 2"), None);
        assert_eq!(
            parse_line("Nov 23 11:24:03.587 [1] n corosync notice  [QUORUM] Members[3]: 1 2"),
            None
        );
        assert_eq!(
            parse_line("Nov 23 25:24:03.587 [1] n corosync notice  [QUORUM] Members[1]: 1"),
            None
        );
    }

    #[test]
    fn times_count_from_the_origin_and_wrap_at_midnight() {
        let origin = us(11, 24, 2, 484) + 221;
        let l = lines();
        let (d, ring) = first_install(&l, origin, &[1, 2]).unwrap();
        assert_eq!(d, Duration::from_micros(1_102_779));
        assert_eq!(ring.as_deref(), Some("1.d"));
        assert_eq!(
            first_failure(&l, origin),
            Some(Duration::from_micros(498_779))
        );
        // Another member list, or lines from before the origin, do not count.
        assert_eq!(first_install(&l, origin, &[1, 2, 3]), None);
        assert_eq!(first_install(&l, us(11, 24, 4, 0), &[1, 2]), None);
        // The origin's own millisecond counts as zero.
        assert_eq!(
            since_origin(us(0, 0, 1, 0) + 500, 1000),
            Some(Duration::ZERO)
        );
        // Across midnight, both ways.
        assert_eq!(
            since_origin(us(23, 59, 59, 900), 100),
            Some(Duration::from_millis(200))
        );
        assert_eq!(since_origin(us(0, 0, 0, 100), 86_399_900), None);
    }

    #[test]
    fn the_configuration_names_every_node_with_the_token() {
        let conf = corosync_conf(
            &[
                ("node1".into(), 1, "10.213.0.1".into()),
                ("node2".into(), 2, "10.213.0.2".into()),
            ],
            500,
        );
        assert!(
            conf.contains("\ttoken: 500\n\ttoken_coefficient: 0\n"),
            "{conf}"
        );
        assert!(
            conf.contains("name: node2\n\t\tnodeid: 2\n\t\tring0_addr: 10.213.0.2"),
            "{conf}"
        );
        assert_eq!(conf.matches("\tnode {").count(), 2);
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
