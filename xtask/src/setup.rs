//! Installs what the build needs, only when it is missing or the wrong version: the wasm32
//! target, trunk, the wasm-bindgen CLI matching Cargo.lock, wasm-opt (binaryen, from npm, with
//! Debian's Node.js if there is none), for the browser test, Chromium and ChromeDriver from
//! Debian, for `cargo xtask fuzz`, cargo-fuzz, and for `cargo xtask bench`, the benchmark
//! peers' dependencies (a Python venv with `websockets`, Node's `ws`).

use std::{
    path::{Path, PathBuf},
    thread,
};

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;

/// The trunk release that builds with this toolchain (0.22 needs a newer rustc).
const TRUNK_VERSION: &str = "0.21.14";

/// The cargo-fuzz release `cargo xtask fuzz` runs (on stable rustc, with `RUSTC_BOOTSTRAP=1`).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs everything missing; `browser` adds Chromium and ChromeDriver.
pub fn all(root: &Path, browser: bool) -> Result<()> {
    wasm_target()?;
    // trunk and wasm-bindgen-cli compile from source for minutes each; build them side by side
    // while npm and apt download.
    let bindgen_version = locked_version(root, "wasm-bindgen")?;
    let trunk = thread::spawn(trunk);
    let bindgen = thread::spawn(move || wasm_bindgen(&bindgen_version));
    wasm_opt(root)?;
    if browser {
        chromium()?;
    }
    trunk
        .join()
        .map_err(|_| anyhow::anyhow!("trunk install panicked"))??;
    bindgen
        .join()
        .map_err(|_| anyhow::anyhow!("wasm-bindgen install panicked"))??;
    Ok(())
}

/// Where npm puts the binaries of `tools/package.json`.
pub fn npm_bin(root: &Path) -> PathBuf {
    root.join("tools/node_modules/.bin")
}

fn wasm_target() -> Result<()> {
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .unwrap_or_default();
    if installed
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    Cmd::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .run()
}

fn trunk() -> Result<()> {
    cargo_install(
        "trunk",
        TRUNK_VERSION,
        &["--locked", "trunk", "--version", TRUNK_VERSION],
    )
}

/// wasm-bindgen's CLI must be exactly the library's version, or trunk refuses to use it.
fn wasm_bindgen(version: &str) -> Result<()> {
    // Not `--locked`: one of the CLI's locked dependencies is no longer in the registry.
    cargo_install(
        "wasm-bindgen",
        version,
        &["wasm-bindgen-cli", "--version", version],
    )
}

/// Runs `cargo install` with `args` unless `binary --version` already reports `version`.
fn cargo_install(binary: &str, version: &str, args: &[&str]) -> Result<()> {
    let installed = Cmd::new(binary)
        .arg("--version")
        .output()
        .unwrap_or_default();
    if installed.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    // These tools' own speed hardly matters; their fat-LTO release builds cost minutes of CI.
    Cmd::new("cargo")
        .arg("install")
        .args(args)
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .run()
}

/// cargo-fuzz, and the C++ compiler that libfuzzer-sys needs to build libFuzzer.
pub fn cargo_fuzz() -> Result<()> {
    if !which("c++") {
        apt_install(&["g++"])?;
    }
    cargo_install(
        "cargo-fuzz",
        CARGO_FUZZ_VERSION,
        &["--locked", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION],
    )
}

/// binaryen's wasm-opt from npm, pinned by tools/package-lock.json. Debian's binaryen 108
/// rewrites wasm-bindgen's externref table export to the wrong table, which breaks the app.
fn wasm_opt(root: &Path) -> Result<()> {
    let tools = root.join("tools");
    let wanted = package_version(&tools, "binaryen")?;
    let installed = Cmd::new(npm_bin(root).join("wasm-opt"))
        .arg("--version")
        .output()
        .unwrap_or_default();
    if installed.contains(&format!(
        "version {}",
        wanted.split('.').next().unwrap_or_default()
    )) {
        return Ok(());
    }
    Cmd::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools)
        .run()
}

/// The benchmark peers' dependencies (bench/peers/README.md): a virtual environment with
/// `bench/peers/python/requirements.txt` when its Python cannot import `websockets`, and
/// `bench/peers/node`'s locked packages when `ws` is missing.
pub fn bench_peers(root: &Path) -> Result<()> {
    let peers = root.join("bench/peers");
    let venv = peers.join("python/.venv");
    let python = venv.join("bin/python");
    let has_websockets = Cmd::new(&python)
        .args(["-c", "import websockets"])
        .output()
        .is_some();
    if !has_websockets {
        Cmd::new("python3").args(["-m", "venv"]).arg(&venv).run()?;
        Cmd::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(peers.join("python/requirements.txt"))
            .run()?;
    }
    let node = peers.join("node");
    if !node.join("node_modules/ws").is_dir() {
        Cmd::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&node)
            .run()?;
    }
    Ok(())
}

fn chromium() -> Result<()> {
    if which("chromium") && which("chromedriver") {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])?;
    if !which("chromedriver") {
        bail!("chromedriver is still missing after installing chromium-driver");
    }
    Ok(())
}

/// Installs Debian `packages` with apt-get, through sudo unless this is root.
fn apt_install(packages: &[&str]) -> Result<()> {
    let root_user = Cmd::new("id")
        .arg("-u")
        .output()
        .is_some_and(|uid| uid.trim() == "0");
    let apt = || {
        if root_user {
            Cmd::new("apt-get")
        } else {
            Cmd::new("sudo").arg("apt-get")
        }
    };
    apt().args(["update", "-q"]).run()?;
    apt()
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .run()
}

fn which(program: &str) -> bool {
    Cmd::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_some()
}

/// The version of `package` in Cargo.lock.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("malformed Cargo.lock")?;
    Ok(lock[start..start + end].to_owned())
}

/// The version of `package` pinned in `dir/package-lock.json`.
fn package_version(dir: &Path, package: &str) -> Result<String> {
    let text = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("reading package-lock.json")?;
    let lock: serde_json::Value = serde_json::from_str(&text)?;
    lock["packages"][format!("node_modules/{package}")]["version"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{package} is not in package-lock.json"))
}
