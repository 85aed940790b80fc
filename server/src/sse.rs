//! `/sse`: the market feed as Server-Sent Events, for networks whose proxies block WebSockets.
//!
//! `GET /sse?symbols=AAPL,MSFT` (or `*`, the default) streams the same server messages as `/ws`,
//! one per event, after the same admission checks. The subscription is fixed by the URL, since
//! the client cannot speak on this transport. Every event carries the client's position as its
//! `id` (a [`ResumeCursor`]); a client that comes back with it in `Last-Event-ID` (as
//! `EventSource` does by itself) or in `?last_event_id=` continues exactly after it, gap-free,
//! when the history still holds the missed ticks, or gets a reset snapshot when it does not.
//!
//! Each stream is one task that reads the hub's queue for it, exactly as a WebSocket connection
//! does, and writes events into a small bounded channel that is the response body. The task
//! never waits for the client past the heartbeat timeout, so a reader that stalls ends up
//! disconnected by the hub's slow-consumer policy or by that timeout, never holding memory.

use std::{collections::BTreeMap, fmt::Write as _, sync::Arc, time::Duration};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use bytes::Bytes;
use futures_util::stream;
use serde::Deserialize;
use ticker_shared::{
    ErrorCode, ErrorMessage, ResumeCursor, ServerMessage, Symbol, SymbolList, close, decode_server,
    sse::{EVENT_END, EVENT_HEARTBEAT},
};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, MissedTickBehavior},
};
use tracing::{Instrument, debug, info, info_span};

use crate::{
    admission::ConnectionPermit,
    app::AppState,
    feed::unix_millis,
    hub::{ClientId, ClientLink, Encoding, Kick, Outbound, Payload},
    metrics::Metrics,
    universe::SymbolId,
    ws::{MAX_DRAIN, kicked},
};

/// Chunks of events buffered between the stream's task and the HTTP response. Small: the
/// hub's bounded queue is where a slow reader's backlog is measured.
const BODY_CHUNKS: usize = 4;
/// How long a client waits before `EventSource` reconnects by itself, sent as `retry:`.
const CLIENT_RETRY: Duration = Duration::from_secs(2);

/// The query string of `/sse`.
#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Comma-separated symbols, or `*` (the default) for all.
    symbols: Option<String>,
    /// A position to continue from, when the client cannot set `Last-Event-ID` itself.
    last_event_id: Option<String>,
}

/// What a valid request asks for.
#[derive(Debug)]
struct StreamRequest {
    ids: Vec<SymbolId>,
    cursor: Option<ResumeCursor>,
}

/// `/sse`: validates the request, admits it like a WebSocket handshake and starts the stream.
pub async fn stream(
    req: HttpRequest,
    query: web::Query<StreamQuery>,
    app: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let request = match parse_request(&req, &query, &app) {
        Ok(request) => request,
        Err(refusal) => {
            Metrics::inc(&app.metrics.client_errors);
            return Ok(HttpResponse::BadRequest()
                .content_type("application/json")
                .body(ServerMessage::Error(refusal).to_json()));
        }
    };
    let permit = app.admit(&req)?;
    let app = app.into_inner();
    let (body, chunks) = mpsc::channel(BODY_CHUNKS);
    let client = app.next_client_id();
    let peer = req
        .peer_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    let task = EventStream::new(client, app, body, permit);
    actix_web::rt::spawn(
        task.run(request)
            .instrument(info_span!("sse", client, %peer)),
    );
    let body = stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((Ok::<_, actix_web::Error>(chunk), chunks))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Asks reverse proxies such as nginx not to buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// The symbols and the resume position a request asks for, or the `error` to answer with.
fn parse_request(
    req: &HttpRequest,
    query: &StreamQuery,
    app: &AppState,
) -> Result<StreamRequest, ErrorMessage> {
    let names: Vec<String> = query
        .symbols
        .as_deref()
        .unwrap_or(ticker_shared::symbol::ALL_SYMBOLS)
        .split(',')
        .map(str::to_owned)
        .collect();
    let list = SymbolList::try_from(names)
        .map_err(|err| ErrorMessage::new(ErrorCode::InvalidMessage, format!("symbols: {err}")))?;
    let ids = app.universe.resolve(&list).map_err(|unknown| {
        let names: Vec<&str> = unknown.iter().map(Symbol::as_str).collect();
        ErrorMessage::new(
            ErrorCode::UnknownSymbol,
            format!("unknown symbol(s) {}", names.join(", ")),
        )
    })?;
    let max = app.limits.max_subscriptions as usize;
    if ids.len() > max {
        return Err(ErrorMessage::new(
            ErrorCode::TooManySubscriptions,
            format!(
                "{} symbols requested; at most {max} per connection",
                ids.len()
            ),
        ));
    }
    let header = req
        .headers()
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    let cursor = header
        .or(query.last_event_id.as_deref())
        .filter(|text| !text.is_empty())
        .map(ResumeCursor::parse)
        .transpose()
        .map_err(|err| ErrorMessage::new(ErrorCode::InvalidMessage, err.to_string()))?;
    Ok(StreamRequest { ids, cursor })
}

/// Why a stream ended.
#[derive(Debug)]
enum End {
    Shutdown,
    Kicked(Kick),
    /// The client stopped reading for longer than the heartbeat timeout.
    Stalled,
    /// The client went away.
    Gone,
}

impl End {
    /// The `end` event's close code and reason, if the client can still receive one.
    fn notice(&self) -> Option<(u16, &'static str)> {
        match self {
            End::Shutdown => Some((close::GOING_AWAY, close::REASON_SHUTDOWN)),
            End::Kicked(Kick::SlowConsumer) => {
                Some((close::POLICY_VIOLATION, close::REASON_SLOW_CONSUMER))
            }
            End::Stalled | End::Gone => None,
        }
    }
}

/// One event stream.
struct EventStream {
    client: ClientId,
    app: Arc<AppState>,
    body: mpsc::Sender<Bytes>,
    outbox: mpsc::Receiver<Outbound>,
    link: Option<ClientLink>,
    kicked: Option<oneshot::Receiver<Kick>>,
    /// The client's position, written as every event's id.
    cursor: ResumeCursor,
    /// Events of the current drain, written as one chunk.
    pending: String,
    /// Holds the stream's place under the connection limits.
    _permit: ConnectionPermit,
}

impl EventStream {
    fn new(
        client: ClientId,
        app: Arc<AppState>,
        body: mpsc::Sender<Bytes>,
        permit: ConnectionPermit,
    ) -> Self {
        let (link, outbox, kicked) = ClientLink::new(app.limits.queue_bound, Encoding::Json);
        EventStream {
            client,
            body,
            outbox,
            link: Some(link),
            kicked: Some(kicked),
            cursor: ResumeCursor {
                instance_id: app.instance.id.clone(),
                last_seq: BTreeMap::new(),
            },
            pending: String::new(),
            _permit: permit,
            app,
        }
    }

    async fn run(mut self, request: StreamRequest) {
        Metrics::inc(&self.app.metrics.connections_opened);
        Metrics::inc(&self.app.metrics.sse_streams_opened);
        debug!(
            symbols = request.ids.len(),
            resume = request.cursor.is_some(),
            "stream opened"
        );
        let end = self.serve(request).await;
        self.app.hub.disconnect(self.client).await;
        match &end {
            End::Kicked(_) | End::Stalled => info!(?end, "ending stream"),
            _ => debug!(?end, "ending stream"),
        }
        if let Some((code, reason)) = end.notice() {
            let data = serde_json::json!({ "code": code, "reason": reason }).to_string();
            self.pending.clear();
            push_event(&mut self.pending, Some(EVENT_END), None, &data);
            let chunk = Bytes::from(std::mem::take(&mut self.pending));
            let _ = tokio::time::timeout(Duration::from_secs(1), self.body.send(chunk)).await;
        }
        Metrics::inc(&self.app.metrics.connections_closed);
        self.app.connection_closed.notify_waiters();
    }

    async fn serve(&mut self, request: StreamRequest) -> End {
        let _ = writeln!(self.pending, "retry: {}\n", CLIENT_RETRY.as_millis());
        let hello = self.app.hello().to_json();
        self.push_message(&hello);
        if let Err(end) = self.write_pending().await {
            return end;
        }
        if let Some(link) = self.link.take() {
            self.app.hub.connect(self.client, link).await;
        }
        self.subscribe(request).await;

        let period = self.app.limits.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let shutdown = self.app.shutdown.clone();
        loop {
            let result = tokio::select! {
                biased;
                () = shutdown.cancelled() => Err(End::Shutdown),
                kick = kicked(&mut self.kicked) => Err(End::Kicked(kick)),
                () = self.body.closed() => Err(End::Gone),
                _ = heartbeat.tick() => {
                    push_event(&mut self.pending, Some(EVENT_HEARTBEAT), None, &unix_millis().to_string());
                    self.write_pending().await
                }
                item = self.outbox.recv() => match item {
                    Some(item) => self.on_outbound(item).await,
                    None => Err(End::Shutdown),
                },
            };
            if let Err(end) = result {
                return end;
            }
        }
    }

    /// Resumes the symbols the cursor names (when it does) and subscribes to the rest.
    async fn subscribe(&mut self, request: StreamRequest) {
        let universe = &self.app.universe;
        let (resumed, fresh): (Vec<SymbolId>, Vec<SymbolId>) = match &request.cursor {
            Some(cursor) => request
                .ids
                .iter()
                .partition(|&&id| cursor.last_seq.contains_key(universe.symbol(id))),
            None => (Vec::new(), request.ids),
        };
        if let Some(cursor) = request.cursor {
            let same_instance = cursor.instance_id == self.app.instance.id;
            let last_seq: Vec<(SymbolId, u64)> = resumed
                .iter()
                .map(|&id| (id, cursor.last_seq[universe.symbol(id)]))
                .collect();
            if same_instance {
                // Until the replay arrives the client stands where its cursor says.
                for &(id, seq) in &last_seq {
                    self.cursor
                        .last_seq
                        .insert(universe.symbol(id).clone(), seq);
                }
            }
            if !last_seq.is_empty() {
                self.app
                    .hub
                    .resume(self.client, same_instance, last_seq)
                    .await;
            }
        }
        if !fresh.is_empty() {
            self.app.hub.subscribe(self.client, fresh).await;
        }
    }

    /// Turns the first queued item and whatever else is queued into events and writes them.
    async fn on_outbound(&mut self, first: Outbound) -> Result<(), End> {
        self.push(first);
        for _ in 1..MAX_DRAIN {
            match self.outbox.try_recv() {
                Ok(item) => self.push(item),
                Err(_) => break,
            }
        }
        self.write_pending().await
    }

    /// Appends one event for `item`, with the position after it as the event's id.
    fn push(&mut self, item: Outbound) {
        let data = match item {
            Outbound::Live(frame) => {
                // The hub says how far the frame goes; no need to parse it.
                let universe = &self.app.universe;
                for &(id, seq) in frame.positions.iter() {
                    self.cursor
                        .last_seq
                        .insert(universe.symbol(id).clone(), seq);
                }
                match &frame.payload {
                    Payload::Text(text) => text.clone(),
                    // An event stream registers as JSON, so the hub never sends it binary.
                    Payload::Binary(_) => return,
                }
            }
            Outbound::Message(message) => {
                self.advance_by_message(&message);
                message
            }
            // An event stream cannot ask for history; were it sent one, it moves no position.
            Outbound::History(page) => page,
        };
        self.push_message(&data);
    }

    /// Appends one message event with the current cursor as its id.
    fn push_message(&mut self, data: &str) {
        let id = self.cursor.to_string();
        push_event(&mut self.pending, None, Some(&id), data);
    }

    /// Snapshots and replayed ticks move the position too; other messages do not.
    fn advance_by_message(&mut self, message: &str) {
        match decode_server(message) {
            Ok(ServerMessage::Snapshot(snapshot)) => {
                let seq = snapshot.quote.map_or(0, |quote| quote.seq);
                self.cursor.last_seq.insert(snapshot.symbol, seq);
            }
            Ok(ServerMessage::Ticks { ticks, .. }) => {
                for tick in ticks {
                    self.cursor.last_seq.insert(tick.symbol, tick.seq);
                }
            }
            _ => {}
        }
    }

    /// Writes the pending events as one chunk, giving up on shutdown, eviction, a client that
    /// went away, or one that has not taken anything for the heartbeat timeout.
    async fn write_pending(&mut self) -> Result<(), End> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.pending));
        let len = chunk.len() as u64;
        let shutdown = self.app.shutdown.clone();
        let deadline = Instant::now() + self.app.limits.heartbeat_timeout;
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Err(End::Shutdown),
            kick = kicked(&mut self.kicked) => return Err(End::Kicked(kick)),
            () = tokio::time::sleep_until(deadline) => return Err(End::Stalled),
            sent = self.body.send(chunk) => sent.map_err(|_| End::Gone)?,
        }
        Metrics::inc(&self.app.metrics.frames_sent);
        Metrics::add(&self.app.metrics.bytes_sent, len);
        Ok(())
    }
}

/// Appends one event in the `text/event-stream` format. `data` is JSON or a number: it has no
/// line breaks, so it is one `data:` line.
fn push_event(out: &mut String, event: Option<&str>, id: Option<&str>, data: &str) {
    if let Some(event) = event {
        let _ = writeln!(out, "event: {event}");
    }
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    let _ = write!(out, "data: {data}\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_the_event_stream_format() {
        let mut out = String::new();
        push_event(&mut out, None, Some("ab/AAPL:3"), r#"{"type":"ticks"}"#);
        push_event(&mut out, Some(EVENT_HEARTBEAT), None, "17");
        assert_eq!(
            out,
            "id: ab/AAPL:3\ndata: {\"type\":\"ticks\"}\n\nevent: heartbeat\ndata: 17\n\n"
        );
    }

    #[test]
    fn shutdown_and_eviction_are_announced_but_a_lost_client_is_not() {
        assert_eq!(End::Shutdown.notice().map(|n| n.0), Some(close::GOING_AWAY));
        assert_eq!(
            End::Kicked(Kick::SlowConsumer).notice().map(|n| n.0),
            Some(close::POLICY_VIOLATION)
        );
        assert!(End::Gone.notice().is_none());
        assert!(End::Stalled.notice().is_none());
    }
}
