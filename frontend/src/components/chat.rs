//! The desk chat panel: the messages (name, local time, text; newest at the bottom) and a form
//! with the display name, the text with its characters-left counter, and Send (or Enter).
//!
//! Messages are written straight into the list by [`show`], each part with `textContent`, so
//! whatever a message holds (`<script>`, `<b>`, `&amp;`) is shown as the characters it is and
//! never parsed as HTML; and, like the chart's tooltip, a few DOM calls cost far less code than
//! a reactive list. The list is a polite live region (`role="log"`) and follows new messages
//! unless the user has scrolled up to read older ones. On the event stream, which only
//! receives, the form is disabled and says so.
//!
//! The rest of the panel is static markup: the dashboard writes the messages, the notice and
//! the form's state into it, so no reactive view or effect is needed (each costs code).

use std::rc::Rc;

use leptos::prelude::*;
use ticker_shared::{ChatMessage, Interval};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlInputElement};

use super::chart::paint::clock_label;
use crate::{
    chat::{self, ChatLog, Merged, STORAGE_KEY},
    dashboard::Dashboard,
    dom::{self, by_id},
    storage,
};

/// The message list's id.
const LOG_ID: &str = "chat-log";
/// The form's id.
const FORM_ID: &str = "chat-form";
/// The display name field's id.
const NAME_ID: &str = "chat-name";
/// The text field's id.
const TEXT_ID: &str = "chat-text";
/// The Send button's id.
const SEND_ID: &str = "chat-send";
/// The characters-left counter's id.
const LEFT_ID: &str = "chat-left";
/// The notice's id (why a post was not sent).
const NOTICE_ID: &str = "chat-notice";

/// The chat panel. Its markup is static; the dashboard writes the messages, the notice and the
/// form's state into it (see [`show`]), and one handler of the window's `submit` and `input`
/// events does the rest (a listener per element would cost code per element).
#[component]
pub fn ChatPanel(
    /// The engine that shows the messages and sends the posts.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    // Once mounted: the name and the counter (the markup is static, see below).
    request_animation_frame(|| session(false));
    let handler = move |event: web_sys::Event| on_event(dashboard, &event);
    let submits = window_event_listener_untyped("submit", handler);
    let inputs = window_event_listener_untyped("input", handler);
    on_cleanup(move || {
        submits.remove();
        inputs.remove();
    });
    // Literal attributes only, so that the macro makes the static parts inert: written as HTML
    // once, instead of element by element in code. The ids are the consts above.
    view! {
        <section class="chat-panel" aria-labelledby="chat-title">
            <h2 id="chat-title" class="caption">"Desk chat"</h2>
            <div
                id="chat-log"
                class="chat-log"
                role="log"
                aria-live="polite"
                aria-labelledby="chat-title"
                tabindex="0"
            ></div>
            <form id="chat-form" class="chat-form">
                <label for="chat-name" class="caption">"Name"</label>
                <input id="chat-name" autocomplete="nickname" />
                <label for="chat-text" class="visually-hidden">"Message"</label>
                <input
                    id="chat-text"
                    placeholder="Message the desk"
                    autocomplete="off"
                    aria-describedby="chat-left chat-notice"
                />
                <button id="chat-send" type="submit">"Send"</button>
                <span id="chat-left" class="chat-left"></span>
            </form>
            <p id="chat-notice" class="chat-notice" role="alert"></p>
        </section>
    }
    .into_any()
}

/// The window's `submit` and `input` events, for the chat form's: its submit posts the text
/// (and keeps the name); typing keeps the name or updates the text's counter.
fn on_event(dashboard: StoredValue<Rc<Dashboard>, LocalStorage>, event: &web_sys::Event) {
    let (Some(name), Some(text)) = (field(NAME_ID), field(TEXT_ID)) else {
        return;
    };
    let target = event.target().map(JsValue::from);
    if target.as_ref() == Some(name.as_ref()) {
        storage::save(STORAGE_KEY, &name.value());
    } else if target.as_ref() == Some(text.as_ref()) {
        show_left(&text.value());
    } else if target == by_id(FORM_ID).map(JsValue::from) {
        event.prevent_default();
        let name = name.value();
        storage::save(STORAGE_KEY, &name);
        if dashboard.with_value(|d| d.post_chat(&name, &text.value())) {
            text.set_value("");
            show_left("");
        }
    }
}

/// Brings the list in line with `log` after a merge: the messages that went are removed and
/// the new ones written; the list stays at the bottom if it was there.
pub fn show(log: &ChatLog, merged: Merged) {
    // Messages come only after the feed's first `hello`, by which time the panel is mounted.
    let Some(list) = by_id(LOG_ID) else {
        return;
    };
    let follow = chat::at_bottom(
        list.scroll_top(),
        list.client_height(),
        list.scroll_height(),
    );
    let added = match merged {
        Merged::Tail { dropped, added } => {
            for _ in 0..dropped {
                if let Some(first) = list.first_element_child() {
                    first.remove();
                }
            }
            added
        }
        Merged::Redraw => {
            list.set_text_content(None);
            log.len()
        }
    };
    for message in log.iter().skip(log.len() - added) {
        append_message(&list, message);
    }
    if follow {
        list.set_scroll_top(list.scroll_height());
    }
}

/// Appends one message to `list`: name, local time (HH:MM) and text, each as text.
fn append_message(list: &Element, message: &ChatMessage) {
    let Some(row) = dom::append(list, "p", "", "") else {
        return;
    };
    let time = clock_label(message.ts, Interval::M1);
    for (class, text) in [
        ("chat-name", message.name.as_str()),
        ("chat-time", time.as_str()),
        ("chat-text", message.text.as_str()),
    ] {
        dom::append(&row, "span", class, text);
    }
}

/// Puts a refused post's `text` back in the text field, unless the user has typed since.
pub fn put_back(text: &str) {
    let Some(field) = field(TEXT_ID) else {
        return;
    };
    if field.value().is_empty() {
        field.set_value(text);
        show_left(text);
    }
}

/// Shows why the last post was not sent (`""`: it was).
pub fn notice(text: &str) {
    if let Some(notice) = by_id(NOTICE_ID) {
        notice.set_text_content(Some(text));
    }
}

/// Brings the form up to date for a new session: the display name kept from earlier visits
/// (a guest's name on the first), the counter, and the form disabled with a note saying why
/// when the connection only receives (`receive_only`), or enabled.
pub fn session(receive_only: bool) {
    if let Some(name) = field(NAME_ID)
        && name.value().is_empty()
    {
        let stored = storage::load(STORAGE_KEY)
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| {
                let guest = chat::guest_name(js_sys::Math::random());
                storage::save(STORAGE_KEY, &guest);
                guest
            });
        name.set_value(&stored);
    }
    if let Some(text) = field(TEXT_ID) {
        show_left(&text.value());
    }
    for id in [TEXT_ID, SEND_ID] {
        if let Some(element) = by_id(id) {
            let _ = if receive_only {
                element.set_attribute("disabled", "")
            } else {
                element.remove_attribute("disabled")
            };
        }
    }
    // Refusals belonged to the session before.
    notice(if receive_only { chat::RECEIVE_ONLY } else { "" });
}

/// Shows how many characters `text` leaves (or is over by).
fn show_left(text: &str) {
    if let Some(counter) = by_id(LEFT_ID) {
        let (label, over) = chat::characters_left(text);
        counter.set_text_content(Some(&label));
        counter.set_class_name(if over { "chat-left over" } else { "chat-left" });
    }
}

/// The input element with id `id` (one of this panel's: no need to check its type).
fn field(id: &str) -> Option<HtmlInputElement> {
    by_id(id).map(JsCast::unchecked_into)
}
