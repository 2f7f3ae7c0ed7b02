//! Failover on the lab, end to end: real halods in network namespaces, real agents
//! (halo's built-in `ocf:halo:IPaddr`, Debian's `ocf:heartbeat:Dummy` and
//! `ocf:heartbeat:Filesystem` on a loop device, heartbeat-1 and LSB scripts written
//! here), the real `halo` command run on the hosts, a client host that pings and fetches
//! from the virtual addresses.
//!
//! | test | what it proves |
//! | --- | --- |
//! | `…cib_xml_placement_monitor_failures_cleanup_standby` | a Pacemaker-style CIB loaded with `halo configure load` places its group on the preferred node; a failed monitor restarts the service in place; a second failure reaches `migration-threshold` and moves the group; `halo status` shows failed actions and fail counts; `halo resource cleanup` clears them (the group returns); node standby/online |
//! | `…sigkill_of_halod_alone_on_the_dc…`, `…on_another_node…` | halod SIGKILLed on the active node (the DC, or not), links up: the group moves and the VIP answers from the new node; what the killed node keeps (no fencing yet) is printed; its restarted halod finds its leftovers and the cluster ends with one copy |
//! | `…cut_off_alive…_auto_failback_off` | the active node cut off, alive: it stops its resources (the lease), the quorate side serves the VIP, never both (probed inside every node, the cut one too); healed: one copy, the group stays (`auto_failback off`) |
//! | `…cut_off_alive…_auto_failback_on` | the same with `auto_failback on`: healed, the group returns to its preferred node |
//! | `…cib_update_during_a_partition…` | 2|1 on 3 nodes: a change on the quorate side is acknowledged, the inquorate side refuses changes; after healing the quorate side's (higher) version wins on every node, the DC included, and the change is kept |
//! | `…hung_monitor_times_out_and_a_failed_stop_blocks…` | an LSB service whose status hangs: the monitor times out (status "timed out"), the script and its children are killed, the service is recovered in place; a stop that fails (no fencing) blocks the resource where it is — nothing of its group starts elsewhere — until it can stop and a cleanup lets the move happen |
//! | `…short_cuts_of_the_active_node_around_the_lease_and_the_deadtime` | cuts of 0.9–2.5 s, shorter and longer than the lease's limit and the deadtime, then healed: never on two nodes, always one copy at the end, the client reaches it |
//! | `…prober_catches_a_resource_on_two_nodes_and_not_a_move` | the probe the others rely on fails when an address or a file is on two nodes at once, and does not count a move |
//! | `…heartbeat1_seed_examples_active_active` | the seeds' `haresources` lines (an address and httpd; an address, `Filesystem::…` and mysql) as two groups preferring different nodes of a two-node cluster: each runs on its node, a crash puts both on the survivor, the returning node takes its group back (heartbeat's default `auto_failback legacy`), the database's data moves with its disk |
//!
//! Every test probes every 50 ms, from inside each live node's namespaces (`ip addr`,
//! the agents' state files, processes, mounts), that no resource is active on two nodes
//! at once (caught on both at the same moment: see `crm_common::Probe`). Timings are
//! printed, never asserted.
//!
//! Needs root and the lab's tools (`scripts/setup`), `resource-agents`, `/usr/bin/python3`
//! (the seeds' web server and database serve with its `http.server`), `mkfs.ext3` and
//! `losetup`, and the `halo` binary next to `halod`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crm_common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_common::*;
use halo_lab::{Halod, Lab, LabSpec, Proc};
use nix::sys::signal::Signal;

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const CLIENT: &str = "client";
/// The ids the importer gives `node1 VIP/24/eth0 ocf:heartbeat:Dummy`.
const VIP_ID: &str = "IPaddr_10_213_0_100_24_eth0";
const DUMMY_ID: &str = "Dummy";
const GROUP_ID: &str = "group_IPaddr_10_213_0_100_24_eth0";

fn vip() -> String {
    vip_n(0)
}

fn set(nodes: &[&str]) -> BTreeSet<String> {
    nodes.iter().map(|n| n.to_string()).collect()
}

/// `ha.cf` for the three-node tests: a moderate preset (these machines are shared and
/// the tests run in parallel), bcast on the first bridge.
fn ha_cf(auto_failback: &str) -> String {
    let mut s = format!(
        "# lab_failover\n\
         cluster failover\n\
         keepalive 200ms\n\
         warntime 600ms\n\
         deadtime 1500ms\n\
         initdead 5s\n\
         bcast eth0\n\
         auto_failback {auto_failback}\n"
    );
    for n in NODES {
        s.push_str(&format!("node {n}\n"));
    }
    s
}

/// The group: a virtual IP (IPaddr shorthand) and a stand-in service, preferring
/// `node`.
fn haresources(node: &str) -> String {
    format!(
        "# a virtual IP (IPaddr shorthand) and a stand-in service\n\
         {node} {}/24/eth0 ocf:heartbeat:Dummy\n",
        vip()
    )
}

fn halod() -> Halod {
    Halod::new(HALOD).env("RUST_LOG", "info")
}

fn start_all(lab: &Lab, nodes: &[&str]) -> Vec<Proc> {
    nodes
        .iter()
        .map(|n| lab.start_halod(n, &halod()).unwrap())
        .collect()
}

fn stop_all(lab: &Lab, procs: Vec<Proc>) {
    for p in procs {
        lab.stop(&p, Duration::from_secs(30)).ok();
    }
}

/// The group's two members, as the prober sees them.
fn group_probes() -> Vec<Probe> {
    vec![Probe::Ip(vip()), Probe::File(dummy_state(DUMMY_ID))]
}

/// A 3-node lab with a client, the haresources group preferring `home` configured,
/// halod started on every node and the group running on `home`.
fn haresources_lab(auto_failback: &str, home: &str) -> (Arc<Lab>, Vec<Proc>) {
    assert!(
        std::path::Path::new(DUMMY_AGENT).exists(),
        "{DUMMY_AGENT} is missing: install resource-agents"
    );
    halo_binary();
    let lab = Arc::new(Lab::create(&LabSpec::new().hosts(3).host(CLIENT)).unwrap());
    write_config(
        &lab,
        &NODES,
        &ha_cf(auto_failback),
        Some(&haresources(home)),
        &random_key(),
    );
    let t0 = Instant::now();
    let procs = start_all(&lab, &NODES);
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], home);
    println!(
        "figure: start-up to the group on {home}, seen by every node: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    (lab, procs)
}

/// Waits until the client reaches the VIP at one of `nodes`' MACs; that node.
fn client_vip_on<'a>(lab: &Lab, nodes: &[&'a str]) -> &'a str {
    wait_for(
        &format!("the client reaches the VIP on one of {nodes:?}"),
        || client_sees_on(lab, CLIENT, &vip(), nodes),
    )
}

/// Starts a 10 ms ping stream from the client to the VIP.
fn ping_stream(lab: &Lab) -> Proc {
    lab.spawn_args(CLIENT, &["ping", "-D", "-n", "-i", "0.01", &vip()])
        .unwrap()
}

fn print_gap(lab: &Lab, pinger: &Proc, what: &str) {
    lab.stop(pinger, Duration::from_secs(2)).ok();
    let (gap_ms, replies) = longest_gap_ms(&pinger.log_text());
    println!(
        "figure: {what}: client-visible outage in a 10 ms ping stream {gap_ms:.0} ms \
         ({replies} replies)"
    );
}

// ─── 1, 4, 5: a CIB loaded as XML, monitor failures, cleanup, standby ────────────────

const CIB_GROUP: &str = "web";
const CIB_IP: &str = "web-ip";
const CIB_SVC: &str = "web-svc";

/// A Pacemaker-style CIB with these resources and constraints, no fencing (there is
/// none yet) and `no-quorum-policy=stop`.
fn cib(resources: &str, constraints: &str) -> String {
    format!(
        r#"<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-fencing" name="fencing-enabled" value="false"/>
        <nvpair id="opt-nqp" name="no-quorum-policy" value="stop"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
{resources}
    </resources>
    <constraints>
{constraints}
    </constraints>
  </configuration>
  <status/>
</cib>
"#
    )
}

/// A group of an address and a monitored Dummy, preferring node2, moved away after two
/// failures.
fn web_cib() -> String {
    cib(
        &format!(
            r#"      <group id="{CIB_GROUP}">
        <meta_attributes id="web-meta">
          <nvpair id="web-meta-mt" name="migration-threshold" value="2"/>
        </meta_attributes>
        <primitive id="{CIB_IP}" class="ocf" provider="halo" type="IPaddr">
          <instance_attributes id="web-ip-params">
            <nvpair id="web-ip-ip" name="ip" value="{ip}"/>
            <nvpair id="web-ip-cidr" name="cidr_netmask" value="24"/>
            <nvpair id="web-ip-nic" name="nic" value="eth0"/>
          </instance_attributes>
        </primitive>
        <primitive id="{CIB_SVC}" class="ocf" provider="heartbeat" type="Dummy">
          <operations>
            <op id="web-svc-monitor" name="monitor" interval="1s" timeout="20s"/>
          </operations>
        </primitive>
      </group>"#,
            ip = vip()
        ),
        &format!(
            r#"      <rsc_location id="web-prefers-node2" rsc="{CIB_GROUP}" node="node2" score="100"/>"#
        ),
    )
}

fn fail_count(lab: &Lab, node: &str, rsc: &str, on: &str) -> Option<i64> {
    let s = status(lab, node)?;
    Some(
        s.fail_counts
            .iter()
            .filter(|f| f.resource == rsc && f.node.as_str() == on)
            .map(|f| f.count)
            .sum(),
    )
}

/// Waits until every node sees the web group on `on`, and only `on` holds it.
fn wait_web_on(lab: &Lab, on: &str) {
    wait_placed(lab, &NODES, &[CIB_IP, CIB_SVC], on);
    wait_for(&format!("only {on} holds the web group"), || {
        (ip_holders(lab, &NODES, &vip()) == set(&[on])
            && file_holders(lab, &NODES, &dummy_state(CIB_SVC)) == set(&[on]))
        .then_some(())
    });
}

/// Removes the Dummy's state file on `node` (its monitor then reports "not running").
fn break_svc(lab: &Lab, node: &str) {
    let p = lab.host(node).unwrap().path(dummy_state(CIB_SVC)).unwrap();
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn lab_failover_cib_xml_placement_monitor_failures_cleanup_standby() {
    assert!(std::path::Path::new(DUMMY_AGENT).exists());
    halo_binary();
    let lab = Arc::new(Lab::create(&LabSpec::new().hosts(3).host(CLIENT)).unwrap());
    write_config(&lab, &NODES, &ha_cf("on"), None, &random_key());
    let procs = start_all(&lab, &NODES);
    for n in NODES {
        wait_for(&format!("{n}: 3 members, DC node1, CIB in sync"), || {
            let s = status(&lab, n)?;
            (s.membership.members.len() == 3
                && s.dc.as_ref().map(|d| d.as_str()) == Some("node1")
                && s.crm.as_ref()?.synced)
                .then_some(())
        });
    }
    let prober = Prober::start(
        lab.clone(),
        &NODES,
        vec![Probe::Ip(vip()), Probe::File(dummy_state(CIB_SVC))],
    );

    // 1. Start-up placement from a CIB loaded as XML (asked on node3, not the DC).
    let file = lab
        .host("node3")
        .unwrap()
        .path("/etc/ha.d/web.xml")
        .unwrap();
    std::fs::write(&file, web_cib()).unwrap();
    let t0 = Instant::now();
    let out = halo_ok(&lab, "node3", &["configure", "load", "/etc/ha.d/web.xml"]);
    println!("configure load: {}", out.trim());
    wait_web_on(&lab, "node2");
    println!(
        "figure: configure load to the group on node2: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let v = halo_status_json(&lab, "node1");
    assert_eq!(
        json_placement(&v, CIB_IP),
        Some((
            "ocf".into(),
            "IPaddr".into(),
            "Started".into(),
            "node2".into()
        )),
        "{v:#}"
    );
    assert_eq!(
        json_placement(&v, CIB_SVC),
        Some((
            "ocf".into(),
            "Dummy".into(),
            "Started".into(),
            "node2".into()
        )),
        "{v:#}"
    );
    assert_eq!(client_vip_on(&lab, &NODES), "node2");

    // 4a. The service fails on node2: its monitor notices, the cluster restarts it there.
    let t0 = Instant::now();
    break_svc(&lab, "node2");
    wait_for("web-svc's fail count on node2 is 1", || {
        (fail_count(&lab, "node1", CIB_SVC, "node2")? == 1).then_some(())
    });
    wait_web_on(&lab, "node2");
    println!(
        "figure: monitor failure to the service restarted in place: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let text = halo_ok(&lab, "node3", &["status"]);
    assert!(text.contains("Failed resource actions:"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("{CIB_SVC}_monitor_1000 on node2"))),
        "{text}"
    );
    assert!(text.contains("Fail counts:"), "{text}");
    assert!(
        text.lines().any(|l| l
            .trim_start()
            .starts_with(&format!("{CIB_SVC} on node2: 1"))),
        "{text}"
    );

    // 4b. A second failure reaches migration-threshold (2): the group moves away.
    let t0 = Instant::now();
    break_svc(&lab, "node2");
    let home = wait_for("the web group left node2", || {
        let s = status(&lab, "node1")?;
        let on = placed_on(&s, CIB_SVC)?;
        (on != "node2" && placed_on(&s, CIB_IP)? == on).then_some(on)
    });
    wait_web_on(&lab, &home);
    println!(
        "figure: second monitor failure to the group running on {home}: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(fail_count(&lab, "node3", CIB_SVC, "node2"), Some(2));
    let v = halo_status_json(&lab, "node2");
    assert!(
        v["fail_counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resource"] == CIB_SVC && f["node"] == "node2" && f["count"] == 2),
        "{v:#}"
    );
    assert!(
        v["failed_actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resource"] == CIB_SVC && f["node"] == "node2"),
        "{v:#}"
    );
    assert_eq!(
        client_vip_on(&lab, &NODES),
        home,
        "the VIP answers from the new node"
    );

    // 4c. Cleanup forgets the failures; nothing holds the group away from node2 now.
    halo_ok(&lab, "node1", &["resource", "cleanup", CIB_SVC]);
    wait_for("the fail counts and failed actions are gone", || {
        let s = status(&lab, "node3")?;
        (s.fail_counts.iter().all(|f| f.resource != CIB_SVC)
            && s.failed_actions.iter().all(|f| f.resource != CIB_SVC))
        .then_some(())
    });
    wait_web_on(&lab, "node2");
    let text = halo_ok(&lab, "node1", &["status"]);
    assert!(!text.contains("Fail counts:"), "{text}");

    // 5. Node standby sends the group away; online brings it back (stickiness 0).
    halo_ok(&lab, "node1", &["node", "standby", "node2"]);
    let away = wait_for("the web group left node2 (standby)", || {
        let s = status(&lab, "node3")?;
        let on = placed_on(&s, CIB_SVC)?;
        (on != "node2" && placed_on(&s, CIB_IP)? == on).then_some(on)
    });
    wait_web_on(&lab, &away);
    halo_ok(&lab, "node3", &["node", "online", "node2"]);
    wait_web_on(&lab, "node2");
    assert_eq!(client_vip_on(&lab, &NODES), "node2");

    // 1 again: the whole cluster stops (SIGTERM everywhere at once) and starts again;
    // the loaded configuration comes back from each node's CIB file, and the group
    // starts on node2.
    for p in &procs {
        lab.signal(p, Signal::SIGTERM).unwrap();
    }
    for p in &procs {
        lab.wait(p, Duration::from_secs(30)).unwrap();
    }
    assert!(ip_holders(&lab, &NODES, &vip()).is_empty());
    assert!(file_holders(&lab, &NODES, &dummy_state(CIB_SVC)).is_empty());
    let t0 = Instant::now();
    let procs = start_all(&lab, &NODES);
    wait_web_on(&lab, "node2");
    println!(
        "figure: cluster restart to the group on node2 (CIB from disk): {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(client_vip_on(&lab, &NODES), "node2");
    let xml = halo_ok(&lab, "node1", &["configure", "show"]);
    assert!(xml.contains("web-prefers-node2"), "{xml}");

    let rounds = prober.finish();
    println!("probed {rounds} rounds: never active on two nodes");
    stop_all(&lab, procs);
}

// ─── 2: SIGKILL of halod alone ───────────────────────────────────────────────────────

/// The group runs on `victim`, whose halod is SIGKILLed while the node and its links
/// live on; see the tests below.
fn sigkill_of_halod_alone(victim: &'static str) {
    let (lab, mut procs) = haresources_lab("off", victim);
    assert_eq!(client_vip_on(&lab, &NODES), victim);
    let others: Vec<&'static str> = NODES.iter().copied().filter(|n| *n != victim).collect();
    let i = NODES.iter().position(|n| *n == victim).unwrap();
    // The victim's halod dies; the node itself (its kernel, its links) lives on. The
    // prober watches the nodes whose halod runs.
    let prober = Prober::start(lab.clone(), &others, group_probes());
    let pinger = ping_stream(&lab);
    std::thread::sleep(Duration::from_millis(500));
    let p = procs.remove(i);
    let killed = Instant::now();
    lab.kill(&p).unwrap();
    let home = client_vip_on(&lab, &others);
    let answered = killed.elapsed();
    wait_placed(&lab, &others, &[VIP_ID, DUMMY_ID], home);
    let s = status(&lab, others[0]).unwrap();
    assert_eq!(
        s.dc.as_ref().map(|d| d.as_str()),
        Some(others[0]),
        "the smallest live name is the DC"
    );
    assert!(s.membership.quorate);
    assert_eq!(ip_holders(&lab, &others, &vip()), set(&[home]));
    std::thread::sleep(Duration::from_millis(500));
    print_gap(&lab, &pinger, "halod SIGKILLed on the active node");
    println!(
        "figure: the VIP answered from {home} {:.0} ms after the SIGKILL (1 s-timeout ping poll)",
        answered.as_secs_f64() * 1000.0
    );
    // The client stays with the new node (the gratuitous ARP won).
    for _ in 0..5 {
        assert_eq!(client_reaches(&lab, CLIENT, &vip()), Some(mac_of(home)));
    }

    // What the victim keeps: nobody stopped its resources (no fencing yet), so the
    // address is on two interfaces of the segment and the Dummy's state file is still
    // there.
    let ips = ip_holders(&lab, &NODES, &vip());
    let dummies = file_holders(&lab, &NODES, &dummy_state(DUMMY_ID));
    println!(
        "limitation (no fencing): after halod's SIGKILL on {victim} the VIP is on {ips:?} \
         and the Dummy's state file on {dummies:?}; the cluster ({others:?}) runs the \
         group on {home} only"
    );
    // A host that resolves the address afresh gets an answer from both; which one it
    // keeps is a race (printed, not asserted).
    let mut resolved = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..10 {
        lab.output(CLIENT, &["ip", "neigh", "flush", "dev", "eth0"])
            .unwrap();
        let at = client_reaches(&lab, CLIENT, &vip())
            .and_then(|mac| {
                NODES
                    .iter()
                    .find(|n| mac_of(n) == mac)
                    .map(|n| n.to_string())
            })
            .unwrap_or_else(|| "nobody".into());
        *resolved.entry(at).or_default() += 1;
    }
    println!(
        "limitation (no fencing): with its ARP cache flushed before each of 10 pings, the \
         client resolved the VIP to {resolved:?}"
    );

    // The victim's halod starts again: it probes what it left running, the DC stops
    // the extra copies, and the cluster ends with exactly one of each.
    let back = Instant::now();
    procs.insert(i, lab.start_halod(victim, &halod()).unwrap());
    let holder = wait_for(
        &format!("{victim} rejoined and one copy of each runs"),
        || {
            let s = status(&lab, victim)?;
            let ips = ip_holders(&lab, &NODES, &vip());
            let dummies = file_holders(&lab, &NODES, &dummy_state(DUMMY_ID));
            (s.membership.members.len() == 3
                && s.crm.as_ref()?.synced
                && ips.len() == 1
                && ips == dummies)
                .then(|| ips.into_iter().next().unwrap())
        },
    );
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], &holder);
    println!(
        "figure: {victim}'s halod restart to one copy of each (on {holder}): {:.2} s",
        back.elapsed().as_secs_f64()
    );
    // What the restarted node's halod found and what the DC (node1) did about it.
    for l in procs[i]
        .log_text()
        .lines()
        .filter(|l| l.contains("probe after start"))
    {
        println!("{victim} after its restart: {l}");
    }
    let dc_log = procs[0].log_text();
    let transitions: Vec<&str> = dc_log
        .lines()
        .filter(|l| l.contains("crm: transition") && l.contains("actions"))
        .collect();
    println!(
        "the DC's last transition: {}",
        transitions.last().unwrap_or(&"none")
    );
    // From here on every node counts.
    prober.set_live(&NODES);
    std::thread::sleep(Duration::from_secs(2));
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], &holder);
    assert_eq!(client_vip_on(&lab, &NODES), holder);
    prober.finish();
    stop_all(&lab, procs);
}

/// The active node is the DC (node1): the survivors elect node2.
#[test]
fn lab_failover_sigkill_of_halod_alone_on_the_dc_moves_the_group_and_its_restart_ends_with_one_copy()
 {
    sigkill_of_halod_alone("node1");
}

/// The active node is not the DC (node2): the DC (node1) recovers the group.
#[test]
fn lab_failover_sigkill_of_halod_alone_on_another_node_moves_the_group_and_its_restart_ends_with_one_copy()
 {
    sigkill_of_halod_alone("node2");
}

// ─── 3, 6: the active node cut off while alive; auto_failback off and on ────────────

/// The group on `home`; `home`'s links are cut (it stays alive); checks that it stops
/// its resources and the quorate side serves the VIP, never both (every node probed,
/// the cut one included, all along); then heals and returns where the group went.
fn cut_off_alive_then_heal(
    auto_failback: &str,
    home: &'static str,
) -> (Arc<Lab>, Vec<Proc>, Prober, String) {
    let (lab, procs) = haresources_lab(auto_failback, home);
    let others: Vec<&str> = NODES.iter().copied().filter(|n| *n != home).collect();
    assert_eq!(client_vip_on(&lab, &NODES), home);
    let prober = Prober::start(lab.clone(), &NODES, group_probes());
    let pinger = ping_stream(&lab);
    std::thread::sleep(Duration::from_millis(500));
    let cut = Instant::now();
    lab.cut(home).unwrap();

    // The cut node, alone, loses its lease and stops everything.
    wait_for(
        &format!("{home} lost its lease and released the VIP and the Dummy"),
        || {
            let s = status(&lab, home)?;
            (s.crm.as_ref()?.lease_lost
                && ip_holders(&lab, &[home], &vip()).is_empty()
                && file_holders(&lab, &[home], &dummy_state(DUMMY_ID)).is_empty())
            .then_some(())
        },
    );
    let released = cut.elapsed();
    // The quorate side takes the group.
    let new_home = client_vip_on(&lab, &others);
    let served = cut.elapsed();
    wait_placed(&lab, &others, &[VIP_ID, DUMMY_ID], new_home);
    println!(
        "figure: after the cut {home} had released the VIP within {:.0} ms; the client \
         reached it on {new_home} after {:.0} ms",
        released.as_secs_f64() * 1000.0,
        served.as_secs_f64() * 1000.0
    );
    print_lease_margin(&prober, home, new_home);
    let s = status(&lab, home).unwrap();
    assert!(!s.membership.quorate, "{home} alone is not quorate: {s:?}");
    let i = NODES.iter().position(|n| *n == home).unwrap();
    assert!(
        lab.is_running(&procs[i]).unwrap(),
        "{home}'s halod is alive"
    );
    // The cut node starts nothing while cut off, however long it lasts.
    std::thread::sleep(Duration::from_secs(2));
    assert!(ip_holders(&lab, &[home], &vip()).is_empty());
    std::thread::sleep(Duration::from_millis(300));
    print_gap(&lab, &pinger, "the active node cut off while alive");

    // Heal: the node rejoins and regains its lease.
    let healed = Instant::now();
    lab.heal(home).unwrap();
    for n in NODES {
        wait_for(&format!("{n}: 3 members, CIB in sync, lease held"), || {
            let s = status(&lab, n)?;
            let crm = s.crm.as_ref()?;
            (s.membership.members.len() == 3 && crm.synced && !crm.lease_lost).then_some(())
        });
    }
    println!(
        "figure: heal to a 3-node membership in sync: {:.2} s",
        healed.elapsed().as_secs_f64()
    );
    (lab, procs, prober, new_home.to_string())
}

/// Prints how long before the new node added the VIP the cut one had deleted it, as
/// the nodes' `ip -ts monitor address` saw it (the lease's margin).
fn print_lease_margin(prober: &Prober, old: &str, new: &str) {
    let events = prober.address_events(&vip());
    let secs = |t: &str| -> Option<f64> {
        let clock = t.split('T').nth(1)?;
        let mut parts = clock.split(':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next()?.parse().ok()?;
        Some(h * 3600.0 + m * 60.0 + s)
    };
    let deleted = events
        .iter()
        .find(|(_, n, w)| n == old && *w == "deleted")
        .and_then(|e| secs(&e.0));
    let added = events
        .iter()
        .find(|(_, n, w)| n == new && *w == "added")
        .and_then(|e| secs(&e.0));
    match (deleted, added) {
        (Some(d), Some(a)) => println!(
            "figure: the lease's margin: {old} deleted the VIP {:.0} ms before {new} added it",
            (a - d) * 1000.0
        ),
        _ => println!("the VIP's changes, as the nodes saw them: {events:?}"),
    }
}

/// The active node is the DC (node1).
#[test]
fn lab_failover_active_node_cut_off_alive_releases_the_vip_and_auto_failback_off_keeps_it_away() {
    let (lab, procs, prober, home) = cut_off_alive_then_heal("off", "node1");
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], &home);
    // auto_failback off: the group stays where it went, also a while later.
    std::thread::sleep(Duration::from_secs(3));
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], &home);
    assert_eq!(ip_holders(&lab, &NODES, &vip()), set(&[home.as_str()]));
    assert_eq!(
        file_holders(&lab, &NODES, &dummy_state(DUMMY_ID)),
        set(&[home.as_str()])
    );
    assert_eq!(client_vip_on(&lab, &NODES), home);
    prober.finish();
    stop_all(&lab, procs);
}

/// The active node is not the DC (node2; node1 is the DC throughout).
#[test]
fn lab_failover_active_node_cut_off_alive_releases_the_vip_and_auto_failback_on_brings_it_back() {
    let (lab, procs, prober, _) = cut_off_alive_then_heal("on", "node2");
    // auto_failback on: the preferred node takes its group back.
    let t0 = Instant::now();
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], "node2");
    println!(
        "figure: the group back on node2 {:.2} s after the membership healed",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(ip_holders(&lab, &NODES, &vip()), set(&["node2"]));
    assert_eq!(client_vip_on(&lab, &NODES), "node2");
    println!("VIP changes seen by each node's `ip -ts monitor address`:");
    for (t, node, what) in prober.address_events(&vip()) {
        println!("  {t} {node} {what}");
    }
    let s = status(&lab, "node3").unwrap();
    assert_eq!(s.dc.as_ref().map(|d| d.as_str()), Some("node1"));
    prober.finish();
    stop_all(&lab, procs);
}

// ─── 7: a CIB update during a partition ──────────────────────────────────────────────

#[test]
fn lab_failover_cib_update_during_a_partition_quorate_side_wins_after_healing() {
    let (lab, procs) = haresources_lab("off", "node1");
    let prober = Prober::start(lab.clone(), &NODES, group_probes());
    lab.partition(&[&["node1"][..], &["node2", "node3", CLIENT][..]])
        .unwrap();
    // The quorate side (DC node2) recovers the group; node1 stops it (lease).
    let home = wait_for("node2 and node3 run the group", || {
        let s = status(&lab, "node2")?;
        let on = placed_on(&s, DUMMY_ID)?;
        (s.membership.members.len() == 2
            && s.membership.quorate
            && s.dc.as_ref().map(|d| d.as_str()) == Some("node2")
            && placed_on(&s, VIP_ID)? == on)
            .then_some(on)
    });
    wait_placed(&lab, &["node2", "node3"], &[VIP_ID, DUMMY_ID], &home);
    wait_for("node1 lost its lease", || {
        status(&lab, "node1")?.crm?.lease_lost.then_some(())
    });
    let target = if home == "node2" { "node3" } else { "node2" };
    let v1_before = cib_version(&lab, "node1");
    let vq_before = cib_version(&lab, "node2");

    // The quorate side accepts a change (asked on node3, not the DC): acknowledged.
    let out = halo_ok(&lab, "node3", &["resource", "move", GROUP_ID, target]);
    println!("quorate side: {}", out.trim());
    wait_placed(&lab, &["node2", "node3"], &[VIP_ID, DUMMY_ID], target);
    // The inquorate side refuses changes, with the reason.
    for args in [
        &["resource", "move", GROUP_ID, "node1"][..],
        &["node", "standby", "node2"][..],
        &["resource", "stop", DUMMY_ID][..],
    ] {
        let (code, out, err) = halo(&lab, "node1", args);
        assert_eq!(code, 1, "halo {args:?} on node1: {out}{err}");
        assert!(err.contains("quorum"), "halo {args:?} on node1: {err}");
    }
    let v1 = cib_version(&lab, "node1");
    let vq = cib_version(&lab, "node2");
    assert_eq!(cib_version(&lab, "node3"), vq);
    assert_eq!(
        (v1.0, v1.1),
        (v1_before.0, v1_before.1),
        "node1 committed nothing"
    );
    assert!(
        (vq.0, vq.1) > (vq_before.0, vq_before.1),
        "{vq_before:?} → {vq:?}"
    );
    println!(
        "CIB versions during the partition: node1 {v1:?} (before the change {v1_before:?}), \
         node2/node3 {vq:?} (before {vq_before:?})"
    );

    // Heal: node1 (the smallest name) becomes the DC again; the join round picks the
    // highest version, the quorate side's, and the move is kept everywhere.
    let healed = Instant::now();
    lab.heal_partition().unwrap();
    for n in NODES {
        wait_for(&format!("{n}: 3 members, DC node1, in sync"), || {
            let s = status(&lab, n)?;
            (s.membership.members.len() == 3
                && s.dc.as_ref().map(|d| d.as_str()) == Some("node1")
                && s.crm.as_ref()?.synced
                && !s.crm.as_ref()?.lease_lost)
                .then_some(())
        });
    }
    wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], target);
    println!(
        "figure: heal to one membership in sync, the group on {target}: {:.2} s",
        healed.elapsed().as_secs_f64()
    );
    let after: Vec<_> = NODES.iter().map(|n| cib_version(&lab, n)).collect();
    println!("CIB versions after the merge: {after:?}");
    for (n, v) in NODES.iter().zip(&after) {
        assert!(
            (v.0, v.1) >= (vq.0, vq.1),
            "{n} has {v:?}, older than the acknowledged {vq:?}"
        );
        let xml = halo_ok(&lab, n, &["configure", "show"]);
        assert!(
            xml.contains(&format!("cli-prefer-{GROUP_ID}")) && xml.contains(target),
            "{n} lost the acknowledged move:\n{xml}"
        );
    }
    assert_eq!(ip_holders(&lab, &NODES, &vip()), set(&[target]));
    prober.finish();
    stop_all(&lab, procs);
}

// ─── 8, 9: the seeds' heartbeat-1 examples, active/active on two nodes ──────────────

/// The seeds' `ha.cf` (the two-node Apache tutorial), with this lab's devices, the
/// timing lines of the heartbeat tutorial's ha.cf example (the first one's `deadtime
/// 10` would make each failover 10 s), and `two_node on` (halo's: the survivor of a
/// two-node cluster keeps quorum). No `auto_failback` line: heartbeat's default,
/// `legacy`, under which "when clustnode1 comes back up again, it will reclaim its
/// service".
const SEED_HA_CF: &str = "debugfile /var/log/ha-debug
logfile /var/log/ha-log
logfacility     local0
keepalive 200ms
warntime 500ms
deadtime 1s
serial  /run/halo-lab/ttyS0
udp     eth1
bcast   eth0
node    node1
node    node2
two_node on
";

/// A shell script that runs a daemon (`python3 -m http.server PORT` in `dir`) with a
/// pid file: `start` runs `prepare` first, `stop` kills it, `status` prints
/// `running`/`stopped` as `status_rc` says (LSB: 0/3; heartbeat-1 scripts: the exit code
/// is ignored, the word counts).
fn daemon_script(
    comment: &str,
    pid: &str,
    dir: &str,
    port: u16,
    prepare: &str,
    lsb: bool,
) -> String {
    let (up, down) = if lsb { (0, 3) } else { (0, 0) };
    format!(
        r#"#!/bin/sh
# {comment}
PID={pid}
DIR={dir}
running() {{ [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }}
case "$1" in
start)
    running && exit 0
{prepare}
    /usr/bin/python3 -m http.server {port} --directory "$DIR" </dev/null >/dev/null 2>&1 &
    echo $! > "$PID"
    exit 0 ;;
stop)
    if running; then kill "$(cat "$PID")"; fi
    rm -f "$PID"
    exit 0 ;;
status)
    if running; then echo "$(basename "$0") is running"; exit {up}; fi
    echo "$(basename "$0") is stopped"; exit {down} ;;
*)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
"#
    )
}

/// httpd as an LSB init script (`/etc/init.d/httpd`): python's web server on port 80,
/// its page naming the node that serves it (as the seed's tutorial does).
fn httpd_script() -> String {
    daemon_script(
        "httpd: the lab's web server, an LSB init script.",
        "/run/httpd.pid",
        "/run/www",
        80,
        r#"    mkdir -p "$DIR"
    echo "hello world from $(uname -n)" > "$DIR/index.html""#,
        true,
    )
}

/// mysql as a heartbeat-1 resource script (`/etc/ha.d/resource.d/mysql`): the lab's
/// stand-in database keeps its data on the shared disk the Filesystem resource before
/// it mounted, records each start there, and serves the data on port 3306.
fn mysql_script() -> String {
    daemon_script(
        "mysql: the lab's stand-in database, a heartbeat-1 resource script.",
        "/run/mysqld.pid",
        "/run/ha/mysql",
        3306,
        r#"    mountpoint -q "$DIR" || { echo "mysql: $DIR is not mounted" >&2; exit 1; }
    echo "started on $(uname -n)" >> "$DIR/db.txt"
    sync"#,
        false,
    )
}

/// A loop device over a file with an ext3 file system; detached when dropped (after
/// the lab, whose hosts' mounts go with their namespaces).
struct LoopDevice {
    dev: String,
    image: std::path::PathBuf,
}

impl LoopDevice {
    fn new(image: std::path::PathBuf) -> LoopDevice {
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                "truncate -s 32M \"$1\" && mkfs.ext3 -q -F \"$1\" && losetup --find --show \"$1\"",
                "sh",
            ])
            .arg(&image)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "making an ext3 loop device over {}: {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        LoopDevice { dev, image }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .status();
        let _ = std::fs::remove_file(&self.image);
    }
}

/// A node crashes: its links are cut and every process on it is killed at once; then,
/// as its reboot would, its addresses, mounts and pid files go (the prober stops
/// counting it meanwhile).
fn crash(lab: &Lab, node: &str, halod: Proc) {
    lab.cut(node).unwrap();
    lab.signal_host(node, Signal::SIGKILL).unwrap();
    lab.wait(&halod, Duration::from_secs(30)).unwrap();
    let out = lab
        .sh(
            node,
            &format!(
                "ip addr del {}/24 dev eth0 2>/dev/null; ip addr del {}/24 dev eth0 2>/dev/null; \
                 umount /run/ha/mysql 2>/dev/null; rm -f /run/httpd.pid /run/mysqld.pid; true",
                vip_n(0),
                vip_n(1)
            ),
        )
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// An HTTP/1.0 GET of `path` from `ip:port`, made from the client host's network
/// namespace: the body of a 200 answer, or `None` when there is none within 2 s.
fn fetch(lab: &Lab, ip: &str, port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::new(ip.parse().ok()?, port);
    lab.in_host_net(CLIENT, || {
        let t = Duration::from_secs(2);
        let mut s = std::net::TcpStream::connect_timeout(&addr, t).ok()?;
        s.set_read_timeout(Some(t)).ok()?;
        s.set_write_timeout(Some(t)).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200").then(|| body.to_string())
    })
    .ok()
    .flatten()
}

/// The page at `http://VIP1/`, waited for until it names `node`.
fn wait_page(lab: &Lab, node: &str) {
    let want = format!("hello world from {node}");
    wait_for(&format!("the web page says '{want}'"), || {
        fetch(lab, &vip_n(0), 80, "/").filter(|b| b.trim() == want)
    });
}

/// Resource ids of the running groups, from `halo status --json`, by type.
fn ids_by_type(lab: &Lab, node: &str) -> Vec<(String, String)> {
    let v = halo_status_json(lab, node);
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn lab_failover_heartbeat1_seed_examples_active_active() {
    assert!(
        std::path::Path::new("/usr/bin/python3").exists(),
        "/usr/bin/python3 is missing: the seeds' web server and database need it"
    );
    let pair = ["node1", "node2"];
    let disk = LoopDevice::new(
        std::env::temp_dir().join(format!("lab_failover_mysql_{}.img", std::process::id())),
    );
    let lab = Arc::new(
        Lab::create(
            &LabSpec::new()
                .hosts(2)
                .bridges(2)
                .serial("node1", "node2")
                .host_on(CLIENT, &[0])
                .private_dir("/etc/init.d", true),
        )
        .unwrap(),
    );
    // The seeds' lines: "#masternode ip-address service-name / clustnode1 httpd" and
    // "node2 10.10.10.12 datadisk::drbd1 Filesystem::/dev/nb1::/ha/mysql::ext3 mysql",
    // with this lab's addresses, the loop device for the disk (and so no DRBD
    // `datadisk`), and the mount point under the host's private /run.
    let haresources = format!(
        "#masternode ip-address service-name\n\
         node1 {} httpd\n\
         node2 {} Filesystem::{}::/run/ha/mysql::ext3 mysql\n",
        vip_n(0),
        vip_n(1),
        disk.dev
    );
    write_config(&lab, &pair, SEED_HA_CF, Some(&haresources), &random_key());
    for n in pair {
        let h = lab.host(n).unwrap();
        for (path, text) in [
            ("/etc/init.d/httpd", httpd_script()),
            ("/etc/ha.d/resource.d/mysql", mysql_script()),
        ] {
            let p = h.path(path).unwrap();
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let mut procs = start_all(&lab, &pair);
    let t0 = Instant::now();

    // Each group on its own node.
    let web_ip = "IPaddr_10_213_0_100";
    let db_ip = "IPaddr_10_213_0_101";
    wait_placed(&lab, &pair, &[web_ip, "httpd"], "node1");
    let ids = ids_by_type(&lab, "node1");
    let fs = ids
        .iter()
        .find(|(_, t)| t == "Filesystem")
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no Filesystem resource in {ids:?}"));
    let web = [web_ip, "httpd"];
    let db = [db_ip, fs.as_str(), "mysql"];
    wait_placed(&lab, &pair, &db, "node2");
    println!(
        "figure: start-up to both groups on their nodes: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let v = halo_status_json(&lab, "node2");
    // A two-node cluster without fencing is a documented risk, never a silent one.
    assert!(
        v["crm"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("split brain")),
        "{v:#}"
    );
    assert_eq!(json_placement(&v, "httpd").unwrap().0, "lsb", "{v:#}");
    assert_eq!(json_placement(&v, "mysql").unwrap().0, "heartbeat", "{v:#}");
    let running = |pid: &str| {
        Probe::Command(vec![
            "sh".into(),
            "-c".into(),
            format!("[ -f {pid} ] && kill -0 $(cat {pid}) 2>/dev/null"),
        ])
    };
    let prober = Prober::start(
        lab.clone(),
        &pair,
        vec![
            Probe::Ip(vip_n(0)),
            Probe::Ip(vip_n(1)),
            running("/run/httpd.pid"),
            running("/run/mysqld.pid"),
            Probe::Command(vec![
                "mountpoint".into(),
                "-q".into(),
                "/run/ha/mysql".into(),
            ]),
        ],
    );
    wait_page(&lab, "node1");
    let db_data = |lab: &Lab| fetch(lab, &vip_n(1), 3306, "/db.txt");
    let data = wait_for("the database answers", || db_data(&lab));
    assert_eq!(data, "started on node2\n");

    // node1 crashes: both groups on the survivor.
    let t0 = Instant::now();
    prober.set_live(&["node2"]);
    crash(&lab, "node1", procs.remove(0));
    wait_page(&lab, "node2");
    println!(
        "figure: node1's crash to its web page served by node2: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    wait_placed(&lab, &["node2"], &web, "node2");
    wait_placed(&lab, &["node2"], &db, "node2");

    // node1 comes back: heartbeat's default (legacy) gives it its group back.
    lab.heal("node1").unwrap();
    prober.set_live(&pair);
    let t0 = Instant::now();
    procs.insert(0, lab.start_halod("node1", &halod()).unwrap());
    wait_placed(&lab, &pair, &web, "node1");
    wait_placed(&lab, &pair, &db, "node2");
    wait_page(&lab, "node1");
    println!(
        "figure: node1's return to its web page served by node1 again: {:.2} s",
        t0.elapsed().as_secs_f64()
    );

    // node2 crashes: the database moves with its disk; its data are there on node1.
    let t0 = Instant::now();
    prober.set_live(&["node1"]);
    crash(&lab, "node2", procs.remove(1));
    let data = wait_for("the database answers from node1", || {
        db_data(&lab).filter(|d| d.contains("node1"))
    });
    println!(
        "figure: node2's crash to the database answering from node1: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(data, "started on node2\nstarted on node1\n");
    wait_placed(&lab, &["node1"], &db, "node1");
    wait_placed(&lab, &["node1"], &web, "node1");

    // node2 comes back and takes its group back.
    lab.heal("node2").unwrap();
    prober.set_live(&pair);
    procs.push(lab.start_halod("node2", &halod()).unwrap());
    wait_placed(&lab, &pair, &db, "node2");
    wait_placed(&lab, &pair, &web, "node1");
    let data = wait_for("the database answers from node2 again", || {
        db_data(&lab).filter(|d| d.lines().count() == 3)
    });
    assert_eq!(
        data,
        "started on node2\nstarted on node1\nstarted on node2\n"
    );
    prober.finish();
    stop_all(&lab, procs);
    drop(lab);
    drop(disk);
}

// ─── the prober itself ───────────────────────────────────────────────────────────────

/// The probe every test relies on can fail: an address put on two nodes by hand is
/// caught, a file on two nodes too, while an address moved from one node to another
/// (deleted, then added) is not counted.
#[test]
fn lab_failover_prober_catches_a_resource_on_two_nodes_and_not_a_move() {
    let lab = Arc::new(Lab::create(&LabSpec::new().hosts(2)).unwrap());
    let pair = ["node1", "node2"];
    let ip = vip_n(9);
    let addr = |verb: &str, n: &str| {
        let out = lab
            .output(n, &["ip", "addr", verb, &format!("{ip}/24"), "dev", "eth0"])
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    let add = |n: &str| addr("add", n);
    let del = |n: &str| addr("del", n);
    let state = dummy_state("probe");
    let wait_rounds = |p: &Prober, n: u64| {
        let r0 = p.rounds();
        wait_for("the prober ran", || (p.rounds() >= r0 + n).then_some(()));
    };

    // Moves, back and forth, at varying points of the prober's rounds (one move per
    // round at most): never counted.
    let prober = Prober::start(
        lab.clone(),
        &pair,
        vec![Probe::Ip(ip.clone()), Probe::File(state.clone())],
    );
    add("node1");
    for i in 0..20u64 {
        wait_rounds(&prober, 1);
        std::thread::sleep(Duration::from_millis(i * 7 % 60));
        let (from, to) = if i % 2 == 0 {
            ("node1", "node2")
        } else {
            ("node2", "node1")
        };
        del(from);
        add(to);
    }
    wait_rounds(&prober, 3);
    let rounds = prober.finish();
    del("node1");
    println!("20 moves, {rounds} rounds: not counted");

    // On both at once: caught, with the address's changes shown.
    for (probe, on) in [
        (Probe::Ip(ip.clone()), "address"),
        (Probe::File(state.clone()), "file"),
    ] {
        let prober = Prober::start(lab.clone(), &pair, vec![probe]);
        for n in pair {
            match on {
                "address" => add(n),
                _ => std::fs::write(lab.host(n).unwrap().path(&state).unwrap(), "").unwrap(),
            }
        }
        wait_rounds(&prober, 6);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prober.finish()));
        let message = caught
            .err()
            .and_then(|e| e.downcast::<String>().ok())
            .unwrap_or_else(|| panic!("the {on} on both nodes was not caught"));
        assert!(message.contains("at once"), "{message}");
        for n in pair {
            match on {
                "address" => del(n),
                _ => std::fs::remove_file(lab.host(n).unwrap().path(&state).unwrap()).unwrap(),
            }
        }
    }
}

// ─── agents that misbehave: a monitor that hangs, a stop that fails ─────────────────

/// An LSB init script whose `status` hangs while `/run/flaky.hang-status` exists and
/// whose `stop` fails while `/run/flaky.fail-stop` exists (the test creates them on one
/// host). It "runs" while `/run/flaky.running` exists.
const FLAKY: &str = r#"#!/bin/sh
# flaky: a service that misbehaves on demand (lab_failover).
STATE=/run/flaky.running
case "$1" in
start)
    touch "$STATE"; exit 0 ;;
stop)
    [ -e /run/flaky.fail-stop ] && { echo "flaky: cannot stop" >&2; exit 1; }
    rm -f "$STATE"; exit 0 ;;
status)
    [ -e /run/flaky.hang-status ] && sleep 600
    [ -e "$STATE" ] && { echo "flaky is running"; exit 0; }
    echo "flaky is stopped"; exit 3 ;;
*)
    exit 2 ;;
esac
"#;

/// A group of an address (found by the routing table) and the flaky service,
/// preferring node2.
fn flaky_cib() -> String {
    cib(
        &format!(
            r#"      <group id="app">
        <primitive id="app-ip" class="ocf" provider="halo" type="IPaddr">
          <instance_attributes id="app-ip-params">
            <nvpair id="app-ip-ip" name="ip" value="{ip}"/>
          </instance_attributes>
        </primitive>
        <primitive id="flaky" class="lsb" type="flaky">
          <operations>
            <op id="flaky-monitor" name="monitor" interval="1s" timeout="2s"/>
            <op id="flaky-stop" name="stop" interval="0" timeout="5s"/>
          </operations>
        </primitive>
      </group>"#,
            ip = vip()
        ),
        r#"      <rsc_location id="app-prefers-node2" rsc="app" node="node2" score="100"/>"#,
    )
}

fn failed_action(lab: &Lab, node: &str, op: &str) -> Option<halo_ipc::FailedActionStatus> {
    status(lab, node)?
        .failed_actions
        .into_iter()
        .find(|f| f.operation == op)
}

/// Waits until every node sees the app group on `on`, and only `on` holds it.
fn wait_app_on(lab: &Lab, on: &str) {
    wait_placed(lab, &NODES, &["app-ip", "flaky"], on);
    wait_for(&format!("only {on} holds the app group"), || {
        (ip_holders(lab, &NODES, &vip()) == set(&[on])
            && file_holders(lab, &NODES, "/run/flaky.running") == set(&[on]))
        .then_some(())
    });
}

#[test]
fn lab_failover_hung_monitor_times_out_and_a_failed_stop_blocks_the_resource_in_place() {
    halo_binary();
    let lab =
        Arc::new(Lab::create(&LabSpec::new().hosts(3).private_dir("/etc/init.d", true)).unwrap());
    write_config(&lab, &NODES, &ha_cf("on"), None, &random_key());
    for n in NODES {
        let p = lab.host(n).unwrap().path("/etc/init.d/flaky").unwrap();
        std::fs::write(&p, FLAKY).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let procs = start_all(&lab, &NODES);
    wait_for("a 3-node membership in sync", || {
        let s = status(&lab, "node1")?;
        (s.membership.members.len() == 3 && s.crm.as_ref()?.synced).then_some(())
    });
    let prober = Prober::start(
        lab.clone(),
        &NODES,
        vec![Probe::Ip(vip()), Probe::File("/run/flaky.running".into())],
    );
    let file = lab
        .host("node1")
        .unwrap()
        .path("/etc/ha.d/app.xml")
        .unwrap();
    std::fs::write(&file, flaky_cib()).unwrap();
    halo_ok(&lab, "node1", &["configure", "load", "/etc/ha.d/app.xml"]);
    wait_app_on(&lab, "node2");
    let host2 = lab.host("node2").unwrap();

    // The monitor hangs: after its timeout (2 s) it counts as failed ("timed out"),
    // and the service is recovered in place.
    let t0 = Instant::now();
    let hang = host2.path("/run/flaky.hang-status").unwrap();
    std::fs::write(&hang, "").unwrap();
    let f = wait_for("flaky's monitor timed out on node2", || {
        failed_action(&lab, "node1", "flaky_monitor_1000").filter(|f| f.node.as_str() == "node2")
    });
    println!(
        "figure: hung monitor to its failure recorded: {:.2} s; {f:?}",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(f.op_status, 2, "timed out: {f:?}");
    // The timed-out script was killed with its children (the `sleep` it hung in).
    let hung = || {
        lab.pids_on("node2")
            .unwrap()
            .into_iter()
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.split(|b| *b == 0).any(|w| w == b"600"))
            })
            .count()
    };
    std::fs::remove_file(&hang).unwrap();
    wait_app_on(&lab, "node2");
    // A status that hung was killed at its timeout, with its children (the `sleep` it
    // hung in): none is left once the file is gone.
    wait_for("no process of a hung status left on node2", || {
        (hung() == 0).then_some(())
    });
    let text = halo_ok(&lab, "node3", &["status"]);
    assert!(
        text.lines()
            .any(|l| l.contains("flaky_monitor_1000 on node2")
                && l.to_lowercase().contains("timed out")),
        "{text}"
    );
    halo_ok(&lab, "node3", &["resource", "cleanup", "flaky"]);
    wait_for("the failure forgotten", || {
        status(&lab, "node1")?
            .failed_actions
            .is_empty()
            .then_some(())
    });
    wait_app_on(&lab, "node2");

    // The service cannot be stopped: a move must not start it elsewhere while it may
    // still run here (no fencing to make sure it is gone). It stays, blocked.
    let fail_stop = host2.path("/run/flaky.fail-stop").unwrap();
    std::fs::write(&fail_stop, "").unwrap();
    halo_ok(&lab, "node1", &["resource", "move", "app", "node3"]);
    let f = wait_for("flaky's stop failed on node2", || {
        failed_action(&lab, "node1", "flaky_stop_0")
    });
    println!("the failed stop: {f:?}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        file_holders(&lab, &NODES, "/run/flaky.running"),
        set(&["node2"]),
        "flaky runs on node2 only"
    );
    assert!(
        file_holders(&lab, &["node1", "node3"], "/run/flaky.running").is_empty()
            && ip_holders(&lab, &["node1", "node3"], &vip()).is_empty(),
        "nothing of the group started elsewhere"
    );
    let text = halo_ok(&lab, "node3", &["status"]);
    println!("{text}");
    assert!(text.contains("flaky_stop_0 on node2"), "{text}");

    // Once it can stop again, a cleanup lets the move happen.
    std::fs::remove_file(&fail_stop).unwrap();
    halo_ok(&lab, "node1", &["resource", "cleanup", "flaky"]);
    wait_app_on(&lab, "node3");
    prober.finish();
    stop_all(&lab, procs);
}

// ─── short cuts around the lease and the deadtime ───────────────────────────────────

/// The active node is cut off for a little less and a little more than the lease's
/// limit (deadtime − 2 × keepalive = 1.1 s) and the deadtime (1.5 s), then healed: it
/// may stop its resources (lease) while the others never declared it dead, or they may
/// recover them; whatever happens, the group is never on two nodes and ends running on
/// exactly one, and the client reaches it.
#[test]
fn lab_failover_short_cuts_of_the_active_node_around_the_lease_and_the_deadtime() {
    let (lab, procs) = haresources_lab("off", "node1");
    let prober = Prober::start(lab.clone(), &NODES, group_probes());
    for ms in [900u64, 1200, 1300, 1400, 1700, 2500] {
        let home = wait_for("the group on one node", || {
            let s = status(&lab, "node1")?;
            let on = placed_on(&s, DUMMY_ID)?;
            (placed_on(&s, VIP_ID)? == on).then_some(on)
        });
        let home: &'static str = NODES.iter().copied().find(|n| *n == home).unwrap();
        wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], home);
        lab.cut(home).unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let lost = status(&lab, home)
            .and_then(|s| s.crm)
            .is_some_and(|c| c.lease_lost);
        lab.heal(home).unwrap();
        let t0 = Instant::now();
        let now_on = wait_for(&format!("one copy running after a {ms} ms cut"), || {
            let ips = ip_holders(&lab, &NODES, &vip());
            let dummies = file_holders(&lab, &NODES, &dummy_state(DUMMY_ID));
            (ips.len() == 1 && ips == dummies).then(|| ips.into_iter().next().unwrap())
        });
        wait_placed(&lab, &NODES, &[VIP_ID, DUMMY_ID], &now_on);
        for n in NODES {
            wait_for(&format!("{n}: 3 members, in sync, lease held"), || {
                let s = status(&lab, n)?;
                let crm = s.crm.as_ref()?;
                (s.membership.members.len() == 3 && crm.synced && !crm.lease_lost).then_some(())
            });
        }
        assert_eq!(client_vip_on(&lab, &NODES), now_on);
        println!(
            "a {ms} ms cut of {home}: lease lost during the cut: {lost}; the group on \
             {now_on} {:.2} s after the heal",
            t0.elapsed().as_secs_f64()
        );
    }
    prober.finish();
    stop_all(&lab, procs);
}
