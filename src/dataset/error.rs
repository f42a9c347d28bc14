//! Errors of the dataset cache. Each names the file or path it concerns.

use crate::fsutil::FsError;
use std::io;
use std::path::PathBuf;

/// Errors of the dataset cache.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file operation failed, or a path tried to leave the cache.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// Every copy of the index (main, temporary, backup) exists but none can be read.
    /// Nothing is reset: the user decides.
    #[error("{path}: the index cannot be loaded and no readable temporary or backup copy exists ({detail}); move it aside to start a new cache")]
    IndexUnreadable {
        /// The index file.
        path: PathBuf,
        /// What was wrong with each copy.
        detail: String,
    },
    /// The index was written by a newer smartcache.
    #[error("{path}: index format version {found} is newer than this smartcache understands (up to {supported})")]
    IndexTooNew {
        /// The index file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    #[error("{path}: not a source file in this cache (not indexed)")]
    /// The path is not a source of this cache.
    NotIndexed {
        /// The path.
        path: PathBuf,
    },
    /// The source has no artifact for the variant.
    #[error("{path}: no artifact for variant `{variant}`{why}")]
    NoArtifact {
        /// The source.
        path: PathBuf,
        /// The variant.
        variant: String,
        /// Why, as a clause appended to the message.
        why: String,
    },
    #[error("{path}: the artifact does not match what was recorded ({why}); run `smartcache dataset verify --repair` or a build")]
    /// An artifact no longer matches its record.
    Corrupt {
        /// The artifact.
        path: PathBuf,
        /// What differs.
        why: String,
    },
    #[error("{path}: source changed since it was cached (run `smartcache dataset build`)")]
    /// The source changed since it was cached.
    Stale {
        /// The source.
        path: PathBuf,
    },
    #[error("{path}: path is not valid UTF-8; the index stores paths as text")]
    /// A path that is not UTF-8 (the index stores text).
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    #[error("invalid --sidecar glob `{glob}`: {why}")]
    /// A sidecar glob that does not compile.
    BadSidecar {
        /// The glob.
        glob: String,
        /// Why.
        why: String,
    },
    /// A `--shard` that is not `K/N` with 1 <= K <= N (as given).
    #[error("invalid shard `{0}`: expected K/N with 1 <= K <= N")]
    BadShard(String),
    /// The file-system watcher cannot run.
    #[error("{path}: cannot watch: {why}")]
    Watch {
        /// The cache directory or source root concerned.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// gc was asked to run while a build holds the cache.
    #[error("a build is running on this cache; garbage collection would race with it")]
    Busy,
}

/// Attach the path to an I/O error.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> DatasetError {
    let path = path.into();
    move |source| DatasetError::Io { path, source }
}
