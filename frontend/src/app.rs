//! The root component: creates the signals and the engine, starts the feed, lays out the page.

use leptos::prelude::*;

use crate::{
    components::{
        alerts::AlertsPanel, announcer::Announcer, chart::ChartPanel, chat::ChatPanel,
        pace::PaceControl, status::StatusBar, theme::ThemeButton, toasts::Toasts,
        watchlist::Watchlist,
    },
    dashboard::Dashboard,
    feed, lifecycle,
    signals::Signals,
};

/// The whole dashboard.
#[component]
pub fn App() -> impl IntoView {
    let signals = Signals::new();
    provide_context(signals);
    let dashboard = Dashboard::new(signals);
    dashboard.start_meters();
    dashboard.start_housekeeping();
    lifecycle::watch(&dashboard);
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
                <PaceControl dashboard=dashboard />
                <ThemeButton />
            </header>
            <main class="layout">
                <Watchlist dashboard=dashboard />
                <div class="side">
                    <ChartPanel dashboard=dashboard />
                    <div class="desk">
                        <AlertsPanel dashboard=dashboard />
                        <ChatPanel dashboard=dashboard />
                    </div>
                </div>
            </main>
            <Announcer />
            <Toasts />
            <footer class="footer">
                "Simulated market data · prices exact to the cent · protocol v" {ticker_shared::PROTOCOL_VERSION}
            </footer>
        </div>
    }
}
