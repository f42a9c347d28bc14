//! Transforms: what turns a source (and its sidecars) into an artifact.
//!
//! A build hands items to a transform through *job slots* (`-j`): each slot owns a
//! runner for the whole build, so whatever a transform keeps loaded (a worker
//! process, a model in memory) is loaded once per slot, not once per item. Four kinds:
//!
//! * [`Transform::exec`]: a command template run once per item (`{in}`, `{out}`,
//!   `{sidecars}` replaced by paths). A template that needs no shell is executed
//!   directly; otherwise `sh -c`.
//! * [`Transform::worker`]: a long-running command per slot speaking the line protocol
//!   of [`worker`] (an encoder that loads its model once).
//! * [`Transform::each`]: an in-process function per item.
//! * [`Transform::batch`]: an in-process function fed batches of items, returning one
//!   result per item (a model that prefers batches).
//!
//! Every transform writes each item's output to the temporary path it is given (in the
//! cache) and nothing else; the build checks, hashes and publishes it.

mod exec;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use exec::ExecTemplateError;

/// One item for a transform.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The source file (absolute).
    pub input: &'a Path,
    /// Where to write the artifact: a temporary file in the cache, not there yet.
    pub output: &'a Path,
    /// The item's companion files (see `BuildOptions::sidecars`), sorted.
    pub sidecars: &'a [PathBuf],
}

type EachFn<'a> = dyn Fn(&Path, &Path, &[PathBuf]) -> Result<(), String> + Send + Sync + 'a;
type BatchFn<'a> = dyn Fn(&[Item]) -> Vec<Result<(), String>> + Send + Sync + 'a;

/// What turns sources into artifacts (see the module documentation).
pub struct Transform<'a> {
    kind: Kind<'a>,
}

enum Kind<'a> {
    Exec(exec::Exec),
    Worker(String),
    Each(Box<EachFn<'a>>),
    Batch(usize, Box<BatchFn<'a>>),
}

impl std::fmt::Debug for Transform<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match &self.kind {
            Kind::Exec(e) => write!(f, "Transform::exec({:?})", e.template()),
            Kind::Worker(c) => write!(f, "Transform::worker({c:?})"),
            Kind::Each(_) => f.write_str("Transform::each(..)"),
            Kind::Batch(n, _) => write!(f, "Transform::batch({n}, ..)"),
        }
    }
}

/// Items a worker has in flight at once (it reads ahead; a crash fails them all).
pub const WORKER_IN_FLIGHT: usize = 16;

impl<'a> Transform<'a> {
    /// Run `template` once per item: `{in}` and `{out}` (both required) become the
    /// source and output paths, `{sidecars}` the sidecar paths. Executed directly when
    /// it uses no shell syntax (`convert {in} -resize 50% {out}`), else under `sh -c`
    /// with the paths shell-quoted.
    pub fn exec(template: &str) -> Result<Transform<'static>, ExecTemplateError> {
        Ok(Transform {
            kind: Kind::Exec(exec::Exec::new(template)?),
        })
    }

    /// One long-running `sh -c command` per job slot, fed `in<TAB>out[<TAB>sidecar…]`
    /// lines and answering `ok` or `error <message>` per line (see [`worker`]).
    pub fn worker(command: &str) -> Transform<'static> {
        Transform {
            kind: Kind::Worker(command.to_string()),
        }
    }

    /// Call `f(input, output, sidecars)` for each item, from the job slots' threads.
    ///
    /// ```
    /// use smartcache::dataset::Transform;
    /// let copy = Transform::each(|i, o, _sidecars| {
    ///     std::fs::copy(i, o).map(|_| ()).map_err(|e| e.to_string())
    /// });
    /// # let _ = copy;
    /// ```
    pub fn each(
        f: impl Fn(&Path, &Path, &[PathBuf]) -> Result<(), String> + Send + Sync + 'a,
    ) -> Transform<'a> {
        Transform {
            kind: Kind::Each(Box::new(f)),
        }
    }

    /// Call `f(items)` with up to `size` items at a time; it returns one result per item,
    /// in order (missing results count as failures).
    ///
    /// ```
    /// use smartcache::dataset::{Item, Transform};
    /// // A model loaded once, fed batches of 32.
    /// let encode = Transform::batch(32, |items: &[Item]| {
    ///     items.iter().map(|it| std::fs::write(it.output, b"latent").map_err(|e| e.to_string())).collect()
    /// });
    /// # let _ = encode;
    /// ```
    pub fn batch(
        size: usize,
        f: impl Fn(&[Item]) -> Vec<Result<(), String>> + Send + Sync + 'a,
    ) -> Transform<'a> {
        Transform {
            kind: Kind::Batch(size.max(1), Box::new(f)),
        }
    }

    /// How many items a slot hands its runner at once.
    pub(crate) fn batch_size(&self) -> usize {
        match &self.kind {
            Kind::Exec(_) | Kind::Each(_) => 1,
            Kind::Worker(_) => WORKER_IN_FLIGHT,
            Kind::Batch(n, _) => *n,
        }
    }

    /// A runner for one job slot. `interrupted` is set when a child process was killed
    /// by SIGINT (the user's Ctrl-C reached it too).
    pub(crate) fn runner(&self, interrupted: Option<Arc<AtomicBool>>) -> Box<dyn Runner + '_> {
        match &self.kind {
            Kind::Exec(e) => Box::new(exec::ExecRunner::new(e, interrupted)),
            Kind::Worker(cmd) => Box::new(worker::WorkerRunner::new(cmd, interrupted)),
            Kind::Each(f) => Box::new(EachRunner(f.as_ref())),
            Kind::Batch(n, f) => Box::new(BatchRunner(*n, f.as_ref())),
        }
    }
}

/// Runs items for one job slot.
pub(crate) trait Runner {
    /// One result per item, in order.
    fn run(&mut self, items: &[Item]) -> Vec<Result<(), String>>;

    /// A worker process, which items can also stream through (see
    /// [`worker::WorkerRunner::send`]).
    fn worker(&mut self) -> Option<&mut worker::WorkerRunner> {
        None
    }
}

struct EachRunner<'a>(&'a EachFn<'a>);

impl Runner for EachRunner<'_> {
    fn run(&mut self, items: &[Item]) -> Vec<Result<(), String>> {
        items
            .iter()
            .map(|it| (self.0)(it.input, it.output, it.sidecars))
            .collect()
    }
}

struct BatchRunner<'a>(usize, &'a BatchFn<'a>);

impl Runner for BatchRunner<'_> {
    fn run(&mut self, items: &[Item]) -> Vec<Result<(), String>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.0) {
            let mut got = (self.1)(chunk);
            got.resize_with(chunk.len(), || {
                Err("the batch transform returned no result for this item".into())
            });
            got.truncate(chunk.len());
            out.extend(got);
        }
        out
    }
}

/// The end of a child's stderr, as failure text: its last three lines.
pub(crate) fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// How a child process ended, for failure text; `None` for SIGINT (Ctrl-C).
#[cfg(unix)]
pub(crate) fn describe(status: std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(2)) => None,
        (Some(c), _) => Some(format!("exit status {c}")),
        (None, Some(s)) => Some(format!("killed by signal {s}")),
        (None, None) => Some("ended abnormally".into()),
    }
}

#[cfg(not(unix))]
pub(crate) fn describe(status: std::process::ExitStatus) -> Option<String> {
    Some(match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "ended abnormally".into(),
    })
}
