//! Indexes of versions 1 and 2: `index.json`, read so that an older cache keeps
//! working and is migrated in place by its first writer (see [`super::store`]).
//!
//! Version 2 was saved as `index.json.tmp` (fsynced), `index.json` renamed to
//! `index.json.bak`, the temporary file renamed into place; so a reader looks at the
//! main file, then the temporary one, then the backup, and says when it falls back. If
//! copies exist and none can be read it is an error, never a silent reset. Version 1
//! (one variant per entry, mtime-only fingerprints, one producer per cache) is converted
//! on load.

use super::error::{io_at, DatasetError};
use super::fingerprint::Fingerprint;
use super::model::{Artifact, Entry, Index, VariantInfo, VariantMap, FORMAT};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

pub const INDEX_FILE: &str = "index.json";
pub const TEMP_FILE: &str = "index.json.tmp";
pub const BACKUP_FILE: &str = "index.json.bak";
/// The binary copy version 2 kept beside `index.json` (removed by the migration).
pub const TABLE_FILE: &str = "index.table";
/// The last `index.json`, kept aside by the migration.
pub const MIGRATED_FILE: &str = "index.json.migrated";

/// The version-2 format version.
const V2: u32 = 2;

/// An index loaded from `index.json`.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub index: Index,
    /// Fallbacks taken, one sentence each.
    pub warnings: Vec<String>,
    /// The version found on disk.
    pub version: u32,
}

/// Load the index of the cache in `dir`: main file, else the temporary copy, else the
/// backup. `None`: no copy at all.
pub(crate) fn load(dir: &Path) -> Result<Option<Loaded>, DatasetError> {
    let mut warnings = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut any_exists = false;
    for name in [INDEX_FILE, TEMP_FILE, BACKUP_FILE] {
        let path = dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if name == INDEX_FILE {
                    problems.push(format!("{name}: missing"));
                }
                continue;
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        any_exists = true;
        match parse(&path, &bytes) {
            Ok((index, version)) => {
                if name != INDEX_FILE {
                    warnings.push(format!(
                        "{}: {}; loaded {} instead",
                        dir.join(INDEX_FILE).display(),
                        problems.join("; "),
                        path.display()
                    ));
                }
                if version == 1 {
                    warnings.push(format!(
                        "{}: index format version 1, migrated in memory; the next build writes it as version 3",
                        path.display()
                    ));
                }
                return Ok(Some(Loaded {
                    index,
                    warnings,
                    version,
                }));
            }
            Err(ParseError::TooNew(found)) => {
                return Err(DatasetError::IndexTooNew {
                    path,
                    found,
                    supported: V2,
                })
            }
            Err(ParseError::Bad(msg)) => problems.push(format!("{name}: {msg}")),
        }
    }
    if any_exists {
        return Err(DatasetError::IndexUnreadable {
            path: dir.join(INDEX_FILE),
            detail: problems.join("; "),
        });
    }
    Ok(None)
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: String,
    #[serde(default)]
    version: u32,
}

enum ParseError {
    TooNew(u32),
    Bad(String),
}

fn parse(path: &Path, bytes: &[u8]) -> Result<(Index, u32), ParseError> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| ParseError::Bad(e.to_string()))?;
    if header.format != FORMAT {
        return Err(ParseError::Bad(format!(
            "not a smartcache dataset index (format `{}`)",
            header.format
        )));
    }
    match header.version {
        V2 => serde_json::from_slice::<Index>(bytes)
            .map(|i| (i, V2))
            .map_err(|e| ParseError::Bad(e.to_string())),
        1 => {
            let v1: v1::IndexV1 =
                serde_json::from_slice(bytes).map_err(|e| ParseError::Bad(e.to_string()))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            Ok((v1::migrate(v1, dir), 1))
        }
        v if v > V2 => Err(ParseError::TooNew(v)),
        v => Err(ParseError::Bad(format!("unknown index version {v}"))),
    }
}

/// Version 1 of the format and its migration.
mod v1 {
    use super::*;
    use crate::fsutil::safe_join;

    #[derive(Deserialize)]
    pub struct IndexV1 {
        pub producer: String,
        #[serde(default)]
        pub entries: BTreeMap<String, EntryV1>,
    }

    #[derive(Deserialize)]
    pub struct EntryV1 {
        pub hash: String,
        pub size: u64,
        pub mtime_ns: i64,
        pub variant: String,
        pub artifact: String,
    }

    /// Version 1 trusted mtime alone: migrated entries get ctime and inode 0 and a record
    /// time of 0, so their first validation re-hashes them once and records a full
    /// fingerprint. Artifact checksums (absent in version 1) are computed from the files;
    /// an artifact that is missing or whose path leaves the cache is dropped from the entry
    /// (it will be rebuilt), never followed.
    pub fn migrate(old: IndexV1, dir: &Path) -> Index {
        let mut index = Index::default();
        for (path, e) in old.entries {
            let mut variants = VariantMap::new();
            if !index.artifacts.contains_key(&e.artifact) {
                if let Ok(full) = safe_join(dir, &e.artifact) {
                    if let Ok((checksum, size)) = crate::dataset::hash_file_counted(&full) {
                        index.artifacts.insert(
                            e.artifact.clone(),
                            Artifact {
                                source_hash: e.hash.clone(),
                                variant: e.variant.clone(),
                                producer: old.producer.clone(),
                                size,
                                checksum,
                                fp: None,
                                at: 0,
                            },
                        );
                    }
                }
            }
            if index.artifacts.contains_key(&e.artifact) {
                variants.insert(e.variant.clone(), e.artifact.clone());
            }
            index
                .variants
                .entry(e.variant.clone())
                .or_insert(VariantInfo {
                    producer: old.producer.clone(),
                    ext: String::new(),
                });
            index.entries.insert(
                path,
                Entry {
                    fp: Fingerprint {
                        size: e.size,
                        mtime_ns: e.mtime_ns,
                        ctime_ns: 0,
                        inode: 0,
                    },
                    at: 0,
                    hash: e.hash,
                    variants,
                },
            );
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_v2(dir: &Path, name: &str, index: &Index) {
        let mut v = serde_json::to_value(index).unwrap();
        v["version"] = serde_json::json!(2);
        fs::write(dir.join(name), serde_json::to_vec(&v).unwrap()).unwrap();
    }

    fn sample() -> Index {
        let mut i = Index::default();
        i.entries.insert(
            "/data/a.png".into(),
            Entry {
                fp: Fingerprint {
                    size: 1,
                    mtime_ns: 2,
                    ctime_ns: 3,
                    inode: 4,
                },
                at: 5,
                hash: "0".repeat(32),
                variants: VariantMap::new(),
            },
        );
        i
    }

    #[test]
    fn falls_back_to_temp_then_backup_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let a = sample();
        // Crash between "main → bak" and "tmp → main": only tmp and bak exist.
        write_v2(dir.path(), TEMP_FILE, &a);
        write_v2(dir.path(), BACKUP_FILE, &a);
        let l = load(dir.path()).unwrap().unwrap();
        assert_eq!(l.index.entries, a.entries);
        assert_eq!(l.version, 2);
        assert_eq!(l.warnings.len(), 1);
        assert!(
            l.warnings[0].contains("index.json: missing; loaded"),
            "{:?}",
            l.warnings
        );
        assert!(l.warnings[0].ends_with("index.json.tmp instead"));
        // Torn main and torn temp: the backup serves.
        fs::write(
            dir.path().join(INDEX_FILE),
            b"{\"format\":\"smartcache-data",
        )
        .unwrap();
        fs::write(dir.path().join(TEMP_FILE), b"").unwrap();
        let l = load(dir.path()).unwrap().unwrap();
        assert_eq!(l.index.entries, a.entries);
        assert!(
            l.warnings[0].ends_with("index.json.bak instead"),
            "{:?}",
            l.warnings
        );
        // Nothing readable: an error, not an empty cache.
        fs::write(dir.path().join(BACKUP_FILE), b"garbage").unwrap();
        match load(dir.path()) {
            Err(DatasetError::IndexUnreadable { detail, .. }) => {
                assert!(detail.contains("index.json:"), "{detail}");
                assert!(detail.contains("index.json.bak:"), "{detail}");
            }
            other => panic!("expected IndexUnreadable, got {other:?}"),
        }
    }

    #[test]
    fn no_copy_is_none_and_newer_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        fs::write(
            dir.path().join(INDEX_FILE),
            br#"{"format":"smartcache-dataset-index","version":99}"#,
        )
        .unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(DatasetError::IndexTooNew { found: 99, .. })
        ));
    }

    #[test]
    fn version_1_is_converted() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("objects")).unwrap();
        fs::write(dir.path().join("objects/aa-small"), b"artifact").unwrap();
        let v1 = format!(
            r#"{{"format":"smartcache-dataset-index","version":1,"producer":"resize@1",
            "entries":{{
              "/d/a.png":{{"hash":"{h}","size":9,"mtime_ns":77,"variant":"small","artifact":"objects/aa-small"}},
              "/d/b.png":{{"hash":"{h}","size":9,"mtime_ns":78,"variant":"small","artifact":"../escape"}}
            }}}}"#,
            h = "a".repeat(32)
        );
        fs::write(dir.path().join(INDEX_FILE), v1).unwrap();
        let l = load(dir.path()).unwrap().unwrap();
        assert_eq!(l.version, 1);
        let a = &l.index.entries["/d/a.png"];
        assert_eq!(
            a.fp,
            Fingerprint {
                size: 9,
                mtime_ns: 77,
                ctime_ns: 0,
                inode: 0
            }
        );
        assert_eq!(a.variants.get("small").unwrap(), "objects/aa-small");
        let art = &l.index.artifacts["objects/aa-small"];
        assert_eq!(art.checksum, crate::hash::hex128(b"artifact"));
        assert_eq!((art.size, art.producer.as_str()), (8, "resize@1"));
        // The escaping artifact path is dropped, not followed.
        assert!(l.index.entries["/d/b.png"].variants.is_empty());
        assert_eq!(l.index.artifacts.len(), 1);
        assert_eq!(l.index.variants["small"].producer, "resize@1");
    }
}
