//! Properties checked after every step of every run, one per file.
//!
//! Each invariant sees the sends and installs of the step as they happen
//! ([`Invariant::on_send`], [`Invariant::on_install`]) and the world after the step
//! ([`Invariant::after_step`]). A violation stops the run and is reported with the seed.

use std::fmt;

use halo_membership::Membership;
use halo_membership::wire::Message;
use halo_types::Timestamp;

use crate::sim::Sim;

pub mod agreement;
pub mod convergence;
pub mod formation;
pub mod monotonic;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// When (simulated time).
    pub at: Timestamp,
    /// What happened.
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] at {}: {}", self.invariant, self.at, self.what)
    }
}

/// A property of every run.
pub trait Invariant {
    /// Its name, as reported.
    fn name(&self) -> &'static str;

    /// Node `node` sends `msg` (only proposals and acceptances are shown).
    fn on_send(&mut self, _sim: &Sim, _node: usize, _msg: &Message) -> Result<(), String> {
        Ok(())
    }

    /// Node `node` installs `m`.
    fn on_install(&mut self, _sim: &Sim, _node: usize, _m: &Membership) -> Result<(), String> {
        Ok(())
    }

    /// After every step.
    fn after_step(&mut self, _sim: &Sim) -> Result<(), String> {
        Ok(())
    }
}

/// Every invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(agreement::Agreement::default()),
        Box::new(monotonic::Monotonic::default()),
        Box::new(formation::Formation::default()),
        Box::new(convergence::Convergence::default()),
    ]
}

pub(crate) fn list(members: &[halo_membership::Member]) -> String {
    let v: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    //! Each invariant catches what it is meant to catch.

    use halo_membership::wire::{Body, Message};
    use halo_membership::{Member, Membership, MembershipId, QuorumConfig, QuorumTracker};
    use halo_types::Timestamp;

    use super::Invariant;
    use super::agreement::Agreement;
    use super::formation::Formation;
    use super::monotonic::Monotonic;
    use crate::sim::{Sim, SimConfig};

    /// Three nodes, started and run for a second: everyone hears everyone.
    fn world() -> Sim {
        let mut sim = Sim::new(SimConfig::lan(3, 1), Vec::new());
        for i in 0..3 {
            sim.start_at(i, Timestamp::ZERO);
        }
        sim.run_until(Timestamp::from_millis(1000)).unwrap();
        sim
    }

    fn m(sim: &Sim, i: usize) -> Member {
        sim.nodes[i].member()
    }

    fn membership(seq: u64, members: Vec<Member>) -> Membership {
        let tracker = QuorumTracker::new(QuorumConfig::default()).unwrap();
        Membership {
            id: MembershipId {
                seq,
                coordinator: members[0].clone(),
            },
            quorum: tracker.evaluate(members.iter().map(|x| &x.name)),
            members,
            formed_at: Timestamp::ZERO,
            joined: Vec::new(),
            left: Vec::new(),
        }
    }

    #[test]
    fn agreement_catches_two_lists_for_one_id_and_shared_seqs() {
        let sim = world();
        let (a, b, c) = (m(&sim, 0), m(&sim, 1), m(&sim, 2));
        let mut inv = Agreement::default();
        inv.on_install(&sim, 0, &membership(100, vec![a.clone(), b.clone()]))
            .unwrap();
        inv.on_install(&sim, 1, &membership(100, vec![a.clone(), b.clone()]))
            .unwrap();
        let err = inv
            .on_install(
                &sim,
                0,
                &membership(100, vec![a.clone(), b.clone(), c.clone()]),
            )
            .unwrap_err();
        assert!(err.contains("installed elsewhere"), "{err}");
        // Same seq, other coordinator, a shared member.
        let mut other = membership(100, vec![b.clone(), c.clone()]);
        other.id.coordinator = b.clone();
        let err = inv.on_install(&sim, 1, &other).unwrap_err();
        assert!(err.contains("same seq"), "{err}");
        // Installing something one is not a member of.
        let err = inv
            .on_install(&sim, 2, &membership(101, vec![a, b]))
            .unwrap_err();
        assert!(err.contains("without being a member"), "{err}");
    }

    #[test]
    fn monotonic_catches_a_lower_seq_and_a_late_promise() {
        let sim = world();
        let (a, b) = (m(&sim, 0), m(&sim, 1));
        let mut inv = Monotonic::default();
        inv.on_install(&sim, 0, &membership(100, vec![a.clone(), b.clone()]))
            .unwrap();
        let err = inv
            .on_install(&sim, 0, &membership(100, vec![a.clone(), b.clone()]))
            .unwrap_err();
        assert!(err.contains("after seq 100"), "{err}");
        let accept = Message {
            sender: a.clone(),
            body: Body::Accept {
                id: MembershipId {
                    seq: 99,
                    coordinator: b,
                },
            },
        };
        let err = inv.on_send(&sim, 0, &accept).unwrap_err();
        assert!(err.contains("after installing seq 100"), "{err}");
    }

    #[test]
    fn formation_catches_members_that_did_not_promise_or_did_not_hear() {
        let mut sim = world();
        let (a, b, c) = (m(&sim, 0), m(&sim, 1), m(&sim, 2));
        let proposal = membership(100, vec![a.clone(), b.clone(), c.clone()]);
        let id = proposal.id.clone();
        let mut inv = Formation::default();
        let propose = Message {
            sender: a.clone(),
            body: Body::Propose {
                id: id.clone(),
                members: proposal.members.clone(),
            },
        };
        inv.on_send(&sim, 0, &propose).unwrap();
        let accept = |who: &Member| Message {
            sender: who.clone(),
            body: Body::Accept { id: id.clone() },
        };
        inv.on_send(&sim, 1, &accept(&b)).unwrap();
        // c never accepted.
        let err = inv.on_install(&sim, 0, &proposal).unwrap_err();
        assert!(err.contains("never promised"), "{err}");
        // c accepts while its detector does not hear a.
        let mut inv2 = Formation::default();
        inv2.on_send(&sim, 0, &propose).unwrap();
        inv2.on_send(&sim, 1, &accept(&b)).unwrap();
        sim.set_link(0, 2, false);
        sim.run_until(Timestamp::from_millis(3000)).unwrap();
        assert_eq!(sim.belief(2, 0), None, "c no longer hears a");
        inv2.on_send(&sim, 2, &accept(&c)).unwrap();
        let err = inv2.on_install(&sim, 0, &proposal).unwrap_err();
        assert!(err.contains("did not hear"), "{err}");
        // All promised while hearing everyone: fine.
        let mut inv3 = Formation::default();
        let sim = world();
        inv3.on_send(&sim, 0, &propose).unwrap();
        inv3.on_send(&sim, 1, &accept(&b)).unwrap();
        inv3.on_send(&sim, 2, &accept(&c)).unwrap();
        inv3.on_install(&sim, 0, &proposal).unwrap();
    }

    #[test]
    fn convergence_reports_a_healing_phase_that_overruns_its_bound() {
        let mut sim = Sim::new(SimConfig::lan(2, 1), super::all());
        sim.start_at(0, Timestamp::ZERO);
        sim.start_at(1, Timestamp::ZERO);
        sim.run_until(Timestamp::ZERO).unwrap();
        // Nobody has heard anybody yet: 10 ms is too short for the detectors alone.
        sim.begin_healing(std::time::Duration::from_millis(10));
        let v = sim.run_until(Timestamp::from_millis(500)).unwrap_err();
        assert_eq!(v.invariant, "convergence");
        assert!(v.what.contains("no convergence"), "{v}");
        // With a sensible bound the same start converges.
        let mut sim = Sim::new(SimConfig::lan(2, 1), super::all());
        sim.start_at(0, Timestamp::ZERO);
        sim.start_at(1, Timestamp::ZERO);
        sim.run_until(Timestamp::ZERO).unwrap();
        sim.begin_healing(std::time::Duration::from_secs(5));
        sim.run_until(Timestamp::from_millis(3000)).unwrap();
        assert!(sim.healing.as_ref().unwrap().converged_at.is_some());
    }
}
