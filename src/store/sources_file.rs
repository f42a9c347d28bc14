//! `sources.json`: the remembered fingerprints of files frames read (plates, LUTs, the
//! OCIO config), so that checking unchanged files costs one `stat` each, not a read.
//!
//! ```json
//! {"format":"smartcache-sources","version":1,
//!  "entries":{"/shots/plates/plate.1001.exr":
//!    {"fingerprint":[size,mtime_ns,ctime_ns,inode],"hash":"<32 hex>","recorded_ns":…}}}
//! ```
//!
//! It is only an accelerator: an absent, damaged, foreign or newer file reads as empty
//! (files are then read again, never trusted wrongly), and is rewritten by the next
//! record or check. Hashes are [`Hex128`]s, checked as the file is parsed. What the
//! entries mean (when a remembered hash may be trusted) is
//! [`crate::manifest::source::SourceIndex`]'s business.

use super::error::Result;
use super::CacheDir;
use crate::dataset::fingerprint::Fingerprint;
use crate::hash::Hex128;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The `format` of `sources.json`.
pub const SOURCES_FORMAT: &str = "smartcache-sources";
/// The version this build reads and writes.
pub const SOURCES_VERSION: u64 = 1;

/// What is remembered of one file: its stat fingerprint, its content hash, and when
/// that pair was taken (for the racy-timestamp rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownSource {
    /// The file's stat fingerprint.
    pub fingerprint: Fingerprint,
    /// Its content hash (xxh3-128).
    pub hash: Hex128,
    /// When the pair was taken (ns since the epoch).
    pub recorded_ns: i64,
}

#[derive(Deserialize)]
struct WireIn {
    format: String,
    version: u64,
    entries: HashMap<PathBuf, KnownSource>,
}

#[derive(Serialize)]
struct WireOut<'a> {
    format: &'static str,
    version: u64,
    entries: BTreeMap<&'a PathBuf, &'a KnownSource>,
}

/// The entries of `sources.json` bytes, `None` when they are not a file of this
/// format and version.
pub fn decode_sources(bytes: &[u8]) -> Option<HashMap<PathBuf, KnownSource>> {
    match serde_json::from_slice::<WireIn>(bytes) {
        Ok(w) if w.format == SOURCES_FORMAT && w.version == SOURCES_VERSION => Some(w.entries),
        _ => None,
    }
}

/// The bytes of `sources.json` holding `entries` (paths sorted).
pub fn encode_sources(entries: &HashMap<PathBuf, KnownSource>) -> Vec<u8> {
    let wire = WireOut {
        format: SOURCES_FORMAT,
        version: SOURCES_VERSION,
        entries: entries.iter().collect(),
    };
    serde_json::to_vec(&wire).expect("serialising to memory cannot fail")
}

impl CacheDir {
    /// The remembered files of `sources.json` (empty when absent or damaged; a symlink
    /// leading out of the cache is an error like anywhere else).
    pub fn load_sources(&self) -> Result<HashMap<PathBuf, KnownSource>> {
        match self.read_sources() {
            Ok(bytes) => Ok(bytes.and_then(|b| decode_sources(&b)).unwrap_or_default()),
            Err(e) if e.is_damage() => Ok(HashMap::new()),
            Err(e) => Err(e),
        }
    }

    /// Merge `new` into `sources.json` (an entry recorded later wins) and write it
    /// atomically, under the cache's lock so that concurrent writers keep each other's
    /// entries.
    pub fn merge_sources(&self, new: HashMap<PathBuf, KnownSource>) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        self.update_sources(|current| {
            let mut entries = current.and_then(|b| decode_sources(&b)).unwrap_or_default();
            for (path, k) in new {
                match entries.get(&path) {
                    Some(old) if old.recorded_ns > k.recorded_ns => {}
                    _ => {
                        entries.insert(path, k);
                    }
                }
            }
            encode_sources(&entries)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SOURCES_FILE;

    fn known(hash: &[u8], recorded_ns: i64) -> KnownSource {
        KnownSource {
            fingerprint: Fingerprint::default(),
            hash: Hex128::of(hash),
            recorded_ns,
        }
    }

    #[test]
    fn round_trip_merge_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        assert!(cache.load_sources().unwrap().is_empty());
        let a = PathBuf::from("/plates/a.exr");
        cache
            .merge_sources(HashMap::from([(a.clone(), known(b"v1", 10))]))
            .unwrap();
        // An older observation does not replace a newer one; a newer one does.
        cache
            .merge_sources(HashMap::from([(a.clone(), known(b"v0", 5))]))
            .unwrap();
        assert_eq!(cache.load_sources().unwrap()[&a], known(b"v1", 10));
        cache
            .merge_sources(HashMap::from([(a.clone(), known(b"v2", 20))]))
            .unwrap();
        assert_eq!(cache.load_sources().unwrap()[&a], known(b"v2", 20));

        let path = dir.path().join(SOURCES_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(r#"{"format":"smartcache-sources","version":1,"entries":"#));
        // A crafted hash, another version, garbage: read as empty, never trusted.
        let crafted = text.replace(&Hex128::of(b"v2").to_string(), "../../etc/passwd");
        for bad in [
            crafted,
            text.replace("\"version\":1", "\"version\":2"),
            "not json".into(),
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(cache.load_sources().unwrap().is_empty());
        }
    }
}
