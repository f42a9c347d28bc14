//! The dataset cache through its library API: the racy rule, concurrent builds on one
//! cache, and index migration in place.

mod dataset_common;
use dataset_common::*;
use smartcache::dataset::fingerprint::RACY_WINDOW_NS;
use smartcache::dataset::{
    index, ArtifactState, BuildOptions, DatasetCache, FileState, Fingerprint, Quiet, StatusOptions,
    Transform,
};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

fn copy() -> Transform<'static> {
    Transform::each(|i, o, _| fs::copy(i, o).map(|_| ()).map_err(|e| e.to_string()))
}

fn fail() -> Transform<'static> {
    Transform::each(|_, _, _| Err("must not run".into()))
}

fn status_of(cache: &DatasetCache, fx: &Fx, rel: &str) -> (FileState, usize) {
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    let f = r.files.iter().find(|f| f.path.ends_with(rel)).unwrap();
    (f.state, r.counts.hashed)
}

/// Put the cache into the state "the file was rewritten in the same timestamp tick as its
/// entry was recorded, with the same size": the recorded fingerprint equals the file's
/// current one, the recorded hash is the old content's, and the record time is `at`.
fn forge_same_tick_record(cache: &DatasetCache, path: &Path, at: i64) {
    let mut loaded = index::load(cache.dir()).unwrap();
    let e = loaded
        .index
        .entries
        .get_mut(path.to_str().unwrap())
        .unwrap();
    e.fp = Fingerprint::of(path).unwrap();
    e.at = at;
    index::save(cache.dir(), &loaded.index).unwrap();
}

#[test]
fn racy_same_tick_same_size_rewrite_is_detected() {
    let fx = Fx::new();
    let p = fx.write("img.raw", "AAAA");
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &copy(), &Quiet)
        .unwrap();
    // Rewrite right away, same size. Whether or not the clock ticked in between, the
    // change must be seen.
    fs::write(&p, "BBBB").unwrap();
    assert_eq!(status_of(&cache, &fx, "img.raw").0, FileState::Changed);

    // Now the exact racy case, made deterministic: same fingerprint, recorded in the
    // tick of the write. Only the racy rule can catch it, and it does.
    let mtime = Fingerprint::of(&p).unwrap().mtime_ns;
    forge_same_tick_record(&cache, &p, mtime);
    fs::write(&p, "CCCC").unwrap();
    forge_same_tick_record(&cache, &p, mtime); // fingerprint equal to the file's again
    assert_eq!(status_of(&cache, &fx, "img.raw"), (FileState::Changed, 1));

    // Control: the same record made safely after the write is trusted on metadata alone
    // (no read), which is exactly why the racy rule is needed above.
    let ctime = Fingerprint::of(&p).unwrap().ctime_ns;
    forge_same_tick_record(&cache, &p, mtime.max(ctime) + RACY_WINDOW_NS + 1);
    assert_eq!(status_of(&cache, &fx, "img.raw"), (FileState::Unchanged, 0));
}

#[test]
fn touched_file_updates_fingerprint_only_and_rebuilds_nothing() {
    let fx = Fx::new();
    fx.write("a", "same");
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let opts = BuildOptions::new("v", "copy@1");
    let r = cache.build(&sources, &opts, &copy(), &Quiet).unwrap();
    assert_eq!((r.new, r.transformed), (1, 1));
    fx.touch("a", 50);
    let r = cache.build(&sources, &opts, &fail(), &Quiet).unwrap();
    assert_eq!((r.touched, r.transformed, r.failures.len()), (1, 0, 0));
    let e = &index::load(cache.dir()).unwrap().index.entries[&format!("{}/a", fx.src().display())];
    assert_eq!(e.fp, Fingerprint::of(&fx.src().join("a")).unwrap());
}

fn smartcache_bin() -> String {
    assert_cmd::cargo::cargo_bin("smartcache")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn concurrent_sharded_builds_lose_no_entry() {
    let fx = Fx::new();
    let n = 180;
    for i in 0..n {
        fx.write(
            &format!("d{}/f{i:03}", i % 7),
            &format!("file number {i}\n"),
        );
    }
    let cache_dir = fx.cache();
    // Three farm nodes, one shard each, checkpointing as often as possible so that their
    // read-merge-write cycles interleave; plus a fourth build of another variant over all
    // sources at the same time.
    let mut children = Vec::new();
    for k in 1..=3 {
        children.push(
            Command::new(smartcache_bin())
                .args(["dataset", "build"])
                .arg(fx.src())
                .arg("--cache")
                .arg(&cache_dir)
                .args([
                    "--variant",
                    "up",
                    "--exec",
                    UPPER,
                    "-j",
                    "1",
                    "--checkpoint",
                    "0.001",
                ])
                .arg("--shard")
                .arg(format!("{k}/3"))
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    children.push(
        Command::new(smartcache_bin())
            .args(["dataset", "build"])
            .arg(fx.src())
            .arg("--cache")
            .arg(&cache_dir)
            .args([
                "--variant",
                "copy",
                "--exec",
                "cp {in} {out}",
                "-j",
                "1",
                "--checkpoint",
                "0.001",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let cache = DatasetCache::open(&cache_dir).unwrap();
    let loaded = index::load(cache.dir()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.index.entries.len(), n);
    for (p, e) in &loaded.index.entries {
        assert_eq!(e.variants.len(), 2, "{p}: {:?}", e.variants);
    }
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!((r.counts.unchanged, r.counts.missing_artifacts), (n, 0));
    assert!(r
        .files
        .iter()
        .all(|f| f.artifacts.values().all(|a| *a == ArtifactState::Present)));
    let v = cache.verify().unwrap();
    assert_eq!(
        (v.entries, v.artifacts_checked, v.problems.len()),
        (n, 2 * n, 0)
    );
}

#[test]
fn version_1_index_is_migrated_in_place_on_the_next_write() {
    let fx = Fx::new();
    let p = fx.write("a.txt", "hello\n");
    let hash = smartcache::hash::hex128(b"hello\n");
    fs::create_dir_all(fx.cache().join("objects/legacy")).unwrap();
    fs::write(fx.cache().join("objects/legacy/a"), "HELLO\n").unwrap();
    let fixture = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dataset/index-v1.json"),
    )
    .unwrap()
    .replace("@SRC@", fx.src().to_str().unwrap())
    .replace("@HASH@", &hash);
    fs::write(fx.cache().join("index.json"), fixture).unwrap();

    let cache = DatasetCache::open(&fx.cache()).unwrap();
    assert_eq!(
        cache.get(&p, "up").unwrap(),
        fx.cache().join("objects/legacy/a")
    );
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].ends_with(
            "index format version 1, migrated in memory; the next build writes it as version 3"
        ),
        "{:?}",
        r.warnings
    );
    // Version 1 trusted mtime alone: the first validation reads the file once.
    assert_eq!((r.files[0].state, r.counts.hashed), (FileState::Touched, 1));
    // status wrote nothing; a build migrates the index in place (the base of version 3
    // written, the old file kept aside).
    assert_eq!(version_of(&fx.cache().join("index.json")), 1);
    assert!(!index::index_dir(cache.dir()).exists());
    let r = cache
        .build(
            &sources,
            &BuildOptions::new("up", "upper@1"),
            &fail(),
            &Quiet,
        )
        .unwrap();
    assert_eq!((r.touched, r.transformed, r.failures.len()), (1, 0, 0));
    let on_disk = index::load(cache.dir()).unwrap();
    assert_eq!((on_disk.index.version, on_disk.migrated_from), (3, None));
    assert!(on_disk.warnings.is_empty(), "{:?}", on_disk.warnings);
    assert!(!fx.cache().join("index.json").exists());
    assert_eq!(version_of(&fx.cache().join("index.json.migrated")), 1);
    let names: Vec<String> = fs::read_dir(index::index_dir(cache.dir()))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["base-0000000000000001.scb"]);
    // The migrated entry serves as before, now from the new index.
    assert_eq!(
        DatasetCache::at(&fx.cache())
            .unwrap()
            .get(&p, "up")
            .unwrap(),
        fx.cache().join("objects/legacy/a")
    );
}

fn version_of(p: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
    v["version"].as_u64().unwrap()
}

#[test]
fn source_modified_during_its_transform_is_not_recorded_under_the_old_hash() {
    let fx = Fx::new();
    let p = fx.write("a", "before");
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let sneaky = Transform::each(|i, o, _| {
        fs::copy(i, o).map_err(|e| e.to_string())?;
        fs::write(i, "after, and longer").map_err(|e| e.to_string())
    });
    let r = cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &sneaky, &Quiet)
        .unwrap();
    assert_eq!(r.transformed, 0);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(
        r.failures[0].error,
        "the source changed while it was being built; build again"
    );
    let r = cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &copy(), &Quiet)
        .unwrap();
    assert_eq!((r.changed, r.transformed, r.failures.len()), (1, 1, 0));
    assert_eq!(
        fs::read_to_string(cache.get(&p, "v").unwrap()).unwrap(),
        "after, and longer"
    );
}

#[test]
fn status_on_a_missing_cache_creates_nothing() {
    let fx = Fx::new();
    fx.write("a", "x");
    let cache = DatasetCache::at(&fx.root.join("no-cache")).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!((r.counts.new, r.counts.hashed), (1, 1));
    assert!(!fx.root.join("no-cache").exists());
}

#[test]
fn changes_only_lists_files_needing_attention_with_the_same_counts() {
    let fx = Fx::new();
    fx.write("a", "same");
    fx.write("b", "bee");
    fx.write("c", "see");
    fx.write("e", "same");
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &copy(), &Quiet)
        .unwrap();
    fs::write(fx.src().join("c"), "sea").unwrap();
    fs::write(fx.src().join("d"), "dee").unwrap();
    fs::remove_file(fx.src().join("b")).unwrap();

    let status = |changes_only: bool| {
        let sources = cache.sources(&[fx.src()], None).unwrap();
        let opts = StatusOptions {
            changes_only,
            ..Default::default()
        };
        cache.status(&sources, &opts).unwrap()
    };
    let full = status(false);
    let short = status(true);
    assert_eq!(short.counts, full.counts);
    assert_eq!(
        (full.counts.unchanged, full.counts.deduplicated),
        (2, 2),
        "a and e"
    );
    let names = |r: &smartcache::dataset::StatusReport| -> Vec<(String, FileState)> {
        r.files
            .iter()
            .map(|f| (f.path.rsplit('/').next().unwrap().to_string(), f.state))
            .collect()
    };
    let row = |n: &str, s| (n.to_string(), s);
    assert_eq!(
        names(&full),
        vec![
            row("a", FileState::Unchanged),
            row("b", FileState::Removed),
            row("c", FileState::Changed),
            row("d", FileState::New),
            row("e", FileState::Unchanged),
        ]
    );
    assert_eq!(
        names(&short),
        vec![
            row("b", FileState::Removed),
            row("c", FileState::Changed),
            row("d", FileState::New),
        ]
    );
    // The rows it does list are the full report's rows.
    for f in &short.files {
        let g = full.files.iter().find(|g| g.path == f.path).unwrap();
        assert_eq!(
            serde_json::to_value(f).unwrap(),
            serde_json::to_value(g).unwrap()
        );
    }
}

#[test]
fn artifact_deleted_behind_the_caches_back_is_missing_even_where_the_table_vouches() {
    let fx = Fx::new();
    for i in 0..40 {
        fx.write(&format!("f{i}.txt"), &format!("content {i}\n"));
    }
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &copy(), &Quiet)
        .unwrap();
    // Save again a little later, so that the table is written after the filesystem's
    // clock has moved past the last artifact: its record of the objects directories
    // then spares status listing them.
    std::thread::sleep(std::time::Duration::from_millis(50));
    {
        let loaded = index::load(cache.dir()).unwrap();
        index::save(cache.dir(), &loaded.index).unwrap();
    }
    let opts = StatusOptions {
        variant: Some("v".into()),
        ..Default::default()
    };
    let status = || {
        let sources = cache.sources(&[fx.src()], None).unwrap();
        cache.status(&sources, &opts).unwrap()
    };
    let r = status();
    assert_eq!((r.counts.unchanged, r.counts.missing_artifacts), (40, 0));
    let victim = cache.get(&fx.src().join("f7.txt"), "v").unwrap();
    fs::remove_file(&victim).unwrap();
    let r = status();
    assert_eq!(r.counts.missing_artifacts, 1);
    let f = r
        .files
        .iter()
        .find(|f| f.path.ends_with("/f7.txt"))
        .unwrap();
    assert_eq!(f.artifacts["v"], ArtifactState::Missing);
}

/// Three builds of the same sources started at once (no shards): each content is
/// transformed once, by whichever build claimed it; the others wait for its artifact.
#[test]
fn concurrent_unsharded_builds_transform_each_content_once() {
    let fx = Fx::new();
    let n = 45;
    for i in 0..n {
        fx.write(&format!("f{i:02}"), &format!("content {i}\n"));
    }
    let log = fx.root.join("runs.log");
    let exec = format!(
        "echo {{in}} >> {}; sleep 0.02; cp {{in}} {{out}}",
        log.display()
    );
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(smartcache_bin())
                .args(["dataset", "build"])
                .arg(fx.src())
                .arg("--cache")
                .arg(fx.cache())
                .args([
                    "--variant",
                    "v",
                    "--exec",
                    &exec,
                    "-j",
                    "2",
                    "--checkpoint",
                    "0.05",
                ])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut waited = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(line) = text
            .lines()
            .find(|l| l.ends_with("built by another build running at the same time"))
        {
            waited += line.split(' ').next().unwrap().parse::<usize>().unwrap();
        }
    }
    let runs = fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(runs, n, "every content transformed exactly once");
    assert!(waited > 0, "the builds shared the work");
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let v = cache.verify().unwrap();
    assert_eq!((v.entries, v.problems.len()), (n, 0));
    // No claim is left behind.
    let claims = fs::read_dir(fx.cache().join("objects"))
        .unwrap()
        .flat_map(|d| fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".claim")
        })
        .count();
    assert_eq!(claims, 0);
}

/// A handle reads the index once: later lookups are answered from what it holds (even if
/// the index moves away), until it is refreshed. In-process transforms: per item and in
/// batches.
#[test]
fn a_handle_answers_lookups_without_rereading_and_batches_feed_a_loaded_model() {
    let fx = Fx::new();
    for i in 0..10 {
        fx.write(&format!("f{i}"), &format!("content {i}\n"));
    }
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let calls = std::sync::Mutex::new(Vec::new());
    let model = Transform::batch(4, |items: &[smartcache::dataset::Item]| {
        calls.lock().unwrap().push(items.len());
        items
            .iter()
            .map(|it| fs::write(it.output, b"latent").map_err(|e| e.to_string()))
            .collect()
    });
    let opts = BuildOptions {
        jobs: 1,
        ..BuildOptions::new("latent", "model@1")
    };
    let r = cache.build(&sources, &opts, &model, &Quiet).unwrap();
    assert_eq!((r.transformed, r.failures.len()), (10, 0));
    assert_eq!(*calls.lock().unwrap(), [4, 4, 2]);

    let reader = DatasetCache::at(&fx.cache()).unwrap();
    let first = reader.get(&fx.src().join("f3"), "latent").unwrap();
    assert_eq!(fs::read(&first).unwrap(), b"latent");
    fs::rename(fx.cache().join("index"), fx.root.join("index.moved")).unwrap();
    for i in 0..10 {
        assert!(
            reader
                .get(&fx.src().join(format!("f{i}")), "latent")
                .is_ok(),
            "f{i}"
        );
    }
    let many = reader.get_many(
        &[fx.src().join("f1"), fx.src().join("nope")],
        "latent",
        &Default::default(),
    );
    assert!(many[0].is_ok() && many[1].is_err());
    reader.refresh();
    assert!(
        reader.get(&fx.src().join("f3"), "latent").is_err(),
        "refreshed: the index is gone"
    );
}

/// `status` on an index read in place from a base (the path the 100,000-file benchmark
/// takes: entries' fingerprints, hashes and paths read field by field, directory
/// children ordered by a 16-byte key, duplicates found by bucket): every kind of change
/// is still seen. Names are longer than the sort key and share it.
#[test]
fn status_through_the_base_sees_every_change() {
    let fx = Fx::new();
    let names = [
        "seq/render_layer_beauty.0001.exr",
        "seq/render_layer_beauty.0002.exr",
        "seq/render_layer_beauty.0001.exr-x",
        "seq/render_layer_beauty.000",
        "seq.d/render_layer_beauty.0001.exr",
        "seq0",
        "copy_one_of_many_files.a",
        "copy_one_of_many_files.b",
    ];
    for (i, n) in names.iter().enumerate() {
        let content = if n.starts_with("copy_") {
            "same content".to_string()
        } else {
            format!("content {i:04}")
        };
        fx.write(n, &content);
    }
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    cache
        .build(&sources, &BuildOptions::new("v", "copy@1"), &copy(), &Quiet)
        .unwrap();
    // Re-stamped once the racy window has passed (trusted on metadata from now on), and
    // read back from a base.
    wait_out_racy_window();
    let update = StatusOptions {
        update: true,
        ..Default::default()
    };
    let sources = cache.sources(&[fx.src()], None).unwrap();
    assert_eq!(cache.status(&sources, &update).unwrap().updated, 8);
    let loaded = index::load(cache.dir()).unwrap();
    index::save(cache.dir(), &loaded.index).unwrap();
    let status = || {
        let sources = cache.sources(&[fx.src()], None).unwrap();
        let opts = StatusOptions {
            variant: Some("v".into()),
            ..Default::default()
        };
        cache.status(&sources, &opts).unwrap()
    };
    let r = status();
    assert_eq!(
        (r.counts.unchanged, r.counts.hashed, r.counts.deduplicated),
        (8, 0, 2)
    );
    let paths: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "path byte order");

    let src = fx.src();
    let p1 = src.join("seq/render_layer_beauty.0001.exr");
    // Same size, and the record forged to the file's new fingerprint inside the racy
    // window: only the racy rule can see it.
    let mtime = Fingerprint::of(&p1).unwrap().mtime_ns;
    fs::write(&p1, "content 9999").unwrap();
    forge_same_tick_record(&cache, &p1, mtime);
    // Replaced by a rename, same size.
    let tmp = fx.root.join("elsewhere");
    fs::write(&tmp, "content 8888").unwrap();
    fs::rename(&tmp, src.join("seq/render_layer_beauty.0002.exr")).unwrap();
    // Added next to existing files, removed, and made a duplicate of another.
    fx.write("seq/render_layer_beauty.0003.exr", "content new!");
    fs::remove_file(src.join("seq0")).unwrap();
    fs::write(
        src.join("seq.d/render_layer_beauty.0001.exr"),
        "same content",
    )
    .unwrap();
    let r = status();
    let state = |rel: &str| {
        r.files
            .iter()
            .find(|f| f.path == src.join(rel).to_str().unwrap())
            .map(|f| f.state)
    };
    assert_eq!(
        state("seq/render_layer_beauty.0001.exr"),
        Some(FileState::Changed)
    );
    assert_eq!(
        state("seq/render_layer_beauty.0002.exr"),
        Some(FileState::Changed)
    );
    assert_eq!(
        state("seq/render_layer_beauty.0003.exr"),
        Some(FileState::New)
    );
    assert_eq!(state("seq0"), Some(FileState::Removed));
    assert_eq!(
        state("seq.d/render_layer_beauty.0001.exr"),
        Some(FileState::Changed)
    );
    assert_eq!(
        state("seq/render_layer_beauty.0001.exr-x"),
        Some(FileState::Unchanged)
    );
    assert_eq!(
        (
            r.counts.changed,
            r.counts.new,
            r.counts.removed,
            r.counts.unchanged,
            r.counts.deduplicated
        ),
        (3, 1, 1, 4, 3)
    );
}
