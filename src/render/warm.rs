//! What a long-lived process keeps between the records and checks of one output, so
//! that a check after an edit costs what the edit changed.
//!
//! A host panel (the Python package's `RenderCache`, the Blender add-on) checks again
//! after every edit. Two things of the previous run are worth keeping: the per-frame
//! digests of the records that vary ([`Digests`], reused for the nodes the edit left
//! alone, see [`crate::manifest::reuse`]), and the setups decoded from the cache's
//! stored objects to explain outdated frames (the master's setup is the same object
//! check after check). Nothing here changes a result: a warm check hashes and explains
//! exactly as a cold one does.
//!
//! The CLI runs once per process and keeps nothing.

use crate::hash::Hex128;
use crate::manifest::{Digests, PreparedParts, Setup};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Decoded setups by object name, with what preparing them computed (when they were
/// prepared).
pub(super) type KeptSetups = HashMap<Hex128, (Arc<Setup>, Option<PreparedParts>)>;

/// Setups kept decoded at most (the master's, usually one, and the latest check's).
const SETUPS: usize = 4;

/// State kept between runs over one cache directory (see the module docs). Shareable
/// between threads; a run takes what it needs and puts back what it made.
#[derive(Debug, Default)]
pub struct Warm {
    digests: Mutex<Option<Digests>>,
    /// Decoded setups by object name, with what preparing them computed.
    setups: Mutex<KeptSetups>,
}

impl Warm {
    /// Nothing kept yet.
    pub fn new() -> Self {
        Warm::default()
    }

    /// The digests kept by the last run, taken out (a run puts its own back).
    pub(super) fn take_digests(&self) -> Option<Digests> {
        self.digests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Keep the digests of this run for the next.
    pub(super) fn put_digests(&self, d: Option<Digests>) {
        let old = std::mem::replace(
            &mut *self.digests.lock().unwrap_or_else(PoisonError::into_inner),
            d,
        );
        drop_aside(old);
    }

    /// The decoded setups kept, by object name, with their prepared parts (taken out:
    /// a run puts them back).
    pub(super) fn take_setups(&self) -> KeptSetups {
        std::mem::take(&mut *self.setups.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Keep decoded setups (and their prepared parts) for the next run, at most
    /// [`SETUPS`] of them, those with parts first.
    pub(super) fn put_setups(&self, decoded: KeptSetups) {
        let mut all: Vec<_> = decoded.into_iter().collect();
        all.sort_by_key(|(_, (_, parts))| parts.is_none());
        let dropped = all.split_off(all.len().min(SETUPS));
        *self.setups.lock().unwrap_or_else(PoisonError::into_inner) = all.into_iter().collect();
        drop_aside(dropped);
    }
}

/// Drop what a run no longer keeps on a thread of its own: freeing a 50,000-node setup
/// or a run's digests takes tens of milliseconds the caller need not wait for.
pub(super) fn drop_aside<T: Send + 'static>(old: T) {
    if std::thread::Builder::new()
        .name("smartcache-drop".into())
        .spawn(move || drop(old))
        .is_err()
    {
        // No thread to be had: the value was dropped with the closure.
    }
}
