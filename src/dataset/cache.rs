//! A dataset cache directory: the handle every operation goes through, paths confined to
//! the cache, and the index views it keeps.
//!
//! A [`DatasetCache`] opens the index once and keeps what it read: `get` on a handle is
//! a lookup in memory (after the first few, which search the base file in place), not a
//! reload per call. What other processes record meanwhile is seen after
//! [`DatasetCache::refresh`], or automatically when a path is not found.

use super::error::{io_at, DatasetError};
use super::layout::BUILD_LOCK_FILE;
use super::locks::BuildLock;
use super::model::Record;
use super::sources::{Shard, Sources};
use super::store::{Lookup, Mode, Snapshot, Writer};
use crate::fsutil;
use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Environment variable that turns on trust mode (`1`, `true`, `yes`), as `--trust-index`.
pub const TRUST_ENV: &str = "SMARTCACHE_TRUST_INDEX";

/// Whether [`TRUST_ENV`] asks for trust mode.
pub fn trust_from_env() -> bool {
    std::env::var(TRUST_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// Lookups after which a handle reads the base whole rather than searching the file.
const LOOKUPS_BEFORE_LOADING: usize = 32;

/// A dataset cache directory. Cheap to clone (clones share what was loaded); `Send` and
/// `Sync`, so one handle can serve many threads.
#[derive(Debug, Clone)]
pub struct DatasetCache {
    dir: PathBuf,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The cache directory (for writing what is pending when the handle goes).
    dir: PathBuf,
    /// Directories under `dir` already checked not to lead outside it.
    safe_dirs: Mutex<HashSet<PathBuf>>,
    /// The index view for lookups, and how many lookups it answered.
    lookup: RwLock<Option<Arc<Lookup>>>,
    lookups: AtomicUsize,
    /// Re-stamped entries not written yet (see [`DatasetCache::flush`]).
    pending: Mutex<Vec<Record>>,
    writer: Mutex<Option<Writer>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pending = std::mem::take(self.pending.get_mut().unwrap_or_else(|p| p.into_inner()));
        if !pending.is_empty() {
            let w = self.writer.get_mut().unwrap_or_else(|p| p.into_inner());
            // Best effort: on a read-only cache the re-stamps are simply not kept.
            let _ = w
                .get_or_insert_with(|| Writer::new(&self.dir))
                .append(&pending);
        }
    }
}

/// How many re-stamps a handle keeps before writing them.
const PENDING_MAX: usize = 1024;

impl DatasetCache {
    /// Open (creating if needed) the cache directory `dir`, for building.
    pub fn open(dir: &Path) -> Result<DatasetCache, DatasetError> {
        fsutil::create_dir_all(dir)?;
        let dir = fs::canonicalize(dir).map_err(io_at(dir))?;
        Ok(DatasetCache::with(dir))
    }

    /// The cache directory `dir` for reading: nothing is created and no lock is taken,
    /// so this works on a read-only mount; a directory that does not exist yet is an
    /// empty cache.
    pub fn at(dir: &Path) -> Result<DatasetCache, DatasetError> {
        let dir = match fs::canonicalize(dir) {
            Ok(d) => d,
            Err(_) => std::path::absolute(dir).map_err(io_at(dir))?,
        };
        Ok(DatasetCache::with(dir))
    }

    fn with(dir: PathBuf) -> DatasetCache {
        let inner = Arc::new(Inner {
            dir: dir.clone(),
            safe_dirs: Mutex::default(),
            lookup: RwLock::default(),
            lookups: AtomicUsize::default(),
            pending: Mutex::default(),
            writer: Mutex::default(),
        });
        DatasetCache { dir, inner }
    }

    /// The canonical cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Read the whole index (no lock: see [`super::store`]).
    pub(crate) fn snapshot(&self) -> Result<Snapshot, DatasetError> {
        Snapshot::load(&self.dir)
    }

    /// The index view for point lookups, loaded on first use.
    pub(crate) fn lookup(&self) -> Result<Arc<Lookup>, DatasetError> {
        let n = self.inner.lookups.fetch_add(1, Ordering::Relaxed);
        if let Some(l) = self
            .inner
            .lookup
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if n != LOOKUPS_BEFORE_LOADING {
                return Ok(Arc::clone(l));
            }
        }
        // First use: search the base in place. After a few lookups: read it whole.
        let mode = if n >= LOOKUPS_BEFORE_LOADING {
            Mode::Whole
        } else {
            Mode::Lookups
        };
        let l = Arc::new(Lookup::load_with(&self.dir, mode)?);
        *self.inner.lookup.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&l));
        Ok(l)
    }

    /// Forget what was read of the index: the next lookup reads it again and sees what
    /// other processes recorded since.
    pub fn refresh(&self) {
        *self.inner.lookup.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.inner
            .lookups
            .store(LOOKUPS_BEFORE_LOADING + 1, Ordering::Relaxed);
    }

    /// Remember records to write later (re-stamps by `get`), writing them when many.
    pub(crate) fn defer(&self, records: Vec<Record>) {
        let full = {
            let mut p = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.extend(records);
            p.len() >= PENDING_MAX
        };
        if full {
            let _ = self.flush();
        }
    }

    /// Write what lookups learnt (entries re-stamped after their content was checked)
    /// so that later validations trust them on metadata. Done by itself when a handle
    /// is dropped; on a read-only cache the records are dropped.
    pub fn flush(&self) -> Result<(), DatasetError> {
        let pending =
            std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if pending.is_empty() {
            return Ok(());
        }
        let mut w = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.get_or_insert_with(|| Writer::new(&self.dir))
            .append(&pending)
    }

    /// A new writer of segments for this cache.
    pub(crate) fn writer(&self) -> Writer {
        Writer::new(&self.dir)
    }

    /// Held for a build's whole run: shared with other builds, exclusive with gc.
    pub(crate) fn build_lock(&self) -> Result<BuildLock, DatasetError> {
        BuildLock::shared(&self.dir.join(BUILD_LOCK_FILE))
    }

    /// Expand source arguments into files, leaving out the cache directory itself.
    pub fn sources(&self, args: &[PathBuf], shard: Option<Shard>) -> Result<Sources, DatasetError> {
        Ok(Sources::collect_watched(args, &self.dir)?.shard(shard))
    }

    /// [`Self::sources`] without fingerprinting during the walk (trust mode on slow
    /// storage, where a `stat` per file is what costs).
    pub fn sources_unstatted(
        &self,
        args: &[PathBuf],
        shard: Option<Shard>,
    ) -> Result<Sources, DatasetError> {
        Ok(Sources::collect(args, Some(&self.dir), false)?.shard(shard))
    }

    /// Resolve an artifact path read from the index, refusing anything that leaves the
    /// cache directory (`..`, absolute paths, symlinks pointing out, non-object paths).
    pub fn artifact_path(&self, rel: &str) -> Result<PathBuf, DatasetError> {
        self.confine(rel).map(|(p, _)| p)
    }

    /// [`Self::artifact_path`] without looking at the file itself (what to name an
    /// artifact about to be written).
    pub(crate) fn locate(&self, rel: &str) -> Result<PathBuf, DatasetError> {
        let rel_path = Path::new(rel);
        let lexically_ok = rel.starts_with("objects/")
            && !rel.contains('\0')
            && rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        let escapes = || -> DatasetError {
            fsutil::FsError::Escapes {
                path: rel.to_string(),
                base: self.dir.clone(),
            }
            .into()
        };
        if !lexically_ok {
            return Err(escapes());
        }
        let mut dir = self.dir.clone();
        let parts: Vec<Component> = rel_path.components().collect();
        for c in &parts[..parts.len() - 1] {
            dir.push(c);
            if !self.dir_is_inside(&dir) {
                return Err(escapes());
            }
        }
        Ok(self.dir.join(rel_path))
    }

    /// [`Self::artifact_path`], also returning the file's metadata when it exists.
    ///
    /// Same guarantee as [`fsutil::safe_join`] at a fraction of its cost (status checks
    /// one artifact per source): the path is checked lexically, each directory on the way
    /// is checked once per handle not to be a symlink leading out, and the file itself
    /// costs one `lstat` (a symlink is resolved and must stay inside).
    pub(crate) fn confine(
        &self,
        rel: &str,
    ) -> Result<(PathBuf, Option<fs::Metadata>), DatasetError> {
        let escapes = || -> DatasetError {
            fsutil::FsError::Escapes {
                path: rel.to_string(),
                base: self.dir.clone(),
            }
            .into()
        };
        let rel_path = Path::new(rel);
        let lexically_ok = rel.starts_with("objects/")
            && !rel.contains('\0')
            && rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !lexically_ok {
            return Err(escapes());
        }
        let full = self.dir.join(rel_path);
        let mut dir = self.dir.clone();
        let parts: Vec<Component> = rel_path.components().collect();
        for c in &parts[..parts.len() - 1] {
            dir.push(c);
            if !self.dir_is_inside(&dir) {
                return Err(escapes());
            }
        }
        match fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&full) {
                Ok(real) if real.starts_with(&self.dir) => Ok((full, fs::metadata(&real).ok())),
                Ok(_) => Err(escapes()),
                Err(_) => Ok((full, None)),
            },
            Ok(m) => Ok((full, Some(m))),
            Err(_) => Ok((full, None)),
        }
    }

    /// Whether `dir` (below the cache directory) is a real directory inside it, or does not
    /// exist; remembered once true.
    fn dir_is_inside(&self, dir: &Path) -> bool {
        let mut known = self
            .inner
            .safe_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if known.contains(dir) {
            return true;
        }
        let ok = match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(dir).is_ok_and(|real| real.starts_with(&self.dir))
            }
            Ok(_) => true,
            Err(_) => return true, // absent: nothing to follow (not remembered)
        };
        if ok {
            known.insert(dir.to_path_buf());
        }
        ok
    }

    /// Whether the artifact file `rel` is on disk, inside the cache (one `lstat`).
    pub(crate) fn artifact_exists(&self, rel: &str) -> bool {
        matches!(self.confine(rel), Ok((_, Some(m))) if m.is_file())
    }
}
