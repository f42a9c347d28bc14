//! The state one evaluation carries: the scope, the frame, the command table, and the
//! limits that keep any input bounded (nesting depth, total work, size of produced text).
//!
//! The command table is a function the evaluation starts with ([`Commands`]): Tcl's
//! evaluator runs commands and some commands (`if`, `expr`) run the evaluator again, so
//! the parser in `tcl.rs` reaches the commands through the context rather than by name,
//! and the two files do not depend on each other.

use super::error::{Unknown, Why};
use super::scope::Scope;
use super::MAX_DEPTH;

/// Work units granted whatever the input's length.
const BASE_BUDGET: usize = 1 << 20;
/// Work units granted per byte of input.
const BUDGET_PER_BYTE: usize = 64;
/// Longest text any step may produce (a `string repeat`, a substitution result).
pub(crate) const MAX_TEXT: usize = 1 << 20;

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// The result of its last command.
    Normal(String),
    /// A `return` ran: the value, unwinding to the nearest substitution boundary.
    Return(String),
}

/// Runs one command: its words, already substituted, and its source text (for
/// messages).
pub(crate) type Commands = fn(&mut Ctx<'_>, &[String], &str) -> Result<Flow, Unknown>;

/// A command table that runs nothing: for evaluating text that must not run commands.
#[cfg(test)]
pub(crate) fn no_commands(_: &mut Ctx<'_>, _: &[String], text: &str) -> Result<Flow, Unknown> {
    Err(Unknown::new(Why::Unsupported, text, "no commands here"))
}

pub(crate) struct Ctx<'a> {
    pub scope: &'a mut dyn Scope,
    pub frame: f64,
    /// Runs a command (see the module docs).
    pub commands: Commands,
    depth: usize,
    budget: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(scope: &'a mut dyn Scope, frame: f64, text: &str, commands: Commands) -> Ctx<'a> {
        Ctx {
            scope,
            frame,
            commands,
            depth: 0,
            budget: BASE_BUDGET.saturating_add(text.len().saturating_mul(BUDGET_PER_BYTE)),
        }
    }

    /// Spends `units` of work; Unknown once the budget is gone. Every loop over input
    /// or output charges here, so the total work is linear in the budget.
    pub fn charge(&mut self, units: usize, part: &str) -> Result<(), Unknown> {
        match self.budget.checked_sub(units) {
            Some(rest) => {
                self.budget = rest;
                Ok(())
            }
            None => {
                self.budget = 0;
                Err(Unknown::new(
                    Why::Limit,
                    part,
                    "more work than the budget for this text allows",
                ))
            }
        }
    }

    /// Checks that a text about to be produced is not too long, and charges for it.
    pub fn produce(&mut self, len: usize, part: &str) -> Result<(), Unknown> {
        if len > MAX_TEXT {
            return Err(Unknown::new(Why::Limit, part, "text too long"));
        }
        self.charge(len, part)
    }

    /// Checks the length of a text being built, without charging (the loop that builds
    /// it charges for its input).
    pub fn check_len(&self, len: usize, part: &str) -> Result<(), Unknown> {
        if len > MAX_TEXT {
            return Err(Unknown::new(Why::Limit, part, "text too long"));
        }
        Ok(())
    }

    /// Runs `f` one nesting level deeper; Unknown past [`MAX_DEPTH`]. Every recursion
    /// of the evaluators goes through here, so the stack stays bounded.
    pub fn nested<T>(
        &mut self,
        part: &str,
        f: impl FnOnce(&mut Self) -> Result<T, Unknown>,
    ) -> Result<T, Unknown> {
        if self.depth >= MAX_DEPTH {
            return Err(Unknown::new(Why::Limit, part, "nested too deeply"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
}
