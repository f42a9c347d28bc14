//! The `smartcache` Python package: both engines of the smartcache library,
//! in-process (no process per call), for the Python that hosts embed (Nuke, Blender,
//! Houdini, Katana, data loaders). Built with maturin as `smartcache._smartcache`
//! (abi3, CPython 3.9+); `smartcache/__init__.py` re-exports it and
//! `smartcache/__init__.pyi` gives the types.
//!
//! * `render`: `Script`, `RenderCache` and their reports;
//! * `dataset`: `DatasetCache` and its reports; `transform`: Python callables as
//!   transforms, and a build that Ctrl-C cancels;
//! * `errors`: the exception classes; `convert`: arguments and JSON values.

#![forbid(unsafe_code)]

mod convert;
mod dataset;
mod errors;
mod render;
mod transform;

/// The extension's Rust allocations (see the note in Cargo.toml for why not the
/// system's).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use pyo3::prelude::*;

#[pymodule]
fn _smartcache(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("ParseError", py.get_type::<errors::ParseError>())?;
    m.add("FramesError", py.get_type::<errors::FramesError>())?;
    m.add("RenderError", py.get_type::<errors::RenderError>())?;
    m.add("DatasetError", py.get_type::<errors::DatasetError>())?;
    m.add_class::<render::Script>()?;
    m.add_class::<render::RenderCache>()?;
    m.add_class::<render::CheckReport>()?;
    m.add_class::<render::RecordReport>()?;
    m.add_class::<render::FrameResult>()?;
    m.add_class::<render::Reason>()?;
    m.add_class::<dataset::DatasetCache>()?;
    m.add_class::<dataset::BuildReport>()?;
    m.add_class::<dataset::StatusReport>()?;
    m.add_class::<dataset::VerifyReport>()?;
    Ok(())
}
