//! Every configuration we were given as an example must parse, with what it says.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use halo_config::{AuthKeys, HaCf, HaResources, MediumKind, Severity, load_dir};
use halo_types::AuthMethod;

fn fixture(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Parses the three files of `dir` (without the permission check: git does not keep
/// modes), failing with every message if one does not parse.
fn parse_dir(dir: &Path) -> (HaCf, AuthKeys, HaResources) {
    let ha = HaCf::read(&dir.join("ha.cf")).unwrap_or_else(|e| panic!("{e}"));
    let keys = fs::read(dir.join("authkeys")).unwrap();
    let ak = AuthKeys::parse(&dir.join("authkeys"), &keys).unwrap_or_else(|e| panic!("{e}"));
    let hr = HaResources::read(&dir.join("haresources"), &ha.value.node_names())
        .unwrap_or_else(|e| panic!("{e}"));
    (ha.value, ak.value, hr.value)
}

#[test]
fn heartbeat_anchor_configs_parse() {
    let expected = [
        ("config-tutorial", 200, 500, 1000),
        ("config-fast", 100, 300, 500),
        ("config-fastest", 50, 150, 250),
        ("config-extreme", 20, 60, 100),
    ];
    for (name, keepalive, warntime, deadtime) in expected {
        let (ha, ak, hr) = parse_dir(&fixture(&format!("anchors/{name}")));
        let t = ha.timing;
        assert_eq!(
            (t.keepalive, t.warntime, t.deadtime, t.initdead),
            (ms(keepalive), ms(warntime), ms(deadtime), ms(2000)),
            "{name}"
        );
        assert_eq!(
            ha.node_names()
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>(),
            ["node1", "node2"]
        );
        assert_eq!(ha.link_names(), ["eth0"]);
        assert_eq!(ha.media.len(), 2);
        assert!(
            ha.media
                .iter()
                .all(|m| matches!(m.kind, MediumKind::Ucast { port: 694, .. }))
        );
        assert_eq!(
            ha.logging.logfile.as_deref(),
            Some(Path::new("/var/log/ha-log"))
        );
        assert_eq!(ak.signing_key().method, AuthMethod::Sha1);
        assert_eq!(hr.groups.len(), 1);
        assert_eq!(hr.groups[0].key(), "IPaddr::10.213.0.100/24/eth0");
        assert_eq!(hr.groups[0].resources[0].args, ["10.213.0.100/24/eth0"]);
    }
}

#[test]
fn seed_tutorial_parses() {
    let dir = fixture("seeds/001-tutorial");
    let (ha, ak, hr) = parse_dir(&dir);
    let t = ha.timing;
    assert_eq!(
        (t.keepalive, t.warntime, t.deadtime, t.initdead),
        (ms(200), ms(500), ms(1000), ms(30_000))
    );
    let kinds: Vec<&MediumKind> = ha.media.iter().map(|m| &m.kind).collect();
    assert!(matches!(kinds[0], MediumKind::Serial { baud: 19200, .. }));
    assert!(matches!(
        kinds[1],
        MediumKind::Mcast {
            ttl: 1,
            loopback: false,
            port: 694,
            ..
        }
    ));
    assert!(matches!(kinds[2], MediumKind::Bcast { .. }));
    assert_eq!(ha.ping_nodes.len(), 1);
    assert_eq!(ha.later.stonith_host.len(), 2);
    assert_eq!(ha.later.respawn.len(), 1);
    assert_eq!(ak.signing_key().method, AuthMethod::Sha1);
    let groups: Vec<(&str, Vec<&str>)> = hr
        .groups
        .iter()
        .map(|g| {
            (
                g.node.as_str(),
                g.resources.iter().map(|r| r.script.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("node1", vec!["IPaddr", "datadisk", "Filesystem", "apache"]),
            ("node2", vec!["IPaddr", "datadisk", "Filesystem", "mysql"]),
        ]
    );
    // The slide's quirks are reported, not silently accepted.
    let r = HaResources::read(&dir.join("haresources"), &ha.node_names()).unwrap();
    assert_eq!(r.notices.len(), 3, "{:#?}", r.notices);
}

#[test]
fn seed_apache_parses() {
    let dir = fixture("seeds/002-apache");
    let (ha, ak, hr) = parse_dir(&dir);
    assert_eq!(ha.timing.deadtime, ms(10_000));
    assert_eq!(ha.timing.keepalive, ms(1000));
    assert_eq!(ha.link_names(), ["/dev/ttyS3", "eth1"]);
    assert_eq!(ak.signing_key().method, AuthMethod::Crc);
    assert_eq!(hr.groups[0].key(), "httpd");
    let p = AuthKeys::parse(
        &dir.join("authkeys"),
        &fs::read(dir.join("authkeys")).unwrap(),
    )
    .unwrap();
    assert_eq!(p.notices[0].severity, Severity::Critical);
}

/// `load_dir` on a copy with the modes a real installation has.
#[test]
fn load_dir_accepts_every_fixture_with_mode_0600() {
    for dir in [
        "anchors/config-tutorial",
        "anchors/config-extreme",
        "seeds/001-tutorial",
        "seeds/002-apache",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        for f in ["ha.cf", "authkeys", "haresources"] {
            fs::copy(fixture(dir).join(f), tmp.path().join(f)).unwrap();
        }
        let keys = tmp.path().join("authkeys");
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o600)).unwrap();
        let uid = fs::metadata(&keys).unwrap().uid();
        let ha = HaCf::read(&tmp.path().join("ha.cf")).unwrap().value;
        let local = ha.nodes[0].value.to_string();
        let cfg = load_dir(tmp.path(), &local, uid).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(cfg.local_node.as_str(), local);
        assert!(cfg.haresources.is_some());
        // Notices of all three files are gathered.
        assert!(!cfg.notices.is_empty());

        // And the same directory with authkeys readable by others is refused.
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_dir(tmp.path(), &local, uid).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}

#[test]
fn load_dir_reports_errors_of_both_files_and_an_unlisted_node() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("ha.cf"),
        "node a\nbcast eth0\nkeepalive 2\ndeadtime 3\n",
    )
    .unwrap();
    fs::write(tmp.path().join("authkeys"), "auth 1\n1 sha1\n").unwrap();
    let keys = tmp.path().join("authkeys");
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o600)).unwrap();
    let uid = fs::metadata(&keys).unwrap().uid();
    let e = load_dir(tmp.path(), "a", uid).unwrap_err();
    let msgs: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    let d = tmp.path().display();
    assert_eq!(
        msgs,
        [
            format!("{d}/ha.cf:4: deadtime: 3s must be more than twice keepalive (2s)"),
            format!("{d}/authkeys:2: key 1: sha1 needs a key: \"INDEX sha1 SECRET\""),
        ]
    );
    fs::write(tmp.path().join("ha.cf"), "node a\nbcast eth0\n").unwrap();
    fs::write(
        tmp.path().join("authkeys"),
        "auth 1\n1 sha256 0123456789abcdef0123\n",
    )
    .unwrap();
    let e = load_dir(tmp.path(), "other", uid).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{d}/ha.cf: node: this node's name is \"other\", but no node line lists it (listed: a); add \"node other\" to ha.cf, or start halod with --node NAME"
        )
    );
    // haresources is optional.
    assert!(
        load_dir(tmp.path(), "a", uid)
            .unwrap()
            .haresources
            .is_none()
    );
    fs::write(tmp.path().join("haresources"), "b httpd\n").unwrap();
    let e = load_dir(tmp.path(), "a", uid).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{d}/haresources:1: node: node \"b\" is not listed"
        )),
        "{e}"
    );
}
