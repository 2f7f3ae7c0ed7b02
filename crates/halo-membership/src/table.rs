//! What one node knows: the latest entry of every node, indexed for the rule.
//!
//! Rows are kept in name order (the rule's tie-break order), and each row carries, as a
//! bit set over row indices, which nodes its entry hears *in their current incarnation*
//! (the generation of their own latest entry). Building the mutual-hearing graph is then
//! a few bit operations, with no name comparisons.

use std::collections::HashMap;

use halo_types::NodeName;

use crate::rule::{BitSet, Graph};
use crate::wire::Entry;

#[derive(Debug, Clone)]
struct Row {
    entry: Entry,
    /// Row indices `j` such that `entry.hears` lists row `j`'s incarnation.
    hears: BitSet,
}

/// The latest entry of every known node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    rows: Vec<Row>,
    pos: HashMap<NodeName, usize>,
}

impl Table {
    /// The number of known nodes.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The row index of `name`.
    pub fn index(&self, name: &NodeName) -> Option<usize> {
        self.pos.get(name).copied()
    }

    /// The entry of `name`.
    pub fn get(&self, name: &NodeName) -> Option<&Entry> {
        self.index(name).map(|i| &self.rows[i].entry)
    }

    /// The entry at row `i`.
    pub fn at(&self, i: usize) -> &Entry {
        &self.rows[i].entry
    }

    /// All entries, in name order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.rows.iter().map(|r| &r.entry)
    }

    /// Whether row `u`'s entry hears row `v`'s current incarnation.
    pub fn hears(&self, u: usize, v: usize) -> bool {
        self.rows[u].hears.contains(v)
    }

    /// The rows row `u` hears.
    pub fn heard_by(&self, u: usize) -> &BitSet {
        &self.rows[u].hears
    }

    fn row_bits(&self, entry: &Entry) -> BitSet {
        let mut bits = BitSet::with_capacity(self.rows.len());
        for h in &entry.hears {
            if let Some(&j) = self.pos.get(&h.name)
                && self.rows[j].entry.node.generation == h.generation
            {
                bits.insert(j);
            }
        }
        bits
    }

    fn rebuild(&mut self) {
        self.pos = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.entry.node.name.clone(), i))
            .collect();
        for i in 0..self.rows.len() {
            let bits = self.row_bits(&self.rows[i].entry);
            self.rows[i].hears = bits;
        }
    }

    /// Sets `entry` as the latest of its node (the caller checked it is newer). Returns
    /// whether the mutual-hearing graph may have changed (a new node, a new generation, or
    /// other hearing); an entry that only reports a new digest or installed membership
    /// leaves it as it was.
    pub fn put(&mut self, entry: Entry) -> bool {
        match self.index(&entry.node.name) {
            Some(i) => {
                let new_generation = self.rows[i].entry.node.generation != entry.node.generation;
                self.rows[i].entry = entry;
                let bits = self.row_bits(&self.rows[i].entry);
                let changed = new_generation || bits != self.rows[i].hears;
                self.rows[i].hears = bits;
                if new_generation {
                    // Whether others hear this node depends on its generation.
                    let me = self.rows[i].entry.node.clone();
                    for u in 0..self.rows.len() {
                        if self.rows[u].entry.hears.binary_search(&me).is_ok() {
                            self.rows[u].hears.insert(i);
                        } else {
                            self.rows[u].hears.remove(i);
                        }
                    }
                }
                changed
            }
            None => {
                let at = self
                    .rows
                    .partition_point(|r| r.entry.node.name < entry.node.name);
                self.rows.insert(
                    at,
                    Row {
                        entry,
                        hears: BitSet::default(),
                    },
                );
                self.rebuild();
                true
            }
        }
    }

    /// Replaces the `hears`, `digest` and `installed` of an existing row (this node's own
    /// entry), keeping the bit sets right.
    pub fn update(&mut self, i: usize, f: impl FnOnce(&mut Entry)) {
        f(&mut self.rows[i].entry);
        let bits = self.row_bits(&self.rows[i].entry);
        self.rows[i].hears = bits;
    }

    /// The mutual-hearing graph over the rows.
    pub fn graph(&self) -> Graph {
        let mut g = Graph::new(self.rows.len());
        for (u, row) in self.rows.iter().enumerate() {
            for v in row.hears.iter() {
                if v > u && self.rows[v].hears.contains(u) {
                    g.add_edge(u, v);
                }
            }
        }
        g
    }
}
