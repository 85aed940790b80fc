//! The watchlist's own features in the browser: a sparkline per row; the keyboard (arrows,
//! Home and End move the selection and the focus, Tab reaches the selected row's remove button,
//! Enter presses it, Delete removes a row); the selection handed to a neighbour when its symbol
//! goes; the list kept across a reload; symbols added back with the picker, by keyboard.

use anyhow::{Result, ensure};
use fantoccini::{Client, Locator, key::Key};
use serde_json::{Value, json};

use super::{keys::press, wait_for_script};

/// The watchlist as the test sees it.
const WATCHLIST: &str = r#"
const rows = [...document.querySelectorAll('tbody tr')];
const active = document.activeElement;
const points = row => (row.querySelector('td.trend polyline')?.getAttribute('points') || '');
return {
    state: document.querySelector('[data-testid=connection]')?.dataset.state,
    rows: rows.map(row => row.dataset.symbol),
    priced: rows.filter(row => !row.querySelector('[data-testid=last]').textContent.includes('—')).length,
    selected: document.querySelector('tbody tr[aria-current=true]')?.dataset.symbol ?? null,
    focused: active?.closest('tr')?.dataset.symbol ?? null,
    focusedTag: active?.tagName ?? null,
    tabStops: rows.filter(row => row.tabIndex === 0).length,
    sparklines: rows.filter(row => points(row).split(' ').length >= 2).length,
    chartSymbol: document.querySelector('[data-testid=chart-symbol]')?.textContent ?? null,
    options: [...document.querySelectorAll('[data-testid=add-symbol] option')].map(o => o.value),
    stored: localStorage.getItem('ticker.watchlist'),
};
"#;

async fn wait(client: &Client, what: &str, check: impl Fn(&Value) -> bool) -> Result<Value> {
    wait_for_script(client, what, WATCHLIST, Vec::new(), check).await
}

fn names(state: &Value, field: &str) -> Vec<String> {
    state[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The selection, the focus and the chart all on `symbol`, and one tab stop in the list.
fn on(state: &Value, symbol: &str) -> bool {
    state["selected"] == symbol
        && state["focused"] == symbol
        && state["chartSymbol"] == symbol
        && state["tabStops"] == 1
}

/// Waits until every one of `symbols` rows shows its sparkline.
pub async fn sparklines_drawn(client: &Client, symbols: usize) -> Result<Value> {
    wait(client, "every row has a sparkline", |s| {
        names(s, "rows").len() == symbols && s["sparklines"].as_u64() == Some(symbols as u64)
    })
    .await
}

/// Runs the watchlist checks on a page showing every one of `symbols` symbols; leaves it so.
pub async fn check(client: &Client, symbols: usize) -> Result<Value> {
    let full = sparklines_drawn(client, symbols).await?;
    let order = names(&full, "rows");
    ensure!(order.len() >= 4, "too few rows to move through: {order:?}");
    println!("e2e | every row has a sparkline");

    // A person clicks a row, then moves with the keyboard.
    let second = order[1].clone();
    client
        .find(Locator::Css(&format!("tr[data-symbol='{second}']")))
        .await?
        .click()
        .await?;
    wait(client, "the clicked row is selected and focused", |s| {
        on(s, &second)
    })
    .await?;
    let last = order[order.len() - 1].clone();
    for (key, expected) in [
        (Key::Down, &order[2]),
        (Key::Up, &order[1]),
        (Key::End, &last),
        (Key::Home, &order[0]),
        (Key::Up, &order[0]),
    ] {
        press(client, key).await?;
        wait(
            client,
            &format!("{key:?} selects and focuses {expected}"),
            |s| on(s, expected),
        )
        .await?;
    }
    println!("e2e | arrows, Home and End move the selection and the focus; one tab stop");

    // The selected (top) row: Tab reaches its remove button, Enter presses it, and the
    // selection and the focus go to the next row. Delete removes that one too.
    let (first, next, after) = (order[0].clone(), order[1].clone(), order[2].clone());
    press(client, Key::Tab).await?;
    wait(client, "Tab reaches the row's remove button", |s| {
        s["focusedTag"] == "BUTTON" && s["focused"] == first.as_str()
    })
    .await?;
    press(client, Key::Enter).await?;
    wait(
        client,
        "the removed symbol hands over to the next row",
        |s| {
            !names(s, "rows").contains(&first)
                && on(s, &next)
                && names(s, "options").contains(&first)
        },
    )
    .await?;
    press(client, Key::Delete).await?;
    let removed = wait(client, "Delete removes the selected row", |s| {
        !names(s, "rows").contains(&next) && on(s, &after)
    })
    .await?;
    let stored = removed["stored"].as_str().unwrap_or_default().to_owned();
    ensure!(
        !stored.split(',').any(|s| s == first || s == next),
        "the stored list still names a removed symbol: {stored}"
    );
    println!("e2e | Enter on a row's remove button and Delete remove symbols");

    client.refresh().await?;
    let reloaded = wait(client, "the shorter list is kept across a reload", |s| {
        s["state"] == "live"
            && names(s, "rows").len() == symbols - 2
            && s["priced"].as_u64() == Some(symbols as u64 - 2)
            && names(s, "options") == [first.clone(), next.clone()]
    })
    .await?;
    ensure!(
        !names(&reloaded, "rows").contains(&first),
        "{first} is back after the reload"
    );
    println!("e2e | the watchlist is kept across a reload");

    // Back with the picker: choose, then Enter on the Add button.
    for symbol in [&next, &first] {
        client
            .find(Locator::Css("[data-testid=add-symbol]"))
            .await?
            .select_by_value(symbol)
            .await?;
        client
            .find(Locator::Css("[data-testid=add-button]"))
            .await?
            .send_keys(&Key::Enter.to_string())
            .await?;
        wait(client, &format!("{symbol} is added and selected"), |s| {
            names(s, "rows").contains(symbol) && s["selected"] == symbol.as_str()
        })
        .await?;
    }
    let restored = wait(client, "every symbol is back, in the server's order", |s| {
        names(s, "rows") == order && s["priced"].as_u64() == Some(symbols as u64)
    })
    .await?;
    ensure!(
        names(&restored, "options").is_empty(),
        "the picker still offers {:?}",
        names(&restored, "options")
    );
    println!("e2e | symbols added back with the picker (keyboard), in the server's order");
    Ok(json!({ "rows": symbols, "removed_and_added": [first, next] }))
}
