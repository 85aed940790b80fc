//! Compare mode's controls: pick up to three symbols of the watchlist to overlay on the selected
//! one (each drawn as its percentage change from the first candle in view), shown as chips with
//! the colour of their line and a button to take each off again. A symbol removed from the
//! watchlist (no longer subscribed, so no longer moving) leaves the comparison too.

use leptos::{html, prelude::*};
use ticker_shared::Symbol;

use crate::{chart::layout::MAX_COMPARED, signals::Signals};

/// The "compare with" list and the chips of the symbols compared.
#[component]
pub fn ComparePicker() -> impl IntoView {
    let signals = expect_context::<Signals>();
    let select = NodeRef::<html::Select>::new();
    let compare = signals.compare;
    let full = move || compare.with(|c| c.len() + 1 >= MAX_COMPARED);
    let choices = move || {
        let selected = signals.selected.get();
        let compared = compare.get();
        signals.rows.with(|rows| {
            rows.iter()
                .filter(|row| row.listed.get())
                .map(|row| row.info.symbol.clone())
                .filter(|s| Some(s) != selected.as_ref() && !compared.contains(s))
                .collect::<Vec<_>>()
        })
    };
    let on_change = move |event: leptos::ev::Event| {
        if let Ok(symbol) = Symbol::new(&event_target_value(&event)) {
            compare.update(|c| {
                if c.len() + 1 < MAX_COMPARED && !c.contains(&symbol) {
                    c.push(symbol);
                }
            });
        }
        if let Some(select) = select.get() {
            select.set_value("");
        }
    };
    let chips = move || {
        let compared = compare.get();
        let main = signals.selected.get().filter(|_| !compared.is_empty());
        let main_chip = main.map(|symbol| {
            view! { <span class="chip series-0">{symbol.to_string()}</span> }
        });
        let others = compared
            .into_iter()
            .enumerate()
            .map(|(i, symbol)| {
                let name = symbol.to_string();
                view! {
                    <button
                        type="button"
                        class=format!("chip series-{}", i + 1)
                        data-compared=name.clone()
                        aria-label=format!("Stop comparing {name}")
                        on:click=move |_| compare.update(|c| c.retain(|s| *s != symbol))
                    >
                        {name.clone()}
                        " ×"
                    </button>
                }
            })
            .collect_view();
        (main_chip, others)
    };
    view! {
        <div class="compare" role="group" aria-label="Compare symbols">
            <select
                node_ref=select
                data-testid="compare-add"
                aria-label="Compare with another symbol"
                disabled=full
                on:change=on_change
            >
                <option value="">"Compare…"</option>
                {move || {
                    choices()
                        .into_iter()
                        .map(|symbol| {
                            let (value, label) = (symbol.to_string(), symbol.to_string());
                            view! { <option value=value>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            {chips}
        </div>
    }
}
