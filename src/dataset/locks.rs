//! The build lock: builds share it for their whole run, gc takes it exclusively, so gc
//! never deletes an artifact a running build is about to record (or a claim it holds).
//! Readers take no lock at all.

use super::error::{io_at, DatasetError};
use std::fs::{self, File, OpenOptions};
use std::path::Path;

/// A held build lock (released on drop, or when the process dies).
pub(crate) struct BuildLock(File);

impl BuildLock {
    /// Shared with other builds; waits while gc runs.
    pub fn shared(path: &Path) -> Result<BuildLock, DatasetError> {
        let f = lock_file(path)?;
        f.lock_shared().map_err(io_at(path))?;
        Ok(BuildLock(f))
    }

    /// Exclusive, without waiting: `Busy` while any build runs.
    pub fn try_exclusive(path: &Path) -> Result<BuildLock, DatasetError> {
        let f = lock_file(path)?;
        match f.try_lock() {
            Ok(()) => Ok(BuildLock(f)),
            Err(fs::TryLockError::WouldBlock) => Err(DatasetError::Busy),
            Err(fs::TryLockError::Error(e)) => Err(io_at(path)(e)),
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn lock_file(path: &Path) -> Result<File, DatasetError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_at(path))
}
