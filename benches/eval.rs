//! Knob value parsing and per-frame views.
//!
//! `cargo bench --bench eval`. Inputs are generated here: a plain list, a multi-megabyte
//! matrix (the fast path does not apply: it has nested braces), an expression with Tcl,
//! and a 1,000-key curve viewed at every frame (binary search plus a handful of keys).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smartcache::eval::KnobValue;
use std::hint::black_box;

fn matrix(rows: usize) -> String {
    let mut s = String::from("{\n");
    for i in 0..rows {
        s.push_str(&format!(" {{{i} {}.5 -{}}}\n", i + 1, i + 2));
    }
    s.push('}');
    s
}

fn long_curve(keys: usize) -> String {
    let mut s = String::from("{{curve");
    for i in 0..keys {
        s.push_str(&format!(" x{} {}", 1001 + i * 2, (i * 7919) % 101));
    }
    s.push_str("}}");
    s
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let inputs = [
        ("plain_list", "{0.5 0.25 1 1}".to_owned()),
        ("plain_flat_1MB", format!("{{{}}}", "0.125 ".repeat(170_000))),
        ("matrix_2MB", matrix(120_000)),
        (
            "expression_tcl",
            r#"{{"parent.Ctrl.\[value this.slot] * \[value \[value path].\[value id.3]] + frame"}}"#.to_owned(),
        ),
        ("curve_1000_keys", long_curve(1000)),
    ];
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| KnobValue::parse(black_box(t)))
        });
    }
    g.finish();
}

fn frame_views(c: &mut Criterion) {
    let mut g = c.benchmark_group("at");
    for interp in ["S", "C"] {
        let text = long_curve(1000).replacen("curve", &format!("curve {interp}"), 1);
        let v = KnobValue::parse(&text);
        g.throughput(Throughput::Elements(1000));
        g.bench_function(
            BenchmarkId::new("canonical_bytes_1000_frames", interp),
            |b| {
                b.iter(|| {
                    let mut total = 0;
                    for f in 1001..2001 {
                        total += v.at(f64::from(f)).canonical_bytes().len();
                    }
                    total
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, parse, frame_views);
criterion_main!(benches);
