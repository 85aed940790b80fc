//! A hidden tab and a sleeping machine, in the browser, through a proxy that can turn the
//! page's connection into a zombie (it stops forwarding without closing; see `zombie.rs`).
//!
//! The page is hidden for real by opening a second tab (headless Chromium then reports
//! `visibilityState` `hidden` and stops animation frames) and shown again by switching back.
//! - Hidden: no row, sparkline or chart is drawn (a MutationObserver sees nothing while hidden)
//!   but data is applied; shown again, the current state is drawn at once.
//! - A zombie while hidden: shown again, the app checks the link, finds it dead and reconnects
//!   and resumes by sequence number, in about the check's deadline instead of the watchdog's
//!   three heartbeats. A wake from sleep (the wall clock jumps an hour ahead of the page's
//!   timers, as after a suspend) does the same. Left alone, the watchdog gets there too.
//!
//! Afterwards: no gap and no duplicate.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{page, wait_for_page, wait_until, watchlist_full};
use crate::zombie::ZombieProxy;

/// Logs the page's visibility changes (with the figures at that moment) and every watchlist
/// mutation made while hidden.
const WATCH_VISIBILITY: &str = r#"
const log = window.__visibility = { changes: [], hiddenMutations: 0 };
const metrics = () => window.__ticker || {};
document.addEventListener('visibilitychange', () => log.changes.push({
    state: document.visibilityState,
    ticksApplied: metrics().ticksApplied || 0,
    chartPaints: metrics().chartPaints || 0,
}));
new MutationObserver(records => {
    if (document.visibilityState === 'hidden') log.hiddenMutations += records.length;
}).observe(document.querySelector('tbody'), {
    subtree: true, childList: true, characterData: true, attributes: true,
});
"#;

/// Moves the page's wall clock (`Date.now`) `arguments[0]` ms ahead, or back to the real one
/// with 0: to the page's timers the machine seems to have slept that long.
const JUMP_CLOCK: &str = r#"
const ahead = arguments[0];
if (!window.__realNow) window.__realNow = Date.now;
const real = window.__realNow;
Date.now = ahead ? () => real() + ahead : real;
"#;

fn metric(state: &Value, name: &str) -> f64 {
    state[name].as_f64().unwrap_or(0.0)
}

/// The page's own counters (`window.__ticker`).
async fn counters(client: &Client) -> Result<Value> {
    Ok(client
        .execute("return window.__ticker || {}", Vec::new())
        .await?)
}

/// Hides the page behind a new tab; returns the page's window handle.
async fn hide(client: &Client) -> Result<fantoccini::wd::WindowHandle> {
    let dashboard = client.window().await?;
    let other = client.new_window(true).await?;
    client.switch_to_window(other.handle).await?;
    Ok(dashboard)
}

/// Closes the other tab and shows the page again.
async fn show(client: &Client, dashboard: fantoccini::wd::WindowHandle) -> Result<()> {
    client.close_window().await?;
    client.switch_to_window(dashboard).await?;
    Ok(())
}

/// Waits until the page is live on a session newer than `sessions`; returns how long it took.
async fn reconnected(client: &Client, sessions: f64, what: &str) -> Result<Duration> {
    let started = Instant::now();
    wait_until(what, || async {
        Ok(metric(&counters(client).await?, "sessions") > sessions)
    })
    .await?;
    wait_for_page(client, what, |s| s["state"] == "live").await?;
    Ok(started.elapsed())
}

/// Runs the hidden-tab and wake checks on a fresh page behind a zombie proxy to the server.
pub async fn check(client: &Client, server_port: u16, symbols: usize) -> Result<Value> {
    let proxy = ZombieProxy::start(server_port).await?;
    client
        .goto(&format!("http://127.0.0.1:{}/", proxy.port))
        .await?;
    wait_for_page(client, "the page behind the proxy is live and full", |s| {
        s["state"] == "live" && watchlist_full(s, symbols)
    })
    .await?;
    client.execute(WATCH_VISIBILITY, Vec::new()).await?;

    // Hidden on a healthy link: data is applied, nothing is drawn.
    let dashboard = hide(client).await?;
    let forwarded = proxy.forwarded_to_browser();
    wait_until("the hidden page receives data", || async {
        Ok(proxy.forwarded_to_browser() > forwarded + 16 * 1024)
    })
    .await?;
    show(client, dashboard).await?;
    let drawn = visibility_log(client).await?;
    let changes = drawn["changes"].as_array().cloned().unwrap_or_default();
    ensure!(
        changes.len() >= 2 && changes[0]["state"] == "hidden" && changes[1]["state"] == "visible",
        "the page was not hidden and shown: {drawn}"
    );
    let applied_hidden = metric(&changes[1], "ticksApplied") - metric(&changes[0], "ticksApplied");
    ensure!(
        applied_hidden > 0.0,
        "no data was applied while hidden: {drawn}"
    );
    ensure!(
        drawn["hiddenMutations"] == 0 && changes[1]["chartPaints"] == changes[0]["chartPaints"],
        "the page drew while hidden: {drawn}"
    );
    let before = page(client).await?;
    wait_for_page(
        client,
        "shown again, the page draws the current state",
        |s| {
            s["rows"] != before["rows"]
                && metric(s, "chartPaints") > metric(&changes[1], "chartPaints")
        },
    )
    .await?;
    println!(
        "e2e | hidden: {applied_hidden} ticks applied, no row or chart drawn; drawn again when shown"
    );

    // A zombie while hidden: shown again, the check finds it dead at once.
    let sessions = metric(&counters(client).await?, "sessions");
    let dashboard = hide(client).await?;
    let frozen = proxy.freeze().await?;
    ensure!(frozen >= 1, "no connection to freeze");
    show(client, dashboard).await?;
    let on_visible =
        reconnected(client, sessions, "shown again, the app replaces the zombie").await?;
    let counted = counters(client).await?;
    ensure!(
        metric(&counted, "visibleChecks") >= 2.0 && metric(&counted, "deadLinksFound") >= 1.0,
        "the reconnect did not come from the visibility check: {counted}"
    );
    println!("e2e | zombie found on becoming visible: live again after {on_visible:?}");

    // A wake from sleep: the wall clock jumps an hour ahead while the link is a zombie.
    let sessions = metric(&counted, "sessions");
    proxy.freeze().await?;
    client.execute(JUMP_CLOCK, vec![json!(3_600_000)]).await?;
    let on_wake = reconnected(
        client,
        sessions,
        "after the jump, the app replaces the zombie",
    )
    .await;
    client.execute(JUMP_CLOCK, vec![json!(0)]).await?;
    let on_wake = on_wake?;
    let counted = counters(client).await?;
    ensure!(
        metric(&counted, "wakeChecks") >= 1.0,
        "the reconnect did not come from the wake check: {counted}"
    );
    println!("e2e | zombie found after a wall-clock jump (wake): live again after {on_wake:?}");

    // Left alone: the watchdog notices after three silent heartbeats.
    let sessions = metric(&counted, "sessions");
    proxy.freeze().await?;
    let by_watchdog = reconnected(client, sessions, "the watchdog replaces the zombie").await?;
    let counted = counters(client).await?;
    ensure!(
        metric(&counted, "watchdogEnds") >= 1.0,
        "the watchdog did not end the zombie: {counted}"
    );
    println!("e2e | zombie left alone: the watchdog reconnected after {by_watchdog:?}");

    let mark = metric(&page(client).await?, "ticksApplied");
    let settled = wait_for_page(client, "ticks keep coming after the reconnects", |s| {
        metric(s, "ticksApplied") > mark + 500.0 && watchlist_full(s, symbols)
    })
    .await?;
    ensure!(
        settled["gaps"] == 0 && settled["duplicates"] == 0,
        "the reconnects lost or repeated ticks: {settled}"
    );
    println!(
        "e2e | {} connections through the proxy; 0 gaps, 0 duplicates",
        proxy.accepted()
    );
    Ok(json!({
        "ticks_applied_while_hidden": applied_hidden,
        "reconnect_after_visible_ms": on_visible.as_millis() as u64,
        "reconnect_after_wake_ms": on_wake.as_millis() as u64,
        "reconnect_by_watchdog_ms": by_watchdog.as_millis() as u64,
        "gaps": settled["gaps"],
        "duplicates": settled["duplicates"],
    }))
}

async fn visibility_log(client: &Client) -> Result<Value> {
    client
        .execute("return window.__visibility", Vec::new())
        .await
        .context("reading the visibility log")
}
