//! Validation of source files against the index: the fast path and its fallbacks.
//!
//! For each file, in parallel: no entry → new (hash it); fingerprint equal and not racy
//! → unchanged, trusted on one `stat` without opening the file; otherwise re-hash: the
//! same hash is "touched" (or, for a racy entry whose fingerprint did not move,
//! "unchanged" after reading), another hash is "changed".

use super::fingerprint::{now_ns, Fingerprint, Stat};
use super::hashing::hash_file_counted;
use super::sidecars;
use super::sources::{SourceFile, Sources};
use super::view::{Entries, EntryRef, VariantsRef};
use rayon::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;
use std::path::Path;

/// What happened to a source file since its entry was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// Not in the index.
    New,
    /// Content differs from the recorded hash.
    Changed,
    /// Metadata moved, content identical.
    Touched,
    /// Same content (trusted on metadata, or re-read because the record was racy).
    Unchanged,
    /// In the index, under a source root, but no longer on disk.
    Removed,
    /// Could not be stat'ed or read, or cannot be a source: a broken symbolic link, a
    /// special file, a name that is not UTF-8. Its entry (if any) and artifacts are kept.
    Unreadable,
}

/// The source files lined up with the index and validated.
pub(crate) struct Scan {
    /// One per source file, in the order of [`Sources`].
    pub files: Vec<Scanned>,
    /// The entries (positions in [`Entries`]) that no source file matched, in path order:
    /// removed files, or files outside the roots or the shard.
    pub unmatched: Vec<u32>,
}

/// The outcome of validating one file. Small (16 bytes) and without a path: a file
/// trusted on its fingerprint costs nothing more than this record.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// Its entry's position in [`Entries`], if indexed.
    pub old: Option<u32>,
    pub state: FileState,
    /// Present when the content was read, or could not be.
    pub detail: Option<Box<Detail>>,
}

#[derive(Debug)]
pub(crate) enum Detail {
    /// The content was read: the fingerprint (and the time just before it was taken) and
    /// the hash to record.
    Read {
        fp: Fingerprint,
        at: i64,
        hash: String,
        bytes: u64,
    },
    Unreadable(String),
}

impl Scanned {
    /// The entry as it should now be recorded (`None` for an unreadable file). Variants
    /// are carried over from the old entry only when the content is the same.
    pub fn entry<'a>(&'a self, entries: &Entries<'a>) -> Option<EntryRef<'a>> {
        let old = self.old.map(|j| entries.get(j as usize).1);
        match self.detail.as_deref() {
            None => old,
            Some(Detail::Unreadable(_)) => None,
            Some(Detail::Read { fp, at, hash, .. }) => Some(EntryRef {
                fp: *fp,
                at: *at,
                hash,
                variants: match (self.state, old) {
                    (FileState::Unchanged | FileState::Touched, Some(o)) => o.variants,
                    _ => VariantsRef::Packed(""),
                },
                vouched: matches!(self.state, FileState::Unchanged | FileState::Touched)
                    && old.is_some_and(|o| o.vouched),
            }),
        }
    }

    /// The content hash of [`Self::entry`], without decoding the rest of the entry.
    pub fn hash<'a>(&'a self, entries: &Entries<'a>) -> Option<&'a str> {
        match self.detail.as_deref() {
            None => self.old.map(|j| entries.hash(j as usize)),
            Some(Detail::Unreadable(_)) => None,
            Some(Detail::Read { hash, .. }) => Some(hash),
        }
    }

    /// Bytes read to validate the file.
    pub fn bytes_read(&self) -> u64 {
        match self.detail.as_deref() {
            Some(Detail::Read { bytes, .. }) => *bytes,
            _ => 0,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self.detail.as_deref() {
            Some(Detail::Unreadable(e)) => Some(e),
            _ => None,
        }
    }
}

/// Validate `sources` against `entries`. With `trust_index`, files that have an entry
/// are taken as unchanged without even a `stat`.
pub(crate) fn scan(entries: &Entries, sources: &Sources, trust_index: bool) -> Scan {
    let (matched, unmatched) = align(entries, sources);
    let fresh = sources.take_stats();
    // No minimum split length: rayon splits adaptively (a piece per thread, more when
    // work is stolen), so four 128 MB files to hash run on every core while 100,000
    // files trusted on a `stat` still go in a few large pieces.
    let files = matched
        .par_iter()
        .enumerate()
        .map(|(i, &old)| {
            let file = sources.get(i);
            let (state, detail) = check(file, old, entries, fresh, trust_index);
            Scanned { old, state, detail }
        })
        .collect();
    Scan { files, unmatched }
}

/// Match `entries` to the files of `sources` (both sorted by path bytes) in one merge:
/// the entry of each file, and the entries no file matched.
///
/// A merge costs one comparison per step. A lookup per file (and a binary search per
/// entry to find the removed ones) compares long paths that share long prefixes about
/// twenty times each, which on 100,000 files costs more than the walk's `stat`s.
fn align(entries: &Entries, sources: &Sources) -> (Vec<Option<u32>>, Vec<u32>) {
    let mut matched = Vec::with_capacity(sources.len());
    let mut unmatched = Vec::new();
    let mut next = 0usize;
    let n = entries.len();
    for file in sources.iter() {
        let mut found = None;
        while next < n {
            match file.cmp_path(entries.path(next)) {
                Ordering::Greater => {
                    unmatched.push(next as u32);
                    next += 1;
                }
                Ordering::Equal => {
                    found = Some(next as u32);
                    next += 1;
                    break;
                }
                Ordering::Less => break,
            }
        }
        matched.push(found);
    }
    unmatched.extend((next..n).map(|j| j as u32));
    (matched, unmatched)
}

/// Validate `file` against its entry (`old`, a position in `entries`). An unchanged file
/// reads only the entry's fingerprint and time; its hash only when the content is read.
fn check(
    file: SourceFile,
    old: Option<u32>,
    entries: &Entries,
    fresh: bool,
    trust_index: bool,
) -> (FileState, Option<Box<Detail>>) {
    let unreadable = |e: String| (FileState::Unreadable, Some(Box::new(Detail::Unreadable(e))));
    if let Some(why) = file.problem() {
        return unreadable(why.to_string());
    }
    if old.is_some() && trust_index {
        return (FileState::Unchanged, None);
    }
    // The record time is taken before the stat: a write after this instant in the same
    // timestamp tick yields an mtime that the racy rule catches.
    let Stat { fp, at } = match file.stat().filter(|_| fresh) {
        Some(st) => st,
        None => {
            let at = now_ns();
            match item_fingerprint(&file, false) {
                Ok(fp) => Stat { fp, at },
                Err(e) => return unreadable(e.to_string()),
            }
        }
    };
    let fp = match file.sidecars().len() {
        0 => fp,
        _ if fresh => match item_fingerprint(&file, true) {
            Ok(fp) => fp,
            Err(e) => return unreadable(e.to_string()),
        },
        _ => fp, // `item_fingerprint` above covered the sidecars
    };
    let stamp = old.map(|j| entries.stamp(j as usize));
    if let Some((old_fp, old_at)) = stamp {
        if old_fp == fp && !fp.is_racy(old_at) {
            return (FileState::Unchanged, None);
        }
    }
    let (hash, bytes) = match item_hash(&file) {
        Ok(x) => x,
        Err(e) => return unreadable(e),
    };
    let state = match (old, stamp) {
        (Some(j), Some((old_fp, _))) => {
            if entries.hash(j as usize) != hash {
                FileState::Changed
            } else if old_fp == fp {
                FileState::Unchanged
            } else {
                FileState::Touched
            }
        }
        _ => FileState::New,
    };
    (
        state,
        Some(Box::new(Detail::Read {
            fp,
            at,
            hash,
            bytes,
        })),
    )
}

/// The fingerprint of `file` as an item: its own combined with its sidecars' (see
/// [`sidecars::combine`]). `walked`: take the walk's fingerprints rather than `stat` now.
pub(crate) fn item_fingerprint(file: &SourceFile, walked: bool) -> std::io::Result<Fingerprint> {
    let primary = match file.stat().filter(|_| walked) {
        Some(st) => st.fp,
        None => Fingerprint::of(Path::new(&file.path()))?,
    };
    let mut sides = Vec::with_capacity(file.sidecars().len());
    for sc in file.sidecars() {
        let fp = match sc.stat().filter(|_| walked) {
            Some(st) => st.fp,
            None => Fingerprint::of(Path::new(&sc.path()))?,
        };
        sides.push((sc.suffix, fp));
    }
    Ok(sidecars::combine(primary, &sides))
}

/// The content hash of `file` as an item, and the bytes read; the error names the file.
fn item_hash(file: &SourceFile) -> Result<(String, u64), String> {
    let path = file.path();
    let (hash, mut bytes) = hash_file_counted(Path::new(&path)).map_err(|e| e.to_string())?;
    if file.sidecars().len() == 0 {
        return Ok((hash, bytes));
    }
    let mut sides = Vec::with_capacity(file.sidecars().len());
    for sc in file.sidecars() {
        let p = sc.path();
        let (h, n) = hash_file_counted(Path::new(&p)).map_err(|e| format!("{p}: {e}"))?;
        bytes += n;
        sides.push((sc.suffix, h));
    }
    let refs: Vec<(&str, &str)> = sides.iter().map(|(s, h)| (*s, h.as_str())).collect();
    Ok((sidecars::item_hash(&hash, &refs), bytes))
}
