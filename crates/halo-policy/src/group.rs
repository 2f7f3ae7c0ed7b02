//! Groups: members placed together and started in order.
//!
//! A group is assigned member by member (each member is colocated with the
//! previous one), its pseudo-actions (`start`, `running`, `stop`, `stopped`)
//! bracket the members' actions, and members start in order and stop in
//! reverse order (Pacemaker's `pcmk_sched_group.c`).

use halo_cib::model::{INFINITY, add_scores};

use crate::nvsets::Refs;
use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// `pcmk__group_assign`.
    pub fn group_assign(
        &mut self,
        r: RscId,
        prefer: Option<NodeId>,
        stop_if_fail: bool,
    ) -> Option<NodeId> {
        if !self.rflag(r, rf::UNASSIGNED) {
            return self.rscs[r].assigned;
        }
        if self.rflag(r, rf::ASSIGNING) {
            return None;
        }
        let children = self.rscs[r].children.clone();
        let Some(&first) = children.first() else {
            self.clear_rflag(r, rf::UNASSIGNED);
            return None;
        };
        self.set_rflag(r, rf::ASSIGNING);
        self.rscs[r].orig_role = self.rscs[first].orig_role;
        self.record_scores(r, "pcmk__group_assign");
        let mut first_assigned = None;
        for m in children {
            let n = self.assign(m, prefer, stop_if_fail);
            if first_assigned.is_none() {
                first_assigned = n;
            }
        }
        let next = self.rscs[first].next_role;
        self.set_next_role(r, next);
        self.clear_rflag(r, rf::ASSIGNING | rf::UNASSIGNED);
        if !self.rscs[r].group_colocated {
            return None;
        }
        first_assigned
    }

    /// `pcmk__group_create_actions`.
    pub fn group_create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        for m in self.rscs[r].children.clone() {
            self.create_actions(refs, m);
        }
        let mut tasks = vec!["start", "running", "stop", "stopped"];
        if crate::util::is_true(self.rscs[r].meta.get("promotable").map(String::as_str)) {
            tasks.extend(["demote", "demoted", "promote", "promoted"]);
        }
        for t in tasks {
            let a = self.rsc_action(refs, r, t, None, true);
            self.actions[a].flags |= af::PSEUDO | af::RUNNABLE;
        }
    }

    /// `pcmk__group_internal_constraints`.
    pub fn group_internal_constraints(&mut self, refs: &Refs<'a>, r: RscId) {
        self.order_rsc_actions(r, "stop", r, "stopped", ar::UNRUNNABLE_FIRST_BLOCKS);
        self.order_rsc_actions(r, "stopped", r, "start", ar::ORDERED);
        self.order_rsc_actions(r, "start", r, "running", ar::UNRUNNABLE_FIRST_BLOCKS);
        let top = self.top_of(r);
        let ordered = self.rscs[r].group_ordered;
        let colocated = self.rscs[r].group_colocated;
        let promotable = self.rflag(top, rf::PROMOTABLE);
        let mut last_active: Option<RscId> = None;
        let mut previous: Option<RscId> = None;
        for m in self.rscs[r].children.clone() {
            let mut down_flags = ar::THEN_IMPLIES_FIRST_GRAPHED;
            let mut post_down_flags = ar::FIRST_IMPLIES_THEN_GRAPHED;
            self.internal_constraints(refs, m);
            match previous {
                None => {
                    if ordered {
                        down_flags |= ar::ORDERED;
                        post_down_flags = ar::FIRST_IMPLIES_THEN;
                    }
                }
                Some(p) if colocated => {
                    let infl = self.rflag(m, rf::CRITICAL);
                    self.new_colocation(
                        "#group-members",
                        None,
                        INFINITY,
                        m,
                        p,
                        None,
                        None,
                        infl,
                        false,
                    );
                }
                Some(_) => {}
            }
            if promotable {
                self.order_rsc_actions(r, "demote", m, "demote", down_flags);
                self.order_rsc_actions(m, "demote", r, "demoted", post_down_flags);
                self.order_rsc_actions(
                    m,
                    "promote",
                    r,
                    "promoted",
                    ar::UNRUNNABLE_FIRST_BLOCKS
                        | ar::FIRST_IMPLIES_THEN
                        | ar::FIRST_IMPLIES_THEN_GRAPHED,
                );
                self.order_rsc_actions(r, "promote", m, "promote", ar::THEN_IMPLIES_FIRST_GRAPHED);
            }
            self.order_rsc_actions(r, "stop", m, "stop", down_flags);
            self.order_rsc_actions(m, "stop", r, "stopped", post_down_flags);
            self.order_rsc_actions(r, "start", m, "start", ar::THEN_IMPLIES_FIRST_GRAPHED);
            self.order_rsc_actions(
                m,
                "start",
                r,
                "running",
                ar::UNRUNNABLE_FIRST_BLOCKS
                    | ar::FIRST_IMPLIES_THEN
                    | ar::FIRST_IMPLIES_THEN_GRAPHED,
            );
            if !ordered {
                self.order_rsc_actions(
                    r,
                    "start",
                    m,
                    "start",
                    ar::FIRST_IMPLIES_THEN
                        | ar::UNRUNNABLE_FIRST_BLOCKS
                        | ar::THEN_IMPLIES_FIRST_GRAPHED,
                );
                if promotable {
                    self.order_rsc_actions(
                        r,
                        "promote",
                        m,
                        "promote",
                        ar::FIRST_IMPLIES_THEN
                            | ar::UNRUNNABLE_FIRST_BLOCKS
                            | ar::THEN_IMPLIES_FIRST_GRAPHED,
                    );
                }
            } else if let Some(p) = previous {
                self.order_rsc_actions(
                    p,
                    "start",
                    m,
                    "start",
                    ar::FIRST_IMPLIES_THEN | ar::UNRUNNABLE_FIRST_BLOCKS,
                );
                self.order_rsc_actions(m, "stop", p, "stop", ar::ORDERED | ar::INTERMEDIATE_STOP);
                if !self.rscs[m].active_nodes.is_empty() && self.rscs[p].active_nodes.is_empty() {
                    self.order_rsc_actions(
                        m,
                        "stop",
                        p,
                        "start",
                        ar::THEN_IMPLIES_FIRST | ar::UNRUNNABLE_FIRST_BLOCKS,
                    );
                }
                if promotable {
                    self.order_rsc_actions(
                        p,
                        "promote",
                        m,
                        "promote",
                        ar::FIRST_IMPLIES_THEN | ar::UNRUNNABLE_FIRST_BLOCKS,
                    );
                    self.order_rsc_actions(m, "demote", p, "demote", ar::ORDERED);
                }
            } else {
                self.order_rsc_actions(r, "start", m, "start", ar::NONE);
                if promotable {
                    self.order_rsc_actions(r, "promote", m, "promote", ar::NONE);
                }
            }
            if !self.rscs[m].active_nodes.is_empty() {
                if ordered
                    && let (Some(p), Some(la)) = (previous, last_active)
                    && self.rscs[p].active_nodes.is_empty()
                    && !self.rscs[la].active_nodes.is_empty()
                {
                    self.order_rsc_actions(m, "stop", la, "stop", ar::ORDERED);
                }
                last_active = Some(m);
            }
            previous = Some(m);
        }
    }

    /// `colocate_group_with`: the group is the dependent.
    pub fn colocate_group_with(&mut self, dependent: RscId, primary: RscId, c: usize) -> i32 {
        let children = self.rscs[dependent].children.clone();
        let Some(&first) = children.first() else {
            return 0;
        };
        let mut delta = 0;
        if self.rscs[dependent].group_colocated {
            delta = self.apply_coloc_score(first, first, primary, c, true);
        } else {
            if self.colocations[c].score >= INFINITY {
                let (d, p) = (
                    self.rscs[dependent].id.clone(),
                    self.rscs[primary].id.clone(),
                );
                self.err(format!(
                    "{d}: Cannot perform mandatory colocation between non-colocated group and {p}"
                ));
                return 0;
            }
            for m in children {
                let d = self.apply_coloc_score(m, m, primary, c, false);
                delta = add_scores(delta, d);
            }
        }
        if delta != 0 {
            self.rscs[dependent].priority = add_scores(delta, self.rscs[dependent].priority);
        }
        delta
    }

    /// `colocate_with_group`: the group is the primary.
    pub fn colocate_with_group(&mut self, dependent: RscId, primary: RscId, c: usize) -> i32 {
        if self.rflag(primary, rf::UNASSIGNED) {
            return 0;
        }
        let children = self.rscs[primary].children.clone();
        if self.rscs[primary].group_colocated {
            let member = if self.colocations[c].score >= INFINITY {
                children.last().copied()
            } else {
                children.first().copied()
            };
            return match member {
                Some(m) => self.apply_coloc_score(m, dependent, m, c, false),
                None => 0,
            };
        }
        if self.colocations[c].score >= INFINITY {
            let (d, p) = (
                self.rscs[dependent].id.clone(),
                self.rscs[primary].id.clone(),
            );
            self.err(format!(
                "{d}: Cannot perform mandatory colocation with non-colocated group {p}"
            ));
            return 0;
        }
        let mut delta = 0;
        for m in children {
            let d = self.apply_coloc_score(m, dependent, m, c, false);
            delta = add_scores(delta, d);
        }
        delta
    }

    /// `pcmk__group_action_flags`.
    pub fn group_action_flags(&mut self, a: ActionId, node: Option<NodeId>) -> u32 {
        let mut flags = af::OPTIONAL | af::RUNNABLE | af::PSEUDO;
        let Some(r) = self.actions[a].rsc else {
            return self.actions[a].flags;
        };
        let task = self.actions[a].task.clone();
        for m in self.rscs[r].children.clone() {
            let member_task = self.complex_task(m, &task);
            let found = self.rscs[m].actions.iter().rev().copied().find(|&x| {
                self.actions[x].task == member_task
                    && (node.is_none() || self.actions[x].node == node)
            });
            match found {
                Some(ma) => {
                    let mf = self.rsc_action_flags(ma, node);
                    if flags & af::OPTIONAL != 0 && mf & af::OPTIONAL == 0 {
                        flags &= !af::OPTIONAL;
                        self.actions[a].flags &= !af::OPTIONAL;
                    }
                    if member_task != task && flags & af::RUNNABLE != 0 && mf & af::RUNNABLE == 0 {
                        flags &= !af::RUNNABLE;
                        self.actions[a].flags &= !af::RUNNABLE;
                    }
                }
                None => {
                    if member_task != "stop" && member_task != "demote" {
                        flags &= !af::RUNNABLE;
                    }
                }
            }
        }
        flags
    }

    /// `get_complex_task` + `pcmk__action_text`: for a primitive, a completed
    /// action name maps to the action itself (`running` → `start`).
    pub fn complex_task(&self, r: RscId, task: &str) -> String {
        if self.is_primitive(r) {
            match task {
                "stopped" => return "stop".into(),
                "running" | "start" => return "start".into(),
                "demoted" => return "demote".into(),
                "promoted" => return "promote".into(),
                _ => {}
            }
        }
        match task {
            "started" => "running".into(),
            t => t.into(),
        }
    }

    /// `pcmk__group_update_ordered_actions`.
    pub fn group_update_ordered_actions(
        &mut self,
        first: ActionId,
        then: ActionId,
        node: Option<NodeId>,
        flags: u32,
        filter: u32,
        kind: u32,
    ) -> u32 {
        let mut changed = self.update_ordered_actions(first, then, node, flags, filter, kind);
        let Some(r) = self.actions[then].rsc else {
            return changed;
        };
        let task = self.actions[then].task.clone();
        for m in self.rscs[r].children.clone() {
            let found = self.rscs[m].actions.iter().rev().copied().find(|&x| {
                self.actions[x].task == task && (node.is_none() || self.actions[x].node == node)
            });
            if let Some(ma) = found {
                changed |= self.update_dispatch(m, first, ma, node, flags, filter, kind);
            }
        }
        changed
    }

    /// `pcmk__group_apply_location`: the group's own table gets the scores; the
    /// first member too; later members of a colocated group get the nodes with
    /// score 0 (they follow the first member through the internal colocations).
    pub fn apply_location_group(&mut self, r: RscId, l: usize) {
        self.apply_location_primitive(r, l);
        let orig = self.locations[l].nodes.clone();
        let zeroed: Vec<(NodeId, i32)> = orig.iter().map(|&(n, _)| (n, 0)).collect();
        let colocated = self.rscs[r].group_colocated;
        for (i, m) in self.rscs[r].children.clone().into_iter().enumerate() {
            if colocated && i > 0 {
                self.locations[l].nodes = zeroed.clone();
            }
            self.apply_location(m, l);
        }
        self.locations[l].nodes = orig;
    }
}
