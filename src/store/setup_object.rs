//! The setup object: a [`Setup`] as the cache stores it (one per script state,
//! content-addressed under `manifests/`), and read back to explain old frames.
//!
//! ```json
//! {"format":"smartcache-setup","version":3,"output":"Write1","rules":"…","profile":"…",
//!  "result":4,"root":{"format":"…"},"root_on_demand":{"fps":"24"},
//!  "classes":{"Blur":{…semantics…}},
//!  "nodes":[{"name":"Blur1","class":"Blur","inputs":[0],"knobs":{"size":"3"}}, …]}
//! ```
//!
//! Members at their default (no inputs, no links, not knob-only) are left out: the
//! setup is what the cache stores, once per script state. A knob is its text alone
//! when it reads nothing and is not hidden (the common case), else an object with
//! `text`, `refs` and `hidden`. Each class's semantics are stored once, so a frame is
//! explained with the semantics it was hashed with.
//!
//! Reading validates as strictly as a script is read: every position in range, every
//! input and link pointing to an earlier node (so the graph is acyclic by construction
//! and a frame walk ends), sizes bounded. A damaged object is an error, never a panic
//! or a hang.

use crate::manifest::setup::{ResolvedRef, RootFile, Setup, SetupKnob, SetupNode, Target};
use crate::profile::Semantics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Format tag and version of a stored setup object.
pub const SETUP_FORMAT: &str = "smartcache-setup";
/// Version of the setup object format this build reads and writes.
pub const SETUP_VERSION: u64 = 3;

/// Most nodes a stored setup may hold (a script of a million nodes is not a comp).
const MAX_NODES: usize = 4_000_000;

/// Errors reading a stored setup object.
#[derive(Debug, thiserror::Error)]
#[error("setup object: {0}")]
pub struct SetupReadError(pub String);

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    format: String,
    version: u64,
    output: String,
    rules: String,
    profile: String,
    result: Option<usize>,
    #[serde(default)]
    root: BTreeMap<String, KnobWire>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    root_on_demand: BTreeMap<String, KnobWire>,
    classes: BTreeMap<String, Semantics>,
    nodes: Vec<NodeWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    script: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    root_files: Vec<RootFile>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize)]
struct NodeWire {
    name: String,
    class: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<Option<usize>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    masks: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    links: Vec<usize>,
    #[serde(default, skip_serializing_if = "is_false")]
    knob_only: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    group: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    topnode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    knobs: BTreeMap<String, KnobWire>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KnobWire {
    Text(String),
    Full {
        text: String,
        #[serde(default, skip_serializing_if = "is_false")]
        hidden: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refs: Vec<RefWire>,
        /// Environment variables read, with their values when the setup was built.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, Option<String>>,
    },
}

#[derive(Serialize, Deserialize)]
struct RefWire {
    text: String,
    target: TargetWire,
    #[serde(default, skip_serializing_if = "is_false")]
    other_frames: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TargetWire {
    Knob { node: usize, knob: String },
    Root { root: String },
    Word(String),
}

fn knob_wire(k: &SetupKnob) -> KnobWire {
    if k.refs.is_empty() && !k.hidden && k.env.is_empty() {
        return KnobWire::Text(k.text.clone());
    }
    KnobWire::Full {
        text: k.text.clone(),
        hidden: k.hidden,
        env: k.env.iter().cloned().collect(),
        refs: k
            .refs
            .iter()
            .map(|r| RefWire {
                text: r.text.clone(),
                target: match &r.target {
                    Target::Knob { node, knob } => TargetWire::Knob {
                        node: *node,
                        knob: knob.clone(),
                    },
                    Target::Root { knob } => TargetWire::Root { root: knob.clone() },
                    Target::Image => TargetWire::Word("image".into()),
                    Target::Unresolved => TargetWire::Word("unresolved".into()),
                },
                other_frames: r.other_frames,
            })
            .collect(),
    }
}

fn knobs_wire(knobs: &[SetupKnob]) -> BTreeMap<String, KnobWire> {
    knobs
        .iter()
        .map(|k| (k.name.clone(), knob_wire(k)))
        .collect()
}

/// The setup as a stored object (JSON, fields in a fixed order, maps sorted).
pub fn encode(setup: &Setup) -> Vec<u8> {
    let mut classes = BTreeMap::new();
    for n in &setup.nodes {
        classes
            .entry(n.class.clone())
            .or_insert_with(|| (*n.sem).clone());
    }
    let wire = Wire {
        format: SETUP_FORMAT.into(),
        version: SETUP_VERSION,
        output: setup.output.clone(),
        rules: setup.rules.clone(),
        profile: setup.profile.clone(),
        result: setup.result,
        root: knobs_wire(&setup.root),
        root_on_demand: knobs_wire(&setup.root_on_demand),
        classes,
        nodes: setup
            .nodes
            .iter()
            .map(|n| NodeWire {
                name: n.name.clone(),
                class: n.class.clone(),
                inputs: n.inputs.clone(),
                masks: n.masks,
                links: n.links.clone(),
                knob_only: n.knob_only,
                group: n.group,
                topnode: n.topnode.clone(),
                origin: n.origin.clone(),
                dir: n.dir.clone(),
                knobs: knobs_wire(&n.knobs),
            })
            .collect(),
        script: setup.script.clone(),
        root_files: setup.root_files.clone(),
    };
    serde_json::to_vec(&wire).expect("serialising a setup to memory cannot fail")
}

/// Read a stored setup object back, validating it (see the module docs).
pub fn decode(bytes: &[u8]) -> Result<Setup, SetupReadError> {
    let bad = |what: String| SetupReadError(what);
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a setup object: {e}")))?;
    if header.format != SETUP_FORMAT || header.version != SETUP_VERSION {
        return Err(bad(format!(
            "format {} version {} (this smartcache reads {SETUP_FORMAT} version \
             {SETUP_VERSION})",
            header.format, header.version
        )));
    }
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let count = wire.nodes.len();
    if count > MAX_NODES {
        return Err(bad(format!("{count} nodes (at most {MAX_NODES})")));
    }
    if wire.result.is_some_and(|r| r >= count) {
        return Err(bad("result position out of range".into()));
    }
    let knob = |name: &str, w: KnobWire, owner: usize| -> Result<SetupKnob, SetupReadError> {
        let (text, hidden, refs, env) = match w {
            KnobWire::Text(t) => (t, false, Vec::new(), BTreeMap::new()),
            KnobWire::Full {
                text,
                hidden,
                refs,
                env,
            } => (text, hidden, refs, env),
        };
        let mut k = SetupKnob::new(name, text, hidden);
        // The environment as it was when the setup was built, not as it is now.
        k.env = env.into_iter().collect();
        for r in refs {
            let target = match r.target {
                TargetWire::Knob { node, knob } if node < count => Target::Knob { node, knob },
                TargetWire::Knob { node, .. } => {
                    return Err(bad(format!(
                        "node {owner} knob {name}: reference to node {node} out of range"
                    )))
                }
                TargetWire::Root { root } => Target::Root { knob: root },
                TargetWire::Word(w) if w == "image" => Target::Image,
                TargetWire::Word(w) if w == "unresolved" => Target::Unresolved,
                TargetWire::Word(w) => {
                    return Err(bad(format!("node {owner} knob {name}: unknown target {w}")))
                }
            };
            k.refs.push(ResolvedRef {
                text: r.text,
                target,
                other_frames: r.other_frames,
            });
        }
        Ok(k)
    };
    let knobs = |m: BTreeMap<String, KnobWire>, owner: usize| {
        m.into_iter()
            .map(|(n, w)| knob(&n, w, owner))
            .collect::<Result<Vec<_>, _>>()
    };
    let classes: BTreeMap<String, Arc<Semantics>> = wire
        .classes
        .into_iter()
        .map(|(c, s)| (c, Arc::new(s)))
        .collect();
    let mut nodes = Vec::with_capacity(count);
    for (i, n) in wire.nodes.into_iter().enumerate() {
        // Inputs and links point to earlier nodes only: the closure is stored inputs
        // first, so a stored setup is acyclic by construction.
        let earlier = |p: usize| p < i;
        if !n.inputs.iter().flatten().all(|&p| earlier(p)) || !n.links.iter().all(|&p| earlier(p)) {
            return Err(bad(format!(
                "node {i} ({}) reads a node that does not come before it",
                n.name
            )));
        }
        if n.masks > n.inputs.len() {
            return Err(bad(format!(
                "node {i} ({}): more masks than inputs",
                n.name
            )));
        }
        let sem = classes.get(&n.class).cloned().ok_or_else(|| {
            bad(format!(
                "node {i} ({}): class {} has no semantics",
                n.name, n.class
            ))
        })?;
        nodes.push(SetupNode {
            knobs: knobs(n.knobs, i)?,
            name: n.name,
            class: n.class,
            sem,
            inputs: n.inputs,
            masks: n.masks,
            links: n.links,
            knob_only: n.knob_only,
            group: n.group,
            topnode: n.topnode,
            origin: n.origin,
            dir: n.dir,
        });
    }
    Ok(Setup {
        output: wire.output,
        rules: wire.rules,
        profile: wire.profile,
        root: knobs(wire.root, usize::MAX)?,
        root_on_demand: knobs(wire.root_on_demand, usize::MAX)?,
        nodes,
        result: wire.result,
        script: wire.script,
        root_files: wire.root_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setup object whose TimeOffset lists itself as its input: refused, not walked
    /// forever.
    #[test]
    fn a_cyclic_setup_object_is_refused() {
        let text = r#"{"format":"smartcache-setup","version":3,"output":"T","rules":"r","profile":"p","result":0,"classes":{"TimeOffset":{"known":true,"disable":"disable"}},"nodes":[{"class":"TimeOffset","inputs":[0],"knobs":{"time_offset":"1"},"name":"T"}]}"#;
        let e = decode(text.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "setup object: node 0 (T) reads a node that does not come before it"
        );
    }

    #[test]
    fn a_setup_round_trips() {
        let text = "Constant {\n inputs 0\n name C\n}\nBlur {\n size {{C.mix*2}}\n name B\n}\n";
        let script =
            crate::graph::load_bytes(text.as_bytes(), std::path::Path::new("t.nk")).unwrap();
        let setup = Setup::build(
            &script,
            "B",
            &crate::ignore::RuleSet::builtin(),
            &crate::profile::Profile::nuke(),
        )
        .unwrap();
        let bytes = encode(&setup);
        let back = decode(&bytes).unwrap();
        assert_eq!(encode(&back), bytes);
    }
}
