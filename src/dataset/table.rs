//! A compact binary copy of the index (without its artifact table), written beside
//! `index.json` so that `status` does not parse 100,000 JSON entries.
//!
//! `index.json` stays the source of truth. The table records the length and xxh3-128 of
//! the exact `index.json` bytes it was made from, plus a checksum of its own body, and is
//! used only when both match: a table left over from an older save, from a crash between
//! the two writes, from a hand-edited or restored index, or damaged in any way is simply
//! ignored and the JSON is parsed as before (with its fallbacks and migrations). Checking
//! the JSON costs one streaming read and hash of the file, a small fraction of parsing it.
//!
//! # Layout (little-endian)
//!
//! ```text
//! magic "SCDTAB\0\x01" | json_len u64 | json_hash u128 | body_len u64 | body_hash u64 | body
//! body:  written_at str
//!        variants u32 × (name str, producer str, ext str)
//!        failures u32 × (path str, variant str, producer str, error str, at str)
//!        entries  u64 × (path str, size u64, mtime i64, ctime i64, inode u64, at i64,
//!                        hash str, variants u32 × (name str, artifact str))
//! str:   u32 byte length, UTF-8 bytes
//! ```

use super::fingerprint::Fingerprint;
use super::index::{Entry, Failure, Index, VariantInfo, VariantMap, FORMAT, VERSION};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

/// File name of the table, beside `index.json`.
pub const TABLE_FILE: &str = "index.table";

const MAGIC: &[u8; 8] = b"SCDTAB\0\x01";
const HEADER_LEN: usize = 8 + 8 + 16 + 8 + 8;

/// Encode `index` (its artifact table left out) as a table tied to `json`, the exact bytes
/// of the `index.json` it was saved as.
pub fn encode(index: &Index, json: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(index.entries.len() * 192 + 256);
    put_str(&mut body, &index.written_at);
    put_u32(&mut body, index.variants.len());
    for (name, v) in &index.variants {
        put_str(&mut body, name);
        put_str(&mut body, &v.producer);
        put_str(&mut body, &v.ext);
    }
    put_u32(&mut body, index.failures.len());
    for (path, f) in &index.failures {
        for s in [path, &f.variant, &f.producer, &f.error, &f.at] {
            put_str(&mut body, s);
        }
    }
    body.extend_from_slice(&(index.entries.len() as u64).to_le_bytes());
    for (path, e) in &index.entries {
        put_str(&mut body, path);
        body.extend_from_slice(&e.fp.size.to_le_bytes());
        body.extend_from_slice(&e.fp.mtime_ns.to_le_bytes());
        body.extend_from_slice(&e.fp.ctime_ns.to_le_bytes());
        body.extend_from_slice(&e.fp.inode.to_le_bytes());
        body.extend_from_slice(&e.at.to_le_bytes());
        put_str(&mut body, &e.hash);
        put_u32(&mut body, e.variants.len());
        for (name, rel) in &e.variants {
            put_str(&mut body, name);
            put_str(&mut body, rel);
        }
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxh3_128(json).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxh3_64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The index in `dir` without its artifact table, from the table file, when the table
/// exists, is intact and was made from the current `index.json`. `None` means: parse the
/// JSON.
pub fn load(dir: &Path) -> Option<Index> {
    let table = std::fs::read(dir.join(TABLE_FILE)).ok()?;
    let header = table.get(..HEADER_LEN)?;
    if &header[..8] != MAGIC {
        return None;
    }
    let mut r = Reader {
        buf: &header[8..],
        pos: 0,
    };
    let json_len = r.u64()?;
    let json_hash = r.u128()?;
    let body_len = r.u64()?;
    let body_hash = r.u64()?;
    let body = &table[HEADER_LEN..];
    if body.len() as u64 != body_len || xxh3_64(body) != body_hash {
        return None;
    }
    if json_digest(&dir.join(super::index::INDEX_FILE)).ok()? != (json_len, json_hash) {
        return None;
    }
    decode(body)
}

/// Length and xxh3-128 of a file, read through a fixed buffer (no copy of the whole file).
fn json_digest(path: &Path) -> io::Result<(u64, u128)> {
    let mut f = File::open(path)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((len, h.digest128()))
}

fn decode(body: &[u8]) -> Option<Index> {
    let mut r = Reader { buf: body, pos: 0 };
    let written_at = r.string()?;
    let mut variants = BTreeMap::new();
    for _ in 0..r.u32()? {
        let name = r.string()?;
        let producer = r.string()?;
        let ext = r.string()?;
        variants.insert(name, VariantInfo { producer, ext });
    }
    let mut failures = BTreeMap::new();
    for _ in 0..r.u32()? {
        let path = r.string()?;
        let failure = Failure {
            variant: r.string()?,
            producer: r.string()?,
            error: r.string()?,
            at: r.string()?,
        };
        failures.insert(path, failure);
    }
    let count = r.u64()?;
    // Every entry takes at least 52 bytes: never reserve more than the body can hold.
    let mut entries = Vec::with_capacity(usize::try_from(count).ok()?.min(body.len() / 52));
    for _ in 0..count {
        let path = r.string()?;
        let fp = Fingerprint {
            size: r.u64()?,
            mtime_ns: r.i64()?,
            ctime_ns: r.i64()?,
            inode: r.u64()?,
        };
        let at = r.i64()?;
        let hash = r.string()?;
        let mut entry_variants = VariantMap::new();
        for _ in 0..r.u32()? {
            let name = r.string()?;
            entry_variants.insert(name, r.string()?);
        }
        entries.push((
            path,
            Entry {
                fp,
                at,
                hash,
                variants: entry_variants,
            },
        ));
    }
    if r.pos != body.len() {
        return None;
    }
    Some(Index {
        format: FORMAT.to_string(),
        version: VERSION,
        written_at,
        variants,
        // Written in path order: the map is bulk-built, not inserted into one by one.
        entries: entries.into_iter().collect(),
        artifacts: BTreeMap::new(),
        failures,
    })
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Counts and string lengths above 4 GiB cannot occur in an index that fits in memory
    // as JSON; saturating keeps the encoder total, and the decoder then rejects the table.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Bounds-checked reads; `None` on any short or malformed field.
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
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.u32()?).ok()?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).ok().map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::index::{self, Artifact};
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
        for (i, name) in ["/s/a.png", "/s/b é.png"].iter().enumerate() {
            let hash = format!("{:032x}", i + 1);
            let rel = format!("objects/00/{hash}-k.png");
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
                    variants: VariantMap::from_iter([("v".to_string(), rel.clone())]),
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

    #[test]
    fn round_trips_everything_but_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let index = saved(dir.path());
        let loaded = load(dir.path()).expect("table used");
        assert_eq!(
            loaded,
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
        let mut bytes = std::fs::read(&json).unwrap();
        bytes.push(b'\n');
        std::fs::write(&json, &bytes).unwrap();
        assert!(load(dir.path()).is_none());
        std::fs::remove_file(&json).unwrap();
        assert!(load(dir.path()).is_none());
    }

    #[test]
    fn ignored_when_damaged_or_truncated() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let path = dir.path().join(TABLE_FILE);
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 7, HEADER_LEN, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(load(dir.path()).is_none(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(load(dir.path()).is_none());
        std::fs::write(&path, &good).unwrap();
        assert!(load(dir.path()).is_some());
    }

    #[test]
    fn decoder_rejects_bad_bodies_without_panicking() {
        let json = b"{}";
        let good = encode(&sample(), json);
        let body = &good[HEADER_LEN..];
        for cut in 0..body.len() {
            assert!(decode(&body[..cut]).is_none(), "cut at {cut}");
        }
        let mut trailing = body.to_vec();
        trailing.push(0);
        assert!(decode(&trailing).is_none());
        // A huge entry count with no entries behind it.
        let mut huge = Vec::new();
        put_str(&mut huge, "t");
        put_u32(&mut huge, 0);
        put_u32(&mut huge, 0);
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&huge).is_none());
    }
}
