//! Importing a heartbeat v1 `haresources` cluster into an equivalent CIB.
//!
//! ```text
//!   haresources line            CIB
//!   ─────────────────           ───────────────────────────────────────────
//!   node1 10.0.0.5 httpd   ──▶  <group id="group_IPaddr_10_0_0_5">
//!                                 <primitive ocf:halo:IPaddr ip=10.0.0.5/> <primitive lsb:httpd/>
//!                               <rsc_location rsc=group node=node1 score=100/>
//!   ha.cf auto_failback    ──▶  rsc_defaults resource-stickiness
//! ```
//!
//! The mapping, and why:
//!
//! * **One group per line**, members in line order: heartbeat acquires a line's
//!   resources left to right and releases them right to left, which is exactly a
//!   group's implicit ordering and colocation. The group id is `group_` followed by
//!   the id of its first resource (heartbeat's "group key").
//! * **Location preference** for the line's node with score [`PREFERRED_NODE_SCORE`]
//!   (100), so the group runs there when it can and elsewhere when it cannot.
//! * **Stickiness from `auto_failback`**: `on` and `legacy` mean the preferred node
//!   takes its groups back when it returns, so stickiness is 0 (the location
//!   preference wins); `off` means groups stay where they are until a failure, so
//!   stickiness is [`NO_FAILBACK_STICKINESS`] per member: far above the location
//!   preference, yet below INFINITY, so that an administrator's move (`halo resource
//!   move`, `hb_takeover`: an INFINITY preference) still wins. With INFINITY
//!   stickiness the two INFINITY scores would tie and nothing would move.
//! * **Resource scripts**: `IPaddr`/`IPaddr2` (and bare dotted addresses, which
//!   heartbeat treats as `IPaddr::addr`) become halo's built-in `ocf:halo:IPaddr`
//!   (netlink and gratuitous ARP in-process, no script to fork: the address moves
//!   in about a millisecond) with `ip`, `cidr_netmask`, `nic` and `broadcast` parsed
//!   from `ip[/cidr[/nic[/bcast]]]`; like heartbeat's findif, it finds the interface
//!   and netmask from the routing table when they are not given. (A CIB can still
//!   name `ocf:heartbeat:IPaddr2` explicitly.) `Filesystem::dev::dir[::fstype[::options]]`
//!   becomes `ocf:heartbeat:Filesystem`. Any other script with arguments becomes a
//!   `heartbeat`-class resource whose arguments are the parameters `1`, `2`, …
//!   (how Pacemaker passes them to heartbeat-style scripts); a script without
//!   arguments becomes `lsb:<script>` if the caller says it is an init script, else
//!   `heartbeat:<script>` (heartbeat looked in `resource.d` first).
//! * **Agents by name** (a halo extension): a script written as an agent,
//!   `ocf:PROVIDER:TYPE`, `lsb:NAME`, `systemd:NAME`, `service:NAME` or
//!   `heartbeat:NAME`, becomes that agent, with `name=value` arguments as its
//!   parameters (`ocf:heartbeat:Dummy::state=/run/d.state`). heartbeat itself would
//!   have looked for a script of that name, which cannot exist, so no heartbeat
//!   configuration changes meaning; the resource id is the agent's type.
//! * **Cluster options**: no fencing (`fencing-enabled=false`, as heartbeat v1;
//!   until halo's fencing lands) and `no-quorum-policy=stop`. heartbeat v1 had no
//!   quorum in haresources mode, which is how both halves of a split ended up serving
//!   the same address; halo stops the resources of a partition without quorum (the
//!   issue's safety rule) — `ha.cf`'s `no_quorum_policy` can say otherwise, and the
//!   resource manager writes it over this default.
//!   No recurring monitors are defined: heartbeat v1 did not monitor resources.
//!
//! The input types are deliberately small: [`HaResource::parse_token`] turns one
//! token into a resource, and groups parsed by `halo-config` convert with
//! `HaGroup::from` (see [`import_haresources`]).

use crate::model::{
    Cib, Configuration, Constraint, Group, Location, Node, NvPair, NvSet, Primitive, Resource,
    Score,
};

/// Score of the location preference for a line's node.
pub const PREFERRED_NODE_SCORE: i32 = 100;

/// `resource-stickiness` for `auto_failback off` (see the module doc).
pub const NO_FAILBACK_STICKINESS: &str = "1000";

/// heartbeat's `auto_failback` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoFailback {
    /// Groups return to their preferred node when it comes back.
    On,
    /// Groups stay where they run.
    Off,
    /// heartbeat's default: the returning primary pulls its groups back.
    Legacy,
}

/// One resource of a `haresources` line: `script::arg1::arg2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaResource {
    /// Script name (`IPaddr2`, `Filesystem`, `httpd`, ...).
    pub script: String,
    /// Arguments in order.
    pub args: Vec<String>,
}

impl HaResource {
    /// Parses one `haresources` token: `script::a1::a2`, or a bare IPv4 address
    /// (`10.0.0.5/24`), which heartbeat treats as `IPaddr::10.0.0.5/24`.
    pub fn parse_token(token: &str) -> HaResource {
        let first = token.split('/').next().unwrap_or("");
        let is_addr = first.split('.').count() == 4
            && first
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if is_addr {
            return HaResource {
                script: "IPaddr".to_string(),
                args: vec![token.to_string()],
            };
        }
        let mut parts = token.split("::");
        let script = parts.next().unwrap_or("").to_string();
        HaResource {
            script,
            args: parts.map(str::to_string).collect(),
        }
    }
}

/// One `haresources` line: the preferred node and its resources in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaGroup {
    /// Preferred node.
    pub node: String,
    /// Resources, acquired left to right.
    pub resources: Vec<HaResource>,
}

impl From<&halo_config::HaResource> for HaResource {
    fn from(r: &halo_config::HaResource) -> Self {
        HaResource {
            script: r.script.clone(),
            args: r.args.clone(),
        }
    }
}

impl From<&halo_config::ResourceGroup> for HaGroup {
    fn from(g: &halo_config::ResourceGroup) -> Self {
        HaGroup {
            node: g.node.as_str().to_string(),
            resources: g.resources.iter().map(HaResource::from).collect(),
        }
    }
}

/// [`import`] for a `haresources` file as `halo-config` parsed it.
pub fn import_haresources(
    haresources: &halo_config::HaResources,
    nodes: &[String],
    auto_failback: AutoFailback,
    is_init_script: &dyn Fn(&str) -> bool,
) -> Result<Cib, ImportError> {
    let groups: Vec<HaGroup> = haresources.groups.iter().map(HaGroup::from).collect();
    import(&groups, nodes, auto_failback, is_init_script)
}

/// Why an import failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A line names a node that is not in the node list.
    #[error("haresources line {line}: node '{node}' is not a cluster node")]
    UnknownNode {
        /// 1-based line (group) number.
        line: usize,
        /// The node.
        node: String,
    },
    /// A line has no resources.
    #[error("haresources line {line}: no resources")]
    EmptyGroup {
        /// 1-based line (group) number.
        line: usize,
    },
    /// Two lines have the same first resource (heartbeat's group key).
    #[error("haresources line {line}: group key '{key}' is used twice")]
    DuplicateKey {
        /// 1-based line (group) number.
        line: usize,
        /// The key.
        key: String,
    },
    /// A resource names an agent (`class:provider:type`) in a way that cannot work.
    #[error("haresources line {line}: '{token}': {reason}")]
    BadAgent {
        /// 1-based line (group) number.
        line: usize,
        /// The resource as written.
        token: String,
        /// What is wrong.
        reason: String,
    },
}

/// Builds the CIB equivalent to a `haresources` cluster.
///
/// `nodes` are the cluster's node names (`ha.cf` `node` lines); `is_init_script`
/// says whether an argument-less script is an init script (`/etc/init.d`) rather
/// than a heartbeat resource script.
pub fn import(
    groups: &[HaGroup],
    nodes: &[String],
    auto_failback: AutoFailback,
    is_init_script: &dyn Fn(&str) -> bool,
) -> Result<Cib, ImportError> {
    let mut cfg = Configuration {
        crm_config: vec![NvSet::new(
            "cib-bootstrap-options",
            vec![
                NvPair::new("opt-fencing-enabled", "fencing-enabled", "false"),
                NvPair::new("opt-no-quorum-policy", "no-quorum-policy", "stop"),
            ],
        )],
        rsc_defaults: Some(vec![NvSet::new(
            "rsc-options",
            vec![NvPair::new(
                "rsc-options-stickiness",
                "resource-stickiness",
                match auto_failback {
                    AutoFailback::On | AutoFailback::Legacy => "0",
                    AutoFailback::Off => NO_FAILBACK_STICKINESS,
                },
            )],
        )]),
        ..Configuration::default()
    };
    for n in nodes {
        let name = n.to_ascii_lowercase();
        cfg.nodes.push(Node::new(&name, &name));
    }
    let mut used_ids: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let line = i + 1;
        let node = g.node.to_ascii_lowercase();
        if !cfg.nodes.iter().any(|n| n.uname == node) {
            return Err(ImportError::UnknownNode {
                line,
                node: g.node.clone(),
            });
        }
        let first = g
            .resources
            .first()
            .ok_or(ImportError::EmptyGroup { line })?;
        let key = format!("{}::{}", first.script, first.args.join("::"));
        if keys.contains(&key) {
            return Err(ImportError::DuplicateKey { line, key });
        }
        keys.push(key);
        let members: Vec<Primitive> = g
            .resources
            .iter()
            .map(|r| primitive_for(r, &mut used_ids, is_init_script, line))
            .collect::<Result<_, _>>()?;
        let gid = unique_id(&format!("group_{}", members[0].id), &mut used_ids);
        cfg.constraints.push(Constraint::Location(Location {
            id: unique_id(&format!("location_{gid}"), &mut used_ids),
            rsc: Some(gid.clone()),
            node: Some(node),
            score: Some(Score(PREFERRED_NODE_SCORE)),
            ..Location::default()
        }));
        cfg.resources.push(Resource::Group(Group {
            id: gid,
            members,
            ..Group::default()
        }));
    }
    Ok(Cib {
        validate_with: Some("pacemaker-3.0".to_string()),
        configuration: cfg,
        ..Cib::default()
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn unique_id(base: &str, used: &mut Vec<String>) -> String {
    let mut id = base.to_string();
    let mut n = 1;
    while used.contains(&id) {
        n += 1;
        id = format!("{base}_{n}");
    }
    used.push(id.clone());
    id
}

fn params(id: &str, pairs: &[(&str, &str)]) -> Vec<NvSet> {
    if pairs.is_empty() {
        return Vec::new();
    }
    vec![NvSet::new(
        &format!("{id}-instance_attributes"),
        pairs
            .iter()
            .map(|(n, v)| NvPair::new(&format!("{id}-instance_attributes-{}", sanitize(n)), n, v))
            .collect(),
    )]
}

/// An agent's class, provider and type.
type AgentName<'a> = (&'a str, Option<&'a str>, &'a str);

/// An agent written by name (`None`: an ordinary script name).
fn agent_by_name(script: &str) -> Option<Result<AgentName<'_>, String>> {
    if !script.contains(':') {
        return None;
    }
    let parts: Vec<&str> = script.split(':').collect();
    Some(match parts.as_slice() {
        ["ocf", p, t] if !p.is_empty() && !t.is_empty() => Ok(("ocf", Some(*p), *t)),
        ["ocf", ..] => Err("OCF agents are written ocf:PROVIDER:TYPE".into()),
        [c @ ("lsb" | "systemd" | "service" | "heartbeat"), t] if !t.is_empty() => {
            Ok((*c, None, *t))
        }
        [c @ ("lsb" | "systemd" | "service" | "heartbeat"), ..] => {
            Err(format!("{c} agents are written {c}:NAME"))
        }
        [c, ..] => Err(format!(
            "unknown agent class '{c}' (ocf, lsb, systemd, service or heartbeat)"
        )),
        [] => Err("empty agent".into()),
    })
}

fn primitive_for(
    r: &HaResource,
    used: &mut Vec<String>,
    is_init_script: &dyn Fn(&str) -> bool,
    line: usize,
) -> Result<Primitive, ImportError> {
    if let Some(agent) = agent_by_name(&r.script) {
        let bad = |reason: String| ImportError::BadAgent {
            line,
            token: std::iter::once(r.script.as_str())
                .chain(r.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("::"),
            reason,
        };
        let (class, provider, kind) = agent.map_err(bad)?;
        let mut pairs = Vec::new();
        for a in &r.args {
            match a.split_once('=') {
                Some((n, v)) if !n.is_empty() => pairs.push((n, v)),
                _ => {
                    return Err(bad(format!(
                        "the arguments of an agent are its parameters, written name=value \
                         ('{a}' is not)"
                    )));
                }
            }
        }
        let id = unique_id(&sanitize(kind), used);
        let mut p = Primitive::new(&id, class, provider, kind);
        p.instance = params(&id, &pairs);
        return Ok(p);
    }
    let base = if r.args.is_empty() {
        sanitize(&r.script)
    } else {
        sanitize(&format!("{}_{}", r.script, r.args.join("_")))
    };
    let id = unique_id(&base, used);
    Ok(match (r.script.as_str(), r.args.as_slice()) {
        ("IPaddr" | "IPaddr2", [spec, ..]) => {
            let mut f = spec.split('/');
            let ip = f.next().unwrap_or("");
            let mut pairs: Vec<(&str, &str)> = vec![("ip", ip)];
            if let Some(c) = f.next().filter(|s| !s.is_empty()) {
                pairs.push(("cidr_netmask", c));
            }
            // A third field starting with a digit is a broadcast address (IPaddr).
            match f.next().filter(|s| !s.is_empty()) {
                Some(x) if x.starts_with(|c: char| c.is_ascii_digit()) => {
                    pairs.push(("broadcast", x))
                }
                Some(x) => {
                    pairs.push(("nic", x));
                    if let Some(b) = f.next().filter(|s| !s.is_empty()) {
                        pairs.push(("broadcast", b));
                    }
                }
                None => {}
            }
            let mut p = Primitive::new(&id, "ocf", Some("halo"), "IPaddr");
            p.instance = params(&id, &pairs);
            p
        }
        ("Filesystem", [dev, dir, rest @ ..]) => {
            let mut pairs: Vec<(&str, &str)> = vec![("device", dev), ("directory", dir)];
            if let Some(t) = rest.first() {
                pairs.push(("fstype", t));
            }
            if let Some(o) = rest.get(1) {
                pairs.push(("options", o));
            }
            let mut p = Primitive::new(&id, "ocf", Some("heartbeat"), "Filesystem");
            p.instance = params(&id, &pairs);
            p
        }
        (script, []) if is_init_script(script) => Primitive::new(&id, "lsb", None, script),
        (script, args) => {
            let names: Vec<String> = (1..=args.len()).map(|i| i.to_string()).collect();
            let pairs: Vec<(&str, &str)> = names
                .iter()
                .zip(args)
                .map(|(n, a)| (n.as_str(), a.as_str()))
                .collect();
            let mut p = Primitive::new(&id, "heartbeat", None, script);
            p.instance = params(&id, &pairs);
            p
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Vec<HaGroup> {
        vec![
            HaGroup {
                node: "Node1".into(),
                resources: vec![
                    HaResource::parse_token("10.0.0.5/24/eth0"),
                    HaResource::parse_token("Filesystem::/dev/sdb1::/srv::ext4"),
                    HaResource::parse_token("httpd"),
                ],
            },
            HaGroup {
                node: "node2".into(),
                resources: vec![HaResource::parse_token("drbddisk::r0")],
            },
        ]
    }

    #[test]
    fn groups_parsed_by_halo_config_import_the_same() {
        let nodes = [
            halo_types::NodeName::new("node1").expect("name"),
            halo_types::NodeName::new("node2").expect("name"),
        ];
        let text =
            b"node1 10.0.0.5/24/eth0 Filesystem::/dev/sdb1::/srv::ext4 httpd\nnode2 drbddisk::r0\n";
        let parsed = halo_config::HaResources::parse(
            std::path::Path::new("/etc/ha.d/haresources"),
            text,
            &nodes,
        )
        .expect("parse");
        let names = vec!["node1".to_string(), "node2".to_string()];
        let from_config =
            import_haresources(&parsed.value, &names, AutoFailback::Off, &|s| s == "httpd")
                .expect("import");
        let direct =
            import(&groups(), &names, AutoFailback::Off, &|s| s == "httpd").expect("import");
        assert_eq!(from_config.configuration, direct.configuration);
    }

    #[test]
    fn tokens_parse_like_heartbeat() {
        assert_eq!(
            HaResource::parse_token("192.168.1.1"),
            HaResource {
                script: "IPaddr".into(),
                args: vec!["192.168.1.1".into()]
            }
        );
        assert_eq!(
            HaResource::parse_token("Filesystem::/dev/x::/mnt"),
            HaResource {
                script: "Filesystem".into(),
                args: vec!["/dev/x".into(), "/mnt".into()]
            }
        );
    }

    #[test]
    fn one_group_per_line_with_location_and_stickiness() {
        let nodes = vec!["node1".to_string(), "node2".to_string()];
        let cib = import(&groups(), &nodes, AutoFailback::Off, &|s| s == "httpd").expect("import");
        let cfg = &cib.configuration;
        assert_eq!(cfg.resources.len(), 2);
        let Resource::Group(g) = &cfg.resources[0] else {
            panic!("group expected")
        };
        assert_eq!(g.members.len(), 3);
        assert_eq!(
            (
                g.members[0].class.as_str(),
                g.members[0].provider.as_deref(),
                g.members[0].agent.as_str()
            ),
            ("ocf", Some("halo"), "IPaddr")
        );
        assert_eq!(g.members[0].instance[0].get("ip"), Some("10.0.0.5"));
        assert_eq!(g.members[0].instance[0].get("cidr_netmask"), Some("24"));
        assert_eq!(g.members[0].instance[0].get("nic"), Some("eth0"));
        assert_eq!(g.members[1].instance[0].get("fstype"), Some("ext4"));
        assert_eq!(g.members[2].class, "lsb");
        let Resource::Group(g2) = &cfg.resources[1] else {
            panic!("group expected")
        };
        assert_eq!(g2.members[0].class, "heartbeat");
        assert_eq!(g2.members[0].instance[0].get("1"), Some("r0"));
        let Constraint::Location(l) = &cfg.constraints[0] else {
            panic!("location expected")
        };
        assert_eq!(l.node.as_deref(), Some("node1"));
        assert_eq!(l.score, Some(Score(PREFERRED_NODE_SCORE)));
        let sticky = cfg.rsc_defaults.as_ref().expect("defaults")[0].get("resource-stickiness");
        assert_eq!(sticky, Some(NO_FAILBACK_STICKINESS));
        // The result is a valid CIB.
        let back = Cib::from_xml(&cib.to_xml()).expect("valid CIB");
        assert_eq!(back, cib);
    }

    #[test]
    fn a_partition_without_quorum_stops_and_fencing_is_off() {
        let nodes = vec!["node1".to_string(), "node2".to_string()];
        let cib = import(&groups(), &nodes, AutoFailback::On, &|_| false).expect("import");
        let opts = &cib.configuration.crm_config[0];
        assert_eq!(opts.get("no-quorum-policy"), Some("stop"));
        assert_eq!(opts.get("fencing-enabled"), Some("false"));
    }

    #[test]
    fn ip_shorthand_fields_become_the_agents_parameters() {
        let nodes = vec!["node1".to_string()];
        let g = |tok: &str| HaGroup {
            node: "node1".into(),
            resources: vec![HaResource::parse_token(tok)],
        };
        let cib = import(
            &[
                g("IPaddr2::10.0.0.7/24/eth1/10.0.0.255"),
                g("10.0.0.8/16/10.0.255.255"),
                g("10.0.0.9"),
            ],
            &nodes,
            AutoFailback::On,
            &|_| false,
        )
        .expect("import");
        let p = |i: usize| match &cib.configuration.resources[i] {
            Resource::Group(g) => g.members[0].clone(),
            other => panic!("group expected: {other:?}"),
        };
        let get = |i: usize, k: &str| {
            p(i).instance
                .first()
                .and_then(|s| s.get(k).map(String::from))
        };
        assert_eq!(
            (
                p(0).class.as_str(),
                p(0).provider.as_deref(),
                p(0).agent.as_str()
            ),
            ("ocf", Some("halo"), "IPaddr")
        );
        assert_eq!(get(0, "nic").as_deref(), Some("eth1"));
        assert_eq!(get(0, "broadcast").as_deref(), Some("10.0.0.255"));
        assert_eq!(get(1, "nic"), None);
        assert_eq!(get(1, "broadcast").as_deref(), Some("10.0.255.255"));
        assert_eq!(get(2, "ip").as_deref(), Some("10.0.0.9"));
        assert_eq!(get(2, "cidr_netmask"), None);
        assert_eq!(p(2).agent, "IPaddr");
    }

    #[test]
    fn agents_written_by_name_become_those_agents_with_their_parameters() {
        let nodes = vec!["node1".to_string()];
        let line = |tokens: &[&str]| HaGroup {
            node: "node1".into(),
            resources: tokens.iter().map(|t| HaResource::parse_token(t)).collect(),
        };
        let cib = import(
            &[line(&[
                "10.0.0.9",
                "ocf:heartbeat:Dummy::state=/run/d.state",
                "lsb:nginx",
            ])],
            &nodes,
            AutoFailback::On,
            &|_| false,
        )
        .expect("import");
        let Resource::Group(g) = &cib.configuration.resources[0] else {
            panic!("group expected")
        };
        let d = &g.members[1];
        assert_eq!(
            (
                d.id.as_str(),
                d.class.as_str(),
                d.provider.as_deref(),
                d.agent.as_str()
            ),
            ("Dummy", "ocf", Some("heartbeat"), "Dummy")
        );
        assert_eq!(d.instance[0].get("state"), Some("/run/d.state"));
        assert_eq!(
            (g.members[2].class.as_str(), g.members[2].agent.as_str()),
            ("lsb", "nginx")
        );
        for (tok, why) in [
            ("ocf:Dummy", "ocf:PROVIDER:TYPE"),
            ("nfs:x", "unknown agent class"),
            ("ocf:heartbeat:Dummy::fast", "name=value"),
        ] {
            let e = import(&[line(&[tok])], &nodes, AutoFailback::On, &|_| false)
                .expect_err(tok)
                .to_string();
            assert!(e.contains(why) && e.contains("line 1"), "{tok}: {e}");
        }
    }

    #[test]
    fn auto_failback_on_means_no_stickiness() {
        let nodes = vec!["node1".to_string(), "node2".to_string()];
        let cib = import(&groups(), &nodes, AutoFailback::On, &|_| false).expect("import");
        let d = cib.configuration.rsc_defaults.as_ref().expect("defaults");
        assert_eq!(d[0].get("resource-stickiness"), Some("0"));
    }

    #[test]
    fn unknown_node_and_duplicate_key_are_errors() {
        let nodes = vec!["node1".to_string()];
        assert!(matches!(
            import(&groups(), &nodes, AutoFailback::On, &|_| false),
            Err(ImportError::UnknownNode { line: 2, .. })
        ));
        let mut g = groups();
        g[1] = g[0].clone();
        g[1].node = "node1".into();
        assert!(matches!(
            import(&g, &nodes, AutoFailback::On, &|_| false),
            Err(ImportError::DuplicateKey { line: 2, .. })
        ));
    }
}
