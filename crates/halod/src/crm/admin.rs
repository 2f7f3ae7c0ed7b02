//! Administrators' requests as the engine takes them, and the engine's state as the
//! API shows it.

use std::path::Path;

use halo_cib::haresources::AutoFailback;
use halo_crm::{ClientRequest, Crm, Scope};
use halo_ipc::{Change, CrmStatus, FailCountStatus, FailedActionStatus, ResourceStatus};
use halo_types::NodeName;

/// What the engine needs to import a `haresources` file the way halod does at start.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The cluster's nodes (`ha.cf`).
    pub nodes: Vec<NodeName>,
    /// `auto_failback` from `ha.cf`.
    pub auto_failback: AutoFailback,
    /// `no_quorum_policy` from `ha.cf`.
    pub no_quorum_policy: String,
    /// Where heartbeat resource scripts are (`CONFIG/resource.d`).
    pub resource_d: std::path::PathBuf,
    /// Where init scripts are.
    pub init_d: std::path::PathBuf,
}

impl ImportSettings {
    /// heartbeat's lookup: an argument-less script is an init script when it is not in
    /// `resource.d` but is in `/etc/init.d`.
    pub fn is_init_script(&self, script: &str) -> bool {
        !self.resource_d.join(script).exists() && self.init_d.join(script).exists()
    }

    /// The CIB XML equivalent of a `haresources` text, or its errors (naming the file,
    /// line and directive).
    pub fn import(&self, file: &str, text: &str) -> Result<String, String> {
        let parsed = halo_config::HaResources::parse(Path::new(file), text.as_bytes(), &self.nodes)
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = self.nodes.iter().map(|n| n.to_string()).collect();
        let mut cib = halo_cib::haresources::import_haresources(
            &parsed.value,
            &names,
            self.auto_failback,
            &|s| self.is_init_script(s),
        )
        .map_err(|e| format!("{file}: {e}"))?;
        set_no_quorum_policy(&mut cib.configuration, &self.no_quorum_policy);
        Ok(cib.to_xml())
    }
}

/// Writes `no-quorum-policy` into a configuration's cluster options.
pub fn set_no_quorum_policy(cfg: &mut halo_cib::Configuration, policy: &str) {
    for p in cfg.crm_config.iter_mut().flat_map(|s| s.pairs.iter_mut()) {
        if p.name.as_deref() == Some("no-quorum-policy") {
            p.value = Some(policy.to_string());
        }
    }
}

/// The engine's request for an API change asked on node `me`.
pub fn client_request(
    me: &NodeName,
    change: Change,
    import: &ImportSettings,
) -> Result<ClientRequest, String> {
    let here = |n: Option<NodeName>| n.unwrap_or_else(|| me.clone());
    let scope = |s: halo_ipc::Scope| match s {
        halo_ipc::Scope::All => Scope::All,
        halo_ipc::Scope::Local => Scope::Local,
        halo_ipc::Scope::Foreign => Scope::Foreign,
    };
    Ok(match change {
        Change::ResourceStart { id } => ClientRequest::ResourceStart { id },
        Change::ResourceStop { id } => ClientRequest::ResourceStop { id },
        Change::ResourceRestart { id } => ClientRequest::ResourceRestart { id },
        Change::ResourceMove { id, node } => ClientRequest::ResourceMove { id, node },
        Change::ResourceUnmove { id } => ClientRequest::ResourceUnmove { id },
        Change::ResourceCleanup { id, node } => ClientRequest::ResourceCleanup { id, node },
        Change::NodeStandby { node } => ClientRequest::NodeStandby { node: here(node) },
        Change::NodeOnline { node } => ClientRequest::NodeOnline { node: here(node) },
        Change::NodeMaintenance { node, on } => ClientRequest::NodeMaintenance {
            node: here(node),
            on,
        },
        Change::ConfigureLoad { cib_xml } => ClientRequest::ConfigureLoad { cib_xml },
        Change::ConfigureLoadHaresources { file, text } => ClientRequest::ConfigureLoad {
            cib_xml: import.import(&file, &text)?,
        },
        Change::Standby { scope: s } => ClientRequest::Standby { scope: scope(s) },
        Change::Takeover { scope: s } => ClientRequest::Takeover { scope: scope(s) },
    })
}

/// What the API adds to the core's status.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The DC.
    pub dc: Option<NodeName>,
    /// Resources.
    pub resources: Vec<ResourceStatus>,
    /// Failed operations.
    pub failed_actions: Vec<FailedActionStatus>,
    /// Fail counts.
    pub fail_counts: Vec<FailCountStatus>,
    /// The engine's own state.
    pub crm: CrmStatus,
}

/// The engine's state for the API.
pub fn view(crm: &Crm, warnings: &[String]) -> View {
    let cib = crm.cib();
    View {
        dc: crm.dc().cloned(),
        resources: crm
            .resources()
            .into_iter()
            .map(|r| ResourceStatus {
                id: r.id,
                class: r.class,
                kind: r.kind,
                role: r.role,
                node: r.node,
                provider: r.provider,
                parent: r.parent,
                target_role: r.target_role,
            })
            .collect(),
        failed_actions: crm
            .failed_actions()
            .into_iter()
            .map(|f| FailedActionStatus {
                resource: f.resource,
                operation: f.key,
                node: f.node,
                rc: f.rc,
                op_status: f.op_status,
                exit_reason: f.exit_reason,
                last_rc_change: f.last_rc_change.and_then(|t| t.parse().ok()),
            })
            .collect(),
        fail_counts: crm
            .fail_counts()
            .into_iter()
            .map(|f| FailCountStatus {
                resource: f.resource,
                node: f.node,
                operation: f.operation,
                count: f.count,
            })
            .collect(),
        crm: CrmStatus {
            cib_version: cib.version.to_string(),
            synced: crm.synced(),
            lease_lost: crm.lease_lost(),
            fencing_enabled: halo_crm::fencing_enabled(cib),
            idle: (crm.dc() == Some(crm.node())).then(|| crm.idle()),
            warnings: warnings.to_vec(),
            standby: nodes_with(cib, "standby"),
            maintenance: nodes_with(cib, "maintenance"),
        },
    }
}

/// The nodes whose permanent attribute `name` is true in the CIB.
fn nodes_with(cib: &halo_cib::Cib, name: &str) -> Vec<NodeName> {
    cib.configuration
        .nodes
        .iter()
        .filter(|n| {
            n.attributes
                .iter()
                .any(|set| halo_policy::util::is_true(set.get(name)))
        })
        .filter_map(|n| NodeName::new(&n.uname).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn n(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    fn settings(dir: &Path) -> ImportSettings {
        ImportSettings {
            nodes: vec![n("node1"), n("node2")],
            auto_failback: AutoFailback::On,
            no_quorum_policy: "freeze".into(),
            resource_d: dir.join("resource.d"),
            init_d: dir.join("init.d"),
        }
    }

    #[test]
    fn standby_and_maintenance_nodes_are_read_from_their_attributes() {
        let cib = halo_cib::Cib::from_xml(
            r#"<cib admin_epoch="0" epoch="1" num_updates="0">
  <configuration>
    <crm_config/>
    <nodes>
      <node id="a" uname="a"><instance_attributes id="a-ia">
        <nvpair id="a1" name="standby" value="on"/></instance_attributes></node>
      <node id="b" uname="b"><instance_attributes id="b-ia">
        <nvpair id="b1" name="standby" value="off"/>
        <nvpair id="b2" name="maintenance" value="true"/></instance_attributes></node>
      <node id="c" uname="c"/>
    </nodes>
    <resources/>
    <constraints/>
  </configuration>
</cib>"#,
        )
        .unwrap();
        assert_eq!(nodes_with(&cib, "standby"), [n("a")]);
        assert_eq!(nodes_with(&cib, "maintenance"), [n("b")]);
    }

    #[test]
    fn a_haresources_text_imports_with_ha_cf_settings_and_init_scripts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("init.d")).unwrap();
        std::fs::write(dir.path().join("init.d/httpd"), "#!/bin/sh\n").unwrap();
        let s = settings(dir.path());
        let xml = s
            .import("hr", "node1 10.213.0.100/24 httpd\nnode2 mailto\n")
            .unwrap();
        let cib = halo_cib::Cib::from_xml(&xml).unwrap();
        assert_eq!(
            halo_crm::status::cluster_option(&cib, "no-quorum-policy"),
            Some("freeze")
        );
        let prims = halo_crm::status::primitives_of(&cib, "group_IPaddr_10_213_0_100_24");
        assert_eq!(prims, ["IPaddr_10_213_0_100_24", "httpd"]);
        assert!(xml.contains(r#"class="lsb" type="httpd""#), "{xml}");
        assert!(xml.contains(r#"class="heartbeat" type="mailto""#), "{xml}");
        assert!(xml.contains(r#"provider="halo" type="IPaddr""#), "{xml}");
    }

    #[test]
    fn a_bad_haresources_text_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = settings(dir.path())
            .import("/tmp/hr", "node1 10.213.0.100\nnode9 httpd\n")
            .unwrap_err();
        assert!(err.contains("/tmp/hr") && err.contains('2'), "{err}");
    }

    #[test]
    fn node_changes_default_to_this_node() {
        let dir = tempfile::tempdir().unwrap();
        let r = client_request(
            &n("node2"),
            Change::NodeMaintenance {
                node: None,
                on: true,
            },
            &settings(dir.path()),
        )
        .unwrap();
        assert_eq!(
            r,
            ClientRequest::NodeMaintenance {
                node: n("node2"),
                on: true
            }
        );
    }
}
