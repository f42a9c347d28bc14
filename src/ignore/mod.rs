//! Ignore rules: which nodes and knobs cannot change the pixels of a cached frame.
//!
//! The render-cache manifest hashes, per frame, every upstream node's knob values. Some
//! of what a script saves is not image content at all: node positions, labels, tile
//! colours, selection, nodes that only route wires (`Dot`) or annotate the graph
//! (`BackdropNode`). If those were hashed, tidying a script would outdate every cached
//! frame. A [`RuleSet`] says what to leave out, and for every omission which [`Rule`]
//! caused it, so that `smartcache rules --why-ignored` can explain it.
//!
//! # Format
//!
//! One rule per line; blank lines and lines starting with `#` are comments, and text after
//! a `#` on a rule line is the rule's reason:
//!
//! ```text
//! node CLASS              # drop nodes of this class (wiring passes through input 0)
//! knob KNOB               # drop this knob on every node (and on Root)
//! knob CLASS:KNOB         # drop this knob on nodes of matching classes only
//! keep node CLASS         # un-ignore nodes of this class
//! keep knob KNOB          # un-ignore a knob everywhere
//! keep knob CLASS:KNOB    # un-ignore a knob on matching classes
//! ```
//!
//! `CLASS` and `KNOB` are case-sensitive [globset] globs matched against the whole name
//! (`*` also matches dots; `{a,b}` alternatives; `\` escapes). Class-scoped knobs use `:`
//! because both class names (`OFXuk.co.thefoundry.keylight.keylight_v201`) and knob names
//! (`rgba.red`) may contain dots, and neither can contain a colon. The pattern runs to the
//! `#` or the end of the line, so a knob whose saved name has a space (`Screen Matte`)
//! can be written as it is.
//!
//! **The last matching rule wins**, as in `.gitignore`: [`RuleSet::load`] layers the
//! built-in rules, then the files named by `SMARTCACHE_RULES`, then the files given on the
//! command line, so each layer can override (or un-ignore with `keep`) what came before.
//!
//! # Contract with the manifest
//!
//! A dropped knob is left out of *its own node's* entry only. An expression that reads
//! it still records the value it reads, and that includes a node reading its own dropped
//! knob (a Text's `message "[value label]"`, a Write's `file "[value name].exr"`); a
//! dropped node's inputs are seen through (input 0). So no rule here can hide a change
//! that reaches the pixels, provided the manifest resolves expression references before
//! it applies these rules. Root settings are matched with class `Root`.
//!
//! # Speed
//!
//! [`RuleSet::knob_rule`] is asked about every knob of every node for every frame, so the
//! globs are compiled into one [`globset::GlobSet`] per rule target and the answers are
//! memoised per `(class, knob)`.

mod explain;
mod matcher;
mod parse;

pub use explain::{Dropped, ROOT_CLASS};
pub use parse::MAX_PATTERN_LEN;

use crate::hash;
use matcher::{Compiled, Matcher};
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The rules every rule set starts from; see the file itself for the reason of each.
const DEFAULT_RULES: &str = include_str!("../../ignore-rules/default.rules");

/// What Blender saves that is not image content, layered on the defaults for a JSON
/// graph whose host is `blender`.
const BLENDER_RULES: &str = include_str!("../../ignore-rules/blender.rules");

/// Origin prefix of the built-in rules (`builtin:LINE`).
pub const BUILTIN_ORIGIN: &str = "builtin";

/// Environment variable naming extra rule files, separated like `PATH` (`:` on Unix).
pub const RULES_ENV: &str = "SMARTCACHE_RULES";

/// Tag and version inside the fingerprinted bytes, so that a change to the canonical
/// form can never collide with a fingerprint made by an older one.
const FINGERPRINT_TAG: &str = "smartcache-ignore-rules v1\n";

/// What a rule does and to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RuleKind {
    /// Drop nodes whose class matches.
    #[serde(rename = "node")]
    Node,
    /// Drop knobs whose name (and optionally class) matches.
    #[serde(rename = "knob")]
    Knob,
    /// Un-ignore nodes whose class matches.
    #[serde(rename = "keep node")]
    KeepNode,
    /// Un-ignore knobs whose name (and optionally class) matches.
    #[serde(rename = "keep knob")]
    KeepKnob,
}

impl RuleKind {
    /// The keyword(s) that introduce this kind in a rule file.
    pub fn keyword(self) -> &'static str {
        match self {
            RuleKind::Node => "node",
            RuleKind::Knob => "knob",
            RuleKind::KeepNode => "keep node",
            RuleKind::KeepKnob => "keep knob",
        }
    }

    /// `true` for the un-ignore kinds.
    pub fn is_keep(self) -> bool {
        matches!(self, RuleKind::KeepNode | RuleKind::KeepKnob)
    }

    /// `true` if the rule is about nodes (by class), `false` if about knobs.
    pub fn targets_nodes(self) -> bool {
        matches!(self, RuleKind::Node | RuleKind::KeepNode)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// One rule as written: what it does, its pattern, why, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// Whether the rule names a node class or a knob.
    pub kind: RuleKind,
    /// The pattern as written: `Dot`, `note_font*`, `Roto:toolbar_*`.
    pub pattern: String,
    /// The text after `#` on the rule's line, if any.
    pub reason: Option<String>,
    /// `file:line` (`builtin:LINE` for the embedded defaults).
    pub origin: String,
}

impl fmt::Display for Rule {
    /// The rule in file syntax, without its reason: `keep knob Roto:toolbox`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.pattern)
    }
}

/// Why a rule file could not be used. Syntax errors point at `origin:line:col`.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule line that cannot be read.
    #[error("{origin}:{line}:{col}: {message}")]
    Syntax {
        /// The rule file (or `builtin`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What was expected.
        message: String,
    },
    /// A rule file that cannot be read.
    #[error("{}: cannot read rule file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// A rule file that is not a regular file, or larger than [`MAX_RULE_FILE_LEN`].
    #[error(transparent)]
    Refused(crate::fsutil::FsError),
}

/// Largest rule file read. Real ones are a few kilobytes; the bound keeps a path such as
/// `/dev/zero` given by mistake from being read forever.
pub const MAX_RULE_FILE_LEN: u64 = 16 << 20;

/// An ordered list of rules with compiled matchers. Later rules override earlier ones.
pub struct RuleSet {
    rules: Vec<Rule>,
    compiled: Vec<Compiled>,
    matcher: Matcher,
}

impl RuleSet {
    /// A rule set with no rules: nothing is dropped.
    pub fn empty() -> RuleSet {
        RuleSet::from_parts(Vec::new(), Vec::new())
    }

    /// The default rules (`ignore-rules/default.rules`, embedded in the binary).
    pub fn builtin() -> RuleSet {
        builtin_ref().clone()
    }

    /// Parse rule-file text; `origin` names it in each rule's origin and in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, RuleError> {
        let (rules, compiled) = parse::parse(text, origin)?;
        Ok(RuleSet::from_parts(rules, compiled))
    }

    /// Read and parse a rule file; its path is the origin.
    pub fn read_file(path: &Path) -> Result<RuleSet, RuleError> {
        let (rules, compiled) = read_parts(path)?;
        Ok(RuleSet::from_parts(rules, compiled))
    }

    /// The rules in force for a run: the built-in defaults, then every file named by
    /// `SMARTCACHE_RULES` (a `PATH`-style list), then `files`, each layered on the last.
    pub fn load(files: &[PathBuf]) -> Result<RuleSet, RuleError> {
        RuleSet::load_host("nuke", files)
    }

    /// [`RuleSet::load`] for a script from `host`: the host's built-in rules
    /// (`ignore-rules/<host>.rules`, for hosts other than Nuke) come right after the
    /// defaults.
    pub fn load_host(host: &str, files: &[PathBuf]) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::load_layers(std::env::var_os(RULES_ENV).as_deref(), files)?;
        if let Some(text) = host_rules(host) {
            let builtin = builtin_ref();
            let (mut rules, mut compiled) = (builtin.rules.clone(), builtin.compiled.clone());
            let (r, c) = parse::parse(text, &format!("{BUILTIN_ORIGIN}:{host}"))?;
            rules.extend(r);
            compiled.extend(c);
            rules.extend(set.rules.drain(builtin.rules.len()..));
            compiled.extend(set.compiled.drain(builtin.compiled.len()..));
            set = RuleSet::from_parts(rules, compiled);
        }
        Ok(set)
    }

    /// [`RuleSet::load`] with the environment's path list passed in (for tests). The
    /// layers are concatenated first and compiled once.
    fn load_layers(env_list: Option<&OsStr>, files: &[PathBuf]) -> Result<RuleSet, RuleError> {
        let builtin = builtin_ref();
        let mut rules = builtin.rules.clone();
        let mut compiled = builtin.compiled.clone();
        let from_env: Vec<PathBuf> = env_list
            .map(|list| std::env::split_paths(list).collect())
            .unwrap_or_default();
        let paths = from_env.iter().filter(|p| !p.as_os_str().is_empty());
        for path in paths.chain(files) {
            let (r, c) = read_parts(path)?;
            rules.extend(r);
            compiled.extend(c);
        }
        Ok(RuleSet::from_parts(rules, compiled))
    }

    /// Put `other`'s rules after this set's, so that they win where both match.
    pub fn layer(&mut self, other: RuleSet) {
        let mut rules = std::mem::take(&mut self.rules);
        let mut compiled = std::mem::take(&mut self.compiled);
        rules.extend(other.rules);
        compiled.extend(other.compiled);
        *self = RuleSet::from_parts(rules, compiled);
    }

    /// The rules in order (the last matching one wins).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A hash of what the rules do: their kinds and patterns in order. Comments,
    /// reasons, spacing and origins do not count, so reformatting a rule file keeps the
    /// fingerprint and changing, adding, removing or reordering a rule changes it.
    pub fn fingerprint(&self) -> String {
        hash::hex128(self.canonical().as_bytes())
    }

    /// The bytes [`RuleSet::fingerprint`] hashes: a format tag, then per rule its kind,
    /// a tab, its pattern and a newline. Patterns cannot contain newlines or `#`, and
    /// the kind is one of four fixed words, so the form is unambiguous.
    fn canonical(&self) -> String {
        let mut out = String::from(FINGERPRINT_TAG);
        for rule in &self.rules {
            out.push_str(rule.kind.keyword());
            out.push('\t');
            out.push_str(&rule.pattern);
            out.push('\n');
        }
        out
    }

    /// The rule that drops nodes of class `class`, or `None` if they are kept (no rule
    /// matches, or the last match is a `keep node`).
    pub fn node_rule(&self, class: &str) -> Option<&Rule> {
        self.dropping(self.matcher.node(class))
    }

    /// The rule that drops knob `knob` on a node of class `class`, or `None` if it is
    /// kept. Whether the node itself is dropped is [`RuleSet::node_rule`]'s question.
    pub fn knob_rule(&self, class: &str, knob: &str) -> Option<&Rule> {
        self.dropping(self.matcher.knob(class, knob))
    }

    /// The rule at `index` if it drops (is not a `keep`).
    fn dropping(&self, index: Option<usize>) -> Option<&Rule> {
        let rule = self.rules.get(index?)?;
        (!rule.kind.is_keep()).then_some(rule)
    }

    fn from_parts(rules: Vec<Rule>, compiled: Vec<Compiled>) -> RuleSet {
        let matcher = Matcher::new(&rules, &compiled);
        RuleSet {
            rules,
            compiled,
            matcher,
        }
    }
}

impl Clone for RuleSet {
    /// Clones the rules and recompiles the matchers (the memo starts empty).
    fn clone(&self) -> Self {
        RuleSet::from_parts(self.rules.clone(), self.compiled.clone())
    }
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The parsed built-in rules, parsed once per process.
/// The built-in rules of `host` beyond the defaults.
fn host_rules(host: &str) -> Option<&'static str> {
    match host {
        "blender" => Some(BLENDER_RULES),
        _ => None,
    }
}

fn builtin_ref() -> &'static RuleSet {
    static BUILTIN: OnceLock<RuleSet> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        // The embedded file is part of the program, not input; the unit test
        // `builtin_rules_parse_and_all_have_reasons` keeps this from failing.
        RuleSet::parse(DEFAULT_RULES, BUILTIN_ORIGIN)
            .expect("ignore-rules/default.rules must parse (checked by a unit test)")
    })
}

/// Read a rule file into parsed rules; its path is the origin.
fn read_parts(path: &Path) -> Result<(Vec<Rule>, Vec<Compiled>), RuleError> {
    use crate::fsutil::{read_limited, FsError};
    let read_error = |source| RuleError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = match read_limited(path, MAX_RULE_FILE_LEN) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(read_error(io::Error::new(
                io::ErrorKind::NotFound,
                "no such file",
            )))
        }
        Err(FsError::Io { source, .. }) => return Err(read_error(source)),
        Err(refused) => return Err(RuleError::Refused(refused)),
    };
    let origin = path.display().to_string();
    parse::parse(parse::utf8(&bytes, &origin)?, &origin)
}

#[cfg(test)]
mod tests;
