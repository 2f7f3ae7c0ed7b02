//! halo, the administrator's command.

fn main() {}
