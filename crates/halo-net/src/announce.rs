//! Sending the announcements of [`crate::packet`] on the packet socket of a [`crate::Net`].
//!
//! The socket is `AF_PACKET`/`SOCK_DGRAM` with protocol 0: it receives nothing, and the
//! kernel writes the Ethernet header (our MAC as source) from the link-layer address given
//! to each `sendto` — broadcast for ARP, `33:33:00:00:00:01` for the IPv6 packet carrying
//! a neighbour advertisement. It is opened with the [`crate::Net`], so it lives in the
//! same network namespace as the netlink socket that added the address.

use std::net::IpAddr;
use std::sync::Arc;

use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

use crate::error::NetError;
use crate::packet::{self, ArpOp};

/// The frames announcing one address on one interface, and where they go.
#[derive(Debug)]
pub struct Announcer {
    addr: IpAddr,
    ifindex: u32,
    iface: String,
    socket: Arc<Socket>,
    to: SockAddr,
    frames: Vec<Vec<u8>>,
}

/// Opens the packet socket every announcement of a [`crate::Net`] goes out on.
pub(crate) fn packet_socket() -> std::io::Result<Socket> {
    Socket::new(Domain::PACKET, Type::DGRAM, None)
}

impl Announcer {
    /// The announcement of `addr` at `mac` on interface `iface` (`ifindex`).
    pub(crate) fn new(
        socket: Arc<Socket>,
        addr: IpAddr,
        iface: &str,
        ifindex: u32,
        mac: [u8; 6],
    ) -> Result<Announcer, NetError> {
        let (ethertype, dest, frames) = match addr {
            IpAddr::V4(ip) => (
                libc::ETH_P_ARP,
                [0xff; 6],
                vec![
                    packet::gratuitous_arp(ArpOp::Request, mac, ip).to_vec(),
                    packet::gratuitous_arp(ArpOp::Reply, mac, ip).to_vec(),
                ],
            ),
            IpAddr::V6(ip) => (
                libc::ETH_P_IPV6,
                packet::ALL_NODES_MAC,
                vec![packet::unsolicited_na_packet(mac, ip).to_vec()],
            ),
        };
        let to = link_addr(ifindex, ethertype, dest).ok_or_else(|| {
            NetError::io(
                format!("announce {addr} on {iface}"),
                std::io::Error::other("interface index out of range"),
            )
        })?;
        Ok(Announcer {
            addr,
            ifindex,
            iface: iface.to_string(),
            socket,
            to,
            frames,
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
        for f in &self.frames {
            self.socket.send_to(f, &self.to).map_err(|e| {
                NetError::io(format!("announce {} on {}", self.addr, self.iface), e)
            })?;
        }
        tracing::debug!(addr = %self.addr, iface = %self.iface, "announced");
        Ok(())
    }
}

/// A `sockaddr_ll` for sending `ethertype` frames to `dest` on interface `ifindex`.
fn link_addr(ifindex: u32, ethertype: libc::c_int, dest: [u8; 6]) -> Option<SockAddr> {
    let index = i32::try_from(ifindex).ok()?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `SockAddrStorage` is a `sockaddr_storage`, larger than and aligned for a
    // `sockaddr_ll`; it is zeroed (a valid `sockaddr_ll`) and we write plain integers.
    #[allow(unsafe_code)]
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = (ethertype as u16).to_be();
    ll.sll_ifindex = index;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&dest);
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of family AF_PACKET and
    // `len` is exactly its size.
    #[allow(unsafe_code)]
    Some(unsafe { SockAddr::new(storage, len) })
}
