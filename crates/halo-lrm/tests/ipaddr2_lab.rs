//! ocf:heartbeat:IPaddr2, unmodified, inside a lab host's network namespace: the
//! address appears, answers the other host, is watched by a recurring monitor, and
//! disappears.
//!
//! The LRM runs on the machine; the agent it runs is a two-line wrapper that enters
//! node1's network namespace (`nsenter --net`) and execs the real IPaddr2, so every
//! address lives in the lab's namespaces only (halo-lab: bridges without uplink).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use halo_lab::{Lab, LabSpec};
use halo_lrm::{ExecStatus, OcfRc, OpRequest, Severity};

fn has_addr(lab: &Lab, host: &str, addr: &str) -> bool {
    let out = lab
        .output(host, &["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipaddr2_moves_an_address_inside_a_lab_host() {
    let lab = Lab::create(&LabSpec::new().hosts(2)).expect("lab (needs root, ip, nft, socat)");
    let vip = halo_lab::spec::service_ipv4(0, 0).to_string();
    let node1_net = lab.host("node1").unwrap().netns();

    let fx = Fx::new();
    let spec = fx.ocf_agent(
        "IPaddr2",
        &format!(
            "#!/bin/sh\nOCF_ROOT=/usr/lib/ocf; export OCF_ROOT\nexec nsenter --net={} /usr/lib/ocf/resource.d/heartbeat/IPaddr2 \"$@\"\n",
            node1_net.display()
        ),
    );
    let lrm = fx.lrm();
    register(
        &lrm,
        "vip",
        &spec,
        &[("ip", &vip), ("cidr_netmask", "24"), ("nic", "eth0")],
    )
    .await;

    let probe = op(&lrm, "vip", "monitor").await;
    assert_eq!(
        (probe.outcome.rc, probe.assessment.failure),
        (OcfRc::NOT_RUNNING, None),
        "{probe:?}"
    );
    assert!(!has_addr(&lab, "node1", &vip));

    let start = op(&lrm, "vip", "start").await;
    assert!(start.ok(), "{start:?}");
    assert!(has_addr(&lab, "node1", &vip), "the address is up on node1");
    assert!(!has_addr(&lab, "node2", &vip));
    let ping = lab
        .output("node2", &["ping", "-c", "1", "-W", "5", &vip])
        .unwrap();
    assert!(
        ping.status.success(),
        "node2 reaches the address: {}",
        String::from_utf8_lossy(&ping.stdout)
    );

    // A recurring monitor notices when the address goes away behind our back.
    let mut rx = lrm.subscribe();
    let mut req = OpRequest::new("vip", "monitor", 200);
    req.timeout_ms = Some(20_000);
    lrm.start_recurring(req).await.unwrap();
    let first = wait_event(&mut rx, |r| r.resource == "vip").await;
    assert_eq!(first.outcome.rc, OcfRc::OK);
    let del = lab
        .output(
            "node1",
            &["ip", "addr", "del", &format!("{vip}/24"), "dev", "eth0"],
        )
        .unwrap();
    assert!(del.status.success());
    let lost = wait_event(&mut rx, |r| r.resource == "vip").await;
    assert_eq!(
        (lost.outcome.rc, lost.assessment.failure),
        (OcfRc::NOT_RUNNING, Some(Severity::Soft))
    );

    // Recovery as the cluster would do it: stop (cancels the monitor), start, stop.
    assert!(op(&lrm, "vip", "stop").await.ok());
    assert!(lrm.recurring().is_empty());
    assert!(op(&lrm, "vip", "start").await.ok());
    assert!(has_addr(&lab, "node1", &vip));
    let stop = op(&lrm, "vip", "stop").await;
    assert_eq!(
        (stop.outcome.rc, stop.outcome.status),
        (OcfRc::OK, ExecStatus::Done)
    );
    assert!(!has_addr(&lab, "node1", &vip), "the address is gone");
    assert_eq!(
        op(&lrm, "vip", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    drop(lab);
}
