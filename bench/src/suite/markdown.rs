//! The suite's page: one table per scenario with the servers side by side, Ticker's ratio to
//! the best peer, and which rows were client-bound.

use std::fmt::Write;

use super::{Contender, Outcome, Results, Suite, Sweep};

/// Share of the ticks the market produced that must reach the clients for a run to count as
/// kept up (the market is random, so a run sees a little more or less than the average).
const DELIVERED_SHARE: f64 = 0.9;
use crate::{idle, load::report::Report as LoadReport};

/// One load run, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRow {
    pub connected: usize,
    pub wanted: usize,
    /// Clients that failed to connect or were disconnected.
    pub lost: usize,
    pub frames_per_s: f64,
    pub ticks_per_s: f64,
    /// What the market should deliver to the clients: clients × symbols × tick rate.
    pub offered: f64,
    /// Warnings and errors the server logged.
    pub warnings: usize,
    pub ticks_per_frame: f64,
    /// Payload bytes per tick received.
    pub bytes_per_tick: Option<f64>,
    /// Latency samples; 0 means no figures.
    pub samples: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub server_cpu: Option<f64>,
    pub server_rss_kib: Option<u64>,
    pub bench_cpu: Option<f64>,
    pub client_bound: bool,
}

impl From<&LoadReport> for LoadRow {
    fn from(report: &LoadReport) -> Self {
        let l = &report.latency_ms;
        let s = &report.settings;
        let symbols = if s.symbols == 0 {
            s.market_symbols
        } else {
            s.symbols.min(s.market_symbols)
        };
        LoadRow {
            offered: s.clients as f64 * symbols as f64 * s.tick_rate,
            warnings: report.server_warnings.len(),
            connected: report.clients_connected,
            wanted: report.clients_wanted,
            lost: report.connect_errors + report.disconnects,
            frames_per_s: report.frames_per_s,
            ticks_per_s: report.ticks_per_s,
            ticks_per_frame: report.ticks_per_frame,
            bytes_per_tick: (report.ticks_per_s > 0.0)
                .then(|| report.bytes_per_s / report.ticks_per_s),
            samples: l.count,
            p50: l.p50,
            p90: l.p90,
            p99: l.p99,
            max: l.max,
            server_cpu: report.cpu_cores.server,
            server_rss_kib: report.server_peak_rss_kib,
            bench_cpu: report.cpu_cores.bench,
            client_bound: report.client_bound,
        }
    }
}

impl LoadRow {
    /// Every client connected and stayed, nearly every tick arrived, the server logged no
    /// warning (Ticker warns when its hub falls behind and loses ticks), and p99 is within
    /// `limit_ms`.
    fn within(&self, limit_ms: f64) -> bool {
        self.connected == self.wanted
            && self.lost == 0
            && self.warnings == 0
            && self.ticks_per_s >= DELIVERED_SHARE * self.offered
            && self.samples > 0
            && self.p99 <= limit_ms
    }

    /// Latency figures, only when there are samples.
    fn latency(&self, value: f64) -> Option<f64> {
        (self.samples > 0).then_some(value)
    }
}

/// Whether a sweep step kept up: the next rate is worth trying.
pub fn sustained(report: &LoadReport, limit_ms: f64) -> bool {
    LoadRow::from(report).within(limit_ms)
}

/// One idle run, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdleRow {
    pub connected: usize,
    pub wanted: usize,
    pub lost: usize,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub per_connection_kib: Option<f64>,
}

impl From<&idle::Report> for IdleRow {
    fn from(report: &idle::Report) -> Self {
        IdleRow {
            connected: report.clients_connected,
            wanted: report.clients_wanted,
            lost: report.connect_errors + report.disconnects,
            rss_before_kib: report.server_rss_before_kib,
            rss_after_kib: report.server_rss_after_kib,
            per_connection_kib: report.rss_per_connection_kib,
        }
    }
}

/// `ticker` over the best of `peers` (the lowest when `lower_is_better`, else the highest),
/// with that peer's name: `0.42× Node ws`.
pub fn ratio(
    ticker: Option<f64>,
    peers: &[(Contender, Option<f64>)],
    lower_is_better: bool,
) -> String {
    let best = peers
        .iter()
        .filter_map(|(who, value)| value.map(|value| (*who, value)))
        .reduce(|best, next| {
            let better = if lower_is_better {
                next.1 < best.1
            } else {
                next.1 > best.1
            };
            if better { next } else { best }
        });
    match (ticker, best) {
        (Some(ticker), Some((who, best))) if best > 0.0 => {
            format!("{}× {}", sig(ticker / best), who.name())
        }
        _ => "–".into(),
    }
}

/// A ratio with about three significant digits.
fn sig(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A whole number with thousands separators.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "?".into(), |v| format!("{v:.decimals$}"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
}

/// The rows of a scenario that ran, with Ticker's apart from the peers'.
fn split<T, R>(runs: &[(Contender, Outcome<T>)], row: impl Fn(&T) -> R) -> Vec<(Contender, R)> {
    runs.iter()
        .filter_map(|(who, outcome)| outcome.as_ref().ok().map(|report| (*who, row(report))))
        .collect()
}

/// Ticker's value and the peers' for one column.
fn column<R>(
    rows: &[(Contender, R)],
    value: impl Fn(&R) -> Option<f64>,
) -> (Option<f64>, Vec<(Contender, Option<f64>)>) {
    let ticker = rows
        .iter()
        .find(|(who, _)| *who == Contender::Ticker)
        .and_then(|(_, row)| value(row));
    let peers = rows
        .iter()
        .filter(|(who, _)| who.is_peer())
        .map(|(who, row)| (*who, value(row)))
        .collect();
    (ticker, peers)
}

/// The page.
pub fn page(results: &Results) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, results);
    out
}

fn write_page(out: &mut String, r: &Results) -> std::fmt::Result {
    let o = &r.options;
    writeln!(
        out,
        "# Benchmarks: Ticker beside a Python `websockets` and a Node `ws` server\n"
    )?;
    writeln!(
        out,
        "Made by `cargo xtask bench` (the `suite` of `ticker-bench`, bench/src/suite.rs) on {}, \
         in {:.0} s. One run's figures, not assertions: regenerate them with `cargo xtask bench`.\n",
        r.date, r.run_seconds
    )?;
    writeln!(
        out,
        "- Command: `cargo xtask bench`, which builds the release binaries, installs the peers \
         and runs `taskset -c 1 {}` (the bench on CPU 1, each server on CPU 0).",
        r.command
    )?;
    if let Some(machine) = &r.machine {
        writeln!(out, "- Machine: {}.", machine.describe())?;
    }
    writeln!(
        out,
        "- Servers, one after another: {}. \"Ticker\" is the server with clients speaking JSON, \
         the protocol's default; \"Ticker, binary\" the same server with clients that negotiate \
         the compact binary frames (`Sec-WebSocket-Protocol: ticker.v1.bin`). The peers are the \
         quick broadcast servers of [bench/peers/](../bench/peers/README.md).",
        o.servers
            .iter()
            .map(|who| who.name())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "- Batching: Ticker sends each client at most one frame per `--batch-window` (10 ms by \
         default), shared by every client with the same subscriptions; the peers run `--batch \
         on` (every tick of a 10 ms loop iteration in one frame per subscription set). In the \
         one-tick-per-frame sweep every server sends each tick in its own frame: Ticker \
         `--batch-window 0s`, the peers `--batch off`, the seed's broadcast pattern."
    )?;
    writeln!(
        out,
        "- Every server simulates the same market: {} symbols (Ticker's catalogue, then \
         synthetic; Ticker `--symbol-count`, peers `--symbols`), seed {}, the tick rate of the \
         scenario (average per symbol, random spacing).",
        o.market_symbols, o.seed
    )?;
    writeln!(
        out,
        "- Latency is receipt time minus the tick's `ts`, which every server stamps with the \
         trade's scheduled time: it includes the wait for the batch window or broadcast loop \
         (up to 10 ms everywhere) and the time to write to every client. `ts` is whole \
         milliseconds.",
    )?;
    writeln!(
        out,
        "- **Client-bound** (†): the bench used more than 80 % of its CPU, so the row measures \
         the bench as much as the server.",
    )?;
    writeln!(
        out,
        "- Where the time and the memory go (profiles), and how each figure compares with the \
         targets of issue 4: [PERFORMANCE.md](PERFORMANCE.md).\n"
    )?;

    let expected = o.clients as f64 * o.symbols.min(o.market_symbols) as f64 * o.tick_rate;
    writeln!(
        out,
        "## Latency: {} clients × {} symbols at {} ticks/s per symbol\n",
        o.clients, o.symbols, o.tick_rate
    )?;
    writeln!(
        out,
        "{} s measured after a {} s warm-up; {} ticks/s expected in all. Ticker's frames also \
         carry the candles the ticks closed, which the peers do not send.\n",
        o.duration.as_secs_f64(),
        o.warmup.as_secs_f64(),
        grouped(expected)
    )?;
    writeln!(
        out,
        "| server | clients | frames/s | ticks/s | ticks/frame | bytes/tick | p50 ms | p90 ms | \
         p99 ms | max ms | server CPU cores | server peak RSS MiB | bench CPU cores |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    let rows = split(&r.latency, |report| LoadRow::from(report));
    for (who, outcome) in &r.latency {
        let Ok(report) = outcome else {
            writeln!(out, "| {} | failed | | | | | | | | | | | |", who.name())?;
            continue;
        };
        let row = LoadRow::from(report);
        let ms = |value: f64| opt(row.latency(value), 2);
        writeln!(
            out,
            "| {}{} | {} / {}{} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            who.name(),
            if row.client_bound { " †" } else { "" },
            row.connected,
            row.wanted,
            lost(row.lost),
            grouped(row.frames_per_s),
            grouped(row.ticks_per_s),
            row.ticks_per_frame,
            opt(row.bytes_per_tick, 1),
            ms(row.p50),
            ms(row.p90),
            ms(row.p99),
            ms(row.max),
            opt(row.server_cpu, 3),
            mib(row.server_rss_kib),
            opt(row.bench_cpu, 2),
        )?;
    }
    let lower = |value: fn(&LoadRow) -> Option<f64>| {
        let (ticker, peers) = column(&rows, value);
        ratio(ticker, &peers, true)
    };
    writeln!(
        out,
        "| **Ticker ÷ best peer** (lower is better) | | | {} | | {} | {} | {} | {} | {} | {} | {} \
         | |\n",
        {
            let (ticker, peers) = column(&rows, |row: &LoadRow| Some(row.ticks_per_s));
            ratio(ticker, &peers, false)
        },
        lower(|row| row.bytes_per_tick),
        lower(|row| row.latency(row.p50)),
        lower(|row| row.latency(row.p90)),
        lower(|row| row.latency(row.p99)),
        lower(|row| row.latency(row.max)),
        lower(|row| row.server_cpu),
        lower(|row| row.server_rss_kib.map(|kib| kib as f64)),
    )?;
    writeln!(
        out,
        "(The ticks/s ratio is against the peer that delivered most; at this load every server \
         should deliver what is expected.)\n"
    )?;

    writeln!(
        out,
        "## Idle memory: {} connections\n",
        grouped(o.idle_clients as f64)
    )?;
    writeln!(
        out,
        "Connections that subscribe to nothing (they read the `hello` and answer pings), held \
         3 s; the server's resident memory before the first and after the last, over the \
         connections (Ticker once: the encoding makes no difference to an idle connection).\n",
    )?;
    writeln!(
        out,
        "| server | connected | RSS before MiB | RSS after MiB | KiB per connection |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|")?;
    let idle_rows = split(&r.idle, |report| IdleRow::from(report));
    for (who, outcome) in &r.idle {
        let Ok(report) = outcome else {
            writeln!(out, "| {} | failed | | | |", who.name())?;
            continue;
        };
        let row = IdleRow::from(report);
        writeln!(
            out,
            "| {} | {} / {}{} | {} | {} | {} |",
            who.name(),
            row.connected,
            row.wanted,
            lost(row.lost),
            mib(row.rss_before_kib),
            mib(row.rss_after_kib),
            opt(row.per_connection_kib, 1),
        )?;
    }
    let (ticker, peers) = column(&idle_rows, |row: &IdleRow| row.per_connection_kib);
    writeln!(
        out,
        "| **Ticker ÷ best peer** (lower is better) | | | | {} |\n",
        ratio(ticker, &peers, true)
    )?;

    let batched = SweepPage {
        title: format!(
            "Throughput sweep: {} clients × every symbol ({}), batched",
            grouped(o.sweep_clients as f64),
            o.market_symbols
        ),
        clients: o.sweep_clients,
        rates: &o.sweep_rates,
        sweeps: &r.sweep,
    };
    let unbatched = SweepPage {
        title: format!(
            "One tick per frame: {} clients × every symbol ({}), batching off everywhere",
            grouped(o.unbatched_clients as f64),
            o.market_symbols
        ),
        clients: o.unbatched_clients,
        rates: &o.unbatched_rates,
        sweeps: &r.unbatched,
    };
    write_sweep(out, o, &batched)?;
    write_sweep(out, o, &unbatched)?;
    write_saturation(out, o, &batched, &unbatched)?;
    write_windows(out, r)?;

    writeln!(out, "## Client-bound rows\n")?;
    let mut bound = Vec::new();
    for (who, outcome) in &r.latency {
        if outcome.as_ref().is_ok_and(|report| report.client_bound) {
            bound.push(format!("latency, {}", who.name()));
        }
    }
    for (what, sweeps) in [("sweep", &r.sweep), ("one tick per frame", &r.unbatched)] {
        for (who, rates) in sweeps {
            for (rate, outcome) in rates {
                if outcome.as_ref().is_ok_and(|report| report.client_bound) {
                    bound.push(format!("{what} at {rate} ticks/s, {}", who.name()));
                }
            }
        }
    }
    for (window, outcome) in &r.windows {
        if outcome.as_ref().is_ok_and(|report| report.client_bound) {
            let window = humantime::format_duration(*window);
            bound.push(format!("batch window {window}"));
        }
    }
    if bound.is_empty() {
        writeln!(
            out,
            "None: the bench never used more than 80 % of its CPU.\n"
        )?;
    } else {
        writeln!(
            out,
            "In these rows the bench used more than 80 % of its CPU; their figures are a floor \
             for the server, not its limit:\n"
        )?;
        for row in bound {
            writeln!(out, "- {row}")?;
        }
        writeln!(out)?;
    }

    write_warnings(out, r)?;

    let failures: Vec<String> = r
        .latency
        .iter()
        .map(|(who, outcome)| ("latency", *who, outcome.as_ref().err()))
        .chain(
            r.idle
                .iter()
                .map(|(who, outcome)| ("idle", *who, outcome.as_ref().err())),
        )
        .chain(r.sweep.iter().flat_map(|(who, rates)| {
            rates
                .iter()
                .map(move |(_, outcome)| ("sweep", *who, outcome.as_ref().err()))
        }))
        .chain(r.unbatched.iter().flat_map(|(who, rates)| {
            rates
                .iter()
                .map(move |(_, outcome)| ("one tick per frame", *who, outcome.as_ref().err()))
        }))
        .chain(
            r.windows
                .iter()
                .map(|(_, outcome)| ("batch window", Contender::Ticker, outcome.as_ref().err())),
        )
        .filter_map(|(scenario, who, err)| Some(format!("{scenario}, {}: {}", who.name(), err?)))
        .collect();
    if !failures.is_empty() {
        writeln!(out, "## Runs that failed\n")?;
        for failure in failures {
            writeln!(out, "- {failure}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Each run's full report (connect errors, disconnect reasons, server warnings, CPU of \
         other processes) is the JSON line `cargo xtask bench` printed for it."
    )
}

/// One sweep as the page shows it.
struct SweepPage<'a> {
    title: String,
    clients: usize,
    rates: &'a [f64],
    sweeps: &'a [(Contender, Sweep)],
}

impl SweepPage<'_> {
    /// Each server's run at the highest rate it kept up with, if any.
    fn best(&self, limit_ms: f64) -> Vec<(Contender, Option<(f64, LoadRow)>)> {
        self.sweeps
            .iter()
            .map(|(who, rates)| {
                let top = rates
                    .iter()
                    .filter_map(|(rate, outcome)| {
                        let row = LoadRow::from(outcome.as_ref().ok()?);
                        row.within(limit_ms).then_some((*rate, row))
                    })
                    .next_back();
                (*who, top)
            })
            .collect()
    }

    /// Each server's run at `rate`, if it ran there.
    fn at(&self, rate: f64) -> Vec<(Contender, Option<LoadRow>)> {
        self.sweeps
            .iter()
            .map(|(who, rates)| {
                let row = rates
                    .iter()
                    .find(|(r, _)| *r == rate)
                    .and_then(|(_, outcome)| outcome.as_ref().ok())
                    .map(LoadRow::from);
                (*who, row)
            })
            .collect()
    }
}

fn write_sweep(out: &mut String, o: &Suite, page: &SweepPage) -> std::fmt::Result {
    if page.sweeps.is_empty() || page.rates.is_empty() {
        return Ok(());
    }
    writeln!(out, "## {}\n", page.title)?;
    writeln!(
        out,
        "Rising tick rates, {} s measured each after a {} s warm-up; a server's sweep stops \
         after the first rate it does not keep up with (✗): p99 over {} ms, a client lost, \
         under {:.0} % of the ticks delivered, or a warning logged (⚠, listed below). Cells: \
         ticks/s delivered to all clients, frames/s, p99, and the server's CPU in cores (it is \
         pinned to one).\n",
        o.sweep_duration.as_secs_f64(),
        o.warmup.as_secs_f64(),
        o.sweep_p99_limit_ms,
        DELIVERED_SHARE * 100.0
    )?;
    write!(out, "| ticks/s per symbol | ticks/s offered |")?;
    for (who, _) in page.sweeps {
        write!(out, " {} |", who.name())?;
    }
    writeln!(out)?;
    write!(out, "|--:|--:|")?;
    for _ in page.sweeps {
        write!(out, "--:|")?;
    }
    writeln!(out)?;
    for &rate in page.rates {
        let offered = page.clients as f64 * o.market_symbols as f64 * rate;
        write!(out, "| {rate} | {} |", grouped(offered))?;
        for (_, rates) in page.sweeps {
            let cell = match rates.iter().find(|(r, _)| *r == rate) {
                None => "not run".into(),
                Some((_, Err(_))) => "failed".into(),
                Some((_, Ok(report))) => {
                    let row = LoadRow::from(report);
                    format!(
                        "{}, {} frames/s, p99 {} ms, {} cores{}{}{}{}",
                        grouped(row.ticks_per_s),
                        grouped(row.frames_per_s),
                        opt(row.latency(row.p99), 1),
                        opt(row.server_cpu, 2),
                        lost(row.lost),
                        if row.warnings > 0 { " ⚠" } else { "" },
                        if row.client_bound { " †" } else { "" },
                        if row.within(o.sweep_p99_limit_ms) {
                            ""
                        } else {
                            " ✗"
                        },
                    )
                }
            };
            write!(out, " {cell} |")?;
        }
        writeln!(out)?;
    }
    write!(out, "| **highest rate kept up** | |")?;
    for (_, top) in page.best(o.sweep_p99_limit_ms) {
        let cell = top.map_or_else(
            || "none".into(),
            |(rate, row)| format!("{rate}: {} ticks/s", grouped(row.ticks_per_s)),
        );
        write!(out, " {cell} |")?;
    }
    writeln!(out, "\n")
}

/// Saturation throughput (the most ticks/s delivered with p99 within the limit) in both
/// sweeps, Ticker's ratios to the best peer, and the one-tick-per-frame comparison of frames/s
/// and of CPU at equal offered load.
fn write_saturation(
    out: &mut String,
    o: &Suite,
    batched: &SweepPage,
    unbatched: &SweepPage,
) -> std::fmt::Result {
    if batched.sweeps.is_empty() && unbatched.sweeps.is_empty() {
        return Ok(());
    }
    let limit = o.sweep_p99_limit_ms;
    writeln!(out, "## Saturation throughput\n")?;
    writeln!(
        out,
        "The most ticks per second each server delivered with p99 within {limit} ms (every \
         client kept, at least {:.0} % of the ticks delivered) in the two sweeps above: batched \
         ({} clients) and one tick per frame ({} clients). The sweeps are bounded by their \
         highest rate and by the bench's one core (†).\n",
        DELIVERED_SHARE * 100.0,
        grouped(batched.clients as f64),
        grouped(unbatched.clients as f64),
    )?;
    writeln!(out, "| server | batched | one tick per frame | best |")?;
    writeln!(out, "|---|--:|--:|--:|")?;
    let top = |page: &SweepPage, who: Contender| {
        page.best(limit)
            .into_iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, top)| top)
            .map(|(_, row)| row.ticks_per_s)
    };
    let mut best = Vec::new();
    for &who in &o.servers {
        let (on, off) = (top(batched, who), top(unbatched, who));
        let most = [on, off].into_iter().flatten().reduce(f64::max);
        let cell = |value: Option<f64>| value.map_or_else(|| "–".into(), grouped);
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            who.name(),
            cell(on),
            cell(off),
            cell(most)
        )?;
        best.push((who, most));
    }
    let peers: Vec<(Contender, Option<f64>)> = best
        .iter()
        .filter(|(who, _)| who.is_peer())
        .copied()
        .collect();
    writeln!(out)?;
    for who in [Contender::Ticker, Contender::TickerBinary] {
        let Some((_, ticker)) = best.iter().find(|(w, _)| *w == who) else {
            continue;
        };
        writeln!(
            out,
            "- {}'s saturation throughput ÷ the best peer's (in either mode): {} (higher is \
             better).",
            who.name(),
            ratio(*ticker, &peers, false)
        )?;
    }
    let unbatched_peers: Vec<(Contender, Option<f64>)> = unbatched
        .best(limit)
        .into_iter()
        .map(|(who, top)| (who, top.map(|(_, row)| row.frames_per_s)))
        .collect();
    let (ticker, peers) = column(&unbatched_peers, |frames: &Option<f64>| *frames);
    writeln!(
        out,
        "- One tick per frame, frames/s at the highest rate kept up: Ticker ÷ the best peer \
         {} (higher is better).",
        ratio(ticker, &peers, false)
    )?;
    // The CPU at the highest rate every server kept up: the cost of the same work.
    let common = unbatched
        .best(limit)
        .into_iter()
        .map(|(_, top)| top.map(|(rate, _)| rate))
        .reduce(|a, b| a.zip(b).map(|(a, b)| a.min(b)))
        .flatten();
    if let Some(rate) = common {
        let cpu: Vec<(Contender, Option<f64>)> = unbatched
            .at(rate)
            .into_iter()
            .map(|(who, row)| (who, row.and_then(|row| row.server_cpu)))
            .collect();
        let (ticker, peers) = column(&cpu, |cpu: &Option<f64>| *cpu);
        writeln!(
            out,
            "- One tick per frame, server CPU at {rate} ticks/s per symbol (the highest rate \
             every server kept up, equal offered load): Ticker ÷ the best peer {} (lower is \
             better).",
            ratio(ticker, &peers, true)
        )?;
    }
    writeln!(out)
}

/// Ticker at one load with each batch window: the measurement behind `--batch-window`'s
/// default.
fn write_windows(out: &mut String, r: &Results) -> std::fmt::Result {
    if r.windows.is_empty() {
        return Ok(());
    }
    let o = &r.options;
    writeln!(out, "## Choosing the batch window\n")?;
    writeln!(
        out,
        "Ticker with each `--batch-window`, {} clients × every symbol at {} ticks/s per symbol \
         ({} ticks/s offered), JSON clients. A longer window means fewer, larger frames: less \
         CPU (each frame is a write to a socket) for a little more latency.\n",
        grouped(o.sweep_clients as f64),
        o.window_rate,
        grouped(o.sweep_clients as f64 * o.market_symbols as f64 * o.window_rate)
    )?;
    writeln!(
        out,
        "| window | ticks/s | frames/s | ticks/frame | p50 ms | p99 ms | server CPU cores | bench \
         CPU cores |"
    )?;
    writeln!(out, "|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for (window, outcome) in &r.windows {
        let window = humantime::format_duration(*window);
        let Ok(report) = outcome else {
            writeln!(out, "| {window} | failed | | | | | | |")?;
            continue;
        };
        let row = LoadRow::from(report);
        writeln!(
            out,
            "| {window} | {} | {} | {:.1} | {} | {} | {} | {}{} |",
            grouped(row.ticks_per_s),
            grouped(row.frames_per_s),
            row.ticks_per_frame,
            opt(row.latency(row.p50), 2),
            opt(row.latency(row.p99), 2),
            opt(row.server_cpu, 2),
            opt(row.bench_cpu, 2),
            if row.client_bound { " †" } else { "" },
        )?;
    }
    writeln!(out)
}

/// The first warning each run's server logged, without its timestamp.
fn write_warnings(out: &mut String, r: &Results) -> std::fmt::Result {
    let latency = r
        .latency
        .iter()
        .map(|(who, outcome)| (format!("latency, {}", who.name()), outcome));
    fn sweep<'a>(
        what: &'static str,
        sweeps: &'a [(Contender, Sweep)],
    ) -> impl Iterator<Item = (String, &'a Outcome<LoadReport>)> {
        sweeps.iter().flat_map(move |(who, rates)| {
            rates
                .iter()
                .map(move |(rate, outcome)| (format!("{what} at {rate}, {}", who.name()), outcome))
        })
    }
    let windows = r.windows.iter().map(|(window, outcome)| {
        let window = humantime::format_duration(*window);
        (format!("batch window {window}"), outcome)
    });
    let mut lines = Vec::new();
    for (run, outcome) in latency
        .chain(sweep("sweep", &r.sweep))
        .chain(sweep("one tick per frame", &r.unbatched))
        .chain(windows)
    {
        let Ok(report) = outcome else { continue };
        if let Some(first) = report.server_warnings.first() {
            let from = ["WARN", "ERROR"]
                .iter()
                .filter_map(|level| first.find(level))
                .min()
                .unwrap_or(0);
            lines.push(format!(
                "- {run}: {} warning(s){}; the first: `{}`",
                report.server_warnings.len(),
                if report.server_warnings.len() >= 20 {
                    " (or more; 20 are kept)"
                } else {
                    ""
                },
                &first[from..]
            ));
        }
    }
    for (who, outcome) in &r.idle {
        if let Ok(report) = outcome
            && let Some(first) = report.server_warnings.first()
        {
            lines.push(format!("- idle, {}: `{first}`", who.name()));
        }
    }
    if !lines.is_empty() {
        writeln!(
            out,
            "## Server warnings
"
        )?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `, 3 lost` when clients were lost.
fn lost(count: usize) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(", {count} lost")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use std::time::Duration;

    use super::*;

    #[test]
    fn a_page_of_failed_runs_says_so_and_skips_runs_not_made() {
        let options: Suite = crate::parse_options("suite", &["--idle-clients", "300"]);
        let failed = || Err("cannot start node".to_owned());
        let results = Results {
            command: "ticker-bench suite".into(),
            date: "2026-01-01T00:00:00Z".into(),
            machine: None,
            latency: vec![(Contender::Ticker, failed()), (Contender::Node, failed())],
            idle: vec![(Contender::Node, Err("no".to_owned()))],
            sweep: vec![(Contender::Node, vec![(20.0, failed())])],
            unbatched: Vec::new(),
            windows: vec![(Duration::from_millis(5), failed())],
            run_seconds: 1.0,
            options,
        };
        let page = page(&results);
        assert!(page.contains("## Idle memory: 300 connections"), "{page}");
        assert!(page.contains("| Node ws | failed |"), "{page}");
        assert!(page.contains("| 100 | 3,000,000 | not run |"), "{page}");
        assert!(page.contains("| 5ms | failed |"), "{page}");
        assert!(
            page.contains("- sweep, Node ws: cannot start node"),
            "{page}"
        );
        assert!(
            page.contains("| **highest rate kept up** | | none |"),
            "{page}"
        );
        assert!(page.contains("| Node ws | – | – | – |"), "{page}");
    }

    #[test]
    fn the_ratio_is_against_the_best_peer() {
        let peers = [(Contender::Python, Some(4.0)), (Contender::Node, Some(2.0))];
        assert_eq!(ratio(Some(1.0), &peers, true), "0.50× Node ws");
        assert_eq!(ratio(Some(1.0), &peers, false), "0.25× Python websockets");
        assert_eq!(ratio(None, &peers, true), "–");
        assert_eq!(ratio(Some(1.0), &[(Contender::Node, None)], true), "–");
        assert_eq!(ratio(Some(300.0), &peers, true), "150× Node ws");
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(1_200_000.0), "1,200,000");
        assert_eq!(grouped(16_000.0), "16,000");
        assert_eq!(grouped(-1_500.0), "-1,500");
    }

    #[test]
    fn a_step_is_kept_up_only_with_every_client_and_p99_within_the_limit() {
        let row = LoadRow {
            connected: 200,
            wanted: 200,
            samples: 10,
            p99: 20.0,
            offered: 1000.0,
            ticks_per_s: 950.0,
            ..LoadRow::default()
        };
        assert!(row.within(25.0));
        assert!(!row.within(10.0));
        assert!(
            !LoadRow {
                ticks_per_s: 850.0,
                ..row.clone()
            }
            .within(25.0)
        );
        assert!(
            !LoadRow {
                warnings: 1,
                ..row.clone()
            }
            .within(25.0)
        );
        assert!(
            !LoadRow {
                lost: 1,
                ..row.clone()
            }
            .within(25.0)
        );
        assert!(
            !LoadRow {
                connected: 199,
                ..row.clone()
            }
            .within(25.0)
        );
        assert!(!LoadRow { samples: 0, ..row }.within(25.0));
    }
}
