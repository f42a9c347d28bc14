//! What an expression may read while the manifest evaluates it.
//!
//! A node's traversal can depend on a computed knob: a Switch's `which {{frame>=10}}`,
//! a `disable {{Ctrl.k}}`, a TimeOffset given by an expression. The expression engine
//! ([`crate::eval::interp`]) computes such values through a [`Scope`]; this one answers
//! only reads that the knob's analysis resolved ([`SetupKnob::refs`], its environment
//! variables, its node's `[topnode]`), so everything a value used is already part of
//! the knob's manifest entry. A read the analysis did not see is refused, and the
//! caller stays conservative.

use super::frame::Prepared;
use super::setup::{SetupKnob, Target};
use crate::eval::interp::Scope;

/// How deep a value may be computed through other computed values.
pub const MAX_DEPTH: u32 = 32;

/// The reads of one knob (of node `owner`, or of Root when `None`).
pub struct KnobScope<'a, 's> {
    /// The prepared setup.
    pub p: &'a Prepared<'s>,
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

impl<'s> KnobScope<'_, 's> {
    /// The resolved reference read as `path`, and the sub-part after the knob's name.
    fn find(&self, path: &str) -> Option<(&'s Target, Option<&'s str>)> {
        let topnode = self
            .owner
            .and_then(|o| self.p.setup.nodes[o].topnode.as_deref());
        let r = self.knob.refs.iter().find(|r| {
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
            Target::Knob { node, knob } => self.p.setup.nodes[*node]
                .knob(knob)
                .map(|k| (Some(*node), k)),
            Target::Root { knob } => self.p.setup.root_knob(knob).map(|k| (None, k)),
            _ => None,
        }
    }
}

impl Scope for KnobScope<'_, '_> {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        let (target, sub) = self.find(path)?;
        let (owner, k) = self.target_knob(target)?;
        let component = component(sub);
        if component == Some(None) {
            return None;
        }
        self.p
            .knob_number(owner, k, frame, component.flatten(), self.depth + 1)
    }

    fn text(&mut self, path: &str, frame: f64) -> Option<String> {
        let (target, sub) = self.find(path)?;
        if sub.is_some() {
            return None;
        }
        let (owner, k) = self.target_knob(target)?;
        self.p.knob_text(owner, k, frame, self.depth + 1)
    }

    fn env(&mut self, name: &str) -> Option<String> {
        self.knob
            .env
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
                .env
                .iter()
                .find(|(e, _)| e == n)
                .and_then(|(_, v)| v.clone()),
        }
    }

    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        match node {
            None => self
                .owner
                .and_then(|o| self.p.setup.nodes[o].topnode.clone()),
            Some(_) => None,
        }
    }
}
