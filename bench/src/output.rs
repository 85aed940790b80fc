//! What every scenario's report shares: the command line, the machine, and publishing the
//! markdown file and the JSON line.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::{Context, Result};
use serde::Serialize;

/// Writes `markdown` to `path` (creating its directory) when a path is given, and prints
/// `report` as one JSON line on standard output.
pub fn publish(path: Option<&Path>, markdown: &str, report: &impl Serialize) -> Result<()> {
    if let Some(path) = path {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

/// Renders a report's markdown with `write` into a new string.
pub fn render(write: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write(&mut out);
    out
}

/// The lines that end every report: the run time, then the server's warnings, if any.
pub fn write_footer(out: &mut String, run_seconds: f64, warnings: &[String]) -> std::fmt::Result {
    writeln!(out, "- Run time: {run_seconds:.1} s.")?;
    if !warnings.is_empty() {
        writeln!(out, "\nServer warnings:\n\n```text")?;
        for line in warnings {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "```")?;
    }
    Ok(())
}

/// Where a run happened, for its report.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs available to the bench.
    pub cpus: usize,
    /// The CPU's model name.
    pub cpu_model: Option<String>,
    /// The bench's CPUs (`Cpus_allowed_list`).
    pub bench_cpus: Option<String>,
    /// The server's CPUs, when known.
    pub server_cpus: Option<String>,
    /// One-minute load average before the run.
    pub load_average: Option<f64>,
}

impl Machine {
    /// This machine, with the bench's and the server's CPU lists and the load average.
    pub fn new(
        bench_cpus: Option<String>,
        server_cpus: Option<String>,
        load_average: Option<f64>,
    ) -> Self {
        Machine {
            cpus: available_cpus(),
            cpu_model: cpu_model(),
            bench_cpus,
            server_cpus,
            load_average,
        }
    }

    /// The machine in one line of markdown.
    pub fn describe(&self) -> String {
        format!(
            "{} CPU(s) available to the bench{}; bench on CPU(s) {}, server on CPU(s) {}",
            self.cpus,
            self.cpu_model
                .as_deref()
                .map(|model| format!(" ({model})"))
                .unwrap_or_default(),
            self.bench_cpus.as_deref().unwrap_or("?"),
            self.server_cpus.as_deref().unwrap_or("?"),
        )
    }
}

/// CPUs this process may run on (its affinity mask), at least 1.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `reasons` counted, most frequent first: `["3 × error: …", "1 × 1008 \"…\""]`.
pub fn tally(reasons: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    counts
        .into_iter()
        .map(|(reason, count)| format!("{count} × {reason}"))
        .collect()
}

/// This process's command line, quoted for a POSIX shell where needed.
pub fn command_line() -> String {
    std::env::args()
        .map(|arg| shell_quote(&arg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `arg` as a POSIX shell word: as is when that is safe, else in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The CPU's model name, from /proc/cpuinfo.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("--report"), "--report");
        assert_eq!(shell_quote("docs/bench/a.md"), "docs/bench/a.md");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn reasons_are_tallied_most_frequent_first() {
        let reasons = ["b", "a", "b"].map(String::from);
        assert_eq!(tally(&reasons), ["2 × b", "1 × a"]);
        assert!(tally(&[]).is_empty());
    }
}
