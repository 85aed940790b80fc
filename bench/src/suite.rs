//! The comparison suite (`ticker-bench suite`, what `cargo xtask bench` runs with no
//! arguments): Ticker and the two peers in `bench/peers/`, one after another under identical
//! load, in three scenarios: latency at a modest rate, idle memory per connection, and a
//! throughput sweep; then one markdown page (`docs/BENCHMARKS.md`) with the servers side by
//! side.
//!
//! The scenarios run in this process, through the same `Load` and `Idle` code as
//! `ticker-bench load` and `idle`, rather than as `ticker-bench` runs orchestrated by xtask
//! whose JSON lines would be merged: the suite then reads the reports as typed values (no
//! second definition of their JSON shape to keep in step), and the markdown is made, and
//! tested, next to the reports it summarises.

mod markdown;

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::{
    Common,
    idle::{self, Idle},
    load::{
        self, Load,
        client::{Decode, Encoding},
    },
    output,
    server::{Batching, External, Peer},
};

/// Options of `ticker-bench suite`.
#[derive(clap::Args, Debug, Clone)]
pub struct Suite {
    /// Ticker's server binary.
    #[arg(long, default_value = "target/release/ticker-server")]
    pub server: PathBuf,
    /// Where the peers are (installed by `cargo xtask bench`).
    #[arg(long, default_value = "bench/peers")]
    pub peers_dir: PathBuf,
    /// Run each server pinned to these CPUs (`taskset -c` syntax); pin the bench itself to
    /// the others with `taskset -c 1 ticker-bench suite ...`.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Where to write the markdown page (each run's JSON line goes to standard output).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    pub report: PathBuf,
    /// The servers to compare, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ticker,ticker-binary,python,node"
    )]
    pub servers: Vec<Contender>,
    /// Symbols in the market every server simulates.
    #[arg(long, default_value_t = 30)]
    pub market_symbols: usize,
    /// The generators' seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Latency scenario: clients.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Latency scenario: symbols each client subscribes to (the market's first ones).
    #[arg(long, default_value_t = 20)]
    pub symbols: usize,
    /// Latency scenario: average ticks per second per symbol.
    #[arg(long, default_value_t = 4.0)]
    pub tick_rate: f64,
    /// Latency scenario: how long to measure.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Warm-up before every measurement (latency and sweeps).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Idle scenario: connections per server.
    #[arg(long, default_value_t = 10_000)]
    pub idle_clients: usize,
    /// Sweeps: clients, each subscribed to every symbol.
    #[arg(long, default_value_t = 1_000)]
    pub sweep_clients: usize,
    /// Batched sweep: tick rates per symbol, in increasing order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10,20,40,70,100,150,200,300,400,800"
    )]
    pub sweep_rates: Vec<f64>,
    /// One-tick-per-frame sweep (batching off everywhere): clients, each subscribed to every
    /// symbol. Fewer than the batched sweep: a peer writing every tick to 1,000 clients one
    /// after another is over 25 ms at p99 from the lowest rate on.
    #[arg(long, default_value_t = 200)]
    pub unbatched_clients: usize,
    /// One-tick-per-frame sweep: tick rates per symbol.
    #[arg(long, value_delimiter = ',', default_value = "2,5,10,20,50,100,200")]
    pub unbatched_rates: Vec<f64>,
    /// Sweeps: how long to measure each rate.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub sweep_duration: Duration,
    /// Sweeps: a server's sweep stops after the first rate where its p99 exceeds this (or it
    /// loses a client, delivers under 90 % of the ticks, or logs a warning).
    #[arg(long, default_value_t = 25.0)]
    pub sweep_p99_limit_ms: f64,
    /// Ticker's batch windows to compare (sweep clients, every symbol, at `--window-rate`).
    #[arg(long, value_delimiter = ',', value_parser = humantime::parse_duration, default_value = "0s,2ms,5ms,10ms,20ms")]
    pub windows: Vec<Duration>,
    /// The tick rate per symbol of the window comparison.
    #[arg(long, default_value_t = 40.0)]
    pub window_rate: f64,
}

/// A server the suite compares, with how its clients ask for ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contender {
    /// Ticker's binary, clients speaking JSON (the default protocol).
    Ticker,
    /// Ticker's binary, clients negotiating the binary subprotocol.
    TickerBinary,
    /// The Python `websockets` peer.
    Python,
    /// The Node `ws` peer.
    Node,
}

impl Contender {
    fn peer(self) -> Option<Peer> {
        match self {
            Contender::Ticker | Contender::TickerBinary => None,
            Contender::Python => Some(Peer::Python),
            Contender::Node => Some(Peer::Node),
        }
    }

    /// Whether this is one of the peers (not Ticker).
    pub fn is_peer(self) -> bool {
        self.peer().is_some()
    }

    fn encoding(self) -> Encoding {
        match self {
            Contender::TickerBinary => Encoding::Binary,
            _ => Encoding::Json,
        }
    }

    /// Its name in the page.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Ticker => "Ticker",
            Contender::TickerBinary => "Ticker, binary",
            Contender::Python => "Python websockets",
            Contender::Node => "Node ws",
        }
    }
}

/// The outcome of one run: its report, or why it failed.
pub type Outcome<T> = std::result::Result<T, String>;

/// A server's sweep: each rate run, in order, with its outcome.
pub type Sweep = Vec<(f64, Outcome<load::report::Report>)>;

/// What the page is made of.
#[derive(Debug)]
pub struct Results {
    /// The suite's command line.
    pub command: String,
    /// When the suite began (UTC).
    pub date: String,
    /// The machine, from the first report that ran.
    pub machine: Option<output::Machine>,
    /// The suite's options.
    pub options: Suite,
    /// Latency: one per server.
    pub latency: Vec<(Contender, Outcome<load::report::Report>)>,
    /// Idle memory: one per server (Ticker once: the encoding does not matter).
    pub idle: Vec<(Contender, Outcome<idle::Report>)>,
    /// The batched sweep: per server, the rates run in order.
    pub sweep: Vec<(Contender, Sweep)>,
    /// The one-tick-per-frame sweep (batching off everywhere).
    pub unbatched: Vec<(Contender, Sweep)>,
    /// Ticker's batch windows compared.
    pub windows: Vec<(Duration, Outcome<load::report::Report>)>,
    /// The whole suite, in seconds.
    pub run_seconds: f64,
}

impl Suite {
    fn common(&self, warmup: Duration) -> Common {
        Common {
            server: self.server.clone(),
            server_cpus: self.server_cpus.clone(),
            report: None,
            quick: false,
            warmup: Some(warmup),
        }
    }

    fn external(&self, contender: Contender) -> External {
        External {
            peer: contender.peer(),
            peers_dir: self.peers_dir.clone(),
            url: None,
            pid: None,
        }
    }

    /// The load run of `contender`: `clients` × `symbols` (0: all) at `tick_rate`.
    fn load(&self, contender: Contender, shape: Shape, batching: Batching) -> Load {
        Load {
            common: self.common(self.warmup),
            external: self.external(contender),
            clients: Some(shape.clients),
            symbols: shape.symbols,
            duration: Some(shape.duration),
            connect_rate: 500.0,
            connect_timeout: Duration::from_secs(10),
            market_symbols: self.market_symbols,
            tick_rate: shape.tick_rate,
            seed: self.seed,
            decode: Decode::Light,
            encoding: contender.encoding(),
            batching,
            batch_window: None,
        }
    }

    /// A sweep's shape at `rate`: `clients`, each subscribed to every symbol.
    fn sweep_shape(&self, clients: usize, tick_rate: f64) -> Shape {
        Shape {
            clients,
            symbols: 0,
            tick_rate,
            duration: self.sweep_duration,
        }
    }

    /// Runs `rates` against each of `contenders` with `batching`, each server until the first
    /// rate it does not keep up with.
    async fn sweep(
        &self,
        what: &str,
        contenders: &[Contender],
        (clients, rates): (usize, &[f64]),
        batching: Batching,
    ) -> Result<Vec<(Contender, Sweep)>> {
        let mut sweeps = Vec::new();
        for &contender in contenders {
            let mut done = Vec::new();
            for &rate in rates {
                progress(&format!("{what}: {} at {rate} ticks/s", contender.name()));
                let load = self.load(contender, self.sweep_shape(clients, rate), batching);
                let outcome = emit(load.report().await)?;
                let go_on = outcome
                    .as_ref()
                    .is_ok_and(|report| markdown::sustained(report, self.sweep_p99_limit_ms));
                done.push((rate, outcome));
                if !go_on {
                    break;
                }
            }
            sweeps.push((contender, done));
        }
        Ok(sweeps)
    }

    /// Runs every scenario against every server, writes the page and prints every run's
    /// JSON line. Figures are reported, never asserted; a server that fails to start or
    /// breaks down is reported as such and the suite goes on.
    pub async fn run(self) -> Result<()> {
        let started = std::time::Instant::now();
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let mut latency = Vec::new();
        for &contender in &self.servers {
            progress(&format!("latency: {}", contender.name()));
            let shape = Shape {
                clients: self.clients,
                symbols: self.symbols,
                tick_rate: self.tick_rate,
                duration: self.duration,
            };
            let load = self.load(contender, shape, Batching::On);
            latency.push((contender, emit(load.report().await)?));
        }
        let mut idle = Vec::new();
        for &contender in self
            .servers
            .iter()
            .filter(|&&c| c != Contender::TickerBinary)
        {
            progress(&format!(
                "idle memory: {} ({} connections)",
                contender.name(),
                self.idle_clients
            ));
            let run = Idle {
                common: self.common(self.warmup),
                external: self.external(contender),
                clients: Some(self.idle_clients),
                connect_rate: 1_000.0,
                connect_timeout: Duration::from_secs(10),
                hold: Duration::from_secs(3),
            };
            idle.push((contender, emit(run.report().await)?));
        }
        let sweep = self
            .sweep(
                "sweep",
                &self.servers,
                (self.sweep_clients, &self.sweep_rates),
                Batching::On,
            )
            .await?;
        let unbatched: Vec<Contender> = self
            .servers
            .iter()
            .copied()
            .filter(|&c| c != Contender::TickerBinary)
            .collect();
        let unbatched = self
            .sweep(
                "one tick per frame",
                &unbatched,
                (self.unbatched_clients, &self.unbatched_rates),
                Batching::Off,
            )
            .await?;
        let mut windows = Vec::new();
        if self.servers.contains(&Contender::Ticker) {
            for &window in &self.windows {
                progress(&format!(
                    "batch window {}",
                    humantime::format_duration(window)
                ));
                let mut load = self.load(
                    Contender::Ticker,
                    self.sweep_shape(self.sweep_clients, self.window_rate),
                    Batching::On,
                );
                load.batch_window = Some(window);
                windows.push((window, emit(load.report().await)?));
            }
        }
        let machine = latency
            .iter()
            .find_map(|(_, outcome)| outcome.as_ref().ok().map(|r| r.machine.clone()));
        let results = Results {
            command: output::command_line(),
            date,
            machine,
            options: self.clone(),
            latency,
            idle,
            sweep,
            unbatched,
            windows,
            run_seconds: started.elapsed().as_secs_f64(),
        };
        let page = markdown::page(&results);
        if let Some(parent) = self.report.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&self.report, page)
            .with_context(|| format!("cannot write {}", self.report.display()))?;
        progress(&format!("wrote {}", self.report.display()));
        Ok(())
    }
}

/// The load of one run.
#[derive(Debug, Clone, Copy)]
struct Shape {
    clients: usize,
    /// Symbols per client; 0 for all.
    symbols: usize,
    tick_rate: f64,
    duration: Duration,
}

/// Prints a report's JSON line (or the failure, on standard error) and keeps it.
fn emit<T: Serialize>(outcome: Result<T>) -> Result<Outcome<T>> {
    match outcome {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report)?);
            Ok(Ok(report))
        }
        Err(err) => {
            let reason = format!("{err:#}");
            eprintln!("ticker-bench suite: run failed: {reason}");
            Ok(Err(reason))
        }
    }
}

/// Says on standard error what the suite is doing.
fn progress(what: &str) {
    eprintln!("ticker-bench suite: {what}");
}
