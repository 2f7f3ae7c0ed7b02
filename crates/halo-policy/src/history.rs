//! Stage 2: unpack the status section — node states and resource histories.
//!
//! For each `node_state`: transient attributes, then whether the node is online,
//! pending, shutting down or unclean (Pacemaker's `determine_online_status`).
//! Then each node's `lrm_resource` histories are replayed in call-id order to
//! find where every resource is active, in which role, and which failures need
//! handling (Pacemaker's `unpack_lrm_resource` / `unpack_rsc_op`).

use std::cmp::Ordering;

use halo_cib::model::{INFINITY, LrmResource, LrmRscOp, NodeState, add_scores};

use crate::nvsets::Refs;
use crate::sched::*;
use crate::util::{glib_sort, op_key, parse_bool, parse_interval, scan_ll};

// OCF exit codes.
const OCF_OK: i32 = 0;
const OCF_INVALID_PARAM: i32 = 2;
const OCF_UNIMPLEMENT_FEATURE: i32 = 3;
const OCF_INSUFFICIENT_PRIV: i32 = 4;
const OCF_NOT_INSTALLED: i32 = 5;
const OCF_NOT_CONFIGURED: i32 = 6;
const OCF_NOT_RUNNING: i32 = 7;
const OCF_RUNNING_PROMOTED: i32 = 8;
const OCF_FAILED_PROMOTED: i32 = 9;
const OCF_DEGRADED: i32 = 190;
const OCF_DEGRADED_PROMOTED: i32 = 191;

// Execution statuses.
const EXEC_PENDING: i32 = -1;
const EXEC_DONE: i32 = 0;
const EXEC_CANCELLED: i32 = 1;
const EXEC_ERROR: i32 = 4;
const EXEC_ERROR_HARD: i32 = 5;
const EXEC_ERROR_FATAL: i32 = 6;
const EXEC_NOT_INSTALLED: i32 = 7;
const EXEC_NO_FENCE_DEVICE: i32 = 10;
const EXEC_NO_SECRETS: i32 = 11;
const EXEC_NOT_SUPPORTED: i32 = 3;
const EXEC_MAX: i32 = 11;

/// The `target-rc` encoded in an entry's transition key (-1 if absent or bad).
pub fn target_rc(op: &LrmRscOp) -> i32 {
    op.transition_key
        .as_deref()
        .and_then(decode_transition_key)
        .map_or(-1, |(_, _, rc)| rc)
}

/// `action:transition:target-rc:uuid` → (action, transition, target rc).
/// Every history entry has one, so plain digits are read without the
/// general parser.
fn decode_transition_key(key: &str) -> Option<(i32, i32, i32)> {
    fn number(s: &str) -> Option<i32> {
        let b = s.as_bytes();
        if !b.is_empty() && b.len() <= 9 && b.iter().all(u8::is_ascii_digit) {
            return Some(b.iter().fold(0, |v, &d| v * 10 + i32::from(d - b'0')));
        }
        s.trim().parse().ok()
    }
    let mut colons = key.bytes().enumerate().filter(|&(_, b)| b == b':');
    let (a, t, rc) = (colons.next()?.0, colons.next()?.0, colons.next()?.0);
    Some((
        number(&key[..a])?,
        number(&key[a + 1..t])?,
        number(&key[t + 1..rc])?,
    ))
}

/// The transition key part of `op-status:rc;key`, with its uuid and transition id.
fn decode_magic(magic: &str) -> Option<(String, i32)> {
    let (_, key) = magic.split_once(';')?;
    let (_, t, _) = decode_transition_key(key)?;
    let uuid = key.splitn(4, ':').nth(3)?.to_string();
    Some((uuid, t))
}

pub fn history_key(op: &LrmRscOp) -> &str {
    match op.operation_key.as_deref() {
        Some(k) if !k.is_empty() => k,
        _ => &op.id,
    }
}

fn is_probe(op: &LrmRscOp) -> bool {
    op.operation == "monitor" && op.interval == 0
}

/// `pcmk_xe_mask_probe_failure`.
fn mask_probe_failure_applies(op: &LrmRscOp) -> bool {
    is_probe(op)
        && (op.rc_code == OCF_NOT_INSTALLED
            || op.rc_code == OCF_INVALID_PARAM
            || op.op_status == EXEC_NOT_INSTALLED)
}

fn last_rc_change(op: &LrmRscOp) -> Option<i64> {
    op.last_rc_change
        .as_deref()
        .and_then(scan_ll)
        .map(|(v, _)| v)
}

/// `pe__is_newer_op`, as a comparison for sorting one resource's history.
pub fn cmp_ops(a: &LrmRscOp, b: &LrmRscOp) -> Ordering {
    let same_node = match (&a.on_node, &b.on_node) {
        (None, None) => true,
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    };
    if same_node && a.id == b.id {
        return Ordering::Equal;
    }
    let (ac, bc) = (a.call_id, b.call_id);
    if ac == -1 && bc == -1 {
        return Ordering::Equal;
    } else if same_node && ac >= 0 && ac < bc {
        return Ordering::Less;
    } else if same_node && bc >= 0 && ac > bc {
        return Ordering::Greater;
    } else if ac >= 0 && bc >= 0 && (!same_node || ac == bc) {
        let la = last_rc_change(a).unwrap_or(-1);
        let lb = last_rc_change(b).unwrap_or(-1);
        if la >= 0 && la < lb {
            return Ordering::Less;
        } else if lb >= 0 && la > lb {
            return Ordering::Greater;
        }
        return Ordering::Equal;
    }
    let (Some(am), Some(bm)) = (&a.transition_magic, &b.transition_magic) else {
        return Ordering::Equal;
    };
    let (Some((au, aid)), Some((bu, bid))) = (decode_magic(am), decode_magic(bm)) else {
        return Ordering::Equal;
    };
    if !au.eq_ignore_ascii_case(&bu) || aid == bid {
        if bc == -1 {
            return Ordering::Less;
        } else if ac == -1 {
            return Ordering::Greater;
        }
    } else if (aid >= 0 && aid < bid) || bid == -1 {
        return Ordering::Less;
    } else if (bid >= 0 && aid > bid) || aid == -1 {
        return Ordering::Greater;
    }
    Ordering::Equal
}

/// A resource history in replay order (GLib sort of the reversed document order,
/// as Pacemaker builds it).
pub fn sorted_ops(lr: &LrmResource) -> Vec<&LrmRscOp> {
    let mut ops: Vec<&LrmRscOp> = lr.ops.iter().rev().collect();
    glib_sort(&mut ops, &mut |a, b| cmp_ops(a, b));
    ops
}

/// `calculate_active_ops`: indexes of the last start and last successful stop.
pub fn active_ops(ops: &[&LrmRscOp]) -> (i64, i64) {
    let mut stop_index: i64 = -1;
    let mut start_index: i64 = -1;
    let mut implied_monitor_start: i64 = -1;
    let mut implied_clone_start: i64 = -1;
    for (i, op) in ops.iter().enumerate() {
        let i = i as i64;
        let task = op.operation.as_str();
        if task == "stop" && op.op_status == 0 {
            stop_index = i;
        } else if task == "start" || task == "migrate_from" {
            start_index = i;
        } else if implied_monitor_start <= stop_index && task == "monitor" {
            if op.rc_code == 0 || op.rc_code == 8 {
                implied_monitor_start = i;
            }
        } else if task == "promote" || task == "demote" {
            implied_clone_start = i;
        }
    }
    if start_index == -1 {
        if implied_clone_start != -1 {
            start_index = implied_clone_start;
        } else if implied_monitor_start != -1 {
            start_index = implied_monitor_start;
        }
    }
    (start_index, stop_index)
}

/// Parsed state of one history entry while it is replayed.
struct History<'a> {
    rsc: RscId,
    node: NodeId,
    op: &'a LrmRscOp,
    task: &'a str,
    key: &'a str,
    interval_ms: u32,
    expected: i32,
    exit: i32,
    exec: i32,
}

impl<'a> Scheduler<'a> {
    /// `unpack_status`.
    pub fn unpack_status(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        for ns in &cib.status {
            self.unpack_node_state(refs, ns);
        }
        while self.unpack_node_history(refs, false) {}
        let fence = self.is(sf::FENCING_ENABLED);
        self.unpack_node_history(refs, fence);
    }

    fn find_node_any(&self, id: &str, uname: Option<&str>) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.id.eq_ignore_ascii_case(id))
            .or_else(|| uname.and_then(|u| self.find_node(u)))
    }

    fn unpack_node_state(&mut self, refs: &Refs<'a>, ns: &'a NodeState) {
        let Some(n) = self.find_node_any(&ns.id, ns.uname.as_deref()) else {
            self.warn(format!(
                "Ignoring recorded state for removed node with name {} and id {}",
                ns.uname.as_deref().unwrap_or("unknown"),
                ns.id
            ));
            return;
        };
        if let Some(t) = &ns.transient {
            self.add_node_attrs(refs, n, &t.attributes, &t.utilization, true);
        } else {
            self.add_node_attrs(refs, n, &[], &[], true);
        }
        if crate::util::is_true(self.node_attr(n, "standby")) {
            self.nodes[n].flags |= nf::STANDBY;
        }
        if crate::util::is_true(self.node_attr(n, "maintenance")) {
            self.nodes[n].maintenance = true;
        }
        self.nodes[n].unclean = false;
        self.nodes[n].flags |= nf::SEEN;
        self.determine_online_status(ns, n);
        if !self.is(sf::QUORATE)
            && self.nodes[n].online
            && self.no_quorum_policy == NoQuorumPolicy::Fence
        {
            self.fence_node(n, "cluster does not have quorum", false);
        }
    }

    fn shutdown_requested(&self, n: NodeId) -> bool {
        self.node_attr(n, "shutdown").is_some_and(|v| v != "0")
    }

    /// `unpack_node_member`: when the node became a member (epoch), 0 if not a
    /// member, -1 if unknown.
    fn node_member(&self, ns: &NodeState) -> i64 {
        let Some(v) = ns.in_ccm.as_deref() else {
            return -1;
        };
        match parse_bool(v) {
            Some(true) => self.now,
            Some(false) => 0,
            None => match scan_ll(v) {
                Some((x, _)) if x >= 0 => x,
                _ => -1,
            },
        }
    }

    /// `unpack_node_online`: when the controller came up, 0 if offline.
    fn node_online(ns: &NodeState) -> i64 {
        match ns.crmd.as_deref() {
            None => 0,
            Some(v) if v.eq_ignore_ascii_case("offline") => 0,
            Some(v) if v.eq_ignore_ascii_case("online") => 1,
            Some(v) => match scan_ll(v) {
                Some((x, _)) if x >= 0 => x,
                _ => 0,
            },
        }
    }

    fn determine_online_status(&mut self, ns: &NodeState, n: NodeId) {
        self.nodes[n].shutdown = false;
        if self.shutdown_requested(n) {
            self.nodes[n].shutdown = true;
        } else if ns
            .expected
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("member"))
        {
            self.nodes[n].flags |= nf::EXPECTED_UP;
        }
        let online = if self.is(sf::FENCING_ENABLED) {
            self.online_status_fencing(ns, n)
        } else {
            self.online_status_no_fencing(ns, n)
        };
        if online {
            self.nodes[n].online = true;
        } else {
            self.nodes[n].weight = -INFINITY;
        }
        if online && self.nodes[n].shutdown {
            self.nodes[n].weight = -INFINITY;
        }
    }

    fn online_status_no_fencing(&mut self, ns: &NodeState, n: NodeId) -> bool {
        let member = self.node_member(ns);
        let online = Self::node_online(ns);
        if member <= 0 {
            false
        } else if online > 0 {
            ns.join
                .as_deref()
                .is_some_and(|j| j.eq_ignore_ascii_case("member"))
        } else if self.nodes[n].flags & nf::EXPECTED_UP == 0 {
            false
        } else {
            self.fence_node(n, "peer is unexpectedly down", false);
            false
        }
    }

    fn online_status_fencing(&mut self, ns: &NodeState, n: NodeId) -> bool {
        let terminate = match self.node_attr(n, "terminate") {
            None => false,
            Some(v) => match parse_bool(v) {
                Some(b) => b,
                None => scan_ll(v).is_some_and(|(x, _)| x > 0),
            },
        };
        let join = ns.join.as_deref();
        let member = self.node_member(ns);
        let online = Self::node_online(ns);
        if self.nodes[n].shutdown {
            return online > 0;
        }
        if member < 0 {
            self.fence_node(n, "peer has not been seen by the cluster", false);
            return false;
        }
        if join == Some("nack") {
            self.fence_node(n, "peer failed Pacemaker membership criteria", false);
        } else if terminate {
            if member <= 0 && online <= 0 && join == Some("down") {
                return false;
            }
            self.fence_node(n, "fencing was requested", false);
        } else if ns
            .expected
            .as_deref()
            .is_none_or(|e| e.eq_ignore_ascii_case("down"))
        {
            let pending_too_long = self.node_pending_ms > 0
                && member > 0
                && online <= 0
                && self.now >= member + i64::from(self.node_pending_ms / 1000);
            if pending_too_long {
                self.fence_node(
                    n,
                    "peer pending timed out on joining the process group",
                    false,
                );
            } else if member > 0 || online > 0 {
                self.nodes[n].flags |= nf::STANDBY;
                self.nodes[n].pending = true;
            }
        } else if member <= 0 {
            self.fence_node(n, "peer is no longer part of the cluster", true);
        } else if online <= 0 {
            self.fence_node(n, "peer process is no longer available", false);
        } else if join == Some("member") {
            // active
        } else if matches!(join, Some("pending" | "down")) {
            self.nodes[n].flags |= nf::STANDBY;
            self.nodes[n].pending = true;
        } else {
            self.fence_node(n, "peer was in an unknown state", false);
        }
        member > 0
    }

    /// One pass over the node histories; returns whether any was unpacked.
    fn unpack_node_history(&mut self, refs: &Refs<'a>, fence: bool) -> bool {
        let cib = self.cib;
        let mut any = false;
        for ns in &cib.status {
            let Some(uname) = ns.uname.as_deref() else {
                continue;
            };
            let Some(n) = self.find_node_any(&ns.id, Some(uname)) else {
                continue;
            };
            if self.nodes[n].flags & nf::UNPACKED != 0 {
                continue;
            }
            if !fence
                && !self.is(sf::FENCING_ENABLED)
                && !self.is(sf::SHUTDOWN_LOCK)
                && !self.nodes[n].online
            {
                continue;
            }
            self.nodes[n].flags |= nf::UNPACKED;
            for lr in ns.lrm_resources() {
                self.unpack_lrm_resource(refs, n, lr);
            }
            any = true;
        }
        any
    }

    /// `unpack_lrm_resource`.
    fn unpack_lrm_resource(
        &mut self,
        refs: &Refs<'a>,
        n: NodeId,
        lr: &'a LrmResource,
    ) -> Option<RscId> {
        let locks = self.is(sf::SHUTDOWN_LOCK);
        if lr.ops.is_empty() && !locks {
            return None;
        }
        let r = match self.find_history_resource(refs, n, &lr.id) {
            Some(r) => r,
            None if lr.ops.is_empty() => return None,
            None => self.create_removed_resource(
                refs,
                &lr.id,
                lr.class.as_deref(),
                lr.provider.as_deref(),
                lr.agent.as_deref(),
            ),
        };
        if locks {
            self.unpack_shutdown_lock(refs, lr, r, n);
        }
        let saved_role = self.rscs[r].orig_role;
        self.rscs[r].orig_role = Role::Unknown;
        let ops = sorted_ops(lr);
        let mut last_failure: Option<&'a LrmRscOp> = None;
        let mut on_fail = OnFail::Ignore;
        for op in &ops {
            self.unpack_rsc_op(refs, r, n, op, &mut last_failure, &mut on_fail);
        }
        let (start, stop) = active_ops(&ops);
        self.process_recurring(refs, n, r, start, stop, &ops);
        self.process_rsc_state(refs, r, n, on_fail);
        if let Some(req) = self.target_role(r) {
            let next = self.rscs[r].next_role;
            if next == Role::Unknown || req < next {
                self.rscs[r].next_role = req;
            }
        }
        if saved_role > self.rscs[r].orig_role {
            self.rscs[r].orig_role = saved_role;
        }
        Some(r)
    }

    /// `unpack_shutdown_lock`: a history entry's `shutdown-lock` time locks
    /// the resource to the node, unless the lock expired (then the history is
    /// cleared).
    fn unpack_shutdown_lock(&mut self, refs: &Refs<'a>, lr: &LrmResource, r: RscId, n: NodeId) {
        let lock_time = lr
            .shutdown_lock
            .as_deref()
            .and_then(scan_ll)
            .map_or(0, |(v, _)| v);
        if lock_time == 0 {
            return;
        }
        let limit = i64::from(self.shutdown_lock_ms / 1000);
        if self.shutdown_lock_ms > 0 && self.now > lock_time + limit {
            self.clear_resource_history(refs, r, n);
        } else {
            self.rscs[r].lock_node = Some(n);
            self.rscs[r].lock_time = lock_time;
        }
    }

    /// `pe__clear_resource_history`: schedules deleting a resource's history
    /// on a node.
    pub fn clear_resource_history(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) {
        let key = op_key(&self.rscs[r].id, "lrm_delete", 0);
        self.custom_action(refs, Some(r), key, "lrm_delete", Some(n), false);
    }

    /// `pe_find_resource`: by id, then by history id.
    pub fn find_resource(&self, id: &str) -> Option<RscId> {
        if let Some(&r) = self.rsc_by_id.get(id) {
            return Some(r);
        }
        self.rscs
            .iter()
            .position(|r| r.history_id.as_deref() == Some(id))
    }

    /// `unpack_find_resource`: the resource a history entry belongs to.
    fn find_history_resource(&mut self, refs: &Refs<'a>, n: NodeId, rsc_id: &str) -> Option<RscId> {
        let mut rsc = self.find_resource(rsc_id);
        let parent;
        match rsc {
            None => {
                let zero = format!("{}:0", clone_strip(rsc_id));
                match self.find_resource(&zero) {
                    Some(c0) if !self.rflag(c0, rf::UNIQUE) => {
                        rsc = Some(c0);
                        parent = Some(self.top_of(c0));
                    }
                    _ => parent = None,
                }
            }
            Some(r) if self.rscs[r].variant > Variant::Primitive => return None,
            Some(r) => parent = Some(self.top_of(r)),
        }
        if let Some(p) = parent
            && self.is_anonymous_clone(p)
        {
            let base = clone_strip(rsc_id).to_string();
            rsc = Some(self.find_anonymous_clone(refs, n, p, &base));
        }
        if let Some(r) = rsc
            && rsc_id != self.rscs[r].id
            && self.rscs[r].history_id.as_deref() != Some(rsc_id)
        {
            self.rscs[r].history_id = Some(rsc_id.to_string());
        }
        rsc
    }

    /// `find_rsc` with `pcmk_rsc_match_clone_only` inside one instance: the
    /// descendant (or the instance itself) whose configured id is `base`.
    fn find_in_instance(&self, inst: RscId, base: &str) -> Option<RscId> {
        let r = &self.rscs[inst];
        if r.id == base || r.xml_id == base {
            return Some(inst);
        }
        r.children
            .iter()
            .find_map(|&c| self.find_in_instance(c, base))
    }

    /// `find_anonymous_clone`.
    fn find_anonymous_clone(
        &mut self,
        refs: &Refs<'a>,
        n: NodeId,
        parent: RscId,
        base: &str,
    ) -> RscId {
        let mut rsc: Option<RscId> = None;
        let mut inactive: Option<RscId> = None;
        let mut skip_inactive = false;
        for &child in &self.rscs[parent].children.clone() {
            if rsc.is_some() {
                break;
            }
            let locations = self.rsc_location(child, true, true, false);
            if !locations.is_empty() {
                if locations[0] == n
                    && let Some(found) = self.find_in_instance(child, base)
                {
                    if !self.rscs[found].active_nodes.is_empty() {
                        skip_inactive = true;
                    } else {
                        rsc = Some(found);
                    }
                }
            } else if !skip_inactive && inactive.is_none() && !self.rflag(child, rf::BLOCKED) {
                inactive = self.find_in_instance(child, base);
                if let Some(i) = inactive
                    && self.rscs[i].pending_node.is_some_and(|p| p != n)
                {
                    inactive = None;
                }
            }
        }
        if rsc.is_none() && !skip_inactive {
            rsc = inactive;
        }
        if let Some(r) = rsc
            && !self.rflag(r, rf::NEEDS_FENCING)
            && (!self.nodes[n].online || self.nodes[n].unclean)
            && !self.is_universal_clone(parent)
        {
            rsc = None;
        }
        match rsc {
            Some(r) => r,
            None => {
                let child = self.clone_child_config(parent);
                match child.and_then(|c| self.create_clone_instance(refs, parent, c)) {
                    Some(top) => self.find_in_instance(top, base).unwrap_or(top),
                    None => parent,
                }
            }
        }
    }

    /// The configured child of clone `r`.
    pub fn clone_child_config(&self, r: RscId) -> Option<&'a halo_cib::model::CloneChild> {
        let id = &self.rscs[r].xml_id;
        self.cib
            .configuration
            .resources
            .iter()
            .find_map(|res| match res {
                halo_cib::model::Resource::Clone(c) if &c.id == id => Some(&c.child),
                _ => None,
            })
    }

    /// `pe__is_universal_clone`: an anonymous clone allowed one instance per node
    /// everywhere.
    pub fn is_universal_clone(&self, r: RscId) -> bool {
        let Some(d) = &self.rscs[r].clone else {
            return false;
        };
        !self.rflag(r, rf::UNIQUE) && d.max >= i32::try_from(self.nodes.len()).unwrap_or(i32::MAX)
    }

    /// `process_recurring`: optional actions for recurring operations that are
    /// active.
    fn process_recurring(
        &mut self,
        refs: &Refs<'a>,
        n: NodeId,
        r: RscId,
        start: i64,
        stop: i64,
        ops: &[&LrmRscOp],
    ) {
        for (i, op) in ops.iter().enumerate() {
            let i = i as i64;
            if !self.nodes[n].online {
                break;
            }
            if start < stop && i <= stop {
                continue;
            }
            if i < start {
                continue;
            }
            if op.interval == 0 || op.op_status == -1 {
                continue;
            }
            let interval = u32::try_from(op.interval).unwrap_or(u32::MAX);
            let key = op_key(&self.rscs[r].id, &op.operation, interval);
            self.custom_action(refs, Some(r), key, &op.operation, Some(n), true);
        }
    }

    /// `set_active`.
    fn set_active(&mut self, r: RscId) {
        let top = self.top_of(r);
        self.rscs[r].orig_role = if self.rflag(top, rf::PROMOTABLE) {
            Role::Unpromoted
        } else {
            Role::Started
        };
    }

    /// `unpack_rsc_op`.
    fn unpack_rsc_op(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        n: NodeId,
        op: &'a LrmRscOp,
        last_failure: &mut Option<&'a LrmRscOp>,
        on_fail: &mut OnFail,
    ) {
        if !matches!(
            op.operation.as_str(),
            "monitor"
                | "start"
                | "stop"
                | "promote"
                | "demote"
                | "migrate_to"
                | "migrate_from"
                | "asyncmon"
        ) {
            return;
        }
        if op.op_status < EXEC_PENDING || op.op_status > EXEC_MAX || op.op_status == EXEC_CANCELLED
        {
            let id = self.rscs[r].id.clone();
            self.err(format!(
                "Ignoring resource history entry {} for {id} on {} with invalid op-status '{}'",
                op.id, self.nodes[n].name, op.op_status
            ));
            return;
        }
        if op.rc_code < 0 || op.rc_code > 255 {
            let id = self.rscs[r].id.clone();
            self.err(format!(
                "Ignoring resource history entry {} for {id} on {} with invalid rc-code '{}'",
                op.id, self.nodes[n].name, op.rc_code
            ));
            return;
        }
        let mut h = History {
            rsc: r,
            node: n,
            op,
            task: &op.operation,
            key: history_key(op),
            interval_ms: u32::try_from(op.interval).unwrap_or(u32::MAX),
            expected: target_rc(op),
            exit: op.rc_code,
            exec: op.op_status,
        };
        let expired = self.check_operation_expiry(refs, &h);
        let old_rc = h.exit;
        self.remap_operation(&mut h, on_fail, expired);

        if expired && self.process_expired_result(&h, old_rc) {
            return;
        }
        if mask_probe_failure_applies(op) {
            self.mask_probe_failure(refs, &h, *last_failure, on_fail);
            return;
        }
        let parent = if self.rflag(r, rf::UNIQUE) {
            r
        } else {
            self.top_of(r)
        };
        match h.exec {
            EXEC_PENDING => {
                self.process_pending_action(refs, &h, *last_failure);
                return;
            }
            EXEC_DONE => {
                let exit = h.exit;
                self.update_resource_state(&h, exit, *last_failure, on_fail);
                return;
            }
            EXEC_NOT_INSTALLED => {
                let (strategy, fail_role) = self.failure_handling(refs, &h);
                if strategy == OnFail::Ignore {
                    *on_fail = OnFail::Ban;
                }
                self.resource_location(parent, Some(n), -INFINITY, "hard-error");
                self.rsc_op_failure(refs, &h, strategy, fail_role, last_failure, on_fail);
                return;
            }
            _ => {}
        }
        let (strategy, fail_role) = self.failure_handling(refs, &h);
        if strategy == OnFail::Ignore {
            let expected = h.expected;
            self.update_resource_state(&h, expected, *last_failure, on_fail);
            self.set_rflag(r, rf::IGNORE_FAILURE);
        } else {
            self.rsc_op_failure(refs, &h, strategy, fail_role, last_failure, on_fail);
            if h.exec == EXEC_ERROR_HARD {
                self.resource_location(parent, Some(n), -INFINITY, "hard-error");
            } else if h.exec == EXEC_ERROR_FATAL {
                self.resource_location(parent, None, -INFINITY, "fatal-error");
            }
        }
    }

    /// `unpack_failure_handling`: the configured on-fail and role after failure.
    fn failure_handling(&mut self, refs: &Refs<'a>, h: &History<'_>) -> (OnFail, Role) {
        let config = self.find_op_config(h.rsc, h.task, h.interval_ms, true);
        let meta = self.action_meta(refs, h.rsc, Some(h.node), h.task, h.interval_ms, config);
        let of = self.parse_on_fail(
            h.rsc,
            h.task,
            h.interval_ms,
            meta.get("on-fail").map(String::as_str),
        );
        (of, Self::role_after_failure(h.task, of))
    }

    /// `check_operation_expiry`.
    fn check_operation_expiry(&mut self, refs: &Refs<'a>, h: &History<'a>) -> bool {
        let mut expired = false;
        let is_last_failure = h.op.id.ends_with("_last_failure_0");
        let mut unexpired = 0;
        let mut clear_reason: Option<&str> = None;
        if h.exec == EXEC_NOT_INSTALLED {
            return false;
        }
        let expiration = i64::from(self.rscs[h.rsc].failure_expiration_ms / 1000);
        if expiration > 0
            && let Some(last_run) = last_rc_change(h.op)
        {
            if self.now >= last_run + expiration {
                expired = true;
            }
            unexpired = self.failcount(h.node, h.rsc, true, Some(h.op)).0;
        }
        if expired && self.failcount(h.node, h.rsc, false, Some(h.op)).0 != 0 {
            if unexpired == 0 {
                clear_reason = Some("it expired");
            } else {
                expired = false;
            }
        }
        if !expired && is_last_failure && self.should_clear_for_param_change(refs, h) {
            clear_reason = Some("resource parameters have changed");
        }
        if clear_reason.is_some() {
            self.clear_failcount(refs, h.rsc, h.node);
        }
        if expired
            && h.interval_ms == 0
            && h.task == "monitor"
            && matches!(
                h.exit,
                OCF_OK
                    | OCF_NOT_RUNNING
                    | OCF_RUNNING_PROMOTED
                    | OCF_DEGRADED
                    | OCF_DEGRADED_PROMOTED
            )
        {
            expired = false;
        }
        expired
    }

    fn should_clear_for_param_change(&mut self, refs: &Refs<'a>, h: &History<'a>) -> bool {
        if h.task != "start" && h.task != "monitor" {
            return false;
        }
        let (d, _) = self.digest_cmp(refs, h.rsc, h.op, h.node);
        !matches!(
            d,
            crate::digest::DigestResult::Unknown | crate::digest::DigestResult::Match
        )
    }

    /// `pe__clear_failcount`: schedules clearing a resource's fail count.
    pub fn clear_failcount(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId) -> ActionId {
        let key = op_key(&self.rscs[r].id, "clear_failcount", 0);
        let a = self.custom_action(refs, Some(r), key, "clear_failcount", Some(n), false);
        self.actions[a]
            .meta
            .insert("op_no_wait".into(), "true".into());
        a
    }

    /// `process_expired_result`: whether the entry needs no further processing.
    fn process_expired_result(&mut self, h: &History<'_>, orig_exit: i32) -> bool {
        if mask_probe_failure_applies(h.op) && orig_exit != h.expected {
            if self.rscs[h.rsc].orig_role <= Role::Stopped {
                self.rscs[h.rsc].orig_role = Role::Unknown;
            }
            return true;
        }
        if h.exit == h.expected {
            return false;
        }
        if h.interval_ms == 0 {
            return true;
        }
        // An expired failure of a recurring action on a usable node is
        // ignored, and the action rescheduled: Pacemaker fakes a changed
        // restart digest, which the configuration check later acts on.
        let node = &self.nodes[h.node];
        if node.online && !node.unclean {
            self.expired_recurring
                .insert(std::ptr::from_ref(h.op) as usize);
            return true;
        }
        false
    }

    /// `remap_operation`.
    fn remap_operation(&mut self, h: &mut History<'_>, on_fail: &mut OnFail, expired: bool) {
        let _ = expired;
        h.exit = match h.exit {
            OCF_DEGRADED => OCF_OK,
            OCF_DEGRADED_PROMOTED => OCF_RUNNING_PROMOTED,
            x => x,
        };
        if mask_probe_failure_applies(h.op) && (h.exec != EXEC_DONE || h.exit != OCF_NOT_RUNNING) {
            h.exec = EXEC_DONE;
            h.exit = OCF_NOT_RUNNING;
        }
        match h.exec {
            EXEC_DONE | EXEC_ERROR => {}
            EXEC_NO_FENCE_DEVICE | EXEC_NO_SECRETS => {
                h.exec = EXEC_ERROR_HARD;
                return;
            }
            _ => return,
        }
        let probe = is_probe(h.op);
        if h.expected < 0 {
            h.exec = EXEC_ERROR;
        } else if h.exit == h.expected {
            h.exec = EXEC_DONE;
        } else {
            h.exec = EXEC_ERROR;
        }
        match h.exit {
            OCF_OK => {
                if probe && h.expected == OCF_NOT_RUNNING {
                    h.exec = EXEC_DONE;
                }
            }
            OCF_NOT_RUNNING => {
                if probe || h.expected == h.exit || !self.rflag(h.rsc, rf::MANAGED) {
                    h.exec = EXEC_DONE;
                    self.rscs[h.rsc].orig_role = Role::Stopped;
                    *on_fail = OnFail::Ignore;
                    self.rscs[h.rsc].next_role = Role::Unknown;
                }
            }
            OCF_RUNNING_PROMOTED => {
                if probe && h.exit != h.expected {
                    h.exec = EXEC_DONE;
                }
                if !expired || h.exit == h.expected {
                    self.rscs[h.rsc].orig_role = Role::Promoted;
                }
            }
            OCF_FAILED_PROMOTED => {
                if !expired {
                    self.rscs[h.rsc].orig_role = Role::Promoted;
                }
                h.exec = EXEC_ERROR;
            }
            OCF_NOT_CONFIGURED => h.exec = EXEC_ERROR_FATAL,
            OCF_UNIMPLEMENT_FEATURE => {
                if h.interval_ms == 0 {
                    if !expired {
                        self.block_if_unrecoverable(h);
                    }
                    h.exec = EXEC_ERROR_HARD;
                } else {
                    h.exec = EXEC_NOT_SUPPORTED;
                }
            }
            OCF_NOT_INSTALLED | OCF_INVALID_PARAM | OCF_INSUFFICIENT_PRIV => {
                if !expired {
                    self.block_if_unrecoverable(h);
                }
                h.exec = EXEC_ERROR_HARD;
            }
            _ => {
                if h.exec == EXEC_DONE {
                    h.exec = EXEC_ERROR;
                }
            }
        }
    }

    fn block_if_unrecoverable(&mut self, h: &History<'_>) {
        if h.task != "stop" || self.can_fence(Some(h.node)) {
            return;
        }
        let id = self.rscs[h.rsc].id.clone();
        self.err(format!(
            "No further recovery can be attempted for {id} because {} on {} failed",
            h.task, self.nodes[h.node].name
        ));
        self.clear_rflag(h.rsc, rf::MANAGED);
        self.set_rflag(h.rsc, rf::BLOCKED);
    }

    /// `update_resource_state`.
    fn update_resource_state(
        &mut self,
        h: &History<'_>,
        exit: i32,
        last_failure: Option<&LrmRscOp>,
        on_fail: &mut OnFail,
    ) {
        let r = h.rsc;
        let mut clear = false;
        if exit == OCF_NOT_INSTALLED || mask_probe_failure_applies(h.op) {
            self.rscs[r].orig_role = Role::Stopped;
        } else if exit == OCF_NOT_RUNNING {
            clear = true;
        } else if h.task == "monitor" {
            if last_failure.is_some_and(|lf| history_key(lf) == h.key) {
                clear = true;
            }
            if self.rscs[r].orig_role < Role::Started {
                self.set_active(r);
            }
        } else if h.task == "start" {
            self.rscs[r].orig_role = Role::Started;
            clear = true;
        } else if h.task == "stop" {
            self.rscs[r].orig_role = Role::Stopped;
            clear = true;
        } else if h.task == "promote" {
            self.rscs[r].orig_role = Role::Promoted;
            clear = true;
        } else if h.task == "demote" {
            if *on_fail == OnFail::Demote {
                clear = true;
            }
            self.rscs[r].orig_role = Role::Unpromoted;
        } else if h.task == "migrate_from" {
            self.rscs[r].orig_role = Role::Started;
            clear = true;
        } else if h.task == "migrate_to" {
            // Live migration is not supported (tier 4); treat as active.
            if self.rscs[r].orig_role < Role::Started {
                self.set_active(r);
            }
        } else if self.rscs[r].orig_role < Role::Started {
            self.set_active(r);
        }
        if !clear {
            return;
        }
        match *on_fail {
            OnFail::Stop | OnFail::Ban | OnFail::StandbyNode | OnFail::FenceNode => {}
            OnFail::Block | OnFail::Ignore | OnFail::Demote | OnFail::Restart => {
                *on_fail = OnFail::Ignore;
                self.rscs[r].next_role = Role::Unknown;
            }
        }
    }

    /// `unpack_rsc_op_failure`.
    fn rsc_op_failure(
        &mut self,
        _refs: &Refs<'a>,
        h: &History<'a>,
        config_on_fail: OnFail,
        fail_role: Role,
        last_failure: &mut Option<&'a LrmRscOp>,
        on_fail: &mut OnFail,
    ) {
        let r = h.rsc;
        *last_failure = Some(h.op);
        if *on_fail < config_on_fail {
            *on_fail = config_on_fail;
        }
        match h.task {
            "stop" => self.resource_location(r, Some(h.node), -INFINITY, "__stop_fail__"),
            "promote" => self.rscs[r].orig_role = Role::Promoted,
            "demote" => {
                if config_on_fail == OnFail::Block {
                    self.rscs[r].orig_role = Role::Promoted;
                    self.rscs[r].next_role = Role::Stopped;
                } else if h.exit == OCF_NOT_RUNNING {
                    self.rscs[r].orig_role = Role::Stopped;
                } else {
                    self.rscs[r].orig_role = Role::Unpromoted;
                }
            }
            _ => {}
        }
        if is_probe(h.op) && h.exit == OCF_NOT_INSTALLED {
            self.rscs[r].orig_role = Role::Stopped;
        } else if self.rscs[r].orig_role < Role::Started {
            self.set_active(r);
        }
        if fail_role != Role::Started && self.rscs[r].next_role < fail_role {
            self.rscs[r].next_role = fail_role;
        }
        if fail_role == Role::Stopped {
            self.ban_from_all_nodes(r);
        }
    }

    fn ban_from_all_nodes(&mut self, mut r: RscId) {
        if self.rscs[r].parent.is_some() {
            let top = self.top_of(r);
            if self.is_anonymous_clone(top) {
                r = top;
            }
        }
        let id = self.rscs[r].id.clone();
        self.warn(format!("{id} will not be started under current conditions"));
        let weights: Vec<i32> = self.nodes.iter().map(|n| n.weight).collect();
        let t = &mut self.rscs[r].allowed;
        for (n, _) in weights.iter().enumerate() {
            t[n] = Some(Allowed {
                score: -INFINITY,
                probe_mode: ProbeMode::Always,
                count: 0,
            });
        }
    }

    /// `mask_probe_failure`.
    fn mask_probe_failure(
        &mut self,
        _refs: &Refs<'a>,
        h: &History<'a>,
        last_failure: Option<&LrmRscOp>,
        on_fail: &mut OnFail,
    ) {
        if self.nodes[h.node].online {
            self.failed_probes.push((h.node, h.op));
        }
        let ban = if self.rflag(h.rsc, rf::UNIQUE) {
            h.rsc
        } else {
            self.top_of(h.rsc)
        };
        let expected = h.expected;
        self.update_resource_state(h, expected, last_failure, on_fail);
        self.resource_location(ban, Some(h.node), -INFINITY, "masked-probe-failure");
    }

    /// `process_pending_action`.
    fn process_pending_action(
        &mut self,
        _refs: &Refs<'a>,
        h: &History<'_>,
        last_failure: Option<&LrmRscOp>,
    ) {
        if let Some(lf) = last_failure
            && lf.operation == h.task
            && lf.interval == h.op.interval
            && let (Some(this), Some(fail)) = (last_rc_change(h.op), last_rc_change(lf))
            && fail >= this
        {
            return;
        }
        if h.task == "start" {
            self.set_rflag(h.rsc, rf::START_PENDING);
            self.set_active(h.rsc);
        } else if h.task == "promote" {
            self.rscs[h.rsc].orig_role = Role::Promoted;
        }
        if self.rscs[h.rsc].pending_action.is_none() && !is_probe(h.op) {
            self.rscs[h.rsc].pending_node = Some(h.node);
            self.rscs[h.rsc].pending_action = Some(h.task.to_string());
        }
    }

    /// `process_rsc_state`.
    fn process_rsc_state(&mut self, refs: &Refs<'a>, r: RscId, n: NodeId, on_fail: OnFail) {
        let known_active = self.rscs[r].orig_role > Role::Stopped;
        if self.rscs[r].orig_role != Role::Unknown {
            let mut iter = Some(r);
            while let Some(i) = iter {
                self.rscs[i].probed[n] = true;
                if self.rflag(i, rf::UNIQUE) {
                    break;
                }
                iter = self.rscs[i].parent;
            }
        }
        if known_active
            && !self.nodes[n].online
            && !self.nodes[n].maintenance
            && self.rflag(r, rf::MANAGED)
            && self.is(sf::FENCING_ENABLED)
        {
            let reason = format!("{} is thought to be active there", self.rscs[r].id);
            self.fence_node(n, &reason, false);
        }
        let save_on_fail = on_fail;
        let mut on_fail = on_fail;
        if self.nodes[n].unclean {
            on_fail = OnFail::Ignore;
        }
        match on_fail {
            OnFail::Ignore => {}
            OnFail::Demote => {
                self.set_rflag(r, rf::FAILED);
                self.rsc_action(refs, r, "demote", Some(n), false);
            }
            OnFail::FenceNode => {
                let reason = format!("{} failed there", self.rscs[r].id);
                self.fence_node(n, &reason, false);
            }
            OnFail::StandbyNode => {
                self.nodes[n].flags |= nf::STANDBY | nf::FAIL_STANDBY;
            }
            OnFail::Block => {
                self.clear_rflag(r, rf::MANAGED);
                self.set_rflag(r, rf::BLOCKED);
            }
            OnFail::Ban => {
                self.resource_location(r, Some(n), -INFINITY, "__action_migration_auto__");
            }
            OnFail::Stop => {
                self.rscs[r].next_role = Role::Stopped;
            }
            OnFail::Restart => {
                if known_active {
                    self.set_rflag(r, rf::FAILED | rf::STOP_IF_FAILED);
                    self.rsc_action(refs, r, "stop", Some(n), false);
                }
            }
        }
        if known_active {
            if self.rflag(r, rf::REMOVED) {
                let id = self.rscs[r].id.clone();
                self.warn(format!(
                    "Removed resource {id} is active on {}",
                    self.nodes[n].name
                ));
            }
            self.add_running(r, n, save_on_fail != OnFail::Ignore);
            match on_fail {
                OnFail::Ignore => {}
                OnFail::Demote | OnFail::Block => self.set_rflag(r, rf::FAILED),
                _ => self.set_rflag(r, rf::FAILED | rf::STOP_IF_FAILED),
            }
        } else if self.rscs[r]
            .history_id
            .as_deref()
            .is_some_and(|h| h.contains(':'))
        {
            self.rscs[r].history_id = None;
        } else {
            let stops = self.rsc_actions(r, Some(n), "stop", false);
            for a in stops {
                self.actions[a].flags |= af::OPTIONAL;
            }
        }
    }

    /// `native_add_running`.
    pub fn add_running(&mut self, r: RscId, n: NodeId, failed: bool) {
        if self.rscs[r].active_nodes.contains(&n) {
            return;
        }
        self.rscs[r].active_nodes.push(n);
        let parent = self.rscs[r].parent;
        if self.is_primitive(r) {
            self.nodes[n].running.push(r);
            let prio = self.rscs[r].priority;
            if prio != 0 && !failed {
                let add = if self.rscs[r].orig_role == Role::Promoted {
                    prio + 1
                } else {
                    prio
                };
                self.nodes[n].priority += add;
            }
            if self.nodes[n].maintenance {
                self.clear_rflag(r, rf::MANAGED);
                self.set_rflag(r, rf::MAINTENANCE);
            }
        }
        if !self.rflag(r, rf::MANAGED) {
            self.resource_location(r, Some(n), INFINITY, "not_managed_default");
            let mut p = parent;
            while let Some(pr) = p {
                self.rscs[pr].active_nodes.push(n);
                p = self.rscs[pr].parent;
            }
            return;
        }
        let (_, all, clean) = self.active_node(r);
        let count = if !self.is_primitive(r) {
            0
        } else if self.rflag(r, rf::NEEDS_FENCING) {
            all
        } else {
            clean
        };
        if count > 1 {
            match self.rscs[r].multiply_active {
                MultiplyActive::Stop => {
                    for a in self.rscs[r].allowed.iter_mut() {
                        let entry = a.get_or_insert(Allowed {
                            score: -INFINITY,
                            probe_mode: ProbeMode::Always,
                            count: 0,
                        });
                        entry.score = -INFINITY;
                    }
                }
                MultiplyActive::Block => {
                    self.clear_rflag(r, rf::MANAGED);
                    self.set_rflag(r, rf::BLOCKED);
                    if let Some(p) = parent
                        && self.is_group(p)
                        && self.rscs[p].multiply_active == MultiplyActive::Block
                    {
                        for c in self.rscs[p].children.clone() {
                            self.clear_rflag(c, rf::MANAGED);
                            self.set_rflag(c, rf::BLOCKED);
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(p) = parent {
            self.add_running(p, n, false);
        }
    }

    // -----------------------------------------------------------------------
    // fail counts

    /// `pe_get_failcount`: the fail count of `r` on `n` (and the time of the last
    /// failure); with `effective`, expired failures count as 0.
    pub fn failcount(
        &mut self,
        n: NodeId,
        r: RscId,
        effective: bool,
        xml_op: Option<&LrmRscOp>,
    ) -> (i32, i64) {
        let node = &self.nodes[n];
        let rsc = &self.rscs[r];
        let unique = rsc.flags & rf::UNIQUE != 0;
        let name_full = rsc.history_id.as_deref().unwrap_or(&rsc.id);
        let name = if unique {
            name_full
        } else {
            clone_strip(name_full)
        };
        if !name.contains('#') && !node.failed.contains(name) {
            return (0, 0);
        }
        let mut count = 0;
        let mut last = 0i64;
        for (k, v) in node.failures_of("fail-count-", name) {
            if fail_attr_matches(k, "fail-count-", name, unique)
                && let Some(s) = halo_cib::model::Score::parse(v)
            {
                count = add_scores(count, s.0);
            }
        }
        for (k, v) in node.failures_of("last-failure-", name) {
            if fail_attr_matches(k, "last-failure-", name, unique)
                && let Some((x, _)) = scan_ll(v)
            {
                last = last.max(x);
            }
        }
        if count > 0 && self.rscs[r].failure_expiration_ms > 0 && self.block_failure(n, r, xml_op) {
            let id = self.rscs[r].id.clone();
            self.warn(format!(
                "Ignoring failure timeout for {id} because it conflicts with on-fail=block"
            ));
            self.rscs[r].failure_expiration_ms = 0;
        }
        let expiration = i64::from(self.rscs[r].failure_expiration_ms / 1000);
        if effective && count > 0 && last > 0 && expiration > 0 && self.now > last + expiration {
            count = 0;
        }
        let last = if count > 0 && last > 0 { last } else { 0 };
        (count, last)
    }

    /// `block_failure`: whether the failure is of an operation with `on-fail=block`.
    fn block_failure(&self, n: NodeId, r: RscId, xml_op: Option<&LrmRscOp>) -> bool {
        let name = clone_strip(&self.rscs[r].id).to_string();
        let Some(conf) = self.config_ops_by_id(&name) else {
            return false;
        };
        for cop in conf
            .iter()
            .filter(|o| o.on_fail.as_deref() == Some("block"))
        {
            let cint = parse_interval(Some(&cop.interval));
            let matched = |lop: &LrmRscOp| -> bool {
                if u64::from(cint) != lop.interval || !cop.name.eq_ignore_ascii_case(&lop.operation)
                {
                    return false;
                }
                if lop
                    .id
                    .eq_ignore_ascii_case(&op_key(&name, "last_failure", 0))
                {
                    return true;
                }
                lop.id.eq_ignore_ascii_case(&op_key(&name, &cop.name, cint))
                    && lop.rc_code != target_rc(lop)
            };
            match xml_op {
                Some(op) => {
                    if matched(op) {
                        return true;
                    }
                }
                None => {
                    let node_name = &self.nodes[n].name;
                    for ns in &self.cib.status {
                        if ns.uname.as_deref() != Some(node_name.as_str()) {
                            continue;
                        }
                        for lr in ns.lrm_resources().iter().filter(|lr| lr.id == name) {
                            if lr
                                .ops
                                .iter()
                                .filter(|o| {
                                    o.operation == cop.name && o.interval == u64::from(cint)
                                })
                                .any(matched)
                            {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// The configured operations of the primitive with configuration id `id`.
    fn config_ops_by_id(&self, id: &str) -> Option<&'a [halo_cib::model::Op]> {
        self.rscs
            .iter()
            .find(|r| r.variant == Variant::Primitive && r.xml_id == id)
            .map(|r| r.ops)
    }

    /// `pcmk__threshold_reached`: whether `r` reached its migration threshold on
    /// `n`, and which resource to ban.
    pub fn threshold_reached(&mut self, r: RscId, n: NodeId) -> Option<RscId> {
        if self.rscs[r].ban_after_failures == 0 || self.rflag(r, rf::IGNORE_FAILURE) {
            return None;
        }
        let (count, _) = self.failcount(n, r, true, None);
        if count <= 0 {
            return None;
        }
        let ban = if self.rflag(r, rf::UNIQUE) {
            r
        } else {
            self.top_of(r)
        };
        let remaining = self.rscs[r].ban_after_failures - count;
        if remaining <= 0 {
            let (id, name) = (self.rscs[ban].id.clone(), self.nodes[n].name.clone());
            self.warn(format!(
                "{id} cannot run on {name} due to reaching migration threshold (clean up resource to allow again)"
            ));
            return Some(ban);
        }
        None
    }
}

/// `clone_strip`: the id without a `:N` instance suffix.
pub fn clone_strip(id: &str) -> &str {
    match id.rfind(':') {
        Some(i) if i + 1 < id.len() && id[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &id[..i],
        _ => id,
    }
}

/// Matches `^PREFIX-NAME(:[0-9]+)?#.+_[0-9]+$` (the instance part only when not
/// unique).
fn fail_attr_matches(key: &str, prefix: &str, name: &str, unique: bool) -> bool {
    let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix(name)) else {
        return false;
    };
    let rest = if !unique && rest.starts_with(':') {
        let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        &rest[1 + digits..]
    } else {
        rest
    };
    let Some(op) = rest.strip_prefix('#') else {
        return false;
    };
    match op.rfind('_') {
        Some(i) => i > 0 && i + 1 < op.len() && op[i + 1..].bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_keys_decode() {
        assert_eq!(decode_transition_key("3:1:7:uuid"), Some((3, 1, 7)));
        assert_eq!(decode_transition_key(" 3: -1:+0:u:v"), Some((3, -1, 0)));
        assert_eq!(decode_transition_key("3:1:7"), None);
        assert_eq!(decode_transition_key("3:x:7:u"), None);
        assert_eq!(decode_transition_key("99999999999:1:7:u"), None);
    }

    #[test]
    fn fail_count_names() {
        assert!(fail_attr_matches(
            "fail-count-rsc1#monitor_10000",
            "fail-count-",
            "rsc1",
            true
        ));
        assert!(!fail_attr_matches(
            "fail-count-rsc1",
            "fail-count-",
            "rsc1",
            true
        ));
        assert!(fail_attr_matches(
            "fail-count-rsc1:3#start_0",
            "fail-count-",
            "rsc1",
            false
        ));
        assert!(!fail_attr_matches(
            "fail-count-rsc1:3#start_0",
            "fail-count-",
            "rsc1",
            true
        ));
        assert!(!fail_attr_matches(
            "fail-count-rsc10#start_0",
            "fail-count-",
            "rsc1",
            true
        ));
    }

    #[test]
    fn clone_strip_suffix() {
        assert_eq!(clone_strip("a:0"), "a");
        assert_eq!(clone_strip("a:b"), "a:b");
        assert_eq!(clone_strip("a"), "a");
    }
}
