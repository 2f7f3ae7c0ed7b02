//! Clones: several instances of one resource, optionally promotable.

use crate::nvsets::Refs;
use crate::sched::*;

impl<'a> Scheduler<'a> {
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
        for c in self.rscs[r].children.clone() {
            self.assign(c, prefer, stop_if_fail);
        }
        self.clear_rflag(r, rf::UNASSIGNED | rf::ASSIGNING);
        None
    }

    /// `pcmk__clone_create_actions`.
    pub fn clone_create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        for c in self.rscs[r].children.clone() {
            self.create_actions(refs, c);
        }
    }

    /// `pcmk__clone_internal_constraints`.
    pub fn clone_internal_constraints(&mut self, refs: &Refs<'a>, r: RscId) {
        for c in self.rscs[r].children.clone() {
            self.internal_constraints(refs, c);
        }
    }

    /// `pcmk__clone_apply_coloc_score`.
    pub fn clone_apply_coloc_score(
        &mut self,
        _dependent: RscId,
        _primary: RscId,
        _c: usize,
    ) -> i32 {
        0
    }

    /// `pcmk__clone_action_flags`.
    pub fn clone_action_flags(&mut self, a: ActionId, _node: Option<NodeId>) -> u32 {
        self.actions[a].flags
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
        self.update_ordered_actions(first, then, node, flags, filter, kind)
    }

    /// `pcmk__clone_create_probe`.
    pub fn clone_create_probe(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> bool {
        let mut any = false;
        for c in self.rscs[r].children.clone() {
            any |= self.probe_rsc_on_node(refs, c, n);
        }
        any
    }

    /// `pcmk__find_compatible_instance`.
    pub fn find_compatible_instance(
        &self,
        _rsc: RscId,
        _parent: RscId,
        _role: Role,
        _current: bool,
    ) -> Option<RscId> {
        None
    }

    /// `pe__order_notifs_after_fencing`.
    pub fn order_notifs_after_fencing(&mut self, _stop: ActionId, _r: RscId, _fencing: ActionId) {}
}
