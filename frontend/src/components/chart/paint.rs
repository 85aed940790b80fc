//! Paints one [`ChartFrame`] on the canvas, in the colours of the theme in effect. Runs at most
//! once per animation frame (the [`Dashboard`](crate::dashboard::Dashboard) calls it).

use ticker_shared::Interval;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::{
    chart::{
        ChartFrame,
        layout::{AxisMark, TIME_AXIS_HEIGHT},
    },
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
    crosshair: &'static str,
    crosshair_label: &'static str,
    /// One colour per series: the selected symbol's line, then the compared ones (the same
    /// as `--series-N` in style.css).
    series: [&'static str; 4],
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
        crosshair: "#6b7a8c",
        crosshair_label: "#2a3441",
        series: ["#4c9aff", "#e879f9", "#22d3ee", "#fb923c"],
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
        crosshair: "#8795a6",
        crosshair_label: "#4a5a6c",
        series: ["#1f6feb", "#a21caf", "#0e7490", "#c2410c"],
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

/// The canvas's size in CSS pixels, after matching its backing store to the device's pixel
/// ratio so lines stay crisp; `None` while it has no size.
pub fn fit(canvas: &HtmlCanvasElement) -> Option<(f64, f64)> {
    let width = f64::from(canvas.client_width());
    let height = f64::from(canvas.client_height());
    if width <= 0.0 || height <= 0.0 {
        return None;
    }
    let ratio = device_ratio();
    let (pixel_width, pixel_height) = (
        (width * ratio).round() as u32,
        (height * ratio).round() as u32,
    );
    if canvas.width() != pixel_width || canvas.height() != pixel_height {
        canvas.set_width(pixel_width);
        canvas.set_height(pixel_height);
    }
    Some((width, height))
}

fn device_ratio() -> f64 {
    web_sys::window().map_or(1.0, |w| w.device_pixel_ratio())
}

/// Paints `frame` (or just the background, for `None`) on `canvas`.
pub fn paint(
    canvas: &HtmlCanvasElement,
    frame: Option<&ChartFrame>,
    interval: Interval,
    theme: Theme,
) {
    let colour = Palette::of(theme);
    let (width, height) = (
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|context| context.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let ratio = device_ratio();
    let _ = context.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    context.set_fill_style_str(colour.background);
    context.fill_rect(0.0, 0.0, width, height);
    let Some(frame) = frame else {
        return;
    };
    let painter = Painter {
        context: &context,
        colour,
        frame,
        width,
        height,
    };
    painter.grid(interval);
    painter.volumes();
    painter.candles();
    painter.lines();
    painter.last();
    painter.crosshair(interval);
}

/// One frame being painted.
struct Painter<'a> {
    context: &'a CanvasRenderingContext2d,
    colour: &'static Palette,
    frame: &'a ChartFrame,
    width: f64,
    height: f64,
}

impl Painter<'_> {
    fn grid(&self, interval: Interval) {
        let (context, frame) = (self.context, self.frame);
        context.set_line_width(1.0);
        context.set_stroke_style_str(self.colour.grid);
        context.set_fill_style_str(self.colour.text);
        context.set_font(LABEL_FONT);
        context.set_text_baseline("middle");
        context.set_text_align("left");
        context.begin_path();
        for line in &frame.grid {
            let y = crisp(line.y);
            context.move_to(0.0, y);
            context.line_to(frame.plot.right(), y);
            let _ = context.fill_text(&line.text, frame.plot.right() + 8.0, y);
        }
        context.set_text_align("center");
        let label_y = self.height - TIME_AXIS_HEIGHT / 2.0;
        for mark in &frame.time_marks {
            let x = crisp(mark.x);
            context.move_to(x, 0.0);
            context.line_to(x, frame.volume.bottom());
            let _ = context.fill_text(&clock_label(mark.ts, interval), mark.x, label_y);
        }
        context.stroke();
        context.begin_path();
        context.move_to(frame.plot.right() + 0.5, 0.0);
        context.line_to(frame.plot.right() + 0.5, self.height);
        context.move_to(0.0, frame.volume.bottom() + 0.5);
        context.line_to(self.width, frame.volume.bottom() + 0.5);
        context.stroke();
    }

    fn volumes(&self) {
        let bottom = self.frame.volume.bottom();
        for rising in [true, false] {
            self.context.set_fill_style_str(if rising {
                self.colour.up_volume
            } else {
                self.colour.down_volume
            });
            for bar in self.frame.volumes.iter().filter(|b| b.rising == rising) {
                self.context.fill_rect(
                    bar.x - bar.width / 2.0,
                    bar.top,
                    bar.width,
                    bottom - bar.top,
                );
            }
        }
    }

    fn candles(&self) {
        let context = self.context;
        for rising in [true, false] {
            let body = if rising {
                self.colour.up
            } else {
                self.colour.down
            };
            let shapes = || {
                self.frame
                    .candles
                    .iter()
                    .filter(move |c| c.rising == rising)
            };
            context.set_stroke_style_str(body);
            context.begin_path();
            for candle in shapes() {
                let x = crisp(candle.x);
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

    fn lines(&self) {
        let context = self.context;
        context.set_line_width(1.5);
        context.set_line_join("round");
        for (line, colour) in self.frame.lines.iter().zip(self.colour.series) {
            context.set_stroke_style_str(colour);
            context.begin_path();
            for (i, &(x, y)) in line.iter().enumerate() {
                if i == 0 {
                    context.move_to(x, y);
                } else {
                    context.line_to(x, y);
                }
            }
            context.stroke();
        }
        context.set_line_width(1.0);
    }

    fn last(&self) {
        let Some(last) = &self.frame.last else {
            return;
        };
        self.dashed(self.colour.last, |context| {
            let y = crisp(last.y);
            context.move_to(0.0, y);
            context.line_to(self.frame.plot.right(), y);
        });
        self.axis_label(last, self.colour.last, self.colour.label_text);
    }

    fn crosshair(&self, interval: Interval) {
        let Some(cross) = &self.frame.crosshair else {
            return;
        };
        let frame = self.frame;
        self.dashed(self.colour.crosshair, |context| {
            let (x, y) = (crisp(cross.x), crisp(cross.value.y));
            context.move_to(x, 0.0);
            context.line_to(x, frame.volume.bottom());
            context.move_to(0.0, y);
            context.line_to(frame.plot.right(), y);
        });
        self.axis_label(&cross.value, self.colour.crosshair_label, "#ffffff");
        let text = clock_label(cross.ts, interval);
        let context = self.context;
        let label_width = 64.0;
        let left = (cross.x - label_width / 2.0).clamp(0.0, frame.plot.right() - label_width);
        context.set_fill_style_str(self.colour.crosshair_label);
        context.fill_rect(
            left,
            frame.volume.bottom() + 1.0,
            label_width,
            TIME_AXIS_HEIGHT - 2.0,
        );
        context.set_fill_style_str("#ffffff");
        context.set_text_align("center");
        let _ = context.fill_text(
            &text,
            left + label_width / 2.0,
            self.height - TIME_AXIS_HEIGHT / 2.0,
        );
    }

    /// Strokes the path `draw` builds with a dashed line.
    fn dashed(&self, colour: &str, draw: impl FnOnce(&CanvasRenderingContext2d)) {
        let context = self.context;
        context.set_stroke_style_str(colour);
        let _ = context.set_line_dash(&js_sys::Array::of2(&4.0.into(), &3.0.into()));
        context.begin_path();
        draw(context);
        context.stroke();
        let _ = context.set_line_dash(&js_sys::Array::new());
    }

    /// A filled label on the value axis.
    fn axis_label(&self, mark: &AxisMark, fill: &str, text: &str) {
        let context = self.context;
        let y = crisp(mark.y);
        let right = self.frame.plot.right();
        context.set_fill_style_str(fill);
        context.fill_rect(right + 1.0, y - 9.0, self.width - right, 18.0);
        context.set_fill_style_str(text);
        context.set_text_align("left");
        let _ = context.fill_text(&mark.text, right + 8.0, y);
    }
}

/// The middle of a pixel row or column, where a 1 px line is sharp.
fn crisp(at: f64) -> f64 {
    at.round() + 0.5
}

/// The local wall-clock time of `ts`: `HH:MM:SS`, or `HH:MM` for minute candles and longer.
pub fn clock_label(ts: i64, interval: Interval) -> String {
    let date = js_sys::Date::new(&(ts as f64).into());
    let (hours, minutes, seconds) = (date.get_hours(), date.get_minutes(), date.get_seconds());
    if interval.millis() >= 60_000 {
        format!("{hours:02}:{minutes:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    }
}
