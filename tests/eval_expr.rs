//! Reference extraction from expressions and Tcl strings. The inputs follow patterns seen
//! in real scripts (gizmo controls, matrix links, switch-selected inputs, Python
//! callbacks), written afresh for these tests.

use smartcache::eval::expr::{analyse, analyse_tcl};
use smartcache::eval::{KnobValue, Reference};

fn r(node: &str, knob: &str) -> Reference {
    Reference {
        knob: knob.to_owned(),
        node: node.to_owned(),
        other_frames: false,
    }
}

fn refs(e: &str) -> Vec<Reference> {
    analyse(e).refs
}

#[test]
fn dotted_paths_split_into_node_and_knob() {
    assert_eq!(refs("parent.glowPos.x"), [r("parent", "glowPos.x")]);
    assert_eq!(refs("Blur3.size"), [r("Blur3", "size")]);
    assert_eq!(refs("Group2.Blur3.size"), [r("Group2.Blur3", "size")]);
    assert_eq!(
        refs("input.bbox.r - input.bbox.x"),
        [r("input", "bbox.r"), r("input", "bbox.x")]
    );
    assert_eq!(refs("this.size.w"), [r("this", "size.w")]);
    assert_eq!(refs("parent.cam_matrix.12"), [r("parent", "cam_matrix.12")]);
    assert_eq!(refs("root.height/2"), [r("root", "height")]);
    assert_eq!(refs("input1.width"), [r("input1", "width")]);
    // A bare knob of the same node, with and without a sub-part.
    assert_eq!(refs("spread"), [r("", "spread")]);
    assert_eq!(refs("offset.u*2"), [r("", "offset.u")]);
    assert_eq!(refs("_CTRL.scale"), [r("_CTRL", "scale")]);
}

#[test]
fn operators_functions_and_constants_are_not_references() {
    let e = analyse("pow2(steps-1)/pow2(parent.Dilate_main.quality) + sin(pi/4) * 1e-3");
    assert_eq!(e.refs, [r("", "steps"), r("parent.Dilate_main", "quality")]);
    assert!(!e.time_dependent);
    assert!(e.unresolvable.is_empty());
    let e = analyse("parent.mode==1?gainA.y:gainB.y");
    assert_eq!(
        e.refs,
        [r("", "gainA.y"), r("", "gainB.y"), r("parent", "mode")]
    );
    let e = analyse("!parent.enableGrain && 0x10 > clamp(amount, 0, 1)");
    assert_eq!(e.refs, [r("", "amount"), r("parent", "enableGrain")]);
    let e = analyse(r#""div.3 == 0 || det == 0 ? 0 : div.3/det""#);
    assert_eq!(e.refs, [r("", "det"), r("", "div.3")]);
}

#[test]
fn the_frame_and_noise_make_an_expression_time_dependent() {
    for e in [
        "frame*2",
        "t/24",
        "x+1",
        "sin(frame/10)",
        "random(3)",
        "noise(t*0.1)",
        "fBm(x, 1, 2, 3, 4, 5)",
        "curve+1",
    ] {
        assert!(analyse(e).time_dependent, "{e}");
    }
    for e in ["2*3", "parent.size", "floor(size/2)"] {
        assert!(!analyse(e).time_dependent, "{e}");
    }
    // The curve of the knob read at another time.
    let e = analyse("curve(((frame-1001)%(1010-1001+1))+1001)");
    assert!(e.time_dependent);
    assert!(e.refs.is_empty());
}

#[test]
fn a_knob_read_at_another_frame_needs_its_whole_animation() {
    let e = analyse("Transform2.translate.x(frame-1) - Transform2.translate.x");
    assert_eq!(
        e.refs,
        [
            r("Transform2", "translate.x"),
            Reference {
                other_frames: true,
                ..r("Transform2", "translate.x")
            }
        ]
    );
    assert!(e.time_dependent);
}

#[test]
fn tcl_value_and_knob_substitutions_are_references() {
    let e = analyse_tcl("[value Switch1.which]");
    assert_eq!(e.refs, [r("Switch1", "which")]);
    assert!(!e.time_dependent);
    let e = analyse_tcl("[lrange [split [value name] _] 1 1]");
    assert_eq!(e.refs, [r("", "name")]);
    assert!(e.unresolvable.is_empty());
    let e = analyse_tcl("[knob this.label] and [value -default 0 root.first_frame]");
    assert_eq!(e.refs, [r("root", "first_frame"), r("this", "label")]);
    let e = analyse_tcl("[frame]");
    assert!(e.time_dependent && e.refs.is_empty());
    // An expression can run Tcl first.
    let e = analyse("[value gain] * parent.mult");
    assert_eq!(e.refs, [r("", "gain"), r("parent", "mult")]);
}

#[test]
fn names_built_at_run_time_are_unresolvable_but_their_parts_are_read() {
    let e = analyse("ColorSpace.input[value ColorSpace.which].matrix");
    assert_eq!(e.refs, [r("ColorSpace", "which")]);
    assert_eq!(
        e.unresolvable,
        ["ColorSpace.input[value ColorSpace.which].matrix"]
    );
    assert!(e.time_dependent);

    let e = analyse("[value [value path_knob].[value idx.4]] * 2");
    assert_eq!(e.refs, [r("", "idx.4"), r("", "path_knob")]);
    assert_eq!(e.unresolvable, ["[value [value path_knob].[value idx.4]]"]);

    let e = analyse("parent.SlotsB.[value this.slot]");
    assert_eq!(e.refs, [r("this", "slot")]);
    assert_eq!(e.unresolvable, ["parent.SlotsB.[value this.slot]"]);

    let e = analyse("-[value master].rotate.y");
    assert_eq!(e.refs, [r("", "master")]);
    assert_eq!(e.unresolvable, ["[value master].rotate.y"]);
}

#[test]
fn python_environment_and_topology_are_unresolvable() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "[python nuke.thisNode().knob('mix').value()]",
            &["[python nuke.thisNode().knob('mix').value()]"],
        ),
        (
            "[python {nuke.root()['fps'].value()}]",
            &["[python {nuke.root()['fps'].value()}]"],
        ),
        ("![exists parent.input1]", &["[exists parent.input1]"]),
        ("$unknown_variable ? 1 : 4", &["$unknown_variable"]),
    ];
    for (text, expected) in cases {
        let e = analyse(text);
        assert_eq!(e.unresolvable, expected, "{text}");
        assert!(e.time_dependent, "{text}");
    }
    // Environment variables are reads of their own; `$gui` is false in a render; a
    // knob of `[topnode]` is a reference the manifest resolves from the graph.
    let e = analyse_tcl("$env(SHOT_ROOT)/plates/[getenv SEQ]/a.exr");
    assert_eq!(
        (e.env.as_slice(), e.unresolvable.len()),
        (&["SEQ".to_string(), "SHOT_ROOT".to_string()][..], 0)
    );
    let e = analyse("$gui ? 1 : 4");
    assert!(e.unresolvable.is_empty() && !e.time_dependent);
    let e = analyse("[topnode].first_frame");
    assert!(e.unresolvable.is_empty(), "{:?}", e.unresolvable);
    assert_eq!(e.refs, [r("[topnode]", "first_frame")]);
    // A setter is not a read.
    assert_eq!(
        analyse_tcl("[knob Blur1.size 3]").unresolvable,
        ["[knob Blur1.size 3]"]
    );
}

#[test]
fn candidates_list_every_split_most_likely_first() {
    let c = Reference::from_path("showGrid.on").candidates();
    assert_eq!(c, [r("showGrid", "on"), r("", "showGrid.on")]);
    let c = Reference::from_path("Group1.Blur1.size.w").candidates();
    assert_eq!(
        c,
        [
            r("Group1.Blur1", "size.w"),
            r("Group1.Blur1.size", "w"),
            r("Group1", "Blur1.size.w"),
            r("", "Group1.Blur1.size.w"),
        ]
    );
    assert_eq!(
        Reference::from_path("Group1.Blur1.size.w").path(),
        "Group1.Blur1.size.w"
    );
}

#[test]
fn knob_values_collect_the_references_of_every_component() {
    let v = KnobValue::parse("{{parent.lens.x} {parent.lens.y*2}}");
    assert_eq!(
        v.references(),
        [r("parent", "lens.x"), r("parent", "lens.y")]
    );
    assert!(!v.time_dependent());
    assert!(v.is_locally_static());
    assert!(!v.is_static());

    let v = KnobValue::parse(r#""\[value Gamut.which]""#);
    assert_eq!(v.references(), [r("Gamut", "which")]);

    let v = KnobValue::parse(r#"{{"Gamut.input\[value Gamut.which].matrix"}}"#);
    assert_eq!(v.references(), [r("Gamut", "which")]);
    assert_eq!(v.unresolvable(), ["Gamut.input[value Gamut.which].matrix"]);
    assert!(v.time_dependent());

    let v = KnobValue::parse("{{-1+parent.curve i x70 1}}");
    assert!(v.is_animated());
    assert_eq!(v.references(), [r("parent", "curve")]);
    assert!(v.time_dependent());

    let v = KnobValue::parse("{{1-_CTRL.showIds i}}");
    assert!(!v.is_animated());
    assert_eq!(v.references(), [r("_CTRL", "showIds")]);

    // Roto links: `{=EXPR value}` inside shape data.
    let v = KnobValue::parse(
        "{{{v x3f99999a}\n {f 0}\n {n {{=anchor.x x44000000}\n {=anchor.y+1 x43000000}}}}}",
    );
    assert_eq!(v.references(), [r("", "anchor.x"), r("", "anchor.y")]);
    assert!(v.time_dependent());
}
