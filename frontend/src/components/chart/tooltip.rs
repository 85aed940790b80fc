//! The chart's tooltip: the time and the open, high, low, close and volume of the candle under
//! the crosshair, or each compared symbol's change there.
//!
//! It changes with every pointer move, so the painter writes it straight into its element
//! instead of going through reactive views: quicker, and a fraction of the code size.

use ticker_shared::{Interval, Symbol, price::format_bps};
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use super::paint::clock_label;
use crate::{chart::layout::Readout, dom, format};

/// The tooltip element's id (the canvas names it in `aria-describedby`).
pub const ID: &str = "chart-tooltip";
/// Gap between the crosshair and the tooltip, in CSS pixels.
const OFFSET: f64 = 14.0;

/// The figures under the chart's crosshair, placed for the tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Column of the crosshair, in CSS pixels from the canvas's left edge.
    pub x: f64,
    /// Whether the tooltip sits left of the crosshair (when it is in the right half).
    pub flip: bool,
    /// The interval of the candles, for the time's format.
    pub interval: Interval,
    /// The figures.
    pub readout: Readout,
    /// The symbols of the series, the selected one first (for compare mode's rows).
    pub symbols: Vec<Symbol>,
}

/// Shows `placed` in the tooltip, or hides it for `None`.
pub fn show(placed: Option<&Placed>) {
    let Some(element) = dom::by_id(ID).and_then(|e| e.dyn_into::<HtmlElement>().ok()) else {
        return;
    };
    let Some(placed) = placed else {
        element.set_hidden(true);
        return;
    };
    let style = if placed.flip {
        format!(
            "left:{:.0}px;transform:translateX(-100%)",
            placed.x - OFFSET
        )
    } else {
        format!("left:{:.0}px", placed.x + OFFSET)
    };
    let _ = element.set_attribute("style", &style);
    element.set_text_content(None);
    let readout = &placed.readout;
    dom::append(
        &element,
        "div",
        "tooltip-time",
        &clock_label(readout.ts, placed.interval),
    );
    let Some(list) = dom::append(&element, "dl", "", "") else {
        return;
    };
    let row = |label: &str, class: &str, value: &str| {
        dom::append(&list, "dt", class, label);
        dom::append(&list, "dd", "", value);
    };
    if !readout.changes.is_empty() {
        for (i, (symbol, change)) in placed.symbols.iter().zip(&readout.changes).enumerate() {
            let value = change.map_or_else(|| "—".to_owned(), format_bps);
            row(symbol.as_str(), &format!("series-{i}"), &value);
        }
    } else if let Some(candle) = &readout.candle {
        row("O", "", &candle.open.to_string());
        row("H", "", &candle.high.to_string());
        row("L", "", &candle.low.to_string());
        row("C", "", &candle.close.to_string());
        row("V", "", &format::volume(candle.volume));
    } else {
        row("—", "", "no trades");
    }
    element.set_hidden(false);
}
