//! The watcher's socket protocol, one request and one answer per connection.
//!
//! A request names the directory roots a walk starts from; the answer carries every
//! directory below them exactly as [`list_dir`](crate::dataset::sources) would list it,
//! so that the client builds the same [`Sources`](crate::dataset::Sources) it would have
//! built from the disk. Integers are little-endian; a string is a `u32` length and UTF-8
//! bytes.
//!
//! ```text
//! request:  "SCWATCH1", u32 n, n strings (canonical directory roots)
//! answer:   0u8, u32 n, n listings     (served)
//!           1u8, string                 (refused: why, e.g. a root is not watched)
//! listing:  string path, string names, u32 n, n u32 name ends,
//!           u32 n, n stats (u64 size, i64 mtime_ns, i64 ctime_ns, u64 inode, i64 at),
//!           u32 n, n problems (u32 position, string why),
//!           u32 n, n subdirectories (u32 files before it, string path),
//!           u8 linked
//! ```
//!
//! Decoding checks every length against what is left and every listing against the
//! invariants the walk keeps (ends increasing within the names, one stat per name or
//! none, positions in range): a malformed answer is refused, and the client walks the
//! disk instead.

use crate::dataset::fingerprint::{Fingerprint, Stat};
use crate::dataset::sources::{DirFiles, Listing};

/// The first bytes of a request: the protocol and its version.
pub(crate) const MAGIC: &[u8; 8] = b"SCWATCH1";

/// The most a request may hold (roots are a handful of paths).
pub(crate) const MAX_REQUEST: usize = 1 << 20;

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Encode a request for the directories below `roots`.
pub(crate) fn request(roots: &[String]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    put_u32(&mut out, roots.len());
    for r in roots {
        put_str(&mut out, r);
    }
    out
}

/// Decode a request: the roots it names.
pub(crate) fn read_request(bytes: &[u8]) -> Result<Vec<String>, String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a smartcache watch request (or another version of it)")?;
    let mut r = Reader { buf: rest };
    let n = r.count(4)?;
    let roots = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
    r.end()?;
    Ok(roots)
}

/// Append one listing. Without `at`, the times of the stats are written as 0: the
/// encoding then changes only when what the walk would report changes.
pub(crate) fn put_listing(out: &mut Vec<u8>, l: &Listing, with_at: bool) {
    let f = &l.files;
    put_str(out, &f.path);
    put_str(out, &f.names);
    put_u32(out, f.ends.len());
    for e in &f.ends {
        out.extend_from_slice(&e.to_le_bytes());
    }
    put_u32(out, f.stats.len());
    for s in &f.stats {
        out.extend_from_slice(&s.fp.size.to_le_bytes());
        out.extend_from_slice(&s.fp.mtime_ns.to_le_bytes());
        out.extend_from_slice(&s.fp.ctime_ns.to_le_bytes());
        out.extend_from_slice(&s.fp.inode.to_le_bytes());
        out.extend_from_slice(&if with_at { s.at } else { 0 }.to_le_bytes());
    }
    put_u32(out, f.problems.len());
    for (pos, why) in &f.problems {
        out.extend_from_slice(&pos.to_le_bytes());
        put_str(out, why);
    }
    put_u32(out, l.subdirs.len());
    for (before, path) in &l.subdirs {
        out.extend_from_slice(&before.to_le_bytes());
        put_str(out, path);
    }
    out.push(u8::from(l.linked));
}

/// The start of a served answer holding `n` listings.
pub(crate) fn served(n: usize) -> Vec<u8> {
    let mut out = vec![0u8];
    put_u32(&mut out, n);
    out
}

/// A refusal.
pub(crate) fn refused(why: &str) -> Vec<u8> {
    let mut out = vec![1u8];
    put_str(&mut out, why);
    out
}

/// Decode an answer: the listings, or the watcher's reason for refusing.
pub(crate) fn read_answer(bytes: &[u8]) -> Result<Vec<Listing>, String> {
    let (&tag, rest) = bytes.split_first().ok_or("an empty answer")?;
    let mut r = Reader { buf: rest };
    match tag {
        0 => {
            // A listing takes at least 25 bytes (five empty counts and lengths, a flag).
            let n = r.count(25)?;
            let listings = (0..n).map(|_| r.listing()).collect::<Result<_, _>>()?;
            r.end()?;
            Ok(listings)
        }
        1 => Err(format!("the watcher refused: {}", r.string()?)),
        other => Err(format!("unknown answer tag {other}")),
    }
}

/// A cursor over bytes that refuses to read past their end.
struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if n > self.buf.len() {
            return Err(format!(
                "truncated: {n} bytes wanted, {} left",
                self.buf.len()
            ));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn i64(&mut self) -> Result<i64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(a))
    }

    /// A count of items of at least `min` bytes each, checked against what is left (no
    /// allocation is sized by an unchecked number).
    fn count(&mut self, min: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.buf.len() {
            return Err(format!("a count of {n} does not fit in what is left"));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| "a string that is not UTF-8".to_string())
    }

    fn end(&self) -> Result<(), String> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(format!("{} bytes after the end", self.buf.len()))
        }
    }

    fn listing(&mut self) -> Result<Listing, String> {
        let path = self.string()?;
        let names = self.string()?;
        let n = self.count(4)?;
        let ends: Vec<u32> = (0..n).map(|_| self.u32()).collect::<Result<_, _>>()?;
        let n = self.count(40)?;
        let mut stats = Vec::with_capacity(n);
        for _ in 0..n {
            stats.push(Stat {
                fp: Fingerprint {
                    size: self.u64()?,
                    mtime_ns: self.i64()?,
                    ctime_ns: self.i64()?,
                    inode: self.u64()?,
                },
                at: self.i64()?,
            });
        }
        let n = self.count(8)?;
        let mut problems = Vec::with_capacity(n);
        for _ in 0..n {
            problems.push((self.u32()?, self.string()?));
        }
        let n = self.count(8)?;
        let mut subdirs = Vec::with_capacity(n);
        for _ in 0..n {
            subdirs.push((self.u32()?, self.string()?));
        }
        let linked = match self.take(1)?[0] {
            0 => false,
            1 => true,
            other => return Err(format!("a linked flag of {other}")),
        };
        // The invariants the walk keeps and the readers of `DirFiles` rely on.
        let mut start = 0usize;
        for &e in &ends {
            let e = e as usize;
            if e <= start || e > names.len() || !names.is_char_boundary(e) {
                return Err(format!("{path}: name ends out of order or range"));
            }
            start = e;
        }
        if start != names.len() {
            return Err(format!("{path}: names beyond the last end"));
        }
        if !(stats.is_empty() || stats.len() == ends.len()) {
            return Err(format!(
                "{path}: {} stats for {} names",
                stats.len(),
                ends.len()
            ));
        }
        let in_order = problems.windows(2).all(|w| w[0].0 < w[1].0)
            && problems.iter().all(|p| (p.0 as usize) < ends.len());
        let subdirs_ok = subdirs.windows(2).all(|w| w[0].0 <= w[1].0)
            && subdirs.iter().all(|s| s.0 as usize <= ends.len());
        if !in_order || !subdirs_ok {
            return Err(format!("{path}: positions out of order or range"));
        }
        Ok(Listing {
            files: DirFiles {
                path,
                names,
                ends,
                stats,
                problems,
            },
            subdirs,
            linked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Listing {
        let stat = |n: i64| Stat {
            fp: Fingerprint {
                size: n as u64,
                mtime_ns: n * 10,
                ctime_ns: -n,
                inode: 7,
            },
            at: 99,
        };
        Listing {
            files: DirFiles {
                path: "/data/a".into(),
                names: "x.pngé.txt".into(),
                ends: vec![5, 11],
                stats: vec![stat(1), stat(2)],
                problems: vec![(1, "a FIFO".into())],
            },
            subdirs: vec![(0, "/data/a/b".into()), (2, "/data/a/z".into())],
            linked: true,
        }
    }

    #[test]
    fn listings_and_requests_round_trip() {
        let l = sample();
        let mut bytes = served(2);
        put_listing(&mut bytes, &l, true);
        put_listing(&mut bytes, &Listing::default(), true);
        assert_eq!(read_answer(&bytes).unwrap(), vec![l, Listing::default()]);
        let roots = vec!["/data".to_string(), "/other dir".to_string()];
        assert_eq!(read_request(&request(&roots)).unwrap(), roots);
        assert_eq!(
            read_answer(&refused("not watched")).unwrap_err(),
            "the watcher refused: not watched"
        );
    }

    #[test]
    fn listings_breaking_the_walks_invariants_are_refused() {
        let mut bad = sample();
        bad.files.ends = vec![11, 5];
        let mut bytes = served(1);
        put_listing(&mut bytes, &bad, true);
        assert!(read_answer(&bytes).is_err());
        let mut bad = sample();
        bad.files.stats.pop();
        let mut bytes = served(1);
        put_listing(&mut bytes, &bad, true);
        assert!(read_answer(&bytes).is_err());
        let mut bad = sample();
        // The first name would end inside the two bytes of `é`.
        bad.files.names = "x.pnéxt.txt".into();
        bad.files.ends = vec![5, 12];
        let mut bytes = served(1);
        put_listing(&mut bytes, &bad, true);
        assert!(read_answer(&bytes).is_err(), "an end inside a character");
    }

    proptest! {
        /// Any bytes decode to listings or an error, never a panic or a huge allocation;
        /// and any truncation or change of a valid answer is refused or still valid.
        #[test]
        fn arbitrary_answers_and_requests_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_answer(&bytes);
            let _ = read_request(&bytes);
        }

        #[test]
        fn mutated_answers_decode_to_valid_listings_or_fail(cut in 0usize..400, flip in 0usize..400, bit in 0u8..8) {
            let mut bytes = served(1);
            put_listing(&mut bytes, &sample(), true);
            if flip < bytes.len() {
                bytes[flip] ^= 1 << bit;
            }
            bytes.truncate(cut.max(1));
            if let Ok(ls) = read_answer(&bytes) {
                for l in ls {
                    let mut again = served(1);
                    put_listing(&mut again, &l, true);
                    prop_assert_eq!(read_answer(&again).unwrap(), vec![l]);
                }
            }
        }
    }
}
