//! When exactly a cut took effect: a stream of UDP datagrams, one per millisecond, from
//! one lab host to another, received by this process in the other host's network
//! namespace. The arrival of the last datagram before a cut marks the moment the cut
//! took effect to within about a millisecond, however long the `nft` process that
//! installed the rules took around it.
//!
//! ```text
//!  node3 (sender thread, socket in node3's netns) ──udp, 1/ms──▶ node1 (receiver thread)
//!                                                        arrivals: [Instant, …]
//! ```
//!
//! The datagrams only go between two lab addresses on a bridge without uplink.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use halo_lab::Lab;

use crate::error::{BenchError, Result};
use crate::watch::Recorder;

/// Interval between datagrams.
const INTERVAL: Duration = Duration::from_millis(1);
/// The receiver's port (not used by the stacks under test).
const PORT: u16 = 7394;

/// A running probe stream.
#[derive(Debug)]
pub struct Probe {
    arrivals: Recorder<u64>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Probe {
    /// Start a stream from `from` to `to` on `bridge`.
    pub fn start(lab: &Lab, from: &str, to: &str, bridge: usize) -> Result<Probe> {
        let src = SocketAddr::new(lab.host(from)?.ipv4(bridge)?.into(), 0);
        let dst = SocketAddr::new(lab.host(to)?.ipv4(bridge)?.into(), PORT);
        let bind = |host: &str, addr: SocketAddr| -> Result<UdpSocket> {
            lab.in_host_net(host, || UdpSocket::bind(addr))?
                .map_err(|e| BenchError::io(format!("binding {addr} on {host}"), e))
        };
        let tx = bind(from, src)?;
        let rx = bind(to, dst)?;
        rx.set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| BenchError::io("setting a timeout", e))?;
        let arrivals = Recorder::new();
        let stop = Arc::new(AtomicBool::new(false));
        let sender = spawn_sender("probe-tx", tx, dst, INTERVAL, stop.clone())?;
        let receiver = spawn_receiver("probe-rx", rx, arrivals.clone(), stop.clone(), |b| {
            let b: [u8; 8] = b.try_into().ok()?;
            Some(u64::from_le_bytes(b))
        })?;
        Ok(Probe {
            arrivals,
            stop,
            threads: vec![sender, receiver],
        })
    }

    /// When a cut installed by a call that ran from `start` to `returned` took effect:
    /// the arrival of the last datagram of that interval (the next one, at most a
    /// millisecond later, was dropped). `None` if datagrams still arrived after the call
    /// (the cut did not stop them) or none arrived during it.
    pub fn cut_at(&self, start: Instant, returned: Instant) -> Option<Instant> {
        // A datagram in flight when the call returned may land just after it.
        let end = returned + Duration::from_millis(5);
        let items = self.arrivals.items();
        if items.iter().any(|s| s.at > end) {
            return None;
        }
        items
            .iter()
            .rev()
            .find(|s| s.at >= start && s.at <= end)
            .map(|s| s.at)
    }

    /// Wait until datagrams arrive again after `since` (the cut has healed).
    pub fn wait_flowing(&self, since: Instant, limit: Duration) -> bool {
        self.arrivals.wait_for(limit, |s| s.at >= since).is_some()
    }
}

/// A thread sending a sequence number (`u64`, little-endian) from `sock` to `dst`
/// every `interval` until `stop`.
pub fn spawn_sender(
    name: &str,
    sock: UdpSocket,
    dst: SocketAddr,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut n: u64 = 0;
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // A send refused (cut, no route, no ARP answer yet) is just a lost datagram.
                let _ = sock.send_to(&n.to_le_bytes(), dst);
                next += interval;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        })
        .map_err(|e| BenchError::io(format!("starting {name}"), e))
}

/// A thread recording what `parse` makes of each datagram `sock` receives, until
/// `stop` (`sock` needs a read timeout); closes `rec` when it ends.
pub fn spawn_receiver<T: Clone + Send + 'static>(
    name: &str,
    sock: UdpSocket,
    rec: Recorder<T>,
    stop: Arc<AtomicBool>,
    parse: fn(&[u8]) -> Option<T>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((len, _)) = sock.recv_from(&mut buf)
                    && let Some(v) = parse(&buf[..len])
                {
                    rec.push(v);
                }
            }
            rec.close();
        })
        .map_err(|e| BenchError::io(format!("starting {name}"), e))
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
