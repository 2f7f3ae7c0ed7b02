//! Sending the announcements of [`crate::packet`]: gratuitous ARP over an `AF_PACKET`
//! socket, unsolicited neighbour advertisements over a raw ICMPv6 socket.
//!
//! The ARP socket is `SOCK_DGRAM` with protocol 0: the kernel writes the Ethernet header
//! (our MAC to the broadcast address) and the socket receives nothing. The ICMPv6
//! socket is bound to the virtual address (`IP_FREEBIND`, so a still-tentative address
//! does not fail the bind), sends with hop limit 255 to `ff02::1` on the interface, and
//! lets the kernel fill in the checksum.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

use crate::error::NetError;
use crate::packet::{self, ArpOp};

/// An open socket and the packets to send on it, for one address on one interface.
#[derive(Debug)]
pub struct Announcer {
    addr: IpAddr,
    ifindex: u32,
    iface: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Arp {
        socket: Socket,
        to: SockAddr,
        request: [u8; packet::ARP_LEN],
        reply: [u8; packet::ARP_LEN],
    },
    Na {
        socket: Socket,
        to: SockAddr,
        advert: [u8; packet::NA_LEN],
    },
}

impl Announcer {
    /// Opens the socket for announcing `addr` at `mac` on interface `iface` (`ifindex`).
    pub fn open(
        addr: IpAddr,
        iface: &str,
        ifindex: u32,
        mac: [u8; 6],
    ) -> Result<Announcer, NetError> {
        let kind = match addr {
            IpAddr::V4(ip) => arp(ip, iface, ifindex, mac)?,
            IpAddr::V6(ip) => na(ip, iface, ifindex, mac)?,
        };
        Ok(Announcer {
            addr,
            ifindex,
            iface: iface.to_string(),
            kind,
        })
    }

    /// The address announced.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// One announcement: an ARP request and an ARP reply (IPv4), or one neighbour
    /// advertisement (IPv6).
    pub fn send_once(&self) -> Result<(), NetError> {
        let fail = |e| NetError::io(format!("announce {} on {}", self.addr, self.iface), e);
        match &self.kind {
            Kind::Arp {
                socket,
                to,
                request,
                reply,
            } => {
                socket.send_to(request, to).map_err(fail)?;
                socket.send_to(reply, to).map_err(fail)?;
            }
            Kind::Na { socket, to, advert } => {
                socket.send_to(advert, to).map_err(fail)?;
            }
        }
        tracing::debug!(addr = %self.addr, iface = %self.iface, "announced");
        Ok(())
    }
}

fn arp(ip: Ipv4Addr, iface: &str, ifindex: u32, mac: [u8; 6]) -> Result<Kind, NetError> {
    let op = || format!("open an ARP socket on {iface}");
    let socket =
        Socket::new(Domain::PACKET, Type::DGRAM, None).map_err(|e| NetError::io(op(), e))?;
    let index = i32::try_from(ifindex)
        .map_err(|_| NetError::io(op(), std::io::Error::other("interface index out of range")))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `SockAddrStorage` is a `sockaddr_storage`, which is larger than and
    // suitably aligned for a `sockaddr_ll`; the storage is zeroed, a valid
    // `sockaddr_ll` bit pattern, and we only write plain integer fields.
    #[allow(unsafe_code)]
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
    ll.sll_ifindex = index;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of family AF_PACKET and
    // `len` is exactly its size.
    #[allow(unsafe_code)]
    let to = unsafe { SockAddr::new(storage, len) };
    Ok(Kind::Arp {
        socket,
        to,
        request: packet::gratuitous_arp(ArpOp::Request, mac, ip),
        reply: packet::gratuitous_arp(ArpOp::Reply, mac, ip),
    })
}

fn na(ip: Ipv6Addr, iface: &str, ifindex: u32, mac: [u8; 6]) -> Result<Kind, NetError> {
    let op = || format!("open an ICMPv6 socket for {ip} on {iface}");
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
        .map_err(|e| NetError::io(op(), e))?;
    socket
        .set_multicast_if_v6(ifindex)
        .and_then(|()| socket.set_multicast_hops_v6(255))
        .and_then(|()| socket.set_multicast_loop_v6(false))
        .and_then(|()| socket.set_freebind_v6(true))
        .map_err(|e| NetError::io(op(), e))?;
    let scope = if crate::spec::is_link_local_v6(ip) {
        ifindex
    } else {
        0
    };
    socket
        .bind(&SocketAddr::V6(SocketAddrV6::new(ip, 0, 0, scope)).into())
        .map_err(|e| NetError::io(op(), e))?;
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    Ok(Kind::Na {
        socket,
        to: SocketAddr::V6(SocketAddrV6::new(all_nodes, 0, 0, ifindex)).into(),
        advert: packet::unsolicited_na(mac, ip),
    })
}
