//! Read errors: where (`file:line:col`) and what was expected.

use std::fmt;
use std::path::PathBuf;

/// What went wrong. Each variant says what the reader expected, so the message alone
/// is enough to fix the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A `{` is never closed.
    #[error("unbalanced `{{`: no matching `}}` before the end of the file")]
    UnclosedBrace,
    /// A `}` closes nothing.
    #[error("unexpected `}}` with no open `{{`")]
    UnexpectedCloseBrace,
    /// A quoted word never ends.
    #[error("unterminated quoted word: no closing `\"` before the end of the file")]
    UnterminatedQuote,
    /// A `[` is never closed.
    #[error("unterminated `[`: no matching `]` before the end of the file")]
    UnterminatedBracket,
    /// Something follows a closing brace or quote on the same word (which one).
    #[error("extra characters after a closing {0}: expected whitespace or the end of the line")]
    TrailingAfterWord(&'static str),
    /// `end_group` closes no group.
    #[error("`end_group` with no open group")]
    EndGroupWithoutGroup,
    #[error("end of file inside group `{group}` opened at line {line}: expected `end_group`")]
    /// The file ends inside a group.
    UnclosedGroup {
        /// The group's name.
        group: String,
        /// The line it was opened at.
        line: u32,
    },
    /// Groups nested deeper than the limit (the limit).
    #[error("groups nested deeper than {0} levels")]
    GroupsTooDeep(usize),
    /// `push $var` of a variable never set (its name).
    #[error("`push ${0}`: variable `{0}` was never set")]
    UnknownVariable(String),
    /// `clone $var` of a variable never set (its name).
    #[error("`clone ${0}`: variable `{0}` was never set, so the clone has no source")]
    UnknownCloneSource(String),
    /// `clone $var` of a variable holding an empty input (its name).
    #[error("`clone ${0}`: variable `{0}` holds an empty input, not a node to clone")]
    EmptyCloneSource(String),
    /// An `inputs` value that is not a count (the value).
    #[error("bad `inputs` value `{0}`: expected a count `N` or `N+M` (main + mask inputs)")]
    BadInputs(String),
    /// A stack command's argument that cannot be used.
    #[error("bad `{command}` argument `{arg}`: expected {expected}")]
    BadArgument {
        /// The command.
        command: &'static str,
        /// The argument, as written.
        arg: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A stack command needs more items than the stack holds.
    #[error("`{command}` needs {needed} item(s) on the stack, found {found}")]
    StackUnderflow {
        /// The command.
        command: &'static str,
        /// Items it needs.
        needed: usize,
        /// Items on the stack.
        found: usize,
    },
    /// A command that is neither a node nor a known command (its name).
    #[error("unknown command `{0}`: expected a node (`Class {{ knobs }}`), a stack command (set, push, pop, dup, exch, index, roll, clone, end_group) or metadata (version, define_window_layout_xml, add_layer)")]
    UnknownCommand(String),
    /// A known command used wrongly (the command, what it expects).
    #[error("`{0}` expects {1}")]
    BadCommand(String, &'static str),
    /// A knob line with a name and no value (the knob).
    #[error("knob `{0}` has no value")]
    KnobWithoutValue(String),
    /// The file cannot be read (the error).
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// A read error at `file:line:col` (1-based; the column counts characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file the bytes came from, when known.
    pub path: Option<PathBuf>,
    /// 1-based line (0 when there is no text, as for an I/O error).
    pub line: u32,
    /// 1-based column, in characters (0 when there is no text).
    pub col: u32,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl ParseError {
    /// An I/O failure reading `path` (reported at line 0, column 0: there is no text).
    pub fn io(path: PathBuf, err: &std::io::Error) -> Self {
        Self {
            path: Some(path),
            line: 0,
            col: 0,
            kind: ErrorKind::Io(err.to_string()),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => write!(f, "<input>")?,
        }
        if self.line == 0 {
            return write!(f, ": {}", self.kind);
        }
        write!(f, ":{}:{}: {}", self.line, self.col, self.kind)
    }
}

impl std::error::Error for ParseError {}
