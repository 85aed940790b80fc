//! The load scenario: N clients, opened at a steady rate, each subscribed to K symbols; after
//! every client has connected (or failed to) and a warm-up, T seconds of counting frames,
//! ticks, bytes and tick latency, with the server's CPU time and memory and the bench's own
//! CPU. It drives Ticker's server, a peer from `bench/peers/` (`--peer`), or any server at
//! `--url` that speaks the same messages.

pub mod client;
pub mod report;

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::join_all;
use tokio::sync::{oneshot, watch};

use self::{
    client::{ClientReport, Decode, Encoding, Stage},
    report::Report,
};
use crate::{
    Common, connect, output,
    proc::{self, CpuMark, CpuUse},
    server::{Batching, External, Market, Target},
};

/// How often the server's resident memory is read while measuring.
const RSS_PERIOD: Duration = Duration::from_millis(100);
/// File descriptors the bench needs beyond one per client (and, when the server is its
/// child, which inherits the limit, one more per client there).
const SPARE_FILES: u64 = 256;

/// Options of `ticker-bench load`.
#[derive(clap::Args, Debug, Clone)]
pub struct Load {
    /// Options every scenario shares.
    #[command(flatten)]
    pub common: Common,
    /// An already-running server to drive instead of Ticker's.
    #[command(flatten)]
    pub external: External,
    /// WebSocket clients to open [default: 200, 50 with --quick].
    #[arg(long)]
    pub clients: Option<usize>,
    /// Symbols each client subscribes to: the first K of the server's `hello`; 0 (or K at
    /// least the number of symbols) subscribes to every symbol with `*`.
    #[arg(long, default_value_t = 20)]
    pub symbols: usize,
    /// How long to measure once every client is connected and warmed up, e.g. 10s
    /// [default: 10s, 3s with --quick].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Clients opened per second.
    #[arg(long, default_value_t = 500.0)]
    pub connect_rate: f64,
    /// How long one client may take from connecting to the server's `hello`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// Symbols in the market: Ticker's `--symbol-count`, a peer's `--symbols` (the catalogue's
    /// first ones, then synthetic; ignored with `--url`).
    #[arg(long, default_value_t = 30)]
    pub market_symbols: usize,
    /// Average ticks per second per symbol (Ticker's and the peers' `--tick-rate`; ignored
    /// with `--url`).
    #[arg(long, default_value_t = 10.0)]
    pub tick_rate: f64,
    /// The simulator's seed (Ticker's and the peers' `--seed`), so every run sees the same
    /// market.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How clients read `ticks` frames: `light` scans for the timestamps, `full` decodes
    /// every message with `ticker_shared`.
    #[arg(long, value_enum, default_value_t = Decode::Light)]
    pub decode: Decode,
    /// How clients ask for live ticks: JSON, or Ticker's binary subprotocol.
    #[arg(long, value_enum, default_value_t = Encoding::Json)]
    pub encoding: Encoding,
    /// Whether the server joins ticks into frames (`off`: one tick per frame).
    #[arg(long, value_enum, default_value_t = Batching::On)]
    pub batching: Batching,
    /// Ticker's `--batch-window` (e.g. `5ms`), instead of what `--batching` implies; for
    /// choosing the window by measurement. Ignored by the peers.
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with_all = ["peer", "url"])]
    pub batch_window: Option<Duration>,
}

/// The options with `--quick` and the defaults applied.
#[derive(Debug, Clone)]
struct Settings {
    clients: usize,
    symbols: usize,
    duration: Duration,
    warmup: Duration,
    connect_rate: f64,
    connect_timeout: Duration,
    market_symbols: usize,
    tick_rate: f64,
    seed: u64,
    decode: Decode,
    encoding: Encoding,
    batching: Batching,
    batch_window: Option<Duration>,
}

impl Settings {
    /// The market every server is given.
    fn market(&self) -> Market {
        Market {
            symbols: self.market_symbols,
            tick_rate: self.tick_rate,
            seed: self.seed,
            // An explicit window is Ticker's batching, whatever `--batching` says.
            batching: if self.batch_window.is_some() {
                Batching::On
            } else {
                self.batching
            },
        }
    }

    /// Ticker's flags for this run besides the market's (the port and static directory are
    /// added by [`crate::server::Launch::ticker`]).
    fn server_args(&self) -> Vec<String> {
        // Every client connects from 127.0.0.1; a few more for good measure.
        let connections = (self.clients + 16).to_string();
        let mut args = vec![
            "--backfill".into(),
            "2m".into(),
            "--max-connections".into(),
            connections.clone(),
            "--max-connections-per-ip".into(),
            connections,
        ];
        if let Some(window) = self.batch_window {
            let window = humantime::format_duration(window).to_string();
            args.extend(["--batch-window".into(), window]);
        }
        args
    }
}

/// Everything measured in one run, for the report.
#[derive(Debug)]
struct Measured {
    /// Each client's counts.
    clients: Vec<ClientReport>,
    /// Why connections failed, one entry per failed client.
    connect_errors: Vec<String>,
    /// From the first client's start to the last one's connecting (or failing).
    connect_time: Duration,
    /// How long the counting lasted.
    measured: Duration,
    /// CPU used while counting.
    cpu: CpuUse,
    /// The server's resident memory when counting began and its peak while counting, KiB.
    rss_start_kib: Option<u64>,
    rss_peak_kib: Option<u64>,
    /// The bench's and the server's CPU lists, the load average before the run.
    machine: output::Machine,
    /// The open-file limit the bench ran with.
    open_file_limit: u64,
}

impl Load {
    fn settings(&self) -> Settings {
        let quick = self.common.quick;
        let seconds = |normal, small| Duration::from_secs(if quick { small } else { normal });
        Settings {
            clients: self.clients.unwrap_or(if quick { 50 } else { 200 }),
            symbols: self.symbols,
            duration: self.duration.unwrap_or(seconds(10, 3)),
            warmup: self.common.warmup.unwrap_or(seconds(2, 1)),
            connect_rate: self.connect_rate,
            connect_timeout: self.connect_timeout,
            market_symbols: self.market_symbols,
            tick_rate: self.tick_rate,
            seed: self.seed,
            decode: self.decode,
            encoding: self.encoding,
            batching: self.batching,
            batch_window: self.batch_window,
        }
    }

    /// Runs the scenario, writes the report and prints its JSON line. Figures are reported,
    /// never asserted.
    pub async fn run(self) -> Result<()> {
        let report = self.report().await?;
        output::publish(self.common.report.as_deref(), &report.markdown(), &report)
    }

    /// Runs the scenario and returns its report.
    pub async fn report(&self) -> Result<Report> {
        let settings = self.settings();
        let started = Instant::now();
        // The limit is per process: the bench holds one socket per client, and the server it
        // starts (which inherits the limit) one per connection.
        let wanted_files = settings.clients as u64 + SPARE_FILES;
        let open_file_limit = connect::raise_open_file_limit(wanted_files)?;
        let target = Target::start(
            &self.common,
            &self.external,
            settings.market(),
            settings.server_args(),
        )
        .await?;
        let measured = measure(&target, &settings, open_file_limit).await;
        let warnings = target.warnings();
        let described = target.describe();
        target.stop().await;
        Ok(Report::new(
            &settings,
            described,
            &measured?,
            warnings,
            started.elapsed(),
        ))
    }
}

/// Opens the clients, waits for all of them and the warm-up, then counts.
async fn measure(target: &Target, settings: &Settings, open_file_limit: u64) -> Result<Measured> {
    let load_average = proc::load_average();
    let (stage, stage_rx) = watch::channel(Stage::Warmup);
    let mut connected = Vec::with_capacity(settings.clients);
    let connect_start = Instant::now();
    let clients = connect::staggered(settings.clients, settings.connect_rate, |_| {
        let (done, done_rx) = oneshot::channel();
        connected.push(done_rx);
        client::run(
            target.url.clone(),
            settings.symbols,
            settings.connect_timeout,
            settings.decode,
            settings.encoding,
            stage_rx.clone(),
            done,
        )
    })
    .await;
    let connect_errors: Vec<String> = join_all(connected)
        .await
        .into_iter()
        .filter_map(|outcome| match outcome {
            Ok(Ok(())) => None,
            Ok(Err(reason)) => Some(reason),
            Err(_) => Some("the client task ended before connecting".into()),
        })
        .collect();
    let connect_time = connect_start.elapsed();
    tokio::time::sleep(settings.warmup).await;

    let (stop_sampling, stop_rx) = watch::channel(false);
    let sampler = target
        .pid
        .map(|pid| tokio::spawn(proc::peak_rss(pid, RSS_PERIOD, stop_rx)));
    let rss_start_kib = target.pid.and_then(proc::rss_kib);
    let cpu_start = CpuMark::now(target.pid);
    let measure_start = Instant::now();
    stage.send_replace(Stage::Measure);
    tokio::time::sleep(settings.duration).await;
    stage.send_replace(Stage::Done);
    let measured = measure_start.elapsed();
    let cpu = cpu_start.use_until(&CpuMark::now(target.pid));
    stop_sampling.send_replace(true);
    let rss_peak_kib = match sampler {
        Some(sampler) => sampler.await?,
        None => None,
    };
    let machine = output::Machine::new(
        proc::status_field("self", "Cpus_allowed_list"),
        target
            .pid
            .and_then(|pid| proc::status_field(&pid.to_string(), "Cpus_allowed_list")),
        load_average,
    );
    let mut reports = Vec::with_capacity(clients.len());
    for client in clients {
        reports.push(client.await?);
    }
    Ok(Measured {
        clients: reports,
        connect_errors,
        connect_time,
        measured,
        cpu,
        rss_start_kib,
        rss_peak_kib,
        machine,
        open_file_limit,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use super::*;

    fn parse(args: &[&str]) -> Load {
        crate::parse_options("load", args)
    }

    #[test]
    fn quick_shrinks_the_defaults_but_explicit_flags_win() {
        let normal = parse(&[]).settings();
        assert_eq!(
            (normal.clients, normal.symbols, normal.duration),
            (200, 20, Duration::from_secs(10))
        );
        let quick = parse(&["--quick", "--clients", "7"]).settings();
        assert_eq!(
            (quick.clients, quick.duration, quick.warmup),
            (7, Duration::from_secs(3), Duration::from_secs(1))
        );
    }

    #[test]
    fn server_args_allow_every_client_from_one_address() {
        let args = parse(&["--clients", "1000", "--tick-rate", "50"])
            .settings()
            .server_args()
            .join(" ");
        assert!(args.contains("--max-connections-per-ip 1016"), "{args}");
        assert!(args.contains("--max-connections 1016"), "{args}");
        let market = parse(&["--tick-rate", "50", "--market-symbols", "12"])
            .settings()
            .market();
        assert_eq!((market.symbols, market.tick_rate), (12, 50.0));
    }

    #[test]
    fn a_peer_excludes_a_url() {
        let args = ["--peer", "node", "--url", "ws://127.0.0.1:9/ws"];
        assert!(crate::try_parse_options::<Load>("load", &args).is_err());
        let peer = parse(&["--peer", "python"]).external.peer;
        assert_eq!(peer, Some(crate::server::Peer::Python));
    }

    #[test]
    fn a_pid_needs_a_url() {
        assert!(crate::try_parse_options::<Load>("load", &["--pid", "1"]).is_err());
        let external = parse(&["--url", "ws://127.0.0.1:9/ws", "--pid", "1"]).external;
        assert_eq!(external.pid, Some(1));
    }
}
