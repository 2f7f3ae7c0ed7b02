//! keepalived (Debian 12's 2.2.7) as a failover [`Stack`], run with the anchors'
//! configurations (shared/anchors/keepalived/config-*/keepalived.conf.nodeN: one VRRP
//! instance, node1 MASTER priority 150, node2 BACKUP 100, the VIP on eth0) copied to
//! each node's private `/etc/keepalived`. It runs in the foreground, VRRP only, logging
//! to its console (the lab's log of the process).
//!
//! node1 starts first so that it is master from the outset; settled is left to the
//! client's view (node1 answering steadily).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use halo_lab::{Lab, Proc};

use crate::cluster::write_mode;
use crate::error::Result;
use crate::failover::{Stack, node_names};

/// The daemon as Debian installs it.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";
const CONF: &str = "/etc/keepalived/keepalived.conf";

/// keepalived with one of the anchors' configuration directories.
#[derive(Debug)]
pub struct KeepalivedStack {
    dir: PathBuf,
    procs: Mutex<BTreeMap<String, Proc>>,
}

impl KeepalivedStack {
    /// The anchors' configuration in `dir` (`keepalived.conf.node1`, `.node2`).
    pub fn new(dir: PathBuf) -> Result<KeepalivedStack> {
        crate::require_installed(KEEPALIVED, "keepalived")?;
        for n in node_names(2) {
            crate::anchor_heartbeat::read_config(&dir, &format!("keepalived.conf.{n}"))?;
        }
        Ok(KeepalivedStack {
            dir,
            procs: Mutex::new(BTreeMap::new()),
        })
    }
}

impl Stack for KeepalivedStack {
    fn label(&self) -> String {
        let variant = crate::failover::variant(&self.dir);
        format!("keepalived 2.2.7 {variant}")
    }

    fn nodes(&self) -> usize {
        2
    }

    fn start(&mut self, lab: &Lab) -> Result<()> {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs.clear();
        for n in node_names(2) {
            let text =
                crate::anchor_heartbeat::read_config(&self.dir, &format!("keepalived.conf.{n}"))?;
            write_mode(&lab.host(&n)?.path(CONF)?, &text, 0o644)?;
            let p = lab.spawn_args(&n, &[KEEPALIVED, "-n", "-l", "-D", "-G", "-P", "-f", CONF])?;
            procs.insert(n.clone(), p);
            if n == "node1" {
                // node1 first: master from the outset.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }
        Ok(())
    }

    fn clean(&mut self, lab: &Lab, host: &str) -> Result<()> {
        let h = lab.host(host)?;
        for stale in ["/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid"] {
            let _ = std::fs::remove_file(h.path(stale)?);
        }
        Ok(())
    }

    fn logs(&self, _lab: &Lab) -> Vec<(String, String)> {
        let procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        crate::failover::proc_logs(procs.iter())
    }
}
