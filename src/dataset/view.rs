//! Index entries seen without owning them: borrowed from entries in memory, or read
//! in place from a base ([`super::base::Table`]).
//!
//! Validation and `status` only look at entries: compare a fingerprint, read a hash,
//! find an artifact path. Building an owned [`Entry`] for each of 100,000 files (a path,
//! a hash, a variant map and its strings) would cost more than the `stat`s it serves, so
//! both run on [`EntryRef`]s, and only `build` makes owned entries, for the files it
//! records.

use super::fingerprint::Fingerprint;
use super::model::{Entry, VariantMap};

/// One index entry, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    pub fp: Fingerprint,
    pub at: i64,
    /// xxh3-128 of the content, 32 hex characters.
    pub hash: &'a str,
    pub variants: VariantsRef<'a>,
    /// The entry comes from the base, whose snapshot of `objects/` vouches for the
    /// artifacts it names (see [`super::objects`]).
    pub vouched: bool,
}

/// The variant → artifact path map of an entry, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VariantsRef<'a> {
    Map(&'a VariantMap),
    /// `variant\0path\0variant\0path…` in variant order, empty for none (the table's
    /// encoding, see [`super::base`]).
    Packed(&'a str),
}

impl<'a> VariantsRef<'a> {
    /// The artifact path recorded for `variant`.
    pub fn get(&self, variant: &str) -> Option<&'a str> {
        let mut found = None;
        self.for_each(|name, rel| {
            if found.is_none() && name == variant {
                found = Some(rel);
            }
        });
        found
    }

    /// Call `f(variant, path)` for each pair, in variant order.
    pub fn for_each(&self, mut f: impl FnMut(&'a str, &'a str)) {
        match self {
            VariantsRef::Map(m) => m.iter().for_each(|(k, v)| f(k, v)),
            VariantsRef::Packed("") => {}
            VariantsRef::Packed(s) => {
                let mut parts = s.split('\0');
                while let (Some(name), Some(rel)) = (parts.next(), parts.next()) {
                    f(name, rel);
                }
            }
        }
    }

    pub fn to_map(self) -> VariantMap {
        let mut map = VariantMap::new();
        self.for_each(|k, v| {
            map.insert(k.to_string(), v.to_string());
        });
        map
    }
}

impl<'a> EntryRef<'a> {
    pub fn of(e: &'a Entry) -> EntryRef<'a> {
        EntryRef {
            fp: e.fp,
            at: e.at,
            hash: &e.hash,
            variants: VariantsRef::Map(&e.variants),
            vouched: false,
        }
    }

    pub fn to_entry(self) -> Entry {
        Entry {
            fp: self.fp,
            at: self.at,
            hash: self.hash.to_string(),
            variants: self.variants.to_map(),
        }
    }
}

/// Entries in path order with indexed access, borrowed in place (a base read whole).
pub(crate) trait EntryList: Sync {
    fn len(&self) -> usize;
    /// The `i`-th entry in path order (`i < len()`).
    fn entry(&self, i: usize) -> (&str, EntryRef<'_>);
    /// The path of the `i`-th entry alone (the merge with the walk needs no more).
    fn path(&self, i: usize) -> &str {
        self.entry(i).0
    }
    /// The content hash of the `i`-th entry alone.
    fn hash(&self, i: usize) -> &str {
        self.entry(i).1.hash
    }
    /// The fingerprint of the `i`-th entry and when it was taken: all that validating an
    /// unchanged file needs.
    fn stamp(&self, i: usize) -> (Fingerprint, i64) {
        let e = self.entry(i).1;
        (e.fp, e.at)
    }
}

/// An index's entries in path order, with indexed access.
pub(crate) enum Entries<'a> {
    List(&'a dyn EntryList),
    Refs(Vec<(&'a str, EntryRef<'a>)>),
}

impl<'a> Entries<'a> {
    pub fn len(&self) -> usize {
        match self {
            Entries::List(t) => t.len(),
            Entries::Refs(v) => v.len(),
        }
    }

    /// The path of the `i`-th entry in path order (`i < len()`).
    pub fn path(&self, i: usize) -> &'a str {
        match self {
            Entries::List(t) => t.path(i),
            Entries::Refs(v) => v[i].0,
        }
    }

    /// The content hash of the `i`-th entry in path order (`i < len()`).
    pub fn hash(&self, i: usize) -> &'a str {
        match self {
            Entries::List(t) => t.hash(i),
            Entries::Refs(v) => v[i].1.hash,
        }
    }

    /// The fingerprint of the `i`-th entry in path order and when it was taken.
    pub fn stamp(&self, i: usize) -> (Fingerprint, i64) {
        match self {
            Entries::List(t) => t.stamp(i),
            Entries::Refs(v) => (v[i].1.fp, v[i].1.at),
        }
    }

    /// The `i`-th entry in path order (`i < len()`).
    pub fn get(&self, i: usize) -> (&'a str, EntryRef<'a>) {
        match self {
            Entries::List(t) => t.entry(i),
            Entries::Refs(v) => v[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_map_variants_agree() {
        let map = VariantMap::from_iter([
            ("a".to_string(), "objects/00/x".to_string()),
            ("b".to_string(), "objects/00/y".to_string()),
        ]);
        let packed = VariantsRef::Packed("a\0objects/00/x\0b\0objects/00/y");
        for v in [VariantsRef::Map(&map), packed] {
            assert_eq!(v.get("a"), Some("objects/00/x"));
            assert_eq!(v.get("b"), Some("objects/00/y"));
            assert_eq!(v.get("c"), None);
            assert_eq!(v.to_map(), map);
        }
        let none = VariantsRef::Packed("");
        assert_eq!(none.get(""), None);
        assert!(none.to_map().is_empty());
    }
}
