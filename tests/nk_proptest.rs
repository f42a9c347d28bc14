//! Mutated corpus files (byte flips, truncations, deleted and inserted braces, quotes,
//! brackets and backslashes) never make the reader panic: it returns a script or an
//! error that points inside the file.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Corpus files under 32 KB (the mutations, not the size, are what is being tested;
/// small files keep the test fast in debug builds). Missing corpus fails.
fn corpus() -> &'static [(PathBuf, Vec<u8>)] {
    static FILES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let shared = std::env::var_os("SMARTCACHE_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
        let root = shared.join("corpus/nk");
        assert!(root.is_dir(), "corpus not found at {}", root.display());
        let mut files = Vec::new();
        let mut todo = vec![root];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else if std::fs::metadata(&p).unwrap().len() < 32 * 1024 {
                    files.push(p);
                }
            }
        }
        files.sort();
        assert!(files.len() > 100, "expected most corpus files to be small");
        files
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at (position mod len) with a non-zero mask.
    Flip(usize, u8),
    /// Keep only the first (position mod len) bytes.
    Truncate(usize),
    /// Delete the k-th occurrence (mod count) of a syntax byte.
    Delete(u8, usize),
    /// Insert a syntax byte at (position mod len).
    Insert(u8, usize),
}

fn syntax_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![b'{', b'}', b'"', b'[', b']', b'\\', b'\n', b'$'])
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(p, m)| Mutation::Flip(p, m)),
        any::<usize>().prop_map(Mutation::Truncate),
        (syntax_byte(), any::<usize>()).prop_map(|(b, k)| Mutation::Delete(b, k)),
        (syntax_byte(), any::<usize>()).prop_map(|(b, p)| Mutation::Insert(b, p)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(p, mask) => {
            let i = p % bytes.len();
            bytes[i] ^= mask;
        }
        Mutation::Truncate(p) => bytes.truncate(p % bytes.len()),
        Mutation::Delete(b, k) => {
            let hits: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b).collect();
            if !hits.is_empty() {
                bytes.remove(hits[k % hits.len()]);
            }
        }
        Mutation::Insert(b, p) => {
            let i = p % (bytes.len() + 1);
            bytes.insert(i, b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_files_never_panic(
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (path, original) = &corpus()[file.index(corpus().len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        match smartcache::nk::parse(&bytes, Some(path)) {
            Ok(script) => {
                // Every edge names a node of the graph and a popped slot.
                for (id, node) in script.graph.nodes() {
                    prop_assert_eq!(script.graph.inputs(id).len(), node.input_count);
                }
            }
            Err(e) => {
                let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
                prop_assert!(e.line >= 1 && e.line <= lines, "{e}");
                prop_assert!(e.col >= 1, "{e}");
                let display = path.display().to_string();
                prop_assert!(e.to_string().starts_with(&display), "{}", e);
            }
        }
    }
}

/// One command of a random stack program: every command the reader knows, with counts
/// that include zero, small values and values at the integer limits.
fn command() -> impl Strategy<Value = String> {
    let count = prop_oneof![
        0..4u64,
        Just(u64::MAX),
        Just(u32::MAX as u64 + 1),
        any::<u64>()
    ];
    let var = prop::sample::select(vec!["A", "B", "cut_paste_input"]);
    let class = prop::sample::select(vec!["Blur", "Group", "Gizmo", "Merge2", "Input", "Output"]);
    prop_oneof![
        (class, 0..4u32, any::<bool>()).prop_map(|(c, n, mask)| {
            let inputs = if mask {
                format!("{n}+1")
            } else {
                n.to_string()
            };
            format!("{c} {{\n inputs {inputs}\n}}")
        }),
        (var.clone(), count.clone()).prop_map(|(v, n)| format!("set {v} [stack {n}]")),
        var.clone().prop_map(|v| format!("push ${v}")),
        Just("push 0".to_owned()),
        Just("pop".to_owned()),
        Just("dup".to_owned()),
        Just("exch".to_owned()),
        Just("end_group".to_owned()),
        count.clone().prop_map(|n| format!("index {n}")),
        (count, any::<i64>()).prop_map(|(n, m)| format!("roll {n} {m}")),
        var.prop_map(|v| format!("clone ${v} {{\n xpos 1\n}}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_stack_programs_never_panic(cmds in prop::collection::vec(command(), 0..40)) {
        let src = cmds.join("\n");
        match smartcache::nk::parse(src.as_bytes(), None) {
            Ok(script) => {
                for (id, node) in script.graph.nodes() {
                    prop_assert_eq!(script.graph.inputs(id).len(), node.input_count);
                    if let Some(p) = node.parent {
                        prop_assert!(script.graph.node(p).is_group());
                    }
                }
            }
            Err(e) => prop_assert!(e.line >= 1 && e.col >= 1, "{}", e),
        }
    }
}
