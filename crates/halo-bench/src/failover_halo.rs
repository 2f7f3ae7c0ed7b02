//! halo as a [`Stack`] for failover trials: halod from this build on every node, a
//! heartbeat-1 configuration (`ha.cf` with the timing under test, `ucast` to every node,
//! `haresources` with the VIP as the `IPaddr` shorthand, so halo's built-in netlink
//! `ocf:halo:IPaddr` with its gratuitous ARP), `two_node on` for two nodes.
//!
//! Settled means every node sees a DC and the VIP started on node1. Each halod logs at
//! `info` to the lab's log of the process; [`Stack::logs`] hands those back for the
//! outage breakdown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use halo_ipc::Status;
use halo_lab::{Halod, Lab, Proc};

use crate::cluster::{HaloCluster, write_mode};
use crate::config::{HaCf, Timing, authkeys, random_secret};
use crate::error::{BenchError, Result};
use crate::failover::{ACTIVE, Stack, node_names, vip_cidr};

/// halod on 2 or 3 nodes.
#[derive(Debug)]
pub struct HaloStack {
    timing: Timing,
    nodes: usize,
    halod: PathBuf,
    procs: Mutex<BTreeMap<String, Proc>>,
}

impl HaloStack {
    /// halod at `halod` (with `halo` beside it) on `nodes` nodes with `timing`.
    pub fn new(halod: PathBuf, timing: Timing, nodes: usize) -> HaloStack {
        HaloStack {
            timing,
            nodes,
            halod,
            procs: Mutex::new(BTreeMap::new()),
        }
    }

    fn ha_cf(&self) -> String {
        let names = node_names(self.nodes);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut cf = HaCf::new(self.timing, &refs)
            .line("cluster failbench")
            .line("auto_failback off")
            .ucast_all(1);
        if self.nodes == 2 {
            cf = cf.line("two_node on");
        }
        cf.render()
    }

    fn cluster<'l>(&self, lab: &'l Lab) -> HaloCluster<'l> {
        HaloCluster::new(lab, self.halod.clone())
    }
}

/// Whether `s` shows a DC and every resource started on node1.
fn settled_view(s: &Status) -> bool {
    s.dc.is_some()
        && !s.resources.is_empty()
        && s.resources
            .iter()
            .all(|r| r.role == "Started" && r.node.as_ref().map(|n| n.as_str()) == Some(ACTIVE))
}

impl Stack for HaloStack {
    fn label(&self) -> String {
        format!("halo {} ms, {} nodes", self.timing.label(), self.nodes)
    }

    fn nodes(&self) -> usize {
        self.nodes
    }

    fn start(&mut self, lab: &Lab) -> Result<()> {
        let key = authkeys("sha256", &random_secret());
        let cf = self.ha_cf();
        let haresources = format!("{ACTIVE} {}/eth0\n", vip_cidr());
        let halod = Halod::new(self.halod.clone()).env("RUST_LOG", "info");
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs.clear();
        for n in node_names(self.nodes) {
            let h = lab.host(&n)?;
            write_mode(&h.path("/etc/ha.d/ha.cf")?, &cf, 0o644)?;
            write_mode(&h.path("/etc/ha.d/authkeys")?, &key, 0o600)?;
            write_mode(&h.path("/etc/ha.d/haresources")?, &haresources, 0o644)?;
        }
        for n in node_names(self.nodes) {
            let p = lab.start_halod(&n, &halod)?;
            procs.insert(n, p);
        }
        Ok(())
    }

    fn settled(&self, lab: &Lab) -> bool {
        let c = self.cluster(lab);
        node_names(self.nodes)
            .iter()
            .all(|n| c.status(n).is_ok_and(|s| settled_view(&s)))
    }

    fn clean(&mut self, lab: &Lab, host: &str) -> Result<()> {
        let h = lab.host(host)?;
        for dir in ["/var/lib/halo", "/run/halo"] {
            let path = h.path(dir)?;
            let entries = std::fs::read_dir(&path)
                .map_err(|e| BenchError::io(format!("listing {}", path.display()), e))?;
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        Ok(())
    }

    fn logs(&self, _lab: &Lab) -> Vec<(String, String)> {
        let procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        crate::failover::proc_logs(procs.iter())
    }
}
