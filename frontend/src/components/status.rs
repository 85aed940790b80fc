//! The status bar: connection state and transport, tick latency, round trip and tick rate.

use leptos::prelude::*;

use crate::{format, signals::Signals};

/// Connection state and live figures, from the [`Signals`] in context.
#[component]
pub fn StatusBar() -> impl IntoView {
    let signals = expect_context::<Signals>();
    let status = signals.status;
    let transport = signals.transport;
    let latency = move || {
        signals.latency.get().map_or_else(
            || "—".to_owned(),
            |(p50, p99)| format!("{} · p99 {}", format::millis(p50), format::millis(p99)),
        )
    };
    let round_trip = move || {
        signals
            .round_trip
            .get()
            .map_or_else(|| "—".to_owned(), format::millis)
    };
    let rate = move || format!("{:.0}", signals.tick_rate.get());
    view! {
        <div class="status-bar">
            <div class="connection" data-testid="connection" data-state=move || status.get().key() role="status">
                <span class="dot" aria-hidden="true"></span>
                <span>{move || status.get().label()}</span>
                <span
                    class="transport"
                    data-testid="transport"
                    data-transport=move || transport.get().key()
                    title="How the feed reaches this page: WebSocket, or Server-Sent Events where WebSockets are blocked"
                >
                    {move || transport.get().label()}
                </span>
            </div>
            <div class="figure" title="Server timestamp to receipt, median and 99th percentile">
                <span class="caption">"Latency"</span>
                <strong data-testid="latency">{latency}</strong>
            </div>
            <div class="figure" title="Round trip of an application ping">
                <span class="caption">"RTT"</span>
                <strong>{round_trip}</strong>
            </div>
            <div class="figure" title="Ticks received per second">
                <span class="caption">"Ticks/s"</span>
                <strong data-testid="tick-rate">{rate}</strong>
            </div>
        </div>
    }
}
