//! Parse throughput over the whole shared corpus (about 9 MB of real scripts and
//! gizmos), single-threaded. `scripts/bench-parse.sh` prints MB/s and peak memory from
//! the release binary; this bench gives criterion's statistics for the library call.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    let shared = std::env::var_os("SMARTCACHE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("corpus/nk")
}

/// Every file under `dir`, sorted, read into memory (iterative walk).
fn read_corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).expect("corpus file");
            (p, b)
        })
        .collect()
}

fn bench_parse(c: &mut Criterion) {
    let corpus = read_corpus(&corpus_dir());
    assert!(!corpus.is_empty(), "corpus missing: set SMARTCACHE_SHARED");
    let bytes: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    let mut g = c.benchmark_group("nk");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("parse_corpus", |b| {
        b.iter(|| {
            let mut nodes = 0;
            for (p, bytes) in &corpus {
                let s = smartcache::nk::parse(bytes, Some(p)).expect("corpus parses");
                nodes += s.graph.len();
            }
            nodes
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
