//! The one error of the evaluator: a part of the text whose value is not known for sure.

use std::fmt;

/// Why a part could not be evaluated. Every variant means the same thing to the caller
/// (no value: keep the conservative path); the distinction is for reports and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// The text is not well formed in its language (Nuke would reject it too, or read it
    /// in a way that is not documented).
    Malformed,
    /// A command, function, operator or form this evaluator deliberately does not
    /// evaluate (`[python …]`, `random()`, `curve`, an unknown Tcl command, `**`).
    Unsupported,
    /// The scope had no answer: a knob, a Tcl variable, an environment variable, the
    /// top node.
    Unavailable,
    /// Nuke's result could differ from anything computed here: a C library's rounding
    /// of a transcendental function, number printing that differs between Tcl versions,
    /// a rounding tie, a name whose meaning is ambiguous.
    Inexact,
    /// Arithmetic without a finite result: division by zero, a domain error, overflow.
    Arithmetic,
    /// Nesting deeper than [`MAX_DEPTH`](super::MAX_DEPTH) or more work than the budget
    /// allows for the text's length.
    Limit,
}

impl Why {
    fn label(self) -> &'static str {
        match self {
            Why::Malformed => "malformed",
            Why::Unsupported => "not evaluated",
            Why::Unavailable => "not available",
            Why::Inexact => "not exact",
            Why::Arithmetic => "arithmetic",
            Why::Limit => "limit",
        }
    }
}

/// What could not be evaluated: the offending part as written (or as substituted), the
/// kind of reason, and a short explanation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unknown {
    /// The part of the text that could not be evaluated, e.g. `[python nuke.thisNode()]`,
    /// `random()`, `Blur1.size`, `$env(SHOW)`, `1/0`. Long parts are shortened.
    pub part: String,
    /// Why it is unknown.
    pub why: Why,
    /// One sentence of context, e.g. "division by zero".
    pub detail: &'static str,
}

/// Longest `part` kept, in characters.
const PART_CHARS: usize = 120;

impl Unknown {
    /// An unknown value: `why`, with the part of the text that caused it and a detail.
    pub fn new(why: Why, part: &str, detail: &'static str) -> Unknown {
        let part = match part.char_indices().nth(PART_CHARS) {
            Some((cut, _)) => format!("{}…", &part[..cut]),
            None => part.to_owned(),
        };
        Unknown { part, why, detail }
    }

    /// `true` when only the scope was missing an answer: the text itself is within
    /// what the evaluator supports, up to the point where it stopped.
    pub fn is_unavailable(&self) -> bool {
        self.why == Why::Unavailable
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}): {}", self.part, self.why.label(), self.detail)
    }
}

impl std::error::Error for Unknown {}

/// Shorthands used throughout the evaluator.
pub(crate) fn malformed<T>(part: &str, detail: &'static str) -> Result<T, Unknown> {
    Err(Unknown::new(Why::Malformed, part, detail))
}

pub(crate) fn unsupported<T>(part: &str, detail: &'static str) -> Result<T, Unknown> {
    Err(Unknown::new(Why::Unsupported, part, detail))
}

pub(crate) fn unavailable<T>(part: &str, detail: &'static str) -> Result<T, Unknown> {
    Err(Unknown::new(Why::Unavailable, part, detail))
}

pub(crate) fn inexact<T>(part: &str, detail: &'static str) -> Result<T, Unknown> {
    Err(Unknown::new(Why::Inexact, part, detail))
}

pub(crate) fn arithmetic<T>(part: &str, detail: &'static str) -> Result<T, Unknown> {
    Err(Unknown::new(Why::Arithmetic, part, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_parts_are_shortened_on_a_char_boundary() {
        let u = Unknown::new(Why::Malformed, &"é".repeat(500), "x");
        assert_eq!(u.part.chars().count(), PART_CHARS + 1);
        assert!(u.part.ends_with('…'));
    }

    #[test]
    fn display_names_part_reason_and_detail() {
        let u = Unknown::new(Why::Arithmetic, "1/0", "division by zero");
        assert_eq!(u.to_string(), "`1/0` (arithmetic): division by zero");
    }
}
