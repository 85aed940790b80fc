//! The load report: throughput, latency, CPU and memory of one run, as markdown and JSON.

use std::{fmt::Write, time::Duration};

use serde::Serialize;

use super::{
    Measured, Settings,
    client::{Decode, Encoding},
};
use crate::{
    output::{self, Machine},
    proc::CpuUse,
    server::Batching,
    stats::{Histogram, Latency, per_second},
};

/// Share of its CPUs above which the bench counts as the bottleneck ("client-bound").
const CLIENT_BOUND_SHARE: f64 = 0.8;

/// One run of the load scenario, as reported.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always `load`.
    pub(crate) scenario: &'static str,
    /// The bench's command line, as run.
    pub(crate) command: String,
    /// The server: Ticker's command line or the external URL.
    pub(crate) server: String,
    /// When the report was made (UTC).
    pub(crate) date: String,
    /// The settings after `--quick` and the defaults.
    pub(crate) settings: SettingsOut,
    /// Where it ran.
    pub(crate) machine: Machine,
    /// Clients asked for.
    pub(crate) clients_wanted: usize,
    /// Clients that connected and subscribed.
    pub(crate) clients_connected: usize,
    /// Clients that could not (timeout, refusal, error).
    pub(crate) connect_errors: usize,
    /// Why, counted.
    pub(crate) connect_error_reasons: Vec<String>,
    /// From the first connect to the last client connected or failed, in seconds.
    pub(crate) connect_seconds: f64,
    /// Connected clients whose connection ended before the run was over.
    pub(crate) disconnects: usize,
    /// Why, counted.
    pub(crate) disconnect_reasons: Vec<String>,
    /// Length of the measured window, in seconds.
    pub(crate) measured_seconds: f64,
    /// Data frames received in the window, over every client, per second.
    pub(crate) frames_per_s: f64,
    /// Ticks received per second.
    pub(crate) ticks_per_s: f64,
    /// Payload bytes received per second.
    pub(crate) bytes_per_s: f64,
    /// Ticks per frame (the server's batching).
    pub(crate) ticks_per_frame: f64,
    /// Tick latency, receipt minus the tick's `ts`, in milliseconds.
    pub(crate) latency_ms: Latency,
    /// Latency samples below zero (counted as 0).
    pub(crate) negative_latencies: u64,
    /// Messages that did not decode.
    pub(crate) undecodable: u64,
    /// `error` messages from the server.
    pub(crate) server_errors: u64,
    /// CPU used in the window, in cores.
    pub(crate) cpu_cores: CpuUse,
    /// True when the bench used more than 80 % of its CPUs: the figures then measure the
    /// bench as much as the server.
    pub(crate) client_bound: bool,
    /// The server's resident memory when the window began, in KiB.
    pub(crate) server_rss_start_kib: Option<u64>,
    /// Its peak over the window, in KiB.
    pub(crate) server_peak_rss_kib: Option<u64>,
    /// The bench's open-file limit.
    pub(crate) open_file_limit: u64,
    /// Ticker's warnings and errors.
    pub(crate) server_warnings: Vec<String>,
    /// The whole run, start to report, in seconds.
    pub(crate) run_seconds: f64,
}

/// The settings in a report.
#[derive(Debug, Serialize)]
pub(crate) struct SettingsOut {
    pub(crate) clients: usize,
    pub(crate) symbols: usize,
    pub(crate) duration_s: f64,
    pub(crate) warmup_s: f64,
    pub(crate) connect_rate: f64,
    pub(crate) connect_timeout_s: f64,
    pub(crate) market_symbols: usize,
    pub(crate) tick_rate: f64,
    pub(crate) seed: u64,
    pub(crate) decode: Decode,
    pub(crate) encoding: Encoding,
    pub(crate) batching: Batching,
}

/// Whether a bench that used `bench_cores` of its `cpus` CPUs was the bottleneck.
pub fn client_bound(bench_cores: Option<f64>, cpus: usize) -> bool {
    bench_cores.is_some_and(|cores| cores > CLIENT_BOUND_SHARE * cpus as f64)
}

impl Report {
    /// Builds the report of a run.
    pub(super) fn new(
        settings: &Settings,
        server: String,
        measured: &Measured,
        server_warnings: Vec<String>,
        run_time: Duration,
    ) -> Report {
        let mut latency = Histogram::default();
        let (mut frames, mut ticks, mut bytes, mut undecodable, mut server_errors) =
            (0, 0, 0, 0, 0);
        let mut ended = Vec::new();
        for client in &measured.clients {
            latency.merge(&client.latency);
            frames += client.frames;
            ticks += client.ticks;
            bytes += client.bytes;
            undecodable += client.undecodable;
            server_errors += client.errors;
            ended.extend(client.ended_early.clone());
        }
        let seconds = measured.measured.as_secs_f64();
        let machine = measured.machine.clone();
        Report {
            scenario: "load",
            command: output::command_line(),
            server,
            date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            settings: SettingsOut {
                clients: settings.clients,
                symbols: settings.symbols,
                duration_s: settings.duration.as_secs_f64(),
                warmup_s: settings.warmup.as_secs_f64(),
                connect_rate: settings.connect_rate,
                connect_timeout_s: settings.connect_timeout.as_secs_f64(),
                market_symbols: settings.market_symbols,
                tick_rate: settings.tick_rate,
                seed: settings.seed,
                decode: settings.decode,
                encoding: settings.encoding,
                batching: settings.batching,
            },
            clients_wanted: settings.clients,
            clients_connected: measured.clients.iter().filter(|c| c.connected).count(),
            connect_errors: measured.connect_errors.len(),
            connect_error_reasons: output::tally(&measured.connect_errors),
            connect_seconds: measured.connect_time.as_secs_f64(),
            disconnects: ended.len(),
            disconnect_reasons: output::tally(&ended),
            measured_seconds: seconds,
            frames_per_s: per_second(frames, seconds),
            ticks_per_s: per_second(ticks, seconds),
            bytes_per_s: per_second(bytes, seconds),
            ticks_per_frame: if frames > 0 {
                ticks as f64 / frames as f64
            } else {
                0.0
            },
            latency_ms: latency.latency(),
            negative_latencies: latency.negative,
            undecodable,
            server_errors,
            cpu_cores: measured.cpu,
            client_bound: client_bound(measured.cpu.bench, machine.cpus),
            server_rss_start_kib: measured.rss_start_kib,
            server_peak_rss_kib: measured.rss_peak_kib,
            open_file_limit: measured.open_file_limit,
            server_warnings,
            run_seconds: run_time.as_secs_f64(),
            machine,
        }
    }

    /// The report in markdown.
    pub fn markdown(&self) -> String {
        output::render(|out| self.write_markdown(out))
    }

    fn write_markdown(&self, out: &mut String) -> std::fmt::Result {
        let s = &self.settings;
        writeln!(
            out,
            "# Load: {} clients, each subscribed to {}\n",
            s.clients,
            symbols(s.symbols)
        )?;
        writeln!(
            out,
            "Made by `ticker-bench load` (bench/), {}. Figures are one run's, not assertions.\n",
            self.date
        )?;
        writeln!(out, "- Command: `{}`", self.command)?;
        writeln!(out, "- Server: {}", self.server)?;
        writeln!(out, "- Machine: {}", self.machine.describe())?;
        writeln!(
            out,
            "- Load: {} clients opened at {}/s (connect timeout {} s), each subscribed to {}; \
             Ticker's tick rate {} ticks/s per symbol; counting began {} s after the last \
             client connected and lasted {:.1} s. Latency is receipt time minus the tick's \
             `ts` (same host clock; `ts` is whole milliseconds), kept in 0.01 ms buckets; \
             ticks read with `--decode {}`.\n",
            s.clients,
            s.connect_rate,
            s.connect_timeout_s,
            symbols(s.symbols),
            s.tick_rate,
            s.warmup_s,
            self.measured_seconds,
            match s.decode {
                Decode::Light => "light",
                Decode::Full => "full",
            },
        )?;
        writeln!(
            out,
            "| clients connected / wanted | connect errors | disconnects | frames/s | ticks/s | \
             KiB/s | p50 ms | p90 ms | p99 ms | max ms | server CPU cores | server peak RSS \
             KiB | bench CPU cores |"
        )?;
        writeln!(out, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
        let l = &self.latency_ms;
        let ms = |value: f64| {
            if l.count == 0 {
                "–".to_owned()
            } else {
                format!("{value:.2}")
            }
        };
        let cores =
            |cores: Option<f64>| cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"));
        writeln!(
            out,
            "| {} / {} | {} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {}{} |\n",
            self.clients_connected,
            self.clients_wanted,
            self.connect_errors,
            self.disconnects,
            self.frames_per_s,
            self.ticks_per_s,
            self.bytes_per_s / 1024.0,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.max),
            cores(self.cpu_cores.server),
            self.server_peak_rss_kib
                .map_or_else(|| "?".to_owned(), |kib| kib.to_string()),
            cores(self.cpu_cores.bench),
            if self.client_bound {
                " (client-bound)"
            } else {
                ""
            },
        )?;
        if self.client_bound {
            writeln!(
                out,
                "- **Client-bound**: the bench used more than {:.0} % of its {} CPU(s); these \
                 figures measure the bench as much as the server.",
                CLIENT_BOUND_SHARE * 100.0,
                self.machine.cpus
            )?;
        }
        writeln!(
            out,
            "- {} ticks counted, {:.2} ticks per frame; connecting took {:.1} s; other processes used \
             {} cores; server RSS {} KiB when counting began.",
            l.count,
            self.ticks_per_frame,
            self.connect_seconds,
            cores(self.cpu_cores.others),
            self.server_rss_start_kib
                .map_or_else(|| "?".to_owned(), |kib| kib.to_string()),
        )?;
        for (what, reasons) in [
            ("Connect errors", &self.connect_error_reasons),
            ("Disconnects", &self.disconnect_reasons),
        ] {
            if !reasons.is_empty() {
                writeln!(out, "- {what}: {}.", reasons.join("; "))?;
            }
        }
        if self.undecodable + self.server_errors + self.negative_latencies > 0 {
            writeln!(
                out,
                "- Undecodable messages: {}; `error` messages: {}; negative latencies: {}.",
                self.undecodable, self.server_errors, self.negative_latencies
            )?;
        }
        output::write_footer(out, self.run_seconds, &self.server_warnings)?;
        Ok(())
    }
}

/// `--symbols` in words.
fn symbols(count: usize) -> String {
    if count == 0 {
        "every symbol (`*`)".into()
    } else {
        format!("the first {count} symbols (all, `*`, if the server has no more)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_is_client_bound_above_80_percent_of_its_cpus() {
        assert!(!client_bound(Some(0.8), 1));
        assert!(client_bound(Some(0.81), 1));
        assert!(!client_bound(Some(1.5), 2));
        assert!(client_bound(Some(1.7), 2));
        assert!(!client_bound(None, 1));
    }
}
