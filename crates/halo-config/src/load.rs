//! One call for `halod`: read a configuration directory.

use std::path::Path;

use halo_types::NodeName;

use crate::authkeys::AuthKeys;
use crate::error::ConfigErrors;
use crate::hacf::HaCf;
use crate::haresources::HaResources;
use crate::notice::Notice;

/// A node's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// ha.cf.
    pub ha_cf: HaCf,
    /// authkeys (permissions checked).
    pub authkeys: AuthKeys,
    /// haresources, when the directory has one.
    pub haresources: Option<HaResources>,
    /// This node, as listed in ha.cf.
    pub local_node: NodeName,
    /// Notices of all three files, in order: ha.cf, authkeys, haresources.
    pub notices: Vec<Notice>,
}

/// Reads `dir/ha.cf`, `dir/authkeys` and, if present, `dir/haresources`.
///
/// `local_node` is this node's name (`--node NAME`, else `uname -n`); it must be listed
/// in ha.cf. `daemon_uid` is the effective uid `halod` runs as: authkeys must belong to
/// it and give no access to group or others. Errors of ha.cf and authkeys are reported
/// together; haresources is checked once ha.cf's node list is known.
pub fn load_dir(dir: &Path, local_node: &str, daemon_uid: u32) -> Result<Config, ConfigErrors> {
    let ha_cf = HaCf::read(&dir.join("ha.cf"));
    let authkeys = AuthKeys::read(&dir.join("authkeys"), daemon_uid);
    let (ha_cf, authkeys) = match (ha_cf, authkeys) {
        (Ok(h), Ok(a)) => (h, a),
        (Err(mut e), Err(e2)) => {
            e.extend(e2);
            return Err(e);
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
    };
    let local_node = ha_cf.value.local_node(local_node)?;
    let mut notices = ha_cf.notices;
    notices.extend(authkeys.notices);
    let res_path = dir.join("haresources");
    let haresources = if res_path.exists() {
        let r = HaResources::read(&res_path, &ha_cf.value.node_names())?;
        notices.extend(r.notices);
        Some(r.value)
    } else {
        None
    };
    Ok(Config {
        ha_cf: ha_cf.value,
        authkeys: authkeys.value,
        haresources,
        local_node,
        notices,
    })
}
