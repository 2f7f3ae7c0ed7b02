//! What a process costs, from /proc: resident memory (RSS and PSS from
//! `/proc/PID/smaps_rollup`) and CPU time (utime + stime from `/proc/PID/stat`, all
//! threads).

use std::time::Duration;

use crate::error::{BenchError, Result};

/// Resident memory of one process, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size: every page mapped and present, shared ones in full.
    pub rss_kib: u64,
    /// Proportional set size: shared pages divided among the processes sharing them.
    pub pss_kib: u64,
}

impl std::ops::Add for Memory {
    type Output = Memory;
    fn add(self, o: Memory) -> Memory {
        Memory {
            rss_kib: self.rss_kib + o.rss_kib,
            pss_kib: self.pss_kib + o.pss_kib,
        }
    }
}

/// RSS and PSS of `pid`.
pub fn memory(pid: u32) -> Result<Memory> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
    Ok(parse_smaps_rollup(&text))
}

/// The `Rss:` and `Pss:` lines of smaps_rollup.
pub fn parse_smaps_rollup(text: &str) -> Memory {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("Rss:"),
        pss_kib: field("Pss:"),
    }
}

/// CPU time `pid` has used (user + system, every thread).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
    let ticks = parse_stat_ticks(&text).ok_or_else(|| BenchError::Daemon {
        host: path.clone(),
        message: "unreadable /proc stat line".into(),
    })?;
    Ok(ticks_to_duration(ticks))
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, so index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0)
        .unwrap_or(100);
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_smaps_rollup() {
        let text = "55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:                4704 kB\nPss:                1704 kB\nPss_Dirty:  900 kB\n";
        assert_eq!(
            parse_smaps_rollup(text),
            Memory {
                rss_kib: 4704,
                pss_kib: 1704
            }
        );
    }

    #[test]
    fn parses_stat_past_odd_names() {
        let stat = "123 (a b) c) S 1 123 123 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat_ticks(stat), Some(12));
    }

    #[test]
    fn own_process_is_measurable() {
        let me = std::process::id();
        assert!(memory(me).unwrap().rss_kib > 0);
        cpu_time(me).unwrap();
    }
}
