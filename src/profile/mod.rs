//! Node-class semantics as data: what each class of a host does to a frame.
//!
//! Whether a frame's pixels can change depends on what its nodes *do*: a Switch reads
//! one input, a TimeOffset reads another frame, a Read reads a file per frame, a
//! Transform with motion blur samples its knobs around the frame. That knowledge is
//! per host and per class, and it changes as hosts add classes and rename knobs (Nuke
//! 13's `FrameHold.firstFrame`). So it lives in one documented, versioned file per host
//! (`profiles/nuke.profile`), like the ignore rules, and the manifest reads class
//! semantics only from a [`Profile`]: no class name appears in `src/manifest/`.
//!
//! A profile is embedded in the binary and layered with studio files (the
//! `SMARTCACHE_PROFILE` path list, then the files given on the command line), each line
//! overriding what came before for the classes it matches. Its fingerprint is recorded
//! in every `hash.json`, so a check under another profile says so.
//!
//! The format is documented at the top of `profiles/nuke.profile`; [`parse`] reads it
//! and [`semantics`] holds the typed result for one class.

pub mod parse;
pub mod semantics;

pub use semantics::{
    Clip, FileKind, FileKnob, Inputs, KnobRef, MotionBlur, RootReads, RootSemantics, Semantics,
    Shutter, Time,
};

use crate::hash;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use parse::{Directive, Line};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The Nuke profile, embedded.
pub const NUKE: &str = include_str!("../../profiles/nuke.profile");

/// The Blender compositor profile, embedded.
pub const BLENDER: &str = include_str!("../../profiles/blender.profile");

/// The class a gizmo's definition is written as (`Gizmo { … }`), whose semantics a
/// gizmo read from a file takes.
const GIZMO_CLASS: &str = "Gizmo";

/// Environment variable naming studio profile files, separated like `PATH`.
pub const PROFILE_ENV: &str = "SMARTCACHE_PROFILE";

/// Tag and version inside the fingerprinted bytes.
const FINGERPRINT_TAG: &str = "smartcache-profile v1\n";

/// Why a profile could not be used. Syntax errors point at `origin:line:col`.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A profile line that cannot be read.
    #[error("{origin}:{line}:{col}: {message}")]
    Syntax {
        /// The profile file (or `builtin`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What was expected.
        message: String,
    },
    /// A profile file that cannot be read.
    #[error("{}: cannot read profile: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    /// A profile that reads but does not make sense.
    Invalid {
        /// The profile file.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// No built-in profile for this host.
    #[error("no built-in profile for host `{0}` (built in: nuke, blender)")]
    UnknownHost(String),
}

/// Compile a class pattern the way every profile line is compiled: whole name, case
/// sensitive, `*` crossing dots (class names are not paths).
pub(crate) fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
}

/// The class semantics of one host, with studio layers applied.
pub struct Profile {
    name: String,
    lines: Vec<Line>,
    known: HashSet<String>,
    /// Patterns of the `class` lines, and the index in `lines` of each.
    classes: GlobSet,
    class_lines: Vec<usize>,
    root: RootSemantics,
    fingerprint: String,
    memo: Mutex<HashMap<String, Arc<Semantics>>>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Clone for Profile {
    fn clone(&self) -> Self {
        Profile::from_lines(self.lines.clone()).expect("a built profile rebuilds")
    }
}

impl Profile {
    /// The built-in profile of `host` (`nuke`, `blender`).
    pub fn builtin(host: &str) -> Result<Profile, ProfileError> {
        match host {
            "nuke" => Ok(Profile::nuke()),
            "blender" => Ok(Profile::parse(BLENDER, "builtin:blender")
                .expect("the built-in Blender profile is valid")),
            other => Err(ProfileError::UnknownHost(other.to_string())),
        }
    }

    /// The built-in Nuke profile.
    pub fn nuke() -> Profile {
        Profile::parse(NUKE, "builtin:nuke").expect("the built-in profile is valid")
    }

    /// Parse profile text; `origin` names it in line origins and errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        Profile::from_lines(parse::parse(text, origin)?)
    }

    /// The profile in force for a run: the built-in one of `host`, then every file named
    /// by `SMARTCACHE_PROFILE`, then `files`, each layered on the last.
    pub fn load(host: &str, files: &[PathBuf]) -> Result<Profile, ProfileError> {
        Profile::load_layers(host, std::env::var_os(PROFILE_ENV).as_deref(), files)
    }

    /// [`Profile::load`] with the environment's path list passed in (for tests).
    pub fn load_layers(
        host: &str,
        env_list: Option<&OsStr>,
        files: &[PathBuf],
    ) -> Result<Profile, ProfileError> {
        let mut lines = Profile::builtin(host)?.lines;
        let from_env: Vec<PathBuf> = env_list
            .map(|l| std::env::split_paths(l).collect())
            .unwrap_or_default();
        for path in from_env
            .iter()
            .filter(|p| !p.as_os_str().is_empty())
            .chain(files)
        {
            lines.extend(read_lines(path)?);
        }
        Profile::from_lines(lines)
    }

    fn from_lines(lines: Vec<Line>) -> Result<Profile, ProfileError> {
        let mut name = None;
        let mut known = HashSet::new();
        let mut builder = GlobSetBuilder::new();
        let mut class_lines = Vec::new();
        let mut root = RootSemantics::default();
        let mut canonical = String::from(FINGERPRINT_TAG);
        for (i, line) in lines.iter().enumerate() {
            canonical.push_str(&line.directive.canonical());
            canonical.push('\n');
            match &line.directive {
                Directive::Profile(n) => {
                    name.get_or_insert_with(|| n.clone());
                }
                Directive::Known(c) => known.extend(c.iter().cloned()),
                Directive::Class { pattern, .. } => {
                    builder.add(glob(pattern).map_err(|e| ProfileError::Invalid {
                        origin: line.origin.clone(),
                        message: format!("bad pattern `{pattern}`: {e}"),
                    })?);
                    class_lines.push(i);
                }
                Directive::Root(props) => {
                    // Validated when parsed.
                    let _ = parse::apply_root(&mut root, props);
                }
                Directive::Unknown(_) => {}
            }
        }
        let classes = builder.build().map_err(|e| ProfileError::Invalid {
            origin: lines
                .first()
                .map(|l| l.origin.clone())
                .unwrap_or_else(|| "profile".into()),
            message: format!("class patterns do not compile: {e}"),
        })?;
        Ok(Profile {
            name: name.unwrap_or_else(|| "unnamed".into()),
            fingerprint: hash::hex128(canonical.as_bytes()),
            lines,
            known,
            classes,
            class_lines,
            root,
            memo: Mutex::new(HashMap::new()),
        })
    }

    /// The host the profile is for (its first `profile` line).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A hash of every directive in order (comments and spacing left out).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Every directive with its origin, in order, in canonical form.
    pub fn lines(&self) -> impl Iterator<Item = (&str, String)> {
        self.lines
            .iter()
            .map(|l| (l.origin.as_str(), l.directive.canonical()))
    }

    /// Root settings recorded only for the nodes that read them.
    pub fn root_on_demand(&self) -> &[String] {
        &self.root.on_demand
    }

    /// What the profile says of the Root settings.
    pub fn root(&self) -> &RootSemantics {
        &self.root
    }

    /// Whether `class` is one the host provides (named by `known` or `class`).
    pub fn is_known(&self, class: &str) -> bool {
        self.known.contains(class) || self.classes.is_match(class)
    }

    /// The semantics of a group of class `class`: its own when the profile knows it, else
    /// those of the host's gizmo class (a gizmo defined from a file is a group whose
    /// class is the gizmo's name).
    pub fn group_semantics(&self, class: &str) -> Arc<Semantics> {
        if self.is_known(class) {
            self.semantics(class)
        } else {
            self.semantics(GIZMO_CLASS)
        }
    }

    /// The semantics of `class`: the `unknown` lines for a class the profile does not
    /// know, else the defaults; then every `class` line matching it, in order.
    pub fn semantics(&self, class: &str) -> Arc<Semantics> {
        if let Some(s) = self.memo.lock().expect("not poisoned").get(class) {
            return s.clone();
        }
        let s = Arc::new(self.resolve(class));
        self.memo
            .lock()
            .expect("not poisoned")
            .insert(class.to_string(), s.clone());
        s
    }

    fn resolve(&self, class: &str) -> Semantics {
        let matches = self.classes.matches(class);
        let known = self.known.contains(class) || !matches.is_empty();
        let mut sem = Semantics::default();
        if !known {
            for line in &self.lines {
                if let Directive::Unknown(props) = &line.directive {
                    // Validated when parsed.
                    let _ = parse::apply(&mut sem, props);
                }
            }
        }
        for m in matches {
            if let Directive::Class { props, .. } = &self.lines[self.class_lines[m]].directive {
                let _ = parse::apply(&mut sem, props);
            }
        }
        sem.known = known;
        sem
    }
}

fn read_lines(path: &Path) -> Result<Vec<Line>, ProfileError> {
    let bytes = std::fs::read(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let origin = path.display().to_string();
    let text = std::str::from_utf8(&bytes).map_err(|e| ProfileError::Invalid {
        origin: origin.clone(),
        message: format!(
            "profiles must be UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ),
    })?;
    parse::parse(text, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profile_parses_and_knows_its_classes() {
        let p = Profile::nuke();
        assert_eq!(p.name(), "nuke");
        assert!(p.is_known("Blur") && p.is_known("Switch") && p.is_known("OFlow2"));
        assert!(!p.is_known("NST_GlowMaster"));
        let switch = p.semantics("Switch");
        assert_eq!(
            switch.inputs,
            Inputs::Select {
                which: KnobRef {
                    names: vec!["which".into()],
                    defaults: vec!["0".into()]
                }
            }
        );
        assert!(p.semantics("Dot").pass);
        assert_eq!(p.semantics("Dot").disable, None);
        let plugin = p.semantics("SomeVendorPlugin");
        assert!(!plugin.known);
        assert_eq!(plugin.pad_frames(), 0.5);
        assert_eq!(plugin.reads_root, RootReads::All);
        assert_eq!(p.semantics("Blur").pad_frames(), 0.0);
        assert_eq!(
            p.root_on_demand(),
            ["fps", "first_frame", "last_frame", "lock_range"]
        );
    }

    #[test]
    fn a_studio_layer_overrides_a_class_and_changes_the_fingerprint() {
        let base = Profile::nuke();
        let dir = tempfile::tempdir().unwrap();
        let studio = dir.path().join("studio.profile");
        std::fs::write(
            &studio,
            "class MyRetime time=all\nclass Blur varying  # our Blur is seeded per frame\n",
        )
        .unwrap();
        let p = Profile::load_layers("nuke", None, &[studio]).unwrap();
        assert_ne!(p.fingerprint(), base.fingerprint());
        assert_eq!(p.semantics("MyRetime").time, Time::All);
        assert!(p.semantics("MyRetime").known);
        assert!(p.semantics("Blur").varying);
        assert!(!base.semantics("Blur").varying);
    }

    #[test]
    fn comments_and_spacing_do_not_change_the_fingerprint() {
        let a = Profile::parse("profile x\nclass A  pass # wiring\n", "a").unwrap();
        let b = Profile::parse("# header\nprofile x\n\nclass A pass\n", "b").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }
}
