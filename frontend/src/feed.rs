//! The feed: keeps the dashboard connected for the life of the page.
//!
//! One loop runs a session at a time on the transport [`TransportPolicy`] picks: the WebSocket
//! ([`socket`]) or, where WebSockets are blocked, the Server-Sent Events stream ([`events`]).
//! Between sessions it waits with exponential backoff and full jitter (shared with every Rust
//! client, see `ticker_shared::backoff`), shows "reconnecting in N s", and waits for the browser
//! to be online. Every new session continues from the dashboard's last sequence numbers, so a
//! reconnect or a change of transport loses and repeats nothing.

mod events;
mod socket;

use std::{rc::Rc, time::Duration};

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use ticker_shared::backoff::Backoff;

use crate::{
    dashboard::Dashboard,
    signals::ConnectionStatus,
    transport::{SessionEnd, Transport, TransportPolicy},
};

/// Heartbeat assumed before the server's `hello` says otherwise.
const DEFAULT_HEARTBEAT_MS: u64 = 5_000;
/// Heartbeats of silence after which the link counts as dead (a router may have dropped it
/// without telling either side).
const SILENT_HEARTBEATS: f64 = 3.0;
/// How often to check whether the browser is back online.
const ONLINE_POLL_MS: u32 = 1_000;

/// The page's origin as `(scheme, host)`: `("https:", "example.com:8443")`.
fn origin() -> (String, String) {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_else(|| "localhost:8080".into());
    (protocol, host)
}

/// The WebSocket URL on the page's origin: `wss://` when the page came over https.
pub fn socket_url() -> String {
    let (protocol, host) = origin();
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

/// Starts the connection loop for the life of the page.
pub fn start(dashboard: Rc<Dashboard>) {
    leptos::task::spawn_local(run(dashboard));
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

async fn run(dashboard: Rc<Dashboard>) {
    let signals = dashboard.signals();
    let mut policy = TransportPolicy::default();
    let mut backoff = Backoff::default();
    loop {
        while !browser_online() {
            signals.status.set(ConnectionStatus::Offline);
            TimeoutFuture::new(ONLINE_POLL_MS).await;
        }
        let transport = policy.current();
        signals.transport.set(transport);
        signals.status.set(ConnectionStatus::Connecting);
        let end = match transport {
            Transport::WebSocket => socket::session(&dashboard, &socket_url(), &mut backoff).await,
            Transport::EventStream => events::session(&dashboard, &mut backoff).await,
        };
        match &end {
            SessionEnd::NotOpened(reason) => {
                tracing::warn!(transport = transport.key(), %reason, "could not connect")
            }
            SessionEnd::Ended(reason) => {
                tracing::info!(transport = transport.key(), %reason, "connection ended")
            }
            SessionEnd::UpgradeAvailable => tracing::info!("WebSockets work again; switching back"),
        }
        let next = policy.after(&end);
        if next.transport != transport {
            tracing::info!(
                from = transport.key(),
                to = next.transport.key(),
                "switching transport"
            );
        }
        if next.back_off {
            let delay = backoff.next_delay(js_sys::Math::random());
            count_down(&dashboard, delay).await;
        }
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

/// The end of a session that failed for `reason`: not opened if it never got its `hello`.
fn ended(live: bool, reason: impl Into<String>) -> SessionEnd {
    if live {
        SessionEnd::Ended(reason.into())
    } else {
        SessionEnd::NotOpened(reason.into())
    }
}
