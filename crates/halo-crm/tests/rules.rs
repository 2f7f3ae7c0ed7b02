//! One engine, one rule at a time: the exact outputs each input produces.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use halo_cib::model::{LrmResource, LrmRscOp, NodeState};
use halo_cib::{Cib, Version};
use halo_crm::message::{Message, WireVersion};
use halo_crm::{
    Channel, ClientRequest, Config, Crm, Input, LrmOp, LrmRequest, LrmResult, Membership,
    OpOutcome, Output, Target, status,
};
use halo_policy::{ActionKind, GraphAction, Transition};
use halo_types::{NodeName, Timestamp};

fn n(s: &str) -> NodeName {
    NodeName::new(s).unwrap()
}

fn nodes() -> Vec<NodeName> {
    vec![n("a"), n("b"), n("c")]
}

fn crm(me: &str) -> Crm {
    let mut c = Crm::new(Config::new(n(me), nodes()));
    c.handle(T0, Input::Start { cib: None });
    c
}

const T0: Timestamp = Timestamp::ZERO;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn membership(id: u64, members: &[&str], quorate: bool) -> Input {
    Input::Membership(Membership {
        id,
        members: members.iter().map(|s| n(s)).collect(),
        quorate,
    })
}

fn msg(from: &str, m: Message) -> Input {
    Input::Message {
        from: n(from),
        bytes: m.encode(),
    }
}

/// The messages among the outputs, decoded.
fn sent(outs: &[Output]) -> Vec<(Target, Channel, Message)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { to, channel, bytes } => {
                Some((to.clone(), *channel, Message::decode(bytes).unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// The single element of `v`.
fn one<T: std::fmt::Debug>(v: Vec<T>) -> T {
    assert_eq!(v.len(), 1, "exactly one expected: {v:?}");
    v.into_iter().next().unwrap()
}

fn lrm(outs: &[Output]) -> Vec<LrmRequest> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Lrm(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn replies(outs: &[Output]) -> Vec<(u64, Result<String, String>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::ClientReply { id, result } => Some((*id, result.clone())),
            _ => None,
        })
        .collect()
}

fn policy_requests(outs: &[Output]) -> Vec<(u64, Cib)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::RunPolicy { request, cib } => Some((*request, (**cib).clone())),
            _ => None,
        })
        .collect()
}

fn kinds(outs: &[Output]) -> Vec<&'static str> {
    outs.iter()
        .map(|o| match o {
            Output::Send { .. } => "send",
            Output::PersistCib(_) => "persist",
            Output::Lrm(_) => "lrm",
            Output::RunPolicy { .. } => "policy",
            Output::ClientReply { .. } => "reply",
            Output::Event(_) => "event",
            Output::ShutdownReady => "ready",
        })
        .filter(|k| *k != "event")
        .collect()
}

fn reply_of(node: &str, round: u32, version: Version, ns: &NodeState) -> Input {
    msg(
        node,
        Message::JoinReply {
            mid: 1,
            round,
            version: version.into(),
            haresources: None,
            node_state: status::node_state_to_xml(ns),
        },
    )
}

fn empty_state(node: &str) -> NodeState {
    NodeState {
        id: node.into(),
        uname: Some(node.into()),
        ..NodeState::default()
    }
}

/// `a` as the DC of {a, b, c} with the join round complete; returns the outputs of
/// the last reply.
fn dc_joined(quorate: bool) -> (Crm, Vec<Output>) {
    let mut a = crm("a");
    a.handle(T0, membership(1, &["a", "b", "c"], quorate));
    a.handle(
        t(1),
        reply_of("b", 1, Version::default(), &empty_state("b")),
    );
    let outs = a.handle(
        t(2),
        reply_of("c", 1, Version::default(), &empty_state("c")),
    );
    (a, outs)
}

#[test]
fn members_announce_themselves_to_the_smallest_name() {
    let mut b = crm("b");
    let outs = b.handle(T0, membership(1, &["a", "b", "c"], true));
    assert_eq!(b.dc(), Some(&n("a")));
    assert_eq!(
        sent(&outs),
        [(
            Target::Node(n("a")),
            Channel::Crm,
            Message::JoinAnnounce { mid: 1 }
        )]
    );
}

#[test]
fn the_dc_opens_a_join_round() {
    let mut a = crm("a");
    let outs = a.handle(T0, membership(1, &["a", "b", "c"], true));
    assert_eq!(
        sent(&outs),
        [(
            Target::All,
            Channel::Crm,
            Message::JoinRequest { mid: 1, round: 1 }
        )]
    );
    assert!(!a.synced());
}

#[test]
fn a_member_answers_with_its_version_and_its_own_history() {
    let mut b = crm("b");
    b.handle(T0, membership(1, &["a", "b", "c"], true));
    let history = LrmResource {
        id: "ip".into(),
        class: Some("ocf".into()),
        provider: Some("heartbeat".into()),
        agent: Some("IPaddr2".into()),
        ops: vec![op("ip_last_0", "start", 0, 3, 0)],
        ..LrmResource::default()
    };
    b.handle(
        t(1),
        Input::Lrm(Box::new(LrmResult {
            outcome: outcome("ip", "start", 0, 0),
            history: history.clone(),
        })),
    );
    let outs = b.handle(t(2), msg("a", Message::JoinRequest { mid: 1, round: 1 }));
    let (
        Target::Node(to),
        Channel::Crm,
        Message::JoinReply {
            mid: 1,
            round: 1,
            version,
            node_state,
            ..
        },
    ) = one(sent(&outs))
    else {
        panic!("one join reply expected: {outs:?}");
    };
    assert_eq!(to, n("a"));
    assert_eq!(version, WireVersion(0, 0, 0));
    let ns = status::node_state_from_xml(&node_state).unwrap();
    assert_eq!(ns.lrm_resources(), [history]);
}

#[test]
fn the_highest_version_is_fetched_and_sent_to_everyone() {
    let mut a = crm("a");
    a.handle(T0, membership(1, &["a", "b", "c"], true));
    a.handle(
        t(1),
        reply_of("c", 1, Version::new(0, 3, 0), &empty_state("c")),
    );
    let outs = a.handle(
        t(2),
        reply_of("b", 1, Version::new(0, 5, 2), &empty_state("b")),
    );
    assert_eq!(
        sent(&outs),
        [(
            Target::Node(n("b")),
            Channel::Crm,
            Message::CibFetch { mid: 1, round: 1 }
        )]
    );
    let mut theirs = a.cib().clone();
    theirs.version = Version::new(0, 5, 2);
    theirs
        .configuration
        .nodes
        .push(halo_cib::Node::new("d", "d"));
    let outs = a.handle(
        t(3),
        msg(
            "b",
            Message::CibFull {
                mid: 1,
                round: 1,
                cib: theirs.to_xml(),
            },
        ),
    );
    assert_eq!(kinds(&outs), ["persist", "send", "policy"]);
    let (Target::All, Channel::Cib, Message::CibReplace { mid: 1, cib }) = one(sent(&outs)) else {
        panic!("CibReplace expected");
    };
    let cib = Cib::from_xml(&cib).unwrap();
    assert_eq!(
        cib.version,
        Version::new(0, 5, 3),
        "status rebuilt: one update more"
    );
    assert!(cib.configuration.nodes.iter().any(|x| x.uname == "d"));
    assert_eq!(cib.have_quorum, Some(true));
    let states: Vec<(&str, &str)> = cib
        .status
        .iter()
        .map(|s| (s.uname.as_deref().unwrap(), s.crmd.as_deref().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("a", "online"),
            ("b", "online"),
            ("c", "online"),
            ("d", "offline")
        ]
    );
    assert!(a.synced());
}

#[test]
fn ties_keep_the_dcs_copy_and_silent_members_are_left_out_after_the_timeout() {
    let mut a = crm("a");
    a.handle(T0, membership(1, &["a", "b", "c"], true));
    let outs = a.handle(
        t(1),
        reply_of("b", 1, Version::default(), &empty_state("b")),
    );
    assert!(sent(&outs).is_empty(), "still waiting for c");
    assert_eq!(a.next_deadline(), Some(t(5000)));
    let outs = a.handle(t(5000), Input::Tick);
    let msgs = sent(&outs);
    let Some((_, _, Message::CibReplace { cib, .. })) = msgs.first() else {
        panic!("CibReplace expected: {msgs:?}");
    };
    let cib = Cib::from_xml(cib).unwrap();
    let c = status::node_state(&cib, "c").unwrap();
    assert_eq!(c.crmd.as_deref(), Some("offline"));
    assert_eq!(c.in_ccm.as_deref(), Some("true"));
}

#[test]
fn old_messages_are_dropped_and_early_ones_kept_until_their_membership() {
    let mut b = crm("b");
    b.handle(T0, membership(2, &["a", "b"], true));
    let outs = b.handle(t(1), msg("a", Message::JoinRequest { mid: 1, round: 1 }));
    assert!(sent(&outs).is_empty(), "membership 1 is over");
    let outs = b.handle(t(2), msg("a", Message::JoinRequest { mid: 3, round: 1 }));
    assert!(sent(&outs).is_empty(), "membership 3 is not installed yet");
    let outs = b.handle(t(3), membership(3, &["a", "b", "c"], true));
    let kinds: Vec<&str> = sent(&outs)
        .iter()
        .map(|(_, _, m)| match m {
            Message::JoinAnnounce { .. } => "announce",
            Message::JoinReply { mid: 3, .. } => "reply",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["announce", "reply"]);
}

#[test]
fn a_member_persists_before_it_acknowledges() {
    let mut b = crm("b");
    b.handle(T0, membership(1, &["a", "b", "c"], true));
    let mut cib = b.cib().clone();
    cib.version = Version::new(0, 2, 1);
    let outs = b.handle(
        t(1),
        msg(
            "a",
            Message::CibReplace {
                mid: 1,
                cib: cib.to_xml(),
            },
        ),
    );
    assert_eq!(kinds(&outs), ["persist", "send"]);
    assert_eq!(
        sent(&outs)[0].2,
        Message::CibAck {
            mid: 1,
            version: WireVersion(0, 2, 1)
        }
    );
    let Output::PersistCib(bytes) = &outs
        .iter()
        .find(|o| matches!(o, Output::PersistCib(_)))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(
        halo_crm::persist::decode(bytes).unwrap().version,
        Version::new(0, 2, 1)
    );
    // A status update for another base version asks for the whole CIB.
    let outs = b.handle(
        t(2),
        msg(
            "a",
            Message::StatusUpdate {
                mid: 1,
                from: WireVersion(0, 2, 5),
                to: WireVersion(0, 2, 6),
                node: "c".into(),
                resources: vec![],
                removed: vec![],
                attrs: vec![],
            },
        ),
    );
    assert_eq!(sent(&outs)[0].2, Message::CibWanted { mid: 1 });
}

#[test]
fn configuration_changes_without_quorum_are_refused() {
    let (mut a, _) = dc_joined(false);
    let outs = a.handle(
        t(10),
        Input::Client {
            id: 7,
            request: ClientRequest::NodeStandby { node: n("b") },
        },
    );
    assert_eq!(replies(&outs), [(7, Err("no quorum: refused".to_string()))]);
    assert!(policy_requests(&outs).is_empty());
}

/// `a` is an idle DC and a client on it asked for `node standby b` (request 7).
fn standby_requested() -> (Crm, Vec<Output>) {
    let (mut a, outs) = dc_joined(true);
    let (schedule, _) = policy_requests(&outs)[0].clone();
    // The plan of the join (nothing to do).
    a.handle(
        t(3),
        Input::PolicyDone {
            request: schedule,
            result: Ok(Box::new(transition(vec![]))),
        },
    );
    let outs = a.handle(
        t(10),
        Input::Client {
            id: 7,
            request: ClientRequest::NodeStandby { node: n("b") },
        },
    );
    (a, outs)
}

#[test]
fn a_change_is_validated_committed_and_answered_once_every_member_has_it() {
    let (mut a, outs) = standby_requested();
    let (validate, candidate) = one(policy_requests(&outs));
    assert!(
        candidate.status.is_empty(),
        "validation sees the configuration only"
    );
    assert!(replies(&outs).is_empty());
    let outs = a.handle(
        t(11),
        Input::PolicyDone {
            request: validate,
            result: Ok(Box::new(transition(vec![]))),
        },
    );
    assert_eq!(kinds(&outs), ["persist", "send", "policy"]);
    let (Target::All, Channel::Cib, Message::CibCommit { cib, .. }) = one(sent(&outs)) else {
        panic!("commit expected");
    };
    let v = Cib::from_xml(&cib).unwrap().version;
    assert_eq!(v, Version::new(0, 1, 0));
    let outs = a.handle(
        t(12),
        msg(
            "b",
            Message::CibAck {
                mid: 1,
                version: v.into(),
            },
        ),
    );
    assert!(replies(&outs).is_empty(), "c has not acknowledged");
    let outs = a.handle(
        t(13),
        msg(
            "c",
            Message::CibAck {
                mid: 1,
                version: v.into(),
            },
        ),
    );
    assert_eq!(
        replies(&outs),
        [(7, Ok("standby b (CIB 0.1.0)".to_string()))]
    );
}

#[test]
fn a_refused_validation_commits_nothing() {
    let (mut a, outs) = standby_requested();
    let (validate, _) = policy_requests(&outs)[0].clone();
    let mut t = transition(vec![]);
    t.notices.push(halo_policy::Notice {
        error: true,
        text: "something is wrong".into(),
    });
    let outs = a.handle(
        Timestamp::from_millis(11),
        Input::PolicyDone {
            request: validate,
            result: Ok(Box::new(t)),
        },
    );
    assert_eq!(
        replies(&outs),
        [(
            7,
            Err("the policy engine refuses it: something is wrong".to_string())
        )]
    );
    assert!(sent(&outs).is_empty());
    assert_eq!(a.cib().version.epoch, 0);
}

fn graph_action(id: usize, node: &str, rsc: &str, task: &str, inputs: Vec<usize>) -> GraphAction {
    GraphAction {
        id,
        action_id: id,
        kind: ActionKind::Resource,
        key: format!("{rsc}_{task}_0"),
        task: task.into(),
        resource: Some(rsc.into()),
        history_name: Some(rsc.into()),
        op_rsc: Some(rsc.into()),
        agent: Some(("ocf".into(), Some("heartbeat".into()), "Dummy".into())),
        node: Some(node.into()),
        interval_ms: 0,
        fence_action: None,
        target_rc: None,
        notify: None,
        inputs,
        blocked_by: vec![],
        params: BTreeMap::from([("state".to_string(), "/tmp/x".to_string())]),
        meta: BTreeMap::from([("timeout".to_string(), "20000".to_string())]),
    }
}

fn transition(actions: Vec<GraphAction>) -> Transition {
    Transition {
        status: vec![],
        summary: vec![],
        actions,
        dot: None,
        scores: vec![],
        explanation: None,
        notices: vec![],
    }
}

fn outcome(rsc: &str, action: &str, rc: i32, key_action: usize) -> OpOutcome {
    OpOutcome {
        resource: rsc.into(),
        action: action.into(),
        interval_ms: 0,
        call_id: 3,
        rc,
        op_status: if rc == 0 { 0 } else { 4 },
        expected_rc: 0,
        failed: rc != 0,
        transition_key: Some(format!("{key_action}:1:0:a-0")),
        exit_reason: None,
        epoch_secs: 1_700_000_000,
    }
}

fn op(id: &str, operation: &str, interval: u64, call: i64, rc: i32) -> LrmRscOp {
    LrmRscOp {
        id: id.into(),
        operation: operation.into(),
        interval,
        call_id: call,
        rc_code: rc,
        transition_key: Some("1:1:0:a-0".into()),
        ..LrmRscOp::default()
    }
}

/// A start result of `rsc` from `node`, for action `key_action` of transition 1.
fn result_from(node: &str, rsc: &str, rc: i32, key_action: usize) -> Input {
    msg(
        node,
        Message::OpResult {
            mid: 1,
            outcome: outcome(rsc, "start", rc, key_action),
            history: history(rsc, "start", rc),
        },
    )
}

fn history(rsc: &str, operation: &str, rc: i32) -> String {
    status::lrm_resource_to_xml(&LrmResource {
        id: rsc.into(),
        ops: vec![op(&format!("{rsc}_last_0"), operation, 0, 3, rc)],
        ..LrmResource::default()
    })
}

/// `a` is DC and runs a transition: `x` starts on b, `y` on c, `z` on b after `x`.
fn dc_running() -> (Crm, Vec<Output>) {
    let (mut a, outs) = dc_joined(true);
    let (schedule, _) = policy_requests(&outs)[0].clone();
    let outs = a.handle(
        t(3),
        Input::PolicyDone {
            request: schedule,
            result: Ok(Box::new(transition(vec![
                graph_action(0, "b", "x", "start", vec![]),
                graph_action(1, "c", "y", "start", vec![]),
                graph_action(2, "b", "z", "start", vec![0]),
            ]))),
        },
    );
    (a, outs)
}

#[test]
fn ready_actions_go_to_their_nodes_in_parallel_with_their_parameters() {
    let (_, outs) = dc_running();
    let ops: Vec<(Target, LrmOp)> = sent(&outs)
        .into_iter()
        .filter_map(|(to, _, m)| match m {
            Message::ExecOp { op, .. } => Some((to, op)),
            _ => None,
        })
        .collect();
    assert_eq!(ops.len(), 2, "x and y; z waits for x");
    assert_eq!(ops[0].0, Target::Node(n("b")));
    assert_eq!(ops[0].1.resource, "x");
    assert_eq!(ops[0].1.transition_key, "0:1:0:a-0");
    assert_eq!(ops[0].1.params.as_ref().unwrap()["state"], "/tmp/x");
    assert_eq!(ops[0].1.timeout_ms, Some(20_000));
    assert_eq!(ops[1].0, Target::Node(n("c")));
}

#[test]
fn an_expected_result_starts_what_waited_for_it() {
    let (mut a, _) = dc_running();
    let outs = a.handle(t(20), result_from("b", "x", 0, 0));
    let msgs = sent(&outs);
    // The status update to everyone, then z.
    assert!(matches!(&msgs[0].2, Message::StatusUpdate { node, .. } if node == "b"));
    assert!(
        matches!(&msgs[1], (Target::Node(to), _, Message::ExecOp { op, .. }) if *to == n("b") && op.resource == "z")
    );
}

#[test]
fn an_unexpected_result_aborts_and_replans_once_in_flight_actions_are_back() {
    let (mut a, _) = dc_running();
    let outs = a.handle(t(20), result_from("b", "x", 1, 0));
    let msgs = sent(&outs);
    assert!(
        !msgs
            .iter()
            .any(|(_, _, m)| matches!(m, Message::ExecOp { .. })),
        "nothing new starts"
    );
    assert!(policy_requests(&outs).is_empty(), "y is still running on c");
    // The failure is recorded with an infinite fail count (a failed start).
    let StatusUpdateAttrs(attrs) = status_attrs(&msgs);
    assert_eq!(
        attrs,
        [
            (
                "fail-count-x#start_0".to_string(),
                Some("INFINITY".to_string())
            ),
            (
                "last-failure-x#start_0".to_string(),
                Some("1700000000".to_string())
            )
        ]
    );
    let outs = a.handle(t(30), result_from("c", "y", 0, 1));
    assert_eq!(policy_requests(&outs).len(), 1, "re-planned");
}

struct StatusUpdateAttrs(Vec<(String, Option<String>)>);

fn status_attrs(msgs: &[(Target, Channel, Message)]) -> StatusUpdateAttrs {
    for (_, _, m) in msgs {
        if let Message::StatusUpdate { attrs, .. } = m {
            return StatusUpdateAttrs(attrs.clone());
        }
    }
    StatusUpdateAttrs(vec![])
}

#[test]
fn a_silent_node_times_the_action_out() {
    let (mut a, _) = dc_running();
    // y's timeout (20 s) plus cluster-delay (60 s).
    assert_eq!(a.next_deadline(), Some(t(3 + 80_000)));
    a.handle(t(20), result_from("b", "x", 0, 0));
    a.handle(t(25), result_from("b", "z", 0, 2));
    let outs = a.handle(t(80_003), Input::Tick);
    assert_eq!(
        policy_requests(&outs).len(),
        1,
        "re-planned after the timeout"
    );
}

fn started(rsc: &str) -> LrmResult {
    LrmResult {
        outcome: outcome(rsc, "start", 0, 0),
        history: LrmResource {
            id: rsc.into(),
            ops: vec![op(&format!("{rsc}_last_0"), "start", 0, 3, 0)],
            ..LrmResource::default()
        },
    }
}

fn group_cib() -> Cib {
    Cib::from_xml(
        r#"<cib><configuration><crm_config/><nodes/><resources>
        <group id="web">
          <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
          <primitive id="fs" class="ocf" provider="heartbeat" type="Filesystem">
            <operations><op id="fs-stop" name="stop" interval="0" timeout="90s"/></operations>
          </primitive>
          <primitive id="httpd" class="lsb" type="httpd"/>
        </group>
        <primitive id="db" class="ocf" provider="heartbeat" type="pgsql"/>
        </resources><constraints/></configuration></cib>"#,
    )
    .unwrap()
}

fn stops(outs: &[Output]) -> Vec<(String, Option<u64>)> {
    lrm(outs)
        .into_iter()
        .filter_map(|r| match r {
            LrmRequest::Execute(op) if op.action == "stop" => Some((op.resource, op.timeout_ms)),
            _ => None,
        })
        .collect()
}

/// The result of a successful stop of `r`.
fn stopped(r: &str) -> LrmResult {
    let mut res = started(r);
    res.outcome.action = "stop".into();
    res.history.ops[0].operation = "stop".into();
    res
}

/// Member `b` of membership 1 (DC `a`) with the group CIB, running `running`.
fn b_running(running: &[&str]) -> Crm {
    let mut b = Crm::new(Config::new(n("b"), nodes()));
    b.handle(
        T0,
        Input::Start {
            cib: Some(Box::new(group_cib())),
        },
    );
    b.handle(t(1), membership(1, &["a", "b", "c"], true));
    for r in running {
        b.handle(t(2), Input::Lrm(Box::new(started(r))));
    }
    b
}

#[test]
fn losing_the_lease_stops_everything_groups_right_to_left() {
    let mut b = b_running(&["ip", "fs", "httpd", "db"]);
    let outs = b.handle(
        t(10),
        Input::Lease {
            quorum_heard: false,
        },
    );
    assert!(b.lease_lost());
    // The group's last member and the lone primitive at once.
    assert_eq!(
        stops(&outs),
        [("httpd".to_string(), None), ("db".to_string(), None)]
    );
    let mut done = |r: &str, at: u64| b.handle(t(at), Input::Lrm(Box::new(stopped(r))));
    assert_eq!(
        stops(&done("httpd", 20)),
        [("fs".to_string(), Some(90_000))]
    );
    assert_eq!(stops(&done("db", 21)), []);
    assert_eq!(stops(&done("fs", 30)), [("ip".to_string(), None)]);
    assert_eq!(stops(&done("ip", 40)), []);
    // Starts are refused, and the DC is told without anything running.
    let mut start = graph_action(0, "b", "ip", "start", vec![]);
    start.history_name = Some("ip".into());
    let op = LrmOp {
        resource: "ip".into(),
        agent: None,
        params: None,
        op_params: BTreeMap::new(),
        meta: BTreeMap::new(),
        action: "start".into(),
        interval_ms: 0,
        timeout_ms: None,
        expected_rc: 0,
        transition_key: "0:1:0:a-0".into(),
    };
    let outs = b.handle(t(50), msg("a", Message::ExecOp { mid: 1, op }));
    assert!(lrm(&outs).is_empty());
    let (
        _,
        _,
        Message::OpResult {
            outcome, history, ..
        },
    ) = one(sent(&outs))
    else {
        panic!("a refusal expected");
    };
    assert_eq!(outcome.op_status, halo_crm::EXEC_NOT_CONNECTED);
    assert!(history.is_empty());
    // Heard again while still a member of the quorate membership (the silence was
    // shorter than deadtime): it resumes and tells the DC, which plans again.
    let outs = b.handle(t(60), Input::Lease { quorum_heard: true });
    assert!(!b.lease_lost());
    assert!(
        sent(&outs)
            .iter()
            .any(|(to, _, m)| *to == Target::Node(n("a"))
                && matches!(m, Message::LeaseRegained { mid: 1 })),
        "{outs:?}"
    );
}

#[test]
fn a_shutdown_stops_everything_asks_the_dc_to_move_away_then_is_ready() {
    let mut b = b_running(&["ip", "fs", "httpd"]);
    let outs = b.handle(t(10), Input::Shutdown { epoch_secs: 1234 });
    assert!(b.shutting_down());
    assert_eq!(stops(&outs), [("httpd".to_string(), None)]);
    assert!(
        sent(&outs)
            .iter()
            .any(|(to, _, m)| *to == Target::Node(n("a"))
                && *m
                    == Message::ShuttingDown {
                        mid: 1,
                        epoch_secs: 1234
                    }),
        "{outs:?}"
    );
    assert!(!kinds(&outs).contains(&"ready"));
    let mut done = |r: &str, at: u64| b.handle(t(at), Input::Lrm(Box::new(stopped(r))));
    assert_eq!(
        stops(&done("httpd", 20)),
        [("fs".to_string(), Some(90_000))]
    );
    assert_eq!(stops(&done("fs", 30)), [("ip".to_string(), None)]);
    let outs = done("ip", 40);
    assert!(kinds(&outs).contains(&"ready"), "{outs:?}");
    // Hearing a quorum again changes nothing: it is leaving.
    b.handle(t(50), Input::Lease { quorum_heard: true });
    assert!(b.shutting_down());
}

#[test]
fn the_dc_marks_a_node_that_shuts_down_and_plans_again() {
    let (mut a, _) = dc_joined(true);
    let outs = a.handle(
        t(10),
        msg(
            "b",
            Message::ShuttingDown {
                mid: 1,
                epoch_secs: 1234,
            },
        ),
    );
    let attr = status::node_state(a.cib(), "b")
        .map(status::attr_map)
        .and_then(|m| m.get("shutdown").cloned());
    assert_eq!(attr.as_deref(), Some("1234"));
    // Every member learns it (and the policy run in flight is followed by another).
    assert!(
        sent(&outs).iter().any(|(to, _, m)| *to == Target::All
            && matches!(m, Message::StatusUpdate { node, attrs, .. }
                if node == "b" && attrs == &[("shutdown".to_string(), Some("1234".to_string()))])),
        "{outs:?}"
    );
}

#[test]
fn a_lease_lost_beyond_deadtime_waits_for_a_quorate_membership_with_this_node() {
    let mut b = b_running(&["ip"]);
    b.handle(
        t(10),
        Input::Lease {
            quorum_heard: false,
        },
    );
    assert!(b.lease_lost());
    // The others were declared dead here too: a membership of this node alone.
    b.handle(t(20), membership(2, &["b"], false));
    // Heard again, but the installed membership has no quorum: the others may have
    // recovered this node's resources meanwhile, so starts stay refused.
    let outs = b.handle(t(30), Input::Lease { quorum_heard: true });
    assert!(b.lease_lost(), "{outs:?}");
    // A quorate membership without this node does not help either.
    b.handle(t(40), membership(3, &["a", "c"], true));
    assert!(b.lease_lost());
    // Only a quorate membership that includes it ends the loss.
    b.handle(t(50), membership(4, &["a", "b", "c"], true));
    assert!(!b.lease_lost());
}

#[test]
fn a_restart_forgets_this_nodes_fail_counts_but_keeps_the_configuration() {
    let mut cib = group_cib();
    cib.version = Version::new(0, 4, 9);
    let mut ns = empty_state("b");
    status::set_transient(&mut ns, "fail-count-ip#start_0", Some("INFINITY"));
    cib.status.push(ns);
    let mut b = Crm::new(Config::new(n("b"), nodes()));
    let outs = b.handle(
        T0,
        Input::Start {
            cib: Some(Box::new(cib)),
        },
    );
    assert_eq!(lrm(&outs), [LrmRequest::Recover]);
    assert!(b.cib().status.is_empty());
    assert_eq!(b.cib().version, Version::new(0, 4, 9));
    assert_eq!(b.cib().configuration.resources.len(), 2);
}

#[test]
fn operations_in_flight_are_reported_as_pending_in_the_join_reply() {
    let mut c = crm("c");
    c.handle(T0, membership(1, &["a", "b", "c"], true));
    let op = LrmOp {
        resource: "ip".into(),
        agent: Some(halo_crm::Agent {
            class: "ocf".into(),
            provider: Some("heartbeat".into()),
            kind: "IPaddr2".into(),
        }),
        params: Some(BTreeMap::new()),
        op_params: BTreeMap::new(),
        meta: BTreeMap::new(),
        action: "start".into(),
        interval_ms: 0,
        timeout_ms: Some(20_000),
        expected_rc: 0,
        transition_key: "4:2:0:a-0".into(),
    };
    let outs = c.handle(
        t(1),
        msg(
            "a",
            Message::ExecOp {
                mid: 1,
                op: op.clone(),
            },
        ),
    );
    assert_eq!(lrm(&outs), [LrmRequest::Execute(op)]);
    // The DC dies before the result; the next DC asks.
    c.handle(t(2), membership(2, &["b", "c"], true));
    let outs = c.handle(t(3), reply_of_request("b"));
    let (_, _, Message::JoinReply { node_state, .. }) = one(sent(&outs)) else {
        panic!("join reply expected");
    };
    let ns = status::node_state_from_xml(&node_state).unwrap();
    let pending = &ns.lrm_resources()[0].ops[0];
    assert_eq!(
        (
            pending.operation.as_str(),
            pending.call_id,
            pending.op_status
        ),
        ("start", -1, -1)
    );
    assert_eq!(pending.transition_key.as_deref(), Some("4:2:0:a-0"));
}

/// The join request of membership 2 as `dc` sends it (to a node that is not the DC).
fn reply_of_request(dc: &str) -> Input {
    msg(dc, Message::JoinRequest { mid: 2, round: 1 })
}

#[test]
fn a_member_that_restarted_inside_a_membership_gets_a_new_round() {
    let (mut a, _) = dc_joined(true);
    let outs = a.handle(t(10), msg("b", Message::JoinAnnounce { mid: 1 }));
    assert_eq!(
        sent(&outs),
        [(
            Target::All,
            Channel::Crm,
            Message::JoinRequest { mid: 1, round: 2 }
        )]
    );
}
