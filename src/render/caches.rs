//! Where the caches of a script live, so that nobody has to name a cache directory per
//! cache.
//!
//! smartCache in Nuke keeps a table of every cache in the working file; the command-line
//! equivalent (`smartcache status`, `smartcache report`) needs to find them from the
//! script alone. The convention:
//!
//! ```text
//! <script folder>/.smartcache/<script stem>/<node>/     the cache of <node> in <script>
//! <cache root>/<script stem>/<node>/                    the same with --cache-root DIR
//! ```
//!
//! `record` and `check` use this directory when `--cache-dir` is not given, so what
//! `record` writes is what `status` finds. The caches of a script are its Write nodes
//! ([`write_nodes`]: their `file` knob is the render pattern, their `use_limit` range
//! their frames), plus any other output recorded in the convention directory (found by
//! reading the masters there, [`recorded_nodes`]). A directory of scripts is every `.nk`
//! below it ([`find_scripts`]), skipping hidden directories such as `.smartcache`.
//!
//! A hidden folder beside the script keeps a show's caches with its scripts (moved,
//! archived and shared with them) without cluttering the folder an artist browses; a
//! cache root puts them on other storage, one directory per script stem and node (two
//! scripts with one stem under one root share a directory per node, so give each show
//! its own root).

use crate::graph::{LoadedScript, Node, Script};
use crate::store::CacheDir;
use std::io;
use std::path::{Path, PathBuf};

/// The name of the folder beside a script that holds its caches.
pub const CACHES_DIR: &str = ".smartcache";

/// Node classes whose nodes are caches: each writes the frames the cache is of.
pub const WRITE_CLASSES: [&str; 2] = ["Write", "DeepWrite"];

/// The cache directory of output `node` of the script at `script`: under `cache_root`
/// when given, else in the `.smartcache` folder beside the script (see the module docs).
pub fn cache_dir_for(script: &Path, node: &str, cache_root: Option<&Path>) -> PathBuf {
    scripts_caches(script, cache_root).join(dir_name(node))
}

/// The directory holding every cache of the script at `script` (one subdirectory per
/// node).
pub fn scripts_caches(script: &Path, cache_root: Option<&Path>) -> PathBuf {
    let stem = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".to_string());
    match cache_root {
        Some(root) => root.join(dir_name(&stem)),
        None => {
            let caches = Path::new(CACHES_DIR).join(dir_name(&stem));
            match script.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(folder) => folder.join(caches),
                None => caches,
            }
        }
    }
}

/// A node or script name as one directory name: characters other than letters,
/// digits, `_`, `-` and `.` become `_`, and a leading `.` too (no hidden or
/// parent-directory names).
fn dir_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// A Write node of a script: an output whose frames are cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteNode {
    /// Its full name (`Write1`, `Group1.Write1`).
    pub name: String,
    /// Its `file` knob, unquoted (the render pattern as written), when set.
    pub file: Option<String>,
    /// Its own frame range when `use_limit` is on (`first`-`last`), else `None` (the
    /// script's range).
    pub limit: Option<(i64, i64)>,
}

/// The Write nodes of a script, in file order (nodes inside groups included; not those
/// a gizmo or a Precomp's script brought in, which are other files' caches).
pub fn write_nodes(script: &Script) -> Vec<WriteNode> {
    script
        .graph
        .nodes()
        .filter(|(_, n)| WRITE_CLASSES.contains(&n.class.as_str()) && !from_elsewhere(script, n))
        .map(|(_, n)| WriteNode {
            name: n.name.to_string(),
            file: n.knob("file").map(unquote).filter(|f| !f.trim().is_empty()),
            limit: limit_of(n),
        })
        .collect()
}

/// Whether `n`, or a group it lives in, was defined by another file (a gizmo on the
/// plugin path, a Precomp's script).
fn from_elsewhere(script: &Script, n: &Node) -> bool {
    let mut node = Some(n);
    while let Some(x) = node {
        if x.origin().is_some() {
            return true;
        }
        node = x.parent.map(|p| script.graph.node(p));
    }
    false
}

/// A Write node's `first`-`last` when `use_limit` is on and both are plain numbers.
fn limit_of(n: &Node) -> Option<(i64, i64)> {
    let on = n.knob("use_limit").map(str::trim);
    if !matches!(on, Some("true" | "1")) {
        return None;
    }
    let num = |k: &str| -> Option<i64> {
        let v: f64 = n.knob(k)?.trim().parse().ok()?;
        Some(v as i64)
    };
    let (a, b) = (num("first")?, num("last")?);
    (a <= b).then_some((a, b))
}

/// Knob text without the quotes or braces that delimit it in a script.
fn unquote(text: &str) -> String {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return t[1..t.len() - 1].replace("\\\"", "\"");
    }
    if t.len() >= 2 && t.starts_with('{') && t.ends_with('}') {
        return t[1..t.len() - 1].trim().to_string();
    }
    t.to_string()
}

/// The render pattern of output `node` when it is a Write node with a file: its `file`
/// knob resolved as Nuke resolves it ([`render_pattern`]). `Ok(None)`: `node` is no Write
/// node, or its `file` is empty; `Err`: the knob cannot be used (say so: the renders go
/// unrecorded).
pub fn output_render_pattern(
    script: &LoadedScript,
    node: &str,
) -> Result<Option<String>, PatternError> {
    let Some(write) = write_nodes(&script.script)
        .into_iter()
        .find(|w| w.name == node)
    else {
        return Ok(None);
    };
    match render_pattern(script, &write) {
        Ok(p) => Ok(Some(p)),
        Err(PatternError::NoFile { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why a Write node's `file` cannot be used as a render pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The node has no `file` knob (or an empty one).
    #[error("{node} has no file knob: give the render pattern with --render")]
    NoFile {
        /// The node.
        node: String,
    },
    /// The `file` knob is computed (Tcl or an expression): its value is not known here.
    #[error("{node}.file is an expression ({file}): give the render pattern with --render")]
    Expression {
        /// The node.
        node: String,
        /// The knob's text.
        file: String,
    },
    /// The `file` knob reads an environment variable that is not set.
    #[error("{node}.file reads ${var}, which is not set: give the render pattern with --render")]
    Unset {
        /// The node.
        node: String,
        /// The variable.
        var: String,
    },
}

/// The render pattern a Write node writes, as a path usable from the current directory:
/// its `file` knob with environment variables (`$SHOW`, `${SHOT}`) expanded, a relative
/// path taken from Root `project_directory` when it is a plain path, else from the
/// script's folder, as Nuke resolves it. A knob computed by Tcl (`[…]`) or an
/// expression cannot be resolved here and is an error saying to give `--render`.
pub fn render_pattern(script: &LoadedScript, node: &WriteNode) -> Result<String, PatternError> {
    let file = node.file.as_deref().ok_or_else(|| PatternError::NoFile {
        node: node.name.clone(),
    })?;
    let expanded = expand_vars(file).map_err(|var| PatternError::Unset {
        node: node.name.clone(),
        var,
    })?;
    if expanded.contains('[') || file.starts_with("{{") {
        return Err(PatternError::Expression {
            node: node.name.clone(),
            file: file.to_string(),
        });
    }
    let path = Path::new(&expanded);
    if path.is_absolute() {
        return Ok(expanded);
    }
    let project = script
        .script
        .root_knob("project_directory")
        .map(unquote)
        .filter(|p| !p.is_empty() && !p.contains('[') && !p.contains('$'));
    let folder = script
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let base = match project {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => folder.join(p),
        None => folder,
    };
    Ok(base.join(path).to_string_lossy().into_owned())
}

/// `$NAME` and `${NAME}` replaced by the environment's values; the name of the first
/// variable that is not set is the error.
fn expand_vars(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        // `$F4` is a frame token, not a variable (see crate::frames::expand_pattern).
        let frame_token = name.starts_with('F') && name[1..].chars().all(|c| c.is_ascii_digit());
        if name.is_empty() || frame_token {
            out.push('$');
            rest = after;
            continue;
        }
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => return Err(name.to_string()),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The outputs recorded in the convention directory of a script (`scripts_caches`),
/// by the node each master names, with their cache directories, sorted by node.
/// A directory whose master cannot be read is listed under its directory name, so that
/// the error is reported rather than the cache silently skipped.
pub fn recorded_nodes(script: &Path, cache_root: Option<&Path>) -> Vec<(String, PathBuf)> {
    let dir = scripts_caches(script, cache_root);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let cache = CacheDir::new(e.path());
            if !cache.master_path().exists() {
                return None;
            }
            let node = match cache.master() {
                Ok(Some(m)) => m.meta.node,
                _ => e.file_name().to_string_lossy().into_owned(),
            };
            Some((node, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Every script named: files as given, directories searched for `.nk` files (see
/// [`crate::fsutil::find_files`]: hidden directories such as `.smartcache` skipped, each
/// script once).
pub fn find_scripts(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    crate::fsutil::find_files(paths, &["nk"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convention_directories() {
        assert_eq!(
            cache_dir_for(Path::new("shot/comp.nk"), "Write1", None),
            Path::new("shot/.smartcache/comp/Write1")
        );
        assert_eq!(
            cache_dir_for(Path::new("comp.nk"), "Group1.Write1", None),
            Path::new(".smartcache/comp/Group1.Write1")
        );
        assert_eq!(
            cache_dir_for(Path::new("a/comp.v2.nk"), "../x", Some(Path::new("/c"))),
            Path::new("/c/comp.v2/_.._x")
        );
    }

    #[test]
    fn render_patterns_resolve_as_nuke_does() {
        let script = |root: &str, file: &str| {
            let text = format!(
                "Root {{\n inputs 0\n{root}}}\nConstant {{\n inputs 0\n name C\n}}\n\
                 Write {{\n file {file}\n use_limit true\n first 5\n last 9\n name W\n}}\n"
            );
            LoadedScript::from_bytes(text.as_bytes(), Path::new("shot/comp.nk")).unwrap()
        };
        let pattern = |s: &LoadedScript| {
            let w = &write_nodes(&s.script)[0];
            assert_eq!(w.limit, Some((5, 9)));
            render_pattern(s, w)
        };
        let s = script("", "renders/c.%04d.exr");
        assert_eq!(pattern(&s).unwrap(), "shot/renders/c.%04d.exr");
        let s = script(" project_directory /show/sh010\n", "\"r/c.####.exr\"");
        assert_eq!(pattern(&s).unwrap(), "/show/sh010/r/c.####.exr");
        let s = script("", "/abs/c.%04d.exr");
        assert_eq!(pattern(&s).unwrap(), "/abs/c.%04d.exr");
        let s = script("", "\"[file dirname [value root.name]]/c.%04d.exr\"");
        assert!(matches!(pattern(&s), Err(PatternError::Expression { .. })));
        let s = script("", "$SMARTCACHE_TEST_NOT_SET_EITHER/c.%04d.exr");
        assert!(matches!(pattern(&s), Err(PatternError::Unset { .. })));
    }

    #[test]
    fn knob_text_and_variables() {
        assert_eq!(unquote("\"a b/c.%04d.exr\""), "a b/c.%04d.exr");
        assert_eq!(unquote("{a/b.exr}"), "a/b.exr");
        std::env::set_var("SMARTCACHE_TEST_SHOW", "/shows/x");
        assert_eq!(
            expand_vars("${SMARTCACHE_TEST_SHOW}/r.$F4.exr").unwrap(),
            "/shows/x/r.$F4.exr"
        );
        assert_eq!(
            expand_vars("$SMARTCACHE_TEST_UNSET_VAR/x").unwrap_err(),
            "SMARTCACHE_TEST_UNSET_VAR"
        );
    }
}
