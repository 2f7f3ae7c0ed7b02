//! Identifiers shared by every halo crate. No I/O, no clocks.
//!
//! These types are deliberately small: a name, a number, a state. Anything with
//! behaviour lives in the crate that owns the behaviour.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest node or cluster name we accept. Names travel in every packet header,
/// so they are bounded; 64 is the host-name limit of Linux (`HOST_NAME_MAX`).
pub const MAX_NAME_LEN: usize = 64;

/// Why a string is not a valid node or cluster name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("name is {0} bytes long, at most {MAX_NAME_LEN} are allowed")]
    TooLong(usize),
    /// The name holds a character outside `[A-Za-z0-9._-]`.
    #[error("name contains {0:?}; only letters, digits, '.', '_' and '-' are allowed")]
    BadChar(char),
}

fn check_name(s: &str) -> Result<String, NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NameError::BadChar(c));
    }
    Ok(s.to_ascii_lowercase())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and lower-cases `s`.
            pub fn new(s: &str) -> Result<Self, NameError> {
                check_name(s).map(Self)
            }

            /// The name as a string slice (always lower case).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::new(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A node's name: lower-cased, like heartbeat does, so `Node1` and `node1` are one node.
    NodeName
);
name_type!(
    /// A cluster's name. Packets of another cluster are dropped and counted.
    ClusterName
);

impl Default for ClusterName {
    fn default() -> Self {
        ClusterName("default".to_string())
    }
}

/// A point on a monotonic clock, as the time since an arbitrary origin (in `halod`, its
/// start). Pure engines never read a clock: the caller passes `now` as a `Timestamp`, so
/// tests and the simulator drive time to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The time `d` after the origin.
    pub const fn from_duration(d: Duration) -> Self {
        Timestamp(d)
    }

    /// The time `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(Duration::from_millis(ms))
    }

    /// Time since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// Whole milliseconds since the origin.
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    /// Saturating: a later `rhs` gives zero rather than a panic.
    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0.as_secs(), self.0.subsec_micros())
    }
}

/// A node's generation: incremented and persisted on every start of `halod`, so that
/// peers can tell a restart from a replay and reset what they knew about the node.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Generation(pub u64);

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A node's state as the administrator sees it (`halo status`), named as in heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Never heard since we started.
    Init,
    /// Heard, but the node has not finished starting up.
    Up,
    /// Heard and fully started.
    Active,
    /// Silent for longer than its deadtime, or it left the cluster.
    Dead,
    /// A ping node (ICMP pseudo-member) that answers.
    Ping,
}

impl NodeState {
    /// The lower-case name used in status output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Init => "init",
            NodeState::Up => "up",
            NodeState::Active => "active",
            NodeState::Dead => "dead",
            NodeState::Ping => "ping",
        }
    }

    /// Whether the node counts as alive (heard within its deadtime).
    pub fn is_alive(self) -> bool {
        matches!(self, NodeState::Up | NodeState::Active | NodeState::Ping)
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one link (medium) to one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Heard on this link within the peer's deadtime.
    Up,
    /// Silent on this link for longer than the deadtime (or never heard).
    Dead,
}

impl LinkState {
    /// The lower-case name used in status output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Dead => "dead",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How packets are authenticated (`authkeys` methods).
///
/// `Crc` is accepted for compatibility with heartbeat's files but authenticates nothing:
/// anyone who can send a packet can forge one. Everything that reads it must warn loudly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// HMAC-SHA256; halo's default.
    Sha256,
    /// HMAC-SHA1, as heartbeat.
    Sha1,
    /// HMAC-MD5, as heartbeat.
    Md5,
    /// CRC-32: detects corruption, authenticates nothing.
    Crc,
}

impl AuthMethod {
    /// The name used in `authkeys`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Sha256 => "sha256",
            AuthMethod::Sha1 => "sha1",
            AuthMethod::Md5 => "md5",
            AuthMethod::Crc => "crc",
        }
    }

    /// Whether the method needs a secret key (all but `crc`).
    pub fn needs_key(self) -> bool {
        !matches!(self, AuthMethod::Crc)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `authkeys` method name we do not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown authentication method {0:?}; expected sha256, sha1, md5 or crc")]
pub struct UnknownAuthMethod(pub String);

impl FromStr for AuthMethod {
    type Err = UnknownAuthMethod;
    fn from_str(s: &str) -> Result<Self, UnknownAuthMethod> {
        match s.to_ascii_lowercase().as_str() {
            "sha256" => Ok(AuthMethod::Sha256),
            "sha1" => Ok(AuthMethod::Sha1),
            "md5" => Ok(AuthMethod::Md5),
            "crc" => Ok(AuthMethod::Crc),
            _ => Err(UnknownAuthMethod(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_and_validated() {
        assert_eq!(NodeName::new("Node1").unwrap().as_str(), "node1");
        assert_eq!(NodeName::new(""), Err(NameError::Empty));
        assert_eq!(NodeName::new("a b"), Err(NameError::BadChar(' ')));
        assert_eq!(NodeName::new(&"x".repeat(65)), Err(NameError::TooLong(65)));
        assert!(NodeName::new(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn names_round_trip_through_json_and_reject_bad_input() {
        let n: NodeName = serde_json::from_str("\"Alpha\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"alpha\"");
        assert!(serde_json::from_str::<NodeName>("\"a/b\"").is_err());
    }

    #[test]
    fn timestamps_add_and_subtract_saturating() {
        let t = Timestamp::from_millis(1500);
        assert_eq!(t + Duration::from_millis(500), Timestamp::from_millis(2000));
        assert_eq!(t - Timestamp::from_millis(500), Duration::from_millis(1000));
        assert_eq!(Timestamp::from_millis(500) - t, Duration::ZERO);
        assert_eq!(t.to_string(), "1.500000s");
    }

    #[test]
    fn states_serialise_lowercase() {
        assert_eq!(
            serde_json::to_string(&NodeState::Active).unwrap(),
            "\"active\""
        );
        assert_eq!(serde_json::to_string(&LinkState::Dead).unwrap(), "\"dead\"");
        assert!(NodeState::Ping.is_alive());
        assert!(!NodeState::Init.is_alive());
    }
}
