//! The membership rule: which sets of nodes form memberships, given who hears whom.
//!
//! This is a pure function of the *mutual-hearing graph*: nodes are vertices, and `u — v`
//! is an edge when `u` hears `v` **and** `v` hears `u` (heard = the failure detector says
//! alive). A membership must be a clique of that graph (every member hears every other),
//! and every node belongs to exactly one membership (possibly alone). The rule picks one
//! such partition deterministically, so that every node that knows the same graph computes
//! the same answer:
//!
//! 1. Split the graph into connected components. Components never influence each other.
//! 2. In a component, **peel**: while the remaining nodes are not a clique, set aside the
//!    node with the fewest neighbours among them; on a tie, the one whose name sorts last.
//!    The nodes left form a clique.
//! 3. **Extend**: go through the set-aside nodes in name order and add each one that is a
//!    neighbour of every node of the clique so far. The clique is now maximal: no node of
//!    the component can join it. It is one membership.
//! 4. The rest of the component (its nodes not in that membership) is a smaller graph:
//!    repeat from step 1 on it.
//!
//! Why this rule: it is polynomial (a maximum-clique search is exponential in the worst
//! case, and the worst cases — complements of matchings — are exactly what many cut links
//! produce), it is the heuristic heartbeat's CCM used for the same job, it keeps the
//! large well-connected group together and drops the poorly connected nodes first, and
//! between equals it keeps the nodes whose names sort first, like Pacemaker's preference
//! for the lowest node id. Examples (see `tests/testdata/partition.txt`):
//!
//! - a partition 2|3 with full connectivity inside each side gives the two sides;
//! - three nodes where `b` stops hearing `a` (but `a` hears `b`, and `c` hears and is
//!   heard by both) give `{a, c}` and `{b}`: `a` and `b` tie on one neighbour each and
//!   `b` sorts last;
//! - a node heard by only some of the others is set aside first and ends up alone (or
//!   with the others it mutually hears).

use std::collections::BTreeSet;

/// A set of small integers (vertex indices), stored as bits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// An empty set able to hold `0..n` without growing.
    pub fn with_capacity(n: usize) -> Self {
        BitSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// The set `0..n`.
    pub fn full(n: usize) -> Self {
        let mut s = Self::with_capacity(n);
        for i in 0..n {
            s.insert(i);
        }
        s
    }

    /// Adds `i`.
    pub fn insert(&mut self, i: usize) {
        let w = i / 64;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i % 64);
    }

    /// Removes `i`.
    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    /// Whether `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// `|self ∩ other|`.
    pub fn intersection_len(&self, other: &BitSet) -> usize {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a & b).count_ones() as usize)
            .sum()
    }

    /// Whether every element of `self` is in `other`.
    pub fn is_subset(&self, other: &BitSet) -> bool {
        self.words.iter().enumerate().all(|(i, &w)| {
            let o = other.words.get(i).copied().unwrap_or(0);
            w & !o == 0
        })
    }

    /// `self \ other`.
    pub fn difference(&self, other: &BitSet) -> BitSet {
        let words = self
            .words
            .iter()
            .enumerate()
            .map(|(i, &w)| w & !other.words.get(i).copied().unwrap_or(0))
            .collect();
        BitSet { words }
    }

    /// `self ∪= other`.
    pub fn union_with(&mut self, other: &BitSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &BitSet) {
        for (i, w) in self.words.iter_mut().enumerate() {
            *w &= other.words.get(i).copied().unwrap_or(0);
        }
    }

    /// `self \= other`.
    pub fn subtract(&mut self, other: &BitSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= !o;
        }
    }

    /// The elements in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + b)
            })
        })
    }

    /// The smallest element.
    pub fn first(&self) -> Option<usize> {
        self.iter().next()
    }
}

impl FromIterator<usize> for BitSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut s = BitSet::default();
        for i in iter {
            s.insert(i);
        }
        s
    }
}

/// An undirected graph on vertices `0..n`. The rule breaks ties by vertex index, so
/// callers number vertices in name order (index 0 = the name that sorts first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    adj: Vec<BitSet>,
}

impl Graph {
    /// A graph of `n` vertices and no edges.
    pub fn new(n: usize) -> Self {
        Graph {
            adj: vec![BitSet::with_capacity(n); n],
        }
    }

    /// The mutual-hearing graph of `n` vertices: an edge `u — v` wherever
    /// `hears(u, v) && hears(v, u)`.
    pub fn mutual(n: usize, hears: impl Fn(usize, usize) -> bool) -> Self {
        let mut g = Graph::new(n);
        for u in 0..n {
            for v in (u + 1)..n {
                if hears(u, v) && hears(v, u) {
                    g.add_edge(u, v);
                }
            }
        }
        g
    }

    /// The number of vertices.
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// Whether the graph has no vertex.
    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// Adds the edge `u — v` (ignored if either is out of range or `u == v`).
    pub fn add_edge(&mut self, u: usize, v: usize) {
        if u != v && u < self.adj.len() && v < self.adj.len() {
            self.adj[u].insert(v);
            self.adj[v].insert(u);
        }
    }

    /// Whether `u — v` is an edge.
    pub fn has_edge(&self, u: usize, v: usize) -> bool {
        self.adj.get(u).is_some_and(|a| a.contains(v))
    }

    /// The connected components of the subgraph induced by `within`, each as a set,
    /// ordered by their smallest vertex.
    pub fn components(&self, within: &BitSet) -> Vec<BitSet> {
        let mut left = within.clone();
        let mut out = Vec::new();
        while let Some(start) = left.first() {
            // Grow the component a frontier at a time, a word of vertices per operation.
            let mut comp = BitSet::with_capacity(self.len());
            comp.insert(start);
            let mut frontier = comp.clone();
            while !frontier.is_empty() {
                let mut next = BitSet::with_capacity(self.len());
                for u in frontier.iter() {
                    next.union_with(&self.adj[u]);
                }
                next.intersect_with(&left);
                next.subtract(&comp);
                comp.union_with(&next);
                frontier = next;
            }
            left.subtract(&comp);
            out.push(comp);
        }
        out
    }

    fn is_clique(&self, set: &BitSet) -> bool {
        let n = set.len();
        set.iter()
            .all(|u| self.adj[u].intersection_len(set) == n - 1)
    }

    /// Steps 2 and 3 of the rule on one connected set: the maximal clique it keeps.
    fn peel(&self, comp: &BitSet) -> BitSet {
        let mut keep = comp.clone();
        let mut aside = Vec::new();
        while !self.is_clique(&keep) {
            // Fewest neighbours among the kept nodes; on a tie the greatest index.
            let mut worst: Option<(usize, usize)> = None;
            for u in keep.iter() {
                let d = self.adj[u].intersection_len(&keep);
                if worst.is_none_or(|(wd, _)| d <= wd) {
                    worst = Some((d, u));
                }
            }
            let Some((_, u)) = worst else { break };
            keep.remove(u);
            aside.push(u);
        }
        aside.sort_unstable();
        for u in aside {
            if keep.is_subset(&self.adj[u]) {
                keep.insert(u);
            }
        }
        keep
    }

    /// The rule applied to the vertices in `within`: the memberships, each sorted, listed
    /// in the order the rule finds them.
    pub fn partition_of(&self, within: &BitSet) -> Vec<BitSet> {
        let mut out = Vec::new();
        let mut todo = vec![within.clone()];
        while let Some(set) = todo.pop() {
            // Components are independent; process them in order of their smallest vertex
            // (pushed in reverse so the first is popped first).
            let comps = self.components(&set);
            let mut rest = Vec::new();
            for comp in comps {
                let clique = self.peel(&comp);
                let left = comp.difference(&clique);
                out.push(clique);
                if !left.is_empty() {
                    rest.push(left);
                }
            }
            todo.extend(rest.into_iter().rev());
        }
        out
    }

    /// The rule applied to the whole graph.
    pub fn partition(&self) -> Vec<BitSet> {
        self.partition_of(&BitSet::full(self.len()))
    }
}

/// The rule on named nodes: `hears(a, b)` says whether `a` hears `b`. Returns the
/// memberships, each sorted, ordered by their first name. Used by tests and by the
/// simulator to state the expected outcome.
pub fn partition_names<T: Ord + Clone>(
    nodes: &BTreeSet<T>,
    hears: impl Fn(&T, &T) -> bool,
) -> Vec<Vec<T>> {
    let v: Vec<&T> = nodes.iter().collect();
    let g = Graph::mutual(v.len(), |a, b| hears(v[a], v[b]));
    let mut out: Vec<Vec<T>> = g
        .partition()
        .into_iter()
        .map(|set| set.iter().map(|i| v[i].clone()).collect())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete_minus(n: usize, missing: &[(usize, usize)]) -> Graph {
        let mut g = Graph::new(n);
        for u in 0..n {
            for v in (u + 1)..n {
                if !missing.contains(&(u, v)) && !missing.contains(&(v, u)) {
                    g.add_edge(u, v);
                }
            }
        }
        g
    }

    fn sets(p: Vec<BitSet>) -> Vec<Vec<usize>> {
        let mut v: Vec<Vec<usize>> = p.into_iter().map(|s| s.iter().collect()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_complete_graph_is_one_membership() {
        assert_eq!(
            sets(complete_minus(5, &[]).partition()),
            vec![vec![0, 1, 2, 3, 4]]
        );
    }

    #[test]
    fn one_missing_edge_drops_the_later_name() {
        assert_eq!(
            sets(complete_minus(3, &[(0, 1)]).partition()),
            vec![vec![0, 2], vec![1]]
        );
    }

    #[test]
    fn every_result_is_a_maximal_clique_partition() {
        // A few fixed pseudo-random graphs; the property test below does more.
        for seed in 0..50u64 {
            let n = 12;
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut g = Graph::new(n);
            for u in 0..n {
                for v in (u + 1)..n {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 3 != 0 {
                        g.add_edge(u, v);
                    }
                }
            }
            check_partition(&g);
        }
    }

    pub(crate) fn check_partition(g: &Graph) {
        let p = g.partition();
        let mut all = BitSet::default();
        for c in &p {
            assert!(g.is_clique(c), "not a clique: {c:?}");
            assert_eq!(all.intersection_len(c), 0, "overlap");
            for u in c.iter() {
                all.insert(u);
            }
            // Maximal within its connected component of the remaining nodes at the time:
            // no vertex outside the clique is adjacent to all of it unless it was taken
            // by an earlier clique.
        }
        assert_eq!(all, BitSet::full(g.len()));
        // Maximality against later cliques: a vertex of a later clique cannot be adjacent
        // to every vertex of an earlier one.
        for (i, c) in p.iter().enumerate() {
            for later in &p[i + 1..] {
                for u in later.iter() {
                    assert!(!c.is_subset(&g.adj[u]), "{u} could have joined {c:?}");
                }
            }
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn partitions_are_clique_covers_and_maximal(n in 1usize..20, edges in proptest::collection::vec(any::<bool>(), 190)) {
                let mut g = Graph::new(n);
                let mut k = 0;
                for u in 0..n {
                    for v in (u + 1)..n {
                        if edges[k] { g.add_edge(u, v); }
                        k += 1;
                    }
                }
                check_partition(&g);
            }
        }
    }

    #[test]
    fn bitset_operations() {
        let mut s = BitSet::with_capacity(10);
        s.insert(3);
        s.insert(70);
        assert!(s.contains(70) && s.contains(3) && !s.contains(4));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 70]);
        assert_eq!(s.len(), 2);
        s.remove(3);
        assert_eq!(s.first(), Some(70));
        let t: BitSet = [70, 71].into_iter().collect();
        assert!(s.is_subset(&t));
        assert!(!t.is_subset(&s));
        assert_eq!(t.difference(&s).iter().collect::<Vec<_>>(), vec![71]);
    }
}
