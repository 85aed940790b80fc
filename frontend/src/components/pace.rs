//! The pace control (WCAG 2.2.2): live, slow (one update every two seconds) or paused, for
//! every moving figure, the sparklines and the chart; kept across reloads.

use std::rc::Rc;

use leptos::prelude::*;

use crate::{
    dashboard::Dashboard,
    pace::{self, Pace},
    signals::Signals,
    storage,
};

/// Three toggle buttons; the pressed one is the pace in effect.
#[component]
pub fn PaceControl(
    /// The engine whose display the pace governs.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let stored = storage::load(pace::STORAGE_KEY).map_or(Pace::Live, |text| Pace::parse(&text));
    signals.pace.set(stored);
    let button = move |choice: Pace| {
        let pressed = move || signals.pace.get() == choice;
        view! {
            <button
                type="button"
                class:active=pressed
                aria-pressed=move || pressed().to_string()
                data-pace=choice.key()
                on:click=move |_| dashboard.with_value(|d| d.set_pace(choice))
            >
                {choice.label()}
            </button>
        }
    };
    view! {
        <div
            class="pace"
            role="group"
            aria-label="Updates of moving figures"
            title="Live updates, slowed to one every two seconds, or paused (data keeps arriving underneath)"
        >
            {Pace::ALL.into_iter().map(button).collect_view()}
        </div>
    }
}
