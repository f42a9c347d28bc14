//! End to end: the files a frame reads, resolved as Nuke resolves them (Tcl and
//! environment variables in paths, the project directory, stereo views, proxy mode,
//! `nearest frame`), the files of other nodes (LUTs, fonts), the OCIO config every
//! frame reads, and what is said about paths that cannot be verified. Record, change a
//! file on disk, check: exactly the frames that read it are outdated, naming it.

mod common;
use common::*;
use std::path::{Path, PathBuf};

struct Shot {
    _dir: tempfile::TempDir,
    root: PathBuf,
    script: &'static str,
    env: Vec<(String, String)>,
}

impl Shot {
    /// A copy of `fixtures/files/<script>` whose `@ROOT@` is the shot's directory, with
    /// every file the fixtures read.
    fn new(script: &'static str) -> Shot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shot");
        std::fs::create_dir_all(&root).unwrap();
        let text = std::fs::read_to_string(fixtures().join("files").join(script)).unwrap();
        std::fs::write(
            root.join(script),
            text.replace("@ROOT@", root.to_str().unwrap()),
        )
        .unwrap();
        let shot = Shot {
            _dir: dir,
            env: vec![(
                "SHOW_ROOT".into(),
                root.join("show").to_str().unwrap().into(),
            )],
            root,
            script,
        };
        for f in 1..=4 {
            for dir in ["project/plates/p", "shot/p", "show/plates/p"] {
                shot.write(&format!("{dir}.{f:04}.exr"), &format!("{dir} {f}"));
            }
            for view in ["left", "right"] {
                shot.write(&format!("project/stereo/{view}/s.{f:04}.exr"), view);
            }
            if f != 3 {
                shot.write(
                    &format!("project/plates/gappy.{f:04}.exr"),
                    &format!("g{f}"),
                );
            }
        }
        for f in 1..=2 {
            shot.write(&format!("plates/full.{f:04}.exr"), "full");
            shot.write(&format!("plates/small.{f:04}.exr"), "small");
        }
        shot.write("project/luts/grade.cube", "LUT_3D_SIZE 2");
        shot.write("project/fonts/Sans.ttf", "font");
        shot.write(
            "config/config.ocio",
            "ocio_profile_version: 1\nsearch_path: luts\nroles:\n  default: raw\n",
        );
        shot.write("config/luts/a.cube", "a");
        shot.write("config/luts/b.spi1d", "b");
        shot
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = smartcache();
        cmd.current_dir(&self.root).args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
            String::from_utf8(out.stderr)
                .unwrap()
                .replace(self.root.to_str().unwrap(), "<ROOT>"),
        )
    }

    /// Record `node` over `frames`; returns standard error (the warnings).
    fn record(&self, node: &str, frames: &str) -> String {
        let cache = format!("cache-{node}");
        let args = [
            "record",
            self.script,
            "--node",
            node,
            "--cache-dir",
            &cache,
            "--frames",
            frames,
        ];
        let (code, out, err) = self.run(&args);
        assert_eq!(code, 0, "{out}{err}");
        err
    }

    /// Check `node`: the report without its summary line.
    fn check(&self, node: &str, frames: &str, extra: &[&str]) -> String {
        let cache = format!("cache-{node}");
        let mut args = vec![
            "check",
            self.script,
            "--node",
            node,
            "--cache-dir",
            &cache,
            "--frames",
            frames,
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = self.run(&args);
        assert!(code == 0 || code == 1, "{out}{err}");
        let out = out.replace(self.root.to_str().unwrap(), "<ROOT>");
        let lines: Vec<&str> = out.lines().collect();
        lines[..lines.len() - 1].join("\n")
    }
}

#[test]
fn paths_with_tcl_environment_variables_and_the_project_directory() {
    let s = Shot::new("paths.nk");
    for node in [
        "ReadTcl",
        "ReadDirname",
        "ReadEnv",
        "ReadGetenv",
        "ReadRelative",
    ] {
        assert_eq!(s.record(node, "1-4"), "", "{node}");
    }
    s.write("project/plates/p.0002.exr", "re-rendered");
    s.write("shot/p.0003.exr", "re-rendered");
    s.write("show/plates/p.0004.exr", "re-rendered");
    assert_eq!(
        s.check("ReadTcl", "1-4", &[]),
        "1 valid\n2 outdated: ReadTcl source file changed on disk \
         (<ROOT>/project/plates/p.0002.exr)\n3-4 valid"
    );
    // A relative path is taken from the project directory.
    assert_eq!(
        s.check("ReadRelative", "1-4", &[]),
        "1 valid\n2 outdated: ReadRelative source file changed on disk \
         (<ROOT>/project/plates/p.0002.exr)\n3-4 valid"
    );
    assert_eq!(
        s.check("ReadDirname", "1-4", &[]),
        "1-2 valid\n3 outdated: ReadDirname source file changed on disk \
         (<ROOT>/shot/p.0003.exr)\n4 valid"
    );
    for node in ["ReadEnv", "ReadGetenv"] {
        assert_eq!(
            s.check(node, "1-4", &[]),
            format!(
                "1-3 valid\n4 outdated: {node} source file changed on disk \
                 (<ROOT>/show/plates/p.0004.exr)"
            )
        );
    }
}

#[test]
fn an_environment_variable_in_a_path_is_part_of_the_frame() {
    let mut s = Shot::new("paths.nk");
    s.record("ReadEnv", "1-2");
    // Another show root with the same plates' content: the files' contents are the
    // same, but the variable (and so the paths) moved.
    std::fs::create_dir_all(s.root.join("elsewhere")).unwrap();
    for f in 1..=2 {
        s.write(
            &format!("elsewhere/plates/p.{f:04}.exr"),
            &format!("show/plates/p {f}"),
        );
    }
    s.env[0].1 = s.root.join("elsewhere").to_str().unwrap().into();
    let out = s.check("ReadEnv", "1-2", &[]);
    assert!(
        out.starts_with("1 outdated:\n  ReadEnv.file reads SHOW_ROOT, which changed"),
        "{out}"
    );
}

#[test]
fn stereo_views_are_each_read() {
    let s = Shot::new("paths.nk");
    s.record("ReadViews", "1-4");
    s.write("project/stereo/right/s.0002.exr", "re-rendered");
    assert_eq!(
        s.check("ReadViews", "1-4", &[]),
        "1 valid\n2 outdated: ReadViews source file changed on disk \
         (<ROOT>/project/stereo/right/s.0002.exr)\n3-4 valid"
    );
}

#[test]
fn a_path_that_cannot_be_resolved_is_warned_about_listed_and_strict_outdates() {
    let s = Shot::new("paths.nk");
    assert_eq!(
        s.record("ReadPython", "1-2"),
        "warning: ReadPython.file: [python nuke.script_directory()]/p.%04d.exr cannot be \
         verified: file cannot be evaluated: `[python nuke.script_directory()]` (not \
         evaluated): runs code or reads files: never evaluated (frames 1-2)\n"
    );
    assert_eq!(s.check("ReadPython", "1-2", &[]), "1-2 valid");
    let (code, out, _) = s.run(&[
        "check",
        "paths.nk",
        "--node",
        "ReadPython",
        "--cache-dir",
        "cache-ReadPython",
        "--frames",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["frames"][0]["unverifiable"][0]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("ReadPython.file")
    );
    assert_eq!(
        s.check("ReadPython", "1-2", &["--strict"]),
        "1-2 outdated: strict: ReadPython.file: file cannot be evaluated: `[python \
         nuke.script_directory()]` (not evaluated): runs code or reads files: never evaluated"
    );
}

#[test]
fn a_file_missing_at_record_is_recorded_as_missing_and_its_arrival_is_a_change() {
    let s = Shot::new("paths.nk");
    assert_eq!(
        s.record("ReadMissing", "1-2"),
        "warning: ReadMissing.file: <ROOT>/project/plates/late.0001.exr is missing \
         (recorded as missing) (frames 1-2)\n"
    );
    assert_eq!(s.check("ReadMissing", "1-2", &[]), "1-2 valid");
    s.write("project/plates/late.0002.exr", "arrived");
    assert_eq!(
        s.check("ReadMissing", "1-2", &[]),
        "1 valid\n2 outdated: ReadMissing source file appeared \
         (<ROOT>/project/plates/late.0002.exr)"
    );
}

#[test]
fn nearest_frame_reads_the_nearest_existing_file() {
    let s = Shot::new("paths.nk");
    s.record("ReadNearest", "1-4");
    // Frame 3 is missing: it shows frame 2 or 4 (as near), so both count for it.
    s.write("project/plates/gappy.0004.exr", "re-rendered");
    assert_eq!(
        s.check("ReadNearest", "1-4", &[]),
        "1-2 valid\n3-4 outdated: ReadNearest source file changed on disk \
         (<ROOT>/project/plates/gappy.0004.exr)"
    );
}

#[test]
fn luts_and_fonts_are_files_of_every_frame() {
    let s = Shot::new("paths.nk");
    s.record("Lut", "1-2");
    s.record("Title", "1-2");
    s.write("project/fonts/Sans.ttf", "other font");
    assert_eq!(s.check("Lut", "1-2", &[]), "1-2 valid");
    assert_eq!(
        s.check("Title", "1-2", &[]),
        "1-2 outdated: Title source file changed on disk (<ROOT>/project/fonts/Sans.ttf)"
    );
    // The Text reads the LUT's node upstream: both count for it.
    s.write("project/luts/grade.cube", "LUT_3D_SIZE 3");
    assert_eq!(
        s.check("Lut", "1-2", &[]),
        "1-2 outdated: Lut source file changed on disk (<ROOT>/project/luts/grade.cube)"
    );
}

#[test]
fn in_proxy_mode_the_proxy_file_is_read() {
    let s = Shot::new("proxy.nk");
    s.record("ReadProxy", "1-2");
    s.write("plates/full.0001.exr", "changed");
    assert_eq!(s.check("ReadProxy", "1-2", &[]), "1-2 valid");
    s.write("plates/small.0001.exr", "changed");
    assert_eq!(
        s.check("ReadProxy", "1-2", &[]),
        "1 outdated: ReadProxy source file changed on disk (plates/small.0001.exr)\n2 valid"
    );
}

#[test]
fn the_ocio_config_and_its_luts_are_read_by_every_frame() {
    let s = Shot::new("ocio.nk");
    s.record("G", "1-2");
    s.write("config/luts/b.spi1d", "changed");
    assert_eq!(
        s.check("G", "1-2", &[]),
        "1-2 outdated: Root source file changed on disk (config/luts/b.spi1d)"
    );
    s.write(
        "config/config.ocio",
        "ocio_profile_version: 2\nsearch_path: luts\n",
    );
    assert_eq!(
        s.check("G", "1-2", &[]),
        "1-2 outdated:\n  Root source file changed on disk (config/config.ocio)\n  \
         Root source file changed on disk (config/luts/b.spi1d)"
    );
}

#[test]
fn without_a_custom_config_the_one_ocio_names_is_read() {
    let mut s = Shot::new("env_ocio.nk");
    let config = s.root.join("config/config.ocio");
    s.env.push(("OCIO".into(), config.to_str().unwrap().into()));
    s.record("C", "1");
    s.write("config/luts/a.cube", "changed");
    assert_eq!(
        s.check("C", "1", &[]),
        "1 outdated: Root source file changed on disk (<ROOT>/config/luts/a.cube)"
    );
}

#[test]
fn the_manifest_lists_each_file_with_its_fingerprint() {
    let s = Shot::new("ocio.nk");
    let (code, out, _) = s.run(&["manifest", "ocio.nk", "--node", "G", "--frame", "1"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<(String, String)> = v["root_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["knob"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("config/config.ocio".into(), "customOCIOConfigPath".into()),
            (
                "config/luts/a.cube".into(),
                "customOCIOConfigPath search_path".into()
            ),
            (
                "config/luts/b.spi1d".into(),
                "customOCIOConfigPath search_path".into()
            ),
        ]
    );
    assert_eq!(
        v["root_files"][0]["state"]["content"],
        smartcache::hash::hex128(
            b"ocio_profile_version: 1\nsearch_path: luts\nroles:\n  default: raw\n"
        )
    );
}

#[allow(dead_code)]
fn unused(_: &Path) {}
