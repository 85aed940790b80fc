//! Chart geometry: which candles fit, the price and volume scales, grid lines and time marks.
//!
//! Pure arithmetic from candles and a size in CSS pixels to shapes; `components/chart.rs` only
//! paints what this computes. Unit-tested natively.

use ticker_shared::{Candle, Interval, Price};

/// Width reserved for the price axis on the right, in CSS pixels.
pub const PRICE_AXIS_WIDTH: f64 = 72.0;
/// Height reserved for the time axis at the bottom.
pub const TIME_AXIS_HEIGHT: f64 = 22.0;
/// Share of the plot height given to volume bars.
pub const VOLUME_SHARE: f64 = 0.2;
/// Horizontal space per candle.
pub const CANDLE_SLOT: f64 = 8.0;
/// Share of the slot the candle body fills.
pub const BODY_SHARE: f64 = 0.7;
/// Most horizontal price grid lines.
pub const MAX_PRICE_LINES: i64 = 6;
/// Least distance between two time labels.
pub const MIN_LABEL_SPACING: f64 = 90.0;
/// Empty space above the highest and below the lowest price, as a share of the range.
const PRICE_PADDING: f64 = 0.08;

/// An axis-aligned rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Rect {
    /// The bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    /// The right edge.
    pub fn right(&self) -> f64 {
        self.x + self.width
    }
}

/// A linear map from prices (cents) to vertical pixels; higher prices are higher up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceScale {
    min: f64,
    max: f64,
    top: f64,
    bottom: f64,
}

impl PriceScale {
    /// A scale showing `low..=high` between the pixel rows `top` and `bottom`, padded so that the
    /// extremes do not touch the edges; a flat range is widened to one cent either way.
    pub fn new(low: Price, high: Price, top: f64, bottom: f64) -> Self {
        let (mut min, mut max) = (low.cents() as f64, high.cents() as f64);
        if max - min < 1.0 {
            min -= 1.0;
            max += 1.0;
        }
        let pad = (max - min) * PRICE_PADDING;
        PriceScale {
            min: min - pad,
            max: max + pad,
            top,
            bottom,
        }
    }

    /// The pixel row of `price`.
    pub fn y(&self, price: Price) -> f64 {
        let share = (price.cents() as f64 - self.min) / (self.max - self.min);
        self.bottom - share * (self.bottom - self.top)
    }

    /// The lowest and highest prices visible, in cents.
    pub fn range(&self) -> (f64, f64) {
        (self.min, self.max)
    }
}

/// The "nice" grid step (1, 2 or 5 times a power of ten cents) giving at most `max_lines` lines
/// over `range_cents`.
pub fn nice_step(range_cents: f64, max_lines: i64) -> i64 {
    let mut power: i64 = 1;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * power;
            if range_cents / step as f64 <= max_lines as f64 {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// One candle's shapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleShape {
    /// Horizontal centre.
    pub x: f64,
    /// Body width.
    pub body_width: f64,
    /// Rows of the open and close (the body spans between them).
    pub open_y: f64,
    /// Row of the close.
    pub close_y: f64,
    /// Row of the high (top of the wick).
    pub high_y: f64,
    /// Row of the low (bottom of the wick).
    pub low_y: f64,
    /// Top of the volume bar (it reaches down to the volume area's bottom).
    pub volume_y: f64,
    /// Whether the close is at or above the open.
    pub rising: bool,
}

/// A horizontal price line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceLine {
    /// Pixel row.
    pub y: f64,
    /// The price it marks.
    pub price: Price,
}

/// A time label under a candle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeMark {
    /// Pixel column.
    pub x: f64,
    /// The candle start it labels, Unix milliseconds.
    pub ts: i64,
}

/// Everything the painter needs for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFrame {
    /// Area of the candles.
    pub plot: Rect,
    /// Area of the volume bars, below the candles.
    pub volume: Rect,
    /// Candles, oldest first.
    pub candles: Vec<CandleShape>,
    /// Horizontal grid lines with their prices.
    pub price_lines: Vec<PriceLine>,
    /// Time labels.
    pub time_marks: Vec<TimeMark>,
    /// The last close, marked across the chart.
    pub last: Option<PriceLine>,
}

/// How many candles fit in `width` CSS pixels.
pub fn visible_candles(width: f64) -> usize {
    ((width - PRICE_AXIS_WIDTH) / CANDLE_SLOT).floor().max(0.0) as usize
}

/// Lays out the newest candles that fit in `width` × `height` CSS pixels.
pub fn layout<'a>(
    candles: impl DoubleEndedIterator<Item = &'a Candle> + ExactSizeIterator,
    interval: Interval,
    width: f64,
    height: f64,
) -> ChartFrame {
    let chart_height = (height - TIME_AXIS_HEIGHT).max(0.0);
    let volume_height = chart_height * VOLUME_SHARE;
    let plot = Rect {
        x: 0.0,
        y: 0.0,
        width: (width - PRICE_AXIS_WIDTH).max(0.0),
        height: chart_height - volume_height,
    };
    let volume = Rect {
        x: 0.0,
        y: plot.bottom(),
        width: plot.width,
        height: volume_height,
    };
    let fit = visible_candles(width);
    let skip = candles.len().saturating_sub(fit);
    let shown: Vec<&Candle> = candles.skip(skip).collect();
    let mut frame = ChartFrame {
        plot,
        volume,
        candles: Vec::new(),
        price_lines: Vec::new(),
        time_marks: Vec::new(),
        last: None,
    };
    let (Some(low), Some(high)) = (
        shown.iter().map(|c| c.low).min(),
        shown.iter().map(|c| c.high).max(),
    ) else {
        return frame;
    };
    let scale = PriceScale::new(low, high, plot.y, plot.bottom());
    let max_volume = shown.iter().map(|c| c.volume).max().unwrap_or(0).max(1) as f64;
    // The newest candle sits at the right edge of the plot.
    let first_x = plot.right() - CANDLE_SLOT * (shown.len() as f64 - 0.5);
    frame.candles = shown
        .iter()
        .enumerate()
        .map(|(i, candle)| CandleShape {
            x: first_x + CANDLE_SLOT * i as f64,
            body_width: CANDLE_SLOT * BODY_SHARE,
            open_y: scale.y(candle.open),
            close_y: scale.y(candle.close),
            high_y: scale.y(candle.high),
            low_y: scale.y(candle.low),
            volume_y: volume.bottom() - volume.height * (candle.volume as f64 / max_volume),
            rising: candle.close >= candle.open,
        })
        .collect();

    let (min, max) = scale.range();
    let step = nice_step(max - min, MAX_PRICE_LINES);
    let first_line = (min / step as f64).ceil() as i64 * step;
    frame.price_lines = (0..)
        .map(|k| first_line + k * step)
        .take_while(|&cents| (cents as f64) <= max)
        .map(|cents| PriceLine {
            y: scale.y(Price(cents)),
            price: Price(cents),
        })
        .collect();

    let every = label_every(interval);
    frame.time_marks = shown
        .iter()
        .zip(&frame.candles)
        .filter(|(candle, _)| candle.start.rem_euclid(every) == 0)
        .map(|(candle, shape)| TimeMark {
            x: shape.x,
            ts: candle.start,
        })
        .collect();
    frame.last = shown.last().map(|c| PriceLine {
        y: scale.y(c.close),
        price: c.close,
    });
    frame
}

/// Spacing of time labels in milliseconds: a round multiple of the interval that keeps labels
/// at least [`MIN_LABEL_SPACING`] apart.
fn label_every(interval: Interval) -> i64 {
    let min_candles = (MIN_LABEL_SPACING / CANDLE_SLOT).ceil() as i64;
    let min_span = interval.millis() * min_candles;
    const ROUND_SPANS_MS: [i64; 9] = [
        5_000, 10_000, 15_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000,
    ];
    ROUND_SPANS_MS
        .into_iter()
        .find(|&span| span >= min_span && span % interval.millis() == 0)
        .unwrap_or(min_span)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(10.0, 6), 2);
        assert_eq!(nice_step(100.0, 6), 20);
        assert_eq!(nice_step(290.0, 6), 50);
        assert_eq!(nice_step(3.0, 6), 1);
        assert_eq!(nice_step(123_456.0, 6), 50_000);
    }

    #[test]
    fn the_price_scale_puts_higher_prices_higher_and_pads_the_range() {
        let scale = PriceScale::new(Price(100), Price(200), 0.0, 100.0);
        assert!(scale.y(Price(200)) < scale.y(Price(100)));
        assert!(
            scale.y(Price(200)) > 0.0 && scale.y(Price(100)) < 100.0,
            "padding keeps extremes off the edges"
        );
        let flat = PriceScale::new(Price(150), Price(150), 0.0, 100.0);
        assert!(
            (flat.y(Price(150)) - 50.0).abs() < 1e-9,
            "a flat price sits in the middle"
        );
    }

    #[test]
    fn only_the_newest_candles_that_fit_are_laid_out_right_aligned() {
        let candles: Vec<Candle> = (0..500)
            .map(|i| candle(i * 1_000, 100, 110, 90, 105, 10))
            .collect();
        let width = PRICE_AXIS_WIDTH + 40.0 * CANDLE_SLOT;
        let frame = layout(candles.iter(), Interval::S1, width, 400.0);
        assert_eq!(frame.candles.len(), 40);
        let last = frame.candles.last().unwrap();
        assert!((last.x - (frame.plot.right() - CANDLE_SLOT / 2.0)).abs() < 1e-9);
        assert!(
            frame
                .candles
                .iter()
                .all(|c| c.x > 0.0 && c.x < frame.plot.right())
        );
    }

    #[test]
    fn shapes_stay_inside_their_areas_and_volume_scales_to_the_largest_bar() {
        let candles = [
            candle(0, 100, 120, 95, 110, 50),
            candle(1_000, 110, 111, 80, 85, 100),
        ];
        let frame = layout(candles.iter(), Interval::S1, 600.0, 300.0);
        for shape in &frame.candles {
            for y in [shape.open_y, shape.close_y, shape.high_y, shape.low_y] {
                assert!(y >= frame.plot.y && y <= frame.plot.bottom());
            }
            assert!(shape.high_y <= shape.low_y);
            assert!(shape.volume_y >= frame.volume.y && shape.volume_y <= frame.volume.bottom());
        }
        assert!(frame.candles[0].rising && !frame.candles[1].rising);
        assert!(
            (frame.candles[1].volume_y - frame.volume.y).abs() < 1e-9,
            "the largest volume fills the area"
        );
        assert_eq!(frame.last.map(|l| l.price), Some(Price(85)));
    }

    #[test]
    fn grid_lines_are_round_prices_within_the_visible_range() {
        let candles = [candle(0, 18_700, 18_790, 18_650, 18_720, 1)];
        let frame = layout(candles.iter(), Interval::S1, 600.0, 300.0);
        assert!(
            !frame.price_lines.is_empty()
                && frame.price_lines.len() <= MAX_PRICE_LINES as usize + 1
        );
        let step = frame.price_lines[1].price.cents() - frame.price_lines[0].price.cents();
        assert!(
            frame
                .price_lines
                .iter()
                .all(|line| line.price.cents() % step == 0)
        );
        assert!(
            frame
                .price_lines
                .iter()
                .all(|line| line.y >= frame.plot.y && line.y <= frame.plot.bottom())
        );
    }

    #[test]
    fn time_labels_fall_on_round_times_and_do_not_crowd() {
        let candles: Vec<Candle> = (0..200).map(|i| candle(i * 1_000, 1, 1, 1, 1, 1)).collect();
        let frame = layout(candles.iter(), Interval::S1, 1_000.0, 300.0);
        assert!(frame.time_marks.len() >= 2);
        assert!(
            frame.time_marks.iter().all(|m| m.ts % 15_000 == 0),
            "{:?}",
            frame.time_marks
        );
        for pair in frame.time_marks.windows(2) {
            assert!(pair[1].x - pair[0].x >= MIN_LABEL_SPACING);
        }
        assert_eq!(label_every(Interval::M1), 900_000);
    }

    #[test]
    fn no_candles_give_an_empty_frame() {
        let frame = layout([].iter(), Interval::S5, 600.0, 300.0);
        assert!(frame.candles.is_empty() && frame.price_lines.is_empty() && frame.last.is_none());
    }
}
