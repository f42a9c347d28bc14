//! `get` (the artifact serving one source), `get_many`, and `export` (the whole path →
//! artifact map, for readers in other languages).

use super::cache::DatasetCache;
use super::error::{io_at, DatasetError};
use super::fingerprint::{now_ns, Fingerprint};
use super::hashing::hash_file_counted;
use super::layout::variant_key;
use super::model::{Artifact, Entry, Record};
use super::serve::serving;
use super::sidecars::{self, Rule};
use super::sources::path_str;
use super::view::EntryRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// How `get` validates before it serves.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// The producer the artifact must come from (default: the variant's current one).
    pub producer: Option<String>,
    /// Serve without checking the source (slow storage; only when asked).
    pub trust_index: bool,
    /// Read the artifact and compare it with its recorded checksum before serving it.
    /// (Without this, an artifact whose fingerprint moved since it was recorded is
    /// checked; one that did not is trusted.)
    pub verify: bool,
}

impl DatasetCache {
    /// The artifact serving `source` for `variant`, with default [`GetOptions`].
    ///
    /// ```no_run
    /// # use smartcache::dataset::DatasetCache;
    /// # use std::path::Path;
    /// let cache = DatasetCache::at(Path::new("cache"))?; // read-only is enough
    /// for i in 0..3 {
    ///     // One index read for the handle, then a lookup per call.
    ///     let art = cache.get(Path::new(&format!("images/{i}.png")), "512x512")?;
    ///     # let _ = art;
    /// }
    /// # Ok::<(), smartcache::dataset::DatasetError>(())
    /// ```
    pub fn get(&self, source: &Path, variant: &str) -> Result<PathBuf, DatasetError> {
        self.get_with(source, variant, &GetOptions::default())
    }

    /// The artifact serving `source` for `variant`. The source is validated first (unless
    /// `trust_index`): a changed source is an error, a vanished one is served from the
    /// cache (sourceless use); a racy entry whose content proves unchanged is re-stamped
    /// (written at [`DatasetCache::flush`] or when the handle goes). An artifact that no
    /// longer matches its checksum is refused.
    pub fn get_with(
        &self,
        source: &Path,
        variant: &str,
        opts: &GetOptions,
    ) -> Result<PathBuf, DatasetError> {
        let mut lookup = self.lookup()?;
        // The path as given, made absolute, is usually the indexed one: found under
        // it, no directory needs resolving (a data loader's lookups cost a `stat`, not
        // one `readlink` per path component). Else its canonical form is the key.
        let abs = std::path::absolute(source).map_err(io_at(source))?;
        let mut entry = match abs.to_str() {
            Some(k) => lookup.entry(k)?,
            None => None,
        };
        let key_path = if entry.is_some() {
            abs
        } else {
            let key_path = source_key(source)?;
            let key = path_str(&key_path)?;
            entry = lookup.entry(key)?;
            if entry.is_none() {
                // Recorded since this handle read the index?
                self.refresh();
                lookup = self.lookup()?;
                entry = lookup.entry(key)?;
            }
            key_path
        };
        let key = path_str(&key_path)?;
        let entry = entry.ok_or_else(|| DatasetError::NotIndexed {
            path: key_path.clone(),
        })?;
        if !opts.trust_index {
            let rule = Rule::new(lookup.sidecars())?;
            self.validate_source(&key_path, key, &entry, &rule)?;
        }
        let no = |why: String| DatasetError::NoArtifact {
            path: key_path.clone(),
            variant: variant.to_string(),
            why,
        };
        let info = lookup.variant(variant);
        let producer = opts
            .producer
            .clone()
            .or_else(|| info.map(|i| i.producer.clone()))
            .ok_or_else(|| no(" (the variant was never built)".into()))?;
        let ext = info.map(|i| i.ext.as_str()).unwrap_or("");
        let vkey = variant_key(variant, &producer, ext);
        let certify = |rel: &str| {
            lookup.artifact(rel).ok().flatten().is_some_and(|a| {
                a.producer == producer && a.variant == variant && a.source_hash == entry.hash
            })
        };
        // What the existence check found, so that the artifact is `lstat`ed once.
        let found = std::cell::RefCell::new(None);
        let exists = |rel: &str, _: bool| match self.confine(rel) {
            Ok((path, Some(meta))) if meta.is_file() => {
                *found.borrow_mut() = Some((rel.to_string(), path, meta));
                true
            }
            _ => false,
        };
        let Some((rel, _)) = serving(EntryRef::of(&entry), variant, ext, &vkey, &certify, &exists)
        else {
            return Err(no(format!(
                " from producer `{producer}` (run `smartcache dataset build`)"
            )));
        };
        let (path, meta) = match found.into_inner() {
            Some((r, path, meta)) if r == rel => (path, Some(meta)),
            _ => self.confine(&rel)?,
        };
        let record = lookup.artifact(&rel)?;
        check_artifact(&path, meta.as_ref(), record.as_ref(), opts.verify)?;
        Ok(path)
    }

    /// Check `path` (with its sidecars under `rule`) against its entry; re-stamp an
    /// entry whose content proved the same.
    fn validate_source(
        &self,
        path: &Path,
        key: &str,
        entry: &Entry,
        rule: &Rule,
    ) -> Result<(), DatasetError> {
        let at = now_ns();
        let Ok(primary) = Fingerprint::of(path) else {
            return Ok(()); // vanished: served from the cache
        };
        let sides = rule.on_disk(path).map_err(io_at(path))?;
        let mut fps = Vec::with_capacity(sides.len());
        for (suffix, p) in &sides {
            fps.push((suffix.as_str(), Fingerprint::of(p).map_err(io_at(p))?));
        }
        let fp = sidecars::combine(primary, &fps);
        if fp == entry.fp && !fp.is_racy(entry.at) {
            return Ok(());
        }
        let (mut h, _) = hash_file_counted(path).map_err(io_at(path))?;
        if !sides.is_empty() {
            let mut hashes = Vec::with_capacity(sides.len());
            for (suffix, p) in &sides {
                hashes.push((suffix.as_str(), hash_file_counted(p).map_err(io_at(p))?.0));
            }
            let refs: Vec<(&str, &str)> = hashes.iter().map(|(s, h)| (*s, h.as_str())).collect();
            h = sidecars::item_hash(&h, &refs);
        }
        if h != entry.hash {
            return Err(DatasetError::Stale {
                path: path.to_path_buf(),
            });
        }
        if !fp.is_racy(at) || fp != entry.fp {
            let restamped = Entry {
                fp,
                at,
                hash: h,
                variants: Default::default(),
            };
            self.defer(vec![Record::Entry(key.to_string(), restamped)]);
        }
        Ok(())
    }

    /// [`Self::get_with`] for many sources: one index read, one result each, in order.
    pub fn get_many(
        &self,
        sources: &[PathBuf],
        variant: &str,
        opts: &GetOptions,
    ) -> Vec<Result<PathBuf, DatasetError>> {
        sources
            .iter()
            .map(|s| self.get_with(s, variant, opts))
            .collect()
    }

    /// The path → artifact map of `variant` (every entry with a present, certified
    /// artifact from the variant's producer), paths relative to the cache directory.
    /// Sources are not validated: this is what the cache holds.
    pub fn export(&self, variant: &str) -> Result<Export, DatasetError> {
        let snap = self.snapshot()?;
        let info = snap.variant(variant).cloned();
        let mut out = Export {
            format: EXPORT_FORMAT.to_string(),
            version: 1,
            variant: variant.to_string(),
            producer: info
                .as_ref()
                .map(|i| i.producer.clone())
                .unwrap_or_default(),
            ext: info.as_ref().map(|i| i.ext.clone()).unwrap_or_default(),
            artifacts: BTreeMap::new(),
            missing: Vec::new(),
            warnings: snap.warnings.clone(),
        };
        let Some(info) = info else {
            return Ok(out);
        };
        let key = variant_key(variant, &info.producer, &info.ext);
        let entries = snap.entries();
        for i in 0..entries.len() {
            let (p, e) = entries.get(i);
            let certify = |rel: &str| {
                snap.artifact(rel).is_some_and(|a| {
                    a.producer == info.producer && a.variant == variant && a.source_hash == e.hash
                })
            };
            let exists = |rel: &str, _: bool| self.artifact_exists(rel);
            match serving(e, variant, &info.ext, &key, &certify, &exists) {
                Some((rel, _)) => {
                    out.artifacts.insert(p.to_string(), rel.into_owned());
                }
                None => out.missing.push(p.to_string()),
            }
        }
        Ok(out)
    }
}

/// The index key of `source`: its directory made canonical, its own name kept (a
/// symlinked file is indexed under the link's path, as the walk finds it).
fn source_key(source: &Path) -> Result<PathBuf, DatasetError> {
    let abs = std::path::absolute(source).map_err(io_at(source))?;
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => match fs::canonicalize(dir) {
            Ok(d) => Ok(d.join(name)),
            Err(_) => Ok(abs.clone()),
        },
        _ => Ok(abs),
    }
}

/// Format tag of [`Export`].
pub const EXPORT_FORMAT: &str = "smartcache-dataset-export";

/// What `export` writes: for one variant, each source path and the artifact serving it.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The version of the export format (1).
    pub version: u32,
    /// The variant exported.
    pub variant: String,
    /// The producer whose artifacts serve it.
    pub producer: String,
    /// The artifacts' extension (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ext: String,
    /// Absolute source path → artifact path relative to the cache directory.
    pub artifacts: BTreeMap<String, String>,
    /// Entries with no artifact to serve (not built yet, or deleted).
    pub missing: Vec<String>,
    /// Index fallbacks and migrations worked around.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Refuse an artifact that no longer matches its record: read it when `verify`, or when
/// its fingerprint moved since the record was made.
fn check_artifact(
    path: &Path,
    meta: Option<&fs::Metadata>,
    record: Option<&Artifact>,
    verify: bool,
) -> Result<(), DatasetError> {
    let Some(a) = record else {
        if verify {
            return Err(DatasetError::Corrupt {
                path: path.to_path_buf(),
                why: "no checksum recorded for it".into(),
            });
        }
        return Ok(());
    };
    let moved = match (meta, a.fp) {
        (Some(m), Some(fp)) => Fingerprint::from_metadata(m) != fp,
        _ => true,
    };
    if !verify && !moved {
        return Ok(());
    }
    if !verify && a.fp.is_none() {
        return Ok(()); // recorded before fingerprints were: `verify` checks it
    }
    let (checksum, size) = hash_file_counted(path).map_err(io_at(path))?;
    if (checksum.as_str(), size) != (a.checksum.as_str(), a.size) {
        return Err(DatasetError::Corrupt {
            path: path.to_path_buf(),
            why: format!(
                "checksum {checksum} ({size} bytes), recorded {} ({} bytes)",
                a.checksum, a.size
            ),
        });
    }
    Ok(())
}
