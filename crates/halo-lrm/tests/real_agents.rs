//! Debian's real, unmodified resource agents driven through the LRM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use halo_lrm::{AgentSpec, ExecStatus, OcfRc, ResourceState, Severity};

fn dummy() -> AgentSpec {
    AgentSpec::ocf("heartbeat", "Dummy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_dummy_lifecycle() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    let state = fx.path("dummy.state");
    register(&lrm, "d1", &dummy(), &[("state", state.to_str().unwrap())]).await;

    let probe = op(&lrm, "d1", "monitor").await;
    assert_eq!(probe.outcome.rc, OcfRc::NOT_RUNNING, "{probe:?}");
    assert_eq!(
        (probe.assessment.failure, probe.assessment.state),
        (None, ResourceState::Stopped)
    );

    let v = op(&lrm, "d1", "validate-all").await;
    assert_eq!(
        (v.outcome.rc, v.outcome.status),
        (OcfRc::OK, ExecStatus::Done),
        "{v:?}"
    );

    let start = op(&lrm, "d1", "start").await;
    assert!(start.ok(), "{start:?}");
    assert!(state.exists(), "Dummy start creates its state file");
    assert_eq!(start.assessment.state, ResourceState::Running);

    let mut req = halo_lrm::OpRequest::new("d1", "monitor", 0);
    req.expected_rc = Some(0);
    let mon = lrm.execute(req).await.unwrap();
    assert_eq!((mon.outcome.rc, mon.assessment.failure), (OcfRc::OK, None));

    assert!(op(&lrm, "d1", "start").await.ok(), "start is idempotent");
    let stop = op(&lrm, "d1", "stop").await;
    assert!(stop.ok() && !state.exists(), "{stop:?}");
    assert_eq!(stop.assessment.state, ResourceState::Stopped);
    assert!(op(&lrm, "d1", "stop").await.ok(), "stop is idempotent");
    assert_eq!(
        op(&lrm, "d1", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );

    // Unknown actions are the agent's business: Dummy says "unimplemented".
    let bogus = op(&lrm, "d1", "frobnicate").await;
    assert_eq!(bogus.outcome.rc, OcfRc::ERR_UNIMPLEMENTED);
    assert_eq!(bogus.assessment.failure, Some(Severity::Hard));

    // Every op landed in the history, call ids increasing.
    let h = lrm.history("d1").unwrap();
    let ids: Vec<i64> = h.ops.iter().map(|o| o.call_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(h.ops.len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_dummy_without_state_parameter_uses_its_default() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    register(&lrm, "nostate", &dummy(), &[]).await;
    let start = op(&lrm, "nostate", "start").await;
    assert!(start.ok(), "{start:?}");
    // The agent's default: $HA_RSCTMP/Dummy-$OCF_RESOURCE_INSTANCE.state.
    let default_state = fx.rsctmp.join("Dummy-nostate.state");
    assert!(
        default_state.exists(),
        "{} missing",
        default_state.display()
    );
    assert_eq!(op(&lrm, "nostate", "monitor").await.outcome.rc, OcfRc::OK);
    assert!(op(&lrm, "nostate", "stop").await.ok());
    assert!(!default_state.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_dummy_unwritable_state_is_invalid_with_a_reason() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    register(
        &lrm,
        "bad",
        &dummy(),
        &[("state", "/nonexistent-halo-dir/x.state")],
    )
    .await;
    let v = op(&lrm, "bad", "validate-all").await;
    assert_eq!(v.outcome.rc, OcfRc::ERR_ARGS, "{v:?}");
    let reason = v.outcome.exit_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("is not writable"),
        "exit reason: {reason:?}"
    );
    assert_eq!(v.assessment.failure, Some(Severity::Hard));
    let rec = &lrm.history("bad").unwrap().ops[0];
    assert_eq!(rec.exit_reason.as_deref(), Some(reason.as_str()));
}

async fn promote_demote_cycle(fx: &Fx, agent: AgentSpec) {
    let lrm = fx.lrm();
    let state = fx.path("stateful.state");
    register(&lrm, "ms", &agent, &[("state", state.to_str().unwrap())]).await;
    assert_eq!(
        op(&lrm, "ms", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    assert!(op(&lrm, "ms", "start").await.ok());
    assert_eq!(op(&lrm, "ms", "monitor").await.outcome.rc, OcfRc::OK);
    let p = op(&lrm, "ms", "promote").await;
    assert!(p.ok(), "{p:?}");
    assert_eq!(p.assessment.state, ResourceState::Promoted);
    let m = op(&lrm, "ms", "monitor").await;
    assert_eq!(
        (m.outcome.rc, m.assessment.state),
        (OcfRc::RUNNING_PROMOTED, ResourceState::Promoted)
    );
    // A recurring monitor of the promoted role expects 8.
    let mut req = halo_lrm::OpRequest::new("ms", "monitor", 0);
    req.expected_rc = Some(8);
    assert_eq!(lrm.execute(req).await.unwrap().assessment.failure, None);
    assert!(op(&lrm, "ms", "demote").await.ok());
    assert_eq!(op(&lrm, "ms", "monitor").await.outcome.rc, OcfRc::OK);
    assert!(op(&lrm, "ms", "stop").await.ok());
    assert_eq!(
        op(&lrm, "ms", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_stateful_promotes_and_demotes() {
    let fx = Fx::new();
    promote_demote_cycle(&fx, AgentSpec::ocf("heartbeat", "Stateful")).await;
}

fn pacemaker_agent(name: &str) -> Option<AgentSpec> {
    let path = Path::new(SYSTEM_OCF)
        .join("resource.d/pacemaker")
        .join(name);
    if path.exists() {
        Some(AgentSpec::ocf("pacemaker", name))
    } else {
        eprintln!(
            "SKIP: {} not installed (Debian package pacemaker-resource-agents)",
            path.display()
        );
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacemaker_stateful_promotes_and_demotes() {
    let Some(agent) = pacemaker_agent("Stateful") else {
        return;
    };
    let fx = Fx::new();
    promote_demote_cycle(&fx, agent).await;
}

/// pacemaker:Dummy's `envfile` appends the environment of every call: it shows what
/// the LRM really passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacemaker_dummy_sees_the_full_ocf_environment() {
    let Some(agent) = pacemaker_agent("Dummy") else {
        return;
    };
    let fx = Fx::new();
    let lrm = fx.lrm();
    let envfile = fx.path("env.txt");
    let state = fx.path("pd.state");
    lrm.register(halo_lrm::ResourceDef {
        id: "pd".into(),
        agent,
        params: params(&[
            ("state", state.to_str().unwrap()),
            ("envfile", envfile.to_str().unwrap()),
            ("fake", "x y"),
        ]),
        meta: params(&[("target-role", "Started"), ("clone-max", "2")]),
    })
    .await
    .unwrap();
    let mut req = halo_lrm::OpRequest::new("pd", "start", 0);
    req.timeout_ms = Some(12_345);
    req.op_params = params(&[("OCF_CHECK_LEVEL", "10")]);
    assert!(lrm.execute(req).await.unwrap().ok());
    let env = std::fs::read_to_string(&envfile).unwrap();
    for want in [
        "OCF_RESOURCE_INSTANCE=pd",
        "OCF_RESOURCE_TYPE=Dummy",
        "OCF_RESOURCE_PROVIDER=pacemaker",
        "OCF_RA_VERSION_MAJOR=1",
        "OCF_RA_VERSION_MINOR=1",
        "OCF_ROOT=/usr/lib/ocf",
        "OCF_RESKEY_fake=x y",
        "OCF_RESKEY_CRM_meta_timeout=12345",
        "OCF_RESKEY_CRM_meta_interval=0",
        "OCF_RESKEY_CRM_meta_name=start",
        "OCF_RESKEY_CRM_meta_target_role=Started",
        "OCF_RESKEY_CRM_meta_clone_max=2",
        "OCF_CHECK_LEVEL=10",
        "OCF_EXIT_REASON_PREFIX=ocf-exit-reason:",
    ] {
        assert!(
            env.lines().any(|l| l == want),
            "missing {want:?} in:\n{env}"
        );
    }
    assert!(
        !env.contains("OCF_RESKEY_OCF_CHECK_LEVEL"),
        "OCF_CHECK_LEVEL is not a parameter"
    );
    assert!(op(&lrm, "pd", "stop").await.ok());
}

/// Overlapping operations on one pacemaker:Dummy with op_sleep would fail; the LRM
/// serialises them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_on_one_resource_never_overlap() {
    let Some(agent) = pacemaker_agent("Dummy") else {
        return;
    };
    let fx = Fx::new();
    let lrm = fx.lrm();
    let state = fx.path("ser.state");
    register(
        &lrm,
        "ser",
        &agent,
        &[("state", state.to_str().unwrap()), ("op_sleep", "1")],
    )
    .await;
    let mut tasks = Vec::new();
    for action in ["start", "monitor", "monitor", "stop", "monitor"] {
        let l = lrm.clone();
        tasks.push(tokio::spawn(async move { op(&l, "ser", action).await }));
        // Arrival order is what serialisation preserves; give each a head start.
        tokio::task::yield_now().await;
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let mut spans: Vec<(u64, u64)> = results
        .iter()
        .map(|r| {
            (
                r.outcome.started_ms,
                r.outcome.started_ms + r.outcome.duration_ms,
            )
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0 + 1, "operations overlapped: {spans:?}");
    }
    for r in &results {
        assert_ne!(r.outcome.status, ExecStatus::Timeout, "{r:?}");
        assert!(
            r.outcome.rc == OcfRc::OK || r.outcome.rc == OcfRc::NOT_RUNNING,
            "{r:?}"
        );
    }
}
