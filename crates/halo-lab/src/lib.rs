//! The halo lab: N test hosts on one machine, wired by bridges without uplink and serial
//! pty pairs, with nftables to break the wiring. Integration tests of `halod`, the demo,
//! the benchmarks and the CTS stand on it; the `halo-lab` command drives it from a shell.
//!
//! ```text
//!        host node1                 host node2                ping host ping1
//!   netns+uts+mnt namespaces   netns+uts+mnt namespaces       netns (ICMP only)
//!   eth0 10.213.0.1 eth1 …     eth0 10.213.0.2 eth1 …         eth0 10.213.0.201
//!     │            │             │            │                 │
//!  ┌──┴────────────┴─────────────┴────────────┴─────────────────┴──────────────┐
//!  │ switch namespace PREFIX-switch                                              │
//!  │   node1-e0 ─┐          node2-e0 ─┐          ping1-e0 ─┐                     │
//!  │             br0 ─────────────────┴────────────────────┘   (no uplink)     │
//!  │   node1-e1 ─ br1 ─ node2-e1                                                 │
//!  │   nft: table bridge halo_lab (cuts, partitions, one-way, loss)             │
//!  │   socat relays: pty ⇄ udp 127.0.0.1 ⇄ pty     table inet halo_lab_serial    │
//!  └─────────────────────────────────────────────────────────────────────────────┘
//!   node1:/run/halo-lab/ttyS0  ⇠ serial link 0 ⇢  node2:/run/halo-lab/ttyS0
//! ```
//!
//! # Inputs and outputs
//!
//! In: a [`LabSpec`] (hosts, bridges, serial links, ping hosts, private directories).
//! Out: a [`Lab`] guard with the hosts' addresses and paths, process control on hosts
//! ([`Lab::spawn`], [`Lab::stop`], [`Lab::kill`], [`Lab::start_halod`]), faults
//! ([`Lab::cut`], [`Lab::partition`], [`Lab::cut_one_way`], [`Lab::set_loss`],
//! [`Lab::cut_serial`], with [`Lab::dropped`] counting what they drop), sockets in a
//! host's network namespace ([`Lab::in_host_net`]) and teardown when dropped.
//!
//! # Design
//!
//! * **Hosts.** Each host has its own network namespace (`/run/netns/PREFIX-HOST`, made
//!   by `ip netns add`), UTS namespace (its hostname; `uname -n` says the host's name)
//!   and mount namespace, both persisted as bind-mounted namespace files in the lab's
//!   private `ns` directory. Programs are started inside all three by `setns(2)` between
//!   fork and exec, so the PID the lab returns is the program's own. In its mount
//!   namespace the host has private copies of `/run` (and so `/var/run`, `/var/lock`),
//!   `/tmp`, `/var/log`, `/dev/shm`, `/etc/ha.d`, `/var/lib/halo` and the directories the
//!   anchors need (`/var/lib/{heartbeat,pacemaker,corosync}`, `/etc/{corosync,keepalived}`),
//!   bind-mounted from `hosts/HOST/root/…` in the lab directory, where tests read and
//!   write them from outside ([`Host::path`]); `/etc` and `/var/lib` ones start as a copy
//!   of the machine's. Its own `/sys` shows its own interfaces, and its own
//!   `/etc/hosts` names every lab node ([`LabSpec::etc_hosts`]). The host's mount
//!   namespace drops its copies of other namespaces' bind mounts, so it never keeps
//!   another lab's namespaces alive. Hosts share the machine's root file system
//!   otherwise (binaries, the build's target directory) and its PID namespace. A
//!   private directory missing on the machine gets an empty mount point there (the
//!   one trace a lab leaves).
//! * **Network.** Everything lives in the lab's own namespaces: nothing is created in
//!   the machine's network namespace, no host has a default route, and the bridges have
//!   no uplink, so no lab packet can leave the machine. The bridges are in a separate
//!   switch namespace, with multicast snooping off (multicast floods, as on a dumb
//!   switch) and IPv6 off on the switch itself (it only forwards frames). Each host is
//!   attached to a bridge by a veth pair: `ethB` in the host, `HOST-eB` on the switch.
//!   Permanent neighbour entries for every lab address make one-way cuts truly one-way.
//! * **Faults.** [`Faults`] is the whole fault state; every change renders a complete
//!   nftables ruleset for the switch and loads it as one transaction (see [`faults`]):
//!   a cut port drops all its frames while the host's link stays up (a dead switch
//!   port); partitions and one-way cuts drop by (ingress, egress) port pair; loss is
//!   `numgen random` (`tc netem` is not available here). Flapping is a loop of cut and
//!   heal in the caller.
//! * **Serial links.** Two socat relays in the switch namespace, each owning the pty of
//!   one side and exchanging bytes with the other as UDP datagrams on the switch's
//!   loopback. A cut drops the datagrams (bytes are lost, the tty stays open, as with a
//!   pulled cable).
//! * **Ping hosts.** Network namespaces with an address on the bridges and an input
//!   filter that accepts only ICMP and ICMPv6.
//! * **Names and teardown.** A lab's prefix is `hl` + 6 random hex digits (interface
//!   names are limited to 15 bytes, so node names are at most 11). Several labs, e.g.
//!   tests running in parallel, coexist: the address plan is the same in each, but each
//!   has its own switch. The [`Lab`] guard tears the lab down on drop, also during a
//!   panic (after printing the tail of its processes' logs): it kills the processes it
//!   started, then anything else inside its namespaces (by PID through a pidfd, after
//!   re-checking the namespace), deletes links and namespaces, unmounts the namespace
//!   files and removes the lab directory. [`cleanup`] removes what crashed runs left,
//!   and only objects named with the lab prefix convention.
//!
//! # Address plan
//!
//! | what | IPv4 | IPv6 | MAC |
//! | --- | --- | --- | --- |
//! | bridge B subnet | `10.213.B.0/24` | `fd48:616c:6f00:B::/64` | |
//! | host N (1–99, in spec order) | `10.213.B.N` | `fd48:616c:6f00:B::N` (hex) | `02:68:6c:B:00:N` |
//! | service address K (0–99), e.g. VIPs | `10.213.B.(100+K)` | `fd48:616c:6f00:B::1:K` | |
//! | ping host M (1–50) | `10.213.B.(200+M)` | `fd48:616c:6f00:B::(200+M)` (hex) | `02:68:6c:B:00:(200+M)` |
//!
//! Host N's interface on bridge B is `ethB` (also when it is not on every bridge).
//! Serial devices appear in each host as `/run/halo-lab/ttyS0`, `ttyS1`, … in the order
//! of the spec's serial links that involve it.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use halo_lab::{Halod, Lab, LabSpec};
//!
//! # fn main() -> Result<(), halo_lab::LabError> {
//! let lab = Lab::create(&LabSpec::new().hosts(3).bridges(2).serial("node1", "node2"))?;
//! std::fs::write(lab.host("node1")?.path("/etc/ha.d/ha.cf")?, "keepalive 100ms\n")
//!     .expect("write");
//! let halod = Halod::new("/path/to/halod");
//! let p1 = lab.start_halod("node1", &halod)?;
//! lab.cut("node1")?;      // node1's switch ports drop everything
//! lab.heal("node1")?;
//! lab.partition(&[&["node1", "node2"][..], &["node3"][..]])?;
//! lab.stop(&p1, Duration::from_secs(5))?;
//! # Ok(()) }
//! ```
//!
//! Set `HALO_LAB_KEEP=1` to keep a test's lab for inspection (`halo-lab status --lab
//! PREFIX`, `halo-lab down PREFIX`).
//!
//! Requirements: root, `ip` (iproute2), `nft` (nftables), `socat`, `unshare` and
//! `findmnt` (util-linux), `cp`, `sh`.

mod error;
pub mod faults;
mod lab;
mod process;
pub mod spec;
pub mod state;
mod sys;
mod teardown;

pub use error::{LabError, Result};
pub use faults::{Dropped, Faults, LossTarget, OneWay, Port, SerialCut};
pub use lab::{Host, Lab, SerialLink};
pub use process::{Halod, Proc};
pub use spec::{
    HostSpec, LabSpec, NodeKind, PingHostSpec, PrivateDir, SerialSpec, node_ipv4, node_ipv6,
    service_ipv4, service_ipv6,
};
pub use state::{LabState, Owner};
pub use teardown::{CleanupItem, Leftovers, cleanup, survey, teardown_prefix};

/// Every lab that has a directory on this machine, with its state (or why it could not
/// be read).
pub fn list() -> Vec<(String, Result<LabState>)> {
    state::lab_dirs()
        .into_iter()
        .map(|p| {
            let st = state::Paths::new(&p).load();
            (p, st)
        })
        .collect()
}
