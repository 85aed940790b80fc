//! The watchlist: one row per symbol with live figures; a price flashes when it moves; clicking
//! (or Enter on) a row selects it for the chart; clicking a column's header sorts by it.

use leptos::{ev, prelude::*};
use ticker_shared::price::format_bps;

use crate::{
    format,
    signals::{Row, Signals},
    sorting::{self, Column, Sort},
    state::{Direction, QuoteRow},
};

/// The table of every symbol.
#[component]
pub fn Watchlist() -> impl IntoView {
    let signals = expect_context::<Signals>();
    let sort = RwSignal::new(None::<Sort>);
    let ordered = move || {
        let rows = signals.rows.get();
        let Some(current) = sort.get() else {
            return rows;
        };
        let figures: Vec<_> = rows
            .iter()
            .map(|row| (row.info.clone(), row.quote.get()))
            .collect();
        sorting::order(&figures, Some(current))
            .into_iter()
            .map(|index| rows[index].clone())
            .collect()
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
                        {header("Last", Column::Last, "num")}
                        {header("Chg", Column::Change, "num")}
                        {header("Chg %", Column::ChangePercent, "num")}
                        {header("High", Column::High, "num hide-narrow")}
                        {header("Low", Column::Low, "num hide-narrow")}
                        {header("Volume", Column::Volume, "num")}
                    </tr>
                </thead>
                <tbody>
                    <For each=ordered key=|row| row.info.symbol.clone() let:row>
                        <WatchRow row=row />
                    </For>
                </tbody>
            </table>
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
    let select = {
        let symbol = symbol.clone();
        move || signals.selected.set(Some(symbol.clone()))
    };
    let on_click = {
        let select = select.clone();
        move |_: ev::MouseEvent| select()
    };
    let on_key = move |event: ev::KeyboardEvent| {
        if event.key() == "Enter" || event.key() == " " {
            event.prevent_default();
            select();
        }
    };
    let cell = move |text: fn(&QuoteRow) -> String| {
        move || quote.with(|q| q.as_ref().map_or_else(|| "—".to_owned(), text))
    };
    view! {
        <tr
            class:selected=is_selected.clone()
            aria-selected=move || is_selected().to_string()
            tabindex="0"
            data-symbol=symbol.to_string()
            on:click=on_click
            on:keydown=on_key
        >
            <th scope="row" class="symbol">{symbol.to_string()}</th>
            <td class="name">{row.info.name.clone()}</td>
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
        </tr>
    }
}
