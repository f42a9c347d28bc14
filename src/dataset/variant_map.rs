//! The variant → artifact map of one index entry.
//!
//! An entry almost always has one or two variants. A `BTreeMap` allocates a whole node
//! (room for eleven pairs, about 540 bytes) for the first one, which for an index of
//! 100,000 entries is 54 MB of memory touched by every load. A sorted vector of pairs
//! costs one small allocation and keeps the map's behaviour: unique keys, key order, and
//! the same JSON (an object, later duplicate keys winning).

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Variant key → artifact path (relative to the cache directory), ordered by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantMap {
    pairs: Vec<(String, String)>,
}

impl VariantMap {
    /// An empty map.
    pub fn new() -> VariantMap {
        VariantMap::default()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.pairs.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The artifact path recorded for `variant`.
    pub fn get(&self, variant: &str) -> Option<&String> {
        self.position(variant).ok().map(|i| &self.pairs[i].1)
    }

    /// Record `rel` for `variant`, returning the path it replaces.
    pub fn insert(&mut self, variant: String, rel: String) -> Option<String> {
        match self.position(&variant) {
            Ok(i) => Some(std::mem::replace(&mut self.pairs[i].1, rel)),
            Err(i) => {
                self.pairs.insert(i, (variant, rel));
                None
            }
        }
    }

    /// How many variants.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// (variant, artifact path) pairs in variant order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.pairs.iter().map(|(k, v)| (k, v))
    }

    /// Artifact paths in variant order.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.pairs.iter().map(|(_, v)| v)
    }
}

impl Extend<(String, String)> for VariantMap {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, String)> for VariantMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> VariantMap {
        let mut m = VariantMap::new();
        m.extend(iter);
        m
    }
}

impl<'a> IntoIterator for &'a VariantMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for VariantMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.pairs.len()))?;
        for (k, v) in &self.pairs {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for VariantMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<VariantMap, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VariantMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of variant to artifact path")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<VariantMap, A::Error> {
                let mut m = VariantMap::new();
                while let Some((k, v)) = a.next_entry::<String, String>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut m = VariantMap::new();
        assert!(m.is_empty());
        assert_eq!(m.insert("small".into(), "s1".into()), None);
        assert_eq!(m.insert("big".into(), "b".into()), None);
        assert_eq!(m.insert("small".into(), "s2".into()), Some("s1".into()));
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("small").map(String::as_str), Some("s2"));
        assert_eq!(m.get("medium"), None);
        let pairs: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("big", "b"), ("small", "s2")]);
        m.extend([("a".to_string(), "x".to_string())]);
        let keys: Vec<&String> = (&m).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "big", "small"]);
    }

    #[test]
    fn json_is_an_object_with_sorted_keys_and_last_duplicate_wins() {
        let m: VariantMap = serde_json::from_str(r#"{"z":"1","a":"2","z":"3"}"#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"2","z":"3"}"#);
        assert!(serde_json::from_str::<VariantMap>(r#"["a"]"#).is_err());
        assert!(serde_json::from_str::<VariantMap>(r#"{"a":1}"#).is_err());
    }
}
