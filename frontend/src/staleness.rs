//! Per-symbol staleness: a symbol that has not ticked for much longer than its own usual
//! spacing is marked stale, whatever the connection does. Pure, unit-tested natively.
//!
//! Each symbol's spacing is estimated from the server timestamps of its consecutive ticks (so
//! batching, replays and a busy page do not distort it), as an exponentially weighted mean.
//! Silence is measured on the page's own clock since the symbol was last heard from, so clock
//! differences between server and browser do not matter. Ticks arrive at random (a Poisson
//! clock in the simulator): a gap of ten mean spacings happens once in about 22,000 ticks, and
//! the floor keeps fast symbols from being called stale over a hiccup of the page or network.

/// Silence never counts as stale below this, in milliseconds.
pub const STALE_FLOOR_MS: f64 = 5_000.0;
/// Silence of this many mean spacings counts as stale (above the floor).
pub const STALE_SPACINGS: f64 = 10.0;
/// Weight of each new spacing in the mean.
const SMOOTHING: f64 = 0.1;

/// One symbol's tick cadence and when it was last heard from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cadence {
    /// Server timestamp of the latest tick seen.
    last_ts: Option<i64>,
    /// Mean spacing of ticks, in milliseconds, once two ticks were seen.
    mean_spacing: Option<f64>,
    /// Page clock when the symbol was last heard from (tick, snapshot or a new session).
    heard_at: Option<f64>,
}

impl Cadence {
    /// A tick at server time `ts`, received at page time `now`. A spacing counts at most as
    /// much as the current limit, so one long stall does not make the next one look normal.
    pub fn tick(&mut self, ts: i64, now: f64) {
        if let Some(last) = self.last_ts.filter(|&last| ts >= last) {
            let spacing = ((ts - last) as f64).min(self.limit_ms());
            self.mean_spacing = Some(match self.mean_spacing {
                Some(mean) => mean + SMOOTHING * (spacing - mean),
                None => spacing,
            });
        }
        self.last_ts = Some(ts);
        self.heard_at = Some(now);
    }

    /// The symbol's state was replaced (a snapshot: fresh subscription or reset) at page time
    /// `now`; `ts` is its latest tick. The next spacing counts from it, the mean is kept.
    pub fn restart(&mut self, ts: Option<i64>, now: f64) {
        self.last_ts = ts;
        self.heard_at = Some(now);
    }

    /// A new session started at `now`: silence counts from here, not from before the outage.
    pub fn reconnected(&mut self, now: f64) {
        if self.heard_at.is_some() {
            self.heard_at = Some(now);
        }
    }

    /// Silence longer than this is stale, in milliseconds.
    pub fn limit_ms(&self) -> f64 {
        self.mean_spacing.map_or(STALE_FLOOR_MS, |mean| {
            (STALE_SPACINGS * mean).max(STALE_FLOOR_MS)
        })
    }

    /// Whether the symbol has been silent for longer than its limit at page time `now` (never
    /// before it was first heard from).
    pub fn is_stale(&self, now: f64) -> bool {
        self.heard_at
            .is_some_and(|heard| now - heard > self.limit_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_symbol_goes_stale_after_the_floor_and_clears_on_its_next_tick() {
        let mut cadence = Cadence::default();
        assert!(!cadence.is_stale(1e9), "never heard from: not stale");
        for i in 0..50 {
            cadence.tick(i * 100, i as f64 * 100.0);
        }
        assert!((cadence.limit_ms() - STALE_FLOOR_MS).abs() < 1e-9);
        assert!(!cadence.is_stale(4_900.0 + STALE_FLOOR_MS - 1.0));
        assert!(cadence.is_stale(4_900.0 + STALE_FLOOR_MS + 1.0));
        cadence.tick(60_000, 60_000.0);
        assert!(!cadence.is_stale(60_001.0));
    }

    #[test]
    fn a_slow_symbol_gets_a_limit_of_ten_spacings_and_a_stall_does_not_stretch_it() {
        let mut cadence = Cadence::default();
        for i in 0..100 {
            cadence.tick(i * 2_000, i as f64 * 2_000.0);
        }
        let limit = cadence.limit_ms();
        assert!((limit - 20_000.0).abs() < 1.0, "{limit}");
        // A ten-minute stall, then ticks again: the stall counts only up to the limit.
        cadence.tick(99 * 2_000 + 600_000, 800_000.0);
        assert!(cadence.limit_ms() < 40_000.0, "{}", cadence.limit_ms());
    }

    #[test]
    fn a_restart_or_a_new_session_counts_silence_afresh() {
        let mut cadence = Cadence::default();
        cadence.tick(0, 0.0);
        cadence.tick(100, 100.0);
        assert!(cadence.is_stale(10_000.0));
        cadence.reconnected(10_000.0);
        assert!(!cadence.is_stale(10_000.0 + STALE_FLOOR_MS - 1.0));
        cadence.restart(Some(50), 20_000.0);
        assert!(!cadence.is_stale(20_001.0));
        let before = cadence.limit_ms();
        cadence.tick(40, 20_100.0);
        assert_eq!(
            cadence.limit_ms(),
            before,
            "older than the snapshot: no spacing"
        );
        let mut silent = Cadence::default();
        silent.reconnected(5.0);
        assert!(
            !silent.is_stale(1e9),
            "a new session does not make a symbol heard"
        );
    }
}
