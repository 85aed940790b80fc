//! A row's sparkline: the session's closing prices as an SVG polyline, a few hundred bytes per
//! row, recomputed at most once a second. Pure, unit-tested natively.
//!
//! The row shows it as markup ([`Sparkline::to_svg`]): one `innerHTML` per redraw is cheaper,
//! in code and in work, than a reactive SVG element tree per row. The markup holds only numbers
//! and fixed names, never text from the server.

use std::fmt::Write;

use ticker_shared::{CandleSeries, Interval, Price};

use crate::state::Book;

/// Height of the drawing in SVG user units; the width is one unit per close, and the SVG is
/// stretched to its box, so every coordinate is a whole number.
pub const HEIGHT: i64 = 100;
/// Closes drawn at most (the newest ones).
const MAX_POINTS: usize = 120;
/// Fewer one-minute candles than this (a young session) draws the five-second ones instead.
const MIN_MINUTES: usize = 10;
/// Least time between two recomputations of one row's sparkline, in milliseconds.
pub const SPARKLINE_REFRESH_MS: f64 = 1_000.0;

/// A drawn sparkline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sparkline {
    /// The polyline's `points`: `x,y` pairs in the `viewBox`.
    pub points: String,
    /// The width of the `viewBox`: one less than the number of closes.
    pub width: usize,
    /// Whether the last close is at or above the reference price (colours it).
    pub rising: bool,
}

impl Sparkline {
    /// The drawing as SVG markup, coloured like the change; decorative for screen readers (the
    /// row's figures say the same in words).
    pub fn to_svg(&self) -> String {
        let trend = if self.rising { "up" } else { "down" };
        format!(
            "<svg class=\"spark {trend}\" viewBox=\"0 0 {} {HEIGHT}\" \
             preserveAspectRatio=\"none\" aria-hidden=\"true\"><polyline points=\"{}\"/></svg>",
            self.width, self.points
        )
    }
}

/// The sparkline of `book`: its one-minute closes, or its five-second ones early in the session.
pub fn of_book(book: &Book, reference: Price) -> Option<Sparkline> {
    let minutes = book.series(Interval::M1);
    let series = if minutes.len() >= MIN_MINUTES {
        minutes
    } else {
        book.series(Interval::S5)
    };
    of_series(series, reference)
}

/// The sparkline of the newest closes of `series`; `None` with fewer than two.
pub fn of_series(series: &CandleSeries, reference: Price) -> Option<Sparkline> {
    let skip = series.len().saturating_sub(MAX_POINTS);
    let closes: Vec<i64> = series.iter().skip(skip).map(|c| c.close.0).collect();
    draw(&closes, reference)
}

fn draw(closes: &[i64], reference: Price) -> Option<Sparkline> {
    let (&last, width) = (closes.last()?, closes.len().checked_sub(1)?);
    if width == 0 {
        return None;
    }
    let low = *closes.iter().min()?;
    let span = (*closes.iter().max()? - low).max(1);
    let mut points = String::with_capacity(closes.len() * 7);
    for (x, &close) in closes.iter().enumerate() {
        let y = HEIGHT - (close - low) * HEIGHT / span;
        let gap = if x > 0 { " " } else { "" };
        let _ = write!(points, "{gap}{x},{y}");
    }
    Some(Sparkline {
        points,
        width,
        rising: last >= reference.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_span_the_box_lowest_at_the_bottom() {
        let line = draw(&[100, 110, 105], Price(104)).unwrap();
        assert_eq!(line.points, "0,100 1,0 2,50");
        assert_eq!(line.width, 2);
        assert!(line.rising);
        assert!(!draw(&[100, 90], Price(95)).unwrap().rising);
    }

    #[test]
    fn the_markup_holds_the_points_and_the_trend() {
        let svg = draw(&[1, 2], Price(5)).unwrap().to_svg();
        assert_eq!(
            svg,
            "<svg class=\"spark down\" viewBox=\"0 0 1 100\" preserveAspectRatio=\"none\" \
             aria-hidden=\"true\"><polyline points=\"0,100 1,0\"/></svg>"
        );
    }

    #[test]
    fn a_flat_line_lies_at_the_bottom_and_one_close_draws_nothing() {
        assert_eq!(draw(&[5, 5], Price(5)).unwrap().points, "0,100 1,100");
        assert_eq!(draw(&[5], Price(5)), None);
        assert_eq!(draw(&[], Price(5)), None);
    }
}
