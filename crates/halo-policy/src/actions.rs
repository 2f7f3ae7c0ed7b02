//! Creating actions (`custom_action`) and the per-action options they carry:
//! timeout, failure handling, what the action requires (quorum, fencing), and
//! whether it can run at all.

use std::collections::BTreeMap;

use halo_cib::model::Op;

use crate::nvsets::{Refs, RuleInput, unpack_into_btree};
use crate::sched::*;
use crate::util::{op_key, parse_interval, parse_ms};

/// Default action timeout (ms).
pub const DEFAULT_TIMEOUT_MS: i64 = 20_000;

/// The `<op>` element's XML attributes as (name, value) pairs.
fn op_xml_attrs(op: &Op) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("id", op.id.clone()),
        ("name", op.name.clone()),
        ("interval", op.interval.clone()),
    ];
    let mut opt = |n: &'static str, x: Option<String>| {
        if let Some(x) = x {
            v.push((n, x));
        }
    };
    opt("timeout", op.timeout.clone());
    opt("start-delay", op.start_delay.clone());
    opt("interval-origin", op.interval_origin.clone());
    opt("role", op.role.map(|r| r.as_str().to_string()));
    opt("on-fail", op.on_fail.clone());
    opt("enabled", op.enabled.map(|b| b.to_string()));
    opt("record-pending", op.record_pending.map(|b| b.to_string()));
    opt("requires", op.requires.clone());
    opt("description", op.description.clone());
    v
}

fn is_promoted_role(op: &Op) -> bool {
    op.role == Some(halo_cib::model::Role::Promoted)
}

impl<'a> Scheduler<'a> {
    /// `pcmk__unpack_action_meta`: an action's meta-attributes with interval and
    /// timeout normalized to milliseconds.
    pub fn action_meta(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        node: Option<NodeId>,
        task: &str,
        interval_ms: u32,
        config: Option<&'a Op>,
    ) -> BTreeMap<String, String> {
        let rsc = &self.rscs[r];
        let (class, provider, agent) = (rsc.class.clone(), rsc.provider.clone(), rsc.agent.clone());
        let input = RuleInput {
            rsc_standard: Some(class.as_str()),
            rsc_provider: provider.as_deref(),
            rsc_agent: Some(agent.as_str()),
            op_name: Some(task),
            op_interval_ms: interval_ms,
            ..RuleInput::default()
        };
        let mut meta: BTreeMap<String, String> = BTreeMap::new();
        if let Some(op) = config {
            unpack_into_btree(refs, &op.meta, &input, &mut meta);
            for (n, v) in op_xml_attrs(op) {
                meta.insert(n.to_string(), v);
            }
        }
        if task == "monitor" && interval_ms == 0 && !meta.contains_key("timeout") {
            // Probes default to the timeout of the most frequent recurring monitor.
            let mut best: Option<(u32, &Op)> = None;
            for op in self.rscs[r].ops {
                if op.name != "monitor" {
                    continue;
                }
                let i = parse_interval(Some(&op.interval));
                if i == 0 || op.enabled == Some(false) {
                    continue;
                }
                if best.is_none_or(|(b, _)| i < b) {
                    best = Some((i, op));
                }
            }
            if let Some((_, op)) = best
                && let Some(t) = &op.timeout
            {
                meta.insert("timeout".into(), t.clone());
            }
        }
        unpack_into_btree(refs, self.op_defaults, &input, &mut meta);
        meta.remove("id");
        if interval_ms > 0 {
            meta.insert("interval".into(), interval_ms.to_string());
        } else {
            meta.remove("interval");
        }
        if class.eq_ignore_ascii_case("stonith")
            && (task == "start" || (task == "monitor" && interval_ms == 0))
        {
            let params = self.rsc_params(refs, r, node);
            if let Some(t) = params.get("pcmk_monitor_timeout") {
                meta.insert("timeout".into(), t.clone());
            }
        }
        let timeout = meta
            .get("timeout")
            .and_then(|t| parse_ms(t))
            .filter(|&t| t > 0)
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .min(i64::from(i32::MAX));
        meta.insert("timeout".into(), timeout.to_string());
        self.validate_on_fail(r, task, config, &mut meta);
        meta
    }

    /// `validate_on_fail`.
    fn validate_on_fail(
        &mut self,
        r: RscId,
        task: &str,
        config: Option<&Op>,
        meta: &mut BTreeMap<String, String>,
    ) {
        let value = meta.get("on-fail").map(|v| v.to_ascii_lowercase());
        if task == "stop" && matches!(value.as_deref(), Some("standby" | "demote" | "stop")) {
            let id = self.rscs[r].id.clone();
            self.err(format!(
                "Resetting 'on-fail' for {id} stop action to default value because '{}' is not allowed for stop",
                value.as_deref().unwrap_or("")
            ));
            meta.remove("on-fail");
            return;
        }
        if task == "demote" && value.is_none() {
            for op in self.rscs[r].ops {
                let Some(of) = &op.on_fail else { continue };
                if op.name != "monitor" || !is_promoted_role(op) {
                    continue;
                }
                if parse_interval(Some(&op.interval)) == 0 || op.enabled == Some(false) {
                    continue;
                }
                if of.eq_ignore_ascii_case("demote") {
                    continue;
                }
                meta.insert("on-fail".into(), of.clone());
            }
            return;
        }
        if task == "lrm_delete" && value.as_deref() != Some("ignore") {
            meta.insert("on-fail".into(), "ignore".into());
            return;
        }
        if value.as_deref() == Some("demote") {
            let ok = config.is_some_and(|c| {
                c.name == "promote"
                    || (parse_interval(Some(&c.interval)) > 0
                        && c.name == "monitor"
                        && is_promoted_role(c))
            });
            if !ok {
                let id = self.rscs[r].id.clone();
                self.err(format!(
                    "Resetting 'on-fail' for {id} {task} action to default value because 'demote' is not allowed for it"
                ));
                meta.remove("on-fail");
            }
        }
    }

    /// `pcmk__action_requires`.
    pub fn action_requires(&self, r: RscId, task: &str) -> Requires {
        if task != "start" && task != "promote" {
            Requires::Nothing
        } else if self.rflag(r, rf::NEEDS_FENCING) {
            Requires::Fencing
        } else if self.rflag(r, rf::NEEDS_QUORUM) {
            Requires::Quorum
        } else {
            Requires::Nothing
        }
    }

    /// `pcmk__parse_on_fail`.
    pub fn parse_on_fail(
        &mut self,
        r: RscId,
        task: &str,
        _interval_ms: u32,
        value: Option<&str>,
    ) -> OnFail {
        let lower = value.map(str::to_ascii_lowercase);
        let explicit = match lower.as_deref() {
            None => None,
            Some("block") => Some(OnFail::Block),
            Some("fence") => {
                if self.is(sf::FENCING_ENABLED) {
                    Some(OnFail::FenceNode)
                } else {
                    let id = self.rscs[r].id.clone();
                    self.err(format!(
                        "Resetting 'on-fail' for {task} of {id} to 'stop' because 'fence' is not valid when fencing is disabled"
                    ));
                    Some(OnFail::Stop)
                }
            }
            Some("standby") => Some(OnFail::StandbyNode),
            Some("ignore" | "nothing") => Some(OnFail::Ignore),
            Some("migrate") => Some(OnFail::Ban),
            Some("stop") => Some(OnFail::Stop),
            Some("restart") => Some(OnFail::Restart),
            // No launchers (containers) in halo: restart-container means default.
            Some("restart-container") => None,
            Some("demote") => Some(OnFail::Demote),
            Some(other) => {
                let id = self.rscs[r].id.clone();
                self.err(format!(
                    "Using default 'on-fail' for {task} of {id} because '{other}' is not valid"
                ));
                None
            }
        };
        match explicit {
            Some(f) => f,
            None if task == "stop" => {
                if self.is(sf::FENCING_ENABLED) {
                    OnFail::FenceNode
                } else {
                    OnFail::Block
                }
            }
            None => OnFail::Restart,
        }
    }

    /// `pcmk__role_after_failure`.
    pub fn role_after_failure(task: &str, on_fail: OnFail) -> Role {
        if on_fail == OnFail::Stop {
            Role::Stopped
        } else if task == "promote" {
            Role::Unpromoted
        } else {
            Role::Started
        }
    }

    /// `custom_action`: finds or creates the action `key` of `r` on `node`,
    /// and makes it required if `optional` is false.
    pub fn custom_action(
        &mut self,
        refs: &Refs<'a>,
        r: Option<RscId>,
        key: String,
        task: &str,
        node: Option<NodeId>,
        optional: bool,
    ) -> ActionId {
        let existing = match r {
            Some(r) => {
                let list = self.rscs[r].actions.clone();
                let found = self.find_actions(&list, &key, node);
                found.first().copied()
            }
            None => self.find_singleton(&key, node),
        };
        let a = match existing {
            Some(a) => a,
            None => self.new_action(refs, r, key, task, node, optional),
        };
        // update_action_optional
        let unmanaged_nonrecurring = match (self.actions[a].rsc, self.actions[a].node) {
            (Some(rr), Some(_)) => {
                !self.aflag(a, af::PSEUDO)
                    && !self.rflag(rr, rf::MANAGED)
                    && self.actions[a].interval_ms == 0
            }
            _ => false,
        };
        if unmanaged_nonrecurring {
            self.actions[a].flags |= af::OPTIONAL;
        } else if !optional {
            self.actions[a].flags &= !af::OPTIONAL;
        }
        if r.is_some() {
            self.update_action_runnable(a);
        }
        a
    }

    fn find_singleton(&mut self, key: &str, node: Option<NodeId>) -> Option<ActionId> {
        let a = *self.singletons.get(key)?;
        match (node, self.actions[a].node) {
            (None, _) => Some(a),
            (Some(n), None) => {
                self.actions[a].node = Some(n);
                Some(a)
            }
            (Some(n), Some(an)) if n == an => Some(a),
            _ => None,
        }
    }

    fn new_action(
        &mut self,
        refs: &Refs<'a>,
        r: Option<RscId>,
        key: String,
        task: &str,
        node: Option<NodeId>,
        optional: bool,
    ) -> ActionId {
        let interval_ms = key
            .rsplit('_')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut flags = af::RUNNABLE;
        if optional {
            flags |= af::OPTIONAL;
        }
        if task == "lrm_delete" {
            flags |= af::ON_DC;
        }
        let mut action = Action {
            rsc: r,
            task: task.to_string(),
            uuid: key.clone(),
            interval_ms,
            node,
            flags,
            reason: None,
            needs: Requires::Nothing,
            on_fail: OnFail::Ignore,
            fail_role: Role::Unknown,
            op_entry: None,
            meta: BTreeMap::new(),
            before: Vec::new(),
            after: Vec::new(),
            required_runnable_before: 0,
            runnable_before: 0,
        };
        if let Some(r) = r {
            let mut entry = self.find_op_config(r, task, interval_ms, true);
            if entry.is_none() && key.contains("_notify_") {
                entry = self.find_op_config(r, "notify", 0, true);
            }
            action.op_entry = entry;
            let meta = self.action_meta(refs, r, node, task, interval_ms, entry);
            action.needs = self.action_requires(r, task);
            action.on_fail = self.parse_on_fail(
                r,
                task,
                interval_ms,
                meta.get("on-fail").map(String::as_str),
            );
            action.fail_role = Self::role_after_failure(task, action.on_fail);
            action.meta = meta;
        }
        let a = self.actions.len();
        self.actions.push(action);
        match r {
            Some(r) => self.rscs[r].actions.push(a),
            None => {
                self.singletons.insert(key, a);
            }
        }
        a
    }

    /// `update_resource_action_runnable`.
    pub fn update_action_runnable(&mut self, a: ActionId) {
        if self.aflag(a, af::PSEUDO) {
            return;
        }
        let Some(r) = self.actions[a].rsc else { return };
        let Some(n) = self.actions[a].node else {
            self.actions[a].flags &= !af::RUNNABLE;
            return;
        };
        let on_dc = self.aflag(a, af::ON_DC);
        if !on_dc && !self.nodes[n].online {
            self.actions[a].flags &= !af::RUNNABLE;
            if self.rflag(r, rf::MANAGED)
                && self.actions[a].task == "stop"
                && !self.nodes[n].unclean
            {
                self.fence_node(n, "stop is unrunnable", false);
            }
        } else if !on_dc && self.nodes[n].pending {
            self.actions[a].flags &= !af::RUNNABLE;
        } else if self.actions[a].needs == Requires::Nothing {
            self.set_reason(a, None, true);
            self.actions[a].flags |= af::RUNNABLE;
        } else {
            match self.effective_quorum_policy(r) {
                NoQuorumPolicy::Stop => {
                    self.actions[a].flags &= !af::RUNNABLE;
                    self.set_reason(a, Some("no quorum"), true);
                }
                NoQuorumPolicy::Freeze => {
                    let rsc = &self.rscs[r];
                    if !self.rsc_active(r, true) || rsc.next_role > rsc.orig_role {
                        self.actions[a].flags &= !af::RUNNABLE;
                        self.set_reason(a, Some("quorum freeze"), true);
                    }
                }
                _ => self.actions[a].flags |= af::RUNNABLE,
            }
        }
    }

    fn effective_quorum_policy(&mut self, r: RscId) -> NoQuorumPolicy {
        if self.is(sf::QUORATE) {
            return NoQuorumPolicy::Ignore;
        }
        if self.no_quorum_policy == NoQuorumPolicy::Demote {
            let rsc = &self.rscs[r];
            return match rsc.orig_role {
                Role::Promoted | Role::Unpromoted => {
                    if rsc.next_role > Role::Unpromoted {
                        self.rscs[r].next_role = Role::Unpromoted;
                    }
                    NoQuorumPolicy::Ignore
                }
                _ => NoQuorumPolicy::Stop,
            };
        }
        self.no_quorum_policy
    }

    /// Shorthand for a resource action with interval 0.
    pub fn rsc_action(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        task: &str,
        node: Option<NodeId>,
        optional: bool,
    ) -> ActionId {
        let key = op_key(&self.rscs[r].id, task, 0);
        self.custom_action(refs, Some(r), key, task, node, optional)
    }

    /// A pseudo-action of a resource (`pe__new_rsc_pseudo_action`).
    pub fn rsc_pseudo_action(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        task: &str,
        optional: bool,
        runnable: bool,
    ) -> ActionId {
        let a = self.rsc_action(refs, r, task, None, optional);
        self.actions[a].flags |= af::PSEUDO;
        if runnable {
            self.actions[a].flags |= af::RUNNABLE;
        }
        a
    }

    /// `get_pseudo_op`: a cluster-wide pseudo-action.
    pub fn pseudo_op(&mut self, refs: &Refs<'a>, name: &str) -> ActionId {
        if let Some(&a) = self.singletons.get(name) {
            return a;
        }
        let a = self.custom_action(refs, None, name.to_string(), name, None, true);
        self.actions[a].flags |= af::PSEUDO | af::RUNNABLE;
        a
    }

    /// `pe_fence_op`: the fencing action for node `n`.
    pub fn fence_op(
        &mut self,
        n: NodeId,
        op: Option<&str>,
        optional: bool,
        reason: Option<&str>,
        _priority_delay: bool,
    ) -> ActionId {
        let op = op.map_or_else(|| self.fence_action.clone(), str::to_string);
        let key = format!("stonith-{}-{}", self.nodes[n].name, op);
        let a = match self.singletons.get(&key) {
            Some(&a) => a,
            None => {
                let refs = Refs::default();
                let a = self.custom_action(&refs, None, key, "stonith", Some(n), true);
                let (name, id) = (self.nodes[n].name.clone(), self.nodes[n].id.clone());
                let m = &mut self.actions[a].meta;
                m.insert("on_node".into(), name);
                m.insert("on_node_uuid".into(), id);
                m.insert("stonith_action".into(), op);
                a
            }
        };
        if !optional && self.can_fence(Some(n)) {
            self.actions[a].flags &= !af::OPTIONAL;
            self.set_reason(a, reason, false);
        } else if let Some(reason) = reason
            && self.actions[a].reason.is_none()
        {
            self.actions[a].reason = Some(reason.to_string());
        }
        a
    }

    /// `pe_fence_node`: marks a node unclean and schedules (optional) fencing.
    pub fn fence_node(&mut self, n: NodeId, reason: &str, priority_delay: bool) {
        if self.nodes[n].unclean {
            return;
        }
        let can = self.can_fence(Some(n));
        let name = self.nodes[n].name.clone();
        self.warn(format!(
            "Cluster node {name} {}: {reason}",
            if can { "will be fenced" } else { "is unclean" }
        ));
        self.nodes[n].unclean = true;
        self.fence_op(n, None, true, Some(reason), priority_delay);
    }
}
