//! The reader's library API: exact knob texts, Root, names, spans, clones, groups,
//! invalid UTF-8, error positions, and generated inputs far deeper than real scripts.

use smartcache::graph::{Knob, Script};
use smartcache::nk::{self, ErrorKind, ParseError};
use std::path::Path;

fn fixture(name: &str) -> Script {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/nk")
        .join(name);
    smartcache::graph::LoadedScript::read(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .script
}

fn parse(src: &str) -> Result<Script, ParseError> {
    nk::parse(src.as_bytes(), None)
}

fn knobs(s: &Script, name: &str) -> Vec<(String, String)> {
    let id = s
        .graph
        .find(name)
        .unwrap_or_else(|| panic!("no node {name}"));
    s.graph
        .node(id)
        .knobs
        .iter()
        .map(|k| (k.name().to_string(), k.value().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn knob_values_keep_their_exact_source_text() {
    let s = fixture("lexical.nk");
    assert_eq!(s.version.as_deref(), Some("13.2 v8"));
    assert_eq!(
        s.root,
        vec![
            Knob::new("inputs", "0"),
            Knob::new("name", r"/path/with\ spaces.nk"),
            Knob::new("fps", "24"),
        ]
    );
    assert_eq!(
        knobs(&s, "Keylight1"),
        pairs(&[
            ("inputs", "0"),
            ("show", "\"Final Result\""),
            ("Screen Matte", "0"),
            ("screenColour", "{0.1 0.2 1}"),
            ("tile_color", "0x2f71ffff"),
            ("label", r#""a \"quoted\" \[label\]""#),
            ("name", "Keylight1"),
        ])
    );
    assert_eq!(
        knobs(&s, "Grade Spaced"),
        pairs(&[
            ("white", "{{curve x1 1 x10 2}}"),
            ("gamma", "{1 {curve x1 0.5 x20 0.8} 1 1}"),
            (
                "multiply",
                r#"{{"Keylight1.screenColour.r \[value Keylight1.show]"}}"#
            ),
            // Backslash-newline continues the line: one knob, as Tcl reads it.
            (
                "note_font",
                "\"Bitstream Vera Sans\" \\\n   note_font_size 12"
            ),
            ("matrix", "{\n     {1 0 0}\n     {0 1 {0}}\n   }"),
            ("expr", "[value Keylight1.name]"),
            ("name", "\"Grade Spaced\""),
        ])
    );
    assert_eq!(
        knobs(&s, "BlinkScript1"),
        pairs(&[
            (
                "kernelSource",
                r#""kernel K : ImageComputationKernel<ePixelWise> \{\n  Image<eRead> src;\n\}\n""#
            ),
            ("addUserKnob", "{20 User}"),
            ("addUserKnob", r#"{7 gain l "Gain \[x\]" R 0 4}"#),
            ("gain", "2"),
        ])
    );
    assert_eq!(knobs(&s, "Blur1"), Vec::<(String, String)>::new());
}

#[test]
fn spans_point_at_the_class_word() {
    let s = fixture("lexical.nk");
    let k = s.graph.node(s.graph.find("Keylight1").unwrap());
    assert_eq!((k.span.line, k.span.col), (15, 1));
    let src = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nk/lexical.nk"))
        .unwrap();
    let text = std::str::from_utf8(&src[k.span.start..k.span.end]).unwrap();
    assert!(text.starts_with("OFXuk.co.thefoundry.keylight.keylight_v201 {\n inputs 0"));
    assert!(text.ends_with(" name Keylight1\n}"));
}

#[test]
fn groups_set_parents_and_children() {
    let s = fixture("groups.nk");
    let g = &s.graph;
    let outer = g.find("Outer").unwrap();
    let inner = g.find("Outer.Inner").unwrap();
    let kids: Vec<&str> = g
        .children(Some(outer))
        .map(|c| g.node(c).name.as_str())
        .collect();
    assert_eq!(
        kids,
        [
            "Outer.Input1",
            "Outer.Blur1",
            "Outer.Mask",
            "Outer.Leftover",
            "Outer.Inner",
            "Outer.Merge1",
            "Outer.Output1"
        ]
    );
    assert_eq!(g.node(inner).parent, Some(outer));
    assert_eq!(g.node(g.find("Outer.Mask").unwrap()).input_number(), 1);
    assert_eq!(g.group_output(outer), g.find("Outer.Output1"));
    assert_eq!(g.node(g.find("AfterGroup").unwrap()).parent, None);
}

#[test]
fn clones_take_class_and_knobs_from_their_source() {
    let s = fixture("clone.nk");
    let g = &s.graph;
    let master = g.find("BlurMaster").unwrap();
    let c1 = g.node(g.find("BlurMaster_clone1").unwrap());
    assert_eq!(c1.clone_of, Some(master));
    assert_eq!(c1.class, "Blur");
    assert_eq!(
        knobs(&s, "BlurMaster_clone1"),
        pairs(&[
            ("size", "12"),
            ("channels", "rgba"),
            ("name", "BlurMaster_clone1"),
            ("xpos", "100"),
            ("selected", "true"),
        ])
    );
    let named = g.node(g.find("Named").unwrap());
    assert_eq!(named.clone_of, Some(master));
    assert_eq!(named.knob("inputs"), Some("0"));
    let in_group = g.node(g.find("G.BlurMaster_clone3").unwrap());
    assert_eq!(in_group.parent, g.find("G"));
}

#[test]
fn trailing_empty_slots_are_counted() {
    let s = parse("push 0\npush 0\nMerge2 {\n inputs 2+1\n name M\n}\n").unwrap();
    let m = s.graph.find("M").unwrap();
    assert_eq!(s.graph.node(m).input_count, 3);
    assert_eq!(s.graph.inputs(m), vec![None, None, None]);
}

#[test]
fn invalid_utf8_never_fails_and_stays_distinct() {
    let s = fixture("latin1.nk");
    let cafe = s.graph.find(r"Caf\xE9").unwrap();
    assert_eq!(
        s.graph.node(cafe).knob("label"),
        Some("\"r\\xE9sumé \\xFF\"")
    );
    assert!(s.graph.find(r"Caf\xE8").is_some());
}

#[test]
fn errors_carry_file_line_col() {
    let e = nk::parse(
        b"Blur {\n name B\n}\n\nend_group\n",
        Some(Path::new("a/b.nk")),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a/b.nk:5:1: `end_group` with no open group");
    let e = parse("Blur {\n label \"caf\u{e9} \\\"x\n}\n").unwrap_err();
    assert_eq!(
        (e.line, e.col, e.kind),
        (2, 8, ErrorKind::UnterminatedQuote)
    );
    let e =
        smartcache::graph::LoadedScript::read(Path::new("/definitely/not/here.nk")).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("/definitely/not/here.nk: cannot read the file: "));
}

#[test]
fn hundred_thousand_nested_braces() {
    let n = 100_000;
    let src = format!(
        "Blur {{\n v {}{}\n name B\n}}\n",
        "{".repeat(n),
        "}".repeat(n)
    );
    let s = parse(&src).unwrap();
    let b = s.graph.node(s.graph.find("B").unwrap());
    assert_eq!(b.knob("v").map(str::len), Some(2 * n));
    let src = format!("Blur {{\n v {}\n}}\n", "{".repeat(n));
    assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::UnclosedBrace);
}

#[test]
fn hundred_thousand_node_chain() {
    let n = 100_000;
    let mut src = String::from("Constant {\n inputs 0\n name N0\n}\n");
    for i in 1..n {
        src.push_str(&format!("Blur {{\n name N{i}\n}}\n"));
    }
    let s = parse(&src).unwrap();
    assert_eq!(s.graph.len(), n);
    let last = s.graph.find(&format!("N{}", n - 1)).unwrap();
    assert_eq!(
        s.graph.inputs(last),
        vec![s.graph.find(&format!("N{}", n - 2))]
    );
    assert_eq!(s.graph.upstream(last, |_| vec![]).unwrap().len(), n);
}

fn nested_groups(depth: usize) -> String {
    let mut src = String::new();
    for _ in 0..depth {
        src.push_str("Group {\n inputs 0\n name G\n}\n");
    }
    src.push_str("Blur {\n name Leaf\n}\n");
    for _ in 0..depth {
        src.push_str("end_group\n");
    }
    src
}

#[test]
fn nested_groups_up_to_the_limit_then_a_clean_error() {
    let depth = nk::MAX_GROUP_DEPTH;
    let s = parse(&nested_groups(depth)).unwrap();
    assert_eq!(s.graph.len(), depth + 1);
    let leaf = format!("{}Leaf", "G.".repeat(depth));
    assert!(s.graph.find(&leaf).is_some());
    let e = parse(&nested_groups(10_000)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::GroupsTooDeep(depth));
    assert_eq!((e.line, e.col), (4 * depth as u32 + 1, 1));
}

#[test]
fn megabyte_values_are_kept_whole() {
    let blob = "0123456789abcdef ".repeat(300_000); // about 5 MB
    let src = format!("Primatte3 {{\n inputs 0\n data {{{blob}}}\n name P\n}}\n");
    let s = parse(&src).unwrap();
    let p = s.graph.node(s.graph.find("P").unwrap());
    assert_eq!(p.knob("data").map(str::len), Some(blob.len() + 2));
}

#[test]
fn crlf_comments_in_bodies_and_semicolons() {
    let src = "Constant {\r\n inputs 0\r\n # a comment line in a body\r\n expr a>0;b\r\n name C\r\n}\r\nBlur {\r\n name B\r\n}\r\n";
    let s = parse(src).unwrap();
    assert_eq!(
        knobs(&s, "C"),
        pairs(&[("inputs", "0"), ("expr", "a>0;b"), ("name", "C")])
    );
    let b = s.graph.find("B").unwrap();
    assert_eq!(s.graph.inputs(b), vec![s.graph.find("C")]);
    assert_eq!(s.graph.node(b).span.line, 7);
}

#[test]
fn roll_with_negative_shift_and_index_underflow() {
    let consts = "Constant {\n inputs 0\n name A\n}\nConstant {\n inputs 0\n name B\n}\nConstant {\n inputs 0\n name C\n}\n";
    // a b c -> roll 3 -1 -> b c a: popping gives a, c, b.
    let s = parse(&format!(
        "{consts}roll 3 -1\nMerge2 {{\n inputs 3\n name M\n}}\n"
    ))
    .unwrap();
    let g = &s.graph;
    let m = g.find("M").unwrap();
    assert_eq!(g.inputs(m), vec![g.find("A"), g.find("C"), g.find("B")]);
    let e = parse(&format!("{consts}index 3\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<input>:13:1: `index` needs 4 item(s) on the stack, found 3"
    );
    // Inside a group, stack commands cannot reach below the group's floor.
    let e = parse(
        "Constant {\n inputs 0\n name A\n}\nGroup {\n inputs 0\n name G\n}\ndup\nend_group\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "<input>:9:1: `dup` needs 1 item(s) on the stack, found 0"
    );
}

#[test]
fn huge_counts_are_errors_or_empty_not_overflows() {
    // `[stack N]` past the bottom is an empty input, however large N is.
    let s = parse("set V [stack 18446744073709551615]\npush $V\nBlur {\n name B\n}\n").unwrap();
    assert_eq!(s.graph.inputs(s.graph.find("B").unwrap()), vec![None]);
    let e = parse("index 18446744073709551615\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = parse("set V [stack 18446744073709551616]\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "<input>:1:7: `set` expects `set VAR [stack N]`"
    );
}
