//! Sorting the watchlist by a column's header, both ways and back to the server's order.

use anyhow::Result;
use fantoccini::{Client, Locator};
use serde_json::Value;

use super::{page, rows, wait_for_page};

/// Clicking the Last header sorts the watchlist by price, largest first, then the other way,
/// then back to the server's order.
pub(super) async fn sorting(client: &Client) -> Result<()> {
    let server_order = symbols_in_order(&page(client).await?);
    let last_header = || client.find(Locator::Css("button.sort[data-column='Last']"));
    for (what, descending) in [("largest first", true), ("smallest first", false)] {
        last_header().await?.click().await?;
        wait_for_page(
            client,
            &format!("the watchlist sorted by price, {what}"),
            |s| {
                let prices = last_prices(s);
                prices.len() > 1
                    && prices
                        .windows(2)
                        .all(|pair| (pair[0] >= pair[1]) == descending || pair[0] == pair[1])
            },
        )
        .await?;
    }
    last_header().await?.click().await?;
    wait_for_page(client, "the server's order again", |s| {
        symbols_in_order(s) == server_order
    })
    .await?;
    println!("e2e | the watchlist sorts by price both ways and back");
    Ok(())
}

/// The watchlist's last prices, top to bottom, as numbers (rows without one left out).
fn last_prices(state: &Value) -> Vec<f64> {
    rows(state)
        .filter_map(|row| row["last"].as_str()?.replace(',', "").parse().ok())
        .collect()
}

/// The watchlist's symbols, top to bottom.
fn symbols_in_order(state: &Value) -> Vec<String> {
    rows(state)
        .filter_map(|row| row["symbol"].as_str().map(str::to_owned))
        .collect()
}
