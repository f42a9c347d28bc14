//! The reader against the shared corpus: 360 real scripts and gizmos, each with the
//! graph Nuke's stack semantics give it. Every file must match exactly, through the
//! library and through `smartcache graph --json`.

use assert_cmd::Command;
use serde_json::{json, Value};
mod common;
use common::{files_under, shared};
use std::path::{Path, PathBuf};

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
                .map(|s| s.map_or(Value::Null, |s| Value::from(g.node(s).name.as_str())))
                .collect();
            json!({"name": n.name, "class": n.class, "inputs": inputs})
        })
        .collect();
    json!({ "nodes": nodes })
}

#[test]
fn corpus_has_360_files() {
    let shared = shared();
    assert_eq!(files_under(&shared.join("corpus/nk")).len(), 360);
}

#[test]
fn library_matches_every_expected_graph() {
    let shared = shared();
    let root = shared.join("corpus/nk");
    let mut failures = Vec::new();
    for rel in files_under(&root) {
        let expected: Value =
            serde_json::from_slice(&std::fs::read(expected_path(&shared, &rel)).unwrap()).unwrap();
        match smartcache::graph::LoadedScript::read(&root.join(&rel)) {
            Ok(loaded) => {
                let script = loaded.script;
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
    for rel in files_under(&root) {
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
    let nodes: usize = files_under(&expected_dir)
        .iter()
        .map(|rel| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(expected_dir.join(rel)).unwrap()).unwrap();
            v["nodes"].as_array().unwrap().len()
        })
        .sum();
    let root = shared.join("corpus/nk");
    let bytes: u64 = files_under(&root)
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
