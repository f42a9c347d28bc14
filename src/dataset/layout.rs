//! Where things live in a cache directory, and how artifacts are named.
//!
//! ```text
//! <cache>/index/base-<generation>.scb   the compacted index (see super::base)
//! <cache>/index/seg-<writer>-<n>.scs     changes since, one file per checkpoint (super::segment)
//! <cache>/.build.lock                    shared by running builds, exclusive for gc
//! <cache>/objects/<h[..2]>/<h>-<k>[.ext]  artifacts
//! <cache>/objects/<h[..2]>/<h>-<k>[.ext].claim   a builder is making it (super::claims)
//! <cache>/index.json[.tmp|.bak]          index of versions 1 and 2, migrated in place
//! ```
//!
//! # Artifact names (a stable contract)
//!
//! `objects/<h[..2]>/<h>-<k>[.<ext>]`, where `h` is the xxh3-128 of the source's content
//! (of the item's, for items with sidecars: see [`super::sidecars`]) as 32 lowercase hex
//! characters, and `k` is the first 16 hex characters of the xxh3-128 of the UTF-8 bytes
//! `variant NUL producer NUL ext`. Readers in other languages may derive a name from a
//! content hash without the index; `export` writes the map for those that would rather
//! not. The name changes only with a new major version of the cache format.

/// Artifacts, under the cache directory.
pub const OBJECTS_DIR: &str = "objects";
/// The index (base generations and segments), under the cache directory.
pub const INDEX_DIR: &str = "index";
/// Shared by running builds, exclusive for gc.
pub const BUILD_LOCK_FILE: &str = ".build.lock";

/// The artifact path (relative to the cache directory) for content `hash` under
/// `variant`, `producer` and extension `ext` (without the dot; may be empty). Identical
/// contents get the same path, so they share one artifact; another variant or producer
/// gets another path, so variants coexist and producers never mix.
pub fn artifact_name(hash: &str, variant: &str, producer: &str, ext: &str) -> String {
    artifact_name_keyed(hash, &variant_key(variant, producer, ext), ext)
}

/// The part of an artifact name that depends on (variant, producer, extension) only.
pub(crate) fn variant_key(variant: &str, producer: &str, ext: &str) -> String {
    let key = crate::hash::hex128(format!("{variant}\0{producer}\0{ext}").as_bytes());
    key[..16].to_string()
}

/// [`artifact_name`] with the variant key computed once for many sources.
pub(crate) fn artifact_name_keyed(hash: &str, key: &str, ext: &str) -> String {
    let prefix = hash.get(..2).unwrap_or("00");
    let dot = if ext.is_empty() { "" } else { "." };
    format!("{OBJECTS_DIR}/{prefix}/{hash}-{key}{dot}{ext}")
}

/// `rel == artifact_name_keyed(hash, key, ext)`, without building the name.
pub(crate) fn is_derived(rel: &str, hash: &str, key: &str, ext: &str) -> bool {
    let rest = named_after(rel, hash).and_then(|r| r.strip_prefix(key));
    match rest {
        Some("") => ext.is_empty(),
        Some(r) => !ext.is_empty() && r.strip_prefix('.') == Some(ext),
        None => false,
    }
}

/// What follows `objects/<hash[..2]>/<hash>-` in `rel`, if it starts so.
pub(crate) fn named_after<'a>(rel: &'a str, hash: &str) -> Option<&'a str> {
    rel.strip_prefix(OBJECTS_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(hash.get(..2).unwrap_or("00")))
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(hash))
        .and_then(|r| r.strip_prefix('-'))
}

/// `objects/<fan-out>/<name>` → (`<fan-out>`, `<fan-out>/<name>`).
pub(crate) fn split_object(rel: &str) -> Option<(&str, &str)> {
    let r = rel.strip_prefix(OBJECTS_DIR)?.strip_prefix('/')?;
    let (fanout, name) = r.split_once('/')?;
    (!name.is_empty() && !name.contains('/')).then_some((fanout, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_contract() {
        let h = "0123456789abcdef0123456789abcdef";
        let k = &crate::hash::hex128(b"512\0resize@1\0png")[..16];
        assert_eq!(
            artifact_name(h, "512", "resize@1", "png"),
            format!("objects/01/{h}-{k}.png")
        );
        let k2 = &crate::hash::hex128(b"512\0resize@1\0")[..16];
        assert_eq!(
            artifact_name(h, "512", "resize@1", ""),
            format!("objects/01/{h}-{k2}")
        );
        assert!(is_derived(
            &artifact_name(h, "v", "p", "png"),
            h,
            &variant_key("v", "p", "png"),
            "png"
        ));
        assert!(!is_derived(
            &artifact_name(h, "v", "p", "png"),
            h,
            &variant_key("v", "p", ""),
            ""
        ));
        assert_eq!(split_object("objects/ab/abc"), Some(("ab", "ab/abc")));
        assert_eq!(split_object("objects/ab/c/d"), None);
    }
}
