//! What a lab is made of ([`LabSpec`]) and where everything in it lives: the fixed
//! address plan, interface and namespace names.
//!
//! Everything here is pure: it computes names and addresses, it creates nothing.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::LabError;

/// Most bridges a lab can have (bridge numbers are `0..MAX_BRIDGES`).
pub const MAX_BRIDGES: usize = 16;
/// Most hosts a lab can have: host numbers `1..=99` in the address plan.
pub const MAX_HOSTS: usize = 99;
/// Most ping hosts: they are numbered `201..=250` in the address plan.
pub const MAX_PING_HOSTS: usize = 50;
/// Longest node (host or ping host) name. The switch-side port of a node is named
/// `NAME-eB` and interface names are limited to 15 bytes.
pub const MAX_NODE_NAME: usize = 11;
/// Name reserved for the lab's switch namespace.
pub const SWITCH: &str = "switch";
/// First UDP port of the serial relays on the switch namespace's loopback. Serial link
/// `k` uses `SERIAL_PORT_BASE + 2k` (towards its side A) and `+ 2k + 1` (towards B).
pub const SERIAL_PORT_BASE: u16 = 20000;

/// IPv4 address of node `number` on bridge `bridge`: `10.213.BRIDGE.NUMBER`.
///
/// Numbers 1–99 are hosts, 100–199 are free for service addresses (virtual IPs, see
/// [`service_ipv4`]), 201–250 are ping hosts.
pub fn node_ipv4(bridge: usize, number: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 213, bridge_octet(bridge), number)
}

/// IPv6 (unique local) address of node `number` on bridge `bridge`:
/// `fd48:616c:6f00:BRIDGE::NUMBER` (hexadecimal groups; `48 61 6c 6f` is "Halo").
pub fn node_ipv6(bridge: usize, number: u8) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfd48,
        0x616c,
        0x6f00,
        u16::from(bridge_octet(bridge)),
        0,
        0,
        0,
        u16::from(number),
    )
}

/// The IPv4 prefix length of every lab subnet.
pub const IPV4_PREFIX_LEN: u8 = 24;
/// The IPv6 prefix length of every lab subnet.
pub const IPV6_PREFIX_LEN: u8 = 64;

/// Service address `index` (0–99) on bridge `bridge`: `10.213.BRIDGE.(100+index)`. No node
/// owns these: they are for the virtual IPs that tests move between hosts.
pub fn service_ipv4(bridge: usize, index: u8) -> Ipv4Addr {
    node_ipv4(bridge, 100 + index.min(99))
}

/// IPv6 service address `index` on bridge `bridge`: `fd48:616c:6f00:BRIDGE::1:INDEX`.
pub fn service_ipv6(bridge: usize, index: u8) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfd48,
        0x616c,
        0x6f00,
        u16::from(bridge_octet(bridge)),
        0,
        0,
        1,
        u16::from(index),
    )
}

/// MAC address of node `number`'s interface on bridge `bridge`:
/// `02:68:6c:BRIDGE:00:NUMBER` (locally administered, unicast).
pub fn node_mac(bridge: usize, number: u8) -> [u8; 6] {
    [0x02, 0x68, 0x6c, bridge_octet(bridge), 0, number]
}

/// `aa:bb:cc:dd:ee:ff` form of a MAC address.
pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn bridge_octet(bridge: usize) -> u8 {
    u8::try_from(bridge).unwrap_or(u8::MAX)
}

/// Name of bridge `bridge` inside the switch namespace.
pub fn bridge_name(bridge: usize) -> String {
    format!("br{bridge}")
}

/// Name of a node's interface on bridge `bridge`, inside the node.
pub fn node_iface(bridge: usize) -> String {
    format!("eth{bridge}")
}

/// Name of the switch port (the veth end in the switch namespace) of `node` on
/// `bridge`. Fault rules match on these names.
pub fn port_name(node: &str, bridge: usize) -> String {
    format!("{node}-e{bridge}")
}

/// One test host: network, UTS and mount namespace of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSpec {
    /// Host name (also what `uname -n` says inside).
    pub name: String,
    /// Bridges it is attached to; `None` means all of the lab's bridges.
    pub bridges: Option<Vec<usize>>,
}

/// A ping host: a network namespace with an address that answers ICMP and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingHostSpec {
    /// Its name (used in fault commands like hosts' names).
    pub name: String,
    /// Bridges it is attached to; `None` means all of the lab's bridges.
    pub bridges: Option<Vec<usize>>,
}

/// A serial link: a pty pair whose ends appear in host `a` and host `b`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialSpec {
    /// Host of side A.
    pub a: String,
    /// Host of side B.
    pub b: String,
}

/// A directory that each host gets a private copy of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateDir {
    /// Path as the host sees it.
    pub path: PathBuf,
    /// Start with a copy of the machine's directory (when it exists) rather than empty.
    pub seed: bool,
}

/// The private directories every host gets unless the spec says otherwise: the ones the
/// task and the anchors' lessons name. Configuration and state skeletons (`/etc/…`,
/// `/var/lib/…`) are seeded from the machine (e.g. `/etc/ha.d/shellfuncs`, which
/// heartbeat-style scripts source); runtime directories start empty. `/var/run` and
/// `/var/lock` are symbolic links into `/run` on Debian and so are private with it.
pub fn default_private_dirs() -> Vec<PrivateDir> {
    let empty = ["/run", "/tmp", "/var/log", "/dev/shm"];
    let seeded = [
        "/etc/ha.d",
        "/var/lib/halo",
        "/var/lib/heartbeat",
        "/var/lib/pacemaker",
        "/var/lib/corosync",
        "/etc/corosync",
        "/etc/keepalived",
    ];
    empty
        .iter()
        .map(|p| (p, false))
        .chain(seeded.iter().map(|p| (p, true)))
        .map(|(p, seed)| PrivateDir {
            path: PathBuf::from(p),
            seed,
        })
        .collect()
}

/// Directories created inside every host's private `/run` (systemd would make them on a
/// real machine; the anchors' lesson 3).
pub const RUNTIME_DIRS: &[&str] = &[
    "/run/lock",
    "/run/resource-agents",
    "/run/heartbeat",
    "/run/crm",
    "/run/halo",
    "/run/halo-lab",
];

/// Directory inside each host where its serial devices appear (`ttyS0`, `ttyS1`, … in
/// the order of the spec's serial links that involve the host).
pub const SERIAL_DIR: &str = "/run/halo-lab";

/// Everything a lab is made of. Build it with the chaining methods, then hand it to
/// [`crate::Lab::create`].
///
/// ```
/// let spec = halo_lab::LabSpec::new().hosts(3).bridges(2).serial("node1", "node2").ping_host("ping1");
/// assert_eq!(spec.host_names(), ["node1", "node2", "node3"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabSpec {
    /// The hosts, in order: the first is host number 1 in the address plan.
    pub hosts: Vec<HostSpec>,
    /// Number of bridges (`br0`, `br1`, …); at least 1.
    pub bridges: usize,
    /// Serial links.
    pub serial: Vec<SerialSpec>,
    /// Ping hosts, numbered 201, 202, … in the address plan.
    pub ping_hosts: Vec<PingHostSpec>,
    /// Directories each host gets a private copy of.
    pub private_dirs: Vec<PrivateDir>,
    /// Install permanent neighbour (ARP/NDP) entries for every other node's lab
    /// addresses. On by default: with it an asymmetric cut stays asymmetric (without
    /// it, the cut side's ARP replies are dropped too and traffic stops both ways).
    pub static_neighbors: bool,
}

impl Default for LabSpec {
    fn default() -> Self {
        Self::new()
    }
}

impl LabSpec {
    /// No hosts, one bridge, the default private directories, static neighbours.
    pub fn new() -> Self {
        LabSpec {
            hosts: Vec::new(),
            bridges: 1,
            serial: Vec::new(),
            ping_hosts: Vec::new(),
            private_dirs: default_private_dirs(),
            static_neighbors: true,
        }
    }

    /// Replace the hosts with `node1` … `nodeN`, each on every bridge.
    pub fn hosts(mut self, n: usize) -> Self {
        self.hosts = (1..=n)
            .map(|i| HostSpec {
                name: format!("node{i}"),
                bridges: None,
            })
            .collect();
        self
    }

    /// Add a host on every bridge.
    pub fn host(mut self, name: &str) -> Self {
        self.hosts.push(HostSpec {
            name: name.to_owned(),
            bridges: None,
        });
        self
    }

    /// Add a host attached only to the given bridges.
    pub fn host_on(mut self, name: &str, bridges: &[usize]) -> Self {
        self.hosts.push(HostSpec {
            name: name.to_owned(),
            bridges: Some(bridges.to_vec()),
        });
        self
    }

    /// Set the number of bridges.
    pub fn bridges(mut self, n: usize) -> Self {
        self.bridges = n;
        self
    }

    /// Add a serial link between hosts `a` and `b`.
    pub fn serial(mut self, a: &str, b: &str) -> Self {
        self.serial.push(SerialSpec {
            a: a.to_owned(),
            b: b.to_owned(),
        });
        self
    }

    /// Add a ping host on every bridge.
    pub fn ping_host(mut self, name: &str) -> Self {
        self.ping_hosts.push(PingHostSpec {
            name: name.to_owned(),
            bridges: None,
        });
        self
    }

    /// Add a ping host on the given bridges.
    pub fn ping_host_on(mut self, name: &str, bridges: &[usize]) -> Self {
        self.ping_hosts.push(PingHostSpec {
            name: name.to_owned(),
            bridges: Some(bridges.to_vec()),
        });
        self
    }

    /// Add a private directory (`seed`: start from a copy of the machine's).
    pub fn private_dir(mut self, path: impl Into<PathBuf>, seed: bool) -> Self {
        self.private_dirs.push(PrivateDir {
            path: path.into(),
            seed,
        });
        self
    }

    /// Turn the permanent neighbour entries off or on (see [`LabSpec::static_neighbors`]).
    pub fn static_neighbors(mut self, on: bool) -> Self {
        self.static_neighbors = on;
        self
    }

    /// Host names in order.
    pub fn host_names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// Every node (hosts, then ping hosts) with its number and bridges.
    pub fn nodes(&self) -> Vec<NodeRef<'_>> {
        let all = |b: &Option<Vec<usize>>| b.clone().unwrap_or_else(|| (0..self.bridges).collect());
        let hosts = self.hosts.iter().enumerate().map(|(i, h)| NodeRef {
            name: &h.name,
            number: u8::try_from(i + 1).unwrap_or(u8::MAX),
            kind: NodeKind::Host,
            bridges: all(&h.bridges),
        });
        let pings = self.ping_hosts.iter().enumerate().map(|(i, p)| NodeRef {
            name: &p.name,
            number: u8::try_from(201 + i).unwrap_or(u8::MAX),
            kind: NodeKind::Ping,
            bridges: all(&p.bridges),
        });
        hosts.chain(pings).collect()
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<NodeRef<'_>> {
        self.nodes().into_iter().find(|n| n.name == name)
    }

    /// Serial device paths of `host` (inside the host), as (link index, path).
    pub fn serial_devices(&self, host: &str) -> Vec<(usize, PathBuf)> {
        self.serial
            .iter()
            .enumerate()
            .filter(|(_, s)| s.a == host || s.b == host)
            .enumerate()
            .map(|(n, (k, _))| (k, Path::new(SERIAL_DIR).join(format!("ttyS{n}"))))
            .collect()
    }

    /// The `/etc/hosts` every host gets (its own copy, bind-mounted over the machine's):
    /// each node's name resolves to its address on its first bridge, and `NAME-eB` to
    /// its address on bridge B.
    pub fn etc_hosts(&self) -> String {
        let mut out = String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             # halo-lab: NAME is the node's first bridge address, NAME-eB its address on bridge B\n",
        );
        for node in self.nodes() {
            for (i, &b) in node.bridges.iter().enumerate() {
                let names = if i == 0 {
                    format!("{} {}", node.name, port_name(node.name, b))
                } else {
                    port_name(node.name, b)
                };
                out.push_str(&format!("{}\t{names}\n", node_ipv4(b, node.number)));
                out.push_str(&format!(
                    "{}\t{}\n",
                    node_ipv6(b, node.number),
                    port_name(node.name, b)
                ));
            }
        }
        out
    }

    /// Check names, numbers and references; the first problem found is the error.
    pub fn validate(&self) -> Result<(), LabError> {
        let bad = |msg: String| Err(LabError::Spec(msg));
        if self.bridges == 0 || self.bridges > MAX_BRIDGES {
            return bad(format!(
                "bridges: {} (a lab has 1 to {MAX_BRIDGES})",
                self.bridges
            ));
        }
        if self.hosts.len() > MAX_HOSTS {
            return bad(format!("{} hosts (at most {MAX_HOSTS})", self.hosts.len()));
        }
        if self.ping_hosts.len() > MAX_PING_HOSTS {
            return bad(format!(
                "{} ping hosts (at most {MAX_PING_HOSTS})",
                self.ping_hosts.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for node in self.nodes() {
            check_node_name(node.name)?;
            if !seen.insert(node.name) {
                return bad(format!("node name {:?} used twice", node.name));
            }
            if let Some(b) = node.bridges.iter().find(|&&b| b >= self.bridges) {
                return bad(format!(
                    "{:?} is attached to bridge {b}, but the lab has {} bridge(s)",
                    node.name, self.bridges
                ));
            }
        }
        for (k, s) in self.serial.iter().enumerate() {
            for end in [&s.a, &s.b] {
                if !self.hosts.iter().any(|h| &h.name == end) {
                    return bad(format!("serial link {k}: no host named {end:?}"));
                }
            }
            if s.a == s.b {
                return bad(format!("serial link {k} joins {:?} to itself", s.a));
            }
        }
        if self.serial.len() > 1000 {
            return bad(format!("{} serial links (at most 1000)", self.serial.len()));
        }
        for (i, d) in self.private_dirs.iter().enumerate() {
            check_private_dir(&d.path)?;
            for other in &self.private_dirs[..i] {
                if other.path == d.path {
                    return bad(format!("private dir {} listed twice", d.path.display()));
                }
                if d.path.starts_with(&other.path) || other.path.starts_with(&d.path) {
                    return bad(format!(
                        "private dirs {} and {} are nested; list only the outer one",
                        other.path.display(),
                        d.path.display()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Hosts and ping hosts are both "nodes": they have ports on bridges and addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A test host (network, UTS and mount namespace).
    Host,
    /// A ping host (network namespace only; answers ICMP).
    Ping,
}

/// A node of a spec with its place in the address plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRef<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its number in the address plan (last octet).
    pub number: u8,
    /// Host or ping host.
    pub kind: NodeKind,
    /// Bridges it is attached to.
    pub bridges: Vec<usize>,
}

impl NodeRef<'_> {
    /// Its IPv4 address on `bridge`, if attached there.
    pub fn ipv4(&self, bridge: usize) -> Option<Ipv4Addr> {
        self.bridges
            .contains(&bridge)
            .then(|| node_ipv4(bridge, self.number))
    }

    /// Its IPv6 address on `bridge`, if attached there.
    pub fn ipv6(&self, bridge: usize) -> Option<Ipv6Addr> {
        self.bridges
            .contains(&bridge)
            .then(|| node_ipv6(bridge, self.number))
    }
}

fn check_node_name(name: &str) -> Result<(), LabError> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let starts_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.is_empty() || name.len() > MAX_NODE_NAME || !ok_chars || !starts_ok {
        return Err(LabError::Spec(format!(
            "node name {name:?}: use 1 to {MAX_NODE_NAME} characters of a-z, 0-9 and '-', \
             starting with a letter or digit (it becomes part of interface names)"
        )));
    }
    if name == SWITCH {
        return Err(LabError::Spec(format!(
            "node name {name:?} is reserved for the lab's switch"
        )));
    }
    Ok(())
}

fn check_private_dir(path: &Path) -> Result<(), LabError> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(LabError::Spec(format!(
            "private dir {shown}: must be an absolute path"
        )));
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::RootDir | Component::Normal(_)))
    {
        return Err(LabError::Spec(format!(
            "private dir {shown}: no '.' or '..' components"
        )));
    }
    if path.parent().is_none() {
        return Err(LabError::Spec("private dir /: not the whole root".into()));
    }
    let printable = path.to_str().is_some_and(|s| {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\'' && b != b'\\')
    });
    if !printable {
        return Err(LabError::Spec(format!(
            "private dir {shown}: use plain printable characters (no spaces, quotes or backslashes)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_plan_is_fixed() {
        assert_eq!(node_ipv4(0, 1), Ipv4Addr::new(10, 213, 0, 1));
        assert_eq!(node_ipv4(1, 203), Ipv4Addr::new(10, 213, 1, 203));
        assert_eq!(
            node_ipv6(1, 2).to_string(),
            "fd48:616c:6f00:1::2",
            "ULA plan"
        );
        assert_eq!(service_ipv4(0, 0), Ipv4Addr::new(10, 213, 0, 100));
        assert_eq!(service_ipv6(2, 5).to_string(), "fd48:616c:6f00:2::1:5");
        assert_eq!(mac_string(node_mac(1, 12)), "02:68:6c:01:00:0c");
        assert!(node_ipv6(0, 1).is_unique_local());
    }

    #[test]
    fn nodes_are_numbered_hosts_then_ping_hosts() {
        let spec = LabSpec::new()
            .bridges(2)
            .host("a")
            .host_on("b", &[1])
            .ping_host_on("p", &[0]);
        let nodes = spec.nodes();
        assert_eq!(nodes[0].number, 1);
        assert_eq!(nodes[0].bridges, vec![0, 1]);
        assert_eq!(nodes[1].bridges, vec![1]);
        assert_eq!(nodes[1].ipv4(0), None);
        assert_eq!(nodes[1].ipv4(1), Some(Ipv4Addr::new(10, 213, 1, 2)));
        assert_eq!(nodes[2].number, 201);
        assert_eq!(nodes[2].kind, NodeKind::Ping);
        spec.validate().unwrap();
    }

    #[test]
    fn serial_devices_are_numbered_per_host() {
        let spec = LabSpec::new()
            .hosts(3)
            .serial("node1", "node2")
            .serial("node2", "node3");
        assert_eq!(
            spec.serial_devices("node2"),
            vec![
                (0, PathBuf::from("/run/halo-lab/ttyS0")),
                (1, PathBuf::from("/run/halo-lab/ttyS1"))
            ]
        );
        assert_eq!(
            spec.serial_devices("node3"),
            vec![(1, PathBuf::from("/run/halo-lab/ttyS0"))]
        );
    }

    #[test]
    fn etc_hosts_names_every_node() {
        let spec = LabSpec::new().bridges(2).host("a").host_on("b", &[1]);
        let text = spec.etc_hosts();
        assert!(text.contains("10.213.0.1\ta a-e0\n"), "{text}");
        assert!(text.contains("10.213.1.1\ta-e1\n"), "{text}");
        assert!(text.contains("10.213.1.2\tb b-e1\n"), "{text}");
        assert!(text.contains("fd48:616c:6f00:1::2\tb-e1\n"), "{text}");
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let cases: Vec<(LabSpec, &str)> = vec![
            (LabSpec::new().hosts(1).bridges(0), "bridges: 0"),
            (LabSpec::new().host("Node1"), "node name \"Node1\""),
            (
                LabSpec::new().host("averyverylongname"),
                "1 to 11 characters",
            ),
            (LabSpec::new().host("a").host("a"), "used twice"),
            (LabSpec::new().host("a").ping_host("a"), "used twice"),
            (LabSpec::new().host("switch"), "reserved"),
            (LabSpec::new().host_on("a", &[1]), "bridge 1"),
            (
                LabSpec::new().host("a").serial("a", "b"),
                "no host named \"b\"",
            ),
            (LabSpec::new().host("a").serial("a", "a"), "to itself"),
            (LabSpec::new().private_dir("/run/x", false), "nested"),
            (LabSpec::new().private_dir("etc", false), "absolute"),
            (LabSpec::new().private_dir("/a/../b", false), "'..'"),
            (LabSpec::new().private_dir("/a b", false), "printable"),
            (LabSpec::new().private_dir("/tmp", false), "twice"),
        ];
        for (spec, want) in cases {
            let err = spec.validate().expect_err(want).to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }
}
