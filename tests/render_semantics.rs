//! End to end, per node-class semantic: record a cache of a fixture script under
//! `fixtures/semantics/`, make one edit, check, and compare with exactly the frames
//! (and explanation) the edit can change.

mod common;
use common::*;
use std::path::PathBuf;

/// A temporary copy of a semantics fixture and a cache per output node.
struct Comp {
    _dir: tempfile::TempDir,
    root: PathBuf,
    script: &'static str,
}

impl Comp {
    fn new(script: &'static str) -> Comp {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shot");
        copy_tree(&fixtures().join("semantics"), &root);
        Comp {
            _dir: dir,
            root,
            script,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(&[], args)
    }

    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = smartcache();
        cmd.current_dir(&self.root).args(args);
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

    /// Record `node` (its cache is `cache-<node>`) over `frames`.
    fn record(&self, node: &str, frames: &str) -> &Self {
        self.record_env(node, frames, &[])
    }

    fn record_env(&self, node: &str, frames: &str, env: &[(&str, &str)]) -> &Self {
        let cache = format!("cache-{node}");
        let (code, out, err) = self.run_env(
            env,
            &[
                "record",
                self.script,
                "--node",
                node,
                "--cache-dir",
                &cache,
                "--frames",
                frames,
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        self
    }

    /// Check `node` over `frames`: the report's lines, snapshot ids redacted, without
    /// the summary line.
    fn check(&self, node: &str, frames: &str) -> String {
        self.check_env(node, frames, &[])
    }

    fn check_env(&self, node: &str, frames: &str, env: &[(&str, &str)]) -> String {
        let cache = format!("cache-{node}");
        let (code, out, err) = self.run_env(
            env,
            &[
                "check",
                self.script,
                "--node",
                node,
                "--cache-dir",
                &cache,
                "--frames",
                frames,
            ],
        );
        assert!(code == 0 || code == 1, "{out}{err}");
        assert_eq!(code == 0, out.contains(" valid (snapshot"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        lines[..lines.len() - 1].join("\n")
    }

    fn edit(&self, from: &str, to: &str) -> &Self {
        edit(&self.path(self.script), from, to);
        self
    }

    fn restore(&self) -> &Self {
        std::fs::copy(
            fixtures().join("semantics").join(self.script),
            self.path(self.script),
        )
        .unwrap();
        self
    }
}

// --- Groups and gizmos as the cached output -------------------------------------------------

#[test]
fn a_group_output_tracks_what_its_output_child_depends_on() {
    let c = Comp::new("groups.nk");
    c.record("Tool", "1-10");
    c.edit("white 1.5", "white 1.6");
    assert_eq!(
        c.check("Tool", "1-10"),
        "1-10 outdated: Tool.InnerGrade.white changed 1.5 -> 1.6"
    );
    c.restore().edit("color {1 0 0 1}", "color {0 1 0 1}");
    assert_eq!(
        c.check("Tool", "1-10"),
        "1-10 outdated: Plate.color changed {1 0 0 1} -> {0 1 0 1}"
    );
    c.restore().edit("amount 2", "amount 3");
    assert_eq!(
        c.check("Tool", "1-10"),
        "1-10 outdated: Tool.InnerBlur.size reads parent.amount, which changed 2 -> 3"
    );
    // A user knob nothing reads, and the group's position, are not changes.
    c.restore()
        .edit("unused 1", "unused 5")
        .edit("xpos 100", "xpos 300");
    assert_eq!(c.check("Tool", "1-10"), "1-10 valid");
}

#[test]
fn a_gizmo_output_tracks_its_children() {
    let c = Comp::new("groups.nk");
    c.record("Giz", "1-10");
    c.edit("saturation 0.5", "saturation 0.25");
    assert_eq!(
        c.check("Giz", "1-10"),
        "1-10 outdated: Giz.Sat.saturation changed 0.5 -> 0.25"
    );
    c.restore().edit("note_only 3", "note_only 4");
    assert_eq!(c.check("Giz", "1-10"), "1-10 valid");
}

#[test]
fn a_disabled_group_passes_its_input_through() {
    let c = Comp::new("groups.nk");
    c.edit("unused 1\n", "unused 1\n disable true\n");
    c.record("Write1", "1-10");
    // Inside the disabled group: no pixel can change.
    c.edit("white 1.5", "white 1.6");
    assert_eq!(c.check("Write1", "1-10"), "1-10 valid");
    // Enabling it is a change, named.
    c.edit("disable true", "disable false");
    assert_eq!(
        c.check("Write1", "1-10"),
        "1-10 outdated: Tool.disable changed true -> false"
    );
}

// --- Time -----------------------------------------------------------------------------------

#[test]
fn a_frame_hold_reads_the_held_frame_under_either_knob_name() {
    let c = Comp::new("time.nk");
    c.record("Hold13", "1-20").record("HoldInc", "1-20");
    // Key 10 moves the value at the held frame 5: every frame.
    c.edit("x10 2 x20", "x10 2.5 x20");
    assert_eq!(
        c.check("Hold13", "1-20"),
        "1-20 outdated: Anim.white key at 10 changed 2 -> 2.5"
    );
    // Key 20 cannot move frame 5; it moves the held frames 11, 15 and 19.
    c.restore().edit("x20 3", "x20 4");
    assert_eq!(c.check("Hold13", "1-20"), "1-20 valid");
    assert_eq!(
        c.check("HoldInc", "1-20"),
        "1-10 valid\n11-20 outdated: Anim.white key at 20 changed 3 -> 4"
    );
}

#[test]
fn a_time_offset_moves_the_frames_an_edit_reaches() {
    let c = Comp::new("time.nk");
    c.record("Offset", "1-20");
    c.edit("x20 3", "x20 4");
    assert_eq!(
        c.check("Offset", "1-20"),
        "1-13 valid\n14-20 outdated: Anim.white key at 20 changed 3 -> 4"
    );
}

#[test]
fn a_constant_key_cannot_move_the_frames_before_it() {
    let c = Comp::new("time.nk");
    c.record("Steps", "1-20");
    c.edit("x12 2 x18", "x12 2.5 x18");
    assert_eq!(
        c.check("Steps", "1-20"),
        "1-11 valid\n12-17 outdated: Steps.white key at 12 changed 2 -> 2.5\n18-20 valid"
    );
}

#[test]
fn multi_frame_nodes_read_exactly_their_window() {
    let c = Comp::new("time.nk");
    for node in ["Steps", "Blend3", "Echo", "TBlur"] {
        c.record(node, "1-20");
    }
    // Steps changes on [5, 6) only.
    c.edit("x5 1 x6 0 x12", "x5 7 x6 0 x12");
    let reason = "Steps.white key at 5 changed 1 -> 7";
    assert_eq!(
        c.check("Steps", "1-20"),
        format!("1-4 valid\n5 outdated: {reason}\n6-20 valid")
    );
    // FrameBlend of 3 frames and TimeEcho of 2 frames behind: frames 5 to 7.
    for node in ["Blend3", "Echo"] {
        assert_eq!(
            c.check(node, "1-20"),
            format!("1-4 valid\n5-7 outdated: {reason}\n8-20 valid"),
            "{node}"
        );
    }
    // TimeBlur with a one-frame shutter opening at the frame: [f, f+1] meets [5, 6).
    assert_eq!(
        c.check("TBlur", "1-20"),
        format!("1-3 valid\n4-5 outdated: {reason}\n6-20 valid")
    );
}

#[test]
fn motion_blur_follows_the_shutter_and_reaches_concatenated_transforms() {
    let c = Comp::new("time.nk");
    c.record("MBlur", "1-10")
        .record("NoBlur", "1-10")
        .record("Concat", "1-10");
    // MBlur samples [f-0.5, f+0.5]: its key at 5 (held until 6) reaches frames 5 and 6.
    c.edit("x2 0 x5 1", "x2 0 x5 2");
    assert_eq!(
        c.check("MBlur", "1-10"),
        "1-4 valid\n5-6 outdated: MBlur.translate key at 5 changed 1 -> 2\n7-10 valid"
    );
    // Without motion blur, a key held on [7, 8) reaches frame 7 only; a transform with
    // motion blur downstream samples it over its shutter too.
    c.edit("x7 1 x8", "x7 3 x8");
    assert_eq!(
        c.check("NoBlur", "1-10"),
        "1-6 valid\n7 outdated: NoBlur.translate key at 7 changed 1 -> 3\n8-10 valid"
    );
    assert_eq!(
        c.check("Concat", "1-10"),
        "1-6 valid\n7-8 outdated: NoBlur.translate key at 7 changed 1 -> 3\n9-10 valid"
    );
}

// --- Inputs read -----------------------------------------------------------------------------

#[test]
fn a_dissolve_reads_the_inputs_its_which_blends() {
    let c = Comp::new("inputs.nk");
    c.record("DissolveZero", "1-3")
        .record("DissolveHalf", "1-3");
    // `which 0`: input 0 (A, the top of the stack) only; input 1 (B) and the mask (M)
    // are not read.
    c.edit("color {0 0 1 1}", "color {0 1 1 1}");
    c.edit("color {0 1 0 1}", "color {1 1 1 1}");
    assert_eq!(c.check("DissolveZero", "1-3"), "1-3 valid");
    c.restore().edit("color {1 0 0 1}", "color {1 1 0 1}");
    assert_eq!(
        c.check("DissolveZero", "1-3"),
        "1-3 outdated: A.color changed {1 0 0 1} -> {1 1 0 1}"
    );
    // `which 0.5` blends both.
    c.restore().edit("color 0.5", "color 0.55");
    assert_eq!(
        c.check("DissolveHalf", "1-3"),
        "1-3 outdated: D.color changed 0.5 -> 0.55"
    );
    c.restore().edit("color 0.25", "color 0.3");
    assert_eq!(
        c.check("DissolveHalf", "1-3"),
        "1-3 outdated: E.color changed 0.25 -> 0.3"
    );
}

#[test]
fn a_switch_reads_the_input_it_selects() {
    let c = Comp::new("inputs.nk");
    c.record("Switch1", "1-3");
    c.edit("color 0.125", "color 0.2");
    assert_eq!(c.check("Switch1", "1-3"), "1-3 valid");
    c.restore().edit("color 0.75", "color 0.7");
    assert_eq!(
        c.check("Switch1", "1-3"),
        "1-3 outdated: F.color changed 0.75 -> 0.7"
    );
}

// --- Root settings ---------------------------------------------------------------------------

#[test]
fn the_frame_rate_outdates_only_what_reads_it() {
    let c = Comp::new("inputs.nk");
    c.record("Switch1", "1-3").record("Caption", "1-3");
    c.edit("fps 24", "fps 25");
    assert_eq!(c.check("Switch1", "1-3"), "1-3 valid");
    assert_eq!(
        c.check("Caption", "1-3"),
        "1-3 outdated: Caption.message reads root.fps, which changed 24 -> 25"
    );
    // The format is read by every node.
    c.restore().edit(
        "1920 1080 0 0 1920 1080 1 HD_1080",
        "2048 1080 0 0 2048 1080 1 2K",
    );
    assert_eq!(
        c.check("Switch1", "1-3"),
        "1-3 outdated: Root.format changed \"1920 1080 0 0 1920 1080 1 HD_1080\" -> \"2048 1080 0 0 2048 1080 1 2K\""
    );
}

// --- Expressions that are evaluated --------------------------------------------------------

#[test]
fn an_expression_driven_switch_reads_one_branch_per_frame() {
    let c = Comp::new("expressions.nk");
    c.record("ByFrame", "1-20");
    // `which {{frame>=10}}`: input 0 (Late) before frame 10, input 1 (Early) from it.
    c.edit("color 0.1", "color 0.15");
    assert_eq!(
        c.check("ByFrame", "1-20"),
        "1-9 valid\n10-20 outdated: Early.color changed 0.1 -> 0.15"
    );
    c.restore().edit("color 0.9", "color 0.95");
    assert_eq!(
        c.check("ByFrame", "1-20"),
        "1-9 outdated: Late.color changed 0.9 -> 0.95\n10-20 valid"
    );
}

#[test]
fn an_expression_driven_disable_is_evaluated_per_frame() {
    let c = Comp::new("expressions.nk");
    c.record("Toggled", "1-20").record("RenderBlur", "1-3");
    // Disabled while Ctrl.k is 1 (frames 8 to 14): its knobs do not count there.
    c.edit("white 2\n", "white 3\n");
    assert_eq!(
        c.check("Toggled", "1-20"),
        "1-7 outdated: Toggled.white changed 2 -> 3\n8-14 valid\n15-20 outdated: \
         Toggled.white changed 2 -> 3"
    );
    // `disable {{$gui}}` is off in a render: the node counts.
    c.edit("size 10", "size 12");
    assert_eq!(
        c.check("RenderBlur", "1-3"),
        "1-3 outdated:\n  RenderBlur.size changed 10 -> 12\n  Toggled.white changed 2 -> 3"
    );
}

#[test]
fn a_frame_hold_given_by_an_expression_holds_the_frame_it_computes() {
    let c = Comp::new("expressions.nk");
    c.record("HeldByCtrl", "1-20");
    // Held at 12: key 20 moves it, key 1 does not.
    c.edit("x20 3", "x20 4");
    assert_eq!(
        c.check("HeldByCtrl", "1-20"),
        "1-20 outdated: Ramp.white key at 20 changed 3 -> 4"
    );
    c.restore().edit("L x1 1", "L x1 0");
    assert_eq!(c.check("HeldByCtrl", "1-20"), "1-20 valid");
    c.restore().edit("hold 12", "hold 13");
    assert_eq!(
        c.check("HeldByCtrl", "1-20"),
        "1-20 outdated: HeldByCtrl.firstFrame reads Ctrl.hold, which changed 12 -> 13"
    );
}

#[test]
fn tcl_file_string_and_list_commands_record_what_they_read() {
    let c = Comp::new("expressions.nk");
    c.record("Title", "1");
    c.edit("sh010/comp_v003.nk", "sh020/comp_v003.nk");
    assert_eq!(
        c.check("Title", "1"),
        "1 outdated: Title.message reads root.name, which changed \
         /shows/demo/sh010/comp_v003.nk -> /shows/demo/sh020/comp_v003.nk"
    );
}

#[test]
fn an_environment_variable_read_is_part_of_the_frame() {
    let c = Comp::new("expressions.nk");
    c.record_env("ShotText", "1", &[("SHOT", "sh010")]);
    assert_eq!(
        c.check_env("ShotText", "1", &[("SHOT", "sh010")]),
        "1 valid"
    );
    assert_eq!(
        c.check_env("ShotText", "1", &[("SHOT", "sh020")]),
        "1 outdated: ShotText.message reads SHOT, which changed sh010 -> sh020"
    );
}

#[test]
fn tcl_knob_expr_frame_and_topnode_are_read() {
    let c = Comp::new("expressions.nk");
    c.record("Tcl", "1-3");
    assert_eq!(c.check("Tcl", "1-3"), "1-3 valid");
    c.edit("color 0.25", "color 0.3");
    // Top is also the Text's input: both count.
    assert_eq!(
        c.check("Tcl", "1-3"),
        "1-3 outdated:\n  Top.color changed 0.25 -> 0.3\n  Tcl.message reads \
         [topnode].color, which changed 0.25 -> 0.3"
    );
    c.restore().edit("hold 12", "hold 14");
    assert_eq!(
        c.check("Tcl", "1-3"),
        "1-3 outdated: Tcl.message reads Ctrl.hold, which changed 12 -> 14"
    );
}

#[test]
fn the_frame_range_outdates_nothing_that_does_not_read_it() {
    let c = Comp::new("expressions.nk");
    c.record("ByFrame", "1-20");
    c.edit("last_frame 20", "last_frame 40");
    assert_eq!(c.check("ByFrame", "1-20"), "1-20 valid");
}

// --- Expressions that cannot be analysed ----------------------------------------------------

#[test]
fn python_makes_a_frame_depend_on_the_whole_script_and_says_so() {
    let c = Comp::new("inputs.nk");
    c.record("PyText", "1-3");
    c.edit("color 0.6", "color 0.65");
    assert_eq!(
        c.check("PyText", "1-3"),
        "1-3 outdated: PyText.message cannot be analysed (it may read any node), and the \
         script changed: Unrelated changed"
    );
}

// --- Read frame mapping -----------------------------------------------------------------------

/// Plates for `reads.nk`: `s.0101`-`s.0110` and `l.0001`-`l.0004`.
fn plates(c: &Comp) {
    let dir = c.path("plates");
    std::fs::create_dir_all(&dir).unwrap();
    for f in 101..=110 {
        std::fs::write(dir.join(format!("s.{f:04}.png")), format!("s{f}")).unwrap();
    }
    for f in 1..=4 {
        std::fs::write(dir.join(format!("l.{f:04}.png")), format!("l{f}")).unwrap();
    }
}

#[test]
fn a_read_maps_frames_as_its_frame_mode_says() {
    let c = Comp::new("reads.nk");
    plates(&c);
    c.record("ReadStart", "1-10").record("ReadOffset", "1-10");
    std::fs::write(c.path("plates/s.0105.png"), "re-rendered").unwrap();
    // `start at 1`: the clip's first frame (101) at frame 1, so 105 at frame 5.
    assert_eq!(
        c.check("ReadStart", "1-10"),
        "1-4 valid\n5 outdated: ReadStart source file changed on disk \
         (plates/s.0105.png)\n6-10 valid"
    );
    // `offset -100`: frame f reads f + 100.
    assert_eq!(
        c.check("ReadOffset", "1-10"),
        "1-4 valid\n5 outdated: ReadOffset source file changed on disk \
         (plates/s.0105.png)\n6-10 valid"
    );
}

#[test]
fn a_read_outside_its_range_holds_loops_bounces_or_reads_nothing() {
    let c = Comp::new("reads.nk");
    plates(&c);
    for node in ["ReadLoop", "ReadBounce", "ReadBlack", "ReadHold"] {
        c.record(node, "1-12");
    }
    std::fs::write(c.path("plates/l.0002.png"), "re-rendered").unwrap();
    let changed = "source file changed on disk (plates/l.0002.png)";
    assert_eq!(
        c.check("ReadLoop", "1-12"),
        format!(
            "1 valid\n2 outdated: ReadLoop {changed}\n3-5 valid\n6 outdated: ReadLoop \
             {changed}\n7-9 valid\n10 outdated: ReadLoop {changed}\n11-12 valid"
        )
    );
    assert_eq!(
        c.check("ReadBounce", "1-12"),
        format!(
            "1 valid\n2 outdated: ReadBounce {changed}\n3-5 valid\n6 outdated: ReadBounce \
             {changed}\n7 valid\n8 outdated: ReadBounce {changed}\n9-11 valid\n12 \
             outdated: ReadBounce {changed}"
        )
    );
    // Range 2-3, black before it (frame 1 reads nothing), held after it.
    assert_eq!(
        c.check("ReadBlack", "1-12"),
        format!("1 valid\n2 outdated: ReadBlack {changed}\n3-12 valid")
    );
    assert_eq!(
        c.check("ReadHold", "1-12"),
        format!("1 valid\n2 outdated: ReadHold {changed}\n3-12 valid")
    );
    std::fs::write(c.path("plates/l.0004.png"), "re-rendered").unwrap();
    assert_eq!(
        c.check("ReadHold", "1-12"),
        "1 valid\n2 outdated: ReadHold source file changed on disk (plates/l.0002.png)\n\
         3 valid\n4-12 outdated: ReadHold source file changed on disk (plates/l.0004.png)"
    );
}

#[test]
fn a_read_in_expression_mode_reads_the_frame_its_expression_gives() {
    let c = Comp::new("reads.nk");
    plates(&c);
    c.record("ReadExpr", "1-10");
    std::fs::write(c.path("plates/s.0107.png"), "re-rendered").unwrap();
    assert_eq!(
        c.check("ReadExpr", "1-10"),
        "1-6 valid\n7 outdated: ReadExpr source file changed on disk \
         (plates/s.0107.png)\n8-10 valid"
    );
}

#[test]
fn retime_and_timewarp_read_the_frames_their_mapping_gives() {
    let c = Comp::new("time.nk");
    c.record("Slow", "1-20").record("Warp", "1-20");
    // Steps changes on [5, 6). Half speed from frame 1: frame f reads 1 + (f - 1) / 2,
    // blending the whole frames around it: frames 8 (4.5), 9 (5) and 10 (5.5).
    c.edit("x5 1 x6 0 x12", "x5 7 x6 0 x12");
    let reason = "Steps.white key at 5 changed 1 -> 7";
    assert_eq!(
        c.check("Slow", "1-20"),
        format!("1-7 valid\n8-10 outdated: {reason}\n11-20 valid")
    );
    // The lookup gives the same times; a frame on either side of the blend counts.
    assert_eq!(
        c.check("Warp", "1-20"),
        format!("1-5 valid\n6-12 outdated: {reason}\n13-20 valid")
    );
}

// --- Reader leniency ----------------------------------------------------------------------

#[test]
fn a_knob_without_a_value_is_kept_and_warned_about() {
    let c = Comp::new("groups.nk");
    std::fs::copy(fixtures().join("nk/bare_knob.nk"), c.path("bare.nk")).unwrap();
    let (code, _, err) = c.run(&[
        "record",
        "bare.nk",
        "--node",
        "Tool",
        "--cache-dir",
        "cache",
        "--frames",
        "1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "warning: bare.nk:3:2: knob `EnvConvolve` has no value; kept as a knob with an empty value\n\
         warning: bare.nk:11:3: knob `size` has no value; kept as a knob with an empty value\n"
    );
    // The bare knob is part of the frame: giving it a value is a change.
    edit(&c.path("bare.nk"), "  size\n", "  size 3\n");
    let (code, out, _) = c.run(&[
        "check",
        "bare.nk",
        "--node",
        "Tool",
        "--cache-dir",
        "cache",
        "--frames",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("1 outdated: Tool.B.size changed  -> 3\n"),
        "{out}"
    );
}

// --- Format versions --------------------------------------------------------------------------

/// A cache recorded by an older smartcache (frame format 1, before profiles): every frame
/// says so, rather than a mass invalidation without a reason.
#[test]
fn a_cache_of_an_older_frame_format_says_to_re_record() {
    let c = Comp::new("inputs.nk");
    std::fs::create_dir_all(c.path("cache-Switch1/master")).unwrap();
    let old = format!(
        "{{\n  \"format\": \"smartcache-hash\",\n  \"version\": 1,\n  \"created\": \
         \"2026-11-22T23:15:00.000Z\",\n  \"script\": {{\"path\": \"inputs.nk\", \"hash\": \
         \"{z}\"}},\n  \"node\": \"Switch1\",\n  \"rules\": \"r\",\n  \"frames\": \
         {{\"1\": {{\"hash\": \"{z}\"}}, \"2\": {{\"hash\": \"{z}\"}}}}\n}}\n",
        z = "0".repeat(32)
    );
    std::fs::write(c.path("cache-Switch1/master/hash.json"), old).unwrap();
    assert_eq!(
        c.check("Switch1", "1-3"),
        "1-2 outdated: recorded by an older smartcache (frame format 1, now 4): re-record \
         the cache\n3 uncached"
    );
}

/// A cache recorded with frame format 3 (each record's knobs hashed whole at every
/// frame, before fixed parts): its hashes differ from this build's, and every frame says
/// to re-record.
#[test]
fn a_cache_of_frame_format_3_says_to_re_record() {
    let c = Comp::new("inputs.nk");
    c.record("Switch1", "1-2");
    let master = c.path("cache-Switch1/master/hash.json");
    let text = std::fs::read_to_string(&master).unwrap();
    assert!(text.contains("\"frame_format\": 4"), "{text}");
    let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
    old["frame_format"] = 3.into();
    // What a build of format 3 wrote: the keys of setups cover the frame format.
    old["setup_memo"]["key"] = "3".repeat(32).into();
    old["setup_memo"]["setup"] = "3".repeat(32).into();
    for (_, e) in old["frames"].as_object_mut().unwrap() {
        e["hash"] = "1".repeat(32).into();
        e["setup"] = "3".repeat(32).into();
    }
    std::fs::write(&master, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    assert_eq!(
        c.check("Switch1", "1-3"),
        "1-2 outdated: recorded by an older smartcache (frame format 3, now 4): re-record \
         the cache\n3 uncached"
    );
}
