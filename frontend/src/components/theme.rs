//! The theme button: system → light → dark, kept across reloads, and the system's changes
//! followed while the choice is "system".

use leptos::prelude::*;
use wasm_bindgen::{JsCast, closure::Closure};

use crate::{
    signals::Signals,
    theme::{self, ThemeChoice},
};

/// Cycles the theme choice; reads and keeps it in `localStorage`.
#[component]
pub fn ThemeButton() -> impl IntoView {
    let signals = expect_context::<Signals>();
    let query = theme::system_dark_query();
    let system_dark = RwSignal::new(query.as_ref().is_some_and(|q| q.matches()));
    if let Some(query) = query {
        let changed = Closure::<dyn FnMut()>::new({
            let query = query.clone();
            move || system_dark.set(query.matches())
        });
        let _ = query.add_event_listener_with_callback("change", changed.as_ref().unchecked_ref());
        // The listener lives as long as the page, like this component.
        changed.forget();
    }
    signals.theme_choice.set(theme::stored_choice());
    Effect::new(move |previous: Option<ThemeChoice>| {
        let choice = signals.theme_choice.get();
        let effective = choice.effective(system_dark.get());
        signals.theme.set(effective);
        if previous.is_some_and(|previous| previous != choice) {
            theme::store_and_apply(choice, effective);
        } else {
            theme::apply(choice, effective);
        }
        choice
    });
    let choice = signals.theme_choice;
    view! {
        <button
            class="theme-button"
            data-testid="theme"
            data-choice=move || choice.get().key()
            title="Light or dark colours: follow the system, or always light, or always dark"
            on:click=move |_| choice.update(|c| *c = c.next())
        >
            {move || choice.get().label()}
        </button>
    }
}
