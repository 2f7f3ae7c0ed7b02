//! Virtual IP addresses on real interfaces of lab hosts (network namespaces on a bridge
//! without uplink): added, announced, seen by the neighbours, moved and removed. Run as
//! root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use common::{
    Capture, QUIET, Seen, TestResult, agent, code, eventually, ipaddr2, lab, mac_of, mac_str,
    neighbour_mac, net_on, pings, runtime, sh,
};
use halo_lab::{LabSpec, service_ipv4, service_ipv6};
use halo_net::{AddOutcome, AnnounceConfig, Announced, FindError, RemoveOutcome, VipSpec};

fn fast(count: u32) -> AnnounceConfig {
    AnnounceConfig {
        count,
        interval: Duration::from_millis(50),
    }
}

/// (requests, replies) of gratuitous ARP for `ip` from `mac`.
fn count_garps(seen: &[(Instant, Seen)], ip: Ipv4Addr, mac: [u8; 6]) -> (usize, usize) {
    let n = |want: u16| {
        seen.iter()
            .filter(|(_, s)| {
                matches!(s, Seen::Garp { op, sender_mac, ip: i, .. }
                    if *op == want && *sender_mac == mac && *i == ip)
            })
            .count()
    };
    (n(1), n(2))
}

#[test]
fn lab_add_makes_the_address_reachable_and_announces_it() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let rt = runtime();
    let net1 = net_on(&lab, &rt, "node1");
    let vip = service_ipv4(0, 0);
    let mut cap = Capture::arp(&lab, "node3");

    let resolved = rt.block_on(net1.resolve(&VipSpec::new(vip.into())))?;
    assert_eq!(
        (
            resolved.iface.as_str(),
            resolved.prefix_len,
            resolved.broadcast
        ),
        ("eth0", 24, Some(Ipv4Addr::new(10, 213, 0, 255)))
    );
    let (added, announced) = rt.block_on(net1.add(&resolved, &fast(3)))?;
    assert_eq!(added, AddOutcome::Added);
    assert_eq!(announced, Announced::Sent { remaining: 2 });

    // iproute2's view, not ours.
    let addrs = sh(&lab, "node1", "ip -o -4 addr show dev eth0");
    assert!(
        addrs.contains("inet 10.213.0.100/24 brd 10.213.0.255"),
        "{addrs}"
    );
    assert!(rt.block_on(net1.is_present(vip.into(), Some("eth0")))?);
    assert!(eventually(|| pings(&lab, "node3", vip.into())));

    // Three announcements, each a request and a reply, from node1's MAC to broadcast.
    let m1 = mac_of(&lab, "node1");
    assert!(
        cap.until(|seen| count_garps(seen, vip, m1) >= (3, 3)),
        "{:?}",
        cap.seen
    );
    cap.poll(QUIET);
    assert_eq!(
        count_garps(&cap.seen, vip, m1),
        (3, 3),
        "{:?}",
        cap.garps(vip)
    );
    for (_, s) in &cap.seen {
        if let Seen::Garp {
            op,
            eth_src,
            eth_dst,
            target_mac,
            ..
        } = s
        {
            assert_eq!((*eth_src, *eth_dst), (m1, [0xff; 6]));
            let want_target = if *op == 1 { [0; 6] } else { m1 };
            assert_eq!(*target_mac, want_target);
        }
    }

    // Adding again is success; removing twice is success.
    let (again, _) = rt.block_on(net1.add(&resolved, &fast(0)))?;
    assert_eq!(again, AddOutcome::AlreadyPresent);
    assert_eq!(
        rt.block_on(net1.remove(vip.into(), Some("eth0")))?,
        RemoveOutcome::Removed(vec!["eth0".into()])
    );
    assert!(!rt.block_on(net1.is_present(vip.into(), None))?);
    assert!(!sh(&lab, "node1", "ip -o addr").contains("10.213.0.100/"));
    assert_eq!(
        rt.block_on(net1.remove(vip.into(), None))?,
        RemoveOutcome::WasAbsent
    );
    Ok(())
}

#[test]
fn lab_takeover_updates_the_neighbours_arp_entry_at_once() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let rt = runtime();
    let (net1, net2) = (net_on(&lab, &rt, "node1"), net_on(&lab, &rt, "node2"));
    let vip = IpAddr::from(service_ipv4(0, 1));
    let spec = VipSpec::parse_shorthand(&format!("{vip}/24/eth0"))?;

    let on1 = rt.block_on(net1.resolve(&spec))?;
    rt.block_on(net1.add(&on1, &fast(1)))?;
    assert!(eventually(|| pings(&lab, "node3", vip)));
    let (m1, m2) = (
        mac_str(mac_of(&lab, "node1")),
        mac_str(mac_of(&lab, "node2")),
    );
    assert_eq!(neighbour_mac(&lab, "node3", vip), Some(m1));

    // Move it. node3 sends nothing from here on, so only node2's announcement (a single
    // one) can change its entry; left alone the entry would keep node1's MAC until it
    // went stale and was probed, tens of seconds later.
    rt.block_on(net1.remove(vip, None))?;
    let on2 = rt.block_on(net2.resolve(&spec))?;
    rt.block_on(net2.add(&on2, &fast(1)))?;
    assert!(
        eventually(|| neighbour_mac(&lab, "node3", vip).as_deref() == Some(m2.as_str())),
        "node3 still has {:?} for {vip}",
        neighbour_mac(&lab, "node3", vip)
    );
    assert!(eventually(|| pings(&lab, "node3", vip)));
    Ok(())
}

#[test]
fn lab_ipv6_add_announces_with_an_unsolicited_na_and_takes_over() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let rt = runtime();
    let (net1, net2) = (net_on(&lab, &rt, "node1"), net_on(&lab, &rt, "node2"));
    let vip6 = service_ipv6(0, 5);
    let vip = IpAddr::from(vip6);
    let mut cap = Capture::ipv6(&lab, "node3");

    let on1 = rt.block_on(net1.resolve(&VipSpec::new(vip)))?;
    assert_eq!(
        (on1.iface.as_str(), on1.prefix_len, on1.broadcast),
        ("eth0", 64, None)
    );
    rt.block_on(net1.add(&on1, &fast(2)))?;
    // nodad: usable at once, never tentative.
    let addrs = sh(&lab, "node1", "ip -o -6 addr show dev eth0");
    let line = addrs
        .lines()
        .find(|l| l.contains(&format!("{vip6}/64")))
        .unwrap_or_else(|| panic!("{addrs}"));
    assert!(!line.contains("tentative"), "{line}");

    let m1 = mac_of(&lab, "node1");
    assert!(eventually(|| {
        cap.poll_for(Duration::from_millis(20));
        cap.nas(vip6).len() >= 2
    }));
    for na in cap.nas(vip6) {
        let Seen::Na {
            eth_src,
            src,
            dst,
            hop_limit,
            solicited,
            overrides,
            target_mac,
            ..
        } = na
        else {
            unreachable!()
        };
        assert_eq!(eth_src, m1);
        assert_eq!((src, dst), (vip6, "ff02::1".parse::<Ipv6Addr>()?));
        assert_eq!((hop_limit, solicited, overrides), (255, false, true));
        assert_eq!(target_mac, Some(m1));
    }

    // node3 learns it, then the address moves to node2 with one advertisement.
    assert!(eventually(|| pings(&lab, "node3", vip)));
    assert_eq!(neighbour_mac(&lab, "node3", vip), Some(mac_str(m1)));
    rt.block_on(net1.remove(vip, None))?;
    let on2 = rt.block_on(net2.resolve(&VipSpec::new(vip)))?;
    rt.block_on(net2.add(&on2, &fast(1)))?;
    let m2 = mac_str(mac_of(&lab, "node2"));
    assert!(
        eventually(|| neighbour_mac(&lab, "node3", vip).as_deref() == Some(m2.as_str())),
        "node3 still has {:?} for {vip}",
        neighbour_mac(&lab, "node3", vip)
    );
    assert!(eventually(|| pings(&lab, "node3", vip)));
    Ok(())
}

#[test]
fn lab_find_interface_picks_the_right_bridge() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2).bridges(2));
    let rt = runtime();
    let net = net_on(&lab, &rt, "node1");
    let find = |a: &str| rt.block_on(net.find_interface(a.parse().unwrap()));

    let f = find("10.213.1.150")?;
    assert_eq!(
        (f.iface.as_str(), f.prefix_len, f.broadcast),
        ("eth1", 24, Some(Ipv4Addr::new(10, 213, 1, 255)))
    );
    assert_eq!(find("10.213.0.150")?.iface, "eth0");
    let f = find(&service_ipv6(1, 3).to_string())?;
    assert_eq!((f.iface.as_str(), f.prefix_len), ("eth1", 64));
    assert!(matches!(find("10.99.0.1"), Err(FindError::NoRoute { .. })));

    // A more specific connected route wins.
    sh(&lab, "node1", "ip route add 10.213.1.128/25 dev eth0");
    let f = find("10.213.1.150")?;
    assert_eq!((f.iface.as_str(), f.prefix_len), ("eth0", 25));
    assert_eq!(find("10.213.1.50")?.iface, "eth1");

    // A configured interface and prefix.
    let resolve = |s: &str| rt.block_on(net.resolve(&VipSpec::parse_shorthand(s).unwrap()));
    assert!(matches!(
        resolve("10.213.1.150/24/eth9"),
        Err(FindError::NoSuchInterface(n)) if n == "eth9"
    ));
    assert!(matches!(
        resolve("10.213.1.50//eth0"),
        Err(FindError::NoRoute { .. })
    ));
    let v = resolve("10.99.0.1/16/eth1:x")?;
    assert_eq!(
        (v.iface.as_str(), v.prefix_len, v.label.as_deref()),
        ("eth1", 16, Some("eth1:x"))
    );
    Ok(())
}

#[test]
fn lab_agent_actions_and_exit_codes() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let vip = service_ipv4(0, 7).to_string();
    let p: &[(&str, &str)] = &[("ip", &vip), ("arp_count", "3"), ("arp_interval", "100")];
    let mut cap = Capture::arp(&lab, "node3");

    assert_eq!(code(&agent(&lab, "node1", "validate-all", p)), 0);
    assert_eq!(code(&agent(&lab, "node1", "monitor", p)), 7);
    assert_eq!(code(&agent(&lab, "node1", "stop", p)), 0);
    let start = agent(&lab, "node1", "start", p);
    assert_eq!(code(&start), 0, "{start:?}");
    assert_eq!(code(&agent(&lab, "node1", "monitor", p)), 0);
    assert!(sh(&lab, "node1", "ip -o addr show dev eth0").contains(&format!("{vip}/24")));
    assert_eq!(code(&agent(&lab, "node1", "start", p)), 0);
    // The detached announcer sends the other two after the agent has exited.
    let v: Ipv4Addr = vip.parse()?;
    let m1 = mac_of(&lab, "node1");
    assert!(
        cap.until(|seen| count_garps(seen, v, m1).0 >= 3),
        "{:?}",
        cap.garps(v)
    );
    let status = agent(&lab, "node1", "status", p);
    assert_eq!(
        (
            code(&status),
            String::from_utf8_lossy(&status.stdout).trim()
        ),
        (0, "running")
    );

    assert_eq!(code(&agent(&lab, "node1", "stop", p)), 0);
    assert_eq!(code(&agent(&lab, "node1", "monitor", p)), 7);
    assert_eq!(code(&agent(&lab, "node1", "stop", p)), 0);
    assert!(!sh(&lab, "node1", "ip -o addr").contains(&format!("{vip}/")));

    // Bad parameters and hosts without the interface or route.
    let bad = agent(&lab, "node1", "validate-all", &[("ip", "10.213.0.300")]);
    assert_eq!(code(&bad), 6);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ocf-exit-reason:ip \"10.213.0.300\""));
    assert_eq!(code(&agent(&lab, "node1", "validate-all", &[])), 6);
    assert_eq!(
        code(&agent(&lab, "node1", "monitor", &[("ip", "nonsense")])),
        6
    );
    assert_eq!(
        code(&agent(
            &lab,
            "node1",
            "start",
            &[("ip", &vip), ("cidr_netmask", "40")]
        )),
        6
    );
    assert_eq!(
        code(&agent(
            &lab,
            "node1",
            "validate-all",
            &[("ip", &vip), ("nic", "eth9")]
        )),
        5
    );
    assert_eq!(
        code(&agent(&lab, "node1", "start", &[("ip", "10.99.0.1")])),
        5
    );
    assert_eq!(
        code(&agent(&lab, "node1", "stop", &[("ip", "nonsense")])),
        0
    );
    assert_eq!(code(&agent(&lab, "node1", "promote", p)), 3);
    let stderr = |o: std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let e = stderr(agent(&lab, "node1", "start", &[("ip", "10.99.0.1")]));
    assert!(
        e.contains("ocf-exit-reason:no directly connected route contains 10.99.0.1"),
        "{e}"
    );
    let e = stderr(agent(
        &lab,
        "node1",
        "validate-all",
        &[("ip", &vip), ("nic", "eth9")],
    ));
    assert!(
        e.contains("ocf-exit-reason:no interface named \"eth9\" on this host"),
        "{e}"
    );

    // IPv6 through the same binary.
    let v6 = service_ipv6(0, 7).to_string();
    let p6: &[(&str, &str)] = &[("ip", &v6), ("arp_count", "2"), ("arp_interval", "50")];
    assert_eq!(code(&agent(&lab, "node1", "monitor", p6)), 7);
    assert_eq!(code(&agent(&lab, "node1", "start", p6)), 0);
    assert_eq!(code(&agent(&lab, "node1", "monitor", p6)), 0);
    assert!(eventually(|| pings(&lab, "node3", v6.parse().unwrap())));
    assert_eq!(code(&agent(&lab, "node1", "stop", p6)), 0);
    assert_eq!(code(&agent(&lab, "node1", "monitor", p6)), 7);
    Ok(())
}

#[test]
fn lab_agent_stop_ends_the_background_announcements() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2));
    let vip = service_ipv4(0, 8).to_string();
    let v: Ipv4Addr = vip.parse()?;
    let m1 = mac_of(&lab, "node1");
    let p: &[(&str, &str)] = &[("ip", &vip), ("arp_count", "40"), ("arp_interval", "50")];
    let mut cap = Capture::arp(&lab, "node2");
    assert_eq!(code(&agent(&lab, "node1", "start", p)), 0);
    assert!(cap.until(|seen| count_garps(seen, v, m1).0 >= 2));
    assert_eq!(code(&agent(&lab, "node1", "stop", p)), 0);
    cap.poll_for(Duration::from_millis(5));
    let at_stop = count_garps(&cap.seen, v, m1).0;
    // The schedule would run for 2 s; listen for all of it.
    cap.poll_for(Duration::from_millis(2500));
    let after = count_garps(&cap.seen, v, m1).0;
    assert!(
        after <= at_stop + 1 && after < 40,
        "{at_stop} announcements at stop, {after} after"
    );
    Ok(())
}

#[test]
fn lab_meta_data_is_valid_xml() -> TestResult {
    let lab = lab(LabSpec::new().hosts(1));
    let out = agent(&lab, "node1", "meta-data", &[]);
    assert_eq!(code(&out), 0);
    let xml = String::from_utf8(out.stdout)?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut params = Vec::new();
    loop {
        match reader.read_event()? {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == "parameter" =>
            {
                for a in e.attributes() {
                    let a = a?;
                    if a.key.as_ref() == "name" {
                        params.push(a.value.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(params, halo_net::agent::PARAMETERS);
    // And against the OCF DTD, as ocf-tester checks it, where the DTD is installed.
    let dtd = std::path::Path::new("/usr/share/resource-agents/ra-api-1.dtd");
    if dtd.exists()
        && std::process::Command::new("xmllint")
            .arg("--version")
            .output()
            .is_ok()
    {
        let file = std::env::temp_dir().join(format!("halo-net-meta-{}.xml", std::process::id()));
        std::fs::write(&file, &xml)?;
        let v = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--dtdvalid")
            .arg(dtd)
            .arg(&file)
            .output()?;
        std::fs::remove_file(&file)?;
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    }
    Ok(())
}

#[test]
fn lab_ipaddr2_and_halo_see_each_others_addresses() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2));
    let vip = service_ipv4(0, 9).to_string();
    let p: &[(&str, &str)] = &[("ip", &vip), ("cidr_netmask", "24")];
    let theirs = ipaddr2(&lab, "node1", "start", p);
    assert_eq!(code(&theirs), 0, "{theirs:?}");
    assert_eq!(code(&agent(&lab, "node1", "monitor", p)), 0);
    assert_eq!(code(&agent(&lab, "node1", "stop", p)), 0);
    assert_eq!(code(&ipaddr2(&lab, "node1", "monitor", p)), 7);
    assert_eq!(code(&agent(&lab, "node1", "start", p)), 0);
    assert_eq!(code(&ipaddr2(&lab, "node1", "monitor", p)), 0);
    assert_eq!(code(&ipaddr2(&lab, "node1", "stop", p)), 0);
    assert_eq!(code(&agent(&lab, "node1", "monitor", p)), 7);
    Ok(())
}

#[test]
fn lab_ocf_tester_passes() -> TestResult {
    let tester = std::path::Path::new("/usr/sbin/ocf-tester");
    if !tester.exists() {
        eprintln!(
            "skipped: {} is not installed (resource-agents)",
            tester.display()
        );
        return Ok(());
    }
    let lab = lab(LabSpec::new().hosts(1));
    let vip = service_ipv4(0, 11).to_string();
    let out = lab
        .command("node1", tester)?
        .args([
            "-v",
            "-n",
            "vip",
            "-o",
            &format!("ip={vip}"),
            "-o",
            "arp_count=2",
        ])
        .arg(env!("CARGO_BIN_EXE_halo-ipaddr"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed all tests"), "{text}");
    for step in ["Testing: start", "Testing: stop", "Testing: monitor"] {
        assert!(text.contains(step), "{step} missing from:\n{text}");
    }
    assert!(!sh(&lab, "node1", "ip -o addr").contains(&format!("{vip}/")));
    Ok(())
}

/// Two resources' operations share one `Net` (the LRM runs every `ocf:halo:IPaddr`
/// through one): their dumps of addresses, interfaces and routes run at the same time
/// and must all succeed. The kernel runs one dump per netlink socket at a time and
/// answers a second one with EBUSY ("Device or resource busy"), which made probes and
/// starts of two addresses fail at random when they overlapped.
#[test]
fn lab_concurrent_dumps_on_one_net_all_succeed() -> TestResult {
    let lab = lab(LabSpec::new().hosts(1));
    let rt = runtime();
    let net = net_on(&lab, &rt, "node1");
    let own = IpAddr::V4(lab.host("node1")?.ipv4(0)?);
    let vip = IpAddr::V4(service_ipv4(0, 7));
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let net = net.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    0 => net
                        .lookup(own)
                        .await
                        .map(|p| p.len())
                        .map_err(|e| e.to_string()),
                    1 => net
                        .lookup(vip)
                        .await
                        .map(|p| p.len())
                        .map_err(|e| e.to_string()),
                    2 => net
                        .links()
                        .await
                        .map(|l| l.len())
                        .map_err(|e| e.to_string()),
                    _ => net
                        .find_interface(vip)
                        .await
                        .map(|_| 1)
                        .map_err(|e| e.to_string()),
                }
            }));
        }
        let mut failures = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(n) if i % 4 == 0 => assert_eq!(n, 1, "the host's own address once"),
                Ok(n) if i % 4 == 1 => assert_eq!(n, 0, "the service address is nowhere"),
                Ok(_) => {}
                Err(e) => failures.push(format!("task {i}: {e}")),
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    });
    Ok(())
}

/// A dump whose caller is dropped midway (an operation cancelled or timed out while it
/// lists addresses) goes on in the kernel until the connection has read it out; the
/// next dump on the same `Net` must still succeed. (Before the retry on EBUSY, a
/// cancelled monitor made the stop that followed it fail with "Device or resource
/// busy", which blocked the resource, seen once in lab_failover under a loaded test
/// run.) This test checks the property; it has not reproduced that interleaving on
/// this machine, with or without the retry, so the retry's own evidence is that log.
#[test]
fn lab_a_dump_cancelled_midway_does_not_fail_the_next_one() -> TestResult {
    let lab = lab(LabSpec::new().hosts(1));
    // Enough addresses that a dump of them takes several reads.
    sh(
        &lab,
        "node1",
        "for i in $(seq 1 250); do for j in 1 2 3 4; do \
         echo \"address add 10.77.$j.$i/32 dev lo\"; done; done | ip -batch -",
    );
    let rt = runtime();
    let net = net_on(&lab, &rt, "node1");
    let own = IpAddr::V4(lab.host("node1")?.ipv4(0)?);
    rt.block_on(async {
        let mut cancelled = 0;
        let mut failures = Vec::new();
        for i in 0..200u64 {
            // Give up on a lookup after a few microseconds: often midway through its
            // dump, sometimes before or after.
            let wait = Duration::from_micros(20 + (i * 97) % 2000);
            if tokio::time::timeout(wait, net.lookup(own)).await.is_err() {
                cancelled += 1;
            }
            match net.lookup(own).await {
                Ok(p) => assert_eq!(p.len(), 1, "the host's own address once"),
                Err(e) => failures.push(format!("round {i}: {e}")),
            }
        }
        println!("{cancelled} of 200 lookups cancelled midway or before");
        assert!(
            cancelled > 0,
            "no lookup was cancelled: the test tested nothing"
        );
        assert!(failures.is_empty(), "{failures:#?}");
    });
    Ok(())
}
