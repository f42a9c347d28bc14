//! Frame-by-frame comparison of a snapshot with the master, and explanations.
//!
//! A frame is `valid` when its hash equals the master's, `outdated` when it differs,
//! `uncached` when the master does not have it, and `missing-render` when a recorded
//! render file is gone or changed. An outdated frame is explained by comparing the two
//! frame manifests (rebuilt from the stored setups, see [`crate::manifest`]): which
//! node and knob changed, with old and new values, or which node was added, removed or
//! rewired, or which source file changed.

use crate::manifest::{FrameView, Setup};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The status of one checked frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Valid,
    Outdated,
    Uncached,
    MissingRender,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Outdated => "outdated",
            Status::Uncached => "uncached",
            Status::MissingRender => "missing-render",
        }
    }
}

/// Why a frame is not valid. `text` is the one-line human form; the other fields carry
/// the same facts for tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
pub struct Reason {
    /// `knob`, `key`, `reads`, `added`, `removed`, `rewired`, `class`, `disabled`,
    /// `source`, `root`, `rules`, `render`, `unexplained`, `manifest-not-kept`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knob: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    pub text: String,
}

impl Reason {
    pub fn simple(kind: &str, text: impl Into<String>) -> Self {
        Reason {
            kind: kind.into(),
            node: None,
            knob: None,
            old: None,
            new: None,
            text: text.into(),
        }
    }
}

/// The checked state of one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameResult {
    pub frame: i64,
    pub status: Status,
    pub reasons: Vec<Reason>,
}

/// Longest value shown in a one-line reason; the JSON output keeps the whole value.
const SHOW_MAX: usize = 60;

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > SHOW_MAX {
        let cut: String = one_line.chars().take(SHOW_MAX - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// A knob value's JSON (see `eval::FrameValue` and `manifest::frame`) as a short text:
/// plain text as is, a curve as its value at the frame, an expression as its text.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("at") => display(&o["at"]),
        Value::Object(o) if o.contains_key("all") => display(&o["all"]),
        Value::Object(o) if o.contains_key("value") => display(&o["value"]),
        Value::Object(o) if o.contains_key("curve") => o["curve"]
            .get("value")
            .map(display)
            .unwrap_or_else(|| "curve".into()),
        Value::Object(o) if o.len() == 1 => display(o.values().next().expect("len 1")),
        Value::Array(a) => a.iter().map(display).collect::<Vec<_>>().join(""),
        other => other.to_string(),
    }
}

/// The curves' influencing keys of a knob value JSON, in order.
fn curve_keys(v: &Value, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(c)) = o.get("curve") {
                let keys = c
                    .get("keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(keys);
            } else {
                for (k, x) in o {
                    if k != "reads" {
                        curve_keys(x, out);
                    }
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| curve_keys(x, out)),
        _ => {}
    }
}

/// A key's frame and value from its canonical text (`L x1050 1.2 s0.5`).
fn key_parts(k: &str) -> (Option<&str>, Option<&str>) {
    let mut frame = None;
    let mut value = None;
    for w in k.split_whitespace() {
        if let Some(x) = w.strip_prefix('x') {
            frame = Some(x);
        } else if value.is_none()
            && (w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.'))
        {
            value = Some(w);
        }
    }
    (frame, value)
}

/// Explain the difference of one knob's values.
fn knob_reasons(node: &str, knob: &str, old: &str, new: &str, out: &mut Vec<Reason>) {
    let (ov, nv): (Value, Value) = (
        serde_json::from_str(old).unwrap_or(Value::String(old.into())),
        serde_json::from_str(new).unwrap_or(Value::String(new.into())),
    );
    let mk = |kind: &str, text: String, o: Option<String>, n: Option<String>| Reason {
        kind: kind.into(),
        node: Some(node.into()),
        knob: Some(knob.into()),
        old: o,
        new: n,
        text,
    };
    // Key-level changes first: the most precise explanation of an animated knob.
    let (mut ok, mut nk) = (Vec::new(), Vec::new());
    curve_keys(&ov, &mut ok);
    curve_keys(&nv, &mut nk);
    let mut found = false;
    if !ok.is_empty() && ok.len() == nk.len() {
        for (a, b) in ok.iter().zip(&nk) {
            let a_by: BTreeMap<_, _> = a.iter().map(|k| (key_parts(k).0, k.as_str())).collect();
            let b_by: BTreeMap<_, _> = b.iter().map(|k| (key_parts(k).0, k.as_str())).collect();
            for (f, ka) in &a_by {
                let at = f.unwrap_or("?");
                match b_by.get(f) {
                    Some(kb) if kb == ka => {}
                    Some(kb) => {
                        let (o, n) = (key_parts(ka).1.unwrap_or(ka), key_parts(kb).1.unwrap_or(kb));
                        let text = if o == n {
                            format!(
                                "{node}.{knob} key at {at} changed: {} -> {}",
                                short(ka),
                                short(kb)
                            )
                        } else {
                            format!("{node}.{knob} key at {at} changed {o} -> {n}")
                        };
                        out.push(mk("key", text, Some(ka.to_string()), Some(kb.to_string())));
                        found = true;
                    }
                    None => {
                        out.push(mk(
                            "key",
                            format!("{node}.{knob} key at {at} removed"),
                            Some(ka.to_string()),
                            None,
                        ));
                        found = true;
                    }
                }
            }
            for (f, kb) in &b_by {
                if !a_by.contains_key(f) {
                    let at = f.unwrap_or("?");
                    out.push(mk(
                        "key",
                        format!("{node}.{knob} key added at {at}"),
                        None,
                        Some(kb.to_string()),
                    ));
                    found = true;
                }
            }
        }
    }
    // Values read through expressions.
    let reads = |v: &Value| -> BTreeMap<String, Value> {
        v.get("reads")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let (or, nr) = (reads(&ov), reads(&nv));
    let at = |v: &Value| v.get("at").cloned().unwrap_or_else(|| v.clone());
    if !found && at(&ov) == at(&nv) && or != nr {
        for (path, o) in &or {
            let n = nr.get(path);
            if n != Some(o) {
                let nd = n.map(display).unwrap_or_else(|| "nothing".into());
                out.push(mk(
                    "reads",
                    format!(
                        "{node}.{knob} reads {path}, which changed {} -> {}",
                        short(&display(o)),
                        short(&nd)
                    ),
                    Some(display(o)),
                    n.map(display),
                ));
                found = true;
            }
        }
        for (path, n) in &nr {
            if !or.contains_key(path) {
                out.push(mk(
                    "reads",
                    format!("{node}.{knob} now reads {path} = {}", short(&display(n))),
                    None,
                    Some(display(n)),
                ));
                found = true;
            }
        }
    }
    if !found {
        let (o, n) = (display(&ov), display(&nv));
        let text = if o == n {
            format!("{node}.{knob} changed (same value at this frame; its animation or expression changed)")
        } else {
            format!("{node}.{knob} changed {} -> {}", short(&o), short(&n))
        };
        out.push(mk("knob", text, Some(o), Some(n)));
    }
}

/// One side of a comparison: a setup and its view at a frame.
pub struct Side<'a> {
    pub setup: &'a Setup,
    pub view: &'a FrameView,
}

/// Explain how `new` differs from `old`: node by node (matched by name), knob by knob.
pub fn explain(old: Side<'_>, new: Side<'_>) -> Vec<Reason> {
    let mut out = Vec::new();
    if old.setup.rules != new.setup.rules {
        out.push(Reason::simple("rules", "the ignore rules changed"));
    }
    // Root settings.
    let root_o: HashMap<_, _> = old.view.root.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let root_n: HashMap<_, _> = new.view.root.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut names: Vec<&str> = root_o.keys().chain(root_n.keys()).copied().collect();
    names.sort();
    names.dedup();
    for k in names {
        match (root_o.get(k), root_n.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => knob_reasons(
                "Root",
                k,
                a.map(|s| s.as_str()).unwrap_or("\"(default)\""),
                b.map(|s| s.as_str()).unwrap_or("\"(default)\""),
                &mut out,
            ),
        }
    }
    // Records keyed by (name, context) so that a node evaluated at several frames
    // (below a FrameBlend, say) is compared context by context.
    let key = |s: &Side<'_>, i: usize| {
        let r = &s.view.records[i];
        (s.setup.nodes[r.node].name.clone(), format!("{:?}", r.ctx))
    };
    let index = |s: &Side<'_>| -> BTreeMap<(String, String), usize> {
        (0..s.view.records.len()).map(|i| (key(s, i), i)).collect()
    };
    let (oi, ni) = (index(&old), index(&new));
    let input_names = |s: &Side<'_>, i: usize| -> Vec<Option<String>> {
        s.view.records[i]
            .inputs
            .iter()
            .map(|p| p.map(|p| s.setup.nodes[s.view.records[p].node].name.clone()))
            .collect()
    };
    for (k, &n) in &ni {
        let name = &k.0;
        let Some(&o) = oi.get(k) else {
            if !oi.keys().any(|(nm, _)| nm == name) {
                out.push(Reason {
                    kind: "added".into(),
                    node: Some(name.clone()),
                    knob: None,
                    old: None,
                    new: None,
                    text: format!(
                        "{name} ({}) is new upstream",
                        new.setup.nodes[new.view.records[n].node].class
                    ),
                });
            }
            continue;
        };
        let (ro, rn) = (&old.view.records[o], &new.view.records[n]);
        let (co, cn) = (
            &old.setup.nodes[ro.node].class,
            &new.setup.nodes[rn.node].class,
        );
        if co != cn {
            out.push(Reason {
                kind: "class".into(),
                node: Some(name.clone()),
                knob: None,
                old: Some(co.clone()),
                new: Some(cn.clone()),
                text: format!("{name} changed class {co} -> {cn}"),
            });
            continue;
        }
        if ro.disabled != rn.disabled {
            let (a, b) = (ro.disabled, rn.disabled);
            out.push(Reason {
                kind: "disabled".into(),
                node: Some(name.clone()),
                knob: Some("disable".into()),
                old: Some(a.to_string()),
                new: Some(b.to_string()),
                text: format!("{name}.disable changed {a} -> {b}"),
            });
            continue;
        }
        let (io, inn) = (input_names(&old, o), input_names(&new, n));
        if io != inn {
            let show = |v: &[Option<String>]| {
                v.iter()
                    .map(|s| s.clone().unwrap_or_else(|| "-".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(Reason {
                kind: "rewired".into(),
                node: Some(name.clone()),
                knob: None,
                old: Some(show(&io)),
                new: Some(show(&inn)),
                text: format!("{name} inputs rewired: [{}] -> [{}]", show(&io), show(&inn)),
            });
        }
        let ko: BTreeMap<_, _> = ro
            .knobs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let kn: BTreeMap<_, _> = rn
            .knobs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut knobs: Vec<&str> = ko.keys().chain(kn.keys()).copied().collect();
        knobs.sort();
        knobs.dedup();
        for kname in knobs {
            match (ko.get(kname), kn.get(kname)) {
                (Some(a), Some(b)) if a == b => {}
                (a, b) => knob_reasons(
                    name,
                    kname,
                    a.copied().unwrap_or("\"(default)\""),
                    b.copied().unwrap_or("\"(default)\""),
                    &mut out,
                ),
            }
        }
        if ro.source != rn.source {
            out.push(Reason {
                kind: "source".into(),
                node: Some(name.clone()),
                knob: Some("file".into()),
                old: ro.source.clone(),
                new: rn.source.clone(),
                text: format!(
                    "{name} source file changed on disk ({})",
                    source_detail(&ro.source, &rn.source)
                ),
            });
        }
    }
    for (k, &o) in &oi {
        if !ni.contains_key(k) && !ni.keys().any(|(nm, _)| nm == &k.0) {
            out.push(Reason {
                kind: "removed".into(),
                node: Some(k.0.clone()),
                knob: None,
                old: None,
                new: None,
                text: format!(
                    "{} ({}) is no longer upstream",
                    k.0, old.setup.nodes[old.view.records[o].node].class
                ),
            });
        }
    }
    if out.is_empty() {
        out.push(Reason::simple(
            "unexplained",
            "the frame manifests differ but no node or knob difference was found",
        ));
    }
    out.sort();
    out.dedup();
    out
}

fn source_detail(old: &Option<String>, new: &Option<String>) -> String {
    let path = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| v.get("path").and_then(Value::as_str).map(String::from))
    };
    path(new)
        .or_else(|| path(old))
        .unwrap_or_else(|| "?".into())
}

/// Group consecutive checked frames with the same status and reasons into ranges, for
/// the compact human report: `1041-1060 outdated: Grade1.white key at 1050 changed …`.
pub fn group_ranges(results: &[FrameResult]) -> Vec<(Vec<i64>, Status, Vec<Reason>)> {
    let mut groups: Vec<(Vec<i64>, Status, Vec<Reason>)> = Vec::new();
    for r in results {
        match groups.last_mut() {
            Some((frames, status, reasons)) if *status == r.status && *reasons == r.reasons => {
                frames.push(r.frame)
            }
            _ => groups.push((vec![r.frame], r.status, r.reasons.clone())),
        }
    }
    groups
}
