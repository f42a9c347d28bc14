//! Per-frame manifests: what a cached frame depends on, typed, in canonical bytes,
//! hashed.
//!
//! A frame goes from script to hash in steps, one file each:
//! 1. [`setup`]: the output's upstream closure, frame-independent, ignore rules applied,
//!    expression references resolved, class semantics from the profile;
//! 2. [`frame`]: the walk at one frame: which nodes are visited in which time context
//!    ([`ctx`], [`time`]), which inputs they read, their knob entries;
//! 3. [`view`]: the typed manifest of the frame and its one canonical byte form, whose
//!    xxh3-128 is the frame hash.
//!
//! [`source`] fingerprints the files nodes read; [`pair`] compares two setups frame by
//! frame for explanations, building only the records that can differ; [`reuse`] keeps
//! record digests from one hashing for the next in a long-lived process.

pub mod ctx;
pub mod files;
pub mod frame;
pub mod pair;
pub mod reuse;
pub mod scope;
pub mod setup;
pub mod source;
pub mod time;
pub mod view;

pub use ctx::Ctx;
pub use frame::{FrameHash, Prepared, PreparedParts};
pub use pair::PreparedPair;
pub use reuse::{Digests, Kept};
pub use setup::{Setup, SetupError};
pub use source::{NoSources, SourceProbe};
pub use view::{FrameView, FRAME_FORMAT, FRAME_VERSION};
