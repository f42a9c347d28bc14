//! File-level, content-addressed dataset cache.
//!
//! Source files are fingerprinted ([`fingerprint`]): a file whose size, times and inode
//! have not moved since a non-racy record is trusted without being read; otherwise it is
//! re-hashed ([`hash_file`]) and a same hash only refreshes the fingerprint. Derived
//! artifacts are stored under the cache directory named after the source content hash,
//! the variant key and the producer ([`artifact_name`], a documented, stable contract),
//! so identical sources share one artifact, variants coexist, and an artifact made by
//! another producer is never served.
//!
//! The index is a compacted base plus segments written by each writer (see `store.rs`):
//! readers take no lock (a cache on a read-only mount works), builders on several
//! machines record into one cache at once, and a checkpoint costs what changed.
//!
//! ```no_run
//! use smartcache::dataset::{BuildOptions, DatasetCache, Quiet, Transform};
//! use std::path::{Path, PathBuf};
//!
//! let cache = DatasetCache::open(Path::new("cache"))?;
//! let sources = cache.sources(&[PathBuf::from("images")], None)?;
//! let opts = BuildOptions::new("512x512", "resize@1");
//! let copy = Transform::each(|i, o, _| std::fs::copy(i, o).map(|_| ()).map_err(|e| e.to_string()));
//! let report = cache.build(&sources, &opts, &copy, &Quiet)?;
//! assert!(report.failures.is_empty());
//! // A data loader keeps the handle: one index read, then a lookup per call.
//! let artifact = cache.get(Path::new("images/a.png"), "512x512")?;
//! # let _ = artifact;
//! # Ok::<(), smartcache::dataset::DatasetError>(())
//! ```
//!
//! Modules, lowest layer first: `codec`, `fingerprint`, `hashing`, `layout`, `model`
//! (values and the fold of records), `view` (borrowed entries), `walk`/`sources`
//! (listing), `scan` (validation), `objects` (artifacts on disk), `segment`/`base`
//! (on-disk formats), `legacy` (versions 1 and 2), `store` (the index protocol),
//! `claims`, `locks`, `transform`, then `cache` (the handle) and the operations on it:
//! `status`, `get`, `build`, `maintenance`.

mod base;
mod build;
mod cache;
mod claims;
mod codec;
mod error;
pub mod fingerprint;
mod get;
mod hashing;
pub mod index;
mod layout;
mod legacy;
mod locks;
mod maintenance;
mod model;
mod objects;
mod scan;
mod segment;
mod serve;
mod sidecars;
mod sources;
mod status;
mod store;
pub mod transform;
mod variant_map;
mod view;
mod walk;
mod watch;

pub use build::{BuildFailure, BuildObserver, BuildOptions, BuildReport, Quiet};
pub use cache::{trust_from_env, DatasetCache, TRUST_ENV};
pub use error::DatasetError;
pub use fingerprint::Fingerprint;
pub use get::{Export, GetOptions, EXPORT_FORMAT};
pub use hashing::{hash_file, hash_file_counted};
pub use layout::artifact_name;
pub use maintenance::{GcReport, Problem, VerifyReport};
pub use scan::FileState;
pub use sources::{Shard, Sidecar, SourceFile, Sources};
pub use status::{ArtifactState, FileStatus, StatusCounts, StatusOptions, StatusReport};
pub use transform::{Item, Transform};
pub use watch::{watch, WatchEvent, WatchOptions, NO_WATCH_ENV};
