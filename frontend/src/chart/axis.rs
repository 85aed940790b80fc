//! Axes: the linear value scale (prices in cents, or changes in basis points), round grid steps,
//! and round times for the time axis. Pure.

/// Empty space above the highest and below the lowest value, as a share of the range.
const PADDING: f64 = 0.08;
/// Least distance between two time labels, in CSS pixels.
pub const MIN_LABEL_SPACING: f64 = 90.0;

/// A linear map from values (cents or basis points) to pixel rows; higher values are higher up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    min: f64,
    max: f64,
    top: f64,
    bottom: f64,
}

impl Scale {
    /// A scale showing `low..=high` between the rows `top` and `bottom`, padded so that the
    /// extremes do not touch the edges; a flat range is widened by one unit either way.
    pub fn new(low: f64, high: f64, top: f64, bottom: f64) -> Self {
        let (mut min, mut max) = (low, high);
        if max - min < 1.0 {
            min -= 1.0;
            max += 1.0;
        }
        let pad = (max - min) * PADDING;
        Scale {
            min: min - pad,
            max: max + pad,
            top,
            bottom,
        }
    }

    /// The row of `value`.
    pub fn y(&self, value: f64) -> f64 {
        let share = (value - self.min) / (self.max - self.min);
        self.bottom - share * (self.bottom - self.top)
    }

    /// The value at row `y` (the inverse of [`Scale::y`]).
    pub fn value(&self, y: f64) -> f64 {
        let share = (self.bottom - y) / (self.bottom - self.top);
        self.min + share * (self.max - self.min)
    }

    /// The lowest and highest values visible.
    pub fn range(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    /// Round values for grid lines (1, 2 or 5 times a power of ten), at most about
    /// `max_lines` of them, lowest first.
    pub fn grid(&self, max_lines: i64) -> impl Iterator<Item = i64> + use<> {
        round_times(
            self.min,
            self.max,
            nice_step(self.max - self.min, max_lines),
        )
    }
}

/// The "nice" grid step (1, 2 or 5 times a power of ten units) giving at most `max_lines`
/// lines over `range`.
pub fn nice_step(range: f64, max_lines: i64) -> i64 {
    let mut power: i64 = 1;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * power;
            if range / step as f64 <= max_lines as f64 {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// Spacing of time labels in milliseconds: a round span, a multiple of the interval, that keeps
/// labels at least [`MIN_LABEL_SPACING`] apart when one interval is `slot` pixels wide.
pub fn label_every(interval_ms: i64, slot: f64) -> i64 {
    const ROUND_SPANS_MS: [i64; 14] = [
        5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
        3_600_000, 7_200_000, 14_400_000, 43_200_000,
    ];
    let min_span = interval_ms * (MIN_LABEL_SPACING / slot).ceil() as i64;
    ROUND_SPANS_MS
        .into_iter()
        .find(|&span| span >= min_span && span % interval_ms == 0)
        .unwrap_or(min_span)
}

/// The round times (multiples of `every` ms) within `oldest..=newest`; the same for values
/// (the multiples of a grid step within a scale).
pub fn round_times(oldest: f64, newest: f64, every: i64) -> impl Iterator<Item = i64> {
    let first = (oldest / every as f64).ceil() as i64 * every;
    (0..)
        .map(move |k| first + k * every)
        .take_while(move |&ts| ts as f64 <= newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(10.0, 6), 2);
        assert_eq!(nice_step(100.0, 6), 20);
        assert_eq!(nice_step(290.0, 6), 50);
        assert_eq!(nice_step(3.0, 6), 1);
        assert_eq!(nice_step(123_456.0, 6), 50_000);
    }

    #[test]
    fn the_scale_puts_higher_values_higher_pads_the_range_and_inverts() {
        let scale = Scale::new(100.0, 200.0, 0.0, 100.0);
        assert!(scale.y(200.0) < scale.y(100.0));
        assert!(scale.y(200.0) > 0.0 && scale.y(100.0) < 100.0, "padding");
        assert!((scale.value(scale.y(150.0)) - 150.0).abs() < 1e-9);
        let flat = Scale::new(150.0, 150.0, 0.0, 100.0);
        assert!(
            (flat.y(150.0) - 50.0).abs() < 1e-9,
            "a flat value sits mid-height"
        );
    }

    #[test]
    fn grid_values_are_round_and_inside_the_range() {
        let scale = Scale::new(18_650.0, 18_790.0, 0.0, 300.0);
        let lines: Vec<i64> = scale.grid(6).collect();
        assert!(lines.len() >= 2 && lines.len() <= 7, "{lines:?}");
        let step = lines[1] - lines[0];
        assert!(lines.iter().all(|v| v % step == 0));
        let (min, max) = scale.range();
        assert!(lines.iter().all(|&v| v as f64 >= min && v as f64 <= max));
    }

    #[test]
    fn time_labels_are_round_and_spaced_for_the_zoom() {
        assert_eq!(label_every(1_000, 8.0), 15_000);
        assert_eq!(label_every(1_000, 40.0), 5_000);
        assert_eq!(label_every(60_000, 8.0), 900_000);
        assert_eq!(label_every(300_000, 2.0), 14_400_000);
        let times: Vec<i64> = round_times(1_001.0, 46_000.0, 15_000).collect();
        assert_eq!(times, vec![15_000, 30_000, 45_000]);
    }
}
