//! Cluster information base: typed model of Pacemaker's CIB schema, XML read/write, versions and diffs. Pure.
