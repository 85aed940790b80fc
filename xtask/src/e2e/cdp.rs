//! Chrome DevTools Protocol commands through ChromeDriver (`POST /session/{id}/goog/cdp/execute`),
//! for what WebDriver itself cannot do, such as emulating `prefers-reduced-motion`.

use anyhow::{Context, Result};
use fantoccini::{Client, wd::WebDriverCompatibleCommand};
use serde_json::{Value, json};

/// One CDP command and its parameters.
#[derive(Debug)]
struct Cdp {
    command: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs `command` with `params` in the current page's target.
pub async fn execute(client: &Client, command: &'static str, params: Value) -> Result<Value> {
    Ok(client.issue_cmd(Cdp { command, params }).await?)
}

/// Emulates `prefers-reduced-motion: reduce` (`true`) or stops emulating it.
pub async fn reduce_motion(client: &Client, reduce: bool) -> Result<()> {
    let features = if reduce {
        json!([{ "name": "prefers-reduced-motion", "value": "reduce" }])
    } else {
        json!([])
    };
    execute(
        client,
        "Emulation.setEmulatedMedia",
        json!({ "features": features }),
    )
    .await?;
    Ok(())
}

/// The page's JavaScript heap in use after a full garbage collection, in bytes: what the page
/// holds on to, not garbage it has yet to collect (`performance.memory` counts both, rounded).
pub async fn retained_js_heap(client: &Client) -> Result<u64> {
    execute(client, "HeapProfiler.collectGarbage", json!({})).await?;
    let usage = execute(client, "Runtime.getHeapUsage", json!({})).await?;
    usage["usedSize"]
        .as_f64()
        .map(|bytes| bytes as u64)
        .context("Runtime.getHeapUsage answered without usedSize")
}
