//! Knob values: structuring, the frame view and its canonical bytes.

use proptest::prelude::*;
use smartcache::eval::{KnobValue, Part};

fn bytes(knob: &str, f: f64) -> String {
    String::from_utf8(KnobValue::parse(knob).at(f).canonical_bytes()).unwrap()
}

/// The parts as (kind, text) pairs, for compact assertions.
fn shape(knob: &str) -> Vec<(&'static str, String)> {
    let v = KnobValue::parse(knob);
    v.parts()
        .iter()
        .map(|p| match p {
            Part::Plain(r) => ("plain", v.text()[r.clone()].to_owned()),
            Part::Curve { span, .. } => ("curve", v.text()[span.clone()].to_owned()),
            Part::FCurve { span, .. } => ("fcurve", v.text()[span.clone()].to_owned()),
            Part::Expression { span, kind, .. } => (kind.tag(), v.text()[span.clone()].to_owned()),
        })
        .collect()
}

fn plain(s: &str) -> (&'static str, String) {
    ("plain", s.to_owned())
}

#[test]
fn plain_values_are_one_part() {
    for text in [
        "30",
        "{320 240}",
        "rgba",
        r#""4096 2160 0 0 4096 2160 1 4K_DCP""#,
        "{rgba.red rgba.green -rgba.blue}",
        "0x2f71ffff",
        "{}",
        "",
        "{\n {1 0 0}\n {0 1 0}\n {0 0 1}\n}",
        "{{0} B}",
        "{{0 2} {x41300000 0}}",
    ] {
        let v = KnobValue::parse(text);
        assert!(v.is_plain(), "{text:?}");
        assert!(v.is_static(), "{text:?}");
        assert!(!v.is_animated(), "{text:?}");
        assert_eq!(shape(text), [plain(text)]);
        assert_eq!(
            bytes(text, 7.0),
            serde_json::json!({ "value": text }).to_string()
        );
    }
}

#[test]
fn animations_and_expressions_inside_lists() {
    assert_eq!(
        shape("{0 {curve x1001 -20 x1050 20} 0}"),
        [
            plain("{0 "),
            ("curve", "{curve x1001 -20 x1050 20}".into()),
            plain(" 0}")
        ]
    );
    assert_eq!(
        shape("{{parent.lens.x} {parent.lens.y}}"),
        [
            plain("{"),
            ("expr", "{parent.lens.x}".into()),
            plain(" "),
            ("expr", "{parent.lens.y}".into()),
            plain("}")
        ]
    );
    // A matrix whose first row is linked and whose second is plain.
    assert_eq!(
        shape("{\n {{parent.m.0} {parent.m.1}}\n {0 1}\n}"),
        [
            plain("{\n {"),
            ("expr", "{parent.m.0}".into()),
            plain(" "),
            ("expr", "{parent.m.1}".into()),
            plain("}\n {0 1}\n}")
        ]
    );
    // A curve written without a list around it, and one whose expression calls it.
    assert_eq!(
        shape("{curve x1 1 x10 2}"),
        [("curve", "{curve x1 1 x10 2}".into())]
    );
    assert_eq!(
        shape("{{curve(frame%10) K x0 0 x9 9}}"),
        [
            plain("{"),
            ("curve", "{curve(frame%10) K x0 0 x9 9}".into()),
            plain("}")
        ]
    );
    // A quoted expression.
    assert_eq!(
        shape(r#"{{"size < 0 ? 0 : 1"}}"#),
        [
            plain("{"),
            ("expr", r#"{"size < 0 ? 0 : 1"}"#.into()),
            plain("}")
        ]
    );
    // Tcl in a string, and in a bare word.
    assert_eq!(
        shape(r#""\[value which]""#),
        [("tcl", r#""\[value which]""#.into())]
    );
    assert_eq!(shape("[value which]"), [("tcl", "[value which]".into())]);
}

#[test]
fn frame_views_are_exact_canonical_json() {
    assert_eq!(
        bytes("{{curve L x1 0 x5 4}}", 2.0),
        r#"{"value":["{",{"curve":{"keys":["Lk x1 0","Lk x5 4"],"value":"1"}},"}"]}"#
    );
    assert_eq!(
        bytes("{{curve i L x1 0 x5 4}}", 2.5),
        r#"{"value":["{",{"curve":{"flags":"i","keys":["Lk x1 0","Lk x5 4"],"value":"1.5"}},"}"]}"#
    );
    assert_eq!(
        bytes("{{frame*2}}", 3.0),
        r#"{"time_dependent":true,"value":["{",{"expr":"{frame*2}"},"}"]}"#
    );
    assert_eq!(
        bytes("{{Blur1.size}}", 3.0),
        r#"{"refs":[{"knob":"size","node":"Blur1"}],"value":["{",{"expr":"{Blur1.size}"},"}"]}"#
    );
    assert_eq!(
        bytes(r#""\[python nuke.thisNode().name()]""#, 3.0),
        r#"{"time_dependent":true,"unresolvable":["[python nuke.thisNode().name()]"],"value":[{"tcl":"\"\\[python nuke.thisNode().name()]\""}]}"#
    );
    // A static expression view does not depend on the frame.
    assert_eq!(bytes("{{Blur1.size}}", 3.0), bytes("{{Blur1.size}}", 300.0));
    // A keyless expression without the frame is not time-dependent.
    assert!(KnobValue::parse("{{2*3}}").is_static());
}

#[test]
fn serialising_directly_gives_sorted_keys() {
    let knob =
        r#"{{"Gamut.input\[value Gamut.which].matrix"} {curve x1 0 x3 1} {Blur1.size(frame-1)}}"#;
    let v = KnobValue::parse(knob);
    let view = v.at(2.0);
    let direct = view.canonical_bytes();
    // Through serde_json::Value (a BTreeMap): keys sorted by construction.
    let sorted = serde_json::to_vec(&serde_json::to_value(&view).unwrap()).unwrap();
    assert_eq!(direct, sorted);
}

#[test]
fn snapshot_of_representative_values() {
    let knobs = [
        "{{curve x1001 1 x1006 2}}",
        "{0 {curve x1001 -20 x1050 20} 0}",
        "{{curve C x1 0 x2 1 x3 0 x4 2}}",
        "{{curve K x1 0 L x10 5 S l x20 8 x30 9}}",
        "{{parent.redGain}}",
        "{{-1+parent.curve i x70 1}}",
        r#""\[value SwitchGamut.which]""#,
        r#"{{"SwitchGamut.input\[value SwitchGamut.which].matrix"}}"#,
        "{\n {{parent.world.0} {parent.world.1} {parent.world.2}}\n {0 1 0}\n {0 0 1}\n}",
        r#"{{"\[lrange \[split \[value name] _] 1 1]"}}"#,
        "{{curve x1 233 497 494}}",
    ];
    let views: Vec<serde_json::Value> = knobs
        .iter()
        .map(|k| {
            let v = KnobValue::parse(k);
            serde_json::json!({
                "knob": k,
                "animated": v.is_animated(),
                "static": v.is_static(),
                "at_2": v.at(2.0),
                "at_1003_5": v.at(1003.5),
            })
        })
        .collect();
    insta::assert_json_snapshot!("eval_values_representative", views);
}

#[test]
fn a_multi_megabyte_value_is_structured_in_one_pass() {
    // A long matrix with a curve at the end: every row is scanned once.
    let mut text = String::from("{\n");
    for i in 0..100_000 {
        text.push_str(&format!(" {{{i} {} {}}}\n", i + 1, i + 2));
    }
    text.push_str(" {{curve L x0 0 x10 10} 0 0}\n}");
    let v = KnobValue::parse(&text);
    assert!(text.len() > 2_000_000);
    assert_eq!(v.parts().len(), 3);
    assert!(v.is_animated());
    let view = v.at(4.0);
    let json = String::from_utf8(view.canonical_bytes()).unwrap();
    assert!(
        json.ends_with(r#"{"curve":{"keys":["Lk x0 0","Lk x10 10"],"value":"4"}}," 0 0}\n}"]}"#)
    );

    // Deep nesting does not recurse.
    let deep = format!(
        "{}{{curve x1 1 x2 2}}{}",
        "{".repeat(200_000),
        "}".repeat(200_000)
    );
    let v = KnobValue::parse(&deep);
    assert!(v.is_animated());
    assert!(!v.at(1.5).canonical_bytes().is_empty());
}

fn knob_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "{", "}", "{{", "}}", "[", "]", "\\", "\"", "$", " ", "\n", "curve", "curve(", "x", "x1",
        "x1.5", "s", "t2", "u", "v0", "K", "L", "S", "R", "C", "k", "l", "i", "1", "-2.5", "1e9",
        "parent.", "a.b.c", "value ", "knob ", "python ", "frame", "(", ")", "=", "{=", "{{{v ",
        ".", "é", "\u{1}", "0x", "input", "*", "?:",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parse_never_panics_on_random_text(text in knob_text(), f in -10.0f64..10.0) {
        let v = KnobValue::parse(&text);
        let view = v.at(f);
        let json = view.canonical_bytes();
        prop_assert!(!json.is_empty());
        let _ = (v.is_static(), v.is_animated(), v.references().len());
        // The parts cover the text exactly, in order.
        let mut at = 0;
        for p in v.parts().iter() {
            let span = p.span();
            prop_assert_eq!(span.start, at);
            at = span.end;
        }
        prop_assert_eq!(at, text.len());
        // Deterministic.
        prop_assert_eq!(KnobValue::parse(&text).at(f).canonical_bytes(), json);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_unicode(text in "\\PC{0,60}", f in -10.0f64..10.0) {
        let v = KnobValue::parse(&text);
        prop_assert!(!v.at(f).canonical_bytes().is_empty());
    }
}

#[test]
fn an_expression_next_to_a_plain_component_is_found_without_double_braces() {
    // No `{{` and no `curve`, yet the second component is linked.
    let v = KnobValue::parse("{1 {parent.scale.h}}");
    assert_eq!(v.references().len(), 1);
    assert_eq!(v.references()[0].path(), "parent.scale.h");
    assert_eq!(
        shape("{1 {parent.scale.h}}")[1],
        ("expr", "{parent.scale.h}".to_owned())
    );
}

#[test]
fn tcl_inside_a_list_element_is_an_expression() {
    let v = KnobValue::parse("{{[value gain]*2} 0}");
    assert_eq!(
        shape("{{[value gain]*2} 0}")[1],
        ("expr", "{[value gain]*2}".to_owned())
    );
    assert_eq!(v.references().len(), 1);
    assert_eq!(v.references()[0].knob, "gain");
}

#[test]
fn a_wider_window_records_more_keys() {
    let v = KnobValue::parse("{{curve L x0 0 x2 2 x4 4 x6 6}}");
    let narrow = String::from_utf8(v.at(3.0).canonical_bytes()).unwrap();
    let wide = String::from_utf8(v.at_window(3.0, 1.0, 5.0).canonical_bytes()).unwrap();
    assert_eq!(
        narrow,
        r#"{"value":["{",{"curve":{"keys":["Lk x2 2","Lk x4 4"],"value":"3"}},"}"]}"#
    );
    assert_eq!(
        wide,
        r#"{"value":["{",{"curve":{"keys":["Lk x0 0","Lk x2 2","Lk x4 4","Lk x6 6"],"value":"3"}},"}"]}"#
    );
}
