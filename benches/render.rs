//! Frame hashing on a generated 5,000-node script (10% of knobs animated): 100 frames,
//! ours (`Prepared::frame_hash`: per-record digests, static ones reused) against the plain
//! approach (each frame's whole manifest as a JSON value, serialized, hashed).
//!
//! Single-threaded per-frame loops over one prepared setup, so the comparison is of the
//! methods; `hash_frames` adds the whole library path (setup build, parallel frames).
//! Small sample size: one iteration hashes 100 frames of 5,000 nodes.

use criterion::{criterion_group, criterion_main, Criterion};
use smartcache::ignore::RuleSet;
use smartcache::manifest::{NoSources, Prepared, Setup};
use std::hint::black_box;
use std::path::Path;

#[allow(dead_code)]
#[path = "../examples/gen_script.rs"]
mod gen_script;

const NODES: usize = 5000;
const FRAMES: i64 = 1000;

fn bench(c: &mut Criterion) {
    let text = gen_script::generate(NODES, 0.1, FRAMES);
    let script = smartcache::graph::load_bytes(text.as_bytes(), Path::new("synthetic.nk"))
        .expect("the generated script parses");
    let rules = RuleSet::builtin();
    let profile = smartcache::profile::Profile::nuke();
    let setup = Setup::build(&script, "Write1", &rules, &profile).expect("Write1 exists");
    let frames: Vec<i64> = (1001..1101).collect();

    let mut g = c.benchmark_group("render_hash_100_frames_5000_nodes");
    g.sample_size(10);
    g.bench_function("ours", |b| {
        b.iter(|| {
            let prepared = Prepared::new(&setup);
            for &f in &frames {
                black_box(prepared.frame_hash(f as f64, &NoSources));
            }
        })
    });
    g.bench_function("plain_json", |b| {
        b.iter(|| {
            let prepared = Prepared::new(&setup);
            for &f in &frames {
                let json = prepared.view(f as f64, &NoSources).to_json();
                let bytes = serde_json::to_vec(&json).expect("a JSON value serializes");
                black_box(smartcache::hash::hex128(&bytes));
            }
        })
    });
    g.bench_function("hash_frames_with_setup", |b| {
        b.iter(|| {
            black_box(
                smartcache::render::hash_frames(
                    &script, "Write1", &rules, &profile, &frames, &NoSources,
                )
                .expect("hashes"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
