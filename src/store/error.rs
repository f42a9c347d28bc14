//! The store's error type. Every variant names the file or directory it concerns, so a
//! message printed by the CLI is enough to find the problem on disk.

use crate::fsutil::FsError;
use std::io;
use std::path::PathBuf;

/// Errors from reading or writing a cache directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O operation failed on `path`.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },

    /// A helper from [`crate::fsutil`] failed (it names its own path), or a path read
    /// from a file tried to leave the cache directory.
    #[error(transparent)]
    Fs(#[from] FsError),

    /// A JSON file (or object) could not be parsed; `line` and `column` are 1-based as
    /// reported by serde_json.
    #[error("{path}:{line}:{column}: {message}", path = path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde_json reported.
        message: String,
    },

    /// The file parsed as JSON but is not a smartcache `hash.json`.
    #[error("{path}: not a smartcache hash file (format is {found:?}, expected {expected:?})", path = path.display())]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// The `format` it has.
        found: String,
        /// The `format` expected.
        expected: &'static str,
    },

    /// The file was written by a newer (or unknown) version of the format. Reading it
    /// anyway could misread fields whose meaning changed, so it is refused.
    #[error("{path}: hash file version {found} is not supported (this build reads version {supported})", path = path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The `version` it has.
        found: u64,
        /// The version this build reads.
        supported: u32,
    },

    /// A field of a `hash.json` holds a value this version cannot accept (for example a
    /// frame hash that is not 32 lowercase hex characters, which could otherwise be
    /// joined onto a path).
    #[error("{path}: {field}: {message}", path = path.display())]
    InvalidField {
        /// The file.
        path: PathBuf,
        /// The field, as a path (`frames.1001.hash`).
        field: String,
        /// What is wrong with its value.
        message: String,
    },

    /// Bytes offered to [`super::CacheDir::put_object`] or read back from the store are
    /// not a valid object (not JSON, or a malformed `refs` array).
    #[error("{path}: invalid object: {message}", path = path.display())]
    InvalidObject {
        /// The object's file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// An object's content does not hash to its name: the file was altered or damaged.
    #[error("{path}: object content hashes to {actual}, not to its name", path = path.display())]
    CorruptObject {
        /// The object's file.
        path: PathBuf,
        /// The hash of its content.
        actual: String,
    },

    /// A snapshot id does not have the form `YYYYMMDDTHHMMSS.mmmZ[-N]`.
    #[error("{dir}: {id:?} is not a snapshot id (expected YYYYMMDDTHHMMSS.mmmZ with an optional -N suffix)", dir = dir.display())]
    InvalidSnapshotId {
        /// The cache directory.
        dir: PathBuf,
        /// The text given.
        id: String,
    },

    /// The requested snapshot (or master) does not exist.
    #[error("{path}: no such hash file", path = path.display())]
    NotFound {
        /// The hash file.
        path: PathBuf,
    },

    /// A workflow that reads a cache was pointed at a directory that does not exist
    /// (a typo must not look like a cache with nothing recorded).
    #[error("no cache at {dir}: the directory does not exist", dir = dir.display())]
    NoCache {
        /// The directory given.
        dir: PathBuf,
    },
}

impl StoreError {
    /// `true` when the error says a file's content is damaged (unparseable, not what it
    /// should be, implausibly large, not a regular file), as opposed to the file being
    /// unreachable (I/O, permissions), refused (a path leaving the cache), or written by
    /// a newer version. Damage is what a backup can recover from.
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Json { .. }
            | StoreError::WrongFormat { .. }
            | StoreError::InvalidField { .. }
            | StoreError::InvalidObject { .. }
            | StoreError::CorruptObject { .. } => true,
            StoreError::Fs(e) => matches!(e, FsError::TooLarge { .. } | FsError::NotRegular { .. }),
            _ => false,
        }
    }

    /// Convert a serde_json error about the file at `path`.
    pub(crate) fn json(path: impl Into<PathBuf>, e: &serde_json::Error) -> Self {
        // serde_json's Display appends " at line L column C"; keep only the message so
        // the position is not printed twice.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) if e.line() > 0 => full[..i].to_string(),
            _ => full,
        };
        StoreError::Json {
            path: path.into(),
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// Attach `path` to an I/O error.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}

/// Shorthand for results in this module.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
