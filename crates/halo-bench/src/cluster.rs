//! A halo cluster on the lab: configuration files, `halod` on each host, its status and
//! event streams, and the real `halo` command run on a host.
//!
//! ```text
//!  HaCf + authkeys ──write──▶ host:/etc/ha.d ──▶ halod (one per host, Lab::start_halod)
//!                                                  │ host:/run/halo/halod.sock
//!  status(), events()  ◀──── API socket (outside path) ─┤
//!  halo(host, args)    ◀──── `halo …` run inside the host ┘
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use halo_ipc::{Reply, Request, Status, decode_line, encode_line};
use halo_lab::{Halod, Lab, Proc};
use halo_types::{LinkState, NodeState};

use crate::error::{BenchError, Result};
use crate::watch::EventStream;

/// How often waits poll.
const POLL: Duration = Duration::from_millis(25);

/// halod on some hosts of a lab.
#[derive(Debug)]
pub struct HaloCluster<'l> {
    lab: &'l Lab,
    halod: Halod,
    halo: PathBuf,
    procs: Mutex<BTreeMap<String, Proc>>,
}

impl<'l> HaloCluster<'l> {
    /// A cluster of `halod` at `halod_binary`; the `halo` command is taken from the same
    /// directory (cargo builds both there).
    pub fn new(lab: &'l Lab, halod_binary: impl Into<PathBuf>) -> HaloCluster<'l> {
        let binary: PathBuf = halod_binary.into();
        let halo = binary.with_file_name("halo");
        HaloCluster {
            lab,
            halod: Halod::new(binary),
            halo,
            procs: Mutex::new(BTreeMap::new()),
        }
    }

    /// The lab.
    pub fn lab(&self) -> &'l Lab {
        self.lab
    }

    /// The `halo` command used by [`HaloCluster::halo`].
    pub fn halo_binary(&self) -> &Path {
        &self.halo
    }

    fn procs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Proc>> {
        self.procs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write `host`'s ha.cf (mode 0644) and authkeys (mode 0600).
    pub fn configure(&self, host: &str, ha_cf: &str, authkeys: &str) -> Result<()> {
        let h = self.lab.host(host)?;
        write_mode(&h.path("/etc/ha.d/ha.cf")?, ha_cf, 0o644)?;
        write_mode(&h.path("/etc/ha.d/authkeys")?, authkeys, 0o600)
    }

    /// Start halod on `host` (its output goes to a log of the host).
    pub fn start(&self, host: &str) -> Result<Proc> {
        let p = self.lab.start_halod(host, &self.halod)?;
        self.procs().insert(host.to_owned(), p.clone());
        Ok(p)
    }

    /// The halod last started on `host`.
    pub fn proc(&self, host: &str) -> Option<Proc> {
        self.procs().get(host).cloned()
    }

    /// Wait up to `limit` for halod on `host` to exit by itself; its exit status.
    pub fn wait_exit(&self, host: &str, limit: Duration) -> Result<ExitStatus> {
        let p = self.started(host)?;
        Ok(self.lab.wait(&p, limit)?)
    }

    fn started(&self, host: &str) -> Result<Proc> {
        self.proc(host).ok_or_else(|| BenchError::Daemon {
            host: host.to_owned(),
            message: "halod was not started there".into(),
        })
    }

    /// SIGTERM (a clean leave), then SIGKILL if it has not exited after `grace`.
    pub fn stop(&self, host: &str, grace: Duration) -> Result<ExitStatus> {
        let p = self.started(host)?;
        Ok(self.lab.stop(&p, grace)?)
    }

    /// SIGKILL and reap.
    pub fn kill(&self, host: &str) -> Result<ExitStatus> {
        let p = self.started(host)?;
        Ok(self.lab.kill(&p)?)
    }

    /// SIGKILL without waiting (for timing from the signal).
    pub fn signal_kill(&self, host: &str) -> Result<()> {
        let p = self.started(host)?;
        Ok(self.lab.signal(&p, nix::sys::signal::Signal::SIGKILL)?)
    }

    /// The API socket of halod on `host`, as this process sees it.
    pub fn socket(&self, host: &str) -> Result<PathBuf> {
        Ok(self.lab.host(host)?.path("/run/halo/halod.sock")?)
    }

    /// One request and its reply, straight over the API socket.
    pub fn request(&self, host: &str, request: &Request) -> Result<Reply> {
        let path = self.socket(host)?;
        let shown = path.display().to_string();
        let mut s = UnixStream::connect(&path)
            .map_err(|e| BenchError::io(format!("connecting to {shown}"), e))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| BenchError::io("setting a timeout", e))?;
        s.write_all(&encode_line(request))
            .map_err(|e| BenchError::io(format!("writing to {shown}"), e))?;
        let mut line = Vec::new();
        BufReader::new(s)
            .read_until(b'\n', &mut line)
            .map_err(|e| BenchError::io(format!("reading {shown}"), e))?;
        decode_line(&line).map_err(|e| BenchError::Daemon {
            host: host.to_owned(),
            message: e.to_string(),
        })
    }

    /// `host`'s view of the cluster, over the API socket.
    pub fn status(&self, host: &str) -> Result<Status> {
        match self.request(host, &Request::Status)? {
            Reply::Status(s) => Ok(*s),
            other => Err(BenchError::Daemon {
                host: host.to_owned(),
                message: format!("unexpected answer to status: {other:?}"),
            }),
        }
    }

    /// Run the real `halo` command on `host` with `args`.
    pub fn halo(&self, host: &str, args: &[&str]) -> Result<Output> {
        let mut argv: Vec<&std::ffi::OsStr> = vec![self.halo.as_os_str()];
        argv.extend(args.iter().map(std::ffi::OsStr::new));
        Ok(self.lab.output(host, &argv)?)
    }

    /// `host`'s view of the cluster, from `halo status --json` run on it.
    pub fn halo_status(&self, host: &str) -> Result<Status> {
        let out = self.halo(host, &["status", "--json"])?;
        if !out.status.success() {
            return Err(BenchError::Daemon {
                host: host.to_owned(),
                message: format!(
                    "halo status --json: {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        serde_json::from_slice(&out.stdout).map_err(|e| BenchError::Daemon {
            host: host.to_owned(),
            message: format!("halo status --json printed something unreadable: {e}"),
        })
    }

    /// A live `watch` stream of halod on `host`; subscribed when this returns.
    pub fn watch(&self, host: &str) -> Result<EventStream> {
        EventStream::connect(&self.socket(host)?, &Request::Watch)
    }

    /// Wait until halod on `host` answers status requests.
    pub fn wait_serving(&self, host: &str, limit: Duration) -> Result<()> {
        wait_for(&format!("halod on {host} to answer"), limit, || {
            self.status(host).ok()
        })
        .map(|_| ())
    }

    /// Wait until every host in `hosts` sees every one of them (itself included) in
    /// `state`.
    pub fn wait_all(&self, hosts: &[&str], state: NodeState, limit: Duration) -> Result<()> {
        for h in hosts {
            for peer in hosts {
                self.wait_state(h, peer, state, limit)?;
            }
        }
        Ok(())
    }

    /// Wait until `host` sees `peer` in `state` (over the API socket).
    pub fn wait_state(
        &self,
        host: &str,
        peer: &str,
        state: NodeState,
        limit: Duration,
    ) -> Result<Status> {
        wait_for(&format!("{host} to see {peer} {state}"), limit, || {
            self.status(host)
                .ok()
                .filter(|s| peer_state(s, peer) == Some(state))
        })
    }
}

/// `peer`'s state in `status`.
pub fn peer_state(status: &Status, peer: &str) -> Option<NodeState> {
    status
        .nodes
        .iter()
        .find(|n| n.name == peer)
        .map(|n| n.state)
}

/// The state of `peer`'s link `link` in `status`.
pub fn link_state(status: &Status, peer: &str, link: &str) -> Option<LinkState> {
    status
        .nodes
        .iter()
        .find(|n| n.name == peer)?
        .links
        .iter()
        .find(|l| l.name == link)
        .map(|l| l.state)
}

/// A counter of `status` (0 when absent).
pub fn counter(status: &Status, name: &str) -> u64 {
    status.counters.values.get(name).copied().unwrap_or(0)
}

/// Poll `f` until it returns `Some` or `limit` passes.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= end {
            return Err(BenchError::Timeout {
                what: what.to_owned(),
                seconds: limit.as_secs_f64(),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Write `text` to `path` and set its mode (also when the file existed).
pub fn write_mode(path: &Path, text: &str, mode: u32) -> Result<()> {
    let shown = path.display();
    fs::write(path, text).map_err(|e| BenchError::io(format!("writing {shown}"), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| BenchError::io(format!("chmod {shown}"), e))
}
