//! How a node uses time: which contexts its inputs (and files) are read in.
//!
//! The class semantics come from the profile ([`crate::profile::Time`]); the numbers
//! they need (an offset, a held frame, a shutter) come from the node's knobs at the
//! context, through [`Knobs`]. Rule 1 ("never miss an invalidation") decides every
//! case the knobs do not settle: a number that cannot be computed here makes the node
//! read every frame, a default that differs between host versions is covered both
//! ways, a fractional frame reads the whole frames on either side.

use super::ctx::Ctx;
use crate::profile::{Clip, KnobRef, Shutter, Time};

/// Most frames listed one by one (FrameBlend, TimeEcho); more are read as a span.
const MAX_LISTED: i64 = 64;

/// A number a time rule needs, as the node's knobs give it.
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    /// One value.
    One(f64),
    /// One of these (a default that differs between host versions).
    Choices(Vec<f64>),
    /// Not computable here.
    Unknown,
}

impl Num {
    fn one(self) -> Option<f64> {
        match self {
            Num::One(v) => Some(v),
            _ => None,
        }
    }

    /// Every value it may have (`None` when unknown).
    fn values(self) -> Option<Vec<f64>> {
        match self {
            Num::One(v) => Some(vec![v]),
            Num::Choices(v) => Some(v),
            Num::Unknown => None,
        }
    }
}

/// What a node's knobs are worth at a context (the frame layer answers, with the
/// expression engine where it can).
pub trait Knobs {
    /// A role knob as a number at `ctx` (its default when the node does not set it).
    fn num(&self, k: &KnobRef, ctx: Ctx) -> Num;
    /// A role knob as words (menus: `start`, `"start at"`, `loop`); `None` when it
    /// cannot be known. Several words for a default that differs between versions.
    fn words(&self, k: &KnobRef, ctx: Ctx) -> Option<Vec<String>>;
    /// Whether the node sets one of the knob's names (rather than leaving the default).
    fn is_set(&self, k: &KnobRef) -> bool;
}

fn num(knobs: &dyn Knobs, k: &Option<KnobRef>, ctx: Ctx) -> Num {
    match k {
        Some(k) => knobs.num(k, ctx),
        None => Num::Unknown,
    }
}

/// Whether a flag knob is on: `Some(true/false)`, or `None` when it cannot be known.
fn flag(knobs: &dyn Knobs, k: &Option<KnobRef>, ctx: Ctx) -> Option<bool> {
    match num(knobs, k, ctx) {
        Num::One(v) => Some(v != 0.0),
        Num::Choices(v) if v.iter().all(|&x| x == 0.0) => Some(false),
        Num::Choices(v) if v.iter().all(|&x| x != 0.0) => Some(true),
        _ => None,
    }
}

/// The shutter window relative to the frame, as the hull of every reading of the
/// knobs (`None` when it cannot be known).
pub fn shutter_window(knobs: &dyn Knobs, s: &Shutter, ctx: Ctx) -> Option<(f64, f64)> {
    let len = num(knobs, &s.shutter, ctx).values()?;
    let offsets = match &s.offset {
        Some(k) => knobs.words(k, ctx)?,
        None => vec!["centred".to_string()],
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for l in len {
        for o in &offsets {
            let (a, b) = match o.as_str() {
                "centred" | "centered" | "centre" | "center" => (-l / 2.0, l / 2.0),
                "start" => (0.0, l),
                "end" => (-l, 0.0),
                "custom" => {
                    let c = num(knobs, &s.custom, ctx).values()?;
                    let cmin = c.iter().copied().fold(f64::INFINITY, f64::min);
                    let cmax = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (cmin, cmax + l)
                }
                _ => return None,
            };
            lo = lo.min(a.min(b));
            hi = hi.max(a.max(b));
        }
    }
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// The contexts the node's inputs are read in, given the node's own context. Empty
/// when it reads no frame of its inputs (a clip outside its range with `black`).
pub fn input_ctxs(time: &Time, knobs: &dyn Knobs, ctx: Ctx) -> Vec<Ctx> {
    let all = || vec![Ctx::all()];
    if ctx.is_all() {
        return all();
    }
    match time {
        Time::Local => vec![ctx],
        Time::All => all(),
        Time::Offset { offset, reverse } => {
            if flag(knobs, reverse, ctx) != Some(false) {
                return all();
            }
            match num(knobs, offset, ctx).values() {
                Some(ds) => dedup(ds.into_iter().map(|d| ctx.shifted(-d)).collect()),
                None => all(),
            }
        }
        Time::Hold { frame, increment } => {
            let (Some(first), Some(incs)) = (
                num(knobs, frame, ctx).values(),
                match increment {
                    Some(_) => num(knobs, increment, ctx).values(),
                    None => Some(vec![0.0]),
                },
            ) else {
                return all();
            };
            let mut out = Vec::new();
            for &h in &first {
                for &inc in &incs {
                    let held = |t: f64| {
                        if inc > 0.0 {
                            h + ((t - h) / inc).floor() * inc
                        } else {
                            h
                        }
                    };
                    out.push(map_ctx(ctx, held));
                }
            }
            dedup(out)
        }
        Time::Range {
            count,
            first,
            last,
            use_range,
        } => {
            let mut out = Vec::new();
            let use_range = flag(knobs, use_range, ctx);
            if use_range != Some(false) {
                match (num(knobs, first, ctx).one(), num(knobs, last, ctx).one()) {
                    (Some(a), Some(b)) => out.push(Ctx::span(a, b)),
                    _ => return all(),
                }
            }
            if use_range != Some(true) {
                match num(knobs, count, ctx).one() {
                    Some(n) if n >= 1.0 => out.extend(behind(ctx, n - 1.0)),
                    _ => return all(),
                }
            }
            dedup(out)
        }
        Time::Behind { behind: b } => match num(knobs, b, ctx).one() {
            Some(n) if n >= 0.0 => behind(ctx, n),
            _ => all(),
        },
        Time::Samples { shutter, .. } => match shutter_window(knobs, shutter, ctx) {
            Some((a, b)) => vec![span_of(ctx, a, b)],
            None => all(),
        },
        Time::Snap => match ctx.frame {
            Some(f) => dedup(vec![Ctx::at(f.floor()), Ctx::at(f.ceil())]),
            None => vec![Ctx::span(ctx.lo.floor(), ctx.hi.ceil())],
        },
        Time::Clip(clip) => match clip_frames(clip, knobs, ctx) {
            ClipFrames::None => Vec::new(),
            ClipFrames::At(ts) => dedup(ts.into_iter().map(Ctx::at).collect()),
            ClipFrames::Span(a, b) => vec![Ctx::span(a, b)],
            ClipFrames::All => all(),
        },
        Time::Retime {
            in_first,
            in_last,
            out_first,
            speed,
            reverse,
            before,
            after,
            shutter,
        } => {
            let hold = |k: &Option<KnobRef>| {
                k.as_ref()
                    .and_then(|k| knobs.words(k, ctx))
                    .is_some_and(|w| w.iter().all(|w| w == "hold"))
            };
            if flag(knobs, reverse, ctx) != Some(false) || !hold(before) || !hold(after) {
                return all();
            }
            let (Some(a), Some(b), Some(s), Some(sh)) = (
                num(knobs, in_first, ctx).one(),
                num(knobs, out_first, ctx).one(),
                num(knobs, speed, ctx).one(),
                num(knobs, shutter, ctx).one(),
            ) else {
                return all();
            };
            let last = num(knobs, in_last, ctx).one();
            let map = |f: f64| {
                let t = (a + (f - b) * s).max(a);
                match last {
                    Some(c) => t.min(c),
                    None => t,
                }
            };
            // Frame blending reads the whole frames around the mapped time, over the
            // shutter scaled by the speed.
            let w = (s.abs() * sh).abs() / 2.0;
            let (lo, hi) = match ctx.frame {
                Some(f) => (map(f).min(map(ctx.lo)), map(f).max(map(ctx.hi))),
                None => (map(ctx.lo), map(ctx.hi)),
            };
            let lo = (lo.min(hi) - w).floor();
            let hi = match last {
                Some(_) => (hi.max(lo) + w).ceil(),
                None => f64::INFINITY,
            };
            vec![Ctx::span(lo, hi)]
        }
        Time::Lookup { lookup, shutter } => {
            let Some(sh) = num(knobs, shutter, ctx).one() else {
                return all();
            };
            let (f0, f1) = match ctx.frame {
                Some(f) => (ctx.lo.min(f) - sh.abs(), ctx.hi.max(f) + sh.abs()),
                None => (ctx.lo - sh.abs(), ctx.hi + sh.abs()),
            };
            // The lookup curve over the window, sampled finely; the frames on either
            // side of its extremes are read.
            let steps = 16;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for i in 0..=steps {
                let t = f0 + (f1 - f0) * (i as f64) / (steps as f64);
                match num(knobs, lookup, Ctx::at(t)).one() {
                    Some(v) => {
                        lo = lo.min(v);
                        hi = hi.max(v);
                    }
                    None => return all(),
                }
            }
            vec![Ctx::span(lo.floor() - 1.0, hi.ceil() + 1.0)]
        }
    }
}

/// The frames `f - n` to `f`, one context each when few, else as a span.
fn behind(ctx: Ctx, n: f64) -> Vec<Ctx> {
    let n = n.floor();
    match ctx.frame {
        Some(_) if n <= MAX_LISTED as f64 => {
            (0..=n as i64).map(|k| ctx.shifted(-(k as f64))).collect()
        }
        Some(f) => vec![Ctx::span(ctx.lo.min(f) - n, ctx.hi.max(f))],
        None => vec![Ctx::span(ctx.lo - n, ctx.hi)],
    }
}

/// Every time of the window `[f + a, f + b]` for each time of `ctx`.
fn span_of(ctx: Ctx, a: f64, b: f64) -> Ctx {
    match ctx.frame {
        Some(f) => Ctx::span(ctx.lo.min(f) + a, ctx.hi.max(f) + b),
        None => Ctx::span(ctx.lo + a, ctx.hi + b),
    }
}

/// A context through a monotonic (non-decreasing) time mapping.
fn map_ctx(ctx: Ctx, m: impl Fn(f64) -> f64) -> Ctx {
    let (lo, hi) = (m(ctx.lo), m(ctx.hi));
    match ctx.frame {
        Some(f) => {
            let t = m(f);
            Ctx {
                frame: Some(t),
                lo: lo.min(t),
                hi: hi.max(t),
            }
        }
        None => Ctx::span(lo, hi),
    }
}

fn dedup(mut v: Vec<Ctx>) -> Vec<Ctx> {
    let mut seen = Vec::with_capacity(v.len());
    v.retain(|c| {
        let k = c.key();
        if seen.contains(&k) {
            false
        } else {
            seen.push(k);
            true
        }
    });
    v
}

/// Which frames of a clip (a Read's files, a TimeClip's input) a context reads.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipFrames {
    /// Nothing (outside the range with `black`).
    None,
    /// These times (fractional times read the whole frames on either side).
    At(Vec<f64>),
    /// Every frame of `[a, b]`.
    Span(f64, f64),
    /// Every frame there is.
    All,
}

/// How a clip maps an output time `t` into its range `[first, last]`.
fn outside(mode: &str, t: f64, first: f64, last: f64) -> Option<f64> {
    let len = last - first + 1.0;
    match mode {
        "hold" => Some(t.clamp(first, last)),
        "loop" => Some(first + (t - first).rem_euclid(len)),
        "bounce" => {
            if len <= 1.0 {
                return Some(first);
            }
            let period = 2.0 * (len - 1.0);
            let k = (t - first).rem_euclid(period);
            Some(first + if k <= len - 1.0 { k } else { period - k })
        }
        "black" => None,
        _ => Some(f64::NAN),
    }
}

/// The frames of a clip read at `ctx`: the frame mode (`expression`, `start at`,
/// `offset`) moves the time, then `before`/`after` map it into `first`-`last`.
pub fn clip_frames(clip: &Clip, knobs: &dyn Knobs, ctx: Ctx) -> ClipFrames {
    if ctx.is_all() {
        return ClipFrames::All;
    }
    let modes = match &clip.mode {
        Some(k) => knobs.words(k, ctx),
        None => Some(vec!["expression".to_string()]),
    };
    let Some(modes) = modes else {
        return ClipFrames::All;
    };
    let frame_knob = num(knobs, &clip.frame, ctx);
    let first = num(knobs, &clip.first, ctx).one();
    let last = num(knobs, &clip.last, ctx).one();
    // The time read for output time `f` under frame mode `mode`, before the range.
    let shift = |mode: &str, f: f64| -> Option<f64> {
        match mode {
            "start at" | "start_at" => match (&frame_knob, first) {
                (Num::One(s), Some(a)) => Some(f - s + a),
                _ => None,
            },
            "offset" => match &frame_knob {
                Num::One(d) => Some(f - d),
                _ => None,
            },
            // An expression knob that is a plain number or an animation: the frame it
            // gives; unset: the frame itself.
            "expression" | "" => match &frame_knob {
                Num::One(v) => Some(*v),
                _ => Some(f),
            },
            _ => None,
        }
    };
    let befores = clip
        .before
        .as_ref()
        .map_or(Some(vec!["hold".into()]), |k| knobs.words(k, ctx));
    let afters = clip
        .after
        .as_ref()
        .map_or(Some(vec!["hold".into()]), |k| knobs.words(k, ctx));
    let (Some(befores), Some(afters)) = (befores, afters) else {
        return ClipFrames::All;
    };
    let mut times = Vec::new();
    let points: Vec<f64> = match ctx.frame {
        Some(f) => vec![f],
        None => vec![ctx.lo, ctx.hi],
    };
    for mode in &modes {
        // An expression mode whose knob is an expression this layer cannot compute
        // (`frame*2`) reads frames it cannot name.
        let frame_set = clip.frame.as_ref().is_some_and(|k| knobs.is_set(k));
        if (mode == "expression" || mode.is_empty())
            && frame_set
            && !matches!(frame_knob, Num::One(_))
        {
            return ClipFrames::All;
        }
        for &p in &points {
            let Some(t) = shift(mode, p) else {
                return ClipFrames::All;
            };
            let (Some(a), Some(b)) = (first, last) else {
                // No range known: the time as mapped (the files on disk decide).
                times.push(Some(t));
                continue;
            };
            if b < a {
                return ClipFrames::All;
            }
            let modes_here = if t < a {
                &befores
            } else if t > b {
                &afters
            } else {
                times.push(Some(t));
                continue;
            };
            for m in modes_here {
                match outside(m, t, a, b) {
                    Some(x) if x.is_nan() => return ClipFrames::All,
                    Some(x) => times.push(Some(x)),
                    None => times.push(None),
                }
            }
        }
    }
    if ctx.frame.is_none() {
        // A span: every frame between the mapped ends, or the whole range when the
        // mapping folds (loop, bounce).
        let folds = befores
            .iter()
            .chain(&afters)
            .any(|m| m != "hold" && m != "black");
        return match (first, last) {
            (Some(a), Some(b)) if folds => ClipFrames::Span(a, b),
            _ => {
                let known: Vec<f64> = times.iter().flatten().copied().collect();
                if known.is_empty() {
                    return ClipFrames::None;
                }
                let lo = known.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                ClipFrames::Span(lo, hi)
            }
        };
    }
    let mut known: Vec<f64> = times.into_iter().flatten().collect();
    known.sort_by(f64::total_cmp);
    known.dedup();
    if known.is_empty() {
        ClipFrames::None
    } else {
        ClipFrames::At(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Knobs from a table of constant texts.
    struct Table(HashMap<&'static str, &'static str>);

    fn parse(v: &str) -> Option<f64> {
        match v {
            "true" => Some(1.0),
            "false" => Some(0.0),
            v => v.parse().ok(),
        }
    }

    impl Knobs for Table {
        fn num(&self, k: &KnobRef, _: Ctx) -> Num {
            for n in &k.names {
                if let Some(v) = self.0.get(n.as_str()) {
                    return parse(v).map_or(Num::Unknown, Num::One);
                }
            }
            match k.defaults.as_slice() {
                [] => Num::Unknown,
                [one] => parse(one).map_or(Num::Unknown, Num::One),
                many => Num::Choices(many.iter().filter_map(|d| parse(d)).collect()),
            }
        }
        fn words(&self, k: &KnobRef, _: Ctx) -> Option<Vec<String>> {
            for n in &k.names {
                if let Some(v) = self.0.get(n.as_str()) {
                    return Some(vec![v.trim_matches('"').to_string()]);
                }
            }
            (!k.defaults.is_empty()).then(|| k.defaults.clone())
        }
        fn is_set(&self, k: &KnobRef) -> bool {
            k.names.iter().any(|n| self.0.contains_key(n.as_str()))
        }
    }

    fn k(spec: &str) -> Option<KnobRef> {
        let (n, d) = spec.split_once(':').unwrap_or((spec, ""));
        Some(KnobRef {
            names: n.split('|').map(String::from).collect(),
            defaults: if d.is_empty() {
                vec![]
            } else {
                d.split('|').map(String::from).collect()
            },
        })
    }

    fn clip() -> Clip {
        Clip {
            first: k("first"),
            last: k("last"),
            mode: k("frame_mode:expression"),
            frame: k("frame"),
            before: k("before:hold"),
            after: k("after:hold"),
            on_error: k("on_error:error"),
        }
    }

    fn frames(knobs: &[(&'static str, &'static str)], f: f64) -> ClipFrames {
        clip_frames(&clip(), &Table(knobs.iter().copied().collect()), Ctx::at(f))
    }

    #[test]
    fn a_clip_maps_frames_as_the_frame_mode_and_range_say() {
        let range = [("first", "1001"), ("last", "1010")];
        assert_eq!(frames(&range, 1005.0), ClipFrames::At(vec![1005.0]));
        assert_eq!(frames(&range, 990.0), ClipFrames::At(vec![1001.0]));
        assert_eq!(frames(&range, 1020.0), ClipFrames::At(vec![1010.0]));
        let start_at = [
            ("first", "1001"),
            ("last", "1010"),
            ("frame_mode", "\"start at\""),
            ("frame", "1"),
        ];
        assert_eq!(frames(&start_at, 3.0), ClipFrames::At(vec![1003.0]));
        let offset = [
            ("first", "1001"),
            ("last", "1010"),
            ("frame_mode", "offset"),
            ("frame", "-100"),
        ];
        assert_eq!(frames(&offset, 905.0), ClipFrames::At(vec![1005.0]));
        let looped = [("first", "1"), ("last", "4"), ("after", "loop")];
        assert_eq!(frames(&looped, 5.0), ClipFrames::At(vec![1.0]));
        assert_eq!(frames(&looped, 10.0), ClipFrames::At(vec![2.0]));
        let bounce = [("first", "1"), ("last", "4"), ("after", "bounce")];
        assert_eq!(frames(&bounce, 5.0), ClipFrames::At(vec![3.0]));
        assert_eq!(frames(&bounce, 7.0), ClipFrames::At(vec![1.0]));
        assert_eq!(frames(&bounce, 8.0), ClipFrames::At(vec![2.0]));
        let black = [("first", "1"), ("last", "4"), ("before", "black")];
        assert_eq!(frames(&black, 0.0), ClipFrames::None);
        // An expression the layer cannot compute: every frame.
        assert_eq!(frames(&[("frame", "{{frame*2}}")], 3.0), ClipFrames::All);
    }

    #[test]
    fn a_hold_reads_the_held_frame_and_an_offset_moves_it() {
        let hold = Time::Hold {
            frame: k("firstFrame|first_frame:0"),
            increment: k("increment:0"),
        };
        let t = |kv: &[(&'static str, &'static str)], f: f64| {
            input_ctxs(&hold, &Table(kv.iter().copied().collect()), Ctx::at(f))
        };
        assert_eq!(t(&[("firstFrame", "1010")], 1050.0), [Ctx::at(1010.0)]);
        assert_eq!(t(&[("first_frame", "7")], 1050.0), [Ctx::at(7.0)]);
        assert_eq!(
            t(&[("first_frame", "1000"), ("increment", "10")], 1057.0),
            [Ctx::at(1050.0)]
        );
        let off = Time::Offset {
            offset: k("time_offset:0"),
            reverse: k("reverse_input:false"),
        };
        let table = Table([("time_offset", "3")].into_iter().collect());
        assert_eq!(input_ctxs(&off, &table, Ctx::at(10.0)), [Ctx::at(7.0)]);
    }

    #[test]
    fn shutters_cover_every_default_reading() {
        let s = Shutter {
            shutter: k("shutter:0.5"),
            offset: k("shutteroffset:start|centred"),
            custom: k("shuttercustomoffset:0"),
        };
        let none = Table(HashMap::new());
        assert_eq!(shutter_window(&none, &s, Ctx::at(1.0)), Some((-0.25, 0.5)));
        let custom = Table(
            [
                ("shutter", "2"),
                ("shutteroffset", "custom"),
                ("shuttercustomoffset", "-3"),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            shutter_window(&custom, &s, Ctx::at(1.0)),
            Some((-3.0, -1.0))
        );
    }
}
