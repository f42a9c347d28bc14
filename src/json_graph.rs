//! The host-neutral JSON graph format: what any host (Blender, Houdini, Natron, an
//! in-house tool) exports so that smartcache can validate its caches.
//!
//! ```json
//! {
//!   "format": "smartcache-graph",
//!   "version": 1,
//!   "root": [ {"name": "first_frame", "value": "1001"}, … ],
//!   "nodes": [
//!     {"name": "Blur1", "class": "Blur", "inputs": ["Read1", null],
//!      "knobs": [ {"name": "size", "value": "30"},
//!                 {"name": "mix", "expression": "parent.mix_ctrl"},
//!                 {"name": "white", "keys": [{"frame": 1001, "value": 1},
//!                                             {"frame": 1050, "value": 1.2, "interpolation": "linear"}]},
//!                 {"name": "translate", "components": [0, {"expression": "frame*2"}]} ]},
//!     {"name": "Group1", "class": "Group"},
//!     {"name": "Group1.Input1", "class": "Input", "parent": "Group1"}
//!   ]
//! }
//! ```
//!
//! * Nodes are listed in creation order; `name` is the full dotted name and `parent`
//!   names the enclosing group, which must be a group listed before the node (when
//!   absent it is taken from the name's prefix if that names a group). Groups nest at
//!   most [`MAX_GROUP_DEPTH`] deep, as in a `.nk` script. `inputs` lists slots, input 0 first, by full name or `null`; a node
//!   may name an input listed after it (unlike a `.nk` stack machine, a JSON graph can
//!   therefore contain a cycle, which is an error naming it).
//! * A knob is exactly one of: `value` (text exactly as a Nuke script writes it, kept
//!   verbatim; this is what [`write()`] produces, so a `.nk` → JSON → graph round trip is
//!   exact), `expression` (an expression text), `keys` (animation keys with `frame`,
//!   `value` and optional `interpolation`: `constant`, `linear`, `smooth`, `catmull-rom`,
//!   `cubic`), or `components` (a vector knob: numbers, strings, or objects with
//!   `expression` or `keys`). Structured forms are turned into the equivalent Nuke text,
//!   so both spellings hash alike.
//! * `root` holds the script settings in the same knob form; `clone_of` names the source
//!   of a clone.
//!
//! Version 2 adds what hosts other than Nuke need:
//!
//! * `host` (`"nuke"` when absent) names the host, which selects its node-class profile
//!   (`profiles/<host>.profile`);
//! * `"group": true` makes a node a group whatever its class (a host's group node);
//! * an input may name the output socket it reads, `{"node": "Render Layers",
//!   "socket": "Alpha"}`: recorded on the consumer as knob `input<slot>.socket`, so
//!   relinking to another output of the same node is a change;
//! * a knob may be an `fcurve` (Blender's F-curve: `keys` with `frame`, `value`,
//!   `interpolation` (`CONSTANT`, `LINEAR`, `BEZIER`, or an easing family `SINE`, `QUAD`,
//!   `CUBIC`, `QUART`, `QUINT`, `EXPO`, `CIRC`, `BACK`, `BOUNCE`, `ELASTIC`), `easing`,
//!   Bezier handles `left`/`right` as `[frame, value]`, `back`, `amplitude`, `period`;
//!   `extrapolation`; `modifiers` by type), written as `{fcurve …}` text (see
//!   [`crate::eval::fcurve`]); or a `driver` (`expression` and `variables`, each with
//!   its targets and their values), written as `{driver …}` text, which the manifest
//!   treats as depending on the frame and on everything it names.

use crate::graph::{Graph, Knob, Node, Script};
use crate::nk::MAX_GROUP_DEPTH;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The `format` tag of a JSON graph file.
pub const FORMAT: &str = "smartcache-graph";
/// The newest version this build reads and the one it writes.
pub const VERSION: u64 = 2;

/// An error reading a JSON graph: the file, and where in it (`line:col` for syntax
/// errors, a JSON path such as `nodes[3].inputs[1]` for semantic ones).
#[derive(Debug, thiserror::Error)]
pub enum JsonGraphError {
    /// Not JSON.
    #[error("{path}:{line}:{col}: invalid JSON: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What serde_json reported.
        message: String,
    },
    /// JSON, but not a valid graph.
    #[error("{path}: {at}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the document (`nodes[3].inputs[1]`).
        at: String,
        /// What is wrong there.
        message: String,
    },
    /// The graph's inputs form a cycle.
    #[error("{path}: {source}")]
    Cycle {
        /// The file.
        path: PathBuf,
        /// The cycle.
        #[source]
        source: crate::graph::CycleError,
    },
}

/// Parse a JSON graph; `path` names the file in errors and is recorded in the script.
pub fn parse(bytes: &[u8], path: Option<&Path>) -> Result<Script, JsonGraphError> {
    let file = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| "<input>".into());
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| JsonGraphError::Syntax {
        path: file.clone(),
        line: e.line(),
        col: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    })?;
    let invalid = |at: &str, message: String| JsonGraphError::Invalid {
        path: file.clone(),
        at: at.to_string(),
        message,
    };
    let top = doc
        .as_object()
        .ok_or_else(|| invalid("$", "expected an object".into()))?;
    match top.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        other => {
            return Err(invalid(
                "format",
                format!("expected \"{FORMAT}\", found {}", show(other)),
            ))
        }
    }
    match top.get("version").and_then(Value::as_u64) {
        Some(v) if (1..=VERSION).contains(&v) => {}
        Some(v) => {
            return Err(invalid(
                "version",
                format!(
                "version {v} is newer than this smartcache reads ({VERSION}); upgrade smartcache"
            ),
            ))
        }
        None => return Err(invalid("version", "expected a positive integer".into())),
    }

    let mut script = Script {
        path: path.map(Path::to_path_buf),
        host: match top.get("host") {
            None => None,
            Some(Value::String(h)) if !h.is_empty() && h.len() <= 64 => Some(h.clone()),
            Some(_) => return Err(invalid("host", "expected a host name".into())),
        },
        ..Script::default()
    };
    if let Some(root) = top.get("root") {
        script.root = knobs(root, "root").map_err(|(at, m)| invalid(&at, m))?;
    }
    let nodes = match top.get("nodes") {
        Some(Value::Array(a)) => a.as_slice(),
        None => &[],
        Some(_) => return Err(invalid("nodes", "expected an array".into())),
    };

    // Pass 1: create the nodes (so inputs may name nodes listed later).
    let mut graph = Graph::new();
    let mut ids = Vec::with_capacity(nodes.len());
    // How many groups enclose each node, by node index.
    let mut depths: Vec<usize> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let at = format!("nodes[{i}]");
        let obj = n
            .as_object()
            .ok_or_else(|| invalid(&at, "expected an object".into()))?;
        let name = str_field(obj, "name").ok_or_else(|| invalid(&at, "missing \"name\"".into()))?;
        let class =
            str_field(obj, "class").ok_or_else(|| invalid(&at, "missing \"class\"".into()))?;
        if graph.find(name).is_some() {
            return Err(invalid(&at, format!("duplicate node name \"{name}\"")));
        }
        let mut node = Node::new(name, class);
        match obj.get("group") {
            None => {}
            Some(Value::Bool(b)) => node.group |= *b,
            Some(_) => {
                return Err(invalid(
                    &format!("{at}.group"),
                    "expected true or false".into(),
                ))
            }
        }
        if let Some(k) = obj.get("knobs") {
            node.knobs = knobs(k, &format!("{at}.knobs")).map_err(|(a, m)| invalid(&a, m))?;
        }
        let parent = match str_field(obj, "parent") {
            Some(p) => {
                let g = graph.find(p).ok_or_else(|| {
                    invalid(
                        &at,
                        format!("parent \"{p}\" is not a node listed before it"),
                    )
                })?;
                let class = &graph.node(g).class;
                if !graph.node(g).is_group() {
                    return Err(invalid(
                        &at,
                        format!("parent \"{p}\" is a {class}, not a group"),
                    ));
                }
                Some(g)
            }
            None => name
                .rsplit_once('.')
                .and_then(|(prefix, _)| graph.find(prefix))
                .filter(|&g| graph.node(g).is_group()),
        };
        // Parents are listed first, so their depth is known: the same limit as the .nk
        // reader's, for the same reason (full names grow with depth).
        let depth = parent.map_or(0, |g| depths[g.index()] + 1);
        if depth > MAX_GROUP_DEPTH {
            return Err(invalid(
                &at,
                format!("groups nested deeper than {MAX_GROUP_DEPTH} levels"),
            ));
        }
        node.parent = parent;
        let id = graph.add_node(node);
        depths.resize(depths.len().max(id.index() + 1), 0);
        depths[id.index()] = depth;
        ids.push(id);
    }
    // Pass 2: wire inputs and clone sources.
    for (i, n) in nodes.iter().enumerate() {
        let at = format!("nodes[{i}]");
        let obj = n.as_object().expect("checked in pass 1");
        if let Some(src) = str_field(obj, "clone_of") {
            let s = graph
                .find(src)
                .ok_or_else(|| invalid(&at, format!("clone_of: unknown node \"{src}\"")))?;
            graph.node_mut(ids[i]).clone_of = Some(s);
        }
        let inputs = match obj.get("inputs") {
            None => continue,
            Some(Value::Array(a)) => a,
            Some(_) => return Err(invalid(&format!("{at}.inputs"), "expected an array".into())),
        };
        graph.node_mut(ids[i]).input_count = inputs.len();
        for (slot, v) in inputs.iter().enumerate() {
            let at = format!("{at}.inputs[{slot}]");
            let (name, socket) = match v {
                Value::Null => continue,
                Value::String(s) => (s.as_str(), None),
                Value::Object(o) => match (str_field(o, "node"), o.get("socket")) {
                    (Some(n), None) => (n, None),
                    (Some(n), Some(Value::String(s))) => (n, Some(s.as_str())),
                    _ => {
                        return Err(invalid(
                            &at,
                            "expected {\"node\": name, \"socket\": name}".into(),
                        ))
                    }
                },
                _ => {
                    return Err(invalid(
                        &at,
                        "expected a node name, an object or null".into(),
                    ))
                }
            };
            let src = graph
                .find(name)
                .ok_or_else(|| invalid(&at, format!("unknown node \"{name}\"")))?;
            graph.connect(src, ids[i], slot);
            if let Some(sock) = socket {
                graph
                    .node_mut(ids[i])
                    .knobs
                    .push(Knob::new(&socket_knob(slot), &tcl_word(sock)));
            }
        }
    }
    graph
        .check_acyclic()
        .map_err(|source| JsonGraphError::Cycle {
            path: file.clone(),
            source,
        })?;
    script.graph = graph;
    Ok(script)
}

/// The knob recording which output socket input `slot` reads.
pub fn socket_knob(slot: usize) -> String {
    format!("input{slot}.socket")
}

fn show(v: Option<&str>) -> String {
    v.map(|s| format!("\"{s}\""))
        .unwrap_or_else(|| "nothing".into())
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Read a knob list; errors carry the JSON path.
fn knobs(v: &Value, at: &str) -> Result<Vec<Knob>, (String, String)> {
    let arr = v
        .as_array()
        .ok_or_else(|| (at.to_string(), "expected an array of knobs".to_string()))?;
    arr.iter()
        .enumerate()
        .map(|(i, k)| {
            let at = format!("{at}[{i}]");
            let obj = k
                .as_object()
                .ok_or_else(|| (at.clone(), "expected an object".to_string()))?;
            let name = str_field(obj, "name")
                .ok_or_else(|| (at.clone(), "missing \"name\"".to_string()))?;
            let forms: Vec<&str> = [
                "value",
                "expression",
                "keys",
                "components",
                "fcurve",
                "driver",
            ]
            .into_iter()
            .filter(|f| obj.contains_key(*f))
            .collect();
            if forms.len() != 1 {
                return Err((
                    at,
                    "a knob needs exactly one of \"value\", \"expression\", \"keys\", \
                     \"components\", \"fcurve\", \"driver\""
                        .to_string(),
                ));
            }
            let value = match forms[0] {
                "value" => match &obj["value"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err((
                            format!("{at}.value"),
                            "expected text, a number or a boolean".into(),
                        ))
                    }
                },
                "fcurve" => format!("{{{}}}", fcurve(&obj["fcurve"], &format!("{at}.fcurve"))?),
                "driver" => format!("{{{}}}", driver(&obj["driver"], &format!("{at}.driver"))?),
                "components" => {
                    let comps = obj["components"].as_array().ok_or_else(|| {
                        (format!("{at}.components"), "expected an array".to_string())
                    })?;
                    let parts = comps
                        .iter()
                        .enumerate()
                        .map(|(c, v)| component(v, &format!("{at}.components[{c}]")))
                        .collect::<Result<Vec<_>, _>>()?;
                    format!("{{{}}}", parts.join(" "))
                }
                _ => format!("{{{}}}", component(k, &at)?),
            };
            Ok(Knob::new(name, &value))
        })
        .collect()
}

/// One component of a knob value as Nuke text: a number or word as is, an expression
/// or curve in braces.
fn component(v: &Value, at: &str) -> Result<String, (String, String)> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(tcl_word(s)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Object(o) if o.contains_key("expression") => match &o["expression"] {
            Value::String(e) => Ok(format!("{{{}}}", tcl_word(e))),
            _ => Err((format!("{at}.expression"), "expected text".into())),
        },
        Value::Object(o) if o.contains_key("keys") => curve(&o["keys"], &format!("{at}.keys")),
        Value::Object(o) if o.contains_key("fcurve") => {
            fcurve(&o["fcurve"], &format!("{at}.fcurve"))
        }
        Value::Object(o) if o.contains_key("driver") => {
            driver(&o["driver"], &format!("{at}.driver"))
        }
        _ => Err((
            at.to_string(),
            "expected a number, text, {\"expression\"} or {\"keys\"}".into(),
        )),
    }
}

/// Animation keys as a Nuke curve: `{curve L x1001 1 x1050 1.2}`.
fn curve(v: &Value, at: &str) -> Result<String, (String, String)> {
    let keys = v
        .as_array()
        .ok_or_else(|| (at.to_string(), "expected an array of keys".to_string()))?;
    let mut out = String::from("{curve");
    let mut current = None;
    for (i, k) in keys.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let num = |f: &str| -> Result<String, (String, String)> {
            match k.get(f) {
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err((at.clone(), format!("missing number \"{f}\""))),
            }
        };
        let (frame, value) = (num("frame")?, num("value")?);
        let letter = match k.get("interpolation").and_then(Value::as_str) {
            None => None,
            Some("constant") => Some('K'),
            Some("linear") => Some('L'),
            Some("smooth") => Some('S'),
            Some("catmull-rom") => Some('R'),
            Some("cubic") => Some('C'),
            Some(other) => {
                return Err((
                    format!("{at}.interpolation"),
                    format!("unknown interpolation \"{other}\" (constant, linear, smooth, catmull-rom, cubic)"),
                ))
            }
        };
        if let Some(l) = letter.filter(|&l| Some(l) != current) {
            out.push(' ');
            out.push(l);
            current = letter;
        }
        out.push_str(&format!(" x{frame} {value}"));
    }
    out.push('}');
    Ok(out)
}

/// A number of a JSON graph as text (integers without a fraction).
fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A Blender F-curve as `{fcurve EXTRAPOLATION [mod=TYPE…] key…}` text, each key
/// `xFRAME VALUE INTERPOLATION [EASING] [lX:Y] [rX:Y] [bBACK] [aAMPLITUDE] [pPERIOD]`.
fn fcurve(v: &Value, at: &str) -> Result<String, (String, String)> {
    let o = v
        .as_object()
        .ok_or_else(|| (at.to_string(), "expected an object".to_string()))?;
    let word = |k: &str, default: &str| -> Result<String, (String, String)> {
        match o.get(k) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) if is_word(s) => Ok(s.clone()),
            Some(_) => Err((format!("{at}.{k}"), "expected a word".into())),
        }
    };
    let mut out = format!("fcurve {}", word("extrapolation", "CONSTANT")?);
    if let Some(mods) = o.get("modifiers") {
        let mods = mods
            .as_array()
            .ok_or_else(|| (format!("{at}.modifiers"), "expected an array".to_string()))?;
        for (i, m) in mods.iter().enumerate() {
            let t = m
                .get("type")
                .and_then(Value::as_str)
                .filter(|t| is_word(t))
                .ok_or_else(|| {
                    (
                        format!("{at}.modifiers[{i}]"),
                        "missing \"type\"".to_string(),
                    )
                })?;
            out.push_str(&format!(" mod={t}"));
            // Every other setting of the modifier, so that any edit of it counts.
            if let Some(mo) = m.as_object() {
                let mut keys: Vec<&String> = mo.keys().filter(|k| *k != "type").collect();
                keys.sort();
                for k in keys {
                    let val = match &mo[k] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if is_word(k) && is_word(&val) {
                        out.push_str(&format!(":{k}={val}"));
                    } else {
                        return Err((
                            format!("{at}.modifiers[{i}].{k}"),
                            "expected a plain value".into(),
                        ));
                    }
                }
            }
        }
    }
    let keys = o.get("keys").and_then(Value::as_array).ok_or_else(|| {
        (
            format!("{at}.keys"),
            "expected an array of keys".to_string(),
        )
    })?;
    for (i, k) in keys.iter().enumerate() {
        let at = format!("{at}.keys[{i}]");
        let num = |f: &str| -> Result<String, (String, String)> {
            k.get(f)
                .and_then(number_text)
                .ok_or_else(|| (at.clone(), format!("missing number \"{f}\"")))
        };
        let interp = match k.get("interpolation") {
            None => "BEZIER".to_string(),
            Some(Value::String(s)) if is_word(s) => s.clone(),
            Some(_) => return Err((format!("{at}.interpolation"), "expected a word".into())),
        };
        out.push_str(&format!(" x{} {} {interp}", num("frame")?, num("value")?));
        if let Some(Value::String(e)) = k.get("easing") {
            if !is_word(e) {
                return Err((format!("{at}.easing"), "expected a word".into()));
            }
            out.push_str(&format!(" e{e}"));
        }
        for (side, letter) in [("left", 'l'), ("right", 'r')] {
            if let Some(h) = k.get(side) {
                let pair = h
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .and_then(|a| Some((number_text(&a[0])?, number_text(&a[1])?)))
                    .ok_or_else(|| {
                        (
                            format!("{at}.{side}"),
                            "expected [frame, value]".to_string(),
                        )
                    })?;
                out.push_str(&format!(" {letter}{}:{}", pair.0, pair.1));
            }
        }
        for (f, letter) in [("back", 'b'), ("amplitude", 'a'), ("period", 'p')] {
            if k.get(f).is_some() {
                out.push_str(&format!(" {letter}{}", num(f)?));
            }
        }
    }
    Ok(out)
}

/// A driver as `{driver TYPE "EXPRESSION" VARIABLE… SETTING=VALUE…}` text (see
/// [`crate::eval::driver`]): everything it depends on, the targets' values included,
/// so any change of them is a change.
fn driver(v: &Value, at: &str) -> Result<String, (String, String)> {
    let o = v
        .as_object()
        .ok_or_else(|| (at.to_string(), "expected an object".to_string()))?;
    let expr = o.get("expression").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("SCRIPTED");
    let mut out = format!("driver {} {}", tcl_word(kind), tcl_word(expr));
    if let Some(vars) = o.get("variables") {
        let vars = vars
            .as_array()
            .ok_or_else(|| (format!("{at}.variables"), "expected an array".to_string()))?;
        for var in vars {
            // The variable as canonical JSON (sorted keys): name, type, targets and
            // their values or animation, whatever the host exported.
            out.push(' ');
            out.push_str(&tcl_word(&var.to_string()));
        }
    }
    // Any other setting (a remapping F-curve, `use_self`…) as `name=JSON`, sorted.
    let mut rest: Vec<(&String, &Value)> = o
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "expression" | "type" | "variables"))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in rest {
        if !is_word(k) {
            return Err((format!("{at}.{k}"), "expected a plain setting name".into()));
        }
        out.push(' ');
        out.push_str(&tcl_word(&format!("{k}={v}")));
    }
    Ok(out)
}

/// A word without spaces or Tcl syntax.
fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+".contains(&b))
}

/// Quote `s` as one Tcl word when it is not a plain bare word.
fn tcl_word(s: &str) -> String {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| !b.is_ascii_whitespace() && !b"{}\"\\[]$;".contains(&b));
    if bare {
        s.to_string()
    } else {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for c in s.chars() {
            if matches!(c, '"' | '\\' | '[' | ']' | '$' | '{' | '}') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    }
}

/// Write a script as a JSON graph (knobs in their exact text form), pretty-printed.
pub fn write(script: &Script) -> String {
    let knob_list = |ks: &[Knob]| -> Value {
        Value::Array(
            ks.iter()
                .map(|k| json!({"name": k.name(), "value": k.value()}))
                .collect(),
        )
    };
    let g = &script.graph;
    let nodes: Vec<Value> = g
        .nodes()
        .map(|(id, n)| {
            let mut o = Map::new();
            o.insert("name".into(), json!(n.name));
            o.insert("class".into(), json!(n.class));
            if let Some(p) = n.parent {
                o.insert("parent".into(), json!(g.node(p).name));
            }
            if let Some(c) = n.clone_of {
                o.insert("clone_of".into(), json!(g.node(c).name));
            }
            if n.group && !crate::graph::is_group_class(&n.class) {
                o.insert("group".into(), json!(true));
            }
            let inputs = g.inputs(id);
            if !inputs.is_empty() {
                let names = inputs
                    .iter()
                    .map(|s| s.map_or(Value::Null, |s| json!(g.node(s).name)))
                    .collect();
                o.insert("inputs".into(), Value::Array(names));
            }
            if !n.knobs.is_empty() {
                o.insert("knobs".into(), knob_list(&n.knobs));
            }
            Value::Object(o)
        })
        .collect();
    let mut doc = json!({
        "format": FORMAT,
        "version": VERSION,
        "root": knob_list(&script.root),
        "nodes": nodes,
    });
    if let Some(h) = &script.host {
        doc["host"] = json!(h);
    }
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values always serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "format": "smartcache-graph", "version": 1,
      "root": [{"name": "first_frame", "value": 1001}],
      "nodes": [
        {"name": "Blur1", "class": "Blur", "inputs": ["C"],
         "knobs": [{"name": "size", "value": "30"},
                   {"name": "white", "keys": [{"frame": 1001, "value": 1}, {"frame": 1050, "value": 1.2, "interpolation": "linear"}]},
                   {"name": "translate", "components": [0, {"expression": "frame*2"}]},
                   {"name": "label", "expression": "[value size] px"}]},
        {"name": "C", "class": "Constant", "inputs": []},
        {"name": "G", "class": "Group", "inputs": ["Blur1", null]},
        {"name": "G.Input1", "class": "Input"}
      ]}"#;

    #[test]
    fn structured_knobs_become_nuke_text() {
        let s = parse(SAMPLE.as_bytes(), None).unwrap();
        let b = s.graph.node(s.graph.find("Blur1").unwrap());
        assert_eq!(b.knob("white"), Some("{{curve x1001 1 L x1050 1.2}}"));
        assert_eq!(b.knob("translate"), Some("{0 {frame*2}}"));
        assert_eq!(b.knob("label"), Some("{{\"\\[value size\\] px\"}}"));
        assert_eq!(s.root_knob("first_frame"), Some("1001"));
        let input = s.graph.find("G.Input1").unwrap();
        assert_eq!(s.graph.node(input).parent, s.graph.find("G"));
        let g = s.graph.find("G").unwrap();
        assert_eq!(
            s.graph.inputs(g),
            vec![Some(s.graph.find("Blur1").unwrap()), None]
        );
    }

    #[test]
    fn write_then_read_is_the_same_graph() {
        let s = parse(SAMPLE.as_bytes(), None).unwrap();
        let text = write(&s);
        let back = parse(text.as_bytes(), None).unwrap();
        assert_eq!(write(&back), text);
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse(
            b"{\"format\": \"smartcache-graph\",\n \"version\": 1, }",
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "<input>:2:16: invalid JSON: trailing comma");
        let bad = r#"{"format":"smartcache-graph","version":1,"nodes":[{"name":"A","class":"Blur","inputs":["Nope"]}]}"#;
        let e = parse(bad.as_bytes(), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<input>: nodes[0].inputs[0]: unknown node \"Nope\""
        );
        let cyc = r#"{"format":"smartcache-graph","version":1,"nodes":[
            {"name":"A","class":"Blur","inputs":["B"]},{"name":"B","class":"Blur","inputs":["A"]}]}"#;
        let e = parse(cyc.as_bytes(), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<input>: cycle in the node graph: A -> B -> A"
        );
        let v2 = r#"{"format":"smartcache-graph","version":7}"#;
        assert!(parse(v2.as_bytes(), None)
            .unwrap_err()
            .to_string()
            .contains("upgrade"));
    }
}
