//! End to end: gizmos loaded from the plugin path and scripts read by Precomp nodes
//! count node by node; a class found nowhere is said, and `--strict` outdates it.

mod common;
use common::*;
use std::path::PathBuf;

struct Shot {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Shot {
    fn new() -> Shot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shot");
        copy_tree(&fixtures().join("plugins"), &root);
        Shot { _dir: dir, root }
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = smartcache();
        cmd.current_dir(&self.root)
            .env_remove("NUKE_PATH")
            .env("HOME", &self.root)
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn cmd(&self, what: &str, node: &str, extra: &[&str]) -> (i32, String, String) {
        let cache = format!("cache-{node}");
        let mut args = vec![
            what,
            "comp.nk",
            "--node",
            node,
            "--cache-dir",
            &cache,
            "--frames",
            "1-3",
            "--plugin-path",
            "gizmos",
        ];
        args.extend_from_slice(extra);
        self.run(&[], &args)
    }

    fn check(&self, node: &str, extra: &[&str]) -> String {
        let (code, out, err) = self.cmd("check", node, extra);
        assert!(code == 0 || code == 1, "{out}{err}");
        let lines: Vec<&str> = out.lines().collect();
        lines[..lines.len() - 1].join("\n")
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        edit(&self.root.join(rel), from, to);
    }
}

#[test]
fn a_gizmo_on_the_plugin_path_counts_node_by_node() {
    let s = Shot::new();
    let (code, _, err) = s.cmd("record", "Glow1", &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(s.check("Glow1", &[]), "1-3 valid");
    // Moving a node inside the gizmo changes nothing.
    s.edit(
        "gizmos/effects/GlowTool.gizmo",
        "  xpos 0\n }\n SoftGrade",
        "  xpos 90\n }\n SoftGrade",
    );
    assert_eq!(s.check("Glow1", &[]), "1-3 valid");
    // The instance's knob, read by the gizmo's Blur.
    s.edit("comp.nk", " size 3\n", " size 4\n");
    assert_eq!(
        s.check("Glow1", &[]),
        "1-3 outdated: Glow1.Blur1.size reads parent.size, which changed 3 -> 4"
    );
    // A gizmo inside the gizmo, from its own file.
    s.edit("gizmos/SoftGrade.gizmo", "white 1.1", "white 1.2");
    assert!(
        s.check("Glow1", &[])
            .contains("Glow1.Soft1.Lift.white changed 1.1 -> 1.2"),
        "{}",
        s.check("Glow1", &[])
    );
}

#[test]
fn nuke_path_is_searched_too() {
    let s = Shot::new();
    let args = [
        "record",
        "comp.nk",
        "--node",
        "Glow1",
        "--cache-dir",
        "c",
        "--frames",
        "1",
    ];
    let (code, _, err) = s.run(&[("NUKE_PATH", "elsewhere:gizmos")], &args);
    assert_eq!((code, err.as_str()), (0, ""));
    let (_, out, _) = s.run(
        &[("NUKE_PATH", "gizmos")],
        &["graph", "comp.nk", "--upstream", "Glow1", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let origins: Vec<(String, String)> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| {
            Some((
                n["name"].as_str()?.to_string(),
                n["origin"].as_str()?.to_string(),
            ))
        })
        .collect();
    assert!(origins.contains(&("Glow1".into(), "gizmos/effects/GlowTool.gizmo".into())));
    assert!(origins.contains(&("Glow1.Soft1.Lift".into(), "gizmos/SoftGrade.gizmo".into())));
}

#[test]
fn a_class_found_nowhere_is_said_and_strict_outdates_it() {
    let s = Shot::new();
    let (code, out, err) = s.cmd("record", "Write1", &["--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err,
        "warning: class MysteryPlugin found neither in the node-class profile nor as a \
         gizmo on the plugin path: what it does to a frame is assumed (frame-local, half a \
         frame of motion blur), not known\n"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["unknown_classes"], serde_json::json!(["MysteryPlugin"]));
    assert_eq!(s.check("Write1", &[]), "1-3 valid");
    assert_eq!(
        s.check("Write1", &["--strict"]),
        "1-3 outdated: strict: class MysteryPlugin is not known to the profile"
    );
}

#[test]
fn a_precomp_reads_its_script_node_by_node_with_its_own_folder() {
    let s = Shot::new();
    let (code, out, err) = s.cmd("record", "WritePre", &[]);
    assert_eq!(code, 0, "{out}{err}");
    s.edit("precomp/sub.nk", "white 1.3", "white 1.4");
    assert_eq!(
        s.check("WritePre", &[]),
        "1-3 outdated: Precomp1.GradeBg.white changed 1.3 -> 1.4"
    );
    s.edit("precomp/sub.nk", "white 1.4", "white 1.3");
    std::fs::write(s.root.join("precomp/plates/bg.0002.exr"), "re-rendered").unwrap();
    let out = s.check("WritePre", &[]);
    assert!(
        out.starts_with("1 valid\n2 outdated: Precomp1.ReadBg source file changed on disk"),
        "{out}"
    );
    assert!(
        out.contains("precomp/plates/bg.0002.exr)\n3 valid"),
        "{out}"
    );
}

#[test]
fn a_missing_nested_script_is_an_error_for_what_reads_it_only() {
    let s = Shot::new();
    let (code, _, err) = s.cmd("record", "Broken", &[]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: Broken.file: nested script ")
            && err.contains("precomp/missing.nk does not exist"),
        "{err}"
    );
    let (code, _, err) = s.cmd("record", "Glow1", &[]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn a_nested_script_that_includes_itself_is_an_error() {
    let s = Shot::new();
    std::fs::write(
        s.root.join("loop.nk"),
        "Precomp {\n inputs 0\n file loop.nk\n name Again\n}\n",
    )
    .unwrap();
    let (code, _, err) = s.run(
        &[],
        &[
            "record",
            "loop.nk",
            "--node",
            "Again",
            "--cache-dir",
            "c",
            "--frames",
            "1",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("includes itself"), "{err}");
}
