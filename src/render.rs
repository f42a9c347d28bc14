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

use crate::check::{explain, FrameResult, Reason, ReasonKind, Side, Status};
use crate::graph::Script;
use crate::ignore::RuleSet;
use crate::manifest::source::{source_key, FileProbe, RecordedSources, SourceIndex, ROOT_KEY};
use crate::manifest::view::{FileRead, FileState};
use crate::manifest::{Prepared, Setup, SetupError, SourceProbe, FRAME_FORMAT, FRAME_VERSION};
use crate::profile::Profile;
use crate::store::batch_object::{Batch, BatchFrame};
use crate::store::setup_object;
use crate::store::{
    self, CacheDir, FrameEntry, HashFile, HashMeta, RenderRecord, ScriptRef, SnapshotId,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

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
    /// Files the frame read, keyed by [`source_key`].
    pub sources: BTreeMap<String, Vec<FileRead>>,
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
    pub fn new(
        script: &Script,
        output: &str,
        rules: &RuleSet,
        profile: &Profile,
    ) -> Result<Hashed, RenderError> {
        let setup = Setup::build(script, output, rules, profile)?;
        let setup_json = setup_object::encode(&setup);
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
        if frames.is_empty() {
            return;
        }
        let setup = &self.setup;
        let prepared = Prepared::new(setup);
        let root_files = prepared.root_files(probe).to_vec();
        let hashed: Vec<(i64, HashedFrame)> = frames
            .par_iter()
            .map(|&f| {
                let (hash, sources) = prepared.frame_hash(f as f64, probe);
                progress();
                let mut sources: BTreeMap<String, Vec<FileRead>> = sources
                    .into_iter()
                    .map(|(node, ctx, s)| (source_key(&setup.nodes[node].name, ctx), s))
                    .collect();
                if !root_files.is_empty() {
                    sources.insert(ROOT_KEY.to_string(), root_files.clone());
                }
                (f, HashedFrame { hash, sources })
            })
            .collect();
        self.frames.extend(hashed);
    }

    /// Whether any frame of this setup reads a file on disk (then an unchanged setup
    /// does not imply unchanged frames).
    pub fn reads_files(&self) -> bool {
        !self.setup.root_files.is_empty()
            || self
                .setup
                .nodes
                .iter()
                .any(|n| !n.knob_only && n.sem.files.iter().any(|f| n.knob(&f.knob).is_some()))
    }

    /// Classes of nodes the frames read that the profile does not know and no gizmo
    /// defines: what they do to a frame is assumed, not known.
    pub fn unknown_classes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .setup
            .nodes
            .iter()
            .filter(|n| !n.knob_only && !n.group && !n.sem.known)
            .map(|n| n.class.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What a user should hear about the files the hashed frames read: missing files
    /// (recorded as missing) and paths that cannot be verified, one line per node knob
    /// and problem, with the frames.
    pub fn file_warnings(&self) -> Vec<String> {
        let mut by: BTreeMap<(String, String, String), (Vec<i64>, String)> = BTreeMap::new();
        for (f, h) in &self.frames {
            for (key, reads) in &h.sources {
                let node = key.rsplit_once('@').map_or(key.as_str(), |(n, _)| n);
                let node = if key == ROOT_KEY { "Root" } else { node };
                for r in reads {
                    let problem = match &r.state {
                        FileState::Content(_) => continue,
                        FileState::Missing => "is missing (recorded as missing)".to_string(),
                        FileState::Unreadable(e) => format!("cannot be read ({e})"),
                        FileState::Unverifiable(why) => format!("cannot be verified: {why}"),
                    };
                    let e = by
                        .entry((node.to_string(), r.knob.clone(), problem))
                        .or_insert_with(|| (Vec::new(), r.path.clone()));
                    if e.0.last() != Some(f) {
                        e.0.push(*f);
                    }
                }
            }
        }
        by.into_iter()
            .map(|((node, knob, problem), (frames, path))| {
                let what = if path.is_empty() {
                    String::new()
                } else {
                    format!(" {path}")
                };
                format!(
                    "{node}.{knob}:{what} {problem} (frames {})",
                    crate::frames::format_ranges(&frames)
                )
            })
            .collect()
    }

    /// The paths frame `f` reads that cannot be verified, as `Node.knob: reason`.
    pub fn unverifiable(&self, f: i64) -> Vec<String> {
        let Some(h) = self.frames.get(&f) else {
            return Vec::new();
        };
        let mut out: Vec<String> = h
            .sources
            .iter()
            .flat_map(|(key, reads)| {
                let node = key.rsplit_once('@').map_or(key.as_str(), |(n, _)| n);
                let node = if key == ROOT_KEY { "Root" } else { node };
                reads.iter().filter_map(move |r| match &r.state {
                    FileState::Unverifiable(why) => Some(format!("{node}.{}: {why}", r.knob)),
                    _ => None,
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
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
    profile: &Profile,
    frames: &[i64],
    probe: &dyn SourceProbe,
) -> Result<Hashed, RenderError> {
    let mut hashed = Hashed::new(script, output, rules, profile)?;
    hashed.hash(frames, probe, &no_progress);
    Ok(hashed)
}

/// Store the setup object and one batch object for the frames hashed together, unless
/// manifests are not kept. Returns the batch object's name, which every frame entry
/// refers to (see [`store::batch_object`]).
fn store_objects(cache: &CacheDir, hashed: &Hashed) -> Result<Option<String>, RenderError> {
    if !store::keep_manifests() || hashed.frames.is_empty() {
        return Ok(None);
    }
    let setup_hash = crate::hash::hex128(&hashed.setup_json);
    let mut frames = BTreeMap::new();
    for (f, h) in &hashed.frames {
        frames.entry(h.hash.clone()).or_insert_with(|| BatchFrame {
            frame: *f,
            sources: h.sources.clone(),
        });
    }
    let batch = Batch::new(setup_hash, frames).encode();
    let names = cache.put_objects(&[hashed.setup_json.as_slice(), batch.as_slice()])?;
    Ok(names.into_iter().nth(1))
}

fn meta(loaded: &LoadedScript, output: &str, rules: &RuleSet, profile: &Profile) -> HashMeta {
    HashMeta {
        script: ScriptRef {
            path: loaded.path.to_string_lossy().into_owned(),
            hash: loaded.hash.clone(),
        },
        node: output.to_string(),
        rules: rules.fingerprint(),
        profile: profile.fingerprint().to_string(),
        frame_format: FRAME_VERSION,
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
    /// Problems worked around (a damaged master restored from its backup), files
    /// missing or unverifiable, classes nothing defines: for the user to see.
    pub warnings: Vec<String>,
    /// Classes the frames read that the profile does not know and no gizmo defines.
    pub unknown_classes: Vec<String>,
}

/// The warning for classes nothing defines.
fn unknown_warnings(classes: &[String]) -> Option<String> {
    (!classes.is_empty()).then(|| {
        format!(
            "class{} {} found neither in the node-class profile nor as a gizmo on the plugin \
             path: what {} to a frame is assumed (frame-local, half a frame of motion \
             blur), not known",
            if classes.len() == 1 { "" } else { "es" },
            classes.join(", "),
            if classes.len() == 1 {
                "it does"
            } else {
                "they do"
            }
        )
    })
}

/// Record `frames` of `output` into the master: new frames are added, recorded ones
/// replaced. `render` is a frame pattern of the rendered files to fingerprint.
#[allow(clippy::too_many_arguments)]
pub fn record(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    profile: &Profile,
    frames: &[i64],
    render: Option<&str>,
    progress: Progress<'_>,
) -> Result<RecordReport, RenderError> {
    // Refuse a cache that would be refused at the end (a symlink leading outside, a
    // damaged master without a backup) before anything is written into it.
    cache.check_layout()?;
    cache.load_master()?;
    let probe = FileProbe::with_index(loaded.base_dir(), SourceIndex::load(cache)?);
    let mut hashed = Hashed::new(&loaded.script, output, rules, profile)?;
    hashed.hash(frames, &probe, progress);
    let batch = store_objects(cache, &hashed)?;
    SourceIndex::save(cache, probe.into_observations())?;
    let mut entries = BTreeMap::new();
    let mut renders_missing = Vec::new();
    for &f in hashed.frames.keys() {
        let mut entry = hashed.entry(f, &batch).expect("hashed above");
        if let Some(pattern) = render {
            let path = PathBuf::from(crate::frames::expand_pattern(pattern, f));
            match render_record(&path)? {
                Some(r) => entry.render = Some(r),
                None => renders_missing.push(f),
            }
        }
        entries.insert(f, entry);
    }
    let distinct = hashed
        .frames
        .values()
        .map(|h| h.hash.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let master = cache.record_master(meta(loaded, output, rules, profile), entries)?;
    let mut warnings: Vec<String> = master.recovery.iter().map(ToString::to_string).collect();
    warnings.extend(hashed.file_warnings());
    let unknown_classes = hashed.unknown_classes();
    warnings.extend(unknown_warnings(&unknown_classes));
    Ok(RecordReport {
        frames: hashed.frames.len(),
        distinct,
        renders_missing,
        manifests_kept: batch.is_some(),
        warnings,
        unknown_classes,
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
    /// Problems worked around (a damaged master read from its backup), files missing
    /// or unverifiable, classes nothing defines: for the user to see.
    pub warnings: Vec<String>,
    /// Classes the frames read that the profile does not know and no gizmo defines.
    pub unknown_classes: Vec<String>,
}

impl CheckReport {
    /// `true` when every checked frame is valid.
    pub fn all_valid(&self) -> bool {
        self.results.iter().all(|r| r.status == Status::Valid)
    }

    /// Strict checking: a frame that reads a path that cannot be verified, or a class
    /// nothing defines, is outdated, since smartcache cannot vouch for it.
    pub fn make_strict(&mut self) {
        for r in &mut self.results {
            let mut why: Vec<String> = r.unverifiable.clone();
            why.extend(
                self.unknown_classes
                    .iter()
                    .map(|c| format!("class {c} is not known to the profile")),
            );
            if why.is_empty() {
                continue;
            }
            if r.status == Status::Valid {
                r.status = Status::Outdated;
            }
            for w in why {
                r.reasons.push(Reason::simple(
                    ReasonKind::Unverifiable,
                    format!("strict: {w}"),
                ));
            }
        }
    }
}

/// Loads stored setups and batch objects to rebuild the manifests of past frames.
struct Archive<'c> {
    cache: &'c CacheDir,
    setups: HashMap<String, Result<Setup, Box<Reason>>>,
    batches: HashMap<String, Result<Batch, Box<Reason>>>,
}

/// A stored frame: the setup it was hashed from, the frame, the files it read.
struct StoredFrame {
    setup_hash: String,
    frame: f64,
    sources: HashMap<String, Vec<FileRead>>,
}

impl<'c> Archive<'c> {
    fn new(cache: &'c CacheDir) -> Self {
        Archive {
            cache,
            setups: HashMap::new(),
            batches: HashMap::new(),
        }
    }

    /// Read and decode object `name`, or the reason it cannot be used.
    fn object<T>(
        &self,
        name: &str,
        decode: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, Box<Reason>> {
        match self.cache.get_object(name) {
            Ok(Some(bytes)) => decode(&bytes).map_err(|e| {
                Box::new(Reason::simple(
                    ReasonKind::ManifestDamaged,
                    format!(
                        "the frame changed; its manifest object {name} is damaged ({e}), so it \
                         cannot be explained"
                    ),
                ))
            }),
            Ok(None) => Err(Box::new(Reason::simple(
                ReasonKind::ManifestMissing,
                format!(
                    "the frame changed; its manifest object {name} is missing, so it cannot \
                     be explained"
                ),
            ))),
            Err(e) => Err(Box::new(Reason::simple(
                ReasonKind::ManifestDamaged,
                format!("the frame changed; its manifest object {name} cannot be read ({e})"),
            ))),
        }
    }

    /// The stored frame of `entry`.
    fn frame(&mut self, entry: &FrameEntry) -> Result<StoredFrame, Box<Reason>> {
        let Some(name) = entry.manifest.as_deref() else {
            return Err(Box::new(Reason::simple(
                ReasonKind::ManifestNotKept,
                "the frame changed; manifest not kept, so it cannot be explained \
                 (CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE was set when it was hashed)",
            )));
        };
        if !self.batches.contains_key(name) {
            let b = self.object(name, |b| Batch::decode(b).map_err(|e| e.to_string()));
            self.batches.insert(name.to_string(), b);
        }
        let batch = self.batches[name].as_ref().map_err(Clone::clone)?;
        let Some(f) = batch.frames.get(&entry.hash) else {
            return Err(Box::new(Reason::simple(
                ReasonKind::ManifestDamaged,
                format!("the frame changed; its manifest object {name} does not hold it"),
            )));
        };
        Ok(StoredFrame {
            setup_hash: batch.setup.clone(),
            frame: f.frame as f64,
            sources: f.sources.clone().into_iter().collect(),
        })
    }

    fn setup(&mut self, name: &str) -> Result<&Setup, Box<Reason>> {
        if !self.setups.contains_key(name) {
            let s = self.object(name, |b| setup_object::decode(b).map_err(|e| e.to_string()));
            self.setups.insert(name.to_string(), s);
        }
        self.setups[name].as_ref().map_err(Clone::clone)
    }

    /// Explain why frame entry `old` became `new`, from the stored objects of both.
    fn explain(&mut self, old: &FrameEntry, new: &FrameEntry) -> Vec<Reason> {
        let (fo, fnew) = match (self.frame(old), self.frame(new)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(r), _) | (_, Err(r)) => return vec![*r],
        };
        if let Err(r) = self.setup(&fo.setup_hash).and(Ok(())) {
            return vec![*r];
        }
        if let Err(r) = self.setup(&fnew.setup_hash).and(Ok(())) {
            return vec![*r];
        }
        let (so, sn) = (&self.setups[&fo.setup_hash], &self.setups[&fnew.setup_hash]);
        let (Ok(so), Ok(sn)) = (so, sn) else {
            unreachable!("both setups were loaded above")
        };
        let (po, pn) = (Prepared::new(so), Prepared::new(sn));
        let vo = po.view(fo.frame, &RecordedSources(fo.sources));
        let vn = pn.view(fnew.frame, &RecordedSources(fnew.sources));
        explain(
            Side {
                setup: so,
                view: &vo,
            },
            Side {
                setup: sn,
                view: &vn,
            },
        )
    }
}

/// Check `frames` of `output` against the master: write a timestamped snapshot, compare
/// frame by frame, explain what changed.
#[allow(clippy::too_many_arguments)]
pub fn check(
    loaded: &LoadedScript,
    output: &str,
    cache: &CacheDir,
    rules: &RuleSet,
    profile: &Profile,
    frames: &[i64],
    progress: Progress<'_>,
) -> Result<CheckReport, RenderError> {
    cache.require_exists()?;
    cache.check_layout()?;
    let (master, warnings) = load_master(cache)?;
    let probe = FileProbe::with_index(loaded.base_dir(), SourceIndex::load(cache)?);
    let mut hashed = Hashed::new(&loaded.script, output, rules, profile)?;
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
    let snapshot_file = HashFile::new(meta(loaded, output, rules, profile), entries.clone());
    let snapshot = cache.write_snapshot(&snapshot_file)?;
    let mut results = compare(cache, master.as_ref(), &entries)?;
    for r in &mut results {
        r.unverifiable = hashed.unverifiable(r.frame);
    }
    let mut warnings = warnings;
    warnings.extend(hashed.file_warnings());
    let unknown_classes = hashed.unknown_classes();
    warnings.extend(unknown_warnings(&unknown_classes));
    Ok(CheckReport {
        snapshot,
        results,
        has_master: master.is_some(),
        warnings,
        unknown_classes,
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
    let old_format = master
        .map(|m| m.meta.frame_format)
        .filter(|&v| v != FRAME_VERSION);
    for (f, now) in current {
        let (status, reasons) = match master.and_then(|m| m.frames.get(f)) {
            None => (Status::Uncached, Vec::new()),
            Some(then) if then.hash != now.hash => match old_format {
                Some(v) => (
                    Status::Outdated,
                    vec![Reason::simple(
                        ReasonKind::Format,
                        format!(
                            "recorded by an older smartcache (frame format {v}, now \
                             {FRAME_VERSION}): re-record the cache"
                        ),
                    )],
                ),
                None => {
                    let key = (then.hash.clone(), now.hash.clone());
                    if !explained.contains_key(&key) {
                        let r = archive.explain(then, now);
                        explained.insert(key.clone(), r);
                    }
                    (Status::Outdated, explained[&key].clone())
                }
            },
            Some(then) => match &then.render {
                Some(r) => render_status(r)?,
                None => (Status::Valid, Vec::new()),
            },
        };
        out.push(FrameResult {
            frame: *f,
            status,
            reasons,
            unverifiable: Vec::new(),
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
                kind: ReasonKind::Render,
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
