//! Helpers shared by halod's lab tests (`lab_*.rs`): the cluster harness on a lab, and
//! waits for what `halo status --json` shows.
//!
//! Every wait has a generous deadline ([`LIMIT`]) and fails with the last status seen;
//! none asserts a timing.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use halo_bench::cluster::{HaloCluster, link_state, peer_state};
use halo_ipc::Status;
use halo_lab::Lab;
use halo_types::{LinkState, NodeState};

/// The daemon under test, from this build.
pub const HALOD: &str = env!("CARGO_BIN_EXE_halod");
/// How long any condition may take to come true (seconds of slack on a busy machine).
pub const LIMIT: Duration = Duration::from_secs(30);

/// halod on `lab`'s hosts; the `halo` command must have been built next to it.
pub fn cluster(lab: &Lab) -> HaloCluster<'_> {
    let c = HaloCluster::new(lab, HALOD);
    assert!(
        c.halo_binary().exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        c.halo_binary().display()
    );
    c
}

/// `host`'s status from `halo status --json` once `pred` holds for it (panics with the
/// last status after [`LIMIT`]).
pub fn wait_status(
    c: &HaloCluster<'_>,
    host: &str,
    what: &str,
    pred: impl Fn(&Status) -> bool,
) -> Status {
    halo_bench::cluster::wait_for(&format!("{host}: {what}"), LIMIT, || {
        c.halo_status(host).ok().filter(|s| pred(s))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}; last status: {:#?}",
            c.halo_status(host).map(|s| (s.nodes, s.membership))
        )
    })
}

/// Wait until `host` sees `peer` in `state`.
pub fn wait_peer(c: &HaloCluster<'_>, host: &str, peer: &str, state: NodeState) -> Status {
    wait_status(c, host, &format!("{peer} {state}"), |s| {
        peer_state(s, peer) == Some(state)
    })
}

/// Wait until every host of `hosts` sees every one of them active.
pub fn wait_all_active(c: &HaloCluster<'_>, hosts: &[&str]) {
    for h in hosts {
        for p in hosts {
            wait_peer(c, h, p, NodeState::Active);
        }
    }
}

/// Wait until `host` sees its link to `peer` on `link` in `state`.
pub fn wait_link(c: &HaloCluster<'_>, host: &str, peer: &str, link: &str, state: LinkState) {
    wait_status(c, host, &format!("link {peer}/{link} {state}"), |s| {
        link_state(s, peer, link) == Some(state)
    });
}
