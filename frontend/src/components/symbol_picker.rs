//! Adding a symbol to the watchlist: a list of the server's symbols not listed yet and an Add
//! button, both plain form controls, so they work by keyboard and with any assistive technology.
//!
//! The options are written straight into the `<select>` whenever the list changes: a handful of
//! DOM calls, where a reactive list of option views would cost kilobytes of WebAssembly.

use std::rc::Rc;

use leptos::{html, prelude::*};

use crate::{dashboard::Dashboard, dom, signals::Signals};

/// The "add a symbol" control; empty and disabled when every symbol is listed.
#[component]
pub fn SymbolPicker(
    /// The engine that subscribes to the added symbol.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let select = NodeRef::<html::Select>::new();
    let none_left = RwSignal::new(true);
    Effect::new(move |_| {
        let unlisted: Vec<(String, String)> = signals.rows.with(|rows| {
            rows.iter()
                .filter(|row| !row.listed.get())
                .map(|row| (row.info.symbol.to_string(), row.info.name.clone()))
                .collect()
        });
        none_left.set(unlisted.is_empty());
        let Some(element) = select.get() else {
            return;
        };
        element.set_length(0);
        for (symbol, name) in unlisted {
            if let Some(option) = dom::append(&element, "option", "", &format!("{symbol} · {name}"))
            {
                let _ = option.set_attribute("value", &symbol);
            }
        }
    });
    let add = move |_| {
        let Some(element) = select.get() else {
            return;
        };
        if let Some(symbol) = dashboard.with_value(|d| d.set_listed(&element.value(), true)) {
            signals.selected.set(Some(symbol));
        }
    };
    view! {
        <div class="symbol-picker">
            <label for="add-symbol">"Add symbol"</label>
            <select id="add-symbol" node_ref=select data-testid="add-symbol" disabled=none_left></select>
            <button type="button" data-testid="add-button" disabled=none_left on:click=add>
                "Add"
            </button>
        </div>
    }
}
