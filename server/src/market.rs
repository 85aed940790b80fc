//! The gateway's view of the market: per symbol, the last tick, candles at every interval and
//! a bounded history of recent ticks for gap-free resume. Pure state, no I/O; the hub owns it.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
};

use bytestring::ByteString;
use ticker_shared::{
    CandleSeries, CandleUpdate, HistoryPage, HistoryRequest, Interval, Snapshot, Tick,
    codec::encode_tick,
};
use tracing::warn;

use crate::universe::{SymbolId, Universe};

/// Candles per interval sent in a snapshot: enough to fill a chart at once. Older ones, up to
/// the market's candle depth (`--candle-history`), are sent on request (`history`).
pub const SNAPSHOT_CANDLES: usize = 120;

/// The result of applying one tick.
#[derive(Debug)]
pub struct Applied {
    /// The symbol ticked.
    pub id: SymbolId,
    /// The tick serialized once, shared by every subscriber and by the history.
    pub encoded: ByteString,
    /// Candles this tick closed (at most one per interval), now final.
    pub closed: Vec<CandleUpdate>,
}

/// What a resuming client can be given for one symbol.
#[derive(Debug)]
pub enum Replay<'a> {
    /// The client has seen the latest tick; nothing to send.
    UpToDate,
    /// The ticks after the client's last one, in order, already serialized.
    Ticks(Vec<&'a ByteString>),
    /// The history no longer holds the next tick (or the client is ahead): send a snapshot.
    Unavailable,
}

/// Per-symbol market state for every symbol of a [`Universe`].
#[derive(Debug)]
pub struct Market {
    universe: Arc<Universe>,
    books: Vec<Book>,
    history_len: usize,
}

/// One symbol's state.
#[derive(Debug)]
struct Book {
    last: Option<Tick>,
    candles: Vec<CandleSeries>,
    /// The most recent ticks, serialized, with consecutive sequence numbers ending at
    /// `last.seq`. Cleared when the bus loses ticks, so that it never holds a gap.
    history: VecDeque<(u64, ByteString)>,
}

impl Market {
    /// An empty market keeping `history_len` ticks per symbol for resume and `candle_depth`
    /// candles per symbol and interval for snapshots and `history` requests.
    pub fn new(universe: Arc<Universe>, history_len: usize, candle_depth: usize) -> Self {
        let books = universe
            .all_ids()
            .map(|_| Book {
                last: None,
                candles: Interval::ALL
                    .iter()
                    .map(|&i| CandleSeries::new(i, candle_depth))
                    .collect(),
                history: VecDeque::with_capacity(history_len.min(4096)),
            })
            .collect();
        Market {
            universe,
            books,
            history_len,
        }
    }

    /// The symbols this market tracks.
    pub fn universe(&self) -> &Arc<Universe> {
        &self.universe
    }

    /// Records a tick. Returns `None` for a symbol outside the universe.
    pub fn apply(&mut self, tick: Tick) -> Option<Applied> {
        let id = self.universe.id(tick.symbol.as_str())?;
        let book = &mut self.books[id.0];
        if let Some(last) = &book.last
            && tick.seq != last.seq + 1
        {
            warn!(symbol = %tick.symbol, expected = last.seq + 1, got = tick.seq, "sequence gap on the bus; resume history reset");
            book.history.clear();
        }
        let closed = book
            .candles
            .iter_mut()
            .filter_map(|series| {
                series.apply_tick(&tick).map(|candle| CandleUpdate {
                    symbol: tick.symbol.clone(),
                    interval: series.interval(),
                    candle,
                })
            })
            .collect();
        let encoded = ByteString::from(encode_tick(&tick));
        if self.history_len > 0 {
            if book.history.len() == self.history_len {
                book.history.pop_front();
            }
            book.history.push_back((tick.seq, encoded.clone()));
        }
        book.last = Some(tick);
        Some(Applied {
            id,
            encoded,
            closed,
        })
    }

    /// The latest tick of `id`, if it has ticked.
    pub fn last(&self, id: SymbolId) -> Option<&Tick> {
        self.books[id.0].last.as_ref()
    }

    /// The sequence number of the latest tick of `id` (0 before the first).
    pub fn last_seq(&self, id: SymbolId) -> u64 {
        self.books[id.0].last.as_ref().map_or(0, |tick| tick.seq)
    }

    /// The full current state of `id`, with the newest [`SNAPSHOT_CANDLES`] per interval.
    pub fn snapshot(&self, id: SymbolId, reset: bool) -> Snapshot {
        let book = &self.books[id.0];
        let candles: BTreeMap<Interval, Vec<_>> = book
            .candles
            .iter()
            .map(|series| {
                (
                    series.interval(),
                    series.latest(SNAPSHOT_CANDLES).copied().collect(),
                )
            })
            .collect();
        Snapshot {
            symbol: self.universe.symbol(id).clone(),
            reset,
            quote: book.last.clone(),
            candles,
        }
    }

    /// The answer to a `history` request for `id`: the newest `request.limit` candles that
    /// start before `request.before`, oldest first.
    pub fn history(&self, id: SymbolId, request: &HistoryRequest) -> HistoryPage {
        let series = self.books[id.0]
            .candles
            .iter()
            .find(|series| series.interval() == request.interval);
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let (candles, complete) =
            series.map_or((Vec::new(), true), |s| s.page_before(request.before, limit));
        HistoryPage {
            symbol: self.universe.symbol(id).clone(),
            interval: request.interval,
            candles,
            complete,
        }
    }

    /// The ticks of `id` after sequence number `last_seq`, if the history still holds them all.
    pub fn replay_after(&self, id: SymbolId, last_seq: u64) -> Replay<'_> {
        let book = &self.books[id.0];
        let current = self.last_seq(id);
        if last_seq == current {
            return Replay::UpToDate;
        }
        let Some(&(oldest, _)) = book.history.front() else {
            return Replay::Unavailable;
        };
        if last_seq > current || last_seq + 1 < oldest {
            return Replay::Unavailable;
        }
        // The history is contiguous, so the tick after `last_seq` sits at a fixed offset.
        let skip = usize::try_from(last_seq + 1 - oldest).unwrap_or(usize::MAX);
        Replay::Ticks(
            book.history
                .iter()
                .skip(skip)
                .map(|(_, encoded)| encoded)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Price, ServerMessage, Symbol, SymbolInfo, decode_server};

    use super::*;

    fn market(history: usize) -> Market {
        let info = SymbolInfo {
            symbol: Symbol::new("AAPL").unwrap(),
            name: "Apple".into(),
            tick_size: Price(1),
            reference_price: Price(100),
        };
        Market::new(
            Arc::new(Universe::new(vec![info])),
            history,
            SNAPSHOT_CANDLES * 2,
        )
    }

    fn tick(seq: u64, ts: i64) -> Tick {
        Tick {
            symbol: Symbol::new("AAPL").unwrap(),
            seq,
            ts,
            price: Price(100 + seq as i64),
            size: 10,
            bid: Price(99),
            ask: Price(101),
            open: Price(100),
            high: Price(200),
            low: Price(100),
            volume: 10 * seq,
        }
    }

    fn seqs(replay: Replay<'_>) -> Vec<u64> {
        let Replay::Ticks(ticks) = replay else {
            panic!("expected ticks, got {replay:?}")
        };
        ticks
            .iter()
            .map(|encoded| {
                let frame = format!(r#"{{"type":"ticks","ticks":[{encoded}]}}"#);
                let Ok(ServerMessage::Ticks { ticks, .. }) = decode_server(&frame) else {
                    panic!("bad tick")
                };
                ticks[0].seq
            })
            .collect()
    }

    #[test]
    fn replays_exactly_the_missed_ticks() {
        let mut market = market(100);
        for seq in 1..=10 {
            market.apply(tick(seq, seq as i64 * 100));
        }
        assert_eq!(seqs(market.replay_after(SymbolId(0), 7)), vec![8, 9, 10]);
        assert_eq!(
            seqs(market.replay_after(SymbolId(0), 0)),
            (1..=10).collect::<Vec<_>>()
        );
        assert!(matches!(
            market.replay_after(SymbolId(0), 10),
            Replay::UpToDate
        ));
    }

    #[test]
    fn a_resume_beyond_the_history_or_ahead_of_it_needs_a_snapshot() {
        let mut market = market(5);
        for seq in 1..=10 {
            market.apply(tick(seq, 0));
        }
        assert_eq!(
            seqs(market.replay_after(SymbolId(0), 5)),
            vec![6, 7, 8, 9, 10]
        );
        assert!(matches!(
            market.replay_after(SymbolId(0), 4),
            Replay::Unavailable
        ));
        assert!(matches!(
            market.replay_after(SymbolId(0), 11),
            Replay::Unavailable
        ));
    }

    #[test]
    fn a_gap_on_the_bus_clears_the_history_instead_of_replaying_across_it() {
        let mut market = market(100);
        for seq in [1, 2, 3, 7, 8] {
            market.apply(tick(seq, 0));
        }
        assert!(matches!(
            market.replay_after(SymbolId(0), 2),
            Replay::Unavailable
        ));
        assert_eq!(seqs(market.replay_after(SymbolId(0), 7)), vec![8]);
    }

    #[test]
    fn crossing_an_interval_closes_candles_and_snapshots_carry_them() {
        let mut market = market(10);
        assert!(market.apply(tick(1, 1_000)).unwrap().closed.is_empty());
        let closed = market.apply(tick(2, 2_000)).unwrap().closed;
        assert_eq!(
            closed.iter().map(|c| c.interval).collect::<Vec<_>>(),
            vec![Interval::S1]
        );
        let closed = market.apply(tick(3, 60_000)).unwrap().closed;
        assert_eq!(closed.len(), 3, "1s, 5s and 1m all roll over at one minute");
        let closed = market.apply(tick(4, 300_000)).unwrap().closed;
        assert_eq!(
            closed.iter().map(|c| c.interval).collect::<Vec<_>>(),
            Interval::ALL,
            "at five minutes the 5m candle rolls over too"
        );
        let snapshot = market.snapshot(SymbolId(0), false);
        assert_eq!(snapshot.quote.map(|t| t.seq), Some(4));
        assert_eq!(snapshot.candles[&Interval::S1].len(), 4);
        assert_eq!(snapshot.candles[&Interval::M1].len(), 3);
        assert_eq!(snapshot.candles[&Interval::M5].len(), 2);
    }

    #[test]
    fn history_pages_go_back_past_the_snapshot_to_the_candle_depth() {
        let mut market = market(10);
        let seconds = SNAPSHOT_CANDLES as u64 * 3;
        for seq in 1..=seconds {
            market.apply(tick(seq, seq as i64 * 1_000));
        }
        let snapshot = market.snapshot(SymbolId(0), false);
        let oldest_in_snapshot = snapshot.candles[&Interval::S1][0].start;
        assert_eq!(snapshot.candles[&Interval::S1].len(), SNAPSHOT_CANDLES);
        let request = |before, limit| HistoryRequest {
            symbol: Symbol::new("AAPL").unwrap(),
            interval: Interval::S1,
            before,
            limit,
        };
        let page = market.history(SymbolId(0), &request(oldest_in_snapshot, 100));
        assert_eq!(page.candles.len(), 100);
        assert!(!page.complete);
        assert_eq!(
            page.candles.last().map(|c| c.start),
            Some(oldest_in_snapshot - 1_000),
            "the page ends right before the snapshot's first candle"
        );
        let rest = market.history(SymbolId(0), &request(page.candles[0].start, 100));
        assert_eq!(
            rest.candles.len(),
            SNAPSHOT_CANDLES * 2 - SNAPSHOT_CANDLES - 100,
            "the depth bounds what is kept"
        );
        assert!(rest.complete);
        let five_minutes = market.history(SymbolId(0), &{
            let mut r = request(i64::MAX, 10);
            r.interval = Interval::M5;
            r
        });
        assert_eq!(five_minutes.candles.len(), 2, "six minutes of ticks");
        assert!(five_minutes.complete);
    }

    #[test]
    fn unknown_symbols_are_ignored() {
        let mut market = market(10);
        let mut stranger = tick(1, 0);
        stranger.symbol = Symbol::new("ZZZ").unwrap();
        assert!(market.apply(stranger).is_none());
    }
}
