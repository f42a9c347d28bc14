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
//!
//! A check reads the setup a frame was recorded with beside the one it has now
//! ([`decode_beside`]): the nodes the two have in common are shared, not held twice.

use crate::manifest::setup::{
    NodeExtras, ResolvedRef, RootFile, Setup, SetupKnob, SetupNode, Target,
};
use crate::profile::Semantics;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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

/// The stored form. Encoding borrows every text and list from the setup (a setup of
/// 50,000 nodes is not copied to be written); decoding owns them. Fields in the order
/// they are written.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    format: Cow<'a, str>,
    version: u64,
    output: Cow<'a, str>,
    rules: Cow<'a, str>,
    profile: Cow<'a, str>,
    result: Option<usize>,
    #[serde(default, borrow)]
    root: KnobMap<'a>,
    #[serde(default, borrow, skip_serializing_if = "KnobMap::is_empty")]
    root_on_demand: KnobMap<'a>,
    classes: BTreeMap<Cow<'a, str>, Cow<'a, Semantics>>,
    #[serde(borrow)]
    nodes: NodeList<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    script: Option<Cow<'a, BTreeMap<String, String>>>,
    #[serde(default, skip_serializing_if = "is_empty")]
    root_files: Cow<'a, [RootFile]>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_empty<T>(list: &[T]) -> bool {
    list.is_empty()
}

#[derive(Serialize, Deserialize)]
struct NodeWire<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    class: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "is_empty")]
    inputs: Cow<'a, [Option<usize>]>,
    #[serde(default, skip_serializing_if = "is_zero")]
    masks: usize,
    #[serde(default, skip_serializing_if = "is_empty")]
    links: Cow<'a, [usize]>,
    #[serde(default, skip_serializing_if = "is_false")]
    knob_only: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    group: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    topnode: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "KnobMap::is_empty")]
    knobs: KnobMap<'a>,
}

/// A node's knobs by name: read into a list of pairs sorted by name, the last of a
/// repeated name kept (a map per node would cost a tree node of eleven slots for a
/// node's three knobs: at 50,000 nodes, tens of megabytes while a check explains);
/// written straight from the setup's knobs, which are sorted by name (as
/// [`crate::manifest::setup::SetupNode::knob`] requires), so the bytes are those of a
/// map.
enum KnobMap<'a> {
    Read(Vec<(Cow<'a, str>, KnobWire<'a>)>),
    Write(&'a [SetupKnob]),
}

impl KnobMap<'_> {
    fn is_empty(&self) -> bool {
        match self {
            KnobMap::Read(m) => m.is_empty(),
            KnobMap::Write(k) => k.is_empty(),
        }
    }
}

impl Default for KnobMap<'_> {
    fn default() -> Self {
        KnobMap::Read(Vec::new())
    }
}

impl Serialize for KnobMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KnobMap::Read(m) => s.collect_map(m.iter().map(|(n, w)| (n, w))),
            KnobMap::Write(knobs) => {
                debug_assert!(knobs.windows(2).all(|w| w[0].name < w[1].name));
                s.collect_map(knobs.iter().map(|k| (k.name.as_str(), knob_wire(k))))
            }
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for KnobMap<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = Vec<(Cow<'a, str>, KnobWire<'a>)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of knobs")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::with_capacity(m.size_hint().unwrap_or(0).min(64));
                while let Some((Name(name), wire)) = m.next_entry()? {
                    pairs.push((name, wire));
                }
                Ok(pairs)
            }
        }
        let mut pairs = d.deserialize_map(Pairs(std::marker::PhantomData))?;
        // As a map reads them: sorted by name, the last of a repeated name kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        Ok(KnobMap::Read(pairs))
    }
}

/// A knob's name as read: borrowed from the object's bytes unless it has escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a knob name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V).map(Name)
    }
}

/// The setup's nodes: read as their raw text first, then one node at a time
/// ([`NodesVisitor`], which needs the setup they may share nodes with); written one by
/// one from the setup, so that the stored form of a large setup is never held besides
/// its bytes.
enum NodeList<'a> {
    /// Read: the list's text, borrowed from the object's bytes.
    Raw(&'a serde_json::value::RawValue),
    Write(&'a [Arc<SetupNode>]),
}

/// The nodes of a stored setup as they were read, before the checks that need the
/// whole object (their classes' semantics, which come in another member, and
/// references to nodes listed after them).
struct ReadNodes {
    nodes: Vec<Arc<SetupNode>>,
    /// Per node: it is the base setup's node (see [`decode_beside`]).
    shared: Vec<bool>,
    /// How many the object lists (more than `nodes` when it lists too many).
    listed: usize,
    /// Why the object was refused while its nodes were read: no further node is made.
    refused: Option<String>,
}

impl Serialize for NodeList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeList::Raw(raw) => raw.serialize(s),
            NodeList::Write(nodes) => s.collect_seq(nodes.iter().map(|n| node_wire(n))),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for NodeList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&serde_json::value::RawValue>::deserialize(d).map(NodeList::Raw)
    }
}

/// Reads a setup's node list one node at a time, taking a node of `base` (by name)
/// instead of a new one wherever they are the same.
struct NodesVisitor<'b> {
    base: Option<&'b Setup>,
}

impl<'de> serde::de::Visitor<'de> for NodesVisitor<'_> {
    type Value = ReadNodes;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of nodes")
    }

    /// Why: a whole list of wire nodes, then the setup made from it, held both at
    /// once, was the largest thing a check held while it explained (at 50,000 nodes,
    /// tens of megabytes besides the two setups). Made node by node, a wire node lives
    /// only while it is read.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ReadNodes, A::Error> {
        let placeholder = Arc::new(Semantics::default());
        let mut read = ReadNodes {
            nodes: Vec::new(),
            shared: Vec::new(),
            listed: 0,
            refused: None,
        };
        let mut base = self.base.map(BaseNodes::new);
        while let Some(n) = seq.next_element::<NodeWire<'de>>()? {
            let i = read.listed;
            read.listed += 1;
            if read.refused.is_some() || i >= MAX_NODES {
                continue;
            }
            if let Err(why) = check_wire(i, &n) {
                read.refused = Some(why);
                continue;
            }
            if let Some(same) = base.as_mut().and_then(|b| b.same_as(i, &n)) {
                read.nodes.push(same.clone());
                read.shared.push(true);
                continue;
            }
            match node_from_wire(i, n, &placeholder) {
                Ok(node) => {
                    read.nodes.push(Arc::new(node));
                    read.shared.push(false);
                }
                Err(why) => read.refused = Some(why),
            }
        }
        read.nodes.shrink_to_fit();
        Ok(read)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KnobWire<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Full {
        #[serde(borrow)]
        text: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "is_false")]
        hidden: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refs: Vec<RefWire<'a>>,
        /// Environment variables read, with their values when the setup was built.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<Cow<'a, str>, Option<Cow<'a, str>>>,
    },
}

#[derive(Serialize, Deserialize)]
struct RefWire<'a> {
    text: Cow<'a, str>,
    target: TargetWire<'a>,
    #[serde(default, skip_serializing_if = "is_false")]
    other_frames: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TargetWire<'a> {
    Knob { node: usize, knob: Cow<'a, str> },
    Root { root: Cow<'a, str> },
    Word(Cow<'a, str>),
}

fn knob_wire(k: &SetupKnob) -> KnobWire<'_> {
    if k.refs().is_empty() && !k.hidden() && k.env().is_empty() {
        return KnobWire::Text(Cow::Borrowed(k.text()));
    }
    KnobWire::Full {
        text: Cow::Borrowed(k.text()),
        hidden: k.hidden(),
        env: k
            .env()
            .iter()
            .map(|(n, v)| (Cow::Borrowed(n.as_str()), v.as_deref().map(Cow::Borrowed)))
            .collect(),
        refs: k
            .refs()
            .iter()
            .map(|r| RefWire {
                text: Cow::Borrowed(&r.text),
                target: match &r.target {
                    Target::Knob { node, knob } => TargetWire::Knob {
                        node: *node,
                        knob: Cow::Borrowed(knob),
                    },
                    Target::Root { knob } => TargetWire::Root {
                        root: Cow::Borrowed(knob),
                    },
                    Target::Image => TargetWire::Word("image".into()),
                    Target::Unresolved => TargetWire::Word("unresolved".into()),
                },
                other_frames: r.other_frames,
            })
            .collect(),
    }
}

fn node_wire(n: &SetupNode) -> NodeWire<'_> {
    NodeWire {
        name: Cow::Borrowed(&n.name),
        class: Cow::Borrowed(&n.class),
        inputs: Cow::Borrowed(&n.inputs),
        masks: n.masks as usize,
        links: Cow::Borrowed(n.links()),
        knob_only: n.knob_only,
        group: n.group,
        topnode: n.topnode().map(Cow::Borrowed),
        origin: n.origin().map(Cow::Borrowed),
        dir: n.dir().map(Cow::Borrowed),
        knobs: KnobMap::Write(&n.knobs),
    }
}

/// The setup as a stored object (JSON, fields in a fixed order, maps sorted).
pub fn encode(setup: &Setup) -> Vec<u8> {
    let mut out = Vec::new();
    encode_to(setup, &mut out).expect("serialising a setup to memory cannot fail");
    out
}

/// [`encode`] into `out`, which may be a hasher: a setup's name and id are hashes of its
/// bytes, which are not kept meanwhile (at 50,000 nodes they are megabytes that only
/// `record` writes, once).
pub fn encode_to(setup: &Setup, out: impl std::io::Write) -> std::io::Result<()> {
    let mut classes = BTreeMap::new();
    for n in &setup.nodes {
        classes
            .entry(Cow::Borrowed(n.class.as_str()))
            .or_insert_with(|| Cow::Borrowed(&*n.sem));
    }
    let wire = Wire {
        format: SETUP_FORMAT.into(),
        version: SETUP_VERSION,
        output: Cow::Borrowed(&setup.output),
        rules: Cow::Borrowed(&setup.rules),
        profile: Cow::Borrowed(&setup.profile),
        result: setup.result,
        root: KnobMap::Write(&setup.root),
        root_on_demand: KnobMap::Write(&setup.root_on_demand),
        classes,
        nodes: NodeList::Write(&setup.nodes),
        script: setup.script.as_ref().map(Cow::Borrowed),
        root_files: Cow::Borrowed(&setup.root_files),
    };
    serde_json::to_writer(out, &wire).map_err(std::io::Error::other)
}

/// Read a stored setup object back, validating it (see the module docs).
pub fn decode(bytes: &[u8]) -> Result<Setup, SetupReadError> {
    decode_beside(bytes, None)
}

/// [`decode`], sharing with `base` every node that is the same in both (same name,
/// class, semantics, inputs, knobs: everything a node holds), rather than holding it
/// twice.
///
/// Why: a check explains an outdated frame from the setup it was recorded with and the
/// one it has now, both in memory. After an edit the two differ in a few nodes out of
/// tens of thousands; decoded on its own, the recorded setup doubled what the check
/// held (at 50,000 nodes, about 35 MB more). A node is compared with the base's node
/// of its name as it is read, before its knobs are parsed, so a shared node also costs
/// no parsing. Sharing changes nothing the setup holds: a node is shared only when
/// reading it would give an equal node.
pub fn decode_beside(bytes: &[u8], base: Option<&Setup>) -> Result<Setup, SetupReadError> {
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
    let NodeList::Raw(raw) = wire.nodes else {
        unreachable!("a decoded setup's nodes are read as their text")
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let read = serde::Deserializer::deserialize_seq(&mut de, NodesVisitor { base })
        .map_err(|e| bad(format!("nodes: {e}")))?;
    let count = read.listed;
    if count > MAX_NODES {
        return Err(bad(format!("{count} nodes (at most {MAX_NODES})")));
    }
    if let Some(why) = read.refused {
        return Err(bad(why));
    }
    if wire.result.is_some_and(|r| r >= count) {
        return Err(bad("result position out of range".into()));
    }
    let classes: BTreeMap<String, Arc<Semantics>> = wire
        .classes
        .into_iter()
        .map(|(c, s)| (c.into_owned(), Arc::new(s.into_owned())))
        .collect();
    let mut nodes = read.nodes;
    for (i, (n, shared)) in nodes.iter_mut().zip(read.shared).enumerate() {
        let sem = classes.get(n.class.as_str()).ok_or_else(|| {
            bad(format!(
                "node {i} ({}): class {} has no semantics",
                n.name, n.class
            ))
        })?;
        // A shared node keeps the base's semantics when they are the same; otherwise it
        // becomes a node of its own.
        if !(shared && *n.sem == **sem) {
            Arc::make_mut(n).sem = sem.clone();
        }
    }
    let root_knobs = |m| knobs_from_wire(m).map_err(|why| bad(format!("Root {why}")));
    let root = root_knobs(wire.root)?;
    let root_on_demand = root_knobs(wire.root_on_demand)?;
    // References name nodes listed anywhere in the object: checked once all are read.
    let owned = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.knobs.iter().map(move |k| (Some(i), k)));
    let of_root = root.iter().chain(&root_on_demand).map(|k| (None, k));
    for (owner, k) in owned.chain(of_root) {
        for r in k.refs() {
            if let Target::Knob { node, .. } = r.target {
                if node >= count {
                    let owner = owner.map_or("Root".to_string(), |i| format!("node {i}"));
                    return Err(bad(format!(
                        "{owner} knob {}: reference to node {node} out of range",
                        k.name
                    )));
                }
            }
        }
    }
    Ok(Setup {
        output: wire.output.into_owned(),
        rules: wire.rules.into_owned(),
        profile: wire.profile.into_owned(),
        root,
        root_on_demand,
        nodes,
        result: wire.result,
        script: wire.script.map(Cow::into_owned),
        root_files: wire.root_files.into_owned(),
    })
}

/// Check node `i` of a stored setup as far as it can be on its own: its inputs and
/// links point to earlier nodes only (the closure is stored inputs first, so a stored
/// setup is acyclic by construction), its masks are among its inputs.
fn check_wire(i: usize, n: &NodeWire<'_>) -> Result<(), String> {
    let earlier = |p: usize| p < i;
    if !n.inputs.iter().flatten().all(|&p| earlier(p)) || !n.links.iter().all(|&p| earlier(p)) {
        return Err(format!(
            "node {i} ({}) reads a node that does not come before it",
            n.name
        ));
    }
    if n.masks > n.inputs.len() || u32::try_from(n.masks).is_err() {
        return Err(format!("node {i} ({}): more masks than inputs", n.name));
    }
    Ok(())
}

/// The nodes of the setup a decoded one may share nodes with, found by name.
struct BaseNodes<'b> {
    setup: &'b Setup,
    /// Positions by name, made when a node is not at the position it is read at.
    by_name: Option<std::collections::HashMap<&'b str, usize>>,
}

impl<'b> BaseNodes<'b> {
    fn new(setup: &'b Setup) -> Self {
        BaseNodes {
            setup,
            by_name: None,
        }
    }

    /// The base's node that reading `n` (at position `i`) would give, semantics
    /// aside (see [`decode`]).
    fn same_as(&mut self, i: usize, n: &NodeWire<'_>) -> Option<&'b Arc<SetupNode>> {
        let nodes = &self.setup.nodes;
        let at = match nodes.get(i) {
            Some(b) if b.name == n.name => i,
            _ => *self
                .by_name
                .get_or_insert_with(|| {
                    nodes
                        .iter()
                        .enumerate()
                        .map(|(p, b)| (b.name.as_str(), p))
                        .collect()
                })
                .get(n.name.as_ref())?,
        };
        let b = &nodes[at];
        same_node(b, n).then_some(b)
    }
}

/// Whether `b` holds what reading `n` gives, semantics aside.
fn same_node(b: &SetupNode, n: &NodeWire<'_>) -> bool {
    let KnobMap::Read(knobs) = &n.knobs else {
        return false;
    };
    b.name == n.name
        && b.class == n.class
        && b.inputs[..] == n.inputs[..]
        && b.masks as usize == n.masks
        && b.links() == &n.links[..]
        && b.knob_only == n.knob_only
        && b.group == n.group
        && b.topnode() == n.topnode.as_deref()
        && b.origin() == n.origin.as_deref()
        && b.dir() == n.dir.as_deref()
        && b.knobs.len() == knobs.len()
        && b.knobs
            .iter()
            .zip(knobs)
            .all(|(k, (name, w))| k.name == *name && same_knob(k, w))
}

/// Whether `k` holds what reading `w` gives ([`knob_from_wire`]).
fn same_knob(k: &SetupKnob, w: &KnobWire<'_>) -> bool {
    match w {
        KnobWire::Text(text) => {
            k.text() == text && !k.hidden() && k.refs().is_empty() && k.env().is_empty()
        }
        KnobWire::Full {
            text,
            hidden,
            refs,
            env,
        } => {
            k.text() == text
                && k.hidden() == *hidden
                && k.env().len() == env.len()
                && k.env()
                    .iter()
                    .zip(env)
                    .all(|((n, v), (wn, wv))| n == wn && v.as_deref() == wv.as_deref())
                && k.refs().len() == refs.len()
                && k.refs().iter().zip(refs).all(|(r, w)| {
                    r.text == w.text
                        && r.other_frames == w.other_frames
                        && match (&r.target, &w.target) {
                            (
                                Target::Knob { node, knob },
                                TargetWire::Knob { node: wn, knob: wk },
                            ) => node == wn && knob == wk,
                            (Target::Root { knob }, TargetWire::Root { root }) => knob == root,
                            (t, TargetWire::Word(w)) => word_target(w).as_ref() == Some(t),
                            _ => false,
                        }
                })
        }
    }
}

/// The target a reference's stored word names (`image`, `unresolved`).
fn word_target(w: &str) -> Option<Target> {
    match w {
        "image" => Some(Target::Image),
        "unresolved" => Some(Target::Unresolved),
        _ => None,
    }
}

/// Node `i` of a stored setup as read (checked by [`check_wire`] already): its knobs'
/// targets are known. Its semantics are `placeholder` until the object's classes are
/// read.
fn node_from_wire(
    i: usize,
    n: NodeWire<'_>,
    placeholder: &Arc<Semantics>,
) -> Result<SetupNode, String> {
    Ok(SetupNode {
        knobs: knobs_from_wire(n.knobs).map_err(|why| format!("node {i} {why}"))?,
        name: n.name.as_ref().into(),
        class: n.class.as_ref().into(),
        sem: placeholder.clone(),
        inputs: n.inputs.iter().copied().collect(),
        // In range: checked by `check_wire`.
        masks: n.masks as u32,
        knob_only: n.knob_only,
        group: n.group,
        extras: NodeExtras {
            topnode: n.topnode.map(Cow::into_owned),
            origin: n.origin.map(Cow::into_owned),
            dir: n.dir.map(Cow::into_owned),
            links: n.links.into_owned(),
        }
        .boxed(),
    })
}

/// A node's (or the Root's) knobs as read, into a list of its own size: collected in
/// place, the knobs would keep the wire pairs' larger allocation for the whole check.
fn knobs_from_wire(m: KnobMap<'_>) -> Result<Vec<SetupKnob>, String> {
    let KnobMap::Read(m) = m else {
        unreachable!("a decoded setup's knobs are read into a map")
    };
    let mut out = Vec::with_capacity(m.len());
    for (name, w) in m {
        out.push(knob_from_wire(&name, w)?);
    }
    Ok(out)
}

/// A knob as read. A reference's node is checked against the whole object later.
fn knob_from_wire(name: &str, w: KnobWire<'_>) -> Result<SetupKnob, String> {
    let (text, hidden, refs, env) = match w {
        KnobWire::Text(t) => (t, false, Vec::new(), BTreeMap::new()),
        KnobWire::Full {
            text,
            hidden,
            refs,
            env,
        } => (text, hidden, refs, env),
    };
    let mut k = SetupKnob::new(name, &text, hidden);
    // The environment as it was when the setup was built, not as it is now.
    k.set_env(
        env.into_iter()
            .map(|(n, v)| (n.into_owned(), v.map(Cow::into_owned)))
            .collect(),
    );
    let mut resolved = Vec::with_capacity(refs.len());
    for r in refs {
        let target = match r.target {
            TargetWire::Knob { node, knob } => Target::Knob {
                node,
                knob: knob.into_owned(),
            },
            TargetWire::Root { root } => Target::Root {
                knob: root.into_owned(),
            },
            TargetWire::Word(w) => {
                word_target(&w).ok_or_else(|| format!("knob {name}: unknown target {w}"))?
            }
        };
        resolved.push(ResolvedRef {
            text: r.text.into_owned(),
            target,
            other_frames: r.other_frames,
        });
    }
    k.set_refs(resolved);
    Ok(k)
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

    /// References are checked against the whole object, whichever member they are in:
    /// each refusal names the knob, and the node or the Root that owns it.
    #[test]
    fn references_are_checked_against_the_whole_object() {
        let object = |root: &str, knob: &str| {
            format!(
                r#"{{"format":"smartcache-setup","version":3,"output":"B","rules":"r","profile":"p","result":1,"root":{{{root}}},"classes":{{"Blur":{{"known":true}}}},"nodes":[{{"class":"Blur","name":"A"}},{{"class":"Blur","name":"B","knobs":{{{knob}}}}}]}}"#
            )
        };
        let err = |text: String| decode(text.as_bytes()).unwrap_err().to_string();
        let reads = |target: &str| {
            format!(r#""size":{{"text":"{{x}}","refs":[{{"text":"x","target":{target}}}]}}"#)
        };
        // A node listed later is fine; one past the end is not.
        assert!(decode(object("", &reads(r#"{"node":1,"knob":"size"}"#)).as_bytes()).is_ok());
        assert_eq!(
            err(object("", &reads(r#"{"node":2,"knob":"size"}"#))),
            "setup object: node 1 knob size: reference to node 2 out of range"
        );
        assert_eq!(
            err(object(&reads(r#"{"node":7,"knob":"size"}"#), "")),
            "setup object: Root knob size: reference to node 7 out of range"
        );
        assert_eq!(
            err(object("", &reads(r#""elsewhere""#))),
            "setup object: node 1 knob size: unknown target elsewhere"
        );
        assert_eq!(
            err(object(&reads(r#""elsewhere""#), "")),
            "setup object: Root knob size: unknown target elsewhere"
        );
    }

    /// Knobs are read as a map reads them: sorted by name, the last of a repeated
    /// name kept, escaped names and texts unescaped.
    #[test]
    fn knobs_read_like_a_map() {
        let text = r#"{"format":"smartcache-setup","version":3,"output":"T","rules":"r","profile":"p","result":0,"classes":{"TimeOffset":{"known":true,"disable":"disable"}},"nodes":[{"class":"TimeOffset","knobs":{"b":"1","a\u0041":"x\"y","b":"3"},"name":"T"}]}"#;
        let setup = decode(text.as_bytes()).unwrap();
        let knobs: Vec<(&str, &str)> = setup.nodes[0]
            .knobs
            .iter()
            .map(|k| (k.name.as_str(), k.text()))
            .collect();
        assert_eq!(knobs, [("aA", "x\"y"), ("b", "3")]);
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

    fn setup_of(text: &str, output: &str) -> Setup {
        let script =
            crate::graph::load_bytes(text.as_bytes(), std::path::Path::new("t.nk")).unwrap();
        Setup::build(
            &script,
            output,
            &crate::ignore::RuleSet::builtin(),
            &crate::profile::Profile::nuke(),
        )
        .unwrap()
    }

    /// The names of the nodes of `setup` that are `base`'s very nodes.
    fn shared(setup: &Setup, base: &Setup) -> Vec<String> {
        let mut out: Vec<String> = setup
            .nodes
            .iter()
            .filter(|n| base.nodes.iter().any(|b| Arc::ptr_eq(n, b)))
            .map(|n| n.name.to_string())
            .collect();
        out.sort();
        out
    }

    /// Decoded beside another setup, a setup is the same as decoded alone (its bytes
    /// again), and shares exactly the nodes that are the same in both: found by name
    /// wherever they are, not a node whose knob, reference target, inputs or class
    /// semantics differ.
    #[test]
    fn a_setup_decoded_beside_another_shares_exactly_its_equal_nodes() {
        // X is read by G's expression only: a knob-only member, listed last.
        let script = |between: &str, rotate: &str| {
            format!(
                "Blur {{\n inputs 0\n size 4\n name X\n}}\nConstant {{\n inputs 0\n name C\n}}\n\
                 Grade {{\n white {{{{X.size*2}}}}\n name G\n}}\n{between}\
                 Transform {{\n rotate {rotate}\n name T\n}}\n"
            )
        };
        let old = setup_of(&script("", "0.85"), "T");
        let names: Vec<&str> = old.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["C", "G", "T", "X"]);
        let bytes = encode(&old);
        // The same script: every node is shared.
        let same = setup_of(&script("", "0.85"), "T");
        let back = decode_beside(&bytes, Some(&same)).unwrap();
        assert_eq!(encode(&back), bytes);
        assert_eq!(shared(&back, &same), ["C", "G", "T", "X"]);

        // A node inserted before T, T's knob edited: X is found at its new position;
        // G's reference and T's input name positions that moved, T's knob changed.
        let now = setup_of(&script("Blur {\n size 2\n name B\n}\n", "0.851"), "T");
        let names: Vec<&str> = now.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["C", "G", "B", "T", "X"]);
        let back = decode_beside(&bytes, Some(&now)).unwrap();
        assert_eq!(encode(&back), bytes);
        assert_eq!(shared(&back, &now), ["C", "X"]);

        // The same nodes with other class semantics stored: not shared.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let other_sem = text.replacen("\"varying\":false", "\"varying\":true", 1);
        assert_ne!(other_sem, text);
        let back = decode_beside(other_sem.as_bytes(), Some(&same)).unwrap();
        assert_eq!(
            encode(&back),
            encode(&decode(other_sem.as_bytes()).unwrap())
        );
        assert!(back.nodes[3].sem.varying);
        assert_eq!(shared(&back, &same), ["C", "G", "T"]);
    }
}
