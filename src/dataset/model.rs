//! What the index knows, as plain values: entries, artifacts, failures, variants; and
//! [`Record`], one change to it, with the rule that folds changes together.
//!
//! Several builders on several machines record into one cache without a lock (see
//! [`super::store`]), so the same change may be read twice and changes from different
//! writers arrive in any order. The fold is therefore order-independent and idempotent:
//! every record carries the time its fact was observed, and for each key the latest
//! observation wins ([`Slot::upsert`], [`lww`]). Removals are kept as tombstones so that
//! an older record read again later cannot bring an entry back.

use super::fingerprint::Fingerprint;
pub use super::variant_map::VariantMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format tag of the JSON forms of the index (versions 1 and 2 on disk, and
/// [`Index`] as tools see it).
pub const FORMAT: &str = "smartcache-dataset-index";
/// Current index format version: 3 is the base + segments layout of `store.rs`;
/// 1 and 2 (`index.json`) are read and migrated in place.
pub const VERSION: u32 = 3;

/// The whole index as values (what [`super::index::load`] returns).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    /// The index format tag.
    pub format: String,
    /// The index format version.
    pub version: u32,
    /// RFC 3339 UTC time of the last save (for people; the racy rule uses per-entry times).
    pub written_at: String,
    /// Variant key → the producer whose artifacts currently serve it.
    #[serde(default)]
    pub variants: BTreeMap<String, VariantInfo>,
    /// Absolute source path → entry.
    #[serde(default)]
    pub entries: BTreeMap<String, Entry>,
    /// Artifact path (relative to the cache directory) → what it is.
    #[serde(default)]
    pub artifacts: BTreeMap<String, Artifact>,
    /// Absolute source path → its last failure to build.
    #[serde(default)]
    pub failures: BTreeMap<String, Failure>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            format: FORMAT.to_string(),
            version: VERSION,
            written_at: String::new(),
            variants: BTreeMap::new(),
            entries: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }
}

/// Which producer serves a variant, and the extension its artifacts carry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct VariantInfo {
    /// The producer whose artifacts serve the variant.
    pub producer: String,
    /// The extension its artifacts carry (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ext: String,
}

/// One source file (or item: a file and its sidecars).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The source's fingerprint when it was recorded.
    pub fp: Fingerprint,
    /// Wall-clock time (ns since the epoch) just before `fp` was taken; see
    /// [`Fingerprint::is_racy`]. Also the entry's age when records are folded.
    pub at: i64,
    /// xxh3-128 of the content, 32 hex characters.
    pub hash: String,
    /// Variant key → artifact path (relative to the cache directory).
    #[serde(default, skip_serializing_if = "VariantMap::is_empty")]
    pub variants: VariantMap,
}

/// One derived artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Artifact {
    /// xxh3-128 of the source content the artifact was made from.
    pub source_hash: String,
    /// The variant it serves.
    pub variant: String,
    /// The producer that made it.
    pub producer: String,
    /// Its size in bytes.
    pub size: u64,
    /// xxh3-128 of the artifact's bytes, for `verify`.
    pub checksum: String,
    /// The artifact file's fingerprint when its checksum was taken: a file that still
    /// has it was not rewritten since (cheap check before serving or reusing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<Fingerprint>,
    /// When this record was made (ns since the epoch); the latest record wins.
    #[serde(default)]
    pub at: i64,
}

/// Why a source could not be built, kept until a build of it succeeds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    /// The variant being built.
    pub variant: String,
    /// The producer that failed.
    pub producer: String,
    /// The error (the end of the transform's stderr, or its message).
    pub error: String,
    /// When, RFC 3339 UTC.
    pub at: String,
}

/// One change to the index. Every record says when its fact was observed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// The source at `path` was seen with this entry (at `entry.at`).
    Entry(String, Entry),
    /// The source at `path` was seen absent at this time.
    Removed(String, i64),
    /// An artifact was made or checked (at `artifact.at`).
    Artifact(String, Artifact),
    /// A build of `path` failed (`Some`) or succeeded (`None`) at this time.
    Failure(String, i64, Option<Failure>),
    /// A variant is served by this producer from this time on.
    Variant(String, i64, VariantInfo),
    /// Sources are grouped into items with these sidecar globs from this time on.
    Sidecars(i64, Vec<String>),
}

/// What the records say about one path: the latest entry seen and the latest removal.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Slot {
    pub live: Option<Entry>,
    pub removed: Option<i64>,
}

impl Slot {
    /// The entry, unless a later removal hides it.
    pub fn visible(&self) -> Option<&Entry> {
        self.live
            .as_ref()
            .filter(|e| self.removed.is_none_or(|t| e.at > t))
    }

    /// Fold an observation in. A different content observed later replaces the entry;
    /// the same content merges: fingerprint and time from the later observation,
    /// variants from both (the later one's where both name one).
    pub fn upsert(&mut self, r: Entry) {
        let Some(c) = &mut self.live else {
            self.live = Some(r);
            return;
        };
        if c.hash != r.hash {
            if (r.at, &r.hash) > (c.at, &c.hash) {
                *c = r;
            }
            return;
        }
        if r.at > c.at {
            let mut variants = r.variants;
            for (k, v) in c.variants.iter() {
                if variants.get(k).is_none() {
                    variants.insert(k.clone(), v.clone());
                }
            }
            *c = Entry { variants, ..r };
        } else {
            let tie = r.at == c.at;
            if tie && fp_key(&r.fp) > fp_key(&c.fp) {
                c.fp = r.fp;
            }
            for (k, v) in r.variants.iter() {
                match c.variants.get(k) {
                    None => {
                        c.variants.insert(k.clone(), v.clone());
                    }
                    Some(cur) if tie && v > cur => {
                        c.variants.insert(k.clone(), v.clone());
                    }
                    Some(_) => {}
                }
            }
        }
    }

    pub fn remove(&mut self, at: i64) {
        self.removed = Some(self.removed.map_or(at, |t| t.max(at)));
    }

    /// Fold everything `other` says in.
    pub fn merge(&mut self, other: Slot) {
        if let Some(e) = other.live {
            self.upsert(e);
        }
        if let Some(t) = other.removed {
            self.remove(t);
        }
    }

    /// The same facts with what can no longer matter dropped: a hidden entry, or a
    /// removal older than the entry.
    pub fn settle(mut self) -> Slot {
        match (&self.live, self.removed) {
            (Some(e), Some(t)) if e.at > t => self.removed = None,
            (Some(_), Some(_)) => self.live = None,
            _ => {}
        }
        self
    }
}

fn fp_key(fp: &Fingerprint) -> (u64, i64, i64, u64) {
    (fp.size, fp.mtime_ns, fp.ctime_ns, fp.inode)
}

/// Last writer wins: keep `(at, value)` unless `new` is later (ties broken by value, so
/// that any order of folding gives the same result).
pub(crate) fn lww<T: Ord>(slot: &mut Option<(i64, T)>, at: i64, value: T) {
    match slot {
        Some((t, v)) if (*t, &*v) >= (at, &value) => {}
        _ => *slot = Some((at, value)),
    }
}

/// Records folded together (see the module documentation).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Fold {
    pub entries: BTreeMap<String, Slot>,
    pub artifacts: BTreeMap<String, Artifact>,
    pub failures: BTreeMap<String, (i64, Option<Failure>)>,
    pub variants: BTreeMap<String, (i64, VariantInfo)>,
    pub sidecars: Option<(i64, Vec<String>)>,
}

impl Fold {
    pub fn apply(&mut self, r: Record) {
        match r {
            Record::Entry(path, e) => self.entries.entry(path).or_default().upsert(e),
            Record::Removed(path, at) => self.entries.entry(path).or_default().remove(at),
            Record::Artifact(rel, a) => {
                let at = a.at;
                let mut slot = self.artifacts.remove(&rel).map(|a| (a.at, a));
                lww(&mut slot, at, a);
                if let Some((_, a)) = slot {
                    self.artifacts.insert(rel, a);
                }
            }
            Record::Failure(path, at, f) => {
                let mut slot = self.failures.remove(&path);
                lww(&mut slot, at, f);
                if let Some(s) = slot {
                    self.failures.insert(path, s);
                }
            }
            Record::Sidecars(at, globs) => lww(&mut self.sidecars, at, globs),
            Record::Variant(name, at, info) => {
                let mut slot = self.variants.remove(&name);
                lww(&mut slot, at, info);
                if let Some(s) = slot {
                    self.variants.insert(name, s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn entry(at: i64, hash: &str, variants: &[(&str, &str)]) -> Entry {
        Entry {
            fp: Fingerprint {
                size: at as u64,
                mtime_ns: at,
                ctime_ns: at,
                inode: 1,
            },
            at,
            hash: hash.to_string(),
            variants: variants
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn records() -> Vec<Record> {
        let p = || "/d/a".to_string();
        vec![
            Record::Entry(p(), entry(1, "aa", &[("v", "objects/aa/1")])),
            Record::Entry(p(), entry(3, "aa", &[("w", "objects/aa/2")])),
            Record::Entry(p(), entry(2, "bb", &[("v", "objects/bb/1")])),
            Record::Removed("/d/b".into(), 5),
            Record::Entry("/d/b".into(), entry(4, "cc", &[])),
            Record::Entry("/d/c".into(), entry(6, "cc", &[])),
            Record::Removed("/d/c".into(), 5),
            Record::Failure(
                p(),
                2,
                Some(Failure {
                    variant: "v".into(),
                    producer: "p".into(),
                    error: "e".into(),
                    at: "t".into(),
                }),
            ),
            Record::Failure(p(), 3, None),
            Record::Variant(
                "v".into(),
                1,
                VariantInfo {
                    producer: "p1".into(),
                    ext: String::new(),
                },
            ),
            Record::Variant(
                "v".into(),
                2,
                VariantInfo {
                    producer: "p2".into(),
                    ext: String::new(),
                },
            ),
        ]
    }

    fn fold(rs: impl IntoIterator<Item = Record>) -> Fold {
        let mut f = Fold::default();
        for r in rs {
            f.apply(r);
        }
        f
    }

    #[test]
    fn latest_observation_wins_and_same_content_merges_variants() {
        let f = fold(records());
        let a = f.entries["/d/a"].visible().unwrap();
        assert_eq!((a.at, a.hash.as_str()), (3, "aa"));
        assert_eq!(a.variants.len(), 2, "{:?}", a.variants);
        assert!(
            f.entries["/d/b"].visible().is_none(),
            "removed after it was seen"
        );
        assert_eq!(
            f.entries["/d/c"].visible().unwrap().at,
            6,
            "seen again after removal"
        );
        assert_eq!(f.failures["/d/a"], (3, None));
        assert_eq!(f.variants["v"].1.producer, "p2");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any order, any repetition: the same entry (content, time, fingerprint), the
        /// same failures and producers. Variants are a union of what records of the
        /// same content named (all valid artifacts of that content), order aside.
        #[test]
        fn fold_is_order_independent_and_idempotent(
            order in proptest::sample::subsequence((0..11usize).collect::<Vec<_>>(), 11).prop_shuffle(),
            dup in proptest::collection::vec(0..11usize, 0..6),
        ) {
            use proptest::prelude::*;
            let rs = records();
            let expected = fold(rs.clone());
            let mut shuffled: Vec<Record> = order.iter().map(|&i| rs[i].clone()).collect();
            shuffled.extend(dup.iter().map(|&i| rs[i].clone()));
            let got = fold(shuffled);
            let vis = |f: &Fold| f.entries.iter()
                .map(|(k, s)| (k.clone(), s.visible().map(|e| (e.at, e.hash.clone(), e.fp))))
                .collect::<Vec<_>>();
            prop_assert_eq!(vis(&got), vis(&expected));
            for (path, slot) in &got.entries {
                if let Some(e) = slot.visible() {
                    for (v, rel) in e.variants.iter() {
                        let named = rs.iter().any(|r| matches!(r, Record::Entry(p, o)
                            if p == path && o.hash == e.hash && o.variants.get(v) == Some(rel)));
                        prop_assert!(named, "{} {} {}", path, v, rel);
                    }
                }
            }
            prop_assert_eq!(&got.failures, &expected.failures);
            prop_assert_eq!(&got.variants, &expected.variants);
        }
    }
}
