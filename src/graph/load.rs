//! (placeholder) Read a script of either format, chosen by extension.
use super::Script;
use std::path::Path;

/// Read `path` as a Nuke script (`.nk`, `.gizmo`, anything else) or, for `.json`, as a
/// host-neutral JSON graph.
pub fn load(path: &Path) -> anyhow::Result<Script> {
    Ok(crate::nk::read_file(path)?)
}
