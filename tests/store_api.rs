//! The store's public API: hash files, master records, snapshots and objects.

mod store_common;

use chrono::{TimeZone, Utc};
use smartcache::hash::{hex128, Hex128};
use smartcache::store::{
    CacheDir, FrameEntry, HashFile, RenderBase, RenderRecord, SnapshotId, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use store_common::{frame_hash, frames, meta, tree};

#[test]
fn nothing_is_created_until_a_write() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path().join("cache"));
    assert_eq!(cache.master().unwrap(), None);
    assert_eq!(cache.snapshots().unwrap(), Vec::<SnapshotId>::new());
    assert!(cache.latest_snapshot().unwrap().is_none());
    assert_eq!(cache.get_object(Hex128::of(b"x")).unwrap(), None);
    let report = cache.prune(0, false).unwrap();
    assert!(report.removed_files.is_empty());
    assert!(!tmp.path().join("cache").exists());
}

#[test]
fn hash_json_format() {
    let mut frames = frames("a", 1001..=1002);
    frames.insert(
        -3,
        FrameEntry {
            hash: frame_hash("a", -3),
            setup: None,
            manifest: None,
            render: Some(RenderRecord {
                path: "/renders/sh010.-003.exr".into(),
                base: None,
                size: 1234,
                mtime_ns: 1_763_852_100_123_456_789,
                hash: Hex128::of(b"pixels"),
            }),
        },
    );
    let created = Utc.with_ymd_and_hms(2026, 11, 22, 23, 15, 0).unwrap();
    let file = HashFile::new_at(created, meta("Write1", "rules-fp"), frames);
    let text = String::from_utf8(file.to_json().unwrap()).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn master_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let mut frames = frames("a", 1..=3);
    frames.get_mut(&2).unwrap().render = Some(RenderRecord {
        path: "../r.0002.exr".into(),
        base: Some(RenderBase::CacheDir),
        size: 7,
        mtime_ns: -5,
        hash: Hex128::of(b"r2"),
    });
    let written = cache
        .record_master(meta("Write1", "r1"), frames.clone())
        .unwrap();
    assert_eq!(written.recovery, None);
    let written = written.file;
    assert_eq!(written.frames, frames);
    let read = cache.master().unwrap().unwrap();
    assert_eq!(read, written);
    assert!(tmp.path().join("master/hash.json").is_file());
    // The first record has nothing to back up.
    assert!(!tmp.path().join("master/hash.json.bak").exists());
}

#[test]
fn record_merges_frames_and_keeps_the_previous_master() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let first = cache
        .record_master(meta("Write1", "r1"), frames("a", 1..=4))
        .unwrap()
        .file;
    let second = cache
        .record_master(meta("Write2", "r2"), frames("b", 3..=6))
        .unwrap()
        .file;

    let mut expected = frames("a", 1..=2);
    expected.extend(frames("b", 3..=6));
    assert_eq!(second.frames, expected);
    // The meta is the newest one given.
    assert_eq!(second.meta, meta("Write2", "r2"));
    assert_eq!(cache.master().unwrap().unwrap(), second);
    assert_eq!(cache.master_backup().unwrap().unwrap(), first);
}

#[test]
fn corrupt_master_without_a_backup_is_an_error_naming_it_and_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    cache
        .record_master(meta("Write1", "r"), frames("a", 1..=2))
        .unwrap();
    let master = tmp.path().join("master/hash.json");
    let corrupt =
        b"{\n  \"format\": \"smartcache-hash\",\n  \"version\": 1,\n  \"frames\": {\"1\": "
            .to_vec();
    fs::write(&master, &corrupt).unwrap();
    let before = tree(tmp.path());

    let expected = format!("{}:4:18: EOF while parsing a value", master.display());
    let err = cache.master().unwrap_err();
    assert_eq!(err.to_string(), expected);
    assert_eq!(cache.load_master().unwrap_err().to_string(), expected);
    let err = cache
        .record_master(meta("Write1", "r"), frames("a", 9..=9))
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Json {
            line: 4,
            column: 18,
            ..
        }
    ));
    assert_eq!(err.to_string(), expected);
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn corrupt_master_with_a_backup_is_recovered_and_kept_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    cache
        .record_master(meta("Write1", "r"), frames("a", 1..=2))
        .unwrap();
    cache
        .record_master(meta("Write1", "r"), frames("a", 3..=3))
        .unwrap();
    let master = tmp.path().join("master/hash.json");
    let backup = tmp.path().join("master/hash.json.bak");
    let damage = format!("{}:1:2: expected ident", master.display());

    // Reading uses the backup and says so; nothing changes on disk.
    for corrupt in [&b"not json"[..], b"{\"format\":\"other\",\"version\":1}"] {
        fs::write(&master, corrupt).unwrap();
        let before = tree(tmp.path());
        let loaded = cache.load_master().unwrap().unwrap();
        assert_eq!(loaded.file.frames, frames("a", 1..=2));
        let recovery = loaded.recovery.unwrap();
        assert_eq!(recovery.backup, backup);
        assert_eq!(recovery.kept_as, None);
        assert_eq!(tree(tmp.path()), before);
    }
    fs::write(&master, b"not json").unwrap();
    let recovery = cache.load_master().unwrap().unwrap().recovery.unwrap();
    assert_eq!(
        recovery.to_string(),
        format!(
            "{damage}; using {}, the master before the last record",
            backup.display()
        )
    );

    // A record restores the backup, adds its frames, and keeps the damaged file aside;
    // the backup stays what it was. A second damage is kept under the next free name.
    let backup_bytes = fs::read(&backup).unwrap();
    for (n, aside) in ["hash.json.before-restore", "hash.json.before-restore-2"]
        .iter()
        .enumerate()
    {
        let written = cache
            .record_master(meta("Write1", "r"), frames("b", 9..=9))
            .unwrap();
        let mut expected = frames("a", 1..=2);
        expected.extend(frames("b", 9..=9));
        assert_eq!(written.file.frames, expected, "{n}");
        let aside = tmp.path().join("master").join(aside);
        assert_eq!(
            written.recovery.unwrap().kept_as.as_deref(),
            Some(aside.as_path())
        );
        assert_eq!(fs::read(&aside).unwrap(), b"not json");
        assert_eq!(fs::read(&backup).unwrap(), backup_bytes);
        assert_eq!(cache.master().unwrap().unwrap(), written.file);
        fs::write(&master, b"not json").unwrap();
    }

    // Explicit recovery from the backup keeps the damaged file aside too.
    let restored = cache.restore_master_from_backup().unwrap();
    assert_eq!(restored.frames, frames("a", 1..=2));
    assert_eq!(cache.master().unwrap().unwrap(), restored);
    assert_eq!(
        fs::read(tmp.path().join("master/hash.json.before-restore-3")).unwrap(),
        b"not json"
    );
}

#[test]
fn a_master_larger_than_any_the_store_writes_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    cache
        .record_master(meta("Write1", "r"), frames("a", 1..=2))
        .unwrap();
    let master = tmp.path().join("master/hash.json");
    // Sparse: 2 GB on paper, nothing on disk, and nothing is read.
    fs::File::options()
        .write(true)
        .open(&master)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let err = cache.master().unwrap_err();
    assert!(err.is_damage());
    assert_eq!(
        err.to_string(),
        format!(
            "{}: 2147483648 bytes is more than the {} this file may have; refusing to read it",
            master.display(),
            smartcache::store::MAX_FILE_LEN
        )
    );
}

#[test]
fn odd_directories_cannot_block_snapshot_naming() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let t = Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0).unwrap();
    let file = HashFile::new_at(t, meta("Write1", "r"), frames("a", 1..=1));
    // A complete snapshot with the last suffix of a millisecond: the next id is the
    // next millisecond.
    let odd = tmp.path().join("29991231T235959.999Z-4294967295");
    fs::create_dir(&odd).unwrap();
    fs::write(odd.join("hash.json"), file.to_json().unwrap()).unwrap();
    let id = cache.write_snapshot_at(&file, t).unwrap();
    assert_eq!(id.to_string(), "30000101T000000.000Z");
    // Names already taken by anything (an empty directory, a file, a symlink) are
    // skipped.
    fs::create_dir(tmp.path().join("30000101T000000.000Z-1")).unwrap();
    fs::write(tmp.path().join("30000101T000000.000Z-2"), b"").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/tmp", tmp.path().join("30000101T000000.000Z-3")).unwrap();
    let id = cache.write_snapshot_at(&file, t).unwrap();
    assert_eq!(id.to_string(), "30000101T000000.000Z-4");
    // After the last representable id, a check takes the id of its time.
    let end = tmp.path().join("99991231T235959.999Z-4294967295");
    fs::create_dir(&end).unwrap();
    fs::write(end.join("hash.json"), file.to_json().unwrap()).unwrap();
    fs::create_dir(tmp.path().join("20261122T233000.000Z")).unwrap();
    let id = cache.write_snapshot_at(&file, t).unwrap();
    assert_eq!(id.to_string(), "20261122T233000.000Z-1");
    assert_eq!(cache.snapshot(&id).unwrap(), file);
}

#[test]
fn check_layout_refuses_each_fixed_path_leading_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir(&outside).unwrap();
    let cache = CacheDir::new(&dir);
    cache.check_layout().unwrap();
    #[cfg(unix)]
    for name in [".lock", "master", "manifests", "sources.json"] {
        let link = dir.join(name);
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let err = cache.check_layout().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: refusing to follow a symlink that leads outside the cache directory {}",
                link.display(),
                dir.display()
            )
        );
        fs::remove_file(&link).unwrap();
        // A symlink that stays inside is fine.
        fs::create_dir(dir.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink("elsewhere", &link).unwrap();
        cache.check_layout().unwrap();
        fs::remove_file(&link).unwrap();
        fs::remove_dir(dir.join("elsewhere")).unwrap();
    }
    assert_eq!(
        CacheDir::new(tmp.path().join("typo"))
            .require_exists()
            .unwrap_err()
            .to_string(),
        format!(
            "no cache at {}: the directory does not exist",
            tmp.path().join("typo").display()
        )
    );
}

#[test]
fn master_of_a_future_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    fs::create_dir(tmp.path().join("master")).unwrap();
    let path = tmp.path().join("master/hash.json");
    fs::write(
        &path,
        r#"{"format":"smartcache-hash","version":7,"frames":{"1":{"shape":[1]}}}"#,
    )
    .unwrap();
    let err = cache.master().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: hash file version 7 is not supported (this build reads version 1)",
            path.display()
        )
    );
}

#[test]
fn frame_hashes_that_are_not_object_names_cannot_be_made() {
    // A FrameEntry holds a Hex128, which only parses from 32 lowercase hex characters:
    // a crafted name cannot reach a hash file, let alone a path.
    let err = Hex128::parse("../../etc/passwd").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"../../etc/passwd\" is not 32 lowercase hex characters"
    );
}

#[test]
fn snapshots_round_trip_sort_and_ignore_foreign_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 23, 0, 0).unwrap();
    let f1 = HashFile::new_at(t0, meta("Write1", "r"), frames("a", 1..=2));
    let f2 = HashFile::new_at(t0, meta("Write1", "r"), frames("b", 1..=2));
    let later = t0 + chrono::Duration::milliseconds(5);
    let id2 = cache.write_snapshot_at(&f2, later).unwrap();
    let id1 = cache
        .write_snapshot_at(&f1, t0 + chrono::Duration::seconds(3))
        .unwrap();
    assert_eq!(id2.to_string(), "20261122T230000.005Z");
    assert_eq!(id1.to_string(), "20261122T230003.000Z");

    // Foreign and incomplete entries are not snapshots.
    fs::create_dir(tmp.path().join("notes")).unwrap();
    fs::create_dir(tmp.path().join("20261122T230009.000Z")).unwrap(); // no hash.json
    fs::write(tmp.path().join("20261122T230010.000Z"), b"a file").unwrap();
    fs::write(tmp.path().join(".20261122T230011.000Z.1.0.tmp"), b"").unwrap();

    assert_eq!(cache.snapshots().unwrap(), vec![id2.clone(), id1.clone()]);
    assert_eq!(cache.snapshot(&id2).unwrap(), f2);
    let (latest, file) = cache.latest_snapshot().unwrap().unwrap();
    assert_eq!((latest, file), (id1, f1));
    assert_eq!(cache.snapshot_id("20261122T230000.005Z").unwrap(), id2);
    assert!(matches!(
        cache.snapshot_id("../master"),
        Err(StoreError::InvalidSnapshotId { .. })
    ));
    let missing = cache.snapshot_id("20200101T000000.000Z").unwrap();
    assert!(matches!(
        cache.snapshot(&missing),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn snapshot_ids_never_collide_and_sort_in_write_order() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let t = Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0).unwrap();
    // Eight writers, twelve checks each, all at the same millisecond.
    let ids: Vec<Vec<SnapshotId>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let cache = &cache;
                s.spawn(move || {
                    (0..12)
                        .map(|i| {
                            let f = HashFile::new_at(
                                t,
                                meta("Write1", "r"),
                                frames(&format!("{w}/{i}"), 1..=1),
                            );
                            cache.write_snapshot_at(&f, t).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: BTreeSet<_> = ids.iter().flatten().cloned().collect();
    assert_eq!(all.len(), 96);
    // Each writer's own checks sort in the order it made them.
    for own in &ids {
        assert!(own.windows(2).all(|w| w[0] < w[1]));
    }
    let listed = cache.snapshots().unwrap();
    assert_eq!(listed, all.iter().cloned().collect::<Vec<_>>());
    assert_eq!(listed[0].to_string(), "20261122T233000.000Z");
    assert_eq!(listed[95].to_string(), "20261122T233000.000Z-95");

    // A clock that steps back still yields an id after the latest.
    let earlier = t - chrono::Duration::hours(1);
    let f = HashFile::new_at(earlier, meta("Write1", "r"), frames("x", 1..=1));
    let id = cache.write_snapshot_at(&f, earlier).unwrap();
    assert_eq!(id.to_string(), "20261122T233000.000Z-96");
}

#[test]
fn objects_are_content_addressed_and_deduplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let node = br#"{"class":"Blur","knobs":{"size":"3"}}"#;
    let node_hash = cache.put_object(node).unwrap();
    assert_eq!(node_hash.to_string(), hex128(node));
    let frame_a = format!(r#"{{"frame":1,"refs":["{node_hash}"]}}"#);
    let frame_b = format!(r#"{{"frame":2,"refs":["{node_hash}"]}}"#);
    for _ in 0..3 {
        cache.put_object(frame_a.as_bytes()).unwrap();
        cache.put_object(frame_b.as_bytes()).unwrap();
        assert_eq!(cache.put_object(node).unwrap(), node_hash);
    }
    let mut names: Vec<_> = fs::read_dir(tmp.path().join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![
        format!("{node_hash}.json"),
        format!("{}.json", hex128(frame_a.as_bytes())),
        format!("{}.json", hex128(frame_b.as_bytes())),
    ];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(cache.get_object(node_hash).unwrap().unwrap(), node);
    assert_eq!(cache.get_object(Hex128::of(b"absent")).unwrap(), None);
}

#[test]
fn invalid_objects_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    for (bytes, message) in [
        (&b"[1,2]"[..], "an object must be a JSON object"),
        (
            &br#"{"refs":["../../x"]}"#[..],
            "refs entry \"../../x\" is not an object name",
        ),
        (
            &br#"{"refs":[1]}"#[..],
            "invalid type: integer `1`, expected a string at line 1 column 10",
        ),
    ] {
        let err = cache.put_object(bytes).unwrap_err();
        let path = tmp.path().join(format!("manifests/{}.json", hex128(bytes)));
        assert_eq!(
            err.to_string(),
            format!("{}: invalid object: {message}", path.display())
        );
    }
    assert!(!tmp.path().join("manifests").exists());
}

#[test]
fn a_damaged_object_is_reported_and_rewritten_by_put() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let bytes = br#"{"k":"v"}"#;
    let hash = cache.put_object(bytes).unwrap();
    let path = tmp.path().join(format!("manifests/{hash}.json"));
    fs::write(&path, br#"{"k":"w"}"#).unwrap(); // same size, other content
    let err = cache.get_object(hash).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: object content hashes to {}, not to its name",
            path.display(),
            hex128(br#"{"k":"w"}"#)
        )
    );
    fs::write(&path, br#"{}"#).unwrap(); // truncated: put repairs it
    cache.put_object(bytes).unwrap();
    assert_eq!(cache.get_object(hash).unwrap().unwrap(), bytes);
}

#[test]
fn crafted_object_names_cannot_read_outside_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("cache");
    let cache = CacheDir::new(&cache_dir);
    cache.put_object(b"{}").unwrap();
    let secret = tmp.path().join("secret.json");
    fs::write(&secret, b"{}").unwrap();
    let abs = secret.display().to_string();
    for name in [
        "../secret",
        "../../secret",
        abs.as_str(),
        "",
        "ABCDEF0123456789ABCDEF0123456789",
    ] {
        // Object names are Hex128s: such a name cannot even be formed.
        let err = Hex128::parse(name).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{name:?} is not 32 lowercase hex characters")
        );
    }
    // A valid-looking name that is a symlink leading out is refused.
    #[cfg(unix)]
    {
        let name = Hex128::of(b"{}");
        let link_target = Hex128::of(b"elsewhere");
        let link = cache_dir.join(format!("manifests/{link_target}.json"));
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = cache.get_object(link_target).unwrap_err();
        assert!(matches!(err, StoreError::Fs(_)), "{err}");
        assert_eq!(cache.get_object(name).unwrap().unwrap(), b"{}");
    }

    // A crafted hash.json with such names does not load at all: the hash is refused as
    // the file is parsed, with its line and column.
    fs::create_dir_all(cache_dir.join("master")).unwrap();
    let script_hash = Hex128::of(b"a.nk");
    let crafted = format!(
        r#"{{"format":"smartcache-hash","version":1,"created":"2026-11-22T23:00:00.000Z",
"script":{{"path":"a.nk","hash":"{script_hash}"}},"node":"Write1","rules":"r",
"frames":{{"1":{{"hash":{abs:?}}}}}}}"#
    );
    fs::write(cache_dir.join("master/hash.json"), crafted).unwrap();
    let err = cache.master().unwrap_err();
    let col = r#""frames":{"1":{"hash":"#.len() + abs.len() + 2;
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:{col}: {abs:?} is not 32 lowercase hex characters",
            cache_dir.join("master/hash.json").display()
        )
    );
    assert!(secret.exists());
}

#[test]
fn frames_sort_numerically_in_memory_and_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let mut f: BTreeMap<i64, FrameEntry> = BTreeMap::new();
    for n in [100, -1, 9, 10, 0] {
        f.insert(n, FrameEntry::new(frame_hash("a", n)));
    }
    cache.record_master(meta("Write1", "r"), f).unwrap();
    let text = fs::read_to_string(tmp.path().join("master/hash.json")).unwrap();
    let order: Vec<usize> = ["\"-1\"", "\"0\"", "\"9\"", "\"10\"", "\"100\""]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    let keys: Vec<i64> = cache
        .master()
        .unwrap()
        .unwrap()
        .frames
        .into_keys()
        .collect();
    assert_eq!(keys, [-1, 0, 9, 10, 100]);
}

#[test]
fn put_objects_stores_a_batch_like_put_object_does() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let already = br#"{"n":"already"}"#.to_vec();
    cache.put_object(&already).unwrap();
    let batch: Vec<Vec<u8>> = (0..40)
        .map(|i| format!(r#"{{"n":{}}}"#, i % 25).into_bytes())
        .chain([already.clone()])
        .collect();
    let names = cache.put_objects(&batch).unwrap();
    let expected: Vec<Hex128> = batch.iter().map(|b| Hex128::of(b)).collect();
    assert_eq!(names, expected);
    for (name, bytes) in names.iter().zip(&batch) {
        assert_eq!(&cache.get_object(*name).unwrap().unwrap(), bytes);
    }
    let mut stored: Vec<String> = fs::read_dir(tmp.path().join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    stored.sort();
    let mut unique: Vec<String> = expected.iter().map(|h| format!("{h}.json")).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 26);
    assert_eq!(stored, unique); // no temp files, no duplicates
}

#[test]
fn put_objects_writes_nothing_when_one_object_is_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    let batch: [&[u8]; 3] = [br#"{"a":1}"#, br#"{"refs":["/etc/passwd"]}"#, br#"{"b":2}"#];
    let err = cache.put_objects(&batch).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: invalid object: refs entry \"/etc/passwd\" is not an object name",
            tmp.path()
                .join(format!("manifests/{}.json", hex128(batch[1])))
                .display()
        )
    );
    assert!(!tmp.path().join("manifests").exists());
    assert_eq!(
        cache.put_objects::<&[u8]>(&[]).unwrap(),
        Vec::<Hex128>::new()
    );
}
