//! Figures from Linux's `/proc`: resident memory, CPU time, CPU affinity, machine load.

use std::time::{Duration, Instant};

/// Clock ticks per second of the times in `/proc` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// A field of `/proc/<pid>/status` (`pid` may be `self`), such as `VmRSS` or
/// `Cpus_allowed_list`, without its name.
pub fn status_field(pid: &str, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        Some(value.trim().to_owned())
    })
}

/// The resident set size of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(&pid.to_string(), "VmRSS")?
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU time process `pid` (`self` for this one) has used so far, user and system, in
/// seconds, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    process_cpu_seconds(&stat)
}

/// User plus system time from the text of `/proc/<pid>/stat`, in seconds.
fn process_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name may contain spaces and parentheses; the fields after its last `)`
    // start with the state (field 3), so utime (field 14) is the 12th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let user: f64 = fields.nth(11)?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / USER_HZ)
}

/// CPU time every process on the machine has used so far (everything but idle and I/O
/// wait, summed over the CPUs), in seconds, from `/proc/stat`.
pub fn machine_busy_seconds() -> Option<f64> {
    machine_busy(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Busy time from the text of `/proc/stat`, in seconds.
fn machine_busy(stat: &str) -> Option<f64> {
    let mut fields = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace();
    let mut busy = 0.0;
    for (i, field) in fields.by_ref().take(8).enumerate() {
        let ticks: f64 = field.parse().ok()?;
        // 3 is idle, 4 is iowait.
        if i != 3 && i != 4 {
            busy += ticks;
        }
    }
    Some(busy / USER_HZ)
}

/// The load average over the last minute.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU used over a phase, in cores (1.0 is one core busy all the time).
#[derive(Debug, Default, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CpuUse {
    /// By the server.
    pub server: Option<f64>,
    /// By the bench.
    pub bench: Option<f64>,
    /// By everything else on the machine (other builds, other benches): what disturbs the
    /// figures.
    pub others: Option<f64>,
}

/// The CPU time used so far, at one moment.
pub struct CpuMark {
    at: Instant,
    server: Option<f64>,
    bench: Option<f64>,
    machine: Option<f64>,
}

impl CpuMark {
    /// The CPU time used so far by the server `server_pid` (if known), this process and the
    /// machine.
    pub fn now(server_pid: Option<u32>) -> Self {
        CpuMark {
            at: Instant::now(),
            server: server_pid.and_then(|pid| cpu_seconds(&pid.to_string())),
            bench: cpu_seconds("self"),
            machine: machine_busy_seconds(),
        }
    }

    /// The CPU used from this mark to `later`.
    pub fn use_until(&self, later: &CpuMark) -> CpuUse {
        let elapsed = (later.at - self.at).as_secs_f64();
        let rate = |from: Option<f64>, to: Option<f64>| match (from, to) {
            (Some(from), Some(to)) if elapsed > 0.0 => Some((to - from) / elapsed),
            _ => None,
        };
        let server = rate(self.server, later.server);
        let bench = rate(self.bench, later.bench);
        let others = match (rate(self.machine, later.machine), server, bench) {
            (Some(machine), Some(server), Some(bench)) => Some((machine - server - bench).max(0.0)),
            _ => None,
        };
        CpuUse {
            server,
            bench,
            others,
        }
    }
}

/// Reads the resident memory of `pid` every `period` until `stop` turns true (or its sender
/// goes away) and returns the highest sample in KiB.
pub async fn peak_rss(
    pid: u32,
    period: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<u64> {
    let mut peak = None;
    let mut every = tokio::time::interval(period);
    loop {
        if let Some(kib) = rss_kib(pid) {
            peak = Some(peak.map_or(kib, |peak: u64| peak.max(kib)));
        }
        tokio::select! {
            _ = every.tick() => {}
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return peak;
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_time_is_user_plus_system_after_the_name() {
        let stat = "6786 (odd) name) R 6737 6737 7543 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1";
        assert_eq!(process_cpu_seconds(stat), Some(3.0));
        assert_eq!(process_cpu_seconds("garbage"), None);
    }

    #[test]
    fn machine_busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 10 50 9000 40 5 5 0 0 0\ncpu0 50 5 25 4500 20 2 3 0 0 0\n";
        assert_eq!(machine_busy(stat), Some(1.7));
        assert_eq!(machine_busy("intr 1 2 3"), None);
    }
}
