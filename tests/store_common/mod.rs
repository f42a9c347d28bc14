//! Helpers shared by the `store_*` integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use smartcache::hash::Hex128;
use smartcache::store::{FrameEntry, HashMeta, ScriptRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Meta for a recording of `node` under rules `rules`.
pub fn meta(node: &str, rules: &str) -> HashMeta {
    HashMeta {
        script: ScriptRef {
            path: "shots/sh010/comp.nk".into(),
            hash: Hex128::of(b"script v1"),
        },
        node: node.into(),
        rules: rules.into(),
        profile: "p".into(),
        frame_format: 2,
        setup_memo: None,
    }
}

/// A deterministic frame hash for frame `f` of variant `tag`.
pub fn frame_hash(tag: &str, f: i64) -> Hex128 {
    Hex128::of(format!("{tag}:{f}").as_bytes())
}

/// Frames `range` with hashes of variant `tag`.
pub fn frames(tag: &str, range: std::ops::RangeInclusive<i64>) -> BTreeMap<i64, FrameEntry> {
    range
        .map(|f| (f, FrameEntry::new(frame_hash(tag, f))))
        .collect()
}

/// Every file under `dir` (recursively, iteratively), relative, with its bytes: a
/// complete picture of a cache directory to compare before and after an operation.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                out.insert(rel.join(""), Vec::new());
                stack.push(path);
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
