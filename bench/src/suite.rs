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
    load::{self, Load, client::Decode},
    output,
    server::{External, Peer},
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
        default_value = "ticker,python,node"
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
    /// Warm-up before every measurement (latency and sweep).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Idle scenario: connections per server (`ticker-bench idle` alone defaults to 10,000,
    /// which takes long on a small machine).
    #[arg(long, default_value_t = 2_000)]
    pub idle_clients: usize,
    /// Sweep: tick rates per symbol, in increasing order; every client subscribes to every
    /// symbol. (On a 2-core machine each peer kept up with 800 and every server with 200;
    /// lower rates told little.)
    #[arg(long, value_delimiter = ',', default_value = "100,200,400,800")]
    pub sweep_rates: Vec<f64>,
    /// Sweep: how long to measure each rate.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub sweep_duration: Duration,
    /// Sweep: a server's sweep stops after the first rate where its p99 exceeds this (or it
    /// loses a client, delivers under 90 % of the ticks, or logs a warning).
    #[arg(long, default_value_t = 25.0)]
    pub sweep_p99_limit_ms: f64,
}

/// A server the suite compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contender {
    /// Ticker's binary.
    Ticker,
    /// The Python `websockets` peer.
    Python,
    /// The Node `ws` peer.
    Node,
}

impl Contender {
    fn peer(self) -> Option<Peer> {
        match self {
            Contender::Ticker => None,
            Contender::Python => Some(Peer::Python),
            Contender::Node => Some(Peer::Node),
        }
    }

    /// Its name in the page.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Ticker => "Ticker",
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
    /// Idle memory: one per server.
    pub idle: Vec<(Contender, Outcome<idle::Report>)>,
    /// The sweep: per server, the rates run in order.
    pub sweep: Vec<(Contender, Sweep)>,
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

    /// The load run of `contender` with `clients` × `symbols` at `tick_rate` for `duration`.
    fn load(
        &self,
        contender: Contender,
        symbols: usize,
        tick_rate: f64,
        duration: Duration,
    ) -> Load {
        Load {
            common: self.common(self.warmup),
            external: self.external(contender),
            clients: Some(self.clients),
            symbols,
            duration: Some(duration),
            connect_rate: 500.0,
            connect_timeout: Duration::from_secs(10),
            market_symbols: self.market_symbols,
            tick_rate,
            seed: self.seed,
            decode: Decode::Light,
            encoding: load::client::Encoding::Json,
            batching: crate::server::Batching::On,
        }
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
            let load = self.load(contender, self.symbols, self.tick_rate, self.duration);
            latency.push((contender, emit(load.report().await)?));
        }
        let mut idle = Vec::new();
        for &contender in &self.servers {
            progress(&format!(
                "idle memory: {} ({} connections)",
                contender.name(),
                self.idle_clients
            ));
            let run = Idle {
                common: self.common(self.warmup),
                external: self.external(contender),
                clients: Some(self.idle_clients),
                connect_rate: 500.0,
                connect_timeout: Duration::from_secs(10),
                hold: Duration::from_secs(3),
            };
            idle.push((contender, emit(run.report().await)?));
        }
        let mut sweep = Vec::new();
        for &contender in &self.servers {
            let mut rates = Vec::new();
            for &rate in &self.sweep_rates {
                progress(&format!("sweep: {} at {rate} ticks/s", contender.name()));
                let load = self.load(contender, 0, rate, self.sweep_duration);
                let outcome = emit(load.report().await)?;
                let go_on = outcome
                    .as_ref()
                    .is_ok_and(|report| markdown::sustained(report, self.sweep_p99_limit_ms));
                rates.push((rate, outcome));
                if !go_on {
                    break;
                }
            }
            sweep.push((contender, rates));
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
