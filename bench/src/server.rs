//! The server under test: Ticker's binary as a child process (start, metrics, stop), or any
//! server already running at a URL (a peer implementation of the same protocol).

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::{Context, Result, bail};

use crate::Common;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
};

/// A running server.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Warnings and errors it logged after start, for the report.
    warnings: Arc<Mutex<Vec<String>>>,
}

/// Most server warnings kept for the report; the first ones tell the story.
const MAX_WARNINGS_KEPT: usize = 20;

impl Server {
    /// Starts `binary` on a free port with `args` and waits until it is live. With `cpus`
    /// (a `taskset -c` list such as `0`), the server runs pinned to those CPUs.
    pub async fn start(binary: &Path, args: &[String], cpus: Option<&str>) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let mut command = match cpus {
            // taskset execs the server, so the child's pid is the server's.
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--port", &port.to_string(), "--static-dir", "/nonexistent"])
            .args(args)
            // The "live" line below is logged at info level; everything else only when it matters.
            .env("RUST_LOG", "warn,ticker_server=info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (build it with `cargo build --release -p ticker-server`)",
                    binary.display()
                )
            })?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("Ticker is live at") {
                    return Ok(());
                }
            }
            bail!("the server exited before it was live")
        })
        .await
        .context("the server did not start in time")??;
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let kept = warnings.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("WARN") || line.contains("ERROR") {
                    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                    if kept.len() < MAX_WARNINGS_KEPT {
                        kept.push(line);
                    }
                }
            }
        });
        Ok(Server {
            child,
            port,
            warnings,
        })
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The value of a `/metrics` counter.
    pub async fn metric(&self, name: &str) -> Result<u64> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        response
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("metric {name} missing"))
    }

    /// The warnings and errors the server logged so far (at most [`MAX_WARNINGS_KEPT`]).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Kills the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Where a scenario can find an already-running server instead of starting Ticker's.
#[derive(clap::Args, Debug, Clone)]
pub struct External {
    /// Drive the server already running at this URL (e.g. `ws://127.0.0.1:8765/ws`) instead of
    /// starting `--server`; its flags are then its own business.
    #[arg(long)]
    pub url: Option<String>,
    /// With `--url`: the server's process id, to read its CPU time and memory from /proc
    /// (without it, those figures are left out).
    #[arg(long, requires = "url")]
    pub pid: Option<u32>,
}

/// The server a scenario drives: one it started, or one it was pointed at.
pub struct Target {
    /// Ticker's server, when the scenario started it.
    own: Option<Server>,
    /// Its WebSocket URL.
    pub url: String,
    /// Its process id, when known.
    pub pid: Option<u32>,
    /// The flags it was started with (empty for an external server).
    pub args: Vec<String>,
}

impl Target {
    /// The server at `external.url` if given, else Ticker's `common.server` started with
    /// `args` (and `--server-cpus`).
    pub async fn start(common: &Common, external: &External, args: Vec<String>) -> Result<Self> {
        if let Some(url) = &external.url {
            return Ok(Target {
                own: None,
                url: url.clone(),
                pid: external.pid,
                args: Vec::new(),
            });
        }
        let server = Server::start(&common.server, &args, common.server_cpus.as_deref()).await?;
        Ok(Target {
            url: format!("ws://127.0.0.1:{}/ws", server.port),
            pid: server.pid(),
            own: Some(server),
            args,
        })
    }

    /// What the server is, for a report: Ticker's command line, or the URL.
    pub fn describe(&self) -> String {
        match &self.own {
            Some(_) => format!(
                "`ticker-server {}` (the bench adds `--port` and `--static-dir`)",
                self.args.join(" ")
            ),
            None => format!("external, at {}", self.url),
        }
    }

    /// The warnings and errors Ticker's server logged (none known for an external server).
    pub fn warnings(&self) -> Vec<String> {
        self.own.as_ref().map(Server::warnings).unwrap_or_default()
    }

    /// The value of a `/metrics` counter of Ticker's server (`None` for an external server or
    /// when it cannot be read).
    pub async fn metric(&self, name: &str) -> Option<u64> {
        self.own.as_ref()?.metric(name).await.ok()
    }

    /// Stops the server if the scenario started it.
    pub async fn stop(self) {
        if let Some(server) = self.own {
            server.stop().await;
        }
    }
}
