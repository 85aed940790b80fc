//! The HTTP application: routes, shared state, static files, health and metrics.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use actix_files::Files;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Serialize;
use ticker_shared::{Hello, PROTOCOL_VERSION, ServerMessage};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use tracing::info;

use crate::{
    admin::{self, Stalls},
    admission::{ConnectionLimits, ConnectionPermit, OriginPolicy, Refusal},
    config::Config,
    feed::unix_millis,
    hub::HubHandle,
    metrics::Metrics,
    sse,
    universe::Universe,
    ws,
};

/// Identity of this server process, sent in `hello`.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Random id, different on every start; lets clients tell a restart from a dropped link.
    pub id: String,
    /// Start time, Unix milliseconds.
    pub started_at: i64,
}

impl Instance {
    /// A fresh identity for a process starting now.
    pub fn new() -> Self {
        Instance {
            id: format!("{:016x}", rand::random::<u64>()),
            started_at: unix_millis(),
        }
    }
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-connection limits and timings, from the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Capacity of each client's outbound queue, in messages.
    pub queue_bound: usize,
    /// Largest frame or reassembled message accepted from a client, in bytes.
    pub max_frame_bytes: usize,
    /// How often the server pings.
    pub heartbeat_interval: Duration,
    /// Silence after which a client is dropped.
    pub heartbeat_timeout: Duration,
    /// Messages per second a client may send on average.
    pub max_message_rate: u32,
    /// Messages a client may send at once above the average.
    pub message_burst: u32,
    /// Most symbols one connection may subscribe to.
    pub max_subscriptions: u32,
    /// Time a connection may stay subscribed to nothing.
    pub idle_timeout: Duration,
}

impl Limits {
    /// The limits `config` asks for.
    pub fn from_config(config: &Config) -> Self {
        Limits {
            queue_bound: config.queue_bound as usize,
            max_frame_bytes: config.max_frame_bytes as usize,
            heartbeat_interval: config.heartbeat_interval,
            heartbeat_timeout: config.heartbeat_timeout,
            max_message_rate: config.max_message_rate,
            message_burst: config.message_burst,
            max_subscriptions: config.max_subscriptions,
            idle_timeout: config.idle_timeout,
        }
    }
}

/// Who may connect: the Origin policy and the connection limits.
#[derive(Debug)]
pub struct Admission {
    /// Which pages may open a connection.
    pub origins: OriginPolicy,
    /// How many connections may be open.
    pub connections: Arc<ConnectionLimits>,
}

impl Admission {
    /// The admission rules `config` asks for.
    pub fn from_config(config: &Config) -> Self {
        Admission {
            origins: OriginPolicy::new(&config.allowed_origins),
            connections: ConnectionLimits::new(
                config.max_connections,
                config.max_connections_per_ip,
            ),
        }
    }
}

/// State shared by every request handler and connection.
#[derive(Debug)]
pub struct AppState {
    /// The symbols on offer.
    pub universe: Arc<Universe>,
    /// The fan-out hub.
    pub hub: HubHandle,
    /// This process's identity.
    pub instance: Instance,
    /// Per-connection limits.
    pub limits: Limits,
    /// Handshake checks: Origin and connection counts.
    pub admission: Admission,
    /// Whether `/echo` is routed (conformance tests only).
    pub echo_route: bool,
    /// The symbols whose feed is stalled, when the admin routes are on (`--enable-admin`).
    pub stalls: Option<Arc<Stalls>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Cancelled on shutdown: every connection then closes with 1001.
    pub shutdown: CancellationToken,
    /// Notified whenever a connection ends, so shutdown can wait for all of them.
    pub connection_closed: Notify,
    next_client: AtomicU64,
}

impl AppState {
    /// Shared state over an already running hub.
    pub fn new(
        universe: Arc<Universe>,
        hub: HubHandle,
        instance: Instance,
        limits: Limits,
        admission: Admission,
        metrics: Arc<Metrics>,
    ) -> Self {
        AppState {
            universe,
            hub,
            instance,
            limits,
            admission,
            echo_route: false,
            stalls: None,
            metrics,
            shutdown: CancellationToken::new(),
            connection_closed: Notify::new(),
            next_client: AtomicU64::new(1),
        }
    }

    /// Admits a long-lived connection (WebSocket or event stream): checks the Origin and takes
    /// a place under the connection limits, refusing with 403 or 503.
    pub fn admit(&self, req: &HttpRequest) -> Result<ConnectionPermit, Refusal> {
        let admitted = self.admission.origins.check(req).and_then(|()| {
            let ip = req.peer_addr().map(|addr| addr.ip());
            self.admission.connections.admit(ip)
        });
        if let Err(refusal) = &admitted {
            Metrics::inc(&self.metrics.handshakes_refused);
            info!(%refusal, "handshake refused");
        }
        admitted
    }

    /// The `hello` every connection starts with, WebSocket or event stream.
    pub fn hello(&self) -> ServerMessage {
        ServerMessage::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            instance_id: self.instance.id.clone(),
            started_at: self.instance.started_at,
            server_time: unix_millis(),
            heartbeat_interval_ms: u64::try_from(self.limits.heartbeat_interval.as_millis())
                .unwrap_or(u64::MAX),
            intervals: ticker_shared::Interval::ALL.to_vec(),
            symbols: self.universe.infos().to_vec(),
        })
    }

    /// A new, unique connection id.
    pub fn next_client_id(&self) -> u64 {
        self.next_client.fetch_add(1, Ordering::Relaxed)
    }
}

/// Registers every route: `/ws`, `/sse`, `/healthz`, `/metrics`, `/echo` and `/admin/…` when
/// enabled, and the frontend at `/`.
pub fn routes(config: &mut web::ServiceConfig, state: web::Data<AppState>, static_dir: &Path) {
    let echo_route = state.echo_route;
    let admin = state.stalls.is_some();
    config
        .app_data(state)
        .route("/ws", web::get().to(ws::upgrade))
        .route("/sse", web::get().to(sse::stream))
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
    if echo_route {
        config.route("/echo", web::get().to(ws::echo));
    }
    if admin {
        config.configure(admin::routes);
    }
    if static_dir.join("index.html").is_file() {
        config.service(
            Files::new("/", static_dir)
                .index_file("index.html")
                .prefer_utf8(true),
        );
    } else {
        config.route("/", web::get().to(frontend_missing));
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    instance_id: String,
    uptime_ms: i64,
    connections: u64,
    symbols: usize,
}

async fn healthz(state: web::Data<AppState>) -> impl Responder {
    web::Json(Health {
        status: "ok",
        instance_id: state.instance.id.clone(),
        uptime_ms: unix_millis() - state.instance.started_at,
        connections: state.metrics.connections_open(),
        symbols: state.universe.len(),
    })
    .customize()
    .insert_header(("cache-control", "no-store"))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render_prometheus())
}

async fn frontend_missing() -> HttpResponse {
    HttpResponse::ServiceUnavailable().content_type("text/html; charset=utf-8").body(
        "<!doctype html><title>Ticker</title><h1>Ticker</h1>\
         <p>The server is running, but the dashboard has not been built.</p>\
         <p>Run <code>cargo xtask run</code> (or <code>trunk build --release</code>, then restart the server).</p>\
         <p>The WebSocket feed is at <code>/ws</code>, health at <a href=\"/healthz\">/healthz</a>.</p>",
    )
}
