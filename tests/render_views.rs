//! Properties of typed frame views on random scripts and random edits:
//!
//! * the fast frame hash equals the hash of the typed view;
//! * two frames hash alike exactly when their views have the same content;
//! * every pair of frames that hash differently is explained, with at least one reason,
//!   and no reason says a value changed into the same text;
//! * explaining from sparse views (only the records that can differ, see
//!   `PreparedPair`) gives exactly the reasons the full views give, whenever it gives any;
//! * hashing an edited setup with the record and block digests kept from hashing the
//!   original (`Digests`, as a long-lived process does) gives the hashes of hashing it
//!   cold, on scripts long enough to have many blocks of visits, with edits that keep
//!   or move the positions of visits.

use proptest::prelude::*;
use smartcache::check::{explain, Side};
use smartcache::ignore::RuleSet;
use smartcache::manifest::view::BLOCK;
use smartcache::manifest::{Digests, Kept, PreparedPair};
use smartcache::manifest::{NoSources, Prepared, Setup};
use smartcache::profile::Profile;
use std::path::Path;
use std::sync::Arc;

/// One generated node: a class, and knob lines.
#[derive(Debug, Clone)]
struct GenNode {
    class: &'static str,
    knobs: Vec<(String, String)>,
}

fn knob_value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..5).prop_map(|v| v.to_string()),
        // A curve with a few keys and an interpolation letter.
        (
            prop::sample::select(vec!["", "K ", "L ", "C ", "R "]),
            prop::collection::vec((1i32..30, 0u8..4), 1..4)
        )
            .prop_map(|(interp, keys)| {
                let mut keys = keys;
                keys.sort();
                keys.dedup_by_key(|k| k.0);
                let k: Vec<String> = keys.iter().map(|(f, v)| format!("x{f} {v}")).collect();
                format!("{{{{curve {interp}{}}}}}", k.join(" "))
            }),
        // An expression reading another node's knob.
        (0usize..4).prop_map(|i| format!("{{{{N{i}.size}}}}")),
        Just("{{frame}}".to_string()),
    ]
}

fn node() -> impl Strategy<Value = GenNode> {
    let class = prop::sample::select(vec![
        "Blur",
        "Grade",
        "TimeOffset",
        "FrameHold",
        "Switch",
        "Transform",
        "FrameBlend",
        "Dissolve",
    ]);
    let knobs = prop::collection::vec(
        (
            prop::sample::select(vec![
                "size",
                "white",
                "time_offset",
                "firstFrame",
                "which",
                "disable",
                "motionblur",
                "shutter",
                "numframes",
            ]),
            knob_value(),
        ),
        0..4,
    );
    (class, knobs).prop_map(|(class, knobs)| GenNode {
        class,
        knobs: knobs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    })
}

/// A chain of nodes over two constants, each node reading the stack's top two items.
fn script(nodes: &[GenNode]) -> String {
    padded(nodes, &Pad::default())
}

/// A chain of plain nodes read by one of the generated nodes, so that a frame has
/// many visits (several blocks of them, see `FrameBytes`), most of them the same at
/// every frame and some animated.
#[derive(Debug, Clone, Default)]
struct Pad {
    /// Nodes in the chain.
    len: usize,
    /// After which generated node it comes.
    after: usize,
    /// A node of the chain whose value is changed.
    edit: Option<usize>,
    /// Two nodes of the chain that swap places (names and all).
    swap: Option<(usize, usize)>,
}

fn pad() -> impl Strategy<Value = Pad> {
    (
        0usize..200,
        0usize..6,
        prop::option::of(0usize..200),
        prop::option::of((0usize..15, 1usize..4, any::<bool>())),
    )
        .prop_map(|(len, after, edit, swap)| Pad {
            len,
            after,
            edit,
            // Two animated nodes (one in 13 is, with curves of their own), or an
            // animated one and a plain one.
            swap: swap.map(|(a, by, both)| (13 * a + 5, 13 * (a + by) + 5 - !both as usize)),
        })
}

/// [`script`] with a chain of `pad.len` plain nodes read by the generated node after
/// `pad.after` (one in 13 animated; node `pad.edit`'s value changed, nodes `pad.swap`
/// swapped).
fn padded(nodes: &[GenNode], pad: &Pad) -> String {
    let chain = |s: &mut String| {
        let mut order: Vec<usize> = (0..pad.len).collect();
        if let Some((a, b)) = pad.swap.filter(|&(a, b)| a < pad.len && b < pad.len) {
            order.swap(a, b);
        }
        for j in order {
            let white = match (j % 13 == 5, Some(j) == pad.edit) {
                (true, edited) => format!("{{{{curve x1 0 x30 {}}}}}", j + edited as usize),
                (false, false) => "1.5".to_string(),
                (false, true) => "2.5".to_string(),
            };
            s.push_str(&format!(
                "Grade {{\n inputs 1\n white {white}\n name S{j}\n}}\n"
            ));
        }
    };
    let mut s = String::from("Root {\n inputs 0\n first_frame 1\n last_frame 30\n}\n");
    s.push_str("Constant {\n inputs 0\n name C0\n}\nConstant {\n inputs 0\n name C1\n}\n");
    for (i, n) in nodes.iter().enumerate() {
        s.push_str(&format!("{} {{\n inputs 2\n", n.class));
        for (k, v) in &n.knobs {
            s.push_str(&format!(" {k} {v}\n"));
        }
        s.push_str(&format!(" name N{i}\n}}\n"));
        if i + 1 < nodes.len() {
            s.push_str("Constant {\n inputs 0\n name K");
            s.push_str(&i.to_string());
            s.push_str("\n}\n");
            if i == pad.after % (nodes.len() - 1) {
                chain(&mut s);
            }
        }
    }
    s
}

/// `nodes` with `edits` applied: (where, what, a node to take knobs or all from).
fn edit(nodes: &[GenNode], edits: Vec<(usize, u8, GenNode)>) -> Vec<GenNode> {
    let mut edited = nodes.to_vec();
    for (at, kind, n) in edits {
        let i = at % edited.len();
        match kind {
            // Knobs of a node edited.
            0 => edited[i].knobs = n.knobs,
            // A node replaced, class and all.
            1 => edited[i] = n,
            // A node inserted (the names of those after it shift).
            2 => edited.insert(i, n),
            // Nothing changed.
            3 => {}
            _ if edited.len() > 1 => {
                edited.remove(i);
            }
            _ => {}
        }
    }
    edited
}

fn setup(text: &str) -> Option<Setup> {
    let script = smartcache::graph::load_bytes(text.as_bytes(), Path::new("gen.nk")).ok()?;
    let out = script
        .graph
        .nodes()
        .filter(|(_, n)| n.name.starts_with('N'))
        .map(|(_, n)| n.name.clone())
        .last()?;
    Setup::build(&script, &out, &RuleSet::builtin(), &Profile::nuke()).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn hashes_and_views_agree(
        nodes in prop::collection::vec(node(), 1..6),
        edit_at in 0usize..6,
        edit in node(),
        frame in 1i64..30,
    ) {
        let text = script(&nodes);
        let Some(a) = setup(&text) else { return Ok(()) };
        let mut edited = nodes.clone();
        let i = edit_at % nodes.len();
        edited[i] = GenNode { class: nodes[i].class, knobs: edit.knobs };
        let Some(b) = setup(&script(&edited)) else { return Ok(()) };
        let (pa, pb) = (Prepared::new(&a), Prepared::new(&b));
        let f = frame as f64;
        let (va, vb) = (pa.view(f, &NoSources), pb.view(f, &NoSources));
        let (ha, hb) = (pa.frame_hash(f, &NoSources).0, pb.frame_hash(f, &NoSources).0);
        prop_assert_eq!(&va.hash(), &ha);
        prop_assert_eq!(&vb.hash(), &hb);
        // Frames hashed as a batch (node by node) hash as each frame on its own.
        let batch = [f - 1.0, f, f + 2.0];
        let single: Vec<String> = batch.iter().map(|&g| pa.frame_hash(g, &NoSources).0).collect();
        let batched: Vec<String> = pa.frame_hashes(&batch, &NoSources).into_iter().map(|h| h.0).collect();
        prop_assert_eq!(single, batched);
        prop_assert_eq!(va.content_eq(&vb), ha == hb);
        if ha != hb {
            let reasons = explain(Side { setup: &a, view: &va }, Side { setup: &b, view: &vb });
            prop_assert!(!reasons.is_empty(), "no reason for {} vs {}", text, script(&edited));
            for r in &reasons {
                if let (Some(o), Some(n)) = (&r.old, &r.new) {
                    let same_text = r.text.contains(&format!("{o} -> {n}"));
                    prop_assert!(!(o == n && same_text), "{}", r.text);
                }
            }
        }
    }

    #[test]
    fn sparse_explanations_are_the_full_ones(
        nodes in prop::collection::vec(node(), 1..6),
        edits in prop::collection::vec((0usize..6, 0u8..5, node()), 1..3),
        frame in 1i64..30,
    ) {
        let Some(a) = setup(&script(&nodes)) else { return Ok(()) };
        let edited = edit(&nodes, edits);
        let Some(b) = setup(&script(&edited)) else { return Ok(()) };
        let (pa, pb) = (Prepared::new(&a), Prepared::new(&b));
        let pair = PreparedPair::new(&pa, &pb);
        // Several frames through one pair: the alignment made once serves them all.
        for f in [frame as f64, frame as f64 + 1.0, frame as f64 - 3.0] {
            if pa.frame_hash(f, &NoSources).0 == pb.frame_hash(f, &NoSources).0 {
                continue;
            }
            let (sa, sb) = pair.views(f, &NoSources, &NoSources);
            let sparse = explain(Side { setup: &a, view: &sa }, Side { setup: &b, view: &sb });
            let (va, vb) = (pa.view(f, &NoSources), pb.view(f, &NoSources));
            let full = explain(Side { setup: &a, view: &va }, Side { setup: &b, view: &vb });
            if !sparse.is_empty() {
                prop_assert_eq!(
                    &sparse, &full, "frame {} of {} vs {}", f, script(&nodes), script(&edited)
                );
            }
        }
    }

    #[test]
    fn padded_hashes_and_views_agree(
        nodes in prop::collection::vec(node(), 2..6),
        pad in pad(),
        frame in 1i64..30,
    ) {
        // Many visits: blocks the same at every frame, and blocks that vary.
        let Some(a) = setup(&padded(&nodes, &pad)) else { return Ok(()) };
        let pa = Prepared::new(&a);
        let f = frame as f64;
        prop_assert_eq!(pa.view(f, &NoSources).hash(), pa.frame_hash(f, &NoSources).0);
        let batch = [f - 1.0, f, f + 2.0];
        let single: Vec<String> = batch.iter().map(|&g| pa.view(g, &NoSources).hash()).collect();
        let batched: Vec<String> = pa.frame_hashes(&batch, &NoSources).into_iter().map(|h| h.0).collect();
        prop_assert_eq!(single, batched);
    }

    #[test]
    fn reused_digests_hash_as_cold_hashing_does(
        nodes in prop::collection::vec(node(), 1..6),
        edits in prop::collection::vec((0usize..6, 0u8..5, node()), 1..3),
        pad in pad(),
        frame in 1i64..30,
    ) {
        let (before, after) = (Pad { edit: None, swap: None, ..pad.clone() }, pad);
        let text = padded(&nodes, &before);
        let edited = padded(&edit(&nodes, edits), &after);
        let Some(a) = setup(&text) else { return Ok(()) };
        let Some(b) = setup(&edited) else { return Ok(()) };
        let f = frame as f64;
        let first = [f, f + 1.0, f + 5.0];
        let pa = Prepared::new(&a);
        let mut kept = Kept::default();
        let ha = pa.frame_hashes_with(&first, &NoSources, None, Some(&mut kept));
        prop_assert_eq!(&ha, &pa.frame_hashes(&first, &NoSources));
        let Some(digests) = Digests::gather(&pa, Arc::new(a.clone()), vec![(first.to_vec(), kept)])
        else {
            return Ok(());
        };
        let pb = Prepared::new(&b);
        let reuse = digests.reuse(&pb, &b);
        // The frames hashed before, and frames partly hashed before, partly not.
        for then in [&first[..], &[f, f + 1.0, f + 2.0, f + 5.0]] {
            let warm = pb.frame_hashes_with(then, &NoSources, reuse.as_ref(), None);
            prop_assert_eq!(warm, pb.frame_hashes(then, &NoSources));
        }
        // Nothing edited: every block is taken from the earlier hashing.
        if let (true, Some(r)) = (text == edited, &reuse) {
            let blocks = pb.view(f, &NoSources).records.len().div_ceil(BLOCK);
            prop_assert_eq!(r.reused_blocks(), blocks);
        }
    }
}

/// Two animated nodes with the same inputs (none) that swap places at the end of a
/// block, read by a node in the next block: every record of the first block has a
/// digest kept, and the same inputs, but not at the same position, so that block is
/// hashed anew (taking it whole would hash the old order).
#[test]
fn a_block_is_taken_whole_only_from_the_same_positions() {
    let script = |first: &str, second: &str| {
        let mut s = String::from("Root {\n inputs 0\n first_frame 1\n last_frame 30\n}\n");
        for name in [first, second] {
            let v = if name == "P" { 1 } else { 2 };
            s.push_str(&format!(
                "Constant {{\n inputs 0\n color {{{{curve x1 0 x30 {v}}}}}\n name {name}\n}}\n"
            ));
        }
        s.push_str("Merge2 {\n inputs 2\n name M\n}\nConstant {\n inputs 0\n name C0\n}\n");
        for j in 0..BLOCK - 3 {
            s.push_str(&format!(
                "Grade {{\n inputs 1\n white 1.5\n name S{j}\n}}\n"
            ));
        }
        s.push_str("Merge2 {\n inputs 2\n name N9\n}\n");
        s
    };
    let a = setup(&script("P", "Q")).unwrap();
    let b = setup(&script("Q", "P")).unwrap();
    let pa = Prepared::new(&a);
    let pb = Prepared::new(&b);
    let names = |p: &Prepared<'_>| -> Vec<String> {
        p.view(3.0, &NoSources)
            .records
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    };
    let (na, nb) = (names(&pa), names(&pb));
    assert_eq!(na.len(), BLOCK + 2, "{na:?}");
    assert_eq!(na[BLOCK - 2..BLOCK + 1], ["Q", "P", "M"], "{na:?}");
    assert_eq!(nb[BLOCK - 2..BLOCK + 1], ["P", "Q", "M"], "{nb:?}");
    let frames = [3.0, 4.0, 9.0];
    let mut kept = Kept::default();
    pa.frame_hashes_with(&frames, &NoSources, None, Some(&mut kept));
    let digests = Digests::gather(&pa, Arc::new(a.clone()), vec![(frames.to_vec(), kept)]).unwrap();
    let reuse = digests.reuse(&pb, &b).unwrap();
    assert_eq!(reuse.reused(), 2, "P and Q have their digests kept");
    let warm = pb.frame_hashes_with(&frames, &NoSources, Some(&reuse), None);
    assert_eq!(warm, pb.frame_hashes(&frames, &NoSources));
    assert_ne!(warm, pa.frame_hashes(&frames, &NoSources));
}

/// A node that reads the same two nodes the other way round, both visited before it:
/// every visit keeps its position and record, only that node's inputs differ, so the
/// block is hashed anew.
#[test]
fn a_block_is_taken_whole_only_with_the_same_inputs() {
    let script = |first: &str, second: &str| {
        format!(
            "Root {{\n inputs 0\n first_frame 1\n last_frame 30\n}}\n\
             Constant {{\n inputs 0\n color {{{{curve x1 0 x30 1}}}}\n name P\n}}\n\
             set P1 [stack 0]\n\
             Constant {{\n inputs 0\n color 2\n name Q\n}}\n\
             set Q1 [stack 0]\n\
             push ${first}1\npush ${second}1\nMerge2 {{\n inputs 2\n name M\n}}\n\
             push $P1\npush $Q1\nMerge2 {{\n inputs 2\n name X\n}}\n\
             Merge2 {{\n inputs 2\n name N9\n}}\n"
        )
    };
    let a = setup(&script("P", "Q")).unwrap();
    let b = setup(&script("Q", "P")).unwrap();
    let (pa, pb) = (Prepared::new(&a), Prepared::new(&b));
    let frames = [3.0, 4.0, 9.0];
    let (va, vb) = (pa.view(3.0, &NoSources), pb.view(3.0, &NoSources));
    let names = |v: &smartcache::manifest::FrameView<'_>| -> Vec<String> {
        v.records.iter().map(|r| r.name.to_string()).collect()
    };
    assert_eq!(names(&va), names(&vb));
    assert_ne!(
        va.records[3].inputs,
        vb.records[3].inputs,
        "{:?}",
        names(&va)
    );
    let mut kept = Kept::default();
    pa.frame_hashes_with(&frames, &NoSources, None, Some(&mut kept));
    let digests = Digests::gather(&pa, Arc::new(a.clone()), vec![(frames.to_vec(), kept)]).unwrap();
    let reuse = digests.reuse(&pb, &b).unwrap();
    assert_eq!(reuse.reused(), 1, "P has its digests kept");
    let warm = pb.frame_hashes_with(&frames, &NoSources, Some(&reuse), None);
    assert_eq!(warm, pb.frame_hashes(&frames, &NoSources));
    assert_ne!(warm, pa.frame_hashes(&frames, &NoSources));
}

/// Two animated nodes of one name reading the same input (a script may repeat a name;
/// the last one takes it for lookups) whose curves are swapped: the kept digests are those of the node the
/// name finds, matched by content, and hashing with them is cold hashing.
#[test]
fn kept_digests_follow_the_node_a_repeated_name_finds() {
    let script = |first: u32, second: u32| {
        format!(
            "Root {{\n inputs 0\n first_frame 1\n last_frame 30\n}}\n\
             Constant {{\n inputs 0\n color 0.5\n name C\n}}\n\
             set C1 [stack 0]\n\
             Grade {{\n white {{{{curve x1 1 x30 {first}}}}}\n name A\n}}\n\
             push $C1\n\
             Grade {{\n white {{{{curve x1 1 x30 {second}}}}}\n name A\n}}\n\
             Merge2 {{\n inputs 2\n name N9\n}}\n"
        )
    };
    let a = setup(&script(2, 3)).unwrap();
    let b = setup(&script(3, 2)).unwrap();
    let names: Vec<&str> = a.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "A").count(), 2, "{names:?}");
    let (pa, pb) = (Prepared::new(&a), Prepared::new(&b));
    let frames = [3.0, 4.0, 9.0];
    let mut kept = Kept::default();
    pa.frame_hashes_with(&frames, &NoSources, None, Some(&mut kept));
    let digests = Digests::gather(&pa, Arc::new(a.clone()), vec![(frames.to_vec(), kept)]).unwrap();
    let reuse = digests.reuse(&pb, &b).unwrap();
    assert_eq!(
        reuse.reused(),
        1,
        "the new first A has the old second A's content"
    );
    let warm = pb.frame_hashes_with(&frames, &NoSources, Some(&reuse), None);
    assert_eq!(warm, pb.frame_hashes(&frames, &NoSources));
    assert_ne!(warm, pa.frame_hashes(&frames, &NoSources));
}
