//! The render workflows as a host embeds them: options structs, the read-only check,
//! and reports that serialize to exactly what the CLI prints with `--json`.

mod common;
use common::*;
use smartcache::check::Status;
use smartcache::ignore::RuleSet;
use smartcache::profile::Profile;
use smartcache::render::{self, CheckOptions, LoadedScript, RecordOptions, RenderError};
use smartcache::store::CacheDir;
use std::path::{Path, PathBuf};

fn shot() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shot");
    copy_tree(&fixtures().join("render"), &root);
    (dir, root)
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn cli_json(root: &Path, args: &[&str]) -> serde_json::Value {
    let out = smartcache().current_dir(root).args(args).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_read_only_check_writes_nothing_and_explains_like_the_recording_one() {
    let (_d, root) = shot();
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    let cache = CacheDir::new(root.join("cache"));
    let frames: Vec<i64> = (1040..=1052).collect();
    let script = LoadedScript::read(&root.join("comp.nk")).unwrap();
    let opts = RecordOptions::new("Write1", &rules, &profile).frames(&frames);
    render::record(&script, &cache, &opts).unwrap();
    edit(&root.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let edited = LoadedScript::read(&root.join("comp.nk")).unwrap();

    let before = tree(cache.path());
    let check = CheckOptions::new("Write1", &rules, &profile).frames(&frames);
    let read_only = render::check(&edited, &cache, &check.snapshot(false)).unwrap();
    assert_eq!(
        tree(cache.path()),
        before,
        "a read-only check writes nothing"
    );
    assert_eq!(read_only.snapshot, None);

    let written = render::check(&edited, &cache, &check).unwrap();
    assert!(written.snapshot.is_some());
    assert_ne!(tree(cache.path()), before);
    assert_eq!(read_only.frames, written.frames);
    assert_eq!(
        render::check(&edited, &cache, &check.snapshot(false))
            .unwrap()
            .frames,
        written.frames
    );
    let f1041 = &read_only.frames[1];
    assert_eq!((f1041.frame, f1041.status), (1041, Status::Outdated));
    assert_eq!(
        f1041.reasons[0].text,
        "Grade1.white key at 1050 changed 1.2 -> 1.4"
    );
    assert_eq!(
        smartcache::frames::format_spec(&read_only.to_render()),
        "1041-1052"
    );
}

#[test]
fn reports_serialize_to_the_cli_json() {
    let (_d, root) = shot();
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    // The CLI records and checks in one cache, the library in another: the same
    // documents but for the cache's path and the snapshot's id.
    let lib = CacheDir::new(root.join("lib"));
    let script = LoadedScript::read(&root.join("comp.nk")).unwrap();
    let frames = [1001, 1002, 1040, 1050];
    let spec = "1001-1002,1040,1050";
    let rec = render::record(
        &script,
        &lib,
        &RecordOptions::new("Write1", &rules, &profile).frames(&frames),
    )
    .unwrap();
    let mut rec_json = serde_json::to_value(&rec).unwrap();
    let cli = cli_json(
        &root,
        &[
            "record",
            "comp.nk",
            "--node",
            "Write1",
            "--cache-dir",
            "cli",
        ]
        .into_iter()
        .chain(["--frames", spec, "--json"])
        .collect::<Vec<_>>(),
    );
    rec_json["master"] = cli["master"].clone();
    assert_eq!(rec_json, cli);
    assert_eq!(cli["recorded"], 4);
    assert_eq!(cli["frames"], "1001-1002, 1040, 1050");

    edit(&root.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let edited = LoadedScript::read(&root.join("comp.nk")).unwrap();
    let check = render::check(
        &edited,
        &lib,
        &CheckOptions::new("Write1", &rules, &profile).frames(&frames),
    )
    .unwrap();
    let mut check_json = serde_json::to_value(&check).unwrap();
    let cli = cli_json(
        &root,
        &["check", "comp.nk", "--node", "Write1", "--cache-dir", "cli"]
            .into_iter()
            .chain(["--frames", spec, "--json"])
            .collect::<Vec<_>>(),
    );
    check_json["snapshot"] = cli["snapshot"].clone();
    assert_eq!(check_json, cli);
    assert_eq!(
        cli["summary"],
        serde_json::json!({"outdated": 1, "valid": 3})
    );

    let explained = render::explain(&lib, 1050, None).unwrap();
    let mut explained_json = serde_json::to_value(&explained).unwrap();
    let cli = cli_json(&root, &["explain", "cli", "--frame", "1050", "--json"]);
    explained_json["snapshot"] = cli["snapshot"].clone();
    assert_eq!(explained_json, cli);
    assert_eq!(cli["status"], "outdated");
}

#[test]
fn frames_default_to_the_script_range_and_an_empty_range_is_an_error() {
    let (_d, root) = shot();
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    let cache = CacheDir::new(root.join("cache"));
    let script = LoadedScript::read(&root.join("comp.nk")).unwrap();
    let rec = render::record(
        &script,
        &cache,
        &RecordOptions::new("Write1", &rules, &profile),
    )
    .unwrap();
    let (a, b) = script.script.frame_range();
    assert_eq!(rec.frames, (a..=b).collect::<Vec<_>>());

    let text = std::fs::read_to_string(root.join("comp.nk")).unwrap();
    let empty = text.replacen("first_frame 1001", "first_frame 1200", 1);
    let empty = LoadedScript::from_bytes(empty.as_bytes(), &root.join("empty.nk")).unwrap();
    let err = render::check(
        &empty,
        &cache,
        &CheckOptions::new("Write1", &rules, &profile),
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::EmptyFrameRange { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the script's frame range 1200-1100 is empty; give the frames to hash",
            root.join("empty.nk").display()
        )
    );
}

#[test]
fn a_warm_check_reports_what_a_cold_one_does() {
    // A host keeps a `Warm` across edits; each check must report exactly what a check
    // keeping nothing reports (reused record digests, setups served from memory).
    let (_d, root) = shot();
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    let cache = CacheDir::new(root.join("cache"));
    let frames: Vec<i64> = (1030..=1070).collect();
    let warm = render::Warm::new();
    let nk = root.join("comp.nk");
    let script = LoadedScript::read(&nk).unwrap();
    let record = RecordOptions::new("Write1", &rules, &profile)
        .frames(&frames)
        .warm(&warm);
    render::record(&script, &cache, &record).unwrap();
    let plate = root.join("plates/plate.1045.png");
    let edits: [&dyn Fn(); 6] = [
        &|| {},
        &|| std::fs::write(&plate, b"another plate").unwrap(),
        &|| edit(&nk, "x1050 1.2", "x1050 1.4"),
        &|| edit(&nk, "center {960 540}", "center {961 540}"),
        &|| edit(&nk, "x1100 99}", "x1100 98}"),
        &|| edit(&nk, "blur_size 4", "blur_size 5"),
    ];
    let mut outdated = Vec::new();
    for e in edits {
        e();
        let edited = LoadedScript::read(&nk).unwrap();
        let check = CheckOptions::new("Write1", &rules, &profile)
            .frames(&frames)
            .snapshot(false);
        let cold = render::check(&edited, &cache, &check).unwrap();
        let hot = render::check(&edited, &cache, &check.warm(&warm)).unwrap();
        assert_eq!(
            serde_json::to_value(&hot).unwrap(),
            serde_json::to_value(&cold).unwrap()
        );
        outdated.push(smartcache::frames::format_spec(&cold.to_render()));
    }
    assert_eq!(
        outdated,
        [
            "",
            "1045",
            "1041-1059",
            "1030-1070",
            "1030-1070",
            "1030-1070"
        ]
    );
}
