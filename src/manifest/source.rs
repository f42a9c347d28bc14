//! Source files of Read nodes: a plate re-rendered in place on disk changes the frames
//! that read it, even though no knob changed.
//!
//! A Read's `file` knob is a frame pattern (`plate.%04d.exr`, `plate.####.exr`); at frame
//! f it reads the file of f held inside the Read's `first`-`last` range. The file is
//! fingerprinted by content (xxh3-128); a file that is missing is recorded as missing. A
//! path built by Tcl or Python (`[value root.name]`, `[python …]`) cannot be resolved
//! here and is recorded as text, which still catches any edit of the knob.

use super::frame::{number_at, Ctx, SourceProbe};
use super::setup::SetupNode;
use crate::frames::expand_pattern;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Classes that read a frame-numbered file named by a `file` knob.
pub fn reads_files(class: &str) -> bool {
    matches!(
        class,
        "Read" | "DeepRead" | "ReadGeo" | "ReadGeo2" | "Camera2" | "Camera3"
    )
}

/// Largest frame range fingerprinted for a Read evaluated at every frame.
const MAX_ALL_FRAMES: i64 = 100_000;

/// Fingerprints Read nodes' files on disk, each file once per process.
pub struct FileProbe {
    base: PathBuf,
    seen: Mutex<HashMap<PathBuf, String>>,
}

impl FileProbe {
    /// Relative paths in `file` knobs are taken from `base` (the script's directory).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        FileProbe {
            base: base.into(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn content(&self, path: &Path) -> String {
        if let Some(h) = self.seen.lock().expect("not poisoned").get(path) {
            return h.clone();
        }
        let h = match crate::dataset::hash_file(path) {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing".to_string(),
            Err(e) => format!("unreadable: {e}"),
        };
        self.seen
            .lock()
            .expect("not poisoned")
            .insert(path.to_path_buf(), h.clone());
        h
    }
}

/// The `file` knob as a path pattern, or `None` when it is built at run time.
fn pattern(node: &SetupNode) -> Option<String> {
    let k = node.knob("file")?;
    let t = k.text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .unwrap_or(t);
    if t.is_empty() || t.contains(['[', '$']) || !k.value.is_plain() {
        return None;
    }
    Some(t.replace("\\\\", "\\"))
}

impl SourceProbe for FileProbe {
    fn source(&self, node: &SetupNode, ctx: Ctx) -> Option<String> {
        if !reads_files(&node.class) || node.knob_only {
            return None;
        }
        let Some(pat) = pattern(node) else {
            return node
                .knob("file")
                .map(|_| serde_json::json!({"unresolved": true}).to_string());
        };
        let num = |k: &str| node.knob(k).and_then(|k| number_at(&k.value, Ctx::At(0.0)));
        let (first, last) = (num("first"), num("last"));
        let resolve = |f: i64| -> PathBuf {
            let p = PathBuf::from(expand_pattern(&pat, f));
            if p.is_absolute() {
                p
            } else {
                self.base.join(p)
            }
        };
        match ctx {
            Ctx::At(f) => {
                let mut frame = f.floor() as i64;
                if let Some(a) = first {
                    frame = frame.max(a as i64);
                }
                if let Some(b) = last {
                    frame = frame.min(b as i64);
                }
                let path = resolve(frame);
                let hash = self.content(&path);
                Some(serde_json::json!({"path": path.to_string_lossy(), "hash": hash}).to_string())
            }
            Ctx::All => {
                let (Some(a), Some(b)) = (first, last) else {
                    return Some(
                        serde_json::json!({"pattern": pat, "frames": "unknown"}).to_string(),
                    );
                };
                let (a, b) = (a as i64, b as i64);
                if b < a || b - a > MAX_ALL_FRAMES {
                    return Some(
                        serde_json::json!({"pattern": pat, "frames": "unknown"}).to_string(),
                    );
                }
                let mut h = crate::hash::Hasher::new();
                for f in a..=b {
                    h.update(self.content(&resolve(f)).as_bytes());
                    h.update(b"\n");
                }
                Some(
                    serde_json::json!({"path": pat, "frames": format!("{a}-{b}"), "hash": h.finish_hex()})
                        .to_string(),
                )
            }
        }
    }
}

/// Sources recorded in a stored frame object, served back when a view is rebuilt to
/// explain a frame (the files on disk may have changed since).
pub struct RecordedSources(pub HashMap<String, String>);

/// The key under which a node's source is recorded: its name and context.
pub fn source_key(node: &SetupNode, ctx: Ctx) -> String {
    match ctx {
        Ctx::At(f) => format!("{}@{}", node.name, f),
        Ctx::All => format!("{}@all", node.name),
    }
}

impl SourceProbe for RecordedSources {
    fn source(&self, node: &SetupNode, ctx: Ctx) -> Option<String> {
        self.0.get(&source_key(node, ctx)).cloned()
    }
}
