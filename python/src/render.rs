//! `smartcache.Script` and `smartcache.RenderCache`: render-cache validity in-process.
//!
//! A host reads its script once (`Script.read`, or `Script.from_json` for a graph it
//! exported from a live session), then records after rendering and checks before
//! reusing frames. Hashing runs on every core with the GIL released, so a host's UI
//! thread keeps running.

use crate::convert;
use crate::errors;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use smartcache::check::{FrameResult as LibFrameResult, Reason as LibReason};
use smartcache::frames::format_spec;
use smartcache::graph::expand::{expand, may_expand, ExpandOptions};
use smartcache::ignore::RuleSet;
use smartcache::profile::Profile;
use smartcache::render::{
    self, CheckOptions, CheckReport as LibCheckReport, Explained, LoadedScript, RecordOptions,
    RecordReport as LibRecordReport,
};
use smartcache::store::CacheDir;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A script read into a dependency graph (a Nuke `.nk`/`.gizmo` or a JSON graph).
#[pyclass(frozen, module = "smartcache", name = "Script")]
pub struct Script {
    pub(crate) inner: Arc<LoadedScript>,
}

#[pymethods]
impl Script {
    /// Read a script file of either format (chosen by content, not extension).
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Script> {
        let loaded = py
            .detach(|| LoadedScript::read(&path))
            .map_err(|e| errors::load(py, &e))?;
        Ok(Script {
            inner: Arc::new(loaded),
        })
    }

    /// A host-neutral JSON graph held in a string. `path` names it in messages and in
    /// the cache, and relative file paths in it are taken from its directory.
    #[staticmethod]
    #[pyo3(signature = (text, path = None))]
    fn from_json(py: Python<'_>, text: &str, path: Option<PathBuf>) -> PyResult<Script> {
        let path = path.unwrap_or_else(|| PathBuf::from("<json>"));
        let script = smartcache::json_graph::parse(text.as_bytes(), Some(&path))
            .map_err(|e| errors::load(py, &e.into()))?;
        Ok(Script {
            inner: Arc::new(LoadedScript {
                script,
                hash: smartcache::hash::Hex128::of(text.as_bytes()),
                path,
            }),
        })
    }

    /// Where the script was read from.
    #[getter]
    fn path(&self) -> String {
        self.inner.path.to_string_lossy().into_owned()
    }

    /// xxh3-128 of the script's bytes (32 hex characters).
    #[getter]
    fn hash(&self) -> String {
        self.inner.hash.to_string()
    }

    /// The script's `(first_frame, last_frame)`.
    #[getter]
    fn frame_range(&self) -> (i64, i64) {
        self.inner.script.frame_range()
    }

    /// Every node's full name (`Group1.Blur1`), in file order.
    #[getter]
    fn nodes(&self) -> Vec<String> {
        self.inner
            .script
            .graph
            .nodes()
            .map(|(_, n)| n.name.to_string())
            .collect()
    }

    /// What the reader accepted but a user should hear about.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.script.warnings.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Script({:?}, {} nodes)",
            self.inner.path.display().to_string(),
            self.inner.script.graph.len()
        )
    }
}

/// Why a frame is not valid: `text` is the one-line explanation; `kind`, `node`,
/// `knob`, `old`, `new` carry the same facts for tools.
#[pyclass(frozen, module = "smartcache", name = "Reason")]
pub struct Reason {
    #[pyo3(get)]
    kind: String,
    #[pyo3(get)]
    node: Option<String>,
    #[pyo3(get)]
    knob: Option<String>,
    #[pyo3(get)]
    old: Option<String>,
    #[pyo3(get)]
    new: Option<String>,
    #[pyo3(get)]
    text: String,
}

impl Reason {
    fn of(r: &LibReason) -> Reason {
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Reason {
            kind,
            node: r.node.clone(),
            knob: r.knob.clone(),
            old: r.old.clone(),
            new: r.new.clone(),
            text: r.text.clone(),
        }
    }
}

#[pymethods]
impl Reason {
    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!("Reason({:?}, {:?})", self.kind, self.text)
    }
}

/// One checked frame: `status` is `"valid"`, `"outdated"`, `"uncached"` or
/// `"missing-render"`; `reasons` say why it is not valid.
#[pyclass(frozen, module = "smartcache", name = "FrameResult")]
pub struct FrameResult {
    #[pyo3(get)]
    frame: i64,
    #[pyo3(get)]
    status: &'static str,
    #[pyo3(get)]
    reasons: Vec<Py<Reason>>,
    /// The snapshot compared with (only for `RenderCache.explain`).
    #[pyo3(get)]
    snapshot: Option<String>,
    /// Paths the frame reads that cannot be verified (`Node.knob: why`).
    #[pyo3(get)]
    unverifiable: Vec<String>,
}

impl FrameResult {
    fn of(py: Python<'_>, r: &LibFrameResult, snapshot: Option<String>) -> PyResult<FrameResult> {
        Ok(FrameResult {
            frame: r.frame,
            status: r.status.as_str(),
            reasons: r
                .reasons
                .iter()
                .map(|x| Py::new(py, Reason::of(x)))
                .collect::<PyResult<_>>()?,
            snapshot,
            unverifiable: r.unverifiable.clone(),
        })
    }
}

#[pymethods]
impl FrameResult {
    /// `True` when the frame is valid.
    #[getter]
    fn valid(&self) -> bool {
        self.status == "valid"
    }

    fn __repr__(&self) -> String {
        format!(
            "FrameResult(frame={}, status={:?}, reasons={})",
            self.frame,
            self.status,
            self.reasons.len()
        )
    }
}

/// What `RenderCache.record` did.
#[pyclass(frozen, module = "smartcache", name = "RecordReport")]
pub struct RecordReport {
    inner: LibRecordReport,
}

#[pymethods]
impl RecordReport {
    /// The frames recorded, sorted.
    #[getter]
    fn frames(&self) -> Vec<i64> {
        self.inner.frames.clone()
    }

    /// Distinct frame hashes among them.
    #[getter]
    fn distinct(&self) -> usize {
        self.inner.distinct
    }

    /// Frames whose rendered file did not exist (not recorded).
    #[getter]
    fn renders_missing(&self) -> Vec<i64> {
        self.inner.renders_missing.clone()
    }

    /// Whether manifest objects were kept (for explanations).
    #[getter]
    fn manifests_kept(&self) -> bool {
        self.inner.manifests_kept
    }

    /// How many frames the master holds now.
    #[getter]
    fn master_frames(&self) -> usize {
        self.inner.master_frames
    }

    /// The master `hash.json`.
    #[getter]
    fn master(&self) -> String {
        self.inner.master.to_string_lossy().into_owned()
    }

    /// Problems worked around (a damaged master restored from its backup).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }

    /// Classes the frames read that the profile does not know and no gizmo defines.
    #[getter]
    fn unknown_classes(&self) -> Vec<String> {
        self.inner.unknown_classes.clone()
    }

    /// The report as `smartcache record --json` prints it.
    fn to_json(&self) -> String {
        convert::to_json_text(&self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "RecordReport(frames={:?}, distinct={})",
            format_spec(&self.inner.frames),
            self.inner.distinct
        )
    }
}

/// What `RenderCache.check` found.
#[pyclass(frozen, module = "smartcache", name = "CheckReport")]
pub struct CheckReport {
    inner: LibCheckReport,
}

#[pymethods]
impl CheckReport {
    /// `True` when every checked frame is valid.
    #[getter]
    fn valid(&self) -> bool {
        self.inner.all_valid()
    }

    /// Every checked frame, in order.
    #[getter]
    fn frames(&self, py: Python<'_>) -> PyResult<Vec<FrameResult>> {
        self.inner
            .frames
            .iter()
            .map(|r| FrameResult::of(py, r, None))
            .collect()
    }

    /// The frames to render again (every frame that is not valid), as a frame list
    /// such as `"1040-1060,1075"` (empty when all are valid).
    #[getter]
    fn outdated(&self) -> String {
        format_spec(&self.inner.to_render())
    }

    /// The snapshot written, or None for a check with `snapshot=False`.
    #[getter]
    fn snapshot(&self) -> Option<String> {
        self.inner.snapshot.as_ref().map(ToString::to_string)
    }

    /// The output node checked.
    #[getter]
    fn node(&self) -> String {
        self.inner.node.clone()
    }

    /// How many frames have each status.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (status, n) in self.inner.counts() {
            d.set_item(status.as_str(), n)?;
        }
        Ok(d)
    }

    /// Problems worked around (a damaged master read from its backup).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }

    /// Classes the frames read that the profile does not know and no gizmo defines.
    #[getter]
    fn unknown_classes(&self) -> Vec<String> {
        self.inner.unknown_classes.clone()
    }

    /// The report as `smartcache check --json` prints it.
    fn to_json(&self) -> String {
        convert::to_json_text(&self.inner)
    }

    /// Write an Open Job Description job template re-rendering the frames that are
    /// not valid (as `smartcache check --openjd`): tasks of at most `chunk` contiguous
    /// frames, each running `render_command` then `record_command` (placeholders
    /// `{first}`, `{last}`, `{frames}`, `{script}`, `{cache_dir}`); `script` and
    /// `cache_dir` are the job parameters' defaults (written relative to the template's
    /// directory). Returns the number of tasks;
    /// raises RenderError when every frame is valid.
    #[pyo3(signature = (path, render_command, record_command, script, cache_dir, chunk = 10))]
    fn write_openjd(
        &self,
        path: PathBuf,
        render_command: String,
        record_command: String,
        script: PathBuf,
        cache_dir: PathBuf,
        chunk: usize,
    ) -> PyResult<usize> {
        let spec = smartcache::openjd::JobSpec {
            name: format!("smartcache: re-render {}", self.inner.node),
            script,
            cache_dir,
            frames: self.inner.to_render(),
            chunk,
            render_command,
            record_command,
        };
        spec.write(&path).map_err(|e| errors::job(&e))?;
        Ok(spec.chunks().len())
    }

    fn __repr__(&self) -> String {
        let counts: Vec<String> = self
            .inner
            .counts()
            .into_iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        format!(
            "CheckReport(node={:?}, {}, outdated={:?})",
            self.inner.node,
            counts.join(", "),
            self.outdated()
        )
    }
}

/// A render-cache directory, with the ignore rules and node-class profile to hash
/// under (the built-in ones, then `$SMARTCACHE_RULES`/`$SMARTCACHE_PROFILE`, then the
/// files given, as the CLI layers them), and where gizmos are found (`plugin_path`,
/// then `$NUKE_PATH`, then `~/.nuke`, as the CLI's `--plugin-path`).
///
/// Kept for the life of the object: the record digests of the last record or check and
/// the setups decoded to explain outdated frames ([`render::Warm`]), so that a check
/// after an edit recomputes only what the edit changed; results are the same as a
/// fresh object's.
#[pyclass(frozen, module = "smartcache", name = "RenderCache")]
pub struct RenderCache {
    cache: CacheDir,
    rule_files: Vec<PathBuf>,
    profile_files: Vec<PathBuf>,
    /// The rules and profile in force per host (a script's host selects its built-in
    /// layers), loaded once each.
    layers: Mutex<HashMap<String, Arc<Layers>>>,
    plugin_path: Vec<PathBuf>,
    warm: render::Warm,
}

/// The ignore rules and node-class profile of one host.
struct Layers {
    rules: RuleSet,
    profile: Profile,
}

impl RenderCache {
    /// The rules and profile for scripts from `host`.
    fn layers(&self, py: Python<'_>, host: &str) -> PyResult<Arc<Layers>> {
        let mut map = self.layers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(host) {
            return Ok(l.clone());
        }
        let rules =
            RuleSet::load_host(host, &self.rule_files).map_err(|e| errors::rules(py, &e))?;
        let profile =
            Profile::load(host, &self.profile_files).map_err(|e| errors::profile(py, &e))?;
        let l = Arc::new(Layers { rules, profile });
        map.insert(host.to_string(), l.clone());
        Ok(l)
    }

    /// `script` with its gizmos and nested scripts read into the graph, as the CLI
    /// reads a script before hashing it (a copy only when there is something to read:
    /// a check after every edit of a large script should not copy it each time).
    fn expanded<'s>(&self, script: &'s LoadedScript, profile: &Profile) -> Cow<'s, LoadedScript> {
        if !may_expand(&script.script, profile) {
            return Cow::Borrowed(script);
        }
        let mut loaded = script.clone();
        let opts = ExpandOptions::with_env(self.plugin_path.clone(), loaded.base_dir());
        expand(&mut loaded.script, &opts, profile);
        Cow::Owned(loaded)
    }
}

#[pymethods]
impl RenderCache {
    #[new]
    #[pyo3(signature = (cache_dir, rules = None, profiles = None, plugin_path = None))]
    fn new(
        py: Python<'_>,
        cache_dir: PathBuf,
        rules: Option<&Bound<'_, PyAny>>,
        profiles: Option<&Bound<'_, PyAny>>,
        plugin_path: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RenderCache> {
        let files = |o: Option<&Bound<'_, PyAny>>| -> PyResult<Vec<PathBuf>> {
            o.filter(|o| !o.is_none())
                .map(convert::paths)
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let cache = RenderCache {
            cache: CacheDir::new(cache_dir),
            rule_files: files(rules)?,
            profile_files: files(profiles)?,
            layers: Mutex::new(HashMap::new()),
            plugin_path: files(plugin_path)?,
            warm: render::Warm::new(),
        };
        // Bad rule or profile files are reported here, not at the first record.
        cache.layers(py, "nuke")?;
        Ok(cache)
    }

    /// The cache directory.
    #[getter]
    fn cache_dir(&self) -> String {
        self.cache.path().to_string_lossy().into_owned()
    }

    /// The fingerprint of the ignore rules in force (for Nuke scripts; a JSON graph
    /// from another host layers that host's rules too).
    #[getter]
    fn rules_fingerprint(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.layers(py, "nuke")?.rules.fingerprint())
    }

    /// Record `frames` of `node` (default: the script's frame range) into the master;
    /// `render` is a frame pattern of the rendered files (`out.%04d.exr`) to fingerprint,
    /// by default a Write node's `file` knob (as the CLI's `record`).
    #[pyo3(signature = (script, node, frames = None, render = None))]
    fn record(
        &self,
        py: Python<'_>,
        script: &Script,
        node: &str,
        frames: Option<&Bound<'_, PyAny>>,
        render: Option<&str>,
    ) -> PyResult<RecordReport> {
        let frames = convert::frames(frames)?;
        let layers = self.layers(py, script.inner.script.host())?;
        let report = py
            .detach(|| {
                let loaded = self.expanded(&script.inner, &layers.profile);
                let mut opts =
                    RecordOptions::new(node, &layers.rules, &layers.profile).warm(&self.warm);
                opts.frames = frames.as_deref();
                opts.render = render;
                render::record(loaded, &self.cache, &opts)
            })
            .map_err(|e| errors::render(&e))?;
        Ok(RecordReport { inner: report })
    }

    /// Check `frames` of `node` (default: the script's frame range) against the master.
    /// With `snapshot=False` nothing is written (a read-only cache is fine); with
    /// `strict=True` a frame that reads a path smartcache cannot verify, or a class
    /// nothing defines, is outdated.
    #[pyo3(signature = (script, node, frames = None, snapshot = true, strict = false))]
    fn check(
        &self,
        py: Python<'_>,
        script: &Script,
        node: &str,
        frames: Option<&Bound<'_, PyAny>>,
        snapshot: bool,
        strict: bool,
    ) -> PyResult<CheckReport> {
        let frames = convert::frames(frames)?;
        let layers = self.layers(py, script.inner.script.host())?;
        let report = py
            .detach(|| {
                let loaded = self.expanded(&script.inner, &layers.profile);
                let mut opts = CheckOptions::new(node, &layers.rules, &layers.profile)
                    .snapshot(snapshot)
                    .strict(strict)
                    .warm(&self.warm);
                opts.frames = frames.as_deref();
                render::check(loaded, &self.cache, &opts)
            })
            .map_err(|e| errors::render(&e))?;
        Ok(CheckReport { inner: report })
    }

    /// Explain `frame`: the master against a snapshot (default: the newest).
    #[pyo3(signature = (frame, snapshot = None))]
    fn explain(&self, py: Python<'_>, frame: i64, snapshot: Option<&str>) -> PyResult<FrameResult> {
        let id = snapshot
            .map(|s| self.cache.snapshot_id(s))
            .transpose()
            .map_err(|e| errors::render(&e.into()))?;
        let Explained {
            snapshot, result, ..
        } = py
            .detach(|| render::explain(&self.cache, frame, id.as_ref()))
            .map_err(|e| errors::render(&e))?;
        FrameResult::of(py, &result, Some(snapshot.to_string()))
    }

    /// The snapshot ids of the cache, oldest first.
    fn snapshots(&self) -> PyResult<Vec<String>> {
        let ids = self
            .cache
            .require_exists()
            .and_then(|()| self.cache.snapshots())
            .map_err(|e| errors::render(&e.into()))?;
        Ok(ids.iter().map(ToString::to_string).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "RenderCache({:?})",
            Path::new(self.cache.path()).display().to_string()
        )
    }
}
