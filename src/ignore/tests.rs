use super::*;
use crate::graph::{Knob, Node, Script};
use std::io::Write;

fn rules(text: &str) -> RuleSet {
    match RuleSet::parse(text, "t.rules") {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    }
}

fn err(text: &str) -> String {
    match RuleSet::parse(text, "bad.rules") {
        Ok(set) => panic!("expected an error, parsed {:?}", set.rules()),
        Err(e) => e.to_string(),
    }
}

/// The text of the rule that drops a node of `class`, if any.
fn node(set: &RuleSet, class: &str) -> Option<String> {
    set.node_rule(class).map(|r| r.to_string())
}

/// The text of the rule that drops `knob` on `class`, if any.
fn knob(set: &RuleSet, class: &str, name: &str) -> Option<String> {
    set.knob_rule(class, name).map(|r| r.to_string())
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

// --- parsing -----------------------------------------------------------------------------

#[test]
fn parses_every_kind_with_reason_and_origin() {
    let text = "\u{feff}# header comment\n\
                \n\
                node Dot   # a wiring elbow\r\n\
                \tknob  xpos\n\
                knob Roto:toolbar_*  #  tool state  \n\
                keep node NoOp #\n\
                   keep   knob Root : frame # spaced out\n\
                knob Screen Matte # knob names may hold spaces\n";
    let set = rules(text);
    let got: Vec<(RuleKind, &str, Option<&str>, &str)> = set
        .rules()
        .iter()
        .map(|r| {
            (
                r.kind,
                r.pattern.as_str(),
                r.reason.as_deref(),
                r.origin.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (RuleKind::Node, "Dot", Some("a wiring elbow"), "t.rules:3"),
            (RuleKind::Knob, "xpos", None, "t.rules:4"),
            (
                RuleKind::Knob,
                "Roto:toolbar_*",
                Some("tool state"),
                "t.rules:5"
            ),
            (RuleKind::KeepNode, "NoOp", None, "t.rules:6"),
            (
                RuleKind::KeepKnob,
                "Root:frame",
                Some("spaced out"),
                "t.rules:7"
            ),
            (
                RuleKind::Knob,
                "Screen Matte",
                Some("knob names may hold spaces"),
                "t.rules:8"
            ),
        ]
    );
    assert_eq!(
        knob(&set, "OFXkeylight", "Screen Matte"),
        some("knob Screen Matte")
    );
    assert_eq!(set.rules()[4].to_string(), "keep knob Root:frame");
}

#[test]
fn empty_and_comment_only_text_has_no_rules() {
    let set = rules("\n   \n# only a comment\n  # indented comment\n");
    assert!(set.is_empty());
    assert_eq!(node(&set, "Dot"), None);
    assert_eq!(knob(&set, "Blur", "xpos"), None);
}

#[test]
fn syntax_errors_point_at_line_and_column() {
    assert_eq!(
        err("node Dot\n  nodes Dot\n"),
        "bad.rules:2:3: unknown rule `nodes`: expected `node`, `knob`, `keep node` or `keep knob`"
    );
    assert_eq!(
        err("keep\n"),
        "bad.rules:1:5: expected `node` or `knob` after `keep`"
    );
    assert_eq!(
        err("keep  xpos # oops\n"),
        "bad.rules:1:7: expected `node` or `knob` after `keep`, found `xpos`"
    );
    assert_eq!(
        err("knob   # no pattern\n"),
        "bad.rules:1:5: missing pattern after `knob`"
    );
    assert_eq!(
        err("keep knob\n"),
        "bad.rules:1:10: missing pattern after `keep knob`"
    );
    assert_eq!(
        err("node Read:file\n"),
        "bad.rules:1:10: a node rule matches a class name; `CLASS:KNOB` belongs in a knob rule"
    );
    assert_eq!(
        err("knob a:b:c\n"),
        "bad.rules:1:9: a knob pattern has at most one `:` (CLASS:KNOB)"
    );
    assert_eq!(
        err("knob :xpos\n"),
        "bad.rules:1:6: missing class pattern before `:`"
    );
    assert_eq!(
        err("knob Read:\n"),
        "bad.rules:1:11: missing knob pattern after `:`"
    );
    assert_eq!(
        err("node Dot NoOp\n"),
        "bad.rules:1:9: a class pattern cannot contain spaces (one pattern per rule; `{A,B}` matches both)"
    );
    assert_eq!(
        err("knob Read:[ab\n"),
        "bad.rules:1:11: bad pattern `[ab`: unclosed character class; missing ']'"
    );
    assert_eq!(
        err("knob {a,b\n"),
        "bad.rules:1:6: bad pattern `{a,b`: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // `é` is two bytes; the error column must still be the 7th character.
    assert_eq!(
        err("knob é:[\n"),
        "bad.rules:1:8: bad pattern `[`: unclosed character class; missing ']'"
    );
}

#[test]
fn invalid_utf8_is_reported_where_it_starts() {
    let bytes = b"node Dot\nknob ab\xffc\n";
    let e = parse::utf8(bytes, "x.rules").unwrap_err();
    assert_eq!(e.to_string(), "x.rules:2:8: rule files must be UTF-8 text");
    assert_eq!(
        parse::utf8(b"node Dot\n", "x.rules").ok(),
        Some("node Dot\n")
    );
}

// --- matching ----------------------------------------------------------------------------

#[test]
fn last_matching_rule_wins() {
    let set = rules("knob x*\nkeep knob xpos\n");
    assert_eq!(knob(&set, "Blur", "xpos"), None);
    assert_eq!(knob(&set, "Blur", "xform"), some("knob x*"));

    let reversed = rules("keep knob xpos\nknob x*\n");
    assert_eq!(knob(&reversed, "Blur", "xpos"), some("knob x*"));
}

#[test]
fn keep_rules_un_ignore_nodes_and_knobs() {
    let set = rules("node {Dot,NoOp}\nknob label\nkeep node NoOp\nkeep knob Text*:label\n");
    assert_eq!(node(&set, "Dot"), some("node {Dot,NoOp}"));
    assert_eq!(node(&set, "NoOp"), None);
    assert_eq!(node(&set, "Blur"), None);
    assert_eq!(knob(&set, "Blur", "label"), some("knob label"));
    assert_eq!(knob(&set, "Text2", "label"), None);
    // A keep rule that matches nothing changes nothing.
    assert_eq!(knob(&set, "Text2", "xpos"), None);
}

#[test]
fn class_scoped_knobs_only_match_their_classes() {
    let set = rules(
        "knob Read:reload\n\
         knob {Roto,RotoPaint}:toolbar_*\n\
         knob OFXuk.co.thefoundry.*:cacheBreaker\n\
         knob *:rgba.red\n",
    );
    assert_eq!(knob(&set, "Read", "reload"), some("knob Read:reload"));
    assert_eq!(knob(&set, "DeepRead", "reload"), None);
    assert_eq!(knob(&set, "Blur", "reload"), None);
    assert_eq!(
        knob(&set, "RotoPaint", "toolbar_brush_size"),
        some("knob {Roto,RotoPaint}:toolbar_*")
    );
    assert_eq!(knob(&set, "RotoPaint", "brush_size"), None);
    assert_eq!(knob(&set, "Text2", "toolbar_brush_size"), None);
    assert_eq!(
        knob(
            &set,
            "OFXuk.co.thefoundry.keylight.keylight_v201",
            "cacheBreaker"
        ),
        some("knob OFXuk.co.thefoundry.*:cacheBreaker")
    );
    assert_eq!(knob(&set, "Shuffle", "rgba.red"), some("knob *:rgba.red"));
    assert_eq!(knob(&set, "Shuffle", "rgba.green"), None);
}

#[test]
fn scoped_keep_beats_global_ignore_only_where_scoped() {
    // An earlier scoped rule is overridden by a later global one, and vice versa.
    let set = rules("knob Group:help\nkeep knob help\nknob NoOp:help\n");
    assert_eq!(knob(&set, "Group", "help"), None);
    assert_eq!(knob(&set, "NoOp", "help"), some("knob NoOp:help"));
    assert_eq!(knob(&set, "Blur", "help"), None);
}

#[test]
fn matching_is_case_sensitive_and_whole_name() {
    let set = rules("node Dot\nknob pos\n");
    assert_eq!(node(&set, "dot"), None);
    assert_eq!(node(&set, "Dots"), None);
    assert_eq!(node(&set, "MyDot"), None);
    assert_eq!(knob(&set, "Blur", "xpos"), None);
    assert_eq!(knob(&set, "Blur", "pos"), some("knob pos"));
}

#[test]
fn repeated_questions_give_the_same_answer() {
    let set = rules("knob x*\nkeep knob xpos\nnode Dot\n");
    for _ in 0..3 {
        assert_eq!(knob(&set, "Blur", "xpos"), None);
        assert_eq!(knob(&set, "Blur", "xform"), some("knob x*"));
        assert_eq!(node(&set, "Dot"), some("node Dot"));
        assert_eq!(node(&set, "Blur"), None);
    }
}

// --- layering and loading ----------------------------------------------------------------

#[test]
fn layering_puts_later_rules_on_top_and_forgets_old_answers() {
    let mut set = RuleSet::builtin();
    // Ask first, so the memo holds the builtin answers.
    assert_eq!(node(&set, "Dot"), some("node Dot"));
    assert_eq!(knob(&set, "Blur", "label"), some("knob label"));
    let builtin_len = set.len();

    set.layer(rules(
        "keep node Dot\nkeep knob Blur:label # labels drive a Text\n",
    ));
    assert_eq!(set.len(), builtin_len + 2);
    assert_eq!(node(&set, "Dot"), None);
    assert_eq!(knob(&set, "Blur", "label"), None);
    assert_eq!(knob(&set, "Grade", "label"), some("knob label"));
    let last = &set.rules()[builtin_len + 1];
    assert_eq!(last.origin, "t.rules:2");
    assert_eq!(last.reason.as_deref(), Some("labels drive a Text"));
    assert!(set.rules()[0].origin.starts_with("builtin:"));
}

fn write_file(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text).unwrap();
    path
}

#[test]
fn load_layers_builtin_then_env_then_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_file(dir.path(), "a.rules", b"keep node Dot\nknob size\n");
    let b = write_file(dir.path(), "b.rules", b"node Dot\n");
    let c = write_file(dir.path(), "c.rules", b"keep knob size\n");
    let env = std::env::join_paths([&a, Path::new(""), &b]).unwrap();

    let set = RuleSet::load_layers(Some(&env), std::slice::from_ref(&c)).unwrap();
    let builtin = RuleSet::builtin().len();
    let origins: Vec<&str> = set.rules()[builtin..]
        .iter()
        .map(|r| r.origin.as_str())
        .collect();
    let a_name = a.display().to_string();
    let b_name = b.display().to_string();
    let c_name = c.display().to_string();
    assert_eq!(
        origins,
        vec![
            format!("{a_name}:1"),
            format!("{a_name}:2"),
            format!("{b_name}:1"),
            format!("{c_name}:1"),
        ]
    );
    assert_eq!(node(&set, "Dot"), Some("node Dot".to_string()));
    assert_eq!(knob(&set, "Blur", "size"), None);

    let no_env = RuleSet::load_layers(None, &[]).unwrap();
    assert_eq!(no_env.fingerprint(), RuleSet::builtin().fingerprint());
}

#[test]
fn load_reports_missing_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.rules");
    let e = RuleSet::load_layers(None, std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(e, RuleError::Read { ref path, .. } if *path == missing));
    assert!(e
        .to_string()
        .starts_with(&format!("{}: cannot read rule file: ", missing.display())));

    let bad = write_file(dir.path(), "bad.rules", b"node Dot\n\nknob a:\n");
    let env = bad.clone().into_os_string();
    let e = RuleSet::load_layers(Some(&env), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}:3:8: missing knob pattern after `:`", bad.display())
    );

    let binary = write_file(dir.path(), "bin.rules", b"\xfe\xff");
    let e = RuleSet::read_file(&binary).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}:1:1: rule files must be UTF-8 text", binary.display())
    );
}

// --- fingerprint -------------------------------------------------------------------------

#[test]
fn fingerprint_ignores_comments_reasons_spacing_and_origin() {
    let a = rules("node Dot\nknob xpos\nknob Root:frame\n");
    let b = RuleSet::parse(
        "# a comment\n\n  node   Dot   # reason one\n\tknob xpos#no space\nknob Root :  frame\n",
        "elsewhere.rules",
    )
    .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert!(hash::is_hex128(&a.fingerprint()));
    // Pinned: the fingerprint is recorded in every hash.json, so its canonical form must
    // not drift silently between versions.
    assert_eq!(
        a.canonical(),
        "smartcache-ignore-rules v1\nnode\tDot\nknob\txpos\nknob\tRoot:frame\n"
    );
    assert_eq!(a.fingerprint(), hash::hex128(a.canonical().as_bytes()));
}

#[test]
fn fingerprint_changes_with_any_rule_change() {
    let base = rules("node Dot\nknob xpos\n").fingerprint();
    let variants = [
        "node Dot\nknob ypos\n",            // pattern
        "node Dot\nkeep knob xpos\n",       // kind
        "knob xpos\nnode Dot\n",            // order
        "node Dot\nknob xpos\nknob ypos\n", // added
        "node Dot\n",                       // removed
        "node Dot\nknob Blur:xpos\n",       // scoped
        "",                                 // empty
    ];
    let mut seen = std::collections::HashSet::new();
    seen.insert(base.clone());
    for v in variants {
        let fp = rules(v).fingerprint();
        assert!(seen.insert(fp), "fingerprint of {v:?} collides");
    }
}

#[test]
fn layering_changes_the_fingerprint() {
    let mut set = RuleSet::builtin();
    let before = set.fingerprint();
    set.layer(rules("keep knob label\n"));
    assert_ne!(set.fingerprint(), before);
    // Layering an empty file changes nothing.
    let mut same = RuleSet::builtin();
    same.layer(rules("# nothing\n"));
    assert_eq!(same.fingerprint(), before);
}

// --- the built-in rules ------------------------------------------------------------------

#[test]
fn builtin_rules_parse_and_all_have_reasons() {
    let set = RuleSet::parse(DEFAULT_RULES, BUILTIN_ORIGIN).unwrap();
    assert!(set.len() > 30);
    for rule in set.rules() {
        assert!(
            rule.reason.as_deref().is_some_and(|r| r.len() > 8),
            "{} at {} has no reason",
            rule,
            rule.origin
        );
        assert!(!rule.kind.is_keep(), "{rule} un-ignores in the defaults");
    }
    assert_eq!(set.fingerprint(), RuleSet::builtin().fingerprint());
}

#[test]
fn builtin_drops_cosmetic_nodes_and_knobs() {
    let set = RuleSet::builtin();
    for class in [
        "Dot",
        "NoOp",
        "BackdropNode",
        "StickyNote",
        "Viewer",
        "PostageStamp",
    ] {
        assert!(set.node_rule(class).is_some(), "{class} should be dropped");
    }
    for class in [
        "Blur", "Merge2", "Read", "Write", "Group", "Input", "Output", "Switch",
    ] {
        assert_eq!(node(&set, class), None, "{class} must be kept");
    }
    for k in [
        "name",
        "xpos",
        "ypos",
        "selected",
        "label",
        "note_font",
        "note_font_size",
        "note_font_color",
        "tile_color",
        "gl_color",
        "hide_input",
        "postage_stamp",
        "dope_sheet",
        "bookmark",
        "help",
        "knobChanged",
        "autolabel",
        "white_panelDropped",
    ] {
        assert!(
            set.knob_rule("Grade", k).is_some(),
            "Grade.{k} should be dropped"
        );
    }
    assert_eq!(knob(&set, "Root", "frame"), some("knob Root:frame"));
    assert_eq!(
        knob(&set, "RotoPaint", "toolbar_brush_size"),
        some("knob {Roto,RotoPaint,SplineWarp3}:toolbar_*")
    );
    assert!(set.knob_rule("Axis2", "display").is_some());
    // `display` is only a viewer setting on 3D classes; elsewhere it may be pixels.
    assert_eq!(knob(&set, "Group", "display"), None);
    assert_eq!(knob(&set, "Grade", "frame"), None);
}

#[test]
fn builtin_never_drops_knobs_that_change_pixels() {
    let set = RuleSet::builtin();
    let classes = [
        "Root",
        "Read",
        "Write",
        "Blur",
        "Merge2",
        "Grade",
        "Group",
        "Gizmo",
        "Roto",
        "RotoPaint",
        "Text2",
        "BlinkScript",
        "Camera2",
        "Axis2",
        "Card2",
        "ScanlineRender",
        "Switch",
        "Transform",
        "FrameHold",
        "TimeOffset",
        "Shuffle2",
    ];
    let knobs = [
        "disable",
        "mix",
        "channels",
        "maskChannelMask",
        "maskChannelInput",
        "file",
        "format",
        "first",
        "last",
        "first_frame",
        "last_frame",
        "inputs",
        "which",
        "addUserKnob",
        "onCreate",
        "onScriptLoad",
        "beforeRender",
        "beforeFrameRender",
        "afterFrameRender",
        "afterRender",
        "filenameFilter",
        "lifetime_type",
        "lifetime_start",
        "lifetime_end",
        "useLifetime",
        "useGPUIfAvailable",
        "cacheBreaker",
        "reload",
        "message",
        "curves",
        "kernelSource",
        "size",
        "proxy",
        "render_mode",
        "colorManagement",
        "workingSpaceLUT",
        "OCIO_config",
        "fps",
        "project_directory",
        "views",
        "output",
        "operation",
        "translate",
        "frame",
    ];
    for class in classes {
        for k in knobs {
            if class == "Root" && k == "frame" {
                continue; // Root's `frame` is the timeline position, dropped on purpose.
            }
            assert_eq!(knob(&set, class, k), None, "{class}.{k} must be kept");
        }
    }
}

// --- what a script loses -----------------------------------------------------------------

fn script() -> Script {
    let mut s = Script {
        root: vec![
            Knob::new("name", "/shots/a.nk"),
            Knob::new("frame", "1012"),
            Knob::new(
                "format",
                "\"2048 1556 0 0 2048 1556 1 2K_Super_35(full-ap)\"",
            ),
        ],
        ..Script::default()
    };
    let mut read = Node::new("Read1", "Read");
    read.knobs = vec![
        Knob::new("file", "/plates/a.####.exr"),
        Knob::new("name", "Read1"),
        Knob::new("xpos", "10"),
    ];
    let read = s.graph.add_node(read);
    let mut dot = Node::new("Dot1", "Dot");
    dot.knobs = vec![Knob::new("name", "Dot1"), Knob::new("label", "to grade")];
    let dot = s.graph.add_node(dot);
    let mut group = Node::new("Group1", "Group");
    group.knobs = vec![
        Knob::new("name", "Group1"),
        Knob::new("help", "does things"),
    ];
    let group = s.graph.add_node(group);
    let mut grade = Node::new("Group1.Grade1", "Grade");
    grade.parent = Some(group);
    grade.knobs = vec![
        Knob::new("white", "1.2"),
        Knob::new("label", "a"),
        Knob::new("selected", "true"),
        Knob::new("label", "b"),
    ];
    let grade = s.graph.add_node(grade);
    s.graph.connect(read, dot, 0);
    s.graph.connect(dot, grade, 0);
    s
}

#[test]
fn dropped_lists_what_each_rule_removes_in_file_order() {
    let mut set = RuleSet::builtin();
    set.layer(rules("keep knob Group:help\n"));
    let s = script();
    let got: Vec<(&str, Option<&str>, String)> = set
        .dropped(&s)
        .iter()
        .map(|d| (d.node, d.knob, d.rule.to_string()))
        .collect();
    let s_ = |x: &str| x.to_string();
    assert_eq!(
        got,
        vec![
            ("Root", Some("name"), s_("knob name")),
            ("Root", Some("frame"), s_("knob Root:frame")),
            ("Read1", Some("name"), s_("knob name")),
            ("Read1", Some("xpos"), s_("knob xpos")),
            ("Dot1", None, s_("node Dot")),
            ("Group1", Some("name"), s_("knob name")),
            ("Group1.Grade1", Some("label"), s_("knob label")),
            ("Group1.Grade1", Some("selected"), s_("knob selected")),
        ]
    );
    let classes: Vec<&str> = set.dropped(&s).iter().map(|d| d.class).collect();
    assert_eq!(
        classes,
        vec!["Root", "Root", "Read", "Read", "Dot", "Group", "Grade", "Grade"]
    );
    assert!(RuleSet::empty().dropped(&s).is_empty());
}

#[test]
fn rule_sets_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
    let set = RuleSet::builtin();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for i in 0..200 {
                    let name = format!("k{}", i % 50);
                    assert_eq!(set.knob_rule("Blur", &name), None);
                    assert!(set.knob_rule("Blur", "xpos").is_some());
                }
            });
        }
    });
}

// --- property: the compiled matcher agrees with a plain reverse scan --------------------

mod property {
    use super::*;
    use globset::GlobBuilder;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "a", "b", "ab", "*", "a*", "*b", "?b", "{a,b}", "[ab]b", "a.b",
    ];
    const NAMES: &[&str] = &["a", "b", "ab", "ba", "bb", "aab", "a.b", "abb", "x"];

    fn is_match(glob: &str, name: &str) -> bool {
        GlobBuilder::new(glob)
            .literal_separator(false)
            .backslash_escape(true)
            .empty_alternates(true)
            .build()
            .expect("test globs are valid")
            .compile_matcher()
            .is_match(name)
    }

    /// Last-match-wins, spelled out: scan the rules from the end.
    fn reference(rules: &[Rule], class: &str, knob: Option<&str>) -> Option<String> {
        for rule in rules.iter().rev() {
            let hit = match (knob, rule.kind.targets_nodes()) {
                (None, true) => is_match(&rule.pattern, class),
                (Some(k), false) => match rule.pattern.split_once(':') {
                    Some((c, kp)) => is_match(c, class) && is_match(kp, k),
                    None => is_match(&rule.pattern, k),
                },
                _ => false,
            };
            if hit {
                return (!rule.kind.is_keep()).then(|| rule.origin.clone());
            }
        }
        None
    }

    fn rule_line() -> impl Strategy<Value = String> {
        let kind = prop::sample::select(vec!["node", "knob", "keep node", "keep knob"]);
        let piece = prop::sample::select(PIECES.to_vec());
        let scope = prop::option::of(prop::sample::select(PIECES.to_vec()));
        (kind, scope, piece).prop_map(|(kind, scope, piece)| match (kind, scope) {
            ("knob" | "keep knob", Some(c)) => format!("{kind} {c}:{piece}"),
            _ => format!("{kind} {piece}"),
        })
    }

    proptest! {
        #[test]
        fn matcher_equals_reverse_scan(lines in prop::collection::vec(rule_line(), 0..12)) {
            let set = RuleSet::parse(&lines.join("\n"), "p").expect("generated rules parse");
            for class in NAMES {
                let got = set.node_rule(class).map(|r| r.origin.clone());
                prop_assert_eq!(got, reference(set.rules(), class, None), "node {}", class);
                for knob in NAMES {
                    let got = set.knob_rule(class, knob).map(|r| r.origin.clone());
                    let want = reference(set.rules(), class, Some(knob));
                    prop_assert_eq!(got, want, "{}:{}", class, knob);
                }
            }
        }
    }
}
