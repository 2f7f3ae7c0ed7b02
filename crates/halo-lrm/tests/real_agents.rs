//! Debian's real, unmodified resource agents driven through the LRM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use halo_lrm::{AgentSpec, ExecStatus, OcfRc, OpRequest, ResourceState, Severity};

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

/// A loop device over a file; detached (and its mount undone) when dropped, also when
/// the test fails.
struct LoopDevice {
    dev: String,
    mountpoint: std::path::PathBuf,
}

impl LoopDevice {
    fn new(image: &Path, mountpoint: &Path) -> LoopDevice {
        let run = |cmd: &mut std::process::Command| {
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        run(std::process::Command::new("truncate")
            .args(["-s", "32M"])
            .arg(image));
        run(std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(image));
        let dev = run(std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(image));
        std::fs::create_dir_all(mountpoint).unwrap();
        LoopDevice {
            dev,
            mountpoint: mountpoint.to_path_buf(),
        }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if is_mounted(&self.mountpoint) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
        }
        let _ = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .status();
    }
}

fn is_mounted(dir: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let dir = dir.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(dir.as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_filesystem_on_a_loop_device() {
    let fx = Fx::new();
    let mnt = fx.path("mnt");
    let lo = LoopDevice::new(&fx.path("fs.img"), &mnt);
    let lrm = fx.lrm();
    let fs = AgentSpec::ocf("heartbeat", "Filesystem");

    // Required parameters are checked against the agent's own meta-data first.
    register(&lrm, "nofs", &fs, &[("device", &lo.dev)]).await;
    let r = op(&lrm, "nofs", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_CONFIGURED, ExecStatus::ErrorFatal)
    );
    assert_eq!(
        r.outcome.exit_reason.as_deref(),
        Some("required parameters missing: directory, fstype")
    );
    assert!(!is_mounted(&mnt));

    register(
        &lrm,
        "fs",
        &fs,
        &[
            ("device", &lo.dev),
            ("directory", mnt.to_str().unwrap()),
            ("fstype", "ext4"),
        ],
    )
    .await;
    assert_eq!(
        op(&lrm, "fs", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    let start = op(&lrm, "fs", "start").await;
    assert!(start.ok(), "{start:?}");
    assert!(is_mounted(&mnt), "the agent mounted it");
    let mut req = halo_lrm::OpRequest::new("fs", "monitor", 0);
    req.expected_rc = Some(0);
    req.op_params = params(&[("OCF_CHECK_LEVEL", "10")]);
    let deep = lrm.execute(req).await.unwrap();
    assert_eq!(
        (deep.outcome.rc, deep.assessment.failure),
        (OcfRc::OK, None),
        "{deep:?}"
    );
    let stop = op(&lrm, "fs", "stop").await;
    assert!(stop.ok(), "{stop:?}");
    assert!(!is_mounted(&mnt), "the agent unmounted it");
    assert_eq!(
        op(&lrm, "fs", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    drop(lo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_mailto_with_our_own_mail_command() {
    let fx = Fx::new();
    let outbox = fx.path("outbox");
    // A `mail` for the agent to find on its PATH: records the subject, recipients and
    // body instead of sending anything.
    fx.tool(
        "mail",
        &format!(
            "#!/bin/sh\n{{ echo \"ARGS: $*\"; cat; echo \"--END--\"; }} >> {}\n",
            outbox.display()
        ),
    );
    let lrm = fx.lrm();
    let mailto = AgentSpec::ocf("heartbeat", "MailTo");
    register(
        &lrm,
        "mail",
        &mailto,
        &[("email", "ops@example.invalid"), ("subject", "halo test")],
    )
    .await;
    assert!(op(&lrm, "mail", "validate-all").await.ok());
    assert_eq!(
        op(&lrm, "mail", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    assert!(op(&lrm, "mail", "start").await.ok());
    assert_eq!(op(&lrm, "mail", "monitor").await.outcome.rc, OcfRc::OK);
    assert!(op(&lrm, "mail", "stop").await.ok());
    let sent = std::fs::read_to_string(&outbox).unwrap();
    let mails: Vec<&str> = sent.split("--END--\n").filter(|m| !m.is_empty()).collect();
    assert_eq!(mails.len(), 2, "one mail on start, one on stop:\n{sent}");
    assert!(
        mails[0].starts_with("ARGS: -s halo test Takeover in progress")
            && mails[0].contains("ops@example.invalid"),
        "{sent}"
    );
    assert!(mails[1].contains("Migrating resource away"), "{sent}");

    // Without an email address: the agent's meta-data says it is required.
    register(&lrm, "nomail", &mailto, &[]).await;
    let r = op(&lrm, "nomail", "start").await;
    assert_eq!(
        r.outcome.exit_reason.as_deref(),
        Some("required parameter missing: email")
    );
}

/// The actions beyond start/stop/monitor: migrate_to/migrate_from with their meta
/// attributes, reload, reload-agent, notify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_reload_and_notify() {
    let Some(dummy) = pacemaker_agent("Dummy") else {
        return;
    };
    let Some(stateful) = pacemaker_agent("Stateful") else {
        return;
    };
    let fx = Fx::new();
    let lrm = fx.lrm();
    // One resource, "moving" between two places on this machine: its state file.
    let (src_state, dst_state) = (fx.path("src.state"), fx.path("dst.state"));
    let envfile = fx.path("env.txt");
    let e = envfile.to_str().unwrap();
    register(
        &lrm,
        "src",
        &dummy,
        &[("state", src_state.to_str().unwrap()), ("envfile", e)],
    )
    .await;
    register(
        &lrm,
        "dst",
        &dummy,
        &[("state", dst_state.to_str().unwrap()), ("envfile", e)],
    )
    .await;
    assert!(op(&lrm, "src", "start").await.ok());

    let mut to = OpRequest::new("src", "migrate_to", 0);
    to.meta = params(&[("migrate_source", "node1"), ("migrate_target", "node2")]);
    let r = lrm.execute(to).await.unwrap();
    assert!(r.ok() && !src_state.exists(), "{r:?}");
    let mut from = OpRequest::new("dst", "migrate_from", 0);
    from.meta = params(&[("migrate_source", "node1"), ("migrate_target", "node2")]);
    let r = lrm.execute(from).await.unwrap();
    assert!(r.ok() && dst_state.exists(), "{r:?}");
    assert_eq!(r.assessment.state, halo_lrm::ResourceState::Running);
    let env = std::fs::read_to_string(&envfile).unwrap();
    assert!(
        env.contains("OCF_RESKEY_CRM_meta_migrate_target=node2"),
        "{env}"
    );
    assert!(
        env.contains("OCF_RESKEY_CRM_meta_migrate_source=node1"),
        "{env}"
    );

    assert!(op(&lrm, "dst", "reload").await.ok());
    assert!(op(&lrm, "dst", "reload-agent").await.ok());
    assert_eq!(op(&lrm, "dst", "monitor").await.outcome.rc, OcfRc::OK);
    assert!(op(&lrm, "dst", "stop").await.ok());

    let ms_state = fx.path("ms.state");
    register(
        &lrm,
        "ms",
        &stateful,
        &[("state", ms_state.to_str().unwrap())],
    )
    .await;
    assert!(op(&lrm, "ms", "start").await.ok());
    let mut n = OpRequest::new("ms", "notify", 0);
    n.meta = params(&[
        ("notify_type", "pre"),
        ("notify_operation", "promote"),
        ("notify_promote_resource", "ms:0"),
        ("notify_promote_uname", "node1"),
    ]);
    let r = lrm.execute(n).await.unwrap();
    assert!(r.ok(), "{r:?}");
    assert!(op(&lrm, "ms", "stop").await.ok());
}
