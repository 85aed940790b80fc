//! Ticker's dashboard, a Leptos app compiled to WebAssembly.
//!
//! Pure logic, unit-tested natively:
//! - [`state`]: the reducer folding server messages into per-symbol books (gap-free by `seq`).
//! - [`chart`]: chart geometry (visible candles, scales, grid, time marks).
//! - [`stats`], [`format`]: latency percentiles, tick rate, number formatting.
//! - [`sorting`]: the watchlist's sort order.
//! - [`history`]: when to ask the server for older candles.
//! - [`alerts`]: the user's price alerts, kept, registered after every `hello`, fired.
//! - [`chat`]: the desk chat's messages (merged by id, bounded), posts checked before sending and
//!   refused ones put back.
//! - [`transport`]: when the feed falls back from the WebSocket to SSE, and back.
//! - [`navigation`]: arrow keys, Home and End in the watchlist; who is selected after a removal.
//! - [`staleness`]: when a symbol has been silent for longer than its own usual spacing.
//! - [`flash`], [`pace`], [`announce`]: moving content within WCAG limits (flashes under three a
//!   second, pause and slow updates, a throttled live region). [`sparkline`]: a row's trend.
//! - [`theme`]: light and dark themes, the system's by default, the user's choice kept.
//! - [`watched`]: which symbols the watchlist lists, kept across reloads.
//!
//! In the browser:
//! - [`feed`]: the WebSocket (or SSE) client with reconnect and resume.
//! - [`dashboard`]: the engine that batches updates into one animation frame.
//! - [`signals`]: the reactive state the components read.
//! - [`lifecycle`]: hidden tab and wake from sleep (no drawing while hidden, a connection check
//!   when visible again or after a wall-clock jump). [`storage`]: `localStorage`.
//! - [`app`] and [`components`]: the page.
//! - [`log`]: `tracing` events to the browser console. [`dom`]: direct DOM writes.

pub mod alerts;
pub mod announce;
pub mod app;
pub mod chart;
pub mod chat;
pub mod components;
pub mod dashboard;
pub mod dom;
pub mod feed;
pub mod flash;
pub mod format;
pub mod history;
pub mod lifecycle;
pub mod log;
pub mod navigation;
pub mod pace;
pub mod signals;
pub mod sorting;
pub mod sparkline;
pub mod staleness;
pub mod state;
pub mod stats;
pub mod storage;
pub mod theme;
pub mod transport;
pub mod watched;

pub use app::App;
