//! The expression and Tcl evaluator on realistic texts (from the corpus and from the
//! manifest's needs), on its limits, and on arbitrary input.
//!
//! Texts are written as the evaluator receives them: unescaped from the script's
//! quoting (`"\[value x]"` in a .nk file is `[value x]` here).

use std::collections::HashMap;

use proptest::prelude::*;
use smartcache::eval::interp::{
    eval_expression, eval_expression_num, eval_tcl, NoScope, Read, Recording, Scope, Unknown, Why,
    MAX_DEPTH,
};

/// A scope answering from maps: numbers at every frame (or at one frame when keyed
/// `path@frame`), texts, environment, variables, existence and the top node.
#[derive(Default)]
struct Mock {
    numbers: HashMap<String, f64>,
    texts: HashMap<String, String>,
    env: HashMap<String, String>,
    vars: HashMap<String, String>,
    exists: HashMap<String, bool>,
    topnode: HashMap<String, String>,
}

impl Scope for Mock {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        let at = format!("{path}@{frame}");
        self.numbers
            .get(&at)
            .or_else(|| self.numbers.get(path))
            .copied()
    }
    fn text(&mut self, path: &str, _: f64) -> Option<String> {
        self.texts.get(path).cloned()
    }
    fn env(&mut self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn var(&mut self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        self.topnode.get(node.unwrap_or("")).cloned()
    }
    fn exists(&mut self, path: &str) -> Option<bool> {
        self.exists.get(path).copied()
    }
}

/// The scope of a small comp: a Group with controls, a camera, a Read, the root.
fn comp() -> Mock {
    let mut m = Mock::default();
    for (k, v) in [
        ("Ctrl.k", 1.0),
        ("parent.enable", 1.0),
        ("parent.flarePos.x", 960.0),
        ("parent.flareCoreSize", 0.4),
        ("parent.exp", 1.0),
        ("expAmnt.y", 2.0),
        ("linAmnt.y", 3.0),
        ("parent.blur", 4.0),
        ("expAmnt", 0.5),
        ("linAmnt", 0.25),
        ("_INPUT_CTRL.showNumbers", 1.0),
        ("root.width", 2048.0),
        ("parent.ControlsA.3", 7.0),
        ("parent.ControlsA.2", 6.0),
        ("parent.blackOutside", 0.0),
        ("Camera1.rotate.x", 12.5),
        ("cofactor.6", 3.0),
        ("determinant", 0.0),
        ("parent.size", -2.0),
        ("overscanType", 0.0),
        ("overscan.w", 0.0),
        ("overscan.h", 16.0),
        ("overscanPercent.w", 1.0),
        ("overscanPercent.h", 1.0),
        ("output2", 3.0),
        ("parent.abberation.r", -0.3),
        ("parent.abberation.g", 0.5),
        ("input.bbox.r", 1920.0),
        ("input.bbox.x", 0.0),
        ("Controller1.samples", 10.0),
        ("solo1", 1.0),
        ("solo2", 0.0),
        ("solo3", 1.0),
        ("Grade1.white", 1.5),
        ("ittNum", 3.0),
        ("parent.Erode_master.quality", 2.0),
        ("TimeOffset1.time_offset", 5.0),
        ("Blur1.size", 10.0),
        ("Blur1.size@1000", 8.0),
        ("Camera2.haperture", 24.576),
    ] {
        m.numbers.insert(k.into(), v);
    }
    for (k, v) in [
        ("name", "Flare_12_glow"),
        ("this.number", "3"),
        ("this.numberminus", "2"),
        ("mother", "Camera1"),
        ("knob_path", "Grade1"),
        ("id.0", "white"),
        ("Grade1.white", "1.5"),
        ("parent.sCount9", "0xff8800"),
        ("mix", "1"),
        ("mix2", "0.5"),
        ("speed", "1"),
        ("in", "rgba"),
        ("out2", "none"),
        ("root.project_directory", "/shows/abc"),
        ("root.name", "/shows/abc/sh010/comp/sh010_comp_v003.nk"),
        ("Read1.file", "/shows/abc/sh010/plates/sh010_bg.%04d.exr"),
        ("the_cam", "Camera1..."),
        ("use_znear", "1"),
        ("znear", "0.5"),
        ("use_zfar", "0"),
        ("zfar", "1000"),
        ("ROrP", "false"),
        ("Camera2.haperture", "24.576"),
    ] {
        m.texts.insert(k.into(), v.into());
    }
    m.env.insert("SHOW".into(), "abc".into());
    m.vars.insert("gui".into(), "0".into());
    m.exists.insert("parent.input1".into(), true);
    m.exists.insert("parent.input2".into(), false);
    m.topnode.insert(String::new(), "Read1".into());
    m.topnode
        .insert("this.parent.input1".into(), "Camera2".into());
    m
}

/// What a text must give: a number, a text, or an Unknown of a kind on a part.
enum Want {
    Num(f64),
    Text(&'static str),
    Unknown(Why, &'static str),
}

fn check_expr(text: &str, frame: f64, want: &Want) {
    let got = eval_expression(text, frame, &mut comp());
    match (want, got) {
        (Want::Num(v), Ok(g)) => assert_eq!(g, *v, "{text}"),
        (Want::Unknown(why, part), Err(e)) => {
            assert_eq!((e.why, e.part.as_str()), (*why, *part), "{text}: {e}")
        }
        (_, got) => panic!("{text}: got {got:?}"),
    }
}

fn check_tcl(text: &str, frame: f64, want: &Want) {
    let got = eval_tcl(text, frame, &mut comp());
    match (want, got) {
        (Want::Text(t), Ok(g)) => assert_eq!(g, *t, "{text}"),
        (Want::Unknown(why, part), Err(e)) => {
            assert_eq!((e.why, e.part.as_str()), (*why, *part), "{text}: {e}")
        }
        (_, got) => panic!("{text}: got {got:?}"),
    }
}

#[test]
fn what_the_manifest_needs() {
    use Want::*;
    // Which inputs a node reads.
    check_expr("frame>=10", 9.0, &Num(0.0));
    check_expr("frame>=10", 10.0, &Num(1.0));
    check_expr("Ctrl.k", 1.0, &Num(1.0));
    check_expr("$gui", 1.0, &Num(0.0));
    check_expr("!parent.enable", 1.0, &Num(0.0));
    check_expr("frame+TimeOffset1.time_offset", 1001.0, &Num(1006.0));
    check_expr("Blur1.size(frame-1)", 1001.0, &Num(8.0));
    // Which files it reads.
    for (text, want) in [
        (
            "[value root.project_directory]/p.%04d.exr",
            "/shows/abc/p.%04d.exr",
        ),
        (
            "[file dirname [value root.name]]/plates/x.exr",
            "/shows/abc/sh010/comp/plates/x.exr",
        ),
        ("[getenv SHOW]/plates/x.exr", "abc/plates/x.exr"),
        ("$env(SHOW)/plates/x.exr", "abc/plates/x.exr"),
        ("[string tolower [value name]].exr", "flare_12_glow.exr"),
        ("[lindex [split [value root.name] /] end-1]", "comp"),
        ("p.[format %04d [frame]].exr", "p.1001.exr"),
        ("[expr [frame]+1]", "1002"),
        (
            "[file rootname [file tail [value root.name]]].####.exr",
            "sh010_comp_v003.####.exr",
        ),
        (
            "[file join [value root.project_directory] renders [lindex [split [file tail [value root.name]] _] 0]]",
            "/shows/abc/renders/sh010",
        ),
    ] {
        check_tcl(text, 1001.0, &Text(want));
    }
}

#[test]
fn corpus_expressions() {
    use Want::*;
    let cases: &[(&str, f64, Want)] = &[
        ("parent.flarePos.x", 1.0, Num(960.0)),
        ("(parent.flareCoreSize)+1.6", 1.0, Num(0.4 + 1.6)),
        ("parent.exp==1?expAmnt.y:linAmnt.y", 1.0, Num(2.0)),
        ("parent.exp==1?-parent.blur*expAmnt:-parent.blur*linAmnt", 1.0, Num(-2.0)),
        ("1-_INPUT_CTRL.showNumbers", 1.0, Num(0.0)),
        ("root.width/2", 1.0, Num(1024.0)),
        ("parent.ControlsA.[value this.number]", 1.0, Num(7.0)),
        ("parent.ControlsA.[value this.numberminus]", 1.0, Num(6.0)),
        ("!parent.blackOutside", 1.0, Num(1.0)),
        ("-[value mother].rotate.x", 1.0, Num(-12.5)),
        (
            "cofactor.6 == 0 || determinant == 0 ? 0 : cofactor.6/determinant",
            1.0,
            Num(0.0),
        ),
        ("[value [value knob_path].[value id.0]] * 2", 1.0, Num(3.0)),
        ("parent.size < 0 ? 0 : 1", 1.0, Num(0.0)),
        (
            "overscanType == 0 ? overscan.w != 0 || overscan.h != 0 : overscanPercent.w != 1 || overscanPercent.h != 1 ? 1 : 0",
            1.0,
            Num(1.0),
        ),
        (
            "output2 == 0 ? 25 : output2 == 1 ? 24 : output2 == 2 ? 22 : output2 == 3 ? 13 : output2 == 4 ? 24 : output2 == 5 ? 17 : 18",
            1.0,
            Num(13.0),
        ),
        ("abs(parent.abberation.r*10)", 1.0, Num(3.0)),
        ("1+(parent.abberation.g/10)", 1.0, Num(1.05)),
        ("((input.bbox.r-input.bbox.x)/2)+input.bbox.x", 1.0, Num(960.0)),
        ("Controller1.samples<12", 1.0, Num(1.0)),
        ("Controller1.samples<10", 1.0, Num(0.0)),
        ("solo1 + \nsolo2 + \nsolo3", 1.0, Num(2.0)),
        ("[lrange [split [value name] _] 1 1]", 1.0, Num(12.0)),
        ("![exists parent.input1]", 1.0, Num(0.0)),
        ("[exists parent.input2]", 1.0, Num(0.0)),
        (
            "[if {[exists parent.input1] == 0} {return 0} else {return [value [topnode this.parent.input1].haperture]}]",
            1.0,
            Num(24.576),
        ),
        (
            "[if {[exists parent.input2] == 0} {return 0} else {return [value [topnode this.parent.input2].haperture]}]",
            1.0,
            Num(0.0),
        ),
        ("[expr 0x[string range [value parent.sCount9] 2 3]] / 255", 1.0, Num(1.0)),
        ("[expr 0x[string range [value parent.sCount9] 4 5]] / 255", 1.0, Num(136.0 / 255.0)),
        ("ittNum/parent.Erode_master.quality", 1.0, Num(1.5)),
        // What stays Unknown, and why.
        (
            "pow2(ittNum-1)/pow2(parent.Erode_master.quality)",
            1.0,
            Unknown(Why::Inexact, "pow2(ittNum-1)/pow2(parent.Erode_master.quality)"),
        ),
        (
            "parent.centerPoint.input.width()/2",
            1.0,
            Unknown(Why::Unsupported, "parent.centerPoint.input.width()"),
        ),
        (
            "[python nuke.toNode('Matrix1').knob('which').value()]",
            1.0,
            Unknown(Why::Unsupported, "[python nuke.toNode('Matrix1').knob('which').value()]"),
        ),
        (
            "[string match [view] left] ==1?(frame*333):(frame*666)",
            1.0,
            Unknown(Why::Unsupported, "[view]"),
        ),
        ("curve", 1.0, Unknown(Why::Unsupported, "curve")),
        ("random(frame)", 1.0, Unknown(Why::Unsupported, "random(frame)")),
        ("parent.missing*2", 1.0, Unknown(Why::Unavailable, "parent.missing")),
        ("1/determinant", 1.0, Unknown(Why::Arithmetic, "1/determinant")),
    ];
    for (text, frame, want) in cases {
        check_expr(text, *frame, want);
    }
    // An approximate value is available to callers that only record it.
    let n = eval_expression_num(
        "pow2(ittNum-1)/pow2(parent.Erode_master.quality)",
        1.0,
        &mut comp(),
    )
    .unwrap();
    assert_eq!((n.value, n.exact), (1.0, false));
}

#[test]
fn corpus_tcl_strings() {
    use Want::*;
    let cases: &[(&str, Want)] = &[
        ("[value in]", Text("rgba")),
        ("[ expr { [value mix] == 1 ? \" \" : [concat Mix: [value mix]] }]", Text(" ")),
        (
            "[value in] [ expr { [value out2] == \"none\" ? \" \" : [concat → [value out2]] }]",
            Text("rgba  "),
        ),
        (
            "[if {[value speed] == 1} then {return \"\"} else {return \"spd [value speed]\"}]",
            Text(""),
        ),
        ("[file tail [value [topnode].file]]", Text("sh010_bg.%04d.exr")),
        (
            "[file rootname [value [topnode].file]]",
            Text("/shows/abc/sh010/plates/sh010_bg.%04d"),
        ),
        ("[string trimright [value the_cam] .]", Text("Camera1")),
        ("[string map {\"aa\" \"xx\" \"bb\" \"yy\"} \"aaffffaabb\" ]", Text("xxffffxxyy")),
        ("[string equal [value in] \"rgba\"]", Text("1")),
        (
            "[ expr { [value use_znear] ?  [value znear]: \"\" }] [ expr { [value use_znear] ?  \"-\": \"\" }] [ expr { [value use_zfar] ?  [value zfar]: \"\" }]",
            Text("0.5 - "),
        ),
        (
            "[if {[value ROrP]==false} {return \"Render Mode\"} {return \"PARTICLE MODE\"}]",
            Unknown(Why::Unsupported, "false"),
        ),
        (
            "[lrange [split [metadata DVPcamMTX] ,] 0 3]",
            Unknown(Why::Unsupported, "[metadata DVPcamMTX]"),
        ),
        ("[value $x.number]", Unknown(Why::Unavailable, "$x")),
        (
            "[string first \".a\" [channels [input this 0]]]",
            Unknown(Why::Unsupported, "[input this 0]"),
        ),
        (
            "[knob this.tile_color 0xa30000ff]",
            Unknown(Why::Unsupported, "[knob this.tile_color 0xa30000ff]"),
        ),
        ("[getenv NOT_SET]/x", Unknown(Why::Unavailable, "[getenv NOT_SET]")),
        ("$env(NOT_SET)/x", Unknown(Why::Unavailable, "$env(NOT_SET)")),
        ("[basename [value [topnode].file]]", Unknown(Why::Unsupported, "[basename [value [topnode].file]]")),
    ];
    for (text, want) in cases {
        check_tcl(text, 1001.0, want);
    }
    let mut m = comp();
    m.texts.insert("mix".into(), "0.5".into());
    assert_eq!(
        eval_tcl(
            "[ expr { [value mix] == 1 ? \" \" : [concat Mix: [value mix]] }]",
            1.0,
            &mut m
        ),
        Ok("Mix: 0.5".to_owned())
    );
}

#[test]
fn reads_can_be_recorded() {
    let mut inner = comp();
    let mut rec = Recording::new(&mut inner);
    let v = eval_expression(
        "parent.exp==1 ? Blur1.size(frame-1) : missing",
        1001.0,
        &mut rec,
    );
    assert_eq!(v, Ok(8.0));
    assert_eq!(
        rec.reads,
        [
            Read::Number {
                path: "parent.exp".into(),
                frame: 1001.0
            },
            Read::Number {
                path: "Blur1.size".into(),
                frame: 1000.0
            },
        ]
    );
}

#[test]
fn a_refusing_scope_tells_what_needs_the_scope() {
    assert_eq!(eval_expression("2*(3+4)", 1.0, &mut NoScope), Ok(14.0));
    let e = eval_expression("Blur1.size*2", 1.0, &mut NoScope).unwrap_err();
    assert!(e.is_unavailable());
    assert_eq!(e.part, "Blur1.size");
    let e = eval_tcl("[python x]", 1.0, &mut NoScope).unwrap_err();
    assert!(!e.is_unavailable());
}

/// Runs `f` on a thread with a small stack: the evaluators must bound their recursion
/// well within it, even unoptimised.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn assert_limit(r: Result<impl std::fmt::Debug, Unknown>, text: &str) {
    match r {
        Err(e) if e.why == Why::Limit => {}
        other => panic!("{}…: {other:?}", &text[..text.len().min(40)]),
    }
}

#[test]
fn deep_nesting_is_bounded() {
    on_small_stack(|| {
        let n = 100_000;
        let expressions = [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}1", "-".repeat(n)),
            format!("{}1", "!".repeat(n)),
            format!("{}1{}", "1?".repeat(n), ":1".repeat(n)),
            format!("{}1{}", "abs(".repeat(n), ")".repeat(n)),
            format!("{}frame{}", "[expr ".repeat(n), "]".repeat(n)),
        ];
        for text in &expressions {
            assert_limit(eval_expression(text, 1.0, &mut NoScope), text);
        }
        let tcl = [
            format!("{}frame{}", "[".repeat(n), "]".repeat(n)),
            format!("{}a{}", "[string tolower ".repeat(n), "]".repeat(n)),
            format!("[expr {{{}1{}}}]", "(".repeat(n), ")".repeat(n)),
            format!("[expr {{{}1}}]", "-".repeat(n)),
            format!("[expr {{{}1{}}}]", "1?".repeat(n), ":1".repeat(n)),
            format!("[expr {{{}1{}}}]", "int(".repeat(n), ")".repeat(n)),
            format!("{}{}", "[if 1 {".repeat(n), "}]".repeat(n)),
            "$env([".repeat(n),
        ];
        for text in &tcl {
            assert_limit(eval_tcl(text, 1.0, &mut NoScope), text);
        }
        // Exactly at the limit still works.
        let ok = format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH - 2),
            ")".repeat(MAX_DEPTH - 2)
        );
        assert_eq!(eval_expression(&ok, 1.0, &mut NoScope), Ok(1.0));
    });
}

/// A text that re-evaluates itself through the scope stops at the depth limit.
#[test]
fn self_reference_through_the_scope_is_bounded() {
    on_small_stack(|| {
        let mut m = Mock::default();
        m.texts.insert("body".into(), "if 1 [value body]".into());
        assert_limit(eval_tcl("[if 1 [value body]]", 1.0, &mut m), "self");
    });
}

#[test]
fn work_and_size_are_bounded() {
    let start = std::time::Instant::now();
    for text in [
        "[string repeat a 100000000]".to_owned(),
        "[string repeat [string repeat [string repeat abcdefgh 1000] 1000] 1000]".to_owned(),
        format!(
            "[string length {}]",
            "[string repeat abcdefghijklmnop 60000]".repeat(40)
        ),
    ] {
        assert_limit(eval_tcl(&text, 1.0, &mut NoScope), &text);
    }
    // Long flat inputs are linear.
    let sum = vec!["1"; 200_000].join("+");
    assert_eq!(eval_expression(&sum, 1.0, &mut NoScope), Ok(200_000.0));
    let many = "[string length abc]".repeat(50_000);
    assert_eq!(
        eval_tcl(&many, 1.0, &mut NoScope).map(|s| s.len()),
        Ok(50_000)
    );
    let glob = format!("[string match {}b {}]", "*a".repeat(500), "a".repeat(5000));
    let _ = eval_tcl(&glob, 1.0, &mut NoScope);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

/// A scope whose answers come from a seed: numbers, texts with Tcl syntax in them,
/// or nothing.
#[derive(Debug, Clone)]
struct Arbitrary {
    seed: u64,
    texts: Vec<String>,
}

impl Arbitrary {
    fn pick(&self, key: &str) -> u64 {
        let mut h = self.seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in key.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h
    }
    fn text_for(&self, key: &str) -> Option<String> {
        let h = self.pick(key);
        if h.is_multiple_of(5) || self.texts.is_empty() {
            None
        } else {
            Some(self.texts[(h as usize / 5) % self.texts.len()].clone())
        }
    }
}

impl Scope for Arbitrary {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        let h = self.pick(path) ^ frame.to_bits();
        match h % 6 {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(0.0),
            _ => Some((h % 2001) as f64 / 8.0 - 100.0),
        }
    }
    fn text(&mut self, path: &str, _: f64) -> Option<String> {
        self.text_for(path)
    }
    fn env(&mut self, name: &str) -> Option<String> {
        self.text_for(name)
    }
    fn var(&mut self, name: &str) -> Option<String> {
        self.text_for(name)
    }
    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        self.text_for(node.unwrap_or("topnode"))
    }
    fn knob_script(&mut self, path: &str) -> Option<String> {
        self.text_for(path)
    }
    fn exists(&mut self, path: &str) -> Option<bool> {
        let h = self.pick(path);
        (!h.is_multiple_of(3)).then_some(h.is_multiple_of(2))
    }
    fn shadows(&mut self, word: &str) -> bool {
        self.pick(word).is_multiple_of(7)
    }
}

/// Texts made of the languages' pieces, so that random input reaches deep paths.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just("("),
        Just(")"),
        Just("\""),
        Just("\\"),
        Just("$"),
        Just(" "),
        Just("\n"),
        Just(";"),
        Just(","),
        Just("?"),
        Just(":"),
        Just("value "),
        Just("expr "),
        Just("if "),
        Just("return "),
        Just("string "),
        Just("repeat "),
        Just("map "),
        Just("range "),
        Just("match "),
        Just("format "),
        Just("%04d"),
        Just("%.2f"),
        Just("%g"),
        Just("file "),
        Just("dirname "),
        Just("rootname "),
        Just("lindex "),
        Just("split "),
        Just("lrange "),
        Just("concat "),
        Just("frame"),
        Just("env(A)"),
        Just("gui"),
        Just("Blur1.size"),
        Just("x"),
        Just("t"),
        Just("end-1"),
        Just("0x1f"),
        Just("1.5"),
        Just("-7"),
        Just("1e308"),
        Just("2"),
        Just("0"),
        Just("+"),
        Just("-"),
        Just("*"),
        Just("/"),
        Just("%"),
        Just("=="),
        Just("<="),
        Just("&&"),
        Just("||"),
        Just("!"),
        Just("eq"),
        Just("sin("),
        Just("clamp("),
        Just("int("),
        Just("round("),
        Just("random("),
        Just("/a/b.c"),
        Just("é"),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

fn scope() -> impl Strategy<Value = Arbitrary> {
    (any::<u64>(), prop::collection::vec(text(), 0..4)).prop_map(|(seed, mut texts)| {
        texts.extend(["1".to_owned(), "a b".to_owned(), "[value x]".to_owned()]);
        Arbitrary { seed, texts }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any text, any scope: a value or an Unknown, never a panic, and the same answer
    /// twice.
    #[test]
    fn arbitrary_input_never_panics(text in text(), scope in scope(), frame in prop_oneof![Just(1001.0), Just(1.5), any::<f64>()]) {
        let a = eval_expression_num(&text, frame, &mut scope.clone());
        let b = eval_expression_num(&text, frame, &mut scope.clone());
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        if let Ok(n) = a {
            prop_assert!(n.value.is_finite());
        }
        let a = eval_tcl(&text, frame, &mut scope.clone());
        let b = eval_tcl(&text, frame, &mut scope.clone());
        prop_assert_eq!(a, b);
    }

    /// Integer arithmetic the evaluator and Rust agree on: small integers, the four
    /// operations, full parenthesisation.
    #[test]
    fn integer_arithmetic_matches(ops in prop::collection::vec((0..4usize, -50i64..50), 1..12), first in -50i64..50) {
        let mut text = first.to_string();
        let mut want = first as f64;
        for (op, v) in ops {
            let (sym, r) = match op {
                0 => ("+", want + v as f64),
                1 => ("-", want - v as f64),
                2 => ("*", want * v as f64),
                _ if v == 0 => continue,
                _ => ("/", want / v as f64),
            };
            text = format!("({text}){sym}({v})");
            want = r;
        }
        prop_assert_eq!(eval_expression(&text, 1.0, &mut NoScope), Ok(want));
    }
}
