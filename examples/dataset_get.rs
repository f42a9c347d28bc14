//! Library `get` per call: one `DatasetCache` handle, many lookups (what a data loader
//! does). Used by scripts/bench-dataset.sh.
//!
//! ```text
//! cargo run --release --example dataset_get -- CACHE VARIANT LIST [ROUNDS]
//! ```
//! LIST has one source path per line. Prints the mean time per call over ROUNDS passes
//! (default 3) after one warm-up pass.

use smartcache::dataset::DatasetCache;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: dataset_get CACHE VARIANT LIST [ROUNDS]".into());
    }
    let rounds: usize = args.get(4).map(|r| r.parse()).transpose()?.unwrap_or(3);
    let paths: Vec<PathBuf> = std::fs::read_to_string(&args[3])?
        .lines()
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect();
    let start = Instant::now();
    let cache = DatasetCache::at(Path::new(&args[1]))?;
    for p in &paths {
        cache.get(p, &args[2])?;
    }
    let first = start.elapsed();
    let start = Instant::now();
    for _ in 0..rounds {
        for p in &paths {
            cache.get(p, &args[2])?;
        }
    }
    let per_call = start.elapsed().as_secs_f64() / (rounds * paths.len()).max(1) as f64;
    println!(
        "{:.1} us per call ({} calls; first pass, index opened: {:.1} ms)",
        per_call * 1e6,
        rounds * paths.len(),
        first.as_secs_f64() * 1e3
    );
    Ok(())
}
