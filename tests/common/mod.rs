//! Shared helpers for the CLI end-to-end tests.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The shared corpus directory: `$SMARTCACHE_SHARED` or `../shared` beside the
/// repository. Panics (failing the test) when it is missing: CI must have it.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("SMARTCACHE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("corpus/nk").is_dir(),
        "the shared corpus is missing at {} (set SMARTCACHE_SHARED)",
        dir.display()
    );
    dir
}

/// `shared()/corpus/nk`: the 360 corpus scripts and gizmos.
pub fn corpus_nk() -> PathBuf {
    shared().join("corpus/nk")
}

/// Every corpus script and gizmo, by absolute path, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let root = corpus_nk();
    files_under(&root)
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("nk" | "gizmo")))
        .map(|p| root.join(p))
        .collect()
}

/// Every file under `root`, relative to it, sorted (an iterative walk).
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
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

/// The smartcache binary, with a clean environment for the variables it reads.
pub fn smartcache() -> Command {
    let mut c = Command::cargo_bin("smartcache").expect("binary builds");
    c.env_remove("CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE")
        .env_remove("SMARTCACHE_RULES")
        .env_remove("SMARTCACHE_PROFILE")
        .env_remove("SMARTCACHE_TRUST_INDEX")
        .env("NO_COLOR", "1");
    c
}

/// Copy a directory tree (fixtures into a temporary workspace).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Replace the single occurrence of `from` with `to` in a file.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Replace the timestamped snapshot ids in CLI output with a placeholder.
pub fn redact_snapshots(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // YYYYMMDDTHHMMSS.mmmZ, optionally -N
        if i + 20 <= b.len()
            && b[i..i + 8].iter().all(u8::is_ascii_digit)
            && b[i + 8] == b'T'
            && b[i + 9..i + 15].iter().all(u8::is_ascii_digit)
            && b[i + 15] == b'.'
            && b[i + 16..i + 19].iter().all(u8::is_ascii_digit)
            && b[i + 19] == b'Z'
        {
            out.push_str("<SNAPSHOT>");
            i += 20;
            if i < b.len() && b[i] == b'-' {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            continue;
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
