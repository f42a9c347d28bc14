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
//!
//! The render workflows in four lines: read the script once, record after rendering,
//! check before reusing frames (see [`render`] for the whole API):
//!
//! ```
//! use smartcache::{ignore::RuleSet, profile::Profile, store::CacheDir};
//! use smartcache::render::{self, CheckOptions, LoadedScript, RecordOptions};
//!
//! let script = LoadedScript::read("fixtures/render/comp.nk".as_ref())?;
//! let (rules, profile) = (RuleSet::builtin(), Profile::nuke());
//! let dir = tempfile::tempdir()?;
//! let cache = CacheDir::new(dir.path());
//! let frames = [1049, 1050, 1051];
//! render::record(&script, &cache, &RecordOptions::new("Write1", &rules, &profile).frames(&frames))?;
//! let report = render::check(&script, &cache, &CheckOptions::new("Write1", &rules, &profile).frames(&frames))?;
//! assert!(report.all_valid());
//! println!("{}", serde_json::to_string_pretty(&report)?); // what `check --json` prints
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The dataset cache's handle is [`dataset::DatasetCache`] (its module docs have the
//! example). The Python package in `python/` wraps both.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

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
