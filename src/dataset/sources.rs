//! Which files a command is about: the source arguments expanded into absolute paths,
//! in path order, without one allocation per file.
//!
//! Paths are the index keys, so they must be stable: each argument is canonicalized once
//! (symlinks in the root resolved) and the names found below it are joined onto that, so
//! 100,000 files cost one `realpath` per root, not per file. Symlinked directories are
//! not followed (no cycles, no escaping the tree), and the cache directory is skipped if
//! it lies inside a source tree.
//!
//! The walk runs breadth first, each level's directories listed in parallel
//! ([`walk::list`]), and yet produces the files already sorted by path bytes, the order
//! of the index, so that the two are matched in one merge. The trick: below one
//! directory, the path of a file `f` continues with `f` and the paths below a
//! subdirectory `d` continue with `d/`. Sorting each directory's children by name, a
//! directory's name followed by `/`, and visiting them depth first gives exactly the byte
//! order of the full paths, with no global sort of 100,000 long strings that share long
//! prefixes. Each directory keeps its names in one buffer; a file is a (directory, name)
//! pair until somebody asks for its path as a `String`.

use super::error::{io_at, DatasetError};
use super::fingerprint::{now_ns, Fingerprint, Stat};
use super::walk::{self, Kind};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;
use xxhash_rust::xxh3::Xxh3;

/// The source files of one command, in path order, plus the roots they were found under.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Canonical roots as given (directories or single files), sorted.
    pub roots: Vec<String>,
    /// The shard the files were cut down to, if any.
    pub shard: Option<Shard>,
    dirs: Arc<Vec<DirFiles>>,
    /// Every file as (index in `dirs`, index of its name there), sorted by path.
    order: Vec<(u32, u32)>,
    /// When grouped into items ([`Sources::items`]): for each file of `order`, its
    /// sidecars as a range of `sides`; else empty.
    side_ranges: Vec<(u32, u32)>,
    /// Sidecars as (index in `dirs`, index of its name there).
    sides: Vec<(u32, u32)>,
    /// Whether the fingerprints taken during the walk are still unused. Single use: the
    /// first validation takes them, so a `Sources` kept and reused later cannot vouch for
    /// files with stale fingerprints.
    fresh: Arc<AtomicBool>,
    /// Whether the directories came from a file-system watcher ([`super::watch`]).
    watched: bool,
}

/// The files of one directory: names in one buffer, sorted, with their fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DirFiles {
    /// Absolute, canonical; ends with `/` only for the root directory.
    pub path: String,
    pub names: String,
    /// End of each name in `names`.
    pub ends: Vec<u32>,
    /// One per name when the walk fingerprinted the files, else empty.
    pub stats: Vec<Stat>,
    /// Names that cannot be sources, with why, by position (sorted): broken links,
    /// special files, names that are not UTF-8 (kept escaped).
    pub problems: Vec<(u32, String)>,
}

impl DirFiles {
    fn name(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.names[start..self.ends[i] as usize]
    }
}

/// One source file: its directory and name, borrowed from [`Sources`].
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    dir: &'a str,
    name: &'a str,
    stat: Option<Stat>,
    problem: Option<&'a str>,
    /// Its sidecars, as positions in `dirs` (see [`Sources::items`]).
    sides: &'a [(u32, u32)],
    dirs: &'a [DirFiles],
}

/// A sidecar of an item: a file of the primary's directory.
#[derive(Debug, Clone, Copy)]
pub struct Sidecar<'a> {
    dir: &'a str,
    name: &'a str,
    /// The part of the name after the primary's stem (`.txt`, `.mask.png`).
    pub suffix: &'a str,
    stat: Option<Stat>,
}

impl Sidecar<'_> {
    /// The sidecar's full path.
    pub fn path(&self) -> String {
        join(self.dir, self.name)
    }

    pub(crate) fn stat(&self) -> Option<Stat> {
        self.stat
    }
}

/// `dir` and `name` as one path.
pub(crate) fn join(dir: &str, name: &str) -> String {
    let sep = if dir.ends_with('/') { "" } else { "/" };
    let mut p = String::with_capacity(dir.len() + sep.len() + name.len());
    p.push_str(dir);
    p.push_str(sep);
    p.push_str(name);
    p
}

impl<'a> SourceFile<'a> {
    /// The directory holding the file (absolute, canonical).
    pub fn dir(&self) -> &'a str {
        self.dir
    }

    /// The file's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    fn separator(&self) -> &'static str {
        if self.dir.ends_with('/') {
            ""
        } else {
            "/"
        }
    }

    /// The absolute path, as the index keys it.
    pub fn path(&self) -> String {
        let sep = self.separator();
        let mut p = String::with_capacity(self.dir.len() + sep.len() + self.name.len());
        p.push_str(self.dir);
        p.push_str(sep);
        p.push_str(self.name);
        p
    }

    /// Compare this file's path with `path` byte by byte, without building it.
    pub fn cmp_path(&self, path: &str) -> Ordering {
        let path = path.as_bytes();
        let mut rest = path;
        for part in [self.dir, self.separator(), self.name] {
            let part = part.as_bytes();
            let n = part.len().min(rest.len());
            match part[..n].cmp(&rest[..n]) {
                Ordering::Equal if n == part.len() => rest = &rest[n..],
                Ordering::Equal => return Ordering::Greater,
                other => return other,
            }
        }
        if rest.is_empty() {
            Ordering::Equal
        } else {
            Ordering::Less
        }
    }

    /// The fingerprint taken during the walk, if any.
    pub(crate) fn stat(&self) -> Option<Stat> {
        self.stat
    }

    /// The item's sidecars, by name (none unless the sources were grouped into items by a sidecar rule).
    pub fn sidecars(&self) -> impl ExactSizeIterator<Item = Sidecar<'a>> + 'a {
        let (dirs, stem_len, fresh_stat) = (
            self.dirs,
            super::sidecars::stem(self.name).len(),
            self.stat.is_some(),
        );
        self.sides.iter().map(move |&(d, i)| {
            let f = file_at(dirs, d, i, fresh_stat);
            Sidecar {
                dir: f.dir,
                name: f.name,
                suffix: &f.name[stem_len..],
                stat: f.stat,
            }
        })
    }

    /// Why this entry of its directory cannot be a source (a broken link, a special
    /// file, a name that is not UTF-8), if it cannot.
    pub fn problem(&self) -> Option<&'a str> {
        self.problem
    }

    /// xxh3-64 of the path, as [`Shard::contains`] hashes it.
    fn path_hash(&self) -> u64 {
        let mut h = Xxh3::new();
        h.update(self.dir.as_bytes());
        h.update(self.separator().as_bytes());
        h.update(self.name.as_bytes());
        h.digest()
    }
}

/// `--shard K/N`: this process handles the paths whose hash falls in slot K of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub k: u32,
    /// How many shards in all.
    pub n: u32,
}

impl std::str::FromStr for Shard {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Shard, DatasetError> {
        let bad = || DatasetError::BadShard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// Whether `path` belongs to this shard. Stable across machines and runs.
    pub fn contains(&self, path: &str) -> bool {
        self.holds(xxhash_rust::xxh3::xxh3_64(path.as_bytes()))
    }

    fn holds(&self, path_hash: u64) -> bool {
        path_hash % u64::from(self.n) == u64::from(self.k - 1)
    }
}

/// A directory listed by the walk, before the depth-first pass puts files in order.
#[derive(Default)]
struct Node {
    files: DirFiles,
    /// Subdirectories as (how many of this directory's files come before it in path
    /// order, node), in path order.
    subdirs: Vec<(u32, usize)>,
}

/// A root argument.
enum Root {
    File(DirFiles),
    Dir(usize),
}

impl Sources {
    /// Expand `args` (files or directories) into the regular files below them, skipping
    /// `exclude` (the cache directory) if it lies inside. With `stat`, each file is
    /// fingerprinted during the walk.
    pub fn collect(
        args: &[PathBuf],
        exclude: Option<&Path>,
        stat: bool,
    ) -> Result<Sources, DatasetError> {
        Self::collect_from(args, exclude, stat, None)
    }

    /// [`Self::collect`] with fingerprints, taking the directories from the file-system
    /// watcher of the cache `cache_dir` (also excluded) when one runs and watches every
    /// root ([`super::watch`]); else, or for what it does not hold, from the disk.
    pub(crate) fn collect_watched(
        args: &[PathBuf],
        cache_dir: &Path,
    ) -> Result<Sources, DatasetError> {
        Self::collect_from(args, Some(cache_dir), true, Some(cache_dir))
    }

    fn collect_from(
        args: &[PathBuf],
        exclude: Option<&Path>,
        stat: bool,
        watcher: Option<&Path>,
    ) -> Result<Sources, DatasetError> {
        // (sort key, root): a directory sorts as its path followed by `/`, see above.
        let mut given: Vec<(String, bool, Option<Stat>)> = Vec::new();
        for arg in args {
            let at = now_ns();
            let root = fs::canonicalize(arg).map_err(io_at(arg))?;
            let meta = fs::metadata(&root).map_err(io_at(&root))?;
            let text = path_str(&root)?.to_string();
            let st = (stat && meta.is_file()).then(|| Stat {
                fp: Fingerprint::from_metadata(&meta),
                at,
            });
            given.push((text, meta.is_dir(), st));
        }
        let key = |(p, dir, _): &(String, bool, Option<Stat>)| {
            if *dir && !p.ends_with('/') {
                format!("{p}/")
            } else {
                p.clone()
            }
        };
        given.sort_by_cached_key(key);
        given.dedup_by(|a, b| a.0 == b.0);
        // Roots inside another directory root are walked as part of it.
        let dir_keys: Vec<String> = given.iter().filter(|g| g.1).map(key).collect();
        given.retain(|g| {
            !dir_keys
                .iter()
                .any(|d| g.0.starts_with(d.as_str()) && g.0.len() > d.len())
        });

        let mut nodes: Vec<Node> = Vec::new();
        let mut roots = Vec::new();
        let mut level: Vec<(usize, String)> = Vec::new();
        for (path, is_dir, st) in &given {
            if *is_dir {
                if exclude == Some(Path::new(path)) {
                    continue;
                }
                nodes.push(Node::default());
                level.push((nodes.len() - 1, path.clone()));
                roots.push(Root::Dir(nodes.len() - 1));
            } else {
                let (dir, name) = split_parent(path);
                roots.push(Root::File(DirFiles {
                    path: dir.to_string(),
                    names: name.to_string(),
                    ends: vec![name.len() as u32],
                    stats: st.iter().copied().collect(),
                    problems: Vec::new(),
                }));
            }
        }
        // The directories as the watcher holds them, if one serves every root.
        let mut known = match watcher {
            Some(cache) if !level.is_empty() => {
                let dirs: Vec<String> = level.iter().map(|(_, p)| p.clone()).collect();
                super::watch::ask(cache, &dirs)
            }
            _ => None,
        };
        let watched = known.is_some();
        // Breadth first, each level's directories in parallel; no recursion.
        while !level.is_empty() {
            let held: Vec<Option<Listing>> = level
                .iter()
                .map(|(_, path)| known.as_mut().and_then(|k| k.remove(path)))
                .collect();
            let listed: Vec<Result<Listing, DatasetError>> = level
                .par_iter()
                .zip(held)
                .map(|((_, path), held)| match held {
                    Some(l) => Ok(l),
                    None => list_dir(path, stat),
                })
                .collect();
            let mut next = Vec::new();
            for ((id, _), listing) in level.into_iter().zip(listed) {
                let Listing { files, subdirs, .. } = listing?;
                let mut children = Vec::with_capacity(subdirs.len());
                for (before, path) in subdirs {
                    if exclude == Some(Path::new(&path)) {
                        continue;
                    }
                    nodes.push(Node::default());
                    children.push((before, nodes.len() - 1));
                    next.push((nodes.len() - 1, path));
                }
                nodes[id] = Node {
                    files,
                    subdirs: children,
                };
            }
            level = next;
        }

        // Depth first, in path order: each directory's files, with its subdirectories
        // visited at their place among them.
        let mut dirs: Vec<DirFiles> = Vec::with_capacity(nodes.len() + roots.len());
        let mut order: Vec<(u32, u32)> = Vec::new();
        for root in roots {
            let id = match root {
                Root::File(files) => {
                    order.push((dirs.len() as u32, 0));
                    dirs.push(files);
                    continue;
                }
                Root::Dir(id) => id,
            };
            // (node, files emitted, subdirectories visited, index in `dirs`)
            let mut stack = vec![(id, 0u32, 0usize, dirs.len() as u32)];
            dirs.push(std::mem::take(&mut nodes[id].files));
            while let Some(top) = stack.last_mut() {
                let (node, done, visited, d) = *top;
                let subdirs = &nodes[node].subdirs;
                if let Some(&(_, child)) = subdirs.get(visited).filter(|s| s.0 <= done) {
                    top.2 += 1;
                    stack.push((child, 0, 0, dirs.len() as u32));
                    dirs.push(std::mem::take(&mut nodes[child].files));
                } else if (done as usize) < dirs[d as usize].ends.len() {
                    order.push((d, done));
                    top.1 += 1;
                } else {
                    stack.pop();
                }
            }
        }
        let roots = given.into_iter().map(|g| g.0).collect();
        Ok(Sources {
            roots,
            shard: None,
            dirs: Arc::new(dirs),
            order,
            side_ranges: Vec::new(),
            sides: Vec::new(),
            fresh: Arc::new(AtomicBool::new(stat)),
            watched,
        })
    }

    /// Whether the directories were read from a file-system watcher rather than the disk.
    pub fn watched(&self) -> bool {
        self.watched
    }

    /// Keep only the files of `shard`.
    pub fn shard(mut self, shard: Option<Shard>) -> Sources {
        if let Some(s) = shard {
            let dirs = &*self.dirs;
            self.order
                .retain(|&(d, i)| s.holds(file_at(dirs, d, i, false).path_hash()));
        }
        self.shard = shard;
        self
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The `i`-th file in path order.
    pub fn get(&self, i: usize) -> SourceFile<'_> {
        let (d, n) = self.order[i];
        let mut f = file_at(&self.dirs, d, n, true);
        if let Some(&(a, b)) = self.side_ranges.get(i) {
            f.sides = &self.sides[a as usize..b as usize];
        }
        f
    }

    /// The files grouped into items by the sidecar rule `rule`: sidecars leave the list
    /// and go with their primary (see [`super::sidecars`]). Cheap: the listing is shared.
    pub(crate) fn items(&self, rule: &super::sidecars::Rule) -> Sources {
        let mut out = Sources {
            roots: self.roots.clone(),
            shard: self.shard,
            dirs: Arc::clone(&self.dirs),
            order: Vec::new(),
            side_ranges: Vec::new(),
            sides: Vec::new(),
            fresh: Arc::clone(&self.fresh),
            watched: self.watched,
        };
        if rule.is_empty() {
            out.order = self.order.clone();
            return out;
        }
        out.order.reserve(self.order.len());
        out.side_ranges.reserve(self.order.len());
        for &(d, i) in &self.order {
            let dir = &self.dirs[d as usize];
            let name = dir.name(i as usize);
            if rule.is_sidecar(name) {
                continue;
            }
            // Names in a directory are sorted: the ones starting with `stem.` are together.
            let prefix = format!("{}.", super::sidecars::stem(name));
            let n = dir.ends.len();
            let (mut first, mut hi) = (0, n);
            while first < hi {
                let mid = first + (hi - first) / 2;
                if dir.name(mid) < prefix.as_str() {
                    first = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let start = out.sides.len() as u32;
            for k in first..n {
                let other = dir.name(k);
                if !other.starts_with(&prefix) {
                    break;
                }
                if rule.suffix(name, other).is_some() {
                    out.sides.push((d, k as u32));
                }
            }
            out.order.push((d, i));
            out.side_ranges.push((start, out.sides.len() as u32));
        }
        out
    }

    /// The files, in path order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SourceFile<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The files' paths, in order (one `String` each: for tests and small tools).
    pub fn paths(&self) -> Vec<String> {
        self.iter().map(|f| f.path()).collect()
    }

    /// Whether `path` is one of the files.
    pub fn contains(&self, path: &str) -> bool {
        self.order
            .binary_search_by(|&(d, i)| file_at(&self.dirs, d, i, false).cmp_path(path))
            .is_ok()
    }

    /// Whether the walk's fingerprints are still unused; marks them used. Validation
    /// uses [`SourceFile::stat`] only when this returned `true`.
    pub(crate) fn take_stats(&self) -> bool {
        self.fresh.swap(false, AtomicOrdering::AcqRel)
    }

    /// Whether an indexed `path` lies under one of the roots and in the shard (so that
    /// its absence from the files means the source was removed).
    pub fn covers(&self, path: &str) -> bool {
        if self.shard.is_some_and(|s| !s.contains(path)) {
            return false;
        }
        self.roots.iter().any(|r| within(path, r))
    }
}

fn file_at(dirs: &[DirFiles], d: u32, i: u32, with_stat: bool) -> SourceFile<'_> {
    let dir = &dirs[d as usize];
    let problem = if dir.problems.is_empty() {
        None
    } else {
        dir.problems
            .binary_search_by_key(&i, |p| p.0)
            .ok()
            .map(|k| dir.problems[k].1.as_str())
    };
    let i = i as usize;
    SourceFile {
        dir: &dir.path,
        name: dir.name(i),
        stat: if with_stat && problem.is_none() {
            dir.stats.get(i).copied()
        } else {
            None
        },
        problem,
        sides: &[],
        dirs,
    }
}

/// `/a/b/c` → (`/a/b`, `c`); `/c` → (`/`, `c`).
/// Whether the path `path` is the directory `dir` or lies below it (whole components
/// only: `/ab` is not below `/a`).
pub(crate) fn within(path: &str, dir: &str) -> bool {
    if dir.ends_with('/') {
        return path.starts_with(dir);
    }
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

pub(crate) fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// The first 16 bytes of a child's name as it sorts (a directory's followed by `/`),
/// zero-padded, as a big-endian integer: keys that differ order the children as
/// [`child_order`] does (a name never holds a zero byte, so a shorter name that is a
/// prefix of a longer one sorts first either way); equal keys of names shorter than 16
/// bytes are equal names.
fn sort_key(name: &[u8], dir: bool) -> u128 {
    let mut b = [0u8; 16];
    let n = name.len().min(16);
    b[..n].copy_from_slice(&name[..n]);
    if dir && n < 16 {
        b[n] = b'/';
    }
    u128::from_be_bytes(b)
}

/// Order of two children of one directory by the paths below them: a directory's name
/// counts as followed by `/`.
fn child_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    if !a_dir && !b_dir {
        return a.cmp(b);
    }
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let slash: &[u8] = b"/";
        let rest_a = a[n..].iter().chain(if a_dir { slash } else { &[] });
        let rest_b = b[n..].iter().chain(if b_dir { slash } else { &[] });
        rest_a.cmp(rest_b)
    })
}

/// One directory as the walk sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    /// Its files, sorted, with fingerprints when asked for.
    pub files: DirFiles,
    /// Its subdirectories as (files before it in path order, path).
    pub subdirs: Vec<(u32, String)>,
    /// Whether a file is a symlink or has other hard links ([`walk::list`]).
    pub linked: bool,
}

/// List one directory: its files (sorted, with fingerprints when `stat`) and its
/// subdirectories as (files before it in path order, path). Entries that cannot be
/// sources are listed as files with their problem.
pub(crate) fn list_dir(path: &str, stat: bool) -> Result<Listing, DatasetError> {
    // Read before any stat of this directory's entries, as the racy rule requires.
    let at = now_ns();
    let mut buf = String::new();
    // (start, end) of each child's name in `buf`, and 1 + its fingerprint's position in
    // `stats` (0 for none, `DIR` for a directory, `PROBLEM` for one with a problem).
    // Small records: sorting moves them.
    const DIR: u32 = u32::MAX;
    const PROBLEM: u32 = u32::MAX - 1;
    let mut children: Vec<(u128, u32, u32, u32)> = Vec::new();
    let mut stats: Vec<Stat> = Vec::new();
    let mut why: std::collections::HashMap<u32, String> = Default::default();
    let linked = walk::list(Path::new(path), stat.then_some(at), true, &mut |name, kind| {
        let start = buf.len() as u32;
        let (text, bad) = match std::str::from_utf8(name) {
            Ok(n) => (std::borrow::Cow::Borrowed(n), false),
            Err(_) => (std::borrow::Cow::Owned(escape_name(name)), true),
        };
        buf.push_str(&text);
        let slot = match (kind, bad) {
            (Kind::Dir, false) => DIR,
            (Kind::Dir, true) => {
                why.insert(start, "a directory whose name is not valid UTF-8 (shown escaped): its files are left out; the index stores paths as text".into());
                PROBLEM
            }
            (_, true) => {
                why.insert(start, "the name is not valid UTF-8 (shown escaped); the index stores paths as text".into());
                PROBLEM
            }
            (Kind::Unusable(w), false) => {
                why.insert(start, w);
                PROBLEM
            }
            (Kind::File(Some(st)), false) => {
                stats.push(st);
                stats.len() as u32
            }
            (Kind::File(None), false) => 0,
        };
        let key = sort_key(&buf.as_bytes()[start as usize..], slot == DIR);
        children.push((key, start, buf.len() as u32, slot));
    })
    .map_err(io_at(path))?;
    let text = |c: &(u128, u32, u32, u32)| &buf.as_bytes()[c.1 as usize..c.2 as usize];
    // Most names differ within their first 16 bytes: one integer comparison each; the
    // full comparison only breaks ties between longer names.
    children.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| child_order(text(a), a.3 == DIR, text(b), b.3 == DIR))
    });

    let sep = if path.ends_with('/') { "" } else { "/" };
    let mut files = DirFiles {
        path: path.to_string(),
        names: String::with_capacity(buf.len()),
        ends: Vec::with_capacity(children.len()),
        stats: Vec::with_capacity(stats.len()),
        problems: Vec::new(),
    };
    let mut subdirs = Vec::new();
    for &(_, a, b, slot) in &children {
        let name = &buf[a as usize..b as usize];
        if slot == DIR {
            subdirs.push((files.ends.len() as u32, format!("{path}{sep}{name}")));
            continue;
        }
        let pos = files.ends.len() as u32;
        files.names.push_str(name);
        files.ends.push(files.names.len() as u32);
        if slot == PROBLEM {
            files
                .problems
                .push((pos, why.remove(&a).unwrap_or_default()));
            if stat {
                // Keep `stats` aligned with the names.
                files.stats.push(Stat {
                    fp: Fingerprint {
                        size: 0,
                        mtime_ns: 0,
                        ctime_ns: 0,
                        inode: 0,
                    },
                    at,
                });
            }
        } else if let Some(st) = (slot as usize).checked_sub(1).and_then(|i| stats.get(i)) {
            files.stats.push(*st);
        }
    }
    Ok(Listing {
        files,
        subdirs,
        linked,
    })
}

/// A file name that is not UTF-8, shown with each byte of its invalid parts as `\xNN`.
pub(crate) fn escape_name(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The index stores paths as UTF-8 text.
pub(crate) fn path_str(p: &Path) -> Result<&str, DatasetError> {
    p.to_str().ok_or_else(|| DatasetError::NonUtf8Path {
        path: p.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_files_sorted_and_skips_excluded_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir_all(root.join("cache/objects")).unwrap();
        fs::write(root.join("a/b/2.txt"), "x").unwrap();
        fs::write(root.join("a/1.txt"), "x").unwrap();
        fs::write(root.join("cache/objects/o"), "x").unwrap();
        let s =
            Sources::collect(std::slice::from_ref(&root), Some(&root.join("cache")), true).unwrap();
        let r = root.to_str().unwrap();
        assert_eq!(
            s.paths(),
            vec![format!("{r}/a/1.txt"), format!("{r}/a/b/2.txt")]
        );
        assert!(s.covers(&format!("{r}/a/gone.txt")));
        assert!(!s.covers(&format!("{r}x/a.txt")));
        assert!(s.contains(&format!("{r}/a/b/2.txt")));
        assert!(!s.contains(&format!("{r}/a/b")));
        assert!(!s.contains(&format!("{r}/a/b/2.txt/")));
        assert!(Sources::collect(&[root.join("nope")], None, false).is_err());
        assert!(s.take_stats(), "fresh");
        assert_eq!(
            s.get(0).stat().unwrap().fp,
            Fingerprint::of(Path::new(&s.get(0).path())).unwrap()
        );
        assert!(!s.take_stats(), "single use");
    }

    #[test]
    fn walk_order_is_path_byte_order() {
        // Names chosen so that a directory sorts between files sharing its prefix:
        // "b.txt" < "b/..." < "b0" in byte order ('.' < '/' < '0').
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        for f in [
            "b.txt", "b/x", "b/y/z", "b/y.txt", "b0", "b-", "a", "c/d/e/f", "c/d.e", "c/d/e.f",
            "é", "z/é/1", "z/e/2",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, f).unwrap();
        }
        fs::create_dir_all(root.join("empty/deeper")).unwrap();
        // A file root inside a directory root and a root given twice count once.
        let args = [root.join("c"), root.clone(), root.join("b/x"), root.clone()];
        let s = Sources::collect(&args, None, true).unwrap();
        let mut expected = s.paths();
        expected.sort();
        expected.dedup();
        assert_eq!(s.paths(), expected);
        assert_eq!(s.len(), 13);
        for (i, p) in expected.iter().enumerate() {
            assert_eq!(s.get(i).cmp_path(p), Ordering::Equal);
            assert!(s.contains(p));
            if i > 0 {
                assert_eq!(s.get(i).cmp_path(&expected[i - 1]), Ordering::Greater);
            }
            if i + 1 < expected.len() {
                assert_eq!(s.get(i).cmp_path(&expected[i + 1]), Ordering::Less);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever the names (prefixes of each other, with '.', '-', '0' that sort
        /// around '/'), the walk yields exactly the files, in byte order of their paths.
        #[test]
        fn walk_yields_exactly_the_files_in_path_order(
            paths in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "a", "a.", "a-", "a0", "ab", "b", "é", "a.b",
                        // Longer than the 16-byte sort key, sharing it.
                        "render_v001.0001", "render_v001.0001.exr", "render_v001.0001-",
                        "render_v001.000", "render_v001.00010",
                    ]),
                    1..4,
                ),
                1..24,
            )
        ) {
            let dir = tempfile::tempdir().unwrap();
            let root = fs::canonicalize(dir.path()).unwrap();
            let mut made: Vec<String> = Vec::new();
            for parts in &paths {
                let p = root.join(parts.join("/"));
                // Skip a path whose parent is a file, or which is already a directory.
                if p.is_dir() || p.ancestors().skip(1).any(|a| a.is_file()) {
                    continue;
                }
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                if !p.exists() {
                    fs::write(&p, "x").unwrap();
                    made.push(p.to_str().unwrap().to_string());
                }
            }
            made.sort();
            let s = Sources::collect(std::slice::from_ref(&root), None, true).unwrap();
            proptest::prop_assert_eq!(s.paths(), made);
        }
    }

    #[test]
    fn separate_roots_come_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        for f in ["a/1", "a.txt", "a0/2"] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, f).unwrap();
        }
        let args = [root.join("a0"), root.join("a"), root.join("a.txt")];
        let s = Sources::collect(&args, None, false).unwrap();
        let r = root.to_str().unwrap();
        assert_eq!(
            s.paths(),
            [
                format!("{r}/a.txt"),
                format!("{r}/a/1"),
                format!("{r}/a0/2")
            ]
        );
        assert!(!s.take_stats(), "not fingerprinted");
        assert!(s.get(0).stat().is_none());
    }

    #[test]
    fn cmp_path_is_byte_order() {
        let f = SourceFile {
            dir: "/a/b",
            name: "c.txt",
            stat: None,
            problem: None,
            sides: &[],
            dirs: &[],
        };
        for (other, want) in [
            ("/a/b/c.txt", Ordering::Equal),
            ("/a/b/c.txt0", Ordering::Less),
            ("/a/b/c.tx", Ordering::Greater),
            ("/a/b/c", Ordering::Greater),
            ("/a/b/d", Ordering::Less),
            ("/a/b.c", Ordering::Greater),
            ("/a/b0", Ordering::Less),
            ("/a/b", Ordering::Greater),
            ("", Ordering::Greater),
        ] {
            assert_eq!(f.cmp_path(other), want, "{other}");
            assert_eq!(f.cmp_path(other), f.path().as_str().cmp(other), "{other}");
        }
        let top = SourceFile {
            dir: "/",
            name: "x",
            stat: None,
            problem: None,
            sides: &[],
            dirs: &[],
        };
        assert_eq!(top.path(), "/x");
        assert_eq!(top.cmp_path("/x"), Ordering::Equal);
        assert_eq!(top.path_hash(), xxhash_rust::xxh3::xxh3_64(b"/x"));
        assert_eq!(split_parent("/x"), ("/", "x"));
        assert_eq!(split_parent("/a/b/x"), ("/a/b", "x"));
    }

    #[test]
    fn shards_partition_paths() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for i in 0..300 {
            let p = format!("/d/{i}.png");
            assert_eq!(shards.iter().filter(|s| s.contains(&p)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "x", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
