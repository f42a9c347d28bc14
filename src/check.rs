//! Frame-by-frame comparison of a snapshot with the master, and explanations.
//!
//! A frame is `valid` when its hash equals the master's, `outdated` when it differs,
//! `uncached` when the master does not have it, and `missing-render` when a recorded
//! render file is gone or changed. An outdated frame is explained by comparing the two
//! typed frame views (rebuilt from the stored setups, see [`crate::manifest`]): which
//! node and knob changed, with old and new values; which key, which value read through
//! an expression, which file on disk; which node was added, removed or rewired. The
//! views are the very values the hashes were computed from, so a frame whose hash
//! changed always has a difference to name.

use crate::eval::FramePart;
use crate::manifest::view::{
    display_value, key_parts, Entry, FileRead, FileState, FrameView, KnobEntry, ReadValue,
};
use crate::manifest::Setup;
use serde::Serialize;
use std::collections::BTreeMap;

/// The status of one checked frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The frame's hash equals the master's (and its recorded render, if any, is intact).
    Valid,
    /// The frame's hash differs from the master's: something it depends on changed.
    Outdated,
    /// The master has no hash for the frame.
    Uncached,
    /// The frame's recorded render is gone or changed on disk.
    MissingRender,
}

impl Status {
    /// The status as written in reports (`valid`, `outdated`, `uncached`, `missing-render`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Outdated => "outdated",
            Status::Uncached => "uncached",
            Status::MissingRender => "missing-render",
        }
    }
}

/// What kind of difference a [`Reason`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonKind {
    /// A knob's value.
    Knob,
    /// An animation key that can move the value at the frame.
    Key,
    /// A value an expression reads.
    Reads,
    /// A node new upstream.
    Added,
    /// A node no longer upstream.
    Removed,
    /// A node's inputs.
    Rewired,
    /// A node's class.
    Class,
    /// A node was enabled or disabled.
    Disabled,
    /// A node is read at other times (a time node upstream changed).
    Context,
    /// A file a node reads changed on disk.
    Source,
    /// A Root setting.
    Root,
    /// The whole script, which an expression smartcache cannot analyse may read.
    Script,
    /// The ignore rules.
    Rules,
    /// The node-class profile.
    Profile,
    /// The cache was recorded by a version with another frame format.
    Format,
    /// A recorded render file is gone or changed.
    Render,
    /// The frame changed and its manifests were not kept.
    ManifestNotKept,
    /// A manifest object the frame refers to is gone.
    ManifestMissing,
    /// A manifest object the frame refers to cannot be read.
    ManifestDamaged,
    /// Strict checking: the frame reads a path or a class smartcache cannot vouch for.
    Unverifiable,
}

/// Why a frame is not valid. `text` is the one-line human form; the other fields carry
/// the same facts for tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
pub struct Reason {
    /// What kind of difference.
    pub kind: ReasonKind,
    /// The node concerned, by full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The knob concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knob: Option<String>,
    /// The value before (the master's), whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The value now, whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// The one-line explanation shown to users.
    pub text: String,
}

impl Reason {
    /// A reason with only a kind and a text.
    pub fn simple(kind: ReasonKind, text: impl Into<String>) -> Self {
        Reason {
            kind,
            node: None,
            knob: None,
            old: None,
            new: None,
            text: text.into(),
        }
    }

    fn at(
        kind: ReasonKind,
        node: &str,
        knob: Option<&str>,
        old: Option<String>,
        new: Option<String>,
        text: String,
    ) -> Self {
        Reason {
            kind,
            node: Some(node.to_string()),
            knob: knob.map(str::to_string),
            old,
            new,
            text,
        }
    }
}

/// The checked state of one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameResult {
    /// The frame.
    pub frame: i64,
    /// Its status.
    pub status: Status,
    /// Why it is not valid (empty when it is).
    pub reasons: Vec<Reason>,
    /// Paths the frame reads that cannot be verified (`Node.knob: why`): a change
    /// there would go unseen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverifiable: Vec<String>,
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

/// How deep an explanation follows values read through expressions.
const MAX_READ_DEPTH: usize = 16;

/// The keys of each curve of an entry's value, in order.
fn curve_keys<'a>(e: &'a Entry<'_>) -> Vec<&'a [&'a str]> {
    e.value
        .value
        .iter()
        .filter_map(|p| match p {
            FramePart::Curve { keys, .. } => Some(keys.as_slice()),
            _ => None,
        })
        .collect()
}

/// The key-level differences of two entries' curves (when they have the same curves).
fn key_reasons(node: &str, knob: &str, old: &Entry<'_>, new: &Entry<'_>, out: &mut Vec<Reason>) {
    let (ok, nk) = (curve_keys(old), curve_keys(new));
    if ok.is_empty() || ok.len() != nk.len() {
        return;
    }
    let mk = |text: String, o: Option<&str>, n: Option<&str>| {
        Reason::at(
            ReasonKind::Key,
            node,
            Some(knob),
            o.map(str::to_string),
            n.map(str::to_string),
            text,
        )
    };
    for (a, b) in ok.iter().zip(&nk) {
        let a_by: BTreeMap<_, _> = a.iter().map(|k| (key_parts(k).0, *k)).collect();
        let b_by: BTreeMap<_, _> = b.iter().map(|k| (key_parts(k).0, *k)).collect();
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
                    out.push(mk(text, Some(ka), Some(kb)));
                }
                None => out.push(mk(
                    format!("{node}.{knob} key at {at} removed"),
                    Some(ka),
                    None,
                )),
            }
        }
        for (f, kb) in &b_by {
            if !a_by.contains_key(f) {
                let at = f.unwrap_or("?");
                out.push(mk(
                    format!("{node}.{knob} key added at {at}"),
                    None,
                    Some(kb),
                ));
            }
        }
    }
}

/// A read value as a short text.
fn display_read(v: &ReadValue<'_>) -> String {
    match v {
        ReadValue::Knob(e) => display_value(&e.value),
        ReadValue::Default { class } => format!("the {class} default"),
        ReadValue::RootDefault => "the Root default".into(),
        ReadValue::Image => "its image".into(),
        ReadValue::Unresolved => "nothing (no such node or knob)".into(),
        ReadValue::Cycle => "itself (a cycle)".into(),
        ReadValue::Env(Some(v)) => (*v).to_string(),
        ReadValue::Env(None) => "unset".into(),
    }
}

/// Explain the difference of one knob's entries (`old` or `new` absent: the knob was
/// added or removed, or is at its default on that side).
fn knob_reasons<'e, 's>(
    node: &str,
    knob: &str,
    old: Option<&'e Entry<'s>>,
    new: Option<&'e Entry<'s>>,
    kind: ReasonKind,
    out: &mut Vec<Reason>,
) {
    let (o, n) = match (old, new) {
        (Some(o), Some(n)) => (o, n),
        (o, n) => {
            let show =
                |e: Option<&Entry<'_>>| e.map_or("(default)".into(), |e| display_value(&e.value));
            let (a, b) = (show(o), show(n));
            let text = if a == b {
                format!(
                    "{node}.{knob} is now {}",
                    if n.is_some() { "set" } else { "unset" }
                )
            } else {
                format!("{node}.{knob} changed {} -> {}", short(&a), short(&b))
            };
            out.push(Reason::at(kind, node, Some(knob), Some(a), Some(b), text));
            return;
        }
    };
    if o.digest == n.digest {
        return;
    }
    // One knob, followed through what it reads while the shown values stay the same.
    let (mut cn, mut ck): (String, String) = (node.into(), knob.into());
    let (mut co, mut cw): (&'e Entry<'s>, &'e Entry<'s>) = (o, n);
    let mut via: Vec<String> = Vec::new();
    for _ in 0..MAX_READ_DEPTH {
        let prefix = |text: String| {
            if via.is_empty() {
                text
            } else {
                format!("{node}.{knob} reads {}: {text}", via.join(" -> "))
            }
        };
        let before = out.len();
        key_reasons(&cn, &ck, co, cw, out);
        if out.len() > before {
            for r in &mut out[before..] {
                r.text = prefix(std::mem::take(&mut r.text));
                if !via.is_empty() {
                    r.kind = ReasonKind::Reads;
                    r.node = Some(node.into());
                    r.knob = Some(knob.into());
                }
            }
            return;
        }
        let (dv_o, dv_n) = (display_value(&co.value), display_value(&cw.value));
        if co.value == cw.value && co.stamp == cw.stamp && co.reads != cw.reads {
            // The expression is the same; something it reads changed.
            let mut paths: Vec<&str> = co.reads.iter().chain(&cw.reads).map(|r| r.path).collect();
            paths.sort_unstable();
            paths.dedup();
            let find = |e: &'e Entry<'s>, p: &str| -> Option<&'e ReadValue<'s>> {
                e.reads.iter().find(|r| r.path == p).map(|r| &r.value)
            };
            let mut next: Option<(&str, &'e Entry<'s>, &'e Entry<'s>)> = None;
            for p in paths {
                match (find(co, p), find(cw, p)) {
                    (Some(a), Some(b)) if a == b => {}
                    (Some(ReadValue::Knob(a)), Some(ReadValue::Knob(b)))
                        if display_value(&a.value) == display_value(&b.value) =>
                    {
                        next.get_or_insert((p, a, b));
                    }
                    (a, b) => {
                        let (sa, sb) = (
                            a.map_or("nothing".into(), display_read),
                            b.map_or("nothing".into(), display_read),
                        );
                        let text = prefix(format!(
                            "{cn}.{ck} reads {p}, which changed {} -> {}",
                            short(&sa),
                            short(&sb)
                        ));
                        out.push(Reason::at(
                            ReasonKind::Reads,
                            node,
                            Some(knob),
                            Some(sa),
                            Some(sb),
                            text,
                        ));
                    }
                }
            }
            if out.len() > before {
                return;
            }
            if let Some((p, a, b)) = next {
                // Same shown value, different content: follow the read.
                via.push(p.to_string());
                let (pn, pk) = p.rsplit_once('.').unwrap_or(("", p));
                (cn, ck) = (pn.to_string(), pk.to_string());
                (co, cw) = (a, b);
                continue;
            }
        }
        let text = if dv_o != dv_n {
            format!("{cn}.{ck} changed {} -> {}", short(&dv_o), short(&dv_n))
        } else if co.stamp != cw.stamp {
            format!(
                "{cn}.{ck} depends on the time and is now evaluated at {} (was {})",
                cw.stamp.map_or("-".into(), |s| s.describe()),
                co.stamp.map_or("-".into(), |s| s.describe())
            )
        } else if co.value.unresolvable != cw.value.unresolvable {
            format!(
                "{cn}.{ck} now has parts smartcache cannot analyse: {} (was {})",
                short(&cw.value.unresolvable.join(", ")),
                short(&co.value.unresolvable.join(", "))
            )
        } else {
            // Same display, different content (curve flags, the form of an expression):
            // show what the two contents are.
            format!(
                "{cn}.{ck} changed (same value at this frame; its animation or expression \
                 changed: {} -> {})",
                short(&raw_text(co)),
                short(&raw_text(cw))
            )
        };
        out.push(Reason::at(
            if via.is_empty() {
                kind
            } else {
                ReasonKind::Reads
            },
            node,
            Some(knob),
            Some(dv_o),
            Some(dv_n),
            prefix(text),
        ));
        return;
    }
    out.push(Reason::at(
        ReasonKind::Reads,
        node,
        Some(knob),
        None,
        None,
        format!("{node}.{knob} reads a chain of expressions that changed"),
    ));
}

/// An entry's parts as written, for the rare difference that does not show in its
/// value at the frame.
fn raw_text(e: &Entry<'_>) -> String {
    e.value
        .value
        .iter()
        .map(|p| match p {
            FramePart::Text(t) => t.to_string(),
            FramePart::Curve { flags, keys, .. } => {
                format!("{{curve {} {}}}", flags.join(" "), keys.join(" "))
            }
            FramePart::Raw { text, .. } => text.to_string(),
        })
        .collect()
}

/// One side of a comparison: a setup and its view at a frame.
pub struct Side<'a, 's> {
    /// The setup the view was built from.
    pub setup: &'a Setup,
    /// The frame's view of that setup.
    pub view: &'a FrameView<'s>,
}

fn entries<'a, 's>(list: &'a [KnobEntry<'s>]) -> BTreeMap<&'s str, &'a Entry<'s>> {
    list.iter().map(|k| (k.name, &k.entry)).collect()
}

fn compare_knobs(
    node: &str,
    old: &[KnobEntry<'_>],
    new: &[KnobEntry<'_>],
    kind: ReasonKind,
    out: &mut Vec<Reason>,
) {
    let (ko, kn) = (entries(old), entries(new));
    let mut names: Vec<&str> = ko.keys().chain(kn.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    for k in names {
        let (a, b) = (ko.get(k).copied(), kn.get(k).copied());
        if a.map(|e| e.digest) != b.map(|e| e.digest) {
            knob_reasons(node, k, a, b, kind, out);
        }
    }
}

fn file_reasons(node: &str, old: &[FileRead], new: &[FileRead], out: &mut Vec<Reason>) {
    let by = |l: &[FileRead]| -> BTreeMap<(String, String), FileState> {
        l.iter()
            .map(|f| ((f.knob.clone(), f.path.clone()), f.state.clone()))
            .collect()
    };
    let (o, n) = (by(old), by(new));
    for ((knob, path), state) in &n {
        let text = match (o.get(&(knob.clone(), path.clone())), state) {
            (Some(a), b) if a == b => continue,
            (Some(FileState::Content(_)), FileState::Content(_)) => {
                format!("{node} source file changed on disk ({path})")
            }
            (Some(_), FileState::Missing) => format!("{node} source file is now missing ({path})"),
            (Some(FileState::Missing), _) => format!("{node} source file appeared ({path})"),
            (Some(_), b) => format!("{node} source file {path}: {}", b.describe()),
            (None, b) => format!("{node}.{knob} now reads {path} ({})", short(&b.describe())),
        };
        out.push(Reason::at(
            ReasonKind::Source,
            node,
            Some(knob),
            o.get(&(knob.clone(), path.clone()))
                .map(FileState::describe),
            Some(state.describe()),
            text,
        ));
    }
    for ((knob, path), state) in &o {
        if !n.contains_key(&(knob.clone(), path.clone())) {
            out.push(Reason::at(
                ReasonKind::Source,
                node,
                Some(knob),
                Some(state.describe()),
                None,
                format!("{node}.{knob} no longer reads {path}"),
            ));
        }
    }
}

/// Explain how `new` differs from `old`: node by node (matched by name and time
/// context), knob by knob. Never empty when the views' hashes differ.
pub fn explain(old: Side<'_, '_>, new: Side<'_, '_>) -> Vec<Reason> {
    let names = SetupNames::of(old.setup, new.setup);
    explain_with(old, new, &names)
}

/// The node names one of two setups has and the other has not, to tell a node new (or
/// gone) upstream from a node only visited now (or no longer). Made once for the many
/// frames of a pair of setups.
///
/// Only the differences are kept: two sets of every name cost megabytes at 50,000
/// nodes, while an edit adds or removes a few. Names are unique in a setup, and the two
/// setups of a check list their common nodes mostly at the same positions, so only the
/// names at positions where the lists differ are compared as sets.
pub struct SetupNames<'a> {
    only_old: std::collections::HashSet<&'a str>,
    only_new: std::collections::HashSet<&'a str>,
}

impl<'a> SetupNames<'a> {
    /// The names of the nodes of `old` not in `new`, and of `new` not in `old`.
    pub fn of(old: &'a Setup, new: &'a Setup) -> Self {
        let name = |s: &'a Setup, i: usize| s.nodes.get(i).map(|n| n.name.as_str());
        let moved = |a: &'a Setup, b: &'a Setup| -> std::collections::HashSet<&'a str> {
            (0..a.nodes.len())
                .filter(|&i| name(a, i) != name(b, i))
                .filter_map(|i| name(a, i))
                .collect()
        };
        // A name of `old` at a position where `new` has another name is in `new` only at
        // such a position too (names are unique): the two `moved` sets decide.
        let (mo, mn) = (moved(old, new), moved(new, old));
        SetupNames {
            only_old: mo.difference(&mn).copied().collect(),
            only_new: mn.difference(&mo).copied().collect(),
        }
    }

    /// Whether the old setup has the node `name` of the new one.
    fn in_old(&self, name: &str) -> bool {
        !self.only_new.contains(name)
    }

    /// Whether the new setup has the node `name` of the old one.
    fn in_new(&self, name: &str) -> bool {
        !self.only_old.contains(name)
    }
}

/// [`explain`] with the setups' node names made beforehand.
pub fn explain_with(old: Side<'_, '_>, new: Side<'_, '_>, names: &SetupNames<'_>) -> Vec<Reason> {
    let mut out = Vec::new();
    if old.setup.rules != new.setup.rules {
        out.push(Reason::simple(
            ReasonKind::Rules,
            "the ignore rules changed",
        ));
    }
    if old.setup.profile != new.setup.profile {
        out.push(Reason::simple(
            ReasonKind::Profile,
            "the node-class profile changed",
        ));
    }
    compare_knobs(
        "Root",
        &old.view.root,
        &new.view.root,
        ReasonKind::Root,
        &mut out,
    );
    file_reasons("Root", &old.view.root_files, &new.view.root_files, &mut out);
    script_reasons(&old, &new, &mut out);

    // Records keyed by (name, context) so that a node evaluated at several frames
    // (below a FrameBlend, say) is compared context by context.
    let key = |s: &Side<'_, '_>, i: usize| {
        let r = &s.view.records[i];
        (r.name.to_string(), r.ctx.key())
    };
    let index = |s: &Side<'_, '_>| -> BTreeMap<(String, _), usize> {
        (0..s.view.records.len()).map(|i| (key(s, i), i)).collect()
    };
    let (oi, ni) = (index(&old), index(&new));
    // A node is new (or gone) upstream when the other setup does not have it at all; a
    // node only visited now (a branch a Switch or a disable opened) is explained by the
    // knob that opened it.
    let input_names = |s: &Side<'_, '_>, i: usize| -> Vec<Option<String>> {
        s.view.records[i]
            .inputs
            .iter()
            .map(|p| p.map(|p| s.view.records[p].name.to_string()))
            .collect()
    };
    for (k, &n) in &ni {
        let name = k.0.as_str();
        let rn = &new.view.records[n];
        let Some(&o) = oi.get(k) else {
            if !names.in_old(name) {
                out.push(Reason::at(
                    ReasonKind::Added,
                    name,
                    None,
                    None,
                    None,
                    format!("{name} ({}) is new upstream", rn.class),
                ));
            }
            continue;
        };
        let ro = &old.view.records[o];
        if ro.class != rn.class {
            out.push(Reason::at(
                ReasonKind::Class,
                name,
                None,
                Some(ro.class.into()),
                Some(rn.class.into()),
                format!("{name} changed class {} -> {}", ro.class, rn.class),
            ));
            continue;
        }
        if ro.disabled != rn.disabled {
            let (a, b) = (ro.disabled, rn.disabled);
            out.push(Reason::at(
                ReasonKind::Disabled,
                name,
                Some("disable"),
                Some(a.to_string()),
                Some(b.to_string()),
                format!("{name}.disable changed {a} -> {b}"),
            ));
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
            out.push(Reason::at(
                ReasonKind::Rewired,
                name,
                None,
                Some(show(&io)),
                Some(show(&inn)),
                format!("{name} inputs rewired: [{}] -> [{}]", show(&io), show(&inn)),
            ));
        }
        compare_knobs(name, &ro.knobs, &rn.knobs, ReasonKind::Knob, &mut out);
        compare_knobs(name, &ro.root, &rn.root, ReasonKind::Root, &mut out);
        file_reasons(name, &ro.files, &rn.files, &mut out);
    }
    for (k, &o) in &oi {
        if !names.in_new(k.0.as_str()) {
            out.push(Reason::at(
                ReasonKind::Removed,
                &k.0,
                None,
                None,
                None,
                format!(
                    "{} ({}) is no longer upstream",
                    k.0, old.view.records[o].class
                ),
            ));
        }
    }
    if out.is_empty() {
        out.extend(context_reason(&old, &new));
    }
    out.sort();
    out.dedup();
    out
}

/// The whole-script dependency: which nodes changed, when an expression that cannot be
/// analysed may read any of them.
fn script_reasons(old: &Side<'_, '_>, new: &Side<'_, '_>, out: &mut Vec<Reason>) {
    let (a, b) = (old.view.script, new.view.script);
    if a == b {
        return;
    }
    let who = new
        .setup
        .opaque_knobs()
        .into_iter()
        .chain(old.setup.opaque_knobs())
        .next()
        .unwrap_or_else(|| "an expression".into());
    let empty = BTreeMap::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    let mut changed: Vec<String> = Vec::new();
    for (k, v) in b {
        match a.get(k) {
            Some(w) if w == v => {}
            Some(_) => changed.push(format!("{k} changed")),
            None => changed.push(format!("{k} added")),
        }
    }
    for k in a.keys() {
        if !b.contains_key(k) {
            changed.push(format!("{k} removed"));
        }
    }
    let what = if changed.is_empty() {
        "it now depends on the whole script".to_string()
    } else {
        let more = changed.len().saturating_sub(3);
        let mut s = changed
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    };
    out.push(Reason::simple(
        ReasonKind::Script,
        format!("{who} cannot be analysed (it may read any node), and the script changed: {what}"),
    ));
}

/// When nothing else differs, the frames read nodes in other time contexts or another
/// order: name the first node whose reading differs.
fn context_reason(old: &Side<'_, '_>, new: &Side<'_, '_>) -> Option<Reason> {
    let (ro, rn) = (&old.view.records, &new.view.records);
    for i in 0..ro.len().max(rn.len()) {
        match (ro.get(i), rn.get(i)) {
            (Some(a), Some(b)) if a.name == b.name && a.ctx.key() == b.ctx.key() => {
                let same_inputs = a.inputs.len() == b.inputs.len()
                    && a.inputs.iter().zip(&b.inputs).all(|(x, y)| {
                        x.map(|x| (ro[x].name, ro[x].ctx.key()))
                            == y.map(|y| (rn[y].name, rn[y].ctx.key()))
                    });
                if !same_inputs {
                    return Some(Reason::at(
                        ReasonKind::Context,
                        b.name,
                        None,
                        None,
                        None,
                        format!("{} now reads its inputs at other times", b.name),
                    ));
                }
                if a.stamp != b.stamp {
                    return Some(Reason::at(
                        ReasonKind::Context,
                        b.name,
                        None,
                        a.stamp.map(|s| s.describe()),
                        b.stamp.map(|s| s.describe()),
                        format!("{} is now evaluated at another time", b.name),
                    ));
                }
            }
            (Some(a), Some(b)) if a.name == b.name => {
                return Some(Reason::at(
                    ReasonKind::Context,
                    b.name,
                    None,
                    Some(a.ctx.describe()),
                    Some(b.ctx.describe()),
                    format!(
                        "{} is now read at {} (was {})",
                        b.name,
                        b.ctx.describe(),
                        a.ctx.describe()
                    ),
                ))
            }
            (Some(a), Some(b)) => {
                return Some(Reason::at(
                    ReasonKind::Context,
                    b.name,
                    None,
                    Some(a.name.into()),
                    Some(b.name.into()),
                    format!(
                        "the frame now reads {} at {} where it read {} at {}",
                        b.name,
                        b.ctx.describe(),
                        a.name,
                        a.ctx.describe()
                    ),
                ))
            }
            (Some(a), None) => {
                return Some(Reason::at(
                    ReasonKind::Context,
                    a.name,
                    None,
                    Some(a.ctx.describe()),
                    None,
                    format!("{} is no longer read at {}", a.name, a.ctx.describe()),
                ))
            }
            (None, Some(b)) => {
                return Some(Reason::at(
                    ReasonKind::Context,
                    b.name,
                    None,
                    None,
                    Some(b.ctx.describe()),
                    format!("{} is now also read at {}", b.name, b.ctx.describe()),
                ))
            }
            (None, None) => break,
        }
    }
    None
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
