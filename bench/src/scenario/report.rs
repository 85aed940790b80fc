//! The slow-consumer report: figures per phase, the verdicts, and their markdown and JSON forms.

use std::{fmt::Write, time::Duration};

use serde::Serialize;

use super::{Measured, Settings};
use crate::{
    clients::{Drained, Phase, SeqViolations},
    output::{self, Machine},
    proc::CpuUse,
    stats::Latency,
};

/// How far phase B's p99 may be from phase A's and still count as unaffected (10 %).
const P99_TOLERANCE: f64 = 0.10;

/// One run of the slow-consumer scenario, as reported.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always `slow-consumer`.
    scenario: &'static str,
    /// The bench's command line, as run.
    command: String,
    /// The server's flags.
    server_args: Vec<String>,
    /// When the report was made (UTC).
    date: String,
    /// The settings after `--quick` and the defaults.
    settings: SettingsOut,
    /// Where it ran.
    machine: Machine,
    /// Figures per phase: A, B, and B's two parts.
    phases: Vec<PhaseRow>,
    /// p99 of phase B over p99 of phase A.
    p99_ratio: Option<f64>,
    /// Whether that ratio is at most 1.10.
    p99_within_10_percent: Option<bool>,
    /// p99 while the stalled client was connected over p99 of phase A.
    p99_ratio_while_stalled: Option<f64>,
    /// From the stalled client's subscribe to its disconnect, in milliseconds.
    stall_to_disconnect_ms: Option<f64>,
    /// Peak resident memory in phase B minus that in phase A, in KiB.
    rss_growth_kib: Option<i64>,
    /// Resident memory at the end of phase B, in KiB.
    rss_end_kib: Option<u64>,
    /// About how much tick payload a full queue holds (`--queue-bound` × the mean size of a
    /// tick on the wire), in KiB; the queue shares the bytes, so this is a ceiling.
    queue_payload_kib: Option<f64>,
    /// From the disconnect to the stalled client reading again, in milliseconds.
    read_again_after_ms: Option<f64>,
    /// What the stalled client read after the server dropped it.
    stalled_client: Option<Drained>,
    /// Why reading the stalled client's remains failed, if it did.
    stalled_client_error: Option<String>,
    /// Sequence-number violations over every healthy client and the whole run.
    seq: SeqViolations,
    /// Ticks the healthy clients received over the whole run, warm-up included.
    ticks_checked: u64,
    /// Server messages the healthy clients could not decode.
    undecodable: u64,
    /// `error` messages the healthy clients got.
    errors: u64,
    /// How healthy clients that were disconnected ended.
    healthy_disconnected: Vec<String>,
    /// Change of `ticker_slow_consumer_disconnects_total`.
    slow_consumer_disconnects: u64,
    /// Change of `ticker_heartbeat_timeouts_total`.
    heartbeat_timeouts: u64,
    /// CPU used in phases A and B by the server and the bench, in cores.
    cpu_cores: CpuOut,
    /// `ticker_connections_open` at the end of phase B.
    connections_open_at_end: u64,
    /// The server's warnings and errors.
    server_warnings: Vec<String>,
    /// The whole run, server start to report, in seconds.
    run_seconds: f64,
    /// No guarantee was broken.
    passed: bool,
    /// The guarantees broken; the run fails if there is any.
    pub failures: Vec<String>,
}

/// The settings in a report.
#[derive(Debug, Serialize)]
struct SettingsOut {
    clients: usize,
    duration_s: f64,
    warmup_s: f64,
    tick_rate: f64,
    queue_bound: u32,
    seed: u64,
    stalled_recv_buffer: u32,
    heartbeat_timeout_s: f64,
}

/// CPU use in a report.
#[derive(Debug, Serialize)]
struct CpuOut {
    a: CpuUse,
    b: CpuUse,
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct PhaseRow {
    /// Short name: A, B, B1, B2.
    name: &'static str,
    /// What the phase is.
    label: &'static str,
    /// Healthy clients that received ticks in it.
    healthy_clients: usize,
    /// Its length in seconds.
    seconds: f64,
    /// Ticks the healthy clients received in it.
    ticks: u64,
    /// Latency of those ticks.
    latency_ms: Latency,
    /// The server's peak resident memory in it.
    peak_rss_kib: Option<u64>,
}

impl Report {
    /// Builds the report of a run and decides whether it passed.
    pub(super) fn new(
        settings: &Settings,
        server_args: &[String],
        measured: &Measured,
        run_time: Duration,
    ) -> Report {
        let row = |name, label, phases: &[Phase]| phase_row(name, label, phases, measured);
        let phases = vec![
            row("A", "healthy clients only", &[Phase::Baseline]),
            row(
                "B",
                "with the stalled client (whole phase)",
                &[Phase::Stalled, Phase::Recovered],
            ),
            row("B1", "B until the disconnect", &[Phase::Stalled]),
            row("B2", "B after the disconnect", &[Phase::Recovered]),
        ];
        let p99 = |i: usize| (phases[i].latency_ms.count > 0).then_some(phases[i].latency_ms.p99);
        let ratio = |over: Option<f64>| match (over, p99(0)) {
            (Some(b), Some(a)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        let p99_ratio = ratio(p99(1));
        let rss_growth_kib = match (phases[0].peak_rss_kib, phases[1].peak_rss_kib) {
            (Some(a), Some(b)) => Some(b as i64 - a as i64),
            _ => None,
        };
        let baseline = Phase::Baseline.index();
        let (bytes, ticks) = measured
            .healthy
            .iter()
            .fold((0, 0), |(bytes, ticks), client| {
                (
                    bytes + client.tick_bytes[baseline],
                    ticks + client.latencies[baseline].len() as u64,
                )
            });
        let queue_payload_kib = (ticks > 0)
            .then(|| f64::from(settings.queue_bound) * bytes as f64 / ticks as f64 / 1024.0);

        let mut seq = SeqViolations::default();
        let (mut undecodable, mut errors, mut ticks_checked) = (0, 0, 0);
        let mut healthy_disconnected = Vec::new();
        for client in &measured.healthy {
            seq.add(&client.seq);
            undecodable += client.undecodable;
            errors += client.errors;
            ticks_checked += client.latencies.iter().map(Vec::len).sum::<usize>() as u64;
            healthy_disconnected.extend(client.ended_early.clone());
        }
        let (stalled_client, stalled_client_error) = match &measured.drained {
            Some(Ok(drained)) => (Some(drained.clone()), None),
            Some(Err(err)) => (None, Some(err.clone())),
            None => (None, None),
        };

        let mut report = Report {
            scenario: "slow-consumer",
            command: output::command_line(),
            server_args: server_args.to_vec(),
            date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            settings: SettingsOut {
                clients: settings.clients,
                duration_s: settings.duration.as_secs_f64(),
                warmup_s: settings.warmup.as_secs_f64(),
                tick_rate: settings.tick_rate,
                queue_bound: settings.queue_bound,
                seed: settings.seed,
                stalled_recv_buffer: settings.stalled_recv_buffer,
                heartbeat_timeout_s: settings.heartbeat_timeout.as_secs_f64(),
            },
            machine: Machine::new(
                measured.affinity.0.clone(),
                measured.affinity.1.clone(),
                measured.load_average,
            ),
            p99_ratio,
            p99_within_10_percent: p99_ratio.map(|ratio| ratio <= 1.0 + P99_TOLERANCE),
            p99_ratio_while_stalled: ratio(p99(2)),
            stall_to_disconnect_ms: measured
                .stall_to_disconnect
                .map(|elapsed| elapsed.as_secs_f64() * 1_000.0),
            rss_growth_kib,
            rss_end_kib: [Phase::Recovered, Phase::Stalled]
                .iter()
                .find_map(|phase| measured.rss.last[phase.index()]),
            queue_payload_kib,
            read_again_after_ms: measured
                .read_again_after
                .map(|elapsed| elapsed.as_secs_f64() * 1_000.0),
            stalled_client,
            stalled_client_error,
            seq,
            ticks_checked,
            undecodable,
            errors,
            healthy_disconnected,
            slow_consumer_disconnects: measured.slow_consumer_disconnects,
            heartbeat_timeouts: measured.heartbeat_timeouts,
            connections_open_at_end: measured.open_at_end,
            cpu_cores: CpuOut {
                a: measured.cpu[0],
                b: measured.cpu[1],
            },
            server_warnings: measured.warnings.clone(),
            run_seconds: run_time.as_secs_f64(),
            phases,
            passed: false,
            failures: Vec::new(),
        };
        report.failures = report.broken_guarantees();
        report.passed = report.failures.is_empty();
        report
    }

    /// The guarantees this run saw broken.
    fn broken_guarantees(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if !self.seq.is_clean() {
            let SeqViolations {
                gaps,
                missing,
                duplicates,
                before_snapshot,
            } = self.seq;
            failures.push(format!(
                "sequence numbers: {gaps} gaps ({missing} ticks missing), {duplicates} \
                 duplicates, {before_snapshot} ticks before their snapshot"
            ));
        }
        if !self.healthy_disconnected.is_empty() {
            failures.push(format!(
                "{} healthy client(s) were disconnected: {}",
                self.healthy_disconnected.len(),
                output::tally(&self.healthy_disconnected).join(", ")
            ));
        }
        if self.undecodable > 0 {
            failures.push(format!(
                "{} server messages did not decode",
                self.undecodable
            ));
        }
        match self.slow_consumer_disconnects {
            0 => failures.push(format!(
                "the stalled client was not disconnected by the slow-consumer policy \
                 (heartbeat timeouts: {})",
                self.heartbeat_timeouts
            )),
            1 => {}
            more => failures.push(format!(
                "{more} slow-consumer disconnects, expected exactly 1 (the stalled client)"
            )),
        }
        if let Some(Drained {
            close: Some(close),
            close_code,
            ..
        }) = &self.stalled_client
            && (*close_code != Some(ticker_shared::close::POLICY_VIOLATION)
                || !close.contains("slow consumer"))
        {
            failures.push(format!(
                "the stalled client was closed with {close}, not 1008 \"slow consumer\""
            ));
        }
        failures
    }

    /// The report in markdown.
    pub fn markdown(&self) -> String {
        output::render(|out| self.write_markdown(out))
    }

    fn write_markdown(&self, out: &mut String) -> std::fmt::Result {
        let settings = &self.settings;
        writeln!(
            out,
            "# Slow consumer: healthy clients' latency with a stalled client\n"
        )?;
        writeln!(
            out,
            "Made by `ticker-bench slow-consumer` (bench/), {}. Figures are one run's, not \
             assertions; the run fails only if the server breaks a guarantee.\n",
            self.date
        )?;
        writeln!(out, "- Command: `{}`", self.command)?;
        writeln!(
            out,
            "- Server: `ticker-server {}` (the bench adds `--port` and `--static-dir`)",
            self.server_args.join(" ")
        )?;
        writeln!(out, "- Machine: {}", self.machine.describe())?;
        writeln!(
            out,
            "- Load: {} healthy clients, each subscribed to every symbol (30) at {} ticks/s \
             per symbol; warm-up {} s, then {} s per phase. Phase B adds one client that \
             subscribes to everything and never reads again (SO_RCVBUF {} B). Latency is \
             receipt time minus the tick's `ts` (same host clock).\n",
            settings.clients,
            settings.tick_rate,
            settings.warmup_s,
            settings.duration_s,
            settings.stalled_recv_buffer
        )?;
        writeln!(
            out,
            "| phase | healthy clients | seconds | ticks received | p50 ms | p90 ms | p99 ms | \
             max ms | peak RSS KiB |"
        )?;
        writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")?;
        for row in &self.phases {
            let l = &row.latency_ms;
            let ms = |value: f64| {
                if l.count == 0 {
                    "–".to_owned()
                } else {
                    format!("{value:.2}")
                }
            };
            writeln!(
                out,
                "| {}: {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
                row.name,
                row.label,
                row.healthy_clients,
                row.seconds,
                row.ticks,
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.max),
                row.peak_rss_kib
                    .map_or_else(|| "–".to_owned(), |kib| kib.to_string()),
            )?;
        }
        writeln!(out)?;
        let (a, b) = (&self.phases[0].latency_ms, &self.phases[1].latency_ms);
        match (self.p99_ratio, self.p99_within_10_percent) {
            (Some(ratio), Some(within)) => writeln!(
                out,
                "- **p99 B / A = {ratio:.3}** ({:.2} ms / {:.2} ms): {} 10 %{}.",
                b.p99,
                a.p99,
                if within { "within" } else { "NOT within" },
                self.p99_ratio_while_stalled
                    .map(|r| format!("; while the stalled client was connected (B1): {r:.3}"))
                    .unwrap_or_default()
            )?,
            _ => writeln!(out, "- p99 B / A: not available (no ticks in a phase).")?,
        }
        match self.stall_to_disconnect_ms {
            Some(ms) => writeln!(
                out,
                "- Stall to disconnect: **{ms:.0} ms** from the stalled client's subscribe to \
                 `ticker_slow_consumer_disconnects_total` going up (polled every 10 ms)."
            )?,
            None => writeln!(out, "- Stall to disconnect: **never** (see failures).")?,
        }
        if let Some(drained) = &self.stalled_client {
            let end = drained
                .close
                .as_deref()
                .map(|close| format!("the close frame {close}"))
                .or_else(|| drained.ended.clone())
                .unwrap_or_default();
            writeln!(
                out,
                "- The stalled client, reading again {:.0} ms after the disconnect, found {} \
                 frame(s) ({} KiB) still buffered for it, then {end}.",
                self.read_again_after_ms.unwrap_or_default(),
                drained.frames,
                drained.bytes / 1024
            )?;
            if drained.close.is_none() {
                writeln!(
                    out,
                    "  (The server gives its close frame about a second to enter the \
                     connection's write buffer, `CLOSE_TIMEOUT` in server/src/ws.rs; behind a \
                     stalled reader there is no room, so the frame reaches only a client that \
                     reads again within that second.)"
                )?;
            }
        }
        if let Some(err) = &self.stalled_client_error {
            writeln!(out, "- Reading the stalled client's remains failed: {err}.")?;
        }
        if let Some(growth) = self.rss_growth_kib {
            writeln!(
                out,
                "- Server RSS: peak {} KiB in A, {} KiB in B: **growth {growth} KiB**; {} KiB \
                 at the end of B{}.",
                self.phases[0].peak_rss_kib.unwrap_or_default(),
                self.phases[1].peak_rss_kib.unwrap_or_default(),
                self.rss_end_kib
                    .map_or_else(|| "?".to_owned(), |kib| kib.to_string()),
                self.queue_payload_kib
                    .map(|kib| format!(
                        "; a full queue of {} ticks is at most ≈ {kib:.0} KiB of tick payload",
                        settings.queue_bound
                    ))
                    .unwrap_or_default()
            )?;
        }
        writeln!(
            out,
            "- Sequence numbers: {} ticks checked on {} connections: {} gaps ({} missing), {} \
             duplicates, {} before their snapshot.",
            self.ticks_checked,
            settings.clients,
            self.seq.gaps,
            self.seq.missing,
            self.seq.duplicates,
            self.seq.before_snapshot
        )?;
        writeln!(
            out,
            "- Server counters over A and B: slow-consumer disconnects +{}, heartbeat timeouts \
             +{}; connections open at the end of B: {}.",
            self.slow_consumer_disconnects, self.heartbeat_timeouts, self.connections_open_at_end
        )?;
        let percent = |cores: Option<f64>| {
            cores.map_or_else(|| "?".to_owned(), |cores| format!("{:.0} %", cores * 100.0))
        };
        let (a, b) = (&self.cpu_cores.a, &self.cpu_cores.b);
        writeln!(
            out,
            "- CPU (100 % = one core): server {} in A, {} in B; bench {} in A, {} in B; other \
             processes on the machine {} in A, {} in B (load average {} before the run).",
            percent(a.server),
            percent(b.server),
            percent(a.bench),
            percent(b.bench),
            percent(a.others),
            percent(b.others),
            self.machine
                .load_average
                .map_or_else(|| "?".to_owned(), |load| format!("{load:.2}")),
        )?;
        output::write_footer(out, self.run_seconds, &self.server_warnings)?;
        if self.passed {
            writeln!(
                out,
                "\n**Result: passed** (no gap, no duplicate, the stalled client disconnected by \
                 the policy, every healthy client kept).",
            )?;
        } else {
            writeln!(out, "\n**Result: FAILED**\n")?;
            for failure in &self.failures {
                writeln!(out, "- {failure}")?;
            }
        }
        Ok(())
    }
}

/// A row of the table from the samples of `phases`.
fn phase_row(
    name: &'static str,
    label: &'static str,
    phases: &[Phase],
    measured: &Measured,
) -> PhaseRow {
    let mut samples = Vec::new();
    let mut healthy_clients = 0;
    for client in &measured.healthy {
        let before = samples.len();
        for phase in phases {
            samples.extend_from_slice(&client.latencies[phase.index()]);
        }
        healthy_clients += usize::from(samples.len() > before);
    }
    let peak_rss_kib = phases
        .iter()
        .filter_map(|phase| measured.rss.peak[phase.index()])
        .max();
    let seconds = phases
        .iter()
        .map(|phase| measured.durations[phase.index()].as_secs_f64())
        .sum();
    let latency_ms = Latency::of(samples);
    PhaseRow {
        name,
        label,
        healthy_clients,
        seconds,
        ticks: latency_ms.count as u64,
        latency_ms,
        peak_rss_kib,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use super::*;
    use crate::{clients::HealthyReport, scenario::RssByPhase};

    fn settings() -> Settings {
        Settings {
            clients: 2,
            duration: Duration::from_secs(1),
            warmup: Duration::from_secs(1),
            tick_rate: 100.0,
            queue_bound: 1024,
            seed: 1,
            stalled_recv_buffer: 4096,
            heartbeat_timeout: Duration::from_secs(60),
            disconnect_timeout: Duration::from_secs(30),
        }
    }

    fn client(baseline_ms: f64, stalled_ms: f64) -> HealthyReport {
        let mut client = HealthyReport::default();
        client.latencies[Phase::Baseline.index()] = vec![baseline_ms; 100];
        client.latencies[Phase::Stalled.index()] = vec![stalled_ms; 50];
        client.latencies[Phase::Recovered.index()] = vec![baseline_ms; 50];
        client.tick_bytes[Phase::Baseline.index()] = 100 * 256;
        client
    }

    fn measured(healthy: Vec<HealthyReport>) -> Measured {
        let mut rss = RssByPhase::default();
        rss.peak[Phase::Baseline.index()] = Some(10_000);
        rss.peak[Phase::Stalled.index()] = Some(10_300);
        rss.peak[Phase::Recovered.index()] = Some(10_200);
        Measured {
            healthy,
            rss,
            durations: [Duration::from_secs(1); Phase::COUNT],
            stall_to_disconnect: Some(Duration::from_millis(2_500)),
            read_again_after: Some(Duration::from_millis(1_500)),
            drained: Some(Ok(Drained {
                frames: 3,
                bytes: 4096,
                close: Some("1008 \"slow consumer: outbound queue full\"".into()),
                close_code: Some(1008),
                ended: None,
            })),
            slow_consumer_disconnects: 1,
            heartbeat_timeouts: 0,
            open_at_end: 2,
            cpu: [CpuUse::default(); 2],
            affinity: (Some("1".into()), Some("0".into())),
            load_average: Some(0.5),
            warnings: Vec::new(),
        }
    }

    fn report(measured: &Measured) -> Report {
        Report::new(&settings(), &[], measured, Duration::from_secs(5))
    }

    #[test]
    fn a_clean_run_passes_and_reports_the_ratio_and_the_growth() {
        let report = report(&measured(vec![client(2.0, 2.1), client(2.0, 2.1)]));
        assert!(report.passed, "{:?}", report.failures);
        assert_eq!(report.phases[0].ticks, 200);
        assert_eq!(report.phases[1].ticks, 200);
        assert_eq!(report.phases[2].latency_ms.p99, 2.1);
        assert_eq!(report.p99_ratio, Some(2.1 / 2.0));
        assert_eq!(report.p99_within_10_percent, Some(true));
        assert_eq!(report.rss_growth_kib, Some(300));
        assert_eq!(report.queue_payload_kib, Some(256.0));
        let markdown = report.markdown();
        assert!(
            markdown.contains("| A: healthy clients only | 2 | 1.0 | 200 |"),
            "{markdown}"
        );
        assert!(markdown.contains("Result: passed"), "{markdown}");
    }

    #[test]
    fn a_slower_phase_b_is_reported_but_does_not_fail_the_run() {
        let report = report(&measured(vec![client(2.0, 3.0)]));
        assert_eq!(report.p99_within_10_percent, Some(false));
        assert!(report.passed);
        assert!(report.markdown().contains("NOT within 10 %"));
    }

    #[test]
    fn broken_guarantees_fail_the_run() {
        let mut gappy = client(2.0, 2.0);
        gappy.seq.gaps = 1;
        gappy.seq.missing = 4;
        let mut dropped = client(2.0, 2.0);
        dropped.ended_early = Some("1008 \"slow consumer: outbound queue full\"".into());
        let mut run = measured(vec![gappy, dropped]);
        run.slow_consumer_disconnects = 2;
        run.drained = Some(Ok(Drained {
            frames: 0,
            bytes: 0,
            close: Some("1011 \"oops\"".into()),
            close_code: Some(1011),
            ended: None,
        }));
        let report = report(&run);
        assert!(!report.passed);
        assert_eq!(report.failures.len(), 4, "{:?}", report.failures);
        assert!(report.markdown().contains("Result: FAILED"));
    }

    #[test]
    fn a_stalled_client_left_connected_fails_the_run() {
        let mut run = measured(vec![client(2.0, 2.0)]);
        run.slow_consumer_disconnects = 0;
        run.stall_to_disconnect = None;
        run.drained = None;
        let report = report(&run);
        assert_eq!(report.failures.len(), 1);
        assert!(report.failures[0].contains("not disconnected"));
    }
}
