//! `smartcache.DatasetCache`: the dataset cache in-process, for data loaders and farms.
//!
//! A handle keeps the index it read: `get` is a lookup in memory (a `stat` of the
//! source, a binary search, an `lstat` of the artifact), microseconds per call, which a
//! data loader can afford per sample. Reads use a read-only view (no lock, nothing
//! created, so a cache on a read-only mount serves); `build` opens the cache for
//! writing, and the view is read again afterwards.

use crate::convert;
use crate::errors;
use crate::transform;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use smartcache::dataset::{
    BuildOptions, BuildReport as LibBuildReport, DatasetCache as Lib, DatasetError, GetOptions,
    Shard, StatusOptions, StatusReport as LibStatusReport, VerifyReport as LibVerifyReport,
};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

/// A dataset cache directory and the producer (transform name and version) whose
/// artifacts it builds and serves.
#[pyclass(frozen, module = "smartcache", name = "DatasetCache")]
pub struct DatasetCache {
    dir: PathBuf,
    producer: String,
    ext: String,
    sidecars: Option<Vec<String>>,
    /// The read view (see the module docs), replaced after a build.
    reader: RwLock<Lib>,
    /// `get`'s options, made once: the handle's producer, nothing else.
    get_opts: GetOptions,
}

impl DatasetCache {
    fn reader(&self) -> Lib {
        self.reader
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn sources(
        &self,
        cache: &Lib,
        sources: &Bound<'_, PyAny>,
        shard: Option<&str>,
    ) -> PyResult<smartcache::dataset::Sources> {
        let paths = convert::paths(sources)?;
        let shard = shard
            .map(str::parse::<Shard>)
            .transpose()
            .map_err(|e| errors::dataset(&e))?;
        let py = sources.py();
        py.detach(|| cache.sources(&paths, shard))
            .map_err(|e| errors::dataset(&e))
    }
}

/// A lookup that finds nothing servable: None for the caller, not an exception.
fn not_served(e: &DatasetError) -> bool {
    matches!(
        e,
        DatasetError::NotIndexed { .. }
            | DatasetError::NoArtifact { .. }
            | DatasetError::Stale { .. }
            | DatasetError::Corrupt { .. }
    )
}

#[pymethods]
impl DatasetCache {
    /// `ext`: the artifacts' file extension without the dot (some tools choose the
    /// output format from it). `sidecars`: globs of companion files that belong to the
    /// file with the same stem (`["*.txt"]` for captions); a transform then receives
    /// their paths as a third argument.
    #[new]
    #[pyo3(signature = (cache_dir, producer, ext = "", sidecars = None))]
    fn new(
        cache_dir: PathBuf,
        producer: &str,
        ext: &str,
        sidecars: Option<Vec<String>>,
    ) -> PyResult<DatasetCache> {
        let reader = Lib::at(&cache_dir).map_err(|e| errors::dataset(&e))?;
        Ok(DatasetCache {
            dir: cache_dir,
            producer: producer.to_string(),
            ext: ext.to_string(),
            sidecars,
            reader: RwLock::new(reader),
            get_opts: GetOptions {
                producer: Some(producer.to_string()),
                ..GetOptions::default()
            },
        })
    }

    /// The cache directory (absolute).
    #[getter]
    fn cache_dir(&self) -> String {
        self.reader().dir().to_string_lossy().into_owned()
    }

    /// The producer whose artifacts are built and served.
    #[getter]
    fn producer(&self) -> String {
        self.producer.clone()
    }

    /// The artifact serving `path` for `variant`, or None when there is none to serve
    /// (not indexed, not built, the source changed since, the artifact damaged).
    fn get(&self, path: PathBuf, variant: &str) -> PyResult<Option<OsString>> {
        let r = self.reader.read().unwrap_or_else(|p| p.into_inner());
        match r.get_with(&path, variant, &self.get_opts) {
            Ok(p) => Ok(Some(p.into_os_string())),
            Err(e) if not_served(&e) => Ok(None),
            Err(e) => Err(errors::dataset(&e)),
        }
    }

    /// `get` for many paths: one artifact path (or None) per path, in order.
    fn get_many(
        &self,
        py: Python<'_>,
        paths: &Bound<'_, PyAny>,
        variant: &str,
    ) -> PyResult<Vec<Option<OsString>>> {
        let paths = convert::paths(paths)?;
        let reader = self.reader();
        let results = py.detach(|| reader.get_many(&paths, variant, &self.get_opts));
        results
            .into_iter()
            .map(|r| match r {
                Ok(p) => Ok(Some(p.into_os_string())),
                Err(e) if not_served(&e) => Ok(None),
                Err(e) => Err(errors::dataset(&e)),
            })
            .collect()
    }

    /// What a build of `variant` would do for `sources` (files or directories).
    fn status(
        &self,
        py: Python<'_>,
        sources: &Bound<'_, PyAny>,
        variant: &str,
    ) -> PyResult<StatusReport> {
        let reader = self.reader();
        let sources = self.sources(&reader, sources, None)?;
        let opts = StatusOptions {
            variant: Some(variant.to_string()),
            producer: Some(self.producer.clone()),
            ext: Some(self.ext.clone()),
            sidecars: self.sidecars.clone(),
            ..StatusOptions::default()
        };
        let report = py
            .detach(|| reader.status(&sources, &opts))
            .map_err(|e| errors::dataset(&e))?;
        Ok(StatusReport { inner: report })
    }

    /// Bring `variant` of `sources` up to date. Give `transform(in_path, out_path)`,
    /// called once per distinct content without a valid artifact, or
    /// `transform_batch(pairs)`, called with up to `batch_size` `(in_path, out_path)`
    /// pairs at a time. An exception raised by either is that item's failure (see
    /// `BuildReport.failures`); the rest goes on. `jobs`: transforms at once (0: one per
    /// core). `shard="K/N"`: only this process's share of the sources. Ctrl-C
    /// (KeyboardInterrupt) stops the build as the CLI's does: running transforms
    /// finish, finished work is saved, then the exception is raised.
    #[pyo3(signature = (sources, variant, transform = None, *, transform_batch = None,
                        batch_size = 32, jobs = 0, checkpoint = 5.0, shard = None))]
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        py: Python<'_>,
        sources: &Bound<'_, PyAny>,
        variant: &str,
        transform: Option<Py<PyAny>>,
        transform_batch: Option<Py<PyAny>>,
        batch_size: usize,
        jobs: usize,
        checkpoint: f64,
        shard: Option<&str>,
    ) -> PyResult<BuildReport> {
        let with_sidecars = self.sidecars.as_ref().is_some_and(|s| !s.is_empty());
        let t = match (transform, transform_batch) {
            (Some(f), None) => transform::each(f, with_sidecars),
            (None, Some(f)) => transform::batch(f, batch_size.max(1), with_sidecars),
            _ => {
                return Err(PyValueError::new_err(
                    "give exactly one of transform and transform_batch",
                ))
            }
        };
        if !(checkpoint.is_finite() && checkpoint > 0.0) {
            return Err(PyValueError::new_err(
                "checkpoint must be a positive number of seconds",
            ));
        }
        let cache = py
            .detach(|| Lib::open(&self.dir))
            .map_err(|e| errors::dataset(&e))?;
        let sources = self.sources(&cache, sources, shard)?;
        let mut opts = BuildOptions::new(variant, &self.producer);
        opts.ext = self.ext.clone();
        opts.jobs = jobs;
        opts.checkpoint = Duration::from_secs_f64(checkpoint);
        opts.sidecars = self.sidecars.clone();
        let result = transform::build(py, &cache, &sources, opts, &t);
        // Whatever happened, what was recorded is seen by the next lookups.
        *self.reader.write().unwrap_or_else(|p| p.into_inner()) = cache;
        let report = result?.map_err(|e| errors::dataset(&e))?;
        Ok(BuildReport { inner: report })
    }

    /// Check every artifact of the cache against its record (whether the cache can
    /// serve without the sources). Reads each artifact once; writes nothing.
    fn verify(&self, py: Python<'_>) -> PyResult<VerifyReport> {
        let reader = self.reader();
        let report = py
            .detach(|| reader.verify())
            .map_err(|e| errors::dataset(&e))?;
        Ok(VerifyReport { inner: report })
    }

    /// The path → artifact map of `variant`, as `smartcache dataset export` writes it.
    fn export(&self, py: Python<'_>, variant: &str) -> PyResult<Py<PyAny>> {
        let reader = self.reader();
        let export = py
            .detach(|| reader.export(variant))
            .map_err(|e| errors::dataset(&e))?;
        let v = serde_json::to_value(&export)
            .map_err(|e| crate::errors::Error::new_err(e.to_string()))?;
        convert::json(py, &v)
    }

    /// Forget what was read of the index (the next lookup sees other processes' work).
    fn refresh(&self) {
        self.reader().refresh();
    }

    fn __repr__(&self) -> String {
        format!(
            "DatasetCache({:?}, producer={:?})",
            self.dir.display().to_string(),
            self.producer
        )
    }
}

/// The `#[pymethods]` of a report: a getter per count field, then `$extra` methods (a
/// class has one `#[pymethods]` block).
macro_rules! report_methods {
    ($ty:ident { $($field:ident: $doc:literal),* $(,)? } $($extra:tt)*) => {
        #[pymethods]
        impl $ty {
            $(
                #[doc = $doc]
                #[getter]
                #[allow(clippy::new_ret_no_self, clippy::wrong_self_convention)]
                fn $field(&self) -> usize {
                    self.inner.$field
                }
            )*
            $($extra)*
        }
    };
}

/// What `DatasetCache.build` did.
#[pyclass(frozen, module = "smartcache", name = "BuildReport")]
pub struct BuildReport {
    inner: LibBuildReport,
}

report_methods!(BuildReport {
    new: "Files new since the last build.",
    changed: "Files whose content changed.",
    touched: "Files whose metadata moved but content did not.",
    unchanged: "Files unchanged.",
    removed: "Files gone since the last build.",
    transformed: "Transforms run (one per distinct content).",
    deduplicated: "Sources served by an artifact of identical content.",
    repaired: "Artifacts found damaged and built again.",
    waited: "Contents another build was making: waited for, not run here.",
    saves: "Checkpoints written.",
    cancelled: "Transforms not run because the build was cancelled.",
}
    /// `(path, error)` for each source that could not be built.
    #[getter]
    fn failures(&self) -> Vec<(String, String)> {
        self.inner
            .failures
            .iter()
            .map(|f| (f.path.clone(), f.error.clone()))
            .collect()
    }

    /// Index fallbacks and migrations worked around.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }

    /// The report as `smartcache dataset build --json` prints it.
    fn to_json(&self) -> String {
        convert::to_json_text(&self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "BuildReport(transformed={}, deduplicated={}, failures={}, cancelled={})",
            self.inner.transformed,
            self.inner.deduplicated,
            self.inner.failures.len(),
            self.inner.cancelled
        )
    }
);

/// What `DatasetCache.status` found.
#[pyclass(frozen, module = "smartcache", name = "StatusReport")]
pub struct StatusReport {
    inner: LibStatusReport,
}

#[pymethods]
impl StatusReport {
    /// Nothing to do: every file unchanged, every artifact present.
    #[getter]
    fn clean(&self) -> bool {
        self.inner.is_clean()
    }

    /// The totals (`new`, `changed`, `missing_artifacts`, …) as a dict.
    #[getter]
    fn counts(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = serde_json::to_value(&self.inner.counts)
            .map_err(|e| crate::errors::Error::new_err(e.to_string()))?;
        convert::json(py, &v)
    }

    /// One dict per file (`path`, `state`, `artifacts`, …), as in `--json`.
    #[getter]
    fn files(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = serde_json::to_value(&self.inner.files)
            .map_err(|e| crate::errors::Error::new_err(e.to_string()))?;
        convert::json(py, &v)
    }

    /// Index fallbacks and migrations worked around.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }

    /// Whether the tree was read from a running `smartcache dataset watch` rather than
    /// walked.
    #[getter]
    fn watched(&self) -> bool {
        self.inner.watched
    }

    /// The report as `smartcache dataset status --json` prints it.
    fn to_json(&self) -> String {
        convert::to_json_text(&self.inner)
    }

    fn __repr__(&self) -> String {
        let c = &self.inner.counts;
        format!(
            "StatusReport(new={}, changed={}, unchanged={}, removed={}, missing_artifacts={})",
            c.new, c.changed, c.unchanged, c.removed, c.missing_artifacts
        )
    }
}

/// What `DatasetCache.verify` found.
#[pyclass(frozen, module = "smartcache", name = "VerifyReport")]
pub struct VerifyReport {
    inner: LibVerifyReport,
}

#[pymethods]
impl VerifyReport {
    /// No problem found.
    #[getter]
    fn clean(&self) -> bool {
        self.inner.problems.is_empty()
    }

    /// Index entries checked.
    #[getter]
    fn entries(&self) -> usize {
        self.inner.entries
    }

    /// Artifacts read and checked.
    #[getter]
    fn artifacts_checked(&self) -> usize {
        self.inner.artifacts_checked
    }

    /// `(source, variant, problem)` for each problem.
    #[getter]
    fn problems(&self) -> Vec<(String, String, String)> {
        self.inner
            .problems
            .iter()
            .map(|p| (p.source.clone(), p.variant.clone(), p.problem.clone()))
            .collect()
    }

    /// The report as `smartcache dataset verify --json` prints it.
    fn to_json(&self) -> String {
        convert::to_json_text(&self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyReport(entries={}, artifacts_checked={}, problems={})",
            self.inner.entries,
            self.inner.artifacts_checked,
            self.inner.problems.len()
        )
    }
}
