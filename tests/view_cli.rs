//! End to end: the artist's and wrangler's view (issue #14): every cache of a show at
//! once (`status`), re-render lists (`check --outdated --format`), the HTML report in
//! headless Chromium, renders found from any directory, completions, the man page, help
//! examples and the error messages of a mistyped node or frame list.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// `(status, stdout, stderr)` of smartcache run in `dir`, snapshot ids redacted.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = smartcache().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
        redact_snapshots(&String::from_utf8(out.stderr).unwrap()),
    )
}

/// A second Write node, caching the unrelated branch at the end of the fixture.
const WRITE2: &str = "Write {\n file renders/blur.%04d.exr\n name Write2\n}\n";

/// A show of three shots, each a copy of fixtures/render:
/// * sh010 has Write1 and Write2, both recorded, then Grade1's key at 1050 edited
///   (Write1 outdated 1041-1059, Write2 valid);
/// * sh020 recorded 1001-1050 only (50 frames uncached);
/// * sh030 has never been recorded.
fn show() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show");
    for shot in ["sh010", "sh020", "sh030"] {
        copy_tree(&fixtures().join("render"), &show.join(shot));
    }
    let sh010 = show.join("sh010");
    let text = std::fs::read_to_string(sh010.join("comp.nk")).unwrap();
    std::fs::write(sh010.join("comp.nk"), text + WRITE2).unwrap();
    for node in ["Write1", "Write2"] {
        let (code, _, err) = run(&sh010, &["record", "comp.nk", "--node", node]);
        assert_eq!(code, 0, "{err}");
    }
    edit(&sh010.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let (code, _, err) = run(
        &show.join("sh020"),
        &["record", "comp.nk", "-n", "Write1", "--frames", "1001-1050"],
    );
    assert_eq!(code, 0, "{err}");
    (dir, show)
}

/// Every snapshot directory of a cache (names other than master, manifests and files).
fn snapshot_dirs(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "master" && n != "manifests")
        .collect()
}

#[test]
fn status_lists_every_cache_of_a_directory_of_scripts_and_writes_nothing() {
    let (dir, show) = show();
    let (code, out, err) = run(dir.path(), &["status", "show"]);
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!(out);
    let cache = show.join("sh010/.smartcache/comp/Write1");
    assert!(cache.join("master/hash.json").is_file());
    assert!(snapshot_dirs(&cache).is_empty(), "status wrote a snapshot");

    let (code, out, _) = run(dir.path(), &["status", "show", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    let caches = v["caches"].as_array().unwrap();
    let rows: Vec<(String, String, String)> = caches
        .iter()
        .map(|c| {
            (
                c["script"].as_str().unwrap().to_string(),
                c["node"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |s: &str, n: &str, st: &str| (s.to_string(), n.to_string(), st.to_string());
    assert_eq!(
        rows,
        [
            row("show/sh010/comp.nk", "Write1", "checked"),
            row("show/sh010/comp.nk", "Write2", "checked"),
            row("show/sh020/comp.nk", "Write1", "checked"),
            row("show/sh030/comp.nk", "Write1", "not-recorded"),
        ]
    );
    assert_eq!(
        caches[0]["summary"],
        serde_json::json!({"valid": 81, "outdated": 19})
    );
    assert_eq!(caches[0]["to_render"], "1041-1059");
    assert_eq!(caches[0]["first_reason"]["frame"], 1041);
    assert_eq!(caches[0]["first_reason"]["reason"]["node"], "Grade1");
    assert_eq!(caches[1]["valid"], true);
    assert_eq!(
        caches[2]["summary"],
        serde_json::json!({"valid": 50, "uncached": 50})
    );
    assert_eq!(caches[2]["to_render"], "1051-1100");

    // --snapshot writes the snapshot a check writes, one per checked cache.
    let (code, _, _) = run(dir.path(), &["status", "show/sh010", "--snapshot"]);
    assert_eq!(code, 1);
    assert_eq!(snapshot_dirs(&cache).len(), 1);
    assert_eq!(
        snapshot_dirs(&show.join("sh010/.smartcache/comp/Write2")).len(),
        1
    );

    // Everything valid: exit 0; a Write node without a cache does not count.
    let (code, out, _) = run(dir.path(), &["status", "show/sh010/comp.nk", "show/sh030"]);
    assert_eq!(code, 1, "{out}");
    edit(&show.join("sh010/comp.nk"), "x1050 1.4", "x1050 1.2");
    let (code, out, _) = run(dir.path(), &["status", "show/sh010/comp.nk", "show/sh030"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("2 caches in 2 scripts: 2 valid, 0 not valid, 1 output without a cache\n"),
        "{out}"
    );
    // A script named twice is surveyed once.
    let (_, out, _) = run(
        dir.path(),
        &["status", "show/sh010", "show/sh010/comp.nk", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["caches"].as_array().unwrap().len(), 2);
}

#[test]
fn status_finds_writes_in_groups_and_other_recorded_outputs() {
    let (dir, show) = show();
    let sh030 = show.join("sh030");
    let group = "Group {\n inputs 0\n name Group1\n}\n Constant {\n  inputs 0\n  name C1\n }\n \
                 Write {\n  file renders/g.%04d.exr\n  name Write3\n }\n Output {\n  name Output1\n }\n\
                 end_group\n";
    let text = std::fs::read_to_string(sh030.join("comp.nk")).unwrap();
    std::fs::write(sh030.join("comp.nk"), text + group).unwrap();
    for node in ["Group1.Write3", "Merge1"] {
        let (code, _, err) = run(
            &sh030,
            &["record", "comp.nk", "-n", node, "--frames", "1001-1010"],
        );
        assert_eq!((code, err.as_str()), (0, ""), "{node}");
    }
    assert!(sh030
        .join(".smartcache/comp/Group1.Write3/master/hash.json")
        .is_file());
    let (code, out, _) = run(dir.path(), &["status", "show/sh030"]);
    assert_eq!(code, 1, "{out}");
    let rows: Vec<(&str, &str)> = out
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("show/"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() > 4).then(|| (cols[1], cols[3]))
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Write1", "no"),
            ("Group1.Write3", "uncached"),
            ("Merge1", "uncached")
        ],
        "{out}"
    );
}

#[test]
fn status_with_a_cache_root_and_a_broken_script() {
    let (dir, show) = show();
    let sh020 = show.join("sh020");
    let (code, _, err) = run(
        &sh020,
        &[
            "record",
            "comp.nk",
            "-n",
            "Write1",
            "--cache-root",
            "../../caches",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(dir
        .path()
        .join("caches/comp/Write1/master/hash.json")
        .is_file());
    let (code, out, _) = run(
        dir.path(),
        &["status", "show/sh020/comp.nk", "--cache-root", "caches"],
    );
    assert_eq!(code, 0, "{out}");
    std::fs::write(show.join("sh030/comp.nk"), "Blur {\n size 3\n").unwrap();
    let (code, out, err) = run(dir.path(), &["status", "show/sh030"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.starts_with("error: show/sh030/comp.nk:"), "{err}");
    let (code, _, err) = run(dir.path(), &["status", "nowhere"]);
    assert_eq!(code, 2);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn check_outdated_prints_the_frames_to_render_in_each_tools_syntax() {
    let (_d, show) = show();
    let sh010 = show.join("sh010");
    // Recorded before the key edit; 1075 never recorded: uncached, so to render too.
    edit(&sh010.join("comp.nk"), "x1050 1.4", "x1050 1.2");
    let (code, _, err) = run(
        &sh010,
        &[
            "record",
            "comp.nk",
            "-n",
            "Write1",
            "--cache-dir",
            "c",
            "--frames",
            "1001-1074,1076-1100",
        ],
    );
    assert_eq!(code, 0, "{err}");
    edit(&sh010.join("comp.nk"), "x1050 1.2", "x1050 1.4");
    let check = ["check", "comp.nk", "-n", "Write1", "--cache-dir", "c"];
    let cases: [(&[&str], &str); 5] = [
        (&["--outdated"], "1041-1059,1075\n"),
        (&["--outdated", "--format", "nuke"], "1041-1059 1075\n"),
        (&["--outdated", "--format", "deadline"], "1041-1059,1075\n"),
        (&["--outdated", "--format", "opencue"], "1041-1059,1075\n"),
        (&["--outdated", "--format", "spec"], "1041-1059,1075\n"),
    ];
    for (extra, expected) in cases {
        let (code, out, err) = run(&sh010, &[&check[..], extra].concat());
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (1, expected, ""),
            "{extra:?}"
        );
    }
    let (code, out, _) = run(
        &sh010,
        &[&check[..], &["--outdated", "--format", "list"]].concat(),
    );
    assert_eq!(code, 1);
    let listed: Vec<i64> = out.lines().map(|l| l.parse().unwrap()).collect();
    let mut expected: Vec<i64> = (1041..=1059).collect();
    expected.push(1075);
    assert_eq!(listed, expected);
    // Steps where the frames are regular.
    let (code, out, _) = run(
        &sh010,
        &[
            &check[..],
            &["--frames", "1041-1049x2", "--outdated", "--format", "nuke"],
        ]
        .concat(),
    );
    assert_eq!((code, out.as_str()), (1, "1041-1049x2\n"));
    // The JSON report carries the same list.
    let (_, out, _) = run(&sh010, &[&check[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["to_render"], "1041-1059,1075");
    // Nothing to render: nothing printed, exit 0.
    let (code, out, _) = run(
        &sh010,
        &[
            &check[..],
            &[
                "--frames",
                "1001-1040",
                "--outdated",
                "--format",
                "deadline",
            ],
        ]
        .concat(),
    );
    assert_eq!((code, out.as_str()), (0, ""));
    // --format needs --outdated, --outdated excludes --json.
    let (code, _, _) = run(&sh010, &[&check[..], &["--format", "nuke"]].concat());
    assert_eq!(code, 2);
    let (code, _, _) = run(&sh010, &[&check[..], &["--outdated", "--json"]].concat());
    assert_eq!(code, 2);
}

#[test]
fn renders_from_the_write_node_are_found_from_any_directory() {
    let (dir, show) = show();
    let sh020 = show.join("sh020");
    std::fs::create_dir_all(sh020.join("renders")).unwrap();
    for f in 1001..=1005 {
        std::fs::write(
            sh020.join(format!("renders/comp.{f}.exr")),
            format!("px {f}"),
        )
        .unwrap();
    }
    // No --render: Write1's file knob (renders/comp.%04d.exr, relative to the script).
    let (code, _, err) = run(
        dir.path(),
        &[
            "record",
            "show/sh020/comp.nk",
            "-n",
            "Write1",
            "--frames",
            "1001-1005",
            "--cache-dir",
            "show/sh020/cache",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let master: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sh020.join("cache/master/hash.json")).unwrap())
            .unwrap();
    let render = &master["frames"]["1001"]["render"];
    assert_eq!(render["path"], "../renders/comp.1001.exr");
    assert_eq!(render["base"], "cache-dir");
    // Checked from the shot's folder and from elsewhere: valid, then one missing.
    for (cwd, script, cache) in [
        (sh020.clone(), "comp.nk", "cache"),
        (
            dir.path().to_path_buf(),
            "show/sh020/comp.nk",
            "show/sh020/cache",
        ),
    ] {
        let (code, out, _) = run(
            &cwd,
            &[
                "check",
                script,
                "-n",
                "Write1",
                "--frames",
                "1001-1005",
                "--cache-dir",
                cache,
            ],
        );
        assert_eq!(code, 0, "{out}");
    }
    std::fs::remove_file(sh020.join("renders/comp.1003.exr")).unwrap();
    let (code, out, _) = run(
        dir.path(),
        &[
            "check",
            "show/sh020/comp.nk",
            "-n",
            "Write1",
            "--frames",
            "1001-1005",
            "--cache-dir",
            "show/sh020/cache",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "1003 missing-render: rendered file show/sh020/renders/comp.1003.exr is gone\n"
        ),
        "{out}"
    );

    // An old cache (render paths as given, absolute here, no "base") still reads.
    let mut old = master.clone();
    for f in old["frames"].as_object_mut().unwrap().values_mut() {
        let r = f["render"].as_object_mut().unwrap();
        let name = r["path"]
            .as_str()
            .unwrap()
            .trim_start_matches("../")
            .to_string();
        r.remove("base");
        r.insert(
            "path".into(),
            sh020.join(name).to_string_lossy().into_owned().into(),
        );
    }
    std::fs::write(
        sh020.join("cache/master/hash.json"),
        serde_json::to_vec_pretty(&old).unwrap(),
    )
    .unwrap();
    let (code, out, _) = run(
        &sh020,
        &[
            "check",
            "comp.nk",
            "-n",
            "Write1",
            "--frames",
            "1001-1005",
            "--cache-dir",
            "cache",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        out.starts_with("1001-1002 valid\n1003 missing-render"),
        "{out}"
    );
}

#[test]
fn record_before_anything_is_rendered_records_hashes_quietly() {
    let (_d, show) = show();
    let (code, out, err) = run(
        &show.join("sh030"),
        &["record", "comp.nk", "-n", "Write1", "--frames", "1001-1002"],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "recorded 2 frames (1001-1002) of Write1 into .smartcache/comp/Write1/master/hash.json (2 distinct hashes; master now holds 2 frames)\n"
    );
    // Rendered in part: the frames without a file are named.
    let sh030 = show.join("sh030");
    std::fs::create_dir_all(sh030.join("renders")).unwrap();
    std::fs::write(sh030.join("renders/comp.1001.exr"), "px").unwrap();
    let (code, _, err) = run(
        &sh030,
        &["record", "comp.nk", "-n", "Write1", "--frames", "1001-1002"],
    );
    assert_eq!(
        (code, err.as_str()),
        (
            0,
            "warning: no rendered file for frames 1002: their renders were not recorded\n"
        )
    );
}

/// Whether chromium is installed; when it is not, the test fails if
/// SMARTCACHE_REQUIRE_CHROMIUM=1 (as in CI), else it is skipped with a message.
fn chromium() -> Option<&'static str> {
    let found = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("chromium");
    }
    if std::env::var("SMARTCACHE_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("chromium is not installed and SMARTCACHE_REQUIRE_CHROMIUM=1: apt-get install -y chromium");
    }
    eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium); the report was not rendered");
    None
}

/// How many times `needle` occurs in `hay`.
fn occurrences(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn report_renders_in_headless_chromium_with_a_strip_per_cache() {
    let (dir, show) = show();
    let (code, _, err) = run(dir.path(), &["report", "show", "-o", "report.html"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err, "wrote report.html (3 caches)\n");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // Self-contained: nothing fetched.
    for outside in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }
    assert!(snapshot_dirs(&show.join("sh010/.smartcache/comp/Write1")).is_empty());

    let Some(browser) = chromium() else {
        return;
    };
    let url = format!("file://{}", dir.path().join("report.html").display());
    let profile = dir.path().join("chromium-profile");
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ];
    let user_dir = format!("--user-data-dir={}", profile.display());
    let out = std::process::Command::new(browser)
        .args(base)
        .arg(&user_dir)
        .args(["--virtual-time-budget=2000", "--dump-dom", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    // The page's script ran.
    assert!(dom.contains("data-ready=\"yes\""), "the script did not run");
    // One strip per recorded cache (the never-recorded one is only in the table).
    assert_eq!(occurrences(&dom, "<div class=\"strip\""), 3);
    assert_eq!(occurrences(&dom, "<section class=\"cache\""), 3);
    assert_eq!(occurrences(&dom, "data-frame=\""), 300);
    assert_eq!(occurrences(&dom, "data-status=\"outdated\" title="), 19);
    assert_eq!(occurrences(&dom, "data-status=\"uncached\" title="), 50);
    assert_eq!(occurrences(&dom, "data-status=\"valid\" title="), 231);
    // Reasons: on hover (title) and in the list, with the node path.
    assert!(dom.contains(
        "title=\"1041: 1041-1059 outdated\nGrade1.white key at 1050 changed 1.2 -&gt; 1.4\""
    ));
    assert!(dom.contains(
        "<li data-first=\"1041\" data-last=\"1059\" data-status=\"outdated\"><b>1041-1059</b> outdated<ul><li>Grade1.white key at 1050 changed 1.2 -&gt; 1.4 <code class=\"node\">Grade1</code></li></ul></li>"
    ));
    // The summary table: a row per cache, the unrecorded one included.
    assert_eq!(occurrences(&dom, "<tr data-row="), 4);
    assert!(dom.contains("<span class=\"badge no-cache\">no cache</span>"));

    // A screenshot, kept as an artifact of the test run.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    let _ = std::fs::remove_file(&png);
    let out = std::process::Command::new(browser)
        .args(base)
        .arg(&user_dir)
        .args(["--window-size=1280,1000", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        png.display()
    );
    std::fs::copy(dir.path().join("report.html"), shots.join("report.html")).unwrap();
    eprintln!("report screenshot: {}", png.display());
}

#[test]
fn check_on_a_colour_terminal_shows_a_strip() {
    let (_d, show) = show();
    let (code, out, _) = run(
        &show.join("sh010"),
        &[
            "--color",
            "always",
            "check",
            "comp.nk",
            "-n",
            "Write1",
            "--frames",
            "1038-1042",
        ],
    );
    assert_eq!(code, 1);
    let last = out.lines().last().unwrap();
    assert_eq!(last, "\x1b[32m███\x1b[33m██\x1b[0m");
    // No colour: no strip, and NO_COLOR counts only when non-empty.
    let (_, out, _) = run(
        &show.join("sh010"),
        &["check", "comp.nk", "-n", "Write1", "--frames", "1038-1042"],
    );
    assert!(!out.contains('█') && !out.contains('\x1b'), "{out}");
    let out = smartcache()
        .current_dir(show.join("sh010"))
        .env("NO_COLOR", "")
        .args([
            "--color",
            "never",
            "check",
            "comp.nk",
            "-n",
            "Write1",
            "--frames",
            "1038-1042",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains('\x1b'));
}

#[test]
fn completions_and_man_page_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let expect = [
        ("bash", "complete -F _smartcache"),
        ("zsh", "#compdef smartcache"),
        ("fish", "complete -c smartcache"),
    ];
    for (shell, marker) in expect {
        let (code, out, err) = run(dir.path(), &["completions", shell]);
        assert_eq!((code, err.as_str()), (0, ""), "{shell}");
        assert!(out.contains(marker), "{shell}: {marker} missing");
        for sub in ["status", "report", "record", "check", "completions"] {
            assert!(out.contains(sub), "{shell}: {sub} missing");
        }
    }
    let (code, out, _) = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!((code, out.as_str()), (2, ""));
    let (code, man, _) = run(dir.path(), &["man"]);
    assert_eq!(code, 0);
    assert!(
        man.contains(".TH smartcache 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains(".SH NAME") && man.contains(".SH SUBCOMMANDS"));
    assert!(man.contains("smartcache\\-status"));
}

#[test]
fn every_subcommand_help_has_examples() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 20] = [
        &["graph"],
        &["convert"],
        &["rules"],
        &["classes"],
        &["manifest"],
        &["record"],
        &["check"],
        &["explain"],
        &["snapshots"],
        &["prune"],
        &["status"],
        &["report"],
        &["dataset"],
        &["dataset", "status"],
        &["dataset", "build"],
        &["dataset", "get"],
        &["dataset", "export"],
        &["dataset", "verify"],
        &["completions"],
        &["man"],
    ];
    for cmd in commands {
        let (code, out, _) = run(dir.path(), &[cmd, &["--help"]].concat());
        assert_eq!(code, 0, "{cmd:?}");
        assert!(
            out.contains("\nExamples:\n  smartcache "),
            "{cmd:?} --help: {out}"
        );
    }
}

#[test]
fn json_is_accepted_by_graph_check_and_manifest() {
    let (_d, show) = show();
    let sh010 = show.join("sh010");
    let (code, out, _) = run(&sh010, &["graph", "--check", "--json", "comp.nk"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["files"].as_u64(), v["ok"].as_u64()), (Some(1), Some(1)));
    assert_eq!(v["failed"], serde_json::json!([]));
    std::fs::write(sh010.join("bad.nk"), "Blur {\n").unwrap();
    let (code, out, _) = run(&sh010, &["graph", "--check", "--json", "comp.nk", "bad.nk"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["failed"][0]["path"], "bad.nk");
    let (code, with, _) = run(
        &sh010,
        &[
            "manifest", "comp.nk", "-n", "Write1", "-f", "1001", "--json",
        ],
    );
    let (_, without, _) = run(
        &sh010,
        &["manifest", "comp.nk", "-n", "Write1", "-f", "1001"],
    );
    assert_eq!((code, &with), (0, &without));
}

#[test]
fn error_messages_point_at_the_mistake() {
    let (_d, show) = show();
    let sh010 = show.join("sh010");
    let mut all = String::new();
    let cases: [&[&str]; 5] = [
        &["record", "comp.nk", "--node", "Wirte1"],
        &["check", "comp.nk", "--node", "grade1"],
        &[
            "check",
            "comp.nk",
            "--node",
            "Write1",
            "--frames",
            "1001-1010x0",
        ],
        &[
            "check",
            "comp.nk",
            "--node",
            "Write1",
            "--frames",
            "1001, 1002-10o5",
        ],
        &[
            "check",
            "comp.nk",
            "--node",
            "Write1",
            "--frames",
            "990-1001",
            "--outdated",
        ],
    ];
    for args in cases {
        let (code, out, err) = run(&sh010, args);
        all.push_str(&format!(
            "$ smartcache {}\nexit {code}\n{out}{err}\n",
            args.join(" ")
        ));
    }
    // explain of a frame the newest snapshot did not check names those that did.
    let cache = ".smartcache/comp/Write1";
    run(
        &sh010,
        &["check", "comp.nk", "-n", "Write1", "--frames", "1050"],
    );
    run(
        &sh010,
        &["check", "comp.nk", "-n", "Write1", "--frames", "1001"],
    );
    for args in [
        &["explain", cache, "--frame", "1050"][..],
        &["explain", cache, "--frame", "1099"][..],
    ] {
        let (code, out, err) = run(&sh010, args);
        all.push_str(&format!(
            "$ smartcache {}\nexit {code}\n{out}{err}\n",
            args.join(" ")
        ));
    }
    insta::assert_snapshot!(all);
}
