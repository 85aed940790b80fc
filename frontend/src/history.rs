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

/// Where one series stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// A request is on its way.
    pending: bool,
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
    /// is due: none while one is on its way, once the server has none older, or once the series
    /// is full.
    pub fn want_older(&mut self, symbol: &Symbol, series: &CandleSeries) -> Option<ClientMessage> {
        let before = series.iter().next()?.start;
        let progress = self
            .series
            .entry((symbol.clone(), series.interval()))
            .or_default();
        if progress.pending || progress.complete || series.is_full() {
            return None;
        }
        progress.pending = true;
        Some(ClientMessage::History(HistoryRequest {
            symbol: symbol.clone(),
            interval: series.interval(),
            before,
            limit: PAGE_CANDLES,
        }))
    }

    /// Notes that `page` arrived and added `added` candles to its series. A page that added
    /// nothing ends the series' history too, so a client never asks for the same page twice.
    pub fn received(&mut self, page: &HistoryPage, added: usize) {
        let progress = self
            .series
            .entry((page.symbol.clone(), page.interval))
            .or_default();
        progress.pending = false;
        progress.complete |= page.complete || added == 0;
    }

    /// Forgets everything: after a reconnect (requests on the old connection are lost, and a
    /// restarted server may hold other candles) or a reset of the data.
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
            symbol: Symbol::new("AAPL").unwrap(),
            interval: Interval::S1,
            candles: Vec::new(),
            complete,
        }
    }

    #[test]
    fn one_request_at_a_time_for_the_candles_before_the_oldest() {
        let aapl = Symbol::new("AAPL").unwrap();
        let held = series([5_000, 6_000], 100);
        let mut book = HistoryBook::default();
        let Some(ClientMessage::History(request)) = book.want_older(&aapl, &held) else {
            panic!("a request");
        };
        assert_eq!((request.before, request.limit), (5_000, PAGE_CANDLES));
        assert_eq!(
            book.want_older(&aapl, &held),
            None,
            "one on its way already"
        );
        book.received(&page(false), 10);
        assert!(book.want_older(&aapl, &held).is_some(), "the next page");
    }

    #[test]
    fn no_request_once_complete_empty_or_full() {
        let aapl = Symbol::new("AAPL").unwrap();
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl, &held);
        book.received(&page(true), 10);
        assert_eq!(book.want_older(&aapl, &held), None, "complete");

        let mut book = HistoryBook::default();
        book.want_older(&aapl, &held);
        book.received(&page(false), 0);
        assert_eq!(
            book.want_older(&aapl, &held),
            None,
            "a page that added nothing"
        );

        let full = series([1_000, 2_000], 2);
        assert_eq!(
            HistoryBook::default().want_older(&aapl, &full),
            None,
            "full"
        );
        let empty = series([], 2);
        assert_eq!(
            HistoryBook::default().want_older(&aapl, &empty),
            None,
            "nothing held"
        );
    }

    #[test]
    fn clearing_asks_again() {
        let aapl = Symbol::new("AAPL").unwrap();
        let held = series([5_000], 100);
        let mut book = HistoryBook::default();
        book.want_older(&aapl, &held);
        book.clear();
        assert!(book.want_older(&aapl, &held).is_some());
    }
}
