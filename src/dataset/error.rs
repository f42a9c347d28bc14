//! Errors of the dataset cache. Each names the file or path it concerns.

use crate::fsutil::FsError;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Every copy of the index (main, temporary, backup) exists but none can be read.
    /// Nothing is reset: the user decides.
    #[error("{path}: the index cannot be loaded and no readable temporary or backup copy exists ({detail}); move it aside to start a new cache")]
    IndexUnreadable { path: PathBuf, detail: String },
    #[error("{path}: index format version {found} is newer than this smartcache understands (up to {supported})")]
    IndexTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: not a source file in this cache (not indexed)")]
    NotIndexed { path: PathBuf },
    #[error("{path}: no artifact for variant `{variant}`{why}")]
    NoArtifact {
        path: PathBuf,
        variant: String,
        why: String,
    },
    #[error("{path}: the artifact does not match what was recorded ({why}); run `smartcache dataset verify --repair` or a build")]
    Corrupt { path: PathBuf, why: String },
    #[error("{path}: source changed since it was cached (run `smartcache dataset build`)")]
    Stale { path: PathBuf },
    #[error("{path}: path is not valid UTF-8; the index stores paths as text")]
    NonUtf8Path { path: PathBuf },
    #[error("invalid --sidecar glob `{glob}`: {why}")]
    BadSidecar { glob: String, why: String },
    #[error("invalid shard `{0}`: expected K/N with 1 <= K <= N")]
    BadShard(String),
    #[error("a build is running on this cache; garbage collection would race with it")]
    Busy,
}

/// Attach the path to an I/O error.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> DatasetError {
    let path = path.into();
    move |source| DatasetError::Io { path, source }
}
