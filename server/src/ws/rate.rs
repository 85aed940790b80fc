//! The per-connection message rate limit: a token bucket.
//!
//! A client may send `burst` messages at once and `per_second` on average. Past that, messages
//! are dropped: the first of a run gets an error, and a client that sends another whole burst
//! while still over the limit is closed. Time is passed in, so the policy is tested without
//! clocks.

use tokio::time::Instant;

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle it.
    Allow,
    /// Over the limit: drop it; `notify` is true for the first of a run, which gets an error.
    Drop {
        /// Whether to tell the client (once per run of dropped messages).
        notify: bool,
    },
    /// Far over the limit: close the connection (1008).
    Close,
}

/// A token bucket holding up to `burst` tokens, refilled at `per_second`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
    /// Messages dropped since a token was last available.
    dropped_in_a_row: u32,
}

impl RateLimit {
    /// A full bucket at `now`.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        RateLimit {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second.max(1)),
            tokens: f64::from(burst.max(1)),
            updated: now,
            dropped_in_a_row: 0,
        }
    }

    /// Accounts for one message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.dropped_in_a_row = 0;
            return Verdict::Allow;
        }
        self.dropped_in_a_row += 1;
        if f64::from(self.dropped_in_a_row) > self.burst {
            Verdict::Close
        } else {
            Verdict::Drop {
                notify: self.dropped_in_a_row == 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_messages_drop_with_one_notice_then_the_flood_closes() {
        let start = Instant::now();
        let mut limit = RateLimit::new(10, 5, start);
        let verdicts: Vec<Verdict> = (0..11).map(|_| limit.check(start)).collect();
        assert_eq!(verdicts[..5], [Verdict::Allow; 5]);
        assert_eq!(verdicts[5], Verdict::Drop { notify: true });
        assert_eq!(verdicts[6..10], [Verdict::Drop { notify: false }; 4]);
        assert_eq!(verdicts[10], Verdict::Close);
    }

    #[test]
    fn a_client_at_the_rate_is_never_dropped() {
        let start = Instant::now();
        let mut limit = RateLimit::new(10, 2, start);
        for n in 0..1_000 {
            let now = start + Duration::from_millis(100) * n;
            assert_eq!(limit.check(now), Verdict::Allow, "message {n}");
        }
    }

    #[test]
    fn tokens_come_back_with_time_and_reset_the_run() {
        let start = Instant::now();
        let mut limit = RateLimit::new(4, 1, start);
        assert_eq!(limit.check(start), Verdict::Allow);
        assert_eq!(limit.check(start), Verdict::Drop { notify: true });
        let later = start + Duration::from_millis(250);
        assert_eq!(limit.check(later), Verdict::Allow);
        assert_eq!(limit.check(later), Verdict::Drop { notify: true });
    }
}
