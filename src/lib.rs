//! smartcache: which cached frames are still valid, and why are the others not?
//!
//! Two engines share this crate:
//!
//! * render-cache validity for node graphs: [`nk`] and [`json_graph`] read a script into
//!   a [`graph::Script`], [`manifest`] builds and hashes per-frame manifests with the
//!   [`ignore`] rules applied ([`eval`] gives knob values at a frame), [`store`] keeps
//!   master and snapshot `hash.json` files and [`check`] compares them frame by frame and
//!   explains each difference;
//! * a file-level, content-addressed dataset cache in [`dataset`].
//!
//! [`fsutil`] (atomic writes, locks, confined paths) and [`hash`] (xxh3-128) serve both.

pub mod check;
pub mod dataset;
pub mod eval;
pub mod frames;
pub mod fsutil;
pub mod graph;
pub mod hash;
pub mod ignore;
pub mod json_graph;
pub mod manifest;
pub mod nk;
pub mod openjd;
pub mod profile;
pub mod render;
pub mod store;
