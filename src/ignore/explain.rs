//! What a rule set drops from a particular script, and which rule drops each item.
//!
//! This is the answer to "why did my edit not outdate the cache?": every node dropped by
//! a `node` rule, and every knob of a kept node (and of Root) dropped by a `knob` rule.

use super::{Rule, RuleSet};
use crate::graph::{Knob, Script};

/// Class under which Root settings are matched.
pub const ROOT_CLASS: &str = "Root";

/// One item a rule set drops from a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped<'a> {
    /// Full dotted node name (`Root` for the script settings).
    pub node: &'a str,
    /// The node's class.
    pub class: &'a str,
    /// The knob dropped, or `None` when the whole node is dropped.
    pub knob: Option<&'a str>,
    /// The rule that fired.
    pub rule: &'a Rule,
}

impl RuleSet {
    /// Everything these rules drop from `script`, in file order: Root's knobs first,
    /// then each node, either as a whole or knob by knob. Knobs of a dropped node are
    /// not listed one by one (the node entry covers them), and a knob repeated on one
    /// node is listed once.
    pub fn dropped<'a>(&'a self, script: &'a Script) -> Vec<Dropped<'a>> {
        let mut out = Vec::new();
        self.dropped_knobs(ROOT_CLASS, ROOT_CLASS, &script.root, &mut out);
        for (_, node) in script.graph.nodes() {
            if let Some(rule) = self.node_rule(&node.class) {
                out.push(Dropped {
                    node: &node.name,
                    class: &node.class,
                    knob: None,
                    rule,
                });
            } else {
                self.dropped_knobs(&node.name, &node.class, &node.knobs, &mut out);
            }
        }
        out
    }

    fn dropped_knobs<'a>(
        &'a self,
        node: &'a str,
        class: &'a str,
        knobs: &'a [Knob],
        out: &mut Vec<Dropped<'a>>,
    ) {
        let first = out.len();
        for knob in knobs {
            let Some(rule) = self.knob_rule(class, knob.name()) else {
                continue;
            };
            // Nodes have tens of knobs, so a scan of this node's entries is cheap.
            if out[first..].iter().any(|d| d.knob == Some(knob.name())) {
                continue;
            }
            out.push(Dropped {
                node,
                class,
                knob: Some(knob.name()),
                rule,
            });
        }
    }
}
