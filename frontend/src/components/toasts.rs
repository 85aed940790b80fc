//! Toasts: short messages in a corner that leave by themselves (a price alert that fired), and
//! the browser notification that can go with them. Written straight into the page (see
//! [`crate::dom`]): a toast is made once and removed once.

use std::time::Duration;

use leptos::{ev, prelude::*};
use wasm_bindgen::JsCast;
use web_sys::{Element, Notification, NotificationOptions, NotificationPermission};

use crate::dom;

/// The id of the toasts' container.
const ID: &str = "toasts";
/// How long a toast stays.
const TOAST_LIFETIME: Duration = Duration::from_secs(12);
/// Most toasts shown at once; a new one pushes the oldest out.
const MAX_TOASTS: u32 = 4;

/// Shows `text` in a toast for [`TOAST_LIFETIME`] (or until dismissed).
pub fn show(text: &str) {
    let Some(stack) = dom::by_id(ID) else {
        return;
    };
    let Some(toast) = dom::append(&stack, "div", "toast", "") else {
        return;
    };
    let _ = toast.set_attribute("data-testid", "toast");
    dom::append(&toast, "span", "", text);
    if let Some(close) = dom::append(&toast, "button", "", "×") {
        let _ = close.set_attribute("type", "button");
        let _ = close.set_attribute("aria-label", "Dismiss");
    }
    while stack.child_element_count() > MAX_TOASTS {
        if let Some(oldest) = stack.first_element_child() {
            oldest.remove();
        }
    }
    set_timeout(move || toast.remove(), TOAST_LIFETIME);
}

/// Shows a browser notification if the user allowed them; whether one was shown.
pub fn notify(title: &str, body: &str) -> bool {
    if Notification::permission() != NotificationPermission::Granted {
        return false;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    Notification::new_with_options(title, &options).is_ok()
}

/// The toasts' container, in the bottom corner, read out as toasts appear. A toast's button
/// dismisses it.
#[component]
pub fn Toasts() -> impl IntoView {
    let on_click = |event: ev::MouseEvent| {
        let toast = event
            .target()
            .and_then(|target| target.dyn_into::<Element>().ok())
            .filter(|target| target.tag_name() == "BUTTON")
            .and_then(|button| button.closest(".toast").ok().flatten());
        if let Some(toast) = toast {
            toast.remove();
        }
    };
    view! { <div id=ID class="toasts" role="alert" aria-live="assertive" on:click=on_click></div> }
}
