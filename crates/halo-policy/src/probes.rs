//! Probes: one-shot monitors that discover whether a resource is active on a
//! node before the cluster relies on knowing (Pacemaker's `pcmk_sched_probes.c`).

use crate::nvsets::Refs;
use crate::sched::*;
use crate::util::op_key;

impl<'a> Scheduler<'a> {
    /// `pcmk__schedule_probes`.
    pub fn schedule_probes(&mut self, refs: &Refs<'a>) {
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            if !node.online || node.unclean || node.flags & nf::PROBES_ALLOWED == 0 {
                continue;
            }
            for r in self.top.clone() {
                self.create_probe(refs, r, n);
            }
        }
    }

    /// `create_probe` dispatch (collective resources probe their children).
    pub fn create_probe(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> bool {
        match self.rscs[r].variant {
            Variant::Clone => self.clone_create_probe(refs, r, n),
            _ => self.probe_rsc_on_node(refs, r, n),
        }
    }

    /// `pcmk__probe_rsc_on_node`.
    pub fn probe_rsc_on_node(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> bool {
        if !self.is(sf::PROBE_RESOURCES) {
            return false;
        }
        if !self.rscs[r].children.is_empty() {
            let mut any = false;
            for c in self.rscs[r].children.clone() {
                any |= self.create_probe(refs, c, n);
            }
            return any;
        }
        if self.rflag(r, rf::REMOVED) || self.rscs[r].probed[n] {
            return false;
        }
        let mut top = self.top_of(r);
        let allowed = self.rscs[r].allowed[n];
        if self.rflag(r, rf::EXCLUSIVE_PROBES) || self.rflag(top, rf::EXCLUSIVE_PROBES) {
            match allowed {
                None => return false,
                Some(a) if a.probe_mode != ProbeMode::Exclusive => return false,
                _ => {}
            }
        }
        let probe_mode = allowed.map_or(ProbeMode::Always, |a| a.probe_mode);
        if probe_mode == ProbeMode::Never {
            return false;
        }
        let probe = self.probe_action(refs, r, n);
        if !self.is_clone(top) {
            top = r;
        }
        let mut flags = ar::ORDERED;
        if !self.aflag(probe, af::RUNNABLE) && self.rscs[top].active_nodes.is_empty() {
            flags |= ar::UNRUNNABLE_FIRST_BLOCKS;
        }
        let top_id = self.rscs[top].id.clone();
        self.new_ordering(
            Some(r),
            None,
            Some(probe),
            Some(top),
            Some(op_key(&top_id, "start", 0)),
            None,
            flags,
        );
        let rid = self.rscs[r].id.clone();
        self.new_ordering(
            Some(r),
            None,
            Some(probe),
            Some(top),
            Some(op_key(&rid, "reload-agent", 0)),
            None,
            ar::ORDERED,
        );
        true
    }

    fn probe_action(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> ActionId {
        let key = op_key(&self.rscs[r].id, "monitor", 0);
        let probe = self.custom_action(refs, Some(r), key, "monitor", Some(n), false);
        self.actions[probe].flags &= !af::OPTIONAL;
        self.order_vs_unfencing(r, n, probe, ar::ORDERED);
        if !self.rscs[r].active_nodes.contains(&n) {
            self.actions[probe]
                .meta
                .insert("op_target_rc".into(), "7".into());
        } else if self.rscs[r].orig_role == Role::Promoted {
            self.actions[probe]
                .meta
                .insert("op_target_rc".into(), "8".into());
        }
        probe
    }

    /// `pcmk__order_probes`: orderings that make probes happen before the
    /// actions whose safety depends on them.
    pub fn order_probes(&mut self) {
        for r in self.top.clone() {
            self.start_restart_orderings_for_rsc(r);
        }
        self.probe_orderings_for_stops();
    }

    fn start_restart_orderings_for_rsc(&mut self, r: RscId) {
        if !self.is_primitive(r) {
            for c in self.rscs[r].children.clone() {
                self.start_restart_orderings_for_rsc(c);
            }
            return;
        }
        let probes = self.rsc_actions(r, None, "monitor", false);
        for probe in probes {
            // Walk the probe's successors newest first, as Pacemaker's list is.
            let afters: Vec<Rel> = self.actions[probe].after.iter().rev().copied().collect();
            for then in afters {
                self.start_orderings_for_probe(probe, then);
                self.restart_orderings_for_probe(probe, then.action);
                for a in self.actions.iter_mut() {
                    a.flags &= !af::DETECT_LOOP;
                }
            }
        }
    }

    fn start_orderings_for_probe(&mut self, probe: ActionId, after: Rel) {
        let Some(after_rsc) = self.actions[after.action].rsc else {
            return;
        };
        let probe_rsc = self.actions[probe].rsc;
        if self.rscs[after_rsc].variant <= Variant::Group
            || self.aflag(probe, af::RUNNABLE)
            || after.flags & ar::UNRUNNABLE_FIRST_BLOCKS != 0
            || probe_rsc.map(|p| self.top_of(p)) != Some(after_rsc)
            || self.actions[after.action].task != "start"
        {
            return;
        }
        let thens: Vec<Rel> = self.actions[after.action]
            .after
            .iter()
            .rev()
            .copied()
            .collect();
        for then in thens {
            let Some(tr) = self.actions[then.action].rsc else {
                continue;
            };
            if !self.rscs[tr].active_nodes.is_empty()
                || self.top_of(tr) != after_rsc
                || self.actions[then.action].task != "start"
            {
                continue;
            }
            self.order_actions(
                probe,
                then.action,
                ar::ORDERED | ar::UNRUNNABLE_FIRST_BLOCKS,
            );
        }
    }

    fn restart_orderings_for_probe(&mut self, probe: ActionId, after: ActionId) {
        let Some(probe_rsc) = self.actions[probe].rsc else {
            return;
        };
        if !self.is_primitive(probe_rsc) || self.actions[probe].task != "monitor" {
            return;
        }
        if self.aflag(after, af::DETECT_LOOP) {
            return;
        }
        self.actions[after].flags |= af::DETECT_LOOP;
        let after_rsc = self.actions[after].rsc;
        if let Some(ar_) = after_rsc
            && self.is_primitive(ar_)
            && probe_rsc != ar_
        {
            let task = self.actions[after].task.clone();
            let thens = if task == "start" {
                self.rsc_actions(ar_, None, "stop", false)
            } else if task == "promote" {
                self.rsc_actions(ar_, None, "demote", false)
            } else {
                Vec::new()
            };
            for then in thens {
                if !self.aflag(then, af::PSEUDO) {
                    self.order_actions(probe, then, ar::ORDERED);
                }
            }
        }
        let mut interleave = false;
        let mut compatible: Option<RscId> = None;
        if let Some(ar_) = after_rsc
            && self.rscs[ar_].variant > Variant::Group
        {
            interleave =
                crate::util::is_true(self.rscs[ar_].meta.get("interleave").map(String::as_str));
            if interleave {
                compatible =
                    self.find_compatible_instance(probe_rsc, ar_, Role::Unknown, false, None);
            }
        }
        let afters: Vec<Rel> = self.actions[after].after.iter().rev().copied().collect();
        for w in afters {
            if w.flags & ar::FIRST_IMPLIES_THEN == 0 {
                let Some(ar_) = after_rsc else { continue };
                if self.rscs[ar_].variant < Variant::Group
                    || self.rscs[probe_rsc].parent == Some(ar_)
                    || self.actions[w.action].rsc.is_none()
                {
                    continue;
                }
                let Some(chained) = self.actions[w.action].rsc else {
                    continue;
                };
                if self.rscs[chained].variant > Variant::Group
                    || self.rscs[chained].parent != Some(ar_)
                {
                    continue;
                }
                if self.rscs[ar_].variant > Variant::Group
                    && interleave
                    && compatible != Some(chained)
                {
                    continue;
                }
            }
            self.restart_orderings_for_probe(probe, w.action);
        }
    }

    fn probe_orderings_for_stops(&mut self) {
        for i in 0..self.orderings.len() {
            let o = self.orderings[i].clone();
            if o.flags == ar::NONE {
                continue;
            }
            let Some(rsc1) = o.rsc1 else { continue };
            if Some(rsc1) == o.rsc2 {
                continue;
            }
            if (o.action1.is_none() && o.task1.is_none())
                || (o.action2.is_none() && o.task2.is_none())
            {
                continue;
            }
            match o.action1 {
                Some(a) if self.actions[a].task != "stop" => continue,
                None if !o.task1.as_deref().is_some_and(|t| t.ends_with("_stop_0")) => continue,
                _ => {}
            }
            let mut flags = ar::ORDERED;
            if o.flags & ar::IF_FIRST_UNMIGRATABLE != 0 {
                flags |= ar::IF_FIRST_UNMIGRATABLE;
            }
            if o.flags & ar::IF_ON_SAME_NODE != 0 {
                flags |= ar::IF_ON_SAME_NODE;
            }
            if o.flags == ar::IF_REQUIRED_ON_SAME_NODE || o.flags == ar::IF_ON_SAME_NODE_OR_TARGET {
                flags = o.flags;
            }
            let probes = self.rsc_actions(rsc1, None, "monitor", false);
            if probes.is_empty() {
                continue;
            }
            let thens: Vec<ActionId> = match (o.action2, o.rsc2) {
                (Some(t), _) => vec![t],
                (None, Some(r2)) => {
                    let list = self.rscs[r2].actions.clone();
                    let key = o.task2.clone().unwrap_or_default();
                    let found = self.find_actions(&list, &key, None);
                    if found.is_empty() {
                        continue;
                    }
                    found
                }
                (None, None) => Vec::new(),
            };
            for &p in &probes {
                for &t in &thens {
                    if self.probe_needed_before(p, t) {
                        self.order_actions(p, t, flags);
                    }
                }
            }
        }
    }

    fn probe_needed_before(&self, probe: ActionId, then: ActionId) -> bool {
        let (p, t) = (&self.actions[probe], &self.actions[then]);
        if t.task == "stonith"
            && p.node == t.node
            && t.meta
                .get("stonith_action")
                .is_some_and(|a| a.eq_ignore_ascii_case("on"))
        {
            return false;
        }
        if t.task == "do_shutdown" && p.node.is_some() && t.node.is_some() && p.node != t.node {
            return false;
        }
        true
    }
}
