//! File-system primitives shared by the render cache store and the dataset cache:
//! atomic writes, cross-process locks, paths confined to a directory, reads bounded
//! in size, and the files named on a command line with directories searched.
//!
//! Every file smartcache writes goes through [`atomic_write`] (or [`AtomicFile`], for
//! one made while it is written): a crash at any instant leaves either the old file or
//! the new one, never a torn one.
//!
//! A cache directory may live on shared storage that other people, other machines and
//! damaged processes write to, so what it holds is untrusted input: a symlink where a
//! directory should be, a path read from an index, a file that never ends. Two
//! mechanisms, used for every path and every read, keep such a directory from being
//! turned against its user:
//! * [`confine`] resolves a relative path under the directory and refuses it when any
//!   part of it is a symlink leading outside the directory (or to nothing, since creating
//!   a file through a dangling symlink creates its target, wherever that is);
//! * [`read_limited`] reads only regular files, and only up to a size given by the
//!   caller, checked before the first byte is read.
//!
//! What they cannot close is a race with someone who swaps a directory for a symlink
//! between the check and the use; the temporary files of [`atomic_write`] are created
//! exclusively (`O_EXCL` does not follow a symlink), and `rename` replaces a symlink
//! rather than writing through it, so a write never lands outside through its last
//! component.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors from the helpers in this module; each names the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// A path read from a file is absolute, holds `..`, or resolves outside `base`.
    #[error("{path}: refusing a path that leaves the cache directory {base}")]
    Escapes {
        /// The path, as read.
        path: String,
        /// The directory it must stay inside.
        base: PathBuf,
    },
    /// `path`, inside `base`, is a symlink whose target is outside `base`.
    #[error("{path}: refusing to follow a symlink that leads outside the cache directory {base}")]
    SymlinkOut {
        /// The symlink.
        path: PathBuf,
        /// The directory it must stay inside.
        base: PathBuf,
    },
    /// `path`, inside `base`, is a symlink to nothing: creating it would create its
    /// target, wherever that is.
    #[error("{path}: refusing to follow a dangling symlink in the cache directory {base}")]
    SymlinkDangling {
        /// The symlink.
        path: PathBuf,
        /// The directory it must stay inside.
        base: PathBuf,
    },
    /// A file to be read is a directory, a device, a FIFO or a socket.
    #[error("{path}: not a regular file")]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// A file to be read is larger than anything its writer produces.
    #[error(
        "{path}: {len} bytes is more than the {limit} this file may have; refusing to read it"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
        /// The most that is read.
        limit: u64,
    },
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
    atomic_write_unsynced(path, bytes)?;
    sync_parent(path)
}

/// [`atomic_write`] without the fsync of the directory: for a writer of many files in
/// one directory, which fsyncs it once at the end with [`sync_parent`]. Until then a
/// crash may lose the new file, never tear it.
pub fn atomic_write_unsynced(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let mut f = AtomicFile::beside(path)?;
    f.write_all(bytes).map_err(io_err(&f.tmp))?;
    f.persist(path)
}

/// A file written piece by piece, then put in place atomically: [`atomic_write`] for
/// content made while it is written (an object of tens of megabytes is never held
/// whole), whose final name may be known only at the end (a content hash).
///
/// The pieces go to a temporary file in the destination's directory, unbuffered (a
/// writer of many small pieces wraps it in a `BufWriter`); [`AtomicFile::persist`]
/// fsyncs it and renames it into place. Dropped without being persisted (an error
/// while writing, a panic), the temporary file is removed.
pub struct AtomicFile {
    file: File,
    tmp: PathBuf,
    persisted: bool,
}

impl AtomicFile {
    /// Start a file that will be put at `path`, or at another path in its directory: a
    /// temporary file beside it, created exclusively ([`temp_path_for`]).
    pub fn beside(path: &Path) -> Result<AtomicFile, FsError> {
        let (file, tmp) = create_temp_for(path)?;
        Ok(AtomicFile {
            file,
            tmp,
            persisted: false,
        })
    }

    /// Write what is left, fsync and rename the file to `path` (in the directory it was
    /// created in). The directory is not fsynced: see [`sync_parent`]. On error the
    /// temporary file is removed (when `self` is dropped).
    pub fn persist(mut self, path: &Path) -> Result<(), FsError> {
        self.file.sync_all().map_err(io_err(&self.tmp))?;
        fs::rename(&self.tmp, path).map_err(io_err(path))?;
        self.persisted = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Create a new temporary file beside `path` ([`temp_path_for`]), exclusively: an
/// existing file or symlink of that name (left by a dead process whose pid was reused)
/// is never opened, the next name is taken instead.
fn create_temp_for(path: &Path) -> Result<(File, PathBuf), FsError> {
    let mut tries = 0;
    loop {
        let tmp = temp_path_for(path);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
            Err(e) => return Err(io_err(&tmp)(e)),
        }
    }
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

/// `path` made absolute with symlinks resolved as far as it exists: the longest existing
/// ancestor canonicalized, the parts below it (which do not exist, so cannot be
/// symlinks) appended.
pub fn canonical_lenient(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        match fs::canonicalize(existing) {
            Ok(mut c) => {
                c.extend(rest.iter().rev());
                return Ok(c);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(e);
                };
                rest.push(name.to_os_string());
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The path of `target` relative to the directory `dir` (`../renders/a.exr`), both
/// taken physically ([`canonical_lenient`]), so that the operating system resolves the
/// `..` of the result from `dir` to where `target` is. `None` when the two share no
/// folder but the root (another mount: an absolute path says more there) or cannot be
/// resolved.
pub fn relative_to(dir: &Path, target: &Path) -> Option<PathBuf> {
    let dir = canonical_lenient(dir).ok()?;
    let target = canonical_lenient(target).ok()?;
    let (d, t): (Vec<Component>, Vec<Component>) =
        (dir.components().collect(), target.components().collect());
    let common = d.iter().zip(&t).take_while(|(a, b)| a == b).count();
    // Only the root (and on Windows the prefix) in common: no folder shared.
    let roots = d
        .iter()
        .take_while(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
        .count();
    if common <= roots {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    rel.extend(&t[common..]);
    Some(rel)
}

/// `path` with `.` and `name/..` pairs removed lexically, for showing to people (not for
/// opening: through a symlink, `..` may lead elsewhere).
pub fn tidy_for_display(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Join `rel` (a path read from an index or hash file) onto `base`, refusing anything
/// that could leave `base`: see [`confine`].
pub fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, FsError> {
    if rel.contains('\0') {
        return Err(FsError::Escapes {
            path: rel.to_string(),
            base: base.to_path_buf(),
        });
    }
    confine(base, rel)
}

/// `base/rel`, after checking that it stays inside `base`: `rel` must be relative and
/// without `..`, and no part of it that exists may be a symlink leading outside `base`
/// (as `base` itself resolves) or to nothing.
///
/// `base` itself is trusted (a cache directory may well be a symlink to shared storage).
/// Each existing prefix of the joined path is looked at with `lstat`, so the cost is one
/// call per component plus one `realpath` per symlink met; the walk stops at the first
/// part that does not exist, since what is created there is created inside.
pub fn confine(base: &Path, rel: impl AsRef<Path>) -> Result<PathBuf, FsError> {
    let rel = rel.as_ref();
    let lexically_inside = !rel.as_os_str().is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !lexically_inside {
        return Err(FsError::Escapes {
            path: rel.to_string_lossy().into_owned(),
            base: base.to_path_buf(),
        });
    }
    let real_base = match fs::canonicalize(base) {
        Ok(real) => real,
        // Nothing exists yet: whatever is created under `base` is inside it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(base.join(rel)),
        Err(e) => return Err(io_err(base)(e)),
    };
    let mut probe = base.to_path_buf();
    for part in rel.components() {
        probe.push(part);
        match fs::symlink_metadata(&probe) {
            Ok(meta) if meta.file_type().is_symlink() => match fs::canonicalize(&probe) {
                Ok(real) if real.starts_with(&real_base) => {}
                Ok(_) => {
                    return Err(FsError::SymlinkOut {
                        path: probe,
                        base: base.to_path_buf(),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(FsError::SymlinkDangling {
                        path: probe,
                        base: base.to_path_buf(),
                    })
                }
                Err(e) => return Err(io_err(probe)(e)),
            },
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(probe)(e)),
        }
    }
    Ok(base.join(rel))
}

/// Read the whole regular file `path` if it holds at most `limit` bytes; `None` if it
/// does not exist.
///
/// The size is checked before anything is read (a 2 GB sparse file costs one `stat`),
/// and the read stops after `limit` bytes whatever happens meanwhile (a file that grows
/// while it is read is refused as too large). A directory, device, FIFO or socket is
/// refused without being opened, so `/dev/zero` or a FIFO with no writer cannot make a
/// reader wait or read forever.
pub fn read_limited(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, FsError> {
    let Some((reader, len)) = open_limited(path, limit)? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    read_all(reader, &mut bytes, path, limit)?;
    Ok(Some(bytes))
}

/// Open the regular file `path` to read at most `limit` bytes, with the size it had
/// when opened; `None` if it does not exist. The checks of [`read_limited`], for callers
/// that stream the content (hashing a rendered frame) instead of holding it.
///
/// Read it with [`read_all`] (or check that no more than `limit` bytes came): the
/// returned reader stops one byte after `limit`, so that growth is seen.
pub fn open_limited(path: &Path, limit: u64) -> Result<Option<(io::Take<File>, u64)>, FsError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    check_readable(path, &meta, limit)?;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    // The path may have been replaced between the two calls: judge what was opened.
    let meta = file.metadata().map_err(io_err(path))?;
    check_readable(path, &meta, limit)?;
    Ok(Some((file.take(limit.saturating_add(1)), meta.len())))
}

/// Read what a reader from [`open_limited`] gives into `out` (appending), refusing the
/// file as too large when it yields more than `limit` bytes (it grew while read).
pub fn read_all(
    mut reader: impl Read,
    out: &mut impl Write,
    path: &Path,
    limit: u64,
) -> Result<u64, FsError> {
    let n = io::copy(&mut reader, out).map_err(io_err(path))?;
    if n > limit {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            len: n,
            limit,
        });
    }
    Ok(n)
}

/// Refuse what [`read_limited`] must not read: anything but a regular file, or a file
/// larger than `limit`.
fn check_readable(path: &Path, meta: &fs::Metadata, limit: u64) -> Result<(), FsError> {
    if !meta.is_file() {
        return Err(FsError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > limit {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            len: meta.len(),
            limit,
        });
    }
    Ok(())
}

/// Every file named: files as given (whatever their extension), directories searched
/// (iteratively) for files whose extension is one of `extensions`, skipping hidden
/// entries (`.smartcache`, `.git`); sorted per directory, each file once (a file named
/// and also found below a directory is listed once). An unreadable directory is an
/// error naming it.
pub fn find_files(paths: &[PathBuf], extensions: &[&str]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut todo = vec![p.clone()];
        while let Some(dir) = todo.pop() {
            let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
            for e in std::fs::read_dir(&dir).map_err(named)? {
                let e = e.map_err(named)?;
                let path = e.path();
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                let ty = e.file_type().map_err(named)?;
                if ty.is_dir() || (ty.is_symlink() && path.is_dir()) {
                    if !hidden {
                        todo.push(path);
                    }
                } else if !hidden
                    && path
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| extensions.contains(&x))
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        // `.` names its files `comp.nk`, not `./comp.nk`.
        if p.as_os_str() == "." {
            for f in &mut found {
                if let Ok(rel) = f.strip_prefix(".") {
                    *f = rel.to_path_buf();
                }
            }
        }
        files.extend(found);
    }
    // A file named twice (as a file and below a directory) is listed once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_a_cache_and_a_render() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("shot/renders")).unwrap();
        fs::write(root.join("shot/renders/a.exr"), b"x").unwrap();
        // The cache does not exist yet: its parts below the shot are taken as given.
        let rel = relative_to(
            &root.join("shot/.smartcache/comp/Write1"),
            &root.join("shot/renders/a.exr"),
        );
        assert_eq!(rel.unwrap(), Path::new("../../../renders/a.exr"));
        assert_eq!(relative_to(Path::new("/"), Path::new("/tmp")), None);
        assert_eq!(
            tidy_for_display(Path::new("cache/x/../../renders/./a.exr")),
            Path::new("renders/a.exr")
        );
        assert_eq!(tidy_for_display(Path::new("../a/..")), Path::new(".."));
    }

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

    #[cfg(unix)]
    #[test]
    fn confine_refuses_symlinks_leading_outside_or_nowhere_and_allows_the_rest() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("cache");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(base.join("real")).unwrap();
        fs::create_dir(&outside).unwrap();
        symlink(&outside, base.join("out")).unwrap();
        symlink(outside.join("nothing"), base.join("dangling")).unwrap();
        symlink("real", base.join("inside")).unwrap();
        symlink(&base, tmp.path().join("link-to-cache")).unwrap();

        assert_eq!(confine(&base, "real/x").unwrap(), base.join("real/x"));
        assert_eq!(confine(&base, "inside/x").unwrap(), base.join("inside/x"));
        assert_eq!(
            confine(&base, "new/deeper").unwrap(),
            base.join("new/deeper")
        );
        // The base itself may be a symlink.
        let linked = tmp.path().join("link-to-cache");
        assert!(confine(&linked, "real/x").is_ok());
        assert!(matches!(
            confine(&linked, "out/x"),
            Err(FsError::SymlinkOut { .. })
        ));

        let err = confine(&base, "out/x").unwrap_err();
        assert!(matches!(&err, FsError::SymlinkOut { path, .. } if *path == base.join("out")));
        let err = confine(&base, "dangling").unwrap_err();
        assert!(
            matches!(&err, FsError::SymlinkDangling { path, .. } if *path == base.join("dangling"))
        );
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(
                matches!(confine(&base, bad), Err(FsError::Escapes { .. })),
                "{bad}"
            );
        }
        // A base that does not exist yet has nothing to follow.
        assert!(confine(&tmp.path().join("none"), "a/b").is_ok());
    }

    #[test]
    fn read_limited_refuses_large_and_irregular_files_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert_eq!(read_limited(&p, 4).unwrap(), None);
        fs::write(&p, b"four").unwrap();
        assert_eq!(read_limited(&p, 4).unwrap().unwrap(), b"four");
        let err = read_limited(&p, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: 4 bytes is more than the 3 this file may have; refusing to read it",
                p.display()
            )
        );
        // Sparse and huge: refused by its size, nothing is read.
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        assert!(
            matches!(read_limited(&p, 1 << 20), Err(FsError::TooLarge { len, .. }) if len == 1 << 40)
        );
        assert!(matches!(
            read_limited(dir.path(), 1 << 20),
            Err(FsError::NotRegular { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_limited(Path::new("/dev/zero"), 1 << 20),
            Err(FsError::NotRegular { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_never_writes_through_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let target = dir.path().join("a.json");
        // Plant a symlink at the final name: the rename replaces the link itself.
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        atomic_write(&target, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    /// A file written piece by piece appears whole under its name or not at all: left
    /// unpersisted (an error while it was made), nothing of it stays in the directory.
    #[test]
    fn an_atomic_file_is_in_place_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let names = || -> Vec<String> {
            let mut n: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            n.sort();
            n
        };
        let mut f = AtomicFile::beside(&dir.path().join("object")).unwrap();
        f.write_all(b"half of ").unwrap();
        assert_eq!(names().len(), 1, "only the temporary file");
        assert!(is_temp(&names()[0]), "{:?}", names());
        drop(f);
        assert!(names().is_empty(), "{:?}", names());

        let mut f = AtomicFile::beside(&dir.path().join("object")).unwrap();
        for piece in [&b"piece "[..], b"by ", b"piece"] {
            f.write_all(piece).unwrap();
        }
        f.persist(&dir.path().join("done.json")).unwrap();
        assert_eq!(names(), ["done.json"]);
        assert_eq!(
            fs::read(dir.path().join("done.json")).unwrap(),
            b"piece by piece"
        );
    }

    fn is_temp(name: &str) -> bool {
        name.starts_with(".object.") && name.ends_with(".tmp")
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
