//! Which artifact serves a source for a variant: its own, or one of identical content.

use super::layout::{artifact_name_keyed, is_derived};
use super::view::EntryRef;
use std::borrow::Cow;

/// The artifact serving `entry` for `variant` from `producer` (artifacts of extension
/// `ext`, variant key `key`), if any, and whether it is another source's (reused).
///
/// The entry's own artifact serves when it is certified, that is named after (content
/// hash, variant, producer), which certifies itself, or else described so by its record
/// (`certify`, for paths of migrated indexes), and present (`exists(rel, vouched)`, told
/// whether the entry's base vouches for it). Otherwise the artifact derived from the
/// content serves if present: identical contents share one.
pub(crate) fn serving<'a>(
    entry: EntryRef<'a>,
    variant: &str,
    ext: &str,
    key: &str,
    certify: &dyn Fn(&str) -> bool,
    exists: &dyn Fn(&str, bool) -> bool,
) -> Option<(Cow<'a, str>, bool)> {
    if let Some(rel) = entry.variants.get(variant) {
        let certified = is_derived(rel, entry.hash, key, ext) || certify(rel);
        if certified && exists(rel, entry.vouched) {
            return Some((rel.into(), false));
        }
    }
    let derived = artifact_name_keyed(entry.hash, key, ext);
    if exists(&derived, false) {
        return Some((derived.into(), true));
    }
    None
}
