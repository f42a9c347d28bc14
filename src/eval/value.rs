//! A knob's text, structured just enough to know what it is worth at a frame.
//!
//! [`KnobValue::parse`] splits a knob's text into a flat list of [`Part`]s: the
//! animated or computed components (curves, expressions, Tcl strings) and the plain
//! text between them, byte for byte. Keeping the plain text as it was written, braces
//! and whitespace included, means nothing is lost: whatever smartcache does not
//! structure is hashed as text, which is conservative. Keeping the list flat (rather
//! than a tree of nested lists) makes parsing, the frame view and dropping the value
//! all free of recursion, however deeply the braces nest.
//!
//! Which braced words are animations? Nuke decides by knob type, which the script does
//! not say, so the rule is read off the words:
//!
//! * the knob's own braces hold a list (`{320 240}`, `{rgba.red rgba.green}`), unless
//!   their first word is `curve` (an animation written without a list around it);
//! * a braced word inside a list is an animation when its first word is `curve`
//!   (`{curve x1 1}`, `{curve(frame-1) …}`) or an expression followed only by curve
//!   words (`{parent.size}`, `{-1+parent.curve i x70 1}`, `{"a ? b : c"}`);
//! * it is a nested list when its first word is braced or a number (matrix rows
//!   `{0 1 2}`, `{{parent.m.0} {parent.m.1}}`), or when other words follow that are not
//!   curve words.
//!
//! Roto shape data (`curves {{{v x3f99999a} …}`) has its own animation encoding; it is
//! kept opaque and marked time-dependent, but the expressions it links (`{=origin.x …}`)
//! are still analysed so that their references are not missed.

use std::ops::Range;

use compact_str::CompactString;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::curve::{split_head, Curve, BLUR_HALF_WINDOW};
use super::driver::Driver;
use super::expr::{self, Expression, Reference};
use super::fcurve::FCurve;
use super::num::{format_f64, is_hex_float, parse_decimal};

/// One component of a knob value, with its byte range in the knob text.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text that is hashed as written.
    Plain(Range<usize>),
    /// An animation: keys, optionally with an expression.
    Curve {
        /// Its byte range in the knob text.
        span: Range<usize>,
        /// The parsed curve (boxed: most knobs are plain text, and a part is as large as
        /// its largest kind).
        curve: Box<Curve>,
    },
    /// A Blender F-curve (`{fcurve …}`, see [`super::fcurve`]), understood whole.
    FCurve {
        /// Its byte range in the knob text.
        span: Range<usize>,
        /// The parsed F-curve.
        curve: Box<FCurve>,
    },
    /// A computed value: a Nuke expression, a Tcl string, or opaque data whose
    /// dependencies were extracted but whose value cannot be derived.
    Expression {
        /// Its byte range in the knob text.
        span: Range<usize>,
        /// What kind of expression.
        kind: ExprKind,
        /// The parsed expression and what it reads.
        expr: Box<Expression>,
    },
}

/// What kind of computed component an [`Part::Expression`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    /// `{parent.size*2}` inside a list.
    Nuke,
    /// A knob string with Tcl substitutions: `"\[value which]"`.
    Tcl,
    /// Roto shape data: hashed whole, expression links analysed.
    Opaque,
    /// A Blender driver (`{driver …}`, see [`super::driver`]): hashed whole; its
    /// [`Expression::text`] is the equivalent Nuke expression, or empty.
    Driver,
}

impl Part {
    /// The part's byte range in the knob text.
    pub fn span(&self) -> Range<usize> {
        match self {
            Part::Plain(r) => r.clone(),
            Part::Curve { span, .. }
            | Part::FCurve { span, .. }
            | Part::Expression { span, .. } => span.clone(),
        }
    }
}

impl ExprKind {
    /// The tag the part is written with in a manifest (`expr`, `tcl`, `opaque`,
    /// `driver`).
    pub fn tag(self) -> &'static str {
        match self {
            ExprKind::Nuke => "expr",
            ExprKind::Tcl => "tcl",
            ExprKind::Opaque => "opaque",
            ExprKind::Driver => "driver",
        }
    }
}

/// A knob's value, parsed once and viewed at any frame with [`KnobValue::at`].
///
/// Most knobs of a script are plain text (`size 2.394`, `filter gaussian`): such a value
/// is its text alone, one plain part covering it, with no analysis allocated, so that a
/// setup of tens of thousands of nodes costs little more memory than the script's text.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobValue {
    text: CompactString,
    /// `None`: one plain part covering the whole text, no component, nothing read.
    analysis: Option<Box<Analysis>>,
}

/// The components of a [`KnobValue`] ([`KnobValue::parts`]): a plain value's one part
/// is made when asked for, not stored.
pub struct Parts<'a> {
    whole: [Part; 1],
    listed: Option<&'a [Part]>,
}

impl std::ops::Deref for Parts<'_> {
    type Target = [Part];
    fn deref(&self) -> &[Part] {
        self.listed.unwrap_or(&self.whole)
    }
}

/// The parts of a value that is not one plain text, and what they read.
#[derive(Debug, Clone, PartialEq, Default)]
struct Analysis {
    parts: Vec<Part>,
    refs: Vec<Reference>,
    unresolvable: Vec<String>,
    env: Vec<String>,
    time_dependent: bool,
    /// The parts were let go ([`KnobValue::shed_parts`]) and are to be read again
    /// from the text before anything looks at them.
    shed: bool,
}

impl KnobValue {
    /// Parses a knob's text as the script wrote it. Never fails; linear in the length
    /// of the text; a value with no nested brace and no substitution is a single plain
    /// part found without any structuring.
    pub fn parse(text: &str) -> KnobValue {
        let parts = split(text);
        if let [Part::Plain(r)] = parts.as_slice() {
            if *r == (0..text.len()) {
                return KnobValue {
                    text: text.into(),
                    analysis: None,
                };
            }
        }
        let mut value = Analysis {
            parts,
            ..Analysis::default()
        };
        for part in &value.parts {
            let e = match part {
                Part::Plain(_) => None,
                Part::Curve { curve, .. } => {
                    // A curve smartcache does not evaluate is recorded as written, so
                    // the frame has to be recorded beside it.
                    value.time_dependent |= !curve.is_exact();
                    curve.expression.as_deref()
                }
                Part::FCurve { .. } => None,
                Part::Expression { expr, kind, .. } => {
                    value.time_dependent |= *kind == ExprKind::Opaque;
                    Some(&**expr)
                }
            };
            if let Some(e) = e {
                value.refs.extend(e.refs.iter().cloned());
                value.unresolvable.extend(e.unresolvable.iter().cloned());
                value.env.extend(e.env.iter().cloned());
                value.time_dependent |= e.time_dependent;
            }
        }
        value.refs.sort();
        value.refs.dedup();
        value.unresolvable.sort();
        value.unresolvable.dedup();
        value.env.sort();
        value.env.dedup();
        KnobValue {
            text: text.into(),
            analysis: Some(Box::new(value)),
        }
    }

    fn analysis(&self) -> Option<&Analysis> {
        self.analysis.as_deref()
    }

    /// The knob text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The components, in text order; the plain parts cover everything else.
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            whole: [Part::Plain(0..self.text.len())],
            listed: self.listed_parts(),
        }
    }

    /// The components when the value is not one plain text ([`KnobValue::parts`]
    /// borrowed from the value, not made).
    pub fn listed_parts(&self) -> Option<&[Part]> {
        let a = self.analysis()?;
        debug_assert!(!a.shed, "the parts of {:?} were let go", self.text);
        Some(a.parts.as_slice())
    }

    /// Let go of the parsed components (curves and their keys, expressions), keeping
    /// the text and what the value reads ([`KnobValue::references`],
    /// [`KnobValue::env`], [`KnobValue::unresolvable`],
    /// [`KnobValue::time_dependent`]), until [`KnobValue::restore_parts`] reads them
    /// again. A setup is built while the whole script is in memory; its curves are
    /// most of its size, and are only needed once the script is let go.
    pub fn shed_parts(&mut self) {
        if let Some(a) = self.analysis.as_deref_mut() {
            a.parts = Vec::new();
            a.shed = true;
        }
    }

    /// Read the components [`KnobValue::shed_parts`] let go again from the text (the
    /// same parts: parsing is a function of the text).
    pub fn restore_parts(&mut self) {
        if let Some(a) = self.analysis.as_deref_mut().filter(|a| a.shed) {
            a.parts = split(&self.text);
            a.shed = false;
        }
    }

    /// `true` when the whole value is one plain text.
    pub fn is_plain(&self) -> bool {
        self.analysis.is_none()
    }

    /// `true` when some component is an animation curve (`{curve …}` or an expression
    /// with keys). A keyless expression such as `{{frame}}` is not animated but is
    /// [`time_dependent`](Self::time_dependent).
    pub fn is_animated(&self) -> bool {
        self.parts()
            .iter()
            .any(|p| matches!(p, Part::Curve { .. } | Part::FCurve { .. }))
    }

    /// Every knob the value reads, sorted, without repeats.
    pub fn references(&self) -> &[Reference] {
        self.analysis().map_or(&[], |a| &a.refs)
    }

    /// Environment variables the value reads (see [`Expression::env`]).
    pub fn env(&self) -> &[String] {
        self.analysis().map_or(&[], |a| &a.env)
    }

    /// Parts that cannot be resolved statically (see [`Expression::unresolvable`]).
    pub fn unresolvable(&self) -> &[String] {
        self.analysis().map_or(&[], |a| &a.unresolvable)
    }

    /// The frame itself must be part of the manifest: an expression reads the frame, or
    /// a component's value at a frame cannot be computed here.
    pub fn time_dependent(&self) -> bool {
        self.analysis().is_some_and(|a| a.time_dependent)
    }

    /// Same frame view on every frame, apart from what referenced knobs contribute:
    /// nothing time-dependent and every curve constant.
    pub fn is_locally_static(&self) -> bool {
        !self.time_dependent()
            && self.parts().iter().all(|p| match p {
                Part::Curve { curve, .. } => curve.is_constant(),
                Part::FCurve { curve, .. } => curve.is_constant(),
                _ => true,
            })
    }

    /// Same value on every frame: locally static and reading no other knob. The
    /// manifest can then compute the node's record once, not per frame.
    pub fn is_static(&self) -> bool {
        self.is_locally_static() && self.references().is_empty() && self.env().is_empty()
    }

    /// The value at `frame`, as canonical content for the manifest. Curves record the
    /// keys that influence the motion-blur window `[frame - 0.5, frame + 0.5]`.
    pub fn at(&self, frame: f64) -> FrameValue<'_> {
        self.at_window(frame, frame - BLUR_HALF_WINDOW, frame + BLUR_HALF_WINDOW)
    }

    /// The value at `frame`, with curves recording the keys that influence the window
    /// `[lo, hi]` (which should contain `frame`): for nodes whose shutter reaches
    /// further than half a frame.
    pub fn at_window(&self, frame: f64, lo: f64, hi: f64) -> FrameValue<'_> {
        let (lo, hi) = (lo.min(frame), hi.max(frame));
        self.view(Some(frame), lo, hi)
    }

    /// The value over every time of `[lo, hi]` (a span, when a node is evaluated at
    /// every time of a shutter or at every frame): curves record the keys that
    /// influence the span and no value.
    pub fn over(&self, lo: f64, hi: f64) -> FrameValue<'_> {
        self.view(None, lo, hi)
    }

    fn view(&self, frame: Option<f64>, lo: f64, hi: f64) -> FrameValue<'_> {
        FrameValue {
            refs: self.references(),
            time_dependent: self.time_dependent(),
            unresolvable: self.unresolvable(),
            value: match self.listed_parts() {
                None => vec![FramePart::Text(&self.text)],
                Some(parts) => parts
                    .iter()
                    .map(|p| self.part_at(p, frame, lo, hi))
                    .collect(),
            },
        }
    }

    /// One of [`KnobValue::parts`] viewed at `frame` (or, with `None`, over a span),
    /// curves recording the keys that influence `[lo, hi]`: the component of
    /// [`KnobValue::at_window`] and [`KnobValue::over`], for callers that write a
    /// value's parts one at a time.
    pub fn part_at<'a>(
        &'a self,
        p: &'a Part,
        frame: Option<f64>,
        lo: f64,
        hi: f64,
    ) -> FramePart<'a> {
        match p {
            Part::Plain(r) => FramePart::Text(&self.text[r.clone()]),
            Part::Curve { span, curve } if curve.is_exact() => FramePart::Curve {
                flags: &curve.flags,
                keys: curve
                    .influence_in(lo, hi)
                    .into_iter()
                    .map(|i| curve.keys()[i].canonical())
                    .collect(),
                value: frame.and_then(|f| curve.value_at(f)),
                text: &self.text[span.clone()],
            },
            Part::Curve { span, .. } => FramePart::Raw {
                tag: "animation",
                text: &self.text[span.clone()],
            },
            Part::FCurve { span, curve } => FramePart::Curve {
                flags: &curve.flags,
                keys: curve.entry_keys(lo, hi),
                value: frame.and_then(|f| curve.value_at(f)),
                text: &self.text[span.clone()],
            },
            Part::Expression { span, kind, .. } => FramePart::Raw {
                tag: kind.tag(),
                text: &self.text[span.clone()],
            },
        }
    }
}

/// A knob's canonical content at one frame.
///
/// Serialises to JSON with sorted keys, empty fields left out:
/// `{"refs":[…],"time_dependent":true,"unresolvable":[…],"value":…}` where `value` is
/// the text of a plain knob, or a list of text fragments and components
/// (`{"curve":{"keys":[…],"value":"1.5"}}`, `{"expr":"{parent.size}"}`,
/// `{"tcl":…}`, `{"animation":…}` for a curve kept as text, `{"opaque":…}`).
/// Numbers from the script stay text; only a computed curve value is printed, with
/// shortest round-trip formatting.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameValue<'a> {
    /// Knobs whose values (at the same frame, or their whole animation when
    /// [`Reference::other_frames`]) the manifest must attach.
    pub refs: &'a [Reference],
    /// The frame number must be part of the manifest.
    pub time_dependent: bool,
    /// Parts of the value that cannot be analysed, as written.
    pub unresolvable: &'a [String],
    /// The value's parts at the frame.
    pub value: Vec<FramePart<'a>>,
}

impl FrameValue<'_> {
    /// Canonical JSON bytes (sorted keys), ready to hash.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Every key is a string and every value plain data, and writing to a Vec does
        // no I/O: serde_json has no error to report here. (Falling back to empty bytes
        // instead would let two different values hash alike.)
        serde_json::to_vec(self).expect("serialising a FrameValue to memory cannot fail")
    }

    /// Alias of [`FrameValue::time_dependent`], named for the manifest's question.
    pub fn needs_frame(&self) -> bool {
        self.time_dependent
    }
}

/// One component of a [`FrameValue`].
#[derive(Debug, Clone, PartialEq)]
pub enum FramePart<'a> {
    /// Plain text as written.
    Text(&'a str),
    /// A curve evaluated at the frame: its value and the canonical text of the keys
    /// that influence the frame (`None` for a span, or a curve without keys). `text`
    /// (the curve as written) is for display only and is not serialised.
    Curve {
        /// The curve's flags as written.
        flags: &'a [String],
        /// The keys that can influence the frame, canonical text.
        keys: Vec<&'a str>,
        /// The value at the frame.
        value: Option<f64>,
        /// The curve as written (display only, not hashed).
        text: &'a str,
    },
    /// A component kept as written, tagged with what it is.
    Raw {
        /// What the component is.
        tag: &'static str,
        /// The component as written.
        text: &'a str,
    },
}

impl Serialize for FrameValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.refs.is_empty() {
            m.serialize_entry("refs", self.refs)?;
        }
        if self.time_dependent {
            m.serialize_entry("time_dependent", &true)?;
        }
        if !self.unresolvable.is_empty() {
            m.serialize_entry("unresolvable", self.unresolvable)?;
        }
        match self.value.as_slice() {
            [FramePart::Text(t)] => m.serialize_entry("value", t)?,
            parts => m.serialize_entry("value", &FrameParts(parts))?,
        }
        m.end()
    }
}

struct FrameParts<'p, 'a>(&'p [FramePart<'a>]);

impl Serialize for FrameParts<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for p in self.0 {
            seq.serialize_element(p)?;
        }
        seq.end()
    }
}

impl Serialize for FramePart<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FramePart::Text(t) => s.serialize_str(t),
            FramePart::Curve {
                flags, keys, value, ..
            } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("curve", &CurveView { flags, keys, value })?;
                m.end()
            }
            FramePart::Raw { tag, text } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(tag, text)?;
                m.end()
            }
        }
    }
}

struct CurveView<'v, 'a> {
    flags: &'a [String],
    keys: &'v [&'a str],
    value: &'v Option<f64>,
}

impl Serialize for CurveView<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.flags.is_empty() {
            m.serialize_entry("flags", &self.flags.join(" "))?;
        }
        m.serialize_entry("keys", self.keys)?;
        if let Some(v) = self.value {
            m.serialize_entry("value", &format_f64(*v))?;
        }
        m.end()
    }
}

// ---------------------------------------------------------------------------
// Splitting a knob's text into parts.

/// Splits `text` into parts (plain gaps filled in).
fn split(text: &str) -> Vec<Part> {
    let whole = 0..text.len();
    let b = text.as_bytes();
    if is_roto(b) {
        return vec![roto(text)];
    }
    if b.first() != Some(&b'{') {
        // A single word. Only Tcl substitutions can make it more than text.
        if !b.iter().any(|&c| c == b'[' || c == b'$') {
            return vec![Part::Plain(whole)];
        }
        return vec![Part::Expression {
            span: whole,
            kind: ExprKind::Tcl,
            expr: Box::new(expr::analyse_tcl(&unescape_word(text))),
        }];
    }
    // Fast path: a flat list (no nested brace) is plain unless it is a bare curve.
    if !b[1..].contains(&b'{') && !is_animation_head(first_word(&text[1..])) {
        return vec![Part::Plain(whole)];
    }
    let Some(pairs) = brace_pairs(b) else {
        return vec![Part::Plain(whole)];
    };
    let mut components: Vec<Part> = Vec::new();
    if pairs.first() != Some(&(0, b.len() - 1)) {
        // Not one braced word (a reader would not produce this): read it as the words
        // of a list, so that no braced expression in it goes unanalysed.
        walk_lists(text, &pairs, 0..b.len(), &mut components);
    } else if is_animation_head(first_word(&text[1..b.len() - 1])) {
        components.push(animation(text, whole));
    } else {
        walk_lists(text, &pairs, 1..b.len() - 1, &mut components);
    }
    fill_gaps(text.len(), components)
}

/// Walks the top-level list and every nested list with an explicit stack, collecting
/// the animated components in text order.
fn walk_lists(text: &str, pairs: &[(usize, usize)], content: Range<usize>, out: &mut Vec<Part>) {
    let b = text.as_bytes();
    let mut braces = Braces::new(pairs);
    // (next byte to read, end of the list's content)
    let mut stack: Vec<(usize, usize)> = vec![(content.start, content.end)];
    while let Some(&(mut pos, end)) = stack.last() {
        while pos < end && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= end {
            stack.pop();
            continue;
        }
        let top = stack.len() - 1;
        match b[pos] {
            b'{' => {
                let close = braces.close_of(pos).unwrap_or(end).min(end);
                stack[top].0 = close + 1;
                let inner = &text[pos + 1..close];
                match classify(inner) {
                    Braced::List => stack.push((pos + 1, close)),
                    Braced::Animation => out.push(animation(text, pos..close + 1)),
                }
            }
            b'"' => {
                let mut i = pos + 1;
                while i < end && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                stack[top].0 = i + 1;
            }
            _ => {
                let mut i = pos;
                while i < end && !b[i].is_ascii_whitespace() {
                    if b[i] == b'{' {
                        i = braces.close_of(i).unwrap_or(end);
                    }
                    i += if b[i.min(end)] == b'\\' { 2 } else { 1 };
                }
                stack[top].0 = i;
            }
        }
    }
}

enum Braced {
    List,
    Animation,
}

/// Decides whether the inside of a braced list element is an animation or a list.
fn classify(inner: &str) -> Braced {
    let t = inner.trim_start();
    if t.is_empty() || t.starts_with('{') {
        return Braced::List;
    }
    // A quoted head is an expression only when curve words alone follow it: a list of
    // quoted menu entries (`{"To Format" "To BBox"}`) is a list.
    let quoted = t.starts_with('"');
    let (head, rest) = split_head(t);
    if !quoted {
        if is_animation_head(&head) || head.contains(['[', '$']) {
            return Braced::Animation;
        }
        if parse_decimal(&head).is_some() || is_hex_float(&head) || head.contains(['{', '"']) {
            return Braced::List;
        }
    }
    if rest.split_ascii_whitespace().all(is_curve_word) {
        Braced::Animation
    } else {
        Braced::List
    }
}

/// A Nuke curve's head (see [`is_curve_head`]), or Blender's `fcurve` and `driver`.
fn is_animation_head(word: &str) -> bool {
    is_curve_head(word) || word == "fcurve" || word == "driver"
}

/// `curve`, or an expression that starts by calling or combining it (`curve(…)`,
/// `curve-parent.x`), but not a longer name (`curves`, `curvegroup`).
fn is_curve_head(word: &str) -> bool {
    match word.strip_prefix("curve") {
        Some(rest) => !rest
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.'),
        None => false,
    }
}

/// Words that may follow an expression in an animation: numbers, the known letters,
/// and `x s t u v` followed by a number. (Deciding list or animation, other letters
/// mean a list: `{x y z}` is a menu, not the expression `x` with keys.)
fn is_curve_word(w: &str) -> bool {
    let b = w.as_bytes();
    parse_decimal(w).is_some()
        || (b.len() == 1 && b"KLSRCklIi".contains(&b[0]))
        || (b.len() > 1
            && matches!(b[0], b'x' | b's' | b't' | b'u' | b'v')
            && parse_decimal(&w[1..]).is_some())
}

fn first_word(s: &str) -> &str {
    s.split_ascii_whitespace().next().unwrap_or("")
}

/// A braced animation at `span` (braces included).
fn animation(text: &str, span: Range<usize>) -> Part {
    let inner = &text[span.start + 1..span.end - 1];
    match first_word(inner) {
        "fcurve" => {
            let curve = FCurve::parse(inner);
            if curve.is_regular() {
                return Part::FCurve {
                    span,
                    curve: Box::new(curve),
                };
            }
            // Not understood: hashed as written, and depending on the frame.
            let mut expr = expr::analyse("");
            expr.time_dependent = true;
            return Part::Expression {
                span,
                kind: ExprKind::Opaque,
                expr: Box::new(expr),
            };
        }
        "driver" => {
            let d = Driver::analyse(inner);
            let mut expr = d.expression;
            expr.text = d.translated.unwrap_or_default();
            return Part::Expression {
                span,
                kind: ExprKind::Driver,
                expr: Box::new(expr),
            };
        }
        _ => {}
    }
    let curve = Curve::parse(inner);
    let has_keys = !curve.keys().is_empty() || !curve.unknown.is_empty();
    match curve.expression {
        Some(e) if !has_keys => Part::Expression {
            span,
            kind: ExprKind::Nuke,
            expr: e,
        },
        _ => Part::Curve {
            span,
            curve: Box::new(curve),
        },
    }
}

/// Matching brace pairs `(open, close)` in order of `open`, honouring backslash
/// escapes; `None` when the braces do not balance.
fn brace_pairs(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut open = Vec::new();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => {
                open.push(pairs.len());
                pairs.push((i, usize::MAX));
            }
            b'}' => pairs[open.pop()?].1 = i,
            _ => {}
        }
        i += 1;
    }
    open.is_empty().then_some(pairs)
}

/// Looks up closing braces for opening braces met in increasing order (as a walk
/// through the text meets them), so each lookup is amortised O(1).
struct Braces<'p> {
    pairs: &'p [(usize, usize)],
    at: usize,
}

impl<'p> Braces<'p> {
    fn new(pairs: &'p [(usize, usize)]) -> Self {
        Self { pairs, at: 0 }
    }

    fn close_of(&mut self, open: usize) -> Option<usize> {
        while self.at < self.pairs.len() && self.pairs[self.at].0 < open {
            self.at += 1;
        }
        match self.pairs.get(self.at) {
            Some(&(o, c)) if o == open => Some(c),
            _ => None,
        }
    }
}

/// Turns the animated components (in text order, not overlapping) into the full list
/// of parts by adding the plain text between them.
fn fill_gaps(len: usize, components: Vec<Part>) -> Vec<Part> {
    let mut parts = Vec::with_capacity(components.len() * 2 + 1);
    let mut at = 0;
    for c in components {
        let span = match &c {
            Part::Plain(r) => r.clone(),
            Part::Curve { span, .. }
            | Part::FCurve { span, .. }
            | Part::Expression { span, .. } => span.clone(),
        };
        if span.start > at {
            parts.push(Part::Plain(at..span.start));
        }
        at = span.end;
        parts.push(c);
    }
    if at < len || parts.is_empty() {
        parts.push(Part::Plain(at..len));
    }
    parts
}

/// Removes one level of Tcl quoting from a word: the surrounding quotes and the
/// backslash escapes (`\[` → `[`, `\n` → newline).
fn unescape_word(word: &str) -> String {
    let body = word
        .strip_prefix('"')
        .map(|w| w.strip_suffix('"').unwrap_or(w))
        .unwrap_or(word);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(n) => out.push(n),
            None => out.push('\\'),
        }
    }
    out
}

fn is_roto(b: &[u8]) -> bool {
    b.starts_with(b"{{{v") && b.get(4).is_some_and(u8::is_ascii_whitespace)
}

/// Roto shape data: one opaque component whose expression links (`{=EXPR …}`) are
/// analysed together.
fn roto(text: &str) -> Part {
    let b = text.as_bytes();
    let mut links = String::new();
    let mut i = 0;
    while let Some(p) = text[i..].find("{=") {
        let start = i + p + 2;
        let mut end = start;
        if b.get(start) == Some(&b'"') {
            end += 1;
            while end < b.len() && b[end] != b'"' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            end = (end + 1).min(b.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
        } else {
            while end < b.len() && !b[end].is_ascii_whitespace() && b[end] != b'}' {
                end += 1;
            }
        }
        if !links.is_empty() {
            links.push('\n');
        }
        links.push_str(&unescape_word(&text[start..end]));
        i = end.max(start);
    }
    let mut expr = expr::analyse(&links);
    expr.time_dependent = true;
    Part::Expression {
        span: 0..text.len(),
        kind: ExprKind::Opaque,
        expr: Box::new(expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose parts were let go keeps what it reads, and reads the same parts
    /// again from its text.
    #[test]
    fn shed_parts_come_back_the_same() {
        for text in [
            "{{curve x1 0 x10 1 s0.5 x20 2}}",
            "{{Blur1.size * 2} {[value Grade1.white]}}",
            "{{curve x1 0 x10 1} 3}",
            "\"$env(SHOW)/[frame].exr\"",
            "2.5",
        ] {
            let full = KnobValue::parse(text);
            let mut v = full.clone();
            v.shed_parts();
            assert_eq!(v.text(), text);
            assert_eq!(v.references(), full.references());
            assert_eq!(v.env(), full.env());
            assert_eq!(v.unresolvable(), full.unresolvable());
            assert_eq!(v.time_dependent(), full.time_dependent());
            v.restore_parts();
            assert_eq!(v, full, "{text}");
        }
    }

    fn kind(inner: &str) -> &'static str {
        match classify(inner) {
            Braced::List => "list",
            Braced::Animation => "animation",
        }
    }

    #[test]
    fn braced_elements_are_classified_by_their_words() {
        assert_eq!(kind("curve x1 1"), "animation");
        assert_eq!(kind("curve(frame-1) x1 1"), "animation");
        assert_eq!(kind("curvegroup Bezier1 512 bezier"), "list");
        assert_eq!(kind("parent.size"), "animation");
        assert_eq!(kind("-1+parent.curve i x70 1"), "animation");
        assert_eq!(kind("\"a ? b : c\""), "animation");
        assert_eq!(kind("\"To Format\" \"To BBox\""), "list");
        assert_eq!(kind("Type x1 1"), "animation");
        assert_eq!(kind("x y z"), "list");
        assert_eq!(kind("amount L x1 0 x5 1"), "animation");
        assert_eq!(kind("[value gain]*2"), "animation");
        assert_eq!(kind("0 1 2"), "list");
        assert_eq!(kind("x41300000 0"), "list");
        assert_eq!(kind("{0} B"), "list");
        assert_eq!(kind("rgba.red rgba.green"), "list");
        assert_eq!(kind("  "), "list");
    }

    #[test]
    fn roto_links_are_found_in_shape_data() {
        let Part::Expression { expr, kind, .. } =
            roto("{{{v x3f99999a} {{=\"a.x + 1\" x1} {=b.y x2}}}}")
        else {
            panic!("roto data is one opaque part");
        };
        assert_eq!(kind, ExprKind::Opaque);
        assert_eq!(expr.text, "a.x + 1\nb.y");
        assert!(expr.time_dependent);
    }

    #[test]
    fn quoted_words_are_unescaped_once() {
        assert_eq!(unescape_word(r#""\[value a]\n\"b\"""#), "[value a]\n\"b\"");
        assert_eq!(unescape_word(r"bare\[x]"), "bare[x]");
    }
}
