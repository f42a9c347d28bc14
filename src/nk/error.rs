//! Read errors: where (`file:line:col`) and what was expected.

use std::fmt;
use std::path::PathBuf;

/// What went wrong. Each variant says what the reader expected, so the message alone
/// is enough to fix the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("unbalanced `{{`: no matching `}}` before the end of the file")]
    UnclosedBrace,
    #[error("unexpected `}}` with no open `{{`")]
    UnexpectedCloseBrace,
    #[error("unterminated quoted word: no closing `\"` before the end of the file")]
    UnterminatedQuote,
    #[error("unterminated `[`: no matching `]` before the end of the file")]
    UnterminatedBracket,
    #[error("extra characters after a closing {0}: expected whitespace or the end of the line")]
    TrailingAfterWord(&'static str),
    #[error("`end_group` with no open group")]
    EndGroupWithoutGroup,
    #[error("end of file inside group `{group}` opened at line {line}: expected `end_group`")]
    UnclosedGroup { group: String, line: u32 },
    #[error("groups nested deeper than {0} levels")]
    GroupsTooDeep(usize),
    #[error("`push ${0}`: variable `{0}` was never set")]
    UnknownVariable(String),
    #[error("`clone ${0}`: variable `{0}` was never set, so the clone has no source")]
    UnknownCloneSource(String),
    #[error("`clone ${0}`: variable `{0}` holds an empty input, not a node to clone")]
    EmptyCloneSource(String),
    #[error("bad `inputs` value `{0}`: expected a count `N` or `N+M` (main + mask inputs)")]
    BadInputs(String),
    #[error("bad `{command}` argument `{arg}`: expected {expected}")]
    BadArgument {
        command: &'static str,
        arg: String,
        expected: &'static str,
    },
    #[error("`{command}` needs {needed} item(s) on the stack, found {found}")]
    StackUnderflow {
        command: &'static str,
        needed: usize,
        found: usize,
    },
    #[error("unknown command `{0}`: expected a node (`Class {{ knobs }}`), a stack command (set, push, pop, dup, exch, index, roll, clone, end_group) or metadata (version, define_window_layout_xml, add_layer)")]
    UnknownCommand(String),
    #[error("`{0}` expects {1}")]
    BadCommand(String, &'static str),
    #[error("knob `{0}` has no value")]
    KnobWithoutValue(String),
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// A read error at `file:line:col` (1-based; the column counts characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file the bytes came from, when known.
    pub path: Option<PathBuf>,
    pub line: u32,
    pub col: u32,
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
