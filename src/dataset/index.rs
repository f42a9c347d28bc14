//! The index as plain values, for tools and tests: read it whole ([`load`]) or replace
//! it ([`save`]). The cache itself reads and writes it through `store.rs`: a
//! compacted base plus segments, see there for the format and its guarantees.

use super::error::DatasetError;
pub use super::model::{Artifact, Entry, Failure, Index, VariantInfo, VariantMap, FORMAT, VERSION};
use super::store::{self, Snapshot};
use std::path::{Path, PathBuf};

/// An index as loaded, with what the caller should tell the user about it.
#[derive(Debug)]
pub struct Loaded {
    /// The index.
    pub index: Index,
    /// Fallbacks taken and damaged files met, one sentence each.
    pub warnings: Vec<String>,
    /// The `index.json` version it was read from, if it has not been migrated yet.
    pub migrated_from: Option<u32>,
}

/// Load the whole index of the cache in `dir` (an absent one is empty).
pub fn load(dir: &Path) -> Result<Loaded, DatasetError> {
    let snap = Snapshot::load(dir)?;
    Ok(Loaded {
        index: snap.to_index(),
        warnings: snap.warnings.clone(),
        migrated_from: snap.legacy,
    })
}

/// Replace the index of the cache in `dir` with `index`, as a new base generation (the
/// segments folded so far are deleted). For tools and tests: builds record changes
/// without rewriting the index.
pub fn save(dir: &Path, index: &Index) -> Result<(), DatasetError> {
    store::rewrite(dir, index)
}

/// Where the index of a cache lives (for tests and tools).
pub fn index_dir(dir: &Path) -> PathBuf {
    dir.join(super::layout::INDEX_DIR)
}
