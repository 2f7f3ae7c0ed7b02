//! Stages 4 and 5: node criteria (locations, stickiness, failure thresholds)
//! and assignment of resources to nodes.
//!
//! Each resource has a table of allowed nodes with scores. Location
//! constraints, stickiness and failure bans add to those scores; assignment
//! then applies colocations (mandatory ones first) and picks the best node,
//! preferring the current node among equals.

use std::cmp::Ordering;

use halo_cib::model::{INFINITY, add_scores};

use crate::nvsets::Refs;
use crate::sched::*;

/// The node placement strategies [`Scheduler::compare_nodes`] tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Minimal,
    Balanced,
    Other,
}

impl<'a> Scheduler<'a> {
    /// `apply_node_criteria`.
    pub fn apply_node_criteria(&mut self, refs: &Refs<'a>) {
        if self.is(sf::SHUTDOWN_LOCK) {
            for r in self.top.clone() {
                self.shutdown_lock(refs, r);
            }
        }
        // Locations apply newest first (Pacemaker prepends them).
        for l in (0..self.locations.len()).rev() {
            let r = self.locations[l].rsc;
            let snap = self.trace_snapshot(r);
            self.apply_location(r, l);
            self.trace_diff(snap, &|s| {
                let loc = &s.locations[l];
                match loc.role_filter {
                    Role::Unknown => format!("location constraint {}", loc.id),
                    role => format!("location constraint {} (role {})", loc.id, role.text()),
                }
            });
        }
        for r in self.top.clone() {
            self.apply_stickiness(r);
        }
        for n in 0..self.nodes.len() {
            for r in self.top.clone() {
                self.check_failure_threshold(r, n);
                let snap = self.trace_snapshot(r);
                self.apply_exclusive_discovery(r, n);
                self.trace_diff(snap, &|_| {
                    "resource-discovery=exclusive is configured for other nodes".into()
                });
            }
        }
    }

    /// `shutdown_lock` method: a resource active only on a node that is
    /// shutting down cleanly stays locked to it (banned elsewhere) until the
    /// node returns or the lock expires (`pcmk__primitive_shutdown_lock`).
    fn shutdown_lock(&mut self, refs: &Refs<'a>, r: RscId) {
        match self.rscs[r].variant {
            Variant::Clone => return,
            Variant::Group => {
                for m in self.rscs[r].children.clone() {
                    self.shutdown_lock(refs, m);
                }
                return;
            }
            Variant::Primitive => {}
        }
        if self.rflag(r, rf::FENCE_DEVICE) {
            return;
        }
        if let Some(lock) = self.rscs[r].lock_node {
            if !self.rscs[r].active_nodes.is_empty() {
                self.clear_resource_history(refs, r, lock);
                self.rscs[r].lock_node = None;
                self.rscs[r].lock_time = 0;
            }
        } else if let [n] = self.rscs[r].active_nodes[..]
            && self.nodes[n].shutdown
            && !self.nodes[n].unclean
        {
            self.rscs[r].lock_node = Some(n);
            self.rscs[r].lock_time = self
                .node_attr(n, "shutdown")
                .and_then(crate::util::scan_ll)
                .map(|(v, _)| v)
                .filter(|&v| v != 0)
                .unwrap_or(self.now);
        }
        let Some(lock) = self.rscs[r].lock_node else {
            return;
        };
        for n in 0..self.nodes.len() {
            if n != lock {
                self.resource_location(r, Some(n), -INFINITY, "shutdown-lock");
            }
        }
    }

    /// `apply_location` method dispatch.
    pub fn apply_location(&mut self, r: RscId, l: usize) {
        match self.rscs[r].variant {
            Variant::Primitive => self.apply_location_primitive(r, l),
            Variant::Group => self.apply_location_group(r, l),
            Variant::Clone => self.apply_location_clone(r, l),
        }
    }

    /// `pcmk__apply_location`.
    pub fn apply_location_primitive(&mut self, r: RscId, l: usize) {
        let loc = self.locations[l].clone();
        if loc.role_filter > Role::Unknown && loc.role_filter != self.rscs[r].next_role {
            return;
        }
        for (n, score) in loc.nodes {
            let rsc = &mut self.rscs[r];
            match &mut rsc.allowed[n] {
                None => {
                    rsc.allowed[n] = Some(Allowed {
                        score,
                        probe_mode: ProbeMode::Always,
                        count: 0,
                    });
                }
                Some(a) => a.score = add_scores(a.score, score),
            }
            let a = rsc.allowed[n].as_mut().map(|a| {
                let changed = a.probe_mode < loc.probe_mode;
                if changed {
                    a.probe_mode = loc.probe_mode;
                }
                changed
            });
            if a == Some(true) && loc.probe_mode == ProbeMode::Exclusive {
                rsc.flags |= rf::EXCLUSIVE_PROBES;
            }
        }
    }

    /// `pcmk__clone_apply_location`: applies to the clone and every instance.
    pub fn apply_location_clone(&mut self, r: RscId, l: usize) {
        self.apply_location_primitive(r, l);
        for c in self.rscs[r].children.clone() {
            self.apply_location(c, l);
        }
    }

    /// `apply_stickiness`.
    fn apply_stickiness(&mut self, r: RscId) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.apply_stickiness(c);
            }
            return;
        }
        let rsc = &self.rscs[r];
        if rsc.flags & rf::MANAGED == 0 || rsc.stickiness < 1 || rsc.active_nodes.len() != 1 {
            return;
        }
        let n = rsc.active_nodes[0];
        if !self.is(sf::SYMMETRIC) && rsc.allowed[n].is_none() {
            return;
        }
        let s = rsc.stickiness;
        self.resource_location(r, Some(n), s, "stickiness");
    }

    /// `check_failure_threshold`.
    fn check_failure_threshold(&mut self, r: RscId, n: NodeId) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.check_failure_threshold(c, n);
            }
            return;
        }
        if !self
            .rsc_actions(r, Some(n), "clear_failcount", true)
            .is_empty()
        {
            return;
        }
        if let Some(failed) = self.threshold_reached(r, n) {
            self.resource_location(failed, Some(n), -INFINITY, "__fail_limit__");
        }
    }

    /// `apply_exclusive_discovery`.
    fn apply_exclusive_discovery(&mut self, r: RscId, n: NodeId) {
        let top = self.top_of(r);
        if !self.rflag(r, rf::EXCLUSIVE_PROBES) && !self.rflag(top, rf::EXCLUSIVE_PROBES) {
            return;
        }
        for c in self.rscs[r].children.clone() {
            self.apply_exclusive_discovery(c, n);
        }
        if let Some(a) = self.rscs[r].allowed[n].as_mut()
            && a.probe_mode != ProbeMode::Exclusive
        {
            a.score = -INFINITY;
        }
    }

    /// `compare_nodes` for sorting allowed nodes (best first): `a` and `b`
    /// are a node and its score where the node can run resources,
    /// `-INFINITY` where not.
    fn compare_nodes(
        &self,
        a: (NodeId, i32),
        b: (NodeId, i32),
        preferred: Option<NodeId>,
        strategy: Placement,
    ) -> Ordering {
        let (s1, s2) = (a.1, b.1);
        match s2.cmp(&s1) {
            Ordering::Equal => {}
            o => return o,
        }
        if strategy != Placement::Minimal {
            if strategy == Placement::Balanced {
                match self.compare_capacities(a.0, b.0) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            let (c1, c2) = (self.nodes[a.0].num_resources, self.nodes[b.0].num_resources);
            match c1.cmp(&c2) {
                Ordering::Equal => {}
                o => return o,
            }
            if let Some(p) = preferred {
                if p == a.0 {
                    return Ordering::Less;
                } else if p == b.0 {
                    return Ordering::Greater;
                }
            }
        }
        self.nodes[a.0].name.cmp(&self.nodes[b.0].name)
    }

    /// A resource's allowed nodes sorted best first (`pcmk__sort_nodes`).
    pub fn sorted_allowed(&self, t: &NodeTable, preferred: Option<NodeId>) -> Vec<(NodeId, i32)> {
        let strategy = match self.placement_strategy.as_str() {
            "minimal" => Placement::Minimal,
            "balanced" => Placement::Balanced,
            _ => Placement::Other,
        };
        // What the comparison reads does not change while sorting: look at
        // each node once, not at both nodes of every comparison.
        let mut v: Vec<(NodeId, i32, i32)> = t
            .iter()
            .enumerate()
            .filter_map(|(n, a)| {
                let a = (*a)?;
                let usable = if self.node_available(n, None) {
                    a.score
                } else {
                    -INFINITY
                };
                Some((n, a.score, usable))
            })
            .collect();
        crate::util::glib_sort(&mut v, &mut |a, b| {
            self.compare_nodes((a.0, a.2), (b.0, b.2), preferred, strategy)
        });
        v.into_iter().map(|(n, score, _)| (n, score)).collect()
    }

    /// `assign_best_node`.
    fn assign_best_node(&mut self, r: RscId, prefer: Option<NodeId>, stop_if_fail: bool) -> bool {
        let most_free = self.ban_insufficient_capacity(r);
        let prefer = prefer.or(most_free);
        if !self.rflag(r, rf::UNASSIGNED) {
            return self.rscs[r].assigned.is_some();
        }
        let current = self.current_node(r);
        let nodes = self.sorted_allowed(&self.rscs[r].allowed, current);
        let best = nodes.first().copied();
        let mut chosen: Option<(NodeId, i32)> = None;
        if let (Some(p), Some(b)) = (prefer, best)
            && let Some(a) = self.rscs[r].allowed[p]
            && a.score >= b.1
            && self.node_available(p, Some(a.score))
        {
            chosen = Some((p, a.score));
        }
        if chosen.is_none()
            && let Some(b) = best
        {
            let mut c = b;
            let parent = self.rscs[r].parent;
            if !self.is_unique_clone(parent)
                && c.1 > 0
                && self.node_available(c.0, None)
                && let Some(running) = current
                && self.node_available(running, Some(self.nodes[running].weight))
            {
                {
                    for &(n, s) in nodes.iter().skip(1) {
                        if s != c.1 {
                            break;
                        }
                        if n == running {
                            c = (n, s);
                        }
                    }
                }
            }
            chosen = Some(c);
        }
        self.assign_resource(r, chosen.map(|c| c.0), false, stop_if_fail);
        self.rscs[r].assigned.is_some()
    }

    /// `pcmk__assign_resource`: assigns `r` (and its children) to `node`, or
    /// unassigns it; returns whether the assignment changed.
    pub fn assign_resource(
        &mut self,
        r: RscId,
        node: Option<NodeId>,
        force: bool,
        stop_if_fail: bool,
    ) -> bool {
        if !self.rscs[r].children.is_empty() {
            let mut changed = false;
            for c in self.rscs[r].children.clone() {
                changed |= self.assign_resource(c, node, force, stop_if_fail);
            }
            return changed;
        }
        let mut node = node;
        if !force && let Some(n) = node {
            let score = self.rscs[r].allowed[n].map_or(self.nodes[n].weight, |a| a.score);
            if score < 0 || !self.node_available(n, Some(score)) {
                if stop_if_fail {
                    self.set_next_role(r, Role::Stopped);
                }
                node = None;
            }
        }
        let changed = self.rscs[r].assigned != node;
        self.unassign_resource(r);
        self.clear_rflag(r, rf::UNASSIGNED);
        let Some(n) = node else {
            if !stop_if_fail {
                return changed;
            }
            self.set_next_role(r, Role::Stopped);
            for a in self.rscs[r].actions.clone() {
                let task = self.actions[a].task.clone();
                if task == "stop" {
                    self.actions[a].flags &= !af::OPTIONAL;
                } else if task == "start" {
                    self.actions[a].flags &= !af::RUNNABLE;
                } else {
                    let interval = self.actions[a].interval_ms;
                    let target = self.actions[a].meta.get("op_target_rc").cloned();
                    if interval != 0 && target.as_deref() != Some("7") {
                        self.actions[a].flags &= !af::RUNNABLE;
                    }
                }
            }
            return changed;
        };
        self.rscs[r].assigned = Some(n);
        self.rscs[r].assigned_score =
            self.rscs[r].allowed[n].map_or(self.nodes[n].weight, |a| a.score);
        self.nodes[n].num_resources += 1;
        if let Some(a) = self.rscs[r].allowed[n].as_mut() {
            a.count += 1;
        }
        self.consume_capacity(n, r);
        changed
    }

    /// `pcmk__unassign_resource`.
    pub fn unassign_resource(&mut self, r: RscId) {
        self.set_rflag(r, rf::UNASSIGNED);
        if self.rscs[r].children.is_empty() {
            if let Some(old) = self.rscs[r].assigned.take() {
                self.nodes[old].num_resources -= 1;
                self.release_capacity(old, r);
            }
            return;
        }
        for c in self.rscs[r].children.clone() {
            self.unassign_resource(c);
        }
    }

    /// A colocation of `r` with its primary, in words.
    fn describe_this_with(&self, c: usize) -> String {
        let col = &self.colocations[c];
        let primary = &self.rscs[col.primary];
        let place = match self.rsc_location_one(col.primary, false, false, true) {
            Some(n) => format!("placed on {}", self.nodes[n].name),
            None => "not placed".to_string(),
        };
        let what = if col.id == "#group-members" {
            "group member".to_string()
        } else {
            format!("colocation {}", col.id)
        };
        format!(
            "{what}: with {} ({place}), score {}",
            primary.id,
            halo_cib::model::Score(col.score)
        )
    }

    /// `apply_this_with`.
    fn apply_this_with(&mut self, c: usize, r: RscId) {
        let col = self.colocations[c].clone();
        let archive =
            if col.dependent_role >= Role::Promoted || (col.score < 0 && col.score > -INFINITY) {
                Some(self.rscs[r].allowed.clone())
            } else {
                None
            };
        if self.rflag(col.primary, rf::UNASSIGNED) {
            self.assign(col.primary, None, true);
        }
        self.apply_coloc_score(r, r, col.primary, c, true);
        if let Some(a) = archive
            && !self.any_node_available(&self.rscs[r].allowed)
        {
            self.rscs[r].allowed = a;
        }
    }

    /// `apply_coloc_score` method dispatch: `on` is the resource whose method
    /// is called; `for_dependent` says whether it is called on behalf of the
    /// dependent (Pacemaker's argument of the same name).
    pub fn apply_coloc_score(
        &mut self,
        on: RscId,
        dependent: RscId,
        primary: RscId,
        c: usize,
        for_dependent: bool,
    ) -> i32 {
        match self.rscs[on].variant {
            Variant::Primitive if for_dependent => {
                self.apply_coloc_score(primary, dependent, primary, c, false)
            }
            Variant::Primitive => self.primitive_apply_coloc_score(dependent, primary, c),
            Variant::Group if for_dependent => self.colocate_group_with(dependent, primary, c),
            Variant::Group => self.colocate_with_group(dependent, primary, c),
            Variant::Clone => self.clone_apply_coloc_score(dependent, primary, c),
        }
    }

    /// `pcmk__primitive_apply_coloc_score` (for the primary).
    pub fn primitive_apply_coloc_score(
        &mut self,
        dependent: RscId,
        primary: RscId,
        c: usize,
    ) -> i32 {
        match self.coloc_affects(dependent, primary, c, false) {
            crate::coloc::Affects::Role => self.apply_coloc_to_priority(dependent, primary, c),
            crate::coloc::Affects::Location => {
                self.apply_coloc_to_scores(dependent, primary, c);
                0
            }
            crate::coloc::Affects::Nothing => 0,
        }
    }

    /// `assign` method dispatch.
    pub fn assign(
        &mut self,
        r: RscId,
        prefer: Option<NodeId>,
        stop_if_fail: bool,
    ) -> Option<NodeId> {
        match self.rscs[r].variant {
            Variant::Primitive => self.primitive_assign(r, prefer, stop_if_fail),
            Variant::Group => self.group_assign(r, prefer, stop_if_fail),
            Variant::Clone => self.clone_assign(r, prefer, stop_if_fail),
        }
    }

    /// `pcmk__primitive_assign`.
    pub fn primitive_assign(
        &mut self,
        r: RscId,
        prefer: Option<NodeId>,
        stop_if_fail: bool,
    ) -> Option<NodeId> {
        if let Some(p) = self.rscs[r].parent
            && !self.rflag(p, rf::ASSIGNING)
        {
            self.assign(p, prefer, stop_if_fail);
        }
        if !self.rflag(r, rf::UNASSIGNED) {
            return self.rscs[r].assigned;
        }
        if self.rflag(r, rf::ASSIGNING) {
            return None;
        }
        self.set_rflag(r, rf::ASSIGNING);
        let this_with = self.this_with_colocations(r);
        let with_this = self.with_this_colocations(r);
        let mandatory = |s: &Self, c: usize| {
            let sc = s.colocations[c].score;
            sc <= -INFINITY || sc >= INFINITY
        };
        for pass_mandatory in [true, false] {
            for &c in &this_with {
                if mandatory(self, c) == pass_mandatory {
                    let snap = self.trace_snapshot(r);
                    self.apply_this_with(c, r);
                    self.trace_diff(snap, &|s| s.describe_this_with(c));
                }
            }
            for &c in &with_this {
                if mandatory(self, c) == pass_mandatory {
                    let snap = self.trace_snapshot(r);
                    self.add_dependent_scores(c, r);
                    self.trace_diff(snap, &|s| {
                        let col = &s.colocations[c];
                        format!(
                            "colocation {}: {} (score {}) prefers to be with it",
                            col.id,
                            s.rscs[col.dependent].id,
                            halo_cib::model::Score(col.score)
                        )
                    });
                }
            }
        }
        let (orig, next) = (self.rscs[r].orig_role, self.rscs[r].next_role);
        if next == Role::Stopped {
            self.resource_location(r, None, -INFINITY, "target-role");
        } else if next > orig
            && !self.is(sf::QUORATE)
            && self.no_quorum_policy == NoQuorumPolicy::Freeze
        {
            self.set_next_role(r, orig);
        }
        self.record_scores(r, "pcmk__primitive_assign");
        if self.traced(r) {
            self.trace_final = Some(self.rscs[r].allowed.clone());
        }
        if self.is(sf::FENCING_ENABLED) && !self.is(sf::HAVE_FENCING) {
            self.clear_rflag(r, rf::MANAGED);
        }
        if !self.rflag(r, rf::MANAGED) {
            let orig = self.rscs[r].orig_role;
            self.set_next_role(r, orig);
            let to = self.current_node(r);
            self.assign_resource(r, to, true, stop_if_fail);
        } else if self.is(sf::STOP_ALL) {
            self.assign_resource(r, None, true, stop_if_fail);
        } else {
            self.assign_best_node(r, prefer, stop_if_fail);
        }
        self.clear_rflag(r, rf::ASSIGNING);
        self.rscs[r].assigned
    }

    /// Records a resource's node scores (and its descendants') for
    /// `--show-scores` (`pe__show_node_scores`), labelled with the assignment
    /// function's name as Pacemaker does.
    pub fn record_scores(&mut self, r: RscId, comment: &str) {
        if self.score_lines.is_none() || self.rflag(r, rf::REMOVED) {
            return;
        }
        let id = self.rscs[r].id.clone();
        let lines: Vec<String> = self.rscs[r]
            .allowed
            .iter()
            .enumerate()
            .filter_map(|(n, a)| {
                a.map(|a| {
                    format!(
                        "{comment}: {id} allocation score on {}: {}",
                        self.nodes[n].name,
                        halo_cib::model::Score(a.score)
                    )
                })
            })
            .collect();
        self.score_lines.get_or_insert_default().extend(lines);
        for c in self.rscs[r].children.clone() {
            self.record_scores(c, comment);
        }
    }

    /// `assign_resources`: every top-level resource, in order.
    pub fn assign_resources(&mut self) {
        if self.placement_strategy != "default" {
            self.sort_resources_for_utilization();
        }
        for r in self.top.clone() {
            self.assign(r, None, true);
        }
    }
}
