//! The `/ws` endpoint: the WebSocket handshake and one task per connection.
//!
//! The handshake is admitted first (Origin and connection limits, see [`crate::admission`]);
//! the request payload is then guarded so no oversized frame is ever buffered ([`guard`]).
//! A connection sends `hello`, registers with the hub and writes the hub's first message for it
//! (the recent chat), then runs one loop over its sources: shutdown and eviction (first, so they
//! win), the client's frames, the heartbeat tick, the idle deadline, and the outbound queue the
//! hub fills. Every write also watches shutdown, eviction and the heartbeat deadline, so a peer
//! that stops reading cannot hold the task. Errors stay on their connection: they are answered,
//! logged and counted, and never reach the hub or other clients.
//!
//! The same loop also serves `/echo` (when enabled) for protocol-conformance tests: it echoes
//! messages instead of speaking the market protocol, with the same framing, close codes and
//! limits.

pub mod guard;
mod history;
mod inbound;
pub mod rate;

use std::{
    cell::Cell, collections::HashSet, future::pending, pin::Pin, rc::Rc, sync::Arc, time::Duration,
};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev, http::header, web};
use actix_ws::{CloseCode, CloseReason, Session};
use futures_util::{FutureExt, Stream, future::Either};
use ticker_shared::{
    ClientMessage, ErrorCode, ErrorMessage, ServerMessage, Symbol,
    binary::{SUBPROTOCOL_BINARY, SUBPROTOCOL_JSON},
    close, decode_client,
};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, MissedTickBehavior},
};
use tracing::{Instrument, debug, info, info_span};

pub use self::inbound::{Inbound, InboundFrames, Violation, violation_for};
use self::{
    guard::GuardedPayload,
    history::HistoryBudget,
    rate::{RateLimit, Verdict},
};
use crate::{
    admission::ConnectionPermit,
    app::AppState,
    hub::{ClientId, ClientLink, Encoding, Kick, Outbound, Payload},
    metrics::Metrics,
    universe::SymbolId,
};

/// Queue items taken at once before the frame is written, so one busy client cannot starve its
/// own heartbeat and input handling. The event stream (`sse.rs`) drains by the same bound.
pub(crate) const MAX_DRAIN: usize = 1_024;
/// How long a close frame may take to be queued before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The market protocol (`/ws`).
    Market,
    /// Echo every message back (`/echo`, for conformance tests).
    Echo,
}

/// `/ws`: upgrades the request to a market-data WebSocket.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    start(req, body, app, Mode::Market).await
}

/// `/echo`: upgrades the request to an echoing WebSocket (only routed when enabled).
pub async fn echo(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    start(req, body, app, Mode::Echo).await
}

/// Admits the handshake, guards the payload, completes the upgrade and spawns the
/// connection's task.
async fn start(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
    mode: Mode,
) -> actix_web::Result<HttpResponse> {
    let app = app.into_inner();
    let permit = app.admit(&req)?;
    let tripped = Rc::new(Cell::new(None));
    let guarded = GuardedPayload::new(
        body.into_inner(),
        app.limits.max_frame_bytes,
        tripped.clone(),
    );
    let mut guarded = dev::Payload::Stream {
        payload: Box::pin(guarded) as Pin<Box<dyn Stream<Item = _>>>,
    };
    let body = web::Payload::from_request(&req, &mut guarded).await?;
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    let encoding = match mode {
        Mode::Market => negotiate(&req, &mut response),
        Mode::Echo => Encoding::Json,
    };
    let client = app.next_client_id();
    let peer = req
        .peer_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    let frames = InboundFrames::new(stream, app.limits.max_frame_bytes, tripped);
    let connection = Connection::new(client, app, session, frames, permit, mode, encoding);
    actix_web::rt::spawn(connection.run().instrument(info_span!("ws", client, %peer)));
    Ok(response)
}

/// Picks the encoding from the subprotocols the client offers (`Sec-WebSocket-Protocol`):
/// binary if it offers [`SUBPROTOCOL_BINARY`], else JSON. The chosen subprotocol is echoed in
/// the response, as RFC 6455 requires; a client that offers none gets JSON and no header.
fn negotiate(req: &HttpRequest, response: &mut HttpResponse) -> Encoding {
    let offered: Vec<&str> = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .collect();
    let (encoding, chosen) = if offered.contains(&SUBPROTOCOL_BINARY) {
        (Encoding::Binary, SUBPROTOCOL_BINARY)
    } else if offered.contains(&SUBPROTOCOL_JSON) {
        (Encoding::Json, SUBPROTOCOL_JSON)
    } else {
        return Encoding::Json;
    };
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(chosen),
    );
    encoding
}

/// Why a connection ended.
#[derive(Debug)]
enum Stop {
    Shutdown,
    Kicked(Kick),
    HeartbeatTimeout,
    PeerClosed(Option<CloseReason>),
    Violation(CloseReason),
    Idle,
    Lost,
}

impl Stop {
    /// The close frame to send, if the peer can still receive one.
    fn close_reason(&self) -> Option<CloseReason> {
        let reason = |code: u16, text: &str| CloseReason {
            code: CloseCode::from(code),
            description: Some(text.to_owned()),
        };
        match self {
            Stop::Shutdown => Some(reason(close::GOING_AWAY, close::REASON_SHUTDOWN)),
            Stop::Kicked(Kick::SlowConsumer) => {
                Some(reason(close::POLICY_VIOLATION, close::REASON_SLOW_CONSUMER))
            }
            Stop::HeartbeatTimeout => Some(reason(
                close::POLICY_VIOLATION,
                close::REASON_HEARTBEAT_TIMEOUT,
            )),
            // Echo the peer's code (RFC 6455 §5.5.1); without one, close normally.
            Stop::PeerClosed(peer) => Some(CloseReason {
                code: peer.as_ref().map_or(CloseCode::Normal, |r| r.code),
                description: None,
            }),
            Stop::Violation(reason) => Some(reason.clone()),
            Stop::Idle => Some(reason(close::POLICY_VIOLATION, close::REASON_IDLE)),
            Stop::Lost => None,
        }
    }
}

/// One client connection.
struct Connection {
    client: ClientId,
    app: Arc<AppState>,
    mode: Mode,
    session: Session,
    frames: InboundFrames,
    outbox: mpsc::Receiver<Outbound>,
    /// The hub's link to this connection, until it is handed over at registration.
    link: Option<ClientLink>,
    kicked: Option<oneshot::Receiver<Kick>>,
    last_heard: Instant,
    rate: RateLimit,
    /// The symbols this client asked for, to enforce the subscription limit.
    subscribed: HashSet<SymbolId>,
    /// When the client is subscribed to nothing: the moment it will be closed as idle.
    idle_deadline: Option<Instant>,
    /// The `history` requests whose pages are not written yet, to bound them.
    history: HistoryBudget,
    /// Holds the connection's place under the connection limits.
    _permit: ConnectionPermit,
}

impl Connection {
    fn new(
        client: ClientId,
        app: Arc<AppState>,
        session: Session,
        frames: InboundFrames,
        permit: ConnectionPermit,
        mode: Mode,
        encoding: Encoding,
    ) -> Self {
        let (link, outbox, kicked) = ClientLink::new(app.limits.queue_bound, encoding);
        let now = Instant::now();
        let limits = &app.limits;
        Connection {
            client,
            mode,
            session,
            frames,
            outbox,
            link: Some(link),
            kicked: Some(kicked),
            last_heard: now,
            rate: RateLimit::new(limits.max_message_rate, limits.message_burst, now),
            subscribed: HashSet::new(),
            idle_deadline: (mode == Mode::Market).then(|| now + limits.idle_timeout),
            history: HistoryBudget::default(),
            _permit: permit,
            app,
        }
    }

    async fn run(mut self) {
        Metrics::inc(&self.app.metrics.connections_opened);
        debug!("connected");
        let stop = self.serve().await;
        if self.mode == Mode::Market {
            if matches!(stop, Stop::Violation(_)) {
                // The answers to what the client sent before breaking a limit still reach it.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.deliver_queued()).await;
            }
            self.app.hub.disconnect(self.client).await;
        }
        match &stop {
            Stop::Violation(reason) => {
                Metrics::inc(&self.app.metrics.protocol_closes);
                info!(code = ?reason.code, reason = ?reason.description, "closing: client broke the protocol or a limit")
            }
            Stop::Idle => {
                Metrics::inc(&self.app.metrics.idle_timeouts);
                info!("closing: idle")
            }
            Stop::Kicked(_) | Stop::HeartbeatTimeout => info!(?stop, "closing"),
            _ => debug!(?stop, "closing"),
        }
        if let Some(reason) = stop.close_reason() {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.session.close(Some(reason))).await;
        }
        Metrics::inc(&self.app.metrics.connections_closed);
        self.app.connection_closed.notify_waiters();
    }

    async fn serve(&mut self) -> Stop {
        if self.mode == Mode::Market {
            let hello = self.app.hello();
            if let Err(stop) = self.send(&hello).await {
                return stop;
            }
            if let Some(link) = self.link.take() {
                self.app.hub.connect(self.client, link).await;
            }
            if let Err(stop) = self.deliver_chat_history().await {
                return stop;
            }
        }
        let period = self.app.limits.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // One registration with the shutdown token for the whole loop, not one per wake-up.
        let mut shutdown = std::pin::pin!(self.app.shutdown.clone().cancelled_owned());
        loop {
            let result = tokio::select! {
                biased;
                () = &mut shutdown => Err(Stop::Shutdown),
                kick = kicked(&mut self.kicked) => Err(Stop::Kicked(kick)),
                frame = self.frames.next() => match frame {
                    Some(Ok(inbound)) => {
                        self.last_heard = Instant::now();
                        self.on_inbound_limited(inbound).await
                    }
                    Some(Err(Violation::Close(reason))) => Err(Stop::Violation(reason)),
                    Some(Err(Violation::Lost)) | None => Err(Stop::Lost),
                },
                _ = heartbeat.tick() => self.on_heartbeat().await,
                () = until(self.idle_deadline) => Err(Stop::Idle),
                item = self.outbox.recv() => match item {
                    Some(item) => self.on_outbound(item).await,
                    // The hub let go of this client without a kick: it is shutting down.
                    None => Err(Stop::Shutdown),
                },
            };
            if let Err(stop) = result {
                return stop;
            }
        }
    }

    async fn on_heartbeat(&mut self) -> Result<(), Stop> {
        if self.last_heard.elapsed() >= self.app.limits.heartbeat_timeout {
            Metrics::inc(&self.app.metrics.heartbeat_timeouts);
            return Err(Stop::HeartbeatTimeout);
        }
        let shutdown = self.app.shutdown.clone();
        let deadline = self.last_heard + self.app.limits.heartbeat_timeout;
        tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(Stop::Shutdown),
            kick = kicked(&mut self.kicked) => Err(Stop::Kicked(kick)),
            () = tokio::time::sleep_until(deadline) => Err(Stop::HeartbeatTimeout),
            sent = self.session.ping(b"") => sent.map_err(|_| Stop::Lost),
        }
    }

    /// Applies the rate limit (to every frame: a ping flood is a flood), then handles the frame.
    async fn on_inbound_limited(&mut self, inbound: Inbound) -> Result<(), Stop> {
        if matches!(inbound, Inbound::Close(_)) {
            return self.on_inbound(inbound).await;
        }
        match self.rate.check(self.last_heard) {
            Verdict::Allow => self.on_inbound(inbound).await,
            Verdict::Drop { notify } => {
                Metrics::inc(&self.app.metrics.rate_limited_messages);
                if !notify || self.mode == Mode::Echo {
                    return Ok(());
                }
                let limits = &self.app.limits;
                let message = format!(
                    "too many messages: at most {} per second (bursts of {}); this one was \
                     dropped, and a client that keeps going is disconnected",
                    limits.max_message_rate, limits.message_burst
                );
                self.refuse(ErrorMessage::new(ErrorCode::RateLimited, message))
                    .await
            }
            Verdict::Close => {
                Metrics::inc(&self.app.metrics.rate_limited_messages);
                Err(Stop::Violation(CloseReason {
                    code: CloseCode::from(close::POLICY_VIOLATION),
                    description: Some(close::REASON_RATE_LIMITED.to_owned()),
                }))
            }
        }
    }

    async fn on_inbound(&mut self, inbound: Inbound) -> Result<(), Stop> {
        match inbound {
            Inbound::Text(text) if self.mode == Mode::Echo => self.write(Payload::Text(text)).await,
            Inbound::Binary(bytes) if self.mode == Mode::Echo => {
                self.write(Payload::Binary(bytes)).await
            }
            Inbound::Text(text) => self.on_text(&text).await,
            Inbound::Binary(bytes) => {
                let message = format!(
                    "binary frames are not supported ({} bytes ignored); send JSON text frames",
                    bytes.len()
                );
                self.refuse(ErrorMessage::new(ErrorCode::UnsupportedBinary, message))
                    .await
            }
            Inbound::Ping(payload) => {
                let shutdown = self.app.shutdown.clone();
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => Err(Stop::Shutdown),
                    sent = self.session.pong(&payload) => sent.map_err(|_| Stop::Lost),
                }
            }
            Inbound::Pong => Ok(()),
            Inbound::Close(reason) => Err(Stop::PeerClosed(reason)),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Stop> {
        Metrics::inc(&self.app.metrics.client_messages);
        let message = match decode_client(text) {
            Ok(message) => message,
            Err(err) => {
                debug!(error = %err, "refused client message");
                return self.refuse(err.to_error()).await;
            }
        };
        let universe = &self.app.universe;
        let kind = message.kind();
        match message {
            ClientMessage::Subscribe { symbols } => match universe.resolve(&symbols) {
                Ok(ids) => {
                    if let Err(message) = self.add_subscriptions(&ids) {
                        let error = ErrorMessage::new(ErrorCode::TooManySubscriptions, message);
                        return self.refuse(error.replying_to(kind)).await;
                    }
                    self.app.hub.subscribe(self.client, ids).await
                }
                Err(unknown) => return self.refuse_unknown(kind, &unknown).await,
            },
            ClientMessage::Unsubscribe { symbols } => match universe.resolve(&symbols) {
                Ok(ids) => {
                    self.remove_subscriptions(&ids);
                    self.app.hub.unsubscribe(self.client, ids).await
                }
                Err(unknown) => return self.refuse_unknown(kind, &unknown).await,
            },
            ClientMessage::Resume {
                instance_id,
                last_seq,
            } => match universe.resolve_each(last_seq.keys()) {
                Ok(ids) => {
                    if let Err(message) = self.add_subscriptions(&ids) {
                        let error = ErrorMessage::new(ErrorCode::TooManySubscriptions, message);
                        return self.refuse(error.replying_to(kind)).await;
                    }
                    let same_instance = instance_id == self.app.instance.id;
                    let resume = ids.into_iter().zip(last_seq.into_values()).collect();
                    self.app
                        .hub
                        .resume(self.client, same_instance, resume)
                        .await;
                }
                Err(unknown) => return self.refuse_unknown(kind, &unknown).await,
            },
            ClientMessage::Ping { ts } => self.app.hub.pong(self.client, ts).await,
            ClientMessage::History(request) => match universe.id(request.symbol.as_str()) {
                Some(id) => match self.history.take() {
                    Ok(()) => self.app.hub.history(self.client, id, request).await,
                    Err(refusal) => return self.refuse(refusal).await,
                },
                None => return self.refuse_unknown(kind, &[request.symbol]).await,
            },
            ClientMessage::AddAlert(rule) => self.app.hub.add_alert(self.client, rule).await,
            ClientMessage::RemoveAlert { id } => self.app.hub.remove_alert(self.client, id).await,
            ClientMessage::Chat(post) => self.app.hub.chat(self.client, post).await,
        }
        Ok(())
    }

    /// Records new subscriptions if they fit under the limit; otherwise nothing changes and the
    /// error says why.
    fn add_subscriptions(&mut self, ids: &[SymbolId]) -> Result<(), String> {
        let max = self.app.limits.max_subscriptions as usize;
        let new: HashSet<SymbolId> = ids
            .iter()
            .copied()
            .filter(|id| !self.subscribed.contains(id))
            .collect();
        if self.subscribed.len() + new.len() > max {
            let message = format!(
                "subscribing to {} more symbol(s) would exceed the limit of {max} per \
                 connection ({} now); nothing was changed",
                new.len(),
                self.subscribed.len()
            );
            return Err(message);
        }
        self.subscribed.extend(new);
        if !self.subscribed.is_empty() {
            self.idle_deadline = None;
        }
        Ok(())
    }

    fn remove_subscriptions(&mut self, ids: &[SymbolId]) {
        for id in ids {
            self.subscribed.remove(id);
        }
        if self.subscribed.is_empty() && self.idle_deadline.is_none() {
            self.idle_deadline = Some(Instant::now() + self.app.limits.idle_timeout);
        }
    }

    /// Refuses a `kind` message that named symbols the server does not offer.
    async fn refuse_unknown(&mut self, kind: &str, unknown: &[Symbol]) -> Result<(), Stop> {
        let names: Vec<&str> = unknown.iter().map(Symbol::as_str).collect();
        let message = format!(
            "unknown symbol(s) {}; nothing was changed",
            names.join(", ")
        );
        let error = ErrorMessage::new(ErrorCode::UnknownSymbol, message);
        self.refuse(error.replying_to(kind)).await
    }

    async fn refuse(&mut self, error: ErrorMessage) -> Result<(), Stop> {
        Metrics::inc(&self.app.metrics.client_errors);
        self.send(&error.into()).await
    }

    /// Waits for the hub's first item for this connection, the recent chat (`chat_history`),
    /// and writes it before the loop reads anything from the client: refusals are written
    /// straight to the session, and a bad frame sent right after the upgrade must not overtake
    /// it (`chat_history` is the second message on every connection).
    async fn deliver_chat_history(&mut self) -> Result<(), Stop> {
        let shutdown = self.app.shutdown.clone();
        let first = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Err(Stop::Shutdown),
            // No item: the hub has stopped, so the server is shutting down.
            item = self.outbox.recv() => item.ok_or(Stop::Shutdown)?,
        };
        self.push(first).await
    }

    /// Writes everything the hub has queued for this client so far.
    async fn deliver_queued(&mut self) {
        self.app.hub.sync().await;
        while let Ok(item) = self.outbox.try_recv() {
            if self.push(item).await.is_err() {
                return;
            }
        }
    }

    /// Writes the first queued item and whatever else is already queued (up to [`MAX_DRAIN`]),
    /// each as the frame the hub built: live frames are shared with other clients and written
    /// without copying them here.
    async fn on_outbound(&mut self, first: Outbound) -> Result<(), Stop> {
        self.push(first).await?;
        for _ in 1..MAX_DRAIN {
            match self.outbox.try_recv() {
                Ok(item) => self.push(item).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn push(&mut self, item: Outbound) -> Result<(), Stop> {
        match item {
            Outbound::Live(frame) => self.write(frame.payload.clone()).await,
            Outbound::Message(message) => self.write(Payload::Text(message)).await,
            Outbound::History(page) => {
                self.write(Payload::Text(page)).await?;
                self.history.written();
                Ok(())
            }
        }
    }

    async fn send(&mut self, message: &ServerMessage) -> Result<(), Stop> {
        self.write(Payload::Text(message.to_json().into())).await
    }

    /// Writes one frame, giving up on shutdown, eviction or heartbeat timeout so that a peer
    /// that stopped reading cannot hold the connection.
    async fn write(&mut self, frame: Payload) -> Result<(), Stop> {
        let (len, sending) = match frame {
            Payload::Text(text) => (text.len(), Either::Left(self.session.text(text))),
            Payload::Binary(bytes) => (bytes.len(), Either::Right(self.session.binary(bytes))),
        };
        let mut sending = std::pin::pin!(sending);
        // Usually the session's queue has room and the write completes at once: then no timer
        // is armed and nothing else is watched (the profile showed that bookkeeping per frame).
        match (&mut sending).now_or_never() {
            Some(sent) => sent.map_err(|_| Stop::Lost)?,
            None => {
                let shutdown = self.app.shutdown.clone();
                let deadline = self.last_heard + self.app.limits.heartbeat_timeout;
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return Err(Stop::Shutdown),
                    kick = kicked(&mut self.kicked) => return Err(Stop::Kicked(kick)),
                    () = tokio::time::sleep_until(deadline) => return Err(Stop::HeartbeatTimeout),
                    sent = sending => sent.map_err(|_| Stop::Lost)?,
                }
            }
        }
        let len = len as u64;
        Metrics::inc(&self.app.metrics.frames_sent);
        Metrics::add(&self.app.metrics.bytes_sent, len);
        Ok(())
    }
}

/// Resolves at `deadline`; never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => pending().await,
    }
}

/// Resolves when the hub kicks the client; never if the hub lets go without a kick.
pub(crate) async fn kicked(receiver: &mut Option<oneshot::Receiver<Kick>>) -> Kick {
    let outcome = match receiver.as_mut() {
        Some(receiver) => receiver.await,
        None => pending().await,
    };
    match outcome {
        Ok(kick) => kick,
        Err(_) => {
            *receiver = None;
            pending().await
        }
    }
}
