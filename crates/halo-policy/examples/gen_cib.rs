//! Generates a realistic CIB for benchmarks: N primitives on M nodes.
//!
//! ```text
//! cargo run --release -p halo-policy --example gen_cib -- \
//!     --resources 10000 --nodes 32 [--seed 1] > cib.xml
//! ```
//!
//! The cluster: a fence device; a third of the primitives in groups of three
//! (address, filesystem, service); a ping clone, a DLM-like clone and a
//! promotable clone; the rest stand-alone. Constraints: node preferences
//! (score 50..500) for a third of the stand-alone primitives, bans for 5%,
//! rule-based rack bans for 2%, colocations and orderings between 10% of
//! pairs, groups ordered after the DLM clone. Status: every node probed every
//! resource (history entries with correct digests), each resource runs where
//! it last started, with a monitor; the last node has crashed (unclean), one
//! node is in standby, a few resources have failed monitors and fail counts,
//! and a few new resources have never run. Property names are Pacemaker 2.1's
//! (`stonith-enabled`), which halo accepts too, so the same file feeds both
//! `halo sim` and Debian's `crm_simulate`.
//!
//! Deterministic: the same arguments give the same file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone)]
struct Prim {
    id: String,
    class: &'static str,
    provider: Option<&'static str>,
    agent: &'static str,
    params: BTreeMap<String, String>,
    /// Clone instances are recorded under the clone's anonymous id.
    cloned: bool,
}

impl Prim {
    fn new(id: String, agent: &'static str, params: &[(&str, String)]) -> Self {
        Prim {
            id,
            class: "ocf",
            provider: Some(
                if agent == "Stateful" || agent == "ping" || agent == "controld" {
                    "pacemaker"
                } else {
                    "heartbeat"
                },
            ),
            agent,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            cloned: false,
        }
    }

    fn xml(&self, out: &mut String, indent: &str) {
        let provider = self
            .provider
            .map(|p| format!(" provider=\"{p}\""))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}<primitive id=\"{}\" class=\"{}\"{provider} type=\"{}\">",
            self.id, self.class, self.agent
        );
        if !self.params.is_empty() {
            let _ = writeln!(out, "{indent}  <instance_attributes id=\"{}-ia\">", self.id);
            for (k, v) in &self.params {
                let _ = writeln!(
                    out,
                    "{indent}    <nvpair id=\"{}-ia-{k}\" name=\"{k}\" value=\"{v}\"/>",
                    self.id
                );
            }
            let _ = writeln!(out, "{indent}  </instance_attributes>");
        }
        let _ = writeln!(out, "{indent}  <operations>");
        for (name, interval, timeout, suffix) in [
            ("monitor", "10s", "20s", "10s"),
            ("start", "0s", "60s", "0"),
            ("stop", "0s", "60s", "0"),
        ] {
            let _ = writeln!(
                out,
                "{indent}    <op id=\"{}-{name}-{suffix}\" name=\"{name}\" interval=\"{interval}\" timeout=\"{timeout}\"/>",
                self.id
            );
        }
        let _ = writeln!(out, "{indent}  </operations>");
        let _ = writeln!(out, "{indent}</primitive>");
    }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One history entry (`failure`: recorded as the last failure).
#[allow(clippy::too_many_arguments)]
fn op(
    out: &mut String,
    rsc: &str,
    task: &str,
    interval: u32,
    call: u64,
    rc: i32,
    node: &str,
    digest: &str,
    failure: bool,
) {
    let key = format!("{rsc}_{task}_{interval}");
    let id = if failure {
        format!("{rsc}_last_failure_0")
    } else if interval > 0 {
        key.clone()
    } else {
        format!("{rsc}_last_0")
    };
    let tkey = format!(
        "{call}:1:{}:0a0b0c0d-0000-4000-8000-000000000000",
        if task == "monitor" && interval == 0 {
            7
        } else {
            0
        }
    );
    let _ = writeln!(
        out,
        "            <lrm_rsc_op id=\"{id}\" operation_key=\"{key}\" operation=\"{task}\" crm-debug-origin=\"build_active_RAs\" crm_feature_set=\"3.16.2\" transition-key=\"{tkey}\" transition-magic=\"0:{rc};{tkey}\" exit-reason=\"\" on_node=\"{node}\" call-id=\"{call}\" rc-code=\"{rc}\" op-status=\"0\" interval=\"{interval}\" last-rc-change=\"1700000000\" exec-time=\"10\" queue-time=\"0\" op-digest=\"{digest}\"/>"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n_rsc = usize::try_from(arg(&args, "--resources", 100)).unwrap_or(100);
    let n_nodes = usize::try_from(arg(&args, "--nodes", 4))
        .unwrap_or(4)
        .max(2);
    let mut rng = Rng(arg(&args, "--seed", 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let nodes: Vec<String> = (1..=n_nodes).map(|i| format!("node-{i}")).collect();
    let crashed = n_nodes - 1;
    let standby = if n_nodes > 2 { Some(n_nodes - 2) } else { None };

    // Resources.
    let mut standalone: Vec<Prim> = Vec::new();
    let mut groups: Vec<(String, Vec<Prim>)> = Vec::new();
    let mut count = 0;
    let in_groups = n_rsc / 3 / 3;
    for g in 0..in_groups {
        let gid = format!("grp-{g}");
        let ip = format!("10.{}.{}.{}", 1 + g / 65_000, (g / 250) % 250, 1 + g % 250);
        let members = vec![
            Prim::new(
                format!("{gid}-ip"),
                "IPaddr2",
                &[("ip", ip), ("cidr_netmask", "16".into())],
            ),
            Prim::new(
                format!("{gid}-fs"),
                "Filesystem",
                &[
                    ("device", format!("/dev/vg0/lv{g}")),
                    ("directory", format!("/srv/{gid}")),
                    ("fstype", "xfs".into()),
                ],
            ),
            Prim::new(
                format!("{gid}-svc"),
                "Dummy",
                &[("state", format!("/run/{gid}.state"))],
            ),
        ];
        count += members.len();
        groups.push((gid, members));
    }
    let mut clones: Vec<(String, Prim, bool)> = Vec::new();
    if n_rsc >= 20 {
        for (cid, p, promotable) in [
            (
                "ping-clone",
                Prim::new(
                    "ping".into(),
                    "ping",
                    &[
                        ("host_list", "192.0.2.1".into()),
                        ("multiplier", "100".into()),
                    ],
                ),
                false,
            ),
            ("dlm-clone", Prim::new("dlm".into(), "controld", &[]), false),
            ("db-clone", Prim::new("db".into(), "Stateful", &[]), true),
        ] {
            let mut p = p;
            p.cloned = true;
            clones.push((cid.to_string(), p, promotable));
            count += 1;
        }
    }
    let mut i = 0;
    while count < n_rsc {
        let id = format!("rsc-{i}");
        let p = match i % 3 {
            0 => Prim::new(id, "Dummy", &[("state", format!("/run/rsc-{i}.state"))]),
            1 => Prim::new(
                id,
                "IPaddr2",
                &[
                    ("ip", format!("172.16.{}.{}", (i / 250) % 250, 1 + i % 250)),
                    ("cidr_netmask", "24".into()),
                ],
            ),
            _ => Prim::new(id, "Dummy", &[("fake", format!("{i}"))]),
        };
        standalone.push(p);
        count += 1;
        i += 1;
    }
    let fence = Prim {
        id: "fence-all".into(),
        class: "stonith",
        provider: None,
        agent: "fence_ipmilan",
        params: [("pcmk_host_list".to_string(), nodes.join(" "))]
            .into_iter()
            .collect(),
        cloned: false,
    };

    let mut out = String::with_capacity(n_rsc * n_nodes * 420);
    out.push_str("<cib crm_feature_set=\"3.16.2\" validate-with=\"pacemaker-3.9\" epoch=\"100\" num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">\n  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n");
    for (k, v) in [
        ("stonith-enabled", "true"),
        ("no-quorum-policy", "stop"),
        ("cluster-infrastructure", "corosync"),
        ("cluster-name", "bench"),
        ("have-watchdog", "false"),
        ("dc-version", "2.1.5-a3f44794f94"),
    ] {
        let _ = writeln!(
            out,
            "        <nvpair id=\"cib-bootstrap-options-{k}\" name=\"{k}\" value=\"{v}\"/>"
        );
    }
    out.push_str("      </cluster_property_set>\n    </crm_config>\n    <nodes>\n");
    for (i, n) in nodes.iter().enumerate() {
        let _ = writeln!(out, "      <node id=\"{}\" uname=\"{n}\">", i + 1);
        let _ = writeln!(
            out,
            "        <instance_attributes id=\"nodes-{0}\">\n          <nvpair id=\"nodes-{0}-rack\" name=\"rack\" value=\"rack-{1}\"/>",
            i + 1,
            i % 4
        );
        if Some(i) == standby {
            let _ = writeln!(
                out,
                "          <nvpair id=\"nodes-{}-standby\" name=\"standby\" value=\"on\"/>",
                i + 1
            );
        }
        out.push_str("        </instance_attributes>\n      </node>\n");
    }
    out.push_str("    </nodes>\n    <resources>\n");
    fence.xml(&mut out, "      ");
    for (gid, members) in &groups {
        let _ = writeln!(out, "      <group id=\"{gid}\">");
        for m in members {
            m.xml(&mut out, "        ");
        }
        out.push_str("      </group>\n");
    }
    for (cid, p, promotable) in &clones {
        let _ = writeln!(out, "      <clone id=\"{cid}\">");
        if *promotable {
            let _ = writeln!(
                out,
                "        <meta_attributes id=\"{cid}-meta\">\n          <nvpair id=\"{cid}-promotable\" name=\"promotable\" value=\"true\"/>\n          <nvpair id=\"{cid}-interleave\" name=\"interleave\" value=\"true\"/>\n        </meta_attributes>"
            );
        } else {
            let _ = writeln!(
                out,
                "        <meta_attributes id=\"{cid}-meta\">\n          <nvpair id=\"{cid}-interleave\" name=\"interleave\" value=\"true\"/>\n        </meta_attributes>"
            );
        }
        p.xml(&mut out, "        ");
        out.push_str("      </clone>\n");
    }
    for p in &standalone {
        p.xml(&mut out, "      ");
    }
    out.push_str("    </resources>\n    <constraints>\n");
    let mut home: BTreeMap<String, usize> = BTreeMap::new();
    for (k, p) in standalone.iter().enumerate() {
        if rng.chance(33) {
            let n = rng.below(n_nodes);
            let score = 50 * (1 + rng.below(10));
            let _ = writeln!(
                out,
                "      <rsc_location id=\"loc-{0}\" rsc=\"{0}\" node=\"{1}\" score=\"{score}\"/>",
                p.id, nodes[n]
            );
            home.insert(p.id.clone(), n);
        } else if rng.chance(5) {
            let n = rng.below(n_nodes);
            let _ = writeln!(
                out,
                "      <rsc_location id=\"ban-{0}\" rsc=\"{0}\" node=\"{1}\" score=\"-INFINITY\"/>",
                p.id, nodes[n]
            );
        } else if rng.chance(2) {
            let rack = rng.below(4);
            let _ = writeln!(
                out,
                "      <rsc_location id=\"rack-{0}\" rsc=\"{0}\">\n        <rule id=\"rack-{0}-rule\" score=\"-INFINITY\">\n          <expression id=\"rack-{0}-expr\" attribute=\"rack\" operation=\"eq\" value=\"rack-{rack}\"/>\n        </rule>\n      </rsc_location>",
                p.id
            );
        }
        if k > 0 && rng.chance(10) {
            let other = &standalone[rng.below(k)].id;
            let score = if rng.chance(50) { "INFINITY" } else { "500" };
            let _ = writeln!(
                out,
                "      <rsc_colocation id=\"col-{0}\" rsc=\"{0}\" with-rsc=\"{other}\" score=\"{score}\"/>",
                p.id
            );
        }
        if k > 0 && rng.chance(10) {
            let other = &standalone[rng.below(k)].id;
            let kind = if rng.chance(70) {
                "Mandatory"
            } else {
                "Optional"
            };
            let _ = writeln!(
                out,
                "      <rsc_order id=\"ord-{0}\" first=\"{other}\" then=\"{0}\" kind=\"{kind}\"/>",
                p.id
            );
        }
    }
    if !clones.is_empty() {
        for (gid, _) in groups.iter().take(50) {
            let _ = writeln!(
                out,
                "      <rsc_order id=\"ord-dlm-{gid}\" first=\"dlm-clone\" then=\"{gid}\" kind=\"Mandatory\"/>"
            );
        }
        out.push_str("      <rsc_location id=\"ping-pref\" rsc=\"rsc-0\">\n        <rule id=\"ping-pref-rule\" score-attribute=\"pingd\">\n          <expression id=\"ping-pref-expr\" attribute=\"pingd\" operation=\"defined\"/>\n        </rule>\n      </rsc_location>\n");
    }
    out.push_str("    </constraints>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc-options\">\n        <nvpair id=\"rsc-options-stickiness\" name=\"resource-stickiness\" value=\"100\"/>\n        <nvpair id=\"rsc-options-threshold\" name=\"migration-threshold\" value=\"3\"/>\n      </meta_attributes>\n    </rsc_defaults>\n  </configuration>\n  <status>\n");

    // Where each resource (or group) runs now.
    let placeable: Vec<usize> = (0..n_nodes).filter(|&n| Some(n) != standby).collect();
    let place = |id: &str, rng: &mut Rng| -> Option<usize> {
        if rng.chance(2) {
            return None; // never started yet
        }
        Some(match home.get(id) {
            Some(&n) if Some(n) != standby => n,
            _ => placeable[rng.below(placeable.len())],
        })
    };
    let mut running: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    let mut all: Vec<&Prim> = vec![&fence];
    if let Some(n) = place(&fence.id, &mut rng) {
        running.insert(fence.id.clone(), (n, false));
    }
    for (_, members) in &groups {
        let n = place(&members[0].id, &mut rng);
        for m in members {
            all.push(m);
            if let Some(n) = n {
                running.insert(m.id.clone(), (n, rng.chance(1)));
            }
        }
    }
    for p in &standalone {
        all.push(p);
        if let Some(n) = place(&p.id, &mut rng) {
            running.insert(p.id.clone(), (n, rng.chance(1)));
        }
    }
    for (n, node) in nodes.iter().enumerate() {
        let online = n != crashed;
        let _ = writeln!(
            out,
            "    <node_state id=\"{}\" uname=\"{node}\" in_ccm=\"{online}\" crmd=\"{}\" crm-debug-origin=\"do_update_resource\" join=\"{}\" expected=\"member\">",
            n + 1,
            if online { "online" } else { "offline" },
            if online { "member" } else { "down" },
        );
        let mut attrs = String::new();
        if !clones.is_empty() && online {
            let _ = writeln!(
                attrs,
                "          <nvpair id=\"status-{0}-pingd\" name=\"pingd\" value=\"100\"/>\n          <nvpair id=\"status-{0}-master-db\" name=\"master-db\" value=\"{1}\"/>",
                n + 1,
                5 + n % 3
            );
        }
        let _ = writeln!(out, "      <lrm id=\"{}\">\n        <lrm_resources>", n + 1);
        let mut call = 1u64;
        for p in &all {
            let provider = p
                .provider
                .map(|v| format!(" provider=\"{v}\""))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "          <lrm_resource id=\"{}\" type=\"{}\" class=\"{}\"{provider}>",
                p.id, p.agent, p.class
            );
            let digest = halo_policy::params_digest(&p.params);
            match running.get(&p.id) {
                Some(&(rn, failed)) if rn == n => {
                    op(&mut out, &p.id, "start", 0, call, 0, node, &digest, false);
                    let mut mon = p.params.clone();
                    mon.insert("CRM_meta_timeout".into(), "20000".into());
                    let mdigest = halo_policy::params_digest(&mon);
                    let rc = if failed { 7 } else { 0 };
                    op(
                        &mut out,
                        &p.id,
                        "monitor",
                        10_000,
                        call + 1,
                        rc,
                        node,
                        &mdigest,
                        false,
                    );
                    if failed {
                        op(
                            &mut out,
                            &p.id,
                            "monitor",
                            10_000,
                            call + 1,
                            rc,
                            node,
                            &mdigest,
                            true,
                        );
                        let _ = writeln!(
                            attrs,
                            "          <nvpair id=\"status-{0}-fc-{1}\" name=\"fail-count-{1}#monitor_10000\" value=\"1\"/>\n          <nvpair id=\"status-{0}-lf-{1}\" name=\"last-failure-{1}#monitor_10000\" value=\"1700000000\"/>",
                            n + 1,
                            p.id
                        );
                    }
                    call += 3;
                }
                _ => {
                    op(&mut out, &p.id, "monitor", 0, call, 7, node, &digest, false);
                    call += 1;
                }
            }
            out.push_str("          </lrm_resource>\n");
        }
        for (_, p, promotable) in &clones {
            let id = format!("{}:{}", p.id, n);
            let provider = p.provider.unwrap_or("pacemaker");
            let _ = writeln!(
                out,
                "          <lrm_resource id=\"{id}\" type=\"{}\" class=\"ocf\" provider=\"{provider}\">",
                p.agent
            );
            let digest = halo_policy::params_digest(&p.params);
            let mut mon = p.params.clone();
            mon.insert("CRM_meta_timeout".into(), "20000".into());
            let mdigest = halo_policy::params_digest(&mon);
            if *promotable && n == 0 {
                op(
                    &mut out,
                    &p.id,
                    "promote",
                    0,
                    call + 1,
                    0,
                    node,
                    &digest,
                    false,
                );
            } else {
                op(&mut out, &p.id, "start", 0, call, 0, node, &digest, false);
                op(
                    &mut out,
                    &p.id,
                    "monitor",
                    10_000,
                    call + 2,
                    0,
                    node,
                    &mdigest,
                    false,
                );
            }
            call += 3;
            out.push_str("          </lrm_resource>\n");
        }
        out.push_str("        </lrm_resources>\n      </lrm>\n");
        if !attrs.is_empty() {
            let _ = write!(
                out,
                "      <transient_attributes id=\"{0}\">\n        <instance_attributes id=\"status-{0}\">\n{attrs}        </instance_attributes>\n      </transient_attributes>\n",
                n + 1
            );
        }
        out.push_str("    </node_state>\n");
    }
    out.push_str("  </status>\n</cib>\n");
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes()) {
        eprintln!("gen_cib: {e}");
        std::process::exit(1);
    }
}
