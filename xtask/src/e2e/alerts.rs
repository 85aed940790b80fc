//! Price alerts driven through the form like a person would: refused rules explain themselves
//! (unknown symbol, a price that is not positive, one rule too many), a rule that fires shows a
//! toast and a browser notification, and rules outlive a reload and a server restart.

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use ticker_shared::alert::MAX_ALERTS_PER_CONNECTION;

use super::{cdp, wait_for_script};

/// The alerts panel as the page shows it.
const ALERTS_STATE: &str = r#"
const m = window.__ticker || {};
const panel = document.querySelector('#alerts');
return {
    error: panel.querySelector('[data-testid=alert-error]').textContent,
    rules: [...panel.querySelectorAll('.alert-list li')].map(li => ({
        rule: li.dataset.alert,
        status: li.dataset.status,
    })),
    toasts: [...document.querySelectorAll('[data-testid=toast]')].map(t => t.textContent),
    notify: panel.querySelector('[data-testid=notify-state]').textContent,
    fired: m.alertsFired || 0,
    notifications: m.notificationsShown || 0,
    last: Object.fromEntries([...document.querySelectorAll('tbody tr')].map(row =>
        [row.dataset.symbol, row.querySelector('[data-testid=last]').textContent])),
};
"#;

async fn wait_for_alerts(
    client: &Client,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    wait_for_script(client, what, ALERTS_STATE, Vec::new(), check).await
}

/// Fills the form and submits it.
async fn set_alert(client: &Client, symbol: &str, condition: &str, price: &str) -> Result<()> {
    let field = |name: &str| {
        let css = format!("#alerts [name={name}]");
        async move { client.find(Locator::Css(&css)).await }
    };
    let symbol_field = field("symbol").await?;
    symbol_field.clear().await?;
    symbol_field.send_keys(symbol).await?;
    field("condition").await?.select_by_value(condition).await?;
    let price_field = field("price").await?;
    price_field.clear().await?;
    price_field.send_keys(price).await?;
    client
        .find(Locator::Css("[data-testid=alert-add]"))
        .await?
        .click()
        .await?;
    Ok(())
}

fn rules(state: &Value) -> Vec<(String, String)> {
    state["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (text("rule"), text("status"))
        })
        .collect()
}

fn error(state: &Value) -> &str {
    state["error"].as_str().unwrap_or_default()
}

/// The last price of `symbol` in the watchlist, in cents.
fn last_cents(state: &Value, symbol: &str) -> Option<i64> {
    let text = state["last"][symbol].as_str()?.replace(',', "");
    let (units, cents) = text.split_once('.')?;
    Some(units.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

fn price_text(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Removes every rule through its × button (a click per rule a connection may hold, at most:
/// a button that stays after its click fails the wait below rather than spinning here).
async fn remove_all(client: &Client) -> Result<()> {
    for _ in 0..MAX_ALERTS_PER_CONNECTION {
        let Ok(button) = client.find(Locator::Css("#alerts [data-remove]")).await else {
            break;
        };
        button.click().await?;
    }
    wait_for_alerts(client, "no rules left", |s| rules(s).is_empty()).await?;
    Ok(())
}

/// Runs the alerts steps on `origin`'s page; returns the figures for the report.
pub async fn check(client: &Client, origin: &str) -> Result<Value> {
    cdp::execute(
        client,
        "Browser.grantPermissions",
        json!({ "origin": origin, "permissions": ["notifications"] }),
    )
    .await?;
    // The page reads the permission when it shows the panel: a focus does.
    client
        .find(Locator::Css("#alerts [name=price]"))
        .await?
        .click()
        .await?;
    remove_all(client).await?;

    set_alert(client, "ZZZZ", "above", "10").await?;
    let unknown = wait_for_alerts(client, "an unknown symbol is refused", |s| {
        error(s).contains("unknown symbol ZZZZ")
    })
    .await?;
    set_alert(client, "MSFT", "above", "0").await?;
    let zero = wait_for_alerts(client, "a price of 0 is refused", |s| {
        error(s).contains("must be above 0.00")
    })
    .await?;
    ensure!(
        rules(&zero).is_empty(),
        "refused rules are not kept: {zero}"
    );
    println!(
        "e2e | alerts: refused with {:?} and {:?}",
        error(&unknown),
        error(&zero)
    );

    // As many rules as a connection may hold, then one more.
    for i in 0..20 {
        set_alert(client, "MSFT", "above", &format!("{}", 90_000 + i)).await?;
    }
    wait_for_alerts(client, "twenty rules watched by the server", |s| {
        let rules = rules(s);
        rules.len() == 20 && rules.iter().all(|(_, status)| status == "watching")
    })
    .await?;
    set_alert(client, "MSFT", "above", "99999").await?;
    let too_many = wait_for_alerts(client, "the twenty-first rule is refused", |s| {
        error(s).contains("at most 20 alerts")
    })
    .await?;
    println!(
        "e2e | alerts: 20 rules watched; the 21st refused: {:?}",
        error(&too_many)
    );
    remove_all(client).await?;

    // A rule that holds at once fires on the next trade: a toast and a notification.
    let before = wait_for_alerts(client, "a last price for MSFT", |s| {
        last_cents(s, "MSFT").is_some()
    })
    .await?;
    let last = last_cents(&before, "MSFT").context("MSFT's last price")?;
    let threshold = price_text(last + 100);
    set_alert(client, "MSFT", "below", &threshold).await?;
    let fired = wait_for_alerts(client, "the alert fires", |s| {
        s["fired"].as_f64() > before["fired"].as_f64()
            && rules(s).is_empty()
            && s["toasts"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t.as_str().is_some_and(|t| t.contains("MSFT at or below")))
            })
    })
    .await?;
    ensure!(
        fired["notifications"].as_f64() > before["notifications"].as_f64(),
        "no browser notification was shown (permission: {})",
        fired["notify"]
    );
    println!(
        "e2e | alerts: MSFT ≤ {threshold} fired: {}",
        fired["toasts"]
    );

    // A rule that will not fire outlives a reload: kept, sent again, watched again.
    let far = price_text(last * 3);
    set_alert(client, "MSFT", "above", &far).await?;
    wait_for_alerts(client, "the far rule is watched", |s| {
        rules(s).iter().any(|(_, status)| status == "watching")
    })
    .await?;
    client.refresh().await?;
    wait_for_alerts(client, "the rule is watched again after a reload", |s| {
        rules(s) == [(format!("MSFT ≥ {far}"), "watching".to_owned())]
    })
    .await?;
    println!("e2e | alerts: MSFT ≥ {far} kept across a reload and watched again");
    Ok(json!({
        "refused": [error(&unknown), error(&zero), error(&too_many)],
        "fired": fired["toasts"],
        "notifications": fired["notifications"],
    }))
}

/// After the server restarted: the kept rule is registered with the new instance.
pub async fn after_restart(client: &Client) -> Result<()> {
    wait_for_alerts(client, "the rule is watched by the restarted server", |s| {
        let rules = rules(s);
        rules.len() == 1 && rules[0].1 == "watching"
    })
    .await?;
    remove_all(client).await?;
    println!("e2e | alerts: the kept rule was registered with the restarted server");
    Ok(())
}
