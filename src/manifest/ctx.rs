//! The time context a node is evaluated in.
//!
//! A frame of the output is not always a frame of every node upstream: a TimeOffset
//! moves it, a FrameHold pins it, a FrameBlend reads several, a TimeBlur reads every
//! time in its shutter, a Transform with motion blur samples its knobs (and the
//! transforms it concatenates) around it. A [`Ctx`] says, for one visit of a node:
//!
//! * `frame`: the time its image is evaluated at, or `None` when it is evaluated at
//!   every time of the window (a span: a TimeBlur's shutter, "all frames");
//! * `lo..=hi`: the window its knobs are sampled over (it contains `frame`).
//!
//! A knob's manifest entry holds its value at `frame` and the animation keys that can
//! move it anywhere in the window, so that a key edit outside the window is not a
//! change and one inside is.

use std::collections::HashMap;

/// Where (in time) a node is evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ctx {
    /// The time the image is evaluated at; `None` for every time of the window.
    pub frame: Option<f64>,
    /// The window the node's knobs are sampled over.
    pub lo: f64,
    /// The last time of the window.
    pub hi: f64,
}

/// A context as hashable bits (frame, lo, hi), for "visited already?" tables.
pub type CtxKey = (u64, u64, u64);

impl Ctx {
    /// Evaluated at `f`, knobs sampled at `f` only.
    pub fn at(f: f64) -> Ctx {
        Ctx {
            frame: Some(f),
            lo: f,
            hi: f,
        }
    }

    /// Evaluated at every time of `lo..=hi`.
    pub fn span(lo: f64, hi: f64) -> Ctx {
        Ctx {
            frame: None,
            lo: lo.min(hi),
            hi: hi.max(lo),
        }
    }

    /// Every frame there is.
    pub fn all() -> Ctx {
        Ctx::span(f64::NEG_INFINITY, f64::INFINITY)
    }

    /// Whether this is the context of every frame.
    pub fn is_all(&self) -> bool {
        self.frame.is_none() && self.lo == f64::NEG_INFINITY && self.hi == f64::INFINITY
    }

    /// The same context `d` frames later.
    pub fn shifted(self, d: f64) -> Ctx {
        if d == 0.0 {
            return self;
        }
        Ctx {
            frame: self.frame.map(|f| f + d),
            lo: self.lo + d,
            hi: self.hi + d,
        }
    }

    /// The window widened to cover `lo..=hi` relative to each time of this context
    /// (motion blur: a shutter open from `f + lo` to `f + hi`).
    pub fn widened(self, lo: f64, hi: f64) -> Ctx {
        let (base_lo, base_hi) = match self.frame {
            Some(f) => (f, f),
            None => (self.lo, self.hi),
        };
        Ctx {
            frame: self.frame,
            lo: self.lo.min(base_lo + lo),
            hi: self.hi.max(base_hi + hi),
        }
    }

    /// Bits for lookups: `-0.0` and `0.0` are one frame.
    pub fn key(self) -> CtxKey {
        let bits = |v: f64| if v == 0.0 { 0 } else { v.to_bits() };
        (
            self.frame.map_or(u64::MAX, bits),
            bits(self.lo),
            bits(self.hi),
        )
    }

    /// A short human form: `1001`, `1001 (knobs 1000.75-1001.25)`, `1001-1005`, `all`.
    pub fn describe(&self) -> String {
        use crate::eval::format_f64 as format_frame;
        match self.frame {
            _ if self.is_all() => "all frames".into(),
            Some(f) if self.lo == f && self.hi == f => format_frame(f),
            Some(f) => format!(
                "{} (sampled {}-{})",
                format_frame(f),
                format_frame(self.lo),
                format_frame(self.hi)
            ),
            None => format!("{}-{}", format_frame(self.lo), format_frame(self.hi)),
        }
    }
}

/// Values by (node position, context), for the visits of one traversal: the first
/// context of a node in a flat table (almost every node is visited in one context),
/// the others in a map. Walking, keeping digests and matching two traversals look
/// visits up this way, tens of thousands per frame, without hashing a name.
///
/// The flat table names a node's first context by its number among the contexts met
/// (a traversal meets few): 8 bytes a node rather than 40, for a table as long as the
/// setup is (50,000 nodes for a studio script) made at every traversal.
pub(super) struct NodeCtxMap {
    /// Per node: its first context's number in `ctxs` (`NONE`: not set) and its value.
    first: Vec<(u32, u32)>,
    /// The contexts met, by number.
    ctxs: Vec<CtxKey>,
    /// The numbers of `ctxs`, kept once there are more than can be scanned quickly.
    numbers: HashMap<CtxKey, u32>,
    /// The values of nodes in a context other than their first.
    more: HashMap<(u32, CtxKey), u32>,
}

/// No value in a [`NodeCtxMap`] slot.
const NONE: u32 = u32::MAX;

/// How many contexts [`NodeCtxMap`] scans before it keeps a map of their numbers.
const SCANNED: usize = 8;

impl NodeCtxMap {
    /// An empty map for the nodes `0..nodes`.
    pub(super) fn new(nodes: usize) -> Self {
        NodeCtxMap {
            first: vec![(NONE, 0); nodes],
            ctxs: Vec::new(),
            numbers: HashMap::new(),
            more: HashMap::new(),
        }
    }

    /// The value of `node` in `ctx`, if set (`None` too for a node past the map's).
    pub(super) fn get(&self, node: u32, ctx: CtxKey) -> Option<u32> {
        match *self.first.get(node as usize)? {
            (NONE, _) => None,
            (c, v) if self.ctxs[c as usize] == ctx => Some(v),
            _ => self.more.get(&(node, ctx)).copied(),
        }
    }

    /// Set the value of `node` in `ctx`, replacing an earlier one.
    pub(super) fn set(&mut self, node: u32, ctx: CtxKey, value: u32) {
        match self.first[node as usize] {
            (NONE, _) => {
                let c = self.number(ctx);
                self.first[node as usize] = (c, value);
            }
            (c, _) if self.ctxs[c as usize] == ctx => self.first[node as usize].1 = value,
            _ => {
                self.more.insert((node, ctx), value);
            }
        }
    }

    /// The number of `ctx` among the contexts met, given it when new.
    fn number(&mut self, ctx: CtxKey) -> u32 {
        let found = if self.ctxs.len() <= SCANNED {
            self.ctxs.iter().rposition(|&c| c == ctx).map(|i| i as u32)
        } else {
            self.numbers.get(&ctx).copied()
        };
        if let Some(c) = found {
            return c;
        }
        let c = u32::try_from(self.ctxs.len()).expect("fewer than 2^32 contexts");
        self.ctxs.push(ctx);
        if self.ctxs.len() > SCANNED {
            if self.numbers.is_empty() {
                self.numbers
                    .extend(self.ctxs.iter().enumerate().map(|(i, &k)| (k, i as u32)));
            } else {
                self.numbers.insert(ctx, c);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values are kept per (node, context) whether a node has one context or many,
    /// and whatever the number of contexts met (scanned, then looked up).
    #[test]
    fn a_node_ctx_map_keeps_every_pair_apart() {
        let mut m = NodeCtxMap::new(40);
        let key = |i: u32| Ctx::at(f64::from(i)).key();
        for node in 0..40u32 {
            for c in 0..(node % 3 + 1) {
                assert_eq!(m.get(node, key(node + c)), None);
                m.set(node, key(node + c), node * 10 + c);
            }
        }
        for node in 0..40u32 {
            for c in 0..(node % 3 + 1) {
                assert_eq!(m.get(node, key(node + c)), Some(node * 10 + c));
            }
            assert_eq!(m.get(node, key(node + 3)), None);
        }
        m.set(5, key(5), 1);
        assert_eq!(m.get(5, key(5)), Some(1));
        assert_eq!(m.get(40, key(0)), None);
    }

    #[test]
    fn widening_keeps_the_frame_and_covers_the_shutter() {
        let c = Ctx::at(10.0).widened(-0.25, 0.25);
        assert_eq!((c.frame, c.lo, c.hi), (Some(10.0), 9.75, 10.25));
        let s = Ctx::span(10.0, 11.0).widened(0.0, 0.5);
        assert_eq!((s.frame, s.lo, s.hi), (None, 10.0, 11.5));
        assert_eq!(Ctx::at(3.0).shifted(-1.0), Ctx::at(2.0));
        assert!(Ctx::all().shifted(5.0).is_all());
        assert_eq!(Ctx::at(0.0).key(), Ctx::at(-0.0).key());
    }
}
