//! A map from the nodes of one graph to values, stored densely by node index.
//!
//! Walks over a large script (tens of thousands of nodes) mark every node they reach;
//! a hash map costs a hash and a probe per mark, where a graph's node indices are small
//! integers below [`Graph::node_bound`]: a vector indexed by them does the same in a
//! load. A map made for one graph must only be used with that graph's ids.

use super::{Graph, NodeId};

/// Values by node, for the nodes of one graph.
#[derive(Debug, Clone)]
pub struct NodeMap<T> {
    slots: Vec<Option<T>>,
}

impl<T> NodeMap<T> {
    /// An empty map with room for every node of `graph`.
    pub fn new(graph: &Graph) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(graph.node_bound(), || None);
        NodeMap { slots }
    }

    /// The value of `id`, if one was inserted.
    pub fn get(&self, id: NodeId) -> Option<&T> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    /// `true` when `id` has a value.
    pub fn contains(&self, id: NodeId) -> bool {
        self.get(id).is_some()
    }

    /// Set the value of `id`, replacing any earlier one (a node added to the graph
    /// after the map was made grows it).
    pub fn insert(&mut self, id: NodeId, value: T) {
        let i = id.index();
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some(value);
    }
}
