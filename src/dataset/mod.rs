//! File-level, content-addressed dataset cache.
//!
//! Source files are fingerprinted ([`fingerprint`]): a file whose size, times and inode
//! have not moved since a non-racy record is trusted without being read; otherwise it is
//! re-hashed ([`hash_file`]) and a same hash only refreshes the fingerprint. Derived
//! artifacts are stored under the cache directory named after the source content hash,
//! the variant key and the producer, so identical sources share one artifact, variants
//! coexist, and an artifact made by another producer is never served.

pub mod fingerprint;
mod hashing;

pub use fingerprint::Fingerprint;
pub use hashing::{hash_file, hash_file_counted};
