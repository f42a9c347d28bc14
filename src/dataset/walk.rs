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
//! had been taken a moment later. Symlinks are followed to regular files (a dataset is
//! often a farm of links) but never to directories (no cycles, no escaping the tree).

use super::fingerprint::Fingerprint;
use super::sources::Stat;
use std::io;
use std::path::Path;

/// What a directory entry is, as far as the walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file, or a symlink to one; with its fingerprint when asked for.
    File(Option<Stat>),
    /// A real directory (not a symlink to one).
    Dir,
}

/// Call `each(name, kind)` for every file and directory in `dir` (not `.` and `..`;
/// other kinds of entry are left out), in the order the filesystem returns them.
///
/// `stat`: fingerprint each file, recording with it this wall-clock time (read before
/// the listing started, for the racy rule). `follow_links`: count symlinks to regular
/// files as files (else symlinks are left out).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn list(
    dir: &Path,
    stat: Option<i64>,
    follow_links: bool,
    each: &mut dyn FnMut(&[u8], Kind),
) -> io::Result<()> {
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
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        if let Some(kind) = classify(&fd, name, entry.file_type(), stat, follow_links)? {
            each(bytes, kind);
        }
    }
    Ok(())
}

/// What the entry `name` of the open directory `fd`, listed with type `listed`, is for
/// the walk; `None` to leave it out.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn classify(
    fd: &rustix::fd::OwnedFd,
    name: &std::ffi::CStr,
    listed: rustix::fs::FileType,
    stat: Option<i64>,
    follow_links: bool,
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
    match listed {
        FileType::Directory => return Ok(Some(Kind::Dir)),
        FileType::RegularFile if stat.is_none() => return Ok(Some(Kind::File(None))),
        FileType::Symlink if !follow_links => return Ok(None),
        FileType::RegularFile | FileType::Symlink | FileType::Unknown => {}
        _ => return Ok(None),
    }
    // Look at the entry itself: the listing's type may be unknown or out of date.
    let st = match statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(match kind_of(&st) {
        FileType::RegularFile => Some(file(&st)),
        FileType::Directory => Some(Kind::Dir),
        // Followed to a regular file only; a dangling link, a link to a directory or to
        // something we may not look at is not a source file.
        FileType::Symlink if !follow_links => None,
        FileType::Symlink => match statat(fd, name, AtFlags::empty()) {
            Ok(target) if kind_of(&target) == FileType::RegularFile => Some(file(&target)),
            _ => None,
        },
        _ => None,
    })
}

/// [`list`] through the standard library, for platforms without `getdents64`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn list(
    dir: &Path,
    stat: Option<i64>,
    follow_links: bool,
    each: &mut dyn FnMut(&[u8], Kind),
) -> io::Result<()> {
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
        } else if ft.is_symlink() && follow_links {
            match std::fs::metadata(item.path()) {
                Ok(m) if m.is_file() => m,
                _ => continue,
            }
        } else {
            continue;
        };
        let st = stat.map(|at| Stat {
            fp: Fingerprint::from_metadata(&meta),
            at,
        });
        each(item.file_name().as_encoded_bytes(), Kind::File(st));
    }
    Ok(())
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

    fn listed(dir: &Path, stat: bool, follow_links: bool) -> Vec<(String, Kind)> {
        let mut out = Vec::new();
        list(dir, stat.then_some(7), follow_links, &mut |name, kind| {
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
        assert_eq!(names, ["d", "link.txt", "real.txt"]);
        let fp = Fingerprint::of(&real).unwrap();
        assert_eq!(got[1].1, Kind::File(Some(Stat { fp, at: 7 })));
        for stat in [true, false] {
            let got = listed(dir.path(), stat, false);
            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["d", "real.txt"], "links left out");
        }
    }
}
