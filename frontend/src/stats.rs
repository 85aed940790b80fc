//! Live figures for the status bar: tick latency percentiles and ticks per second.

use std::collections::VecDeque;

/// The most recent latency samples (milliseconds), for percentiles.
#[derive(Debug, Clone)]
pub struct LatencyWindow {
    samples: VecDeque<f64>,
    capacity: usize,
}

impl LatencyWindow {
    /// A window of the last `capacity` samples.
    pub fn new(capacity: usize) -> Self {
        LatencyWindow {
            samples: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Adds one sample.
    pub fn record(&mut self, millis: f64) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(millis);
    }

    /// The `p`-th percentile (0–100) by nearest rank, or `None` with no samples.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        Some(sorted[rank.clamp(1, sorted.len()) - 1])
    }
}

/// Counts events over a sliding window to give a rate per second.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_ms: f64,
    events: VecDeque<(f64, u32)>,
}

impl RateMeter {
    /// A meter averaging over the last `window_ms` milliseconds.
    pub fn new(window_ms: f64) -> Self {
        RateMeter {
            window_ms,
            events: VecDeque::new(),
        }
    }

    /// Records `count` events at `now_ms`.
    pub fn record(&mut self, now_ms: f64, count: u32) {
        self.events.push_back((now_ms, count));
        self.expire(now_ms);
    }

    /// Events per second over the window ending at `now_ms`.
    pub fn per_second(&mut self, now_ms: f64) -> f64 {
        self.expire(now_ms);
        let total: u32 = self.events.iter().map(|&(_, count)| count).sum();
        f64::from(total) * 1_000.0 / self.window_ms
    }

    fn expire(&mut self, now_ms: f64) {
        while self
            .events
            .front()
            .is_some_and(|&(at, _)| at <= now_ms - self.window_ms)
        {
            self.events.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut window = LatencyWindow::new(100);
        assert_eq!(window.percentile(50.0), None);
        for ms in 1..=100 {
            window.record(f64::from(ms));
        }
        assert_eq!(window.percentile(50.0), Some(50.0));
        assert_eq!(window.percentile(99.0), Some(99.0));
        assert_eq!(window.percentile(100.0), Some(100.0));
        window.record(1_000.0);
        assert_eq!(
            window.percentile(0.0),
            Some(2.0),
            "the oldest sample left the window"
        );
    }

    #[test]
    fn the_rate_counts_only_the_window() {
        let mut meter = RateMeter::new(1_000.0);
        meter.record(0.0, 10);
        meter.record(500.0, 20);
        assert_eq!(meter.per_second(900.0), 30.0);
        assert_eq!(meter.per_second(1_200.0), 20.0);
        assert_eq!(meter.per_second(5_000.0), 0.0);
    }
}
