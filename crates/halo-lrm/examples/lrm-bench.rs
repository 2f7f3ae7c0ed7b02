//! Benchmarks of the LRM. Reports figures; asserts nothing.
//!
//! ```text
//! cargo run --release -p halo-lrm --example lrm-bench -- overhead [RUNS]
//! cargo run --release -p halo-lrm --example lrm-bench -- monitors [RESOURCES] [INTERVAL_MS] [SECONDS]
//! ```
//!
//! `overhead`: one trivial OCF agent (`#!/bin/sh` + `exit 0`) run RUNS times three ways:
//! spawned directly (fork/exec/wait, the floor), through `perform()` (the ad-hoc path of
//! `halo agent run`), and through `Lrm::execute` (queueing, history written and
//! fsynced). It also prints the agent's path so it can be timed by hand with hyperfine.
//!
//! `monitors`: RESOURCES resources each with a recurring monitor every INTERVAL_MS, for
//! SECONDS (after a warm-up of one interval). Jitter of a run is its start minus the
//! ideal start (previous start + previous duration + interval: monitors are re-armed
//! after completion, as in Pacemaker). CPU is this process's (the LRM's) and its
//! children's (the agents'), from getrusage, as a share of one core.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use halo_lrm::exec::CancelSignal;
use halo_lrm::{AgentSpec, Agents, Lrm, LrmConfig, LrmEvent, OpRequest, ResourceDef};
use nix::sys::resource::{UsageWho, getrusage};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<f64>, unit: &str) {
    v.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<34} n={:<6} median {:>9.3} {unit}  p90 {:>9.3}  p99 {:>9.3}  min {:>9.3}  max {:>9.3}",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.9),
        percentile(&v, 0.99),
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    );
}

fn setup(dir: &Path) -> LrmConfig {
    let prov = dir.join("ocf/resource.d/bench");
    std::fs::create_dir_all(&prov).unwrap();
    let agent = prov.join("trivial");
    std::fs::write(
        &agent,
        "#!/bin/sh\ncase \"$1\" in meta-data) echo '<resource-agent name=\"trivial\"><actions><action name=\"monitor\" timeout=\"20s\"/></actions></resource-agent>';; esac\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = LrmConfig::new("bench", dir.join("state"));
    cfg.agents.ocf_roots = vec![dir.join("ocf")];
    cfg.rsc_tmp_dir = None;
    cfg
}

fn spec() -> AgentSpec {
    AgentSpec::ocf("bench", "trivial")
}

fn cpu_secs(who: UsageWho) -> f64 {
    let u = getrusage(who).unwrap();
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

async fn overhead(runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path());
    let agent_path = dir.path().join("ocf/resource.d/bench/trivial");
    println!(
        "agent: {} (OCF_ROOT={})",
        agent_path.display(),
        dir.path().join("ocf").display()
    );
    println!(
        "by hand: hyperfine -N --warmup 50 --runs {runs} '{} monitor'",
        agent_path.display()
    );

    // 1. The floor: fork/exec/wait from this process.
    let mut direct = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let st = tokio::process::Command::new(&agent_path)
            .arg("monitor")
            .env("OCF_ROOT", dir.path().join("ocf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .await
            .unwrap();
        assert!(st.status.success());
        direct.push(t.elapsed().as_secs_f64() * 1e3);
    }
    summary("direct spawn (tokio, pipes)", direct, "ms");

    // 2. perform(): the ad-hoc path (meta-data cached after the first call).
    let agents = Agents::new(cfg.agents.clone());
    let def = ResourceDef {
        id: "r".into(),
        agent: spec(),
        params: Default::default(),
        meta: Default::default(),
    };
    let mut adhoc = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = halo_lrm::lrm::perform(
            &agents,
            &def,
            &OpRequest::new("r", "monitor", 0),
            0,
            Duration::from_secs(20),
            CancelSignal::never(),
        )
        .await
        .unwrap();
        assert!(r.ok());
        adhoc.push(t.elapsed().as_secs_f64() * 1e3);
    }
    summary("perform() (halo agent run)", adhoc, "ms");

    // 3. Lrm::execute: queue, run, record + fsync, broadcast.
    let lrm = Lrm::open(cfg).unwrap();
    lrm.register(def).await.unwrap();
    let mut full = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut req = OpRequest::new("r", "monitor", 0);
        req.expected_rc = Some(0);
        let r = lrm.execute(req).await.unwrap();
        assert!(r.ok());
        full.push(t.elapsed().as_secs_f64() * 1e3);
    }
    summary("Lrm::execute (recorded, fsync)", full, "ms");
}

async fn monitors(n: usize, interval_ms: u64, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = setup(dir.path());
    cfg.still_running_every = Duration::ZERO; // report every run, for timing
    let parallel = cfg.max_parallel;
    let lrm = Lrm::open(cfg).unwrap();
    for i in 0..n {
        lrm.register(ResourceDef {
            id: format!("r{i}"),
            agent: spec(),
            params: Default::default(),
            meta: Default::default(),
        })
        .await
        .unwrap();
    }
    let mut rx = lrm.subscribe();
    let t_start = Instant::now();
    for i in 0..n {
        let mut req = OpRequest::new(&format!("r{i}"), "monitor", interval_ms);
        req.timeout_ms = Some(20_000);
        req.expected_rc = Some(0);
        lrm.start_recurring(req).await.unwrap();
    }
    println!(
        "{n} resources, monitor every {interval_ms} ms, max_parallel {parallel}, {seconds} s measured after {interval_ms} ms warm-up"
    );
    // Warm-up: one interval.
    let warm_until = t_start + Duration::from_millis(interval_ms.max(1000));
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    let mut jitter = Vec::new();
    let mut runs = 0u64;
    let mut lagged = 0u64;
    let mut measuring = false;
    let (mut self0, mut child0, mut t0) = (0.0, 0.0, Instant::now());
    let end = warm_until + Duration::from_secs(seconds);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if !measuring && now >= warm_until {
            measuring = true;
            self0 = cpu_secs(UsageWho::RUSAGE_SELF);
            child0 = cpu_secs(UsageWho::RUSAGE_CHILDREN);
            t0 = now;
        }
        let ev = match tokio::time::timeout(end - now, rx.recv()).await {
            Err(_) => break,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(k))) => {
                lagged += k;
                continue;
            }
            Ok(Err(_)) => break,
            Ok(Ok(ev)) => ev,
        };
        let (rsc, started, dur) = match ev {
            LrmEvent::Completed { result } => (
                result.resource.clone(),
                result.outcome.started_ms,
                result.outcome.duration_ms,
            ),
            LrmEvent::StillRunning {
                resource,
                started_ms,
                duration_ms,
                ..
            } => (resource, started_ms, duration_ms),
        };
        if let Some((ps, pd)) = last.insert(rsc, (started, dur))
            && measuring
        {
            runs += 1;
            let ideal = ps + pd + interval_ms;
            jitter.push(started as f64 - ideal as f64);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let lrm_cpu = cpu_secs(UsageWho::RUSAGE_SELF) - self0;
    let agents_cpu = cpu_secs(UsageWho::RUSAGE_CHILDREN) - child0;
    println!(
        "monitor runs: {runs} in {wall:.1} s = {:.0}/s (ideal {:.0}/s); events lost to lag: {lagged}",
        runs as f64 / wall,
        n as f64 * 1000.0 / interval_ms as f64
    );
    summary("jitter (start - ideal start)", jitter, "ms");
    println!(
        "CPU: LRM process {:.1}% of one core, agents (children) {:.1}% of one core",
        100.0 * lrm_cpu / wall,
        100.0 * agents_cpu / wall
    );
    lrm.shutdown().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.first().map(String::as_str) {
        Some("overhead") => rt.block_on(overhead(num(1, 500) as usize)),
        Some("monitors") => rt.block_on(monitors(num(1, 1000) as usize, num(2, 1000), num(3, 60))),
        _ => {
            eprintln!(
                "usage: lrm-bench overhead [RUNS] | monitors [RESOURCES] [INTERVAL_MS] [SECONDS]"
            );
            std::process::exit(2);
        }
    }
}
