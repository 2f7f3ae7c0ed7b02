//! Clone notifications (`notify=true`): pseudo-actions that bracket each
//! collective start, stop, promote and demote so that every instance's agent
//! can be told before and after (Pacemaker's `pe_notif.c`).
//!
//! For a clone action `A` with completion `A'` the chain is
//! `pre_notify_A → confirmed-pre_notify_A → A … A' → post_notify_A' →
//! confirmed-post_notify_A'`, and orderings that refer to the completion of a
//! notifying clone use the confirmed post-notification instead. The
//! per-instance `notify` operations that would hang off these pseudo-actions
//! are not generated (they change neither placement nor the summary).

use crate::nvsets::Refs;
use crate::sched::*;

/// Which collective action a notification brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Start = 0,
    Stop = 1,
    Promote = 2,
    Demote = 3,
}

/// The notification pseudo-actions of one collective action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyOps {
    pub pre: Option<ActionId>,
    pub pre_done: Option<ActionId>,
    pub post: Option<ActionId>,
    pub post_done: Option<ActionId>,
}

impl<'a> Scheduler<'a> {
    /// `new_notify_pseudo_action`.
    fn new_notify_pseudo_action(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        action: ActionId,
        notif_action: &str,
        notif_type: &str,
    ) -> ActionId {
        let task = self.actions[action].task.clone();
        let key = format!("{}_{notif_type}_notify_{task}_0", self.rscs[r].id);
        let optional = self.aflag(action, af::OPTIONAL);
        let a = self.custom_action(refs, Some(r), key, notif_action, None, optional);
        self.actions[a].flags |= af::PSEUDO;
        let meta = &mut self.actions[a].meta;
        meta.insert("notify_key_type".into(), notif_type.into());
        meta.insert("notify_key_operation".into(), task);
        a
    }

    /// `pe__action_notif_pseudo_ops`: the notification pseudo-actions around
    /// `action` (pre) and `complete` (post), if `r` notifies.
    pub fn action_notif_pseudo_ops(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        task: &str,
        action: Option<ActionId>,
        complete: Option<ActionId>,
    ) -> Option<NotifyOps> {
        if !self.rflag(r, rf::NOTIFY) {
            return None;
        }
        let mut ops = NotifyOps::default();
        let set_meta = |s: &mut Self, a: ActionId, ty: &str| {
            let m = &mut s.actions[a].meta;
            m.insert("notify_type".into(), ty.into());
            m.insert("notify_operation".into(), task.into());
        };
        if let Some(action) = action {
            let pre = self.new_notify_pseudo_action(refs, r, action, "notify", "pre");
            self.actions[pre].flags |= af::RUNNABLE;
            set_meta(self, pre, "pre");
            let pre_done =
                self.new_notify_pseudo_action(refs, r, action, "notified", "confirmed-pre");
            self.actions[pre_done].flags |= af::RUNNABLE;
            set_meta(self, pre_done, "pre");
            self.order_actions(pre, pre_done, ar::ORDERED);
            self.order_actions(pre_done, action, ar::ORDERED);
            ops.pre = Some(pre);
            ops.pre_done = Some(pre_done);
        }
        if let Some(complete) = complete {
            let runnable = self.aflag(complete, af::RUNNABLE);
            let post = self.new_notify_pseudo_action(refs, r, complete, "notify", "post");
            let post_done =
                self.new_notify_pseudo_action(refs, r, complete, "notified", "confirmed-post");
            for a in [post, post_done] {
                if runnable {
                    self.actions[a].flags |= af::RUNNABLE;
                } else {
                    self.actions[a].flags &= !af::RUNNABLE;
                }
                set_meta(self, a, "post");
            }
            self.order_actions(complete, post, ar::FIRST_IMPLIES_THEN);
            self.order_actions(post, post_done, ar::FIRST_IMPLIES_THEN);
            ops.post = Some(post);
            ops.post_done = Some(post_done);
        }
        if let (Some(pre_done), Some(post)) = (ops.pre_done, ops.post) {
            self.order_actions(pre_done, post, ar::ORDERED);
        }
        Some(ops)
    }

    /// Creates (once) the notification pseudo-actions of a clone's `kind`
    /// action and remembers them.
    pub fn notif_pseudo_ops(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        kind: NotifyKind,
        action: Option<ActionId>,
        complete: Option<ActionId>,
    ) -> bool {
        if self.rscs[r].notify[kind as usize].is_some() {
            return false;
        }
        let task = match kind {
            NotifyKind::Start => "start",
            NotifyKind::Stop => "stop",
            NotifyKind::Promote => "promote",
            NotifyKind::Demote => "demote",
        };
        let ops = self.action_notif_pseudo_ops(refs, r, task, action, complete);
        self.rscs[r].notify[kind as usize] = ops;
        ops.is_some()
    }

    /// `pe__create_clone_notif_pseudo_ops`.
    pub fn create_clone_notif_pseudo_ops(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        start: ActionId,
        started: ActionId,
        stop: ActionId,
        stopped: ActionId,
    ) {
        self.notif_pseudo_ops(refs, r, NotifyKind::Start, Some(start), Some(started));
        if self.notif_pseudo_ops(refs, r, NotifyKind::Stop, Some(stop), Some(stopped)) {
            let n = &self.rscs[r].notify;
            if let (Some(stop_n), Some(start_n)) = (n[NotifyKind::Stop as usize], n[0])
                && let (Some(a), Some(b)) = (stop_n.post_done, start_n.pre)
            {
                self.order_actions(a, b, ar::ORDERED);
            }
        }
    }

    /// The orderings between a promotable clone's notifications
    /// (end of `pe__create_promotable_pseudo_ops`).
    pub fn order_promotable_notifications(&mut self, r: RscId) {
        let n = self.rscs[r].notify;
        let get = |k: NotifyKind| n[k as usize].unwrap_or_default();
        let (start, stop, promote, demote) = (
            get(NotifyKind::Start),
            get(NotifyKind::Stop),
            get(NotifyKind::Promote),
            get(NotifyKind::Demote),
        );
        if n[NotifyKind::Promote as usize].is_none() || n[NotifyKind::Demote as usize].is_none() {
            return;
        }
        let pairs = [
            (stop.post_done, promote.pre),
            (start.post_done, promote.pre),
            (demote.post_done, promote.pre),
            (demote.post_done, start.pre),
            (demote.post_done, stop.pre),
        ];
        for (a, b) in pairs {
            if let (Some(a), Some(b)) = (a, b) {
                self.order_actions(a, b, ar::ORDERED);
            }
        }
    }

    /// `pe__order_notifs_after_fencing`: notifications for a stop that
    /// fencing implies.
    pub fn order_notifs_after_fencing(
        &mut self,
        refs: &Refs<'a>,
        _stop: ActionId,
        r: RscId,
        fencing: ActionId,
    ) {
        if let Some(ops) = self.action_notif_pseudo_ops(refs, r, "stop", None, Some(fencing)) {
            let top = self.top_of(r);
            self.create_notify_actions(refs, top, NotifyKind::Stop, ops);
        }
    }

    /// `pe__create_clone_notifications`: the per-instance notifications of a
    /// clone (when the graph is built).
    pub fn create_clone_notifications(&mut self, refs: &Refs<'a>, r: RscId) {
        for kind in [
            NotifyKind::Start,
            NotifyKind::Stop,
            NotifyKind::Promote,
            NotifyKind::Demote,
        ] {
            if let Some(ops) = self.rscs[r].notify[kind as usize] {
                if self.notification_required(r, kind) {
                    for a in [ops.pre, ops.pre_done, ops.post, ops.post_done]
                        .into_iter()
                        .flatten()
                    {
                        self.actions[a].flags &= !af::OPTIONAL;
                    }
                }
                self.create_notify_actions(refs, r, kind, ops);
            }
        }
    }

    /// Whether any instance will really do `kind` (`add_notif_keys`): then
    /// the notifications around it are required.
    fn notification_required(&self, r: RscId, kind: NotifyKind) -> bool {
        let task = match kind {
            NotifyKind::Start => "start",
            NotifyKind::Stop => "stop",
            NotifyKind::Promote => "promote",
            NotifyKind::Demote => "demote",
        };
        let rsc = &self.rscs[r];
        if !rsc.children.is_empty() {
            return rsc
                .children
                .iter()
                .any(|&c| self.notification_required(c, kind));
        }
        rsc.actions.iter().any(|&a| {
            let act = &self.actions[a];
            let Some(n) = act.node else { return false };
            act.flags & af::OPTIONAL == 0
                && act.task == task
                && (act.flags & af::RUNNABLE != 0 || (task == "stop" && self.nodes[n].unclean))
        })
    }

    /// `create_notify_actions`.
    fn create_notify_actions(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        kind: NotifyKind,
        ops: NotifyOps,
    ) {
        if !self.rscs[r].children.is_empty() {
            for c in self.rscs[r].children.clone() {
                self.create_notify_actions(refs, c, kind, ops);
            }
            return;
        }
        let down = matches!(kind, NotifyKind::Stop | NotifyKind::Demote);
        if self.rscs[r].orig_role != Role::Stopped && down {
            let stop = self.find_first_action(r, "stop", None);
            for n in self.rscs[r].active_nodes.clone() {
                if stop.is_some_and(|s| self.aflag(s, af::PSEUDO)) && self.nodes[n].unclean {
                    continue;
                }
                self.new_notify_action(refs, r, n, ops.pre, ops.pre_done);
                if kind == NotifyKind::Demote || stop.is_none_or(|s| self.aflag(s, af::OPTIONAL)) {
                    self.new_post_notify_action(refs, r, n, ops);
                }
            }
        }
        if self.rscs[r].next_role != Role::Stopped && !down {
            let start = self.find_first_action(r, "start", None);
            let Some(n) = self.rscs[r].assigned else {
                let id = self.rscs[r].id.clone();
                let role = self.rscs[r].next_role.text();
                self.err(format!("Next role '{role}' but {id} is not allocated"));
                return;
            };
            if kind != NotifyKind::Start || start.is_none_or(|s| self.aflag(s, af::OPTIONAL)) {
                self.new_notify_action(refs, r, n, ops.pre, ops.pre_done);
            }
            self.new_post_notify_action(refs, r, n, ops);
        }
    }

    /// `new_notify_action`: the notification of instance `r` on `n` for the
    /// pseudo-action `op`, ordered before `done`.
    fn new_notify_action(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        n: NodeId,
        op: Option<ActionId>,
        done: Option<ActionId>,
    ) -> Option<ActionId> {
        let (op, done) = (op?, done?);
        if !self.nodes[n].online || !self.aflag(op, af::RUNNABLE) {
            return None;
        }
        let ty = self.actions[op]
            .meta
            .get("notify_type")
            .cloned()
            .unwrap_or_default();
        let task = self.actions[op]
            .meta
            .get("notify_operation")
            .cloned()
            .unwrap_or_default();
        let key = format!("{}_{ty}_notify_{task}_0", self.rscs[r].id);
        let optional = self.aflag(op, af::OPTIONAL);
        let op_task = self.actions[op].task.clone();
        let a = self.custom_action(refs, Some(r), key, &op_task, Some(n), optional);
        let meta: Vec<(String, String)> = self.actions[op]
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in meta {
            self.actions[a].meta.entry(k).or_insert(v);
        }
        self.order_actions(op, a, ar::ORDERED);
        self.order_actions(a, done, ar::ORDERED);
        Some(a)
    }

    /// `new_post_notify_action`: also orders the instance's recurring
    /// monitors after all post-notifications.
    fn new_post_notify_action(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, ops: NotifyOps) {
        self.new_notify_action(refs, r, n, ops.post, ops.post_done);
        let Some(done) = ops.post_done else { return };
        for mon in self.rscs[r].actions.clone().into_iter().rev() {
            let act = &self.actions[mon];
            if act.interval_ms == 0 || act.task == "cancel" {
                continue;
            }
            self.order_actions(done, mon, ar::ORDERED);
        }
    }
}
