//! The base: the whole index at one moment, compacted into one immutable file per
//! generation (`index/base-<generation>.scb`), read in place.
//!
//! `status` reads it and borrows every entry from it (no `String` per entry, no
//! parsing); `get` in a fresh process binary-searches it with a few positioned reads
//! ([`TableFile`]), so a lookup costs the same on 100 or 10,000,000 entries. Entries,
//! removals and artifacts are fixed-size records sorted by key, with their text in a
//! UTF-8 heap; the few variants and the failures are a small encoded section read whole.
//! The artifact records (as large as the entries, and needed only to certify artifacts
//! of migrated indexes, to check fingerprints when building and to verify) come last,
//! with their own heap and checksum, and are read only when asked for.
//!
//! # Layout (little-endian)
//!
//! ```text
//! header   magic "SCDBASE\x03" | generation u64 | clock i64 | entries u64 |
//!          removals u64 | artifacts u64 | head_len u64 | heap_len u64 | dirs_len u64 |
//!          art_heap_len u64 | body_hash u64 | art_hash u64 | header_hash u64
//!          (xxh3-64 of the main part, of the artifact part, of the header before it)
//! main     entries | removals | head | heap | dirs
//! art      artifacts | art_heap
//! span     offset u64 | length u32, into its section's heap
//! entry    path span | size u64 | mtime i64 | ctime i64 | inode u64 | at i64 |
//!          hash span | variants span | check u64        (84 bytes, sorted by path)
//! removal  path span | at i64                           (20 bytes, sorted by path)
//! artifact path span | source_hash span | variant span | producer span |
//!          checksum span | size u64 | at i64 | has_fp u64 | fp (size u64, mtime i64,
//!          ctime i64, inode u64) | check u64             (124 bytes, sorted by path)
//! head     variants u32 × (name, at i64, producer, ext)
//!          failures u32 × (path, at i64, present u8 [variant, producer, error, at])
//!          sidecars: at i64, globs u32 × glob   (see super::sidecars)
//!          (strings as u32 length + UTF-8)
//! heap     UTF-8 text; an entry's variants packed as `name\0path\0name\0path…`.
//!          Spans may share text: the writer points an entry's hash into the artifact
//!          names of its variants, an artifact's source hash into its own name, and
//!          writes the variant and producer of a run of artifacts once (a third less
//!          text at 100,000 entries; readers only ever follow spans)
//! dirs     count u32 × (name, fingerprint): fan-out directories of `objects/` in which
//!          every artifact an entry names was present (see super::objects)
//! check    xxh3-64 of the record before `check` and the xxh3-128 of the text of its
//!          spans, so a record found by a positioned read is verified on its own
//! ```
//!
//! `clock` is a reading of the filesystem's clock taken before the `objects/`
//! directories were fingerprinted (see [`super::objects`]).
//!
//! A base is written in one pass over its contents ([`Writer`]): the entry records go
//! to the file as they come, the removal records and the text wait in unnamed temporary
//! files until their place. Compaction reads the previous base front to back a buffer
//! at a time ([`Stream`]). Neither holds the index in memory.

use super::codec::{Dec, Enc};
use super::fingerprint::Fingerprint;
use super::model::{Artifact, Entry, Failure, VariantInfo};
use super::objects::Snapshot;
use super::view::{EntryRef, VariantsRef};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::OnceLock;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

const MAGIC: &[u8; 8] = b"SCDBASE\x03";
const HEADER_LEN: usize = 8 + 12 * 8;
const ENTRY_LEN: usize = 12 + 32 + 8 + 12 + 12 + 8;
const REMOVAL_LEN: usize = 12 + 8;
const ARTIFACT_LEN: usize = 5 * 12 + 8 + 8 + 8 + 32 + 8;

/// Variants: name → (since, info). Failures: path → (when, failure or cleared).
pub(crate) type Variants = BTreeMap<String, (i64, VariantInfo)>;
pub(crate) type Failures = BTreeMap<String, (i64, Option<Failure>)>;
/// The sidecar globs items are grouped with, and since when (none: `(0, [])`).
pub(crate) type Sidecars = (i64, Vec<String>);

/// The small decoded part of a base: variants, failures, sidecar rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Head {
    pub variants: Variants,
    pub failures: Failures,
    pub sidecars: Sidecars,
}

/// The header of a base file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    generation: u64,
    clock: i64,
    entries: u64,
    removals: u64,
    artifacts: u64,
    head_len: u64,
    heap_len: u64,
    dirs_len: u64,
    art_heap_len: u64,
    body_hash: u64,
    art_hash: u64,
}

impl Header {
    fn decode(bytes: &[u8]) -> Result<Header, String> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err("not a smartcache index base (or another version)".into());
        }
        let mut d = Dec::new(&bytes[8..HEADER_LEN]);
        let mut n = || d.u64().unwrap_or(0);
        let h = Header {
            generation: n(),
            clock: n() as i64,
            entries: n(),
            removals: n(),
            artifacts: n(),
            head_len: n(),
            heap_len: n(),
            dirs_len: n(),
            art_heap_len: n(),
            body_hash: n(),
            art_hash: n(),
        };
        let stored = n();
        if xxh3_64(&bytes[..HEADER_LEN - 8]) != stored {
            return Err("header checksum mismatch".into());
        }
        Ok(h)
    }

    /// Offsets of the sections from the start of the file, and the file's length.
    fn sections(&self) -> Option<Sections> {
        let entries = HEADER_LEN as u64;
        let removals = entries.checked_add(self.entries.checked_mul(ENTRY_LEN as u64)?)?;
        let head = removals.checked_add(self.removals.checked_mul(REMOVAL_LEN as u64)?)?;
        let heap = head.checked_add(self.head_len)?;
        let dirs = heap.checked_add(self.heap_len)?;
        let artifacts = dirs.checked_add(self.dirs_len)?;
        let art_heap = artifacts.checked_add(self.artifacts.checked_mul(ARTIFACT_LEN as u64)?)?;
        let end = art_heap.checked_add(self.art_heap_len)?;
        Some(Sections {
            entries,
            removals,
            head,
            heap,
            dirs,
            artifacts,
            art_heap,
            end,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Sections {
    entries: u64,
    removals: u64,
    head: u64,
    heap: u64,
    dirs: u64,
    artifacts: u64,
    art_heap: u64,
    end: u64,
}

/// What goes into a base, borrowed from wherever the caller keeps it (an index held in
/// memory: tests, legacy indexes, [`super::store::compact`]). Every sequence yields its
/// keys in strictly increasing byte order.
pub(crate) struct Contents<'a, 'b> {
    pub generation: u64,
    pub clock: i64,
    pub entries: &'b mut dyn Iterator<Item = (&'a str, EntryRef<'a>)>,
    pub removals: &'b [(&'a str, i64)],
    pub artifacts: &'b mut dyn Iterator<Item = (Cow<'a, str>, Artifact)>,
    pub head: &'b Head,
    /// The fan-out directories of `objects/` to record (see [`super::objects`]), given
    /// the artifacts the entries name (see [`Writer::named`]).
    pub objects: &'b dyn Fn(&Named) -> Snapshot,
}

/// A writer that hashes what goes through it.
struct Hashed<W: Write> {
    out: W,
    hash: Xxh3,
}

impl<W: Write> Hashed<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }
}

/// Append a span of `len` bytes at `off` of the heap to `rec`.
fn span_at(rec: &mut Vec<u8>, off: u64, len: usize) {
    rec.extend_from_slice(&off.to_le_bytes());
    rec.extend_from_slice(&(len as u32).to_le_bytes());
}

/// Append `rec`'s check (see the layout) to it.
fn seal(rec: &mut Vec<u8>, check: &Xxh3) {
    let mut h = Xxh3::new();
    h.update(rec);
    h.update(&check_text(check));
    rec.extend_from_slice(&h.digest().to_le_bytes());
}

/// An entry's variants packed as `name\0path\0…` into `out`. Pairs that cannot be packed
/// (a NUL inside) are left out: no variant name or artifact path the cache makes has one.
fn pack(e: &EntryRef, out: &mut String) {
    out.clear();
    e.variants.for_each(|name, rel| {
        if name.contains('\0') || rel.contains('\0') {
            return;
        }
        if !out.is_empty() {
            out.push('\0');
        }
        out.push_str(name);
        out.push('\0');
        out.push_str(rel);
    });
}

/// The text of an artifact record, in span order.
fn artifact_texts<'r>(rel: &'r str, a: &'r Artifact) -> [&'r str; 5] {
    [rel, &a.source_hash, &a.variant, &a.producer, &a.checksum]
}

/// Where a [`Writer`] keeps what goes into the file after something not written yet (the
/// removal records and the text, which follow the entry records): memory, or an
/// unnamed temporary file (so that writing a base holds no more than a buffer of it).
pub(crate) enum Spill {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

impl Spill {
    /// A temporary file in `dir`, unlinked at once (nothing is left behind by a crash).
    pub fn file_in(dir: &Path) -> io::Result<Spill> {
        let path = dir.join(format!(
            ".spill.{}.{}.tmp",
            std::process::id(),
            SPILLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // On filesystems that cannot unlink an open file the name stays until the end of
        // the write (removed below) or is taken for a stray temporary file.
        let _ = std::fs::remove_file(&path);
        Ok(Spill::File(BufWriter::with_capacity(1 << 16, f)))
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Spill::Memory(v) => {
                v.extend_from_slice(bytes);
                Ok(())
            }
            Spill::File(f) => f.write_all(bytes),
        }
    }

    /// Everything put, in order, to `out`.
    fn replay(self, out: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        match self {
            Spill::Memory(v) => out(&v),
            Spill::File(f) => {
                let mut f = f.into_inner().map_err(|e| e.into_error())?;
                f.seek(SeekFrom::Start(0))?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match io::Read::read(&mut f, &mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => out(&buf[..n])?,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

static SPILLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The artifacts the entries of a base name, by fan-out directory (`<h[..2]>`), as
/// xxh3-128 keys of `<fan-out>/<name>` (what [`super::objects::snapshot`] checks).
pub(crate) type Named = BTreeMap<String, Vec<u128>>;

/// Writes a base file in one pass over its contents, each kind given in key order:
/// entries and removals (interleaved as the caller likes), then the head and the
/// `objects/` snapshot, then the artifacts. Entry records go straight to the file;
/// removal records and all the text are kept in [`Spill`]s until their place comes.
/// Memory: buffers, whatever the size of the index.
pub(crate) struct Writer<W: Write + Seek> {
    main: Hashed<BufWriter<W>>,
    removals: Option<Spill>,
    heap: Option<Spill>,
    art_heap: Option<Spill>,
    /// Bytes of text written so far (main heap, then artifact heap).
    off: u64,
    entries: u64,
    n_removals: u64,
    artifacts: u64,
    named: Named,
    rec: Vec<u8>,
    packed: String,
    body_hash: u64,
    head_len: u64,
    heap_len: u64,
    dirs_len: u64,
    /// Text shared by consecutive artifact records (variant, producer): span of the last one written.
    shared: [(u64, String); 2],
}

impl<W: Write + Seek> Writer<W> {
    /// Start a base at the beginning of `out`; `spill` makes the places where what waits
    /// for its turn is kept.
    pub fn new(out: W, spill: &dyn Fn() -> io::Result<Spill>) -> io::Result<Writer<W>> {
        let mut main = Hashed {
            out: BufWriter::with_capacity(1 << 20, out),
            hash: Xxh3::new(),
        };
        main.out.write_all(&[0u8; HEADER_LEN])?;
        Ok(Writer {
            main,
            removals: Some(spill()?),
            heap: Some(spill()?),
            art_heap: Some(spill()?),
            off: 0,
            entries: 0,
            n_removals: 0,
            artifacts: 0,
            named: Named::new(),
            rec: Vec::with_capacity(ARTIFACT_LEN),
            packed: String::new(),
            body_hash: 0,
            head_len: 0,
            heap_len: 0,
            dirs_len: 0,
            shared: Default::default(),
        })
    }

    /// Put `text` in the heap; its offset.
    fn text(&mut self, text: &str) -> io::Result<u64> {
        let at = self.off;
        self.heap
            .as_mut()
            .ok_or_else(|| io::Error::other("base writer used out of order"))?
            .put(text.as_bytes())?;
        self.off += text.len() as u64;
        Ok(at)
    }

    /// The next entry (paths strictly increasing).
    pub fn entry(&mut self, path: &str, e: &EntryRef) -> io::Result<()> {
        let mut packed = std::mem::take(&mut self.packed);
        pack(e, &mut packed);
        let path_at = self.text(path)?;
        let packed_at = self.text(&packed)?;
        // The content hash is part of the artifact names in the variants (`objects/<h[..2]>/<h>-…`):
        // its span points there rather than repeating it.
        let hash_at = match packed.find(e.hash) {
            Some(i) if !e.hash.is_empty() => packed_at + i as u64,
            _ => self.text(e.hash)?,
        };
        let mut rec = std::mem::take(&mut self.rec);
        rec.clear();
        let mut check = Xxh3::new();
        span_at(&mut rec, path_at, path.len());
        check.update(path.as_bytes());
        for n in [
            e.fp.size,
            e.fp.mtime_ns as u64,
            e.fp.ctime_ns as u64,
            e.fp.inode,
            e.at as u64,
        ] {
            rec.extend_from_slice(&n.to_le_bytes());
        }
        span_at(&mut rec, hash_at, e.hash.len());
        check.update(e.hash.as_bytes());
        span_at(&mut rec, packed_at, packed.len());
        check.update(packed.as_bytes());
        seal(&mut rec, &check);
        self.main.put(&rec)?;
        self.entries += 1;
        e.variants.for_each(|_, rel| {
            if let Some((fanout, key)) = super::layout::split_object(rel) {
                let k = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
                match self.named.get_mut(fanout) {
                    Some(v) => v.push(k),
                    None => {
                        self.named.insert(fanout.to_string(), vec![k]);
                    }
                }
            }
        });
        self.rec = rec;
        self.packed = packed;
        Ok(())
    }

    /// A removal (tombstone; paths strictly increasing).
    pub fn removal(&mut self, path: &str, at: i64) -> io::Result<()> {
        let path_at = self.text(path)?;
        let mut rec = [0u8; REMOVAL_LEN];
        rec[..8].copy_from_slice(&path_at.to_le_bytes());
        rec[8..12].copy_from_slice(&(path.len() as u32).to_le_bytes());
        rec[12..].copy_from_slice(&at.to_le_bytes());
        self.removals
            .as_mut()
            .ok_or_else(|| io::Error::other("base writer used out of order"))?
            .put(&rec)?;
        self.n_removals += 1;
        Ok(())
    }

    /// The artifacts the entries written so far name (see [`Named`]).
    pub fn named(&self) -> &Named {
        &self.named
    }

    /// End the entries and removals: write the head, the text and the `objects/` snapshot.
    pub fn end_entries(&mut self, head: &Head, objects: &Snapshot) -> io::Result<()> {
        let (Some(removals), Some(heap)) = (self.removals.take(), self.heap.take()) else {
            return Err(io::Error::other("base writer used out of order"));
        };
        let main = &mut self.main;
        removals.replay(&mut |b| main.put(b))?;
        let head = encode_head(head);
        main.put(&head)?;
        heap.replay(&mut |b| main.put(b))?;
        let mut dirs = Enc::default();
        dirs.u32(objects.len() as u32);
        for (name, fp) in objects {
            dirs.str(name);
            for n in [fp.size, fp.mtime_ns as u64, fp.ctime_ns as u64, fp.inode] {
                dirs.u64(n);
            }
        }
        main.put(&dirs.0)?;
        self.body_hash = std::mem::replace(&mut main.hash, Xxh3::new()).digest();
        self.head_len = head.len() as u64;
        self.heap_len = self.off;
        self.dirs_len = dirs.0.len() as u64;
        self.off = 0;
        self.named = Named::new();
        Ok(())
    }

    /// The next artifact record (paths strictly increasing), after [`Self::end_entries`].
    pub fn artifact(&mut self, rel: &str, a: &Artifact) -> io::Result<()> {
        if self.heap.is_some() {
            return Err(io::Error::other("base writer used out of order"));
        }
        let mut heap = self
            .art_heap
            .take()
            .ok_or_else(|| io::Error::other("base writer used out of order"))?;
        let done = self.put_artifact(rel, a, &mut heap);
        self.art_heap = Some(heap);
        done
    }

    fn put_artifact(&mut self, rel: &str, a: &Artifact, heap: &mut Spill) -> io::Result<()> {
        let mut rec = std::mem::take(&mut self.rec);
        rec.clear();
        let mut check = Xxh3::new();
        for (k, t) in artifact_texts(rel, a).into_iter().enumerate() {
            check.update(t.as_bytes());
            // The variant and producer are the same for runs of artifacts: written once.
            let slot = match k {
                2 => Some(0),
                3 => Some(1),
                _ => None,
            };
            // The source hash is part of the artifact's name: pointed to there.
            if k == 1 && !t.is_empty() {
                if let Some(i) = rel.find(t) {
                    span_at(&mut rec, self.off - rel.len() as u64 + i as u64, t.len());
                    continue;
                }
            }
            if let Some(s) = slot {
                if self.shared[s].1 == t && self.off > 0 {
                    span_at(&mut rec, self.shared[s].0, t.len());
                    continue;
                }
                self.shared[s] = (self.off, t.to_string());
            }
            span_at(&mut rec, self.off, t.len());
            heap.put(t.as_bytes())?;
            self.off += t.len() as u64;
        }
        let fp = a.fp.unwrap_or_default();
        for n in [
            a.size,
            a.at as u64,
            u64::from(a.fp.is_some()),
            fp.size,
            fp.mtime_ns as u64,
            fp.ctime_ns as u64,
            fp.inode,
        ] {
            rec.extend_from_slice(&n.to_le_bytes());
        }
        seal(&mut rec, &check);
        self.main.put(&rec)?;
        self.artifacts += 1;
        self.rec = rec;
        Ok(())
    }

    /// Write the artifacts' text and the header; the writer's output.
    pub fn finish(mut self, generation: u64, clock: i64) -> io::Result<W> {
        let Some(heap) = self.art_heap.take().filter(|_| self.heap.is_none()) else {
            return Err(io::Error::other("base writer used out of order"));
        };
        let main = &mut self.main;
        heap.replay(&mut |b| main.put(b))?;
        let art_hash = main.hash.digest();
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        for n in [
            generation,
            clock as u64,
            self.entries,
            self.n_removals,
            self.artifacts,
            self.head_len,
            self.heap_len,
            self.dirs_len,
            self.off,
            self.body_hash,
            art_hash,
        ] {
            header.extend_from_slice(&n.to_le_bytes());
        }
        let header_hash = xxh3_64(&header);
        header.extend_from_slice(&header_hash.to_le_bytes());
        let mut out = self.main.out.into_inner().map_err(|e| e.into_error())?;
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&header)?;
        Ok(out)
    }
}

/// The head section: variants, failures, sidecar rule.
fn encode_head(h: &Head) -> Vec<u8> {
    let mut head = Enc::default();
    head.u32(h.variants.len() as u32);
    for (name, (at, info)) in &h.variants {
        head.str(name);
        head.i64(*at);
        head.str(&info.producer);
        head.str(&info.ext);
    }
    head.u32(h.failures.len() as u32);
    for (path, (at, f)) in &h.failures {
        head.str(path);
        head.i64(*at);
        match f {
            Some(f) => {
                head.u8(1);
                for s in [&f.variant, &f.producer, &f.error, &f.at] {
                    head.str(s);
                }
            }
            None => head.u8(0),
        }
    }
    head.i64(h.sidecars.0);
    head.u32(h.sidecars.1.len() as u32);
    for g in &h.sidecars.1 {
        head.str(g);
    }
    head.0
}

/// Write a base file holding `c` to `out` (positioned at its start), keeping what waits
/// for its place in `spill`s.
pub(crate) fn write<W: Write + Seek>(
    out: W,
    c: Contents,
    spill: &dyn Fn() -> io::Result<Spill>,
) -> io::Result<W> {
    let mut w = Writer::new(out, spill)?;
    for (path, e) in c.entries {
        w.entry(path, &e)?;
    }
    for (path, at) in c.removals {
        w.removal(path, *at)?;
    }
    let objects = (c.objects)(w.named());
    w.end_entries(c.head, &objects)?;
    for (rel, a) in c.artifacts {
        w.artifact(&rel, &a)?;
    }
    w.finish(c.generation, c.clock)
}

/// [`write`] into memory.
pub(crate) fn encode(c: Contents) -> Vec<u8> {
    let memory = || Ok(Spill::Memory(Vec::new()));
    // Writing to memory cannot fail.
    write(io::Cursor::new(Vec::new()), c, &memory)
        .map(io::Cursor::into_inner)
        .unwrap_or_default()
}

/// The running hash of a record's text, as bytes to feed the record's check.
fn check_text(h: &Xxh3) -> [u8; 16] {
    h.digest128().to_le_bytes()
}

/// Where a base's bytes come from: a file (positioned reads) or memory.
enum Src<'a> {
    File(&'a File),
    Bytes(&'a [u8]),
}

impl Src<'_> {
    /// `len` bytes at `off`, read straight into a new buffer (the one that is kept: a
    /// section is never copied after it is read).
    fn read(&self, off: u64, len: u64) -> Result<Vec<u8>, String> {
        let len = usize::try_from(len).map_err(|_| "too large")?;
        match self {
            Src::File(f) => {
                let mut buf = vec![0u8; len];
                read_at(f, &mut buf, off).map_err(|e| e.to_string())?;
                Ok(buf)
            }
            Src::Bytes(b) => {
                let start = usize::try_from(off).map_err(|_| "too large")?;
                b.get(start..start.checked_add(len).ok_or("too large")?)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| "truncated".into())
            }
        }
    }

    /// The section from `a` to `b`, fed to `hash` as well.
    fn section(&self, a: u64, b: u64, hash: &mut Xxh3) -> Result<Vec<u8>, String> {
        let bytes = self.read(a, b.checked_sub(a).ok_or("sections out of order")?)?;
        hash.update(&bytes);
        Ok(bytes)
    }
}

/// The artifact records of a base, with their text.
#[derive(Debug)]
struct Arts {
    records: Vec<u8>,
    heap: String,
}

/// A base read into memory (all but its artifact records, read on first use); entries
/// are borrowed from it.
#[derive(Debug)]
pub(crate) struct Table {
    pub generation: u64,
    /// The filesystem's clock when the base was written (see [`super::objects`]).
    pub clock: i64,
    pub head: Head,
    /// Fan-out directories whose artifacts were all present.
    pub objects: Snapshot,
    entries: Vec<u8>,
    removals: Vec<u8>,
    heap: String,
    header: Header,
    sections: Sections,
    /// The open file, for the artifact records (none when made from bytes).
    file: Option<File>,
    /// The artifact records; `None` inside when they are damaged (then unknown).
    arts: OnceLock<Option<Arts>>,
}

/// A span's text in `heap`; `None` when out of bounds or not on a character boundary.
fn text<'h>(heap: &'h str, rec: &[u8], at: usize) -> Option<&'h str> {
    let mut d = Dec::new(rec.get(at..at + 12)?);
    let off = usize::try_from(d.u64()?).ok()?;
    let len = d.u32()? as usize;
    heap.get(off..off.checked_add(len)?)
}

fn num(rec: &[u8], at: usize) -> u64 {
    rec.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

fn fp_at(rec: &[u8], at: usize) -> Fingerprint {
    Fingerprint {
        size: num(rec, at),
        mtime_ns: num(rec, at + 8) as i64,
        ctime_ns: num(rec, at + 16) as i64,
        inode: num(rec, at + 24),
    }
}

/// Whether the keys (first spans) of fixed-size records are strictly increasing and
/// every span listed in `spans` resolves.
fn sorted_and_resolving(records: &[u8], len: usize, heap: &str, spans: &[usize]) -> Option<()> {
    let mut prev: Option<&str> = None;
    for rec in records.chunks_exact(len) {
        let p = text(heap, rec, 0)?;
        for &at in spans {
            text(heap, rec, at)?;
        }
        if prev.is_some_and(|q| q >= p) {
            return None;
        }
        prev = Some(p);
    }
    Some(())
}

impl Table {
    /// Read and check the base file at `path` (its artifact records are read later, when
    /// first asked for).
    pub fn read(path: &Path) -> Result<Table, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut t = Table::load(&Src::File(&file), len)?;
        t.file = Some(file);
        Ok(t)
    }

    /// Check and take apart the bytes of a base file (artifacts included).
    pub fn from_bytes(bytes: &[u8]) -> Result<Table, String> {
        let t = Table::load(&Src::Bytes(bytes), bytes.len() as u64)?;
        let arts = t
            .load_arts(&Src::Bytes(bytes))
            .ok_or("malformed artifact records")?;
        let _ = t.arts.set(Some(arts));
        Ok(t)
    }

    fn load(src: &Src, file_len: u64) -> Result<Table, String> {
        let header = Header::decode(
            &src.read(0, HEADER_LEN as u64)
                .map_err(|_| "truncated header")?,
        )?;
        let s = header.sections().ok_or("section sizes overflow")?;
        if s.end != file_len {
            return Err(format!(
                "{file_len} bytes, the header accounts for {}",
                s.end
            ));
        }
        // Each section is read into the buffer that keeps it (no copy of 20 MB at
        // 100,000 entries), the body hash computed over them in file order.
        let mut hash = Xxh3::new();
        let mut records = src.section(s.entries, s.head, &mut hash)?;
        let head = src.section(s.head, s.heap, &mut hash)?;
        let heap = src.section(s.heap, s.dirs, &mut hash)?;
        let dirs = src.section(s.dirs, s.artifacts, &mut hash)?;
        if hash.digest() != header.body_hash {
            return Err("checksum mismatch".into());
        }
        let heap = String::from_utf8(heap).map_err(|_| "text is not UTF-8")?;
        let head = decode_head(&head).ok_or("malformed variants or failures")?;
        let removals = records.split_off((s.removals - s.entries) as usize);
        let table = Table {
            generation: header.generation,
            clock: header.clock,
            head,
            objects: decode_dirs(&dirs).ok_or("malformed objects section")?,
            entries: records,
            removals,
            heap,
            header,
            sections: s,
            file: None,
            arts: OnceLock::new(),
        };
        sorted_and_resolving(&table.entries, ENTRY_LEN, &table.heap, &[52, 64])
            .and_then(|()| sorted_and_resolving(&table.removals, REMOVAL_LEN, &table.heap, &[]))
            .ok_or("malformed or unsorted records")?;
        Ok(table)
    }

    /// Read and check the artifact records; `None` when damaged.
    fn load_arts(&self, src: &Src) -> Option<Arts> {
        let s = &self.sections;
        let mut hash = Xxh3::new();
        let records = src.section(s.artifacts, s.art_heap, &mut hash).ok()?;
        let heap = src.section(s.art_heap, s.end, &mut hash).ok()?;
        if hash.digest() != self.header.art_hash {
            return None;
        }
        let heap = String::from_utf8(heap).ok()?;
        sorted_and_resolving(&records, ARTIFACT_LEN, &heap, &[12, 24, 36, 48])?;
        Some(Arts { records, heap })
    }

    fn arts(&self) -> Option<&Arts> {
        self.arts
            .get_or_init(|| {
                self.file
                    .as_ref()
                    .and_then(|f| self.load_arts(&Src::File(f)))
            })
            .as_ref()
    }

    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY_LEN
    }

    /// Entry `i` (`i < len()`), borrowed.
    pub fn entry(&self, i: usize) -> (&str, EntryRef<'_>) {
        let rec = &self.entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN];
        // Every span was checked on load; the fallbacks never apply.
        let t = |at| text(&self.heap, rec, at).unwrap_or("");
        (
            t(0),
            EntryRef {
                fp: fp_at(rec, 12),
                at: num(rec, 44) as i64,
                hash: t(52),
                variants: VariantsRef::Packed(t(64)),
                vouched: true,
            },
        )
    }

    /// The position of `path` among the entries.
    pub fn find(&self, path: &str) -> Option<usize> {
        search(self.len(), |i| Some(self.entry(i).0.cmp(path)))
    }

    /// The removals (paths seen gone, with when), in path order.
    pub fn removals(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.removals
            .chunks_exact(REMOVAL_LEN)
            .map(|rec| (text(&self.heap, rec, 0).unwrap_or(""), num(rec, 12) as i64))
    }

    /// When `path` was recorded removed, if it was.
    pub fn removal(&self, path: &str) -> Option<i64> {
        let n = self.removals.len() / REMOVAL_LEN;
        let rec = |i: usize| &self.removals[i * REMOVAL_LEN..(i + 1) * REMOVAL_LEN];
        let i = search(n, |i| {
            Some(text(&self.heap, rec(i), 0).unwrap_or("").cmp(path))
        })?;
        Some(num(rec(i), 12) as i64)
    }

    /// How many artifact records there are (0 when they are damaged).
    pub fn artifact_count(&self) -> usize {
        self.arts().map_or(0, |a| a.records.len() / ARTIFACT_LEN)
    }

    /// Whether the artifact records could not be read back (damaged).
    pub fn artifacts_damaged(&self) -> bool {
        self.header.artifacts > 0 && self.arts().is_none()
    }

    /// Artifact `i` (`i < artifact_count()`).
    pub fn artifact_at(&self, i: usize) -> (&str, Artifact) {
        let a = self.arts().expect("artifact_count() > i");
        let rec = &a.records[i * ARTIFACT_LEN..(i + 1) * ARTIFACT_LEN];
        let t = |k: usize| text(&a.heap, rec, k * 12).unwrap_or("");
        (t(0), artifact_of(rec, |k| t(k).to_string()))
    }

    /// The record of artifact `rel`.
    pub fn artifact(&self, rel: &str) -> Option<Artifact> {
        self.find_artifact(rel).map(|i| self.artifact_at(i).1)
    }

    /// The position of artifact `rel` among the artifact records.
    fn find_artifact(&self, rel: &str) -> Option<usize> {
        let a = self.arts()?;
        let n = a.records.len() / ARTIFACT_LEN;
        let rec = |i: usize| &a.records[i * ARTIFACT_LEN..(i + 1) * ARTIFACT_LEN];
        search(n, |i| Some(text(&a.heap, rec(i), 0).unwrap_or("").cmp(rel)))
    }

    /// The fingerprint recorded for artifact `rel` (`None`: no record).
    pub fn artifact_fp(&self, rel: &str) -> Option<Option<Fingerprint>> {
        let i = self.find_artifact(rel)?;
        let a = self.arts()?;
        let rec = &a.records[i * ARTIFACT_LEN..(i + 1) * ARTIFACT_LEN];
        Some((num(rec, 76) != 0).then(|| fp_at(rec, 84)))
    }
}

impl super::view::EntryList for Table {
    fn len(&self) -> usize {
        Table::len(self)
    }
    fn entry(&self, i: usize) -> (&str, EntryRef<'_>) {
        Table::entry(self, i)
    }
    fn path(&self, i: usize) -> &str {
        let rec = &self.entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN];
        // Every span was checked on load; the fallback never applies.
        text(&self.heap, rec, 0).unwrap_or("")
    }
    fn hash(&self, i: usize) -> &str {
        let rec = &self.entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN];
        text(&self.heap, rec, 52).unwrap_or("")
    }
    fn stamp(&self, i: usize) -> (Fingerprint, i64) {
        let rec = &self.entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN];
        (fp_at(rec, 12), num(rec, 44) as i64)
    }
}

fn artifact_of(rec: &[u8], t: impl Fn(usize) -> String) -> Artifact {
    let has_fp = num(rec, 76) != 0;
    Artifact {
        source_hash: t(1),
        variant: t(2),
        producer: t(3),
        checksum: t(4),
        size: num(rec, 60),
        at: num(rec, 68) as i64,
        fp: has_fp.then(|| fp_at(rec, 84)),
    }
}

/// Binary search over `n` sorted records; `cmp(i)` compares record `i` with the key
/// (`None`: the record could not be read, which ends the search).
fn search(n: usize, mut cmp: impl FnMut(usize) -> Option<Ordering>) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match cmp(mid)? {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Some(mid),
        }
    }
    None
}

fn decode_head(bytes: &[u8]) -> Option<Head> {
    let mut d = Dec::new(bytes);
    let mut variants = BTreeMap::new();
    for _ in 0..d.u32()? {
        let name = d.string()?;
        let at = d.i64()?;
        let info = VariantInfo {
            producer: d.string()?,
            ext: d.string()?,
        };
        variants.insert(name, (at, info));
    }
    let mut failures = BTreeMap::new();
    for _ in 0..d.u32()? {
        let path = d.string()?;
        let at = d.i64()?;
        let f = match d.u8()? {
            0 => None,
            1 => Some(Failure {
                variant: d.string()?,
                producer: d.string()?,
                error: d.string()?,
                at: d.string()?,
            }),
            _ => return None,
        };
        failures.insert(path, (at, f));
    }
    let at = d.i64()?;
    let mut globs = Vec::new();
    for _ in 0..d.u32()? {
        globs.push(d.string()?);
    }
    d.is_empty().then_some(Head {
        variants,
        failures,
        sidecars: (at, globs),
    })
}

fn decode_dirs(bytes: &[u8]) -> Option<Snapshot> {
    let mut d = Dec::new(bytes);
    let count = d.u32()? as usize;
    let mut dirs = Vec::with_capacity(count.min(bytes.len() / 36));
    for _ in 0..count {
        let name = d.string()?;
        let fp = Fingerprint {
            size: d.u64()?,
            mtime_ns: d.i64()?,
            ctime_ns: d.i64()?,
            inode: d.u64()?,
        };
        dirs.push((name, fp));
    }
    d.is_empty().then_some(dirs)
}

/// A base read front to back a buffer at a time, for compaction: memory stays a few
/// buffers whatever the size of the index. The file is checked against its checksums
/// when opened (one sequential read), and each record against its own check as it is
/// read.
#[derive(Debug)]
pub(crate) struct Stream {
    file: File,
    header: Header,
    sections: Sections,
    pub head: Head,
}

/// Read `[from, to)` of `file` a buffer at a time into `hash`.
fn hash_range(file: &File, from: u64, to: u64, hash: &mut Xxh3) -> Result<(), String> {
    let mut buf = vec![0u8; 1 << 20];
    let mut at = from;
    while at < to {
        let n = ((to - at) as usize).min(buf.len());
        read_at(file, &mut buf[..n], at).map_err(|e| e.to_string())?;
        hash.update(&buf[..n]);
        at += n as u64;
    }
    Ok(())
}

/// Open a base file and read its header, checking that the sections it declares are
/// exactly the file (a truncated or extended base is refused before any section is read).
fn open_sized(path: &Path) -> Result<(File, Header, Sections), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let header = Header::decode(
        &Src::File(&file)
            .read(0, HEADER_LEN as u64)
            .map_err(|_| "truncated header")?,
    )?;
    let sections = header.sections().ok_or("section sizes overflow")?;
    if sections.end != len {
        return Err(format!(
            "{len} bytes, the header accounts for {}",
            sections.end
        ));
    }
    Ok((file, header, sections))
}

impl Stream {
    pub fn open(path: &Path) -> Result<Stream, String> {
        let (file, header, s) = open_sized(path)?;
        let mut h = Xxh3::new();
        hash_range(&file, s.entries, s.artifacts, &mut h)?;
        if h.digest() != header.body_hash {
            return Err("checksum mismatch".into());
        }
        let mut h = Xxh3::new();
        hash_range(&file, s.artifacts, s.end, &mut h)?;
        if h.digest() != header.art_hash {
            return Err("artifact records: checksum mismatch".into());
        }
        let head = decode_head(&Src::File(&file).read(s.head, s.heap - s.head)?)
            .ok_or("malformed variants or failures")?;
        Ok(Stream {
            file,
            header,
            sections: s,
            head,
        })
    }

    pub fn generation(&self) -> u64 {
        self.header.generation
    }

    fn records(&self, start: u64, n: u64, len: usize, heap: (u64, u64)) -> Records<'_> {
        Records {
            file: &self.file,
            next: start,
            end: start + n * len as u64,
            len,
            buf: Vec::new(),
            at: 0,
            texts: Texts {
                file: &self.file,
                start: heap.0,
                len: heap.1,
                win: 0,
                buf: Vec::new(),
            },
        }
    }

    /// The entries, in path order, as records.
    pub fn entries(&self) -> impl Iterator<Item = Result<super::model::Record, String>> + '_ {
        let s = &self.sections;
        let mut r = self.records(
            s.entries,
            self.header.entries,
            ENTRY_LEN,
            (s.heap, self.header.heap_len),
        );
        std::iter::from_fn(move || {
            let rec = r.next_record().transpose()?;
            Some(rec.and_then(|rec| {
                let path = r.texts.get(&rec, 0)?;
                let hash = r.texts.get(&rec, 52)?;
                let packed = r.texts.get(&rec, 64)?;
                TableFile::verify(&rec, &[&path, &hash, &packed])?;
                let e = EntryRef {
                    fp: fp_at(&rec, 12),
                    at: num(&rec, 44) as i64,
                    hash: &hash,
                    variants: VariantsRef::Packed(&packed),
                    vouched: false,
                };
                Ok(super::model::Record::Entry(path, e.to_entry()))
            }))
        })
    }

    /// The removals, in path order, as records.
    pub fn removals(&self) -> impl Iterator<Item = Result<super::model::Record, String>> + '_ {
        let s = &self.sections;
        let mut r = self.records(
            s.removals,
            self.header.removals,
            REMOVAL_LEN,
            (s.heap, self.header.heap_len),
        );
        std::iter::from_fn(move || {
            let rec = r.next_record().transpose()?;
            Some(rec.and_then(|rec| {
                let path = r.texts.get(&rec, 0)?;
                Ok(super::model::Record::Removed(path, num(&rec, 12) as i64))
            }))
        })
    }

    /// The artifact records, in path order.
    pub fn artifacts(&self) -> impl Iterator<Item = Result<super::model::Record, String>> + '_ {
        let s = &self.sections;
        let mut r = self.records(
            s.artifacts,
            self.header.artifacts,
            ARTIFACT_LEN,
            (s.art_heap, self.header.art_heap_len),
        );
        std::iter::from_fn(move || {
            let rec = r.next_record().transpose()?;
            Some(rec.and_then(|rec| {
                let texts = (0..5)
                    .map(|k| r.texts.get(&rec, k * 12))
                    .collect::<Result<Vec<String>, String>>()?;
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                TableFile::verify(&rec, &refs)?;
                Ok(super::model::Record::Artifact(
                    texts[0].clone(),
                    artifact_of(&rec, |k| texts[k].clone()),
                ))
            }))
        })
    }
}

/// Fixed-size records of one section, read a buffer at a time.
struct Records<'f> {
    file: &'f File,
    next: u64,
    end: u64,
    len: usize,
    buf: Vec<u8>,
    at: usize,
    texts: Texts<'f>,
}

impl Records<'_> {
    fn next_record(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.at >= self.buf.len() {
            if self.next >= self.end {
                return Ok(None);
            }
            let per = (64 << 10) / self.len;
            let n = ((self.end - self.next) as usize).min(per * self.len);
            self.buf.resize(n, 0);
            read_at(self.file, &mut self.buf, self.next).map_err(|e| e.to_string())?;
            self.next += n as u64;
            self.at = 0;
        }
        let rec = self
            .buf
            .get(self.at..self.at + self.len)
            .ok_or("truncated record")?
            .to_vec();
        self.at += self.len;
        Ok(Some(rec))
    }
}

/// The text of a section's records: a window of the heap, moved as spans ask (records
/// written in order point forward through it, so each byte is read about once).
struct Texts<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    /// Heap offset of `buf[0]`.
    win: u64,
    buf: Vec<u8>,
}

impl Texts<'_> {
    /// The text of the span at `at` in `rec`.
    fn get(&mut self, rec: &[u8], at: usize) -> Result<String, String> {
        let mut d = Dec::new(rec.get(at..at + 12).ok_or("short record")?);
        let off = d.u64().unwrap_or(u64::MAX);
        let n = d.u32().unwrap_or(0) as usize;
        let end = off
            .checked_add(n as u64)
            .filter(|&e| e <= self.len)
            .ok_or("a record points outside the text")?;
        if off < self.win || end > self.win + self.buf.len() as u64 {
            let want = ((self.len - off) as usize).min(n.max(64 << 10));
            self.buf.resize(want, 0);
            read_at(self.file, &mut self.buf, self.start + off).map_err(|e| e.to_string())?;
            self.win = off;
        }
        let i = (off - self.win) as usize;
        std::str::from_utf8(&self.buf[i..i + n])
            .map(str::to_string)
            .map_err(|_| "text is not UTF-8".into())
    }
}

/// A base answering point lookups with positioned reads, without reading the file:
/// what a process that asks for one artifact and exits needs. Each record found is
/// verified by its check; a damaged one is an error.
#[derive(Debug)]
pub(crate) struct TableFile {
    file: File,
    header: Header,
    sections: Sections,
}

impl TableFile {
    pub fn open(path: &Path) -> Result<TableFile, String> {
        let (file, header, sections) = open_sized(path)?;
        Ok(TableFile {
            file,
            header,
            sections,
        })
    }

    pub fn generation(&self) -> u64 {
        self.header.generation
    }

    fn read(&self, off: u64, len: usize) -> Result<Vec<u8>, String> {
        Src::File(&self.file).read(off, len as u64)
    }

    /// The text of the span at `at` in `rec`, from the heap at `heap` of `heap_len` bytes.
    fn text(&self, rec: &[u8], at: usize, (heap, heap_len): (u64, u64)) -> Result<String, String> {
        let mut d = Dec::new(&rec[at..at + 12]);
        let off = d.u64().unwrap_or(u64::MAX);
        let len = d.u32().unwrap_or(0) as usize;
        if off.checked_add(len as u64).is_none_or(|end| end > heap_len) {
            return Err("a record points outside the text".into());
        }
        String::from_utf8(self.read(heap + off, len)?).map_err(|_| "text is not UTF-8".into())
    }

    fn main_heap(&self) -> (u64, u64) {
        (self.sections.heap, self.header.heap_len)
    }

    fn art_heap(&self) -> (u64, u64) {
        (self.sections.art_heap, self.header.art_heap_len)
    }

    /// Variants, failures and the sidecar rule.
    pub fn head(&self) -> Result<Head, String> {
        let len = usize::try_from(self.header.head_len).map_err(|_| "too large")?;
        decode_head(&self.read(self.sections.head, len)?)
            .ok_or_else(|| "malformed variants or failures".into())
    }

    /// Binary search of a section of `n` records of `len` bytes keyed by their first span.
    fn search(
        &self,
        (start, n, len): (u64, u64, usize),
        heap: (u64, u64),
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, String> {
        let n = usize::try_from(n).map_err(|_| "too large")?;
        let mut found = None;
        let mut err = None;
        search(n, |i| {
            let got = self
                .read(start + (i * len) as u64, len)
                .and_then(|rec| self.text(&rec, 0, heap).map(|k| (rec, k)));
            match got {
                Ok((rec, k)) => {
                    let o = k.as_str().cmp(key);
                    if o == Ordering::Equal {
                        found = Some((rec, k));
                    }
                    Some(o)
                }
                Err(e) => {
                    err = Some(e);
                    None
                }
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(found),
        }
    }

    /// Verify a record's check against its text.
    fn verify(rec: &[u8], texts: &[&str]) -> Result<(), String> {
        let mut check = Xxh3::new();
        for t in texts {
            check.update(t.as_bytes());
        }
        let mut h = Xxh3::new();
        h.update(&rec[..rec.len() - 8]);
        h.update(&check_text(&check));
        if h.digest() != num(rec, rec.len() - 8) {
            return Err("record checksum mismatch".into());
        }
        Ok(())
    }

    /// The entry of `path`.
    pub fn find(&self, path: &str) -> Result<Option<Entry>, String> {
        let section = (self.sections.entries, self.header.entries, ENTRY_LEN);
        let Some((rec, p)) = self.search(section, self.main_heap(), path)? else {
            return Ok(None);
        };
        let hash = self.text(&rec, 52, self.main_heap())?;
        let packed = self.text(&rec, 64, self.main_heap())?;
        Self::verify(&rec, &[&p, &hash, &packed])?;
        let e = EntryRef {
            fp: fp_at(&rec, 12),
            at: num(&rec, 44) as i64,
            hash: &hash,
            variants: VariantsRef::Packed(&packed),
            vouched: false,
        };
        Ok(Some(e.to_entry()))
    }

    /// When `path` was recorded removed, if it was.
    pub fn removal(&self, path: &str) -> Result<Option<i64>, String> {
        let section = (self.sections.removals, self.header.removals, REMOVAL_LEN);
        Ok(self
            .search(section, self.main_heap(), path)?
            .map(|(rec, _)| num(&rec, 12) as i64))
    }

    /// The record of artifact `rel`.
    pub fn artifact(&self, rel: &str) -> Result<Option<Artifact>, String> {
        let section = (self.sections.artifacts, self.header.artifacts, ARTIFACT_LEN);
        let Some((rec, r)) = self.search(section, self.art_heap(), rel)? else {
            return Ok(None);
        };
        let texts: Vec<String> = std::iter::once(Ok(r))
            .chain((1..5).map(|k| self.text(&rec, k * 12, self.art_heap())))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Self::verify(&rec, &refs)?;
        Ok(Some(artifact_of(&rec, |k| texts[k].clone())))
    }
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, off)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, mut buf: &mut [u8], mut off: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, off)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                off += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::model::{Record, VariantMap};

    fn fp(n: i64) -> Fingerprint {
        Fingerprint {
            size: n as u64,
            mtime_ns: -n,
            ctime_ns: n * 3,
            inode: 99,
        }
    }

    /// Entries, removals, artifacts, variants and failures of a small index.
    type Sample = (
        Vec<(String, Entry)>,
        Vec<(String, i64)>,
        Vec<(String, Artifact)>,
        Variants,
        Failures,
    );

    pub(crate) fn sample() -> Sample {
        let mut entries = Vec::new();
        let mut artifacts = Vec::new();
        for (i, name) in ["/s/a.png", "/s/b é.png", "/s/c.png"].iter().enumerate() {
            let hash = format!("{:032x}", i + 1);
            let rel = format!("objects/00/{hash}-k.png");
            let variants = if i == 2 {
                VariantMap::new()
            } else {
                VariantMap::from_iter([
                    ("v".to_string(), rel.clone()),
                    ("w".to_string(), format!("{rel}.w")),
                ])
            };
            entries.push((
                name.to_string(),
                Entry {
                    fp: fp(i as i64 + 1),
                    at: 1000 + i as i64,
                    hash: hash.clone(),
                    variants,
                },
            ));
            artifacts.push((
                rel,
                Artifact {
                    source_hash: hash,
                    variant: "v".into(),
                    producer: "p@1".into(),
                    size: 3,
                    checksum: "c".into(),
                    fp: (i == 0).then(|| fp(7)),
                    at: 5,
                },
            ));
        }
        let removals = vec![("/s/gone".to_string(), 77)];
        let variants = BTreeMap::from([(
            "v".to_string(),
            (
                1,
                VariantInfo {
                    producer: "p@1".into(),
                    ext: "png".into(),
                },
            ),
        )]);
        let failures = BTreeMap::from([
            (
                "/s/c.png".to_string(),
                (
                    9,
                    Some(Failure {
                        variant: "v".into(),
                        producer: "p@1".into(),
                        error: "exit 1".into(),
                        at: "t".into(),
                    }),
                ),
            ),
            ("/s/d.png".to_string(), (10, None)),
        ]);
        (entries, removals, artifacts, variants, failures)
    }

    fn encoded() -> Vec<u8> {
        encoded_with(&|| Ok(Spill::Memory(Vec::new())))
    }

    fn encoded_with(spill: &dyn Fn() -> io::Result<Spill>) -> Vec<u8> {
        let (entries, removals, artifacts, variants, failures) = sample();
        let removals: Vec<(&str, i64)> = removals.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        let head = Head {
            variants,
            failures,
            sidecars: (3, vec!["*.txt".into()]),
        };
        let out = write(
            io::Cursor::new(Vec::new()),
            Contents {
                generation: 7,
                clock: 1234,
                entries: &mut entries.iter().map(|(p, e)| (p.as_str(), EntryRef::of(e))),
                removals: &removals,
                artifacts: &mut artifacts
                    .iter()
                    .map(|(r, a)| (Cow::Borrowed(r.as_str()), a.clone())),
                head: &head,
                objects: &|named| {
                    // The entries name objects/00/…: what the writer collected.
                    assert_eq!(named.keys().collect::<Vec<_>>(), ["00"]);
                    assert_eq!(named["00"].len(), 4);
                    vec![("00".to_string(), fp(4))]
                },
            },
            spill,
        );
        out.unwrap().into_inner()
    }

    #[test]
    fn round_trips_in_memory_and_by_positioned_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base");
        std::fs::write(&path, encoded()).unwrap();
        let (entries, _, artifacts, variants, failures) = sample();
        let t = Table::read(&path).unwrap();
        assert_eq!((t.generation, t.clock, t.len()), (7, 1234, 3));
        assert_eq!(t.objects, vec![("00".to_string(), fp(4))]);
        for (i, (p, e)) in entries.iter().enumerate() {
            let (q, got) = t.entry(i);
            assert_eq!((q, got.to_entry()), (p.as_str(), e.clone()));
            assert_eq!(t.find(p), Some(i));
            // The partial readers `status` uses agree with the whole entry.
            use crate::dataset::view::EntryList;
            assert_eq!(EntryList::path(&t, i), p.as_str());
            assert_eq!(EntryList::hash(&t, i), e.hash.as_str());
            assert_eq!(EntryList::stamp(&t, i), (e.fp, e.at));
        }
        assert_eq!(t.find("/s/b"), None);
        assert_eq!(t.removals().collect::<Vec<_>>(), vec![("/s/gone", 77)]);
        assert_eq!(t.removal("/s/gone"), Some(77));
        assert_eq!(t.removal("/s/a.png"), None);
        for (rel, a) in &artifacts {
            assert_eq!(t.artifact(rel).as_ref(), Some(a));
        }
        let head = Head {
            variants,
            failures,
            sidecars: (3, vec!["*.txt".into()]),
        };
        assert_eq!(t.head, head);

        // Read front to back (compaction), and written through spill files: the same.
        let st = Stream::open(&path).unwrap();
        assert_eq!((st.generation(), &st.head), (7, &head));
        let streamed: Vec<Record> = st.entries().map(Result::unwrap).collect();
        let want: Vec<Record> = entries
            .iter()
            .map(|(p, e)| Record::Entry(p.clone(), e.clone()))
            .collect();
        assert_eq!(streamed, want);
        let streamed: Vec<Record> = st.removals().map(Result::unwrap).collect();
        assert_eq!(streamed, vec![Record::Removed("/s/gone".into(), 77)]);
        let streamed: Vec<Record> = st.artifacts().map(Result::unwrap).collect();
        let want: Vec<Record> = artifacts
            .iter()
            .map(|(r, a)| Record::Artifact(r.clone(), a.clone()))
            .collect();
        assert_eq!(streamed, want);
        let spilled = encoded_with(&|| Spill::file_in(dir.path()));
        assert_eq!(spilled, encoded());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no spill file left"
        );

        let f = TableFile::open(&path).unwrap();
        assert_eq!(f.generation(), 7);
        for (p, e) in &entries {
            assert_eq!(f.find(p).unwrap().as_ref(), Some(e));
        }
        assert_eq!(f.find("/s/zzz").unwrap(), None);
        assert_eq!(f.find("").unwrap(), None);
        for (rel, a) in &artifacts {
            assert_eq!(f.artifact(rel).unwrap().as_ref(), Some(a));
        }
        assert_eq!(f.removal("/s/gone").unwrap(), Some(77));
        assert_eq!(f.head().unwrap(), head);
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base");
        let good = encoded();
        for cut in [0, 7, HEADER_LEN - 1, HEADER_LEN, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(Table::read(&path).is_err(), "cut at {cut}");
            assert!(TableFile::open(&path).is_err(), "cut at {cut}");
        }
        // Any flipped byte: the whole-file read refuses it; a positioned lookup refuses
        // the records it touches (or the header) and never panics.
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            std::fs::write(&path, &bad).unwrap();
            match Table::read(&path) {
                Err(_) => {}
                // Damage in the artifact records shows when they are first needed.
                Ok(t) => assert!(t.artifacts_damaged(), "flipped {at}"),
            }
            if let Ok(f) = TableFile::open(&path) {
                for p in ["/s/a.png", "/s/b é.png", "/s/c.png"] {
                    if let Ok(Some(e)) = f.find(p) {
                        let (entries, ..) = sample();
                        assert!(
                            entries.iter().any(|(q, x)| q == p && *x == e),
                            "flipped {at}: wrong entry served"
                        );
                    }
                }
                let _ = f.head();
                let _ = f.artifact("objects/00/00000000000000000000000000000001-k.png");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// With the body checksum forged to match, bytes set anywhere in the records,
        /// counts or head are caught by the structure checks, never a panic.
        #[test]
        fn forged_checksums_never_panic(at in 0usize..400, byte in proptest::prelude::any::<u8>()) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("base");
            let mut bad = encoded();
            let at = 16 + at % (bad.len() - 16 - 8);
            let at = if (HEADER_LEN - 24..HEADER_LEN).contains(&at) { HEADER_LEN } else { at };
            bad[at] = byte;
            let t = Table::from_bytes(&encoded()).unwrap();
            let split = t.sections.artifacts as usize;
            let body = xxh3_64(&bad[HEADER_LEN..split]);
            bad[HEADER_LEN - 24..HEADER_LEN - 16].copy_from_slice(&body.to_le_bytes());
            let arts = xxh3_64(&bad[split..]);
            bad[HEADER_LEN - 16..HEADER_LEN - 8].copy_from_slice(&arts.to_le_bytes());
            let hh = xxh3_64(&bad[..HEADER_LEN - 8]);
            bad[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&hh.to_le_bytes());
            std::fs::write(&path, &bad).unwrap();
            if let Ok(t) = Table::read(&path) {
                for i in 0..t.len() {
                    let _ = t.entry(i);
                }
                for i in 0..t.artifact_count() {
                    let _ = t.artifact_at(i);
                }
                let _ = t.removals().count();
            }
            if let Ok(f) = TableFile::open(&path) {
                let _ = f.find("/s/b é.png");
                let _ = f.head();
                let _ = f.artifact("x");
                let _ = f.removal("/s/gone");
            }
        }
    }
}
