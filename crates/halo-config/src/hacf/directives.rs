//! The directive table: every directive heartbeat 3.0.6 knows, plus halo's own, with how
//! it is lexed, whether halo acts on it, and the function that validates and stores it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use halo_membership::NoQuorumPolicy;
use halo_types::{ClusterName, NodeName};

use super::values::{
    abs_path, boolean, byte, choice, iface, ip, ipv4, ipv6, node_name, number, port, time,
};
use super::{
    ApiAuth, AutoFailback, AutoJoin, BAUD_RATES, Child, Compression, Kept, Later, LogFacility,
    Medium, MediumKind, Pacemaker, PingGroup, Spanned, Stonith, StonithHost,
};
use crate::error::{ConfigError, Problem};
use crate::lex::{self, Line};
use crate::notice::{Notice, Severity};

/// Everything read so far; [`super::finish`] turns it into an [`super::HaCf`].
#[derive(Debug, Default)]
pub(super) struct Builder {
    pub keepalive: Option<Spanned<Duration>>,
    pub warntime: Option<Spanned<Duration>>,
    pub deadtime: Option<Spanned<Duration>>,
    pub initdead: Option<Spanned<Duration>>,
    pub deadping: Option<Spanned<Duration>>,
    pub udpport: Option<Spanned<u16>>,
    pub baud: Option<Spanned<u32>>,
    pub media: Vec<Medium>,
    pub nodes: Vec<Spanned<NodeName>>,
    pub ping_nodes: Vec<Spanned<IpAddr>>,
    pub ping_groups: Vec<PingGroup>,
    pub logfile: Option<Spanned<PathBuf>>,
    pub debugfile: Option<Spanned<PathBuf>>,
    pub logfacility: Option<Spanned<LogFacility>>,
    pub use_logd: Option<Spanned<bool>>,
    pub debug: Option<Spanned<u8>>,
    pub realtime: Option<Spanned<bool>>,
    pub api_read_anyone: Option<Spanned<bool>>,
    pub cluster: Option<Spanned<ClusterName>>,
    pub votes: Vec<Spanned<(NodeName, u32)>>,
    pub expected_votes: Option<Spanned<u32>>,
    pub two_node: Option<Spanned<bool>>,
    pub wait_for_all: Option<Spanned<bool>>,
    pub no_quorum_policy: Option<Spanned<NoQuorumPolicy>>,
    pub later: Later,
    /// First line of each directive stored in `later.other`, to refuse repeats.
    other_seen: BTreeMap<&'static str, u32>,
    pub notices: Vec<Notice>,
}

/// Where the directive being applied is.
struct Ctx<'a> {
    file: &'a Path,
    line: u32,
    /// The directive as written (an alias keeps its own name in messages).
    name: &'a str,
}

impl Ctx<'_> {
    fn notice(&self, b: &mut Builder, severity: Severity, message: impl Into<String>) {
        b.notices.push(Notice::new(
            severity,
            self.file,
            Some(self.line),
            Some(self.name),
            message,
        ));
    }
}

/// How a directive's line is split into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Blanks and commas separate values.
    Tokens,
    /// Blanks separate values; commas belong to them.
    WholeLine,
}

/// What halo does with a directive. Flip an entry to `Acted` when the code that acts on it
/// lands, and its notice goes away.
#[derive(Debug, Clone, Copy)]
enum Support {
    /// halo acts on it.
    Acted,
    /// Parsed and kept for a capability that is not there yet (what, in words).
    Later(&'static str),
    /// Parsed and kept, but halo will not act on it (why, in words).
    Ignored(&'static str),
}

type Apply = fn(&mut Builder, &Ctx<'_>, &[&str]) -> Result<(), Problem>;

struct Spec {
    name: &'static str,
    style: Style,
    support: Support,
    /// For aliases: a notice saying what the directive is read as.
    alias_note: Option<&'static str>,
    apply: Apply,
}

const fn d(name: &'static str, style: Style, support: Support, apply: Apply) -> Spec {
    Spec {
        name,
        style,
        support,
        alias_note: None,
        apply,
    }
}

const fn alias(name: &'static str, style: Style, note: &'static str, apply: Apply) -> Spec {
    Spec {
        name,
        style,
        support: Support::Acted,
        alias_note: Some(note),
        apply,
    }
}

use Style::{Tokens as T, WholeLine as W};
use Support::{Acted, Ignored, Later as L};

const FENCING: &str = "comes with fencing";
const CHILDREN: &str = "supervised child processes are not implemented yet";
const COMPRESSION: &str = "message compression is not implemented yet";
const PACEMAKER_ONLY: &str = "a setting of heartbeat's Pacemaker integration";

static DIRECTIVES: &[Spec] = &[
    // ── failure detection ──
    d("keepalive", T, Acted, |b, c, a| {
        set_time(&mut b.keepalive, c, a)
    }),
    d("warntime", T, Acted, |b, c, a| {
        set_time(&mut b.warntime, c, a)
    }),
    d("deadtime", T, Acted, |b, c, a| {
        set_time(&mut b.deadtime, c, a)
    }),
    d("initdead", T, Acted, |b, c, a| {
        set_time(&mut b.initdead, c, a)
    }),
    alias(
        "initdeadtime",
        T,
        "read as initdead (the tutorial's spelling; heartbeat 3.0.6 itself only knows initdead)",
        |b, c, a| set_time(&mut b.initdead, c, a),
    ),
    d("deadping", T, Acted, |b, c, a| {
        set_time(&mut b.deadping, c, a)
    }),
    // ── media ──
    d("udpport", T, Acted, |b, c, a| {
        let v = port(one(a, "a UDP port")?)?;
        once(&mut b.udpport, c, v)
    }),
    d("baud", T, Acted, |b, c, a| {
        let s = one(a, "a serial line speed")?;
        let v = number(
            s,
            0,
            u64::from(u32::MAX),
            "9600, 19200, 38400, 57600, 115200, 230400 or 460800",
        )?;
        match BAUD_RATES.iter().find(|&&r| u64::from(r) == v) {
            Some(&r) => once(&mut b.baud, c, r),
            None => Err(Problem::OutOfRange {
                value: s.to_string(),
                range: "9600, 19200, 38400, 57600, 115200, 230400 or 460800",
            }),
        }
    }),
    d("bcast", T, Acted, bcast),
    alias("udp", T, "heartbeat's old name for bcast", bcast),
    d("mcast", W, Acted, mcast),
    d("mcast6", W, Acted, mcast6),
    d("ucast", W, Acted, ucast),
    d("ucast6", W, Acted, ucast6),
    d("serial", T, Acted, |b, c, a| {
        at_least_one(a, "a serial device (/dev/ttyS0)")?;
        for dev in a {
            let device = abs_path(dev)?;
            add_medium(b, c, MediumKind::Serial { device, baud: 0 });
        }
        Ok(())
    }),
    // ── nodes ──
    d("node", T, Acted, |b, c, a| {
        at_least_one(a, "one or more node names")?;
        for name in a {
            let n = node_name(name)?;
            if let Some(first) = b.nodes.iter().find(|x| x.value == n) {
                let msg = format!("{n} is already listed on line {}", first.line);
                c.notice(b, Severity::Info, msg);
            } else {
                b.nodes.push(Spanned {
                    value: n,
                    line: c.line,
                });
            }
        }
        Ok(())
    }),
    d("ping", T, Acted, |b, c, a| {
        at_least_one(a, "one or more IPv4 addresses")?;
        for s in a {
            let addr = ipv4(s, "an IPv4 address; use ping6 for IPv6")?;
            add_ping(b, c, IpAddr::V4(addr));
        }
        Ok(())
    }),
    d("ping6", T, Acted, |b, c, a| {
        at_least_one(a, "one or more IPv6 addresses")?;
        for s in a {
            add_ping(b, c, IpAddr::V6(ipv6(s)?));
        }
        Ok(())
    }),
    d("ping_group", W, Acted, |b, c, a| {
        let Some((name, addrs)) = a.split_first() else {
            return Err(Problem::MissingValue {
                expected: "a group name and one or more addresses",
            });
        };
        at_least_one(addrs, "one or more addresses after the group name")?;
        let name = node_name(name)?;
        if let Some(g) = b.ping_groups.iter().find(|g| g.name == name) {
            return Err(Problem::NameClash {
                name: name.to_string(),
                other: "ping group",
                first_line: g.line,
            });
        }
        let addrs = addrs.iter().map(|s| ip(s)).collect::<Result<Vec<_>, _>>()?;
        b.ping_groups.push(PingGroup {
            name,
            addrs,
            line: c.line,
        });
        Ok(())
    }),
    // ── logging and process ──
    d("logfile", T, Acted, |b, c, a| {
        let v = abs_path(one(a, "a file")?)?;
        once(&mut b.logfile, c, v)
    }),
    d("debugfile", T, Acted, |b, c, a| {
        let v = abs_path(one(a, "a file")?)?;
        once(&mut b.debugfile, c, v)
    }),
    d("logfacility", T, Acted, |b, c, a| {
        let v = facility(one(a, "a syslog facility or none")?)?;
        once(&mut b.logfacility, c, v)
    }),
    d("use_logd", T, Acted, |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.use_logd, c, v)
    }),
    d("debug", T, Acted, |b, c, a| {
        let v = byte(one(a, "a debug level")?, "a debug level is 0 to 255")?;
        once(&mut b.debug, c, v)
    }),
    d("realtime", T, Acted, |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.realtime, c, v)
    }),
    d("api_read_anyone", T, Acted, |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.api_read_anyone, c, v)
    }),
    d("cluster", T, Acted, |b, c, a| {
        let s = one(a, "a cluster name")?;
        let v = ClusterName::new(s).map_err(|source| Problem::BadName {
            name: s.to_string(),
            source,
        })?;
        once(&mut b.cluster, c, v)
    }),
    // ── membership and quorum (halo's; see halo_membership::quorum) ──
    d("votes", T, Acted, |b, c, a| {
        let [name, n] = a else {
            return Err(Problem::MissingValue {
                expected: "a node name and its votes: votes NODE N",
            });
        };
        let node = node_name(name)?;
        let v = number(n, 0, u64::from(u32::MAX), "0 to 4294967295")?;
        if let Some(first) = b.votes.iter().find(|x| x.value.0 == node) {
            return Err(Problem::Duplicate {
                first_line: first.line,
            });
        }
        b.votes.push(Spanned {
            value: (node, u32::try_from(v).unwrap_or(u32::MAX)),
            line: c.line,
        });
        Ok(())
    }),
    d("expected_votes", T, Acted, |b, c, a| {
        let v = number(
            one(a, "a number of votes")?,
            1,
            u64::from(u32::MAX),
            "1 or more",
        )?;
        once(
            &mut b.expected_votes,
            c,
            u32::try_from(v).unwrap_or(u32::MAX),
        )
    }),
    d("two_node", T, Acted, |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.two_node, c, v)
    }),
    d("wait_for_all", T, Acted, |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.wait_for_all, c, v)
    }),
    d("no_quorum_policy", T, Acted, |b, c, a| {
        let s = one(a, "stop, freeze, ignore or suicide")?;
        let v = s.parse::<NoQuorumPolicy>().map_err(|_| Problem::BadValue {
            value: s.to_string(),
            expected: "stop, freeze, ignore or suicide",
        })?;
        once(&mut b.no_quorum_policy, c, v)
    }),
    // ── later capabilities: parsed and kept, with a notice ──
    d("auto_failback", T, Acted, |b, c, a| {
        let s = one(a, "on, off or legacy")?;
        let v = if s.eq_ignore_ascii_case("legacy") {
            AutoFailback::Legacy
        } else if boolean(s).map_err(|_| Problem::BadValue {
            value: s.to_string(),
            expected: "on, off or legacy",
        })? {
            AutoFailback::On
        } else {
            AutoFailback::Off
        };
        once(&mut b.later.auto_failback, c, v)
    }),
    d(
        "nice_failback",
        T,
        L(
            "obsolete: heartbeat read it as auto_failback legacy; comes with the cluster resource manager",
        ),
        |b, c, a| {
            let v = boolean(one(a, "a boolean")?)?;
            once(&mut b.later.nice_failback, c, v)
        },
    ),
    d("pacemaker", T, Acted, pacemaker),
    d("crm", T, Acted, pacemaker),
    d("respawn", W, L(CHILDREN), |b, c, a| {
        let v = child(a)?;
        b.later.respawn.push(Spanned {
            value: v,
            line: c.line,
        });
        Ok(())
    }),
    d("failfast", W, L(CHILDREN), |b, c, a| {
        let v = child(a)?;
        b.later.failfast.push(Spanned {
            value: v,
            line: c.line,
        });
        Ok(())
    }),
    d("stonith", W, L(FENCING), |b, c, a| {
        let [kind, file] = a else {
            return Err(count(a, "a STONITH type and its configuration file"));
        };
        let v = Stonith {
            kind: kind.to_string(),
            config_file: abs_path(file)?,
        };
        b.later.stonith.push(Spanned {
            value: v,
            line: c.line,
        });
        Ok(())
    }),
    d("stonith_host", W, L(FENCING), |b, c, a| {
        let [host, kind, params @ ..] = a else {
            return Err(Problem::MissingValue {
                expected: "a host (or *), a STONITH type and its parameters",
            });
        };
        let from = if *host == "*" {
            None
        } else {
            Some(node_name(host)?)
        };
        let v = StonithHost {
            from,
            kind: kind.to_string(),
            params: params.iter().map(|p| p.to_string()).collect(),
        };
        b.later.stonith_host.push(Spanned {
            value: v,
            line: c.line,
        });
        Ok(())
    }),
    d("watchdog", T, L(FENCING), |b, c, a| {
        let v = abs_path(one(a, "a watchdog device")?)?;
        once(&mut b.later.watchdog, c, v)
    }),
    d(
        "apiauth",
        W,
        L(
            "per-client API rules; until then halod authorises clients by peer credentials (root or the haclient group)",
        ),
        |b, c, a| {
            let Some((client, rules)) = a.split_first() else {
                return Err(Problem::MissingValue {
                    expected: "a client name, then uid=… and/or gid=…",
                });
            };
            let mut v = ApiAuth {
                client: client.to_string(),
                uids: Vec::new(),
                gids: Vec::new(),
            };
            for r in rules {
                let (list, ids) = if let Some(ids) = r.strip_prefix("uid=") {
                    (&mut v.uids, ids)
                } else if let Some(ids) = r.strip_prefix("gid=") {
                    (&mut v.gids, ids)
                } else {
                    return Err(Problem::BadValue {
                        value: r.to_string(),
                        expected: "uid=USER[,USER…] or gid=GROUP[,GROUP…]",
                    });
                };
                list.extend(ids.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            }
            if v.uids.is_empty() && v.gids.is_empty() {
                return Err(Problem::MissingValue {
                    expected: "uid=… and/or gid=… after the client name",
                });
            }
            b.later.apiauth.push(Spanned {
                value: v,
                line: c.line,
            });
            Ok(())
        },
    ),
    d("compression", T, L(COMPRESSION), |b, c, a| {
        let v = choice(
            one(a, "zlib or bz2")?,
            &[("zlib", Compression::Zlib), ("bz2", Compression::Bz2)],
            "zlib or bz2",
        )?;
        once(&mut b.later.compression, c, v)
    }),
    d("compression_threshold", T, L(COMPRESSION), |b, c, a| {
        let v = number(
            one(a, "a size in KB")?,
            0,
            u64::from(u32::MAX),
            "0 to 4294967295 KB",
        )?;
        once(&mut b.later.compression_threshold_kb, c, v as u32)
    }),
    d("traditional_compression", T, L(COMPRESSION), |b, c, a| {
        let v = boolean(one(a, "a boolean")?)?;
        once(&mut b.later.traditional_compression, c, v)
    }),
    d("env", T, L(CHILDREN), |b, c, a| {
        at_least_one(a, "NAME=value")?;
        for s in a {
            let (name, value) = s.split_once('=').ok_or_else(|| Problem::BadValue {
                value: s.to_string(),
                expected: "NAME=value",
            })?;
            let ok = name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !ok {
                return Err(Problem::BadValue {
                    value: s.to_string(),
                    expected: "NAME=value with NAME made of letters, digits and '_'",
                });
            }
            b.later.env.push(Spanned {
                value: (name.to_string(), value.to_string()),
                line: c.line,
            });
        }
        Ok(())
    }),
    d(
        "autojoin",
        T,
        L("nodes must be listed on node lines; automatic joining is not implemented"),
        |b, c, a| {
            let v = choice(
                one(a, "none, other or any")?,
                &[
                    ("none", AutoJoin::None),
                    ("other", AutoJoin::Other),
                    ("any", AutoJoin::Any),
                ],
                "none, other or any",
            )?;
            once(&mut b.later.autojoin, c, v)
        },
    ),
    d(
        "rtprio",
        T,
        L("real-time tuning beyond realtime on/off is not implemented yet"),
        |b, c, a| {
            let v = number(
                one(a, "a priority")?,
                1,
                99,
                "a SCHED_FIFO priority is 1 to 99",
            )?;
            once(&mut b.later.rtprio, c, v as u8)
        },
    ),
    d(
        "memreserve",
        T,
        L("real-time tuning beyond realtime on/off is not implemented yet"),
        |b, c, a| {
            let v = number(
                one(a, "a size in KB")?,
                0,
                u64::from(u32::MAX),
                "0 to 4294967295 KB",
            )?;
            once(&mut b.later.memreserve_kb, c, v as u32)
        },
    ),
    d(
        "max_rexmit_delay",
        T,
        L("reliable messaging uses its own retransmission timing for now"),
        |b, c, a| {
            let v = number(one(a, "milliseconds")?, 1, 86_400_000, "1 to 86400000 ms")?;
            once(&mut b.later.max_rexmit_delay, c, Duration::from_millis(v))
        },
    ),
    d(
        "use_apphbd",
        T,
        L("comes with application heartbeats (apphbd)"),
        |b, c, a| {
            let v = boolean(one(a, "a boolean")?)?;
            once(&mut b.later.use_apphbd, c, v)
        },
    ),
    // ── heartbeat internals: validated, kept, ignored ──
    d(
        "hopfudge",
        T,
        Ignored("halo's wire protocol has no hop count"),
        |b, c, a| other(b, c, a, |s| byte(s, "0 to 255").map(drop)),
    ),
    d(
        "hbgenmethod",
        T,
        Ignored("halod keeps its generation in its state directory"),
        |b, c, a| {
            other(b, c, a, |s| {
                choice(s, &[("file", ()), ("time", ())], "file or time")
            })
        },
    ),
    d(
        "uuidfrom",
        T,
        Ignored("halo identifies nodes by name"),
        |b, c, a| {
            other(b, c, a, |s| {
                choice(s, &[("file", ()), ("nodename", ())], "file or nodename")
            })
        },
    ),
    d(
        "conn_logd_time",
        T,
        Ignored("halo has no separate logging daemon"),
        |b, c, a| other(b, c, a, |s| time(s).map(drop)),
    ),
    d(
        "syslogmsgfmt",
        T,
        Ignored("halod chooses its own log format"),
        other_bool,
    ),
    d(
        "log_badpack",
        T,
        Ignored("halod always counts bad packets, by reason"),
        other_bool,
    ),
    d(
        "coredumps",
        T,
        Ignored("core dumps are the system's business (kernel.core_pattern, systemd-coredump)"),
        other_bool,
    ),
    d(
        "coreroot",
        T,
        Ignored("core dumps are the system's business (kernel.core_pattern, systemd-coredump)"),
        |b, c, a| other(b, c, a, |s| abs_path(s).map(drop)),
    ),
    d(
        "msgfmt",
        T,
        Ignored("halo's wire protocol is its own"),
        |b, c, a| {
            other(b, c, a, |s| {
                choice(
                    s,
                    &[("classic", ()), ("netstring", ())],
                    "classic or netstring",
                )
            })
        },
    ),
    d(
        "normalpoll",
        T,
        Ignored("a heartbeat implementation detail"),
        other_bool,
    ),
    d(
        "quorum_server",
        T,
        Ignored("heartbeat's quorum server is not re-created"),
        |b, c, a| other(b, c, a, |_| Ok(())),
    ),
    d("crm_daemon_dir", T, Ignored(PACEMAKER_ONLY), |b, c, a| {
        other(b, c, a, |s| abs_path(s).map(drop))
    }),
    d(
        "crmd_spawns_pengine",
        T,
        Ignored(PACEMAKER_ONLY),
        other_bool,
    ),
    d(
        "record_config_changes",
        T,
        Ignored(PACEMAKER_ONLY),
        other_bool,
    ),
    d(
        "record_pengine_inputs",
        T,
        Ignored(PACEMAKER_ONLY),
        other_bool,
    ),
    d(
        "enable_config_writes",
        T,
        Ignored(PACEMAKER_ONLY),
        other_bool,
    ),
    d(
        "hbaping",
        T,
        Ignored(
            "the Fibre Channel ping plugin was never shipped by Debian; halo has no equivalent",
        ),
        |b, c, a| other(b, c, a, |_| Ok(())),
    ),
];

/// Every directive name halo accepts in ha.cf (for documentation and completion).
pub fn directive_names() -> impl Iterator<Item = &'static str> {
    DIRECTIVES.iter().map(|s| s.name)
}

/// Applies one line (comments, blank lines and all).
pub(super) fn apply_line(b: &mut Builder, file: &Path, line: Line<'_>) -> Result<(), ConfigError> {
    let text = lex::strip_comment(line.text).trim_start_matches(lex::is_blank);
    if text.trim_matches(lex::is_blank).is_empty() {
        return Ok(());
    }
    let name_end = text.find(lex::is_blank).unwrap_or(text.len());
    let (name, rest) = text.split_at(name_end);
    let Some(spec) = DIRECTIVES.iter().find(|s| s.name == name) else {
        return Err(ConfigError::at(
            file,
            line.no,
            name,
            Problem::UnknownDirective {
                suggestion: suggestion(name),
            },
        ));
    };
    let args = match spec.style {
        Style::Tokens => lex::tokens(rest),
        Style::WholeLine => lex::words(rest),
    };
    let ctx = Ctx {
        file,
        line: line.no,
        name,
    };
    (spec.apply)(b, &ctx, &args).map_err(|p| ConfigError::at(file, line.no, name, p))?;
    if let Some(note) = spec.alias_note {
        ctx.notice(b, Severity::Info, note);
    }
    match spec.support {
        Support::Acted => {}
        Support::Later(what) => ctx.notice(
            b,
            Severity::Info,
            format!("kept for later: halo does not act on it yet ({what})"),
        ),
        Support::Ignored(why) => ctx.notice(b, Severity::Info, format!("ignored: {why}")),
    }
    Ok(())
}

/// A known directive close to `name`: the same in another case, or a small typo.
fn suggestion(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    DIRECTIVES
        .iter()
        // An edit distance of at most 2 needs lengths within 2: skip the rest cheaply
        // (a long garbage word is not compared with every directive).
        .filter(|s| s.name.len().abs_diff(lower.len()) <= 2)
        .map(|s| (strsim::levenshtein(&lower, s.name), s.name))
        .filter(|&(dist, _)| dist <= 2 && dist < lower.len())
        .min()
        .map(|(_, n)| n.to_string())
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────

fn count(a: &[&str], expected: &'static str) -> Problem {
    if a.is_empty() {
        Problem::MissingValue { expected }
    } else {
        Problem::TooManyValues {
            expected,
            found: a.len(),
            hint: String::new(),
        }
    }
}

/// Exactly one value.
fn one<'a>(a: &[&'a str], expected: &'static str) -> Result<&'a str, Problem> {
    match a {
        [v] => Ok(v),
        _ => Err(count(a, expected)),
    }
}

fn at_least_one(a: &[&str], expected: &'static str) -> Result<(), Problem> {
    if a.is_empty() {
        Err(Problem::MissingValue { expected })
    } else {
        Ok(())
    }
}

/// Stores a single-valued directive, refusing a second one.
fn once<T>(slot: &mut Option<Spanned<T>>, c: &Ctx<'_>, value: T) -> Result<(), Problem> {
    if let Some(first) = slot {
        return Err(Problem::Duplicate {
            first_line: first.line,
        });
    }
    *slot = Some(Spanned {
        value,
        line: c.line,
    });
    Ok(())
}

fn set_time(slot: &mut Option<Spanned<Duration>>, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    const EXPECTED: &str = "one time value (2, 0.5, 500ms)";
    if let [number, unit] = a
        && crate::time::parse_time(number).is_ok()
        && unit.chars().all(|ch| ch.is_ascii_alphabetic())
        && crate::time::parse_time(&format!("1{unit}")).is_ok()
    {
        return Err(Problem::TooManyValues {
            expected: EXPECTED,
            found: 2,
            hint: format!("; write the unit glued to the number: {number}{unit}"),
        });
    }
    let v = time(one(a, EXPECTED)?)?;
    once(slot, c, v)
}

fn add_medium(b: &mut Builder, c: &Ctx<'_>, kind: MediumKind) {
    if let Some(first) = b.media.iter().find(|m| m.kind == kind) {
        let msg = format!(
            "the same medium is already configured on line {}",
            first.line
        );
        c.notice(b, Severity::Info, msg);
    } else {
        b.media.push(Medium { line: c.line, kind });
    }
}

fn add_ping(b: &mut Builder, c: &Ctx<'_>, addr: IpAddr) {
    if let Some(first) = b.ping_nodes.iter().find(|p| p.value == addr) {
        let msg = format!("{addr} is already a ping node (line {})", first.line);
        c.notice(b, Severity::Info, msg);
    } else {
        b.ping_nodes.push(Spanned {
            value: addr,
            line: c.line,
        });
    }
}

fn bcast(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    at_least_one(a, "one or more interfaces")?;
    for s in a {
        let iface = iface(s)?;
        add_medium(b, c, MediumKind::Bcast { iface, port: 0 });
    }
    Ok(())
}

fn ucast(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    let [dev, peers @ ..] = a else {
        return Err(Problem::MissingValue {
            expected: "an interface and one or more peer addresses",
        });
    };
    at_least_one(peers, "one or more peer addresses after the interface")?;
    let iface = iface(dev)?;
    for p in peers {
        let peer = ipv4(p, "an IPv4 address; use ucast6 for IPv6")?;
        let kind = MediumKind::Ucast {
            iface: iface.clone(),
            peer,
            port: 0,
        };
        add_medium(b, c, kind);
    }
    Ok(())
}

fn ucast6(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    let [dev, peers @ ..] = a else {
        return Err(Problem::MissingValue {
            expected: "an interface and one or more peer IPv6 addresses",
        });
    };
    at_least_one(peers, "one or more peer IPv6 addresses after the interface")?;
    let iface = iface(dev)?;
    for p in peers {
        let (addr, scope) = match p.split_once('%') {
            Some((a, s)) => (a, Some(s)),
            None => (*p, None),
        };
        let peer = ipv6(addr)?;
        if scope == Some("") {
            return Err(Problem::BadValue {
                value: p.to_string(),
                expected: "ADDRESS or ADDRESS%SCOPE with a scope after '%'",
            });
        }
        let kind = MediumKind::Ucast6 {
            iface: iface.clone(),
            peer,
            scope: scope.map(str::to_string),
            port: 0,
        };
        add_medium(b, c, kind);
    }
    Ok(())
}

/// `0` or `1`, as heartbeat's multicast parsers accept.
fn mcast_loop(s: &str) -> Result<bool, Problem> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(Problem::BadValue {
            value: s.to_string(),
            expected: "a loop flag: 0 (do not deliver our own packets back to us) or 1",
        }),
    }
}

/// The five fields of `mcast` and `mcast6`: interface, group, port, ttl/hops, loop.
/// `fields` and `ttl_range` word the errors; `group` parses and checks the group address.
fn multicast<G>(
    a: &[&str],
    fields: &'static str,
    ttl_range: &'static str,
    group: fn(&str) -> Result<G, Problem>,
) -> Result<(String, G, u16, u8, bool), Problem> {
    let [dev, g, p, ttl, lp] = a else {
        return Err(count(a, fields));
    };
    Ok((
        iface(dev)?,
        group(g)?,
        port(p)?,
        byte(ttl, ttl_range)?,
        mcast_loop(lp)?,
    ))
}

fn mcast(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    let (iface, group, port, ttl, loopback) = multicast(
        a,
        "5 values: interface, group, port, ttl, loop",
        "a TTL is 0 to 255",
        |g| {
            let group = ipv4(g, "an IPv4 multicast group; use mcast6 for IPv6")?;
            if group.is_multicast() {
                Ok(group)
            } else {
                Err(Problem::BadValue {
                    value: g.to_string(),
                    expected: "a multicast (class D) group: 224.0.0.0 to 239.255.255.255",
                })
            }
        },
    )?;
    let kind = MediumKind::Mcast {
        iface,
        group,
        port,
        ttl,
        loopback,
    };
    add_medium(b, c, kind);
    Ok(())
}

fn mcast6(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    let (iface, group, port, hops, loopback) = multicast(
        a,
        "5 values: interface, group, port, hops, loop",
        "a hop limit is 0 to 255",
        |g| {
            let group = ipv6(g)?;
            if group.is_multicast() {
                Ok(group)
            } else {
                Err(Problem::BadValue {
                    value: g.to_string(),
                    expected: "an IPv6 multicast group (ff00::/8)",
                })
            }
        },
    )?;
    let kind = MediumKind::Mcast6 {
        iface,
        group,
        port,
        hops,
        loopback,
    };
    add_medium(b, c, kind);
    Ok(())
}

fn facility(s: &str) -> Result<LogFacility, Problem> {
    use LogFacility as F;
    let lower = s.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("local")
        && let [digit @ b'0'..=b'7'] = n.as_bytes()
    {
        return Ok(F::Local(digit - b'0'));
    }
    choice(
        s,
        &[
            ("none", F::None),
            ("kern", F::Kern),
            ("user", F::User),
            ("mail", F::Mail),
            ("daemon", F::Daemon),
            ("auth", F::Auth),
            ("syslog", F::Syslog),
            ("lpr", F::Lpr),
            ("news", F::News),
            ("uucp", F::Uucp),
            ("cron", F::Cron),
            ("authpriv", F::Authpriv),
            ("ftp", F::Ftp),
        ],
        "a syslog facility (daemon, local0 … local7, …) or none",
    )
}

fn pacemaker(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    const EXPECTED: &str = "a boolean, respawn, minimal, manual, ccm-only or valgrind";
    let s = one(a, EXPECTED)?;
    let v = match boolean(s) {
        Ok(true) => Pacemaker::On,
        Ok(false) => Pacemaker::Off,
        Err(_) => choice(
            s,
            &[
                ("respawn", Pacemaker::Respawn),
                ("minimal", Pacemaker::Minimal),
                ("manual", Pacemaker::Manual),
                ("ccm-only", Pacemaker::CcmOnly),
                ("valgrind", Pacemaker::Valgrind),
            ],
            EXPECTED,
        )?,
    };
    once(&mut b.later.pacemaker, c, v)
}

fn child(a: &[&str]) -> Result<Child, Problem> {
    let [user, cmd, args @ ..] = a else {
        return Err(Problem::MissingValue {
            expected: "a user and an absolute command: USER /path/to/program [ARGS…]",
        });
    };
    Ok(Child {
        user: user.to_string(),
        command: abs_path(cmd)?,
        args: args.iter().map(|s| s.to_string()).collect(),
    })
}

/// Stores a heartbeat internal after `check`ing its single value.
fn other(
    b: &mut Builder,
    c: &Ctx<'_>,
    a: &[&str],
    check: fn(&str) -> Result<(), Problem>,
) -> Result<(), Problem> {
    let s = one(a, "one value")?;
    check(s)?;
    // The table's names are 'static; find ours to store it without allocating per line.
    let name = DIRECTIVES
        .iter()
        .find(|spec| spec.name == c.name)
        .map_or("?", |spec| spec.name);
    if let Some(&first_line) = b.other_seen.get(name) {
        return Err(Problem::Duplicate { first_line });
    }
    b.other_seen.insert(name, c.line);
    b.later.other.push(Kept {
        line: c.line,
        directive: name,
        value: s.to_string(),
    });
    Ok(())
}

fn other_bool(b: &mut Builder, c: &Ctx<'_>, a: &[&str]) -> Result<(), Problem> {
    other(b, c, a, |s| boolean(s).map(drop))
}
