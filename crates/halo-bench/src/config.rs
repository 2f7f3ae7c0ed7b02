//! ha.cf and authkeys for test and benchmark clusters. halo and heartbeat 3.0.6 read the
//! same format, so one renderer serves both stacks; each adds its own lines.

use std::fmt::Write as _;
use std::time::Duration;

/// The failure detector's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `keepalive`: one heartbeat per interval.
    pub keepalive: Duration,
    /// `deadtime`: a node silent this long is dead.
    pub deadtime: Duration,
    /// `initdead`: the deadtime for nodes not heard yet after start-up.
    pub initdead: Duration,
}

impl Timing {
    /// keepalive 100 ms, deadtime 500 ms (`halo init --timing fast`); initdead 3 s.
    pub const FAST: Timing = Timing::ms(100, 500);
    /// keepalive 10 ms, deadtime 40 ms (`halo init --timing fastest`); initdead 3 s.
    pub const FASTEST: Timing = Timing::ms(10, 40);

    /// keepalive and deadtime in milliseconds, initdead 3 s.
    pub const fn ms(keepalive: u64, deadtime: u64) -> Timing {
        Timing {
            keepalive: Duration::from_millis(keepalive),
            deadtime: Duration::from_millis(deadtime),
            initdead: Duration::from_secs(3),
        }
    }

    /// `warntime`: half the deadtime (250 ms at 100/500, 20 ms at 10/40, as `halo init`
    /// writes them).
    pub fn warntime(&self) -> Duration {
        self.deadtime / 2
    }

    /// `keepalive/deadtime` in milliseconds, e.g. `100/500`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}",
            self.keepalive.as_millis(),
            self.deadtime.as_millis()
        )
    }
}

/// An ha.cf: timing, media and other lines, and the node list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaCf {
    /// The timing directives.
    pub timing: Timing,
    /// Every cluster node.
    pub nodes: Vec<String>,
    /// Other lines (media, ping nodes, logging), in order.
    pub lines: Vec<String>,
}

impl HaCf {
    /// An ha.cf for `nodes` with `timing` and no medium yet.
    pub fn new(timing: Timing, nodes: &[&str]) -> HaCf {
        HaCf {
            timing,
            nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
            lines: Vec::new(),
        }
    }

    /// Add a line (`bcast eth0`, `ping 10.213.0.201`, …).
    pub fn line(mut self, line: impl Into<String>) -> HaCf {
        self.lines.push(line.into());
        self
    }

    /// `ucast IFACE ADDR` lines to every node's address on each bridge (the node's own
    /// included, as one file serves every node): hosts are numbered in `nodes` order,
    /// as the lab's address plan numbers them.
    pub fn ucast_all(mut self, bridges: usize) -> HaCf {
        for b in 0..bridges {
            for n in 1..=self.nodes.len() {
                let addr = halo_lab::node_ipv4(b, u8::try_from(n).unwrap_or(u8::MAX));
                self.lines.push(format!("ucast eth{b} {addr}"));
            }
        }
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let ms = |d: Duration| d.as_millis();
        let t = &self.timing;
        let mut out = String::from("# written by halo-bench\n");
        let _ = writeln!(out, "keepalive {}ms", ms(t.keepalive));
        let _ = writeln!(out, "warntime {}ms", ms(t.warntime()));
        let _ = writeln!(out, "deadtime {}ms", ms(t.deadtime));
        let _ = writeln!(out, "initdead {}ms", ms(t.initdead));
        let _ = writeln!(out, "udpport 694");
        for l in &self.lines {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "node {}", self.nodes.join(" "));
        out
    }
}

/// An authkeys file with one key: `auth 1` / `1 METHOD SECRET`. halo signs with
/// `sha256`; heartbeat 3.0.6 knows `sha1`, `md5` and `crc`.
pub fn authkeys(method: &str, secret: &str) -> String {
    format!("auth 1\n1 {method} {secret}\n")
}

/// A fresh 256-bit secret, in hex.
pub fn random_secret() -> String {
    let mut key = [0u8; 32];
    // No randomness at all is a broken machine; a fixed key still works for a test.
    let _ = getrandom::fill(&mut key);
    key.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_timing_media_and_nodes() {
        let text = HaCf::new(Timing::FASTEST, &["a", "b"])
            .ucast_all(2)
            .line("crm no")
            .render();
        assert!(text.contains("keepalive 10ms\nwarntime 20ms\ndeadtime 40ms\ninitdead 3000ms\n"));
        assert!(
            text.contains("ucast eth0 10.213.0.1\nucast eth0 10.213.0.2\nucast eth1 10.213.1.1\n")
        );
        assert!(text.ends_with("crm no\nnode a b\n"), "{text}");
        assert_eq!(Timing::FAST.label(), "100/500");
    }

    #[test]
    fn secrets_differ() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
