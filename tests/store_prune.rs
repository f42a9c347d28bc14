//! Pruning snapshots and unreachable manifest objects.

mod store_common;

use chrono::{TimeZone, Utc};
use smartcache::hash::{hex128, Hex128};
use smartcache::store::{CacheDir, FrameEntry, HashFile, PruneOptions, SnapshotId, StoreError};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use store_common::{meta, tree};

/// Prune now, without the grace period for young files.
fn prune_now(cache: &CacheDir, keep: usize, dry_run: bool) -> smartcache::store::PruneReport {
    cache
        .prune_with(&PruneOptions {
            keep,
            dry_run,
            grace: Duration::ZERO,
        })
        .unwrap()
}

/// Store a node record and a frame manifest referring to it; returns (frame, node).
fn put_frame(cache: &CacheDir, tag: &str) -> (Hex128, Hex128) {
    let node = cache
        .put_object(format!(r#"{{"node":"{tag}"}}"#).as_bytes())
        .unwrap();
    let frame = cache
        .put_object(format!(r#"{{"frame":"{tag}","refs":["{node}"]}}"#).as_bytes())
        .unwrap();
    (frame, node)
}

fn one_frame(hash: Hex128) -> BTreeMap<i64, FrameEntry> {
    BTreeMap::from([(1, FrameEntry::new(hash))])
}

/// A snapshot holding one frame, written at second `sec` of a fixed minute.
fn snapshot(cache: &CacheDir, sec: u32, frame: Hex128) -> SnapshotId {
    let t = Utc.with_ymd_and_hms(2026, 11, 22, 23, 40, sec).unwrap();
    let file = HashFile::new_at(t, meta("Write1", "r"), one_frame(frame));
    cache.write_snapshot_at(&file, t).unwrap()
}

fn object_path(dir: &Path, hash: impl std::fmt::Display) -> PathBuf {
    dir.join("manifests").join(format!("{hash}.json"))
}

/// A cache with a master, three snapshots, objects reached directly and only through
/// `refs`, an orphan, and a shared node record.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cache: CacheDir,
    master: (Hex128, Hex128),
    snaps: Vec<(SnapshotId, (Hex128, Hex128))>,
    orphan: Hex128,
    shared_node: Hex128,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let cache = CacheDir::new(&dir);
    let master = put_frame(&cache, "m");
    cache
        .record_master(meta("Write1", "r"), one_frame(master.0))
        .unwrap();
    let shared_node = cache.put_object(br#"{"node":"shared"}"#).unwrap();
    let snaps = (0..3)
        .map(|i| {
            let (frame, node) = if i < 2 {
                put_frame(&cache, &format!("s{i}"))
            } else {
                // The newest snapshot's frame reaches its node record and the shared one
                // two levels down: frame -> wrapper -> {node, shared}.
                let node = cache.put_object(br#"{"node":"s2"}"#).unwrap();
                let wrapper = cache
                    .put_object(format!(r#"{{"refs":["{shared_node}","{node}"]}}"#).as_bytes())
                    .unwrap();
                let frame = cache
                    .put_object(format!(r#"{{"frame":2,"refs":["{wrapper}"]}}"#).as_bytes())
                    .unwrap();
                (frame, node)
            };
            (snapshot(&cache, i, frame), (frame, node))
        })
        .collect();
    let orphan = cache.put_object(br#"{"orphan":true}"#).unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        cache,
        master,
        snaps,
        orphan,
        shared_node,
    }
}

#[test]
fn prune_keeps_what_is_referenced_and_removes_the_rest() {
    let fx = fixture();
    let report = prune_now(&fx.cache, 1, false);
    let ids: Vec<_> = fx.snaps.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(report.removed_snapshots, ids[..2]);
    assert_eq!(report.kept_snapshots, ids[2..]);
    assert_eq!(fx.cache.snapshots().unwrap(), ids[2..]);

    let mut removed = vec![
        fx.snaps[0].1 .0,
        fx.snaps[0].1 .1,
        fx.snaps[1].1 .0,
        fx.snaps[1].1 .1,
        fx.orphan,
    ];
    removed.sort();
    assert_eq!(report.removed_objects, removed);
    // master frame + node, newest frame + wrapper + its node + shared node.
    assert_eq!(report.kept_objects, 6);
    for hash in &removed {
        assert!(!object_path(&fx.dir, hash).exists(), "{hash}");
    }
    for hash in [
        &fx.master.0,
        &fx.master.1,
        &fx.snaps[2].1 .0,
        &fx.snaps[2].1 .1,
        &fx.shared_node,
    ] {
        assert!(fx.cache.get_object(*hash).unwrap().is_some(), "{hash}");
    }

    let mut expected_files: Vec<PathBuf> =
        removed.iter().map(|h| object_path(&fx.dir, h)).collect();
    for (id, _) in &fx.snaps[..2] {
        expected_files.push(fx.dir.join(id.to_string()).join("hash.json"));
        assert!(!fx.dir.join(id.to_string()).exists());
    }
    expected_files.sort();
    assert_eq!(report.removed_files, expected_files);

    // Pruning again finds nothing to do.
    let again = prune_now(&fx.cache, 1, false);
    assert!(again.removed_files.is_empty() && again.removed_snapshots.is_empty());
    assert_eq!(again.kept_objects, 6);
}

#[test]
fn removed_bytes_is_the_size_of_the_removed_files() {
    let fx = fixture();
    let dry = prune_now(&fx.cache, 0, true);
    let expected: u64 = dry
        .removed_files
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(dry.removed_bytes, expected);
    let real = prune_now(&fx.cache, 0, false);
    assert_eq!(real.removed_bytes, expected);
    assert_eq!(real.removed_files, dry.removed_files);
}

#[test]
fn dry_run_changes_nothing_and_reports_what_a_real_run_does() {
    let fx = fixture();
    let before = tree(&fx.dir);
    let dry = prune_now(&fx.cache, 1, true);
    assert!(dry.dry_run);
    assert_eq!(tree(&fx.dir), before);
    let real = prune_now(&fx.cache, 1, false);
    assert!(!real.dry_run);
    assert_eq!(
        (
            dry.removed_snapshots,
            dry.removed_objects,
            dry.removed_files,
            dry.removed_bytes
        ),
        (
            real.removed_snapshots,
            real.removed_objects,
            real.removed_files,
            real.removed_bytes
        )
    );
}

#[test]
fn keep_zero_keeps_only_what_the_master_reaches() {
    let fx = fixture();
    let report = prune_now(&fx.cache, 0, false);
    assert_eq!(report.removed_snapshots.len(), 3);
    assert_eq!(report.kept_objects, 2);
    let mut left: Vec<_> = fs::read_dir(fx.dir.join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let mut expected = vec![
        format!("{}.json", fx.master.0),
        format!("{}.json", fx.master.1),
    ];
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn young_unreferenced_objects_are_left_for_writers_in_flight() {
    let fx = fixture();
    // Default options: one minute of grace. Everything in the fixture is seconds old.
    let report = fx.cache.prune(1, false).unwrap();
    assert_eq!(report.removed_snapshots.len(), 2);
    assert!(report.removed_objects.is_empty());
    assert_eq!(report.skipped_young.len(), 5);
    assert!(object_path(&fx.dir, fx.orphan).exists());

    // An old temp file of a writer that died is cleaned up; a fresh one is not.
    let stale = fx.dir.join("manifests/.x.json.999.0.tmp");
    let fresh = fx.dir.join("manifests/.y.json.999.1.tmp");
    fs::write(&stale, b"partial").unwrap();
    fs::write(&fresh, b"partial").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let report = fx.cache.prune(1, false).unwrap();
    assert_eq!(report.removed_files, vec![stale.clone()]);
    assert!(!stale.exists() && fresh.exists());
}

#[test]
fn put_object_refreshes_an_existing_object_so_prune_spares_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let hash = cache.put_object(br#"{"n":1}"#).unwrap();
    let path = object_path(tmp.path(), hash);
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    // A writer about to reference it stores it again: it must survive a prune now.
    cache.put_object(br#"{"n":1}"#).unwrap();
    let report = cache.prune(0, false).unwrap();
    assert_eq!(report.skipped_young, vec![path.clone()]);
    assert!(path.exists());
}

#[test]
fn crafted_refs_and_names_cannot_delete_outside_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let cache = CacheDir::new(&dir);
    let victim_dir = tmp.path().join("victim");
    fs::create_dir(&victim_dir).unwrap();
    let victim = victim_dir.join(format!("{}.json", hex128(b"victim")));
    fs::write(&victim, b"{}").unwrap();

    cache
        .record_master(meta("Write1", "r"), BTreeMap::new())
        .unwrap();
    fs::create_dir_all(dir.join("manifests")).unwrap();
    // An object (written by hand, as an attacker would) whose refs try to escape.
    let crafted = format!(
        r#"{{"refs":["../victim/{h}","{abs}","../../victim/{h}.json"]}}"#,
        h = hex128(b"victim"),
        abs = victim.display()
    );
    let crafted_hash = Hex128::of(crafted.as_bytes());
    fs::write(object_path(&dir, crafted_hash), &crafted).unwrap();
    snapshot(&cache, 0, crafted_hash);
    // A symlink with an object name pointing at the victim is unreferenced: prune
    // removes the link, never its target.
    #[cfg(unix)]
    std::os::unix::fs::symlink(&victim, object_path(&dir, hex128(b"link"))).unwrap();
    // Foreign files in manifests/ are not ours to delete.
    fs::write(dir.join("manifests/README.txt"), b"mine").unwrap();

    let report = prune_now(&cache, 1, false);
    assert!(victim.exists());
    assert_eq!(fs::read(&victim).unwrap(), b"{}");
    assert!(dir.join("manifests/README.txt").exists());
    assert!(object_path(&dir, crafted_hash).exists());
    #[cfg(unix)]
    {
        assert_eq!(
            report.removed_files,
            vec![object_path(&dir, hex128(b"link"))]
        );
        assert!(fs::symlink_metadata(object_path(&dir, hex128(b"link"))).is_err());
    }
}

#[test]
fn manifests_symlinked_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let cache = CacheDir::new(&dir);
    cache
        .record_master(meta("Write1", "r"), BTreeMap::new())
        .unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let victim = outside.join(format!("{}.json", hex128(b"v")));
    fs::write(&victim, b"{}").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, dir.join("manifests")).unwrap();
        let err = cache
            .prune_with(&PruneOptions {
                keep: 0,
                dry_run: false,
                grace: Duration::ZERO,
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Fs(_)), "{err}");
        assert!(victim.exists());
    }
}

#[test]
fn an_unreadable_kept_snapshot_stops_prune_before_it_deletes_anything() {
    let fx = fixture();
    let newest = &fx.snaps[2].0;
    let path = fx.dir.join(newest.to_string()).join("hash.json");
    fs::write(&path, b"{\"format\":").unwrap();
    let before = tree(&fx.dir);
    let err = fx
        .cache
        .prune_with(&PruneOptions {
            keep: 1,
            dry_run: false,
            grace: Duration::ZERO,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:1:10: EOF while parsing a value", path.display())
    );
    assert_eq!(tree(&fx.dir), before);
}

#[test]
fn a_reachable_object_that_is_not_json_stops_prune() {
    let fx = fixture();
    let path = object_path(&fx.dir, fx.master.0);
    fs::write(&path, b"not json").unwrap();
    let before = tree(&fx.dir);
    let err = fx
        .cache
        .prune_with(&PruneOptions {
            keep: 1,
            dry_run: false,
            grace: Duration::ZERO,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: invalid object: an object must be a JSON object",
            path.display()
        )
    );
    assert_eq!(tree(&fx.dir), before);
}

#[test]
fn snapshot_directories_with_foreign_files_are_left_in_place() {
    let fx = fixture();
    let oldest = fx.dir.join(fx.snaps[0].0.to_string());
    fs::write(oldest.join("notes.txt"), b"keep me").unwrap();
    let report = prune_now(&fx.cache, 2, false);
    assert_eq!(report.removed_snapshots, vec![fx.snaps[0].0.clone()]);
    assert_eq!(report.left_in_place, vec![oldest.clone()]);
    assert_eq!(fs::read(oldest.join("notes.txt")).unwrap(), b"keep me");
    assert!(!oldest.join("hash.json").exists());
    // Without its hash file it is no longer listed as a snapshot.
    assert_eq!(fx.cache.snapshots().unwrap().len(), 2);
}

#[test]
fn objects_reached_only_by_the_master_backup_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let (old_frame, old_node) = put_frame(&cache, "old");
    cache
        .record_master(meta("Write1", "r"), one_frame(old_frame))
        .unwrap();
    let (new_frame, _) = put_frame(&cache, "new");
    cache
        .record_master(meta("Write1", "r"), one_frame(new_frame))
        .unwrap();
    let report = prune_now(&cache, 0, false);
    assert!(report.removed_objects.is_empty());
    assert_eq!(report.kept_objects, 4);
    assert!(cache.get_object(old_node).unwrap().is_some());
}

#[test]
fn snapshot_directories_left_incomplete_by_a_crash_are_removed() {
    let fx = fixture();
    let crashed = fx.dir.join("20261122T234100.000Z");
    fs::create_dir(&crashed).unwrap();
    fs::write(crashed.join(".hash.json.77.0.tmp"), b"{\"form").unwrap();
    let empty = fx.dir.join("20261122T234101.000Z");
    fs::create_dir(&empty).unwrap();
    let foreign = fx.dir.join("20261122T234102.000Z");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("plate.exr"), b"not ours").unwrap();

    let dry = prune_now(&fx.cache, 3, true);
    assert_eq!(dry.removed_incomplete, vec![crashed.clone(), empty.clone()]);
    assert_eq!(
        dry.removed_files,
        vec![
            crashed.join(".hash.json.77.0.tmp"),
            object_path(&fx.dir, fx.orphan)
        ]
    );
    assert!(crashed.exists() && empty.exists());

    let report = prune_now(&fx.cache, 3, false);
    assert_eq!(
        report.removed_incomplete,
        vec![crashed.clone(), empty.clone()]
    );
    assert!(report.removed_snapshots.is_empty());
    assert!(!crashed.exists() && !empty.exists());
    assert_eq!(fs::read(foreign.join("plate.exr")).unwrap(), b"not ours");
}
