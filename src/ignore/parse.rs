//! Rule-file text to rules, with `origin:line:col` errors.
//!
//! The grammar is line based and tiny (see the module doc of [`super`]), so this is a
//! hand-written scanner over each line rather than a general tokenizer: the only
//! structure is `[keep] (node|knob) PATTERN [# reason]`.

use super::matcher::{Compiled, Pattern};
use super::{Rule, RuleError, RuleKind};
use globset::GlobBuilder;

/// Longest rule pattern accepted, in characters. Class and knob names are short; the
/// limit keeps every pattern's matcher small (a glob of 100,000 `*` would otherwise
/// compile to a regex over globset's size limit).
pub const MAX_PATTERN_LEN: usize = 1024;

/// Parse `text`; `origin` names the file in rule origins and errors.
pub(super) fn parse(text: &str, origin: &str) -> Result<(Vec<Rule>, Vec<Compiled>), RuleError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rules = Vec::new();
    let mut compiled = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = Line {
            origin,
            number: index + 1,
            text: line,
        };
        if let Some((rule, glob)) = parse_line(&at)? {
            rules.push(rule);
            compiled.push(glob);
        }
    }
    Ok((rules, compiled))
}

/// Check that rule-file bytes are UTF-8, pointing at the first bad byte if not.
pub(super) fn utf8<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, RuleError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // `good` is valid UTF-8 by construction, so the lossy conversion is exact.
        let good = String::from_utf8_lossy(good);
        let line = good.matches('\n').count() + 1;
        let line_start = good.rfind('\n').map_or(0, |i| i + 1);
        RuleError::Syntax {
            origin: origin.to_string(),
            line,
            col: good[line_start..].chars().count() + 1,
            message: "rule files must be UTF-8 text".to_string(),
        }
    })
}

/// One line of a rule file, for error positions.
struct Line<'a> {
    origin: &'a str,
    number: usize,
    text: &'a str,
}

impl Line<'_> {
    /// A syntax error at byte offset `byte` of this line (reported as a 1-based column
    /// in characters).
    fn error(&self, byte: usize, message: impl Into<String>) -> RuleError {
        let byte = byte.min(self.text.len());
        let col = self.text.get(..byte).map_or(byte, |s| s.chars().count()) + 1;
        RuleError::Syntax {
            origin: self.origin.to_string(),
            line: self.number,
            col,
            message: message.into(),
        }
    }
}

/// Longest piece of a rule file quoted back in an error message; the position already
/// says where the rest is.
const SHOWN_MAX: usize = 60;

/// `text` as quoted in an error: cut to [`SHOWN_MAX`] characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A word of a line and its byte offset.
struct Word<'a> {
    text: &'a str,
    at: usize,
}

/// The next whitespace-separated word at or after byte `from`.
fn next_word(line: &str, from: usize) -> Option<Word<'_>> {
    let rest = line.get(from..)?;
    let start = from + (rest.len() - rest.trim_start().len());
    let word = line[start..].split(char::is_whitespace).next()?;
    (!word.is_empty()).then_some(Word {
        text: word,
        at: start,
    })
}

fn parse_line(line: &Line<'_>) -> Result<Option<(Rule, Compiled)>, RuleError> {
    let text = line.text;
    let (body, reason) = match text.find('#') {
        Some(hash) => (&text[..hash], Some(text[hash + 1..].trim())),
        None => (text, None),
    };
    let Some(first) = next_word(body, 0) else {
        return Ok(None); // blank or comment
    };
    let (kind, keyword_end) = match first.text {
        "node" => (RuleKind::Node, first.at + first.text.len()),
        "knob" => (RuleKind::Knob, first.at + first.text.len()),
        "keep" => {
            let after = first.at + first.text.len();
            match next_word(body, after) {
                Some(w) if w.text == "node" => (RuleKind::KeepNode, w.at + w.text.len()),
                Some(w) if w.text == "knob" => (RuleKind::KeepKnob, w.at + w.text.len()),
                Some(w) => {
                    return Err(line.error(
                        w.at,
                        format!(
                            "expected `node` or `knob` after `keep`, found `{}`",
                            shown(w.text)
                        ),
                    ))
                }
                None => {
                    return Err(line.error(after, "expected `node` or `knob` after `keep`"));
                }
            }
        }
        other => {
            return Err(line.error(
                first.at,
                format!(
                    "unknown rule `{}`: expected `node`, `knob`, `keep node` or `keep knob`",
                    shown(other)
                ),
            ))
        }
    };
    let rest = &body[keyword_end..];
    let pattern_at = keyword_end + (rest.len() - rest.trim_start().len());
    let pattern = rest.trim();
    if pattern.is_empty() {
        return Err(line.error(
            keyword_end,
            format!("missing pattern after `{}`", kind.keyword()),
        ));
    }

    let (pattern, compiled) = if kind.targets_nodes() {
        if let Some(colon) = pattern.find(':') {
            return Err(line.error(
                pattern_at + colon,
                "a node rule matches a class name; `CLASS:KNOB` belongs in a knob rule",
            ));
        }
        let class = class_glob(line, pattern, pattern_at)?;
        (pattern.to_string(), Compiled::node(class))
    } else {
        knob_pattern(line, pattern, pattern_at)?
    };

    let rule = Rule {
        kind,
        pattern,
        reason: reason.filter(|r| !r.is_empty()).map(str::to_string),
        origin: format!("{}:{}", line.origin, line.number),
    };
    Ok(Some((rule, compiled)))
}

/// A knob pattern: `KNOB` or `CLASS:KNOB`. Spaces around the colon are dropped from the
/// stored pattern so that they cannot change the fingerprint.
fn knob_pattern(
    line: &Line<'_>,
    pattern: &str,
    at: usize,
) -> Result<(String, Compiled), RuleError> {
    let Some(colon) = pattern.find(':') else {
        let knob = glob(line, pattern, at)?;
        return Ok((pattern.to_string(), Compiled::knob(None, knob)));
    };
    let (class_part, knob_part) = (&pattern[..colon], &pattern[colon + 1..]);
    if let Some(second) = knob_part.find(':') {
        return Err(line.error(
            at + colon + 1 + second,
            "a knob pattern has at most one `:` (CLASS:KNOB)",
        ));
    }
    let class = class_part.trim_end();
    let knob = knob_part.trim_start();
    if class.is_empty() {
        return Err(line.error(at + colon, "missing class pattern before `:`"));
    }
    if knob.is_empty() {
        return Err(line.error(at + colon + 1, "missing knob pattern after `:`"));
    }
    let knob_at = at + colon + 1 + (knob_part.len() - knob.len());
    let class_glob = class_glob(line, class, at)?;
    let knob_glob = glob(line, knob, knob_at)?;
    Ok((
        format!("{class}:{knob}"),
        Compiled::knob(Some(class_glob), knob_glob),
    ))
}

/// A class pattern. Class names never contain spaces, so a space means a mistake such as
/// `node Dot NoOp` (one pattern per rule; `{Dot,NoOp}` matches both).
fn class_glob(line: &Line<'_>, pattern: &str, at: usize) -> Result<Pattern, RuleError> {
    if let Some(space) = pattern.find(char::is_whitespace) {
        return Err(line.error(
            at + space,
            "a class pattern cannot contain spaces (one pattern per rule; `{A,B}` matches both)",
        ));
    }
    glob(line, pattern, at)
}

/// Compile one glob with the options every rule uses: whole-name, case-sensitive
/// matching where `*` crosses dots (names are not paths), `\` escapes and `{a,}`. A
/// pattern too long, or whose matcher cannot be built, is an error at its position.
fn glob(line: &Line<'_>, pattern: &str, at: usize) -> Result<Pattern, RuleError> {
    let len = pattern.chars().count();
    if len > MAX_PATTERN_LEN {
        return Err(line.error(
            at,
            format!("pattern too long: {len} characters (at most {MAX_PATTERN_LEN})"),
        ));
    }
    let glob = GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map_err(|e| {
            line.error(
                at,
                format!("bad pattern `{}`: {}", shown(pattern), e.kind()),
            )
        })?;
    Pattern::new(glob)
        .map_err(|e| line.error(at, format!("pattern too complex to match: {}", e.kind())))
}
