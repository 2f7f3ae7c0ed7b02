//! Stage 6: create the actions each resource needs (stop, start, promote,
//! demote), the implicit orderings between them, and the actions needed because
//! a resource's definition changed since it started.

use halo_cib::model::LrmRscOp;

use crate::digest::DigestResult;
use crate::nvsets::Refs;
use crate::sched::*;
use crate::util::op_key;

/// The next role on the way from `from` to `to` (Pacemaker's role state matrix).
pub fn next_role_towards(from: Role, to: Role) -> Role {
    use Role::*;
    match (from, to) {
        (Unknown, Unknown) => Unknown,
        (Unknown, _) => Stopped,
        (Stopped, Unknown | Stopped) => Stopped,
        (Stopped, Started) => Started,
        (Stopped, Unpromoted | Promoted) => Unpromoted,
        (Started, Unknown | Stopped) => Stopped,
        (Started, Started) => Started,
        (Started, Unpromoted) => Unpromoted,
        (Started, Promoted) => Promoted,
        (Unpromoted, Unknown | Stopped | Started) => Stopped,
        (Unpromoted, Unpromoted) => Unpromoted,
        (Unpromoted, Promoted) => Promoted,
        (Promoted, Unknown) => Stopped,
        (Promoted, Stopped | Started | Unpromoted) => Unpromoted,
        (Promoted, Promoted) => Promoted,
    }
}

/// The function that moves a resource directly between two roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    Error,
    Nothing,
    Stop,
    Start,
    Promote,
    Demote,
}

fn transition_fn(from: Role, to: Role) -> Transition {
    use Role::*;
    use Transition::*;
    match (from, to) {
        (Unknown, Stopped) => Stop,
        (Unknown, _) => Error,
        (Stopped, Stopped) => Nothing,
        (Stopped, Started | Unpromoted) => Start,
        (Stopped, _) => Error,
        (Started, Stopped) => Stop,
        (Started, Started | Unpromoted) => Nothing,
        (Started, Promoted) => Promote,
        (Started, Unknown) => Error,
        (Unpromoted, Stopped | Started) => Stop,
        (Unpromoted, Unpromoted) => Nothing,
        (Unpromoted, Promoted) => Promote,
        (Unpromoted, Unknown) => Error,
        (Promoted, Stopped | Started | Unpromoted) => Demote,
        (Promoted, Promoted) => Nothing,
        (Promoted, Unknown) => Error,
    }
}

impl<'a> Scheduler<'a> {
    fn run_transition(
        &mut self,
        refs: &Refs<'a>,
        t: Transition,
        r: RscId,
        node: Option<NodeId>,
        optional: bool,
    ) -> bool {
        match t {
            Transition::Nothing => return false,
            Transition::Error => return false,
            Transition::Stop => self.stop_resource(refs, r, optional),
            Transition::Start => {
                if let Some(n) = node {
                    self.start_resource(refs, r, n, optional);
                }
            }
            Transition::Promote => {
                if let Some(n) = node {
                    self.promote_resource(refs, r, n, optional);
                }
            }
            Transition::Demote => self.demote_resource(refs, r, optional),
        }
        true
    }

    /// `pcmk__primitive_create_actions`.
    pub fn primitive_create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        // set_default_next_role
        if self.rscs[r].next_role == Role::Unknown {
            let role = if self.rscs[r].assigned.is_none() {
                Role::Stopped
            } else {
                Role::Started
            };
            self.set_next_role(r, role);
        }
        let (current, num_all, num_clean) = self.active_node(r);
        let mut need_stop = false;
        let mut need_promote = false;
        let mut is_moving = false;
        let assigned = self.rscs[r].assigned;
        if let (Some(c), Some(a)) = (current, assigned)
            && c != a
            && self.rscs[r].next_role >= Role::Started
        {
            is_moving = true;
            need_stop = true;
        }
        let multiply_active = if self.rflag(r, rf::NEEDS_FENCING) {
            num_all > 1
        } else {
            num_clean > 1
        };
        if multiply_active {
            let id = self.rscs[r].id.clone();
            let class = self.rscs[r].class.clone();
            self.err(format!(
                "{class} resource {id} might be active on {num_all} nodes"
            ));
            match self.rscs[r].multiply_active {
                MultiplyActive::Restart => need_stop = true,
                MultiplyActive::Unexpected => {
                    need_stop = true;
                    self.set_rflag(r, rf::STOP_UNEXPECTED);
                }
                _ => {}
            }
        } else {
            self.clear_rflag(r, rf::STOP_UNEXPECTED);
        }
        if self.rflag(r, rf::START_PENDING) {
            let a = self.rsc_action(refs, r, "start", assigned, true);
            self.actions[a].flags |= af::ALWAYS_IN_GRAPH;
        }
        if is_moving {
        } else if self.rflag(r, rf::FAILED) {
            if self.rflag(r, rf::STOP_IF_FAILED) {
                need_stop = true;
            } else if self.rscs[r].next_role == Role::Promoted {
                need_promote = true;
            }
        } else if self.rflag(r, rf::BLOCKED) {
            need_stop = true;
        } else if self.rscs[r].orig_role > Role::Started && current.is_some() && assigned.is_some()
        {
            let a = self.rsc_action(refs, r, "start", assigned, true);
            if !self.aflag(a, af::OPTIONAL) {
                need_stop = true;
            }
        }
        self.schedule_restart_actions(refs, r, current, need_stop, need_promote);
        self.schedule_role_transition_actions(refs, r);
        self.create_recurring_actions(refs, r);
    }

    fn schedule_restart_actions(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        _current: Option<NodeId>,
        need_stop: bool,
        need_promote: bool,
    ) {
        self.set_rflag(r, rf::RESTARTING);
        let mut role = self.rscs[r].orig_role;
        while role != Role::Stopped {
            let next = next_role_towards(role, Role::Stopped);
            let t = transition_fn(role, next);
            if matches!(t, Transition::Nothing | Transition::Error) {
                break;
            }
            self.run_transition(refs, t, r, None, !need_stop);
            role = next;
        }
        loop {
            let orig = self.rscs[r].orig_role;
            if !(orig <= self.rscs[r].next_role && role != orig && !self.rflag(r, rf::BLOCKED)) {
                break;
            }
            let next = next_role_towards(role, orig);
            let required = need_stop || (next == Role::Promoted && need_promote);
            let t = transition_fn(role, next);
            if matches!(t, Transition::Nothing | Transition::Error) {
                break;
            }
            let node = self.rscs[r].assigned;
            self.run_transition(refs, t, r, node, !required);
            role = next;
        }
        self.clear_rflag(r, rf::RESTARTING);
    }

    fn schedule_role_transition_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        let mut role = self.rscs[r].orig_role;
        while role != self.rscs[r].next_role {
            let next = next_role_towards(role, self.rscs[r].next_role);
            let t = transition_fn(role, next);
            if matches!(t, Transition::Nothing | Transition::Error) {
                break;
            }
            let node = self.rscs[r].assigned;
            self.run_transition(refs, t, r, node, false);
            role = next;
        }
    }

    fn is_expected_node(&self, r: RscId, n: NodeId) -> bool {
        let f = rf::STOP_UNEXPECTED | rf::RESTARTING;
        self.rscs[r].flags & f == f
            && self.rscs[r].next_role > Role::Stopped
            && self.rscs[r].assigned == Some(n)
    }

    fn stop_resource(&mut self, refs: &Refs<'a>, r: RscId, optional: bool) {
        for n in self.rscs[r].active_nodes.clone() {
            if self.is_expected_node(r, n) {
                continue;
            }
            let stop = self.rsc_action(refs, r, "stop", Some(n), optional);
            if self.rscs[r].assigned.is_none() {
                self.set_reason(stop, Some("node availability"), true);
            } else if self.rflag(r, rf::RESTARTING) && self.rflag(r, rf::STOP_UNEXPECTED) {
                self.set_reason(stop, Some("being multiply active"), true);
            }
            if !self.rflag(r, rf::MANAGED) {
                self.actions[stop].flags &= !af::RUNNABLE;
            }
            if self.rflag(r, rf::NEEDS_UNFENCING) {
                let unfence = self.fence_op(n, Some("on"), true, None, false);
                self.order_actions(stop, unfence, ar::THEN_IMPLIES_FIRST);
            }
        }
    }

    fn start_resource(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, optional: bool) {
        let start = self.rsc_action(refs, r, "start", Some(n), true);
        self.order_vs_unfencing(r, n, start, ar::FIRST_IMPLIES_THEN);
        if self.aflag(start, af::RUNNABLE) && !optional {
            self.actions[start].flags &= !af::OPTIONAL;
        }
        if self.is_expected_node(r, n) {
            self.actions[start].flags |= af::PSEUDO;
        }
    }

    fn promote_resource(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, optional: bool) {
        let starts = self.rsc_actions(r, Some(n), "start", true);
        let runnable = starts.iter().all(|&a| self.aflag(a, af::RUNNABLE));
        if runnable {
            let promote = self.rsc_action(refs, r, "promote", Some(n), optional);
            if self.is_expected_node(r, n) {
                self.actions[promote].flags |= af::PSEUDO;
            }
        } else {
            for a in self.rsc_actions(r, Some(n), "promote", true) {
                self.actions[a].flags &= !af::RUNNABLE;
            }
        }
    }

    fn demote_resource(&mut self, refs: &Refs<'a>, r: RscId, optional: bool) {
        for n in self.rscs[r].active_nodes.clone() {
            if !self.is_expected_node(r, n) {
                self.rsc_action(refs, r, "demote", Some(n), optional);
            }
        }
    }

    /// `pcmk__primitive_internal_constraints`.
    pub fn primitive_internal_constraints(&mut self, r: RscId) {
        if !self.rflag(r, rf::MANAGED) {
            return;
        }
        let check_unfencing = !self.rflag(r, rf::FENCE_DEVICE)
            && self.is(sf::ENABLE_UNFENCING)
            && self.rflag(r, rf::NEEDS_UNFENCING);
        let check_utilization =
            !self.rscs[r].utilization.is_empty() && self.placement_strategy != "default";
        let id = self.rscs[r].id.clone();
        self.new_ordering(
            Some(r),
            Some(op_key(&id, "stop", 0)),
            None,
            Some(r),
            Some(op_key(&id, "start", 0)),
            None,
            ar::ORDERED | ar::FIRST_IMPLIES_THEN | ar::INTERMEDIATE_STOP,
        );
        let top = self.top_of(r);
        if self.rflag(top, rf::PROMOTABLE) || self.rscs[r].orig_role > Role::Unpromoted {
            self.new_ordering(
                Some(r),
                Some(op_key(&id, "demote", 0)),
                None,
                Some(r),
                Some(op_key(&id, "stop", 0)),
                None,
                ar::PROMOTED_THEN_IMPLIES_FIRST,
            );
            self.new_ordering(
                Some(r),
                Some(op_key(&id, "start", 0)),
                None,
                Some(r),
                Some(op_key(&id, "promote", 0)),
                None,
                ar::UNRUNNABLE_FIRST_BLOCKS,
            );
        }
        self.new_ordering(
            Some(r),
            Some(op_key(&id, "lrm_delete", 0)),
            None,
            Some(r),
            Some(op_key(&id, "monitor", 0)),
            None,
            ar::IF_ON_SAME_NODE | ar::THEN_CANCELS_FIRST,
        );
        if check_unfencing || check_utilization {
            let allowed: Vec<NodeId> = {
                let mut v: Vec<NodeId> = self.rscs[r]
                    .allowed
                    .iter()
                    .enumerate()
                    .filter_map(|(n, a)| a.map(|_| n))
                    .collect();
                v.sort_by(|a, b| {
                    crate::util::numeric_strcasecmp(&self.nodes[*a].name, &self.nodes[*b].name)
                });
                v
            };
            if check_unfencing {
                for &n in &allowed {
                    self.order_restart_vs_unfence(n, r);
                }
            }
            if check_utilization {
                self.create_utilization_constraints(r, &allowed);
            }
        }
    }

    /// `create_actions` method dispatch.
    pub fn create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        match self.rscs[r].variant {
            Variant::Primitive => self.primitive_create_actions(refs, r),
            Variant::Group => self.group_create_actions(refs, r),
            Variant::Clone => self.clone_create_actions(refs, r),
        }
    }

    /// `internal_constraints` method dispatch.
    pub fn internal_constraints(&mut self, refs: &Refs<'a>, r: RscId) {
        match self.rscs[r].variant {
            Variant::Primitive => self.primitive_internal_constraints(r),
            Variant::Group => self.group_internal_constraints(refs, r),
            Variant::Clone => self.clone_internal_constraints(refs, r),
        }
    }

    // -----------------------------------------------------------------------
    // configuration changes since operations ran

    /// `pcmk__handle_rsc_config_changes`.
    pub fn handle_rsc_config_changes(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        // Resources by id and by history id, in resource order.
        let mut by_id: HashMap<String, Vec<RscId>> = HashMap::default();
        for (i, x) in self.rscs.iter().enumerate() {
            by_id.entry(x.id.clone()).or_default().push(i);
            if let Some(h) = &x.history_id
                && *h != x.id
            {
                by_id.entry(h.clone()).or_default().push(i);
            }
        }
        for n in 0..self.nodes.len() {
            if !(self.nodes[n].maintenance || self.node_available(n, None)) {
                continue;
            }
            let name = self.nodes[n].name.clone();
            let Some(ns) = cib
                .status
                .iter()
                .find(|s| s.uname.as_deref() == Some(name.as_str()))
            else {
                continue;
            };
            for lr in ns.lrm_resources() {
                if lr.ops.is_empty() {
                    continue;
                }
                let mut matching: Vec<RscId> = by_id.get(&lr.id).cloned().unwrap_or_default();
                matching.sort_unstable();
                matching.dedup();
                // pcmk__rscs_matching_id lists newest-found first.
                for r in matching.into_iter().rev() {
                    if self.is_primitive(r) {
                        self.process_rsc_history(refs, lr, r, n);
                    }
                }
            }
        }
    }

    fn process_rsc_history(
        &mut self,
        refs: &Refs<'a>,
        lr: &'a halo_cib::model::LrmResource,
        r: RscId,
        n: NodeId,
    ) {
        if self.rflag(r, rf::REMOVED) {
            let top = self.top_of(r);
            if !self.is_anonymous_clone(top) {
                self.schedule_cleanup(refs, r, n, false);
            }
            return;
        }
        if !self.rscs[r].active_nodes.contains(&n) {
            if self.agent_changed(refs, r, n, lr, false) {
                self.schedule_cleanup(refs, r, n, false);
            }
            return;
        }
        if self.agent_changed(refs, r, n, lr, true) {
            self.schedule_cleanup(refs, r, n, false);
        }
        let ops = crate::history::sorted_ops(lr);
        let (start, stop) = crate::history::active_ops(&ops);
        if start < stop {
            return;
        }
        for (i, op) in ops.iter().enumerate() {
            if (i as i64) < start {
                continue;
            }
            let task = op.operation.as_str();
            let interval = op.interval;
            if interval > 0 && (self.rflag(r, rf::MAINTENANCE) || self.nodes[n].maintenance) {
                self.schedule_cancel(refs, r, task, interval, n);
            } else if (interval > 0
                || matches!(task, "monitor" | "start" | "promote" | "migrate_from"))
                && self.check_action_config(refs, r, n, op)
                && self.failcount(n, r, true, None).0 != 0
            {
                self.clear_failcount(refs, r, n);
            }
        }
    }

    /// `pcmk__rsc_agent_changed`.
    fn agent_changed(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        n: NodeId,
        lr: &halo_cib::model::LrmResource,
        active: bool,
    ) -> bool {
        let rsc = &self.rscs[r];
        let changed = Some(rsc.agent.as_str()) != lr.agent.as_deref()
            || Some(rsc.class.as_str()) != lr.class.as_deref()
            || rsc.provider.as_deref() != lr.provider.as_deref();
        if changed {
            self.trigger_unfencing(Some(r), Some(n), "Device definition changed", None);
        }
        if changed && active {
            self.rsc_action(refs, r, "stop", Some(n), false);
            self.set_rflag(r, rf::START_PENDING);
        }
        changed
    }

    /// `pcmk__schedule_cleanup`.
    fn schedule_cleanup(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, optional: bool) {
        if self.rflag(r, rf::FAILED) || self.nodes[n].unclean || !self.nodes[n].online {
            return;
        }
        let flag = if optional {
            ar::FIRST_IMPLIES_THEN
        } else {
            ar::ORDERED
        };
        self.rsc_action(refs, r, "delete", Some(n), optional);
        self.order_rsc_actions(r, "stop", r, "delete", flag);
        self.order_rsc_actions(r, "delete", r, "start", flag);
    }

    /// `pcmk__schedule_cancel`: cancels a recurring action (after any stop).
    fn schedule_cancel(&mut self, refs: &Refs<'a>, r: RscId, task: &str, interval: u64, n: NodeId) {
        let interval = u32::try_from(interval).unwrap_or(u32::MAX);
        let cancel = self.new_cancel_action(refs, r, task, interval, n);
        let stop = op_key(&self.rscs[r].id, "stop", 0);
        self.new_ordering(
            Some(r),
            Some(stop),
            None,
            Some(r),
            None,
            Some(cancel),
            ar::ORDERED,
        );
    }

    /// `pcmk__check_action_config`: whether the configuration of an active
    /// operation changed (scheduling a restart, reload or reschedule).
    fn check_action_config(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, op: &LrmRscOp) -> bool {
        let task = op.operation.as_str();
        let interval = u32::try_from(op.interval).unwrap_or(u32::MAX);
        if interval > 0 && self.find_op_config(r, task, interval, false).is_none() {
            if self.is(sf::CANCEL_REMOVED_ACTIONS) {
                self.schedule_cancel(refs, r, task, op.interval, n);
            }
            return true;
        }
        let digest_task = if interval == 0 && matches!(task, "monitor" | "migrate_from" | "promote")
        {
            "start"
        } else {
            task
        };
        let (result, only_sanitized) = self.digest_cmp(refs, r, op, n);
        if only_sanitized {
            return false;
        }
        match result {
            DigestResult::Restart => {
                self.force_restart(refs, r, digest_task, interval, n);
                true
            }
            DigestResult::Unknown | DigestResult::Mismatch => {
                if interval > 0 {
                    // `pcmk__reschedule_recurring`
                    self.trigger_unfencing(
                        Some(r),
                        Some(n),
                        "Device parameters changed (reschedule)",
                        None,
                    );
                    let key = op_key(&self.rscs[r].id, task, interval);
                    let a = self.custom_action(refs, Some(r), key, task, Some(n), true);
                    self.actions[a].flags |= af::RESCHEDULE;
                } else if op.op_restart_digest.is_some() {
                    self.trigger_unfencing(
                        Some(r),
                        Some(n),
                        "Device parameters changed (reload)",
                        None,
                    );
                    self.schedule_reload(refs, r, Some(n));
                } else {
                    self.force_restart(refs, r, digest_task, interval, n);
                }
                true
            }
            DigestResult::Match => false,
        }
    }

    fn force_restart(&mut self, refs: &Refs<'a>, r: RscId, task: &str, interval: u32, n: NodeId) {
        let key = op_key(&self.rscs[r].id, task, interval);
        let a = self.custom_action(refs, Some(r), key, task, None, false);
        self.set_reason(a, Some("resource definition change"), true);
        self.trigger_unfencing(Some(r), Some(n), "Device parameters changed", None);
    }

    fn schedule_reload(&mut self, refs: &Refs<'a>, r: RscId, n: Option<NodeId>) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.schedule_reload(refs, c, n);
            }
            return;
        }
        if n.is_none() || !self.rflag(r, rf::MANAGED) || self.rflag(r, rf::FAILED) {
            return;
        }
        if self.rflag(r, rf::START_PENDING) {
            self.rsc_action(refs, r, "stop", n, false);
            return;
        }
        self.set_rflag(r, rf::RELOAD);
        let reload = self.rsc_action(refs, r, "reload-agent", n, false);
        self.set_reason(reload, Some("resource definition change"), false);
        let id = self.rscs[r].id.clone();
        self.new_ordering(
            None,
            None,
            Some(reload),
            Some(r),
            Some(op_key(&id, "stop", 0)),
            None,
            ar::ORDERED | ar::THEN_CANCELS_FIRST,
        );
        self.new_ordering(
            None,
            None,
            Some(reload),
            Some(r),
            Some(op_key(&id, "demote", 0)),
            None,
            ar::ORDERED | ar::THEN_CANCELS_FIRST,
        );
    }

    /// `schedule_resource_actions`.
    pub fn schedule_resource_actions(&mut self, refs: &Refs<'a>) {
        if self.is(sf::PROBE_RESOURCES) {
            self.schedule_probes(refs);
        }
        if self.is(sf::STOP_REMOVED_RESOURCES) {
            for r in self.top.clone() {
                if !self.rflag(r, rf::REMOVED) {
                    continue;
                }
                for n in 0..self.nodes.len() {
                    if !self.nodes[n].online || self.failcount(n, r, true, None).0 == 0 {
                        continue;
                    }
                    let clear = self.clear_failcount(refs, r, n);
                    let stop = op_key(&self.rscs[r].id, "stop", 0);
                    self.new_ordering(
                        None,
                        None,
                        Some(clear),
                        Some(r),
                        Some(stop),
                        None,
                        ar::ORDERED,
                    );
                }
            }
        }
        for r in self.top.clone() {
            self.create_actions(refs, r);
        }
    }
}
