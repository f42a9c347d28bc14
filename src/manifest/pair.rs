//! Two prepared setups compared frame by frame, for explanations.
//!
//! Why this exists: an outdated frame is explained by comparing its typed view as
//! recorded with its view now ([`crate::check::explain`]). A view holds a record per
//! visited node, so two full views cost as much as the whole setup, for every outdated
//! frame: at 50,000 nodes one knob edit outdating 1,000 frames took minutes. Yet almost
//! every record is the same on both sides.
//!
//! A [`PreparedPair`] works out once per pair of setups which nodes have the same
//! content in both (`same_content`: class, semantics, knobs, what their expressions
//! read, transitively), and which visits of the two traversals match (same node name,
//! same time context). Per frame it then builds *sparse* views: full records only for
//! the visits that can differ — visits the other side does not have, visits whose class,
//! disabled state or input names differ, and visits of nodes whose content differs or
//! that read files, when their record digests (the ones the frame hash is made of)
//! differ — and, for the inputs of those, bare stubs that carry only a name. A record
//! left out is byte for byte the same on both sides, and [`crate::check::explain`]
//! gives no reason for equal records, so the sparse views give the reasons the full
//! views give. When they give none (the frames differ only in when or in which order
//! nodes are visited), the caller falls back to the full views, whose
//! context reasons need every record.
//!
//! When both setups traverse every frame the same way up to a shift of time (the
//! common case), matching the visits is done once for all frames, so a frame costs
//! what the changed nodes cost.

use super::ctx::NodeCtxMap;
use super::frame::{Memo, Prepared, Visit, Walk};
use super::setup::{ResolvedRef, Setup, SetupKnob, SetupNode, Target};
use super::source::SourceProbe;
use super::view::{FrameView, Record};
use super::Ctx;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Two prepared setups, the one a frame was recorded with and the one it has now.
pub struct PreparedPair<'a, 's> {
    old: &'a Prepared<'s>,
    new: &'a Prepared<'s>,
    /// Per node of the new setup: the old setup's node of the same name.
    named: Vec<Option<u32>>,
    /// Per node of the new setup: that node has the same content, so their records in
    /// equal contexts are equal (files aside).
    same: Vec<bool>,
    /// The visits matched once for every frame, when both traversals only shift.
    shifted: OnceLock<Alignment>,
}

/// How the visits of two traversals correspond, and which can differ.
struct Alignment {
    /// Per old visit: the new visit of the same node name and context.
    of_old: Vec<Option<u32>>,
    /// Per new visit: the old visit of the same node name and context.
    of_new: Vec<Option<u32>>,
    /// New visits whose records differ whatever their digests: no old visit matches,
    /// or class, disabled state or input names differ.
    differ: Vec<u32>,
    /// Matched (new, old) visits whose records can differ: their digests decide.
    compare: Vec<(u32, u32)>,
    /// Old visits no new visit matches.
    gone: Vec<u32>,
}

impl<'a, 's> PreparedPair<'a, 's> {
    /// Compare `old` (a frame's setup as recorded) with `new` (as it is now).
    pub fn new(old: &'a Prepared<'s>, new: &'a Prepared<'s>) -> Self {
        let named = named_nodes(old.setup, new.setup);
        PreparedPair {
            same: matched_by(old.setup, new.setup, &named)
                .iter()
                .map(Option::is_some)
                .collect(),
            named,
            old,
            new,
            shifted: OnceLock::new(),
        }
    }

    /// The sparse views of `frame` on both sides (see the module docs): the old side's
    /// files as `old_probe` gives them (recorded), the new side's as `new_probe` does.
    pub fn views(
        &self,
        frame: f64,
        old_probe: &dyn SourceProbe,
        new_probe: &dyn SourceProbe,
    ) -> (FrameView<'s>, FrameView<'s>) {
        let (wo, so) = self.old.walk_for(frame);
        let (wn, sn) = self.new.walk_for(frame);
        let per_frame;
        let al = match (&wo, &wn) {
            (Cow::Borrowed(o), Cow::Borrowed(n)) if so == sn => {
                self.shifted.get_or_init(|| self.align(o, 0.0, n, 0.0))
            }
            _ => {
                per_frame = self.align(&wo, so, &wn, sn);
                &per_frame
            }
        };
        let (mut mo, mut mn) = (Memo::new(), Memo::new());
        // Visits with full records: true; stubs: false.
        let mut inc_o: BTreeMap<u32, bool> = BTreeMap::new();
        let mut inc_n: BTreeMap<u32, bool> = BTreeMap::new();
        let mut full = |b: u32, inc_o: &mut BTreeMap<u32, bool>| {
            inc_n.insert(b, true);
            if let Some(a) = al.of_new[b as usize] {
                inc_o.insert(a, true);
            }
        };
        for &b in &al.differ {
            full(b, &mut inc_o);
        }
        for &(b, a) in &al.compare {
            let (va, vb) = (&wo.visits[a as usize], &wn.visits[b as usize]);
            let (da, _) = self.old.visit_digest(va, so, old_probe, &mut mo);
            let (db, _) = self.new.visit_digest(vb, sn, new_probe, &mut mn);
            if da != db {
                full(b, &mut inc_o);
            }
        }
        for &a in &al.gone {
            inc_o.insert(a, true);
        }
        // Stubs for the inputs of full records, on both sides so that they match.
        let stubs = |walk: &Walk, inc: &BTreeMap<u32, bool>| -> Vec<u32> {
            inc.iter()
                .filter(|(_, &f)| f)
                .flat_map(|(&v, _)| walk.inputs_of(&walk.visits[v as usize]).iter().flatten())
                .copied()
                .collect()
        };
        let (so_in, sn_in) = (stubs(&wo, &inc_o), stubs(&wn, &inc_n));
        for a in so_in {
            inc_o.entry(a).or_insert(false);
            if let Some(b) = al.of_old[a as usize] {
                inc_n.entry(b).or_insert(false);
            }
        }
        for b in sn_in {
            inc_n.entry(b).or_insert(false);
            if let Some(a) = al.of_new[b as usize] {
                inc_o.entry(a).or_insert(false);
            }
        }
        let vo = sparse_view(self.old, frame, &wo, so, &inc_o, old_probe, &mut mo);
        let vn = sparse_view(self.new, frame, &wn, sn, &inc_n, new_probe, &mut mn);
        (vo, vn)
    }

    /// Match the visits of `wo` (shifted by `so`) and `wn` (by `sn`) by node name and
    /// context, and sort out which can differ.
    fn align(&self, wo: &Walk, so: f64, wn: &Walk, sn: f64) -> Alignment {
        let (old, new) = (self.old.setup, self.new.setup);
        // Old visits by node and context; a new visit looks up the old node of its name.
        let mut index = NodeCtxMap::new(old.nodes.len());
        for (i, v) in wo.visits.iter().enumerate() {
            index.set(v.node, v.ctx().shifted(so).key(), i as u32);
        }
        let mut of_old = vec![None; wo.visits.len()];
        let mut of_new = vec![None; wn.visits.len()];
        let (mut differ, mut compare) = (Vec::new(), Vec::new());
        let input_name = |s: &'s Setup, w: &Walk, i: &Option<u32>| -> Option<&'s str> {
            i.map(|i| s.nodes[w.visits[i as usize].node as usize].name.as_str())
        };
        let same_inputs = |va: &Visit, vb: &Visit| {
            let (ia, ib) = (wo.inputs_of(va), wn.inputs_of(vb));
            ia.len() == ib.len()
                && ia
                    .iter()
                    .zip(ib)
                    .all(|(x, y)| input_name(old, wo, x) == input_name(new, wn, y))
        };
        for (b, vb) in wn.visits.iter().enumerate() {
            let found =
                self.named[vb.node as usize].and_then(|o| index.get(o, vb.ctx().shifted(sn).key()));
            let Some(a) = found else {
                differ.push(b as u32);
                continue;
            };
            of_new[b] = Some(a);
            of_old[a as usize] = Some(b as u32);
            let va = &wo.visits[a as usize];
            let (no, nn) = (&old.nodes[va.node as usize], &new.nodes[vb.node as usize]);
            if no.class != nn.class || va.disabled != vb.disabled || !same_inputs(va, vb) {
                differ.push(b as u32);
            } else if !self.same[vb.node as usize]
                || self.old.reads_files(va.node as usize)
                || self.new.reads_files(vb.node as usize)
            {
                compare.push((b as u32, a));
            }
        }
        let gone: Vec<u32> = (0..wo.visits.len() as u32)
            .filter(|&a| of_old[a as usize].is_none())
            .collect();
        Alignment {
            of_old,
            of_new,
            differ,
            compare,
            gone,
        }
    }
}

/// The view of `frame` holding full records for the visits marked `true` in `inc` and
/// stubs (name, class, context, no inputs and no knobs) for those marked `false`.
fn sparse_view<'s>(
    p: &Prepared<'s>,
    frame: f64,
    walk: &Walk,
    shift: f64,
    inc: &BTreeMap<u32, bool>,
    probe: &dyn SourceProbe,
    memo: &mut Memo<'s>,
) -> FrameView<'s> {
    let setup: &'s Setup = p.setup;
    let pos: HashMap<u32, usize> = inc.keys().enumerate().map(|(i, &v)| (v, i)).collect();
    let records = inc
        .iter()
        .map(|(&v, &full)| {
            let visit = walk.visits[v as usize].shifted(shift);
            if full {
                let inputs = walk
                    .inputs_of(&walk.visits[v as usize])
                    .iter()
                    .map(|i| i.and_then(|i| pos.get(&i).copied()))
                    .collect();
                p.record(&visit, inputs, probe, memo)
            } else {
                let n = &setup.nodes[visit.node as usize];
                Record {
                    node: visit.node as usize,
                    name: &n.name,
                    class: &n.class,
                    ctx: visit.ctx(),
                    inputs: Vec::new(),
                    disabled: visit.disabled,
                    stamp: None,
                    knobs: Vec::new(),
                    root: Vec::new(),
                    files: Vec::new(),
                }
            }
        })
        .collect();
    FrameView {
        frame,
        root: p.root_entries(Ctx::at(frame), memo),
        root_files: p.root_files(probe).to_vec(),
        records,
        script: setup.script.as_ref(),
    }
}

/// Per node of `new`: the node of `old` of the same name, when their records are equal
/// in equal contexts, files aside. Its own content must be the same
/// ([`same_content`]), and so must that of every node its expressions read, and the
/// Root settings it reads.
pub(super) fn matched_nodes(old: &Setup, new: &Setup) -> Vec<Option<u32>> {
    matched_by(old, new, &named_nodes(old, new))
}

/// For each node of `new`, the node of `old` of the same name (the last of that name,
/// as a lookup by name finds).
fn named_nodes(old: &Setup, new: &Setup) -> Vec<Option<u32>> {
    let by_name: HashMap<&str, u32> = old
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i as u32))
        .collect();
    new.nodes
        .iter()
        .map(|n| by_name.get(n.name.as_str()).copied())
        .collect()
}

/// [`matched_nodes`] with the old node of each new node's name given (`named`).
fn matched_by(old: &Setup, new: &Setup, named: &[Option<u32>]) -> Vec<Option<u32>> {
    if old.rules != new.rules || old.profile != new.profile {
        return vec![None; new.nodes.len()];
    }
    let root_same = knobs_same(old, &old.root_on_demand, new, &new.root_on_demand)
        && knobs_same(old, &old.root, new, &new.root);
    let mut same: Vec<Option<u32>> = new
        .nodes
        .iter()
        .zip(named)
        .map(|(n, &i)| {
            let o = &old.nodes[i? as usize];
            (same_content(old, o, new, n)
                && (root_same || !reads_root(new, n) && !reads_root(old, o)))
            .then_some(i?)
        })
        .collect();
    // A node reading a knob of a node whose content differs reads another value.
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); new.nodes.len()];
    for (j, n) in new.nodes.iter().enumerate() {
        for r in n.knobs.iter().flat_map(|k| k.refs()) {
            if let Target::Knob { node, .. } = r.target {
                readers[node].push(j);
            }
        }
    }
    let mut todo: Vec<usize> = (0..same.len()).filter(|&j| same[j].is_none()).collect();
    while let Some(t) = todo.pop() {
        for &j in &readers[t] {
            if same[j].take().is_some() {
                todo.push(j);
            }
        }
    }
    same
}

/// Whether a node's records read Root settings: by expression, or by class.
fn reads_root(s: &Setup, n: &SetupNode) -> bool {
    n.knobs
        .iter()
        .flat_map(|k| k.refs())
        .any(|r| matches!(r.target, Target::Root { .. }))
        || s.root_on_demand
            .iter()
            .any(|k| n.sem.reads_root.reads(&k.name))
}

/// Whether two nodes of two setups have the same content: everything their records are
/// made of, with positions in the setups compared by the names they stand for.
fn same_content(os: &Setup, o: &SetupNode, ns: &Setup, n: &SetupNode) -> bool {
    fn name<'a>(s: &'a Setup, p: &Option<usize>) -> Option<&'a str> {
        p.map(|p| s.nodes[p].name.as_str())
    }
    o.class == n.class
        && (std::sync::Arc::ptr_eq(&o.sem, &n.sem) || o.sem == n.sem)
        && o.masks == n.masks
        && o.knob_only == n.knob_only
        && o.group == n.group
        && o.extras == n.extras
        && o.inputs.len() == n.inputs.len()
        && o.inputs
            .iter()
            .zip(&n.inputs)
            .all(|(a, b)| name(os, a) == name(ns, b))
        && o.links().len() == n.links().len()
        && o.links()
            .iter()
            .zip(n.links())
            .all(|(a, b)| name(os, &Some(*a)) == name(ns, &Some(*b)))
        && knobs_same(os, &o.knobs, ns, &n.knobs)
}

/// Whether two lists of setup knobs are the same: names, texts, what they read.
fn knobs_same(os: &Setup, o: &[SetupKnob], ns: &Setup, n: &[SetupKnob]) -> bool {
    o.len() == n.len()
        && o.iter().zip(n).all(|(a, b)| {
            a.name == b.name
                && a.text() == b.text()
                && a.hidden() == b.hidden()
                && a.env() == b.env()
                && a.refs().len() == b.refs().len()
                && a.refs()
                    .iter()
                    .zip(b.refs())
                    .all(|(x, y)| ref_same(os, x, ns, y))
        })
}

fn ref_same(os: &Setup, a: &ResolvedRef, ns: &Setup, b: &ResolvedRef) -> bool {
    a.text == b.text
        && a.other_frames == b.other_frames
        && match (&a.target, &b.target) {
            (Target::Knob { node: x, knob: k }, Target::Knob { node: y, knob: l }) => {
                k == l && os.nodes[*x].name == ns.nodes[*y].name
            }
            (x, y) => x == y,
        }
}
