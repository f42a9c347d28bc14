//! A scope backed by maps, for the unit tests.

use std::collections::HashMap;

use super::scope::Scope;
use super::{eval_expression, eval_expression_num, eval_tcl, Num, Unknown, Why};

/// Numbers, texts, environment and variables from maps; the same answer at every
/// frame unless a number is keyed `path@frame`.
#[derive(Default)]
pub(crate) struct MapScope {
    pub numbers: HashMap<String, f64>,
    pub texts: HashMap<String, String>,
    pub env: HashMap<String, String>,
    pub vars: HashMap<String, String>,
    pub topnode: Option<String>,
    pub shadowed: Vec<String>,
    /// Every number read, as `path@frame`.
    pub reads: Vec<String>,
}

impl MapScope {
    pub fn new() -> MapScope {
        let mut s = MapScope::default();
        s.vars.insert("gui".into(), "0".into());
        s
    }

    pub fn num(mut self, path: &str, v: f64) -> MapScope {
        self.numbers.insert(path.into(), v);
        self
    }

    pub fn text(mut self, path: &str, v: &str) -> MapScope {
        self.texts.insert(path.into(), v.into());
        self
    }

    pub fn env(mut self, name: &str, v: &str) -> MapScope {
        self.env.insert(name.into(), v.into());
        self
    }
}

impl Scope for MapScope {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        self.reads.push(format!("{path}@{frame}"));
        self.numbers
            .get(&format!("{path}@{frame}"))
            .or_else(|| self.numbers.get(path))
            .copied()
    }
    fn text(&mut self, path: &str, _: f64) -> Option<String> {
        self.texts.get(path).cloned()
    }
    fn env(&mut self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn var(&mut self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn topnode(&mut self, _: Option<&str>) -> Option<String> {
        self.topnode.clone()
    }
    fn shadows(&mut self, word: &str) -> bool {
        self.shadowed.iter().any(|w| w == word)
    }
}

pub(crate) fn expr(scope: &mut MapScope, text: &str, frame: f64) -> Result<f64, Unknown> {
    eval_expression(text, frame, scope)
}

pub(crate) fn expr_num(scope: &mut MapScope, text: &str) -> Result<Num, Unknown> {
    eval_expression_num(text, 1.0, scope)
}

pub(crate) fn tcl(scope: &mut MapScope, text: &str) -> Result<String, Unknown> {
    eval_tcl(text, 1001.0, scope)
}

/// The reason and part of an expected failure.
pub(crate) fn why<T: std::fmt::Debug>(r: Result<T, Unknown>) -> (Why, String) {
    let e = r.expect_err("expected Unknown");
    (e.why, e.part)
}
