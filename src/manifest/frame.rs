//! The manifest of one frame, derived from a [`Setup`], and its hash.
//!
//! Walking from the output at frame f, each node is visited in a *time context*: the
//! frame at which it is evaluated (a `TimeOffset` shifts it, a `FrameHold` pins it), or
//! [`Ctx::All`] below a node that reads an unmodelled set of frames. A node's record
//! holds its class, its active inputs (as positions in the record list, never names),
//! and each knob's value in its context, with the values its expressions read.
//! Records come in post-order (inputs first), which depends only on the graph's shape.
//!
//! What is left out at a frame, so that it cannot cause a false invalidation: the
//! branches a `Switch` does not select, every input but input 0 of a node disabled at
//! that frame (and the disabled node's other knobs), keys outside a frame's influence.

use super::setup::{ResolvedRef, Setup, SetupKnob, SetupNode, Target};
use super::time::TimeBehaviour;
use crate::eval::{FramePart, KnobValue};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Format tag and version inside every hashed frame manifest.
pub const FRAME_FORMAT: &str = "smartcache-frame";
pub const FRAME_VERSION: u32 = 1;

/// The time context a node is evaluated in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ctx {
    /// At one (possibly fractional) frame.
    At(f64),
    /// At every frame: the node's whole animation matters.
    All,
}

impl Ctx {
    fn key(self) -> u64 {
        match self {
            Ctx::At(f) => f.to_bits(),
            Ctx::All => u64::MAX,
        }
    }
}

/// Where the source files a frame reads are fingerprinted (see `manifest::source`).
pub trait SourceProbe: Sync {
    /// The content fingerprint of the file a Read-like node reads at `ctx`, or `None`
    /// when the node reads no file there.
    fn source(&self, node: &SetupNode, ctx: Ctx) -> Option<String>;
}

/// A probe that fingerprints nothing (knob values only).
pub struct NoSources;

impl SourceProbe for NoSources {
    fn source(&self, _: &SetupNode, _: Ctx) -> Option<String> {
        None
    }
}

/// One node's record in a frame manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Position of the node in the setup.
    pub node: usize,
    pub ctx: Ctx,
    /// Active inputs, as positions in [`FrameView::records`].
    pub inputs: Vec<Option<usize>>,
    /// Disabled at this frame: only input 0 passes through.
    pub disabled: bool,
    /// Knob name and canonical JSON of its value in `ctx`.
    pub knobs: Vec<(String, String)>,
    /// Source-file fingerprint (Read nodes).
    pub source: Option<String>,
}

/// The manifest of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameView {
    pub frame: f64,
    /// Root settings: name and canonical JSON value.
    pub root: Vec<(String, String)>,
    pub records: Vec<Record>,
}

/// A knob's numeric value at `ctx`, when it is a single number (or `true`/`false`)
/// that can be computed here; `None` for expressions and anything else.
pub fn number_at(value: &KnobValue, ctx: Ctx) -> Option<f64> {
    let Ctx::At(f) = ctx else { return None };
    if value.time_dependent() || !value.references().is_empty() {
        return None;
    }
    let fv = value.at(f);
    let mut found = None;
    for part in &fv.value {
        let n = match part {
            FramePart::Text(t) => {
                for w in t.split(|c: char| c.is_whitespace() || c == '{' || c == '}') {
                    if w.is_empty() {
                        continue;
                    }
                    let n = match w {
                        "true" => 1.0,
                        "false" => 0.0,
                        _ => w.parse::<f64>().ok()?,
                    };
                    if found.replace(n).is_some() {
                        return None;
                    }
                }
                continue;
            }
            FramePart::Curve { value, .. } => value.as_deref()?.parse::<f64>().ok()?,
            FramePart::Raw { .. } => return None,
        };
        if found.replace(n).is_some() {
            return None;
        }
    }
    found
}

/// A knob's number at `ctx`, or `default` when the knob is not set (Nuke's default);
/// `None` when it is set but cannot be computed.
fn knob_number(node: &SetupNode, knob: &str, ctx: Ctx, default: f64) -> Option<f64> {
    match node.knob(knob) {
        None => Some(default),
        Some(k) => number_at(&k.value, ctx),
    }
}

/// Per-setup data computed once and shared by every frame: the knobs JSON of nodes
/// whose knobs are the same on every frame.
pub struct Prepared<'s> {
    pub setup: &'s Setup,
    static_knobs: Vec<Option<Vec<(String, String)>>>,
    static_root: Option<Vec<(String, String)>>,
}

fn knob_is_static(k: &SetupKnob) -> bool {
    k.value.is_static()
}

impl<'s> Prepared<'s> {
    pub fn new(setup: &'s Setup) -> Self {
        let mut p = Prepared {
            setup,
            static_knobs: vec![None; setup.nodes.len()],
            static_root: None,
        };
        let mut memo = HashMap::new();
        for (i, n) in setup.nodes.iter().enumerate() {
            if n.knobs.iter().all(knob_is_static) {
                p.static_knobs[i] = Some(p.knobs_json(i, Ctx::At(0.0), &mut memo));
            }
        }
        if setup.root.iter().all(knob_is_static) {
            p.static_root = Some(p.root_json(Ctx::At(0.0), &mut memo));
        }
        p
    }

    /// The frame view at `frame`.
    pub fn view(&self, frame: f64, probe: &dyn SourceProbe) -> FrameView {
        let setup = self.setup;
        let mut memo = HashMap::new();
        let root = match &self.static_root {
            Some(r) => r.clone(),
            None => self.root_json(Ctx::At(frame), &mut memo),
        };
        let mut records: Vec<Record> = Vec::new();
        let Some(start) = setup.result else {
            return FrameView {
                frame,
                root,
                records,
            };
        };
        // Iterative post-order over (node, ctx).
        struct Pending {
            node: usize,
            ctx: Ctx,
            disabled: bool,
            children: Vec<Option<(usize, Ctx)>>,
            n_inputs: usize,
            next: usize,
        }
        let mut done: HashMap<(usize, u64), usize> = HashMap::new();
        let mut on_stack: HashMap<(usize, u64), ()> = HashMap::new();
        let mut stack: Vec<Pending> = Vec::new();
        let plan = |node: usize, ctx: Ctx| -> Pending {
            let n = &setup.nodes[node];
            let disabled = !n.knob_only
                && knob_number(n, "disable", ctx, 0.0) != Some(0.0)
                && knob_number(n, "disable", ctx, 0.0).is_some();
            let child_ctx = input_ctx(n, ctx);
            let mut children: Vec<Option<(usize, Ctx)>> = if disabled {
                vec![n.inputs.first().copied().flatten().map(|i| (i, ctx))]
            } else if n.class == "Switch" {
                let count = n.inputs.len();
                match knob_number(n, "which", ctx, 0.0) {
                    Some(w) if count > 0 => {
                        let chosen = (w.max(0.0) as usize).min(count - 1);
                        vec![n.inputs[chosen].map(|i| (i, child_ctx))]
                    }
                    _ => n.inputs.iter().map(|i| i.map(|i| (i, child_ctx))).collect(),
                }
            } else {
                n.inputs.iter().map(|i| i.map(|i| (i, child_ctx))).collect()
            };
            let n_inputs = children.len();
            if !disabled {
                children.extend(n.links.iter().map(|&l| Some((l, ctx))));
            }
            Pending {
                node,
                ctx,
                disabled,
                children,
                n_inputs,
                next: 0,
            }
        };
        on_stack.insert((start, Ctx::At(frame).key()), ());
        stack.push(plan(start, Ctx::At(frame)));
        while let Some(top) = stack.last_mut() {
            if top.next < top.children.len() {
                let c = top.children[top.next];
                top.next += 1;
                if let Some((node, ctx)) = c {
                    let key = (node, ctx.key());
                    if !done.contains_key(&key) && !on_stack.contains_key(&key) {
                        on_stack.insert(key, ());
                        stack.push(plan(node, ctx));
                    }
                }
                continue;
            }
            let p = stack.pop().expect("non-empty");
            let pos_of = |c: &Option<(usize, Ctx)>| {
                c.and_then(|(n, ctx)| done.get(&(n, ctx.key())).copied())
            };
            let mut inputs: Vec<Option<usize>> =
                p.children[..p.n_inputs].iter().map(pos_of).collect();
            // Links are dependencies like inputs; list them after the input slots.
            inputs.extend(p.children[p.n_inputs..].iter().map(pos_of));
            let n = &setup.nodes[p.node];
            let knobs = if p.disabled {
                // Only the disable knob of a disabled node matters.
                n.knob("disable")
                    .map(|k| vec![(k.name.clone(), self.knob_json(p.node, k, p.ctx, &mut memo))])
                    .unwrap_or_default()
            } else {
                match (&self.static_knobs[p.node], p.ctx) {
                    (Some(k), Ctx::At(_)) => k.clone(),
                    _ => self.knobs_json(p.node, p.ctx, &mut memo),
                }
            };
            let source = if p.disabled {
                None
            } else {
                probe.source(n, p.ctx)
            };
            let key = (p.node, p.ctx.key());
            on_stack.remove(&key);
            done.insert(key, records.len());
            records.push(Record {
                node: p.node,
                ctx: p.ctx,
                inputs,
                disabled: p.disabled,
                knobs,
                source,
            });
        }
        FrameView {
            frame,
            root,
            records,
        }
    }

    fn root_json(&self, ctx: Ctx, memo: &mut Memo) -> Vec<(String, String)> {
        self.setup
            .root
            .iter()
            .filter(|k| !k.hidden)
            .map(|k| (k.name.clone(), self.value_json(None, k, ctx, memo)))
            .collect()
    }

    fn knobs_json(&self, node: usize, ctx: Ctx, memo: &mut Memo) -> Vec<(String, String)> {
        self.setup.nodes[node]
            .knobs
            .iter()
            .filter(|k| !k.hidden)
            .map(|k| (k.name.clone(), self.knob_json(node, k, ctx, memo)))
            .collect()
    }

    fn knob_json(&self, node: usize, k: &SetupKnob, ctx: Ctx, memo: &mut Memo) -> String {
        self.value_json(Some(node), k, ctx, memo)
    }

    /// Canonical JSON of a knob's value in `ctx`, with the values it reads attached.
    ///
    /// Reads are resolved with an explicit stack (a knob may read a knob that reads
    /// another…), memoised per frame; a read that loops back is recorded as `"cycle"`.
    fn value_json(&self, owner: Option<usize>, k: &SetupKnob, ctx: Ctx, memo: &mut Memo) -> String {
        // Work items: (owner, knob, ctx). Resolve children before parents.
        let mut stack: Vec<(Option<usize>, &SetupKnob, Ctx, bool)> = vec![(owner, k, ctx, false)];
        let mut active: Vec<MemoKey> = Vec::new();
        let mut result = String::new();
        while let Some((o, knob, c, expanded)) = stack.pop() {
            let key = memo_key(o, &knob.name, c);
            if memo.contains_key(&key) && !expanded {
                if stack.is_empty() {
                    result = memo[&key].clone();
                }
                continue;
            }
            if !expanded {
                if active.contains(&key) {
                    memo.insert(key, "\"cycle\"".to_string());
                    continue;
                }
                active.push(key.clone());
                stack.push((o, knob, c, true));
                for r in &knob.refs {
                    if let Some((o2, k2, c2)) = self.target(r, c) {
                        if !memo.contains_key(&memo_key(o2, &k2.name, c2)) {
                            stack.push((o2, k2, c2, false));
                        }
                    }
                }
                continue;
            }
            active.retain(|a| *a != key);
            let json = self.render(o, knob, c, memo);
            if stack.is_empty() {
                result = json.clone();
            }
            memo.insert(key, json);
        }
        result
    }

    /// What a reference reads: the knob and the context it is read in.
    fn target<'a>(
        &'a self,
        r: &ResolvedRef,
        ctx: Ctx,
    ) -> Option<(Option<usize>, &'a SetupKnob, Ctx)> {
        let c = if r.other_frames { Ctx::All } else { ctx };
        match &r.target {
            Target::Knob { node, knob } => self.setup.nodes[*node]
                .knob(knob)
                .map(|k| (Some(*node), k, c)),
            Target::Root { knob } => self
                .setup
                .root
                .iter()
                .find(|k| k.name == *knob)
                .map(|k| (None, k, c)),
            _ => None,
        }
    }

    /// Render a knob whose reads are all in `memo`.
    fn render(&self, _owner: Option<usize>, k: &SetupKnob, ctx: Ctx, memo: &Memo) -> String {
        let mut out = String::new();
        let (value, time_dependent) = match ctx {
            Ctx::At(f) => {
                let fv = k.value.at(f);
                (fv.canonical_bytes(), fv.time_dependent)
            }
            Ctx::All => (
                serde_json::to_vec(&serde_json::json!({ "all": k.text })).unwrap_or_default(),
                false,
            ),
        };
        let value = String::from_utf8(value).unwrap_or_default();
        if k.refs.is_empty() && !time_dependent {
            return value;
        }
        out.push_str("{\"at\":");
        out.push_str(&value);
        if let (true, Ctx::At(f)) = (time_dependent, ctx) {
            let _ = write!(out, ",\"frame\":{}", serde_json::json!(f));
        }
        if !k.refs.is_empty() {
            out.push_str(",\"reads\":{");
            let mut reads: Vec<(&str, String)> = k
                .refs
                .iter()
                .map(|r| {
                    let v = match (&r.target, self.target(r, ctx)) {
                        (_, Some((o, k2, c2))) => memo
                            .get(&memo_key(o, &k2.name, c2))
                            .cloned()
                            .unwrap_or_else(|| "\"cycle\"".into()),
                        (Target::Knob { node, .. }, None) => {
                            // The node exists but the knob is not set: its class default.
                            format!(
                                "{{\"default\":{}}}",
                                serde_json::json!(self.setup.nodes[*node].class)
                            )
                        }
                        (Target::Image, _) => "\"image\"".into(),
                        (Target::Root { .. }, None) => "{\"default\":\"Root\"}".into(),
                        (Target::Unresolved, _) => "\"unresolved\"".into(),
                    };
                    (r.text.as_str(), v)
                })
                .collect();
            reads.sort();
            reads.dedup();
            for (i, (name, v)) in reads.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:{}", serde_json::json!(name), v);
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

type MemoKey = (usize, String, u64);
type Memo = HashMap<MemoKey, String>;

fn memo_key(owner: Option<usize>, knob: &str, ctx: Ctx) -> MemoKey {
    (owner.unwrap_or(usize::MAX), knob.to_string(), ctx.key())
}

/// The context a node's inputs are evaluated in, given the node's own context.
fn input_ctx(n: &SetupNode, ctx: Ctx) -> Ctx {
    let Ctx::At(f) = ctx else { return Ctx::All };
    match n.time {
        TimeBehaviour::Local | TimeBehaviour::FrameVarying => ctx,
        TimeBehaviour::AllFrames => Ctx::All,
        TimeBehaviour::Offset => {
            if knob_number(n, "reverse_input", ctx, 0.0) != Some(0.0) {
                return Ctx::All;
            }
            match knob_number(n, "time_offset", ctx, 0.0) {
                Some(off) => Ctx::At(f - off),
                None => Ctx::All,
            }
        }
        TimeBehaviour::Hold => {
            let first = knob_number(n, "first_frame", ctx, 0.0);
            let inc = knob_number(n, "increment", ctx, 0.0);
            match (first, inc) {
                (Some(first), Some(inc)) if inc > 0.0 => {
                    Ctx::At(first + ((f - first) / inc).floor() * inc)
                }
                (Some(first), Some(_)) => Ctx::At(first),
                _ => Ctx::All,
            }
        }
    }
}

impl FrameView {
    /// The canonical bytes that are hashed: a format tag and version, the Root settings,
    /// then each record (class, active inputs by position, knob values, frame where the
    /// class varies by itself, source fingerprint). Names never appear.
    pub fn canonical_bytes(&self, setup: &Setup) -> Vec<u8> {
        let mut out = String::with_capacity(256 + self.records.len() * 128);
        let _ = write!(
            out,
            "{{\"format\":\"{FRAME_FORMAT}\",\"version\":{FRAME_VERSION},\"root\":"
        );
        write_object(&mut out, &self.root);
        out.push_str(",\"nodes\":[");
        for (i, r) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.write_record(&mut out, setup, r, false);
        }
        out.push_str("]}");
        out.into_bytes()
    }

    /// The frame hash: xxh3-128 of [`FrameView::canonical_bytes`].
    pub fn hash(&self, setup: &Setup) -> String {
        crate::hash::hex128(&self.canonical_bytes(setup))
    }

    /// A readable manifest: the canonical content plus node names, pretty-printed.
    pub fn to_json(&self, setup: &Setup) -> serde_json::Value {
        let mut out = String::new();
        out.push_str("{\"frame\":");
        out.push_str(&serde_json::json!(self.frame).to_string());
        out.push_str(",\"root\":");
        write_object(&mut out, &self.root);
        out.push_str(",\"nodes\":[");
        for (i, r) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.write_record(&mut out, setup, r, true);
        }
        out.push_str("]}");
        serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
    }

    fn write_record(&self, out: &mut String, setup: &Setup, r: &Record, named: bool) {
        let n = &setup.nodes[r.node];
        out.push('{');
        let _ = write!(out, "\"class\":{}", serde_json::json!(n.class));
        if r.disabled {
            out.push_str(",\"disabled\":true");
        }
        if n.time == TimeBehaviour::FrameVarying {
            match r.ctx {
                Ctx::At(f) => {
                    let _ = write!(out, ",\"frame\":{}", serde_json::json!(f));
                }
                Ctx::All => out.push_str(",\"frame\":\"all\""),
            }
        }
        out.push_str(",\"inputs\":[");
        for (i, inp) in r.inputs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match inp {
                Some(p) if named => {
                    let _ = write!(
                        out,
                        "{}",
                        serde_json::json!(setup.nodes[self.records[*p].node].name)
                    );
                }
                Some(p) => {
                    let _ = write!(out, "{p}");
                }
                None => out.push_str("null"),
            }
        }
        out.push_str("],\"knobs\":");
        write_object(out, &r.knobs);
        if named {
            let _ = write!(out, ",\"name\":{}", serde_json::json!(n.name));
            if let Ctx::At(f) = r.ctx {
                if f != self.frame {
                    let _ = write!(out, ",\"at_frame\":{}", serde_json::json!(f));
                }
            } else {
                out.push_str(",\"at_frame\":\"all\"");
            }
        }
        if let Some(s) = &r.source {
            let _ = write!(out, ",\"source\":{}", serde_json::json!(s));
        }
        out.push('}');
    }
}

fn write_object(out: &mut String, pairs: &[(String, String)]) {
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", serde_json::json!(k), v);
    }
    out.push('}');
}
