//! A seed is a run: the same seed gives the same run, event for event.

use halo_sim::scenario;

#[test]
fn the_same_seed_replays_exactly() {
    for (nodes, seed) in [(3, 7), (5, 1234), (16, 99)] {
        let a = scenario::run(nodes, seed, false).unwrap_or_else(|f| panic!("{f}"));
        let b = scenario::run(nodes, seed, false).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(
            (
                a.events,
                a.delivered,
                a.installs,
                a.converged_after,
                a.protocol_time,
                a.faults
            ),
            (
                b.events,
                b.delivered,
                b.installs,
                b.converged_after,
                b.protocol_time,
                b.faults
            ),
            "{nodes} nodes, seed {seed}"
        );
        assert!(a.events > 100, "the run did something");
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let a = scenario::run(5, 1, false).unwrap_or_else(|f| panic!("{f}"));
    let b = scenario::run(5, 2, false).unwrap_or_else(|f| panic!("{f}"));
    assert_ne!((a.events, a.delivered), (b.events, b.delivered));
}
