//! Python exceptions, with the messages the CLI prints.
//!
//! Every error of the library becomes an instance of one class under `smartcache.Error`
//! whose message is exactly what `smartcache` prints after `error: ` (the error and its
//! causes on one line), so a host shows users the same text as the command line.
//! Errors that point into a file (a script, a rule file, a profile) are `ParseError`s
//! and carry `.path`, `.line` and `.col` (None where not known) for an editor to jump to.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use smartcache::dataset::DatasetError as LibDatasetError;
use smartcache::frames::FrameSpecError;
use smartcache::graph::LoadError;
use smartcache::ignore::RuleError;
use smartcache::json_graph::JsonGraphError;
use smartcache::profile::ProfileError;
use smartcache::render::RenderError as LibRenderError;
use std::path::Path;

create_exception!(
    smartcache,
    Error,
    PyException,
    "Base class of every smartcache error. The message is the one the CLI prints."
);
create_exception!(
    smartcache,
    ParseError,
    Error,
    "A script, rule file or profile that cannot be read. `.path`, `.line`, `.col` \
     (1-based) say where, when known (else None)."
);
create_exception!(
    smartcache,
    FramesError,
    Error,
    "A frame list that cannot be read (`.col`: the 1-based column where it went wrong)."
);
create_exception!(
    smartcache,
    RenderError,
    Error,
    "A render-cache workflow failed (no such node, a refused cache directory, …)."
);
create_exception!(
    smartcache,
    DatasetError,
    Error,
    "A dataset cache operation failed (an unreadable index, a bad shard or glob, …)."
);

/// An error and its causes on one line, `outer: inner: …`, leaving out a cause whose
/// text the message already holds (as the CLI prints errors).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

/// A `ParseError` with its location attributes.
fn parse_error(
    py: Python<'_>,
    message: String,
    path: Option<&Path>,
    line: Option<usize>,
    col: Option<usize>,
) -> PyErr {
    let err = ParseError::new_err(message);
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("path", path.map(|p| p.to_string_lossy().into_owned()))?;
        value.setattr("line", line)?;
        value.setattr("col", col)?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A script that cannot be read or parsed.
pub fn load(py: Python<'_>, e: &LoadError) -> PyErr {
    let msg = chain(e);
    match e {
        LoadError::Io { path, .. } => parse_error(py, msg, Some(path), None, None),
        LoadError::Nk(p) => {
            let known = |n: u32| (n > 0).then_some(n as usize);
            parse_error(py, msg, p.path.as_deref(), known(p.line), known(p.col))
        }
        LoadError::Json(j) => match j {
            JsonGraphError::Syntax {
                path, line, col, ..
            } => parse_error(py, msg, Some(path), Some(*line), Some(*col)),
            JsonGraphError::Invalid { path, .. } | JsonGraphError::Cycle { path, .. } => {
                parse_error(py, msg, Some(path), None, None)
            }
            #[allow(unreachable_patterns)]
            _ => parse_error(py, msg, None, None, None),
        },
    }
}

/// A rule file that cannot be read.
pub fn rules(py: Python<'_>, e: &RuleError) -> PyErr {
    let msg = chain(e);
    match e {
        RuleError::Syntax {
            origin, line, col, ..
        } => parse_error(py, msg, Some(Path::new(origin)), Some(*line), Some(*col)),
        RuleError::Read { path, .. } => parse_error(py, msg, Some(path), None, None),
        RuleError::Refused(_) => parse_error(py, msg, None, None, None),
    }
}

/// A profile file that cannot be read.
pub fn profile(py: Python<'_>, e: &ProfileError) -> PyErr {
    let msg = chain(e);
    match e {
        ProfileError::Syntax {
            origin, line, col, ..
        } => parse_error(py, msg, Some(Path::new(origin)), Some(*line), Some(*col)),
        ProfileError::Read { path, .. } => parse_error(py, msg, Some(path), None, None),
        ProfileError::Invalid { origin, .. } => {
            parse_error(py, msg, Some(Path::new(origin)), None, None)
        }
        ProfileError::UnknownHost(_) => parse_error(py, msg, None, None, None),
    }
}

/// A frame list that cannot be read.
pub fn frames(py: Python<'_>, e: &FrameSpecError) -> PyErr {
    let err = FramesError::new_err(chain(e));
    if let Err(set) = err.value(py).setattr("col", e.col) {
        return set;
    }
    err
}

/// A render workflow error.
pub fn render(e: &LibRenderError) -> PyErr {
    RenderError::new_err(chain(e))
}

/// A farm job that cannot be written (no frames, a bad placeholder, a file error).
pub fn job(e: &(dyn std::error::Error + 'static)) -> PyErr {
    RenderError::new_err(chain(e))
}

/// A dataset cache error.
pub fn dataset(e: &LibDatasetError) -> PyErr {
    DatasetError::new_err(chain(e))
}
