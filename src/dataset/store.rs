//! The index on disk: one compacted base plus the segments written since, shared by
//! any number of readers and writers on any number of machines without a lock.
//!
//! ```text
//! index/base-<generation>.scb    the whole index at one moment (super::base); the
//!                                previous generation is kept as a backup
//! index/seg-<writer>-<n>.scs     the changes one writer made at one checkpoint
//!                                (super::segment)
//! ```
//!
//! # Why this design
//!
//! The index must take a checkpoint in time proportional to what changed, answer point
//! lookups, and stay correct with several builders on several machines writing into one
//! cache on shared storage (NFS), while readers (data loaders, a cache on a read-only
//! mount) take no lock at all. An embedded database (SQLite) gives the first two, but its
//! locking is known to be unreliable on network filesystems, which is where farms keep
//! their caches. So the index is a small log-structured store built only on operations
//! that are atomic on NFS too: creating a file under a temporary name and renaming it,
//! and creating a hard link (which fails if the name exists).
//!
//! * **Writers** never modify a file. A checkpoint writes the records it has (entries,
//!   artifacts, failures: [`Record`]) as a new segment named after the writer (host,
//!   process, a random part) and a sequence number: temporary file, fsync, rename. Cost:
//!   the records of that checkpoint.
//! * **Records fold in any order** ([`super::model`]): each carries when its fact was
//!   observed and the latest observation wins, so segments from concurrent writers need
//!   no coordination and reading a record twice changes nothing.
//! * **Compaction** folds the newest base and the segments it found into generation
//!   `g + 1`, published with a hard link: of two compactors racing for the same
//!   generation one wins and the other drops its work. It streams
//!   ([`compact_streaming`]): segments are written sorted, so the base and the segments
//!   are merged as sorted runs, each read a buffer at a time, into a base written in one
//!   pass; memory is a few buffers per segment, not the index. The winner then deletes the
//!   segments it folded and the bases older than `g` (the previous generation stays as a
//!   backup). It runs when the segments' size reaches a quarter of the base's (or there
//!   are many of them), so its cost is amortized over the records that triggered it.
//! * **Readers** list `index/`, read every segment, then the newest base. A segment
//!   deleted after the listing was folded into a base published before it was deleted:
//!   the reader starts again and finds that base. A reader may see a base and segments
//!   already folded into it: folding them again is harmless. Removals are kept in the
//!   base as tombstones (gc drops them, when no build runs) so that an older record
//!   folded again cannot bring a removed entry back.
//!
//! A damaged segment is reported and left in place (its changes are missing from the
//! view, nothing else); a damaged base falls back to the previous generation with a
//! warning; nothing is silently reset. Indexes of versions 1 and 2 (`index.json`,
//! [`super::legacy`]) are read as the base until the first compaction migrates them.

use super::base::{self, Failures, Head, Sidecars, Table, TableFile, Variants};
use super::error::{io_at, DatasetError};
use super::fingerprint::Fingerprint;
use super::layout::{INDEX_DIR, OBJECTS_DIR};
use super::legacy;
use super::model::{lww, Artifact, Entry, Failure, Fold, Index, Record, Slot, VariantInfo};
use super::objects;
use super::segment;
use super::view::{Entries, EntryRef};
use crate::fsutil;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const BASE_EXT: &str = ".scb";
const SEG_EXT: &str = ".scs";

fn base_name(generation: u64) -> String {
    format!("base-{generation:016x}{BASE_EXT}")
}

fn parse_base(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("base-")?.strip_suffix(BASE_EXT)?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

/// What `index/` held at one listing.
#[derive(Debug, Default)]
struct Listing {
    /// Generations, ascending.
    bases: Vec<u64>,
    /// Segment names, sorted.
    segments: Vec<String>,
}

fn list(index_dir: &Path) -> Result<Listing, DatasetError> {
    let mut l = Listing::default();
    let items = match fs::read_dir(index_dir) {
        Ok(i) => i,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(l),
        Err(e) => return Err(io_at(index_dir)(e)),
    };
    for item in items {
        let item = item.map_err(io_at(index_dir))?;
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(g) = parse_base(&name) {
            l.bases.push(g);
        } else if name.starts_with("seg-") && name.ends_with(SEG_EXT) {
            l.segments.push(name);
        }
    }
    l.bases.sort_unstable();
    l.segments.sort_unstable();
    Ok(l)
}

/// How the base is read: whole (status, build), or by positioned reads (one lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Whole,
    Lookups,
}

#[derive(Debug)]
enum BaseData {
    Table(Box<Table>),
    File(TableFile),
}

/// What one read of `index/` found.
struct Read {
    base: Option<BaseData>,
    generation: u64,
    fold: Fold,
    segments: Vec<(String, u64)>,
    warnings: Vec<String>,
    legacy: Option<u32>,
}

/// Read `index/` (see the module documentation); retried while compactions move files.
fn read(cache_dir: &Path, mode: Mode) -> Result<Read, DatasetError> {
    let index_dir = cache_dir.join(INDEX_DIR);
    let mut attempt = 0u32;
    loop {
        if let Some(r) = try_read(cache_dir, &index_dir, mode)? {
            return Ok(r);
        }
        attempt += 1;
        if attempt >= 100 {
            return Err(DatasetError::IndexUnreadable {
                path: index_dir,
                detail: "files kept moving while being read (a compaction loop?)".into(),
            });
        }
        if attempt > 3 {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(attempt)));
        }
    }
}

/// One attempt; `None` when a file listed vanished before it was read.
fn try_read(cache_dir: &Path, index_dir: &Path, mode: Mode) -> Result<Option<Read>, DatasetError> {
    let listing = list(index_dir)?;
    let mut fold = Fold::default();
    let mut segments = Vec::with_capacity(listing.segments.len());
    let mut warnings = Vec::new();
    for name in &listing.segments {
        let path = index_dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
        };
        match segment::decode(&bytes) {
            Ok(records) => {
                for r in records {
                    fold.apply(r);
                }
                segments.push((name.clone(), bytes.len() as u64));
            }
            Err(why) => warnings.push(format!(
                "{}: {why}; its changes are left out (the file is kept for inspection)",
                path.display()
            )),
        }
    }
    let mut base = None;
    let mut generation = 0;
    let mut problems = Vec::new();
    for &g in listing.bases.iter().rev() {
        let path = index_dir.join(base_name(g));
        let got = match mode {
            Mode::Whole => Table::read(&path).map(|t| (t.generation, BaseData::Table(Box::new(t)))),
            Mode::Lookups => TableFile::open(&path).map(|f| (f.generation(), BaseData::File(f))),
        }
        .and_then(|(inside, b)| {
            (inside == g)
                .then_some(b)
                .ok_or_else(|| format!("holds generation {inside}, not the one its name says"))
        });
        match got {
            Ok(b) => {
                if !problems.is_empty() {
                    warnings.push(format!(
                        "{}; loaded {} instead (changes recorded since are missing)",
                        problems.join("; "),
                        path.display()
                    ));
                }
                base = Some(b);
                generation = g;
                break;
            }
            Err(_) if !path.exists() => return Ok(None),
            Err(why) => problems.push(format!("{}: {why}", path.display())),
        }
    }
    if base.is_none() && !problems.is_empty() {
        return Err(DatasetError::IndexUnreadable {
            path: index_dir.to_path_buf(),
            detail: problems.join("; "),
        });
    }
    let mut legacy = None;
    if base.is_none() {
        if let Some(l) = legacy::load(cache_dir)? {
            warnings.extend(l.warnings);
            legacy = Some(l.version);
            let table = table_of(&l.index).map_err(|detail| DatasetError::IndexUnreadable {
                path: cache_dir.join(legacy::INDEX_FILE),
                detail,
            })?;
            base = Some(BaseData::Table(Box::new(table)));
        }
    }
    Ok(Some(Read {
        base,
        generation,
        fold,
        segments,
        warnings,
        legacy,
    }))
}

/// An in-memory index as a base table (legacy indexes, tests).
fn table_of(index: &Index) -> Result<Table, String> {
    let head = Head {
        variants: index
            .variants
            .iter()
            .map(|(k, v)| (k.clone(), (0, v.clone())))
            .collect(),
        failures: index
            .failures
            .iter()
            .map(|(k, f)| (k.clone(), (0, Some(f.clone()))))
            .collect(),
        sidecars: (0, Vec::new()),
    };
    let bytes = base::encode(base::Contents {
        generation: 0,
        clock: 0,
        entries: &mut index
            .entries
            .iter()
            .map(|(p, e)| (p.as_str(), EntryRef::of(e))),
        removals: &[],
        artifacts: &mut index
            .artifacts
            .iter()
            .map(|(r, a)| (Cow::Borrowed(r.as_str()), a.clone())),
        head: &head,
        objects: &|_| Vec::new(),
    });
    Table::from_bytes(&bytes)
}

/// A consistent view of the whole index, the base read into memory.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub base: Option<Table>,
    pub generation: u64,
    /// Paths the segments speak of, each with the base's entry folded in.
    over: BTreeMap<String, Slot>,
    /// Artifact records from the segments that are newer than the base's.
    artifacts: BTreeMap<String, Artifact>,
    pub variants: Variants,
    pub failures: Failures,
    /// The sidecar rule items are grouped with (see [`super::sidecars`]).
    pub sidecars: Sidecars,
    /// The segments folded in: name and size.
    pub segments: Vec<(String, u64)>,
    pub warnings: Vec<String>,
    /// The `index.json` version this was read from, when there is no base yet.
    pub legacy: Option<u32>,
}

impl Snapshot {
    /// Read the index of the cache in `cache_dir` (an absent one is empty).
    pub fn load(cache_dir: &Path) -> Result<Snapshot, DatasetError> {
        let r = read(cache_dir, Mode::Whole)?;
        let base = match r.base {
            Some(BaseData::Table(t)) => Some(*t),
            Some(BaseData::File(_)) => unreachable!("read whole"),
            None => None,
        };
        let base_head = base.as_ref().map(|b| b.head.clone()).unwrap_or_default();
        let Head {
            variants,
            failures,
            sidecars,
        } = merge_head(base_head, &r.fold);
        let mut artifacts = BTreeMap::new();
        for (rel, a) in r.fold.artifacts {
            let mut slot = base
                .as_ref()
                .and_then(|b| b.artifact(&rel))
                .map(|b| (b.at, b));
            let at = a.at;
            lww(&mut slot, at, a);
            artifacts.insert(rel, slot.expect("set").1);
        }
        let mut over = BTreeMap::new();
        for (path, slot) in r.fold.entries {
            let mut merged = Slot {
                live: base
                    .as_ref()
                    .and_then(|b| b.find(&path))
                    .map(|i| base.as_ref().expect("some").entry(i).1.to_entry()),
                removed: base.as_ref().and_then(|b| b.removal(&path)),
            };
            merged.merge(slot);
            over.insert(path, merged.settle());
        }
        Ok(Snapshot {
            base,
            generation: r.generation,
            over,
            artifacts,
            variants,
            failures,
            sidecars,
            segments: r.segments,
            warnings: r.warnings,
            legacy: r.legacy,
        })
    }

    /// Every entry, in path order.
    pub fn entries(&self) -> Entries<'_> {
        match &self.base {
            Some(b) if self.over.is_empty() => return Entries::List(b),
            _ => {}
        }
        let mut out =
            Vec::with_capacity(self.base.as_ref().map_or(0, Table::len) + self.over.len());
        let mut over = self.over.iter().peekable();
        let n = self.base.as_ref().map_or(0, Table::len);
        for i in 0..n {
            let (p, e) = self.base.as_ref().expect("n > 0").entry(i);
            while let Some((q, s)) = over.next_if(|(q, _)| q.as_str() < p) {
                if let Some(v) = s.visible() {
                    out.push((q.as_str(), EntryRef::of(v)));
                }
            }
            match over.next_if(|(q, _)| q.as_str() == p) {
                Some((q, s)) => {
                    if let Some(v) = s.visible() {
                        out.push((q.as_str(), EntryRef::of(v)));
                    }
                }
                None => out.push((p, e)),
            }
        }
        for (q, s) in over {
            if let Some(v) = s.visible() {
                out.push((q.as_str(), EntryRef::of(v)));
            }
        }
        Entries::Refs(out)
    }

    /// The entry of `path`.
    #[cfg(test)]
    pub fn entry(&self, path: &str) -> Option<EntryRef<'_>> {
        if let Some(s) = self.over.get(path) {
            return s.visible().map(EntryRef::of);
        }
        let b = self.base.as_ref()?;
        b.find(path).map(|i| b.entry(i).1)
    }

    /// The record of artifact `rel`.
    pub fn artifact(&self, rel: &str) -> Option<Cow<'_, Artifact>> {
        if let Some(a) = self.artifacts.get(rel) {
            return Some(Cow::Borrowed(a));
        }
        self.base.as_ref()?.artifact(rel).map(Cow::Owned)
    }

    /// The fingerprint recorded for artifact `rel` (`None`: no record), without building
    /// the whole record.
    pub fn artifact_fp(&self, rel: &str) -> Option<Option<Fingerprint>> {
        if let Some(a) = self.artifacts.get(rel) {
            return Some(a.fp);
        }
        self.base.as_ref()?.artifact_fp(rel)
    }

    pub fn variant(&self, name: &str) -> Option<&VariantInfo> {
        self.variants.get(name).map(|(_, v)| v)
    }

    pub fn failure(&self, path: &str) -> Option<&Failure> {
        self.failures.get(path).and_then(|(_, f)| f.as_ref())
    }

    pub fn has_failures(&self) -> bool {
        self.failures.values().any(|(_, f)| f.is_some())
    }

    /// Every artifact record, in path order (the base's read one at a time).
    pub fn artifacts(&self) -> impl Iterator<Item = (Cow<'_, str>, Artifact)> + '_ {
        let n = self.base.as_ref().map_or(0, Table::artifact_count);
        let mut over = self.artifacts.iter().peekable();
        let mut i = 0;
        std::iter::from_fn(move || {
            let next_base = (i < n).then(|| self.base.as_ref().expect("n > 0").artifact_at(i));
            match (next_base, over.peek()) {
                (Some((rel, a)), Some((r, _))) if rel < r.as_str() => {
                    i += 1;
                    Some((Cow::Borrowed(rel), a))
                }
                (Some((rel, _)), Some((r, _))) if rel == r.as_str() => {
                    i += 1;
                    over.next()
                        .map(|(r, a)| (Cow::Borrowed(r.as_str()), a.clone()))
                }
                (_, Some(_)) => over
                    .next()
                    .map(|(r, a)| (Cow::Borrowed(r.as_str()), a.clone())),
                (Some((rel, a)), None) => {
                    i += 1;
                    Some((Cow::Borrowed(rel), a))
                }
                (None, None) => None,
            }
        })
    }

    /// Paths recorded removed (tombstones), in path order.
    fn removals(&self) -> Vec<(&str, i64)> {
        let mut out = Vec::new();
        let mut over = self
            .over
            .iter()
            .filter(|(_, s)| s.live.is_none())
            .filter_map(|(p, s)| Some((p.as_str(), s.removed?)))
            .peekable();
        if let Some(b) = &self.base {
            for (p, t) in b.removals() {
                while let Some(x) = over.next_if(|(q, _)| *q < p) {
                    out.push(x);
                }
                if let Some(x) = over.next_if(|(q, _)| *q == p) {
                    out.push(x);
                } else if !self.over.contains_key(p) {
                    out.push((p, t));
                }
            }
        }
        out.extend(over);
        out
    }

    /// The index as values.
    pub fn to_index(&self) -> Index {
        let entries = self.entries();
        let mut index = Index::default();
        for i in 0..entries.len() {
            let (p, e) = entries.get(i);
            index.entries.insert(p.to_string(), e.to_entry());
        }
        index.variants = self
            .variants
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect();
        index.failures = self
            .failures
            .iter()
            .filter_map(|(k, (_, f))| Some((k.clone(), f.clone()?)))
            .collect();
        index.artifacts = self.artifacts().map(|(r, a)| (r.into_owned(), a)).collect();
        index
    }
}

/// A view of the index for a few point lookups: the base is not read, only searched.
#[derive(Debug)]
pub(crate) struct Lookup {
    base: Option<BaseData>,
    fold: Fold,
    head: Head,
}

impl Lookup {
    pub fn load_with(cache_dir: &Path, mode: Mode) -> Result<Lookup, DatasetError> {
        let r = read(cache_dir, mode)?;
        let base_head = match &r.base {
            Some(BaseData::Table(t)) => t.head.clone(),
            Some(BaseData::File(f)) => {
                f.head().map_err(|detail| DatasetError::IndexUnreadable {
                    path: cache_dir.join(INDEX_DIR),
                    detail,
                })?
            }
            None => Head::default(),
        };
        let head = merge_head(base_head, &r.fold);
        Ok(Lookup {
            base: r.base,
            fold: r.fold,
            head,
        })
    }

    fn damaged(&self, detail: String) -> DatasetError {
        DatasetError::IndexUnreadable {
            path: PathBuf::from(INDEX_DIR),
            detail,
        }
    }

    /// The entry of `path`.
    pub fn entry(&self, path: &str) -> Result<Option<Entry>, DatasetError> {
        let mut slot = match &self.base {
            Some(BaseData::File(f)) => Slot {
                live: f.find(path).map_err(|e| self.damaged(e))?,
                removed: f.removal(path).map_err(|e| self.damaged(e))?,
            },
            Some(BaseData::Table(t)) => Slot {
                live: t.find(path).map(|i| t.entry(i).1.to_entry()),
                removed: t.removal(path),
            },
            None => Slot::default(),
        };
        if let Some(s) = self.fold.entries.get(path) {
            slot.merge(s.clone());
        }
        Ok(slot.settle().visible().cloned())
    }

    /// The record of artifact `rel`.
    pub fn artifact(&self, rel: &str) -> Result<Option<Artifact>, DatasetError> {
        let mut slot = match &self.base {
            Some(BaseData::File(f)) => f.artifact(rel).map_err(|e| self.damaged(e))?,
            Some(BaseData::Table(t)) => t.artifact(rel),
            None => None,
        }
        .map(|a| (a.at, a));
        if let Some(a) = self.fold.artifacts.get(rel) {
            lww(&mut slot, a.at, a.clone());
        }
        Ok(slot.map(|(_, a)| a))
    }

    pub fn variant(&self, name: &str) -> Option<&VariantInfo> {
        self.head.variants.get(name).map(|(_, v)| v)
    }

    /// The sidecar globs items are grouped with.
    pub fn sidecars(&self) -> &[String] {
        &self.head.sidecars.1
    }
}

/// A base's head with the segments' records folded in.
fn merge_head(mut head: Head, fold: &Fold) -> Head {
    for (name, (at, info)) in &fold.variants {
        let mut slot = head.variants.remove(name);
        lww(&mut slot, *at, info.clone());
        head.variants.insert(name.clone(), slot.expect("set"));
    }
    for (path, (at, f)) in &fold.failures {
        let mut slot = head.failures.remove(path);
        lww(&mut slot, *at, f.clone());
        head.failures.insert(path.clone(), slot.expect("set"));
    }
    if let Some((at, globs)) = &fold.sidecars {
        let mut slot = Some(std::mem::take(&mut head.sidecars));
        lww(&mut slot, *at, globs.clone());
        head.sidecars = slot.expect("set");
    }
    head
}

/// Adds segments to the index of one cache: one writer per process (or per handle).
#[derive(Debug)]
pub(crate) struct Writer {
    index_dir: PathBuf,
    id: String,
    seq: AtomicU64,
}

impl Writer {
    pub fn new(cache_dir: &Path) -> Writer {
        Writer {
            index_dir: cache_dir.join(INDEX_DIR),
            id: writer_id(),
            seq: AtomicU64::new(0),
        }
    }

    /// Write `records` as a new segment (nothing for none), durably.
    pub fn append(&self, records: &[Record]) -> Result<(), DatasetError> {
        if records.is_empty() {
            return Ok(());
        }
        fsutil::create_dir_all(&self.index_dir)?;
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let path = self
            .index_dir
            .join(format!("seg-{}-{n:08}{SEG_EXT}", self.id));
        write_new(&path, &segment::encode(records))
    }
}

/// This process's writer id: host, process id and a part that differs between two
/// writers of one process and between runs.
fn writer_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let host: String = super::claims::host_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let salt = crate::hash::hex128(
        format!(
            "{}\0{}\0{}",
            super::fingerprint::now_ns(),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
        .as_bytes(),
    );
    format!("{host}-{}-{}", std::process::id(), &salt[..8])
}

/// Write `bytes` to `path` through a temporary file (fsync, rename, fsync directory).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), DatasetError> {
    Ok(fsutil::atomic_write(path, bytes)?)
}

/// What a compaction leaves out beyond what folding drops.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prune {
    /// Drop removals and cleared failures (only when no writer can hold older records:
    /// gc, under the exclusive build lock).
    pub tombstones: bool,
    /// Drop artifact records no entry references.
    pub unreferenced: bool,
}

/// Fold `snap` (an index held in memory) into the next base generation and publish it
/// (see the module documentation). `Ok(None)`: another compaction published that
/// generation first. Returns how many artifact records were pruned. Builds and gc
/// compact with [`compact_streaming`]; this serves [`rewrite`], legacy migrations and
/// tests.
pub(crate) fn compact(
    cache_dir: &Path,
    snap: &Snapshot,
    prune: Prune,
) -> Result<Option<usize>, DatasetError> {
    let index_dir = cache_dir.join(INDEX_DIR);
    fsutil::create_dir_all(&index_dir)?;
    let generation = snap.generation + 1;
    let target = index_dir.join(base_name(generation));
    let tmp = fsutil::temp_path_for(&target);
    let result = (|| -> Result<Option<usize>, DatasetError> {
        let f = File::create(&tmp).map_err(io_at(&tmp))?;
        // The filesystem's clock now, before the objects directories are fingerprinted.
        let clock = fs_clock(&f).map_err(io_at(&tmp))?;
        let entries = snap.entries();
        let mut referenced = std::collections::HashSet::new();
        if prune.unreferenced {
            for i in 0..entries.len() {
                entries.get(i).1.variants.for_each(|_, rel| {
                    referenced.insert(rel);
                });
            }
        }
        let removals = if prune.tombstones {
            Vec::new()
        } else {
            snap.removals()
        };
        let head = pruned_head(
            Head {
                variants: snap.variants.clone(),
                failures: snap.failures.clone(),
                sidecars: snap.sidecars.clone(),
            },
            prune,
        );
        let kept = |rel: &str| !prune.unreferenced || referenced.contains(rel);
        let pruned = match prune.unreferenced {
            true => snap.artifacts().filter(|(r, _)| !kept(r)).count(),
            false => 0,
        };
        let objects_dir = cache_dir.join(OBJECTS_DIR);
        let spill = || base::Spill::file_in(&index_dir);
        let f = base::write(
            f,
            base::Contents {
                generation,
                clock,
                entries: &mut (0..entries.len()).map(|i| entries.get(i)),
                removals: &removals,
                artifacts: &mut snap.artifacts().filter(|(r, _)| kept(r)),
                head: &head,
                objects: &|named| objects::snapshot_named(&objects_dir, named),
            },
            &spill,
        )
        .map_err(io_at(&tmp))?;
        f.sync_all().map_err(io_at(&tmp))?;
        drop(f);
        let folded: Vec<String> = snap.segments.iter().map(|s| s.0.clone()).collect();
        Ok(
            publish_base(cache_dir, &tmp, generation, &folded, snap.legacy.is_some())?
                .then_some(pruned),
        )
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// The filesystem's clock, read as the modification time of a file just created.
fn fs_clock(f: &File) -> io::Result<i64> {
    f.metadata()
        .map(|m| Fingerprint::from_metadata(&m).mtime_ns)
}

/// A head with what `prune` drops left out (cleared failures, with tombstones).
fn pruned_head(mut head: Head, prune: Prune) -> Head {
    if prune.tombstones {
        head.failures.retain(|_, (_, f)| f.is_some());
    }
    head
}

/// Publish the base written at `tmp` as `generation` and delete what it replaces: the
/// segments it folded (`folded`), bases older than the previous generation, a migrated
/// legacy index. `false`: another compaction won that generation (nothing deleted).
fn publish_base(
    cache_dir: &Path,
    tmp: &Path,
    generation: u64,
    folded: &[String],
    legacy: bool,
) -> Result<bool, DatasetError> {
    let index_dir = cache_dir.join(INDEX_DIR);
    let target = index_dir.join(base_name(generation));
    if !publish(tmp, &target)? {
        return Ok(false);
    }
    fsutil::sync_parent(&target)?;
    // A compaction that read an older generation and still won a name must not
    // delete anything: a newer base exists and may not hold its segments.
    let now = list(&index_dir)?;
    if now.bases.iter().any(|&g| g > generation) {
        let _ = fs::remove_file(&target);
        return Ok(false);
    }
    for name in folded {
        remove_if_present(&index_dir.join(name))?;
    }
    for &g in now.bases.iter().filter(|&&g| g + 1 < generation) {
        remove_if_present(&index_dir.join(base_name(g)))?;
    }
    if legacy {
        retire_legacy(cache_dir)?;
    }
    fsutil::sync_parent(&target)?;
    Ok(true)
}

/// Whether segments weighing `segs` bytes (`n` of them) over a base of `base` bytes are
/// worth folding: a quarter of the base, or many of them and a sixty-fourth.
fn due(n: usize, segs: u64, base: u64) -> bool {
    n > 0 && (segs.saturating_mul(4) >= base || (n >= 32 && segs.saturating_mul(64) >= base))
}

/// Whether a compaction is due (a legacy index to migrate, or segments worth folding:
/// see [`due`]), from the names and sizes of the files in `index/` alone.
pub(crate) fn compaction_due(cache_dir: &Path) -> Result<bool, DatasetError> {
    let index_dir = cache_dir.join(INDEX_DIR);
    let l = list(&index_dir)?;
    if l.bases.is_empty() && cache_dir.join(legacy::INDEX_FILE).exists() {
        return Ok(true);
    }
    let size = |name: &str| fs::metadata(index_dir.join(name)).map_or(0, |m| m.len());
    let segs = l.segments.iter().map(|s| size(s)).sum();
    let base = l.bases.last().map_or(0, |&g| size(&base_name(g)));
    Ok(due(l.segments.len(), segs, base))
}

/// Segments one streaming compaction merges at most (each is open while it runs); the
/// rest stay segments, for the next one.
const MERGE_MAX: usize = 200;

/// A segment as a sorted run: read from its file a buffer at a time (kept open, so
/// that a concurrent compaction deleting it changes nothing here), or (written before
/// segments were sorted) its records sorted in memory.
enum Run {
    File(File),
    Memory(Vec<Record>),
}

/// A sorted run of records of one class.
type Records<'a> = Box<dyn Iterator<Item = Result<Record, String>> + 'a>;

impl Run {
    fn records(&self, class: u8) -> io::Result<Records<'_>> {
        Ok(match self {
            Run::File(file) => {
                let mut c = segment::Cursor::new(file, class)?;
                Box::new(std::iter::from_fn(move || {
                    c.next_record().map_err(|e| e.to_string()).transpose()
                }))
            }
            Run::Memory(records) => Box::new(
                records
                    .iter()
                    .filter(move |r| segment::order_key(r).0 == class)
                    .cloned()
                    .map(Ok),
            ),
        })
    }
}

/// Merge sorted runs: `each` gets, once per key and in key order, every record of that
/// key (runs in the order given). A run out of order is an error (what it would write
/// could not be read back).
fn merge_runs(
    mut runs: Vec<Records>,
    each: &mut dyn FnMut(Vec<Record>) -> Result<(), DatasetError>,
    damaged: &dyn Fn(String) -> DatasetError,
) -> Result<(), DatasetError> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heads: Vec<Option<Record>> = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::new();
    for (i, run) in runs.iter_mut().enumerate() {
        let first = run.next().transpose().map_err(damaged)?;
        if let Some(r) = &first {
            heap.push(Reverse((segment::order_key(r).1.to_string(), i)));
        }
        heads.push(first);
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        let mut group = Vec::new();
        let mut take = |i: usize, heap: &mut BinaryHeap<Reverse<(String, usize)>>| {
            group.extend(heads[i].take());
            if let Some(r) = runs[i].next().transpose().map_err(damaged)? {
                let k = segment::order_key(&r).1;
                if k < key.as_str() {
                    return Err(damaged(format!(
                        "records out of order ({k:?} after {key:?})"
                    )));
                }
                heap.push(Reverse((k.to_string(), i)));
                heads[i] = Some(r);
            }
            Ok(())
        };
        take(i, &mut heap)?;
        while let Some(Reverse((k, j))) = heap.peek() {
            if *k != key {
                break;
            }
            let j = *j;
            heap.pop();
            take(j, &mut heap)?;
        }
        each(group)?;
    }
    Ok(())
}

/// Fold the newest base and the segments into the next base generation, reading each
/// of them front to back a buffer at a time and writing the new base the same way
/// ([`base::Writer`]): memory stays a few buffers per segment, whatever the size of the
/// index (what a build of 100,000 files ends with). Same outcome as [`compact`] on a
/// [`Snapshot`] of the index; `Ok(None)` when another compaction won.
///
/// Segments are merged as sorted runs ([`segment::order_key`]); at most [`MERGE_MAX`]
/// at once (the rest wait for the next compaction, unless tombstones are pruned, which
/// needs every segment folded: then it runs again until none is left over).
pub(crate) fn compact_streaming(
    cache_dir: &Path,
    prune: Prune,
) -> Result<Option<usize>, DatasetError> {
    loop {
        let (done, left) = compact_some(cache_dir, prune)?;
        if !left || done.is_none() {
            return Ok(done);
        }
    }
}

/// One streaming compaction; whether segments were left over (then, when pruning
/// tombstones, nothing was pruned yet).
fn compact_some(cache_dir: &Path, prune: Prune) -> Result<(Option<usize>, bool), DatasetError> {
    let index_dir = cache_dir.join(INDEX_DIR);
    let listing = list(&index_dir)?;
    let damaged = |detail: String| DatasetError::IndexUnreadable {
        path: index_dir.clone(),
        detail,
    };
    // The newest base that reads back whole (as readers choose it).
    let mut base = None;
    let mut problems = Vec::new();
    for &g in listing.bases.iter().rev() {
        let path = index_dir.join(base_name(g));
        let got = base::Stream::open(&path).and_then(|s| {
            (s.generation() == g)
                .then_some(s)
                .ok_or_else(|| "holds another generation than its name says".to_string())
        });
        match got {
            Ok(s) => {
                base = Some(s);
                break;
            }
            Err(_) if !path.exists() => return Ok((None, false)), // compacted meanwhile
            Err(why) => problems.push(format!("{}: {why}", path.display())),
        }
    }
    if base.is_none() && !problems.is_empty() {
        return Err(damaged(problems.join("; ")));
    }
    if base.is_none() && cache_dir.join(legacy::INDEX_FILE).exists() {
        // An index of version 1 or 2 is read whole anyway: migrated from memory.
        return Ok((
            compact(cache_dir, &Snapshot::load(cache_dir)?, prune)?,
            false,
        ));
    }
    // Pruning needs every segment folded (an unfolded one may hold an older record that
    // a dropped tombstone no longer hides, or name a dropped artifact record).
    let left = listing.segments.len() > MERGE_MAX;
    let prune = if left { Prune::default() } else { prune };
    // Each segment is checked whole, one at a time; its small records (failures,
    // variants, the sidecar rule) are folded now, its entries and artifacts merged below.
    let mut small = Fold::default();
    let mut runs = Vec::new();
    let mut folded = Vec::new();
    for name in listing.segments.iter().take(MERGE_MAX) {
        let path = index_dir.join(name);
        let read = File::open(&path).and_then(|mut f| {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut f, &mut bytes).map(|_| (f, bytes))
        });
        let (file, bytes) = match read {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, false)),
            Err(e) => return Err(io_at(&path)(e)),
        };
        // A damaged segment is left out and kept (readers report it).
        let Ok(records) = segment::decode(&bytes) else {
            continue;
        };
        drop(bytes);
        let sorted = segment::is_sorted(&records);
        let mut keep = Vec::new();
        for r in records {
            match segment::order_key(&r).0 {
                segment::PATHS | segment::ARTIFACTS => {
                    if !sorted {
                        keep.push(r);
                    }
                }
                _ => small.apply(r),
            }
        }
        keep.sort_by(|a, b| segment::order_key(a).cmp(&segment::order_key(b)));
        runs.push(if sorted {
            Run::File(file)
        } else {
            Run::Memory(keep)
        });
        folded.push(name.clone());
    }
    if folded.is_empty() && base.is_some() && !prune.tombstones && !prune.unreferenced {
        return Ok((Some(0), false));
    }
    let generation = base.as_ref().map_or(0, |b| b.generation()) + 1;
    let head = merge_head(
        base.as_ref().map(|b| b.head.clone()).unwrap_or_default(),
        &small,
    );
    let head = pruned_head(head, prune);
    drop(small);
    fsutil::create_dir_all(&index_dir)?;
    let target = index_dir.join(base_name(generation));
    let tmp = fsutil::temp_path_for(&target);
    let result = (|| -> Result<Option<usize>, DatasetError> {
        let f = File::create(&tmp).map_err(io_at(&tmp))?;
        // The filesystem's clock now, before the objects directories are fingerprinted.
        let clock = fs_clock(&f).map_err(io_at(&tmp))?;
        let spill = || base::Spill::file_in(&index_dir);
        let mut w = base::Writer::new(f, &spill).map_err(io_at(&tmp))?;
        let mut referenced = std::collections::HashSet::new();
        let mut sources: Vec<Records> = Vec::new();
        if let Some(b) = &base {
            sources.push(Box::new(b.entries()));
            sources.push(Box::new(b.removals()));
        }
        for r in &runs {
            sources.push(r.records(segment::PATHS).map_err(io_at(&index_dir))?);
        }
        merge_runs(
            sources,
            &mut |group| {
                let mut slot = Slot::default();
                let mut path = None;
                for r in group {
                    match r {
                        Record::Entry(p, e) => {
                            slot.upsert(e);
                            path = Some(p);
                        }
                        Record::Removed(p, at) => {
                            slot.remove(at);
                            path = Some(p);
                        }
                        _ => {}
                    }
                }
                let (Some(path), slot) = (path, slot.settle()) else {
                    return Ok(());
                };
                if let Some(e) = slot.visible() {
                    if prune.unreferenced {
                        e.variants.iter().for_each(|(_, rel)| {
                            referenced.insert(xxhash_rust::xxh3::xxh3_128(rel.as_bytes()));
                        });
                    }
                    w.entry(&path, &EntryRef::of(e)).map_err(io_at(&tmp))
                } else if let (Some(at), false) = (slot.removed, prune.tombstones) {
                    w.removal(&path, at).map_err(io_at(&tmp))
                } else {
                    Ok(())
                }
            },
            &damaged,
        )?;
        let dirs = objects::snapshot_named(&cache_dir.join(OBJECTS_DIR), w.named());
        w.end_entries(&head, &dirs).map_err(io_at(&tmp))?;
        let mut sources: Vec<Records> = Vec::new();
        if let Some(b) = &base {
            sources.push(Box::new(b.artifacts()));
        }
        for r in &runs {
            sources.push(r.records(segment::ARTIFACTS).map_err(io_at(&index_dir))?);
        }
        let mut pruned = 0;
        merge_runs(
            sources,
            &mut |group| {
                let mut slot = None;
                let mut rel = None;
                for r in group {
                    if let Record::Artifact(p, a) = r {
                        lww(&mut slot, a.at, a);
                        rel = Some(p);
                    }
                }
                let (Some(rel), Some((_, a))) = (rel, slot) else {
                    return Ok(());
                };
                if prune.unreferenced
                    && !referenced.contains(&xxhash_rust::xxh3::xxh3_128(rel.as_bytes()))
                {
                    pruned += 1;
                    return Ok(());
                }
                w.artifact(&rel, &a).map_err(io_at(&tmp))
            },
            &damaged,
        )?;
        let f = w.finish(generation, clock).map_err(io_at(&tmp))?;
        f.sync_all().map_err(io_at(&tmp))?;
        drop(f);
        Ok(publish_base(cache_dir, &tmp, generation, &folded, false)?.then_some(pruned))
    })();
    let _ = fs::remove_file(&tmp);
    Ok((result?, left))
}

/// After a migration: the last `index.json` kept as `index.json.migrated`, the other legacy
/// files removed.
fn retire_legacy(cache_dir: &Path) -> Result<(), DatasetError> {
    let main = cache_dir.join(legacy::INDEX_FILE);
    if main.exists() {
        fs::rename(&main, cache_dir.join(legacy::MIGRATED_FILE)).map_err(io_at(&main))?;
    }
    for name in [legacy::TEMP_FILE, legacy::BACKUP_FILE, legacy::TABLE_FILE] {
        remove_if_present(&cache_dir.join(name))?;
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), DatasetError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(path)(e)),
    }
}

/// Give `tmp` the name `dest` unless it exists, atomically: `false` when `dest` existed
/// (then `tmp` is left in place). A rename that refuses to replace where the filesystem
/// has one (Linux: local filesystems), else a hard link, which fails if the name exists
/// (NFS too) and then the temporary name is removed. Filesystems with neither fall back
/// to a check and a rename (not atomic against a concurrent publisher).
pub(crate) fn publish(tmp: &Path, dest: &Path) -> Result<bool, DatasetError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, tmp, CWD, dest, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::EXIST) => return Ok(false),
            Err(_) => {} // not supported here: fall back
        }
    }
    match fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) if dest.exists() => Ok(false),
        Err(_) => {
            fs::rename(tmp, dest).map_err(io_at(dest))?;
            Ok(true)
        }
    }
}

/// Replace the whole index with `index` (a new generation; tests and tools).
pub(crate) fn rewrite(cache_dir: &Path, index: &Index) -> Result<(), DatasetError> {
    let mut snap = Snapshot::load(cache_dir)?;
    let table = table_of(index).map_err(|detail| DatasetError::IndexUnreadable {
        path: cache_dir.to_path_buf(),
        detail,
    })?;
    snap.variants = table.head.variants.clone();
    snap.failures = table.head.failures.clone();
    snap.sidecars = table.head.sidecars.clone();
    snap.base = Some(table);
    snap.over.clear();
    snap.artifacts.clear();
    match compact(cache_dir, &snap, Prune::default())? {
        Some(_) => Ok(()),
        None => Err(DatasetError::Busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::model::VariantMap;

    fn entry(at: i64, hash: &str, v: &[(&str, &str)]) -> Entry {
        Entry {
            fp: Fingerprint {
                size: 1,
                mtime_ns: at,
                ctime_ns: at,
                inode: 2,
            },
            at,
            hash: hash.into(),
            variants: v
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<VariantMap>(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir.join(INDEX_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn segments_fold_over_the_base_and_compaction_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::new(dir.path());
        w.append(&[
            Record::Entry("/a".into(), entry(1, "h1", &[("v", "objects/h1/x")])),
            Record::Entry("/b".into(), entry(1, "h2", &[])),
        ])
        .unwrap();
        let s = Snapshot::load(dir.path()).unwrap();
        assert_eq!(s.to_index().entries.len(), 2);
        assert!(compaction_due(dir.path()).unwrap());
        assert_eq!(compact(dir.path(), &s, Prune::default()).unwrap(), Some(0));
        assert_eq!(names(dir.path()), [base_name(1)]);
        w.append(&[
            Record::Removed("/b".into(), 5),
            Record::Entry("/c".into(), entry(2, "h3", &[])),
        ])
        .unwrap();
        let s = Snapshot::load(dir.path()).unwrap();
        let idx = s.to_index();
        assert_eq!(idx.entries.keys().collect::<Vec<_>>(), ["/a", "/c"]);
        assert_eq!(s.entry("/b").map(|e| e.hash), None);
        assert_eq!(s.entry("/a").map(|e| e.hash), Some("h1"));
        compact(dir.path(), &s, Prune::default()).unwrap();
        assert_eq!(names(dir.path()), [base_name(1), base_name(2)]);
        let s2 = Snapshot::load(dir.path()).unwrap();
        assert_eq!(s2.to_index(), idx);
        // The removal is kept as a tombstone: an older record read again (a segment
        // already folded, seen by a reader in the window before its deletion) cannot
        // bring /b back.
        w.append(&[Record::Entry("/b".into(), entry(1, "h2", &[]))])
            .unwrap();
        assert_eq!(Snapshot::load(dir.path()).unwrap().to_index(), idx);
        // A damaged newest base: the previous generation serves, with a warning.
        let p = dir.path().join(INDEX_DIR).join(base_name(2));
        let mut b = fs::read(&p).unwrap();
        let n = b.len() - 3;
        b[n] ^= 1;
        fs::write(&p, b).unwrap();
        let s3 = Snapshot::load(dir.path()).unwrap();
        assert_eq!(s3.warnings.len(), 1, "{:?}", s3.warnings);
        assert!(s3.warnings[0].contains("loaded"), "{:?}", s3.warnings);
        assert_eq!(s3.generation, 1);
    }

    #[test]
    fn lookups_agree_with_the_whole_view() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::new(dir.path());
        let mut recs = Vec::new();
        for i in 0..50 {
            recs.push(Record::Entry(
                format!("/d/{i:03}"),
                entry(i, &format!("{i:032x}"), &[("v", &format!("objects/x/{i}"))]),
            ));
        }
        w.append(&recs).unwrap();
        compact(
            dir.path(),
            &Snapshot::load(dir.path()).unwrap(),
            Prune::default(),
        )
        .unwrap();
        w.append(&[
            Record::Entry("/d/007".into(), entry(100, "new", &[])),
            Record::Removed("/d/008".into(), 100),
        ])
        .unwrap();
        let s = Snapshot::load(dir.path()).unwrap();
        let l = Lookup::load_with(dir.path(), Mode::Lookups).unwrap();
        for i in 0..52 {
            let p = format!("/d/{i:03}");
            assert_eq!(
                l.entry(&p).unwrap(),
                s.entry(&p).map(|e| e.to_entry()),
                "{p}"
            );
        }
    }

    #[test]
    fn a_losing_compaction_deletes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::new(dir.path());
        w.append(&[Record::Entry("/a".into(), entry(1, "h1", &[]))])
            .unwrap();
        let s1 = Snapshot::load(dir.path()).unwrap();
        w.append(&[Record::Entry("/b".into(), entry(1, "h2", &[]))])
            .unwrap();
        let s2 = Snapshot::load(dir.path()).unwrap();
        // s2 wins generation 1; s1, racing for the same generation, loses and must not
        // delete the segment it read (s2 folded it, but s1 cannot know).
        assert!(compact(dir.path(), &s2, Prune::default())
            .unwrap()
            .is_some());
        assert!(compact(dir.path(), &s1, Prune::default())
            .unwrap()
            .is_none());
        let idx = Snapshot::load(dir.path()).unwrap().to_index();
        assert_eq!(idx.entries.len(), 2);
    }

    /// What an index says, as compared across compactions: the visible entries (time,
    /// content, fingerprint; their variants apart, see below), tombstones, artifact
    /// records, failures, variants, the sidecar rule.
    type View = (
        Vec<(String, i64, String, Fingerprint)>,
        Vec<(String, i64)>,
        BTreeMap<String, Artifact>,
        BTreeMap<String, Failure>,
        BTreeMap<String, VariantInfo>,
        Sidecars,
    );

    fn view(dir: &Path) -> (View, Index) {
        let s = Snapshot::load(dir).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let idx = s.to_index();
        let removals = s
            .removals()
            .into_iter()
            .map(|(p, t)| (p.to_string(), t))
            .collect();
        let entries = idx
            .entries
            .iter()
            .map(|(p, e)| (p.clone(), e.at, e.hash.clone(), e.fp))
            .collect();
        let v = (
            entries,
            removals,
            idx.artifacts.clone(),
            idx.failures.clone(),
            idx.variants.clone(),
            s.sidecars.clone(),
        );
        (v, idx)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Streaming compaction (sorted runs merged from their files, segments of the
        /// old unsorted layout sorted in memory, over a base or none) leaves the index
        /// saying what it said before, as the in-memory fold sees it. Variants of an
        /// entry are a union of what records of its content named, which may differ with
        /// the order of folding (see `model`): each must be one such.
        #[test]
        fn streaming_compaction_keeps_what_the_index_says(
            segs in proptest::collection::vec(
                (proptest::collection::vec(small_record(), 0..10), proptest::bool::ANY),
                1..5,
            ),
            base_after in 0usize..5,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let index_dir = dir.path().join(INDEX_DIR);
            fs::create_dir_all(&index_dir).unwrap();
            let all: Vec<Record> = segs.iter().flat_map(|s| s.0.clone()).collect();
            for (n, (records, sorted)) in segs.iter().enumerate() {
                if n == base_after {
                    let snap = Snapshot::load(dir.path()).unwrap();
                    compact(dir.path(), &snap, Prune::default()).unwrap();
                }
                let bytes = if *sorted {
                    segment::encode(records)
                } else {
                    segment::tests::encode_unsorted(records)
                };
                fs::write(index_dir.join(format!("seg-t-{n:08}{SEG_EXT}")), bytes).unwrap();
            }
            let (before, _) = view(dir.path());
            compact_streaming(dir.path(), Prune::default()).unwrap().unwrap();
            let l = list(&index_dir).unwrap();
            proptest::prop_assert!(l.segments.is_empty(), "{:?}", l.segments);
            let (after, idx) = view(dir.path());
            proptest::prop_assert_eq!(&after, &before);
            for (path, e) in &idx.entries {
                for (v, rel) in e.variants.iter() {
                    let named = all.iter().any(|r| matches!(r, Record::Entry(p, o)
                        if p == path && o.hash == e.hash && o.variants.get(v) == Some(rel)));
                    proptest::prop_assert!(named, "{} {} {}", path, v, rel);
                }
            }
            // Compacting again changes nothing; pruning drops tombstones, cleared
            // failures and unreferenced artifact records only.
            compact_streaming(dir.path(), Prune::default()).unwrap().unwrap();
            proptest::prop_assert_eq!(&view(dir.path()).0, &before);
            let prune = Prune { tombstones: true, unreferenced: true };
            compact_streaming(dir.path(), prune).unwrap().unwrap();
            let (pruned, pidx) = view(dir.path());
            proptest::prop_assert!(pruned.1.is_empty());
            proptest::prop_assert_eq!(&pruned.0, &before.0);
            proptest::prop_assert_eq!(&pruned.3, &before.3);
            let referenced: std::collections::BTreeSet<&String> =
                pidx.entries.values().flat_map(|e| e.variants.values()).collect();
            let kept: BTreeMap<String, Artifact> = before.2.iter()
                .filter(|(r, _)| referenced.contains(r))
                .map(|(r, a)| (r.clone(), a.clone()))
                .collect();
            proptest::prop_assert_eq!(&pruned.2, &kept);
        }
    }

    /// Records over a few keys and times, so that the same key meets itself across
    /// segments and ties happen.
    fn small_record() -> impl proptest::strategy::Strategy<Value = Record> {
        use proptest::prelude::*;
        let path = || proptest::sample::select(vec!["/a", "/b", "/b/c", "/bc", "/é"]);
        let hash = || proptest::sample::select(vec!["h1", "h2"]);
        let rel = || proptest::sample::select(vec!["objects/h1/x", "objects/h2/y", "objects/h1/z"]);
        prop_oneof![
            4 => (path(), 0i64..4, hash(), proptest::collection::vec((proptest::sample::select(vec!["v", "w"]), rel()), 0..2))
                .prop_map(|(p, at, h, vs)| Record::Entry(p.into(), entry(at, h, &vs))),
            2 => (path(), 0i64..4).prop_map(|(p, at)| Record::Removed(p.into(), at)),
            2 => (rel(), 0i64..4, hash()).prop_map(|(r, at, h)| Record::Artifact(r.into(), Artifact {
                source_hash: h.into(),
                variant: "v".into(),
                producer: "p".into(),
                size: at as u64,
                checksum: format!("c{at}"),
                fp: None,
                at,
            })),
            1 => (path(), 0i64..4, proptest::bool::ANY).prop_map(|(p, at, failed)| Record::Failure(
                p.into(),
                at,
                failed.then(|| Failure {
                    variant: "v".into(),
                    producer: "p".into(),
                    error: "e".into(),
                    at: "t".into(),
                }),
            )),
            1 => (0i64..4).prop_map(|at| Record::Variant("v".into(), at, VariantInfo {
                producer: format!("p{at}"),
                ext: String::new(),
            })),
            1 => (0i64..4).prop_map(|at| Record::Sidecars(at, vec![format!("*.{at}")])),
        ]
    }
}
