//! Which files a frame reads, at which paths, resolved as Nuke resolves them.
//!
//! The profile says which knobs of a class name files and of what kind
//! ([`crate::profile::FileKnob`]): a Read's plates, an OCIOFileTransform's LUT, a
//! Text's font, a camera's Alembic file, a Precomp's script. For one node at one
//! context, each such knob becomes a list of [`FileRead`]s:
//!
//! 1. the knob's text is evaluated at the frame: Tcl (`[value root.project_directory]`,
//!    `[file dirname [value root.name]]`, `[getenv SHOW]`) by the expression engine,
//!    environment variables (`$SHOW`, `${SHOT}`) from the values the setup read;
//! 2. stereo views (`%V`, `%v`) are expanded for every view in Root `views`;
//! 3. a relative path is taken from Root `project_directory` when set, else from the
//!    script's folder (the probe's base);
//! 4. frame patterns (`%04d`, `%d`, `####`, `#`, `$F4`) are expanded for each frame the
//!    node's clip mapping reads (a Read's `frame_mode`, range, before and after), the
//!    whole frames on either side of a fractional one; a missing file of a Read whose
//!    `on_error` is `nearest frame` is replaced by the nearest existing one;
//! 5. each file is looked at by the [`SourceProbe`].
//!
//! In proxy mode (Root `proxy`), a Read with a `proxy` file reads that instead of its
//! `file`. A path that cannot be resolved is never silent: it is recorded as
//! unverifiable (with the reason), which `record` and `check` report, and `--strict`
//! makes outdated. The OCIO config every frame reads (Root `customOCIOConfigPath`, or
//! `$OCIO` when colour management is OCIO) is recorded with the LUTs in its search
//! path (`Prepared::root_file_reads`).

use super::ctx::Ctx;
use super::frame::Prepared;
use super::scope::KnobScope;
use super::scope::{single_expression, words_of};
use super::setup::SetupKnob;
use super::source::{source_key, SourceProbe, ROOT_KEY};
use super::time::{self, ClipFrames, Knobs};
use super::view::{FileRead, FileState};
use crate::eval::{interp, ExprKind};
use crate::frames::{expand_pattern, has_frame_token};
use crate::profile::{FileKind, Time};

/// Most files one knob reads in one context.
const MAX_FILES: usize = 100_000;
/// How far from a missing frame `nearest frame` looks for an existing one.
const NEAREST_SEARCH: i64 = 10_000;

/// A path as the knob wrote it, after evaluation; or why it cannot be known.
type Path = Result<String, String>;

/// The whole frames of a sequence a node reads, and its clip's range when known.
type FileFrames = (Vec<i64>, Option<(i64, i64)>);

impl<'s> Prepared<'s> {
    /// The files node `node` reads at `ctx`, sorted (see the module docs).
    pub(crate) fn node_files(
        &self,
        node: usize,
        ctx: Ctx,
        probe: &dyn SourceProbe,
    ) -> Vec<FileRead> {
        let n = &self.setup.nodes[node];
        if let Some(r) = probe.recorded(&source_key(&n.name, ctx)) {
            return r;
        }
        let set = |knob: &str| n.knob(knob).filter(|k| !path_is_empty(k));
        let proxy_mode = self.root_flag("proxy");
        let has_proxy = n
            .sem
            .files
            .iter()
            .any(|f| f.kind == FileKind::Proxy && set(&f.knob).is_some());
        let mut out = Vec::new();
        for fk in &n.sem.files {
            let Some(k) = set(&fk.knob) else { continue };
            match fk.kind {
                FileKind::Image if proxy_mode && has_proxy => continue,
                FileKind::Proxy if !proxy_mode => continue,
                // A nested script read into the graph counts node by node, not as a file.
                FileKind::Script if n.group && n.origin().is_some() => continue,
                _ => {}
            }
            self.knob_files(node, k, fk.kind, ctx, probe, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    /// The files one knob names at `ctx`.
    fn knob_files(
        &self,
        node: usize,
        k: &'s SetupKnob,
        kind: FileKind,
        ctx: Ctx,
        probe: &dyn SourceProbe,
        out: &mut Vec<FileRead>,
    ) {
        let unverifiable = |path: &str, why: String| FileRead {
            knob: k.name.to_string(),
            path: display_text(path),
            state: FileState::Unverifiable(why),
        };
        let f = match ctx.frame {
            Some(f) => f,
            None if !k.value.time_dependent() => ctx.lo.max(-1e15),
            None => {
                return out.push(unverifiable(
                    k.text(),
                    "the path depends on the frame, read over a span of frames".into(),
                ))
            }
        };
        let pattern = match self.path_text(Some(node), k, f) {
            Ok(p) => p,
            Err(why) => return out.push(unverifiable(k.text(), why)),
        };
        let mut patterns = Vec::new();
        let dir = self.setup.nodes[node].dir();
        for p in self.views(&pattern) {
            let p = match dir {
                Some(d) if !is_absolute(&p) => format!("{}/{}", d.trim_end_matches('/'), p),
                _ => p,
            };
            match self.anchored(p) {
                Ok(p) => patterns.push(p),
                Err(why) => return out.push(unverifiable(&pattern, why)),
            }
        }
        for pattern in patterns {
            if !has_frame_token(&pattern) {
                out.push(FileRead {
                    knob: k.name.to_string(),
                    state: probe.state(&pattern),
                    path: pattern,
                });
                continue;
            }
            let (frames, range) = match self.file_frames(node, kind, ctx) {
                Ok(v) => v,
                Err(why) => {
                    out.push(unverifiable(&pattern, why));
                    continue;
                }
            };
            let nearest = self.on_error_nearest(node, ctx);
            for t in frames {
                let path = expand_pattern(&pattern, t);
                let state = probe.state(&path);
                match (state, nearest, range) {
                    (FileState::Missing, true, Some((a, b))) => {
                        out.extend(nearest_files(&k.name, &pattern, t, a, b, probe));
                    }
                    (state, _, _) => out.push(FileRead {
                        knob: k.name.to_string(),
                        path,
                        state,
                    }),
                }
            }
        }
    }

    /// The whole frames a file sequence is read at, and the clip's range when known.
    fn file_frames(&self, node: usize, kind: FileKind, ctx: Ctx) -> Result<FileFrames, String> {
        let n = &self.setup.nodes[node];
        let knobs = self.knobs(node);
        let (frames, range) = match &n.sem.time {
            Time::Clip(clip) if kind.is_sequence() => {
                let num = |k: &Option<crate::profile::KnobRef>| match k {
                    Some(k) => match knobs.num(k, ctx) {
                        time::Num::One(v) => Some(v as i64),
                        _ => None,
                    },
                    None => None,
                };
                let range = num(&clip.first).zip(num(&clip.last));
                (time::clip_frames(clip, &knobs, ctx), range)
            }
            _ => match ctx.frame {
                _ if ctx.is_all() => (ClipFrames::All, None),
                Some(f) => (ClipFrames::At(vec![f]), None),
                None => (ClipFrames::Span(ctx.lo, ctx.hi), None),
            },
        };
        let whole: Vec<i64> = match frames {
            ClipFrames::None => Vec::new(),
            ClipFrames::At(ts) => {
                let mut v: Vec<i64> = ts
                    .iter()
                    .flat_map(|t| [t.floor() as i64, t.ceil() as i64])
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
            ClipFrames::Span(a, b)
                if b.is_finite() && a.is_finite() && (b - a) < MAX_FILES as f64 =>
            {
                (a.floor() as i64..=b.ceil() as i64).collect()
            }
            ClipFrames::Span(..) | ClipFrames::All => {
                return Err("reads every frame of a sequence whose range is not known".into())
            }
        };
        Ok((whole, range))
    }

    /// Whether a missing file of this node is replaced by the nearest existing frame.
    fn on_error_nearest(&self, node: usize, ctx: Ctx) -> bool {
        let n = &self.setup.nodes[node];
        let Time::Clip(clip) = &n.sem.time else {
            return false;
        };
        clip.on_error
            .as_ref()
            .and_then(|k| self.knobs(node).words(k, ctx))
            .is_some_and(|w| w.iter().any(|w| w.starts_with("nearest")))
    }

    /// A knob's path text at frame `f`: as written, or evaluated as Tcl (environment
    /// variables from the values the setup read).
    pub(crate) fn path_text(&self, owner: Option<usize>, k: &'s SetupKnob, f: f64) -> Path {
        if let Some(w) = words_of(&k.value) {
            if !w.contains(['[', '$']) {
                return Ok(w.replace("\\\\", "\\"));
            }
        }
        let mut scope = KnobScope {
            setup: self.setup,
            owner,
            knob: k,
            depth: 0,
        };
        match single_expression(&k.value) {
            Some((ExprKind::Tcl, text)) => interp::eval_tcl(text, f, &mut scope)
                .map_err(|e| format!("{} cannot be evaluated: {e}", k.name)),
            _ => Err(format!("{} is not a path smartcache can evaluate", k.name)),
        }
    }

    /// Whether a Root flag (`proxy`) is on.
    fn root_flag(&self, name: &str) -> bool {
        self.setup
            .root_knob(name)
            .and_then(|k| words_of(&k.value))
            .is_some_and(|w| matches!(w.as_str(), "true" | "1"))
    }

    /// The pattern for every stereo view it names (`%V`: the view, `%v`: its first
    /// letter), the views being Root `views` (`main` when it has none).
    fn views(&self, pattern: &str) -> Vec<String> {
        if !pattern.contains("%V") && !pattern.contains("%v") {
            return vec![pattern.to_string()];
        }
        let views = self
            .setup
            .root_knob("views")
            .map(|k| view_names(k.text()))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec!["main".to_string()]);
        views
            .iter()
            .map(|v| {
                let short: String = v.chars().take(1).collect();
                pattern.replace("%V", v).replace("%v", &short)
            })
            .collect()
    }

    /// A relative path taken from Root `project_directory` when it is set (itself
    /// evaluated); otherwise left relative, for the probe's base (the script's folder).
    fn anchored(&self, path: String) -> Path {
        if is_absolute(&path) {
            return Ok(path);
        }
        let Some(k) = self
            .setup
            .root_knob("project_directory")
            .filter(|k| !path_is_empty(k))
        else {
            return Ok(path);
        };
        let dir = self.path_text(None, k, 0.0)?;
        let dir = dir.trim_end_matches('/');
        Ok(if dir.is_empty() {
            path
        } else {
            format!("{dir}/{}", path.trim_start_matches("./"))
        })
    }

    /// The files every frame reads: each of [`super::setup::Setup::root_files`], and for
    /// an OCIO config, the files in its search path.
    pub(crate) fn root_file_reads(&self, probe: &dyn SourceProbe) -> Vec<FileRead> {
        if let Some(r) = probe.recorded(ROOT_KEY) {
            return r;
        }
        let mut out = Vec::new();
        for rf in &self.setup.root_files {
            let path = match (&rf.knob, &rf.env_value) {
                (Some(knob), _) => match self.setup.root_knob(knob) {
                    Some(k) => self.path_text(None, k, 0.0).and_then(|p| self.anchored(p)),
                    None => continue,
                },
                (None, Some(v)) => Ok(v.clone()),
                (None, None) => continue,
            };
            let path = match path {
                Ok(p) if p.trim().is_empty() => continue,
                Ok(p) => p,
                Err(why) => {
                    out.push(FileRead {
                        knob: rf.label.clone(),
                        path: String::new(),
                        state: FileState::Unverifiable(why),
                    });
                    continue;
                }
            };
            let state = probe.state(&path);
            let is_config =
                rf.kind == FileKind::OcioConfig && matches!(state, FileState::Content(_));
            out.push(FileRead {
                knob: rf.label.clone(),
                path: path.clone(),
                state,
            });
            if is_config {
                out.extend(ocio_search_files(&rf.label, &path, probe));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The existing files nearest to missing frame `t` within `[a, b]` (both, when two are
/// as near): what a Read whose `on_error` is `nearest frame` shows.
fn nearest_files(
    knob: &str,
    pattern: &str,
    t: i64,
    a: i64,
    b: i64,
    probe: &dyn SourceProbe,
) -> Vec<FileRead> {
    let mut out = Vec::new();
    for d in 1..=NEAREST_SEARCH {
        for f in [t - d, t + d] {
            if f < a || f > b {
                continue;
            }
            let path = expand_pattern(pattern, f);
            let state = probe.state(&path);
            if !matches!(state, FileState::Missing) {
                out.push(FileRead {
                    knob: knob.to_string(),
                    path,
                    state,
                });
            }
        }
        if !out.is_empty() || (t - d < a && t + d > b) {
            break;
        }
    }
    if out.is_empty() {
        out.push(FileRead {
            knob: knob.to_string(),
            path: expand_pattern(pattern, t),
            state: FileState::Missing,
        });
    }
    out
}

/// The files in an OCIO config's search path (directories relative to the config's
/// folder, `:`-separated or a YAML list).
fn ocio_search_files(label: &str, config: &str, probe: &dyn SourceProbe) -> Vec<FileRead> {
    let knob = format!("{label} search_path");
    let Some(text) = probe.read_text(config) else {
        return vec![FileRead {
            knob,
            path: config.to_string(),
            state: FileState::Unverifiable("the config cannot be read for its search path".into()),
        }];
    };
    let base = match config.rfind('/') {
        Some(i) => &config[..i],
        None => ".",
    };
    let mut out = Vec::new();
    for dir in search_paths(&text) {
        if dir.contains('$') {
            out.push(FileRead {
                knob: knob.clone(),
                path: dir.clone(),
                state: FileState::Unverifiable(
                    "the search path uses an OCIO context variable".into(),
                ),
            });
            continue;
        }
        let dir = if is_absolute(&dir) {
            dir
        } else {
            format!("{base}/{dir}")
        };
        match probe.list_dir(&dir) {
            Some(names) => {
                for name in names.into_iter().take(MAX_FILES) {
                    let path = format!("{dir}/{name}");
                    out.push(FileRead {
                        knob: knob.clone(),
                        state: probe.state(&path),
                        path,
                    });
                }
            }
            None => out.push(FileRead {
                knob: knob.clone(),
                path: dir,
                state: FileState::Missing,
            }),
        }
    }
    out
}

/// The directories of an OCIO config's `search_path`.
fn search_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("search_path:") else {
            continue;
        };
        let value = rest.trim().trim_matches(['"', '\'']);
        if !value.is_empty() {
            out.extend(
                value
                    .split(':')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        // A YAML list on the following lines.
        while let Some(next) = lines.peek() {
            match next.trim_start().strip_prefix("- ") {
                Some(item) => {
                    out.push(item.trim().trim_matches(['"', '\'']).to_string());
                    lines.next();
                }
                None if next.trim().is_empty() => {
                    lines.next();
                }
                None => break,
            }
        }
    }
    out
}

/// The view names of Root `views` (`left #ff0000` lines, or `{left "#ff0000"}` lists).
fn view_names(text: &str) -> Vec<String> {
    // A quoted value writes its line breaks as `\n`.
    let text = text.replace("\\n", "\n");
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| t.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .unwrap_or(t);
    let mut out = Vec::new();
    for line in t.split(['\n', '}']) {
        let first = line
            .trim()
            .trim_start_matches('{')
            .split_whitespace()
            .next()
            .map(|w| w.trim_matches('"'));
        if let Some(w) = first.filter(|w| !w.is_empty() && !w.starts_with('#')) {
            if !out.iter().any(|v: &String| v == w) {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// A knob's text as a user reads it: without its quotes and Tcl escapes.
fn display_text(t: &str) -> String {
    let t = t.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t);
    t.replace("\\[", "[").replace("\\]", "]")
}

fn is_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/') || p.starts_with('\\') || (b.len() > 1 && b[1] == b':')
}

fn path_is_empty(k: &SetupKnob) -> bool {
    k.text()
        .trim()
        .trim_matches(['"', '{', '}'])
        .trim()
        .is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocio_search_paths_in_both_forms() {
        assert_eq!(
            search_paths("ocio_profile_version: 1\nsearch_path: luts:more/luts\nroles:\n"),
            ["luts", "more/luts"]
        );
        assert_eq!(
            search_paths("search_path:\n  - luts\n  - \"other\"\nroles:\n"),
            ["luts", "other"]
        );
    }

    #[test]
    fn view_names_from_either_form() {
        assert_eq!(
            view_names("{left #ff0000}\n{right #00ff00}"),
            ["left", "right"]
        );
        assert_eq!(
            view_names("\"left #ff0000\nright #00ff00\""),
            ["left", "right"]
        );
        assert_eq!(
            view_names("\"left #ff0000\\nright #00ff00\""),
            ["left", "right"]
        );
        assert_eq!(view_names("main"), ["main"]);
    }
}
