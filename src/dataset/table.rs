//! A binary copy of the index (without its artifact table), written beside
//! `index.json`, that `status` reads in place: no JSON parsed, no `String` per entry.
//!
//! `index.json` stays the source of truth; the table can be deleted at any time. It is
//! used only when it was made from the current `index.json`, and it says how to tell:
//!
//! * The fingerprint (size, times, inode) of `index.json` when the table was written,
//!   and a reading of the filesystem's own clock taken *before* that `stat` (the mtime
//!   of the table's temporary file, just created). If `index.json` still has that
//!   fingerprint and was last changed in an earlier clock tick than the reading, any
//!   later change would have given it a later ctime: the table is current without
//!   reading `index.json` at all. This is git's racy-index rule, on the filesystem's
//!   clock rather than the wall clock, so it holds at any timestamp granularity.
//! * Otherwise (a racy save, a restored or hand-edited `index.json`, a copy of the cache
//!   on another filesystem), the length and xxh3-128 of the exact `index.json` bytes it
//!   was made from: one streaming read and hash of the file, a fraction of parsing it.
//!
//! A table that matches neither, is damaged (a checksum covers its body), truncated or
//! from another version is ignored and the JSON parsed as before, with its fallbacks and
//! migrations.
//!
//! # Layout (little-endian)
//!
//! ```text
//! header   magic "SCDTAB\0\x02" | json_len u64 | json_hash u128 | json_fp (size u64,
//!          mtime i64, ctime i64, inode u64) | clock i64 | body_hash u64 |
//!          written_at span | variants u32 | failures u32 | entries u64 | heap_len u64 |
//!          dirs_len u64
//! body     records, heap, dirs (body_hash: xxh3-64 of all three)
//! records  variants × (name, producer, ext: span)
//!          failures × (path, variant, producer, error, at: span)
//!          entries  × (path span, size u64, mtime i64, ctime i64, inode u64, at i64,
//!                      hash span, variants span)
//! heap     UTF-8 text of every string; an entry's variants are packed as
//!          `name\0path\0name\0path…`
//! span     offset u32, length u32 into the heap
//! dirs     count u32 × (name: length u32, UTF-8 bytes; fingerprint: size u64, mtime i64,
//!          ctime i64, inode u64): the fan-out directories of `objects/` in which every
//!          artifact an entry names was present, fingerprinted after the clock reading
//!          (see [`super::objects`])
//! ```
//!
//! Entry records have a fixed size, so entry `i` is found without decoding the others,
//! and the heap is checked to be UTF-8 once, so strings are borrowed from it as `&str`.

use super::fingerprint::Fingerprint;
use super::index::{Failure, Index, VariantInfo, INDEX_FILE};
use super::objects::{self, Snapshot};
use super::view::{EntryRef, VariantsRef};
use crate::fsutil::{self, FsError};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// File name of the table, beside `index.json`.
pub const TABLE_FILE: &str = "index.table";

const MAGIC: &[u8; 8] = b"SCDTAB\0\x02";
const HEADER_LEN: usize = 8 + 8 + 16 + 32 + 8 + 8 + 8 + 4 + 4 + 8 + 8 + 8;
const VARIANT_LEN: usize = 3 * 8;
const FAILURE_LEN: usize = 5 * 8;
const ENTRY_LEN: usize = 8 + 32 + 8 + 8 + 8;

/// The index without its artifact table, read in place from `index.table`.
#[derive(Debug)]
pub(crate) struct Table {
    /// Written time, variants and failures (small, decoded); no entries, no artifacts.
    pub head: Index,
    /// The filesystem's clock when the table was written.
    pub clock: i64,
    /// Fan-out directories whose artifacts were all present (see [`super::objects`]).
    pub objects: Snapshot,
    /// The fixed-size entry records.
    entries: Vec<u8>,
    heap: String,
}

impl Table {
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY_LEN
    }

    /// Entry `i` (`i < len()`), borrowed from the table.
    pub fn entry(&self, i: usize) -> (&str, EntryRef<'_>) {
        let mut r = Reader {
            buf: &self.entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN],
            pos: 0,
        };
        // Every span was checked when the table was loaded; the fallbacks never apply.
        let text = |r: &mut Reader| r.span().and_then(|s| self.text(s)).unwrap_or("");
        let path = text(&mut r);
        let num = |r: &mut Reader| r.u64().unwrap_or(0);
        let fp = Fingerprint {
            size: num(&mut r),
            mtime_ns: num(&mut r) as i64,
            ctime_ns: num(&mut r) as i64,
            inode: num(&mut r),
        };
        let at = num(&mut r) as i64;
        let hash = text(&mut r);
        let variants = VariantsRef::Packed(text(&mut r));
        (
            path,
            EntryRef {
                fp,
                at,
                hash,
                variants,
            },
        )
    }

    fn text(&self, (off, len): (u32, u32)) -> Option<&str> {
        let start = off as usize;
        self.heap.get(start..start.checked_add(len as usize)?)
    }
}

/// Write the table for `index`, saved as exactly `json` in `dir/index.json` just now.
/// Nothing is written when the index cannot be encoded (a string over 4 GiB in all, or
/// a variant name or artifact path containing NUL): readers then parse the JSON.
pub fn write(dir: &Path, index: &Index, json: &[u8]) -> Result<(), FsError> {
    let path = dir.join(TABLE_FILE);
    // Encoding 100,000 entries takes a few clock ticks: done before the clock reading
    // below, it makes that reading later than index.json's last change, so readers can
    // trust the table on index.json's fingerprint alone.
    let Some(body) = encode_body(index) else {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    };
    let json_hash = xxh3_128(json);
    let tmp = fsutil::temp_path_for(&path);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(fsutil::io_err(&tmp))?;
        // The filesystem's clock now, before the `stat` of index.json below.
        let clock = f
            .metadata()
            .map(|m| Fingerprint::from_metadata(&m).mtime_ns)
            .map_err(fsutil::io_err(&tmp))?;
        let json_path = dir.join(INDEX_FILE);
        let json_fp = Fingerprint::of(&json_path).map_err(fsutil::io_err(&json_path))?;
        let named = index
            .entries
            .values()
            .flat_map(|e| e.variants.values().map(String::as_str));
        let snapshot = objects::snapshot(&dir.join(super::cache::OBJECTS_DIR), named);
        let mut dirs = Vec::with_capacity(4 + snapshot.len() * 40);
        dirs.extend_from_slice(&(snapshot.len() as u32).to_le_bytes());
        for (name, fp) in &snapshot {
            dirs.extend_from_slice(&(name.len() as u32).to_le_bytes());
            dirs.extend_from_slice(name.as_bytes());
            for n in [fp.size, fp.mtime_ns as u64, fp.ctime_ns as u64, fp.inode] {
                dirs.extend_from_slice(&n.to_le_bytes());
            }
        }
        let mut body_hash = body.hash.clone();
        body_hash.update(&dirs);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(json.len() as u64).to_le_bytes());
        header.extend_from_slice(&json_hash.to_le_bytes());
        header.extend_from_slice(&json_fp.size.to_le_bytes());
        header.extend_from_slice(&json_fp.mtime_ns.to_le_bytes());
        header.extend_from_slice(&json_fp.ctime_ns.to_le_bytes());
        header.extend_from_slice(&json_fp.inode.to_le_bytes());
        header.extend_from_slice(&clock.to_le_bytes());
        header.extend_from_slice(&body_hash.digest().to_le_bytes());
        header.extend_from_slice(&body.header_rest);
        header.extend_from_slice(&(dirs.len() as u64).to_le_bytes());
        f.write_all(&header).map_err(fsutil::io_err(&tmp))?;
        f.write_all(&body.bytes).map_err(fsutil::io_err(&tmp))?;
        f.write_all(&dirs).map_err(fsutil::io_err(&tmp))?;
        f.sync_all().map_err(fsutil::io_err(&tmp))?;
        drop(f);
        fsutil::atomic_rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Records and heap of a table, their hash so far, and the header fields after
/// `body_hash` up to `heap_len`.
struct Body {
    header_rest: Vec<u8>,
    bytes: Vec<u8>,
    hash: Xxh3,
}

/// Encode `index` (its artifact table left out).
fn encode_body(index: &Index) -> Option<Body> {
    let mut heap = String::new();
    let mut put = |s: &str| -> Option<[u8; 8]> {
        let off = u32::try_from(heap.len()).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        heap.push_str(s);
        u32::try_from(heap.len()).ok()?;
        let mut span = [0u8; 8];
        span[..4].copy_from_slice(&off.to_le_bytes());
        span[4..].copy_from_slice(&len.to_le_bytes());
        Some(span)
    };
    let written_at = put(&index.written_at)?;
    let mut records = Vec::with_capacity(
        index.variants.len() * VARIANT_LEN
            + index.failures.len() * FAILURE_LEN
            + index.entries.len() * ENTRY_LEN,
    );
    for (name, v) in &index.variants {
        for s in [name, &v.producer, &v.ext] {
            records.extend_from_slice(&put(s)?);
        }
    }
    for (path, f) in &index.failures {
        for s in [path, &f.variant, &f.producer, &f.error, &f.at] {
            records.extend_from_slice(&put(s)?);
        }
    }
    let mut packed = String::new();
    for (path, e) in &index.entries {
        records.extend_from_slice(&put(path)?);
        records.extend_from_slice(&e.fp.size.to_le_bytes());
        records.extend_from_slice(&e.fp.mtime_ns.to_le_bytes());
        records.extend_from_slice(&e.fp.ctime_ns.to_le_bytes());
        records.extend_from_slice(&e.fp.inode.to_le_bytes());
        records.extend_from_slice(&e.at.to_le_bytes());
        records.extend_from_slice(&put(&e.hash)?);
        packed.clear();
        for (name, rel) in &e.variants {
            if name.contains('\0') || rel.contains('\0') {
                return None;
            }
            if !packed.is_empty() {
                packed.push('\0');
            }
            packed.push_str(name);
            packed.push('\0');
            packed.push_str(rel);
        }
        records.extend_from_slice(&put(&packed)?);
    }
    let mut body_hash = Xxh3::new();
    body_hash.update(&records);
    body_hash.update(heap.as_bytes());

    let mut header_rest = Vec::with_capacity(HEADER_LEN - 80);
    header_rest.extend_from_slice(&written_at);
    header_rest.extend_from_slice(&u32::try_from(index.variants.len()).ok()?.to_le_bytes());
    header_rest.extend_from_slice(&u32::try_from(index.failures.len()).ok()?.to_le_bytes());
    header_rest.extend_from_slice(&(index.entries.len() as u64).to_le_bytes());
    header_rest.extend_from_slice(&(heap.len() as u64).to_le_bytes());
    records.extend_from_slice(heap.as_bytes());
    Some(Body {
        header_rest,
        bytes: records,
        hash: body_hash,
    })
}

/// The index in `dir` without its artifact table, from the table file, when the table
/// exists, is intact and was made from the current `index.json`. `None` means: parse the
/// JSON.
pub(crate) fn load(dir: &Path) -> Option<Table> {
    let mut file = File::open(dir.join(TABLE_FILE)).ok()?;
    let file_len = file.metadata().ok()?.len();
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header).ok()?;
    if &header[..8] != MAGIC {
        return None;
    }
    let mut r = Reader {
        buf: &header[8..],
        pos: 0,
    };
    let json_len = r.u64()?;
    let json_hash = r.u128()?;
    let json_fp = Fingerprint {
        size: r.u64()?,
        mtime_ns: r.i64()?,
        ctime_ns: r.i64()?,
        inode: r.u64()?,
    };
    let clock = r.i64()?;
    let body_hash = r.u64()?;
    let written_at = r.span()?;
    let n_variants = r.u32()? as usize;
    let n_failures = r.u32()? as usize;
    let n_entries = usize::try_from(r.u64()?).ok()?;
    let heap_len = usize::try_from(r.u64()?).ok()?;
    let dirs_len = usize::try_from(r.u64()?).ok()?;

    let json_path = dir.join(INDEX_FILE);
    let now = Fingerprint::of(&json_path).ok()?;
    let settled = now == json_fp && now.mtime_ns.max(now.ctime_ns) < clock;
    if !settled {
        let (hash, len) = super::hashing::hash_file_counted(&json_path).ok()?;
        if (len, hash) != (json_len, crate::hash::to_hex(json_hash)) {
            return None;
        }
    }

    let head_len = n_variants
        .checked_mul(VARIANT_LEN)?
        .checked_add(n_failures.checked_mul(FAILURE_LEN)?)?;
    let entries_len = n_entries.checked_mul(ENTRY_LEN)?;
    let body_len = head_len
        .checked_add(entries_len)?
        .checked_add(heap_len)?
        .checked_add(dirs_len)?;
    if (HEADER_LEN as u64).checked_add(body_len as u64)? != file_len {
        return None;
    }
    let mut head_records = vec![0u8; head_len];
    let mut entries = vec![0u8; entries_len];
    let mut heap = vec![0u8; heap_len];
    let mut dirs = vec![0u8; dirs_len];
    for buf in [&mut head_records, &mut entries, &mut heap, &mut dirs] {
        file.read_exact(buf).ok()?;
    }
    let mut h = Xxh3::new();
    for buf in [&head_records, &entries, &heap, &dirs] {
        h.update(buf);
    }
    if h.digest() != body_hash {
        return None;
    }
    let heap = String::from_utf8(heap).ok()?;
    let mut table = Table {
        head: Index::default(),
        clock,
        objects: decode_dirs(&dirs)?,
        entries,
        heap,
    };
    table.head = decode_head(&table, &head_records, written_at, n_variants, n_failures)?;
    // Check every span of every entry once, so that `Table::entry` never meets a bad one.
    for rec in table.entries.chunks_exact(ENTRY_LEN) {
        let mut r = Reader { buf: rec, pos: 0 };
        table.text(r.span()?)?;
        r.take(40)?;
        table.text(r.span()?)?;
        table.text(r.span()?)?;
    }
    Some(table)
}

/// The dirs section.
fn decode_dirs(bytes: &[u8]) -> Option<Snapshot> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let count = r.u32()? as usize;
    let mut dirs = Vec::with_capacity(count.min(bytes.len() / 36));
    for _ in 0..count {
        let len = r.u32()? as usize;
        let name = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        let fp = Fingerprint {
            size: r.u64()?,
            mtime_ns: r.i64()?,
            ctime_ns: r.i64()?,
            inode: r.u64()?,
        };
        dirs.push((name, fp));
    }
    (r.pos == bytes.len()).then_some(dirs)
}

/// Written time, variants and failures.
fn decode_head(
    table: &Table,
    records: &[u8],
    written_at: (u32, u32),
    n_variants: usize,
    n_failures: usize,
) -> Option<Index> {
    let mut r = Reader {
        buf: records,
        pos: 0,
    };
    let text = |r: &mut Reader| -> Option<String> {
        r.span().and_then(|s| table.text(s)).map(str::to_string)
    };
    let mut variants = BTreeMap::new();
    for _ in 0..n_variants {
        let name = text(&mut r)?;
        let producer = text(&mut r)?;
        let ext = text(&mut r)?;
        variants.insert(name, VariantInfo { producer, ext });
    }
    let mut failures = BTreeMap::new();
    for _ in 0..n_failures {
        let path = text(&mut r)?;
        let failure = Failure {
            variant: text(&mut r)?,
            producer: text(&mut r)?,
            error: text(&mut r)?,
            at: text(&mut r)?,
        };
        failures.insert(path, failure);
    }
    Some(Index {
        written_at: table.text(written_at)?.to_string(),
        variants,
        failures,
        ..Index::default()
    })
}

/// Bounds-checked reads; `None` on any short field.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    fn u128(&mut self) -> Option<u128> {
        self.array().map(u128::from_le_bytes)
    }
    fn span(&mut self) -> Option<(u32, u32)> {
        Some((self.u32()?, self.u32()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::index::{self, Artifact, Entry, VariantMap};
    use crate::fsutil::LockGuard;

    fn sample() -> Index {
        let mut index = Index::default();
        index.variants.insert(
            "v".into(),
            VariantInfo {
                producer: "p@1".into(),
                ext: "png".into(),
            },
        );
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
            index.entries.insert(
                name.to_string(),
                Entry {
                    fp: Fingerprint {
                        size: 10 + i as u64,
                        mtime_ns: -5,
                        ctime_ns: 7,
                        inode: 99,
                    },
                    at: 1_000,
                    hash: hash.clone(),
                    variants,
                },
            );
            index.artifacts.insert(
                rel,
                Artifact {
                    source_hash: hash,
                    variant: "v".into(),
                    producer: "p@1".into(),
                    size: 3,
                    checksum: "c".into(),
                },
            );
        }
        index.failures.insert(
            "/s/c.png".into(),
            Failure {
                variant: "v".into(),
                producer: "p@1".into(),
                error: "exit 1".into(),
                at: "t".into(),
            },
        );
        index
    }

    fn saved(dir: &Path) -> Index {
        let lock = LockGuard::acquire(&dir.join(".lock")).unwrap();
        let mut index = sample();
        index::save(dir, &mut index, &lock).unwrap();
        index
    }

    /// The table as an index: head plus owned entries.
    fn as_index(t: &Table) -> Index {
        let mut index = t.head.clone();
        for i in 0..t.len() {
            let (p, e) = t.entry(i);
            index.entries.insert(p.to_string(), e.to_entry());
        }
        index
    }

    #[test]
    fn round_trips_everything_but_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let index = saved(dir.path());
        let loaded = load(dir.path()).expect("table used");
        assert_eq!(
            as_index(&loaded),
            Index {
                artifacts: BTreeMap::new(),
                ..index
            }
        );
    }

    #[test]
    fn ignored_when_the_json_changed() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let json = dir.path().join(index::INDEX_FILE);
        let good = std::fs::read(&json).unwrap();
        // Rewritten in place with the same length: caught by content even if the
        // filesystem's clock has not moved since the table was written.
        let mut same_len = good.clone();
        let i = same_len.len() - 2;
        same_len[i] = b' ';
        std::fs::OpenOptions::new()
            .write(true)
            .open(&json)
            .and_then(|mut f| f.write_all(&same_len))
            .unwrap();
        assert!(load(dir.path()).is_none());
        std::fs::write(&json, &good).unwrap();
        assert!(load(dir.path()).is_some(), "same bytes again");
        let mut longer = good.clone();
        longer.push(b'\n');
        std::fs::write(&json, &longer).unwrap();
        assert!(load(dir.path()).is_none());
        std::fs::remove_file(&json).unwrap();
        assert!(load(dir.path()).is_none());
    }

    #[test]
    fn trusted_on_the_json_fingerprint_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let table = std::fs::read(dir.path().join(TABLE_FILE)).unwrap();
        // A clock reading far in the future: the JSON's fingerprint alone vouches for it,
        // so a JSON whose bytes differ but whose fingerprint was forged equal is not read.
        // (What a racy in-place rewrite would look like; here only possible by editing the
        // table's header, which its checksum does not cover.)
        let mut forged = table.clone();
        forged[64..72].copy_from_slice(&i64::MAX.to_le_bytes());
        forged[8..16].copy_from_slice(&0u64.to_le_bytes());
        std::fs::write(dir.path().join(TABLE_FILE), &forged).unwrap();
        assert!(load(dir.path()).is_some(), "settled: JSON not read");
        // A clock reading from long ago: racy, so the JSON is hashed, and no longer matches.
        forged[64..72].copy_from_slice(&0i64.to_le_bytes());
        std::fs::write(dir.path().join(TABLE_FILE), &forged).unwrap();
        assert!(load(dir.path()).is_none(), "racy: JSON hashed");
    }

    #[test]
    fn ignored_when_damaged_or_truncated() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let path = dir.path().join(TABLE_FILE);
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 7, HEADER_LEN - 1, HEADER_LEN, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(load(dir.path()).is_none(), "cut at {cut}");
        }
        for flip in [HEADER_LEN + 3, good.len() - 3] {
            let mut flipped = good.clone();
            flipped[flip] ^= 1;
            std::fs::write(&path, &flipped).unwrap();
            assert!(load(dir.path()).is_none(), "flipped {flip}");
        }
        let mut longer = good.clone();
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        assert!(load(dir.path()).is_none());
        std::fs::write(&path, &good).unwrap();
        assert!(load(dir.path()).is_some());
    }

    #[test]
    fn bad_spans_and_counts_are_rejected_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let path = dir.path().join(TABLE_FILE);
        let good = std::fs::read(&path).unwrap();
        let body = HEADER_LEN..good.len();
        // Every byte of every record and of the counts, set to 0xff with the body
        // checksum recomputed: the structure itself must be checked.
        for at in (80..HEADER_LEN).chain(body.start..body.start + 200) {
            let mut bad = good.clone();
            bad[at] = 0xff;
            let h = xxhash_rust::xxh3::xxh3_64(&bad[HEADER_LEN..]);
            bad[72..80].copy_from_slice(&h.to_le_bytes());
            std::fs::write(&path, &bad).unwrap();
            if let Some(t) = load(dir.path()) {
                for i in 0..t.len() {
                    let _ = t.entry(i);
                }
            }
        }
    }

    #[test]
    fn not_written_when_a_variant_holds_nul() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = saved(dir.path());
        assert!(dir.path().join(TABLE_FILE).exists());
        let lock = LockGuard::acquire(&dir.path().join(".lock")).unwrap();
        index
            .entries
            .values_mut()
            .next()
            .unwrap()
            .variants
            .insert("x\0y".into(), "objects/00/z".into());
        index::save(dir.path(), &mut index, &lock).unwrap();
        assert!(!dir.path().join(TABLE_FILE).exists());
        assert!(load(dir.path()).is_none());
    }
}
