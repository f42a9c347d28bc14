//! The watcher's copy of a tree: every directory's listing, kept true by inotify.
//!
//! Each directory is watched *before* it is listed, so a change either happened before
//! the listing (and the listing shows it) or queues an event (and the directory is
//! listed again before the next answer). What an event means is kept coarse on purpose:
//!
//! * an event naming an entry of a directory marks the directory dirty: it is listed
//!   again, whole, before the next answer (one `getdents64` and a `stat` per file of
//!   that directory, nothing elsewhere);
//! * an event about a subdirectory itself (created, deleted, moved in or out) replaces
//!   the subtree under that name: its watches are dropped and it is watched and listed
//!   afresh, so a directory moved away and another made under its name cannot be
//!   confused;
//! * an event about a watched directory itself (deleted, moved, unmounted, watch
//!   dropped) replaces it the same way;
//! * a queue overflow rebuilds everything.
//!
//! Some directories are *volatile*, listed again at every answer because inotify on them
//! could miss a change: a file that is a symlink or has other hard links (written
//! through a path outside the directory, nothing is heard), a file system inotify does
//! not see remote changes on (NFS, SMB, FUSE, 9p: anything not on a short list of local
//! ones), a directory whose watch could not be added (the per-user watch limit).
//!
//! Removals run before additions in one refresh, so that a directory moved within the
//! tree (whose inode keeps its watch) is unwatched at its old name before it is watched
//! at its new one.

use crate::dataset::sources::{join, list_dir, split_parent, within, Listing};
use crate::dataset::watch::wire;
use rayon::prelude::*;
use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, ReadFlags, WatchFlags};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::mem::MaybeUninit;

/// What is watched in each directory: any change of an entry's content, metadata or
/// name, and of the directory itself.
fn flags() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::DONT_FOLLOW
        | WatchFlags::ONLYDIR
}

/// File systems whose changes all happen through this kernel, so inotify hears of each
/// (`statfs` magic numbers): ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, F2FS, ZFS, ramfs,
/// bcachefs, JFS, ReiserFS, NILFS. Anything else is treated as volatile.
const LOCAL_FS: [u32; 12] = [
    0xEF53,
    0x5846_5342,
    0x9123_683E,
    0x0102_1994,
    0x794C_7630,
    0xF2F5_2010,
    0x2FC1_2FC1,
    0x8584_58F6,
    0xCA45_1A4E,
    0x3153_464A,
    0x5265_4973,
    0x3434,
];

fn is_local(path: &str) -> bool {
    rustix::fs::statfs(path).is_ok_and(|s| LOCAL_FS.contains(&(s.f_type as u32)))
}

/// The directory holding `path` (canonical); `None` for `/`.
fn parent(path: &str) -> Option<&str> {
    (path != "/").then(|| split_parent(path).0)
}

/// One directory held.
struct Held {
    wd: Option<i32>,
    /// On a file system whose changes inotify hears of.
    local: bool,
    /// Listed again at every answer (see the module docs).
    volatile: bool,
    subdirs: Vec<String>,
    /// Its number of files.
    files: usize,
    /// The listing, encoded as it is sent ([`wire::put_listing`]).
    encoded: Vec<u8>,
    /// A digest of the listing without the times of its stats: what the walk reports.
    sum: u64,
}

/// Every directory below the roots (but the excluded one), as last listed.
pub(crate) struct Mirror {
    fd: OwnedFd,
    roots: Vec<String>,
    exclude: Option<String>,
    dirs: HashMap<String, Held>,
    by_wd: HashMap<i32, String>,
    /// Directories to list again.
    dirty: HashSet<String>,
    /// Subtrees to drop and watch afresh.
    replace: BTreeSet<String>,
    /// The event queue overflowed: start over.
    rebuild: bool,
}

impl Mirror {
    /// Watch and list every directory below `roots` (canonical), leaving out `exclude`.
    pub(crate) fn new(roots: Vec<String>, exclude: Option<String>) -> io::Result<Mirror> {
        let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)?;
        let mut m = Mirror {
            fd,
            roots,
            exclude,
            dirs: HashMap::new(),
            by_wd: HashMap::new(),
            dirty: HashSet::new(),
            replace: BTreeSet::new(),
            rebuild: false,
        };
        let roots = m.roots.clone();
        m.add(roots);
        Ok(m)
    }

    /// The inotify descriptor, to wait on.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// (directories, files, volatile directories) held.
    pub(crate) fn size(&self) -> (usize, usize, usize) {
        let volatile = self.dirs.values().filter(|h| h.volatile).count();
        let files = self.dirs.values().map(|h| h.files).sum();
        (self.dirs.len(), files, volatile)
    }

    /// Whether a refresh has anything to list.
    pub(crate) fn pending(&self) -> bool {
        self.rebuild || !self.dirty.is_empty() || !self.replace.is_empty()
    }

    /// Read every queued event and note what it makes stale. Every change that
    /// completed before this call is queued by then: inotify queues an event within the
    /// system call that makes the change.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 << 10];
        let mut events: Vec<(i32, ReadFlags, Option<Vec<u8>>)> = Vec::new();
        {
            let mut reader = inotify::Reader::new(&self.fd, &mut buf);
            loop {
                match reader.next() {
                    Ok(e) => events.push((
                        e.wd(),
                        e.events(),
                        e.file_name().map(|n| n.to_bytes().to_vec()),
                    )),
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        for (wd, mask, name) in events {
            self.note(wd, mask, name.as_deref());
        }
        Ok(())
    }

    fn note(&mut self, wd: i32, mask: ReadFlags, name: Option<&[u8]>) {
        if mask.contains(ReadFlags::QUEUE_OVERFLOW) {
            self.rebuild = true;
            return;
        }
        // A watch dropped already (ours, or one whose directory was replaced).
        let Some(path) = self.by_wd.get(&wd) else {
            return;
        };
        let itself =
            ReadFlags::IGNORED | ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF | ReadFlags::UNMOUNT;
        if mask.intersects(itself) {
            self.replace.insert(path.clone());
            return;
        }
        let subdir_moved =
            ReadFlags::CREATE | ReadFlags::DELETE | ReadFlags::MOVED_FROM | ReadFlags::MOVED_TO;
        if let Some(name) = name {
            if mask.contains(ReadFlags::ISDIR) && mask.intersects(subdir_moved) {
                // A directory whose name is not UTF-8 is never walked into.
                if let Ok(n) = std::str::from_utf8(name) {
                    self.replace.insert(join(path, n));
                }
            }
        }
        self.dirty.insert(path.clone());
    }

    /// List again what events made stale, and every volatile directory. Returns the
    /// directories whose listing changed (times of stats aside).
    pub(crate) fn refresh(&mut self) -> Vec<String> {
        if std::mem::take(&mut self.rebuild) {
            for (wd, _) in self.by_wd.drain() {
                let _ = inotify::remove_watch(&self.fd, wd);
            }
            self.dirs.clear();
            self.dirty.clear();
            self.replace = self.roots.iter().cloned().collect();
        }
        // Replaced subtrees, outermost only (the set is in path order, parents first).
        let mut reps: Vec<String> = Vec::new();
        for r in std::mem::take(&mut self.replace) {
            if !reps.iter().any(|o| within(&r, o)) {
                reps.push(r);
            }
        }
        let volatile = self.dirs.iter().filter(|(_, h)| h.volatile);
        let mut relist: Vec<String> = self
            .dirty
            .drain()
            .chain(volatile.map(|(p, _)| p.clone()))
            .filter(|d| self.dirs.contains_key(d) && !reps.iter().any(|r| within(d, r)))
            .collect();
        relist.sort_unstable();
        relist.dedup();
        let listed: Vec<(String, Option<Listing>)> = relist
            .into_par_iter()
            .map(|d| {
                let l = list_dir(&d, true).ok();
                (d, l)
            })
            .collect();

        let mut changed = Vec::new();
        let mut drops = reps.clone();
        let mut adds = reps;
        for (d, listing) in listed {
            let Some(l) = listing else {
                // Gone or unreadable: a client lists it itself (and meets the error).
                drops.push(d);
                continue;
            };
            let Some(held) = self.dirs.get_mut(&d) else {
                continue;
            };
            let subs: Vec<String> = l.subdirs.iter().map(|(_, p)| p.clone()).collect();
            let now: HashSet<&String> = subs.iter().collect();
            let before: HashSet<&String> = held.subdirs.iter().collect();
            drops.extend(held.subdirs.iter().filter(|s| !now.contains(s)).cloned());
            adds.extend(subs.iter().filter(|s| !before.contains(s)).cloned());
            let (encoded, sum) = encode(&l);
            if sum != held.sum {
                changed.push(d.clone());
            }
            held.volatile = held.wd.is_none() || !held.local || l.linked;
            held.subdirs = subs;
            held.files = l.files.ends.len();
            held.encoded = encoded;
            held.sum = sum;
        }
        for d in &drops {
            self.drop_subtree(d);
        }
        changed.extend(adds.iter().cloned());
        self.add(adds);
        changed
    }

    /// List every directory again, as a check on what inotify cannot hear of; returns
    /// those whose listing changed without an event.
    pub(crate) fn verify(&mut self) -> Vec<String> {
        self.refresh();
        self.dirty.extend(self.dirs.keys().cloned());
        self.refresh()
    }

    fn drop_subtree(&mut self, top: &str) {
        let gone: Vec<String> = self
            .dirs
            .keys()
            .filter(|p| within(p, top))
            .cloned()
            .collect();
        for p in gone {
            let Some(held) = self.dirs.remove(&p) else {
                continue;
            };
            if let Some(wd) = held.wd {
                if self.by_wd.get(&wd) == Some(&p) {
                    self.by_wd.remove(&wd);
                    let _ = inotify::remove_watch(&self.fd, wd);
                }
            }
            // Its parent no longer lists it as held, so that it is added again when
            // the parent is next listed with it.
            if let Some(h) = parent(&p).and_then(|up| self.dirs.get_mut(up)) {
                h.subdirs.retain(|s| s != &p);
            }
        }
    }

    /// Watch, then list, each directory of `tops` not held yet whose parent is held (or
    /// that is a root), and every directory below it; breadth first, each level in
    /// parallel.
    fn add(&mut self, tops: Vec<String>) {
        let mut level: Vec<String> = Vec::new();
        for t in tops {
            let eligible = !self.dirs.contains_key(&t)
                && self.exclude.as_deref() != Some(t.as_str())
                && (self.roots.contains(&t)
                    || parent(&t).is_some_and(|p| self.dirs.contains_key(p)));
            if eligible && !level.contains(&t) {
                level.push(t);
            }
        }
        while !level.is_empty() {
            let fd = &self.fd;
            let got: Vec<(String, Option<i32>, bool, Option<Listing>)> = level
                .into_par_iter()
                .map(|p| {
                    // Watched first: a change after this is heard of; one before it
                    // shows in the listing.
                    let wd = inotify::add_watch(fd, p.as_str(), flags()).ok();
                    let local = is_local(&p);
                    let l = list_dir(&p, true).ok();
                    (p, wd, local, l)
                })
                .collect();
            let mut next = Vec::new();
            for (p, wd, local, listing) in got {
                let Some(l) = listing else {
                    // Not a directory (any more), or unreadable: a client lists it.
                    if let Some(w) = wd.filter(|w| !self.by_wd.contains_key(w)) {
                        let _ = inotify::remove_watch(&self.fd, w);
                    }
                    continue;
                };
                // One inode reached under two names (a bind mount inside the tree): the
                // watch reports under one name only, so the other is volatile.
                let wd = match wd {
                    Some(w) if self.by_wd.contains_key(&w) => None,
                    other => other,
                };
                if let Some(w) = wd {
                    self.by_wd.insert(w, p.clone());
                }
                let subdirs: Vec<String> = l.subdirs.iter().map(|(_, s)| s.clone()).collect();
                for s in &subdirs {
                    if self.exclude.as_deref() != Some(s.as_str()) && !self.dirs.contains_key(s) {
                        next.push(s.clone());
                    }
                }
                let (encoded, sum) = encode(&l);
                // Held under its parent, for the parent's next reconciliation.
                if let Some(h) = parent(&p).and_then(|up| self.dirs.get_mut(up)) {
                    if !h.subdirs.contains(&p) {
                        h.subdirs.push(p.clone());
                    }
                }
                self.dirs.insert(
                    p,
                    Held {
                        wd,
                        local,
                        volatile: wd.is_none() || !local || l.linked,
                        subdirs,
                        files: l.files.ends.len(),
                        encoded,
                        sum,
                    },
                );
            }
            level = next;
        }
    }

    /// The answer to a request for the directories below `roots`: refused unless each
    /// lies below a watched root (and not in the excluded directory).
    pub(crate) fn answer(&self, roots: &[String]) -> Vec<u8> {
        for r in roots {
            let watched = self.roots.iter().any(|w| within(r, w));
            let excluded = self.exclude.as_deref().is_some_and(|x| within(r, x));
            if !watched || excluded {
                return wire::refused(&format!("{r} is not watched"));
            }
        }
        let held: Vec<&Held> = self
            .dirs
            .iter()
            .filter(|(p, _)| roots.iter().any(|r| within(p, r)))
            .map(|(_, h)| h)
            .collect();
        let mut out = wire::served(held.len());
        out.reserve(held.iter().map(|h| h.encoded.len()).sum());
        for h in held {
            out.extend_from_slice(&h.encoded);
        }
        out
    }
}

/// A listing encoded for sending, and the digest of its encoding without times.
fn encode(l: &Listing) -> (Vec<u8>, u64) {
    let mut encoded = Vec::new();
    wire::put_listing(&mut encoded, l, true);
    let mut bare = Vec::with_capacity(encoded.len());
    wire::put_listing(&mut bare, l, false);
    (encoded, xxhash_rust::xxh3::xxh3_64(&bare))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// The mirror's answer for `root`, decoded, with the times of stats zeroed, by path.
    fn held(m: &Mirror, root: &str) -> Vec<Listing> {
        let mut ls = wire::read_answer(&m.answer(&[root.to_string()])).unwrap();
        for l in &mut ls {
            l.files.stats.iter_mut().for_each(|s| s.at = 0);
        }
        ls.sort_by(|a, b| a.files.path.cmp(&b.files.path));
        ls
    }

    /// What a walk of the disk lists below `root`, the same way.
    fn walked(root: &str) -> Vec<Listing> {
        let mut out = Vec::new();
        let mut todo = vec![root.to_string()];
        while let Some(d) = todo.pop() {
            let mut l = list_dir(&d, true).unwrap();
            l.files.stats.iter_mut().for_each(|s| s.at = 0);
            todo.extend(l.subdirs.iter().map(|(_, p)| p.clone()));
            out.push(l);
        }
        out.sort_by(|a, b| a.files.path.cmp(&b.files.path));
        out
    }

    #[test]
    fn the_mirror_follows_changes_and_starts_over_after_an_overflow() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let r = root.to_str().unwrap().to_string();
        for d in ["a/b", "c"] {
            fs::create_dir_all(root.join(d)).unwrap();
            fs::write(root.join(d).join("f.txt"), d).unwrap();
        }
        let mut m = Mirror::new(vec![r.clone()], None).unwrap();
        assert_eq!(held(&m, &r), walked(&r));
        assert_eq!(m.size(), (4, 2, 0));

        fs::write(root.join("a/b/f.txt"), "longer content").unwrap();
        fs::rename(root.join("a"), root.join("a2")).unwrap();
        fs::create_dir_all(root.join("a/new")).unwrap();
        fs::write(root.join("a/new/g.txt"), "g").unwrap();
        fs::remove_dir_all(root.join("c")).unwrap();
        m.drain().unwrap();
        assert!(m.pending());
        m.refresh();
        assert!(!m.pending());
        assert_eq!(held(&m, &r), walked(&r));

        // A lost queue: everything is listed afresh.
        fs::write(root.join("a2/b/f.txt"), "changed while nobody listened").unwrap();
        m.note(-1, ReadFlags::QUEUE_OVERFLOW, None);
        m.refresh();
        assert_eq!(held(&m, &r), walked(&r));
        assert_eq!(m.size(), (5, 2, 0));
        // Roots not watched are refused.
        assert!(wire::read_answer(&m.answer(&["/elsewhere".into()])).is_err());
    }

    #[test]
    fn within_and_parent_respect_path_components() {
        assert!(within("/a/b", "/a"));
        assert!(within("/a", "/a"));
        assert!(!within("/ab", "/a"));
        assert!(within("/x", "/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
    }
}
