//! Blender's F-curves: `{fcurve EXTRAPOLATION [mod=TYPE…] key…}`.
//!
//! A JSON graph exported from Blender writes an animated property as this text (see
//! [`crate::json_graph`]): the curve's extrapolation (`CONSTANT`, `LINEAR`), its
//! modifiers, then each key as `xFRAME VALUE INTERPOLATION [eEASING] [lX:Y] [rX:Y]
//! [bBACK] [aAMPLITUDE] [pPERIOD]`, Bezier handles as Blender stores them.
//!
//! Two things are built from it, as for Nuke curves ([`super::curve`]):
//!
//! * the *influence set* at a frame window ([`FCurve::influence_in`]): the keys whose
//!   text can change the value anywhere in the window. Blender stores its handles, so a
//!   segment depends on its two keys alone: the keys around the window, a key on it, the
//!   end keys (and their neighbours for linear extrapolation) outside the keyed range.
//!   A constant key holds until the next key. With a modifier every key counts.
//! * the value at a frame ([`FCurve::value_at`]) where it can be computed with
//!   arithmetic alone (constant, linear, Bezier, the polynomial easings, `CYCLES`), so
//!   that it is the same on every machine; otherwise `None`, which the manifest does not
//!   need (the keys decide the entry).

/// How a key shapes the segment after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FInterp {
    /// Held until the next key.
    Constant,
    /// A straight line to the next key.
    Linear,
    /// A cubic Bezier through the key's right handle and the next key's left one.
    Bezier,
    /// An easing family (`SINE`, `QUAD`, …, `ELASTIC`), by name.
    Easing(Easing),
    /// A word smartcache does not know: every key then influences every frame.
    Other,
}

/// The easing families of Blender's dynamic interpolations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Blender's names, one per family.
pub enum Easing {
    Sine,
    Quad,
    Cubic,
    Quart,
    Quint,
    Expo,
    Circ,
    Back,
    Bounce,
    Elastic,
}

/// One key.
#[derive(Debug, Clone, PartialEq)]
pub struct FKey {
    /// Where the key is.
    pub frame: f64,
    /// Its value.
    pub value: f64,
    /// How the segment after it is shaped.
    pub interp: FInterp,
    /// `EASE_IN`, `EASE_OUT`, `EASE_IN_OUT`, `AUTO`.
    pub easing: Option<String>,
    /// The left Bezier handle, `(frame, value)`.
    pub left: Option<(f64, f64)>,
    /// The right Bezier handle, `(frame, value)`.
    pub right: Option<(f64, f64)>,
    /// The overshoot of a `BACK` easing.
    pub back: Option<f64>,
    /// The key's text: its frame and value alone, with what shapes the segment after
    /// it (interpolation, easing, right handle), with its left handle, and whole.
    texts: [String; 4],
}

impl FKey {
    /// The key's text as the knob writes it.
    pub fn canonical(&self) -> &str {
        &self.texts[3]
    }

    /// The key's text with only the parts a window reads: its frame and value, then
    /// what shapes the segment after it (`after`) and its left handle (`before`).
    pub fn text(&self, before: bool, after: bool) -> &str {
        &self.texts[usize::from(after) | usize::from(before) << 1]
    }
}

/// A parsed F-curve.
#[derive(Debug, Clone, PartialEq)]
pub struct FCurve {
    /// The header words: `fcurve`, the extrapolation and the modifiers.
    pub flags: Vec<String>,
    /// Extrapolation is linear (else constant).
    pub linear_extrapolation: bool,
    /// Modifier types.
    pub modifiers: Vec<String>,
    keys: Vec<FKey>,
    /// Something was not understood, or keys are out of order: every key counts.
    irregular: bool,
}

fn number(w: &str) -> Option<f64> {
    w.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn pair(w: &str) -> Option<(f64, f64)> {
    let (a, b) = w.split_once(':')?;
    Some((number(a)?, number(b)?))
}

impl FCurve {
    /// Parses the text inside the braces (`fcurve CONSTANT x1 0 LINEAR x10 5 LINEAR`).
    /// Never fails: what it does not understand makes every key count.
    pub fn parse(inner: &str) -> FCurve {
        let mut words = inner.split_ascii_whitespace().peekable();
        let mut c = FCurve {
            // The head word keeps a Blender curve's entry apart from a Nuke curve's.
            flags: vec!["fcurve".to_string()],
            linear_extrapolation: false,
            modifiers: Vec::new(),
            keys: Vec::new(),
            irregular: false,
        };
        if words.next() != Some("fcurve") {
            c.irregular = true;
        }
        while let Some(w) = words.peek() {
            if w.starts_with('x') {
                break;
            }
            let w = words.next().expect("peeked");
            c.flags.push(w.to_string());
            match w {
                "CONSTANT" => {}
                "LINEAR" => c.linear_extrapolation = true,
                m if m.starts_with("mod=") => {
                    let t = m[4..].split(':').next().unwrap_or("");
                    c.modifiers.push(t.to_string());
                }
                _ => c.irregular = true,
            }
        }
        let mut current: Option<FKey> = None;
        while let Some(w) = words.next() {
            if let Some(f) = w.strip_prefix('x') {
                c.keys.extend(current.take());
                let (Some(frame), Some(value)) = (number(f), words.next().and_then(number)) else {
                    c.irregular = true;
                    continue;
                };
                let interp = match words.next().unwrap_or("") {
                    "CONSTANT" => FInterp::Constant,
                    "LINEAR" => FInterp::Linear,
                    "BEZIER" => FInterp::Bezier,
                    "SINE" => FInterp::Easing(Easing::Sine),
                    "QUAD" => FInterp::Easing(Easing::Quad),
                    "CUBIC" => FInterp::Easing(Easing::Cubic),
                    "QUART" => FInterp::Easing(Easing::Quart),
                    "QUINT" => FInterp::Easing(Easing::Quint),
                    "EXPO" => FInterp::Easing(Easing::Expo),
                    "CIRC" => FInterp::Easing(Easing::Circ),
                    "BACK" => FInterp::Easing(Easing::Back),
                    "BOUNCE" => FInterp::Easing(Easing::Bounce),
                    "ELASTIC" => FInterp::Easing(Easing::Elastic),
                    _ => {
                        c.irregular = true;
                        FInterp::Other
                    }
                };
                current = Some(FKey {
                    frame,
                    value,
                    interp,
                    easing: None,
                    left: None,
                    right: None,
                    back: None,
                    texts: Default::default(),
                });
                continue;
            }
            let Some(k) = current.as_mut() else {
                c.irregular = true;
                continue;
            };
            let (tag, rest) = w.split_at(w.chars().next().map_or(0, char::len_utf8));
            let understood = match tag {
                "e" if matches!(rest, "AUTO" | "EASE_IN" | "EASE_OUT" | "EASE_IN_OUT") => {
                    k.easing = Some(rest.to_string());
                    true
                }
                "l" => {
                    k.left = pair(rest);
                    k.left.is_some()
                }
                "r" => {
                    k.right = pair(rest);
                    k.right.is_some()
                }
                "b" => {
                    k.back = number(rest);
                    k.back.is_some()
                }
                "a" | "p" => number(rest).is_some(),
                _ => false,
            };
            c.irregular |= !understood;
        }
        c.keys.extend(current);
        // Each key's text exactly as written, for the manifest.
        c.rewrite_canonical(inner);
        if c.keys.windows(2).any(|w| w[0].frame >= w[1].frame) {
            c.irregular = true;
        }
        c
    }

    /// Each key's canonical text is its words exactly as written.
    fn rewrite_canonical(&mut self, inner: &str) {
        let words: Vec<&str> = inner.split_ascii_whitespace().collect();
        let mut starts: Vec<usize> = words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.starts_with('x') && w[1..].parse::<f64>().is_ok())
            .map(|(i, _)| i)
            .collect();
        if starts.len() != self.keys.len() {
            self.irregular = true;
            return;
        }
        starts.push(words.len());
        for (k, w) in self.keys.iter_mut().zip(starts.windows(2)) {
            let key = &words[w[0]..w[1]];
            let head = key[..2.min(key.len())].join(" ");
            let (mut after, mut before) = (String::new(), String::new());
            for word in key.iter().skip(2) {
                let part = if word.starts_with('l') {
                    &mut before
                } else {
                    &mut after
                };
                part.push(' ');
                part.push_str(word);
            }
            k.texts = [
                head.clone(),
                format!("{head}{after}"),
                format!("{head}{before}"),
                key.join(" "),
            ];
        }
    }

    /// The keys, in frame order.
    pub fn keys(&self) -> &[FKey] {
        &self.keys
    }

    /// Everything was understood: the keys and flags are the whole text, so recording
    /// them (and not the text) loses nothing. An irregular curve is recorded as text.
    pub fn is_regular(&self) -> bool {
        !self.irregular
    }

    /// The same value at every frame: at most one key and no modifier.
    pub fn is_constant(&self) -> bool {
        !self.all() && self.keys.len() <= 1
    }

    /// Every key counts for every frame.
    fn all(&self) -> bool {
        self.irregular || !self.modifiers.is_empty()
    }

    /// Indices of the keys that can change the value anywhere in `[lo, hi]`.
    pub fn influence_in(&self, lo: f64, hi: f64) -> Vec<usize> {
        let n = self.keys.len();
        if self.all() {
            return (0..n).collect();
        }
        if n == 0 {
            return Vec::new();
        }
        let k = &self.keys;
        let mut set = std::collections::BTreeSet::new();
        if lo <= k[0].frame {
            set.insert(0);
            if self.linear_extrapolation && n > 1 {
                set.insert(1);
            }
        }
        if hi >= k[n - 1].frame {
            set.insert(n - 1);
            if self.linear_extrapolation && n > 1 {
                set.insert(n - 2);
            }
        }
        for (i, key) in k.iter().enumerate() {
            if key.frame >= lo && key.frame <= hi {
                set.insert(i);
            }
        }
        for i in 0..n - 1 {
            let (a, b) = (&k[i], &k[i + 1]);
            // The open segment (a, b) meets the window.
            if b.frame > lo && a.frame < hi {
                set.insert(i);
                let held = a.interp == FInterp::Constant;
                if !held || b.frame <= hi || self.linear_extrapolation {
                    set.insert(i + 1);
                }
            }
        }
        set.into_iter().collect()
    }

    /// The one modifier is a `CYCLES` that repeats the keys forever both ways, with no
    /// offset, mirror, count, range or influence: the only modifier computed here.
    fn plain_cycles(&self) -> bool {
        let Some(flag) = self.flags.iter().find(|f| f.starts_with("mod=CYCLES")) else {
            return false;
        };
        flag.split(':').skip(1).all(|setting| {
            let (k, v) = setting.split_once('=').unwrap_or((setting, ""));
            match k {
                "mode_before" | "mode_after" => v == "REPEAT",
                "cycles_before" | "cycles_after" => v == "0",
                "use_restricted_range" | "use_influence" | "mute" => v == "false",
                // Only read with the switches above, or interface state.
                "frame_start" | "frame_end" | "blend_in" | "blend_out" | "influence" | "active"
                | "show_expanded" | "is_valid" | "name" => true,
                _ => false,
            }
        })
    }

    /// The keys' text a window `[lo, hi]` reads: the keys of
    /// [`FCurve::influence_in`], each with the parts that shape the window (a key the
    /// window only touches contributes its frame and value; the segment after it adds
    /// its interpolation and right handle, the segment before it its left handle).
    pub fn entry_keys(&self, lo: f64, hi: f64) -> Vec<&str> {
        let k = &self.keys;
        let n = k.len();
        let every = self.all();
        let linear = self.linear_extrapolation;
        self.influence_in(lo, hi)
            .into_iter()
            .map(|i| {
                if every {
                    return k[i].canonical();
                }
                let meets = |a: usize| k[a + 1].frame > lo && k[a].frame < hi;
                let after = (i + 1 < n && meets(i)) || (i + 1 == n && linear && hi > k[i].frame);
                let before = (i > 0 && meets(i - 1)) || (i == 0 && linear && lo < k[0].frame);
                // Extrapolating before the first key reads how it is interpolated.
                let after = after || (i == 0 && linear && lo < k[0].frame);
                k[i].text(before, after)
            })
            .collect()
    }

    /// The value at `frame`, where arithmetic alone computes it.
    pub fn value_at(&self, frame: f64) -> Option<f64> {
        if self.irregular || !frame.is_finite() {
            return None;
        }
        let k = &self.keys;
        let (first, last) = (k.first()?, k.last()?);
        let mut f = frame;
        match self.modifiers.as_slice() {
            [] => {}
            [m] if m == "CYCLES" && self.plain_cycles() => {
                let period = last.frame - first.frame;
                if period <= 0.0 {
                    return Some(first.value);
                }
                f = first.frame + (f - first.frame).rem_euclid(period);
            }
            _ => return None,
        }
        // Linear extrapolation follows the end key's own interpolation: held when
        // constant, towards its neighbour when linear, along its handle when Bezier.
        if f <= first.frame {
            if f < first.frame && self.linear_extrapolation && k.len() > 1 {
                let slope = match (first.interp, first.left) {
                    (FInterp::Constant, _) => 0.0,
                    (FInterp::Linear, _) => (k[1].value - first.value) / (k[1].frame - first.frame),
                    (FInterp::Bezier, Some((x, y))) if x != first.frame => {
                        (first.value - y) / (first.frame - x)
                    }
                    _ => return None,
                };
                return Some(first.value + (f - first.frame) * slope);
            }
            return Some(first.value);
        }
        if f >= last.frame {
            let n = k.len();
            if f > last.frame && self.linear_extrapolation && n > 1 {
                let prev = &k[n - 2];
                let slope = match (last.interp, last.right) {
                    (FInterp::Constant, _) => 0.0,
                    (FInterp::Linear, _) => (last.value - prev.value) / (last.frame - prev.frame),
                    (FInterp::Bezier, Some((x, y))) if x != last.frame => {
                        (y - last.value) / (x - last.frame)
                    }
                    _ => return None,
                };
                return Some(last.value + (f - last.frame) * slope);
            }
            return Some(last.value);
        }
        let i = k.partition_point(|key| key.frame <= f) - 1;
        let (a, b) = (&k[i], &k[i + 1]);
        if f == a.frame {
            return Some(a.value);
        }
        let (d, c, t) = (b.frame - a.frame, b.value - a.value, f - a.frame);
        match a.interp {
            FInterp::Constant => Some(a.value),
            FInterp::Linear => Some(a.value + c * t / d),
            FInterp::Bezier => bezier(a, b, f),
            FInterp::Easing(e) => {
                ease(e, a.easing.as_deref(), a.back, t / d).map(|s| a.value + c * s)
            }
            FInterp::Other => None,
        }
    }
}

/// The Bezier segment from `a` to `b` at `f`: handles corrected as Blender does (their
/// frame lengths scaled down when together they overlap the segment), then the curve
/// parameter found by bisection, all in plain arithmetic.
fn bezier(a: &FKey, b: &FKey, f: f64) -> Option<f64> {
    let (p0, p3) = ((a.frame, a.value), (b.frame, b.value));
    let (mut p1, mut p2) = (a.right?, b.left?);
    let len = p3.0 - p0.0;
    let (l1, l2) = (p1.0 - p0.0, p3.0 - p2.0);
    if l1 < 0.0 || l2 < 0.0 {
        return None;
    }
    if l1 + l2 > len && l1 + l2 > 0.0 {
        let s = len / (l1 + l2);
        p1 = (p0.0 + l1 * s, p0.1 + (p1.1 - p0.1) * s);
        p2 = (p3.0 - l2 * s, p3.1 + (p2.1 - p3.1) * s);
    }
    let at = |t: f64, a: f64, b: f64, c: f64, d: f64| {
        let u = 1.0 - t;
        u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..64 {
        let mid = (lo + hi) / 2.0;
        if at(mid, p0.0, p1.0, p2.0, p3.0) < f {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = (lo + hi) / 2.0;
    Some(at(t, p0.1, p1.1, p2.1, p3.1))
}

/// An easing's progress `s` in `[0, 1]` at relative time `x` in `[0, 1]`, for the
/// families computed with arithmetic alone; `None` for the others (sine, exponential,
/// elastic use the C library, which differs between machines in the last bit).
fn ease(e: Easing, mode: Option<&str>, back: Option<f64>, x: f64) -> Option<f64> {
    // Blender's automatic easing: "in" for the transitional families, "out" for the
    // dynamic ones (back, bounce, elastic).
    let dynamic = matches!(e, Easing::Back | Easing::Bounce | Easing::Elastic);
    let mode = match mode {
        None | Some("AUTO") if dynamic => "EASE_OUT",
        None | Some("AUTO") => "EASE_IN",
        Some(m) => m,
    };
    let ease_in = |x: f64| -> Option<f64> {
        Some(match e {
            Easing::Quad => x * x,
            Easing::Cubic => x * x * x,
            Easing::Quart => x * x * x * x,
            Easing::Quint => x * x * x * x * x,
            Easing::Circ => 1.0 - (1.0 - x * x).max(0.0).sqrt(),
            Easing::Back => {
                let s = back.unwrap_or(1.70158);
                x * x * ((s + 1.0) * x - s)
            }
            Easing::Bounce => 1.0 - bounce_out(1.0 - x),
            Easing::Sine | Easing::Expo | Easing::Elastic => return None,
        })
    };
    match mode {
        "EASE_IN" => ease_in(x),
        "EASE_OUT" => ease_in(1.0 - x).map(|v| 1.0 - v),
        "EASE_IN_OUT" if x < 0.5 => ease_in(2.0 * x).map(|v| v / 2.0),
        "EASE_IN_OUT" => ease_in(2.0 - 2.0 * x).map(|v| 1.0 - v / 2.0),
        _ => None,
    }
}

fn bounce_out(x: f64) -> f64 {
    if x < 1.0 / 2.75 {
        7.5625 * x * x
    } else if x < 2.0 / 2.75 {
        let x = x - 1.5 / 2.75;
        7.5625 * x * x + 0.75
    } else if x < 2.5 / 2.75 {
        let x = x - 2.25 / 2.75;
        7.5625 * x * x + 0.9375
    } else {
        let x = x - 2.625 / 2.75;
        7.5625 * x * x + 0.984375
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_constant_and_cyclic_values() {
        let c = FCurve::parse("fcurve CONSTANT x1 0 LINEAR x11 10 CONSTANT x21 20 LINEAR");
        assert_eq!(c.value_at(6.0), Some(5.0));
        assert_eq!(c.value_at(15.0), Some(10.0));
        assert_eq!(c.value_at(0.0), Some(0.0));
        assert_eq!(c.value_at(30.0), Some(20.0));
        assert_eq!(c.keys()[1].canonical(), "x11 10 CONSTANT");
        let cyc = FCurve::parse("fcurve CONSTANT mod=CYCLES x1 0 LINEAR x11 10 LINEAR");
        assert_eq!(cyc.value_at(16.0), Some(5.0));
        assert_eq!(cyc.influence_in(16.0, 16.0), [0, 1]);
        let mirrored =
            FCurve::parse("fcurve CONSTANT mod=CYCLES:mode_after=MIRROR x1 0 LINEAR x11 10 LINEAR");
        assert_eq!(mirrored.value_at(16.0), None);
        let plain = FCurve::parse(
            "fcurve CONSTANT mod=CYCLES:cycles_after=0:mode_after=REPEAT:mute=false x1 0 LINEAR x11 10 LINEAR",
        );
        assert_eq!(plain.value_at(16.0), Some(5.0));
    }

    #[test]
    fn influence_is_the_keys_around_the_window() {
        let c = FCurve::parse(
            "fcurve CONSTANT x1 0 BEZIER l0:0 r4:0 x10 5 BEZIER l7:5 r13:5 x20 0 CONSTANT x30 1 LINEAR",
        );
        assert_eq!(c.influence_in(5.0, 5.0), [0, 1]);
        assert_eq!(c.influence_in(10.0, 10.0), [1]);
        // Held from 20: key 30 counts only from its own frame.
        assert_eq!(c.influence_in(25.0, 25.0), [2]);
        assert_eq!(c.influence_in(35.0, 35.0), [3]);
        let v = c.value_at(5.5).unwrap();
        assert!(v > 2.0 && v < 3.0, "{v}");
    }

    #[test]
    fn what_is_not_understood_is_irregular() {
        for text in [
            "fcurve CONSTANT x1 0 LINEAR passenger",
            "driver x",
            "fcurve NOPE x1 0 LINEAR",
            "fcurve x5 0 LINEAR x1 2 LINEAR",
            "fcurve CONSTANT x1 0 LINEAR é",
        ] {
            assert!(!FCurve::parse(text).is_regular(), "{text}");
        }
        assert!(FCurve::parse("fcurve LINEAR x1 0 LINEAR x2 1 BEZIER l1.5:1 r2.5:1").is_regular());
    }

    #[test]
    fn a_window_reads_only_the_parts_of_a_key_that_shape_it() {
        let c = FCurve::parse(
            "fcurve CONSTANT x1 0.2 LINEAR x6 0.9 BEZIER l5:0.9 r7:0.9 x12 0.4 BEZIER l11:0.4",
        );
        // On the first key: its value alone (its interpolation shapes frames after it).
        assert_eq!(c.entry_keys(1.0, 1.0), ["x1 0.2"]);
        assert_eq!(c.entry_keys(3.0, 3.0), ["x1 0.2 LINEAR", "x6 0.9 l5:0.9"]);
        assert_eq!(c.entry_keys(6.0, 6.0), ["x6 0.9"]);
        assert_eq!(
            c.entry_keys(8.0, 8.0),
            ["x6 0.9 BEZIER r7:0.9", "x12 0.4 l11:0.4"]
        );
        assert_eq!(c.entry_keys(12.0, 12.0), ["x12 0.4"]);
        assert_eq!(
            c.entry_keys(5.5, 6.5),
            [
                "x1 0.2 LINEAR",
                "x6 0.9 BEZIER l5:0.9 r7:0.9",
                "x12 0.4 l11:0.4"
            ]
        );
    }

    #[test]
    fn easings_with_arithmetic_only() {
        let c = FCurve::parse("fcurve CONSTANT x0 0 QUAD eEASE_IN x10 10 LINEAR");
        assert_eq!(c.value_at(5.0), Some(2.5));
        let s = FCurve::parse("fcurve CONSTANT x0 0 SINE x10 10 LINEAR");
        assert_eq!(s.value_at(5.0), None);
        assert_eq!(s.influence_in(5.0, 5.0), [0, 1]);
    }
}
