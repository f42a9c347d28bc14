//! Hashing the frames of one output, and storing what explains them later.
//!
//! A record or a check builds the output's setup once (what it depends on,
//! frame-independent), hashes the frames in parallel, and stores two objects: the setup
//! and one batch mapping each distinct frame hash to a frame that has it and the files
//! read there. A read-only check makes the same objects in memory only
//! ([`Hashed::objects`]), so its explanations need nothing on disk.

use super::{Progress, RenderError};
use crate::graph::Script;
use crate::hash::Hex128;
use crate::ignore::RuleSet;
use crate::manifest::source::source_key;
use crate::manifest::view::FileRead;
use crate::manifest::{Prepared, Setup, SourceProbe, FRAME_FORMAT, FRAME_VERSION};
use crate::profile::Profile;
use crate::store::batch_object::{Batch, BatchFrame};
use crate::store::{setup_object, FrameEntry, RenderRecord};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One hashed frame.
#[derive(Debug, Clone)]
pub struct HashedFrame {
    /// The frame hash.
    pub hash: Hex128,
    /// Files the frame read, keyed by [`source_key`].
    pub sources: BTreeMap<String, Vec<FileRead>>,
}

/// The hashes of a set of frames of one output.
pub struct Hashed {
    /// What the output depends on, frame-independent.
    pub setup: Setup,
    /// The setup as stored (its object name is the hash of these bytes).
    pub setup_json: Vec<u8>,
    /// The setup's id: the hash of the hashing format and the setup (see
    /// [`FrameEntry::setup`]).
    pub setup_id: Hex128,
    /// The frames hashed so far.
    pub frames: BTreeMap<i64, HashedFrame>,
}

/// The objects that explain a set of hashed frames: the setup and the batch, with their
/// names (the hashes of their bytes).
pub(super) struct Objects {
    pub setup: (Hex128, Vec<u8>),
    pub batch: (Hex128, Batch, Vec<u8>),
}

impl Hashed {
    /// Build the setup of `output` and its id, hashing no frame yet.
    pub fn new(
        script: &Script,
        output: &str,
        rules: &RuleSet,
        profile: &Profile,
    ) -> Result<Hashed, RenderError> {
        let setup = Setup::build(script, output, rules, profile)?;
        let setup_json = setup_object::encode(&setup);
        let mut h = crate::hash::Hasher::new();
        h.update(format!("{FRAME_FORMAT}/{FRAME_VERSION}\n").as_bytes());
        h.update(&setup_json);
        Ok(Hashed {
            setup_id: h.finish(),
            setup,
            setup_json,
            frames: BTreeMap::new(),
        })
    }

    /// Hash `frames`, in parallel, calling `progress` after each frame.
    pub fn hash(&mut self, frames: &[i64], probe: &dyn SourceProbe, progress: Progress<'_>) {
        let setup = &self.setup;
        let prepared = Prepared::new(setup);
        let hashed: Vec<(i64, HashedFrame)> = frames
            .par_iter()
            .map(|&f| {
                let (hash, sources) = prepared.frame_hash(f as f64, probe);
                progress();
                let sources = sources
                    .into_iter()
                    .map(|(node, ctx, s)| (source_key(&setup.nodes[node], ctx), s))
                    .collect();
                let hash = Hex128::parse(&hash).expect("frame hashes are written by hash::to_hex");
                (f, HashedFrame { hash, sources })
            })
            .collect();
        self.frames.extend(hashed);
    }

    /// Whether any frame of this setup reads a file on disk (then an unchanged setup
    /// does not imply unchanged frames).
    pub fn reads_files(&self) -> bool {
        self.setup
            .nodes
            .iter()
            .any(|n| !n.knob_only && n.sem.files.iter().any(|f| n.knob(&f.knob).is_some()))
    }

    /// The frame entry of a hashed frame, explained by batch object `batch`.
    pub(super) fn entry(&self, frame: i64, batch: Option<Hex128>) -> Option<FrameEntry> {
        self.frames.get(&frame).map(|h| FrameEntry {
            hash: h.hash,
            setup: Some(self.setup_id),
            manifest: batch,
            render: None,
        })
    }

    /// The setup and batch objects of the frames hashed, `None` when there are none.
    pub(super) fn objects(&self) -> Option<Objects> {
        if self.frames.is_empty() {
            return None;
        }
        let setup_name = Hex128::of(&self.setup_json);
        let mut frames = BTreeMap::new();
        for (f, h) in &self.frames {
            frames.entry(h.hash).or_insert_with(|| BatchFrame {
                frame: *f,
                sources: h.sources.clone(),
            });
        }
        let batch = Batch::new(setup_name, frames);
        let bytes = batch.encode();
        Some(Objects {
            setup: (setup_name, self.setup_json.clone()),
            batch: (Hex128::of(&bytes), batch, bytes),
        })
    }

    /// The number of distinct frame hashes.
    pub(super) fn distinct(&self) -> usize {
        let set: std::collections::HashSet<Hex128> = self.frames.values().map(|h| h.hash).collect();
        set.len()
    }
}

/// Hash `frames` of `output`, in parallel.
pub fn hash_frames(
    script: &Script,
    output: &str,
    rules: &RuleSet,
    profile: &Profile,
    frames: &[i64],
    probe: &dyn SourceProbe,
) -> Result<Hashed, RenderError> {
    let mut hashed = Hashed::new(script, output, rules, profile)?;
    hashed.hash(frames, probe, &super::no_progress);
    Ok(hashed)
}

/// Fingerprint a rendered file (`None` when it does not exist). Only a regular file is
/// fingerprinted (a device or FIFO at a render's path is an error, never read), and no
/// more is read than its size when it was opened.
pub fn render_record(path: &Path) -> Result<Option<RenderRecord>, RenderError> {
    let Some((mut reader, size)) = crate::fsutil::open_limited(path, u64::MAX)? else {
        return Ok(None);
    };
    reader.set_limit(size.saturating_add(1));
    let md = reader
        .get_ref()
        .metadata()
        .map_err(|source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let fp = crate::dataset::fingerprint::Fingerprint::from_metadata(&md);
    let mut hasher = crate::hash::Hasher::new();
    crate::fsutil::read_all(reader, &mut hasher, path, size)?;
    Ok(Some(RenderRecord {
        path: path.to_string_lossy().into_owned(),
        size,
        mtime_ns: fp.mtime_ns,
        hash: hasher.finish(),
    }))
}

/// The content hash of the regular file `path` if it holds exactly `size` bytes (reading
/// no more than that); `None` when it cannot be read or has another size.
pub(super) fn hash_bounded(path: &Path, size: u64) -> Option<Hex128> {
    let (reader, len) = crate::fsutil::open_limited(path, size).ok()??;
    let mut hasher = crate::hash::Hasher::new();
    let read = crate::fsutil::read_all(reader, &mut hasher, path, size).ok()?;
    (len == size && read == size).then(|| hasher.finish())
}
