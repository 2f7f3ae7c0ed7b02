//! Between the LRM's records and the engine's (and the CIB's) shapes.
//!
//! halo-lrm keeps each resource's history as [`halo_lrm::OpRecord`]s and derives the
//! entries Pacemaker keeps in the CIB ([`halo_lrm::ResourceHistory::lrm_rsc_ops`]:
//! `RSC_last_0`, active recurring ops, `RSC_last_failure_0`); the engine wants them as
//! `halo_cib` `lrm_resource` / `lrm_rsc_op` elements, and each result as an
//! [`halo_crm::OpOutcome`].
//!
//! **Transition keys.** The policy engine reads an entry's expected rc from its
//! transition key (`action:transition:target-rc:uuid`). Operations the engine asked for
//! carry the key it made; operations it did not ask for — the probes of a restarted
//! halod ([`halo_lrm::Lrm::recover`]) and the monitors they resume — have none, and an
//! entry without a key would read as "expected rc unknown", so a probe's "not running"
//! would look like a failure. Those get a key made up from the record's own target rc
//! with transition -1 and the uuid `halo-lrm-NODE`, which no DC issues, so the result
//! never completes an action of a transition: it is an unexpected result, and the DC
//! plans again with it.

use halo_cib::model::{LrmResource, LrmRscOp};
use halo_crm::{EXEC_DONE, LrmOp, LrmResult, OpOutcome};
use halo_lrm::{OpRecord, OpRequest, OpResult, ResourceDef, ResourceHistory};

/// Execution status "error" (Pacemaker's `PCMK_EXEC_ERROR`).
const EXEC_ERROR: i32 = 4;

/// The key recorded for operations nobody asked for with one (see the module doc).
pub fn made_up_key(target_rc: i32, node: &str) -> String {
    format!("0:-1:{target_rc}:halo-lrm-{node}")
}

/// One CIB `lrm_rsc_op` entry from an LRM record.
fn op_entry(id: &str, o: &OpRecord, node: &str) -> LrmRscOp {
    let key = o
        .transition_key
        .clone()
        .unwrap_or_else(|| made_up_key(o.target_rc, node));
    LrmRscOp {
        id: id.to_string(),
        operation_key: Some(o.operation_key.clone()),
        operation: o.operation.clone(),
        call_id: o.call_id,
        rc_code: o.rc_code,
        op_status: o.op_status,
        interval: o.interval,
        transition_magic: Some(format!("{}:{};{key}", o.op_status, o.rc_code)),
        transition_key: Some(key),
        on_node: Some(if o.on_node.is_empty() {
            node.to_string()
        } else {
            o.on_node.clone()
        }),
        exit_reason: o.exit_reason.clone(),
        last_run: Some(o.last_run.to_string()),
        last_rc_change: Some(o.last_rc_change.to_string()),
        exec_time: Some(o.exec_time.to_string()),
        queue_time: Some(o.queue_time.to_string()),
        op_digest: (!o.op_digest.is_empty()).then(|| o.op_digest.clone()),
        ..LrmRscOp::default()
    }
}

/// The CIB's `lrm_resource` for a resource's LRM history.
pub fn lrm_resource(h: &ResourceHistory, node: &str) -> LrmResource {
    let agent = &h.resource.agent;
    LrmResource {
        id: h.resource.id.clone(),
        class: Some(agent.class.as_str().to_string()),
        provider: agent.provider.clone(),
        agent: Some(agent.kind.clone()),
        ops: h
            .lrm_rsc_ops()
            .iter()
            .map(|e| op_entry(&e.id, &e.op, node))
            .collect(),
        ..LrmResource::default()
    }
}

/// The engine's view of one LRM result, with the resource's history after it.
pub fn result(r: &OpResult, history: Option<&ResourceHistory>, node: &str) -> LrmResult {
    let outcome = OpOutcome {
        resource: r.resource.clone(),
        action: r.action.clone(),
        interval_ms: r.interval_ms,
        call_id: r.call_id,
        rc: r.outcome.rc.0,
        op_status: r.outcome.status.code(),
        expected_rc: r.expected_rc.0,
        failed: !r.ok(),
        transition_key: Some(
            r.transition_key
                .clone()
                .unwrap_or_else(|| made_up_key(r.expected_rc.0, node)),
        ),
        exit_reason: r.outcome.exit_reason.clone(),
        epoch_secs: (r.outcome.started_ms + r.outcome.duration_ms) / 1000,
    };
    let history = match history {
        Some(h) => lrm_resource(h, node),
        None => LrmResource {
            id: r.resource.clone(),
            ..LrmResource::default()
        },
    };
    LrmResult { outcome, history }
}

/// An operation that could not be run at all (the agent cannot be registered, the
/// resource is unknown): a failure the DC records like any other, with an entry the
/// policy engine can read.
pub fn not_run(op: &LrmOp, reason: String, epoch_secs: u64, node: &str) -> LrmResult {
    // A stop of something this LRM does not know: nothing of it runs here.
    let nothing_to_stop = op.action == "stop";
    let (rc, op_status, failed) = if nothing_to_stop {
        (0, EXEC_DONE, false)
    } else {
        (1, EXEC_ERROR, true)
    };
    let key = op.transition_key.clone();
    let entry = |id: String| LrmRscOp {
        id,
        operation_key: Some(format!("{}_{}_{}", op.resource, op.action, op.interval_ms)),
        operation: op.action.clone(),
        call_id: -1,
        rc_code: rc,
        op_status,
        interval: op.interval_ms,
        transition_magic: Some(format!("{op_status}:{rc};{key}")),
        transition_key: Some(key.clone()),
        on_node: Some(node.to_string()),
        exit_reason: Some(reason.clone()),
        last_run: Some(epoch_secs.to_string()),
        last_rc_change: Some(epoch_secs.to_string()),
        exec_time: Some("0".into()),
        queue_time: Some("0".into()),
        ..LrmRscOp::default()
    };
    let mut ops = Vec::new();
    if !nothing_to_stop {
        ops.push(entry(format!("{}_last_0", op.resource)));
        ops.push(entry(format!("{}_last_failure_0", op.resource)));
    }
    LrmResult {
        outcome: OpOutcome {
            resource: op.resource.clone(),
            action: op.action.clone(),
            interval_ms: op.interval_ms,
            call_id: -1,
            rc,
            op_status,
            expected_rc: op.expected_rc,
            failed,
            transition_key: Some(key),
            exit_reason: Some(reason),
            epoch_secs,
        },
        history: LrmResource {
            id: op.resource.clone(),
            class: op.agent.as_ref().map(|a| a.class.clone()),
            provider: op.agent.as_ref().and_then(|a| a.provider.clone()),
            agent: op.agent.as_ref().map(|a| a.kind.clone()),
            ops,
            ..LrmResource::default()
        },
    }
}

/// The resource definition an operation carries, when it carries one.
pub fn definition(op: &LrmOp) -> Option<Result<ResourceDef, String>> {
    let agent = op.agent.as_ref()?;
    let spec = match agent.to_string().parse::<halo_lrm::AgentSpec>() {
        Ok(s) => s,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(Ok(ResourceDef {
        id: op.resource.clone(),
        agent: spec,
        params: op.params.clone().unwrap_or_default(),
        meta: Default::default(),
    }))
}

/// The LRM request for an engine operation.
pub fn request(op: &LrmOp) -> OpRequest {
    OpRequest {
        resource: op.resource.clone(),
        action: op.action.clone(),
        interval_ms: op.interval_ms,
        timeout_ms: op.timeout_ms,
        op_params: op.op_params.clone(),
        meta: op.meta.clone(),
        expected_rc: Some(op.expected_rc),
        transition_key: Some(op.transition_key.clone()),
        ..OpRequest::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use halo_lrm::{ExecStatus, ResourceState};

    fn record(action: &str, interval: u64, rc: i32, target: i32, key: Option<&str>) -> OpRecord {
        OpRecord {
            operation_key: format!("ip_{action}_{interval}"),
            operation: action.into(),
            interval,
            call_id: 3,
            rc_code: rc,
            op_status: ExecStatus::Done.code(),
            target_rc: target,
            transition_key: key.map(str::to_string),
            exit_reason: None,
            on_node: "n1".into(),
            last_rc_change: 1_700_000_000,
            last_run: 1_700_000_001,
            start_ms: 1_700_000_001_000,
            exec_time: 12,
            queue_time: 0,
            op_digest: "abc".into(),
            failure: None,
            state: ResourceState::Stopped,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    fn history(ops: Vec<OpRecord>) -> ResourceHistory {
        ResourceHistory {
            resource: ResourceDef {
                id: "ip".into(),
                agent: "ocf:halo:IPaddr".parse().unwrap(),
                params: Default::default(),
                meta: Default::default(),
            },
            ops,
        }
    }

    #[test]
    fn a_probe_after_a_restart_gets_a_key_with_its_own_target_rc() {
        let h = history(vec![record("monitor", 0, 7, 7, None)]);
        let r = lrm_resource(&h, "n1");
        assert_eq!(
            (
                r.class.as_deref(),
                r.provider.as_deref(),
                r.agent.as_deref()
            ),
            (Some("ocf"), Some("halo"), Some("IPaddr"))
        );
        let e = &r.ops[0];
        assert_eq!(e.id, "ip_last_0");
        assert_eq!(e.transition_key.as_deref(), Some("0:-1:7:halo-lrm-n1"));
        assert_eq!(
            e.transition_magic.as_deref(),
            Some("0:7;0:-1:7:halo-lrm-n1")
        );
        assert_eq!(e.last_rc_change.as_deref(), Some("1700000000"));
    }

    /// The policy engine of a one-node cluster where `ip` has `history` on node n1.
    fn plan_with(history: LrmResource) -> Vec<String> {
        let mut cib = halo_cib::Cib::from_xml(
            r#"<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="true" dc-uuid="n1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="fencing-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="n1" uname="n1"/></nodes>
    <resources><primitive id="ip" class="ocf" provider="halo" type="IPaddr">
      <instance_attributes id="ia"><nvpair id="ia1" name="ip" value="10.0.0.1"/></instance_attributes>
    </primitive></resources>
    <constraints/>
  </configuration>
  <status><node_state id="n1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/></status>
</cib>"#,
        )
        .unwrap();
        let ns = halo_crm::status::node_state_mut(&mut cib, "n1");
        halo_crm::status::put_lrm_resource(ns, history);
        let t = halo_policy::schedule(&cib, halo_types::Timestamp::from_millis(1_700_000_100_000))
            .unwrap();
        halo_policy::format_summary(&t.summary)
    }

    #[test]
    fn the_policy_engine_reads_a_restarts_probe_as_not_running_not_as_a_failure() {
        let stopped = history(vec![record("monitor", 0, 7, 7, None)]);
        let plan = plan_with(lrm_resource(&stopped, "n1"));
        assert!(
            plan.iter().any(|l| l.contains("Start") && l.contains("ip")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|l| l.contains("Recover")), "{plan:?}");
        // Found running: nothing to do.
        let mut running = record("monitor", 0, 0, 7, None);
        running.state = ResourceState::Running;
        // The digest the LRM records for the configured parameters.
        running.op_digest = halo_lrm::digest::op_digest(
            &[("ip".to_string(), "10.0.0.1".to_string())].into(),
            0,
            20_000,
        );
        let plan = plan_with(lrm_resource(&history(vec![running]), "n1"));
        assert!(!plan.iter().any(|l| l.contains("ip")), "{plan:?}");
    }

    #[test]
    fn a_requested_operation_keeps_its_key() {
        let h = history(vec![record("start", 0, 0, 0, Some("3:7:0:n2-5"))]);
        let e = &lrm_resource(&h, "n1").ops[0];
        assert_eq!(e.transition_key.as_deref(), Some("3:7:0:n2-5"));
        assert_eq!(e.op_digest.as_deref(), Some("abc"));
    }

    #[test]
    fn an_operation_that_cannot_run_is_a_readable_failure_and_an_unknown_stop_is_not() {
        let op = LrmOp {
            resource: "fence".into(),
            agent: Some(halo_crm::Agent {
                class: "stonith".into(),
                provider: None,
                kind: "fence_x".into(),
            }),
            params: Some(Default::default()),
            op_params: Default::default(),
            meta: Default::default(),
            action: "start".into(),
            interval_ms: 0,
            timeout_ms: None,
            expected_rc: 0,
            transition_key: "1:2:0:n2-5".into(),
        };
        let r = not_run(&op, "reserved".into(), 9, "n1");
        assert!(r.outcome.failed);
        assert_eq!(r.outcome.op_status, EXEC_ERROR);
        assert_eq!(r.history.ops.len(), 2);
        assert_eq!(r.history.ops[1].id, "fence_last_failure_0");
        let stop = LrmOp {
            action: "stop".into(),
            agent: None,
            ..op
        };
        let r = not_run(&stop, "unknown resource".into(), 9, "n1");
        assert!(!r.outcome.failed && r.outcome.rc == 0);
        assert!(r.history.ops.is_empty());
    }
}
