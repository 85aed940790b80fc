//! What the `aria-live` region says about the selected symbol, and how often: a price change
//! at most once every [`ANNOUNCE_INTERVAL_MS`], so a screen reader is informed without being
//! flooded. Pure, unit-tested natively.

use ticker_shared::{Symbol, price::format_bps};

use crate::state::QuoteRow;

/// Least time between two announcements, in milliseconds.
pub const ANNOUNCE_INTERVAL_MS: f64 = 5_000.0;

/// The announcement of `symbol` at `quote`: "MSFT 412.10, +0.52%".
pub fn announcement(symbol: &Symbol, quote: &QuoteRow) -> String {
    match quote.change_bps {
        Some(bps) => format!("{symbol} {}, {}", quote.last, format_bps(bps)),
        None => format!("{symbol} {}", quote.last),
    }
}

/// Decides when something new may be said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Announcer {
    said_at: Option<f64>,
    said: String,
}

impl Announcer {
    /// Offers `text` at page time `now`: returned if it differs from the last announcement
    /// and the interval has passed since it, else `None` (offer again later).
    pub fn offer(&mut self, text: String, now: f64) -> Option<String> {
        let rested = self
            .said_at
            .is_none_or(|said| now - said >= ANNOUNCE_INTERVAL_MS);
        if !rested || text == self.said {
            return None;
        }
        self.said_at = Some(now);
        self.said = text.clone();
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::Price;

    use super::*;
    use crate::state::Flash;

    fn quote(last: i64) -> QuoteRow {
        QuoteRow {
            last: Price(last),
            change: Price(last - 10_000),
            change_bps: Some(last - 10_000),
            high: Price(last),
            low: Price(last),
            volume: 1,
            flash: Flash::default(),
        }
    }

    #[test]
    fn names_the_symbol_its_price_and_its_change() {
        let msft = Symbol::new("MSFT").unwrap();
        assert_eq!(announcement(&msft, &quote(10_052)), "MSFT 100.52, +0.52%");
    }

    #[test]
    fn speaks_at_most_once_per_interval_and_never_repeats_itself() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.offer("A 1".into(), 0.0).as_deref(), Some("A 1"));
        assert_eq!(announcer.offer("A 2".into(), 4_999.0), None, "too soon");
        assert_eq!(announcer.offer("A 1".into(), 6_000.0), None, "nothing new");
        assert_eq!(
            announcer.offer("B 3".into(), 6_000.0).as_deref(),
            Some("B 3")
        );
        assert_eq!(announcer.offer("A 2".into(), 10_999.0), None);
        assert!(announcer.offer("A 2".into(), 11_000.0).is_some());
    }
}
