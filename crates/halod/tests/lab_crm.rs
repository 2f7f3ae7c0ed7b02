//! The cluster resource manager on the lab: three real halods in network namespaces run
//! a heartbeat-1 `haresources` group — a virtual IP from the lab's service range (the
//! `IPaddr` shorthand, so halo's built-in `ocf:halo:IPaddr`) and Debian's real
//! `ocf:heartbeat:Dummy` as a stand-in service — and a fourth host is the client.
//!
//! What is checked: the group starts on its preferred node; the VIP answers the client
//! from that node's MAC; when that node dies (its links cut and its halod SIGKILLed at
//! once), the group moves and the VIP answers from the new node; `halo status --json`
//! (the real `halo` binary, run on the hosts) shows the DC and the resources throughout;
//! neither resource is ever active on two live nodes at once (probed every 50 ms); and
//! when the dead node's halod starts again, its probes find what it left running and
//! the cluster ends with exactly one copy of each.
//!
//! Timings are printed, never asserted (these machines are shared): the client-visible
//! outage comes from a 10 ms ping stream on the client.
//!
//! Needs root and the lab's tools (`scripts/setup`), `resource-agents` (the Dummy
//! agent), and the `halo` binary next to `halod` (`cargo build --workspace`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use halo_ipc::{Reply, Request, Status};
use halo_lab::{Halod, Lab, LabSpec, Proc};

const HALOD: &str = env!("CARGO_BIN_EXE_halod");
/// How long any condition may take to come true.
const LIMIT: Duration = Duration::from_secs(60);
const NODES: [&str; 3] = ["node1", "node2", "node3"];
const CLIENT: &str = "client";
const DUMMY_AGENT: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
/// The resource ids the importer gives the haresources line below.
const VIP_ID: &str = "IPaddr_10_213_0_100_24_eth0";
const DUMMY_ID: &str = "Dummy";

fn vip() -> String {
    halo_lab::service_ipv4(0, 0).to_string()
}

fn halo_binary() -> PathBuf {
    let p = PathBuf::from(HALOD).with_file_name("halo");
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

fn ha_cf() -> String {
    let mut s = String::from(
        "# lab_crm: the fast preset\n\
         cluster crmlab\n\
         keepalive 100ms\n\
         warntime 250ms\n\
         deadtime 500ms\n\
         initdead 3s\n\
         bcast eth0\n\
         auto_failback off\n",
    );
    for n in NODES {
        s.push_str(&format!("node {n}\n"));
    }
    s
}

fn configure(lab: &Lab, key: &str) {
    let haresources = format!(
        "# the group: a virtual IP (IPaddr shorthand) and a stand-in service\n\
         node1 {}/24/eth0 ocf:heartbeat:Dummy\n",
        vip()
    );
    for n in NODES {
        let h = lab.host(n).unwrap();
        std::fs::write(h.path("/etc/ha.d/ha.cf").unwrap(), ha_cf()).unwrap();
        let ak = h.path("/etc/ha.d/authkeys").unwrap();
        std::fs::write(&ak, format!("auth 1\n1 sha256 {key}\n")).unwrap();
        std::fs::set_permissions(&ak, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(h.path("/etc/ha.d/haresources").unwrap(), &haresources).unwrap();
    }
}

fn random_key() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A node's status over its socket (`None` while halod does not answer).
fn status(lab: &Lab, host: &str) -> Option<Status> {
    let sock = lab.host(host).ok()?.path("/run/halo/halod.sock").ok()?;
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(&halo_ipc::encode_line(&Request::Status)).ok()?;
    let mut line = Vec::new();
    BufReader::new(s).read_until(b'\n', &mut line).ok()?;
    match halo_ipc::decode_line::<Reply>(&line).ok()? {
        Reply::Status(st) => Some(*st),
        _ => None,
    }
}

/// `halo status --json`, run on `host` with the real `halo` binary.
fn halo_status_json(lab: &Lab, host: &str) -> serde_json::Value {
    let out = lab
        .output(
            host,
            &[
                halo_binary().as_os_str(),
                "status".as_ref(),
                "--json".as_ref(),
            ],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "halo status --json on {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Where `id` runs according to a `halo status --json` document.
fn json_placement(v: &serde_json::Value, id: &str) -> Option<(String, String, String, String)> {
    v["resources"].as_array()?.iter().find_map(|r| {
        (r["id"] == id).then(|| {
            (
                r["class"].as_str().unwrap_or("").to_string(),
                r["type"].as_str().unwrap_or("").to_string(),
                r["role"].as_str().unwrap_or("").to_string(),
                r["node"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}

fn placed_on(s: &Status, id: &str) -> Option<String> {
    s.resources
        .iter()
        .find(|r| r.id == id && r.role == "Started")
        .and_then(|r| r.node.as_ref().map(|n| n.to_string()))
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < LIMIT, "not reached within {LIMIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nodes whose interfaces carry the VIP.
fn vip_holders(lab: &Lab, nodes: &[&str]) -> BTreeSet<String> {
    let needle = format!("inet {}/", vip());
    nodes
        .iter()
        .filter(|n| {
            lab.output(n, &["ip", "-o", "-4", "addr", "show"])
                .map(|o| String::from_utf8_lossy(&o.stdout).contains(&needle))
                .unwrap_or(false)
        })
        .map(|n| n.to_string())
        .collect()
}

/// Nodes where the Dummy agent's state file says it runs.
fn dummy_holders(lab: &Lab, nodes: &[&str]) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|n| {
            lab.host(n)
                .and_then(|h| h.path("/run/resource-agents/Dummy-Dummy.state"))
                .is_ok_and(|p| p.exists())
        })
        .map(|n| n.to_string())
        .collect()
}

/// Whether the client reaches the VIP, and the MAC it reaches it at.
fn client_reaches_vip(lab: &Lab) -> Option<String> {
    let ok = lab
        .output(CLIENT, &["ping", "-c1", "-W1", "-q", &vip()])
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let out = lab
        .output(CLIENT, &["ip", "neigh", "show", &vip(), "dev", "eth0"])
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = text.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_string)
}

fn mac_of(node: &str) -> String {
    let n: u8 = node.trim_start_matches("node").parse().unwrap();
    halo_lab::spec::mac_string(halo_lab::spec::node_mac(0, n))
}

/// Probes every 50 ms that neither resource is active on two of `live` nodes.
struct Prober {
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<&'static str>>>,
    violations: Arc<Mutex<Vec<String>>>,
    rounds: Arc<Mutex<u64>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    fn start(lab: Arc<Lab>) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(NODES.to_vec()));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let rounds = Arc::new(Mutex::new(0));
        let (s, l, v, r) = (
            stop.clone(),
            live.clone(),
            violations.clone(),
            rounds.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let nodes = l.lock().unwrap().clone();
                let ips = vip_holders(&lab, &nodes);
                let dummies = dummy_holders(&lab, &nodes);
                if ips.len() > 1 || dummies.len() > 1 {
                    v.lock()
                        .unwrap()
                        .push(format!("VIP on {ips:?}, Dummy on {dummies:?}"));
                }
                *r.lock().unwrap() += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Prober {
            stop,
            live,
            violations,
            rounds,
            thread: Some(thread),
        }
    }

    fn set_live(&self, nodes: &[&'static str]) {
        *self.live.lock().unwrap() = nodes.to_vec();
    }

    fn finish(mut self) -> (u64, Vec<String>) {
        self.halt();
        let rounds = *self.rounds.lock().unwrap();
        (rounds, self.violations.lock().unwrap().clone())
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    /// Also on a failed assertion: the prober lets go of the lab, which tears it down.
    fn drop(&mut self) {
        self.halt();
    }
}

/// The longest gap between consecutive replies in a `ping -D` log, in ms, with the
/// replies counted.
fn longest_gap_ms(log: &str) -> (f64, usize) {
    let mut last: Option<f64> = None;
    let mut gap: f64 = 0.0;
    let mut replies = 0;
    for line in log.lines().filter(|l| l.contains("bytes from")) {
        let Some(ts) = line
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        replies += 1;
        if let Some(prev) = last {
            gap = gap.max(ts - prev);
        }
        last = Some(ts);
    }
    (gap * 1000.0, replies)
}

#[test]
fn lab_crm_haresources_group_fails_over_when_its_node_dies() {
    assert!(
        std::path::Path::new(DUMMY_AGENT).exists(),
        "{DUMMY_AGENT} is missing: install resource-agents"
    );
    let halo = halo_binary();
    let lab_arc = Arc::new(Lab::create(&LabSpec::new().hosts(3).host(CLIENT)).unwrap());
    let lab: &Lab = &lab_arc;
    configure(lab, &random_key());
    let halod = Halod::new(HALOD).env("RUST_LOG", "info");
    let t0 = Instant::now();
    let mut procs: Vec<(&str, Proc)> = NODES
        .iter()
        .map(|n| (*n, lab.start_halod(n, &halod).unwrap()))
        .collect();

    // Start-up placement: the group on its preferred node, node1 the DC (smallest name).
    for n in NODES {
        wait_for(
            &format!("{n}: DC node1, the group started on node1"),
            || {
                let s = status(lab, n)?;
                (s.dc.as_ref().map(|d| d.as_str()) == Some("node1")
                    && placed_on(&s, VIP_ID).as_deref() == Some("node1")
                    && placed_on(&s, DUMMY_ID).as_deref() == Some("node1"))
                .then_some(())
            },
        );
    }
    println!(
        "figure: start-up to the group running on node1, seen by every node: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let v = halo_status_json(lab, "node3");
    assert_eq!(v["dc"], "node1", "{v:#}");
    assert_eq!(
        json_placement(&v, VIP_ID),
        Some((
            "ocf".into(),
            "IPaddr".into(),
            "Started".into(),
            "node1".into()
        )),
        "{v:#}"
    );
    assert_eq!(
        json_placement(&v, DUMMY_ID),
        Some((
            "ocf".into(),
            "Dummy".into(),
            "Started".into(),
            "node1".into()
        )),
        "{v:#}"
    );
    assert_eq!(
        vip_holders(lab, &NODES),
        BTreeSet::from(["node1".to_string()])
    );
    assert_eq!(
        dummy_holders(lab, &NODES),
        BTreeSet::from(["node1".to_string()])
    );
    let mac = wait_for("the client reaches the VIP", || client_reaches_vip(lab));
    assert_eq!(mac, mac_of("node1"), "the VIP answers from node1");
    // The human view shows the group too.
    let text = lab
        .output("node2", &[halo.as_os_str(), "status".as_ref()])
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Dummy", "ocf:heartbeat:Dummy", "Started", "node1"]),
        "{text}"
    );

    // node1 dies: its links are cut and its halod is killed at once.
    let prober = Prober::start(lab_arc.clone());
    let pinger = lab
        .spawn_args(CLIENT, &["ping", "-D", "-n", "-i", "0.01", &vip()])
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let cut_at = Instant::now();
    prober.set_live(&["node2", "node3"]);
    lab.cut("node1").unwrap();
    let (_, p1) = procs.remove(0);
    lab.kill(&p1).unwrap();
    let new_home = wait_for("the VIP answers from node2 or node3", || {
        let mac = client_reaches_vip(lab)?;
        ["node2", "node3"].into_iter().find(|n| mac_of(n) == mac)
    });
    let answered = cut_at.elapsed();
    for n in ["node2", "node3"] {
        wait_for(&format!("{n}: DC node2, the group on {new_home}"), || {
            let s = status(lab, n)?;
            (s.dc.as_ref().map(|d| d.as_str()) == Some("node2")
                && placed_on(&s, VIP_ID).as_deref() == Some(new_home)
                && placed_on(&s, DUMMY_ID).as_deref() == Some(new_home))
            .then_some(())
        });
    }
    let v = halo_status_json(lab, "node3");
    assert_eq!(v["dc"], "node2", "{v:#}");
    assert_eq!(
        json_placement(&v, VIP_ID).map(|p| (p.2, p.3)),
        Some(("Started".into(), new_home.to_string())),
        "{v:#}"
    );
    assert_eq!(
        vip_holders(lab, &["node2", "node3"]),
        BTreeSet::from([new_home.to_string()])
    );
    std::thread::sleep(Duration::from_millis(500));
    lab.stop(&pinger, Duration::from_secs(2)).ok();
    let (gap_ms, replies) = longest_gap_ms(&pinger.log_text());
    println!(
        "figure: node death (cut + SIGKILL at 100/500 ms), client-visible outage in a 10 ms \
         ping stream: {gap_ms:.0} ms ({replies} replies); the test's own 1 s-timeout ping \
         poll saw the VIP answer from {new_home} after {:.0} ms",
        answered.as_secs_f64() * 1000.0
    );

    // node1 comes back: its halod probes what it left running (the VIP and the Dummy
    // are still there, nobody stopped them) and the cluster keeps exactly one of each.
    lab.heal_all().unwrap();
    let back_at = Instant::now();
    prober.set_live(&[]);
    procs.insert(0, ("node1", lab.start_halod("node1", &halod).unwrap()));
    wait_for("node1 rejoined and exactly one copy of each runs", || {
        let s = status(lab, "node1")?;
        let members = s.membership.members.len();
        let ips = vip_holders(lab, &NODES);
        let dummies = dummy_holders(lab, &NODES);
        (members == 3 && s.crm.as_ref()?.synced && ips.len() == 1 && ips == dummies).then_some(())
    });
    let holder = vip_holders(lab, &NODES).into_iter().next().unwrap();
    for n in NODES {
        wait_for(&format!("{n}: the group on {holder}"), || {
            let s = status(lab, n)?;
            (placed_on(&s, VIP_ID).as_deref() == Some(holder.as_str())
                && placed_on(&s, DUMMY_ID).as_deref() == Some(holder.as_str()))
            .then_some(())
        });
    }
    println!(
        "figure: node1's restart to one copy of each, on {holder}: {:.2} s",
        back_at.elapsed().as_secs_f64()
    );
    let (rounds, violations) = prober.finish();
    assert!(rounds > 5, "the prober ran {rounds} rounds");
    assert!(
        violations.is_empty(),
        "a resource was active on two live nodes: {violations:?}"
    );
    for (_, p) in procs {
        lab.stop(&p, Duration::from_secs(30)).ok();
    }
}

const GROUP_ID: &str = "group_IPaddr_10_213_0_100_24_eth0";

/// `halo ARGS…` on `host`: (exit code, stdout, stderr).
fn halo(lab: &Lab, host: &str, args: &[&str]) -> (i32, String, String) {
    let halo = halo_binary();
    let mut argv: Vec<&std::ffi::OsStr> = vec![halo.as_os_str()];
    argv.extend(args.iter().map(std::ffi::OsStr::new));
    let out = lab.output(host, &argv).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `halo ARGS…` that must succeed; its stdout.
fn halo_ok(lab: &Lab, host: &str, args: &[&str]) -> String {
    let (code, out, err) = halo(lab, host, args);
    assert_eq!(code, 0, "halo {args:?} on {host}: {out}{err}");
    out
}

/// Waits until every node sees the group (both members) started on `node`.
fn wait_group_on(lab: &Lab, node: &str) {
    for n in NODES {
        wait_for(&format!("{n}: the group on {node}"), || {
            let s = status(lab, n)?;
            (placed_on(&s, VIP_ID).as_deref() == Some(node)
                && placed_on(&s, DUMMY_ID).as_deref() == Some(node)
                && s.crm.as_ref()?.synced)
                .then_some(())
        });
    }
    assert_eq!(vip_holders(lab, &NODES), BTreeSet::from([node.to_string()]));
    assert_eq!(
        dummy_holders(lab, &NODES),
        BTreeSet::from([node.to_string()])
    );
}

#[test]
fn lab_crm_administration_commands_move_stop_standby_takeover_and_refuse_with_reasons() {
    let lab = Lab::create(&LabSpec::new().hosts(3)).unwrap();
    configure(&lab, &random_key());
    let halod = Halod::new(HALOD).env("RUST_LOG", "info");
    let procs: Vec<Proc> = NODES
        .iter()
        .map(|n| lab.start_halod(n, &halod).unwrap())
        .collect();
    wait_group_on(&lab, "node1");
    // The DC (node1) announces transitions and records every result.
    let watch = lab
        .spawn_args(
            "node1",
            &[halo_binary().to_str().unwrap(), "watch", "--json"],
        )
        .unwrap();

    // Move and unmove (asked on another node than the DC: forwarded to it).
    let out = halo_ok(&lab, "node2", &["resource", "move", GROUP_ID, "node3"]);
    assert!(out.contains("move") && out.contains("node3"), "{out}");
    wait_group_on(&lab, "node3");
    halo_ok(&lab, "node2", &["resource", "unmove", GROUP_ID]);
    // auto_failback off: the group stays where it is.
    std::thread::sleep(Duration::from_secs(1));
    wait_group_on(&lab, "node3");

    // hb_standby on node3 sends its groups away; hb_takeover on node1 brings them.
    halo_ok(&lab, "node3", &["hb_standby"]);
    wait_for("the group left node3", || {
        let s = status(&lab, "node1")?;
        let on = placed_on(&s, DUMMY_ID)?;
        (on != "node3" && placed_on(&s, VIP_ID)? == on).then_some(())
    });
    halo_ok(&lab, "node1", &["takeover", "all"]);
    wait_group_on(&lab, "node1");
    // Takeover and standby are constraints until unmoved.
    let xml = halo_ok(&lab, "node3", &["configure", "show"]);
    assert!(xml.contains(&format!("cli-prefer-{GROUP_ID}")), "{xml}");
    halo_ok(&lab, "node3", &["resource", "unmove", GROUP_ID]);

    // Node standby and online: the group leaves node1 and, sticky, stays away.
    halo_ok(&lab, "node2", &["node", "standby", "node1"]);
    let home = wait_for("the group left node1", || {
        let s = status(&lab, "node2")?;
        let on = placed_on(&s, DUMMY_ID)?;
        (on != "node1" && placed_on(&s, VIP_ID)? == on).then_some(on)
    });
    wait_group_on(&lab, &home);
    halo_ok(&lab, "node2", &["node", "online", "node1"]);
    std::thread::sleep(Duration::from_secs(1));
    wait_group_on(&lab, &home);
    let v = halo_status_json(&lab, "node2");
    assert_eq!(json_placement(&v, DUMMY_ID).unwrap().3, home, "{v:#}");

    // Stop and start one member; the status shows it disabled meanwhile.
    halo_ok(&lab, "node1", &["resource", "stop", DUMMY_ID]);
    wait_for("Dummy stopped everywhere", || {
        let s = status(&lab, "node1")?;
        let stopped = s
            .resources
            .iter()
            .any(|r| r.id == DUMMY_ID && r.role == "Stopped");
        (stopped && dummy_holders(&lab, &NODES).is_empty()).then_some(())
    });
    let text = halo_ok(&lab, "node3", &["status"]);
    assert!(
        text.lines()
            .any(|l| l.contains(DUMMY_ID) && l.contains("Stopped (disabled)")),
        "{text}"
    );
    halo_ok(&lab, "node1", &["resource", "start", DUMMY_ID]);
    wait_group_on(&lab, &home);

    // Cleanup: the service vanished behind the cluster's back; a cleanup re-probes it
    // and the cluster starts it again.
    let state = lab
        .host(&home)
        .unwrap()
        .path("/run/resource-agents/Dummy-Dummy.state")
        .unwrap();
    std::fs::remove_file(&state).unwrap();
    halo_ok(&lab, "node2", &["resource", "cleanup", DUMMY_ID]);
    wait_for("Dummy started again after the cleanup", || {
        state.exists().then_some(())
    });

    // Refusals: the reason on stderr, exit status 1, nothing committed.
    let before = halo_ok(&lab, "node1", &["configure", "show", "--json"]);
    let (code, _, err) = halo(&lab, "node1", &["resource", "move", "nosuch", "node2"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no resource 'nosuch'"), "{err}");
    let (code, _, err) = halo(&lab, "node2", &["resource", "move", GROUP_ID, "node9"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("node9"), "{err}");
    let bad = lab
        .host("node1")
        .unwrap()
        .path("/etc/ha.d/remote.xml")
        .unwrap();
    std::fs::write(
        &bad,
        r#"<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0">
  <configuration><crm_config/><nodes/>
    <resources><primitive id="r1" class="ocf" provider="pacemaker" type="remote"/></resources>
    <constraints/></configuration></cib>"#,
    )
    .unwrap();
    let (code, _, err) = halo(
        &lab,
        "node1",
        &["configure", "load", "/etc/ha.d/remote.xml"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refuses") && err.contains("remote"), "{err}");
    let after = halo_ok(&lab, "node1", &["configure", "show", "--json"]);
    let version =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["version"].clone();
    let epoch = |v: serde_json::Value| v.as_str().unwrap().split('.').nth(1).unwrap().to_string();
    assert_eq!(epoch(version(&before)), epoch(version(&after)));
    let xml = halo_ok(&lab, "node3", &["configure", "show"]);
    assert!(xml.contains(&format!(r#"<group id="{GROUP_ID}""#)), "{xml}");

    // The LRM history through the daemon, and the events `halo watch` streamed.
    let hist = halo_ok(&lab, &home, &["lrm", "history", "--json"]);
    let hist: serde_json::Value = serde_json::from_str(&hist).unwrap();
    assert!(
        hist.as_array()
            .unwrap()
            .iter()
            .any(|h| h["resource"]["id"] == DUMMY_ID),
        "{hist:#}"
    );
    lab.stop(&watch, Duration::from_secs(2)).ok();
    let events = watch.log_text();
    for kind in ["transition_started", "transition_complete", "action", "crm"] {
        assert!(
            events.contains(&format!("\"event\":\"{kind}\"")),
            "no {kind} event in:\n{events}"
        );
    }
    for p in procs {
        lab.stop(&p, Duration::from_secs(30)).ok();
    }
}
