//! What a knob is worth at a frame, and what an expression may read while the manifest
//! evaluates it.
//!
//! A node's traversal can depend on a computed knob: a Switch's `which {{frame>=10}}`,
//! a `disable {{Ctrl.k}}`, a TimeOffset given by an expression. `knob_number` and
//! `knob_text` read such values off plain numbers, curves and menu words, or compute
//! them with the expression engine ([`crate::eval::interp`]) through a [`KnobScope`];
//! it answers only reads that the knob's analysis resolved ([`SetupKnob::refs`], its
//! environment variables, its node's `[topnode]`), so everything a value used is
//! already part of the knob's manifest entry. A read the analysis did not see is
//! refused, and the caller stays conservative. Evaluation needs only the [`Setup`]:
//! the frame walk (`frame.rs`) asks here, never the other way round.

use super::setup::{Setup, SetupKnob, Target};
use crate::eval::interp::{self, Scope};
use crate::eval::{ExprKind, FramePart, KnobValue, Part};

/// How deep a value may be computed through other computed values.
pub const MAX_DEPTH: u32 = 32;

/// The reads of one knob (of node `owner`, or of Root when `None`).
pub struct KnobScope<'s> {
    /// The prepared setup.
    pub setup: &'s Setup,
    /// The node whose knob is evaluated (`None`: Root).
    pub owner: Option<usize>,
    /// The knob evaluated.
    pub knob: &'s SetupKnob,
    /// How deep in a chain of reads.
    pub depth: u32,
}

/// The component a sub-part names (`translate.x`, `matrix.3`): `None` for the whole
/// knob, `Some(None)` for a sub-part this layer cannot place.
fn component(sub: Option<&str>) -> Option<Option<usize>> {
    let sub = sub?;
    Some(match sub {
        "x" => Some(0),
        "y" => Some(1),
        "z" => Some(2),
        n => n.parse().ok(),
    })
}

impl<'s> KnobScope<'s> {
    /// The resolved reference read as `path`, and the sub-part after the knob's name.
    fn find(&self, path: &str) -> Option<(&'s Target, Option<&'s str>)> {
        let topnode = self.owner.and_then(|o| self.setup.nodes[o].topnode());
        let r = self.knob.refs().iter().find(|r| {
            r.text == path
                || topnode.is_some_and(|t| {
                    r.text.strip_prefix(crate::eval::expr::TOPNODE)
                        == path.strip_prefix(t).filter(|rest| rest.starts_with('.'))
                })
        })?;
        let sub = match &r.target {
            Target::Knob { knob, .. } | Target::Root { knob } => r
                .text
                .rfind(&format!("{knob}."))
                .map(|i| &r.text[i + knob.len() + 1..])
                .filter(|s| !s.is_empty()),
            _ => None,
        };
        Some((&r.target, sub))
    }

    fn target_knob(&self, t: &Target) -> Option<(Option<usize>, &'s SetupKnob)> {
        match t {
            Target::Knob { node, knob } => {
                self.setup.nodes[*node].knob(knob).map(|k| (Some(*node), k))
            }
            Target::Root { knob } => self.setup.root_knob(knob).map(|k| (None, k)),
            _ => None,
        }
    }
}

impl Scope for KnobScope<'_> {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        let (target, sub) = self.find(path)?;
        let (owner, k) = self.target_knob(target)?;
        let component = component(sub);
        if component == Some(None) {
            return None;
        }
        knob_number(
            self.setup,
            owner,
            k,
            frame,
            component.flatten(),
            self.depth + 1,
        )
    }

    fn text(&mut self, path: &str, frame: f64) -> Option<String> {
        let (target, sub) = self.find(path)?;
        if sub.is_some() {
            return None;
        }
        let (owner, k) = self.target_knob(target)?;
        knob_text(self.setup, owner, k, frame, self.depth + 1)
    }

    fn env(&mut self, name: &str) -> Option<String> {
        self.knob
            .env()
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    }

    fn var(&mut self, name: &str) -> Option<String> {
        match name {
            // Caches are of renders, where Nuke's `$gui` is false.
            "gui" => Some("0".to_string()),
            // A frame number in a file pattern (`$F4`): left for the pattern.
            n if super::setup::is_frame_var(n) => Some(format!("${n}")),
            // Shell-style variables of a path, read when the setup was built.
            n => self
                .knob
                .env()
                .iter()
                .find(|(e, _)| e == n)
                .and_then(|(_, v)| v.clone()),
        }
    }

    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        match node {
            None => self
                .owner
                .and_then(|o| self.setup.nodes[o].topnode().map(str::to_string)),
            Some(_) => None,
        }
    }
}

/// The number knob `k` (of node `owner`, or Root) is worth at frame `f`, the
/// `component`-th of a list: read off plain numbers and curves, or computed by the
/// expression engine through the reads the knob's analysis resolved. `None` when it
/// cannot be known exactly.
pub(crate) fn knob_number<'s>(
    setup: &'s Setup,
    owner: Option<usize>,
    k: &'s SetupKnob,
    f: f64,
    component: Option<usize>,
    depth: u32,
) -> Option<f64> {
    if let Some(nums) = numbers_at(&k.value, f) {
        return match (component, nums.as_slice()) {
            (None, [one]) => Some(*one),
            // A single value stands for every component (`size 3` is 3 wide and high).
            (Some(_), [one]) => Some(*one),
            (Some(i), many) => many.get(i).copied(),
            (None, _) => None,
        };
    }
    if depth > MAX_DEPTH || component.is_some_and(|c| c > 0) {
        return None;
    }
    let mut scope = KnobScope {
        setup,
        owner,
        knob: k,
        depth,
    };
    if let Some(w) = words_of(&k.value) {
        // A number given as an expression in a string knob (a Read's `frame`
        // "frame+100"): nothing in it was analysed as a reference, so the scope
        // refuses any knob it would read.
        return interp::eval_expression(&w, f, &mut scope).ok();
    }
    match single_expression(&k.value)? {
        (ExprKind::Nuke, text) => interp::eval_expression(text, f, &mut scope).ok(),
        (ExprKind::Tcl, text) => {
            let t = interp::eval_tcl(text, f, &mut scope).ok()?;
            crate::eval::parse_decimal(t.trim())
        }
        // A driver translated into a Nuke expression (empty when it was not).
        (ExprKind::Driver, text) if !text.is_empty() => {
            interp::eval_expression(text, f, &mut scope).ok()
        }
        (ExprKind::Opaque | ExprKind::Driver, _) => None,
    }
}

/// The text knob `k` gives a Tcl `[value]` at frame `f`: plain text as written
/// (quotes removed), a Tcl string evaluated, a whole number; `None` otherwise.
pub(crate) fn knob_text<'s>(
    setup: &'s Setup,
    owner: Option<usize>,
    k: &'s SetupKnob,
    f: f64,
    depth: u32,
) -> Option<String> {
    if let Some(w) = words_of(&k.value) {
        return Some(w);
    }
    if depth > MAX_DEPTH {
        return None;
    }
    let mut scope = KnobScope {
        setup,
        owner,
        knob: k,
        depth,
    };
    match single_expression(&k.value) {
        Some((ExprKind::Tcl, text)) => interp::eval_tcl(text, f, &mut scope).ok(),
        _ => {
            let v = knob_number(setup, owner, k, f, None, depth)?;
            (v.fract() == 0.0 && v.abs() < 1e15).then(|| format!("{}", v as i64))
        }
    }
}

/// A knob's numbers at frame `f` when they can be read off it without evaluating
/// anything: plain numbers (or `true`/`false`) and animation curves; `None` for
/// expressions and anything else.
fn numbers_at(value: &KnobValue, f: f64) -> Option<Vec<f64>> {
    if value.time_dependent() || !value.references().is_empty() || !value.env().is_empty() {
        return None;
    }
    let fv = value.at_window(f, f, f);
    let mut found = Vec::new();
    for part in &fv.value {
        match part {
            FramePart::Text(t) => {
                for w in t.split(|c: char| c.is_whitespace() || c == '{' || c == '}') {
                    if !w.is_empty() {
                        found.push(word_number(w)?);
                    }
                }
            }
            FramePart::Curve { value, .. } => found.push((*value)?),
            FramePart::Raw { .. } => return None,
        }
    }
    Some(found)
}

pub(crate) fn word_number(w: &str) -> Option<f64> {
    match w.trim_matches('"') {
        "true" => Some(1.0),
        "false" => Some(0.0),
        w => w.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// A knob's text as menu words (`start`, `start at`), when it is plain text.
pub(crate) fn words_of(value: &KnobValue) -> Option<String> {
    if !value.is_plain() {
        return None;
    }
    let t = value.text().trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .unwrap_or(t);
    Some(t.trim().to_string())
}

/// The one computed component of a value (`{{frame>=10}}`, `"\[value x]"`), with the
/// text the expression engine reads; `None` when the value is anything else.
pub(crate) fn single_expression(v: &KnobValue) -> Option<(ExprKind, &str)> {
    // One plain text is no expression.
    let parts = v.listed_parts()?;
    let mut found = None;
    for p in parts {
        match p {
            Part::Plain(r) => {
                let t = &v.text()[r.clone()];
                if !t.trim().trim_matches(['{', '}']).trim().is_empty() {
                    return None;
                }
            }
            Part::Expression { kind, expr, .. } if found.is_none() => {
                found = Some((*kind, expr.text.as_str()));
            }
            _ => return None,
        }
    }
    found
}
