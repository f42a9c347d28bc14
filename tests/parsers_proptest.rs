//! Bounded property tests of the readers of untrusted text besides the `.nk` reader
//! (which has `nk_proptest.rs`): the JSON graph reader, the rule-file parser and the
//! reader of stored setup objects. Whatever they are given, they return a value or an
//! error, never panic or hang, and what they accept keeps the invariants the rest of the
//! crate relies on. The same readers have cargo-fuzz targets for long runs (`fuzz/`).

use proptest::prelude::*;
use serde_json::{json, Value};
use smartcache::graph::Script;
use smartcache::ignore::RuleSet;
use smartcache::manifest::{NoSources, Prepared, Setup};
use smartcache::nk::MAX_GROUP_DEPTH;
use smartcache::profile::Profile;
use smartcache::store::setup_object;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// XOR the byte at (position mod len) with a non-zero mask, or truncate.
fn mutate(bytes: &mut Vec<u8>, ops: &[(usize, u8)]) {
    for &(p, mask) in ops {
        if bytes.is_empty() {
            return;
        }
        let i = p % bytes.len();
        if mask == 0 {
            bytes.truncate(i);
        } else {
            bytes[i] ^= mask;
        }
    }
}

// ---- JSON graphs ----

const CLASSES: &[&str] = &[
    "Blur",
    "Group",
    "Gizmo",
    "Input",
    "Output",
    "Merge2",
    "TimeOffset",
];

/// A node of a random JSON graph: names are drawn from a small set (so duplicates and
/// unknown references happen), parents and inputs point anywhere.
fn json_node() -> impl Strategy<Value = Value> {
    let name = 0..10usize;
    let class = prop::sample::select(CLASSES.to_vec());
    let reference = prop::option::of(0..12usize);
    let inputs = prop::option::of(prop::collection::vec(reference.clone(), 0..3));
    let knob = prop_oneof![
        Just(json!({"name": "size", "value": "3"})),
        Just(json!({"name": "mix", "expression": "parent.mix"})),
        Just(
            json!({"name": "white", "keys": [{"frame": 1, "value": 1}, {"frame": 5, "value": 2, "interpolation": "linear"}]})
        ),
        Just(json!({"name": "t", "components": [0, {"expression": "frame"}]})),
        Just(json!({"name": "bad", "value": "1", "keys": []})),
    ];
    let knobs = prop::option::of(prop::collection::vec(knob, 0..3));
    (name, class, reference, inputs, knobs).prop_map(|(name, class, parent, inputs, knobs)| {
        let label = |i: usize| format!("N{i}");
        let mut node = json!({"name": label(name), "class": class});
        if let Some(p) = parent {
            node["parent"] = label(p).into();
        }
        if let Some(inputs) = inputs {
            node["inputs"] = inputs
                .into_iter()
                .map(|i| i.map_or(Value::Null, |i| label(i).into()))
                .collect();
        }
        if let Some(knobs) = knobs {
            node["knobs"] = knobs.into();
        }
        node
    })
}

/// What the rest of the crate relies on in a script read from JSON.
fn check_script(script: &Script) -> Result<(), TestCaseError> {
    let g = &script.graph;
    for (id, node) in g.nodes() {
        prop_assert_eq!(g.inputs(id).len(), node.input_count);
        let mut depth = 0;
        let mut up = node.parent;
        while let Some(p) = up {
            prop_assert!(
                g.node(p).is_group(),
                "parent of {} is not a group",
                node.name
            );
            depth += 1;
            up = g.node(p).parent;
        }
        prop_assert!(depth <= MAX_GROUP_DEPTH);
    }
    prop_assert!(g.check_acyclic().is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_json_graphs_are_read_or_refused_never_panic(
        nodes in prop::collection::vec(json_node(), 0..12),
        mutations in prop::collection::vec((any::<usize>(), any::<u8>()), 0..3),
    ) {
        let doc = json!({"format": "smartcache-graph", "version": 1, "nodes": nodes});
        let mut bytes = serde_json::to_vec(&doc).unwrap();
        mutate(&mut bytes, &mutations);
        match smartcache::json_graph::parse(&bytes, None) {
            Ok(script) => {
                check_script(&script)?;
                // What is written reads back as the same graph.
                let text = smartcache::json_graph::write(&script);
                let back = smartcache::json_graph::parse(text.as_bytes(), None).unwrap();
                prop_assert_eq!(smartcache::json_graph::write(&back), text);
            }
            Err(e) => prop_assert!(e.to_string().starts_with("<input>"), "{}", e),
        }
    }
}

// ---- Rule files ----

/// A rule line: keywords (some wrong), patterns built from glob syntax (some
/// malformed, some long), reasons.
fn rule_line() -> impl Strategy<Value = String> {
    let keyword = prop::sample::select(vec![
        "node",
        "knob",
        "keep node",
        "keep knob",
        "keep",
        "ignore",
        "",
    ]);
    let piece = prop::sample::select(vec![
        "a", "Blur", "*", "?", "[ab]", "[!a]", "{a,b}", "{", "}", "[", "\\", ":", " ", "x.y", "é",
        "**",
    ]);
    let pattern = prop::collection::vec(piece, 0..6).prop_map(|p| p.concat());
    let long = (1usize..3000).prop_map(|n| "*".repeat(n));
    let reason = prop::option::of(prop::sample::select(vec!["# why", "#", "# a # b"]));
    (keyword, prop_oneof![4 => pattern, 1 => long], reason).prop_map(|(k, p, r)| {
        let mut line = format!("{k} {p}");
        if let Some(r) = r {
            line.push(' ');
            line.push_str(r);
        }
        line
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_rule_files_are_read_or_refused_never_panic(
        lines in prop::collection::vec(rule_line(), 0..8),
        noise in prop::option::of(any::<String>()),
    ) {
        let mut text = lines.join("\n");
        if let Some(noise) = noise {
            text.push('\n');
            text.push_str(&noise);
        }
        match RuleSet::parse(&text, "fuzz.rules") {
            Ok(set) => {
                prop_assert!(smartcache::hash::is_hex128(&set.fingerprint()));
                for class in ["Blur", "a", "x.y", ""] {
                    let _ = set.node_rule(class);
                    let _ = set.knob_rule(class, "a");
                }
                // A layered copy answers like the original.
                let mut layered = RuleSet::empty();
                layered.layer(RuleSet::parse(&text, "fuzz.rules").unwrap());
                prop_assert_eq!(layered.fingerprint(), set.fingerprint());
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.starts_with("fuzz.rules:"), "{}", message);
                // A huge word or pattern is not echoed back whole.
                prop_assert!(message.len() < 400, "{}", message);
                if let smartcache::ignore::RuleError::Syntax { line, col, .. } = e {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1));
                    prop_assert!(col >= 1);
                }
            }
        }
    }
}

// ---- Stored setup objects ----

const SETUP_CLASSES: &[&str] = &["TimeOffset", "FrameHold", "Switch", "Blur", "FrameBlend"];

/// A random setup object: positions point anywhere (forward, backward, at the node
/// itself), with the knobs that shape a frame's walk, and each class's semantics as the
/// Nuke profile gives them.
fn setup_object() -> impl Strategy<Value = Value> {
    let class = prop::sample::select(SETUP_CLASSES.to_vec());
    let value = prop::sample::select(vec![
        "1",
        "-1",
        "0",
        "2.5",
        "{{curve x1 0 x5 10}}",
        "{{frame}}",
        "{{T.time_offset}}",
    ]);
    let knob = prop::sample::select(vec![
        "time_offset",
        "first_frame",
        "increment",
        "which",
        "disable",
        "size",
    ]);
    let knobs = prop::collection::btree_map(knob, value, 0..3);
    let position = 0..8usize;
    let inputs = prop::collection::vec(prop::option::of(position.clone()), 0..3);
    let links = prop::collection::vec(position.clone(), 0..2);
    let reference = prop::option::of((position.clone(), any::<bool>()));
    let node = (class, inputs, links, knobs, any::<bool>(), reference).prop_map(
        |(class, inputs, links, knobs, knob_only, reference)| {
            let mut knobs: serde_json::Map<String, Value> = knobs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            if let Some((node, other_frames)) = reference {
                knobs.insert(
                    "mix".into(),
                    json!({"text": "{{T.which}}", "refs": [{"text": "T.which",
                        "target": {"node": node, "knob": "which"}, "other_frames": other_frames}]}),
                );
            }
            json!({"name": "T", "class": class, "inputs": inputs, "links": links,
                   "knob_only": knob_only, "knobs": knobs})
        },
    );
    let profile = Profile::nuke();
    let classes: serde_json::Map<String, Value> = SETUP_CLASSES
        .iter()
        .map(|c| {
            (
                c.to_string(),
                serde_json::to_value(&*profile.semantics(c)).unwrap(),
            )
        })
        .collect();
    (
        prop::collection::vec(node, 1..8),
        prop::option::of(position),
    )
        .prop_map(move |(nodes, result)| {
            json!({"format": setup_object::SETUP_FORMAT, "version": setup_object::SETUP_VERSION,
                   "output": "T", "rules": "r", "profile": "p", "root": {}, "result": result,
                   "classes": classes, "nodes": nodes})
        })
}

proptest! {
    #![proptest_config(config(512))]

    /// The reader refuses any wiring that could loop, and a frame of anything it
    /// accepts is walked, hashed and viewed in bounded time.
    #[test]
    fn stored_setups_are_refused_or_walk_in_bounded_time(
        doc in setup_object(),
        mutations in prop::collection::vec((any::<usize>(), any::<u8>()), 0..2),
    ) {
        let unmutated = serde_json::to_vec(&doc).unwrap();
        let mut bytes = unmutated.clone();
        mutate(&mut bytes, &mutations);
        // Read beside the setup it was before the mutation (sharing the nodes that
        // are the same), it is read as it is alone: refused alike, or the same setup.
        let base = setup_object::decode(&unmutated).ok();
        let beside = setup_object::decode_beside(&bytes, base.as_ref());
        let Ok(setup) = setup_object::decode(&bytes) else {
            prop_assert!(beside.is_err());
            return Ok(());
        };
        prop_assert_eq!(
            setup_object::encode(&beside.unwrap()),
            setup_object::encode(&setup)
        );
        for (i, n) in setup.nodes.iter().enumerate() {
            prop_assert!(n.inputs.iter().flatten().all(|&p| p < i));
            prop_assert!(n.links().iter().all(|&p| p < i));
        }
        let prepared = Prepared::new(&setup);
        let frames = [-3.0, 0.0, 1.0, 7.5];
        let batched = prepared.frame_hashes(&frames, &NoSources);
        for (frame, together) in frames.into_iter().zip(batched) {
            let (hash, _) = prepared.frame_hash(frame, &NoSources);
            prop_assert!(smartcache::hash::is_hex128(&hash));
            prop_assert_eq!(&hash, &together.0);
            let view = prepared.view(frame, &NoSources);
            prop_assert!(view.records.len() <= 1 << 12);
        }
    }
}

/// Setups built from a real script are accepted back: the reader is strict, not wrong.
#[test]
fn built_setups_read_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/render/comp.nk");
    let script = smartcache::graph::LoadedScript::read(&path).unwrap().script;
    let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
    for (_, node) in script.graph.nodes() {
        let setup: Setup = Setup::build(&script, &node.name, &rules, &profile).unwrap();
        let bytes = setup_object::encode(&setup);
        let back = setup_object::decode(&bytes).unwrap();
        assert_eq!(setup_object::encode(&back), bytes, "{}", node.name);
    }
}
