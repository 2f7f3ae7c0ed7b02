//! Virtual IP addresses for halo: added and removed through rtnetlink, announced at once
//! with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6), and the
//! `ocf:halo:IPaddr` resource agent built on them.
//!
//! ```text
//!  haresources "10.0.0.9/24/eth0"        OCF_RESKEY_ip=… cidr_netmask=… nic=… label=…
//!        │ VipSpec::parse_shorthand             │ agent::Params::from_env / from_pairs
//!        ▼                                      ▼
//!   VipSpec (address + what was given) ──▶ Net::resolve ── routes, links (rtnetlink dump)
//!                                               │ findif: connected route → iface, prefix, brd
//!                                               ▼
//!                               Vip (address, prefix, iface, ifindex, label, broadcast)
//!                                               │ Net::add
//!            ┌──────────────────────────────────┼─────────────────────────────────────┐
//!            ▼                                  ▼                                     ▼
//!   RTM_NEWADDR (IPv6 nodad)     first announcement, before add returns      the rest, every interval,
//!                                ARP request + reply / NA to ff02::1          in a task, while the
//!                                                                             address is still there
//!  Net::remove ── RTM_DELADDR (absent: success), cancels the announcements
//!  Net::lookup / is_present ── RTM_GETADDR
//! ```
//!
//! # Why
//!
//! Taking over an address is on the failover path. heartbeat needed 154 ms to add a
//! virtual IP through its scripts and IPaddr2 46 ms; a netlink add takes about a
//! millisecond. Neighbours learn the new MAC from the first gratuitous ARP, sent before
//! [`Net::add`] returns; the next ones (IPaddr2's 5 × 200 ms by default) cover frames
//! lost on the way and run in the background. Every later announcement first checks that
//! the address is still here, so a node that has let go of it never advertises it again.
//!
//! # Semantics (heartbeat's findif and resource-agents' IPaddr2)
//!
//! * **Interface and prefix** come from the most specific directly connected route of
//!   the main table that contains the address, when not given; with both `nic` and a
//!   prefix given no route is needed. See [`route`].
//! * **Broadcast** (IPv4): the host bits set unless configured (`+`, `-` or an address);
//!   none for /31 and /32.
//! * **Label** (IPv4): `nic:label`, 15 bytes at most; also written `nic=eth0:label`.
//! * **IPv6** addresses are added with `nodad`, so they are usable at once and the
//!   neighbour advertisement can be sent from them.
//! * **Idempotence**: adding a present address succeeds (and announces it again: a start
//!   means "this node serves it now"); removing an absent one succeeds.
//!
//! # In-process use (the LRM)
//!
//! Open one [`Net`] per network namespace on the LRM's runtime and keep it; run the agent
//! actions with [`agent::run`] (the same code as the `halo-ipaddr` binary, without
//! fork/exec), or call [`Net::resolve`] / [`Net::add`] / [`Net::remove`] /
//! [`Net::is_present`] directly:
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use halo_net::{AnnounceConfig, Net, VipSpec};
//! let net = Net::open()?;
//! let vip = net.resolve(&VipSpec::parse_shorthand("10.213.0.100/24")?).await?;
//! net.add(&vip, &AnnounceConfig::default()).await?; // back after the first ARP
//! assert!(net.is_present(vip.addr, Some(&vip.iface)).await?);
//! net.remove(vip.addr, Some(&vip.iface)).await?;
//! # Ok(()) }
//! ```
//!
//! Needs `CAP_NET_ADMIN` (addresses) and `CAP_NET_RAW` (announcements).

pub mod agent;
mod announce;
mod error;
mod net;
pub mod packet;
pub mod route;
pub mod spec;

pub use announce::Announcer;
pub use error::{FindError, NetError, SpecError};
pub use net::{AddOutcome, Announced, Link, Net, Present, RemoveOutcome, Vip};
pub use route::Found;
pub use spec::{AnnounceConfig, Broadcast, VipSpec};
