//! Clones: several instances of one resource (a primitive or a group), at most
//! `clone-max` in all and `clone-node-max` per node (Pacemaker's
//! `pcmk_sched_clone.c` and `pcmk_sched_instances.c`).
//!
//! Instances are assigned in order of preference (active, allowed, higher
//! priority, ...), each first to the node it runs on if that keeps the spread
//! even, then to the best remaining node. The clone's pseudo-actions (`start`,
//! `running`, `stop`, `stopped`) bracket the instances' actions. Orderings
//! between two clones with `interleave=true` apply instance by instance (each
//! instance waits only for the instance of the other clone on its node);
//! without interleaving they apply to every instance.

use std::cmp::Ordering;

use halo_cib::model::{INFINITY, add_scores};

use crate::nvsets::Refs;
use crate::ordering::upd;
use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// Settings of the clone at the top of `r`.
    pub fn clone_settings(&self, r: RscId) -> CloneData {
        let top = self.top_of(r);
        self.rscs[top].clone.clone().unwrap_or_default()
    }

    /// `max_per_node` method: how many instances of `r` may run on one node.
    pub fn max_per_node(&self, r: RscId) -> i32 {
        match self.rscs[r].variant {
            Variant::Clone => self.rscs[r].clone.as_ref().map_or(1, |d| d.node_max),
            _ => 1,
        }
    }

    /// The resource whose allowed-node table [`Scheduler::top_allowed`] reads:
    /// the parent if any (`pcmk__top_allowed_node`).
    pub fn allowed_owner(&self, r: RscId) -> RscId {
        self.rscs[r].parent.unwrap_or(r)
    }

    /// `pcmk__top_allowed_node`: the entry for `n` in the parent's table.
    pub fn top_allowed(&self, r: RscId, n: NodeId) -> Option<Allowed> {
        self.rscs[self.allowed_owner(r)].allowed[n]
    }

    /// `is_set_recursive`: whether `flag` is set on `r` or (`any`) any
    /// descendant, or (`!any`) on `r` and every descendant.
    pub fn is_set_recursive(&self, r: RscId, flag: u64, any: bool) -> bool {
        if self.rflag(r, flag) {
            if any {
                return true;
            }
        } else if !any {
            return false;
        }
        for &c in &self.rscs[r].children {
            if self.is_set_recursive(c, flag, any) {
                if any {
                    return true;
                }
            } else if !any {
                return false;
            }
        }
        !any
    }

    /// The score of the node copy a resource was assigned with (the first
    /// assigned descendant's, for collective resources).
    pub fn assigned_score(&self, r: RscId) -> i32 {
        let rsc = &self.rscs[r];
        if rsc.children.is_empty() {
            return rsc.assigned_score;
        }
        rsc.children
            .iter()
            .find(|&&c| !self.rsc_location(c, false, false, true).is_empty())
            .map_or(0, |&c| self.assigned_score(c))
    }

    // -----------------------------------------------------------------------
    // assignment

    /// `pcmk__clone_assign`.
    pub fn clone_assign(
        &mut self,
        r: RscId,
        prefer: Option<NodeId>,
        stop_if_fail: bool,
    ) -> Option<NodeId> {
        if !self.rflag(r, rf::UNASSIGNED) || self.rflag(r, rf::ASSIGNING) {
            return None;
        }
        self.set_rflag(r, rf::ASSIGNING);
        if self.rflag(r, rf::PROMOTABLE) {
            self.add_promotion_scores(r);
        }
        for c in self.this_with_colocations(r) {
            let primary = self.colocations[c].primary;
            self.assign(primary, prefer, stop_if_fail);
        }
        for c in self.with_this_colocations(r) {
            self.add_dependent_scores(c, r);
        }
        self.record_scores(r, "pcmk__clone_assign");
        let mut children = self.rscs[r].children.clone();
        crate::util::glib_sort(&mut children, &mut |&a, &b| self.cmp_instance(a, b));
        self.rscs[r].children = children.clone();
        let data = self.clone_settings(r);
        self.assign_instances(r, &children, data.max, data.node_max);
        if self.rflag(r, rf::PROMOTABLE) {
            self.set_instance_roles(r);
        }
        self.clear_rflag(r, rf::UNASSIGNED | rf::ASSIGNING);
        None
    }

    /// `pcmk__cmp_instance_number`.
    pub fn cmp_instance_number(&self, a: RscId, b: RscId) -> Ordering {
        let num = |r: RscId| -> i64 {
            let id = &self.rscs[r].id;
            id.rsplit_once(':')
                .or_else(|| id.rsplit_once('-'))
                .and_then(|(_, n)| crate::util::scan_ll(n))
                .map_or(0, |(v, _)| v)
        };
        num(a).cmp(&num(b))
    }

    /// `did_fail`.
    fn did_fail(&self, r: RscId) -> bool {
        self.rflag(r, rf::FAILED) || self.rscs[r].children.iter().any(|&c| self.did_fail(c))
    }

    /// `pcmk__cmp_instance`: the order in which to assign instances.
    pub fn cmp_instance(&mut self, a: RscId, b: RscId) -> Ordering {
        use Ordering::*;
        let (node1, n1, _) = self.active_node(a);
        let (node2, n2, _) = self.active_node(b);
        if n1 > 0 && n2 > 0 {
            match n1.cmp(&n2) {
                Equal => {}
                o => return o,
            }
        }
        // `node_is_allowed` also forgets a current node that is not allowed.
        let allowed_node = |s: &Self, r: RscId, n: Option<NodeId>| match n {
            None => (true, None),
            Some(n) if s.rscs[r].allowed[n].is_some_and(|x| x.score >= 0) => (true, Some(n)),
            Some(_) => (false, None),
        };
        let (can1, node1) = allowed_node(self, a, node1);
        let (can2, node2) = allowed_node(self, b, node2);
        match (can1, can2) {
            (true, false) => return Less,
            (false, true) => return Greater,
            _ => {}
        }
        match self.rscs[b].priority.cmp(&self.rscs[a].priority) {
            Equal => {}
            o => return o,
        }
        let (node1, node2) = match (node1, node2) {
            (None, None) => return Equal,
            (None, Some(_)) => return Greater,
            (Some(_), None) => return Less,
            (Some(x), Some(y)) => (x, y),
        };
        match (
            self.node_available(node1, None),
            self.node_available(node2, None),
        ) {
            (true, false) => return Less,
            (false, true) => return Greater,
            _ => {}
        }
        let (t1, t2) = (self.top_allowed(a, node1), self.top_allowed(b, node2));
        let (t1, t2) = match (t1, t2) {
            (None, None) => return Equal,
            (None, Some(_)) => return Greater,
            (Some(_), None) => return Less,
            (Some(x), Some(y)) => (x, y),
        };
        match t1.count.cmp(&t2.count) {
            Equal => {}
            o => return o,
        }
        match (self.did_fail(a), self.did_fail(b)) {
            (false, true) => return Less,
            (true, false) => return Greater,
            _ => {}
        }
        match self.cmp_instance_by_colocation(a, b) {
            Equal => {}
            o => return o,
        }
        self.cmp_instance_number(a, b)
    }

    /// `cmp_instance_by_colocation`: the instance whose current node has the
    /// higher score after its parent's colocations goes first.
    fn cmp_instance_by_colocation(&mut self, a: RscId, b: RscId) -> Ordering {
        let (Some(c1), Some(c2)) = (self.current_node(a), self.current_node(b)) else {
            return Ordering::Equal;
        };
        let s1 = self.score_with_parent_colocations(a, c1);
        let s2 = self.score_with_parent_colocations(b, c2);
        s2.cmp(&s1)
    }

    /// The score of `n` for `r` in a one-node table after applying the
    /// colocations of `r` (and its parent) (`apply_parent_colocations`).
    fn score_with_parent_colocations(&mut self, r: RscId, n: NodeId) -> i32 {
        let mut table: NodeTable = vec![None; self.nodes.len()];
        table[n] = Some(Allowed {
            score: self.nodes[n].weight,
            probe_mode: ProbeMode::Always,
            count: 0,
        });
        let mut nodes = Some(table);
        for c in self.this_with_colocations(r) {
            let other = self.colocations[c].primary;
            let factor = self.colocations[c].score as f32 / INFINITY as f32;
            self.add_colocated_node_scores(other, Some(r), &mut nodes, Some(c), factor, 0);
        }
        for c in self.with_this_colocations(r) {
            if !self.coloc_has_influence(c, Some(r)) {
                continue;
            }
            let other = self.colocations[c].dependent;
            let factor = self.colocations[c].score as f32 / INFINITY as f32;
            self.add_colocated_node_scores(
                other,
                Some(r),
                &mut nodes,
                Some(c),
                factor,
                crate::coloc::sel::NONNEGATIVE,
            );
        }
        nodes
            .and_then(|t| t[n])
            .map_or(self.nodes[n].weight, |a| a.score)
    }

    /// `can_run_instance`.
    fn can_run_instance(&self, inst: RscId, n: NodeId, max_per_node: i32) -> bool {
        if self.rflag(inst, rf::REMOVED) || !self.node_available(n, None) {
            return false;
        }
        match self.top_allowed(inst, n) {
            None => false,
            Some(a) => a.score >= 0 && a.count < max_per_node,
        }
    }

    /// `ban_unavailable_allowed_nodes`.
    fn ban_unavailable_allowed_nodes(&mut self, inst: RscId, max_per_node: i32) {
        for n in 0..self.nodes.len() {
            if self.rscs[inst].allowed[n].is_none() || self.can_run_instance(inst, n, max_per_node)
            {
                continue;
            }
            if let Some(a) = self.rscs[inst].allowed[n].as_mut() {
                a.score = -INFINITY;
            }
            for c in self.rscs[inst].children.clone() {
                if let Some(a) = self.rscs[c].allowed[n].as_mut() {
                    a.score = -INFINITY;
                }
            }
        }
    }

    /// `increment_parent_count`.
    fn increment_parent_count(&mut self, inst: RscId, n: Option<NodeId>) {
        let Some(n) = n else { return };
        let owner = self.allowed_owner(inst);
        if let Some(a) = self.rscs[owner].allowed[n].as_mut() {
            a.count += 1;
        }
    }

    /// `assign_instance`.
    fn assign_instance(
        &mut self,
        inst: RscId,
        prefer: Option<NodeId>,
        max_per_node: i32,
    ) -> Option<NodeId> {
        if self.rflag(inst, rf::ASSIGNING) {
            return None;
        }
        let snap = self.trace_snapshot(inst);
        self.ban_unavailable_allowed_nodes(inst, max_per_node);
        self.trace_diff(snap, &|_| {
            "the clone may not run another instance there".into()
        });
        let chosen = self.assign(inst, prefer, prefer.is_none());
        self.increment_parent_count(inst, chosen);
        chosen
    }

    /// The allowed-node tables of `r` and its descendants
    /// (`pcmk__copy_node_tables`).
    fn copy_node_tables(&self, r: RscId, out: &mut Vec<(RscId, NodeTable)>) {
        out.push((r, self.rscs[r].allowed.clone()));
        for &c in &self.rscs[r].children {
            self.copy_node_tables(c, out);
        }
    }

    /// `pcmk__restore_node_tables`.
    fn restore_node_tables(&mut self, backup: &[(RscId, NodeTable)]) {
        for (r, t) in backup {
            self.rscs[*r].allowed = t.clone();
        }
    }

    /// `assign_instance_early`: tries to keep an instance where it runs.
    fn assign_instance_early(
        &mut self,
        inst: RscId,
        current: NodeId,
        max_per_node: i32,
        available: i32,
    ) -> bool {
        let Some(allowed) = self.rscs[inst].allowed[current] else {
            return false;
        };
        if !self.node_available(current, Some(allowed.score)) {
            return false;
        }
        let mut backup = Vec::new();
        self.copy_node_tables(inst, &mut backup);
        let parent = self.allowed_owner(inst);
        let parent_orig = self.rscs[parent].allowed.clone();
        let mut reserved = 0;
        let mut chosen = None;
        while reserved < available {
            chosen = self.assign_instance(inst, Some(current), max_per_node);
            if chosen == Some(current) {
                break;
            }
            self.restore_node_tables(&backup);
            if chosen.is_none() {
                self.set_rflag(inst, rf::UNASSIGNED);
                break;
            }
            reserved += 1;
            self.unassign_resource(inst);
            chosen = None;
        }
        self.rscs[parent].allowed = parent_orig;
        if chosen.is_none() {
            return false;
        }
        self.increment_parent_count(inst, chosen);
        true
    }

    /// `reset_allowed_node_counts`: zeroes the counts and returns how many
    /// allowed nodes can run resources.
    fn reset_allowed_node_counts(&mut self, r: RscId) -> i32 {
        let mut available = 0;
        for n in 0..self.nodes.len() {
            if let Some(a) = self.rscs[r].allowed[n].as_mut() {
                a.count = 0;
                if self.node_available(n, None) {
                    available += 1;
                }
            }
        }
        available
    }

    /// `preferred_node`: where to try an instance first.
    fn preferred_node(&self, inst: RscId, optimal_per_node: i32) -> Option<NodeId> {
        if self.rscs[inst].active_nodes.is_empty()
            || !self.rflag(inst, rf::UNASSIGNED)
            || self.rflag(inst, rf::FAILED)
        {
            return None;
        }
        let n = self.current_node(inst)?;
        if !self.node_available(n, Some(self.nodes[n].weight)) {
            return None;
        }
        if self
            .top_allowed(inst, n)
            .is_some_and(|a| a.count >= optimal_per_node)
        {
            return None;
        }
        Some(n)
    }

    /// `pcmk__assign_instances`.
    pub fn assign_instances(
        &mut self,
        collective: RscId,
        instances: &[RscId],
        max_total: i32,
        max_per_node: i32,
    ) {
        let available_nodes = self.reset_allowed_node_counts(collective);
        let optimal = if available_nodes > 0 {
            max_total / available_nodes
        } else {
            0
        }
        .max(1);
        let mut assigned = 0;
        for &inst in instances {
            if assigned >= max_total {
                break;
            }
            let available = max_total - assigned;
            if !self.rflag(inst, rf::UNASSIGNED) {
                continue;
            }
            if let Some(cur) = self.preferred_node(inst, optimal)
                && self.assign_instance_early(inst, cur, max_per_node, available)
            {
                assigned += 1;
            }
        }
        for &inst in instances {
            if !self.rflag(inst, rf::UNASSIGNED) {
                continue;
            }
            if assigned >= max_total {
                self.resource_location(inst, None, -INFINITY, "collective_limit_reached");
            } else if self.assign_instance(inst, None, max_per_node).is_some() {
                assigned += 1;
            }
        }
    }

    // -----------------------------------------------------------------------
    // actions

    /// `pcmk__clone_create_actions`.
    pub fn clone_create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        self.create_instance_actions(refs, r);
        if self.rflag(r, rf::PROMOTABLE) {
            self.create_promotable_actions(refs, r);
        }
    }

    /// `check_instance_state`: whether any instance is starting, stopping,
    /// restarting or active (bits 0..3).
    fn check_instance_state(&self, inst: RscId, state: &mut u32) {
        const ALL: u32 = 0b1111;
        if *state & ALL == ALL {
            return;
        }
        if !self.is_primitive(inst) {
            for &c in &self.rscs[inst].children {
                self.check_instance_state(c, state);
            }
            return;
        }
        let mut own = 0;
        if !self.rscs[inst].active_nodes.is_empty() {
            own |= INST_ACTIVE;
        }
        for &a in self.rscs[inst].actions.iter().rev() {
            if own & (INST_STARTING | INST_STOPPING) == INST_STARTING | INST_STOPPING {
                break;
            }
            let act = &self.actions[a];
            let optional = act.flags & af::OPTIONAL != 0;
            if act.task == "start" {
                if !optional && act.flags & af::RUNNABLE != 0 {
                    own |= INST_STARTING;
                }
            } else if act.task == "stop"
                && !optional
                && act.flags & (af::PSEUDO | af::RUNNABLE) != 0
            {
                own |= INST_STOPPING;
            }
        }
        if own & (INST_STARTING | INST_STOPPING) == INST_STARTING | INST_STOPPING {
            own |= INST_RESTARTING;
        }
        *state |= own;
    }

    /// `pcmk__create_instance_actions`.
    fn create_instance_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        let mut state = 0;
        for inst in self.rscs[r].children.clone() {
            self.create_actions(refs, inst);
            self.check_instance_state(inst, &mut state);
        }
        let starting = state & INST_STARTING != 0;
        let stopping = state & INST_STOPPING != 0;
        let start = self.rsc_pseudo_action(refs, r, "start", !starting, true);
        let started = self.rsc_pseudo_action(refs, r, "running", !starting, false);
        if state & (INST_ACTIVE | INST_STARTING) != 0 {
            self.actions[started].flags |= af::RUNNABLE;
        }
        let stop = self.rsc_pseudo_action(refs, r, "stop", !stopping, true);
        let stopped = self.rsc_pseudo_action(refs, r, "stopped", !stopping, true);
        if state & INST_RESTARTING == 0 {
            self.actions[stop].flags |= af::MIGRATABLE;
        }
        self.create_clone_notif_pseudo_ops(refs, r, start, started, stop, stopped);
    }

    /// `pcmk__clone_internal_constraints`.
    pub fn clone_internal_constraints(&mut self, refs: &Refs<'a>, r: RscId) {
        self.order_rsc_actions(r, "stopped", r, "start", ar::ORDERED);
        self.order_rsc_actions(r, "start", r, "running", ar::UNRUNNABLE_FIRST_BLOCKS);
        self.order_rsc_actions(r, "stop", r, "stopped", ar::UNRUNNABLE_FIRST_BLOCKS);
        let promotable = self.rflag(r, rf::PROMOTABLE);
        if promotable {
            self.order_rsc_actions(r, "demoted", r, "stop", ar::ORDERED);
            self.order_rsc_actions(r, "running", r, "promote", ar::UNRUNNABLE_FIRST_BLOCKS);
        }
        let ordered = self.rscs[r].clone.as_ref().is_some_and(|d| d.ordered);
        if ordered {
            self.sort_children_by_number(r);
        }
        let children = self.rscs[r].children.clone();
        for (i, &inst) in children.iter().enumerate() {
            self.internal_constraints(refs, inst);
            self.order_rsc_actions(
                r,
                "start",
                inst,
                "start",
                ar::UNRUNNABLE_FIRST_BLOCKS | ar::THEN_IMPLIES_FIRST_GRAPHED,
            );
            self.order_rsc_actions(inst, "start", r, "running", ar::FIRST_IMPLIES_THEN_GRAPHED);
            self.order_rsc_actions(r, "stop", inst, "stop", ar::THEN_IMPLIES_FIRST_GRAPHED);
            self.order_rsc_actions(inst, "stop", r, "stopped", ar::FIRST_IMPLIES_THEN_GRAPHED);
            if ordered {
                for &later in &children[i + 1..] {
                    self.order_rsc_actions(inst, "start", later, "start", ar::ORDERED);
                    self.order_rsc_actions(later, "stop", inst, "stop", ar::ORDERED);
                }
            }
        }
        if promotable {
            self.order_promotable_instances(r);
        }
    }

    /// Sorts a clone's instances by instance number.
    pub fn sort_children_by_number(&mut self, r: RscId) {
        let mut children = self.rscs[r].children.clone();
        crate::util::glib_sort(&mut children, &mut |&a, &b| self.cmp_instance_number(a, b));
        self.rscs[r].children = children;
    }

    // -----------------------------------------------------------------------
    // colocations

    /// `can_interleave`.
    fn can_interleave(&mut self, c: usize) -> bool {
        let (dependent, primary) = (self.colocations[c].dependent, self.colocations[c].primary);
        if self.rscs[dependent].variant <= Variant::Group {
            return false;
        }
        if !crate::util::is_true(
            self.rscs[dependent]
                .meta
                .get("interleave")
                .map(String::as_str),
        ) {
            return false;
        }
        if self.max_per_node(dependent) != self.max_per_node(primary) {
            let (d, p) = (
                self.rscs[dependent].id.clone(),
                self.rscs[primary].id.clone(),
            );
            self.err(format!(
                "Cannot interleave {d} and {p} because they do not support the same number of instances per node"
            ));
            return false;
        }
        true
    }

    /// `pcmk__clone_apply_coloc_score` (the clone is the primary).
    pub fn clone_apply_coloc_score(&mut self, dependent: RscId, primary: RscId, c: usize) -> i32 {
        if self.rflag(primary, rf::UNASSIGNED) {
            return 0;
        }
        let col = self.colocations[c].clone();
        if self.rflag(primary, rf::PROMOTABLE) && col.primary_role != Role::Unknown {
            if self.rflag(dependent, rf::UNASSIGNED) {
                self.update_dependent_with_promotable(primary, dependent, c);
                return 0;
            }
            if col.dependent_role == Role::Promoted {
                return self.update_promotable_dependent_priority(primary, dependent, c);
            }
        }
        if self.can_interleave(c) {
            if let Some(pi) =
                self.find_compatible_instance(dependent, primary, Role::Unknown, false, None)
            {
                return self.apply_coloc_score(dependent, dependent, pi, c, true);
            }
            if col.score >= INFINITY {
                self.assign_resource(dependent, None, true, true);
            }
            return 0;
        }
        if col.score >= INFINITY {
            let mut primary_nodes: Vec<(NodeId, i32)> = Vec::new();
            for inst in self.rscs[primary].children.clone() {
                if let Some(n) = self.rsc_location_one(inst, false, false, true)
                    && !self.is_set_recursive(inst, rf::BLOCKED, true)
                {
                    primary_nodes.push((n, self.assigned_score(inst)));
                }
            }
            self.colocation_intersect_nodes(dependent, &primary_nodes, false);
            return 0;
        }
        let mut delta = 0;
        for inst in self.rscs[primary].children.clone() {
            let d = self.apply_coloc_score(inst, dependent, inst, c, false);
            delta = add_scores(delta, d);
        }
        delta
    }

    /// `pcmk__colocation_intersect_nodes`: bans the dependent from nodes not
    /// in `primary_nodes`, optionally adding their scores.
    pub fn colocation_intersect_nodes(
        &mut self,
        dependent: RscId,
        primary_nodes: &[(NodeId, i32)],
        merge_scores: bool,
    ) {
        for n in 0..self.nodes.len() {
            let found = primary_nodes.iter().find(|(pn, _)| *pn == n).map(|p| p.1);
            let Some(a) = self.rscs[dependent].allowed[n].as_mut() else {
                continue;
            };
            match found {
                None => a.score = -INFINITY,
                Some(s) if merge_scores => a.score = add_scores(a.score, s),
                Some(_) => {}
            }
        }
    }

    /// `pcmk__instance_matches`.
    pub fn instance_matches(
        &self,
        inst: RscId,
        node: NodeId,
        role: Role,
        current: bool,
        node_attr: Option<&str>,
    ) -> bool {
        if role != Role::Unknown && role != self.rsc_state(inst, current) {
            return false;
        }
        let inst_node = if self.is_set_recursive(inst, rf::BLOCKED, true) {
            None
        } else {
            self.rsc_location_one(inst, current, false, !current)
        };
        let Some(inst_node) = inst_node else {
            return false;
        };
        match node_attr {
            Some(attr) => {
                let a = self.coloc_node_attr(inst_node, attr);
                let b = self.coloc_node_attr(node, attr);
                match (a, b) {
                    (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                    (None, None) => true,
                    _ => false,
                }
            }
            None => inst_node == node,
        }
    }

    /// `find_compatible_instance_on_node`.
    fn find_compatible_instance_on_node(
        &self,
        rsc: RscId,
        node: NodeId,
        role: Role,
        current: bool,
        node_attr: Option<&str>,
    ) -> Option<RscId> {
        self.rscs[rsc]
            .children
            .iter()
            .copied()
            .find(|&i| self.instance_matches(i, node, role, current, node_attr))
    }

    /// `pcmk__find_compatible_instance`: an instance of `rsc` on the node
    /// where `match_rsc` is (or, if it has none yet, on its best allowed node).
    pub fn find_compatible_instance(
        &self,
        match_rsc: RscId,
        rsc: RscId,
        role: Role,
        current: bool,
        node_attr: Option<&str>,
    ) -> Option<RscId> {
        if let Some(n) = self.rsc_location_one(match_rsc, current, false, !current) {
            return self.find_compatible_instance_on_node(rsc, n, role, current, node_attr);
        }
        let nodes = self.sorted_allowed(&self.rscs[match_rsc].allowed, None);
        nodes.into_iter().find_map(|(n, _)| {
            self.find_compatible_instance_on_node(rsc, n, role, current, node_attr)
        })
    }

    // -----------------------------------------------------------------------
    // action flags and orderings

    /// `orig_action_name`: the instance-level task for a clone action.
    fn orig_action_name(&self, a: ActionId) -> String {
        let act = &self.actions[a];
        let Some(r) = act.rsc else {
            return act.task.clone();
        };
        let mut name = act.task.clone();
        if act.task == "notify" || act.task == "notified" {
            let stem = act.uuid.rsplit_once('_').map_or("", |(s, _)| s);
            if let Some(i) = stem.find("_notify_") {
                name = stem[i + "_notify_".len()..].to_string();
            }
        }
        match self.rscs[r].children.first() {
            Some(&inst) => self.complex_task(inst, &name),
            None => name,
        }
    }

    /// `find_first_action` on a resource's actions (newest first) by task and
    /// node (actions without a node do not match a given node).
    pub fn find_first_action(
        &self,
        r: RscId,
        task: &str,
        node: Option<NodeId>,
    ) -> Option<ActionId> {
        self.rscs[r].actions.iter().rev().copied().find(|&x| {
            let act = &self.actions[x];
            act.task == task && (node.is_none() || act.node == node)
        })
    }

    /// `pcmk__clone_action_flags` (`pcmk__collective_action_flags`).
    pub fn clone_action_flags(&mut self, a: ActionId, node: Option<NodeId>) -> u32 {
        let Some(r) = self.actions[a].rsc else {
            return self.actions[a].flags;
        };
        let name = self.orig_action_name(a);
        let mut flags = af::OPTIONAL | af::RUNNABLE | af::PSEUDO;
        let mut any_runnable = false;
        for inst in self.rscs[r].children.clone() {
            let inode = if self.is_primitive(inst) { node } else { None };
            let Some(ia) = self.find_first_action(inst, &name, inode) else {
                continue;
            };
            let iflags = self.rsc_action_flags(ia, node);
            if flags & af::OPTIONAL != 0 && iflags & af::OPTIONAL == 0 {
                flags &= !af::OPTIONAL;
                self.actions[a].flags &= !af::OPTIONAL;
            }
            if iflags & af::RUNNABLE != 0 {
                any_runnable = true;
            }
        }
        if !any_runnable {
            flags &= !af::RUNNABLE;
            if node.is_none() {
                self.actions[a].flags &= !af::RUNNABLE;
            }
        }
        flags
    }

    /// `can_interleave_actions`.
    fn can_interleave_actions(&self, first: ActionId, then: ActionId) -> bool {
        let (Some(fr), Some(tr)) = (self.actions[first].rsc, self.actions[then].rsc) else {
            return false;
        };
        if fr == tr
            || self.rscs[fr].variant < Variant::Clone
            || self.rscs[tr].variant < Variant::Clone
        {
            return false;
        }
        let uuid = &self.actions[then].uuid;
        let r = if uuid.ends_with("_stop_0") || uuid.ends_with("_demote_0") {
            fr
        } else {
            tr
        };
        crate::util::is_true(self.rscs[r].meta.get("interleave").map(String::as_str))
    }

    /// `unassign_if_mandatory`.
    fn unassign_if_mandatory(&mut self, then_instance: RscId, kind: u32, current: bool) -> bool {
        if current {
            return false;
        }
        if kind & (ar::UNRUNNABLE_FIRST_BLOCKS | ar::FIRST_IMPLIES_THEN) != 0 {
            return self.assign_resource(then_instance, None, true, true);
        }
        false
    }

    /// `update_interleaved_actions`.
    fn update_interleaved_actions(
        &mut self,
        first: ActionId,
        then: ActionId,
        node: Option<NodeId>,
        filter: u32,
        kind: u32,
    ) -> u32 {
        let mut changed = upd::NONE;
        let orig_first_task = self.orig_action_name(first);
        let uuid = &self.actions[first].uuid;
        let current = uuid.ends_with("_stopped_0") || uuid.ends_with("_demoted_0");
        let (Some(first_rsc), Some(then_rsc)) = (self.actions[first].rsc, self.actions[then].rsc)
        else {
            return changed;
        };
        let then_task = self.actions[then].task.clone();
        for then_inst in self.rscs[then_rsc].children.clone() {
            let Some(first_inst) =
                self.find_compatible_instance(then_inst, first_rsc, Role::Unknown, current, None)
            else {
                if self.unassign_if_mandatory(then_inst, kind, current) {
                    changed |= upd::THEN;
                }
                continue;
            };
            let Some(fa) = self.find_first_action(first_inst, &orig_first_task, node) else {
                continue;
            };
            let Some(ta) = self.find_first_action(then_inst, &then_task, node) else {
                continue;
            };
            if self.order_actions(fa, ta, kind) {
                changed |= upd::FIRST | upd::THEN;
            }
            let fflags = self.rsc_action_flags(fa, node);
            changed |= self.update_dispatch(then_inst, fa, ta, node, fflags, filter, kind);
        }
        changed
    }

    /// `update_noninterleaved_actions`.
    #[allow(clippy::too_many_arguments)]
    fn update_noninterleaved_actions(
        &mut self,
        inst: RscId,
        first: ActionId,
        then: ActionId,
        node: Option<NodeId>,
        flags: u32,
        filter: u32,
        kind: u32,
    ) -> u32 {
        let task = self.actions[then].task.clone();
        let Some(ia) = self.find_first_action(inst, &task, node) else {
            return upd::NONE;
        };
        let iflags = self.rsc_action_flags(ia, node);
        if iflags & af::RUNNABLE == 0 {
            return upd::NONE;
        }
        let changed = self.update_dispatch(inst, first, ia, node, flags, filter, kind);
        if changed & upd::THEN != 0 {
            for rel in self.actions[ia].after.clone() {
                self.update_action_for_orderings(rel.action);
            }
        }
        changed
    }

    /// `pcmk__instance_update_ordered_actions`.
    pub fn instance_update_ordered_actions(
        &mut self,
        first: ActionId,
        then: ActionId,
        node: Option<NodeId>,
        flags: u32,
        filter: u32,
        kind: u32,
    ) -> u32 {
        let Some(then_rsc) = self.actions[then].rsc else {
            return upd::NONE;
        };
        if self.can_interleave_actions(first, then) {
            return self.update_interleaved_actions(first, then, node, filter, kind);
        }
        let mut changed = self.update_ordered_actions(first, then, node, flags, filter, kind);
        for inst in self.rscs[then_rsc].children.clone() {
            changed |=
                self.update_noninterleaved_actions(inst, first, then, node, flags, filter, kind);
        }
        changed
    }

    // -----------------------------------------------------------------------
    // probes

    /// Whether `r` or a descendant has been probed on `n` (`rsc_probed_on`).
    fn rsc_probed_on(&self, r: RscId, n: NodeId) -> bool {
        let rsc = &self.rscs[r];
        if !rsc.children.is_empty() {
            return rsc.children.iter().any(|&c| self.rsc_probed_on(c, n));
        }
        rsc.probed[n]
    }

    /// `pcmk__clone_create_probe`.
    pub fn clone_create_probe(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> bool {
        if self.rflag(r, rf::EXCLUSIVE_PROBES) {
            let ok = self.rscs[r].allowed[n].is_some_and(|a| a.probe_mode == ProbeMode::Exclusive);
            if !ok {
                self.rscs[r].allowed[n] = None;
                return false;
            }
        }
        self.sort_children_by_number(r);
        let children = self.rscs[r].children.clone();
        if self.rflag(r, rf::UNIQUE) {
            let mut any = false;
            for c in children {
                any |= self.create_probe(refs, c, n);
            }
            return any;
        }
        // Anonymous clones probe one instance: one already probed there, one
        // assigned there, or the first.
        let child = children
            .iter()
            .copied()
            .find(|&c| self.rsc_probed_on(c, n))
            .or_else(|| {
                children
                    .iter()
                    .copied()
                    .find(|&c| self.rsc_location_one(c, false, false, true) == Some(n))
            })
            .or_else(|| children.first().copied());
        match child {
            Some(c) => self.create_probe(refs, c, n),
            None => false,
        }
    }
}

const INST_STARTING: u32 = 1 << 0;
const INST_STOPPING: u32 = 1 << 1;
const INST_RESTARTING: u32 = 1 << 2;
const INST_ACTIVE: u32 = 1 << 3;
