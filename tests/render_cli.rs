//! End to end: the render-cache commands as a user runs them, on fixtures/render.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn shot() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shot");
    copy_tree(&fixtures().join("render"), &root);
    (dir, root)
}

fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = smartcache().current_dir(root).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const REC: [&str; 6] = [
    "record",
    "comp.nk",
    "--node",
    "Write1",
    "--cache-dir",
    "cache",
];
const CHECK: [&str; 6] = [
    "check",
    "comp.nk",
    "--node",
    "Write1",
    "--cache-dir",
    "cache",
];

#[test]
fn check_json_reports_every_frame_with_reasons() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    edit(&root.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let (code, out, _) = run(
        &root,
        &[&CHECK[..], &["--frames", "1038-1042,1099-1100", "--json"]].concat(),
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn explain_names_node_knob_old_and_new() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    edit(
        &root.join("comp.nk"),
        "size {{Controls.blur_size}}",
        "size 9",
    );
    run(&root, &CHECK[..]);
    let (code, out, _) = run(&root, &["explain", "cache", "--frame", "1001"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "frame 1001: outdated (master vs snapshot <SNAPSHOT>)\n  Blur1.size changed {Controls.blur_size} -> 9\n"
    );
    let (code, out, _) = run(&root, &["explain", "cache", "--frame", "1001", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "outdated");
    assert_eq!(v["reasons"][0]["node"], "Blur1");
    assert_eq!(v["reasons"][0]["knob"], "size");
    assert_eq!(v["reasons"][0]["old"], "{Controls.blur_size}");
    assert_eq!(v["reasons"][0]["new"], "9");
    // A frame checked valid explains as valid.
    edit(
        &root.join("comp.nk"),
        "size 9",
        "size {{Controls.blur_size}}",
    );
    run(&root, &CHECK[..]);
    let (code, out, _) = run(&root, &["explain", "cache", "--frame", "1001"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "frame 1001: valid (master vs snapshot <SNAPSHOT>)\n")
    );
}

#[test]
fn uncached_frames_are_reported() {
    let (_d, root) = shot();
    run(&root, &[&REC[..], &["--frames", "1001-1050"]].concat());
    let (code, out, _) = run(&root, &CHECK[..]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1050 valid\n1051-1100 uncached\n1001-1100 of Write1: 50 valid, 50 uncached (snapshot <SNAPSHOT>)\n"
    );
    // Recording the rest adds to the master.
    run(&root, &[&REC[..], &["--frames", "1051-1100"]].concat());
    let (code, _, _) = run(&root, &CHECK[..]);
    assert_eq!(code, 0);
}

#[test]
fn snapshots_and_prune() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    for _ in 0..3 {
        run(&root, &[&CHECK[..], &["--frames", "1001-1003"]].concat());
    }
    edit(&root.join("comp.nk"), "operation over", "operation plus");
    run(&root, &[&CHECK[..], &["--frames", "1001-1003"]].concat());
    let (code, out, _) = run(&root, &["snapshots", "cache"]);
    assert_eq!(code, 0);
    assert_eq!(out, "<SNAPSHOT>  3 frames (1001-1003)\n".repeat(4));

    let objects = || {
        std::fs::read_dir(root.join("cache/manifests"))
            .unwrap()
            .count()
    };
    let before = objects();
    let (code, out, _) = run(&root, &["prune", "cache", "--keep", "1", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("would remove 3 snapshots and "), "{out}");
    assert_eq!(objects(), before, "a dry run removes nothing");
    let (code, out, _) = run(&root, &["prune", "cache", "--keep", "1"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("removed 3 snapshots and "), "{out}");
    let (_, out, _) = run(&root, &["snapshots", "cache"]);
    assert_eq!(out, "<SNAPSHOT>  3 frames (1001-1003)\n");
    // What the master and the kept snapshot need is still there: the frame still explains.
    let (code, out, _) = run(&root, &["explain", "cache", "--frame", "1002"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("Merge1.operation changed over -> plus"),
        "{out}"
    );
}

#[test]
fn corrupt_master_is_an_error_naming_the_file_and_is_left_alone() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    let master = root.join("cache/master/hash.json");
    std::fs::write(
        &master,
        b"{\"format\": \"smartcache-hash\", \"version\": 1, \"frames\": {",
    )
    .unwrap();
    for args in [&CHECK[..], &REC[..]] {
        let (code, _, err) = run(&root, args);
        assert_eq!(code, 2, "{err}");
        assert!(err.starts_with("error: cache/master/hash.json:1:"), "{err}");
    }
    assert_eq!(
        std::fs::read(&master).unwrap(),
        b"{\"format\": \"smartcache-hash\", \"version\": 1, \"frames\": {"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let (_d, root) = shot();
    let cases: [(&[&str], &str); 4] = [
        (
            &["record", "comp.nk", "--node", "Nope", "--cache-dir", "c"],
            "error: comp.nk: no node named \"Nope\" in the script (Write nodes: Write1)\n",
        ),
        (
            &[
                "record",
                "comp.nk",
                "--node",
                "Write1",
                "--cache-dir",
                "c",
                "--frames",
                "10-1",
            ],
            "error: frame list \"10-1\", column 4: the range ends before it starts\n  10-1\n     ^\n",
        ),
        (
            &[
                "check",
                "missing.nk",
                "--node",
                "Write1",
                "--cache-dir",
                "c",
            ],
            "error: missing.nk: cannot read the file: No such file or directory (os error 2)\n",
        ),
        (
            &["explain", "c", "--frame", "1001"],
            "error: no cache at c: the directory does not exist\n",
        ),
    ];
    for (args, expected) in cases {
        let (code, out, err) = run(&root, args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (2, "", expected),
            "{args:?}"
        );
    }
}

#[test]
fn eight_processes_recording_disjoint_ranges_lose_no_frame() {
    let (_d, root) = shot();
    let children: Vec<_> = (0..8)
        .map(|k| {
            let first = 1001 + k * 12;
            let spec = format!("{first}-{}", first + 11);
            std::process::Command::new(assert_cmd::cargo::cargo_bin("smartcache"))
                .current_dir(&root)
                .args([&REC[..], &["--frames", &spec]].concat())
                .env_remove("CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let master: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("cache/master/hash.json")).unwrap())
            .unwrap();
    let frames: Vec<i64> = master["frames"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    assert_eq!(frames, (1001..1097).collect::<Vec<_>>());
    let (code, out, _) = run(&root, &[&CHECK[..], &["--frames", "1001-1096"]].concat());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn recorded_renders_that_vanish_or_change_are_missing_renders() {
    let (_d, root) = shot();
    std::fs::create_dir_all(root.join("renders")).unwrap();
    for f in 1001..=1005 {
        std::fs::write(
            root.join(format!("renders/comp.{f}.exr")),
            format!("pixels {f}"),
        )
        .unwrap();
    }
    let (code, _, err) = run(
        &root,
        &[
            &REC[..],
            &["--frames", "1001-1006", "--render", "renders/comp.%04d.exr"],
        ]
        .concat(),
    );
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "warning: no rendered file for frames 1006: their renders were not recorded\n"
    );
    std::fs::remove_file(root.join("renders/comp.1002.exr")).unwrap();
    std::fs::write(root.join("renders/comp.1004.exr"), "other pixels").unwrap();
    let (code, out, _) = run(&root, &[&CHECK[..], &["--frames", "1001-1006"]].concat());
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001 valid\n\
         1002 missing-render: rendered file renders/comp.1002.exr is gone\n\
         1003 valid\n\
         1004 missing-render: rendered file renders/comp.1004.exr changed on disk\n\
         1005-1006 valid\n\
         1001-1006 of Write1: 4 valid, 2 missing-render (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn convert_round_trips_and_json_graphs_hash_like_nk() {
    let (_d, root) = shot();
    let (code, _, err) = run(&root, &["convert", "comp.nk", "-o", "comp.json"]);
    assert_eq!(code, 0, "{err}");
    let (_, nk, _) = run(&root, &["graph", "--json", "comp.nk"]);
    let (_, js, _) = run(&root, &["graph", "--json", "comp.json"]);
    assert_eq!(nk, js);
    // The same comp recorded from .nk checks valid from its JSON graph.
    run(&root, &REC[..]);
    let (code, out, _) = run(
        &root,
        &[
            "check",
            "comp.json",
            "--node",
            "Write1",
            "--cache-dir",
            "cache",
        ],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_openjd_writes_a_job_whose_tasks_rerender_and_record_the_outdated_frames() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    // Nothing outdated: no job.
    let job_args = [
        "--openjd",
        "job.json",
        "--render-command",
        "touch renders/{first}-{last}",
        "--chunk",
        "4",
    ];
    std::fs::create_dir_all(root.join("renders")).unwrap();
    let (code, _, err) = run(&root, &[&CHECK[..], &job_args[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "every frame is valid: no job written to job.json\n");
    assert!(!root.join("job.json").exists());

    edit(&root.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let (code, out, err) = run(&root, &[&CHECK[..], &["--json"], &job_args[..]].concat());
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let outdated: Vec<i64> = report["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "valid")
        .map(|f| f["frame"].as_i64().unwrap())
        .collect();
    assert!(!outdated.is_empty() && outdated.len() < 100, "{outdated:?}");
    let (first, last) = (outdated[0], *outdated.last().unwrap());
    assert_eq!(
        outdated,
        (first..=last).collect::<Vec<_>>(),
        "one contiguous run"
    );
    let chunks: Vec<String> = (first..=last)
        .step_by(4)
        .map(|a| format!("{a}:{}", (a + 3).min(last)))
        .collect();
    assert_eq!(
        err,
        format!(
            "wrote job.json ({} tasks for {} frames)\n",
            chunks.len(),
            outdated.len()
        )
    );
    let template: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("job.json")).unwrap()).unwrap();
    assert_eq!(template["specificationVersion"], "jobtemplate-2023-09");
    let params = &template["parameterDefinitions"];
    assert_eq!(params[0]["name"], "Script");
    assert_eq!(params[0]["default"], "comp.nk");
    assert_eq!(params[1]["name"], "CacheDir");
    assert_eq!(params[1]["default"], "cache");
    let step = &template["steps"][0];
    assert_eq!(
        step["parameterSpace"]["taskParameterDefinitions"][0]["range"],
        serde_json::json!(chunks)
    );

    // Run every task as the farm would (bash, from the job's folder, with the
    // parameters' defaults resolved against it), then the cache is valid again.
    let run_sh = root.join("run.sh");
    std::fs::write(
        &run_sh,
        step["script"]["embeddedFiles"][0]["data"].as_str().unwrap(),
    )
    .unwrap();
    for c in &chunks {
        let status = std::process::Command::new("bash")
            .current_dir(&root)
            .arg(&run_sh)
            .args([root.join("comp.nk"), root.join("cache")])
            .arg(c)
            .status()
            .unwrap();
        assert!(status.success(), "task {c}");
    }
    let mut rendered: Vec<String> = std::fs::read_dir(root.join("renders"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    rendered.sort();
    let mut expected: Vec<String> = chunks.iter().map(|c| c.replace(':', "-")).collect();
    expected.sort();
    assert_eq!(rendered, expected);
    let (code, _, err) = run(&root, &CHECK[..]);
    assert_eq!(code, 0, "{err}");

    // A job written elsewhere has no defaults, and says what to submit it with.
    edit(&root.join("comp.nk"), "x1050 1.4", "x1050 1.6");
    std::fs::create_dir_all(root.join("jobs")).unwrap();
    let (code, _, err) = smartcache()
        .current_dir(root.join("jobs"))
        .args([
            "check",
            "../comp.nk",
            "--node",
            "Write1",
            "--cache-dir",
            "../cache",
        ])
        .args(["--openjd", "job.json", "--render-command", "true"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                o.stdout,
                String::from_utf8(o.stderr).unwrap(),
            )
        })
        .unwrap();
    assert_eq!(code, 1);
    let abs = |p: &str| std::path::absolute(root.join("jobs").join(p)).unwrap();
    assert!(
        err.ends_with(&format!(
            "not below the job's folder, so without a default: submit with -p Script={} -p CacheDir={}\n",
            abs("../comp.nk").display(),
            abs("../cache").display()
        )),
        "{err}"
    );
}

#[test]
fn check_openjd_refuses_an_unknown_placeholder_and_writes_nothing() {
    let (_d, root) = shot();
    run(&root, &REC[..]);
    edit(&root.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let (code, _, err) = run(
        &root,
        &[
            &CHECK[..],
            &[
                "--openjd",
                "job.json",
                "--render-command",
                "nuke -F {frame}",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("the render command has an unknown placeholder `{frame}`"),
        "{err}"
    );
    assert!(!root.join("job.json").exists());
}
