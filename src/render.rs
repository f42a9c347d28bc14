//! The render-cache workflows: record a cache, check it, explain a frame.
//!
//! This is the library API that hosts embed and the CLI calls: each function takes a
//! script already read, an output node, a cache directory and the ignore rules, and
//! ties [`crate::manifest`] (what a frame depends on, hashed), [`crate::store`] (where
//! hashes and manifest objects live) and [`crate::check`] (comparison, explanations)
//! together.
//!
//! What is stored per recorded or checked frame:
//! * in `hash.json`, the frame hash (and, with `--render`, the rendered file's
//!   fingerprint);
//! * unless `CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE` is true, the setup object (what
//!   the output depends on, frame-independent: about the size of one frame's full
//!   manifest, shared by every frame hashed from the same script state) and one batch
//!   object per record or check mapping each distinct frame hash to a frame and the
//!   source fingerprints read there. Each frame entry names its batch.

use crate::check::{explain, FrameResult, Reason, Side, Status};
use crate::graph::Script;
use crate::ignore::RuleSet;
use crate::manifest::frame::{FRAME_FORMAT, FRAME_VERSION};
use crate::manifest::source::{source_key, FileProbe, RecordedSources, SourceIndex};
use crate::manifest::{Prepared, Setup, SetupError, SourceProbe};
use crate::store::{
    self, CacheDir, FrameEntry, HashFile, HashMeta, RenderRecord, ScriptRef, SnapshotId,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Format tag and version of a stored batch object (the frames of one record or check).
pub const BATCH_FORMAT: &str = "smartcache-frames";
pub const BATCH_VERSION: u64 = 1;

/// Errors of the render-cache workflows.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// A script read from disk, with what `hash.json` records about it.
pub struct LoadedScript {
    pub script: Script,
    pub path: PathBuf,
    /// xxh3-128 of the script's bytes.
    pub hash: String,
}

impl LoadedScript {
    /// Read a script of either format.
    pub fn read(path: &Path) -> Result<LoadedScript, crate::graph::LoadError> {
        let bytes = std::fs::read(path).map_err(|source| crate::graph::LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let script = crate::graph::load_bytes(&bytes, path)?;
        Ok(LoadedScript {
            script,
            path: path.to_path_buf(),
            hash: crate::hash::hex128(&bytes),
        })
    }

    /// The directory relative file paths in the script are taken from.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Called once per hashed frame (from any thread): drives a progress bar.
pub type Progress<'a> = &'a (dyn Fn() + Sync);

/// A [`Progress`] that does nothing.
pub fn no_progress() {}

/// One hashed frame.
#[derive(Debug, Clone)]
pub struct HashedFrame {
    pub hash: String,
    /// Source fingerprints the frame read, keyed by [`source_key`].
    pub sources: BTreeMap<String, String>,
}

/// The hashes of a set of frames of one output.
pub struct Hashed {
    pub setup: Setup,
    /// The setup as stored (its object name is the hash of these bytes).
    pub setup_json: Vec<u8>,
    /// The setup's id: the hash of the hashing format and the setup (see
    /// [`FrameEntry::setup`]).
    pub setup_id: String,
    pub frames: BTreeMap<i64, HashedFrame>,
}

impl Hashed {
    /// Build the setup of `output` and its id, hashing no frame yet.
    pub fn new(script: &Script, output: &str, rules: &RuleSet) -> Result<Hashed, RenderError> {
        let setup = Setup::build(script, output, rules)?;
        let setup_json = setup.to_json();
        let mut h = crate::hash::Hasher::new();
        h.update(format!("{FRAME_FORMAT}/{FRAME_VERSION}\n").as_bytes());
        h.update(&setup_json);
        Ok(Hashed {
            setup_id: h.finish_hex(),
            setup,
            setup_json,
            frames: BTreeMap::new(),
        })
    }

    /// Hash `frames`, in parallel, calling `progress` after each frame.
    pub fn hash(&mut self, frames: &[i64], probe: &dyn SourceProbe, progress: Progress<'_>) {
        let setup = &self.setup;
        let prepared = Prepared::new(setup);
        let hashed: Vec<(i64, HashedFrame)> = frames
            .par_iter()
            .map(|&f| {
                let (hash, sources) = prepared.frame_hash(f as f64, probe);
                progress();
                let sources = sources
                    .into_iter()
                    .map(|(node, ctx, s)| (source_key(&setup.nodes[node], ctx), s))
                    .collect();
                (f, HashedFrame { hash, sources })
            })
            .collect();
        self.frames.extend(hashed);
    }

    /// Whether any frame of this setup reads a file on disk (then an unchanged setup
    /// does not imply unchanged frames).
    pub fn reads_files(&self) -> bool {
        self.setup.nodes.iter().any(|n| {
            !n.knob_only
                && crate::manifest::source::reads_files(&n.class)
                && n.knob("file").is_some()
        })
    }

    /// The frame entry of a hashed frame.
    fn entry(&self, frame: i64, batch: &Option<String>) -> Option<FrameEntry> {
        self.frames.get(&frame).map(|h| FrameEntry {
            hash: h.hash.clone(),
            setup: Some(self.setup_id.clone()),
            manifest: batch.clone(),
            render: None,
        })
    }
}

/// Hash `frames` of `output`, in parallel.
pub fn hash_frames(
    script: &Script,
    output: &str,
    rules: &RuleSet,
    frames: &[i64],
    probe: &dyn SourceProbe,
) -> Result<Hashed, RenderError> {
    let mut hashed = Hashed::new(script, output, rules)?;
    hashed.hash(frames, probe, &no_progress);
    Ok(hashed)
}

/// Store the setup object and one batch object for the frames hashed together, unless
/// manifests are not kept. Returns the batch object's name, which every frame entry
/// refers to.
///
/// One batch per record or check, not one object per frame: a stored object costs
/// fsyncs, and a thousand of them would cost more than hashing a thousand frames. The
/// batch maps each distinct frame hash to one frame that has it and the source
/// fingerprints read there, so N identical frames cost one line.
fn store_objects(cache: &CacheDir, hashed: &Hashed) -> Result<Option<String>, RenderError> {
    if !store::keep_manifests() || hashed.frames.is_empty() {
        return Ok(None);
    }
    let setup_hash = crate::hash::hex128(&hashed.setup_json);
    let mut frames = serde_json::Map::new();
    for (f, h) in &hashed.frames {
        if !frames.contains_key(&h.hash) {
            frames.insert(
                h.hash.clone(),
                serde_json::json!({"frame": f, "sources": h.sources}),
            );
        }
    }
    let batch = serde_json::json!({
        "format": BATCH_FORMAT,
        "version": BATCH_VERSION,
        "setup": setup_hash,
        "frames": frames,
        "refs": [setup_hash],
    });
    let batch = serde_json::to_vec(&batch).expect("JSON serializes");
    let names = cache.put_objects(&[hashed.setup_json.as_slice(), batch.as_slice()])?;
    Ok(names.into_iter().nth(1))
}

fn meta(loaded: &LoadedScript, output: &str, rules: &RuleSet) -> HashMeta {
    HashMeta {
        script: ScriptRef {
            path: loaded.path.to_string_lossy().into_owned(),
            hash: loaded.hash.clone(),
        },
        node: output.to_string(),
        rules: rules.fingerprint(),
    }
}

/// Fingerprint a rendered file (`None` when it does not exist). Only a regular file is
/// fingerprinted (a device or FIFO at a render's path is an error, never read), and no
/// more is read than its size when it was opened.
pub fn render_record(path: &Path) -> Result<Option<RenderRecord>, RenderError> {
    let Some((mut reader, size)) = crate::fsutil::open_limited(path, u64::MAX)? else {
        return Ok(None);
    };
    reader.set_limit(size.saturating_add(1));
    let md = reader
        .get_ref()
        .metadata()
        .map_err(|source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let fp = crate::dataset::fingerprint::Fingerprint::from_metadata(&md);
    let mut hasher = crate::hash::Hasher::new();
    crate::fsutil::read_all(reader, &mut hasher, path, size)?;
    Ok(Some(RenderRecord {
        path: path.to_string_lossy().into_owned(),
        size,
        mtime_ns: fp.mtime_ns,
        hash: hasher.finish_hex(),
    }))
}

/// What [`record`] did.
#[derive(Debug, Clone)]
pub struct RecordReport {
    pub frames: usize,
    /// Distinct frame hashes among them.
    pub distinct: usize,
    /// Frames whose render file (with `--render`) did not exist and was not recorded.
    pub renders_missing: Vec<i64>,
    pub manifests_kept: bool,
    pub master: HashFile,
    /// Problems worked around (a damaged master restored from its backup), for the
    /// user to see.
    pub warnings: Vec<String>,
}

/// Record `frames` of `output` into the master: new frames are added, recorded ones
/// replaced. `render` is a frame pattern of the rendered files to fingerprint.
pub fn record(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    frames: &[i64],
    render: Option<&str>,
) -> Result<RecordReport, RenderError> {
    record_with_progress(loaded, output, cache, rules, frames, render, &no_progress)
}

/// [`record`], calling `progress` after each hashed frame.
pub fn record_with_progress(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    frames: &[i64],
    render: Option<&str>,
    progress: Progress<'_>,
) -> Result<RecordReport, RenderError> {
    // Refuse a cache that would be refused at the end (a symlink leading outside, a
    // damaged master without a backup) before anything is written into it.
    cache.check_layout()?;
    cache.load_master()?;
    let probe = FileProbe::with_index(loaded.base_dir(), SourceIndex::load(cache)?);
    let mut hashed = Hashed::new(&loaded.script, output, rules)?;
    hashed.hash(frames, &probe, progress);
    let batch = store_objects(cache, &hashed)?;
    SourceIndex::save(cache, probe.into_observations())?;
    let mut entries = BTreeMap::new();
    let mut renders_missing = Vec::new();
    for &f in hashed.frames.keys() {
        let f = &f;
        let mut entry = hashed.entry(*f, &batch).expect("hashed above");
        if let Some(pattern) = render {
            let path = PathBuf::from(crate::frames::expand_pattern(pattern, *f));
            match render_record(&path)? {
                Some(r) => entry.render = Some(r),
                None => renders_missing.push(*f),
            }
        }
        entries.insert(*f, entry);
    }
    let distinct = hashed
        .frames
        .values()
        .map(|h| h.hash.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let master = cache.record_master(meta(loaded, output, rules), entries)?;
    Ok(RecordReport {
        frames: hashed.frames.len(),
        distinct,
        renders_missing,
        manifests_kept: batch.is_some(),
        warnings: master.recovery.iter().map(ToString::to_string).collect(),
        master: master.file,
    })
}

/// What [`check`] found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub snapshot: SnapshotId,
    pub results: Vec<FrameResult>,
    /// Whether the master exists at all.
    pub has_master: bool,
    /// Problems worked around (a damaged master read from its backup), for the user to
    /// see.
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// `true` when every checked frame is valid.
    pub fn all_valid(&self) -> bool {
        self.results.iter().all(|r| r.status == Status::Valid)
    }
}

/// Loads stored setups and batch objects to rebuild the manifests of past frames.
///
/// A frame whose objects cannot be had is still compared by its hash (which lives in
/// `hash.json`); only its explanation degrades, to one reason saying why: the manifest
/// was not kept (the environment said so when it was hashed), is missing (an object
/// named in `hash.json` is gone), or is damaged (unreadable, altered, or not a valid
/// object, a cyclic setup included). The answers are kept per object name.
struct Archive<'c> {
    cache: &'c CacheDir,
    setups: HashMap<String, Result<Rc<Setup>, Unexplained>>,
    batches: HashMap<String, Result<Rc<serde_json::Value>, Unexplained>>,
}

/// The one reason a frame cannot be explained (boxed: it is the rare case).
type Unexplained = Box<Reason>;

/// A stored frame: the setup it was hashed from, the frame, the sources it read.
struct StoredFrame {
    setup_hash: String,
    frame: f64,
    sources: HashMap<String, String>,
}

/// The reason of a frame whose manifest object `name` is not in the cache.
fn manifest_missing(cache: &CacheDir, name: &str) -> Unexplained {
    let path = cache.manifests_dir().join(format!("{name}.json"));
    Box::new(Reason::simple(
        "manifest-missing",
        format!(
            "the frame changed; manifest missing, so it cannot be explained ({} is gone)",
            path.display()
        ),
    ))
}

/// The reason of a frame whose manifest object is damaged (`what` says how).
fn manifest_damaged(what: impl std::fmt::Display) -> Unexplained {
    Box::new(Reason::simple(
        "manifest-damaged",
        format!("the frame changed; manifest damaged, so it cannot be explained ({what})"),
    ))
}

impl<'c> Archive<'c> {
    fn new(cache: &'c CacheDir) -> Self {
        Archive {
            cache,
            setups: HashMap::new(),
            batches: HashMap::new(),
        }
    }

    /// The bytes of object `name`, or the reason they cannot explain anything. Errors
    /// other than damage (I/O, a symlink leading out of the cache) stay errors.
    fn object(&self, name: &str) -> Result<Result<(PathBuf, Vec<u8>), Unexplained>, RenderError> {
        let path = self.cache.manifests_dir().join(format!("{name}.json"));
        match self.cache.get_object(name) {
            Ok(Some(bytes)) => Ok(Ok((path, bytes))),
            Ok(None) => Ok(Err(manifest_missing(self.cache, name))),
            Err(e) if e.is_damage() => Ok(Err(manifest_damaged(e))),
            Err(e) => Err(e.into()),
        }
    }

    /// The stored frame of `entry`, or the reason it cannot be had.
    fn frame(
        &mut self,
        entry: &FrameEntry,
    ) -> Result<Result<StoredFrame, Unexplained>, RenderError> {
        let Some(name) = entry.manifest.as_deref() else {
            return Ok(Err(Box::new(Reason::simple(
                "manifest-not-kept",
                "the frame changed; manifest not kept, so it cannot be explained \
                 (CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE was set when it was hashed)",
            ))));
        };
        if !self.batches.contains_key(name) {
            let batch = self.object(name)?.and_then(|(path, bytes)| {
                serde_json::from_slice(&bytes)
                    .map(Rc::new)
                    .map_err(|e| manifest_damaged(format!("{}: {e}", path.display())))
            });
            self.batches.insert(name.to_string(), batch);
        }
        let batch = match &self.batches[name] {
            Ok(batch) => Rc::clone(batch),
            Err(reason) => return Ok(Err(reason.clone())),
        };
        let path = self.cache.manifests_dir().join(format!("{name}.json"));
        let damaged = |what: &str| manifest_damaged(format!("{}: {what}", path.display()));
        let Some(setup) = batch["setup"]
            .as_str()
            .filter(|s| crate::hash::is_hex128(s))
        else {
            return Ok(Err(damaged("no setup object named")));
        };
        let Some(f) = batch["frames"].get(&entry.hash) else {
            return Ok(Err(damaged(&format!(
                "frame hash {} not listed",
                entry.hash
            ))));
        };
        let Some(frame) = f["frame"].as_f64() else {
            return Ok(Err(damaged("a frame without a number")));
        };
        let sources = f["sources"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Ok(StoredFrame {
            setup_hash: setup.to_string(),
            frame,
            sources,
        }))
    }

    /// The stored setup `name`, or the reason it cannot be had.
    fn setup(&mut self, name: &str) -> Result<Result<Rc<Setup>, Unexplained>, RenderError> {
        if !self.setups.contains_key(name) {
            let setup = self.object(name)?.and_then(|(path, bytes)| {
                Setup::from_json(&bytes)
                    .map(Rc::new)
                    .map_err(|e| manifest_damaged(format!("{}: {e}", path.display())))
            });
            self.setups.insert(name.to_string(), setup);
        }
        Ok(self.setups[name].clone())
    }

    /// Explain why frame entry `old` became `new`, from the stored objects of both.
    fn explain(&mut self, old: &FrameEntry, new: &FrameEntry) -> Result<Vec<Reason>, RenderError> {
        let (fo, fnew) = match (self.frame(old)?, self.frame(new)?) {
            (Ok(fo), Ok(fnew)) => (fo, fnew),
            (Err(reason), _) | (_, Err(reason)) => return Ok(vec![*reason]),
        };
        let (so, sn) = match (self.setup(&fo.setup_hash)?, self.setup(&fnew.setup_hash)?) {
            (Ok(so), Ok(sn)) => (so, sn),
            (Err(reason), _) | (_, Err(reason)) => return Ok(vec![*reason]),
        };
        let vo = Prepared::new(&so).view(fo.frame, &RecordedSources(fo.sources));
        let vn = Prepared::new(&sn).view(fnew.frame, &RecordedSources(fnew.sources));
        Ok(explain(
            Side {
                setup: &so,
                view: &vo,
            },
            Side {
                setup: &sn,
                view: &vn,
            },
        ))
    }
}

/// Check `frames` of `output` against the master: write a timestamped snapshot, compare
/// frame by frame, explain what changed.
pub fn check(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    frames: &[i64],
) -> Result<CheckReport, RenderError> {
    check_with_progress(loaded, output, cache, rules, frames, &no_progress)
}

/// [`check`], calling `progress` after each frame (hashed or taken from the master).
pub fn check_with_progress(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    frames: &[i64],
    progress: Progress<'_>,
) -> Result<CheckReport, RenderError> {
    cache.require_exists()?;
    cache.check_layout()?;
    let (master, warnings) = load_master(cache)?;
    let probe = FileProbe::with_index(loaded.base_dir(), SourceIndex::load(cache)?);
    let mut hashed = Hashed::new(&loaded.script, output, rules)?;
    // A frame the master recorded from this very setup has the same hash, unless it
    // reads files on disk (which may have changed): take it from the master.
    let reads_files = hashed.reads_files();
    let reuse = |f: &i64| -> Option<FrameEntry> {
        let e = master.as_ref()?.frames.get(f)?;
        (!reads_files && e.setup.as_deref() == Some(hashed.setup_id.as_str())).then(|| FrameEntry {
            render: None,
            ..e.clone()
        })
    };
    let reused: BTreeMap<i64, FrameEntry> = frames
        .iter()
        .filter_map(|f| Some((*f, reuse(f)?)))
        .collect();
    let todo: Vec<i64> = frames
        .iter()
        .copied()
        .filter(|f| !reused.contains_key(f))
        .collect();
    reused.keys().for_each(|_| progress());
    hashed.hash(&todo, &probe, progress);
    let batch = store_objects(cache, &hashed)?;
    SourceIndex::save(cache, probe.into_observations())?;
    let mut entries = reused;
    for &f in &todo {
        entries.insert(f, hashed.entry(f, &batch).expect("hashed above"));
    }
    let snapshot_file = HashFile::new(meta(loaded, output, rules), entries.clone());
    let snapshot = cache.write_snapshot(&snapshot_file)?;
    let results = compare(cache, master.as_ref(), &entries)?;
    Ok(CheckReport {
        snapshot,
        results,
        has_master: master.is_some(),
        warnings,
    })
}

/// The master (recovered from its backup when damaged) and the warnings to show.
fn load_master(cache: &CacheDir) -> Result<(Option<HashFile>, Vec<String>), RenderError> {
    Ok(match cache.load_master()? {
        Some(m) => (
            Some(m.file),
            m.recovery.iter().map(ToString::to_string).collect(),
        ),
        None => (None, Vec::new()),
    })
}

/// Compare frame entries with the master's.
fn compare(
    cache: &CacheDir,
    master: Option<&HashFile>,
    current: &BTreeMap<i64, FrameEntry>,
) -> Result<Vec<FrameResult>, RenderError> {
    let mut archive = Archive::new(cache);
    let mut explained: HashMap<(String, String), Vec<Reason>> = HashMap::new();
    let mut out = Vec::with_capacity(current.len());
    for (f, now) in current {
        let (status, reasons) = match master.and_then(|m| m.frames.get(f)) {
            None => (Status::Uncached, Vec::new()),
            Some(then) if then.hash != now.hash => {
                let key = (then.hash.clone(), now.hash.clone());
                if !explained.contains_key(&key) {
                    let r = archive.explain(then, now)?;
                    explained.insert(key.clone(), r);
                }
                (Status::Outdated, explained[&key].clone())
            }
            Some(then) => match &then.render {
                Some(r) => render_status(r)?,
                None => (Status::Valid, Vec::new()),
            },
        };
        out.push(FrameResult {
            frame: *f,
            status,
            reasons,
        });
    }
    Ok(out)
}

/// Whether a recorded render file is still there and unchanged. Metadata first: the
/// content is only hashed when the size is as recorded but the mtime moved, and then no
/// more than the recorded size is read. Only a regular file can be the render: the
/// recorded path comes from `hash.json`, and a device there (`/dev/zero`) is never read.
fn render_status(r: &RenderRecord) -> Result<(Status, Vec<Reason>), RenderError> {
    let path = Path::new(&r.path);
    let missing = |text: String| {
        Ok((
            Status::MissingRender,
            vec![Reason {
                kind: "render".into(),
                node: None,
                knob: None,
                old: Some(r.hash.clone()),
                new: None,
                text,
            }],
        ))
    };
    let Ok(md) = std::fs::metadata(path) else {
        return missing(format!("rendered file {} is gone", r.path));
    };
    if !md.is_file() {
        return missing(format!("rendered file {} is not a regular file", r.path));
    }
    let fp = crate::dataset::fingerprint::Fingerprint::from_metadata(&md);
    if md.len() == r.size && fp.mtime_ns == r.mtime_ns {
        return Ok((Status::Valid, Vec::new()));
    }
    if md.len() == r.size && hash_bounded(path, r.size).as_deref() == Some(r.hash.as_str()) {
        return Ok((Status::Valid, Vec::new()));
    }
    missing(format!("rendered file {} changed on disk", r.path))
}

/// The content hash of the regular file `path` if it holds exactly `size` bytes (reading
/// no more than that); `None` when it cannot be read or has another size.
fn hash_bounded(path: &Path, size: u64) -> Option<String> {
    let (reader, len) = crate::fsutil::open_limited(path, size).ok()??;
    let mut hasher = crate::hash::Hasher::new();
    let read = crate::fsutil::read_all(reader, &mut hasher, path, size).ok()?;
    (len == size && read == size).then(|| hasher.finish_hex())
}

/// What [`explain_frame`] found.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The snapshot the master was compared with.
    pub snapshot: SnapshotId,
    pub result: FrameResult,
    /// Problems worked around (a damaged master read from its backup).
    pub warnings: Vec<String>,
}

/// Explain frame `frame`: the master against a snapshot (the newest when `snapshot` is
/// `None`). An empty list of reasons means the frame is the same in both.
pub fn explain_frame(
    cache: &CacheDir,
    frame: i64,
    snapshot: Option<&SnapshotId>,
) -> Result<Explained, RenderError> {
    cache.require_exists()?;
    let (master, warnings) = load_master(cache)?;
    let master = master.ok_or_else(|| {
        RenderError::Other(format!("{}: no master recorded", cache.path().display()))
    })?;
    let (id, snap) = match snapshot {
        Some(id) => (id.clone(), cache.snapshot(id)?),
        None => cache.latest_snapshot()?.ok_or_else(|| {
            RenderError::Other(format!(
                "{}: no snapshot yet: run `smartcache check` first",
                cache.path().display()
            ))
        })?,
    };
    let Some(now) = snap.frames.get(&frame) else {
        return Err(RenderError::Other(format!(
            "frame {frame} was not checked in snapshot {id}"
        )));
    };
    let current = BTreeMap::from([(frame, now.clone())]);
    let mut results = compare(cache, Some(&master), &current)?;
    Ok(Explained {
        snapshot: id,
        result: results.remove(0),
        warnings,
    })
}
