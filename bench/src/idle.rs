//! The idle scenario: N connections opened at a steady rate that subscribe to nothing (they
//! only read the `hello` and answer pings), held for a while; the server's resident memory
//! before and after, and so its memory per connection.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{StreamExt, future::join_all};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    Common,
    clients::{describe_close, describe_end},
    connect,
    output::{self, Machine},
    proc,
    server::{Batching, External, Market, Target},
};

/// How long the server gets to settle after start before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);
/// How often the server's resident memory is read.
const RSS_PERIOD: Duration = Duration::from_millis(100);
/// The `/metrics` gauge of WebSocket connections open now.
const OPEN_METRIC: &str = "ticker_connections_open";
/// The market every server is given: idle connections subscribe to none of it.
const MARKET: Market = Market {
    symbols: 30,
    tick_rate: 4.0,
    seed: 42,
    batching: Batching::On,
};
/// File descriptors needed beyond one per connection on each side.
const SPARE_FILES: u64 = 256;

/// Options of `ticker-bench idle`.
#[derive(clap::Args, Debug, Clone)]
pub struct Idle {
    /// Options every scenario shares (`--warmup` is not used).
    #[command(flatten)]
    pub common: Common,
    /// An already-running server to drive instead of Ticker's.
    #[command(flatten)]
    pub external: External,
    /// Connections to open; one IP can open at most about 28,000 to one server port
    /// [default: 10000, 500 with --quick].
    #[arg(long)]
    pub clients: Option<usize>,
    /// Connections opened per second.
    #[arg(long, default_value_t = 500.0)]
    pub connect_rate: f64,
    /// How long one connection may take from connecting to the server's `hello`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// How long to hold every connection open before reading the server's memory again.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub hold: Duration,
}

/// One run of the idle scenario, as reported.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always `idle`.
    pub(crate) scenario: &'static str,
    /// The bench's command line, as run.
    pub(crate) command: String,
    /// The server: Ticker's command line or the external URL.
    pub(crate) server: String,
    /// When the report was made (UTC).
    pub(crate) date: String,
    /// Where it ran.
    pub(crate) machine: Machine,
    /// Connections asked for.
    pub(crate) clients_wanted: usize,
    /// Connections that reached the `hello`.
    pub(crate) clients_connected: usize,
    /// Connections that did not.
    pub(crate) connect_errors: usize,
    /// Why, counted.
    pub(crate) connect_error_reasons: Vec<String>,
    /// Connections that ended while held.
    pub(crate) disconnects: usize,
    /// Why, counted.
    pub(crate) disconnect_reasons: Vec<String>,
    /// From the first connect to the last connection made or failed, in seconds.
    pub(crate) connect_seconds: f64,
    /// How long the connections were held, in seconds.
    pub(crate) hold_seconds: f64,
    /// `ticker_connections_open` at the end of the hold (Ticker only).
    pub(crate) server_connections_open: Option<u64>,
    /// The server's resident memory before the first connection, in KiB.
    pub(crate) server_rss_before_kib: Option<u64>,
    /// At the end of the hold, in KiB.
    pub(crate) server_rss_after_kib: Option<u64>,
    /// The highest reading over the run, in KiB.
    pub(crate) server_peak_rss_kib: Option<u64>,
    /// (after − before) / connections, in KiB.
    pub(crate) rss_per_connection_kib: Option<f64>,
    /// The bench's open-file limit.
    pub(crate) open_file_limit: u64,
    /// Ticker's warnings and errors.
    pub(crate) server_warnings: Vec<String>,
    /// The whole run, start to report, in seconds.
    pub(crate) run_seconds: f64,
}

/// Memory per connection: the growth from `before` to `after` over `connections`, in KiB.
fn per_connection(before: Option<u64>, after: Option<u64>, connections: usize) -> Option<f64> {
    match (before, after) {
        (Some(before), Some(after)) if connections > 0 => {
            Some((after as f64 - before as f64) / connections as f64)
        }
        _ => None,
    }
}

impl Idle {
    fn clients(&self) -> usize {
        self.clients
            .unwrap_or(if self.common.quick { 500 } else { 10_000 })
    }

    /// Ticker's flags besides the market's: room for every connection from one address, no
    /// idle timeout within the run, no backfill (the figure is a difference, and starting is
    /// faster).
    fn server_args(&self) -> Vec<String> {
        let connections = (self.clients() + 16).to_string();
        vec![
            "--backfill".into(),
            "0s".into(),
            "--idle-timeout".into(),
            "1h".into(),
            "--max-connections".into(),
            connections.clone(),
            "--max-connections-per-ip".into(),
            connections,
        ]
    }

    /// Runs the scenario, writes the report and prints its JSON line.
    pub async fn run(self) -> Result<()> {
        let report = self.report().await?;
        output::publish(self.common.report.as_deref(), &report.markdown(), &report)
    }

    /// Runs the scenario and returns its report.
    pub async fn report(&self) -> Result<Report> {
        let started = Instant::now();
        let clients = self.clients();
        // The limit is per process: the bench holds one socket per client, and the server it
        // starts (which inherits the limit) one per connection.
        let wanted_files = clients as u64 + SPARE_FILES;
        let open_file_limit = connect::raise_open_file_limit(wanted_files)?;
        let target =
            Target::start(&self.common, &self.external, MARKET, self.server_args()).await?;
        let load_average = proc::load_average();
        tokio::time::sleep(SETTLE).await;
        let rss = |target: &Target| target.pid.and_then(proc::rss_kib);
        let server_rss_before_kib = rss(&target);
        let (stop, stop_rx) = watch::channel(false);
        let sampler = target
            .pid
            .map(|pid| tokio::spawn(proc::peak_rss(pid, RSS_PERIOD, stop_rx.clone())));

        let connect_start = Instant::now();
        let mut connected = Vec::with_capacity(clients);
        let tasks = connect::staggered(clients, self.connect_rate, |_| {
            let (done, done_rx) = oneshot::channel();
            connected.push(done_rx);
            hold(
                target.url.clone(),
                self.connect_timeout,
                stop_rx.clone(),
                done,
            )
        })
        .await;
        let connect_errors: Vec<String> = join_all(connected)
            .await
            .into_iter()
            .filter_map(|outcome| outcome.unwrap_or_else(|_| Err("task ended".into())).err())
            .collect();
        let connect_time = connect_start.elapsed();
        tokio::time::sleep(self.hold).await;
        let server_rss_after_kib = rss(&target);
        let server_connections_open = target.metric(OPEN_METRIC).await;
        let machine = Machine::new(
            proc::status_field("self", "Cpus_allowed_list"),
            target
                .pid
                .and_then(|pid| proc::status_field(&pid.to_string(), "Cpus_allowed_list")),
            load_average,
        );
        stop.send_replace(true);
        let server_peak_rss_kib = match sampler {
            Some(sampler) => sampler.await?,
            None => None,
        };
        let mut ended = Vec::new();
        for task in tasks {
            ended.extend(task.await?);
        }
        let server_warnings = target.warnings();
        let server = target.describe();
        target.stop().await;

        let clients_connected = clients - connect_errors.len();
        Ok(Report {
            scenario: "idle",
            command: output::command_line(),
            server,
            date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            machine,
            clients_wanted: clients,
            clients_connected,
            connect_errors: connect_errors.len(),
            connect_error_reasons: output::tally(&connect_errors),
            disconnects: ended.len(),
            disconnect_reasons: output::tally(&ended),
            connect_seconds: connect_time.as_secs_f64(),
            hold_seconds: self.hold.as_secs_f64(),
            server_connections_open,
            server_rss_before_kib,
            server_rss_after_kib,
            server_peak_rss_kib,
            rss_per_connection_kib: per_connection(
                server_rss_before_kib,
                server_rss_after_kib,
                clients_connected,
            ),
            open_file_limit,
            server_warnings,
            run_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// One idle connection: reads the `hello`, tells `connected`, then only reads (which answers
/// the server's pings) until `stop`; returns why it ended if the server ended it first.
async fn hold(
    url: String,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
    connected: oneshot::Sender<Result<(), String>>,
) -> Option<String> {
    let mut ws = match connect::open(&url, None, timeout).await {
        Ok((ws, _hello)) => ws,
        Err(err) => {
            let _ = connected.send(Err(err.to_string()));
            return None;
        }
    };
    let _ = connected.send(Ok(()));
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    let _ = ws.close(None).await;
                    return None;
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Close(frame))) => return Some(describe_close(frame.as_ref())),
                Some(Ok(_)) => {}
                Some(Err(err)) => return Some(describe_end(Some(err))),
                None => return Some(describe_end(None)),
            },
        }
    }
}

impl Report {
    fn markdown(&self) -> String {
        output::render(|out| self.write_markdown(out))
    }

    fn write_markdown(&self, out: &mut String) -> std::fmt::Result {
        use std::fmt::Write;
        let kib = |value: Option<u64>| value.map_or_else(|| "?".to_owned(), |v| v.to_string());
        writeln!(
            out,
            "# Idle connections: {} held open\n",
            self.clients_wanted
        )?;
        writeln!(
            out,
            "Made by `ticker-bench idle` (bench/), {}. Figures are one run's, not assertions.\n",
            self.date
        )?;
        writeln!(out, "- Command: `{}`", self.command)?;
        writeln!(out, "- Server: {}", self.server)?;
        writeln!(out, "- Machine: {}", self.machine.describe())?;
        writeln!(
            out,
            "- Connections subscribe to nothing: each reads its `hello` and then only answers \
             pings. Held {} s after the last one connected (connecting took {:.1} s); open-file \
             limit {}.\n",
            self.hold_seconds, self.connect_seconds, self.open_file_limit
        )?;
        writeln!(
            out,
            "| connected / wanted | connect errors | disconnects | server RSS before KiB | \
             after KiB | peak KiB | KiB per connection |"
        )?;
        writeln!(out, "|--:|--:|--:|--:|--:|--:|--:|")?;
        writeln!(
            out,
            "| {} / {} | {} | {} | {} | {} | {} | {} |\n",
            self.clients_connected,
            self.clients_wanted,
            self.connect_errors,
            self.disconnects,
            kib(self.server_rss_before_kib),
            kib(self.server_rss_after_kib),
            kib(self.server_peak_rss_kib),
            self.rss_per_connection_kib
                .map_or_else(|| "?".to_owned(), |v| format!("{v:.1}")),
        )?;
        if let Some(open) = self.server_connections_open {
            writeln!(out, "- `{OPEN_METRIC}` at the end of the hold: {open}.")?;
        }
        for (what, reasons) in [
            ("Connect errors", &self.connect_error_reasons),
            ("Disconnects", &self.disconnect_reasons),
        ] {
            if !reasons.is_empty() {
                writeln!(out, "- {what}: {}.", reasons.join("; "))?;
            }
        }
        output::write_footer(out, self.run_seconds, &self.server_warnings)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_per_connection_is_the_growth_over_the_connections() {
        assert_eq!(
            per_connection(Some(10_000), Some(30_000), 1_000),
            Some(20.0)
        );
        assert_eq!(per_connection(Some(10_000), Some(9_000), 500), Some(-2.0));
        assert_eq!(per_connection(Some(1), Some(2), 0), None);
        assert_eq!(per_connection(None, Some(2), 10), None);
    }
}
