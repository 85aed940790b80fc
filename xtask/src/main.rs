//! Ticker's development tasks, written in Rust so they run wherever cargo does.
//!
//! ```text
//! cargo xtask run      install what is missing, build the dashboard, start the server
//! cargo xtask test     every test: unit, integration, a short fuzz run, and the browser test
//! cargo xtask lint     rustfmt and clippy (native and wasm32)
//! cargo xtask setup    only install the tools (wasm32 target, trunk, wasm-bindgen, wasm-opt)
//! cargo xtask build    build the dashboard into dist/ and report its size (raw, gzip)
//! cargo xtask dev      server plus `trunk serve` with live reload
//! cargo xtask e2e      only the browser test (needs a built dist/ and server)
//! cargo xtask autobahn only the Autobahn WebSocket conformance cases (installs kosoku)
//! cargo xtask fuzz     only fuzz the client-message decoder, 45 s (`--seconds N`; installs
//!                      cargo-fuzz)
//! cargo xtask bench    build release, install the peers, compare Ticker with them (the suite →
//!                      docs/BENCHMARKS.md); with arguments, run the load generator with them:
//!                      `cargo xtask bench -- slow-consumer`
//! ```

mod autobahn;
mod blocker;
mod cmd;
mod e2e;
mod fuzz;
mod setup;
mod size;
mod zombie;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cmd::Cmd;

/// Ticker's development tasks.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the toolchain pieces the build needs (idempotent).
    Setup {
        /// Also install Chromium and ChromeDriver for the browser test.
        #[arg(long)]
        browser: bool,
    },
    /// Build the dashboard (release) into dist/.
    Build,
    /// Build everything and run the dashboard; extra arguments go to the server.
    Run {
        /// Server flags, e.g. `-- --port 9000 --seed 7`.
        #[arg(last = true)]
        server_args: Vec<String>,
    },
    /// Development loop: the server plus `trunk serve` on http://127.0.0.1:8081.
    Dev,
    /// Run every test, the browser test included.
    Test,
    /// rustfmt and clippy, native and wasm32.
    Lint,
    /// Only the browser end-to-end test.
    E2e,
    /// Only the Autobahn WebSocket conformance cases, against `/echo`.
    Autobahn,
    /// Build the release server and load generator and install the benchmark peers; with no
    /// arguments, run the comparison suite (Ticker, Python, Node; writes docs/BENCHMARKS.md),
    /// else `ticker-bench` with these arguments, e.g.
    /// `cargo xtask bench -- slow-consumer --report docs/bench/slow-consumer.md`.
    Bench {
        /// Arguments for `ticker-bench` (none: the suite).
        #[arg(last = true)]
        bench_args: Vec<String>,
    },
    /// Only fuzz the client-message decoder (cargo-fuzz, libFuzzer), for a bounded time.
    Fuzz {
        /// How long to fuzz, in seconds.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
    },
}

fn main() -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match Cli::parse().task {
        Task::Setup { browser } => setup::all(&root, browser),
        Task::Build => build(&root),
        Task::Run { server_args } => {
            build(&root)?;
            Cmd::new("cargo")
                .args(["run", "--release", "--package", "ticker-server", "--"])
                .args(server_args)
                .run()
        }
        Task::Dev => dev(&root),
        Task::Test => test(&root),
        Task::Lint => lint(&root),
        Task::E2e => e2e::run(&root),
        Task::Autobahn => autobahn::run(&root),
        Task::Fuzz { seconds } => fuzz::run(&root, seconds),
        Task::Bench { bench_args } => {
            setup::bench_peers(&root)?;
            if bench_args.is_empty() {
                suite()
            } else {
                bench("release", &bench_args)
            }
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Builds the release bundle of the dashboard with trunk and reports its size.
fn build(root: &Path) -> Result<()> {
    setup::all(root, false)?;
    Cmd::new("trunk")
        .args(["build", "--release"])
        .path_prepend(setup::npm_bin(root))
        .run()?;
    size::report(root)
}

fn dev(root: &Path) -> Result<()> {
    setup::all(root, false)?;
    Cmd::new("cargo")
        .args(["build", "--package", "ticker-server"])
        .run()?;
    // The page comes from trunk's origin; trunk forwards its Origin header with `/ws`.
    let mut server = Cmd::new("target/debug/ticker-server")
        .args([
            "--allowed-origins",
            "http://127.0.0.1:8081,http://localhost:8081",
        ])
        .spawn()?;
    let served = Cmd::new("trunk")
        .arg("serve")
        .path_prepend(setup::npm_bin(root))
        .run();
    let _ = server.kill();
    served
}

fn test(root: &Path) -> Result<()> {
    setup::all(root, true)?;
    Cmd::new("cargo")
        .args(["test", "--workspace", "--all-targets"])
        .run()?;
    fuzz::run(root, fuzz::DEFAULT_SECONDS)?;
    autobahn::run(root)?;
    // The slow-consumer guarantees under load (the stalled client is dropped by the policy,
    // nobody else loses a tick); the figures are a short run's, kept under target/.
    bench(
        "quick-release",
        [
            "slow-consumer",
            "--quick",
            "--report",
            "target/slow-consumer.md",
            "--server",
            "target/quick-release/ticker-server",
        ],
    )?;
    build(root)?;
    e2e::run(root)
}

/// Builds the server and the load generator with `profile` and runs `ticker-bench` with `args`.
fn bench(profile: &str, args: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>) -> Result<()> {
    build_bench(profile)?;
    Cmd::new(format!("target/{profile}/ticker-bench"))
        .args(args)
        .run()
}

/// Builds the server and the load generator with `profile`.
fn build_bench(profile: &str) -> Result<()> {
    Cmd::new("cargo")
        .args(["build", "--profile", profile])
        .args(["--package", "ticker-server", "--package", "ticker-bench"])
        .run()
}

/// The comparison suite: Ticker and the peers one after another, each server pinned to CPU 0
/// and the load generator to CPU 1, so neither steals the other's core; the page goes to
/// docs/BENCHMARKS.md. The suite runs in `ticker-bench` itself (see bench/src/suite.rs for
/// why), so this only pins it.
fn suite() -> Result<()> {
    build_bench("release")?;
    Cmd::new("taskset")
        .args(["-c", "1", "target/release/ticker-bench", "suite"])
        .args(["--server-cpus", "0", "--report", "docs/BENCHMARKS.md"])
        .run()
}

fn lint(root: &Path) -> Result<()> {
    setup::all(root, false)?;
    Cmd::new("cargo").args(["fmt", "--all", "--check"]).run()?;
    // The fuzz crate is a workspace of its own, which `--all` does not reach.
    Cmd::new("cargo")
        .args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"])
        .run()?;
    Cmd::new("cargo")
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .run()?;
    // The browser's crates for the browser's target. shared's tests need proptest, which does
    // not build for wasm32, so only its library is checked there.
    let wasm_checks: [&[&str]; 2] = [
        &["--package", "ticker-frontend", "--all-targets"],
        &["--package", "ticker-shared", "--lib"],
    ];
    for selection in wasm_checks {
        Cmd::new("cargo")
            .arg("clippy")
            .args(selection)
            .args(["--target", "wasm32-unknown-unknown", "--", "-D", "warnings"])
            .run()?;
    }
    Ok(())
}
