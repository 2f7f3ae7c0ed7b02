//! Groups: members placed together and started in order.

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
        if !self.rflag(r, rf::UNASSIGNED) || self.rflag(r, rf::ASSIGNING) {
            return None;
        }
        self.set_rflag(r, rf::ASSIGNING);
        let mut first = None;
        for c in self.rscs[r].children.clone() {
            let n = self.assign(c, prefer, stop_if_fail);
            if first.is_none() {
                first = n;
            }
        }
        self.clear_rflag(r, rf::UNASSIGNED | rf::ASSIGNING);
        first
    }

    /// `pcmk__group_create_actions`.
    pub fn group_create_actions(&mut self, refs: &Refs<'a>, r: RscId) {
        for c in self.rscs[r].children.clone() {
            self.create_actions(refs, c);
        }
    }

    /// `pcmk__group_internal_constraints`.
    pub fn group_internal_constraints(&mut self, refs: &Refs<'a>, r: RscId) {
        for c in self.rscs[r].children.clone() {
            self.internal_constraints(refs, c);
        }
    }

    /// `pcmk__group_apply_coloc_score`.
    pub fn group_apply_coloc_score(&mut self, dependent: RscId, primary: RscId, c: usize) -> i32 {
        match self.rscs[primary].children.first().copied() {
            Some(m) => self.primitive_apply_coloc_score(dependent, m, c),
            None => 0,
        }
    }

    /// `pcmk__group_action_flags`.
    pub fn group_action_flags(&mut self, a: ActionId, _node: Option<NodeId>) -> u32 {
        self.actions[a].flags
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
        self.update_ordered_actions(first, then, node, flags, filter, kind)
    }
}
