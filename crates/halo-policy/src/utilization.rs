//! Utilization: node capacities and resource requirements, used when
//! `placement-strategy` is not `default` (Pacemaker's
//! `pcmk_sched_utilization.c`).
//!
//! Each node starts with its configured capacities; assigning a resource
//! consumes its utilization there. Before a resource is placed, nodes that
//! cannot hold it (together with the unassigned resources that must be
//! colocated with it) are banned. With `balanced`, the node with more free
//! capacity wins ties; resources are assigned in order of priority and
//! preference first.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use halo_cib::model::INFINITY;

use crate::nvsets::Refs;
use crate::sched::*;

/// `utilization_value`: an integer (clamped to `i32`), 0 if unset or invalid.
fn utilization_value(s: Option<&str>) -> i64 {
    s.and_then(crate::util::scan_ll).map_or(0, |(v, _)| {
        v.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
    })
}

/// Adds (`plus`) or subtracts `rsc`'s values to/from `current`.
fn update_values(
    current: &mut BTreeMap<String, String>,
    rsc: &BTreeMap<String, String>,
    plus: bool,
) {
    for (k, v) in rsc {
        let cur = utilization_value(current.get(k).map(String::as_str));
        let delta = utilization_value(Some(v));
        let r = if plus { cur + delta } else { cur - delta };
        let r = r.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        current.insert(k.clone(), r.to_string());
    }
}

impl<'a> Scheduler<'a> {
    fn uses_utilization(&self) -> bool {
        !self.placement_strategy.eq_ignore_ascii_case("default")
    }

    /// `pcmk__consume_node_capacity`.
    pub fn consume_capacity(&mut self, n: NodeId, r: RscId) {
        let util = self.rscs[r].utilization.clone();
        update_values(&mut self.nodes[n].utilization, &util, false);
    }

    /// `pcmk__release_node_capacity`.
    pub fn release_capacity(&mut self, n: NodeId, r: RscId) {
        let util = self.rscs[r].utilization.clone();
        update_values(&mut self.nodes[n].utilization, &util, true);
    }

    /// `pcmk__compare_node_capacities`: `Less` when `a` has more free
    /// capacity in more attributes than `b`.
    pub fn compare_capacities(&self, a: NodeId, b: NodeId) -> Ordering {
        let (ua, ub) = (&self.nodes[a].utilization, &self.nodes[b].utilization);
        let mut result = 0i32;
        let mut cmp = |x: i64, y: i64| {
            if x > y {
                result -= 1;
            } else if x < y {
                result += 1;
            }
        };
        for (k, v) in ua {
            cmp(
                utilization_value(Some(v)),
                utilization_value(ub.get(k).map(String::as_str)),
            );
        }
        for (k, v) in ub {
            if !ua.contains_key(k) {
                cmp(0, utilization_value(Some(v)));
            }
        }
        result.cmp(&0)
    }

    /// `have_enough_capacity`.
    fn have_enough_capacity(&self, n: NodeId, util: &BTreeMap<String, String>) -> bool {
        let node = &self.nodes[n].utilization;
        util.iter().all(|(k, v)| {
            utilization_value(Some(v)) <= utilization_value(node.get(k).map(String::as_str))
        })
    }

    /// `colocated_resources` method: `r` and the resources that must be
    /// placed with it (mandatory colocations, transitively).
    pub fn colocated_resources(&self, r: RscId, orig: Option<RscId>, list: &mut Vec<RscId>) {
        let orig = orig.unwrap_or(r);
        if self.is_group(r) {
            let clone_parent = self.rscs[r].parent.is_some_and(|p| self.is_clone(p));
            if self.rscs[r].group_colocated || clone_parent {
                list.insert(0, r);
                for &m in &self.rscs[r].children {
                    self.colocated_resources(m, Some(orig), list);
                }
                return;
            }
            if self.rscs[r].children.is_empty() {
                return;
            }
        }
        if list.contains(&r) {
            return;
        }
        list.insert(0, r);
        for c in self.this_with_colocations(r) {
            let primary = self.colocations[c].primary;
            if primary == orig {
                continue;
            }
            if self.colocations[c].score == INFINITY
                && self.coloc_affects(r, primary, c, true) == crate::coloc::Affects::Location
            {
                self.colocated_resources(primary, Some(orig), list);
            }
        }
        for c in self.with_this_colocations(r) {
            let dependent = self.colocations[c].dependent;
            if dependent == orig || (self.is_clone(r) && !self.is_clone(dependent)) {
                continue;
            }
            if self.colocations[c].score == INFINITY
                && self.coloc_affects(dependent, r, c, true) == crate::coloc::Affects::Location
            {
                self.colocated_resources(dependent, Some(orig), list);
            }
        }
    }

    /// `add_utilization` method: adds what `r` still needs to `util`.
    fn add_utilization(&self, r: RscId, all: &[RscId], util: &mut BTreeMap<String, String>) {
        if !self.rflag(r, rf::UNASSIGNED) {
            return;
        }
        let rsc = &self.rscs[r];
        match rsc.variant {
            Variant::Primitive => update_values(util, &rsc.utilization, true),
            Variant::Group => {
                let clone_parent = rsc.parent.is_some_and(|p| self.is_clone(p));
                let members: &[RscId] = if rsc.group_colocated || clone_parent {
                    &rsc.children
                } else {
                    rsc.children.get(..1).unwrap_or(&[])
                };
                for &m in members {
                    if self.rflag(m, rf::UNASSIGNED) && !all.contains(&m) {
                        self.add_utilization(m, all, util);
                    }
                }
            }
            Variant::Clone => {
                let mut existing = false;
                for &child in &rsc.children {
                    if all.contains(&child) {
                        existing = true;
                    } else if self.rscs[child].children.iter().any(|m| all.contains(m)) {
                        self.add_utilization(child, all, util);
                        existing = true;
                    }
                }
                if !existing && let Some(&first) = rsc.children.first() {
                    self.add_utilization(first, all, util);
                }
            }
        }
    }

    /// `pcmk__ban_insufficient_capacity`: bans nodes without room for `r` (and
    /// what is colocated with it); returns the node with most free capacity
    /// when no node has room for all of them.
    pub fn ban_insufficient_capacity(&mut self, r: RscId) -> Option<NodeId> {
        if !self.uses_utilization() {
            return None;
        }
        let mut colocated = Vec::new();
        self.colocated_resources(r, None, &mut colocated);
        if !colocated.contains(&r) {
            colocated.push(r);
        }
        let mut unassigned = BTreeMap::new();
        for &x in &colocated {
            self.add_utilization(x, &colocated, &mut unassigned);
        }
        let available: Vec<NodeId> = (0..self.nodes.len())
            .filter(|&n| {
                self.rscs[r].allowed[n].is_some_and(|a| self.node_available(n, Some(a.score)))
            })
            .collect();
        let mut any_capable = false;
        let mut most: Option<NodeId> = None;
        for &n in &available {
            if self.have_enough_capacity(n, &unassigned) {
                any_capable = true;
            }
            if most.is_none_or(|m| self.compare_capacities(n, m) == Ordering::Less) {
                most = Some(n);
            }
        }
        let own = self.rscs[r].utilization.clone();
        let needed = if any_capable { &unassigned } else { &own };
        for n in available {
            if !self.have_enough_capacity(n, needed) {
                self.resource_location(r, Some(n), -INFINITY, "__limit_utilization__");
            }
        }
        if any_capable { None } else { most }
    }

    /// `pcmk__sort_resources`: with a placement strategy, resources are
    /// assigned by priority, then by their score where they run, then by their
    /// best score anywhere.
    pub fn sort_resources_for_utilization(&mut self) {
        let weights: NodeTable = self
            .nodes
            .iter()
            .map(|n| {
                Some(Allowed {
                    score: n.weight,
                    probe_mode: ProbeMode::Always,
                    count: 0,
                })
            })
            .collect();
        let nodes: Vec<NodeId> = self
            .sorted_allowed(&weights, None)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut tables: Vec<(RscId, NodeTable)> = Vec::new();
        for r in self.top.clone() {
            let mut t = None;
            self.add_colocated_node_scores(
                r,
                None,
                &mut t,
                None,
                1.0,
                crate::coloc::sel::THIS_WITH,
            );
            tables.push((r, t.unwrap_or_default()));
        }
        let score = |t: &NodeTable, n: Option<NodeId>| {
            n.and_then(|n| t.get(n).copied().flatten())
                .map_or(-INFINITY, |a| a.score)
        };
        let mut order: Vec<usize> = (0..tables.len()).collect();
        crate::util::glib_sort(&mut order, &mut |&a, &b| {
            let (ra, ta) = (&tables[a].0, &tables[a].1);
            let (rb, tb) = (&tables[b].0, &tables[b].1);
            match self.rscs[*rb].priority.cmp(&self.rscs[*ra].priority) {
                Ordering::Equal => {}
                o => return o,
            }
            let current = |r: RscId| {
                if self.rscs[r].active_nodes.is_empty() {
                    None
                } else {
                    self.current_node(r)
                }
            };
            match score(tb, current(*rb)).cmp(&score(ta, current(*ra))) {
                Ordering::Equal => {}
                o => return o,
            }
            for &n in &nodes {
                match score(tb, Some(n)).cmp(&score(ta, Some(n))) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            Ordering::Equal
        });
        self.top = order.into_iter().map(|i| tables[i].0).collect();
    }

    /// `pcmk__create_utilization_constraints`: a resource stops before the
    /// node's `load_stopped` pseudo-action and starts after the one of its
    /// target node, so that capacity is freed before it is used.
    pub fn create_utilization_constraints(&mut self, r: RscId, allowed: &[NodeId]) {
        let id = self.rscs[r].id.clone();
        for n in self.rscs[r].active_nodes.clone() {
            let ls = self.load_stopped_op(n);
            self.new_ordering(
                Some(r),
                Some(crate::util::op_key(&id, "stop", 0)),
                None,
                None,
                None,
                Some(ls),
                ar::IF_ON_SAME_NODE_OR_TARGET,
            );
        }
        for &n in allowed {
            let ls = self.load_stopped_op(n);
            for task in ["start", "migrate_to"] {
                self.new_ordering(
                    None,
                    None,
                    Some(ls),
                    Some(r),
                    Some(crate::util::op_key(&id, task, 0)),
                    None,
                    ar::IF_ON_SAME_NODE_OR_TARGET,
                );
            }
        }
    }

    /// `new_load_stopped_op`.
    fn load_stopped_op(&mut self, n: NodeId) -> ActionId {
        let name = format!("load_stopped_{}", self.nodes[n].name);
        let a = self.pseudo_op(&Refs::default(), &name);
        if self.actions[a].node.is_none() {
            self.actions[a].node = Some(n);
            self.actions[a].flags &= !af::OPTIONAL;
        }
        a
    }
}
