//! One error type per kind of operation: bad configuration ([`SpecError`]), no interface
//! for an address on this host ([`FindError`]), and failures of the kernel calls
//! ([`NetError`]).

use std::io;
use std::net::IpAddr;

/// A configuration value that cannot be used, named by its field.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A required field is absent or empty.
    #[error("{field} is required")]
    Missing {
        /// The field (`ip`).
        field: &'static str,
    },
    /// A field's value is wrong.
    #[error("{field} {value:?}: {reason}")]
    Field {
        /// The field (`ip`, `cidr_netmask`, `nic`, …).
        field: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A haresources resource whose address is wrong.
    #[error("line {line}: resource {spec:?}: {source}")]
    AtLine {
        /// haresources line.
        line: u32,
        /// The resource as written.
        spec: String,
        /// What is wrong.
        source: Box<SpecError>,
    },
}

impl SpecError {
    pub(crate) fn field(field: &'static str, value: &str, reason: &'static str) -> SpecError {
        SpecError::Field {
            field,
            value: value.to_string(),
            reason,
        }
    }
}

/// Why no interface (or prefix) could be found for an address on this host.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The configured interface does not exist.
    #[error("no interface named {0:?} on this host")]
    NoSuchInterface(String),
    /// No directly connected route contains the address.
    #[error(
        "no directly connected route contains {addr}{on}: give nic and cidr_netmask, or add an address of that subnet to an interface",
        on = nic.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()
    )]
    NoRoute {
        /// The address.
        addr: IpAddr,
        /// The interface the route had to use, when configured.
        nic: Option<String>,
    },
    /// The configuration does not fit the interface found (a label too long for it).
    #[error(transparent)]
    Spec(SpecError),
    /// Reading the kernel's tables failed.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// A kernel call that failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink request was refused or failed.
    #[error("{op}: {source}")]
    Netlink {
        /// What was asked (`add 10.0.0.1/24 to eth0`).
        op: String,
        /// The kernel's answer (errno in `raw_os_error`).
        source: io::Error,
    },
    /// A socket call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was tried (`open an ARP socket on eth0`).
        op: String,
        /// Why it failed.
        source: io::Error,
    },
    /// The address is on another interface than the one it should be added to.
    #[error("{addr} is already on {present}, not on {wanted}: remove it there first")]
    Elsewhere {
        /// The address.
        addr: IpAddr,
        /// Where it is.
        present: String,
        /// Where it was to be added.
        wanted: String,
    },
    /// The interface vanished between lookup and use.
    #[error("no interface with index {0} (was it removed?)")]
    NoLink(u32),
}

impl NetError {
    pub(crate) fn netlink(op: impl Into<String>, e: rtnetlink::Error) -> NetError {
        let source = match e {
            rtnetlink::Error::NetlinkError(m) => m.to_io(),
            other => io::Error::other(other.to_string()),
        };
        NetError::Netlink {
            op: op.into(),
            source,
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> NetError {
        NetError::Io {
            op: op.into(),
            source,
        }
    }

    /// The errno behind the failure, if the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Netlink { source, .. } | NetError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the failure was for want of privilege (`EPERM`, `EACCES`).
    pub fn is_permission(&self) -> bool {
        matches!(self.errno(), Some(libc::EPERM) | Some(libc::EACCES))
    }
}
