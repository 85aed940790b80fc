//! Ticker's dashboard, a Leptos app compiled to WebAssembly.
//!
//! Pure logic, unit-tested natively:
//! - [`state`]: the reducer folding server messages into per-symbol books (gap-free by `seq`).
//! - [`chart`]: chart geometry (visible candles, scales, grid, time marks).
//! - [`stats`], [`format`]: latency percentiles, tick rate, number formatting.
//! - [`sorting`]: the watchlist's sort order.
//! - [`history`]: when to ask the server for older candles.
//! - [`transport`]: when the feed falls back from the WebSocket to SSE, and back.
//! - [`theme`]: light and dark themes, the system's by default, the user's choice kept.
//!
//! In the browser:
//! - [`feed`]: the WebSocket (or SSE) client with reconnect and resume.
//! - [`dashboard`]: the engine that batches updates into one animation frame.
//! - [`signals`]: the reactive state the components read.
//! - [`app`] and [`components`]: the page.
//! - [`log`]: `tracing` events to the browser console.

pub mod app;
pub mod chart;
pub mod components;
pub mod dashboard;
pub mod feed;
pub mod format;
pub mod history;
pub mod log;
pub mod signals;
pub mod sorting;
pub mod state;
pub mod stats;
pub mod theme;
pub mod transport;

pub use app::App;
