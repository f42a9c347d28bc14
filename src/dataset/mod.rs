//! File-level, content-addressed dataset cache.
//!
//! Source files are fingerprinted ([`fingerprint`]): a file whose size, times and inode
//! have not moved since a non-racy record is trusted without being read; otherwise it is
//! re-hashed ([`hash_file`]) and a same hash only refreshes the fingerprint. Derived
//! artifacts are stored under the cache directory named after the source content hash,
//! the variant key and the producer ([`artifact_name`]), so identical sources share one
//! artifact, variants coexist, and an artifact made by another producer is never served.
//!
//! ```no_run
//! use smartcache::dataset::{BuildOptions, DatasetCache, Quiet};
//! use std::path::{Path, PathBuf};
//!
//! let cache = DatasetCache::open(Path::new("cache"))?;
//! let sources = cache.sources(&[PathBuf::from("images")], None)?;
//! let opts = BuildOptions::new("512x512", "resize@1");
//! let copy = |i: &Path, o: &Path| std::fs::copy(i, o).map(|_| ()).map_err(|e| e.to_string());
//! let report = cache.build(&sources, &opts, &copy, &Quiet)?;
//! assert!(report.failures.is_empty());
//! let artifact = cache.get(Path::new("images/a.png"), "512x512", None, false)?;
//! # let _ = artifact;
//! # Ok::<(), smartcache::dataset::DatasetError>(())
//! ```

mod build;
mod cache;
mod error;
pub mod fingerprint;
mod hashing;
pub mod index;
mod maintenance;
mod objects;
mod scan;
mod sources;
mod table;
mod variant_map;
mod view;
mod walk;

pub use build::{BuildFailure, BuildObserver, BuildOptions, BuildReport, Quiet, Transform};
pub use cache::{
    artifact_name, trust_from_env, ArtifactState, DatasetCache, FileStatus, StatusCounts,
    StatusOptions, StatusReport, TRUST_ENV,
};
pub use error::DatasetError;
pub use fingerprint::Fingerprint;
pub use hashing::{hash_file, hash_file_counted};
pub use maintenance::{GcReport, Problem, VerifyReport};
pub use scan::FileState;
pub use sources::{Shard, SourceFile, Sources};
