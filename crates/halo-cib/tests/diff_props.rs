//! Property: applying `diff(a, b)` to `a` gives `b`, for random pairs of CIBs
//! whose ids overlap (so that modifications, moves, creations and deletions all
//! occur), and the diff survives its text form.

use halo_cib::model::*;
use halo_cib::{CibDiff, Version};
use proptest::prelude::*;

fn nvset(prefix: String, pairs: Vec<(u8, u8)>) -> NvSet {
    NvSet::new(
        &prefix,
        pairs
            .into_iter()
            .enumerate()
            .map(|(i, (n, v))| {
                NvPair::new(&format!("{prefix}-{i}"), &format!("k{n}"), &format!("v{v}"))
            })
            .collect(),
    )
}

fn primitive() -> impl Strategy<Value = Primitive> {
    (
        0u8..6,
        0u8..3,
        proptest::collection::vec((0u8..4, 0u8..4), 0..3),
    )
        .prop_map(|(id, agent, pairs)| {
            let mut p = Primitive::new(
                &format!("r{id}"),
                "ocf",
                Some("heartbeat"),
                ["Dummy", "IPaddr2", "apache"][agent as usize],
            );
            if !pairs.is_empty() {
                p.instance = vec![nvset(format!("r{id}-ia"), pairs)];
            }
            p
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        primitive().prop_map(Resource::Primitive),
        (0u8..3, proptest::collection::vec(primitive(), 1..3)).prop_map(|(g, members)| {
            Resource::Group(Group {
                id: format!("g{g}"),
                members,
                ..Group::default()
            })
        }),
    ]
}

fn node_state() -> impl Strategy<Value = NodeState> {
    (
        0u8..4,
        any::<bool>(),
        proptest::collection::vec((0u8..6, 0i64..20, 0i32..8), 0..4),
    )
        .prop_map(|(n, up, ops)| NodeState {
            id: format!("{n}"),
            uname: Some(format!("node{n}")),
            in_ccm: Some(up.to_string()),
            crmd: Some(if up { "online" } else { "offline" }.into()),
            join: Some("member".into()),
            expected: Some("member".into()),
            lrm: Some(Lrm {
                id: Some(format!("{n}")),
                resources: Some(LrmResources {
                    id: None,
                    list: ops
                        .into_iter()
                        .map(|(r, call, rc)| LrmResource {
                            id: format!("r{r}"),
                            class: Some("ocf".into()),
                            provider: Some("heartbeat".into()),
                            agent: Some("Dummy".into()),
                            ops: vec![LrmRscOp {
                                id: format!("r{r}_last_0"),
                                operation: "start".into(),
                                call_id: call,
                                rc_code: rc,
                                ..LrmRscOp::default()
                            }],
                            ..LrmResource::default()
                        })
                        .collect(),
                }),
            }),
            ..NodeState::default()
        })
}

fn cib() -> impl Strategy<Value = Cib> {
    (
        0u64..5,
        proptest::collection::vec(0u8..5, 0..5),
        proptest::collection::vec(resource(), 0..5),
        proptest::collection::vec((0u8..5, 0u8..6, -3i32..3), 0..4),
        proptest::collection::vec(node_state(), 0..4),
    )
        .prop_map(|(epoch, nodes, resources, locs, status)| {
            let mut c = Cib {
                version: Version::new(0, epoch, 0),
                ..Cib::default()
            };
            c.configuration.nodes = nodes
                .iter()
                .map(|n| Node::new(&format!("{n}"), &format!("node{n}")))
                .collect();
            c.configuration.resources = resources;
            c.configuration.constraints = locs
                .into_iter()
                .map(|(i, r, s)| {
                    Constraint::Location(Location {
                        id: format!("loc{i}"),
                        rsc: Some(format!("r{r}")),
                        node: Some("node1".into()),
                        score: Some(Score(s * 100)),
                        ..Location::default()
                    })
                })
                .collect();
            c.status = status;
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn apply_of_diff_gives_target(a in cib(), b in cib()) {
        let d = a.diff(&b);
        prop_assert_eq!(a.apply_diff(&d).expect("apply"), b.clone());
        let text = d.to_element().to_xml();
        let back = CibDiff::from_element(&halo_cib::xml::parse(&text).expect("parse")).expect("read");
        prop_assert_eq!(a.apply_diff(&back).expect("apply text form"), b);
    }

    #[test]
    fn diff_with_itself_is_empty(a in cib()) {
        prop_assert!(a.diff(&a).is_empty());
    }
}
