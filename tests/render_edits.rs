//! End to end: record a cache of fixtures/render/comp.nk, make one kind of edit, check,
//! and compare the report with exactly the frames and explanations expected.

mod common;
use common::*;
use std::path::PathBuf;

/// A temporary copy of the render fixtures with a recorded master.
struct Shot {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Shot {
    fn recorded() -> Shot {
        Self::recorded_with(&[])
    }

    fn recorded_with(env: &[(&str, &str)]) -> Shot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shot");
        copy_tree(&fixtures().join("render"), &root);
        let shot = Shot { _dir: dir, root };
        let mut cmd = smartcache();
        cmd.current_dir(&shot.root).args([
            "record",
            "comp.nk",
            "--node",
            "Write1",
            "--cache-dir",
            "cache",
        ]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.assert().success();
        shot
    }

    fn script(&self) -> PathBuf {
        self.root.join("comp.nk")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Run `check`, return (exit code, stdout with snapshot ids redacted).
    fn check(&self, extra: &[&str]) -> (i32, String) {
        let out = smartcache()
            .current_dir(&self.root)
            .args([
                "check",
                "comp.nk",
                "--node",
                "Write1",
                "--cache-dir",
                "cache",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            out.status.code().unwrap(),
            redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
        )
    }
}

fn all_valid(code: i32, out: &str) {
    assert_eq!(
        (code, out),
        (
            0,
            "1001-1100 valid\n1001-1100 of Write1: 100 valid (snapshot <SNAPSHOT>)\n"
        ),
        "{out}"
    );
}

#[test]
fn unchanged_script_is_valid() {
    let shot = Shot::recorded();
    let (code, out) = shot.check(&[]);
    all_valid(code, &out);
}

#[test]
fn knob_value_change_outdates_every_frame_and_names_the_knob() {
    let shot = Shot::recorded();
    edit(&shot.script(), "operation over", "operation plus");
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1100 outdated: Merge1.operation changed over -> plus\n\
         1001-1100 of Write1: 100 outdated (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn key_change_outdates_exactly_the_frames_it_can_move() {
    let shot = Shot::recorded();
    edit(&shot.script(), "x1050 1.2", "x1050 1.4");
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    // Linear segments 1040-1050 and 1050-1060 move; frames 1040 and 1060 sit on their
    // own keys, and nothing in the comp samples its knobs between frames.
    assert_eq!(
        out,
        "1001-1040 valid\n\
         1041-1059 outdated: Grade1.white key at 1050 changed 1.2 -> 1.4\n\
         1060-1100 valid\n\
         1001-1100 of Write1: 81 valid, 19 outdated (snapshot <SNAPSHOT>)\n"
    );
    // Frames outside the key's influence stay valid when checked alone.
    let (code, out) = shot.check(&["--frames", "1001-1030,1070-1100x10"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn referenced_value_change_is_explained_through_the_expression() {
    let shot = Shot::recorded();
    edit(&shot.script(), "blur_size 4", "blur_size 6");
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1100 outdated: Blur1.size reads Controls.blur_size, which changed 4 -> 6\n\
         1001-1100 of Write1: 100 outdated (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn unreferenced_knob_of_a_referenced_node_is_not_a_change() {
    let shot = Shot::recorded();
    edit(&shot.script(), "unused_value 1", "unused_value 2");
    let (code, out) = shot.check(&[]);
    all_valid(code, &out);
}

#[test]
fn rewire_is_explained() {
    let shot = Shot::recorded();
    edit(
        &shot.script(),
        " name Grade1\n xpos 0\n ypos -100\n}\n",
        " name Grade1\n xpos 0\n ypos -100\n}\nset N2 [stack 0]\n",
    );
    edit(&shot.script(), "push $N1\nTransform", "push $N2\nTransform");
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1100 outdated: Transform1 inputs rewired: [Read1] -> [Grade1]\n\
         1001-1100 of Write1: 100 outdated (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn disabling_outdates_and_editing_a_disabled_node_does_not() {
    let shot = Shot::recorded();
    edit(&shot.script(), "multiply 1.5", "multiply 3");
    let (code, out) = shot.check(&[]);
    all_valid(code, &out);

    edit(
        &shot.script(),
        " name Blur1\n",
        " disable true\n name Blur1\n",
    );
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1100 outdated: Blur1.disable changed false -> true\n\
         1001-1100 of Write1: 100 outdated (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn cosmetic_edits_and_unrelated_nodes_are_not_changes() {
    let shot = Shot::recorded();
    let text = std::fs::read_to_string(shot.script()).unwrap();
    // Move every node, rename one, relabel, recolour, select, add an unrelated node.
    let moved: String = text
        .lines()
        .map(|l| match l.trim_start().split_once(' ') {
            Some(("xpos" | "ypos", v)) => format!(" xpos {}", v.parse::<i64>().unwrap() + 37)
                .replace(" xpos", if l.contains("ypos") { " ypos" } else { " xpos" }),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let edited = moved.replace("name Grade1", "name Grade_main").replace(
        "label \"soften edges\"",
        "label \"softer edges\"\n selected true\n tile_color 0xff0000ff",
    ) + "\nGrade {\n inputs 0\n name Scratch_grade\n}\n";
    std::fs::write(shot.script(), edited).unwrap();
    let (code, out) = shot.check(&[]);
    all_valid(code, &out);
}

#[test]
fn removing_a_dot_is_not_a_change() {
    let shot = Shot::recorded();
    edit(
        &shot.script(),
        "Dot {\n name Dot1\n xpos 34\n ypos -200\n}\n",
        "",
    );
    let (code, out) = shot.check(&[]);
    all_valid(code, &out);
}

#[test]
fn ignore_rule_change_is_named() {
    let shot = Shot::recorded();
    std::fs::write(
        shot.path("more.rules"),
        "knob Merge2:operation  # experiment\n",
    )
    .unwrap();
    let (code, out) = shot.check(&["--rules", "more.rules"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1100 outdated:\n  \
         Merge1.operation changed over -> (default)\n  \
         the ignore rules changed\n\
         1001-1100 of Write1: 100 outdated (snapshot <SNAPSHOT>)\n"
    );
}

#[test]
fn plate_changed_on_disk_outdates_the_frames_that_read_it() {
    let shot = Shot::recorded();
    std::fs::write(shot.path("plates/plate.1050.png"), b"re-rendered plate\n").unwrap();
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1001-1049 valid\n\
         1050 outdated: Read1 source file changed on disk (plates/plate.1050.png)\n\
         1051-1100 valid\n\
         1001-1100 of Write1: 99 valid, 1 outdated (snapshot <SNAPSHOT>)\n"
    );
    // Checked from another directory, with the script named by another path: the same.
    let (code, out) = {
        let out = smartcache()
            .current_dir(shot.root.parent().unwrap())
            .args([
                "check",
                "shot/comp.nk",
                "--node",
                "Write1",
                "--cache-dir",
                "shot/cache",
            ])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            redact_snapshots(&String::from_utf8(out.stdout).unwrap()),
        )
    };
    assert_eq!(code, 1);
    assert!(out.starts_with("1001-1049 valid\n1050 outdated: Read1 source file changed on disk (plates/plate.1050.png)\n"), "{out}");
}

#[test]
fn without_kept_manifests_explanations_degrade_gracefully() {
    let env = [("CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE", "True")];
    let shot = Shot::recorded_with(&env);
    assert!(!shot.path("cache/manifests").exists());
    assert!(shot.path("cache/master/hash.json").is_file());
    edit(&shot.script(), "operation over", "operation plus");
    let (code, out) = shot.check(&[]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("1001-1100 outdated: the frame changed; manifest not kept"),
        "{out}"
    );
}
