//! What the user's hands do to the chart: pointer drags and pinches, the wheel, and keys, turned
//! into changes of the [`Viewport`] and the [`Cursor`]. Pure; the panel forwards its events here.
//!
//! Keys (with the chart focused): ← → move the data cursor one candle (with Shift, ten),
//! Home / End jump to the oldest / newest candle (End also returns to live), + and − zoom,
//! Page Up / Page Down scroll by a screen, Escape hides the cursor.

use super::{
    gesture::{Gesture, Motion},
    layout::Cursor,
    viewport::{Viewport, ZOOM_STEP},
};

/// Candles one Shift+arrow moves the cursor.
const BIG_STEP: usize = 10;
/// Wheel delta (in pixels) that zooms by one [`ZOOM_STEP`].
const WHEEL_PER_STEP: f64 = 100.0;

/// What the controls need to know about the chart shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The interval of the candles.
    pub interval_ms: i64,
    /// Start of the newest candle of any series shown.
    pub live_edge: i64,
    /// Start of the selected symbol's oldest candle.
    pub oldest: i64,
    /// Starts of the selected symbol's candles, oldest first: for the keyboard's cursor only
    /// (pointer input leaves it empty rather than copy every start on each move).
    pub starts: Vec<i64>,
    /// Width of the plot in CSS pixels.
    pub plot_width: f64,
}

/// The chart's viewport, crosshair and gesture in progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartControl {
    /// Zoom and scroll.
    pub viewport: Viewport,
    /// Where the crosshair is.
    pub cursor: Cursor,
    gesture: Gesture,
}

impl ChartControl {
    /// A pointer went down at column `x`.
    pub fn pointer_down(&mut self, id: i32, x: f64) {
        self.gesture.down(id, x);
    }

    /// A pointer went up or was cancelled.
    pub fn pointer_up(&mut self, id: i32) {
        self.gesture.up(id);
    }

    /// A pointer moved to `(x, y)`: drags or pinches if pointers are down; the crosshair
    /// follows it either way.
    pub fn pointer_move(&mut self, id: i32, x: f64, y: f64, shown: &Shown) {
        match self.gesture.moved(id, x) {
            Motion::None => {}
            Motion::Pan { dx } => self.pan(dx, shown),
            Motion::Pinch { factor, x, dx } => {
                self.zoom(factor, x, shown);
                self.pan(dx, shown);
            }
        }
        self.cursor = Cursor::Pointer { x, y };
    }

    /// The pointer left the chart: its crosshair goes (a keyboard cursor stays).
    pub fn pointer_leave(&mut self) {
        if matches!(self.cursor, Cursor::Pointer { .. }) {
            self.cursor = Cursor::None;
        }
    }

    /// A wheel turn at column `x`: vertical zooms around `x`; horizontal (or vertical with
    /// `scroll` held, Shift) scrolls.
    pub fn wheel(&mut self, dx: f64, dy: f64, x: f64, scroll: bool, shown: &Shown) {
        if scroll || dx.abs() > dy.abs() {
            let delta = if dx.abs() > dy.abs() { dx } else { dy };
            self.pan(-delta, shown);
        } else {
            self.zoom(wheel_zoom(dy), x, shown);
        }
    }

    /// Follows the live edge again.
    pub fn back_to_live(&mut self) {
        self.viewport.back_to_live();
    }

    /// Starts over: live, no cursor (for another interval, whose candles hold other times).
    pub fn reset(&mut self) {
        self.viewport.back_to_live();
        self.cursor = Cursor::None;
    }

    /// Handles a key; returns whether it was one of the chart's (then the page should not
    /// act on it too).
    pub fn key(&mut self, key: &str, shift: bool, shown: &Shown) -> bool {
        let step = if shift { BIG_STEP } else { 1 };
        match key {
            "ArrowLeft" => self.move_cursor(shown, true, |index, _| index.saturating_sub(step)),
            "ArrowRight" => self.move_cursor(shown, true, |index, len| (index + step).min(len - 1)),
            "Home" => self.move_cursor(shown, false, |_, _| 0),
            "End" => {
                self.viewport.back_to_live();
                self.move_cursor(shown, false, |_, len| len - 1);
            }
            "+" | "=" => self.zoom(ZOOM_STEP, shown.plot_width / 2.0, shown),
            "-" | "_" => self.zoom(1.0 / ZOOM_STEP, shown.plot_width / 2.0, shown),
            "PageUp" => self.pan(shown.plot_width, shown),
            "PageDown" => self.pan(-shown.plot_width, shown),
            "Escape" => self.cursor = Cursor::None,
            _ => return false,
        }
        true
    }

    /// Moves the keyboard cursor to the candle `to(current index, count)` picks and scrolls it
    /// into view. A `step` (an arrow) with no cursor yet only puts it on the newest candle.
    fn move_cursor(&mut self, shown: &Shown, step: bool, to: impl Fn(usize, usize) -> usize) {
        let len = shown.starts.len();
        if len == 0 {
            return;
        }
        let current = match self.cursor {
            Cursor::Candle(ts) => shown
                .starts
                .partition_point(|&start| start < ts)
                .min(len - 1),
            _ => len - 1,
        };
        let placed = matches!(self.cursor, Cursor::Candle(_));
        let index = if step && !placed {
            len - 1
        } else {
            to(current, len)
        };
        let ts = shown.starts[index];
        self.cursor = Cursor::Candle(ts);
        self.viewport
            .reveal(ts, shown.plot_width, shown.interval_ms, shown.live_edge);
    }

    fn pan(&mut self, dx: f64, shown: &Shown) {
        self.viewport
            .pan(dx, shown.interval_ms, shown.live_edge, shown.oldest);
    }

    fn zoom(&mut self, factor: f64, x: f64, shown: &Shown) {
        let from_right = (shown.plot_width - x).max(0.0);
        self.viewport
            .zoom(factor, from_right, shown.interval_ms, shown.live_edge);
    }
}

/// The zoom factor of a vertical wheel turn of `dy` pixels: one [`ZOOM_STEP`] per
/// [`WHEEL_PER_STEP`] in proportion, and exactly undone by the same turn back. (Not
/// `ZOOM_STEP.powf(…)`: `powf` alone adds 2 KB to the app.)
fn wheel_zoom(dy: f64) -> f64 {
    let grow = 1.0 + dy.abs() / WHEEL_PER_STEP * (ZOOM_STEP - 1.0);
    if dy < 0.0 { grow } else { 1.0 / grow }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::viewport::DEFAULT_SLOT;

    fn shown() -> Shown {
        Shown {
            interval_ms: 1_000,
            live_edge: 99_000,
            oldest: 0,
            starts: (0..100).map(|i| i * 1_000).collect(),
            plot_width: 400.0,
        }
    }

    #[test]
    fn the_first_arrow_puts_the_cursor_on_the_newest_candle_then_arrows_step() {
        let shown = shown();
        let mut control = ChartControl::default();
        assert!(control.key("ArrowLeft", false, &shown));
        assert_eq!(control.cursor, Cursor::Candle(99_000));
        control.key("ArrowLeft", false, &shown);
        assert_eq!(control.cursor, Cursor::Candle(98_000));
        control.key("ArrowLeft", true, &shown);
        assert_eq!(control.cursor, Cursor::Candle(88_000));
        control.key("ArrowRight", false, &shown);
        assert_eq!(control.cursor, Cursor::Candle(89_000));
        control.key("Escape", false, &shown);
        assert_eq!(control.cursor, Cursor::None);
        assert!(!control.key("a", false, &shown), "not the chart's key");
    }

    #[test]
    fn home_scrolls_back_to_the_oldest_candle_and_end_returns_to_live() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.key("ArrowLeft", false, &shown);
        control.key("Home", false, &shown);
        assert_eq!(control.cursor, Cursor::Candle(0));
        assert!(!control.viewport.is_live(), "scrolled to show it");
        let (oldest, _) = control.viewport.span(400.0, 1_000, 99_000);
        assert!(oldest <= 0.0);
        control.key("End", false, &shown);
        assert_eq!(control.cursor, Cursor::Candle(99_000));
        assert!(control.viewport.is_live());
    }

    #[test]
    fn home_goes_to_the_oldest_candle_even_without_a_cursor() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.key("Home", false, &shown);
        assert_eq!(control.cursor, Cursor::Candle(0));
    }

    #[test]
    fn keys_zoom_and_page() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.key("+", false, &shown);
        assert!(control.viewport.slot() > DEFAULT_SLOT);
        control.key("-", false, &shown);
        control.key("-", false, &shown);
        assert!(control.viewport.slot() < DEFAULT_SLOT);
        control.key("PageUp", false, &shown);
        assert!(!control.viewport.is_live());
        control.key("PageDown", false, &shown);
        assert!(control.viewport.is_live());
    }

    #[test]
    fn a_drag_pans_and_the_crosshair_follows_the_pointer() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.pointer_move(1, 50.0, 60.0, &shown);
        assert!(control.viewport.is_live(), "hovering does not pan");
        assert_eq!(control.cursor, Cursor::Pointer { x: 50.0, y: 60.0 });
        control.pointer_down(1, 50.0);
        control.pointer_move(1, 130.0, 60.0, &shown);
        assert_eq!(
            control.viewport.right_edge(99_000),
            89_000.0,
            "80 px = 10 slots"
        );
        control.pointer_up(1);
        control.pointer_leave();
        assert_eq!(control.cursor, Cursor::None);
    }

    #[test]
    fn a_pinch_zooms() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.pointer_down(1, 100.0);
        control.pointer_down(2, 200.0);
        control.pointer_move(2, 300.0, 10.0, &shown);
        assert_eq!(control.viewport.slot(), 2.0 * DEFAULT_SLOT);
    }

    #[test]
    fn a_wheel_turn_back_undoes_its_zoom() {
        assert_eq!(wheel_zoom(-WHEEL_PER_STEP), ZOOM_STEP);
        assert!((wheel_zoom(-250.0) * wheel_zoom(250.0) - 1.0).abs() < 1e-12);
        assert_eq!(wheel_zoom(0.0), 1.0);
    }

    #[test]
    fn the_wheel_zooms_vertically_and_scrolls_horizontally() {
        let shown = shown();
        let mut control = ChartControl::default();
        control.wheel(0.0, -100.0, 200.0, false, &shown);
        assert!((control.viewport.slot() - DEFAULT_SLOT * ZOOM_STEP).abs() < 1e-9);
        control.wheel(0.0, 80.0, 200.0, true, &shown);
        assert!(
            control.viewport.is_live(),
            "scrolling right stays at the live edge"
        );
        control.wheel(-80.0, 0.0, 200.0, false, &shown);
        assert!(
            !control.viewport.is_live(),
            "scrolling left shows older candles"
        );
    }
}
