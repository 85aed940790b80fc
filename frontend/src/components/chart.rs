//! The chart panel: the selected symbol's header, the interval, kind and compare controls, and
//! the canvas with its tooltip and "back to live" button.
//!
//! Candles are painted on one `<canvas>`, not as DOM nodes: [`paint`] draws what
//! [`crate::chart::layout`] computes, at most once per animation frame. The canvas takes the
//! pointer (drag to scroll, wheel or pinch to zoom, hover for the crosshair) and, focused, the
//! keyboard (see [`crate::chart::control`]); all of it goes to [`Dashboard::chart_input`].

mod compare;
pub mod paint;
pub mod tooltip;

use std::rc::Rc;

use leptos::{ev, html, prelude::*};
use ticker_shared::{Interval, Price, price::format_bps};
use wasm_bindgen::JsCast;

use self::compare::ComparePicker;
use crate::{
    chart::ChartKind,
    dashboard::{ChartInput, Dashboard},
    signals::Signals,
};

/// Header, controls and the canvas of the selected symbol.
#[component]
pub fn ChartPanel(
    /// The engine that paints the canvas and takes its input.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        if let Some(element) = canvas.get() {
            dashboard.with_value(|d| d.attach_canvas(element));
        }
    });
    Effect::new(move |previous: Option<Interval>| {
        signals.selected.track();
        signals.theme.track();
        signals.chart_kind.track();
        signals.compare.track();
        let interval = signals.interval.get();
        dashboard.with_value(|d| {
            // Another interval holds other times: start it from the live edge, no cursor.
            if previous.is_some_and(|previous| previous != interval) {
                d.chart_input(ChartInput::Reset);
            }
            d.invalidate_chart();
        });
        interval
    });
    // The selected symbol is never also one of those compared with it.
    Effect::new(move |_| {
        let Some(selected) = signals.selected.get() else {
            return;
        };
        if signals.compare.with(|c| c.contains(&selected)) {
            signals.compare.update(|c| c.retain(|s| *s != selected));
        }
    });
    let resize = window_event_listener(ev::resize, move |_| {
        dashboard.with_value(|d| d.invalidate_chart())
    });
    on_cleanup(move || resize.remove());

    view! {
        <section class="chart-panel" aria-label="Chart">
            <ChartHeader />
            <div class="chart-controls">
                <IntervalSwitch />
                <KindSwitch />
                <ComparePicker />
            </div>
            <div class="chart-area">
                <ChartCanvas canvas=canvas dashboard=dashboard />
                <div
                    id=tooltip::ID
                    class="chart-tooltip"
                    data-testid="chart-tooltip"
                    hidden
                ></div>
                <button
                    type="button"
                    class="back-to-live"
                    data-testid="back-to-live"
                    hidden=move || signals.chart_live.get()
                    on:click=move |_| {
                        dashboard.with_value(|d| d.chart_input(ChartInput::BackToLive));
                    }
                >
                    "Back to live ⇥"
                </button>
            </div>
        </section>
    }
}

/// The selected symbol, its name, last price and change.
#[component]
fn ChartHeader() -> impl IntoView {
    let signals = expect_context::<Signals>();
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
        </header>
    }
}

/// A group of toggle buttons, one pressed: the interval or the chart kind.
fn toggle_group<T: Copy + PartialEq + Send + Sync + 'static>(
    label: &'static str,
    choices: impl IntoIterator<Item = (T, &'static str)>,
    signal: RwSignal<T>,
    group: &'static str,
) -> impl IntoView {
    let buttons = choices
        .into_iter()
        .map(|(choice, text)| {
            let active = move || signal.get() == choice;
            view! {
                <button
                    type="button"
                    class:active=active
                    aria-pressed=move || active().to_string()
                    data-choice=text
                    data-group=group
                    on:click=move |_| signal.set(choice)
                >
                    {text}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="toggles" role="group" aria-label=label>
            {buttons}
        </div>
    }
}

/// The candle interval: 1 s, 5 s, 1 min, 5 min.
#[component]
fn IntervalSwitch() -> impl IntoView {
    let signals = expect_context::<Signals>();
    toggle_group(
        "Candle interval",
        Interval::ALL.map(|interval| (interval, interval.label())),
        signals.interval,
        "interval",
    )
}

/// Candles or a line.
#[component]
fn KindSwitch() -> impl IntoView {
    let signals = expect_context::<Signals>();
    toggle_group(
        "Chart type",
        ChartKind::ALL.map(|kind| (kind, kind.label())),
        signals.chart_kind,
        "kind",
    )
}

/// The canvas, taking pointer, wheel and key input.
#[component]
fn ChartCanvas(
    /// Where the canvas element goes.
    canvas: NodeRef<html::Canvas>,
    /// The engine the input goes to.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let input = move |input: ChartInput<'_>| dashboard.with_value(|d| d.chart_input(input));
    let on_pointer_down = move |event: ev::PointerEvent| {
        if let Some(target) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = target.set_pointer_capture(event.pointer_id());
        }
        input(ChartInput::PointerDown {
            id: event.pointer_id(),
            x: f64::from(event.offset_x()),
        });
    };
    let on_pointer_move = move |event: ev::PointerEvent| {
        input(ChartInput::PointerMove {
            id: event.pointer_id(),
            x: f64::from(event.offset_x()),
            y: f64::from(event.offset_y()),
        });
    };
    let on_pointer_up = move |event: ev::PointerEvent| {
        input(ChartInput::PointerUp {
            id: event.pointer_id(),
        });
    };
    let on_wheel = move |event: ev::WheelEvent| {
        event.prevent_default();
        input(ChartInput::Wheel {
            dx: event.delta_x(),
            dy: event.delta_y(),
            x: f64::from(event.offset_x()),
            scroll: event.shift_key(),
        });
    };
    let on_key = move |event: ev::KeyboardEvent| {
        let key = event.key();
        if input(ChartInput::Key {
            key: &key,
            shift: event.shift_key(),
        }) {
            event.prevent_default();
        }
    };
    view! {
        <canvas
            node_ref=canvas
            class="chart"
            data-testid="chart"
            tabindex="0"
            role="application"
            aria-roledescription="chart"
            aria-label="Price chart of the selected symbol. Arrow keys move the data cursor, plus and minus zoom, Page Up and Page Down scroll, End returns to live."
            aria-describedby="chart-tooltip"
            on:pointerdown=on_pointer_down
            on:pointermove=on_pointer_move
            on:pointerup=on_pointer_up
            on:pointercancel=on_pointer_up
            on:pointerleave=move |_| {
                input(ChartInput::PointerLeave);
            }
            on:wheel=on_wheel
            on:keydown=on_key
        ></canvas>
    }
}
