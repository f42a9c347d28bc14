//! The master hash file: what was recorded when frames were cached.

use super::error::{io_err, Result, StoreError};
use super::{ensure_dir, read_hash_file, read_optional, write_hash_file, CacheDir};
use super::{FrameEntry, HashFile, HashMeta, MASTER_DIR};
use crate::fsutil;
use std::collections::BTreeMap;
use std::fs;

/// Name the master replaced by [`CacheDir::restore_master_from_backup`] is kept under.
pub const REPLACED_FILE: &str = "hash.json.before-restore";

impl CacheDir {
    /// The master hash file, `None` if nothing was recorded yet.
    ///
    /// A master that cannot be read or parsed is an error naming it: it is never treated
    /// as empty, which would make every frame look uncached (or be overwritten).
    pub fn master(&self) -> Result<Option<HashFile>> {
        read_hash_file(&self.master_path())
    }

    /// The previous master (`master/hash.json.bak`), if there is one.
    pub fn master_backup(&self) -> Result<Option<HashFile>> {
        read_hash_file(&self.master_backup_path())
    }

    /// Record frames into the master: the given frames are added to, or replace, those
    /// already recorded; the meta becomes `meta` and `created` becomes now.
    ///
    /// Runs under the cache's `.lock`, so several processes recording disjoint frame
    /// ranges at once all keep their frames. The previous master is kept as
    /// `master/hash.json.bak`, then the new one is written atomically; a crash at any
    /// point leaves a readable master. An unreadable or corrupt current master is an
    /// error naming it, and it is left untouched (see
    /// [`CacheDir::restore_master_from_backup`]).
    ///
    /// Returns the master as written.
    pub fn record_master(
        &self,
        meta: HashMeta,
        frames: BTreeMap<i64, FrameEntry>,
    ) -> Result<HashFile> {
        let _lock = self.lock()?;
        let path = self.master_path();
        let old_bytes = read_optional(&path)?;
        let mut merged = match &old_bytes {
            Some(bytes) => HashFile::from_json(bytes, &path)?.frames,
            None => BTreeMap::new(),
        };
        merged.extend(frames);
        let file = HashFile::new(meta, merged);
        // Check before anything is touched, so bad input leaves the disk as it was.
        file.validate(&path)?;

        ensure_dir(&self.path().join(MASTER_DIR))?;
        if let Some(old) = old_bytes {
            fsutil::atomic_write(&self.master_backup_path(), &old)?;
        }
        write_hash_file(&path, &file)?;
        Ok(file)
    }

    /// Replace the master with its backup, e.g. after [`CacheDir::master`] reported the
    /// master corrupt. The replaced master, readable or not, is kept as
    /// `master/hash.json.before-restore` so that nothing is lost.
    ///
    /// Errors with [`StoreError::NotFound`] when there is no backup, and with the parse
    /// error when the backup itself is unreadable (then nothing is changed).
    pub fn restore_master_from_backup(&self) -> Result<HashFile> {
        let _lock = self.lock()?;
        let backup_path = self.master_backup_path();
        let backup_bytes = read_optional(&backup_path)?.ok_or_else(|| StoreError::NotFound {
            path: backup_path.clone(),
        })?;
        let backup = HashFile::from_json(&backup_bytes, &backup_path)?;

        let path = self.master_path();
        let replaced = self.path().join(MASTER_DIR).join(REPLACED_FILE);
        match fs::metadata(&path) {
            Ok(_) => fsutil::atomic_rename(&path, &replaced)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        fsutil::atomic_write(&path, &backup_bytes)?;
        Ok(backup)
    }
}
