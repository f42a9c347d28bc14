//! Pruning: drop old snapshots, then the manifest objects nothing refers to any more.

use super::error::{io_err, Result, StoreError};
use super::objects::reachable_refs;
use super::OLD_SOURCES_LOCK;
use super::{is_temp_name, CacheDir, SnapshotId, HASH_FILE, MANIFESTS_DIR, MASTER_DIR};
use crate::fsutil;
use crate::hash::{is_hex128, Hex128};
use serde::Serialize;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How old an unreferenced object or temp file must be before prune deletes it.
///
/// A writer stores a frame's objects before the `hash.json` that refers to them; during
/// that window they look unreferenced. A minute is far longer than the window.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// What to prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneOptions {
    /// How many of the newest snapshots to keep.
    pub keep: usize,
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
    /// Unreferenced files younger than this are left alone (see [`DEFAULT_GRACE`]).
    pub grace: Duration,
}

impl PruneOptions {
    /// Keep the newest `keep` snapshots, with the default grace period.
    pub fn keep(keep: usize) -> Self {
        Self {
            keep,
            dry_run: false,
            grace: DEFAULT_GRACE,
        }
    }
}

/// What prune removed (or, in a dry run, would remove). Serializes to `prune --json`:
/// `{"dry_run","removed_snapshots","kept_snapshots","removed_objects" (a count),
/// "kept_objects","removed_bytes"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Whether nothing was removed (what would have been is reported).
    pub dry_run: bool,
    /// Snapshots removed, oldest first.
    pub removed_snapshots: Vec<SnapshotId>,
    /// Snapshots kept, oldest first.
    pub kept_snapshots: Vec<SnapshotId>,
    /// Names of the objects removed, sorted.
    pub removed_objects: Vec<Hex128>,
    /// Number of objects kept because the master, its backup or a kept snapshot reaches
    /// them.
    pub kept_objects: usize,
    /// Every file removed, sorted: snapshot hash files, objects, stale temp files.
    pub removed_files: Vec<PathBuf>,
    /// Total size of `removed_files`.
    pub removed_bytes: u64,
    /// Unreferenced objects and temp files left alone because they are younger than the
    /// grace period (a writer may be about to refer to them), sorted.
    pub skipped_young: Vec<PathBuf>,
    /// Snapshot directories whose hash file was removed but which still hold files the
    /// store did not write, so the directory itself was left in place.
    pub left_in_place: Vec<PathBuf>,
    /// Snapshot directories without a hash file (a writer died before writing it) that
    /// held nothing but temp files, removed with them, sorted.
    pub removed_incomplete: Vec<PathBuf>,
    /// Problems prune worked around, for the user to see (a damaged master read from
    /// its backup).
    pub warnings: Vec<String>,
}

impl Serialize for PruneReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            dry_run: bool,
            removed_snapshots: &'a [SnapshotId],
            kept_snapshots: &'a [SnapshotId],
            removed_objects: usize,
            kept_objects: usize,
            removed_bytes: u64,
        }
        Wire {
            dry_run: self.dry_run,
            removed_snapshots: &self.removed_snapshots,
            kept_snapshots: &self.kept_snapshots,
            removed_objects: self.removed_objects.len(),
            kept_objects: self.kept_objects,
            removed_bytes: self.removed_bytes,
        }
        .serialize(s)
    }
}

impl CacheDir {
    /// Remove all but the newest `keep` snapshots, then every object not reachable from
    /// the master or a remaining snapshot; see [`CacheDir::prune_with`].
    pub fn prune(&self, keep: usize, dry_run: bool) -> Result<PruneReport> {
        self.prune_with(&PruneOptions {
            dry_run,
            ..PruneOptions::keep(keep)
        })
    }

    /// Prune under the cache's `.lock`.
    ///
    /// Reachable objects are the frame hashes of the master, of its backup and of every
    /// kept snapshot, and, transitively, everything listed in a reachable object's
    /// `refs` (followed with an explicit work list, not recursion). If any of those
    /// files cannot be read, prune stops with that error before deleting anything: it
    /// cannot know what the unreadable file refers to.
    ///
    /// Only names the store itself writes are ever deleted, and only inside the cache
    /// directory: `<hex>.json` and temp files directly in `manifests/`, `hash.json` and
    /// temp files in the removed snapshot directories (a directory still holding
    /// anything else is left and reported), snapshot directories that a writer left
    /// without a hash file and that hold only temp files, and temp files (and the lock
    /// file older versions used for `sources.json`) at the top of the cache directory
    /// and in `master/`. Every directory is reached through [`CacheDir::confined`], so a
    /// `master/` or `manifests/` that is a symlink leading outside stops prune with an
    /// error before it deletes anything. Refs are only compared with object names,
    /// never joined onto a path, so a crafted `refs` entry cannot reach outside.
    ///
    /// A damaged master is read from its backup, as [`CacheDir::load_master`] does, and
    /// reported in [`PruneReport::warnings`].
    ///
    /// A dry run takes the lock too (creating `.lock` if it is missing), so that what it
    /// reports is what a real run at that moment would do.
    pub fn prune_with(&self, opts: &PruneOptions) -> Result<PruneReport> {
        let mut report = PruneReport {
            dry_run: opts.dry_run,
            ..PruneReport::default()
        };
        if !self.path().is_dir() {
            return Ok(report);
        }
        self.check_layout()?;
        let _lock = self.lock()?;
        let now = SystemTime::now();

        let mut snapshots = self.snapshots()?;
        let kept = snapshots.split_off(snapshots.len().saturating_sub(opts.keep));
        let removed = snapshots;

        let reachable = self.reachable_objects(&kept, &mut report)?;
        report.kept_objects = reachable.len();

        for id in &removed {
            self.remove_snapshot(id, opts.dry_run, &mut report)?;
        }
        report.removed_snapshots = removed;
        report.kept_snapshots = kept;
        for (id, complete) in self.snapshot_dirs()? {
            if !complete {
                self.remove_incomplete_snapshot(&id, opts.dry_run, &mut report)?;
            }
        }

        self.prune_objects(&reachable, opts, now, &mut report)?;
        self.prune_temps(None, opts, now, &mut report)?;
        self.prune_temps(Some(MASTER_DIR), opts, now, &mut report)?;

        report.removed_objects.sort();
        report.removed_files.sort();
        report.skipped_young.sort();
        report.removed_incomplete.sort();
        Ok(report)
    }

    /// Names of the objects reachable from the master, its backup and `kept`, that are
    /// present in the store.
    fn reachable_objects(
        &self,
        kept: &[SnapshotId],
        report: &mut PruneReport,
    ) -> Result<HashSet<Hex128>> {
        let mut work: Vec<Hex128> = Vec::new();
        let master = self.load_master()?.map(|m| {
            report.warnings.extend(m.recovery.map(|r| r.to_string()));
            m.file
        });
        for file in [master, self.master_backup()?].into_iter().flatten() {
            work.extend(file.frame_hashes());
        }
        for id in kept {
            work.extend(self.snapshot(id)?.frame_hashes());
        }

        let mut reachable = HashSet::new();
        let mut seen = HashSet::new();
        while let Some(hash) = work.pop() {
            if !seen.insert(hash) {
                continue;
            }
            let (path, bytes) = self.read(super::objects::object_rel(hash))?;
            let Some(bytes) = bytes else {
                continue;
            };
            let refs = reachable_refs(&bytes)
                .map_err(|message| StoreError::InvalidObject { path, message })?;
            work.extend(refs);
            reachable.insert(hash);
        }
        Ok(reachable)
    }

    /// Remove one snapshot's files (those the store writes) and, if it is then empty,
    /// its directory.
    fn remove_snapshot(
        &self,
        id: &SnapshotId,
        dry_run: bool,
        report: &mut PruneReport,
    ) -> Result<()> {
        let dir = self.confined(id.to_string())?;
        let mut foreign = false;
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let ours = name
                .to_str()
                .is_some_and(|n| n == HASH_FILE || is_temp_name(n));
            let meta = entry.metadata().map_err(io_err(entry.path()))?;
            // Writers hold the lock while they fill a snapshot, so no temp file here
            // belongs to a writer in flight.
            if ours && !meta.is_dir() {
                remove_file(&entry.path(), meta.len(), dry_run, report)?;
            } else {
                foreign = true;
            }
        }
        if foreign {
            report.left_in_place.push(dir);
        } else if !dry_run {
            fs::remove_dir(&dir).map_err(io_err(&dir))?;
            fsutil::sync_parent(&dir)?;
        }
        Ok(())
    }

    /// Remove a snapshot directory that has no hash file, if it holds nothing but temp
    /// files; a directory with anything else in it is not ours and is left alone.
    fn remove_incomplete_snapshot(
        &self,
        id: &SnapshotId,
        dry_run: bool,
        report: &mut PruneReport,
    ) -> Result<()> {
        let dir = self.confined(id.to_string())?;
        let mut temps = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let meta = entry.metadata().map_err(io_err(entry.path()))?;
            if meta.is_dir() || !entry.file_name().to_str().is_some_and(is_temp_name) {
                return Ok(());
            }
            temps.push((entry.path(), meta.len()));
        }
        // Under the lock no writer is filling this directory (writers hold the lock from
        // creating a snapshot directory until its hash file is in place).
        for (path, len) in temps {
            remove_file(&path, len, dry_run, report)?;
        }
        if !dry_run {
            fs::remove_dir(&dir).map_err(io_err(&dir))?;
            fsutil::sync_parent(&dir)?;
        }
        report.removed_incomplete.push(dir);
        Ok(())
    }

    /// Remove unreachable objects and stale temp files directly in `manifests/`.
    fn prune_objects(
        &self,
        reachable: &HashSet<Hex128>,
        opts: &PruneOptions,
        now: SystemTime,
        report: &mut PruneReport,
    ) -> Result<()> {
        let dir = self.confined(MANIFESTS_DIR)?;
        let Some(entries) = read_dir_if_present(&dir)? else {
            return Ok(());
        };
        let mut removed_one: Option<PathBuf> = None;
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let object = name
                .strip_suffix(".json")
                .filter(|h| is_hex128(h))
                .and_then(|h| Hex128::parse(h).ok());
            if object.is_none() && !is_temp_name(&name) {
                continue; // not ours
            }
            if object.is_some_and(|h| reachable.contains(&h)) {
                continue;
            }
            let path = entry.path();
            if !remove_if_stale(&path, opts, now, report)? {
                continue;
            }
            if let Some(hash) = object {
                report.removed_objects.push(hash);
            }
            removed_one.get_or_insert(path);
        }
        // Make the removals durable (one fsync of the directory covers them all).
        if let Some(path) = removed_one.filter(|_| !opts.dry_run) {
            fsutil::sync_parent(&path)?;
        }
        Ok(())
    }

    /// Remove the temp files writers that died mid-write left directly in `dir` (the
    /// top of the cache directory when `None`: `sources.json`'s), and at the top the
    /// lock file older versions took for `sources.json`, once older than the grace
    /// period.
    fn prune_temps(
        &self,
        dir: Option<&str>,
        opts: &PruneOptions,
        now: SystemTime,
        report: &mut PruneReport,
    ) -> Result<()> {
        let (dir, top) = match dir {
            Some(rel) => (self.confined(rel)?, false),
            None => (self.path().to_path_buf(), true),
        };
        let Some(entries) = read_dir_if_present(&dir)? else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let ours = entry
                .file_name()
                .to_str()
                .is_some_and(|n| is_temp_name(n) || (top && n == OLD_SOURCES_LOCK));
            if ours {
                remove_if_stale(&entry.path(), opts, now, report)?;
            }
        }
        Ok(())
    }
}

/// The entries of `dir`; `None` when it does not exist (nothing to prune).
fn read_dir_if_present(dir: &Path) -> Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(Some(entries)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Remove the file `path` (a symlink is judged and removed as the link itself) unless it
/// is a directory or younger than the grace period (then reported as skipped). Returns
/// whether it was removed (or would be, with `dry_run`).
fn remove_if_stale(
    path: &Path,
    opts: &PruneOptions,
    now: SystemTime,
    report: &mut PruneReport,
) -> Result<bool> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        return Ok(false);
    }
    if is_young(&meta, now, opts.grace) {
        report.skipped_young.push(path.to_path_buf());
        return Ok(false);
    }
    remove_file(path, meta.len(), opts.dry_run, report)?;
    Ok(true)
}

/// `true` if the file was modified less than `grace` before `now` (or in the future,
/// which a skewed clock on shared storage can produce).
fn is_young(meta: &fs::Metadata, now: SystemTime, grace: Duration) -> bool {
    if grace.is_zero() {
        return false;
    }
    match meta.modified() {
        Ok(mtime) => now.duration_since(mtime).map_or(true, |age| age < grace),
        // No mtime: cannot tell, so keep it.
        Err(_) => true,
    }
}

/// Remove `path` (unless `dry_run`) and account for it.
fn remove_file(path: &Path, size: u64, dry_run: bool, report: &mut PruneReport) -> Result<()> {
    if !dry_run {
        match fs::remove_file(path) {
            Ok(()) => {}
            // Gone already (another prune on a cache it does not lock, or a user): fine.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    report.removed_files.push(path.to_path_buf());
    report.removed_bytes += size;
    Ok(())
}
