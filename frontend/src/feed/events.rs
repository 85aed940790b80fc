//! An event-stream session: `/sse` through the browser's `EventSource`, for networks that
//! block WebSockets.
//!
//! The stream is opened with the dashboard's resume cursor (`?last_event_id=`), so it continues
//! exactly where the previous session stopped, on whichever transport that was. The client
//! cannot send on this transport: the subscription is in the URL, and a gap (which the server's
//! ordered stream should never produce) is repaired by reopening the stream from the cursor.
//! Meanwhile a probe checks every [`UPGRADE_PROBE_INTERVAL_MS`] whether a WebSocket opens
//! again; when one does, the session ends so the feed can switch back. A change of the
//! watchlist reopens the stream with the new symbols; a connection check, which cannot ping
//! here, gives the stream one heartbeat interval (plus [`CHECK_DEADLINE_MS`]) to say anything.

use std::{cell::Cell, pin::pin, rc::Rc};

use futures_util::{
    StreamExt,
    future::{Either, select},
    stream::select_all,
};
use gloo_net::eventsource::futures::EventSource;
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use ticker_shared::{
    ClientMessage, ResumeCursor, ServerMessage,
    backoff::Backoff,
    decode_server,
    sse::{EVENT_END, EVENT_HEARTBEAT},
};

use super::{
    CHECK_DEADLINE_MS, Command, Commands, DEFAULT_HEARTBEAT_MS, SILENT_HEARTBEATS, ended,
    next_command, socket,
};
use crate::{
    dashboard::{Dashboard, count_metric, page_clock},
    signals::ConnectionStatus,
    transport::{SessionEnd, UPGRADE_PROBE_INTERVAL_MS},
};

/// The default event type of a `data:` event without an `event:` line.
const EVENT_MESSAGE: &str = "message";
/// How often the session checks for silence and for the upgrade probe's result.
const CHECK_INTERVAL_MS: u32 = 1_000;
/// How long an upgrade probe waits for the WebSocket's `hello`.
const PROBE_TIMEOUT_MS: u32 = 5_000;

/// The stream's URL, relative to the page: the `symbols` (`*` for all), from `cursor` if there
/// is one.
pub fn stream_url(symbols: &str, cursor: Option<&ResumeCursor>) -> String {
    let symbols = js_sys::encode_uri_component(symbols);
    match cursor {
        Some(cursor) => {
            let encoded = js_sys::encode_uri_component(&cursor.to_string());
            format!("/sse?symbols={symbols}&last_event_id={encoded}")
        }
        None => format!("/sse?symbols={symbols}"),
    }
}

/// Runs one event stream until it ends or the WebSocket works again.
pub async fn session(
    dashboard: &Rc<Dashboard>,
    backoff: &mut Backoff,
    commands: &mut Commands,
) -> SessionEnd {
    let url = stream_url(
        &dashboard.subscription_query(),
        dashboard.resume_cursor().as_ref(),
    );
    let mut source = match EventSource::new(&url) {
        Ok(source) => source,
        Err(err) => return SessionEnd::NotOpened(err.to_string()),
    };
    let mut subscriptions = Vec::new();
    for kind in [EVENT_MESSAGE, EVENT_HEARTBEAT, EVENT_END] {
        match source.subscribe(kind) {
            Ok(subscription) => subscriptions.push(subscription),
            Err(err) => return SessionEnd::NotOpened(err.to_string()),
        }
    }
    let mut events = select_all(subscriptions);
    let probe = UpgradeProbe::start();
    let mut heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    // Checks silence and the probe's result; often, so a working WebSocket is taken up within
    // a second of the probe finding it (the client sends nothing here, so checks are free).
    let mut watchdog = IntervalStream::new(CHECK_INTERVAL_MS);
    let mut last_heard = page_clock();
    let mut live = false;
    // A connection check in flight: when it was asked for.
    let mut check: Option<f64> = None;
    loop {
        let command = pin!(next_command(commands));
        match select(events.next(), select(watchdog.next(), command)).await {
            Either::Left((Some(Ok((kind, event))), _)) => {
                last_heard = page_clock();
                check = None;
                let data = event.data().as_string().unwrap_or_default();
                match kind.as_str() {
                    EVENT_MESSAGE => {
                        let message = match decode_server(&data) {
                            Ok(message) => message,
                            Err(err) => {
                                tracing::warn!(error = %err, "undecodable server message");
                                continue;
                            }
                        };
                        let hello = matches!(message, ServerMessage::Hello(_));
                        if hello {
                            live = true;
                            dashboard.signals().status.set(ConnectionStatus::Live);
                            backoff.reset();
                        }
                        let replies = dashboard.receive(message);
                        // After `hello` the replies are what the URL already asked for; later,
                        // a `resume` means a gap, repaired by reopening from the cursor.
                        let gap = !hello
                            && replies
                                .iter()
                                .any(|reply| matches!(reply, ClientMessage::Resume { .. }));
                        if gap {
                            return SessionEnd::Ended("a gap; reopening from the cursor".into());
                        }
                        let announced = dashboard.heartbeat_interval_ms();
                        if announced > 0 {
                            heartbeat_ms = announced;
                        }
                    }
                    EVENT_END => return SessionEnd::Ended(format!("the server ended it: {data}")),
                    _ => {}
                }
            }
            Either::Left((Some(Err(err)), _)) => return ended(live, err.to_string()),
            Either::Left((None, _)) => return ended(live, "the stream ended"),
            // The stream's subscription is its URL: a watchlist change reopens it. Anything
            // else a client sends (history, alerts, chat) has no way to the server here.
            Either::Right((Either::Right((Command::Send(message), _)), _)) if live => {
                if matches!(
                    message,
                    ClientMessage::Subscribe { .. } | ClientMessage::Unsubscribe { .. }
                ) {
                    return SessionEnd::Reopen("the watchlist changed".into());
                }
                tracing::debug!(kind = message.kind(), "cannot send on the event stream");
            }
            Either::Right((Either::Right((Command::Check(reason), _)), _)) => {
                if live && check.is_none() {
                    count_metric(reason.metric());
                    check = Some(page_clock());
                }
            }
            Either::Right(_) => {
                let now = page_clock();
                if now - last_heard > heartbeat_ms as f64 * SILENT_HEARTBEATS {
                    count_metric("watchdogEnds");
                    return ended(live, "no data from the server for several heartbeats");
                }
                // The server sends a heartbeat event every interval: silence for longer since
                // the check means the stream is dead.
                if check.is_some_and(|asked| {
                    now - asked > heartbeat_ms as f64 + f64::from(CHECK_DEADLINE_MS)
                }) {
                    count_metric("deadLinksFound");
                    return ended(
                        live,
                        "no event since a connection check: the stream is dead",
                    );
                }
                if live && probe.succeeded() {
                    return SessionEnd::UpgradeAvailable;
                }
            }
        }
    }
}

/// Tries a WebSocket every [`UPGRADE_PROBE_INTERVAL_MS`] in the background until one opens or
/// the probe is dropped with its session.
struct UpgradeProbe {
    succeeded: Rc<Cell<bool>>,
    stopped: Rc<Cell<bool>>,
}

impl UpgradeProbe {
    fn start() -> Self {
        let succeeded = Rc::new(Cell::new(false));
        let stopped = Rc::new(Cell::new(false));
        let (found, stop) = (succeeded.clone(), stopped.clone());
        leptos::task::spawn_local(async move {
            loop {
                TimeoutFuture::new(UPGRADE_PROBE_INTERVAL_MS).await;
                if stop.get() {
                    return;
                }
                if socket::opens(&super::socket_url(), PROBE_TIMEOUT_MS).await {
                    found.set(true);
                    return;
                }
            }
        });
        UpgradeProbe { succeeded, stopped }
    }

    fn succeeded(&self) -> bool {
        self.succeeded.get()
    }
}

impl Drop for UpgradeProbe {
    fn drop(&mut self) {
        self.stopped.set(true);
    }
}
