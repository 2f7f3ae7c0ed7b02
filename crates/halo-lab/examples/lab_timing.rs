//! Reports how long the lab takes to build, change faults and tear down (median, min,
//! max over several trials). Run as root: `cargo run -p halo-lab --release --example lab_timing`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use halo_lab::{Lab, LabSpec};

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<40} n={:<3} min {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms",
        v.len(),
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    for (label, spec, trials) in [
        (
            "3 hosts, 2 bridges, serial, ping host",
            LabSpec::new()
                .hosts(3)
                .bridges(2)
                .serial("node1", "node2")
                .ping_host("ping1"),
            10,
        ),
        (
            "16 hosts, 2 bridges",
            LabSpec::new().hosts(16).bridges(2),
            5,
        ),
    ] {
        let (mut up, mut down, mut cut, mut heal) = (vec![], vec![], vec![], vec![]);
        for _ in 0..trials {
            let t = Instant::now();
            let lab = Lab::create(&spec).unwrap();
            up.push(t.elapsed());
            for _ in 0..10 {
                let t = Instant::now();
                lab.cut("node1").unwrap();
                cut.push(t.elapsed());
                let t = Instant::now();
                lab.heal("node1").unwrap();
                heal.push(t.elapsed());
            }
            let t = Instant::now();
            lab.teardown().unwrap();
            down.push(t.elapsed());
        }
        println!("{label}:");
        summary("  create", up);
        summary("  cut (one nft transaction)", cut);
        summary("  heal", heal);
        summary("  teardown", down);
    }
}
