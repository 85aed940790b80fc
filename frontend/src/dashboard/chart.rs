//! The dashboard's chart: the user's pointer, wheel and key input applied to the
//! [`ChartControl`], and the frame laid out and painted from the model.

use std::rc::Rc;

use leptos::prelude::*;
use ticker_shared::{CandleSeries, HistoryPage, Interval};

use super::{Dashboard, count_metric, page_clock, publish_metric, read_metric};
use crate::{
    chart::{Scene, control::Shown, layout, layout::PRICE_AXIS_WIDTH},
    components::chart::{paint, tooltip},
    pace::Pace,
    signals::set_changed,
    state::MarketView,
};

/// Something the user did to the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChartInput<'a> {
    /// A pointer went down at column `x`.
    PointerDown {
        /// Pointer id.
        id: i32,
        /// Column in CSS pixels.
        x: f64,
    },
    /// A pointer moved.
    PointerMove {
        /// Pointer id.
        id: i32,
        /// Column in CSS pixels.
        x: f64,
        /// Row in CSS pixels.
        y: f64,
    },
    /// A pointer went up or was cancelled.
    PointerUp {
        /// Pointer id.
        id: i32,
    },
    /// The pointer left the canvas.
    PointerLeave,
    /// A wheel turn at column `x`; `scroll` when Shift asks to scroll instead of zoom.
    Wheel {
        /// Horizontal delta in pixels.
        dx: f64,
        /// Vertical delta in pixels.
        dy: f64,
        /// Column in CSS pixels.
        x: f64,
        /// Scroll instead of zoom.
        scroll: bool,
    },
    /// A key press with the chart focused.
    Key {
        /// `KeyboardEvent.key`.
        key: &'a str,
        /// Whether Shift was held.
        shift: bool,
    },
    /// The "back to live" button.
    BackToLive,
    /// A new interval: live again, no cursor.
    Reset,
}

impl Dashboard {
    /// Applies the user's input to the chart and repaints it on the next frame; returns
    /// whether the input was the chart's (a key the chart does not use is not).
    pub fn chart_input(self: &Rc<Self>, input: ChartInput<'_>) -> bool {
        let Some(shown) = self.shown(matches!(input, ChartInput::Key { .. })) else {
            return false;
        };
        {
            let mut control = self.chart.borrow_mut();
            match input {
                ChartInput::PointerDown { id, x } => control.pointer_down(id, x),
                ChartInput::PointerMove { id, x, y } => control.pointer_move(id, x, y, &shown),
                ChartInput::PointerUp { id } => control.pointer_up(id),
                ChartInput::PointerLeave => control.pointer_leave(),
                ChartInput::Wheel { dx, dy, x, scroll } => control.wheel(dx, dy, x, scroll, &shown),
                ChartInput::Key { key, shift } => {
                    if !control.key(key, shift, &shown) {
                        return false;
                    }
                }
                ChartInput::BackToLive => control.back_to_live(),
                ChartInput::Reset => control.reset(),
            }
        }
        self.invalidate_chart();
        true
    }

    /// The symbols on the chart, by index: the selected one first, then those compared.
    pub(super) fn chart_indices(&self) -> Vec<usize> {
        let Some(main) = self.selected_index() else {
            return Vec::new();
        };
        let view = self.view.borrow();
        let compared = self.signals.compare.with_untracked(|symbols| {
            symbols
                .iter()
                .filter_map(|symbol| view.index_of(symbol.as_str()))
                .filter(|&index| index != main && view.is_listed(index))
                .collect::<Vec<_>>()
        });
        std::iter::once(main).chain(compared).collect()
    }

    /// The candles of the symbols on the chart, at its interval, in [`Self::chart_indices`]
    /// order.
    fn chart_series<'v>(&self, view: &'v MarketView) -> Vec<&'v CandleSeries> {
        let interval = self.signals.interval.get_untracked();
        self.chart_indices()
            .into_iter()
            .filter_map(|index| view.book(index))
            .map(|book| book.series(interval))
            .collect()
    }

    /// Runs `paint` on the candles the chart shows: the model's while the display is live;
    /// while the pace holds new data back, the copies taken when the display last showed new
    /// data (or when the pause began), so pointer, wheel and keys move around a still chart.
    /// A symbol or interval first charted during the hold is copied as it is then.
    fn with_shown_series<R>(
        &self,
        view: &MarketView,
        fresh: bool,
        paint: impl FnOnce(&[&CandleSeries]) -> R,
    ) -> R {
        if self.signals.pace.get_untracked() == Pace::Live {
            self.held.borrow_mut().clear();
            return paint(&self.chart_series(view));
        }
        let interval = self.signals.interval.get_untracked();
        let keys: Vec<(usize, Interval)> = self
            .chart_indices()
            .into_iter()
            .map(|index| (index, interval))
            .collect();
        {
            let mut copies = self.held.borrow_mut();
            if fresh {
                copies.clear();
            }
            for &(index, interval) in &keys {
                if !copies.iter().any(|(key, _)| *key == (index, interval))
                    && let Some(book) = view.book(index)
                {
                    copies.push(((index, interval), book.series(interval).clone()));
                }
            }
        }
        let copies = self.held.borrow();
        let series: Vec<&CandleSeries> = keys
            .iter()
            .filter_map(|key| copies.iter().find(|(held, _)| held == key).map(|(_, s)| s))
            .collect();
        paint(&series)
    }

    /// Takes the copies the chart shows while the display is paused (see
    /// [`Self::with_shown_series`]).
    pub(super) fn hold_chart(&self) {
        let view = self.view.borrow();
        self.with_shown_series(&view, true, |_| ());
    }

    /// What the controls need to know about the chart as it is now.
    /// `keys`: the input is a key, which needs every candle's start for the data cursor.
    fn shown(&self, keys: bool) -> Option<Shown> {
        let view = self.view.borrow();
        self.with_shown_series(&view, false, |series| {
            let main = series.first()?;
            let width = self.canvas.borrow().as_ref()?.client_width();
            Some(Shown {
                interval_ms: main.interval().millis(),
                live_edge: layout::live_edge(series.iter().copied())?,
                oldest: main.iter().next()?.start,
                starts: if keys {
                    main.iter().map(|c| c.start).collect()
                } else {
                    Vec::new()
                },
                plot_width: (f64::from(width) - PRICE_AXIS_WIDTH).max(0.0),
            })
        })
    }

    /// Puts a page of older candles in place, and repaints if they belong on the chart.
    pub(super) fn receive_history(self: &Rc<Self>, page: &HistoryPage) {
        let oldest = self
            .view
            .borrow()
            .oldest_candle(&page.symbol, page.interval);
        if !self.history.borrow_mut().accept(page, oldest) {
            return;
        }
        let (index, added) = self.view.borrow_mut().prepend_history(page);
        self.history.borrow_mut().received(page, added);
        let shown = page.interval == self.signals.interval.get_untracked()
            && index.is_some_and(|i| self.chart_indices().contains(&i));
        if added > 0 && shown {
            self.invalidate_chart();
        }
    }

    /// Asks for the candles before the oldest the selected symbol's series holds, when the
    /// chart reaches back to it.
    fn fetch_older(&self, view: &MarketView, main: &CandleSeries) {
        let Some(symbol) = self
            .selected_index()
            .and_then(|i| view.symbols().get(i))
            .map(|info| info.symbol.clone())
        else {
            return;
        };
        let request = self
            .history
            .borrow_mut()
            .want_older(&symbol, main, page_clock());
        if let Some(request) = request {
            count_metric("historyRequests");
            self.send(request);
        }
    }

    /// Lays out and paints the chart, and updates the signals around it (the tooltip, "back
    /// to live").
    /// `fresh` when the display shows new data in this frame (else a held chart stays held).
    pub(super) fn paint_chart(&self, view: &MarketView, fresh: bool) {
        self.with_shown_series(view, fresh, |series| self.paint_series(view, series));
    }

    fn paint_series(&self, view: &MarketView, series: &[&CandleSeries]) {
        let Some(canvas) = self.canvas.borrow().clone() else {
            return;
        };
        let Some((width, height)) = paint::fit(&canvas) else {
            return;
        };
        let started = page_clock();
        let signals = self.signals;
        let interval = signals.interval.get_untracked();
        let mut control = self.chart.borrow_mut();
        if let (Some(edge), Some(oldest)) = (
            layout::live_edge(series.iter().copied()),
            series.first().and_then(|main| main.iter().next()),
        ) {
            // After a zoom, or on another symbol, the view may have ended up before every
            // candle held: it stops at the oldest.
            control.viewport.keep_in(edge, oldest.start);
        }
        let frame = series.split_first().map(|(main, compare)| {
            layout(&Scene {
                main,
                compare: compare.to_vec(),
                kind: signals.chart_kind.get_untracked(),
                viewport: control.viewport,
                cursor: control.cursor,
                width,
                height,
            })
        });
        paint::paint(
            &canvas,
            frame.as_ref(),
            interval,
            signals.theme.get_untracked(),
        );
        if let (Some(main), Some(true)) = (series.first(), frame.as_ref().map(|f| f.wants_older)) {
            self.fetch_older(view, main);
        }
        set_changed(signals.chart_live, control.viewport.is_live());
        let placed = frame.as_ref().and_then(|frame| {
            let x = frame.crosshair.as_ref()?.x;
            Some(tooltip::Placed {
                x,
                flip: x > frame.plot.width / 2.0,
                interval,
                readout: frame.readout.clone()?,
                symbols: self
                    .chart_indices()
                    .into_iter()
                    .filter_map(|i| Some(view.symbols().get(i)?.symbol.clone()))
                    .collect(),
            })
        });
        let mut shown = self.tooltip.borrow_mut();
        if *shown != placed {
            tooltip::show(placed.as_ref());
            *shown = placed;
        }
        let took = page_clock() - started;
        publish_metric("chartPaintMaxMs", read_metric("chartPaintMaxMs").max(took));
        count_metric("chartPaints");
        publish_metric("chartSlot", control.viewport.slot());
        publish_metric("chartLive", f64::from(u8::from(control.viewport.is_live())));
        let drawn = frame.as_ref().map_or(0, |f| {
            f.candles.len().max(f.lines.first().map_or(0, Vec::len))
        });
        publish_metric("chartShown", drawn as f64);
        if let Some(main) = series.first() {
            publish_metric("chartHeld", main.len() as f64);
            let oldest = main.iter().next().map_or(0.0, |c| c.start as f64);
            publish_metric("chartOldestHeld", oldest);
            let close = main.last().map_or(0.0, |c| c.close.cents() as f64);
            publish_metric("chartLastClose", close);
        }
        publish_metric(
            "chartLines",
            frame.as_ref().map_or(0, |f| f.lines.len()) as f64,
        );
    }
}
