//! Content-addressed manifest objects: `manifests/<xxh3-128 of the bytes>.json`.
//!
//! Objects are JSON. An object may name the objects it builds on in a top-level
//! `"refs": ["<hash>", …]` array (a frame manifest refers to per-node records, so a node
//! record shared by many frames is stored once); prune follows `refs` to decide what is
//! still reachable.

use super::error::{io_err, Result, StoreError};
use super::{CacheDir, MANIFESTS_DIR};
use crate::fsutil;
use crate::hash::Hex128;
use serde::Deserialize;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// Most objects [`CacheDir::put_objects`] writes at once. Writing is I/O bound (fsync
/// latency), so this is deliberately more than the number of cores.
pub const WRITE_WORKERS: usize = 16;

/// Only the part of an object the store understands.
#[derive(Deserialize)]
struct RefsOnly {
    #[serde(default)]
    refs: Vec<String>,
}

/// The hashes an object lists in its top-level `refs` array (empty when it has none).
///
/// Errors (as text, the caller adds the path) when the bytes are not a JSON object,
/// `refs` is not an array of strings, or one of them is not an object name.
pub fn object_refs(bytes: &[u8]) -> std::result::Result<Vec<Hex128>, String> {
    raw_refs(bytes)?
        .iter()
        .map(|r| Hex128::parse(r).map_err(|_| format!("refs entry {r:?} is not an object name")))
        .collect()
}

/// The object names in an object's `refs`, leaving out entries that are not object
/// names: what prune follows in objects it did not write (a crafted name cannot match
/// any file prune deletes, so skipping it keeps prune working on a damaged store).
pub(super) fn reachable_refs(bytes: &[u8]) -> std::result::Result<Vec<Hex128>, String> {
    Ok(raw_refs(bytes)?
        .iter()
        .filter_map(|r| Hex128::parse(r).ok())
        .collect())
}

/// The strings of an object's top-level `refs` array.
fn raw_refs(bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err("an object must be a JSON object".into());
    }
    serde_json::from_slice::<RefsOnly>(bytes)
        .map(|r| r.refs)
        .map_err(|e| e.to_string())
}

impl CacheDir {
    /// Store `bytes` as an object and return its name (the xxh3-128 hex of the bytes).
    ///
    /// Idempotent and safe under concurrency: an object already present with the right
    /// size is not rewritten (same name, same content), only its mtime is refreshed so
    /// that a concurrent prune treats it as freshly written (see the module docs). The
    /// bytes must be a JSON object whose `refs`, if any, are all object names.
    ///
    /// Each new object costs two fsyncs; to store many at once use
    /// [`CacheDir::put_objects`].
    pub fn put_object(&self, bytes: &[u8]) -> Result<Hex128> {
        let (hash, path) = self.prepare_object(bytes)?;
        if !refresh_if_present(&path, bytes.len())? {
            self.ensure_dir(MANIFESTS_DIR)?;
            fsutil::atomic_write(&path, bytes)?;
        }
        Ok(hash)
    }

    /// Store many objects (all the manifests of one record or check) and return their
    /// names, in the order given. Same rules as [`CacheDir::put_object`].
    ///
    /// Storing an object is dominated by waiting for fsync, not by the CPU, so new
    /// objects are written by up to [`WRITE_WORKERS`] threads at once (concurrent fsyncs
    /// share journal commits), and the directory is fsynced once at the end instead of
    /// once per object. Every object is still written to a temp file, fsynced and
    /// renamed into place; when this returns `Ok`, all of them are durable. On error,
    /// the objects already in place are complete and valid, and no temp file is left.
    pub fn put_objects<B: AsRef<[u8]> + Sync>(&self, objects: &[B]) -> Result<Vec<Hex128>> {
        let mut names = Vec::with_capacity(objects.len());
        let mut to_write: Vec<(PathBuf, &[u8])> = Vec::new();
        let mut seen = HashSet::new();
        for bytes in objects {
            let bytes = bytes.as_ref();
            let (hash, path) = self.prepare_object(bytes)?;
            if seen.insert(hash) && !refresh_if_present(&path, bytes.len())? {
                to_write.push((path, bytes));
            }
            names.push(hash);
        }
        let Some((last, _)) = to_write.last() else {
            return Ok(names);
        };
        self.ensure_dir(MANIFESTS_DIR)?;

        let next = AtomicUsize::new(0);
        let first_error: Mutex<Option<StoreError>> = Mutex::new(None);
        let failed = || first_error.lock().map_or(true, |e| e.is_some());
        std::thread::scope(|s| {
            for _ in 0..WRITE_WORKERS.min(to_write.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, bytes)) = to_write.get(i) else {
                        break;
                    };
                    if failed() {
                        break;
                    }
                    if let Err(e) = fsutil::atomic_write_unsynced(path, bytes) {
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(e.into());
                        }
                        break;
                    }
                });
            }
        });
        match first_error.into_inner() {
            Ok(None) => {}
            Ok(Some(e)) => return Err(e),
            // A worker panicked while holding the lock: report it against the directory.
            Err(_) => {
                return Err(StoreError::Io {
                    path: self.manifests_dir(),
                    source: io::Error::other("an object writer thread panicked"),
                })
            }
        }
        // One fsync of the directory makes every rename above durable.
        fsutil::sync_parent(last)?;
        Ok(names)
    }

    /// Start an object written while it is encoded ([`ObjectWriter`]).
    pub fn object_writer(&self) -> Result<ObjectWriter> {
        self.ensure_dir(MANIFESTS_DIR)?;
        let dir = self.confined(MANIFESTS_DIR)?;
        Ok(ObjectWriter {
            file: fsutil::AtomicFile::beside(&dir.join("object"))?,
            hash: crate::hash::Hasher::new(),
            len: 0,
        })
    }

    /// Hash `bytes`, check they are a valid object, and return the name and path.
    fn prepare_object(&self, bytes: &[u8]) -> Result<(Hex128, PathBuf)> {
        let hash = Hex128::of(bytes);
        let path = self.object_path(hash)?;
        object_refs(bytes).map_err(|message| StoreError::InvalidObject {
            path: path.clone(),
            message,
        })?;
        Ok((hash, path))
    }

    /// Read the object named `hash`, `None` if it is not stored (for example because
    /// manifests were not kept).
    ///
    /// The content must hash to the name ([`StoreError::CorruptObject`] otherwise).
    pub fn get_object(&self, hash: Hex128) -> Result<Option<Vec<u8>>> {
        let (path, bytes) = self.read(object_rel(hash))?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let actual = Hex128::of(&bytes);
        if actual != hash {
            return Err(StoreError::CorruptObject {
                path,
                actual: actual.to_string(),
            });
        }
        Ok(Some(bytes))
    }

    /// The path of object `hash`, after checking that the path (symlinks included)
    /// stays inside the cache directory.
    pub(super) fn object_path(&self, hash: Hex128) -> Result<PathBuf> {
        self.confined(object_rel(hash))
    }
}

/// An object stored as it is encoded, for an object of tens of megabytes (the setup
/// of a large script), which is then never held whole in memory: bytes written are
/// hashed and go to a temporary file, and [`ObjectWriter::finish`] puts the file in
/// place under its hash. The same rules as [`CacheDir::put_object`] hold, but for the
/// check of `refs`: the writer is for objects this program encodes from its own typed
/// values, which name no other object.
pub struct ObjectWriter {
    file: fsutil::AtomicFile,
    hash: crate::hash::Hasher,
    len: u64,
}

impl ObjectWriter {
    /// Store what was written as an object of `cache`, and return its name. An object
    /// already present with the same size is kept (and its mtime refreshed); the
    /// directory is fsynced once the new object is in place.
    pub fn finish(mut self, cache: &CacheDir) -> Result<Hex128> {
        io::Write::flush(&mut self.file).map_err(io_err(cache.manifests_dir()))?;
        let name = self.hash.finish();
        let path = cache.object_path(name)?;
        if refresh_if_present(&path, self.len as usize)? {
            return Ok(name);
        }
        self.file.persist(&path)?;
        fsutil::sync_parent(&path)?;
        Ok(name)
    }
}

impl io::Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all(buf)?;
        self.hash.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// `manifests/<hash>.json`, relative to the cache directory.
pub(super) fn object_rel(hash: Hex128) -> PathBuf {
    Path::new(MANIFESTS_DIR).join(format!("{hash}.json"))
}

/// `true` if the object at `path` is already stored with the expected size; its mtime
/// is then refreshed, so that prune's grace period covers a writer that is about to
/// refer to it again. A file of the wrong size is a damaged object, to be rewritten.
///
/// On a cache shared by several users only an object's owner may set its mtime; for
/// the others the refresh is skipped (the object is there, which is what matters), so
/// their protection against a concurrent prune is the object's own age.
fn refresh_if_present(path: &Path, len: usize) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == len as u64 => {
            let refreshed = File::open(path).and_then(|f| f.set_modified(SystemTime::now()));
            match refreshed {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(true),
                Err(e) => Err(io_err(path)(e)),
            }
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_read_from_the_top_level_only() {
        assert_eq!(object_refs(br#"{"a":1}"#), Ok(vec![]));
        let (a, b) = (Hex128::of(b"a"), Hex128::of(b"b"));
        assert_eq!(
            object_refs(format!(r#" {{"x":{{"refs":["n"]}},"refs":["{a}","{b}"]}}"#).as_bytes()),
            Ok(vec![a, b])
        );
        assert_eq!(
            object_refs(br#"{"refs":["../x"]}"#),
            Err("refs entry \"../x\" is not an object name".to_string())
        );
        assert!(object_refs(br#"[["a"]]"#).is_err());
        assert!(object_refs(br#"{"refs":"a"}"#).is_err());
        assert!(object_refs(b"not json").is_err());
    }
}
