//! The master hash file: what was recorded when frames were cached, and its backup.
//!
//! Every record keeps the master it replaces as `master/hash.json.bak`. A master that
//! is damaged (unparseable, not a smartcache hash file, implausibly large, not a regular
//! file) is therefore recovered from the backup rather than reported as a fatal error:
//! readers use the backup and say so ([`CacheDir::load_master`]), and the next record
//! puts the backup back in place, keeping the damaged file aside
//! ([`CacheDir::record_master`]). Nothing is silently reset and nothing is deleted. A
//! master without a usable backup stays an error naming it.

use super::error::{io_err, Result, StoreError};
use super::{write_hash_file, CacheDir, FrameEntry, HashFile, HashMeta};
use super::{BACKUP_FILE, HASH_FILE, MASTER_DIR};
use crate::fsutil;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Name a replaced master is kept under (with `-2`, `-3`… when taken) by
/// [`CacheDir::restore_master_from_backup`] and by a record that recovers from a
/// damaged master.
pub const REPLACED_FILE: &str = "hash.json.before-restore";

/// The master as loaded: the recorded frames, and whether they come from the backup
/// because `master/hash.json` was damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    /// The master (or the backup standing in for it).
    pub file: HashFile,
    /// Set when the file is the backup standing in for a damaged master: the caller
    /// shows it as a warning.
    pub recovery: Option<Recovery>,
}

/// A damaged master replaced by its backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// What is wrong with the master (the error, naming the file).
    pub damage: String,
    /// The backup used instead.
    pub backup: PathBuf,
    /// Where a record moved the damaged master before restoring the backup; `None`
    /// when the backup was only read (the damaged master is still in place).
    pub kept_as: Option<PathBuf>,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backup = self.backup.display();
        match &self.kept_as {
            None => write!(
                f,
                "{}; using {backup}, the master before the last record",
                self.damage
            ),
            Some(kept) => write!(
                f,
                "{}; restored the master from {backup} and kept the damaged file as {}",
                self.damage,
                kept.display()
            ),
        }
    }
}

/// `master/<name>`, relative to the cache directory.
fn in_master(name: &str) -> PathBuf {
    Path::new(MASTER_DIR).join(name)
}

impl CacheDir {
    /// The master hash file exactly as stored, `None` if nothing was recorded yet.
    ///
    /// A master that cannot be read or parsed is an error naming it: it is never treated
    /// as empty, which would make every frame look uncached (or be overwritten).
    /// Workflows use [`CacheDir::load_master`], which recovers from the backup.
    pub fn master(&self) -> Result<Option<HashFile>> {
        self.read_hash_file(in_master(HASH_FILE))
    }

    /// The previous master (`master/hash.json.bak`), if there is one.
    pub fn master_backup(&self) -> Result<Option<HashFile>> {
        self.read_hash_file(in_master(BACKUP_FILE))
    }

    /// The master, recovered from its backup when it is damaged
    /// ([`StoreError::is_damage`]); `None` if nothing was recorded yet.
    ///
    /// Reading changes nothing on disk: the damaged master stays in place until the next
    /// [`CacheDir::record_master`]. Errors when the master is damaged and the backup is
    /// missing or unusable too (with the master's error), and on any error that is not
    /// damage (I/O, a symlink leading outside, a newer version).
    pub fn load_master(&self) -> Result<Option<Master>> {
        match self.master() {
            Ok(file) => Ok(file.map(|file| Master {
                file,
                recovery: None,
            })),
            Err(damage) if damage.is_damage() => {
                let backup = self.backup_for(damage)?;
                Ok(Some(backup))
            }
            Err(e) => Err(e),
        }
    }

    /// The backup standing in for a master damaged by `damage`, or `damage` itself when
    /// there is no usable backup.
    fn backup_for(&self, damage: StoreError) -> Result<Master> {
        match self.master_backup() {
            Ok(Some(file)) => Ok(Master {
                file,
                recovery: Some(Recovery {
                    damage: damage.to_string(),
                    backup: self.master_backup_path(),
                    kept_as: None,
                }),
            }),
            _ => Err(damage),
        }
    }

    /// Record frames into the master: the given frames are added to, or replace, those
    /// already recorded; the meta becomes `meta` and `created` becomes now.
    ///
    /// Runs under the cache's `.lock`, so several processes recording disjoint frame
    /// ranges at once all keep their frames. The previous master is kept as
    /// `master/hash.json.bak`, then the new one is written atomically; a crash at any
    /// point leaves a readable master.
    ///
    /// A damaged master with a usable backup is recovered: the frames are added to the
    /// backup's, the damaged file is moved aside to `master/hash.json.before-restore`
    /// (see [`REPLACED_FILE`]) and the backup is left as it is; the returned
    /// [`Master::recovery`] says so. Without a usable backup it is an error naming the
    /// master, and nothing is touched.
    ///
    /// Returns the master as written.
    pub fn record_master(
        &self,
        meta: HashMeta,
        frames: BTreeMap<i64, FrameEntry>,
    ) -> Result<Master> {
        let _lock = self.lock()?;
        let path = self.confined(in_master(HASH_FILE))?;
        let old = self
            .read(in_master(HASH_FILE))
            .and_then(|(_, bytes)| match bytes {
                None => Ok(None),
                Some(bytes) => HashFile::from_json(&bytes, &path).map(|f| Some((f, bytes))),
            });
        let (mut merged, backup_bytes, mut recovery) = match old {
            Ok(None) => (BTreeMap::new(), None, None),
            Ok(Some((old, bytes))) => (old.frames, Some(bytes), None),
            Err(damage) if damage.is_damage() => {
                let backup = self.backup_for(damage)?;
                (backup.file.frames, None, backup.recovery)
            }
            Err(e) => return Err(e),
        };
        merged.extend(frames);
        let file = HashFile::new(meta, merged);

        self.ensure_dir(MASTER_DIR)?;
        if let Some(recovery) = recovery.as_mut() {
            recovery.kept_as = Some(self.set_aside_master()?);
        }
        if let Some(old) = backup_bytes {
            fsutil::atomic_write(&self.confined(in_master(BACKUP_FILE))?, &old)?;
        }
        write_hash_file(&path, &file)?;
        Ok(Master { file, recovery })
    }

    /// Replace the master with its backup, e.g. after [`CacheDir::master`] reported the
    /// master corrupt. The replaced master, readable or not, is kept as
    /// `master/hash.json.before-restore` (see [`REPLACED_FILE`]) so that nothing is
    /// lost.
    ///
    /// Errors with [`StoreError::NotFound`] when there is no backup, and with the parse
    /// error when the backup itself is unreadable (then nothing is changed).
    pub fn restore_master_from_backup(&self) -> Result<HashFile> {
        let _lock = self.lock()?;
        let (backup_path, backup_bytes) = self.read(in_master(BACKUP_FILE))?;
        let backup_bytes = backup_bytes.ok_or_else(|| StoreError::NotFound {
            path: backup_path.clone(),
        })?;
        let backup = HashFile::from_json(&backup_bytes, &backup_path)?;
        self.set_aside_master()?;
        fsutil::atomic_write(&self.confined(in_master(HASH_FILE))?, &backup_bytes)?;
        Ok(backup)
    }

    /// Move `master/hash.json` (if there is one) to the first free name of
    /// `hash.json.before-restore`, `hash.json.before-restore-2`, …, and return that
    /// name. Called under the lock, so no other writer takes the name meanwhile.
    fn set_aside_master(&self) -> Result<PathBuf> {
        let path = self.confined(in_master(HASH_FILE))?;
        let mut n = 1;
        let aside = loop {
            let name = match n {
                1 => REPLACED_FILE.to_string(),
                n => format!("{REPLACED_FILE}-{n}"),
            };
            let aside = self.confined(in_master(&name))?;
            match fs::symlink_metadata(&aside) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => break aside,
                Err(e) => return Err(io_err(&aside)(e)),
                Ok(_) => n += 1,
            }
        };
        match fs::symlink_metadata(&path) {
            Ok(_) => fsutil::atomic_rename(&path, &aside)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        Ok(aside)
    }
}
