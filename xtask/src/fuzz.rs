//! A short, bounded run of the cargo-fuzz target in `fuzz/` against the client-message decoder.
//!
//! cargo-fuzz needs nightly `-Z` flags, and this machine has only stable rustc, so the run sets
//! `RUSTC_BOOTSTRAP=1`. The target is built with AddressSanitizer, cargo-fuzz's default, which
//! works on stable that way. It is kept because it costs little here (about 20,000 runs per
//! second) and the decoder's dependencies, serde_json and memchr, do use `unsafe`.
//!
//! A crash leaves its input in `fuzz/artifacts/decode_client/`; replay it with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir fuzz/target decode_client <that file>`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{cmd::Cmd, setup};

/// How long `cargo xtask fuzz` fuzzes by default, in seconds: long enough to get well past the
/// seeds, short enough for every CI run.
pub const DEFAULT_SECONDS: u64 = 45;

/// The fuzz target, `fuzz/fuzz_targets/decode_client.rs`.
const TARGET: &str = "decode_client";

/// Seconds one input may take before libFuzzer reports it as a hang. Decoding even the largest
/// message takes microseconds, so only a real hang gets near this.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// Builds the target and fuzzes it for `seconds`; an error if libFuzzer finds a crash (a panic,
/// a failed assertion, a sanitizer report) or a hang, whose input it saves under
/// `fuzz/artifacts/`.
pub fn run(root: &Path, seconds: u64) -> Result<()> {
    setup::cargo_fuzz()?;
    let fuzz = root.join("fuzz");
    // New inputs go to the first corpus directory, a scratch one (gitignored); the seeds, from
    // the protocol fixtures, are only read.
    let corpus = fuzz.join("corpus").join(TARGET);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let dictionary = fuzz.join(format!("{TARGET}.dict"));
    Cmd::new("cargo")
        .args(["fuzz", "run", "--sanitizer", "address", "--fuzz-dir"])
        .arg(&fuzz)
        // A target directory of its own: the fuzz crate is a separate workspace with different
        // flags, and this way it never waits for the main workspace's build lock.
        .arg("--target-dir")
        .arg(fuzz.join("target"))
        .arg(TARGET)
        .arg(&corpus)
        .arg(fuzz.join("seeds").join(TARGET))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-dict={}", dictionary.display()))
        // Quiet: by default libFuzzer prints a line per new input, thousands a run. Crash
        // reports are printed all the same, and the final stats give the runs per second.
        .args(["-verbosity=0", "-print_funcs=0", "-print_final_stats=1"])
        .env("RUSTC_BOOTSTRAP", "1")
        .run()
}
