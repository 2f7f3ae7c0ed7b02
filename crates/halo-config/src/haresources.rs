//! `haresources`: heartbeat-1 resource groups.
//!
//! ```text
//! # node   resources, started left to right, stopped right to left
//! node1    10.10.10.11 datadisk::drbd0 \
//!          Filesystem::/dev/drbd0::/ha/apache::ext4 apache
//! node2    IPaddr::10.10.10.12/24/eth0 mysql
//! ```
//!
//! Grammar (heartbeat's `ResourceManager`): `#` starts a comment anywhere; a line ending in
//! `\` continues on the next; blanks separate words. Each logical line is a **resource
//! group**: its preferred node (lower-cased; must be a configured node — the only thing
//! heartbeat itself validated), then one or more resources. The **first resource is the
//! group's key**, which must be unique in the file. A resource is `script` or
//! `script::arg1::arg2…`; a word shaped like an IPv4 address (`d.d.d.d…`, e.g.
//! `10.0.0.1/24/eth0`) is short for `IPaddr::word`.
//!
//! Differences from heartbeat, all more forgiving of hand-edited files and each with a
//! notice: blanks after the continuation `\` are allowed (heartbeat's `sed` required `\`
//! to be the very last character), and blank or comment lines inside a continued group
//! are skipped (heartbeat ended the group there). Both occur in our seeds' tutorial.
//! A continuation always separates words (heartbeat glued `a\` and `b` into `ab`).
//! Stricter: group keys are compared in their canonical form (`10.0.0.1` and
//! `IPaddr::10.0.0.1` are the same key), an argument may not be empty (`a::::b`), a
//! script name may not contain `/`, and an IP shorthand must hold a valid IPv4 address.
//!
//! The types are meant to be imported into a CIB: a group per line, in file order, with
//! its preferred node and its resources in start order.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use halo_types::NodeName;

use crate::Parsed;
use crate::error::{ConfigError, ConfigErrors, Problem};
use crate::lex;
use crate::notice::{Notice, Severity};

/// The script an IP-address shorthand stands for.
pub const IP_SHORTHAND_SCRIPT: &str = "IPaddr";

/// One resource of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaResource {
    /// The word as written (`10.0.0.1/24`, `Filesystem::/dev/sda1::/data::ext4`).
    pub spec: String,
    /// The script: looked up in `/etc/ha.d/resource.d`, then `/etc/init.d`.
    pub script: String,
    /// Its arguments, passed before the action (`start`/`stop`/`status`).
    pub args: Vec<String>,
    /// Whether it was written as a bare IP address (so `script` is [`IP_SHORTHAND_SCRIPT`]).
    pub ip_shorthand: bool,
    /// The line it is on.
    pub line: u32,
}

impl HaResource {
    /// `script::arg1::arg2`, the canonical spelling (shorthand expanded).
    pub fn canonical(&self) -> String {
        let mut s = self.script.clone();
        for a in &self.args {
            s.push_str("::");
            s.push_str(a);
        }
        s
    }
}

/// One line of haresources: a resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    /// The preferred node.
    pub node: NodeName,
    /// The resources, in start order. Never empty.
    pub resources: Vec<HaResource>,
    /// The line the group starts on.
    pub line: u32,
}

impl ResourceGroup {
    /// The group's key: its first resource as written (what heartbeat's `takegroup KEY`
    /// and `ip-request` use).
    pub fn key(&self) -> &str {
        self.resources.first().map_or("", |r| r.spec.as_str())
    }
}

/// The contents of haresources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaResources {
    /// The file it was read from.
    pub file: PathBuf,
    /// The groups, in file order.
    pub groups: Vec<ResourceGroup>,
}

impl HaResources {
    /// Parses haresources from its bytes. `nodes` are the configured nodes (from ha.cf);
    /// `file` is only used in messages.
    pub fn parse(
        file: &Path,
        bytes: &[u8],
        nodes: &[NodeName],
    ) -> Result<Parsed<HaResources>, ConfigErrors> {
        let mut errors = Vec::new();
        let mut notices = Vec::new();
        let lines = lex::lines(file, bytes, &mut errors);
        let mut groups: Vec<ResourceGroup> = Vec::new();
        for logical in join_lines(file, &lines, &mut notices) {
            match group(&logical, nodes, &groups) {
                Ok(g) => groups.push(g),
                Err((line, directive, problem)) => {
                    errors.push(ConfigError::at(file, line, &directive, problem));
                }
            }
        }
        if let Some(errors) = ConfigErrors::from_vec(errors) {
            return Err(errors);
        }
        Ok(Parsed {
            value: HaResources {
                file: file.to_path_buf(),
                groups,
            },
            notices,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path, nodes: &[NodeName]) -> Result<Parsed<HaResources>, ConfigErrors> {
        let bytes =
            std::fs::read(path).map_err(|e| ConfigError::file(path, None, Problem::Io(e)))?;
        Self::parse(path, &bytes, nodes)
    }

    /// The groups whose preferred node is `node` (heartbeat's "local" groups when `node`
    /// is us).
    pub fn groups_of<'a>(&'a self, node: &'a NodeName) -> impl Iterator<Item = &'a ResourceGroup> {
        self.groups.iter().filter(move |g| &g.node == node)
    }
}

/// A word and the physical line it is on.
type Word<'a> = (u32, &'a str);

/// Joins continued lines into logical lines of words.
fn join_lines<'a>(
    file: &Path,
    lines: &[lex::Line<'a>],
    notices: &mut Vec<Notice>,
) -> Vec<Vec<Word<'a>>> {
    let mut out = Vec::new();
    let mut current: Vec<Word<'a>> = Vec::new();
    let mut continuing: Option<u32> = None; // the line whose `\` we are continuing
    let mut skipped: Vec<u32> = Vec::new(); // blank lines met while continuing
    for line in lines {
        let uncommented = lex::strip_comment(line.text);
        let text = uncommented.trim_end_matches(lex::is_blank);
        let blanks_after = text.len() != uncommented.len();
        let (text, continues) = match text.strip_suffix('\\') {
            Some(t) => (t, true),
            None => (text, false),
        };
        let words = lex::words(text);
        if words.is_empty() && !continues {
            if continuing.is_some() {
                skipped.push(line.no);
            }
            continue;
        }
        if let Some(from) = continuing {
            for no in skipped.drain(..) {
                notices.push(Notice::new(
                    Severity::Warning,
                    file,
                    Some(no),
                    None,
                    format!(
                        "blank line inside the group continued on line {from}: skipped \
                         (heartbeat would have ended the group here)"
                    ),
                ));
            }
        }
        if continues && blanks_after {
            notices.push(Notice::new(
                Severity::Info,
                file,
                Some(line.no),
                None,
                "blanks after the continuation '\\': read as a continuation (heartbeat needed \
                 '\\' to be the last character)",
            ));
        }
        current.extend(words.into_iter().map(|w| (line.no, w)));
        if continues {
            continuing = Some(line.no);
        } else {
            continuing = None;
            out.push(std::mem::take(&mut current));
        }
    }
    if let Some(from) = continuing {
        notices.push(Notice::new(
            Severity::Warning,
            file,
            Some(from),
            None,
            "the file ends after a continuation '\\'; the group ends here",
        ));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

type GroupError = (u32, String, Problem);

fn group(
    words: &[Word<'_>],
    nodes: &[NodeName],
    earlier: &[ResourceGroup],
) -> Result<ResourceGroup, GroupError> {
    let Some(&(line, node)) = words.first() else {
        return Err((0, String::new(), Problem::EmptyGroup));
    };
    let node = NodeName::new(node).map_err(|source| {
        (
            line,
            "node".to_string(),
            Problem::BadName {
                name: node.to_string(),
                source,
            },
        )
    })?;
    if !nodes.contains(&node) {
        return Err((
            line,
            "node".to_string(),
            Problem::UnknownNode {
                name: node.to_string(),
                listed: nodes.iter().map(ToString::to_string).collect(),
            },
        ));
    }
    if words.len() < 2 {
        return Err((line, node.to_string(), Problem::EmptyGroup));
    }
    let resources = words[1..]
        .iter()
        .map(|&(l, w)| resource(l, w).map_err(|p| (l, w.to_string(), p)))
        .collect::<Result<Vec<_>, _>>()?;
    let key = &resources[0];
    if let Some(g) = earlier.iter().find(|g| {
        g.resources
            .first()
            .is_some_and(|r| r.canonical() == key.canonical())
    }) {
        return Err((
            key.line,
            key.spec.clone(),
            Problem::DuplicateGroupKey {
                key: key.spec.clone(),
                first_line: g.line,
            },
        ));
    }
    Ok(ResourceGroup {
        node,
        resources,
        line,
    })
}

/// heartbeat's `isip`: the shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*`.
fn looks_like_ip(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit()) && word.matches('.').count() >= 3
}

fn bad(spec: &str, reason: &'static str) -> Problem {
    Problem::BadResource {
        spec: spec.to_string(),
        reason,
    }
}

fn resource(line: u32, spec: &str) -> Result<HaResource, Problem> {
    let ip_shorthand = looks_like_ip(spec);
    let mut parts: Vec<&str> = spec.split("::").collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad(
            spec,
            "empty script name or argument: write script::arg1::arg2 with nothing empty",
        ));
    }
    let script = if ip_shorthand {
        let addr = parts[0].split('/').next().unwrap_or_default();
        if addr.parse::<Ipv4Addr>().is_err() {
            return Err(bad(
                spec,
                "starts like an IP address (short for IPaddr::…) but the address is not a valid IPv4 address",
            ));
        }
        IP_SHORTHAND_SCRIPT.to_string()
    } else {
        let s = parts.remove(0);
        if s.contains('/') || s == "." || s == ".." {
            return Err(bad(
                spec,
                "a script name is a file name in /etc/ha.d/resource.d or /etc/init.d, without '/'",
            ));
        }
        s.to_string()
    };
    Ok(HaResource {
        spec: spec.to_string(),
        script,
        args: parts.into_iter().map(str::to_string).collect(),
        ip_shorthand,
        line,
    })
}

#[cfg(test)]
mod tests;
