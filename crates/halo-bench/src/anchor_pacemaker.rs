//! Corosync 3 + Pacemaker 2.1.5 (Debian 12) as a failover [`Stack`], run with the
//! anchors' files (shared/anchors/pacemaker/config-*/: `corosync.conf` with knet, the
//! token under test and `two_node`; `cib-setup.sh`: no fencing, dc-deadtime 2 s, an
//! `ocf:heartbeat:IPaddr2` VIP preferring node1).
//!
//! Without systemd (the anchors' lessons): each node gets a private `/etc/corosync`,
//! `/var/lib/{corosync,pacemaker}`, `/dev/shm` and `/run`, log directories owned by
//! hacluster; `corosync -f` starts on both nodes, then `pacemakerd -f`. The directory's
//! suffix picks the DC: `…-dc1` starts node1's Pacemaker first and waits for it to be
//! DC (the node that dies is the DC), `…-dc2` starts node2's first. Then `cib-setup.sh`
//! runs on the DC. Settled: both nodes online and the VIP started on node1.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use halo_lab::{Lab, Proc};

use crate::anchor_heartbeat::{empty_dir, read_config};
use crate::cluster::{wait_for, write_mode};
use crate::error::{BenchError, Result};
use crate::failover::{ACTIVE, Stack, node_names};

const COROSYNC: &str = "/usr/sbin/corosync";
const PACEMAKERD: &str = "/usr/sbin/pacemakerd";
const LIMIT: Duration = Duration::from_secs(90);

/// Corosync + Pacemaker with one of the anchors' configuration directories.
#[derive(Debug)]
pub struct PacemakerStack {
    dir: PathBuf,
    dc: String,
    procs: Mutex<BTreeMap<String, Vec<Proc>>>,
}

impl PacemakerStack {
    /// The anchors' configuration in `dir` (`corosync.conf`, `cib-setup.sh`).
    pub fn new(dir: PathBuf) -> Result<PacemakerStack> {
        for p in [COROSYNC, PACEMAKERD] {
            crate::require_installed(p, "corosync pacemaker")?;
        }
        read_config(&dir, "corosync.conf")?;
        read_config(&dir, "cib-setup.sh")?;
        let name = dir.to_string_lossy();
        let dc = if name.trim_end_matches('/').ends_with("dc2") {
            "node2"
        } else {
            "node1"
        };
        Ok(PacemakerStack {
            dc: dc.to_owned(),
            dir,
            procs: Mutex::new(BTreeMap::new()),
        })
    }

    /// `argv` on `host` under `timeout 10` (Pacemaker's tools can wait long for a
    /// daemon); its output when it succeeded.
    fn run(lab: &Lab, host: &str, argv: &[&str]) -> Option<String> {
        let mut full = vec!["timeout", "10"];
        full.extend_from_slice(argv);
        let out = lab.output(host, &full).ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether `crm_mon` on `host` names `dc` as the DC.
    fn dc_is(lab: &Lab, host: &str, dc: &str) -> bool {
        Self::run(lab, host, &["crm_mon", "-1"])
            .is_some_and(|t| t.contains(&format!("Current DC: {dc} ")))
    }
}

fn chown_hacluster(path: &std::path::Path) {
    let user = nix::unistd::User::from_name("hacluster").ok().flatten();
    let group = nix::unistd::Group::from_name("haclient").ok().flatten();
    if let (Some(u), Some(g)) = (user, group) {
        let _ = std::os::unix::fs::chown(path, Some(u.uid.as_raw()), Some(g.gid.as_raw()));
    }
}

impl Stack for PacemakerStack {
    fn label(&self) -> String {
        let variant = crate::failover::variant(&self.dir);
        format!(
            "Corosync 3.1.7 + Pacemaker 2.1.5 {variant} (DC {})",
            self.dc
        )
    }

    fn nodes(&self) -> usize {
        2
    }

    fn start(&mut self, lab: &Lab) -> Result<()> {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs.clear();
        let conf = read_config(&self.dir, "corosync.conf")?;
        for n in node_names(2) {
            let h = lab.host(&n)?;
            write_mode(&h.path("/etc/corosync/corosync.conf")?, &conf, 0o644)?;
            for d in ["/var/log/corosync", "/var/log/pacemaker"] {
                let p = h.path(d)?;
                std::fs::create_dir_all(&p)
                    .map_err(|e| BenchError::io(format!("creating {}", p.display()), e))?;
                chown_hacluster(&p);
            }
            let p = lab.spawn_args(&n, &[COROSYNC, "-f"])?;
            procs.entry(n.clone()).or_default().push(p);
        }
        for n in node_names(2) {
            wait_for(&format!("corosync on {n} to be quorate"), LIMIT, || {
                Self::run(lab, &n, &["corosync-quorumtool", "-s"])
                    .filter(|t| t.contains("Quorate:") && t.contains("Yes"))
            })?;
        }
        let other = if self.dc == "node1" { "node2" } else { "node1" };
        for n in [self.dc.as_str(), other] {
            let p = lab.spawn_args(n, &[PACEMAKERD, "-f"])?;
            procs.entry(n.to_owned()).or_default().push(p);
            if n == self.dc {
                wait_for(&format!("{n} to be the DC"), LIMIT, || {
                    Self::dc_is(lab, n, n).then_some(())
                })?;
            }
        }
        wait_for("both nodes online", LIMIT, || {
            Self::run(lab, &self.dc, &["crm_mon", "-1"])
                .filter(|t| t.contains("Online: [ node1 node2 ]"))
        })?;
        let script = self.dir.join("cib-setup.sh");
        let out = lab.output(&self.dc, &["sh".as_ref(), script.as_os_str()])?;
        if !out.status.success() {
            return Err(BenchError::Daemon {
                host: self.dc.clone(),
                message: format!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(())
    }

    fn settled(&self, lab: &Lab) -> bool {
        Self::dc_is(lab, "node2", &self.dc)
            && Self::run(lab, "node2", &["crm_resource", "--locate", "-r", "vip"])
                .is_some_and(|t| t.trim_end().ends_with(&format!("running on: {ACTIVE}")))
    }

    fn clean(&mut self, lab: &Lab, host: &str) -> Result<()> {
        for d in [
            "/var/lib/pacemaker/cib",
            "/var/lib/pacemaker/pengine",
            "/var/lib/corosync",
            "/dev/shm",
            "/run/crm",
            "/run/resource-agents",
            "/var/log/pacemaker",
            "/var/log/corosync",
        ] {
            empty_dir(lab, host, d)?;
        }
        Ok(())
    }

    fn logs(&self, lab: &Lab) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in node_names(2) {
            let Ok(h) = lab.host(&n) else { continue };
            for (name, path) in [
                ("corosync", "/var/log/corosync/corosync.log"),
                ("pacemaker", "/var/log/pacemaker/pacemaker.log"),
            ] {
                if let Ok(p) = h.path(path) {
                    out.push((
                        format!("{n}-{name}"),
                        std::fs::read_to_string(p).unwrap_or_default(),
                    ));
                }
            }
        }
        out
    }
}
