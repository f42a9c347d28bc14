//! Finding a node by its full name without a second copy of every name.
//!
//! A map from name to id would hold each name twice, once in the node and once as
//! the key: at 50,000 nodes that is two megabytes kept while a setup is built. The
//! index keeps only ids, placed by the hash of their node's name, and compares
//! names in the graph itself. A node's name is therefore its key: the graph never
//! renames a node once added.

use super::NodeId;
use std::hash::{BuildHasher, RandomState};

/// Node ids by the name of their node (the last node added under a name wins).
#[derive(Debug, Clone, Default)]
pub(super) struct NameIndex {
    table: hashbrown::HashTable<NodeId>,
    /// Randomly seeded: names come from untrusted scripts.
    hasher: RandomState,
}

impl NameIndex {
    /// Make `name` find `id`, in place of a node added earlier under that name;
    /// `name_of` gives the name of any node already in the index.
    pub(super) fn insert<'g>(
        &mut self,
        name: &str,
        id: NodeId,
        name_of: impl Fn(NodeId) -> &'g str,
    ) {
        let hash = self.hasher.hash_one(name);
        match self.table.find_mut(hash, |&other| name_of(other) == name) {
            Some(slot) => *slot = id,
            None => {
                let hasher = &self.hasher;
                self.table
                    .insert_unique(hash, id, |&other| hasher.hash_one(name_of(other)));
            }
        }
    }

    /// The node named `name`.
    pub(super) fn get<'g>(
        &self,
        name: &str,
        name_of: impl Fn(NodeId) -> &'g str,
    ) -> Option<NodeId> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&id| name_of(id) == name).copied()
    }

    /// Give back the room the index grew into.
    pub(super) fn shrink_to_fit<'g>(&mut self, name_of: impl Fn(NodeId) -> &'g str) {
        let hasher = &self.hasher;
        self.table.shrink_to_fit(|&id| hasher.hash_one(name_of(id)));
    }
}
