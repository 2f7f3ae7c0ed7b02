//! Administrators' requests as edits of the CIB (pure functions of the DC's copy).
//!
//! | request                    | what changes                                              |
//! | -------------------------- | --------------------------------------------------------- |
//! | `resource start ID`        | meta `target-role` removed                                |
//! | `resource stop ID`         | meta `target-role=Stopped`                                |
//! | `resource move ID NODE`    | `cli-prefer-ID` (INFINITY on NODE), bans of ID removed    |
//! | `resource move ID`         | `cli-ban-ID-on-NODE` (-INFINITY where it runs)            |
//! | `resource unmove ID`       | every `cli-prefer-ID` / `cli-ban-ID-on-*` removed         |
//! | `resource cleanup`         | status only: fail counts and histories (then re-probed)   |
//! | `node standby/online NODE` | node attribute `standby=on` / removed                     |
//! | `node maintenance NODE`    | node attribute `maintenance=on` / removed                 |
//! | `configure load`           | the configuration replaced                                |
//! | `standby SCOPE` (on N)     | for each group of the scope: `cli-ban-G-on-N`, `cli-prefer-G` removed |
//! | `takeover SCOPE` (on N)    | for each group of the scope: `cli-prefer-G` on N, bans of G removed   |
//!
//! The constraint ids are Pacemaker's (`crm_resource --move/--ban/--clear`), so the
//! same CIB works with its tools. Standby and takeover follow Pacemaker's move
//! semantics rather than heartbeat's one-shot request: the constraint stays until
//! `halo resource unmove` (or the opposite command) removes it — a group moved away
//! by `standby` does not come back on its own, even with `auto_failback on`.
//! A group's *preferred node* (heartbeat's local/foreign) is the node of its highest
//! positive location constraint that is not one of these `cli-` constraints (the
//! `haresources` importer writes one per line).

use halo_cib::model::{Constraint, Location, Node, NvPair, NvSet, Primitive, Resource, Score};
use halo_cib::{Cib, Configuration, INFINITY};
use halo_types::NodeName;

use crate::status;
use crate::types::{ClientRequest, Scope};

/// What a request does to the CIB.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Nothing: the CIB already says what was asked.
    Nothing(String),
    /// A new configuration, to validate and commit.
    Config {
        /// The changed configuration.
        configuration: Box<Configuration>,
        /// `admin_epoch` asked for (a loaded CIB may raise it).
        admin_epoch: u64,
        /// What it is, for logs and the reply.
        what: String,
    },
    /// Forget failures and histories (status only).
    Cleanup {
        /// The primitives (`None`: all).
        resources: Option<Vec<String>>,
        /// The node (`None`: every node).
        node: Option<NodeName>,
    },
}

/// The edit for `req` asked on node `origin`, against `cib`.
pub fn edit(cib: &Cib, origin: &NodeName, req: &ClientRequest) -> Result<Edit, String> {
    let mut cfg = cib.configuration.clone();
    let what;
    match req {
        ClientRequest::ResourceStart { id } => {
            exists(cib, id)?;
            what = format!("start {id}");
            set_meta(&mut cfg, id, "target-role", None)?;
        }
        ClientRequest::ResourceStop { id } => {
            exists(cib, id)?;
            what = format!("stop {id}");
            set_meta(&mut cfg, id, "target-role", Some("Stopped"))?;
        }
        ClientRequest::ResourceRestart { id } => {
            exists(cib, id)?;
            // The engine runs a restart in two commits (see `restart_begin`).
            return Err(format!("restart of {id} is not a single edit"));
        }
        ClientRequest::ResourceMove { id, node } => {
            exists(cib, id)?;
            match node {
                Some(n) => {
                    configured_node(cib, n)?;
                    what = format!("move {id} to {n}");
                    remove_constraints(&mut cfg, |c| is_ban_of(c, id));
                    put_location(&mut cfg, &format!("cli-prefer-{id}"), id, n, INFINITY);
                }
                None => {
                    let nodes = status::active_nodes(cib, id);
                    let n = match nodes.as_slice() {
                        [] => return Err(format!("{id} is not running anywhere: name a node")),
                        [n] => n.clone(),
                        _ => {
                            return Err(format!(
                                "{id} is active on several nodes: name a node to move it to"
                            ));
                        }
                    };
                    what = format!("move {id} away from {n}");
                    remove_constraints(&mut cfg, |c| c == format!("cli-prefer-{id}"));
                    put_location(&mut cfg, &format!("cli-ban-{id}-on-{n}"), id, &n, -INFINITY);
                }
            }
        }
        ClientRequest::ResourceUnmove { id } => {
            exists(cib, id)?;
            what = format!("unmove {id}");
            remove_constraints(&mut cfg, |c| {
                c == format!("cli-prefer-{id}") || is_ban_of(c, id)
            });
        }
        ClientRequest::ResourceCleanup { id, node } => {
            let resources = match id {
                Some(id) => {
                    exists(cib, id)?;
                    Some(status::primitives_of(cib, id))
                }
                None => None,
            };
            if let Some(n) = node {
                configured_node(cib, n)?;
            }
            return Ok(Edit::Cleanup {
                resources,
                node: node.clone(),
            });
        }
        ClientRequest::NodeStandby { node } => {
            what = format!("standby {node}");
            set_node_attr(&mut cfg, cib, node, "standby", Some("on"))?;
        }
        ClientRequest::NodeOnline { node } => {
            what = format!("online {node}");
            set_node_attr(&mut cfg, cib, node, "standby", None)?;
        }
        ClientRequest::NodeMaintenance { node, on } => {
            what = format!("maintenance {} {node}", if *on { "on" } else { "off" });
            set_node_attr(&mut cfg, cib, node, "maintenance", on.then_some("on"))?;
        }
        ClientRequest::ConfigureLoad { cib_xml } => {
            let loaded =
                Cib::from_xml(cib_xml).map_err(|e| format!("the CIB is not valid: {e}"))?;
            let mut c = loaded.configuration;
            for n in &cib.configuration.nodes {
                if !c.nodes.iter().any(|x| x.uname == n.uname) {
                    c.nodes.push(Node::new(&n.id, &n.uname));
                }
            }
            apply_defaults(&mut c);
            let admin_epoch = loaded.version.admin_epoch.max(cib.version.admin_epoch);
            if c == cib.configuration && admin_epoch == cib.version.admin_epoch {
                return Ok(Edit::Nothing("the configuration is unchanged".into()));
            }
            return Ok(Edit::Config {
                configuration: Box::new(c),
                admin_epoch,
                what: "configuration loaded".into(),
            });
        }
        ClientRequest::Standby { scope } | ClientRequest::Takeover { scope } => {
            let standby = matches!(req, ClientRequest::Standby { .. });
            let groups = groups_in_scope(cib, origin, *scope);
            if groups.is_empty() {
                return Ok(Edit::Nothing(format!("no {} resources", scope.as_str())));
            }
            what = format!(
                "{} {} on {origin}: {}",
                if standby { "standby" } else { "takeover" },
                scope.as_str(),
                groups.join(" ")
            );
            for g in &groups {
                if standby {
                    remove_constraints(&mut cfg, |c| c == format!("cli-prefer-{g}"));
                    put_location(
                        &mut cfg,
                        &format!("cli-ban-{g}-on-{origin}"),
                        g,
                        origin,
                        -INFINITY,
                    );
                } else {
                    remove_constraints(&mut cfg, |c| is_ban_of(c, g));
                    put_location(&mut cfg, &format!("cli-prefer-{g}"), g, origin, INFINITY);
                }
            }
        }
    }
    if cfg == cib.configuration {
        return Ok(Edit::Nothing(format!("{what}: nothing to change")));
    }
    Ok(Edit::Config {
        configuration: Box::new(cfg),
        admin_epoch: cib.version.admin_epoch,
        what,
    })
}

/// The configuration of a restart's first step (`target-role=Stopped`, with the role
/// to restore kept in the meta attribute [`RESTART_META`]).
pub fn restart_begin(cib: &Cib, id: &str) -> Result<Option<Configuration>, String> {
    exists(cib, id)?;
    let mut cfg = cib.configuration.clone();
    if meta_of(&cfg, id)?.is_some_and(|m| get_meta(m, RESTART_META).is_some()) {
        return Ok(None);
    }
    let old = meta_of(&cfg, id)?
        .and_then(|m| get_meta(m, "target-role"))
        .unwrap_or(RESTART_DEFAULT)
        .to_string();
    set_meta(&mut cfg, id, RESTART_META, Some(&old))?;
    set_meta(&mut cfg, id, "target-role", Some("Stopped"))?;
    Ok(Some(cfg))
}

/// The configuration of a restart's second step: the old `target-role` back.
pub fn restart_finish(cib: &Cib, id: &str) -> Result<Configuration, String> {
    let mut cfg = cib.configuration.clone();
    let old = meta_of(&cfg, id)?
        .and_then(|m| get_meta(m, RESTART_META))
        .map(str::to_string);
    let restore = match old.as_deref() {
        None | Some(RESTART_DEFAULT) => None,
        Some(r) => Some(r),
    };
    set_meta(&mut cfg, id, "target-role", restore)?;
    set_meta(&mut cfg, id, RESTART_META, None)?;
    Ok(cfg)
}

/// Resources with an unfinished restart (their [`RESTART_META`] is set).
pub fn restarts_pending(cib: &Cib) -> Vec<String> {
    let mut out = Vec::new();
    for r in &cib.configuration.resources {
        each_meta(r, &mut |id, meta| {
            if get_meta(meta, RESTART_META).is_some() {
                out.push(id.to_string());
            }
        });
    }
    out
}

/// The meta attribute that marks a restart in progress: it holds the `target-role` to
/// restore (`default`: none). Kept in the CIB, so a new DC finishes a restart its
/// predecessor began.
pub const RESTART_META: &str = "halo-restart-restore";
const RESTART_DEFAULT: &str = "default";

/// Cluster defaults halo writes when a configuration does not say:
/// `fencing-enabled=false` (until fencing lands) and `no-quorum-policy=stop`.
pub fn apply_defaults(cfg: &mut Configuration) {
    let has = |cfg: &Configuration, name: &str| {
        cfg.crm_config
            .iter()
            .any(|s| s.pairs.iter().any(|p| p.name.as_deref() == Some(name)))
    };
    let mut add = Vec::new();
    if !has(cfg, "fencing-enabled") && !has(cfg, "stonith-enabled") {
        add.push(NvPair::new(
            "cib-bootstrap-options-fencing-enabled",
            "fencing-enabled",
            "false",
        ));
    }
    if !has(cfg, "no-quorum-policy") {
        add.push(NvPair::new(
            "cib-bootstrap-options-no-quorum-policy",
            "no-quorum-policy",
            "stop",
        ));
    }
    if add.is_empty() {
        return;
    }
    match cfg
        .crm_config
        .iter_mut()
        .find(|s| s.id.as_deref() == Some("cib-bootstrap-options"))
    {
        Some(s) => s.pairs.extend(add),
        None => cfg
            .crm_config
            .insert(0, NvSet::new("cib-bootstrap-options", add)),
    }
}

/// Whether fencing is enabled in a configuration (Pacemaker's default is on).
pub fn fencing_enabled(cib: &Cib) -> bool {
    status::cluster_option(cib, "fencing-enabled")
        .or_else(|| status::cluster_option(cib, "stonith-enabled"))
        .and_then(status::truthy)
        .unwrap_or(true)
}

fn exists(cib: &Cib, id: &str) -> Result<(), String> {
    if status::resource_exists(cib, id) {
        Ok(())
    } else {
        Err(format!("no resource '{id}'"))
    }
}

fn configured_node(cib: &Cib, n: &NodeName) -> Result<(), String> {
    if cib
        .configuration
        .nodes
        .iter()
        .any(|x| x.uname == n.as_str())
    {
        Ok(())
    } else {
        Err(format!("no node '{n}' in the configuration"))
    }
}

fn is_ban_of(constraint_id: &str, rsc: &str) -> bool {
    constraint_id.starts_with(&format!("cli-ban-{rsc}-on-"))
}

fn remove_constraints(cfg: &mut Configuration, drop: impl Fn(&str) -> bool) {
    cfg.constraints.retain(|c| !drop(c.id()));
}

fn put_location(cfg: &mut Configuration, id: &str, rsc: &str, node: &NodeName, score: i32) {
    let loc = Constraint::Location(Location {
        id: id.to_string(),
        rsc: Some(rsc.to_string()),
        node: Some(node.to_string()),
        score: Some(Score(score)),
        ..Location::default()
    });
    match cfg.constraints.iter_mut().find(|c| c.id() == id) {
        Some(c) => *c = loc,
        None => cfg.constraints.push(loc),
    }
}

fn set_node_attr(
    cfg: &mut Configuration,
    cib: &Cib,
    node: &NodeName,
    name: &str,
    value: Option<&str>,
) -> Result<(), String> {
    configured_node(cib, node)?;
    let Some(n) = cfg.nodes.iter_mut().find(|x| x.uname == node.as_str()) else {
        return Err(format!("no node '{node}' in the configuration"));
    };
    set_in_sets(&mut n.attributes, &format!("nodes-{}", n.id), name, value);
    Ok(())
}

/// Sets or removes `name` in the first unconditional set (creating `set_id`).
fn set_in_sets(sets: &mut Vec<NvSet>, set_id: &str, name: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            for s in sets.iter_mut().filter(|s| s.rule.is_none()) {
                if let Some(p) = s.pairs.iter_mut().find(|p| p.name.as_deref() == Some(name)) {
                    p.value = Some(v.to_string());
                    return;
                }
            }
            let pair = NvPair::new(&format!("{set_id}-{name}"), name, v);
            match sets
                .iter_mut()
                .find(|s| s.rule.is_none() && s.id_ref.is_none())
            {
                Some(s) => s.pairs.push(pair),
                None => sets.push(NvSet::new(set_id, vec![pair])),
            }
        }
        None => {
            for s in sets.iter_mut().filter(|s| s.rule.is_none()) {
                s.pairs.retain(|p| p.name.as_deref() != Some(name));
            }
            sets.retain(|s| !(s.pairs.is_empty() && s.rule.is_none() && s.id_ref.is_none()));
        }
    }
}

fn get_meta<'c>(sets: &'c [NvSet], name: &str) -> Option<&'c str> {
    sets.iter()
        .filter(|s| s.rule.is_none())
        .find_map(|s| s.get(name))
}

fn prim_meta_mut<'c>(p: &'c mut Primitive, id: &str) -> Option<&'c mut Vec<NvSet>> {
    (p.id == id).then_some(&mut p.meta)
}

/// The meta-attribute sets of resource `id` at any level.
fn meta_mut<'c>(cfg: &'c mut Configuration, id: &str) -> Option<&'c mut Vec<NvSet>> {
    for r in &mut cfg.resources {
        let found = match r {
            Resource::Primitive(p) => prim_meta_mut(p, id),
            Resource::Group(g) => {
                if g.id == id {
                    Some(&mut g.meta)
                } else {
                    g.members.iter_mut().find_map(|m| prim_meta_mut(m, id))
                }
            }
            Resource::Clone(c) => {
                if c.id == id {
                    Some(&mut c.meta)
                } else {
                    match &mut c.child {
                        halo_cib::model::CloneChild::Primitive(p) => prim_meta_mut(p, id),
                        halo_cib::model::CloneChild::Group(g) => {
                            if g.id == id {
                                Some(&mut g.meta)
                            } else {
                                g.members.iter_mut().find_map(|m| prim_meta_mut(m, id))
                            }
                        }
                    }
                }
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn meta_of<'c>(cfg: &'c Configuration, id: &str) -> Result<Option<&'c [NvSet]>, String> {
    let mut out = None;
    for r in &cfg.resources {
        each_meta(r, &mut |rid, meta| {
            if rid == id && out.is_none() {
                out = Some(meta);
            }
        });
    }
    Ok(out)
}

fn each_meta<'c>(r: &'c Resource, f: &mut dyn FnMut(&'c str, &'c [NvSet])) {
    match r {
        Resource::Primitive(p) => f(&p.id, &p.meta),
        Resource::Group(g) => {
            f(&g.id, &g.meta);
            for m in &g.members {
                f(&m.id, &m.meta);
            }
        }
        Resource::Clone(c) => {
            f(&c.id, &c.meta);
            match &c.child {
                halo_cib::model::CloneChild::Primitive(p) => f(&p.id, &p.meta),
                halo_cib::model::CloneChild::Group(g) => {
                    f(&g.id, &g.meta);
                    for m in &g.members {
                        f(&m.id, &m.meta);
                    }
                }
            }
        }
    }
}

fn set_meta(
    cfg: &mut Configuration,
    id: &str,
    name: &str,
    value: Option<&str>,
) -> Result<(), String> {
    let sets = meta_mut(cfg, id).ok_or_else(|| format!("no resource '{id}'"))?;
    set_in_sets(sets, &format!("{id}-meta_attributes"), name, value);
    Ok(())
}

/// The preferred node of a top-level resource: its highest positive location
/// constraint on a node, `cli-` constraints aside.
pub fn preferred_node(cib: &Cib, id: &str) -> Option<String> {
    cib.configuration
        .constraints
        .iter()
        .filter_map(|c| match c {
            Constraint::Location(l)
                if l.rsc.as_deref() == Some(id) && !l.id.starts_with("cli-") =>
            {
                Some((l.score?.0, l.node.clone()?))
            }
            _ => None,
        })
        .filter(|(s, _)| *s > 0)
        .max_by_key(|(s, _)| *s)
        .map(|(_, n)| n)
}

/// Top-level resources of a scope relative to `origin`.
pub fn groups_in_scope(cib: &Cib, origin: &NodeName, scope: Scope) -> Vec<String> {
    cib.configuration
        .resources
        .iter()
        .filter(|r| !matches!(r, Resource::Clone(_)))
        .map(Resource::id)
        .filter(|id| {
            let local = preferred_node(cib, id).as_deref() == Some(origin.as_str());
            match scope {
                Scope::All => true,
                Scope::Local => local,
                Scope::Foreign => !local,
            }
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo_cib::model::Group;

    fn n(s: &str) -> NodeName {
        NodeName::new(s).expect("name")
    }

    fn cib() -> Cib {
        let mut cib = Cib::default();
        let c = &mut cib.configuration;
        c.nodes = vec![Node::new("a", "a"), Node::new("b", "b")];
        c.resources.push(Resource::Group(Group {
            id: "web".into(),
            members: vec![
                Primitive::new("ip", "ocf", Some("heartbeat"), "IPaddr2"),
                Primitive::new("httpd", "lsb", None, "httpd"),
            ],
            ..Group::default()
        }));
        c.resources.push(Resource::Primitive(Primitive::new(
            "db",
            "ocf",
            Some("heartbeat"),
            "pgsql",
        )));
        put_location(c, "location_web", "web", &n("a"), 100);
        put_location(c, "location_db", "db", &n("b"), 100);
        cib
    }

    fn config(e: Edit) -> Configuration {
        match e {
            Edit::Config { configuration, .. } => *configuration,
            other => panic!("expected a configuration edit, got {other:?}"),
        }
    }

    fn ids(c: &Configuration) -> Vec<String> {
        c.constraints.iter().map(|c| c.id().to_string()).collect()
    }

    #[test]
    fn stop_and_start_set_and_clear_target_role() {
        let cib = cib();
        let c = config(
            edit(
                &cib,
                &n("a"),
                &ClientRequest::ResourceStop { id: "httpd".into() },
            )
            .expect("ok"),
        );
        assert_eq!(
            meta_of(&c, "httpd")
                .expect("ok")
                .and_then(|m| get_meta(m, "target-role")),
            Some("Stopped")
        );
        let mut stopped = cib.clone();
        stopped.configuration = c;
        let c2 = config(
            edit(
                &stopped,
                &n("a"),
                &ClientRequest::ResourceStart { id: "httpd".into() },
            )
            .expect("ok"),
        );
        assert_eq!(c2, cib.configuration, "the meta set is removed again");
        assert!(matches!(
            edit(
                &cib,
                &n("a"),
                &ClientRequest::ResourceStart { id: "httpd".into() }
            ),
            Ok(Edit::Nothing(_))
        ));
        assert_eq!(
            edit(
                &cib,
                &n("a"),
                &ClientRequest::ResourceStop { id: "nope".into() }
            ),
            Err("no resource 'nope'".into())
        );
    }

    #[test]
    fn move_prefers_unmove_clears() {
        let cib = cib();
        let req = ClientRequest::ResourceMove {
            id: "web".into(),
            node: Some(n("b")),
        };
        let mut moved = cib.clone();
        moved.configuration = config(edit(&cib, &n("a"), &req).expect("ok"));
        assert_eq!(
            ids(&moved.configuration),
            ["location_web", "location_db", "cli-prefer-web"]
        );
        let un = config(
            edit(
                &moved,
                &n("a"),
                &ClientRequest::ResourceUnmove { id: "web".into() },
            )
            .expect("ok"),
        );
        assert_eq!(un, cib.configuration);
        let bad = ClientRequest::ResourceMove {
            id: "web".into(),
            node: Some(n("zz")),
        };
        assert_eq!(
            edit(&cib, &n("a"), &bad),
            Err("no node 'zz' in the configuration".into())
        );
        let away = ClientRequest::ResourceMove {
            id: "web".into(),
            node: None,
        };
        assert!(
            edit(&cib, &n("a"), &away)
                .expect_err("not running")
                .contains("not running")
        );
    }

    #[test]
    fn standby_and_takeover_use_the_preferred_node() {
        let cib = cib();
        assert_eq!(groups_in_scope(&cib, &n("a"), Scope::Local), ["web"]);
        assert_eq!(groups_in_scope(&cib, &n("a"), Scope::Foreign), ["db"]);
        assert_eq!(groups_in_scope(&cib, &n("a"), Scope::All), ["web", "db"]);
        let c = config(
            edit(
                &cib,
                &n("a"),
                &ClientRequest::Standby {
                    scope: Scope::Local,
                },
            )
            .expect("ok"),
        );
        assert_eq!(ids(&c), ["location_web", "location_db", "cli-ban-web-on-a"]);
        let mut st = cib.clone();
        st.configuration = c;
        let c =
            config(edit(&st, &n("a"), &ClientRequest::Takeover { scope: Scope::All }).expect("ok"));
        assert_eq!(
            ids(&c),
            [
                "location_web",
                "location_db",
                "cli-prefer-web",
                "cli-prefer-db"
            ]
        );
    }

    #[test]
    fn node_attributes() {
        let cib = cib();
        let c =
            config(edit(&cib, &n("a"), &ClientRequest::NodeStandby { node: n("b") }).expect("ok"));
        assert_eq!(c.nodes[1].attributes[0].get("standby"), Some("on"));
        let mut st = cib.clone();
        st.configuration = c;
        let c =
            config(edit(&st, &n("a"), &ClientRequest::NodeOnline { node: n("b") }).expect("ok"));
        assert_eq!(c, cib.configuration);
    }

    #[test]
    fn restart_marks_and_restores() {
        let cib = cib();
        let mut c = cib.clone();
        c.configuration = restart_begin(&cib, "db").expect("ok").expect("marked");
        assert_eq!(restarts_pending(&c), ["db"]);
        assert_eq!(
            restart_begin(&c, "db"),
            Ok(None),
            "a second request joins the first"
        );
        let back = restart_finish(&c, "db").expect("ok");
        assert_eq!(back, cib.configuration);
    }

    #[test]
    fn defaults_are_written_once() {
        let mut c = Configuration::default();
        apply_defaults(&mut c);
        assert_eq!(c.crm_config[0].get("fencing-enabled"), Some("false"));
        assert_eq!(c.crm_config[0].get("no-quorum-policy"), Some("stop"));
        let before = c.clone();
        apply_defaults(&mut c);
        assert_eq!(c, before);
        let mut cib = Cib::default();
        assert!(fencing_enabled(&cib));
        cib.configuration = c;
        assert!(!fencing_enabled(&cib));
    }
}
