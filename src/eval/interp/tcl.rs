//! Tcl as Nuke runs it on strings: command substitution `[…]`, variables `$name`,
//! `${name}`, `$env(NAME)`, backslash escapes, and words grouped by `{}` and `""`.
//!
//! One parser serves two modes: *live*, which substitutes and runs commands, and
//! *dry*, which only finds where things end (the branch of `&&`, `||`, `?:` or `if`
//! that Tcl does not evaluate). Every recursion goes through [`Ctx::nested`].
//!
//! Deliberately Unknown: backslash escapes whose meaning changed between Tcl versions
//! (`\x`, `\u`, octal) and backslash-newline; comments; `{*}`; namespace variables
//! (`$::x`); arrays other than `env`; a `return` that would unwind through an
//! enclosing command (its effect depends on how Nuke calls Tcl); backslashes in a knob
//! text outside `[…]` (whether Nuke substitutes them depends on the knob).

use super::ctx::{Ctx, Flow};
use super::error::{malformed, unavailable, unsupported, Unknown};

/// A cursor over a text being parsed.
pub(crate) struct Src<'s> {
    pub s: &'s str,
    pub pos: usize,
}

impl<'s> Src<'s> {
    pub fn new(s: &'s str, pos: usize) -> Src<'s> {
        Src { s, pos }
    }

    pub fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub fn at(&self, k: usize) -> Option<u8> {
        self.s.as_bytes().get(self.pos + k).copied()
    }

    pub fn rest(&self) -> &'s str {
        &self.s[self.pos.min(self.s.len())..]
    }

    pub fn from(&self, start: usize) -> &'s str {
        &self.s[start.min(self.s.len())..self.pos.min(self.s.len())]
    }
}

/// White space inside a command (not a command separator).
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// Substitutes a whole text the way a knob's value is substituted (Tcl's `subst`):
/// `[…]` and `$…`; everything else is literal. A `return` inside a top-level `[…]`
/// gives the substitution's value, as in `subst`.
pub(crate) fn subst(ctx: &mut Ctx<'_>, text: &str) -> Result<String, Unknown> {
    ctx.charge(text.len(), text)?;
    let mut src = Src::new(text, 0);
    let mut out = String::new();
    let mut lit = 0;
    while let Some(c) = src.peek() {
        match c {
            b'[' => {
                out.push_str(src.from(lit));
                out.push_str(&command_subst(ctx, &mut src, true, true)?);
                lit = src.pos;
            }
            b'$' => {
                let start = src.pos;
                match variable(ctx, &mut src, true)? {
                    Some(v) => {
                        out.push_str(&text[lit..start]);
                        out.push_str(&v);
                        lit = src.pos;
                    }
                    None => src.pos += 1,
                }
            }
            b'\\' => {
                return unsupported(
                    src.rest(),
                    "backslash in a knob text: whether Nuke substitutes it depends on the knob",
                )
            }
            _ => src.pos += 1,
        }
        ctx.check_len(out.len(), text)?;
    }
    out.push_str(src.from(lit));
    ctx.produce(out.len(), text)?;
    Ok(out)
}

/// Evaluates a whole string as a script (an `if` body), in a new nesting level.
pub(crate) fn eval_script(ctx: &mut Ctx<'_>, script_text: &str) -> Result<Flow, Unknown> {
    ctx.charge(script_text.len(), script_text)?;
    ctx.nested(script_text, |ctx| {
        let mut src = Src::new(script_text, 0);
        script(ctx, &mut src, false, true)
    })
}

/// At a `[`: runs (or, dry, skips) the command substitution and returns its value,
/// leaving the cursor after the `]`. `top` says whether a `return` inside may give the
/// value (a top-level substitution) or must be refused (inside a command's word).
pub(crate) fn command_subst(
    ctx: &mut Ctx<'_>,
    src: &mut Src<'_>,
    live: bool,
    top: bool,
) -> Result<String, Unknown> {
    let start = src.pos;
    src.pos += 1;
    let whole = src.s;
    let flow = ctx.nested(&whole[start..], |ctx| script(ctx, src, true, live))?;
    match flow {
        Flow::Normal(s) => Ok(s),
        Flow::Return(s) if top => Ok(s),
        Flow::Return(_) => unsupported(
            src.from(start),
            "`return` inside a nested substitution unwinds the enclosing command",
        ),
    }
}

/// Runs the commands of a script from the cursor. `nested`: the script is the inside
/// of `[…]` and ends at the matching `]` (the cursor is left after it); otherwise it
/// ends with the text. Dry (`live == false`), nothing is substituted or run.
fn script(
    ctx: &mut Ctx<'_>,
    src: &mut Src<'_>,
    nested: bool,
    mut live: bool,
) -> Result<Flow, Unknown> {
    let open = src.pos.saturating_sub(1);
    let mut result = Flow::Normal(String::new());
    loop {
        while src
            .peek()
            .is_some_and(|c| is_space(c) || c == b'\n' || c == b';')
        {
            src.pos += 1;
        }
        match src.peek() {
            None if nested => return malformed(&src.s[open..], "missing close-bracket"),
            None => return Ok(result),
            Some(b']') if nested => {
                src.pos += 1;
                return Ok(result);
            }
            Some(b'#') => return unsupported(src.rest(), "Tcl comment"),
            _ => {}
        }
        let cmd_start = src.pos;
        let mut words = Vec::new();
        loop {
            while src.peek().is_some_and(is_space) {
                src.pos += 1;
            }
            match src.peek() {
                None | Some(b'\n' | b';') => break,
                Some(b']') if nested => break,
                Some(b'\\') if src.at(1) == Some(b'\n') => {
                    return unsupported(src.rest(), "backslash-newline");
                }
                _ => words.push(word(ctx, src, nested, live)?),
            }
        }
        if nested && src.peek().is_none() {
            return malformed(&src.s[open..], "missing close-bracket");
        }
        if live && !words.is_empty() {
            let text = src.from(cmd_start);
            let run = ctx.commands;
            match run(ctx, &words, text)? {
                Flow::Normal(s) => result = Flow::Normal(s),
                ret @ Flow::Return(_) => {
                    // Parse the rest only to find where the script ends.
                    result = ret;
                    live = false;
                }
            }
        }
    }
}

/// Parses one word of a command at the cursor, substituting when live.
fn word(ctx: &mut Ctx<'_>, src: &mut Src<'_>, nested: bool, live: bool) -> Result<String, Unknown> {
    let start = src.pos;
    let value = match src.peek() {
        Some(b'{') => {
            if src.rest().starts_with("{*}") && src.at(3).is_some_and(|c| !separator(c, nested)) {
                return unsupported(src.rest(), "argument expansion {*}");
            }
            braced(src)?.to_owned()
        }
        Some(b'"') => quoted(ctx, src, live)?,
        _ => {
            let mut out = String::new();
            let mut lit = src.pos;
            while let Some(c) = src.peek() {
                if separator(c, nested) {
                    break;
                }
                if matches!(c, b'[' | b'$' | b'\\') {
                    out.push_str(src.from(lit));
                    substitution(ctx, src, live, &mut out)?;
                    lit = src.pos;
                } else {
                    src.pos += 1;
                }
            }
            out.push_str(src.from(lit));
            out
        }
    };
    if let Some(c) = src.peek() {
        if !separator(c, nested) {
            let what = if src.s.as_bytes()[start] == b'{' {
                "extra characters after close-brace"
            } else {
                "extra characters after close-quote"
            };
            let next = src.rest().chars().next().map_or(0, char::len_utf8);
            return malformed(&src.s[start..src.pos + next], what);
        }
    }
    ctx.produce(value.len(), src.from(start))?;
    Ok(value)
}

/// Ends a word: white space, a command separator, or the `]` of an enclosing
/// substitution.
fn separator(c: u8, nested: bool) -> bool {
    is_space(c) || c == b'\n' || c == b';' || (nested && c == b']')
}

/// At a `[`, `$` or `\`: appends the substitution's value to `out`.
pub(crate) fn substitution(
    ctx: &mut Ctx<'_>,
    src: &mut Src<'_>,
    live: bool,
    out: &mut String,
) -> Result<(), Unknown> {
    match src.peek() {
        Some(b'[') => out.push_str(&command_subst(ctx, src, live, false)?),
        Some(b'$') => match variable(ctx, src, live)? {
            Some(v) => out.push_str(&v),
            None => {
                out.push('$');
                src.pos += 1;
            }
        },
        Some(b'\\') => backslash(src, out)?,
        _ => {}
    }
    ctx.check_len(out.len(), src.s)
}

/// At a `{`: the verbatim content up to the matching `}` (escaped braces do not
/// count); the cursor is left after it.
pub(crate) fn braced<'s>(src: &mut Src<'s>) -> Result<&'s str, Unknown> {
    let start = src.pos;
    let b = src.s.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if b.get(i + 1) == Some(&b'\n') {
                    return unsupported(&src.s[start..], "backslash-newline inside braces");
                }
                i += 1;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    src.pos = i + 1;
                    return Ok(&src.s[start + 1..i]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    malformed(&src.s[start..], "missing close-brace")
}

/// At a `"`: the substituted content up to the closing quote; the cursor is left after
/// it. A `]` inside does not end an enclosing substitution.
pub(crate) fn quoted(ctx: &mut Ctx<'_>, src: &mut Src<'_>, live: bool) -> Result<String, Unknown> {
    let start = src.pos;
    src.pos += 1;
    let mut out = String::new();
    let mut lit = src.pos;
    loop {
        match src.peek() {
            None => return malformed(&src.s[start..], "missing \""),
            Some(b'"') => {
                out.push_str(src.from(lit));
                src.pos += 1;
                return Ok(out);
            }
            Some(b'[' | b'$' | b'\\') => {
                out.push_str(src.from(lit));
                substitution(ctx, src, live, &mut out)?;
                lit = src.pos;
            }
            Some(_) => src.pos += 1,
        }
    }
}

/// At a `\`: appends the escaped character. Escapes whose meaning differs between Tcl
/// versions are Unknown.
fn backslash(src: &mut Src<'_>, out: &mut String) -> Result<(), Unknown> {
    let start = src.pos;
    let Some(c) = src.s[start + 1..].chars().next() else {
        return unsupported("\\", "backslash at the end of the text");
    };
    let mapped = match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        '\n' => return unsupported(&src.s[start..], "backslash-newline"),
        'x' | 'u' | 'U' | '0'..='7' => {
            let end = (start + 2).min(src.s.len());
            return unsupported(
                &src.s[start..end],
                "numeric backslash escape (its length differs between Tcl versions)",
            );
        }
        other => other,
    };
    out.push(mapped);
    src.pos = start + 1 + c.len_utf8();
    Ok(())
}

/// At a `$`: the variable's value (`None` when the `$` starts no variable and is
/// literal), leaving the cursor after the variable. Dry, the value is empty.
pub(crate) fn variable(
    ctx: &mut Ctx<'_>,
    src: &mut Src<'_>,
    live: bool,
) -> Result<Option<String>, Unknown> {
    let start = src.pos;
    let b = src.s.as_bytes();
    let mut i = start + 1;
    if b.get(i) == Some(&b'{') {
        let Some(len) = src.s[i + 1..].find('}') else {
            return malformed(&src.s[start..], "missing close-brace for variable name");
        };
        let name = &src.s[i + 1..i + 1 + len];
        src.pos = i + len + 2;
        return scalar(ctx, name, &src.s[start..src.pos], live).map(Some);
    }
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        i += 1;
    }
    let next = b.get(i).copied();
    if next == Some(b':') && b.get(i + 1) == Some(&b':') {
        return unsupported(&src.s[start..], "namespace variable");
    }
    if next.is_some_and(|c| c >= 0x80) {
        return unsupported(&src.s[start..], "non-ASCII character in a variable name");
    }
    if i == start + 1 {
        if next == Some(b'(') {
            return unsupported(&src.s[start..], "element of the array with an empty name");
        }
        return Ok(None);
    }
    let name = &src.s[start + 1..i];
    src.pos = i;
    if next != Some(b'(') {
        return scalar(ctx, name, &src.s[start..i], live).map(Some);
    }
    // An array element: the index is substituted up to `)`.
    src.pos += 1;
    let mut index = String::new();
    let mut lit = src.pos;
    loop {
        match src.peek() {
            None => return malformed(&src.s[start..], "missing )"),
            Some(b')') => break,
            Some(b'(') => return unsupported(&src.s[start..], "parenthesis in an array index"),
            Some(c) if is_space(c) || c == b'\n' => {
                return unsupported(&src.s[start..], "white space in an array index")
            }
            Some(b'[' | b'$' | b'\\') => {
                index.push_str(src.from(lit));
                substitution(ctx, src, live, &mut index)?;
                lit = src.pos;
            }
            Some(_) => src.pos += 1,
        }
    }
    index.push_str(src.from(lit));
    src.pos += 1;
    let whole = &src.s[start..src.pos];
    if name != "env" {
        return unsupported(whole, "array variable other than env");
    }
    if !live {
        return Ok(Some(String::new()));
    }
    match ctx.scope.env(&index) {
        Some(v) => {
            ctx.produce(v.len(), whole)?;
            Ok(Some(v))
        }
        None => unavailable(whole, "environment variable not set or not known"),
    }
}

fn scalar(ctx: &mut Ctx<'_>, name: &str, whole: &str, live: bool) -> Result<String, Unknown> {
    if !live {
        return Ok(String::new());
    }
    if name == "env" {
        return unsupported(whole, "the env array read as a scalar");
    }
    match ctx.scope.var(name) {
        Some(v) => {
            ctx.produce(v.len(), whole)?;
            Ok(v)
        }
        None => unavailable(whole, "Tcl variable not known"),
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::interp::testing::{tcl, why, MapScope};
    use crate::eval::interp::Why;

    fn scope() -> MapScope {
        MapScope::new()
            .text("a", "A")
            .text("knob_path", "Grade1")
            .text("id.0", "white")
            .text("Grade1.white", "1.5")
            .text("root.name", "/shows/abc/sh010/comp_v003.nk")
            .env("SHOW", "abc")
    }

    fn ok(text: &str) -> String {
        tcl(&mut scope(), text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn substitution() {
        assert_eq!(ok("plain text {with} braces"), "plain text {with} braces");
        assert_eq!(ok("[value a]/b"), "A/b");
        assert_eq!(ok("[value [value knob_path].[value id.0]]"), "1.5");
        assert_eq!(ok("$env(SHOW)/x"), "abc/x");
        assert_eq!(ok("${gui}:$gui"), "0:0");
        assert_eq!(ok("cost: $ 5 and $"), "cost: $ 5 and $");
        assert_eq!(ok("[]"), "");
        assert_eq!(ok("[ value a ]"), "A");
        assert_eq!(ok("[string length a; string length abc]"), "3");
        assert_eq!(ok("[string length a\n string length abcd]"), "4");
    }

    #[test]
    fn words_and_quoting() {
        assert_eq!(ok("[string length {[value missing]}]"), "15");
        assert_eq!(ok("[string length \"a]b\"]"), "3");
        assert_eq!(ok("[string length \"a b\"]"), "3");
        assert_eq!(ok("[string length \\{]"), "1");
        assert_eq!(ok("[string length a\\ b]"), "3");
        assert_eq!(
            ok("[concat \"x [value a]\" {y [value a]}]"),
            "x A y [value a]"
        );
        assert_eq!(ok("[string toupper \"a\\tb\"]"), "A\tB");
        assert_eq!(ok("[string length {a {b} c}]"), "7");
        assert_eq!(ok("[string length {a \\} b}]"), "6");
        assert_eq!(ok("[concat a[value a]b]"), "aAb");
        assert_eq!(ok("[concat \\[value]"), "[value");
        assert_eq!(ok("[string length ab\\q]"), "3");
    }

    #[test]
    fn returns() {
        assert_eq!(ok("x[if {1} {return a}]y"), "xay");
        assert_eq!(ok("[return x; python y]"), "x");
        assert_eq!(
            why(tcl(&mut scope(), "[string tolower [if {1} {return A}]]")).0,
            Why::Unsupported
        );
    }

    #[test]
    fn refusals() {
        for (text, want, part) in [
            ("[value", Why::Malformed, "[value"),
            ("[value a", Why::Malformed, "[value a"),
            ("[string length {a}b]", Why::Malformed, "{a}b"),
            ("[string length \"a\"b]", Why::Malformed, "\"a\"b"),
            ("[string length {a]", Why::Malformed, "{a]"),
            ("[string length \"a]", Why::Malformed, "\"a]"),
            ("[{*}x]", Why::Unsupported, "{*}x]"),
            ("[# comment]", Why::Unsupported, "# comment]"),
            ("[string length \\x41]", Why::Unsupported, "\\x"),
            ("[string length \\101]", Why::Unsupported, "\\1"),
            ("[string length a\\\nb]", Why::Unsupported, "\\\nb]"),
            ("[set x 1]", Why::Unsupported, "[set x 1]"),
            ("[exec ls]", Why::Unsupported, "[exec ls]"),
            ("[value missing]", Why::Unavailable, "[value missing]"),
            ("[value a b]", Why::Unsupported, "[value a b]"),
            ("$env(NOPE)", Why::Unavailable, "$env(NOPE)"),
            ("$nope", Why::Unavailable, "$nope"),
            ("$arr(x)", Why::Unsupported, "$arr(x)"),
            ("$(x)", Why::Unsupported, "$(x)"),
            ("$::env(HOME)", Why::Unsupported, "$::env(HOME)"),
            ("${a", Why::Malformed, "${a"),
            ("$env(A", Why::Malformed, "$env(A"),
            ("$env(A B)", Why::Unsupported, "$env(A B)"),
            ("$env", Why::Unsupported, "$env"),
            ("C:\\path", Why::Unsupported, "\\path"),
        ] {
            assert_eq!(
                why(tcl(&mut scope(), text)),
                (want, part.to_owned()),
                "{text}"
            );
        }
    }
}
