use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn bare_address() {
    let s = VipSpec::parse_shorthand("10.0.0.9").unwrap();
    assert_eq!(s, VipSpec::new(ip("10.0.0.9")));
}

#[test]
fn mask_nic_broadcast() {
    let s = VipSpec::parse_shorthand("10.0.0.9/24/eth0/10.0.0.127").unwrap();
    assert_eq!(s.prefix_len, Some(24));
    assert_eq!(s.nic.as_deref(), Some("eth0"));
    assert_eq!(
        s.broadcast,
        Some(Broadcast::Address("10.0.0.127".parse().unwrap()))
    );
    assert_eq!(s.label, None);
}

#[test]
fn third_field_starting_with_a_digit_is_the_broadcast() {
    let s = VipSpec::parse_shorthand("10.0.0.9/24/10.0.0.255").unwrap();
    assert_eq!(s.nic, None);
    assert_eq!(
        s.broadcast,
        Some(Broadcast::Address("10.0.0.255".parse().unwrap()))
    );
    // and then there may be no fourth
    assert!(VipSpec::parse_shorthand("10.0.0.9/24/10.0.0.255/eth0").is_err());
}

#[test]
fn dotted_netmask_and_label_in_nic() {
    let s = VipSpec::parse_shorthand("192.168.1.5/255.255.254.0/eth1:www").unwrap();
    assert_eq!(s.prefix_len, Some(23));
    assert_eq!(s.nic.as_deref(), Some("eth1"));
    assert_eq!(s.label.as_deref(), Some("www"));
}

#[test]
fn empty_fields_are_not_given() {
    let s = VipSpec::parse_shorthand("10.0.0.9//eth0").unwrap();
    assert_eq!((s.prefix_len, s.nic.as_deref()), (None, Some("eth0")));
}

#[test]
fn ipv6_shorthand() {
    let s = VipSpec::parse_shorthand("fd00::1:5/64/eth0").unwrap();
    assert_eq!((s.addr, s.prefix_len), (ip("fd00::1:5"), Some(64)));
    assert!(VipSpec::parse_shorthand("fd00::1:5/255.255.255.0").is_err());
    assert!(VipSpec::parse_shorthand("fd00::1:5/64/eth0/10.0.0.255").is_err());
    // link-local needs its interface
    assert!(VipSpec::parse_shorthand("fe80::5/64").is_err());
    assert!(VipSpec::parse_shorthand("fe80::5/64/eth0").is_ok());
}

#[test]
fn bad_shorthands_name_their_field() {
    for (s, field) in [
        ("10.0.0.256", "ip"),
        ("10.0.0.9/33", "netmask"),
        ("10.0.0.9/0", "netmask"),
        ("10.0.0.9/255.0.255.0", "netmask"),
        ("10.0.0.9/24/eth0/notanip", "broadcast"),
        ("10.0.0.9/24/eth0:", "label"),
        ("10.0.0.9/24/averyverylongname", "nic"),
        ("10.0.0.9/24/eth0:labeltoolong", "label"),
        ("224.0.0.1", "ip"),
        ("0.1.2.3", "ip"),
    ] {
        match VipSpec::parse_shorthand(s) {
            Err(SpecError::Field { field: f, .. }) => assert_eq!(f, field, "{s}"),
            other => panic!("{s}: {other:?}"),
        }
    }
    assert!(VipSpec::parse_shorthand("10.0.0.9/24/eth0/+/x").is_err());
}

#[test]
fn from_a_haresources_line() {
    let file = std::path::Path::new("/etc/ha.d/haresources");
    let text = b"node1 10.0.0.9/24/eth0 IPaddr2::10.0.0.10/25 httpd\nnode2 IPaddr::10.0.0.11/24/eth0/x/y\n";
    let nodes = ["node1".parse().unwrap(), "node2".parse().unwrap()];
    let parsed = halo_config::haresources::HaResources::parse(file, text, &nodes).unwrap();
    let g = &parsed.value.groups;
    let bare = VipSpec::from_haresource(&g[0].resources[0])
        .unwrap()
        .unwrap();
    assert_eq!(
        (bare.prefix_len, bare.nic.as_deref()),
        (Some(24), Some("eth0"))
    );
    let two = VipSpec::from_haresource(&g[0].resources[1])
        .unwrap()
        .unwrap();
    assert_eq!(two.prefix_len, Some(25));
    assert!(VipSpec::from_haresource(&g[0].resources[2]).is_none());
    match VipSpec::from_haresource(&g[1].resources[0]).unwrap() {
        Err(SpecError::AtLine { line, .. }) => assert_eq!(line, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn params_like_ipaddr2() {
    let s = VipSpec::from_params(
        Some("10.0.0.9"),
        Some("255.255.255.0"),
        Some("eth0"),
        Some("vip"),
        Some("-"),
    )
    .unwrap();
    assert_eq!(s.prefix_len, Some(24));
    assert_eq!(s.label.as_deref(), Some("vip"));
    assert_eq!(s.broadcast, Some(Broadcast::HostBitsClear));
    // the full label form is accepted when it names the nic
    let s =
        VipSpec::from_params(Some("10.0.0.9"), None, Some("eth0"), Some("eth0:vip"), None).unwrap();
    assert_eq!(s.label.as_deref(), Some("vip"));
    assert!(
        VipSpec::from_params(Some("10.0.0.9"), None, Some("eth0"), Some("eth1:vip"), None).is_err()
    );
    assert!(matches!(
        VipSpec::from_params(Some(" "), None, None, None, None),
        Err(SpecError::Missing { field: "ip" })
    ));
    assert!(VipSpec::from_params(Some("fd00::9"), None, None, Some("vip"), None).is_err());
    assert!(VipSpec::from_params(Some("fd00::9"), None, None, None, Some("+")).is_err());
}

#[test]
fn announce_params() {
    assert_eq!(
        AnnounceConfig::from_params(None, Some("")).unwrap(),
        AnnounceConfig::default()
    );
    let c = AnnounceConfig::from_params(Some("3"), Some("50")).unwrap();
    assert_eq!((c.count, c.interval), (3, Duration::from_millis(50)));
    assert!(AnnounceConfig::from_params(Some("-1"), None).is_err());
    assert!(AnnounceConfig::from_params(None, Some("0")).is_err());
    assert!(AnnounceConfig::from_params(None, Some("2s")).is_err());
}

#[test]
fn netmasks() {
    let v4 = ip("10.0.0.1");
    assert_eq!(parse_netmask(v4, "m", "255.255.255.255").unwrap(), 32);
    assert_eq!(parse_netmask(v4, "m", "128.0.0.0").unwrap(), 1);
    assert_eq!(parse_netmask(v4, "m", "8").unwrap(), 8);
    assert!(parse_netmask(v4, "m", "0.0.0.0").is_err());
    assert!(parse_netmask(v4, "m", "+8").is_err());
    assert_eq!(parse_netmask(ip("fd00::1"), "m", "128").unwrap(), 128);
    assert!(parse_netmask(ip("fd00::1"), "m", "129").is_err());
}

#[test]
fn containment() {
    assert!(prefix_contains(ip("10.0.0.0"), 8, ip("10.255.1.1")));
    assert!(!prefix_contains(ip("10.0.0.0"), 9, ip("10.255.1.1")));
    assert!(prefix_contains(ip("0.0.0.0"), 0, ip("1.2.3.4")));
    assert!(prefix_contains(ip("fd00::"), 64, ip("fd00::1:2")));
    assert!(!prefix_contains(ip("fd00::"), 64, ip("fd00:0:0:1::2")));
    assert!(!prefix_contains(ip("10.0.0.0"), 8, ip("fd00::1")));
}
