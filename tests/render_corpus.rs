//! The render cache over the whole shared corpus (`../shared/corpus/nk`, 360 real scripts
//! and gizmos): for every terminal node, record a few frames, then
//! 1. check the untouched script: every frame `valid`;
//! 2. check after moving every node (every `xpos`/`ypos` value changed): every frame
//!    `valid`, since a node's position cannot change pixels;
//! 3. check after changing one knob that is in the frame's manifest: the frame is
//!    `outdated` and a reason names that `Node.knob`.
//!
//! Which nodes are "terminal": nodes nothing reads (no consumers) at the file's own
//! level. For a `.nk` script that is the top level. A `.gizmo` file is one `Gizmo {` /
//! `Group {` block whose body is the tool, so its level is the body (the children of
//! its top-level group nodes); the wrapping group itself is what a host would cache,
//! and recording its inner terminals covers the same nodes and more outputs.
//! `BackdropNode` and `StickyNote` are excluded: they are annotations with no image
//! (the built-in rules drop them), so there is nothing to cache. Everything else,
//! Viewers included, is recorded.
//!
//! The library API carries the bulk (record/check per terminal node); the CLI runs the
//! same three steps on a sample of files so the user's path is covered too. Failures are
//! collected over the whole corpus and reported together, with counts.

mod common;
use common::*;
use smartcache::check::{Reason, Status};
use smartcache::graph::{NodeId, Script};
use smartcache::ignore::RuleSet;
use smartcache::manifest::{NoSources, Prepared, Setup};
use smartcache::render::{self, CheckOptions, LoadedScript, RecordOptions};
use smartcache::store::CacheDir;
use std::fmt::Write as _;
use std::path::Path;

/// Frames recorded per terminal node, from the script's first frame.
const FRAMES: i64 = 3;
/// Every how many files (in sorted order) the CLI runs too.
const CLI_EVERY: usize = 24;

/// Terminal nodes the engine cannot record, with the reason. Empty: every terminal
/// node of the corpus records. (Nodes inside a group that read the group's own image
/// info, `parent.width`, used to fail with a false cycle; see `manifest::setup`.) The
/// test fails if an entry here records, so the list can only shrink.
const KNOWN_CYCLES: &[(&str, &str)] = &[];

fn known_cycle(label: &str, out: &str) -> bool {
    KNOWN_CYCLES.contains(&(label, out))
}

fn is_gizmo(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("gizmo")
}

/// The terminal nodes of a file, in file order (see the module docs for the choice).
fn terminals(script: &Script, gizmo: bool) -> Vec<NodeId> {
    let g = &script.graph;
    let level: Vec<NodeId> = if gizmo {
        g.children(None)
            .filter(|&id| g.node(id).is_group())
            .flat_map(|grp| g.children(Some(grp)).collect::<Vec<_>>())
            .collect()
    } else {
        g.children(None).collect()
    };
    level
        .into_iter()
        .filter(|&id| !matches!(g.node(id).class.as_str(), "BackdropNode" | "StickyNote"))
        .filter(|&id| g.consumers(id).next().is_none())
        .collect()
}

/// The script text with every node moved: each `xpos N` / `ypos N` line gets N + 37.
/// Returns the text and how many values changed.
fn move_every_node(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut moved = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = &body[..body.len() - body.trim_start().len()];
        let shifted = ["xpos ", "ypos "].iter().find_map(|k| {
            let v = body.trim_start().strip_prefix(k)?.trim();
            Some(format!("{indent}{k}{}", bump(v)?))
        });
        match shifted {
            Some(s) => {
                moved += 1;
                out.push_str(&s);
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    (out, moved)
}

/// A plain number's text plus 37 (integers stay integers), or `None` for anything else.
fn bump(v: &str) -> Option<String> {
    if let Ok(i) = v.parse::<i64>() {
        return Some((i + 37).to_string());
    }
    let f = v.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Some((f + 37.0).to_string())
}

/// A knob edit: where in the file, the new text, and the `Node.knob` it changes.
struct KnobEdit {
    node: String,
    knob: String,
    /// Byte range of the value in the file, and its replacement.
    range: std::ops::Range<usize>,
    new_value: String,
}

impl KnobEdit {
    fn apply(&self, text: &str) -> String {
        format!(
            "{}{}{}",
            &text[..self.range.start],
            self.new_value,
            &text[self.range.end..]
        )
    }
}

/// The kinds of knob value the edit can change, in order of preference.
const EDIT_KINDS: usize = 4;

/// The edited text of `value` for edit kind `kind`, or `None` when the value is not of
/// that kind: 0, a bare number (+37); 1, a braced list of bare numbers (first +37);
/// 2, a bare word (`_edited` appended); 3, a quoted string without escapes or
/// expressions (`_edited` appended inside the quotes).
fn edited(value: &str, kind: usize) -> Option<String> {
    let bare = |v: &str| {
        !v.is_empty()
            && !v
                .chars()
                .any(|c| c.is_whitespace() || "{}[]\"$\\".contains(c))
    };
    match kind {
        0 if bare(value) => bump(value),
        1 => {
            let inner = value.strip_prefix('{')?.strip_suffix('}')?;
            let words: Vec<&str> = inner.split_whitespace().collect();
            if words.is_empty() || !words.iter().all(|w| bare(w) && w.parse::<f64>().is_ok()) {
                return None;
            }
            let mut out = vec![bump(words[0])?];
            out.extend(words[1..].iter().map(|w| w.to_string()));
            Some(format!("{{{}}}", out.join(" ")))
        }
        2 if bare(value) && value.parse::<f64>().is_err() => Some(format!("{value}_edited")),
        3 => {
            let inner = value.strip_prefix('"')?.strip_suffix('"')?;
            if inner.chars().any(|c| "\"[]$\\{}".contains(c)) {
                return None;
            }
            Some(format!("\"{inner}_edited\""))
        }
        _ => None,
    }
}

/// Choose the knob to change for an output: walking the frame manifest at `frame` in its
/// order (inputs first, so the farthest upstream node first), the first knob whose
/// value is written on one line of the node's block, of the first kind of
/// [`edited`] that any knob has. Skips `disable` (a disabled node's record changes
/// shape rather than naming a knob) and clones (their knobs live in another block).
fn choose_edit(loaded: &LoadedScript, text: &str, setup: &Setup, frame: f64) -> Option<KnobEdit> {
    choose_edit_in(loaded, text, setup, frame, "")
}

/// [`choose_edit`] among the nodes whose full name starts with `prefix` (the children
/// of a group: `Group1.`).
fn choose_edit_in(
    loaded: &LoadedScript,
    text: &str,
    setup: &Setup,
    frame: f64,
    prefix: &str,
) -> Option<KnobEdit> {
    let view = Prepared::new(setup).view(frame, &NoSources);
    let g = &loaded.script.graph;
    for kind in 0..EDIT_KINDS {
        for r in &view.records {
            let sn = &setup.nodes[r.node];
            if !sn.name.starts_with(prefix) {
                continue;
            }
            let Some(id) = g.find(&sn.name) else { continue };
            let node = g.node(id);
            if node.clone_of.is_some() {
                continue;
            }
            for kname in r.knobs.iter().map(|k| k.name) {
                if kname == "disable" {
                    continue;
                }
                let Some(value) = node.knob(kname) else {
                    continue;
                };
                let Some(new_value) = edited(value, kind) else {
                    continue;
                };
                // The last line of the node's block that sets this knob (the one that
                // wins when the script loads).
                let Some(block) = text.get(node.span.start..node.span.end) else {
                    continue;
                };
                let wanted = format!("{kname} {value}");
                let mut at = None;
                let mut offset = node.span.start;
                for line in block.split_inclusive('\n') {
                    let body = line.trim_end_matches(['\n', '\r']);
                    if body.trim() == wanted {
                        let start = offset + body.len() - body.trim_start().len() + kname.len() + 1;
                        at = Some(start..start + value.len());
                    }
                    offset += line.len();
                }
                if let Some(range) = at {
                    return Some(KnobEdit {
                        node: sn.name.to_string(),
                        knob: kname.to_string(),
                        range,
                        new_value,
                    });
                }
            }
        }
    }
    None
}

#[derive(Default)]
struct Tally {
    files: usize,
    terminals: usize,
    frames_checked: usize,
    moved_values: usize,
    knob_edits: usize,
    cli_files: usize,
    /// Nodes of [`KNOWN_CYCLES`] that failed as listed.
    known_cycles: usize,
    /// Terminal nodes whose manifest has no plain knob to edit, with why.
    no_knob: Vec<String>,
    failures: Vec<String>,
}

fn frames_for(script: &Script) -> Vec<i64> {
    let first = script.frame_range().0;
    (first..first + FRAMES).collect()
}

fn statuses(results: &[smartcache::check::FrameResult]) -> String {
    results
        .iter()
        .map(|r| format!("{} {}", r.frame, r.status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// One corpus file through the three steps, with the library API.
fn run_file(src: &Path, work: &Path, tally: &mut Tally) {
    let label = src
        .strip_prefix(shared().join("corpus/nk"))
        .unwrap_or(src)
        .display()
        .to_string();
    let fail = |tally: &mut Tally, msg: String| tally.failures.push(format!("{label}: {msg}"));
    let text = match std::fs::read_to_string(src) {
        Ok(t) => t,
        Err(e) => return fail(tally, format!("cannot read: {e}")),
    };
    let script_path = work.join(src.file_name().unwrap());
    std::fs::write(&script_path, &text).unwrap();
    let loaded = match LoadedScript::read(&script_path) {
        Ok(l) => l,
        Err(e) => return fail(tally, format!("cannot load: {e}")),
    };
    let rules = RuleSet::builtin();
    let profile = smartcache::profile::Profile::nuke();
    let frames = frames_for(&loaded.script);
    let outputs: Vec<String> = terminals(&loaded.script, is_gizmo(src))
        .into_iter()
        .map(|id| loaded.script.graph.node(id).name.to_string())
        .collect();
    tally.files += 1;
    tally.terminals += outputs.len();
    let cache_of = |i: usize| CacheDir::new(work.join(format!("cache{i}")));

    // 1. Record, then check the untouched script.
    let mut recorded = vec![false; outputs.len()];
    for (i, out) in outputs.iter().enumerate() {
        let cache = cache_of(i);
        match render::record(
            &loaded,
            &cache,
            &RecordOptions::new(out, &rules, &profile).frames(&frames),
        ) {
            Err(e) if known_cycle(&label, out) && e.to_string().contains("cycle") => {
                tally.known_cycles += 1;
                continue;
            }
            Err(e) => {
                fail(tally, format!("{out}: record failed: {e}"));
                continue;
            }
            Ok(_) if known_cycle(&label, out) => {
                fail(
                    tally,
                    format!("{out}: listed in KNOWN_CYCLES but records now"),
                );
            }
            Ok(_) => {}
        }
        match render::check(
            &loaded,
            &cache,
            &CheckOptions::new(out, &rules, &profile).frames(&frames),
        ) {
            Ok(rep) if rep.all_valid() && rep.frames.len() == frames.len() => {
                tally.frames_checked += rep.frames.len();
                recorded[i] = true;
            }
            Ok(rep) => fail(
                tally,
                format!(
                    "{out}: unchanged script not all valid: {}",
                    statuses(&rep.frames)
                ),
            ),
            Err(e) => fail(tally, format!("{out}: check failed: {e}")),
        }
    }

    // 2. Every node moved: still valid.
    let (moved_text, moved) = move_every_node(&text);
    tally.moved_values += moved;
    std::fs::write(&script_path, &moved_text).unwrap();
    match LoadedScript::read(&script_path) {
        Err(e) => fail(tally, format!("cannot load after moving nodes: {e}")),
        Ok(moved_loaded) => {
            for (i, out) in outputs.iter().enumerate().filter(|(i, _)| recorded[*i]) {
                match render::check(
                    &moved_loaded,
                    &cache_of(i),
                    &CheckOptions::new(out, &rules, &profile).frames(&frames),
                ) {
                    Ok(rep) if rep.all_valid() => tally.frames_checked += rep.frames.len(),
                    Ok(rep) => fail(
                        tally,
                        format!(
                            "{out}: moving nodes outdated frames: {} ({})",
                            statuses(&rep.frames),
                            rep.frames
                                .iter()
                                .map(|r| names(&r.reasons))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        ),
                    ),
                    Err(e) => fail(tally, format!("{out}: check after moving failed: {e}")),
                }
            }
        }
    }

    // 3. One knob in the manifest changed: outdated, naming it.
    for (i, out) in outputs.iter().enumerate().filter(|(i, _)| recorded[*i]) {
        let setup = match Setup::build(&loaded.script, out, &rules, &profile) {
            Ok(s) => s,
            Err(e) => {
                fail(tally, format!("{out}: setup failed: {e}"));
                continue;
            }
        };
        let Some(edit) = choose_edit(&loaded, &text, &setup, frames[0] as f64) else {
            let view = Prepared::new(&setup).view(frames[0] as f64, &NoSources);
            let knobs: usize = view.records.iter().map(|r| r.knobs.len()).sum();
            tally.no_knob.push(format!(
                "{label}: {out} ({} records, {knobs} knobs, none a plain value)",
                view.records.len()
            ));
            continue;
        };
        std::fs::write(&script_path, edit.apply(&text)).unwrap();
        let edited = match LoadedScript::read(&script_path) {
            Ok(l) => l,
            Err(e) => {
                fail(
                    tally,
                    format!(
                        "{out}: cannot load after editing {}.{}: {e}",
                        edit.node, edit.knob
                    ),
                );
                continue;
            }
        };
        match render::check(
            &edited,
            &cache_of(i),
            &CheckOptions::new(out, &rules, &profile).frames(&frames),
        ) {
            Ok(rep) => {
                let first = &rep.frames[0];
                let named = first.reasons.iter().any(|r| {
                    r.node.as_deref() == Some(edit.node.as_str())
                        && r.knob.as_deref() == Some(edit.knob.as_str())
                        && r.text.contains(&format!("{}.{}", edit.node, edit.knob))
                });
                if first.status == Status::Outdated && named {
                    tally.knob_edits += 1;
                    tally.frames_checked += rep.frames.len();
                } else {
                    fail(
                        tally,
                        format!(
                            "{out}: editing {}.{} -> {}: frame {} is {} ({})",
                            edit.node,
                            edit.knob,
                            edit.new_value,
                            first.frame,
                            first.status.as_str(),
                            names(&first.reasons)
                        ),
                    );
                }
            }
            Err(e) => fail(tally, format!("{out}: check after editing failed: {e}")),
        }
    }
}

/// The same three steps through the `smartcache` binary, for the first terminal node.
fn run_cli(src: &Path, work: &Path, tally: &mut Tally) {
    let label = src
        .strip_prefix(shared().join("corpus/nk"))
        .unwrap_or(src)
        .display()
        .to_string();
    let text = std::fs::read_to_string(src).unwrap();
    let script = work.join(src.file_name().unwrap());
    std::fs::write(&script, &text).unwrap();
    let loaded = match LoadedScript::read(&script) {
        Ok(l) => l,
        Err(e) => {
            tally
                .failures
                .push(format!("{label}: cli: cannot load: {e}"));
            return;
        }
    };
    let Some(&id) = terminals(&loaded.script, is_gizmo(src)).first() else {
        return;
    };
    let out = loaded.script.graph.node(id).name.clone();
    let frames = frames_for(&loaded.script);
    let spec = format!("{}-{}", frames[0], frames[frames.len() - 1]);
    let cache = work.join("cli-cache");
    let run = |cmd: &str| {
        let o = smartcache()
            .args([cmd])
            .arg(&script)
            .args(["--node", &out, "--frames", &spec, "--cache-dir"])
            .arg(&cache)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    tally.cli_files += 1;
    let mut fail = |msg: String| tally.failures.push(format!("{label}: cli {out}: {msg}"));
    let (code, _, err) = run("record");
    if known_cycle(&label, &out) {
        if code != Some(2) || !err.contains("error: cycle in the node graph") {
            fail(format!(
                "expected the known cycle error, got {code:?}: {err}"
            ));
        }
        return;
    }
    if code != Some(0) {
        return fail(format!("record exited {code:?}: {err}"));
    }
    let valid_line = format!("{spec} valid\n");
    let (code, stdout, err) = run("check");
    if code != Some(0) || !stdout.starts_with(&valid_line) {
        fail(format!(
            "check of the untouched script exited {code:?}: {stdout}{err}"
        ));
    }
    std::fs::write(&script, move_every_node(&text).0).unwrap();
    let (code, stdout, err) = run("check");
    if code != Some(0) || !stdout.starts_with(&valid_line) {
        fail(format!(
            "check after moving nodes exited {code:?}: {stdout}{err}"
        ));
    }
    let rules = RuleSet::builtin();
    let profile = smartcache::profile::Profile::nuke();
    let setup = Setup::build(&loaded.script, &out, &rules, &profile).unwrap();
    if let Some(edit) = choose_edit(&loaded, &text, &setup, frames[0] as f64) {
        std::fs::write(&script, edit.apply(&text)).unwrap();
        let (code, stdout, err) = run("check");
        let named = format!("{}.{}", edit.node, edit.knob);
        if code != Some(1) || !stdout.contains(" outdated:") || !stdout.contains(&named) {
            fail(format!(
                "check after editing {named} exited {code:?}, expected 1 naming it: {stdout}{err}"
            ));
        }
    }
}

#[test]
fn every_terminal_node_of_the_corpus_records_checks_and_explains() {
    let files = corpus_files();
    assert!(
        files.len() >= 300,
        "expected the whole corpus, found {} files",
        files.len()
    );
    // Files in parallel (each in its own temporary directory): the work is mostly
    // small writes and fsyncs, which overlap well.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
        * 2;
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut tally = Tally::default();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(src) = files.get(i) else { break };
                        let dir = tempfile::tempdir().unwrap();
                        run_file(src, dir.path(), &mut tally);
                        if i.is_multiple_of(CLI_EVERY) {
                            let cli_dir = tempfile::tempdir().unwrap();
                            run_cli(src, cli_dir.path(), &mut tally);
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut tally = Tally::default();
    for t in tallies {
        tally.files += t.files;
        tally.terminals += t.terminals;
        tally.frames_checked += t.frames_checked;
        tally.moved_values += t.moved_values;
        tally.knob_edits += t.knob_edits;
        tally.cli_files += t.cli_files;
        tally.known_cycles += t.known_cycles;
        tally.no_knob.extend(t.no_knob);
        tally.failures.extend(t.failures);
    }
    tally.no_knob.sort();
    tally.failures.sort();
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "{} files, {} terminal nodes, {} frames checked, {} xpos/ypos values moved, \
         {} knob edits detected and named, {} files through the CLI",
        tally.files,
        tally.terminals,
        tally.frames_checked,
        tally.moved_values,
        tally.knob_edits,
        tally.cli_files
    );
    let _ = writeln!(
        summary,
        "{} terminal nodes without a plain knob in their manifest (no edit made):",
        tally.no_knob.len()
    );
    for n in &tally.no_knob {
        let _ = writeln!(summary, "  {n}");
    }
    eprint!("{summary}");
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}\n{summary}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert_eq!(tally.files, files.len());
    assert_eq!(
        tally.known_cycles,
        KNOWN_CYCLES.len(),
        "every KNOWN_CYCLES entry must still fail with a cycle (remove fixed ones)"
    );
}

/// Every group and gizmo node of the corpus (at any depth) cached as the output: an edit
/// of a knob of one of its children, in the frame's manifest, outdates the frame and is
/// named.
#[test]
fn every_group_of_the_corpus_is_an_output_whose_children_count() {
    let files = corpus_files();
    let rules = RuleSet::builtin();
    let profile = smartcache::profile::Profile::nuke();
    let (mut groups, mut detected, mut no_child_knob) = (0usize, 0usize, Vec::new());
    let mut failures = Vec::new();
    for src in &files {
        let label = src
            .strip_prefix(corpus_nk())
            .unwrap_or(src)
            .display()
            .to_string();
        let text = std::fs::read_to_string(src).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(src.file_name().unwrap());
        std::fs::write(&path, &text).unwrap();
        let loaded = LoadedScript::read(&path).unwrap();
        let frames = vec![loaded.script.frame_range().0];
        let group_names: Vec<String> = loaded
            .script
            .graph
            .nodes()
            .filter(|(_, n)| n.is_group())
            .map(|(_, n)| n.name.to_string())
            .collect();
        for (i, name) in group_names.iter().enumerate() {
            groups += 1;
            let setup = match Setup::build(&loaded.script, name, &rules, &profile) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{label}: {name}: setup failed: {e}"));
                    continue;
                }
            };
            let prefix = format!("{name}.");
            let Some(edit) = choose_edit_in(&loaded, &text, &setup, frames[0] as f64, &prefix)
            else {
                no_child_knob.push(format!("{label}: {name}"));
                continue;
            };
            let cache = CacheDir::new(dir.path().join(format!("cache{i}")));
            let opts = RecordOptions::new(name, &rules, &profile).frames(&frames);
            if let Err(e) = render::record(&loaded, &cache, &opts) {
                failures.push(format!("{label}: {name}: record failed: {e}"));
                continue;
            }
            std::fs::write(&path, edit.apply(&text)).unwrap();
            let edited = LoadedScript::read(&path).unwrap();
            std::fs::write(&path, &text).unwrap();
            let opts = CheckOptions::new(name, &rules, &profile).frames(&frames);
            match render::check(&edited, &cache, &opts) {
                Ok(rep) => {
                    let first = &rep.frames[0];
                    let named = first.reasons.iter().any(|r| {
                        r.node.as_deref() == Some(edit.node.as_str())
                            && r.knob.as_deref() == Some(edit.knob.as_str())
                    });
                    if first.status == Status::Outdated && named {
                        detected += 1;
                    } else {
                        failures.push(format!(
                            "{label}: {name}: editing {}.{} -> {}: {} ({})",
                            edit.node,
                            edit.knob,
                            edit.new_value,
                            first.status.as_str(),
                            names(&first.reasons)
                        ));
                    }
                }
                Err(e) => failures.push(format!("{label}: {name}: check failed: {e}")),
            }
        }
    }
    eprintln!(
        "{groups} group and gizmo nodes, {detected} child edits detected and named, {} \
         groups with no plain child knob in their manifest",
        no_child_knob.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        groups >= 600,
        "expected the corpus's groups, found {groups}"
    );
    assert!(
        detected * 10 >= groups * 8,
        "only {detected} of {groups} groups had a child edit: {no_child_knob:?}"
    );
}

#[test]
fn moving_nodes_rewrites_every_position_and_nothing_else() {
    let text =
        "Blur {\n size 3\n xpos 10\n ypos -727.5\n}\n Grade {\n  xpos -4\n  label \"xpos 5\"\n}\n";
    assert_eq!(
        move_every_node(text),
        (
            "Blur {\n size 3\n xpos 47\n ypos -690.5\n}\n Grade {\n  xpos 33\n  label \"xpos 5\"\n}\n"
                .to_string(),
            3
        )
    );
}

#[test]
fn knob_edits_change_each_kind_of_plain_value() {
    assert_eq!(edited("0.5", 0).as_deref(), Some("37.5"));
    assert_eq!(edited("12", 0).as_deref(), Some("49"));
    assert_eq!(edited("{0.18 0.2 1}", 1).as_deref(), Some("{37.18 0.2 1}"));
    assert_eq!(edited("gaussian", 2).as_deref(), Some("gaussian_edited"));
    assert_eq!(edited("\"a b\"", 3).as_deref(), Some("\"a b_edited\""));
    for (value, kind) in [
        ("{curve x1 0 x10 1}", 1),
        ("{{Blur1.size}}", 1),
        ("0.5", 2),
        ("\"[value x]\"", 3),
        ("gaussian", 0),
    ] {
        assert_eq!(edited(value, kind), None, "{value} as kind {kind}");
    }
}
