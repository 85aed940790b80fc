//! The chart panel: the selected symbol's header, the interval switch, and the canvas painter.
//!
//! Candles are painted on one `<canvas>`, not as DOM nodes; the geometry comes from
//! [`crate::chart::layout`], and [`paint`] runs at most once per animation frame (the
//! [`Dashboard`] calls it).

use std::rc::Rc;

use leptos::{ev, html, prelude::*};
use ticker_shared::{CandleSeries, Interval, Price, price::format_bps};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::{
    chart::{ChartFrame, TIME_AXIS_HEIGHT, layout},
    dashboard::Dashboard,
    signals::Signals,
    theme::Theme,
};

/// Colours of the chart in one theme, matching `style.css` (the canvas cannot read CSS).
struct Palette {
    background: &'static str,
    grid: &'static str,
    text: &'static str,
    up: &'static str,
    down: &'static str,
    up_volume: &'static str,
    down_volume: &'static str,
    last: &'static str,
    label_text: &'static str,
}

impl Palette {
    const DARK: Palette = Palette {
        background: "#0f141c",
        grid: "#1f2833",
        text: "#8b98a9",
        up: "#26a69a",
        down: "#ef5350",
        up_volume: "rgba(38, 166, 154, 0.35)",
        down_volume: "rgba(239, 83, 80, 0.35)",
        last: "#f0b90b",
        label_text: "#0f141c",
    };
    const LIGHT: Palette = Palette {
        background: "#ffffff",
        grid: "#e3e8ee",
        text: "#5d6b7c",
        up: "#0f8a7e",
        down: "#d93a37",
        up_volume: "rgba(15, 138, 126, 0.3)",
        down_volume: "rgba(217, 58, 55, 0.3)",
        last: "#b7860b",
        label_text: "#ffffff",
    };

    fn of(theme: Theme) -> &'static Palette {
        match theme {
            Theme::Dark => &Palette::DARK,
            Theme::Light => &Palette::LIGHT,
        }
    }
}

/// Font of the axis labels.
const LABEL_FONT: &str = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

/// Header, interval buttons and the canvas of the selected symbol.
#[component]
pub fn ChartPanel(
    /// The engine that paints the canvas.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        if let Some(element) = canvas.get() {
            dashboard.with_value(|d| d.attach_canvas(element));
        }
    });
    Effect::new(move |_| {
        signals.selected.track();
        signals.interval.track();
        signals.theme.track();
        dashboard.with_value(|d| d.invalidate_chart());
    });
    let resize = window_event_listener(ev::resize, move |_| {
        dashboard.with_value(|d| d.invalidate_chart())
    });
    on_cleanup(move || resize.remove());

    let selected_row = move || {
        let selected = signals.selected.get()?;
        signals
            .rows
            .with(|rows| rows.iter().find(|row| row.info.symbol == selected).cloned())
    };
    let title = move || {
        selected_row()
            .map(|row| row.info.symbol.to_string())
            .unwrap_or_default()
    };
    let name = move || selected_row().map(|row| row.info.name).unwrap_or_default();
    let last = move || {
        selected_row().and_then(|row| row.quote.get()).map(|quote| {
            let change = quote.change_bps.map(format_bps).unwrap_or_default();
            (quote.last.to_string(), change, quote.change >= Price(0))
        })
    };
    view! {
        <section class="chart-panel" aria-label="Chart">
            <header class="chart-header">
                <div class="chart-title">
                    <h2 data-testid="chart-symbol">{title}</h2>
                    <span class="chart-name">{name}</span>
                    {move || {
                        last()
                            .map(|(price, change, up)| {
                                view! {
                                    <span class="chart-last">{price}</span>
                                    <span class=if up { "chart-change up" } else { "chart-change down" }>{change}</span>
                                }
                            })
                    }}
                </div>
                <div class="intervals" role="group" aria-label="Candle interval">
                    {Interval::ALL
                        .into_iter()
                        .map(|interval| {
                            let active = move || signals.interval.get() == interval;
                            view! {
                                <button
                                    type="button"
                                    class:active=active
                                    aria-pressed=move || active().to_string()
                                    data-interval=interval.label()
                                    on:click=move |_| signals.interval.set(interval)
                                >
                                    {interval.label()}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </header>
            <canvas node_ref=canvas class="chart" data-testid="chart" role="img" aria-label="Candlestick chart of the selected symbol"></canvas>
        </section>
    }
}

/// Paints `series` (or an empty chart) on `canvas` in the colours of `theme`, sized to its CSS
/// box at the device's pixel ratio so lines stay crisp.
pub fn paint(
    canvas: &HtmlCanvasElement,
    series: Option<&CandleSeries>,
    interval: Interval,
    theme: Theme,
) {
    let colour = Palette::of(theme);
    let width = f64::from(canvas.client_width());
    let height = f64::from(canvas.client_height());
    if width <= 0.0 || height <= 0.0 {
        return;
    }
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (pixel_width, pixel_height) = (
        (width * ratio).round() as u32,
        (height * ratio).round() as u32,
    );
    if canvas.width() != pixel_width || canvas.height() != pixel_height {
        canvas.set_width(pixel_width);
        canvas.set_height(pixel_height);
    }
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|context| context.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = context.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    context.set_fill_style_str(colour.background);
    context.fill_rect(0.0, 0.0, width, height);
    let Some(series) = series else {
        return;
    };
    let frame = layout(series.iter(), interval, width, height);
    draw_grid(&context, colour, &frame, (width, height), interval);
    draw_candles(&context, colour, &frame);
    draw_last_price(&context, colour, &frame, width);
}

fn draw_grid(
    context: &CanvasRenderingContext2d,
    colour: &Palette,
    frame: &ChartFrame,
    (width, height): (f64, f64),
    interval: Interval,
) {
    context.set_line_width(1.0);
    context.set_stroke_style_str(colour.grid);
    context.set_fill_style_str(colour.text);
    context.set_font(LABEL_FONT);
    context.set_text_baseline("middle");
    context.set_text_align("left");
    context.begin_path();
    for line in &frame.price_lines {
        let y = line.y.round() + 0.5;
        context.move_to(0.0, y);
        context.line_to(frame.plot.right(), y);
        let _ = context.fill_text(&line.price.to_string(), frame.plot.right() + 8.0, y);
    }
    context.set_text_align("center");
    let label_y = height - TIME_AXIS_HEIGHT / 2.0;
    for mark in &frame.time_marks {
        let x = mark.x.round() + 0.5;
        context.move_to(x, 0.0);
        context.line_to(x, frame.volume.bottom());
        let _ = context.fill_text(&clock_label(mark.ts, interval), mark.x, label_y);
    }
    context.stroke();
    context.begin_path();
    context.move_to(frame.plot.right() + 0.5, 0.0);
    context.line_to(frame.plot.right() + 0.5, height);
    context.move_to(0.0, frame.volume.bottom() + 0.5);
    context.line_to(width, frame.volume.bottom() + 0.5);
    context.stroke();
}

fn draw_candles(context: &CanvasRenderingContext2d, colour: &Palette, frame: &ChartFrame) {
    for rising in [true, false] {
        let (body, volume) = if rising {
            (colour.up, colour.up_volume)
        } else {
            (colour.down, colour.down_volume)
        };
        let shapes = || frame.candles.iter().filter(move |c| c.rising == rising);
        context.set_fill_style_str(volume);
        for candle in shapes() {
            let left = candle.x - candle.body_width / 2.0;
            context.fill_rect(
                left,
                candle.volume_y,
                candle.body_width,
                frame.volume.bottom() - candle.volume_y,
            );
        }
        context.set_stroke_style_str(body);
        context.begin_path();
        for candle in shapes() {
            let x = candle.x.round() + 0.5;
            context.move_to(x, candle.high_y);
            context.line_to(x, candle.low_y);
        }
        context.stroke();
        context.set_fill_style_str(body);
        for candle in shapes() {
            let top = candle.open_y.min(candle.close_y);
            let height = (candle.open_y - candle.close_y).abs().max(1.0);
            context.fill_rect(
                candle.x - candle.body_width / 2.0,
                top,
                candle.body_width,
                height,
            );
        }
    }
}

fn draw_last_price(
    context: &CanvasRenderingContext2d,
    colour: &Palette,
    frame: &ChartFrame,
    width: f64,
) {
    let Some(last) = frame.last else {
        return;
    };
    let y = last.y.round() + 0.5;
    context.set_stroke_style_str(colour.last);
    let _ = context.set_line_dash(&js_sys::Array::of2(&4.0.into(), &3.0.into()));
    context.begin_path();
    context.move_to(0.0, y);
    context.line_to(frame.plot.right(), y);
    context.stroke();
    let _ = context.set_line_dash(&js_sys::Array::new());
    context.set_fill_style_str(colour.last);
    context.fill_rect(
        frame.plot.right() + 1.0,
        y - 9.0,
        width - frame.plot.right(),
        18.0,
    );
    context.set_fill_style_str(colour.label_text);
    context.set_text_align("left");
    let _ = context.fill_text(&last.price.to_string(), frame.plot.right() + 8.0, y);
}

/// The local wall-clock time of `ts`: `HH:MM:SS`, or `HH:MM` for minute candles.
fn clock_label(ts: i64, interval: Interval) -> String {
    let date = js_sys::Date::new(&(ts as f64).into());
    let (hours, minutes, seconds) = (date.get_hours(), date.get_minutes(), date.get_seconds());
    match interval {
        Interval::M1 => format!("{hours:02}:{minutes:02}"),
        _ => format!("{hours:02}:{minutes:02}:{seconds:02}"),
    }
}
