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

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

mod cdp;
mod chart;
mod chat;
mod keys;
mod lifecycle;
mod motion;
mod staleness;
mod watchlist;

use crate::blocker::WebSocketBlocker;
use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpListener,
    process::{Child, Command},
    time::{Instant, sleep, timeout},
};

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
            let _ = save_screenshot(&client, &root.join("target/e2e-failure.png")).await;
        }
        let _ = client.close().await;
        outcome
    })
}

async fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port())
}

/// The ticker server as a child process.
struct Server {
    binary: PathBuf,
    static_dir: PathBuf,
    port: u16,
    child: Child,
}

impl Server {
    async fn start(root: &Path, port: u16) -> Result<Self> {
        let binary = root.join("target/debug/ticker-server");
        let static_dir = root.join("dist");
        let child = Self::spawn(&binary, &static_dir, port).await?;
        Ok(Server {
            binary,
            static_dir,
            port,
            child,
        })
    }

    /// Starts the server and waits until it says it is live.
    async fn spawn(binary: &Path, static_dir: &Path, port: u16) -> Result<Child> {
        let mut child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--seed",
                "42",
                "--backfill",
                "15m",
                // The load the frame-time measurement asks for: 50 symbols at 10 ticks/s each.
                "--symbol-count",
                "50",
                "--tick-rate",
                "10",
                // The test knob that stalls one symbol's feed (staleness).
                "--enable-admin",
            ])
            .arg("--static-dir")
            .arg(static_dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let live = timeout(DEADLINE, async {
            while let Some(line) = lines.next_line().await? {
                println!("server | {line}");
                if line.contains("Ticker is live at") {
                    return Ok(());
                }
            }
            bail!("the server exited before it was live")
        })
        .await
        .context("the server did not start in time")?;
        live?;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                println!("server | {line}");
            }
        });
        Ok(child)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Sends SIGTERM and waits for a clean exit; returns how long the exit took.
    async fn terminate(&mut self) -> Result<Duration> {
        let pid = self.child.id().context("server already exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        ensure!(status.success(), "kill -TERM failed");
        let signalled = Instant::now();
        let exit = timeout(DEADLINE, self.child.wait())
            .await
            .context("the server did not stop after SIGTERM")??;
        ensure!(
            exit.success(),
            "the server exited with {exit} after SIGTERM"
        );
        Ok(signalled.elapsed())
    }

    async fn restart(&mut self) -> Result<()> {
        self.child = Self::spawn(&self.binary, &self.static_dir, self.port).await?;
        Ok(())
    }
}

/// ChromeDriver driving Debian's headless Chromium.
struct ChromeDriver {
    port: u16,
    _child: Child,
    profile: PathBuf,
}

impl ChromeDriver {
    async fn start() -> Result<Self> {
        let port = free_port().await?;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start chromedriver (cargo xtask setup --browser installs it)")?;
        let profile =
            std::env::temp_dir().join(format!("ticker-e2e-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        wait_until("chromedriver accepts connections", || async move {
            Ok(tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok())
        })
        .await?;
        Ok(ChromeDriver {
            port,
            _child: child,
            profile,
        })
    }

    async fn client(&self) -> Result<Client> {
        let arguments = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,900",
        ];
        let mut args: Vec<String> = arguments.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let capabilities = json!({
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("cannot open a Chromium session through chromedriver")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
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

/// The watchlist's rows in the page state, top to bottom.
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
        client
            .find(Locator::Css(&format!(
                "button[data-group='interval'][data-choice='{interval}']"
            )))
            .await?
            .click()
            .await?;
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
    let frames = frame_times(client).await?;
    println!("e2e | frames over 5 s at 500 ticks/s: {frames}");
    themes(client, root, symbols).await?;
    sorting(client).await?;
    phone(client).await?;
    let watchlist = watchlist::check(client, symbols).await?;
    let staleness = staleness::check(client).await?;
    let motion = motion::check(client).await?;
    let chat = chat::check(client, server.port).await?;

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

    let fallback = sse_fallback(client, server.port, symbols).await?;
    let lifecycle = lifecycle::check(client, server.port, symbols).await?;

    let report = json!({
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

/// The same page behind a proxy that blocks WebSockets: the app falls back to SSE by itself,
/// keeps ticking on it, and moves back to the WebSocket once the proxy lets it through, with no
/// gap and no duplicate across the switches.
async fn sse_fallback(client: &Client, server_port: u16, symbols: usize) -> Result<Value> {
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
    chat::receive_only(client, server_port).await?;

    proxy.unblock();
    let unblocked = Instant::now();
    let upgraded = wait_for_page(client, "the app moves back to the WebSocket", |s| {
        s["state"] == "live" && s["transport"] == "websocket"
    })
    .await?;
    let upgraded_after = unblocked.elapsed();
    chat::can_send_again(client).await?;
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

/// The page background of each theme (`--bg` in style.css), as the browser computes it.
const LIGHT_BACKGROUND: &str = "rgb(243, 245, 248)";
const DARK_BACKGROUND: &str = "rgb(11, 15, 21)";

/// The theme button pins light, then dark, and the choice survives a reload; a click more goes
/// back to the system's theme. Saves `docs/screenshot-light.png` and `docs/screenshot.png`
/// (dark).
async fn themes(client: &Client, root: &Path, symbols: usize) -> Result<()> {
    let theme_button = || client.find(Locator::Css("[data-testid=theme]"));
    let start = page(client).await?;
    ensure!(
        start["themeChoice"] == "system",
        "the theme follows the system at first: {}",
        start["themeChoice"]
    );
    std::fs::create_dir_all(root.join("docs"))?;
    for (choice, background, file) in [
        ("light", LIGHT_BACKGROUND, "docs/screenshot-light.png"),
        ("dark", DARK_BACKGROUND, "docs/screenshot.png"),
    ] {
        theme_button().await?.click().await?;
        wait_for_page(client, &format!("the {choice} theme"), |s| {
            s["themeChoice"] == choice && s["theme"] == choice && s["background"] == background
        })
        .await?;
        // Let the chart repaint in the new colours before the picture.
        let paints = page(client).await?["chartPaints"].as_f64().unwrap_or(0.0);
        wait_for_page(client, "the chart repaints", |s| {
            s["chartPaints"].as_f64() > Some(paints)
        })
        .await?;
        save_screenshot(client, &root.join(file)).await?;
        println!("e2e | {choice} theme; screenshot saved to {file}");
    }
    client.refresh().await?;
    wait_for_page(client, "the dark theme is kept across a reload", |s| {
        s["state"] == "live"
            && watchlist_full(s, symbols)
            && s["themeChoice"] == "dark"
            && s["background"] == DARK_BACKGROUND
    })
    .await?;
    theme_button().await?.click().await?;
    wait_for_page(client, "back to the system's theme", |s| {
        s["themeChoice"] == "system"
    })
    .await?;
    println!("e2e | the theme choice survives a reload; back to the system's");
    Ok(())
}

/// Clicking the Last header sorts the watchlist by price, largest first, then the other way,
/// then back to the server's order.
async fn sorting(client: &Client) -> Result<()> {
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

/// At the width of a small phone (375 px) nothing scrolls sideways and the watchlist's
/// columns fit their panel.
async fn phone(client: &Client) -> Result<()> {
    let (width, height) = client.get_window_size().await?;
    client.set_window_size(375, 812).await?;
    let narrow = wait_for_page(client, "the layout fits 375 px", |s| {
        s["pageOverflow"].as_f64() <= Some(0.0) && s["tableOverflow"].as_f64() <= Some(0.0)
    })
    .await;
    client.set_window_size(width as u32, height as u32).await?;
    narrow?;
    println!("e2e | the layout fits a 375 px wide phone");
    Ok(())
}

async fn save_screenshot(client: &Client, path: &Path) -> Result<()> {
    let png = client.screenshot().await?;
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}
