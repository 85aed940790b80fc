//! The watchlist: one row per listed symbol with live figures and a sparkline; a price flashes
//! when it moves (at most every 400 ms); a symbol silent for too long is marked stale; clicking
//! (or Enter on) a row selects it for the chart; the arrow keys, Home and End move the selection
//! and the focus; × (or Delete) removes a symbol and the picker below adds one; clicking a
//! column's header sorts by it.
//!
//! The rows are one tab stop (a roving `tabindex`: the selected row, and its remove button), so
//! a keyboard user moves through the list with the arrows rather than fifty Tab presses. Clicks
//! and keys are handled once for the whole table body (event delegation), not per row.

use std::rc::Rc;

use leptos::{ev, prelude::*};
use ticker_shared::price::format_bps;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::{
    components::symbol_picker::SymbolPicker,
    dashboard::Dashboard,
    format,
    navigation::{self, Step},
    signals::{Row, Signals},
    sorting::{self, Column, Sort},
    state::{Direction, QuoteRow},
};

/// The table of the listed symbols, and the control that adds one.
#[component]
pub fn Watchlist(
    /// The engine that subscribes and unsubscribes as symbols come and go.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let sort = RwSignal::new(None::<Sort>);
    // While the focus is in the list, a sorted list keeps its order: moving the focused row in
    // the DOM would drop the focus, and a keyboard user's place with it.
    let focused = RwSignal::new(false);
    let held_order = StoredValue::new(Vec::<usize>::new());
    let ordered = move || {
        let rows: Vec<Row> = signals
            .rows
            .get()
            .into_iter()
            .filter(|row| row.listed.get())
            .collect();
        let Some(current) = sort.get() else {
            return rows;
        };
        let held = held_order.get_value();
        let order = if focused.get() && held.len() == rows.len() {
            held
        } else {
            let figures: Vec<_> = rows
                .iter()
                .map(|row| (row.info.clone(), row.quote.get()))
                .collect();
            let order = sorting::order(&figures, Some(current));
            held_order.set_value(order.clone());
            order
        };
        order
            .into_iter()
            .filter_map(|i| rows.get(i).cloned())
            .collect()
    };
    let on_focus_out = move |event: ev::FocusEvent| {
        let inside = event
            .related_target()
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
            .zip(
                event
                    .current_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok()),
            )
            .is_some_and(|(to, body)| body.contains(Some(&to)));
        if !inside {
            focused.set(false);
        }
    };
    let header = move |label: &'static str, column: Column, class: &'static str| {
        view! { <SortHeader label=label column=column class=class sort=sort /> }
    };
    view! {
        <section class="watchlist" aria-label="Watchlist">
            <table>
                <thead>
                    <tr>
                        {header("Symbol", Column::Symbol, "")}
                        {header("Name", Column::Name, "name")}
                        <th scope="col" class="trend hide-narrow">"Trend"</th>
                        {header("Last", Column::Last, "num")}
                        {header("Chg", Column::Change, "num")}
                        {header("Chg %", Column::ChangePercent, "num")}
                        {header("High", Column::High, "num hide-narrow")}
                        {header("Low", Column::Low, "num hide-narrow")}
                        {header("Volume", Column::Volume, "num")}
                        <th scope="col" class="remove">
                            <span class="visually-hidden">"Remove"</span>
                        </th>
                    </tr>
                </thead>
                <tbody
                    on:click=move |event| on_click(signals, dashboard, &event)
                    on:keydown=move |event| on_key(signals, dashboard, &event)
                    on:focusin=move |_| focused.set(true)
                    on:focusout=on_focus_out
                >
                    <For each=ordered key=|row| row.info.symbol.clone() let:row>
                        <WatchRow row=row />
                    </For>
                </tbody>
            </table>
            <SymbolPicker dashboard=dashboard />
        </section>
    }
}

/// A column header that sorts by its column: largest first (A→Z for text), then the other
/// way, then the server's order. A button, so it is reachable and operable by keyboard.
#[component]
fn SortHeader(
    /// The header's text.
    label: &'static str,
    /// The column it sorts by.
    column: Column,
    /// The cell's CSS classes.
    class: &'static str,
    /// The watchlist's sort.
    sort: RwSignal<Option<Sort>>,
) -> impl IntoView {
    let state = move || match sort.get() {
        Some(Sort {
            column: sorted,
            descending,
        }) if sorted == column => {
            if descending {
                "descending"
            } else {
                "ascending"
            }
        }
        _ => "none",
    };
    view! {
        <th scope="col" class=class aria-sort=state>
            <button
                class="sort"
                data-column=label
                on:click=move |_| sort.update(|current| *current = sorting::after_click(*current, column))
            >
                {label}
            </button>
        </th>
    }
}

/// The CSS class restarting the flash animation: two identical animations alternate, because
/// re-applying the same class would not replay it.
fn flash_class(quote: Option<&QuoteRow>) -> &'static str {
    let Some(flash) = quote.map(|q| q.flash) else {
        return "num last";
    };
    match (flash.direction, flash.generation % 2) {
        (Direction::Up, 0) => "num last flash-up-a",
        (Direction::Up, _) => "num last flash-up-b",
        (Direction::Down, 0) => "num last flash-down-a",
        (Direction::Down, _) => "num last flash-down-b",
        (Direction::Flat, _) => "num last",
    }
}

/// Colour class of a change: up, down or unchanged.
fn change_class(quote: Option<&QuoteRow>) -> &'static str {
    match quote.map(|q| q.change.cents().signum()) {
        Some(1) => "num up",
        Some(-1) => "num down",
        _ => "num",
    }
}

/// The element an event happened on, and the row it is in.
fn target_and_row(event: &ev::Event) -> Option<(Element, Element)> {
    let target = event.target()?.dyn_into::<Element>().ok()?;
    let row = target.closest("tbody tr").ok()??;
    Some((target, row))
}

/// A click in the table body: on a remove button, removes its row; elsewhere, selects the row.
fn on_click(
    signals: Signals,
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
    event: &ev::MouseEvent,
) {
    let Some((target, row)) = target_and_row(event) else {
        return;
    };
    if target.closest(".remove-button").ok().flatten().is_some() {
        remove_row(signals, dashboard, &row);
    } else {
        select_row(signals, &row);
    }
}

/// A key on a focused row: Enter or Space selects it, Delete removes it, the arrows, Home and
/// End move the selection. Keys on the row's remove button are the button's.
fn on_key(
    signals: Signals,
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
    event: &ev::KeyboardEvent,
) {
    let Some((target, row)) = target_and_row(event) else {
        return;
    };
    if target != row {
        return;
    }
    let key = event.key();
    if key == "Enter" || key == " " {
        select_row(signals, &row);
    } else if key == "Delete" {
        remove_row(signals, dashboard, &row);
    } else if let Some(step) = Step::from_key(&key) {
        let next = siblings(&row).and_then(|(rows, index)| {
            let next = step.target(rows.len(), Some(index))?;
            rows.into_iter().nth(next)
        });
        if let Some(next) = next {
            select_row(signals, &next);
        }
    } else {
        return;
    }
    event.prevent_default();
}

/// The rows of the table the row `row` is in, top to bottom, and `row`'s place among them.
fn siblings(row: &Element) -> Option<(Vec<Element>, usize)> {
    let children = row.parent_element()?.children();
    let rows: Vec<Element> = (0..children.length())
        .filter_map(|i| children.item(i))
        .collect();
    let index = rows.iter().position(|other| other == row)?;
    Some((rows, index))
}

/// Selects the symbol of the row `element` and moves the focus to it.
fn select_row(signals: Signals, element: &Element) {
    let text = element.get_attribute("data-symbol").unwrap_or_default();
    let symbol = signals.rows.with_untracked(|rows| {
        rows.iter()
            .find(|row| row.info.symbol.as_str() == text)
            .map(|row| row.info.symbol.clone())
    });
    let Some(symbol) = symbol else {
        return;
    };
    signals.selected.set(Some(symbol));
    if let Some(element) = element.dyn_ref::<HtmlElement>() {
        let _ = element.focus();
    }
}

/// Removes the row `element`'s symbol; if it was selected, its neighbour (in the order shown)
/// takes the selection and the focus.
fn remove_row(
    signals: Signals,
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
    element: &Element,
) {
    let neighbour = siblings(element).and_then(|(rows, index)| {
        let next = navigation::after_removal(rows.len(), index)?;
        rows.into_iter().nth(next)
    });
    let text = element.get_attribute("data-symbol").unwrap_or_default();
    let Some(symbol) = dashboard.with_value(|d| d.set_listed(&text, false)) else {
        return;
    };
    let was_selected = signals
        .selected
        .with_untracked(|selected| selected.as_ref() == Some(&symbol));
    if let Some(neighbour) = neighbour.filter(|_| was_selected) {
        select_row(signals, &neighbour);
    }
}

/// One symbol's row.
#[component]
fn WatchRow(
    /// The symbol and its live figures.
    row: Row,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let quote = row.quote;
    let symbol = row.info.symbol.clone();
    let is_selected = {
        let symbol = symbol.clone();
        move || {
            signals
                .selected
                .with(|selected| selected.as_ref() == Some(&symbol))
        }
    };
    let stale = row.stale;
    let sparkline = row.sparkline;
    let tab_stop = {
        let is_selected = is_selected.clone();
        move || if is_selected() { "0" } else { "-1" }
    };
    let button_tab_stop = tab_stop.clone();
    let cell = move |text: fn(&QuoteRow) -> String| {
        move || quote.with(|q| q.as_ref().map_or_else(|| "—".to_owned(), text))
    };
    view! {
        <tr
            class:selected=is_selected.clone()
            aria-current={
                let is_selected = is_selected.clone();
                move || is_selected().to_string()
            }
            tabindex=tab_stop
            data-symbol=symbol.to_string()
            data-stale=move || stale.get().to_string()
        >
            <th scope="row" class="symbol">
                {symbol.to_string()}
                <span
                    class="stale-badge"
                    data-testid="stale"
                    title="No trade for much longer than usual for this symbol: its feed may have stalled"
                >
                    "stale"
                </span>
            </th>
            <td class="name">{row.info.name.clone()}</td>
            <td class="trend hide-narrow" inner_html=move || sparkline.get()></td>
            <td class=move || quote.with(|q| flash_class(q.as_ref())) data-testid="last">
                {cell(|q| q.last.to_string())}
            </td>
            <td class=move || quote.with(|q| change_class(q.as_ref()))>{cell(|q| format!("{:+}", q.change))}</td>
            <td class=move || quote.with(|q| change_class(q.as_ref()))>
                {cell(|q| q.change_bps.map_or_else(|| "—".to_owned(), format_bps))}
            </td>
            <td class="num hide-narrow">{cell(|q| q.high.to_string())}</td>
            <td class="num hide-narrow">{cell(|q| q.low.to_string())}</td>
            <td class="num">{cell(|q| format::volume(q.volume))}</td>
            <td class="remove">
                <button
                    type="button"
                    class="remove-button"
                    tabindex=button_tab_stop
                    aria-label=format!("Remove {symbol} from the watchlist")
                    title="Remove from the watchlist (Delete)"
                >
                    "×"
                </button>
            </td>
        </tr>
    }
}
