//! Colocation arithmetic: which colocations apply to a resource, and how they
//! change node scores (for placement) or promotion priorities (for roles).

use halo_cib::model::{INFINITY, add_scores};

use crate::sched::*;

/// Marks a node as unusable while merging optional colocation scores.
pub const INFINITY_HACK: i32 = INFINITY * -100;

/// What a colocation affects at this point of scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affects {
    Nothing,
    Location,
    Role,
}

/// Flags for [`Scheduler::add_colocated_node_scores`].
pub mod sel {
    pub const THIS_WITH: u32 = 1 << 0;
    pub const NONNEGATIVE: u32 = 1 << 1;
    pub const ACTIVE: u32 = 1 << 2;
}

impl<'a> Scheduler<'a> {
    /// `pcmk__add_this_with_list`, including Pacemaker's behaviour of adding the
    /// list's first element once per element when the target list is not empty.
    fn add_this_with_list(&self, list: &mut Vec<usize>, addition: &[usize]) {
        if list.is_empty() {
            list.extend_from_slice(addition);
            return;
        }
        if let Some(&first) = addition.first() {
            for _ in addition {
                self.list_add_this_with(list, first);
            }
        }
    }

    /// `pcmk__add_with_this_list` (same behaviour).
    fn add_with_this_list(&self, list: &mut Vec<usize>, addition: &[usize]) {
        if list.is_empty() {
            list.extend_from_slice(addition);
            return;
        }
        if let Some(&first) = addition.first() {
            for _ in addition {
                self.list_add_with_this(list, first);
            }
        }
    }

    /// `pcmk__this_with_colocations`: colocations where `r` (or an ancestor, as
    /// relevant) is the dependent.
    pub fn this_with_colocations(&self, r: RscId) -> Vec<usize> {
        let mut list = Vec::new();
        self.this_with_into(r, r, &mut list);
        list
    }

    /// `pcmk__with_this_colocations`: colocations where `r` (or an ancestor, as
    /// relevant) is the primary.
    pub fn with_this_colocations(&self, r: RscId) -> Vec<usize> {
        let mut list = Vec::new();
        self.with_this_into(r, r, &mut list);
        list
    }

    fn this_with_into(&self, r: RscId, orig: RscId, list: &mut Vec<usize>) {
        let rsc = &self.rscs[r];
        match rsc.variant {
            Variant::Primitive => {
                if r == orig {
                    let own = rsc.this_with.clone();
                    self.add_this_with_list(list, &own);
                    if let Some(p) = rsc.parent {
                        self.this_with_into(p, orig, list);
                    }
                } else {
                    for &c in &rsc.this_with {
                        if self.colocations[c].explicit {
                            self.list_add_this_with(list, c);
                        }
                    }
                }
            }
            Variant::Group => {
                if rsc.children.is_empty() {
                    return;
                }
                if r == orig || rsc.children.first() == Some(&orig) {
                    let own = rsc.this_with.clone();
                    self.add_this_with_list(list, &own);
                    if let Some(p) = rsc.parent {
                        self.this_with_into(p, orig, list);
                    }
                    if !rsc.group_colocated {
                        return;
                    }
                    for &m in &rsc.children {
                        if m != orig {
                            self.this_with_into(m, orig, list);
                        }
                    }
                    return;
                }
                for &m in &rsc.children {
                    if m == orig {
                        break;
                    }
                    if !self.rflag(m, rf::MANAGED) {
                        for &c in &rsc.this_with {
                            if self.colocations[c].score == INFINITY {
                                self.list_add_this_with(list, c);
                            }
                        }
                        break;
                    }
                }
            }
            Variant::Clone => {
                let own = rsc.this_with.clone();
                self.add_this_with_list(list, &own);
                if let Some(p) = rsc.parent {
                    self.this_with_into(p, orig, list);
                }
            }
        }
    }

    fn with_this_into(&self, r: RscId, orig: RscId, list: &mut Vec<usize>) {
        let rsc = &self.rscs[r];
        match rsc.variant {
            Variant::Primitive => {
                if r == orig {
                    let own = rsc.with_this.clone();
                    self.add_with_this_list(list, &own);
                    if let Some(p) = rsc.parent {
                        self.with_this_into(p, orig, list);
                    }
                } else {
                    for &c in &rsc.with_this {
                        if self.colocations[c].explicit {
                            self.list_add_with_this(list, c);
                        }
                    }
                }
            }
            Variant::Group => {
                if rsc.children.is_empty() {
                    return;
                }
                if orig != r && rsc.children.last() != Some(&orig) {
                    return;
                }
                let own = rsc.with_this.clone();
                self.add_with_this_list(list, &own);
                if let Some(p) = rsc.parent {
                    self.with_this_into(p, orig, list);
                }
                if !rsc.group_colocated {
                    return;
                }
                for &m in &rsc.children {
                    if m != orig {
                        self.with_this_into(m, orig, list);
                    }
                }
            }
            Variant::Clone => {
                let own = rsc.with_this.clone();
                self.add_with_this_list(list, &own);
                if let Some(p) = rsc.parent {
                    self.with_this_into(p, orig, list);
                }
            }
        }
    }

    /// `pcmk__colocation_has_influence`.
    pub fn coloc_has_influence(&self, c: usize, rsc: Option<RscId>) -> bool {
        let col = &self.colocations[c];
        let r = rsc.unwrap_or(col.primary);
        col.influence || self.rscs[r].active_nodes.is_empty()
    }

    /// `pcmk__colocation_affects`.
    pub fn coloc_affects(
        &self,
        dependent: RscId,
        primary: RscId,
        c: usize,
        preview: bool,
    ) -> Affects {
        let col = &self.colocations[c];
        if !preview && self.rflag(primary, rf::UNASSIGNED) {
            return Affects::Nothing;
        }
        let dep = &self.rscs[dependent];
        if col.dependent_role >= Role::Unpromoted
            && dep.parent.is_some_and(|p| self.rflag(p, rf::PROMOTABLE))
            && !self.rflag(dependent, rf::UNASSIGNED)
        {
            return Affects::Role;
        }
        if !preview && !self.rflag(dependent, rf::UNASSIGNED) {
            return Affects::Nothing;
        }
        if col.dependent_role != Role::Unknown && col.dependent_role != dep.next_role {
            return Affects::Nothing;
        }
        if col.primary_role != Role::Unknown && col.primary_role != self.rscs[primary].next_role {
            return Affects::Nothing;
        }
        Affects::Location
    }

    /// `pcmk__colocation_node_attr`: a node attribute used to match colocations.
    pub fn coloc_node_attr(&self, n: NodeId, attr: &str) -> Option<&str> {
        self.nodes[n].attr(attr)
    }

    /// `pcmk__apply_coloc_to_scores`.
    pub fn apply_coloc_to_scores(&mut self, dependent: RscId, primary: RscId, c: usize) {
        let col = self.colocations[c].clone();
        let attr = col.node_attribute.as_str();
        let primary_node = self.rscs[primary].assigned;
        let value = match primary_node {
            Some(pn) => self.coloc_node_attr(pn, attr).map(str::to_string),
            None if col.score < 0 => return,
            None => None,
        };
        let mut work = self.rscs[dependent].allowed.clone();
        for (n, entry) in work.iter_mut().enumerate() {
            let Some(a) = entry else { continue };
            if primary_node.is_none() {
                a.score = add_scores(-col.score, a.score);
                continue;
            }
            let nv = self.coloc_node_attr(n, attr);
            let same = match (nv, value.as_deref()) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            };
            if same {
                if col.score < INFINITY {
                    a.score = add_scores(col.score, a.score);
                }
                continue;
            }
            if col.score >= INFINITY {
                a.score = -INFINITY;
            }
        }
        if col.score <= -INFINITY || col.score >= INFINITY || self.any_node_available(&work) {
            self.rscs[dependent].allowed = work;
        }
    }

    /// `pcmk__apply_coloc_to_priority`.
    pub fn apply_coloc_to_priority(&mut self, dependent: RscId, primary: RscId, c: usize) -> i32 {
        let col = self.colocations[c].clone();
        let Some(dn) = self.rscs[dependent].assigned else {
            return 0;
        };
        let pn = self.rscs[primary].assigned;
        if pn.is_some()
            && col.primary_role != Role::Unknown
            && col.primary_role != self.rscs[primary].next_role
        {
            return 0;
        }
        let dv = self
            .coloc_node_attr(dn, &col.node_attribute)
            .map(str::to_string);
        let pv = pn.and_then(|p| {
            self.coloc_node_attr(p, &col.node_attribute)
                .map(str::to_string)
        });
        let same = match (&dv, &pv) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            (None, None) => true,
            _ => false,
        };
        let mut mult = 1;
        if !same {
            if col.score == INFINITY && col.dependent_role == Role::Promoted {
                mult = -1;
            } else {
                return 0;
            }
        } else if col.dependent_role == Role::Unpromoted {
            mult = -1;
        }
        let delta = mult * col.score;
        self.rscs[dependent].priority = add_scores(delta, self.rscs[dependent].priority);
        delta
    }

    /// Whether a node's score should be left alone as unusable.
    fn allowed_on_one(&self, r: RscId) -> bool {
        self.rscs[r]
            .allowed
            .iter()
            .flatten()
            .filter(|a| a.score >= 0)
            .count()
            == 1
    }

    /// `best_node_score_matching_attr` for every node at once: entry `n` is
    /// the best score of `r` on an available node whose `attr` has the value
    /// it has on node `n` (`-INFINITY` if none). Pacemaker computes it per
    /// node, comparing with every node: quadratic in the number of nodes.
    fn best_scores_matching_attr(&mut self, c: usize, r: RscId, attr: &str) -> Vec<i32> {
        let col = &self.colocations[c];
        let mut saved: Option<NodeTable> = None;
        if r == col.dependent
            && col.explicit
            && let Some(p) = self.rscs[r].parent
            && self.is_group(p)
            && self.rscs[p].children.first() != Some(&r)
        {
            saved = Some(self.rscs[r].allowed.clone());
            let locs: Vec<usize> = (0..self.locations.len())
                .filter(|&l| self.locations[l].rsc == p)
                .collect();
            for l in locs.into_iter().rev() {
                self.apply_location_primitive(r, l);
            }
        }
        // Values compare case-insensitively; nodes without the attribute match
        // each other.
        let values: Vec<Option<String>> = (0..self.nodes.len())
            .map(|n| self.coloc_node_attr(n, attr).map(str::to_ascii_lowercase))
            .collect();
        let mut best_by_value: HashMap<Option<&str>, i32> = HashMap::default();
        for (n, a) in self.rscs[r].allowed.iter().enumerate() {
            let Some(a) = a else { continue };
            if a.score > -INFINITY && self.node_available(n, None) {
                let best = best_by_value.entry(values[n].as_deref()).or_insert(a.score);
                *best = (*best).max(a.score);
            }
        }
        let best = values
            .iter()
            .map(|v| {
                best_by_value
                    .get(&v.as_deref())
                    .copied()
                    .unwrap_or(-INFINITY)
            })
            .collect();
        if let Some(t) = saved {
            self.rscs[r].allowed = t;
        }
        best
    }

    /// `add_node_scores_matching_attr`.
    fn add_node_scores_matching_attr(
        &mut self,
        nodes: &mut NodeTable,
        source: RscId,
        _target: RscId,
        c: usize,
        factor: f32,
        only_positive: bool,
    ) {
        if nodes.iter().all(Option::is_none) {
            return;
        }
        let attr = self.colocations[c].node_attribute.clone();
        let best = self.best_scores_matching_attr(c, source, &attr);
        let mut dependent_on_one: Option<bool> = None;
        for (n, entry) in nodes.iter_mut().enumerate() {
            let Some(cur) = *entry else { continue };
            let score = best[n];
            if factor < 0.0 && score < 0 {
                let primary = self.colocations[c].primary;
                let dependent = self.colocations[c].dependent;
                if self.rscs[primary].stickiness >= -score
                    || !self.coloc_has_influence(c, None)
                    || !*dependent_on_one.get_or_insert_with(|| self.allowed_on_one(dependent))
                {
                    continue;
                }
            }
            if cur.score == INFINITY_HACK {
                continue;
            }
            let delta_f = factor * score as f32;
            let mut delta = if delta_f < 0.0 {
                (delta_f - 0.5) as i32
            } else {
                (delta_f + 0.5) as i32
            };
            if delta == 0 && score != 0 {
                if factor > 0.0 {
                    delta = 1;
                } else if factor < 0.0 {
                    delta = -1;
                }
            }
            let new_score = add_scores(delta, cur.score);
            let Some(s) = entry.as_mut().map(|e| &mut e.score) else {
                continue;
            };
            if only_positive && new_score < 0 && *s > 0 {
                *s = INFINITY_HACK;
                continue;
            }
            if only_positive && new_score < 0 && *s == 0 {
                continue;
            }
            *s = new_score;
        }
    }

    /// `pcmk__add_colocated_node_scores` (and the group variant, which
    /// delegates to its first member).
    #[allow(clippy::too_many_arguments)]
    pub fn add_colocated_node_scores(
        &mut self,
        source: RscId,
        target: Option<RscId>,
        nodes: &mut Option<NodeTable>,
        c: Option<usize>,
        factor: f32,
        flags: u32,
    ) {
        if self.is_group(source) {
            // pcmk__group_add_colocated_node_scores: the last member stands for
            // the group when the group's own scores are wanted, otherwise the
            // first member.
            if self.rflag(source, rf::UPDATING_NODES) {
                return;
            }
            self.set_rflag(source, rf::UPDATING_NODES);
            let member = if nodes.is_none() {
                self.rscs[source].children.last().copied()
            } else {
                self.rscs[source].children.first().copied()
            };
            if let Some(m) = member {
                self.add_colocated_node_scores(m, target, nodes, c, factor, flags);
            }
            self.clear_rflag(source, rf::UPDATING_NODES);
            return;
        }
        if self.rflag(source, rf::UPDATING_NODES) {
            return;
        }
        self.set_rflag(source, rf::UPDATING_NODES);
        let mut flags = flags;
        let target = target.unwrap_or(source);
        let mut work = match nodes {
            None => self.rscs[source].allowed.clone(),
            Some(t) => {
                let mut w = t.clone();
                if let Some(c) = c {
                    let pos = flags & sel::NONNEGATIVE != 0;
                    self.add_node_scores_matching_attr(&mut w, source, target, c, factor, pos);
                }
                w
            }
        };
        if self.any_node_available(&work) {
            let list = if flags & sel::THIS_WITH != 0 {
                self.this_with_colocations(source)
            } else {
                self.with_this_colocations(source)
            };
            flags |= sel::ACTIVE;
            for ci in list {
                let col = self.colocations[ci].clone();
                let other = if flags & sel::THIS_WITH != 0 {
                    col.primary
                } else if !self.coloc_has_influence(ci, None) {
                    continue;
                } else {
                    col.dependent
                };
                let other_factor = factor * col.score as f32 / INFINITY as f32;
                let mut w = Some(work);
                self.add_colocated_node_scores(
                    other,
                    Some(target),
                    &mut w,
                    Some(ci),
                    other_factor,
                    flags,
                );
                work = w.unwrap_or_default();
            }
        } else if flags & sel::ACTIVE != 0 {
            self.clear_rflag(source, rf::UPDATING_NODES);
            return;
        }
        if flags & sel::NONNEGATIVE != 0 {
            for a in work.iter_mut().flatten() {
                if a.score == INFINITY_HACK {
                    a.score = 1;
                }
            }
        }
        *nodes = Some(work);
        self.clear_rflag(source, rf::UPDATING_NODES);
    }

    /// `pcmk__add_dependent_scores`.
    pub fn add_dependent_scores(&mut self, c: usize, primary: RscId) {
        let col = self.colocations[c].clone();
        let factor = col.score as f32 / INFINITY as f32;
        let mut flags = sel::ACTIVE;
        if !self.coloc_has_influence(c, None) {
            return;
        }
        if self.is_clone(primary) {
            flags |= sel::NONNEGATIVE;
        }
        let mut t = Some(self.rscs[primary].allowed.clone());
        self.add_colocated_node_scores(
            col.dependent,
            Some(primary),
            &mut t,
            Some(c),
            factor,
            flags,
        );
        if let Some(t) = t {
            self.rscs[primary].allowed = t;
        }
    }

    /// `pcmk__block_colocation_dependents`.
    pub fn block_colocation_dependents(&mut self, a: ActionId) {
        if self.aflag(a, af::RUNNABLE) {
            return;
        }
        let task = self.actions[a].task.clone();
        let is_start = task == "start";
        if !is_start && task != "promote" {
            return;
        }
        let Some(ar) = self.actions[a].rsc else {
            return;
        };
        let mut r = self.top_of(ar);
        if let Some(p) = self.rscs[r].parent {
            r = p;
        }
        for c in self.rscs[r].children.clone() {
            match self.first_action_by_task(c, &task) {
                None => return,
                Some(ca) if self.aflag(ca, af::RUNNABLE) => return,
                _ => {}
            }
        }
        for ci in self.with_this_colocations(r) {
            let col = self.colocations[ci].clone();
            if col.score < INFINITY {
                continue;
            }
            if !is_start && col.primary_role != Role::Promoted {
                continue;
            }
            let t = if col.dependent_role == Role::Promoted {
                "promote"
            } else {
                "start"
            };
            self.mark_action_blocked(col.dependent, t, ar);
        }
    }

    fn mark_action_blocked(&mut self, r: RscId, task: &str, reason_rsc: RscId) {
        let reason = format!("colocation with {}", self.rscs[reason_rsc].id);
        for a in self.rscs[r].actions.clone() {
            if self.aflag(a, af::RUNNABLE) && self.actions[a].task == task {
                self.actions[a].flags &= !af::RUNNABLE;
                self.set_reason(a, Some(&reason), false);
                self.block_colocation_dependents(a);
                self.update_action_for_orderings(a);
            }
        }
        for c in self.rscs[r].children.clone() {
            self.mark_action_blocked(c, task, reason_rsc);
        }
    }
}
