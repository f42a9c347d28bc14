//! `smartcache graph`: read a script and show its graph, as a summary, as JSON (the
//! corpus's expected-graph shape), or as Graphviz; or check that many scripts read.

use anyhow::bail;
use rayon::prelude::*;
use serde::Serialize;
use smartcache::graph::{NodeId, Script};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_OK};

#[derive(clap::Args)]
#[command(
    after_help = "Without an option, prints a summary: node counts by class, groups, \
Write nodes, terminal nodes (top-level nodes nothing reads) and the Root frame range.\n\n\
--json prints every node in file order as {\"name\", \"class\", \"inputs\"}: inputs lists \
every popped slot, input 0 first, null for an empty slot, so a Merge's B input comes first. \
--upstream NODE keeps NODE and what it depends on as the render cache sees it (through \
groups; expression links are not followed); inputs still show the raw wiring.\n\n\
Gizmos on the plugin path (--plugin-path, $NUKE_PATH, ~/.nuke) and the scripts Precomp \
nodes read are loaded into the graph as groups; --json gives their nodes' \"origin\" file, \
the summary lists them.\n\n\
--check reads every file in parallel (directories are searched for .nk and .gizmo files), \
prints one line per file that fails to read, then totals and MB/s (with --json, one \
document). Exit status: 0 when every file reads, 1 when some file does not, 2 on usage \
errors.\n\n\
Examples:\n  smartcache graph comp.nk\n  smartcache graph --json --upstream Write1 comp.nk\n  \
smartcache graph --dot comp.nk | dot -Tsvg > comp.svg\n  smartcache graph --check scripts/ gizmos/"
)]
pub struct Args {
    /// Script to read (with --check: any number of scripts or directories).
    #[arg(required = true, value_name = "SCRIPT")]
    scripts: Vec<PathBuf>,
    /// Print the graph as JSON: {"nodes": [{"name", "class", "inputs"}]} in file order
    /// (with --check: {"files", "ok", "failed": [{"path", "error"}], "nodes", "bytes",
    /// "seconds"}).
    #[arg(long, conflicts_with = "dot")]
    json: bool,
    /// Print the graph in Graphviz dot syntax (edges labelled with the input slot).
    #[arg(long, conflicts_with = "check")]
    dot: bool,
    /// Keep only NODE (full dotted name) and the nodes it depends on, in file order.
    #[arg(long, value_name = "NODE", conflicts_with = "check")]
    upstream: Option<String>,
    /// Read every SCRIPT (in parallel), report the ones that fail, print totals.
    #[arg(long)]
    check: bool,
    /// A directory searched for gizmos (`<Class>.gizmo`), before $NUKE_PATH and ~/.nuke.
    #[arg(long = "plugin-path", value_name = "DIR")]
    plugin_path: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if args.check {
        return check(&args.scripts, args.json);
    }
    let [path] = args.scripts.as_slice() else {
        bail!(
            "expected one SCRIPT, got {} (use --check to read several)",
            args.scripts.len()
        );
    };
    let mut script = smartcache::graph::LoadedScript::read(path)?.script;
    super::warn_script(&script);
    let profile = smartcache::profile::Profile::load(script.host(), &[])?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let opts = smartcache::graph::expand::ExpandOptions::with_env(args.plugin_path.clone(), dir);
    let expansion = smartcache::graph::expand::expand(&mut script, &opts, &profile);
    for (_, why) in &expansion.failed {
        eprintln!("warning: {why}");
    }
    let ids = match &args.upstream {
        Some(name) => upstream_ids(&script, name)?,
        None => script.graph.ids().collect(),
    };
    let out = if args.json {
        to_json(&script, &ids)?
    } else if args.dot {
        to_dot(&script, &ids)
    } else {
        let mut s = summary(&script, &ids);
        for (node, class, file) in &expansion.gizmos {
            let _ = writeln!(s, "gizmo {node} ({class}) from {}", file.display());
        }
        for (node, file) in &expansion.nested {
            let _ = writeln!(s, "nested script of {node}: {}", file.display());
        }
        s
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    if args.json {
        stdout.write_all(b"\n")?;
    }
    Ok(EXIT_OK)
}

/// `name` and everything it depends on, in file order. Uses the same walk as the
/// render cache ([`smartcache::graph::Graph::upstream`]): through groups as Nuke
/// evaluates them, with each node's enclosing groups, without expression links.
fn upstream_ids(script: &Script, name: &str) -> anyhow::Result<Vec<NodeId>> {
    let g = &script.graph;
    let Some(id) = g.find(name) else {
        bail!("no node named `{name}` in the script (use the full dotted name, e.g. Group1.Blur1)");
    };
    // A group's image is its Output's.
    let start = g.effective_source(id).unwrap_or(id);
    let deps = g.upstream(start, |_| Vec::new())?;
    let mut ids: Vec<NodeId> = deps.iter().map(|d| d.id).collect();
    if !ids.contains(&id) {
        ids.push(id);
    }
    ids.sort_by_key(|i| i.index());
    Ok(ids)
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    nodes: Vec<JsonNode<'a>>,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    class: &'a str,
    inputs: Vec<Option<&'a str>>,
    /// The gizmo file or nested script the node was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
}

/// The corpus's expected-graph JSON, pretty-printed with one-space indentation.
fn to_json(script: &Script, ids: &[NodeId]) -> anyhow::Result<String> {
    let g = &script.graph;
    let nodes = ids
        .iter()
        .map(|&id| {
            let n = g.node(id);
            JsonNode {
                name: &n.name,
                class: &n.class,
                inputs: g
                    .inputs(id)
                    .into_iter()
                    .map(|s| s.map(|s| g.node(s).name.as_str()))
                    .collect(),
                origin: n.origin().map(|p| p.display().to_string()),
            }
        })
        .collect();
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    JsonGraph { nodes }.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// A Graphviz string literal.
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn to_dot(script: &Script, ids: &[NodeId]) -> String {
    let g = &script.graph;
    let mut out = String::from("digraph script {\n  rankdir=BT;\n  node [shape=box];\n");
    for &id in ids {
        let n = g.node(id);
        let label = format!("{}\n{}", n.name, n.class);
        let _ = writeln!(
            out,
            "  {} [label={}];",
            dot_quote(&n.name),
            dot_quote(&label)
        );
    }
    let keep: std::collections::HashSet<NodeId> = ids.iter().copied().collect();
    for &id in ids {
        for (slot, input) in g.inputs(id).into_iter().enumerate() {
            let Some(input) = input.filter(|i| keep.contains(i)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "  {} -> {} [label=\"{slot}\"];",
                dot_quote(&g.node(input).name),
                dot_quote(&g.node(id).name)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// Classes that do not produce an image (annotations and viewers): never "terminal".
fn is_annotation(class: &str) -> bool {
    matches!(class, "BackdropNode" | "StickyNote" | "Viewer")
}

fn summary(script: &Script, ids: &[NodeId]) -> String {
    let g = &script.graph;
    let mut out = String::new();
    if let Some(p) = &script.path {
        let _ = writeln!(out, "script: {}", p.display());
    }
    if let Some(v) = &script.version {
        let _ = writeln!(out, "version: {v}");
    }
    let (first, last) = script.frame_range();
    let _ = writeln!(out, "frame range: {first}-{last}");
    let _ = writeln!(out, "nodes: {}", ids.len());
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for &id in ids {
        *by_class.entry(g.node(id).class.as_str()).or_default() += 1;
    }
    let mut classes: Vec<(&str, usize)> = by_class.into_iter().collect();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(out, "classes: {}", classes.len());
    for (c, n) in &classes {
        let _ = writeln!(out, "  {n:>6}  {c}");
    }
    let groups: Vec<NodeId> = ids
        .iter()
        .copied()
        .filter(|&i| g.node(i).is_group())
        .collect();
    let _ = writeln!(out, "groups: {}", groups.len());
    for id in groups {
        let n = g.node(id);
        let _ = writeln!(
            out,
            "  {} ({}, {} children)",
            n.name,
            n.class,
            g.children(Some(id)).count()
        );
    }
    let writes: Vec<&str> = ids
        .iter()
        .map(|&i| g.node(i))
        .filter(|n| n.class == "Write")
        .map(|n| n.name.as_str())
        .collect();
    let _ = writeln!(out, "outputs (Write): {}", list(&writes));
    let terminals: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|&i| {
            let n = g.node(i);
            n.parent.is_none() && !is_annotation(&n.class) && g.consumers(i).next().is_none()
        })
        .map(|i| g.node(i).name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "terminal (top-level, nothing reads them): {}",
        list(&terminals)
    );
    out
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), when the system reports it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn check(paths: &[PathBuf], json: bool) -> anyhow::Result<u8> {
    let files = smartcache::fsutil::find_files(paths, &["nk", "gizmo"])?;
    if files.is_empty() {
        eprintln!("error: no .nk or .gizmo files found");
        return Ok(EXIT_ERROR);
    }
    let started = Instant::now();
    let results: Vec<Outcome> = files.par_iter().map(|p| read_one(p)).collect();
    let elapsed = started.elapsed().as_secs_f64();
    if json {
        return check_json(&files, &results, elapsed);
    }
    let mut stdout = std::io::stdout().lock();
    let (mut ok, mut nodes, mut bytes, mut parse) = (0usize, 0usize, 0u64, Duration::ZERO);
    for o in &results {
        bytes += o.bytes;
        parse += o.parse;
        match &o.result {
            Ok(n) => {
                ok += 1;
                nodes += n;
            }
            Err(e) => writeln!(stdout, "{e}")?,
        }
    }
    let failed = files.len() - ok;
    let mbps = |secs: f64| bytes as f64 / 1e6 / secs.max(1e-9);
    writeln!(
        stdout,
        "files {}, ok {ok}, failed {failed}, nodes {nodes}, bytes {bytes}, {elapsed:.3} s, {:.1} MB/s",
        files.len(),
        mbps(elapsed)
    )?;
    let parse = parse.as_secs_f64();
    writeln!(
        stdout,
        "parse only (sum over files, no I/O): {parse:.3} s, {:.1} MB/s per thread",
        mbps(parse)
    )?;
    if let Some(kib) = peak_memory_kib() {
        writeln!(stdout, "peak memory {:.1} MB", kib as f64 / 1024.0)?;
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_INVALID })
}

/// `graph --check --json`: totals and one entry per file that failed to read.
fn check_json(files: &[PathBuf], results: &[Outcome], elapsed: f64) -> anyhow::Result<u8> {
    let failed: Vec<serde_json::Value> = files
        .iter()
        .zip(results)
        .filter_map(|(path, o)| {
            let e = o.result.as_ref().err()?;
            Some(serde_json::json!({"path": path, "error": e}))
        })
        .collect();
    let nodes: usize = results.iter().filter_map(|o| o.result.as_ref().ok()).sum();
    let bytes: u64 = results.iter().map(|o| o.bytes).sum();
    let doc = serde_json::json!({
        "files": files.len(),
        "ok": files.len() - failed.len(),
        "failed": failed,
        "nodes": nodes,
        "bytes": bytes,
        "seconds": elapsed,
    });
    super::print_json(&doc)?;
    Ok(if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

/// What `--check` learns about one file.
struct Outcome {
    bytes: u64,
    /// Time spent in the parser alone (not reading the file, not freeing the result).
    parse: Duration,
    /// The node count, or the error text (which names the file).
    result: Result<usize, String>,
}

/// Read one script. Nuke scripts are read here and parsed with the time measured;
/// other formats go through [`smartcache::graph::LoadedScript::read`].
fn read_one(path: &Path) -> Outcome {
    let named = |msg: String| {
        if msg.starts_with(&*path.to_string_lossy()) {
            msg
        } else {
            format!("{}: {msg}", path.display())
        }
    };
    if path.extension().is_some_and(|e| e == "json") {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let result = smartcache::graph::LoadedScript::read(path)
            .map(|s| s.script.graph.len())
            .map_err(|e| named(format!("{e:#}")));
        return Outcome {
            bytes,
            parse: Duration::ZERO,
            result,
        };
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            return Outcome {
                bytes: 0,
                parse: Duration::ZERO,
                result: Err(named(
                    smartcache::nk::ParseError::io(path.to_path_buf(), &e).to_string(),
                )),
            }
        }
    };
    let t = Instant::now();
    let parsed = smartcache::nk::parse(&data, Some(path));
    let parse = t.elapsed();
    Outcome {
        bytes: data.len() as u64,
        parse,
        result: parsed
            .map(|s| s.graph.len())
            .map_err(|e| named(e.to_string())),
    }
}
