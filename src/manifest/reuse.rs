//! Record and block digests kept from one hashing for the next, in a long-lived
//! process.
//!
//! Why: a host panel checks the cache again after every edit. At 50,000 nodes most of a
//! check is computing, frame by frame, the records of the nodes whose knobs are
//! animated, then hashing each frame's visits; an edit changes one node. [`Digests`]
//! keeps, with the setup they came from, two things of one hashing: the per-frame
//! digests of the records that vary (the ones `Prepared::keepable` names: computed per
//! frame from the setup alone, no file read), and the per-frame digests of every block
//! of visits (see [`super::view::FrameBytes`]). The next hashing, over the setup
//! rebuilt from the edited script, takes a visit's record digests from it when:
//!
//! * the node has the same content as the old node its name finds (the last of that
//!   name), and so has every node its expressions read, and the Root settings it reads
//!   ([`super::pair`]'s `matched_nodes`, the rule that also decides which records
//!   explanations skip): its record in a given context is then the same bytes;
//! * the visit is the same: that old node's visit in the same time context, with the
//!   same disabled state, in the shift-invariant traversal both hashings walk (kept by
//!   node position, so that a lookup hashes no name);
//! * every frame asked for was hashed before.
//!
//! and takes a whole block's digests when, besides, both traversals have as many
//! visits and, at every position of the block, the visit has the same inputs
//! (positions) in both, and its record is the same bytes in both at every frame: the
//! same record digest that cannot vary in both, or a record whose digests are taken as
//! above from the visit at that very position. The block is then the same bytes at
//! every frame, so it has the same digest. A frame whose blocks all come from the
//! earlier hashing hashes a few kilobytes; the records of the other blocks come from
//! it where they can.
//!
//! Everything else is computed, so a reused frame hash is the hash computed from
//! scratch (tests/render_views.rs checks it against cold hashing after random edits).
//! Records reading files are never kept, nor the blocks holding them: their content is
//! looked at anew.

use super::ctx::NodeCtxMap;
use super::frame::{Prepared, Walk};
use super::pair::matched_nodes;
use super::setup::Setup;
use super::view::BLOCK;
use std::collections::HashMap;
use std::sync::Arc;

/// What one batch of frames kept for a later hashing ([`Prepared::frame_hashes_with`]):
/// the digests of its kept records, row by row (a row: one visit, one digest per frame
/// of the batch), then those of its blocks likewise.
#[derive(Debug, Default)]
pub struct Kept {
    pub(super) rows: Vec<u128>,
    pub(super) blocks: Vec<u128>,
}

/// What the record at a position of a traversal is, for reusing its block.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// The same at every frame, with this digest.
    Fixed(u128),
    /// Kept, in this row.
    Row(u32),
    /// Neither: its block is computed.
    Other,
}

/// The digests of the varying records and of the blocks of one hashing, and the setup
/// they came from.
pub struct Digests {
    setup: Arc<Setup>,
    /// Row of each kept visit, by node position in `setup` and context.
    rows: NodeCtxMap,
    /// Whether the visit of each row was disabled.
    disabled: Vec<bool>,
    /// The traversal hashed: its visits' inputs, and what each record was.
    walk: Walk,
    slots: Vec<Slot>,
    /// Where each frame's digests are: (batch, position in it), by the frame's bits.
    cols: HashMap<u64, (u32, u32)>,
    /// Per batch of frames hashed together: its frame count and what it kept.
    batches: Vec<(usize, Kept)>,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("rows", &self.disabled.len())
            .field("frames", &self.cols.len())
            .finish()
    }
}

impl Digests {
    /// Gather what `Prepared::frame_hashes_with` kept for each batch of `frames`
    /// (`kept[b]` for `frames[b]`) while hashing `prepared`, which was made from
    /// `setup`. `None` when the traversal is not shift-invariant (nothing kept).
    pub fn gather(
        prepared: &Prepared<'_>,
        setup: Arc<Setup>,
        batches: Vec<(Vec<f64>, Kept)>,
    ) -> Option<Digests> {
        let walk = prepared.walk0()?;
        let mut rows = NodeCtxMap::new(setup.nodes.len());
        let mut disabled = Vec::new();
        let mut slots: Vec<Slot> = Vec::with_capacity(walk.visits.len());
        for v in &walk.visits {
            if let Some(d) = prepared.static_digest(v) {
                slots.push(Slot::Fixed(d));
                continue;
            }
            if !prepared.keepable(v) {
                slots.push(Slot::Other);
                continue;
            }
            // A traversal visits a node once per context: a repeat would make two rows
            // one, so nothing is kept.
            if rows.get(v.node, v.ctx().key()).is_some() {
                return None;
            }
            let row = disabled.len() as u32;
            rows.set(v.node, v.ctx().key(), row);
            disabled.push(v.disabled);
            slots.push(Slot::Row(row));
        }
        let blocks = walk.visits.len().div_ceil(BLOCK);
        let mut cols = HashMap::new();
        let mut kept = Vec::with_capacity(batches.len());
        for (b, (frames, k)) in batches.into_iter().enumerate() {
            if k.rows.len() != disabled.len() * frames.len()
                || k.blocks.len() != blocks * frames.len()
            {
                return None; // not gathered as documented: keep nothing
            }
            for (i, f) in frames.iter().enumerate() {
                cols.insert(f.to_bits(), (b as u32, i as u32));
            }
            kept.push((frames.len(), k));
        }
        Some(Digests {
            setup,
            rows,
            disabled,
            walk: walk.clone(),
            slots,
            cols,
            batches: kept,
        })
    }

    /// What the hashing of `prepared` (made from the setup `new`) can take from these
    /// digests.
    pub fn reuse<'d>(&'d self, prepared: &Prepared<'_>, new: &Setup) -> Option<Reuse<'d>> {
        let walk = prepared.walk0()?;
        // Each new node's match in the old setup, when its content is the same.
        let same = matched_nodes(&self.setup, new);
        let from: Vec<Option<u32>> = walk
            .visits
            .iter()
            .map(|v| {
                let old = same[v.node as usize]?;
                if !prepared.keepable(v) {
                    return None;
                }
                let row = self.rows.get(old, v.ctx().key())?;
                (self.disabled[row as usize] == v.disabled).then_some(row)
            })
            .collect();
        // A position's record is the same bytes in both hashings at every frame.
        let same_record = |at: usize| match (prepared.static_digest(&walk.visits[at]), from[at]) {
            (Some(d), _) => self.slots[at] == Slot::Fixed(d),
            (None, Some(row)) => self.slots[at] == Slot::Row(row),
            (None, None) => false,
        };
        let blocks = if walk.visits.len() == self.walk.visits.len() {
            (0..walk.visits.len())
                .step_by(BLOCK)
                .map(|first| {
                    (first..(first + BLOCK).min(walk.visits.len())).all(|at| {
                        same_record(at)
                            && walk.inputs_of(&walk.visits[at])
                                == self.walk.inputs_of(&self.walk.visits[at])
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(Reuse {
            prev: self,
            from,
            blocks,
        })
    }
}

/// What one hashing takes from an earlier one: per visit of its traversal, the earlier
/// row with the same record; per block, whether the earlier block is the same bytes.
pub struct Reuse<'d> {
    prev: &'d Digests,
    from: Vec<Option<u32>>,
    blocks: Vec<bool>,
}

impl Reuse<'_> {
    /// Where the digests of each of `frames` are, when every one was kept: looked up
    /// once per batch of frames, then used for every visit.
    pub(super) fn columns(&self, frames: &[f64]) -> Option<Columns> {
        let at: Vec<(u32, u32)> = frames
            .iter()
            .map(|f| self.prev.cols.get(&f.to_bits()).copied())
            .collect::<Option<_>>()?;
        // The frames of one earlier batch, in its order (a check of the frames recorded
        // last time): every row's digests are then one slice of that batch.
        let run = at.first().copied().filter(|&(b0, i0)| {
            let len = self.prev.batches[b0 as usize].0;
            i0 as usize + at.len() <= len
                && at
                    .iter()
                    .enumerate()
                    .all(|(k, &(b, i))| b == b0 && i as usize == i0 as usize + k)
        });
        Some(Columns { at, run })
    }

    /// The digests of visit `visit` at the frames of `columns` (see
    /// [`Reuse::columns`]) into `out`; `false` when the visit has none kept.
    pub(super) fn digests(&self, visit: usize, columns: &Columns, out: &mut Vec<u128>) -> bool {
        match self.from.get(visit) {
            Some(&Some(row)) => self.gather(row as usize, columns, out, |k| &k.rows),
            _ => {
                out.clear();
                false
            }
        }
    }

    /// The digests of block `block` at the frames of `columns` into `out`; `false`
    /// when the block is not the same as the earlier one.
    pub(super) fn block_digests(
        &self,
        block: usize,
        columns: &Columns,
        out: &mut Vec<u128>,
    ) -> bool {
        match self.blocks.get(block) {
            Some(true) => self.gather(block, columns, out, |k| &k.blocks),
            _ => {
                out.clear();
                false
            }
        }
    }

    fn gather(
        &self,
        row: usize,
        columns: &Columns,
        out: &mut Vec<u128>,
        list: impl Fn(&Kept) -> &Vec<u128>,
    ) -> bool {
        out.clear();
        if let Some((b, i)) = columns.run {
            let (len, kept) = &self.prev.batches[b as usize];
            let at = row * len + i as usize;
            return match list(kept).get(at..at + columns.at.len()) {
                Some(ds) => {
                    out.extend_from_slice(ds);
                    true
                }
                None => false,
            };
        }
        for &(b, i) in &columns.at {
            let (len, kept) = &self.prev.batches[b as usize];
            match list(kept).get(row * len + i as usize) {
                Some(&d) => out.push(d),
                None => return false,
            }
        }
        true
    }

    /// How many visits can take their digests from the earlier hashing.
    pub fn reused(&self) -> usize {
        self.from.iter().flatten().count()
    }

    /// How many blocks of visits can take their digests from the earlier hashing.
    pub fn reused_blocks(&self) -> usize {
        self.blocks.iter().filter(|&&b| b).count()
    }
}

/// Where the digests of a batch of frames are in the earlier hashing ([`Reuse::columns`]):
/// (batch, position in it) per frame, and, when those are one earlier batch's
/// consecutive positions, the first of them.
pub(super) struct Columns {
    at: Vec<(u32, u32)>,
    run: Option<(u32, u32)>,
}

impl Columns {
    /// How many frames.
    pub(super) fn len(&self) -> usize {
        self.at.len()
    }
}
