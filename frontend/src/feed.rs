//! The feed: keeps the dashboard connected for the life of the page.
//!
//! One loop runs a session at a time on the transport [`TransportPolicy`] picks: the WebSocket
//! ([`socket`]) or, where WebSockets are blocked, the Server-Sent Events stream ([`events`]).
//! Between sessions it waits with exponential backoff and full jitter (shared with every Rust
//! client, see `ticker_shared::backoff`), shows "reconnecting in N s", and waits for the browser
//! to be online. Every new session continues from the dashboard's last sequence numbers, so a
//! reconnect or a change of transport loses and repeats nothing.
//!
//! The page talks to the loop through [`Command`]s: messages to send (watchlist changes,
//! alert rules, chat posts, history requests) and connection checks (the tab became visible, the machine woke
//! up), which a session answers by proving its link alive within [`CHECK_DEADLINE_MS`] or
//! ending, and which cut a backoff wait short.

mod events;
mod socket;

use std::{pin::pin, rc::Rc, time::Duration};

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::{
    StreamExt,
    future::{Either, select},
};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use ticker_shared::{ClientMessage, backoff::Backoff};

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
/// How long a connection check waits for proof that the link is alive before it gives up on
/// it: far less than the watchdog's [`SILENT_HEARTBEATS`], because a check is asked for only
/// when the link is likely dead (the page was hidden, or the machine slept).
pub const CHECK_DEADLINE_MS: u32 = 2_000;

/// What the page asks of the connection loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send this on the live session. Without one it is dropped: the next session subscribes
    /// or resumes from the dashboard's state, which already includes the change.
    Send(ClientMessage),
    /// Check the link now; a dead one ends its session, a backoff wait ends early.
    Check(CheckReason),
}

/// Why a connection check was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckReason {
    /// The tab became visible again.
    Visible,
    /// The wall clock jumped: the machine slept.
    Wake,
}

impl CheckReason {
    /// The name of the page figure that counts these checks.
    pub fn metric(self) -> &'static str {
        match self {
            CheckReason::Visible => "visibleChecks",
            CheckReason::Wake => "wakeChecks",
        }
    }
}

/// The loop's end of the command channel.
pub type Commands = UnboundedReceiver<Command>;

/// The next command. The dashboard holds the sender as long as the page (and so the feed)
/// lives, so the channel does not close; if it did, this waits forever rather than spin a loop.
async fn next_command(commands: &mut Commands) -> Command {
    match commands.next().await {
        Some(command) => command,
        None => std::future::pending().await,
    }
}

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
    let Some(mut commands) = dashboard.take_commands() else {
        tracing::error!("the feed was started twice");
        return;
    };
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
            Transport::WebSocket => {
                socket::session(&dashboard, &socket_url(), &mut backoff, &mut commands).await
            }
            Transport::EventStream => {
                events::session(&dashboard, &mut backoff, &mut commands).await
            }
        };
        dashboard.alerts_disconnected();
        match &end {
            SessionEnd::NotOpened(reason) => {
                tracing::warn!(transport = transport.key(), %reason, "could not connect")
            }
            SessionEnd::Ended(reason) => {
                tracing::info!(transport = transport.key(), %reason, "connection ended")
            }
            SessionEnd::UpgradeAvailable => tracing::info!("WebSockets work again; switching back"),
            SessionEnd::Reopen(reason) => tracing::info!(%reason, "reopening"),
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
            count_down(&dashboard, delay, &mut commands).await;
        }
    }
}

/// Shows "reconnecting in N s" while waiting `delay`; a connection check ends the wait at once
/// (the user is looking, or the machine just woke: no reason to wait out a long backoff).
async fn count_down(dashboard: &Dashboard, delay: Duration, commands: &mut Commands) {
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
        let mut timeout = TimeoutFuture::new(step);
        loop {
            match select(&mut timeout, pin!(next_command(commands))).await {
                Either::Left(_) => break,
                Either::Right((Command::Check(_), _)) => return,
                Either::Right((Command::Send(_), _)) => continue,
            }
        }
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
