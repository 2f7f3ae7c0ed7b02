//! `ha.cf`: the cluster's timing, media, nodes, ping nodes and logging.
//!
//! # Lexing (as heartbeat 3.0.6)
//!
//! A line ends at CR or LF; `#` anywhere starts a comment; blank lines are skipped. The
//! first word is the directive, matched exactly (lower case). Two kinds of directive:
//!
//! * **token directives** take values separated by blanks *or commas*; list directives
//!   apply each value separately, so `node a b`, `node a,b` and two `node` lines are the
//!   same. Single-valued directives take exactly one value (heartbeat silently applied
//!   each, so `keepalive 1 2` meant `2`; halo says it is an error).
//! * **whole-line directives** (`mcast`, `mcast6`, `ucast`, `ucast6`, `ping_group`,
//!   `stonith`, `stonith_host`, `apiauth`, `respawn`, `failfast`) split their line on
//!   blanks only, so commas stay inside values (`apiauth ipfail uid=a,b`).
//!
//! # Where halo differs from heartbeat, on purpose
//!
//! * **Order does not matter.** heartbeat read `udpport` and `baud` when it parsed each
//!   medium, so they had to come first (a classic pitfall). halo applies them to every
//!   medium wherever they are written, and says so in a notice when they come after a
//!   medium that uses them (heartbeat would have used the default for that medium).
//! * **Single-valued directives are given once.** A second `deadtime` is an error naming
//!   the first line, rather than a silent override.
//! * **Addresses are literal.** `ucast`, `ping` and friends take IP addresses, not host
//!   names: the failure detector must not depend on DNS.
//! * **Time values** also accept `s`/`sec` (see [`crate::time`]).
//! * **Defaults** are halo's own, for sub-second-capable failure detection that still
//!   tolerates a busy machine: see [`Timing`]. heartbeat's cross-checks are kept.
//! * `ucast` and `ucast6` take one or more peers per line (heartbeat ignored all but the
//!   first).
//! * `mcast` TTL and `mcast6` hops accept 0–255, as ha.cf(5) documents (heartbeat's parser
//!   stopped at 4).
//!
//! Directives of capabilities halo does not have yet are parsed, validated and kept in
//! [`Later`], each with an `Info` notice saying so; directives halo will never act on
//! (heartbeat internals) are validated and kept in [`Later::other`] with a notice saying
//! why they are ignored.

mod directives;
mod values;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use halo_membership::{NoQuorumPolicy, QuorumConfig, QuorumConfigError};
use halo_types::{ClusterName, NodeName};

use crate::error::{ConfigError, ConfigErrors, Problem};
use crate::notice::{Notice, Severity};
use crate::time::Time;
use crate::{Parsed, lex};

pub use directives::directive_names;

/// The UDP port of bcast, ucast and ucast6 when `udpport` is not given: 694, IANA's
/// `ha-cluster` port (heartbeat looked it up in `/etc/services`; a pure parser does not).
pub const DEFAULT_UDPPORT: u16 = 694;
/// Serial line speed when `baud` is not given (heartbeat's default).
pub const DEFAULT_BAUD: u32 = 19200;
/// The serial speeds heartbeat accepts.
pub const BAUD_RATES: [u32; 7] = [9600, 19200, 38400, 57600, 115_200, 230_400, 460_800];

/// A value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// The 1-based line in ha.cf.
    pub line: u32,
}

/// The failure detector's timings, after defaults and cross-checks.
///
/// # Defaults, and why
///
/// heartbeat's defaults were keepalive 1 s and deadtime 30 s: a failover after half a
/// minute. halo's heartbeat path runs at real-time priority and never waits on disk or
/// logging, so it can afford much less. The defaults are **keepalive 200 ms and deadtime
/// 2 s**: detection in about 2 s (Pacemaker's default token gives about 6 s, keepalived's
/// default advert about 3 s), while ten heartbeats may be lost in a row, or the machine
/// may stall for almost two seconds, before a healthy node is wrongly declared dead —
/// the split-brain-under-load trap heartbeat's FAQ warns about. Faster presets are one
/// `halo init --timing` away.
///
/// When only one of the two is given, the other keeps the same 1:10 ratio (so a file
/// written for heartbeat with only `keepalive 2` gets deadtime 20 s, not an error).
/// `warntime` defaults to deadtime/2 and `initdead` follows heartbeat's rule (see
/// [`Timing::heartbeat_initdead`]); `deadping` defaults to deadtime. When deadtime is not
/// given, a notice says which value is used and that heartbeat's was 30 s.
///
/// heartbeat's checks are errors: deadtime must be more than twice keepalive, initdead
/// must not be shorter than deadtime, an explicit deadping must be more than twice
/// keepalive. An initdead under 10 s, a warntime not shorter than deadtime, and a
/// warntime not longer than keepalive are warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Interval between our heartbeats.
    pub keepalive: Duration,
    /// Silence after which a peer is reported late.
    pub warntime: Duration,
    /// Silence after which a peer (or a link to it) is declared dead.
    pub deadtime: Duration,
    /// The deadtime for a peer not yet heard since start-up.
    pub initdead: Duration,
    /// The deadtime of ping nodes and ping groups.
    pub deadping: Duration,
}

impl Timing {
    /// halo's default keepalive.
    pub const DEFAULT_KEEPALIVE: Duration = Duration::from_millis(200);
    /// halo's default deadtime.
    pub const DEFAULT_DEADTIME: Duration = Duration::from_secs(2);
    /// heartbeat's default deadtime, quoted in the notice when deadtime is not given.
    pub const HEARTBEAT_DEADTIME: Duration = Duration::from_secs(30);

    /// heartbeat's default initdead for a deadtime: the deadtime itself when above 10 s,
    /// 12 s when below 6 s, twice the deadtime otherwise. Network start-up (spanning
    /// tree, DHCP, bonding) does not get faster because our heartbeats do.
    pub fn heartbeat_initdead(deadtime: Duration) -> Duration {
        if deadtime > Duration::from_secs(10) {
            deadtime
        } else if deadtime < Duration::from_secs(6) {
            Duration::from_secs(12)
        } else {
            deadtime * 2
        }
    }

    /// The timings halo uses when ha.cf gives none.
    pub fn halo_default() -> Self {
        let deadtime = Self::DEFAULT_DEADTIME;
        Timing {
            keepalive: Self::DEFAULT_KEEPALIVE,
            warntime: deadtime / 2,
            deadtime,
            initdead: Self::heartbeat_initdead(deadtime),
            deadping: deadtime,
        }
    }
}

/// A heartbeat medium: one line of ha.cf (or one value of a `bcast`/`serial` line, or one
/// peer of a `ucast` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medium {
    /// Where it was configured.
    pub line: u32,
    /// What it is.
    pub kind: MediumKind,
}

impl Medium {
    /// The name of the link this medium forms, as heartbeat names links: the interface
    /// for UDP media, the device for serial lines. Media on one interface (two `ucast`
    /// lines to two peers, say) form one link.
    pub fn link_name(&self) -> &str {
        match &self.kind {
            MediumKind::Bcast { iface, .. }
            | MediumKind::Ucast { iface, .. }
            | MediumKind::Ucast6 { iface, .. }
            | MediumKind::Mcast { iface, .. }
            | MediumKind::Mcast6 { iface, .. } => iface,
            MediumKind::Serial { device, .. } => device.to_str().unwrap_or("serial"),
        }
    }
}

/// The kinds of medium. Ports and speeds are resolved (`udpport`, `baud`, defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediumKind {
    /// UDP broadcast on an interface (`bcast IFACE…`, old alias `udp`).
    Bcast {
        /// Interface.
        iface: String,
        /// `udpport`.
        port: u16,
    },
    /// UDP unicast to one peer (`ucast IFACE ADDR…`). Packets to our own address are
    /// harmless, so one ha.cf can list every node's address.
    Ucast {
        /// Interface.
        iface: String,
        /// The peer.
        peer: Ipv4Addr,
        /// `udpport`.
        port: u16,
    },
    /// UDP unicast over IPv6 (`ucast6 IFACE ADDR[%SCOPE]…`).
    Ucast6 {
        /// Interface.
        iface: String,
        /// The peer.
        peer: Ipv6Addr,
        /// Scope (zone) given after `%`, for link-local addresses.
        scope: Option<String>,
        /// `udpport`.
        port: u16,
    },
    /// IPv4 multicast (`mcast IFACE GROUP PORT TTL LOOP`).
    Mcast {
        /// Interface.
        iface: String,
        /// A class D group address.
        group: Ipv4Addr,
        /// Its own port (not `udpport`).
        port: u16,
        /// Multicast TTL.
        ttl: u8,
        /// Whether our own packets loop back to us.
        loopback: bool,
    },
    /// IPv6 multicast (`mcast6 IFACE GROUP PORT HOPS LOOP`).
    Mcast6 {
        /// Interface.
        iface: String,
        /// An `ff00::/8` group address.
        group: Ipv6Addr,
        /// Its own port.
        port: u16,
        /// Hop limit.
        hops: u8,
        /// Whether our own packets loop back to us.
        loopback: bool,
    },
    /// A serial line (`serial DEVICE…` with `baud`).
    Serial {
        /// The tty.
        device: PathBuf,
        /// Line speed.
        baud: u32,
    },
}

impl MediumKind {
    /// Whether `udpport` applies to it.
    fn uses_udpport(&self) -> bool {
        matches!(
            self,
            MediumKind::Bcast { .. } | MediumKind::Ucast { .. } | MediumKind::Ucast6 { .. }
        )
    }
}

/// A ping group: one pseudo-node, alive while any of its addresses answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingGroup {
    /// Its name (a pseudo-node name).
    pub name: NodeName,
    /// Its addresses.
    pub addrs: Vec<IpAddr>,
    /// Where it was configured.
    pub line: u32,
}

/// A syslog facility, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum LogFacility {
    /// `none`: no syslog.
    None,
    Kern,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Authpriv,
    Ftp,
    /// `local0` … `local7`.
    Local(u8),
}

impl LogFacility {
    /// The name as written in ha.cf.
    pub fn name(self) -> String {
        match self {
            LogFacility::Local(n) => format!("local{n}"),
            other => format!("{other:?}").to_ascii_lowercase(),
        }
    }
}

/// Logging directives. `halod` acts on all of them except `use_logd`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logging {
    /// `logfile`: log to this file.
    pub logfile: Option<PathBuf>,
    /// `debugfile`: debug messages to this file.
    pub debugfile: Option<PathBuf>,
    /// `logfacility`: syslog facility, or `none`.
    pub facility: Option<LogFacility>,
    /// `use_logd`, as given. halo has no separate log daemon: `halod` logs through its
    /// own non-blocking writer; `use_logd yes` gets a notice.
    pub use_logd: Option<bool>,
    /// `debug`: 0 (default) to 255.
    pub debug: u8,
}

/// `auto_failback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoFailback {
    /// Groups return to their preferred node when it comes back.
    On,
    /// Groups stay where they are.
    Off,
    /// heartbeat's default: the returning primary pulls its groups back.
    Legacy,
}

/// `pacemaker` (alias `crm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Pacemaker {
    Off,
    On,
    Respawn,
    Minimal,
    Manual,
    CcmOnly,
    Valgrind,
}

/// `compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Compression {
    Zlib,
    Bz2,
}

/// `autojoin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AutoJoin {
    None,
    Other,
    Any,
}

/// A supervised child (`respawn` or `failfast USER /abs/cmd [ARGS…]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The user it runs as.
    pub user: String,
    /// The program (absolute).
    pub command: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// `stonith TYPE CONFIG-FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stonith {
    /// The STONITH plugin type.
    pub kind: String,
    /// Its configuration file.
    pub config_file: PathBuf,
}

/// `stonith_host HOST|* TYPE PARAMS…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StonithHost {
    /// The node this device may be used from; `None` for `*` (any).
    pub from: Option<NodeName>,
    /// The STONITH plugin type.
    pub kind: String,
    /// The plugin's parameters.
    pub params: Vec<String>,
}

/// `apiauth CLIENT [uid=A,B] [gid=C,D]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAuth {
    /// The client name (`default` covers the others).
    pub client: String,
    /// Allowed users.
    pub uids: Vec<String>,
    /// Allowed groups.
    pub gids: Vec<String>,
}

/// A directive halo validates and keeps but will not act on (heartbeat internals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Where.
    pub line: u32,
    /// The directive.
    pub directive: &'static str,
    /// Its value, as written.
    pub value: String,
}

/// Directives of capabilities halo does not have yet: parsed, validated and kept for the
/// code that will act on them. Each occurrence produced an `Info` notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Later {
    /// `auto_failback` (cluster resource manager).
    pub auto_failback: Option<Spanned<AutoFailback>>,
    /// `nice_failback` (obsolete; heartbeat turned it into `auto_failback legacy`).
    pub nice_failback: Option<Spanned<bool>>,
    /// `pacemaker` / `crm`.
    pub pacemaker: Option<Spanned<Pacemaker>>,
    /// `respawn` lines.
    pub respawn: Vec<Spanned<Child>>,
    /// `failfast` lines.
    pub failfast: Vec<Spanned<Child>>,
    /// `stonith` lines.
    pub stonith: Vec<Spanned<Stonith>>,
    /// `stonith_host` lines.
    pub stonith_host: Vec<Spanned<StonithHost>>,
    /// `watchdog` device.
    pub watchdog: Option<Spanned<PathBuf>>,
    /// `apiauth` lines.
    pub apiauth: Vec<Spanned<ApiAuth>>,
    /// `compression`.
    pub compression: Option<Spanned<Compression>>,
    /// `compression_threshold`, in KB.
    pub compression_threshold_kb: Option<Spanned<u32>>,
    /// `traditional_compression`.
    pub traditional_compression: Option<Spanned<bool>>,
    /// `env NAME=value` (exported as `HA_NAME` to children).
    pub env: Vec<Spanned<(String, String)>>,
    /// `autojoin`.
    pub autojoin: Option<Spanned<AutoJoin>>,
    /// `rtprio`.
    pub rtprio: Option<Spanned<u8>>,
    /// `memreserve`, in KB.
    pub memreserve_kb: Option<Spanned<u32>>,
    /// `max_rexmit_delay`.
    pub max_rexmit_delay: Option<Spanned<Duration>>,
    /// `use_apphbd`.
    pub use_apphbd: Option<Spanned<bool>>,
    /// heartbeat internals halo ignores (`hopfudge`, `msgfmt`, `coredumps`, …), validated.
    pub other: Vec<Kept>,
}

/// The contents of ha.cf, with defaults applied and cross-checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaCf {
    /// The file it was read from.
    pub file: PathBuf,
    /// `cluster` (halo's; default `default`). Packets of another cluster are dropped.
    pub cluster: ClusterName,
    /// Failure detector timings.
    pub timing: Timing,
    /// `udpport` (default [`DEFAULT_UDPPORT`]), already applied to the media.
    pub udpport: u16,
    /// `baud` (default [`DEFAULT_BAUD`]), already applied to the serial media.
    pub baud: u32,
    /// Heartbeat media, in file order. Never empty.
    pub media: Vec<Medium>,
    /// Cluster nodes (`node`), lower-cased, in file order, without repeats. Never empty.
    pub nodes: Vec<Spanned<NodeName>>,
    /// Ping nodes (`ping`, `ping6`), without repeats.
    pub ping_nodes: Vec<Spanned<IpAddr>>,
    /// Ping groups (`ping_group`).
    pub ping_groups: Vec<PingGroup>,
    /// Logging.
    pub logging: Logging,
    /// `realtime` (default on): lock memory and run the heartbeat path at real-time
    /// priority where permitted.
    pub realtime: bool,
    /// `api_read_anyone` (halo's; default off): anyone who can reach halod's socket may
    /// use the read-only requests (`halo status`, `watch`, `membership`, …); changes still
    /// need root or the `haclient` group. Off, the socket is mode 0660 root:haclient.
    pub api_read_anyone: bool,
    /// Directives kept for later capabilities.
    pub later: Later,
    /// Membership and quorum: `votes NODE N`, `expected_votes N`, `two_node on|off`,
    /// `wait_for_all on|off`, `no_quorum_policy stop|freeze|ignore|suicide` (see
    /// `halo_membership::quorum` for their exact meaning). Validated.
    pub quorum: QuorumConfig,
}

impl HaCf {
    /// Parses ha.cf from its bytes. `file` is only used in messages.
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<Parsed<HaCf>, ConfigErrors> {
        let mut errors = Vec::new();
        let lines = lex::lines(file, bytes, &mut errors);
        let mut b = directives::Builder::default();
        for line in lines {
            if let Err(e) = directives::apply_line(&mut b, file, line) {
                errors.push(e);
            }
        }
        if let Some(errors) = ConfigErrors::from_vec(errors) {
            return Err(errors);
        }
        finish(b, file)
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Parsed<HaCf>, ConfigErrors> {
        let bytes =
            std::fs::read(path).map_err(|e| ConfigError::file(path, None, Problem::Io(e)))?;
        Self::parse(path, &bytes)
    }

    /// The configured nodes' names.
    pub fn node_names(&self) -> Vec<NodeName> {
        self.nodes.iter().map(|n| n.value.clone()).collect()
    }

    /// Resolves this node's name (`--node NAME`, else `uname -n`): lower-cased, and it
    /// must be listed on a `node` line.
    pub fn local_node(&self, name: &str) -> Result<NodeName, ConfigError> {
        let node =
            values::node_name(name).map_err(|p| ConfigError::file(&self.file, Some("node"), p))?;
        if self.nodes.iter().any(|n| n.value == node) {
            Ok(node)
        } else {
            Err(ConfigError::file(
                &self.file,
                Some("node"),
                Problem::LocalNodeNotListed {
                    name: node.to_string(),
                    listed: self.nodes.iter().map(|n| n.value.to_string()).collect(),
                },
            ))
        }
    }

    /// The distinct link names of the media, in file order (see [`Medium::link_name`]).
    pub fn link_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.media {
            if !names.iter().any(|n| n == m.link_name()) {
                names.push(m.link_name().to_string());
            }
        }
        names
    }
}

/// Applies defaults and cross-checks.
fn finish(b: directives::Builder, file: &Path) -> Result<Parsed<HaCf>, ConfigErrors> {
    let mut notices = b.notices;
    let mut errors = Vec::new();
    let err = |line: u32, d: &str, p: Problem| ConfigError::at(file, line, d, p);

    // ── timing ──
    let ka = b.keepalive.as_ref();
    let dt = b.deadtime.as_ref();
    let (keepalive, deadtime) = match (ka.map(|k| k.value), dt.map(|d| d.value)) {
        (Some(k), Some(d)) => (k, d),
        (Some(k), None) => (k, k * 10),
        (None, Some(d)) => (Duration::from_millis((d.as_millis() / 10).max(1) as u64), d),
        (None, None) => (Timing::DEFAULT_KEEPALIVE, Timing::DEFAULT_DEADTIME),
    };
    if dt.is_none() {
        let how = if ka.is_some() {
            "10 × keepalive"
        } else {
            "halo's default"
        };
        notices.push(Notice::new(
            Severity::Info,
            file,
            None,
            Some("deadtime"),
            format!(
                "not set: using {} ({how}; heartbeat's default was {}); set deadtime to choose",
                Time(deadtime),
                Time(Timing::HEARTBEAT_DEADTIME)
            ),
        ));
    }
    if let Some(k) = ka
        && k.value.is_zero()
    {
        errors.push(err(
            k.line,
            "keepalive",
            Problem::KeepaliveZero(Time(k.value)),
        ));
    }
    if !keepalive.is_zero() && deadtime <= keepalive * 2 {
        let (line, d) = match dt {
            Some(d) => (d.line, "deadtime"),
            None => (ka.map_or(0, |k| k.line), "keepalive"),
        };
        errors.push(err(
            line,
            d,
            Problem::DeadtimeTooShort {
                deadtime: Time(deadtime),
                keepalive: Time(keepalive),
            },
        ));
    }
    let warntime = b.warntime.as_ref().map_or(
        Duration::from_millis((deadtime.as_millis() / 2) as u64),
        |w| w.value,
    );
    if let Some(w) = &b.warntime {
        let problem = if w.value >= deadtime {
            Some(format!(
                "{} is not shorter than deadtime ({}): late heartbeats will never be reported",
                Time(w.value),
                Time(deadtime)
            ))
        } else if w.value <= keepalive {
            Some(format!(
                "{} is not longer than keepalive ({}): nearly every heartbeat will be reported late",
                Time(w.value),
                Time(keepalive)
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            notices.push(Notice::new(
                Severity::Warning,
                file,
                Some(w.line),
                Some("warntime"),
                message,
            ));
        }
    }
    let initdead = b
        .initdead
        .as_ref()
        .map_or(Timing::heartbeat_initdead(deadtime), |i| i.value);
    if let Some(i) = &b.initdead {
        if i.value < deadtime {
            errors.push(err(
                i.line,
                "initdead",
                Problem::InitdeadTooShort {
                    initdead: Time(i.value),
                    deadtime: Time(deadtime),
                },
            ));
        } else if i.value < Duration::from_secs(10) {
            notices.push(Notice::new(
                Severity::Warning,
                file,
                Some(i.line),
                Some("initdead"),
                format!(
                    "{} may be too short for a slow network start-up; heartbeat recommends at least 10s",
                    Time(i.value)
                ),
            ));
        }
    }
    let deadping = match &b.deadping {
        Some(p) => {
            if p.value <= keepalive * 2 {
                errors.push(err(
                    p.line,
                    "deadping",
                    Problem::DeadpingTooShort {
                        deadping: Time(p.value),
                        keepalive: Time(keepalive),
                    },
                ));
            }
            p.value
        }
        None => deadtime,
    };

    // ── media ──
    let udpport = b.udpport.as_ref().map_or(DEFAULT_UDPPORT, |p| p.value);
    let baud = b.baud.as_ref().map_or(DEFAULT_BAUD, |p| p.value);
    if let Some(p) = &b.udpport
        && let Some(first) = b
            .media
            .iter()
            .find(|m| m.kind.uses_udpport() && m.line < p.line)
    {
        notices.push(Notice::new(
            Severity::Info,
            file,
            Some(p.line),
            Some("udpport"),
            format!(
                "applies to every bcast/ucast/ucast6 medium, also to those before it (line {}); \
                 heartbeat required udpport to come first and would have used port {DEFAULT_UDPPORT} there",
                first.line
            ),
        ));
    }
    if let Some(p) = &b.baud
        && let Some(first) = b
            .media
            .iter()
            .find(|m| matches!(m.kind, MediumKind::Serial { .. }) && m.line < p.line)
    {
        notices.push(Notice::new(
            Severity::Info,
            file,
            Some(p.line),
            Some("baud"),
            format!(
                "applies to every serial medium, also to those before it (line {}); heartbeat \
                 required baud to come first",
                first.line
            ),
        ));
    }
    let media: Vec<Medium> = b
        .media
        .into_iter()
        .map(|mut m| {
            match &mut m.kind {
                MediumKind::Bcast { port, .. }
                | MediumKind::Ucast { port, .. }
                | MediumKind::Ucast6 { port, .. } => *port = udpport,
                MediumKind::Serial { baud: b, .. } => *b = baud,
                MediumKind::Mcast { .. } | MediumKind::Mcast6 { .. } => {}
            }
            m
        })
        .collect();
    if media.is_empty() {
        errors.push(ConfigError::file(file, None, Problem::NoMedia));
    }
    if b.nodes.is_empty() {
        errors.push(ConfigError::file(file, Some("node"), Problem::NoNodes));
    }

    // ── names: nodes, ping nodes and ping groups share one namespace, as in heartbeat ──
    // (name, what it is, directive, line), in the order the checks report them.
    let names: Vec<(String, &'static str, &'static str, u32)> = b
        .nodes
        .iter()
        .map(|n| (n.value.to_string(), "node", "node", n.line))
        .chain(b.ping_nodes.iter().map(|p| {
            let directive = if p.value.is_ipv4() { "ping" } else { "ping6" };
            (p.value.to_string(), "ping node", directive, p.line)
        }))
        .chain(
            b.ping_groups
                .iter()
                .map(|g| (g.name.to_string(), "ping group", "ping_group", g.line)),
        )
        .collect();
    for (i, (name, _, directive, line)) in names.iter().enumerate() {
        if let Some((_, other, _, first_line)) = names[..i].iter().find(|e| e.0 == *name) {
            errors.push(err(
                *line,
                directive,
                Problem::NameClash {
                    name: name.clone(),
                    other,
                    first_line: *first_line,
                },
            ));
        }
    }

    // ── logging ──
    if let Some(u) = &b.use_logd
        && u.value
    {
        notices.push(Notice::new(
            Severity::Info,
            file,
            Some(u.line),
            Some("use_logd"),
            "ignored: halo has no separate logging daemon; halod writes its log itself, without \
             ever blocking the heartbeat path",
        ));
    }
    let logging = Logging {
        logfile: b.logfile.map(|s| s.value),
        debugfile: b.debugfile.map(|s| s.value),
        facility: b.logfacility.map(|s| s.value),
        use_logd: b.use_logd.map(|s| s.value),
        debug: b.debug.map_or(0, |s| s.value),
    };

    // ── membership and quorum ──
    let quorum = QuorumConfig {
        nodes: b.nodes.iter().map(|n| n.value.clone()).collect(),
        votes: b.votes.iter().map(|v| v.value.clone()).collect(),
        expected_votes: b.expected_votes.as_ref().map(|e| e.value),
        two_node: b.two_node.as_ref().is_some_and(|t| t.value),
        wait_for_all: b.wait_for_all.as_ref().map(|w| w.value),
        no_quorum_policy: b
            .no_quorum_policy
            .as_ref()
            .map_or_else(NoQuorumPolicy::default, |p| p.value),
    };
    if !b.nodes.is_empty()
        && let Err(e) = quorum.validate()
    {
        // Name the line that can be fixed: the votes line of an unknown node, else the
        // two_node or expected_votes line.
        let (line, directive) = match &e {
            QuorumConfigError::UnknownNode(n) => (
                b.votes
                    .iter()
                    .find(|v| &v.value.0 == n)
                    .map_or(0, |v| v.line),
                "votes",
            ),
            QuorumConfigError::ZeroExpected => (
                b.expected_votes.as_ref().map_or(0, |v| v.line),
                "expected_votes",
            ),
            QuorumConfigError::TwoNodeNeedsTwo(_) => {
                (b.two_node.as_ref().map_or(0, |v| v.line), "two_node")
            }
        };
        errors.push(err(line, directive, Problem::Quorum(e)));
    }

    if let Some(errors) = ConfigErrors::from_vec(errors) {
        return Err(errors);
    }
    Ok(Parsed {
        value: HaCf {
            file: file.to_path_buf(),
            cluster: b.cluster.map_or_else(ClusterName::default, |c| c.value),
            timing: Timing {
                keepalive,
                warntime,
                deadtime,
                initdead,
                deadping,
            },
            udpport,
            baud,
            media,
            nodes: b.nodes,
            ping_nodes: b.ping_nodes,
            ping_groups: b.ping_groups,
            logging,
            realtime: b.realtime.is_none_or(|r| r.value),
            api_read_anyone: b.api_read_anyone.is_some_and(|r| r.value),
            later: b.later,
            quorum,
        },
        notices,
    })
}

/// Whether `s` is a plausible interface name (for `halo init`).
pub(crate) fn check_iface(s: &str) -> Result<(), ()> {
    values::iface(s).map(drop).map_err(drop)
}

#[cfg(test)]
mod tests;
