//! Faults as data, and the nftables ruleset that enforces them.
//!
//! The lab keeps the whole fault state ([`Faults`]) and, on every change, renders the
//! complete ruleset of the switch namespace and loads it with one `nft -f` — one
//! transaction, so every change is atomic: no frame ever sees half of a partition.
//!
//! ```text
//!   Faults ──render(spec)──▶ "table bridge halo_lab { chain forward { … } }
//!                              table inet halo_lab_serial { chain input { … } }"
//! ```
//!
//! * Frames between hosts cross the bridge `forward` hook once per egress port (also
//!   floods), with `iifname` = the sender's switch port and `oifname` = the receiver's.
//! * A cut port drops every frame in or out of it; the host's link stays up, as when a
//!   switch port dies.
//! * Partitions and one-way cuts drop frames by (ingress port, egress port) pair.
//! * Loss uses `numgen random`: on a port, a frame entering the switch there and a frame
//!   leaving through it are each dropped with the given probability; on a bridge, every
//!   frame is dropped once with it.
//! * Serial links are relayed as UDP datagrams on the switch namespace's loopback; a cut
//!   drops them at the `input` hook (silently for the relay, like a cut cable).
//! * Every drop rule counts what it drops ([`crate::Lab::dropped`]); the counters
//!   restart at each change, since each change loads the tables anew.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::spec::{LabSpec, SERIAL_PORT_BASE, port_name};

/// Name of the bridge-family table in the switch namespace.
pub const BRIDGE_TABLE: &str = "halo_lab";
/// Name of the inet-family table (serial relays) in the switch namespace.
pub const SERIAL_TABLE: &str = "halo_lab_serial";
/// Loss probabilities are applied in steps of 1/`LOSS_SCALE`.
pub const LOSS_SCALE: u32 = 10_000;

/// A node's port on a bridge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Port {
    /// Node (host or ping host) name.
    pub node: String,
    /// Bridge number.
    pub bridge: usize,
}

/// Frames from `from` to `to` on `bridge` are dropped (the other direction passes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OneWay {
    /// Sender whose frames are dropped.
    pub from: String,
    /// Receiver that does not get them.
    pub to: String,
    /// Bridge number.
    pub bridge: usize,
}

/// Where random loss applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LossTarget {
    /// Every port of a node (frames into and out of it).
    Node(String),
    /// One port of a node.
    Port(Port),
    /// Every frame crossing a bridge (dropped once).
    Bridge(usize),
}

/// A loss rule: probability `per_10k / 10000`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    /// Where.
    pub target: LossTarget,
    /// Drop probability in units of 1/10000.
    pub per_10k: u32,
}

/// A serial link direction: bytes towards side `to_b ? B : A` are dropped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SerialCut {
    /// Serial link index.
    pub link: usize,
    /// True: bytes from A to B are dropped; false: bytes from B to A.
    pub to_b: bool,
}

/// The complete fault state of a lab. Empty means a healthy network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Dead switch ports.
    pub cut: BTreeSet<Port>,
    /// One-way drops.
    pub one_way: BTreeSet<OneWay>,
    /// The current partition, as groups of nodes; empty means none.
    pub partition: Vec<Vec<String>>,
    /// Loss rules (one per target; setting a target again replaces it).
    pub loss: Vec<Loss>,
    /// Cut serial directions.
    pub serial_cut: BTreeSet<SerialCut>,
}

impl Faults {
    /// True when nothing is cut, partitioned or lossy.
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }

    /// Set (or with `per_10k == 0` remove) the loss on `target`.
    pub fn set_loss(&mut self, target: LossTarget, per_10k: u32) {
        self.loss.retain(|l| l.target != target);
        if per_10k > 0 {
            self.loss.push(Loss { target, per_10k });
            self.loss.sort_by(|a, b| a.target.cmp(&b.target));
        }
    }

    /// Heal everything that concerns `node`: its cut ports and one-way drops from or to
    /// it. (Partitions and loss are healed separately.)
    pub fn heal_node(&mut self, node: &str) {
        self.cut.retain(|p| p.node != node);
        self.one_way.retain(|o| o.from != node && o.to != node);
    }

    /// Check that every name and number refers to something in `spec`.
    pub fn validate(&self, spec: &LabSpec) -> Result<(), LabError> {
        let port_ok = |node: &str, bridge: usize| -> Result<(), LabError> {
            let n = spec
                .node(node)
                .ok_or_else(|| LabError::Invalid(format!("no node named {node:?}")))?;
            if n.bridges.contains(&bridge) {
                Ok(())
            } else {
                Err(LabError::Invalid(format!(
                    "{node:?} has no port on bridge {bridge}"
                )))
            }
        };
        for p in &self.cut {
            port_ok(&p.node, p.bridge)?;
        }
        for o in &self.one_way {
            port_ok(&o.from, o.bridge)?;
            port_ok(&o.to, o.bridge)?;
        }
        if !self.partition.is_empty() {
            let mut seen = BTreeSet::new();
            for name in self.partition.iter().flatten() {
                if spec.node(name).is_none() {
                    return Err(LabError::Invalid(format!(
                        "partition: no node named {name:?}"
                    )));
                }
                if !seen.insert(name.as_str()) {
                    return Err(LabError::Invalid(format!(
                        "partition: {name:?} is in two groups"
                    )));
                }
            }
            if let Some(h) = spec.hosts.iter().find(|h| !seen.contains(h.name.as_str())) {
                return Err(LabError::Invalid(format!(
                    "partition: host {:?} is in no group (every host must be in one; \
                     ping hosts left out stay reachable from all groups)",
                    h.name
                )));
            }
        }
        for l in &self.loss {
            if l.per_10k > LOSS_SCALE {
                return Err(LabError::Invalid(format!(
                    "loss {} / {LOSS_SCALE} is above 1",
                    l.per_10k
                )));
            }
            match &l.target {
                LossTarget::Node(n) if spec.node(n).is_none() => {
                    return Err(LabError::Invalid(format!("loss: no node named {n:?}")));
                }
                LossTarget::Port(p) => port_ok(&p.node, p.bridge)?,
                LossTarget::Bridge(b) if *b >= spec.bridges => {
                    return Err(LabError::Invalid(format!(
                        "loss: no bridge {b} (the lab has {})",
                        spec.bridges
                    )));
                }
                _ => {}
            }
        }
        if let Some(c) = self.serial_cut.iter().find(|c| c.link >= spec.serial.len()) {
            return Err(LabError::Invalid(format!(
                "no serial link {} (the lab has {})",
                c.link,
                spec.serial.len()
            )));
        }
        Ok(())
    }

    /// The (ingress port, egress port) pairs whose frames are dropped by the partition
    /// and the one-way cuts, sorted.
    pub fn blocked_pairs(&self, spec: &LabSpec) -> BTreeSet<(String, String)> {
        let mut pairs = BTreeSet::new();
        let nodes = spec.nodes();
        let group_of = |name: &str| {
            self.partition
                .iter()
                .position(|g| g.iter().any(|n| n == name))
        };
        if !self.partition.is_empty() {
            for a in &nodes {
                for b in &nodes {
                    let (Some(ga), Some(gb)) = (group_of(a.name), group_of(b.name)) else {
                        continue;
                    };
                    if ga == gb {
                        continue;
                    }
                    for bridge in a.bridges.iter().filter(|x| b.bridges.contains(x)) {
                        pairs.insert((port_name(a.name, *bridge), port_name(b.name, *bridge)));
                    }
                }
            }
        }
        for o in &self.one_way {
            pairs.insert((port_name(&o.from, o.bridge), port_name(&o.to, o.bridge)));
        }
        pairs
    }

    /// The complete nftables ruleset for the switch namespace (loaded with `nft -f -`).
    /// It replaces the lab's tables wholesale in one transaction.
    pub fn render(&self, spec: &LabSpec) -> String {
        let mut out = String::new();
        let q = |s: &str| format!("\"{s}\"");
        let set = |items: Vec<String>| format!("{{ {} }}", items.join(", "));
        // Create-then-delete makes the delete succeed whether or not the table exists;
        // all of it is one transaction.
        let _ = writeln!(out, "table bridge {BRIDGE_TABLE} {{}}");
        let _ = writeln!(out, "delete table bridge {BRIDGE_TABLE}");
        let _ = writeln!(out, "table bridge {BRIDGE_TABLE} {{");
        let _ = writeln!(out, "\tchain forward {{");
        let _ = writeln!(
            out,
            "\t\ttype filter hook forward priority 0; policy accept;"
        );
        if !self.cut.is_empty() {
            let ports: Vec<String> = self
                .cut
                .iter()
                .map(|p| q(&port_name(&p.node, p.bridge)))
                .collect();
            let _ = writeln!(out, "\t\tiifname {} counter drop", set(ports.clone()));
            let _ = writeln!(out, "\t\toifname {} counter drop", set(ports));
        }
        let pairs = self.blocked_pairs(spec);
        if !pairs.is_empty() {
            let items = pairs
                .iter()
                .map(|(i, o)| format!("{} . {}", q(i), q(o)))
                .collect();
            let _ = writeln!(out, "\t\tiifname . oifname {} counter drop", set(items));
        }
        for l in &self.loss {
            let rand = format!("numgen random mod {LOSS_SCALE} < {}", l.per_10k);
            match &l.target {
                LossTarget::Bridge(b) => {
                    let ports: Vec<String> = spec
                        .nodes()
                        .iter()
                        .filter(|n| n.bridges.contains(b))
                        .map(|n| q(&port_name(n.name, *b)))
                        .collect();
                    if !ports.is_empty() {
                        let _ = writeln!(out, "\t\tiifname {} {rand} counter drop", set(ports));
                    }
                }
                LossTarget::Node(name) => {
                    let ports: Vec<String> = spec
                        .node(name)
                        .map(|n| n.bridges.iter().map(|b| q(&port_name(name, *b))).collect())
                        .unwrap_or_default();
                    if !ports.is_empty() {
                        let _ = writeln!(
                            out,
                            "\t\tiifname {} {rand} counter drop",
                            set(ports.clone())
                        );
                        let _ = writeln!(out, "\t\toifname {} {rand} counter drop", set(ports));
                    }
                }
                LossTarget::Port(p) => {
                    let port = q(&port_name(&p.node, p.bridge));
                    let _ = writeln!(out, "\t\tiifname {port} {rand} counter drop");
                    let _ = writeln!(out, "\t\toifname {port} {rand} counter drop");
                }
            }
        }
        let _ = writeln!(out, "\t}}");
        let _ = writeln!(out, "}}");

        let _ = writeln!(out, "table inet {SERIAL_TABLE} {{}}");
        let _ = writeln!(out, "delete table inet {SERIAL_TABLE}");
        let _ = writeln!(out, "table inet {SERIAL_TABLE} {{");
        let _ = writeln!(out, "\tchain input {{");
        let _ = writeln!(out, "\t\ttype filter hook input priority 0; policy accept;");
        if !self.serial_cut.is_empty() {
            let ports = self
                .serial_cut
                .iter()
                .map(|c| serial_port(c.link, c.to_b).to_string())
                .collect();
            let _ = writeln!(out, "\t\tudp dport {} counter drop", set(ports));
        }
        let _ = writeln!(out, "\t}}");
        let _ = writeln!(out, "}}");
        out
    }
}

/// What the fault rules have dropped since the last fault change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Frames dropped on the bridges (a flooded frame counts once per port it missed).
    pub frames: u64,
    /// Serial relay datagrams dropped (each carries one or more bytes).
    pub serial_datagrams: u64,
}

/// Sum the `counter packets N` of every rule in `nft list table` output.
pub fn sum_counters(listing: &str) -> u64 {
    let words: Vec<&str> = listing.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| w[0] == "counter" && w[1] == "packets")
        .filter_map(|w| w[2].parse::<u64>().ok())
        .sum()
}

/// UDP port (on the switch namespace's loopback) of the relay of serial link `link`'s
/// side B (`to_b`) or side A: datagrams to it carry bytes towards that side.
pub fn serial_port(link: usize, to_b: bool) -> u16 {
    let offset = u16::try_from(link * 2).unwrap_or(u16::MAX - SERIAL_PORT_BASE - 1);
    SERIAL_PORT_BASE + offset + u16::from(to_b)
}

/// Convert a loss fraction (0.0–1.0) to units of 1/[`LOSS_SCALE`].
pub fn loss_per_10k(fraction: f64) -> Result<u32, LabError> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(LabError::Invalid(format!(
            "loss fraction {fraction} is outside 0.0 to 1.0"
        )));
    }
    // In range and finite, so the conversion cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok((fraction * f64::from(LOSS_SCALE)).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LabSpec {
        LabSpec::new()
            .hosts(3)
            .bridges(2)
            .ping_host_on("ping1", &[0])
            .serial("node1", "node2")
    }

    #[test]
    fn healthy_network_has_empty_chains() {
        let text = Faults::default().render(&spec());
        assert!(!text.contains("drop"), "{text}");
        assert!(text.contains("delete table bridge halo_lab"));
        assert!(text.contains("type filter hook forward priority 0; policy accept;"));
    }

    #[test]
    fn cut_drops_both_directions_of_the_port() {
        let mut f = Faults::default();
        f.cut.insert(Port {
            node: "node1".into(),
            bridge: 0,
        });
        f.validate(&spec()).unwrap();
        let text = f.render(&spec());
        assert!(
            text.contains("iifname { \"node1-e0\" } counter drop"),
            "{text}"
        );
        assert!(
            text.contains("oifname { \"node1-e0\" } counter drop"),
            "{text}"
        );
    }

    #[test]
    fn partition_blocks_exactly_the_cross_group_pairs() {
        let mut f = Faults {
            partition: vec![vec!["node1".into(), "node2".into()], vec!["node3".into()]],
            ..Faults::default()
        };
        f.validate(&spec()).unwrap();
        let pairs = f.blocked_pairs(&spec());
        // node1, node2 <-> node3 on two bridges, both directions: 2 * 2 * 2.
        assert_eq!(pairs.len(), 8, "{pairs:?}");
        assert!(pairs.contains(&("node3-e1".into(), "node1-e1".into())));
        assert!(
            !pairs
                .iter()
                .any(|(a, b)| a.starts_with("ping") || b.starts_with("ping"))
        );
        f.partition[1].push("ping1".into());
        let pairs = f.blocked_pairs(&spec());
        // plus ping1 (bridge 0 only) <-> node1, node2.
        assert_eq!(pairs.len(), 12, "{pairs:?}");
    }

    #[test]
    fn one_way_blocks_one_direction() {
        let mut f = Faults::default();
        f.one_way.insert(OneWay {
            from: "node1".into(),
            to: "node2".into(),
            bridge: 1,
        });
        let pairs = f.blocked_pairs(&spec());
        assert_eq!(
            pairs.into_iter().collect::<Vec<_>>(),
            vec![("node1-e1".to_string(), "node2-e1".to_string())]
        );
        assert!(
            f.render(&spec())
                .contains("iifname . oifname { \"node1-e1\" . \"node2-e1\" } counter drop")
        );
    }

    #[test]
    fn loss_rules_use_numgen_and_replace_each_other() {
        let mut f = Faults::default();
        f.set_loss(LossTarget::Bridge(0), 2000);
        f.set_loss(LossTarget::Bridge(0), 1000);
        f.set_loss(LossTarget::Node("node2".into()), 500);
        f.validate(&spec()).unwrap();
        let text = f.render(&spec());
        assert!(
            text.contains(
                "iifname { \"node1-e0\", \"node2-e0\", \"node3-e0\", \"ping1-e0\" } numgen random mod 10000 < 1000 counter drop"
            ),
            "{text}"
        );
        assert!(!text.contains("< 2000"));
        assert!(text.contains(
            "oifname { \"node2-e0\", \"node2-e1\" } numgen random mod 10000 < 500 counter drop"
        ));
        f.set_loss(LossTarget::Bridge(0), 0);
        f.set_loss(LossTarget::Node("node2".into()), 0);
        assert!(f.is_empty());
    }

    #[test]
    fn counters_are_summed() {
        let listing = "table bridge halo_lab {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tiifname \"a-e0\" counter packets 12 bytes 1000 drop\n\t\toifname \"a-e0\" counter packets 3 bytes 200 drop\n\t}\n}\n";
        assert_eq!(sum_counters(listing), 15);
        assert_eq!(sum_counters("table inet x { }"), 0);
    }

    #[test]
    fn serial_cut_drops_the_relay_port() {
        let mut f = Faults::default();
        f.serial_cut.insert(SerialCut {
            link: 0,
            to_b: true,
        });
        assert!(
            f.render(&spec())
                .contains("udp dport { 20001 } counter drop")
        );
        assert_eq!(serial_port(3, false), 20006);
    }

    #[test]
    fn invalid_faults_are_refused() {
        let s = spec();
        let mut f = Faults::default();
        f.cut.insert(Port {
            node: "ping1".into(),
            bridge: 1,
        });
        assert!(
            f.validate(&s)
                .unwrap_err()
                .to_string()
                .contains("no port on bridge 1")
        );
        let f = Faults {
            partition: vec![vec!["node1".into()], vec!["node2".into()]],
            ..Faults::default()
        };
        assert!(
            f.validate(&s)
                .unwrap_err()
                .to_string()
                .contains("\"node3\" is in no group")
        );
        let f = Faults {
            partition: vec![
                vec!["node1".into(), "node2".into()],
                vec!["node2".into(), "node3".into()],
            ],
            ..Faults::default()
        };
        assert!(
            f.validate(&s)
                .unwrap_err()
                .to_string()
                .contains("two groups")
        );
        assert!(loss_per_10k(1.5).is_err());
        assert_eq!(loss_per_10k(0.2).unwrap(), 2000);
        let mut f = Faults::default();
        f.serial_cut.insert(SerialCut {
            link: 1,
            to_b: false,
        });
        assert!(
            f.validate(&s)
                .unwrap_err()
                .to_string()
                .contains("no serial link 1")
        );
    }
}
