//! The announcement packets, as bytes. Pure.
//!
//! **Gratuitous ARP** (RFC 5227 §3 "ARP announcement", RFC 826 layout), both forms that
//! Linux-HA's `send_arp` sends, because some hosts heed only one of them:
//!
//! ```text
//!  htype 1 │ ptype 0x0800 │ hlen 6 │ plen 4 │ op 1 (request) or 2 (reply)
//!  sender MAC = ours │ sender IP = VIP │ target MAC = 0 (request) / ours (reply) │ target IP = VIP
//! ```
//!
//! sent to the Ethernet broadcast address. Sender IP = target IP (and, for the reply,
//! target MAC = sender MAC) is what makes Linux treat it as gratuitous and update an
//! existing neighbour entry at once, even within its `locktime`.
//!
//! **Unsolicited neighbour advertisement** (RFC 4861 §4.4, §7.2.6) for IPv6:
//!
//! ```text
//!  type 136 │ code 0 │ checksum (the kernel fills it in) │ R=0 S=0 O=1 │ target = VIP
//!  option 2 (target link-layer address), length 1 (8 bytes), our MAC
//! ```
//!
//! in an IPv6 packet from the VIP to `ff02::1` (Ethernet `33:33:00:00:00:01`) with hop
//! limit 255, which receivers require. The override flag makes them replace the
//! link-layer address they have for the VIP. We write the IPv6 header and the checksum
//! ourselves and send the frame on the same packet socket as ARP, so that every socket of
//! a [`crate::Net`] is made when it is opened, in the caller's network namespace.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of an Ethernet/IPv4 ARP packet (without the Ethernet header).
pub const ARP_LEN: usize = 28;
/// Length of our neighbour advertisement (ICMPv6 header, target, one option).
pub const NA_LEN: usize = 32;

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    /// Who-has (1).
    Request = 1,
    /// Is-at (2).
    Reply = 2,
}

/// A gratuitous ARP for `ip` at `mac` (the payload after the Ethernet header).
pub fn gratuitous_arp(op: ArpOp, mac: [u8; 6], ip: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut p = [0u8; ARP_LEN];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&(op as u16).to_be_bytes());
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&ip.octets());
    if op == ArpOp::Reply {
        p[18..24].copy_from_slice(&mac);
    }
    p[24..28].copy_from_slice(&ip.octets());
    p
}

/// ICMPv6 type of a neighbour advertisement.
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// The override flag in the first byte of the flags word.
pub const NA_FLAG_OVERRIDE: u8 = 0x20;

/// Length of the IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// `ff02::1`, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The Ethernet address of `ff02::1` (RFC 2464 §7).
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// IPv6 next header: ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;

/// An unsolicited neighbour advertisement for `target` at `mac`, override flag set,
/// with its checksum (over the pseudo-header of `target` → `ff02::1`).
pub fn unsolicited_na(mac: [u8; 6], target: Ipv6Addr) -> [u8; NA_LEN] {
    let mut p = [0u8; NA_LEN];
    p[0] = ND_NEIGHBOR_ADVERT;
    p[4] = NA_FLAG_OVERRIDE;
    p[8..24].copy_from_slice(&target.octets());
    p[24] = 2; // target link-layer address
    p[25] = 1; // in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    let sum = icmpv6_checksum(target, ALL_NODES, &p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The whole IPv6 packet of [`unsolicited_na`]: header (hop limit 255, `target` →
/// `ff02::1`) and the advertisement.
pub fn unsolicited_na_packet(mac: [u8; 6], target: Ipv6Addr) -> [u8; IPV6_HEADER_LEN + NA_LEN] {
    let mut p = [0u8; IPV6_HEADER_LEN + NA_LEN];
    p[0] = 0x60; // version 6, traffic class 0, flow label 0
    p[4..6].copy_from_slice(&(NA_LEN as u16).to_be_bytes());
    p[6] = IPPROTO_ICMPV6;
    p[7] = 255;
    p[8..24].copy_from_slice(&target.octets());
    p[24..40].copy_from_slice(&ALL_NODES.octets());
    p[40..].copy_from_slice(&unsolicited_na(mac, target));
    p
}

/// The Internet checksum of an ICMPv6 message (RFC 4443 §2.3, pseudo-header of RFC 8200
/// §8.1); the message's own checksum field must be zero.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |b| u64::from(*b));
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x68, 0x6c, 0x00, 0x00, 0x01];

    #[test]
    fn arp_request_is_a_who_has_for_itself() {
        let p = gratuitous_arp(ArpOp::Request, MAC, Ipv4Addr::new(10, 213, 0, 100));
        #[rustfmt::skip]
        let want: [u8; 28] = [
            0, 1, 8, 0, 6, 4, 0, 1,
            0x02, 0x68, 0x6c, 0, 0, 1, 10, 213, 0, 100,
            0, 0, 0, 0, 0, 0, 10, 213, 0, 100,
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn arp_reply_names_our_mac_as_target_too() {
        let p = gratuitous_arp(ArpOp::Reply, MAC, Ipv4Addr::new(192, 168, 1, 7));
        #[rustfmt::skip]
        let want: [u8; 28] = [
            0, 1, 8, 0, 6, 4, 0, 2,
            0x02, 0x68, 0x6c, 0, 0, 1, 192, 168, 1, 7,
            0x02, 0x68, 0x6c, 0, 0, 1, 192, 168, 1, 7,
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn neighbour_advertisement_layout() {
        let t: Ipv6Addr = "fd48:616c:6f00::1:5".parse().unwrap();
        let p = unsolicited_na_packet(MAC, t);
        let (ip, na) = p.split_at(40);
        assert_eq!(&ip[0..8], &[0x60, 0, 0, 0, 0, 32, 58, 255]);
        assert_eq!(&ip[8..24], &t.octets());
        assert_eq!(
            &ip[24..40],
            &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(&na[0..2], &[136, 0]);
        assert_eq!(&na[4..8], &[0x20, 0, 0, 0]);
        assert_eq!(&na[8..24], &t.octets());
        assert_eq!(&na[24..32], &[2, 1, 0x02, 0x68, 0x6c, 0, 0, 1]);
    }

    #[test]
    fn icmpv6_checksum_of_a_known_echo_request() {
        // An echo request fe80::1 -> fe80::2, id 0x1234, seq 1, payload "abcd"
        // (0xabb8, computed independently with a few lines of Python after RFC 1071).
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "fe80::2".parse().unwrap();
        let msg = [128, 0, 0, 0, 0x12, 0x34, 0, 1, b'a', b'b', b'c', b'd'];
        assert_eq!(icmpv6_checksum(src, dst, &msg), 0xabb8);
    }

    #[test]
    fn a_message_with_its_checksum_sums_to_zero() {
        let t: Ipv6Addr = "2001:db8::77".parse().unwrap();
        let na = unsolicited_na(MAC, t);
        assert_ne!(&na[2..4], &[0, 0]);
        // Verifying over the filled-in checksum gives 0 (as a receiver checks).
        assert_eq!(icmpv6_checksum(t, ALL_NODES, &na), 0);
    }
}
