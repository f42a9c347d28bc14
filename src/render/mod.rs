//! The render-cache workflows: record a cache, check it, explain a frame.
//!
//! This is the library API that hosts embed and the CLI calls. A script is read once
//! ([`LoadedScript::read`]); [`record`] and [`check`] take it, a [`CacheDir`] and their
//! options ([`RecordOptions`], [`CheckOptions`]: the output node, the ignore rules and
//! node-class profile, the frames), and tie [`crate::manifest`] (what a frame depends on,
//! hashed), [`crate::store`] (where hashes and manifest objects live) and
//! [`crate::check`] (comparison, explanations) together. Their reports serialize to the
//! CLI's `--json` documents.
//!
//! ```
//! use smartcache::ignore::RuleSet;
//! use smartcache::profile::Profile;
//! use smartcache::render::{self, CheckOptions, LoadedScript, RecordOptions};
//! use smartcache::store::CacheDir;
//! use std::path::Path;
//!
//! let script = LoadedScript::read(Path::new("fixtures/render/comp.nk"))?;
//! let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
//! let dir = tempfile::tempdir()?;
//! let cache = CacheDir::new(dir.path());
//! let frames = [1001, 1002, 1003];
//!
//! // After rendering: remember what each frame depended on.
//! let recorded = render::record(
//!     &script,
//!     &cache,
//!     &RecordOptions::new("Write1", &rules, &profile).frames(&frames),
//! )?;
//! assert_eq!(recorded.frames, frames);
//!
//! // Later: which frames are still valid? (`snapshot(false)`: compare, write nothing.)
//! let report = render::check(
//!     &script,
//!     &cache,
//!     &CheckOptions::new("Write1", &rules, &profile).frames(&frames).snapshot(false),
//! )?;
//! assert!(report.all_valid());
//! assert!(report.to_render().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is stored per recorded or checked frame:
//! * in `hash.json`, the frame hash (and, with a render pattern, the rendered file's
//!   fingerprint, its path relative to the cache directory so that a check from
//!   another directory finds it);
//! * unless `CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE` is true, the setup object (what
//!   the output depends on, frame-independent: about the size of one frame's full
//!   manifest, shared by every frame hashed from the same script state) and one batch
//!   object per record or check mapping each distinct frame hash to a frame and the
//!   source fingerprints read there. Each frame entry names its batch.
//!
//! A read-only check ([`CheckOptions::snapshot`] `false`) writes nothing at all: no
//! snapshot, no objects, no source fingerprints. It explains from its objects in memory,
//! so it works on a cache it may not write (a read-only mount, another user's cache).

mod archive;
pub mod caches;
mod hashing;
mod report;
pub mod suggest;
mod warm;

pub use crate::graph::LoadedScript;
pub use hashing::{hash_frames, render_record, Hashed, HashedFrame};
pub use report::{CheckReport, Explained, RecordReport};
pub use warm::Warm;

use crate::hash::Hex128;
use crate::ignore::RuleSet;
use crate::manifest::source::{FileProbe, SourceIndex};
use crate::manifest::{Prepared, PreparedParts, Setup, SetupError, FRAME_VERSION};
use crate::profile::Profile;
use crate::store::setup_object::SETUP_VERSION;
use crate::store::{
    self, CacheDir, FrameEntry, HashFile, HashMeta, ScriptRef, SetupMemo, SnapshotId,
};
use archive::Archive;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the render-cache workflows.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The output node cannot be hashed (no such node, a cycle, …).
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A file operation failed (the error names the file).
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// The cache directory refused (the error names the file).
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// No frames were given and the script's own frame range is empty.
    #[error("{path}: the script's frame range {first}-{last} is empty; give the frames to hash")]
    EmptyFrameRange {
        /// The script.
        path: PathBuf,
        /// Its `first_frame`.
        first: i64,
        /// Its `last_frame`.
        last: i64,
    },
    /// Explaining a frame needs a master (nothing was recorded in this cache yet).
    #[error("{}: no master recorded", dir.display())]
    NoMaster {
        /// The cache directory.
        dir: PathBuf,
    },
    /// Explaining a frame needs a snapshot (no check has written one yet).
    #[error("{}: no snapshot yet: run `smartcache check` first", dir.display())]
    NoSnapshot {
        /// The cache directory.
        dir: PathBuf,
    },
    /// The output node is not in the script (checked before anything is hashed, with
    /// the closest names and the Write nodes, see [`suggest`]).
    #[error("{}", suggest::unknown_node_message(path, node, close, writes))]
    UnknownNode {
        /// The script.
        path: PathBuf,
        /// The node asked for.
        node: String,
        /// The names closest to it, closest first.
        close: Vec<String>,
        /// The script's Write nodes.
        writes: Vec<String>,
    },
    /// The frame to explain is not in the snapshot.
    #[error("{}", not_checked(*frame, snapshot, others))]
    FrameNotChecked {
        /// The frame.
        frame: i64,
        /// The snapshot.
        snapshot: SnapshotId,
        /// The snapshots that did check the frame, newest first.
        others: Vec<SnapshotId>,
    },
}

/// The message of [`RenderError::FrameNotChecked`]: where the frame can be explained
/// instead (at most five snapshots named, newest first).
fn not_checked(frame: i64, snapshot: &SnapshotId, others: &[SnapshotId]) -> String {
    let head = format!("frame {frame} was not checked in snapshot {snapshot}");
    match others {
        [] => format!("{head}, nor in any other: check it first (--frames {frame})"),
        _ => {
            let named: Vec<String> = others.iter().take(5).map(ToString::to_string).collect();
            let more = match others.len().saturating_sub(5) {
                0 => String::new(),
                n => format!(" and {n} older"),
            };
            format!(
                "{head}; snapshot{} {}{more} checked it (explain it there with --snapshot {})",
                if others.len() == 1 { "" } else { "s" },
                named.join(", "),
                others[0]
            )
        }
    }
}

/// The snapshots of `cache` other than `except` that checked `frame`, newest first
/// (a snapshot that cannot be read is skipped: this only feeds an error message).
fn snapshots_with(cache: &CacheDir, frame: i64, except: &SnapshotId) -> Vec<SnapshotId> {
    let mut ids = cache.snapshots().unwrap_or_default();
    ids.reverse();
    ids.into_iter()
        .filter(|id| id != except)
        .filter(|id| {
            cache
                .snapshot(id)
                .is_ok_and(|f| f.frames.contains_key(&frame))
        })
        .collect()
}

/// Called once per hashed frame (from any thread): drives a progress bar.
pub type Progress<'a> = &'a (dyn Fn() + Sync);

/// A [`Progress`] that does nothing.
pub fn no_progress() {}

/// How to record: see [`record`].
#[derive(Clone, Copy)]
pub struct RecordOptions<'a> {
    /// The cached output node, by full name (`Write1`, `Group1.Write1`).
    pub node: &'a str,
    /// The ignore rules in force.
    pub rules: &'a RuleSet,
    /// The node-class profile in force.
    pub profile: &'a Profile,
    /// The frames to record; `None`: the script's `first_frame`-`last_frame`.
    pub frames: Option<&'a [i64]>,
    /// The rendered files, as a frame pattern (`out.%04d.exr`, `out.####.exr`): each
    /// frame's file is fingerprinted, so a check reports a render deleted or replaced.
    /// `None`: a Write node's `file` knob ([`caches::output_render_pattern`]; when none of
    /// the frames is rendered yet, the hashes alone are recorded, and nothing is said).
    pub render: Option<&'a str>,
    /// Called once per hashed frame.
    pub progress: Progress<'a>,
    /// State kept between runs in a long-lived process ([`Warm`]).
    pub warm: Option<&'a Warm>,
}

impl<'a> RecordOptions<'a> {
    /// Record `node` under `rules` and `profile`, the script's whole frame range, no
    /// renders.
    pub fn new(node: &'a str, rules: &'a RuleSet, profile: &'a Profile) -> Self {
        RecordOptions {
            node,
            rules,
            profile,
            frames: None,
            render: None,
            progress: &no_progress,
            warm: None,
        }
    }

    /// Record these frames.
    pub fn frames(mut self, frames: &'a [i64]) -> Self {
        self.frames = Some(frames);
        self
    }

    /// Fingerprint the rendered files of this frame pattern.
    pub fn render(mut self, pattern: &'a str) -> Self {
        self.render = Some(pattern);
        self
    }

    /// Call `progress` once per hashed frame.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// Keep state in `warm` for later runs, and use what it kept (see [`Warm`]).
    pub fn warm(mut self, warm: &'a Warm) -> Self {
        self.warm = Some(warm);
        self
    }
}

impl std::fmt::Debug for RecordOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordOptions")
            .field("node", &self.node)
            .field("frames", &self.frames)
            .field("render", &self.render)
            .finish_non_exhaustive()
    }
}

/// How to check: see [`check`].
#[derive(Clone, Copy)]
pub struct CheckOptions<'a> {
    /// The cached output node, by full name.
    pub node: &'a str,
    /// The ignore rules in force.
    pub rules: &'a RuleSet,
    /// The node-class profile in force.
    pub profile: &'a Profile,
    /// The frames to check; `None`: the script's `first_frame`-`last_frame`.
    pub frames: Option<&'a [i64]>,
    /// Write a timestamped snapshot (and the objects and source fingerprints that go
    /// with it), as `smartcache check` does; `false` compares and writes nothing.
    pub snapshot: bool,
    /// Outdate frames that read a path smartcache cannot verify or a class nothing
    /// defines (see [`CheckReport::make_strict`]).
    pub strict: bool,
    /// Called once per checked frame.
    pub progress: Progress<'a>,
    /// State kept between runs in a long-lived process ([`Warm`]).
    pub warm: Option<&'a Warm>,
}

impl<'a> CheckOptions<'a> {
    /// Check `node` under `rules` and `profile`, the script's whole frame range,
    /// writing a snapshot.
    pub fn new(node: &'a str, rules: &'a RuleSet, profile: &'a Profile) -> Self {
        CheckOptions {
            node,
            rules,
            profile,
            frames: None,
            snapshot: true,
            strict: false,
            progress: &no_progress,
            warm: None,
        }
    }

    /// Check these frames.
    pub fn frames(mut self, frames: &'a [i64]) -> Self {
        self.frames = Some(frames);
        self
    }

    /// Whether to write a snapshot (see [`CheckOptions::snapshot`]).
    pub fn snapshot(mut self, write: bool) -> Self {
        self.snapshot = write;
        self
    }

    /// Whether to check strictly (see [`CheckOptions::strict`]).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Call `progress` once per checked frame.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// Keep state in `warm` for later runs, and use what it kept (see [`Warm`]).
    pub fn warm(mut self, warm: &'a Warm) -> Self {
        self.warm = Some(warm);
        self
    }
}

impl std::fmt::Debug for CheckOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckOptions")
            .field("node", &self.node)
            .field("frames", &self.frames)
            .field("snapshot", &self.snapshot)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

/// The frames given, or the script's own range.
fn frames_of(script: &LoadedScript, given: Option<&[i64]>) -> Result<Vec<i64>, RenderError> {
    if let Some(f) = given {
        let mut f = f.to_vec();
        f.sort_unstable();
        f.dedup();
        return Ok(f);
    }
    let (first, last) = script.script.frame_range();
    if last < first {
        return Err(RenderError::EmptyFrameRange {
            path: script.path.clone(),
            first,
            last,
        });
    }
    Ok((first..=last).collect())
}

fn meta(
    script: ScriptRef,
    output: &str,
    rules: &RuleSet,
    profile: &Profile,
    setup_memo: Option<SetupMemo>,
) -> HashMeta {
    HashMeta {
        script,
        node: output.to_string(),
        rules: rules.fingerprint(),
        profile: profile.fingerprint().to_string(),
        frame_format: FRAME_VERSION,
        setup_memo,
    }
}

/// How a hash file names `script`.
fn script_ref(script: &LoadedScript) -> ScriptRef {
    ScriptRef {
        path: script.path.to_string_lossy().into_owned(),
        hash: script.hash,
    }
}

/// A script given to [`record`] or [`check`]: borrowed from a caller that keeps it (the
/// Python `Script` object), or owned, and then released as soon as the output's setup
/// is built, so that a large script's graph is not held while its frames are hashed
/// (the command line gives its script away).
pub struct ScriptArg<'a>(Cow<'a, LoadedScript>);

impl<'a> From<&'a LoadedScript> for ScriptArg<'a> {
    fn from(s: &'a LoadedScript) -> Self {
        ScriptArg(Cow::Borrowed(s))
    }
}

impl From<LoadedScript> for ScriptArg<'_> {
    fn from(s: LoadedScript) -> Self {
        ScriptArg(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, LoadedScript>> for ScriptArg<'a> {
    fn from(s: Cow<'a, LoadedScript>) -> Self {
        ScriptArg(s)
    }
}

impl std::ops::Deref for ScriptArg<'_> {
    type Target = LoadedScript;
    fn deref(&self) -> &LoadedScript {
        &self.0
    }
}

/// Build the setup of `node` in `script`, giving the script up (an owned one is
/// dropped here, between the setup's draft and its finish: the knobs' curves are never
/// held beside the whole script); also how the hash file names the script.
fn setup_of(
    script: ScriptArg<'_>,
    node: &str,
    rules: &RuleSet,
    profile: &Profile,
) -> Result<(Arc<Setup>, ScriptRef), RenderError> {
    let draft = Setup::draft(&script.script, node, rules, profile)?;
    let named = script_ref(&script);
    drop(script);
    Ok((Arc::new(draft.finish()), named))
}

/// What hashing needs of `setup`: its name and id ([`Hashed`]), with its object
/// stored in `store` as it is encoded, on one core, while it is prepared for hashing
/// on another.
fn hashed_and_prepared<'s>(
    setup: &'s Arc<Setup>,
    store: Option<&CacheDir>,
) -> Result<(Hashed, Prepared<'s>), RenderError> {
    let (hashed, prepared) = rayon::join(
        || match store {
            Some(cache) => Hashed::stored(setup.clone(), cache),
            None => Ok(Hashed::from_shared(setup.clone())),
        },
        || Prepared::new(setup),
    );
    Ok((hashed?, prepared))
}

/// The key of a [`SetupMemo`]: everything the setup of `output` is built from besides
/// the environment.
fn setup_key(script: &LoadedScript, output: &str, rules: &RuleSet, profile: &Profile) -> Hex128 {
    let mut h = crate::hash::Hasher::new();
    for part in [
        "smartcache-setup-key/1",
        env!("CARGO_PKG_VERSION"),
        &format!("{SETUP_VERSION}/{FRAME_VERSION}"),
        &script.script.digest().to_string(),
        output,
        &rules.fingerprint(),
        profile.fingerprint(),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finish()
}

/// Store the batch object that explains `hashed`'s frames with their setup (stored
/// already, by [`hashed_and_prepared`]), unless manifests are not kept; returns its
/// name, which every frame entry refers to.
fn store_objects(cache: &CacheDir, hashed: &Hashed) -> Result<Option<store::Hex128>, RenderError> {
    if !store::keep_manifests() {
        return Ok(None);
    }
    let Some(objects) = hashed.objects() else {
        return Ok(None);
    };
    let names = cache.put_objects(&[objects.batch.2.as_slice()])?;
    Ok(names.into_iter().next())
}

/// Record frames of `opts.node` into the master: new frames are added, recorded ones
/// replaced. Several processes may record into one cache at once.
pub fn record<'s>(
    script: impl Into<ScriptArg<'s>>,
    cache: &CacheDir,
    opts: &RecordOptions<'_>,
) -> Result<RecordReport, RenderError> {
    let arg = script.into();
    let script = &*arg;
    suggest::require_node(script, opts.node)?;
    let frames = frames_of(script, opts.frames)?;
    // Refuse a cache that would be refused at the end (a symlink leading outside, a
    // damaged master without a backup) before anything is written into it.
    cache.check_layout()?;
    cache.load_master()?;
    let probe = FileProbe::with_index(probe_base(script), SourceIndex::load(cache)?);
    // Without a pattern given, a Write node's renders are its `file` knob's.
    let (render, implicit, pattern_warning) = match opts.render {
        Some(p) => (Some(p.to_string()), false, None),
        None => match caches::output_render_pattern(script, opts.node) {
            Ok(p) => (p, true, None),
            Err(e) => (None, true, Some(format!("renders not recorded: {e}"))),
        },
    };
    let key = setup_key(script, opts.node, opts.rules, opts.profile);
    // Everything else comes from the setup.
    let (setup, named) = setup_of(arg, opts.node, opts.rules, opts.profile)?;
    let store = store::keep_manifests().then_some(cache);
    let (mut hashed, prepared) = hashed_and_prepared(&setup, store)?;
    let memo = hashed.memo(key);
    hashed.hash_prepared(&prepared, &frames, &probe, opts.progress, opts.warm);
    drop(prepared);
    drop(setup);
    let batch = store_objects(cache, &hashed)?;
    if let Some(w) = opts.warm {
        // The master's setup, which the next checks explain against.
        w.put_setups(HashMap::from([(
            hashed.setup_name(),
            (hashed.setup.clone(), None),
        )]));
    }
    SourceIndex::save(cache, probe.into_observations())?;
    let mut entries = BTreeMap::new();
    let mut renders_missing = Vec::new();
    for &f in hashed.frames.keys() {
        let Some(mut entry) = hashed.entry(f, batch) else {
            continue;
        };
        if let Some(pattern) = render.as_deref() {
            let path = PathBuf::from(crate::frames::expand_pattern(pattern, f));
            match render_record(&path)? {
                Some(r) => entry.render = Some(relative_to_cache(r, cache, &path)),
                None => renders_missing.push(f),
            }
        }
        entries.insert(f, entry);
    }
    let master = cache.record_master(
        meta(named, opts.node, opts.rules, opts.profile, memo),
        entries,
    )?;
    // A Write node recorded before it rendered anything (the pattern was not asked
    // for): the hashes alone are recorded, as without a pattern, and nothing is said.
    if implicit && renders_missing.len() == hashed.frames.len() {
        renders_missing.clear();
    }
    let mut warnings: Vec<String> = pattern_warning.into_iter().collect();
    warnings.extend(master.recovery.iter().map(ToString::to_string));
    warnings.extend(hashed.file_warnings());
    let unknown_classes = hashed.unknown_classes();
    warnings.extend(unknown_warning(&unknown_classes));
    let report = RecordReport {
        node: opts.node.to_string(),
        frames: hashed.frames.keys().copied().collect(),
        distinct: hashed.distinct(),
        renders_missing,
        manifests_kept: batch.is_some(),
        master_frames: master.file.frames.len(),
        master: cache.master_path(),
        warnings,
        unknown_classes,
    };
    // Freeing the setup takes tens of milliseconds at 50,000 nodes.
    warm::drop_aside(hashed);
    Ok(report)
}

/// Where the files a script names relatively are looked for: the script's folder,
/// absolute, so that the source fingerprints remembered in `sources.json` are keyed
/// alike whichever directory a record or check runs from.
fn probe_base(script: &LoadedScript) -> PathBuf {
    let base = script.base_dir();
    std::path::absolute(&base).unwrap_or(base)
}

/// A render's record with its path relative to the cache directory (see
/// [`store::RenderRecord`]), or absolute when the two share no folder but the root.
fn relative_to_cache(
    mut r: store::RenderRecord,
    cache: &CacheDir,
    path: &Path,
) -> store::RenderRecord {
    match crate::fsutil::relative_to(cache.path(), path) {
        Some(rel) => {
            r.path = rel.to_string_lossy().into_owned();
            r.base = Some(store::RenderBase::CacheDir);
        }
        None => {
            if let Ok(abs) = crate::fsutil::canonical_lenient(path) {
                r.path = abs.to_string_lossy().into_owned();
            }
        }
    }
    r
}

/// Check frames of `opts.node` against the master: compare frame by frame, explain
/// what changed, and (unless `opts.snapshot` is `false`) write a timestamped snapshot.
pub fn check<'s>(
    script: impl Into<ScriptArg<'s>>,
    cache: &CacheDir,
    opts: &CheckOptions<'_>,
) -> Result<CheckReport, RenderError> {
    let arg = script.into();
    let script = &*arg;
    suggest::require_node(script, opts.node)?;
    let frames = frames_of(script, opts.frames)?;
    cache.require_exists()?;
    cache.check_layout()?;
    let (master, warnings) = load_master(cache)?;
    let key = setup_key(script, opts.node, opts.rules, opts.profile);
    if let Some(memo) = master.as_ref().and_then(|m| unchanged(m, key, &frames)) {
        return check_unchanged(script, cache, opts, master, warnings, memo);
    }
    let probe = FileProbe::with_index(probe_base(script), SourceIndex::load(cache)?);
    // Everything else comes from the setup, prepared once, for hashing and for
    // explaining.
    let (setup, named) = setup_of(arg, opts.node, opts.rules, opts.profile)?;
    let store = (opts.snapshot && store::keep_manifests()).then_some(cache);
    let (mut hashed, prepared) = hashed_and_prepared(&setup, store)?;
    let memo = hashed.memo(key);
    // A frame the master recorded from this very setup has the same hash, unless it
    // reads files on disk (which may have changed): take it from the master.
    let reads_files = hashed.reads_files();
    let reuse = |f: &i64| -> Option<FrameEntry> {
        let master = master
            .as_ref()
            .filter(|m| m.meta.frame_format == FRAME_VERSION)?;
        let e = master.frames.get(f)?;
        (!reads_files && e.setup == Some(hashed.setup_id)).then(|| FrameEntry {
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
    reused.keys().for_each(|_| (opts.progress)());
    hashed.hash_prepared(&prepared, &todo, &probe, opts.progress, opts.warm);
    // Setups decoded by earlier runs, and the one hashed now, are served from memory.
    let kept = opts.warm.map(Warm::take_setups).unwrap_or_default();
    let (setups, parts) = split_kept(kept);
    let mut archive = Archive::new(cache)
        .with_setups(setups)
        .with_parts(parts)
        .with_prepared(hashed.setup_name(), &prepared);
    let batch = if opts.snapshot {
        let batch = store_objects(cache, &hashed)?;
        SourceIndex::save(cache, probe.into_observations())?;
        archive = archive.with_setups(HashMap::from([(hashed.setup_name(), hashed.setup.clone())]));
        batch
    } else {
        // Nothing is written: the objects are served from memory.
        hashed.objects().map(|objects| {
            let name = objects.batch.0;
            archive = std::mem::replace(&mut archive, Archive::new(cache))
                .with_current(&hashed.setup, objects);
            name
        })
    };
    let mut entries = reused;
    for &f in &todo {
        if let Some(entry) = hashed.entry(f, batch) {
            entries.insert(f, entry);
        }
    }
    let snapshot = if opts.snapshot {
        let file = HashFile::new(
            meta(named, opts.node, opts.rules, opts.profile, memo),
            entries.clone(),
        );
        Some(cache.write_snapshot(&file)?)
    } else {
        None
    };
    let mut frames = archive.compare(master.as_ref(), &entries)?;
    if let Some(w) = opts.warm {
        w.put_setups(archive.into_setups());
    }
    for r in &mut frames {
        r.unverifiable = hashed.unverifiable(r.frame);
    }
    let mut warnings = warnings;
    warnings.extend(hashed.file_warnings());
    let unknown_classes = hashed.unknown_classes();
    warnings.extend(unknown_warning(&unknown_classes));
    let mut report = CheckReport {
        node: opts.node.to_string(),
        snapshot,
        frames,
        has_master: master.is_some(),
        warnings,
        unknown_classes,
    };
    if opts.strict {
        report.make_strict();
    }
    Ok(report)
}

/// Setups kept decoded, and the prepared parts of those that have them, by name.
type Split = (HashMap<Hex128, Arc<Setup>>, HashMap<Hex128, PreparedParts>);

/// Kept setups apart from their prepared parts (see [`Warm`]).
fn split_kept(kept: warm::KeptSetups) -> Split {
    let mut parts = HashMap::new();
    let setups = kept
        .into_iter()
        .map(|(name, (s, p))| {
            if let Some(p) = p {
                parts.insert(name, p);
            }
            (name, s)
        })
        .collect();
    (setups, parts)
}

/// The master's setup memo when it says that `frames` were all hashed from the setup
/// this script builds now: the same key, the same environment, each frame recorded
/// from that setup.
fn unchanged(master: &HashFile, key: Hex128, frames: &[i64]) -> Option<SetupMemo> {
    let memo = master.meta.setup_memo.as_ref()?;
    let recorded = |f: &i64| {
        master
            .frames
            .get(f)
            .is_some_and(|e| e.setup == Some(memo.setup))
    };
    // The key names the frame format too; the stated one is checked all the same, so
    // that a master written by another format is never taken as it is.
    (master.meta.frame_format == FRAME_VERSION
        && memo.key == key
        && frames.iter().all(recorded)
        && memo.env_unchanged())
    .then(|| memo.clone())
}

/// A check whose frames were all recorded from the setup the script builds now, and
/// read no file (see [`SetupMemo`]): every frame hash is the master's, so nothing is
/// built or hashed. What is written and reported is what the full check would write
/// and report for the same frames.
fn check_unchanged(
    script: &LoadedScript,
    cache: &CacheDir,
    opts: &CheckOptions<'_>,
    master: Option<HashFile>,
    mut warnings: Vec<String>,
    memo: SetupMemo,
) -> Result<CheckReport, RenderError> {
    let master = master.as_ref();
    let frames = frames_of(script, opts.frames)?;
    let entries: BTreeMap<i64, FrameEntry> = frames
        .iter()
        .filter_map(|f| {
            let e = master?.frames.get(f)?;
            (opts.progress)();
            Some((
                *f,
                FrameEntry {
                    render: None,
                    ..e.clone()
                },
            ))
        })
        .collect();
    let unknown_classes = memo.unknown_classes.clone();
    let snapshot = if opts.snapshot {
        let meta = meta(
            script_ref(script),
            opts.node,
            opts.rules,
            opts.profile,
            Some(memo),
        );
        Some(cache.write_snapshot(&HashFile::new(meta, entries.clone()))?)
    } else {
        None
    };
    let frames = Archive::new(cache).compare(master, &entries)?;
    warnings.extend(unknown_warning(&unknown_classes));
    let mut report = CheckReport {
        node: opts.node.to_string(),
        snapshot,
        frames,
        has_master: master.is_some(),
        warnings,
        unknown_classes,
    };
    if opts.strict {
        report.make_strict();
    }
    Ok(report)
}

/// The warning for classes nothing defines.
fn unknown_warning(classes: &[String]) -> Option<String> {
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

/// Explain frame `frame`: the master against a snapshot (the newest when `snapshot` is
/// `None`). An empty list of reasons means the frame is the same in both.
pub fn explain(
    cache: &CacheDir,
    frame: i64,
    snapshot: Option<&SnapshotId>,
) -> Result<Explained, RenderError> {
    cache.require_exists()?;
    let (master, warnings) = load_master(cache)?;
    let master = master.ok_or_else(|| RenderError::NoMaster {
        dir: cache.path().to_path_buf(),
    })?;
    let (id, snap) = match snapshot {
        Some(id) => (id.clone(), cache.snapshot(id)?),
        None => cache
            .latest_snapshot()?
            .ok_or_else(|| RenderError::NoSnapshot {
                dir: cache.path().to_path_buf(),
            })?,
    };
    let Some(now) = snap.frames.get(&frame) else {
        return Err(RenderError::FrameNotChecked {
            frame,
            others: snapshots_with(cache, frame, &id),
            snapshot: id,
        });
    };
    let current = BTreeMap::from([(frame, now.clone())]);
    let mut results = Archive::new(cache).compare(Some(&master), &current)?;
    let Some(result) = results.pop() else {
        return Err(RenderError::FrameNotChecked {
            frame,
            others: Vec::new(),
            snapshot: id,
        });
    };
    Ok(Explained {
        snapshot: id,
        result,
        warnings,
    })
}
