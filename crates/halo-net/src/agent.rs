//! `ocf:halo:IPaddr`: the OCF resource agent for a virtual IP address, as a library.
//!
//! The `halo-ipaddr` binary is a thin `main` around [`run`]; the LRM calls [`run`]
//! in-process with its own long-lived [`Net`] and skips fork/exec. Both behave the same,
//! except where the announcements after the first go: a task on the LRM's runtime, or —
//! since a process must exit to report its result — a detached `halo-ipaddr announce`
//! child ([`Options::detach`]), which IPaddr2 does with a backgrounded `send_arp`.
//!
//! | action | result |
//! | --- | --- |
//! | `start` | resolve (findif), add, first announcement → 0; already there → 0; bad parameters → 6; no such interface or no connected route here → 5 (IPaddr2 too); no privilege → 4; else 1 |
//! | `stop` | remove from `nic` (or wherever it is) → 0; absent → 0; other parameters broken → still removes the address `ip` names; `ip` itself unusable → 0 with a warning (nothing of ours can be there; a failed stop would get the node fenced); removal refused → 1 (4 for privilege) |
//! | `monitor`, `status` | on `nic` (anywhere without one) and the interface operationally up → 0; else 7; bad parameters → 6 |
//! | `validate-all` | parameters (6), then the interface/route on this host (5) → 0 |
//! | `meta-data` | the XML on stdout → 0 |
//! | other | 3 |
//!
//! Parameters are IPaddr2's names: `ip`, `cidr_netmask`, `nic`, `broadcast`, `label` (IPaddr2's
//! `iflabel`), `arp_count`, `arp_interval`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{FindError, NetError, SpecError};
use crate::net::{AddOutcome, Announced, Net, RemoveOutcome};
use crate::spec::{AnnounceConfig, VipSpec};

/// An OCF action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add and announce.
    Start,
    /// Remove.
    Stop,
    /// Is it here?
    Monitor,
    /// Legacy alias of monitor that also prints `running`/`stopped`.
    Status,
    /// Check the parameters.
    ValidateAll,
    /// Print the meta-data XML.
    MetaData,
    /// Print usage.
    Usage,
}

impl Action {
    /// The action for an argv word, `None` when unknown (exit 3).
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" => Action::Monitor,
            "status" => Action::Status,
            "validate-all" => Action::ValidateAll,
            "meta-data" | "metadata" => Action::MetaData,
            "usage" | "help" => Action::Usage,
            _ => return None,
        })
    }
}

/// OCF exit codes (see `agents.md` §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcfRc {
    /// 0
    Success,
    /// 1
    ErrGeneric,
    /// 2
    ErrArgs,
    /// 3
    ErrUnimplemented,
    /// 4
    ErrPerm,
    /// 5
    ErrInstalled,
    /// 6
    ErrConfigured,
    /// 7
    NotRunning,
}

impl OcfRc {
    /// The exit code.
    pub fn code(self) -> i32 {
        match self {
            OcfRc::Success => 0,
            OcfRc::ErrGeneric => 1,
            OcfRc::ErrArgs => 2,
            OcfRc::ErrUnimplemented => 3,
            OcfRc::ErrPerm => 4,
            OcfRc::ErrInstalled => 5,
            OcfRc::ErrConfigured => 6,
            OcfRc::NotRunning => 7,
        }
    }
}

/// The result of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit code.
    pub rc: OcfRc,
    /// Why it failed (printed as `ocf-exit-reason:…` on stderr), or what was noticed.
    pub reason: Option<String>,
    /// What goes to stdout (meta-data, usage, status words).
    pub stdout: Option<String>,
}

impl Outcome {
    fn ok() -> Outcome {
        Outcome {
            rc: OcfRc::Success,
            reason: None,
            stdout: None,
        }
    }

    fn rc(rc: OcfRc, reason: impl Into<String>) -> Outcome {
        Outcome {
            rc,
            reason: Some(reason.into()),
            stdout: None,
        }
    }

    fn stdout(text: String) -> Outcome {
        Outcome {
            rc: OcfRc::Success,
            reason: None,
            stdout: Some(text),
        }
    }
}

/// The instance parameters, as strings (absent and empty are the same).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: HashMap<String, String>,
}

/// The parameters the agent reads.
pub const PARAMETERS: [&str; 7] = [
    "ip",
    "cidr_netmask",
    "nic",
    "broadcast",
    "label",
    "arp_count",
    "arp_interval",
];

impl Params {
    /// From `OCF_RESKEY_<name>` variables of the process environment.
    pub fn from_env() -> Params {
        Params::from_pairs(
            std::env::vars()
                .filter_map(|(k, v)| k.strip_prefix("OCF_RESKEY_").map(|n| (n.to_string(), v))),
        )
    }

    /// From (name, value) pairs without the `OCF_RESKEY_` prefix: what an LRM holds.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Params {
        Params {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The address spec and announcement settings these parameters describe.
    pub fn config(&self) -> Result<(VipSpec, AnnounceConfig), SpecError> {
        let spec = VipSpec::from_params(
            self.get("ip"),
            self.get("cidr_netmask"),
            self.get("nic"),
            self.get("label"),
            self.get("broadcast"),
        )?;
        let announce =
            AnnounceConfig::from_params(self.get("arp_count"), self.get("arp_interval"))?;
        Ok((spec, announce))
    }
}

/// How [`run`] is hosted.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Send the announcements after the first from a detached `EXE announce` process
    /// (for a short-lived agent process); `None`: from a task on the current runtime.
    pub detach: Option<PathBuf>,
}

/// The outcome of an action that needs no kernel access (meta-data, usage), else `None`.
pub fn offline(action: Action) -> Option<Outcome> {
    match action {
        Action::MetaData => Some(Outcome::stdout(meta_data())),
        Action::Usage => Some(Outcome::stdout(usage().to_string())),
        _ => None,
    }
}

/// Runs `action` with `params` against the kernel behind `net`.
pub async fn run(net: &Net, action: Action, params: &Params, options: &Options) -> Outcome {
    if let Some(o) = offline(action) {
        return o;
    }
    match action {
        Action::MetaData | Action::Usage => Outcome::ok(),
        Action::Start => start(net, params, options).await,
        Action::Stop => stop(net, params).await,
        Action::Monitor => monitor(net, params).await,
        Action::Status => {
            let mut o = monitor(net, params).await;
            o.stdout = Some(
                match o.rc {
                    OcfRc::Success => "running",
                    _ => "stopped",
                }
                .to_string(),
            );
            o
        }
        Action::ValidateAll => validate(net, params).await,
    }
}

/// The usage line.
pub fn usage() -> &'static str {
    "usage: halo-ipaddr {start|stop|monitor|status|validate-all|meta-data}\n\
     Parameters come from OCF_RESKEY_ip, _cidr_netmask, _nic, _broadcast, _label, _arp_count, _arp_interval.\n"
}

fn configured(e: SpecError) -> Outcome {
    Outcome::rc(OcfRc::ErrConfigured, e.to_string())
}

fn find_failed(e: FindError) -> Outcome {
    match e {
        FindError::NoSuchInterface(_) | FindError::NoRoute { .. } => {
            Outcome::rc(OcfRc::ErrInstalled, e.to_string())
        }
        FindError::Spec(s) => configured(s),
        FindError::Net(n) => net_failed(n),
    }
}

fn net_failed(e: NetError) -> Outcome {
    let rc = if e.is_permission() {
        OcfRc::ErrPerm
    } else {
        OcfRc::ErrGeneric
    };
    Outcome::rc(rc, e.to_string())
}

async fn validate(net: &Net, params: &Params) -> Outcome {
    let (spec, _) = match params.config() {
        Ok(c) => c,
        Err(e) => return configured(e),
    };
    match net.resolve(&spec).await {
        Ok(_) => Outcome::ok(),
        Err(e) => find_failed(e),
    }
}

async fn start(net: &Net, params: &Params, options: &Options) -> Outcome {
    let (spec, announce) = match params.config() {
        Ok(c) => c,
        Err(e) => return configured(e),
    };
    let vip = match net.resolve(&spec).await {
        Ok(v) => v,
        Err(e) => return find_failed(e),
    };
    let added = match net.add_address(&vip).await {
        Ok(a) => a,
        Err(e) => return net_failed(e),
    };
    let announced = match &options.detach {
        None => net.announce(vip.addr, vip.ifindex, &announce).await,
        Some(exe) => announce_detached(net, exe, vip.addr, vip.ifindex, &announce).await,
    };
    match announced {
        Ok(a) => tracing::info!(%vip, address = %added, announcement = %a, "started"),
        // The address is up; a neighbour that missed the news learns it at its next
        // ARP. Not a reason to fail the start.
        Err(e) => tracing::warn!(%vip, error = %e, "address added but not announced"),
    }
    let mut o = Outcome::ok();
    if added == AddOutcome::AlreadyPresent {
        o.reason = Some(format!("{vip} was already there"));
    }
    o
}

async fn announce_detached(
    net: &Net,
    exe: &PathBuf,
    addr: IpAddr,
    ifindex: u32,
    cfg: &AnnounceConfig,
) -> Result<Announced, NetError> {
    let Some((_, remaining)) = net.announce_first(addr, ifindex, cfg).await? else {
        return Ok(Announced::Nothing);
    };
    if remaining > 0 {
        use std::os::unix::process::CommandExt;
        // The child holds a duplicate of the packet socket as its stdin, so that the
        // kernel's ~10 ms release of that socket happens when the child exits, not when
        // this agent does.
        let stdin = net.packet_socket_fd().map_or_else(Stdio::null, Stdio::from);
        Command::new(exe)
            .arg("announce")
            .env(ENV_ANNOUNCE_IP, addr.to_string())
            .env(ENV_ANNOUNCE_IFINDEX, ifindex.to_string())
            .env(ENV_ANNOUNCE_COUNT, remaining.to_string())
            .env(
                ENV_ANNOUNCE_INTERVAL_MS,
                cfg.interval.as_millis().to_string(),
            )
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: an executor that kills the agent's group on a
            // later timeout must not take it along, nor wait for it.
            .process_group(0)
            .spawn()
            .map_err(|e| NetError::io(format!("start {} announce", exe.display()), e))?;
    }
    Ok(Announced::Sent { remaining })
}

/// Environment of the detached announcer: the address.
pub const ENV_ANNOUNCE_IP: &str = "HALO_ANNOUNCE_IP";
/// Environment of the detached announcer: the interface index.
pub const ENV_ANNOUNCE_IFINDEX: &str = "HALO_ANNOUNCE_IFINDEX";
/// Environment of the detached announcer: how many announcements are left.
pub const ENV_ANNOUNCE_COUNT: &str = "HALO_ANNOUNCE_COUNT";
/// Environment of the detached announcer: milliseconds between announcements.
pub const ENV_ANNOUNCE_INTERVAL_MS: &str = "HALO_ANNOUNCE_INTERVAL_MS";

/// The detached announcer (`halo-ipaddr announce`): sends the remaining announcements
/// described by the `HALO_ANNOUNCE_*` variables, each only while the address is still on
/// the interface. Returns how many it sent.
pub async fn announce_detached_main(net: &Net) -> Result<u32, String> {
    fn var<T: std::str::FromStr>(name: &str) -> Result<T, String> {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} is missing or malformed"))
    }
    let addr: IpAddr = var(ENV_ANNOUNCE_IP)?;
    let ifindex: u32 = var(ENV_ANNOUNCE_IFINDEX)?;
    let count: u32 = var(ENV_ANNOUNCE_COUNT)?;
    let interval = Duration::from_millis(var(ENV_ANNOUNCE_INTERVAL_MS)?);
    let cfg = AnnounceConfig { count, interval };
    let announcer = match net.announcer(addr, ifindex, &cfg).await {
        Ok(Some(a)) => a,
        Ok(None) => return Ok(0),
        Err(e) => return Err(e.to_string()),
    };
    net.announce_more(&announcer, count, interval, tokio::time::Instant::now())
        .await
        .map_err(|e| e.to_string())
}

async fn stop(net: &Net, params: &Params) -> Outcome {
    let spec = match params.config() {
        Ok((spec, _)) => spec,
        // Only the address (and the interface, if usable) matter for removing it: the
        // `ip` parameter is unique, so that address is ours wherever it is.
        Err(first) => {
            let ip = params.get("ip");
            match VipSpec::from_params(ip, None, params.get("nic"), None, None)
                .or_else(|_| VipSpec::from_params(ip, None, None, None, None))
            {
                Ok(spec) => {
                    tracing::warn!(error = %first, "stop: removing {} despite bad parameters", spec.addr);
                    spec
                }
                Err(_) => {
                    tracing::warn!(error = %first, "stop: parameters unusable; nothing of ours can be configured");
                    return Outcome::rc(OcfRc::Success, format!("nothing to stop: {first}"));
                }
            }
        }
    };
    match net.remove(spec.addr, spec.nic.as_deref()).await {
        Ok(RemoveOutcome::WasAbsent) => {
            Outcome::rc(OcfRc::Success, format!("{} was not configured", spec.addr))
        }
        Ok(RemoveOutcome::Removed(_)) => Outcome::ok(),
        Err(e) => net_failed(e),
    }
}

async fn monitor(net: &Net, params: &Params) -> Outcome {
    let (spec, _) = match params.config() {
        Ok(c) => c,
        Err(e) => return configured(e),
    };
    let present = match net.lookup(spec.addr).await {
        Ok(p) => p,
        Err(e) => return net_failed(e),
    };
    let Some(here) = present
        .iter()
        .find(|p| spec.nic.as_deref().is_none_or(|n| p.iface == n))
    else {
        return Outcome::rc(
            OcfRc::NotRunning,
            format!("{} is not configured", spec.addr),
        );
    };
    match net.link_by_index(here.ifindex).await {
        Ok(Some(l)) if l.oper_down || !l.admin_up => Outcome::rc(
            OcfRc::NotRunning,
            format!("{} is on {}, but the interface is down", spec.addr, l.name),
        ),
        Ok(_) => Outcome::ok(),
        Err(e) => net_failed(e),
    }
}

/// The meta-data XML (OCF 1.0, valid against `ra-api-1.dtd`).
pub fn meta_data() -> String {
    let d = AnnounceConfig::default();
    format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="IPaddr" version="{version}">
<version>1.0</version>
<longdesc lang="en">
Manages a virtual IPv4 or IPv6 address: adds it to an interface through netlink, announces
it at once with gratuitous ARP (an ARP request and an ARP reply, as send_arp does) or, for
IPv6, unsolicited neighbour advertisements with the override flag to ff02::1, and removes it.
IPv6 addresses are added without duplicate address detection (nodad), so they are usable at
once. The interface and prefix length come from the directly connected route that contains
the address when they are not given, as heartbeat's findif did. Parameter names follow
ocf:heartbeat:IPaddr2. Part of halo; the local resource manager runs it in-process.
</longdesc>
<shortdesc lang="en">Virtual IPv4/IPv6 address, announced at once (halo)</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1">
<longdesc lang="en">The IPv4 (dotted quad) or IPv6 address, e.g. 192.168.1.10 or 2001:db8::10.</longdesc>
<shortdesc lang="en">IPv4 or IPv6 address</shortdesc>
<content type="string"/>
</parameter>
<parameter name="cidr_netmask" unique="0" required="0">
<longdesc lang="en">Prefix length (e.g. 24), or for IPv4 a dotted netmask (255.255.255.0). Taken from the routing table when empty.</longdesc>
<shortdesc lang="en">Prefix length</shortdesc>
<content type="string"/>
</parameter>
<parameter name="nic" unique="0" required="0">
<longdesc lang="en">The interface to add the address to (eth0; eth0:label also sets the label). Taken from the routing table when empty. Required for IPv6 link-local addresses.</longdesc>
<shortdesc lang="en">Network interface</shortdesc>
<content type="string"/>
</parameter>
<parameter name="broadcast" unique="0" required="0">
<longdesc lang="en">IPv4 broadcast address, or '+' (host bits set, the default) or '-' (host bits cleared). None for /31 and /32.</longdesc>
<shortdesc lang="en">Broadcast address</shortdesc>
<content type="string" default="+"/>
</parameter>
<parameter name="label" unique="0" required="0">
<longdesc lang="en">IPv4 only: the address is labelled nic:label (15 bytes at most in all), as IPaddr2's iflabel.</longdesc>
<shortdesc lang="en">Interface label</shortdesc>
<content type="string"/>
</parameter>
<parameter name="arp_count" unique="0" required="0">
<longdesc lang="en">Announcements to send on start (each an ARP request and an ARP reply, or one neighbour advertisement); the first goes out before start returns, the rest in the background. 0 sends none.</longdesc>
<shortdesc lang="en">Announcement count</shortdesc>
<content type="integer" default="{count}"/>
</parameter>
<parameter name="arp_interval" unique="0" required="0">
<longdesc lang="en">Milliseconds between announcements.</longdesc>
<shortdesc lang="en">Announcement interval (ms)</shortdesc>
<content type="integer" default="{interval}"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" depth="0" timeout="20s" interval="10s"/>
<action name="status" depth="0" timeout="20s" interval="10s"/>
<action name="validate-all" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
"#,
        version = env!("CARGO_PKG_VERSION"),
        count = d.count,
        interval = d.interval.as_millis(),
    )
}
