//! The polite live region: screen readers hear the selected symbol's price now and then (the
//! dashboard decides when, at most every five seconds), never the whole market.

use leptos::prelude::*;

use crate::signals::Signals;

/// A visually hidden `aria-live="polite"` region with the latest announcement.
#[component]
pub fn Announcer() -> impl IntoView {
    let signals = expect_context::<Signals>();
    view! {
        <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="announcer">
            {move || signals.announcement.get()}
        </div>
    }
}
