//! What a script refers to but does not hold: gizmos on the plugin path, and the
//! scripts that Precomp and LiveGroup nodes read.
//!
//! A node whose class the host does not provide (per the node-class profile) and that
//! has no children in the script is a gizmo instance: Nuke loads its definition from
//! `<Class>.gizmo` on its plugin path. A Precomp (and a LiveGroup saved without its
//! children) reads another script. Either way the frame depends on what the other file
//! holds, node by node: so [`expand`] reads it with the .nk reader and grafts its nodes
//! into the graph under the referring node, which becomes a group. An edit of the
//! gizmo or nested script then shows up as the knob or wiring change it is, and
//! outdates exactly the frames it can change (not every frame, as a hash of the file
//! would).
//!
//! Where gizmos are looked for, in order: each `--plugin-path` directory, each entry
//! of `NUKE_PATH` (`:`-separated, as Nuke reads it), then `~/.nuke`; in each, the
//! directory itself first (as Nuke does), then its subdirectories, depth first in name
//! order (smartcache's stand-in for the `nuke.pluginAddPath` calls of an `init.py`,
//! which it does not run). The first `<Class>.gizmo` found wins.
//!
//! A gizmo's definition is its file's top-level group: its children become the
//! instance's children (`Instance.Child`), and its knobs (user-knob declarations and
//! their defaults) come before the instance's own, which win. A nested script's nodes
//! become the Precomp's children, with a synthetic `Output` reading its Write nodes
//! (its terminal nodes when it has none) and carrying its Root settings; relative
//! paths in it are taken from its own folder. Gizmos inside gizmos and nested scripts
//! inside nested scripts are expanded in turn, with a depth limit and a clear error
//! for a file that includes itself.

use super::{Graph, Knob, LoadError, Node, NodeId, Script};
use crate::profile::{FileKind, Profile};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How deep gizmos and nested scripts may include each other.
pub const MAX_DEPTH: usize = 32;

/// Where to look for what a script refers to.
#[derive(Debug, Clone, Default)]
pub struct ExpandOptions {
    /// Directories searched for `<Class>.gizmo`, in order.
    pub plugin_path: Vec<PathBuf>,
    /// The folder of the script (relative nested-script paths are taken from it).
    pub script_dir: PathBuf,
}

impl ExpandOptions {
    /// `plugin_path` given on the command line, then `NUKE_PATH`, then `~/.nuke`.
    pub fn with_env(plugin_path: Vec<PathBuf>, script_dir: PathBuf) -> Self {
        let mut dirs = plugin_path;
        if let Some(p) = std::env::var_os("NUKE_PATH") {
            dirs.extend(std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()));
        }
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(PathBuf::from(home).join(".nuke"));
        }
        ExpandOptions {
            plugin_path: dirs,
            script_dir,
        }
    }
}

/// What [`expand`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Gizmo instances defined from files: (node, class, file).
    pub gizmos: Vec<(String, String, PathBuf)>,
    /// Nested scripts read: (node, file).
    pub nested: Vec<(String, PathBuf)>,
    /// Nodes whose definition could not be loaded, and why (also in
    /// [`super::Node::unloaded`]: an error for the outputs that read them).
    pub failed: Vec<(String, String)>,
}

/// Why a script's references could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    /// A gizmo or nested script that cannot be read.
    #[error("{node}: cannot read {}: {source}", path.display())]
    Read {
        /// The node that names it.
        node: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<LoadError>,
    },
    /// A gizmo or nested script that includes itself.
    #[error("{node}: {} includes itself (through {})", path.display(), chain.join(" -> "))]
    Cycle {
        /// The node that names it.
        node: String,
        /// The file.
        path: PathBuf,
        /// The files through which it does.
        chain: Vec<String>,
    },
    #[error("{node}: gizmos and nested scripts include each other more than {MAX_DEPTH} deep")]
    /// Inclusions nested deeper than the limit.
    TooDeep {
        /// The node where the limit was reached.
        node: String,
    },
    /// A nested script that does not exist.
    #[error("{node}.{knob}: nested script {} does not exist", path.display())]
    Missing {
        /// The node that names it.
        node: String,
        /// The knob naming it.
        knob: String,
        /// The path it names.
        path: PathBuf,
    },
}

/// Whether [`expand`] may change `script` under `profile`: a node names a nested
/// script, or has a class the profile does not know (a gizmo, perhaps). When not, a
/// caller holding a shared script can use it as it is rather than expand a copy.
pub fn may_expand(script: &Script, profile: &Profile) -> bool {
    script.graph.nodes().any(|(_, node)| {
        let nested = profile
            .semantics(&node.class)
            .files
            .iter()
            .any(|f| f.kind == FileKind::Script && node.knob(&f.knob).is_some());
        nested || (!node.is_group() && !profile.is_known(&node.class))
    })
}

/// Load the gizmos and nested scripts `script` refers to into its graph (see the
/// module docs). A definition that cannot be loaded is not an error here: the node is
/// marked ([`super::Node::unloaded`]), and only an output that reads it fails.
pub fn expand(script: &mut Script, opts: &ExpandOptions, profile: &Profile) -> Expansion {
    let mut out = Expansion::default();
    // Per grafted node: the files it came through, outermost first (for cycles).
    let mut chains: HashMap<NodeId, Vec<PathBuf>> = HashMap::new();
    let mut gizmo_files: HashMap<String, Option<PathBuf>> = HashMap::new();
    let mut i = 0;
    while i < script.graph.len() {
        let id = NodeId::new(i);
        i += 1;
        let has_children = script.graph.children(Some(id)).next().is_some();
        if has_children {
            continue;
        }
        let chain = chains.get(&id).cloned().unwrap_or_default();
        match expand_node(
            script,
            id,
            &chain,
            opts,
            profile,
            &mut gizmo_files,
            &mut out,
        ) {
            Ok(new_ids) => {
                for n in new_ids {
                    chains.insert(n, chain_with(&chain, &script.graph, n));
                }
            }
            Err(e) => {
                let node = script.graph.node_mut(id);
                node.definition_mut().unloaded = Some(e.to_string());
                out.failed.push((node.name.to_string(), e.to_string()));
            }
        }
    }
    out
}

/// The chain of files a grafted node came through: its parent's, and its own file.
fn chain_with(chain: &[PathBuf], graph: &Graph, n: NodeId) -> Vec<PathBuf> {
    let mut c = chain.to_vec();
    if let Some(o) = graph.node(n).origin() {
        if c.last().map(PathBuf::as_path) != Some(o) {
            c.push(o.to_path_buf());
        }
    }
    c
}

/// Expand node `id` when it refers to a gizmo or a nested script; returns the nodes
/// added under it.
fn expand_node(
    script: &mut Script,
    id: NodeId,
    chain: &[PathBuf],
    opts: &ExpandOptions,
    profile: &Profile,
    gizmo_files: &mut HashMap<String, Option<PathBuf>>,
    out: &mut Expansion,
) -> Result<Vec<NodeId>, ExpandError> {
    {
        let node = script.graph.node(id);
        let sem = profile.semantics(&node.class);
        let nested_knob = sem
            .files
            .iter()
            .find(|f| f.kind == FileKind::Script)
            .map(|f| f.knob.clone());
        let (path, sub, top) = if let Some(knob) = nested_knob {
            // A Precomp, or a LiveGroup saved without its children.
            let Some(written) = node.knob(&knob).map(literal_path).filter(|p| !p.is_empty()) else {
                return Ok(Vec::new());
            };
            if written.contains(['[', '$']) {
                // Built at run time: the file knob says so when hashed (unverifiable).
                return Ok(Vec::new());
            }
            let base = node
                .dir()
                .map_or_else(|| opts.script_dir.clone(), Path::to_path_buf);
            let path = base.join(&written);
            if !path.is_file() {
                return Err(ExpandError::Missing {
                    node: node.name.to_string(),
                    knob,
                    path,
                });
            }
            check_chain(&node.name, chain, &path)?;
            let sub = read(&node.name, &path)?;
            (path, sub, None)
        } else if !node.is_group() && !profile.is_known(&node.class) {
            let class = node.class.to_string();
            let found = gizmo_files
                .entry(class.clone())
                .or_insert_with(|| find_gizmo(&class, &opts.plugin_path))
                .clone();
            let Some(path) = found else {
                return Ok(Vec::new());
            };
            check_chain(&node.name, chain, &path)?;
            let sub = read(&node.name, &path)?;
            let top = sub
                .graph
                .children(None)
                .find(|&t| sub.graph.node(t).is_group());
            let Some(top) = top else {
                return Ok(Vec::new());
            };
            (path, sub, Some(top))
        } else {
            return Ok(Vec::new());
        };
        let name = node.name.to_string();
        let class = node.class.to_string();
        Ok(match top {
            Some(t) => {
                out.gizmos.push((name, class, path.clone()));
                graft_gizmo(&mut script.graph, id, &sub, t, &path)
            }
            None => {
                out.nested.push((name, path.clone()));
                graft_script(&mut script.graph, id, &sub, &path)
            }
        })
    }
}

/// Refuse a file already on the chain that led here, and chains too deep.
fn check_chain(node: &str, chain: &[PathBuf], path: &Path) -> Result<(), ExpandError> {
    if chain.len() >= MAX_DEPTH {
        return Err(ExpandError::TooDeep {
            node: node.to_string(),
        });
    }
    if chain.iter().any(|c| c == path) {
        let mut names: Vec<String> = chain.iter().map(|p| p.display().to_string()).collect();
        names.push(path.display().to_string());
        return Err(ExpandError::Cycle {
            node: node.to_string(),
            path: path.to_path_buf(),
            chain: names,
        });
    }
    Ok(())
}

/// A path knob's text as written, without quotes or braces.
fn literal_path(text: &str) -> String {
    let t = text.trim();
    t.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .unwrap_or(t)
        .trim()
        .to_string()
}

fn read(node: &str, path: &Path) -> Result<Script, ExpandError> {
    super::LoadedScript::read(path)
        .map(|l| l.script)
        .map_err(|e| ExpandError::Read {
            node: node.to_string(),
            path: path.to_path_buf(),
            source: Box::new(e),
        })
}

/// The first `<class>.gizmo` on the plugin path (see the module docs).
pub fn find_gizmo(class: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if class.is_empty() || class.contains(['/', '\\']) || class.starts_with('.') {
        return None;
    }
    let file = format!("{class}.gizmo");
    for d in dirs {
        let p = d.join(&file);
        if p.is_file() {
            return Some(p);
        }
    }
    for d in dirs {
        if let Some(p) = find_below(d, &file) {
            return Some(p);
        }
    }
    None
}

/// `file` in a subdirectory of `dir`, depth first in name order (iteratively, bounded).
fn find_below(dir: &Path, file: &str) -> Option<PathBuf> {
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    let mut visited = 0usize;
    while let Some((d, depth)) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            return None;
        }
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(&d)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        if depth > 0 {
            let p = d.join(file);
            if p.is_file() {
                return Some(p);
            }
        }
        if depth < 16 {
            stack.extend(subdirs.into_iter().rev().map(|s| (s, depth + 1)));
        }
    }
    None
}

/// Copy the descendants of `from` in `sub` under `at` in `graph` (names prefixed with
/// `at`'s, wiring kept), returning the new nodes.
fn graft(
    graph: &mut Graph,
    at: NodeId,
    sub: &Script,
    roots: Vec<NodeId>,
    strip: Option<&str>,
    origin: &Path,
    dir: Option<&Path>,
) -> Vec<NodeId> {
    let prefix = graph.node(at).name.clone();
    let sg = &sub.graph;
    // Every node to copy, parents before children.
    let mut order = Vec::new();
    let mut stack: Vec<NodeId> = roots.into_iter().rev().collect();
    while let Some(n) = stack.pop() {
        order.push(n);
        let kids: Vec<NodeId> = sg.children(Some(n)).collect();
        stack.extend(kids.into_iter().rev());
    }
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    let mut new_ids = Vec::with_capacity(order.len());
    for &n in &order {
        let src = sg.node(n);
        let rel = match strip {
            Some(s) => src
                .name
                .strip_prefix(s)
                .and_then(|r| r.strip_prefix('.'))
                .unwrap_or(&src.name),
            None => &src.name,
        };
        let mut node = Node::new(format!("{prefix}.{rel}"), src.class.clone());
        node.knobs = src.knobs.clone();
        node.group = src.group;
        node.span = src.span;
        node.parent = Some(src.parent.and_then(|p| map.get(&p).copied()).unwrap_or(at));
        let d = node.definition_mut();
        d.origin = Some(origin.to_path_buf());
        d.dir = dir.map(Path::to_path_buf);
        let id = graph.add_node(node);
        map.insert(n, id);
        new_ids.push(id);
    }
    for &n in &order {
        for (slot, input) in sg.inputs(n).into_iter().enumerate() {
            if let Some(i) = input.and_then(|i| map.get(&i)) {
                graph.connect(*i, map[&n], slot);
            }
        }
        if let Some(c) = sg.node(n).clone_of.and_then(|c| map.get(&c)) {
            graph.node_mut(map[&n]).clone_of = Some(*c);
        }
    }
    new_ids
}

/// Define gizmo instance `at` from the top-level group `top` of its file.
fn graft_gizmo(
    graph: &mut Graph,
    at: NodeId,
    sub: &Script,
    top: NodeId,
    origin: &Path,
) -> Vec<NodeId> {
    let def = sub.graph.node(top);
    let roots: Vec<NodeId> = sub.graph.children(Some(top)).collect();
    let strip = def.name.clone();
    // The definition's knobs (declarations, defaults) first; the instance's win.
    let mut knobs: Vec<Knob> = def.knobs.clone();
    knobs.append(&mut graph.node_mut(at).knobs);
    let dir = graph.node(at).dir().map(Path::to_path_buf);
    {
        let n = graph.node_mut(at);
        n.knobs = knobs;
        n.group = true;
        n.definition_mut().origin = Some(origin.to_path_buf());
    }
    graft(graph, at, sub, roots, Some(&strip), origin, dir.as_deref())
}

/// Make Precomp (or LiveGroup) `at` the group of the nodes of `sub`, with a synthetic
/// `Output` reading its Write nodes (its terminal nodes when it has none), carrying
/// its Root settings.
fn graft_script(graph: &mut Graph, at: NodeId, sub: &Script, origin: &Path) -> Vec<NodeId> {
    let dir = origin.parent().map(Path::to_path_buf).unwrap_or_default();
    let sg = &sub.graph;
    let top: Vec<NodeId> = sg.children(None).collect();
    let has_output = top.iter().any(|&n| sg.node(n).class == "Output");
    let outputs: Vec<String> = if has_output {
        Vec::new()
    } else {
        let writes: Vec<NodeId> = top
            .iter()
            .copied()
            .filter(|&n| sg.node(n).class == "Write")
            .collect();
        let chosen = if writes.is_empty() {
            top.iter()
                .copied()
                .filter(|&n| sg.consumers(n).next().is_none())
                .collect()
        } else {
            writes
        };
        chosen
            .into_iter()
            .map(|n| sg.node(n).name.to_string())
            .collect()
    };
    graph.node_mut(at).group = true;
    let mut ids = graft(graph, at, sub, top, None, origin, Some(&dir));
    if !has_output {
        let prefix = graph.node(at).name.clone();
        let mut out = Node::new(format!("{prefix}.Output"), "Output");
        out.parent = Some(at);
        out.definition_mut().origin = Some(origin.to_path_buf());
        out.knobs = sub
            .root
            .iter()
            .filter(|k| k.name() != "name")
            .map(|k| Knob::new(&format!("root.{}", k.name()), k.value()))
            .collect();
        let out_id = graph.add_node(out);
        for (slot, name) in outputs.iter().enumerate() {
            if let Some(src) = graph.find(&format!("{prefix}.{name}")) {
                graph.connect(src, out_id, slot);
            }
        }
        ids.push(out_id);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gizmos_are_found_in_the_directory_then_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b/deep");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("Glow.gizmo"), "Gizmo {\n}\nend_group\n").unwrap();
        std::fs::write(dir.path().join("Glow.gizmo"), "Gizmo {\n}\nend_group\n").unwrap();
        let dirs = [a.clone(), dir.path().to_path_buf()];
        assert_eq!(
            find_gizmo("Glow", &dirs),
            Some(dir.path().join("Glow.gizmo"))
        );
        std::fs::remove_file(dir.path().join("Glow.gizmo")).unwrap();
        assert_eq!(find_gizmo("Glow", &dirs), Some(b.join("Glow.gizmo")));
        assert_eq!(find_gizmo("../Glow", &dirs), None);
        assert_eq!(find_gizmo("Missing", &dirs), None);
    }
}
