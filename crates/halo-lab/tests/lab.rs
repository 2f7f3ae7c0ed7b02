//! The lab on real namespaces, bridges, nftables and ptys (run as root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{
    DEADLINE, QUIET, TestResult, assert_gone, blocked, drain, eventually, netns_list, pings,
    reaches, sock, traces,
};
use halo_lab::{Halod, Lab, LabSpec, LossTarget};

fn lab(spec: LabSpec) -> Lab {
    Lab::create(&spec).unwrap_or_else(|e| panic!("creating the lab: {e}"))
}

#[test]
fn lab_hosts_reach_each_other_over_each_bridge() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3).bridges(2));
    let names = lab.host_names();
    for bridge in 0..2 {
        for from in &names {
            for to in names.iter().filter(|t| t != &from) {
                let addr = lab.host(to)?.ipv4(bridge)?.to_string();
                assert!(
                    eventually(|| pings(&lab, from, &addr)),
                    "{from} cannot ping {to} at {addr}"
                );
                let tx = sock(&lab, from, bridge, false);
                let rx = sock(&lab, to, bridge, false);
                let seen = reaches(&tx, &rx, "hello");
                assert_eq!(
                    seen,
                    Some(tx.local_addr()?),
                    "UDP {from} -> {to} on br{bridge}"
                );
            }
        }
        // IPv6 (ucast6) between two hosts on this bridge.
        let tx = sock(&lab, "node1", bridge, true);
        let rx = sock(&lab, "node3", bridge, true);
        assert_eq!(reaches(&tx, &rx, "v6"), Some(tx.local_addr()?));
    }
    Ok(())
}

#[test]
fn lab_broadcast_and_multicast_reach_every_host() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3).bridges(2));
    let port = 16943;
    for bridge in 0..2 {
        // Receivers on node2 and node3: any address, joined to the groups on ethB.
        let mut rxs = Vec::new();
        for h in ["node2", "node3"] {
            let host = lab.host(h)?;
            let me = host.ipv4(bridge)?;
            let iface = host.iface(bridge)?;
            let (v4, v6) = lab.in_host_net(h, || {
                let v4 = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap();
                v4.join_multicast_v4(&Ipv4Addr::new(239, 0, 0, 9), &me)
                    .unwrap();
                let idx = nix::net::if_::if_nametoindex(iface.as_str()).unwrap();
                let v6 = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None)
                    .unwrap();
                v6.set_only_v6(true).unwrap();
                v6.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())
                    .unwrap();
                let group: Ipv6Addr = "ff12::9".parse().unwrap();
                v6.join_multicast_v6(&group, idx).unwrap();
                (v4, UdpSocket::from(v6))
            })?;
            for s in [&v4, &v6] {
                s.set_read_timeout(Some(Duration::from_millis(20)))?;
            }
            rxs.push((h, v4, v6));
        }
        let n1 = lab.host("node1")?;
        let (src, idx) = (n1.ipv4(bridge)?, n1.iface(bridge)?);
        let (bcast, mcast4, mcast6) = lab.in_host_net("node1", || {
            let b = UdpSocket::bind((src, 0)).unwrap();
            b.set_broadcast(true).unwrap();
            let m4 =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
            m4.set_multicast_if_v4(&src).unwrap();
            let m6 =
                socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None).unwrap();
            let i = nix::net::if_::if_nametoindex(idx.as_str()).unwrap();
            m6.set_multicast_if_v6(i).unwrap();
            (b, UdpSocket::from(m4), UdpSocket::from(m6))
        })?;
        let bcast_addr = SocketAddr::from((Ipv4Addr::new(10, 213, bridge as u8, 255), port));
        let m4_addr = SocketAddr::from((Ipv4Addr::new(239, 0, 0, 9), port));
        let m6_addr: SocketAddr = format!("[ff12::9]:{port}").parse()?;
        for (h, v4, v6) in &rxs {
            for (what, tx, to, rx) in [
                ("broadcast", &bcast, bcast_addr, v4),
                ("multicast", &mcast4, m4_addr, v4),
                ("multicast6", &mcast6, m6_addr, v6),
            ] {
                let got = eventually(|| {
                    tx.send_to(what.as_bytes(), to).unwrap();
                    drain(rx, Duration::from_millis(50))
                        .iter()
                        .any(|(m, _)| m == what)
                });
                assert!(got, "{what} from node1 on br{bridge} did not reach {h}");
            }
        }
    }
    Ok(())
}

#[test]
fn lab_hosts_have_their_own_hostnames() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let machine = nix::unistd::gethostname()?.to_string_lossy().into_owned();
    for h in lab.host_names() {
        let out = lab.output(h, &["uname", "-n"])?;
        assert!(out.status.success());
        let name = String::from_utf8(out.stdout)?.trim().to_owned();
        assert_eq!(name, h);
        assert_ne!(name, machine);
    }
    // Hosts know each other by name (a private /etc/hosts; the machine's is untouched).
    let out = lab.output("node1", &["getent", "hosts", "node3"])?;
    assert!(String::from_utf8(out.stdout)?.starts_with("10.213.0.3 "));
    assert!(pings(&lab, "node1", "node2"));
    assert!(!std::fs::read_to_string("/etc/hosts")?.contains("node3-e0"));
    Ok(())
}

#[test]
fn lab_private_directories_are_private() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2));
    let probe = format!("probe-{}", lab.prefix());
    let dirs = [
        "/run",
        "/run/resource-agents",
        "/var/run",
        "/tmp",
        "/var/log",
        "/var/lib/halo",
        "/etc/ha.d",
        "/dev/shm",
    ];
    for d in dirs {
        let f = format!("{d}/{probe}");
        let out = lab.sh("node1", &format!("echo node1 > {f}"))?;
        assert!(out.status.success(), "writing {f} on node1: {out:?}");
        let seen_on_node2 = lab.sh("node2", &format!("test -e {f}"))?.status.success();
        assert!(!seen_on_node2, "{f} written on node1 is visible on node2");
        assert!(
            !Path::new(&f).exists(),
            "{f} written on node1 is on the machine"
        );
        let inside = if d == "/var/run" { "/run" } else { d };
        let outside = lab.host("node1")?.path(format!("{inside}/{probe}"))?;
        assert_eq!(
            std::fs::read_to_string(&outside)?,
            "node1\n",
            "{}",
            outside.display()
        );
    }
    // The test writes a host's file from outside; the host reads it.
    std::fs::write(lab.host("node2")?.path("/etc/ha.d/ha.cf")?, "node node2\n")?;
    let out = lab.output("node2", &["cat", "/etc/ha.d/ha.cf"])?;
    assert_eq!(String::from_utf8(out.stdout)?, "node node2\n");
    // /etc/ha.d starts as a copy of the machine's (resource-agents ships shellfuncs).
    for entry in std::fs::read_dir("/etc/ha.d")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name();
        assert!(
            lab.host("node1")?.path("/etc/ha.d")?.join(&name).exists(),
            "/etc/ha.d/{} not seeded",
            name.to_string_lossy()
        );
    }
    // A real agent keeps its state per host: Dummy started on node1 is not running on
    // node2.
    let dummy = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
    assert!(
        Path::new(dummy).exists(),
        "{dummy} missing: install resource-agents (scripts/setup)"
    );
    let ra = |host: &str, action: &str| -> i32 {
        let mut cmd = lab.command(host, dummy).unwrap();
        cmd.arg(action)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "labprobe");
        cmd.output().unwrap().status.code().unwrap_or(-1)
    };
    assert_eq!(ra("node1", "start"), 0);
    assert_eq!(ra("node1", "monitor"), 0, "Dummy running on node1");
    assert_eq!(ra("node2", "monitor"), 7, "Dummy on node2 must be stopped");
    assert!(
        lab.host("node1")?
            .path("/run/resource-agents/Dummy-labprobe.state")?
            .exists()
    );
    Ok(())
}

#[test]
fn lab_cut_one_bridge_stops_it_and_heal_restores() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2).bridges(2));
    let (tx0, rx0) = (sock(&lab, "node1", 0, false), sock(&lab, "node2", 0, false));
    let (back0, brx0) = (sock(&lab, "node2", 0, false), sock(&lab, "node1", 0, false));
    let (tx1, rx1) = (sock(&lab, "node1", 1, false), sock(&lab, "node2", 1, false));
    assert!(reaches(&tx0, &rx0, "before").is_some());
    assert!(reaches(&tx1, &rx1, "before").is_some());

    lab.cut_link("node1", 0)?;
    assert!(
        blocked(&tx0, &rx0, "cut0"),
        "br0 still carries node1 -> node2"
    );
    assert!(lab.dropped()?.frames >= 10, "the switch counted the drops");
    assert!(
        blocked(&back0, &brx0, "cut0back"),
        "br0 still carries node2 -> node1"
    );
    assert!(
        reaches(&tx1, &rx1, "other").is_some(),
        "br1 must still work"
    );
    // The host's link stays up, as when a switch port dies.
    let link = lab.output("node1", &["ip", "-o", "link", "show", "eth0"])?;
    assert!(String::from_utf8_lossy(&link.stdout).contains("LOWER_UP"));

    lab.heal_link("node1", 0)?;
    assert!(
        reaches(&tx0, &rx0, "healed").is_some(),
        "heal must restore br0"
    );
    assert!(reaches(&back0, &brx0, "healedback").is_some());
    // Nothing sent during the cut arrived late.
    assert!(
        !drain(&rx0, QUIET)
            .iter()
            .any(|(m, _)| m.starts_with("cut0-"))
    );

    // Cut from everything, then heal.
    lab.cut("node1")?;
    assert!(blocked(&tx0, &rx0, "all0"));
    assert!(blocked(&tx1, &rx1, "all1"));
    assert!(!pings(&lab, "node2", "10.213.1.1"));
    lab.heal("node1")?;
    assert!(reaches(&tx1, &rx1, "back").is_some());
    assert!(lab.faults()?.is_empty());
    Ok(())
}

#[test]
fn lab_partition_splits_the_hosts_into_groups() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3).bridges(2));
    lab.partition(&[&["node1", "node2"][..], &["node3"][..]])?;
    for bridge in 0..2 {
        let s = |h| sock(&lab, h, bridge, false);
        let (n1, n2, n3) = (s("node1"), s("node2"), s("node3"));
        assert!(
            reaches(&n1, &n2, "same").is_some(),
            "br{bridge}: node1 -> node2 within a group"
        );
        assert!(reaches(&n2, &n1, "same").is_some());
        assert!(
            blocked(&n1, &n3, "x13"),
            "br{bridge}: node1 -> node3 across groups"
        );
        assert!(
            blocked(&n3, &n1, "x31"),
            "br{bridge}: node3 -> node1 across groups"
        );
        assert!(
            blocked(&n2, &n3, "x23"),
            "br{bridge}: node2 -> node3 across groups"
        );
    }
    // A partition that leaves a host out is refused, and the old one stays.
    let err = lab
        .partition(&[&["node1"][..], &["node2"][..]])
        .unwrap_err();
    assert!(err.to_string().contains("node3"), "{err}");
    assert_eq!(lab.faults()?.partition.len(), 2);

    lab.heal_partition()?;
    let (n1, n3) = (sock(&lab, "node1", 0, false), sock(&lab, "node3", 0, false));
    assert!(reaches(&n1, &n3, "joined").is_some());
    Ok(())
}

#[test]
fn lab_one_way_cut_drops_one_direction_only() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3).bridges(2));
    lab.cut_one_way("node1", "node2")?;
    for bridge in 0..2 {
        let s = |h| sock(&lab, h, bridge, false);
        let (n1, n2, n3) = (s("node1"), s("node2"), s("node3"));
        assert!(
            blocked(&n1, &n2, "ab"),
            "br{bridge}: node1 -> node2 must be dropped"
        );
        assert!(
            reaches(&n2, &n1, "ba").is_some(),
            "br{bridge}: node2 -> node1 must pass"
        );
        assert!(
            reaches(&n1, &n3, "ac").is_some(),
            "br{bridge}: node1 -> node3 must pass"
        );
    }
    // Ping needs both directions, so it fails either way round.
    assert!(!pings(&lab, "node1", "10.213.0.2"));
    assert!(!pings(&lab, "node2", "10.213.0.1"));
    lab.heal_one_way("node1", "node2")?;
    let (n1, n2) = (sock(&lab, "node1", 0, false), sock(&lab, "node2", 0, false));
    assert!(reaches(&n1, &n2, "healed").is_some());
    Ok(())
}

#[test]
fn lab_loss_drops_some_but_not_all_frames() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2));
    let (tx, rx) = (sock(&lab, "node1", 0, false), sock(&lab, "node2", 0, false));
    assert!(reaches(&tx, &rx, "warm").is_some());
    drain(&rx, QUIET);
    lab.set_loss(LossTarget::Bridge(0), 0.2)?;
    let to = rx.local_addr()?;
    let (mut sent, mut got) = (0, 0);
    for batch in 0..20 {
        for i in 0..20 {
            tx.send_to(format!("loss-{batch}-{i}").as_bytes(), to)?;
            sent += 1;
        }
        // Drain as we go so that the receiver's buffer never overflows.
        got += drain(&rx, Duration::from_millis(40))
            .iter()
            .filter(|(m, _)| m.starts_with("loss-"))
            .count();
    }
    got += drain(&rx, QUIET)
        .iter()
        .filter(|(m, _)| m.starts_with("loss-"))
        .count();
    assert!(got > 0, "20% loss dropped all {sent} datagrams");
    assert!(got < sent, "20% loss dropped none of {sent} datagrams");
    eprintln!("loss 20%: {got} of {sent} delivered");

    lab.set_loss(LossTarget::Bridge(0), 0.0)?;
    assert!(lab.faults()?.is_empty());
    assert!(lab.set_loss(LossTarget::Bridge(0), 1.5).is_err());
    assert!(lab.set_loss(LossTarget::Bridge(3), 0.5).is_err());
    Ok(())
}

#[test]
fn lab_serial_link_carries_bytes_and_can_be_cut() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2).serial("node1", "node2"));
    let link = &lab.serial_links()[0];
    assert_eq!(link.device_a, Path::new("/run/halo-lab/ttyS0"));
    let dev_b = link.device_b.display().to_string();
    let dev_a = link.device_a.display().to_string();
    let reader_b = lab.spawn_args("node2", &["cat", dev_b.as_str()])?;
    let reader_a = lab.spawn_args("node1", &["cat", dev_a.as_str()])?;
    let write = |host: &str, dev: &str, text: &str| {
        let out = lab
            .sh(host, &format!("printf '{text}\\n' > {dev}"))
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    // Both directions; retry the write until the reader has opened its end.
    assert!(eventually(|| {
        write("node1", &dev_a, "a-to-b");
        reader_b.log_text().contains("a-to-b")
    }));
    assert!(eventually(|| {
        write("node2", &dev_b, "b-to-a");
        reader_a.log_text().contains("b-to-a")
    }));

    lab.cut_serial(0)?;
    write("node1", &dev_a, "lost-in-cut");
    // The bytes sit in the pty until the relay reads them; heal only once the cut has
    // dropped them.
    assert!(eventually(|| lab.dropped().unwrap().serial_datagrams > 0));
    lab.heal_serial(0)?;
    assert!(eventually(|| {
        write("node1", &dev_a, "after-heal");
        reader_b.log_text().contains("after-heal")
    }));
    // A serial line is ordered: had the bytes written during the cut been carried, they
    // would have arrived before these.
    assert!(
        !reader_b.log_text().contains("lost-in-cut"),
        "{}",
        reader_b.log_text()
    );

    // One way: node1 -> node2 cut, node2 -> node1 still carried.
    lab.cut_serial_one_way(0, "node1")?;
    write("node1", &dev_a, "one-way-lost");
    assert!(eventually(|| lab.dropped().unwrap().serial_datagrams > 0));
    assert!(eventually(|| {
        write("node2", &dev_b, "reverse-ok");
        reader_a.log_text().contains("reverse-ok")
    }));
    lab.heal_serial(0)?;
    assert!(eventually(|| {
        write("node1", &dev_a, "again");
        reader_b.log_text().contains("again")
    }));
    assert!(!reader_b.log_text().contains("one-way-lost"));
    Ok(())
}

#[test]
fn lab_ping_host_answers_only_icmp_and_can_be_cut() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2).ping_host_on("ping1", &[0]));
    let ping = lab.ping_host("ping1")?.ipv4(0)?;
    assert_eq!(ping, Ipv4Addr::new(10, 213, 0, 201));
    assert!(eventually(|| pings(&lab, "node1", &ping.to_string())));
    let v6 = lab.ping_host("ping1")?.ipv6(0)?.to_string();
    assert!(eventually(|| {
        lab.output("node1", &["ping", "-6", "-n", "-c1", "-W1", &v6])
            .unwrap()
            .status
            .success()
    }));

    // A closed port on a normal host answers with ICMP port unreachable (the connected
    // socket sees ECONNREFUSED); on the ping host, UDP and TCP get no answer at all.
    let refused_on = |target: Ipv4Addr| -> bool {
        let s = lab
            .in_host_net("node1", || {
                UdpSocket::bind((Ipv4Addr::new(10, 213, 0, 1), 0))
            })
            .unwrap()
            .unwrap();
        s.connect((target, 9)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 16];
        (0..5).any(|_| {
            let _ = s.send(b"x");
            matches!(s.recv(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
        })
    };
    assert!(
        refused_on(Ipv4Addr::new(10, 213, 0, 2)),
        "a normal host refuses"
    );
    assert!(!refused_on(ping), "the ping host must not answer UDP");
    let tcp = lab.in_host_net("node1", || {
        TcpStream::connect_timeout(
            &SocketAddr::V4(SocketAddrV4::new(ping, 22)),
            Duration::from_millis(500),
        )
    })?;
    assert_eq!(tcp.unwrap_err().kind(), std::io::ErrorKind::TimedOut);

    lab.cut("ping1")?;
    assert!(!pings(&lab, "node1", &ping.to_string()));
    lab.heal("ping1")?;
    assert!(eventually(|| pings(&lab, "node1", &ping.to_string())));
    Ok(())
}

#[test]
fn lab_process_control_start_stop_kill_wait() -> TestResult {
    let lab = lab(LabSpec::new().hosts(2));
    // Output is captured to the host's log.
    let p = lab.spawn_args(
        "node1",
        &[
            "sh",
            "-c",
            "echo out-line; echo err-line >&2; exec sleep 1000",
        ],
    )?;
    assert!(eventually(|| {
        let t = p.log_text();
        t.contains("out-line") && t.contains("err-line")
    }));
    assert!(p.log.starts_with(lab.dir()));
    assert!(lab.is_running(&p)?);
    assert!(lab.pids_on("node1")?.contains(&p.pid));
    assert!(!lab.pids_on("node2")?.contains(&p.pid));
    let status = lab.stop(&p, DEADLINE)?;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(!lab.is_running(&p)?);

    // A process that ignores SIGTERM is killed after the grace period.
    let stubborn = lab.spawn_args(
        "node1",
        &[
            "sh",
            "-c",
            "trap '' TERM; echo ready; while :; do sleep 1; done",
        ],
    )?;
    assert!(eventually(|| stubborn.log_text().contains("ready")));
    let status = lab.stop(&stubborn, Duration::from_millis(300))?;
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // Exit codes come back.
    let quick = lab.spawn_args("node2", &["sh", "-c", "exit 3"])?;
    assert_eq!(lab.wait(&quick, DEADLINE)?.code(), Some(3));
    let sleeper = lab.spawn_args("node2", &["sleep", "1000"])?;
    assert_eq!(lab.kill(&sleeper)?.signal(), Some(libc::SIGKILL));
    assert!(matches!(
        lab.wait(
            &lab.spawn_args("node2", &["sleep", "1000"])?,
            Duration::from_millis(50)
        ),
        Err(halo_lab::LabError::Timeout { .. })
    ));

    // halod arguments pass through unchanged (echo stands in for the daemon).
    let echo = lab.start_halod("node1", &Halod::new("/bin/echo").arg("--extra"))?;
    lab.wait(&echo, DEADLINE)?;
    assert_eq!(
        echo.log_text().trim(),
        "--config-dir /etc/ha.d --state-dir /var/lib/halo --run-dir /run/halo --node node1 --foreground --extra"
    );
    assert!(lab.host("node1")?.path("/var/lib/halo")?.is_dir());

    // A host crash: every process on it dies, whoever started it.
    let mut untracked = lab.command("node2", "sleep")?;
    let mut untracked = untracked.arg("1000").spawn()?;
    assert!(
        !lab.signal_host("node2", nix::sys::signal::Signal::SIGKILL)?
            .is_empty()
    );
    assert_eq!(untracked.wait()?.signal(), Some(libc::SIGKILL));
    assert!(eventually(|| lab.pids_on("node2").unwrap().is_empty()));
    Ok(())
}

#[test]
fn lab_teardown_leaves_nothing_behind() -> TestResult {
    let lab = lab(LabSpec::new()
        .hosts(2)
        .bridges(2)
        .serial("node1", "node2")
        .ping_host("ping1"));
    lab.spawn_args("node1", &["sleep", "1000"])?;
    // A grandchild the lab never saw, and a process started outside its tracking.
    lab.spawn_args("node2", &["sh", "-c", "sleep 1000 & exec sleep 1001"])?;
    let _untracked = lab.command("node1", "sleep")?.arg("1002").spawn()?;
    lab.cut("node1")?;
    assert!(
        eventually(|| traces(&lab).procs.len() >= 6),
        "{:?}",
        traces(&lab)
    );
    let t = traces(&lab);
    assert!(netns_list().contains(&format!("{}-node1", t.prefix)));
    drop(lab);
    assert_gone(&t);
    Ok(())
}

#[test]
fn lab_teardown_runs_when_a_test_panics() -> TestResult {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let lab = lab(LabSpec::new().hosts(2).serial("node1", "node2"));
        lab.spawn_args("node1", &["sleep", "1000"]).unwrap();
        assert!(eventually(|| traces(&lab).procs.len() >= 3));
        tx.send(traces(&lab)).unwrap();
        panic!("a failing test");
    });
    assert!(result.is_err());
    assert_gone(&rx.recv()?);
    Ok(())
}

#[test]
fn lab_two_labs_at_once_do_not_interfere() -> TestResult {
    let a = lab(LabSpec::new().hosts(2));
    let b = lab(LabSpec::new().hosts(2));
    assert_ne!(a.prefix(), b.prefix());
    // The same addresses exist in both; a datagram stays in its own lab.
    let port = 17001;
    let bind = |l: &Lab| {
        let s = l
            .in_host_net("node2", || {
                UdpSocket::bind((Ipv4Addr::new(10, 213, 0, 2), port))
            })
            .unwrap()
            .unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        s
    };
    let (rx_a, rx_b) = (bind(&a), bind(&b));
    let tx_a = sock(&a, "node1", 0, false);
    assert!(reaches(&tx_a, &rx_a, "only-a").is_some());
    assert!(
        !drain(&rx_b, QUIET)
            .iter()
            .any(|(m, _)| m.starts_with("only-a")),
        "lab b received lab a's datagram"
    );
    // A fault in one lab leaves the other alone.
    a.cut("node1")?;
    let tx_b = sock(&b, "node1", 0, false);
    assert!(reaches(&tx_b, &rx_b, "b-works").is_some());
    assert!(blocked(&tx_a, &rx_a, "a-cut"));
    assert!(b.faults()?.is_empty());
    // Tearing one down leaves the other running.
    let ta = traces(&a);
    drop(a);
    assert_gone(&ta);
    assert!(reaches(&tx_b, &rx_b, "b-still").is_some());
    assert!(eventually(|| pings(&b, "node2", "10.213.0.1")));
    Ok(())
}

/// The `halo-lab` command end to end: up, exec, cut, status, heal, down.
#[test]
fn lab_command_drives_a_lab() -> TestResult {
    let bin = env!("CARGO_BIN_EXE_halo-lab");
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .env_remove("HALO_LAB")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "up",
        "--hosts",
        "2",
        "--bridges",
        "1",
        "--serial",
        "node1:node2",
        "--owner-pid",
        &std::process::id().to_string(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let prefix = out
        .lines()
        .find_map(|l| l.strip_prefix("export HALO_LAB="))
        .expect("up prints the prefix")
        .to_owned();
    let guard = Guard(prefix.clone());
    assert!(out.contains("10.213.0.2"), "{out}");
    assert!(out.contains("/run/halo-lab/ttyS0"), "{out}");

    let lab = ["--lab", prefix.as_str()];
    let with = |extra: &[&str]| -> Vec<String> {
        lab.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let runv = |v: Vec<String>| run(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let (code, out, _) = runv(with(&["exec", "node2", "--", "uname", "-n"]));
    assert_eq!((code, out.trim()), (Some(0), "node2"));
    let (code, _, _) = runv(with(&["exec", "node1", "--", "sh", "-c", "exit 7"]));
    assert_eq!(code, Some(7), "exec passes the exit code through");
    let (code, out, _) = runv(with(&["exec", "-d", "node1", "--", "sleep", "1000"]));
    assert_eq!(code, Some(0));
    let pid: u32 = out.trim().parse()?;
    assert!(common::start_time(pid).is_some());

    assert_eq!(runv(with(&["cut", "node1"])).0, Some(0));
    let (code, _, _) = runv(with(&[
        "exec",
        "node2",
        "--",
        "ping",
        "-c1",
        "-W1",
        "10.213.0.1",
    ]));
    assert_ne!(code, Some(0), "ping across a cut");
    let (_, status, _) = runv(with(&["status"]));
    assert!(status.contains("cut node1 from br0"), "{status}");
    assert!(status.contains("sleep 1000"), "{status}");
    let (_, json, _) = runv(with(&["status", "--json"]));
    let st: halo_lab::LabState = serde_json::from_str(&json)?;
    assert_eq!(st.faults.cut.len(), 1);

    assert_eq!(runv(with(&["heal"])).0, Some(0));
    assert!(eventually(|| runv(with(&[
        "exec",
        "node2",
        "--",
        "ping",
        "-c1",
        "-W1",
        "10.213.0.1"
    ]))
    .0 == Some(0)));
    let (code, _, err) = runv(with(&["exec", "nodeX", "--", "true"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("no host named \"nodeX\""), "{err}");
    let (code, _, _) = run(&["frobnicate"]);
    assert_eq!(code, Some(2), "usage errors exit 2");

    let traces = common::Traces {
        prefix: prefix.clone(),
        procs: vec![(pid, common::start_time(pid).unwrap())],
    };
    assert_eq!(run(&["down", &prefix]).0, Some(0));
    std::mem::forget(guard);
    assert_gone(&traces);
    Ok(())
}

/// `halo-lab cleanup` removes the lab of a dead owner, keeps live labs, and touches
/// nothing outside the prefix convention.
#[test]
fn lab_cleanup_removes_only_leftovers_of_crashed_runs() -> TestResult {
    let bin = env!("CARGO_BIN_EXE_halo-lab");
    let live = lab(LabSpec::new().hosts(2));
    // A decoy namespace that does not follow the convention.
    let decoy = format!("hl-notalab-{}", std::process::id());
    assert!(
        Command::new("ip")
            .args(["netns", "add", &decoy])
            .status()?
            .success()
    );
    let _decoy = Decoy(decoy.clone());

    let mut owner = Command::new("sleep").arg("1000").spawn()?;
    let out = Command::new(bin)
        .args([
            "up",
            "--hosts",
            "2",
            "--serial",
            "node1:node2",
            "--owner-pid",
            &owner.id().to_string(),
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = String::from_utf8(out.stdout)?
        .lines()
        .find_map(|l| l.strip_prefix("export HALO_LAB=").map(str::to_owned))
        .expect("prefix");
    let guard = Guard(prefix.clone());
    let out = Command::new(bin)
        .args([
            "--lab", &prefix, "exec", "-d", "node1", "--", "sleep", "1000",
        ])
        .output()?;
    let pid: u32 = String::from_utf8(out.stdout)?.trim().parse()?;
    let crashed = common::Traces {
        prefix: prefix.clone(),
        procs: vec![(pid, common::start_time(pid).expect("running"))],
    };

    // While its owner lives, the lab is kept.
    let out = Command::new(bin).arg("cleanup").output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(text.contains(&format!("kept {prefix}")), "{text}");
    assert!(netns_list().contains(&format!("{prefix}-node1")));

    // The owner dies: the lab is a leftover.
    owner.kill()?;
    owner.wait()?;
    let out = Command::new(bin).arg("cleanup").output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("removed {prefix}: owner pid")),
        "{text}"
    );
    std::mem::forget(guard);
    assert_gone(&crashed);

    // Everything else is untouched.
    assert!(text.contains(&format!("kept {}", live.prefix())), "{text}");
    assert!(
        netns_list().contains(&decoy),
        "the decoy namespace was removed"
    );
    let (tx, rx) = (
        sock(&live, "node1", 0, false),
        sock(&live, "node2", 0, false),
    );
    assert!(reaches(&tx, &rx, "live").is_some());
    Ok(())
}

/// Removes a lab made through the command if the test fails before `down`.
struct Guard(String);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = halo_lab::teardown_prefix(&self.0);
    }
}

/// Removes the decoy namespace.
struct Decoy(String);
impl Drop for Decoy {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

/// A service address moves between hosts with the real IPaddr2 agent and the other
/// hosts follow it to its new MAC (service addresses, unlike node addresses, have no
/// permanent neighbour entries: ARP, gratuitous ARP included, works as on a real LAN).
#[test]
fn lab_virtual_ip_moves_between_hosts_with_ipaddr2() -> TestResult {
    let lab = lab(LabSpec::new().hosts(3));
    let agent = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
    assert!(
        Path::new(agent).exists(),
        "{agent} missing: install resource-agents (scripts/setup)"
    );
    let vip = halo_lab::service_ipv4(0, 0).to_string();
    let ra = |host: &str, action: &str| -> i32 {
        let mut cmd = lab.command(host, agent).unwrap();
        cmd.arg(action)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "vip")
            .env("OCF_RESKEY_ip", &vip)
            .env("OCF_RESKEY_cidr_netmask", "24");
        cmd.output().unwrap().status.code().unwrap_or(-1)
    };
    // node2's view: which MAC answers for the VIP?
    let mac_seen_by_node2 = || -> String {
        let _ = lab.output("node2", &["ping", "-n", "-c1", "-W1", &vip]);
        let out = lab.output("node2", &["ip", "neigh", "show", &vip]).unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(ra("node1", "start"), 0);
    assert_eq!(ra("node1", "monitor"), 0);
    assert_eq!(ra("node3", "monitor"), 7);
    assert!(eventually(|| pings(&lab, "node2", &vip)));
    assert!(eventually(
        || mac_seen_by_node2().contains("02:68:6c:00:00:01")
    ));

    assert_eq!(ra("node1", "stop"), 0);
    assert_eq!(ra("node3", "start"), 0);
    assert!(
        eventually(|| mac_seen_by_node2().contains("02:68:6c:00:00:03")),
        "node2 still sends the VIP's traffic to node1: {}",
        mac_seen_by_node2()
    );
    assert!(pings(&lab, "node2", &vip));
    assert_eq!(ra("node3", "stop"), 0);
    Ok(())
}
