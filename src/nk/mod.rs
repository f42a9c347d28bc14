//! (placeholder: being written) Reader for Nuke `.nk` / `.gizmo` scripts.
use crate::graph::Script;
use std::path::Path;

/// A read error with `file:line:col` and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parse script bytes; `path` is used in error messages and recorded in the script.
pub fn parse(_bytes: &[u8], _path: Option<&Path>) -> Result<Script, ParseError> {
    Err(ParseError("nk reader not implemented yet".into()))
}

/// Read and parse a script file.
pub fn read_file(path: &Path) -> Result<Script, ParseError> {
    let bytes = std::fs::read(path).map_err(|e| ParseError(format!("{}: {e}", path.display())))?;
    parse(&bytes, Some(path))
}
