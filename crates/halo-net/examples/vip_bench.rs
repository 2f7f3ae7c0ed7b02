//! How long taking over a virtual IP takes: halo's netlink add in-process, the
//! `halo-ipaddr` agent as a process, and Debian's `ocf:heartbeat:IPaddr2`, each until the
//! call returns and until its first gratuitous ARP reaches another host on the bridge.
//! Reports figures, asserts nothing.
//!
//! ```sh
//! cargo build --release -p halo-net --bin halo-ipaddr --example vip_bench
//! sudo target/release/examples/vip_bench [TRIALS] [PATH/TO/halo-ipaddr]
//! ```
//!
//! A lab of two hosts on one bridge: node1 takes the address, node2 listens on a raw
//! socket and timestamps every gratuitous ARP for it. Each trial starts with the address
//! absent; the clock starts just before the call.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use halo_lab::{Lab, LabSpec, service_ipv4};
use halo_net::{AnnounceConfig, Net, VipSpec};
use socket2::{Domain, Protocol, Socket, Type};

fn main() -> Result<()> {
    let trials: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let agent = std::env::args().nth(2).map_or_else(
        || {
            std::env::current_exe()
                .ok()
                .and_then(|p| Some(p.parent()?.parent()?.join("halo-ipaddr")))
                .unwrap_or_default()
        },
        Into::into,
    );
    // Absolute: commands on a lab host start in its "/".
    let agent = std::fs::canonicalize(&agent)
        .with_context(|| format!("{}: build it or give its path", agent.display()))?;
    let lab = Lab::create(&LabSpec::new().hosts(2))?;
    std::fs::create_dir_all(lab.host("node1")?.path("/run/resource-agents")?)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let net = lab.in_host_net("node1", || {
        let _g = rt.enter();
        Net::open()
    })??;
    let vip = service_ipv4(0, 50);
    let arps = listen(&lab, "node2", vip)?;
    let cfg = AnnounceConfig::default();
    let spec = VipSpec::parse_shorthand(&format!("{vip}/24/eth0"))?;
    let resolved = rt.block_on(net.resolve(&spec))?;
    let params = [("ip", vip.to_string()), ("cidr_netmask", "24".into())];

    let mut rows: Vec<(&str, Vec<Duration>, Vec<Duration>)> = Vec::new();
    let mut bench = |name: &'static str,
                     run: &mut dyn FnMut() -> Result<()>,
                     stop: &mut dyn FnMut() -> Result<()>|
     -> Result<()> {
        let (mut ret, mut wire) = (Vec::new(), Vec::new());
        for _ in 0..trials {
            while arps.try_recv().is_ok() {}
            let t0 = Instant::now();
            run()?;
            ret.push(t0.elapsed());
            let first = arps
                .recv_timeout(Duration::from_secs(10))
                .with_context(|| format!("{name}: no gratuitous ARP seen"))?;
            wire.push(first.saturating_duration_since(t0));
            // Let the background announcements finish before the next trial.
            std::thread::sleep(Duration::from_millis(1100));
            stop()?;
        }
        rows.push((name, ret, wire));
        Ok(())
    };

    bench(
        "halo in-process: Net::add (resolved)",
        &mut || Ok(rt.block_on(net.add(&resolved, &cfg)).map(|_| ())?),
        &mut || Ok(rt.block_on(net.remove(vip.into(), None)).map(|_| ())?),
    )?;
    bench(
        "halo in-process: resolve + add",
        &mut || {
            let v = rt.block_on(net.resolve(&spec))?;
            Ok(rt.block_on(net.add(&v, &cfg)).map(|_| ())?)
        },
        &mut || Ok(rt.block_on(net.remove(vip.into(), None)).map(|_| ())?),
    )?;
    bench(
        "halo-ipaddr start (process)",
        &mut || ocf(&lab, agent.to_str().unwrap_or_default(), "start", &params),
        &mut || ocf(&lab, agent.to_str().unwrap_or_default(), "stop", &params),
    )?;
    let one = [
        ("ip", vip.to_string()),
        ("cidr_netmask", "24".into()),
        ("arp_count", "1".into()),
    ];
    bench(
        "halo-ipaddr start, arp_count=1 (no announcer process)",
        &mut || ocf(&lab, agent.to_str().unwrap_or_default(), "start", &one),
        &mut || ocf(&lab, agent.to_str().unwrap_or_default(), "stop", &one),
    )?;
    bench(
        "ocf:heartbeat:IPaddr2 start (Debian)",
        &mut || {
            ocf(
                &lab,
                "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
                "start",
                &params,
            )
        },
        &mut || {
            ocf(
                &lab,
                "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
                "stop",
                &params,
            )
        },
    )?;

    println!("{trials} trials each; milliseconds: median (min–max)\n");
    println!("| how | call returns | first gratuitous ARP at node2 |");
    println!("| --- | --- | --- |");
    for (name, ret, wire) in &rows {
        println!("| {name} | {} | {} |", stats(ret), stats(wire));
    }
    Ok(())
}

fn ocf(lab: &Lab, agent: &str, action: &str, params: &[(&str, String)]) -> Result<()> {
    let mut cmd: Command = lab.command("node1", agent)?;
    cmd.arg(action)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", "vip")
        .env("HA_RSCTMP", "/run/resource-agents");
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    // Wait for the process to exit, not for its output to end, as an executor does
    // (IPaddr2's background send_arp keeps its stdout open for a second).
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("{agent} {action}: {status:?}");
    }
    Ok(())
}

/// A thread on a raw ARP socket of `host` that sends the arrival time of every
/// gratuitous ARP for `vip`.
fn listen(lab: &Lab, host: &str, vip: Ipv4Addr) -> Result<mpsc::Receiver<Instant>> {
    let socket = lab.in_host_net(host, || {
        Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(0x0806u16.to_be()))),
        )
    })??;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        loop {
            let Ok(n) = std::io::Read::read(&mut &socket, &mut buf) else {
                return;
            };
            let at = Instant::now();
            let f = &buf[..n];
            if n >= 42 {
                let spa = IpAddr::from([f[28], f[29], f[30], f[31]]);
                let tpa = IpAddr::from([f[38], f[39], f[40], f[41]]);
                if spa == IpAddr::V4(vip) && tpa == spa && tx.send(at).is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}

fn stats(v: &[Duration]) -> String {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let med = if ms.is_empty() {
        0.0
    } else if ms.len() % 2 == 1 {
        ms[ms.len() / 2]
    } else {
        (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0
    };
    format!(
        "{med:.2} ({:.2}–{:.2})",
        ms.first().copied().unwrap_or_default(),
        ms.last().copied().unwrap_or_default()
    )
}
