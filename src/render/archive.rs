//! Comparing frame entries with the master's, and explaining the differences from the
//! objects that were stored when each frame was hashed.
//!
//! An outdated frame is explained by rebuilding both frames' views (the stored setup
//! viewed at the stored frame, with the files recorded then) and diffing them
//! ([`crate::check::explain`]). Objects are read once per comparison and shared by
//! every frame that names them; a read-only check hands over its own objects in memory
//! ([`Archive::with_current`]), so it explains without having written anything.

use super::hashing::{hash_bounded, Objects};
use super::RenderError;
use crate::check::{explain_with, FrameResult, Reason, ReasonKind, SetupNames, Side, Status};
use crate::hash::Hex128;
use crate::manifest::source::RecordedSources;
use crate::manifest::view::{FileRead, FrameView};
use crate::manifest::{Prepared, PreparedPair, PreparedParts, Setup, FRAME_VERSION};
use crate::store::batch_object::Batch;
use crate::store::{setup_object, CacheDir, FrameEntry, HashFile, RenderRecord};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Loads stored setups and batch objects to rebuild the manifests of past frames.
pub(super) struct Archive<'c> {
    cache: &'c CacheDir,
    /// A setup prepared already (the one just hashed), by object name.
    prepared: Option<(Hex128, &'c Prepared<'c>)>,
    /// What preparing other setups computed, by object name (see [`PreparedParts`]).
    parts: HashMap<Hex128, PreparedParts>,
    setups: HashMap<Hex128, Result<Arc<Setup>, Box<Reason>>>,
    batches: HashMap<Hex128, Result<Batch, Box<Reason>>>,
}

/// A stored frame: the setup it was hashed from, the frame, the files it read.
struct StoredFrame {
    setup_hash: Hex128,
    frame: f64,
    sources: HashMap<String, Vec<FileRead>>,
}

impl<'c> Archive<'c> {
    pub(super) fn new(cache: &'c CacheDir) -> Self {
        Archive {
            cache,
            prepared: None,
            parts: HashMap::new(),
            setups: HashMap::new(),
            batches: HashMap::new(),
        }
    }

    /// Serve `objects` (of frames hashed now, not stored) from memory.
    pub(super) fn with_current(mut self, setup: &Arc<Setup>, objects: Objects) -> Self {
        self.setups.insert(objects.setup, Ok(setup.clone()));
        let (name, batch, _) = objects.batch;
        self.batches.insert(name, Ok(batch));
        self
    }

    /// Serve the setup objects `setups` (decoded already, by name) from memory.
    pub(super) fn with_setups(mut self, setups: HashMap<Hex128, Arc<Setup>>) -> Self {
        for (name, s) in setups {
            self.setups.entry(name).or_insert(Ok(s));
        }
        self
    }

    /// Use `prepared` (of the setup object `name`, served with it) rather than
    /// preparing that setup again.
    pub(super) fn with_prepared(mut self, name: Hex128, prepared: &'c Prepared<'c>) -> Self {
        self.prepared = Some((name, prepared));
        self
    }

    /// Prepare the setups of `parts` from them (see [`PreparedParts`]).
    pub(super) fn with_parts(mut self, parts: HashMap<Hex128, PreparedParts>) -> Self {
        self.parts = parts;
        self
    }

    /// The setups decoded (or served), by object name, with the parts of those
    /// prepared here.
    pub(super) fn into_setups(self) -> super::warm::KeptSetups {
        let mut parts = self.parts;
        self.setups
            .into_iter()
            .filter_map(|(name, s)| Some((name, (s.ok()?, parts.remove(&name)))))
            .collect()
    }

    /// Read and decode object `name`, or the reason it cannot be used.
    fn object<T>(
        &self,
        name: Hex128,
        decode: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, Box<Reason>> {
        match self.cache.get_object(name) {
            Ok(Some(bytes)) => decode(&bytes).map_err(|e| {
                Box::new(Reason::simple(
                    ReasonKind::ManifestDamaged,
                    format!(
                        "the frame changed; its manifest object {name} is damaged ({e}), so it \
                         cannot be explained"
                    ),
                ))
            }),
            Ok(None) => Err(Box::new(Reason::simple(
                ReasonKind::ManifestMissing,
                format!(
                    "the frame changed; its manifest object {name} is missing, so it cannot \
                     be explained"
                ),
            ))),
            Err(e) => Err(Box::new(Reason::simple(
                ReasonKind::ManifestDamaged,
                format!("the frame changed; its manifest object {name} cannot be read ({e})"),
            ))),
        }
    }

    /// The stored frame of `entry`.
    fn frame(&mut self, entry: &FrameEntry) -> Result<StoredFrame, Box<Reason>> {
        let Some(name) = entry.manifest else {
            return Err(Box::new(Reason::simple(
                ReasonKind::ManifestNotKept,
                "the frame changed; manifest not kept, so it cannot be explained \
                 (CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE was set when it was hashed)",
            )));
        };
        if !self.batches.contains_key(&name) {
            let b = self.object(name, |b| Batch::decode(b).map_err(|e| e.to_string()));
            self.batches.insert(name, b);
        }
        let batch = self.batches[&name].as_ref().map_err(Clone::clone)?;
        let Some(f) = batch.frames.get(&entry.hash) else {
            return Err(Box::new(Reason::simple(
                ReasonKind::ManifestDamaged,
                format!("the frame changed; its manifest object {name} does not hold it"),
            )));
        };
        Ok(StoredFrame {
            setup_hash: batch.setup,
            frame: f.frame as f64,
            sources: f.sources.clone().into_iter().collect(),
        })
    }

    /// Load the setup object `name` (once), or the reason it cannot be used.
    fn load_setup(&mut self, name: Hex128) -> Result<(), Box<Reason>> {
        if !self.setups.contains_key(&name) {
            // Nodes the setup hashed now has too are shared with it, not held twice.
            let base = self.prepared.map(|(_, p)| p.setup);
            let s = self.object(name, |b| {
                setup_object::decode_beside(b, base)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            });
            self.setups.insert(name, s);
        }
        self.setups[&name]
            .as_ref()
            .map(|_| ())
            .map_err(Clone::clone)
    }

    /// Explain why each frame entry `old` became `new`, from the stored objects of both,
    /// by pair of hashes. The objects are loaded once; each pair of setups is prepared
    /// once for all the frames hashed from it, and the frames' views are built and
    /// diffed in parallel (an edit outdates every frame, and each frame's views cover
    /// the whole setup).
    fn explain_all(
        &mut self,
        pairs: Vec<(&FrameEntry, &FrameEntry)>,
    ) -> HashMap<(Hex128, Hex128), Vec<Reason>> {
        let mut out = HashMap::new();
        type Todo = Vec<((Hex128, Hex128), StoredFrame, StoredFrame)>;
        let mut by_setups: BTreeMap<(Hex128, Hex128), Todo> = BTreeMap::new();
        for (old, new) in pairs {
            let key = (old.hash, new.hash);
            let mut load = || -> Result<(StoredFrame, StoredFrame), Box<Reason>> {
                let (fo, fnew) = (self.frame(old)?, self.frame(new)?);
                self.load_setup(fo.setup_hash)?;
                self.load_setup(fnew.setup_hash)?;
                Ok((fo, fnew))
            };
            match load() {
                Ok((fo, fnew)) => by_setups
                    .entry((fo.setup_hash, fnew.setup_hash))
                    .or_default()
                    .push((key, fo, fnew)),
                Err(r) => {
                    out.insert(key, vec![*r]);
                }
            }
        }
        for ((ho, hn), frames) in by_setups {
            let (Some(Ok(so)), Some(Ok(sn))) = (self.setups.get(&ho), self.setups.get(&hn)) else {
                continue; // both were loaded above
            };
            // The setup hashed now is prepared already, for the new side (it looked at
            // the files of now, which the old side's frames may not have read); others
            // are prepared from the parts kept by an earlier run, or anew (and their
            // parts kept after).
            let ready = self.prepared.filter(|(n, _)| *n == hn).map(|(_, p)| p);
            let own_o = Some(prepare(&mut self.parts, ho, so));
            let own_n = ready.is_none().then(|| prepare(&mut self.parts, hn, sn));
            let (Some(po), Some(pn)) = (own_o.as_ref(), ready.or(own_n.as_ref())) else {
                continue; // each is either ready or owned
            };
            let pair = PreparedPair::new(po, pn);
            let names = SetupNames::of(so, sn);
            let explained: Vec<((Hex128, Hex128), Vec<Reason>)> = frames
                .into_par_iter()
                .map(|(key, fo, fnew)| {
                    let (ro, rn) = (RecordedSources(fo.sources), RecordedSources(fnew.sources));
                    let sides = |vo: &FrameView<'_>, vn: &FrameView<'_>| {
                        let old = Side {
                            setup: so,
                            view: vo,
                        };
                        let new = Side {
                            setup: sn,
                            view: vn,
                        };
                        explain_with(old, new, &names)
                    };
                    // The records that can differ first; every record when those
                    // give no reason (see `PreparedPair`).
                    if fo.frame == fnew.frame {
                        let (vo, vn) = pair.views(fo.frame, &ro, &rn);
                        let reasons = sides(&vo, &vn);
                        if !reasons.is_empty() {
                            return (key, reasons);
                        }
                    }
                    let (vo, vn) = (po.view(fo.frame, &ro), pn.view(fnew.frame, &rn));
                    (key, sides(&vo, &vn))
                })
                .collect();
            out.extend(explained);
            drop(pair);
            for (name, own) in [(ho, own_o), (hn, own_n)] {
                if let Some(p) = own {
                    self.parts.insert(name, p.into_parts());
                }
            }
        }
        out
    }

    /// Compare frame entries with the master's, explaining each difference.
    pub(super) fn compare(
        &mut self,
        master: Option<&HashFile>,
        current: &BTreeMap<i64, FrameEntry>,
    ) -> Result<Vec<FrameResult>, RenderError> {
        let mut out = Vec::with_capacity(current.len());
        let old_format = master
            .map(|m| m.meta.frame_format)
            .filter(|&v| v != FRAME_VERSION);
        let mut pairs = Vec::new();
        if let (Some(m), None) = (master, old_format) {
            let mut seen = std::collections::HashSet::new();
            for (f, now) in current {
                if let Some(then) = m.frames.get(f) {
                    if then.hash != now.hash && seen.insert((then.hash, now.hash)) {
                        pairs.push((then, now));
                    }
                }
            }
        }
        let explained = self.explain_all(pairs);
        for (f, now) in current {
            let (status, reasons) = match master.and_then(|m| m.frames.get(f)) {
                None => (Status::Uncached, Vec::new()),
                Some(then) if then.hash != now.hash => match old_format {
                    Some(v) => (
                        Status::Outdated,
                        vec![Reason::simple(
                            ReasonKind::Format,
                            format!(
                                "recorded by an older smartcache (frame format {v}, now \
                                 {FRAME_VERSION}): re-record the cache"
                            ),
                        )],
                    ),
                    None => (
                        Status::Outdated,
                        explained
                            .get(&(then.hash, now.hash))
                            .cloned()
                            .unwrap_or_default(),
                    ),
                },
                Some(then) => match &then.render {
                    Some(r) => render_status(r, self.cache.path())?,
                    None => (Status::Valid, Vec::new()),
                },
            };
            out.push(FrameResult {
                frame: *f,
                status,
                reasons,
                unverifiable: Vec::new(),
            });
        }
        Ok(out)
    }
}

/// Setup `s` (the object `name`) prepared from its parts in `parts`, or anew.
fn prepare<'s>(
    parts: &mut HashMap<Hex128, PreparedParts>,
    name: Hex128,
    s: &'s Setup,
) -> Prepared<'s> {
    match parts.remove(&name) {
        Some(p) => Prepared::from_parts(s, p),
        None => Prepared::new(s),
    }
}

/// Whether a recorded render file is still there and unchanged. Metadata first: the
/// content is only hashed when the size is as recorded but the mtime moved, and then no
/// more than the recorded size is read. Only a regular file can be the render: the
/// recorded path comes from `hash.json`, and a device there (`/dev/zero`) is never read.
///
/// The path is resolved against the cache directory `cache_dir` (see
/// [`RenderRecord::resolve`]) and shown as the user would write it from here.
fn render_status(r: &RenderRecord, cache_dir: &Path) -> Result<(Status, Vec<Reason>), RenderError> {
    let resolved = r.resolve(cache_dir);
    let path = resolved.as_path();
    let shown = crate::fsutil::tidy_for_display(path);
    let shown = shown.display();
    let missing = |text: String| {
        Ok((
            Status::MissingRender,
            vec![Reason {
                kind: ReasonKind::Render,
                node: None,
                knob: None,
                old: Some(r.hash.to_string()),
                new: None,
                text,
            }],
        ))
    };
    let Ok(md) = std::fs::metadata(path) else {
        return missing(format!("rendered file {shown} is gone"));
    };
    if !md.is_file() {
        return missing(format!("rendered file {shown} is not a regular file"));
    }
    let fp = crate::dataset::fingerprint::Fingerprint::from_metadata(&md);
    if md.len() == r.size && fp.mtime_ns == r.mtime_ns {
        return Ok((Status::Valid, Vec::new()));
    }
    if md.len() == r.size && hash_bounded(path, r.size) == Some(r.hash) {
        return Ok((Status::Valid, Vec::new()));
    }
    missing(format!("rendered file {shown} changed on disk"))
}
