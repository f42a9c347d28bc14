//! The setup: everything a cached output depends on, frame-independent.
//!
//! Built once per (script, output node, rules, profile): the upstream closure in
//! canonical order with the ignore rules applied, every kept knob parsed, every
//! expression reference resolved to a node and knob of the setup, and each node's class
//! semantics from the [`Profile`]. Per-frame manifests ([`super::frame`]) are derived
//! from it, both when hashing and when explaining, so one mechanism serves both. The
//! setup is what the cache stores (one object shared by all frames, see
//! [`crate::store::setup_object`]): its size is about one frame's full manifest however many
//! frames are recorded.
//!
//! What is and is not in it, and why:
//! * Input edges are followed through groups ([`Graph::upstream_with`]): the output of a
//!   group is its `Output` child, so caching a group (`--node G`) caches what its
//!   Output depends on. A group that may be disabled stays a node of its own, reading
//!   its input 0 (what it passes when disabled) and its Output.
//! * Nodes whose class a rule skips (Dot, NoOp, Backdrop…) or the profile says pass
//!   their input through leave the setup, and their input 0 takes their place, so
//!   inserting or removing a Dot is not a change.
//! * An expression reading another node's knob does not pull that node's *image* in: the
//!   referenced knob's value is recorded at the referencing knob (through a knob-only
//!   member). Editing an unrelated knob of the referenced node is therefore not a
//!   change, while editing the referenced one is. Expressions reading a node's image
//!   properties (`width`, `format`, `bbox`…) do pull its image in.
//! * A group's own knobs count only where something reads them (its disable knob, and
//!   the knobs its children's expressions read): unused user knobs are not a change.
//! * An expression smartcache cannot analyse (`[python …]`, a name built at run time)
//!   may read anything in the script: the setup then carries a digest of every node of
//!   the script ([`Setup::script`]), so any edit outdates the frames, and explanations
//!   name the node that changed.

use crate::eval::{KnobValue, Reference};
use crate::graph::{CycleError, Graph, NodeId, NodeMap, Script};
use crate::ignore::RuleSet;
use crate::profile::{FileKind, Profile, Semantics, Time};
use compact_str::CompactString;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// A setup node: a member of the closure, or a knob-only member (a node whose knobs
/// expressions read).
#[derive(Debug, Clone)]
pub struct SetupNode {
    /// Full dotted name, for display and explanations only (never hashed).
    pub name: CompactString,
    /// The node class.
    pub class: CompactString,
    /// What the class does to a frame (from the profile the setup was built with).
    pub sem: Arc<Semantics>,
    /// Effective input slots as positions in [`Setup::nodes`].
    pub inputs: Box<[Option<usize>]>,
    /// How many of the last input slots are mask inputs (`inputs 2+1`).
    pub masks: u32,
    /// Knobs by name (canonical order), ignore rules applied.
    pub knobs: Vec<SetupKnob>,
    /// Only referenced by expressions: contributes knob values, not an image.
    pub knob_only: bool,
    /// A group kept as a node of its own: input 0 is what it passes when disabled,
    /// input 1 its Output (what it reads when enabled).
    pub group: bool,
    /// What few nodes have, boxed: a setup holds tens of thousands of nodes.
    pub extras: Option<Box<NodeExtras>>,
}

// Each node of a setup is an `Arc` of its own (a recorded setup shares the nodes it has
// in common with the current one, see `store::setup_object::decode_beside`): 112 bytes
// make an allocation of 128 with the `Arc`'s counts, the allocator's size class of
// that name; 8 more would take 160 a node, megabytes at 50,000 nodes.
const _: () = assert!(std::mem::size_of::<SetupNode>() <= 112);

/// What few [`SetupNode`]s have: the fields are `None` on most nodes, and a node has
/// no extras when all are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeExtras {
    /// The node at the top of its input-0 chain, when one of its knobs asks
    /// (`[topnode]`).
    pub topnode: Option<String>,
    /// Where its definition came from when not from the script (a gizmo file, a nested
    /// script), for display.
    pub origin: Option<String>,
    /// The folder its relative file paths are taken from, when not the script's (a
    /// node of a nested script).
    pub dir: Option<String>,
    /// Image links: nodes whose image this one reads besides its inputs (through an
    /// expression), as positions in [`Setup::nodes`].
    pub links: Vec<usize>,
}

impl NodeExtras {
    /// `Some` unless every field is `None`.
    pub fn boxed(self) -> Option<Box<NodeExtras>> {
        (self != NodeExtras::default()).then(|| Box::new(self))
    }

    /// The extras of a graph node (where it came from), with its image `links`.
    fn of(node: &crate::graph::Node, links: Vec<usize>) -> Option<Box<NodeExtras>> {
        NodeExtras {
            topnode: None,
            origin: node.origin().map(|p| p.display().to_string()),
            dir: node.dir().map(|p| p.display().to_string()),
            links,
        }
        .boxed()
    }
}

impl SetupNode {
    /// The node at the top of its input-0 chain, when one of its knobs asks.
    pub fn topnode(&self) -> Option<&str> {
        self.extras.as_ref()?.topnode.as_deref()
    }

    /// Where its definition came from when not from the script, for display.
    pub fn origin(&self) -> Option<&str> {
        self.extras.as_ref()?.origin.as_deref()
    }

    /// The folder its relative file paths are taken from, when not the script's.
    pub fn dir(&self) -> Option<&str> {
        self.extras.as_ref()?.dir.as_deref()
    }

    /// Image links: nodes whose image this one reads besides its inputs, as positions
    /// in [`Setup::nodes`].
    pub fn links(&self) -> &[usize] {
        self.extras.as_ref().map_or(&[], |e| &e.links)
    }

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
    /// The knob's name.
    pub name: CompactString,
    /// Its text, parsed (the exact text is [`SetupKnob::text`]).
    pub value: KnobValue,
    /// What the value reads besides its text, and whether it is hidden, boxed: most
    /// knobs read nothing and are not hidden, and a setup holds hundreds of thousands
    /// of knobs (64 bytes each, not 72 with a flag of their own).
    extras: Option<Box<KnobExtras>>,
}

/// What few [`SetupKnob`]s have: the references and environment variables of one that
/// reads some, and whether it is hidden. A knob has no extras when all are empty.
#[derive(Debug, Clone, Default)]
struct KnobExtras {
    refs: Vec<ResolvedRef>,
    env: Vec<(String, Option<String>)>,
    hidden: bool,
}

const _: () = assert!(std::mem::size_of::<SetupKnob>() <= 64);

impl SetupKnob {
    /// The knob's exact text.
    pub fn text(&self) -> &str {
        self.value.text()
    }

    /// Dropped by an ignore rule (or a group's knob) but kept because an expression
    /// reads it: it appears in the referencing knob's record, not in its own node's.
    pub fn hidden(&self) -> bool {
        self.extras.as_ref().is_some_and(|r| r.hidden)
    }

    /// Set whether it is hidden (see [`SetupKnob::hidden`]).
    pub fn set_hidden(&mut self, hidden: bool) {
        if hidden != self.hidden() {
            self.extras_mut(|r| r.hidden = hidden);
        }
    }

    /// For a knob naming a file: the shell-style variables in its text (`$SHOW`,
    /// `${SHOT}`), which Nuke expands from the environment in file paths, are read now
    /// like the ones Tcl reads (`$env(SHOW)`). `$F`/`$F4` are frame numbers, `$gui` and
    /// `$frame` Nuke's own.
    pub fn capture_path_vars(&mut self) {
        let mut env = self.env().to_vec();
        for name in path_vars(self.text()) {
            if !env.iter().any(|(n, _)| *n == name) {
                let v = std::env::var(&name).ok();
                env.push((name, v));
            }
        }
        env.sort();
        self.set_env(env);
    }

    /// Resolved references, in the order the analysis lists them.
    pub fn refs(&self) -> &[ResolvedRef] {
        self.extras.as_ref().map_or(&[], |r| &r.refs)
    }

    /// The environment variables the value reads, sorted, with their values when the
    /// setup was built (`None`: unset).
    pub fn env(&self) -> &[(String, Option<String>)] {
        self.extras.as_ref().map_or(&[], |r| &r.env)
    }

    /// Set the resolved references.
    pub fn set_refs(&mut self, refs: Vec<ResolvedRef>) {
        self.extras_mut(|r| r.refs = refs);
    }

    /// Set the environment variables read (sorted by name).
    pub fn set_env(&mut self, env: Vec<(String, Option<String>)>) {
        self.extras_mut(|r| r.env = env);
    }

    fn extras_mut(&mut self, f: impl FnOnce(&mut KnobExtras)) {
        let mut extras = self.extras.take().map(|b| *b).unwrap_or_default();
        f(&mut extras);
        if !extras.refs.is_empty() || !extras.env.is_empty() || extras.hidden {
            extras.refs.shrink_to_fit();
            extras.env.shrink_to_fit();
            self.extras = Some(Box::new(extras));
        }
    }

    /// The parts of the value that cannot be analysed, less the path variables
    /// [`SetupKnob::capture_path_vars`] read.
    pub fn opaque_parts(&self) -> impl Iterator<Item = &String> {
        self.value.unresolvable().iter().filter(move |u| {
            !path_vars(u).iter().any(|n| {
                self.env().iter().any(|(e, _)| e == n)
                    && (*u == &format!("${n}") || *u == &format!("${{{n}}}"))
            }) && !is_frame_var(u.trim_start_matches('$'))
        })
    }

    /// A knob parsed from its text, with nothing resolved yet (environment variables it
    /// reads are read now).
    pub fn new(name: &str, text: &str, hidden: bool) -> SetupKnob {
        let value = KnobValue::parse(text);
        let env = value
            .env()
            .iter()
            .map(|n| (n.clone(), std::env::var(n).ok()))
            .collect();
        let mut k = SetupKnob {
            value,
            name: name.into(),
            extras: None,
        };
        k.set_env(env);
        k.set_hidden(hidden);
        k
    }
}

/// The shell-style variables of a path: `$NAME` and `${NAME}`, not `$env(…)` (Tcl's,
/// read as such), not the frame (`$F`, `$F4`, `$frame`) nor `$gui`.
pub fn path_vars(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let (name, end) = if b.get(i + 1) == Some(&b'{') {
            match text[i + 2..].find('}') {
                Some(e) => (&text[i + 2..i + 2 + e], i + 3 + e),
                None => break,
            }
        } else {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            (&text[i + 1..j], j)
        };
        let is_env_call = b.get(end) == Some(&b'(');
        if !name.is_empty()
            && !is_env_call
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !is_frame_var(name)
            && !matches!(name, "gui" | "frame")
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
        i = end.max(i + 1);
    }
    out
}

/// `F` or `F` and digits: a frame number in a file pattern (`$F4`: padded to 4).
pub fn is_frame_var(name: &str) -> bool {
    name.strip_prefix('F')
        .is_some_and(|d| d.bytes().all(|c| c.is_ascii_digit()))
}

/// A file every frame reads, named by a Root setting or an environment variable (the
/// OCIO config).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RootFile {
    /// What names it: the Root knob, or `$VAR`.
    pub label: String,
    /// What kind of file it is.
    pub kind: FileKind,
    /// The Root knob holding the path, or the environment variable's value when the
    /// setup was built (`None` for a knob).
    pub knob: Option<String>,
    /// For `$VAR`: the variable's value when the setup was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_value: Option<String>,
}

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A knob of a setup node (`node` is a position in [`Setup::nodes`]).
    Knob {
        /// The node, a position in [`Setup::nodes`].
        node: usize,
        /// The knob's name.
        knob: String,
    },
    /// A Root setting.
    Root {
        /// The Root knob's name.
        knob: String,
    },
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
    /// Where it points.
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
    /// Fingerprint of the class profile the setup was built with.
    pub profile: String,
    /// Root settings every node reads, ignore rules applied (class `Root`).
    pub root: Vec<SetupKnob>,
    /// Root settings recorded only for the nodes that read them (the profile's
    /// `on-demand` list): by expression, or by class (`reads-root`).
    pub root_on_demand: Vec<SetupKnob>,
    /// Image closure in canonical order (inputs before consumers; the output's image
    /// last among them), then knob-only members.
    pub nodes: Vec<Arc<SetupNode>>,
    /// Position of the node whose image is the output (after skipped nodes are passed
    /// through); `None` when the output passes through to nothing.
    pub result: Option<usize>,
    /// When some kept knob cannot be analysed (`[python …]`): a digest of every node
    /// of the script by name, since such an expression may read any of them.
    pub script: Option<BTreeMap<String, String>>,
    /// Files every frame reads (the OCIO config).
    pub root_files: Vec<RootFile>,
}

/// Errors building a setup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The output node is not in the script.
    #[error("no node named \"{0}\" in the script")]
    UnknownNode(String),
    /// A node that could not be loaded (a gizmo or Precomp script that failed to read).
    #[error("{0}")]
    Unloaded(String),
    /// The graph has a cycle.
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

/// Whether a knob's text may name a knob of another node (`Node.width`, `parent.bbox`):
/// only through a dot followed by a name. The decimal point of a number (`0.5`,
/// `{curve x1 1.25}`) is followed by a digit, and a knob name never starts with one.
fn may_name_a_node(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'.' && !w[1].is_ascii_digit())
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
        k.name() == name
            || (k.name() == "addUserKnob"
                && k.value().trim_start_matches('{').split_whitespace().nth(1) == Some(name))
    })
}

/// The mask inputs of an `inputs` knob: `2+1` is two main inputs and one mask.
fn mask_count(graph_knobs: &[crate::graph::Knob]) -> u32 {
    graph_knobs
        .iter()
        .rev()
        .find(|k| k.name() == "inputs")
        .and_then(|k| k.value().split_once('+'))
        .and_then(|(_, m)| m.trim().parse().ok())
        .unwrap_or(0)
}

/// Parse and sort a node's knobs, dropping the ones `rules` ignore (they are kept,
/// hidden, when something reads them: see [`Setup::build`]).
fn setup_knobs(graph_knobs: &[crate::graph::Knob], class: &str, rules: &RuleSet) -> Vec<SetupKnob> {
    knob_texts(graph_knobs)
        .into_iter()
        .map(|(name, text)| {
            let hidden = rules.knob_rule(class, name).is_some();
            SetupKnob::new(name, &text, hidden)
        })
        .collect()
}

/// [`setup_knobs`] less the knobs an ignore rule hides whose text is plain (no braces,
/// no Tcl substitution, no variable: it reads nothing and is read as written). Such a
/// knob is only kept when something reads it, which is known once every reference is
/// resolved: [`Setup::build`] adds it then ([`hidden_plain_knob`]), and parses no
/// `xpos`, `ypos` or `label` of the thousands of nodes that nothing reads.
fn read_knobs(graph_knobs: &[crate::graph::Knob], class: &str, rules: &RuleSet) -> Vec<SetupKnob> {
    let mut knobs: Vec<SetupKnob> = knob_texts(graph_knobs)
        .into_iter()
        .filter_map(|(name, text)| {
            let hidden = rules.knob_rule(class, name).is_some();
            (!hidden || !is_plain(&text)).then(|| SetupKnob::new(name, &text, hidden))
        })
        .collect();
    // Tens of thousands of nodes keep their knobs for the whole run: not the spare
    // capacity a filtered collect leaves.
    knobs.shrink_to_fit();
    knobs
}

/// A knob text that reads nothing and is recorded as written.
fn is_plain(text: &str) -> bool {
    !text.bytes().any(|b| matches!(b, b'{' | b'[' | b'$'))
}

/// The knob `name` of a node when [`read_knobs`] left it out: hidden, with a plain text.
fn hidden_plain_knob(
    graph_knobs: &[crate::graph::Knob],
    class: &str,
    name: &str,
    rules: &RuleSet,
) -> Option<SetupKnob> {
    let (_, text) = knob_texts(graph_knobs)
        .into_iter()
        .find(|(n, _)| *n == name)?;
    (rules.knob_rule(class, name).is_some() && is_plain(&text))
        .then(|| SetupKnob::new(name, &text, true))
}

/// A node's knob texts by name: the last definition wins, as when Nuke loads a script;
/// user-knob declarations are a list and are joined.
fn knob_texts(graph_knobs: &[crate::graph::Knob]) -> Vec<(&str, Cow<'_, str>)> {
    // `inputs` is how many inputs the stack machine popped: wiring, which the record
    // holds as its input list (and masks).
    let mut all: Vec<(&str, Cow<'_, str>)> = graph_knobs
        .iter()
        .filter(|k| k.name() != "inputs")
        .map(|k| (k.name(), Cow::Borrowed(k.value())))
        .collect();
    // A stable sort: the definitions of one name stay in file order.
    all.sort_by(|a, b| a.0.cmp(b.0));
    let mut by_name: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(all.len());
    for (name, text) in all {
        match by_name.last_mut() {
            Some((n, t)) if *n == name && name == "addUserKnob" => {
                let joined = t.to_mut();
                joined.push('\n');
                joined.push_str(&text);
            }
            Some((n, t)) if *n == name => *t = text,
            _ => by_name.push((name, text)),
        }
    }
    by_name
}

/// A setup built but not finished ([`Setup::draft`]): its node knobs hold their texts
/// and what they read, not their parsed components (curves and their keys,
/// expressions), which [`SetupDraft::finish`] reads again.
///
/// A setup is built while the whole script is in memory, and its curves are most of
/// its size: at 50,000 nodes, keeping them out of the build lowers the peak by about
/// ten megabytes for a caller that lets the script go before finishing.
pub struct SetupDraft(Setup);

impl SetupDraft {
    /// The setup, every knob's components read again from its text.
    pub fn finish(mut self) -> Setup {
        for n in &mut self.0.nodes {
            for k in &mut Arc::make_mut(n).knobs {
                k.value.restore_parts();
            }
        }
        self.0
    }
}

impl Setup {
    /// Build the setup of `output` in `script` with `rules` and `profile` applied.
    pub fn build(
        script: &Script,
        output: &str,
        rules: &RuleSet,
        profile: &Profile,
    ) -> Result<Setup, SetupError> {
        Ok(Setup::assemble(script, output, rules, profile, false)?.0)
    }

    /// [`Setup::build`] but for the last step, for a caller that lets `script` go
    /// before it [finishes](SetupDraft::finish) the setup: the closure's knobs let
    /// go of their parsed components as soon as they are made (what they read is
    /// kept, which is all that building the setup needs).
    pub fn draft(
        script: &Script,
        output: &str,
        rules: &RuleSet,
        profile: &Profile,
    ) -> Result<SetupDraft, SetupError> {
        Setup::assemble(script, output, rules, profile, true)
    }

    /// [`Setup::build`], or with `shed` [`Setup::draft`].
    fn assemble(
        script: &Script,
        output: &str,
        rules: &RuleSet,
        profile: &Profile,
        shed: bool,
    ) -> Result<SetupDraft, SetupError> {
        let graph = &script.graph;
        let out_id = graph
            .find(output)
            .ok_or_else(|| SetupError::UnknownNode(output.to_string()))?;
        let mut sem = |class: &str| profile.semantics(class);
        // A group that can be disabled is a node of its own, so that disabling it is a
        // knob change rather than a change of the closure's shape.
        let opaque = |id: NodeId| {
            let n = graph.node(id);
            n.is_group() && profile.semantics(&n.class).disable.is_some()
        };

        // 1. The image closure, expression image links included. Caching a group
        //    caches its image: its Output (or itself, when it may be disabled).
        let image_links = |id: NodeId| -> Vec<NodeId> {
            let node = graph.node(id);
            let mut links = Vec::new();
            for k in &node.knobs {
                // Another node is only ever named by a dotted path (`Node.width`,
                // `parent.bbox`): values without a dot followed by a name read no other
                // node's image, and are not parsed twice.
                if !may_name_a_node(k.value()) || rules.knob_rule(&node.class, k.name()).is_some() {
                    continue;
                }
                let value = KnobValue::parse(k.value());
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
                            .filter_map(|s| graph.effective_source_with(s, &opaque))
                            .collect()
                    } else {
                        vec![graph.effective_source_with(nid, &opaque).unwrap_or(nid)]
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
        let start = if graph.node(out_id).is_group() {
            graph.effective_source_with(out_id, &opaque)
        } else {
            Some(out_id)
        };
        let closure = match start {
            Some(s) => graph.upstream_with(s, image_links, &opaque)?,
            None => Default::default(),
        };

        // 2. Skipped classes pass their input 0 through.
        let mut pos_of: NodeMap<usize> = NodeMap::new(graph);
        let mut replaced: Vec<Option<usize>> = Vec::with_capacity(closure.len());
        let mut nodes: Vec<Arc<SetupNode>> = Vec::with_capacity(closure.len());
        let mut ids: Vec<NodeId> = Vec::new();
        // Reading the knobs is most of the work and each node's is its own: done on
        // every core, for the nodes no rule skips.
        let mut knob_lists: Vec<Option<Vec<SetupKnob>>> = (0..closure.len())
            .into_par_iter()
            .map(|i| {
                let node = graph.node(closure.get(i).id);
                (rules.node_rule(&node.class).is_none() && node.unloaded().is_none()).then(|| {
                    let mut knobs = read_knobs(&node.knobs, &node.class, rules);
                    if shed {
                        knobs.iter_mut().for_each(|k| k.value.shed_parts());
                    }
                    knobs
                })
            })
            .collect();
        for (dep, knobs) in closure.iter().zip(&mut knob_lists) {
            let node = graph.node(dep.id);
            if let Some(why) = node.unloaded() {
                return Err(SetupError::Unloaded(why.to_string()));
            }
            let s = if node.is_group() {
                profile.group_semantics(&node.class)
            } else {
                sem(&node.class)
            };
            let map = |p: &Option<usize>| p.and_then(|p| replaced[p]);
            if rules.node_rule(&node.class).is_some() || s.pass {
                let through = dep.inputs.first().and_then(map);
                replaced.push(through);
                continue;
            }
            let mut links: Vec<usize> = dep.links.iter().filter_map(|&l| replaced[l]).collect();
            links.dedup();
            let group = node.is_group();
            let pos = nodes.len();
            nodes.push(Arc::new(SetupNode {
                name: node.name.as_str().into(),
                class: node.class.as_str().into(),
                sem: s,
                inputs: dep.inputs.iter().map(map).collect(),
                masks: if group { 0 } else { mask_count(&node.knobs) },
                knobs: knobs.take().expect("read for every node no rule skips"),
                knob_only: false,
                group,
                extras: NodeExtras::of(node, links),
            }));
            ids.push(dep.id);
            pos_of.insert(dep.id, pos);
            replaced.push(Some(pos));
        }
        let result = replaced.last().copied().flatten();
        drop(replaced);
        drop(knob_lists);
        drop(closure);

        // 3. Resolve references, adding knob-only members for nodes that are read but not
        //    in the closure (a worklist, since a read knob may read others).
        let all_root = setup_knobs(&script.root, "Root", rules);
        let on_demand = profile.root_on_demand();
        let (mut root_on_demand, mut root): (Vec<SetupKnob>, Vec<SetupKnob>) = all_root
            .into_iter()
            .partition(|k| on_demand.iter().any(|n| *n == k.name));
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
                            .chain(&root_on_demand)
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
                            &mut sem,
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
                    Some(p) => Arc::make_mut(&mut nodes[p]).knobs[ki].set_refs(resolved),
                    None if ki < root.len() => root[ki].set_refs(resolved),
                    None => root_on_demand[ki - root.len()].set_refs(resolved),
                }
            }
            if owner.is_some() {
                next += 1;
            }
        }

        for (p, n) in nodes.iter_mut().enumerate() {
            let asks = n.knobs.iter().any(|k| {
                k.refs()
                    .iter()
                    .any(|r| r.text.starts_with(crate::eval::expr::TOPNODE))
                    || k.text().contains(crate::eval::expr::TOPNODE)
            });
            if asks {
                let n = Arc::make_mut(n);
                let mut extras = n.extras.take().map(|e| *e).unwrap_or_default();
                extras.topnode = graph
                    .topnode(ids[p])
                    .map(|t| graph.node(t).name.to_string());
                n.extras = extras.boxed();
            }
        }

        // 4. A group's knobs count where read (its disable knob always); a hidden knob
        //    stays only if something reads it.
        for n in nodes.iter_mut().filter(|n| n.group) {
            let n = Arc::make_mut(n);
            for k in &mut n.knobs {
                if n.sem.disable.as_deref() != Some(k.name.as_str()) {
                    k.set_hidden(true);
                }
            }
        }
        let mut read: HashSet<(usize, String)> = HashSet::new();
        let mut root_read: HashSet<String> = HashSet::new();
        for k in nodes
            .iter()
            .flat_map(|n| &n.knobs)
            .chain(&root)
            .chain(&root_on_demand)
        {
            for r in k.refs() {
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
        // A file reader's frame mapping stays readable when hidden: which file each
        // frame reads is what is fingerprinted, so the mapping needs no entry.
        for (i, n) in nodes.iter().enumerate() {
            if let Time::Clip(clip) = &n.sem.time {
                if !n.sem.files.is_empty() && n.inputs.iter().all(Option::is_none) {
                    for r in clip.knobs() {
                        read.extend(r.names.iter().map(|name| (i, name.clone())));
                    }
                }
            }
        }
        for (i, n) in nodes.iter_mut().enumerate() {
            Arc::make_mut(n)
                .knobs
                .retain(|k| !k.hidden() || read.contains(&(i, k.name.to_string())));
        }
        // The hidden plain knobs `read_knobs` left out, where something reads them.
        let mut read: Vec<&(usize, String)> = read.iter().collect();
        read.sort();
        for (i, name) in read {
            let n = Arc::make_mut(&mut nodes[*i]);
            if let Err(at) = n.knobs.binary_search_by(|k| k.name.as_str().cmp(name)) {
                let g = graph.node(ids[*i]);
                if let Some(k) = hidden_plain_knob(&g.knobs, &g.class, name, rules) {
                    n.knobs.insert(at, k);
                }
            }
        }
        root.retain(|k| !k.hidden() || root_read.contains(k.name.as_str()));
        root_on_demand.retain(|k| !k.hidden() || root_read.contains(k.name.as_str()));

        // 5. Paths: knobs naming files expand environment variables, as Nuke does; so
        //    do the project directory and the Root knobs naming files.
        for n in &mut nodes {
            let n = Arc::make_mut(n);
            let sem = n.sem.clone();
            for k in &mut n.knobs {
                if sem.files.iter().any(|f| f.knob == k.name) {
                    k.capture_path_vars();
                }
            }
        }
        let root_path_knobs: Vec<&str> = std::iter::once("project_directory")
            .chain(profile.root().files.iter().map(|f| f.knob.as_str()))
            .collect();
        for k in root.iter_mut().chain(root_on_demand.iter_mut()) {
            if root_path_knobs.contains(&k.name.as_str()) {
                k.capture_path_vars();
            }
        }
        let root_files = root_files(script, profile);

        // 6. Something that cannot be analysed may read the whole script.
        let opaque_expr = nodes
            .iter()
            .flat_map(|n| &n.knobs)
            .chain(&root)
            .chain(&root_on_demand)
            .any(|k| !k.hidden() && k.opaque_parts().next().is_some());
        let script_digest = opaque_expr.then(|| script_digests(script, rules));
        // Knob-only members may have grown the list past the closure's room.
        nodes.shrink_to_fit();

        Ok(SetupDraft(Setup {
            output: output.to_string(),
            rules: rules.fingerprint(),
            profile: profile.fingerprint().to_string(),
            root,
            root_on_demand,
            nodes,
            result,
            script: script_digest,
            root_files,
        }))
    }

    /// The knobs of the expressions that cannot be analysed, as `node.knob` (for the
    /// explanation of a whole-script dependency).
    pub fn opaque_knobs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for k in &n.knobs {
                if !k.hidden() && k.opaque_parts().next().is_some() {
                    out.push(format!("{}.{}", n.name, k.name));
                }
            }
        }
        for k in self.root.iter().chain(&self.root_on_demand) {
            if !k.hidden() && k.opaque_parts().next().is_some() {
                out.push(format!("Root.{}", k.name));
            }
        }
        out
    }

    /// A Root setting by name (either list).
    pub fn root_knob(&self, name: &str) -> Option<&SetupKnob> {
        self.root
            .iter()
            .chain(&self.root_on_demand)
            .find(|k| k.name == name)
    }
}

/// The files every frame reads: the Root knobs the profile names, then, when colour
/// management is OCIO and no Root knob names a config, the one the environment names.
fn root_files(script: &Script, profile: &Profile) -> Vec<RootFile> {
    let rs = profile.root();
    let set = |k: &str| {
        script
            .root_knob(k)
            .map(|v| v.trim().trim_matches('"').trim())
            .is_some_and(|v| !v.is_empty())
    };
    let mut out: Vec<RootFile> = rs
        .files
        .iter()
        .filter(|f| set(&f.knob))
        .map(|f| RootFile {
            label: f.knob.clone(),
            kind: f.kind,
            knob: Some(f.knob.clone()),
            env_value: None,
        })
        .collect();
    let has_config = out.iter().any(|f| f.kind == FileKind::OcioConfig);
    let ocio_on = rs.ocio_when.as_ref().is_some_and(|(k, v)| {
        script.root_knob(k).map(|x| x.trim().trim_matches('"')) == Some(v.as_str())
    });
    if let (false, true, Some(var)) = (has_config, ocio_on, &rs.ocio_env) {
        out.push(RootFile {
            label: format!("${var}"),
            kind: FileKind::OcioConfig,
            knob: None,
            env_value: std::env::var(var).ok(),
        });
    }
    out
}

/// A digest of every node of the script, by name: its class, its kept knobs and its
/// inputs' names, ignore rules applied (so moving a node changes nothing).
fn script_digests(script: &Script, rules: &RuleSet) -> BTreeMap<String, String> {
    let g = &script.graph;
    let mut out = BTreeMap::new();
    let mut root = crate::hash::Hasher::new();
    for k in setup_knobs(&script.root, "Root", rules) {
        if !k.hidden() {
            root.update(k.name.as_bytes());
            root.update(b"\0");
            root.update(k.text().as_bytes());
            root.update(b"\0");
        }
    }
    out.insert("Root".to_string(), root.finish_hex());
    for (id, n) in g.nodes() {
        let mut h = crate::hash::Hasher::new();
        h.update(n.class.as_bytes());
        h.update(b"\0");
        for k in setup_knobs(&n.knobs, &n.class, rules) {
            if !k.hidden() {
                h.update(k.name.as_bytes());
                h.update(b"\0");
                h.update(k.text().as_bytes());
                h.update(b"\0");
            }
        }
        for i in g.inputs(id) {
            h.update(i.map_or("", |i| g.node(i).name.as_str()).as_bytes());
            h.update(b"\0");
        }
        out.insert(n.name.to_string(), h.finish_hex());
    }
    out
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
            crate::eval::expr::TOPNODE => graph.topnode(from),
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
            if root.iter().any(|k| k.name() == base) {
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
    nodes: &mut Vec<Arc<SetupNode>>,
    ids: &mut Vec<NodeId>,
    pos_of: &mut NodeMap<usize>,
    root: &[crate::graph::Knob],
    rules: &RuleSet,
    sem: &mut dyn FnMut(&str) -> Arc<Semantics>,
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
    let pos = match pos_of.get(nid) {
        Some(&p) => p,
        None => {
            let node = graph.node(nid);
            let p = nodes.len();
            nodes.push(Arc::new(SetupNode {
                name: node.name.as_str().into(),
                class: node.class.as_str().into(),
                sem: sem(&node.class),
                inputs: Box::new([]),
                masks: 0,
                knobs: read_knobs(&node.knobs, &node.class, rules),
                knob_only: true,
                group: false,
                extras: NodeExtras::of(node, Vec::new()),
            }));
            ids.push(nid);
            pos_of.insert(nid, p);
            p
        }
    };
    Target::Knob { node: pos, knob }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn build(text: &str, output: &str) -> Setup {
        let script = crate::graph::load_bytes(text.as_bytes(), Path::new("t.nk")).unwrap();
        Setup::build(&script, output, &RuleSet::builtin(), &Profile::nuke()).unwrap()
    }

    /// A group with a user knob named `bbox` that a child's expression reads, upstream
    /// of the group's Output: a knob read, not the group's image (which would be a
    /// cycle through the Output).
    const GROUP_BBOX_KNOB: &str = "Constant {\n inputs 0\n name C\n}\nGroup {\n name G\n addUserKnob {20 User}\n addUserKnob {6 bbox l \"keep bbox\"}\n bbox true\n}\n Input {\n  inputs 0\n  name Input1\n }\n Blur {\n  size 3\n  channels rgb\n  name B\n }\n Grade {\n  white {{B.channels==0}}\n  disable {{!parent.bbox}}\n  name Gr\n }\n Output {\n  name Output1\n }\nend_group\nWrite {\n name W\n}\n";

    #[test]
    fn an_image_property_name_that_is_a_knob_of_the_node_is_a_knob_read() {
        let setup = build(GROUP_BBOX_KNOB, "W");
        let script =
            crate::graph::load_bytes(GROUP_BBOX_KNOB.as_bytes(), Path::new("t.nk")).unwrap();
        let grade = setup.nodes.iter().find(|n| n.name == "G.Gr").unwrap();
        let target = |knob: &str| grade.knob(knob).unwrap().refs()[0].target.clone();
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
        for output in ["W", "G.T", "G"] {
            let setup = build(text, output);
            let names: Vec<&str> = setup.nodes.iter().map(|n| n.name.as_str()).collect();
            assert!(names.contains(&"Plate"), "{output}: {names:?}");
        }
    }

    /// A knob the ignore rules hide is parsed only when something reads it, and then
    /// kept, hidden, in its place among the node's knobs.
    #[test]
    fn a_hidden_knob_that_something_reads_is_kept() {
        let text = "Constant {\n inputs 0\n label plate\n xpos 10\n name C\n}\nText2 {\n message \"\\[value C.label]\"\n xpos 20\n name T\n}\n";
        let setup = build(text, "T");
        let c = setup.nodes.iter().find(|n| n.name == "C").unwrap();
        let label = c.knob("label").expect("read, so kept");
        assert!(label.hidden());
        assert_eq!(label.text(), "plate");
        assert!(c.knob("xpos").is_none());
        let names: Vec<&str> = c.knobs.iter().map(|k| k.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let t = setup.nodes.iter().find(|n| n.name == "T").unwrap();
        assert!(t.knob("xpos").is_none());
    }

    /// Caching a group caches what its Output depends on: the group is a node reading
    /// its input 0 (what it passes when disabled) and its Output.
    #[test]
    fn a_group_as_the_output_is_its_output_child() {
        let text = "Constant {\n inputs 0\n name C\n}\nGroup {\n name G\n addUserKnob {20 User}\n addUserKnob {7 unused}\n unused 3\n}\n Input {\n  inputs 0\n  name Input1\n }\n Blur {\n  size 3\n  name B\n }\n Output {\n  name Output1\n }\nend_group\n";
        let setup = build(text, "G");
        let names: Vec<&str> = setup.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["C", "G.B", "G.Output1", "G"]);
        let disabled = text.replace(" unused 3\n", " unused 3\n disable true\n");
        let setup = build(&disabled, "G");
        let names: Vec<&str> = setup.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["C", "G.B", "G.Output1", "G"]);
        let g = &setup.nodes[3];
        assert_eq!(g.inputs[..], [Some(0), Some(2)]);
        // Its unused user knob is not part of it; its disable knob is.
        let kept: Vec<&str> = g.knobs.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(kept, ["disable"]);
    }
}
