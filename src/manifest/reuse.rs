//! Record digests kept from one hashing for the next, in a long-lived process.
//!
//! Why: a host panel checks the cache again after every edit. At 50,000 nodes most of a
//! check is computing, frame by frame, the records of the nodes whose knobs are
//! animated; an edit changes one node. [`Digests`] keeps the per-frame digests of those
//! records (the ones `Prepared::keepable` names: computed per frame from the setup
//! alone, no file read) from one hashing, with the setup they came from; the next
//! hashing, over the setup rebuilt from the edited script, takes a visit's digests from
//! it when:
//!
//! * the node has the same content in both setups, and so has every node its
//!   expressions read, and the Root settings it reads ([`super::pair`]'s `same_nodes`,
//!   the rule that also decides which records explanations skip): its record in a
//!   given context is then the same bytes;
//! * the visit is the same: same node name, same time context, same disabled state, in
//!   the shift-invariant traversal both hashings walk;
//! * every frame asked for was hashed before.
//!
//! Everything else is computed, so a reused frame hash is the hash computed from
//! scratch (tests/render_views.rs checks it against cold hashing after random edits).
//! Records reading files are never kept: their content is looked at anew.

use super::ctx::CtxKey;
use super::frame::Prepared;
use super::pair::same_nodes;
use super::setup::Setup;
use std::collections::HashMap;
use std::sync::Arc;

/// The digests of the varying records of one hashing, and the setup they came from.
pub struct Digests {
    setup: Arc<Setup>,
    /// Row of each kept visit, by (node name, context, disabled).
    rows: HashMap<(Box<str>, CtxKey, bool), u32>,
    /// Where each frame's digests are: (batch, position in it), by the frame's bits.
    cols: HashMap<u64, (u32, u32)>,
    /// Per batch of frames hashed together: its digests, row by row, each row one per
    /// frame of the batch.
    batches: Vec<(usize, Vec<u128>)>,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("rows", &self.rows.len())
            .field("frames", &self.cols.len())
            .finish()
    }
}

impl Digests {
    /// Gather the digests `Prepared::frame_hashes_with` kept for each batch of
    /// `frames` (`kept[b]` for `frames[b]`) while hashing `prepared`, which was made
    /// from `setup`. `None` when the traversal is not shift-invariant (nothing kept).
    pub fn gather(
        prepared: &Prepared<'_>,
        setup: Arc<Setup>,
        batches: Vec<(Vec<f64>, Vec<u128>)>,
    ) -> Option<Digests> {
        let walk = prepared.walk0()?;
        let rows: HashMap<(Box<str>, CtxKey, bool), u32> = walk
            .visits
            .iter()
            .filter(|v| prepared.keepable(v))
            .enumerate()
            .map(|(row, v)| {
                let name: Box<str> = setup.nodes[v.node as usize].name.as_str().into();
                ((name, v.ctx.key(), v.disabled), row as u32)
            })
            .collect();
        let mut cols = HashMap::new();
        let mut kept = Vec::with_capacity(batches.len());
        for (b, (frames, digests)) in batches.into_iter().enumerate() {
            if digests.len() != rows.len() * frames.len() {
                return None; // not gathered as documented: keep nothing
            }
            for (i, f) in frames.iter().enumerate() {
                cols.insert(f.to_bits(), (b as u32, i as u32));
            }
            kept.push((frames.len(), digests));
        }
        Some(Digests {
            setup,
            rows,
            cols,
            batches: kept,
        })
    }

    /// What the hashing of `prepared` (made from the setup `new`) can take from these
    /// digests.
    pub fn reuse<'d>(&'d self, prepared: &Prepared<'_>, new: &Setup) -> Option<Reuse<'d>> {
        let walk = prepared.walk0()?;
        let same = same_nodes(&self.setup, new);
        let from = walk
            .visits
            .iter()
            .map(|v| {
                let node = v.node as usize;
                if !same[node] || !prepared.keepable(v) {
                    return None;
                }
                let name: Box<str> = new.nodes[node].name.as_str().into();
                self.rows.get(&(name, v.ctx.key(), v.disabled)).copied()
            })
            .collect();
        Some(Reuse { prev: self, from })
    }
}

/// The digests one hashing takes from an earlier one: per visit of its traversal, the
/// earlier row with the same record.
pub struct Reuse<'d> {
    prev: &'d Digests,
    from: Vec<Option<u32>>,
}

impl Reuse<'_> {
    /// Where the digests of each of `frames` are, when every one was kept: looked up
    /// once per batch of frames, then used for every visit.
    pub(super) fn columns(&self, frames: &[f64]) -> Option<Vec<(u32, u32)>> {
        frames
            .iter()
            .map(|f| self.prev.cols.get(&f.to_bits()).copied())
            .collect()
    }

    /// The digests of visit `visit` at the frames of `columns` (see
    /// [`Reuse::columns`]) into `out`; `false` when the visit has none kept.
    pub(super) fn digests(
        &self,
        visit: usize,
        columns: &[(u32, u32)],
        out: &mut Vec<u128>,
    ) -> bool {
        out.clear();
        let Some(Some(row)) = self.from.get(visit) else {
            return false;
        };
        for &(b, i) in columns {
            let (len, digests) = &self.prev.batches[b as usize];
            match digests.get(*row as usize * len + i as usize) {
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
}
