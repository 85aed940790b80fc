//! The reactive state the components read: small, `Copy` handles to Leptos signals.

use leptos::prelude::*;
use ticker_shared::{Interval, Symbol, SymbolInfo};

use crate::{
    chart::ChartKind,
    pace::Pace,
    state::{Anomalies, QuoteRow},
    theme::{Theme, ThemeChoice},
    transport::Transport,
};

/// The connection as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Opening the WebSocket or waiting for `hello`.
    Connecting,
    /// Receiving live data.
    Live,
    /// Waiting before the next attempt; whole seconds left.
    Reconnecting {
        /// Seconds until the next attempt.
        seconds: u32,
    },
    /// The browser reports no network; waiting for it to return.
    Offline,
}

impl ConnectionStatus {
    /// A stable name, used as a CSS hook and by the browser tests.
    pub fn key(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Live => "live",
            ConnectionStatus::Reconnecting { .. } => "reconnecting",
            ConnectionStatus::Offline => "offline",
        }
    }

    /// The text shown in the status bar.
    pub fn label(self) -> String {
        match self {
            ConnectionStatus::Connecting => "Connecting…".into(),
            ConnectionStatus::Live => "Live".into(),
            ConnectionStatus::Reconnecting { seconds } => format!("Reconnecting in {seconds} s"),
            ConnectionStatus::Offline => "Offline".into(),
        }
    }
}

/// One row of the server's symbols: static facts plus signals of live figures.
#[derive(Debug, Clone)]
pub struct Row {
    /// Symbol, name and reference price.
    pub info: SymbolInfo,
    /// Live figures; `None` until the symbol trades.
    pub quote: RwSignal<Option<QuoteRow>>,
    /// Whether the watchlist shows it.
    pub listed: RwSignal<bool>,
    /// No tick for much longer than this symbol's usual spacing.
    pub stale: RwSignal<bool>,
    /// The session's prices as SVG markup ([`crate::sparkline::Sparkline::to_svg`]), redrawn
    /// at most once a second; empty until there are two closes.
    pub sparkline: RwSignal<String>,
}

/// Puts `value` in `signal` only if it differs, so readers rerun only on a real change.
pub fn set_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    signal.maybe_update(|current| {
        let changed = *current != value;
        if changed {
            *current = value;
        }
        changed
    });
}

/// Every signal the dashboard shows.
#[derive(Debug, Clone, Copy)]
pub struct Signals {
    /// Connection state.
    pub status: RwSignal<ConnectionStatus>,
    /// The transport in use (or being tried).
    pub transport: RwSignal<Transport>,
    /// Every symbol the server offers, in server order (the watchlist shows the listed ones).
    pub rows: RwSignal<Vec<Row>>,
    /// The symbol shown in the chart.
    pub selected: RwSignal<Option<Symbol>>,
    /// The chart's candle interval.
    pub interval: RwSignal<Interval>,
    /// Candles or line.
    pub chart_kind: RwSignal<ChartKind>,
    /// Symbols overlaid on the selected one in compare mode (at most three).
    pub compare: RwSignal<Vec<Symbol>>,
    /// Whether the chart follows the newest candle (else it shows "back to live").
    pub chart_live: RwSignal<bool>,
    /// Tick latency (server timestamp to receipt), median and 99th percentile, in ms.
    pub latency: RwSignal<Option<(f64, f64)>>,
    /// Round trip of the last application ping, in ms.
    pub round_trip: RwSignal<Option<f64>>,
    /// Ticks received per second.
    pub tick_rate: RwSignal<f64>,
    /// Delivery anomalies (duplicates dropped, gaps resumed, resets).
    pub anomalies: RwSignal<Anomalies>,
    /// The user's theme choice.
    pub theme_choice: RwSignal<ThemeChoice>,
    /// The theme in effect (the chart paints with its palette).
    pub theme: RwSignal<Theme>,
    /// How fast moving content updates: live, slow or paused.
    pub pace: RwSignal<Pace>,
    /// What the polite live region says about the selected symbol (throttled).
    pub announcement: RwSignal<String>,
}

impl Signals {
    /// Fresh signals in the current reactive owner.
    pub fn new() -> Self {
        Signals {
            status: RwSignal::new(ConnectionStatus::Connecting),
            transport: RwSignal::new(Transport::WebSocket),
            rows: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            interval: RwSignal::new(Interval::S5),
            chart_kind: RwSignal::new(ChartKind::default()),
            compare: RwSignal::new(Vec::new()),
            chart_live: RwSignal::new(true),
            latency: RwSignal::new(None),
            round_trip: RwSignal::new(None),
            tick_rate: RwSignal::new(0.0),
            anomalies: RwSignal::new(Anomalies::default()),
            theme_choice: RwSignal::new(ThemeChoice::System),
            theme: RwSignal::new(Theme::Dark),
            pace: RwSignal::new(Pace::Live),
            announcement: RwSignal::new(String::new()),
        }
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}
