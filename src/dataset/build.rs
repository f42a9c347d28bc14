//! `build`: run the transform only where needed, publish artifacts atomically, and
//! checkpoint the index so that a crash loses at most one interval of work (a build
//! cancelled through [`BuildOptions::cancel`] loses nothing).
//!
//! A build never holds the cache lock while transforms run. It keeps its changes as a
//! [`Delta`] and, at each checkpoint, takes the lock, re-reads the index from disk,
//! applies the delta and saves. Several builds (farm nodes, each with its own shard) can
//! therefore run at once on one cache and every one's entries survive. Builds hold a
//! shared lock on `.build.lock` for their whole run; garbage collection takes it
//! exclusively, so it never deletes an artifact a running build is about to record.

use super::cache::{artifact_name, DatasetCache, BUILD_LOCK_FILE};
use super::error::{io_at, DatasetError};
use super::fingerprint::{now_ns, Fingerprint};
use super::hashing::hash_file_counted;
use super::index::{self, Artifact, Entry, Failure, Index, VariantInfo};
use super::scan::{scan, FileState, Scan};
use super::sources::Sources;
use super::view::{Entries, EntryRef};
use crate::fsutil;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Turns one source file into one artifact. The output path is a temporary file in the
/// cache; the transform writes it (and nothing else) and reports failure as text.
pub trait Transform: Sync {
    fn run(&self, input: &Path, output: &Path) -> Result<(), String>;
}

impl<F> Transform for F
where
    F: Fn(&Path, &Path) -> Result<(), String> + Sync,
{
    fn run(&self, input: &Path, output: &Path) -> Result<(), String> {
        self(input, output)
    }
}

/// Told about a build's progress (the CLI draws a progress bar with it).
pub trait BuildObserver: Sync {
    /// The number of transforms about to run.
    fn planned(&self, _transforms: u64) {}
    /// One transform finished (`error` is `Some` when it failed).
    fn finished(&self, _source: &str, _error: Option<&str>) {}
}

/// A [`BuildObserver`] that ignores everything.
pub struct Quiet;
impl BuildObserver for Quiet {}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub variant: String,
    /// Transform name and version; artifacts of another producer are never served.
    pub producer: String,
    /// Extension of artifact files, without the dot (some tools pick the output format
    /// from it); empty for none.
    pub ext: String,
    /// Transforms run at once (0: one per core).
    pub jobs: usize,
    /// How often the index is saved during a build.
    pub checkpoint: Duration,
    /// Skip per-file validation of indexed files.
    pub trust_index: bool,
    /// Set to stop the build early (Ctrl-C): no further transform starts, the ones
    /// running finish, and the index is saved with everything finished. A transform that
    /// fails once this is set is not recorded as a failure: it was most likely
    /// interrupted along with the build, and simply runs again next time.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl BuildOptions {
    pub fn new(variant: &str, producer: &str) -> BuildOptions {
        BuildOptions {
            variant: variant.to_string(),
            producer: producer.to_string(),
            ext: String::new(),
            jobs: 0,
            checkpoint: Duration::from_secs(5),
            trust_index: false,
            cancel: None,
        }
    }
}

/// One source that could not be built.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildFailure {
    pub path: String,
    pub error: String,
}

/// What a build did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    pub new: usize,
    pub changed: usize,
    pub touched: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Transforms run (one per distinct content).
    pub transformed: usize,
    /// Sources served by an artifact of identical content without running the transform.
    pub deduplicated: usize,
    pub failures: Vec<BuildFailure>,
    /// Index saves (checkpoints plus the final one).
    pub saves: usize,
    /// Transforms not run because the build was cancelled (see [`BuildOptions::cancel`]).
    pub cancelled: usize,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The changes one build makes to the index, re-applied onto the on-disk index at every
/// checkpoint (applying it twice is the same as once).
#[derive(Debug, Clone)]
struct Delta {
    variant: String,
    info: VariantInfo,
    started: i64,
    set: BTreeMap<String, Entry>,
    removed: BTreeSet<String>,
    artifacts: BTreeMap<String, Artifact>,
    failed: BTreeMap<String, Failure>,
    cleared: BTreeSet<String>,
}

impl Delta {
    fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.removed.is_empty()
            && self.artifacts.is_empty()
            && self.failed.is_empty()
            && self.cleared.is_empty()
    }

    fn apply(&self, index: &mut Index) {
        index
            .variants
            .insert(self.variant.clone(), self.info.clone());
        index
            .artifacts
            .extend(self.artifacts.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (path, ours) in &self.set {
            match index.entries.get_mut(path) {
                // Same content: keep variants other builds recorded meanwhile.
                Some(cur) if cur.hash == ours.hash => {
                    let mut variants = cur.variants.clone();
                    variants.extend(ours.variants.iter().map(|(k, v)| (k.clone(), v.clone())));
                    *cur = Entry {
                        variants,
                        ..ours.clone()
                    };
                }
                // Another process observed the file after we did: its record wins.
                Some(cur) if cur.at > ours.at => {}
                _ => {
                    index.entries.insert(path.clone(), ours.clone());
                }
            }
        }
        for path in &self.removed {
            if index
                .entries
                .get(path)
                .is_some_and(|e| e.at <= self.started)
            {
                index.entries.remove(path);
                index.failures.remove(path);
            }
        }
        for path in &self.cleared {
            index.failures.remove(path);
        }
        index
            .failures
            .extend(self.failed.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// One transform to run: a distinct content and every source that has it.
struct Job {
    hash: String,
    /// The fingerprint of `sources[0]` when it was hashed.
    fp: Fingerprint,
    rel: String,
    /// Each source with the entry to record for it.
    sources: Vec<(String, Entry)>,
}

/// Held for a build's whole run: shared with other builds, exclusive with gc.
pub(crate) struct BuildLock(File);

impl BuildLock {
    fn shared(path: &Path) -> Result<BuildLock, DatasetError> {
        let f = lock_file(path)?;
        f.lock_shared().map_err(io_at(path))?;
        Ok(BuildLock(f))
    }

    /// Exclusive, without waiting: `Busy` while any build runs.
    pub(crate) fn try_exclusive(path: &Path) -> Result<BuildLock, DatasetError> {
        let f = lock_file(path)?;
        match f.try_lock() {
            Ok(()) => Ok(BuildLock(f)),
            Err(fs::TryLockError::WouldBlock) => Err(DatasetError::Busy),
            Err(fs::TryLockError::Error(e)) => Err(io_at(path)(e)),
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn lock_file(path: &Path) -> Result<File, DatasetError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_at(path))
}

impl DatasetCache {
    /// Bring `variant` of every source up to date, running `transform` once per distinct
    /// content that has no valid artifact. Failures are recorded and reported; the rest
    /// goes on.
    pub fn build(
        &self,
        sources: &Sources,
        opts: &BuildOptions,
        transform: &dyn Transform,
        observer: &dyn BuildObserver,
    ) -> Result<BuildReport, DatasetError> {
        if !opts.ext.chars().all(|c| c.is_ascii_alphanumeric()) || opts.ext.len() > 16 {
            return Err(DatasetError::Io {
                path: PathBuf::from(&opts.ext),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "artifact extension must be at most 16 ASCII letters or digits",
                ),
            });
        }
        let _build_lock = BuildLock::shared(&self.dir().join(BUILD_LOCK_FILE))?;
        let started = now_ns();
        let loaded = self.load()?;
        let mut report = BuildReport {
            warnings: loaded.warnings,
            ..Default::default()
        };
        let index = loaded.index;
        let entries = Entries::of(&index);
        let scanned = scan(&entries, sources, opts.trust_index);
        let mut delta = Delta {
            variant: opts.variant.clone(),
            info: VariantInfo {
                producer: opts.producer.clone(),
                ext: opts.ext.clone(),
            },
            started,
            set: BTreeMap::new(),
            removed: BTreeSet::new(),
            artifacts: BTreeMap::new(),
            failed: BTreeMap::new(),
            cleared: BTreeSet::new(),
        };
        let jobs = self.plan(
            &index,
            &entries,
            sources,
            &scanned,
            opts,
            &mut delta,
            &mut report,
        );
        for &j in &scanned.unmatched {
            let (path, _) = entries.get(j as usize);
            if sources.covers(path) {
                delta.removed.insert(path.to_string());
                report.removed += 1;
            }
        }
        drop(scanned);
        drop(entries);
        // Record the cheap part (touched, linked, removed) before the long part starts.
        if !delta.is_empty() {
            self.flush(&delta, &mut report)?;
        }

        observer.planned(jobs.len() as u64);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs)
            .build()
            .map_err(|e| DatasetError::Io {
                path: self.dir().to_path_buf(),
                source: io::Error::other(e),
            })?;
        let shared = Mutex::new((delta, report));
        let last_flush = Mutex::new(Instant::now());
        let flushing = Mutex::new(());
        let flush_error: Mutex<Option<DatasetError>> = Mutex::new(None);
        pool.install(|| {
            let cancelled = || {
                opts.cancel
                    .as_ref()
                    .is_some_and(|c| c.load(AtomicOrdering::SeqCst))
            };
            jobs.par_iter().with_max_len(1).for_each(|job| {
                if cancelled() {
                    shared.lock().unwrap_or_else(|p| p.into_inner()).1.cancelled += 1;
                    return;
                }
                let outcome = self.run_job(job, opts, transform);
                if outcome.is_err() && cancelled() {
                    shared.lock().unwrap_or_else(|p| p.into_inner()).1.cancelled += 1;
                    return;
                }
                {
                    let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
                    let (delta, report) = &mut *guard;
                    for (src, entry) in &job.sources {
                        let mut entry = entry.clone();
                        match &outcome {
                            Ok(artifact) => {
                                entry.variants.insert(opts.variant.clone(), job.rel.clone());
                                delta.artifacts.insert(job.rel.clone(), artifact.clone());
                                delta.failed.remove(src);
                                delta.cleared.insert(src.clone());
                            }
                            Err(e) => {
                                delta.failed.insert(
                                    src.clone(),
                                    Failure {
                                        variant: opts.variant.clone(),
                                        producer: opts.producer.clone(),
                                        error: e.clone(),
                                        at: chrono::Utc::now()
                                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                                    },
                                );
                                delta.cleared.remove(src);
                                report.failures.push(BuildFailure {
                                    path: src.clone(),
                                    error: e.clone(),
                                });
                            }
                        }
                        delta.set.insert(src.clone(), entry);
                    }
                    if outcome.is_ok() {
                        report.transformed += 1;
                        report.deduplicated += job.sources.len() - 1;
                    }
                }
                for (src, _) in &job.sources {
                    observer.finished(src, outcome.as_ref().err().map(String::as_str));
                }
                self.maybe_checkpoint(opts, &shared, &last_flush, &flushing, &flush_error);
            });
        });
        let (delta, mut report) = shared.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = flush_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let variant_recorded = index.variants.get(&opts.variant) == Some(&delta.info);
        // A build with nothing to record still saves when the binary table that `status`
        // reads is missing or out of date (an index written by an older version).
        let nothing_to_save = || variant_recorded && super::table::load(self.dir()).is_some();
        if !jobs.is_empty() || (report.saves == 0 && !nothing_to_save()) {
            self.flush(&delta, &mut report)?;
        }
        report.failures.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(report)
    }

    /// Sort the scanned files into "nothing to do", "record only" and transforms to run.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        index: &Index,
        entries: &Entries,
        sources: &Sources,
        scanned: &Scan,
        opts: &BuildOptions,
        delta: &mut Delta,
        report: &mut BuildReport,
    ) -> Vec<Job> {
        let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
        for (i, s) in scanned.files.iter().enumerate() {
            let path = sources.get(i).path();
            match s.state {
                FileState::New => report.new += 1,
                FileState::Changed => report.changed += 1,
                FileState::Touched => report.touched += 1,
                FileState::Unchanged => report.unchanged += 1,
                FileState::Removed => {}
                FileState::Unreadable => {
                    let error = s.error().unwrap_or_default().to_string();
                    report.failures.push(BuildFailure {
                        path: path.clone(),
                        error: error.clone(),
                    });
                    delta.failed.insert(
                        path,
                        Failure {
                            variant: opts.variant.clone(),
                            producer: opts.producer.clone(),
                            error,
                            at: chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        },
                    );
                    continue;
                }
            }
            let Some(entry) = s.entry(entries) else {
                continue;
            };
            let old = index.entries.get(&path);
            let exists = |rel: &str| self.artifact_exists(rel);
            match self.serving_artifact(
                &index.artifacts,
                &exists,
                entry,
                &opts.variant,
                &opts.producer,
                &opts.ext,
            ) {
                Some((rel, reused)) => {
                    if reused {
                        report.deduplicated += 1;
                    }
                    if !index.artifacts.contains_key(&rel) && !delta.artifacts.contains_key(&rel) {
                        // Published by a build that died before its checkpoint: its name
                        // certifies what it is (it was linked in only once complete), so
                        // adopt it rather than run the transform again.
                        match self.adopt(&rel, entry.hash, opts) {
                            Ok(a) => {
                                delta.artifacts.insert(rel.clone(), a);
                            }
                            Err(_) => {
                                queue(&mut jobs, entry, path, opts);
                                continue;
                            }
                        }
                    }
                    let mut e = entry.to_entry();
                    e.variants.insert(opts.variant.clone(), rel);
                    if old != Some(&e) {
                        delta.set.insert(path.clone(), e);
                    }
                    if index.failures.contains_key(&path) {
                        delta.cleared.insert(path);
                    }
                }
                None => queue(&mut jobs, entry, path, opts),
            }
        }
        jobs.into_values().collect()
    }

    /// The record of an artifact found on disk under its derived name.
    fn adopt(&self, rel: &str, hash: &str, opts: &BuildOptions) -> Result<Artifact, DatasetError> {
        let path = self.artifact_path(rel)?;
        let (checksum, size) = hash_file_counted(&path).map_err(io_at(&path))?;
        Ok(Artifact {
            source_hash: hash.to_string(),
            variant: opts.variant.clone(),
            producer: opts.producer.clone(),
            size,
            checksum,
        })
    }

    /// Run one transform into a temporary file and publish it under its artifact path.
    fn run_job(
        &self,
        job: &Job,
        opts: &BuildOptions,
        transform: &dyn Transform,
    ) -> Result<Artifact, String> {
        let final_path = self.artifact_path(&job.rel).map_err(|e| e.to_string())?;
        let parent = final_path.parent().unwrap_or(self.dir());
        fsutil::create_dir_all(parent).map_err(|e| e.to_string())?;
        // Keep the extension last: tools choose the output format from it.
        let mut tmp = fsutil::temp_path_for(&final_path);
        if !opts.ext.is_empty() {
            tmp.set_extension(format!("tmp.{}", opts.ext));
        }
        let result = (|| {
            let input = Path::new(&job.sources[0].0);
            transform.run(input, &tmp)?;
            // The artifact is recorded as made from the content hashed earlier: if the
            // source moved meanwhile, that may not be what the transform read.
            if Fingerprint::of(input).ok() != Some(job.fp) {
                return Err("the source changed while it was being built; build again".into());
            }
            let f = File::open(&tmp).map_err(|e| format!("the transform wrote no output: {e}"))?;
            if !f.metadata().map_err(|e| e.to_string())?.is_file() {
                return Err("the transform's output is not a regular file".to_string());
            }
            f.sync_all()
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            drop(f);
            let (checksum, size) =
                hash_file_counted(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let ours =
                publish(&tmp, &final_path).map_err(|e| format!("{}: {e}", final_path.display()))?;
            fsutil::sync_parent(&final_path).map_err(|e| e.to_string())?;
            let (checksum, size) = if ours {
                (checksum, size)
            } else {
                // Another build published this artifact first: describe the file that won.
                hash_file_counted(&final_path)
                    .map_err(|e| format!("{}: {e}", final_path.display()))?
            };
            Ok(Artifact {
                source_hash: job.hash.clone(),
                variant: opts.variant.clone(),
                producer: opts.producer.clone(),
                size,
                checksum,
            })
        })();
        let _ = fs::remove_file(&tmp);
        result
    }

    fn maybe_checkpoint(
        &self,
        opts: &BuildOptions,
        shared: &Mutex<(Delta, BuildReport)>,
        last_flush: &Mutex<Instant>,
        flushing: &Mutex<()>,
        flush_error: &Mutex<Option<DatasetError>>,
    ) {
        {
            let last = last_flush.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < opts.checkpoint {
                return;
            }
        }
        // One checkpoint at a time; other workers carry on instead of queueing.
        let Ok(_one) = flushing.try_lock() else {
            return;
        };
        let delta = shared.lock().unwrap_or_else(|p| p.into_inner()).0.clone();
        let mut scratch = BuildReport::default();
        let result = self.flush(&delta, &mut scratch);
        *last_flush.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.saves += scratch.saves;
        guard.1.warnings.extend(scratch.warnings);
        if let Err(e) = result {
            flush_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
        }
    }

    /// Merge `delta` into the index on disk, under the cache lock.
    fn flush(&self, delta: &Delta, report: &mut BuildReport) -> Result<(), DatasetError> {
        let lock = self.lock()?;
        let mut loaded = index::load(self.dir())?;
        report.warnings.extend(loaded.warnings);
        delta.apply(&mut loaded.index);
        index::save(self.dir(), &mut loaded.index, &lock)?;
        report.saves += 1;
        Ok(())
    }
}

/// Add `path` (content `entry.hash`) to the transform of its content.
fn queue(jobs: &mut BTreeMap<String, Job>, entry: EntryRef, path: String, opts: &BuildOptions) {
    jobs.entry(entry.hash.to_string())
        .or_insert_with(|| Job {
            hash: entry.hash.to_string(),
            fp: entry.fp,
            rel: artifact_name(entry.hash, &opts.variant, &opts.producer, &opts.ext),
            sources: Vec::new(),
        })
        .sources
        .push((path, entry.to_entry()));
}

/// Move `tmp` to `dest` without replacing an existing file (a hard link is an atomic
/// create-if-absent). Returns `false` when `dest` already existed. Filesystems without
/// hard links fall back to an atomic rename.
fn publish(tmp: &Path, dest: &Path) -> io::Result<bool> {
    match fs::hard_link(tmp, dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => {
            fs::rename(tmp, dest)?;
            Ok(true)
        }
    }
}
