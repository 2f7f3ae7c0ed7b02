//! What the user asked for: a virtual IP address, written as heartbeat's haresources
//! shorthand (`IP[/mask[/iface[:label][/broadcast]]]`) or as `ocf:halo:IPaddr` parameters,
//! parsed into a [`VipSpec`] whose missing parts ([`crate::Net::resolve`]) fills in from the
//! routing table. Pure: no sockets, no netlink.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use halo_config::haresources::HaResource;

use crate::error::SpecError;

/// `IFNAMSIZ - 1`: the longest interface name, and the longest address label.
pub const MAX_LABEL_LEN: usize = 15;

/// The IPv4 broadcast address to give the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Broadcast {
    /// The host bits of the prefix set (`+`; heartbeat's findif default, `ip addr … brd +`).
    /// None for /31 and /32 prefixes, as iproute2 does.
    #[default]
    HostBitsSet,
    /// The host bits of the prefix cleared (`-`).
    HostBitsClear,
    /// This address.
    Address(Ipv4Addr),
}

impl Broadcast {
    /// Parses `+`, `-` or a dotted IPv4 address.
    pub fn parse(field: &'static str, s: &str) -> Result<Broadcast, SpecError> {
        match s {
            "+" => Ok(Broadcast::HostBitsSet),
            "-" => Ok(Broadcast::HostBitsClear),
            _ => s
                .parse::<Ipv4Addr>()
                .map(Broadcast::Address)
                .map_err(|_| SpecError::field(field, s, "not an IPv4 address, '+' or '-'")),
        }
    }

    /// The broadcast address for `addr/prefix_len`, or `None` where a prefix has no room
    /// for one (/31, /32).
    pub fn for_prefix(self, addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
        match self {
            Broadcast::Address(a) => Some(a),
            _ if prefix_len > 30 => None,
            Broadcast::HostBitsSet => {
                Some(Ipv4Addr::from(u32::from(addr) | host_mask_v4(prefix_len)))
            }
            Broadcast::HostBitsClear => {
                Some(Ipv4Addr::from(u32::from(addr) & !host_mask_v4(prefix_len)))
            }
        }
    }
}

/// The host bits of an IPv4 prefix of `prefix_len` bits.
pub(crate) fn host_mask_v4(prefix_len: u8) -> u32 {
    u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0)
}

/// Whether `prefix/prefix_len` contains `addr` (both of the same family).
pub fn prefix_contains(prefix: IpAddr, prefix_len: u8, addr: IpAddr) -> bool {
    match (prefix, addr) {
        (IpAddr::V4(p), IpAddr::V4(a)) => {
            let net = !host_mask_v4(prefix_len);
            prefix_len <= 32 && u32::from(p) & net == u32::from(a) & net
        }
        (IpAddr::V6(p), IpAddr::V6(a)) => {
            let net = !u128::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            prefix_len <= 128 && u128::from(p) & net == u128::from(a) & net
        }
        _ => false,
    }
}

/// A virtual IP address as configured: the address, and whatever of prefix length,
/// interface, label and broadcast the configuration gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (`cidr_netmask`); from the routing table when `None`.
    pub prefix_len: Option<u8>,
    /// Base interface (`nic`); from the routing table when `None`.
    pub nic: Option<String>,
    /// Label suffix: the address is labelled `NIC:SUFFIX` (IPv4 only; IPaddr2's `iflabel`).
    pub label: Option<String>,
    /// IPv4 broadcast; `+` when `None`.
    pub broadcast: Option<Broadcast>,
}

impl VipSpec {
    /// Just the address; everything else from the routing table.
    pub fn new(addr: IpAddr) -> VipSpec {
        VipSpec {
            addr,
            prefix_len: None,
            nic: None,
            label: None,
            broadcast: None,
        }
    }

    /// Parses heartbeat's haresources shorthand `IP[/mask[/iface[:label][/broadcast]]]`,
    /// the argument of `IPaddr::…`, `IPaddr2::…` or a bare `10.0.0.1/24/eth0`.
    ///
    /// As heartbeat's `IPaddr` wrapper split it: the mask is a prefix length or a dotted
    /// netmask; a third field that starts with a digit is the broadcast address (there is
    /// no interface then); otherwise it is the interface, optionally `iface:label`, and a
    /// fourth field is the broadcast address. Unlike heartbeat, an empty field means
    /// "not given" (heartbeat's `sed` shifted the later fields into it) and a fifth field
    /// is an error rather than ignored. IPv6 addresses are accepted too (`IPaddr2::`).
    pub fn parse_shorthand(s: &str) -> Result<VipSpec, SpecError> {
        let fields: Vec<&str> = s.split('/').collect();
        if fields.len() > 4 {
            return Err(SpecError::field(
                "haresources address",
                s,
                "too many '/'-separated fields: write IP[/mask[/iface[:label][/broadcast]]]",
            ));
        }
        let addr = parse_addr("ip", fields[0])?;
        let mut spec = VipSpec::new(addr);
        let given = |i: usize| fields.get(i).copied().filter(|f| !f.is_empty());
        if let Some(mask) = given(1) {
            spec.prefix_len = Some(parse_netmask(addr, "netmask", mask)?);
        }
        match given(2) {
            Some(third) if third.starts_with(|c: char| c.is_ascii_digit()) => {
                if fields.len() > 3 {
                    return Err(SpecError::field(
                        "haresources address",
                        s,
                        "the third field is a broadcast address (it starts with a digit), so there can be no fourth",
                    ));
                }
                spec.broadcast = Some(Broadcast::parse("broadcast", third)?);
            }
            Some(nic) => {
                let (nic, label) = split_nic_label(nic)?;
                spec.nic = Some(nic);
                spec.label = label;
                if let Some(b) = given(3) {
                    spec.broadcast = Some(Broadcast::parse("broadcast", b)?);
                }
            }
            None => {
                if let Some(b) = given(3) {
                    spec.broadcast = Some(Broadcast::parse("broadcast", b)?);
                }
            }
        }
        spec.check()?;
        Ok(spec)
    }

    /// The address of a haresources `IPaddr`/`IPaddr2` resource (bare shorthand included),
    /// or `None` when the resource is some other script. Errors carry the line.
    pub fn from_haresource(r: &HaResource) -> Option<Result<VipSpec, SpecError>> {
        if r.script != "IPaddr" && r.script != "IPaddr2" {
            return None;
        }
        let parsed = match r.args.as_slice() {
            [one] => VipSpec::parse_shorthand(one),
            _ => Err(SpecError::field(
                "haresources address",
                &r.spec,
                "IPaddr takes one argument, IP[/mask[/iface[:label][/broadcast]]]",
            )),
        };
        Some(parsed.map_err(|e| SpecError::AtLine {
            line: r.line,
            spec: r.spec.clone(),
            source: Box::new(e),
        }))
    }

    /// Builds a spec from `ocf:halo:IPaddr` parameters (the values of `ip`,
    /// `cidr_netmask`, `nic`, `label`, `broadcast`; empty strings count as not given).
    pub fn from_params(
        ip: Option<&str>,
        cidr_netmask: Option<&str>,
        nic: Option<&str>,
        label: Option<&str>,
        broadcast: Option<&str>,
    ) -> Result<VipSpec, SpecError> {
        let ip = nonempty(ip).ok_or(SpecError::Missing { field: "ip" })?;
        let mut spec = VipSpec::new(parse_addr("ip", ip)?);
        if let Some(m) = nonempty(cidr_netmask) {
            spec.prefix_len = Some(parse_netmask(spec.addr, "cidr_netmask", m)?);
        }
        if let Some(n) = nonempty(nic) {
            let (nic, nic_label) = split_nic_label(n)?;
            spec.nic = Some(nic);
            spec.label = nic_label;
        }
        if let Some(l) = nonempty(label) {
            // A label in `nic` (deprecated in IPaddr2) wins, as there.
            if spec.label.is_none() {
                spec.label = Some(label_suffix(spec.nic.as_deref(), l)?);
            }
        }
        if let Some(b) = nonempty(broadcast) {
            spec.broadcast = Some(Broadcast::parse("broadcast", b)?);
        }
        spec.check()?;
        Ok(spec)
    }

    /// Checks what depends on more than one field.
    fn check(&self) -> Result<(), SpecError> {
        if self.addr.is_ipv6() {
            if self.broadcast.is_some() {
                return Err(SpecError::field(
                    "broadcast",
                    "",
                    "IPv6 has no broadcast address; leave it out",
                ));
            }
            if self.label.is_some() {
                return Err(SpecError::field(
                    "label",
                    self.label.as_deref().unwrap_or_default(),
                    "address labels exist for IPv4 only",
                ));
            }
        }
        if let (Some(nic), Some(suffix)) = (&self.nic, &self.label) {
            full_label(nic, suffix)?;
        }
        if let IpAddr::V6(a) = self.addr
            && is_link_local_v6(a)
            && self.nic.is_none()
        {
            return Err(SpecError::field(
                "nic",
                "",
                "a link-local IPv6 address needs its interface: give nic",
            ));
        }
        Ok(())
    }
}

/// `fe80::/10`.
pub(crate) fn is_link_local_v6(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The label `NIC:SUFFIX`, checked against the kernel's 15-byte limit.
pub fn full_label(nic: &str, suffix: &str) -> Result<String, SpecError> {
    let label = format!("{nic}:{suffix}");
    if label.len() > MAX_LABEL_LEN {
        return Err(SpecError::field(
            "label",
            &label,
            "interface name, ':' and label together must fit in 15 bytes",
        ));
    }
    Ok(label)
}

/// `eth0:vip` → (`eth0`, `Some("vip")`), as IPaddr2 reads a label written into `nic`.
fn split_nic_label(s: &str) -> Result<(String, Option<String>), SpecError> {
    let (nic, label) = match s.split_once(':') {
        Some((n, l)) => (n, Some(l)),
        None => (s, None),
    };
    check_ifname("nic", nic)?;
    let label = match label {
        Some(l) => Some(label_suffix(Some(nic), l)?),
        None => None,
    };
    Ok((nic.to_string(), label))
}

/// The suffix of a label given as `SUFFIX` or as `NIC:SUFFIX`.
fn label_suffix(nic: Option<&str>, l: &str) -> Result<String, SpecError> {
    let suffix = match (nic, l.split_once(':')) {
        (Some(n), Some((prefix, rest))) if prefix == n => rest,
        (_, Some(_)) => {
            return Err(SpecError::field(
                "label",
                l,
                "give the label without the interface (IPaddr2's iflabel), e.g. 'vip' for eth0:vip",
            ));
        }
        (_, None) => l,
    };
    if suffix.is_empty()
        || suffix
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == ':' || c.is_control())
    {
        return Err(SpecError::field(
            "label",
            l,
            "a label is a non-empty word without blanks, '/' or ':'",
        ));
    }
    if suffix.len() + 2 > MAX_LABEL_LEN {
        return Err(SpecError::field(
            "label",
            l,
            "interface name, ':' and label together must fit in 15 bytes",
        ));
    }
    Ok(suffix.to_string())
}

/// An interface name the kernel could have: 1–15 bytes, no '/', ':' or blanks.
pub(crate) fn check_ifname(field: &'static str, s: &str) -> Result<(), SpecError> {
    if s.is_empty()
        || s.len() > MAX_LABEL_LEN
        || s == "."
        || s == ".."
        || s.chars()
            .any(|c| c.is_whitespace() || c == '/' || c == ':' || c.is_control())
    {
        return Err(SpecError::field(
            field,
            s,
            "not an interface name (1-15 bytes, no blanks, '/' or ':')",
        ));
    }
    Ok(())
}

fn parse_addr(field: &'static str, s: &str) -> Result<IpAddr, SpecError> {
    let addr: IpAddr = s
        .parse()
        .map_err(|_| SpecError::field(field, s, "not an IPv4 (dotted quad) or IPv6 address"))?;
    let bad = match addr {
        IpAddr::V4(a) => {
            a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.octets()[0] == 0
        }
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
    };
    if bad {
        return Err(SpecError::field(
            field,
            s,
            "not a unicast address a host can hold",
        ));
    }
    Ok(addr)
}

/// A netmask as a prefix length (`24`) or, for IPv4, dotted (`255.255.255.0`, which must
/// be contiguous ones). IPv4 1–32, IPv6 1–128, as findif accepted.
pub fn parse_netmask(addr: IpAddr, field: &'static str, s: &str) -> Result<u8, SpecError> {
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    if s.contains('.') {
        if addr.is_ipv6() {
            return Err(SpecError::field(
                field,
                s,
                "an IPv6 netmask is a prefix length (1-128)",
            ));
        }
        let m: Ipv4Addr = s
            .parse()
            .map_err(|_| SpecError::field(field, s, "not a dotted netmask or prefix length"))?;
        let bits = u32::from(m);
        let len = bits.leading_ones();
        if bits.checked_shl(len).unwrap_or(0) != 0 {
            return Err(SpecError::field(
                field,
                s,
                "the netmask's one bits are not contiguous",
            ));
        }
        if len == 0 {
            return Err(SpecError::field(field, s, "a netmask of 0 bits"));
        }
        // len <= 32 here.
        return Ok(u8::try_from(len).unwrap_or(32));
    }
    match s.parse::<u8>() {
        Ok(n) if (1..=max).contains(&n) && !s.starts_with('+') => Ok(n),
        _ => Err(SpecError::field(
            field,
            s,
            if max == 32 {
                "not a prefix length 1-32 or a dotted netmask"
            } else {
                "not a prefix length 1-128"
            },
        )),
    }
}

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// How to announce a newly added address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// Announcements to send (`arp_count`). For IPv4 each is an ARP request and an ARP
    /// reply, as Linux-HA's `send_arp` sends; for IPv6 one unsolicited neighbour
    /// advertisement. 0 sends none.
    pub count: u32,
    /// Time between announcements (`arp_interval`); the first goes out at once.
    pub interval: Duration,
}

impl Default for AnnounceConfig {
    /// IPaddr2's defaults: 5 announcements 200 ms apart.
    fn default() -> Self {
        AnnounceConfig {
            count: 5,
            interval: Duration::from_millis(200),
        }
    }
}

impl AnnounceConfig {
    /// From the `arp_count` and `arp_interval` (milliseconds) parameters; empty or absent
    /// values take the defaults.
    pub fn from_params(
        arp_count: Option<&str>,
        arp_interval: Option<&str>,
    ) -> Result<AnnounceConfig, SpecError> {
        let mut c = AnnounceConfig::default();
        if let Some(s) = arp_count.map(str::trim).filter(|s| !s.is_empty()) {
            c.count = s
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| SpecError::field("arp_count", s, "not a whole number 0-1000"))?;
        }
        if let Some(s) = arp_interval.map(str::trim).filter(|s| !s.is_empty()) {
            let ms = s
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=60_000).contains(n))
                .ok_or_else(|| {
                    SpecError::field(
                        "arp_interval",
                        s,
                        "not a whole number of milliseconds 1-60000",
                    )
                })?;
            c.interval = Duration::from_millis(ms);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests;
