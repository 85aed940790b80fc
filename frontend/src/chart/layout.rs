//! One frame of the chart: from candle series, the viewport and the cursor to shapes in CSS
//! pixels. `components/chart/paint.rs` only paints what this computes.
//!
//! A candle sits at the column of its start time (see [`super::viewport`]). With symbols to
//! compare, every series is drawn as a line of its percentage change from its first candle in
//! view, on one axis in percent; otherwise the selected symbol is drawn as candles or as a
//! line of closes, in prices, with its volume below.

use ticker_shared::{Candle, CandleSeries, Price, price::format_bps};

pub use super::frame::{
    AxisMark, CandleShape, ChartFrame, Crosshair, Readout, Rect, TimeMark, VolumeBar,
};
use super::{
    axis::{Scale, label_every, round_times},
    viewport::Viewport,
};

/// Width reserved for the value axis on the right, in CSS pixels.
pub const PRICE_AXIS_WIDTH: f64 = 72.0;
/// Height reserved for the time axis at the bottom.
pub const TIME_AXIS_HEIGHT: f64 = 22.0;
/// Share of the plot height given to volume bars.
pub const VOLUME_SHARE: f64 = 0.2;
/// Share of the slot a candle body fills.
pub const BODY_SHARE: f64 = 0.7;
/// Most horizontal grid lines.
pub const MAX_VALUE_LINES: i64 = 6;
/// When the view's oldest slot is within this many slots of the oldest candle held, older
/// candles are wanted.
pub const HISTORY_MARGIN_SLOTS: f64 = 20.0;
/// Half the width of a time label: marks closer than this to either end of the plot are left
/// out rather than cut.
pub const TIME_LABEL_HALF_WIDTH: f64 = 30.0;
/// Most series in compare mode: the selected symbol and three others.
pub const MAX_COMPARED: usize = 4;

/// How the selected symbol is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartKind {
    /// Open, high, low and close as candles.
    #[default]
    Candles,
    /// A line through the closes.
    Line,
}

impl ChartKind {
    /// Both kinds, as the chart offers them.
    pub const ALL: [ChartKind; 2] = [ChartKind::Candles, ChartKind::Line];

    /// The name on its button and in tests.
    pub fn label(self) -> &'static str {
        match self {
            ChartKind::Candles => "Candles",
            ChartKind::Line => "Line",
        }
    }
}

/// Where the crosshair is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Cursor {
    /// Nowhere.
    #[default]
    None,
    /// Under the pointer, at CSS pixel `(x, y)` of the canvas.
    Pointer {
        /// Column.
        x: f64,
        /// Row.
        y: f64,
    },
    /// On the candle starting at this time (moved by the keyboard).
    Candle(i64),
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Scene<'a> {
    /// The selected symbol's candles at the chart's interval.
    pub main: &'a CandleSeries,
    /// Other symbols' candles at the same interval; non-empty means compare mode.
    pub compare: Vec<&'a CandleSeries>,
    /// Candles or line (compare mode always draws lines).
    pub kind: ChartKind,
    /// Zoom and scroll.
    pub viewport: Viewport,
    /// The crosshair.
    pub cursor: Cursor,
    /// Canvas size in CSS pixels.
    pub width: f64,
    /// Canvas height in CSS pixels.
    pub height: f64,
}

/// The start of the newest candle among `series`: the live edge of the time axis.
pub fn live_edge<'a>(series: impl IntoIterator<Item = &'a CandleSeries>) -> Option<i64> {
    series
        .into_iter()
        .filter_map(|s| s.last().map(|c| c.start))
        .max()
}

/// Column geometry of the time axis for one frame.
#[derive(Debug, Clone, Copy)]
struct Columns {
    right: f64,
    slot: f64,
    interval_ms: f64,
    oldest: f64,
    newest: f64,
}

impl Columns {
    /// The centre column of the slot starting at `ts`.
    fn x(&self, ts: i64) -> f64 {
        self.right - self.slot * ((self.newest - ts as f64) / self.interval_ms + 0.5)
    }

    /// The start of the slot whose centre is nearest to column `x`.
    fn slot_at(&self, x: f64) -> i64 {
        let ts = self.newest - ((self.right - x) / self.slot - 0.5) * self.interval_ms;
        ((ts / self.interval_ms).round() * self.interval_ms) as i64
    }

    /// Whether a candle starting at `ts` shows at least partly.
    fn shows(&self, ts: i64) -> bool {
        let ts = ts as f64;
        ts >= self.oldest - self.interval_ms && ts <= self.newest
    }
}

/// The candles of `series` in view, oldest first.
fn in_view(series: &CandleSeries, columns: Columns) -> Vec<Candle> {
    let from = (columns.oldest - columns.interval_ms).ceil() as i64;
    series
        .between(from, columns.newest.floor() as i64)
        .copied()
        .collect()
}

/// Lays out one frame of `scene`.
pub fn layout(scene: &Scene<'_>) -> ChartFrame {
    let compare = !scene.compare.is_empty();
    let chart_height = (scene.height - TIME_AXIS_HEIGHT).max(0.0);
    let volume_height = if compare {
        0.0
    } else {
        chart_height * VOLUME_SHARE
    };
    let plot = Rect {
        x: 0.0,
        y: 0.0,
        width: (scene.width - PRICE_AXIS_WIDTH).max(0.0),
        height: chart_height - volume_height,
    };
    let volume = Rect {
        x: 0.0,
        y: plot.bottom(),
        width: plot.width,
        height: volume_height,
    };
    let mut frame = ChartFrame {
        plot,
        volume,
        ..ChartFrame::default()
    };
    let all: Vec<&CandleSeries> = std::iter::once(scene.main)
        .chain(scene.compare.iter().copied())
        .take(MAX_COMPARED)
        .collect();
    let Some(edge) = live_edge(all.iter().copied()) else {
        return frame;
    };
    let interval_ms = scene.main.interval().millis();
    let (oldest, newest) = scene.viewport.span(plot.width, interval_ms, edge);
    let columns = Columns {
        right: plot.right(),
        slot: scene.viewport.slot(),
        interval_ms: interval_ms as f64,
        oldest,
        newest,
    };
    frame.wants_older = scene.main.iter().next().is_some_and(|first| {
        first.start as f64 >= oldest - HISTORY_MARGIN_SLOTS * columns.interval_ms
    });
    let shown: Vec<Vec<Candle>> = all.iter().map(|s| in_view(s, columns)).collect();
    let main = &shown[0];

    // Values on the axis: cents, or basis points of change from each series' first open.
    let bases: Vec<Option<Price>> = shown.iter().map(|s| s.first().map(|c| c.open)).collect();
    let change = |series: usize, price: Price| -> Option<f64> {
        bases[series]
            .and_then(|base| price.change_bps_from(base))
            .map(|bps| bps as f64)
    };
    let values: Vec<f64> = if compare {
        (0..shown.len())
            .flat_map(|i| shown[i].iter().filter_map(move |c| change(i, c.close)))
            .collect()
    } else {
        match scene.kind {
            ChartKind::Candles => main
                .iter()
                .flat_map(|c| [c.low.cents() as f64, c.high.cents() as f64])
                .collect(),
            ChartKind::Line => main.iter().map(|c| c.close.cents() as f64).collect(),
        }
    };
    let (Some(low), Some(high)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return frame;
    };
    let scale = Scale::new(low, high, plot.y, plot.bottom());
    let label = |value: f64| {
        if compare {
            format_bps(value.round() as i64)
        } else {
            Price(value.round() as i64).to_string()
        }
    };

    let slot = scene.viewport.slot();
    if compare {
        frame.lines = (0..shown.len())
            .map(|i| {
                shown[i]
                    .iter()
                    .filter_map(|c| Some((columns.x(c.start), scale.y(change(i, c.close)?))))
                    .collect()
            })
            .collect();
    } else {
        let max_volume = main.iter().map(|c| c.volume).max().unwrap_or(0).max(1) as f64;
        frame.volumes = main
            .iter()
            .map(|c| VolumeBar {
                x: columns.x(c.start),
                width: slot * BODY_SHARE,
                top: volume.bottom() - volume.height * (c.volume as f64 / max_volume),
                rising: c.close >= c.open,
            })
            .collect();
        let price_y = |price: Price| scale.y(price.cents() as f64);
        match scene.kind {
            ChartKind::Candles => {
                frame.candles = main
                    .iter()
                    .map(|c| CandleShape {
                        x: columns.x(c.start),
                        body_width: slot * BODY_SHARE,
                        open_y: price_y(c.open),
                        close_y: price_y(c.close),
                        high_y: price_y(c.high),
                        low_y: price_y(c.low),
                        rising: c.close >= c.open,
                    })
                    .collect();
            }
            ChartKind::Line => {
                frame.lines = vec![
                    main.iter()
                        .map(|c| (columns.x(c.start), price_y(c.close)))
                        .collect(),
                ];
            }
        }
    }

    frame.grid = scale
        .grid(MAX_VALUE_LINES)
        .map(|value| AxisMark {
            y: scale.y(value as f64),
            text: label(value as f64),
        })
        .collect();
    let every = label_every(interval_ms, slot);
    frame.time_marks = round_times(oldest, newest, every)
        .map(|ts| TimeMark {
            x: columns.x(ts),
            ts,
        })
        .filter(|mark| {
            mark.x >= TIME_LABEL_HALF_WIDTH && mark.x <= plot.right() - TIME_LABEL_HALF_WIDTH
        })
        .collect();
    let value_of = |candle: &Candle| {
        if compare {
            change(0, candle.close)
        } else {
            Some(candle.close.cents() as f64)
        }
    };
    frame.last = main.last().and_then(value_of).map(|value| AxisMark {
        y: scale.y(value),
        text: label(value),
    });

    let under = match scene.cursor {
        Cursor::Pointer { x, y } if plot.contains(x, y) || volume.contains(x, y) => {
            let ts = columns.slot_at(x);
            Some((ts, Some(y.min(plot.bottom()))))
        }
        Cursor::Candle(ts) if columns.shows(ts) => Some((ts, None)),
        _ => None,
    };
    if let Some((ts, pointer_y)) = under {
        let candle = main.iter().find(|c| c.start == ts).copied();
        let y = pointer_y.or_else(|| candle.as_ref().and_then(value_of).map(|v| scale.y(v)));
        if let Some(y) = y {
            frame.crosshair = Some(Crosshair {
                x: columns.x(ts),
                value: AxisMark {
                    y,
                    text: label(scale.value(y)),
                },
                ts,
            });
        }
        let changes = if compare {
            (0..shown.len())
                .map(|i| {
                    let candle = shown[i].iter().find(|c| c.start == ts)?;
                    change(i, candle.close).map(|v| v as i64)
                })
                .collect()
        } else {
            Vec::new()
        };
        frame.readout = Some(Readout {
            ts,
            candle,
            changes,
        });
    }
    frame
}

#[cfg(test)]
mod tests {
    use ticker_shared::Interval;

    use super::*;

    fn candle(start: i64, open: i64, high: i64, low: i64, close: i64, volume: u64) -> Candle {
        Candle {
            start,
            open: Price(open),
            high: Price(high),
            low: Price(low),
            close: Price(close),
            volume,
        }
    }

    fn series(candles: impl IntoIterator<Item = Candle>) -> CandleSeries {
        let mut series = CandleSeries::new(Interval::S1, 10_000);
        series.replace_all(candles);
        series
    }

    fn scene(main: &CandleSeries, width: f64) -> Scene<'_> {
        Scene {
            main,
            compare: Vec::new(),
            kind: ChartKind::Candles,
            viewport: Viewport::default(),
            cursor: Cursor::None,
            width,
            height: 400.0,
        }
    }

    fn flat(n: i64) -> CandleSeries {
        series((0..n).map(|i| candle(i * 1_000, 100, 110, 90, 105, 10)))
    }

    #[test]
    fn a_live_chart_shows_the_newest_candles_that_fit_right_aligned() {
        let main = flat(500);
        let slot = Viewport::default().slot();
        let frame = layout(&scene(&main, PRICE_AXIS_WIDTH + 40.0 * slot));
        assert_eq!(
            frame.candles.len(),
            41,
            "forty slots, and one just left of the edge"
        );
        let last = frame.candles.last().unwrap();
        assert!((last.x - (frame.plot.right() - slot / 2.0)).abs() < 1e-9);
        assert!(
            frame
                .candles
                .iter()
                .all(|c| c.x > -slot && c.x < frame.plot.right())
        );
        assert!(!frame.wants_older, "far from the oldest candle");
    }

    #[test]
    fn an_interval_without_trades_leaves_a_gap() {
        let main = series([candle(0, 1, 1, 1, 1, 1), candle(3_000, 1, 1, 1, 1, 1)]);
        let frame = layout(&scene(&main, 600.0));
        let gap = frame.candles[1].x - frame.candles[0].x;
        assert!((gap - 3.0 * Viewport::default().slot()).abs() < 1e-9);
    }

    #[test]
    fn shapes_stay_inside_their_areas_and_volume_scales_to_the_largest_bar() {
        let main = series([
            candle(0, 100, 120, 95, 110, 50),
            candle(1_000, 110, 111, 80, 85, 100),
        ]);
        let frame = layout(&scene(&main, 600.0));
        for shape in &frame.candles {
            for y in [shape.open_y, shape.close_y, shape.high_y, shape.low_y] {
                assert!(y >= frame.plot.y && y <= frame.plot.bottom());
            }
            assert!(shape.high_y <= shape.low_y);
        }
        assert!(frame.candles[0].rising && !frame.candles[1].rising);
        assert!((frame.volumes[1].top - frame.volume.y).abs() < 1e-9);
        assert_eq!(frame.last.map(|l| l.text), Some("0.85".to_owned()));
    }

    #[test]
    fn grid_labels_are_round_prices() {
        let main = series([candle(0, 18_700, 18_790, 18_650, 18_720, 1)]);
        let frame = layout(&scene(&main, 600.0));
        assert!(frame.grid.len() >= 2 && frame.grid.len() <= MAX_VALUE_LINES as usize + 1);
        assert!(
            frame.grid.iter().all(|m| m.text.ends_with('0')),
            "{:?}",
            frame.grid
        );
    }

    #[test]
    fn time_labels_fall_on_round_times_and_do_not_crowd() {
        let main = flat(200);
        let frame = layout(&scene(&main, 1_000.0));
        assert!(frame.time_marks.len() >= 2);
        assert!(frame.time_marks.iter().all(|m| m.ts % 15_000 == 0));
        for pair in frame.time_marks.windows(2) {
            assert!(pair[1].x - pair[0].x >= super::super::axis::MIN_LABEL_SPACING);
        }
    }

    #[test]
    fn scrolling_back_near_the_oldest_candle_wants_older_ones() {
        let main = flat(500);
        let mut view = scene(&main, 600.0);
        view.viewport.pan(500.0 * 8.0, 1_000, 499_000, 0);
        let frame = layout(&view);
        assert!(frame.wants_older);
        assert!(
            frame.candles.first().is_some_and(|c| c.x > 0.0),
            "the oldest is in view"
        );
    }

    #[test]
    fn the_line_kind_draws_one_point_per_close() {
        let main = flat(30);
        let mut view = scene(&main, 600.0);
        view.kind = ChartKind::Line;
        let frame = layout(&view);
        assert!(frame.candles.is_empty());
        assert_eq!(frame.lines.len(), 1);
        assert_eq!(frame.lines[0].len(), 30);
    }

    #[test]
    fn the_pointer_snaps_the_crosshair_to_a_slot_and_reads_its_candle() {
        let main = series((0..50).map(|i| candle(i * 1_000, 100 + i, 120 + i, 90, 110 + i, 7)));
        let mut view = scene(&main, 600.0);
        let slot = view.viewport.slot();
        let right = 600.0 - PRICE_AXIS_WIDTH;
        // Three slots left of the newest candle's centre, a little off-centre.
        view.cursor = Cursor::Pointer {
            x: right - slot * 3.5 + 2.0,
            y: 100.0,
        };
        let frame = layout(&view);
        let readout = frame.readout.expect("a readout");
        assert_eq!(readout.ts, 46_000);
        assert_eq!(readout.candle.map(|c| c.close), Some(Price(156)));
        let cross = frame.crosshair.expect("a crosshair");
        assert!(
            (cross.x - (right - slot * 3.5)).abs() < 1e-9,
            "snapped to the centre"
        );
        assert_eq!(cross.value.y, 100.0, "the pointer's row");
    }

    #[test]
    fn a_keyboard_cursor_puts_the_crosshair_on_the_close() {
        let main = flat(50);
        let mut view = scene(&main, 600.0);
        view.cursor = Cursor::Candle(40_000);
        let frame = layout(&view);
        let cross = frame.crosshair.expect("a crosshair");
        assert_eq!(cross.value.text, "1.05");
        assert_eq!(
            frame.readout.and_then(|r| r.candle).map(|c| c.start),
            Some(40_000)
        );
    }

    #[test]
    fn the_pointer_outside_the_plot_shows_no_crosshair() {
        let main = flat(50);
        let mut view = scene(&main, 600.0);
        view.cursor = Cursor::Pointer { x: 590.0, y: 10.0 };
        assert_eq!(layout(&view).crosshair, None);
    }

    #[test]
    fn compare_mode_draws_each_series_as_change_from_a_common_start() {
        let main = series((0..10).map(|i| candle(i * 1_000, 100, 100, 100, 100 + i, 1)));
        let other = series((0..10).map(|i| candle(i * 1_000, 200, 200, 200, 200 - 2 * i, 1)));
        let mut view = scene(&main, 600.0);
        view.compare = vec![&other];
        view.cursor = Cursor::Candle(9_000);
        let frame = layout(&view);
        assert!(frame.candles.is_empty() && frame.volumes.is_empty());
        assert_eq!(frame.volume.height, 0.0);
        assert_eq!(frame.lines.len(), 2);
        assert!(frame.lines.iter().all(|line| line.len() == 10));
        // Both start at 0 %: the same row.
        assert!((frame.lines[0][0].1 - frame.lines[1][0].1).abs() < 1e-9);
        let readout = frame.readout.expect("a readout");
        assert_eq!(readout.changes, vec![Some(900), Some(-900)]);
        assert_eq!(frame.last.map(|l| l.text), Some("+9.00%".to_owned()));
        assert!(frame.grid.iter().all(|m| m.text.ends_with('%')));
    }

    #[test]
    fn an_empty_series_gives_an_empty_frame() {
        let main = series([]);
        let frame = layout(&scene(&main, 600.0));
        assert!(frame.candles.is_empty() && frame.grid.is_empty() && frame.last.is_none());
    }
}
