//! A dataset cache directory and the read-only questions asked of it: status and get.
//!
//! ```text
//! <cache>/index.json            the index (plus index.json.tmp / index.json.bak, see index)
//! <cache>/.lock                 held around every load-modify-save of the index
//! <cache>/.build.lock           shared by running builds, exclusive for gc
//! <cache>/objects/<h[..2]>/<h>-<k>[.ext]   artifacts: h = source content hash,
//!                                          k = hash of (variant, producer, extension)
//! ```

use super::error::{io_at, DatasetError};
use super::fingerprint::Fingerprint;
use super::index::{self, Artifact, Index, Lean, Loaded};
use super::objects::ObjectSet;
use super::scan::{scan, FileState, Scanned};
use super::sources::{path_str, Shard, Sources};
use super::view::{Entries, EntryRef};
use crate::fsutil::{self, LockGuard};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use xxhash_rust::xxh3::xxh3_128;

pub const LOCK_FILE: &str = ".lock";
pub const BUILD_LOCK_FILE: &str = ".build.lock";
pub const OBJECTS_DIR: &str = "objects";

/// Environment variable that turns on trust mode (`1`, `true`, `yes`), as `--trust-index`.
pub const TRUST_ENV: &str = "SMARTCACHE_TRUST_INDEX";

/// Whether [`TRUST_ENV`] asks for trust mode.
pub fn trust_from_env() -> bool {
    std::env::var(TRUST_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// The artifact path (relative to the cache directory) for content `hash` under
/// `variant`, `producer` and extension `ext` (without the dot; may be empty). Identical
/// contents get the same path, so they share one artifact; another variant or producer
/// gets another path, so variants coexist and producers never mix.
pub fn artifact_name(hash: &str, variant: &str, producer: &str, ext: &str) -> String {
    artifact_name_keyed(hash, &variant_key(variant, producer, ext), ext)
}

/// The part of an artifact name that depends on (variant, producer, extension) only.
fn variant_key(variant: &str, producer: &str, ext: &str) -> String {
    let key = crate::hash::hex128(format!("{variant}\0{producer}\0{ext}").as_bytes());
    key[..16].to_string()
}

/// [`artifact_name`] with the variant key computed once for many sources.
fn artifact_name_keyed(hash: &str, key: &str, ext: &str) -> String {
    let prefix = hash.get(..2).unwrap_or("00");
    let dot = if ext.is_empty() { "" } else { "." };
    format!("{OBJECTS_DIR}/{prefix}/{hash}-{key}{dot}{ext}")
}

/// `rel == artifact_name_keyed(hash, key, ext)`, without building the name.
fn is_derived(rel: &str, hash: &str, key: &str, ext: &str) -> bool {
    let rest = rel
        .strip_prefix(OBJECTS_DIR)
        .and_then(|r| r.strip_prefix('/'));
    let rest = rest.and_then(|r| r.strip_prefix(hash.get(..2).unwrap_or("00")));
    let rest = rest.and_then(|r| r.strip_prefix('/'));
    let rest = rest.and_then(|r| r.strip_prefix(hash));
    let rest = rest.and_then(|r| r.strip_prefix('-'));
    let rest = rest.and_then(|r| r.strip_prefix(key));
    match rest {
        Some("") => ext.is_empty(),
        Some(r) => !ext.is_empty() && r.strip_prefix('.') == Some(ext),
        None => false,
    }
}

/// [`DatasetCache::serving_artifact`] with the variant key computed by the caller, and
/// without building the artifact's name when the entry's own artifact serves. `exists`
/// is also told whether the name is the one the entry records (see [`ObjectSet`]).
#[allow(clippy::too_many_arguments)]
fn serving_artifact_keyed<'a>(
    artifacts: &BTreeMap<String, Artifact>,
    exists: &dyn Fn(&str, bool) -> bool,
    entry: EntryRef<'a>,
    variant: &str,
    producer: &str,
    ext: &str,
    key: &str,
) -> Option<(std::borrow::Cow<'a, str>, bool)> {
    if let Some(rel) = entry.variants.get(variant) {
        let certified = is_derived(rel, entry.hash, key, ext)
            || artifacts.get(rel).is_some_and(|a| {
                a.producer == producer && a.variant == variant && a.source_hash == entry.hash
            });
        if certified && exists(rel, true) {
            return Some((rel.into(), false));
        }
    }
    let derived = artifact_name_keyed(entry.hash, key, ext);
    if exists(&derived, false) {
        return Some((derived.into(), true));
    }
    None
}

/// A variant checked by `status`: (variant, producer if known, extension, variant key).
type Target = (String, Option<String>, String, String);

/// A dataset cache directory.
#[derive(Debug, Clone)]
pub struct DatasetCache {
    dir: PathBuf,
    /// Directories under `dir` already checked not to lead outside it.
    safe_dirs: Arc<Mutex<HashSet<PathBuf>>>,
}

/// What `status` should look at.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    /// The variant to check artifacts for; `None` checks every variant the index knows.
    pub variant: Option<String>,
    /// The producer artifacts must come from; `None` uses the one the index records for
    /// the variant.
    pub producer: Option<String>,
    /// Artifact extension for the reuse lookup (default: the one recorded).
    pub ext: Option<String>,
    /// Skip per-file validation of indexed files (slow storage; only when asked).
    pub trust_index: bool,
    /// List in [`StatusReport::files`] only the files that need attention (not unchanged,
    /// an artifact not present, or a recorded failure); the counts still cover every
    /// file. Spares building 100,000 rows to print a summary.
    pub changes_only: bool,
}

/// Whether a source's artifact for one variant can be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactState {
    /// Recorded for this source, from the right producer, on disk.
    Present,
    /// Not recorded for this source, but an artifact of identical content exists: a build
    /// links it without running the transform (deduplication).
    Reusable,
    /// The transform has to run.
    Missing,
}

/// One file in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    pub path: String,
    pub state: FileState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Another source in the cache has identical content.
    pub duplicate: bool,
    /// Variant → artifact state (not for removed or unreadable files).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error of the last failed build of this file, if it has not been built since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Totals of a status report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub new: usize,
    pub changed: usize,
    pub touched: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub unreadable: usize,
    /// Files whose content another source also has.
    pub deduplicated: usize,
    /// (file, variant) pairs whose artifact is missing and must be built.
    pub missing_artifacts: usize,
    /// (file, variant) pairs that a build serves from an identical-content artifact.
    pub reusable_artifacts: usize,
    /// Files with a recorded build failure.
    pub failed: usize,
    /// Files whose content was read to validate them.
    pub hashed: usize,
}

/// The answer of [`DatasetCache::status`].
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub variants: Vec<String>,
    pub counts: StatusCounts,
    pub bytes_hashed: u64,
    pub files: Vec<FileStatus>,
    /// Index fallbacks and migrations (also printed by the CLI on stderr).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl StatusReport {
    /// Nothing to do: every file unchanged, every artifact present.
    pub fn is_clean(&self) -> bool {
        let c = &self.counts;
        c.new
            + c.changed
            + c.touched
            + c.removed
            + c.unreadable
            + c.missing_artifacts
            + c.reusable_artifacts
            == 0
    }
}

impl DatasetCache {
    /// Open (creating if needed) the cache directory `dir`.
    pub fn open(dir: &Path) -> Result<DatasetCache, DatasetError> {
        fsutil::create_dir_all(dir)?;
        let dir = fs::canonicalize(dir).map_err(io_at(dir))?;
        Ok(DatasetCache {
            dir,
            safe_dirs: Arc::default(),
        })
    }

    /// The cache directory `dir` for reading only: nothing is created, and a directory
    /// that does not exist yet is an empty cache (so `status` changes nothing on disk).
    pub fn at(dir: &Path) -> Result<DatasetCache, DatasetError> {
        let dir = match fs::canonicalize(dir) {
            Ok(d) => d,
            Err(_) => std::path::absolute(dir).map_err(io_at(dir))?,
        };
        Ok(DatasetCache {
            dir,
            safe_dirs: Arc::default(),
        })
    }

    /// The canonical cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take the cache lock (for a load-modify-save of the index).
    pub fn lock(&self) -> Result<LockGuard, DatasetError> {
        Ok(LockGuard::acquire(&self.dir.join(LOCK_FILE))?)
    }

    /// Load the index (under the lock, so a concurrent save's rename window is never seen).
    pub fn load(&self) -> Result<Loaded, DatasetError> {
        if !self.dir.is_dir() {
            return Ok(Loaded {
                index: Index::default(),
                warnings: Vec::new(),
                migrated_from: None,
            });
        }
        let _lock = self.lock()?;
        index::load(&self.dir)
    }

    /// Load for `status`: without the artifact table when every entry names its
    /// artifacts by derived path (the common case; those certify themselves), read in
    /// place from `index.table` when it is current.
    fn load_for_status(&self) -> Result<Lean, DatasetError> {
        if !self.dir.is_dir() {
            return self.load().map(Lean::Json);
        }
        let lean = {
            let _lock = self.lock()?;
            index::load_lean(&self.dir)?
        };
        // `rel` starts with `objects/<hash[..2]>/<hash>-` (checked without building it).
        let named_after = |e: EntryRef| {
            e.variants.all(|_, rel| {
                rel.strip_prefix(OBJECTS_DIR)
                    .and_then(|r| r.strip_prefix('/'))
                    .and_then(|r| r.strip_prefix(e.hash.get(..2).unwrap_or("")))
                    .and_then(|r| r.strip_prefix('/'))
                    .and_then(|r| r.strip_prefix(e.hash))
                    .is_some_and(|r| r.starts_with('-'))
            })
        };
        let all_derived = match &lean {
            Lean::Table(t) => (0..t.len()).all(|i| named_after(t.entry(i).1)),
            Lean::Json(l) => l
                .index
                .entries
                .values()
                .all(|e| named_after(EntryRef::of(e))),
        };
        if all_derived {
            Ok(lean)
        } else {
            self.load().map(Lean::Json)
        }
    }

    /// Expand source arguments into files, leaving out the cache directory itself.
    pub fn sources(&self, args: &[PathBuf], shard: Option<Shard>) -> Result<Sources, DatasetError> {
        Ok(Sources::collect(args, Some(&self.dir), true)?.shard(shard))
    }

    /// [`Self::sources`] without fingerprinting during the walk (trust mode on slow
    /// storage, where a `stat` per file is what costs).
    pub fn sources_unstatted(
        &self,
        args: &[PathBuf],
        shard: Option<Shard>,
    ) -> Result<Sources, DatasetError> {
        Ok(Sources::collect(args, Some(&self.dir), false)?.shard(shard))
    }

    /// Resolve an artifact path read from the index, refusing anything that leaves the
    /// cache directory (`..`, absolute paths, symlinks pointing out, non-object paths).
    pub fn artifact_path(&self, rel: &str) -> Result<PathBuf, DatasetError> {
        self.confine(rel).map(|(p, _)| p)
    }

    /// [`Self::artifact_path`], also returning the file's metadata when it exists.
    ///
    /// Same guarantee as [`fsutil::safe_join`] at a fraction of its cost (status checks
    /// one artifact per source): the path is checked lexically, each directory on the way
    /// is checked once per process not to be a symlink leading out, and the file itself
    /// costs one `lstat` (a symlink is resolved and must stay inside).
    pub(crate) fn confine(
        &self,
        rel: &str,
    ) -> Result<(PathBuf, Option<fs::Metadata>), DatasetError> {
        let escapes = || -> DatasetError {
            fsutil::FsError::Escapes {
                path: rel.to_string(),
                base: self.dir.clone(),
            }
            .into()
        };
        let rel_path = Path::new(rel);
        let lexically_ok = rel.starts_with("objects/")
            && !rel.contains('\0')
            && rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !lexically_ok {
            return Err(escapes());
        }
        let full = self.dir.join(rel_path);
        let mut dir = self.dir.clone();
        let parts: Vec<Component> = rel_path.components().collect();
        for c in &parts[..parts.len() - 1] {
            dir.push(c);
            if !self.dir_is_inside(&dir) {
                return Err(escapes());
            }
        }
        match fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&full) {
                Ok(real) if real.starts_with(&self.dir) => Ok((full, fs::metadata(&real).ok())),
                Ok(_) => Err(escapes()),
                Err(_) => Ok((full, None)),
            },
            Ok(m) => Ok((full, Some(m))),
            Err(_) => Ok((full, None)),
        }
    }

    /// Whether `dir` (below the cache directory) is a real directory inside it, or does not
    /// exist; remembered once true.
    fn dir_is_inside(&self, dir: &Path) -> bool {
        let mut known = self.safe_dirs.lock().unwrap_or_else(|p| p.into_inner());
        if known.contains(dir) {
            return true;
        }
        let ok = match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(dir).is_ok_and(|real| real.starts_with(&self.dir))
            }
            Ok(_) => true,
            Err(_) => return true, // absent: nothing to follow (not remembered)
        };
        if ok {
            known.insert(dir.to_path_buf());
        }
        ok
    }

    /// Whether the artifact file `rel` is on disk, inside the cache (one `lstat`).
    pub(crate) fn artifact_exists(&self, rel: &str) -> bool {
        matches!(self.confine(rel), Ok((_, Some(m))) if m.is_file())
    }

    /// The artifact files under `objects/` for the index `lean` (see [`ObjectSet`]): the
    /// table's record of settled directories spares listing them.
    fn list_objects(&self, lean: &Lean) -> ObjectSet {
        let objects = self.dir.join(OBJECTS_DIR);
        match lean {
            Lean::Table(t) => ObjectSet::list(&objects, &t.objects, t.clock),
            Lean::Json(_) => ObjectSet::list(&objects, &[], 0),
        }
    }

    /// The index for `status` and the artifacts on disk.
    fn load_with_objects(&self) -> Result<(Lean, ObjectSet), DatasetError> {
        let lean = self.load_for_status()?;
        let present = self.list_objects(&lean);
        Ok((lean, present))
    }

    /// Which artifact serves `entry` for `variant` from `producer`, if any: its own, else
    /// the artifact of identical content (flag `reused`). An artifact path derived from
    /// (content hash, variant, producer) certifies itself; any other recorded path (from a
    /// migrated index) must have a matching artifact record. `exists` says whether an
    /// artifact file is present.
    pub(crate) fn serving_artifact(
        &self,
        artifacts: &BTreeMap<String, Artifact>,
        exists: &dyn Fn(&str) -> bool,
        entry: EntryRef,
        variant: &str,
        producer: &str,
        ext: &str,
    ) -> Option<(String, bool)> {
        let key = variant_key(variant, producer, ext);
        let exists = |rel: &str, _: bool| exists(rel);
        serving_artifact_keyed(artifacts, &exists, entry, variant, producer, ext, &key)
            .map(|(rel, reused)| (rel.into_owned(), reused))
    }

    /// Compare `sources` with the index: what is new, changed, touched, removed,
    /// unchanged, duplicated, and which artifacts are missing. Changes nothing on disk.
    pub fn status(
        &self,
        sources: &Sources,
        opts: &StatusOptions,
    ) -> Result<StatusReport, DatasetError> {
        let (lean, present) = self.load_with_objects()?;
        self.status_loaded(sources, lean, present, opts)
    }

    /// [`Self::status`] of the source arguments `args`: the directory walk runs while the
    /// index is loaded and the artifacts listed.
    pub fn status_of(
        &self,
        args: &[PathBuf],
        opts: &StatusOptions,
    ) -> Result<StatusReport, DatasetError> {
        let (sources, loaded) = rayon::join(
            || {
                if opts.trust_index {
                    self.sources_unstatted(args, None)
                } else {
                    self.sources(args, None)
                }
            },
            || self.load_with_objects(),
        );
        let (lean, present) = loaded?;
        self.status_loaded(&sources?, lean, present, opts)
    }

    fn status_loaded(
        &self,
        sources: &Sources,
        lean: Lean,
        present: ObjectSet,
        opts: &StatusOptions,
    ) -> Result<StatusReport, DatasetError> {
        let (index, entries, warnings) = match &lean {
            Lean::Table(t) => (&t.head, Entries::Table(t), Vec::new()),
            Lean::Json(l) => (&l.index, Entries::of(&l.index), l.warnings.clone()),
        };
        let scanned = scan(&entries, sources, opts.trust_index);
        let exists = |rel: &str, named: bool| present.contains(rel, named);

        let variants: Vec<String> = match &opts.variant {
            Some(v) => vec![v.clone()],
            None => index.variants.keys().cloned().collect(),
        };
        // (variant, producer, ext) for each variant checked; a variant nobody built has no
        // producer and every artifact of it is missing.
        let targets: Vec<Target> = variants
            .iter()
            .map(|v| {
                let info = index.variants.get(v);
                let producer = opts
                    .producer
                    .clone()
                    .or_else(|| info.map(|i| i.producer.clone()));
                let ext = opts
                    .ext
                    .clone()
                    .or_else(|| info.map(|i| i.ext.clone()))
                    .unwrap_or_default();
                let key = producer
                    .as_deref()
                    .map(|p| variant_key(v, p, &ext))
                    .unwrap_or_default();
                (v.clone(), producer, ext, key)
            })
            .collect();

        // Contents held by more than one source, over the cache as it would be after this
        // scan: every content hash in one vector (as xxh3-128 keys: fixed size, compared
        // in one instruction), sorted in parallel, runs of equal keys picked out. A hash
        // map counting 100,000 string keys one by one costs several times more.
        let key = |hash: &str| xxh3_128(hash.as_bytes());
        let mut keys: Vec<u128> = scanned
            .files
            .par_iter()
            .with_min_len(1024)
            .filter_map(|s| s.entry(&entries).map(|e| key(e.hash)))
            .collect();
        keys.extend(scanned.unmatched.iter().filter_map(|&j| {
            let (p, e) = entries.get(j as usize);
            (!sources.covers(p)).then(|| key(e.hash))
        }));
        keys.par_sort_unstable();
        let shared: HashSet<u128> = keys
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        drop(keys);
        let duplicate = |e: EntryRef| !shared.is_empty() && shared.contains(&key(e.hash));

        let artifact_state = |e: EntryRef, (v, producer, ext, key): &Target| match producer {
            Some(p) => match serving_artifact_keyed(&index.artifacts, &exists, e, v, p, ext, key) {
                Some((_, false)) => ArtifactState::Present,
                Some((_, true)) => ArtifactState::Reusable,
                None => ArtifactState::Missing,
            },
            None => ArtifactState::Missing,
        };
        let failure =
            |path: &str| -> Option<String> { index.failures.get(path).map(|f| f.error.clone()) };
        // With `changes_only`, an unchanged file with every artifact present and no recorded
        // failure is counted without building its row (no path, hash or map copied).
        // `entry` is `s.entry(&entries)`, decoded once per file by the caller.
        let clean = |i: usize, s: &Scanned, entry: Option<EntryRef>| {
            opts.changes_only
                && s.state == FileState::Unchanged
                && entry.is_some_and(|e| {
                    targets
                        .iter()
                        .all(|t| artifact_state(e, t) == ArtifactState::Present)
                })
                && (index.failures.is_empty() || failure(&sources.get(i).path()).is_none())
        };
        let row = |i: usize, s: &Scanned, entry: Option<EntryRef>| {
            let path = sources.get(i).path();
            FileStatus {
                state: s.state,
                hash: entry.map(|e| e.hash.to_string()),
                duplicate: entry.is_some_and(duplicate),
                artifacts: match entry {
                    Some(e) => targets
                        .iter()
                        .map(|t| (t.0.clone(), artifact_state(e, t)))
                        .collect(),
                    None => BTreeMap::new(),
                },
                error: s.error().map(str::to_string),
                failure: failure(&path),
                path,
            }
        };
        // (listed rows, clean files, clean files that are duplicates), in path order.
        let (mut files, clean_files, clean_duplicates) = scanned
            .files
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .fold(
                || (Vec::new(), 0usize, 0usize),
                |(mut rows, n, d), (i, s)| {
                    let entry = s.entry(&entries);
                    if clean(i, s, entry) {
                        let dup = entry.is_some_and(duplicate);
                        (rows, n + 1, d + usize::from(dup))
                    } else {
                        rows.push(row(i, s, entry));
                        (rows, n, d)
                    }
                },
            )
            .reduce(
                || (Vec::new(), 0, 0),
                |(mut a, n1, d1), (b, n2, d2)| {
                    a.extend(b);
                    (a, n1 + n2, d1 + d2)
                },
            );
        for &j in &scanned.unmatched {
            let (p, e) = entries.get(j as usize);
            if sources.covers(p) {
                files.push(FileStatus {
                    path: p.to_string(),
                    state: FileState::Removed,
                    hash: Some(e.hash.to_string()),
                    duplicate: false,
                    artifacts: BTreeMap::new(),
                    error: None,
                    failure: None,
                });
            }
        }
        // Scanned rows come in path order; removed files are merged in (a stable sort of
        // two sorted runs is one merge).
        files.sort_by(|a, b| a.path.cmp(&b.path));

        let mut counts = StatusCounts {
            unchanged: clean_files,
            deduplicated: clean_duplicates,
            ..StatusCounts::default()
        };
        for f in &files {
            match f.state {
                FileState::New => counts.new += 1,
                FileState::Changed => counts.changed += 1,
                FileState::Touched => counts.touched += 1,
                FileState::Unchanged => counts.unchanged += 1,
                FileState::Removed => counts.removed += 1,
                FileState::Unreadable => counts.unreadable += 1,
            }
            counts.deduplicated += usize::from(f.duplicate);
            counts.failed += usize::from(f.failure.is_some());
            for a in f.artifacts.values() {
                match a {
                    ArtifactState::Missing => counts.missing_artifacts += 1,
                    ArtifactState::Reusable => counts.reusable_artifacts += 1,
                    ArtifactState::Present => {}
                }
            }
        }
        counts.hashed = scanned
            .files
            .iter()
            .filter(|s| matches!(s.detail.as_deref(), Some(super::scan::Detail::Read { .. })))
            .count();
        Ok(StatusReport {
            variants,
            counts,
            bytes_hashed: scanned.files.iter().map(Scanned::bytes_read).sum(),
            files,
            warnings,
        })
    }

    /// The artifact serving `source` for `variant`. The source is validated first (unless
    /// `trust_index`): a changed source is an error, a vanished one is served from the
    /// cache (sourceless use).
    pub fn get(
        &self,
        source: &Path,
        variant: &str,
        producer: Option<&str>,
        trust_index: bool,
    ) -> Result<PathBuf, DatasetError> {
        let key_path = match fs::canonicalize(source) {
            Ok(p) => p,
            Err(_) => std::path::absolute(source).map_err(io_at(source))?,
        };
        let key = path_str(&key_path)?;
        let Loaded { index, .. } = self.load()?;
        let entry = index
            .entries
            .get(key)
            .ok_or_else(|| DatasetError::NotIndexed {
                path: key_path.clone(),
            })?;
        if !trust_index {
            if let Ok(fp) = Fingerprint::of(&key_path) {
                let trusted = fp == entry.fp && !fp.is_racy(entry.at);
                if !trusted {
                    let h = super::hash_file(&key_path).map_err(io_at(&key_path))?;
                    if h != entry.hash {
                        return Err(DatasetError::Stale { path: key_path });
                    }
                }
            }
        }
        let no = |why: String| DatasetError::NoArtifact {
            path: key_path.clone(),
            variant: variant.to_string(),
            why,
        };
        let info = index.variants.get(variant);
        let producer = producer
            .map(str::to_string)
            .or_else(|| info.map(|i| i.producer.clone()))
            .ok_or_else(|| no(" (the variant was never built)".into()))?;
        let ext = info.map(|i| i.ext.as_str()).unwrap_or("");
        let exists = |rel: &str| self.artifact_exists(rel);
        match self.serving_artifact(
            &index.artifacts,
            &exists,
            EntryRef::of(entry),
            variant,
            &producer,
            ext,
        ) {
            Some((rel, _)) => self.artifact_path(&rel),
            None => Err(no(format!(
                " from producer `{producer}` (run `smartcache dataset build`)"
            ))),
        }
    }
}
