//! Walking a graph upstream the way Nuke evaluates it, and finding cycles.
//!
//! Both walks keep an explicit stack: real scripts are deep and a generated
//! 100,000-node chain must not overflow the call stack.

use super::{Graph, NodeId, NodeMap};
use std::fmt;

/// A cycle in the graph, named by the nodes on it in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CycleError {
    /// The nodes of the cycle, in order.
    pub nodes: Vec<String>,
}

impl fmt::Display for CycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cycle in the node graph: ")?;
        for n in &self.nodes {
            write!(f, "{n} -> ")?;
        }
        write!(
            f,
            "{}",
            self.nodes.first().map(String::as_str).unwrap_or("?")
        )
    }
}

/// One node of an upstream closure, with its effective inputs given as positions in the
/// closure's order (so a manifest can refer to inputs without using node names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency<'a> {
    /// The node depended on.
    pub id: NodeId,
    /// Effective input slots, slot 0 first: position in the closure, or `None` for an
    /// empty slot. Groups are seen through: a group input resolves to the group's
    /// `Output` child, an `Input` child to what feeds the group's slot.
    pub inputs: &'a [Option<usize>],
    /// Other dependencies (expression image links), as positions.
    pub links: &'a [usize],
}

/// The upstream closure of a node ([`Graph::upstream`]): its [`Dependency`]s, every one
/// after those it reads.
///
/// The inputs and links of all dependencies are kept in two lists, each dependency
/// knowing where its own end: a closure of 50,000 nodes is built while the whole
/// script is in memory, and a pair of small lists per node would cost more than the
/// closure's order itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closure {
    /// Each dependency's node and the ends of its inputs and links in the lists below.
    deps: Vec<(NodeId, usize, usize)>,
    inputs: Vec<Option<usize>>,
    links: Vec<usize>,
}

impl Closure {
    /// The number of dependencies.
    pub fn len(&self) -> usize {
        self.deps.len()
    }

    /// `true` when the closure holds no node.
    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// The dependency at position `i`.
    pub fn get(&self, i: usize) -> Dependency<'_> {
        let (id, inputs_end, links_end) = self.deps[i];
        let (inputs_start, links_start) = match i.checked_sub(1) {
            Some(p) => (self.deps[p].1, self.deps[p].2),
            None => (0, 0),
        };
        Dependency {
            id,
            inputs: &self.inputs[inputs_start..inputs_end],
            links: &self.links[links_start..links_end],
        }
    }

    /// The dependencies in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Dependency<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Append a dependency.
    fn push(
        &mut self,
        id: NodeId,
        inputs: impl IntoIterator<Item = Option<usize>>,
        links: impl IntoIterator<Item = usize>,
    ) {
        self.inputs.extend(inputs);
        self.links.extend(links);
        self.deps.push((id, self.inputs.len(), self.links.len()));
    }
}

impl Graph {
    /// What actually produces the image a consumer sees when it is wired to `id`:
    /// a group's `Output` child (followed down through nested groups), an `Input`
    /// child's feeding node (followed up through enclosing groups), or `id` itself.
    ///
    /// Returns `None` when the chain ends at an empty slot (an `Input` whose group slot
    /// is empty). Iterative; a chain that loops forever ends in `None` after visiting
    /// every node once.
    pub fn effective_source(&self, id: NodeId) -> Option<NodeId> {
        self.effective_source_with(id, &|_| false)
    }

    /// [`Graph::effective_source`], where a group for which `opaque` is true is a
    /// source of its own (a group that may be disabled: its image is then its input 0,
    /// so it must stay in the closure as a node choosing between that and its Output).
    pub fn effective_source_with(
        &self,
        id: NodeId,
        opaque: &dyn Fn(NodeId) -> bool,
    ) -> Option<NodeId> {
        let mut cur = id;
        for _ in 0..=self.len() {
            let node = self.node(cur);
            if node.is_group() && !opaque(cur) {
                match self.group_output(cur) {
                    Some(out) => cur = out,
                    None => return Some(cur),
                }
            } else if node.class == "Input" {
                let Some(group) = node.parent else {
                    return Some(cur);
                };
                match self
                    .inputs(group)
                    .get(node.input_number())
                    .copied()
                    .flatten()
                {
                    Some(src) => cur = src,
                    None => return None,
                }
            } else {
                return Some(cur);
            }
        }
        None
    }

    /// The node at the top of `id`'s input-0 chain (Tcl's `[topnode]`): input 0 followed
    /// (through groups) until a node has none. `None` for a chain that loops.
    pub fn topnode(&self, id: NodeId) -> Option<NodeId> {
        let mut cur = id;
        for _ in 0..=self.len() {
            match self
                .inputs(cur)
                .first()
                .copied()
                .flatten()
                .and_then(|s| self.effective_source(s))
            {
                Some(next) => cur = next,
                None => return Some(cur),
            }
        }
        None
    }

    /// The direct input dependencies of `id` as Nuke evaluates it: its input slots,
    /// seen through groups with [`Graph::effective_source_with`]. A group reached as a
    /// source of its own (`opaque`) reads its input 0 (what it passes through when
    /// disabled) and its Output.
    fn direct_deps(&self, id: NodeId, opaque: &dyn Fn(NodeId) -> bool) -> Vec<Option<NodeId>> {
        let node = self.node(id);
        let source = |s: Option<NodeId>| s.and_then(|s| self.effective_source_with(s, opaque));
        if let (true, Some(group)) = (node.class == "Input", node.parent) {
            // An Input's image is the group's slot; it has no inputs of its own.
            vec![source(
                self.inputs(group)
                    .get(node.input_number())
                    .copied()
                    .flatten(),
            )]
        } else if node.is_group() {
            if !opaque(id) {
                // Consumers of a group see its Output child (see `effective_source`):
                // a group reached otherwise contributes its knobs, not an image.
                return Vec::new();
            }
            let first = self.inputs(id).first().copied().flatten();
            vec![source(first), source(self.group_output(id))]
        } else {
            self.inputs(id).into_iter().map(source).collect()
        }
    }

    /// The upstream closure of `start`: every node it depends on, `start` last, in a
    /// canonical order (depth-first, inputs in slot order, then links in the order
    /// `extra` gives them), which depends only on the graph's shape, never on names,
    /// positions or hash-map order.
    ///
    /// `extra(id)` returns further dependencies of a node (expression links). A cycle
    /// through input edges is an error naming it; a link to a node already being visited
    /// is satisfied by that node and dropped.
    pub fn upstream<F>(&self, start: NodeId, extra: F) -> Result<Closure, CycleError>
    where
        F: FnMut(NodeId) -> Vec<NodeId>,
    {
        self.upstream_with(start, extra, &|_| false)
    }

    /// [`Graph::upstream`] with groups for which `opaque` is true kept as nodes of their
    /// own (see [`Graph::effective_source_with`]).
    pub fn upstream_with<F>(
        &self,
        start: NodeId,
        mut extra: F,
        opaque: &dyn Fn(NodeId) -> bool,
    ) -> Result<Closure, CycleError>
    where
        F: FnMut(NodeId) -> Vec<NodeId>,
    {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            OnStack,
            Done(usize),
        }
        struct Frame {
            id: NodeId,
            inputs: Vec<Option<NodeId>>,
            links: Vec<NodeId>,
            next: usize,
        }
        let mut mark: NodeMap<Mark> = NodeMap::new(self);
        let mut order = Closure::default();
        let mut stack: Vec<Frame> = Vec::new();
        let push = |id: NodeId, stack: &mut Vec<Frame>, mark: &mut NodeMap<Mark>, extra: &mut F| {
            let inputs = self.direct_deps(id, opaque);
            let mut links: Vec<NodeId> = Vec::new();
            for l in extra(id) {
                if !links.contains(&l) && l != id {
                    links.push(l);
                }
            }
            mark.insert(id, Mark::OnStack);
            stack.push(Frame {
                id,
                inputs,
                links,
                next: 0,
            });
        };
        push(start, &mut stack, &mut mark, &mut extra);
        while let Some(top) = stack.last_mut() {
            let total = top.inputs.len() + top.links.len();
            if top.next < total {
                let k = top.next;
                top.next += 1;
                let is_link = k >= top.inputs.len();
                let child = if is_link {
                    Some(top.links[k - top.inputs.len()])
                } else {
                    top.inputs[k]
                };
                let Some(child) = child else { continue };
                match mark.get(child) {
                    Some(Mark::Done(_)) => {}
                    // A link back to a node being visited (an expression reading the info
                    // of a node downstream of it) is already satisfied: that node is in
                    // the closure. Only input edges can make a real cycle.
                    Some(Mark::OnStack) if is_link => {}
                    Some(Mark::OnStack) => {
                        let from = stack.iter().position(|f| f.id == child).unwrap_or(0);
                        return Err(CycleError {
                            nodes: stack[from..]
                                .iter()
                                .map(|f| self.node(f.id).name.to_string())
                                .collect(),
                        });
                    }
                    None => push(child, &mut stack, &mut mark, &mut extra),
                }
                continue;
            }
            let frame = stack.pop().expect("non-empty");
            let pos = |n: NodeId| match mark.get(n) {
                Some(Mark::Done(p)) => Some(*p),
                _ => None,
            };
            order.push(
                frame.id,
                frame.inputs.iter().map(|s| s.and_then(pos)),
                frame.links.iter().filter_map(|&l| pos(l)),
            );
            mark.insert(frame.id, Mark::Done(order.len() - 1));
        }
        // Kept while the setup is made from it, next to the whole script.
        order.deps.shrink_to_fit();
        order.inputs.shrink_to_fit();
        order.links.shrink_to_fit();
        Ok(order)
    }

    /// Check that the raw input edges form no cycle (a `.nk` stack machine cannot make
    /// one, but hand-edited JSON graphs can). Iterative three-colour depth-first search.
    pub fn check_acyclic(&self) -> Result<(), CycleError> {
        let mut state: NodeMap<bool> = NodeMap::new(self); // false = on stack, true = done
        for root in self.ids() {
            if state.contains(root) {
                continue;
            }
            let mut stack: Vec<(NodeId, Vec<NodeId>, usize)> = Vec::new();
            let ins = |id| self.inputs(id).into_iter().flatten().collect::<Vec<_>>();
            state.insert(root, false);
            stack.push((root, ins(root), 0));
            while let Some((id, children, next)) = stack.last_mut() {
                if *next < children.len() {
                    let c = children[*next];
                    *next += 1;
                    match state.get(c) {
                        Some(true) => {}
                        Some(false) => {
                            let from = stack.iter().position(|f| f.0 == c).unwrap_or(0);
                            return Err(CycleError {
                                nodes: stack[from..]
                                    .iter()
                                    .map(|f| self.node(f.0).name.to_string())
                                    .collect(),
                            });
                        }
                        None => {
                            state.insert(c, false);
                            stack.push((c, ins(c), 0));
                        }
                    }
                } else {
                    state.insert(*id, true);
                    stack.pop();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Knob, Node};
    use super::*;

    fn chain(n: usize) -> (Graph, NodeId) {
        let mut g = Graph::new();
        let mut prev = g.add_node(Node::new("N0", "Constant"));
        for i in 1..n {
            let id = g.add_node(Node::new(format!("N{i}"), "Blur"));
            g.connect(prev, id, 0);
            prev = id;
        }
        (g, prev)
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let (g, last) = chain(100_000);
        let up = g.upstream(last, |_| vec![]).unwrap();
        assert_eq!(up.len(), 100_000);
        assert_eq!(up.get(0).inputs, &[] as &[Option<usize>]);
        assert_eq!(up.get(1).inputs, &[Some(0)]);
        g.check_acyclic().unwrap();
    }

    #[test]
    fn walks_through_groups() {
        // C -> Group(G){ Input -> Blur -> Output } -> Grade
        let mut g = Graph::new();
        let c = g.add_node(Node::new("C", "Constant"));
        let grp = g.add_node(Node::new("G", "Group"));
        g.connect(c, grp, 0);
        let mut input = Node::new("G.Input1", "Input");
        input.parent = Some(grp);
        let input = g.add_node(input);
        let mut blur = Node::new("G.Blur1", "Blur");
        blur.parent = Some(grp);
        let blur = g.add_node(blur);
        g.connect(input, blur, 0);
        let mut out = Node::new("G.Output1", "Output");
        out.parent = Some(grp);
        let out = g.add_node(out);
        g.connect(blur, out, 0);
        let grade = g.add_node(Node::new("Grade1", "Grade"));
        g.connect(grp, grade, 0);
        assert_eq!(g.effective_source(grp), Some(out));
        assert_eq!(g.effective_source(input), Some(c));
        let up = g.upstream(grade, |_| vec![]).unwrap();
        let names: Vec<_> = up.iter().map(|d| g.node(d.id).name.as_str()).collect();
        assert_eq!(names, ["C", "G.Blur1", "G.Output1", "Grade1"]);
    }

    #[test]
    fn cycles_are_named() {
        let mut g = Graph::new();
        let a = g.add_node(Node::new("A", "Blur"));
        let b = g.add_node(Node::new("B", "Blur"));
        g.connect(a, b, 0);
        g.connect(b, a, 0);
        let e = g.check_acyclic().unwrap_err();
        assert_eq!(e.to_string(), "cycle in the node graph: A -> B -> A");
        assert!(g.upstream(b, |_| vec![]).is_err());
        let mut n = Node::new("X", "Blur");
        n.knobs.push(Knob::new("size", "3"));
        assert_eq!(n.knob("size"), Some("3"));
    }
}
