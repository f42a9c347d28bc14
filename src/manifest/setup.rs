//! The setup: everything a cached output depends on, frame-independent.
//!
//! Built once per (script, output node, rules): the upstream closure in canonical order
//! with the ignore rules applied, every kept knob parsed, and every expression reference
//! resolved to a node and knob of the setup. Per-frame manifests
//! ([`super::frame::FrameView`]) are derived from it, both when hashing and when
//! explaining, so one mechanism serves both. The setup is what the cache stores (one
//! object shared by all frames): its size is about one frame's full manifest however
//! many frames are recorded.
//!
//! What is and is not in it, and why:
//! * Input edges are followed through groups ([`Graph::upstream`]). Nodes whose class a
//!   rule skips (Dot, NoOp, Backdrop…) leave the setup and their input 0 takes their
//!   place, so inserting or removing a Dot is not a change.
//! * An expression reading another node's knob does not pull that node's *image* in: the
//!   referenced knob's value is recorded at the referencing knob (through a
//!   knob-only member). Editing an unrelated knob of the referenced node is therefore
//!   not a change, while editing the referenced one is. Expressions reading a node's
//!   image properties (`width`, `format`, `bbox`…) do pull its image in.
//! * A group node is a knob-only member of the setup of anything inside it: children
//!   may read its knobs in ways the expression analysis cannot see.

use super::time::{behaviour, TimeBehaviour};
use crate::eval::{KnobValue, Reference};
use crate::graph::{CycleError, Graph, NodeId, Script};
use crate::ignore::RuleSet;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A setup node: a member of the closure, or a knob-only member (a node whose knobs
/// expressions read, or an enclosing group).
#[derive(Debug, Clone)]
pub struct SetupNode {
    /// Full dotted name, for display and explanations only (never hashed).
    pub name: String,
    pub class: String,
    /// Effective input slots as positions in [`Setup::nodes`].
    pub inputs: Vec<Option<usize>>,
    /// Image links: nodes whose image this one reads besides its inputs.
    pub links: Vec<usize>,
    /// Knobs by name (canonical order), ignore rules applied.
    pub knobs: Vec<SetupKnob>,
    /// Only referenced by expressions or enclosing others: contributes knob values, not
    /// an image.
    pub knob_only: bool,
    pub time: TimeBehaviour,
}

impl SetupNode {
    /// The knob named `name`, if the setup kept it.
    pub fn knob(&self, name: &str) -> Option<&SetupKnob> {
        self.knobs
            .binary_search_by(|k| k.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.knobs[i])
    }
}

/// A knob of a setup node: its exact text, parsed, with its references resolved.
#[derive(Debug, Clone)]
pub struct SetupKnob {
    pub name: String,
    pub text: String,
    pub value: KnobValue,
    /// Resolved references, in the order the analysis lists them.
    pub refs: Vec<ResolvedRef>,
    /// Dropped by an ignore rule but kept because an expression reads it: it appears in
    /// the referencing knob's record, not in its own node's.
    pub hidden: bool,
}

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A knob of a setup node (`node` is a position in [`Setup::nodes`]).
    Knob { node: usize, knob: String },
    /// A Root setting.
    Root { knob: String },
    /// The image of the node itself or of one of its inputs (`input.width`): already in
    /// the closure, so nothing to add.
    Image,
    /// A node or knob that does not exist: recorded as text, never an error.
    Unresolved,
}

/// A reference as written, and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRef {
    /// The path as written (`Blur1.size`, `parent.gain`).
    pub text: String,
    pub target: Target,
    /// The reference reads other frames (`Blur1.size(frame-1)`): the whole animation of
    /// the referenced knob matters.
    pub other_frames: bool,
}

/// Everything a cached output depends on, frame-independent.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Full name of the output node.
    pub output: String,
    /// Fingerprint of the ignore rules the setup was built with.
    pub rules: String,
    /// Root settings, ignore rules applied (class `Root`).
    pub root: Vec<SetupKnob>,
    /// Image closure in canonical order (inputs before consumers; the output's image
    /// last among them), then knob-only members.
    pub nodes: Vec<SetupNode>,
    /// Position of the node whose image is the output (after skipped nodes are passed
    /// through); `None` when the output passes through to nothing.
    pub result: Option<usize>,
}

/// Errors building a setup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("no node named \"{0}\" in the script")]
    UnknownNode(String),
    #[error(transparent)]
    Cycle(#[from] CycleError),
}

/// Knob names that describe a node's image rather than a knob: an expression reading
/// them (`Read1.width`, `[value Blur1.format]`) reads the node's image.
fn is_image_property(knob: &str) -> bool {
    let base = knob.split('.').next().unwrap_or(knob);
    matches!(
        base,
        "width"
            | "height"
            | "bbox"
            | "format"
            | "pixel_aspect"
            | "first_frame"
            | "last_frame"
            | "channels"
            | "metadata"
    )
}

/// Whether `group` encloses `node` (at any depth).
fn is_ancestor(graph: &Graph, group: NodeId, node: NodeId) -> bool {
    let mut cur = graph.node(node).parent;
    while let Some(g) = cur {
        if g == group {
            return true;
        }
        cur = graph.node(g).parent;
    }
    false
}

/// Whether an expression reading `knob` of `node` reads the node's image: an image
/// property name that is not a knob of the node. A node's own knob wins, as in Nuke:
/// `parent.bbox` on a group with a user knob `bbox`, or `STMap1.channels` on a node
/// that sets `channels`, reads that knob's value. Taking it for the image would miss a
/// change of the knob and, when the reader is upstream of the node, make a false cycle.
fn reads_image(node: &crate::graph::Node, knob: &str) -> bool {
    let base = knob.split('.').next().unwrap_or(knob);
    is_image_property(knob) && !has_knob(node, base)
}

/// Whether `node` sets knob `name` or declares it with `addUserKnob`
/// (`addUserKnob {6 bbox l "keep bbox"}`: the name is the second word).
fn has_knob(node: &crate::graph::Node, name: &str) -> bool {
    node.knobs.iter().any(|k| {
        k.name == name
            || (k.name == "addUserKnob"
                && k.value.trim_start_matches('{').split_whitespace().nth(1) == Some(name))
    })
}

/// Parse and sort a node's knobs, dropping the ones `rules` ignore (they are kept,
/// hidden, when something reads them: see [`Setup::build`]).
fn setup_knobs(graph_knobs: &[crate::graph::Knob], class: &str, rules: &RuleSet) -> Vec<SetupKnob> {
    // Last definition wins, as when Nuke loads a script; user-knob declarations are a
    // list and are joined.
    let mut by_name: BTreeMap<&str, String> = BTreeMap::new();
    for k in graph_knobs {
        // `inputs` is how many inputs the stack machine popped: wiring, which the
        // record holds as its input list.
        if k.name == "inputs" {
            continue;
        }
        match by_name.get_mut(k.name.as_str()) {
            Some(v) if k.name == "addUserKnob" => {
                v.push('\n');
                v.push_str(&k.value);
            }
            _ => {
                by_name.insert(&k.name, k.value.clone());
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, text)| SetupKnob {
            hidden: rules.knob_rule(class, name).is_some(),
            value: KnobValue::parse(&text),
            name: name.to_string(),
            text,
            refs: Vec::new(),
        })
        .collect()
}

impl Setup {
    /// Build the setup of `output` in `script` with `rules` applied.
    pub fn build(script: &Script, output: &str, rules: &RuleSet) -> Result<Setup, SetupError> {
        let graph = &script.graph;
        let out_id = graph
            .find(output)
            .ok_or_else(|| SetupError::UnknownNode(output.to_string()))?;

        // 1. The image closure, expression image links included.
        let image_links = |id: NodeId| -> Vec<NodeId> {
            let node = graph.node(id);
            let mut links = Vec::new();
            for k in &node.knobs {
                // Another node is only ever named by a dotted path (`Node.width`,
                // `parent.bbox`): values without a dot read no other node's image, and
                // are not parsed twice.
                if !k.value.contains('.') || rules.knob_rule(&node.class, &k.name).is_some() {
                    continue;
                }
                let value = KnobValue::parse(&k.value);
                for r in value.references() {
                    let Some((nid, knob)) = resolve_node(graph, id, r) else {
                        continue;
                    };
                    if nid == id || !reads_image(graph.node(nid), &knob) {
                        continue;
                    }
                    // An enclosing group's image info (`parent.width`) flows in through
                    // the group's inputs; its Output is downstream of the reader.
                    let targets: Vec<NodeId> = if is_ancestor(graph, nid, id) {
                        graph
                            .inputs(nid)
                            .into_iter()
                            .flatten()
                            .filter_map(|s| graph.effective_source(s))
                            .collect()
                    } else {
                        vec![graph.effective_source(nid).unwrap_or(nid)]
                    };
                    for t in targets {
                        if t != id && !links.contains(&t) {
                            links.push(t);
                        }
                    }
                }
            }
            links
        };
        let closure = graph.upstream(out_id, image_links)?;

        // 2. Skipped classes pass their input 0 through.
        let mut pos_of: HashMap<NodeId, usize> = HashMap::new();
        let mut replaced: Vec<Option<usize>> = Vec::with_capacity(closure.len());
        let mut nodes: Vec<SetupNode> = Vec::new();
        let mut ids: Vec<NodeId> = Vec::new();
        for dep in &closure {
            let node = graph.node(dep.id);
            let map = |p: &Option<usize>| p.and_then(|p| replaced[p]);
            if rules.node_rule(&node.class).is_some() {
                let through = dep.inputs.first().and_then(map);
                replaced.push(through);
                continue;
            }
            let mut links: Vec<usize> = dep.links.iter().filter_map(|&l| replaced[l]).collect();
            links.dedup();
            let knob_only = node.is_group();
            let pos = nodes.len();
            nodes.push(SetupNode {
                name: node.name.clone(),
                class: node.class.clone(),
                inputs: dep.inputs.iter().map(map).collect(),
                links: if knob_only { Vec::new() } else { links },
                knobs: setup_knobs(&node.knobs, &node.class, rules),
                knob_only,
                time: behaviour(&node.class),
            });
            ids.push(dep.id);
            pos_of.insert(dep.id, pos);
            replaced.push(Some(pos));
        }
        let result = replaced.last().copied().flatten();

        // 3. Resolve references, adding knob-only members for nodes that are read but not
        //    in the closure (a worklist, since a read knob may read others).
        let mut root = setup_knobs(&script.root, "Root", rules);
        let mut next = 0;
        let mut root_done = false;
        loop {
            let (owner, knob_refs): (Option<usize>, Vec<(usize, Vec<Reference>)>) =
                if next < nodes.len() {
                    let n = &nodes[next];
                    (
                        Some(next),
                        n.knobs
                            .iter()
                            .enumerate()
                            .map(|(i, k)| (i, k.value.references().to_vec()))
                            .collect(),
                    )
                } else if !root_done {
                    root_done = true;
                    (
                        None,
                        root.iter()
                            .enumerate()
                            .map(|(i, k)| (i, k.value.references().to_vec()))
                            .collect(),
                    )
                } else {
                    break;
                };
            for (ki, refs) in knob_refs {
                let mut resolved = Vec::with_capacity(refs.len());
                for r in refs {
                    let target = match owner {
                        Some(p) => resolve(
                            graph,
                            ids[p],
                            &r,
                            &mut nodes,
                            &mut ids,
                            &mut pos_of,
                            &script.root,
                            rules,
                        ),
                        None => resolve_root(&r, &script.root),
                    };
                    resolved.push(ResolvedRef {
                        text: r.path(),
                        target,
                        other_frames: r.other_frames,
                    });
                }
                match owner {
                    Some(p) => nodes[p].knobs[ki].refs = resolved,
                    None => root[ki].refs = resolved,
                }
            }
            if owner.is_some() {
                next += 1;
            }
        }

        // 4. A hidden knob stays only if something reads it.
        let mut read: HashSet<(usize, String)> = HashSet::new();
        let mut root_read: HashSet<String> = HashSet::new();
        for k in nodes.iter().flat_map(|n| &n.knobs).chain(&root) {
            for r in &k.refs {
                match &r.target {
                    Target::Knob { node, knob } => {
                        read.insert((*node, knob.clone()));
                    }
                    Target::Root { knob } => {
                        root_read.insert(knob.clone());
                    }
                    _ => {}
                }
            }
        }
        for (i, n) in nodes.iter_mut().enumerate() {
            n.knobs
                .retain(|k| !k.hidden || read.contains(&(i, k.name.clone())));
        }
        root.retain(|k| !k.hidden || root_read.contains(&k.name));

        Ok(Setup {
            output: output.to_string(),
            rules: rules.fingerprint(),
            root,
            nodes,
            result,
        })
    }
}

/// Resolve a reference made by a knob of `from` to a graph node and knob name, trying
/// each reading of the dotted path in turn.
fn resolve_node(graph: &Graph, from: NodeId, r: &Reference) -> Option<(NodeId, String)> {
    for c in r.candidates() {
        let base = c.knob.split('.').next().unwrap_or(&c.knob).to_string();
        let scope = graph.node(from).parent;
        let target = match c.node.as_str() {
            "" | "this" => Some(from),
            "parent" => scope,
            "root" | "input" => None,
            path => {
                let (mut scope, mut rest) = (scope, path);
                // `parent.X` looks X up one group further out; `root.X` is absolute.
                loop {
                    if let Some(r) = rest.strip_prefix("parent.") {
                        scope = scope.and_then(|s| graph.node(s).parent);
                        rest = r;
                    } else if let Some(r) = rest.strip_prefix("root.") {
                        scope = None;
                        rest = r;
                    } else {
                        break;
                    }
                }
                graph.resolve_relative(scope, rest)
            }
        };
        if let Some(t) = target {
            return Some((t, base));
        }
    }
    None
}

fn resolve_root(r: &Reference, root: &[crate::graph::Knob]) -> Target {
    for c in r.candidates() {
        if matches!(c.node.as_str(), "" | "root" | "this") {
            let base = c.knob.split('.').next().unwrap_or(&c.knob);
            if root.iter().any(|k| k.name == base) {
                return Target::Root {
                    knob: base.to_string(),
                };
            }
        }
    }
    Target::Unresolved
}

/// Resolve a reference of setup node `ids[owner]`, adding a knob-only member when the
/// node read is not in the setup yet.
#[allow(clippy::too_many_arguments)]
fn resolve(
    graph: &Graph,
    from: NodeId,
    r: &Reference,
    nodes: &mut Vec<SetupNode>,
    ids: &mut Vec<NodeId>,
    pos_of: &mut HashMap<NodeId, usize>,
    root: &[crate::graph::Knob],
    rules: &RuleSet,
) -> Target {
    let first = r.candidates().into_iter().next();
    if let Some(c) = &first {
        if c.node == "input"
            || c.node.starts_with("input") && c.node[5..].bytes().all(|b| b.is_ascii_digit())
        {
            return Target::Image;
        }
        let top_level = graph.node(from).parent.is_none();
        if c.node == "root" || (c.node == "parent" && top_level) {
            return resolve_root(
                &Reference {
                    node: "root".into(),
                    knob: c.knob.clone(),
                    other_frames: c.other_frames,
                },
                root,
            );
        }
    }
    let Some((nid, knob)) = resolve_node(graph, from, r) else {
        return Target::Unresolved;
    };
    if reads_image(graph.node(nid), &knob) {
        return Target::Image;
    }
    let pos = match pos_of.get(&nid) {
        Some(&p) => p,
        None => {
            let node = graph.node(nid);
            let p = nodes.len();
            nodes.push(SetupNode {
                name: node.name.clone(),
                class: node.class.clone(),
                inputs: Vec::new(),
                links: Vec::new(),
                knobs: setup_knobs(&node.knobs, &node.class, rules),
                knob_only: true,
                time: behaviour(&node.class),
            });
            ids.push(nid);
            pos_of.insert(nid, p);
            p
        }
    };
    Target::Knob { node: pos, knob }
}

/// Format tag and version of a stored setup object.
pub const SETUP_FORMAT: &str = "smartcache-setup";
pub const SETUP_VERSION: u64 = 2;

/// Errors reading a stored setup object.
#[derive(Debug, thiserror::Error)]
#[error("setup object: {0}")]
pub struct SetupReadError(String);

/// A knob as stored: its text alone when it reads nothing and is not hidden (the
/// common case, kept small since the setup is what the cache stores), else an object
/// with `text`, `refs` and `hidden`.
fn knob_to_json(k: &SetupKnob) -> serde_json::Value {
    if k.refs.is_empty() && !k.hidden {
        return k.text.clone().into();
    }
    let mut o = serde_json::Map::new();
    o.insert("text".into(), k.text.clone().into());
    if k.hidden {
        o.insert("hidden".into(), true.into());
    }
    if !k.refs.is_empty() {
        let refs = k
            .refs
            .iter()
            .map(|r| {
                let target = match &r.target {
                    Target::Knob { node, knob } => serde_json::json!({"node": node, "knob": knob}),
                    Target::Root { knob } => serde_json::json!({"root": knob}),
                    Target::Image => serde_json::json!("image"),
                    Target::Unresolved => serde_json::json!("unresolved"),
                };
                let mut o = serde_json::json!({"text": r.text, "target": target});
                if r.other_frames {
                    o["other_frames"] = true.into();
                }
                o
            })
            .collect::<Vec<_>>();
        o.insert("refs".into(), refs.into());
    }
    serde_json::Value::Object(o)
}

/// Knobs as stored: an object from name to [`knob_to_json`] (names are unique and
/// sorted in a setup, as in a JSON object without preserved order).
fn knobs_to_json(knobs: &[SetupKnob]) -> serde_json::Value {
    serde_json::Value::Object(
        knobs
            .iter()
            .map(|k| (k.name.clone(), knob_to_json(k)))
            .collect(),
    )
}

fn knob_from_json(name: &str, v: &serde_json::Value) -> Result<SetupKnob, SetupReadError> {
    let bad = || SetupReadError(format!("malformed knob {name}: {v}"));
    let (text, hidden) = match v {
        serde_json::Value::String(t) => (t.clone(), false),
        _ => (
            v["text"].as_str().ok_or_else(bad)?.to_string(),
            v.get("hidden").and_then(|b| b.as_bool()).unwrap_or(false),
        ),
    };
    let mut refs = Vec::new();
    if let Some(arr) = v.get("refs").and_then(|r| r.as_array()) {
        for r in arr {
            let t = &r["target"];
            let target = if let Some(node) = t.get("node").and_then(|n| n.as_u64()) {
                Target::Knob {
                    node: node as usize,
                    knob: t["knob"].as_str().ok_or_else(bad)?.to_string(),
                }
            } else if let Some(knob) = t.get("root").and_then(|n| n.as_str()) {
                Target::Root { knob: knob.into() }
            } else if t == "image" {
                Target::Image
            } else {
                Target::Unresolved
            };
            refs.push(ResolvedRef {
                text: r["text"].as_str().ok_or_else(bad)?.to_string(),
                target,
                other_frames: r
                    .get("other_frames")
                    .and_then(|b| b.as_bool())
                    .unwrap_or(false),
            });
        }
    }
    Ok(SetupKnob {
        value: KnobValue::parse(&text),
        name: name.to_string(),
        text,
        refs,
        hidden,
    })
}

fn knobs_from_json(v: &serde_json::Value) -> Result<Vec<SetupKnob>, SetupReadError> {
    match v {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| knob_from_json(k, v)).collect(),
        _ => Err(SetupReadError("malformed knobs".into())),
    }
}

impl Setup {
    /// The setup as a stored object (JSON with sorted keys, names kept for display).
    pub fn to_json(&self) -> Vec<u8> {
        // Members at their default (no inputs, no links, not knob-only) are left out:
        // the setup is what the cache stores, once per script state.
        let nodes: Vec<serde_json::Value> = self
            .nodes
            .iter()
            .map(|n| {
                let mut o = serde_json::Map::new();
                o.insert("name".into(), n.name.clone().into());
                o.insert("class".into(), n.class.clone().into());
                if !n.inputs.is_empty() {
                    o.insert("inputs".into(), serde_json::json!(n.inputs));
                }
                if !n.links.is_empty() {
                    o.insert("links".into(), serde_json::json!(n.links));
                }
                if n.knob_only {
                    o.insert("knob_only".into(), true.into());
                }
                if !n.knobs.is_empty() {
                    o.insert("knobs".into(), knobs_to_json(&n.knobs));
                }
                serde_json::Value::Object(o)
            })
            .collect();
        let doc = serde_json::json!({
            "format": SETUP_FORMAT,
            "version": SETUP_VERSION,
            "output": self.output,
            "rules": self.rules,
            "result": self.result,
            "root": knobs_to_json(&self.root),
            "nodes": nodes,
        });
        serde_json::to_vec(&doc).expect("JSON values always serialize")
    }

    /// Read a stored setup object back; positions are checked so that a damaged object
    /// is an error, never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Setup, SetupReadError> {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| SetupReadError(e.to_string()))?;
        if doc["format"] != SETUP_FORMAT || doc["version"].as_u64() != Some(SETUP_VERSION) {
            return Err(SetupReadError(format!(
                "expected format {SETUP_FORMAT} version {SETUP_VERSION}"
            )));
        }
        let bad = |what: &str| SetupReadError(format!("malformed {what}"));
        let root = knobs_from_json(&doc["root"])?;
        let arr = doc["nodes"].as_array().ok_or_else(|| bad("nodes"))?;
        let count = arr.len();
        let pos = |v: &serde_json::Value| -> Result<Option<usize>, SetupReadError> {
            match v.as_u64() {
                Some(p) if (p as usize) < count => Ok(Some(p as usize)),
                Some(_) => Err(bad("node position")),
                None if v.is_null() => Ok(None),
                None => Err(bad("node position")),
            }
        };
        let mut nodes = Vec::with_capacity(count);
        for n in arr {
            let class = n["class"].as_str().ok_or_else(|| bad("class"))?.to_string();
            let list = |key: &str| n[key].as_array().cloned().unwrap_or_default();
            let knobs = knobs_from_json(&n["knobs"])?;
            for k in &knobs {
                for r in &k.refs {
                    if let Target::Knob { node, .. } = r.target {
                        if node >= count {
                            return Err(bad("reference"));
                        }
                    }
                }
            }
            nodes.push(SetupNode {
                name: n["name"].as_str().ok_or_else(|| bad("name"))?.to_string(),
                time: behaviour(&class),
                class,
                inputs: list("inputs").iter().map(pos).collect::<Result<_, _>>()?,
                links: list("links")
                    .iter()
                    .map(|v| pos(v)?.ok_or_else(|| bad("link")))
                    .collect::<Result<_, _>>()?,
                knobs,
                knob_only: n["knob_only"].as_bool().unwrap_or(false),
            });
        }
        check_wiring(&nodes)?;
        Ok(Setup {
            output: doc["output"].as_str().unwrap_or_default().to_string(),
            rules: doc["rules"].as_str().unwrap_or_default().to_string(),
            result: pos(&doc["result"])?,
            root,
            nodes,
        })
    }
}

/// Refuse a stored setup whose image wiring could loop. [`Setup::build`] lists inputs
/// before their consumers, so every input and image link of node i names a node listed
/// before i; a stored object must too, since a frame's walk follows them over (node,
/// frame) pairs, and one loop through a `TimeOffset` would visit frames f, f-1, f-2…
/// forever. Knob references may point anywhere: their evaluation detects cycles.
fn check_wiring(nodes: &[SetupNode]) -> Result<(), SetupReadError> {
    for (i, n) in nodes.iter().enumerate() {
        let inputs = n.inputs.iter().map(|p| ("input", *p));
        let links = n.links.iter().map(|&p| ("link", Some(p)));
        for (what, p) in inputs.chain(links) {
            if let Some(p) = p.filter(|&p| p >= i) {
                return Err(SetupReadError(format!(
                    "node {i} ({}): {what} {p} is not a node listed before it",
                    n.name
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A group with a user knob named `bbox` that a child's expression reads, upstream
    /// of the group's Output: a knob read, not the group's image (which would be a
    /// cycle through the Output).
    const GROUP_BBOX_KNOB: &str = "Constant {\n inputs 0\n name C\n}\nGroup {\n name G\n addUserKnob {20 User}\n addUserKnob {6 bbox l \"keep bbox\"}\n bbox true\n}\n Input {\n  inputs 0\n  name Input1\n }\n Blur {\n  size 3\n  channels rgb\n  name B\n }\n Grade {\n  white {{B.channels==0}}\n  disable {{!parent.bbox}}\n  name Gr\n }\n Output {\n  name Output1\n }\nend_group\nWrite {\n name W\n}\n";

    #[test]
    fn an_image_property_name_that_is_a_knob_of_the_node_is_a_knob_read() {
        let script =
            crate::graph::load_bytes(GROUP_BBOX_KNOB.as_bytes(), Path::new("t.nk")).unwrap();
        let setup = Setup::build(&script, "W", &RuleSet::builtin()).unwrap();
        let grade = setup.nodes.iter().find(|n| n.name == "G.Gr").unwrap();
        let target = |knob: &str| grade.knob(knob).unwrap().refs[0].target.clone();
        let g = setup.nodes.iter().position(|n| n.name == "G").unwrap();
        let b = setup.nodes.iter().position(|n| n.name == "G.B").unwrap();
        assert_eq!(
            target("disable"),
            Target::Knob {
                node: g,
                knob: "bbox".into()
            }
        );
        assert_eq!(
            target("white"),
            Target::Knob {
                node: b,
                knob: "channels".into()
            }
        );
        // Without the knob, `bbox` is the image: a Grade reading `C.bbox` links C.
        assert!(!reads_image(
            script.graph.node(script.graph.find("G").unwrap()),
            "bbox"
        ));
        assert!(reads_image(
            script.graph.node(script.graph.find("C").unwrap()),
            "bbox"
        ));
    }

    /// A node inside a group reading the group's image info (`parent.width`) upstream
    /// of the group's Output: the info comes from what feeds the group, not a cycle,
    /// whether the cached output is downstream of the group or the reader itself.
    #[test]
    fn reading_the_enclosing_groups_image_info_links_to_its_inputs() {
        let text = "Constant {\n inputs 0\n name Plate\n}\nGroup {\n name G\n}\n Input {\n  inputs 0\n  name Input1\n }\n Transform {\n  center {{parent.width/2} {parent.height/2}}\n  name T\n }\n Output {\n  name Output1\n }\nend_group\nWrite {\n name W\n}\n";
        let script = crate::graph::load_bytes(text.as_bytes(), Path::new("t.nk")).unwrap();
        for output in ["W", "G.T"] {
            let setup = Setup::build(&script, output, &RuleSet::builtin()).unwrap();
            let names: Vec<&str> = setup.nodes.iter().map(|n| n.name.as_str()).collect();
            assert!(names.contains(&"Plate"), "{output}: {names:?}");
        }
    }
}
