//! Listing one directory: each entry's name, whether it is a file or a directory, and
//! (when asked) the file's fingerprint.
//!
//! This is the innermost loop of `status` on an unchanged tree: 100,000 files cost
//! 100,000 directory entries and 100,000 `stat`s, and nothing else should cost per file.
//! On Linux the directory is read with `getdents64` into one reusable buffer and each
//! file is stat'ed with `fstatat` relative to the open directory (one path component to
//! resolve, not the whole path). The standard library's `read_dir` allocates a name per
//! entry and stats with `statx`; on 100,000 files that is a quarter more time. Elsewhere
//! the standard library is used.
//!
//! A file that vanishes between the listing and its `stat` is skipped, as if the listing
//! had been taken a moment later. In a walk of sources, symlinks are followed to regular
//! files (a dataset is often a farm of links) but never to directories (no cycles, no
//! escaping the tree), and what cannot be a source (a broken link, a FIFO, a socket, a
//! device) is reported as unusable rather than skipped: a link into an unmounted drive
//! must not read as a removed file.

use super::fingerprint::{Fingerprint, Stat};
use std::io;
use std::path::Path;

/// What a directory entry is, as far as the walk cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file, or a symlink to one; with its fingerprint when asked for.
    File(Option<Stat>),
    /// A real directory (not a symlink to one).
    Dir,
    /// In a walk of sources, an entry that cannot be a source, and why.
    Unusable(String),
}

/// Call `each(name, kind)` for every file and directory in `dir` (not `.` and `..`;
/// other kinds of entry are left out), in the order the filesystem returns them.
/// Returns whether a fingerprinted file is *linked*: a symlink, or a file with other
/// hard links, whose fingerprint can move through a path outside `dir` (a file-system
/// watcher of `dir` would not hear of it; see `watch`).
///
/// `stat`: fingerprint each file, recording with it this wall-clock time (read before
/// the listing started, for the racy rule). `sources`: a walk of source files, which
/// counts symlinks to regular files as files and reports broken links and special
/// files as [`Kind::Unusable`] (else symlinks and special files are left out).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn list(
    dir: &Path,
    stat: Option<i64>,
    sources: bool,
    each: &mut dyn FnMut(&[u8], Kind),
) -> io::Result<bool> {
    use rustix::fs::{openat, Mode, OFlags, RawDir, CWD};
    use std::mem::MaybeUninit;

    let fd = openat(
        CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 << 10];
    let mut entries = RawDir::new(&fd, &mut buf);
    let mut linked = false;
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        if let Some(kind) = classify(&fd, name, entry.file_type(), stat, sources, &mut linked)? {
            each(bytes, kind);
        }
    }
    Ok(linked)
}

/// What the entry `name` of the open directory `fd`, listed with type `listed`, is for
/// the walk; `None` to leave it out. Sets `linked` for a followed symlink or a file with
/// other hard links.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn classify(
    fd: &rustix::fd::OwnedFd,
    name: &std::ffi::CStr,
    listed: rustix::fs::FileType,
    stat: Option<i64>,
    sources: bool,
    linked: &mut bool,
) -> io::Result<Option<Kind>> {
    use rustix::fs::{statat, AtFlags, FileType};
    let file = |st: &rustix::fs::Stat| {
        Kind::File(stat.map(|at| Stat {
            fp: Fingerprint {
                size: to_u64(st.st_size),
                mtime_ns: join_ns(st.st_mtime, st.st_mtime_nsec),
                ctime_ns: join_ns(st.st_ctime, st.st_ctime_nsec),
                inode: to_u64(st.st_ino),
            },
            at,
        }))
    };
    let kind_of = |st: &rustix::fs::Stat| FileType::from_raw_mode(st.st_mode);
    let special = |t: FileType| -> Option<Kind> {
        let what = match t {
            FileType::Fifo => "a FIFO",
            FileType::Socket => "a socket",
            FileType::CharacterDevice => "a character device",
            FileType::BlockDevice => "a block device",
            _ => "not a regular file",
        };
        sources.then(|| Kind::Unusable(format!("{what}, not a regular file")))
    };
    match listed {
        FileType::Directory => return Ok(Some(Kind::Dir)),
        FileType::RegularFile if stat.is_none() => return Ok(Some(Kind::File(None))),
        FileType::Symlink if !sources => return Ok(None),
        FileType::RegularFile | FileType::Symlink | FileType::Unknown => {}
        other => return Ok(special(other)),
    }
    // Look at the entry itself: the listing's type may be unknown or out of date.
    let st = match statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(match kind_of(&st) {
        FileType::RegularFile => {
            *linked |= st.st_nlink > 1;
            Some(file(&st))
        }
        FileType::Directory => Some(Kind::Dir),
        // Followed to a regular file only; a link to a directory is not followed (no
        // cycles); a broken one, or one to something else, is reported.
        FileType::Symlink if !sources => None,
        FileType::Symlink => {
            *linked = true;
            match statat(fd, name, AtFlags::empty()) {
                Ok(target) if kind_of(&target) == FileType::RegularFile => Some(file(&target)),
                Ok(target) if kind_of(&target) == FileType::Directory => None,
                Ok(target) => special(kind_of(&target))
                    .map(|_| Kind::Unusable("a symbolic link to a special file".into())),
                Err(rustix::io::Errno::NOENT) => Some(Kind::Unusable(
                    "a broken symbolic link (its target does not exist)".into(),
                )),
                Err(e) => Some(Kind::Unusable(format!(
                    "a symbolic link that cannot be followed: {}",
                    io::Error::from(e)
                ))),
            }
        }
        other => special(other),
    })
}

/// [`list`] through the standard library, for platforms without `getdents64`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn list(
    dir: &Path,
    stat: Option<i64>,
    sources: bool,
    each: &mut dyn FnMut(&[u8], Kind),
) -> io::Result<bool> {
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let ft = item.file_type()?;
        let meta = if ft.is_dir() {
            each(item.file_name().as_encoded_bytes(), Kind::Dir);
            continue;
        } else if ft.is_file() {
            if stat.is_none() {
                each(item.file_name().as_encoded_bytes(), Kind::File(None));
                continue;
            }
            match item.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        } else if ft.is_symlink() && sources {
            match std::fs::metadata(item.path()) {
                Ok(m) if m.is_file() => m,
                Ok(m) if m.is_dir() => continue,
                Ok(_) => {
                    each(
                        item.file_name().as_encoded_bytes(),
                        Kind::Unusable("a symbolic link to a special file".into()),
                    );
                    continue;
                }
                Err(_) => {
                    each(
                        item.file_name().as_encoded_bytes(),
                        Kind::Unusable("a broken symbolic link (its target does not exist)".into()),
                    );
                    continue;
                }
            }
        } else {
            if sources && !ft.is_symlink() {
                each(
                    item.file_name().as_encoded_bytes(),
                    Kind::Unusable("not a regular file".into()),
                );
            }
            continue;
        };
        let st = stat.map(|at| Stat {
            fp: Fingerprint::from_metadata(&meta),
            at,
        });
        each(item.file_name().as_encoded_bytes(), Kind::File(st));
    }
    // Link counts are not portable; no watcher runs here anyway.
    Ok(true)
}

/// Seconds and nanoseconds (whatever integer types the platform's `struct stat` uses)
/// as nanoseconds since the epoch, as [`Fingerprint::from_metadata`] computes them.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn join_ns<S: TryInto<i64>, N: TryInto<i64>>(secs: S, nsec: N) -> i64 {
    let secs = secs.try_into().unwrap_or(i64::MAX);
    let nsec = nsec.try_into().unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn to_u64<T: TryInto<u64>>(n: T) -> u64 {
    n.try_into().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn listed(dir: &Path, stat: bool, sources: bool) -> Vec<(String, Kind)> {
        let mut out = Vec::new();
        list(dir, stat.then_some(7), sources, &mut |name, kind| {
            out.push((String::from_utf8(name.to_vec()).unwrap(), kind))
        })
        .unwrap();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn lists_files_and_dirs_with_the_same_fingerprint_as_std() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.txt"), "hello").unwrap();
        let got = listed(dir.path(), true, true);
        let fp = Fingerprint::of(&dir.path().join("a.txt")).unwrap();
        assert_eq!(
            got,
            vec![
                ("a.txt".to_string(), Kind::File(Some(Stat { fp, at: 7 }))),
                ("sub".to_string(), Kind::Dir),
            ]
        );
        assert_eq!(
            listed(dir.path(), false, true),
            vec![
                ("a.txt".to_string(), Kind::File(None)),
                ("sub".to_string(), Kind::Dir),
            ]
        );
        assert!(list(&dir.path().join("missing"), Some(0), true, &mut |_, _| {}).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn follows_links_to_files_but_not_to_directories() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "x").unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link.txt")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("d"), dir.path().join("dlink")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling")).unwrap();
        let got = listed(dir.path(), true, true);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["d", "dangling", "link.txt", "real.txt"]);
        assert_eq!(
            got[1].1,
            Kind::Unusable("a broken symbolic link (its target does not exist)".into())
        );
        let fp = Fingerprint::of(&real).unwrap();
        assert_eq!(got[2].1, Kind::File(Some(Stat { fp, at: 7 })));
        for stat in [true, false] {
            let got = listed(dir.path(), stat, false);
            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["d", "real.txt"], "links left out");
        }
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_unusable_sources() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let got = listed(dir.path(), true, true);
        assert_eq!(
            got,
            vec![(
                "pipe".to_string(),
                Kind::Unusable("a FIFO, not a regular file".into())
            )]
        );
        assert!(
            listed(dir.path(), false, false).is_empty(),
            "left out of other listings"
        );
    }
}
