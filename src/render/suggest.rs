//! "Did you mean …?": an unknown output node answered with the closest node names and
//! the script's Write nodes, so that a typo costs one more try, not a look through the
//! script. [`super::record`] and [`super::check`] refuse an unknown node with this
//! message ([`super::RenderError::UnknownNode`]), so the CLI and the Python package say
//! the same.
//!
//! Closeness is the edit distance (Levenshtein, on characters, ignoring case) to each
//! node's full dotted name and to its short name; a name counts as close when at most a
//! third of it (and at least two characters) would have to change.

use super::caches::write_nodes;
use super::RenderError;
use crate::graph::LoadedScript;

/// An error unless `node` names a node of `loaded`; the error names the script, the
/// closest names and the Write nodes.
pub fn require_node(loaded: &LoadedScript, node: &str) -> Result<(), RenderError> {
    let graph = &loaded.script.graph;
    if graph.find(node).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = graph.nodes().map(|(_, n)| n.name.as_str()).collect();
    Err(RenderError::UnknownNode {
        path: loaded.path.clone(),
        node: node.to_string(),
        close: closest(node, &names)
            .into_iter()
            .map(str::to_string)
            .collect(),
        writes: write_nodes(&loaded.script)
            .into_iter()
            .map(|w| w.name)
            .collect(),
    })
}

/// The message of [`RenderError::UnknownNode`].
pub(super) fn unknown_node_message(
    path: &std::path::Path,
    node: &str,
    close: &[String],
    writes: &[String],
) -> String {
    let mut msg = format!("{}: no node named \"{node}\" in the script", path.display());
    if !close.is_empty() {
        let quoted: Vec<String> = close.iter().map(|n| format!("\"{n}\"")).collect();
        msg.push_str(&format!("; did you mean {}?", or_list(&quoted)));
    }
    if writes.is_empty() {
        msg.push_str(" (it has no Write nodes; give a full dotted name, e.g. Group1.Blur1)");
    } else {
        msg.push_str(&format!(" (Write nodes: {})", writes.join(", ")));
    }
    msg
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Up to three names close to `wanted`, closest first (ties in the given order).
fn closest<'a>(wanted: &str, names: &[&'a str]) -> Vec<&'a str> {
    let wanted_l = wanted.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, usize, &str)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let short = name.rsplit('.').next().unwrap_or(name);
            let d = distance(&wanted_l, &name.to_lowercase())
                .min(distance(&wanted_l, &short.to_lowercase()));
            (d <= limit).then_some((d, i, *name))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, _, n)| n).collect()
}

/// The Levenshtein distance between two strings, in characters (two rows, no
/// recursion).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let swap = prev[j] + usize::from(ca != cb);
            row[j + 1] = swap.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("write1", "write1"), 0);
        assert_eq!(distance("wirte1", "write1"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_names_first() {
        let names = ["Write1", "Write2", "Blur1", "Group1.Write3", "Read1"];
        assert_eq!(closest("Wirte1", &names), ["Write1"]);
        assert_eq!(
            closest("Write", &names),
            ["Write1", "Write2", "Group1.Write3"]
        );
        assert_eq!(closest("blur1", &names), ["Blur1"]);
        assert!(closest("Transform", &names).is_empty());
        assert_eq!(or_list(&["a".into(), "b".into(), "c".into()]), "a, b or c");
    }
}
