//! `verify` (can the cache serve without its sources?), `repair` (take away artifacts
//! that no longer match their checksum, so that the next build makes them again) and
//! `gc` (delete what no entry references, previewing first).

use super::cache::DatasetCache;
use super::error::{io_at, DatasetError};
use super::hashing::hash_file_counted;
use super::layout::{BUILD_LOCK_FILE, OBJECTS_DIR};
use super::locks::BuildLock;
use super::model::Index;
use super::store::{self, Prune};
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
    /// The variant.
    pub variant: String,
    /// What is wrong.
    pub problem: String,
    /// The artifact is on disk but its content is not what was recorded (`repair`
    /// removes it so that a build makes it again).
    #[serde(skip)]
    pub corrupt: Option<String>,
}

/// The answer of [`DatasetCache::verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Index entries checked.
    pub entries: usize,
    /// Artifacts read and checked.
    pub artifacts_checked: usize,
    /// What is wrong, sorted.
    pub problems: Vec<Problem>,
    /// Index fallbacks and migrations worked around.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The answer of [`DatasetCache::gc`].
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    /// Whether nothing was deleted (what would be is listed).
    pub dry_run: bool,
    /// Orphaned files (deleted unless `dry_run`).
    pub count: usize,
    /// Their total size.
    pub bytes: u64,
    /// Their paths relative to the cache directory, sorted.
    pub paths: Vec<String>,
    /// Artifact records no entry references (dropped from the index unless `dry_run`).
    pub stale_records: usize,
    /// Index fallbacks and migrations worked around.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl DatasetCache {
    /// Check that every entry has an artifact for every variant, from the variant's
    /// producer, inside the cache, with its recorded size and checksum. Reads every
    /// artifact once (shared artifacts once in all). Takes no lock: works on a
    /// read-only cache.
    pub fn verify(&self) -> Result<VerifyReport, DatasetError> {
        let snap = self.snapshot()?;
        let index = &snap.to_index();
        let mut warnings = snap.warnings.clone();
        if snap.base.as_ref().is_some_and(|b| b.artifacts_damaged()) {
            warnings.push(format!(
                "{}: the artifact records of the index base are damaged; the next build records them again",
                self.dir().display()
            ));
        }
        let mut problems = Vec::new();
        let mut to_check: BTreeSet<&str> = BTreeSet::new();
        for (src, e) in &index.entries {
            for (variant, info) in &index.variants {
                let mut problem = |p: String| {
                    problems.push(Problem {
                        source: src.clone(),
                        variant: variant.clone(),
                        problem: p,
                        corrupt: None,
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
        let checked: BTreeMap<&str, Result<(), (String, bool)>> = to_check
            .par_iter()
            .map(|rel| (*rel, self.check_artifact(index, rel)))
            .collect();
        for (src, e) in &index.entries {
            for (variant, rel) in &e.variants {
                if !index.variants.contains_key(variant) {
                    continue;
                }
                if let Some(Err((p, corrupt))) = checked.get(rel.as_str()) {
                    problems.push(Problem {
                        source: src.clone(),
                        variant: variant.clone(),
                        problem: format!("{rel}: {p}"),
                        corrupt: corrupt.then(|| rel.clone()),
                    });
                }
            }
        }
        problems.sort();
        Ok(VerifyReport {
            entries: index.entries.len(),
            artifacts_checked: checked.len(),
            problems,
            warnings,
        })
    }

    /// `Err((what, corrupt))`: `corrupt` when the file is there but not as recorded.
    fn check_artifact(&self, index: &Index, rel: &str) -> Result<(), (String, bool)> {
        let path = self
            .artifact_path(rel)
            .map_err(|e| (e.to_string(), false))?;
        let a = index
            .artifacts
            .get(rel)
            .ok_or(("no artifact record".to_string(), false))?;
        let (checksum, size) = hash_file_counted(&path).map_err(|e| (e.to_string(), false))?;
        if size != a.size {
            return Err((format!("size {size}, recorded {}", a.size), true));
        }
        if checksum != a.checksum {
            return Err((
                format!("checksum {checksum}, recorded {}", a.checksum),
                true,
            ));
        }
        Ok(())
    }

    /// Remove the artifacts `report` found corrupt, so that the next build of their
    /// variant makes them again (`get` already refuses them). Returns their paths.
    pub fn repair(&self, report: &VerifyReport) -> Result<Vec<String>, DatasetError> {
        let mut removed: Vec<String> = report
            .problems
            .iter()
            .filter_map(|p| p.corrupt.clone())
            .collect();
        removed.sort();
        removed.dedup();
        for rel in &removed {
            let path = self.artifact_path(rel)?;
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_at(&path)(e)),
            }
        }
        Ok(removed)
    }

    /// Find files under `objects/` that no entry references (and artifact records nobody
    /// references) and, unless `dry_run`, delete them. Refuses to run while a build runs.
    /// Only `objects/` is walked, symlinks are never followed, and what the index says
    /// cannot point the deletion anywhere else.
    pub fn gc(&self, dry_run: bool) -> Result<GcReport, DatasetError> {
        let _no_builds = BuildLock::try_exclusive(&self.dir().join(BUILD_LOCK_FILE))?;
        let snap = self.snapshot()?;
        let index = snap.to_index();
        let referenced: BTreeSet<String> = index
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
        let stale: Vec<String> = index
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
            // With no build running, no writer holds records older than what the index
            // says: removals and cleared failures can go too.
            let prune = Prune {
                tombstones: true,
                unreferenced: true,
            };
            store::compact_streaming(self.dir(), prune)?;
        }
        Ok(GcReport {
            dry_run,
            count: orphans.len(),
            bytes: orphans.iter().map(|(_, n)| n).sum(),
            paths: orphans.into_iter().map(|(p, _)| p).collect(),
            stale_records: stale.len(),
            warnings: snap.warnings.clone(),
        })
    }
}
