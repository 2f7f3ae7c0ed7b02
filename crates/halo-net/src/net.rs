//! [`Net`]: the kernel's interfaces, routes and addresses through one rtnetlink socket,
//! and the announcements that follow an add.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use rtnetlink::LinkUnspec;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage, State};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::announce::Announcer;
use crate::error::{FindError, NetError};
use crate::route::{self, Found, RouteEntry};
use crate::spec::{AnnounceConfig, VipSpec, full_label, is_link_local_v6, prefix_contains};

/// The routing table of local addresses (`ip route show table local`).
const RT_TABLE_LOCAL: u32 = 255;

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Ethernet address, when it has one (not loopback, not a tunnel).
    pub mac: Option<[u8; 6]>,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Operationally down: `DOWN` or `LOWERLAYERDOWN` (no carrier), as IPaddr2's
    /// `check_link_status` reads it.
    pub oper_down: bool,
    /// A loopback interface (nothing to announce there).
    pub loopback: bool,
}

/// An address found on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The interface's index.
    pub ifindex: u32,
    /// The interface's name.
    pub iface: String,
    /// Its label (IPv4), e.g. `eth0:vip`.
    pub label: Option<String>,
    /// Still doing duplicate address detection (IPv6).
    pub tentative: bool,
    /// Duplicate address detection found another holder (IPv6): unusable.
    pub dad_failed: bool,
    message: AddressMessage,
}

/// A virtual IP address ready to be added: everything resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Interface name.
    pub iface: String,
    /// Interface index.
    pub ifindex: u32,
    /// Full label (`eth0:vip`), IPv4 only.
    pub label: Option<String>,
    /// IPv4 broadcast address, if any.
    pub broadcast: Option<Ipv4Addr>,
}

impl std::fmt::Display for Vip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} on {}", self.addr, self.prefix_len, self.iface)?;
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        if let Some(b) = self.broadcast {
            write!(f, " brd {b}")?;
        }
        Ok(())
    }
}

/// What [`Net::add_address`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The address was added.
    Added,
    /// It was already on the interface (success: start is idempotent).
    AlreadyPresent,
}

impl std::fmt::Display for AddOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddOutcome::Added => "added",
            AddOutcome::AlreadyPresent => "already present",
        })
    }
}

/// What [`Net::remove`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Removed from these interfaces.
    Removed(Vec<String>),
    /// It was not there (success: stop is idempotent).
    WasAbsent,
}

/// What [`Net::announce`] did at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announced {
    /// The first announcement is out; `remaining` more follow in the background.
    Sent {
        /// Announcements still to come.
        remaining: u32,
    },
    /// Nothing to announce: count 0, or an interface without an Ethernet address
    /// (loopback), where IPaddr2 sends nothing either.
    Nothing,
}

impl std::fmt::Display for Announced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Announced::Sent { remaining } => write!(f, "first sent, {remaining} more to follow"),
            Announced::Nothing => f.write_str("nothing to announce"),
        }
    }
}

/// How many times a dump answered EBUSY is tried again (see `Net::dump`).
const DUMP_BUSY_RETRIES: u32 = 50;
/// The pause before each retry of a busy dump: 50 × 2 ms = 100 ms at most.
const DUMP_BUSY_PAUSE: Duration = Duration::from_millis(2);

/// A netlink connection to the kernel of the network namespace it was opened in, with
/// the announcements it has under way. Cheap to clone; the connection closes when the
/// last clone (including those held by running announcements) is dropped.
#[derive(Debug, Clone)]
pub struct Net {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    handle: rtnetlink::Handle,
    /// The packet socket for announcements, or why it could not be opened (no
    /// `CAP_NET_RAW`: monitoring still works).
    packet: Result<Arc<socket2::Socket>, String>,
    connection: tokio::task::JoinHandle<()>,
    announcing: Mutex<HashMap<IpAddr, AbortHandle>>,
    /// Held for the whole of each dump request (interfaces, routes, addresses). The
    /// kernel runs one dump at a time per netlink socket and refuses a second one
    /// with EBUSY; two agent operations sharing this `Net` (two IPaddr resources
    /// probed at once) must take turns.
    dumps: tokio::sync::Mutex<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Net {
    /// Opens a netlink socket and a packet socket (for announcements) in the calling
    /// thread's network namespace: every later call works in that namespace, whatever
    /// thread runs it. Must be called inside a tokio runtime (the netlink connection
    /// runs as a task on it).
    pub fn open() -> Result<Net, NetError> {
        Net::open_with(true)
    }

    /// Like [`Net::open`], without the packet socket: for a short-lived process that only
    /// looks or removes (monitor, stop). Closing a packet socket waits for an RCU grace
    /// period in the kernel (`synchronize_net`, ~10 ms here), which such a process need
    /// not pay. Announcing through this `Net` fails.
    pub fn open_without_announcements() -> Result<Net, NetError> {
        Net::open_with(false)
    }

    fn open_with(announcements: bool) -> Result<Net, NetError> {
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::io("open a netlink socket", e))?;
        let packet = if announcements {
            crate::announce::packet_socket()
                .map(Arc::new)
                .map_err(|e| format!("open a packet socket for announcements: {e}"))
        } else {
            Err("this Net was opened without announcements".to_string())
        };
        let connection = tokio::spawn(connection);
        Ok(Net {
            inner: Arc::new(Inner {
                handle,
                packet,
                connection,
                announcing: Mutex::new(HashMap::new()),
                dumps: tokio::sync::Mutex::new(()),
            }),
        })
    }

    fn handle(&self) -> &rtnetlink::Handle {
        &self.inner.handle
    }

    /// A duplicate of the packet socket's descriptor, if it is open. Handing it to a
    /// process that outlives this one moves the socket's (slow) release there.
    pub fn packet_socket_fd(&self) -> Option<std::os::fd::OwnedFd> {
        let s = self.inner.packet.as_ref().ok()?;
        s.try_clone().ok().map(std::os::fd::OwnedFd::from)
    }

    /// Runs one dump request (`request` makes it afresh for each try) and collects
    /// its answers, in turn with this `Net`'s other dumps.
    ///
    /// The kernel runs one dump per netlink socket at a time and answers a second one
    /// with EBUSY. The lock keeps this process's dumps in turn, but a dump whose caller
    /// was dropped midway (an operation cancelled or timed out) goes on in the kernel
    /// until the connection has read it out, a moment later; so EBUSY is retried for a
    /// short while ([`DUMP_BUSY_RETRIES`] × [`DUMP_BUSY_PAUSE`]) before it is an error.
    async fn dump<M, S>(
        &self,
        what: impl Fn() -> String,
        request: impl Fn() -> S,
    ) -> Result<Vec<M>, NetError>
    where
        S: futures_util::Stream<Item = Result<M, rtnetlink::Error>>,
    {
        let _turn = self.inner.dumps.lock().await;
        let mut busy = 0;
        loop {
            match request().try_collect::<Vec<M>>().await {
                Err(e) if netlink_errno(&e) == Some(libc::EBUSY) && busy < DUMP_BUSY_RETRIES => {
                    busy += 1;
                    tokio::time::sleep(DUMP_BUSY_PAUSE).await;
                }
                Err(e) => return Err(NetError::netlink(what(), e)),
                Ok(msgs) => {
                    if busy > 0 {
                        tracing::debug!(op = %what(), busy, "dump succeeded after EBUSY");
                    }
                    return Ok(msgs);
                }
            }
        }
    }

    // ------------------------------------------------------------------ links

    /// Every interface.
    pub async fn links(&self) -> Result<Vec<Link>, NetError> {
        let msgs: Vec<LinkMessage> = self
            .dump(
                || "list interfaces".into(),
                || self.handle().link().get().execute(),
            )
            .await?;
        Ok(msgs.iter().map(link_of).collect())
    }

    /// The interface with this index, if there is one.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>, NetError> {
        let got: Result<Vec<LinkMessage>, _> = self
            .handle()
            .link()
            .get()
            .match_index(index)
            .execute()
            .try_collect()
            .await;
        no_such_device_is_none(got, || format!("look up interface {index}"))
    }

    /// The interface with this name, if there is one.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>, NetError> {
        let got: Result<Vec<LinkMessage>, _> = self
            .handle()
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_collect()
            .await;
        no_such_device_is_none(got, || format!("look up interface {name}"))
    }

    // ------------------------------------------------------------ find an interface

    /// The routes of one family, reduced to what [`route::select`] needs.
    pub async fn routes(&self, v6: bool) -> Result<Vec<RouteEntry>, NetError> {
        let names: HashMap<u32, String> = self
            .links()
            .await?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect();
        let mut msg = RouteMessage::default();
        msg.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let msgs: Vec<RouteMessage> = self
            .dump(
                || "list routes".into(),
                || self.handle().route().get(msg.clone()).execute(),
            )
            .await?;
        Ok(msgs.iter().filter_map(|m| route_entry(m, &names)).collect())
    }

    /// The interface, prefix length and broadcast address for `addr`, from the
    /// directly connected route that contains it (heartbeat's `findif`).
    pub async fn find_interface(&self, addr: IpAddr) -> Result<Found, FindError> {
        let vip = self.resolve(&VipSpec::new(addr)).await?;
        Ok(Found {
            iface: vip.iface,
            ifindex: vip.ifindex,
            prefix_len: vip.prefix_len,
            broadcast: vip.broadcast,
        })
    }

    /// Fills in what `spec` leaves out from the routing table, as heartbeat's `findif`
    /// did: with both `nic` and a prefix length given no route is needed (the interface
    /// must exist); otherwise the best connected route (see [`route`]) gives the
    /// interface and/or the prefix length. A 127/8 address without a route falls back to
    /// the loopback interface's local route, as findif did.
    pub async fn resolve(&self, spec: &VipSpec) -> Result<Vip, FindError> {
        let link = match &spec.nic {
            Some(nic) => Some(
                self.link_by_name(nic)
                    .await?
                    .ok_or_else(|| FindError::NoSuchInterface(nic.clone()))?,
            ),
            None => None,
        };
        let (iface, ifindex, prefix_len) = match (&link, spec.prefix_len) {
            (Some(l), Some(p)) => (l.name.clone(), l.index, p),
            _ => {
                let routes = self.routes(spec.addr.is_ipv6()).await?;
                let chosen =
                    route::select(&routes, spec.addr, spec.prefix_len, spec.nic.as_deref())
                        .or_else(|| loopback_route(&routes, spec.addr, spec.nic.as_deref()))
                        .ok_or_else(|| FindError::NoRoute {
                            addr: spec.addr,
                            nic: spec.nic.clone(),
                        })?;
                (
                    chosen.iface.clone(),
                    chosen.ifindex,
                    spec.prefix_len.unwrap_or(chosen.prefix_len),
                )
            }
        };
        let label = match &spec.label {
            Some(suffix) => Some(full_label(&iface, suffix).map_err(FindError::Spec)?),
            None => None,
        };
        Ok(Vip {
            addr: spec.addr,
            prefix_len,
            broadcast: route::broadcast_for(spec.addr, prefix_len, spec.broadcast),
            iface,
            ifindex,
            label,
        })
    }

    // -------------------------------------------------------------- addresses

    /// Where `addr` is configured on this host (usually nowhere or one interface).
    pub async fn lookup(&self, addr: IpAddr) -> Result<Vec<Present>, NetError> {
        let msgs: Vec<AddressMessage> = self
            .dump(
                || format!("list addresses ({addr})"),
                || {
                    let mut req = self.handle().address().get().set_address_filter(addr);
                    req.message_mut().header.family = family_of(addr);
                    req.execute()
                },
            )
            .await?;
        let mut out = Vec::new();
        for m in msgs {
            if address_of(&m) != Some(addr) {
                continue;
            }
            let iface = match self.link_by_index(m.header.index).await? {
                Some(l) => l.name,
                None => continue, // the interface went away meanwhile
            };
            let flags = address_flags(&m);
            out.push(Present {
                addr,
                prefix_len: m.header.prefix_len,
                ifindex: m.header.index,
                iface,
                label: m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Label(l) => Some(l.clone()),
                    _ => None,
                }),
                tentative: flags.contains(AddressFlags::Tentative),
                dad_failed: flags.contains(AddressFlags::Dadfailed),
                message: m,
            });
        }
        Ok(out)
    }

    /// Whether `addr` is configured on `iface` (on any interface when `None`).
    pub async fn is_present(&self, addr: IpAddr, iface: Option<&str>) -> Result<bool, NetError> {
        Ok(self
            .lookup(addr)
            .await?
            .iter()
            .any(|p| iface.is_none_or(|i| p.iface == i)))
    }

    /// Whether `addr` is configured on the interface with index `ifindex`.
    pub async fn is_present_on(&self, addr: IpAddr, ifindex: u32) -> Result<bool, NetError> {
        Ok(self
            .lookup(addr)
            .await?
            .iter()
            .any(|p| p.ifindex == ifindex))
    }

    /// Adds the address (IPv6 with `nodad`, usable at once) and brings the interface up
    /// if it is administratively down, as IPaddr2 does. Already there: success. On
    /// another interface: [`NetError::Elsewhere`]. Sends no announcement.
    pub async fn add_address(&self, vip: &Vip) -> Result<AddOutcome, NetError> {
        let present = self.lookup(vip.addr).await?;
        if present.iter().any(|p| p.ifindex == vip.ifindex) {
            return Ok(AddOutcome::AlreadyPresent);
        }
        if let Some(p) = present.first() {
            return Err(NetError::Elsewhere {
                addr: vip.addr,
                present: p.iface.clone(),
                wanted: vip.iface.clone(),
            });
        }
        let mut req = self
            .handle()
            .address()
            .add(vip.ifindex, vip.addr, vip.prefix_len);
        let msg = req.message_mut();
        msg.attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let Some(b) = vip.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(l) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        msg.header.scope = scope_of(vip.addr);
        if vip.addr.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        let outcome = match req.execute().await {
            Ok(()) => AddOutcome::Added,
            Err(e) if netlink_errno(&e) == Some(libc::EEXIST) => AddOutcome::AlreadyPresent,
            Err(e) => return Err(NetError::netlink(format!("add {vip}"), e)),
        };
        match self.link_by_index(vip.ifindex).await? {
            Some(l) if !l.admin_up => {
                tracing::info!(iface = %vip.iface, "bringing the interface up, as IPaddr2 does");
                self.handle()
                    .link()
                    .set(LinkUnspec::new_with_index(vip.ifindex).up().build())
                    .execute()
                    .await
                    .map_err(|e| NetError::netlink(format!("set {} up", vip.iface), e))?;
            }
            Some(_) => {}
            None => return Err(NetError::NoLink(vip.ifindex)),
        }
        tracing::info!(%vip, ?outcome, "address added");
        Ok(outcome)
    }

    /// Adds the address and announces it: returns once the first announcement is out;
    /// the others follow in the background (see [`Net::announce`]). This is the call
    /// for taking over an address.
    pub async fn add(
        &self,
        vip: &Vip,
        announce: &AnnounceConfig,
    ) -> Result<(AddOutcome, Announced), NetError> {
        let outcome = self.add_address(vip).await?;
        let announced = self.announce(vip.addr, vip.ifindex, announce).await?;
        Ok((outcome, announced))
    }

    /// Removes `addr` from `iface` (from every interface that has it when `None`) and
    /// stops its announcements. Not there: success, as an OCF stop must be.
    pub async fn remove(
        &self,
        addr: IpAddr,
        iface: Option<&str>,
    ) -> Result<RemoveOutcome, NetError> {
        self.stop_announcing(addr);
        let present: Vec<Present> = self
            .lookup(addr)
            .await?
            .into_iter()
            .filter(|p| iface.is_none_or(|i| p.iface == i))
            .collect();
        if present.is_empty() {
            return Ok(RemoveOutcome::WasAbsent);
        }
        let mut removed = Vec::new();
        for p in present {
            match self
                .handle()
                .address()
                .del(p.message.clone())
                .execute()
                .await
            {
                Ok(()) => {}
                // Removed by someone else meanwhile.
                Err(e)
                    if matches!(
                        netlink_errno(&e),
                        Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) | Some(libc::ENODEV)
                    ) => {}
                Err(e) => {
                    return Err(NetError::netlink(
                        format!("remove {addr}/{} from {}", p.prefix_len, p.iface),
                        e,
                    ));
                }
            }
            tracing::info!(%addr, iface = %p.iface, "address removed");
            removed.push(p.iface);
        }
        Ok(RemoveOutcome::Removed(removed))
    }

    // ---------------------------------------------------------- announcements

    /// Announces `addr` on the interface: the first announcement before returning, the
    /// other `count - 1` every `interval` in a task on the current runtime. Before each
    /// of those the address must still be on the interface (a removal meanwhile ends
    /// them, so a node that let go of an address never advertises it again); a new
    /// announcement or [`Net::remove`] of the same address cancels them too.
    pub async fn announce(
        &self,
        addr: IpAddr,
        ifindex: u32,
        cfg: &AnnounceConfig,
    ) -> Result<Announced, NetError> {
        let Some((announcer, remaining)) = self.announce_first(addr, ifindex, cfg).await? else {
            return Ok(Announced::Nothing);
        };
        if remaining > 0 {
            let net = self.clone();
            let interval = cfg.interval;
            let task = tokio::spawn(async move {
                if let Err(e) = net
                    .announce_more(&announcer, remaining, interval, Instant::now())
                    .await
                {
                    tracing::warn!(%addr, error = %e, "announcements stopped");
                }
            });
            if let Ok(mut map) = self.inner.announcing.lock() {
                map.retain(|_, h| !h.is_finished());
                map.insert(addr, task.abort_handle());
            }
        }
        Ok(Announced::Sent { remaining })
    }

    /// Cancels earlier announcements of `addr` and sends the first new one. Returns the
    /// announcer and how many announcements are still to be sent, or `None` when there
    /// is nothing to announce. The start of [`Net::announce`], for callers that send the
    /// rest themselves (the agent's detached announcer).
    pub async fn announce_first(
        &self,
        addr: IpAddr,
        ifindex: u32,
        cfg: &AnnounceConfig,
    ) -> Result<Option<(Announcer, u32)>, NetError> {
        self.stop_announcing(addr);
        let Some(announcer) = self.announcer(addr, ifindex, cfg).await? else {
            return Ok(None);
        };
        announcer.send_once()?;
        Ok(Some((announcer, cfg.count.saturating_sub(1))))
    }

    /// An [`Announcer`] for `addr` on the interface, or `None` when there is nothing to
    /// announce (count 0, no Ethernet address).
    pub async fn announcer(
        &self,
        addr: IpAddr,
        ifindex: u32,
        cfg: &AnnounceConfig,
    ) -> Result<Option<Announcer>, NetError> {
        if cfg.count == 0 {
            return Ok(None);
        }
        let link = self
            .link_by_index(ifindex)
            .await?
            .ok_or(NetError::NoLink(ifindex))?;
        let Some(mac) = link.mac.filter(|_| !link.loopback) else {
            return Ok(None);
        };
        let socket =
            self.inner.packet.as_ref().map_err(|e| {
                NetError::io(e.clone(), std::io::Error::from_raw_os_error(libc::EPERM))
            })?;
        Ok(Some(Announcer::new(
            Arc::clone(socket),
            addr,
            &link.name,
            ifindex,
            mac,
        )?))
    }

    /// Sends `count` announcements, the first at `first + interval`, each only while the
    /// address is still on the interface. Returns how many went out. Used by the
    /// background task of [`Net::announce`] and by the agent's detached announcer.
    pub async fn announce_more(
        &self,
        announcer: &Announcer,
        count: u32,
        interval: Duration,
        first: Instant,
    ) -> Result<u32, NetError> {
        let mut sent = 0;
        for i in 1..=count {
            tokio::time::sleep_until(first + interval * i).await;
            if !self
                .is_present_on(announcer.addr(), announcer.ifindex())
                .await?
            {
                tracing::info!(addr = %announcer.addr(), "address gone: no more announcements");
                break;
            }
            announcer.send_once()?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Cancels the background announcements of `addr`, if any.
    pub fn stop_announcing(&self, addr: IpAddr) {
        if let Ok(mut map) = self.inner.announcing.lock()
            && let Some(h) = map.remove(&addr)
        {
            h.abort();
        }
    }
}

// ------------------------------------------------------------------ helpers

fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// The scope `ip addr add` gives an address: host for 127/8, link for fe80::/10.
fn scope_of(addr: IpAddr) -> AddressScope {
    match addr {
        IpAddr::V4(a) if a.is_loopback() => AddressScope::Host,
        IpAddr::V6(a) if is_link_local_v6(a) => AddressScope::Link,
        _ => AddressScope::Universe,
    }
}

fn netlink_errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io().raw_os_error(),
        _ => None,
    }
}

fn no_such_device_is_none(
    got: Result<Vec<LinkMessage>, rtnetlink::Error>,
    op: impl FnOnce() -> String,
) -> Result<Option<Link>, NetError> {
    match got {
        Ok(msgs) => Ok(msgs.first().map(link_of)),
        Err(e) if matches!(netlink_errno(&e), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(None),
        Err(e) => Err(NetError::netlink(op(), e)),
    }
}

fn link_of(m: &LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    let mut oper_down = false;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Address(bytes) => {
                if let Ok(b) = <[u8; 6]>::try_from(bytes.as_slice())
                    && m.header.link_layer_type == LinkLayerType::Ether
                {
                    mac = Some(b);
                }
            }
            LinkAttribute::OperState(s) => {
                oper_down = matches!(s, State::Down | State::LowerLayerDown);
            }
            _ => {}
        }
    }
    Link {
        index: m.header.index,
        name,
        mac,
        admin_up: m.header.flags.contains(LinkFlags::Up),
        oper_down,
        loopback: m.header.flags.contains(LinkFlags::Loopback),
    }
}

/// The local address of an address message: `IFA_LOCAL` for IPv4 (`IFA_ADDRESS` is the
/// peer on point-to-point links), `IFA_ADDRESS` for IPv6.
fn address_of(m: &AddressMessage) -> Option<IpAddr> {
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    local.or(address)
}

fn address_flags(m: &AddressMessage) -> AddressFlags {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_retain(u32::from(m.header.flags.bits())))
}

fn route_entry(m: &RouteMessage, names: &HashMap<u32, String>) -> Option<RouteEntry> {
    let mut dst = None;
    let mut oif = None;
    let mut metric = 0;
    let mut via_gateway = false;
    let mut table = u32::from(m.header.table);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(a)) => dst = Some(IpAddr::V4(*a)),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => dst = Some(IpAddr::V6(*a)),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(_) | RouteAttribute::Via(_) | RouteAttribute::MultiPath(_) => {
                via_gateway = true;
            }
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    let ifindex = oif?;
    let dst = dst.unwrap_or(match m.header.address_family {
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    });
    let main = table == u32::from(RouteHeader::RT_TABLE_MAIN);
    Some(RouteEntry {
        dst,
        prefix_len: m.header.destination_prefix_length,
        ifindex,
        iface: names.get(&ifindex)?.clone(),
        metric,
        via_gateway,
        main_unicast: main && m.header.kind == RouteType::Unicast,
        local: table == RT_TABLE_LOCAL && m.header.kind == RouteType::Local,
    })
}

/// findif's loopback case: `127.x` without a main-table route uses the loopback
/// interface's local route (`local 127.0.0.0/8 dev lo`).
fn loopback_route<'a>(
    routes: &'a [RouteEntry],
    addr: IpAddr,
    nic: Option<&str>,
) -> Option<&'a RouteEntry> {
    match addr {
        IpAddr::V4(a) if a.is_loopback() => routes.iter().find(|r| {
            r.local
                && r.prefix_len < 32
                && prefix_contains(r.dst, r.prefix_len, addr)
                && nic.is_none_or(|n| r.iface == n)
        }),
        _ => None,
    }
}
