//! The reader against the shared corpus: 360 real scripts and gizmos, each with the
//! graph Nuke's stack semantics give it. Every file must match exactly, through the
//! library and through `smartcache graph --json`.

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The shared directory: `$SMARTCACHE_SHARED`, else `<crate>/../shared`. Missing is a
/// failure, not a skip: a green run must mean the corpus was checked.
fn shared() -> PathBuf {
    let dir = std::env::var_os("SMARTCACHE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("corpus/nk").is_dir(),
        "corpus not found at {}/corpus/nk: set SMARTCACHE_SHARED",
        dir.display()
    );
    dir
}

/// Every file under `root`, relative to it, sorted (iterative walk).
fn corpus_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

fn expected_path(shared: &Path, rel: &Path) -> PathBuf {
    let mut p = shared.join("corpus/nk-expected").join(rel).into_os_string();
    p.push(".json");
    PathBuf::from(p)
}

/// The expected-graph shape, built from the library's `Script` independently of the
/// CLI's serializer.
fn graph_json(script: &smartcache::graph::Script) -> Value {
    let g = &script.graph;
    let nodes: Vec<Value> = g
        .nodes()
        .map(|(id, n)| {
            let inputs: Vec<Value> = g
                .inputs(id)
                .into_iter()
                .map(|s| s.map_or(Value::Null, |s| Value::from(g.node(s).name.clone())))
                .collect();
            json!({"name": n.name, "class": n.class, "inputs": inputs})
        })
        .collect();
    json!({ "nodes": nodes })
}

#[test]
fn corpus_has_360_files() {
    let shared = shared();
    assert_eq!(corpus_files(&shared.join("corpus/nk")).len(), 360);
}

#[test]
fn library_matches_every_expected_graph() {
    let shared = shared();
    let root = shared.join("corpus/nk");
    let mut failures = Vec::new();
    for rel in corpus_files(&root) {
        let expected: Value =
            serde_json::from_slice(&std::fs::read(expected_path(&shared, &rel)).unwrap()).unwrap();
        match smartcache::nk::read_file(&root.join(&rel)) {
            Ok(script) => {
                if graph_json(&script) != expected {
                    failures.push(format!("{}: graph differs", rel.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", rel.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} files mismatch:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cli_json_is_byte_equal_to_every_expected_file() {
    let shared = shared();
    let root = shared.join("corpus/nk");
    let mut failures = Vec::new();
    for rel in corpus_files(&root) {
        let expected = std::fs::read(expected_path(&shared, &rel)).unwrap();
        let out = Command::cargo_bin("smartcache")
            .unwrap()
            .args(["graph", "--json"])
            .arg(root.join(&rel))
            .output()
            .unwrap();
        // The CLI ends its output with a newline; the expected files do not.
        let body = out.stdout.strip_suffix(b"\n").unwrap_or(&out.stdout);
        if !out.status.success() || body != expected.as_slice() {
            failures.push(format!(
                "{}: exit {:?}, {}",
                rel.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} files mismatch:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cli_check_reads_the_whole_corpus() {
    let shared = shared();
    let out = Command::cargo_bin("smartcache")
        .unwrap()
        .args(["graph", "--check"])
        .arg(shared.join("corpus/nk"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let first = stdout.lines().next().unwrap();
    let expected_dir = shared.join("corpus/nk-expected");
    let nodes: usize = corpus_files(&expected_dir)
        .iter()
        .map(|rel| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(expected_dir.join(rel)).unwrap()).unwrap();
            v["nodes"].as_array().unwrap().len()
        })
        .sum();
    let root = shared.join("corpus/nk");
    let bytes: u64 = corpus_files(&root)
        .iter()
        .map(|rel| std::fs::metadata(root.join(rel)).unwrap().len())
        .sum();
    assert!(
        first.starts_with(&format!(
            "files 360, ok 360, failed 0, nodes {nodes}, bytes {bytes}, "
        )),
        "{first}"
    );
}
