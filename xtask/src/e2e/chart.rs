//! The chart driven like a person would: hover for the crosshair and its tooltip, wheel and
//! pinch to zoom, drag to scroll back and "back to live", the keyboard's data cursor, the
//! line / candle switch and compare mode.

use anyhow::{Context, Result, ensure};
use fantoccini::{
    Client, Locator,
    actions::{
        InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction, TouchActions, WheelAction,
        WheelActions,
    },
    key::Key,
};
use serde_json::{Value, json};

use super::{candle_pixels, page};

/// The chart's own figures (from `window.__ticker`) and what its DOM shows.
const CHART_STATE: &str = r#"
const m = window.__ticker || {};
const tip = document.querySelector('[data-testid=chart-tooltip]');
const r = document.querySelector('[data-testid=chart]').getBoundingClientRect();
return {
    slot: m.chartSlot || 0,
    live: m.chartLive,
    shown: m.chartShown || 0,
    lines: m.chartLines || 0,
    held: m.chartHeld || 0,
    oldest: m.chartOldestHeld || 0,
    oldestLabel: m.chartOldestHeld ? new Date(m.chartOldestHeld).toTimeString().slice(0, 8) : '',
    historyRequests: m.historyRequests || 0,
    paints: m.chartPaints || 0,
    paintMaxMs: m.chartPaintMaxMs || 0,
    tooltip: tip && !tip.hidden ? tip.innerText : null,
    backToLive: !document.querySelector('[data-testid=back-to-live]').hidden,
    compared: [...document.querySelectorAll('[data-compared]')].map(c => c.dataset.compared),
    rect: { x: r.x, y: r.y, width: r.width, height: r.height },
};
"#;

/// Counts canvas pixels near any of the colours given as `[[r, g, b], …]` (lines are
/// antialiased, so "near" rather than equal).
const PIXELS_NEAR: &str = r#"
const colours = arguments[0];
const canvas = document.querySelector('[data-testid=chart]');
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let count = 0;
for (let i = 0; i < data.length; i += 4) {
    if (colours.some(([r, g, b]) =>
        Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40)) count++;
}
return count;
"#;

/// The axis labels' colour and the last price's (line and label) in both palettes.
const AXIS_TEXT: [[u8; 3]; 2] = [[0x8b, 0x98, 0xa9], [0x5d, 0x6b, 0x7c]];
const LAST_PRICE: [[u8; 3]; 2] = [[0xf0, 0xb9, 0x0b], [0xb7, 0x86, 0x0b]];

/// The line colours of the first three series in both palettes (components/chart/paint.rs).
const SERIES_COLOURS: [[[u8; 3]; 2]; 3] = [
    [[0x4c, 0x9a, 0xff], [0x1f, 0x6f, 0xeb]],
    [[0xe8, 0x79, 0xf9], [0xa2, 0x1c, 0xaf]],
    [[0x22, 0xd3, 0xee], [0x0e, 0x74, 0x90]],
];

async fn chart(client: &Client) -> Result<Value> {
    Ok(client.execute(CHART_STATE, Vec::new()).await?)
}

/// Clicks the interval button for `choice` ("1s", "5s", "1m", "5m").
pub(super) async fn click_interval(client: &Client, choice: &str) -> Result<()> {
    let css = format!("button[data-group='interval'][data-choice='{choice}']");
    client.find(Locator::Css(&css)).await?.click().await?;
    Ok(())
}

/// Waits until the chart's figures ([`CHART_STATE`]) pass `check`; returns them.
pub(super) async fn wait_for_chart(
    client: &Client,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    super::wait_for_script(client, what, CHART_STATE, Vec::new(), check).await
}

async fn series_pixels(client: &Client, series: usize) -> Result<u64> {
    pixels_near(client, &SERIES_COLOURS[series]).await
}

async fn pixels_near(client: &Client, colours: &[[u8; 3]]) -> Result<u64> {
    let colours = json!(colours);
    Ok(client
        .execute(PIXELS_NEAR, vec![colours])
        .await?
        .as_u64()
        .unwrap_or(0))
}

/// The tooltip's lines, e.g. `["12:34:05", "O", "187.20", "H", …]`.
fn tooltip_lines(state: &Value) -> Vec<String> {
    state["tooltip"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The OHLC prices in the tooltip, if it shows a candle.
fn tooltip_ohlc(state: &Value) -> Option<[f64; 4]> {
    let lines = tooltip_lines(state);
    let value = |label: &str| -> Option<f64> {
        let at = lines.iter().position(|l| l == label)?;
        lines.get(at + 1)?.replace(',', "").parse().ok()
    };
    Some([value("O")?, value("H")?, value("L")?, value("C")?])
}

fn slot(state: &Value) -> f64 {
    state["slot"].as_f64().unwrap_or(0.0)
}

/// Runs every chart step; returns the figures for the report.
pub async fn interactions(client: &Client) -> Result<Value> {
    let canvas = client.find(Locator::Css("[data-testid=chart]")).await?;
    let start = chart(client).await?;
    let rect = &start["rect"];
    let (left, top) = (
        rect["x"].as_f64().unwrap_or(0.0),
        rect["y"].as_f64().unwrap_or(0.0),
    );
    let (width, height) = (
        rect["width"].as_f64().context("the chart has a width")?,
        rect["height"].as_f64().context("the chart has a height")?,
    );

    // The axes' labels and the last price's line and label are painted.
    let (labels, last) = (
        pixels_near(client, &AXIS_TEXT).await?,
        pixels_near(client, &LAST_PRICE).await?,
    );
    ensure!(
        labels > 300 && last > 500,
        "the chart shows {labels} axis label pixels and {last} last-price pixels"
    );

    // Hover: a crosshair and the candle's figures.
    let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: canvas.clone(),
        duration: None,
        x: width * 0.2,
        y: -height * 0.15,
    });
    client.perform_actions(mouse).await?;
    let hovered = wait_for_chart(client, "a tooltip with the candle's figures", |s| {
        tooltip_ohlc(s).is_some()
    })
    .await?;
    let [open, high, low, close] = tooltip_ohlc(&hovered).context("the tooltip's figures")?;
    ensure!(
        high >= open.max(close) && low <= open.min(close),
        "the tooltip's candle is inconsistent: {}",
        hovered["tooltip"]
    );
    let lines = tooltip_lines(&hovered);
    ensure!(
        lines
            .first()
            .is_some_and(|t| t.len() == 8 && t.matches(':').count() == 2)
            && lines.iter().any(|l| l == "V"),
        "the tooltip names the time and the volume: {lines:?}"
    );
    println!("e2e | chart: hovering shows the crosshair and {lines:?}");

    // Wheel: zoom in around the pointer, then out again.
    let (centre_x, centre_y) = ((left + width / 2.0) as i64, (top + height / 2.0) as i64);
    let wheel = |delta_y: i64| {
        WheelActions::new("wheel".into()).then(WheelAction::Scroll {
            duration: None,
            x: centre_x,
            y: centre_y,
            delta_x: 0,
            delta_y,
        })
    };
    let before = slot(&chart(client).await?);
    client.perform_actions(wheel(-300)).await?;
    let zoomed = wait_for_chart(client, "the wheel zooms in", |s| slot(s) > before * 1.5).await?;
    client.perform_actions(wheel(300)).await?;
    wait_for_chart(client, "the wheel zooms out", |s| {
        (slot(s) - before).abs() < 0.5 && s["shown"].as_f64() > zoomed["shown"].as_f64()
    })
    .await?;
    println!(
        "e2e | chart: the wheel zooms ({before} → {} px per candle, {} → {} candles) and back",
        slot(&zoomed),
        start["shown"],
        zoomed["shown"]
    );

    // Pinch: two fingers moving apart zoom in.
    let finger = |id: &str, from: f64, by: f64| {
        TouchActions::new(id.into())
            .then(PointerAction::MoveToElement {
                element: canvas.clone(),
                duration: None,
                x: from,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(std::time::Duration::from_millis(200)),
                x: by,
                y: 0.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            })
    };
    let before = slot(&chart(client).await?);
    client
        .perform_actions(
            fantoccini::actions::Actions::from(finger("finger-1", -40.0, -80.0))
                .and(finger("finger-2", 40.0, 80.0)),
        )
        .await?;
    let pinched = wait_for_chart(client, "a pinch zooms in", |s| slot(s) > before * 1.5).await?;
    println!(
        "e2e | chart: a pinch zooms in ({before} → {} px per candle)",
        slot(&pinched)
    );
    client.perform_actions(wheel(800)).await?;

    // Drag: scroll back in time, then "back to live".
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: canvas.clone(),
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(std::time::Duration::from_millis(200)),
            x: width * 0.3,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(drag).await?;
    wait_for_chart(client, "a drag scrolls back and offers back to live", |s| {
        s["live"] == 0 && s["backToLive"] == true
    })
    .await?;
    client
        .find(Locator::Css("[data-testid=back-to-live]"))
        .await?
        .click()
        .await?;
    wait_for_chart(client, "back to live", |s| {
        s["live"] == 1 && s["backToLive"] == false
    })
    .await?;
    println!("e2e | chart: dragging scrolls back; back to live returns");

    keyboard(client, &canvas).await?;
    let history = history(client, &canvas).await?;
    kinds(client).await?;
    let compare = compare(client, &canvas).await?;
    let end = chart(client).await?;
    Ok(json!({
        "zoomed_slot_px": slot(&zoomed),
        "pinched_slot_px": slot(&pinched),
        "compare": compare,
        "history": history,
        "longest_paint_ms": end["paintMaxMs"],
    }))
}

/// The data cursor: arrows step through candles (the tooltip follows), End returns to live,
/// + zooms, Escape hides it.
async fn keyboard(client: &Client, canvas: &fantoccini::elements::Element) -> Result<()> {
    client
        .execute(
            "document.querySelector('[data-testid=chart]').focus()",
            Vec::new(),
        )
        .await?;
    let key = |k: Key| async move { canvas.send_keys(&char::from(k).to_string()).await };
    key(Key::Left).await?;
    let first = wait_for_chart(client, "the data cursor's tooltip", |s| {
        s["tooltip"].is_string()
    })
    .await?;
    let time = |s: &Value| tooltip_lines(s).first().cloned().unwrap_or_default();
    let first_time = time(&first);
    for _ in 0..3 {
        key(Key::Left).await?;
    }
    let moved = wait_for_chart(client, "the cursor steps to older candles", |s| {
        let t = time(s);
        !t.is_empty() && t != first_time
    })
    .await?;
    let moved_time = time(&moved);
    let oldest_held = chart(client).await?["oldestLabel"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    key(Key::Home).await?;
    let oldest = wait_for_chart(client, "Home moves the cursor to the oldest candle", |s| {
        time(s) == oldest_held
    })
    .await?;
    let oldest_time = time(&oldest);
    key(Key::End).await?;
    wait_for_chart(client, "End returns to the newest candle, live", |s| {
        let t = time(s);
        s["live"] == 1 && !t.is_empty() && t != oldest_time
    })
    .await?;
    let before = slot(&chart(client).await?);
    canvas.send_keys("+").await?;
    wait_for_chart(client, "+ zooms in", |s| slot(s) > before).await?;
    canvas.send_keys("-").await?;
    key(Key::Escape).await?;
    wait_for_chart(client, "Escape hides the cursor", |s| {
        s["tooltip"].is_null()
    })
    .await?;
    println!(
        "e2e | chart: the keyboard's data cursor steps {first_time} → {moved_time}, Home \
         {oldest_time}, End, +/−, Escape"
    );
    Ok(())
}

/// Scrolling back to the oldest candle held loads older ones from the server, page by page.
async fn history(client: &Client, canvas: &fantoccini::elements::Element) -> Result<Value> {
    click_interval(client, "1s").await?;
    let start = wait_for_chart(client, "the 1 s chart", |s| {
        s["oldest"].as_f64() > Some(0.0)
    })
    .await?;
    let oldest_at_start = start["oldest"].as_f64().unwrap_or(0.0);
    let requests_at_start = start["historyRequests"].as_f64().unwrap_or(0.0);
    client
        .execute(
            "document.querySelector('[data-testid=chart]').focus()",
            Vec::new(),
        )
        .await?;
    // Home scrolls to the oldest candle held, and the page before it arrives; twice (the test
    // server's 15 minutes of backfill hold more than the snapshot and two pages).
    let mut oldest = oldest_at_start;
    for _ in 0..2 {
        canvas.send_keys(&char::from(Key::Home).to_string()).await?;
        let state = wait_for_chart(client, "older candles arrive", |s| {
            s["oldest"].as_f64().is_some_and(|o| o > 0.0 && o < oldest)
        })
        .await?;
        oldest = state["oldest"].as_f64().unwrap_or(oldest);
    }
    let end = chart(client).await?;
    let requests = end["historyRequests"].as_f64().unwrap_or(0.0) - requests_at_start;
    let seconds_back = (oldest_at_start - oldest) / 1_000.0;
    canvas.send_keys(&char::from(Key::End).to_string()).await?;
    canvas
        .send_keys(&char::from(Key::Escape).to_string())
        .await?;
    click_interval(client, "5s").await?;
    println!(
        "e2e | chart: scrolling back loaded {seconds_back} s of older 1 s candles ({requests} \
         requests)"
    );
    Ok(json!({ "seconds_back": seconds_back, "requests": requests }))
}

/// The line / candle switch.
async fn kinds(client: &Client) -> Result<()> {
    let button = |kind: &str| {
        let css = format!("button[data-group='kind'][data-choice='{kind}']");
        async move { client.find(Locator::Css(&css)).await }
    };
    button("Line").await?.click().await?;
    wait_for_chart(client, "a line chart", |s| s["lines"] == 1).await?;
    let (candles, line) = (
        candle_pixels(client).await?,
        series_pixels(client, 0).await?,
    );
    ensure!(
        candles == 0 && line > 100,
        "the line chart shows {candles} candle pixels and {line} line pixels"
    );
    button("Candles").await?.click().await?;
    wait_for_chart(client, "candles again", |s| s["lines"] == 0).await?;
    let candles = candle_pixels(client).await?;
    ensure!(
        candles > 100,
        "the candle chart shows only {candles} candle pixels"
    );
    println!("e2e | chart: line ({line} line pixels) and candles ({candles} candle pixels)");
    Ok(())
}

/// Compare mode: two more symbols overlaid as lines of percentage change; the tooltip lists
/// each; removing them returns to candles.
async fn compare(client: &Client, canvas: &fantoccini::elements::Element) -> Result<Value> {
    let state = page(client).await?;
    let selected = state["chartSymbol"].as_str().unwrap_or_default().to_owned();
    let others: Vec<String> = super::rows(&state)
        .filter_map(|row| row["symbol"].as_str())
        .filter(|s| *s != selected)
        .take(2)
        .map(str::to_owned)
        .collect();
    ensure!(others.len() == 2, "two symbols to compare with");
    for symbol in &others {
        client
            .find(Locator::Css("[data-testid=compare-add]"))
            .await?
            .select_by_value(symbol)
            .await?;
    }
    let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: canvas.clone(),
        duration: None,
        x: 0.0,
        y: 0.0,
    });
    client.perform_actions(mouse).await?;
    let compared = wait_for_chart(client, "three lines compared", |s| {
        s["lines"] == 3
            && s["compared"].as_array().map(Vec::len) == Some(2)
            && tooltip_lines(s).iter().filter(|l| l.ends_with('%')).count() == 3
    })
    .await?;
    for series in 0..3 {
        let pixels = series_pixels(client, series).await?;
        ensure!(
            pixels > 50,
            "compared series {series} shows only {pixels} pixels"
        );
    }
    let tooltip = tooltip_lines(&compared);
    for symbol in &others {
        client
            .find(Locator::Css(&format!("button[data-compared='{symbol}']")))
            .await?
            .click()
            .await?;
    }
    wait_for_chart(client, "compare mode ends", |s| {
        s["lines"] == 0 && s["compared"].as_array().is_some_and(Vec::is_empty)
    })
    .await?;
    client
        .perform_actions(
            MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
                duration: None,
                x: 1.0,
                y: 1.0,
            }),
        )
        .await?;
    println!("e2e | chart: {selected} compared with {others:?}: {tooltip:?}");
    Ok(json!({ "symbols": others, "tooltip": tooltip }))
}
