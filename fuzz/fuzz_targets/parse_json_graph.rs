//! Any bytes given to the JSON graph reader give a script or an error, never a panic;
//! a successful read keeps the invariants the rest of the crate relies on (parents are
//! groups nested at most `MAX_GROUP_DEPTH` deep, no cycle through inputs), and writing it
//! back reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartcache::json_graph;
use smartcache::nk::MAX_GROUP_DEPTH;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = json_graph::parse(data, None) else {
        return;
    };
    let g = &script.graph;
    for (id, node) in g.nodes() {
        assert_eq!(g.inputs(id).len(), node.input_count);
        let mut depth = 0;
        let mut up = node.parent;
        while let Some(p) = up {
            assert!(g.node(p).is_group(), "parent of {} is not a group", node.name);
            depth += 1;
            up = g.node(p).parent;
        }
        assert!(depth <= MAX_GROUP_DEPTH);
    }
    assert!(g.check_acyclic().is_ok());
    let text = json_graph::write(&script);
    let back = json_graph::parse(text.as_bytes(), None).expect("written graphs read back");
    assert_eq!(json_graph::write(&back), text);
});
