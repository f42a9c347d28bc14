//! Read a script of either format: a Nuke `.nk`/`.gizmo` script or a host-neutral JSON
//! graph. The format is chosen by content, not extension: a JSON graph is an object whose
//! first non-blank byte is `{` (a Nuke script never starts with a brace).
use super::Script;
use std::path::{Path, PathBuf};

/// An error loading a script of either format.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Nk(#[from] crate::nk::ParseError),
    #[error(transparent)]
    Json(#[from] crate::json_graph::JsonGraphError),
}

/// Read `path` as a JSON graph when its first non-blank byte is `{`, else as a Nuke script.
pub fn load(path: &Path) -> Result<Script, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(&bytes, path)
}

/// [`load`] for bytes already in memory (`path` names them in errors).
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<Script, LoadError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Ok(crate::json_graph::parse(bytes, Some(path))?)
    } else {
        Ok(crate::nk::parse(bytes, Some(path))?)
    }
}
