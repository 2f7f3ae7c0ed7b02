//! Tunables of the reliable messaging engine, with defaults for a LAN.

use std::time::Duration;

use halo_wire::{MAX_DATA_OVERHEAD, MAX_PACKET_LEN};

/// The default fragment payload: what fits a 1500-byte MTU after the IPv6 and UDP
/// headers and the largest possible halo header, data fields and digest
/// (1500 − 40 − 8 − [`MAX_DATA_OVERHEAD`] = 1170 bytes).
pub const DEFAULT_FRAGMENT_SIZE: usize = 1500 - 40 - 8 - MAX_DATA_OVERHEAD;

/// The largest fragment payload a packet can carry at all.
pub const MAX_FRAGMENT_SIZE: usize = MAX_PACKET_LEN - MAX_DATA_OVERHEAD;

/// Tunables. [`Config::default`] suits a LAN; every field says what it trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Payload bytes per fragment. Larger fragments mean fewer packets but IP
    /// fragmentation (and its all-or-nothing loss) once past the MTU.
    pub fragment_size: usize,
    /// The largest message `send` accepts, in bytes.
    pub max_message_size: usize,
    /// How many fragments the sender keeps for retransmission until every live peer
    /// has acknowledged them. When full, `send` refuses with
    /// [`crate::SendError::Backpressure`]: never drops.
    pub send_window: usize,
    /// How far ahead of its next expected fragment a receiver stores fragments that
    /// arrive early (per sender). Further ones are dropped and asked for again later.
    pub recv_window: u64,
    /// How long a receiver waits to batch acknowledgements.
    pub ack_delay: Duration,
    /// A receiver acknowledges at once after this many new fragments.
    pub ack_every: u64,
    /// The first retransmission request for a gap waits a random time in
    /// `rexmit_delay_min..=rexmit_delay_max`: the missing fragment may just be late
    /// (reordered), and the randomness spreads the requests of many receivers.
    pub rexmit_delay_min: Duration,
    /// See `rexmit_delay_min`.
    pub rexmit_delay_max: Duration,
    /// While a gap remains, the receiver asks again every `rexmit_interval` plus up to
    /// half of it at random. This is the rate limit of requests per sender.
    pub rexmit_interval: Duration,
    /// A sender does not retransmit the same fragment twice within this time: several
    /// receivers missing the same fragment are served by one broadcast.
    pub rexmit_suppress: Duration,
    /// The most fragments one request makes the sender retransmit (or look at).
    pub max_rexmit_per_request: usize,
    /// A live peer that leaves data unacknowledged for this long stops holding back
    /// the sender's buffer (it can hear us no longer, though we hear it; membership
    /// sorts that out). It counts again as soon as it acknowledges.
    pub ack_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            max_message_size: 1 << 20,
            send_window: 4096,
            recv_window: 4096,
            ack_delay: Duration::from_millis(10),
            ack_every: 32,
            rexmit_delay_min: Duration::from_millis(5),
            rexmit_delay_max: Duration::from_millis(25),
            rexmit_interval: Duration::from_millis(60),
            rexmit_suppress: Duration::from_millis(20),
            max_rexmit_per_request: 256,
            ack_timeout: Duration::from_secs(10),
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `fragment_size` is 0 or larger than a packet can carry.
    #[error("fragment_size {0} is not in 1..={MAX_FRAGMENT_SIZE}")]
    FragmentSize(usize),
    /// The largest message needs more fragments than a message can have (65535) or
    /// than the send window holds.
    #[error(
        "max_message_size {size} needs {fragments} fragments, more than the send window ({window}) or 65535"
    )]
    MessageTooLargeForWindow {
        /// `max_message_size`.
        size: usize,
        /// Fragments it needs.
        fragments: usize,
        /// `send_window`.
        window: usize,
    },
    /// A window, `ack_every` or `max_rexmit_per_request` is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A period that must not be zero is zero (a timer due at once would spin).
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// `rexmit_delay_min` is above `rexmit_delay_max`.
    #[error("rexmit_delay_min is above rexmit_delay_max")]
    DelayOrder,
    /// `rexmit_suppress` is not below `rexmit_interval`: repeated requests would be
    /// ignored.
    #[error("rexmit_suppress must be shorter than rexmit_interval")]
    Suppress,
}

impl Config {
    /// Fragments a message of `len` bytes needs (an empty message still takes one).
    pub fn fragments_for(&self, len: usize) -> usize {
        len.div_ceil(self.fragment_size.max(1)).max(1)
    }

    /// Checks that the values work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.fragment_size == 0 || self.fragment_size > MAX_FRAGMENT_SIZE {
            return Err(ConfigError::FragmentSize(self.fragment_size));
        }
        for (name, v) in [
            ("send_window", self.send_window as u64),
            ("recv_window", self.recv_window),
            ("ack_every", self.ack_every),
            ("max_rexmit_per_request", self.max_rexmit_per_request as u64),
        ] {
            if v == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        let fragments = self.fragments_for(self.max_message_size);
        if fragments > self.send_window || fragments > usize::from(u16::MAX) {
            return Err(ConfigError::MessageTooLargeForWindow {
                size: self.max_message_size,
                fragments,
                window: self.send_window,
            });
        }
        for (name, d) in [
            ("ack_delay", self.ack_delay),
            ("rexmit_interval", self.rexmit_interval),
            ("ack_timeout", self.ack_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if self.rexmit_delay_min > self.rexmit_delay_max {
            return Err(ConfigError::DelayOrder);
        }
        if self.rexmit_suppress >= self.rexmit_interval {
            return Err(ConfigError::Suppress);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_fit_the_mtu() {
        Config::default().validate().unwrap();
        assert_eq!(DEFAULT_FRAGMENT_SIZE, 1170);
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(bad(|c| c.fragment_size = 0), ConfigError::FragmentSize(0));
        assert!(matches!(
            bad(|c| c.max_message_size = 100 << 20),
            ConfigError::MessageTooLargeForWindow { .. }
        ));
        assert_eq!(bad(|c| c.recv_window = 0), ConfigError::Zero("recv_window"));
        assert_eq!(
            bad(|c| c.rexmit_delay_min = Duration::from_secs(1)),
            ConfigError::DelayOrder
        );
        assert_eq!(
            bad(|c| c.rexmit_suppress = c.rexmit_interval),
            ConfigError::Suppress
        );
    }

    #[test]
    fn fragment_counts() {
        let c = Config {
            fragment_size: 10,
            ..Config::default()
        };
        assert_eq!(c.fragments_for(0), 1);
        assert_eq!(c.fragments_for(10), 1);
        assert_eq!(c.fragments_for(11), 2);
    }
}
