//! Content-addressed manifest objects: `manifests/<xxh3-128 of the bytes>.json`.
//!
//! Objects are JSON. An object may name the objects it builds on in a top-level
//! `"refs": ["<hash>", …]` array (a frame manifest refers to per-node records, so a node
//! record shared by many frames is stored once); prune follows `refs` to decide what is
//! still reachable.

use super::error::{io_err, Result, StoreError};
use super::{ensure_dir, read_optional, CacheDir, MANIFESTS_DIR};
use crate::fsutil;
use crate::hash::{hex128, is_hex128};
use serde::Deserialize;
use std::fs::{self, File};
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

/// Only the part of an object the store understands.
#[derive(Deserialize)]
struct RefsOnly {
    #[serde(default)]
    refs: Vec<String>,
}

/// The hashes an object lists in its top-level `refs` array (empty when it has none).
///
/// Errors (as text, the caller adds the path) when the bytes are not a JSON object or
/// `refs` is not an array of strings. The strings are returned as written: callers that
/// turn one into a path must check it with [`is_hex128`] first.
pub fn object_refs(bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
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
    pub fn put_object(&self, bytes: &[u8]) -> Result<String> {
        let hash = hex128(bytes);
        let path = self.object_path(&hash)?;
        let invalid = |message: String| StoreError::InvalidObject {
            path: path.clone(),
            message,
        };
        let refs = object_refs(bytes).map_err(invalid)?;
        if let Some(bad) = refs.iter().find(|r| !is_hex128(r)) {
            return Err(invalid(format!("refs entry {bad:?} is not an object name")));
        }

        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {
                let file = File::options()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                file.set_modified(SystemTime::now())
                    .map_err(io_err(&path))?;
                return Ok(hash);
            }
            // Missing, or damaged (wrong size): (re)write it.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        ensure_dir(&self.manifests_dir())?;
        fsutil::atomic_write(&path, bytes)?;
        Ok(hash)
    }

    /// Read the object named `hash`, `None` if it is not stored (for example because
    /// manifests were not kept).
    ///
    /// `hash` usually comes from a `hash.json` on disk, so it is validated: anything but
    /// 32 lowercase hex characters is refused before it reaches a path, and the content
    /// must hash to the name ([`StoreError::CorruptObject`] otherwise).
    pub fn get_object(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let path = self.object_path(hash)?;
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let actual = hex128(&bytes);
        if actual != hash {
            return Err(StoreError::CorruptObject { path, actual });
        }
        Ok(Some(bytes))
    }

    /// The path of object `hash`, after checking the name and that the path (symlinks
    /// included) stays inside the cache directory.
    pub(super) fn object_path(&self, hash: &str) -> Result<PathBuf> {
        if !is_hex128(hash) {
            return Err(StoreError::InvalidObjectName {
                dir: self.manifests_dir(),
                name: hash.to_string(),
            });
        }
        Ok(fsutil::safe_join(
            self.path(),
            &format!("{MANIFESTS_DIR}/{hash}.json"),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_read_from_the_top_level_only() {
        assert_eq!(object_refs(br#"{"a":1}"#), Ok(vec![]));
        assert_eq!(
            object_refs(br#" {"x":{"refs":["n"]},"refs":["a","b"]}"#),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert!(object_refs(br#"[["a"]]"#).is_err());
        assert!(object_refs(br#"{"refs":"a"}"#).is_err());
        assert!(object_refs(b"not json").is_err());
    }
}
