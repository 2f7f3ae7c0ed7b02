//! Stage 8: resolve orderings to action pairs, then propagate "required" and
//! "runnable" along them until nothing changes (Pacemaker's
//! `pcmk__apply_orderings` and `pcmk__update_action_for_orderings`).
//!
//! Propagation rules, per ordering flag: a required `first` makes `then`
//! required (first-implies-then); a required `then` makes `first` required
//! (then-implies-first); an unrunnable `first` makes `then` unrunnable
//! (unrunnable-first-blocks); and so on. Each change re-examines the orderings
//! of the changed action, so effects cascade through the graph.

use crate::nvsets::Refs;
use crate::sched::*;
use crate::util::op_key;

/// What an update changed.
pub mod upd {
    pub const NONE: u32 = 0;
    pub const FIRST: u32 = 1 << 0;
    pub const THEN: u32 = 1 << 1;
}

/// `pcmk__parse_action` + remapping for orderings (`action_uuid_for_ordering`).
fn completed_task(task: &str) -> Option<&'static str> {
    Some(match task {
        "stop" | "stopped" => "stopped",
        "start" | "running" => "running",
        "notify" | "notified" => "notified",
        "promote" | "promoted" => "promoted",
        "demote" | "demoted" => "demoted",
        _ => return None,
    })
}

impl<'a> Scheduler<'a> {
    /// `pcmk__apply_orderings`.
    pub fn apply_orderings(&mut self, refs: &Refs<'a>) {
        for i in 0..self.orderings.len() {
            let o = self.orderings[i].clone();
            if let Some(r1) = o.rsc1 {
                self.rsc_order_first(refs, r1, &o);
                continue;
            }
            if let Some(r2) = o.rsc2 {
                self.order_resource_actions_after(o.action1, r2, &o);
            } else if let (Some(a1), Some(a2)) = (o.action1, o.action2) {
                self.order_actions(a1, a2, o.flags);
            }
        }
        for a in (0..self.actions.len()).rev() {
            self.block_colocation_dependents(a);
        }
        self.order_probes();
        for a in (0..self.actions.len()).rev() {
            self.update_action_for_orderings(a);
        }
    }

    /// `find_actions_by_task`.
    fn actions_by_task(&mut self, r: RscId, key: &str) -> Vec<ActionId> {
        let list = self.rscs[r].actions.clone();
        let found = self.find_actions(&list, key, None);
        if !found.is_empty() {
            return found;
        }
        let Some((task, interval)) = parse_key_task(key) else {
            return Vec::new();
        };
        let k = op_key(&self.rscs[r].id, &task, interval);
        self.find_actions(&list, &k, None)
    }

    fn order_resource_actions_after(&mut self, first: Option<ActionId>, r: RscId, o: &Ordering) {
        let mut flags = o.flags;
        let thens = match o.action2 {
            Some(a) => vec![a],
            None => self.actions_by_task(r, o.task2.as_deref().unwrap_or("")),
        };
        if thens.is_empty() {
            return;
        }
        if let Some(f) = first
            && self.actions[f].rsc == Some(r)
            && self.aflag(f, af::MIGRATION_ABORT)
        {
            flags &= !ar::FIRST_IMPLIES_THEN;
        }
        if first.is_none() && flags & ar::FIRST_IMPLIES_THEN == 0 {
            return;
        }
        for t in thens {
            match first {
                Some(f) => {
                    self.order_actions(f, t, flags);
                }
                None => {
                    self.actions[t].flags &= !af::RUNNABLE;
                }
            }
        }
    }

    fn rsc_order_first(&mut self, refs: &Refs<'a>, first_rsc: RscId, o: &Ordering) {
        let mut firsts = match o.action1 {
            Some(a) => vec![a],
            None => self.actions_by_task(first_rsc, o.task1.as_deref().unwrap_or("")),
        };
        let then_rsc = o.rsc2;
        if firsts.is_empty() && Some(first_rsc) == then_rsc {
            return;
        }
        if firsts.is_empty() {
            let Some((task, interval)) = parse_key_task(o.task1.as_deref().unwrap_or("")) else {
                return;
            };
            let state = self.rsc_state(first_rsc, true);
            if (state == Role::Stopped && task == "stop")
                || (state == Role::Unpromoted && task == "demote")
            {
                return;
            }
            let key = op_key(&self.rscs[first_rsc].id, &task, interval);
            let a = self.custom_action(refs, Some(first_rsc), key, &task, None, true);
            firsts = vec![a];
        }
        let then_rsc = match then_rsc {
            Some(t) => Some(t),
            None => match o.action2 {
                None => return,
                Some(a2) => self.actions[a2].rsc,
            },
        };
        for f in firsts {
            match then_rsc {
                None => {
                    if let Some(a2) = o.action2 {
                        self.order_actions(f, a2, o.flags);
                    }
                }
                Some(t) => self.order_resource_actions_after(Some(f), t, o),
            }
        }
    }

    /// `action_for_ordering`: for a collective resource, the "completed" pseudo
    /// action (e.g. `running` instead of `start`).
    fn action_for_ordering(&self, a: ActionId) -> ActionId {
        let Some(r) = self.actions[a].rsc else {
            return a;
        };
        if self.rscs[r].variant < Variant::Group {
            return a;
        }
        let uuid = &self.actions[a].uuid;
        if uuid.contains("notify") || self.actions[a].interval_ms > 0 {
            return a;
        }
        let Some(done) = completed_task(&self.actions[a].task) else {
            return a;
        };
        let key = if self.rflag(r, rf::NOTIFY) && self.is_clone(r) {
            format!("{}_confirmed-post_notify_{done}_0", self.rscs[r].id)
        } else {
            op_key(&self.rscs[r].id, done, 0)
        };
        self.first_action_by_uuid(r, &key).unwrap_or(a)
    }

    /// `action_flags_for_ordering`.
    fn action_flags_for_ordering(&mut self, a: ActionId, node: Option<NodeId>) -> u32 {
        let Some(r) = self.actions[a].rsc else {
            return self.actions[a].flags;
        };
        let flags = self.rsc_action_flags(a, None);
        let Some(n) = node else { return flags };
        if !self.is_clone(r) {
            return flags;
        }
        let runnable = flags & af::RUNNABLE != 0;
        let mut f = self.rsc_action_flags(a, Some(n));
        if runnable {
            f |= af::RUNNABLE;
        }
        f
    }

    /// `action_flags` method dispatch.
    pub fn rsc_action_flags(&mut self, a: ActionId, node: Option<NodeId>) -> u32 {
        let Some(r) = self.actions[a].rsc else {
            return self.actions[a].flags;
        };
        match self.rscs[r].variant {
            Variant::Primitive => self.actions[a].flags,
            Variant::Group => self.group_action_flags(a, node),
            Variant::Clone => self.clone_action_flags(a, node),
        }
    }

    /// `update_ordered_actions` method dispatch (on `then`'s resource).
    #[allow(clippy::too_many_arguments)]
    pub fn update_dispatch(
        &mut self,
        r: RscId,
        first: ActionId,
        then: ActionId,
        node: Option<NodeId>,
        flags: u32,
        filter: u32,
        kind: u32,
    ) -> u32 {
        match self.rscs[r].variant {
            Variant::Primitive => {
                self.update_ordered_actions(first, then, node, flags, filter, kind)
            }
            Variant::Group => {
                self.group_update_ordered_actions(first, then, node, flags, filter, kind)
            }
            Variant::Clone => {
                self.instance_update_ordered_actions(first, then, node, flags, filter, kind)
            }
        }
    }

    /// `update_action_for_ordering_flags`.
    fn update_for_ordering_flags(
        &mut self,
        first: ActionId,
        then: ActionId,
        first_flags: u32,
        then_flags: u32,
        then_idx: usize,
    ) -> u32 {
        let mut changed = upd::NONE;
        let mut node = self.actions[then].node;
        let mut oflags = self.actions[then].before[then_idx].flags;
        if oflags & ar::FIRST_IMPLIES_SAME_NODE_THEN != 0 {
            oflags &= !ar::FIRST_IMPLIES_SAME_NODE_THEN;
            oflags |= ar::FIRST_IMPLIES_THEN;
            self.actions[then].before[then_idx].flags = oflags;
            node = self.actions[first].node;
        }
        let then_rsc = self.actions[then].rsc;
        let first_rsc = self.actions[first].rsc;
        if oflags & ar::FIRST_IMPLIES_THEN != 0 {
            if let Some(tr) = then_rsc {
                changed |= self.update_dispatch(
                    tr,
                    first,
                    then,
                    node,
                    first_flags & af::OPTIONAL,
                    af::OPTIONAL,
                    ar::FIRST_IMPLIES_THEN,
                );
            } else if first_flags & af::OPTIONAL == 0 && self.aflag(then, af::OPTIONAL) {
                self.actions[then].flags &= !af::OPTIONAL;
                changed |= upd::THEN;
            }
        }
        if oflags & ar::INTERMEDIATE_STOP != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags,
                af::OPTIONAL | af::RUNNABLE,
                ar::INTERMEDIATE_STOP,
            );
        }
        if oflags & ar::THEN_IMPLIES_FIRST != 0 {
            if let Some(fr) = first_rsc {
                changed |= self.update_dispatch(
                    fr,
                    first,
                    then,
                    node,
                    first_flags,
                    af::OPTIONAL,
                    ar::THEN_IMPLIES_FIRST,
                );
            } else if first_flags & af::OPTIONAL == 0 && self.aflag(first, af::RUNNABLE) {
                self.actions[first].flags &= !af::RUNNABLE;
                changed |= upd::FIRST;
            }
        }
        if oflags & ar::PROMOTED_THEN_IMPLIES_FIRST != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags & af::OPTIONAL,
                af::OPTIONAL,
                ar::PROMOTED_THEN_IMPLIES_FIRST,
            );
        }
        if oflags & ar::MIN_RUNNABLE != 0 {
            if let Some(tr) = then_rsc {
                changed |= self.update_dispatch(
                    tr,
                    first,
                    then,
                    node,
                    first_flags,
                    af::RUNNABLE,
                    ar::MIN_RUNNABLE,
                );
            } else if first_flags & af::RUNNABLE != 0 {
                self.actions[then].runnable_before += 1;
                let t = &self.actions[then];
                if t.runnable_before >= t.required_runnable_before && t.flags & af::RUNNABLE == 0 {
                    self.actions[then].flags |= af::RUNNABLE;
                    changed |= upd::THEN;
                }
            }
        }
        if oflags & ar::NESTED_REMOTE_PROBE != 0
            && let Some(tr) = then_rsc
        {
            if first_flags & af::RUNNABLE == 0
                && first_rsc.is_some_and(|fr| !self.rscs[fr].active_nodes.is_empty())
            {
                self.actions[then].before[then_idx].flags = ar::NONE;
                oflags = ar::NONE;
            } else {
                changed |= self.update_dispatch(
                    tr,
                    first,
                    then,
                    node,
                    first_flags,
                    af::RUNNABLE,
                    ar::UNRUNNABLE_FIRST_BLOCKS,
                );
            }
        }
        if oflags & ar::UNRUNNABLE_FIRST_BLOCKS != 0 {
            if let Some(tr) = then_rsc {
                changed |= self.update_dispatch(
                    tr,
                    first,
                    then,
                    node,
                    first_flags,
                    af::RUNNABLE,
                    ar::UNRUNNABLE_FIRST_BLOCKS,
                );
            } else if first_flags & af::RUNNABLE == 0 && self.aflag(then, af::RUNNABLE) {
                self.actions[then].flags &= !af::RUNNABLE;
                changed |= upd::THEN;
            }
        }
        if oflags & ar::UNMIGRATABLE_THEN_BLOCKS != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags,
                af::OPTIONAL,
                ar::UNMIGRATABLE_THEN_BLOCKS,
            );
        }
        if oflags & ar::FIRST_ELSE_THEN != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags,
                af::OPTIONAL,
                ar::FIRST_ELSE_THEN,
            );
        }
        if oflags & ar::ORDERED != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags,
                af::RUNNABLE,
                ar::ORDERED,
            );
        }
        if oflags & ar::ASYMMETRIC != 0
            && let Some(tr) = then_rsc
        {
            changed |= self.update_dispatch(
                tr,
                first,
                then,
                node,
                first_flags,
                af::RUNNABLE,
                ar::ASYMMETRIC,
            );
        }
        if self.aflag(first, af::RUNNABLE)
            && oflags & ar::FIRST_IMPLIES_THEN_GRAPHED != 0
            && first_flags & af::OPTIONAL == 0
        {
            self.actions[then].flags |= af::ALWAYS_IN_GRAPH;
        }
        if oflags & ar::THEN_IMPLIES_FIRST_GRAPHED != 0 && then_flags & af::OPTIONAL == 0 {
            self.actions[first].flags |= af::ALWAYS_IN_GRAPH;
        }
        if oflags & (ar::FIRST_IMPLIES_THEN | ar::THEN_IMPLIES_FIRST | ar::INTERMEDIATE_STOP) != 0
            && let Some(fr) = first_rsc
            && !self.rflag(fr, rf::MANAGED)
            && self.rflag(fr, rf::BLOCKED)
            && !self.aflag(first, af::RUNNABLE)
            && self.actions[first].task == "stop"
            && self.aflag(then, af::RUNNABLE)
        {
            self.actions[then].flags &= !af::RUNNABLE;
            changed |= upd::THEN;
        }
        changed
    }

    /// `pcmk__update_action_for_orderings`.
    pub fn update_action_for_orderings(&mut self, then: ActionId) {
        let mut changed = upd::NONE;
        let last_flags = self.actions[then].flags;
        if self.actions[then].required_runnable_before > 0 {
            self.actions[then].runnable_before = 0;
            self.actions[then].flags &= !af::RUNNABLE;
        }
        // Walk the inputs newest first (Pacemaker prepends them). Inputs added
        // while walking are not visited in this pass.
        let count = self.actions[then].before.len();
        for idx in (0..count).rev() {
            let other = self.actions[then].before[idx];
            let mut first = other.action;
            let mut then_node = self.actions[then].node;
            let mut first_node = self.actions[first].node;
            if let Some(fr) = self.actions[first].rsc
                && self.is_group(fr)
                && self.actions[first].task == "start"
                && let Some(n) = self.rsc_location_one(fr, false, false, true)
            {
                first_node = Some(n);
            }
            if let Some(tr) = self.actions[then].rsc
                && self.is_group(tr)
                && self.actions[then].task == "start"
                && let Some(n) = self.rsc_location_one(tr, false, false, true)
            {
                then_node = Some(n);
            }
            if other.flags & ar::IF_ON_SAME_NODE != 0
                && let (Some(fnode), Some(tnode)) = (first_node, then_node)
                && fnode != tnode
            {
                self.actions[then].before[idx].flags = ar::NONE;
                continue;
            }
            changed &= !upd::FIRST;
            if self.actions[first].rsc.is_some()
                && other.flags & ar::THEN_CANCELS_FIRST != 0
                && !self.aflag(then, af::OPTIONAL)
            {
                self.actions[other.action].flags |= af::OPTIONAL;
                if self.actions[first].task == "reload-agent"
                    && let Some(fr) = self.actions[first].rsc
                {
                    self.clear_rflag(fr, rf::RELOAD);
                }
            }
            if let (Some(fr), Some(tr)) = (self.actions[first].rsc, self.actions[then].rsc)
                && fr != tr
                && !self.is_ancestor(fr, tr)
            {
                first = self.action_for_ordering(first);
            }
            if first == other.action {
                let first_flags = self.action_flags_for_ordering(first, then_node);
                let then_flags = self.action_flags_for_ordering(then, first_node);
                changed |=
                    self.update_for_ordering_flags(first, then, first_flags, then_flags, idx);
            } else if self.order_actions(first, then, other.flags) {
                changed |= upd::THEN;
                self.actions[then].before[idx].flags = ar::NONE;
            }
            if changed & upd::FIRST != 0 {
                let afters: Vec<ActionId> = self.actions[first]
                    .after
                    .iter()
                    .rev()
                    .map(|r| r.action)
                    .collect();
                for a in afters {
                    self.update_action_for_orderings(a);
                }
                self.update_action_for_orderings(first);
            }
        }
        if self.actions[then].required_runnable_before > 0 {
            if last_flags == self.actions[then].flags {
                changed &= !upd::THEN;
            } else {
                changed |= upd::THEN;
            }
        }
        if changed & upd::THEN != 0 {
            if last_flags & af::RUNNABLE != 0 && !self.aflag(then, af::RUNNABLE) {
                self.block_colocation_dependents(then);
            }
            self.update_action_for_orderings(then);
            let afters: Vec<ActionId> = self.actions[then]
                .after
                .iter()
                .rev()
                .map(|r| r.action)
                .collect();
            for a in afters {
                self.update_action_for_orderings(a);
            }
        }
    }

    /// Whether `anc` is an ancestor of `r` (`is_parent(then, first)`).
    fn is_ancestor(&self, anc: RscId, r: RscId) -> bool {
        let mut p = self.rscs[r].parent;
        while let Some(x) = p {
            if x == anc {
                return true;
            }
            p = self.rscs[x].parent;
        }
        false
    }

    /// Clears `flag` on `a` and, if `reason`'s resource differs, records why
    /// (`clear_action_flag_because`).
    fn clear_because(&mut self, a: ActionId, flag: u32, reason: ActionId) {
        if self.actions[a].flags & flag == 0 {
            return;
        }
        self.actions[a].flags &= !flag;
        if self.actions[a].rsc != self.actions[reason].rsc {
            let text = self.action_reason_text(reason, flag);
            self.set_reason(a, Some(&text), false);
        }
    }

    fn handle_asymmetric_ordering(&mut self, first: ActionId, then: ActionId) {
        let Some(tr) = self.actions[then].rsc else {
            return;
        };
        if self.aflag(first, af::RUNNABLE) {
            return;
        }
        if self.aflag(then, af::OPTIONAL) {
            let role = self.rsc_state(tr, true);
            let task = self.actions[then].task.clone();
            if role == Role::Stopped && task == "stop" {
                return;
            }
            if role >= Role::Started && task == "start" {
                let node = self.actions[then].node;
                if self.running_on_only(tr, node) {
                    return;
                }
            }
        }
        self.clear_because(then, af::OPTIONAL, first);
        self.clear_because(then, af::RUNNABLE, first);
    }

    /// `pe__rsc_running_on_only`.
    fn running_on_only(&self, r: RscId, n: Option<NodeId>) -> bool {
        let an = &self.rscs[r].active_nodes;
        an.len() == 1 && n == Some(an[0])
    }

    fn handle_restart_ordering(&mut self, first: ActionId, then: ActionId, filter: u32) {
        let mut reason = false;
        if filter & af::OPTIONAL != 0 && !self.aflag(then, af::OPTIONAL) {
            reason = true;
        }
        if filter & af::RUNNABLE != 0
            && !self.aflag(then, af::RUNNABLE)
            && self.actions[then]
                .rsc
                .is_some_and(|r| self.rflag(r, rf::MANAGED))
            && self.actions[first].rsc == self.actions[then].rsc
        {
            reason = true;
        }
        if !reason {
            return;
        }
        if self.aflag(first, af::RUNNABLE) {
            self.clear_because(first, af::OPTIONAL, then);
        }
        if !self.aflag(then, af::OPTIONAL) {
            self.clear_because(first, af::OPTIONAL, then);
        }
        if !self.aflag(then, af::MIGRATABLE) {
            self.clear_because(first, af::MIGRATABLE, then);
        }
        if !self.aflag(first, af::OPTIONAL) && !self.aflag(first, af::RUNNABLE) {
            self.clear_because(then, af::RUNNABLE, first);
        }
    }

    /// `pcmk__update_ordered_actions` (the primitive implementation).
    pub fn update_ordered_actions(
        &mut self,
        first: ActionId,
        then: ActionId,
        _node: Option<NodeId>,
        flags: u32,
        filter: u32,
        kind: u32,
    ) -> u32 {
        let mut changed = upd::NONE;
        let then_flags = self.actions[then].flags;
        let first_flags = self.actions[first].flags;
        if kind & ar::ASYMMETRIC != 0 {
            self.handle_asymmetric_ordering(first, then);
        }
        if kind & ar::THEN_IMPLIES_FIRST != 0 && then_flags & af::OPTIONAL == 0 {
            if filter & af::OPTIONAL != 0
                && flags & af::OPTIONAL == 0
                && first_flags & af::OPTIONAL != 0
            {
                self.clear_because(first, af::OPTIONAL, then);
            }
            if flags & af::MIGRATABLE != 0 && !self.aflag(then, af::MIGRATABLE) {
                self.clear_because(first, af::MIGRATABLE, then);
            }
        }
        if kind & ar::PROMOTED_THEN_IMPLIES_FIRST != 0
            && self.actions[then]
                .rsc
                .is_some_and(|r| self.rscs[r].orig_role == Role::Promoted)
            && filter & af::OPTIONAL != 0
            && !self.aflag(then, af::OPTIONAL)
        {
            self.clear_because(first, af::OPTIONAL, then);
            if self.aflag(first, af::MIGRATABLE) && !self.aflag(then, af::MIGRATABLE) {
                self.clear_because(first, af::MIGRATABLE, then);
            }
        }
        if kind & ar::UNMIGRATABLE_THEN_BLOCKS != 0 && filter & af::OPTIONAL != 0 {
            let both = af::MIGRATABLE | af::RUNNABLE;
            if self.actions[then].flags & both != both {
                self.clear_because(first, af::RUNNABLE, then);
            }
            if !self.aflag(then, af::OPTIONAL) {
                self.clear_because(first, af::OPTIONAL, then);
            }
        }
        if kind & ar::FIRST_ELSE_THEN != 0
            && filter & af::OPTIONAL != 0
            && !self.aflag(first, af::RUNNABLE)
        {
            self.clear_because(then, af::MIGRATABLE, first);
            self.actions[then].flags &= !af::PSEUDO;
        }
        if kind & ar::UNRUNNABLE_FIRST_BLOCKS != 0
            && filter & af::RUNNABLE != 0
            && self.aflag(then, af::RUNNABLE)
            && flags & af::RUNNABLE == 0
        {
            self.clear_because(then, af::RUNNABLE, first);
            self.clear_because(then, af::MIGRATABLE, first);
        }
        if kind & ar::FIRST_IMPLIES_THEN != 0
            && filter & af::OPTIONAL != 0
            && self.aflag(then, af::OPTIONAL)
            && flags & af::OPTIONAL == 0
            && !self.aflag(first, af::MIGRATABLE)
        {
            self.clear_because(then, af::OPTIONAL, first);
        }
        if kind & ar::INTERMEDIATE_STOP != 0 {
            self.handle_restart_ordering(first, then, filter);
        }
        if then_flags != self.actions[then].flags {
            changed |= upd::THEN;
            if let Some(tr) = self.actions[then].rsc
                && self.rscs[tr].parent.is_some()
            {
                self.update_action_for_orderings(then);
            }
        }
        if first_flags != self.actions[first].flags {
            changed |= upd::FIRST;
        }
        changed
    }
}

/// `parse_op_key` for the task and interval of `RSC_TASK_INTERVAL`.
pub fn parse_key_task(key: &str) -> Option<(String, u32)> {
    let (rest, interval) = key.rsplit_once('_')?;
    let interval: u32 = interval.parse().ok()?;
    // Notification keys: RSC_{pre,post}_notify_ACTION (interval 0).
    if let Some(i) = rest
        .find("_pre_notify_")
        .or_else(|| rest.find("_post_notify_"))
    {
        let _ = i;
        return Some(("notify".to_string(), interval));
    }
    let (_, task) = rest.rsplit_once('_')?;
    let task = match task {
        // Tasks containing underscores.
        "to" | "from" if rest.ends_with("migrate_to") || rest.ends_with("migrate_from") => {
            if rest.ends_with("migrate_to") {
                "migrate_to"
            } else {
                "migrate_from"
            }
        }
        "delete" if rest.ends_with("lrm_delete") => "lrm_delete",
        "failcount" if rest.ends_with("clear_failcount") => "clear_failcount",
        t => t,
    };
    Some((task.to_string(), interval))
}
