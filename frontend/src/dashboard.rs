//! The dashboard's engine: owns the [`MarketView`], turns server messages into signal updates
//! and chart paints, at most once per animation frame.
//!
//! Messages can arrive hundreds of times a second; the screen refreshes about 60 times. So a
//! message only updates the model and marks what changed; one `requestAnimationFrame` callback
//! then pushes the changed rows into their signals and repaints the chart once.
//!
//! What reaches the screen, and when, is [`display`]'s business (pause and slow updates, no
//! drawing while the tab is hidden, throttled flashes, sparklines, staleness, announcements);
//! [`control`] carries the page's requests to the feed (watchlist changes, connection checks,
//! and every message the alerts, chat and chart send);
//! [`chat`] is the desk chat's side (messages into the panel, posts out).

mod alerts;
mod chart;
mod chat;
mod control;
mod display;

use std::{
    cell::{Cell, RefCell},
    collections::BTreeSet,
    rc::Rc,
    time::Duration,
};

use futures_channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use ticker_shared::{
    CandleSeries, ClientMessage, ErrorCode, Interval, ResumeCursor, ServerMessage, Snapshot,
};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlCanvasElement;

pub use self::chart::ChartInput;
use self::display::Display;
use crate::{
    alerts::Alerts,
    chart::control::ChartControl,
    chat::ChatDesk,
    components::chart::tooltip::Placed,
    feed::{Command, Commands},
    history::HistoryBook,
    signals::{Row, Signals},
    state::{MarketView, Updates},
    stats::{LatencyWindow, RateMeter},
    storage, watched,
};

/// Latency samples kept for the percentiles.
const LATENCY_SAMPLES: usize = 512;
/// Window of the ticks-per-second figure.
const RATE_WINDOW_MS: f64 = 2_000.0;
/// How often the latency and rate figures refresh.
const METER_REFRESH: Duration = Duration::from_millis(500);

/// Milliseconds since the page loaded (`performance.now()`).
pub fn page_clock() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Wall clock in Unix milliseconds (`Date.now()`), comparable with server timestamps.
pub fn wall_clock() -> f64 {
    js_sys::Date::now()
}

/// A copy of one symbol's (by index) candles at one interval, as the display last showed them.
type HeldSeries = ((usize, Interval), CandleSeries);

/// What the next animation frame has to do.
#[derive(Debug, Default)]
struct Pending {
    rows: BTreeSet<usize>,
    universe: bool,
    /// New data for the chart: waits, like the rows, while the display is paused or slowed.
    chart: bool,
    /// A repaint the user asked for (selection, interval, theme, size): never waits.
    repaint: bool,
    frame_requested: bool,
}

/// The model, the meters and the painter, shared by the feed and the components.
pub struct Dashboard {
    signals: Signals,
    view: RefCell<MarketView>,
    pending: RefCell<Pending>,
    canvas: RefCell<Option<HtmlCanvasElement>>,
    chart: RefCell<ChartControl>,
    /// The user's price alerts.
    alerts: RefCell<Alerts>,
    /// Why the last rule could not be set (the form's or the server's reason).
    alert_error: RefCell<Option<String>>,
    /// The chart's candles as the display last showed them, while the pace holds new data
    /// back (see `dashboard/chart.rs`); empty while live.
    held: RefCell<Vec<HeldSeries>>,
    /// Which series' older candles are being fetched or are all here.
    history: RefCell<HistoryBook>,
    /// The desk chat: the messages shown and the posts awaiting an answer.
    chat: RefCell<ChatDesk>,
    /// What the chart's tooltip shows, so it is rewritten only when that changes.
    tooltip: RefCell<Option<Placed>>,
    latency: RefCell<LatencyWindow>,
    rate: RefCell<RateMeter>,
    first_tick_painted: Cell<bool>,
    ticks_applied: Cell<u64>,
    display: RefCell<Display>,
    commands: UnboundedSender<Command>,
    /// The feed's end of `commands`, until the feed takes it.
    command_queue: RefCell<Option<Commands>>,
}

impl Dashboard {
    /// A dashboard feeding `signals`.
    pub fn new(signals: Signals) -> Rc<Self> {
        let (commands, command_queue) = futures_channel::mpsc::unbounded();
        let stored_watchlist = storage::load(watched::STORAGE_KEY);
        Rc::new(Dashboard {
            signals,
            view: RefCell::new(MarketView::with_watchlist(stored_watchlist)),
            pending: RefCell::new(Pending::default()),
            canvas: RefCell::new(None),
            chart: RefCell::new(ChartControl::default()),
            alerts: RefCell::new(alerts::stored()),
            alert_error: RefCell::new(None),
            held: RefCell::new(Vec::new()),
            history: RefCell::new(HistoryBook::default()),
            chat: RefCell::new(ChatDesk::default()),
            tooltip: RefCell::new(None),
            latency: RefCell::new(LatencyWindow::new(LATENCY_SAMPLES)),
            rate: RefCell::new(RateMeter::new(RATE_WINDOW_MS)),
            first_tick_painted: Cell::new(false),
            ticks_applied: Cell::new(0),
            display: RefCell::new(Display::new()),
            commands,
            command_queue: RefCell::new(Some(command_queue)),
        })
    }

    /// The signals the components read.
    pub fn signals(&self) -> Signals {
        self.signals
    }

    /// Where the dashboard stands, for the next session to continue from.
    pub fn resume_cursor(&self) -> Option<ResumeCursor> {
        self.view.borrow().resume_cursor()
    }

    /// The server's heartbeat interval, once known.
    pub fn heartbeat_interval_ms(&self) -> u64 {
        self.view.borrow().heartbeat_interval_ms()
    }

    /// Folds a server message into the model; returns what must be sent back (subscribe,
    /// resume after a reconnect or a gap).
    pub fn receive(self: &Rc<Self>, message: ServerMessage) -> Vec<ClientMessage> {
        if self.receive_alert(&message) || self.receive_chat(&message) {
            return Vec::new();
        }
        match &message {
            ServerMessage::Pong(pong) => {
                self.signals.round_trip.set(Some(wall_clock() - pong.ts));
                return Vec::new();
            }
            ServerMessage::Error(error) => {
                tracing::warn!(code = ?error.code, message = %error.message, "server refused a message");
                if error.in_reply_to.as_deref() == Some("history")
                    || error.code == ErrorCode::RateLimited
                {
                    // That request will not be answered: the chart may ask again.
                    self.history.borrow_mut().release();
                }
                return Vec::new();
            }
            ServerMessage::History(page) => {
                self.receive_history(page);
                return Vec::new();
            }
            // A new session (requests on the old one are lost) or a symbol's candles replaced:
            // what was known of the server's history no longer holds.
            ServerMessage::Hello(_) => self.history.borrow_mut().clear(),
            ServerMessage::Snapshot(Snapshot { symbol, .. }) => {
                self.history.borrow_mut().forget(symbol);
            }
            _ => {}
        }
        let hello = matches!(message, ServerMessage::Hello(_));
        if hello {
            count_metric("sessions");
        }
        let mut updates = Updates::default();
        self.view.borrow_mut().apply(message, &mut updates);
        if hello {
            // After the subscription or resume: the new connection holds none of our rules.
            updates.outgoing.extend(self.register_alerts());
        }
        if !updates.ticks.is_empty() {
            let now = wall_clock();
            let mut latency = self.latency.borrow_mut();
            for &(_, ts) in &updates.ticks {
                latency.record((now - ts as f64).max(0.0));
            }
            self.rate
                .borrow_mut()
                .record(page_clock(), updates.ticks.len() as u32);
            self.ticks_applied
                .set(self.ticks_applied.get() + updates.ticks.len() as u64);
        }
        self.display
            .borrow_mut()
            .observe(&updates, hello, &self.view.borrow(), page_clock());
        let on_chart = self.chart_indices();
        {
            let mut pending = self.pending.borrow_mut();
            pending.universe |= updates.universe;
            pending.chart |=
                updates.universe || on_chart.iter().any(|i| updates.changed.contains(i));
            pending.rows.extend(updates.changed);
        }
        self.request_frame();
        updates.outgoing
    }

    /// Gives the painter its canvas.
    pub fn attach_canvas(self: &Rc<Self>, canvas: HtmlCanvasElement) {
        *self.canvas.borrow_mut() = Some(canvas);
        self.invalidate_chart();
    }

    /// Repaints the chart on the next frame (after a selection, interval or size change), even
    /// while the display is paused.
    pub fn invalidate_chart(self: &Rc<Self>) {
        self.pending.borrow_mut().repaint = true;
        self.request_frame();
    }

    /// Refreshes the latency and rate figures periodically (as the pace allows), for the life
    /// of the page.
    pub fn start_meters(self: &Rc<Self>) {
        let dashboard = Rc::clone(self);
        let refresh = move || {
            let signals = dashboard.signals;
            if dashboard.meters_due() {
                let latency = dashboard.latency.borrow();
                signals
                    .latency
                    .set(latency.percentile(50.0).zip(latency.percentile(99.0)));
                signals
                    .tick_rate
                    .set(dashboard.rate.borrow_mut().per_second(page_clock()));
            }
            let anomalies = dashboard.view.borrow().anomalies();
            publish_metric("gaps", anomalies.gaps as f64);
            publish_metric("duplicates", anomalies.duplicates as f64);
            publish_metric("resets", anomalies.resets as f64);
            publish_metric("ticksApplied", dashboard.ticks_applied.get() as f64);
            publish_metric("wasmMemoryBytes", wasm_memory_bytes());
            signals.anomalies.set(anomalies);
        };
        if let Err(err) = set_interval_with_handle(refresh, METER_REFRESH) {
            tracing::warn!(error = ?err, "cannot start the meters");
        }
    }

    fn selected_index(&self) -> Option<usize> {
        let selected = self.signals.selected.get_untracked()?;
        self.view.borrow().index_of(selected.as_str())
    }

    fn request_frame(self: &Rc<Self>) {
        let mut pending = self.pending.borrow_mut();
        if pending.frame_requested {
            return;
        }
        pending.frame_requested = true;
        let dashboard = Rc::clone(self);
        request_animation_frame(move || dashboard.render());
    }

    /// One animation frame: publish changed rows, repaint the chart if needed; nothing while
    /// the tab is hidden, and new data only when the pace allows (see [`display`]).
    fn render(self: &Rc<Self>) {
        let Some(frame) = self.take_pending() else {
            return;
        };
        let (rows, universe, chart) = (&frame.rows, frame.universe, frame.chart);
        let now = page_clock();
        let view = self.view.borrow();
        if universe {
            let new_rows = view
                .symbols()
                .iter()
                .enumerate()
                .map(|(index, info)| Row {
                    info: info.clone(),
                    quote: RwSignal::new(view.quote_row(index)),
                    listed: RwSignal::new(view.is_listed(index)),
                    stale: RwSignal::new(false),
                    sparkline: RwSignal::new(String::new()),
                })
                .collect::<Vec<_>>();
            let keep_selection = self.selected_index().is_some_and(|i| view.is_listed(i));
            if !keep_selection {
                let first_listed = (0..view.symbols().len()).find(|&i| view.is_listed(i));
                self.signals
                    .selected
                    .set(first_listed.map(|i| view.symbols()[i].symbol.clone()));
            }
            self.display.borrow_mut().resize(new_rows.len());
            self.signals.rows.set(new_rows);
        } else if !rows.is_empty() {
            let quotes: Vec<_> = self.signals.rows.with_untracked(|signal_rows| {
                rows.iter()
                    .filter_map(|&index| Some((index, signal_rows.get(index)?.quote)))
                    .collect()
            });
            let mut display = self.display.borrow_mut();
            for (index, quote) in quotes {
                quote.set(display.shown_quote(index, view.quote_row(index), now));
            }
        }
        self.refresh_sparklines(&view, &frame, now);
        if chart || universe {
            self.paint_chart(&view, frame.fresh);
        }
        if !self.first_tick_painted.get()
            && (0..view.symbols().len()).any(|i| view.quote_row(i).is_some())
        {
            self.first_tick_painted.set(true);
            publish_metric("firstTickPaintMs", page_clock());
        }
    }
}

/// The size of the app's WebAssembly memory, in bytes: it only grows, so it is the most the
/// page has needed at once (the browser tests report it to show memory stays bounded).
fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map_or(0.0, |memory| {
            f64::from(
                memory
                    .buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length(),
            )
        })
}

/// Sets `window.__ticker[name]`, the figures the browser tests and benchmarks read.
pub(crate) fn publish_metric(name: &str, value: f64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let key = JsValue::from_str("__ticker");
    let object = js_sys::Reflect::get(&window, &key)
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| js_sys::Object::new().into());
    let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_f64(value));
    let _ = js_sys::Reflect::set(&window, &key, &object);
}

/// Reads `window.__ticker[name]` (0 if unset).
pub(crate) fn read_metric(name: &str) -> f64 {
    web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window, &JsValue::from_str("__ticker")).ok())
        .and_then(|object| js_sys::Reflect::get(&object, &JsValue::from_str(name)).ok())
        .and_then(|value| value.as_f64())
        .unwrap_or(0.0)
}

/// Adds one to `window.__ticker[name]`.
pub(crate) fn count_metric(name: &str) {
    publish_metric(name, read_metric(name) + 1.0);
}
