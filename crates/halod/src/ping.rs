//! Ping nodes: ICMP echo to each `ping`/`ping6` address (and each member of a
//! `ping_group`) every keepalive; an echo reply carrying our cookie counts as that
//! address being heard.
//!
//! Raw ICMP sockets (root) rather than ping sockets: ping sockets depend on
//! `net.ipv4.ping_group_range`, which is closed by default in new network namespaces.
//! Each request carries a per-daemon random cookie, so stray or forged replies without
//! it are ignored.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// One address answered.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// The address that answered.
    pub addr: IpAddr,
}

/// Sends echo requests and reports answers.
#[derive(Debug)]
pub struct Pinger {
    v4: Option<Arc<AsyncFd<OwnedFd>>>,
    v6: Option<Arc<AsyncFd<OwnedFd>>>,
    ident: u16,
    cookie: [u8; 8],
    seq: u16,
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum = sum.wrapping_add(u32::from(word));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an echo request (v4 type 8, v6 type 128; the kernel fills the v6 checksum).
pub fn echo_request(v6: bool, ident: u16, seq: u16, cookie: &[u8; 8]) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(cookie);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `icmp` (without IP header) is an echo reply to us.
pub fn is_our_reply(v6: bool, icmp: &[u8], ident: u16, cookie: &[u8; 8]) -> bool {
    let reply_type = if v6 { 129 } else { 0 };
    icmp.len() >= 16
        && icmp[0] == reply_type
        && icmp[1] == 0
        && icmp[4..6] == ident.to_be_bytes()
        && &icmp[8..16] == cookie
}

impl Pinger {
    /// Opens the sockets needed for `targets` and starts the reply readers.
    pub fn open(targets: &[IpAddr], answers: mpsc::Sender<Answer>) -> Result<Pinger> {
        let mut cookie = [0u8; 8];
        getrandom::fill(&mut cookie).context("no randomness for the ping cookie")?;
        let ident = u16::from_be_bytes([cookie[0], cookie[1]]);
        let mut p = Pinger {
            v4: None,
            v6: None,
            ident,
            cookie,
            seq: 0,
        };
        if targets.iter().any(IpAddr::is_ipv4) {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
                .context("cannot open a raw ICMP socket for ping nodes (needs root)")?;
            s.set_nonblocking(true)?;
            let fd = Arc::new(crate::media::async_fd(s.into())?);
            spawn_reader(fd.clone(), false, ident, cookie, answers.clone());
            p.v4 = Some(fd);
        }
        if targets.iter().any(IpAddr::is_ipv6) {
            let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
                .context("cannot open a raw ICMPv6 socket for ping6 nodes (needs root)")?;
            s.set_nonblocking(true)?;
            let fd = Arc::new(crate::media::async_fd(s.into())?);
            spawn_reader(fd.clone(), true, ident, cookie, answers);
            p.v6 = Some(fd);
        }
        Ok(p)
    }

    /// Sends one echo request to each target, never waiting.
    pub fn ping(&mut self, targets: &[IpAddr]) {
        self.seq = self.seq.wrapping_add(1);
        for t in targets {
            let (sock, v6) = match t {
                IpAddr::V4(_) => (&self.v4, false),
                IpAddr::V6(_) => (&self.v6, true),
            };
            if let Some(s) = sock {
                let pkt = echo_request(v6, self.ident, self.seq, &self.cookie);
                let sent = match t {
                    IpAddr::V4(a) => nix::sys::socket::sendto(
                        s.as_raw_fd(),
                        &pkt,
                        &nix::sys::socket::SockaddrIn::from(std::net::SocketAddrV4::new(*a, 0)),
                        nix::sys::socket::MsgFlags::MSG_DONTWAIT,
                    ),
                    IpAddr::V6(a) => nix::sys::socket::sendto(
                        s.as_raw_fd(),
                        &pkt,
                        &nix::sys::socket::SockaddrIn6::from(std::net::SocketAddrV6::new(
                            *a, 0, 0, 0,
                        )),
                        nix::sys::socket::MsgFlags::MSG_DONTWAIT,
                    ),
                };
                if let Err(e) = sent {
                    tracing::trace!("ping {t}: {e}");
                }
            }
        }
    }
}

fn spawn_reader(
    fd: Arc<AsyncFd<OwnedFd>>,
    v6: bool,
    ident: u16,
    cookie: [u8; 8],
    answers: mpsc::Sender<Answer>,
) {
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok(mut guard) = fd.ready(Interest::READABLE).await else {
                return;
            };
            let got = nix::sys::socket::recvfrom::<nix::sys::socket::SockaddrStorage>(
                guard.get_inner().as_raw_fd(),
                &mut buf,
            );
            match got {
                Ok((n, Some(from))) => {
                    let bytes = &buf[..n];
                    let icmp = if v6 {
                        bytes
                    } else {
                        // Raw IPv4 sockets deliver the IP header too.
                        let ihl = usize::from(bytes.first().map_or(0, |b| b & 0x0f)) * 4;
                        bytes.get(ihl..).unwrap_or(&[])
                    };
                    let addr = if let Some(a) = from.as_sockaddr_in() {
                        IpAddr::V4(a.ip())
                    } else if let Some(a) = from.as_sockaddr_in6() {
                        IpAddr::V6(a.ip())
                    } else {
                        continue;
                    };
                    if is_our_reply(v6, icmp, ident, &cookie)
                        && answers.send(Answer { addr }).await.is_err()
                    {
                        return;
                    }
                }
                Ok((_, None)) => {}
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(e) => {
                    tracing::debug!("ping socket: {e}");
                    guard.clear_ready();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_has_a_valid_checksum_and_our_reply_matches() {
        let cookie = [1, 2, 3, 4, 5, 6, 7, 8];
        let req = echo_request(false, 0x1234, 7, &cookie);
        assert_eq!(checksum(&req), 0, "a correct ICMP checksum sums to zero");
        let mut reply = req.clone();
        reply[0] = 0;
        assert!(is_our_reply(false, &reply, 0x1234, &cookie));
        assert!(!is_our_reply(false, &reply, 0x1235, &cookie));
        let mut forged = reply.clone();
        forged[15] ^= 1;
        assert!(!is_our_reply(false, &forged, 0x1234, &cookie));
        assert!(
            !is_our_reply(false, &req, 0x1234, &cookie),
            "a request is not a reply"
        );
    }
}
