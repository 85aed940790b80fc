//! Market data: ticks, candles and the symbol universe, plus the candle arithmetic that the
//! server's aggregator and the browser's chart share so that both build identical candles.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Price, Symbol};

/// Static facts about one instrument, sent once in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolInfo {
    /// Ticker symbol, e.g. `AAPL`.
    pub symbol: Symbol,
    /// Company name, e.g. `Apple Inc.`.
    pub name: String,
    /// Smallest price increment; every price of this symbol is a multiple of it.
    pub tick_size: Price,
    /// Previous session's close: the reference for change and change %.
    pub reference_price: Price,
}

/// One trade and the quote and session statistics right after it.
///
/// `seq` is per symbol and increases by exactly 1 from one tick to the next, so a client can
/// tell a gap or a duplicate and resume after a reconnect. Sequence numbers are only meaningful
/// within one server instance (see `Hello::instance_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Instrument traded.
    pub symbol: Symbol,
    /// Per-symbol sequence number, starting at 1.
    pub seq: u64,
    /// Server time of the trade, Unix milliseconds.
    pub ts: i64,
    /// Trade (last) price.
    pub price: Price,
    /// Trade size in shares.
    pub size: u32,
    /// Best bid after the trade.
    pub bid: Price,
    /// Best ask after the trade.
    pub ask: Price,
    /// Session open price.
    pub open: Price,
    /// Session high so far.
    pub high: Price,
    /// Session low so far.
    pub low: Price,
    /// Shares traded in the session so far, this trade included.
    pub volume: u64,
}

/// A candle interval. The chart offers these, and the server aggregates candles for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Interval {
    /// One second.
    #[serde(rename = "1s")]
    S1,
    /// Five seconds.
    #[serde(rename = "5s")]
    S5,
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
}

impl Interval {
    /// Every interval, shortest first. New intervals are appended: the binary encoding names an
    /// interval by its index here.
    pub const ALL: [Interval; 4] = [Interval::S1, Interval::S5, Interval::M1, Interval::M5];

    /// Length of the interval in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            Interval::S1 => 1_000,
            Interval::S5 => 5_000,
            Interval::M1 => 60_000,
            Interval::M5 => 300_000,
        }
    }

    /// Start of the interval bucket holding `ts` (Unix milliseconds).
    pub const fn bucket_start(self, ts: i64) -> i64 {
        ts - ts.rem_euclid(self.millis())
    }

    /// The wire name, e.g. `"5s"`.
    pub const fn label(self) -> &'static str {
        match self {
            Interval::S1 => "1s",
            Interval::S5 => "5s",
            Interval::M1 => "1m",
            Interval::M5 => "5m",
        }
    }
}

/// Open, high, low, close and volume of one interval. Field names follow the common
/// market-data convention (`t`, `o`, `h`, `l`, `c`, `v`) to keep snapshots small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// Start of the interval, Unix milliseconds.
    #[serde(rename = "t")]
    pub start: i64,
    /// First trade price in the interval.
    #[serde(rename = "o")]
    pub open: Price,
    /// Highest trade price.
    #[serde(rename = "h")]
    pub high: Price,
    /// Lowest trade price.
    #[serde(rename = "l")]
    pub low: Price,
    /// Last trade price.
    #[serde(rename = "c")]
    pub close: Price,
    /// Shares traded in the interval.
    #[serde(rename = "v")]
    pub volume: u64,
}

impl Candle {
    /// A candle of `interval` opened by `tick`.
    pub fn opened_by(interval: Interval, tick: &Tick) -> Self {
        Candle {
            start: interval.bucket_start(tick.ts),
            open: tick.price,
            high: tick.price,
            low: tick.price,
            close: tick.price,
            volume: u64::from(tick.size),
        }
    }

    /// Adds a trade that falls inside this candle's interval.
    pub fn absorb(&mut self, tick: &Tick) {
        self.high = self.high.max(tick.price);
        self.low = self.low.min(tick.price);
        self.close = tick.price;
        self.volume += u64::from(tick.size);
    }
}

/// The most recent candles of one symbol at one interval, oldest first, at most `capacity`.
///
/// Built from ticks with [`CandleSeries::apply_tick`]; corrected by authoritative candles with
/// [`CandleSeries::upsert`]. Intervals without trades have no candle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleSeries {
    interval: Interval,
    capacity: usize,
    candles: VecDeque<Candle>,
}

impl CandleSeries {
    /// An empty series keeping at most `capacity` candles (at least one).
    pub fn new(interval: Interval, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        CandleSeries {
            interval,
            capacity,
            candles: VecDeque::with_capacity(capacity.min(1024)),
        }
    }

    /// The series' interval.
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// Adds a trade. When the trade opens a new interval, returns the candle it closed, which is
    /// then final. A trade older than the newest candle is ignored: ticks of one symbol arrive
    /// in time order, so such a trade was already counted.
    pub fn apply_tick(&mut self, tick: &Tick) -> Option<Candle> {
        let start = self.interval.bucket_start(tick.ts);
        match self.candles.back_mut() {
            Some(last) if last.start == start => {
                last.absorb(tick);
                None
            }
            Some(last) if last.start > start => None,
            last => {
                let closed = last.copied();
                self.push(Candle::opened_by(self.interval, tick));
                closed
            }
        }
    }

    /// Puts an authoritative candle in place: replaces the candle with the same start, or
    /// inserts it in time order.
    pub fn upsert(&mut self, candle: Candle) {
        match self.candles.iter().rposition(|c| c.start <= candle.start) {
            Some(i) if self.candles[i].start == candle.start => self.candles[i] = candle,
            Some(i) => self.candles.insert(i + 1, candle),
            None => self.candles.push_front(candle),
        }
        self.trim();
    }

    /// Replaces every candle, e.g. from a snapshot. Keeps the newest `capacity`.
    pub fn replace_all(&mut self, candles: impl IntoIterator<Item = Candle>) {
        self.candles.clear();
        self.candles.extend(candles);
        self.trim();
    }

    /// Adds older candles (oldest first, e.g. a history page) in front of those held, as far
    /// as there is room: the newest of them first, so a full series keeps the candles next to
    /// what it holds and never drops a newer one. Candles not older than the oldest held are
    /// skipped. Returns how many were added.
    pub fn prepend_older(&mut self, candles: impl DoubleEndedIterator<Item = Candle>) -> usize {
        let mut added = 0;
        for candle in candles.rev() {
            if self.candles.len() >= self.capacity {
                break;
            }
            if self
                .candles
                .front()
                .is_some_and(|first| candle.start >= first.start)
            {
                continue;
            }
            self.candles.push_front(candle);
            added += 1;
        }
        added
    }

    /// Whether the series holds as many candles as it may.
    pub fn is_full(&self) -> bool {
        self.candles.len() >= self.capacity
    }

    /// The newest `n` candles, oldest first.
    pub fn latest(&self, n: usize) -> impl Iterator<Item = &Candle> {
        self.candles
            .iter()
            .skip(self.candles.len().saturating_sub(n))
    }

    /// Every candle, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Candle> + ExactSizeIterator {
        self.candles.iter()
    }

    /// The candles that start within `from..=to` (Unix ms), oldest first; found by binary
    /// search, so the cost is that of the candles returned, not of the series.
    pub fn between(&self, from: i64, to: i64) -> impl Iterator<Item = &Candle> {
        let first = self.candles.partition_point(|c| c.start < from);
        self.candles
            .range(first..)
            .take_while(move |c| c.start <= to)
    }

    /// A page of older candles: the newest `limit` that start before `before`, oldest first,
    /// and whether they reach the oldest candle held (nothing older is left to ask for).
    pub fn page_before(&self, before: i64, limit: usize) -> (Vec<Candle>, bool) {
        let end = self.candles.partition_point(|c| c.start < before);
        let start = end.saturating_sub(limit);
        (
            self.candles.range(start..end).copied().collect(),
            start == 0,
        )
    }

    /// The newest candle, usually still open.
    pub fn last(&self) -> Option<&Candle> {
        self.candles.back()
    }

    /// Number of candles held.
    pub fn len(&self) -> usize {
        self.candles.len()
    }

    /// Whether the series holds no candle.
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    fn push(&mut self, candle: Candle) {
        self.candles.push_back(candle);
        self.trim();
    }

    fn trim(&mut self) {
        while self.candles.len() > self.capacity {
            self.candles.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(ts: i64, price: i64, size: u32) -> Tick {
        let price = Price(price);
        Tick {
            symbol: Symbol::new("TEST").unwrap(),
            seq: 1,
            ts,
            price,
            size,
            bid: price,
            ask: price,
            open: price,
            high: price,
            low: price,
            volume: 0,
        }
    }

    #[test]
    fn between_gives_the_candles_starting_in_a_range() {
        let mut series = CandleSeries::new(Interval::S1, 10);
        series.replace_all((0..5).map(|i| Candle::opened_by(Interval::S1, &tick(i * 1_000, 1, 1))));
        let starts = |from, to| {
            series
                .between(from, to)
                .map(|c| c.start)
                .collect::<Vec<_>>()
        };
        assert_eq!(starts(1_000, 3_000), vec![1_000, 2_000, 3_000]);
        assert_eq!(starts(1_001, 2_999), vec![2_000]);
        assert_eq!(starts(-5_000, 0), vec![0]);
        assert_eq!(starts(5_000, 9_000), Vec::<i64>::new());
    }

    #[test]
    fn older_candles_go_in_front_as_far_as_there_is_room() {
        let candle = |start| Candle {
            start,
            open: Price(1),
            high: Price(1),
            low: Price(1),
            close: Price(1),
            volume: 1,
        };
        let mut series = CandleSeries::new(Interval::S1, 4);
        series.replace_all([candle(5_000), candle(6_000)]);
        let page = vec![candle(1_000), candle(2_000), candle(3_000), candle(5_000)];
        assert_eq!(
            series.prepend_older(page.into_iter()),
            2,
            "5 s is held; room for two"
        );
        let starts: Vec<i64> = series.iter().map(|c| c.start).collect();
        assert_eq!(
            starts,
            vec![2_000, 3_000, 5_000, 6_000],
            "the newest of the page first"
        );
        assert!(series.is_full());
        assert_eq!(series.prepend_older([candle(0)].into_iter()), 0);
    }

    #[test]
    fn bucket_start_floors_to_the_interval() {
        assert_eq!(Interval::S1.bucket_start(1_234_567), 1_234_000);
        assert_eq!(Interval::S5.bucket_start(1_234_567), 1_230_000);
        assert_eq!(Interval::M1.bucket_start(1_234_567), 1_200_000);
        assert_eq!(Interval::M5.bucket_start(1_234_567), 1_200_000);
        assert_eq!(Interval::M5.bucket_start(1_499_999), 1_200_000);
        assert_eq!(Interval::S5.bucket_start(-1), -5_000);
    }

    #[test]
    fn ticks_build_ohlcv_and_a_new_bucket_closes_the_previous_candle() {
        let mut series = CandleSeries::new(Interval::S5, 10);
        assert_eq!(series.apply_tick(&tick(10_000, 100, 1)), None);
        assert_eq!(series.apply_tick(&tick(11_000, 105, 2)), None);
        assert_eq!(series.apply_tick(&tick(12_000, 98, 3)), None);
        assert_eq!(series.apply_tick(&tick(14_999, 101, 4)), None);
        let closed = series.apply_tick(&tick(15_000, 102, 5));
        let expected = Candle {
            start: 10_000,
            open: Price(100),
            high: Price(105),
            low: Price(98),
            close: Price(101),
            volume: 10,
        };
        assert_eq!(closed, Some(expected));
        assert_eq!(series.len(), 2);
        assert_eq!(
            series.last().map(|c| (c.start, c.open, c.volume)),
            Some((15_000, Price(102), 5))
        );
    }

    #[test]
    fn a_late_tick_is_ignored() {
        let mut series = CandleSeries::new(Interval::S1, 10);
        series.apply_tick(&tick(5_000, 100, 1));
        let before = series.clone();
        assert_eq!(series.apply_tick(&tick(4_000, 90, 1)), None);
        assert_eq!(series, before);
    }

    #[test]
    fn capacity_bounds_the_history() {
        let mut series = CandleSeries::new(Interval::S1, 3);
        for second in 0..10 {
            series.apply_tick(&tick(second * 1_000, 100 + second, 1));
        }
        let starts: Vec<i64> = series.iter().map(|c| c.start).collect();
        assert_eq!(starts, vec![7_000, 8_000, 9_000]);
        let latest: Vec<i64> = series.latest(2).map(|c| c.start).collect();
        assert_eq!(latest, vec![8_000, 9_000]);
    }

    #[test]
    fn pages_before_a_time_walk_back_to_the_oldest_candle() {
        let mut series = CandleSeries::new(Interval::S1, 100);
        for second in 10..20 {
            series.apply_tick(&tick(second * 1_000, 100, 1));
        }
        let starts = |page: &[Candle]| page.iter().map(|c| c.start / 1_000).collect::<Vec<_>>();
        let (page, complete) = series.page_before(i64::MAX, 4);
        assert_eq!((starts(&page), complete), (vec![16, 17, 18, 19], false));
        let (page, complete) = series.page_before(16_000, 4);
        assert_eq!((starts(&page), complete), (vec![12, 13, 14, 15], false));
        let (page, complete) = series.page_before(12_000, 4);
        assert_eq!((starts(&page), complete), (vec![10, 11], true));
        let (page, complete) = series.page_before(10_000, 4);
        assert_eq!((page, complete), (vec![], true), "nothing older");
        let (page, complete) = series.page_before(12_500, 2);
        assert_eq!(
            (starts(&page), complete),
            (vec![11, 12], false),
            "a time inside a candle includes that candle"
        );
        let (page, complete) = series.page_before(14_000, 4);
        assert_eq!((starts(&page), complete), (vec![10, 11, 12, 13], true));
        assert_eq!(
            CandleSeries::new(Interval::S1, 4).page_before(0, 4),
            (vec![], true)
        );
    }

    #[test]
    fn upsert_replaces_or_inserts_in_order() {
        let mut series = CandleSeries::new(Interval::S1, 4);
        for second in [1, 3, 4] {
            series.apply_tick(&tick(second * 1_000, 100, 1));
        }
        let candle = |start| Candle {
            start,
            open: Price(7),
            high: Price(7),
            low: Price(7),
            close: Price(7),
            volume: 9,
        };
        series.upsert(candle(3_000));
        series.upsert(candle(2_000));
        series.upsert(candle(0));
        let got: Vec<(i64, u64)> = series.iter().map(|c| (c.start, c.volume)).collect();
        // Capacity 4 drops the oldest after the insert at the front.
        assert_eq!(got, vec![(1_000, 1), (2_000, 9), (3_000, 9), (4_000, 1)]);
    }
}
