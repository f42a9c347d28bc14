//! The manifest of one frame, derived from a [`Setup`], and its hash.
//!
//! Walking from the output at frame f, each node is visited in a time context
//! ([`Ctx`]): the time it is evaluated at and the window its knobs are sampled over. The
//! class semantics the profile gave the setup decide the rest, per visit:
//!
//! * disabled (its disable knob non-zero at the context): only input 0 passes through,
//!   and only the disable knob is recorded;
//! * which inputs are read: all, the one a Switch-like selector names, the ones a
//!   Dissolve-like selector blends (and mask inputs while it blends);
//! * in which contexts they are read ([`super::time`]): shifted, held, several frames,
//!   a span, every frame; widened by the node's motion-blur shutter when it samples its
//!   inputs, and by the pad of a class smartcache does not know;
//! * its knobs' window: the context's, widened by its own shutter and pad (or every
//!   frame for a class that reads its knobs at other frames).
//!
//! Records come in post-order (inputs first), which depends only on the graph's shape.
//! [`Prepared::view`] builds the typed [`FrameView`]; [`Prepared::frame_hash`] computes
//! the same hash without building records whose content cannot vary with the frame
//! (their digests are computed once, and so is the digest of an enabled node's knobs
//! that cannot vary, see `Template`); [`Prepared::frame_hashes`] computes
//! it for a batch of frames node by node, so that a large setup is read once per batch
//! rather than once per frame, and takes the digest of a block of visits (see
//! [`FrameBytes`]) whose records cannot vary from [`Prepared::new`], which hashed it
//! once.

use super::ctx::{Ctx, CtxKey, NodeCtxMap};
use super::scope::{self, word_number};
use super::setup::{ResolvedRef, Setup, SetupKnob, Target};
use super::time::{self, Knobs, Num};
use super::view::{
    block_digest, put_count, put_curve, put_files, put_knob_name, put_knobs, put_part, put_reads,
    put_record_head, put_text, put_value_head, put_value_tail, put_visit, root_digest,
    script_digest, Canon, Entry, FileRead, FrameBytes, FrameView, KnobEntry, Read, ReadValue,
    Record, Stamp, BLOCK,
};
use crate::eval::{FrameValue, Part};
use crate::profile::{Inputs, KnobRef, Time};
use std::collections::HashMap;
use std::rc::Rc;

use super::reuse::{Columns, Kept, Reuse};
pub use super::source::{NoSources, SourceProbe};

/// One node visited in a frame's traversal, in post-order.
///
/// Its context is kept as its three numbers and a flag ([`Visit::ctx`] puts them
/// together): a [`Ctx`] holds an `Option<f64>` of 16 bytes, which made a visit 48
/// bytes where this is 40, and a traversal holds one per node visited.
#[derive(Debug, Clone, Copy)]
pub(super) struct Visit {
    pub(super) node: u32,
    pub(super) disabled: bool,
    /// Whether the context has a frame (`frame` is then it).
    has_frame: bool,
    frame: f64,
    lo: f64,
    hi: f64,
    /// Range of this visit's inputs in [`Walk::inputs`].
    pub(super) inputs: (u32, u32),
}

const _: () = assert!(std::mem::size_of::<Visit>() <= 40);

impl Visit {
    pub(super) fn new(node: u32, ctx: Ctx, disabled: bool, inputs: (u32, u32)) -> Visit {
        Visit {
            node,
            disabled,
            has_frame: ctx.frame.is_some(),
            frame: ctx.frame.unwrap_or(0.0),
            lo: ctx.lo,
            hi: ctx.hi,
            inputs,
        }
    }

    /// The context the node is visited in.
    pub(super) fn ctx(&self) -> Ctx {
        Ctx {
            frame: self.has_frame.then_some(self.frame),
            lo: self.lo,
            hi: self.hi,
        }
    }

    /// This visit with its context shifted by `shift`.
    pub(super) fn shifted(&self, shift: f64) -> Visit {
        Visit::new(
            self.node,
            self.ctx().shifted(shift),
            self.disabled,
            self.inputs,
        )
    }
}

/// A frame's traversal: which nodes are visited in which context, with their active
/// inputs as visit positions.
#[derive(Clone)]
pub(super) struct Walk {
    pub(super) visits: Vec<Visit>,
    inputs: Vec<Option<u32>>,
}

impl Walk {
    pub(super) fn inputs_of(&self, v: &Visit) -> &[Option<u32>] {
        &self.inputs[v.inputs.0 as usize..v.inputs.1 as usize]
    }
}

/// Marks a (node, context) pair that is on the traversal stack.
const ON_STACK: u32 = u32::MAX;

/// The knobs of one node, answering the time rules' questions ([`Knobs`]).
pub(crate) struct NodeKnobs<'a, 's> {
    p: &'a Prepared<'s>,
    node: usize,
}

impl<'s> NodeKnobs<'_, 's> {
    fn set_knob(&self, k: &KnobRef) -> Option<&'s SetupKnob> {
        let n = &self.p.setup.nodes[self.node];
        k.names.iter().find_map(|name| n.knob(name))
    }
}

impl Knobs for NodeKnobs<'_, '_> {
    fn num(&self, k: &KnobRef, ctx: Ctx) -> Num {
        match self.set_knob(k) {
            Some(knob) => {
                let f = match ctx.frame {
                    Some(f) => f,
                    // A span: only a value that is the same at every time.
                    None if knob.value.is_static() => 0.0,
                    None => return Num::Unknown,
                };
                scope::knob_number(self.p.setup, Some(self.node), knob, f, None, 0)
                    .map_or(Num::Unknown, Num::One)
            }
            None => {
                let vals: Vec<f64> = k.defaults.iter().filter_map(|d| word_number(d)).collect();
                match vals.as_slice() {
                    _ if vals.len() != k.defaults.len() || vals.is_empty() => Num::Unknown,
                    [one] => Num::One(*one),
                    _ => Num::Choices(vals),
                }
            }
        }
    }

    fn words(&self, k: &KnobRef, ctx: Ctx) -> Option<Vec<String>> {
        match self.set_knob(k) {
            Some(knob) => {
                let f = ctx.frame.filter(|_| !knob.value.is_static()).unwrap_or(0.0);
                if ctx.frame.is_none() && !knob.value.is_static() {
                    return None;
                }
                scope::knob_text(self.p.setup, Some(self.node), knob, f, 0).map(|w| vec![w])
            }
            None => (!k.defaults.is_empty()).then(|| k.defaults.clone()),
        }
    }

    fn is_set(&self, k: &KnobRef) -> bool {
        self.set_knob(k).is_some()
    }
}

/// A frame hash (32 hex characters) and the files the frame read, by node (a position
/// in [`Setup::nodes`]) and context.
pub type FrameHash = (String, Vec<(usize, Ctx, Vec<FileRead>)>);

/// Per-setup data computed once and shared by every frame: digests of knobs and
/// records that cannot vary with the frame, and the traversal when it only shifts.
pub struct Prepared<'s> {
    /// The setup prepared.
    pub setup: &'s Setup,
    /// What was computed from it (read through `Deref`).
    parts: PreparedParts,
    /// The files every frame reads, looked at once (by the first probe asking).
    root_files: std::sync::OnceLock<Vec<FileRead>>,
}

/// What [`Prepared::new`] computed from a setup, apart from the setup and the files
/// it reads: kept by a long-lived process beside the setup it came from (see
/// [`crate::render::Warm`]), to prepare the same setup again for nothing.
pub struct PreparedParts {
    /// The knobs each node records when it is enabled (not hidden), in order, with
    /// whether they are the same at every frame: node after node (a node's are
    /// [`Template::slots`]), one list for tens of thousands of nodes.
    slots: Vec<Slot>,
    /// Per node: what its enabled record holds at every frame (see [`Template`]).
    template: Vec<Template>,
    /// The knobs of every template that vary with the frame, by position in their
    /// node's knobs, node after node.
    holes: Vec<u32>,
    /// Per node: the record digest when the whole record is the same at every frame,
    /// as bytes: 17 a node where an `Option<u128>` takes 32 (its alignment is 16).
    static_record: Vec<Option<[u8; 16]>>,
    /// The digest of the Root settings when they are the same at every frame.
    static_root: Option<u128>,
    /// The traversal at frame 0, when every frame's traversal is the same up to a
    /// shift of its contexts (see [`Prepared::shift_invariant`]).
    walk0: Option<Walk>,
    /// Per block of [`BLOCK`] visits of `walk0`: its digest when every record in it is
    /// the same at every frame (the block is then the same bytes at every frame).
    blocks: Vec<Option<u128>>,
    /// How many visits of `walk0` are `Prepared::keepable`.
    keepable: usize,
    /// Per node: what shapes its visits, decided once where it cannot vary, as a
    /// position in `shapes`.
    shape_of: Vec<u32>,
    /// The distinct shapes: a shape is the class's and a few static knobs', so a few
    /// serve tens of thousands of nodes (40 bytes a node, kept once per setup).
    shapes: Vec<Shape>,
    /// The setup's node count, a check that the parts are put back on their setup.
    nodes: usize,
}

impl std::ops::Deref for Prepared<'_> {
    type Target = PreparedParts;
    fn deref(&self) -> &PreparedParts {
        &self.parts
    }
}

impl std::ops::DerefMut for Prepared<'_> {
    fn deref_mut(&mut self) -> &mut PreparedParts {
        &mut self.parts
    }
}

impl std::fmt::Debug for PreparedParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedParts")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// A knob recorded by an enabled node: its position, and whether its value is the
/// same at every frame ([`KnobEntry::fixed`]).
///
/// Packed in 4 bytes (the knob's position, the top bit for `fixed`): a setup of 50,000
/// nodes has hundreds of thousands of slots.
#[derive(Debug, Clone, Copy)]
struct Slot(u32);

impl Slot {
    const FIXED: u32 = 1 << 31;

    /// The slot of the knob at position `knob` of its node's knobs. A node has far
    /// fewer than 2^31 knobs (each takes bytes of a script held in memory).
    fn new(knob: usize, fixed: bool) -> Slot {
        debug_assert!(knob < Slot::FIXED as usize);
        Slot(knob as u32 & !Slot::FIXED | if fixed { Slot::FIXED } else { 0 })
    }

    /// The knob's position in its node's knobs.
    fn knob(self) -> usize {
        (self.0 & !Slot::FIXED) as usize
    }

    /// Whether its value is the same at every frame.
    fn fixed(self) -> bool {
        self.0 & Slot::FIXED != 0
    }
}

/// What a node's record holds at every frame when it is enabled and its knobs are
/// sampled at a frame, computed once so that a frame writes only what can vary: the
/// digest of its knobs' fixed part (see [`put_knobs`]), then per visit the class, the
/// disabled flag and the time stamp before it, and the entries of its holes after.
///
/// Its holes and slots start where the previous node's end: only the start is kept.
#[derive(Debug, Clone, Copy)]
struct Template {
    /// The digest of the knobs' fixed part, as bytes (no 16-byte alignment).
    fixed: [u8; 16],
    /// Where its holes start in [`PreparedParts::holes`].
    holes: u32,
    /// Where its slots start in [`PreparedParts::slots`].
    slots: u32,
}

/// A node's motion blur at a context.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Blur {
    Off,
    /// The shutter window relative to the frame.
    Window(f64, f64),
    /// On, with a window that cannot be known.
    Unknown,
}

/// What shapes a node's visits, where it is the same at every frame.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// The class's pad, in frames.
    pad: f64,
    /// Its motion blur, when the knobs deciding it are the same at every frame.
    blur: Option<Blur>,
    /// Whether it is disabled, when its disable knob is the same at every frame.
    disabled: Option<bool>,
    /// Whether its class reads any on-demand Root setting the setup has.
    reads_root: bool,
    /// Its class's output changes from frame to frame by itself.
    varying: bool,
    /// Its class reads files.
    files: bool,
    /// Its knobs are sampled at its context as it is (no blur, pad or other frames).
    plain: bool,
}

/// A [`Shape`] as bits, to find equal shapes.
type ShapeKey = (u64, (u8, u64, u64), u8, u8);

impl Shape {
    fn key(&self) -> ShapeKey {
        let blur = match self.blur {
            None => (0, 0, 0),
            Some(Blur::Off) => (1, 0, 0),
            Some(Blur::Window(a, b)) => (2, a.to_bits(), b.to_bits()),
            Some(Blur::Unknown) => (3, 0, 0),
        };
        let disabled = match self.disabled {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        let flags = [self.reads_root, self.varying, self.files, self.plain]
            .iter()
            .enumerate()
            .fold(0u8, |f, (i, &b)| f | (u8::from(b) << i));
        (self.pad.to_bits(), blur, disabled, flags)
    }
}

/// Per-frame memo: knob entries built so far by (owner, knob address, context).
#[derive(Default)]
pub(super) struct Memo<'s> {
    entries: HashMap<(usize, usize, CtxKey), Rc<Entry<'s>>>,
}

impl<'s> Memo<'s> {
    pub(super) fn new() -> Self {
        Memo::default()
    }
    fn get(&self, k: &(usize, usize, CtxKey)) -> Option<&Rc<Entry<'s>>> {
        self.entries.get(k)
    }
    fn contains_key(&self, k: &(usize, usize, CtxKey)) -> bool {
        self.entries.contains_key(k)
    }
    fn insert(&mut self, k: (usize, usize, CtxKey), e: Rc<Entry<'s>>) {
        self.entries.insert(k, e);
    }
}

fn memo_key(owner: Option<usize>, k: &SetupKnob, ctx: Ctx) -> (usize, usize, CtxKey) {
    (
        owner.unwrap_or(usize::MAX),
        k as *const SetupKnob as usize,
        ctx.key(),
    )
}

impl<'s> Prepared<'s> {
    /// What was computed from the setup, to be put back on the same setup later
    /// ([`Prepared::from_parts`]). The files read are not kept: they are looked at
    /// anew.
    pub fn into_parts(self) -> PreparedParts {
        self.parts
    }

    /// `setup` prepared with `parts`, which [`Prepared::into_parts`] gave for this same
    /// setup (the same object: the caller keeps them together); prepared anew when
    /// the parts cannot be this setup's.
    pub fn from_parts(setup: &'s Setup, parts: PreparedParts) -> Self {
        if parts.nodes != setup.nodes.len() {
            return Prepared::new(setup);
        }
        Prepared {
            setup,
            parts,
            root_files: std::sync::OnceLock::new(),
        }
    }

    /// Prepare `setup` for viewing frames (per-node work done once).
    pub fn new(setup: &'s Setup) -> Self {
        let mut p = Prepared {
            setup,
            parts: PreparedParts {
                slots: Vec::with_capacity(setup.nodes.iter().map(|n| n.knobs.len()).sum()),
                template: Vec::with_capacity(setup.nodes.len()),
                holes: Vec::new(),
                static_record: vec![None; setup.nodes.len()],
                static_root: None,
                walk0: None,
                blocks: Vec::new(),
                keepable: 0,
                shape_of: Vec::with_capacity(setup.nodes.len()),
                shapes: Vec::new(),
                nodes: setup.nodes.len(),
            },
            root_files: std::sync::OnceLock::new(),
        };
        let at0 = Ctx::at(0.0);
        let mut distinct: HashMap<ShapeKey, u32> = HashMap::new();
        for (i, n) in setup.nodes.iter().enumerate() {
            let fixed = |k: &KnobRef| {
                k.names
                    .iter()
                    .filter_map(|name| n.knob(name))
                    .all(|k| k.value.is_static())
            };
            let fixed_opt = |k: &Option<KnobRef>| k.as_ref().is_none_or(fixed);
            let blur_fixed = n.sem.blur.as_ref().is_none_or(|b| {
                fixed(&b.on)
                    && fixed_opt(&b.shutter.shutter)
                    && fixed_opt(&b.shutter.offset)
                    && fixed_opt(&b.shutter.custom)
            });
            let disable_fixed = p.disable_knob(i).is_none_or(|k| k.value.is_static());
            let shape = Shape {
                pad: n.sem.pad_frames(),
                blur: blur_fixed.then(|| p.blur_at(i, at0)),
                disabled: disable_fixed.then(|| p.disabled_at(i, at0)),
                reads_root: setup
                    .root_on_demand
                    .iter()
                    .any(|k| !k.hidden() && n.sem.reads_root.reads(&k.name)),
                varying: n.sem.varying,
                files: !n.sem.files.is_empty() && !n.knob_only,
                plain: n.sem.blur.is_none() && !n.sem.own_all && n.sem.pad_frames() == 0.0,
            };
            let at = *distinct.entry(shape.key()).or_insert_with(|| {
                p.parts.shapes.push(shape);
                (p.parts.shapes.len() - 1) as u32
            });
            p.shape_of.push(at);
        }
        let mut memo = Memo::new();
        let mut fixed = Vec::with_capacity(16);
        for (i, n) in setup.nodes.iter().enumerate() {
            let first_slot = p.slots.len();
            let first_hole = p.holes.len();
            for (j, k) in n.knobs.iter().enumerate().filter(|(_, k)| !k.hidden()) {
                let slot = Slot::new(j, k.value.is_static());
                if !slot.fixed() {
                    p.holes.push(j as u32);
                }
                p.slots.push(slot);
            }
            fixed.clear();
            // The fixed entries as written at any frame; the holes are filled per visit.
            let slots = &p.slots[first_slot..];
            put_knobs(
                &mut fixed,
                slots.iter().map(|s| (&*n.knobs[s.knob()].name, s.fixed())),
                |j, out| {
                    let s = slots[j];
                    if s.fixed() {
                        p.put_entry(Some(i), &n.knobs[s.knob()], at0, &mut memo, out);
                    }
                },
            );
            let t = Template {
                fixed: fixed[..16].try_into().expect("a digest is 16 bytes"),
                holes: first_hole as u32,
                slots: first_slot as u32,
            };
            p.template.push(t);
            // A record that is the same at every frame is hashed once, here.
            if let Some(d) = p.static_record_digest(i, at0, &mut memo) {
                p.static_record[i] = Some(d.to_le_bytes());
            }
        }
        p.holes.shrink_to_fit();
        p.slots.shrink_to_fit();
        p.shapes.shrink_to_fit();
        if setup.root.iter().all(|k| k.value.is_static() || k.hidden()) {
            p.static_root = Some(p.root_digest(at0, &mut memo));
        }
        if p.shift_invariant() {
            let walk = p.walk(0.0);
            p.blocks = p.static_blocks(&walk);
            p.keepable = walk.visits.iter().filter(|v| p.keepable(v)).count();
            p.walk0 = Some(walk);
        }
        p
    }

    /// The digest of `node`'s record when it is the same at every frame: every knob
    /// it records and every Root setting it reads is static, and nothing about the
    /// node (time stamp, files, padding, blur, being disabled) varies.
    fn static_record_digest(&self, node: usize, at0: Ctx, memo: &mut Memo<'s>) -> Option<u128> {
        let n = &self.setup.nodes[node];
        let all_static = self.plan(node).iter().all(|s| s.fixed())
            && self.root_reads(node).all(|k| k.value.is_static());
        let shape = self.shape_at(node);
        let frame_free =
            !n.sem.varying && n.sem.files.is_empty() && !n.sem.own_all && shape.pad == 0.0;
        (all_static && frame_free && shape.disabled.is_some() && shape.blur.is_some()).then(|| {
            let disabled = self.disabled(node, at0);
            self.record_digest(node, at0, disabled, &[], memo)
        })
    }

    /// Per block of `walk`'s visits: its digest when every record in it is the same
    /// at every frame (then so are its inputs, positions in a traversal that only
    /// shifts, and the block's bytes).
    fn static_blocks(&self, walk: &Walk) -> Vec<Option<u128>> {
        let mut bytes = Vec::new();
        walk.visits
            .chunks(BLOCK)
            .map(|visits| {
                bytes.clear();
                for v in visits {
                    let d = self.static_digest(v)?;
                    put_visit(&mut bytes, d, walk.inputs_of(v).iter().copied());
                }
                Some(block_digest(&bytes))
            })
            .collect()
    }

    /// The digest of `node`'s record when it is the same at every frame.
    fn static_record(&self, node: usize) -> Option<u128> {
        self.static_record[node].map(u128::from_le_bytes)
    }

    /// The digest of a visit's record when it is the same at every frame.
    pub(super) fn static_digest(&self, v: &Visit) -> Option<u128> {
        self.static_record(v.node as usize).filter(|_| v.has_frame)
    }

    // -------------------------------------------------------------------------------
    // Numbers that shape the traversal.

    pub(crate) fn knobs(&self, node: usize) -> NodeKnobs<'_, 's> {
        NodeKnobs { p: self, node }
    }

    fn disable_knob(&self, node: usize) -> Option<&'s SetupKnob> {
        let n = &self.setup.nodes[node];
        n.sem.disable.as_deref().and_then(|d| n.knob(d))
    }

    /// The shape of `node`, once decided ([`Prepared::new`] decides them in order).
    fn shape(&self, node: usize) -> Option<&Shape> {
        let at = *self.shape_of.get(node)?;
        self.shapes.get(at as usize)
    }

    /// The shape of `node`, decided already.
    fn shape_at(&self, node: usize) -> Shape {
        self.shapes[self.shape_of[node] as usize]
    }

    /// Whether `node` is disabled at `ctx`: only a disable that evaluates to a non-zero
    /// number counts (an expression that cannot be evaluated counts as enabled, so
    /// everything the node could read stays in the manifest).
    fn disabled(&self, node: usize, ctx: Ctx) -> bool {
        match self.shape(node).and_then(|s| s.disabled) {
            Some(d) => d,
            None => self.disabled_at(node, ctx),
        }
    }

    fn disabled_at(&self, node: usize, ctx: Ctx) -> bool {
        let n = &self.setup.nodes[node];
        match (n.knob_only, n.sem.disable.as_deref()) {
            (false, Some(d)) if n.knob(d).is_some() => matches!(
                self.knobs(node).num(&KnobRef::named(d), ctx),
                Num::One(v) if v != 0.0
            ),
            _ => false,
        }
    }

    /// The node's motion blur at `ctx`.
    fn blur(&self, node: usize, ctx: Ctx) -> Blur {
        match self.shape(node).and_then(|s| s.blur) {
            Some(b) => b,
            None => self.blur_at(node, ctx),
        }
    }

    fn blur_at(&self, node: usize, ctx: Ctx) -> Blur {
        let n = &self.setup.nodes[node];
        let Some(b) = n.sem.blur.as_ref() else {
            return Blur::Off;
        };
        let knobs = self.knobs(node);
        let above: f64 = b.above.parse().unwrap_or(0.0);
        let on = match knobs.num(&b.on, ctx) {
            Num::One(v) => v > above,
            Num::Choices(v) => v.iter().any(|&x| x > above),
            Num::Unknown => true,
        };
        match (on, time::shutter_window(&knobs, &b.shutter, ctx)) {
            (false, _) => Blur::Off,
            (true, Some((a, b))) => Blur::Window(a, b),
            (true, None) => Blur::Unknown,
        }
    }

    /// The context the node's own knobs are sampled in.
    fn knob_ctx(&self, node: usize, ctx: Ctx) -> Ctx {
        let shape = self.shape_at(node);
        if shape.plain {
            return ctx;
        }
        let n = &self.setup.nodes[node];
        if n.sem.own_all || ctx.is_all() {
            return Ctx::all();
        }
        let mut c = ctx;
        match self.blur(node, ctx) {
            Blur::Window(a, b) => c = c.widened(a, b),
            Blur::Unknown => return Ctx::all(),
            Blur::Off => {}
        }
        if shape.pad > 0.0 {
            c = c.widened(-shape.pad, shape.pad);
        }
        c
    }

    /// The contexts the node's inputs are read in.
    fn input_ctxs(&self, node: usize, ctx: Ctx) -> Vec<Ctx> {
        let n = &self.setup.nodes[node];
        let knobs = self.knobs(node);
        let mut out = time::input_ctxs(&n.sem.time, &knobs, ctx);
        let mut widen = |a: f64, b: f64| {
            for c in &mut out {
                if !c.is_all() {
                    *c = c.widened(a, b);
                }
            }
        };
        if n.sem.blur.as_ref().is_some_and(|b| b.inputs) {
            match self.blur(node, ctx) {
                Blur::Window(a, b) => widen(a, b),
                Blur::Unknown => return vec![Ctx::all()],
                Blur::Off => {}
            }
        }
        let pad = self.shape_at(node).pad;
        if pad > 0.0 {
            widen(-pad, pad);
        }
        out
    }

    /// The input slots the node reads at `ctx`.
    fn active_slots(&self, node: usize, ctx: Ctx) -> Vec<usize> {
        let n = &self.setup.nodes[node];
        let count = n.inputs.len();
        let all = || (0..count).collect::<Vec<_>>();
        if n.group && count == 2 {
            // An enabled group's image is its Output (input 0 is what it passes when
            // disabled, which `children` handles).
            return vec![1];
        }
        let knobs = self.knobs(node);
        match &n.sem.inputs {
            Inputs::All => all(),
            Inputs::Select { which } if count > 0 => match knobs.num(which, ctx) {
                Num::One(w) => select(w, count),
                Num::Choices(ws) => {
                    let mut s: Vec<usize> = ws.into_iter().flat_map(|w| select(w, count)).collect();
                    s.sort_unstable();
                    s.dedup();
                    s
                }
                Num::Unknown => all(),
            },
            Inputs::Blend { which } if count > 0 => {
                let masks = (n.masks as usize).min(count);
                let main = count - masks;
                let w = match knobs.num(which, ctx) {
                    Num::One(w) if main > 0 => w,
                    _ => return all(),
                };
                let w = w.clamp(0.0, (main - 1) as f64);
                let mut s = vec![w.floor() as usize, w.ceil() as usize];
                if masks > 0 && w > 0.0 {
                    // A mask limits the blend: at a whole `which` the input before it
                    // still shows where the mask is off.
                    if w.fract() == 0.0 {
                        s.push(w as usize - 1);
                    }
                    s.extend(main..count);
                }
                s.sort_unstable();
                s.dedup();
                s
            }
            _ => all(),
        }
    }

    /// Whether the traversal at frame f is the traversal at frame 0 with every context
    /// shifted by f (frames are whole numbers): nothing that shapes it varies with the
    /// frame, and every time rule moves with the frame.
    fn shift_invariant(&self) -> bool {
        self.setup.nodes.iter().all(|n| {
            let fixed = |k: &KnobRef| {
                k.names
                    .iter()
                    .filter_map(|name| n.knob(name))
                    .all(|k| k.value.is_static())
            };
            let fixed_opt = |k: &Option<KnobRef>| k.as_ref().is_none_or(fixed);
            let disable = n
                .sem
                .disable
                .as_deref()
                .and_then(|d| n.knob(d))
                .is_none_or(|k| k.value.is_static());
            let inputs = match &n.sem.inputs {
                Inputs::All => true,
                Inputs::Select { which } | Inputs::Blend { which } => fixed(which),
            };
            let blur = n.sem.blur.as_ref().is_none_or(|b| {
                fixed(&b.on)
                    && fixed_opt(&b.shutter.shutter)
                    && fixed_opt(&b.shutter.offset)
                    && fixed_opt(&b.shutter.custom)
            });
            let time = match &n.sem.time {
                Time::Local | Time::All | Time::Snap => true,
                Time::Offset { offset, reverse } => fixed_opt(offset) && fixed_opt(reverse),
                Time::Behind { behind } => fixed_opt(behind),
                Time::Samples { divisions, shutter } => {
                    fixed_opt(divisions)
                        && fixed_opt(&shutter.shutter)
                        && fixed_opt(&shutter.offset)
                        && fixed_opt(&shutter.custom)
                }
                _ => false,
            };
            disable && fixed_opt(&n.sem.disable_input) && inputs && blur && time
        })
    }

    /// Push the children of `node` at `ctx` onto `buf`: its active inputs in each
    /// input context (input 0 only when disabled), then its image links.
    fn children(&self, node: usize, ctx: Ctx, buf: &mut Vec<Option<(u32, Ctx)>>) -> bool {
        let n = &self.setup.nodes[node];
        if self.disabled(node, ctx) {
            let slot = match &n.sem.disable_input {
                None => Some(0),
                Some(k) => match self.knobs(node).num(k, ctx) {
                    Num::One(v) if v < 0.0 => None,
                    Num::One(v) if v.fract() == 0.0 && v < n.inputs.len() as f64 => {
                        Some(v as usize)
                    }
                    // Not one slot: every input, conservatively.
                    _ => {
                        buf.extend(n.inputs.iter().map(|i| i.map(|i| (i as u32, ctx))));
                        return true;
                    }
                },
            };
            let input = slot.and_then(|s| n.inputs.get(s).copied().flatten());
            buf.push(input.map(|i| (i as u32, ctx)));
            return true;
        }
        let ctxs = self.input_ctxs(node, ctx);
        for slot in self.active_slots(node, ctx) {
            for &c in &ctxs {
                buf.push(n.inputs[slot].map(|i| (i as u32, c)));
            }
        }
        buf.extend(n.links().iter().map(|&l| Some((l as u32, ctx))));
        false
    }

    /// The traversal of frame `frame`: iterative post-order from the output over
    /// (node, context) pairs.
    fn walk(&self, frame: f64) -> Walk {
        // Room for one visit of every node from the start: a deep graph's walk holds
        // tens of thousands, and growing by doubling would leave the smaller copies
        // behind as holes the allocator keeps.
        let nodes = self.setup.nodes.len();
        let mut walk = Walk {
            visits: Vec::with_capacity(nodes),
            inputs: Vec::with_capacity(nodes),
        };
        let Some(start) = self.setup.result else {
            return walk;
        };
        /// A node on the stack. Its context is the child entry that pushed it,
        /// `buf[from]` (the root's is `root`): a deep graph has tens of thousands of
        /// nodes on the stack at once, so each holds as little as it can.
        struct Pending {
            node: u32,
            from: u32,
            disabled: bool,
            /// Children are `buf[start..end]`; the next to visit is `buf[next]`.
            start: u32,
            end: u32,
            next: u32,
        }
        const ROOT: u32 = u32::MAX;
        let root = Ctx::at(frame);
        let at = |i: usize| u32::try_from(i).expect("fewer than 2^32 pending children");
        let mut seen = NodeCtxMap::new(nodes);
        let mut buf: Vec<Option<(u32, Ctx)>> = Vec::with_capacity(nodes);
        let mut stack: Vec<Pending> = Vec::with_capacity(nodes);
        let push = |node: u32,
                    from: u32,
                    ctx: Ctx,
                    buf: &mut Vec<_>,
                    stack: &mut Vec<Pending>,
                    seen: &mut NodeCtxMap| {
            let begin = at(buf.len());
            let disabled = self.children(node as usize, ctx, buf);
            seen.set(node, ctx.key(), ON_STACK);
            stack.push(Pending {
                node,
                from,
                disabled,
                start: begin,
                end: at(buf.len()),
                next: begin,
            });
        };
        push(start as u32, ROOT, root, &mut buf, &mut stack, &mut seen);
        while let Some(top) = stack.last_mut() {
            if top.next < top.end {
                let from = top.next;
                let c = buf[from as usize];
                top.next += 1;
                if let Some((node, ctx)) = c {
                    if seen.get(node, ctx.key()).is_none() {
                        push(node, from, ctx, &mut buf, &mut stack, &mut seen);
                    }
                }
                continue;
            }
            let p = stack.pop().expect("non-empty");
            let ctx = match p.from {
                ROOT => root,
                i => buf[i as usize].expect("a pushed child").1,
            };
            let first = walk.inputs.len() as u32;
            for c in &buf[p.start as usize..p.end as usize] {
                let pos = c
                    .and_then(|(n, ctx)| seen.get(n, ctx.key()))
                    .filter(|&v| v != ON_STACK);
                walk.inputs.push(pos);
            }
            buf.truncate(p.start as usize);
            seen.set(p.node, ctx.key(), walk.visits.len() as u32);
            walk.visits.push(Visit::new(
                p.node,
                ctx,
                p.disabled,
                (first, walk.inputs.len() as u32),
            ));
        }
        walk
    }

    /// The traversal of `frame`, and the shift to add to its contexts.
    pub(super) fn walk_for(&self, frame: f64) -> (std::borrow::Cow<'_, Walk>, f64) {
        match &self.walk0 {
            Some(w) => (std::borrow::Cow::Borrowed(w), frame),
            None => (std::borrow::Cow::Owned(self.walk(frame)), 0.0),
        }
    }

    // -------------------------------------------------------------------------------
    // Records.

    /// The on-demand Root settings the node's class reads.
    fn root_reads(&self, node: usize) -> impl Iterator<Item = &'s SetupKnob> + 's {
        let setup: &'s Setup = self.setup;
        let n = &setup.nodes[node];
        let list: &'s [SetupKnob] = match self.shape(node) {
            Some(s) if !s.reads_root => &[],
            _ => &setup.root_on_demand,
        };
        list.iter()
            .filter(move |k| !k.hidden() && n.sem.reads_root.reads(&k.name))
    }

    /// The digest of a node's record at a visit (see [`put_record_head`]): the bytes of
    /// knobs that cannot vary were written once in [`Prepared::new`]; the others are
    /// written from their entries.
    fn record_digest(
        &self,
        node: usize,
        ctx: Ctx,
        disabled: bool,
        files: &[FileRead],
        memo: &mut Memo<'s>,
    ) -> u128 {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let n = &self.setup.nodes[node];
        let kctx = self.knob_ctx(node, ctx);
        BUF.with(|b| {
            let mut out = b.borrow_mut();
            out.clear();
            let stamp = self.shape_at(node).varying.then(|| Stamp::of(ctx));
            put_record_head(&mut out, &n.class, disabled, stamp);
            if !disabled && kctx.frame.is_some() {
                // What cannot vary was hashed once: the fixed part's digest, then the
                // entries that vary.
                out.extend_from_slice(&self.template[node].fixed);
                for &j in self.holes_of(node) {
                    self.put_entry(Some(node), &n.knobs[j as usize], kctx, memo, &mut out);
                }
                self.put_root_reads(&mut out, node, kctx, memo);
                put_files(&mut out, files);
                return xxhash_rust::xxh3::xxh3_128(&out);
            }
            let knobs: Vec<(&'s SetupKnob, bool)> = if disabled {
                n.knobs
                    .iter()
                    .filter(|k| self.recorded(node, k, true))
                    .map(|k| (k, k.value.is_static()))
                    .collect()
            } else {
                self.plan(node)
                    .iter()
                    .map(|s| (&n.knobs[s.knob()], s.fixed()))
                    .collect()
            };
            put_knobs(
                &mut out,
                knobs.iter().map(|&(k, fixed)| (&*k.name, fixed)),
                |j, out| self.put_entry(Some(node), knobs[j].0, kctx, memo, out),
            );
            if disabled {
                put_count(&mut out, 0);
            } else {
                self.put_root_reads(&mut out, node, kctx, memo);
            }
            put_files(&mut out, files);
            xxhash_rust::xxh3::xxh3_128(&out)
        })
    }

    /// The bytes of the entry of knob `k` (of node `owner`, or Root) in `kctx`: a knob
    /// that reads no other knob is written part by part, without building its entry.
    fn put_entry(
        &self,
        owner: Option<usize>,
        k: &'s SetupKnob,
        kctx: Ctx,
        memo: &mut Memo<'s>,
        out: &mut Vec<u8>,
    ) {
        if k.refs().is_empty() {
            put_plain_entry(out, k, kctx);
        } else {
            self.entry(owner, k, kctx, memo).canon(out);
        }
    }

    /// The knobs `node` records when enabled.
    fn plan(&self, node: usize) -> &[Slot] {
        self.owned(&self.slots, node, |t| t.slots)
    }

    /// The positions of the knobs `node` records that vary with the frame.
    fn holes_of(&self, node: usize) -> &[u32] {
        self.owned(&self.holes, node, |t| t.holes)
    }

    /// The run of `all` that `node`'s template starts at `start`: up to where the next
    /// node's starts, or the end.
    fn owned<'a, T>(&self, all: &'a [T], node: usize, start: fn(&Template) -> u32) -> &'a [T] {
        let from = start(&self.template[node]) as usize;
        let to = self
            .template
            .get(node + 1)
            .map_or(all.len(), |t| start(t) as usize);
        &all[from..to]
    }

    /// The on-demand Root settings an enabled node's record holds: their count, then
    /// each name and entry at `kctx`.
    fn put_root_reads(&self, out: &mut Vec<u8>, node: usize, kctx: Ctx, memo: &mut Memo<'s>) {
        if !self.shape_at(node).reads_root {
            put_count(out, 0);
            return;
        }
        let root: Vec<&'s SetupKnob> = self.root_reads(node).collect();
        put_count(out, root.len());
        for k in root {
            put_knob_name(out, &k.name);
            self.entry(None, k, kctx, memo).canon(out);
        }
    }

    /// Whether knob `k` of `node` is recorded (hidden knobs and, on a disabled node,
    /// everything but the disable knob, are not).
    fn recorded(&self, node: usize, k: &SetupKnob, disabled: bool) -> bool {
        let sem = &self.setup.nodes[node].sem;
        !k.hidden()
            && (!disabled
                || sem.disable.as_deref() == Some(&k.name)
                || sem
                    .disable_input
                    .as_ref()
                    .is_some_and(|r| r.names.iter().any(|n| *n == k.name)))
    }

    /// A node's record at a visit.
    pub(super) fn record(
        &self,
        v: &Visit,
        inputs: Vec<Option<usize>>,
        probe: &dyn SourceProbe,
        memo: &mut Memo<'s>,
    ) -> Record<'s> {
        let node = v.node as usize;
        let n = &self.setup.nodes[node];
        let kctx = self.knob_ctx(node, v.ctx());
        let knobs = n
            .knobs
            .iter()
            .filter(|k| self.recorded(node, k, v.disabled))
            .map(|k| KnobEntry {
                name: &k.name,
                entry: (*self.entry(Some(node), k, kctx, memo)).clone(),
                fixed: k.value.is_static(),
            })
            .collect();
        let root = if v.disabled {
            Vec::new()
        } else {
            self.root_reads(node)
                .map(|k| KnobEntry {
                    name: &k.name,
                    entry: (*self.entry(None, k, kctx, memo)).clone(),
                    fixed: k.value.is_static(),
                })
                .collect()
        };
        Record {
            node,
            name: &n.name,
            class: &n.class,
            ctx: v.ctx(),
            inputs,
            disabled: v.disabled,
            stamp: n.sem.varying.then(|| Stamp::of(v.ctx())),
            knobs,
            root,
            files: if v.disabled {
                Vec::new()
            } else {
                self.node_files(node, v.ctx(), probe)
            },
        }
    }

    pub(super) fn root_entries(&self, ctx: Ctx, memo: &mut Memo<'s>) -> Vec<KnobEntry<'s>> {
        self.setup
            .root
            .iter()
            .filter(|k| !k.hidden())
            .map(|k| KnobEntry {
                name: &k.name,
                entry: (*self.entry(None, k, ctx, memo)).clone(),
                fixed: k.value.is_static(),
            })
            .collect()
    }

    fn root_digest(&self, ctx: Ctx, memo: &mut Memo<'s>) -> u128 {
        let root = self.root_entries(ctx, memo);
        root_digest(&root, self.setup.script.as_ref().map(script_digest))
    }

    /// The files every frame reads, looked at by `probe` the first time.
    pub fn root_files(&self, probe: &dyn SourceProbe) -> &[FileRead] {
        self.root_files.get_or_init(|| self.root_file_reads(probe))
    }

    /// The frame view at `frame`: every record typed, for display and explanations
    /// (hashing uses [`Prepared::frame_hash`], with the same digests).
    pub fn view(&self, frame: f64, probe: &dyn SourceProbe) -> FrameView<'s> {
        let mut memo = Memo::new();
        let root = self.root_entries(Ctx::at(frame), &mut memo);
        let (walk, shift) = self.walk_for(frame);
        let records = walk
            .visits
            .iter()
            .map(|v| {
                let v = v.shifted(shift);
                let inputs = walk
                    .inputs_of(&v)
                    .iter()
                    .map(|i| i.map(|i| i as usize))
                    .collect();
                self.record(&v, inputs, probe, &mut memo)
            })
            .collect();
        FrameView {
            frame,
            root,
            root_files: self.root_files(probe).to_vec(),
            records,
            script: self.setup.script.as_ref(),
        }
    }

    /// The frame hash of `frame`, and the files it read (by node and context).
    ///
    /// Equal to `self.view(frame, probe).hash()`, computed without building the records
    /// whose digests were computed once in [`Prepared::new`].
    pub fn frame_hash(&self, frame: f64, probe: &dyn SourceProbe) -> FrameHash {
        let mut memo = Memo::new();
        let mut sources = Vec::new();
        let root = match self.static_root {
            Some(d) => d,
            None => self.root_digest(Ctx::at(frame), &mut memo),
        };
        let (walk, shift) = self.walk_for(frame);
        let mut h = FrameBytes::new(root, self.root_files(probe), walk.visits.len());
        for v in &walk.visits {
            let (digest, files) = self.visit_digest(v, shift, probe, &mut memo);
            if !files.is_empty() {
                sources.push((v.node as usize, v.ctx().shifted(shift), files));
            }
            h.record(digest, walk.inputs_of(v).iter().copied());
        }
        (h.finish(), sources)
    }

    /// The digest of a visit's record with its contexts shifted by `shift`, and the
    /// files it read (none when its record is the same at every frame).
    pub(super) fn visit_digest(
        &self,
        v: &Visit,
        shift: f64,
        probe: &dyn SourceProbe,
        memo: &mut Memo<'s>,
    ) -> (u128, Vec<FileRead>) {
        let ctx = v.ctx().shifted(shift);
        let node = v.node as usize;
        if let (Some(d), Some(_)) = (self.static_record(node), ctx.frame) {
            return (d, Vec::new());
        }
        let files = if v.disabled || !self.shape_at(node).files {
            Vec::new()
        } else {
            self.node_files(node, ctx, probe)
        };
        let d = self.record_digest(node, ctx, v.disabled, &files, memo);
        (d, files)
    }

    /// Whether the class of `node` reads files (its records hold their fingerprints).
    pub(super) fn reads_files(&self, node: usize) -> bool {
        self.shape(node).is_none_or(|s| s.files)
    }

    /// The traversal of every frame up to a shift of time, when there is one.
    pub(super) fn walk0(&self) -> Option<&Walk> {
        self.walk0.as_ref()
    }

    /// Whether the digest of a visit of the shift-invariant traversal is computed per
    /// frame from the setup alone: its record can vary, and it reads no file (whose
    /// content is looked at anew each time). Those are the digests
    /// [`Prepared::frame_hashes_with`] keeps and reuses.
    pub(super) fn keepable(&self, v: &Visit) -> bool {
        let node = v.node as usize;
        (self.static_record(node).is_none() || !v.has_frame) && !self.reads_files(node)
    }

    /// The frame hashes of `frames` and the files each read: the same as
    /// [`Prepared::frame_hash`] of each frame, computed node by node rather than frame
    /// by frame when every frame's traversal is the same up to a shift.
    ///
    /// Why: a frame of a large script rewrites the records of every node with a knob
    /// that varies, and the data those records are written from (the knobs, their
    /// curves) is spread over the whole setup, far more than a cache holds. Taking a
    /// node's record for all of `frames` while its data is at hand, each frame
    /// gathering its own bytes block by block, reads that data once per batch of
    /// frames instead of once per frame. A block whose records are the same at every
    /// frame was hashed once by [`Prepared::new`]. Each frame keeps its own memo of
    /// knob entries, so every entry is built exactly as a frame on its own builds it.
    pub fn frame_hashes(&self, frames: &[f64], probe: &dyn SourceProbe) -> Vec<FrameHash> {
        self.frame_hashes_with(frames, probe, None, None)
    }

    /// [`Prepared::frame_hashes`], taking the digests of records and of blocks of
    /// visits `reuse` has from an earlier hashing, and keeping in `keep` the digest of
    /// every record `Prepared::keepable` (visit by visit, frame by frame) and of every
    /// block (block by block, frame by frame) for a later one (see [`super::reuse`]).
    /// Neither applies when the traversal is not the same at every frame.
    pub fn frame_hashes_with(
        &self,
        frames: &[f64],
        probe: &dyn SourceProbe,
        reuse: Option<&Reuse<'_>>,
        mut keep: Option<&mut Kept>,
    ) -> Vec<FrameHash> {
        let Some(walk) = &self.walk0 else {
            return frames.iter().map(|&f| self.frame_hash(f, probe)).collect();
        };
        let mut memos: Vec<Memo<'s>> = frames.iter().map(|_| Memo::new()).collect();
        let mut sources: Vec<Vec<(usize, Ctx, Vec<FileRead>)>> = vec![Vec::new(); frames.len()];
        let root_files = self.root_files(probe);
        let mut out: Vec<FrameBytes> = frames
            .iter()
            .zip(&mut memos)
            .map(|(&f, memo)| {
                let root = match self.static_root {
                    Some(d) => d,
                    None => self.root_digest(Ctx::at(f), memo),
                };
                FrameBytes::new(root, root_files, walk.visits.len())
            })
            .collect();
        let reuse_at = reuse.and_then(|r| Some((r, r.columns(frames)?)));
        let mut reused = Vec::with_capacity(frames.len());
        if let Some(k) = keep.as_deref_mut() {
            k.rows.reserve(self.keepable * frames.len());
            k.blocks.reserve(self.blocks.len() * frames.len());
        }
        // Per frame: the bytes of the block being hashed.
        let mut bytes: Vec<Vec<u8>> = vec![Vec::new(); frames.len()];
        for (b, visits) in walk.visits.chunks(BLOCK).enumerate() {
            let first = b * BLOCK;
            if let Some(d) = self.blocks.get(b).copied().flatten() {
                // The same bytes at every frame: no record in it is kept.
                for o in &mut out {
                    o.block(d);
                }
                if let Some(k) = keep.as_deref_mut() {
                    k.blocks.extend(std::iter::repeat_n(d, frames.len()));
                }
                continue;
            }
            if let Some((r, cols)) = &reuse_at {
                if self.reuse_block(b, visits, first, r, cols, keep.as_deref_mut(), &mut reused) {
                    for (o, &d) in out.iter_mut().zip(&reused) {
                        o.block(d);
                    }
                    if let Some(k) = keep.as_deref_mut() {
                        k.blocks.extend_from_slice(&reused);
                    }
                    continue;
                }
            }
            bytes.iter_mut().for_each(Vec::clear);
            for (at, v) in (first..).zip(visits) {
                let node = v.node as usize;
                let inputs = walk.inputs_of(v).iter().copied();
                if let Some(d) = self.static_digest(v) {
                    for b in &mut bytes {
                        put_visit(b, d, inputs.clone());
                    }
                    continue;
                }
                let kept = match keep.as_deref_mut() {
                    Some(k) if self.keepable(v) => Some(&mut k.rows),
                    _ => None,
                };
                if reuse_at
                    .as_ref()
                    .is_some_and(|(r, cols)| r.digests(at, cols, &mut reused))
                {
                    for (b, &d) in bytes.iter_mut().zip(&reused) {
                        put_visit(b, d, inputs.clone());
                    }
                    if let Some(k) = kept {
                        k.extend_from_slice(&reused);
                    }
                    continue;
                }
                let mut kept = kept;
                for (i, &f) in frames.iter().enumerate() {
                    let ctx = v.ctx().shifted(f);
                    let files = if v.disabled || !self.shape_at(node).files {
                        Vec::new()
                    } else {
                        self.node_files(node, ctx, probe)
                    };
                    let d = self.record_digest(node, ctx, v.disabled, &files, &mut memos[i]);
                    if !files.is_empty() {
                        sources[i].push((node, ctx, files));
                    }
                    if let Some(k) = kept.as_deref_mut() {
                        k.push(d);
                    }
                    put_visit(&mut bytes[i], d, inputs.clone());
                }
            }
            for (o, b) in out.iter_mut().zip(&bytes) {
                let d = block_digest(b);
                o.block(d);
                if let Some(k) = keep.as_deref_mut() {
                    k.blocks.push(d);
                }
            }
        }
        out.into_iter()
            .zip(sources)
            .map(|(o, s)| (o.finish(), s))
            .collect()
    }

    /// Whether block `b` (`visits`, from position `first`) takes the digests `reuse`
    /// has for it at every frame of `cols`, which are then in `out`; the digests of
    /// its kept records are pushed onto `keep` as well (all of them, or none).
    #[allow(clippy::too_many_arguments)]
    fn reuse_block(
        &self,
        b: usize,
        visits: &[Visit],
        first: usize,
        reuse: &Reuse<'_>,
        cols: &Columns,
        keep: Option<&mut Kept>,
        out: &mut Vec<u128>,
    ) -> bool {
        if !reuse.block_digests(b, cols, out) {
            return false;
        }
        let Some(k) = keep else {
            return true;
        };
        let len = k.rows.len();
        let mut row = Vec::with_capacity(cols.len());
        for (at, v) in (first..).zip(visits) {
            if !self.keepable(v) {
                continue;
            }
            if !reuse.digests(at, cols, &mut row) {
                k.rows.truncate(len);
                return false;
            }
            k.rows.extend_from_slice(&row);
        }
        true
    }

    // -------------------------------------------------------------------------------
    // Knob entries.

    /// The entry of knob `k` (of node `owner`, or Root) in `ctx`, with the values it
    /// reads attached.
    ///
    /// Reads are resolved with an explicit stack (a knob may read a knob that reads
    /// another…), memoised per frame; a read that loops back is recorded as a cycle.
    fn entry(
        &self,
        owner: Option<usize>,
        k: &'s SetupKnob,
        ctx: Ctx,
        memo: &mut Memo<'s>,
    ) -> Rc<Entry<'s>> {
        let key = memo_key(owner, k, ctx);
        if let Some(e) = memo.get(&key) {
            return e.clone();
        }
        if k.refs().is_empty() {
            let e = Rc::new(plain_entry(k, ctx));
            memo.insert(key, e.clone());
            return e;
        }
        // Work items: (owner, knob, ctx, children pushed).
        let mut stack: Vec<(Option<usize>, &'s SetupKnob, Ctx, bool)> =
            vec![(owner, k, ctx, false)];
        let mut active: Vec<(usize, usize, CtxKey)> = Vec::new();
        while let Some((o, knob, c, expanded)) = stack.pop() {
            let key = memo_key(o, knob, c);
            if !expanded {
                if memo.contains_key(&key) || active.contains(&key) {
                    continue;
                }
                active.push(key);
                stack.push((o, knob, c, true));
                for r in knob.refs() {
                    if let Some((o2, k2, c2)) = self.target(r, c) {
                        let k2key = memo_key(o2, k2, c2);
                        if !memo.contains_key(&k2key) && !active.contains(&k2key) {
                            stack.push((o2, k2, c2, false));
                        }
                    }
                }
                continue;
            }
            active.retain(|a| *a != key);
            let mut e = plain_entry(knob, c);
            let mut reads: Vec<Read<'s>> = std::mem::take(&mut e.reads);
            reads.extend(knob.refs().iter().map(|r| Read {
                path: &r.text,
                value: self.read_value(r, c, memo),
            }));
            reads.sort_by(|a, b| a.path.cmp(b.path));
            reads.dedup();
            e.reads = reads;
            e.digest = entry_digest(&e);
            memo.insert(key, Rc::new(e));
        }
        memo.get(&key)
            .cloned()
            .unwrap_or_else(|| Rc::new(plain_entry(k, ctx)))
    }

    /// What a reference reads: the knob and the context it is read in.
    fn target(&self, r: &ResolvedRef, ctx: Ctx) -> Option<(Option<usize>, &'s SetupKnob, Ctx)> {
        let c = if r.other_frames { Ctx::all() } else { ctx };
        match &r.target {
            Target::Knob { node, knob } => self.setup.nodes[*node]
                .knob(knob)
                .map(|k| (Some(*node), k, c)),
            Target::Root { knob } => self.setup.root_knob(knob).map(|k| (None, k, c)),
            _ => None,
        }
    }

    fn read_value(&self, r: &ResolvedRef, ctx: Ctx, memo: &Memo<'s>) -> ReadValue<'s> {
        match (&r.target, self.target(r, ctx)) {
            (_, Some((o, k, c))) => match memo.get(&memo_key(o, k, c)) {
                Some(e) => ReadValue::Knob(e.clone()),
                None => ReadValue::Cycle,
            },
            (Target::Knob { node, .. }, None) => ReadValue::Default {
                class: &self.setup.nodes[*node].class,
            },
            (Target::Image, _) => ReadValue::Image,
            (Target::Root { .. }, None) => ReadValue::RootDefault,
            (Target::Unresolved, _) => ReadValue::Unresolved,
        }
    }
}

/// `Switch`-like selection: `which` clamped to the inputs; a fractional value reads
/// both whole inputs around it.
fn select(w: f64, count: usize) -> Vec<usize> {
    let w = w.clamp(0.0, (count - 1) as f64);
    let mut s = vec![w.floor() as usize, w.ceil() as usize];
    s.dedup();
    s
}

/// A knob's entry without the knobs it reads (the environment variables it reads
/// included).
fn plain_entry(k: &SetupKnob, ctx: Ctx) -> Entry<'_> {
    let value: FrameValue<'_> = match ctx.frame {
        Some(f) => k.value.at_window(f, ctx.lo, ctx.hi),
        None => k.value.over(ctx.lo, ctx.hi),
    };
    let stamp = value.time_dependent.then(|| Stamp::of(ctx));
    let mut e = Entry {
        value,
        stamp,
        reads: env_reads(k),
        digest: 0,
    };
    e.digest = entry_digest(&e);
    e
}

/// The environment variables a knob reads, as reads (`$env(NAME)`).
fn env_reads(k: &SetupKnob) -> Vec<Read<'_>> {
    k.env()
        .iter()
        .map(|(name, v)| Read {
            path: name,
            value: ReadValue::Env(v.as_deref()),
        })
        .collect()
}

fn entry_digest(e: &Entry<'_>) -> u128 {
    with_buf(|out| e.canon(out))
}

/// xxh3-128 of what `write` writes, in a buffer reused per thread (entries: a record
/// has its own buffer, and may need an entry's digest while writing).
fn with_buf(write: impl FnOnce(&mut Vec<u8>)) -> u128 {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|b| {
        let mut out = b.borrow_mut();
        out.clear();
        write(&mut out);
        xxhash_rust::xxh3::xxh3_128(&out)
    })
}

/// The bytes of a knob's entry when it reads no other knob: those of
/// `plain_entry(k, ctx)`, written part by part without building the entry (the
/// per-frame hash path).
fn put_plain_entry(out: &mut Vec<u8>, k: &SetupKnob, ctx: Ctx) {
    thread_local! {
        /// The keys influencing a curve part, reused (this runs per animated knob and
        /// frame), and the interval between keys each of a few curves was last found
        /// in, by address: a hint the curve checks (a stale one costs a search).
        static KEYS: std::cell::RefCell<(Vec<usize>, [usize; 16])> =
            const { std::cell::RefCell::new((Vec::new(), [0; 16])) };
    }
    let v = &k.value;
    let (frame, lo, hi) = match ctx.frame {
        Some(f) => (Some(f), ctx.lo.min(f), ctx.hi.max(f)),
        None => (None, ctx.lo, ctx.hi),
    };
    let parts = v.parts();
    put_value_head(out, parts.len());
    for p in parts.iter() {
        match p {
            // What `part_at` gives, written directly.
            Part::Plain(r) => put_text(out, b'P', &v.text()[r.clone()]),
            // What `part_at` gives, written without gathering the keys.
            Part::Curve { curve, .. } if curve.is_exact() => KEYS.with(|cell| {
                let (keys, hints) = &mut *cell.borrow_mut();
                let slot =
                    (std::ptr::from_ref::<crate::eval::Curve>(curve) as usize >> 4) % hints.len();
                let (value, found) = curve.influence_and_value(lo, hi, frame, hints[slot], keys);
                hints[slot] = found;
                put_curve(
                    out,
                    &curve.flags,
                    keys.iter().map(|&i| curve.keys()[i].canonical()),
                    value,
                );
            }),
            _ => put_part(out, &v.part_at(p, frame, lo, hi)),
        }
    }
    put_value_tail(out, v.references(), v.time_dependent(), v.unresolvable());
    v.time_dependent().then(|| Stamp::of(ctx)).canon(out);
    put_reads(out, &env_reads(k));
}
