//! The render-cache directory: the master `hash.json`, one timestamped snapshot per
//! validity check, and the content-addressed manifest objects that explain them.
//!
//! ```text
//! <cache-dir>/
//!   master/hash.json                   recorded when frames are cached (+ hash.json.bak)
//!   <YYYYMMDDTHHMMSS.mmmZ>/hash.json    one per validity check (UTC, sortable, no colons)
//!   manifests/<hash>.json               content-addressed objects shared by all snapshots
//!   .lock                               cross-process lock for read-modify-write
//! ```
//!
//! [`CacheDir`] is the whole API. It is a path and nothing more: nothing is created until
//! something is written, and every method re-reads the disk, because other processes
//! (render-farm nodes on shared storage) may be writing to the same directory.
//!
//! Concurrency model:
//! * [`CacheDir::record_master`], [`CacheDir::write_snapshot`] and [`CacheDir::prune`]
//!   run under the exclusive `.lock`, so read-modify-write of the master never loses
//!   another process's frames and prune never sees a half-made snapshot.
//! * Objects are written without the lock: their name is their content hash, so two
//!   writers of one object write the same bytes and either rename wins. A writer stores
//!   its objects *before* the hash file that refers to them; in that window the objects
//!   are unreferenced, so prune leaves alone any unreferenced file younger than its grace
//!   period (a minute by default), and [`CacheDir::put_object`] refreshes the mtime of
//!   an object it finds already present. What is left is an instant between prune
//!   judging an old object unreferenced and deleting it, in which a writer may re-store
//!   it; that can only cost an explanation ("manifest not kept"), never a validity
//!   result, which compares the hashes inside `hash.json` files alone.
//! * [`CacheDir::put_objects`] stores a whole record's objects with parallel fsyncs; use
//!   it rather than a loop of [`CacheDir::put_object`] (several times faster).
//!
//! Every file is written with [`crate::fsutil::atomic_write`]; paths built from values
//! read out of files (object names) are validated with [`crate::hash::is_hex128`] and
//! joined with [`crate::fsutil::safe_join`], so nothing a `hash.json` or object says can
//! make the store read or delete outside the cache directory.

pub mod batch_object;
mod error;
mod hashfile;
mod master;
mod objects;
mod prune;
pub mod setup_object;
mod snapshot_id;
mod snapshots;

pub use error::{Result, StoreError};
pub use hashfile::{FrameEntry, HashFile, HashMeta, RenderRecord, ScriptRef, FORMAT, VERSION};
pub use master::REPLACED_FILE;
pub use objects::{object_refs, WRITE_WORKERS};
pub use prune::{PruneOptions, PruneReport, DEFAULT_GRACE};
pub use snapshot_id::SnapshotId;

use crate::fsutil::{self, LockGuard};
use error::io_err;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Name of the directory holding the master hash file.
pub const MASTER_DIR: &str = "master";
/// Name of the directory holding manifest objects.
pub const MANIFESTS_DIR: &str = "manifests";
/// Name of every hash file, in `master/` and in each snapshot directory.
pub const HASH_FILE: &str = "hash.json";
/// Name of the previous master, kept beside it by [`CacheDir::record_master`].
pub const BACKUP_FILE: &str = "hash.json.bak";
/// Name of the lock file at the top of the cache directory.
pub const LOCK_FILE: &str = ".lock";

/// The environment variable that, set to a true value, tells callers not to keep
/// manifest objects (see [`keep_manifests`]).
pub const DELETE_MANIFESTS_ENV: &str = "CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE";

/// Whether manifest objects should be stored, from the environment.
///
/// `false` when [`DELETE_MANIFESTS_ENV`] is `True`, `true`, `1` or `yes` (the spellings
/// the smartCache plugin documents): the caller then skips [`CacheDir::put_object`] and
/// still writes `hash.json`; explanations degrade to "manifest not kept".
pub fn keep_manifests() -> bool {
    keep_manifests_given(std::env::var(DELETE_MANIFESTS_ENV).ok().as_deref())
}

/// [`keep_manifests`] for a given value of the variable (`None` when unset).
pub fn keep_manifests_given(value: Option<&str>) -> bool {
    !matches!(value, Some("True" | "true" | "1" | "yes"))
}

/// A render-cache directory. Cheap to create; see the module docs for the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    /// A handle on the cache directory at `root`. Nothing is read or created yet.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The cache directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `<cache-dir>/master/hash.json`.
    pub fn master_path(&self) -> PathBuf {
        self.root.join(MASTER_DIR).join(HASH_FILE)
    }

    /// `<cache-dir>/master/hash.json.bak`, the master before the last record.
    pub fn master_backup_path(&self) -> PathBuf {
        self.root.join(MASTER_DIR).join(BACKUP_FILE)
    }

    /// `<cache-dir>/<id>/hash.json`.
    pub fn snapshot_path(&self, id: &SnapshotId) -> PathBuf {
        self.root.join(id.to_string()).join(HASH_FILE)
    }

    /// `<cache-dir>/manifests`.
    pub fn manifests_dir(&self) -> PathBuf {
        self.root.join(MANIFESTS_DIR)
    }

    /// Parse a snapshot id given by a user, with an error that names this cache.
    pub fn snapshot_id(&self, text: &str) -> Result<SnapshotId> {
        SnapshotId::parse(text).ok_or_else(|| StoreError::InvalidSnapshotId {
            dir: self.root.clone(),
            id: text.to_string(),
        })
    }

    /// Take the exclusive cross-process lock (creating the cache directory if needed).
    ///
    /// Private on purpose: `flock` locks conflict even between two handles of one
    /// process, so a caller holding the lock while calling a locking method would wait
    /// for itself forever.
    fn lock(&self) -> Result<LockGuard> {
        Ok(LockGuard::acquire(&self.root.join(LOCK_FILE))?)
    }
}

/// Read a whole file, `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Read and parse a hash file, `None` if it does not exist.
fn read_hash_file(path: &Path) -> Result<Option<HashFile>> {
    read_optional(path)?
        .map(|bytes| HashFile::from_json(&bytes, path))
        .transpose()
}

/// Serialize `file` and write it atomically to `path`, refusing to write anything that
/// could not be read back.
fn write_hash_file(path: &Path, file: &HashFile) -> Result<()> {
    file.validate(path)?;
    let bytes = file.to_json().map_err(|e| StoreError::json(path, &e))?;
    fsutil::atomic_write(path, &bytes)?;
    Ok(())
}

/// Create `dir` (and its parents) if it is missing, making the new entry durable.
fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fsutil::create_dir_all(dir)?;
    fsutil::sync_parent(dir)?;
    Ok(())
}

/// `true` for the temporary files [`fsutil::atomic_write`] leaves while writing
/// (`.<name>.<pid>.<n>.tmp`), which scans must skip.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_manifests_spellings() {
        assert!(keep_manifests_given(None));
        for v in ["True", "true", "1", "yes"] {
            assert!(!keep_manifests_given(Some(v)), "{v}");
        }
        for v in ["False", "false", "0", "no", "", "TRUE ", "Yes"] {
            assert!(keep_manifests_given(Some(v)), "{v}");
        }
    }

    #[test]
    fn temp_names() {
        assert!(is_temp_name(".hash.json.123.0.tmp"));
        assert!(!is_temp_name("hash.json"));
        assert!(!is_temp_name(".lock"));
    }
}
