//! `build`: run the transform only where needed, publish artifacts atomically, record
//! progress in segments so that a crash loses at most one checkpoint interval (a build
//! cancelled through [`BuildOptions::cancel`] loses nothing).
//!
//! A build takes no lock on the index: it writes segments ([`super::store`]), which
//! concurrent builds (farm nodes on one cache, sharded or not) never share. It holds the
//! build lock shared for its whole run, so gc (exclusive) never deletes what it is about
//! to record. Before running the transform for a content it claims it
//! ([`super::claims`]), so builds started at once on the same sources share the work.
//!
//! Outputs are written to temporary files in the cache and hashed as they finish; at
//! each checkpoint the finished outputs are made durable together (one `syncfs` rather
//! than an `fsync` per file, which on a journaling filesystem costs about a millisecond
//! each), linked into place without replacing an existing artifact, made durable again,
//! and only then recorded. An artifact on disk under its name is therefore always
//! complete, and a crash before its record leaves it to be adopted by the next build.

use super::cache::DatasetCache;
use super::claims::Claims;
use super::error::{io_at, DatasetError};
use super::fingerprint::{now_ns, Fingerprint};
use super::hashing::{hash_file_counted, hash_open};
use super::layout::{artifact_name_keyed, variant_key, OBJECTS_DIR};
use super::model::{Artifact, Failure, Record, VariantInfo};
use super::objects::ObjectSet;
use super::scan::{item_fingerprint, scan, FileState, Scan};
use super::serve::serving;
use super::sidecars::Rule;
use super::sources::Sources;
use super::store::{self, Prune, Snapshot, Writer};
use super::transform::{Item, Transform};
use super::view::{Entries, EntryRef};
use crate::fsutil;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// The variant built (`512x512`, `latents`).
    pub variant: String,
    /// Transform name and version; artifacts of another producer are never served.
    pub producer: String,
    /// Extension of artifact files, without the dot (some tools pick the output format
    /// from it); empty for none.
    pub ext: String,
    /// Job slots: transforms run at once (0: one per core).
    pub jobs: usize,
    /// How often progress is recorded during a build.
    pub checkpoint: Duration,
    /// Skip per-file validation of indexed files.
    pub trust_index: bool,
    /// Items with sidecars: files matching one of these globs are companions of the
    /// file with the same stem (`img.txt` of `img.png`), hashed with it and passed to
    /// the transform with it, not items of their own. Recorded in the index for
    /// `status` and `get`; `None` keeps the recorded rule (`Some(vec![])` clears it).
    pub sidecars: Option<Vec<String>>,
    /// Set to stop the build early (Ctrl-C): no further transform starts, the ones
    /// running finish, and everything finished is recorded. A transform that fails once
    /// this is set is not recorded as a failure: it was most likely interrupted along
    /// with the build, and simply runs again next time.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl BuildOptions {
    /// Build `variant` with `producer`, one job slot per core, a checkpoint every 5 s.
    pub fn new(variant: &str, producer: &str) -> BuildOptions {
        BuildOptions {
            variant: variant.to_string(),
            producer: producer.to_string(),
            ext: String::new(),
            jobs: 0,
            checkpoint: Duration::from_secs(5),
            trust_index: false,
            sidecars: None,
            cancel: None,
        }
    }

    fn check(&self) -> Result<(), DatasetError> {
        let bad = |what: &str, value: &str| DatasetError::Io {
            path: PathBuf::from(value),
            source: io::Error::new(io::ErrorKind::InvalidInput, what.to_string()),
        };
        if !self.ext.chars().all(|c| c.is_ascii_alphanumeric()) || self.ext.len() > 16 {
            return Err(bad(
                "artifact extension must be at most 16 ASCII letters or digits",
                &self.ext,
            ));
        }
        if self.variant.is_empty() || self.variant.chars().any(char::is_control) {
            return Err(bad(
                "a variant name must be non-empty, without control characters",
                &self.variant,
            ));
        }
        if self.producer.chars().any(char::is_control) {
            return Err(bad(
                "a producer id must not contain control characters",
                &self.producer,
            ));
        }
        Ok(())
    }
}

/// One source that could not be built.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildFailure {
    /// The source.
    pub path: String,
    /// Why (the transform's error, the end of its stderr).
    pub error: String,
}

/// What a build did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    /// Sources new since the last build.
    pub new: usize,
    /// Sources whose content changed.
    pub changed: usize,
    /// Sources whose metadata moved but content did not.
    pub touched: usize,
    /// Sources unchanged.
    pub unchanged: usize,
    /// Sources gone since the last build.
    pub removed: usize,
    /// Transforms run (one per distinct content).
    pub transformed: usize,
    /// Sources served by an artifact of identical content without running the transform.
    pub deduplicated: usize,
    /// Artifacts found changed on disk (not matching their checksum) and built again.
    pub repaired: usize,
    /// Contents another build was transforming: waited for, not run here.
    pub waited: usize,
    /// Sources that could not be built, with why.
    pub failures: Vec<BuildFailure>,
    /// Segments written (checkpoints with something to record).
    pub saves: usize,
    /// Transforms not run because the build was cancelled (see [`BuildOptions::cancel`]).
    pub cancelled: usize,
    /// Index fallbacks and migrations (the CLI prints them on stderr).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// One transform to run: a distinct content and every source (position in the scan)
/// that has it.
struct Job {
    sources: Vec<u32>,
    /// Its artifact exists but does not match its record: replace it.
    repair: bool,
}

/// A job handed to its transform.
struct Launch {
    job: usize,
    input: PathBuf,
    /// Where the transform writes.
    tmp: PathBuf,
    /// Where the output goes once checked.
    path: PathBuf,
    sides: Vec<PathBuf>,
}

impl Launch {
    fn item(&self) -> Item<'_> {
        Item {
            input: &self.input,
            output: &self.tmp,
            sidecars: &self.sides,
        }
    }
}

/// A finished output waiting for the next checkpoint to be published.
struct Done {
    job: usize,
    tmp: PathBuf,
    /// Where it goes.
    path: PathBuf,
    checksum: String,
    size: u64,
}

/// What a build does with one scanned file (see `plan`).
/// Small: one per source file.
enum Step<'e> {
    /// Not indexed (nothing to record).
    Skip,
    Unreadable,
    /// Transform its content (`true`: replacing an artifact that no longer matches).
    Queue(bool),
    /// Served by `rel` (another source's when `reused`), with its record to write if it
    /// had none or its fingerprint moved.
    Serve {
        rel: std::borrow::Cow<'e, str>,
        reused: bool,
        record: Option<Box<Artifact>>,
    },
}

/// Finished outputs after which a checkpoint is taken whatever the time, so that what
/// waits in memory stays small when transforms are quick.
const CHECKPOINT_ITEMS: usize = 2048;

/// Finished outputs after which job slots wait for a checkpoint rather than go on.
const PENDING_MAX: usize = 2 * CHECKPOINT_ITEMS;

/// What the next checkpoint records.
#[derive(Default)]
struct Pending {
    done: Vec<Done>,
    records: Vec<Record>,
}

fn failure_record(path: String, opts: &BuildOptions, error: String) -> Record {
    let at = now_ns();
    let text_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Record::Failure(
        path,
        at,
        Some(Failure {
            variant: opts.variant.clone(),
            producer: opts.producer.clone(),
            error,
            at: text_at,
        }),
    )
}

/// The state of one build, shared by its job slots and its checkpoints.
struct Run<'a> {
    cache: &'a DatasetCache,
    opts: &'a BuildOptions,
    snap: &'a Snapshot,
    entries: &'a Entries<'a>,
    sources: &'a Sources,
    scanned: &'a Scan,
    jobs: &'a [Job],
    key: String,
    writer: Writer,
    claims: Claims,
    observer: &'a dyn BuildObserver,
    pending: Mutex<Pending>,
    report: Mutex<BuildReport>,
    /// One checkpoint at a time.
    flushing: Mutex<()>,
    /// Enough outputs wait for a checkpoint to be taken now.
    due: AtomicBool,
    /// Fan-out directories known to exist.
    made_dirs: Mutex<std::collections::HashSet<PathBuf>>,
    error: Mutex<Option<DatasetError>>,
}

impl DatasetCache {
    /// Bring `opts.variant` of every source up to date, running `transform` once per
    /// distinct content that has no valid artifact. Failures are recorded and reported;
    /// the rest goes on.
    ///
    /// ```no_run
    /// use smartcache::dataset::{BuildOptions, DatasetCache, Quiet, Transform};
    /// use std::path::{Path, PathBuf};
    ///
    /// let cache = DatasetCache::open(Path::new("cache"))?;
    /// let sources = cache.sources(&[PathBuf::from("images")], None)?;
    /// let opts = BuildOptions::new("512x512", "resize@1");
    /// let resize = Transform::exec("convert {in} -resize 512x512 {out}").expect("template");
    /// let report = cache.build(&sources, &opts, &resize, &Quiet)?;
    /// println!("{} transformed, {} failed", report.transformed, report.failures.len());
    /// # Ok::<(), smartcache::dataset::DatasetError>(())
    /// ```
    pub fn build(
        &self,
        sources: &Sources,
        opts: &BuildOptions,
        transform: &Transform,
        observer: &dyn BuildObserver,
    ) -> Result<BuildReport, DatasetError> {
        opts.check()?;
        let _build_lock = self.build_lock()?;
        let started = now_ns();
        let snap = self.snapshot()?;
        let mut report = BuildReport {
            warnings: snap.warnings.clone(),
            ..Default::default()
        };
        let key = variant_key(&opts.variant, &opts.producer, &opts.ext);
        let writer = self.writer();
        let mut records = Vec::new();
        let info = VariantInfo {
            producer: opts.producer.clone(),
            ext: opts.ext.clone(),
        };
        if snap.variant(&opts.variant) != Some(&info) {
            records.push(Record::Variant(opts.variant.clone(), started, info));
        }
        let globs = opts.sidecars.as_ref().unwrap_or(&snap.sidecars.1);
        let grouped = sources.items(&Rule::new(globs)?);
        let sources = &grouped;
        if *globs != snap.sidecars.1 {
            records.push(Record::Sidecars(started, globs.clone()));
        }
        let entries = snap.entries();
        let scanned = scan(&entries, sources, opts.trust_index);
        let jobs = self.plan(
            &snap,
            &entries,
            sources,
            &scanned,
            opts,
            &key,
            &mut records,
            &mut report,
        );
        for &j in &scanned.unmatched {
            let (path, _) = entries.get(j as usize);
            if sources.covers(path) {
                records.push(Record::Removed(path.to_string(), started));
                report.removed += 1;
            }
        }
        // Record the cheap part (touched, linked, removed) before the long part starts.
        if !records.is_empty() {
            writer.append(&records)?;
            report.saves += 1;
        }
        drop(records);

        observer.planned(jobs.len() as u64);
        let run = Run {
            cache: self,
            opts,
            snap: &snap,
            entries: &entries,
            sources,
            scanned: &scanned,
            jobs: &jobs,
            key,
            writer,
            claims: Claims::register(self.dir(), &writer_name()),
            observer,
            pending: Mutex::default(),
            report: Mutex::new(report),
            flushing: Mutex::new(()),
            due: AtomicBool::new(false),
            made_dirs: Mutex::default(),
            error: Mutex::new(None),
        };
        run.execute(transform);
        run.checkpoint();
        run.claims.release_all();
        if let Some(e) = run.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let mut report = run.report.into_inner().unwrap_or_else(|p| p.into_inner());
        report.failures.sort_by(|a, b| a.path.cmp(&b.path));
        // What the build held goes before a compaction reads the index again.
        drop(jobs);
        drop(scanned);
        drop(entries);
        drop(snap);
        // Fold the segments into a new base when they have grown (and migrate an index
        // of an older version). Losing the race to another build's compaction is fine.
        // Streaming: memory stays a few buffers whatever the number of records folded.
        if store::compaction_due(self.dir())? {
            store::compact_streaming(self.dir(), Prune::default())?;
        }
        Ok(report)
    }

    /// Sort the scanned files into "nothing to do", "record only" and transforms to run.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        snap: &Snapshot,
        entries: &Entries,
        sources: &Sources,
        scanned: &Scan,
        opts: &BuildOptions,
        key: &str,
        records: &mut Vec<Record>,
        report: &mut BuildReport,
    ) -> Vec<Job> {
        let mut jobs: Vec<Job> = Vec::new();
        let mut by_content: HashMap<u128, usize> = HashMap::new();
        let any_failure = snap.has_failures();
        let mut queue = |entry: EntryRef, i: usize, repair: bool| {
            let k = xxhash_rust::xxh3::xxh3_128(entry.hash.as_bytes());
            match by_content.get(&k) {
                Some(&j) => {
                    jobs[j].sources.push(i as u32);
                    jobs[j].repair |= repair;
                }
                None => {
                    by_content.insert(k, jobs.len());
                    jobs.push(Job {
                        sources: vec![i as u32],
                        repair,
                    });
                }
            }
        };
        // Whether artifacts are on disk: `objects/` listed once (its settled directories
        // not even read, see `objects.rs`), as status does, not a `stat` per source.
        let present = match &snap.base {
            Some(b) => ObjectSet::list(&self.dir().join(OBJECTS_DIR), &b.objects, b.clock),
            None => ObjectSet::list(&self.dir().join(OBJECTS_DIR), &[], 0),
        };
        let exists = |rel: &str, vouched: bool| present.contains(rel, vouched);
        // What to do with each file, decided in parallel (an artifact to check costs a
        // `stat`, one whose fingerprint moved a read), then recorded in order.
        let steps: Vec<Step> = scanned
            .files
            .par_iter()
            .with_min_len(256)
            .map(|s| {
                if s.state == FileState::Unreadable {
                    return Step::Unreadable;
                }
                let Some(entry) = s.entry(entries) else {
                    return Step::Skip;
                };
                let certify = |rel: &str| {
                    snap.artifact(rel).is_some_and(|a| {
                        a.producer == opts.producer
                            && a.variant == opts.variant
                            && a.source_hash == entry.hash
                    })
                };
                let Some((rel, reused)) =
                    serving(entry, &opts.variant, &opts.ext, key, &certify, &exists)
                else {
                    return Step::Queue(false);
                };
                // Is the artifact still what was recorded? A fingerprint that moved means
                // it was rewritten: read it.
                match self.check_recorded(snap, &rel, entry.hash, opts) {
                    Ok(record) => Step::Serve {
                        rel,
                        reused,
                        record: record.map(Box::new),
                    },
                    Err(()) => Step::Queue(true),
                }
            })
            .collect();
        for (i, (s, step)) in scanned.files.iter().zip(steps).enumerate() {
            match s.state {
                FileState::New => report.new += 1,
                FileState::Changed => report.changed += 1,
                FileState::Touched => report.touched += 1,
                FileState::Unchanged => report.unchanged += 1,
                FileState::Removed | FileState::Unreadable => {}
            }
            let step = match step {
                Step::Skip => continue,
                Step::Unreadable => {
                    let path = sources.get(i).path();
                    let error = s.error().unwrap_or_default().to_string();
                    report.failures.push(BuildFailure {
                        path: path.clone(),
                        error: error.clone(),
                    });
                    records.push(failure_record(path, opts, error));
                    continue;
                }
                step => step,
            };
            let Some(entry) = s.entry(entries) else {
                continue;
            };
            let (rel, reused) = match step {
                Step::Skip | Step::Unreadable => continue,
                Step::Queue(repair) => {
                    queue(entry, i, repair);
                    continue;
                }
                Step::Serve {
                    rel,
                    reused,
                    record,
                } => {
                    if let Some(a) = record {
                        records.push(Record::Artifact(rel.to_string(), *a));
                    }
                    (rel, reused)
                }
            };
            if reused {
                report.deduplicated += 1;
            }
            let unchanged_record =
                s.detail.is_none() && entry.variants.get(&opts.variant) == Some(rel.as_ref());
            let path = || sources.get(i).path();
            if !unchanged_record {
                let mut e = entry.to_entry();
                e.variants.insert(opts.variant.clone(), rel.into_owned());
                records.push(Record::Entry(path(), e));
            }
            if any_failure {
                let p = path();
                if snap.failure(&p).is_some() {
                    records.push(Record::Failure(p, now_ns(), None));
                }
            }
        }
        jobs
    }

    /// Check the artifact `rel` against its record. `Ok(None)`: as recorded.
    /// `Ok(Some(record))`: to record (it had no record: published by a build that died
    /// before its checkpoint, complete since only complete outputs are linked; or its
    /// fingerprint moved without its content changing). `Err`: it does not match its
    /// checksum and must be built again.
    fn check_recorded(
        &self,
        snap: &Snapshot,
        rel: &str,
        hash: &str,
        opts: &BuildOptions,
    ) -> Result<Option<Artifact>, ()> {
        let Ok((path, Some(meta))) = self.confine(rel) else {
            return Err(());
        };
        let fp = Fingerprint::from_metadata(&meta);
        // Most often the fingerprint holds: compared without building the whole record.
        if snap.artifact_fp(rel) == Some(Some(fp)) {
            return Ok(None);
        }
        let record = snap.artifact(rel);
        let (checksum, size) = hash_file_counted(&path).map_err(|_| ())?;
        match record {
            Some(a) if (a.checksum.as_str(), a.size) != (checksum.as_str(), size) => Err(()),
            Some(a) => Ok(Some(Artifact {
                fp: Some(fp),
                at: now_ns(),
                ..a.into_owned()
            })),
            None => Ok(Some(Artifact {
                source_hash: hash.to_string(),
                variant: opts.variant.clone(),
                producer: opts.producer.clone(),
                size,
                checksum,
                fp: Some(fp),
                at: now_ns(),
            })),
        }
    }
}

impl Run<'_> {
    fn cancelled(&self) -> bool {
        self.opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    fn report(&self) -> std::sync::MutexGuard<'_, BuildReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry of scanned file `i` (a job's source always has one).
    fn entry(&self, i: u32) -> EntryRef<'_> {
        self.scanned.files[i as usize]
            .entry(self.entries)
            .expect("a job's source has an entry")
    }

    fn rel(&self, job: usize) -> String {
        artifact_name_keyed(
            self.entry(self.jobs[job].sources[0]).hash,
            &self.key,
            &self.opts.ext,
        )
    }

    /// Run every job through `transform` on the job slots, checkpointing meanwhile.
    fn execute(&self, transform: &Transform) {
        let slots = match self.opts.jobs {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let batch = transform.batch_size();
        let next = AtomicUsize::new(0);
        let deferred: Mutex<Vec<usize>> = Mutex::default();
        let running = AtomicUsize::new(slots);
        std::thread::scope(|scope| {
            for _ in 0..slots {
                scope.spawn(|| {
                    let mut runner = transform.runner(self.opts.cancel.clone());
                    if let Some(w) = runner.worker() {
                        self.run_worker(w, &next, &deferred);
                    }
                    loop {
                        if self.cancelled() {
                            break;
                        }
                        let start = next.fetch_add(batch, Ordering::SeqCst);
                        if start >= self.jobs.len() {
                            break;
                        }
                        let end = (start + batch).min(self.jobs.len());
                        let mut ready = Vec::new();
                        for j in start..end {
                            if self.prepare(j) {
                                ready.push(j);
                            } else {
                                deferred.lock().unwrap_or_else(|p| p.into_inner()).push(j);
                            }
                        }
                        self.run_batch(&ready, runner.as_mut());
                    }
                    // Contents another build claimed: wait for its artifact, or build
                    // them once its claim goes.
                    while !self.cancelled() {
                        let Some(j) = deferred.lock().unwrap_or_else(|p| p.into_inner()).pop()
                        else {
                            break;
                        };
                        if self.prepare(j) {
                            self.run_batch(&[j], runner.as_mut());
                        } else {
                            deferred
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(0, j);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    drop(runner);
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
            // Checkpoints and claim heartbeats, until the slots are done.
            let mut last_flush = Instant::now();
            let mut last_beat = Instant::now();
            while running.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(Duration::from_millis(20).min(self.opts.checkpoint));
                if last_flush.elapsed() >= self.opts.checkpoint
                    || self.due.swap(false, Ordering::Relaxed)
                {
                    self.checkpoint();
                    last_flush = Instant::now();
                }
                self.claims.poll();
                if last_beat.elapsed() >= super::claims::HEARTBEAT {
                    self.claims.heartbeat();
                    last_beat = Instant::now();
                }
            }
        });
        let left = deferred
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        let skipped = self
            .jobs
            .len()
            .saturating_sub(next.load(Ordering::SeqCst).min(self.jobs.len()));
        self.report().cancelled += left + skipped;
    }

    /// Get job `j` ready to run: `true` when it is ours to run (claimed). `false` when
    /// another build holds a live claim on it. A job whose artifact meanwhile appeared
    /// (another build published it) is recorded and needs no run: `true` is returned
    /// with nothing left to do, see `run_batch`.
    fn prepare(&self, j: usize) -> bool {
        let Ok(path) = self.cache.locate(&self.rel(j)) else {
            return true; // run_batch reports the error
        };
        if let Some(parent) = path.parent() {
            let mut made = self.made_dirs.lock().unwrap_or_else(|p| p.into_inner());
            if !made.contains(parent) && fsutil::create_dir_all(parent).is_ok() {
                made.insert(parent.to_path_buf());
            }
        }
        match self.claims.try_claim(&path) {
            Ok(true) | Err(_) => true,
            Ok(false) => false,
        }
    }

    /// Run the ready jobs `ready` as one batch and keep their outcomes for the next
    /// checkpoint.
    fn run_batch(&self, ready: &[usize], runner: &mut dyn super::transform::Runner) {
        let launched: Vec<Launch> = ready.iter().filter_map(|&j| self.launch(j)).collect();
        if launched.is_empty() {
            return;
        }
        let batch: Vec<Item> = launched.iter().map(Launch::item).collect();
        let results = runner.run(&batch);
        drop(batch);
        for (l, result) in launched.into_iter().zip(results) {
            self.complete(l, result);
        }
    }

    /// A job slot of a `--worker` build: items stream through the worker, up to
    /// `WORKER_IN_FLIGHT` at once, topped up in bursts (one write) whenever half are
    /// answered, so that while this thread checks an output the worker always has the
    /// next ones to work on. Jobs another build claimed go to `deferred`.
    fn run_worker(
        &self,
        w: &mut super::transform::worker::WorkerRunner,
        next: &AtomicUsize,
        deferred: &Mutex<Vec<usize>>,
    ) {
        let depth = super::transform::WORKER_IN_FLIGHT;
        let mut flight: std::collections::VecDeque<Launch> = Default::default();
        let mut more = true;
        loop {
            while more && flight.len() <= depth / 2 {
                while flight.len() < depth {
                    if self.cancelled() {
                        more = false;
                        break;
                    }
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    if j >= self.jobs.len() {
                        more = false;
                        break;
                    }
                    if !self.prepare(j) {
                        deferred.lock().unwrap_or_else(|p| p.into_inner()).push(j);
                        continue;
                    }
                    let Some(l) = self.launch(j) else { continue };
                    match w.send(&l.item()) {
                        Ok(()) => flight.push_back(l),
                        Err(e) => self.complete(l, Err(e)),
                    }
                }
            }
            let Some(l) = flight.pop_front() else { break };
            let result = w.recv();
            self.complete(l, result);
        }
    }

    /// What job `j`'s transform is given; `None` when it has nothing to run (its artifact
    /// was published meanwhile, or it cannot be named: recorded here).
    fn launch(&self, j: usize) -> Option<Launch> {
        let rel = self.rel(j);
        let path = match self.cache.locate(&rel) {
            Ok(p) => p,
            Err(e) => {
                self.failed(j, e.to_string());
                return None;
            }
        };
        // Published meanwhile by another build (whose claim we then took over, or that
        // built it without one): nothing to run. Only looked for once another build was
        // seen: a lone build's publication (create-if-absent) finds such an artifact all
        // the same, it only ran the transform for nothing.
        if !self.jobs[j].repair
            && self.claims.contended()
            && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
        {
            self.claims.release(&path);
            self.adopt(j, &rel);
            return None;
        }
        // Keep the extension last: tools choose the output format from it.
        let mut tmp = temp_path(&path);
        if !self.opts.ext.is_empty() {
            tmp.set_extension(format!("tmp.{}", self.opts.ext));
        }
        let file = self.sources.get(self.jobs[j].sources[0] as usize);
        Some(Launch {
            job: j,
            input: PathBuf::from(file.path()),
            tmp,
            path,
            sides: file.sidecars().map(|s| PathBuf::from(s.path())).collect(),
        })
    }

    /// Keep the outcome of a launched job for the next checkpoint.
    fn complete(&self, l: Launch, result: Result<(), String>) {
        let Launch { job, tmp, path, .. } = l;
        match result.and_then(|()| self.finish_output(job, &tmp)) {
            Ok((checksum, size)) => {
                let done = Done {
                    job,
                    tmp,
                    path,
                    checksum,
                    size,
                };
                let waiting = {
                    let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    pending.done.push(done);
                    pending.done.len()
                };
                // Taken by the thread that times checkpoints, not by this job slot: its
                // transform keeps running meanwhile, and a checkpoint that takes long (a
                // `syncfs` behind other writers) takes more outputs next time. Unless far
                // too many wait: then this slot waits for it (memory).
                if waiting >= PENDING_MAX {
                    self.checkpoint();
                } else if waiting >= CHECKPOINT_ITEMS {
                    self.due.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                self.claims.release(&path);
                if self.cancelled() {
                    self.report().cancelled += 1;
                } else {
                    self.failed(job, e);
                }
            }
        }
    }

    /// Check a transform's output (the source did not move, the output is a regular
    /// file) and hash it.
    fn finish_output(&self, j: usize, tmp: &Path) -> Result<(String, u64), String> {
        // The artifact is recorded as made from the content hashed earlier: if the
        // source (or a sidecar) moved meanwhile, that may not be what the transform read.
        let first = self.jobs[j].sources[0];
        let now = item_fingerprint(&self.sources.get(first as usize), false).ok();
        if now != Some(self.entry(first).fp) {
            return Err("the source changed while it was being built; build again".into());
        }
        let not_regular = || "the transform's output is not a regular file".to_string();
        let mut f = match open_output(tmp) {
            Ok(Some(f)) => f,
            Ok(None) => return Err(not_regular()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!("the transform wrote no output: {e}"))
            }
            Err(e) => return Err(format!("{}: {e}", tmp.display())),
        };
        match f.metadata() {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(not_regular()),
            Err(e) => return Err(format!("{}: {e}", tmp.display())),
        }
        hash_open(&mut f).map_err(|e| format!("{}: {e}", tmp.display()))
    }

    /// Record job `j` as failed for each of its sources (their entries are recorded:
    /// the content is known, only the artifact is missing).
    fn failed(&self, j: usize, error: String) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = self.report();
        for &i in &self.jobs[j].sources {
            let path = self.sources.get(i as usize).path();
            report.failures.push(BuildFailure {
                path: path.clone(),
                error: error.clone(),
            });
            pending
                .records
                .push(failure_record(path.clone(), self.opts, error.clone()));
            self.observer.finished(&path, Some(&error));
            pending
                .records
                .push(Record::Entry(path, self.entry(i).to_entry()));
        }
    }

    /// Record job `j` as served by the artifact `rel` that another build published.
    fn adopt(&self, j: usize, rel: &str) {
        let Ok((path, Some(meta))) = self.cache.confine(rel) else {
            return self.failed(j, format!("{rel}: vanished"));
        };
        match hash_file_counted(&path) {
            Ok((checksum, size)) => {
                let hash = self.entry(self.jobs[j].sources[0]).hash.to_string();
                let a =
                    self.artifact_record(hash, checksum, size, Fingerprint::from_metadata(&meta));
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                pending.records.push(Record::Artifact(rel.to_string(), a));
                self.record_sources(j, rel, &mut pending.records);
                self.report().waited += 1;
            }
            Err(e) => self.failed(j, format!("{}: {e}", path.display())),
        }
    }

    fn artifact_record(
        &self,
        source_hash: String,
        checksum: String,
        size: u64,
        fp: Fingerprint,
    ) -> Artifact {
        Artifact {
            source_hash,
            variant: self.opts.variant.clone(),
            producer: self.opts.producer.clone(),
            size,
            checksum,
            fp: Some(fp),
            at: now_ns(),
        }
    }

    /// Entries (and cleared failures) for every source of job `j`, served by `rel`.
    fn record_sources(&self, j: usize, rel: &str, records: &mut Vec<Record>) {
        for &i in &self.jobs[j].sources {
            let path = self.sources.get(i as usize).path();
            let mut e = self.entry(i).to_entry();
            e.variants
                .insert(self.opts.variant.clone(), rel.to_string());
            if self.snap.failure(&path).is_some() {
                records.push(Record::Failure(path.clone(), now_ns(), None));
            }
            self.observer.finished(&path, None);
            records.push(Record::Entry(path, e));
        }
    }

    /// Publish the finished outputs and record everything pending, as one segment.
    fn checkpoint(&self) {
        let Ok(one) = self.flushing.lock() else {
            return;
        };
        self.checkpoint_locked(one);
    }

    /// [`Self::checkpoint`], holding the checkpoint lock.
    fn checkpoint_locked(&self, _one: std::sync::MutexGuard<'_, ()>) {
        let Pending { done, mut records } =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if done.is_empty() && records.is_empty() {
            return;
        }
        let result = (|| -> Result<(), DatasetError> {
            if !done.is_empty() {
                sync_data(self.cache.dir(), done.iter().map(|d| d.tmp.as_path()))?;
            }
            let mut published = Vec::with_capacity(done.len());
            for d in &done {
                let rel = self.rel(d.job);
                let ours = if self.jobs[d.job].repair {
                    fs::rename(&d.tmp, &d.path).map_err(io_at(&d.path))?;
                    true
                } else {
                    let ours = store::publish(&d.tmp, &d.path)?;
                    if !ours {
                        let _ = fs::remove_file(&d.tmp);
                    }
                    ours
                };
                published.push((d, rel, ours));
            }
            if !published.is_empty() {
                sync_dirs(
                    self.cache.dir(),
                    published.iter().map(|p| p.0.path.as_path()),
                )?;
            }
            // Recorded a segment per CHECKPOINT_ITEMS outputs: what is encoded at once stays
            // small however many outputs this checkpoint publishes.
            let (mut transformed, mut deduplicated, mut repaired, mut saves) = (0, 0, 0, 0);
            let mut chunks = published.chunks(CHECKPOINT_ITEMS).peekable();
            if chunks.peek().is_none() && !records.is_empty() {
                self.writer.append(&records)?;
                saves += 1;
            }
            for chunk in chunks {
                for (d, rel, ours) in chunk {
                    let path = &d.path;
                    let meta = fs::metadata(path).map_err(io_at(path))?;
                    let (checksum, size) = if *ours {
                        (d.checksum.clone(), d.size)
                    } else {
                        // Another build published this artifact first: describe the file that won.
                        hash_file_counted(path).map_err(io_at(path))?
                    };
                    let hash = self.entry(self.jobs[d.job].sources[0]).hash.to_string();
                    records.push(Record::Artifact(
                        rel.clone(),
                        self.artifact_record(
                            hash,
                            checksum,
                            size,
                            Fingerprint::from_metadata(&meta),
                        ),
                    ));
                    self.record_sources(d.job, rel, &mut records);
                    transformed += 1;
                    deduplicated += self.jobs[d.job].sources.len() - 1;
                    repaired += usize::from(self.jobs[d.job].repair);
                }
                self.writer.append(&records)?;
                records.clear();
                saves += 1;
                for (d, ..) in chunk {
                    self.claims.release(&d.path);
                }
            }
            let mut report = self.report();
            report.transformed += transformed;
            report.deduplicated += deduplicated;
            report.repaired += repaired;
            report.saves += saves;
            Ok(())
        })();
        if let Err(e) = result {
            for d in &done {
                let _ = fs::remove_file(&d.tmp);
            }
            self.error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
        }
    }
}

/// Open a transform's output to hash it: without following a symlink or blocking on a
/// FIFO (one `open`, its type from the open file rather than from another lookup of its
/// path). `None`: a symlink.
fn open_output(tmp: &Path) -> io::Result<Option<fs::File>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{open, Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        match open(tmp, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fs::File::from(fd))),
            // A symlink (or a socket, which cannot be opened).
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NXIO) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        if !fs::symlink_metadata(tmp)?.is_file() {
            return Ok(None);
        }
        fs::File::open(tmp).map(Some)
    }
}

/// A temporary name beside `path` for a transform's output (`.<name>.<pid>.<n>.tmp`),
/// without a system call to learn the process id each time.
fn temp_path(path: &Path) -> PathBuf {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static N: AtomicUsize = AtomicUsize::new(0);
    let pid = *PID.get_or_init(std::process::id);
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{pid}.{}.tmp", N.fetch_add(1, Ordering::Relaxed)));
    path.with_file_name(name)
}

/// A name for this build's registration (see [`super::claims`]).
fn writer_name() -> String {
    format!(
        "{}-{}-{}",
        super::claims::host_name(),
        std::process::id(),
        now_ns()
    )
}

/// Make the contents of `files` (in the cache at `dir`) durable: one `syncfs` of the
/// cache's filesystem on Linux, an `fsync` per file elsewhere.
fn sync_data<'a>(dir: &Path, files: impl Iterator<Item = &'a Path>) -> Result<(), DatasetError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = files;
        let d = fs::File::open(dir).map_err(io_at(dir))?;
        rustix::fs::syncfs(&d).map_err(|e| io_at(dir)(e.into()))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        for f in files {
            fs::File::open(f)
                .and_then(|f| f.sync_all())
                .map_err(io_at(f))?;
        }
        Ok(())
    }
}

/// Make the names just linked in the directories of `paths` durable.
fn sync_dirs<'a>(dir: &Path, paths: impl Iterator<Item = &'a Path>) -> Result<(), DatasetError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = paths;
        sync_data(dir, std::iter::empty())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        let mut seen = std::collections::BTreeSet::new();
        for p in paths {
            if seen.insert(p.parent().map(Path::to_path_buf)) {
                fsutil::sync_parent(p)?;
            }
        }
        Ok(())
    }
}
