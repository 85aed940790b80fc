//! Server configuration: command-line flags, each with an environment-variable fallback.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::Parser;

use crate::market::SNAPSHOT_CANDLES;

/// Ticker's server: simulates a stock market and streams it over WebSocket to the dashboard.
#[derive(Debug, Clone, Parser)]
#[command(name = "ticker-server", version, about)]
pub struct Config {
    /// Address to listen on. Use 0.0.0.0 to accept connections from other machines.
    #[arg(long, env = "TICKER_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "TICKER_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Comma-separated symbols to simulate, e.g. AAPL,MSFT (default: the whole catalogue).
    #[arg(long, env = "TICKER_SYMBOLS", value_delimiter = ',')]
    pub symbols: Vec<String>,

    /// Simulate this many symbols instead: the catalogue's first ones, then synthetic `SIM0031`…
    /// (for benchmarks; not with `--symbols`; past 256, raise `--max-subscriptions` too).
    #[arg(long, env = "TICKER_SYMBOL_COUNT", conflicts_with = "symbols", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub symbol_count: Option<u32>,

    /// Average ticks per second per symbol (random spacing around it).
    #[arg(long, env = "TICKER_TICK_RATE", default_value_t = 4.0, value_parser = parse_tick_rate)]
    pub tick_rate: f64,

    /// Seed of the simulator: the same seed gives the same stream (default: random, logged).
    #[arg(long, env = "TICKER_SEED")]
    pub seed: Option<u64>,

    /// Market history simulated before start so charts are full at once, e.g. 1h, 10m, 0s.
    #[arg(long, env = "TICKER_BACKFILL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub backfill: Duration,

    /// PEM file with the TLS certificate chain; with `--tls-key`, the server speaks HTTPS and
    /// `wss://` instead of plain HTTP and `ws://`.
    #[arg(long, env = "TICKER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with the TLS private key (PKCS#8, PKCS#1 or SEC1) for `--tls-cert`.
    #[arg(long, env = "TICKER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Directory of the built frontend served at `/` (made by `trunk build --release`).
    #[arg(long, env = "TICKER_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// How often the server pings each client.
    #[arg(long, env = "TICKER_HEARTBEAT_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,

    /// A client silent (no frame, not even a pong) for this long is disconnected.
    #[arg(long, env = "TICKER_HEARTBEAT_TIMEOUT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub heartbeat_timeout: Duration,

    /// How long live ticks gather before they go out: each client gets at most one frame of
    /// ticks per window, shared with every client subscribed to the same symbols. `0s` sends
    /// every tick in a frame of its own (batching off). At most 1s. The default is measured:
    /// see docs/BENCHMARKS.md, "Choosing the batch window".
    #[arg(long, env = "TICKER_BATCH_WINDOW", default_value = "10ms", value_parser = parse_batch_window)]
    pub batch_window: Duration,

    /// Messages a client's outbound queue holds before the client counts as too slow and is
    /// disconnected (it can resume without loss).
    #[arg(long, env = "TICKER_QUEUE_BOUND", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub queue_bound: u32,

    /// Ticks kept per symbol so a reconnecting client can resume without a gap.
    #[arg(long, env = "TICKER_HISTORY", default_value_t = 2048)]
    pub history: usize,

    /// Candles kept per symbol and interval for `history` requests (a snapshot sends the newest
    /// 120). Memory: at most symbols × 4 intervals × this × 48 bytes (30 symbols at the
    /// default: about 21 MB). The default holds an hour of 1 s candles, the default backfill.
    #[arg(long, env = "TICKER_CANDLE_HISTORY", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(SNAPSHOT_CANDLES as i64..=100_000))]
    pub candle_history: u32,

    /// Largest WebSocket frame or message a client may send, in bytes; larger closes with 1009.
    #[arg(long, env = "TICKER_MAX_FRAME_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    pub max_frame_bytes: u32,

    /// Origins (scheme://host[:port]) whose pages may open a WebSocket, comma-separated; `*`
    /// allows any. The page's own origin is always allowed; a client without an Origin header
    /// (not a browser) is too. Anything else is refused at the handshake with 403.
    #[arg(long, env = "TICKER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Most connections open at once; more are refused at the handshake with 503.
    #[arg(long, env = "TICKER_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: u32,

    /// Most connections open at once from one IP address; more are refused with 503.
    #[arg(long, env = "TICKER_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,

    /// Messages per second a client may send (frames of any kind, averaged); faster ones are
    /// dropped with a `rate_limited` error, and a client that keeps going is closed with 1008.
    #[arg(long, env = "TICKER_MAX_MESSAGE_RATE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_rate: u32,

    /// Messages a client may send in a burst above the rate.
    #[arg(long, env = "TICKER_MESSAGE_BURST", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,

    /// Most symbols one connection may be subscribed to.
    #[arg(long, env = "TICKER_MAX_SUBSCRIPTIONS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_subscriptions: u32,

    /// Time a new connection has to send its complete HTTP request (the WebSocket handshake);
    /// half-open or stalled connections are closed after it.
    #[arg(long, env = "TICKER_HANDSHAKE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// A WebSocket subscribed to nothing for this long is closed with 1008.
    #[arg(long, env = "TICKER_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Also serve `/echo`: a WebSocket echo over the same session loop, close-code mapping and
    /// limits as `/ws`, for protocol-conformance tests (Autobahn). Off by default.
    #[arg(long, env = "TICKER_ECHO_ROUTE")]
    pub echo_route: bool,

    /// Also serve the test knobs `POST /admin/stall/{symbol}` and `POST /admin/unstall/{symbol}`,
    /// which stop and resume the feed of one symbol (for the browser test of staleness). Off by
    /// default; never enable it on a public server.
    #[arg(long, env = "TICKER_ENABLE_ADMIN")]
    pub enable_admin: bool,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "TICKER_WORKERS")]
    pub workers: Option<usize>,

    /// On SIGINT/SIGTERM, how long clients get to receive their close frames before exit.
    #[arg(long, env = "TICKER_SHUTDOWN_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

fn parse_tick_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|err| format!("{err}"))?;
    if rate.is_finite() && rate > 0.0 && rate <= 10_000.0 {
        Ok(rate)
    } else {
        Err("must be a number of ticks per second above 0 and at most 10000".into())
    }
}

fn parse_batch_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if window <= Duration::from_secs(1) {
        Ok(window)
    } else {
        Err("must be at most 1s (a longer window only delays prices)".into())
    }
}

impl Config {
    /// Defaults for tests and tools: all flags at their default values, port 0 and no backfill.
    pub fn for_tests() -> Self {
        // unwrap: the defaults parse; `defaults_parse` checks it.
        let mut config = Config::try_parse_from(["ticker-server"]).expect("defaults parse");
        config.port = 0;
        config.backfill = Duration::ZERO;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let config = Config::try_parse_from(["ticker-server"]).unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.bind.to_string(), "127.0.0.1");
        assert_eq!(config.heartbeat_interval, Duration::from_secs(5));
        assert!(config.symbols.is_empty());
        assert_eq!(config.candle_history, 3600);
    }

    #[test]
    fn flags_parse_durations_and_lists() {
        let config = Config::try_parse_from([
            "ticker-server",
            "--symbols",
            "AAPL,MSFT",
            "--backfill",
            "10m",
            "--tick-rate",
            "2.5",
            "--seed",
            "7",
        ])
        .unwrap();
        assert_eq!(config.symbols, ["AAPL", "MSFT"]);
        assert_eq!(config.backfill, Duration::from_secs(600));
        assert_eq!(config.tick_rate, 2.5);
        assert_eq!(config.seed, Some(7));
        let unbatched = Config::try_parse_from(["ticker-server", "--batch-window", "0s"]).unwrap();
        assert_eq!(unbatched.batch_window, Duration::ZERO);
    }

    #[test]
    fn a_symbol_count_excludes_a_symbol_list() {
        let config = Config::try_parse_from(["ticker-server", "--symbol-count", "100"]).unwrap();
        assert_eq!(config.symbol_count, Some(100));
        let err =
            Config::try_parse_from(["ticker-server", "--symbols", "AAPL", "--symbol-count", "5"])
                .unwrap_err();
        assert!(err.to_string().contains("--symbol-count"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_a_message() {
        for args in [
            ["--tick-rate", "0"],
            ["--tick-rate", "fast"],
            ["--queue-bound", "1"],
            ["--backfill", "soon"],
            ["--tls-cert", "cert.pem"],
            ["--symbol-count", "0"],
            ["--batch-window", "2s"],
            ["--candle-history", "119"],
        ] {
            let err =
                Config::try_parse_from(std::iter::once("ticker-server").chain(args)).unwrap_err();
            assert!(err.to_string().contains(args[0]), "{err}");
        }
    }
}
