//! A WebSocket session: `/ws`, from open to close, with an application ping every heartbeat
//! and a watchdog that gives up on a link that has gone silent.

use std::rc::Rc;

use futures_util::{
    SinkExt, StreamExt,
    future::{Either, select},
};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use gloo_timers::future::IntervalStream;
use leptos::prelude::*;
use ticker_shared::{
    ClientMessage, ServerMessage, Symbol,
    backoff::Backoff,
    binary::{self, SUBPROTOCOL_BINARY, SUBPROTOCOL_JSON},
    decode_server,
};

use super::{DEFAULT_HEARTBEAT_MS, SILENT_HEARTBEATS, ended};
use crate::{
    dashboard::{Dashboard, publish_metric, read_metric, wall_clock},
    signals::ConnectionStatus,
    transport::SessionEnd,
};

/// Runs one connection to `url` until it ends.
///
/// The socket offers the binary subprotocol first: a server that accepts it sends live ticks as
/// compact binary frames (decoded against the `hello`'s symbol list), everything else as JSON.
pub async fn session(dashboard: &Rc<Dashboard>, url: &str, backoff: &mut Backoff) -> SessionEnd {
    let socket = match WebSocket::open_with_protocols(url, &[SUBPROTOCOL_BINARY, SUBPROTOCOL_JSON])
    {
        Ok(socket) => socket,
        Err(err) => return SessionEnd::NotOpened(err.to_string()),
    };
    let (mut sink, mut stream) = socket.split();
    let mut heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    let mut ticks = IntervalStream::new(heartbeat_ms as u32);
    let mut last_heard = wall_clock();
    let mut live = false;
    // The `hello`'s symbols, in order: binary frames name symbols by their index here.
    let mut symbols: Vec<Symbol> = Vec::new();
    loop {
        let decoded = match select(stream.next(), ticks.next()).await {
            Either::Left((Some(Ok(Message::Text(text))), _)) => {
                decode_server(&text).map_err(|err| err.to_string())
            }
            Either::Left((Some(Ok(Message::Bytes(bytes))), _)) => {
                publish_metric("binaryFrames", read_metric("binaryFrames") + 1.0);
                binary::decode(&bytes, &symbols).map_err(|err| err.to_string())
            }
            Either::Left((Some(Err(err)), _)) => return ended(live, err.to_string()),
            Either::Left((None, _)) => return ended(live, "closed"),
            Either::Right(_) => {
                if wall_clock() - last_heard > heartbeat_ms as f64 * SILENT_HEARTBEATS {
                    return ended(live, "no data from the server for several heartbeats");
                }
                let ping = ClientMessage::Ping { ts: wall_clock() };
                if let Err(err) = send(&mut sink, &ping).await {
                    return ended(live, err.to_string());
                }
                continue;
            }
        };
        last_heard = wall_clock();
        let message = match decoded {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable server message");
                continue;
            }
        };
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
