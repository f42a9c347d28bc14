//! What a file looks like from one `stat`: size, modification and change times, inode.
//!
//! A fingerprint that has not moved since it was recorded lets a file be trusted without
//! reading it, *unless* the record was racy: a file written within one timestamp tick of
//! the moment its fingerprint was taken can be written again in that same tick, with the
//! same size, and keep the exact same fingerprint. Git calls this "racy git"; the same
//! rule applies here, see [`Fingerprint::is_racy`].

use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How close to the moment of recording a file's mtime or ctime may be before its
/// fingerprint stops being trusted on its own, in nanoseconds.
///
/// Two seconds covers the coarsest common timestamp granularity (FAT, 2 s), filesystems
/// with one-second stamps (HFS+, some network mounts) and modest clock skew between a
/// file server and the client that records the index. Being generous costs little: only
/// files modified within this window before their entry was recorded are re-read, once.
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// Stat metadata of one file, as recorded in the dataset index.
///
/// Serialized as a four-number array `[size, mtime_ns, ctime_ns, inode]` to keep an
/// index of 100,000 entries small and quick to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the Unix epoch (0 where the platform has none).
    pub ctime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
}

/// A fingerprint and the wall-clock time just before it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub fp: Fingerprint,
    pub at: i64,
}

impl Fingerprint {
    /// Fingerprint `path` with one `stat` (symlinks followed); the file is not opened.
    pub fn of(path: &Path) -> io::Result<Fingerprint> {
        let meta = fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(Self::from_metadata(&meta))
    }

    /// Fingerprint from metadata already fetched (by a directory walk, for instance).
    #[cfg(unix)]
    pub fn from_metadata(meta: &fs::Metadata) -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            size: meta.size(),
            mtime_ns: join_ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: join_ns(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
        }
    }

    /// Fingerprint from metadata already fetched (by a directory walk, for instance).
    #[cfg(not(unix))]
    pub fn from_metadata(meta: &fs::Metadata) -> Fingerprint {
        let mtime_ns = meta.modified().map(system_time_ns).unwrap_or(0);
        Fingerprint {
            size: meta.len(),
            mtime_ns,
            ctime_ns: 0,
            inode: 0,
        }
    }

    /// `true` when this fingerprint, recorded at `recorded_ns` (wall clock, nanoseconds
    /// since the epoch), cannot vouch for the content on its own: the file was modified
    /// or had its status changed within [`RACY_WINDOW_NS`] of the recording (or after
    /// it, which happens with clock skew), so another write in the same timestamp tick
    /// could have left every field unchanged.
    pub fn is_racy(&self, recorded_ns: i64) -> bool {
        is_racy_with(self, recorded_ns, RACY_WINDOW_NS)
    }
}

/// [`Fingerprint::is_racy`] with an explicit window, for callers that know their
/// filesystem's granularity (and for tests).
pub fn is_racy_with(fp: &Fingerprint, recorded_ns: i64, window_ns: i64) -> bool {
    let newest = fp.mtime_ns.max(fp.ctime_ns);
    newest >= recorded_ns.saturating_sub(window_ns)
}

/// The wall clock now, in nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    system_time_ns(SystemTime::now())
}

fn system_time_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos())
            .map(|n| -n)
            .unwrap_or(i64::MIN),
    }
}

#[cfg(unix)]
fn join_ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.size, self.mtime_ns, self.ctime_ns, self.inode).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (size, mtime_ns, ctime_ns, inode) = <(u64, i64, i64, u64)>::deserialize(d)?;
        Ok(Fingerprint {
            size,
            mtime_ns,
            ctime_ns,
            inode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_reads_size_and_times_without_opening() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        fs::write(&p, b"12345").unwrap();
        let fp = Fingerprint::of(&p).unwrap();
        assert_eq!(fp.size, 5);
        let now = now_ns();
        assert!(fp.mtime_ns > now - 60_000_000_000 && fp.mtime_ns <= now + 1_000_000_000);
        #[cfg(unix)]
        assert_ne!(fp.inode, 0);
        assert_eq!(Fingerprint::of(&p).unwrap(), fp);
        assert!(Fingerprint::of(dir.path()).is_err());
        assert!(Fingerprint::of(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn racy_rule() {
        let fp = Fingerprint {
            size: 1,
            mtime_ns: 10_000_000_000,
            ctime_ns: 10_000_000_000,
            inode: 7,
        };
        // Recorded in the same tick as the write: racy.
        assert!(fp.is_racy(10_000_000_000));
        // Recorded before the write happened (clock skew): racy.
        assert!(fp.is_racy(9_000_000_000));
        // Recorded just inside the window: racy; just outside: trusted.
        assert!(fp.is_racy(10_000_000_000 + RACY_WINDOW_NS));
        assert!(!fp.is_racy(10_000_000_001 + RACY_WINDOW_NS));
        // A recent ctime alone (metadata rewritten) is enough to distrust.
        let fp2 = Fingerprint {
            ctime_ns: 20_000_000_000,
            ..fp
        };
        assert!(fp2.is_racy(20_500_000_000));
        assert!(!is_racy_with(&fp2, 20_500_000_000, 100_000_000));
    }

    #[test]
    fn serializes_as_compact_array() {
        let fp = Fingerprint {
            size: 3,
            mtime_ns: -4,
            ctime_ns: 5,
            inode: 6,
        };
        let s = serde_json::to_string(&fp).unwrap();
        assert_eq!(s, "[3,-4,5,6]");
        assert_eq!(serde_json::from_str::<Fingerprint>(&s).unwrap(), fp);
    }
}
