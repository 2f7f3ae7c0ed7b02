//! Debian's heartbeat 3.0.6 as a failover [`Stack`], run with the anchors' own files
//! (shared/anchors/heartbeat/config-*/: `ha.cf`, `authkeys`, `haresources` with
//! `node1 IPaddr::10.213.0.100/24/eth0`, classic v1 mode) copied unchanged to each
//! node's private `/etc/ha.d`. heartbeat daemonises; its `IPaddr` resource script (from
//! the seeded `/etc/ha.d/resource.d`) adds the VIP and sends gratuitous ARPs.
//!
//! Settled: every node sees both nodes active (`cl_status`). Clean: stale pid files,
//! the resource agents' state under `/run/resource-agents`, and a fresh log.

use std::path::{Path, PathBuf};

use halo_lab::Lab;

use crate::cluster::write_mode;
use crate::error::{BenchError, Result};
use crate::failover::{Stack, node_names};
use crate::heartbeat::{self, HeartbeatCluster};

/// heartbeat with one of the anchors' configuration directories.
#[derive(Debug)]
pub struct HeartbeatStack {
    dir: PathBuf,
}

/// Read `dir/name`, naming the file on failure.
pub fn read_config(dir: &Path, name: &str) -> Result<String> {
    let p = dir.join(name);
    std::fs::read_to_string(&p).map_err(|e| BenchError::io(format!("reading {}", p.display()), e))
}

/// Empty a directory of a lab host (its entries, not itself); missing is fine.
pub fn empty_dir(lab: &Lab, host: &str, dir: &str) -> Result<()> {
    let path = lab.host(host)?.path(dir)?;
    let Ok(entries) = std::fs::read_dir(&path) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        let _ = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
    Ok(())
}

impl HeartbeatStack {
    /// The anchors' configuration in `dir` (ha.cf, authkeys, haresources).
    pub fn new(dir: PathBuf) -> Result<HeartbeatStack> {
        crate::require_installed(heartbeat::HEARTBEAT, "heartbeat")?;
        for f in ["ha.cf", "authkeys", "haresources"] {
            read_config(&dir, f)?;
        }
        Ok(HeartbeatStack { dir })
    }
}

impl Stack for HeartbeatStack {
    fn label(&self) -> String {
        let variant = crate::failover::variant(&self.dir);
        let timing = read_config(&self.dir, "ha.cf")
            .map(|t| {
                t.lines()
                    .filter(|l| {
                        ["keepalive", "warntime", "deadtime"]
                            .iter()
                            .any(|k| l.starts_with(k))
                    })
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        format!("heartbeat 3.0.6 {variant} ({timing})")
    }

    fn nodes(&self) -> usize {
        2
    }

    fn start(&mut self, lab: &Lab) -> Result<()> {
        let hb = HeartbeatCluster::new(lab)?;
        for n in node_names(2) {
            let h = lab.host(&n)?;
            for (f, mode) in [
                ("ha.cf", 0o644),
                ("authkeys", 0o600),
                ("haresources", 0o644),
            ] {
                write_mode(
                    &h.path(format!("/etc/ha.d/{f}"))?,
                    &read_config(&self.dir, f)?,
                    mode,
                )?;
            }
            write_mode(&h.path(heartbeat::LOG)?, "", 0o644)?;
        }
        for n in node_names(2) {
            hb.start(&n)?;
        }
        Ok(())
    }

    fn settled(&self, lab: &Lab) -> bool {
        let Ok(hb) = HeartbeatCluster::new(lab) else {
            return false;
        };
        node_names(2).iter().all(|h| {
            node_names(2)
                .iter()
                .all(|p| hb.node_status(h, p).as_deref() == Some("active"))
        })
    }

    fn clean(&mut self, lab: &Lab, host: &str) -> Result<()> {
        let h = lab.host(host)?;
        for stale in ["/run/heartbeat.pid", "/run/heartbeat/register"] {
            let _ = std::fs::remove_file(h.path(stale)?);
        }
        empty_dir(lab, host, "/run/resource-agents")?;
        empty_dir(lab, host, "/var/lib/heartbeat/rsctmp")
    }

    fn logs(&self, lab: &Lab) -> Vec<(String, String)> {
        node_names(2)
            .into_iter()
            .filter_map(|n| {
                let p = lab.host(&n).ok()?.path(heartbeat::LOG).ok()?;
                Some((n, std::fs::read_to_string(p).unwrap_or_default()))
            })
            .collect()
    }
}
