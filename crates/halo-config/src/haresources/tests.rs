use std::path::Path;

use super::*;

const FILE: &str = "/etc/ha.d/haresources";

fn nodes() -> Vec<NodeName> {
    ["node1", "node2"]
        .iter()
        .map(|n| NodeName::new(n).unwrap())
        .collect()
}

fn parse(text: &str) -> Result<Parsed<HaResources>, ConfigErrors> {
    HaResources::parse(Path::new(FILE), text.as_bytes(), &nodes())
}

fn ok(text: &str) -> Parsed<HaResources> {
    crate::testutil::ok(text, parse(text))
}

fn errors(text: &str) -> Vec<String> {
    crate::testutil::errors(text, parse(text))
}

fn res(spec: &str, script: &str, args: &[&str], ip: bool, line: u32) -> HaResource {
    HaResource {
        spec: spec.into(),
        script: script.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        ip_shorthand: ip,
        line,
    }
}

#[test]
fn groups_resources_and_arguments() {
    let p = ok("# node resources\n\
                Node1 10.0.0.10/24/eth0 Filesystem::/dev/sda1::/data::ext4 httpd # web\n\
                \n\
                node2\tIPaddr::10.0.0.11 mysql\n");
    let g = &p.value.groups;
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].node.as_str(), "node1");
    assert_eq!(g[0].line, 2);
    assert_eq!(g[0].key(), "10.0.0.10/24/eth0");
    assert_eq!(
        g[0].resources,
        [
            res(
                "10.0.0.10/24/eth0",
                "IPaddr",
                &["10.0.0.10/24/eth0"],
                true,
                2
            ),
            res(
                "Filesystem::/dev/sda1::/data::ext4",
                "Filesystem",
                &["/dev/sda1", "/data", "ext4"],
                false,
                2
            ),
            res("httpd", "httpd", &[], false, 2),
        ]
    );
    assert_eq!(
        g[1].resources[0],
        res("IPaddr::10.0.0.11", "IPaddr", &["10.0.0.11"], false, 4)
    );
    assert_eq!(g[1].resources[0].canonical(), "IPaddr::10.0.0.11");
    assert_eq!(g[0].resources[0].canonical(), "IPaddr::10.0.0.10/24/eth0");
    let n1 = NodeName::new("node1").unwrap();
    assert_eq!(p.value.groups_of(&n1).count(), 1);
    assert!(p.notices.is_empty());
}

#[test]
fn continuation_lines_join_and_words_keep_their_line() {
    let p = ok("node1 10.0.0.10 \\\n   datadisk::drbd0 \\\n  apache\nnode2 mysql\n");
    let g = &p.value.groups;
    assert_eq!(g.len(), 2);
    let lines: Vec<u32> = g[0].resources.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 3]);
    assert_eq!(g[1].line, 4);
    assert!(p.notices.is_empty());
}

#[test]
fn continuation_forgiveness_comes_with_notices() {
    // The tutorial in our seeds: blanks after '\' and a blank line inside the group.
    let p = ok(
        "node1 10.10.10.11 datadisk::drbd0 \\ \n\nFilesystem::/dev/nb0::/ha/apache::reiserfs apache\n",
    );
    assert_eq!(p.value.groups.len(), 1);
    assert_eq!(p.value.groups[0].resources.len(), 4);
    let n: Vec<String> = p.notices.iter().map(ToString::to_string).collect();
    assert_eq!(
        n,
        [
            "/etc/ha.d/haresources:1: blanks after the continuation '\\': read as a continuation (heartbeat needed '\\' to be the last character)",
            "/etc/ha.d/haresources:2: blank line inside the group continued on line 1: skipped (heartbeat would have ended the group here)",
        ]
    );
    let p = ok("node1 httpd \\\n");
    assert_eq!(
        p.notices
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["/etc/ha.d/haresources:1: the file ends after a continuation '\\'; the group ends here"]
    );
    assert_eq!(p.value.groups[0].key(), "httpd");
}

#[test]
fn an_empty_file_has_no_groups() {
    assert!(ok("").value.groups.is_empty());
    assert!(ok("# nothing\n\n").value.groups.is_empty());
}

#[test]
fn every_error_names_file_line_and_field() {
    let cases: &[(&str, &[&str])] = &[
        (
            "node3 httpd\n",
            &[
                "/etc/ha.d/haresources:1: node: node \"node3\" is not listed in ha.cf (nodes: node1, node2); every group must name a configured node",
            ],
        ),
        (
            "node1\n",
            &[
                "/etc/ha.d/haresources:1: node1: the group has no resources: expected \"NODE RESOURCE…\"",
            ],
        ),
        (
            "node1 httpd\nnode2 httpd\n",
            &[
                "/etc/ha.d/haresources:2: httpd: \"httpd\" already starts the group on line 1; the first resource of each line names its group and must be unique",
            ],
        ),
        (
            "node1 10.0.0.1\nnode2 IPaddr::10.0.0.1 x\n",
            &[
                "/etc/ha.d/haresources:2: IPaddr::10.0.0.1: \"IPaddr::10.0.0.1\" already starts the group on line 1; the first resource of each line names its group and must be unique",
            ],
        ),
        (
            "node1 a \\\n Filesystem::::/x\n",
            &[
                "/etc/ha.d/haresources:2: Filesystem::::/x: \"Filesystem::::/x\": empty script name or argument: write script::arg1::arg2 with nothing empty",
            ],
        ),
        (
            "node1 ../../bin/sh\n",
            &[
                "/etc/ha.d/haresources:1: ../../bin/sh: \"../../bin/sh\": a script name is a file name in /etc/ha.d/resource.d or /etc/init.d, without '/'",
            ],
        ),
        (
            "node1 10.0.0.300\n",
            &[
                "/etc/ha.d/haresources:1: 10.0.0.300: \"10.0.0.300\": starts like an IP address (short for IPaddr::…) but the address is not a valid IPv4 address",
            ],
        ),
        (
            "no/de httpd\n",
            &[
                "/etc/ha.d/haresources:1: node: \"no/de\" is not a valid name: name contains '/'; only letters, digits, '.', '_' and '-' are allowed",
            ],
        ),
        (
            "node3 a\nnode1\nnode1 x::\n",
            &[
                "/etc/ha.d/haresources:1: node: node \"node3\" is not listed in ha.cf (nodes: node1, node2); every group must name a configured node",
                "/etc/ha.d/haresources:2: node1: the group has no resources: expected \"NODE RESOURCE…\"",
                "/etc/ha.d/haresources:3: x::: \"x::\": empty script name or argument: write script::arg1::arg2 with nothing empty",
            ],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&errors(text), expected, "{text:?}");
    }
}

#[test]
fn resources_in_other_positions_may_repeat() {
    // Only keys must be unique: heartbeat allowed a service in two groups.
    let p = ok("node1 10.0.0.1 httpd\nnode2 10.0.0.2 httpd\n");
    assert_eq!(p.value.groups.len(), 2);
}
