//! The chart's pure logic, unit-tested natively; `components/chart.rs` wires it to the page and
//! paints what it computes.
//!
//! - [`viewport`]: zoom and scroll along the time axis (live, or fixed on a moment).
//! - [`gesture`]: pointer drags and pinches.
//! - [`control`]: pointer, wheel and keys turned into viewport and cursor changes.
//! - [`axis`]: value scales, round grid steps, round times.
//! - [`layout`]: one frame's shapes ([`frame`]): candles or lines, volume, grid, labels,
//!   crosshair, readout.

pub mod axis;
pub mod control;
pub mod frame;
pub mod gesture;
pub mod layout;
pub mod viewport;

pub use layout::{ChartFrame, ChartKind, Cursor, Scene, layout};
