//! The cluster information base (CIB): a typed model of Pacemaker's CIB schema.
//!
//! ```text
//!   cib.xml ──xml::parse──▶ Element tree ──Cib::from_element──▶ Cib (typed)
//!                               ▲                                  │
//!                               └────────── Cib::to_element ◀──────┘
//!   Cib a, Cib b ──diff──▶ CibDiff ──apply(a)──▶ b
//! ```
//!
//! * [`model`]: the configuration (cluster options, nodes, primitives, groups,
//!   clones, defaults, location/colocation/order constraints with resource sets
//!   and rules, fencing topology, alerts) and the status (node states, resource
//!   operation history, transient attributes). Reading rejects any element or
//!   attribute it does not know with an error naming it and its line: halo never
//!   silently ignores configuration. Writing produces indented XML that reads back
//!   into an equal model.
//! * [`version`]: `(admin_epoch, epoch, num_updates)` and Pacemaker's ordering.
//! * [`diff`]: changes between two CIBs and applying them (for replication).
//! * [`haresources`]: importing a heartbeat v1 `haresources` cluster.
//!
//! Pure: no I/O; callers read and write files.

pub mod diff;
pub mod error;
pub mod haresources;
pub mod model;
mod read;
pub mod version;
pub mod xml;

pub use diff::{Change, CibDiff};
pub use error::{CibError, ErrorKind};
pub use model::*;
pub use version::Version;
