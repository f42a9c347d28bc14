//! The dependency graph a script is read into.
//!
//! A [`Script`] holds the Root settings apart from the graph (every node implicitly
//! depends on them) and a [`Graph`] of [`Node`]s. Edges run from an input to the node
//! that consumes it, weighted by the input slot (0 first), in a petgraph
//! `StableDiGraph` so that indices stay valid if nodes are ever removed.
//!
//! Groups are ordinary nodes whose children name them as `parent`; a group's result is
//! its `Output` child and its `Input` child with `number N` stands for its input N.
//! [`Graph::upstream`] follows those rules, iteratively, so that a 100,000-node chain
//! cannot overflow the stack.

pub mod expand;
mod load;
mod name_index;
mod node_map;
mod walk;

pub use load::{load_bytes, LoadError, LoadedScript};
pub use node_map::NodeMap;

pub use walk::{Closure, CycleError, Dependency};

use compact_str::CompactString;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Index of a node in a [`Graph`].
pub type NodeId = NodeIndex<u32>;

/// Where something was read from: 1-based line and column, and the byte range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub col: u32,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset of the end (exclusive).
    pub end: usize,
}

/// One knob as the script wrote it: its name and its exact text (braces of a braced
/// value included, so `{curve x1 1 x10 2}` and `"a b"` are kept apart from bare words).
/// `addUserKnob` declarations are kept as knobs named `addUserKnob`, in file order.
///
/// The name and the text are kept back to back in one inline string: a studio script
/// has hundreds of thousands of knobs, most as short as `size 2.5`, and two strings
/// each would make the graph half again as large.
#[derive(Clone, PartialEq, Eq)]
pub struct Knob {
    /// The name, then the text.
    line: CompactString,
    /// Where the name ends in `line`.
    name_len: usize,
}

impl Knob {
    /// A knob named `name` with text `value`.
    pub fn new(name: &str, value: &str) -> Self {
        let mut line = CompactString::with_capacity(name.len() + value.len());
        line.push_str(name);
        line.push_str(value);
        Self {
            line,
            name_len: name.len(),
        }
    }

    /// The knob's name.
    pub fn name(&self) -> &str {
        &self.line[..self.name_len]
    }

    /// The knob's exact text.
    pub fn value(&self) -> &str {
        &self.line[self.name_len..]
    }

    /// Give the knob the text `value`.
    pub fn set_value(&mut self, value: &str) {
        self.line.truncate(self.name_len);
        self.line.push_str(value);
    }
}

impl std::fmt::Debug for Knob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knob")
            .field("name", &self.name())
            .field("value", &self.value())
            .finish()
    }
}

/// A node: its class, full dotted name, knobs in file order, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Full dotted name, e.g. `Group1.Blur1`.
    pub name: CompactString,
    /// The node class (`Blur`, `Group`, a gizmo's name).
    pub class: CompactString,
    /// Knobs in file order. For a clone: the source's knobs with the clone block's own
    /// knobs layered on top (a knob the block repeats replaces the source's value).
    pub knobs: Vec<Knob>,
    /// The group this node lives in (`None` at the top level).
    pub parent: Option<NodeId>,
    /// Number of input slots the node popped (empty slots included).
    pub input_count: usize,
    /// The node this one is a clone of.
    pub clone_of: Option<NodeId>,
    /// Where the node was read from.
    pub span: Span,
    /// Opens a scope of children: a group class, or a node whose definition was read
    /// from a gizmo file or a nested script (see [`expand`]).
    pub group: bool,
    /// Where its definition came from when not from the script, boxed: most nodes
    /// have none, and a studio script has tens of thousands.
    pub definition: Option<Box<Definition>>,
}

/// Where a [`Node`]'s definition came from, for the nodes [`expand`] read from
/// elsewhere (or failed to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    /// Where the node's definition came from, when not from the script itself (a
    /// `.gizmo` on the plugin path, a Precomp's script).
    pub origin: Option<PathBuf>,
    /// The folder relative file paths of this node are taken from, when not the
    /// script's (a node of a nested script: that script's).
    pub dir: Option<PathBuf>,
    /// Why the definition this node refers to could not be loaded (a nested script
    /// that does not exist, a gizmo that includes itself): an error for any output
    /// that reads the node.
    pub unloaded: Option<String>,
}

impl Node {
    /// A node with no knobs, inputs or parent.
    pub fn new(name: impl Into<CompactString>, class: impl Into<CompactString>) -> Self {
        let class = class.into();
        Self {
            name: name.into(),
            group: is_group_class(&class),
            class,
            knobs: Vec::new(),
            parent: None,
            input_count: 0,
            clone_of: None,
            span: Span::default(),
            definition: None,
        }
    }

    /// Where the node's definition came from, when not from the script itself.
    pub fn origin(&self) -> Option<&Path> {
        self.definition.as_ref()?.origin.as_deref()
    }

    /// The folder relative file paths of this node are taken from, when not the
    /// script's.
    pub fn dir(&self) -> Option<&Path> {
        self.definition.as_ref()?.dir.as_deref()
    }

    /// Why the definition this node refers to could not be loaded.
    pub fn unloaded(&self) -> Option<&str> {
        self.definition.as_ref()?.unloaded.as_deref()
    }

    /// The node's [`Definition`], made empty when it has none.
    pub fn definition_mut(&mut self) -> &mut Definition {
        self.definition.get_or_insert_with(Box::default)
    }

    /// The value of knob `name` (the last one if it is repeated).
    pub fn knob(&self, name: &str) -> Option<&str> {
        self.knobs
            .iter()
            .rev()
            .find(|k| k.name() == name)
            .map(|k| k.value())
    }

    /// The name relative to the node's group (the last dotted component).
    pub fn short_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// `true` for a node that opens a scope of children.
    pub fn is_group(&self) -> bool {
        self.group
    }

    /// For an `Input` node: the group input it stands for (`number`, default 0).
    pub fn input_number(&self) -> usize {
        self.knob("number")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// Classes whose node opens a scope of children that ends at `end_group`.
pub fn is_group_class(class: &str) -> bool {
    matches!(class, "Group" | "Gizmo" | "LiveGroup" | "VariableGroup")
}

/// A script: Root settings, the node graph, and where it was read from.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The file the script was read from, when known.
    pub path: Option<PathBuf>,
    /// The host the script comes from (`nuke` when `None`), which selects its
    /// node-class profile.
    pub host: Option<String>,
    /// `version` line text, when present.
    pub version: Option<String>,
    /// The Root node's knobs (format, fps, first_frame, colour management…).
    pub root: Vec<Knob>,
    /// The nodes and their input edges.
    pub graph: Graph,
    /// What the reader accepted but a user should hear about (`file:line:col: …`), such
    /// as a knob line with a name and no value (kept as a knob with an empty value, as
    /// Nuke loads it).
    pub warnings: Vec<String>,
}

impl Script {
    /// The host the script comes from: its JSON graph's `host`, else `nuke`.
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("nuke")
    }

    /// The value of Root knob `name`.
    pub fn root_knob(&self, name: &str) -> Option<&str> {
        self.root
            .iter()
            .rev()
            .find(|k| k.name() == name)
            .map(|k| k.value())
    }

    /// The script's frame range from Root's `first_frame`/`last_frame` (Nuke's
    /// defaults 1-100 when absent).
    pub fn frame_range(&self) -> (i64, i64) {
        let get = |k: &str, d: i64| {
            self.root_knob(k)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|v| v as i64)
                .unwrap_or(d)
        };
        (get("first_frame", 1), get("last_frame", 100))
    }

    /// xxh3-128 of everything the script was read into: the Root settings and every
    /// node (its name, class, knobs, group, input wiring, and where its definition came
    /// from), gizmos and nested scripts expanded. Two scripts with the same digest build
    /// the same setup for the same output, rules, profile and environment, so a check
    /// of an unchanged script can find what it built last time (see
    /// [`crate::store::SetupMemo`]). Where nodes were read from in the file is left out:
    /// it never changes what a frame depends on.
    pub fn digest(&self) -> crate::hash::Hex128 {
        let mut h = crate::hash::Hasher::new();
        let text = |h: &mut crate::hash::Hasher, t: &str| {
            h.update(&(t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        };
        let opt = |h: &mut crate::hash::Hasher, t: Option<&str>| match t {
            Some(t) => {
                h.update(&[1]);
                text(h, t);
            }
            None => h.update(&[0]),
        };
        let id = |h: &mut crate::hash::Hasher, n: Option<NodeId>| {
            h.update(&n.map_or(u64::MAX, |n| n.index() as u64).to_le_bytes());
        };
        let knobs = |h: &mut crate::hash::Hasher, knobs: &[Knob]| {
            h.update(&(knobs.len() as u64).to_le_bytes());
            for k in knobs {
                text(h, k.name());
                text(h, k.value());
            }
        };
        // Every field, named, so that a field added to either struct is a decision here.
        let Script {
            path,
            host,
            version,
            root,
            graph,
            warnings: _,
        } = self;
        text(&mut h, "smartcache-script-digest/1");
        opt(
            &mut h,
            path.as_deref().map(|p| p.to_string_lossy()).as_deref(),
        );
        opt(&mut h, host.as_deref());
        opt(&mut h, version.as_deref());
        knobs(&mut h, root);
        h.update(&(graph.len() as u64).to_le_bytes());
        for (nid, node) in graph.nodes() {
            let Node {
                name,
                class,
                knobs: node_knobs,
                parent,
                input_count,
                clone_of,
                span: _,
                group,
                definition: _,
            } = node;
            let (origin, dir, unloaded) = (node.origin(), node.dir(), node.unloaded());
            id(&mut h, Some(nid));
            text(&mut h, name);
            text(&mut h, class);
            knobs(&mut h, node_knobs);
            id(&mut h, *parent);
            h.update(&(*input_count as u64).to_le_bytes());
            id(&mut h, *clone_of);
            h.update(&[*group as u8]);
            opt(&mut h, origin.map(|p| p.to_string_lossy()).as_deref());
            opt(&mut h, dir.map(|p| p.to_string_lossy()).as_deref());
            opt(&mut h, unloaded);
            let inputs = graph.inputs(nid);
            h.update(&(inputs.len() as u64).to_le_bytes());
            for i in inputs {
                id(&mut h, i);
            }
        }
        h.finish()
    }
}

/// The node graph: nodes in creation (file) order, input edges weighted by slot.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    g: StableDiGraph<Node, usize>,
    by_name: name_index::NameIndex,
    /// Children of each group in creation order; `None` is the top level.
    kids: HashMap<Option<NodeId>, Vec<NodeId>>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// One more than the largest node index ever used: ids index vectors of this
    /// length (see [`NodeMap`]).
    pub fn node_bound(&self) -> usize {
        use petgraph::visit::NodeIndexable;
        self.g.node_bound()
    }

    /// Give back the room the graph grew into while it was read: a large script's
    /// graph is kept while its setups are built.
    pub fn shrink_to_fit(&mut self) {
        self.g.shrink_to_fit();
        let g = &self.g;
        self.by_name.shrink_to_fit(|id| g[id].name.as_str());
        self.kids.shrink_to_fit();
    }

    /// Add a node. If a node of that full name exists already, the new node takes the
    /// name for lookups (as Nuke's last-definition-wins on load).
    pub fn add_node(&mut self, node: Node) -> NodeId {
        let parent = node.parent;
        let id = self.g.add_node(node);
        let g = &self.g;
        self.by_name
            .insert(&g[id].name, id, |id| g[id].name.as_str());
        self.kids.entry(parent).or_default().push(id);
        id
    }

    /// Connect `input` into `consumer`'s slot `slot`.
    pub fn connect(&mut self, input: NodeId, consumer: NodeId, slot: usize) {
        self.g.add_edge(input, consumer, slot);
        let n = &mut self.g[consumer];
        n.input_count = n.input_count.max(slot + 1);
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[id]
    }

    /// The node `id`, to change.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.g[id]
    }

    /// Look a node up by full dotted name.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name, |id| self.g[id].name.as_str())
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.g.node_count()
    }

    /// Whether there is no node.
    pub fn is_empty(&self) -> bool {
        self.g.node_count() == 0
    }

    /// Node ids in creation order (file order for a parsed script).
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.g.node_indices()
    }

    /// Nodes in creation order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> + '_ {
        self.g.node_indices().map(move |i| (i, &self.g[i]))
    }

    /// The node's input slots, slot 0 first; `None` for an empty slot.
    pub fn inputs(&self, id: NodeId) -> Vec<Option<NodeId>> {
        let mut slots = vec![None; self.g[id].input_count];
        for e in self.g.edges_directed(id, Direction::Incoming) {
            let slot = *e.weight();
            if slot >= slots.len() {
                slots.resize(slot + 1, None);
            }
            slots[slot] = Some(e.source());
        }
        slots
    }

    /// Nodes that take `id` as an input.
    pub fn consumers(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.g.neighbors_directed(id, Direction::Outgoing)
    }

    /// Direct children of group `group` (or the top level for `None`), in file order.
    pub fn children(&self, group: Option<NodeId>) -> impl Iterator<Item = NodeId> + '_ {
        self.kids.get(&group).into_iter().flatten().copied()
    }

    /// A group's `Output` child: what the group produces.
    pub fn group_output(&self, group: NodeId) -> Option<NodeId> {
        self.children(Some(group))
            .filter(|&c| self.g[c].class == "Output")
            .last()
    }

    /// Look a name up the way an expression inside `scope` sees it: relative to the
    /// scope's group first, then up through enclosing groups, then absolute.
    pub fn resolve_relative(&self, scope: Option<NodeId>, name: &str) -> Option<NodeId> {
        let mut group = scope;
        loop {
            let full = match group {
                Some(g) => format!("{}.{}", self.g[g].name, name),
                None => name.to_string(),
            };
            if let Some(id) = self.find(&full) {
                return Some(id);
            }
            match group {
                Some(g) => group = self.g[g].parent,
                None => return None,
            }
        }
    }

    /// The underlying petgraph graph, for algorithms this type does not wrap.
    pub fn petgraph(&self) -> &StableDiGraph<Node, usize> {
        &self.g
    }
}

#[cfg(test)]
mod tests {
    use super::Knob;

    /// The name and the text kept in one string stay apart, whatever their lengths
    /// (inline or not), and a new text replaces only the text.
    #[test]
    fn a_knob_keeps_its_name_and_text_apart() {
        let long = "{{curve x1 0 x10 1 x20 2 x30 3 x40 4 x50 5}}";
        for (name, value) in [("size", "3"), ("label", ""), ("", "x"), ("white", long)] {
            let mut k = Knob::new(name, value);
            assert_eq!((k.name(), k.value()), (name, value));
            k.set_value(long);
            assert_eq!((k.name(), k.value()), (name, long));
            k.set_value("é");
            assert_eq!((k.name(), k.value()), (name, "é"));
        }
        assert_ne!(Knob::new("ab", "c"), Knob::new("a", "bc"));
    }
}
