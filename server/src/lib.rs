//! Ticker's server: simulates a stock market and streams it over WebSocket.
//!
//! How a tick flows, module by module:
//!
//! - [`catalogue`]: the instruments on offer.
//! - [`simulator`]: pure, seeded price model producing ticks in time order.
//! - [`feed`]: paces the simulator against the wall clock and publishes into the bus.
//! - [`bus`]: the market-data bus interface ([`bus::MarketBus`]) and its in-process version.
//! - [`market`]: per-symbol state: last tick, candles, resume history.
//! - [`hub`]: the one task that owns the market and subscriptions and fans ticks out.
//! - [`alert`]: every connection's price alerts, checked by the hub on every tick.
//! - [`chat`]: the desk chat room: recent messages and each connection's chat rate limit.
//! - [`ws`]: the WebSocket endpoint and per-connection loop.
//! - [`sse`]: the same feed as Server-Sent Events, for networks that block WebSockets.
//! - [`app`]: HTTP routes, shared state, health, metrics and static files.
//! - [`admission`]: the Origin check and connection limits applied at the handshake.
//! - [`config`]: command-line flags and environment variables. [`tls`]: `wss://` certificates.
//! - [`admin`]: test knobs (`--enable-admin`): stall one symbol's feed.
//! - [`universe`], [`metrics`]: symbol ids and counters.
//!
//! [`run`] wires them together; `main.rs` only parses the configuration and waits for a signal.

pub mod admin;
pub mod admission;
pub mod alert;
pub mod app;
pub mod bus;
pub mod catalogue;
pub mod chat;
pub mod config;
pub mod feed;
pub mod hub;
pub mod market;
pub mod metrics;
pub mod simulator;
pub mod sse;
pub mod tls;
pub mod universe;
pub mod ws;

use std::{future::Future, net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    app::{Admission, AppState, Instance, Limits},
    bus::{InProcessBus, MarketBus},
    config::Config,
    market::Market,
    metrics::Metrics,
    simulator::{Simulator, SimulatorConfig},
    universe::Universe,
};

/// Ticks the in-process bus buffers for the hub (about a minute of the default market).
const BUS_CAPACITY: usize = 8_192;

/// Runs the server on `listener` until `shutdown` resolves, then closes every WebSocket with
/// 1001 (waiting at most `config.shutdown_grace`) and stops.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.heartbeat_timeout > config.heartbeat_interval,
        "--heartbeat-timeout ({:?}) must be longer than --heartbeat-interval ({:?})",
        config.heartbeat_timeout,
        config.heartbeat_interval
    );
    let instruments = match config.symbol_count {
        Some(count) => catalogue::first(count as usize),
        None => catalogue::select(&config.symbols)?,
    };
    let universe = Arc::new(Universe::new(
        instruments.iter().map(|i| i.info.clone()).collect(),
    ));
    let seed = config.seed.unwrap_or_else(rand::random);
    let instance = Instance::new();
    let backfill_ms = i64::try_from(config.backfill.as_millis()).context("backfill is too long")?;

    let simulation = SimulatorConfig {
        tick_rate: config.tick_rate,
        seed,
    };
    let mut simulator = Simulator::new(&instruments, simulation, instance.started_at - backfill_ms);
    let mut market = Market::new(
        universe.clone(),
        config.history,
        config.candle_history as usize,
    );
    let backfilled = simulator
        .ticks_until(instance.started_at)
        .filter_map(|tick| market.apply(tick))
        .count();
    info!(seed, symbols = universe.len(), backfilled, instance = %instance.id, "market ready");

    let metrics = Arc::new(Metrics::default());
    let bus: Arc<dyn MarketBus> = Arc::new(InProcessBus::new(BUS_CAPACITY));
    let batching = hub::HubConfig {
        window: config.batch_window,
    };
    let (hub, hub_task) = hub::spawn(market, bus.subscribe(), batching, metrics.clone());
    let stalls = config
        .enable_admin
        .then(|| admin::Stalls::new(universe.clone()));
    let gate = stalls.as_ref().map(admin::Stalls::gate);
    let stop_feed = CancellationToken::new();
    let feed_task = tokio::spawn(feed::run(simulator, bus.clone(), gate, stop_feed.clone()));

    let mut state = AppState::new(
        universe,
        hub,
        instance,
        Limits::from_config(&config),
        Admission::from_config(&config),
        metrics.clone(),
    );
    state.echo_route = config.echo_route;
    state.stalls = stalls;
    let state = web::Data::new(state);
    let address = listener.local_addr()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let static_dir = config.static_dir.clone();
    if !static_dir.join("index.html").is_file() {
        warn!(dir = %static_dir.display(), "no built frontend found; run `cargo xtask run` to build it");
    }
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        let state = app_state.clone();
        let static_dir = static_dir.clone();
        App::new().configure(move |routes| app::routes(routes, state, &static_dir))
    })
    .disable_signals()
    // A connection must complete its request (the WebSocket handshake) within this time.
    .client_request_timeout(config.handshake_timeout)
    .shutdown_timeout(config.shutdown_grace.as_secs().max(1))
    // actix-web leaves Nagle's algorithm on; every tick would wait for the previous ACK.
    .on_connect(|connection, _| {
        type TlsStream = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
        let tcp = connection
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .or_else(|| {
                connection
                    .downcast_ref::<TlsStream>()
                    .map(|tls| tls.get_ref().0)
            });
        if let Some(tcp) = tcp {
            let _ = tcp.set_nodelay(true);
        }
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    let server = server.run();
    let handle = server.handle();
    let server_task = actix_web::rt::spawn(server);
    info!("Ticker is live at {scheme}://{}", display_address(address));

    shutdown.await;
    info!("shutting down: closing every connection with 1001");
    state.shutdown.cancel();
    drain_connections(&state, config.shutdown_grace).await;
    handle.stop(true).await;
    stop_feed.cancel();
    bus.close();
    let _ = feed_task.await;
    let _ = hub_task.await;
    server_task.await.context("HTTP server task failed")??;
    info!("stopped");
    Ok(())
}

/// Waits until every connection has ended, or `grace` has passed.
async fn drain_connections(state: &AppState, grace: Duration) {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        // Register interest before checking, so a close between the check and the wait is seen.
        let closed = state.connection_closed.notified();
        let open = state.metrics.connections_open();
        if open == 0 {
            return;
        }
        if tokio::time::timeout_at(deadline, closed).await.is_err() {
            warn!(open, "shutdown grace elapsed with connections still open");
            return;
        }
    }
}

/// The address to show in the start-up message: `localhost` for the unspecified address.
fn display_address(address: std::net::SocketAddr) -> String {
    if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    }
}
