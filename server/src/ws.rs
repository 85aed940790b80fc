//! The `/ws` endpoint: the WebSocket handshake and one task per connection.
//!
//! A connection sends `hello`, registers with the hub, then runs one loop over four sources:
//! shutdown and eviction (first, so they win), the client's frames, the heartbeat tick, and the
//! outbound queue the hub fills. Every write also watches shutdown, eviction and the heartbeat
//! deadline, so a peer that stops reading cannot hold the task. Errors stay on their
//! connection: they are answered, logged and counted, and never reach the hub or other clients.

mod inbound;

use std::{future::pending, sync::Arc, time::Duration};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use ticker_shared::{
    ClientMessage, ErrorCode, Hello, PROTOCOL_VERSION, Pong, ServerMessage, Symbol, close,
    codec::TickFrame, decode_client,
};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, MissedTickBehavior},
};
use tracing::{Instrument, debug, info, info_span};

pub use self::inbound::{Inbound, InboundFrames, Violation, violation_for};
use crate::{
    app::AppState,
    feed::unix_millis,
    hub::{ClientId, ClientLink, Kick, Outbound},
    metrics::Metrics,
};

/// Most ticks joined into one outbound frame.
const MAX_TICKS_PER_FRAME: usize = 512;
/// Queue items taken at once before the frame is written, so one busy client cannot starve its
/// own heartbeat and input handling.
const MAX_DRAIN: usize = 1_024;
/// How long a close frame may take to be queued before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Upgrades the request to a WebSocket and spawns the connection's task.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let app = app.into_inner();
    let client = app.next_client_id();
    let peer = req
        .peer_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    let frames = InboundFrames::new(stream, app.limits.max_frame_bytes);
    let connection = Connection::new(client, app, session, frames);
    actix_web::rt::spawn(connection.run().instrument(info_span!("ws", client, %peer)));
    Ok(response)
}

/// Why a connection ended.
#[derive(Debug)]
enum Stop {
    Shutdown,
    Kicked(Kick),
    HeartbeatTimeout,
    PeerClosed(Option<CloseReason>),
    Violation(CloseReason),
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
            Stop::Lost => None,
        }
    }
}

/// One client connection.
struct Connection {
    client: ClientId,
    app: Arc<AppState>,
    session: Session,
    frames: InboundFrames,
    outbox: mpsc::Receiver<Outbound>,
    /// The hub's link to this connection, until it is handed over at registration.
    link: Option<ClientLink>,
    kicked: Option<oneshot::Receiver<Kick>>,
    last_heard: Instant,
    batch: TickFrame,
}

impl Connection {
    fn new(client: ClientId, app: Arc<AppState>, session: Session, frames: InboundFrames) -> Self {
        let (outbox_sender, outbox) = mpsc::channel(app.limits.queue_bound);
        let (kick, kicked) = oneshot::channel();
        Connection {
            client,
            app,
            session,
            frames,
            outbox,
            link: Some(ClientLink {
                outbox: outbox_sender,
                kick,
            }),
            kicked: Some(kicked),
            last_heard: Instant::now(),
            batch: TickFrame::new(),
        }
    }

    async fn run(mut self) {
        Metrics::inc(&self.app.metrics.connections_opened);
        debug!("connected");
        let stop = self.serve().await;
        self.app.hub.disconnect(self.client).await;
        match &stop {
            Stop::Violation(reason) => {
                info!(code = ?reason.code, reason = ?reason.description, "closing: client broke the protocol")
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
        let hello = self.hello();
        if let Err(stop) = self.send(&hello).await {
            return stop;
        }
        if let Some(link) = self.link.take() {
            self.app.hub.connect(self.client, link).await;
        }
        let period = self.app.limits.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let result = tokio::select! {
                biased;
                () = self.app.shutdown.cancelled() => Err(Stop::Shutdown),
                kick = kicked(&mut self.kicked) => Err(Stop::Kicked(kick)),
                frame = self.frames.next() => match frame {
                    Some(Ok(inbound)) => {
                        self.last_heard = Instant::now();
                        self.on_inbound(inbound).await
                    }
                    Some(Err(Violation::Close(reason))) => Err(Stop::Violation(reason)),
                    Some(Err(Violation::Lost)) | None => Err(Stop::Lost),
                },
                _ = heartbeat.tick() => self.on_heartbeat().await,
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

    fn hello(&self) -> ServerMessage {
        ServerMessage::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            instance_id: self.app.instance.id.clone(),
            started_at: self.app.instance.started_at,
            server_time: unix_millis(),
            heartbeat_interval_ms: u64::try_from(self.app.limits.heartbeat_interval.as_millis())
                .unwrap_or(u64::MAX),
            intervals: ticker_shared::Interval::ALL.to_vec(),
            symbols: self.app.universe.infos().to_vec(),
        })
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

    async fn on_inbound(&mut self, inbound: Inbound) -> Result<(), Stop> {
        match inbound {
            Inbound::Text(text) => self.on_text(&text).await,
            Inbound::Binary(len) => {
                let message = format!(
                    "binary frames are not supported ({len} bytes ignored); send JSON text frames"
                );
                self.refuse(ErrorCode::UnsupportedBinary, message).await
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
                return self.refuse(err.code(), err.to_string()).await;
            }
        };
        let universe = &self.app.universe;
        match message {
            ClientMessage::Subscribe { symbols } => match universe.resolve(&symbols) {
                Ok(ids) => self.app.hub.subscribe(self.client, ids).await,
                Err(unknown) => return self.refuse_unknown(&unknown).await,
            },
            ClientMessage::Unsubscribe { symbols } => match universe.resolve(&symbols) {
                Ok(ids) => self.app.hub.unsubscribe(self.client, ids).await,
                Err(unknown) => return self.refuse_unknown(&unknown).await,
            },
            ClientMessage::Resume {
                instance_id,
                last_seq,
            } => match universe.resolve_each(last_seq.keys()) {
                Ok(ids) => {
                    let same_instance = instance_id == self.app.instance.id;
                    let resume = ids.into_iter().zip(last_seq.into_values()).collect();
                    self.app
                        .hub
                        .resume(self.client, same_instance, resume)
                        .await;
                }
                Err(unknown) => return self.refuse_unknown(&unknown).await,
            },
            ClientMessage::Ping { ts } => {
                let pong = ServerMessage::Pong(Pong {
                    ts,
                    server_time: unix_millis(),
                });
                return self.send(&pong).await;
            }
        }
        Ok(())
    }

    async fn refuse_unknown(&mut self, unknown: &[Symbol]) -> Result<(), Stop> {
        let names: Vec<&str> = unknown.iter().map(Symbol::as_str).collect();
        let message = format!(
            "unknown symbol(s) {}; nothing was changed",
            names.join(", ")
        );
        self.refuse(ErrorCode::UnknownSymbol, message).await
    }

    async fn refuse(&mut self, code: ErrorCode, message: String) -> Result<(), Stop> {
        Metrics::inc(&self.app.metrics.client_errors);
        self.send(&ServerMessage::error(code, message)).await
    }

    /// Writes the first queued item and whatever else is already queued, joining consecutive
    /// ticks into `ticks` frames.
    async fn on_outbound(&mut self, first: Outbound) -> Result<(), Stop> {
        self.push(first).await?;
        for _ in 1..MAX_DRAIN {
            match self.outbox.try_recv() {
                Ok(item) => self.push(item).await?,
                Err(_) => break,
            }
        }
        self.flush().await
    }

    async fn push(&mut self, item: Outbound) -> Result<(), Stop> {
        match item {
            Outbound::Tick(tick) => {
                if self.batch.len() >= MAX_TICKS_PER_FRAME {
                    self.flush().await?;
                }
                self.batch.push(&tick);
                Ok(())
            }
            Outbound::Message(message) => {
                self.flush().await?;
                self.write(message).await
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        match self.batch.finish() {
            Some(frame) => self.write(frame.into()).await,
            None => Ok(()),
        }
    }

    async fn send(&mut self, message: &ServerMessage) -> Result<(), Stop> {
        self.write(message.to_json().into()).await
    }

    /// Writes one text frame, giving up on shutdown, eviction or heartbeat timeout so that a
    /// peer that stopped reading cannot hold the connection.
    async fn write(&mut self, frame: ByteString) -> Result<(), Stop> {
        let len = frame.len() as u64;
        let shutdown = self.app.shutdown.clone();
        let deadline = self.last_heard + self.app.limits.heartbeat_timeout;
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Err(Stop::Shutdown),
            kick = kicked(&mut self.kicked) => return Err(Stop::Kicked(kick)),
            () = tokio::time::sleep_until(deadline) => return Err(Stop::HeartbeatTimeout),
            sent = self.session.text(frame) => sent.map_err(|_| Stop::Lost)?,
        }
        Metrics::inc(&self.app.metrics.frames_sent);
        Metrics::add(&self.app.metrics.bytes_sent, len);
        Ok(())
    }
}

/// Resolves when the hub kicks the client; never if the hub lets go without a kick.
async fn kicked(receiver: &mut Option<oneshot::Receiver<Kick>>) -> Kick {
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
