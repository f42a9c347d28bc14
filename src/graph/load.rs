//! Reading a script of either format: a Nuke `.nk`/`.gizmo` script or a host-neutral
//! JSON graph.
//!
//! [`LoadedScript::read`] is the one way to read a script file; it keeps what the cache
//! records about the script (its path and content hash) beside the graph, which is what
//! every workflow takes. [`LoadedScript::from_bytes`] does the same for text a host
//! already holds (a graph exported from a live session). The format is chosen by content,
//! not extension: a JSON graph is an object whose first non-blank byte is `{` (a Nuke
//! script never starts with a brace). [`load_bytes`] is the bare parse, for callers that
//! need only the graph.
use super::Script;
use crate::hash::Hex128;
use std::path::{Path, PathBuf};

/// An error loading a script of either format.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The script's path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid Nuke script (the error has its line and column).
    #[error(transparent)]
    Nk(#[from] crate::nk::ParseError),
    /// The file is not a valid JSON graph (the error has its line and column).
    #[error(transparent)]
    Json(#[from] crate::json_graph::JsonGraphError),
}

/// A script read into a graph, with what `hash.json` records about it.
#[derive(Debug, Clone)]
pub struct LoadedScript {
    /// The graph.
    pub script: Script,
    /// Where it was read from (relative file paths in the script are taken from its
    /// directory).
    pub path: PathBuf,
    /// xxh3-128 of the script's bytes.
    pub hash: Hex128,
}

impl LoadedScript {
    /// Read the script file at `path`, of either format.
    pub fn read(path: &Path) -> Result<LoadedScript, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        LoadedScript::from_bytes(&bytes, path)
    }

    /// A script of either format already in memory; `path` names it in errors and in
    /// the cache, and relative file paths in it are taken from its directory.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LoadedScript, LoadError> {
        Ok(LoadedScript {
            script: load_bytes(bytes, path)?,
            path: path.to_path_buf(),
            hash: Hex128::of(bytes),
        })
    }

    /// The directory relative file paths in the script are taken from.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Parse script bytes of either format into a graph (`path` names them in errors).
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<Script, LoadError> {
    let mut script = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        crate::json_graph::parse(bytes, Some(path))?
    } else {
        crate::nk::parse(bytes, Some(path))?
    };
    script.graph.shrink_to_fit();
    Ok(script)
}
