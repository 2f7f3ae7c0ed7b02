//! The Transition Summary: one line per node action (fencing, shutdown) and per
//! resource change, in Pacemaker's exact words and widths.

use crate::sched::*;

/// One line of the Transition Summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum SummaryLine {
    /// `Fence (reboot) node 'reason'` or `Shutdown node 'reason'`.
    Node {
        /// `Fence (reboot)`, `Fence (off)`, `Fence (on)` or `Shutdown`.
        task: String,
        /// Node name.
        node: String,
        /// Why.
        reason: String,
    },
    /// `Verb rsc ( details )  reason`.
    Resource {
        /// Start, Stop, Move, Recover, Restart, Reload, Promote, Demote, Re-promote.
        verb: String,
        /// Resource (instance) id.
        rsc: String,
        /// Nodes and roles, e.g. `node1 -> node2`.
        details: String,
        /// `due to …`, `due to … (blocked)`, `blocked`, or empty.
        reason: String,
    },
}

/// Formats summary lines with Pacemaker's column widths (`rsc_width` grows to
/// len+2 whenever a longer id is printed; `detail_width` is the longest details).
pub fn format_summary(lines: &[SummaryLine]) -> Vec<String> {
    let mut rsc_width = 5usize;
    let mut detail_width = 5usize;
    for l in lines {
        if let SummaryLine::Resource { rsc, details, .. } = l {
            if rsc.len() > rsc_width {
                rsc_width = rsc.len() + 2;
            }
            detail_width = detail_width.max(details.len());
        }
    }
    lines
        .iter()
        .map(|l| match l {
            SummaryLine::Node { task, node, reason } => format!("  * {task} {node} '{reason}'"),
            SummaryLine::Resource {
                verb,
                rsc,
                details,
                reason,
            } => {
                let sep = if reason.is_empty() { "" } else { "  " };
                format!(
                    "  * {verb:<8}   {rsc:<rsc_width$}   ( {details:>detail_width$} ){sep}{reason}"
                )
            }
        })
        .collect()
}

impl<'a> Scheduler<'a> {
    /// `pcmk__output_actions`.
    pub fn summary(&mut self) -> Vec<SummaryLine> {
        let mut out = Vec::new();
        for a in (0..self.actions.len()).rev() {
            let act = &self.actions[a];
            if act.rsc.is_some() || act.flags & af::OPTIONAL != 0 {
                continue;
            }
            let task = if act.task == "do_shutdown" {
                "Shutdown".to_string()
            } else if act.task == "stonith" {
                format!(
                    "Fence ({})",
                    act.meta.get("stonith_action").map_or("", String::as_str)
                )
            } else {
                continue;
            };
            let Some(reason) = act.reason.clone() else {
                continue;
            };
            let node = act
                .node
                .map_or(String::new(), |n| self.nodes[n].name.clone());
            out.push(SummaryLine::Node { task, node, reason });
        }
        for r in self.top.clone() {
            self.output_rsc_actions(r, &mut out);
        }
        out
    }

    fn output_rsc_actions(&mut self, r: RscId, out: &mut Vec<SummaryLine>) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.output_rsc_actions(c, out);
            }
            return;
        }
        let next = self.rscs[r].assigned;
        let mut current = None;
        if !self.rscs[r].active_nodes.is_empty() {
            current = self.current_node(r);
            if self.rscs[r].orig_role == Role::Stopped {
                self.rscs[r].orig_role = Role::Started;
            }
        }
        if current.is_none() && self.rflag(r, rf::REMOVED) {
            return;
        }
        self.rsc_action_default(r, current, next, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn item(
        &self,
        out: &mut Vec<SummaryLine>,
        verb: &str,
        r: RscId,
        origin: Option<NodeId>,
        dest: Option<NodeId>,
        action: ActionId,
        source: Option<ActionId>,
    ) {
        let rsc = &self.rscs[r];
        let source = source.unwrap_or(action);
        let need_role = rsc.orig_role > Role::Started || rsc.next_role > Role::Unpromoted;
        let same_host = origin == dest;
        let same_role = rsc.orig_role == rsc.next_role;
        let name = |n: Option<NodeId>| n.map_or(String::new(), |n| self.nodes[n].name.clone());
        let (o, d) = (name(origin), name(dest));
        let (cr, nr) = (rsc.orig_role.text(), rsc.next_role.text());
        let details = if need_role && origin.is_none() {
            format!("{cr} -> {nr} {d}")
        } else if origin.is_none() {
            d
        } else if need_role && dest.is_none() {
            format!("{cr} {o}")
        } else if dest.is_none() {
            o
        } else if need_role && same_role && same_host {
            format!("{cr} {o}")
        } else if same_role && same_host {
            o
        } else if need_role && same_role {
            format!("{o} -> {d} {cr}")
        } else if same_role {
            format!("{o} -> {d}")
        } else if same_host {
            format!("{cr} -> {nr} {o}")
        } else {
            format!("{cr} {o} -> {nr} {d}")
        };
        let runnable = self.aflag(action, af::RUNNABLE);
        let reason = match (&self.actions[source].reason, runnable) {
            (Some(r), false) => format!("due to {r} (blocked)"),
            (Some(r), true) => format!("due to {r}"),
            (None, false) => "blocked".to_string(),
            (None, true) => String::new(),
        };
        out.push(SummaryLine::Resource {
            verb: verb.to_string(),
            rsc: rsc.id.clone(),
            details,
            reason,
        });
    }

    /// `rsc_action_default`: which verb describes what happens to a resource.
    fn rsc_action_default(
        &mut self,
        r: RscId,
        current: Option<NodeId>,
        next: Option<NodeId>,
        out: &mut Vec<SummaryLine>,
    ) {
        if !self.rflag(r, rf::MANAGED) || (current.is_none() && next.is_none()) {
            return;
        }
        let moving = current.is_some() && next.is_some() && current != next;
        let start = self.rsc_actions(r, next, "start", false).first().copied();
        let start_node = match start {
            Some(s) if self.aflag(s, af::RUNNABLE) => current,
            _ => None,
        };
        let mut stop = self
            .rsc_actions(r, start_node, "stop", false)
            .first()
            .copied();
        if stop.is_none() && self.rflag(r, rf::STOP_UNEXPECTED) {
            stop = self.rsc_actions(r, None, "stop", false).first().copied();
        }
        let promote = self.rsc_actions(r, next, "promote", false).first().copied();
        let demote = self.rsc_actions(r, next, "demote", false).first().copied();
        let (orig, nrole) = (self.rscs[r].orig_role, self.rscs[r].next_role);
        let failed = self.rflag(r, rf::FAILED);
        if orig == nrole {
            if next.is_none() {
                return;
            }
            let migrate = self
                .rsc_actions(r, next, "migrate_from", false)
                .first()
                .copied();
            if let Some(m) = migrate
                && current.is_some()
                && self.aflag(m, af::RUNNABLE)
            {
                if let Some(s) = start {
                    self.item(out, "Migrate", r, current, next, s, None);
                }
            } else if self.rflag(r, rf::RELOAD) {
                if let Some(s) = start.or(self
                    .rsc_actions(r, next, "reload-agent", false)
                    .first()
                    .copied())
                {
                    self.item(out, "Reload", r, current, next, s, None);
                }
            } else if start.is_none_or(|s| self.aflag(s, af::OPTIONAL)) {
                if let (Some(d), Some(p)) = (demote, promote)
                    && !self.aflag(d, af::OPTIONAL)
                    && !self.aflag(p, af::OPTIONAL)
                {
                    self.item(out, "Re-promote", r, current, next, p, Some(d));
                }
            } else if let Some(s) = start.filter(|&s| !self.aflag(s, af::RUNNABLE)) {
                let reason_op = match stop {
                    Some(st) if self.actions[st].reason.is_some() => st,
                    _ => s,
                };
                if let Some(st) = stop {
                    self.item(out, "Stop", r, current, None, st, Some(reason_op));
                } else if current.is_some_and(|c| self.nodes[c].unclean) {
                    // The stop is implied by fencing.
                    self.item(out, "Stop", r, current, None, s, Some(reason_op));
                }
            } else if moving && current.is_some() {
                if let Some(st) = stop {
                    self.item(
                        out,
                        if failed { "Recover" } else { "Move" },
                        r,
                        current,
                        next,
                        st,
                        None,
                    );
                }
            } else if failed {
                if let Some(st) = stop {
                    self.item(out, "Recover", r, current, None, st, None);
                }
            } else if let Some(s) = start {
                self.item(out, "Restart", r, current, next, s, None);
            }
            return;
        }
        if let Some(st) = stop
            && (nrole == Role::Stopped || start.is_some_and(|s| !self.aflag(s, af::RUNNABLE)))
        {
            let key = crate::util::op_key(&self.rscs[r].id, "stop", 0);
            for n in self.rscs[r].active_nodes.clone() {
                let mut reason_op = start;
                let list = self.rscs[r].actions.clone();
                let stop_op = self.find_actions(&list, &key, Some(n)).first().copied();
                if let Some(so) = stop_op
                    && self.actions[so].reason.is_some()
                {
                    reason_op = Some(so);
                }
                let action = stop_op.unwrap_or(st);
                self.item(out, "Stop", r, Some(n), None, action, reason_op);
            }
        } else if let Some(st) = stop
            && self.rflag(r, rf::FAILED)
            && self.rflag(r, rf::STOP_IF_FAILED)
        {
            self.item(out, "Recover", r, current, next, st, start);
        } else if moving {
            if let Some(st) = stop {
                self.item(out, "Move", r, current, next, st, None);
            }
        } else if self.rflag(r, rf::RELOAD) {
            if let Some(s) = start {
                self.item(out, "Reload", r, current, next, s, None);
            }
        } else if let Some(st) = stop.filter(|&st| !self.aflag(st, af::OPTIONAL)) {
            if let Some(s) = start {
                self.item(out, "Restart", r, current, next, s, None);
            } else {
                self.item(out, "Restart", r, current, next, st, None);
            }
        } else if orig == Role::Promoted {
            if let Some(d) = demote {
                self.item(out, "Demote", r, current, next, d, None);
            }
        } else if nrole == Role::Promoted {
            if let Some(p) = promote {
                self.item(out, "Promote", r, current, next, p, None);
            }
        } else if orig == Role::Stopped
            && nrole > Role::Stopped
            && let Some(s) = start
        {
            self.item(out, "Start", r, current, next, s, None);
        }
    }
}
