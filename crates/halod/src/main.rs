//! halod, the halo node daemon: wires the engines to sockets, clock and processes.

fn main() {}
