//! Requests and responses between the halo command and halod over the local UNIX socket; the status JSON contract.
