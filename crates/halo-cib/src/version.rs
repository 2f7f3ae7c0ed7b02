//! CIB versions: `(admin_epoch, epoch, num_updates)`.
//!
//! Pacemaker compares versions field by field in that order: an administrator
//! bumps `admin_epoch` to force a configuration to win, every configuration change
//! bumps `epoch` (and resets `num_updates`), and every status change bumps
//! `num_updates`. The copy with the greater version wins when two copies meet.

use std::fmt;

/// A CIB version, ordered the way Pacemaker compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Administrative epoch: only ever raised by an administrator.
    pub admin_epoch: u64,
    /// Configuration epoch: raised on every configuration change.
    pub epoch: u64,
    /// Status updates since the last configuration change.
    pub num_updates: u64,
}

impl Version {
    /// A version from its three fields.
    pub const fn new(admin_epoch: u64, epoch: u64, num_updates: u64) -> Self {
        Version {
            admin_epoch,
            epoch,
            num_updates,
        }
    }

    /// The version after a configuration change: epoch + 1, num_updates = 0.
    pub fn next_epoch(self) -> Self {
        Version {
            admin_epoch: self.admin_epoch,
            epoch: self.epoch.saturating_add(1),
            num_updates: 0,
        }
    }

    /// The version after a status update: num_updates + 1.
    pub fn next_update(self) -> Self {
        Version {
            num_updates: self.num_updates.saturating_add(1),
            ..self
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.admin_epoch, self.epoch, self.num_updates
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_epoch_dominates_then_epoch_then_updates() {
        assert!(Version::new(1, 0, 0) > Version::new(0, 99, 99));
        assert!(Version::new(0, 2, 0) > Version::new(0, 1, 500));
        assert!(Version::new(0, 2, 3) > Version::new(0, 2, 2));
        assert_eq!(Version::new(0, 2, 9).next_epoch(), Version::new(0, 3, 0));
        assert_eq!(Version::new(0, 2, 9).next_update(), Version::new(0, 2, 10));
    }
}
