//! A WebSocket session: `/ws`, from open to close, with an application ping every heartbeat
//! and a watchdog that gives up on a link that has gone silent. A connection check (the page's
//! [`Command::Check`]) sends a ping at once and gives up on the link if its pong is not back
//! within [`CHECK_DEADLINE_MS`]: a link that died while the tab was hidden or the machine slept
//! (a zombie: no close, no error, just silence) is replaced in seconds, not after the watchdog's
//! several heartbeats.

use std::{pin::pin, rc::Rc};

use futures_util::{
    FutureExt, SinkExt, StreamExt,
    future::{Either, pending, select},
};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use ticker_shared::{
    ClientMessage, ServerMessage, Symbol,
    backoff::Backoff,
    binary::{self, SUBPROTOCOL_BINARY, SUBPROTOCOL_JSON},
    decode_server,
};

use super::{
    CHECK_DEADLINE_MS, Command, Commands, DEFAULT_HEARTBEAT_MS, SILENT_HEARTBEATS, ended,
    next_command,
};
use crate::{
    dashboard::{Dashboard, count_metric, page_clock, wall_clock},
    signals::ConnectionStatus,
    transport::SessionEnd,
};

/// What woke the session up.
enum Event {
    Frame(Option<Result<Message, WebSocketError>>),
    Heartbeat,
    Command(Command),
    CheckExpired,
}

/// A connection check in flight: the ping's `ts`, and its deadline.
struct Check {
    ts: f64,
    deadline: TimeoutFuture,
}

/// Runs one connection to `url` until it ends.
///
/// The socket offers the binary subprotocol first: a server that accepts it sends live ticks as
/// compact binary frames (decoded against the `hello`'s symbol list), everything else as JSON.
pub async fn session(
    dashboard: &Rc<Dashboard>,
    url: &str,
    backoff: &mut Backoff,
    commands: &mut Commands,
) -> SessionEnd {
    let socket = match WebSocket::open_with_protocols(url, &[SUBPROTOCOL_BINARY, SUBPROTOCOL_JSON])
    {
        Ok(socket) => socket,
        Err(err) => return SessionEnd::NotOpened(err.to_string()),
    };
    let (mut sink, mut stream) = socket.split();
    let mut heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    let mut ticks = IntervalStream::new(heartbeat_ms as u32);
    // Silence is measured on the page's monotonic clock; a jump of the wall clock (sleep) is
    // the wake detector's business, answered by a check.
    let mut last_heard = page_clock();
    let mut live = false;
    let mut check: Option<Check> = None;
    // The `hello`'s symbols, in order: binary frames name symbols by their index here.
    let mut symbols: Vec<Symbol> = Vec::new();
    loop {
        let expiry = match check.as_mut() {
            Some(check) => Either::Left(&mut check.deadline),
            None => Either::Right(pending()),
        };
        let event = first_of(
            stream.next().map(Event::Frame),
            ticks.next().map(|_| Event::Heartbeat),
            pin!(next_command(commands)).map(Event::Command),
            expiry.map(|()| Event::CheckExpired),
        )
        .await;
        let decoded = match event {
            Event::Frame(Some(Ok(Message::Text(text)))) => {
                decode_server(&text).map_err(|err| err.to_string())
            }
            Event::Frame(Some(Ok(Message::Bytes(bytes)))) => {
                count_metric("binaryFrames");
                binary::decode(&bytes, &symbols).map_err(|err| err.to_string())
            }
            Event::Frame(Some(Err(err))) => return ended(live, err.to_string()),
            Event::Frame(None) => return ended(live, "closed"),
            Event::Heartbeat => {
                if page_clock() - last_heard > heartbeat_ms as f64 * SILENT_HEARTBEATS {
                    count_metric("watchdogEnds");
                    return ended(live, "no data from the server for several heartbeats");
                }
                let ping = ClientMessage::Ping { ts: wall_clock() };
                if let Err(err) = send(&mut sink, &ping).await {
                    return ended(live, err.to_string());
                }
                continue;
            }
            Event::Command(Command::Send(message)) => {
                // Before `hello` the opening subscribe or resume will include the change.
                if live && let Err(err) = send(&mut sink, &message).await {
                    return ended(live, err.to_string());
                }
                continue;
            }
            Event::Command(Command::Check(reason)) => {
                if live && check.is_none() {
                    count_metric(reason.metric());
                    let ts = wall_clock();
                    if let Err(err) = send(&mut sink, &ClientMessage::Ping { ts }).await {
                        return ended(live, err.to_string());
                    }
                    check = Some(Check {
                        ts,
                        deadline: TimeoutFuture::new(CHECK_DEADLINE_MS),
                    });
                }
                continue;
            }
            Event::CheckExpired => {
                count_metric("deadLinksFound");
                return ended(live, "no answer to a connection check: the link is dead");
            }
        };
        last_heard = page_clock();
        let message = match decoded {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable server message");
                continue;
            }
        };
        if let ServerMessage::Pong(pong) = &message
            && check.as_ref().is_some_and(|check| check.ts == pong.ts)
        {
            check = None;
        }
        if let ServerMessage::Hello(hello) = &message {
            symbols = hello.symbols.iter().map(|s| s.symbol.clone()).collect();
            live = true;
            dashboard.signals().status.set(ConnectionStatus::Live);
            backoff.reset();
        }
        for reply in dashboard.receive(message) {
            if let Err(err) = send(&mut sink, &reply).await {
                return ended(live, err.to_string());
            }
        }
        let announced = dashboard.heartbeat_interval_ms();
        if announced > 0 && announced != heartbeat_ms {
            heartbeat_ms = announced;
            ticks = IntervalStream::new(heartbeat_ms as u32);
        }
    }
}

/// The output of whichever of four futures is ready first.
async fn first_of<T>(
    a: impl Future<Output = T> + Unpin,
    b: impl Future<Output = T> + Unpin,
    c: impl Future<Output = T> + Unpin,
    d: impl Future<Output = T> + Unpin,
) -> T {
    let left = select(a, b).map(|either| either.factor_first().0);
    let right = select(c, d).map(|either| either.factor_first().0);
    select(left, right).await.factor_first().0
}

async fn send(
    sink: &mut (impl futures_util::Sink<Message, Error = WebSocketError> + Unpin),
    message: &ClientMessage,
) -> Result<(), WebSocketError> {
    sink.send(Message::Text(message.to_json())).await
}

/// Whether a WebSocket to `url` opens and says `hello` within `timeout_ms`; the probe is then
/// closed. Used on the event stream to find out when WebSockets work again.
pub async fn opens(url: &str, timeout_ms: u32) -> bool {
    let Ok(socket) = WebSocket::open(url) else {
        return false;
    };
    let (_sink, mut stream) = socket.split();
    let first = select(
        stream.next(),
        gloo_timers::future::TimeoutFuture::new(timeout_ms),
    )
    .await;
    matches!(first, Either::Left((Some(Ok(Message::Text(_))), _)))
}
