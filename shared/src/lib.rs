//! Ticker's wire protocol, shared by the server and the browser app.
//!
//! Everything that crosses the WebSocket is defined here, so both ends agree at compile time:
//!
//! - [`price`]: [`Price`], exact prices as integer cents (no floating point on the wire).
//! - [`symbol`]: [`Symbol`] and [`SymbolList`], validated instrument names.
//! - [`market`]: market data: [`Tick`], [`Candle`], [`Interval`], [`CandleSeries`], [`SymbolInfo`].
//! - [`alert`]: server-side price alerts: [`AlertRule`], [`AlertFired`] and the validation both
//!   ends apply.
//! - [`chat`]: the desk chat: [`ChatPost`], [`ChatMessage`], its limits and validation.
//! - [`message`]: [`ClientMessage`] and [`ServerMessage`], the `type`-tagged JSON messages.
//! - [`codec`]: total decoding of client input ([`decode_client`]) and encoding helpers,
//!   including the batched `ticks` frame built from pre-serialized ticks.
//! - [`binary`]: the compact binary form of `ticks` messages, for clients that negotiate the
//!   `ticker.v1.bin` subprotocol (JSON stays the default).
//! - [`close`]: the WebSocket close codes the server uses and what each means.
//! - [`sse`]: the Server-Sent Events fallback transport: its event names and
//!   [`ResumeCursor`], the resume position as text carried in event ids (`Last-Event-ID`).
//! - [`backoff`]: the reconnect policy every client follows (exponential, full jitter), shared
//!   by the browser app and the Rust test and load clients so all behave alike.
//!
//! The crate does no I/O. `docs/PROTOCOL.md` describes every message with an example and the
//! fixtures under `tests/fixtures/` pin the exact wire format.

pub mod alert;
pub mod backoff;
pub mod binary;
pub mod chat;
pub mod close;
pub mod codec;
pub mod market;
pub mod message;
pub mod price;
pub mod sse;
pub mod symbol;

pub use alert::{AlertCondition, AlertError, AlertFired, AlertId, AlertRule};
pub use chat::{ChatError, ChatMessage, ChatPost};
pub use codec::{DecodeError, ErrorCode, decode_client, decode_server};
pub use market::{Candle, CandleSeries, Interval, SymbolInfo, Tick};
pub use message::{
    CandleUpdate, ClientMessage, ErrorMessage, Hello, HistoryPage, HistoryRequest, Pong,
    ServerMessage, Snapshot,
};
pub use price::Price;
pub use sse::{CursorError, ResumeCursor};
pub use symbol::{Symbol, SymbolList};

/// Version of the protocol described by this crate; sent in [`Hello`]. It changes only when an
/// existing message changes incompatibly (new optional fields and new message types do not).
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest client message the server accepts, in bytes of UTF-8 text.
///
/// The largest legitimate message is a `resume` naming every symbol with its sequence number,
/// about 30 bytes per symbol, so this leaves room for [`MAX_SYMBOLS_PER_REQUEST`] entries.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

/// Most symbols one `subscribe`, `unsubscribe` or `resume` may name.
pub const MAX_SYMBOLS_PER_REQUEST: usize = 256;

/// Most candles one `history` request may ask for: a few screens of chart, and a reply of at
/// most about 40 KB.
pub const MAX_HISTORY_CANDLES: u32 = 500;

/// Most `history` requests one connection may have waiting for their answers to be sent; one
/// more is refused (`rate_limited`) until an answer has gone out. The server's queue for a
/// connection counts messages, not bytes, so this is what bounds the memory a client that asks
/// quickly and reads slowly can hold in pages (about 160 KB). A chart asking for one page at a
/// time per series never meets it.
pub const MAX_HISTORY_IN_FLIGHT: usize = 4;
