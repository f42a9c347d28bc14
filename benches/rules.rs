//! Ignore-rule matching speed. The manifest asks `knob_rule` for every knob of every
//! upstream node for every frame, so the steady state (memo hit) must cost about a hash
//! lookup, and a first question (memo miss) about one globset pass.
//!
//! `naive_scan` is the baseline the compiled matcher replaces: every rule's glob tried in
//! reverse order. Run: `cargo bench --bench rules`; the ratio naive/memo_hit and
//! naive/cold is printed at the end from the same run.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use globset::{Glob, GlobMatcher};
use smartcache::ignore::{Rule, RuleSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A synthetic workload shaped like real scripts: a few dozen classes, each asked about
/// its own knobs plus the common cosmetic ones.
fn workload() -> Vec<(String, String)> {
    let classes = [
        "Blur",
        "Grade",
        "Merge2",
        "Transform",
        "Read",
        "Write",
        "Shuffle2",
        "Group",
        "Roto",
        "RotoPaint",
        "Camera2",
        "Axis2",
        "Card2",
        "Text2",
        "Switch",
        "Reformat",
        "Crop",
        "ColorCorrect",
        "Keymix",
        "Expression",
        "FrameHold",
        "TimeOffset",
        "Copy",
        "Premult",
    ];
    let common = [
        "name",
        "xpos",
        "ypos",
        "label",
        "selected",
        "tile_color",
        "note_font_size",
        "disable",
        "mix",
        "channels",
        "maskChannelMask",
        "inputs",
        "help",
        "gl_color",
    ];
    let mut pairs = Vec::new();
    for (ci, class) in classes.iter().enumerate() {
        for knob in common {
            pairs.push((class.to_string(), knob.to_string()));
        }
        for k in 0..24 {
            pairs.push((class.to_string(), format!("param{}_{}", ci % 5, k)));
        }
        pairs.push((class.to_string(), "toolbar_brush_size".to_string()));
        pairs.push((class.to_string(), "display".to_string()));
        pairs.push((class.to_string(), "white_panelDropped".to_string()));
    }
    pairs
}

/// The baseline: compile each rule's globs once, then scan rules from the last.
struct Naive {
    rules: Vec<(bool, bool, Option<GlobMatcher>, GlobMatcher)>,
}

impl Naive {
    fn new(rules: &[Rule]) -> Naive {
        let m = |p: &str| Glob::new(p).expect("valid").compile_matcher();
        let rules = rules
            .iter()
            .map(|r| {
                let node = r.kind.targets_nodes();
                let (scope, pat) = match r.pattern.split_once(':') {
                    Some((c, k)) if !node => (Some(m(c)), m(k)),
                    _ => (None, m(&r.pattern)),
                };
                (node, r.kind.is_keep(), scope, pat)
            })
            .collect();
        Naive { rules }
    }

    fn knob_rule(&self, class: &str, knob: &str) -> bool {
        for (node, keep, scope, pat) in self.rules.iter().rev() {
            if !*node && pat.is_match(knob) && scope.as_ref().is_none_or(|s| s.is_match(class)) {
                return !keep;
            }
        }
        false
    }
}

fn run_all(pairs: &[(String, String)], f: impl Fn(&str, &str) -> bool) -> usize {
    pairs.iter().filter(|(c, k)| f(c, k)).count()
}

fn bench(c: &mut Criterion) {
    let pairs = workload();
    let set = RuleSet::builtin();
    let naive = Naive::new(set.rules());
    assert_eq!(
        run_all(&pairs, |c, k| set.knob_rule(c, k).is_some()),
        run_all(&pairs, |c, k| naive.knob_rule(c, k)),
        "the baseline must give the same answers"
    );

    let mut group = c.benchmark_group("knob_rule");
    group.throughput(criterion::Throughput::Elements(pairs.len() as u64));
    group.bench_function("memo_hit", |b| {
        b.iter(|| run_all(black_box(&pairs), |c, k| set.knob_rule(c, k).is_some()))
    });
    group.bench_function("cold", |b| {
        b.iter_batched(
            || set.clone(),
            // Returning the set keeps its drop (memo, automata) out of the timing.
            |fresh| {
                let n = run_all(black_box(&pairs), |c, k| fresh.knob_rule(c, k).is_some());
                (n, fresh)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("naive_scan", |b| {
        b.iter(|| run_all(black_box(&pairs), |c, k| naive.knob_rule(c, k)))
    });
    group.finish();

    print_ratios(&pairs, &set, &naive);
}

/// Median of several side-by-side timings, printed as ratios against the baseline.
fn print_ratios(pairs: &[(String, String)], set: &RuleSet, naive: &Naive) {
    let time = |f: &mut dyn FnMut()| {
        let mut runs: Vec<Duration> = (0..15)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        runs.sort();
        runs[runs.len() / 2]
    };
    let hit = time(&mut || {
        black_box(run_all(pairs, |c, k| set.knob_rule(c, k).is_some()));
    });
    let mut kept = Vec::new();
    let cold = time(&mut || {
        let fresh = set.clone();
        black_box(run_all(pairs, |c, k| fresh.knob_rule(c, k).is_some()));
        kept.push(fresh); // dropped after timing
    });
    drop(kept);
    let base = time(&mut || {
        black_box(run_all(pairs, |c, k| naive.knob_rule(c, k)));
    });
    let per = |d: Duration| d.as_nanos() as f64 / pairs.len() as f64;
    println!(
        "knob_rule over {} pairs, median of 15: memo_hit {:.0} ns/q, cold {:.0} ns/q \
         (incl. recompiling a clone), naive {:.0} ns/q; naive/memo_hit = {:.1}x, naive/cold = {:.1}x",
        pairs.len(),
        per(hit),
        per(cold),
        per(base),
        base.as_secs_f64() / hit.as_secs_f64(),
        base.as_secs_f64() / cold.as_secs_f64(),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
