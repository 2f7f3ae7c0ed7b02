//! The cluster status as `crm_simulate` prints it before and after a
//! transition: the node list, then every resource with its role and node
//! (groups and clones nested, anonymous clone instances summarised per role).
//!
//! The status is taken from the CIB as unpacked (before any placement), so it
//! shows what runs now, not what will.

use crate::sched::*;

/// One line of the status, with its nesting depth (0 = section header).
type Out = Vec<String>;

fn item(out: &mut Out, depth: usize, text: &str) {
    out.push(format!("{}* {text}", "  ".repeat(depth + 1)));
}

impl<'a> Scheduler<'a> {
    /// The status lines (`cluster-status` with nodes and resources);
    /// `show_pending` marks resources with actions in flight (Starting,
    /// Monitoring, ...).
    pub fn status_lines(&self, show_pending: bool) -> Vec<String> {
        let mut out = Vec::new();
        self.node_list(&mut out);
        out.push(String::new());
        item(&mut out, 0, "Full List of Resources:");
        let before = out.len();
        for &r in &self.top {
            if self.rflag(r, rf::REMOVED) && !self.rsc_active(r, true) {
                continue;
            }
            self.rsc_status(r, 1, show_pending, &mut out);
        }
        if out.len() == before {
            item(&mut out, 1, "No resources");
        }
        out
    }

    /// `pe__node_health`: -1 red, 0 yellow, 1 green (or no strategy).
    fn node_health(&self, n: NodeId) -> i32 {
        let strategy = self
            .option("node-health-strategy")
            .unwrap_or("none")
            .to_ascii_lowercase();
        if strategy == "none" {
            return 1;
        }
        let (red, yellow, green) = self.health_colors(&strategy);
        let mut rc = 1;
        for v in self.health_values(n) {
            if v.eq_ignore_ascii_case("red") {
                return -1;
            }
            if v.eq_ignore_ascii_case("yellow") {
                rc = 0;
                continue;
            }
            let Some(score) = halo_cib::model::Score::parse_with_colors(v, red, yellow, green)
            else {
                continue;
            };
            if score.0 <= red {
                return -1;
            }
            if score.0 <= yellow && yellow != green {
                rc = 0;
            }
        }
        rc
    }

    /// `node_text_status`.
    fn node_text_status(&self, n: NodeId) -> &'static str {
        let node = &self.nodes[n];
        if node.unclean {
            if node.online {
                "UNCLEAN (online)"
            } else if node.pending {
                "UNCLEAN (pending)"
            } else {
                "UNCLEAN (offline)"
            }
        } else if node.pending {
            "pending"
        } else if node.flags & nf::FAIL_STANDBY != 0 && node.online {
            "standby (on-fail)"
        } else if node.standby() {
            if !node.online {
                "OFFLINE (standby)"
            } else if node.running.is_empty() {
                "standby"
            } else {
                "standby (with active resources)"
            }
        } else if node.maintenance {
            if node.online {
                "maintenance"
            } else {
                "OFFLINE (maintenance)"
            }
        } else if node.online {
            "online"
        } else {
            "OFFLINE"
        }
    }

    /// `node-list` (text).
    fn node_list(&self, out: &mut Out) {
        item(out, 0, "Node List:");
        let mut online = Vec::new();
        let mut offline = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            let health = self.node_health(n);
            let individual = node.unclean
                || node.pending
                || (node.flags & nf::FAIL_STANDBY != 0 && node.online)
                || node.standby()
                || node.maintenance
                || health <= 0;
            if individual {
                let mut s = format!("Node {}: {}", node.name, self.node_text_status(n));
                if health < 0 {
                    s.push_str(" (health is RED)");
                } else if health == 0 {
                    s.push_str(" (health is YELLOW)");
                }
                item(out, 1, &s);
            } else if node.online {
                online.push(node.name.as_str());
            } else {
                offline.push(node.name.as_str());
            }
        }
        if !online.is_empty() {
            item(out, 1, &format!("Online: [ {} ]", online.join(" ")));
        }
        if !offline.is_empty() {
            item(out, 1, &format!("OFFLINE: [ {} ]", offline.join(" ")));
        }
    }

    /// `pe__resource_is_disabled`.
    fn is_disabled(&self, r: RscId) -> bool {
        let Some(role) = self.rscs[r]
            .meta
            .get("target-role")
            .and_then(|v| Role::parse(v))
        else {
            return false;
        };
        role == Role::Stopped
            || (role == Role::Unpromoted && self.rflag(self.top_of(r), rf::PROMOTABLE))
    }

    fn rsc_status(&self, r: RscId, depth: usize, pending: bool, out: &mut Out) {
        match self.rscs[r].variant {
            Variant::Primitive => {
                let s = self.primitive_status(r, pending);
                item(out, depth, &s);
            }
            Variant::Group => self.group_status(r, depth, pending, out),
            Variant::Clone => self.clone_status(r, depth, pending, out),
        }
    }

    /// `native_displayable_role`.
    fn displayable_role(&self, r: RscId) -> Role {
        let role = self.rscs[r].orig_role;
        if role == Role::Started && self.rflag(self.top_of(r), rf::PROMOTABLE) {
            Role::Unpromoted
        } else {
            role
        }
    }

    /// `pe__failed_probe_for_rsc`: the exit text of a masked probe failure
    /// of `r` (on `node`, or anywhere).
    fn failed_probe(&self, r: RscId, node: Option<NodeId>) -> Option<&'static str> {
        let top = self.top_of(r);
        let rsc_id = if self.is_clone(top) {
            self.rscs[top]
                .children
                .first()
                .map_or(self.rscs[r].id.as_str(), |&c| self.rscs[c].xml_id.as_str())
        } else {
            self.rscs[r].id.as_str()
        };
        let (_, op) = self.failed_probes.iter().find(|(n, op)| {
            node.is_none_or(|x| x == *n)
                && crate::history::history_key(op)
                    .strip_suffix("_monitor_0")
                    .is_some_and(|id| id == rsc_id)
        })?;
        Some(exit_text(op.rc_code))
    }

    /// `pcmk__native_output_string` for the text output.
    fn primitive_status(&self, r: RscId, show_pending: bool) -> String {
        let rsc = &self.rscs[r];
        let mut node = self.current_node(r);
        if show_pending {
            node = node.or(rsc.pending_node);
        }
        if node.is_none() {
            node = rsc.lock_node;
        }
        let multiple = rsc.active_nodes.len() > 1;
        if multiple {
            node = None;
        }
        let agent = match &rsc.provider {
            Some(p) => format!("{}:{p}:{}", rsc.class, rsc.agent),
            None => format!("{}:{}", rsc.class, rsc.agent),
        };
        let name = if rsc.flags & rf::UNIQUE != 0 {
            rsc.id.as_str()
        } else {
            rsc.xml_id.as_str()
        };
        let mut s = format!("{name}\t({agent}):\t");
        let mut words: Vec<String> = Vec::new();
        if rsc.flags & rf::REMOVED != 0 {
            words.push("ORPHANED".into());
        }
        let role = self.displayable_role(r);
        if rsc.flags & rf::FAILED != 0 {
            words.push("FAILED".into());
            if role > Role::Unpromoted {
                words.push(role.text().into());
            }
        } else {
            let pending_action = rsc.pending_action.as_deref().filter(|_| show_pending);
            let pending = match pending_action {
                Some("start") => Some("Starting"),
                Some("stop") => Some("Stopping"),
                Some("migrate_to" | "migrate_from") => Some("Migrating"),
                Some("promote") => Some("Promoting"),
                Some("demote") => Some("Demoting"),
                _ => None,
            };
            words.push(pending.unwrap_or(role.text()).into());
        }
        if let Some(n) = node {
            words.push(self.nodes[n].name.clone());
        }
        s.push(' ');
        s.push_str(&words.join(" "));
        if role == Role::Stopped
            && let Some(text) = self.failed_probe(r, node)
        {
            s.push_str(&format!(" ({text}) "));
        }
        let mut flags: Vec<String> = Vec::new();
        if let Some(n) = node
            && !self.nodes[n].online
            && self.nodes[n].unclean
        {
            flags.push("UNCLEAN".into());
        }
        if node.is_some() && node == rsc.lock_node {
            flags.push("LOCKED".into());
        }
        if show_pending && rsc.pending_action.as_deref() == Some("monitor") {
            flags.push("Monitoring".into());
        }
        if let Some(tr) = rsc.meta.get("target-role") {
            match Role::parse(tr) {
                Some(Role::Stopped) => flags.push("disabled".into()),
                Some(Role::Unpromoted) if self.rflag(self.top_of(r), rf::PROMOTABLE) => {
                    flags.push(format!("target-role:{tr}"));
                }
                _ => {}
            }
        }
        if rsc.flags & rf::BLOCKED != 0 {
            flags.push("blocked".into());
        } else if rsc.flags & rf::MAINTENANCE != 0 {
            flags.push("maintenance".into());
        } else if rsc.flags & rf::MANAGED == 0 {
            flags.push("unmanaged".into());
        }
        if rsc.flags & rf::IGNORE_FAILURE != 0 {
            flags.push("failure ignored".into());
        }
        if !flags.is_empty() {
            s.push_str(&format!(" ({})", flags.join(", ")));
        }
        if multiple {
            let names: Vec<&str> = rsc
                .active_nodes
                .iter()
                .map(|&n| self.nodes[n].name.as_str())
                .collect();
            s.push_str(&format!(" [ {} ]", names.join(" ")));
        }
        s
    }

    /// `pe__group_default`.
    fn group_status(&self, r: RscId, depth: usize, pending: bool, out: &mut Out) {
        let mut attrs: Vec<&str> = Vec::new();
        if self.is_disabled(r) {
            attrs.push("disabled");
        }
        if self.rflag(r, rf::MAINTENANCE) {
            attrs.push("maintenance");
        } else if !self.rflag(r, rf::MANAGED) {
            attrs.push("unmanaged");
        }
        let header = if attrs.is_empty() {
            format!("Resource Group: {}:", self.rscs[r].id)
        } else {
            format!(
                "Resource Group: {} ({}):",
                self.rscs[r].id,
                attrs.join(", ")
            )
        };
        item(out, depth, &header);
        for &m in &self.rscs[r].children {
            self.rsc_status(m, depth + 1, pending, out);
        }
    }

    /// `configured_role`: the clone's target-role, or its first instance's.
    fn configured_role(&self, r: RscId) -> Option<Role> {
        let rsc = &self.rscs[r];
        rsc.meta
            .get("target-role")
            .or_else(|| {
                rsc.children
                    .first()
                    .and_then(|&c| self.rscs[c].meta.get("target-role"))
            })
            .and_then(|v| Role::parse(v))
    }

    /// `pe__clone_default`.
    fn clone_status(&self, r: RscId, depth: usize, pending: bool, out: &mut Out) {
        let rsc = &self.rscs[r];
        let mut attrs: Vec<&str> = Vec::new();
        if rsc.flags & rf::PROMOTABLE != 0 {
            attrs.push("promotable");
        }
        if rsc.flags & rf::UNIQUE != 0 {
            attrs.push("unique");
        }
        if self.is_disabled(r) {
            attrs.push("disabled");
        }
        if rsc.flags & rf::MAINTENANCE != 0 {
            attrs.push("maintenance");
        } else if rsc.flags & rf::MANAGED == 0 {
            attrs.push("unmanaged");
        }
        let child_id = rsc
            .children
            .first()
            .map_or(rsc.id.as_str(), |&c| self.rscs[c].xml_id.as_str());
        let header = if attrs.is_empty() {
            format!("Clone Set: {} [{child_id}]:", rsc.id)
        } else {
            format!("Clone Set: {} [{child_id}] ({}):", rsc.id, attrs.join(", "))
        };
        let mut body: Out = Vec::new();
        let out_outer = out;
        let out = &mut body;
        let unique = rsc.flags & rf::UNIQUE != 0;
        let mut promoted: Vec<NodeId> = Vec::new();
        let mut started: Vec<NodeId> = Vec::new();
        let mut details: Out = Vec::new();
        for &c in &rsc.children {
            let partially_active = self.rsc_active(c, false);
            let print_full = if unique {
                partially_active || rsc.flags & rf::REMOVED == 0
            } else if !partially_active {
                false
            } else if self.is_set_recursive(c, rf::REMOVED, true)
                || !self.is_set_recursive(c, rf::MANAGED, false)
                || self.is_set_recursive(c, rf::FAILED, true)
            {
                true
            } else if self.rsc_active(c, true) {
                match self.rsc_location_one(c, true, false, false) {
                    Some(n) => {
                        let node = &self.nodes[n];
                        if !node.online && node.unclean {
                            true
                        } else {
                            if self.rsc_state(c, true) > Role::Unpromoted {
                                promoted.push(n);
                            } else {
                                started.push(n);
                            }
                            false
                        }
                    }
                    None => true,
                }
            } else {
                true
            };
            if print_full {
                self.rsc_status(c, depth + 1, pending, &mut details);
            }
        }
        out.extend(details);
        let names = |list: &mut Vec<NodeId>| {
            list.sort_by(|&a, &b| {
                crate::util::numeric_strcasecmp(&self.nodes[a].name, &self.nodes[b].name)
            });
            list.iter()
                .map(|&n| self.nodes[n].name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let active_instances = promoted.len() + started.len();
        if !promoted.is_empty() {
            item(
                out,
                depth + 1,
                &format!("Promoted: [ {} ]", names(&mut promoted)),
            );
        }
        if !started.is_empty() {
            let label = if rsc.flags & rf::PROMOTABLE != 0 {
                if self.configured_role(r) == Some(Role::Unpromoted) {
                    "Unpromoted (target-role)"
                } else {
                    "Unpromoted"
                }
            } else {
                "Started"
            };
            item(
                out,
                depth + 1,
                &format!("{label}: [ {} ]", names(&mut started)),
            );
        }
        let max = rsc.clone.as_ref().map_or(0, |d| d.max);
        if !unique && usize::try_from(max).unwrap_or(0) > active_instances {
            let active_nodes = &rsc.active_nodes;
            let mut nodes: Vec<NodeId> = (0..self.nodes.len())
                .filter(|&n| rsc.allowed[n].is_some())
                .collect();
            if nodes.is_empty() {
                nodes = (0..self.nodes.len())
                    .filter(|&n| self.rsc_probed_any(r, n))
                    .collect();
            }
            let default_state = if self.configured_role(r) == Some(Role::Stopped) {
                "Stopped (disabled)".to_string()
            } else {
                "Stopped".to_string()
            };
            // Node -> state, listed per distinct state (sorted).
            let mut states: Vec<(String, NodeId)> = nodes
                .into_iter()
                .filter(|n| !active_nodes.contains(n))
                .map(|n| match self.failed_probe(r, Some(n)) {
                    Some(text) => (format!("Stopped ({text})"), n),
                    None => (default_state.clone(), n),
                })
                .collect();
            let mut kinds: Vec<String> = states.iter().map(|(k, _)| k.clone()).collect();
            kinds.sort();
            kinds.dedup();
            for kind in kinds {
                let mut list: Vec<NodeId> = states
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, n)| *n)
                    .collect();
                item(out, depth + 1, &format!("{kind}: [ {} ]", names(&mut list)));
            }
            states.clear();
        }
        if !body.is_empty() {
            item(out_outer, depth, &header);
            out_outer.extend(body);
        }
    }

    /// Whether the clone `r` (any instance) was probed on `n`.
    fn rsc_probed_any(&self, r: RscId, n: NodeId) -> bool {
        let rsc = &self.rscs[r];
        rsc.probed[n] || rsc.children.iter().any(|&c| self.rsc_probed_any(c, n))
    }
}

/// `crm_exit_str` for the exit codes a masked probe failure can have.
fn exit_text(rc: i32) -> &'static str {
    match rc {
        0 => "OK",
        1 => "Error occurred",
        2 => "Invalid parameter",
        3 => "Unimplemented",
        4 => "Insufficient privileges",
        5 => "Not installed",
        6 => "Not configured",
        7 => "Not running",
        8 => "Promoted",
        9 => "Failed in promoted role",
        _ => "Unknown exit status",
    }
}
