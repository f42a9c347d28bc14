//! `verify` (can the cache serve without its sources?) and `gc` (delete what no entry
//! references, previewing first).

use super::build::BuildLock;
use super::cache::{DatasetCache, BUILD_LOCK_FILE, OBJECTS_DIR};
use super::error::{io_at, DatasetError};
use super::hashing::hash_file_counted;
use super::index;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;

/// One thing `verify` found wrong.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The source path whose artifact is at fault.
    pub source: String,
    pub variant: String,
    pub problem: String,
}

/// The answer of [`DatasetCache::verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub entries: usize,
    pub artifacts_checked: usize,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The answer of [`DatasetCache::gc`].
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    /// Orphaned files (deleted unless `dry_run`).
    pub count: usize,
    pub bytes: u64,
    /// Their paths relative to the cache directory, sorted.
    pub paths: Vec<String>,
    /// Artifact records no entry references (dropped from the index unless `dry_run`).
    pub stale_records: usize,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl DatasetCache {
    /// Check that every entry has an artifact for every variant, from the variant's
    /// producer, inside the cache, with its recorded size and checksum. Reads every
    /// artifact once (shared artifacts once in all).
    pub fn verify(&self) -> Result<VerifyReport, DatasetError> {
        let loaded = self.load()?;
        let index = &loaded.index;
        let mut problems = Vec::new();
        let mut to_check: BTreeSet<&str> = BTreeSet::new();
        for (src, e) in &index.entries {
            for (variant, info) in &index.variants {
                let mut problem = |p: String| {
                    problems.push(Problem {
                        source: src.clone(),
                        variant: variant.clone(),
                        problem: p,
                    })
                };
                let Some(rel) = e.variants.get(variant) else {
                    problem("no artifact recorded".into());
                    continue;
                };
                let Some(a) = index.artifacts.get(rel) else {
                    problem(format!("{rel}: no artifact record"));
                    continue;
                };
                if a.producer != info.producer {
                    problem(format!(
                        "{rel}: made by producer `{}`, the variant is served by `{}`",
                        a.producer, info.producer
                    ));
                }
                if a.source_hash != e.hash || &a.variant != variant {
                    problem(format!(
                        "{rel}: made from other content or for another variant"
                    ));
                }
                to_check.insert(rel.as_str());
            }
        }
        let checked: BTreeMap<&str, Result<(), String>> = to_check
            .par_iter()
            .map(|rel| (*rel, self.check_artifact(index, rel)))
            .collect();
        for (src, e) in &index.entries {
            for (variant, rel) in &e.variants {
                if !index.variants.contains_key(variant) {
                    continue;
                }
                if let Some(Err(p)) = checked.get(rel.as_str()) {
                    problems.push(Problem {
                        source: src.clone(),
                        variant: variant.clone(),
                        problem: format!("{rel}: {p}"),
                    });
                }
            }
        }
        problems.sort();
        Ok(VerifyReport {
            entries: index.entries.len(),
            artifacts_checked: checked.len(),
            problems,
            warnings: loaded.warnings,
        })
    }

    fn check_artifact(&self, index: &index::Index, rel: &str) -> Result<(), String> {
        let path = self.artifact_path(rel).map_err(|e| e.to_string())?;
        let a = index.artifacts.get(rel).ok_or("no artifact record")?;
        let (checksum, size) = hash_file_counted(&path).map_err(|e| e.to_string())?;
        if size != a.size {
            return Err(format!("size {size}, recorded {}", a.size));
        }
        if checksum != a.checksum {
            return Err(format!("checksum {checksum}, recorded {}", a.checksum));
        }
        Ok(())
    }

    /// Find files under `objects/` that no entry references (and artifact records nobody
    /// references) and, unless `dry_run`, delete them. Refuses to run while a build runs.
    /// Only `objects/` is walked, symlinks are never followed, and what the index says
    /// cannot point the deletion anywhere else.
    pub fn gc(&self, dry_run: bool) -> Result<GcReport, DatasetError> {
        let _no_builds = BuildLock::try_exclusive(&self.dir().join(BUILD_LOCK_FILE))?;
        let lock = self.lock()?;
        let mut loaded = index::load(self.dir())?;
        let referenced: BTreeSet<String> = loaded
            .index
            .entries
            .values()
            .flat_map(|e| e.variants.values().cloned())
            .collect();
        let mut orphans: Vec<(String, u64)> = Vec::new();
        let mut dirs = Vec::new();
        let objects = self.dir().join(OBJECTS_DIR);
        // `read_dir` follows a symlink given as its argument: `objects/` itself must be a
        // real directory, or gc would walk (and delete in) wherever it points.
        if fs::symlink_metadata(&objects).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(crate::fsutil::FsError::Escapes {
                path: OBJECTS_DIR.to_string(),
                base: self.dir().to_path_buf(),
            }
            .into());
        }
        let mut stack = vec![(objects.clone(), OBJECTS_DIR.to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let items = match fs::read_dir(&dir) {
                Ok(i) => i,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_at(&dir)(e)),
            };
            dirs.push(dir.clone());
            for item in items {
                let item = item.map_err(io_at(&dir))?;
                let Some(name) = item.file_name().to_str().map(str::to_string) else {
                    // A name the index cannot hold is referenced by nobody.
                    let meta = item.metadata().map_err(io_at(item.path()))?;
                    orphans.push((
                        format!("{rel}/{}", item.file_name().to_string_lossy()),
                        meta.len(),
                    ));
                    continue;
                };
                let child = format!("{rel}/{name}");
                let ft = item.file_type().map_err(io_at(item.path()))?;
                if ft.is_dir() {
                    stack.push((item.path(), child));
                } else if !referenced.contains(&child) {
                    let meta = fs::symlink_metadata(item.path()).map_err(io_at(item.path()))?;
                    orphans.push((child, meta.len()));
                }
            }
        }
        orphans.sort();
        let stale: Vec<String> = loaded
            .index
            .artifacts
            .keys()
            .filter(|k| !referenced.contains(*k))
            .cloned()
            .collect();
        if !dry_run {
            for (rel, _) in &orphans {
                let path = self.dir().join(rel);
                // Walked from objects/ without following links: inside the cache by
                // construction; checked again all the same.
                if path.starts_with(&objects) {
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_at(&path)(e)),
                    }
                }
            }
            // Empty fan-out directories go too (deepest first; non-empty ones stay).
            for d in dirs.iter().rev().filter(|d| **d != objects) {
                let _ = fs::remove_dir(d);
            }
            if !stale.is_empty() {
                for k in &stale {
                    loaded.index.artifacts.remove(k);
                }
                index::save(self.dir(), &mut loaded.index, &lock)?;
            }
        }
        Ok(GcReport {
            dry_run,
            count: orphans.len(),
            bytes: orphans.iter().map(|(_, n)| n).sum(),
            paths: orphans.into_iter().map(|(p, _)| p).collect(),
            stale_records: stale.len(),
            warnings: loaded.warnings,
        })
    }
}
