//! The plain approach to render-cache hashing, as a baseline for `scripts/bench-render.sh`:
//! for every frame, build the output's whole frame manifest as JSON, serialize it and
//! hash the bytes. No reuse of per-node JSON across frames beyond what building the view
//! shares, no canonical byte writer: this is what a straightforward implementation does.
//!
//! ```sh
//! cargo run --release --example plain_manifest -- big.nk --node Write1 --frames 1001-2000
//! ```
//! Prints one line:
//! `plain frames=N distinct=D bytes=B one_bytes=O load_ms=L hash_ms=H total_ms=T`, where
//! `bytes` is what storing one manifest per distinct frame would take, `one_bytes` the
//! compact size of the middle frame's manifest (`smartcache manifest` pretty-prints the
//! same content, so it is larger), `load_ms`
//! is reading the script and building the setup, and `hash_ms` the per-frame work. The
//! frames are hashed in parallel (rayon), as `smartcache record` does, so the ratio
//! compares the methods, not the thread counts.

use rayon::prelude::*;
use smartcache::frames::parse_frames;
use smartcache::ignore::RuleSet;
use smartcache::manifest::{NoSources, Prepared, Setup};
use smartcache::render::LoadedScript;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!("usage: plain_manifest SCRIPT --node NODE [--frames SPEC]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut script = None;
    let mut node = None;
    let mut frames = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--node" | "-n" => node = args.next(),
            "--frames" | "-f" => frames = args.next(),
            _ if script.is_none() && !a.starts_with('-') => script = Some(PathBuf::from(a)),
            _ => return usage(),
        }
    }
    let (Some(script), Some(node)) = (script, node) else {
        return usage();
    };
    match run(&script, &node, frames.as_deref()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(script: &Path, node: &str, frames: Option<&str>) -> Result<String, String> {
    let start = Instant::now();
    let loaded = LoadedScript::read(script).map_err(|e| e.to_string())?;
    let frames: Vec<i64> = match frames {
        Some(spec) => parse_frames(spec).map_err(|e| e.to_string())?,
        None => {
            let (a, b) = loaded.script.frame_range();
            (a..=b).collect()
        }
    };
    let rules = RuleSet::builtin();
    let setup = Setup::build(
        &loaded.script,
        node,
        &rules,
        &smartcache::profile::Profile::nuke(),
    )
    .map_err(|e| format!("{}: {e}", script.display()))?;
    let loaded_at = Instant::now();
    let prepared = Prepared::new(&setup);
    let hashed: Vec<(String, usize)> = frames
        .par_iter()
        .map(|&f| {
            let json = prepared.view(f as f64, &NoSources).to_json();
            let bytes = serde_json::to_vec(&json).expect("a JSON value serializes");
            (smartcache::hash::hex128(&bytes), bytes.len())
        })
        .collect();
    let end = Instant::now();
    let distinct: HashMap<&str, usize> = hashed.iter().map(|(h, n)| (h.as_str(), *n)).collect();
    let bytes: usize = distinct.values().sum();
    let one_bytes = hashed.get(hashed.len() / 2).map_or(0, |(_, n)| *n);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    Ok(format!(
        "plain frames={} distinct={} bytes={bytes} one_bytes={one_bytes} load_ms={:.1} hash_ms={:.1} total_ms={:.1}",
        hashed.len(),
        distinct.len(),
        ms(loaded_at - start),
        ms(end - loaded_at),
        ms(end - start)
    ))
}
