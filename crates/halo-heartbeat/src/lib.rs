//! Failure detector: per peer and per link alive/late/dead from heartbeat arrival times. Pure; time is an argument.
