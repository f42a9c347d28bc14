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
//! body: records, each a kind byte then its fields:
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

/// The bytes of a segment holding `records`.
pub(crate) fn encode(records: &[Record]) -> Vec<u8> {
    let mut body = Enc::default();
    for r in records {
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
            prop_assert_eq!(decode(&encode(&records)).unwrap(), records);
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
