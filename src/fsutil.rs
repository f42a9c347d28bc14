//! File-system primitives shared by the render cache store and the dataset cache:
//! atomic writes, cross-process locks, and path joining that cannot escape a directory.
//!
//! Every file smartcache writes goes through [`atomic_write`]: a crash at any instant
//! leaves either the old file or the new one, never a torn one.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors from the helpers in this module; each names the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: refusing a path that leaves the cache directory {base}")]
    Escapes { path: String, base: PathBuf },
}

/// Attach the path to an I/O error.
pub fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> FsError {
    let path = path.into();
    move |source| FsError::Io { path, source }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path in the same directory as `path` (so that a rename is atomic), unique
/// per process and call. It starts with `.` and ends with `.tmp` so that scans can skip it.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{}.{}.tmp", std::process::id(), n));
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically: write a temporary file in the same directory,
/// fsync it, rename it over `path`, then fsync the directory so the rename is durable.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Move an already written and synced file into place atomically and make it durable.
pub fn atomic_rename(from: &Path, to: &Path) -> Result<(), FsError> {
    fs::rename(from, to).map_err(io_err(to))?;
    sync_parent(to)
}

/// fsync the directory holding `path`, so that a rename or create in it survives a crash.
pub fn sync_parent(path: &Path) -> Result<(), FsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Directories can be opened read-only and fsynced on Unix; elsewhere this is a no-op.
    #[cfg(unix)]
    {
        let d = File::open(dir).map_err(io_err(dir))?;
        d.sync_all().map_err(io_err(dir))?;
    }
    let _ = dir;
    Ok(())
}

/// Create `dir` and its parents.
pub fn create_dir_all(dir: &Path) -> Result<(), FsError> {
    fs::create_dir_all(dir).map_err(io_err(dir))
}

/// An exclusive cross-process lock held on a lock file for as long as the value lives.
///
/// Uses the OS advisory lock (`flock` on Unix) through [`File::lock`], so a process that
/// dies releases its lock: there is no stale lock file to clean up.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

impl LockGuard {
    /// Block until the exclusive lock on `path` is ours (the file is created if needed).
    pub fn acquire(path: &Path) -> Result<Self, FsError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                create_dir_all(parent)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        file.lock().map_err(io_err(path))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Join `rel` (a path read from an index or hash file) onto `base`, refusing anything
/// that could leave `base`: absolute paths, `..`, prefixes, and (for existing paths)
/// symlinks that resolve outside it.
pub fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, FsError> {
    let escapes = || FsError::Escapes {
        path: rel.to_string(),
        base: base.to_path_buf(),
    };
    let rel_path = Path::new(rel);
    if rel.is_empty() || rel.contains('\0') {
        return Err(escapes());
    }
    for c in rel_path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            _ => return Err(escapes()),
        }
    }
    let joined = base.join(rel_path);
    // Resolve symlinks on whatever part of the path exists, and check the result is still
    // inside the resolved base.
    if let Ok(real_base) = fs::canonicalize(base) {
        let mut probe = joined.clone();
        loop {
            if let Ok(real) = fs::canonicalize(&probe) {
                if !real.starts_with(&real_base) {
                    return Err(escapes());
                }
                break;
            }
            if !probe.pop() {
                break;
            }
        }
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn safe_join_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(safe_join(dir.path(), "objects/ab/cd").is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(safe_join(dir.path(), bad).is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/tmp", dir.path().join("link")).unwrap();
            assert!(safe_join(dir.path(), "link/x").is_err());
        }
    }

    #[test]
    fn lock_is_exclusive_across_handles() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".lock");
        let g = LockGuard::acquire(&p).unwrap();
        let other = OpenOptions::new().write(true).open(&p).unwrap();
        assert!(other.try_lock().is_err());
        drop(g);
        assert!(other.try_lock().is_ok());
    }
}
