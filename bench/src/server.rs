//! The server under test: a child process the bench starts (Ticker's binary, or one of the
//! peers in `bench/peers/`, sharing the same start, pinning, log capture and stop), or any
//! server already running at a URL.

use std::{
    path::{Path, PathBuf},
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
/// How long a server may take to say it is ready (Ticker backfills its market first).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start one kind of server as a child process.
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Its arguments before the port and the scenario's (the peer's script).
    pub leading: Vec<String>,
    /// The scenario's arguments (`--port` is added by [`Server::start`]).
    pub args: Vec<String>,
    /// Environment variables for the child.
    pub env: Vec<(&'static str, &'static str)>,
    /// A standard-output line containing this means the server is ready.
    pub ready: &'static str,
    /// What to say when the program cannot start.
    pub install_hint: &'static str,
    /// Whether a line the server printed after start is a warning worth reporting.
    pub is_warning: fn(&str) -> bool,
}

impl Launch {
    /// Ticker's binary with `args`.
    pub fn ticker(binary: &Path, args: Vec<String>) -> Self {
        Launch {
            program: binary.to_path_buf(),
            leading: Vec::new(),
            args: [vec!["--static-dir".into(), "/nonexistent".into()], args].concat(),
            // The "live" line is logged at info level; everything else only when it matters.
            env: vec![("RUST_LOG", "warn,ticker_server=info")],
            ready: "Ticker is live at",
            install_hint: "build it with `cargo build --release -p ticker-server`",
            is_warning: |line| line.contains("WARN") || line.contains("ERROR"),
        }
    }

    /// A peer from `peers_dir` (`bench/peers`) with `args`.
    pub fn peer(peer: Peer, peers_dir: &Path, args: Vec<String>) -> Self {
        let (program, script) = match peer {
            Peer::Python => (
                peers_dir.join("python/.venv/bin/python"),
                peers_dir.join("python/server.py"),
            ),
            Peer::Node => (PathBuf::from("node"), peers_dir.join("node/server.js")),
        };
        Launch {
            program,
            leading: vec![script.to_string_lossy().into_owned()],
            args,
            // Python buffers a piped stdout; the ready line must arrive at once.
            env: vec![("PYTHONUNBUFFERED", "1")],
            ready: "listening on",
            install_hint: "install the peers: `cargo xtask bench` does, or see bench/peers/README.md",
            // The peers print only their ready line on stdout; anything more is news.
            is_warning: |line| !line.trim().is_empty(),
        }
    }
}

impl Server {
    /// Starts `launch` on a free port and waits until it says it is ready. With `cpus` (a
    /// `taskset -c` list such as `0`), the server runs pinned to those CPUs.
    pub async fn start(launch: Launch, cpus: Option<&str>) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let mut command = match cpus {
            // taskset execs the server, so the child's pid is the server's.
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(&launch.program);
                command
            }
            None => Command::new(&launch.program),
        };
        let mut child = command
            .args(&launch.leading)
            .args(["--port", &port.to_string()])
            .args(&launch.args)
            .envs(launch.env.iter().copied())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} ({})",
                    launch.program.display(),
                    launch.install_hint
                )
            })?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = launch.ready;
        tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if line.contains(ready) {
                    return Ok(());
                }
            }
            bail!("the server exited before it was ready")
        })
        .await
        .context("the server did not start in time")??;
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let kept = warnings.clone();
        let is_warning = launch.is_warning;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if is_warning(&line) {
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

/// Another server than Ticker's binary: a peer the bench starts, or one already running.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct External {
    /// Start this peer from `bench/peers/` (Python `websockets` or Node `ws`, installed by
    /// `cargo xtask bench`) instead of Ticker's `--server`, with the same market.
    #[arg(long, value_enum, conflicts_with = "url")]
    pub peer: Option<Peer>,
    /// Where the peers are.
    #[arg(long, default_value = "bench/peers")]
    pub peers_dir: PathBuf,
    /// Drive the server already running at this URL (e.g. `ws://127.0.0.1:8765/ws`) instead of
    /// starting `--server`; its flags are then its own business.
    #[arg(long)]
    pub url: Option<String>,
    /// With `--url`: the server's process id, to read its CPU time and memory from /proc
    /// (without it, those figures are left out).
    #[arg(long, requires = "url")]
    pub pid: Option<u32>,
}

/// A peer implementation in `bench/peers/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// `python/server.py`: asyncio and `websockets`.
    Python,
    /// `node/server.js`: Node and `ws`.
    Node,
}

/// The simulated market every server is given, whoever it is: Ticker's `--symbol-count`,
/// `--tick-rate` and `--seed`, the peers' `--symbols`, `--tick-rate` and `--seed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market {
    /// Symbols in the market: the catalogue's first ones, then synthetic.
    pub symbols: usize,
    /// Average ticks per second per symbol.
    pub tick_rate: f64,
    /// The generator's seed.
    pub seed: u64,
    /// Whether ticks are joined into frames.
    pub batching: Batching,
}

/// Whether a server joins ticks into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Batching {
    /// Ticker's default `--batch-window` (10 ms); the peers' `--batch on` (one frame per 10 ms
    /// loop iteration).
    #[default]
    On,
    /// One tick per frame: Ticker's `--batch-window 0s`, the peers' `--batch off` (the seed's
    /// broadcast pattern: every message to every client as it comes).
    Off,
}

impl Market {
    /// Ticker's flags for this market.
    fn ticker_args(&self) -> Vec<String> {
        let mut args = vec![
            "--symbol-count".into(),
            self.symbols.to_string(),
            "--tick-rate".into(),
            self.tick_rate.to_string(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        if self.batching == Batching::Off {
            args.extend(["--batch-window".into(), "0s".into()]);
        }
        args
    }

    /// A peer's flags for this market: only those the peers accept.
    fn peer_args(&self) -> Vec<String> {
        vec![
            "--symbols".into(),
            self.symbols.to_string(),
            "--tick-rate".into(),
            self.tick_rate.to_string(),
            "--seed".into(),
            self.seed.to_string(),
            "--batch".into(),
            match self.batching {
                Batching::On => "on",
                Batching::Off => "off",
            }
            .into(),
        ]
    }
}

/// The server a scenario drives: one it started, or one it was pointed at.
pub struct Target {
    /// The server, when the scenario started it.
    own: Option<Server>,
    /// Which server it is.
    pub kind: Kind,
    /// Its WebSocket URL.
    pub url: String,
    /// Its process id, when known.
    pub pid: Option<u32>,
    /// The flags it was started with (empty for an external server).
    pub args: Vec<String>,
}

/// Which server a scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ticker's binary, started by the bench.
    Ticker,
    /// A peer, started by the bench.
    Peer(Peer),
    /// A server at `--url`.
    External,
}

impl Target {
    /// The server at `external.url` if given, else the peer `external.peer`, else Ticker's
    /// `common.server` with `ticker_args`; either started with `market` (and `--server-cpus`).
    pub async fn start(
        common: &Common,
        external: &External,
        market: Market,
        ticker_args: Vec<String>,
    ) -> Result<Self> {
        if let Some(url) = &external.url {
            return Ok(Target {
                own: None,
                kind: Kind::External,
                url: url.clone(),
                pid: external.pid,
                args: Vec::new(),
            });
        }
        let (kind, launch) = match external.peer {
            Some(peer) => (
                Kind::Peer(peer),
                Launch::peer(peer, &external.peers_dir, market.peer_args()),
            ),
            None => (
                Kind::Ticker,
                Launch::ticker(&common.server, [market.ticker_args(), ticker_args].concat()),
            ),
        };
        let described = launch.args.clone();
        let server = Server::start(launch, common.server_cpus.as_deref()).await?;
        Ok(Target {
            url: format!("ws://127.0.0.1:{}/ws", server.port),
            pid: server.pid(),
            own: Some(server),
            kind,
            args: described,
        })
    }

    /// What the server is, for a report: its command line, or the URL.
    pub fn describe(&self) -> String {
        let args = self.args.join(" ");
        match self.kind {
            Kind::Ticker => format!("`ticker-server {args}` (the bench adds `--port`)"),
            Kind::Peer(Peer::Python) => format!(
                "`python bench/peers/python/server.py {args}` (Python `websockets` peer; the \
                 bench adds `--port`)"
            ),
            Kind::Peer(Peer::Node) => format!(
                "`node bench/peers/node/server.js {args}` (Node `ws` peer; the bench adds \
                 `--port`)"
            ),
            Kind::External => format!("external, at {}", self.url),
        }
    }

    /// The warnings and errors the server logged (none known for an external server).
    pub fn warnings(&self) -> Vec<String> {
        self.own.as_ref().map(Server::warnings).unwrap_or_default()
    }

    /// The value of a `/metrics` counter of Ticker's server (`None` for any other server or
    /// when it cannot be read).
    pub async fn metric(&self, name: &str) -> Option<u64> {
        if self.kind != Kind::Ticker {
            return None;
        }
        self.own.as_ref()?.metric(name).await.ok()
    }

    /// Stops the server if the scenario started it.
    pub async fn stop(self) {
        if let Some(server) = self.own {
            server.stop().await;
        }
    }
}
