//! Moving content within WCAG limits, in the browser: no price cell flashes more than three
//! times in any second at the test's 500 ticks/s (2.3.1); with `prefers-reduced-motion` no
//! flash animation runs at all; the pace control pauses the figures, sparklines and chart while
//! data keeps arriving, slows them to one update every two seconds, and is kept across a
//! reload (2.2.2); the polite live region names the selected symbol, follows a new selection and
//! speaks at most every five seconds.

use anyhow::{Result, ensure};
use fantoccini::{
    Client, Locator,
    actions::{InputSource, MouseActions, PointerAction},
    key::Key,
};
use serde_json::{Value, json};

use super::{cdp, keys::press, page, wait_for_page, wait_for_script};

/// Watches the price cells for `arguments[0]` ms: the flashes each one starts (a class change
/// to a new `flash-…` class, as the MutationObserver sees it) and the most flash animations
/// running at once (sampled every frame).
const FLASHES: &str = r#"
const [ms, done] = [arguments[0], arguments[arguments.length - 1]];
const starts = {};
const observer = new MutationObserver(records => {
    const now = performance.now();
    for (const record of records) {
        const now_class = record.target.getAttribute('class') || '';
        if (!/flash-/.test(now_class) || now_class === record.oldValue) continue;
        const symbol = record.target.closest('tr')?.dataset.symbol;
        (starts[symbol] = starts[symbol] || []).push(now);
    }
});
observer.observe(document.querySelector('tbody'), {
    subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true,
});
const running = () => document.getAnimations()
    .filter(a => (a.animationName || '').startsWith('flash')).length;
let most = 0;
const end = performance.now() + ms;
(function sample() {
    most = Math.max(most, running());
    if (performance.now() < end) requestAnimationFrame(sample);
})();
setTimeout(() => {
    observer.disconnect();
    let worst = 0, total = 0;
    for (const times of Object.values(starts)) {
        total += times.length;
        times.forEach((t, i) => {
            worst = Math.max(worst, times.slice(i).filter(u => u < t + 1000).length);
        });
    }
    done({
        cells: Object.keys(starts).length,
        flashes: total,
        most_in_one_second: worst,
        most_animations_at_once: most,
        reduced_motion: matchMedia('(prefers-reduced-motion: reduce)').matches,
    });
}, ms);
"#;

/// The moving parts of the page: prices, sparklines, chart paints, ticks applied, the pace.
const MOVING: &str = r#"
const rows = [...document.querySelectorAll('tbody tr')];
const metrics = window.__ticker || {};
return {
    state: document.querySelector('[data-testid=connection]')?.dataset.state,
    prices: rows.map(r => r.querySelector('[data-testid=last]').textContent).join(' '),
    sparklines: rows.map(r => r.querySelector('td.trend polyline')?.getAttribute('points')).join('|'),
    chartPaints: metrics.chartPaints || 0,
    chartLast: metrics.chartLastClose || 0,
    chartOldest: metrics.chartOldestHeld || 0,
    ticksApplied: metrics.ticksApplied || 0,
    pace: document.querySelector('.pace button[aria-pressed=true]')?.dataset.pace ?? null,
};
"#;

/// Records the times the watchlist's prices change on screen for `arguments[0]` ms (changes
/// within 50 ms of each other are one update; other mutations, such as a stale mark or a focus
/// move, are not updates of the figures) and returns the shortest gap between two.
const UPDATE_GAPS: &str = r#"
const [ms, done] = [arguments[0], arguments[arguments.length - 1]];
const updates = [];
const inPrice = record => {
    const node = record.target.nodeType === Node.TEXT_NODE ? record.target.parentElement : record.target;
    return node && node.closest('[data-testid=last]');
};
const observer = new MutationObserver(records => {
    if (!records.some(inPrice)) return;
    const now = performance.now();
    if (!updates.length || now - updates[updates.length - 1] > 50) updates.push(now);
});
observer.observe(document.querySelector('tbody'), {
    subtree: true, childList: true, characterData: true,
});
setTimeout(() => {
    observer.disconnect();
    const gaps = updates.slice(1).map((t, i) => t - updates[i]);
    done({ updates: updates.length, shortest_gap_ms: gaps.length ? Math.min(...gaps) : null });
}, ms);
"#;

/// Starts recording what the live region says, with the selected symbol at that moment.
const RECORD_ANNOUNCEMENTS: &str = r#"
const region = document.querySelector('[data-testid=announcer]');
window.__announced = [];
new MutationObserver(() => window.__announced.push({
    at: performance.now(),
    text: region.textContent,
    selected: document.querySelector('tbody tr[aria-current=true]')?.dataset.symbol,
})).observe(region, { subtree: true, childList: true, characterData: true });
"#;

async fn moving(client: &Client, what: &str, check: impl Fn(&Value) -> bool) -> Result<Value> {
    wait_for_script(client, what, MOVING, Vec::new(), check).await
}

async fn pace(client: &Client, choice: &str) -> Result<Value> {
    client
        .find(Locator::Css(&format!(".pace button[data-pace='{choice}']")))
        .await?
        .send_keys(&Key::Enter.to_string())
        .await?;
    moving(client, &format!("the pace is {choice}"), |s| {
        s["pace"] == choice
    })
    .await
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// Runs the motion checks; leaves the page live, at full pace, without emulation.
pub async fn check(client: &Client) -> Result<Value> {
    let flashes = client.execute_async(FLASHES, vec![json!(3_000)]).await?;
    println!("e2e | flashes over 3 s at 500 ticks/s: {flashes}");
    ensure!(
        number(&flashes["flashes"]) > 0.0 && number(&flashes["most_animations_at_once"]) > 0.0,
        "no price flashed: {flashes}"
    );
    ensure!(
        number(&flashes["most_in_one_second"]) <= 3.0,
        "a cell flashed more than three times in a second (WCAG 2.3.1): {flashes}"
    );

    cdp::reduce_motion(client, true).await?;
    let reduced = client.execute_async(FLASHES, vec![json!(2_000)]).await;
    cdp::reduce_motion(client, false).await?;
    let reduced = reduced?;
    println!("e2e | with prefers-reduced-motion: {reduced}");
    ensure!(
        reduced["reduced_motion"] == true && number(&reduced["flashes"]) > 0.0,
        "the emulation did not apply or prices stopped: {reduced}"
    );
    ensure!(
        number(&reduced["most_animations_at_once"]) == 0.0,
        "a flash animation ran although the user prefers reduced motion: {reduced}"
    );

    let paused = pace(client, "paused").await?;
    moving(client, "data keeps arriving while paused", |s| {
        number(&s["ticksApplied"]) > number(&paused["ticksApplied"]) + 500.0
    })
    .await?;
    // Moving the pointer over the chart repaints it (the crosshair), from the held candles.
    let canvas = client.find(Locator::Css("[data-testid=chart]")).await?;
    client
        .perform_actions(
            MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
                element: canvas,
                duration: None,
                x: 10.0,
                y: 10.0,
            }),
        )
        .await?;
    let still = moving(
        client,
        "the chart repaints under the pointer while paused",
        |s| number(&s["chartPaints"]) > number(&paused["chartPaints"]),
    )
    .await?;
    for field in ["prices", "sparklines", "chartLast", "chartOldest"] {
        ensure!(
            still[field] == paused[field],
            "{field} changed while paused: {} then {}",
            paused[field],
            still[field]
        );
    }
    pace(client, "live").await?;
    moving(client, "resuming shows the current state", |s| {
        s["prices"] != still["prices"] && number(&s["chartPaints"]) > number(&still["chartPaints"])
    })
    .await?;
    println!(
        "e2e | paused: figures, sparklines and chart froze while {} ticks arrived; resumed at once",
        number(&still["ticksApplied"]) - number(&paused["ticksApplied"])
    );

    pace(client, "slow").await?;
    client.refresh().await?;
    wait_for_page(client, "the app is live again after the reload", |s| {
        s["state"] == "live"
    })
    .await?;
    moving(client, "the slow pace is kept across the reload", |s| {
        s["pace"] == "slow"
    })
    .await?;
    let slow = client
        .execute_async(UPDATE_GAPS, vec![json!(7_000)])
        .await?;
    println!("e2e | slow pace over 7 s: {slow}");
    ensure!(
        number(&slow["updates"]) >= 2.0 && number(&slow["shortest_gap_ms"]) >= 1_900.0,
        "the slow pace updated the display more often than every two seconds: {slow}"
    );
    pace(client, "live").await?;

    let announced = announcements(client).await?;
    Ok(json!({
        "flashes": flashes,
        "reduced_motion": reduced,
        "slow": slow,
        "announcements": announced,
    }))
}

/// The live region names the selected symbol, follows the selection to the next row, and
/// never speaks twice within five seconds.
async fn announcements(client: &Client) -> Result<Value> {
    let first = page(client).await?["rows"][0]["symbol"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    client.execute(RECORD_ANNOUNCEMENTS, Vec::new()).await?;
    client
        .find(Locator::Css(&format!("tr[data-symbol='{first}']")))
        .await?
        .click()
        .await?;
    let log = "return window.__announced";
    let names = |symbol: String| {
        move |log: &Value| {
            log.as_array().into_iter().flatten().any(|entry| {
                entry["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&format!("{symbol} ")))
            })
        }
    };
    wait_for_script(
        client,
        "the live region names the selected symbol",
        log,
        Vec::new(),
        names(first.clone()),
    )
    .await?;
    press(client, Key::Down).await?;
    let next = client
        .execute(
            "return document.querySelector('tbody tr[aria-current=true]')?.dataset.symbol",
            Vec::new(),
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(next != first, "the selection did not move");
    let heard = wait_for_script(
        client,
        "the live region follows the new selection",
        log,
        Vec::new(),
        names(next.clone()),
    )
    .await?;
    let entries = heard.as_array().cloned().unwrap_or_default();
    let times: Vec<f64> = entries.iter().map(|e| number(&e["at"])).collect();
    let shortest = times
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .fold(f64::INFINITY, f64::min);
    // The region's text changes when the dashboard sets it; the observer hears it a moment
    // later, so allow a few milliseconds of delivery on the five-second limit.
    ensure!(
        shortest >= 4_950.0,
        "two announcements {shortest} ms apart: {heard}"
    );
    for entry in &entries {
        let text = entry["text"].as_str().unwrap_or_default();
        ensure!(
            [&first, &next]
                .iter()
                .any(|s| text.starts_with(&format!("{s} "))),
            "an announcement about a symbol that was not selected: {entry}"
        );
    }
    println!(
        "e2e | the live region named {first}, then {next} after the arrow key; {} announcements, \
         at least {shortest:.0} ms apart",
        entries.len()
    );
    Ok(json!({ "count": entries.len(), "shortest_gap_ms": shortest.round() }))
}
