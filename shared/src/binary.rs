//! The compact binary form of `ticks` messages, for clients that negotiate the
//! [`SUBPROTOCOL_BINARY`] WebSocket subprotocol (`Sec-WebSocket-Protocol`).
//!
//! JSON stays the default and the documented form of every message. A binary client receives
//! live `ticks` messages as binary frames in this encoding and every other message (`hello`,
//! snapshots, replays, confirmations, errors) as the usual JSON text frames.
//!
//! # Layout
//!
//! Integers are LEB128 varints; signed ones are zigzag-encoded first. A symbol is its index in
//! the `hello` message's `symbols` list, and an interval its index in `hello.intervals`' fixed
//! order ([`Interval::ALL`]: `1s` 0, `5s` 1, `1m` 2, `5m` 3). Prices other than the trade price
//! are stored as differences from it (from the open, in a candle), so they mostly take one or
//! two bytes. A tick takes about 25–30 bytes against about 180 in JSON.
//!
//! ```text
//! frame  = kind:u8 (1 = ticks) · tick count · tick* · candle count · candle*
//! tick   = symbol · seq · ts(z) · price(z) · size · bid−price(z) · ask−price(z)
//!          · open−price(z) · high−price(z) · low−price(z) · volume
//! candle = symbol · interval · start(z) · open(z) · high−open(z) · low−open(z)
//!          · close−open(z) · volume
//! ```
//!
//! Differences wrap (two's complement), so every `i64` round-trips. Decoding is total: any
//! bytes give a message or a [`BinaryError`].
//!
//! The varint code is written here rather than taken from a crate: it is a dozen lines, works
//! on slices with an explicit truncation error, and keeps the WebAssembly small.

use crate::{Candle, CandleUpdate, Interval, Price, ServerMessage, Symbol, Tick};

/// The subprotocol of the default, JSON-only form of the protocol.
pub const SUBPROTOCOL_JSON: &str = "ticker.v1.json";
/// The subprotocol in which live `ticks` messages are binary frames of this module's encoding.
pub const SUBPROTOCOL_BINARY: &str = "ticker.v1.bin";

/// The first byte of a binary `ticks` message.
const KIND_TICKS: u8 = 1;
/// The fewest bytes one encoded tick takes (eleven one-byte varints), to bound allocation by
/// what a frame can really hold.
const MIN_TICK_BYTES: usize = 11;

/// Why bytes are not a valid binary message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// The frame is empty.
    #[error("empty binary frame")]
    Empty,
    /// The first byte names no known message.
    #[error("unknown binary message kind {0}")]
    UnknownKind(u8),
    /// The frame ends inside a value.
    #[error("binary frame ends inside a value")]
    Truncated,
    /// A varint does not fit 64 bits.
    #[error("a varint is longer than 64 bits")]
    Overlong,
    /// A symbol index outside the `hello` list.
    #[error("symbol index {0} is not in the hello's symbol list")]
    UnknownSymbol(u64),
    /// An interval index outside [`Interval::ALL`].
    #[error("interval index {0} is unknown")]
    UnknownInterval(u64),
    /// A count or size does not fit its field.
    #[error("a value is out of range")]
    OutOfRange,
    /// Bytes follow the last candle.
    #[error("{0} bytes after the end of the message")]
    Trailing(usize),
}

/// Appends the binary form of `tick`, whose symbol is at `symbol` in the `hello` list.
pub fn encode_tick(tick: &Tick, symbol: usize, out: &mut Vec<u8>) {
    let price = tick.price.0;
    put_varint(out, symbol as u64);
    put_varint(out, tick.seq);
    put_signed(out, tick.ts);
    put_signed(out, price);
    put_varint(out, u64::from(tick.size));
    for other in [tick.bid, tick.ask, tick.open, tick.high, tick.low] {
        put_signed(out, other.0.wrapping_sub(price));
    }
    put_varint(out, tick.volume);
}

/// Appends the binary form of a closed candle, whose symbol is at `symbol` in the `hello` list.
pub fn encode_candle(update: &CandleUpdate, symbol: usize, out: &mut Vec<u8>) {
    let candle = &update.candle;
    let open = candle.open.0;
    put_varint(out, symbol as u64);
    put_varint(out, interval_index(update.interval));
    put_signed(out, candle.start);
    put_signed(out, open);
    for other in [candle.high, candle.low, candle.close] {
        put_signed(out, other.0.wrapping_sub(open));
    }
    put_varint(out, candle.volume);
}

/// Builds a binary `ticks` message, encoding ticks and candles as they are appended; the
/// binary counterpart of [`crate::codec::TickFrame`].
#[derive(Debug, Default, Clone)]
pub struct BinaryFrame {
    ticks: Vec<u8>,
    candles: Vec<u8>,
    tick_count: usize,
    candle_count: usize,
}

impl BinaryFrame {
    /// An empty frame.
    pub fn new() -> Self {
        BinaryFrame::default()
    }

    /// Appends `tick`, whose symbol is at `symbol` in the `hello` list.
    pub fn push(&mut self, tick: &Tick, symbol: usize) {
        encode_tick(tick, symbol, &mut self.ticks);
        self.tick_count += 1;
    }

    /// Appends a closed candle, whose symbol is at `symbol` in the `hello` list.
    pub fn push_candle(&mut self, update: &CandleUpdate, symbol: usize) {
        encode_candle(update, symbol, &mut self.candles);
        self.candle_count += 1;
    }

    /// Number of ticks appended.
    pub fn len(&self) -> usize {
        self.tick_count
    }

    /// Whether no tick was appended.
    pub fn is_empty(&self) -> bool {
        self.tick_count == 0
    }

    /// Forgets the ticks and candles, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.ticks.clear();
        self.candles.clear();
        self.tick_count = 0;
        self.candle_count = 0;
    }

    /// The finished message, or `None` if no tick was appended; leaves the frame empty.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let bytes = Self::join([&*self]);
        self.clear();
        bytes
    }

    /// One message with the ticks of every part, in order, then their candles; `None` if the
    /// parts hold no tick.
    pub fn join<'a, I>(parts: I) -> Option<Vec<u8>>
    where
        I: IntoIterator<Item = &'a BinaryFrame>,
        I::IntoIter: Clone,
    {
        let parts = parts.into_iter();
        let (ticks, candles, bytes) = parts.clone().fold((0, 0, 0), |(t, c, b), part| {
            (
                t + part.tick_count,
                c + part.candle_count,
                b + part.ticks.len() + part.candles.len(),
            )
        });
        if ticks == 0 {
            return None;
        }
        let mut out = Vec::with_capacity(1 + 2 * 10 + bytes);
        out.push(KIND_TICKS);
        put_varint(&mut out, ticks as u64);
        for part in parts.clone() {
            out.extend_from_slice(&part.ticks);
        }
        put_varint(&mut out, candles as u64);
        for part in parts {
            out.extend_from_slice(&part.candles);
        }
        Some(out)
    }
}

/// Decodes a binary message; `symbols` is the `hello` message's symbol list, in order.
pub fn decode(bytes: &[u8], symbols: &[Symbol]) -> Result<ServerMessage, BinaryError> {
    let (&kind, rest) = bytes.split_first().ok_or(BinaryError::Empty)?;
    if kind != KIND_TICKS {
        return Err(BinaryError::UnknownKind(kind));
    }
    let mut reader = Reader { rest };
    let count = reader.count(MIN_TICK_BYTES)?;
    let mut ticks = Vec::with_capacity(count);
    for _ in 0..count {
        ticks.push(reader.tick(symbols)?);
    }
    let count = reader.count(8)?;
    let mut candles = Vec::with_capacity(count);
    for _ in 0..count {
        candles.push(reader.candle(symbols)?);
    }
    if !reader.rest.is_empty() {
        return Err(BinaryError::Trailing(reader.rest.len()));
    }
    Ok(ServerMessage::Ticks { ticks, candles })
}

/// The `ts` of every tick of a binary `ticks` message, into `out`, without building the ticks
/// or checking symbol indexes: for load generators, which only measure latency and would
/// otherwise spend most of their time decoding.
pub fn tick_timestamps(bytes: &[u8], out: &mut Vec<i64>) -> Result<(), BinaryError> {
    out.clear();
    let (&kind, rest) = bytes.split_first().ok_or(BinaryError::Empty)?;
    if kind != KIND_TICKS {
        return Err(BinaryError::UnknownKind(kind));
    }
    let mut reader = Reader { rest };
    let count = reader.count(MIN_TICK_BYTES)?;
    for _ in 0..count {
        reader.varint()?; // symbol
        reader.varint()?; // seq
        out.push(reader.signed()?);
        for _ in 0..8 {
            reader.varint()?; // price, size, four relative prices, low, volume
        }
    }
    Ok(())
}

fn interval_index(interval: Interval) -> u64 {
    Interval::ALL
        .iter()
        .position(|&i| i == interval)
        .unwrap_or_default() as u64
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Reads values off the front of a slice.
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn varint(&mut self) -> Result<u64, BinaryError> {
        let mut value = 0u64;
        for (i, &byte) in self.rest.iter().enumerate() {
            let shift = 7 * i as u32;
            let bits = u64::from(byte & 0x7f);
            if shift >= 64 || (shift == 63 && bits > 1) {
                return Err(BinaryError::Overlong);
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Ok(value);
            }
        }
        Err(BinaryError::Truncated)
    }

    fn signed(&mut self) -> Result<i64, BinaryError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    /// A count of items that take at least `min_bytes` each: never more than the rest holds.
    fn count(&mut self, min_bytes: usize) -> Result<usize, BinaryError> {
        let count = usize::try_from(self.varint()?).map_err(|_| BinaryError::OutOfRange)?;
        if count > self.rest.len() / min_bytes {
            return Err(BinaryError::Truncated);
        }
        Ok(count)
    }

    fn symbol(&mut self, symbols: &[Symbol]) -> Result<Symbol, BinaryError> {
        let index = self.varint()?;
        usize::try_from(index)
            .ok()
            .and_then(|i| symbols.get(i))
            .cloned()
            .ok_or(BinaryError::UnknownSymbol(index))
    }

    fn tick(&mut self, symbols: &[Symbol]) -> Result<Tick, BinaryError> {
        let symbol = self.symbol(symbols)?;
        let seq = self.varint()?;
        let ts = self.signed()?;
        let price = self.signed()?;
        let size = u32::try_from(self.varint()?).map_err(|_| BinaryError::OutOfRange)?;
        let mut relative =
            || -> Result<Price, BinaryError> { Ok(Price(price.wrapping_add(self.signed()?))) };
        let (bid, ask, open, high, low) = (
            relative()?,
            relative()?,
            relative()?,
            relative()?,
            relative()?,
        );
        Ok(Tick {
            symbol,
            seq,
            ts,
            price: Price(price),
            size,
            bid,
            ask,
            open,
            high,
            low,
            volume: self.varint()?,
        })
    }

    fn candle(&mut self, symbols: &[Symbol]) -> Result<CandleUpdate, BinaryError> {
        let symbol = self.symbol(symbols)?;
        let index = self.varint()?;
        let interval = usize::try_from(index)
            .ok()
            .and_then(|i| Interval::ALL.get(i))
            .copied()
            .ok_or(BinaryError::UnknownInterval(index))?;
        let start = self.signed()?;
        let open = self.signed()?;
        let mut relative =
            || -> Result<Price, BinaryError> { Ok(Price(open.wrapping_add(self.signed()?))) };
        let (high, low, close) = (relative()?, relative()?, relative()?);
        Ok(CandleUpdate {
            symbol,
            interval,
            candle: Candle {
                start,
                open: Price(open),
                high,
                low,
                close,
                volume: self.varint()?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Vec<Symbol> {
        ["AAPL", "MSFT"]
            .iter()
            .map(|s| Symbol::new(s).unwrap())
            .collect()
    }

    fn tick(symbol: &str, seq: u64) -> Tick {
        Tick {
            symbol: Symbol::new(symbol).unwrap(),
            seq,
            ts: 1_764_000_000_123,
            price: Price(18_735),
            size: 300,
            bid: Price(18_734),
            ask: Price(18_735),
            open: Price(18_650),
            high: Price(18_800),
            low: Price(18_600),
            volume: 1_234_500,
        }
    }

    #[test]
    fn a_frame_round_trips_and_is_far_smaller_than_json() {
        let ticks = vec![tick("AAPL", 1), tick("MSFT", 7), tick("AAPL", 2)];
        let candles = vec![CandleUpdate {
            symbol: Symbol::new("MSFT").unwrap(),
            interval: Interval::M1,
            candle: Candle {
                start: 1_764_000_000_000,
                open: Price(41_200),
                high: Price(41_250),
                low: Price(41_190),
                close: Price(41_210),
                volume: 4_200,
            },
        }];
        let mut frame = BinaryFrame::new();
        for t in &ticks {
            let index = symbols().iter().position(|s| *s == t.symbol).unwrap();
            frame.push(t, index);
        }
        frame.push_candle(&candles[0], 1);
        let bytes = frame.finish().unwrap();
        let json = ServerMessage::Ticks {
            ticks: ticks.clone(),
            candles: candles.clone(),
        };
        assert!(
            bytes.len() * 4 < json.to_json().len(),
            "{} bytes against {} in JSON",
            bytes.len(),
            json.to_json().len()
        );
        let mut stamps = Vec::new();
        tick_timestamps(&bytes, &mut stamps).unwrap();
        assert_eq!(stamps, ticks.iter().map(|t| t.ts).collect::<Vec<_>>());
        assert_eq!(decode(&bytes, &symbols()), Ok(json));
        assert!(frame.is_empty());
    }

    #[test]
    fn intervals_have_fixed_indexes_and_a_five_minute_candle_round_trips() {
        let indexes: Vec<u64> = Interval::ALL.iter().map(|&i| interval_index(i)).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
        assert_eq!(interval_index(Interval::M5), 3);
        let update = CandleUpdate {
            symbol: Symbol::new("AAPL").unwrap(),
            interval: Interval::M5,
            candle: Candle {
                start: 1_763_999_700_000,
                open: Price(18_700),
                high: Price(18_740),
                low: Price(18_690),
                close: Price(18_734),
                volume: 4_200,
            },
        };
        let mut frame = BinaryFrame::new();
        frame.push(&tick("AAPL", 1), 0);
        frame.push_candle(&update, 0);
        let bytes = frame.finish().unwrap();
        let Ok(ServerMessage::Ticks { candles, .. }) = decode(&bytes, &symbols()) else {
            panic!("decodes")
        };
        assert_eq!(candles, vec![update]);
    }

    #[test]
    fn extreme_values_round_trip() {
        let mut extreme = tick("AAPL", u64::MAX);
        extreme.ts = i64::MIN;
        extreme.price = Price(i64::MAX);
        extreme.bid = Price(i64::MIN);
        extreme.size = u32::MAX;
        extreme.volume = u64::MAX;
        let mut frame = BinaryFrame::new();
        frame.push(&extreme, 0);
        let bytes = frame.finish().unwrap();
        let Ok(ServerMessage::Ticks { ticks, .. }) = decode(&bytes, &symbols()) else {
            panic!("decodes")
        };
        assert_eq!(ticks, vec![extreme]);
    }

    #[test]
    fn bad_bytes_get_a_clear_error() {
        let mut good = BinaryFrame::new();
        good.push(&tick("MSFT", 1), 1);
        let good = good.finish().unwrap();
        let huge_count = [KIND_TICKS, 0xff, 0xff, 0xff, 0xff, 0x0f];
        let overlong = [
            KIND_TICKS, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        let cases: Vec<(&[u8], BinaryError)> = vec![
            (&[], BinaryError::Empty),
            (&[7, 0, 0], BinaryError::UnknownKind(7)),
            (&good[..good.len() - 2], BinaryError::Truncated),
            (&huge_count, BinaryError::Truncated),
            (&overlong, BinaryError::Overlong),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode(bytes, &symbols()), Err(expected), "{bytes:?}");
        }
        assert_eq!(
            decode(&good, &symbols()[..1]),
            Err(BinaryError::UnknownSymbol(1))
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing, &symbols()), Err(BinaryError::Trailing(1)));
    }
}
