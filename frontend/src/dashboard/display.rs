//! What reaches the screen, and when: the display side of the [`Dashboard`].
//!
//! - While the tab is hidden nothing is drawn: rows, chart, sparklines and stale marks wait
//!   (the data is still applied) and the first frame after it becomes visible shows the
//!   current state.
//! - The pace ([`Pace`]) holds new data back: paused, until resumed; slow, for
//!   [`SLOW_INTERVAL_MS`](crate::pace::SLOW_INTERVAL_MS) between updates. What the user asks
//!   for (another symbol, interval or theme) is drawn at once either way.
//! - Each price cell flashes at most every [`MIN_FLASH_SPACING_MS`](crate::flash) (a
//!   [`FlashGate`] per row); sparklines are redrawn at most every [`SPARKLINE_REFRESH_MS`].
//! - Once a second: per-symbol staleness ([`Cadence`]) and the live region's announcement of
//!   the selected symbol ([`Announcer`]).

use std::{collections::BTreeSet, rc::Rc, time::Duration};

use leptos::prelude::*;

use super::{Dashboard, Pending, page_clock, publish_metric};
use crate::{
    announce::{Announcer, announcement},
    feed::CheckReason,
    flash::FlashGate,
    pace::Pace,
    signals::{ConnectionStatus, set_changed},
    sparkline::{self, SPARKLINE_REFRESH_MS},
    staleness::Cadence,
    state::{MarketView, QuoteRow, Updates},
    storage,
};

/// How often staleness and the announcement are looked at.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// Per-row display state, indexed like the server's symbols.
#[derive(Debug)]
pub(super) struct Display {
    flashes: Vec<FlashGate>,
    cadences: Vec<Cadence>,
    /// Per row: its sparkline is out of date.
    sparklines_due: Vec<bool>,
    sparklines_at: f64,
    /// When new data last reached the screen (page clock).
    shown_at: f64,
    /// When the status bar's meters were last shown (page clock).
    meters_at: f64,
    announcer: Announcer,
    hidden: bool,
    /// A timer will request a frame (for held-back data): no second one.
    timer_armed: bool,
}

impl Display {
    pub(super) fn new() -> Self {
        Display {
            flashes: Vec::new(),
            cadences: Vec::new(),
            sparklines_due: Vec::new(),
            sparklines_at: f64::NEG_INFINITY,
            shown_at: f64::NEG_INFINITY,
            meters_at: f64::NEG_INFINITY,
            announcer: Announcer::default(),
            hidden: crate::dom::document().is_some_and(|d| d.hidden()),
            timer_armed: false,
        }
    }

    /// A new symbol universe of `count` rows: flashes and sparklines start afresh (the cadences
    /// were fitted to the universe by [`Display::observe`], which sees every message first).
    pub(super) fn resize(&mut self, count: usize) {
        self.flashes = vec![FlashGate::default(); count];
        self.sparklines_due = vec![true; count];
    }

    /// Feeds what one message changed into the cadences, at page time `now`.
    pub(super) fn observe(&mut self, updates: &Updates, hello: bool, view: &MarketView, now: f64) {
        if self.cadences.len() != view.symbols().len() {
            self.cadences = vec![Cadence::default(); view.symbols().len()];
        }
        if hello {
            self.cadences.iter_mut().for_each(|c| c.reconnected(now));
        }
        for &(index, ts) in &updates.ticks {
            self.cadences[index].tick(ts, now);
        }
        // A change without a tick is a snapshot (or a final candle): the book was replaced.
        let ticked = |index: usize| updates.ticks.iter().any(|&(i, _)| i == index);
        for &index in updates.changed.iter().filter(|&&index| !ticked(index)) {
            let latest = view.book(index).and_then(|book| book.quote()).map(|t| t.ts);
            self.cadences[index].restart(latest, now);
        }
    }

    /// The symbol at `index` was just listed: its silence counts from `now`.
    pub(super) fn listed(&mut self, index: usize, now: f64) {
        if let Some(cadence) = self.cadences.get_mut(index) {
            cadence.reconnected(now);
        }
    }

    /// The figures to show for row `index`: the model's, with the flash throttled.
    pub(super) fn shown_quote(
        &mut self,
        index: usize,
        quote: Option<QuoteRow>,
        now: f64,
    ) -> Option<QuoteRow> {
        let mut quote = quote?;
        if let Some(gate) = self.flashes.get_mut(index) {
            quote.flash = gate.show(quote.flash, now);
        }
        Some(quote)
    }
}

/// What one animation frame may draw.
#[derive(Debug)]
pub(super) struct Frame {
    /// Rows with new figures.
    pub(super) rows: BTreeSet<usize>,
    /// The symbol universe changed: rebuild the rows.
    pub(super) universe: bool,
    /// Repaint the chart.
    pub(super) chart: bool,
    /// New data reaches the screen in this frame (the pace allows it).
    pub(super) fresh: bool,
}

impl Dashboard {
    /// Takes what this frame may draw; `None` while hidden. New data stays pending while the
    /// pace holds it back (a timer brings it in slow mode, resuming does in paused mode).
    pub(super) fn take_pending(self: &Rc<Self>) -> Option<Frame> {
        let mut pending = self.pending.borrow_mut();
        pending.frame_requested = false;
        let mut display = self.display.borrow_mut();
        if display.hidden {
            return None;
        }
        let now = page_clock();
        let wait = self
            .signals
            .pace
            .get_untracked()
            .wait_ms(now - display.shown_at);
        let show = wait == Some(0.0);
        let Pending {
            rows,
            universe,
            chart,
            repaint,
            ..
        } = &mut *pending;
        let frame = Frame {
            rows: if show {
                std::mem::take(rows)
            } else {
                BTreeSet::new()
            },
            universe: std::mem::take(universe),
            chart: std::mem::take(repaint) | (show && std::mem::take(chart)),
            fresh: show,
        };
        if show {
            display.shown_at = now;
        } else if let Some(wait) = wait
            && (!rows.is_empty() || *chart)
        {
            self.frame_after(&mut display, wait);
        }
        Some(frame)
    }

    /// Requests a frame in `ms` (once: a timer already armed will do).
    fn frame_after(self: &Rc<Self>, display: &mut Display, ms: f64) {
        if display.timer_armed {
            return;
        }
        display.timer_armed = true;
        let dashboard = Rc::clone(self);
        set_timeout(
            move || {
                dashboard.display.borrow_mut().timer_armed = false;
                dashboard.request_frame();
            },
            Duration::from_millis(ms.ceil() as u64),
        );
    }

    /// Redraws the sparklines of the frame's rows (and of any left over) if the last redraw is
    /// old enough, else keeps them for a later frame; only when new data reaches the screen.
    /// A row with no sparkline yet gets one at once: the snapshots of a page just opened arrive
    /// after the rows are built, and an empty trend column for a second looks broken.
    pub(super) fn refresh_sparklines(self: &Rc<Self>, view: &MarketView, frame: &Frame, now: f64) {
        let mut display = self.display.borrow_mut();
        for &index in &frame.rows {
            if let Some(due) = display.sparklines_due.get_mut(index) {
                *due = true;
            }
        }
        let universe = frame.universe;
        if !(frame.fresh || universe) || !display.sparklines_due.contains(&true) {
            return;
        }
        let since = now - display.sparklines_at;
        let throttled = since < SPARKLINE_REFRESH_MS && !universe;
        if throttled {
            self.frame_after(&mut display, SPARKLINE_REFRESH_MS - since);
        } else {
            display.sparklines_at = now;
        }
        let mut lines: Vec<(usize, String)> = Vec::new();
        self.signals.rows.with_untracked(|rows| {
            for (index, due) in display.sparklines_due.iter_mut().enumerate() {
                if !*due {
                    continue;
                }
                let row = rows.get(index);
                if throttled
                    && row.is_some_and(|row| row.sparkline.with_untracked(|l| !l.is_empty()))
                {
                    continue;
                }
                *due = false;
                if let (Some(row), Some(book)) = (row, view.book(index)) {
                    let line = sparkline::of_book(book, row.info.reference_price);
                    lines.push((index, line.map(|line| line.to_svg()).unwrap_or_default()));
                }
            }
        });
        drop(display);
        self.signals.rows.with_untracked(|rows| {
            for (index, line) in lines {
                if let Some(row) = rows.get(index) {
                    row.sparkline.set(line);
                }
            }
        });
    }

    /// Whether the status bar's meters may change now: not while hidden or paused, at most
    /// every two seconds in slow mode.
    pub(super) fn meters_due(&self) -> bool {
        let mut display = self.display.borrow_mut();
        let now = page_clock();
        let due = !display.hidden
            && self
                .signals
                .pace
                .get_untracked()
                .wait_ms(now - display.meters_at)
                == Some(0.0);
        if due {
            display.meters_at = now;
        }
        due
    }

    /// Marks stale symbols and offers the announcement, once a second for the life of the page.
    pub fn start_housekeeping(self: &Rc<Self>) {
        let dashboard = Rc::clone(self);
        if let Err(err) = set_interval_with_handle(move || dashboard.housekeeping(), HOUSEKEEPING) {
            tracing::warn!(error = ?err, "cannot start the housekeeping timer");
        }
    }

    fn housekeeping(&self) {
        let mut display = self.display.borrow_mut();
        if display.hidden {
            return;
        }
        // Paused, nothing on screen changes by itself: not even the stale marks.
        if self.signals.pace.get_untracked() == Pace::Paused {
            return;
        }
        let now = page_clock();
        let live = self.signals.status.get_untracked() == ConnectionStatus::Live;
        let view = self.view.borrow();
        let mut stale_count = 0;
        self.signals.rows.with_untracked(|rows| {
            for (index, row) in rows.iter().enumerate() {
                let stale = live
                    && view.is_listed(index)
                    && display.cadences.get(index).is_some_and(|c| c.is_stale(now));
                stale_count += usize::from(stale);
                set_changed(row.stale, stale);
            }
        });
        publish_metric("staleSymbols", stale_count as f64);
        let Some(index) = self.selected_index() else {
            return;
        };
        let text = view
            .quote_row(index)
            .map(|quote| announcement(&view.symbols()[index].symbol, &quote));
        if let Some(said) = text.and_then(|text| display.announcer.offer(text, now)) {
            self.signals.announcement.set(said);
        }
    }

    /// The tab was hidden or shown. Shown again: draw the current state at once, and check
    /// the connection, which may have died meanwhile without a word.
    pub fn set_hidden(self: &Rc<Self>, hidden: bool) {
        self.display.borrow_mut().hidden = hidden;
        if !hidden {
            self.request_frame();
            self.housekeeping();
            self.check_connection(CheckReason::Visible);
        }
    }

    /// Sets the pace of the display, keeps it for the next visit, and shows what was held back
    /// if it no longer waits.
    pub fn set_pace(self: &Rc<Self>, pace: Pace) {
        self.signals.pace.set(pace);
        if pace == Pace::Paused {
            // What the chart shows now is what it shows until resumed.
            self.hold_chart();
        }
        storage::save(crate::pace::STORAGE_KEY, pace.key());
        self.request_frame();
    }
}
