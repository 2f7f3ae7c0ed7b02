//! The media: every packet goes out on all of them; every datagram or frame received is
//! tagged with the link it came in on.
//!
//! | ha.cf | socket |
//! | --- | --- |
//! | `bcast IFACE` | UDP/IPv4 bound to IFACE (SO_BINDTODEVICE) and `udpport`, sent to 255.255.255.255 |
//! | `ucast IFACE PEER` | the same per-interface socket, sent to PEER:`udpport` |
//! | `ucast6 IFACE PEER` | UDP/IPv6 bound to IFACE and `udpport` |
//! | `mcast IFACE GROUP PORT TTL LOOP` | UDP/IPv4 bound to IFACE and PORT, member of GROUP |
//! | `mcast6 IFACE GROUP PORT HOPS LOOP` | the IPv6 equivalent |
//! | `serial DEVICE` | the tty in raw mode at `baud`, frames COBS-encoded and 0-delimited |
//!
//! A *link* is named after the local interface or device (`eth0`, `/dev/ttyS0`), which is
//! what an administrator can find and fix; unicast and broadcast on one interface share
//! its socket and its name. Sends never block: a full socket buffer or tty drops the
//! packet and counts it (the next heartbeat follows within a keepalive).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Largest datagram or frame we accept.
pub const MAX_PACKET: usize = 65_535;

/// One medium line of ha.cf, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediumSpec {
    /// `bcast IFACE`.
    Bcast {
        /// Interface.
        iface: String,
        /// `udpport`.
        port: u16,
    },
    /// `ucast IFACE PEER` / `ucast6 IFACE PEER`.
    Ucast {
        /// Interface.
        iface: String,
        /// The peer's address.
        peer: IpAddr,
        /// `udpport`.
        port: u16,
    },
    /// `mcast IFACE GROUP PORT TTL LOOP` / `mcast6 …`.
    Mcast {
        /// Interface.
        iface: String,
        /// Multicast group.
        group: IpAddr,
        /// Port of the group.
        port: u16,
        /// TTL (hops).
        ttl: u32,
        /// Whether our own packets loop back.
        looped: bool,
    },
    /// `serial DEVICE` with `baud`.
    Serial {
        /// The tty.
        device: PathBuf,
        /// Line speed.
        baud: u32,
    },
}

/// A received packet and the link it came in on.
#[derive(Debug)]
pub struct Received {
    /// Index into [`Media::links`].
    pub link: usize,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Where one socket sends.
#[derive(Debug)]
enum Sender {
    Udp {
        socket: Arc<UdpSocket>,
        targets: Vec<SocketAddr>,
    },
    Serial {
        tx: mpsc::Sender<Vec<u8>>,
    },
}

/// One link: a name and how to send on it.
#[derive(Debug)]
pub struct Link {
    /// Interface or device name.
    pub name: String,
    senders: Vec<Sender>,
}

/// All media of this node.
#[derive(Debug)]
pub struct Media {
    /// The links, in ha.cf order of first appearance.
    pub links: Vec<Link>,
    /// Packets not sent because a socket or tty was busy, or sending failed.
    pub send_dropped: Arc<AtomicU64>,
}

fn bind_udp(iface: &str, ip: IpAddr, port: u16, broadcast: bool) -> Result<Socket> {
    let domain = if ip.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .context("cannot create UDP socket")?;
    s.set_reuse_address(true)?;
    if ip.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind_device(Some(iface.as_bytes()))
        .with_context(|| format!("cannot bind to interface {iface} (does it exist?)"))?;
    if broadcast {
        s.set_broadcast(true)?;
    }
    s.bind(&SocketAddr::new(ip, port).into())
        .with_context(|| format!("cannot bind UDP port {port} on {iface}"))?;
    s.set_nonblocking(true)?;
    // Room for a burst of retransmissions; the kernel doubles the value.
    let _ = s.set_recv_buffer_size(1 << 20);
    let _ = s.set_send_buffer_size(1 << 20);
    Ok(s)
}

fn if_index(iface: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(iface).with_context(|| format!("no interface named {iface}"))
}

fn open_mcast(iface: &str, group: IpAddr, port: u16, ttl: u32, looped: bool) -> Result<Socket> {
    let idx = if_index(iface)?;
    let s = match group {
        IpAddr::V4(g) => {
            if !g.is_multicast() {
                bail!("mcast {iface}: {g} is not a multicast group");
            }
            let s = bind_udp(iface, IpAddr::V4(Ipv4Addr::UNSPECIFIED), port, false)?;
            s.join_multicast_v4_n(&g, &socket2::InterfaceIndexOrAddress::Index(idx))
                .with_context(|| format!("cannot join {g} on {iface}"))?;
            set_multicast_if_index_v4(&s, idx)?;
            s.set_multicast_ttl_v4(ttl)?;
            s.set_multicast_loop_v4(looped)?;
            s
        }
        IpAddr::V6(g) => {
            if !g.is_multicast() {
                bail!("mcast6 {iface}: {g} is not a multicast group");
            }
            let s = bind_udp(iface, IpAddr::V6(Ipv6Addr::UNSPECIFIED), port, false)?;
            s.join_multicast_v6(&g, idx)
                .with_context(|| format!("cannot join {g} on {iface}"))?;
            s.set_multicast_if_v6(idx)?;
            s.set_multicast_hops_v6(ttl)?;
            s.set_multicast_loop_v6(looped)?;
            s
        }
    };
    Ok(s)
}

/// `IP_MULTICAST_IF` by interface index (an `ip_mreqn`), which socket2 only offers by
/// address; an interface need not have an IPv4 address for this.
fn set_multicast_if_index_v4(s: &Socket, idx: u32) -> Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: i32::try_from(idx).context("interface index out of range")?,
    };
    let fd = std::os::fd::AsRawFd::as_raw_fd(s);
    // SAFETY: setsockopt reads `size_of::<ip_mreqn>()` bytes from a valid, initialised
    // `ip_mreqn` on our stack that outlives the call; `fd` is an open socket owned by `s`.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&raw const mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).context("cannot set IP_MULTICAST_IF");
    }
    Ok(())
}

fn target(ip: IpAddr, port: u16, iface: &str) -> Result<SocketAddr> {
    Ok(match ip {
        IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, port)),
        IpAddr::V6(a) => {
            let scope = if a.is_unicast_link_local() || a.is_multicast() {
                if_index(iface)?
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, scope))
        }
    })
}

impl Media {
    /// Opens every medium and starts a receiver task per socket or tty, all feeding `rx`.
    /// Must be called inside the tokio runtime.
    pub fn open(specs: &[MediumSpec], rx: mpsc::Sender<Received>) -> Result<Media> {
        let send_dropped = Arc::new(AtomicU64::new(0));
        let mut links: Vec<Link> = Vec::new();
        // One UDP socket per (interface, address family) for bcast/ucast.
        let mut plain: BTreeMap<(String, bool), (usize, usize)> = BTreeMap::new();
        let link_of = |name: &str, links: &mut Vec<Link>| -> usize {
            if let Some(i) = links.iter().position(|l| l.name == name) {
                i
            } else {
                links.push(Link {
                    name: name.to_string(),
                    senders: Vec::new(),
                });
                links.len() - 1
            }
        };
        for spec in specs {
            match spec {
                MediumSpec::Bcast { iface, port } | MediumSpec::Ucast { iface, port, .. } => {
                    let v6 = matches!(
                        spec,
                        MediumSpec::Ucast {
                            peer: IpAddr::V6(_),
                            ..
                        }
                    );
                    let link = link_of(iface, &mut links);
                    let key = (iface.clone(), v6);
                    let (li, si) = match plain.get(&key) {
                        Some(&k) => k,
                        None => {
                            let any = if v6 {
                                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                            } else {
                                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                            };
                            let sock = bind_udp(iface, any, *port, !v6)?;
                            let sock = Arc::new(UdpSocket::from_std(sock.into())?);
                            spawn_udp_reader(sock.clone(), link, rx.clone());
                            links[link].senders.push(Sender::Udp {
                                socket: sock,
                                targets: Vec::new(),
                            });
                            let k = (link, links[link].senders.len() - 1);
                            plain.insert(key, k);
                            k
                        }
                    };
                    let t = match spec {
                        MediumSpec::Ucast { peer, .. } => target(*peer, *port, iface)?,
                        _ => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, *port)),
                    };
                    if let Sender::Udp { targets, .. } = &mut links[li].senders[si]
                        && !targets.contains(&t)
                    {
                        targets.push(t);
                    }
                }
                MediumSpec::Mcast {
                    iface,
                    group,
                    port,
                    ttl,
                    looped,
                } => {
                    let link = link_of(iface, &mut links);
                    let sock = open_mcast(iface, *group, *port, *ttl, *looped)?;
                    let sock = Arc::new(UdpSocket::from_std(sock.into())?);
                    spawn_udp_reader(sock.clone(), link, rx.clone());
                    links[link].senders.push(Sender::Udp {
                        socket: sock,
                        targets: vec![target(*group, *port, iface)?],
                    });
                }
                MediumSpec::Serial { device, baud } => {
                    let name = device.display().to_string();
                    let link = link_of(&name, &mut links);
                    let tx = crate::serial::spawn(
                        device.clone(),
                        *baud,
                        link,
                        rx.clone(),
                        send_dropped.clone(),
                    );
                    links[link].senders.push(Sender::Serial { tx });
                }
            }
        }
        if links.is_empty() {
            bail!("no media configured: add a bcast, mcast, ucast or serial line to ha.cf");
        }
        Ok(Media {
            links,
            send_dropped,
        })
    }

    /// Sends `packet` on every link, never waiting.
    pub fn send_all(&self, packet: &[u8]) {
        for link in &self.links {
            self.send_on(link, packet);
        }
    }

    fn send_on(&self, link: &Link, packet: &[u8]) {
        for s in &link.senders {
            match s {
                Sender::Udp { socket, targets } => {
                    for t in targets {
                        if let Err(e) = socket.try_send_to(packet, *t) {
                            self.send_dropped.fetch_add(1, Ordering::Relaxed);
                            if e.kind() != io::ErrorKind::WouldBlock {
                                tracing::debug!(link = %link.name, target = %t, "send failed: {e}");
                            }
                        }
                    }
                }
                Sender::Serial { tx } => {
                    if tx.try_send(packet.to_vec()).is_err() {
                        self.send_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

fn spawn_udp_reader(sock: Arc<UdpSocket>, link: usize, rx: mpsc::Sender<Received>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, _from)) => {
                    let msg = Received {
                        link,
                        data: buf[..n].to_vec(),
                    };
                    if rx.send(msg).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("receive error on link {link}: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    });
}

/// Registers a descriptor this code owns with tokio's reactor.
pub fn async_fd(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: `OwnedFd` owns its descriptor: it stays open and names the same open file
    // description until the `OwnedFd` (moved into the `AsyncFd`) is dropped, and
    // `as_raw_fd` always returns that descriptor — exactly what `register` requires.
    #[allow(unsafe_code)]
    unsafe {
        AsyncFd::register(fd).map_err(|e| e.into_parts().1)
    }
}
