//! Stage 7: fencing and shutdowns. Unclean nodes are fenced before anything
//! they ran is recovered: starts that need fencing are ordered after it, and the
//! stops of resources on the node become pseudo-actions implied by the fencing.
//! Unfencing (`stonith ... on`) is ordered before resources that require it.

use crate::nvsets::Refs;
use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// `schedule_fencing_and_shutdowns`.
    pub fn schedule_fencing_and_shutdowns(&mut self, refs: &Refs<'a>) {
        let have_managed = self
            .top
            .clone()
            .into_iter()
            .any(|r| self.is_managed_tree(r));
        let mut dc_down: Option<ActionId> = None;
        let mut fencing_ops: Vec<ActionId> = Vec::new();
        let mut shutdown_ops: Vec<ActionId> = Vec::new();
        let mut integrity_lost = false;
        for n in 0..self.nodes.len() {
            let is_dc = self.dc_node == Some(n);
            let mut fencing = None;
            if have_managed && self.nodes[n].unclean && self.can_fence(Some(n)) {
                let f = self.fence_op(n, None, false, Some("node is unclean"), false);
                let name = self.nodes[n].name.clone();
                self.warn(format!("Scheduling node {name} for fencing"));
                self.order_vs_fencing(refs, f);
                fencing = Some(f);
                if is_dc {
                    dc_down = Some(f);
                } else {
                    if !self.is(sf::CONCURRENT_FENCING)
                        && let Some(&prev) = fencing_ops.first()
                    {
                        self.order_actions(prev, f, ar::ORDERED);
                    }
                    fencing_ops.insert(0, f);
                }
            } else if self.nodes[n].online && self.nodes[n].shutdown {
                let s = self.new_shutdown_action(n);
                if is_dc {
                    dc_down = Some(s);
                } else {
                    shutdown_ops.insert(0, s);
                }
            }
            if fencing.is_none() && self.nodes[n].unclean {
                integrity_lost = true;
                let name = self.nodes[n].name.clone();
                self.warn(format!("Node {name} is unclean but cannot be fenced"));
            }
        }
        if integrity_lost && !self.is(sf::FENCING_ENABLED) {
            self.warn(
                "Resource functionality and data integrity cannot be guaranteed \
                 (configure, enable, and test fencing to correct this)"
                    .into(),
            );
        }
        if let Some(dc) = dc_down {
            if self.actions[dc].task == "do_shutdown" {
                for &s in &shutdown_ops {
                    self.order_actions(s, dc, ar::ORDERED);
                }
            }
            if self.is(sf::CONCURRENT_FENCING) {
                for &f in &fencing_ops {
                    self.order_actions(f, dc, ar::ORDERED);
                }
            } else if let Some(&f) = fencing_ops.first() {
                self.order_actions(f, dc, ar::ORDERED);
            }
        }
    }

    fn is_managed_tree(&self, r: RscId) -> bool {
        self.rflag(r, rf::MANAGED)
            || self.rscs[r]
                .children
                .iter()
                .any(|&c| self.is_managed_tree(c))
    }

    /// `pcmk__new_shutdown_action`.
    fn new_shutdown_action(&mut self, n: NodeId) -> ActionId {
        let key = format!("do_shutdown-{}", self.nodes[n].name);
        let refs = crate::nvsets::Refs::default();
        let s = self.custom_action(&refs, None, key, "do_shutdown", Some(n), false);
        self.order_stops_before_shutdown(n, s);
        self.actions[s]
            .meta
            .insert("op_no_wait".into(), "true".into());
        s
    }

    /// `pcmk__order_stops_before_shutdown`.
    fn order_stops_before_shutdown(&mut self, n: NodeId, shutdown: ActionId) {
        for a in (0..self.actions.len()).rev() {
            if self.actions[a].node != Some(n) || self.actions[a].task != "stop" {
                continue;
            }
            let Some(r) = self.actions[a].rsc else {
                continue;
            };
            if self.rflag(r, rf::MAINTENANCE) || self.nodes[n].maintenance {
                continue;
            }
            if !self.rflag(r, rf::MANAGED) && !self.rflag(r, rf::BLOCKED) {
                continue;
            }
            self.actions[a].flags &= !af::OPTIONAL;
            self.new_ordering(
                Some(r),
                None,
                Some(a),
                None,
                Some("do_shutdown".into()),
                Some(shutdown),
                ar::ORDERED | ar::UNRUNNABLE_FIRST_BLOCKS,
            );
        }
    }

    /// `pcmk__order_vs_fencing`.
    pub fn order_vs_fencing(&mut self, refs: &Refs<'a>, fencing: ActionId) {
        for r in self.top.clone() {
            self.rsc_fencing_ordering(refs, r, fencing);
        }
    }

    fn rsc_fencing_ordering(&mut self, refs: &Refs<'a>, r: RscId, fencing: ActionId) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.rsc_fencing_ordering(refs, c, fencing);
            }
            return;
        }
        if !self.rflag(r, rf::MANAGED) {
            return;
        }
        self.order_start_vs_fencing(r, fencing);
        self.order_stop_vs_fencing(refs, r, fencing);
    }

    fn rsc_known_on(&self, r: RscId, n: NodeId) -> bool {
        if self.rscs[r].probed[n] {
            return true;
        }
        if let Some(p) = self.rscs[r].parent
            && self.is_primitive(r)
            && self.is_anonymous_clone(p)
            && self.rscs[p].probed[n]
        {
            return true;
        }
        false
    }

    fn order_start_vs_fencing(&mut self, r: RscId, fencing: ActionId) {
        let Some(target) = self.actions[fencing].node else {
            return;
        };
        for a in self.rscs[r].actions.clone().into_iter().rev() {
            match self.actions[a].needs {
                Requires::Nothing => {}
                Requires::Fencing => {
                    self.order_actions(fencing, a, ar::ORDERED);
                }
                Requires::Quorum => {
                    if self.actions[a].task == "start"
                        && self.rscs[r].allowed[target].is_some()
                        && !self.rsc_known_on(r, target)
                    {
                        self.order_actions(fencing, a, ar::ORDERED | ar::UNRUNNABLE_FIRST_BLOCKS);
                    }
                }
            }
        }
    }

    fn order_stop_vs_fencing(&mut self, refs: &Refs<'a>, r: RscId, fencing: ActionId) {
        let Some(target) = self.actions[fencing].node else {
            return;
        };
        let top = self.top_of(r);
        let stops = self.rsc_actions(r, Some(target), "stop", false);
        let order_implicit = self.rflag(r, rf::NEEDS_FENCING);
        let parent_stop = if !stops.is_empty() && order_implicit {
            self.first_action_by_task(top, "stop")
        } else {
            None
        };
        for a in stops {
            self.actions[a].flags |= af::PSEUDO | af::RUNNABLE;
            if order_implicit {
                self.order_actions(fencing, a, ar::GUEST_ALLOWED);
                if let Some(ps) = parent_stop {
                    self.order_actions(fencing, ps, ar::GUEST_ALLOWED);
                }
            }
            if self.rflag(r, rf::NOTIFY) {
                self.order_notifs_after_fencing(refs, a, r, fencing);
            }
        }
        let demotes = self.rsc_actions(r, Some(target), "demote", false);
        for a in demotes {
            let node = self.actions[a].node;
            let offline = node.is_some_and(|n| !self.nodes[n].online || self.nodes[n].unclean);
            if offline || self.rflag(r, rf::FAILED) {
                self.actions[a].flags |= af::PSEUDO | af::RUNNABLE;
                if order_implicit {
                    self.order_actions(fencing, a, ar::GUEST_ALLOWED | ar::ORDERED);
                }
            }
        }
    }

    /// `pcmk__node_unfenced`.
    pub fn node_unfenced(&self, n: NodeId) -> bool {
        // Unset counts as "0": never unfenced.
        self.node_attr(n, "#node-unfenced")
            .is_some_and(|v| v != "0")
    }

    /// `pcmk__order_vs_unfencing`.
    pub fn order_vs_unfencing(&mut self, r: RscId, n: NodeId, action: ActionId, order: u32) {
        let fence_device_needs = self.rflag(r, rf::FENCE_DEVICE) && self.is(sf::ENABLE_UNFENCING);
        if !(fence_device_needs || self.rflag(r, rf::NEEDS_UNFENCING)) {
            return;
        }
        let unfence = self.fence_op(n, Some("on"), true, None, false);
        self.order_actions(unfence, action, order);
        if !self.node_unfenced(n) {
            let reason = format!(
                "required by {} {}",
                self.rscs[r].id, self.actions[action].task
            );
            self.trigger_unfencing(None, Some(n), &reason, None);
        }
    }

    /// `pcmk__order_restart_vs_unfence`.
    pub fn order_restart_vs_unfence(&mut self, n: NodeId, r: RscId) {
        let unfence = self.fence_op(n, Some("on"), true, None, false);
        let uuid = self.actions[unfence].uuid.clone();
        let id = self.rscs[r].id.clone();
        self.new_ordering(
            Some(r),
            Some(crate::util::op_key(&id, "stop", 0)),
            None,
            None,
            Some(uuid.clone()),
            Some(unfence),
            ar::ORDERED | ar::IF_ON_SAME_NODE,
        );
        self.new_ordering(
            None,
            Some(uuid),
            Some(unfence),
            Some(r),
            Some(crate::util::op_key(&id, "start", 0)),
            None,
            ar::FIRST_IMPLIES_SAME_NODE_THEN | ar::IF_ON_SAME_NODE,
        );
    }

    /// `trigger_unfencing`.
    pub fn trigger_unfencing(
        &mut self,
        r: Option<RscId>,
        n: Option<NodeId>,
        reason: &str,
        dependency: Option<ActionId>,
    ) {
        if !self.is(sf::ENABLE_UNFENCING) {
            return;
        }
        if let Some(r) = r
            && !self.rflag(r, rf::FENCE_DEVICE)
        {
            return;
        }
        let usable = |s: &Self, n: NodeId| {
            let node = &s.nodes[n];
            node.online && !node.unclean && !node.shutdown
        };
        if let Some(n) = n
            && usable(self, n)
        {
            let unfence = self.fence_op(n, Some("on"), false, Some(reason), false);
            if let Some(d) = dependency {
                self.order_actions(unfence, d, ar::ORDERED);
            }
        } else if let Some(r) = r {
            let nodes: Vec<NodeId> = (0..self.nodes.len())
                .filter(|&x| self.rscs[r].allowed[x].is_some() && usable(self, x))
                .collect();
            for x in nodes {
                self.trigger_unfencing(Some(r), Some(x), reason, dependency);
            }
        }
    }
}
