//! Snapshots: one timestamped hash file per validity check.

use super::error::{io_err, Result, StoreError};
use super::{write_hash_file, CacheDir, HashFile, SnapshotId, HASH_FILE};
use crate::fsutil;
use chrono::{DateTime, Utc};
use std::fs;
use std::io;
use std::path::Path;

/// Most names [`CacheDir::write_snapshot_at`] tries before giving up; each taken name
/// is an entry in the cache directory, so only a directory crowded on purpose gets near.
const MAX_NAME_TRIES: u32 = 100_000;

impl CacheDir {
    /// Store `file` as a new snapshot named after the current UTC time.
    pub fn write_snapshot(&self, file: &HashFile) -> Result<SnapshotId> {
        self.write_snapshot_at(file, Utc::now())
    }

    /// Store `file` as a new snapshot named after `now` (a parameter so that tests and
    /// tools can fix the clock).
    ///
    /// Ids never collide and sort after every existing snapshot where an id can: under
    /// the lock, an id not newer than the latest one (same millisecond, or a clock that
    /// stepped back) becomes the latest's successor (`-1`, `-2`, …, then the next
    /// millisecond); only after the last representable id
    /// (`99991231T235959.999Z-4294967295`) does a check take the id of its own time.
    /// `create_dir`, which is atomic and never follows a symlink, moves on to the next
    /// id when the name is taken anyway (an incomplete snapshot left by a crash, a file,
    /// a symlink): no directory, however named, can block checks.
    pub fn write_snapshot_at(&self, file: &HashFile, now: DateTime<Utc>) -> Result<SnapshotId> {
        let _lock = self.lock()?;
        let now_id = SnapshotId::from_time(now);
        let mut id = match self.snapshots()?.pop() {
            Some(latest) if now_id <= latest => latest.successor().unwrap_or(now_id.clone()),
            _ => now_id.clone(),
        };
        let mut tries = 0;
        let dir = loop {
            // One component under the cache directory, created by `mkdir`, which fails
            // on an existing symlink instead of following it.
            let dir = self.path().join(id.to_string());
            match fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < MAX_NAME_TRIES => {
                    tries += 1;
                    id = id.successor().unwrap_or(now_id.clone());
                }
                Err(e) => return Err(io_err(&dir)(e)),
            }
        };
        let written = fsutil::sync_parent(&dir)
            .map_err(StoreError::from)
            .and_then(|()| write_hash_file(&dir.join(HASH_FILE), file));
        if let Err(e) = written {
            // Leave no empty snapshot behind; the directory is ours and holds at most a
            // temp file that atomic_write already removed.
            let _ = fs::remove_dir(&dir);
            return Err(e);
        }
        Ok(id)
    }

    /// The ids of all complete snapshots, oldest first.
    ///
    /// Only directories (not symlinks) whose name is a snapshot id and which hold a
    /// `hash.json` count: `master`, `manifests`, temp files and anything foreign are
    /// ignored. A cache directory that does not exist has no snapshots.
    pub fn snapshots(&self) -> Result<Vec<SnapshotId>> {
        let mut ids: Vec<SnapshotId> = self
            .snapshot_dirs()?
            .into_iter()
            .filter_map(|(id, complete)| complete.then_some(id))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every directory named like a snapshot, unsorted, and whether it holds a
    /// `hash.json` (one without is the leftover of a writer that died between creating
    /// the directory and writing the file).
    pub(super) fn snapshot_dirs(&self) -> Result<Vec<(SnapshotId, bool)>> {
        let entries = match fs::read_dir(self.path()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(self.path())(e)),
        };
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(self.path()))?;
            let Some(id) = entry.file_name().to_str().and_then(SnapshotId::parse) else {
                continue;
            };
            if !entry.file_type().map_err(io_err(entry.path()))?.is_dir() {
                continue;
            }
            let complete =
                fs::symlink_metadata(entry.path().join(HASH_FILE)).is_ok_and(|m| m.is_file());
            dirs.push((id, complete));
        }
        Ok(dirs)
    }

    /// Read one snapshot; [`StoreError::NotFound`] if it does not exist.
    pub fn snapshot(&self, id: &SnapshotId) -> Result<HashFile> {
        let rel = Path::new(&id.to_string()).join(HASH_FILE);
        self.read_hash_file(&rel)?.ok_or(StoreError::NotFound {
            path: self.snapshot_path(id),
        })
    }

    /// The newest snapshot and its id, `None` if there is none.
    pub fn latest_snapshot(&self) -> Result<Option<(SnapshotId, HashFile)>> {
        match self.snapshots()?.pop() {
            Some(id) => {
                let file = self.snapshot(&id)?;
                Ok(Some((id, file)))
            }
            None => Ok(None),
        }
    }
}
