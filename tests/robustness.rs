//! Issue #10: a cache directory that cannot be turned against its user.
//!
//! Each test crafts or damages a cache directory (or a rule file, or a JSON graph) the
//! way a robustness run did, runs the command a user would, and checks the exact output
//! and, after a refusal, that nothing on disk changed, inside or outside the cache. No
//! hang, no panic, nothing touched outside the cache directory. The commands run with a
//! generous time limit only so that a regression fails instead of hanging the suite.
#![cfg(unix)] // symlinks, /dev/zero

mod common;
mod store_common;

use common::*;
use smartcache::hash::hex128;
use smartcache::store::batch_object::{Batch, BatchFrame};
use smartcache::store::{CacheDir, FrameEntry, HashFile, PruneOptions};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use store_common::tree;

/// Longest any command here may run before it counts as a hang.
const HANG: Duration = Duration::from_secs(120);

/// A temporary directory holding `shot/` (a copy of fixtures/render, where commands
/// run) and `outside/` (a directory beside the cache that must never be touched).
struct Shot {
    tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Shot {
    fn new() -> Shot {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("shot");
        copy_tree(&fixtures().join("render"), &root);
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        Shot { tmp, root, outside }
    }

    /// A shot with frames 1001-1003 of Write1 recorded into `cache/`.
    fn recorded() -> Shot {
        let s = Shot::new();
        s.ok(&[&REC[..], &["--frames", "1001-1003"]].concat());
        s
    }

    fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    fn cache(&self) -> CacheDir {
        CacheDir::new(self.cache_dir())
    }

    /// Run smartcache in the shot directory: (exit status, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = smartcache()
            .current_dir(&self.root)
            .args(args)
            .timeout(HANG)
            .output()
            .unwrap();
        (
            out.status.code().expect("exited, not killed"),
            redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Run a command that must succeed without a warning.
    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}: {out}");
        out
    }

    /// Everything under the temporary directory: the shot, its cache, and `outside/`.
    fn disk(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        tree(self.tmp.path())
    }

    /// Change the recorded master in place (written directly, as an attacker would).
    fn edit_master(&self, change: impl FnOnce(&mut BTreeMap<i64, FrameEntry>)) {
        let path = self.cache_dir().join("master/hash.json");
        let mut file = HashFile::from_json(&fs::read(&path).unwrap(), &path).unwrap();
        change(&mut file.frames);
        fs::write(&path, file.to_json().unwrap()).unwrap();
    }

    /// The manifest object (batch) and setup object the master's frame 1001 names.
    fn master_objects(&self) -> (String, String) {
        let master = self.cache().master().unwrap().unwrap();
        let batch = master.frames[&1001].manifest.unwrap();
        let bytes = self.cache().get_object(batch).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        (batch.to_string(), v["setup"].as_str().unwrap().to_string())
    }

    fn object_file(&self, name: &str) -> PathBuf {
        self.cache_dir().join(format!("manifests/{name}.json"))
    }
}

const REC: [&str; 6] = [
    "record",
    "comp.nk",
    "--node",
    "Write1",
    "--cache-dir",
    "cache",
];
const CHECK: [&str; 8] = [
    "check",
    "comp.nk",
    "--node",
    "Write1",
    "--cache-dir",
    "cache",
    "--frames",
    "1001-1003",
];

/// Every frame of 1001-1003 changes: Blur1.size no longer reads Controls.blur_size.
fn change_every_frame(s: &Shot) {
    edit(
        &s.root.join("comp.nk"),
        "size {{Controls.blur_size}}",
        "size 9",
    );
}

fn set_mtime(path: &Path, age: Duration) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

// ---- Defect 1: a cyclic setup object ----

/// The setup object of the issue (in the current version of the format): its
/// TimeOffset lists itself as input 0.
const CYCLIC_SETUP: &str = r#"{"format":"smartcache-setup","version":3,"output":"T","rules":"r","profile":"p","result":0,"classes":{"TimeOffset":{"known":true,"disable":"disable","time":{"kind":"offset","offset":{"defaults":["0"],"names":["time_offset"]},"reverse":{"defaults":["false"],"names":["reverse_input"]}}}},"nodes":[{"class":"TimeOffset","inputs":[0],"knobs":{"time_offset":"1"},"name":"T"}]}"#;

#[test]
fn a_cyclic_setup_object_is_a_damaged_manifest_not_a_hang() {
    let s = Shot::recorded();
    let cache = s.cache();
    let setup = cache.put_object(CYCLIC_SETUP.as_bytes()).unwrap();
    assert_eq!(
        setup.to_string(),
        hex128(CYCLIC_SETUP.as_bytes()),
        "named by its content"
    );
    // Frame 1001 of the master now names a batch that refers to the cyclic setup.
    let master = cache.master().unwrap().unwrap();
    let hash = master.frames[&1001].hash;
    let frame = BatchFrame {
        frame: 1001,
        sources: BTreeMap::new(),
    };
    let batch = Batch::new(setup, BTreeMap::from([(hash, frame)]));
    let batch = cache.put_object(&batch.encode()).unwrap();
    s.edit_master(|frames| frames.get_mut(&1001).unwrap().manifest = Some(batch));
    change_every_frame(&s);

    let (code, out, err) = s.run(&CHECK);
    assert_eq!((code, err.as_str()), (1, ""));
    let damaged = format!(
        "the frame changed; its manifest object {setup} is damaged (setup object: node 0 (T) \
         reads a node that does not come before it), so it cannot be explained"
    );
    assert_eq!(
        out,
        format!(
            "1001 outdated: {damaged}\n\
             1002-1003 outdated: Blur1.size changed {{Controls.blur_size}} -> 9\n\
             1001-1003 of Write1: 3 outdated (snapshot <SNAPSHOT>)\n"
        )
    );
    let (code, out, _) = s.run(&["explain", "cache", "--frame", "1001"]);
    assert_eq!(
        (code, out),
        (
            1,
            format!("frame 1001: outdated (master vs snapshot <SNAPSHOT>)\n  {damaged}\n")
        )
    );
}

#[test]
fn stored_setups_are_checked_as_strictly_as_scripts() {
    use smartcache::store::setup_object::decode;
    let setup = |nodes: &str, result: &str| {
        format!(
            r#"{{"format":"smartcache-setup","version":3,"output":"W","rules":"r","profile":"p","result":{result},"classes":{{"Blur":{{"known":true,"disable":"disable"}},"Constant":{{"known":true,"disable":"disable"}}}},"nodes":[{nodes}]}}"#
        )
    };
    let err = |bytes: &str| decode(bytes.as_bytes()).unwrap_err().to_string();
    let c = r#"{"class":"Constant","name":"C"}"#;
    // Accepted: inputs and links point at nodes listed earlier.
    let good = setup(
        &format!(r#"{c},{{"class":"Blur","inputs":[0,null],"links":[0],"name":"B"}}"#),
        "1",
    );
    assert_eq!(decode(good.as_bytes()).unwrap().nodes.len(), 2);
    assert!(err(CYCLIC_SETUP).ends_with("node 0 (T) reads a node that does not come before it"));
    for (nodes, result, message) in [
        (
            format!(r#"{{"class":"Blur","inputs":[1],"name":"B"}},{c}"#),
            "0",
            "node 0 (B) reads a node that does not come before it",
        ),
        (
            format!(r#"{c},{{"class":"Blur","links":[1],"name":"B"}}"#),
            "1",
            "node 1 (B) reads a node that does not come before it",
        ),
        (c.to_string(), "1", "result position out of range"),
    ] {
        assert_eq!(
            err(&setup(&nodes, result)),
            format!("setup object: {message}")
        );
    }
}

// ---- Defect 2: master/ (and every other path) confined to the cache ----

#[test]
fn prune_and_record_refuse_a_master_that_is_a_symlink_leading_outside() {
    let s = Shot::recorded();
    // master/ moved outside, a symlink left in its place; a stale temp name beside the
    // master outside, which prune would delete.
    let moved = s.outside.join("master");
    fs::rename(s.cache_dir().join("master"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, s.cache_dir().join("master")).unwrap();
    let victim = moved.join(".precious.1.2.tmp");
    fs::write(&victim, b"not the cache's").unwrap();
    set_mtime(&victim, Duration::from_secs(3600));
    let before = s.disk();

    let refusal = "error: cache/master: refusing to follow a symlink that leads outside the cache directory cache\n";
    for args in [
        &["prune", "cache", "--keep", "0"][..],
        &[&REC[..], &["--frames", "1004"]].concat(),
        &CHECK[..],
        &["explain", "cache", "--frame", "1001"],
    ] {
        let (code, out, err) = s.run(args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (2, "", refusal),
            "{args:?}"
        );
        assert_eq!(s.disk(), before, "{args:?} changed the disk");
    }
    // The library refuses too, whatever the options.
    let err = s
        .cache()
        .prune_with(&PruneOptions {
            keep: 0,
            dry_run: false,
            grace: Duration::ZERO,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: refusing to follow a symlink that leads outside the cache directory {}",
            s.cache_dir().join("master").display(),
            s.cache_dir().display()
        )
    );
    assert_eq!(s.disk(), before);
}

#[test]
fn sources_json_and_snapshots_symlinked_outside_are_refused() {
    let s = Shot::recorded();
    s.ok(&CHECK);
    // sources.json pointing at a device that never ends: refused, not read forever.
    let sources = s.cache_dir().join("sources.json");
    fs::remove_file(&sources).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &sources).unwrap();
    let before = s.disk();
    let (code, out, err) = s.run(&CHECK);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            2,
            "",
            "error: cache/sources.json: refusing to follow a symlink that leads outside the cache directory cache\n"
        )
    );
    assert_eq!(s.disk(), before);
    fs::remove_file(&sources).unwrap();

    // A snapshot directory that is a symlink leading outside is not a snapshot, and
    // naming it is refused.
    let snap = s.cache().snapshots().unwrap().pop().unwrap().to_string();
    let moved = s.outside.join(&snap);
    fs::rename(s.cache_dir().join(&snap), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, s.cache_dir().join(&snap)).unwrap();
    let before = s.disk();
    let (code, out, err) = s.run(&["explain", "cache", "--frame", "1001", "--snapshot", &snap]);
    assert_eq!(
        (code, out.as_str(), err),
        (
            2,
            "",
            format!("error: cache/{snap}: refusing to follow a symlink that leads outside the cache directory cache\n")
        )
    );
    assert_eq!(s.ok(&["snapshots", "cache"]), "no snapshots in cache\n");
    s.ok(&["prune", "cache", "--keep", "0"]);
    assert_eq!(
        s.disk()
            .into_iter()
            .filter(|(p, _)| p.starts_with("outside"))
            .collect::<Vec<_>>(),
        before
            .into_iter()
            .filter(|(p, _)| p.starts_with("outside"))
            .collect::<Vec<_>>()
    );
}

// ---- Defect 3: a dangling .lock symlink ----

#[test]
fn a_dangling_lock_symlink_is_refused_and_its_target_never_created() {
    for recorded in [false, true] {
        let s = if recorded {
            Shot::recorded()
        } else {
            Shot::new()
        };
        fs::create_dir_all(s.cache_dir()).unwrap();
        let target = s.outside.join("created-by-lock");
        let _ = fs::remove_file(s.cache_dir().join(".lock"));
        std::os::unix::fs::symlink(&target, s.cache_dir().join(".lock")).unwrap();
        let before = s.disk();
        let refusal = "error: cache/.lock: refusing to follow a dangling symlink in the cache directory cache\n";
        for args in [&REC[..], &CHECK[..], &["prune", "cache", "--keep", "0"]] {
            if !recorded && args[0] != "record" {
                continue;
            }
            let (code, out, err) = s.run(args);
            assert_eq!(
                (code, out.as_str(), err.as_str()),
                (2, "", refusal),
                "{args:?}"
            );
            assert!(!target.exists(), "{args:?} created the lock's target");
            assert_eq!(s.disk(), before, "{args:?}");
        }
    }
}

// ---- Defect 4: snapshot naming cannot be blocked ----

#[test]
fn an_odd_snapshot_directory_cannot_block_later_checks() {
    for (odd, next) in [
        (
            "29991231T235959.999Z-4294967295",
            Some("30000101T000000.000Z"),
        ),
        ("99991231T235959.999Z-4294967295", None),
    ] {
        let s = Shot::recorded();
        let dir = s.cache_dir().join(odd);
        fs::create_dir(&dir).unwrap();
        fs::copy(
            s.cache_dir().join("master/hash.json"),
            dir.join("hash.json"),
        )
        .unwrap();
        for _ in 0..2 {
            s.ok(&CHECK);
        }
        let ids: Vec<String> = s
            .cache()
            .snapshots()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        match next {
            // Still sorted after the odd one: the newest check is the latest snapshot.
            Some(next) => assert_eq!(ids, [odd, next, &format!("{next}-1")]),
            // Nothing sorts after the last representable id: the checks take the ids of
            // their time.
            None => assert_eq!(ids[2], odd),
        }
    }
}

// ---- Defect 5: a render path that is not a regular file ----

#[test]
fn a_recorded_render_that_is_not_a_regular_file_is_never_read() {
    let s = Shot::new();
    fs::create_dir(s.root.join("renders")).unwrap();
    for f in 1001..=1003 {
        fs::write(s.root.join(format!("renders/c.{f}.exr")), f.to_string()).unwrap();
    }
    s.ok(&[
        &REC[..],
        &["--frames", "1001-1003", "--render", "renders/c.%04d.exr"],
    ]
    .concat());
    s.edit_master(|frames| {
        let r = frames.get_mut(&1001).unwrap().render.as_mut().unwrap();
        r.path = "/dev/zero".into();
        r.size = 0;
    });
    let (code, out, err) = s.run(&CHECK);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "1001 missing-render: rendered file /dev/zero is not a regular file\n\
             1002-1003 valid\n\
             1001-1003 of Write1: 2 valid, 1 missing-render (snapshot <SNAPSHOT>)\n",
            ""
        )
    );
}

// ---- Defect 6: a rule file with a huge glob ----

#[test]
fn a_rule_with_a_huge_glob_is_a_clear_error_naming_file_and_line() {
    let s = Shot::new();
    fs::write(
        s.root.join("huge.rules"),
        format!("# studio rules\nnode {}\n", "*".repeat(100_000)),
    )
    .unwrap();
    let expected = "error: huge.rules:2:6: pattern too long: 100000 characters (at most 1024)\n";
    for args in [
        &["rules", "--rules", "huge.rules"][..],
        &[&CHECK[..], &["--rules", "huge.rules"]].concat(),
    ] {
        let (code, out, err) = s.run(args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (2, "", expected),
            "{args:?}"
        );
    }
    assert!(!s.cache_dir().exists());
}

// ---- Defect 7: temp names of killed writers ----

#[test]
fn prune_removes_the_temp_names_killed_writers_leave_after_the_grace_period() {
    let s = Shot::recorded();
    let old = [
        ".sources.json.4242.0.tmp",
        "master/.hash.json.4242.1.tmp",
        "master/.hash.json.bak.4242.2.tmp",
        "manifests/.0123456789abcdef0123456789abcdef.json.4242.3.tmp",
        ".sources.lock",
    ];
    let young = ".sources.json.4242.4.tmp";
    for name in old.iter().chain([&young]) {
        let p = s.cache_dir().join(name);
        fs::write(&p, b"partial").unwrap();
        if *name != young {
            set_mtime(&p, Duration::from_secs(3600));
        }
    }
    let report = s.cache().prune(0, false).unwrap();
    let mut expected: Vec<PathBuf> = old.iter().map(|n| s.cache_dir().join(n)).collect();
    expected.sort();
    assert_eq!(report.removed_files, expected);
    assert_eq!(report.skipped_young, [s.cache_dir().join(young)]);
    assert!(s.cache_dir().join(young).exists());
    for name in old {
        assert!(!s.cache_dir().join(name).exists(), "{name}");
    }
}

// ---- Defect 8: JSON graphs ----

#[test]
fn a_json_graph_parent_must_be_a_group_and_nesting_is_limited() {
    let s = Shot::new();
    let graph = |nodes: &[serde_json::Value]| {
        serde_json::json!({"format": "smartcache-graph", "version": 1, "nodes": nodes}).to_string()
    };
    fs::write(
        s.root.join("parent.json"),
        graph(&[
            serde_json::json!({"name": "B", "class": "Blur", "knobs": [{"name": "size", "value": "3"}]}),
            serde_json::json!({"name": "C", "class": "Constant", "parent": "B"}),
        ]),
    )
    .unwrap();
    let mut nodes = Vec::new();
    let mut name = String::new();
    for i in 0..=1001 {
        let parent = (!name.is_empty()).then(|| name.clone());
        name = if name.is_empty() {
            "G".into()
        } else {
            format!("{name}.G{i}")
        };
        nodes.push(serde_json::json!({"name": name, "class": "Group", "parent": parent}));
    }
    fs::write(s.root.join("deep.json"), graph(&nodes)).unwrap();
    for (file, message) in [
        (
            "parent.json",
            "nodes[1]: parent \"B\" is a Blur, not a group",
        ),
        (
            "deep.json",
            "nodes[1001]: groups nested deeper than 1000 levels",
        ),
    ] {
        let (code, out, err) = s.run(&["graph", file]);
        assert_eq!(
            (code, out.as_str(), err),
            (2, "", format!("error: {file}: {message}\n")),
            "{file}"
        );
    }
    // A node inside 1000 groups is fine, as in a .nk script.
    nodes.pop();
    fs::write(s.root.join("deep.json"), graph(&nodes)).unwrap();
    s.ok(&["graph", "deep.json"]);
}

// ---- Recovery: a damaged master with a backup ----

#[test]
fn a_corrupt_master_with_a_backup_is_recovered_with_a_warning() {
    let s = Shot::recorded();
    s.ok(&[&REC[..], &["--frames", "1004"]].concat());
    let master = s.cache_dir().join("master/hash.json");
    let damaged = b"{\"format\": \"smartcache-hash\", \"version\": 1, \"frames\": {".to_vec();
    fs::write(&master, &damaged).unwrap();
    let cause = "cache/master/hash.json:1:55: EOF while parsing an object";

    let frames = [&CHECK[..6], &["--frames", "1001-1004"]].concat();
    let (code, out, err) = s.run(&frames);
    assert_eq!(
        (code, out.as_str(), err),
        (
            1,
            "1001-1003 valid\n1004 uncached\n1001-1004 of Write1: 3 valid, 1 uncached (snapshot <SNAPSHOT>)\n",
            format!("warning: {cause}; using cache/master/hash.json.bak, the master before the last record\n")
        )
    );
    assert_eq!(
        fs::read(&master).unwrap(),
        damaged,
        "a check changes no master"
    );

    // The next record restores the backup, keeping the damaged file aside.
    let (code, _, err) = s.run(&[&REC[..], &["--frames", "1004"]].concat());
    assert_eq!(
        (code, err),
        (
            0,
            format!(
                "warning: {cause}; restored the master from cache/master/hash.json.bak \
                 and kept the damaged file as cache/master/hash.json.before-restore\n"
            )
        )
    );
    assert_eq!(
        fs::read(s.cache_dir().join("master/hash.json.before-restore")).unwrap(),
        damaged
    );
    let (code, _, err) = s.run(&frames);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn a_corrupt_master_without_a_backup_is_an_error_and_left_alone() {
    let s = Shot::recorded();
    let master = s.cache_dir().join("master/hash.json");
    fs::write(&master, b"{").unwrap();
    let before = s.disk();
    for args in [&CHECK[..], &REC[..]] {
        let (code, out, err) = s.run(args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (
                2,
                "",
                "error: cache/master/hash.json:1:1: EOF while parsing an object\n"
            ),
            "{args:?}"
        );
        assert_eq!(s.disk(), before, "{args:?}");
    }
}

#[test]
fn a_huge_master_is_refused_by_its_size_before_it_is_read() {
    let s = Shot::recorded();
    let master = s.cache_dir().join("master/hash.json");
    fs::File::options()
        .write(true)
        .open(&master)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let (code, out, err) = s.run(&CHECK);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            2,
            "",
            "error: cache/master/hash.json: 2147483648 bytes is more than the 268435456 this file may have; refusing to read it\n"
        )
    );
}

// ---- Recovery: damaged and missing manifest objects ----

#[test]
fn a_damaged_setup_or_batch_object_outdates_its_frames_as_manifest_damaged() {
    for which in ["setup", "batch"] {
        let s = Shot::recorded();
        let (batch, setup) = s.master_objects();
        let name = if which == "setup" { setup } else { batch };
        fs::write(s.object_file(&name), b"{\"format\": \"damaged\"}").unwrap();
        change_every_frame(&s);
        let actual = hex128(b"{\"format\": \"damaged\"}");
        let (code, out, err) = s.run(&CHECK);
        assert_eq!(
            (code, out, err.as_str()),
            (
                1,
                format!(
                    "1001-1003 outdated: the frame changed; its manifest object {name} cannot be read \
                     (cache/manifests/{name}.json: object content hashes to {actual}, not to its name)\n\
                     1001-1003 of Write1: 3 outdated (snapshot <SNAPSHOT>)\n"
                ),
                ""
            ),
            "{which}"
        );
    }
}

#[test]
fn a_deleted_manifest_object_is_manifest_missing_not_manifest_not_kept() {
    for which in ["setup", "batch"] {
        let s = Shot::recorded();
        let (batch, setup) = s.master_objects();
        let name = if which == "setup" { setup } else { batch };
        fs::remove_file(s.object_file(&name)).unwrap();
        change_every_frame(&s);
        let (code, out, err) = s.run(&CHECK);
        assert_eq!(
            (code, out, err.as_str()),
            (
                1,
                format!(
                    "1001-1003 outdated: the frame changed; its manifest object {name} is missing, \
                     so it cannot be explained\n\
                     1001-1003 of Write1: 3 outdated (snapshot <SNAPSHOT>)\n"
                ),
                ""
            ),
            "{which}"
        );
    }
}

// ---- Honest errors ----

#[test]
fn check_of_a_cache_directory_that_does_not_exist_is_an_error() {
    let s = Shot::new();
    for args in [
        &CHECK[..],
        &["explain", "cache", "--frame", "1001"],
        &["snapshots", "cache"],
        &["prune", "cache", "--keep", "1"],
    ] {
        let (code, out, err) = s.run(args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (
                2,
                "",
                "error: no cache at cache: the directory does not exist\n"
            ),
            "{args:?}"
        );
        assert!(!s.cache_dir().exists(), "{args:?}");
    }
}

#[test]
fn a_closed_standard_output_ends_quietly() {
    let s = Shot::recorded();
    // Enough output to fill a pipe: a wide script's graph, many frames' statuses.
    let mut wide = String::from("Root {\n first_frame 1\n last_frame 6000\n}\n");
    for i in 0..3000 {
        wide.push_str(&format!(
            "Constant {{\n inputs 0\n xpos {i}\n name C{i}\n}}\n"
        ));
    }
    fs::write(s.root.join("wide.nk"), wide).unwrap();
    for args in [
        &["graph", "--json", "wide.nk"][..],
        &[&CHECK[..6], &["--frames", "1-6000", "--json"]].concat(),
        &["rules", "--why-ignored", "wide.nk"],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("smartcache"))
            .current_dir(&s.root)
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
        let out = child.wait_with_output().unwrap();
        // The frames checked beyond the script's range are warned about, nothing else.
        let err: String = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.ends_with("are outside the frame range of comp.nk (1001-1100)"))
            .collect();
        assert_eq!((out.status.code(), err.as_str()), (Some(0), ""), "{args:?}");
    }
}
