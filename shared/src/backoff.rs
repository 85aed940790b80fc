//! Reconnect delays: exponential backoff with full jitter.

use std::time::Duration;

/// Delay policy between reconnect attempts.
///
/// The n-th delay is drawn uniformly between [`Backoff::floor`] and `min(cap, base · 2ⁿ)`
/// ("full jitter"), so that many clients dropped at once spread their reconnects over the
/// whole window instead of arriving together.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    floor: Duration,
    attempt: u32,
}

impl Default for Backoff {
    /// 0.5 s doubling up to 30 s, never below 100 ms.
    fn default() -> Self {
        Backoff::new(
            Duration::from_millis(500),
            Duration::from_secs(30),
            Duration::from_millis(100),
        )
    }
}

impl Backoff {
    /// A policy starting at `base`, growing to at most `cap`, never below `floor`.
    pub fn new(base: Duration, cap: Duration, floor: Duration) -> Self {
        Backoff {
            base,
            cap,
            floor,
            attempt: 0,
        }
    }

    /// Failed attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The upper bound of the next delay.
    pub fn window(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        self.base
            .saturating_mul(factor)
            .min(self.cap)
            .max(self.floor)
    }

    /// The delay before the next attempt, given `unit`, a uniform random number in `[0, 1)`;
    /// counts one more failed attempt.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let window = self.window();
        self.attempt = self.attempt.saturating_add(1);
        let span = window.saturating_sub(self.floor);
        self.floor + span.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Forgets the failures after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_doubles_up_to_the_cap() {
        let mut backoff = Backoff::default();
        let windows: Vec<u64> = (0..8)
            .map(|_| {
                let window = backoff.window().as_millis() as u64;
                backoff.next_delay(0.5);
                window
            })
            .collect();
        assert_eq!(
            windows,
            vec![500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
    }

    #[test]
    fn delays_span_the_whole_window() {
        let mut low = Backoff::default();
        let mut high = Backoff::default();
        for _ in 0..3 {
            low.next_delay(0.0);
            high.next_delay(0.999_999);
        }
        assert_eq!(low.next_delay(0.0), Duration::from_millis(100));
        assert!(high.next_delay(0.999_999) > Duration::from_millis(3_990));
    }

    #[test]
    fn reset_starts_over_and_huge_attempt_counts_do_not_overflow() {
        let mut backoff = Backoff::default();
        for _ in 0..1_000 {
            backoff.next_delay(1.0);
        }
        assert_eq!(backoff.window(), Duration::from_secs(30));
        backoff.reset();
        assert_eq!(backoff.attempt(), 0);
        assert_eq!(backoff.window(), Duration::from_millis(500));
    }
}
