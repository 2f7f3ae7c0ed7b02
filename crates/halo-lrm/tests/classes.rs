//! The non-OCF classes (lsb, heartbeat, service, systemd without systemd, stonith),
//! history across restarts, and the ocf-tester rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use halo_lrm::{AgentSpec, Class, ExecStatus, OcfRc, OpRequest, ResourceState, Severity};

fn lsb_script(pidfile: &std::path::Path) -> String {
    format!(
        r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          halodemo
# Required-Start:    $local_fs
# Short-Description: halo demo service
# Description:       A demo init script
#                    written by the test.
### END INIT INFO
PIDF={pidf}
case "$1" in
start)
    [ -f $PIDF ] && kill -0 $(cat $PIDF) 2>/dev/null && exit 0
    sleep 1000 &
    echo $! > $PIDF
    exit 0;;
stop)
    [ -f $PIDF ] && kill $(cat $PIDF) 2>/dev/null
    rm -f $PIDF
    exit 0;;
status)
    if [ -f $PIDF ]; then
        kill -0 $(cat $PIDF) 2>/dev/null && {{ echo running; exit 0; }}
        echo "dead but pid file exists"; exit 1
    fi
    [ -f $PIDF.unknown ] && exit 4
    echo "not running"; exit 3;;
*)
    echo "Usage: $0 {{start|stop|status}}"; exit 3;;
esac
"#,
        pidf = pidfile.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lsb_init_script_maps_status_codes() {
    let fx = Fx::new();
    let pidfile = fx.path("lsb.pid");
    fx.init_script("halodemo", &lsb_script(&pidfile));
    let lrm = fx.lrm();
    let spec: AgentSpec = "lsb:halodemo".parse().unwrap();
    register(&lrm, "svc", &spec, &[]).await;

    let probe = op(&lrm, "svc", "monitor").await;
    assert_eq!(
        (probe.outcome.exit_code, probe.outcome.rc),
        (Some(3), OcfRc::NOT_RUNNING)
    );
    assert_eq!(probe.assessment.failure, None);
    let start = op(&lrm, "svc", "start").await;
    assert!(start.ok(), "{start:?}");
    assert_eq!(op(&lrm, "svc", "monitor").await.outcome.rc, OcfRc::OK);

    // The daemon dies behind our back: status 1 ("dead, pid file left") means stopped,
    // which for a recurring monitor of a started resource is a failure. (A dead pid is
    // simulated with the pid of a process we reaped ourselves: the machine's init may
    // leave the real daemon a zombie, which `kill -0` still finds.)
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&pidfile, dead_pid.to_string()).unwrap();
    let mut req = OpRequest::new("svc", "monitor", 10_000);
    req.timeout_ms = Some(30_000);
    let dead = lrm.execute_once(req).await.unwrap();
    assert_eq!(
        (dead.outcome.exit_code, dead.outcome.rc),
        (Some(1), OcfRc::NOT_RUNNING)
    );
    assert_eq!(dead.assessment.failure, Some(Severity::Soft));

    assert!(op(&lrm, "svc", "stop").await.ok());
    assert!(
        op(&lrm, "svc", "stop").await.ok(),
        "stop of a stopped service"
    );
    // status 4 ("unknown") is a generic error.
    std::fs::write(fx.path("lsb.pid.unknown"), "").unwrap();
    assert_eq!(
        op(&lrm, "svc", "monitor").await.outcome.rc,
        OcfRc::ERR_GENERIC
    );
    // Non-status actions share OCF's codes.
    let bogus = op(&lrm, "svc", "frobnicate").await;
    assert_eq!(bogus.outcome.rc, OcfRc::ERR_UNIMPLEMENTED);

    let md = lrm.agents().metadata(&spec).await.unwrap();
    assert_eq!(md.shortdesc.as_deref(), Some("halo demo service"));
    assert_eq!(
        md.longdesc.as_deref(),
        Some("A demo init script written by the test.")
    );
    assert!(md.supports("monitor") && md.supports("status"));
}

const HB_SCRIPT: &str = r#"#!/bin/sh
for a; do action=$a; done
echo "$@" >> "$2.args"
case "$action" in
start) echo "$1" > "$2"; exit 0;;
stop) rm -f "$2"; exit 0;;
status)
    # The exit code is deliberately the opposite of the truth: heartbeat ignores it.
    if [ -f "$2" ]; then echo "$(cat "$2") is running"; exit 3; fi
    echo "$1 is not running"; exit 0;;
esac
exit 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_script_gets_arguments_first_and_status_from_text() {
    let fx = Fx::new();
    fx.hb_script("halohb", HB_SCRIPT);
    let lrm = fx.lrm();
    let file = fx.path("hb.flag");
    let spec: AgentSpec = "heartbeat:halohb".parse().unwrap();
    register(
        &lrm,
        "hb",
        &spec,
        &[("1", "webdata"), ("2", file.to_str().unwrap())],
    )
    .await;

    let probe = op(&lrm, "hb", "monitor").await;
    assert_eq!(
        (probe.outcome.exit_code, probe.outcome.rc),
        (Some(0), OcfRc::NOT_RUNNING),
        "{probe:?}"
    );
    assert!(op(&lrm, "hb", "start").await.ok());
    let mon = op(&lrm, "hb", "monitor").await;
    assert_eq!(
        (mon.outcome.exit_code, mon.outcome.rc),
        (Some(3), OcfRc::OK),
        "{mon:?}"
    );
    assert!(op(&lrm, "hb", "stop").await.ok());
    let args = std::fs::read_to_string(format!("{}.args", file.display())).unwrap();
    let f = file.display();
    assert_eq!(
        args,
        format!("webdata {f} status\nwebdata {f} start\nwebdata {f} status\nwebdata {f} stop\n")
    );
    let md = lrm.agents().metadata(&spec).await.unwrap();
    assert_eq!(
        md.parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_class_falls_back_to_init_d() {
    let fx = Fx::new();
    fx.init_script("onlyinit", HB_SCRIPT);
    let lrm = fx.lrm();
    let file = fx.path("init.flag");
    register(
        &lrm,
        "oi",
        &"heartbeat:onlyinit".parse().unwrap(),
        &[("1", "x"), ("2", file.to_str().unwrap())],
    )
    .await;
    assert!(op(&lrm, "oi", "start").await.ok());
    assert!(file.exists());
    assert_eq!(op(&lrm, "oi", "status").await.outcome.rc, OcfRc::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_without_systemd_is_not_installed_and_stop_succeeds() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    let spec: AgentSpec = "systemd:halo-nothing".parse().unwrap();
    register(&lrm, "u", &spec, &[]).await;
    let start = op(&lrm, "u", "start").await;
    assert_eq!(
        (start.outcome.rc, start.outcome.status),
        (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
    );
    let reason = start.outcome.exit_reason.clone().unwrap();
    assert!(reason.contains("systemd is not running"), "{reason}");
    assert_eq!(start.assessment.failure, Some(Severity::Hard));
    let probe = op(&lrm, "u", "monitor").await;
    assert_eq!(
        (probe.assessment.rc, probe.assessment.failure),
        (OcfRc::NOT_RUNNING, None)
    );
    let stop = op(&lrm, "u", "stop").await;
    assert_eq!(
        (stop.outcome.rc, stop.outcome.status),
        (OcfRc::OK, ExecStatus::Done)
    );
    let md = lrm.agents().metadata(&spec).await.unwrap();
    assert_eq!(md.name, "halo-nothing");
    assert!(
        lrm.agents()
            .list(Some(Class::Systemd), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_class_picks_lsb_when_the_script_exists() {
    let fx = Fx::new();
    fx.init_script("halodemo", &lsb_script(&fx.path("svc.pid")));
    let lrm = fx.lrm();
    register(&lrm, "s1", &"service:halodemo".parse().unwrap(), &[]).await;
    let r = op(&lrm, "s1", "monitor").await;
    assert_eq!(r.agent.class, Class::Lsb);
    assert_eq!(r.outcome.exit_code, Some(3), "ran the init script's status");
    // Neither an init script nor systemd: lsb, not installed (Pacemaker's default).
    register(&lrm, "s2", &"service:halo-missing".parse().unwrap(), &[]).await;
    let r = op(&lrm, "s2", "start").await;
    assert_eq!(
        (r.agent.class, r.outcome.status),
        (Class::Lsb, ExecStatus::NotInstalled)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stonith_is_reserved_for_the_fencing_service() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    let err = lrm
        .register(halo_lrm::ResourceDef {
            id: "f".into(),
            agent: "stonith:fence_dummy".parse().unwrap(),
            params: BTreeMap::new(),
            meta: BTreeMap::new(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fencing service"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_listing() {
    let fx = Fx::new();
    fx.init_script("halodemo", &lsb_script(&fx.path("x.pid")));
    fx.hb_script("halohb", HB_SCRIPT);
    fx.ocf_agent("mine", "#!/bin/sh\nexit 0\n");
    std::fs::write(fx.ocf_root.join("resource.d/halotest/.hidden"), "x").unwrap();
    let lrm = fx.lrm();
    let a = lrm.agents();
    let ocf = a.list(Some(Class::Ocf), Some("halotest")).await.unwrap();
    assert_eq!(ocf, vec![AgentSpec::ocf("halotest", "mine")]);
    let all_ocf = a.list(Some(Class::Ocf), None).await.unwrap();
    assert!(
        all_ocf.contains(&AgentSpec::ocf("heartbeat", "Dummy")),
        "the system's agents too"
    );
    assert!(
        all_ocf.contains(&AgentSpec::ocf("halo", "IPaddr"))
            && a.ocf_providers().unwrap().contains(&"halo".to_string()),
        "the built-in ocf:halo:IPaddr is listed like any agent: {all_ocf:?}"
    );
    assert!(
        a.ocf_providers()
            .unwrap()
            .contains(&"heartbeat".to_string())
    );
    assert_eq!(
        a.list(Some(Class::Lsb), None).await.unwrap(),
        vec![AgentSpec::simple(Class::Lsb, "halodemo")]
    );
    assert_eq!(
        a.list(Some(Class::Heartbeat), None).await.unwrap(),
        vec![AgentSpec::simple(Class::Heartbeat, "halohb")]
    );
}

/// A node restart: the first LRM dies without cleaning up (its runtime is dropped);
/// the second finds the history, probes, and resumes the monitor of what runs.
#[test]
fn history_survives_a_restart_and_recovery_probes_and_resumes() {
    let fx = Fx::new();
    let running_state = fx.path("running.state");
    let stopped_state = fx.path("stopped.state");
    let cfg = fx.config();
    let (rs, ss) = (running_state.clone(), stopped_state.clone());
    let before = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let max_call = rt.block_on(async {
            let lrm = halo_lrm::Lrm::open(cfg).unwrap();
            let dummy = AgentSpec::ocf("heartbeat", "Dummy");
            register(&lrm, "up", &dummy, &[("state", rs.to_str().unwrap())]).await;
            register(&lrm, "down", &dummy, &[("state", ss.to_str().unwrap())]).await;
            assert!(op(&lrm, "up", "start").await.ok());
            assert!(op(&lrm, "down", "start").await.ok());
            assert!(op(&lrm, "down", "stop").await.ok());
            let mut rx = lrm.subscribe();
            lrm.start_recurring(OpRequest::new("up", "monitor", 200))
                .await
                .unwrap();
            lrm.start_recurring(OpRequest::new("down", "monitor", 200))
                .await
                .unwrap();
            wait_event(&mut rx, |r| r.resource == "up" && r.interval_ms == 200).await;
            // Results are written behind; the crash comes after they reached the disk.
            lrm.flush().await;
            lrm.histories()
                .iter()
                .map(|h| h.max_call_id())
                .max()
                .unwrap()
        });
        drop(rt); // the "crash": tasks vanish, nothing is cleaned up
        max_call
    })
    .join()
    .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let lrm = fx.lrm();
        let ids: Vec<String> = lrm.resources().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["down", "up"]);
        let up = lrm.history("up").unwrap();
        assert_eq!(
            up.ops
                .iter()
                .map(|o| o.operation_key.as_str())
                .collect::<Vec<_>>(),
            ["up_start_0", "up_monitor_200"]
        );
        assert!(up.lrm_rsc_ops().iter().any(|o| o.id == "up_monitor_200"));
        // Someone stopped "up" by hand while we were down? No: it still runs, and the
        // probe must say so.
        let probes = lrm.recover().await;
        for p in &probes {
            let p = p.as_ref().unwrap();
            assert!(p.call_id > before, "call ids continue after a restart");
            let want = if p.resource == "up" {
                ResourceState::Running
            } else {
                ResourceState::Stopped
            };
            assert_eq!(p.assessment.state, want, "{p:?}");
        }
        assert_eq!(
            lrm.recurring(),
            vec!["up_monitor_200"],
            "only the running one is monitored again"
        );
        lrm.shutdown().await;
        assert!(lrm.recurring().is_empty());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocf_tester_rules_pass_for_dummy_and_stateful() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    let state = fx.path("conf.state");
    let params = params(&[("state", state.to_str().unwrap())]);
    let report = halo_lrm::conformance::check_agent(
        &lrm,
        &AgentSpec::ocf("heartbeat", "Dummy"),
        "conf",
        params.clone(),
    )
    .await
    .unwrap();
    assert!(report.passed(), "{:#?}", report.failures());
    assert!(report.checks.len() >= 20, "{:#?}", report.checks);
    assert!(
        lrm.history("conf").is_none(),
        "the scratch resource is gone"
    );
    let report = halo_lrm::conformance::check_agent(
        &lrm,
        &AgentSpec::ocf("heartbeat", "Stateful"),
        "conf2",
        params,
    )
    .await
    .unwrap();
    assert!(report.passed(), "{:#?}", report.failures());
    assert!(report.checks.iter().any(|c| c.rule
        == "Promoting a promoted resource should not fail"
        && c.passed == Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocf_tester_rules_catch_a_broken_agent() {
    let fx = Fx::new();
    let flag = fx.path("broken.flag");
    // Stop of a stopped resource returns 7, start of a started one 1: both forbidden.
    let body = format!(
        r#"#!/bin/sh
F={flag}
case "$1" in
meta-data) echo '<?xml version="1.0"?><resource-agent name="broken"><actions><action name="start" timeout="5"/><action name="stop" timeout="5"/><action name="monitor" timeout="5"/><action name="meta-data" timeout="5"/></actions></resource-agent>'; exit 0;;
validate-all) exit 0;;
start) [ -f $F ] && exit 1; touch $F; exit 0;;
stop) [ -f $F ] || exit 7; rm -f $F; exit 0;;
monitor) [ -f $F ] && exit 0; exit 7;;
*) exit 3;;
esac
"#,
        flag = flag.display()
    );
    let spec = fx.ocf_agent("broken", &body);
    let lrm = fx.lrm();
    let report = halo_lrm::conformance::check_agent(&lrm, &spec, "b", BTreeMap::new())
        .await
        .unwrap();
    let failed: Vec<&str> = report.failures().iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(
        failed,
        [
            "Starting a running resource is required to succeed",
            "Stopping a stopped resource is required to succeed"
        ],
        "{:#?}",
        report.checks
    );
}
