//! The `hash.json` document: which frame hash each cached frame had when it was recorded
//! (the master) or checked (a snapshot).
//!
//! On disk the file is pretty-printed JSON with a fixed key order (the order below) and
//! frames in numeric order, so that two identical records produce identical bytes and a
//! `diff` of two snapshots reads naturally:
//!
//! ```json
//! {
//!   "format": "smartcache-hash",
//!   "version": 1,
//!   "created": "2026-11-22T23:15:00.000Z",
//!   "script": { "path": "comp.nk", "hash": "<32 hex>" },
//!   "node": "Write1",
//!   "rules": "<rules fingerprint>",
//!   "profile": "<profile fingerprint>",
//!   "frame_format": 3,
//!   "setup_memo": { "key": "<32 hex>", "setup": "<32 hex>", "env": { "SHOW": "x" } },
//!   "frames": { "1001": { "hash": "<32 hex>", "setup": "<32 hex>", "render": { ... } } }
//! }
//! ```
//!
//! `setup_memo` (optional; see [`SetupMemo`]) lets a check of an unchanged script skip
//! building the setup. A file without it reads as before, and a build that does not
//! know it ignores it.
//!
//! `format` and `version` are checked before anything else is read, so a file from a
//! future version is refused with a message naming it instead of being half understood.

use super::error::{Result, StoreError};
use crate::hash::Hex128;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The value of the `format` field of every `hash.json`.
pub const FORMAT: &str = "smartcache-hash";
/// The only `version` this build reads and the one it writes.
pub const VERSION: u32 = 1;

/// The script a hash file was computed from: its path as given by the caller and the
/// xxh3-128 hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptRef {
    /// The script's path as the caller gave it.
    pub path: String,
    /// xxh3-128 of the script's bytes.
    pub hash: Hex128,
}

/// Everything in a hash file except its frames and creation time: what was hashed and
/// under which rules. [`super::CacheDir::record_master`] replaces the stored meta with
/// the newest one given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashMeta {
    /// The script hashed.
    pub script: ScriptRef,
    /// The cached output node, by full name (`Write1`, `Group1.Write1`).
    pub node: String,
    /// Fingerprint of the ignore rules in force; frames hashed under other rules are not
    /// comparable hash for hash.
    pub rules: String,
    /// Fingerprint of the node-class profile in force (empty in files written before
    /// profiles existed).
    pub profile: String,
    /// Version of the frame manifest format the hashes were computed with: a hash from
    /// another version is not comparable, and a check says to re-record.
    pub frame_format: u32,
    /// What the setup of the newest frames was built from, when none of its frames
    /// reads a file (see [`SetupMemo`]); absent in files written before it existed.
    pub setup_memo: Option<SetupMemo>,
}

/// The id of a setup and what it was built from, so that a check of an unchanged
/// script knows the setup's id without building the setup: reading the script and
/// this file is then all a check of unchanged frames costs.
///
/// `key` is a digest of everything the setup is built from besides the environment
/// (the script as read, the output node, the rules and profile fingerprints, the
/// formats and this build's version); `env` is the environment variables the setup
/// read, with their values then. The same key and the same values now mean the same
/// setup. Only setups whose frames read no file on disk have one (a file may change
/// under an unchanged setup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupMemo {
    /// What the setup was built from.
    pub key: Hex128,
    /// The setup's id ([`FrameEntry::setup`]).
    pub setup: Hex128,
    /// Environment variables the setup read, and their values (`None`: unset).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Option<String>>,
    /// Classes of the setup that neither the profile nor a gizmo defines (a check warns
    /// about them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_classes: Vec<String>,
}

impl SetupMemo {
    /// Whether the environment variables the setup read still have the values it read.
    pub fn env_unchanged(&self) -> bool {
        self.env
            .iter()
            .all(|(name, value)| std::env::var(name).ok() == *value)
    }
}

/// The frame format of files that do not say (written before it was recorded).
fn first_frame_format() -> u32 {
    1
}

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

/// The fingerprint of a rendered file, recorded so that a check can tell a frame whose
/// render was deleted or replaced on disk (`missing-render`) from a valid one.
///
/// `path` is wherever the host wrote the render. Records written since `base` exists
/// hold it relative to the cache directory (`"base": "cache-dir"`), or absolute when the
/// render shares no folder with the cache but `/`, so that a check from another
/// directory, or on another machine with the same mounts, finds the file; older records
/// (no `base`) hold it as the user gave it ([`RenderRecord::resolve`] reads both). It is
/// only ever read, never written or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderRecord {
    /// Where the render was: relative to [`RenderRecord::base`], or absolute.
    pub path: String,
    /// What a relative `path` is relative to: `None` in records written before renders
    /// were stored relative to the cache (then: the directory the record ran in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<RenderBase>,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// xxh3-128 of the file's content.
    pub hash: Hex128,
}

/// What the relative path of a [`RenderRecord`] is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RenderBase {
    /// The cache directory (the one holding `master/`).
    #[serde(rename = "cache-dir")]
    CacheDir,
}

impl RenderRecord {
    /// Where the render is, for the cache at `cache_dir`: a path relative to the cache
    /// joined onto it; an absolute path, or a relative one of an old record, as stored.
    pub fn resolve(&self, cache_dir: &Path) -> std::path::PathBuf {
        match self.base {
            Some(RenderBase::CacheDir) => cache_dir.join(&self.path),
            None => std::path::PathBuf::from(&self.path),
        }
    }
}

/// One frame of a hash file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameEntry {
    /// The frame hash: xxh3-128 of the frame's canonical manifest.
    pub hash: Hex128,
    /// The id of the setup the frame was hashed from (what the output depends on,
    /// frame-independent, and the hashing version): when a later check builds the same
    /// setup and nothing it reads lives on disk, the frame hash cannot have changed and
    /// is not recomputed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Hex128>,
    /// The manifest object that explains this frame (a batch of the frames hashed
    /// together, which refers to their shared setup); absent when manifests are not
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Hex128>,
    /// The rendered file's fingerprint, when the record was given a render pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<RenderRecord>,
}

impl FrameEntry {
    /// A frame with no render recorded.
    pub fn new(hash: Hex128) -> Self {
        Self {
            hash,
            setup: None,
            manifest: None,
            render: None,
        }
    }
}

/// A parsed `hash.json`: a master or one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashFile {
    /// When the file was produced, to the millisecond.
    pub created: DateTime<Utc>,
    /// What was hashed, under which rules.
    pub meta: HashMeta,
    /// Frame number to entry; a `BTreeMap` so frames iterate (and serialize) in numeric
    /// order, negative frames first.
    pub frames: BTreeMap<i64, FrameEntry>,
}

/// The serialized form, with the format tag and version in front.
#[derive(Serialize)]
struct WireOut<'a> {
    format: &'static str,
    version: u32,
    created: String,
    script: &'a ScriptRef,
    node: &'a str,
    rules: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    profile: &'a str,
    frame_format: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    setup_memo: Option<&'a SetupMemo>,
    frames: &'a BTreeMap<i64, FrameEntry>,
}

/// Read first, alone, so that the version is known before the rest is interpreted.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

#[derive(Deserialize)]
struct WireIn {
    created: String,
    script: ScriptRef,
    node: String,
    rules: String,
    #[serde(default)]
    profile: String,
    #[serde(default = "first_frame_format")]
    frame_format: u32,
    #[serde(default)]
    setup_memo: Option<SetupMemo>,
    frames: BTreeMap<i64, FrameEntry>,
}

impl HashFile {
    /// A hash file created now (truncated to milliseconds, the precision stored on disk,
    /// so that a written file reads back equal).
    pub fn new(meta: HashMeta, frames: BTreeMap<i64, FrameEntry>) -> Self {
        Self::new_at(Utc::now(), meta, frames)
    }

    /// A hash file with a given creation time (truncated to milliseconds).
    pub fn new_at(
        created: DateTime<Utc>,
        meta: HashMeta,
        frames: BTreeMap<i64, FrameEntry>,
    ) -> Self {
        Self {
            created: created.trunc_subsecs(3),
            meta,
            frames,
        }
    }

    /// The on-disk bytes: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let wire = WireOut {
            format: FORMAT,
            version: VERSION,
            created: self.created.to_rfc3339_opts(SecondsFormat::Millis, true),
            script: &self.meta.script,
            node: &self.meta.node,
            rules: &self.meta.rules,
            profile: &self.meta.profile,
            frame_format: self.meta.frame_format,
            setup_memo: self.meta.setup_memo.as_ref(),
            frames: &self.frames,
        };
        let mut bytes = serde_json::to_vec_pretty(&wire)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parse the bytes of the file at `path` (used only in error messages).
    ///
    /// Refuses another format, another version, an unparseable `created`, and any hash
    /// that is not 32 lowercase hex characters (frame hashes name manifest objects, so a
    /// crafted value such as `../../x` must never get near a path): hashes are parsed
    /// into [`Hex128`] with the file, the error giving its line and column.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self> {
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| StoreError::json(path, &e))?;
        if header.format != FORMAT {
            return Err(StoreError::WrongFormat {
                path: path.to_path_buf(),
                found: header.format,
                expected: FORMAT,
            });
        }
        if header.version != u64::from(VERSION) {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: header.version,
                supported: VERSION,
            });
        }
        let wire: WireIn = serde_json::from_slice(bytes).map_err(|e| StoreError::json(path, &e))?;
        let created = DateTime::parse_from_rfc3339(&wire.created)
            .map_err(|e| StoreError::InvalidField {
                path: path.to_path_buf(),
                field: "created".into(),
                message: format!("{:?} is not an RFC 3339 time: {e}", wire.created),
            })?
            .with_timezone(&Utc);
        let file = Self {
            created,
            meta: HashMeta {
                script: wire.script,
                node: wire.node,
                rules: wire.rules,
                profile: wire.profile,
                frame_format: wire.frame_format,
                setup_memo: wire.setup_memo,
            },
            frames: wire.frames,
        };
        Ok(file)
    }

    /// The object names this file refers to: every frame hash (an object may be stored
    /// under a frame's hash) and every frame's manifest object.
    pub fn frame_hashes(&self) -> impl Iterator<Item = Hex128> + '_ {
        self.frames
            .values()
            .flat_map(|e| std::iter::once(e.hash).chain(e.manifest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sample() -> HashFile {
        let meta = HashMeta {
            script: ScriptRef {
                path: "comp.nk".into(),
                hash: Hex128::from_u128(0),
            },
            node: "Write1".into(),
            rules: "r".into(),
            profile: "p".into(),
            frame_format: 2,
            setup_memo: None,
        };
        let mut frames = BTreeMap::new();
        frames.insert(10, FrameEntry::new(Hex128::of(b"a")));
        frames.insert(-2, FrameEntry::new(Hex128::of(b"b")));
        frames.insert(9, FrameEntry::new(Hex128::of(b"c")));
        HashFile::new(meta, frames)
    }

    #[test]
    fn frames_serialize_in_numeric_order_and_round_trip() {
        let f = sample();
        let bytes = f.to_json().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let pos = |k: &str| text.find(k).unwrap();
        assert!(pos("\"-2\"") < pos("\"9\"") && pos("\"9\"") < pos("\"10\""));
        assert_eq!(HashFile::from_json(&bytes, Path::new("x")).unwrap(), f);
    }

    #[test]
    fn future_version_is_refused_naming_the_file() {
        let text = String::from_utf8(sample().to_json().unwrap())
            .unwrap()
            .replace("\"version\": 1", "\"version\": 2");
        let err =
            HashFile::from_json(text.as_bytes(), &PathBuf::from("c/master/hash.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c/master/hash.json: hash file version 2 is not supported (this build reads version 1)"
        );
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = HashFile::from_json(b"{\n  \"format\": oops", Path::new("h.json")).unwrap_err();
        assert_eq!(err.to_string(), "h.json:2:13: expected value");
    }

    #[test]
    fn a_hash_that_is_not_hex_is_refused_with_its_position() {
        let text = String::from_utf8(sample().to_json().unwrap()).unwrap();
        let good = Hex128::of(b"a").to_string();
        let text = text.replace(&good, "../../etc/passwd");
        let err = HashFile::from_json(text.as_bytes(), Path::new("h.json")).unwrap_err();
        let line = text.lines().position(|l| l.contains("../../")).unwrap() + 1;
        let col = text.lines().nth(line - 1).unwrap().find("../../").unwrap() + 17;
        assert_eq!(
            err.to_string(),
            format!("h.json:{line}:{col}: \"../../etc/passwd\" is not 32 lowercase hex characters")
        );
    }

    #[test]
    fn wrong_format_tag_is_refused() {
        let err = HashFile::from_json(br#"{"format":"other","version":1}"#, Path::new("h.json"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "h.json: not a smartcache hash file (format is \"other\", expected \"smartcache-hash\")"
        );
    }
}
