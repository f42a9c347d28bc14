//! The on-disk index of a dataset cache: what each source looked like when it was last
//! validated, its content hash, and which artifact serves each variant.
//!
//! # Format
//!
//! `index.json` holds a format tag and [`VERSION`], the time it was written, the producer
//! of each variant, the entries (source path → fingerprint, record time, content hash,
//! variant → artifact path), the artifacts (artifact path → source hash, variant,
//! producer, size, checksum) and the last failure of each source that failed to build.
//! The dedup lookup is not stored: an artifact's path is derived from (content hash,
//! variant, producer), so "is there already an artifact for this content?" is a lookup
//! in `artifacts` and cannot drift out of step with it.
//!
//! # Crash safety
//!
//! [`save`] writes `index.json.tmp` and fsyncs it, moves the current `index.json` to
//! `index.json.bak`, renames the temporary file into place and fsyncs the directory. At
//! any instant at least one complete copy exists, and [`load`] looks for it in the order
//! main → temporary → backup, saying so when it falls back. A cache whose copies all
//! exist but are unreadable is an error, never silently reset. Callers hold the cache's
//! lock (`.lock`) around a load-modify-save so concurrent writers cannot lose each
//! other's entries.

use super::error::{io_at, DatasetError};
use super::fingerprint::Fingerprint;
pub use super::variant_map::VariantMap;
use crate::fsutil::{self, LockGuard};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Format tag written into every index.
pub const FORMAT: &str = "smartcache-dataset-index";
/// Current index format version. Version 1 (one variant per entry, mtime-only
/// fingerprint, one producer per cache) is migrated on load.
pub const VERSION: u32 = 2;

pub const INDEX_FILE: &str = "index.json";
pub const TEMP_FILE: &str = "index.json.tmp";
pub const BACKUP_FILE: &str = "index.json.bak";

/// The whole index, as kept in memory and on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub format: String,
    pub version: u32,
    /// RFC 3339 UTC time of the last save (for people; the racy rule uses per-entry times).
    pub written_at: String,
    /// Variant key → the producer whose artifacts currently serve it.
    #[serde(default)]
    pub variants: BTreeMap<String, VariantInfo>,
    /// Absolute source path → entry.
    #[serde(default)]
    pub entries: BTreeMap<String, Entry>,
    /// Artifact path (relative to the cache directory) → what it is.
    #[serde(default)]
    pub artifacts: BTreeMap<String, Artifact>,
    /// Absolute source path → its last failure to build.
    #[serde(default)]
    pub failures: BTreeMap<String, Failure>,
}

/// Which producer serves a variant, and the extension its artifacts carry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VariantInfo {
    pub producer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ext: String,
}

/// One source file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub fp: Fingerprint,
    /// Wall-clock time (ns since the epoch) just before `fp` was taken; see
    /// [`Fingerprint::is_racy`].
    pub at: i64,
    /// xxh3-128 of the content, 32 hex characters.
    pub hash: String,
    /// Variant key → artifact path (relative to the cache directory).
    #[serde(default, skip_serializing_if = "VariantMap::is_empty")]
    pub variants: VariantMap,
}

/// One derived artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifact {
    pub source_hash: String,
    pub variant: String,
    pub producer: String,
    pub size: u64,
    /// xxh3-128 of the artifact's bytes, for `verify`.
    pub checksum: String,
}

/// Why a source could not be built, kept until a build of it succeeds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failure {
    pub variant: String,
    pub producer: String,
    pub error: String,
    pub at: String,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            format: FORMAT.to_string(),
            version: VERSION,
            written_at: String::new(),
            variants: BTreeMap::new(),
            entries: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }
}

/// An index as loaded, with what the caller should tell the user about it.
#[derive(Debug)]
pub struct Loaded {
    pub index: Index,
    /// Fallbacks taken and migrations done, one sentence each.
    pub warnings: Vec<String>,
    /// The version the file was migrated from, if it was not current.
    pub migrated_from: Option<u32>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: String,
    #[serde(default)]
    version: u32,
}

/// Load the index of the cache in `dir`: main file, else the temporary copy, else the
/// backup. No copy at all is a new, empty cache.
pub fn load(dir: &Path) -> Result<Loaded, DatasetError> {
    load_with(dir, false)
}

/// The index for readers that need no artifact table: `index.table` read in place when
/// it is current (see [`super::table`]), else the JSON parsed without the table (left
/// empty). Migrated indexes are loaded whole.
pub(crate) fn load_lean(dir: &Path) -> Result<Lean, DatasetError> {
    if let Some(table) = super::table::load(dir) {
        return Ok(Lean::Table(table));
    }
    load_with(dir, true).map(Lean::Json)
}

/// An index loaded by [`load_lean`].
#[derive(Debug)]
pub(crate) enum Lean {
    Table(super::table::Table),
    Json(Loaded),
}

fn load_with(dir: &Path, skip_artifacts: bool) -> Result<Loaded, DatasetError> {
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
        match parse(&path, &bytes, skip_artifacts) {
            Ok((index, migrated_from)) => {
                if name != INDEX_FILE {
                    warnings.push(format!(
                        "{}: {}; loaded {} instead",
                        dir.join(INDEX_FILE).display(),
                        problems.join("; "),
                        path.display()
                    ));
                }
                if let Some(v) = migrated_from {
                    warnings.push(format!(
                        "{}: migrated index format version {v} to {VERSION}",
                        path.display()
                    ));
                }
                return Ok(Loaded {
                    index,
                    warnings,
                    migrated_from,
                });
            }
            Err(ParseError::TooNew(found)) => {
                return Err(DatasetError::IndexTooNew {
                    path,
                    found,
                    supported: VERSION,
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
    Ok(Loaded {
        index: Index::default(),
        warnings,
        migrated_from: None,
    })
}

enum ParseError {
    TooNew(u32),
    Bad(String),
}

/// [`Index`] without its artifact table: serde skips the table without allocating.
#[derive(Deserialize)]
struct IndexNoArtifacts {
    format: String,
    version: u32,
    written_at: String,
    #[serde(default)]
    variants: BTreeMap<String, VariantInfo>,
    #[serde(default)]
    entries: BTreeMap<String, Entry>,
    #[serde(default)]
    failures: BTreeMap<String, Failure>,
}

fn parse(
    path: &Path,
    bytes: &[u8],
    skip_artifacts: bool,
) -> Result<(Index, Option<u32>), ParseError> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| ParseError::Bad(e.to_string()))?;
    if header.format != FORMAT {
        return Err(ParseError::Bad(format!(
            "not a smartcache dataset index (format `{}`)",
            header.format
        )));
    }
    match header.version {
        VERSION if skip_artifacts => serde_json::from_slice::<IndexNoArtifacts>(bytes)
            .map(|i| {
                let index = Index {
                    format: i.format,
                    version: i.version,
                    written_at: i.written_at,
                    variants: i.variants,
                    entries: i.entries,
                    artifacts: BTreeMap::new(),
                    failures: i.failures,
                };
                (index, None)
            })
            .map_err(|e| ParseError::Bad(e.to_string())),
        VERSION => serde_json::from_slice::<Index>(bytes)
            .map(|i| (i, None))
            .map_err(|e| ParseError::Bad(e.to_string())),
        1 => {
            let v1: v1::IndexV1 =
                serde_json::from_slice(bytes).map_err(|e| ParseError::Bad(e.to_string()))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            Ok((v1::migrate(v1, dir), Some(1)))
        }
        v if v > VERSION => Err(ParseError::TooNew(v)),
        v => Err(ParseError::Bad(format!("unknown index version {v}"))),
    }
}

/// Save `index` into `dir` crash-safely (see the module documentation). `_lock` is the
/// cache lock, taken by the caller for the whole load-modify-save.
pub fn save(dir: &Path, index: &mut Index, _lock: &LockGuard) -> Result<(), DatasetError> {
    index.format = FORMAT.to_string();
    index.version = VERSION;
    index.written_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let bytes = serde_json::to_vec(index).map_err(|e| DatasetError::Io {
        path: dir.join(INDEX_FILE),
        source: io::Error::other(e),
    })?;
    let main = dir.join(INDEX_FILE);
    let tmp = dir.join(TEMP_FILE);
    let bak = dir.join(BACKUP_FILE);
    {
        let mut f = File::create(&tmp).map_err(io_at(&tmp))?;
        f.write_all(&bytes).map_err(io_at(&tmp))?;
        f.sync_all().map_err(io_at(&tmp))?;
    }
    match fs::rename(&main, &bak) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(&bak)(e)),
    }
    fs::rename(&tmp, &main).map_err(io_at(&main))?;
    fsutil::sync_parent(&main)?;
    // The binary copy for fast readers, tied to these exact JSON bytes. Written after the
    // JSON: a crash in between leaves a table that no longer matches and is ignored.
    super::table::write(dir, index, &bytes)?;
    Ok(())
}

/// Where the index files of a cache live (for tests and tools).
pub fn index_path(dir: &Path) -> PathBuf {
    dir.join(INDEX_FILE)
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
    fn save_then_load_round_trips_and_keeps_backup() {
        let dir = tempfile::tempdir().unwrap();
        let lock = LockGuard::acquire(&dir.path().join(".lock")).unwrap();
        let mut a = sample();
        save(dir.path(), &mut a, &lock).unwrap();
        let mut b = a.clone();
        b.entries.clear();
        save(dir.path(), &mut b, &lock).unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.index, b);
        assert!(loaded.warnings.is_empty());
        let bak: Index =
            serde_json::from_slice(&fs::read(dir.path().join(BACKUP_FILE)).unwrap()).unwrap();
        assert_eq!(bak, a);
        assert!(!dir.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn falls_back_to_temp_then_backup_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let lock = LockGuard::acquire(&dir.path().join(".lock")).unwrap();
        let mut a = sample();
        save(dir.path(), &mut a, &lock).unwrap();
        save(dir.path(), &mut a, &lock).unwrap();
        // Crash between "main → bak" and "tmp → main": only tmp and bak exist.
        fs::rename(dir.path().join(INDEX_FILE), dir.path().join(TEMP_FILE)).unwrap();
        let l = load(dir.path()).unwrap();
        assert_eq!(l.index, a);
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
        let l = load(dir.path()).unwrap();
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
    fn empty_directory_is_a_new_cache_and_newer_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = load(dir.path()).unwrap();
        assert_eq!(l.index.entries.len(), 0);
        assert!(l.warnings.is_empty());
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
    fn version_1_is_migrated() {
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
        let l = load(dir.path()).unwrap();
        assert_eq!(l.migrated_from, Some(1));
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
