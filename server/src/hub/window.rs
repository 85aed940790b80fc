//! The batch window: the ticks that arrived since frames last went out, each symbol's serialized
//! once in JSON (and in binary while any client takes binary frames), and when the window
//! closes. The hub adds every applied tick to it and, when it closes, builds each group's frame
//! from the frames of the group's symbols.

use std::time::Duration;

use ticker_shared::{
    Tick,
    binary::BinaryFrame,
    codec::{TickFrame, encode_candle},
};
use tokio::time::Instant;

use super::{Encoding, Payload};
use crate::{market::Applied, universe::SymbolId};

/// The ticks of the current window, per symbol.
#[derive(Debug)]
pub(super) struct Window {
    /// Per symbol, its ticks (and the candles they closed) in this window, as JSON.
    json: Vec<TickFrame>,
    /// The same in the binary encoding.
    pub(super) binary: Vec<BinaryFrame>,
    /// The symbols with a tick in this window, in no particular order until it closes.
    pub(super) touched: Vec<SymbolId>,
    /// Ticks in this window.
    pub(super) ticks: usize,
    /// When the window closes; `None` while it is empty.
    pub(super) closes_at: Option<Instant>,
    /// When frames last went out (`None`: never). The next go out a window later at the
    /// earliest, so each client gets at most one frame of live ticks per window.
    pub(super) last_flush: Option<Instant>,
}

impl Window {
    /// An empty window for `symbols` symbols, never flushed.
    pub(super) fn new(symbols: usize) -> Self {
        Window {
            json: vec![TickFrame::new(); symbols],
            binary: vec![BinaryFrame::new(); symbols],
            touched: Vec::new(),
            ticks: 0,
            closes_at: None,
            last_flush: None,
        }
    }

    /// When ticks arriving `now` into an empty window may go out: at once if the last frames
    /// left a window ago or more (a lone tick waits for nothing), else a window after them
    /// (a burst is gathered into one frame).
    pub(super) fn opens_until(&self, now: Instant, length: Duration) -> Instant {
        self.last_flush.map_or(now, |last| (last + length).max(now))
    }

    /// Adds a tick of `id` the market applied, with the candles it closed; in binary too when
    /// `binary` holds the tick (some client takes binary frames).
    pub(super) fn push(&mut self, id: SymbolId, applied: &Applied, binary: Option<&Tick>) {
        let json = &mut self.json[id.0];
        if json.is_empty() {
            self.touched.push(id);
        }
        json.push(&applied.encoded);
        for update in &applied.closed {
            json.push_candle(&encode_candle(update));
        }
        if let Some(tick) = binary {
            let frame = &mut self.binary[id.0];
            frame.push(tick, id.0);
            for update in &applied.closed {
                frame.push_candle(update, id.0);
            }
        }
        self.ticks += 1;
    }

    /// The `ticks` message of the symbols `covered` (sorted, each touched) in `encoding`.
    pub(super) fn frame(&self, encoding: Encoding, covered: &[SymbolId]) -> Option<Payload> {
        match encoding {
            Encoding::Json => TickFrame::join(covered.iter().map(|id| &self.json[id.0]))
                .map(|text| Payload::Text(text.into())),
            Encoding::Binary => BinaryFrame::join(covered.iter().map(|id| &self.binary[id.0]))
                .map(|bytes| Payload::Binary(bytes.into())),
        }
    }

    /// Ticks of the symbols `covered` in this window.
    pub(super) fn ticks_of(&self, covered: &[SymbolId]) -> usize {
        covered.iter().map(|id| self.json[id.0].len()).sum()
    }

    /// Empties the window once its frames have gone out.
    pub(super) fn clear(&mut self) {
        for id in self.touched.drain(..) {
            self.json[id.0].clear();
            self.binary[id.0].clear();
        }
        self.ticks = 0;
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::codec::encode_tick;

    use super::*;
    use crate::hub::tests::tick_at;

    fn applied(id: usize, seq: u64) -> (Applied, Tick) {
        let tick = tick_at("AAPL", seq, 1_000);
        let applied = Applied {
            id: SymbolId(id),
            encoded: encode_tick(&tick).into(),
            closed: Vec::new(),
        };
        (applied, tick)
    }

    #[test]
    fn a_window_opens_at_once_after_a_quiet_spell_and_else_a_window_after_the_last_frames() {
        let length = Duration::from_millis(10);
        let now = Instant::now() + Duration::from_secs(1);
        let mut window = Window::new(1);
        assert_eq!(window.opens_until(now, length), now, "never flushed");
        window.last_flush = Some(now - length * 2);
        assert_eq!(window.opens_until(now, length), now);
        window.last_flush = Some(now - length / 2);
        assert_eq!(window.opens_until(now, length), now + length / 2);
    }

    #[test]
    fn each_symbol_keeps_its_ticks_in_each_encoding_asked_for_until_cleared() {
        let mut window = Window::new(2);
        let (first, tick) = applied(1, 1);
        window.push(SymbolId(1), &first, None);
        let (second, _) = applied(1, 2);
        window.push(SymbolId(1), &second, Some(&tick));
        assert_eq!(
            (window.touched.as_slice(), window.ticks),
            (&[SymbolId(1)][..], 2)
        );
        assert_eq!(window.ticks_of(&[SymbolId(1)]), 2);
        assert!(matches!(
            window.frame(Encoding::Json, &[SymbolId(1)]),
            Some(Payload::Text(_))
        ));
        assert!(matches!(
            window.frame(Encoding::Binary, &[SymbolId(1)]),
            Some(Payload::Binary(_))
        ));
        assert_eq!(window.frame(Encoding::Json, &[SymbolId(0)]), None);
        window.clear();
        assert_eq!((window.touched.len(), window.ticks), (0, 0));
        assert_eq!(window.frame(Encoding::Json, &[SymbolId(1)]), None);
        assert_eq!(window.frame(Encoding::Binary, &[SymbolId(1)]), None);
    }
}
