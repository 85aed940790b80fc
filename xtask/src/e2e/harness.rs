//! The browser test's processes: the Ticker server as a child (started, stopped with SIGTERM,
//! restarted on the same port) and ChromeDriver driving Debian's headless Chromium.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpListener,
    process::{Child, Command},
    time::{Instant, timeout},
};

use super::{DEADLINE, wait_until};

pub(super) async fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port())
}

/// The ticker server as a child process.
pub(super) struct Server {
    binary: PathBuf,
    static_dir: PathBuf,
    /// The port it listens on (kept across restarts).
    pub(super) port: u16,
    child: Child,
}

impl Server {
    pub(super) async fn start(root: &Path, port: u16) -> Result<Self> {
        let binary = root.join("target/debug/ticker-server");
        let static_dir = root.join("dist");
        let child = Self::spawn(&binary, &static_dir, port).await?;
        Ok(Server {
            binary,
            static_dir,
            port,
            child,
        })
    }

    /// Starts the server and waits until it says it is live.
    async fn spawn(binary: &Path, static_dir: &Path, port: u16) -> Result<Child> {
        let mut child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--seed",
                "42",
                "--backfill",
                "15m",
                // The load the frame-time measurement asks for: 50 symbols at 10 ticks/s each.
                "--symbol-count",
                "50",
                "--tick-rate",
                "10",
                // The test knob that stalls one symbol's feed (staleness).
                "--enable-admin",
            ])
            .arg("--static-dir")
            .arg(static_dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let live = timeout(DEADLINE, async {
            while let Some(line) = lines.next_line().await? {
                println!("server | {line}");
                if line.contains("Ticker is live at") {
                    return Ok(());
                }
            }
            bail!("the server exited before it was live")
        })
        .await
        .context("the server did not start in time")?;
        live?;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                println!("server | {line}");
            }
        });
        Ok(child)
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Sends SIGTERM and waits for a clean exit; returns how long the exit took.
    pub(super) async fn terminate(&mut self) -> Result<Duration> {
        let pid = self.child.id().context("server already exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        ensure!(status.success(), "kill -TERM failed");
        let signalled = Instant::now();
        let exit = timeout(DEADLINE, self.child.wait())
            .await
            .context("the server did not stop after SIGTERM")??;
        ensure!(
            exit.success(),
            "the server exited with {exit} after SIGTERM"
        );
        Ok(signalled.elapsed())
    }

    pub(super) async fn restart(&mut self) -> Result<()> {
        self.child = Self::spawn(&self.binary, &self.static_dir, self.port).await?;
        Ok(())
    }
}

/// ChromeDriver driving Debian's headless Chromium.
pub(super) struct ChromeDriver {
    port: u16,
    _child: Child,
    profile: PathBuf,
}

impl ChromeDriver {
    pub(super) async fn start() -> Result<Self> {
        let port = free_port().await?;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start chromedriver (cargo xtask setup --browser installs it)")?;
        let profile =
            std::env::temp_dir().join(format!("ticker-e2e-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        wait_until("chromedriver accepts connections", || async move {
            Ok(tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok())
        })
        .await?;
        Ok(ChromeDriver {
            port,
            _child: child,
            profile,
        })
    }

    pub(super) async fn client(&self) -> Result<Client> {
        let arguments = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,900",
        ];
        let mut args: Vec<String> = arguments.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let capabilities = json!({
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("cannot open a Chromium session through chromedriver")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
