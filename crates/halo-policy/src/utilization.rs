//! Utilization: node capacities and resource requirements for
//! `placement-strategy` other than `default`.

use std::cmp::Ordering;

use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// `pcmk__ban_insufficient_capacity`: bans nodes without room for `r` (and
    /// what is colocated with it); returns the node with most free capacity.
    pub fn ban_insufficient_capacity(&mut self, _r: RscId) -> Option<NodeId> {
        None
    }

    /// `pcmk__consume_node_capacity`.
    pub fn consume_capacity(&mut self, _n: NodeId, _r: RscId) {}

    /// `pcmk__release_node_capacity`.
    pub fn release_capacity(&mut self, _n: NodeId, _r: RscId) {}

    /// `pcmk__compare_node_capacities`.
    pub fn compare_capacities(&self, _a: NodeId, _b: NodeId) -> Ordering {
        Ordering::Equal
    }

    /// `pcmk__sort_resources`.
    pub fn sort_resources_for_utilization(&mut self) {}

    /// `pcmk__create_utilization_constraints`.
    pub fn create_utilization_constraints(&mut self, _r: RscId, _allowed: &[NodeId]) {}
}
