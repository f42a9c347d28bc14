//! Python callables as dataset transforms, and a build that Ctrl-C cancels.
//!
//! `transform(in_path, out_path)` runs once per item on the build's job slots;
//! `transform_batch(pairs)` is fed up to `batch_size` items at a time so that a model is
//! loaded once and fed batches. Each call takes the GIL for as long as the callable
//! runs (callables that release it, as NumPy and PyTorch do, run in parallel). An
//! exception is that item's failure, recorded with its message like a failing `--exec`.
//!
//! The build itself runs on a thread of its own while the calling thread waits with
//! the GIL released, waking every 50 ms to let Python run its signal handlers. When
//! they raise (Ctrl-C's `KeyboardInterrupt`), the build is cancelled as the CLI's Ctrl-C
//! cancels it: no further transform starts, the running ones finish, everything
//! finished is recorded; then the exception is raised to the caller.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use smartcache::dataset::{
    BuildOptions, BuildReport, DatasetCache, DatasetError, Item, Quiet, Sources, Transform,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How often a waiting build lets Python check for signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A path as Python's `os.fsdecode` gives it.
fn py_path<'py>(py: Python<'py>, p: &Path) -> PyResult<Bound<'py, PyAny>> {
    Ok(p.as_os_str().into_pyobject(py)?.into_any())
}

/// The message an exception leaves as an item's failure: `ValueError: bad header`.
fn failure(e: &PyErr) -> String {
    e.to_string()
}

/// `transform(in_path, out_path)` (with a third argument, the sidecar paths, when the
/// cache groups sidecars), once per item.
pub fn each(callable: Py<PyAny>, sidecars: bool) -> Transform<'static> {
    Transform::each(move |input, output, side| {
        Python::attach(|py| {
            let args = || -> PyResult<Bound<'_, PyTuple>> {
                let (i, o) = (py_path(py, input)?, py_path(py, output)?);
                if sidecars {
                    let s = side
                        .iter()
                        .map(|p| py_path(py, p))
                        .collect::<PyResult<Vec<_>>>()?;
                    PyTuple::new(py, [i, o, PyList::new(py, s)?.into_any()])
                } else {
                    PyTuple::new(py, [i, o])
                }
            };
            args()
                .and_then(|a| callable.call1(py, a))
                .map(|_| ())
                .map_err(|e| failure(&e))
        })
    })
}

/// `transform_batch(pairs)`, fed up to `size` items at a time as a list of
/// `(in_path, out_path)` tuples (`(in_path, out_path, sidecars)` with sidecars). It
/// returns None (every item done) or one result per item: None or True for done, False,
/// a string or an exception instance for that item's failure. An exception raised fails
/// the whole batch with its message.
pub fn batch(callable: Py<PyAny>, size: usize, sidecars: bool) -> Transform<'static> {
    Transform::batch(size, move |items: &[Item]| {
        Python::attach(|py| match call_batch(py, &callable, items, sidecars) {
            Ok(results) => results,
            Err(e) => {
                let msg = failure(&e);
                items.iter().map(|_| Err(msg.clone())).collect()
            }
        })
    })
}

fn call_batch(
    py: Python<'_>,
    callable: &Py<PyAny>,
    items: &[Item],
    sidecars: bool,
) -> PyResult<Vec<Result<(), String>>> {
    let pairs = PyList::empty(py);
    for it in items {
        let (i, o) = (py_path(py, it.input)?, py_path(py, it.output)?);
        let t = if sidecars {
            let s = it
                .sidecars
                .iter()
                .map(|p| py_path(py, p))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, [i, o, PyList::new(py, s)?.into_any()])?
        } else {
            PyTuple::new(py, [i, o])?
        };
        pairs.append(t)?;
    }
    let out = callable.call1(py, (pairs,))?;
    let out = out.bind(py);
    if out.is_none() {
        return Ok(items.iter().map(|_| Ok(())).collect());
    }
    let mut results = Vec::with_capacity(items.len());
    for r in out.try_iter()? {
        let r = r?;
        results.push(match r.extract::<bool>() {
            _ if r.is_none() => Ok(()),
            Ok(true) => Ok(()),
            Ok(false) => Err("transform_batch returned False for this item".to_string()),
            Err(_) => match r.cast::<pyo3::exceptions::PyBaseException>() {
                Ok(e) => Err(failure(&PyErr::from_value(e.clone().into_any()))),
                Err(_) => Err(r.str()?.to_string()),
            },
        });
    }
    Ok(results)
}

/// Run `cache.build`, cancelling it when Python raises from a signal handler (Ctrl-C)
/// while it runs. Returns the report, or the signal's exception once the cancelled
/// build has saved its work.
pub fn build(
    py: Python<'_>,
    cache: &DatasetCache,
    sources: &Sources,
    mut opts: BuildOptions,
    transform: &Transform<'_>,
) -> PyResult<Result<BuildReport, DatasetError>> {
    let cancel = Arc::new(AtomicBool::new(false));
    opts.cancel = Some(Arc::clone(&cancel));
    let opts = &opts;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        // Waited on with the GIL released, from a closure that must be `Send`.
        let rx = std::sync::Mutex::new(rx);
        let worker = s.spawn(move || {
            let _ = tx.send(cache.build(sources, opts, transform, &Quiet));
        });
        let mut interrupted: Option<PyErr> = None;
        loop {
            let received = py.detach(|| match rx.lock() {
                Ok(rx) => rx.recv_timeout(SIGNAL_POLL),
                Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
            });
            match received {
                Ok(result) => {
                    return match interrupted {
                        Some(e) => Err(e),
                        None => Ok(result),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // The build thread panicked: an exception, not a hang or an abort.
                    let why = match worker.join() {
                        Err(p) => p
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into()),
                        Ok(()) => "no result".into(),
                    };
                    return Err(crate::errors::DatasetError::new_err(format!(
                        "the build stopped: {why}"
                    )));
                }
            }
            if let Err(e) = py.check_signals() {
                cancel.store(true, Ordering::SeqCst);
                // A second Ctrl-C while the running transforms finish is not lost, but
                // the first one is what the caller gets.
                interrupted.get_or_insert(e);
            }
        }
    })
}
