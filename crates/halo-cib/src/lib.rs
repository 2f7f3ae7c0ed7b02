//! The cluster information base (CIB): a typed model of Pacemaker's CIB schema.
//!
//! ```text
//!   cib.xml ──Cib::from_xml──────────────────────────────────────▶ Cib (typed)
//!      │      (scan: tags as they are read; the configuration         │
//!      │       through a small tree, the status section directly)     │
//!      └──xml::parse──▶ Element tree ──Cib::from_element──▶ Cib       │
//!                           ▲                                         │
//!                           └──────────── Cib::to_element ◀───────────┘
//!   Cib a, Cib b ──diff──▶ CibDiff ──apply(a)──▶ b
//! ```
//!
//! Reading is built for large CIBs: 10,000 resources on 32 nodes make a
//! 200 MB file, nearly all of it the status section's 320,000 operation
//! history entries. Those are built as the text is read (no element tree
//! for them), by one reader that serves text and trees alike
//! (`xml::Pull`), with an XML scanner of our own (`scan`) that reads each
//! byte once.
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
mod scan;
pub mod version;
pub mod xml;

pub use diff::{Change, CibDiff};
pub use error::{CibError, ErrorKind};
pub use model::*;
pub use version::Version;
