//! Per-symbol staleness in the browser: the server's admin knob (`--enable-admin`) stalls one
//! symbol's feed; its row is marked stale (a visible badge and `data-stale`) while the
//! connection stays live and the other rows keep ticking; unstalled, the mark clears.

use anyhow::{Result, ensure};
use fantoccini::Client;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::wait_for_script;

/// One row's staleness and the rest of the watchlist, for the symbol `arguments[0]`.
const STALENESS: &str = r#"
const symbol = arguments[0];
const rows = [...document.querySelectorAll('tbody tr')];
const row = rows.find(r => r.dataset.symbol === symbol);
const badge = row?.querySelector('[data-testid=stale]');
const others = rows.filter(r => r !== row);
return {
    state: document.querySelector('[data-testid=connection]')?.dataset.state,
    stale: row?.dataset.stale ?? null,
    badge: badge && getComputedStyle(badge).display !== 'none' ? badge.textContent : null,
    othersStale: others.filter(r => r.dataset.stale === 'true').length,
    othersPrices: others.map(r => r.querySelector('[data-testid=last]').textContent).join(' '),
};
"#;

/// Asks the server to stall or unstall `symbol` (`action` is `stall` or `unstall`), from the
/// page, as the same origin.
async fn admin(client: &Client, action: &str, symbol: &str) -> Result<()> {
    let status = client
        .execute(
            "return fetch(`/admin/${arguments[0]}/${arguments[1]}`, { method: 'POST' }).then(r => r.status)",
            vec![json!(action), json!(symbol)],
        )
        .await?;
    ensure!(
        status == 200,
        "POST /admin/{action}/{symbol} answered {status}"
    );
    Ok(())
}

/// Stalls the watchlist's top symbol and checks its mark, then clears it.
pub async fn check(client: &Client) -> Result<Value> {
    let top = client
        .execute(
            "return document.querySelector('tbody tr')?.dataset.symbol",
            Vec::new(),
        )
        .await?;
    let symbol = top.as_str().unwrap_or("AAPL").to_owned();
    let read = |what: &'static str, check: fn(&Value) -> bool| {
        let args = vec![json!(symbol)];
        async move { wait_for_script(client, what, STALENESS, args, check).await }
    };
    let before = read("the row is fresh", |s| s["stale"] == "false").await?;
    admin(client, "stall", &symbol).await?;
    let stalled = Instant::now();
    let marked = read(
        "the stalled symbol is marked stale, alone, on a live connection",
        |s| {
            s["stale"] == "true"
                && s["badge"] == "stale"
                && s["othersStale"] == 0
                && s["state"] == "live"
        },
    )
    .await?;
    let marked_after = stalled.elapsed();
    ensure!(
        marked["othersPrices"] != before["othersPrices"],
        "the other symbols stopped too"
    );
    println!("e2e | {symbol} stalled: marked stale after {marked_after:?}, the others tick on");
    admin(client, "unstall", &symbol).await?;
    let unstalled = Instant::now();
    read("the mark clears once the symbol ticks again", |s| {
        s["stale"] == "false" && s["badge"].is_null()
    })
    .await?;
    let cleared_after = unstalled.elapsed();
    println!("e2e | {symbol} unstalled: the mark cleared after {cleared_after:?}");
    Ok(json!({
        "symbol": symbol,
        "marked_stale_after_ms": marked_after.as_millis() as u64,
        "cleared_after_ms": cleared_after.as_millis() as u64,
    }))
}
