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
//! sent from the VIP to `ff02::1` with hop limit 255; the override flag makes receivers
//! replace the link-layer address they have for the VIP.

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

/// An unsolicited neighbour advertisement for `target` at `mac`, override flag set.
/// The checksum is left 0: the kernel computes it for raw ICMPv6 sockets.
pub fn unsolicited_na(mac: [u8; 6], target: Ipv6Addr) -> [u8; NA_LEN] {
    let mut p = [0u8; NA_LEN];
    p[0] = ND_NEIGHBOR_ADVERT;
    p[4] = NA_FLAG_OVERRIDE;
    p[8..24].copy_from_slice(&target.octets());
    p[24] = 2; // target link-layer address
    p[25] = 1; // in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    p
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
        let p = unsolicited_na(MAC, t);
        assert_eq!(&p[0..8], &[136, 0, 0, 0, 0x20, 0, 0, 0]);
        assert_eq!(&p[8..24], &t.octets());
        assert_eq!(&p[24..32], &[2, 1, 0x02, 0x68, 0x6c, 0, 0, 1]);
    }
}
