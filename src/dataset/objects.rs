//! The set of artifact files under `objects/`, listed once for a whole `status`.
//!
//! One directory listing per fan-out directory (no `stat` per artifact). The names of a
//! directory are kept in one string buffer rather than one `String` each: a cache of 100,000 artifacts otherwise costs 100,000 allocations and a large
//! hash table just to answer "is this file there?".

use rayon::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_64, Xxh3Builder};

/// Regular files directly inside the fan-out directories of an `objects/` directory.
#[derive(Debug, Default)]
pub(crate) struct ObjectSet {
    dirs: HashMap<String, Names, Xxh3Builder>,
}

/// The file names of one directory: concatenated in one buffer, found through a dense
/// table of (xxh3-64 of the name, span) sorted by hash. A lookup binary-searches a few
/// kilobytes of hashes and compares one name, instead of comparing names scattered over
/// the buffer at every step (which on 100,000 lookups is mostly cache misses).
#[derive(Debug, Default)]
struct Names {
    buf: String,
    keys: Vec<(u64, usize, usize)>,
}

impl Names {
    fn contains(&self, name: &str) -> bool {
        let h = xxh3_64(name.as_bytes());
        let first = self.keys.partition_point(|k| k.0 < h);
        self.keys[first..]
            .iter()
            .take_while(|k| k.0 == h)
            .any(|&(_, start, end)| self.buf.as_bytes().get(start..end) == Some(name.as_bytes()))
    }
}

impl ObjectSet {
    /// List `objects` (the cache's `objects/` directory). Only real directories and
    /// regular files count, so a name in the set is inside the cache whatever the index
    /// says; a symlinked `objects/` would list files outside the cache, so nothing counts.
    /// A missing or unreadable directory is an empty set (every artifact missing).
    pub(crate) fn list(objects: &Path) -> ObjectSet {
        if fs::symlink_metadata(objects).is_ok_and(|m| m.file_type().is_symlink()) {
            return ObjectSet::default();
        }
        let Ok(top) = fs::read_dir(objects) else {
            return ObjectSet::default();
        };
        let fanout: Vec<(PathBuf, String)> = top
            .flatten()
            .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|d| Some((d.path(), d.file_name().into_string().ok()?)))
            .collect();
        let dirs = fanout
            .into_par_iter()
            .map(|(dir, name)| (name, list_names(&dir)))
            .collect();
        ObjectSet { dirs }
    }

    /// Whether `rel` (`objects/<dir>/<name>`, relative to the cache directory) is listed.
    pub(crate) fn contains(&self, rel: &str) -> bool {
        let Some((dir, name)) = rel
            .strip_prefix(super::cache::OBJECTS_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|r| r.split_once('/'))
        else {
            return false;
        };
        self.dirs.get(dir).is_some_and(|n| n.contains(name))
    }
}

fn list_names(dir: &Path) -> Names {
    let mut names = Names::default();
    for item in fs::read_dir(dir).into_iter().flatten().flatten() {
        if !item.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if let Some(n) = item.file_name().to_str() {
            let start = names.buf.len();
            names.buf.push_str(n);
            names
                .keys
                .push((xxh3_64(n.as_bytes()), start, names.buf.len()));
        }
    }
    names.keys.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_regular_files_of_fanout_dirs_only() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("objects");
        fs::create_dir_all(objects.join("ab/sub")).unwrap();
        fs::create_dir_all(objects.join("cd")).unwrap();
        for f in ["ab/abz", "ab/ab1.png", "ab/ab0", "cd/cd9"] {
            fs::write(objects.join(f), "x").unwrap();
        }
        fs::write(objects.join("top-level-file"), "x").unwrap();
        let set = ObjectSet::list(&objects);
        for yes in [
            "objects/ab/abz",
            "objects/ab/ab1.png",
            "objects/ab/ab0",
            "objects/cd/cd9",
        ] {
            assert!(set.contains(yes), "{yes}");
        }
        for no in [
            "objects/ab/sub",
            "objects/ab/ab1",
            "objects/cd/abz",
            "objects/top-level-file",
            "objects/ab",
            "ab/abz",
            "objects/ab/abz/x",
            "",
        ] {
            assert!(!set.contains(no), "{no}");
        }
        assert!(!ObjectSet::list(&dir.path().join("missing")).contains("objects/ab/abz"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_objects_dir_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(outside.join("ab")).unwrap();
        fs::write(outside.join("ab/abz"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("objects")).unwrap();
        let set = ObjectSet::list(&dir.path().join("objects"));
        assert!(!set.contains("objects/ab/abz"));
    }
}
