//! The size of the built app: every file in `dist/`, raw and gzipped (level 9, as a server or
//! CDN would compress it), against the performance budget.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use flate2::{Compression, write::GzEncoder};
use serde_json::json;

/// The budget for everything the browser downloads, gzipped.
const BUDGET_GZIP_BYTES: u64 = 250_000;

/// Prints a table of `dist/`'s files with raw and gzipped sizes and writes the same figures to
/// `target/dist-size.json`.
pub fn report(root: &Path) -> Result<()> {
    let dist = root.join("dist");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, bytes.len() as u64, gzipped_len(&bytes)?));
    }
    files.sort_by_key(|file| std::cmp::Reverse(file.2));
    let raw: u64 = files.iter().map(|f| f.1).sum();
    let gzip: u64 = files.iter().map(|f| f.2).sum();
    println!("| file | raw bytes | gzip bytes |\n|---|--:|--:|");
    for (name, raw, gzip) in &files {
        println!("| {name} | {raw} | {gzip} |");
    }
    println!(
        "| total | {raw} | {gzip} |\n\nbudget {BUDGET_GZIP_BYTES} bytes gzipped: {}",
        if gzip <= BUDGET_GZIP_BYTES {
            "within"
        } else {
            "OVER"
        }
    );
    let files: Vec<_> = files
        .iter()
        .map(|(name, raw, gzip)| json!({ "file": name, "raw": raw, "gzip": gzip }))
        .collect();
    let report = json!({
        "files": files,
        "total_raw": raw,
        "total_gzip": gzip,
        "budget_gzip": BUDGET_GZIP_BYTES,
    });
    std::fs::create_dir_all(root.join("target"))?;
    std::fs::write(
        root.join("target/dist-size.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    Ok(())
}

fn gzipped_len(bytes: &[u8]) -> Result<u64> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}
