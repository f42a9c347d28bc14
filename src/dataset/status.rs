//! `status`: what changed since the cache was built, and which artifacts are missing.
//! Writes nothing (unless asked to re-stamp entries whose content it checked).

use super::cache::DatasetCache;
use super::error::DatasetError;
use super::layout::{variant_key, OBJECTS_DIR};
use super::model::Record;
use super::objects::ObjectSet;
use super::scan::{scan, Detail, FileState, Scanned};
use super::serve::serving;
use super::sidecars::Rule;
use super::sources::Sources;
use super::store::{self, Snapshot};
use super::view::EntryRef;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use xxhash_rust::xxh3::xxh3_128;

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
    /// Record the new fingerprints of files whose content was read and found the same
    /// (racy or touched), so that the next status trusts them on metadata.
    pub update: bool,
    /// Group files into items with these sidecar globs (default: the rule the index
    /// records, see [`BuildOptions::sidecars`](super::BuildOptions::sidecars)).
    pub sidecars: Option<Vec<String>>,
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
    /// The source (absolute).
    pub path: String,
    /// Its state since the last record.
    pub state: FileState,
    /// Its content hash, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Another source in the cache has identical content.
    pub duplicate: bool,
    /// Variant → artifact state (not for removed or unreadable files).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactState>,
    /// Why it could not be read, for an unreadable file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error of the last failed build of this file, if it has not been built since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Totals of a status report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Files new since the last build.
    pub new: usize,
    /// Files whose content changed.
    pub changed: usize,
    /// Files whose metadata moved but content did not.
    pub touched: usize,
    /// Files unchanged.
    pub unchanged: usize,
    /// Indexed files gone from the sources.
    pub removed: usize,
    /// Files that cannot be read (broken links, special files, non-UTF-8 names).
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
    /// The variants looked at.
    pub variants: Vec<String>,
    /// The totals.
    pub counts: StatusCounts,
    /// Bytes read to validate files.
    pub bytes_hashed: u64,
    /// Entries re-stamped ([`StatusOptions::update`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub updated: usize,
    /// The files (only those needing attention with `changes_only`).
    pub files: Vec<FileStatus>,
    /// Index fallbacks and migrations (also printed by the CLI on stderr).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Whether the tree was read from a file-system watcher (`dataset watch`) rather
    /// than walked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub watched: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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

/// The keys that occur more than once in `keys` (xxh3-128 hashes, so uniformly
/// distributed): the keys are moved, in place, into buckets by their top bits (about 16
/// keys a bucket: one counting pass, then each key swapped once into its bucket), so
/// equal keys share a bucket, and each bucket is sorted on its own. Cheaper than sorting
/// the whole vector (100,000 keys: a fifth of the comparisons), which `status` did before.
fn repeated(mut keys: Vec<u128>) -> HashSet<u128> {
    if keys.len() < 2 {
        return HashSet::new();
    }
    let bits = (keys.len() / 16).max(2).ilog2().min(24);
    let bucket = |k: u128| (k >> (128 - bits)) as usize;
    // starts[b]..starts[b + 1]: bucket b, once the keys are in place.
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &k in &keys {
        starts[bucket(k) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    // next[b]: the first place of bucket b not yet holding one of its keys.
    let mut next = starts.clone();
    for b in 0..(1 << bits) {
        while next[b] < starts[b + 1] {
            let d = bucket(keys[next[b]]);
            if d != b {
                keys.swap(next[b], next[d]);
            }
            next[d] += 1;
        }
    }
    let mut shared = HashSet::new();
    for w in starts.windows(2) {
        let run = &mut keys[w[0]..w[1]];
        run.sort_unstable();
        shared.extend(run.windows(2).filter(|p| p[0] == p[1]).map(|p| p[0]));
    }
    shared
}

/// A variant checked by `status`: (variant, producer if known, extension, variant key).
type Target = (String, Option<String>, String, String);

impl DatasetCache {
    /// The index and the artifacts on disk (the base's record of settled `objects/`
    /// directories spares listing them).
    fn load_with_objects(&self) -> Result<(Snapshot, ObjectSet), DatasetError> {
        let snap = self.snapshot()?;
        let objects = self.dir().join(OBJECTS_DIR);
        let present = match &snap.base {
            Some(b) => ObjectSet::list(&objects, &b.objects, b.clock),
            None => ObjectSet::list(&objects, &[], 0),
        };
        Ok((snap, present))
    }

    /// Compare `sources` with the index: what is new, changed, touched, removed,
    /// unchanged, unreadable, duplicated, and which artifacts are missing. Changes
    /// nothing on disk (unless [`StatusOptions::update`]).
    pub fn status(
        &self,
        sources: &Sources,
        opts: &StatusOptions,
    ) -> Result<StatusReport, DatasetError> {
        let (snap, present) = self.load_with_objects()?;
        self.status_loaded(sources, &snap, present, opts)
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
        let (snap, present) = loaded?;
        self.status_loaded(&sources?, &snap, present, opts)
    }

    fn status_loaded(
        &self,
        sources: &Sources,
        snap: &Snapshot,
        present: ObjectSet,
        opts: &StatusOptions,
    ) -> Result<StatusReport, DatasetError> {
        let globs = opts.sidecars.as_ref().unwrap_or(&snap.sidecars.1);
        let grouped = sources.items(&Rule::new(globs)?);
        let sources = &grouped;
        let entries = snap.entries();
        let scanned = scan(&entries, sources, opts.trust_index);
        let exists = |rel: &str, vouched: bool| present.contains(rel, vouched);

        let variants: Vec<String> = match &opts.variant {
            Some(v) => vec![v.clone()],
            None => snap.variants.keys().cloned().collect(),
        };
        // (variant, producer, ext) for each variant checked; a variant nobody built has no
        // producer and every artifact of it is missing.
        let targets: Vec<Target> = variants
            .iter()
            .map(|v| {
                let info = snap.variant(v);
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
        // in one instruction), equal keys found by [`repeated`]. A hash map counting
        // 100,000 string keys one by one costs several times more.
        let key = |hash: &str| xxh3_128(hash.as_bytes());
        let mut keys: Vec<u128> = scanned
            .files
            .par_iter()
            .with_min_len(1024)
            .filter_map(|s| s.hash(&entries).map(key))
            .collect();
        keys.extend(scanned.unmatched.iter().filter_map(|&j| {
            let (p, e) = entries.get(j as usize);
            (!sources.covers(p)).then(|| key(e.hash))
        }));
        let shared = repeated(keys);
        let duplicate = |e: EntryRef| !shared.is_empty() && shared.contains(&key(e.hash));

        let artifact_state = |e: EntryRef, (v, producer, ext, key): &Target| match producer {
            Some(p) => {
                let certify = |rel: &str| {
                    snap.artifact(rel).is_some_and(|a| {
                        &a.producer == p && &a.variant == v && a.source_hash == e.hash
                    })
                };
                match serving(e, v, ext, key, &certify, &exists) {
                    Some((_, false)) => ArtifactState::Present,
                    Some((_, true)) => ArtifactState::Reusable,
                    None => ArtifactState::Missing,
                }
            }
            None => ArtifactState::Missing,
        };
        let any_failure = snap.has_failures();
        let failure =
            |path: &str| -> Option<String> { snap.failure(path).map(|f| f.error.clone()) };
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
                && (!any_failure || failure(&sources.get(i).path()).is_none())
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
        let read = |s: &&Scanned| matches!(s.detail.as_deref(), Some(Detail::Read { .. }));
        counts.hashed = scanned.files.iter().filter(read).count();
        let mut updated = 0;
        if opts.update {
            let records: Vec<Record> = scanned
                .files
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    read(s) && matches!(s.state, FileState::Unchanged | FileState::Touched)
                })
                .filter_map(|(i, s)| {
                    Some(Record::Entry(
                        sources.get(i).path(),
                        s.entry(&entries)?.to_entry(),
                    ))
                })
                .collect();
            updated = records.len();
            self.writer().append(&records)?;
            // Re-stamping a large share of the entries (right after a first build, all
            // of them may be racy) leaves a segment every later command must merge:
            // fold it into the base as a build would.
            if store::compaction_due(self.dir())? {
                store::compact_streaming(self.dir(), store::Prune::default())?;
            }
        }
        Ok(StatusReport {
            variants,
            counts,
            bytes_hashed: scanned.files.iter().map(Scanned::bytes_read).sum(),
            updated,
            files,
            warnings: snap.warnings.clone(),
            watched: sources.watched(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::repeated;

    #[test]
    fn repeated_finds_exactly_the_keys_seen_twice() {
        for n in [0usize, 1, 2, 3, 17, 100, 5000] {
            let mut keys: Vec<u128> = (0..n as u128)
                .map(|i| xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes()))
                .collect();
            // Some keys twice or three times, and extremes of the key space.
            let dups: Vec<u128> = keys.iter().step_by(7).copied().collect();
            keys.extend(&dups);
            keys.extend(dups.iter().step_by(3));
            keys.extend([0, 0, u128::MAX, u128::MAX, 1]);
            let mut want: Vec<u128> = dups.clone();
            want.extend([0, u128::MAX]);
            want.sort_unstable();
            want.dedup();
            let mut got: Vec<u128> = repeated(keys).into_iter().collect();
            got.sort_unstable();
            assert_eq!(got, want, "{n} keys");
        }
    }
}
