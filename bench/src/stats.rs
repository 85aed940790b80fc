//! Latency percentiles, exact from samples or from a compact histogram, and rates.

use serde::Serialize;

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Worst.
    pub max: f64,
}

impl Latency {
    /// Percentiles of `samples` (nearest rank).
    pub fn of(mut samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Latency {
            count: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Width of the fine buckets of a [`Histogram`], in milliseconds.
const FINE_BUCKET_MS: f64 = 0.01;
/// Latencies below this many milliseconds go to fine buckets (10,000 of them).
const FINE_LIMIT_MS: f64 = 100.0;
/// Width of the coarse buckets above [`FINE_LIMIT_MS`], in milliseconds.
const COARSE_BUCKET_MS: f64 = 1.0;
/// Latencies above this many milliseconds share the last bucket (the exact maximum is kept).
const COARSE_LIMIT_MS: f64 = 60_000.0;
/// Fine buckets.
const FINE_BUCKETS: usize = (FINE_LIMIT_MS / FINE_BUCKET_MS) as usize;
/// Every bucket.
const BUCKETS: usize =
    FINE_BUCKETS + ((COARSE_LIMIT_MS - FINE_LIMIT_MS) / COARSE_BUCKET_MS) as usize;

/// Latency samples kept compactly: counts in 0.01 ms buckets up to 100 ms, 1 ms buckets up
/// to 60 s, plus the exact maximum. A load run sees millions of ticks; this keeps a few KiB per
/// client (the vector grows only as far as the highest latency seen) and merges by addition.
/// Percentiles read from it are the upper edge of their bucket (never below the true value by
/// more than one bucket width, never above the maximum).
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    max: f64,
    /// Samples below zero (counted in the first bucket): the sender's clock ran ahead.
    pub negative: u64,
}

impl Histogram {
    /// Records one latency in milliseconds.
    pub fn record(&mut self, ms: f64) {
        if ms < 0.0 {
            self.negative += 1;
        }
        let index = bucket_of(ms);
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
        if self.count == 0 || ms > self.max {
            self.max = ms;
        }
        self.count += 1;
    }

    /// Adds `other`'s samples to these.
    pub fn merge(&mut self, other: &Histogram) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        if other.count > 0 && (self.count == 0 || other.max > self.max) {
            self.max = other.max;
        }
        self.count += other.count;
        self.negative += other.negative;
    }

    /// The `q` quantile (nearest rank), as its bucket's upper edge capped at the maximum.
    fn quantile(&self, q: f64) -> f64 {
        let rank = ((self.count as f64 * q).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_edge(index).min(self.max);
            }
        }
        self.max
    }

    /// The percentiles.
    pub fn latency(&self) -> Latency {
        if self.count == 0 {
            return Latency::default();
        }
        Latency {
            count: self.count as usize,
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }
}

/// The bucket of a latency of `ms` milliseconds.
fn bucket_of(ms: f64) -> usize {
    if ms < FINE_LIMIT_MS {
        (ms.max(0.0) / FINE_BUCKET_MS) as usize
    } else {
        (FINE_BUCKETS + ((ms - FINE_LIMIT_MS) / COARSE_BUCKET_MS) as usize).min(BUCKETS - 1)
    }
}

/// The upper edge of bucket `index`, in milliseconds.
fn upper_edge(index: usize) -> f64 {
    if index < FINE_BUCKETS {
        // Dividing by the whole number of buckets per millisecond keeps 2.76 from printing as
        // 2.7600000000000002.
        (index + 1) as f64 / (1.0 / FINE_BUCKET_MS).round()
    } else if index + 1 < BUCKETS {
        FINE_LIMIT_MS + (index + 1 - FINE_BUCKETS) as f64 * COARSE_BUCKET_MS
    } else {
        f64::INFINITY
    }
}

/// `count` events over `seconds`, per second (0 for an empty window).
pub fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let latency = Latency::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(
            (
                latency.count,
                latency.p50,
                latency.p90,
                latency.p99,
                latency.max
            ),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Latency::of(Vec::new()).count, 0);
    }

    #[test]
    fn histogram_percentiles_are_bucket_upper_edges_capped_at_the_max() {
        let mut histogram = Histogram::default();
        for i in 1..=100 {
            histogram.record(f64::from(i) * 0.1 - 0.005);
        }
        let latency = histogram.latency();
        assert_eq!(latency.count, 100);
        assert!((latency.p50 - 5.0).abs() < 1e-9, "{latency:?}");
        assert!((latency.p90 - 9.0).abs() < 1e-9, "{latency:?}");
        assert!((latency.p99 - 9.9).abs() < 1e-9, "{latency:?}");
        assert!((latency.max - 9.995).abs() < 1e-9, "{latency:?}");
        assert_eq!(Histogram::default().latency().count, 0);
    }

    #[test]
    fn histogram_agrees_with_exact_percentiles_within_a_bucket() {
        let samples: Vec<f64> = (0..10_000).map(|i| f64::from(i % 997) * 0.037).collect();
        let mut histogram = Histogram::default();
        samples.iter().for_each(|&ms| histogram.record(ms));
        let (exact, approx) = (Latency::of(samples), histogram.latency());
        for (e, a) in [
            (exact.p50, approx.p50),
            (exact.p90, approx.p90),
            (exact.p99, approx.p99),
        ] {
            assert!(
                a >= e && a - e <= FINE_BUCKET_MS + 1e-9,
                "{exact:?} {approx:?}"
            );
        }
        assert_eq!(exact.max, approx.max);
    }

    #[test]
    fn slow_and_negative_samples_land_in_coarse_and_first_buckets() {
        let mut histogram = Histogram::default();
        histogram.record(-0.4);
        histogram.record(150.5);
        histogram.record(1e9);
        assert_eq!(histogram.negative, 1);
        assert_eq!(bucket_of(-0.4), 0);
        assert_eq!(upper_edge(bucket_of(150.5)), 151.0);
        assert_eq!(bucket_of(1e9), BUCKETS - 1);
        let latency = histogram.latency();
        assert_eq!((latency.p50, latency.max), (151.0, 1e9));
    }

    #[test]
    fn merged_histograms_count_everything_and_keep_the_max() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        a.record(1.0);
        b.record(3.0);
        b.record(250.0);
        a.merge(&b);
        a.merge(&Histogram::default());
        assert_eq!(a.latency().count, 3);
        assert_eq!(a.latency().max, 250.0);
    }

    #[test]
    fn rates_are_per_second_and_zero_for_an_empty_window() {
        assert_eq!(per_second(500, 2.0), 250.0);
        assert_eq!(per_second(5, 0.0), 0.0);
    }
}
