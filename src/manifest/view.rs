//! The typed manifest of one frame, and its one canonical byte form.
//!
//! A [`FrameView`] is what a cached frame depends on: for every node visited at the
//! frame (in post-order, inputs first), its class, its active inputs as positions in
//! the view, whether it is disabled, and each kept knob as an [`Entry`]: its value in
//! the node's time context (plain text, curves with the value and the keys that can
//! move it, expressions as written) with the values it reads attached, plus the files
//! the node reads. Names are carried for display and explanations and never hashed.
//!
//! [`Canon`] writes every part of a view as tagged, length-prefixed bytes. The frame
//! hash ([`FrameView::hash`], and [`super::Prepared::frame_hash`], which reuses the
//! digests of records that cannot vary) is built from those bytes and nothing else, and
//! explanations compare the same typed values, so the hash and the explanation cannot
//! disagree: two frames hash alike exactly when their views are equal
//! ([`FrameView::content_eq`]).

use super::ctx::Ctx;
use crate::eval::{format_f64, FramePart, FrameValue};
use std::collections::BTreeMap;
use std::rc::Rc;
use xxhash_rust::xxh3::xxh3_128;

/// Format tag and version inside every hashed frame. Version 2: typed views, time
/// contexts with knob windows, class semantics from the profile. Version 3: the visits
/// hashed in blocks (see [`FrameBytes`]). Version 4: a record's knobs that are the same
/// at every frame hashed once, into its fixed part (see `put_knobs`), and lengths
/// written as varints (see `put_len`).
pub const FRAME_FORMAT: &str = "smartcache-frame";
/// Version of [`FRAME_FORMAT`] this build hashes.
pub const FRAME_VERSION: u32 = 4;

/// The manifest of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameView<'s> {
    /// The frame.
    pub frame: f64,
    /// Root settings every node reads.
    pub root: Vec<KnobEntry<'s>>,
    /// Files every frame reads (the OCIO config and its LUTs).
    pub root_files: Vec<FileRead>,
    /// Visited nodes in post-order.
    pub records: Vec<Record<'s>>,
    /// Every node of the script by name with its digest, when an expression that
    /// cannot be analysed may read any of them.
    pub script: Option<&'s BTreeMap<String, String>>,
}

/// One visit of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'s> {
    /// Position of the node in the setup (for display; not hashed).
    pub node: usize,
    /// Full name (for display; not hashed).
    pub name: &'s str,
    /// The node class.
    pub class: &'s str,
    /// The time context it was visited in.
    pub ctx: Ctx,
    /// Active inputs, as positions in [`FrameView::records`].
    pub inputs: Vec<Option<usize>>,
    /// Disabled in this context: only input 0 passes through, only the disable knob
    /// is recorded.
    pub disabled: bool,
    /// The time, for a class whose output changes from frame to frame by itself.
    pub stamp: Option<Stamp>,
    /// Kept knobs in name order.
    pub knobs: Vec<KnobEntry<'s>>,
    /// The Root settings the class reads besides those every node reads.
    pub root: Vec<KnobEntry<'s>>,
    /// Files the node reads in this context.
    pub files: Vec<FileRead>,
}

/// A time recorded in a manifest: a frame, or a span of times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stamp {
    /// One frame.
    Frame(f64),
    /// A span of times, first to last.
    Span(f64, f64),
}

impl Stamp {
    /// The stamp of a context.
    pub fn of(ctx: Ctx) -> Stamp {
        match ctx.frame {
            Some(f) => Stamp::Frame(f),
            None => Stamp::Span(ctx.lo, ctx.hi),
        }
    }

    /// The stamp as shown in explanations (`1050`, `1040-1060`, `every frame`).
    pub fn describe(&self) -> String {
        match self {
            Stamp::Frame(f) => format_f64(*f),
            Stamp::Span(a, b) if a.is_infinite() && b.is_infinite() => "every frame".into(),
            Stamp::Span(a, b) => format!("{}-{}", format_f64(*a), format_f64(*b)),
        }
    }
}

/// A knob and its entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobEntry<'s> {
    /// The knob's name.
    pub name: &'s str,
    /// Its entry.
    pub entry: Entry<'s>,
    /// Its value is the same at every frame (no curve, no expression of the time): in a
    /// record, its entry is part of the fixed part (see `put_knobs`).
    pub fixed: bool,
}

/// A knob's value in a context, with what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'s> {
    /// The value at the frame.
    pub value: FrameValue<'s>,
    /// The time, when the value depends on it in a way not captured by the value
    /// itself (an expression reading the frame).
    pub stamp: Option<Stamp>,
    /// Values of the knobs its expressions read, by path as written, sorted.
    pub reads: Vec<Read<'s>>,
    /// xxh3-128 of the entry's canonical bytes ([`Canon`]), computed when it is built
    /// (a read is hashed as the digest of the entry it read, so deep chains of reads
    /// cost linear time).
    pub digest: u128,
}

/// One knob read by an expression, and what it was worth.
#[derive(Debug, Clone, PartialEq)]
pub struct Read<'s> {
    /// The path as written (`Blur1.size`, `parent.gain`).
    pub path: &'s str,
    /// What it was worth.
    pub value: ReadValue<'s>,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadValue<'s> {
    /// The knob's entry in the context it was read in (shared: one entry per knob and
    /// context in a frame).
    Knob(Rc<Entry<'s>>),
    /// The node exists but does not set the knob: its class default.
    Default {
        /// The node's class.
        class: &'s str,
    },
    /// A Root setting at its default.
    RootDefault,
    /// A node's image property (`width`, `bbox`): the image is in the closure.
    Image,
    /// No such node or knob: recorded as written.
    Unresolved,
    /// The read loops back to a knob being read.
    Cycle,
    /// An environment variable's value when the setup was built (`None`: unset).
    Env(Option<&'s str>),
}

/// A file a node reads, and what was found on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FileRead {
    /// The knob naming it.
    pub knob: String,
    /// The path as resolved (relative paths as the script writes them).
    pub path: String,
    /// What was found.
    pub state: FileState,
}

/// What a file was found to be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// Its content hash (xxh3-128).
    Content(String),
    /// It does not exist.
    Missing,
    /// It exists but could not be read (the reason).
    Unreadable(String),
    /// The path could not be resolved, or too many files would be read (the reason).
    Unverifiable(String),
}

impl FileState {
    /// The state as shown in explanations.
    pub fn describe(&self) -> String {
        match self {
            FileState::Content(h) => h.clone(),
            FileState::Missing => "missing".into(),
            FileState::Unreadable(e) => format!("unreadable: {e}"),
            FileState::Unverifiable(e) => format!("unverifiable: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The canonical bytes.

/// Writes a value's canonical bytes: every field tagged, every text and list length
/// prefixed, so that no two different values write the same bytes.
pub trait Canon {
    /// Write the canonical bytes of `self` to `out`.
    fn canon(&self, out: &mut Vec<u8>);

    /// xxh3-128 of the canonical bytes.
    fn digest(&self) -> u128 {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|b| match b.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                self.canon(&mut out);
                xxh3_128(&out)
            }
            // Re-entered (a digest inside a digest): use a buffer of its own.
            Err(_) => {
                let mut out = Vec::new();
                self.canon(&mut out);
                xxh3_128(&out)
            }
        })
    }
}

/// A tagged text: its tag, its length ([`put_len`]), its bytes.
#[inline(always)]
pub(crate) fn put_text(out: &mut Vec<u8>, tag: u8, t: &str) {
    if t.len() < 0x80 {
        // The common case, in one copy: the tag, a one-byte length, the text.
        out.reserve(2 + t.len());
        out.extend_from_slice(&[tag, t.len() as u8]);
    } else {
        out.push(tag);
        put_len(out, t.len());
    }
    out.extend_from_slice(t.as_bytes());
}

/// A length or count, as an unsigned LEB128 varint (seven bits a byte, low first,
/// the high bit set on every byte but the last): prefix-free, so the bytes still say
/// where each text and list ends, and one byte for the lengths a record is made of,
/// where eight would make most records too long for xxh3's fast path (128 bytes).
#[inline]
fn put_len(out: &mut Vec<u8>, n: usize) {
    let mut n = n as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A number's bits, `-0.0` folded into `0.0` (they print alike).
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    let v = if v == 0.0 { 0.0f64 } else { v };
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// The first bytes of a value: how many parts it has.
pub(crate) fn put_value_head(out: &mut Vec<u8>, parts: usize) {
    put_len(out, parts);
}

/// One part of a value.
pub(crate) fn put_part(out: &mut Vec<u8>, p: &FramePart<'_>) {
    match p {
        FramePart::Text(t) => put_text(out, b'P', t),
        FramePart::Curve {
            flags, keys, value, ..
        } => put_curve(out, flags, keys.iter().copied(), *value),
        FramePart::Raw { tag, text } => {
            put_text(out, b'R', tag);
            put_text(out, b'r', text);
        }
    }
}

/// A curve part: its flags, the keys that influence the window, its value.
pub(crate) fn put_curve<'k>(
    out: &mut Vec<u8>,
    flags: &[String],
    keys: impl ExactSizeIterator<Item = &'k str>,
    value: Option<f64>,
) {
    out.push(b'C');
    put_len(out, flags.len());
    for f in flags {
        put_text(out, b'f', f);
    }
    put_len(out, keys.len());
    for k in keys {
        put_text(out, b'k', k);
    }
    match value {
        Some(v) => {
            out.push(b'v');
            put_f64(out, v);
        }
        None => out.push(b'-'),
    }
}

/// The last bytes of a value: what it reads, whether it depends on the time, what
/// cannot be analysed.
pub(crate) fn put_value_tail(
    out: &mut Vec<u8>,
    refs: &[crate::eval::Reference],
    time_dependent: bool,
    unresolvable: &[String],
) {
    if refs.is_empty() && unresolvable.is_empty() {
        // Most values: no reference, nothing unresolvable, in one copy.
        out.extend_from_slice(&[0, time_dependent as u8, 0]);
        return;
    }
    put_len(out, refs.len());
    for r in refs {
        put_text(out, b'n', &r.node);
        put_text(out, b'k', &r.knob);
        out.push(r.other_frames as u8);
    }
    out.push(time_dependent as u8);
    put_len(out, unresolvable.len());
    for u in unresolvable {
        put_text(out, b'u', u);
    }
}

impl Canon for FrameValue<'_> {
    fn canon(&self, out: &mut Vec<u8>) {
        put_value_head(out, self.value.len());
        for p in &self.value {
            put_part(out, p);
        }
        put_value_tail(out, self.refs, self.time_dependent, self.unresolvable);
    }
}

impl Canon for Stamp {
    fn canon(&self, out: &mut Vec<u8>) {
        match self {
            Stamp::Frame(f) => {
                out.push(b'@');
                put_f64(out, *f);
            }
            Stamp::Span(a, b) => {
                out.push(b'~');
                put_f64(out, *a);
                put_f64(out, *b);
            }
        }
    }
}

impl Canon for Option<Stamp> {
    fn canon(&self, out: &mut Vec<u8>) {
        match self {
            Some(s) => s.canon(out),
            None => out.push(b'-'),
        }
    }
}

impl Canon for Entry<'_> {
    fn canon(&self, out: &mut Vec<u8>) {
        self.value.canon(out);
        self.stamp.canon(out);
        put_reads(out, &self.reads);
    }
}

/// An entry's reads: each path and what it found (a knob read as its entry's digest).
pub(crate) fn put_reads(out: &mut Vec<u8>, reads: &[Read<'_>]) {
    put_len(out, reads.len());
    for r in reads {
        put_text(out, b'p', r.path);
        match &r.value {
            ReadValue::Knob(e) => {
                out.push(b'K');
                out.extend_from_slice(&e.digest.to_le_bytes());
            }
            ReadValue::Default { class } => put_text(out, b'D', class),
            ReadValue::RootDefault => out.push(b'O'),
            ReadValue::Image => out.push(b'I'),
            ReadValue::Unresolved => out.push(b'U'),
            ReadValue::Cycle => out.push(b'Y'),
            ReadValue::Env(Some(v)) => put_text(out, b'V', v),
            ReadValue::Env(None) => out.push(b'v'),
        }
    }
}

impl Canon for FileRead {
    fn canon(&self, out: &mut Vec<u8>) {
        put_text(out, b'k', &self.knob);
        put_text(out, b'p', &self.path);
        match &self.state {
            FileState::Content(h) => put_text(out, b'H', h),
            FileState::Missing => out.push(b'M'),
            FileState::Unreadable(e) => put_text(out, b'E', e),
            FileState::Unverifiable(e) => put_text(out, b'V', e),
        }
    }
}

/// The first bytes of a record: class, whether disabled, its time stamp. Then come its
/// knobs ([`put_knobs`]), the Root settings it reads (their count, then each name and
/// entry bytes), and its files ([`put_files`]); the record's digest is xxh3-128 of it
/// all. Never its name or inputs (the frame hash adds the inputs).
pub(crate) fn put_record_head(
    out: &mut Vec<u8>,
    class: &str,
    disabled: bool,
    stamp: Option<Stamp>,
) {
    put_text(out, b'c', class);
    out.push(disabled as u8);
    stamp.canon(out);
}

/// How many knobs (or Root settings) follow.
pub(crate) fn put_count(out: &mut Vec<u8>, n: usize) {
    put_len(out, n);
}

/// A record's knobs: the digest of their fixed part, then the entry bytes of each knob
/// that is not fixed, in order. The fixed part is the knob count, then per knob its
/// name and either `F` and its entry bytes (a [`KnobEntry::fixed`] knob) or `V`.
///
/// Why: a node with one animated knob among ten writes the same nine entries at every
/// frame. Hashed apart, they are hashed once for all frames ([`super::Prepared`] keeps
/// the digest), and a frame hashes the class, the time and the entries that vary:
/// tens of bytes a record instead of hundreds. Every knob still reaches the digest,
/// in place, and which knobs are fixed is a fact of the setup, so the typed view and
/// the fast paths agree.
///
/// `knobs` are `(name, fixed)` pairs; `entry(i, out)` writes the entry bytes of knob
/// `i`, and is called once per knob.
pub(crate) fn put_knobs<'k>(
    out: &mut Vec<u8>,
    knobs: impl Iterator<Item = (&'k str, bool)> + Clone,
    mut entry: impl FnMut(usize, &mut Vec<u8>),
) {
    let mut fixed = Vec::new();
    put_count(&mut fixed, knobs.clone().count());
    for (i, (name, is_fixed)) in knobs.clone().enumerate() {
        put_knob_name(&mut fixed, name);
        if is_fixed {
            fixed.push(b'F');
            entry(i, &mut fixed);
        } else {
            fixed.push(b'V');
        }
    }
    out.extend_from_slice(&xxh3_128(&fixed).to_le_bytes());
    for (i, (_, is_fixed)) in knobs.enumerate() {
        if !is_fixed {
            entry(i, out);
        }
    }
}

/// A knob's name; its entry's bytes follow.
pub(crate) fn put_knob_name(out: &mut Vec<u8>, name: &str) {
    put_text(out, b'n', name);
}

/// A record's files.
pub(crate) fn put_files(out: &mut Vec<u8>, files: &[FileRead]) {
    put_len(out, files.len());
    for f in files {
        f.canon(out);
    }
}

impl Record<'_> {
    /// The digest of the record's content (see `put_record_head`).
    pub fn digest(&self) -> u128 {
        let mut out = Vec::new();
        put_record_head(&mut out, self.class, self.disabled, self.stamp);
        put_knobs(
            &mut out,
            self.knobs.iter().map(|k| (k.name, k.fixed)),
            |i, out| self.knobs[i].entry.canon(out),
        );
        put_count(&mut out, self.root.len());
        for k in &self.root {
            put_knob_name(&mut out, k.name);
            k.entry.canon(&mut out);
        }
        put_files(&mut out, &self.files);
        xxh3_128(&out)
    }
}

/// The bytes a frame hash is taken over: format tag and version, the Root settings'
/// digest, the files every frame reads, the number of visits, then the digest of each
/// block of [`BLOCK`] consecutive visits (the last block may be shorter). A block's
/// digest is xxh3-128 of its visits' bytes: each record's digest and inputs (see
/// [`FrameBytes::record`]).
///
/// Why blocks: at 50,000 nodes a frame is about 1 MB of visit bytes, most of them
/// records that cannot vary with the frame. Blocks are cut by position alone (never by
/// what a record holds), so the typed view and the fast paths cut them alike, and a
/// block whose visits are the same bytes at every frame, or the same bytes as an
/// earlier hashing's, is hashed once and given to every frame as its digest: a frame
/// then hashes a few kilobytes of block digests plus the blocks that do vary. Every
/// byte of every visit still reaches the hash, through its block's digest, in place.
pub struct FrameBytes {
    out: Vec<u8>,
    /// The bytes of the block being gathered.
    block: Vec<u8>,
    /// Visits in it.
    in_block: usize,
}

/// Visits per block of a frame's bytes (see [`FrameBytes`]).
pub const BLOCK: usize = 64;

impl FrameBytes {
    /// Start a frame of `visits` visits: format tag and version, the Root settings, the
    /// files every frame reads, the number of visits.
    pub fn new(root_digest: u128, root_files: &[FileRead], visits: usize) -> FrameBytes {
        let mut out = Vec::with_capacity(64 + visits.div_ceil(BLOCK) * 16);
        out.extend_from_slice(format!("{FRAME_FORMAT}/{FRAME_VERSION}\n").as_bytes());
        out.extend_from_slice(&root_digest.to_le_bytes());
        put_files(&mut out, root_files);
        put_len(&mut out, visits);
        FrameBytes {
            out,
            block: Vec::new(),
            in_block: 0,
        }
    }

    /// Add one visit: its record's content digest, then its inputs.
    pub fn record(&mut self, digest: u128, inputs: impl ExactSizeIterator<Item = Option<u32>>) {
        put_visit(&mut self.block, digest, inputs);
        self.in_block += 1;
        if self.in_block == BLOCK {
            self.end_block();
        }
    }

    /// Add a whole block of visits by its digest ([`block_digest`] of its bytes), at a
    /// block boundary.
    pub(crate) fn block(&mut self, digest: u128) {
        debug_assert_eq!(self.in_block, 0, "a block digest is added at a boundary");
        self.out.extend_from_slice(&digest.to_le_bytes());
    }

    fn end_block(&mut self) {
        if self.in_block > 0 {
            let d = block_digest(&self.block);
            self.out.extend_from_slice(&d.to_le_bytes());
            self.block.clear();
            self.in_block = 0;
        }
    }

    /// The frame hash, as 32 hex characters.
    pub fn finish(mut self) -> String {
        self.end_block();
        crate::hash::to_hex(xxh3_128(&self.out))
    }
}

/// The digest of a block of visits' bytes (see [`FrameBytes`]).
pub(crate) fn block_digest(bytes: &[u8]) -> u128 {
    xxh3_128(bytes)
}

/// One record of a frame's bytes (see [`FrameBytes::record`]).
pub(crate) fn put_visit(
    out: &mut Vec<u8>,
    digest: u128,
    inputs: impl ExactSizeIterator<Item = Option<u32>>,
) {
    out.extend_from_slice(&digest.to_le_bytes());
    out.extend_from_slice(&(inputs.len() as u32).to_le_bytes());
    for i in inputs {
        out.extend_from_slice(&i.unwrap_or(u32::MAX).to_le_bytes());
    }
}

/// The digest of the Root settings every node reads, and of the whole script when an
/// expression may read any of it.
pub fn root_digest(root: &[KnobEntry<'_>], script: Option<u128>) -> u128 {
    let mut out = Vec::new();
    put_len(&mut out, root.len());
    for k in root {
        put_text(&mut out, b'n', k.name);
        out.extend_from_slice(&k.entry.digest.to_le_bytes());
    }
    match script {
        Some(d) => {
            out.push(b'S');
            out.extend_from_slice(&d.to_le_bytes());
        }
        None => out.push(b'-'),
    }
    xxh3_128(&out)
}

/// The digest of a whole-script map (node name to node digest).
pub fn script_digest(script: &BTreeMap<String, String>) -> u128 {
    let mut out = Vec::new();
    put_len(&mut out, script.len());
    for (k, v) in script {
        put_text(&mut out, b'n', k);
        put_text(&mut out, b'h', v);
    }
    xxh3_128(&out)
}

impl FrameView<'_> {
    /// The frame hash of this view: xxh3-128 over the format, the Root settings, and
    /// each record's digest and inputs in order, block by block (see [`FrameBytes`]).
    pub fn hash(&self) -> String {
        let root = root_digest(&self.root, self.script.map(script_digest));
        let mut h = FrameBytes::new(root, &self.root_files, self.records.len());
        for r in &self.records {
            h.record(r.digest(), r.inputs.iter().map(|i| i.map(|i| i as u32)));
        }
        h.finish()
    }

    /// Whether two views have the same content: everything the hash covers, compared
    /// field by field (names and setup positions are not content).
    pub fn content_eq(&self, other: &FrameView<'_>) -> bool {
        let bytes = |v: &FrameView<'_>| {
            let mut out = Vec::new();
            put_len(&mut out, v.root.len());
            for k in &v.root {
                put_text(&mut out, b'n', k.name);
                k.entry.canon(&mut out);
            }
            v.script
                .map(script_digest)
                .unwrap_or(0)
                .to_le_bytes()
                .iter()
                .for_each(|b| out.push(*b));
            out.push(v.script.is_some() as u8);
            put_len(&mut out, v.records.len());
            for r in &v.records {
                put_text(&mut out, b'c', r.class);
                out.push(r.disabled as u8);
                r.stamp.canon(&mut out);
                for list in [&r.knobs, &r.root] {
                    put_len(&mut out, list.len());
                    for k in list {
                        put_text(&mut out, b'n', k.name);
                        k.entry.canon(&mut out);
                    }
                }
                put_len(&mut out, r.files.len());
                for f in &r.files {
                    f.canon(&mut out);
                }
                put_len(&mut out, r.inputs.len());
                for i in &r.inputs {
                    out.extend_from_slice(&i.map_or(u64::MAX, |i| i as u64).to_le_bytes());
                }
            }
            out
        };
        bytes(self) == bytes(other)
    }
}

// ---------------------------------------------------------------------------------------
// Display.

/// A value as a short text: plain text as written, a curve as its value at the frame
/// (or its keys over a span), an expression as written.
pub fn display_value(v: &FrameValue<'_>) -> String {
    // `{{curve …}}` and `{{expression}}` show as their one component.
    let parts = match v.value.as_slice() {
        [FramePart::Text("{"), one, FramePart::Text("}")] => std::slice::from_ref(one),
        all => all,
    };
    let mut out = String::new();
    for p in parts {
        match p {
            FramePart::Text(t) => out.push_str(t),
            FramePart::Curve { value: Some(x), .. } => out.push_str(&format_f64(*x)),
            FramePart::Curve { keys, text, .. } if keys.is_empty() => out.push_str(text),
            FramePart::Curve { keys, .. } => {
                out.push_str("{curve ");
                out.push_str(&keys.join(" "));
                out.push('}');
            }
            FramePart::Raw { text, .. } => out.push_str(text),
        }
    }
    out
}

/// A key's frame and value words from its canonical text (`L x1050 1.2 s0.5`).
pub fn key_parts(k: &str) -> (Option<&str>, Option<&str>) {
    let mut frame = None;
    let mut value = None;
    for w in k.split_whitespace() {
        if let Some(x) = w.strip_prefix('x') {
            frame.get_or_insert(x);
        } else if frame.is_some() && value.is_none() {
            value = Some(w);
        }
    }
    (frame, value)
}

// ---------------------------------------------------------------------------------------
// A readable form.

/// Deepest chain of reads shown in a readable manifest.
const JSON_READ_DEPTH: usize = 32;

fn entry_json(e: &Entry<'_>, depth: usize) -> serde_json::Value {
    let mut v = serde_json::to_value(&e.value).expect("a frame value serializes");
    if let Some(s) = e.stamp {
        v["at"] = s.describe().into();
    }
    if !e.reads.is_empty() {
        let mut reads = serde_json::Map::new();
        for r in &e.reads {
            let rv = match &r.value {
                ReadValue::Knob(_) if depth >= JSON_READ_DEPTH => "…".into(),
                ReadValue::Knob(x) => entry_json(x, depth + 1),
                ReadValue::Default { class } => serde_json::json!({ "default": class }),
                ReadValue::RootDefault => serde_json::json!({ "default": "Root" }),
                ReadValue::Image => "image".into(),
                ReadValue::Unresolved => "unresolved".into(),
                ReadValue::Cycle => "cycle".into(),
                ReadValue::Env(v) => serde_json::json!({ "env": v }),
            };
            reads.insert(r.path.to_string(), rv);
        }
        v["reads"] = reads.into();
    }
    v
}

fn knobs_json(list: &[KnobEntry<'_>]) -> serde_json::Value {
    list.iter()
        .map(|k| (k.name.to_string(), entry_json(&k.entry, 0)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

impl FrameView<'_> {
    /// A readable manifest: every record with its node name, inputs by name, knob
    /// entries and files (what `smartcache manifest` prints).
    pub fn to_json(&self) -> serde_json::Value {
        let nodes: Vec<serde_json::Value> = self
            .records
            .iter()
            .map(|r| {
                let mut o = serde_json::json!({
                    "name": r.name,
                    "class": r.class,
                    "inputs": r.inputs.iter().map(|i| i.map(|i| self.records[i].name)).collect::<Vec<_>>(),
                    "knobs": knobs_json(&r.knobs),
                });
                if r.ctx != Ctx::at(self.frame) {
                    o["at"] = r.ctx.describe().into();
                }
                if r.disabled {
                    o["disabled"] = true.into();
                }
                if let Some(s) = r.stamp {
                    o["varies"] = s.describe().into();
                }
                if !r.root.is_empty() {
                    o["root"] = knobs_json(&r.root);
                }
                if !r.files.is_empty() {
                    o["files"] = serde_json::to_value(&r.files).expect("files serialize");
                }
                o
            })
            .collect();
        let mut doc = serde_json::json!({
            "frame": self.frame,
            "root": knobs_json(&self.root),
            "nodes": nodes,
        });
        if let Some(s) = self.script {
            doc["whole_script"] = s.len().into();
        }
        if !self.root_files.is_empty() {
            doc["root_files"] = serde_json::to_value(&self.root_files).expect("files serialize");
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths are LEB128: the bytes for each, and every one read back from a run of
    /// them (prefix-free, so a text or list says where it ends).
    #[test]
    fn lengths_are_varints_that_say_where_they_end() {
        let cases: [(usize, &[u8]); 6] = [
            (0, &[0]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 1]),
            (300, &[0xac, 2]),
            (
                usize::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            ),
        ];
        let mut run = Vec::new();
        for (n, bytes) in cases {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(out, bytes, "{n}");
            run.extend_from_slice(&out);
        }
        let mut read = Vec::new();
        let (mut n, mut shift) = (0u64, 0);
        for b in run {
            n |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                read.push(n as usize);
                (n, shift) = (0, 0);
            }
        }
        assert_eq!(read, cases.map(|(n, _)| n));
    }
}
