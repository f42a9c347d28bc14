//! Which files a command is about: the source arguments expanded into absolute paths.
//!
//! Paths are the index keys, so they must be stable: each argument is canonicalized once
//! (symlinks in the root resolved) and the names found below it are joined onto that, so
//! 100,000 files cost one `realpath` each per root, not per file. The walk uses an
//! explicit stack, does not follow symlinked directories (no cycles, no escaping the
//! tree), and skips the cache directory if it lies inside a source tree.

use super::error::{io_at, DatasetError};
use super::fingerprint::{now_ns, Fingerprint};
use rayon::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The source files of one command, sorted, plus the roots they were found under.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Canonical roots as given (directories or single files).
    pub roots: Vec<String>,
    /// Absolute paths of the regular files under the roots, sorted and unique.
    pub files: Vec<String>,
    /// The shard `files` was cut down to, if any.
    pub shard: Option<Shard>,
    /// For each file, its fingerprint taken during the walk (when asked), with the wall
    /// clock read just before: the stat is done relative to the open directory, which is
    /// much cheaper than resolving the full path again later. Single use: the first
    /// validation takes them, so a `Sources` kept and reused later cannot vouch for files
    /// with stale fingerprints.
    stats: Arc<Mutex<Option<Vec<Option<Stat>>>>>,
}

/// A fingerprint and the time just before it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub fp: Fingerprint,
    pub at: i64,
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
    /// `exclude` (the cache directory) if it lies inside. With `stat`, each file is
    /// fingerprinted during the walk.
    pub fn collect(
        args: &[PathBuf],
        exclude: Option<&Path>,
        stat: bool,
    ) -> Result<Sources, DatasetError> {
        let mut roots = Vec::new();
        let mut found: Vec<(String, Option<Stat>)> = Vec::new();
        let mut frontier: Vec<PathBuf> = Vec::new();
        for arg in args {
            let at = now_ns();
            let root = fs::canonicalize(arg).map_err(io_at(arg))?;
            let meta = fs::metadata(&root).map_err(io_at(&root))?;
            roots.push(path_str(&root)?.to_string());
            if meta.is_file() {
                let st = stat.then(|| Stat {
                    fp: Fingerprint::from_metadata(&meta),
                    at,
                });
                found.push((path_str(&root)?.to_string(), st));
            } else {
                frontier.push(root);
            }
        }
        // Breadth first, each level's directories in parallel; no recursion.
        while !frontier.is_empty() {
            let levels: Vec<Result<Listing, DatasetError>> = frontier
                .par_iter()
                .filter(|d| exclude != Some(d.as_path()))
                .map(|d| list_dir(d, stat))
                .collect();
            frontier = Vec::new();
            for level in levels {
                let (files, dirs) = level?;
                found.extend(files);
                frontier.extend(dirs);
            }
        }
        found.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        roots.sort_unstable();
        roots.dedup();
        let (files, stats): (Vec<String>, Vec<Option<Stat>>) = found.into_iter().unzip();
        Ok(Sources {
            roots,
            files,
            shard: None,
            stats: Arc::new(Mutex::new(stat.then_some(stats))),
        })
    }

    /// Keep only the files of `shard`.
    pub fn shard(mut self, shard: Option<Shard>) -> Sources {
        if let Some(s) = shard {
            let stats = self.take_stats();
            let keep: Vec<bool> = self.files.iter().map(|p| s.contains(p)).collect();
            let mut i = 0;
            self.files.retain(|_| {
                i += 1;
                keep[i - 1]
            });
            let stats = stats.map(|st| {
                st.into_iter()
                    .zip(&keep)
                    .filter_map(|(x, k)| k.then_some(x))
                    .collect()
            });
            self.stats = Arc::new(Mutex::new(stats));
        }
        self.shard = shard;
        self
    }

    /// The walk's fingerprints, one per file, the first time only.
    pub(crate) fn take_stats(&self) -> Option<Vec<Option<Stat>>> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).take()
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

/// Files (with their stats) and subdirectories of one directory.
type Listing = (Vec<(String, Option<Stat>)>, Vec<PathBuf>);

/// Read one directory. Symlinked directories are not followed; symlinked files are.
fn list_dir(dir: &Path, stat: bool) -> Result<Listing, DatasetError> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    // Read before any stat of this directory's entries, as the racy rule requires.
    let at = now_ns();
    let dir_text = dir.to_str();
    for item in fs::read_dir(dir).map_err(io_at(dir))? {
        let item = item.map_err(io_at(dir))?;
        let ft = item.file_type().map_err(io_at(item.path()))?;
        if ft.is_dir() {
            dirs.push(item.path());
            continue;
        }
        let meta = if ft.is_file() {
            if stat {
                // fstatat on the open directory: one path component to resolve.
                Some(item.metadata().map_err(io_at(item.path()))?)
            } else {
                None
            }
        } else if ft.is_symlink() {
            match fs::metadata(item.path()) {
                Ok(m) if m.is_file() => Some(m),
                _ => continue,
            }
        } else {
            continue;
        };
        let st = meta.filter(|_| stat).map(|m| Stat {
            fp: Fingerprint::from_metadata(&m),
            at,
        });
        // The path text built once, straight from the directory's and the name's.
        let name = item.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| DatasetError::NonUtf8Path { path: item.path() })?;
        let dir_str = dir_text.ok_or_else(|| DatasetError::NonUtf8Path { path: item.path() })?;
        let mut path = String::with_capacity(dir_str.len() + 1 + name.len());
        path.push_str(dir_str);
        if !dir_str.ends_with('/') {
            path.push('/');
        }
        path.push_str(name);
        files.push((path, st));
    }
    Ok((files, dirs))
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
        let s =
            Sources::collect(std::slice::from_ref(&root), Some(&root.join("cache")), true).unwrap();
        let r = root.to_str().unwrap();
        assert_eq!(
            s.files,
            vec![format!("{r}/a/1.txt"), format!("{r}/a/b/2.txt")]
        );
        assert!(s.covers(&format!("{r}/a/gone.txt")));
        assert!(!s.covers(&format!("{r}x/a.txt")));
        assert!(Sources::collect(&[root.join("nope")], None, false).is_err());
        let stats = s.take_stats().unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats[0].unwrap().fp,
            Fingerprint::of(Path::new(&s.files[0])).unwrap()
        );
        assert!(s.take_stats().is_none(), "single use");
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
