//! Source files on disk: what the manifest finds at a path.
//!
//! A plate re-rendered in place on disk changes the frames that read it, even though no
//! knob changed. Which files a node reads, and at which paths, is the manifest's
//! question ([`super::files`]); this module answers what is there. [`FileProbe`]
//! fingerprints a file by content (xxh3-128, the dataset engine's hash), trusting a
//! remembered hash when one `stat` shows the file unchanged ([`SourceIndex`]); a file
//! that is missing is recorded as missing. [`RecordedSources`] serves back what a stored
//! frame recorded, when the frame is explained later (the files may have changed since).

use super::view::{FileRead, FileState};
use crate::dataset::fingerprint::Fingerprint;
use crate::hash::Hex128;
use crate::store::{CacheDir, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the files a frame reads are looked at.
pub trait SourceProbe: Sync {
    /// What is on disk at `path` (a relative path is the script's).
    fn state(&self, path: &str) -> FileState;
    /// A small text file's content (an OCIO config), when it can be read.
    fn read_text(&self, _path: &str) -> Option<String> {
        None
    }
    /// The names of the files in a directory, sorted (an OCIO search path).
    fn list_dir(&self, _path: &str) -> Option<Vec<String>> {
        None
    }
    /// The files recorded under `key` (see [`source_key`]), when the probe replays a
    /// stored frame rather than looking at the disk.
    fn recorded(&self, _key: &str) -> Option<Vec<FileRead>> {
        None
    }
}

/// A probe that looks at nothing: frames are hashed from knob values alone.
pub struct NoSources;

impl SourceProbe for NoSources {
    fn state(&self, _: &str) -> FileState {
        FileState::Unverifiable("files are not looked at".into())
    }
    fn recorded(&self, _: &str) -> Option<Vec<FileRead>> {
        Some(Vec::new())
    }
}

/// Largest text file read for its references (an OCIO config).
const MAX_TEXT: u64 = 16 << 20;

/// Fingerprints Read nodes' files on disk, each file once per process, trusting a
/// file's remembered content hash when one `stat` shows it unchanged (see
/// [`SourceIndex`]).
pub struct FileProbe {
    base: PathBuf,
    known: SourceIndex,
    seen: Mutex<HashMap<PathBuf, Known>>,
}

/// What is remembered of one source file (the `sources.json` entry, see
/// [`crate::store::KnownSource`]).
pub use crate::store::KnownSource as Known;

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

impl SourceIndex {
    /// Read the index of `cache` (empty when absent or damaged; the store refuses one
    /// that is a symlink leading out of the cache).
    pub fn load(cache: &CacheDir) -> Result<SourceIndex, StoreError> {
        Ok(SourceIndex {
            entries: cache.load_sources()?,
        })
    }

    /// Merge `new` observations into the index of `cache` and write it atomically,
    /// under the cache's lock so that concurrent recorders keep each other's entries.
    pub fn save(cache: &CacheDir, new: HashMap<PathBuf, Known>) -> Result<(), StoreError> {
        cache.merge_sources(new)
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
            return FileState::Content(k.hash.to_string());
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
                let hash = crate::dataset::hash_file(path).map_err(|e| e.to_string());
                match hash.and_then(|h| Hex128::parse(&h).map_err(|e| e.to_string())) {
                    Ok(hash) => Known {
                        fingerprint,
                        hash,
                        recorded_ns,
                    },
                    Err(e) => return FileState::Unreadable(e),
                }
            }
        };
        let hash = known.hash.to_string();
        self.seen
            .lock()
            .expect("not poisoned")
            .insert(path.to_path_buf(), known);
        FileState::Content(hash)
    }

    /// Where a path as the knob writes it is read from: relative to the script.
    pub fn on_disk(&self, written: &str) -> PathBuf {
        let p = PathBuf::from(written);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }
}

impl SourceProbe for FileProbe {
    fn state(&self, path: &str) -> FileState {
        self.content(&self.on_disk(path))
    }

    fn read_text(&self, path: &str) -> Option<String> {
        let path = self.on_disk(path);
        let md = std::fs::metadata(&path).ok()?;
        if !md.is_file() || md.len() > MAX_TEXT {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }

    fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.on_disk(path))
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Some(names)
    }
}

/// Files recorded in a stored frame object, served back when a view is rebuilt to
/// explain a frame (the files on disk may have changed since).
pub struct RecordedSources(pub HashMap<String, Vec<FileRead>>);

/// The key under which the files of a node at a context are recorded.
pub fn source_key(name: &str, ctx: super::Ctx) -> String {
    let f = crate::eval::format_f64;
    match ctx.frame {
        Some(x) if ctx.lo == x && ctx.hi == x => format!("{name}@{}", f(x)),
        Some(x) => format!("{name}@{}[{},{}]", f(x), f(ctx.lo), f(ctx.hi)),
        None => format!("{name}@[{},{}]", f(ctx.lo), f(ctx.hi)),
    }
}

/// The key under which the files every frame reads (an OCIO config) are recorded.
pub const ROOT_KEY: &str = "(root)";

impl SourceProbe for RecordedSources {
    fn state(&self, _: &str) -> FileState {
        FileState::Unverifiable("not recorded".into())
    }
    fn recorded(&self, key: &str) -> Option<Vec<FileRead>> {
        Some(self.0.get(key).cloned().unwrap_or_default())
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
            hash: Hex128::of(b"remembered"),
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
            FileState::Content(Hex128::of(b"remembered").to_string())
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
            FileState::Content(Hex128::of(b"remembered").to_string())
        );
        // What was learned is saved and loaded back.
        let cache = CacheDir::new(dir.path());
        SourceIndex::save(&cache, probe.into_observations()).unwrap();
        let back = SourceIndex::load(&cache).unwrap();
        assert_eq!(
            back.entries[&plate].hash.to_string(),
            crate::dataset::hash_file(&plate).unwrap()
        );
    }
}
