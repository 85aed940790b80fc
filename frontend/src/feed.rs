//! The WebSocket client: connects to `/ws` on the page's own origin, keeps the link alive, and
//! reconnects by itself with exponential backoff and full jitter, resuming by sequence number.

use std::{rc::Rc, time::Duration};

use futures_util::{
    SinkExt, StreamExt,
    future::{Either, select},
};
use gloo_net::websocket::{Message, futures::WebSocket};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use ticker_shared::{ClientMessage, ServerMessage, backoff::Backoff, decode_server};

use crate::{
    dashboard::{Dashboard, wall_clock},
    signals::ConnectionStatus,
};

/// Heartbeat assumed before the server's `hello` says otherwise.
const DEFAULT_HEARTBEAT_MS: u64 = 5_000;
/// Heartbeats of silence after which the link counts as dead (a router may have dropped it
/// without telling either side).
const SILENT_HEARTBEATS: f64 = 3.0;
/// How often to check whether the browser is back online.
const ONLINE_POLL_MS: u32 = 1_000;

/// The WebSocket URL on the page's origin: `wss://` when the page came over https.
pub fn socket_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_else(|| "localhost:8080".into());
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

/// Starts the connection loop for the life of the page.
pub fn start(dashboard: Rc<Dashboard>) {
    leptos::task::spawn_local(run(dashboard, socket_url()));
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

async fn run(dashboard: Rc<Dashboard>, url: String) {
    let status = dashboard.signals().status;
    let mut backoff = Backoff::default();
    loop {
        while !browser_online() {
            status.set(ConnectionStatus::Offline);
            TimeoutFuture::new(ONLINE_POLL_MS).await;
        }
        status.set(ConnectionStatus::Connecting);
        match connect(&dashboard, &url, &mut backoff).await {
            Ok(()) => tracing::info!("connection closed"),
            Err(reason) => tracing::warn!(%reason, "connection lost"),
        }
        let delay = backoff.next_delay(js_sys::Math::random());
        count_down(&dashboard, delay).await;
    }
}

/// Shows "reconnecting in N s" while waiting `delay`.
async fn count_down(dashboard: &Dashboard, delay: Duration) {
    let status = dashboard.signals().status;
    let mut left = delay.as_millis() as u32;
    while left > 0 {
        status.set(ConnectionStatus::Reconnecting {
            seconds: left.div_ceil(1_000),
        });
        let step = match left % 1_000 {
            0 => 1_000,
            part => part,
        };
        TimeoutFuture::new(step).await;
        left -= step;
    }
}

/// One connection, from open to close. Returns when the link ends; `Err` says why if abnormal.
async fn connect(
    dashboard: &Rc<Dashboard>,
    url: &str,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let socket = WebSocket::open(url).map_err(|err| err.to_string())?;
    let (mut sink, mut stream) = socket.split();
    let mut heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    let mut ticks = IntervalStream::new(heartbeat_ms as u32);
    let mut last_heard = wall_clock();
    loop {
        match select(stream.next(), ticks.next()).await {
            Either::Left((Some(Ok(Message::Text(text))), _)) => {
                last_heard = wall_clock();
                let message = match decode_server(&text) {
                    Ok(message) => message,
                    Err(err) => {
                        tracing::warn!(error = %err, "undecodable server message");
                        continue;
                    }
                };
                if matches!(message, ServerMessage::Hello(_)) {
                    dashboard.signals().status.set(ConnectionStatus::Live);
                    backoff.reset();
                }
                for reply in dashboard.receive(message) {
                    send(&mut sink, &reply).await?;
                }
                let announced = dashboard.heartbeat_interval_ms();
                if announced > 0 && announced != heartbeat_ms {
                    heartbeat_ms = announced;
                    ticks = IntervalStream::new(heartbeat_ms as u32);
                }
            }
            Either::Left((Some(Ok(Message::Bytes(_))), _)) => {
                tracing::warn!("ignored a binary frame")
            }
            Either::Left((Some(Err(err)), _)) => return Err(err.to_string()),
            Either::Left((None, _)) => return Ok(()),
            Either::Right(_) => {
                if wall_clock() - last_heard > heartbeat_ms as f64 * SILENT_HEARTBEATS {
                    return Err("no data from the server for several heartbeats".into());
                }
                send(&mut sink, &ClientMessage::Ping { ts: wall_clock() }).await?;
            }
        }
    }
}

async fn send(
    sink: &mut (impl futures_util::Sink<Message, Error = gloo_net::websocket::WebSocketError> + Unpin),
    message: &ClientMessage,
) -> Result<(), String> {
    sink.send(Message::Text(message.to_json()))
        .await
        .map_err(|err| err.to_string())
}
