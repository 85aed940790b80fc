//! The Autobahn WebSocket test cases against the server's `/echo` route, which runs the same
//! session loop, frame guard and close-code mapping as `/ws`.
//!
//! The official Autobahn suite needs Python 2 or Docker; `kosoku` (PyPI) runs the same cases
//! under Python 3. Cases 12 and 13 are permessage-deflate, which the server does not offer.
//! Every case must end OK, NON-STRICT or INFORMATIONAL; the summary is printed and written to
//! `target/autobahn/summary.md`.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd::Cmd;

/// The kosoku release the report format below was checked against.
const KOSOKU: &str = "kosoku==0.1.0";
/// Outcomes that pass.
const PASSING: [&str; 3] = ["OK", "NON-STRICT", "INFORMATIONAL"];
/// How long the server may take to start.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// Installs kosoku if needed, runs the cases against a fresh server, and checks the report.
pub fn run(root: &Path) -> Result<()> {
    install_kosoku()?;
    Cmd::new("cargo")
        .args(["build", "--package", "ticker-server"])
        .run()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = EchoServer::start(&root.join("target/debug/ticker-server"), port)?;
    let report_dir = root.join("target/autobahn");
    let _ = std::fs::remove_dir_all(&report_dir);
    let ran = Cmd::new("kosoku")
        .args(["-m", "fuzzingclient", "-x", "12.*", "-x", "13.*", "-o"])
        .arg(&report_dir)
        .arg(format!("ws://127.0.0.1:{port}/echo"))
        .run();
    drop(server);
    ran?;
    let summary = summarize(&report_dir.join("index.json"))?;
    println!("{}", summary.markdown);
    std::fs::write(report_dir.join("summary.md"), &summary.markdown)?;
    if !summary.failures.is_empty() {
        bail!("Autobahn cases failed: {}", summary.failures.join(", "));
    }
    Ok(())
}

fn install_kosoku() -> Result<()> {
    let installed = Cmd::new("python3")
        .args(["-m", "pip", "show", "kosoku"])
        .output()
        .is_some_and(|info| info.contains("Version: 0.1.0"));
    if installed {
        return Ok(());
    }
    Cmd::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            KOSOKU,
        ])
        .run()
}

/// The server with `/echo` enabled and limits raised to what the cases send (16 MiB
/// messages, thousands of frames a second). Killed on drop.
struct EchoServer(Child);

impl EchoServer {
    fn start(binary: &Path, port: u16) -> Result<Self> {
        let mut child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--echo-route",
                "--backfill",
                "0s",
            ])
            .args(["--max-frame-bytes", "16777216"])
            .args([
                "--max-message-rate",
                "1000000",
                "--message-burst",
                "1000000",
            ])
            .env("RUST_LOG", "warn,ticker_server=info")
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let server = EchoServer(child);
        let (live, told) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ticker is live at") {
                    let _ = live.send(());
                }
            }
        });
        told.recv_timeout(START_DEADLINE)
            .context("the echo server did not start in time")?;
        Ok(server)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The report in figures.
struct Summary {
    markdown: String,
    failures: Vec<String>,
}

fn summarize(index: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(index)
        .with_context(|| format!("no Autobahn report at {}", index.display()))?;
    let report: Value = serde_json::from_str(&text)?;
    let agents = report.as_object().context("report is not an object")?;
    let mut outcomes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for cases in agents.values() {
        for (case, result) in cases.as_object().context("agent entry is not an object")? {
            let behavior = result["behavior"].as_str().unwrap_or("MISSING").to_owned();
            let close = result["behaviorClose"]
                .as_str()
                .unwrap_or("MISSING")
                .to_owned();
            if !PASSING.contains(&behavior.as_str()) || !PASSING.contains(&close.as_str()) {
                failures.push(format!("{case} ({behavior}/{close})"));
            }
            outcomes
                .entry((behavior, close))
                .or_default()
                .push(case.clone());
        }
    }
    let total: usize = outcomes.values().map(Vec::len).sum();
    let mut markdown = format!(
        "Autobahn cases (kosoku 0.1.0, 12.* and 13.* excluded): {total} run, {} failed\n\n\
         | behavior | close behavior | cases | examples |\n|---|---|---:|---|\n",
        failures.len()
    );
    for ((behavior, close), mut cases) in outcomes {
        cases.sort_by_key(|case| {
            case.split('.')
                .map(|part| part.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        let examples: Vec<&str> = cases.iter().take(6).map(String::as_str).collect();
        markdown.push_str(&format!(
            "| {behavior} | {close} | {} | {} |\n",
            cases.len(),
            examples.join(", ")
        ));
    }
    Ok(Summary { markdown, failures })
}
