use std::fs;
use std::os::unix::fs::PermissionsExt;

use proptest::prelude::*;

use super::*;
use crate::{AuthKeys, HaCf, MediumKind};

const KEY: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0xff,
];
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0ff0e1d2c3b4a5968778695a4b3c2d1eff";

fn nodes(names: &[&str]) -> Vec<NodeName> {
    names.iter().map(|n| NodeName::new(n).unwrap()).collect()
}

fn opts() -> InitOptions {
    InitOptions {
        cluster: ClusterName::new("lab").unwrap(),
        nodes: nodes(&["a", "b", "c"]),
        media: vec![
            InitMedium::Bcast {
                iface: "eth0".into(),
            },
            InitMedium::Ucast {
                iface: "eth1".into(),
                peers: vec!["10.0.0.1".parse().unwrap(), "fd00::2".parse().unwrap()],
            },
            InitMedium::Mcast {
                iface: "eth2".into(),
                group: Ipv4Addr::new(239, 0, 0, 1),
                port: 5405,
                ttl: 1,
            },
        ],
        timing: TimingPreset::Fast,
        udpport: Some(7000),
    }
}

fn parse_both(r: &RenderedConfig) -> (HaCf, AuthKeys, usize) {
    let ha = HaCf::parse(Path::new("ha.cf"), r.ha_cf.as_bytes())
        .unwrap_or_else(|e| panic!("rendered ha.cf does not parse:\n{e}\n{}", r.ha_cf));
    let ak = AuthKeys::parse(Path::new("authkeys"), r.authkeys().as_bytes())
        .unwrap_or_else(|e| panic!("rendered authkeys does not parse:\n{e}"));
    (ha.value, ak.value, ha.notices.len() + ak.notices.len())
}

#[test]
fn rendered_files_parse_back_to_what_was_asked() {
    let r = render(&opts(), &KEY).unwrap();
    let (ha, ak, notices) = parse_both(&r);
    assert_eq!(notices, 0, "{}", r.ha_cf);
    assert_eq!(ha.cluster.as_str(), "lab");
    assert_eq!(ha.node_names(), nodes(&["a", "b", "c"]));
    assert_eq!(ha.timing, TimingPreset::Fast.timing());
    let kinds: Vec<MediumKind> = ha.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            MediumKind::Bcast {
                iface: "eth0".into(),
                port: 7000
            },
            MediumKind::Ucast {
                iface: "eth1".into(),
                peer: Ipv4Addr::new(10, 0, 0, 1),
                port: 7000
            },
            MediumKind::Ucast6 {
                iface: "eth1".into(),
                peer: "fd00::2".parse().unwrap(),
                scope: None,
                port: 7000
            },
            MediumKind::Mcast {
                iface: "eth2".into(),
                group: Ipv4Addr::new(239, 0, 0, 1),
                port: 5405,
                ttl: 1,
                loopback: false
            },
        ]
    );
    let k = ak.signing_key();
    assert_eq!((k.index, k.method), (1, halo_types::AuthMethod::Sha256));
    assert_eq!(
        k.secret.as_ref().map(|s| s.expose().to_vec()),
        Some(KEY_HEX.as_bytes().to_vec())
    );
}

#[test]
fn every_preset_renders_and_parses_without_notices() {
    for preset in TimingPreset::ALL {
        let mut o = opts();
        o.timing = preset;
        o.udpport = None;
        let r = render(&o, &KEY).unwrap();
        let (ha, _, notices) = parse_both(&r);
        assert_eq!(ha.timing, preset.timing(), "{preset}");
        assert_eq!(ha.udpport, DEFAULT_UDPPORT);
        assert_eq!(notices, 0, "{preset}:\n{}", r.ha_cf);
        assert_eq!(preset.name().parse::<TimingPreset>().unwrap(), preset);
    }
    assert_eq!(
        "quick".parse::<TimingPreset>().unwrap_err().to_string(),
        "unknown timing preset \"quick\"; expected standard, fast, fastest or heartbeat"
    );
}

#[test]
fn times_are_written_so_that_heartbeat_reads_them_too() {
    let r = render(&opts(), &KEY).unwrap();
    assert!(r.ha_cf.contains("\nkeepalive 100ms\n"), "{}", r.ha_cf);
    assert!(r.ha_cf.contains("\ninitdead 12\n"), "{}", r.ha_cf);
}

#[test]
fn debug_does_not_show_the_key() {
    let r = render(&opts(), &KEY).unwrap();
    let dbg = format!("{r:?}");
    assert!(!dbg.contains(KEY_HEX));
    assert!(dbg.contains("<redacted>"));
}

#[test]
fn render_refuses_what_would_not_work() {
    type Change = Box<dyn Fn(&mut InitOptions)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|o| o.nodes.clear()),
            "no node given: list every cluster node (--nodes a,b,c)",
        ),
        (
            Box::new(|o| o.nodes = nodes(&["a", "A"])),
            "node a is listed twice",
        ),
        (
            Box::new(|o| o.media.clear()),
            "no heartbeat medium given: use --bcast IFACE, --ucast IFACE PEER… or --mcast …",
        ),
        (
            Box::new(|o| {
                o.media = vec![InitMedium::Ucast {
                    iface: "eth0".into(),
                    peers: vec![],
                }]
            }),
            "--ucast eth0 needs at least one peer address",
        ),
        (
            Box::new(|o| {
                o.media = vec![InitMedium::Bcast {
                    iface: "not/an/iface".into(),
                }]
            }),
            "\"not/an/iface\" is not a network interface name (at most 15 characters, no '/')",
        ),
        (
            Box::new(|o| {
                o.media = vec![InitMedium::Mcast {
                    iface: "eth0".into(),
                    group: Ipv4Addr::new(10, 0, 0, 1),
                    port: 1,
                    ttl: 1,
                }]
            }),
            "10.0.0.1 is not a multicast (class D) group address",
        ),
        (
            Box::new(|o| o.udpport = Some(0)),
            "port 0 is not a UDP port",
        ),
    ];
    for (change, msg) in cases {
        let mut o = opts();
        change(&mut o);
        assert_eq!(render(&o, &KEY).unwrap_err().to_string(), msg);
    }
    assert_eq!(
        render(&opts(), &KEY[..15]).unwrap_err().to_string(),
        "the key has 15 bytes; at least 16 random bytes are needed"
    );
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn write_creates_the_directory_with_safe_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ha.d");
    let r = render(&opts(), &KEY).unwrap();
    let written = write(&dir, &r, false).unwrap();
    assert_eq!(written, [dir.join("ha.cf"), dir.join("authkeys")]);
    assert_eq!(mode(&dir.join("authkeys")), 0o600);
    assert_eq!(mode(&dir.join("ha.cf")), 0o644);
    assert_eq!(fs::read_to_string(dir.join("ha.cf")).unwrap(), r.ha_cf);
    assert_eq!(
        fs::read_to_string(dir.join("authkeys")).unwrap(),
        r.authkeys()
    );
    // No temporary files left behind.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["authkeys", "ha.cf"]);
    // And the daemon's loader accepts the result.
    let uid = std::os::unix::fs::MetadataExt::uid(&fs::metadata(dir.join("authkeys")).unwrap());
    let cfg = crate::load_dir(&dir, "b", uid).unwrap();
    assert_eq!(cfg.local_node.as_str(), "b");
}

#[test]
fn write_refuses_to_overwrite_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("authkeys"), "old").unwrap();
    fs::set_permissions(dir.join("authkeys"), fs::Permissions::from_mode(0o644)).unwrap();
    let r = render(&opts(), &KEY).unwrap();
    let e = write(dir, &r, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} already exists; nothing was written (use --force to overwrite)",
            dir.join("authkeys").display()
        )
    );
    assert!(
        !dir.join("ha.cf").exists(),
        "nothing may be written when refusing"
    );
    assert_eq!(fs::read_to_string(dir.join("authkeys")).unwrap(), "old");

    fs::write(dir.join("ha.cf"), "old").unwrap();
    let e = write(dir, &r, false).unwrap_err().to_string();
    assert!(e.contains(" and "), "{e}");
    assert!(e.contains("already exist;"), "{e}");

    write(dir, &r, true).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("authkeys")).unwrap(),
        r.authkeys()
    );
    // The old file was group/other readable; the new one is not.
    assert_eq!(mode(&dir.join("authkeys")), 0o600);
}

#[test]
fn write_replaces_a_stale_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(".authkeys.halo-init"), "stale").unwrap();
    let r = render(&opts(), &KEY).unwrap();
    write(tmp.path(), &r, false).unwrap();
    assert!(!tmp.path().join(".authkeys.halo-init").exists());
    assert_eq!(mode(&tmp.path().join("authkeys")), 0o600);
}

fn arb_options() -> impl Strategy<Value = InitOptions> {
    let node = "[a-z][a-z0-9-]{0,10}";
    let iface = "[a-z][a-z0-9]{0,6}";
    let medium = prop_oneof![
        iface.prop_map(|iface| InitMedium::Bcast { iface }),
        (iface, prop::collection::vec(any::<IpAddr>(), 1..4))
            .prop_map(|(iface, peers)| InitMedium::Ucast { iface, peers }),
        (iface, 224u8..240, any::<[u8; 3]>(), 1u16.., any::<u8>()).prop_map(
            |(iface, first, rest, port, ttl)| InitMedium::Mcast {
                iface,
                group: Ipv4Addr::new(first, rest[0], rest[1], rest[2]),
                port,
                ttl
            }
        ),
    ];
    (
        prop::collection::btree_set(node, 1..6),
        prop::collection::vec(medium, 1..4),
        prop::sample::select(TimingPreset::ALL.to_vec()),
        prop::option::of(1u16..),
    )
        .prop_map(|(names, media, timing, udpport)| InitOptions {
            cluster: ClusterName::default(),
            nodes: names.iter().map(|n| NodeName::new(n).unwrap()).collect(),
            media,
            timing,
            udpport,
        })
}

proptest! {
    #[test]
    fn any_valid_options_render_to_files_that_parse(o in arb_options(), key in prop::collection::vec(any::<u8>(), 16..64)) {
        let r = render(&o, &key).unwrap();
        let ha = HaCf::parse(Path::new("ha.cf"), r.ha_cf.as_bytes());
        prop_assert!(ha.is_ok(), "{}\n{}", ha.err().map(|e| e.to_string()).unwrap_or_default(), r.ha_cf);
        let ha = ha.unwrap().value;
        prop_assert_eq!(ha.node_names(), o.nodes.clone());
        prop_assert_eq!(ha.timing, o.timing.timing());
        let ak = AuthKeys::parse(Path::new("authkeys"), r.authkeys().as_bytes());
        prop_assert!(ak.is_ok());
    }
}
