//! Tcl lists: reading them, printing them, and the list commands (`lindex`, `llength`,
//! `lrange`, `split`, `join`, `concat`, `list`).
//!
//! Reading supports bare, `{braced}` and `"quoted"` elements without backslashes.
//! Printing follows Tcl's canonical form only where every version agrees: a plain
//! element as is, an empty one as `{}`, one containing spaces, tabs or newlines in
//! braces. Elements that would need any other quoting (braces, backslashes, quotes,
//! `[`, `$`, `;`, a leading `#`) make the result Unknown.

use super::ctx::Ctx;
use super::error::{malformed, unsupported, Unknown};
use super::number::index;

/// White space between list elements.
fn list_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// The elements of a Tcl list.
pub(crate) fn parse(ctx: &mut Ctx<'_>, list: &str) -> Result<Vec<String>, Unknown> {
    ctx.charge(list.len(), list)?;
    if list.contains('\\') {
        return unsupported(list, "backslash in a list");
    }
    let b = list.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && list_space(b[i] as char) {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let start = i;
        match b[i] {
            b'{' => {
                let mut depth = 0usize;
                loop {
                    if i >= b.len() {
                        return malformed(&list[start..], "unmatched open brace in list");
                    }
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                out.push(list[start + 1..i].to_owned());
                i += 1;
            }
            b'"' => {
                let Some(len) = list[i + 1..].find('"') else {
                    return malformed(&list[start..], "unmatched open quote in list");
                };
                out.push(list[i + 1..i + 1 + len].to_owned());
                i += len + 2;
            }
            _ => {
                while i < b.len() && !list_space(b[i] as char) {
                    i += 1;
                }
                out.push(list[start..i].to_owned());
                continue;
            }
        }
        if i < b.len() && !list_space(b[i] as char) {
            return malformed(&list[start..], "list element followed by other characters");
        }
    }
}

/// One element in canonical list form.
fn element(e: &str) -> Result<String, Unknown> {
    if e.is_empty() {
        return Ok("{}".to_owned());
    }
    if e.contains(['{', '}', '\\', '"', '[', ']', '$', ';']) {
        return unsupported(e, "list element whose quoting differs between Tcl versions");
    }
    if e.starts_with('#') {
        // Where Tcl braces a leading # (first element only, or not at all) varies.
        return unsupported(e, "list element starting with #");
    }
    if e.contains(['\r', '\u{b}', '\u{c}']) {
        return unsupported(e, "list element with unusual white space");
    }
    if e.contains([' ', '\t', '\n']) {
        Ok(format!("{{{e}}}"))
    } else {
        Ok(e.to_owned())
    }
}

/// Prints elements as a canonical Tcl list.
pub(crate) fn format(ctx: &mut Ctx<'_>, elems: &[String]) -> Result<String, Unknown> {
    let mut out = String::new();
    for (k, e) in elems.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&element(e)?);
        ctx.check_len(out.len(), e)?;
    }
    ctx.charge(out.len(), &out)?;
    Ok(out)
}

/// White space `concat` trims (C's `isspace`); other white space at the edges is
/// Unknown.
fn concat_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// `concat`: arguments trimmed of white space, empty ones dropped, joined by spaces.
pub(crate) fn concat(args: &[String], part: &str) -> Result<String, Unknown> {
    let mut out = String::new();
    for a in args {
        let t = a.trim_matches(concat_space);
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_whitespace() || c == '\\');
        if edge(t.chars().next()) || edge(t.chars().next_back()) {
            return unsupported(
                part,
                "concat argument with unusual white space or backslash at an edge",
            );
        }
        if t.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    }
    Ok(out)
}

/// The list commands.
pub(crate) fn command(
    ctx: &mut Ctx<'_>,
    name: &str,
    args: &[String],
    part: &str,
) -> Result<String, Unknown> {
    match (name, args) {
        ("lindex", [list, idx]) => {
            let elems = parse(ctx, list)?;
            let k = index(idx, elems.len(), part)?;
            Ok(usize::try_from(k)
                .ok()
                .and_then(|k| elems.get(k).cloned())
                .unwrap_or_default())
        }
        ("llength", [list]) => Ok(parse(ctx, list)?.len().to_string()),
        ("lrange", [list, first, last]) => {
            let elems = parse(ctx, list)?;
            let n = elems.len();
            let first = index(first, n, part)?.max(0);
            let last = index(last, n, part)?.min(n as i64 - 1);
            if first > last {
                return Ok(String::new());
            }
            format(ctx, &elems[first as usize..=last as usize])
        }
        ("split", [text]) => split(ctx, text, " \t\n\r"),
        ("split", [text, chars]) => split(ctx, text, chars),
        ("join", [list]) => Ok(parse(ctx, list)?.join(" ")),
        ("join", [list, sep]) => {
            let elems = parse(ctx, list)?;
            let len = elems.iter().map(String::len).sum::<usize>() + sep.len() * elems.len();
            ctx.produce(len, part)?;
            Ok(elems.join(sep))
        }
        ("concat", _) => concat(args, part),
        ("list", _) => format(ctx, args),
        _ => unsupported(part, "form of a list command not evaluated"),
    }
}

/// `split`: a list of the pieces between any of `chars` (each character when `chars`
/// is empty).
fn split(ctx: &mut Ctx<'_>, text: &str, chars: &str) -> Result<String, Unknown> {
    ctx.charge(text.len(), text)?;
    let pieces: Vec<String> = if text.is_empty() {
        Vec::new()
    } else if chars.is_empty() {
        text.chars().map(String::from).collect()
    } else {
        text.split(|c| chars.contains(c))
            .map(str::to_owned)
            .collect()
    };
    format(ctx, &pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::interp::scope::NoScope;

    fn with_ctx<T>(f: impl FnOnce(&mut Ctx<'_>) -> T) -> T {
        let mut scope = NoScope;
        let mut ctx = Ctx::new(&mut scope, 1.0, "", crate::eval::interp::ctx::no_commands);
        f(&mut ctx)
    }

    fn cmd(name: &str, args: &[&str]) -> Result<String, Unknown> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        with_ctx(|ctx| command(ctx, name, &args, name))
    }

    #[test]
    fn parsing() {
        let l = with_ctx(|ctx| parse(ctx, " a {b c} \"d e\" {} {x {y}}\n f ").unwrap());
        assert_eq!(l, ["a", "b c", "d e", "", "x {y}", "f"]);
        for bad in ["{a", "\"a", "{a}b", "a\\ b"] {
            assert!(with_ctx(|ctx| parse(ctx, bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands() {
        assert_eq!(cmd("lindex", &["a b c", "1"]).unwrap(), "b");
        assert_eq!(cmd("lindex", &["a b c", "end"]).unwrap(), "c");
        assert_eq!(cmd("lindex", &["a b c", "end-2"]).unwrap(), "a");
        assert_eq!(cmd("lindex", &["a b c", "end-3"]).unwrap(), "");
        assert_eq!(cmd("lindex", &["a b c", "5"]).unwrap(), "");
        assert_eq!(cmd("lindex", &["a {b c} d", "1"]).unwrap(), "b c");
        assert_eq!(cmd("llength", &["a {b c} d"]).unwrap(), "3");
        assert_eq!(cmd("llength", &[""]).unwrap(), "0");
        assert_eq!(cmd("lrange", &["a b c d", "1", "2"]).unwrap(), "b c");
        assert_eq!(cmd("lrange", &["a {b c} d", "-5", "1"]).unwrap(), "a {b c}");
        assert_eq!(cmd("lrange", &["a b c", "2", "1"]).unwrap(), "");
        assert_eq!(cmd("lrange", &["a b c", "1", "end"]).unwrap(), "b c");
        assert_eq!(cmd("split", &["a_b__c", "_"]).unwrap(), "a b {} c");
        assert_eq!(cmd("split", &["/a/b", "/"]).unwrap(), "{} a b");
        assert_eq!(cmd("split", &["a b"]).unwrap(), "a b");
        assert_eq!(cmd("split", &["ab", ""]).unwrap(), "a b");
        assert_eq!(cmd("split", &["", "_"]).unwrap(), "");
        assert_eq!(cmd("join", &["a b c", "/"]).unwrap(), "a/b/c");
        assert_eq!(cmd("join", &["a {b c}"]).unwrap(), "a b c");
        assert_eq!(cmd("concat", &[" a ", "", "b c "]).unwrap(), "a b c");
        assert_eq!(cmd("concat", &["Mix:", "0.5"]).unwrap(), "Mix: 0.5");
        assert_eq!(cmd("list", &["a", "b c", ""]).unwrap(), "a {b c} {}");
    }

    #[test]
    fn refusals() {
        assert!(cmd("list", &["a{b"]).is_err());
        assert!(cmd("list", &["#a"]).is_err());
        assert!(cmd("list", &["$x"]).is_err());
        assert!(cmd("lindex", &["a b", "end+1"]).is_err());
        assert!(cmd("lindex", &["a b", "01"]).is_err());
        assert!(cmd("lindex", &["a b"]).is_err());
        assert!(cmd("concat", &["a\u{a0}"]).is_err());
    }
}
