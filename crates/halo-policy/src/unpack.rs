//! Stage 1: unpack the configuration — cluster options, nodes and resources.
//!
//! Mirrors Pacemaker's `unpack_config`, `unpack_nodes` and `unpack_resources`:
//! options are read from the `cluster_property_set`s (with `cib-bootstrap-options`
//! first and legacy option names accepted), nodes are kept sorted by name, and
//! each resource gets its meta-attributes from (in decreasing precedence) its own
//! XML attributes and `meta_attributes`, its ancestors' `meta_attributes`,
//! `rsc_defaults`, and its parent's computed meta-attributes.

use std::collections::BTreeMap;

use halo_cib::model::{CloneChild, INFINITY, NvSet, Primitive, Resource, Score};

use crate::nvsets::{Refs, RuleInput, unpack_into_btree, unpack_into_map};
use crate::sched::*;
use crate::util::{is_true, numeric_strcasecmp, parse_bool, parse_interval, scan_ll};

/// Value kinds of cluster options, for validation.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Duration,
    Score,
    Int,
    Str,
    Select(&'static [&'static str]),
}

/// The cluster options the scheduler reads: name, legacy name, default, kind.
const OPTIONS: &[(&str, Option<&str>, Option<&str>, Kind)] = &[
    ("cluster-name", None, None, Kind::Str),
    (
        "no-quorum-policy",
        None,
        Some("stop"),
        Kind::Select(&["stop", "freeze", "ignore", "demote", "fence", "suicide"]),
    ),
    ("shutdown-lock", None, Some("false"), Kind::Bool),
    ("shutdown-lock-limit", None, Some("0"), Kind::Duration),
    ("symmetric-cluster", None, Some("true"), Kind::Bool),
    ("maintenance-mode", None, Some("false"), Kind::Bool),
    ("start-failure-is-fatal", None, Some("true"), Kind::Bool),
    ("enable-startup-probes", None, Some("true"), Kind::Bool),
    (
        "fence-remote-without-quorum",
        None,
        Some("false"),
        Kind::Bool,
    ),
    (
        "fencing-enabled",
        Some("stonith-enabled"),
        Some("true"),
        Kind::Bool,
    ),
    (
        "fencing-action",
        Some("stonith-action"),
        Some("reboot"),
        Kind::Select(&["reboot", "off", "poweroff"]),
    ),
    (
        "fencing-timeout",
        Some("stonith-timeout"),
        Some("60s"),
        Kind::Duration,
    ),
    ("have-watchdog", None, Some("false"), Kind::Bool),
    ("concurrent-fencing", None, Some("true"), Kind::Bool),
    ("startup-fencing", None, Some("true"), Kind::Bool),
    ("priority-fencing-delay", None, Some("0"), Kind::Duration),
    ("node-pending-timeout", None, Some("0"), Kind::Duration),
    ("stop-all-resources", None, Some("false"), Kind::Bool),
    (
        "stop-removed-resources",
        Some("stop-orphan-resources"),
        Some("true"),
        Kind::Bool,
    ),
    (
        "cancel-removed-actions",
        Some("stop-orphan-actions"),
        Some("true"),
        Kind::Bool,
    ),
    (
        "node-health-strategy",
        None,
        Some("none"),
        Kind::Select(&[
            "none",
            "migrate-on-red",
            "only-green",
            "progressive",
            "custom",
        ]),
    ),
    ("node-health-base", None, Some("0"), Kind::Score),
    ("node-health-green", None, Some("0"), Kind::Score),
    ("node-health-yellow", None, Some("0"), Kind::Score),
    ("node-health-red", None, Some("-INFINITY"), Kind::Score),
    (
        "placement-strategy",
        None,
        Some("default"),
        Kind::Select(&["default", "utilization", "minimal", "balanced"]),
    ),
    ("migration-limit", None, Some("-1"), Kind::Int),
];

fn valid(kind: Kind, v: &str) -> bool {
    match kind {
        Kind::Bool => parse_bool(v).is_some(),
        Kind::Duration => crate::util::parse_ms(v).is_some() || v.starts_with('P'),
        Kind::Score => Score::parse_with_colors(v, 0, 0, 0).is_some(),
        Kind::Int => scan_ll(v).is_some(),
        Kind::Str => true,
        Kind::Select(list) => list.iter().any(|s| s.eq_ignore_ascii_case(v)),
    }
}

/// `pcmk_parse_score` with a default for unset or invalid values.
pub fn parse_score(s: Option<&str>, default: i32) -> i32 {
    s.and_then(Score::parse).map_or(default, |s| s.0)
}

/// Agent classes able to run as unique or promotable clones.
fn class_caps(class: &str) -> (bool, bool) {
    match class.to_ascii_lowercase().as_str() {
        "ocf" => (true, true),
        "stonith" => (true, false),
        _ => (false, false),
    }
}

impl<'a> Scheduler<'a> {
    /// The effective value of a cluster option (current name, then legacy name,
    /// then default; invalid values fall back to the default).
    pub fn option(&self, name: &str) -> Option<&str> {
        let (_, alias, default, kind) = OPTIONS.iter().find(|o| o.0 == name)?;
        let v = self
            .options
            .get(name)
            .or_else(|| alias.and_then(|a| self.options.get(a)))
            .map(String::as_str);
        match v {
            Some(v) if valid(*kind, v) => Some(v),
            _ => *default,
        }
    }

    fn option_flag(&mut self, name: &str, flag: u64) {
        if is_true(self.option(name)) {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// `unpack_config`.
    pub fn unpack_config(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        let mut opts = HashMap::default();
        unpack_into_map(
            refs,
            &cib.configuration.crm_config,
            &RuleInput::default(),
            &mut opts,
            Some("cib-bootstrap-options"),
        );
        self.options = opts;
        for (name, _, _, kind) in OPTIONS {
            if let Some(v) = self.options.get(*name)
                && !valid(*kind, v)
            {
                let text = format!(
                    "Using default value for cluster option '{name}' because '{v}' is invalid"
                );
                self.err(text);
            }
        }
        self.option_flag("enable-startup-probes", sf::PROBE_RESOURCES);
        if is_true(self.option("have-watchdog")) {
            self.flags |= sf::HAVE_FENCING;
        }
        if self.unfencing_configured() {
            self.flags |= sf::ENABLE_UNFENCING;
        }
        self.option_flag("fencing-enabled", sf::FENCING_ENABLED);
        self.fence_action = self
            .option("fencing-action")
            .unwrap_or("reboot")
            .to_string();
        self.option_flag("concurrent-fencing", sf::CONCURRENT_FENCING);
        self.priority_fencing_ms = parse_interval(self.option("priority-fencing-delay"));
        self.option_flag("stop-all-resources", sf::STOP_ALL);
        self.option_flag("symmetric-cluster", sf::SYMMETRIC);
        let nqp = self
            .option("no-quorum-policy")
            .unwrap_or("stop")
            .to_ascii_lowercase();
        self.no_quorum_policy = match nqp.as_str() {
            "ignore" => NoQuorumPolicy::Ignore,
            "freeze" => NoQuorumPolicy::Freeze,
            "demote" => NoQuorumPolicy::Demote,
            "fence" | "suicide" => {
                if self.is(sf::FENCING_ENABLED) {
                    if self.cib.no_quorum_panic == Some(true) || self.is(sf::QUORATE) {
                        NoQuorumPolicy::Fence
                    } else {
                        NoQuorumPolicy::Stop
                    }
                } else {
                    self.err(
                        "Resetting no-quorum-policy to 'stop' because fencing is disabled".into(),
                    );
                    NoQuorumPolicy::Stop
                }
            }
            _ => NoQuorumPolicy::Stop,
        };
        self.option_flag("stop-removed-resources", sf::STOP_REMOVED_RESOURCES);
        self.option_flag("cancel-removed-actions", sf::CANCEL_REMOVED_ACTIONS);
        self.option_flag("maintenance-mode", sf::IN_MAINTENANCE);
        self.option_flag("start-failure-is-fatal", sf::START_FAILURE_FATAL);
        if self.is(sf::FENCING_ENABLED) {
            self.option_flag("startup-fencing", sf::STARTUP_FENCING);
        }
        self.placement_strategy = self
            .option("placement-strategy")
            .unwrap_or("default")
            .to_ascii_lowercase();
        self.option_flag("shutdown-lock", sf::SHUTDOWN_LOCK);
        if self.is(sf::SHUTDOWN_LOCK) {
            self.shutdown_lock_ms = parse_interval(self.option("shutdown-lock-limit"));
        }
        self.node_pending_ms = parse_interval(self.option("node-pending-timeout"));
        self.option_flag("fence-remote-without-quorum", sf::FENCE_REMOTE_NO_QUORUM);
    }

    /// Whether any resource's (or the defaults') meta-attributes mention
    /// `provides=unfencing` or `requires=unfencing`.
    fn unfencing_configured(&self) -> bool {
        let is_unfencing = |sets: &[NvSet]| {
            sets.iter().any(|s| {
                s.pairs.iter().any(|p| {
                    matches!(p.name.as_deref(), Some("provides" | "requires"))
                        && p.value.as_deref() == Some("unfencing")
                })
            })
        };
        let c = &self.cib.configuration;
        if c.rsc_defaults.as_deref().is_some_and(is_unfencing) {
            return true;
        }
        let prim = |p: &Primitive| is_unfencing(&p.meta);
        c.resources.iter().any(|r| match r {
            Resource::Primitive(p) => prim(p),
            Resource::Group(g) => is_unfencing(&g.meta) || g.members.iter().any(prim),
            Resource::Clone(cl) => {
                is_unfencing(&cl.meta)
                    || match &cl.child {
                        CloneChild::Primitive(p) => prim(p),
                        CloneChild::Group(g) => is_unfencing(&g.meta) || g.members.iter().any(prim),
                    }
            }
        })
    }

    /// Health scores for the colours red, yellow, green.
    pub fn health_colors(&self, strategy: &str) -> (i32, i32, i32) {
        match strategy {
            "none" => (0, 0, 0),
            "migrate-on-red" => (-INFINITY, 0, 0),
            "only-green" => (-INFINITY, -INFINITY, 0),
            _ => {
                let get = |n: &str| {
                    self.option(n)
                        .and_then(|v| Score::parse_with_colors(v, 0, 0, 0))
                        .map_or(0, |s| s.0)
                };
                (
                    get("node-health-red"),
                    get("node-health-yellow"),
                    get("node-health-green"),
                )
            }
        }
    }

    /// `unpack_nodes`.
    pub fn unpack_nodes(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        let mut list: Vec<Node> = Vec::new();
        let mut cfg_sets: Vec<(&'a [NvSet], &'a [NvSet])> = Vec::new();
        for n in &cib.configuration.nodes {
            let score = match &n.score {
                Some(s) => s.0,
                None => 0,
            };
            if matches!(n.node_type.as_deref(), Some("remote")) {
                self.err(format!(
                    "node {} is a Pacemaker Remote node, which halo does not support",
                    n.uname
                ));
                continue;
            }
            if matches!(n.node_type.as_deref(), Some("ping")) {
                self.err(format!(
                    "Ignoring node {} with unrecognized type 'ping'",
                    n.uname
                ));
                continue;
            }
            if list.iter().any(|x| x.name.eq_ignore_ascii_case(&n.uname)) {
                self.warn(format!("More than one node entry has name '{}'", n.uname));
            }
            let mut node = Node::new(&n.id, &n.uname, score);
            node.unclean = self.is(sf::STARTUP_FENCING);
            let item = (node, (n.attributes.as_slice(), n.utilization.as_slice()));
            let pos = list
                .iter()
                .position(|e| {
                    numeric_strcasecmp(&item.0.name, &e.name) != std::cmp::Ordering::Greater
                })
                .unwrap_or(list.len());
            list.insert(pos, item.0);
            cfg_sets.insert(pos, item.1);
        }
        self.nodes = list;
        self.node_by_name = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.to_ascii_lowercase(), i))
            .collect();
        for (i, (attrs, util)) in cfg_sets.into_iter().enumerate() {
            self.add_node_attrs(refs, i, attrs, util, false);
        }
    }

    /// `add_node_attrs`: built-in attributes, then the sets (which overwrite
    /// existing values when `overwrite`, as transient attributes do).
    pub fn add_node_attrs(
        &mut self,
        refs: &Refs<'a>,
        n: NodeId,
        attrs: &'a [NvSet],
        util: &'a [NvSet],
        overwrite: bool,
    ) {
        let dc_id = self.cib.dc_uuid.clone();
        let cluster_name = self.option("cluster-name").map(str::to_string);
        let node = &mut self.nodes[n];
        node.attrs.insert("#uname".into(), node.name.clone());
        node.attrs.insert("#id".into(), node.id.clone());
        if self.dc_node.is_none()
            && dc_id
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(&node.id))
        {
            self.dc_node = Some(n);
            node.attrs.insert("#is_dc".into(), "true".into());
        } else if self.dc_node != Some(n) {
            node.attrs.insert("#is_dc".into(), "false".into());
        }
        if let Some(c) = &cluster_name {
            node.attrs.insert("#cluster-name".into(), c.clone());
        }
        let input = RuleInput::default();
        if overwrite {
            let mut fresh = HashMap::default();
            unpack_into_map(refs, attrs, &input, &mut fresh, None);
            node.attrs.extend(fresh);
        } else {
            unpack_into_map(refs, attrs, &input, &mut node.attrs, None);
        }
        let mut u = std::mem::take(&mut node.utilization);
        unpack_into_btree(refs, util, &input, &mut u);
        node.utilization = u;
        if !node.attrs.contains_key("#site-name") {
            if let Some(s) = node.attrs.get("site-name").cloned() {
                node.attrs.insert("#site-name".into(), s);
            } else if let Some(c) = cluster_name {
                node.attrs.insert("#site-name".into(), c);
            }
        }
        node.index_failures();
    }

    /// `unpack_resources`: every configured resource, then sorted by priority.
    pub fn unpack_resources(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        for res in &cib.configuration.resources {
            let r = match res {
                Resource::Primitive(p) => self.unpack_primitive(refs, p, None, None),
                Resource::Group(g) => self.unpack_group(refs, g, None, None),
                Resource::Clone(c) => self.unpack_clone(refs, c),
            };
            if let Some(r) = r {
                self.top.push(r);
            }
        }
        let mut top = std::mem::take(&mut self.top);
        crate::util::glib_sort(&mut top, &mut |a, b| {
            self.rscs[*b].priority.cmp(&self.rscs[*a].priority)
        });
        self.top = top;
        if self.is(sf::FENCING_ENABLED) && !self.is(sf::HAVE_FENCING) {
            self.err(
                "Resource start-up disabled since no fencing resources have been defined. \
                 Either configure some or disable fencing with the fencing-enabled option."
                    .into(),
            );
        }
    }

    /// A new resource with defaults; the caller fills in the rest.
    #[allow(clippy::too_many_arguments)]
    fn new_rsc(
        &mut self,
        xml_id: &str,
        instance: Option<&str>,
        variant: Variant,
        parent: Option<RscId>,
        meta_sets: &'a [NvSet],
        instance_sets: &'a [NvSet],
        util_sets: &'a [NvSet],
    ) -> RscId {
        let id = match instance {
            Some(n) => format!("{xml_id}:{n}"),
            None => xml_id.to_string(),
        };
        let r = self.rscs.len();
        self.rscs.push(Rsc {
            id: id.clone(),
            xml_id: xml_id.to_string(),
            variant,
            parent,
            children: Vec::new(),
            class: String::new(),
            provider: None,
            agent: String::new(),
            ops: &[],
            meta_sets,
            instance_sets,
            util_sets,
            meta: HashMap::default(),
            utilization: BTreeMap::new(),
            flags: 0,
            orig_role: Role::Stopped,
            next_role: Role::Unknown,
            priority: 0,
            stickiness: 0,
            ban_after_failures: INFINITY,
            failure_expiration_ms: 0,
            multiply_active: MultiplyActive::Restart,
            allowed: vec![None; self.nodes.len()],
            probed: vec![false; self.nodes.len()],
            assigned_score: 0,
            pending_action: None,
            lock_node: None,
            lock_time: 0,
            promotion_priority: 0,
            notify: [None; 4],
            active_nodes: Vec::new(),
            assigned: None,
            actions: Vec::new(),
            this_with: Vec::new(),
            with_this: Vec::new(),
            history_id: None,
            pending_node: None,
            clone: None,
            group_ordered: true,
            group_colocated: true,
        });
        self.rsc_by_id.entry(id).or_insert(r);
        r
    }

    /// `get_meta_attributes`, given the element's own XML attributes.
    fn compute_meta(&mut self, refs: &Refs<'a>, r: RscId, xml_attrs: &[(&str, Option<&str>)]) {
        let mut meta: HashMap<String, String> = HashMap::default();
        for (n, v) in xml_attrs {
            if let Some(v) = v
                && !v.eq_ignore_ascii_case("#default")
            {
                meta.entry(n.to_string()).or_insert_with(|| v.to_string());
            }
        }
        let rsc = &self.rscs[r];
        let class = rsc.class.clone();
        let provider = rsc.provider.clone();
        let agent = rsc.agent.clone();
        let input = RuleInput {
            rsc_standard: Some(&class).filter(|s| !s.is_empty()).map(String::as_str),
            rsc_provider: provider.as_deref(),
            rsc_agent: Some(&agent).filter(|s| !s.is_empty()).map(String::as_str),
            ..RuleInput::default()
        };
        unpack_into_map(refs, rsc.meta_sets, &input, &mut meta, None);
        // Explicit meta_attributes of ancestors (nearest first).
        let mut parent_fixed: HashMap<String, String> = HashMap::default();
        let mut p = rsc.parent;
        while let Some(pr) = p {
            unpack_into_map(
                refs,
                self.rscs[pr].meta_sets,
                &input,
                &mut parent_fixed,
                None,
            );
            p = self.rscs[pr].parent;
        }
        for (k, v) in parent_fixed {
            if !v.eq_ignore_ascii_case("#default") {
                meta.entry(k).or_insert(v);
            }
        }
        unpack_into_map(refs, self.rsc_defaults, &input, &mut meta, None);
        if let Some(pr) = self.rscs[r].parent {
            for (k, v) in &self.rscs[pr].meta {
                if !v.eq_ignore_ascii_case("#default") {
                    meta.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        self.rscs[r].meta = meta;
    }

    /// The common part of `pe__unpack_resource` after meta-attributes are known.
    /// Returns `false` if the resource is invalid.
    fn unpack_common(&mut self, refs: &Refs<'a>, r: RscId) {
        let mut flags = rf::UNASSIGNED;
        if !self.is(sf::IN_MAINTENANCE) {
            flags |= rf::MANAGED;
        }
        let meta = self.rscs[r].meta.clone();
        let m = |k: &str| meta.get(k).cloned();
        let priority = parse_score(m("priority").as_deref(), 0);
        if m("critical").as_deref().is_none_or(|v| is_true(Some(v))) {
            flags |= rf::CRITICAL;
        }
        if is_true(m("notify").as_deref()) {
            flags |= rf::NOTIFY;
        }
        if is_true(m("allow-migrate").as_deref()) {
            flags |= rf::MIGRATABLE;
        }
        if let Some(v) = m("is-managed")
            && !v.eq_ignore_ascii_case("default")
        {
            if is_true(Some(&v)) {
                flags |= rf::MANAGED;
            } else {
                flags &= !rf::MANAGED;
            }
        }
        if is_true(m("maintenance").as_deref()) || self.is(sf::IN_MAINTENANCE) {
            flags &= !rf::MANAGED;
            flags |= rf::MAINTENANCE;
        }
        let top = self.top_of(r);
        if self.rscs[top].variant == Variant::Clone {
            let unique = match m("globally-unique") {
                Some(v) => is_true(Some(&v)),
                None => {
                    m("clone-node-max").is_some_and(|v| scan_ll(&v).is_some_and(|(n, _)| n > 1))
                }
            };
            if unique {
                flags |= rf::UNIQUE;
            }
            if is_true(m("promotable").as_deref()) {
                flags |= rf::PROMOTABLE;
            }
        } else {
            flags |= rf::UNIQUE;
        }
        let multiply = match m("multiple-active")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            Some("stop_only") => MultiplyActive::Stop,
            Some("block") => MultiplyActive::Block,
            Some("stop_unexpected") => MultiplyActive::Unexpected,
            _ => MultiplyActive::Restart,
        };
        let stickiness = match m("resource-stickiness") {
            Some(v) if v.eq_ignore_ascii_case("default") => 0,
            v => parse_score(v.as_deref(), 0),
        };
        let threshold = match m("migration-threshold") {
            Some(v) if v.eq_ignore_ascii_case("default") => INFINITY,
            None => INFINITY,
            Some(v) => match Score::parse(&v) {
                Some(s) if s.0 >= 0 => s.0,
                _ => INFINITY,
            },
        };
        if self.rscs[r].class.eq_ignore_ascii_case("stonith") {
            self.flags |= sf::HAVE_FENCING;
            flags |= rf::FENCE_DEVICE;
        }
        let failure_expiration = m("failure-timeout").map_or(0, |v| parse_interval(Some(&v)));
        {
            let rsc = &mut self.rscs[r];
            rsc.flags = flags;
            rsc.priority = priority;
            rsc.multiply_active = multiply;
            rsc.stickiness = stickiness;
            rsc.ban_after_failures = threshold;
            rsc.failure_expiration_ms = failure_expiration;
        }
        let requires = m("requires");
        self.unpack_requires(r, requires.as_deref(), false);
        if let Some(role) = self.target_role(r) {
            self.rscs[r].next_role = role;
        }
        let _ = refs;
    }

    /// `unpack_requires`.
    fn unpack_requires(&mut self, r: RscId, value: Option<&str>, is_default: bool) {
        let lower = value.map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("nothing") => {}
            Some("quorum") => self.set_rflag(r, rf::NEEDS_QUORUM),
            Some("fencing") => {
                self.set_rflag(r, rf::NEEDS_FENCING);
                if !self.is(sf::FENCING_ENABLED) {
                    let id = self.rscs[r].id.clone();
                    self.warn(format!("{id} requires fencing but fencing is disabled"));
                }
            }
            Some("unfencing") => {
                if self.rflag(r, rf::FENCE_DEVICE) || !self.is(sf::FENCING_ENABLED) {
                    self.unpack_requires(r, Some("quorum"), true);
                    return;
                }
                self.set_rflag(r, rf::NEEDS_FENCING | rf::NEEDS_UNFENCING);
            }
            _ => {
                let v = if self.rflag(r, rf::FENCE_DEVICE) {
                    "quorum"
                } else if self.is(sf::ENABLE_UNFENCING) {
                    "unfencing"
                } else if self.is(sf::FENCING_ENABLED) {
                    "fencing"
                } else if self.no_quorum_policy == NoQuorumPolicy::Ignore {
                    "nothing"
                } else {
                    "quorum"
                };
                if value.is_some() && !is_default {
                    let id = self.rscs[r].id.clone();
                    self.err(format!(
                        "Resetting 'requires' for {id} to '{v}' because '{}' is not valid",
                        value.unwrap_or("")
                    ));
                }
                self.unpack_requires(r, Some(v), true);
            }
        }
    }

    /// `get_target_role`: the role requested by `target-role`, if it changes
    /// anything.
    pub fn target_role(&mut self, r: RscId) -> Option<Role> {
        let value = self.rscs[r].meta.get("target-role").cloned()?;
        if value.eq_ignore_ascii_case("started") || value.eq_ignore_ascii_case("default") {
            return None;
        }
        let Some(role) = Role::parse(&value) else {
            let id = self.rscs[r].id.clone();
            self.err(format!(
                "Ignoring 'target-role' for {id} because '{value}' is not valid"
            ));
            return None;
        };
        if role > Role::Started {
            let top = self.top_of(r);
            if self.rflag(top, rf::PROMOTABLE) {
                if role > Role::Unpromoted {
                    return None;
                }
            } else {
                let id = self.rscs[r].id.clone();
                self.err(format!(
                    "Ignoring 'target-role' for {id} because '{value}' only makes sense for promotable clones"
                ));
                return None;
            }
        }
        Some(role)
    }

    /// Finishes a resource: symmetric default location and utilization.
    fn finish_rsc(&mut self, refs: &Refs<'a>, r: RscId) {
        if self.is(sf::SYMMETRIC) {
            self.resource_location(r, None, 0, "symmetric_default");
        }
        let rsc = &self.rscs[r];
        let class = rsc.class.clone();
        let provider = rsc.provider.clone();
        let agent = rsc.agent.clone();
        let input = RuleInput {
            rsc_standard: Some(class.as_str()).filter(|s| !s.is_empty()),
            rsc_provider: provider.as_deref(),
            rsc_agent: Some(agent.as_str()).filter(|s| !s.is_empty()),
            ..RuleInput::default()
        };
        let mut u = BTreeMap::new();
        unpack_into_btree(refs, rsc.util_sets, &input, &mut u);
        self.rscs[r].utilization = u;
    }

    /// Unpacks a primitive (possibly a group member or clone instance).
    pub fn unpack_primitive(
        &mut self,
        refs: &Refs<'a>,
        p: &'a Primitive,
        parent: Option<RscId>,
        instance: Option<&str>,
    ) -> Option<RscId> {
        let r = self.new_rsc(
            &p.id,
            instance,
            Variant::Primitive,
            parent,
            &p.meta,
            &p.instance,
            &p.utilization,
        );
        {
            let rsc = &mut self.rscs[r];
            rsc.class = p.class.clone();
            rsc.provider = p.provider.clone();
            rsc.agent = p.agent.clone();
            rsc.ops = refs.ops(p);
        }
        self.compute_meta(
            refs,
            r,
            &[
                ("id", Some(&p.id)),
                ("class", Some(&p.class)),
                ("provider", p.provider.as_deref()),
                ("type", Some(&p.agent)),
                ("description", p.description.as_deref()),
                ("clone", instance),
            ],
        );
        self.unpack_common(refs, r);
        // native_unpack: only some agent classes support unique/promotable clones.
        let top = self.top_of(r);
        let (cap_unique, cap_promotable) = class_caps(&p.class);
        if !cap_unique && self.rflag(r, rf::UNIQUE) && self.is_clone(top) {
            // pe__force_anon
            self.warn(format!(
                "Ignoring globally-unique for {} because {} resources such as {} can be used only as anonymous clones",
                self.rscs[top].id, p.class, self.rscs[r].id
            ));
            let n_nodes = i32::try_from(self.nodes.len()).unwrap_or(i32::MAX);
            if let Some(d) = self.rscs[top].clone.as_mut() {
                d.node_max = 1;
                d.max = d.max.min(n_nodes);
            }
            self.force_anonymous(top);
            self.clear_rflag(r, rf::UNIQUE);
            self.rscs[r]
                .meta
                .insert("globally-unique".into(), "false".into());
        }
        if !cap_promotable && self.rflag(top, rf::PROMOTABLE) {
            self.err(format!(
                "Resource {} is of type {} and therefore cannot be used as a promotable clone resource",
                self.rscs[r].id, p.class
            ));
            return None;
        }
        self.finish_rsc(refs, r);
        Some(r)
    }

    fn force_anonymous(&mut self, r: RscId) {
        self.clear_rflag(r, rf::UNIQUE);
        self.rscs[r]
            .meta
            .insert("globally-unique".into(), "false".into());
        for c in self.rscs[r].children.clone() {
            self.force_anonymous(c);
        }
    }

    /// Unpacks a group (possibly a clone instance).
    pub fn unpack_group(
        &mut self,
        refs: &Refs<'a>,
        g: &'a halo_cib::model::Group,
        parent: Option<RscId>,
        instance: Option<&str>,
    ) -> Option<RscId> {
        let r = self.new_rsc(
            &g.id,
            instance,
            Variant::Group,
            parent,
            &g.meta,
            &g.instance,
            &g.utilization,
        );
        self.compute_meta(
            refs,
            r,
            &[
                ("id", Some(&g.id)),
                ("description", g.description.as_deref()),
                ("clone", instance),
            ],
        );
        self.unpack_common(refs, r);
        let flag = |v: Option<&String>| v.is_none_or(|v| parse_bool(v) != Some(false));
        self.rscs[r].group_ordered = flag(self.rscs[r].meta.get("ordered"));
        self.rscs[r].group_colocated = flag(self.rscs[r].meta.get("collocated"));
        for m in &g.members {
            if let Some(c) = self.unpack_primitive(refs, m, Some(r), instance) {
                self.rscs[r].children.push(c);
            }
        }
        if self.rscs[r].children.is_empty() {
            self.err(format!("Group {} has no members", g.id));
            return None;
        }
        self.finish_rsc(refs, r);
        Some(r)
    }

    /// Unpacks a clone and creates its instances.
    pub fn unpack_clone(
        &mut self,
        refs: &Refs<'a>,
        c: &'a halo_cib::model::Clone,
    ) -> Option<RscId> {
        let r = self.new_rsc(&c.id, None, Variant::Clone, None, &c.meta, &c.instance, &[]);
        self.compute_meta(
            refs,
            r,
            &[
                ("id", Some(&c.id)),
                ("description", c.description.as_deref()),
            ],
        );
        self.unpack_common(refs, r);
        let meta_int = |s: &Self, name: &str, legacy: Option<&str>, default: i32| -> i32 {
            let v = s.rscs[r]
                .meta
                .get(name)
                .or_else(|| legacy.and_then(|l| s.rscs[r].meta.get(l)));
            match v {
                None => default,
                Some(v) => match scan_ll(v) {
                    Some((n, _)) => i32::try_from(n.max(0)).unwrap_or(i32::MAX),
                    None => 0,
                },
            }
        };
        let mut data = CloneData::default();
        if self.rflag(r, rf::PROMOTABLE) {
            data.promoted_max = meta_int(self, "promoted-max", Some("master-max"), 1);
            data.promoted_node_max =
                meta_int(self, "promoted-node-max", Some("master-node-max"), 1);
        }
        data.node_max = meta_int(self, "clone-node-max", None, 1);
        let n_nodes = i32::try_from(self.nodes.len().max(1)).unwrap_or(i32::MAX);
        data.max = meta_int(self, "clone-max", None, n_nodes);
        data.ordered = is_true(self.rscs[r].meta.get("ordered").map(String::as_str));
        if !self.rflag(r, rf::UNIQUE) && data.node_max > 1 {
            self.err(format!(
                "Ignoring clone-node-max of {} for {} because anonymous clones support only one instance per node",
                data.node_max, c.id
            ));
            data.node_max = 1;
        }
        self.rscs[r].clone = Some(data);
        self.rscs[r]
            .meta
            .entry("resource-stickiness".into())
            .or_insert_with(|| "1".into());
        let unique = if self.rflag(r, rf::UNIQUE) {
            "true"
        } else {
            "false"
        };
        self.rscs[r]
            .meta
            .insert("globally-unique".into(), unique.into());
        // clone-max may shrink while instances are created (pe__force_anon).
        let mut made = 0;
        while made < self.rscs[r].clone.as_ref().map_or(0, |d| d.max).max(1) {
            self.create_clone_instance(refs, r, &c.child)?;
            made += 1;
        }
        self.finish_rsc(refs, r);
        Some(r)
    }

    /// `pe__create_clone_child`: the next instance of a clone.
    pub fn create_clone_instance(
        &mut self,
        refs: &Refs<'a>,
        clone: RscId,
        child: &'a CloneChild,
    ) -> Option<RscId> {
        let data = self.rscs[clone].clone.clone().unwrap_or_default();
        let removed = data.total >= data.max;
        let num = data.total.to_string();
        let inst = match child {
            CloneChild::Primitive(p) => self.unpack_primitive(refs, p, Some(clone), Some(&num)),
            CloneChild::Group(g) => self.unpack_group(refs, g, Some(clone), Some(&num)),
        }?;
        if let Some(d) = self.rscs[clone].clone.as_mut() {
            d.total += 1;
        }
        self.rscs[clone].children.push(inst);
        if removed {
            self.set_flag_recursive(inst, rf::REMOVED);
        }
        self.rscs[inst]
            .meta
            .insert("clone-max".into(), data.max.to_string());
        Some(inst)
    }

    pub fn set_flag_recursive(&mut self, r: RscId, f: u64) {
        self.set_rflag(r, f);
        for c in self.rscs[r].children.clone() {
            self.set_flag_recursive(c, f);
        }
    }

    /// `create_fake_resource` + `process_removed_resource`: a resource found in
    /// the history but not in the configuration.
    pub fn create_removed_resource(
        &mut self,
        refs: &Refs<'a>,
        id: &str,
        class: Option<&str>,
        provider: Option<&str>,
        agent: Option<&str>,
    ) -> RscId {
        let r = self.new_rsc(id, None, Variant::Primitive, None, &[], &[], &[]);
        {
            let rsc = &mut self.rscs[r];
            rsc.class = class.unwrap_or("").to_string();
            rsc.provider = provider.map(str::to_string);
            rsc.agent = agent.unwrap_or("").to_string();
        }
        self.compute_meta(
            refs,
            r,
            &[
                ("id", Some(id)),
                ("class", class),
                ("provider", provider),
                ("type", agent),
            ],
        );
        self.unpack_common(refs, r);
        self.finish_rsc(refs, r);
        self.set_rflag(r, rf::REMOVED);
        self.top.push(r);
        if !self.is(sf::STOP_REMOVED_RESOURCES) {
            self.clear_rflag(r, rf::MANAGED);
        } else {
            self.resource_location(r, None, -INFINITY, "__removed_do_not_run__");
        }
        r
    }
}
