//! Hashing the frames of one output, and storing what explains them later.
//!
//! A record or a check builds the output's setup once (what it depends on,
//! frame-independent), hashes the frames in parallel, and stores two objects: the setup
//! and one batch mapping each distinct frame hash to a frame that has it and the files
//! read there. A read-only check makes the same objects in memory only
//! ([`Hashed::objects`]), so its explanations need nothing on disk.

use super::{Progress, RenderError, Warm};
use crate::graph::Script;
use crate::hash::Hex128;
use crate::ignore::RuleSet;
use crate::manifest::source::{source_key, ROOT_KEY};
use crate::manifest::view::{FileRead, FileState};
use crate::manifest::{Digests, Kept, Prepared, Setup, SourceProbe, FRAME_FORMAT, FRAME_VERSION};
use crate::profile::Profile;
use crate::store::batch_object::{Batch, BatchFrame};
use crate::store::{setup_object, CacheDir, FrameEntry, RenderRecord, SetupMemo};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Frames hashed together by one thread ([`Prepared::frame_hashes`]): enough that a
/// node's data is read once for many frames, few enough that two cores share 1,000
/// frames evenly.
const BATCH: usize = 25;

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
    pub setup: Arc<Setup>,
    /// The name of the setup's object: the hash of its stored bytes, which are not
    /// kept (they are stored as they are made: [`Hashed::stored`]).
    setup_name: Hex128,
    /// The setup's id: the hash of the hashing format and the setup (see
    /// [`FrameEntry::setup`]).
    pub setup_id: Hex128,
    /// The frames hashed so far.
    pub frames: BTreeMap<i64, HashedFrame>,
}

/// The objects that explain a set of hashed frames: the setup and the batch, with their
/// names (the hashes of their bytes).
pub(super) struct Objects {
    pub setup: Hex128,
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
        Ok(Hashed::from_setup(Setup::build(
            script, output, rules, profile,
        )?))
    }

    /// [`Hashed::new`] from a setup built already (the script it was built from may be
    /// gone: the setup is all that hashing reads).
    pub fn from_setup(setup: Setup) -> Hashed {
        Hashed::from_shared(Arc::new(setup))
    }

    /// [`Hashed::from_setup`] of a setup shared with its caller.
    pub fn from_shared(setup: Arc<Setup>) -> Hashed {
        Hashed::encoded(setup, None).expect("hashing a setup's bytes cannot fail")
    }

    /// [`Hashed::from_setup`], storing the setup's object in `cache` as it is encoded:
    /// its bytes (about the script's size) are made once, hashed for its name and id on
    /// the way to the file, and never held whole.
    pub(super) fn stored(setup: Arc<Setup>, cache: &CacheDir) -> Result<Hashed, RenderError> {
        Hashed::encoded(setup, Some(cache))
    }

    fn encoded(setup: Arc<Setup>, store: Option<&CacheDir>) -> Result<Hashed, RenderError> {
        let mut id = crate::hash::Hasher::new();
        id.update(format!("{FRAME_FORMAT}/{FRAME_VERSION}\n").as_bytes());
        let encode = |out: &mut dyn std::io::Write| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
            setup_object::encode_to(&setup, &mut out).and_then(|()| std::io::Write::flush(&mut out))
        };
        let setup_name = match store {
            None => {
                let mut name = crate::hash::Hasher::new();
                encode(&mut Tee(&mut id, &mut name)).expect("hashing a setup's bytes cannot fail");
                name.finish()
            }
            Some(cache) => {
                let mut object = cache.object_writer()?;
                encode(&mut Tee(&mut id, &mut object)).map_err(|source| RenderError::Io {
                    path: cache.manifests_dir(),
                    source,
                })?;
                object.finish(cache)?
            }
        };
        Ok(Hashed {
            setup_id: id.finish(),
            setup_name,
            setup,
            frames: BTreeMap::new(),
        })
    }

    /// Hash `frames`, in parallel, calling `progress` after each frame.
    pub fn hash(&mut self, frames: &[i64], probe: &dyn SourceProbe, progress: Progress<'_>) {
        self.hash_warm(frames, probe, progress, None);
    }

    /// [`Hashed::hash`], taking the record digests `warm` kept from an earlier run
    /// where they still hold, and keeping this run's there for the next (see
    /// [`crate::manifest::reuse`]); the hashes are the same as without.
    pub fn hash_warm(
        &mut self,
        frames: &[i64],
        probe: &dyn SourceProbe,
        progress: Progress<'_>,
        warm: Option<&Warm>,
    ) {
        if frames.is_empty() {
            return;
        }
        let setup = self.setup.clone();
        self.hash_prepared(&Prepared::new(&setup), frames, probe, progress, warm);
    }

    /// [`Hashed::hash_warm`] with the setup prepared already (`prepared`, made from
    /// [`Hashed::setup`]), to be used again after, to explain.
    pub(super) fn hash_prepared(
        &mut self,
        prepared: &Prepared<'_>,
        frames: &[i64],
        probe: &dyn SourceProbe,
        progress: Progress<'_>,
        warm: Option<&Warm>,
    ) {
        if frames.is_empty() {
            return;
        }
        let setup = &*self.setup;
        let root_files = prepared.root_files(probe).to_vec();
        let prev = warm.and_then(Warm::take_digests);
        let reuse = prev.as_ref().and_then(|d| d.reuse(prepared, setup));
        type Batched = (Vec<(i64, HashedFrame)>, Option<(Vec<f64>, Kept)>);
        let batches: Vec<Batched> = frames
            .par_chunks(BATCH)
            .map(|batch| {
                let at: Vec<f64> = batch.iter().map(|&f| f as f64).collect();
                let mut keep = warm.map(|_| Kept::default());
                let hashes = prepared.frame_hashes_with(&at, probe, reuse.as_ref(), keep.as_mut());
                let hashed = batch.iter().zip(hashes).map(|(&f, (hash, sources))| {
                    progress();
                    let mut sources: BTreeMap<String, Vec<FileRead>> = sources
                        .into_iter()
                        .map(|(node, ctx, s)| (source_key(&setup.nodes[node].name, ctx), s))
                        .collect();
                    if !root_files.is_empty() {
                        sources.insert(ROOT_KEY.to_string(), root_files.clone());
                    }
                    let hash =
                        Hex128::parse(&hash).expect("frame hashes are written by hash::to_hex");
                    (f, HashedFrame { hash, sources })
                });
                (hashed.collect(), keep.map(|k| (at, k)))
            })
            .collect();
        let mut kept = Vec::new();
        for (hashed, k) in batches {
            self.frames.extend(hashed);
            kept.extend(k);
        }
        drop(reuse);
        super::warm::drop_aside(prev);
        if let Some(w) = warm {
            w.put_digests(Digests::gather(prepared, self.setup.clone(), kept));
        }
    }

    /// Whether any frame of this setup reads a file on disk (then an unchanged setup
    /// does not imply unchanged frames).
    pub fn reads_files(&self) -> bool {
        !self.setup.root_files.is_empty()
            || self
                .setup
                .nodes
                .iter()
                .any(|n| !n.knob_only && n.sem.files.iter().any(|f| n.knob(&f.knob).is_some()))
    }

    /// The memo of this setup under `key` (see [`SetupMemo`]): `None` when its frames
    /// read files, whose content an unchanged setup does not vouch for.
    pub(super) fn memo(&self, key: Hex128) -> Option<SetupMemo> {
        if self.reads_files() {
            return None;
        }
        let s = &self.setup;
        let env = s
            .nodes
            .iter()
            .flat_map(|n| &n.knobs)
            .chain(&s.root)
            .chain(&s.root_on_demand)
            .flat_map(|k| k.env().iter().cloned())
            .collect();
        Some(SetupMemo {
            key,
            setup: self.setup_id,
            env,
            unknown_classes: self.unknown_classes(),
        })
    }

    /// Classes of nodes the frames read that the profile does not know and no gizmo
    /// defines: what they do to a frame is assumed, not known.
    pub fn unknown_classes(&self) -> Vec<String> {
        let classes: std::collections::BTreeSet<&str> = self
            .setup
            .nodes
            .iter()
            .filter(|n| !n.knob_only && !n.group && !n.sem.known)
            .map(|n| &*n.class)
            .collect();
        classes.into_iter().map(str::to_string).collect()
    }

    /// What a user should hear about the files the hashed frames read: missing files
    /// (recorded as missing) and paths that cannot be verified, one line per node knob
    /// and problem, with the frames.
    pub fn file_warnings(&self) -> Vec<String> {
        let mut by: BTreeMap<(String, String, String), (Vec<i64>, String)> = BTreeMap::new();
        for (f, h) in &self.frames {
            for (key, reads) in &h.sources {
                let node = key.rsplit_once('@').map_or(key.as_str(), |(n, _)| n);
                let node = if key == ROOT_KEY { "Root" } else { node };
                for r in reads {
                    let problem = match &r.state {
                        FileState::Content(_) => continue,
                        FileState::Missing => "is missing (recorded as missing)".to_string(),
                        FileState::Unreadable(e) => format!("cannot be read ({e})"),
                        FileState::Unverifiable(why) => format!("cannot be verified: {why}"),
                    };
                    let e = by
                        .entry((node.to_string(), r.knob.clone(), problem))
                        .or_insert_with(|| (Vec::new(), r.path.clone()));
                    if e.0.last() != Some(f) {
                        e.0.push(*f);
                    }
                }
            }
        }
        by.into_iter()
            .map(|((node, knob, problem), (frames, path))| {
                let what = if path.is_empty() {
                    String::new()
                } else {
                    format!(" {path}")
                };
                format!(
                    "{node}.{knob}:{what} {problem} (frames {})",
                    crate::frames::format_ranges(&frames)
                )
            })
            .collect()
    }

    /// The paths frame `f` reads that cannot be verified, as `Node.knob: reason`.
    pub fn unverifiable(&self, f: i64) -> Vec<String> {
        let Some(h) = self.frames.get(&f) else {
            return Vec::new();
        };
        let mut out: Vec<String> = h
            .sources
            .iter()
            .flat_map(|(key, reads)| {
                let node = key.rsplit_once('@').map_or(key.as_str(), |(n, _)| n);
                let node = if key == ROOT_KEY { "Root" } else { node };
                reads.iter().filter_map(move |r| match &r.state {
                    FileState::Unverifiable(why) => Some(format!("{node}.{}: {why}", r.knob)),
                    _ => None,
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
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

    /// The name of the setup's object (the hash of its stored bytes).
    pub(super) fn setup_name(&self) -> Hex128 {
        self.setup_name
    }

    /// The setup and batch objects of the frames hashed, `None` when there are none.
    pub(super) fn objects(&self) -> Option<Objects> {
        if self.frames.is_empty() {
            return None;
        }
        let setup_name = self.setup_name();
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
            setup: setup_name,
            batch: (Hex128::of(&bytes), batch, bytes),
        })
    }

    /// The number of distinct frame hashes.
    pub(super) fn distinct(&self) -> usize {
        let set: std::collections::HashSet<Hex128> = self.frames.values().map(|h| h.hash).collect();
        set.len()
    }
}

/// Bytes written to a hasher and to a second writer.
struct Tee<'a, W>(&'a mut crate::hash::Hasher, &'a mut W);

impl<W: std::io::Write> std::io::Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.write_all(buf)?;
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.1.flush()
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
        base: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The setup's name and id are hashed from bytes that are not kept: they must be
    /// the hashes of the bytes stored later, or no explanation finds its setup.
    #[test]
    fn setup_name_and_id_are_the_hashes_of_the_stored_bytes() {
        let text = "Root {\n name t.nk\n}\nCheckerBoard2 {\n name C\n}\n\
                    Blur {\n size {{curve x1 1 x10 5}}\n label \"[value size]\"\n name B\n}\n";
        let script =
            crate::graph::load_bytes(text.as_bytes(), Path::new("t.nk")).expect("a script");
        let setup = Setup::build(&script, "B", &RuleSet::builtin(), &Profile::nuke()).unwrap();
        let bytes = setup_object::encode(&setup);
        let setup = Arc::new(setup);
        let hashed = Hashed::from_setup((*setup).clone());
        assert_eq!(hashed.setup_name(), Hex128::of(&bytes));
        let mut id = bytes.clone();
        id.splice(
            0..0,
            format!("{FRAME_FORMAT}/{FRAME_VERSION}\n").into_bytes(),
        );
        assert_eq!(hashed.setup_id, Hex128::of(&id));
        // Stored as it is encoded: the same name and id, the object holds the bytes,
        // and nothing else is left in the cache (no temporary file). Stored again, it
        // is found in place.
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        for _ in 0..2 {
            let stored = Hashed::stored(setup.clone(), &cache).unwrap();
            assert_eq!(stored.setup_name(), hashed.setup_name());
            assert_eq!(stored.setup_id, hashed.setup_id);
            assert_eq!(
                cache.get_object(stored.setup_name()).unwrap(),
                Some(bytes.clone())
            );
            let files: Vec<_> = std::fs::read_dir(cache.manifests_dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(files, [format!("{}.json", hashed.setup_name())]);
        }
    }
}
