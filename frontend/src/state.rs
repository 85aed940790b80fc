//! The browser's copy of the market: a pure reducer over server messages.
//!
//! [`MarketView::apply`] folds each [`ServerMessage`] into per-symbol books (last tick, candles
//! at every interval) and reports what changed and what to send back. It enforces the client's
//! half of gap-free delivery: a tick is applied only if its sequence number is exactly one more
//! than the last; a duplicate is dropped; a gap is never papered over but triggers a `resume`
//! for that symbol, and ticks are held back until the missing ones arrive. It also knows which
//! symbols the watchlist lists ([`Watched`]): the subscription and every resume cover exactly
//! those. No I/O here: the module is unit-tested natively.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ticker_shared::{
    CandleSeries, CandleUpdate, ClientMessage, Hello, HistoryPage, Interval,
    MAX_SYMBOLS_PER_REQUEST, Price, ResumeCursor, ServerMessage, Snapshot, Symbol, SymbolInfo,
    SymbolList, Tick,
};

use crate::watched::Watched;

/// Candles kept per symbol and interval, live ones and those loaded by scrolling back
/// together; bounds memory however long the page stays open (at 48 bytes a candle, under
/// 400 KB per symbol for all four intervals).
pub const CANDLES_KEPT: usize = 2_000;

/// Which way the last trade moved the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// No move yet, or the price did not change.
    #[default]
    Flat,
    /// The price rose.
    Up,
    /// The price fell.
    Down,
}

/// The latest price move of a symbol; `generation` changes on every move so the view can restart
/// its flash animation even when two moves go the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flash {
    /// Direction of the latest move.
    pub direction: Direction,
    /// Count of moves so far.
    pub generation: u32,
}

/// One watchlist row's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRow {
    /// Last trade price.
    pub last: Price,
    /// Change from the reference (previous close).
    pub change: Price,
    /// Change in basis points, if the reference is positive.
    pub change_bps: Option<i64>,
    /// Session high.
    pub high: Price,
    /// Session low.
    pub low: Price,
    /// Session volume in shares.
    pub volume: u64,
    /// The latest move, for the flash.
    pub flash: Flash,
}

/// One symbol's state.
#[derive(Debug, Clone)]
pub struct Book {
    quote: Option<Tick>,
    last_seq: u64,
    series: Vec<CandleSeries>,
    /// A gap was seen and a resume sent; ticks wait until the missing one arrives.
    awaiting_resume: bool,
    flash: Flash,
}

impl Book {
    fn new() -> Self {
        Book {
            quote: None,
            last_seq: 0,
            series: Interval::ALL
                .iter()
                .map(|&i| CandleSeries::new(i, CANDLES_KEPT))
                .collect(),
            awaiting_resume: false,
            flash: Flash::default(),
        }
    }

    /// The latest tick, if any.
    pub fn quote(&self) -> Option<&Tick> {
        self.quote.as_ref()
    }

    /// Sequence number of the latest applied tick (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Candles at `interval`, to change.
    fn series_mut(&mut self, interval: Interval) -> Option<&mut CandleSeries> {
        let index = Interval::ALL.iter().position(|&i| i == interval)?;
        self.series.get_mut(index)
    }

    /// Candles at `interval`.
    pub fn series(&self, interval: Interval) -> &CandleSeries {
        let index = Interval::ALL
            .iter()
            .position(|&i| i == interval)
            .unwrap_or(0);
        &self.series[index]
    }
}

/// Counts of delivery anomalies, shown for diagnosis and asserted by tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anomalies {
    /// Ticks dropped because they were already applied.
    pub duplicates: u64,
    /// Gaps detected (each answered by a resume).
    pub gaps: u64,
    /// Snapshots that replaced state (`reset: true`).
    pub resets: u64,
}

/// What one [`MarketView::apply`] call changed and wants sent.
#[derive(Debug, Default)]
pub struct Updates {
    /// Symbols (by index) whose quote or candles changed.
    pub changed: BTreeSet<usize>,
    /// The symbol list itself changed (new server universe).
    pub universe: bool,
    /// Messages to send to the server, in order.
    pub outgoing: Vec<ClientMessage>,
    /// The ticks applied: symbol index and server timestamp (for latency and staleness).
    pub ticks: Vec<(usize, i64)>,
}

/// The client's market state.
#[derive(Debug, Clone, Default)]
pub struct MarketView {
    instance_id: Option<String>,
    heartbeat_interval_ms: u64,
    symbols: Vec<SymbolInfo>,
    ids: HashMap<Symbol, usize>,
    books: Vec<Book>,
    anomalies: Anomalies,
    watched: Watched,
    /// The watchlist as last stored, read against the symbols of each new server universe.
    stored_watchlist: Option<String>,
}

impl MarketView {
    /// An empty view, before any `hello`.
    pub fn new() -> Self {
        MarketView::default()
    }

    /// An empty view that will list the symbols of `stored` (see [`Watched::from_stored`]).
    pub fn with_watchlist(stored: Option<String>) -> Self {
        MarketView {
            stored_watchlist: stored,
            ..MarketView::default()
        }
    }

    /// Whether the watchlist lists the symbol at `index`.
    pub fn is_listed(&self, index: usize) -> bool {
        self.watched.is_listed(index)
    }

    /// The watchlist as it is kept across reloads.
    pub fn watchlist_text(&self) -> String {
        self.watched.to_stored(&self.symbols)
    }

    /// Lists or unlists the symbol at `index`; the `subscribe` or `unsubscribe` to send, or
    /// `None` when nothing changes (already so, unknown, or the last listed symbol).
    pub fn set_listed(&mut self, index: usize, listed: bool) -> Option<ClientMessage> {
        if !self.watched.set(index, listed) {
            return None;
        }
        self.stored_watchlist = Some(self.watchlist_text());
        let symbols = SymbolList::Only(vec![self.symbols[index].symbol.clone()]);
        Some(if listed {
            ClientMessage::Subscribe { symbols }
        } else {
            ClientMessage::Unsubscribe { symbols }
        })
    }

    /// The listed symbols as `/sse`'s `symbols` parameter: `*` for all.
    pub fn subscription_query(&self) -> String {
        if self.watched.is_everything() {
            return "*".to_owned();
        }
        self.watchlist_text()
    }

    /// The symbols offered, in server order.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    /// The index of `symbol`.
    pub fn index_of(&self, symbol: &str) -> Option<usize> {
        self.ids.get(symbol).copied()
    }

    /// The book of the symbol at `index`.
    pub fn book(&self, index: usize) -> Option<&Book> {
        self.books.get(index)
    }

    /// The server instance the sequence numbers belong to.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance_id.as_deref()
    }

    /// Where this view stands, to continue from after a reconnect: the instance and the last
    /// sequence number of every listed symbol that has ticked; `None` before any tick was
    /// applied (then there is nothing to continue and the client simply subscribes).
    pub fn resume_cursor(&self) -> Option<ResumeCursor> {
        let instance_id = self.instance_id.clone()?;
        // A symbol with nothing applied yet has nothing to continue from: it is subscribed
        // (a resume from 0 could only be answered by a reset once the history moved on).
        let last_seq: BTreeMap<Symbol, u64> = self
            .symbols
            .iter()
            .zip(&self.books)
            .enumerate()
            .filter(|&(index, (_, book))| self.watched.is_listed(index) && book.last_seq > 0)
            .map(|(_, (info, book))| (info.symbol.clone(), book.last_seq))
            .collect();
        if last_seq.is_empty() {
            return None;
        }
        Some(ResumeCursor {
            instance_id,
            last_seq,
        })
    }

    /// The server's ping interval from `hello`, in milliseconds (0 before it).
    pub fn heartbeat_interval_ms(&self) -> u64 {
        self.heartbeat_interval_ms
    }

    /// Delivery anomalies so far.
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }

    /// The watchlist figures of the symbol at `index`, once it has traded.
    pub fn quote_row(&self, index: usize) -> Option<QuoteRow> {
        let book = self.books.get(index)?;
        let tick = book.quote.as_ref()?;
        let reference = self.symbols[index].reference_price;
        Some(QuoteRow {
            last: tick.price,
            change: tick.price - reference,
            change_bps: tick.price.change_bps_from(reference),
            high: tick.high,
            low: tick.low,
            volume: tick.volume,
            flash: book.flash,
        })
    }

    /// Folds one server message into the view.
    pub fn apply(&mut self, message: ServerMessage, updates: &mut Updates) {
        match message {
            ServerMessage::Hello(hello) => self.on_hello(hello, updates),
            ServerMessage::Snapshot(snapshot) => self.on_snapshot(snapshot, updates),
            ServerMessage::Ticks { ticks, candles } => {
                for tick in ticks {
                    self.on_tick(tick, updates);
                }
                // After the ticks: each final candle replaces the one the ticks built.
                for update in candles {
                    self.on_candle(update, updates);
                }
            }
            ServerMessage::Candle(update) => self.on_candle(update, updates),
            // History pages and the alerts' answers are the dashboard's (dashboard/chart.rs,
            // dashboard/alerts.rs); the rest change nothing here.
            ServerMessage::Unsubscribed { .. }
            | ServerMessage::Pong(_)
            | ServerMessage::Error(_)
            | ServerMessage::History(_)
            | ServerMessage::AlertAdded(_)
            | ServerMessage::AlertRemoved { .. }
            | ServerMessage::Alert(_)
            | ServerMessage::Chat(_)
            | ServerMessage::ChatHistory { .. } => {}
        }
    }

    /// The start of the oldest candle held of `symbol` at `interval`.
    pub fn oldest_candle(&self, symbol: &Symbol, interval: Interval) -> Option<i64> {
        let index = self.index_of(symbol.as_str())?;
        Some(self.books[index].series(interval).iter().next()?.start)
    }

    /// Puts a history page's candles in front of those held of its symbol and interval;
    /// returns the symbol's index and how many candles were added (none for an unknown symbol).
    pub fn prepend_history(&mut self, page: &HistoryPage) -> (Option<usize>, usize) {
        let Some(index) = self.index_of(page.symbol.as_str()) else {
            return (None, 0);
        };
        let added = self.books[index]
            .series_mut(page.interval)
            .map_or(0, |series| {
                series.prepend_older(page.candles.iter().copied())
            });
        (Some(index), added)
    }

    /// Replaces a candle with the server's final version of it.
    fn on_candle(&mut self, update: CandleUpdate, updates: &mut Updates) {
        if let Some(index) = self.index_of(update.symbol.as_str())
            && let Some(series) = self.books[index].series_mut(update.interval)
        {
            series.upsert(update.candle);
            updates.changed.insert(index);
        }
    }

    /// On (re)connect: keep the books if the server offers the same symbols and ask to resume
    /// the listed symbols from their last sequence numbers; otherwise start over and subscribe
    /// to the listed symbols (the stored watchlist read against the new universe).
    fn on_hello(&mut self, hello: Hello, updates: &mut Updates) {
        let same_symbols = self.symbols.len() == hello.symbols.len()
            && self
                .symbols
                .iter()
                .zip(&hello.symbols)
                .all(|(a, b)| a.symbol == b.symbol);
        match self.resume_cursor().filter(|_| same_symbols) {
            Some(cursor) => {
                let fresh: Vec<Symbol> = self
                    .watched
                    .symbols(&self.symbols)
                    .filter(|symbol| !cursor.last_seq.contains_key(*symbol))
                    .cloned()
                    .collect();
                let entries: Vec<(Symbol, u64)> = cursor.last_seq.into_iter().collect();
                for chunk in entries.chunks(MAX_SYMBOLS_PER_REQUEST) {
                    updates.outgoing.push(ClientMessage::Resume {
                        instance_id: cursor.instance_id.clone(),
                        last_seq: chunk.iter().cloned().collect::<BTreeMap<_, _>>(),
                    });
                }
                subscribe_in_chunks(&fresh, &mut updates.outgoing);
            }
            None => {
                self.ids = hello
                    .symbols
                    .iter()
                    .enumerate()
                    .map(|(i, info)| (info.symbol.clone(), i))
                    .collect();
                self.books = hello.symbols.iter().map(|_| Book::new()).collect();
                self.watched =
                    Watched::from_stored(self.stored_watchlist.as_deref(), &hello.symbols);
                updates.universe = true;
                if self.watched.is_everything() {
                    updates.outgoing.push(ClientMessage::Subscribe {
                        symbols: SymbolList::All,
                    });
                } else {
                    let listed: Vec<Symbol> =
                        self.watched.symbols(&hello.symbols).cloned().collect();
                    subscribe_in_chunks(&listed, &mut updates.outgoing);
                }
            }
        }
        self.symbols = hello.symbols;
        self.instance_id = Some(hello.instance_id);
        self.heartbeat_interval_ms = hello.heartbeat_interval_ms;
    }

    fn on_snapshot(&mut self, snapshot: Snapshot, updates: &mut Updates) {
        let Some(index) = self.index_of(snapshot.symbol.as_str()) else {
            return;
        };
        let book = &mut self.books[index];
        book.last_seq = snapshot.quote.as_ref().map_or(0, |tick| tick.seq);
        book.quote = snapshot.quote;
        book.awaiting_resume = false;
        book.flash = Flash {
            direction: Direction::Flat,
            generation: book.flash.generation,
        };
        let mut candles = snapshot.candles;
        for series in &mut book.series {
            series.replace_all(candles.remove(&series.interval()).unwrap_or_default());
        }
        if snapshot.reset {
            self.anomalies.resets += 1;
        }
        updates.changed.insert(index);
    }

    fn on_tick(&mut self, tick: Tick, updates: &mut Updates) {
        let Some(index) = self.index_of(tick.symbol.as_str()) else {
            return;
        };
        let book = &mut self.books[index];
        let expected = book.last_seq + 1;
        if tick.seq < expected {
            self.anomalies.duplicates += 1;
            return;
        }
        if tick.seq > expected {
            if !book.awaiting_resume {
                book.awaiting_resume = true;
                self.anomalies.gaps += 1;
                if let Some(instance_id) = &self.instance_id {
                    updates.outgoing.push(ClientMessage::Resume {
                        instance_id: instance_id.clone(),
                        last_seq: BTreeMap::from([(tick.symbol.clone(), book.last_seq)]),
                    });
                }
            }
            return;
        }
        book.awaiting_resume = false;
        if let Some(previous) = &book.quote {
            let direction = match tick.price.cmp(&previous.price) {
                std::cmp::Ordering::Greater => Some(Direction::Up),
                std::cmp::Ordering::Less => Some(Direction::Down),
                std::cmp::Ordering::Equal => None,
            };
            if let Some(direction) = direction {
                book.flash = Flash {
                    direction,
                    generation: book.flash.generation.wrapping_add(1),
                };
            }
        }
        for series in &mut book.series {
            series.apply_tick(&tick);
        }
        book.last_seq = tick.seq;
        updates.ticks.push((index, tick.ts));
        book.quote = Some(tick);
        updates.changed.insert(index);
    }
}

/// Queues subscriptions to `symbols`, as few requests as the per-request limit allows.
fn subscribe_in_chunks(symbols: &[Symbol], outgoing: &mut Vec<ClientMessage>) {
    for chunk in symbols.chunks(MAX_SYMBOLS_PER_REQUEST) {
        outgoing.push(ClientMessage::Subscribe {
            symbols: SymbolList::Only(chunk.to_vec()),
        });
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Candle, Price};

    use super::*;

    fn info(symbol: &str) -> SymbolInfo {
        SymbolInfo {
            symbol: Symbol::new(symbol).unwrap(),
            name: symbol.to_owned(),
            tick_size: Price(1),
            reference_price: Price(10_000),
        }
    }

    fn hello(instance: &str, symbols: &[&str]) -> ServerMessage {
        ServerMessage::Hello(Hello {
            protocol_version: 1,
            instance_id: instance.to_owned(),
            started_at: 0,
            server_time: 0,
            heartbeat_interval_ms: 5_000,
            intervals: Interval::ALL.to_vec(),
            symbols: symbols.iter().map(|s| info(s)).collect(),
        })
    }

    fn tick(symbol: &str, seq: u64, price: i64) -> Tick {
        Tick {
            symbol: Symbol::new(symbol).unwrap(),
            seq,
            ts: 1_000 * seq as i64,
            price: Price(price),
            size: 100,
            bid: Price(price - 1),
            ask: Price(price),
            open: Price(10_000),
            high: Price(price.max(10_000)),
            low: Price(price.min(10_000)),
            volume: 100 * seq,
        }
    }

    fn ticks(list: Vec<Tick>) -> ServerMessage {
        ServerMessage::Ticks {
            ticks: list,
            candles: Vec::new(),
        }
    }

    fn snapshot(symbol: &str, last: Option<Tick>, reset: bool) -> ServerMessage {
        let candle = Candle {
            start: 0,
            open: Price(1),
            high: Price(1),
            low: Price(1),
            close: Price(1),
            volume: 1,
        };
        ServerMessage::Snapshot(Snapshot {
            symbol: Symbol::new(symbol).unwrap(),
            reset,
            quote: last,
            candles: Interval::ALL.iter().map(|&i| (i, vec![candle])).collect(),
        })
    }

    fn connected() -> MarketView {
        let mut view = MarketView::new();
        let mut updates = Updates::default();
        view.apply(hello("one", &["AAPL", "MSFT"]), &mut updates);
        assert!(updates.universe);
        assert_eq!(
            updates.outgoing,
            vec![ClientMessage::Subscribe {
                symbols: SymbolList::All
            }]
        );
        view.apply(
            snapshot("AAPL", Some(tick("AAPL", 10, 10_000)), false),
            &mut updates,
        );
        view.apply(snapshot("MSFT", None, false), &mut updates);
        view
    }

    fn seqs(view: &MarketView, symbol: &str) -> u64 {
        view.book(view.index_of(symbol).unwrap())
            .unwrap()
            .last_seq()
    }

    #[test]
    fn the_resume_cursor_names_the_instance_and_every_symbols_last_seq() {
        let mut view = MarketView::new();
        view.apply(hello("ab12", &["AAPL", "MSFT"]), &mut Updates::default());
        assert_eq!(
            view.resume_cursor(),
            None,
            "nothing to continue before any data"
        );
        view.apply(
            snapshot("AAPL", Some(tick("AAPL", 10, 10_000)), false),
            &mut Updates::default(),
        );
        view.apply(snapshot("MSFT", None, false), &mut Updates::default());
        view.apply(
            ticks(vec![tick("AAPL", 11, 10_010)]),
            &mut Updates::default(),
        );
        let cursor = view.resume_cursor().unwrap();
        assert_eq!(
            cursor.to_string(),
            "ab12/AAPL:11",
            "MSFT has not traded: nothing to continue from"
        );
    }

    #[test]
    fn a_snapshot_fills_the_book_and_ticks_continue_from_it() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(
            ticks(vec![tick("AAPL", 11, 10_050), tick("MSFT", 1, 20_000)]),
            &mut updates,
        );
        assert_eq!((seqs(&view, "AAPL"), seqs(&view, "MSFT")), (11, 1));
        assert_eq!(updates.changed, BTreeSet::from([0, 1]));
        assert_eq!(updates.ticks, vec![(0, 11_000), (1, 1_000)]);
        let row = view.quote_row(0).unwrap();
        assert_eq!(
            (row.last, row.change, row.change_bps),
            (Price(10_050), Price(50), Some(50))
        );
        assert_eq!(
            row.flash,
            Flash {
                direction: Direction::Up,
                generation: 1
            }
        );
        let book = view.book(0).unwrap();
        assert_eq!(
            book.series(Interval::S1).len(),
            2,
            "the snapshot's candle plus the tick's new one"
        );
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(
            ticks(vec![
                tick("AAPL", 11, 10_050),
                tick("AAPL", 10, 1),
                tick("AAPL", 11, 2),
            ]),
            &mut updates,
        );
        assert_eq!(seqs(&view, "AAPL"), 11);
        assert_eq!(view.quote_row(0).unwrap().last, Price(10_050));
        assert_eq!(view.anomalies().duplicates, 2);
    }

    #[test]
    fn a_gap_asks_for_a_resume_once_and_holds_ticks_until_the_missing_one_arrives() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(
            ticks(vec![tick("AAPL", 13, 10_100), tick("AAPL", 14, 10_200)]),
            &mut updates,
        );
        assert_eq!(seqs(&view, "AAPL"), 10, "nothing applied across the gap");
        let expected = ClientMessage::Resume {
            instance_id: "one".into(),
            last_seq: BTreeMap::from([(Symbol::new("AAPL").unwrap(), 10)]),
        };
        assert_eq!(updates.outgoing, vec![expected]);
        assert_eq!(view.anomalies().gaps, 1);
        // The replay arrives: 11..=14, then live ticks continue.
        let replay = (11..=15)
            .map(|seq| tick("AAPL", seq, 10_000 + seq as i64))
            .collect();
        view.apply(ticks(replay), &mut updates);
        assert_eq!(seqs(&view, "AAPL"), 15);
    }

    #[test]
    fn reconnecting_to_the_same_server_resumes_every_symbol_that_ticked_and_subscribes_the_rest() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(ticks(vec![tick("AAPL", 11, 10_050)]), &mut updates);
        let mut updates = Updates::default();
        view.apply(hello("one", &["AAPL", "MSFT"]), &mut updates);
        assert!(!updates.universe, "the books are kept");
        let last_seq = BTreeMap::from([(Symbol::new("AAPL").unwrap(), 11)]);
        assert_eq!(
            updates.outgoing,
            vec![
                ClientMessage::Resume {
                    instance_id: "one".into(),
                    last_seq
                },
                ClientMessage::Subscribe {
                    symbols: SymbolList::Only(vec![Symbol::new("MSFT").unwrap()])
                }
            ]
        );
        assert_eq!(seqs(&view, "AAPL"), 11);
    }

    #[test]
    fn after_a_server_restart_the_reset_snapshot_replaces_the_book() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(hello("two", &["AAPL", "MSFT"]), &mut updates);
        // The resume names the old instance, so the server answers with reset snapshots.
        assert!(
            matches!(&updates.outgoing[0], ClientMessage::Resume { instance_id, .. } if instance_id == "one")
        );
        assert_eq!(view.instance_id(), Some("two"));
        view.apply(
            snapshot("AAPL", Some(tick("AAPL", 3, 9_000)), true),
            &mut updates,
        );
        assert_eq!(
            seqs(&view, "AAPL"),
            3,
            "sequence numbers restart with the new instance"
        );
        assert_eq!(view.anomalies().resets, 1);
        view.apply(ticks(vec![tick("AAPL", 4, 9_001)]), &mut updates);
        assert_eq!(seqs(&view, "AAPL"), 4);
    }

    #[test]
    fn a_different_symbol_list_starts_over() {
        let mut view = connected();
        let mut updates = Updates::default();
        view.apply(hello("two", &["TSLA"]), &mut updates);
        assert!(updates.universe);
        assert_eq!(
            updates.outgoing,
            vec![ClientMessage::Subscribe {
                symbols: SymbolList::All
            }]
        );
        assert_eq!(view.symbols().len(), 1);
        assert!(view.quote_row(0).is_none());
    }

    #[test]
    fn candle_updates_correct_the_series() {
        let mut view = connected();
        let mut updates = Updates::default();
        let candle = Candle {
            start: 0,
            open: Price(5),
            high: Price(9),
            low: Price(4),
            close: Price(8),
            volume: 77,
        };
        view.apply(
            ServerMessage::Candle(ticker_shared::CandleUpdate {
                symbol: Symbol::new("AAPL").unwrap(),
                interval: Interval::S5,
                candle,
            }),
            &mut updates,
        );
        assert_eq!(
            view.book(0).unwrap().series(Interval::S5).last(),
            Some(&candle)
        );
        assert!(updates.changed.contains(&0));
    }

    #[test]
    fn candles_inside_a_ticks_frame_apply_after_its_ticks() {
        let mut view = connected();
        let mut updates = Updates::default();
        let next = tick("AAPL", view.book(0).unwrap().last_seq() + 1, 10_050);
        let final_candle = Candle {
            start: next.ts - next.ts.rem_euclid(1_000),
            open: Price(1),
            high: Price(2),
            low: Price(1),
            close: Price(2),
            volume: 3,
        };
        view.apply(
            ServerMessage::Ticks {
                ticks: vec![next],
                candles: vec![ticker_shared::CandleUpdate {
                    symbol: Symbol::new("AAPL").unwrap(),
                    interval: Interval::S1,
                    candle: final_candle,
                }],
            },
            &mut updates,
        );
        assert_eq!(
            view.book(0).unwrap().series(Interval::S1).last(),
            Some(&final_candle),
            "the final candle wins over the one the tick built"
        );
    }

    #[test]
    fn the_subscription_and_every_resume_cover_exactly_the_listed_symbols() {
        let mut view = MarketView::with_watchlist(Some("MSFT,NVDA".into()));
        let mut updates = Updates::default();
        view.apply(hello("one", &["AAPL", "MSFT", "NVDA"]), &mut updates);
        let only = |symbols: &[&str]| {
            SymbolList::Only(symbols.iter().map(|s| Symbol::new(s).unwrap()).collect())
        };
        assert_eq!(
            updates.outgoing,
            vec![ClientMessage::Subscribe {
                symbols: only(&["MSFT", "NVDA"])
            }]
        );
        assert_eq!(view.subscription_query(), "MSFT,NVDA");
        for symbol in ["MSFT", "NVDA"] {
            view.apply(
                snapshot(symbol, Some(tick(symbol, 5, 10_000)), false),
                &mut updates,
            );
        }
        // Unlisting and listing answer with the message to send; the last one stays.
        assert_eq!(
            view.set_listed(2, false),
            Some(ClientMessage::Unsubscribe {
                symbols: only(&["NVDA"])
            })
        );
        assert_eq!(view.set_listed(1, false), None, "the last listed symbol");
        assert_eq!(
            view.set_listed(0, true),
            Some(ClientMessage::Subscribe {
                symbols: only(&["AAPL"])
            })
        );
        assert_eq!(view.watchlist_text(), "AAPL,MSFT");
        assert_eq!(
            view.resume_cursor().unwrap().to_string(),
            "one/MSFT:5",
            "the resume names the listed symbols with something to continue from"
        );
        let mut updates = Updates::default();
        view.apply(hello("one", &["AAPL", "MSFT", "NVDA"]), &mut updates);
        assert!(
            matches!(
                &updates.outgoing[..],
                [
                    ClientMessage::Resume { last_seq, .. },
                    ClientMessage::Subscribe { symbols: SymbolList::Only(fresh) },
                ] if last_seq.len() == 1 && fresh.len() == 1 && fresh[0].as_str() == "AAPL"
            ),
            "the listed symbol without a tick is subscribed, not resumed from 0: {:?}",
            updates.outgoing
        );
        // A new universe reads the list as it was last changed.
        let mut updates = Updates::default();
        view.apply(hello("two", &["NVDA", "MSFT"]), &mut updates);
        assert_eq!(
            updates.outgoing,
            vec![ClientMessage::Subscribe {
                symbols: only(&["MSFT"])
            }]
        );
    }
}
