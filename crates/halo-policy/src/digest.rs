//! Operation digests: detecting that a resource's parameters changed since an
//! operation ran.
//!
//! Pacemaker stores in each history entry an MD5 digest of the parameters the
//! operation ran with. The digest is the MD5 of `" <parameters a=\"1\" b=\"2\"/>\n"`
//! with attributes sorted by name, containing the resource's instance attributes
//! (evaluated for the node), the operation's own instance attributes, and, for
//! recurring operations, `CRM_meta_timeout`. A mismatch means the resource must be
//! restarted (or reloaded, or the recurring operation rescheduled).

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use halo_cib::model::LrmRscOp;

use crate::nvsets::{Refs, RuleInput, unpack_into_btree};
use crate::sched::*;

/// `pcmk_stonith_param`: parameters Pacemaker itself interprets for fence
/// devices.
fn stonith_param(p: &str) -> bool {
    if matches!(p, "provides" | "stonith-timeout") {
        return true;
    }
    let Some(rest) = p.strip_prefix("pcmk_") else {
        return false;
    };
    if matches!(
        p,
        "pcmk_action_limit"
            | "pcmk_delay_base"
            | "pcmk_delay_max"
            | "pcmk_host_argument"
            | "pcmk_host_check"
            | "pcmk_host_list"
            | "pcmk_host_map"
    ) {
        return true;
    }
    match rest.find('_') {
        Some(i) => matches!(&rest[i..], "_action" | "_timeout" | "_retries"),
        None => false,
    }
}

/// Result of comparing a history entry's digests with the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestResult {
    /// Nothing changed.
    Match,
    /// The entry has no digest.
    Unknown,
    /// Parameters changed; a reload may apply them.
    Mismatch,
    /// Parameters that need a restart changed.
    Restart,
}

/// The digest text of a parameter set.
pub fn params_digest(params: &BTreeMap<String, String>) -> String {
    let mut s = String::from(" <parameters");
    for (k, v) in params {
        s.push(' ');
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '<' => s.push_str("&lt;"),
                '>' => s.push_str("&gt;"),
                '&' => s.push_str("&amp;"),
                '"' => s.push_str("&quot;"),
                c if c.is_ascii_control() => s.push_str(&format!("&#x{:02X};", c as u32)),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push_str("/>\n");
    let mut h = Md5::new();
    h.update(s.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    h.finalize()
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

fn filtered(name: &str) -> bool {
    name.starts_with("CRM_meta_")
        || matches!(
            name,
            "id" | "crm_feature_set"
                | "op-digest"
                | "on_node"
                | "on_node_uuid"
                | "pcmk_external_ip"
        )
}

impl<'a> Scheduler<'a> {
    /// `calculate_secure_digest`: the digest without private parameters, which
    /// is what a sanitized CIB (passwords replaced by `****`) can still match.
    fn secure_digest(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        n: NodeId,
        op: &LrmRscOp,
        params_all: &BTreeMap<String, String>,
    ) -> String {
        let op_version = op
            .crm_feature_set
            .as_deref()
            .or(self.cib.crm_feature_set.as_deref())
            .unwrap_or("3.20.0");
        let old = crate::nvsets::compare_versions(op_version, "3.16.0") == std::cmp::Ordering::Less;
        let mut p = if old {
            self.rsc_params(refs, r, Some(n))
        } else {
            params_all.clone()
        };
        let secure_list = op.op_secure_params.as_deref().unwrap_or("");
        let secure: Vec<&str> = secure_list.split(' ').filter(|x| !x.is_empty()).collect();
        p.retain(|k, _| !secure.contains(&k.as_str()));
        if old && self.rscs[r].class.eq_ignore_ascii_case("stonith") {
            p.retain(|k, _| !stonith_param(k));
        }
        let timeout = if op.interval != 0 {
            p.get("CRM_meta_timeout").cloned()
        } else {
            None
        };
        p.retain(|k, _| !filtered(k));
        if let Some(t) = timeout {
            p.insert("CRM_meta_timeout".into(), t);
        }
        if old {
            p.remove("CRM_meta_timeout");
        }
        params_digest(&p)
    }

    /// `pe_rsc_params`: a resource's instance attributes evaluated for a node
    /// (its own sets first, then its ancestors').
    pub fn rsc_params(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        node: Option<NodeId>,
    ) -> BTreeMap<String, String> {
        if let Some(p) = self.param_cache.get(&(r, node)) {
            return p.clone();
        }
        let mut out = BTreeMap::new();
        let mut cur = Some(r);
        while let Some(c) = cur {
            let input = RuleInput {
                node_attrs: node.map(|n| &self.nodes[n].attrs),
                ..RuleInput::default()
            };
            unpack_into_btree(refs, self.rscs[c].instance_sets, &input, &mut out);
            cur = self.rscs[c].parent;
        }
        self.param_cache.insert((r, node), out.clone());
        out
    }

    /// `rsc_action_digest_cmp`, and whether the digests differ only in
    /// private parameters (`only_sanitized_changed`: crm_simulate treats its
    /// input as sanitized, and so does `halo sim`).
    pub fn digest_cmp(
        &mut self,
        refs: &Refs<'a>,
        r: RscId,
        op: &LrmRscOp,
        n: NodeId,
    ) -> (DigestResult, bool) {
        let interval = u32::try_from(op.interval).unwrap_or(u32::MAX);
        let task = op.operation.as_str();
        let mut params = self.rsc_params(refs, r, Some(n));
        let config = self.find_op_config(r, task, interval, true);
        let mut rc = DigestResult::Match;
        if let Some(cfg) = config {
            let input = RuleInput {
                node_attrs: Some(&self.nodes[n].attrs),
                ..RuleInput::default()
            };
            let mut op_params = BTreeMap::new();
            unpack_into_btree(refs, &cfg.instance, &input, &mut op_params);
            if interval == 0 && !op_params.is_empty() {
                rc = DigestResult::Restart;
            }
            params.extend(op_params);
        }
        let meta = self.action_meta(refs, r, Some(n), task, interval, config);
        for (k, v) in &meta {
            params.insert(format!("CRM_meta_{}", k.replace('-', "_")), v.clone());
        }
        let timeout = if interval != 0 {
            params.get("CRM_meta_timeout").cloned()
        } else {
            None
        };
        params.retain(|k, _| !filtered(k));
        if let Some(t) = timeout {
            params.insert("CRM_meta_timeout".into(), t);
        }
        let all = params_digest(&params);
        let forced = self
            .expired_recurring
            .contains(&(std::ptr::from_ref(op) as usize));
        let recorded_restart = if forced {
            Some("calculated-failure-timeout")
        } else {
            op.op_restart_digest.as_deref()
        };
        let restart_calc = recorded_restart.map(|_| {
            let mut p = params.clone();
            if let Some(list) = &op.op_force_restart {
                let keep: Vec<&str> = list.split(' ').filter(|s| !s.is_empty()).collect();
                p.retain(|k, _| keep.contains(&k.as_str()));
            }
            params_digest(&p)
        });
        let result = if restart_calc.as_deref() != recorded_restart {
            DigestResult::Restart
        } else if op.op_digest.is_none() {
            DigestResult::Unknown
        } else if op.op_digest.as_deref() != Some(all.as_str()) {
            if interval == 0 && rc == DigestResult::Restart {
                DigestResult::Restart
            } else {
                DigestResult::Mismatch
            }
        } else {
            DigestResult::Match
        };
        // The secure digest only matters when something changed.
        let sanitized = result != DigestResult::Match
            && op
                .op_secure_digest
                .as_deref()
                .is_some_and(|recorded| recorded == self.secure_digest(refs, r, n, op, &params));
        (result, sanitized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_pacemaker() {
        assert_eq!(
            params_digest(&BTreeMap::new()),
            "f2317cad3d54cec5d7d7aa7d0bf35cf8"
        );
        let mut p = BTreeMap::new();
        p.insert("CRM_meta_timeout".to_string(), "20000".to_string());
        assert_eq!(params_digest(&p), "4811cef7f7f94e3a35a70be7916cb2fd");
    }
}
