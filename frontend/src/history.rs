//! History on demand: when the chart reaches back to the oldest candle held, the page before it
//! is asked of the server, one request at a time per symbol and interval, and none once the
//! server has said it holds nothing older or the series is as long as it may grow. Pure;
//! unit-tested natively.

use std::collections::HashMap;

use ticker_shared::{
    CandleSeries, ClientMessage, HistoryPage, HistoryRequest, Interval, MAX_HISTORY_CANDLES, Symbol,
};

/// Candles asked for at a time: a few screens at the default zoom.
pub const PAGE_CANDLES: u32 = 300;
const _: () = assert!(
    PAGE_CANDLES <= MAX_HISTORY_CANDLES,
    "the server serves the page whole"
);

/// How long a request may go unanswered before it is asked again (a refusal, or a frame the
/// rate limit dropped, is never answered).
pub const REQUEST_TIMEOUT_MS: f64 = 5_000.0;

/// Where one series stands.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Progress {
    /// The request on its way: the `before` it asked for and when it was sent (page clock).
    asked: Option<(i64, f64)>,
    /// Nothing older is to be had.
    complete: bool,
}

/// The progress of every series' history, by symbol and interval.
#[derive(Debug, Clone, Default)]
pub struct HistoryBook {
    series: HashMap<(Symbol, Interval), Progress>,
}

impl HistoryBook {
    /// The request for the candles before the oldest of `series` (candles of `symbol`), if one
    /// is due at `now` (page clock, ms): none while one is on its way (for up to
    /// [`REQUEST_TIMEOUT_MS`]), once the server has none older, or once the series is full.
    pub fn want_older(
        &mut self,
        symbol: &Symbol,
        series: &CandleSeries,
        now: f64,
    ) -> Option<ClientMessage> {
        let before = series.iter().next()?.start;
        let progress = self
            .series
            .entry((symbol.clone(), series.interval()))
            .or_default();
        let waiting = progress
            .asked
            .is_some_and(|(_, at)| now - at < REQUEST_TIMEOUT_MS);
        if waiting || progress.complete || series.is_full() {
            return None;
        }
        progress.asked = Some((before, now));
        Some(ClientMessage::History(HistoryRequest {
            symbol: symbol.clone(),
            interval: series.interval(),
            before,
            limit: PAGE_CANDLES,
        }))
    }

    /// Whether `page` answers the request for the series whose oldest candle starts at
    /// `oldest` now, so it belongs right in front of it. A page asked for before the series was
    /// replaced (a snapshot) would leave a hole, and is dropped.
    pub fn accept(&mut self, page: &HistoryPage, oldest: Option<i64>) -> bool {
        let Some(progress) = self.series.get_mut(&(page.symbol.clone(), page.interval)) else {
            return false;
        };
        progress
            .asked
            .take()
            .is_some_and(|(before, _)| Some(before) == oldest)
    }

    /// Notes that an accepted `page` added `added` candles to its series. A page that added
    /// nothing ends the series' history too, so a client never asks for the same page twice.
    pub fn received(&mut self, page: &HistoryPage, added: usize) {
        let progress = self
            .series
            .entry((page.symbol.clone(), page.interval))
            .or_default();
        progress.complete |= page.complete || added == 0;
    }

    /// Forgets `symbol`'s series: a snapshot replaced them.
    pub fn forget(&mut self, symbol: &Symbol) {
        self.series.retain(|(held, _), _| held != symbol);
    }

    /// Forgets the requests on their way (the server refused one, or dropped it): each series
    /// may ask again.
    pub fn release(&mut self) {
        for progress in self.series.values_mut() {
            progress.asked = None;
        }
    }

    /// Forgets everything: after a reconnect (requests on the old connection are lost, and a
    /// restarted server may hold other candles).
    pub fn clear(&mut self) {
        self.series.clear();
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Candle, Price};

    use super::*;

    fn series(starts: impl IntoIterator<Item = i64>, capacity: usize) -> CandleSeries {
        let mut series = CandleSeries::new(Interval::S1, capacity);
        series.replace_all(starts.into_iter().map(|start| Candle {
            start,
            open: Price(1),
            high: Price(1),
            low: Price(1),
            close: Price(1),
            volume: 1,
        }));
        series
    }

    fn page(complete: bool) -> HistoryPage {
        HistoryPage {
            symbol: aapl(),
            interval: Interval::S1,
            candles: Vec::new(),
            complete,
        }
    }

    fn aapl() -> Symbol {
        Symbol::new("AAPL").unwrap()
    }

    #[test]
    fn one_request_at_a_time_for_the_candles_before_the_oldest() {
        let held = series([5_000, 6_000], 100);
        let mut book = HistoryBook::default();
        let Some(ClientMessage::History(request)) = book.want_older(&aapl(), &held, 0.0) else {
            panic!("a request");
        };
        assert_eq!((request.before, request.limit), (5_000, PAGE_CANDLES));
        assert_eq!(
            book.want_older(&aapl(), &held, 10.0),
            None,
            "one on its way already"
        );
        assert!(book.accept(&page(false), Some(5_000)));
        book.received(&page(false), 10);
        assert!(
            book.want_older(&aapl(), &held, 20.0).is_some(),
            "the next page"
        );
    }

    #[test]
    fn an_unanswered_request_is_asked_again_after_the_timeout_or_a_release() {
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl(), &held, 0.0);
        assert_eq!(
            book.want_older(&aapl(), &held, REQUEST_TIMEOUT_MS - 1.0),
            None
        );
        assert!(
            book.want_older(&aapl(), &held, REQUEST_TIMEOUT_MS)
                .is_some()
        );
        book.release();
        assert!(
            book.want_older(&aapl(), &held, REQUEST_TIMEOUT_MS + 1.0)
                .is_some()
        );
    }

    #[test]
    fn a_page_for_a_series_replaced_since_is_dropped() {
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl(), &held, 0.0);
        assert!(
            !book.accept(&page(false), Some(7_000)),
            "the oldest is another now"
        );
        assert!(
            !book.accept(&page(false), Some(5_000)),
            "and it was not asked again"
        );
        book.want_older(&aapl(), &held, 1.0);
        book.forget(&aapl());
        assert!(
            !book.accept(&page(false), Some(5_000)),
            "forgotten with a snapshot"
        );
    }

    #[test]
    fn no_request_once_complete_empty_or_full() {
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl(), &held, 0.0);
        book.received(&page(true), 10);
        assert_eq!(book.want_older(&aapl(), &held, 1.0), None, "complete");

        let mut book = HistoryBook::default();
        book.want_older(&aapl(), &held, 0.0);
        book.received(&page(false), 0);
        assert_eq!(
            book.want_older(&aapl(), &held, 1.0),
            None,
            "a page that added nothing"
        );

        let full = series([1_000, 2_000], 2);
        assert_eq!(
            HistoryBook::default().want_older(&aapl(), &full, 0.0),
            None,
            "full"
        );
        let empty = series([], 2);
        assert_eq!(
            HistoryBook::default().want_older(&aapl(), &empty, 0.0),
            None,
            "nothing held"
        );
    }

    #[test]
    fn a_snapshot_or_a_reconnect_asks_again() {
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl(), &held, 0.0);
        book.received(&page(true), 10);
        book.forget(&aapl());
        assert!(book.want_older(&aapl(), &held, 1.0).is_some());
        book.clear();
        assert!(book.want_older(&aapl(), &held, 2.0).is_some());
    }
}
