//! The set of artifact files under `objects/`, as `status` sees it.
//!
//! `status` must say whether each source's artifact is on disk. Listing `objects/`
//! answers that for 100,000 artifacts with 256 directory reads instead of 100,000
//! `stat`s; but on ext4 reading 100,000 directory entries costs as much as a third of the
//! whole status. So the listing is skipped where it can be proven unnecessary:
//!
//! * When a base is written (at compaction), every fan-out
//!   directory holding an artifact that an entry names is fingerprinted and then listed,
//!   and the base records the fingerprint of each directory in which every such
//!   artifact was present ([`snapshot`]). The fingerprints are taken after a reading of
//!   the filesystem's clock (see [`super::base`]).
//! * A directory's mtime and ctime move whenever a name is added to it, removed or
//!   renamed. If a recorded directory still has its fingerprint, and that fingerprint is
//!   older than the clock reading (not racy), no name in it has come or gone since it was
//!   listed: every artifact an entry of that base names in it is still there, without
//!   reading it. Other directories are listed as before.
//!
//! What is kept of a listed file is the xxh3-128 of `<fan-out>/<name>`, in a hash set
//! keyed by that hash itself: "is this artifact there?", asked in the order of the
//! sources (random with respect to the objects), is one probe. Two different names with
//! the same 128-bit hash are as unlikely as two different source contents with the same
//! hash, which the cache already relies on.
//!
//! Only real directories and regular files count, so a name in the set is inside the
//! cache whatever the index says; a symlinked `objects/` would list files outside the
//! cache, so nothing counts.

use super::fingerprint::Fingerprint;
use super::layout::split_object;
use super::walk::{self, Kind};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

/// The artifacts of an `objects/` directory.
#[derive(Debug, Default)]
pub(crate) struct ObjectSet {
    /// The `objects/` directory.
    dir: PathBuf,
    /// Hashes of `<fan-out>/<name>` of the files in the directories that were listed.
    names: HashSet<u128, BuildHasherDefault<PreHashed>>,
    /// Fan-out directories not listed because their recorded fingerprint still holds.
    /// (Two-character names asked about once per source: hashed with xxh3, not SipHash.)
    settled: HashSet<String, BuildHasherDefault<PreHashed>>,
}

/// A fan-out directory's fingerprint, recorded when every artifact named in it was there.
pub(crate) type Snapshot = Vec<(String, Fingerprint)>;

/// A hasher for keys that are already uniformly distributed hashes.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 ^= xxh3_64(bytes);
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
    }
}

/// The real (not symlinked) fan-out directories of `objects`, or `None` when `objects`
/// is a symlink or cannot be read.
fn fanout_dirs(objects: &Path) -> Option<Vec<String>> {
    if fs::symlink_metadata(objects).is_ok_and(|m| m.file_type().is_symlink()) {
        return None;
    }
    let mut dirs = Vec::new();
    walk::list(objects, None, false, &mut |name, kind| {
        if let (Kind::Dir, Ok(name)) = (kind, std::str::from_utf8(name)) {
            dirs.push(name.to_string());
        }
    })
    .ok()?;
    Some(dirs)
}

/// The fingerprint of a directory, without following a symlink.
fn dir_fingerprint(dir: &Path) -> Option<Fingerprint> {
    let m = fs::symlink_metadata(dir).ok()?;
    m.is_dir().then(|| Fingerprint::from_metadata(&m))
}

/// The hashes of `<fan-out>/<name>` of the regular files in `objects/<fanout>`.
fn list_fanout(objects: &Path, fanout: &str) -> Vec<u128> {
    let mut keys = Vec::new();
    let mut key = format!("{fanout}/");
    let prefix = key.len();
    let _ = walk::list(&objects.join(fanout), None, false, &mut |name, kind| {
        if let (Kind::File(_), Ok(name)) = (kind, std::str::from_utf8(name)) {
            key.truncate(prefix);
            key.push_str(name);
            keys.push(xxh3_128(key.as_bytes()));
        }
    });
    keys
}

/// Fingerprint, then list, the fan-out directories of `objects` holding the artifacts
/// `named` (paths relative to the cache directory), and keep the fingerprints of those in
/// which every named artifact is present. Call after reading the filesystem's clock.
#[cfg(test)]
pub(crate) fn snapshot<'a>(objects: &Path, named: impl Iterator<Item = &'a str>) -> Snapshot {
    let mut by_dir: BTreeMap<String, Vec<u128>> = BTreeMap::new();
    for rel in named {
        if let Some((fanout, key)) = split_object(rel) {
            by_dir
                .entry(fanout.to_string())
                .or_default()
                .push(xxh3_128(key.as_bytes()));
        }
    }
    snapshot_named(objects, &by_dir)
}

/// [`snapshot`] of the artifacts named as (fan-out directory → xxh3-128 keys of
/// `<fan-out>/<name>`), as a base writer collects them.
pub(crate) fn snapshot_named(objects: &Path, by_dir: &BTreeMap<String, Vec<u128>>) -> Snapshot {
    let Some(on_disk) = fanout_dirs(objects) else {
        return Vec::new();
    };
    let on_disk: HashSet<&str> = on_disk.iter().map(String::as_str).collect();
    by_dir
        .par_iter()
        .filter(|(fanout, _)| on_disk.contains(fanout.as_str()))
        .filter_map(|(fanout, wanted)| {
            // Fingerprint first: a change during the listing moves it.
            let fp = dir_fingerprint(&objects.join(fanout))?;
            let present: HashSet<u128> = list_fanout(objects, fanout).into_iter().collect();
            wanted
                .iter()
                .all(|k| present.contains(k))
                .then(|| (fanout.to_string(), fp))
        })
        .collect()
}

impl ObjectSet {
    /// List `objects` (the cache's `objects/` directory), skipping the fan-out
    /// directories of `snapshot` that still have their fingerprint, older than `clock`.
    /// A missing or unreadable directory is an empty set (every artifact missing).
    pub(crate) fn list(
        objects: &Path,
        snapshot: &[(String, Fingerprint)],
        clock: i64,
    ) -> ObjectSet {
        let empty = ObjectSet {
            dir: objects.to_path_buf(),
            ..ObjectSet::default()
        };
        let Some(fanout) = fanout_dirs(objects) else {
            return empty;
        };
        let recorded: BTreeMap<&str, Fingerprint> =
            snapshot.iter().map(|(d, fp)| (d.as_str(), *fp)).collect();
        // (directory, listed keys or `None` when settled)
        let listed: Vec<(&String, Option<Vec<u128>>)> = fanout
            .par_iter()
            .map(|d| {
                let settled = recorded.get(d.as_str()).is_some_and(|fp| {
                    fp.mtime_ns.max(fp.ctime_ns) < clock
                        && dir_fingerprint(&objects.join(d)) == Some(*fp)
                });
                (d, (!settled).then(|| list_fanout(objects, d)))
            })
            .collect();
        let mut set = ObjectSet {
            names: HashSet::with_capacity_and_hasher(
                listed
                    .iter()
                    .filter_map(|l| l.1.as_ref())
                    .map(Vec::len)
                    .sum(),
                BuildHasherDefault::default(),
            ),
            ..empty
        };
        for (d, keys) in listed {
            match keys {
                Some(keys) => set.names.extend(keys),
                None => {
                    set.settled.insert(d.clone());
                }
            }
        }
        set
    }

    /// Whether the artifact `rel` (`objects/<dir>/<name>`, relative to the cache
    /// directory) is there. `named_by_entry`: `rel` is the artifact an entry of the
    /// base this set was listed for records (what a settled directory vouches for);
    /// other names in a settled directory cost one `lstat`.
    pub(crate) fn contains(&self, rel: &str, named_by_entry: bool) -> bool {
        let Some((fanout, key)) = split_object(rel) else {
            return false;
        };
        if self.settled.contains(fanout) {
            return named_by_entry
                || fs::symlink_metadata(self.dir.join(key)).is_ok_and(|m| m.is_file());
        }
        self.names.contains(&xxh3_128(key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn lists_regular_files_of_fanout_dirs_only() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("objects");
        fs::create_dir_all(objects.join("ab/sub")).unwrap();
        fs::create_dir_all(objects.join("cd")).unwrap();
        for f in ["ab/abz", "ab/ab1.png", "ab/ab0", "cd/cd9"] {
            fs::write(objects.join(f), "x").unwrap();
        }
        fs::write(objects.join("top-level-file"), "x").unwrap();
        let set = ObjectSet::list(&objects, &[], 0);
        for yes in [
            "objects/ab/abz",
            "objects/ab/ab1.png",
            "objects/ab/ab0",
            "objects/cd/cd9",
        ] {
            assert!(set.contains(yes, false), "{yes}");
        }
        for no in [
            "objects/ab/sub",
            "objects/ab/ab1",
            "objects/cd/abz",
            "objects/top-level-file",
            "objects/ab",
            "ab/abz",
            "objects/ab/abz/x",
            "",
        ] {
            assert!(!set.contains(no, false), "{no}");
        }
        assert!(
            !ObjectSet::list(&dir.path().join("missing"), &[], 0).contains("objects/ab/abz", false)
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_objects_dir_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(outside.join("ab")).unwrap();
        fs::write(outside.join("ab/abz"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("objects")).unwrap();
        let set = ObjectSet::list(&dir.path().join("objects"), &[], 0);
        assert!(!set.contains("objects/ab/abz", false));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("objects");
        fs::create_dir_all(objects.join("ab")).unwrap();
        fs::write(dir.path().join("outside"), "x").unwrap();
        fs::write(objects.join("ab/real"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), objects.join("ab/link")).unwrap();
        std::os::unix::fs::symlink(dir.path(), objects.join("cd")).unwrap();
        let set = ObjectSet::list(&objects, &[], 0);
        assert!(set.contains("objects/ab/real", false));
        assert!(!set.contains("objects/ab/link", false));
        assert!(!set.contains("objects/cd/outside", false));
    }

    #[test]
    fn settled_directories_are_not_listed_and_unsettle_when_a_name_goes() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("objects");
        fs::create_dir_all(objects.join("ab")).unwrap();
        fs::create_dir_all(objects.join("cd")).unwrap();
        for f in ["ab/ab1", "ab/ab2", "ab/orphan", "cd/cd1"] {
            fs::write(objects.join(f), "x").unwrap();
        }
        let named = [
            "objects/ab/ab1",
            "objects/ab/ab2",
            "objects/cd/cd1",
            "objects/cd/gone",
        ];
        let snap = snapshot(&objects, named.iter().copied());
        // "cd" misses a named artifact: not recorded.
        assert_eq!(
            snap.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            ["ab"]
        );
        let future = i64::MAX;
        let set = ObjectSet::list(&objects, &snap, future);
        assert!(set.settled.contains("ab") && !set.settled.contains("cd"));
        assert!(set.contains("objects/ab/ab1", true));
        // Names no entry records are looked up on disk.
        assert!(set.contains("objects/ab/orphan", false));
        assert!(!set.contains("objects/ab/nope", false));
        assert!(set.contains("objects/cd/cd1", false));
        assert!(!set.contains("objects/cd/gone", true));
        // A clock reading no later than the directory's last change: racy, listed.
        let racy = ObjectSet::list(&objects, &snap, 0);
        assert!(racy.settled.is_empty());
        // Removing a name moves the directory's times (or inode): listed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::remove_file(objects.join("ab/ab2")).unwrap();
        let after = ObjectSet::list(&objects, &snap, future);
        assert!(after.settled.is_empty());
        assert!(!after.contains("objects/ab/ab2", true));
        assert!(after.contains("objects/ab/ab1", true));
    }
}
