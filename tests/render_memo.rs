//! A check of an unchanged script takes the setup's id from the master's setup memo
//! instead of building the setup: these tests make sure that shortcut never hides a
//! change (an edited knob, a re-wired input, another rule set, an environment variable
//! the setup read) and reports what the full check reports.

mod common;
use common::*;
use smartcache::ignore::RuleSet;
use smartcache::profile::Profile;
use smartcache::render::{self, CheckOptions, LoadedScript, RecordOptions};
use smartcache::store::CacheDir;
use std::path::Path;

/// No file is read, so the setup has a memo; one knob reads an environment variable, one
/// is animated, one class is unknown.
const SCRIPT: &str = "Root {\n inputs 0\n first_frame 1\n last_frame 10\n}\nConstant {\n inputs 0\n color {0.5 0.5 0.5 1}\n name C\n}\nGrade {\n white {{curve x1 1 x10 2}}\n gain \"\\[getenv SC_MEMO_TEST_GAIN]\"\n name G\n}\nMysteryNode {\n size 3\n name M\n}\nBlur {\n size 2\n name B\n}\nWrite {\n file out.%04d.exr\n name Write1\n}\n";

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("comp.nk");
    std::fs::write(&path, text).unwrap();
    path
}

fn check(path: &Path, cache: &CacheDir, rules: &RuleSet) -> render::CheckReport {
    let script = LoadedScript::read(path).unwrap();
    let profile = Profile::nuke();
    render::check(
        &script,
        cache,
        &CheckOptions::new("Write1", rules, &profile),
    )
    .unwrap()
}

fn summary(r: &render::CheckReport) -> Vec<(i64, String, usize)> {
    r.frames
        .iter()
        .map(|f| (f.frame, f.status.as_str().to_string(), f.reasons.len()))
        .collect()
}

#[test]
fn an_unchanged_check_reports_what_a_full_check_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), SCRIPT);
    let cache = CacheDir::new(dir.path().join("cache"));
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    let script = LoadedScript::read(&path).unwrap();
    render::record(
        &script,
        &cache,
        &RecordOptions::new("Write1", &rules, &profile),
    )
    .unwrap();
    let master = cache.load_master().unwrap().unwrap().file;
    let memo = master
        .meta
        .setup_memo
        .clone()
        .expect("no file is read: a memo");
    assert_eq!(master.frames[&1].setup, Some(memo.setup));

    let fast = check(&path, &cache, &rules);
    assert!(fast.all_valid(), "{:?}", summary(&fast));
    assert_eq!(fast.frames.len(), 10);
    assert_eq!(fast.unknown_classes, ["MysteryNode"]);
    assert!(fast.warnings.iter().any(|w| w.contains("MysteryNode")));
    // The snapshot is the one a full check writes: the master's frame entries.
    let (_, snap) = cache.latest_snapshot().unwrap().unwrap();
    assert_eq!(snap.frames, master.frames);
    assert_eq!(snap.meta.setup_memo, Some(memo));

    // Moving a node changes the script's bytes but not the setup: still valid.
    let moved = SCRIPT.replace(" name B\n", " name B\n xpos 120\n");
    write(dir.path(), &moved);
    assert!(check(&path, &cache, &rules).all_valid());
}

#[test]
fn edits_and_other_rules_are_never_taken_from_the_memo() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), SCRIPT);
    let cache = CacheDir::new(dir.path().join("cache"));
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    let script = LoadedScript::read(&path).unwrap();
    render::record(
        &script,
        &cache,
        &RecordOptions::new("Write1", &rules, &profile),
    )
    .unwrap();

    // A knob edit: every frame outdated, naming the knob.
    write(dir.path(), &SCRIPT.replace("size 2", "size 3"));
    let r = check(&path, &cache, &rules);
    assert!(r.frames.iter().all(|f| f.status.as_str() == "outdated"));
    assert!(
        r.frames[0].reasons[0].text.contains("size"),
        "{:?}",
        r.frames[0].reasons
    );

    // An animation key: the frames it moves are outdated (frame 10 too: the unknown
    // class downstream is assumed to blur half a frame).
    write(dir.path(), &SCRIPT.replace("x1 1 x10 2", "x1 1.5 x10 2"));
    let r = check(&path, &cache, &rules);
    let outdated: Vec<i64> = r
        .frames
        .iter()
        .filter(|f| f.status.as_str() == "outdated")
        .map(|f| f.frame)
        .collect();
    assert_eq!(outdated, (1..=10).collect::<Vec<_>>());

    // Re-wired: the Blur reads the Constant directly.
    let rewired = SCRIPT.replace("Blur {\n", "push $cut\nBlur {\n").replace(
        "Constant {\n inputs 0\n color {0.5 0.5 0.5 1}\n name C\n}\n",
        "Constant {\n inputs 0\n color {0.5 0.5 0.5 1}\n name C\n}\nset cut [stack 0]\n",
    );
    write(dir.path(), &rewired);
    let r = check(&path, &cache, &rules);
    assert!(!r.all_valid(), "{:?}", summary(&r));

    // The same script under other rules: not the memo's setup.
    write(dir.path(), SCRIPT);
    let other = RuleSet::parse("knob Blur size\n", "test").unwrap();
    let r = check(&path, &cache, &other);
    assert!(!r.all_valid(), "{:?}", summary(&r));
    // And back to the recorded state: valid again.
    assert!(check(&path, &cache, &rules).all_valid());
}

#[test]
fn an_environment_variable_the_setup_read_is_compared_when_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), SCRIPT);
    let run = |cmd: &str, gain: Option<&str>| {
        let mut c = smartcache();
        c.current_dir(dir.path()).args([
            cmd,
            "comp.nk",
            "--node",
            "Write1",
            "--cache-dir",
            "cache",
        ]);
        match gain {
            Some(v) => c.env("SC_MEMO_TEST_GAIN", v),
            None => c.env_remove("SC_MEMO_TEST_GAIN"),
        };
        c.output().unwrap()
    };
    assert!(run("record", Some("2")).status.success());
    assert_eq!(run("check", Some("2")).status.code(), Some(0));
    let changed = run("check", Some("3"));
    assert_eq!(changed.status.code(), Some(1));
    let text = String::from_utf8_lossy(&changed.stdout);
    assert!(text.contains("SC_MEMO_TEST_GAIN"), "{text}");
    assert_eq!(run("check", None).status.code(), Some(1));
    assert_eq!(run("check", Some("2")).status.code(), Some(0));
}
