//! Animation curves: `{curve [i|I] keys…}` and `{EXPRESSION [i|I] keys…}`.
//!
//! A key is `[interp] [extrap] [xFRAME] VALUE [sSLOPE] [tSLOPE] [uLEN] [vLEN]`
//! (NK-FORMAT.md, "Curves"). Interpolation (`K L S R C`) and extrapolation (`k l`)
//! letters are sticky: Nuke writes one only where it changes, so each key takes the
//! latest letter before it. A key without `x` steps on from the previous keys.
//!
//! Two things are built from a curve:
//!
//! * its value at a (fractional) frame, by [`Curve::value_at`];
//! * its *influence set* at a frame, by [`Curve::influence`]: the keys whose text can
//!   change the value anywhere in the motion-blur window `[f - 0.5, f + 0.5]`. The
//!   manifest records the value plus those keys' canonical text, so an edit to a key
//!   outside the set leaves the manifest bytes alone, and an edit that can move the
//!   value in the window changes them (rule 1 first, rule 2 second).
//!
//! Each key's canonical text spells out everything that is implicit in the script (its
//! effective letters and its frame), so an untouched key has identical bytes however
//! its neighbours were edited.

use compact_str::CompactString;
use std::borrow::Cow;

use super::expr::{self, Expression};
use super::num::{format_f64, parse_decimal};

/// Half the motion-blur window: the manifest for frame `f` covers `[f - h, f + h]`.
pub const BLUR_HALF_WINDOW: f64 = 0.5;

/// How a key shapes the segment that follows it (and its own tangent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// `K`: hold the key's value until the next key.
    Constant,
    /// `L`: tangents point at the neighbouring keys.
    Linear,
    /// `S`: Catmull-Rom, clamped so the curve stays within its neighbours' range.
    Smooth,
    /// `R`: Catmull-Rom (slope between the previous and next key).
    CatmullRom,
    /// `C`: natural cubic (C2) spline through every key.
    Cubic,
    /// A letter smartcache does not know: kept, and every key is then assumed to matter.
    Other(char),
}

impl Interp {
    fn letter(self) -> char {
        match self {
            Interp::Constant => 'K',
            Interp::Linear => 'L',
            Interp::Smooth => 'S',
            Interp::CatmullRom => 'R',
            Interp::Cubic => 'C',
            Interp::Other(c) => c,
        }
    }
}

/// What the curve does beyond its first or last key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extrap {
    /// `k`: hold the end key's value.
    Constant,
    /// `l`: continue along the end key's tangent.
    Linear,
}

/// One key, with its effective (sticky) letters resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key's frame.
    pub frame: f64,
    /// The value at that frame.
    pub value: f64,
    /// How the curve goes from this key to the next.
    pub interp: Interp,
    /// How the curve goes on past the first or last key.
    pub extrap: Extrap,
    /// Which slopes are given: `s` (bit 0), `t` (bit 1). A flag rather than
    /// `Option<f64>`, which takes 16 bytes: a setup holds every key of its curves.
    slopes: u8,
    /// `s`: the left slope (also the right one unless `t` is given), when given.
    left_slope: f64,
    /// `t`: the right slope, when given.
    right_slope: f64,
    /// `u`: left handle length (1 = a third of the segment).
    pub left_handle: f64,
    /// `v`: right handle length.
    pub right_handle: f64,
    canonical: CompactString,
}

impl Key {
    /// The key's canonical text: `<interp><extrap> x<frame> <value>` plus the slope and
    /// handle words as written. Numbers keep their script text; only an implicit frame
    /// is printed by smartcache.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// `s`: the left slope (also the right one unless `t` is given).
    pub fn left_slope(&self) -> Option<f64> {
        (self.slopes & 1 != 0).then_some(self.left_slope)
    }

    /// `t`: the right slope.
    pub fn right_slope(&self) -> Option<f64> {
        (self.slopes & 2 != 0).then_some(self.right_slope)
    }

    fn user_left(&self) -> Option<f64> {
        self.left_slope()
    }

    fn user_right(&self) -> Option<f64> {
        self.right_slope().or(self.left_slope())
    }
}

/// A parsed animation: optional expression, header flags, keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The expression the animation evaluates instead of plain `curve` (e.g.
    /// `-1+parent.curve` or `curve(((frame-1001)%15)+1001)`), if any.
    pub expression: Option<Box<Expression>>,
    /// Header words between the expression and the first key (`i`, `I`), as written.
    pub flags: Vec<String>,
    /// Keys in frame order.
    keys: Vec<Key>,
    /// Tokens that were not understood, as written. Their presence makes every key
    /// influence every frame.
    pub unknown: Vec<String>,
    /// Keys were not strictly increasing in frame as written (or a number was not
    /// finite): evaluation still works on the sorted keys, influence is every key.
    irregular: bool,
    /// Effective (left, right) tangent of every key, computed once.
    slopes: Vec<(f64, f64)>,
    /// The keys influencing a window inside each open interval between keys, found
    /// at the first frame that asks (see [`Curve::influence_into`]).
    by_interval: IntervalInfluence,
}

/// Per open interval between consecutive keys (before the first, between each two,
/// after the last), the keys influencing any window that lies inside it, as a bit
/// set; [`NO_SET`] where no window fits. Every comparison [`Curve::influence_into`]
/// makes between a key's frame and the window's ends comes out the same for all
/// windows strictly inside one interval, and so does its answer: a record hashed at
/// every frame looks the answer up instead of searching the keys again.
#[derive(Default)]
struct IntervalInfluence(std::sync::OnceLock<Box<[u64]>>);

/// No window fits in the interval (its ends are too close to hold a point between).
const NO_SET: u64 = u64::MAX;

/// Curves of at most this many keys have an [`IntervalInfluence`] (a key is a bit,
/// and the set of all 64 would be [`NO_SET`]).
const MAX_TABLE_KEYS: usize = 63;

impl Clone for IntervalInfluence {
    /// A copy finds its sets again: they are what the keys give.
    fn clone(&self) -> Self {
        IntervalInfluence::default()
    }
}

impl PartialEq for IntervalInfluence {
    /// Found from the keys, which the curves compare.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for IntervalInfluence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntervalInfluence")
    }
}

/// Splits the head word (the expression, or `curve`) off animation text. A quoted head
/// (an expression with spaces) is unescaped; a bare head runs to whitespace outside
/// `[…]`, since Tcl substitutions nest inside it (`[value Blur1.size]*2`).
pub(crate) fn split_head(inner: &str) -> (Cow<'_, str>, &str) {
    let trimmed = inner.trim_start();
    if let Some(body) = trimmed.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                _ => out.push(c),
            }
        }
        return (Cow::Owned(out), &body[end..]);
    }
    let b = trimmed.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            c if c.is_ascii_whitespace() && depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    while !trimmed.is_char_boundary(i.min(b.len())) {
        i += 1;
    }
    let i = i.min(b.len());
    (Cow::Borrowed(&trimmed[..i]), &trimmed[i..])
}

impl Curve {
    /// Parses the text between the braces of an animation, e.g. `curve x1 0 x10 5` or
    /// `-1+parent.curve i x70 1`. Never fails: what it does not understand goes to
    /// [`Curve::unknown`].
    pub fn parse(inner: &str) -> Curve {
        let (head, rest) = split_head(inner);
        let tokens = rest.split_ascii_whitespace();
        let expression = match &*head {
            "" | "curve" => None,
            h => Some(Box::new(expr::analyse(h))),
        };

        let mut flags = Vec::new();
        let mut raw: Vec<RawKey> = Vec::new();
        let mut unknown = Vec::new();
        let mut interp = Interp::Smooth;
        let mut extrap = Extrap::Constant;
        let mut pending_x: Option<(f64, &str)> = None;
        let mut irregular = false;

        for tok in tokens {
            if raw.is_empty() && pending_x.is_none() && (tok == "i" || tok == "I") {
                flags.push(tok.to_owned());
                continue;
            }
            if let Some(v) = parse_decimal(tok) {
                irregular |= !v.is_finite();
                raw.push(RawKey {
                    frame: pending_x.take(),
                    value: (v, tok),
                    interp,
                    extrap,
                    words: Vec::new(),
                });
                continue;
            }
            let mut chars = tok.chars();
            let lead = chars.next().unwrap_or(' ');
            let tail = chars.as_str();
            if tail.is_empty() {
                match lead {
                    'K' => interp = Interp::Constant,
                    'L' => interp = Interp::Linear,
                    'S' => interp = Interp::Smooth,
                    'R' => interp = Interp::CatmullRom,
                    'C' => interp = Interp::Cubic,
                    'k' => extrap = Extrap::Constant,
                    'l' => extrap = Extrap::Linear,
                    c if c.is_ascii_alphabetic() => {
                        interp = Interp::Other(c);
                        unknown.push(tok.to_owned());
                    }
                    _ => unknown.push(tok.to_owned()),
                }
                continue;
            }
            match (lead, parse_decimal(tail)) {
                ('x', Some(f)) if pending_x.is_none() => {
                    irregular |= !f.is_finite();
                    pending_x = Some((f, tail));
                }
                ('s' | 't' | 'u' | 'v', Some(n)) if !raw.is_empty() => {
                    irregular |= !n.is_finite();
                    let last = raw.len() - 1;
                    raw[last].words.push((lead, n, tok));
                }
                _ => unknown.push(tok.to_owned()),
            }
        }
        if let Some((_, text)) = pending_x {
            unknown.push(format!("x{text}"));
        }

        let mut keys: Vec<Key> = Vec::with_capacity(raw.len());
        for (i, rk) in raw.iter().enumerate() {
            let frame = match rk.frame {
                Some((f, _)) => f,
                None => match i {
                    0 => 0.0,
                    1 => keys[0].frame + 1.0,
                    _ => 2.0 * keys[i - 1].frame - keys[i - 2].frame,
                },
            };
            keys.push(rk.build(frame));
        }
        if keys
            .windows(2)
            .any(|w| w[0].frame.partial_cmp(&w[1].frame) != Some(std::cmp::Ordering::Less))
        {
            irregular = true;
            keys.sort_by(|a, b| a.frame.total_cmp(&b.frame));
        }
        let slopes = compute_slopes(&keys);
        Curve {
            expression,
            flags,
            keys,
            unknown,
            irregular,
            slopes,
            by_interval: IntervalInfluence::default(),
        }
    }

    /// The keys, in frame order.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// `true` when the keys alone cannot be trusted to locate influence: an unknown
    /// token or letter, keys out of order or on the same frame, a non-finite number,
    /// or an expression that may read the keys at any frame.
    pub fn every_key_influences(&self) -> bool {
        self.irregular || !self.unknown.is_empty() || self.expression.is_some()
    }

    /// `true` when smartcache computes the value and influence itself: no expression,
    /// no unknown token, keys in order. Otherwise the curve is recorded as written.
    pub fn is_exact(&self) -> bool {
        self.expression.is_none() && self.unknown.is_empty() && !self.irregular
    }

    /// `true` when the curve has the same value and the same influence on every frame:
    /// no expression, nothing unknown, at most one key.
    pub fn is_constant(&self) -> bool {
        self.expression.is_none()
            && self.unknown.is_empty()
            && !self.irregular
            && match self.keys.as_slice() {
                [] => true,
                // A lone key extrapolated linearly along a slope moves with the frame.
                [k] => k.extrap == Extrap::Constant || self.slopes[0] == (0.0, 0.0),
                _ => false,
            }
    }

    /// The value of the keys at `frame` (`None` without keys, or for a NaN frame). An
    /// expression on the curve is not evaluated: this is the value of the keys alone.
    pub fn value_at(&self, frame: f64) -> Option<f64> {
        if frame.is_nan() {
            return None;
        }
        let keys = &self.keys;
        let first = keys.first()?;
        let last = keys.last()?;
        if frame <= first.frame {
            if frame < first.frame && first.extrap == Extrap::Linear {
                return Some(first.value + (frame - first.frame) * self.slopes[0].0);
            }
            return Some(first.value);
        }
        if frame >= last.frame {
            let n = keys.len() - 1;
            if frame > last.frame && last.extrap == Extrap::Linear {
                return Some(last.value + (frame - last.frame) * self.slopes[n].1);
            }
            return Some(last.value);
        }
        // keys[i].frame <= frame < keys[i + 1].frame
        let i = keys.partition_point(|k| k.frame <= frame) - 1;
        Some(self.segment_value(i, frame))
    }

    fn segment_value(&self, i: usize, frame: f64) -> f64 {
        let (a, b) = (&self.keys[i], &self.keys[i + 1]);
        if frame == a.frame {
            return a.value;
        }
        if a.interp == Interp::Constant {
            return a.value;
        }
        let h = b.frame - a.frame;
        let m0 = self.slopes[i].1;
        let m1 = self.slopes[i + 1].0;
        if a.right_handle == 1.0 && b.left_handle == 1.0 {
            // Handles of a third of the segment make x linear in the Bezier
            // parameter: the segment is a cubic Hermite in the frame. It is written as
            // the chord plus a correction that vanishes when both tangents equal the
            // chord, so that linear segments are exact lerps.
            let s = (frame - a.frame) / h;
            let d = (b.value - a.value) / h;
            let bend = h * s * (1.0 - s) * ((m0 - d) * (1.0 - s) - (m1 - d) * s);
            return a.value + (b.value - a.value) * s + bend;
        }
        bezier_value(a, b, m0, m1, frame)
    }

    /// Indices of the keys that can change the value (and slope) anywhere in
    /// `[frame - 0.5, frame + 0.5]`, ascending and without repeats.
    pub fn influence(&self, frame: f64) -> Vec<usize> {
        self.influence_in(frame - BLUR_HALF_WINDOW, frame + BLUR_HALF_WINDOW)
    }

    /// Indices of the keys that can change the value anywhere in `[lo, hi]` (a wider
    /// shutter than the default motion-blur window, say), ascending, without repeats.
    pub fn influence_in(&self, lo: f64, hi: f64) -> Vec<usize> {
        let mut out = Vec::new();
        self.influence_into(lo, hi, &mut out);
        out
    }

    /// [`Curve::influence_in`] written into `out` (cleared first), so that a caller
    /// asking at every frame reuses one buffer rather than allocating one per call.
    pub fn influence_into(&self, lo: f64, hi: f64, out: &mut Vec<usize>) {
        self.influence_and_value(lo, hi, None, usize::MAX, out);
    }

    /// [`Curve::influence_into`] and, when `frame` is given, [`Curve::value_at`] at
    /// `frame` (inside `[lo, hi]`), together: for a caller asking frame after frame.
    /// `hint` is the open interval between keys an earlier call returned (for this
    /// curve or another: it is checked, and saves the search when it holds the
    /// window); the interval found is returned, for the next call's hint.
    pub fn influence_and_value(
        &self,
        lo: f64,
        hi: f64,
        frame: Option<f64>,
        hint: usize,
        out: &mut Vec<usize>,
    ) -> (Option<f64>, usize) {
        out.clear();
        let value = |p: Option<usize>| match (frame, p) {
            (Some(f), Some(p)) if lo <= f && f <= hi => Some(self.value_in(p, f)),
            (Some(f), _) => self.value_at(f),
            (None, _) => None,
        };
        let n = self.keys.len();
        if self.every_key_influences() {
            out.extend(0..n);
            return (value(None), hint);
        }
        if n == 0 {
            return (None, hint);
        }
        if n <= MAX_TABLE_KEYS {
            let p = if self.holds(hint, lo, hi) {
                Some(hint)
            } else {
                self.open_interval(lo, hi)
            };
            if let Some(p) = p {
                let sets = self.by_interval.0.get_or_init(|| self.interval_sets());
                let mut bits = sets[p];
                if bits != NO_SET {
                    while bits != 0 {
                        out.push(bits.trailing_zeros() as usize);
                        bits &= bits - 1;
                    }
                    return (value(Some(p)), p);
                }
            }
        }
        self.influence_searched(lo, hi, out);
        (value(None), hint)
    }

    /// The value at `frame`, inside the open interval `p` between keys (see
    /// [`Curve::open_interval`]): what [`Curve::value_at`] finds, without the search.
    fn value_in(&self, p: usize, frame: f64) -> f64 {
        let keys = &self.keys;
        let n = keys.len();
        if p == 0 {
            let first = &keys[0];
            return match first.extrap {
                Extrap::Linear => first.value + (frame - first.frame) * self.slopes[0].0,
                _ => first.value,
            };
        }
        if p == n {
            let last = &keys[n - 1];
            return match last.extrap {
                Extrap::Linear => last.value + (frame - last.frame) * self.slopes[n - 1].1,
                _ => last.value,
            };
        }
        self.segment_value(p - 1, frame)
    }

    /// Whether the open interval `p` between keys holds `[lo, hi]` (both ends
    /// strictly between the keys around it).
    fn holds(&self, p: usize, lo: f64, hi: f64) -> bool {
        let keys = &self.keys;
        p <= keys.len()
            && !lo.is_nan()
            && !hi.is_nan()
            && lo <= hi
            && (p == 0 || keys[p - 1].frame < lo)
            && (p == keys.len() || hi < keys[p].frame)
    }

    /// The open interval between keys that holds `[lo, hi]`, if one does: 0 before
    /// the first key, `i` between keys `i - 1` and `i`, the key count after the last.
    fn open_interval(&self, lo: f64, hi: f64) -> Option<usize> {
        let p = self.keys.partition_point(|k| k.frame <= lo);
        self.holds(p, lo, hi).then_some(p)
    }

    /// [`IntervalInfluence`]'s sets: for each open interval, the influence of a
    /// point inside it, searched.
    fn interval_sets(&self) -> Box<[u64]> {
        let keys = &self.keys;
        let n = keys.len();
        let mut found = Vec::new();
        (0..=n)
            .map(|p| {
                let x = match p {
                    0 => keys[0].frame - 1.0,
                    _ if p == n => keys[n - 1].frame + 1.0,
                    _ => keys[p - 1].frame + (keys[p].frame - keys[p - 1].frame) / 2.0,
                };
                if self.open_interval(x, x) != Some(p) {
                    return NO_SET;
                }
                self.influence_searched(x, x, &mut found);
                found.iter().fold(0, |bits, &i| bits | 1u64 << i)
            })
            .collect()
    }

    /// [`Curve::influence_into`] by searching the keys (for a curve whose every key
    /// does not influence every frame, with keys).
    fn influence_searched(&self, lo: f64, hi: f64, out: &mut Vec<usize>) {
        out.clear();
        let n = self.keys.len();
        let keys = &self.keys;
        let mut set = InfluenceSet { items: out };

        if lo <= keys[0].frame {
            set.add(0);
            if lo < keys[0].frame
                && keys[0].extrap == Extrap::Linear
                && self.tangent_deps(0, Side::Left, &mut set)
            {
                {
                    set.all(n);
                    return;
                }
            }
        }
        if hi >= keys[n - 1].frame {
            set.add(n - 1);
            if hi > keys[n - 1].frame
                && keys[n - 1].extrap == Extrap::Linear
                && self.tangent_deps(n - 1, Side::Right, &mut set)
            {
                {
                    set.all(n);
                    return;
                }
            }
        }
        // Segments (i, i + 1) whose open interval meets [lo, hi]: the first one ends
        // after lo, and they continue while they start before hi.
        let mut i = keys.partition_point(|k| k.frame <= lo).saturating_sub(1);
        while i + 1 < n && keys[i].frame < hi {
            if keys[i + 1].frame > lo {
                set.add(i);
                // A constant key holds its value until the next key, which only counts
                // from its own frame on, and by existing: without it, a key extrapolated
                // linearly would slope on.
                if keys[i].interp != Interp::Constant
                    || keys[i + 1].frame <= hi
                    || keys[i].extrap == Extrap::Linear
                {
                    set.add(i + 1);
                }
                if keys[i].interp != Interp::Constant {
                    let all = self.tangent_deps(i, Side::Right, &mut set)
                        || self.tangent_deps(i + 1, Side::Left, &mut set);
                    if all {
                        {
                            set.all(n);
                            return;
                        }
                    }
                }
            }
            i += 1;
        }
        // Keys inside the window give the value at their own frame (a window of one
        // frame that falls on a key meets no segment's open interval).
        let first_in = keys.partition_point(|k| k.frame < lo);
        for (j, k) in keys.iter().enumerate().skip(first_in) {
            if k.frame > hi {
                break;
            }
            set.add(j);
        }
        set.items.sort_unstable();
    }

    /// Adds the keys that key `j`'s tangent on `side` is computed from. Returns `true`
    /// when that is every key (a cubic key).
    fn tangent_deps(&self, j: usize, side: Side, set: &mut InfluenceSet<'_>) -> bool {
        let key = &self.keys[j];
        let user = match side {
            Side::Left => key.user_left(),
            Side::Right => key.user_right(),
        };
        if user.is_some() {
            return false;
        }
        match key.interp {
            Interp::Constant => false,
            Interp::Cubic | Interp::Other(_) => true,
            Interp::Linear => {
                // A linear tangent is the chord to the neighbour on its side (the
                // other neighbour when there is none).
                let n = self.keys.len();
                let toward = match side {
                    Side::Left if j > 0 => j - 1,
                    Side::Right if j + 1 < n => j + 1,
                    Side::Left => j + 1,
                    Side::Right => j.wrapping_sub(1),
                };
                if toward < n {
                    set.add(toward);
                }
                false
            }
            Interp::Smooth | Interp::CatmullRom => {
                if j > 0 {
                    set.add(j - 1);
                }
                if j + 1 < self.keys.len() {
                    set.add(j + 1);
                }
                false
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

/// A small ordered set of key indices (influence sets hold a handful of keys).
struct InfluenceSet<'a> {
    items: &'a mut Vec<usize>,
}

impl InfluenceSet<'_> {
    fn add(&mut self, i: usize) {
        if !self.items.contains(&i) {
            self.items.push(i);
        }
    }

    /// Every one of `n` keys.
    fn all(&mut self, n: usize) {
        self.items.clear();
        self.items.extend(0..n);
    }
}

struct RawKey<'a> {
    frame: Option<(f64, &'a str)>,
    value: (f64, &'a str),
    interp: Interp,
    extrap: Extrap,
    /// `s t u v` words: letter, number, text as written.
    words: Vec<(char, f64, &'a str)>,
}

impl RawKey<'_> {
    fn build(&self, frame: f64) -> Key {
        let mut key = Key {
            frame,
            value: self.value.0,
            interp: self.interp,
            extrap: self.extrap,
            slopes: 0,
            left_slope: 0.0,
            right_slope: 0.0,
            left_handle: 1.0,
            right_handle: 1.0,
            canonical: CompactString::default(),
        };
        let extrap = match self.extrap {
            Extrap::Constant => 'k',
            Extrap::Linear => 'l',
        };
        let frame_text = match self.frame {
            Some((_, text)) => text.to_owned(),
            None => format_f64(frame),
        };
        let mut c = compact_str::format_compact!(
            "{}{} x{} {}",
            self.interp.letter(),
            extrap,
            frame_text,
            self.value.1
        );
        for &(letter, n, text) in &self.words {
            match letter {
                's' => {
                    key.left_slope = n;
                    key.slopes |= 1;
                }
                't' => {
                    key.right_slope = n;
                    key.slopes |= 2;
                }
                'u' => key.left_handle = n,
                _ => key.right_handle = n,
            }
            c.push(' ');
            c.push_str(text);
        }
        key.canonical = c;
        key
    }
}

/// Slope of the chord from key `a` to key `b` (0 for keys on the same frame).
fn secant(a: &Key, b: &Key) -> f64 {
    let h = b.frame - a.frame;
    if h == 0.0 {
        0.0
    } else {
        (b.value - a.value) / h
    }
}

/// Effective (left, right) tangent of every key: user slopes win, then the key's own
/// interpolation decides.
fn compute_slopes(keys: &[Key]) -> Vec<(f64, f64)> {
    let n = keys.len();
    let cubic = if keys.iter().any(|k| k.interp == Interp::Cubic) {
        natural_spline_slopes(keys)
    } else {
        Vec::new()
    };
    (0..n)
        .map(|i| {
            let key = &keys[i];
            let left = (i > 0).then(|| secant(&keys[i - 1], key));
            let right = (i + 1 < n).then(|| secant(key, &keys[i + 1]));
            let auto = match key.interp {
                // A held key is flat on both sides (its right side is a step anyway).
                Interp::Constant => (0.0, 0.0),
                Interp::Linear => {
                    let l = left.or(right).unwrap_or(0.0);
                    let r = right.or(left).unwrap_or(0.0);
                    (l, r)
                }
                Interp::CatmullRom => {
                    let m = match (left, right) {
                        (Some(_), Some(_)) => secant(&keys[i - 1], &keys[i + 1]),
                        (Some(d), None) | (None, Some(d)) => d,
                        (None, None) => 0.0,
                    };
                    (m, m)
                }
                Interp::Cubic => (cubic[i], cubic[i]),
                // An end key has one neighbour, so it is an extremum of its
                // neighbourhood and flat: two smooth keys ease in and out. Unknown letters
                // are evaluated as smooth (their influence is every key anyway).
                Interp::Smooth | Interp::Other(_) => {
                    let m = match (left, right) {
                        (Some(dl), Some(dr)) => smooth_slope(&keys[i - 1], &keys[i + 1], dl, dr),
                        _ => 0.0,
                    };
                    (m, m)
                }
            };
            let l = key.user_left().unwrap_or(auto.0);
            let r = key.user_right().unwrap_or(auto.1);
            (l, r)
        })
        .collect()
}

/// Nuke's "smooth": the Catmull-Rom tangent, flattened at a local extremum and clamped
/// to three times the smaller neighbouring chord (the Fritsch-Carlson bound) so that
/// neither adjacent segment overshoots its keys.
fn smooth_slope(prev: &Key, next: &Key, dl: f64, dr: f64) -> f64 {
    if dl * dr <= 0.0 {
        return 0.0;
    }
    let m = secant(prev, next);
    let bound = 3.0 * dl.abs().min(dr.abs());
    m.clamp(-bound, bound)
}

/// Slopes of the natural cubic spline through every key (second derivative zero at
/// both ends), by the Thomas algorithm on the tridiagonal system for the second
/// derivatives. Every key feeds every slope, which is why a cubic key makes every key
/// influence the frames next to it.
fn natural_spline_slopes(keys: &[Key]) -> Vec<f64> {
    let n = keys.len();
    if n < 2 {
        return vec![0.0; n];
    }
    if n == 2 {
        let d = secant(&keys[0], &keys[1]);
        return vec![d, d];
    }
    let h: Vec<f64> = keys.windows(2).map(|w| w[1].frame - w[0].frame).collect();
    let d: Vec<f64> = keys.windows(2).map(|w| secant(&w[0], &w[1])).collect();
    // Unknowns m[1..n-1] (second derivatives); m[0] = m[n-1] = 0.
    let size = n - 2;
    let mut diag = vec![0.0; size];
    let mut upper = vec![0.0; size];
    let mut rhs = vec![0.0; size];
    for r in 0..size {
        let i = r + 1;
        diag[r] = 2.0 * (h[i - 1] + h[i]);
        upper[r] = h[i];
        rhs[r] = 6.0 * (d[i] - d[i - 1]);
    }
    // Forward sweep (the sub-diagonal of row r is h[r]).
    for r in 1..size {
        let w = if diag[r - 1] == 0.0 {
            0.0
        } else {
            h[r] / diag[r - 1]
        };
        diag[r] -= w * upper[r - 1];
        rhs[r] -= w * rhs[r - 1];
    }
    let mut m = vec![0.0; n];
    for r in (0..size).rev() {
        let next = if r + 1 < size { m[r + 2] } else { 0.0 };
        m[r + 1] = if diag[r] == 0.0 {
            0.0
        } else {
            (rhs[r] - upper[r] * next) / diag[r]
        };
    }
    let mut slopes = Vec::with_capacity(n);
    for i in 0..n - 1 {
        slopes.push(d[i] - h[i] * (2.0 * m[i] + m[i + 1]) / 6.0);
    }
    slopes.push(d[n - 2] + h[n - 2] * (m[n - 2] + 2.0 * m[n - 1]) / 6.0);
    slopes
}

/// Value of a segment whose handles are not a third of it: a 2-D cubic Bezier, solved
/// for the parameter whose frame is `frame` by bisection (the frame runs from one key
/// to the other, so a sign change is guaranteed; 64 halvings exhaust f64 precision).
fn bezier_value(a: &Key, b: &Key, m0: f64, m1: f64, frame: f64) -> f64 {
    let h = b.frame - a.frame;
    let (x0, y0) = (a.frame, a.value);
    let (x3, y3) = (b.frame, b.value);
    let dx1 = a.right_handle * h / 3.0;
    let dx2 = b.left_handle * h / 3.0;
    let (x1, y1) = (x0 + dx1, y0 + m0 * dx1);
    let (x2, y2) = (x3 - dx2, y3 - m1 * dx2);
    let at = |p0: f64, p1: f64, p2: f64, p3: f64, s: f64| {
        let r = 1.0 - s;
        r * r * r * p0 + 3.0 * r * r * s * p1 + 3.0 * r * s * s * p2 + s * s * s * p3
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if at(x0, x1, x2, x3, mid) < frame {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(y0, y1, y2, y3, 0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::Curve;

    /// The sets looked up per interval are the sets the search finds, for windows
    /// inside intervals, on keys, across keys and outside every key, whatever the
    /// interpolation, extrapolation and slopes.
    #[test]
    fn looked_up_influence_is_searched_influence() {
        let curves = [
            "curve x1 0 x5 2 x9 1 x20 4",
            "curve L x1 0 x5 2 x9 1 x20 4",
            "curve K x1 0 x5 2 L x9 1 x20 4",
            "curve C x1 0 x5 2 x9 1 x20 4",
            "curve R x1 0 x5 2 x9 1 x20 4",
            "curve L l x1 0 x5 2 s1 x9 1 t2 x20 4",
            "curve x1 0 s0.5 x5 2 u2 v0.5 x9 1 x20 4",
            "curve x3 7",
            "curve L l x3 7 x4 8",
            "curve x1e300 1 x1.0000000000000002e300 2",
        ];
        let mut points: Vec<f64> = (-4..=50).map(|i| f64::from(i) / 2.0).collect();
        points.extend([
            -1e9,
            1e9,
            4.999,
            5.001,
            1e300,
            1.0000000000000002e300,
            f64::NAN,
        ]);
        let (mut fast, mut searched) = (Vec::new(), Vec::new());
        for text in curves {
            let c = Curve::parse(text);
            for &lo in &points {
                for &hi in &points {
                    c.influence_into(lo, hi, &mut fast);
                    c.influence_searched(lo, hi, &mut searched);
                    assert_eq!(fast, searched, "{text} over [{lo}, {hi}]");
                }
            }
            // With a value and any hint: the same sets, and the value searched.
            let mut hint = 0;
            for &f in &points {
                for stale in [hint, 0, 3, 99] {
                    let (v, p) = c.influence_and_value(f, f, Some(f), stale, &mut fast);
                    c.influence_searched(f, f, &mut searched);
                    assert_eq!(fast, searched, "{text} at {f}");
                    let want = c.value_at(f).map(f64::to_bits);
                    assert_eq!(v.map(f64::to_bits), want, "{text} at {f}");
                    hint = p;
                }
            }
            // A copy finds its sets again.
            let copy = c.clone();
            copy.influence_into(5.5, 5.5, &mut fast);
            c.influence_searched(5.5, 5.5, &mut searched);
            assert_eq!(fast, searched, "{text}");
        }
    }
}
