//! Recurring operations (monitors): started where a resource will be active
//! in the role they are configured for, cancelled where the role changes, and
//! `role=Stopped` monitors on the nodes where a unique resource must not run
//! (Pacemaker's `pcmk_sched_recurring.c`).
//!
//! A monitor that already runs (its history shows it active) is kept
//! optional; one that must be (re)started is required and ordered after the
//! start, reload or promote that it watches.

use crate::nvsets::Refs;
use crate::sched::*;
use crate::util::{op_key, parse_interval};

/// A configured recurring operation (`struct op_history`).
struct RecurringOp {
    name: String,
    key: String,
    role: Role,
    interval_ms: u32,
}

impl<'a> Scheduler<'a> {
    /// `is_recurring_history`: the recurring operation configured by `op`, if
    /// it is one that should be scheduled.
    fn recurring_op(&mut self, r: RscId, op: &halo_cib::model::Op) -> Option<RecurringOp> {
        let interval_ms = parse_interval(Some(&op.interval));
        if interval_ms == 0 {
            return None;
        }
        if matches!(
            op.name.as_str(),
            "stop"
                | "start"
                | "demote"
                | "promote"
                | "reload-agent"
                | "migrate_to"
                | "migrate_from"
        ) {
            self.err(format!(
                "Ignoring {} because {} action cannot be recurring",
                op.id, op.name
            ));
            return None;
        }
        // There should only be one recurring operation per name and interval.
        let ops = self.rscs[r].ops;
        let mut same = ops
            .iter()
            .filter(|o| o.name == op.name && parse_interval(Some(&o.interval)) == interval_ms);
        if let (Some(first), Some(dup)) = (same.next(), same.next()) {
            self.err(format!(
                "Operation {} is duplicate of {} (do not use same name and interval combination more than once per resource)",
                dup.id, first.id
            ));
            return None;
        }
        self.find_op_config(r, &op.name, interval_ms, false)?;
        Some(RecurringOp {
            name: op.name.clone(),
            key: op_key(&self.rscs[r].id, &op.name, interval_ms),
            role: op.role.map_or(Role::Unknown, Role::from),
            interval_ms,
        })
    }

    /// `find_actions_exact`: actions with `key` on node `n` (which must be
    /// set), newest first.
    fn find_actions_exact(&self, r: RscId, key: &str, n: NodeId) -> Vec<ActionId> {
        self.rscs[r]
            .actions
            .iter()
            .rev()
            .copied()
            .filter(|&a| self.actions[a].node == Some(n) && self.actions[a].uuid == key)
            .collect()
    }

    /// `active_recurring_should_be_optional`.
    fn active_recurring_optional(
        &mut self,
        r: RscId,
        node: Option<NodeId>,
        key: &str,
        start: ActionId,
    ) -> bool {
        let Some(n) = node else { return false };
        if self.rsc_action_flags(start, None) & af::OPTIONAL == 0 {
            return false;
        }
        let matches = self.find_actions_exact(r, key, n);
        if matches.is_empty() {
            return false;
        }
        !matches.iter().any(|&a| self.aflag(a, af::RESCHEDULE))
    }

    /// `pcmk__new_cancel_action`: turns the recurring action `task`/`interval`
    /// on `n` into (or creates) its cancellation.
    pub fn new_cancel_action(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        task: &str,
        interval_ms: u32,
        n: NodeId,
    ) -> ActionId {
        let key = op_key(&self.rscs[r].id, task, interval_ms);
        let a = self.custom_action(refs, Some(r), key, "cancel", Some(n), false);
        self.actions[a].task = "cancel".into();
        let meta = &mut self.actions[a].meta;
        meta.insert("operation".into(), task.into());
        meta.insert("interval".into(), interval_ms.to_string());
        a
    }

    /// `recurring_op_for_active`.
    fn recurring_op_for_active(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        start: ActionId,
        node: Option<NodeId>,
        op: &RecurringOp,
    ) {
        if op.role == Role::Stopped {
            return;
        }
        let is_optional = self.active_recurring_optional(r, node, &op.key, start);
        let next = self.rscs[r].next_role;
        let role_match = if op.role == Role::Unknown {
            next != Role::Promoted
        } else {
            next == op.role
        };
        if !role_match {
            if is_optional && let Some(n) = node {
                // It runs in the wrong role: cancel it.
                let cancel = self.new_cancel_action(refs, r, &op.name, op.interval_ms, n);
                let after = match self.rscs[r].orig_role {
                    Role::Unpromoted | Role::Started => match next {
                        Role::Promoted => Some("promote"),
                        Role::Stopped => Some("stop"),
                        _ => None,
                    },
                    Role::Promoted => Some("demote"),
                    _ => None,
                };
                if let Some(task) = after {
                    self.order_cancel_before(r, cancel, task);
                }
            }
            return;
        }
        let mon = self.custom_action(refs, Some(r), op.key.clone(), &op.name, node, is_optional);
        let node_ok = node.is_some_and(|n| self.nodes[n].online && !self.nodes[n].unclean);
        if !self.aflag(start, af::RUNNABLE) || !node_ok {
            self.actions[mon].flags &= !af::RUNNABLE;
        }
        if next == Role::Promoted {
            self.actions[mon]
                .meta
                .insert("op_target_rc".into(), "8".into());
        }
        if node.is_none() || self.rflag(r, rf::MANAGED) {
            let id = self.rscs[r].id.clone();
            let uuid = self.actions[mon].uuid.clone();
            let flags = ar::FIRST_IMPLIES_THEN | ar::UNRUNNABLE_FIRST_BLOCKS;
            for task in ["start", "reload-agent"] {
                self.new_ordering(
                    Some(r),
                    Some(op_key(&id, task, 0)),
                    None,
                    None,
                    Some(uuid.clone()),
                    Some(mon),
                    flags,
                );
            }
            let before = if next == Role::Promoted {
                Some("promote")
            } else if self.rscs[r].orig_role == Role::Promoted {
                Some("demote")
            } else {
                None
            };
            if let Some(task) = before {
                self.new_ordering(
                    Some(r),
                    Some(op_key(&id, task, 0)),
                    None,
                    Some(r),
                    None,
                    Some(mon),
                    ar::ORDERED | ar::UNRUNNABLE_FIRST_BLOCKS,
                );
            }
        }
    }

    /// `cancel_if_running`.
    fn cancel_if_running(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, op: &RecurringOp) {
        if self.find_actions_exact(r, &op.key, n).is_empty() {
            return;
        }
        let cancel = self.new_cancel_action(refs, r, &op.name, op.interval_ms, n);
        if matches!(self.rscs[r].next_role, Role::Started | Role::Unpromoted) {
            self.order_cancel_before(r, cancel, "start");
        }
    }

    /// Orders a cancellation before the resource's `task`.
    fn order_cancel_before(&mut self, r: RscId, cancel: ActionId, task: &str) {
        let key = op_key(&self.rscs[r].id, task, 0);
        self.new_ordering(
            Some(r),
            None,
            Some(cancel),
            Some(r),
            Some(key),
            None,
            ar::UNRUNNABLE_FIRST_BLOCKS,
        );
    }

    /// `recurring_op_for_inactive`: `role=Stopped` monitors on the nodes where
    /// the resource will not run.
    fn recurring_op_for_inactive(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        node: Option<NodeId>,
        op: &RecurringOp,
    ) {
        if op.role != Role::Stopped {
            return;
        }
        if !self.rflag(r, rf::UNIQUE) {
            return; // not supported for anonymous clones (as in Pacemaker)
        }
        for stop_node in 0..self.nodes.len() {
            if node.is_some_and(|n| {
                self.nodes[n]
                    .name
                    .eq_ignore_ascii_case(&self.nodes[stop_node].name)
            }) {
                self.cancel_if_running(refs, r, stop_node, op);
                continue;
            }
            let is_optional = !self.find_actions_exact(r, &op.key, stop_node).is_empty();
            let mon = self.custom_action(
                refs,
                Some(r),
                op.key.clone(),
                &op.name,
                Some(stop_node),
                is_optional,
            );
            self.actions[mon]
                .meta
                .insert("op_target_rc".into(), "7".into());
            if self.rflag(r, rf::MANAGED) {
                for probe in self.rsc_actions(r, Some(stop_node), "monitor", false) {
                    self.order_actions(probe, mon, ar::UNRUNNABLE_FIRST_BLOCKS);
                }
            }
            self.order_after_stops(r, stop_node, mon);
            let sn = &self.nodes[stop_node];
            if !sn.online || sn.unclean {
                self.actions[mon].flags &= !af::RUNNABLE;
            }
        }
    }

    /// `order_after_stops`.
    fn order_after_stops(&mut self, r: RscId, n: NodeId, action: ActionId) {
        let managed = self.rflag(r, rf::MANAGED);
        for stop in self.rsc_actions(r, Some(n), "stop", true) {
            if !self.aflag(stop, af::OPTIONAL) && !self.aflag(action, af::OPTIONAL) && !managed {
                self.actions[action].flags |= af::OPTIONAL;
            }
            if !self.aflag(stop, af::RUNNABLE) {
                self.actions[action].flags &= !af::RUNNABLE;
            }
            if managed {
                let key = op_key(&self.rscs[r].id, "stop", 0);
                self.new_ordering(
                    Some(r),
                    Some(key),
                    Some(stop),
                    None,
                    None,
                    Some(action),
                    ar::FIRST_IMPLIES_THEN | ar::UNRUNNABLE_FIRST_BLOCKS,
                );
            }
        }
    }

    /// `pcmk__create_recurring_actions`.
    pub fn create_recurring_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        if self.rflag(r, rf::BLOCKED) || self.rflag(r, rf::MAINTENANCE) {
            return;
        }
        let assigned = self.rscs[r].assigned;
        let start = match assigned {
            None => None,
            Some(n) if self.nodes[n].maintenance => None,
            Some(n) => {
                if self.rscs[r].next_role != Role::Stopped || !self.rflag(r, rf::MANAGED) {
                    Some(self.rsc_action(refs, r, "start", Some(n), true))
                } else {
                    None
                }
            }
        };
        for op in self.rscs[r].ops {
            let Some(rop) = self.recurring_op(r, op) else {
                continue;
            };
            if let Some(start) = start {
                self.recurring_op_for_active(refs, r, start, assigned, &rop);
            }
            self.recurring_op_for_inactive(refs, r, assigned, &rop);
        }
    }
}
