//! The SSE fallback in the browser: behind a proxy that blocks WebSockets the app moves to
//! Server-Sent Events by itself and back to the WebSocket once allowed.

use anyhow::{Result, ensure};
use fantoccini::Client;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{prices, wait_for_page, watchlist_full};
use crate::blocker::WebSocketBlocker;

/// The same page behind a proxy that blocks WebSockets: the app falls back to SSE by itself,
/// keeps ticking on it, and moves back to the WebSocket once the proxy lets it through, with no
/// gap and no duplicate across the switches.
pub(super) async fn sse_fallback(
    client: &Client,
    server_port: u16,
    symbols: usize,
) -> Result<Value> {
    let proxy = WebSocketBlocker::start(server_port).await?;
    let opened = Instant::now();
    client
        .goto(&format!("http://127.0.0.1:{}/", proxy.port))
        .await?;
    let on_sse = wait_for_page(client, "the app falls back to SSE and is live", |s| {
        s["state"] == "live" && s["transport"] == "sse" && watchlist_full(s, symbols)
    })
    .await?;
    let fell_back_after = opened.elapsed();
    println!("e2e | WebSockets blocked: live over SSE after {fell_back_after:?}");
    let before = prices(&on_sse);
    wait_for_page(client, "a price changes over SSE", |s| {
        s["transport"] == "sse" && prices(s) != before
    })
    .await?;
    println!("e2e | prices move over SSE");
    super::chat::receive_only(client, server_port).await?;

    proxy.unblock();
    let unblocked = Instant::now();
    let upgraded = wait_for_page(client, "the app moves back to the WebSocket", |s| {
        s["state"] == "live" && s["transport"] == "websocket"
    })
    .await?;
    let upgraded_after = unblocked.elapsed();
    super::chat::can_send_again(client).await?;
    let mark = upgraded["ticksApplied"].as_f64().unwrap_or(0.0);
    let settled = wait_for_page(client, "ticks keep coming on the WebSocket", |s| {
        s["ticksApplied"].as_f64() > Some(mark + 100.0)
    })
    .await?;
    ensure!(
        settled["gaps"] == 0 && settled["duplicates"] == 0,
        "the switches lost or repeated ticks: {settled}"
    );
    println!(
        "e2e | back on the WebSocket {upgraded_after:?} after unblocking; 0 gaps, 0 duplicates"
    );
    Ok(json!({
        "fell_back_after_ms": fell_back_after.as_millis() as u64,
        "upgraded_back_after_ms": upgraded_after.as_millis() as u64,
        "gaps": settled["gaps"],
        "duplicates": settled["duplicates"],
    }))
}
