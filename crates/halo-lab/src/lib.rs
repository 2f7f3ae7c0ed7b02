//! Multi-host test lab on one machine: network namespaces, bridges without uplink, serial pty pairs, nftables cuts.
