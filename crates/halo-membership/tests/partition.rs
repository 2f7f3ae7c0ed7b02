//! The membership rule, as text tables: `testdata/partition.txt`.
//!
//! `partition` takes one input line per node, `a: b c` meaning "a hears b and c" (a node
//! that hears nobody is written `a:`), and prints the memberships the rule forms, one per
//! line, in name order.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use halo_membership::rule::partition_names;

#[test]
fn partition_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/partition.txt");
    common::run_file(&path, |case| {
        let (cmd, _) = common::args(&case.command);
        assert_eq!(cmd, "partition", "line {}: unknown command", case.line);
        let mut hears: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in &case.input {
            let (node, heard) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("line {}: expected `node: heard…`", case.line));
            let set = heard.split_whitespace().map(str::to_string).collect();
            hears.insert(node.trim().to_string(), set);
        }
        let nodes: BTreeSet<String> = hears.keys().cloned().collect();
        let parts = partition_names(&nodes, |a, b| hears[a].contains(b));
        parts
            .iter()
            .map(|p| format!("{{{}}}", p.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    });
}
