//! Reader for Nuke `.nk` scripts and `.gizmo` files.
//!
//! A script is a Tcl program for a stack of nodes (see `NK-FORMAT.md` in the shared
//! documents and `docs/nk-reader.md`). Reading happens in two layers with one job each:
//!
//! * `lexer` splits bytes into commands and words, as byte ranges, without copying
//!   and without recursion (brace and bracket depth are counters);
//! * `parser` runs the commands on a stack machine and builds the [`Script`].
//!
//! `text` decodes bytes (never failing on invalid UTF-8) and maps offsets to
//! `line:col`; `error` holds the error type, whose `Display` is `file:line:col: message`.

mod error;
mod lexer;
mod parser;
mod text;

pub use error::{ErrorKind, ParseError};
pub use parser::{MAX_GROUP_DEPTH, MAX_INPUTS};

use crate::graph::Script;
use std::path::Path;

/// Parse script bytes; `path` is used in error messages and recorded in the script.
pub fn parse(bytes: &[u8], path: Option<&Path>) -> Result<Script, ParseError> {
    parser::Parser::new(bytes, path).run()
}
