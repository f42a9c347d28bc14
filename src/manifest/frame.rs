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
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

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

/// A number a frame's traversal needs (disable, Switch `which`, time offsets), decided
/// once per setup where it cannot vary.
#[derive(Debug, Clone, Copy)]
enum Num {
    /// The knob is not set: the caller's default applies.
    Unset,
    /// The same on every frame (`None`: set, but not a number this crate computes).
    Const(Option<f64>),
    /// Animated or computed: evaluate at each frame.
    Varies,
}

/// The knobs that shape a traversal, in [`Num`] slots per node.
const DISABLE: usize = 0;
const WHICH: usize = 1;
const TIME_OFFSET: usize = 2;
const REVERSE_INPUT: usize = 3;
const FIRST_FRAME: usize = 4;
const INCREMENT: usize = 5;
const SHAPING_KNOBS: [&str; 6] = [
    "disable",
    "which",
    "time_offset",
    "reverse_input",
    "first_frame",
    "increment",
];

/// One node visited in a frame's traversal, in post-order.
#[derive(Debug, Clone, Copy)]
struct Visit {
    node: u32,
    ctx: Ctx,
    disabled: bool,
    /// Range of this visit's inputs in [`Walk::inputs`].
    inputs: (u32, u32),
}

/// A frame's traversal: which nodes are visited in which context, with their active
/// inputs as visit positions. [`Prepared::view`] turns it into records,
/// [`Prepared::frame_hash`] into a hash without building them.
#[derive(Clone)]
struct Walk {
    visits: Vec<Visit>,
    inputs: Vec<Option<u32>>,
}

impl Visit {
    /// This visit with its context moved by `shift` frames.
    fn shifted(&self, shift: f64) -> Visit {
        let ctx = match self.ctx {
            Ctx::At(f) => Ctx::At(f + shift),
            Ctx::All => Ctx::All,
        };
        Visit { ctx, ..*self }
    }
}

impl Walk {
    fn inputs_of(&self, v: &Visit) -> &[Option<u32>] {
        &self.inputs[v.inputs.0 as usize..v.inputs.1 as usize]
    }
}

/// Where each (node, context) pair was visited in the current frame: the first context
/// of a node in a flat table (almost every node is visited in one context), the others
/// in a map.
struct Seen {
    first: Vec<(u64, u32)>,
    more: HashMap<(u32, u64), u32>,
}

/// Marks a (node, context) pair that is on the traversal stack.
const ON_STACK: u32 = u32::MAX - 1;
const NONE: (u64, u32) = (0, u32::MAX);

impl Seen {
    fn new(n: usize) -> Self {
        Seen {
            first: vec![NONE; n],
            more: HashMap::new(),
        }
    }
    fn get(&self, node: u32, ctx: u64) -> Option<u32> {
        match self.first[node as usize] {
            (c, v) if v != u32::MAX && c == ctx => Some(v),
            (_, u32::MAX) => None,
            _ => self.more.get(&(node, ctx)).copied(),
        }
    }
    fn set(&mut self, node: u32, ctx: u64, value: u32) {
        let slot = &mut self.first[node as usize];
        if slot.1 == u32::MAX || slot.0 == ctx {
            *slot = (ctx, value);
        } else {
            self.more.insert((node, ctx), value);
        }
    }
}

/// Per-setup data computed once and shared by every frame: knob values and record
/// digests that cannot vary with the frame, and the numbers that shape traversals.
pub struct Prepared<'s> {
    pub setup: &'s Setup,
    /// Per node, per knob: the knob's JSON when it is the same at every frame.
    static_knob: Vec<Vec<Option<String>>>,
    /// Per node, per knob: the knob's digest when it is the same at every frame.
    static_knob_digest: Vec<Vec<Option<u128>>>,
    /// Per node: the record digest when the whole record is the same at every frame.
    static_digest: Vec<Option<u128>>,
    static_root: Option<Vec<(String, String)>>,
    nums: Vec<[Num; 6]>,
    /// The traversal at frame 0, when every frame's traversal is the same up to a
    /// shift of its contexts (see [`Prepared::frame_invariant_walk`]).
    walk0: Option<Walk>,
}

impl<'s> Prepared<'s> {
    pub fn new(setup: &'s Setup) -> Self {
        let mut memo = HashMap::new();
        let mut p = Prepared {
            setup,
            static_knob: Vec::with_capacity(setup.nodes.len()),
            static_knob_digest: Vec::with_capacity(setup.nodes.len()),
            static_digest: vec![None; setup.nodes.len()],
            static_root: None,
            nums: Vec::with_capacity(setup.nodes.len()),
            walk0: None,
        };
        for (i, n) in setup.nodes.iter().enumerate() {
            let knobs = n
                .knobs
                .iter()
                .map(|k| {
                    k.value
                        .is_static()
                        .then(|| p.knob_json(i, k, Ctx::At(0.0), &mut memo))
                })
                .collect();
            let digests = n
                .knobs
                .iter()
                .enumerate()
                .map(|(j, k)| {
                    k.value
                        .is_static()
                        .then(|| p.knob_digest(i, j, Ctx::At(0.0), &mut memo))
                })
                .collect();
            p.static_knob.push(knobs);
            p.static_knob_digest.push(digests);
            p.nums.push(SHAPING_KNOBS.map(|name| match n.knob(name) {
                None => Num::Unset,
                Some(k) if k.value.is_static() => Num::Const(number_at(&k.value, Ctx::At(0.0))),
                Some(_) => Num::Varies,
            }));
        }
        for (i, n) in setup.nodes.iter().enumerate() {
            let all_static = p.static_knob[i]
                .iter()
                .zip(&n.knobs)
                .all(|(j, k)| j.is_some() || k.hidden);
            let frame_free =
                n.time != TimeBehaviour::FrameVarying && !super::source::reads_files(&n.class);
            let disabled = match p.nums[i][DISABLE] {
                Num::Unset => Some(false),
                Num::Const(v) => Some(!n.knob_only && v.is_some_and(|v| v != 0.0)),
                Num::Varies => None,
            };
            if let (true, true, Some(disabled)) = (all_static, frame_free, disabled) {
                p.static_digest[i] =
                    Some(p.record_digest(i, disabled, Ctx::At(0.0), None, &mut memo));
            }
        }
        if setup.root.iter().all(|k| k.value.is_static() || k.hidden) {
            p.static_root = Some(p.root_json(Ctx::At(0.0), &mut memo));
        }
        if p.frame_invariant_walk() {
            p.walk0 = Some(p.walk(0.0));
        }
        p
    }

    /// Whether the traversal at frame f is the traversal at frame 0 with every
    /// context shifted by f: nothing that shapes it (disable, a Switch's `which`, a
    /// TimeOffset's offset) varies with the frame, and no FrameHold pins a context to
    /// an absolute frame. Shifting every context by the same amount maps the (node,
    /// context) pairs of one frame one-to-one onto the other's, so the traversals agree.
    fn frame_invariant_walk(&self) -> bool {
        self.setup.nodes.iter().zip(&self.nums).all(|(n, nums)| {
            let fixed = |slot: usize| !matches!(nums[slot], Num::Varies);
            fixed(DISABLE)
                && (n.class != "Switch" || fixed(WHICH))
                && match n.time {
                    TimeBehaviour::Hold => false,
                    TimeBehaviour::Offset => fixed(TIME_OFFSET) && fixed(REVERSE_INPUT),
                    _ => true,
                }
        })
    }

    /// The traversal of `frame` and the shift to add to its contexts.
    fn walk_for(&self, frame: f64) -> (std::borrow::Cow<'_, Walk>, f64) {
        match &self.walk0 {
            Some(w) => (std::borrow::Cow::Borrowed(w), frame),
            None => (std::borrow::Cow::Owned(self.walk(frame)), 0.0),
        }
    }

    /// A shaping number of `node` at `ctx` (see [`Num`]); `default` when unset.
    fn num(&self, node: usize, slot: usize, ctx: Ctx, default: f64) -> Option<f64> {
        match self.nums[node][slot] {
            Num::Unset => Some(default),
            Num::Const(v) => v,
            Num::Varies => self.setup.nodes[node]
                .knob(SHAPING_KNOBS[slot])
                .and_then(|k| number_at(&k.value, ctx)),
        }
    }

    /// Whether `node` is disabled at `ctx`: only a disable that evaluates to a non-zero
    /// number counts (an expression this crate cannot evaluate counts as enabled, so
    /// everything the node could read stays in the manifest).
    fn disabled(&self, node: usize, ctx: Ctx) -> bool {
        !self.setup.nodes[node].knob_only
            && self.num(node, DISABLE, ctx, 0.0).is_some_and(|v| v != 0.0)
    }

    /// The context a node's inputs are evaluated in, given the node's own context.
    fn input_ctx(&self, node: usize, ctx: Ctx) -> Ctx {
        let Ctx::At(f) = ctx else { return Ctx::All };
        match self.setup.nodes[node].time {
            TimeBehaviour::Local | TimeBehaviour::FrameVarying => ctx,
            TimeBehaviour::AllFrames => Ctx::All,
            TimeBehaviour::Offset => {
                if self.num(node, REVERSE_INPUT, ctx, 0.0) != Some(0.0) {
                    return Ctx::All;
                }
                match self.num(node, TIME_OFFSET, ctx, 0.0) {
                    Some(off) => Ctx::At(f - off),
                    None => Ctx::All,
                }
            }
            TimeBehaviour::Hold => {
                let first = self.num(node, FIRST_FRAME, ctx, 0.0);
                let inc = self.num(node, INCREMENT, ctx, 0.0);
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

    /// Push the children of `node` at `ctx` onto `buf`: the active inputs (one for a
    /// disabled node or a Switch that can be evaluated), then image links. Returns
    /// (disabled, number of input slots).
    fn children(&self, node: usize, ctx: Ctx, buf: &mut Vec<Option<(u32, Ctx)>>) -> (bool, usize) {
        let n = &self.setup.nodes[node];
        let disabled = self.disabled(node, ctx);
        if disabled {
            buf.push(n.inputs.first().copied().flatten().map(|i| (i as u32, ctx)));
            return (true, 1);
        }
        let child_ctx = self.input_ctx(node, ctx);
        let count = n.inputs.len();
        let chosen = (n.class == "Switch" && count > 0)
            .then(|| self.num(node, WHICH, ctx, 0.0))
            .flatten()
            .map(|w| (w.max(0.0) as usize).min(count - 1));
        match chosen {
            Some(c) => buf.push(n.inputs[c].map(|i| (i as u32, child_ctx))),
            None => buf.extend(n.inputs.iter().map(|i| i.map(|i| (i as u32, child_ctx)))),
        }
        let slots = if chosen.is_some() { 1 } else { count };
        buf.extend(n.links.iter().map(|&l| Some((l as u32, ctx))));
        (false, slots)
    }

    /// The traversal of frame `frame`: iterative post-order from the output over
    /// (node, context) pairs.
    fn walk(&self, frame: f64) -> Walk {
        let mut walk = Walk {
            visits: Vec::new(),
            inputs: Vec::new(),
        };
        let Some(start) = self.setup.result else {
            return walk;
        };
        struct Pending {
            node: u32,
            ctx: Ctx,
            disabled: bool,
            /// Children are `buf[start..end]`; the next to visit is `buf[next]`.
            start: usize,
            end: usize,
            next: usize,
        }
        let mut seen = Seen::new(self.setup.nodes.len());
        let mut buf: Vec<Option<(u32, Ctx)>> = Vec::new();
        let mut stack: Vec<Pending> = Vec::new();
        let push =
            |node: u32, ctx: Ctx, buf: &mut Vec<_>, stack: &mut Vec<Pending>, seen: &mut Seen| {
                let begin = buf.len();
                let (disabled, _) = self.children(node as usize, ctx, buf);
                seen.set(node, ctx.key(), ON_STACK);
                stack.push(Pending {
                    node,
                    ctx,
                    disabled,
                    start: begin,
                    end: buf.len(),
                    next: begin,
                });
            };
        push(
            start as u32,
            Ctx::At(frame),
            &mut buf,
            &mut stack,
            &mut seen,
        );
        while let Some(top) = stack.last_mut() {
            if top.next < top.end {
                let c = buf[top.next];
                top.next += 1;
                if let Some((node, ctx)) = c {
                    if seen.get(node, ctx.key()).is_none() {
                        push(node, ctx, &mut buf, &mut stack, &mut seen);
                    }
                }
                continue;
            }
            let p = stack.pop().expect("non-empty");
            let first = walk.inputs.len() as u32;
            for c in &buf[p.start..p.end] {
                let pos = c
                    .and_then(|(n, ctx)| seen.get(n, ctx.key()))
                    .filter(|&v| v != ON_STACK);
                walk.inputs.push(pos);
            }
            buf.truncate(p.start);
            seen.set(p.node, p.ctx.key(), walk.visits.len() as u32);
            walk.visits.push(Visit {
                node: p.node,
                ctx: p.ctx,
                disabled: p.disabled,
                inputs: (first, walk.inputs.len() as u32),
            });
        }
        walk
    }

    /// Knob name and JSON of a record: only the disable knob for a disabled node.
    fn record_knobs(
        &self,
        node: usize,
        disabled: bool,
        ctx: Ctx,
        memo: &mut Memo,
    ) -> Vec<(String, String)> {
        let n = &self.setup.nodes[node];
        n.knobs
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.hidden && (!disabled || k.name == "disable"))
            .map(|(j, k)| {
                let json = match (&self.static_knob[node][j], ctx) {
                    (Some(s), Ctx::At(_)) => s.clone(),
                    _ => self.knob_json(node, k, ctx, memo),
                };
                (k.name.clone(), json)
            })
            .collect()
    }

    /// The frame view at `frame`: every record with its knob values as JSON, for display
    /// and explanations (hashing uses [`Prepared::frame_hash`]).
    pub fn view(&self, frame: f64, probe: &dyn SourceProbe) -> FrameView {
        let mut memo = HashMap::new();
        let root = match &self.static_root {
            Some(r) => r.clone(),
            None => self.root_json(Ctx::At(frame), &mut memo),
        };
        let (walk, shift) = self.walk_for(frame);
        let records = walk
            .visits
            .iter()
            .map(|v| {
                let v = &v.shifted(shift);
                let node = v.node as usize;
                let n = &self.setup.nodes[node];
                Record {
                    node,
                    ctx: v.ctx,
                    inputs: walk
                        .inputs_of(v)
                        .iter()
                        .map(|i| i.map(|i| i as usize))
                        .collect(),
                    disabled: v.disabled,
                    knobs: self.record_knobs(node, v.disabled, v.ctx, &mut memo),
                    source: if v.disabled {
                        None
                    } else {
                        probe.source(n, v.ctx)
                    },
                }
            })
            .collect();
        FrameView {
            frame,
            root,
            records,
        }
    }

    /// The frame hash of `frame`, and the source fingerprints it read.
    ///
    /// The hash is xxh3-128 over a format tag and version, the Root settings, then for
    /// each visited record (post-order) the digest of its content and its inputs as
    /// positions in the visit order. Names and positions in the DAG never enter it.
    /// Record digests of nodes whose content cannot vary with the frame were computed
    /// once in [`Prepared::new`]; per frame only the others are digested.
    pub fn frame_hash(
        &self,
        frame: f64,
        probe: &dyn SourceProbe,
    ) -> (String, Vec<(usize, Ctx, String)>) {
        let mut memo = HashMap::new();
        let mut sources = Vec::new();
        let root = match &self.static_root {
            Some(_) => None,
            None => Some(self.root_json(Ctx::At(frame), &mut memo)),
        };
        let root = root
            .as_deref()
            .or(self.static_root.as_deref())
            .unwrap_or(&[]);
        let (walk, shift) = self.walk_for(frame);
        let mut h = frame_hasher(root);
        for v in &walk.visits {
            let v = &v.shifted(shift);
            let node = v.node as usize;
            let digest = match (self.static_digest[node], v.ctx) {
                (Some(d), Ctx::At(_)) => d,
                _ => {
                    let n = &self.setup.nodes[node];
                    let source = if v.disabled {
                        None
                    } else {
                        probe.source(n, v.ctx)
                    };
                    let d =
                        self.record_digest(node, v.disabled, v.ctx, source.as_deref(), &mut memo);
                    if let Some(s) = source {
                        sources.push((node, v.ctx, s));
                    }
                    d
                }
            };
            hash_record(&mut h, digest, walk.inputs_of(v).iter().copied());
        }
        (crate::hash::to_hex(h.digest128()), sources)
    }

    fn root_json(&self, ctx: Ctx, memo: &mut Memo) -> Vec<(String, String)> {
        self.setup
            .root
            .iter()
            .filter(|k| !k.hidden)
            .map(|k| (k.name.clone(), self.value_json(None, k, ctx, memo)))
            .collect()
    }

    /// Append knob `j` of `node` in `ctx` to a record's bytes. A knob that is the same
    /// on every frame appends its precomputed digest; one that reads nothing appends its
    /// frame value directly ([`KnobValue::write_at`]); one that reads other knobs, or is
    /// wanted at every frame, its canonical JSON with the reads attached. A tag byte
    /// keeps the three forms apart.
    fn write_knob(&self, node: usize, j: usize, ctx: Ctx, memo: &mut Memo, out: &mut Vec<u8>) {
        if let (Some(d), Ctx::At(_)) = (self.static_knob_digest.get(node).and_then(|v| v[j]), ctx) {
            out.push(b'D');
            out.extend_from_slice(&d.to_le_bytes());
            return;
        }
        let k = &self.setup.nodes[node].knobs[j];
        match ctx {
            Ctx::At(f) if k.refs.is_empty() => {
                out.push(b'V');
                k.value.write_at(f, out);
                if k.value.time_dependent() {
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
            }
            _ => {
                let json = self.knob_json(node, k, ctx, memo);
                out.push(b'J');
                out.extend_from_slice(&(json.len() as u64).to_le_bytes());
                out.extend_from_slice(json.as_bytes());
            }
        }
    }

    /// The digest of knob `j` of `node` in `ctx` (precomputed for static knobs).
    fn knob_digest(&self, node: usize, j: usize, ctx: Ctx, memo: &mut Memo) -> u128 {
        let mut out = Vec::new();
        self.write_knob(node, j, ctx, memo, &mut out);
        xxh3_128(&out)
    }

    /// The digest of a record's content: class, whether disabled, the frame (for
    /// classes that vary by themselves), each kept knob's name and value (only the
    /// disable knob of a disabled node), and the source fingerprint. Never the name.
    fn record_digest(
        &self,
        node: usize,
        disabled: bool,
        ctx: Ctx,
        source: Option<&str>,
        memo: &mut Memo,
    ) -> u128 {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|buf| {
            let mut out = buf.borrow_mut();
            out.clear();
            let n = &self.setup.nodes[node];
            let text = |out: &mut Vec<u8>, t: &str| {
                out.extend_from_slice(&(t.len() as u64).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            };
            text(&mut out, &n.class);
            out.push(disabled as u8);
            if n.time == TimeBehaviour::FrameVarying {
                match ctx {
                    Ctx::At(f) => out.extend_from_slice(&f.to_bits().to_le_bytes()),
                    Ctx::All => out.extend_from_slice(b"all"),
                }
            }
            for (j, k) in n.knobs.iter().enumerate() {
                if k.hidden || (disabled && k.name != "disable") {
                    continue;
                }
                text(&mut out, &k.name);
                self.write_knob(node, j, ctx, memo, &mut out);
            }
            match source {
                Some(s) => {
                    out.push(b'S');
                    text(&mut out, s);
                }
                None => out.push(b'-'),
            }
            xxh3_128(&out)
        })
    }

    fn knob_json(&self, node: usize, k: &SetupKnob, ctx: Ctx, memo: &mut Memo) -> String {
        if k.refs.is_empty() {
            // Nothing to resolve: no memo, no work stack.
            return self.render(Some(node), k, ctx, memo);
        }
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

impl FrameView {
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

/// Start a frame hash: format tag, version, Root settings.
fn frame_hasher(root: &[(String, String)]) -> Xxh3 {
    let mut h = Xxh3::new();
    let mut head = format!("{FRAME_FORMAT}/{FRAME_VERSION}\n");
    write_object(&mut head, root);
    h.update(head.as_bytes());
    h
}

/// Add one record to a frame hash: its content digest, then its inputs.
fn hash_record(h: &mut Xxh3, digest: u128, inputs: impl ExactSizeIterator<Item = Option<u32>>) {
    h.update(&digest.to_le_bytes());
    h.update(&(inputs.len() as u32).to_le_bytes());
    for i in inputs {
        h.update(&i.unwrap_or(u32::MAX).to_le_bytes());
    }
}

/// Append `s` as a JSON string.
fn write_json_str(buf: &mut String, s: &str) {
    // Serialising a str into a String cannot fail.
    let mut v = std::mem::take(buf).into_bytes();
    let _ = serde_json::to_writer(&mut v, s);
    *buf = String::from_utf8(v).expect("serde_json writes UTF-8");
}

fn write_object(out: &mut String, pairs: &[(String, String)]) {
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, k);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
}
