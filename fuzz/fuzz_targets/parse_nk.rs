//! Any bytes given to the .nk reader give a script or an error, never a panic; a
//! successful read is internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match smartcache::nk::parse(data, None) {
        Ok(script) => {
            for (id, node) in script.graph.nodes() {
                assert_eq!(script.graph.inputs(id).len(), node.input_count);
                if let Some(parent) = node.parent {
                    assert!(script.graph.node(parent).is_group());
                }
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.col >= 1, "{e}");
        }
    }
});
