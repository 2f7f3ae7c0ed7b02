//! Summaries of measured durations: min, median, p99, max.

use std::time::Duration;

/// A summary of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Sample size.
    pub n: usize,
    /// Smallest.
    pub min: Duration,
    /// Median (the mean of the two middle values when `n` is even).
    pub median: Duration,
    /// 99th percentile by nearest rank: the smallest value at or above 99 % of the
    /// sample (with fewer than 100 values, the maximum).
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl Summary {
    /// Summarise `values`; `None` when empty.
    pub fn of(values: &[Duration]) -> Option<Summary> {
        let mut v = values.to_vec();
        v.sort();
        let n = v.len();
        let first = *v.first()?;
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        };
        // Nearest rank: ceil(0.99 n), 1-based.
        let rank = (n * 99).div_ceil(100).max(1);
        Some(Summary {
            n,
            min: first,
            median,
            p99: v[rank - 1],
            max: v[n - 1],
        })
    }

    /// `median / p99 / min / max` in milliseconds with one decimal.
    pub fn cells(&self) -> [String; 4] {
        [self.median, self.p99, self.min, self.max].map(|d| format!("{:.1}", ms(d)))
    }
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn median_and_nearest_rank_p99() {
        let s = Summary::of(&ms_list(&[5, 1, 3])).unwrap();
        assert_eq!(
            (s.min, s.median, s.max),
            (ms_list(&[1])[0], ms_list(&[3])[0], ms_list(&[5])[0])
        );
        let s = Summary::of(&ms_list(&[4, 1, 3, 2])).unwrap();
        assert_eq!(s.median, Duration::from_micros(2500));
        let hundred: Vec<u64> = (1..=100).collect();
        let s = Summary::of(&ms_list(&hundred)).unwrap();
        assert_eq!(s.p99, Duration::from_millis(99));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(
            Summary::of(&ms_list(&twenty)).unwrap().p99,
            Duration::from_millis(20)
        );
        assert!(Summary::of(&[]).is_none());
    }
}
