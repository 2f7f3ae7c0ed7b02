//! The Pacemaker scheduler corpus against halo-cib:
//!
//! * every CIB parses, and writing it back gives an equal model (the
//!   round-trip the replication layer relies on);
//! * halo-cib reads XML with its own scanner (faster than quick-xml's reader
//!   on large CIBs): its element trees equal those built from quick-xml's
//!   events (names, decoded attribute values, order, the line of every
//!   element);
//! * the status section is built while reading, without an element tree:
//!   the typed CIB read from text equals the one built from the tree.

use std::borrow::Cow;
use std::path::PathBuf;

use halo_cib::Cib;
use halo_cib::xml::{Element, parse};
use quick_xml::XmlVersion;
use quick_xml::events::Event;

/// Every corpus CIB: path and text.
fn corpus() -> Vec<(PathBuf, String)> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/pacemaker-scheduler/xml");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    assert!(paths.len() > 300, "corpus is incomplete");
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            (p, text)
        })
        .collect()
}

#[test]
fn every_corpus_cib_parses_and_round_trips() {
    let mut failures = Vec::new();
    for (path, text) in corpus() {
        match Cib::from_xml(&text) {
            Ok(cib) => {
                let again = Cib::from_xml(&cib.to_xml()).expect("written CIB reads back");
                assert_eq!(cib, again, "{} does not round-trip", path.display());
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The element tree as quick-xml's reader sees it, with the line of each
/// start tag (whitespace-only text skipped).
fn reference_tree(text: &str) -> Element<'static> {
    let mut reader = quick_xml::Reader::from_str(text);
    let line_of = |pos: usize| {
        text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let mut stack: Vec<Element<'static>> = Vec::new();
    loop {
        let pos = usize::try_from(reader.buffer_position()).expect("position");
        let ev = reader.read_event().expect("quick-xml reads the corpus");
        let start = pos
            + text.as_bytes()[pos..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        let element = |s: &quick_xml::events::BytesStart<'_>| Element {
            name: Cow::Owned(s.name().0.to_string()),
            attrs: s
                .attributes()
                .map(|a| {
                    let a = a.expect("attribute");
                    let v = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .expect("value")
                        .into_owned();
                    (Cow::Owned(a.key.0.to_string()), Cow::Owned(v))
                })
                .collect(),
            children: Vec::new(),
            line: u32::try_from(line_of(start)).expect("line"),
        };
        match ev {
            Event::Start(s) => stack.push(element(&s)),
            Event::Empty(s) => {
                let el = element(&s);
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => return el,
                }
            }
            Event::End(_) => {
                let el = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => return el,
                }
            }
            Event::Eof => panic!("no root element"),
            _ => {}
        }
    }
}

fn same_lines(a: &Element<'_>, b: &Element<'_>) -> bool {
    a.line == b.line
        && a.children.len() == b.children.len()
        && a.children
            .iter()
            .zip(&b.children)
            .all(|(x, y)| same_lines(x, y))
}

#[test]
fn trees_equal_quick_xml_trees_with_lines() {
    for (path, text) in corpus() {
        let ours = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reference = reference_tree(&text);
        assert!(ours == reference, "{} reads differently", path.display());
        assert!(
            same_lines(&ours, &reference),
            "{}: element lines differ",
            path.display()
        );
    }
}

#[test]
fn streamed_cib_equals_cib_from_tree() {
    for (path, text) in corpus() {
        let streamed = Cib::from_xml(&text);
        let tree = parse(&text).and_then(|el| Cib::from_element(&el));
        assert_eq!(streamed, tree, "{}", path.display());
    }
}
