//! What one frame of the chart holds, in CSS pixels: the areas, candles or lines, volume bars,
//! axis labels, the crosshair and the figures under it. [`super::layout`] computes it, the
//! painter draws it.

use ticker_shared::Candle;

/// An axis-aligned rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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

    /// Whether `(x, y)` lies inside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x && x <= self.right() && y >= self.y && y <= self.bottom()
    }
}

/// One candle's shapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleShape {
    /// Horizontal centre.
    pub x: f64,
    /// Body width.
    pub body_width: f64,
    /// Row of the open.
    pub open_y: f64,
    /// Row of the close.
    pub close_y: f64,
    /// Row of the high (top of the wick).
    pub high_y: f64,
    /// Row of the low (bottom of the wick).
    pub low_y: f64,
    /// Whether the close is at or above the open.
    pub rising: bool,
}

/// One volume bar, from `top` down to the volume area's bottom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeBar {
    /// Horizontal centre.
    pub x: f64,
    /// Width.
    pub width: f64,
    /// Top row.
    pub top: f64,
    /// Whether its candle closed at or above its open.
    pub rising: bool,
}

/// A row on the value axis with its label: a grid line, the last value, the crosshair.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisMark {
    /// Pixel row.
    pub y: f64,
    /// The label: a price, or a change in percent.
    pub text: String,
}

/// A label on the time axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeMark {
    /// Pixel column.
    pub x: f64,
    /// The time it labels, Unix milliseconds.
    pub ts: i64,
}

/// The crosshair: a vertical line on a candle's column, a horizontal one at a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Crosshair {
    /// Column (the centre of the slot under the cursor).
    pub x: f64,
    /// Row and the value there.
    pub value: AxisMark,
    /// Start of the slot under the cursor.
    pub ts: i64,
}

/// The figures under the crosshair, for the tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    /// Start of the slot.
    pub ts: i64,
    /// The selected symbol's candle there, if it traded in that slot.
    pub candle: Option<Candle>,
    /// In compare mode, each series' change from its start there, in basis points (the
    /// selected symbol first); empty otherwise.
    pub changes: Vec<Option<i64>>,
}

/// Everything the painter needs for one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartFrame {
    /// Area of the candles or lines.
    pub plot: Rect,
    /// Area of the volume bars, below the plot (zero height in compare mode).
    pub volume: Rect,
    /// Candles, oldest first (candle kind only).
    pub candles: Vec<CandleShape>,
    /// Volume bars of the selected symbol.
    pub volumes: Vec<VolumeBar>,
    /// Lines through the closes, one per series (the selected symbol first), as points.
    pub lines: Vec<Vec<(f64, f64)>>,
    /// Horizontal grid lines with their labels.
    pub grid: Vec<AxisMark>,
    /// Time labels.
    pub time_marks: Vec<TimeMark>,
    /// The selected symbol's newest value, marked across the chart.
    pub last: Option<AxisMark>,
    /// The crosshair, when the cursor is over a slot.
    pub crosshair: Option<Crosshair>,
    /// The figures under the crosshair.
    pub readout: Option<Readout>,
    /// Whether the view reaches back to within
    /// [`HISTORY_MARGIN_SLOTS`](super::layout::HISTORY_MARGIN_SLOTS) of the oldest candle held:
    /// time to ask the server for older ones.
    pub wants_older: bool,
}
