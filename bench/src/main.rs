//! Ticker's load generator. Each scenario starts the server binary, drives it over loopback
//! with real WebSocket clients, and writes a report (markdown and one JSON line). Figures are
//! reported, never asserted; a run fails only when the server breaks a guarantee (a lost or
//! duplicated tick, a policy not applied).
//!
//! ```text
//! ticker-bench slow-consumer   p99 of healthy clients with and without a stalled one
//! ticker-bench load            N clients × K symbols: frames/s, ticks/s, latency, CPU, RSS
//! ticker-bench idle            N idle connections: the server's RSS per connection
//! ticker-bench suite           Ticker and the peers side by side → docs/BENCHMARKS.md
//! ```
//!
//! `load` and `idle` also start a peer implementation of the same protocol instead of Ticker
//! (`--peer python|node`, from `bench/peers/`), or drive a server already running
//! (`--url ws://…/ws`, `--pid` to read its CPU and memory).
//!
//! Run it against the release server, with the server and the bench on different cores:
//!
//! ```text
//! cargo build --release -p ticker-server -p ticker-bench
//! taskset -c 1 target/release/ticker-bench slow-consumer --server-cpus 0 --quick
//! ```
//!
//! Modules: `scenario` (the slow-consumer run and its report), `load` (the load run, its
//! client and report), `idle` (the idle-connections run), `clients` (the healthy and the
//! stalled WebSocket clients, the sequence-number check), `connect` (opening many connections
//! at a steady rate, the open-file limit), `server` (Ticker's server or a peer as a child
//! process, or an external one), `suite` (the comparison suite and its page), `proc` (memory
//! and CPU figures from /proc), `stats` (percentiles, the latency histogram, rates), `output`
//! (what every report shares).

mod clients;
mod connect;
mod idle;
mod load;
mod output;
mod proc;
mod scenario;
mod server;
mod stats;
mod suite;

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Ticker's load generator.
#[derive(Parser)]
#[command(name = "ticker-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Healthy clients' latency without, then with, a client that stops reading; server RSS
    /// throughout; the stalled client must be disconnected by the slow-consumer policy.
    SlowConsumer(scenario::SlowConsumer),
    /// N clients subscribed to K symbols each: throughput, tick latency, the server's CPU and
    /// memory, the bench's own CPU; Ticker's server, a peer (`--peer`) or any server at `--url`.
    Load(load::Load),
    /// N connections that subscribe to nothing: the server's memory per connection.
    Idle(idle::Idle),
    /// Ticker and the peers of `bench/peers/` under identical load (latency, idle memory, a
    /// throughput sweep), written side by side to `docs/BENCHMARKS.md`.
    Suite(suite::Suite),
}

/// Options every scenario shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The server binary to run (build it with `cargo build --release -p ticker-server`).
    #[arg(long, default_value = "target/release/ticker-server")]
    pub server: PathBuf,
    /// Run the server pinned to these CPUs (`taskset -c` syntax, e.g. `0`); pin the bench
    /// itself to the others with `taskset -c 1 ticker-bench ...`.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Where to write the markdown report (the JSON line goes to standard output).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Small, fast settings for CI; flags given explicitly still win.
    #[arg(long)]
    pub quick: bool,
    /// Warm-up before measuring, e.g. 2s [default: 2s, 1s with --quick].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub warmup: Option<Duration>,
}

/// Parses one scenario's options from `args`, as `ticker-bench NAME args…` would (for tests).
#[cfg(test)]
fn try_parse_options<T: clap::Args>(name: &str, args: &[&str]) -> Result<T, clap::Error> {
    #[derive(Parser)]
    struct Wrapper<T: clap::Args> {
        #[command(flatten)]
        options: T,
    }
    Wrapper::<T>::try_parse_from(std::iter::once(name).chain(args.iter().copied()))
        .map(|wrapper| wrapper.options)
}

/// Like [`try_parse_options`], for arguments that must parse.
#[cfg(test)]
fn parse_options<T: clap::Args>(name: &str, args: &[&str]) -> T {
    try_parse_options(name, args).unwrap_or_else(|err| panic!("{name} {args:?}: {err}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().scenario {
        Scenario::SlowConsumer(options) => options.run().await,
        Scenario::Load(options) => options.run().await,
        Scenario::Idle(options) => options.run().await,
        Scenario::Suite(options) => options.run().await,
    }
}
