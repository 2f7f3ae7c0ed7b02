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

mod crm_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_common::*;
use halo_lab::{Halod, Lab, LabSpec, Proc};

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const CLIENT: &str = "client";
/// The resource ids the importer gives the haresources line below.
const VIP_ID: &str = "IPaddr_10_213_0_100_24_eth0";
const DUMMY_ID: &str = "Dummy";

fn vip() -> String {
    vip_n(0)
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
    write_config(lab, &NODES, &ha_cf(), Some(&haresources), key);
}

/// Nodes whose interfaces carry the VIP.
fn vip_holders(lab: &Lab, nodes: &[&str]) -> BTreeSet<String> {
    ip_holders(lab, nodes, &vip())
}

/// Nodes where the Dummy agent's state file says it runs.
fn dummy_holders(lab: &Lab, nodes: &[&str]) -> BTreeSet<String> {
    file_holders(lab, nodes, &dummy_state(DUMMY_ID))
}

/// Whether the client reaches the VIP, and the MAC it reaches it at.
fn client_reaches_vip(lab: &Lab) -> Option<String> {
    client_reaches(lab, CLIENT, &vip())
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
    let prober = Prober::start(
        lab_arc.clone(),
        &NODES,
        vec![Probe::Ip(vip()), Probe::File(dummy_state(DUMMY_ID))],
    );
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
    prober.finish();
    for (_, p) in procs {
        lab.stop(&p, Duration::from_secs(30)).ok();
    }
}

const GROUP_ID: &str = "group_IPaddr_10_213_0_100_24_eth0";

/// Waits until every node sees the group (both members) started on `node`.
fn wait_group_on(lab: &Lab, node: &str) {
    wait_placed(lab, &NODES, &[VIP_ID, DUMMY_ID], node);
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
