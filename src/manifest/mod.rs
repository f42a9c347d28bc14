//! Per-frame manifests: what a cached frame depends on, in canonical bytes, hashed.
//!
//! A frame goes from script to hash in three steps, one file each:
//! 1. [`setup`]: the output's upstream closure, frame-independent, ignore rules applied,
//!    expression references resolved;
//! 2. [`frame`]: the view of that setup at one frame (time contexts, Switch, disable,
//!    knob values at the frame with the values they read), as canonical bytes;
//! 3. the frame hash: xxh3-128 of those bytes ([`frame::Prepared::frame_hash`]).
//!
//! [`time`] says how each node class uses time; [`source`] fingerprints the files Read
//! nodes read.

pub mod frame;
pub mod setup;
pub mod source;
pub mod time;

pub use frame::{Ctx, FrameView, NoSources, Prepared, SourceProbe};
pub use setup::{Setup, SetupError};
