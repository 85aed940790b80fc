//! The browser end-to-end test: the real server serving the built dashboard to headless
//! Chromium, driven through ChromeDriver like a person would use it.
//!
//! It checks that the watchlist fills and prices move, that selecting a symbol and an interval
//! paints candles on the canvas (pixels, not just the element), that the app reconnects by
//! itself after the server restarts, and that behind a proxy that blocks WebSockets it falls
//! back to Server-Sent Events and returns to the WebSocket once allowed. It saves
//! `docs/screenshot.png` and prints the page's own measurements (time to first painted tick,
//! latency, tick rate, frame times and long tasks at 50 symbols × 10 ticks/s, fallback and
//! upgrade times). The steps of the watchlist and accessibility features live in `e2e/`, one
//! module each, called from [`scenario`].

use std::{path::Path, time::Duration};

mod alerts;
mod cdp;
mod chart;
mod chat;
mod fallback;
mod harness;
mod keys;
mod lifecycle;
mod look;
mod motion;
mod sorting;
mod staleness;
mod watchlist;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use self::harness::{ChromeDriver, Server, free_port};

/// Longest wait for any one condition.
const DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two looks at the page while waiting for a condition.
const POLL: Duration = Duration::from_millis(100);

/// Runs the browser test on its own Tokio runtime.
pub fn run(root: &Path) -> Result<()> {
    ensure!(
        root.join("dist/index.html").is_file(),
        "dist/ is not built; run `cargo xtask build` first"
    );
    crate::cmd::Cmd::new("cargo")
        .args(["build", "--package", "ticker-server"])
        .run()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let port = free_port().await?;
        let mut server = Server::start(root, port).await?;
        let driver = ChromeDriver::start().await?;
        let client = driver.client().await?;
        let outcome = scenario(&client, &mut server, root).await;
        if outcome.is_err() {
            let _ = look::save_screenshot(&client, &root.join("target/e2e-failure.png")).await;
        }
        let _ = client.close().await;
        outcome
    })
}

/// Polls `check` until it returns true, failing after [`DEADLINE`].
async fn wait_until<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = Instant::now();
    loop {
        if check().await? {
            return Ok(());
        }
        if started.elapsed() > DEADLINE {
            bail!("timed out after {DEADLINE:?} waiting until {what}");
        }
        sleep(POLL).await;
    }
}

/// Everything the test reads from the page in one round trip.
const PAGE_STATE: &str = r#"
const rows = [...document.querySelectorAll('tbody tr')].map(row => ({
    symbol: row.dataset.symbol,
    last: row.querySelector('[data-testid=last]').textContent,
}));
const metrics = window.__ticker || {};
const pressed = document.querySelector('button[data-group=interval][aria-pressed=true]');
return {
    state: document.querySelector('[data-testid=connection]')?.dataset.state,
    transport: document.querySelector('[data-testid=transport]')?.dataset.transport,
    rows,
    chartSymbol: document.querySelector('[data-testid=chart-symbol]')?.textContent,
    interval: pressed ? pressed.dataset.choice : null,
    chartPaints: metrics.chartPaints || 0,
    firstTickPaintMs: metrics.firstTickPaintMs,
    resets: metrics.resets || 0,
    ticksApplied: metrics.ticksApplied || 0,
    binaryFrames: metrics.binaryFrames || 0,
    themeChoice: document.querySelector('[data-testid=theme]')?.dataset.choice,
    theme: document.documentElement.dataset.themeEffective,
    background: getComputedStyle(document.body).backgroundColor,
    pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
    tableOverflow: (() => {
        const list = document.querySelector('.watchlist');
        return list ? list.querySelector('table').scrollWidth - list.clientWidth : 0;
    })(),
    gaps: metrics.gaps || 0,
    wasmMemoryBytes: metrics.wasmMemoryBytes || 0,
    duplicates: metrics.duplicates || 0,
    latency: document.querySelector('[data-testid=latency]')?.textContent,
    tickRate: document.querySelector('[data-testid=tick-rate]')?.textContent,
};
"#;

/// Counts the chart's pixels in the candle colours (read back from the canvas, so only what was
/// really painted counts). Kept apart from [`PAGE_STATE`]: reading a canvas back is expensive.
const CANDLE_PIXELS: &str = r#"
const canvas = document.querySelector('[data-testid=chart]');
if (!canvas || canvas.width === 0) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
// The up and down colours of both palettes (components/chart.rs): dark, then light.
const colours = [[0x26, 0xa6, 0x9a], [0xef, 0x53, 0x50], [0x0f, 0x8a, 0x7e], [0xd9, 0x3a, 0x37]];
let count = 0;
for (let i = 0; i < data.length; i += 4) {
    if (colours.some(([r, g, b]) => data[i] === r && data[i + 1] === g && data[i + 2] === b)) count++;
}
return count;
"#;

/// Frame times from `requestAnimationFrame` over five seconds, and the long tasks (over 50 ms,
/// from the Long Tasks API) in that time, as the page itself measures them.
const FRAME_TIMES: &str = r#"
const done = arguments[arguments.length - 1];
const long = [];
const observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) long.push(entry.duration);
});
try { observer.observe({ type: 'longtask' }); } catch (e) { /* not supported: none counted */ }
const deltas = [];
let last = performance.now();
const end = last + 5000;
function step(now) {
    deltas.push(now - last);
    last = now;
    if (now < end) { requestAnimationFrame(step); return; }
    observer.disconnect();
    deltas.sort((a, b) => a - b);
    const at = q => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))];
    done({
        frames: deltas.length,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: deltas[deltas.length - 1],
        long_tasks: long.length,
        longest_task_ms: long.length ? Math.max(...long) : 0,
    });
}
requestAnimationFrame(step);
"#;

async fn frame_times(client: &Client) -> Result<Value> {
    Ok(client.execute_async(FRAME_TIMES, Vec::new()).await?)
}

async fn page(client: &Client) -> Result<Value> {
    Ok(client.execute(PAGE_STATE, Vec::new()).await?)
}

async fn candle_pixels(client: &Client) -> Result<u64> {
    Ok(client
        .execute(CANDLE_PIXELS, Vec::new())
        .await?
        .as_u64()
        .unwrap_or(0))
}

/// Reads a state with `read` until `check` accepts it, failing after [`DEADLINE`].
async fn wait_for<F, Fut>(what: &str, mut read: F, check: impl Fn(&Value) -> bool) -> Result<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let started = Instant::now();
    loop {
        let state = read().await?;
        if check(&state) {
            return Ok(state);
        }
        if started.elapsed() > DEADLINE {
            bail!("timed out after {DEADLINE:?} waiting until {what}; state: {state}");
        }
        sleep(POLL).await;
    }
}

async fn wait_for_page(
    client: &Client,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    wait_for(what, || page(client), check).await
}

/// Runs `script` (with `args`) until what it returns passes `check`, failing after
/// [`DEADLINE`]; returns that value.
async fn wait_for_script(
    client: &Client,
    what: &str,
    script: &str,
    args: Vec<Value>,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let read = || async { Ok(client.execute(script, args.clone()).await?) };
    wait_for(what, read, check).await
}

/// The `rows` of a page state (the watchlist's, or the chat's messages), top to bottom.
fn rows(state: &Value) -> impl Iterator<Item = &Value> {
    state["rows"].as_array().into_iter().flatten()
}

fn prices(state: &Value) -> Vec<String> {
    rows(state).map(|r| r["last"].to_string()).collect()
}

fn watchlist_full(state: &Value, symbols: usize) -> bool {
    let rows = prices(state);
    rows.len() == symbols && rows.iter().all(|last| !last.contains('—'))
}

async fn scenario(client: &Client, server: &mut Server, root: &Path) -> Result<()> {
    let opened = Instant::now();
    client.goto(&server.url()).await?;
    let health = client
        .execute("return fetch('/healthz').then(r => r.json())", Vec::new())
        .await?;
    let symbols = health["symbols"]
        .as_u64()
        .context("/healthz names the symbol count")? as usize;
    let state = wait_for_page(client, "the app is live", |s| s["state"] == "live").await?;
    println!("e2e | live after {:?}", opened.elapsed());
    let full = wait_for_page(client, "the watchlist is full", |s| {
        watchlist_full(s, symbols)
    })
    .await?;
    println!(
        "e2e | watchlist of {symbols} filled after {:?}",
        opened.elapsed()
    );
    let before = prices(&full);
    wait_for_page(client, "a price changes", |s| prices(s) != before).await?;
    println!("e2e | a price changed after {:?}", opened.elapsed());

    let paints = state["chartPaints"].as_f64().unwrap_or(0.0);
    client
        .find(Locator::Css("tr[data-symbol='MSFT']"))
        .await?
        .click()
        .await?;
    wait_for_page(client, "the MSFT chart is painted", |s| {
        s["chartSymbol"] == "MSFT" && s["chartPaints"].as_f64() > Some(paints)
    })
    .await?;
    let pixels = candle_pixels(client).await?;
    ensure!(pixels > 500, "the chart shows only {pixels} candle pixels");
    println!("e2e | MSFT selected; candles painted");

    for interval in ["1m", "5m", "1s", "5s"] {
        let before = page(client).await?["chartPaints"].as_f64().unwrap_or(0.0);
        chart::click_interval(client, interval).await?;
        wait_for_page(client, &format!("the {interval} chart is painted"), |s| {
            s["interval"] == interval && s["chartPaints"].as_f64() > Some(before)
        })
        .await?;
        let pixels = candle_pixels(client).await?;
        ensure!(
            pixels > 100,
            "the {interval} chart shows only {pixels} candle pixels"
        );
    }
    println!("e2e | interval switch repaints the chart");
    let chart = chart::interactions(client).await?;

    // The checks above read the canvas back, which stalls the page; measure only once the
    // latency window (512 samples) holds nothing but ticks received after them.
    let mark = page(client).await?["ticksApplied"].as_f64().unwrap_or(0.0);
    let measured = wait_for_page(client, "the meters cover a quiet stretch", |s| {
        s["ticksApplied"].as_f64() > Some(mark + 600.0)
            && s["latency"].as_str().is_some_and(|l| l.contains("ms"))
            && s["tickRate"].as_str().is_some_and(|r| r != "0")
    })
    .await?;
    ensure!(
        measured["binaryFrames"].as_f64() > Some(0.0),
        "the app never received a binary tick frame: it should negotiate ticker.v1.bin"
    );
    println!(
        "e2e | ticks arrive in binary frames ({} so far)",
        measured["binaryFrames"]
    );
    let js_heap_first = cdp::retained_js_heap(client).await?;
    let frames = frame_times(client).await?;
    println!("e2e | frames over 5 s at 500 ticks/s: {frames}");
    sorting::sorting(client).await?;
    look::phone(client).await?;
    let watchlist = watchlist::check(client, symbols).await?;
    let staleness = staleness::check(client).await?;
    let motion = motion::check(client).await?;
    let alerts = alerts::check(client, server.url().trim_end_matches('/')).await?;
    let chat = chat::check(client, server.port).await?;
    // Last before the restart, so the screenshots show the desk in use.
    look::themes(client, root, symbols).await?;

    let exit_time = server.terminate().await?;
    wait_for_page(client, "the app notices the server is gone", |s| {
        s["state"] != "live"
    })
    .await?;
    println!(
        "e2e | server exited {exit_time:?} after SIGTERM (clients closed with 1001); the app is \
         reconnecting"
    );
    server.restart().await?;
    let resumed = wait_for_page(client, "the app is live again with a fresh state", |s| {
        s["state"] == "live" && s["resets"].as_f64() >= Some(1.0) && watchlist_full(s, symbols)
    })
    .await?;
    println!("e2e | reconnected to the restarted server and reset cleanly");
    alerts::after_restart(client).await?;

    let fallback = fallback::sse_fallback(client, server.port, symbols).await?;
    let lifecycle = lifecycle::check(client, server.port, symbols).await?;

    let end = page(client).await?;
    let js_heap_end = cdp::retained_js_heap(client).await?;
    let report = json!({
        "memory": {
            "wasm_bytes_first": measured["wasmMemoryBytes"],
            "wasm_bytes_end": end["wasmMemoryBytes"],
            "js_heap_bytes_first": js_heap_first,
            "js_heap_bytes_end": js_heap_end,
        },
        "first_tick_paint_ms": measured["firstTickPaintMs"],
        "latency": measured["latency"],
        "ticks_per_second": measured["tickRate"],
        "frames": frames,
        "chart": chart,
        "gaps": resumed["gaps"],
        "duplicates": resumed["duplicates"],
        "resets_after_restart": resumed["resets"],
        "exit_after_sigterm_ms": exit_time.as_millis() as u64,
        "sse_fallback": fallback,
        "watchlist": watchlist,
        "staleness": staleness,
        "motion": motion,
        "alerts": alerts,
        "chat": chat,
        "hidden_tab_and_wake": lifecycle,
    });
    std::fs::write(
        root.join("target/e2e-report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("e2e | report: {report}");
    println!("e2e | passed");
    Ok(())
}
