//! Source files: a plate re-rendered in place on disk changes the frames that read it,
//! even though no knob changed.
//!
//! The profile says which knobs of a class name files and of what kind
//! ([`crate::profile::FileKnob`]). A frame-sequence knob (`plate.%04d.exr`,
//! `plate.####.exr`) read at the frames its node's clip mapping gives is one file per
//! frame; each file is fingerprinted by content (xxh3-128), trusting a remembered hash
//! when one `stat` shows the file unchanged ([`SourceIndex`]). A file that is missing
//! is recorded as missing. A path built by Tcl or Python (`[value root.name]`,
//! `[python …]`) that cannot be resolved here is recorded as unverifiable, which still
//! catches any edit of the knob.

use super::ctx::Ctx;
use super::frame::SourceProbe;
use super::setup::SetupNode;
use super::time::ClipFrames;
use super::view::{FileRead, FileState};
use crate::dataset::fingerprint::Fingerprint;
use crate::frames::expand_pattern;
use crate::store::{CacheDir, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest number of files fingerprinted for one node in one context (a span).
const MAX_FILES: i64 = 100_000;

/// Fingerprints Read nodes' files on disk, each file once per process, trusting a
/// file's remembered content hash when one `stat` shows it unchanged (see
/// [`SourceIndex`]).
pub struct FileProbe {
    base: PathBuf,
    known: SourceIndex,
    seen: Mutex<HashMap<PathBuf, Known>>,
}

/// What is remembered of one source file: its stat fingerprint, its content hash, and
/// when that pair was taken (for the racy-timestamp rule).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Known {
    /// The file's stat fingerprint.
    pub fingerprint: Fingerprint,
    /// Its content hash (xxh3-128).
    pub hash: String,
    /// When the pair was taken (ns since the epoch).
    pub recorded_ns: i64,
}

/// Source fingerprints remembered between runs in `<cache-dir>/sources.json`, so that
/// checking unchanged plates costs one `stat` each, not a read.
///
/// A remembered hash is used only when the file's (size, mtime, ctime, inode) is
/// exactly as remembered *and* the memory is not racy: a file modified within
/// [`crate::dataset::fingerprint::RACY_WINDOW_NS`] of the moment it was hashed is read
/// again, since a second write in the same timestamp tick could keep every field equal.
/// The index is only an accelerator: a missing or unreadable one means reading files,
/// never a wrong answer, so it is rebuilt rather than reported.
#[derive(Debug, Default, Clone)]
pub struct SourceIndex {
    /// Remembered files by path.
    pub entries: HashMap<PathBuf, Known>,
}

const SOURCE_INDEX_FORMAT: &str = "smartcache-sources";

impl SourceIndex {
    /// Read the index of `cache` (empty when absent or damaged; the store refuses one
    /// that is a symlink leading out of the cache).
    pub fn load(cache: &CacheDir) -> Result<SourceIndex, StoreError> {
        match cache.read_sources() {
            Ok(bytes) => Ok(bytes.map(|b| Self::decode(&b)).unwrap_or_default()),
            Err(e) if e.is_damage() => Ok(SourceIndex::default()),
            Err(e) => Err(e),
        }
    }

    /// The index in `bytes`, empty when they are not one.
    fn decode(bytes: &[u8]) -> SourceIndex {
        #[derive(serde::Deserialize)]
        struct Wire {
            format: String,
            entries: HashMap<PathBuf, Known>,
        }
        match serde_json::from_slice::<Wire>(bytes) {
            Ok(w) if w.format == SOURCE_INDEX_FORMAT => SourceIndex { entries: w.entries },
            _ => SourceIndex::default(),
        }
    }

    /// Merge `new` observations into the index of `cache` and write it atomically,
    /// under the cache's lock so that concurrent recorders keep each other's entries.
    pub fn save(cache: &CacheDir, new: HashMap<PathBuf, Known>) -> Result<(), StoreError> {
        if new.is_empty() {
            return Ok(());
        }
        cache.update_sources(|current| {
            let mut index = current.map(|b| Self::decode(&b)).unwrap_or_default();
            for (path, k) in new {
                match index.entries.get(&path) {
                    Some(old) if old.recorded_ns > k.recorded_ns => {}
                    _ => {
                        index.entries.insert(path, k);
                    }
                }
            }
            let entries: std::collections::BTreeMap<_, _> = index.entries.iter().collect();
            let doc = serde_json::json!({"format": SOURCE_INDEX_FORMAT, "version": 1, "entries": entries});
            serde_json::to_vec(&doc).expect("JSON serializes")
        })
    }
}

impl FileProbe {
    /// Relative paths in file knobs are taken from `base` (the script's directory).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self::with_index(base, SourceIndex::default())
    }

    /// A probe that trusts `known` fingerprints (see [`SourceIndex`]).
    pub fn with_index(base: impl Into<PathBuf>, known: SourceIndex) -> Self {
        FileProbe {
            base: base.into(),
            known,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// What this probe learned, to remember with [`SourceIndex::save`].
    pub fn into_observations(self) -> HashMap<PathBuf, Known> {
        self.seen.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn content(&self, path: &Path) -> FileState {
        if let Some(k) = self.seen.lock().expect("not poisoned").get(path) {
            return FileState::Content(k.hash.clone());
        }
        let fingerprint = match Fingerprint::of(path) {
            Ok(fp) => fp,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileState::Missing,
            Err(e) => return FileState::Unreadable(e.to_string()),
        };
        let known = self
            .known
            .entries
            .get(path)
            .filter(|k| k.fingerprint == fingerprint && !fingerprint.is_racy(k.recorded_ns))
            .cloned();
        let known = match known {
            Some(k) => k,
            None => {
                let recorded_ns = crate::dataset::fingerprint::now_ns();
                match crate::dataset::hash_file(path) {
                    Ok(hash) => Known {
                        fingerprint,
                        hash,
                        recorded_ns,
                    },
                    Err(e) => return FileState::Unreadable(e.to_string()),
                }
            }
        };
        let hash = known.hash.clone();
        self.seen
            .lock()
            .expect("not poisoned")
            .insert(path.to_path_buf(), known);
        FileState::Content(hash)
    }

    /// Where a path as the knob writes it is read from: relative to the script.
    fn on_disk(&self, written: &str) -> PathBuf {
        let p = PathBuf::from(written);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }
}

/// A file knob's text as a path pattern, or `None` when it is built at run time.
fn pattern(node: &SetupNode, knob: &str) -> Option<Result<String, String>> {
    let k = node.knob(knob)?;
    let t = k.text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .unwrap_or(t);
    if t.is_empty() {
        return None;
    }
    if t.contains(['[', '$']) || !k.value.is_plain() {
        return Some(Err(format!("{}.{knob} is computed at run time", node.name)));
    }
    Some(Ok(t.replace("\\\\", "\\")))
}

impl SourceProbe for FileProbe {
    fn files(&self, node: &SetupNode, _ctx: Ctx, frames: &ClipFrames) -> Vec<FileRead> {
        let mut out = Vec::new();
        for fk in &node.sem.files {
            // Only frame sequences are read here; the other kinds are recorded by
            // their knob text.
            if !fk.kind.is_sequence() || fk.kind == crate::profile::FileKind::Proxy {
                continue;
            }
            let pat = match pattern(node, &fk.knob) {
                None => continue,
                Some(Err(why)) => {
                    out.push(FileRead {
                        knob: fk.knob.clone(),
                        path: node
                            .knob(&fk.knob)
                            .map(|k| k.text.clone())
                            .unwrap_or_default(),
                        state: FileState::Unverifiable(why),
                    });
                    continue;
                }
                Some(Ok(p)) => p,
            };
            let whole: Vec<i64> = match frames {
                ClipFrames::None => Vec::new(),
                ClipFrames::At(ts) => {
                    let mut v: Vec<i64> = ts
                        .iter()
                        .flat_map(|t| [t.floor() as i64, t.ceil() as i64])
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                ClipFrames::Span(a, b) if (b - a) < MAX_FILES as f64 => {
                    (a.floor() as i64..=b.ceil() as i64).collect()
                }
                ClipFrames::Span(..) | ClipFrames::All => {
                    out.push(FileRead {
                        knob: fk.knob.clone(),
                        path: pat.clone(),
                        state: FileState::Unverifiable(
                            "reads every frame of a sequence whose range is not known".into(),
                        ),
                    });
                    continue;
                }
            };
            for f in whole {
                let written = expand_pattern(&pat, f);
                let state = self.content(&self.on_disk(&written));
                out.push(FileRead {
                    knob: fk.knob.clone(),
                    path: written,
                    state,
                });
            }
        }
        out
    }
}

/// Files recorded in a stored frame object, served back when a view is rebuilt to
/// explain a frame (the files on disk may have changed since).
pub struct RecordedSources(pub HashMap<String, Vec<FileRead>>);

/// The key under which a node's files are recorded: its name and context.
pub fn source_key(node: &SetupNode, ctx: Ctx) -> String {
    let f = |v: f64| crate::eval::format_f64(v);
    match ctx.frame {
        Some(x) if ctx.lo == x && ctx.hi == x => format!("{}@{}", node.name, f(x)),
        Some(x) => format!("{}@{}[{},{}]", node.name, f(x), f(ctx.lo), f(ctx.hi)),
        None => format!("{}@[{},{}]", node.name, f(ctx.lo), f(ctx.hi)),
    }
}

impl SourceProbe for RecordedSources {
    fn files(&self, node: &SetupNode, ctx: Ctx, _: &ClipFrames) -> Vec<FileRead> {
        self.0
            .get(&source_key(node, ctx))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_unchanged_file_is_not_read_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let plate = dir.path().join("plate.0001.exr");
        std::fs::write(&plate, b"pixels").unwrap();
        let fingerprint = Fingerprint::of(&plate).unwrap();
        let remembered = |fingerprint, recorded_ns| Known {
            fingerprint,
            hash: "remembered".into(),
            recorded_ns,
        };
        // Taken well after the file's last change: trusted without reading.
        let later = fingerprint.mtime_ns.max(fingerprint.ctime_ns) + 10_000_000_000;
        let mut index = SourceIndex::default();
        index
            .entries
            .insert(plate.clone(), remembered(fingerprint, later));
        assert_eq!(
            FileProbe::with_index(dir.path(), index.clone()).content(&plate),
            FileState::Content("remembered".into())
        );
        // Taken in the same tick as the change (racy): read again.
        let racy = SourceIndex {
            entries: HashMap::from([(
                plate.clone(),
                remembered(fingerprint, fingerprint.mtime_ns),
            )]),
        };
        let real = crate::dataset::hash_file(&plate).unwrap();
        assert_eq!(
            FileProbe::with_index(dir.path(), racy).content(&plate),
            FileState::Content(real)
        );
        // Changed since: read again.
        std::fs::write(&plate, b"other pixels").unwrap();
        let probe = FileProbe::with_index(dir.path(), index);
        assert_ne!(
            probe.content(&plate),
            FileState::Content("remembered".into())
        );
        // What was learned is saved and loaded back.
        let cache = CacheDir::new(dir.path());
        SourceIndex::save(&cache, probe.into_observations()).unwrap();
        let back = SourceIndex::load(&cache).unwrap();
        assert_eq!(
            back.entries[&plate].hash,
            crate::dataset::hash_file(&plate).unwrap()
        );
    }
}
