//! Reports what sealing and opening one packet costs, per method: median and spread
//! over 21 batches. A figure, never a threshold.
//!
//! `cargo run --release -p halo-wire --example codec_cost`

use std::time::Instant;

use halo_types::{AuthMethod, ClusterName, Generation, NodeName};
use halo_wire::{Body, Heartbeat, Inbound, Keyring, Outbound, Received, SenderStatus};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = ClusterName::new("bench")?;
    let heartbeat = Body::Heartbeat(Heartbeat {
        status: SenderStatus::Active,
        keepalive_ms: 100,
        deadtime_ms: 500,
        highest_sent: 1234,
        oldest_retained: 1200,
    });
    const BATCH: u32 = 20_000;
    println!("method   packet  seal+open ns/packet: median  (min..max of 21 batches)");
    for method in [
        AuthMethod::Sha256,
        AuthMethod::Sha1,
        AuthMethod::Md5,
        AuthMethod::Crc,
    ] {
        let ring = Keyring::single(1, method, b"a reasonably long secret key".to_vec())?;
        let mut out = Outbound::new(cluster.clone(), NodeName::new("node-a")?, Generation(1));
        let mut inb = Inbound::new(cluster.clone(), NodeName::new("node-b")?);
        let mut size = 0;
        let mut per_packet: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..BATCH {
                    let bytes = out.seal(&heartbeat, &ring).unwrap_or_default();
                    size = bytes.len();
                    assert!(matches!(
                        inb.receive(&bytes, &ring),
                        Received::Fresh(_) | Received::NewGeneration { .. }
                    ));
                }
                t.elapsed().as_nanos() as f64 / f64::from(BATCH)
            })
            .collect();
        per_packet.sort_by(f64::total_cmp);
        println!(
            "{:<8} {:>4} B  {:>8.0}  ({:.0}..{:.0})",
            method.as_str(),
            size,
            per_packet[10],
            per_packet[0],
            per_packet[20]
        );
    }
    Ok(())
}
