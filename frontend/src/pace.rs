//! How fast moving content updates (WCAG 2.2.2, pause, stop, hide): live, slowed to one update
//! every [`SLOW_INTERVAL_MS`], or paused. Data keeps being applied underneath; only the display
//! waits. The choice is kept in `localStorage`. Pure apart from the storage key.

/// Where the choice is kept (`localStorage`).
pub const STORAGE_KEY: &str = "ticker.pace";
/// In slow mode, the least time between two updates of the display, in milliseconds.
pub const SLOW_INTERVAL_MS: f64 = 2_000.0;

/// How the display follows the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// Every change at the next animation frame.
    #[default]
    Live,
    /// At most one update every [`SLOW_INTERVAL_MS`].
    Slow,
    /// Frozen until resumed; resuming shows the current state at once.
    Paused,
}

impl Pace {
    /// Every choice, in the order of the control.
    pub const ALL: [Pace; 3] = [Pace::Live, Pace::Slow, Pace::Paused];

    /// The choice as stored, and as the control's `data-pace`.
    pub fn key(self) -> &'static str {
        match self {
            Pace::Live => "live",
            Pace::Slow => "slow",
            Pace::Paused => "paused",
        }
    }

    /// Reads a stored choice; anything unknown means live.
    pub fn parse(text: &str) -> Self {
        match text {
            "slow" => Pace::Slow,
            "paused" => Pace::Paused,
            _ => Pace::Live,
        }
    }

    /// The control's text.
    pub fn label(self) -> &'static str {
        match self {
            Pace::Live => "Live",
            Pace::Slow => "Slow",
            Pace::Paused => "Pause",
        }
    }

    /// How long the display must still wait before it shows new data, given the time since it
    /// last did (ms): `Some(0.0)` now, `None` while paused.
    pub fn wait_ms(self, since_shown_ms: f64) -> Option<f64> {
        match self {
            Pace::Live => Some(0.0),
            Pace::Slow => Some((SLOW_INTERVAL_MS - since_shown_ms).max(0.0)),
            Pace::Paused => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_choice_round_trips_and_junk_means_live() {
        for pace in Pace::ALL {
            assert_eq!(Pace::parse(pace.key()), pace);
        }
        assert_eq!(Pace::parse("fast"), Pace::Live);
    }

    #[test]
    fn live_shows_at_once_slow_waits_out_its_interval_paused_never() {
        assert_eq!(Pace::Live.wait_ms(0.0), Some(0.0));
        assert_eq!(Pace::Slow.wait_ms(500.0), Some(1_500.0));
        assert_eq!(Pace::Slow.wait_ms(2_500.0), Some(0.0));
        assert_eq!(Pace::Paused.wait_ms(1e9), None);
    }
}
