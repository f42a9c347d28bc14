//! A segment: the records one writer made at one checkpoint, in one immutable file.
//!
//! Segments are written whole (temporary file, fsync, rename into `index/`), so a
//! segment either exists complete or not at all; a checksum covers its body, so damage
//! is detected, reported, and the file left for a person to look at (never compacted
//! away). Each writer names its segments after itself (`seg-<writer>-<n>.scs`), so no
//! two processes ever write the same file and no lock is needed to add one.
//!
//! # Layout (little-endian, strings as u32 length + UTF-8)
//!
//! ```text
//! magic "SCDSEG\0\x01" | body_len u64 | body_hash u64 (xxh3-64 of body) | body
//! body: records, each a kind byte then its fields, in the order of [`order_key`]
//!       (class, then key) so that compaction merges segments as sorted runs:
//!   1 entry     path, size u64, mtime i64, ctime i64, inode u64, at i64, hash,
//!               variants u32 × (name, artifact path)
//!   2 removed   path, at i64
//!   3 artifact  path, source_hash, variant, producer, size u64, checksum, at i64,
//!               has_fp u8 [size u64, mtime i64, ctime i64, inode u64]
//!   4 failure   path, at i64, present u8 [variant, producer, error, at text]
//!   5 variant   name, at i64, producer, ext
//!   6 sidecars  at i64, globs u32 × glob
//! ```

use super::codec::{Dec, Enc};
use super::fingerprint::Fingerprint;
use super::model::{Artifact, Entry, Failure, Record, VariantInfo, VariantMap};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"SCDSEG\0\x01";
const HEADER_LEN: usize = 24;

/// The order of records in a segment: by class (entries and removals, keyed by path;
/// artifacts; failures; variants; the sidecar rule), then by key. Compaction merges
/// segments written in this order as sorted runs, a buffer of each at a time
/// ([`Cursor`]); any other order is still read (segments written before it was kept),
/// sorted in memory.
pub(crate) fn order_key(r: &Record) -> (u8, &str) {
    match r {
        Record::Entry(p, _) | Record::Removed(p, _) => (PATHS, p),
        Record::Artifact(rel, _) => (ARTIFACTS, rel),
        Record::Failure(p, ..) => (2, p),
        Record::Variant(n, ..) => (3, n),
        Record::Sidecars(..) => (4, ""),
    }
}

/// The class of entry and removal records (see [`order_key`]).
pub(crate) const PATHS: u8 = 0;
/// The class of artifact records.
pub(crate) const ARTIFACTS: u8 = 1;

/// Whether `records` are in segment order ([`order_key`]).
pub(crate) fn is_sorted(records: &[Record]) -> bool {
    records
        .windows(2)
        .all(|w| order_key(&w[0]) <= order_key(&w[1]))
}

/// The bytes of a segment holding `records` (written in segment order: [`order_key`]).
pub(crate) fn encode(records: &[Record]) -> Vec<u8> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    let mut body = Enc::default();
    for r in sorted {
        put(&mut body, r);
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.0.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(body.0.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxh3_64(&body.0).to_le_bytes());
    out.extend_from_slice(&body.0);
    out
}

/// The records of a segment, or what is wrong with it.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Record>, String> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err("not a smartcache index segment".into());
    }
    let mut h = Dec::new(&bytes[8..HEADER_LEN]);
    let (len, hash) = (h.u64().unwrap_or(0), h.u64().unwrap_or(0));
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(format!(
            "truncated or extended: body of {} bytes, header says {len}",
            body.len()
        ));
    }
    if xxh3_64(body) != hash {
        return Err("checksum mismatch".into());
    }
    let mut d = Dec::new(body);
    let mut out = Vec::new();
    while !d.is_empty() {
        out.push(
            get(&mut d)
                .ok_or_else(|| format!("malformed record at byte {}", HEADER_LEN + d.pos))?,
        );
    }
    Ok(out)
}

/// The records of one class of a segment file, read in order a buffer at a time (for
/// compaction, which merges many segments at once). The file was checked whole before
/// (see [`decode`]); a record that does not decode now is an error.
pub(crate) struct Cursor<'f> {
    file: &'f std::fs::File,
    class: u8,
    /// File offset of the next bytes to read, and the end of the body.
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    start: usize,
    /// Bytes read at a time.
    chunk: usize,
}

impl Cursor<'_> {
    /// The records of `class` in the segment open as `file`.
    pub fn new(file: &std::fs::File, class: u8) -> std::io::Result<Cursor<'_>> {
        let mut head = [0u8; HEADER_LEN];
        super::base::read_at(file, &mut head, 0)?;
        let len = Dec::new(&head[8..16]).u64().unwrap_or(0);
        Ok(Cursor {
            file,
            class,
            pos: HEADER_LEN as u64,
            end: (HEADER_LEN as u64).saturating_add(len),
            buf: Vec::new(),
            start: 0,
            chunk: 32 << 10,
        })
    }

    /// The next record of the class, `None` after the last.
    pub fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        loop {
            let mut d = Dec::new(&self.buf[self.start..]);
            if d.is_empty() && self.pos >= self.end {
                return Ok(None);
            }
            match get(&mut d) {
                Some(r) => {
                    self.start += d.pos;
                    match order_key(&r).0.cmp(&self.class) {
                        std::cmp::Ordering::Less => continue,
                        std::cmp::Ordering::Equal => return Ok(Some(r)),
                        std::cmp::Ordering::Greater => {
                            self.pos = self.end;
                            self.buf.clear();
                            self.start = 0;
                            return Ok(None);
                        }
                    }
                }
                None if self.pos >= self.end => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "malformed segment record",
                    ))
                }
                None => self.refill()?,
            }
        }
    }

    /// Keep the unread bytes and read more after them (a record may span buffers).
    fn refill(&mut self) -> std::io::Result<()> {
        self.buf.drain(..self.start);
        self.start = 0;
        let have = self.buf.len();
        let n = ((self.end - self.pos) as usize).min(have.max(self.chunk));
        self.buf.resize(have + n, 0);
        super::base::read_at(self.file, &mut self.buf[have..], self.pos)?;
        self.pos += n as u64;
        Ok(())
    }
}

fn put_fp(e: &mut Enc, fp: &Fingerprint) {
    e.u64(fp.size);
    e.i64(fp.mtime_ns);
    e.i64(fp.ctime_ns);
    e.u64(fp.inode);
}

fn get_fp(d: &mut Dec) -> Option<Fingerprint> {
    Some(Fingerprint {
        size: d.u64()?,
        mtime_ns: d.i64()?,
        ctime_ns: d.i64()?,
        inode: d.u64()?,
    })
}

fn put(e: &mut Enc, r: &Record) {
    match r {
        Record::Entry(path, x) => {
            e.u8(1);
            e.str(path);
            put_fp(e, &x.fp);
            e.i64(x.at);
            e.str(&x.hash);
            e.u32(x.variants.len() as u32);
            for (k, v) in x.variants.iter() {
                e.str(k);
                e.str(v);
            }
        }
        Record::Removed(path, at) => {
            e.u8(2);
            e.str(path);
            e.i64(*at);
        }
        Record::Artifact(rel, a) => {
            e.u8(3);
            for s in [rel, &a.source_hash, &a.variant, &a.producer] {
                e.str(s);
            }
            e.u64(a.size);
            e.str(&a.checksum);
            e.i64(a.at);
            match &a.fp {
                Some(fp) => {
                    e.u8(1);
                    put_fp(e, fp);
                }
                None => e.u8(0),
            }
        }
        Record::Failure(path, at, f) => {
            e.u8(4);
            e.str(path);
            e.i64(*at);
            match f {
                Some(f) => {
                    e.u8(1);
                    for s in [&f.variant, &f.producer, &f.error, &f.at] {
                        e.str(s);
                    }
                }
                None => e.u8(0),
            }
        }
        Record::Variant(name, at, info) => {
            e.u8(5);
            e.str(name);
            e.i64(*at);
            e.str(&info.producer);
            e.str(&info.ext);
        }
        Record::Sidecars(at, globs) => {
            e.u8(6);
            e.i64(*at);
            e.u32(globs.len() as u32);
            for g in globs {
                e.str(g);
            }
        }
    }
}

fn get(d: &mut Dec) -> Option<Record> {
    Some(match d.u8()? {
        1 => {
            let path = d.string()?;
            let fp = get_fp(d)?;
            let at = d.i64()?;
            let hash = d.string()?;
            let n = d.u32()?;
            let mut variants = VariantMap::new();
            for _ in 0..n {
                let k = d.string()?;
                variants.insert(k, d.string()?);
            }
            Record::Entry(
                path,
                Entry {
                    fp,
                    at,
                    hash,
                    variants,
                },
            )
        }
        2 => Record::Removed(d.string()?, d.i64()?),
        3 => {
            let rel = d.string()?;
            let source_hash = d.string()?;
            let variant = d.string()?;
            let producer = d.string()?;
            let size = d.u64()?;
            let checksum = d.string()?;
            let at = d.i64()?;
            let fp = match d.u8()? {
                0 => None,
                1 => Some(get_fp(d)?),
                _ => return None,
            };
            Record::Artifact(
                rel,
                Artifact {
                    source_hash,
                    variant,
                    producer,
                    size,
                    checksum,
                    fp,
                    at,
                },
            )
        }
        4 => {
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
            Record::Failure(path, at, f)
        }
        5 => {
            let name = d.string()?;
            let at = d.i64()?;
            Record::Variant(
                name,
                at,
                VariantInfo {
                    producer: d.string()?,
                    ext: d.string()?,
                },
            )
        }
        6 => {
            let at = d.i64()?;
            let n = d.u32()?;
            let mut globs = Vec::new();
            for _ in 0..n {
                globs.push(d.string()?);
            }
            Record::Sidecars(at, globs)
        }
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A segment with `records` in the order given (as written before segments were
    /// kept sorted).
    pub(crate) fn encode_unsorted(records: &[Record]) -> Vec<u8> {
        let mut body = Enc::default();
        for r in records {
            put(&mut body, r);
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(body.0.len() as u64).to_le_bytes());
        out.extend_from_slice(&xxh3_64(&body.0).to_le_bytes());
        out.extend_from_slice(&body.0);
        out
    }

    pub(crate) fn arb_record() -> impl Strategy<Value = Record> {
        let s = || "[a-z/é\\x00-\\x02]{0,12}";
        let fp = (any::<u64>(), any::<i64>(), any::<i64>(), any::<u64>()).prop_map(
            |(size, mtime_ns, ctime_ns, inode)| Fingerprint {
                size,
                mtime_ns,
                ctime_ns,
                inode,
            },
        );
        prop_oneof![
            (
                s(),
                fp.clone(),
                any::<i64>(),
                s(),
                proptest::collection::vec((s(), s()), 0..3)
            )
                .prop_map(|(p, fp, at, hash, vs)| Record::Entry(
                    p,
                    Entry {
                        fp,
                        at,
                        hash,
                        variants: vs.into_iter().collect()
                    }
                )),
            (s(), any::<i64>()).prop_map(|(p, at)| Record::Removed(p, at)),
            (
                s(),
                s(),
                s(),
                s(),
                any::<u64>(),
                s(),
                any::<i64>(),
                proptest::option::of(fp)
            )
                .prop_map(
                    |(rel, source_hash, variant, producer, size, checksum, at, fp)| {
                        Record::Artifact(
                            rel,
                            Artifact {
                                source_hash,
                                variant,
                                producer,
                                size,
                                checksum,
                                fp,
                                at,
                            },
                        )
                    }
                ),
            (
                s(),
                any::<i64>(),
                proptest::option::of((s(), s(), s(), s()))
            )
                .prop_map(|(p, at, f)| {
                    Record::Failure(
                        p,
                        at,
                        f.map(|(variant, producer, error, at)| Failure {
                            variant,
                            producer,
                            error,
                            at,
                        }),
                    )
                }),
            (s(), any::<i64>(), s(), s()).prop_map(|(n, at, producer, ext)| Record::Variant(
                n,
                at,
                VariantInfo { producer, ext }
            )),
            (any::<i64>(), proptest::collection::vec(s(), 0..3))
                .prop_map(|(at, g)| Record::Sidecars(at, g)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trips(records in proptest::collection::vec(arb_record(), 0..12)) {
            let mut sorted = records.clone();
            sorted.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
            let got = decode(&encode(&records)).unwrap();
            prop_assert!(is_sorted(&got));
            prop_assert_eq!(&got, &sorted);
            // Read back a class at a time, a few bytes at a time (records cut across reads).
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("seg");
            std::fs::write(&path, encode(&records)).unwrap();
            for class in 0..5u8 {
                let file = std::fs::File::open(&path).unwrap();
                let mut c = Cursor::new(&file, class).unwrap();
                c.chunk = 1 + (class as usize) * 3;
                let mut streamed = Vec::new();
                while let Some(r) = c.next_record().unwrap() {
                    streamed.push(r);
                }
                let want: Vec<Record> = sorted.iter().filter(|r| order_key(r).0 == class).cloned().collect();
                prop_assert_eq!(streamed, want);
            }
        }

        /// Damage anywhere is an error, never a panic; a valid checksum over garbage
        /// is still decoded without panicking.
        #[test]
        fn damaged_segments_are_errors(
            records in proptest::collection::vec(arb_record(), 1..6),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let good = encode(&records);
            let mut bad = good.clone();
            let i = at.index(bad.len());
            bad[i] ^= byte | 1;
            prop_assert!(decode(&bad).is_err());
            prop_assert!(decode(&good[..cut.index(good.len())]).is_err());
            // Forge the checksum: the structure itself must be checked.
            let mut forged = good.clone();
            let j = HEADER_LEN + at.index(good.len() - HEADER_LEN);
            forged[j] ^= byte | 1;
            let h = xxh3_64(&forged[HEADER_LEN..]);
            forged[16..24].copy_from_slice(&h.to_le_bytes());
            let _ = decode(&forged);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&((bytes.len() as u64).to_le_bytes()));
            b.extend_from_slice(&xxh3_64(&bytes).to_le_bytes());
            b.extend_from_slice(&bytes);
            let _ = decode(&b);
            let _ = decode(&bytes);
        }
    }
}
