//! [`Lab`]: building a lab, finding its parts, and injecting faults.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::faults::{
    BRIDGE_TABLE, Dropped, Faults, LossTarget, OneWay, Port, SERIAL_TABLE, SerialCut, loss_per_10k,
    serial_port, sum_counters,
};
use crate::process::Tracked;
use crate::spec::{
    IPV4_PREFIX_LEN, IPV6_PREFIX_LEN, LabSpec, NodeKind, NodeRef, PrivateDir, RUNTIME_DIRS, SWITCH,
    bridge_name, mac_string, node_iface, node_ipv4, node_ipv6, node_mac, port_name,
};
use crate::state::{self, LabState, Owner, Paths};
use crate::sys::{self, Enter};
use crate::teardown;

/// How long the lab waits for its own helpers (relays) to come up.
const STARTUP_LIMIT: Duration = Duration::from_secs(20);

/// A running lab. Dropping it tears the lab down (unless it was made persistent with
/// [`Lab::create_persistent`], opened with [`Lab::open`], or `HALO_LAB_KEEP=1` is set).
///
/// `Lab` is `Sync`: tests may drive hosts from several threads.
#[derive(Debug)]
pub struct Lab {
    pub(crate) paths: Paths,
    pub(crate) spec: LabSpec,
    /// Tear down on drop.
    owned: AtomicBool,
    /// Teardown has run.
    done: AtomicBool,
    /// Start background processes in their own session (for labs that outlive us).
    pub(crate) setsid: bool,
    pub(crate) children: Mutex<BTreeMap<u32, Tracked>>,
    pub(crate) seq: AtomicU32,
}

/// A host of the lab, for looking up its addresses, interfaces and paths.
#[derive(Clone, Debug)]
pub struct Host<'a> {
    lab: &'a Lab,
    node: NodeRef<'a>,
}

/// A serial link of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialLink {
    /// Its index (in the spec's order).
    pub index: usize,
    /// Host of side A.
    pub a: String,
    /// Device path of side A, inside host A.
    pub device_a: PathBuf,
    /// Host of side B.
    pub b: String,
    /// Device path of side B, inside host B.
    pub device_b: PathBuf,
}

impl Lab {
    /// Build the lab described by `spec`. The returned guard tears everything down when
    /// dropped, also when a test panics.
    pub fn create(spec: &LabSpec) -> Result<Lab> {
        Lab::create_with(spec, Owner::me(), false)
    }

    /// Build a lab that outlives this process (for the `halo-lab` command): background
    /// processes get their own session, and dropping the returned value does not tear
    /// the lab down once it is complete. `owner`: the process whose death makes the lab
    /// a leftover for `halo-lab cleanup` (`None`: only `halo-lab down` removes it).
    pub fn create_persistent(spec: &LabSpec, owner: Option<Owner>) -> Result<Lab> {
        let lab = Lab::create_with(spec, owner, true)?;
        lab.owned.store(false, Ordering::SeqCst);
        Ok(lab)
    }

    fn create_with(spec: &LabSpec, owner: Option<Owner>, setsid: bool) -> Result<Lab> {
        sys::require_root()?;
        spec.validate()?;
        let spec = resolve_private_dirs(spec)?;
        fs::create_dir_all(state::BASE_DIR)
            .map_err(|e| LabError::io(format!("creating {}", state::BASE_DIR), e))?;
        let paths = claim_prefix()?;
        let lab = Lab {
            paths,
            spec,
            owned: AtomicBool::new(true),
            done: AtomicBool::new(false),
            setsid,
            children: Mutex::new(BTreeMap::new()),
            seq: AtomicU32::new(0),
        };
        // From here on, an error drops `lab`, which tears down whatever was built.
        lab.paths.save(&LabState {
            format: state::STATE_FORMAT,
            prefix: lab.paths.prefix.clone(),
            dir: lab.paths.dir.clone(),
            spec: lab.spec.clone(),
            owner,
            faults: Faults::default(),
            procs: Vec::new(),
        })?;
        lab.build()?;
        tracing::info!(lab = %lab.paths.prefix, hosts = lab.spec.hosts.len(), bridges = lab.spec.bridges, "lab up");
        Ok(lab)
    }

    /// Attach to an existing lab (made by another process, e.g. `halo-lab up`). Dropping
    /// the result leaves the lab running; [`Lab::teardown`] removes it.
    pub fn open(prefix: &str) -> Result<Lab> {
        if !state::is_lab_prefix(prefix) {
            return Err(LabError::Invalid(format!(
                "{prefix:?} is not a lab prefix (hl + 6 hex digits)"
            )));
        }
        let paths = Paths::new(prefix);
        let st = paths.load()?;
        Ok(Lab {
            paths,
            spec: st.spec,
            owned: AtomicBool::new(false),
            done: AtomicBool::new(false),
            setsid: true,
            children: Mutex::new(BTreeMap::new()),
            seq: AtomicU32::new(0),
        })
    }

    /// The lab's unique prefix (`hl` + 6 hex digits).
    pub fn prefix(&self) -> &str {
        &self.paths.prefix
    }

    /// The lab directory (`/run/halo-lab/PREFIX`).
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// What the lab is made of.
    pub fn spec(&self) -> &LabSpec {
        &self.spec
    }

    /// The lab's state as stored (spec, owner, faults, processes started by the command).
    pub fn state(&self) -> Result<LabState> {
        self.paths.load()
    }

    /// Host names in order.
    pub fn host_names(&self) -> Vec<&str> {
        self.spec.host_names()
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<Host<'_>> {
        match self.spec.node(name) {
            Some(node) if node.kind == NodeKind::Host => Ok(Host { lab: self, node }),
            _ => Err(self.unknown(format!(
                "no host named {name:?} (hosts: {})",
                self.spec.host_names().join(", ")
            ))),
        }
    }

    /// The ping host called `name` (same accessors as a host; it has no private
    /// directories and runs no commands).
    pub fn ping_host(&self, name: &str) -> Result<Host<'_>> {
        match self.spec.node(name) {
            Some(node) if node.kind == NodeKind::Ping => Ok(Host { lab: self, node }),
            _ => Err(self.unknown(format!("no ping host named {name:?}"))),
        }
    }

    /// The serial links.
    pub fn serial_links(&self) -> Vec<SerialLink> {
        self.spec
            .serial
            .iter()
            .enumerate()
            .map(|(index, s)| SerialLink {
                index,
                a: s.a.clone(),
                device_a: self.serial_device_of(index, &s.a).unwrap_or_default(),
                b: s.b.clone(),
                device_b: self.serial_device_of(index, &s.b).unwrap_or_default(),
            })
            .collect()
    }

    fn serial_device_of(&self, link: usize, host: &str) -> Option<PathBuf> {
        self.spec
            .serial_devices(host)
            .into_iter()
            .find(|(k, _)| *k == link)
            .map(|(_, p)| p)
    }

    pub(crate) fn unknown(&self, what: String) -> LabError {
        LabError::Unknown {
            lab: self.paths.prefix.clone(),
            what,
        }
    }

    /// Run `f` on a thread inside `node`'s network namespace (a host or ping host).
    /// Sockets made there belong to that namespace: a handy way for tests to send and
    /// receive as a host without starting a process.
    pub fn in_host_net<T: Send>(&self, node: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
        if self.spec.node(node).is_none() {
            return Err(self.unknown(format!("no node named {node:?}")));
        }
        sys::in_netns(&self.paths.netns(node), f)
    }

    // ---------------------------------------------------------------- faults

    /// Current faults.
    pub fn faults(&self) -> Result<Faults> {
        Ok(self.paths.load()?.faults)
    }

    /// Change the faults with `f` and apply the result as one nftables transaction.
    ///
    /// The new rules are in force when this returns (an `nft` run takes a few to some
    /// tens of milliseconds on a busy machine): a benchmark that times from a fault
    /// should take its start time after the call returns.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) -> Result<()> {
        self.paths.update(|st| {
            let mut faults = st.faults.clone();
            f(&mut faults);
            faults.validate(&self.spec)?;
            self.apply_faults(&faults)?;
            st.faults = faults;
            Ok(())
        })
    }

    fn node_ports(&self, node: &str) -> Result<Vec<Port>> {
        let n = self
            .spec
            .node(node)
            .ok_or_else(|| self.unknown(format!("no node named {node:?}")))?;
        Ok(n.bridges
            .iter()
            .map(|&bridge| Port {
                node: node.to_owned(),
                bridge,
            })
            .collect())
    }

    /// Cut `node` (host or ping host) from every bridge: its switch ports drop every
    /// frame; its links stay up.
    pub fn cut(&self, node: &str) -> Result<()> {
        let ports = self.node_ports(node)?;
        self.update_faults(|f| f.cut.extend(ports))
    }

    /// Cut `node` from one bridge.
    pub fn cut_link(&self, node: &str, bridge: usize) -> Result<()> {
        let port = Port {
            node: node.to_owned(),
            bridge,
        };
        self.update_faults(|f| {
            f.cut.insert(port);
        })
    }

    /// Undo cuts of `node` (all bridges) and one-way cuts from or to it.
    pub fn heal(&self, node: &str) -> Result<()> {
        self.node_ports(node)?;
        self.update_faults(|f| f.heal_node(node))
    }

    /// Undo the cut of `node` on one bridge.
    pub fn heal_link(&self, node: &str, bridge: usize) -> Result<()> {
        self.update_faults(|f| {
            f.cut.retain(|p| !(p.node == node && p.bridge == bridge));
        })
    }

    /// Drop `from`'s frames to `to` on every bridge they share; `to`'s frames to `from`
    /// still pass.
    pub fn cut_one_way(&self, from: &str, to: &str) -> Result<()> {
        let to_ports = self.node_ports(to)?;
        let cuts: Vec<OneWay> = self
            .node_ports(from)?
            .into_iter()
            .filter(|p| to_ports.iter().any(|q| q.bridge == p.bridge))
            .map(|p| OneWay {
                from: from.to_owned(),
                to: to.to_owned(),
                bridge: p.bridge,
            })
            .collect();
        self.update_faults(|f| f.one_way.extend(cuts))
    }

    /// Drop `from`'s frames to `to` on one bridge.
    pub fn cut_one_way_on(&self, from: &str, to: &str, bridge: usize) -> Result<()> {
        let cut = OneWay {
            from: from.to_owned(),
            to: to.to_owned(),
            bridge,
        };
        self.update_faults(|f| {
            f.one_way.insert(cut);
        })
    }

    /// Undo one-way cuts from `from` to `to`.
    pub fn heal_one_way(&self, from: &str, to: &str) -> Result<()> {
        self.update_faults(|f| f.one_way.retain(|o| !(o.from == from && o.to == to)))
    }

    /// Partition the network: frames pass only between nodes of the same group (on every
    /// bridge). Every host must be in exactly one group; ping hosts left out stay
    /// reachable from all groups. Replaces any previous partition.
    pub fn partition<G: AsRef<[S]>, S: AsRef<str>>(&self, groups: &[G]) -> Result<()> {
        let groups: Vec<Vec<String>> = groups
            .iter()
            .map(|g| g.as_ref().iter().map(|s| s.as_ref().to_owned()).collect())
            .collect();
        if groups.len() < 2 {
            return Err(LabError::Invalid(
                "a partition needs at least two groups".into(),
            ));
        }
        self.update_faults(|f| f.partition = groups)
    }

    /// Remove the partition.
    pub fn heal_partition(&self) -> Result<()> {
        self.update_faults(|f| f.partition.clear())
    }

    /// Random loss: drop each frame at `target` with probability `fraction` (0.0–1.0;
    /// 0 removes the rule). See [`LossTarget`] for what a frame at a target is.
    pub fn set_loss(&self, target: LossTarget, fraction: f64) -> Result<()> {
        let per_10k = loss_per_10k(fraction)?;
        self.update_faults(|f| f.set_loss(target, per_10k))
    }

    /// Cut serial link `link` in both directions (bytes written are lost).
    pub fn cut_serial(&self, link: usize) -> Result<()> {
        self.update_faults(|f| {
            f.serial_cut.insert(SerialCut { link, to_b: true });
            f.serial_cut.insert(SerialCut { link, to_b: false });
        })
    }

    /// Cut serial link `link` in the direction from host `from` to the other side.
    pub fn cut_serial_one_way(&self, link: usize, from: &str) -> Result<()> {
        let s = self
            .spec
            .serial
            .get(link)
            .ok_or_else(|| self.unknown(format!("no serial link {link}")))?;
        let to_b = if s.a == from {
            true
        } else if s.b == from {
            false
        } else {
            return Err(LabError::Invalid(format!(
                "serial link {link} joins {} and {}, not {from}",
                s.a, s.b
            )));
        };
        self.update_faults(|f| {
            f.serial_cut.insert(SerialCut { link, to_b });
        })
    }

    /// Heal serial link `link` (both directions).
    pub fn heal_serial(&self, link: usize) -> Result<()> {
        self.update_faults(|f| f.serial_cut.retain(|c| c.link != link))
    }

    /// Heal everything: cuts, one-way cuts, partition, loss, serial cuts.
    pub fn heal_all(&self) -> Result<()> {
        self.update_faults(|f| *f = Faults::default())
    }

    /// What the fault rules have dropped since the last fault change: proof that a cut
    /// really met traffic (e.g. wait for it before healing, when bytes may still sit in
    /// a buffer).
    pub fn dropped(&self) -> Result<Dropped> {
        let list = |family: &str, table: &str| -> Result<u64> {
            let mut cmd = Command::new("nft");
            cmd.args(["list", "table", family, table]);
            sys::enter_namespaces(
                &mut cmd,
                &Enter {
                    net: Some(self.paths.switch()),
                    ..Enter::default()
                },
            )?;
            let out = sys::run(&mut cmd, None)?;
            Ok(sum_counters(&String::from_utf8_lossy(&out.stdout)))
        };
        Ok(Dropped {
            frames: list("bridge", BRIDGE_TABLE)?,
            serial_datagrams: list("inet", SERIAL_TABLE)?,
        })
    }

    /// Load the ruleset for `faults` into the switch (one transaction).
    fn apply_faults(&self, faults: &Faults) -> Result<()> {
        let rules = faults.render(&self.spec);
        let mut cmd = Command::new("nft");
        cmd.args(["-f", "-"]);
        sys::enter_namespaces(
            &mut cmd,
            &Enter {
                net: Some(self.paths.switch()),
                ..Enter::default()
            },
        )?;
        sys::run(&mut cmd, Some(&rules))?;
        tracing::debug!(lab = %self.paths.prefix, ?faults, "faults applied");
        Ok(())
    }

    // ---------------------------------------------------------------- building

    fn build(&self) -> Result<()> {
        let p = &self.paths;
        let ns_dir = p.ns_dir();
        fs::create_dir_all(&ns_dir)
            .map_err(|e| LabError::io(format!("creating {}", ns_dir.display()), e))?;
        sys::make_private_mount(&ns_dir)?;

        let nodes = self.spec.nodes();
        for name in std::iter::once(SWITCH).chain(nodes.iter().map(|n| n.name)) {
            sys::run(
                Command::new("ip").args(["netns", "add", &p.netns_name(name)]),
                None,
            )?;
        }
        for node in &nodes {
            // Addresses usable at once (no duplicate address detection: the plan is
            // fixed) and no router solicitations (there is no router): IPv6 is quiet
            // and ready when the lab is.
            let ns = p.netns(node.name);
            for (key, value) in [
                ("net/ipv6/conf/default/accept_dad", "0"),
                ("net/ipv6/conf/default/dad_transmits", "0"),
                ("net/ipv6/conf/default/router_solicitations", "0"),
            ] {
                sys::sysctl_in_netns(&ns, key, value, true)?;
            }
        }
        tracing::debug!(lab = %p.prefix, "network namespaces made");
        self.build_switch(&nodes)?;
        tracing::debug!(lab = %p.prefix, "switch wired");
        for node in &nodes {
            self.build_node_net(node, &nodes)?;
        }
        tracing::debug!(lab = %p.prefix, "node networks configured");
        let template = self.build_template()?;
        for node in nodes.iter().filter(|n| n.kind == NodeKind::Host) {
            self.build_host(node.name, &template)?;
            tracing::debug!(lab = %p.prefix, host = node.name, "host namespaces made");
        }
        self.start_serial_relays()?;
        tracing::debug!(lab = %p.prefix, "serial relays up");
        self.apply_faults(&Faults::default())
    }

    fn build_switch(&self, nodes: &[NodeRef<'_>]) -> Result<()> {
        let sw = self.paths.switch();
        // Layer 2 only: no IPv6 on the bridges (they would chatter: router
        // solicitations, MLD), and bridged frames skip the ip/ip6 hooks.
        for key in [
            "net/ipv6/conf/all/disable_ipv6",
            "net/ipv6/conf/default/disable_ipv6",
        ] {
            sys::sysctl_in_netns(&sw, key, "1", true)?;
        }
        for key in [
            "net/bridge/bridge-nf-call-iptables",
            "net/bridge/bridge-nf-call-ip6tables",
            "net/bridge/bridge-nf-call-arptables",
        ] {
            sys::sysctl_in_netns(&sw, key, "0", true)?;
        }
        let mut batch = String::from("link set lo up\n");
        for b in 0..self.spec.bridges {
            let br = bridge_name(b);
            // No snooping: multicast is flooded to every port, as on a dumb switch (the
            // bridge would otherwise drop groups it has seen no IGMP/MLD report for).
            let _ = writeln!(
                batch,
                "link add {br} type bridge mcast_snooping 0 stp_state 0 forward_delay 0"
            );
            let _ = writeln!(batch, "link set {br} up");
        }
        for node in nodes {
            let netns = self.paths.netns_name(node.name);
            for &b in &node.bridges {
                let port = port_name(node.name, b);
                let _ = writeln!(
                    batch,
                    "link add {port} type veth peer name {} address {} netns {netns}",
                    node_iface(b),
                    mac_string(node_mac(b, node.number))
                );
                let _ = writeln!(batch, "link set {port} master {} up", bridge_name(b));
            }
        }
        ip_batch(&self.paths.netns_name(SWITCH), &batch)
    }

    fn build_node_net(&self, node: &NodeRef<'_>, all: &[NodeRef<'_>]) -> Result<()> {
        let mut batch = String::from("link set lo up\n");
        for &b in &node.bridges {
            let dev = node_iface(b);
            let _ = writeln!(
                batch,
                "addr add {}/{IPV4_PREFIX_LEN} dev {dev}",
                node_ipv4(b, node.number)
            );
            let _ = writeln!(
                batch,
                "addr add {}/{IPV6_PREFIX_LEN} dev {dev} nodad",
                node_ipv6(b, node.number)
            );
            let _ = writeln!(batch, "link set {dev} up");
            if self.spec.static_neighbors {
                for other in all
                    .iter()
                    .filter(|o| o.name != node.name && o.bridges.contains(&b))
                {
                    let mac = mac_string(node_mac(b, other.number));
                    for ip in [
                        node_ipv4(b, other.number).to_string(),
                        node_ipv6(b, other.number).to_string(),
                    ] {
                        let _ = writeln!(
                            batch,
                            "neigh replace {ip} lladdr {mac} dev {dev} nud permanent"
                        );
                    }
                }
            }
        }
        ip_batch(&self.paths.netns_name(node.name), &batch)?;
        if node.kind == NodeKind::Ping {
            // A ping host answers ICMP (and ICMPv6) and nothing else: other traffic is
            // dropped silently, without even a port-unreachable.
            let rules = "table inet halo_lab_ping {\n\
                         \tchain input {\n\
                         \t\ttype filter hook input priority 0; policy drop;\n\
                         \t\tiifname \"lo\" accept\n\
                         \t\tmeta l4proto { icmp, ipv6-icmp } accept\n\
                         \t}\n\
                         }\n";
            let mut cmd = Command::new("nft");
            cmd.args(["-f", "-"]);
            sys::enter_namespaces(
                &mut cmd,
                &Enter {
                    net: Some(self.paths.netns(node.name)),
                    ..Enter::default()
                },
            )?;
            sys::run(&mut cmd, Some(rules))?;
        }
        Ok(())
    }

    /// The tree every host's private directories start from, made once per lab: the
    /// machine's directories where seeded, modes and owners as on the machine, and the
    /// runtime directories. Each host gets a copy (one `cp` per host).
    fn build_template(&self) -> Result<PathBuf> {
        let template = self.paths.dir.join("template");
        for d in &self.spec.private_dirs {
            let rel = d.path.strip_prefix("/").unwrap_or(&d.path);
            prepare_private_dir(d, &template.join(rel))?;
        }
        for r in RUNTIME_DIRS {
            let r = Path::new(r);
            if self
                .spec
                .private_dirs
                .iter()
                .any(|d| r.starts_with(&d.path))
            {
                let rel = r.strip_prefix("/").unwrap_or(r);
                prepare_runtime_dir(r, &template.join(rel))?;
            }
        }
        Ok(template)
    }

    /// The host's directories outside, then its UTS and mount namespaces, set up by a
    /// small script that runs inside them.
    fn build_host(&self, host: &str, template: &Path) -> Result<()> {
        let p = &self.paths;
        for dir in [p.logs(host), p.root(host)] {
            fs::create_dir_all(&dir)
                .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
        }
        sys::run(
            Command::new("cp")
                .arg("-a")
                .arg(template.join("."))
                .arg(p.root(host)),
            None,
        )?;
        let etc_hosts = p.host_dir(host).join("etc-hosts");
        fs::write(&etc_hosts, self.spec.etc_hosts())
            .map_err(|e| LabError::io(format!("writing {}", etc_hosts.display()), e))?;
        for f in [p.uts(host), p.mnt(host)] {
            fs::write(&f, b"").map_err(|e| LabError::io(format!("creating {}", f.display()), e))?;
        }
        // Bind the private directories; the one holding the lab directory (normally
        // /run) goes last, since binding it hides the sources of the others.
        let mut dirs: Vec<&PrivateDir> = self.spec.private_dirs.iter().collect();
        dirs.sort_by_key(|d| p.dir.starts_with(&d.path));
        let script = "set -eu\n\
            host=$1; shift\n\
            printf '%s\\n' \"$host\" > /proc/sys/kernel/hostname\n\
            mount --bind \"$1\" /etc/hosts; shift\n\
            # Drop this namespace's copies of bind-mounted namespace files (other labs'\n\
            # and ip-netns' ones): they would keep those namespaces alive.\n\
            findmnt -rn -t nsfs -o TARGET | xargs -r umount -l 2>/dev/null || true\n\
            # A sysfs of this network namespace: /sys/class/net shows the host's own links.\n\
            mount -t sysfs -o nosuid,nodev,noexec sysfs /sys\n\
            while [ $# -ge 2 ]; do mkdir -p \"$2\"; mount --bind \"$1\" \"$2\"; shift 2; done\n";
        let mut cmd = Command::new("unshare");
        cmd.arg(format!("--uts={}", p.uts(host).display()))
            .arg(format!("--mount={}", p.mnt(host).display()))
            .args([
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                script,
                "sh",
                host,
            ])
            .arg(&etc_hosts);
        for d in dirs {
            cmd.arg(p.mirror(host, &d.path)).arg(&d.path);
        }
        sys::enter_namespaces(
            &mut cmd,
            &Enter {
                net: Some(p.netns(host)),
                ..Enter::default()
            },
        )?;
        sys::run(&mut cmd, None)?;
        Ok(())
    }

    /// Each serial link is two socat relays in the switch namespace: side X's relay owns
    /// a pty (linked from X's `/run/halo-lab/ttySn`) and exchanges its bytes as UDP
    /// datagrams on the switch's loopback with the other side's relay. A cut drops those
    /// datagrams; the ptys stay open, as a tty stays when its cable is pulled.
    fn start_serial_relays(&self) -> Result<()> {
        let mut links = Vec::new();
        for link in self.serial_links() {
            for (host, dev, to_b) in [
                (&link.a, &link.device_a, false),
                (&link.b, &link.device_b, true),
            ] {
                let outside = self.paths.mirror(host, dev);
                let pty = format!("pty,raw,echo=0,link={},mode=660", outside.display());
                let udp = format!(
                    "udp-datagram:127.0.0.1:{},bind=127.0.0.1:{}",
                    serial_port(link.index, !to_b),
                    serial_port(link.index, to_b)
                );
                let mut cmd = Command::new("socat");
                cmd.args([pty.as_str(), udp.as_str()]);
                let name = format!("serial{}-{}", link.index, if to_b { 'b' } else { 'a' });
                let proc = self.spawn_in_switch(&name, cmd)?;
                links.push((proc, outside));
            }
        }
        let deadline = Instant::now() + STARTUP_LIMIT;
        for (proc, outside) in links {
            while fs::symlink_metadata(&outside).is_err() {
                if self.try_wait(&proc)?.is_some() {
                    return Err(LabError::Invalid(format!(
                        "serial relay for {} exited: {}",
                        outside.display(),
                        proc.log_text()
                    )));
                }
                if Instant::now() > deadline {
                    return Err(LabError::Timeout {
                        what: format!("serial relay to create {}", outside.display()),
                        seconds: STARTUP_LIMIT.as_secs_f64(),
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- teardown

    /// Remove the lab: kill its processes (those it started and any other process in
    /// its namespaces), delete namespaces (and with them veths, bridges, nft tables),
    /// unmount its namespace files and remove its directory. Idempotent.
    pub fn teardown(&self) -> Result<()> {
        if self.done.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.kill_tracked();
        let result = teardown::teardown_prefix(&self.paths.prefix);
        self.reap_tracked();
        result
    }

    /// Leave the lab running after this value is dropped (prints nothing; the caller
    /// reports the prefix). `halo-lab down PREFIX` or `halo-lab cleanup --all` removes it.
    pub fn keep(&self) {
        self.owned.store(false, Ordering::SeqCst);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.owned.load(Ordering::SeqCst) || self.done.load(Ordering::SeqCst) {
            return;
        }
        if std::thread::panicking() {
            self.dump_logs();
        }
        if std::env::var_os("HALO_LAB_KEEP").is_some_and(|v| v == "1") {
            let _ = self.paths.update(|st| {
                st.owner = None;
                Ok(())
            });
            eprintln!(
                "halo-lab: HALO_LAB_KEEP=1: keeping lab {} (halo-lab down {} removes it)",
                self.paths.prefix, self.paths.prefix
            );
            return;
        }
        if let Err(e) = self.teardown() {
            tracing::error!(lab = %self.paths.prefix, error = %e, "lab teardown incomplete");
            eprintln!("halo-lab: {e}");
        }
    }
}

impl<'a> Host<'a> {
    /// Its name.
    pub fn name(&self) -> &'a str {
        self.node.name
    }

    /// Its number in the address plan (1–99 hosts, 201–250 ping hosts).
    pub fn number(&self) -> u8 {
        self.node.number
    }

    /// Bridges it is attached to.
    pub fn bridges(&self) -> &[usize] {
        &self.node.bridges
    }

    /// Its IPv4 address on `bridge`.
    pub fn ipv4(&self, bridge: usize) -> Result<Ipv4Addr> {
        self.node.ipv4(bridge).ok_or_else(|| self.not_on(bridge))
    }

    /// Its IPv6 address on `bridge`.
    pub fn ipv6(&self, bridge: usize) -> Result<Ipv6Addr> {
        self.node.ipv6(bridge).ok_or_else(|| self.not_on(bridge))
    }

    /// Its interface on `bridge` (`eth0`, `eth1`, …).
    pub fn iface(&self, bridge: usize) -> Result<String> {
        if self.node.bridges.contains(&bridge) {
            Ok(node_iface(bridge))
        } else {
            Err(self.not_on(bridge))
        }
    }

    /// Its network namespace file (`/run/netns/PREFIX-NAME`).
    pub fn netns(&self) -> PathBuf {
        self.lab.paths.netns(self.node.name)
    }

    /// Outside path of `inside`, a path in one of the host's private directories: where
    /// a test reads and writes the host's files (e.g. `/etc/ha.d/ha.cf`).
    pub fn path(&self, inside: impl AsRef<Path>) -> Result<PathBuf> {
        let inside = inside.as_ref();
        let private = self.node.kind == NodeKind::Host
            && inside.is_absolute()
            && self
                .lab
                .spec
                .private_dirs
                .iter()
                .any(|d| inside.starts_with(&d.path));
        if private {
            Ok(self.lab.paths.mirror(self.node.name, inside))
        } else {
            Err(LabError::Invalid(format!(
                "{} is not in a private directory of {} (those are: {})",
                inside.display(),
                self.node.name,
                self.lab
                    .spec
                    .private_dirs
                    .iter()
                    .map(|d| d.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    /// Its serial devices, as (link index, path inside the host).
    pub fn serial_devices(&self) -> Vec<(usize, PathBuf)> {
        self.lab.spec.serial_devices(self.node.name)
    }

    fn not_on(&self, bridge: usize) -> LabError {
        self.lab.unknown(format!(
            "{} is not on bridge {bridge} (it is on {:?})",
            self.node.name, self.node.bridges
        ))
    }
}

/// Run `ip -n NETNS -batch -` with `batch` as input.
fn ip_batch(netns: &str, batch: &str) -> Result<()> {
    sys::run(
        Command::new("ip").args(["-n", netns, "-batch", "-"]),
        Some(batch),
    )
    .map(drop)
}

/// Make a unique lab directory: its creation is what reserves the prefix.
fn claim_prefix() -> Result<Paths> {
    for _ in 0..100 {
        let prefix = state::random_prefix()?;
        let paths = Paths::new(&prefix);
        let taken = Path::new(state::NETNS_DIR)
            .join(paths.netns_name(SWITCH))
            .exists();
        if taken {
            continue;
        }
        match fs::create_dir(&paths.dir) {
            Ok(()) => return Ok(paths),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(LabError::io(format!("creating {}", paths.dir.display()), e));
            }
        }
    }
    Err(LabError::Invalid(
        "no free lab prefix after 100 tries".into(),
    ))
}

/// Resolve symbolic links in the private directories on this machine (`/var/run` is
/// `/run` on Debian), merge duplicates, and check again that none is nested in another.
fn resolve_private_dirs(spec: &LabSpec) -> Result<LabSpec> {
    let mut out = spec.clone();
    out.private_dirs.clear();
    for d in &spec.private_dirs {
        let path = fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone());
        match out.private_dirs.iter_mut().find(|x| x.path == path) {
            Some(x) => x.seed |= d.seed,
            None => out.private_dirs.push(PrivateDir { path, seed: d.seed }),
        }
    }
    out.validate()?;
    Ok(out)
}

/// Create the outside copy of a private directory: same mode and owner as the
/// machine's, and its contents when seeded.
fn prepare_private_dir(d: &PrivateDir, outside: &Path) -> Result<()> {
    fs::create_dir_all(outside)
        .map_err(|e| LabError::io(format!("creating {}", outside.display()), e))?;
    match fs::metadata(&d.path) {
        Ok(meta) if meta.is_dir() => {
            if d.seed {
                let src = d.path.join(".");
                sys::run(Command::new("cp").arg("-a").arg(&src).arg(outside), None)?;
            }
            fs::set_permissions(outside, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(|e| LabError::io(format!("chmod {}", outside.display()), e))?;
            std::os::unix::fs::chown(outside, Some(meta.uid()), Some(meta.gid()))
                .map_err(|e| LabError::io(format!("chown {}", outside.display()), e))?;
        }
        _ => {
            let mode = if d.path == Path::new("/tmp") || d.path == Path::new("/dev/shm") {
                0o1777
            } else {
                0o755
            };
            fs::set_permissions(outside, fs::Permissions::from_mode(mode))
                .map_err(|e| LabError::io(format!("chmod {}", outside.display()), e))?;
        }
    }
    Ok(())
}

/// Create a runtime directory in a host's private tree: `/run/lock` world-writable and
/// sticky, heartbeat's and the CRM's owned by hacluster:haclient when those exist.
fn prepare_runtime_dir(inside: &Path, outside: &Path) -> Result<()> {
    fs::create_dir_all(outside)
        .map_err(|e| LabError::io(format!("creating {}", outside.display()), e))?;
    let mode = if inside == Path::new("/run/lock") {
        0o1777
    } else {
        0o755
    };
    fs::set_permissions(outside, fs::Permissions::from_mode(mode))
        .map_err(|e| LabError::io(format!("chmod {}", outside.display()), e))?;
    if inside == Path::new("/run/heartbeat") || inside == Path::new("/run/crm") {
        let user = nix::unistd::User::from_name("hacluster").ok().flatten();
        let group = nix::unistd::Group::from_name("haclient").ok().flatten();
        if let (Some(u), Some(g)) = (user, group) {
            std::os::unix::fs::chown(outside, Some(u.uid.as_raw()), Some(g.gid.as_raw()))
                .map_err(|e| LabError::io(format!("chown {}", outside.display()), e))?;
        }
    }
    Ok(())
}
