//! Choosing the interface and prefix for an address from the routing table, as heartbeat's
//! `findif` did. Pure: [`crate::Net`] reads the routes, [`select`] decides.
//!
//! The candidates are the routes of the main table that reach a subnet directly (unicast,
//! no gateway) and contain the address; a configured prefix length admits only routes at
//! least as wide (`ip route list match IP/LEN`), a configured interface only its routes.
//! Among them the most specific route wins (longest prefix), then the lowest metric, then
//! the lowest interface index, so that the answer never depends on dump order. Default
//! routes never count: they say nothing about the subnet. `findif.sh` sorted by metric
//! first; the kernel itself prefers the longest prefix, and so do we.

use std::net::IpAddr;

use crate::spec::{Broadcast, prefix_contains};

/// One route, reduced to what the choice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Destination prefix.
    pub dst: IpAddr,
    /// Its length.
    pub prefix_len: u8,
    /// Output interface index.
    pub ifindex: u32,
    /// Output interface name.
    pub iface: String,
    /// Metric (`RTA_PRIORITY`), 0 when absent.
    pub metric: u32,
    /// Whether it goes through a gateway (or several).
    pub via_gateway: bool,
    /// Whether it is a unicast route of the main table.
    pub main_unicast: bool,
    /// Whether it is a route of type local in the local table (`local 127.0.0.0/8 dev lo`).
    pub local: bool,
}

/// Where an address goes on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Interface name.
    pub iface: String,
    /// Interface index.
    pub ifindex: u32,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// IPv4 broadcast address (the host bits set), `None` for IPv6, /31 and /32.
    pub broadcast: Option<std::net::Ipv4Addr>,
}

/// The best directly connected route for `addr` (see the module doc), honouring a
/// configured prefix length and interface. `None` when no route qualifies.
pub fn select<'a>(
    routes: &'a [RouteEntry],
    addr: IpAddr,
    prefix_len: Option<u8>,
    nic: Option<&str>,
) -> Option<&'a RouteEntry> {
    routes
        .iter()
        .filter(|r| r.main_unicast && !r.via_gateway && r.prefix_len > 0)
        .filter(|r| prefix_contains(r.dst, r.prefix_len, addr))
        .filter(|r| prefix_len.is_none_or(|p| r.prefix_len <= p))
        .filter(|r| nic.is_none_or(|n| r.iface == n))
        .min_by(|a, b| {
            b.prefix_len
                .cmp(&a.prefix_len)
                .then(a.metric.cmp(&b.metric))
                .then(a.ifindex.cmp(&b.ifindex))
        })
}

/// The broadcast address `addr/prefix_len` gets under `broadcast` (IPv4 only).
pub fn broadcast_for(
    addr: IpAddr,
    prefix_len: u8,
    broadcast: Option<Broadcast>,
) -> Option<std::net::Ipv4Addr> {
    match addr {
        IpAddr::V4(a) => broadcast.unwrap_or_default().for_prefix(a, prefix_len),
        IpAddr::V6(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: &str, len: u8, idx: u32, iface: &str, metric: u32) -> RouteEntry {
        RouteEntry {
            dst: dst.parse().unwrap(),
            prefix_len: len,
            ifindex: idx,
            iface: iface.into(),
            metric,
            via_gateway: false,
            main_unicast: true,
            local: false,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn picks_the_connected_subnet_among_two_interfaces() {
        let routes = [
            r("10.1.0.0", 24, 2, "eth0", 0),
            r("10.2.0.0", 24, 3, "eth1", 0),
        ];
        assert_eq!(
            select(&routes, ip("10.2.0.7"), None, None).unwrap().iface,
            "eth1"
        );
        assert_eq!(
            select(&routes, ip("10.1.0.7"), None, None).unwrap().iface,
            "eth0"
        );
        assert!(select(&routes, ip("10.3.0.7"), None, None).is_none());
    }

    #[test]
    fn longest_prefix_then_metric_then_index() {
        let routes = [
            r("10.0.0.0", 16, 2, "eth0", 0),
            r("10.0.1.0", 24, 4, "eth2", 100),
            r("10.0.1.0", 24, 3, "eth1", 100),
            r("10.0.1.0", 24, 5, "eth3", 50),
        ];
        let best = select(&routes, ip("10.0.1.9"), None, None).unwrap();
        assert_eq!((best.iface.as_str(), best.prefix_len), ("eth3", 24));
        let routes = &routes[..3];
        assert_eq!(
            select(routes, ip("10.0.1.9"), None, None).unwrap().iface,
            "eth1"
        );
    }

    #[test]
    fn configured_prefix_and_nic_narrow_the_choice() {
        let routes = [
            r("10.0.0.0", 16, 2, "eth0", 0),
            r("10.0.1.0", 24, 3, "eth1", 0),
        ];
        // A /20 cannot come from the /24 route (match IP/20).
        assert_eq!(
            select(&routes, ip("10.0.1.9"), Some(20), None)
                .unwrap()
                .iface,
            "eth0"
        );
        assert_eq!(
            select(&routes, ip("10.0.1.9"), None, Some("eth0"))
                .unwrap()
                .prefix_len,
            16
        );
        assert!(select(&routes, ip("10.0.1.9"), None, Some("eth9")).is_none());
    }

    #[test]
    fn default_gateway_and_foreign_table_routes_never_count() {
        let mut gw = r("10.0.1.0", 24, 3, "eth1", 0);
        gw.via_gateway = true;
        let mut local = r("10.0.1.0", 24, 4, "eth2", 0);
        local.main_unicast = false;
        let routes = [r("0.0.0.0", 0, 2, "eth0", 0), gw, local];
        assert!(select(&routes, ip("10.0.1.9"), None, None).is_none());
    }

    #[test]
    fn ipv6_and_ipv4_do_not_mix() {
        let routes = [
            r("fd00::", 64, 2, "eth0", 256),
            r("10.0.0.0", 8, 3, "eth1", 0),
        ];
        assert_eq!(
            select(&routes, ip("fd00::1:5"), None, None).unwrap().iface,
            "eth0"
        );
        assert!(select(&routes, ip("fd01::1"), None, None).is_none());
    }

    #[test]
    fn broadcasts() {
        assert_eq!(
            broadcast_for(ip("10.0.1.9"), 24, None),
            Some("10.0.1.255".parse().unwrap())
        );
        assert_eq!(
            broadcast_for(ip("10.0.1.9"), 24, Some(Broadcast::HostBitsClear)),
            Some("10.0.1.0".parse().unwrap())
        );
        assert_eq!(broadcast_for(ip("10.0.1.9"), 31, None), None);
        assert_eq!(broadcast_for(ip("10.0.1.9"), 32, None), None);
        assert_eq!(
            broadcast_for(
                ip("10.0.1.9"),
                32,
                Some(Broadcast::Address("10.0.1.127".parse().unwrap()))
            ),
            Some("10.0.1.127".parse().unwrap())
        );
        assert_eq!(broadcast_for(ip("fd00::1"), 64, None), None);
    }
}
