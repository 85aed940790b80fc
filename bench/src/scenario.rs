//! The slow-consumer scenario: healthy clients' latency without (phase A), then with (phase B)
//! a client that stops reading, on one server process; the server's memory throughout; and the
//! check that the stalled client is disconnected by the slow-consumer policy while no healthy
//! client loses, repeats or misses a tick.

mod report;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::future::join_all;
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

use self::report::Report;
use crate::{
    Common,
    clients::{self, Drained, HealthyReport, Phase, StalledClient},
    output,
    proc::{self, CpuMark, CpuUse},
    server::{Launch, Server},
};

/// The `/metrics` counter of clients disconnected because their queue was full.
const SLOW_CONSUMER_METRIC: &str = "ticker_slow_consumer_disconnects_total";
/// The `/metrics` counter of clients disconnected for silence.
const HEARTBEAT_METRIC: &str = "ticker_heartbeat_timeouts_total";
/// The `/metrics` gauge of WebSocket connections open now.
const OPEN_METRIC: &str = "ticker_connections_open";
/// How long every healthy client gets to connect, subscribe and receive its first tick.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server's resident memory is read.
const RSS_PERIOD: Duration = Duration::from_millis(100);
/// How often `/metrics` is polled while waiting for the disconnect; this is the resolution of
/// the stall-to-disconnect time.
const METRIC_POLL: Duration = Duration::from_millis(10);
/// Ticks per symbol the server keeps for resuming (its `--history` default).
const SERVER_HISTORY: f64 = 2048.0;
/// The shortest backfill: two minutes fill the 1 s candles.
const MIN_BACKFILL: Duration = Duration::from_secs(120);
/// How long the stalled client may take to read what was buffered for it and the close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `ticker-bench slow-consumer`.
#[derive(clap::Args, Debug, Clone)]
pub struct SlowConsumer {
    /// Options every scenario shares.
    #[command(flatten)]
    pub common: Common,
    /// Healthy clients, each subscribed to every symbol [default: 50, 20 with --quick].
    #[arg(long)]
    pub clients: Option<usize>,
    /// Length of each measured phase, e.g. 10s [default: 10s, 5s with --quick].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Average ticks per second per symbol (the server's `--tick-rate`; 30 symbols), high
    /// enough that a stalled client's queue and the socket buffers before it fill in seconds,
    /// low enough that neither process saturates its core [default: 100, 200 with --quick].
    #[arg(long)]
    pub tick_rate: Option<f64>,
    /// Messages a client's outbound queue holds (the server's `--queue-bound`).
    #[arg(long, default_value_t = 1024)]
    pub queue_bound: u32,
    /// The simulator's seed, so every run sees the same market.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// SO_RCVBUF asked for on the stalled client's socket, in bytes, so that kernel buffers
    /// hide the stall only briefly.
    #[arg(long, default_value_t = 4096)]
    pub stalled_recv_buffer: u32,
    /// The server's `--heartbeat-timeout`. The stalled client never answers pings; this keeps
    /// the heartbeat from ending it before the slow-consumer policy can act.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub heartbeat_timeout: Duration,
    /// How long after the stall the server has to disconnect the stalled client before the
    /// run fails.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub disconnect_timeout: Duration,
}

/// The options with `--quick` and the defaults applied.
#[derive(Debug, Clone)]
struct Settings {
    clients: usize,
    duration: Duration,
    warmup: Duration,
    tick_rate: f64,
    queue_bound: u32,
    seed: u64,
    stalled_recv_buffer: u32,
    heartbeat_timeout: Duration,
    disconnect_timeout: Duration,
}

impl Settings {
    /// The server's flags for this run (the port and static directory are added by
    /// [`Launch::ticker`] and [`Server::start`]).
    fn server_args(&self) -> Vec<String> {
        vec![
            "--seed".into(),
            self.seed.to_string(),
            "--tick-rate".into(),
            self.tick_rate.to_string(),
            "--queue-bound".into(),
            self.queue_bound.to_string(),
            "--backfill".into(),
            humantime::format_duration(self.backfill()).to_string(),
            "--heartbeat-timeout".into(),
            humantime::format_duration(self.heartbeat_timeout).to_string(),
            // Every client connects from 127.0.0.1, plus the stalled one and the metrics reads.
            "--max-connections-per-ip".into(),
            (self.clients + 16).to_string(),
        ]
    }

    /// Market history simulated before start: enough to fill the server's resume history
    /// (so that its growth does not pass for the stalled client's) and the 1 s candles, but
    /// not the hours the 1 m candles would need, which take long to simulate at a high rate.
    fn backfill(&self) -> Duration {
        let fill_history = (2.0 * SERVER_HISTORY / self.tick_rate).ceil();
        Duration::from_secs_f64(fill_history.max(MIN_BACKFILL.as_secs_f64()))
    }
}

/// Everything measured in one run, for the report.
#[derive(Debug)]
struct Measured {
    /// Each healthy client's observations.
    healthy: Vec<HealthyReport>,
    /// Server resident memory by phase.
    rss: RssByPhase,
    /// How long each phase lasted.
    durations: [Duration; Phase::COUNT],
    /// From the stalled client's subscribe to the counter showing its disconnect.
    stall_to_disconnect: Option<Duration>,
    /// From the disconnect to the stalled client reading again.
    read_again_after: Option<Duration>,
    /// What the stalled client read once it started reading again.
    drained: Option<Result<Drained, String>>,
    /// Change of the slow-consumer counter over the measured phases and the drain.
    slow_consumer_disconnects: u64,
    /// Change of the heartbeat-timeout counter over the same time.
    heartbeat_timeouts: u64,
    /// Connections open at the end of phase B (the healthy clients, if the stalled one is
    /// gone).
    open_at_end: u64,
    /// CPU use in phases A and B, to tell a measurement from a saturated machine.
    cpu: [CpuUse; 2],
    /// The bench's CPUs and the server's (`Cpus_allowed_list`).
    affinity: (Option<String>, Option<String>),
    /// The machine's one-minute load average when the run began.
    load_average: Option<f64>,
    /// The server's warnings and errors.
    warnings: Vec<String>,
}

/// Server resident memory in KiB, by phase (see [`Phase::index`]).
#[derive(Debug, Default, Clone, Copy)]
struct RssByPhase {
    /// The highest sample.
    peak: [Option<u64>; Phase::COUNT],
    /// The last sample.
    last: [Option<u64>; Phase::COUNT],
}

impl SlowConsumer {
    fn settings(&self) -> Settings {
        let quick = self.common.quick;
        let pick = |explicit: Option<Duration>, normal: u64, small: u64| {
            explicit.unwrap_or(Duration::from_secs(if quick { small } else { normal }))
        };
        let duration = pick(self.duration, 10, 5);
        Settings {
            clients: self.clients.unwrap_or(if quick { 20 } else { 50 }),
            duration,
            warmup: pick(self.common.warmup, 2, 1),
            tick_rate: self.tick_rate.unwrap_or(if quick { 200.0 } else { 100.0 }),
            queue_bound: self.queue_bound,
            seed: self.seed,
            stalled_recv_buffer: self.stalled_recv_buffer,
            heartbeat_timeout: self.heartbeat_timeout,
            disconnect_timeout: self.disconnect_timeout.max(duration),
        }
    }

    /// Runs the scenario, writes the report, prints its JSON line, and fails if the server
    /// broke a guarantee.
    pub async fn run(self) -> Result<()> {
        let settings = self.settings();
        let started = Instant::now();
        let server_args = settings.server_args();
        let server = Server::start(
            Launch::ticker(&self.common.server, server_args.clone()),
            self.common.server_cpus.as_deref(),
        )
        .await?;
        let measured = measure(&server, &settings).await;
        server.stop().await;
        let measured = measured?;
        let report = Report::new(&settings, &server_args, &measured, started.elapsed());
        output::publish(self.common.report.as_deref(), &report.markdown(), &report)?;
        if !report.failures.is_empty() {
            bail!(
                "the server broke a guarantee: {}",
                report.failures.join("; ")
            );
        }
        Ok(())
    }
}

/// Drives the server through warm-up, phase A and phase B and collects the figures.
async fn measure(server: &Server, settings: &Settings) -> Result<Measured> {
    let load_average = proc::load_average();
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let pid = server.pid().context("the server has exited")?;
    let (phase, phase_rx) = watch::channel(Phase::Warmup);
    let mut healthy = Vec::with_capacity(settings.clients);
    let mut ready = Vec::with_capacity(settings.clients);
    for _ in 0..settings.clients {
        let (first_tick, first_tick_rx) = oneshot::channel();
        healthy.push(tokio::spawn(clients::healthy(
            url.clone(),
            phase_rx.clone(),
            first_tick,
        )));
        ready.push(first_tick_rx);
    }
    let sampler = tokio::spawn(sample_rss(pid, phase_rx));
    let all_ready = tokio::time::timeout(READY_TIMEOUT, join_all(ready)).await;
    if !matches!(&all_ready, Ok(results) if results.iter().all(Result::is_ok)) {
        phase.send_replace(Phase::Done);
        for client in healthy {
            client.await??;
        }
        bail!(
            "not every healthy client received a tick within {}",
            humantime::format_duration(READY_TIMEOUT)
        );
    }
    let warmup_start = Instant::now();
    tokio::time::sleep(settings.warmup).await;
    let slow_before = server.metric(SLOW_CONSUMER_METRIC).await?;
    let heartbeat_before = server.metric(HEARTBEAT_METRIC).await?;

    let baseline_start = Instant::now();
    let cpu_at_baseline = CpuMark::now(Some(pid));
    phase.send_replace(Phase::Baseline);
    tokio::time::sleep(settings.duration).await;

    let stalled = StalledClient::connect(&url, server.port, settings.stalled_recv_buffer).await?;
    let stall_start = Instant::now();
    let cpu_at_stall = CpuMark::now(Some(pid));
    phase.send_replace(Phase::Stalled);
    let phase_b_end = stall_start + settings.duration;
    let mut disconnected =
        wait_for_metric(server, SLOW_CONSUMER_METRIC, slow_before + 1, phase_b_end).await?;
    if disconnected.is_some() {
        phase.send_replace(Phase::Recovered);
    }
    tokio::time::sleep_until(phase_b_end.into()).await;
    let open_at_end = server.metric(OPEN_METRIC).await?;
    let measuring_end = Instant::now();
    let cpu_at_end = CpuMark::now(Some(pid));
    phase.send_replace(Phase::Done);
    if disconnected.is_none() {
        let deadline = stall_start + settings.disconnect_timeout;
        disconnected =
            wait_for_metric(server, SLOW_CONSUMER_METRIC, slow_before + 1, deadline).await?;
    }
    let read_again_after = disconnected.map(|at| at.elapsed());
    let drained = match disconnected {
        Some(_) => Some(
            stalled
                .drain(DRAIN_TIMEOUT)
                .await
                .map_err(|err| format!("{err:#}")),
        ),
        None => None,
    };
    let slow_consumer_disconnects = server.metric(SLOW_CONSUMER_METRIC).await? - slow_before;
    let heartbeat_timeouts = server.metric(HEARTBEAT_METRIC).await? - heartbeat_before;
    let affinity = (
        proc::status_field("self", "Cpus_allowed_list"),
        proc::status_field(&pid.to_string(), "Cpus_allowed_list"),
    );
    let healthy = join_clients(healthy).await?;
    let rss = sampler.await?;

    let recovered_start = disconnected.unwrap_or(measuring_end).min(measuring_end);
    let mut durations = [Duration::ZERO; Phase::COUNT];
    durations[Phase::Warmup.index()] = baseline_start - warmup_start;
    durations[Phase::Baseline.index()] = stall_start - baseline_start;
    durations[Phase::Stalled.index()] = recovered_start - stall_start;
    durations[Phase::Recovered.index()] = measuring_end - recovered_start;
    Ok(Measured {
        healthy,
        rss,
        durations,
        stall_to_disconnect: disconnected.map(|at| at - stall_start),
        read_again_after,
        drained,
        slow_consumer_disconnects,
        heartbeat_timeouts,
        open_at_end,
        cpu: [
            cpu_at_baseline.use_until(&cpu_at_stall),
            cpu_at_stall.use_until(&cpu_at_end),
        ],
        affinity,
        load_average,
        warnings: server.warnings(),
    })
}

/// Waits for every healthy client's report.
async fn join_clients(
    clients: Vec<JoinHandle<Result<HealthyReport>>>,
) -> Result<Vec<HealthyReport>> {
    let mut reports = Vec::with_capacity(clients.len());
    for client in clients {
        reports.push(client.await?.context("a healthy client failed")?);
    }
    Ok(reports)
}

/// Polls the counter `name` until it reaches `at_least` (then returns when it saw it) or
/// `deadline` passes (then `None`).
async fn wait_for_metric(
    server: &Server,
    name: &str,
    at_least: u64,
    deadline: Instant,
) -> Result<Option<Instant>> {
    let mut poll = tokio::time::interval(METRIC_POLL);
    loop {
        poll.tick().await;
        if server.metric(name).await? >= at_least {
            return Ok(Some(Instant::now()));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

/// Reads the server's resident memory every [`RSS_PERIOD`] and keeps the peak and the last
/// sample of each phase, until the phase is [`Phase::Done`].
async fn sample_rss(pid: u32, phase: watch::Receiver<Phase>) -> RssByPhase {
    let mut rss = RssByPhase::default();
    let mut every = tokio::time::interval(RSS_PERIOD);
    loop {
        every.tick().await;
        let now = *phase.borrow();
        // An error means the scenario gave up early and dropped the sender.
        if now == Phase::Done || phase.has_changed().is_err() {
            return rss;
        }
        if let Some(kib) = proc::rss_kib(pid) {
            let peak = &mut rss.peak[now.index()];
            *peak = Some(peak.map_or(kib, |peak| peak.max(kib)));
            rss.last[now.index()] = Some(kib);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use super::*;

    fn settings(args: &[&str]) -> Settings {
        crate::parse_options::<SlowConsumer>("slow-consumer", args).settings()
    }

    #[test]
    fn quick_shrinks_the_defaults_but_explicit_flags_win() {
        let normal = settings(&[]);
        assert_eq!(
            (
                normal.clients,
                normal.duration,
                normal.warmup,
                normal.tick_rate
            ),
            (50, Duration::from_secs(10), Duration::from_secs(2), 100.0)
        );
        let quick = settings(&["--quick"]);
        assert_eq!(
            (quick.clients, quick.duration, quick.warmup, quick.tick_rate),
            (20, Duration::from_secs(5), Duration::from_secs(1), 200.0)
        );
        let mixed = settings(&["--quick", "--clients", "7", "--duration", "3s"]);
        assert_eq!((mixed.clients, mixed.duration), (7, Duration::from_secs(3)));
    }

    #[test]
    fn the_disconnect_deadline_is_never_shorter_than_phase_b() {
        let long = settings(&["--duration", "45s", "--disconnect-timeout", "5s"]);
        assert_eq!(long.disconnect_timeout, Duration::from_secs(45));
    }

    #[test]
    fn backfill_fills_the_history_at_any_rate() {
        assert_eq!(settings(&[]).backfill(), MIN_BACKFILL);
        let slow = settings(&["--tick-rate", "4"]);
        assert_eq!(slow.backfill(), Duration::from_secs(1024));
    }

    #[test]
    fn server_args_carry_the_settings() {
        let args = settings(&["--seed", "9", "--queue-bound", "64", "--clients", "100"])
            .server_args()
            .join(" ");
        assert!(args.contains("--seed 9"), "{args}");
        assert!(args.contains("--queue-bound 64"), "{args}");
        assert!(args.contains("--tick-rate 100"), "{args}");
        assert!(args.contains("--backfill 2m"), "{args}");
        assert!(args.contains("--max-connections-per-ip 116"), "{args}");
    }
}
