//! Which files a command is about: the source arguments expanded into absolute paths.
//!
//! Paths are the index keys, so they must be stable: each argument is canonicalized once
//! (symlinks in the root resolved) and the names found below it are joined onto that, so
//! 100,000 files cost one `realpath` each per root, not per file. The walk uses an
//! explicit stack, does not follow symlinked directories (no cycles, no escaping the
//! tree), and skips the cache directory if it lies inside a source tree.

use super::error::{io_at, DatasetError};
use std::fs;
use std::path::{Path, PathBuf};

/// The source files of one command, sorted, plus the roots they were found under.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Canonical roots as given (directories or single files).
    pub roots: Vec<String>,
    /// Absolute paths of the regular files under the roots, sorted and unique.
    pub files: Vec<String>,
    /// The shard `files` was cut down to, if any.
    pub shard: Option<Shard>,
}

/// `--shard K/N`: this process handles the paths whose hash falls in slot K of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub k: u32,
    pub n: u32,
}

impl std::str::FromStr for Shard {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Shard, DatasetError> {
        let bad = || DatasetError::BadShard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// Whether `path` belongs to this shard. Stable across machines and runs.
    pub fn contains(&self, path: &str) -> bool {
        xxhash_rust::xxh3::xxh3_64(path.as_bytes()) % u64::from(self.n) == u64::from(self.k - 1)
    }
}

impl Sources {
    /// Expand `args` (files or directories) into the regular files below them, skipping
    /// `exclude` (the cache directory) if it lies inside.
    pub fn collect(args: &[PathBuf], exclude: Option<&Path>) -> Result<Sources, DatasetError> {
        let mut out = Sources::default();
        for arg in args {
            let root = fs::canonicalize(arg).map_err(io_at(arg))?;
            let meta = fs::metadata(&root).map_err(io_at(&root))?;
            out.roots.push(path_str(&root)?.to_string());
            if meta.is_file() {
                out.files.push(path_str(&root)?.to_string());
                continue;
            }
            let mut stack = vec![root];
            while let Some(dir) = stack.pop() {
                if exclude.is_some_and(|x| x == dir) {
                    continue;
                }
                for item in fs::read_dir(&dir).map_err(io_at(&dir))? {
                    let item = item.map_err(io_at(&dir))?;
                    let path = item.path();
                    let ft = item.file_type().map_err(io_at(&path))?;
                    if ft.is_dir() {
                        stack.push(path);
                    } else if ft.is_file()
                        || (ft.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()))
                    {
                        out.files.push(path_str(&path)?.to_string());
                    }
                }
            }
        }
        out.files.sort_unstable();
        out.files.dedup();
        out.roots.sort_unstable();
        out.roots.dedup();
        Ok(out)
    }

    /// Keep only the files of `shard`.
    pub fn shard(mut self, shard: Option<Shard>) -> Sources {
        if let Some(s) = shard {
            self.files.retain(|p| s.contains(p));
        }
        self.shard = shard;
        self
    }

    /// Whether an indexed `path` lies under one of the roots and in the shard (so that
    /// its absence from `files` means the source was removed).
    pub fn covers(&self, path: &str) -> bool {
        if self.shard.is_some_and(|s| !s.contains(path)) {
            return false;
        }
        self.roots.iter().any(|r| {
            path == r
                || (path.len() > r.len()
                    && path.starts_with(r.as_str())
                    && (r.ends_with('/') || path.as_bytes()[r.len()] == b'/'))
        })
    }
}

/// The index stores paths as UTF-8 text.
pub(crate) fn path_str(p: &Path) -> Result<&str, DatasetError> {
    p.to_str().ok_or_else(|| DatasetError::NonUtf8Path {
        path: p.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_files_sorted_and_skips_excluded_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir_all(root.join("cache/objects")).unwrap();
        fs::write(root.join("a/b/2.txt"), "x").unwrap();
        fs::write(root.join("a/1.txt"), "x").unwrap();
        fs::write(root.join("cache/objects/o"), "x").unwrap();
        let s = Sources::collect(std::slice::from_ref(&root), Some(&root.join("cache"))).unwrap();
        let r = root.to_str().unwrap();
        assert_eq!(
            s.files,
            vec![format!("{r}/a/1.txt"), format!("{r}/a/b/2.txt")]
        );
        assert!(s.covers(&format!("{r}/a/gone.txt")));
        assert!(!s.covers(&format!("{r}x/a.txt")));
        assert!(Sources::collect(&[root.join("nope")], None).is_err());
    }

    #[test]
    fn shards_partition_paths() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for i in 0..300 {
            let p = format!("/d/{i}.png");
            assert_eq!(shards.iter().filter(|s| s.contains(&p)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "x", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
