//! Differences between two CIBs, and applying them.
//!
//! ```text
//!   a ──diff(a, b)──▶ CibDiff { from: a.version, to: b.version, changes }
//!   a ──apply(diff)─▶ b
//! ```
//!
//! The diff is computed on the XML trees of the two CIBs, like Pacemaker's
//! "v2" patchsets: a sequence of `modify` (replace an element's attributes),
//! `create` (insert a new element at a position), `delete` and `move`
//! changes. Elements are addressed by a path from the root; each step names the
//! element and either its `id` (when unique among same-named siblings) or its
//! index among same-named siblings. Changes are applied in order, and the
//! generator simulates that order, so every path and position is exact at the
//! moment its change is applied. Unchanged subtrees produce no changes.
//!
//! The replication protocol ships a [`CibDiff`] instead of the whole CIB when the
//! receiver's version equals [`CibDiff::from`]; [`CibDiff::to_element`] gives a
//! text form for logs and the wire.

use std::fmt::Write as _;

use crate::error::{CibError, ErrorKind};
use crate::model::Cib;
use crate::version::Version;
use crate::xml::Element;

/// How one path step picks a child element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The child with this `id` (unique among same-named siblings).
    Id(String),
    /// The n-th (0-based) child with this name.
    Index(usize),
}

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Element name.
    pub name: String,
    /// Which element of that name.
    pub key: Key,
}

/// A path from the root element (exclusive) to an element.
pub type Path = Vec<Step>;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace the attributes of the element at `path`.
    Modify {
        /// Element.
        path: Path,
        /// Its new attributes, in order.
        attrs: Vec<(String, String)>,
    },
    /// Insert `element` as child number `position` of the element at `parent`.
    Create {
        /// Parent element.
        parent: Path,
        /// Index among all children after insertion.
        position: usize,
        /// The new subtree.
        element: Element<'static>,
    },
    /// Remove the element at `path`.
    Delete {
        /// Element.
        path: Path,
    },
    /// Move the element at `path` to child number `position` of its parent.
    Move {
        /// Element.
        path: Path,
        /// New index among all children.
        position: usize,
    },
}

/// The changes that turn one CIB into another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CibDiff {
    /// Version of the CIB the diff applies to.
    pub from: Version,
    /// Version of the result.
    pub to: Version,
    /// The changes, in application order.
    pub changes: Vec<Change>,
}

impl CibDiff {
    /// Whether the diff changes nothing but (possibly) the version.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The diff as XML, similar to Pacemaker's patchset format: paths are written
    /// as `/cib/configuration/resources/primitive[@id='x']` or `.../node[2]`
    /// (1-based index).
    pub fn to_element(&self) -> Element<'static> {
        let v = |name: &str, ver: Version| {
            Element::new(name)
                .with_attr("admin_epoch", &ver.admin_epoch.to_string())
                .with_attr("epoch", &ver.epoch.to_string())
                .with_attr("num_updates", &ver.num_updates.to_string())
        };
        let mut el = Element::new("diff").with_attr("format", "2").with_child(
            Element::new("version")
                .with_child(v("source", self.from))
                .with_child(v("target", self.to)),
        );
        for c in &self.changes {
            el.children.push(match c {
                Change::Modify { path, attrs } => {
                    let mut set = Element::new("attributes");
                    set.set_attrs(attrs);
                    Element::new("change")
                        .with_attr("operation", "modify")
                        .with_attr("path", &path_text(path))
                        .with_child(set)
                }
                Change::Create {
                    parent,
                    position,
                    element,
                } => Element::new("change")
                    .with_attr("operation", "create")
                    .with_attr("path", &path_text(parent))
                    .with_attr("position", &position.to_string())
                    .with_child(element.clone()),
                Change::Delete { path } => Element::new("change")
                    .with_attr("operation", "delete")
                    .with_attr("path", &path_text(path)),
                Change::Move { path, position } => Element::new("change")
                    .with_attr("operation", "move")
                    .with_attr("path", &path_text(path))
                    .with_attr("position", &position.to_string()),
            });
        }
        el
    }

    /// Reads a diff written by [`CibDiff::to_element`].
    pub fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let bad = |line: u32, s: &str| CibError::at(line, ErrorKind::Patch(s.to_string()));
        if el.name != "diff" || el.attr("format") != Some("2") {
            return Err(bad(el.line, "expected <diff format=\"2\">"));
        }
        let mut from = None;
        let mut to = None;
        let mut changes = Vec::new();
        for c in &el.children {
            match c.name.as_ref() {
                "version" => {
                    for v in &c.children {
                        let num = |n: &str| -> Result<u64, CibError> {
                            v.attr(n)
                                .and_then(|s| s.parse().ok())
                                .ok_or_else(|| bad(v.line, "bad version"))
                        };
                        let ver =
                            Version::new(num("admin_epoch")?, num("epoch")?, num("num_updates")?);
                        match v.name.as_ref() {
                            "source" => from = Some(ver),
                            "target" => to = Some(ver),
                            _ => return Err(bad(v.line, "unknown version element")),
                        }
                    }
                }
                "change" => {
                    let path = parse_path(c.attr("path").ok_or_else(|| bad(c.line, "no path"))?)
                        .ok_or_else(|| bad(c.line, "bad path"))?;
                    let position = || -> Result<usize, CibError> {
                        c.attr("position")
                            .and_then(|s| s.parse().ok())
                            .ok_or_else(|| bad(c.line, "bad position"))
                    };
                    changes.push(match c.attr("operation") {
                        Some("modify") => Change::Modify {
                            path,
                            attrs: c
                                .children
                                .first()
                                .map(Element::owned_attrs)
                                .unwrap_or_default(),
                        },
                        Some("create") => Change::Create {
                            parent: path,
                            position: position()?,
                            element: c
                                .children
                                .first()
                                .cloned()
                                .map(Element::into_owned)
                                .ok_or_else(|| bad(c.line, "create without element"))?,
                        },
                        Some("delete") => Change::Delete { path },
                        Some("move") => Change::Move {
                            path,
                            position: position()?,
                        },
                        _ => return Err(bad(c.line, "unknown operation")),
                    });
                }
                _ => return Err(bad(c.line, "unknown element in diff")),
            }
        }
        Ok(CibDiff {
            from: from.ok_or_else(|| bad(el.line, "no source version"))?,
            to: to.ok_or_else(|| bad(el.line, "no target version"))?,
            changes,
        })
    }
}

fn path_text(path: &Path) -> String {
    let mut s = String::from("/cib");
    for st in path {
        let _ = match &st.key {
            Key::Id(id) => write!(s, "/{}[@id='{}']", st.name, id.replace('\'', "&apos;")),
            Key::Index(i) => write!(s, "/{}[{}]", st.name, i + 1),
        };
    }
    s
}

fn parse_path(text: &str) -> Option<Path> {
    let rest = text.strip_prefix("/cib")?;
    let mut path = Vec::new();
    let mut s = rest;
    while !s.is_empty() {
        s = s.strip_prefix('/')?;
        let open = s.find('[')?;
        let name = &s[..open];
        let after = &s[open + 1..];
        if let Some(id_rest) = after.strip_prefix("@id='") {
            let end = id_rest.find("']")?;
            path.push(Step {
                name: name.to_string(),
                key: Key::Id(id_rest[..end].replace("&apos;", "'")),
            });
            s = &id_rest[end + 2..];
        } else {
            let end = after.find(']')?;
            let n: usize = after[..end].parse().ok()?;
            path.push(Step {
                name: name.to_string(),
                key: Key::Index(n.checked_sub(1)?),
            });
            s = &after[end + 1..];
        }
    }
    Some(path)
}

/// Computes the changes from `a` to `b`.
pub fn diff(a: &Cib, b: &Cib) -> CibDiff {
    let ea = a.to_element();
    let eb = b.to_element();
    let mut changes = Vec::new();
    diff_element(&ea, &eb, Vec::new(), &mut Vec::new(), &mut changes);
    CibDiff {
        from: a.version,
        to: b.version,
        changes,
    }
}

/// Applies `d` to `a`. Fails if `a`'s version is not the diff's source version or
/// a path does not resolve.
pub fn apply(d: &CibDiff, a: &Cib) -> Result<Cib, CibError> {
    if a.version != d.from {
        return Err(CibError::at(
            0,
            ErrorKind::Patch(format!(
                "diff applies to version {}, the CIB is at {}",
                d.from, a.version
            )),
        ));
    }
    let mut root = a.to_element();
    for c in &d.changes {
        apply_change(&mut root, c)?;
    }
    let mut cib = Cib::from_element(&root)?;
    cib.version = d.to;
    Ok(cib)
}

/// Applies one change to a tree.
pub fn apply_change(root: &mut Element<'static>, c: &Change) -> Result<(), CibError> {
    let fail = |s: String| CibError::at(0, ErrorKind::Patch(s));
    match c {
        Change::Modify { path, attrs } => {
            let el = resolve(root, path)
                .ok_or_else(|| fail(format!("no element {}", path_text(path))))?;
            el.set_attrs(attrs);
        }
        Change::Create {
            parent,
            position,
            element,
        } => {
            let el = resolve(root, parent)
                .ok_or_else(|| fail(format!("no element {}", path_text(parent))))?;
            if *position > el.children.len() {
                return Err(fail(format!("position {position} out of range")));
            }
            el.children.insert(*position, element.clone());
        }
        Change::Delete { path } | Change::Move { path, .. } => {
            let (last, parent_path) = path
                .split_last()
                .ok_or_else(|| fail("cannot delete or move the root".into()))?;
            let parent = resolve(root, parent_path)
                .ok_or_else(|| fail(format!("no element {}", path_text(path))))?;
            let idx = find_child(parent, last)
                .ok_or_else(|| fail(format!("no element {}", path_text(path))))?;
            let el = parent.children.remove(idx);
            if let Change::Move { position, .. } = c {
                if *position > parent.children.len() {
                    return Err(fail(format!("position {position} out of range")));
                }
                parent.children.insert(*position, el);
            }
        }
    }
    Ok(())
}

fn resolve<'a>(
    mut el: &'a mut Element<'static>,
    path: &[Step],
) -> Option<&'a mut Element<'static>> {
    for st in path {
        let i = find_child(el, st)?;
        el = &mut el.children[i];
    }
    Some(el)
}

fn find_child(el: &Element<'_>, st: &Step) -> Option<usize> {
    match &st.key {
        Key::Id(id) => el
            .children
            .iter()
            .position(|c| c.name == st.name && c.id() == Some(id.as_str())),
        Key::Index(n) => el
            .children
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == st.name)
            .nth(*n)
            .map(|(i, _)| i),
    }
}

/// The step that addresses `children[i]` among `children`.
fn step_for(children: &[&Element<'_>], i: usize) -> Step {
    let el = children[i];
    if let Some(id) = el.id() {
        let same = children
            .iter()
            .filter(|c| c.name == el.name && c.id() == Some(id))
            .count();
        if same == 1 {
            return Step {
                name: el.name.to_string(),
                key: Key::Id(id.to_string()),
            };
        }
    }
    let n = children[..i].iter().filter(|c| c.name == el.name).count();
    Step {
        name: el.name.to_string(),
        key: Key::Index(n),
    }
}

fn unique_id<'a>(list: &[&'a Element], el: &'a Element) -> Option<&'a str> {
    let id = el.id()?;
    let n = list
        .iter()
        .filter(|c| c.name == el.name && c.id() == Some(id))
        .count();
    (n == 1).then_some(id)
}

/// Emits the changes from `a` to `b`. `modify_path` addresses `a` as it is now;
/// `path` addresses it after its attributes are replaced (its id may change), and
/// is the parent path of all changes to its children.
fn diff_element(
    a: &Element<'_>,
    b: &Element<'_>,
    modify_path: Path,
    path: &mut Path,
    out: &mut Vec<Change>,
) {
    if a.attrs != b.attrs {
        out.push(Change::Modify {
            path: modify_path,
            attrs: b.owned_attrs(),
        });
    }
    let old: Vec<&Element<'_>> = a.children.iter().collect();
    let new: Vec<&Element<'_>> = b.children.iter().collect();

    // Match new children to old ones: by unique id first, then in order by name.
    let mut matched_old = vec![false; old.len()];
    let mut match_of: Vec<Option<usize>> = vec![None; new.len()];
    for (ni, n) in new.iter().enumerate() {
        if let Some(id) = unique_id(&new, n)
            && let Some(oi) = old
                .iter()
                .position(|o| o.name == n.name && unique_id(&old, o) == Some(id))
            && !matched_old[oi]
        {
            matched_old[oi] = true;
            match_of[ni] = Some(oi);
        }
    }
    for (ni, n) in new.iter().enumerate() {
        if match_of[ni].is_some() || unique_id(&new, n).is_some() {
            continue;
        }
        if let Some(oi) = old.iter().enumerate().position(|(oi, o)| {
            !matched_old[oi] && o.name == n.name && unique_id(&old, o).is_none()
        }) {
            matched_old[oi] = true;
            match_of[ni] = Some(oi);
        }
    }

    // Simulate the working list of children: Ok(old index) or Err(new index).
    let mut cur: Vec<Result<usize, usize>> = (0..old.len()).map(Ok).collect();
    let view = |cur: &[Result<usize, usize>]| -> Vec<&Element<'_>> {
        cur.iter()
            .map(|x| match x {
                Ok(o) => old[*o],
                Err(n) => new[*n],
            })
            .collect()
    };

    // Deletions, last first so earlier positions stay valid.
    for oi in (0..old.len()).rev() {
        if !matched_old[oi] {
            let pos = cur.iter().position(|x| *x == Ok(oi)).unwrap_or(0);
            let v = view(&cur);
            let mut p = path.clone();
            p.push(step_for(&v, pos));
            out.push(Change::Delete { path: p });
            let _removed = cur.remove(pos);
        }
    }

    for (ni, n) in new.iter().enumerate() {
        match match_of[ni] {
            Some(oi) => {
                let pos = cur.iter().position(|x| *x == Ok(oi)).unwrap_or(ni);
                if pos != ni {
                    let v = view(&cur);
                    let mut p = path.clone();
                    p.push(step_for(&v, pos));
                    out.push(Change::Move {
                        path: p,
                        position: ni,
                    });
                    let item = cur.remove(pos);
                    cur.insert(ni, item);
                }
                // Address the child with its old attributes for the modification of
                // its attributes, and with its new ones for changes below it.
                let v = view(&cur);
                let mut modify_path = path.clone();
                modify_path.push(step_for(&v, ni));
                cur[ni] = Err(ni);
                let v = view(&cur);
                path.push(step_for(&v, ni));
                diff_element(old[oi], n, modify_path, path, out);
                path.pop();
            }
            None => {
                out.push(Change::Create {
                    parent: path.clone(),
                    position: ni,
                    element: (*n).clone().into_owned(),
                });
                cur.insert(ni, Err(ni));
            }
        }
    }
}

impl Cib {
    /// The changes from `self` to `other` (see [`diff`]).
    pub fn diff(&self, other: &Cib) -> CibDiff {
        diff(self, other)
    }

    /// `self` with `d` applied (see [`apply`]).
    pub fn apply_diff(&self, d: &CibDiff) -> Result<Cib, CibError> {
        apply(d, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn base() -> Cib {
        let mut c = Cib {
            version: Version::new(0, 1, 0),
            ..Cib::default()
        };
        c.configuration.nodes = vec![Node::new("1", "n1"), Node::new("2", "n2")];
        c.configuration.resources = vec![
            Resource::Primitive(Primitive::new("a", "ocf", Some("heartbeat"), "Dummy")),
            Resource::Primitive(Primitive::new("b", "ocf", Some("heartbeat"), "Dummy")),
        ];
        c
    }

    #[test]
    fn identical_cibs_have_empty_diff() {
        let a = base();
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn create_delete_modify_move_round_trip() {
        let a = base();
        let mut b = base();
        b.version = Version::new(0, 2, 0);
        b.configuration.resources.swap(0, 1);
        b.configuration.nodes.remove(0);
        b.configuration.nodes[0].uname = "renamed".into();
        b.configuration
            .resources
            .push(Resource::Primitive(Primitive::new("c", "lsb", None, "x")));
        let d = diff(&a, &b);
        assert!(!d.is_empty());
        assert_eq!(apply(&d, &a).expect("apply"), b);
        // And through the text form.
        let text = d.to_element().to_xml();
        let back = CibDiff::from_element(&crate::xml::parse(&text).expect("parse")).expect("read");
        assert_eq!(back, d);
        assert_eq!(apply(&back, &a).expect("apply"), b);
    }

    #[test]
    fn wrong_base_version_is_refused() {
        let a = base();
        let mut b = base();
        b.version = Version::new(0, 2, 0);
        let d = diff(&a, &b);
        let mut other = base();
        other.version = Version::new(0, 5, 0);
        assert!(apply(&d, &other).is_err());
    }
}
