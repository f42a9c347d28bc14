//! Criterion benches of the dataset cache's hot paths: validating an unchanged tree
//! (stat only), a cold-index status (every file hashed), and raw file hashing.
//! Side-by-side comparisons with git and xxhsum are in scripts/bench-dataset.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smartcache::dataset::fingerprint::RACY_WINDOW_NS;
use smartcache::dataset::{
    hash_file, index, BuildOptions, DatasetCache, Fingerprint, Quiet, StatusOptions, Transform,
};
use std::fs;
use std::path::Path;

const FILES: usize = 5_000;

fn tree(root: &Path) {
    for i in 0..FILES {
        let d = root.join(format!("d{:02}", i % 50));
        fs::create_dir_all(&d).unwrap();
        let body = format!("file {i}\n").repeat(1 + i % 200);
        fs::write(d.join(format!("f{i:05}.dat")), body).unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tree(&src);
    let cache = DatasetCache::open(&tmp.path().join("cache")).unwrap();
    let empty = DatasetCache::open(&tmp.path().join("empty")).unwrap();
    let sources = cache.sources(std::slice::from_ref(&src), None).unwrap();
    let touch = Transform::each(|_, o, _| fs::write(o, b"").map_err(|e| e.to_string()));
    cache
        .build(&sources, &BuildOptions::new("v", "bench@1"), &touch, &Quiet)
        .unwrap();
    // Make every record non-racy without waiting: shift record times past the window.
    {
        let mut l = index::load(cache.dir()).unwrap();
        for e in l.index.entries.values_mut() {
            e.at = e.fp.mtime_ns.max(e.fp.ctime_ns) + RACY_WINDOW_NS + 1;
        }
        index::save(cache.dir(), &l.index).unwrap();
    }
    let opts = StatusOptions {
        variant: Some("v".into()),
        ..Default::default()
    };
    let bytes: u64 = sources
        .paths()
        .iter()
        .map(|p| Fingerprint::of(Path::new(p)).unwrap().size)
        .sum();

    let mut g = c.benchmark_group("dataset");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FILES as u64));
    g.bench_function("status_unchanged_5k", |b| {
        b.iter(|| {
            // Walk included, as the CLI does (the walk's stats serve one validation).
            let sources = cache.sources(std::slice::from_ref(&src), None).unwrap();
            let r = cache.status(&sources, &opts).unwrap();
            assert_eq!(r.counts.hashed, 0);
        })
    });
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("status_cold_index_5k", |b| {
        b.iter(|| {
            let sources = empty.sources(std::slice::from_ref(&src), None).unwrap();
            let r = empty.status(&sources, &StatusOptions::default()).unwrap();
            assert_eq!(r.counts.hashed, FILES);
        })
    });
    let big = tmp.path().join("big.bin");
    let data: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&big, &data).unwrap();
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("hash_file_64mib", |b| b.iter(|| hash_file(&big).unwrap()));
    g.finish();
}

criterion_group!(dataset, benches);
criterion_main!(dataset);
