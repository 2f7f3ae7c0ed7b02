//! Entry points for the cargo-fuzz targets (`crates/halo-config/fuzz`) and for the test
//! that replays their corpus on stable Rust (`tests/fuzz_corpus.rs`). Each runs a parser
//! on arbitrary bytes and panics if an invariant breaks; a parser that panics by itself
//! is caught the same way.

use std::path::Path;

use halo_types::NodeName;

use crate::{AuthKeys, HaCf, HaResources, Secret};

fn check_messages<T>(file: &str, r: &Result<crate::Parsed<T>, crate::ConfigErrors>) {
    match r {
        Ok(p) => {
            for n in &p.notices {
                assert!(
                    n.to_string().starts_with(file),
                    "notice without its file: {n}"
                );
            }
        }
        Err(e) => {
            for err in e.errors() {
                let s = err.to_string();
                assert!(s.starts_with(file), "error without its file: {s}");
                assert!(!s.contains('\n'), "an error is one line: {s:?}");
            }
        }
    }
}

/// ha.cf: never panics; what parses satisfies heartbeat's cross-checks.
pub fn ha_cf(data: &[u8]) {
    let r = HaCf::parse(Path::new("ha.cf"), data);
    check_messages("ha.cf", &r);
    if let Ok(p) = r {
        let cf = p.value;
        let t = cf.timing;
        assert!(!cf.media.is_empty() && !cf.nodes.is_empty());
        assert!(!t.keepalive.is_zero());
        assert!(t.deadtime > t.keepalive * 2, "{t:?}");
        assert!(t.initdead >= t.deadtime, "{t:?}");
        for n in &cf.nodes {
            assert!(cf.local_node(n.value.as_str()).is_ok());
        }
        let _ = format!("{cf:?}");
    }
}

/// authkeys: never panics; the signing key is listed; `Debug` does not depend on the
/// secrets (so it cannot show them).
pub fn authkeys(data: &[u8]) {
    let r = AuthKeys::parse(Path::new("authkeys"), data);
    check_messages("authkeys", &r);
    if let Ok(p) = r {
        let keys = p.value;
        let signing = keys.signing_key();
        assert!(keys.key(signing.index).is_some());
        assert_eq!(signing.secret.is_some(), signing.method.needs_key());
        let mut blanked = keys.clone();
        for k in blanked.keys_mut() {
            if let Some(s) = &mut k.secret {
                *s = Secret::new(vec![0; s.len()]);
            }
        }
        assert_eq!(format!("{keys:?}"), format!("{blanked:?}"));
    }
}

/// haresources: never panics; groups are non-empty, keys unique, nodes configured.
pub fn haresources(data: &[u8]) {
    let nodes: Vec<NodeName> = ["node1", "node2", "a", "b"]
        .iter()
        .filter_map(|n| NodeName::new(n).ok())
        .collect();
    let r = HaResources::parse(Path::new("haresources"), data, &nodes);
    check_messages("haresources", &r);
    if let Ok(p) = r {
        let groups = &p.value.groups;
        for (i, g) in groups.iter().enumerate() {
            assert!(!g.resources.is_empty());
            assert!(nodes.contains(&g.node));
            let key = g.resources[0].canonical();
            assert!(
                groups[..i]
                    .iter()
                    .all(|e| e.resources[0].canonical() != key)
            );
            for r in &g.resources {
                assert!(!r.script.is_empty() && !r.script.contains('/'));
                assert!(r.args.iter().all(|a| !a.is_empty()));
            }
        }
    }
}
