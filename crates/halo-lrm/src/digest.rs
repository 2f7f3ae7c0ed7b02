//! Pacemaker's operation digest (`op-digest` of `lrm_rsc_op`).
//!
//! The policy engine compares the digest recorded with an operation against one it
//! computes from the current configuration; a mismatch means "the definition changed"
//! (restart or reload). To stay interchangeable with Pacemaker's CIB, the digest is
//! computed the same way (`pcmk__digest_op_params`, "v1" digest):
//!
//! ```text
//! md5(" " + <parameters NAME="VALUE" …/> + "\n")
//! ```
//!
//! with attributes sorted by name (byte order), values escaped as XML attributes
//! (`<`, `>`, `&`, `"` as entities, ASCII control characters as `&#xHH;`), every
//! `CRM_meta_*` attribute and `id`, `crm_feature_set`, `op-digest`, `on_node`,
//! `on_node_uuid`, `pcmk_external_ip` removed — except that a recurring operation keeps
//! `CRM_meta_timeout`. Checked against the 1114 start operations of the Pacemaker
//! scheduler corpus whose parameters are plain.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use md5::{Digest, Md5};

/// Names that never enter a digest.
const FILTERED: &[&str] = &[
    "id",
    "crm_feature_set",
    "op-digest",
    "on_node",
    "on_node_uuid",
    "pcmk_external_ip",
];

/// The digest of an operation's parameters: instance parameters plus op-specific ones
/// such as `OCF_CHECK_LEVEL`. `timeout_ms` is only used for recurring operations
/// (`interval_ms > 0`), where Pacemaker keeps `CRM_meta_timeout` in the digest.
pub fn op_digest(params: &BTreeMap<String, String>, interval_ms: u64, timeout_ms: u64) -> String {
    let mut kept: BTreeMap<&str, String> = params
        .iter()
        .filter(|(k, _)| !k.starts_with("CRM_meta_") && !FILTERED.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if interval_ms != 0 {
        kept.insert("CRM_meta_timeout", timeout_ms.to_string());
    }
    let mut xml = String::from(" <parameters");
    for (k, v) in &kept {
        let _ = write!(xml, " {k}=\"{}\"", escape_attr(v));
    }
    xml.push_str("/>\n");
    let sum = Md5::digest(xml.as_bytes());
    let mut hex = String::with_capacity(32);
    for b in sum {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Pacemaker's `pcmk__xml_escape(…, pcmk__xml_escape_attr)`.
fn escape_attr(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "&#x{:02X};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Values taken from Pacemaker's scheduler corpus (cts/scheduler/xml), where
    // Pacemaker computed them.
    #[test]
    fn matches_pacemaker_for_no_parameters() {
        // `<parameters/>`: the digest every parameterless start carries in the corpus.
        assert_eq!(
            op_digest(&params(&[]), 0, 0),
            "f2317cad3d54cec5d7d7aa7d0bf35cf8"
        );
    }

    #[test]
    fn matches_pacemaker_for_recurring_monitors() {
        // asymmetrical-order-restart.xml, sleep_a monitor interval 10000 timeout 20s.
        let p = params(&[
            ("binfile", "/usr/bin/sleep"),
            ("cmdline_options", "infinity"),
        ]);
        assert_eq!(
            op_digest(&p, 10_000, 20_000),
            "2badf37d75e8cf97cf6621545dc5e4ac"
        );
        // 994.xml, Filesystem_2 monitor interval 120000 timeout 60s.
        let p = params(&[
            ("device", "/dev/drbd0"),
            ("directory", "/home"),
            ("fstype", "reiserfs"),
        ]);
        assert_eq!(
            op_digest(&p, 120_000, 60_000),
            "f4e8fa437a40c209b5aa6263721c7a8f"
        );
    }

    #[test]
    fn order_and_meta_do_not_matter_but_values_do() {
        let a = op_digest(&params(&[("ip", "10.0.0.1"), ("nic", "eth0")]), 0, 20000);
        let b = op_digest(
            &params(&[
                ("nic", "eth0"),
                ("CRM_meta_timeout", "1"),
                ("ip", "10.0.0.1"),
            ]),
            0,
            0,
        );
        assert_eq!(a, b);
        let c = op_digest(&params(&[("ip", "10.0.0.2"), ("nic", "eth0")]), 0, 20000);
        assert_ne!(a, c);
    }

    #[test]
    fn recurring_ops_include_their_timeout() {
        let p = params(&[("state", "/tmp/x")]);
        assert_ne!(op_digest(&p, 10_000, 20_000), op_digest(&p, 10_000, 30_000));
        assert_eq!(op_digest(&p, 0, 20_000), op_digest(&p, 0, 30_000));
    }

    #[test]
    fn escapes_like_libxml() {
        assert_eq!(escape_attr("a<b>&\"c\n"), "a&lt;b&gt;&amp;&quot;c&#x0A;");
    }
}
