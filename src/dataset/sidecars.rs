//! Items with sidecars: a primary file and the companion files that share its stem (a
//! caption `img.txt`, a mask `img.mask.png` beside `img.png`), cached as one item.
//!
//! The rule is a set of globs matched against file names (`--sidecar '*.txt'`): a file
//! matching one is a sidecar, never an item of its own; every other file is a primary,
//! and its sidecars are the matching files of its directory whose name is its stem (its
//! name without the last extension) followed by `.` and anything. The rule is recorded
//! in the index, so `status` and `get` group files as the build did.
//!
//! An item's content hash covers the primary and every sidecar with its suffix (the part
//! of its name after the stem), so editing a caption rebuilds the item. An item's
//! fingerprint combines those of its files (see [`combine`]), so an untouched item is
//! still trusted on `stat`s alone. Without sidecars, an item is its file: same hash,
//! same fingerprint.

use super::error::DatasetError;
use super::fingerprint::Fingerprint;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_128;

/// Which files are sidecars (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    globs: Vec<String>,
    set: GlobSet,
}

impl Rule {
    pub fn new(globs: &[String]) -> Result<Rule, DatasetError> {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            let glob = Glob::new(g).map_err(|e| DatasetError::BadSidecar {
                glob: g.clone(),
                why: e.kind().to_string(),
            })?;
            b.add(glob);
        }
        let set = b.build().map_err(|e| DatasetError::BadSidecar {
            glob: globs.join(" "),
            why: e.to_string(),
        })?;
        Ok(Rule {
            globs: globs.to_vec(),
            set,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Whether the file named `name` is a sidecar.
    pub fn is_sidecar(&self, name: &str) -> bool {
        !self.globs.is_empty() && self.set.is_match(name)
    }

    /// If `name` is a sidecar of the primary `primary`, its suffix (after the stem).
    pub fn suffix<'n>(&self, primary: &str, name: &'n str) -> Option<&'n str> {
        let rest = name.strip_prefix(stem(primary))?;
        (rest.starts_with('.') && name != primary && self.is_sidecar(name)).then_some(rest)
    }

    /// The sidecars of the file at `path`, found by listing its directory: (suffix,
    /// path), by name.
    pub fn on_disk(&self, path: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
        let (Some(dir), Some(Some(primary))) =
            (path.parent(), path.file_name().map(|n| n.to_str()))
        else {
            return Ok(Vec::new());
        };
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let item = item?;
            if let Some(name) = item.file_name().to_str() {
                if let Some(suffix) = self.suffix(primary, name) {
                    found.push((suffix.to_string(), item.path()));
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// A name without its last extension (`img.mask.png` → `img.mask`, `README` → `README`).
pub(crate) fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => name,
    }
}

/// The fingerprint of an item: the primary's size, the newest times of all its files
/// (so the racy rule sees a sidecar just written), and the primary's inode mixed with a
/// digest of every sidecar's suffix and fingerprint (so any of them moving is seen).
pub(crate) fn combine(primary: Fingerprint, sides: &[(&str, Fingerprint)]) -> Fingerprint {
    if sides.is_empty() {
        return primary;
    }
    let mut bytes = Vec::with_capacity(sides.len() * 48);
    for (suffix, fp) in sides {
        bytes.extend_from_slice(suffix.as_bytes());
        bytes.push(0);
        for n in [fp.size, fp.mtime_ns as u64, fp.ctime_ns as u64, fp.inode] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
    }
    Fingerprint {
        size: primary.size,
        mtime_ns: sides
            .iter()
            .map(|s| s.1.mtime_ns)
            .fold(primary.mtime_ns, i64::max),
        ctime_ns: sides
            .iter()
            .map(|s| s.1.ctime_ns)
            .fold(primary.ctime_ns, i64::max),
        inode: primary.inode ^ (xxh3_128(&bytes) as u64),
    }
}

/// The content hash of an item from its files' hashes (the primary's alone without
/// sidecars).
pub(crate) fn item_hash(primary: &str, sides: &[(&str, &str)]) -> String {
    if sides.is_empty() {
        return primary.to_string();
    }
    let mut text = format!("smartcache-item\0{primary}");
    for (suffix, hash) in sides {
        text.push('\0');
        text.push_str(suffix);
        text.push('\0');
        text.push_str(hash);
    }
    crate::hash::hex128(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_share_the_stem_and_match_a_glob() {
        let r = Rule::new(&["*.txt".into(), "*.mask.png".into()]).unwrap();
        assert_eq!(r.suffix("img.png", "img.txt"), Some(".txt"));
        assert_eq!(r.suffix("img.png", "img.mask.png"), Some(".mask.png"));
        assert_eq!(r.suffix("img.png", "img2.txt"), None);
        assert_eq!(r.suffix("img.png", "img.png"), None);
        assert_eq!(r.suffix("img.png", "img.jpg"), None, "not a sidecar glob");
        assert!(r.is_sidecar("img.mask.png") && !r.is_sidecar("img.png"));
        assert_eq!(stem("a.b.c"), "a.b");
        assert_eq!(stem(".hidden"), ".hidden");
        assert!(Rule::new(&["a[".into()]).is_err());
        let fp = |n: i64| Fingerprint {
            size: 1,
            mtime_ns: n,
            ctime_ns: n,
            inode: 9,
        };
        assert_eq!(combine(fp(1), &[]), fp(1));
        let c = combine(fp(1), &[(".txt", fp(5))]);
        assert_eq!((c.size, c.mtime_ns), (1, 5));
        assert_ne!(c, combine(fp(1), &[(".txt", fp(6))]));
        assert_eq!(item_hash("ab", &[]), "ab");
        assert_ne!(
            item_hash("ab", &[(".txt", "cd")]),
            item_hash("ab", &[(".md", "cd")])
        );
    }
}
