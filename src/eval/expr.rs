//! What an expression reads: other knobs, the frame, or something smartcache cannot see.
//!
//! Two languages meet in knob values. Nuke expressions (`{{parent.size*2}}`,
//! `{{frame*2}}`) name knobs by dotted paths and call math functions; Tcl substitutions
//! (`[value Blur1.size]`, `$env(HOME)`) run inside strings and inside expressions before
//! the expression itself is read. Neither is evaluated here: the analysis extracts
//!
//! * [`Reference`]s to knobs, so the manifest layer (which knows the graph) can attach
//!   the referenced values;
//! * whether the result can depend on the frame (`time_dependent`);
//! * the parts that cannot be resolved statically (Python, environment variables,
//!   names built at run time such as `input[value which].matrix`), kept as
//!   text.
//!
//! The analysis is conservative: anything unresolvable also makes the expression
//! time-dependent, and an unknown call `foo(…)` is taken as a knob read at another frame.
//! Nesting (`[value [value knob_path].[value id.0]]`) is handled with an explicit work
//! stack, never by recursion.

use serde::Serialize;

/// A knob an expression reads, as written: `node` is `""` for a bare knob of the same
/// node, else the dotted node path (`Blur1`, `parent`, `root`, `this`, `Group1.Blur1`,
/// `input`); `knob` may carry a sub-part (`size.w`, `matrix.0`, `center.x`).
///
/// Splitting a dotted path between node and knob needs the graph (`a.b` is node `a`
/// knob `b`, or knob `a` part `b`); [`Reference::candidates`] lists every split so the
/// manifest layer can take the first that resolves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    // Fields in alphabetical order so that serialising the struct directly is canonical.
    /// The knob's name.
    pub knob: String,
    /// The node's name, as written (`Blur1`, `parent`, empty for the node itself).
    pub node: String,
    /// The knob is read at frames other than the current one (`Blur1.size(frame-1)`):
    /// its whole animation matters, not only its value at the frame.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other_frames: bool,
}

impl Ord for Reference {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.node, &self.knob, self.other_frames).cmp(&(
            &other.node,
            &other.knob,
            other.other_frames,
        ))
    }
}

impl PartialOrd for Reference {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Path components that name a node rather than a knob.
fn is_node_word(c: &str) -> bool {
    matches!(c, "parent" | "root" | "this" | "input")
        || (c.len() > 5 && c.starts_with("input") && c[5..].bytes().all(|b| b.is_ascii_digit()))
}

/// Path components that are a sub-part of a knob (`size.w`, `bbox.r`, `matrix.0`).
fn is_subpart(c: &str) -> bool {
    c.bytes().all(|b| b.is_ascii_digit())
        || matches!(
            c,
            "x" | "y"
                | "z"
                | "w"
                | "h"
                | "r"
                | "t"
                | "u"
                | "v"
                | "l"
                | "b"
                | "g"
                | "a"
                | "red"
                | "green"
                | "blue"
                | "alpha"
                | "left"
                | "right"
                | "top"
                | "bottom"
        )
}

impl Reference {
    /// Builds a reference from a dotted path, splitting it with the most likely reading:
    /// the last component is the knob, or the last two when the last is a sub-part.
    pub fn from_path(path: &str) -> Reference {
        let parts: Vec<&str> = path.split('.').collect();
        let n = parts.len();
        let knob_len = if n >= 2 && is_subpart(parts[n - 1]) && !is_node_word(parts[n - 2]) {
            2
        } else {
            1
        };
        let knob_len = if n == 1 { 1 } else { knob_len };
        Reference {
            knob: parts[n - knob_len..].join("."),
            node: parts[..n - knob_len].join("."),
            other_frames: false,
        }
    }

    /// `true` when the reference names a knob of the node that holds the expression
    /// (a bare knob, or `this.…`).
    pub fn is_same_node(&self) -> bool {
        self.node.is_empty() || self.node == "this"
    }

    /// The dotted path as written.
    pub fn path(&self) -> String {
        if self.node.is_empty() {
            self.knob.clone()
        } else {
            format!("{}.{}", self.node, self.knob)
        }
    }

    /// Every way to read the path as node + knob, the most likely first, then the
    /// others from the longest node path down to a bare knob of the same node.
    pub fn candidates(&self) -> Vec<Reference> {
        let path = self.path();
        let parts: Vec<&str> = path.split('.').collect();
        let mut out = vec![self.clone()];
        for k in (0..parts.len()).rev() {
            let r = Reference {
                knob: parts[k..].join("."),
                node: parts[..k].join("."),
                other_frames: self.other_frames,
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// The analysis of one expression or Tcl string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expression {
    /// The text that was analysed (unescaped, as the expression engine sees it).
    pub text: String,
    /// Knobs read, sorted, without repeats.
    pub refs: Vec<Reference>,
    /// The value can change with the frame (or the analysis could not rule it out).
    pub time_dependent: bool,
    /// Parts that cannot be resolved statically, as text, sorted, without repeats.
    pub unresolvable: Vec<String>,
    /// Environment variables read (`[getenv SHOW]`, `$env(SHOW)`), sorted, without
    /// repeats: their values are part of what the expression depends on.
    pub env: Vec<String>,
}

/// Analyses a Nuke expression (Tcl substitutions inside it included).
pub fn analyse(text: &str) -> Expression {
    run(text, Work::Nuke(text))
}

/// Analyses a Tcl string (a knob value such as `"\[value which]"`, already unescaped):
/// only its `[…]` and `$…` substitutions can read anything.
pub fn analyse_tcl(text: &str) -> Expression {
    run(text, Work::Tcl(text))
}

/// Nuke expression names that stand for the frame or vary with it.
const TIME_NAMES: &[&str] = &[
    "frame",
    "t",
    "x",
    "y",
    "curve",
    "value",
    "random",
    "noise",
    "fBm",
    "turbulence",
];

/// Nuke expression functions and constants (time-varying ones are in [`TIME_NAMES`]).
const PURE_NAMES: &[&str] = &[
    "abs",
    "acos",
    "asin",
    "atan",
    "atan2",
    "ceil",
    "clamp",
    "cos",
    "cosh",
    "degrees",
    "exp",
    "exponent",
    "fabs",
    "false",
    "floor",
    "fmod",
    "from_byte",
    "from_rec709",
    "from_sRGB",
    "hypot",
    "int",
    "ldexp",
    "lerp",
    "log",
    "log10",
    "logb",
    "mantissa",
    "max",
    "min",
    "mix",
    "pi",
    "pow",
    "pow2",
    "radians",
    "rint",
    "sin",
    "sinh",
    "smoothstep",
    "sqrt",
    "step",
    "tan",
    "tanh",
    "to_byte",
    "to_rec709",
    "to_sRGB",
    "true",
    "trunc",
    "inf",
];

/// Tcl commands that only compute on their arguments.
const PURE_TCL: &[&str] = &[
    "append", "concat", "expr", "format", "join", "lappend", "lindex", "list", "llength", "lrange",
    "lreplace", "lreverse", "lsearch", "lsort", "regexp", "regsub", "return", "scan", "split",
    "string",
];

enum Work<'a> {
    /// A Nuke expression.
    Nuke(&'a str),
    /// A Tcl word: literal text with substitutions.
    Tcl(&'a str),
    /// The inside of a `[…]` command substitution.
    Command(&'a str),
}

#[derive(Default)]
struct Analysis {
    refs: Vec<Reference>,
    time_dependent: bool,
    unresolvable: Vec<String>,
    env: Vec<String>,
}

impl Analysis {
    fn unresolvable(&mut self, text: impl Into<String>) {
        self.unresolvable.push(text.into());
        self.time_dependent = true;
    }
}

fn run(text: &str, first: Work<'_>) -> Expression {
    let mut an = Analysis::default();
    let mut stack = vec![first];
    // Nested substitutions are rescanned once per level; the budget keeps pathological
    // nesting (`[[[[…]]]]`) linear by giving up, conservatively, past a fixed multiple.
    let budget = 8 * text.len() + 4096;
    let mut spent = 0usize;
    while let Some(work) = stack.pop() {
        let len = match &work {
            Work::Nuke(s) | Work::Tcl(s) | Work::Command(s) => s.len(),
        };
        spent += len;
        if spent > budget {
            an.unresolvable(TOO_DEEP);
            break;
        }
        match work {
            Work::Nuke(s) => nuke(s, &mut stack, &mut an),
            Work::Tcl(s) => {
                substitutions(s, &mut stack, &mut an, None);
            }
            Work::Command(s) => command(s, &mut stack, &mut an),
        }
    }
    an.refs.sort();
    an.refs.dedup();
    an.unresolvable.sort();
    an.unresolvable.dedup();
    an.env.sort();
    an.env.dedup();
    Expression {
        text: text.to_owned(),
        refs: an.refs,
        time_dependent: an.time_dependent,
        unresolvable: an.unresolvable,
        env: an.env,
    }
}

/// The command text of `[topnode]`, as a node path in a reference (`[topnode].file`).
pub const TOPNODE: &str = "[topnode]";

/// A literal environment variable name.
fn is_plain_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Recorded as unresolvable when substitutions nest too deeply to analyse in linear time.
pub const TOO_DEEP: &str = "(substitutions nested too deeply to analyse)";

/// Stands in the masked copy of an expression for one Tcl substitution.
const MARK: char = '\u{1}';

/// Finds the `[…]` and `$…` substitutions of `s`, queues each command, and (when `mask`
/// is given) writes `s` with each substitution replaced by [`MARK`]. Returns the
/// original text of each substitution, in order.
fn substitutions<'a>(
    s: &'a str,
    stack: &mut Vec<Work<'a>>,
    an: &mut Analysis,
    mut mask: Option<&mut String>,
) -> Vec<&'a str> {
    let b = s.as_bytes();
    let mut groups = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' => {
                let close = matching(b, i, b'[', b']');
                if close.is_none() {
                    an.unresolvable(&s[i..]);
                }
                let inner_end = close.unwrap_or(b.len());
                let end = close.map_or(b.len(), |e| e + 1);
                stack.push(Work::Command(&s[i + 1..inner_end]));
                if let Some(m) = mask.as_deref_mut() {
                    m.push_str(&s[copied..i]);
                    m.push(MARK);
                }
                groups.push(&s[i..end]);
                i = end;
                copied = i;
            }
            b'$' => {
                let end = variable_end(b, i);
                if end == i + 1 {
                    i += 1;
                    continue;
                }
                let var = &s[i..end];
                let name = var.trim_start_matches(['$', '{']).trim_end_matches('}');
                match name {
                    "frame" => an.time_dependent = true,
                    // Nuke's `$gui` is false wherever a cache is rendered (a render, a
                    // farm): a constant.
                    "gui" => {}
                    _ => match name
                        .strip_prefix("env(")
                        .and_then(|n| n.strip_suffix(')'))
                        .filter(|n| is_plain_name(n))
                    {
                        Some(n) => an.env.push(n.to_string()),
                        None => an.unresolvable(var),
                    },
                }
                if let Some(m) = mask.as_deref_mut() {
                    m.push_str(&s[copied..i]);
                    m.push(MARK);
                }
                groups.push(var);
                i = end;
                copied = i;
            }
            _ => i += 1,
        }
    }
    if let Some(m) = mask {
        m.push_str(&s[copied.min(s.len())..]);
    }
    groups
}

/// Index of the bracket closing the one at `open`, honouring nesting and backslashes.
fn matching(b: &[u8], open: usize, o: u8, c: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == o {
            depth += 1;
        } else if b[i] == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// End of a Tcl variable substitution starting at the `$` at `i`: `$name`,
/// `$name(index)` or `${name}`. Returns `i + 1` when the `$` starts none.
fn variable_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    if j < b.len() && b[j] == b'{' {
        return match b[j..].iter().position(|&c| c == b'}') {
            Some(p) => j + p + 1,
            None => b.len(),
        };
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b':') {
        j += 1;
    }
    if j > i + 1 && j < b.len() && b[j] == b'(' {
        j = matching(b, j, b'(', b')').map_or(b.len(), |e| e + 1);
    }
    j
}

/// Splits a Tcl command into words: whitespace separates, `[…]`, `{…}` and `"…"` group.
fn tcl_words(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let (mut sq, mut br) = (0usize, 0usize);
        let quoted = b[i] == b'"';
        if quoted {
            i += 1;
        }
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'[' => sq += 1,
                b']' => sq = sq.saturating_sub(1),
                b'{' => br += 1,
                b'}' => br = br.saturating_sub(1),
                b'"' if quoted && sq == 0 => {
                    i += 1;
                    break;
                }
                c if c.is_ascii_whitespace() && sq == 0 && br == 0 && !quoted => break,
                _ => {}
            }
            i += 1;
        }
        out.push(&s[start..i.min(b.len())]);
    }
    out
}

/// Strips one level of Tcl grouping (`{…}` or `"…"`) from a word.
fn ungroup(w: &str) -> &str {
    let stripped = w
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .or_else(|| w.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
    stripped.unwrap_or(w)
}

fn command<'a>(s: &'a str, stack: &mut Vec<Work<'a>>, an: &mut Analysis) {
    let words = tcl_words(s);
    let Some((&name, args)) = words.split_first() else {
        return;
    };
    let whole = || format!("[{s}]");
    if name.contains(['[', '$']) {
        an.unresolvable(whole());
        stack.push(Work::Tcl(name));
        return;
    }
    match name {
        "value" | "knob" => {
            let plain: Vec<&str> = args
                .iter()
                .copied()
                .filter(|a| !a.starts_with('-'))
                .collect();
            stack.extend(args.iter().map(|a| Work::Tcl(a)));
            let target = match (name, plain.as_slice()) {
                ("value", [.., last]) => Some(*last),
                ("knob", [only]) => Some(*only),
                _ => None,
            };
            match target.map(ungroup) {
                Some(t) if !t.is_empty() && !t.contains(['[', '$', ' ']) => {
                    an.refs.push(Reference::from_path(t));
                }
                // `[value [topnode].file]`: a knob of the node at the top of the input
                // chain, which the manifest resolves from the graph.
                Some(t)
                    if t.strip_prefix(TOPNODE)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| !r.is_empty() && !r.contains(['[', '$', ' '])) =>
                {
                    an.refs.push(Reference::from_path(t));
                }
                _ => an.unresolvable(whole()),
            }
        }
        "getenv" => match args {
            [name] if is_plain_name(ungroup(name)) => an.env.push(ungroup(name).to_string()),
            _ => an.unresolvable(whole()),
        },
        // The node at the top of the input chain: resolved from the graph, like a name.
        "topnode" if args.is_empty() => {}
        // Names of files, computed from their arguments; `file exists` and the like read
        // the disk and are not analysed.
        "file"
            if args.first().is_some_and(|sub| {
                matches!(
                    *sub,
                    "tail" | "dirname" | "rootname" | "extension" | "join" | "split"
                )
            }) =>
        {
            stack.extend(args[1..].iter().map(|a| Work::Tcl(a)))
        }
        "if" => {
            // `if COND BODY ?elseif COND BODY? ?else BODY?`: conditions are expressions,
            // bodies are scripts.
            let mut expect_cond = true;
            for a in args {
                match *a {
                    "elseif" => expect_cond = true,
                    "else" | "then" => {}
                    a if expect_cond => {
                        stack.push(Work::Nuke(ungroup(a)));
                        expect_cond = false;
                    }
                    a => stack.push(Work::Command(ungroup(a))),
                }
            }
        }
        "frame" => {
            an.time_dependent = true;
            stack.extend(args.iter().map(|a| Work::Tcl(a)));
        }
        "expression" => stack.extend(args.iter().map(|a| Work::Nuke(ungroup(a)))),
        _ if PURE_TCL.contains(&name) => stack.extend(args.iter().map(|a| Work::Tcl(a))),
        // Python, `exists`, `metadata`, `file exists`, …: the command's result is
        // unknown whatever its arguments, so they are not analysed further.
        _ => an.unresolvable(whole()),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == MARK
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == MARK
}

fn nuke<'a>(s: &'a str, stack: &mut Vec<Work<'a>>, an: &mut Analysis) {
    let mut masked = String::with_capacity(s.len());
    let groups = substitutions(s, stack, an, Some(&mut masked));
    let chars: Vec<char> = masked.chars().collect();
    let mut marks_seen = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i = number_end(&chars, i);
            continue;
        }
        if !is_ident_start(c) {
            i += 1;
            continue;
        }
        // A dotted path: components of identifier characters (digits allowed after a dot).
        let start = i;
        while i < chars.len() && is_ident_char(chars[i]) {
            i += 1;
        }
        while i + 1 < chars.len() && chars[i] == '.' && is_ident_char(chars[i + 1]) {
            i += 1;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
        }
        let path: String = chars[start..i].iter().collect();
        let marks = path.matches(MARK).count();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let call = j < chars.len() && chars[j] == '(';
        if marks > 0 {
            // `[topnode].first_frame`: a knob of the node at the top of the input chain.
            let topnode_knob = path
                .strip_prefix(MARK)
                .filter(|rest| rest.starts_with('.') && !rest.contains(MARK))
                .filter(|_| groups.get(marks_seen) == Some(&TOPNODE));
            if let Some(rest) = topnode_knob {
                an.refs
                    .push(Reference::from_path(&format!("{TOPNODE}{rest}")));
                marks_seen += marks;
                continue;
            }
            if path != MARK.to_string() {
                // A name built by substitution: which knob it reads is only known at run time.
                let mut text = String::new();
                let mut k = marks_seen;
                for ch in path.chars() {
                    if ch == MARK {
                        text.push_str(groups.get(k).copied().unwrap_or("[…]"));
                        k += 1;
                    } else {
                        text.push(ch);
                    }
                }
                an.unresolvable(text);
            }
            marks_seen += marks;
            continue;
        }
        let dotted = path.contains('.');
        if !dotted && TIME_NAMES.contains(&path.as_str()) {
            an.time_dependent = true;
        } else if dotted || !PURE_NAMES.contains(&path.as_str()) {
            let mut r = Reference::from_path(&path);
            if call {
                // `Blur1.size(frame - 1)` reads the knob at another frame.
                r.other_frames = true;
                an.time_dependent = true;
            }
            an.refs.push(r);
        }
    }
}

/// End of a numeric literal starting at `i` (decimal with exponent, or `0x…` hex).
fn number_end(chars: &[char], mut i: usize) -> usize {
    if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
        i += 2;
        while i < chars.len() && chars[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
        i += 1;
    }
    if i < chars.len() && matches!(chars[i], 'e' | 'E') {
        let mut j = i + 1;
        if j < chars.len() && matches!(chars[j], '+' | '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            i = j;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_node_references() {
        assert!(Reference::from_path("size").is_same_node());
        assert!(Reference::from_path("this.size").is_same_node());
        assert!(!Reference::from_path("parent.size").is_same_node());
    }

    #[test]
    fn tcl_words_group_brackets_braces_and_quotes() {
        assert_eq!(
            tcl_words(r#"value -default {a b} [value x y] "c d" e"#),
            ["value", "-default", "{a b}", "[value x y]", "\"c d\"", "e"]
        );
    }

    #[test]
    fn variables_end_where_tcl_says() {
        let b = b"$env(HOME)/x ${a b}c $gui+1 $";
        assert_eq!(variable_end(b, 0), 10);
        assert_eq!(variable_end(b, 13), 19);
        assert_eq!(variable_end(b, 21), 25);
        assert_eq!(variable_end(b, 28), 29);
    }

    #[test]
    fn deep_nesting_stays_linear_and_conservative() {
        let deep = format!("{}value x{}", "[".repeat(50_000), "]".repeat(50_000));
        let e = analyse_tcl(&deep);
        assert!(e.time_dependent);
        assert!(e.unresolvable.iter().any(|u| u == TOO_DEEP));
    }
}
