//! Promotable clones: after the instances are placed, choose which of them to
//! promote (Pacemaker's `pcmk_sched_promotable.c`).
//!
//! Each active instance gets a promotion priority: the promotion score its
//! agent published on its node (the `master-<rsc>` node attribute), plus
//! location constraints for the Promoted role and role colocations. The
//! instances are sorted by that priority (after adding the scores of resources
//! colocated with the Promoted role) and the first `promoted-max` eligible
//! ones are promoted, at most `promoted-node-max` per node.

use halo_cib::model::{INFINITY, Score, add_scores};

use crate::notify::NotifyKind;
use crate::nvsets::Refs;
use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// Depth-first search below `r` (inclusive) for a clone member whose id or
    /// configured id is `id`, active on `node` if given (`native_find_rsc`
    /// with `pcmk_rsc_match_clone_only`).
    fn find_clone_member(&self, r: RscId, id: &str, node: Option<NodeId>) -> Option<RscId> {
        let rsc = &self.rscs[r];
        if (rsc.id == id || rsc.xml_id == id) && node.is_none_or(|n| rsc.active_nodes.contains(&n))
        {
            return Some(r);
        }
        rsc.children
            .iter()
            .find_map(|&c| self.find_clone_member(c, id, node))
    }

    /// `promotion_score_applies`.
    fn promotion_score_applies(&self, r: RscId, n: NodeId) -> bool {
        let id = crate::history::clone_strip(&self.rscs[r].id);
        let parent = self.top_of(r);
        let allowed = || self.rscs[r].allowed[n].is_some_and(|a| a.score >= 0);
        if !self.rflag(r, rf::UNIQUE) {
            let active = self.rscs[parent]
                .children
                .iter()
                .find_map(|&c| self.find_clone_member(c, id, Some(n)));
            if active == Some(r) {
                return allowed();
            }
            if active.is_none() {
                let known = self.rscs[parent].children.iter().any(|&c| {
                    self.find_clone_member(c, id, None)
                        .is_some_and(|m| self.rscs[m].probed[n])
                });
                if known {
                    return allowed();
                }
            }
        }
        let rsc = &self.rscs[r];
        if rsc.active_nodes.is_empty() && !rsc.probed.iter().any(|&p| p) {
            return allowed();
        }
        if rsc.probed[n] || rsc.active_nodes.contains(&n) {
            return allowed();
        }
        false
    }

    /// `promotion_score`: the score `r` published for `n`, and whether none
    /// was found (the default).
    fn promotion_score(&self, r: RscId, n: NodeId) -> (i32, bool) {
        let rsc = &self.rscs[r];
        if !rsc.children.is_empty() {
            let mut score = 0i32;
            let mut is_default = true;
            for &c in &rsc.children {
                let (s, d) = self.promotion_score(c, n);
                if !d {
                    is_default = false;
                }
                score = score.saturating_add(s);
            }
            return (score, is_default);
        }
        if !self.promotion_score_applies(r, n) {
            return (0, true);
        }
        let attr = |name: &str| self.node_attr(n, &format!("master-{name}"));
        let name = rsc.history_id.as_deref().unwrap_or(&rsc.id);
        let mut value = attr(name);
        if value.is_none() && !self.rflag(r, rf::UNIQUE) {
            let stripped = crate::history::clone_strip(&rsc.id);
            if stripped != rsc.id {
                value = attr(stripped);
            }
        }
        match value {
            None => (0, true),
            Some(v) => (Score::parse(v).map_or(0, |s| s.0), false),
        }
    }

    /// `pcmk__add_promotion_scores`.
    pub fn add_promotion_scores(&mut self, r: RscId) {
        match self.rscs[r].clone.as_mut() {
            Some(d) if !d.promotion_added => d.promotion_added = true,
            _ => return,
        }
        for c in self.rscs[r].children.clone() {
            for n in 0..self.nodes.len() {
                if self.rscs[c].allowed[n].is_none() || !self.node_available(n, None) {
                    continue;
                }
                let (score, _) = self.promotion_score(c, n);
                if score > 0
                    && let Some(a) = self.rscs[c].allowed[n].as_mut()
                {
                    a.score = add_scores(a.score, score);
                }
                if score > self.rscs[c].priority {
                    self.rscs[c].priority = score;
                }
            }
        }
    }

    /// `set_current_role_unpromoted`.
    fn set_current_role_unpromoted(&mut self, r: RscId) {
        if self.rscs[r].orig_role == Role::Started {
            self.rscs[r].orig_role = Role::Unpromoted;
        }
        for c in self.rscs[r].children.clone() {
            self.set_current_role_unpromoted(c);
        }
    }

    /// `set_next_role_unpromoted`.
    fn set_next_role_unpromoted(&mut self, r: RscId) {
        let role = if self.rsc_location(r, false, false, true).is_empty() {
            Role::Stopped
        } else {
            Role::Unpromoted
        };
        self.set_next_role(r, role);
        for c in self.rscs[r].children.clone() {
            self.set_next_role_unpromoted(c);
        }
    }

    /// `set_next_role_promoted`.
    fn set_next_role_promoted(&mut self, r: RscId) {
        if self.rscs[r].next_role == Role::Unknown {
            self.set_next_role(r, Role::Promoted);
        }
        for c in self.rscs[r].children.clone() {
            self.set_next_role_promoted(c);
        }
    }

    /// `apply_promoted_locations`: Promoted-role location scores for the
    /// chosen node add to the instance's priority.
    fn apply_promoted_locations(&mut self, inst: RscId, owner: RscId, chosen: NodeId) {
        for l in (0..self.locations.len()).rev() {
            let loc = &self.locations[l];
            if loc.rsc != owner || loc.role_filter != Role::Promoted {
                continue;
            }
            if let Some(&(_, score)) = loc.nodes.iter().find(|(n, _)| *n == chosen) {
                self.rscs[inst].priority = add_scores(self.rscs[inst].priority, score);
            }
        }
    }

    /// `set_instance_priority`.
    fn set_instance_priority(&mut self, inst: RscId, clone: RscId) {
        if self.rsc_state(inst, true) == Role::Started {
            self.set_current_role_unpromoted(inst);
        }
        let list = self.rsc_location(inst, false, false, true);
        if list.len() > 1 {
            let id = self.rscs[inst].id.clone();
            self.err(format!("Cannot promote non-colocated child {id}"));
        }
        let Some(&chosen) = list.first().filter(|_| list.len() == 1) else {
            return;
        };
        let next_role = self.rsc_state(inst, false);
        match next_role {
            Role::Started | Role::Unknown => {
                let (score, is_default) = self.promotion_score(inst, chosen);
                self.rscs[inst].priority = if is_default { -1 } else { score };
            }
            Role::Unpromoted | Role::Stopped => self.rscs[inst].priority = -INFINITY,
            Role::Promoted => {}
        }
        self.apply_promoted_locations(inst, inst, chosen);
        self.apply_promoted_locations(inst, clone, chosen);
        for c in self.this_with_colocations(inst) {
            let primary = self.colocations[c].primary;
            self.apply_coloc_score(inst, inst, primary, c, true);
        }
        self.rscs[inst].promotion_priority = if next_role == Role::Promoted {
            INFINITY
        } else {
            self.rscs[inst].priority
        };
    }

    /// `sort_promotable_instances`.
    fn sort_promotable_instances(&mut self, clone: RscId) {
        match self.rscs[clone].clone.as_mut() {
            Some(d) if !d.promotion_constrained => d.promotion_constrained = true,
            _ => return,
        }
        self.set_rflag(clone, rf::UPDATING_NODES);
        for c in self.rscs[clone].children.clone() {
            let pp = self.rscs[c].promotion_priority;
            if pp < 0 {
                continue;
            }
            let Some(chosen) = self.rsc_location_one(c, false, false, true) else {
                continue;
            };
            if let Some(a) = self.rscs[clone].allowed[chosen].as_mut() {
                a.score = add_scores(pp, a.score);
            }
        }
        for c in self.with_this_colocations(clone) {
            let col = self.colocations[c].clone();
            if col.primary_role != Role::Promoted || !self.coloc_has_influence(c, None) {
                continue;
            }
            let factor = col.score as f32 / INFINITY as f32;
            let mut table = Some(self.rscs[clone].allowed.clone());
            self.add_colocated_node_scores(
                col.dependent,
                Some(clone),
                &mut table,
                Some(c),
                factor,
                crate::coloc::sel::ACTIVE | crate::coloc::sel::NONNEGATIVE,
            );
            if let Some(t) = table {
                self.rscs[clone].allowed = t;
            }
        }
        for c in self.rscs[clone].children.clone() {
            let chosen = self.rsc_location_one(c, false, false, true);
            let pp = if !self.rflag(c, rf::MANAGED) && self.rscs[c].next_role == Role::Promoted {
                INFINITY
            } else if let Some(n) = chosen {
                let pp = self.rscs[c].promotion_priority;
                if pp < 0 {
                    pp
                } else {
                    self.rscs[clone].allowed[n].map_or(pp, |a| a.score)
                }
            } else {
                -INFINITY
            };
            self.rscs[c].promotion_priority = pp;
        }
        let mut children = self.rscs[clone].children.clone();
        crate::util::glib_sort(&mut children, &mut |&a, &b| {
            self.cmp_promotable_instance(a, b)
        });
        self.rscs[clone].children = children;
        self.clear_rflag(clone, rf::UPDATING_NODES);
    }

    /// `cmp_promotable_instance`.
    fn cmp_promotable_instance(&mut self, a: RscId, b: RscId) -> std::cmp::Ordering {
        let (p1, p2) = (
            self.rscs[a].promotion_priority,
            self.rscs[b].promotion_priority,
        );
        match p2.cmp(&p1) {
            std::cmp::Ordering::Equal => {}
            o => return o,
        }
        match self.rsc_state(b, true).cmp(&self.rsc_state(a, true)) {
            std::cmp::Ordering::Equal => {}
            o => return o,
        }
        self.cmp_instance(a, b)
    }

    /// `node_to_be_promoted_on`.
    fn node_to_be_promoted_on(&mut self, r: RscId) -> Option<NodeId> {
        for c in self.rscs[r].children.clone() {
            self.node_to_be_promoted_on(c)?;
        }
        let node = self.rsc_location_one(r, false, false, true)?;
        if !self.rflag(r, rf::MANAGED) {
            if self.rsc_state(r, true) != Role::Promoted {
                return None;
            }
        } else if self.rscs[r].priority < 0 || !self.node_available(node, None) {
            return None;
        }
        let parent = self.top_of(r);
        let Some(local) = self.rscs[parent].allowed[node] else {
            if self.rflag(r, rf::MANAGED) {
                let (id, pid) = (self.rscs[r].id.clone(), self.rscs[parent].id.clone());
                let name = self.nodes[node].name.clone();
                self.err(format!(
                    "{id} can't be promoted because {pid} is not allowed on {name} (scheduler bug?)"
                ));
            }
            return None;
        };
        let node_max = self.clone_settings(r).promoted_node_max;
        if local.count >= node_max && self.rflag(r, rf::MANAGED) {
            return None;
        }
        Some(node)
    }

    /// `set_instance_role`.
    fn set_instance_role(&mut self, inst: RscId, count: &mut i32) {
        let clone = self.top_of(inst);
        let chosen_for_score = self.rsc_location_one(inst, false, false, true);
        let score = Score(self.rscs[inst].promotion_priority);
        if self.score_lines.is_some() {
            let line = match chosen_for_score {
                None => format!("{} promotion score (inactive): {score}", self.rscs[inst].id),
                Some(n) => format!(
                    "{} promotion score on {}: {score}",
                    self.rscs[inst].id, self.nodes[n].name
                ),
            };
            self.score_lines.get_or_insert_default().push(line);
        }
        let mut chosen = None;
        if self.rscs[inst].promotion_priority >= 0
            && (*count < self.clone_settings(inst).promoted_max || !self.rflag(clone, rf::MANAGED))
        {
            chosen = self.node_to_be_promoted_on(inst);
        }
        let Some(chosen) = chosen else {
            self.set_next_role_unpromoted(inst);
            return;
        };
        if self.rscs[inst].orig_role < Role::Promoted
            && !self.is(sf::QUORATE)
            && self.no_quorum_policy == NoQuorumPolicy::Freeze
        {
            self.set_next_role_unpromoted(inst);
            return;
        }
        if let Some(a) = self.rscs[clone].allowed[chosen].as_mut() {
            a.count += 1;
        }
        self.set_next_role_promoted(inst);
        *count += 1;
    }

    /// `pcmk__set_instance_roles`.
    pub fn set_instance_roles(&mut self, r: RscId) {
        for a in self.rscs[r].allowed.iter_mut().flatten() {
            a.count = 0;
        }
        for inst in self.rscs[r].children.clone() {
            self.set_instance_priority(inst, r);
        }
        self.sort_promotable_instances(r);
        let mut promoted = 0;
        for inst in self.rscs[r].children.clone() {
            self.set_instance_role(inst, &mut promoted);
        }
    }

    /// `check_for_role_change`: whether any instance (or member) will be
    /// demoted or promoted.
    fn check_for_role_change(&self, r: RscId, demoting: &mut bool, promoting: &mut bool) {
        if !self.rscs[r].children.is_empty() {
            for &c in &self.rscs[r].children {
                self.check_for_role_change(c, demoting, promoting);
            }
            return;
        }
        for &a in self.rscs[r].actions.iter().rev() {
            if *promoting && *demoting {
                return;
            }
            let act = &self.actions[a];
            if act.flags & af::OPTIONAL != 0 {
                continue;
            }
            match act.task.as_str() {
                "demote" => *demoting = true,
                "promote" => *promoting = true,
                _ => {}
            }
        }
    }

    /// `pcmk__create_promotable_actions`.
    pub fn create_promotable_actions(&mut self, refs: &Refs<'a>, clone: RscId) {
        let (mut promoting, mut demoting) = (false, false);
        for inst in self.rscs[clone].children.clone() {
            self.create_actions(refs, inst);
            self.check_for_role_change(inst, &mut demoting, &mut promoting);
        }
        let promote = self.rsc_pseudo_action(refs, clone, "promote", !promoting, true);
        let promoted = self.rsc_pseudo_action(refs, clone, "promoted", !promoting, true);
        self.notif_pseudo_ops(
            refs,
            clone,
            NotifyKind::Promote,
            Some(promote),
            Some(promoted),
        );
        let demote = self.rsc_pseudo_action(refs, clone, "demote", !demoting, true);
        let demoted = self.rsc_pseudo_action(refs, clone, "demoted", !demoting, true);
        self.notif_pseudo_ops(refs, clone, NotifyKind::Demote, Some(demote), Some(demoted));
        self.order_promotable_notifications(clone);
        let priority = self.rscs[clone].priority;
        for inst in self.rscs[clone].children.clone() {
            self.rscs[inst].priority = priority;
        }
    }

    /// `pcmk__order_promotable_instances`.
    pub fn order_promotable_instances(&mut self, clone: RscId) {
        self.order_rsc_actions(clone, "stopped", clone, "start", ar::ORDERED);
        self.order_rsc_actions(clone, "stopped", clone, "promote", ar::ORDERED);
        self.order_rsc_actions(clone, "demoted", clone, "stop", ar::ORDERED);
        self.order_rsc_actions(clone, "demoted", clone, "start", ar::ORDERED);
        self.order_rsc_actions(clone, "demoted", clone, "promote", ar::ORDERED);
        self.order_rsc_actions(clone, "running", clone, "promote", ar::ORDERED);
        self.order_rsc_actions(clone, "demote", clone, "demoted", ar::ORDERED);
        let ordered = self.rscs[clone].clone.as_ref().is_some_and(|d| d.ordered);
        let mut previous: Option<RscId> = None;
        for inst in self.rscs[clone].children.clone() {
            self.order_rsc_actions(inst, "demote", inst, "promote", ar::ORDERED);
            self.order_rsc_actions(clone, "promote", inst, "promote", ar::ORDERED);
            self.order_rsc_actions(inst, "promote", clone, "promoted", ar::ORDERED);
            if let (Some(last), true) = (previous, ordered) {
                self.order_rsc_actions(last, "promote", inst, "promote", ar::ORDERED);
            }
            self.order_rsc_actions(
                clone,
                "demote",
                inst,
                "demote",
                ar::THEN_IMPLIES_FIRST_GRAPHED,
            );
            self.order_rsc_actions(
                inst,
                "demote",
                clone,
                "demoted",
                ar::FIRST_IMPLIES_THEN_GRAPHED,
            );
            if let (Some(last), true) = (previous, ordered) {
                self.order_rsc_actions(inst, "demote", last, "demote", ar::ORDERED);
            }
            previous = Some(inst);
        }
    }

    /// `update_dependent_allowed_nodes`.
    fn update_dependent_allowed_nodes(&mut self, dependent: RscId, primary_node: NodeId, c: usize) {
        let col = &self.colocations[c];
        if col.score >= INFINITY {
            return;
        }
        let (attr, score) = (col.node_attribute.clone(), col.score);
        let pv = self
            .coloc_node_attr(primary_node, &attr)
            .map(str::to_string);
        for n in 0..self.nodes.len() {
            if self.rscs[dependent].allowed[n].is_none() {
                continue;
            }
            let dv = self.coloc_node_attr(n, &attr);
            let same = match (pv.as_deref(), dv) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            };
            if same && let Some(a) = self.rscs[dependent].allowed[n].as_mut() {
                a.score = add_scores(a.score, score);
            }
        }
    }

    /// `pcmk__update_dependent_with_promotable`.
    pub fn update_dependent_with_promotable(&mut self, primary: RscId, dependent: RscId, c: usize) {
        let col = self.colocations[c].clone();
        let mut affected: Vec<(NodeId, i32)> = Vec::new();
        for inst in self.rscs[primary].children.clone() {
            let Some(n) = self.rsc_location_one(inst, false, false, true) else {
                continue;
            };
            if self.rsc_state(inst, false) == col.primary_role {
                self.update_dependent_allowed_nodes(dependent, n, c);
                affected.insert(0, (n, self.assigned_score(inst)));
            }
        }
        if col.score >= INFINITY
            && (col.dependent_role != Role::Promoted || col.primary_role != Role::Promoted)
        {
            self.colocation_intersect_nodes(dependent, &affected, true);
        }
    }

    /// `pcmk__update_promotable_dependent_priority`.
    pub fn update_promotable_dependent_priority(
        &mut self,
        primary: RscId,
        dependent: RscId,
        c: usize,
    ) -> i32 {
        let col = self.colocations[c].clone();
        let found = self.find_compatible_instance(
            dependent,
            primary,
            col.primary_role,
            false,
            Some(&col.node_attribute),
        );
        if found.is_some() {
            self.rscs[dependent].priority = add_scores(self.rscs[dependent].priority, col.score);
            return col.score;
        }
        if col.score >= INFINITY {
            self.rscs[dependent].priority = -INFINITY;
            return -INFINITY;
        }
        0
    }
}
