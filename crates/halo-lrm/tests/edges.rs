//! Agents written by the tests for the edges: hangs, floods, crashes, flapping
//! monitors, every exit code, missing parameters, unrunnable files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use halo_lrm::{ExecStatus, LrmEvent, OcfRc, OpRequest, ResourceState, Severity};

/// Meta-data every test agent prints (so the required-parameter check has something
/// to read).
fn meta_data(name: &str, required: &[&str]) -> String {
    let params: String = required
        .iter()
        .map(|p| {
            format!("<parameter name=\"{p}\" required=\"1\"><content type=\"string\"/></parameter>")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><resource-agent name=\"{name}\"><version>1.1</version>\
         <parameters>{params}</parameters><actions><action name=\"start\" timeout=\"20s\"/>\
         <action name=\"stop\" timeout=\"20s\"/><action name=\"monitor\" timeout=\"20s\" interval=\"10s\"/>\
         <action name=\"meta-data\" timeout=\"5s\"/></actions></resource-agent>"
    )
}

fn agent(name: &str, required: &[&str], body: &str) -> String {
    format!(
        "#!/bin/sh\ncase \"$1\" in\nmeta-data) cat <<'XML'\n{}\nXML\nexit 0;;\nesac\n{body}\n",
        meta_data(name, required)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_is_killed_with_its_whole_group_including_a_grandchild() {
    let fx = Fx::new();
    let pidfile = fx.path("grandchild.pid");
    // The grandchild ignores SIGTERM, so only the SIGKILL to the group can end it.
    let spec = fx.ocf_agent(
        "hang",
        &agent(
            "hang",
            &[],
            &format!(
                "(trap '' TERM; exec sleep 1000) &\necho $! > {}\nsleep 1000\n",
                pidfile.display()
            ),
        ),
    );
    let lrm = fx.lrm();
    register(&lrm, "h", &spec, &[]).await;
    let r = op_timeout(&lrm, "h", "start", 1000).await;
    assert_eq!(r.outcome.status, ExecStatus::Timeout, "{r:?}");
    assert_eq!(r.outcome.rc, OcfRc::ERR_GENERIC);
    assert_eq!(r.assessment.failure, Some(Severity::Soft));
    assert!(
        r.outcome
            .exit_reason
            .as_deref()
            .unwrap_or("")
            .contains("did not complete within 1s")
    );
    let agent_pid = r.outcome.pid.expect("the agent ran");
    let grandchild: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for("the grandchild to die", || process_gone(grandchild)).await;
    assert!(process_gone(agent_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_traps_term_is_killed_after_the_grace() {
    let fx = Fx::new();
    let spec = fx.ocf_agent(
        "stubborn",
        &agent("stubborn", &[], "trap '' TERM\nwhile :; do sleep 1; done\n"),
    );
    let lrm = fx.lrm();
    register(&lrm, "s", &spec, &[]).await;
    let r = op_timeout(&lrm, "s", "monitor", 500).await;
    assert_eq!(r.outcome.status, ExecStatus::Timeout);
    assert!(process_gone(r.outcome.pid.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_holding_the_pipes_does_not_delay_the_result() {
    let fx = Fx::new();
    let pidfile = fx.path("daemon.pid");
    // Like an agent starting a daemon that inherits stdout/stderr and never closes them.
    let spec = fx.ocf_agent(
        "daemon",
        &agent(
            "daemon",
            &[],
            &format!(
                "sleep 1000 &\necho $! > {}\necho started\nexit 0\n",
                pidfile.display()
            ),
        ),
    );
    let lrm = fx.lrm();
    register(&lrm, "dm", &spec, &[]).await;
    let r = op_timeout(&lrm, "dm", "start", 30_000).await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::OK, ExecStatus::Done),
        "{r:?}"
    );
    assert_eq!(r.outcome.stdout.text, "started\n");
    // The daemon is the agent's business: a finished start does not kill it.
    let daemon: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !process_gone(daemon),
        "the daemon must survive a successful start"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_output_is_bounded_and_does_not_deadlock() {
    let fx = Fx::new();
    // 32 MiB on each stream, far beyond any pipe buffer and the capture limit.
    let spec = fx.ocf_agent(
        "flood",
        &agent(
            "flood",
            &[],
            "head -c 33554432 /dev/zero | tr '\\0' 'o' &\nhead -c 33554432 /dev/zero | tr '\\0' 'e' >&2\nwait\necho ocf-exit-reason:flooded >&2\nexit 1\n",
        ),
    );
    let mut cfg = fx.config();
    cfg.agents.output_limit = 4096;
    let lrm = halo_lrm::Lrm::open(cfg).unwrap();
    register(&lrm, "f", &spec, &[]).await;
    let r = op(&lrm, "f", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_GENERIC, ExecStatus::Done),
        "{:?}",
        r.outcome.status
    );
    assert_eq!(r.outcome.stdout.text.len(), 4096);
    assert!(r.outcome.stdout.truncated && r.outcome.stderr.truncated);
    assert_eq!(r.outcome.stdout.total_bytes, 33_554_432);
    assert_eq!(
        r.outcome.stderr.total_bytes,
        33_554_432 + "ocf-exit-reason:flooded\n".len() as u64
    );
    // The exit reason is found beyond the kept part of the stream.
    assert_eq!(r.outcome.exit_reason.as_deref(), Some("flooded"));
    // What is stored is bounded further.
    let rec = &lrm.history("f").unwrap().ops[0];
    assert!(rec.stdout.len() <= 4096 && rec.stderr.len() <= 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_an_error_naming_the_signal() {
    let fx = Fx::new();
    let spec = fx.ocf_agent("crash", &agent("crash", &[], "kill -SEGV $$\nsleep 5\n"));
    let lrm = fx.lrm();
    register(&lrm, "c", &spec, &[]).await;
    let r = op(&lrm, "c", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_GENERIC, ExecStatus::Error)
    );
    assert_eq!(r.outcome.signal, Some(11));
    assert!(
        r.outcome
            .exit_reason
            .as_deref()
            .unwrap_or("")
            .contains("SIGSEGV"),
        "{r:?}"
    );
    assert_eq!(r.assessment.failure, Some(Severity::Soft));
}

/// (exit code, mapped rc, start failure, probe failure, recurring monitor failure,
/// stop failure).
type Row = (
    i32,
    i32,
    Option<Severity>,
    Option<Severity>,
    Option<Severity>,
    Option<Severity>,
);

/// An agent that exits with the code in its `rc` parameter, for every action.
const RC_AGENT: &str = "exit ${OCF_RESKEY_rc:-0}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exit_code_per_action() {
    let fx = Fx::new();
    let spec = fx.ocf_agent("rc", &agent("rc", &[], RC_AGENT));
    let lrm = fx.lrm();
    // (exit code, mapped rc, start failure, probe failure, recurring monitor failure, stop failure)
    use Severity::*;
    let table: &[Row] = &[
        (0, 0, None, None, None, None),
        (1, 1, Some(Soft), Some(Soft), Some(Soft), Some(Soft)),
        (2, 2, Some(Hard), None, Some(Hard), Some(Hard)),
        (3, 3, Some(Hard), Some(Hard), Some(Soft), Some(Hard)),
        (4, 4, Some(Hard), Some(Hard), Some(Hard), Some(Hard)),
        (5, 5, Some(Hard), None, Some(Hard), Some(Hard)),
        (6, 6, Some(Fatal), Some(Fatal), Some(Fatal), Some(Fatal)),
        (7, 7, Some(Soft), None, Some(Soft), Some(Soft)),
        (8, 8, Some(Soft), None, Some(Soft), Some(Soft)),
        (9, 9, Some(Soft), Some(Soft), Some(Soft), Some(Soft)),
        (10, 1, Some(Soft), Some(Soft), Some(Soft), Some(Soft)),
        (99, 1, Some(Soft), Some(Soft), Some(Soft), Some(Soft)),
        (190, 190, None, None, None, None),
        (191, 191, Some(Soft), None, Some(Soft), Some(Soft)),
        (255, 1, Some(Soft), Some(Soft), Some(Soft), Some(Soft)),
    ];
    let mut rx = lrm.subscribe();
    for (i, &(code, mapped, start, probe, recurring, stop)) in table.iter().enumerate() {
        let id = format!("rc{i}");
        register(&lrm, &id, &spec, &[("rc", &code.to_string())]).await;
        let s = op(&lrm, &id, "start").await;
        assert_eq!(
            (s.outcome.exit_code, s.outcome.rc),
            (Some(code), OcfRc(mapped)),
            "start {code}"
        );
        assert_eq!(
            s.assessment.failure, start,
            "start {code}: {:?}",
            s.assessment
        );
        let p = op(&lrm, &id, "monitor").await;
        assert_eq!(
            p.assessment.failure, probe,
            "probe {code}: {:?}",
            p.assessment
        );
        let st = op(&lrm, &id, "stop").await;
        assert_eq!(
            st.assessment.failure, stop,
            "stop {code}: {:?}",
            st.assessment
        );
        // A recurring monitor reports its first result as an event.
        let mut req = OpRequest::new(&id, "monitor", 60_000);
        req.timeout_ms = Some(60_000);
        lrm.start_recurring(req).await.unwrap();
        let m = wait_event(&mut rx, |r| r.resource == id && r.interval_ms == 60_000).await;
        assert_eq!(
            m.assessment.failure, recurring,
            "recurring monitor {code}: {:?}",
            m.assessment
        );
        lrm.cancel(&id, "monitor", 60_000).await.unwrap();
    }
    // The special cases, spelled out.
    let h = lrm.history("rc12").unwrap(); // 190: degraded counts as running
    assert_eq!(h.ops[0].state, ResourceState::Running);
    let unimplemented_recurring = lrm
        .history("rc3")
        .unwrap()
        .ops
        .into_iter()
        .find(|o| o.interval == 60_000 && o.op_status != ExecStatus::Cancelled.code())
        .unwrap();
    assert_eq!(
        unimplemented_recurring.op_status,
        ExecStatus::Done.code(),
        "the executor ran it fine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipping_monitor_reports_the_change_once() {
    let fx = Fx::new();
    let flag = fx.path("running");
    let count = fx.path("count");
    let spec = fx.ocf_agent(
        "flip",
        &agent(
            "flip",
            &[],
            &format!(
                "echo x >> {count}\ncase \"$1\" in monitor) [ -e {flag} ] && exit 0; exit 7;; esac\nexit 0\n",
                count = count.display(),
                flag = flag.display()
            ),
        ),
    );
    let mut cfg = fx.config();
    cfg.still_running_every = Duration::from_millis(300);
    let lrm = halo_lrm::Lrm::open(cfg).unwrap();
    register(&lrm, "flip", &spec, &[]).await;
    std::fs::write(&flag, "").unwrap();
    let mut rx = lrm.subscribe();
    let mut req = OpRequest::new("flip", "monitor", 50);
    req.timeout_ms = Some(30_000);
    lrm.start_recurring(req).await.unwrap();
    let runs = || {
        std::fs::read_to_string(&count)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };

    let first = wait_event(&mut rx, |r| r.resource == "flip").await;
    assert_eq!(first.outcome.rc, OcfRc::OK);
    let n = runs();
    wait_for("five more monitor runs", || runs() >= n + 5).await;

    std::fs::remove_file(&flag).unwrap();
    let changed = wait_event(&mut rx, |r| r.resource == "flip").await;
    assert_eq!(changed.outcome.rc, OcfRc::NOT_RUNNING);
    assert_eq!(
        changed.assessment.failure,
        Some(Severity::Soft),
        "a running resource stopped"
    );
    let n = runs();
    wait_for("ten more monitor runs", || runs() >= n + 10).await;

    // Between and after the changes only "still running" reports, never a repeat.
    let mut completed = Vec::new();
    let mut still = 0;
    while let Ok(ev) = rx.try_recv() {
        match ev {
            LrmEvent::Completed { result } => completed.push(result),
            LrmEvent::StillRunning { rc, .. } => {
                assert_eq!(rc, OcfRc::NOT_RUNNING);
                still += 1;
            }
        }
    }
    assert!(completed.is_empty(), "unexpected repeats: {completed:?}");
    let recorded: Vec<i32> = lrm
        .history("flip")
        .unwrap()
        .ops
        .iter()
        .map(|o| o.rc_code)
        .collect();
    assert_eq!(recorded, vec![0, 7], "the history holds the changes only");
    let _ = still; // how many depends on the machine's speed: not asserted

    lrm.cancel("flip", "monitor", 50).await.unwrap();
    let n = runs();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(runs() <= n + 1, "the monitor kept running after cancel");
    let last = lrm.history("flip").unwrap().ops.pop().unwrap();
    assert_eq!(last.op_status, ExecStatus::Cancelled.code());
    let ids: Vec<String> = lrm
        .history("flip")
        .unwrap()
        .lrm_rsc_ops()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        ids,
        vec!["flip_last_failure_0"],
        "a cancelled monitor leaves the status section"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_monitor_kills_it_and_is_not_a_failure() {
    let fx = Fx::new();
    let started = fx.path("started");
    let spec = fx.ocf_agent(
        "slowmon",
        &agent(
            "slowmon",
            &[],
            &format!("touch {}\nsleep 1000\n", started.display()),
        ),
    );
    let lrm = fx.lrm();
    register(&lrm, "sm", &spec, &[]).await;
    let mut rx = lrm.subscribe();
    let mut req = OpRequest::new("sm", "monitor", 1000);
    req.timeout_ms = Some(120_000);
    lrm.start_recurring(req).await.unwrap();
    wait_for("the monitor to start", || started.exists()).await;
    lrm.cancel("sm", "monitor", 1000).await.unwrap();
    let r = wait_event(&mut rx, |r| r.resource == "sm").await;
    assert_eq!(r.outcome.status, ExecStatus::Cancelled);
    assert_eq!(r.assessment.failure, None);
    assert!(process_gone(r.outcome.pid.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cancels_recurring_monitors_first() {
    let fx = Fx::new();
    let spec = fx.ocf_agent("ok", &agent("ok", &[], "exit 0\n"));
    let lrm = fx.lrm();
    register(&lrm, "r", &spec, &[]).await;
    let mut rx = lrm.subscribe();
    lrm.start_recurring(OpRequest::new("r", "monitor", 100))
        .await
        .unwrap();
    wait_event(&mut rx, |r| r.resource == "r").await;
    assert_eq!(lrm.recurring(), vec!["r_monitor_100"]);
    assert!(op(&lrm, "r", "stop").await.ok());
    assert!(lrm.recurring().is_empty());
    let ops = lrm.history("r").unwrap().ops;
    let stop_at = ops.iter().position(|o| o.operation == "stop").unwrap();
    assert_eq!(
        ops[stop_at - 1].op_status,
        ExecStatus::Cancelled.code(),
        "{ops:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_required_parameters_are_reported_before_the_agent_runs() {
    let fx = Fx::new();
    let ran = fx.path("ran");
    let spec = fx.ocf_agent(
        "needs",
        &agent(
            "needs",
            &["path", "mode"],
            &format!("echo \"$1\" >> {}\nexit 0\n", ran.display()),
        ),
    );
    let lrm = fx.lrm();
    register(&lrm, "n", &spec, &[("mode", "on")]).await;
    let r = op(&lrm, "n", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_CONFIGURED, ExecStatus::ErrorFatal)
    );
    assert_eq!(r.assessment.failure, Some(Severity::Fatal));
    assert_eq!(
        r.outcome.exit_reason.as_deref(),
        Some("required parameter missing: path")
    );
    assert!(!ran.exists(), "the agent must not have run");
    // stop still goes to the agent: it knows best whether there is anything to stop.
    assert!(op(&lrm, "n", "stop").await.ok());
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "stop\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_unrunnable_agents() {
    let fx = Fx::new();
    let lrm = fx.lrm();
    register(
        &lrm,
        "ghost",
        &halo_lrm::AgentSpec::ocf("halotest", "ghost"),
        &[],
    )
    .await;
    let r = op(&lrm, "ghost", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
    );
    assert_eq!(r.assessment.failure, Some(Severity::Hard));
    let p = op(&lrm, "ghost", "monitor").await;
    assert_eq!(
        (p.assessment.rc, p.assessment.failure),
        (OcfRc::NOT_RUNNING, None),
        "a probe of a missing agent means not running"
    );

    let spec = fx.ocf_agent("noexec", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(
        fx.ocf_root.join("resource.d/halotest/noexec"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    register(&lrm, "noexec", &spec, &[]).await;
    let r = op(&lrm, "noexec", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_PERM, ExecStatus::Error),
        "{r:?}"
    );

    let spec = fx.ocf_agent("badinterp", "#!/nonexistent/interpreter\nexit 0\n");
    register(&lrm, "badinterp", &spec, &[]).await;
    let r = op(&lrm, "badinterp", "start").await;
    assert_eq!(r.outcome.status, ExecStatus::NotInstalled, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_resources_run_in_parallel_up_to_the_limit() {
    let fx = Fx::new();
    let spec = fx.ocf_agent("slow", &agent("slow", &[], "sleep 0.3\nexit 0\n"));
    let mut cfg = fx.config();
    cfg.max_parallel = 2;
    let lrm = halo_lrm::Lrm::open(cfg).unwrap();
    for i in 0..6 {
        register(&lrm, &format!("p{i}"), &spec, &[]).await;
    }
    let mut tasks = Vec::new();
    for i in 0..6 {
        let l = lrm.clone();
        tasks.push(tokio::spawn(async move {
            op(&l, &format!("p{i}"), "start").await
        }));
    }
    let mut spans = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.ok());
        spans.push((
            r.outcome.started_ms,
            r.outcome.started_ms + r.outcome.duration_ms,
        ));
    }
    // At no instant do more than two run.
    let mut most = 0;
    for &(s, _) in &spans {
        let at_once = spans.iter().filter(|&&(a, b)| a <= s && s < b).count();
        most = most.max(at_once);
    }
    assert!(most <= 2, "{most} ran at once: {spans:?}");
    assert!(most >= 1);
}
