//! The root component: creates the signals and the engine, starts the feed, lays out the page.

use leptos::prelude::*;

use crate::{
    components::{chart::ChartPanel, status::StatusBar, theme::ThemeButton, watchlist::Watchlist},
    dashboard::Dashboard,
    feed,
    signals::Signals,
};

/// The whole dashboard.
#[component]
pub fn App() -> impl IntoView {
    let signals = Signals::new();
    provide_context(signals);
    let dashboard = Dashboard::new(signals);
    dashboard.start_meters();
    feed::start(dashboard.clone());
    let dashboard = StoredValue::new_local(dashboard);
    view! {
        <div class="app">
            <header class="topbar">
                <h1>
                    <span class="logo" aria-hidden="true">"▲"</span>
                    "Ticker"
                </h1>
                <StatusBar />
                <ThemeButton />
            </header>
            <main class="layout">
                <Watchlist />
                <ChartPanel dashboard=dashboard />
            </main>
            <footer class="footer">
                "Simulated market data · prices exact to the cent · protocol v" {ticker_shared::PROTOCOL_VERSION}
            </footer>
        </div>
    }
}
