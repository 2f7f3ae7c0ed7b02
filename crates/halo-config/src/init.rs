//! `halo init`: render a working configuration directory, then write it.
//!
//! ```text
//!  InitOptions (nodes, media, timing preset, cluster) ─┐
//!  random key bytes (the caller's getrandom) ──────────┴▶ render ─▶ RenderedConfig
//!                                                                   (ha.cf, authkeys)
//!  RenderedConfig ─▶ write(dir, force) ─▶ dir/ha.cf (0644), dir/authkeys (0600)
//! ```
//!
//! Rendering is pure (the key comes in as an argument) and its output always parses
//! with [`crate::HaCf::parse`] and [`crate::AuthKeys::parse`] (tested). The files are also
//! valid for heartbeat 3.0.6 except for the `sha256` method: times are written as plain
//! seconds or with a glued `ms`.
//!
//! Writing never leaves a half-written file under the final name: each file is written
//! to a temporary name in the same directory, synced, then linked into place (refusing
//! to replace an existing file) or, with `force`, renamed over it. Without `force`,
//! nothing is written if either file exists.

use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use halo_types::{ClusterName, NodeName};
use zeroize::Zeroizing;

use crate::hacf::{DEFAULT_UDPPORT, Timing};

/// Shortest key `render` accepts, in bytes. `halo init` passes 32.
pub const MIN_KEY_BYTES: usize = 16;

/// Timing presets for `halo init --timing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimingPreset {
    /// halo's default: keepalive 200 ms, deadtime 2 s (see [`Timing`] for why).
    Standard,
    /// keepalive 100 ms, deadtime 500 ms: sub-second failover on a dedicated network.
    Fast,
    /// keepalive 10 ms, deadtime 40 ms: the fastest halo is benchmarked at; for an idle,
    /// dedicated network and real-time scheduling.
    Fastest,
    /// heartbeat's defaults: keepalive 1 s, deadtime 30 s.
    Heartbeat,
}

impl TimingPreset {
    /// Every preset, for help texts.
    pub const ALL: [TimingPreset; 4] = [
        TimingPreset::Standard,
        TimingPreset::Fast,
        TimingPreset::Fastest,
        TimingPreset::Heartbeat,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TimingPreset::Standard => "standard",
            TimingPreset::Fast => "fast",
            TimingPreset::Fastest => "fastest",
            TimingPreset::Heartbeat => "heartbeat",
        }
    }

    /// The timings. warntime is deadtime/2 and initdead follows heartbeat's rule, as for
    /// an ha.cf that gives only keepalive and deadtime.
    pub fn timing(self) -> Timing {
        let (keepalive, deadtime) = match self {
            TimingPreset::Standard => (Timing::DEFAULT_KEEPALIVE, Timing::DEFAULT_DEADTIME),
            TimingPreset::Fast => (Duration::from_millis(100), Duration::from_millis(500)),
            TimingPreset::Fastest => (Duration::from_millis(10), Duration::from_millis(40)),
            TimingPreset::Heartbeat => (Duration::from_secs(1), Timing::HEARTBEAT_DEADTIME),
        };
        Timing {
            keepalive,
            warntime: deadtime / 2,
            deadtime,
            initdead: Timing::heartbeat_initdead(deadtime),
            deadping: deadtime,
        }
    }
}

impl fmt::Display for TimingPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A timing preset name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timing preset {0:?}; expected standard, fast, fastest or heartbeat")]
pub struct UnknownPreset(pub String);

impl FromStr for TimingPreset {
    type Err = UnknownPreset;
    fn from_str(s: &str) -> Result<Self, UnknownPreset> {
        TimingPreset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}

/// A medium for the new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitMedium {
    /// `--bcast IFACE`.
    Bcast {
        /// Interface.
        iface: String,
    },
    /// `--ucast IFACE PEER…`: one `ucast` (or `ucast6`) line per peer. List every node's
    /// address: packets to ourselves are harmless, and one file then serves all nodes.
    Ucast {
        /// Interface.
        iface: String,
        /// The nodes' addresses on it.
        peers: Vec<IpAddr>,
    },
    /// `--mcast IFACE GROUP PORT TTL` (loop 0).
    Mcast {
        /// Interface.
        iface: String,
        /// Class D group.
        group: Ipv4Addr,
        /// Port.
        port: u16,
        /// TTL (1 keeps it on the local network).
        ttl: u8,
    },
}

/// What `halo init` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The cluster's name.
    pub cluster: ClusterName,
    /// Every node, as `uname -n` (or `halod --node`) names it.
    pub nodes: Vec<NodeName>,
    /// At least one medium; more give redundant links.
    pub media: Vec<InitMedium>,
    /// Timings.
    pub timing: TimingPreset,
    /// `udpport` for bcast/ucast; `None` for the default.
    pub udpport: Option<u16>,
}

/// Why a configuration cannot be rendered or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// No node given.
    #[error("no node given: list every cluster node (--nodes a,b,c)")]
    NoNodes,
    /// A node given twice.
    #[error("node {0} is listed twice")]
    DuplicateNode(NodeName),
    /// No medium given.
    #[error("no heartbeat medium given: use --bcast IFACE, --ucast IFACE PEER… or --mcast …")]
    NoMedia,
    /// A `--ucast` without peers.
    #[error("--ucast {0} needs at least one peer address")]
    NoPeers(String),
    /// A bad interface name.
    #[error("{0:?} is not a network interface name (at most 15 characters, no '/')")]
    BadInterface(String),
    /// A multicast group that is not class D.
    #[error("{0} is not a multicast (class D) group address")]
    NotMulticast(Ipv4Addr),
    /// Port 0.
    #[error("port 0 is not a UDP port")]
    PortZero,
    /// A key that is too short.
    #[error("the key has {0} bytes; at least {MIN_KEY_BYTES} random bytes are needed")]
    KeyTooShort(usize),
    /// Files exist and `force` was not given.
    #[error("{} already exist{}; nothing was written (use --force to overwrite)", list(.0), if .0.len() == 1 { "s" } else { "" })]
    Exists(Vec<PathBuf>),
    /// Writing failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The two files, ready to be written. `Debug` does not show the key.
pub struct RenderedConfig {
    /// The text of ha.cf.
    pub ha_cf: String,
    authkeys: Zeroizing<String>,
}

impl RenderedConfig {
    /// The text of authkeys (it contains the key: write it, never log it).
    pub fn authkeys(&self) -> &str {
        &self.authkeys
    }
}

impl fmt::Debug for RenderedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedConfig")
            .field("ha_cf", &self.ha_cf)
            .field("authkeys", &"<redacted>")
            .finish()
    }
}

/// A time value as heartbeat also reads it: whole seconds bare, else milliseconds.
fn hb_time(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn check_iface(iface: &str) -> Result<(), InitError> {
    crate::hacf::check_iface(iface).map_err(|()| InitError::BadInterface(iface.to_string()))
}

/// Renders ha.cf and authkeys for `opts`, with `key` (random bytes from the caller, at
/// least [`MIN_KEY_BYTES`]) as an `sha256` key, written in hex.
pub fn render(opts: &InitOptions, key: &[u8]) -> Result<RenderedConfig, InitError> {
    if opts.nodes.is_empty() {
        return Err(InitError::NoNodes);
    }
    for (i, n) in opts.nodes.iter().enumerate() {
        if opts.nodes[..i].contains(n) {
            return Err(InitError::DuplicateNode(n.clone()));
        }
    }
    if opts.media.is_empty() {
        return Err(InitError::NoMedia);
    }
    if key.len() < MIN_KEY_BYTES {
        return Err(InitError::KeyTooShort(key.len()));
    }
    if opts.udpport == Some(0) {
        return Err(InitError::PortZero);
    }

    let t = opts.timing.timing();
    let mut s = String::new();
    let mut line = |text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line(&format!(
        "# ha.cf for cluster \"{}\", written by halo init. Copy it unchanged to every node.",
        opts.cluster
    ));
    line(
        "# The format is heartbeat's ha.cf(5); see the halo-config documentation for halo's additions.",
    );
    line("");
    line("# Packets of other clusters on the same network are dropped.");
    line(&format!("cluster {}", opts.cluster));
    line("");
    line(&format!(
        "# Timing preset \"{}\": a heartbeat every keepalive; a node silent for deadtime is dead;",
        opts.timing
    ));
    line(
        "# warntime reports late heartbeats; initdead is the deadtime for a node not yet heard after start-up.",
    );
    line(&format!("keepalive {}", hb_time(t.keepalive)));
    line(&format!("warntime {}", hb_time(t.warntime)));
    line(&format!("deadtime {}", hb_time(t.deadtime)));
    line(&format!("initdead {}", hb_time(t.initdead)));
    line("");
    line(
        "# Heartbeat media: every packet goes out on each; a node is alive while any link to it is.",
    );
    let uses_udpport = opts
        .media
        .iter()
        .any(|m| !matches!(m, InitMedium::Mcast { .. }));
    if uses_udpport {
        line(&format!(
            "udpport {}",
            opts.udpport.unwrap_or(DEFAULT_UDPPORT)
        ));
    }
    for m in &opts.media {
        match m {
            InitMedium::Bcast { iface } => {
                check_iface(iface)?;
                line(&format!("bcast {iface}"));
            }
            InitMedium::Ucast { iface, peers } => {
                check_iface(iface)?;
                if peers.is_empty() {
                    return Err(InitError::NoPeers(iface.clone()));
                }
                for p in peers {
                    match p {
                        IpAddr::V4(a) => line(&format!("ucast {iface} {a}")),
                        IpAddr::V6(a) => line(&format!("ucast6 {iface} {a}")),
                    }
                }
            }
            InitMedium::Mcast {
                iface,
                group,
                port,
                ttl,
            } => {
                check_iface(iface)?;
                if !group.is_multicast() {
                    return Err(InitError::NotMulticast(*group));
                }
                if *port == 0 {
                    return Err(InitError::PortZero);
                }
                line(&format!("mcast {iface} {group} {port} {ttl} 0"));
            }
        }
    }
    line("");
    line("# The cluster's nodes, named as `uname -n` (or halod --node) names them.");
    let names: Vec<&str> = opts.nodes.iter().map(NodeName::as_str).collect();
    line(&format!("node {}", names.join(" ")));

    let mut hex = Zeroizing::new(String::with_capacity(key.len() * 2));
    for b in key {
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    let mut authkeys = Zeroizing::new(String::new());
    authkeys.push_str(
        "# authkeys written by halo init. Keep it secret: mode 0600, owned by the user halod runs as.\n\
         # Copy it unchanged to every node. To rotate: add \"2 sha256 NEWKEY\" on every node, then\n\
         # switch to \"auth 2\" on every node, then remove key 1.\n\
         auth 1\n\
         1 sha256 ",
    );
    authkeys.push_str(&hex);
    authkeys.push('\n');
    Ok(RenderedConfig { ha_cf: s, authkeys })
}

/// Writes `cfg` into `dir` (created if missing): `ha.cf` with mode 0644, `authkeys` with
/// mode 0600. Without `force`, refuses (writing nothing) if either file exists. Returns
/// the files written.
pub fn write(dir: &Path, cfg: &RenderedConfig, force: bool) -> Result<Vec<PathBuf>, InitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let files = [
        (dir.join("ha.cf"), cfg.ha_cf.as_bytes(), 0o644),
        (dir.join("authkeys"), cfg.authkeys.as_bytes(), 0o600),
    ];
    if !force {
        let existing: Vec<PathBuf> = files
            .iter()
            .filter(|(p, _, _)| p.symlink_metadata().is_ok())
            .map(|(p, _, _)| p.clone())
            .collect();
        if !existing.is_empty() {
            return Err(InitError::Exists(existing));
        }
    }
    let mut written = Vec::new();
    for (path, bytes, mode) in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = dir.join(format!(".{name}.halo-init"));
        // A temporary file left by an interrupted run is ours to replace.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
            _ => {}
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(*mode)
            .open(&tmp)
            .map_err(io(&tmp))?;
        // The umask may have removed bits from ha.cf's mode; authkeys' mode can only have
        // lost bits, never gained them. Set both exactly.
        f.set_permissions(std::fs::Permissions::from_mode(*mode))
            .map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        let placed = if force {
            std::fs::rename(&tmp, path)
        } else {
            // hard_link fails if the target exists: no window in which another writer's
            // file could be replaced.
            std::fs::hard_link(&tmp, path).and_then(|()| std::fs::remove_file(&tmp))
        };
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(path)(e));
        }
        written.push(path.clone());
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(written)
}

#[cfg(test)]
mod tests;
