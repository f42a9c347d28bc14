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
//! Every file is written atomically: with [`crate::fsutil::atomic_write`], or, for an
//! object stored while it is encoded ([`ObjectWriter`]), a [`crate::fsutil::AtomicFile`].
//! The directory itself is
//! untrusted input (shared storage, other users, damaged writers), so:
//! * every path the store opens, reads, creates or deletes is built by
//!   [`CacheDir::confined`] ([`crate::fsutil::confine`]): a symlink leading outside the
//!   cache directory, or to nothing, is refused with an error naming it, whether it is
//!   `master/`, a snapshot directory, `.lock`, `sources.json`, `manifests/` or an object;
//! * every file the store reads is read by [`crate::fsutil::read_limited`]: regular files
//!   only, at most [`MAX_FILE_LEN`] bytes, checked before the first byte is read;
//! * hashes read out of files (frame hashes, object names) are parsed into
//!   [`crate::hash::Hex128`] as the file is parsed, so nothing else can get near a path.
//!
//! Workflows call [`CacheDir::check_layout`] before they write anything, so that a
//! refusal leaves the disk as it was. A damaged master is recovered from its backup
//! ([`CacheDir::load_master`]); prune removes every temporary name the store writes once
//! it is older than the grace period.

pub mod batch_object;
mod error;
mod hashfile;
mod master;
mod objects;
mod prune;
pub mod setup_object;
mod snapshot_id;
mod snapshots;
mod sources_file;

/// Every hash in a cache file (re-exported: the store is its main user).
pub use crate::hash::Hex128;
pub use error::{Result, StoreError};
pub use hashfile::{
    FrameEntry, HashFile, HashMeta, RenderBase, RenderRecord, ScriptRef, SetupMemo, FORMAT, VERSION,
};
pub use master::{Master, Recovery, REPLACED_FILE};
pub use objects::{object_refs, ObjectWriter, WRITE_WORKERS};
pub use prune::{PruneOptions, PruneReport, DEFAULT_GRACE};
pub use snapshot_id::SnapshotId;
pub use sources_file::{
    decode_sources, encode_sources, KnownSource, SOURCES_FORMAT, SOURCES_VERSION,
};

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
/// Name of the source-file fingerprint index at the top of the cache directory (its
/// format: [`KnownSource`], [`CacheDir::load_sources`]).
pub const SOURCES_FILE: &str = "sources.json";
/// The lock file older versions took to write [`SOURCES_FILE`]; no longer used, so
/// prune removes it once it is older than the grace period.
const OLD_SOURCES_LOCK: &str = ".sources.lock";

/// Most bytes the store reads from any one file of a cache directory. Far above what it
/// writes (a master of 100,000 frames with renders is about 30 MB), far below what would
/// hurt: a larger file is refused by its size before it is read.
pub const MAX_FILE_LEN: u64 = 256 << 20;

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

    /// `rel` inside the cache directory, refused when any existing part of it is a
    /// symlink leading outside the cache or to nothing (see [`fsutil::confine`]). Every
    /// path the store touches is built here.
    pub fn confined(&self, rel: impl AsRef<Path>) -> Result<PathBuf> {
        Ok(fsutil::confine(&self.root, rel)?)
    }

    /// An error unless the cache directory exists: workflows that read a cache call it
    /// first, so that a mistyped directory is not taken for an empty cache (and is not
    /// created).
    pub fn require_exists(&self) -> Result<()> {
        match fs::metadata(&self.root) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(StoreError::Io {
                path: self.root.clone(),
                source: io::Error::other("not a directory"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoCache {
                dir: self.root.clone(),
            }),
            Err(e) => Err(io_err(&self.root)(e)),
        }
    }

    /// Check every fixed path of the layout (`.lock`, `master/` and its files,
    /// `manifests/`, `sources.json`) with [`CacheDir::confined`]. Workflows call it
    /// before they write anything, so that a cache directory holding a symlink that leads
    /// outside is refused before anything changes on disk.
    pub fn check_layout(&self) -> Result<()> {
        for rel in [LOCK_FILE, MASTER_DIR, MANIFESTS_DIR, SOURCES_FILE] {
            self.confined(rel)?;
        }
        for name in [HASH_FILE, BACKUP_FILE] {
            self.confined(Path::new(MASTER_DIR).join(name))?;
        }
        Ok(())
    }

    /// Take the exclusive cross-process lock (creating the cache directory if needed).
    ///
    /// Private on purpose: `flock` locks conflict even between two handles of one
    /// process, so a caller holding the lock while calling a locking method would wait
    /// for itself forever.
    fn lock(&self) -> Result<LockGuard> {
        let path = self.confined(LOCK_FILE)?;
        Ok(LockGuard::acquire(&path)?)
    }

    /// Read the cache file `rel` (confined, a regular file of at most [`MAX_FILE_LEN`]
    /// bytes), `None` if it does not exist. Returns the path with the bytes, for errors.
    fn read(&self, rel: impl AsRef<Path>) -> Result<(PathBuf, Option<Vec<u8>>)> {
        let path = self.confined(rel)?;
        let bytes = fsutil::read_limited(&path, MAX_FILE_LEN)?;
        Ok((path, bytes))
    }

    /// Read and parse the hash file `rel`, `None` if it does not exist.
    fn read_hash_file(&self, rel: impl AsRef<Path>) -> Result<Option<HashFile>> {
        let (path, bytes) = self.read(rel)?;
        bytes
            .map(|bytes| HashFile::from_json(&bytes, &path))
            .transpose()
    }

    /// Create the directory `rel` (and its parents) if it is missing, making the new
    /// entry durable.
    fn ensure_dir(&self, rel: &str) -> Result<()> {
        let dir = self.confined(rel)?;
        if !dir.is_dir() {
            fsutil::create_dir_all(&dir)?;
            fsutil::sync_parent(&dir)?;
        }
        Ok(())
    }

    /// The bytes of `sources.json`, `None` when there is none. The index is only an
    /// accelerator, so its reader may treat damage ([`StoreError::is_damage`]) as
    /// absence; a symlink leading out of the cache is an error like anywhere else.
    pub fn read_sources(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.read(SOURCES_FILE)?.1)
    }

    /// Replace `sources.json` with what `update` makes of its current bytes (`None`
    /// when absent or damaged), under the cache's lock so that concurrent writers merge
    /// rather than overwrite each other's entries.
    pub fn update_sources(&self, update: impl FnOnce(Option<Vec<u8>>) -> Vec<u8>) -> Result<()> {
        let _lock = self.lock()?;
        let current = match self.read_sources() {
            Ok(bytes) => bytes,
            Err(e) if e.is_damage() => None,
            Err(e) => return Err(e),
        };
        let bytes = update(current);
        fsutil::atomic_write(&self.confined(SOURCES_FILE)?, &bytes)?;
        Ok(())
    }
}

/// Serialize `file` and write it atomically to `path` (its hashes are [`Hex128`]s, so
/// whatever is written reads back).
///
/// [`Hex128`]: crate::hash::Hex128
fn write_hash_file(path: &Path, file: &HashFile) -> Result<()> {
    let bytes = file.to_json().map_err(|e| StoreError::json(path, &e))?;
    fsutil::atomic_write(path, &bytes)?;
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
