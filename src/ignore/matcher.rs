//! Compiled rule matching: which rule is the last to match a class or a (class, knob).
//!
//! All node patterns go into one [`GlobSet`] and all knob patterns into another, so one
//! pass over a name finds every matching rule; the highest index is the last rule, and
//! the last rule wins. Class scopes of knob rules are checked only for the knob matches,
//! from the last one down, so the usual answer costs one set lookup. Answers are then
//! memoised, because the manifest asks the same (class, knob) questions for every node
//! of a class and every frame.

use super::Rule;
use globset::{Candidate, Glob, GlobSet, GlobSetBuilder};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Distinct (class, knob) answers kept before the memo stops growing. Real scripts have
/// a few thousand distinct pairs; the cap bounds memory on adversarial input.
const MEMO_LIMIT: usize = 1 << 16;

/// One glob of a rule, with a matcher for it alone that is known to build.
///
/// The matcher is built when the rule is parsed, so a glob whose matcher cannot be
/// built (its regex over globset's size limit) is an error naming the rule's file and
/// line, and nothing later has to build one: globset's `Glob::compile_matcher` panics
/// in that case, which is why it is never called here.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    glob: Glob,
    alone: GlobSet,
}

impl Pattern {
    pub(super) fn new(glob: Glob) -> Result<Pattern, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        builder.add(glob.clone());
        let alone = builder.build()?;
        Ok(Pattern { glob, alone })
    }
}

/// A rule's validated patterns: the class pattern of a node rule, or the knob pattern
/// (and optional class scope) of a knob rule.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    class: Option<Pattern>,
    knob: Option<Pattern>,
}

impl Compiled {
    pub(super) fn node(class: Pattern) -> Compiled {
        Compiled {
            class: Some(class),
            knob: None,
        }
    }

    pub(super) fn knob(scope: Option<Pattern>, knob: Pattern) -> Compiled {
        Compiled {
            class: scope,
            knob: Some(knob),
        }
    }
}

/// Matches one name against many globs and reports the indices of those that match.
enum Patterns {
    /// The fast path: one automaton for every glob.
    Set(GlobSet),
    /// Used only if the combined set cannot be built (its regex would exceed the size
    /// limit): each pattern's own matcher, still correct, just slower.
    Each(Vec<GlobSet>),
}

impl Patterns {
    fn new(patterns: &[&Pattern]) -> Patterns {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(p.glob.clone());
        }
        match builder.build() {
            Ok(set) => Patterns::Set(set),
            Err(_) => Patterns::Each(patterns.iter().map(|p| p.alone.clone()).collect()),
        }
    }

    /// The highest index of `candidates` (ascending) for which `accept` holds.
    fn last_match(&self, name: &str, accept: impl Fn(usize) -> bool) -> Option<usize> {
        let candidate = Candidate::new(name);
        match self {
            Patterns::Set(set) => set
                .matches_candidate(&candidate)
                .into_iter()
                .rev()
                .find(|&i| accept(i)),
            Patterns::Each(each) => (0..each.len())
                .rev()
                .find(|&i| each[i].is_match_candidate(&candidate) && accept(i)),
        }
    }
}

/// The compiled form of a rule list, with a memo of answers.
pub(super) struct Matcher {
    /// Rule index of each node pattern, in rule order.
    node_rules: Vec<usize>,
    nodes: Patterns,
    /// Rule index of each knob pattern, in rule order.
    knob_rules: Vec<usize>,
    knobs: Patterns,
    /// Class scope of each knob pattern (`None`: every class).
    scopes: Vec<Option<GlobSet>>,
    memo: Memo,
}

impl Matcher {
    pub(super) fn new(rules: &[Rule], compiled: &[Compiled]) -> Matcher {
        let mut node_rules = Vec::new();
        let mut node_globs: Vec<&Pattern> = Vec::new();
        let mut knob_rules = Vec::new();
        let mut knob_globs: Vec<&Pattern> = Vec::new();
        let mut scopes = Vec::new();
        for (index, (rule, c)) in rules.iter().zip(compiled).enumerate() {
            match (&c.knob, &c.class) {
                (Some(knob), scope) if !rule.kind.targets_nodes() => {
                    knob_rules.push(index);
                    knob_globs.push(knob);
                    scopes.push(scope.as_ref().map(|p| p.alone.clone()));
                }
                (None, Some(class)) if rule.kind.targets_nodes() => {
                    node_rules.push(index);
                    node_globs.push(class);
                }
                // The parser pairs kinds and globs this way; anything else matches nothing.
                _ => {}
            }
        }
        Matcher {
            node_rules,
            nodes: Patterns::new(&node_globs),
            knob_rules,
            knobs: Patterns::new(&knob_globs),
            scopes,
            memo: Memo::default(),
        }
    }

    /// Index (into the rule list) of the last node rule matching `class`.
    pub(super) fn node(&self, class: &str) -> Option<usize> {
        if let Some(hit) = self.memo.node(class) {
            return hit;
        }
        let hit = self
            .nodes
            .last_match(class, |_| true)
            .map(|i| self.node_rules[i]);
        self.memo.put_node(class, hit);
        hit
    }

    /// Index (into the rule list) of the last knob rule matching `knob` on `class`.
    pub(super) fn knob(&self, class: &str, knob: &str) -> Option<usize> {
        if let Some(hit) = self.memo.knob(class, knob) {
            return hit;
        }
        let hit = self
            .knobs
            .last_match(knob, |i| {
                self.scopes[i]
                    .as_ref()
                    .is_none_or(|scope| scope.is_match(class))
            })
            .map(|i| self.knob_rules[i]);
        self.memo.put_knob(class, knob, hit);
        hit
    }
}

/// Remembered answers, shared by threads (the manifest hashes frames in parallel).
/// A poisoned lock only means another thread panicked mid-insert of a plain map entry;
/// the map is still valid, so it is used as is.
#[derive(Default)]
struct Memo {
    nodes: RwLock<HashMap<Box<str>, Option<usize>>>,
    knobs: RwLock<KnobMemo>,
}

#[derive(Default)]
struct KnobMemo {
    by_class: HashMap<Box<str>, HashMap<Box<str>, Option<usize>>>,
    len: usize,
}

impl Memo {
    fn node(&self, class: &str) -> Option<Option<usize>> {
        let map = self.nodes.read().unwrap_or_else(PoisonError::into_inner);
        map.get(class).copied()
    }

    fn put_node(&self, class: &str, hit: Option<usize>) {
        let mut map = self.nodes.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() < MEMO_LIMIT {
            map.insert(class.into(), hit);
        }
    }

    fn knob(&self, class: &str, knob: &str) -> Option<Option<usize>> {
        let memo = self.knobs.read().unwrap_or_else(PoisonError::into_inner);
        memo.by_class.get(class)?.get(knob).copied()
    }

    fn put_knob(&self, class: &str, knob: &str, hit: Option<usize>) {
        let mut memo = self.knobs.write().unwrap_or_else(PoisonError::into_inner);
        if memo.len >= MEMO_LIMIT {
            return;
        }
        // `entry` would allocate the class key on every insert; look it up first.
        if !memo.by_class.contains_key(class) {
            memo.by_class.insert(class.into(), HashMap::new());
        }
        let Some(per_class) = memo.by_class.get_mut(class) else {
            return;
        };
        if per_class.insert(knob.into(), hit).is_none() {
            memo.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A glob whose matcher is over globset's regex size limit is an error when the
    /// pattern is made, never a panic later (`Glob::compile_matcher` panics on it).
    #[test]
    fn a_glob_too_large_to_match_is_an_error_not_a_panic() {
        let huge = Glob::new(&"*".repeat(100_000)).expect("a valid glob");
        let err = Pattern::new(huge).unwrap_err().to_string();
        assert!(
            err.len() < 200,
            "the message quotes no regex: {}",
            &err[..200]
        );
    }

    /// The slow fallback must give exactly the answers of the combined set.
    #[test]
    fn each_glob_fallback_agrees_with_the_set() {
        let patterns: Vec<Pattern> = ["xpos", "x*", "*_panelDropped", "{a,b}c", "note_font*", "?"]
            .iter()
            .map(|p| Pattern::new(Glob::new(p).expect("valid")).expect("compiles"))
            .collect();
        let refs: Vec<&Pattern> = patterns.iter().collect();
        let set = Patterns::new(&refs);
        assert!(matches!(set, Patterns::Set(_)));
        let each = Patterns::Each(patterns.iter().map(|p| p.alone.clone()).collect());
        for name in [
            "xpos",
            "xform",
            "ac",
            "bc",
            "x",
            "white_panelDropped",
            "note_font",
            "",
        ] {
            for odd in [false, true] {
                let accept = |i: usize| !odd || i % 2 == 1;
                assert_eq!(
                    set.last_match(name, accept),
                    each.last_match(name, accept),
                    "{name} odd={odd}"
                );
            }
        }
        assert_eq!(set.last_match("xpos", |_| true), Some(1));
        assert_eq!(set.last_match("xpos", |i| i == 0), Some(0));
        assert_eq!(set.last_match("blur", |_| true), None);
    }
}
