//! The chart's viewport: how wide one interval is on screen (the zoom) and which moment sits at
//! the right edge: the live edge, followed as candles open, or a fixed time once the user has
//! scrolled back. Wheel, drag, pinch and keys all end up here. Pure; unit-tested.
//!
//! The viewport is kept in *time*, not in candle indexes: a candle sits at the column of its
//! start time, so intervals without trades leave an honest gap, several symbols line up in
//! compare mode, and the view stays on the same moment while new candles arrive or the interval
//! changes.

/// Width of one interval on a new chart, in CSS pixels.
pub const DEFAULT_SLOT: f64 = 8.0;
/// The narrowest interval (most zoomed out).
pub const MIN_SLOT: f64 = 2.0;
/// The widest interval (most zoomed in).
pub const MAX_SLOT: f64 = 48.0;
/// Zoom of one key press or one wheel notch.
pub const ZOOM_STEP: f64 = 1.25;

/// What the chart shows along its time axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Width of one interval in CSS pixels.
    slot: f64,
    /// Start time (Unix ms, fractional while dragging) of the slot at the right edge; `None`
    /// follows the live edge.
    right: Option<f64>,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            slot: DEFAULT_SLOT,
            right: None,
        }
    }
}

impl Viewport {
    /// Width of one interval in CSS pixels.
    pub fn slot(&self) -> f64 {
        self.slot
    }

    /// Whether the view follows the newest candle.
    pub fn is_live(&self) -> bool {
        self.right.is_none()
    }

    /// Start time of the slot at the right edge, given the newest candle's start (`live_edge`).
    pub fn right_edge(&self, live_edge: i64) -> f64 {
        self.right
            .map_or(live_edge as f64, |right| right.min(live_edge as f64))
    }

    /// The times shown across `width` pixels: `(oldest, newest)` slot start, in Unix ms.
    pub fn span(&self, width: f64, interval_ms: i64, live_edge: i64) -> (f64, f64) {
        let right = self.right_edge(live_edge);
        let slots = (width / self.slot).max(1.0);
        (right - (slots - 1.0) * interval_ms as f64, right)
    }

    /// Follows the live edge again.
    pub fn back_to_live(&mut self) {
        self.right = None;
    }

    /// Drags the chart `dx` pixels to the right (showing older candles) or left (newer). The
    /// view stops at the live edge (and follows it from there) and at `oldest`, the oldest
    /// candle held, so some candle always stays in view.
    pub fn pan(&mut self, dx: f64, interval_ms: i64, live_edge: i64, oldest: i64) {
        let right = self.right_edge(live_edge) - dx / self.slot * interval_ms as f64;
        self.set_right(right, live_edge, oldest);
    }

    /// Zooms by `factor` (above 1 widens the slots) around the point `from_right` pixels left
    /// of the plot's right edge: the moment under that point stays under it. A live view stays
    /// live (it zooms around the right edge).
    pub fn zoom(&mut self, factor: f64, from_right: f64, interval_ms: i64, live_edge: i64) {
        let slot = (self.slot * factor).clamp(MIN_SLOT, MAX_SLOT);
        if let Some(right) = self.right {
            let ms = interval_ms as f64;
            let anchored = right - from_right / self.slot * ms;
            self.set_right(anchored + from_right / slot * ms, live_edge, i64::MIN);
        }
        self.slot = slot;
    }

    /// Scrolls just enough that the slot starting at `ts` is in view across `width` pixels.
    pub fn reveal(&mut self, ts: i64, width: f64, interval_ms: i64, live_edge: i64) {
        let (oldest, newest) = self.span(width, interval_ms, live_edge);
        let ts = ts as f64;
        if ts > newest {
            self.set_right(ts, live_edge, i64::MIN);
        } else if ts < oldest {
            let right = ts + (newest - oldest);
            self.set_right(right, live_edge, i64::MIN);
        }
    }

    /// Keeps a scrolled-back view on the candles held: not before `oldest`, and live again
    /// from `live_edge` on.
    pub fn keep_in(&mut self, live_edge: i64, oldest: i64) {
        if let Some(right) = self.right {
            self.set_right(right, live_edge, oldest);
        }
    }

    fn set_right(&mut self, right: f64, live_edge: i64, oldest: i64) {
        let right = right.max(oldest as f64);
        self.right = (right < live_edge as f64).then_some(right);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000;
    const LIVE: i64 = 100_000;

    #[test]
    fn a_new_viewport_follows_the_live_edge() {
        let view = Viewport::default();
        assert!(view.is_live());
        assert_eq!(view.right_edge(LIVE), LIVE as f64);
        let (oldest, newest) = view.span(80.0, MS, LIVE);
        assert_eq!(newest, LIVE as f64);
        assert_eq!(oldest, (LIVE - 9 * MS) as f64, "80 px hold ten 8 px slots");
    }

    #[test]
    fn dragging_right_shows_older_candles_and_stays_put_as_new_ones_arrive() {
        let mut view = Viewport::default();
        view.pan(80.0, MS, LIVE, 0);
        assert!(!view.is_live());
        assert_eq!(view.right_edge(LIVE), (LIVE - 10 * MS) as f64);
        assert_eq!(
            view.right_edge(LIVE + 5 * MS),
            (LIVE - 10 * MS) as f64,
            "a scrolled-back view does not move when candles open"
        );
    }

    #[test]
    fn dragging_back_past_the_live_edge_follows_it_again() {
        let mut view = Viewport::default();
        view.pan(80.0, MS, LIVE, 0);
        view.pan(-200.0, MS, LIVE, 0);
        assert!(view.is_live());
    }

    #[test]
    fn panning_stops_at_the_oldest_candle() {
        let mut view = Viewport::default();
        view.pan(1e9, MS, LIVE, 90_000);
        assert_eq!(view.right_edge(LIVE), 90_000.0);
    }

    #[test]
    fn zoom_is_bounded_and_keeps_the_moment_under_the_pointer() {
        let mut view = Viewport::default();
        view.pan(160.0, MS, LIVE, 0);
        let under = |v: &Viewport| v.right_edge(LIVE) - 40.0 / v.slot() * MS as f64;
        let before = under(&view);
        view.zoom(2.0, 40.0, MS, LIVE);
        assert_eq!(view.slot(), 2.0 * DEFAULT_SLOT);
        assert!((under(&view) - before).abs() < 1e-6);
        for _ in 0..20 {
            view.zoom(ZOOM_STEP, 0.0, MS, LIVE);
        }
        assert_eq!(view.slot(), MAX_SLOT);
        for _ in 0..40 {
            view.zoom(1.0 / ZOOM_STEP, 0.0, MS, LIVE);
        }
        assert_eq!(view.slot(), MIN_SLOT);
    }

    #[test]
    fn a_live_view_zooms_around_the_right_edge_and_stays_live() {
        let mut view = Viewport::default();
        view.zoom(2.0, 300.0, MS, LIVE);
        assert!(view.is_live());
    }

    #[test]
    fn reveal_scrolls_only_as_far_as_needed() {
        let mut view = Viewport::default();
        view.reveal(LIVE - 5 * MS, 80.0, MS, LIVE);
        assert!(view.is_live(), "already in view");
        view.reveal(LIVE - 20 * MS, 80.0, MS, LIVE);
        let (oldest, _) = view.span(80.0, MS, LIVE);
        assert_eq!(oldest, (LIVE - 20 * MS) as f64);
        view.reveal(LIVE, 80.0, MS, LIVE);
        assert!(view.is_live());
    }

    #[test]
    fn a_view_before_every_candle_held_moves_up_to_the_oldest() {
        let mut view = Viewport::default();
        view.pan(1e9, MS, LIVE, 0);
        view.keep_in(LIVE, 50_000);
        assert_eq!(view.right_edge(LIVE), 50_000.0);
        view.keep_in(LIVE, LIVE);
        assert!(view.is_live());
        let mut live = Viewport::default();
        live.keep_in(LIVE, 50_000);
        assert!(live.is_live(), "a live view stays live");
    }

    #[test]
    fn back_to_live_follows_the_edge() {
        let mut view = Viewport::default();
        view.pan(80.0, MS, LIVE, 0);
        view.back_to_live();
        assert!(view.is_live());
    }
}
