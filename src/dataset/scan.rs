//! Validation of source files against the index: the fast path and its fallbacks.
//!
//! For each file, in parallel: no entry → new (hash it); fingerprint equal and not racy
//! → unchanged, trusted on one `stat` without opening the file; otherwise re-hash: the
//! same hash is "touched" (or, for a racy entry whose fingerprint did not move,
//! "unchanged" after reading), another hash is "changed".

use super::fingerprint::{now_ns, Fingerprint};
use super::hashing::hash_file_counted;
use super::index::{Entry, Index};
use super::sources::{Sources, Stat};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
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
    /// Could not be stat'ed or read.
    Unreadable,
}

/// The outcome of validating one file.
#[derive(Debug, Clone)]
pub struct Scanned<'a> {
    pub path: String,
    pub state: FileState,
    /// The entry as it should now be recorded (`None` for removed or unreadable files).
    /// Variants are carried over from the old entry only when the content is the same.
    pub entry: Option<Cow<'a, Entry>>,
    /// Whether the content was read.
    pub hashed: bool,
    pub bytes_read: u64,
    pub error: Option<String>,
}

/// Validate `sources` against `index`. With `trust_index`, files that have an entry are
/// taken as unchanged without even a `stat`.
pub fn scan<'a>(index: &'a Index, sources: &Sources, trust_index: bool) -> Vec<Scanned<'a>> {
    scan_aligned(&align(index, &sources.files).matched, sources, trust_index)
}

/// [`scan`] with the index entries already matched to `sources.files` by [`align`].
pub fn scan_aligned<'a>(
    matched: &[Option<&'a Entry>],
    sources: &Sources,
    trust_index: bool,
) -> Vec<Scanned<'a>> {
    let stats = sources.take_stats().unwrap_or_default();
    sources
        .files
        .par_iter()
        .zip(matched.par_iter())
        .enumerate()
        .with_min_len(64)
        .map(|(i, (p, old))| {
            let stat = stats.get(i).copied().flatten();
            scan_one(*old, p, stat, trust_index)
        })
        .collect()
}

/// Index entries lined up with a sorted file list.
pub struct Aligned<'a> {
    /// The entry of each file, in the order of the file list.
    pub matched: Vec<Option<&'a Entry>>,
    /// Entries whose path is not in the file list, in path order.
    pub unmatched: Vec<(&'a str, &'a Entry)>,
}

/// Match `index.entries` to `files` (sorted, without duplicates, as [`Sources`] keeps
/// them) in one merge of the two sorted sequences.
///
/// Both sides order paths by bytes, so a merge costs one comparison per step. A lookup per
/// file (and a binary search per entry to find the removed ones) compares long paths
/// that share long prefixes about twenty times each, which on 100,000 files cost more
/// than the directory walk's `stat`s.
pub fn align<'a>(index: &'a Index, files: &[String]) -> Aligned<'a> {
    let mut matched = Vec::with_capacity(files.len());
    let mut unmatched = Vec::new();
    let mut entries = index.entries.iter().peekable();
    for f in files {
        let mut found = None;
        while let Some((p, e)) = entries.peek() {
            match p.as_str().cmp(f.as_str()) {
                std::cmp::Ordering::Less => {
                    unmatched.push((p.as_str(), *e));
                    entries.next();
                }
                std::cmp::Ordering::Equal => {
                    found = Some(*e);
                    entries.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        matched.push(found);
    }
    unmatched.extend(entries.map(|(p, e)| (p.as_str(), e)));
    Aligned { matched, unmatched }
}

fn scan_one<'a>(
    old: Option<&'a Entry>,
    path: &str,
    stat: Option<Stat>,
    trust_index: bool,
) -> Scanned<'a> {
    if let (Some(e), true) = (old, trust_index) {
        return Scanned {
            path: path.to_string(),
            state: FileState::Unchanged,
            entry: Some(Cow::Borrowed(e)),
            hashed: false,
            bytes_read: 0,
            error: None,
        };
    }
    let unreadable = |e: std::io::Error| Scanned {
        path: path.to_string(),
        state: FileState::Unreadable,
        entry: None,
        hashed: false,
        bytes_read: 0,
        error: Some(e.to_string()),
    };
    // The record time is taken before the stat: a write after this instant in the same
    // timestamp tick yields an mtime that the racy rule catches.
    let Stat { fp, at } = match stat {
        Some(st) => st,
        None => {
            let at = now_ns();
            match Fingerprint::of(Path::new(path)) {
                Ok(fp) => Stat { fp, at },
                Err(e) => return unreadable(e),
            }
        }
    };
    if let Some(e) = old {
        if e.fp == fp && !fp.is_racy(e.at) {
            return Scanned {
                path: path.to_string(),
                state: FileState::Unchanged,
                entry: Some(Cow::Borrowed(e)),
                hashed: false,
                bytes_read: 0,
                error: None,
            };
        }
    }
    let (hash, bytes_read) = match hash_file_counted(Path::new(path)) {
        Ok(x) => x,
        Err(e) => return unreadable(e),
    };
    let (state, variants) = match old {
        None => (FileState::New, Default::default()),
        Some(e) if e.hash != hash => (FileState::Changed, Default::default()),
        Some(e) if e.fp == fp => (FileState::Unchanged, e.variants.clone()),
        Some(e) => (FileState::Touched, e.variants.clone()),
    };
    Scanned {
        path: path.to_string(),
        state,
        entry: Some(Cow::Owned(Entry {
            fp,
            at,
            hash,
            variants,
        })),
        hashed: true,
        bytes_read,
        error: None,
    }
}
