//! Recurring operations (monitors).

use crate::nvsets::Refs;
use crate::sched::*;

impl<'a> Scheduler<'a> {
    /// `pcmk__create_recurring_actions`.
    pub fn create_recurring_actions(&mut self, _refs: &Refs<'a>, _r: RscId) {}
}
