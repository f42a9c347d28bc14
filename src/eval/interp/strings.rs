//! Tcl's `string` subcommands (indices as the list commands read them, see
//! [`super::number::index`]).
//!
//! Strings are sequences of characters as Tcl 8 counts them (UTF-16 code units before
//! Tcl 8.7): characters outside the Basic Multilingual Plane make indexing Unknown.
//! Case mapping is ASCII only (Tcl's Unicode tables differ between versions); default
//! trimming refuses edges that later versions count as white space and 8.4 does not.

use super::ctx::Ctx;
use super::error::{malformed, unsupported, Unknown};
use super::lists;
use super::number::{index, tcl_number, NumText};

/// The characters of `s`, refusing those Tcl 8 does not count as one.
fn chars(s: &str, part: &str) -> Result<Vec<char>, Unknown> {
    if s.chars().any(|c| c as u32 > 0xFFFF || c == '\0') {
        return unsupported(part, "character Tcl versions count differently");
    }
    Ok(s.chars().collect())
}

fn bool_text(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

/// Characters some Tcl version trims by default and 8.4 does not.
fn maybe_trimmed(c: char) -> bool {
    c.is_whitespace() || c == '\0' || matches!(c, '\u{180e}' | '\u{200b}' | '\u{feff}')
}

/// `string SUBCOMMAND args…`.
pub(crate) fn string(ctx: &mut Ctx<'_>, args: &[String], part: &str) -> Result<String, Unknown> {
    let Some((sub, rest)) = args.split_first() else {
        return malformed(part, "string without a subcommand");
    };
    for a in rest {
        ctx.charge(a.len(), part)?;
    }
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (sub.as_str(), r.as_slice()) {
        ("length", [s]) => Ok(chars(s, part)?.len().to_string()),
        ("tolower" | "toupper", [s]) => {
            if !s.is_ascii() {
                return unsupported(part, "case mapping of non-ASCII text");
            }
            Ok(if sub == "tolower" {
                s.to_ascii_lowercase()
            } else {
                s.to_ascii_uppercase()
            })
        }
        ("range", [s, first, last]) => {
            let c = chars(s, part)?;
            let first = index(first, c.len(), part)?.max(0);
            let last = index(last, c.len(), part)?.min(c.len() as i64 - 1);
            Ok(if first > last {
                String::new()
            } else {
                c[first as usize..=last as usize].iter().collect()
            })
        }
        ("index", [s, i]) => {
            let c = chars(s, part)?;
            let i = index(i, c.len(), part)?;
            Ok(usize::try_from(i)
                .ok()
                .and_then(|i| c.get(i))
                .map(|c| c.to_string())
                .unwrap_or_default())
        }
        ("first" | "last", [needle, hay]) => {
            let (n, h) = (chars(needle, part)?, chars(hay, part)?);
            ctx.charge(n.len().saturating_mul(h.len()), part)?;
            let found = if n.is_empty() || n.len() > h.len() {
                None
            } else {
                let mut starts = 0..=h.len() - n.len();
                let hit = |&k: &usize| h[k..k + n.len()] == n[..];
                if sub == "first" {
                    starts.find(hit)
                } else {
                    starts.rev().find(hit)
                }
            };
            Ok(found.map_or(-1, |k| k as i64).to_string())
        }
        ("trim" | "trimleft" | "trimright", [s]) => {
            let set = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
            let t = trim(sub, s, set);
            let left = sub != "trimright" && t.chars().next().is_some_and(maybe_trimmed);
            let right = sub != "trimleft" && t.chars().next_back().is_some_and(maybe_trimmed);
            if left || right {
                return unsupported(
                    part,
                    "default trimming of characters Tcl versions treat differently",
                );
            }
            Ok(t.to_owned())
        }
        ("trim" | "trimleft" | "trimright", [s, set]) => {
            let set = chars(set, part)?;
            Ok(trim(sub, s, |c| set.contains(&c)).to_owned())
        }
        ("map", [mapping, s]) => map(ctx, mapping, s, part),
        ("replace", [s, first, last]) => replace(s, first, last, "", part),
        ("replace", [s, first, last, new]) => replace(s, first, last, new, part),
        ("repeat", [s, count]) => {
            let n = match tcl_number(count) {
                NumText::Int(n) => n,
                _ => return unsupported(part, "repeat count that is not a plain integer"),
            };
            if n <= 0 {
                return Ok(String::new());
            }
            ctx.produce(s.len().saturating_mul(n as usize), part)?;
            Ok(s.repeat(n as usize))
        }
        ("equal", [a, b]) => Ok(bool_text(a == b)),
        ("compare", [a, b]) => {
            chars(a, part)?;
            chars(b, part)?;
            Ok(match a.cmp(b) {
                std::cmp::Ordering::Less => "-1",
                std::cmp::Ordering::Equal => "0",
                std::cmp::Ordering::Greater => "1",
            }
            .to_owned())
        }
        ("match", [pattern, s]) => {
            let (p, c) = (chars(pattern, part)?, chars(s, part)?);
            if p.iter().any(|&ch| ch == '[' || ch == '\\') {
                return unsupported(part, "string match with [ or \\ in the pattern");
            }
            Ok(bool_text(glob(ctx, &p, &c, part)?))
        }
        _ => unsupported(part, "string subcommand or form not evaluated"),
    }
}

fn trim<'a>(sub: &str, s: &'a str, set: impl Fn(char) -> bool) -> &'a str {
    match sub {
        "trimleft" => s.trim_start_matches(set),
        "trimright" => s.trim_end_matches(set),
        _ => s.trim_matches(set),
    }
}

/// `string map`: at each position, the first key (in order) that matches is replaced.
fn map(ctx: &mut Ctx<'_>, mapping: &str, s: &str, part: &str) -> Result<String, Unknown> {
    let pairs = lists::parse(ctx, mapping)?;
    if pairs.len() % 2 == 1 {
        return malformed(part, "string map with an odd number of elements");
    }
    let pairs: Vec<(Vec<char>, &str)> = pairs
        .chunks(2)
        .map(|p| chars(&p[0], part).map(|k| (k, p[1].as_str())))
        .collect::<Result<_, _>>()?;
    if pairs.iter().any(|(k, _)| k.is_empty()) {
        return unsupported(part, "string map with an empty key");
    }
    let c = chars(s, part)?;
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        ctx.charge(pairs.len(), part)?;
        match pairs
            .iter()
            .find(|(k, _)| c.len() - i >= k.len() && c[i..i + k.len()] == k[..])
        {
            Some((k, v)) => {
                out.push_str(v);
                i += k.len();
            }
            None => {
                out.push(c[i]);
                i += 1;
            }
        }
        ctx.check_len(out.len(), part)?;
    }
    ctx.charge(out.len(), part)?;
    Ok(out)
}

/// `string replace` with Tcl 8.4's documented edge cases.
fn replace(s: &str, first: &str, last: &str, new: &str, part: &str) -> Result<String, Unknown> {
    let c = chars(s, part)?;
    let len = c.len() as i64;
    let (first, last) = (index(first, c.len(), part)?, index(last, c.len(), part)?);
    if last < 0 {
        return Ok(s.to_owned());
    }
    let (first, last) = (first.max(0), last.min(len - 1));
    if first > last || first >= len {
        return Ok(s.to_owned());
    }
    let mut out: String = c[..first as usize].iter().collect();
    out.push_str(new);
    out.extend(&c[last as usize + 1..]);
    Ok(out)
}

/// Glob matching with `*` and `?` (linear backtracking on the last `*`).
fn glob(ctx: &mut Ctx<'_>, p: &[char], s: &[char], part: &str) -> Result<bool, Unknown> {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        ctx.charge(1, part)?;
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return Ok(false);
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    Ok(pi == p.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::interp::scope::NoScope;

    fn st(args: &[&str]) -> Result<String, Unknown> {
        let mut scope = NoScope;
        let mut ctx = Ctx::new(&mut scope, 1.0, "", crate::eval::interp::ctx::no_commands);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        string(&mut ctx, &args, "string")
    }

    fn ok(args: &[&str]) -> String {
        st(args).unwrap()
    }

    #[test]
    fn subcommands() {
        assert_eq!(ok(&["length", "héllo"]), "5");
        assert_eq!(ok(&["tolower", "ShotA_010"]), "shota_010");
        assert_eq!(ok(&["toupper", "abc"]), "ABC");
        assert_eq!(ok(&["range", "abcdef", "1", "3"]), "bcd");
        assert_eq!(ok(&["range", "abcdef", "-3", "end-4"]), "ab");
        assert_eq!(ok(&["range", "abcdef", "4", "99"]), "ef");
        assert_eq!(ok(&["range", "abcdef", "3", "2"]), "");
        assert_eq!(ok(&["range", "0xff8800", "2", "3"]), "ff");
        assert_eq!(ok(&["index", "abc", "end"]), "c");
        assert_eq!(ok(&["index", "abc", "3"]), "");
        assert_eq!(ok(&["first", "b", "abcb"]), "1");
        assert_eq!(ok(&["last", "b", "abcb"]), "3");
        assert_eq!(ok(&["first", "z", "abc"]), "-1");
        assert_eq!(ok(&["first", "", "abc"]), "-1");
        assert_eq!(ok(&["first", ".a", "rgba.red rgba.alpha"]), "13");
        assert_eq!(ok(&["trim", "  a b \n"]), "a b");
        assert_eq!(ok(&["trimleft", "  a "]), "a ");
        assert_eq!(ok(&["trimright", "  a "]), "  a");
        assert_eq!(ok(&["trimright", "cam1...", "."]), "cam1");
        assert_eq!(ok(&["trim", "xxaxx", "x"]), "a");
        assert_eq!(ok(&["map", "aa xx bb yy", "aaffffaabb"]), "xxffffxxyy");
        assert_eq!(ok(&["map", "a 1 ab 2", "ab"]), "1b");
        assert_eq!(ok(&["map", "\"aa\" x", "aaa"]), "xa");
        assert_eq!(ok(&["replace", "abcdef", "1", "2", "XY"]), "aXYdef");
        assert_eq!(ok(&["replace", "abcdef", "1", "2"]), "adef");
        assert_eq!(ok(&["replace", "abc", "-5", "0", "Z"]), "Zbc");
        assert_eq!(ok(&["replace", "abc", "2", "1", "Z"]), "abc");
        assert_eq!(ok(&["replace", "abc", "5", "9", "Z"]), "abc");
        assert_eq!(ok(&["replace", "abc", "0", "-1", "Z"]), "abc");
        assert_eq!(ok(&["repeat", "ab", "3"]), "ababab");
        assert_eq!(ok(&["repeat", "ab", "0"]), "");
        assert_eq!(ok(&["equal", "a", "a"]), "1");
        assert_eq!(ok(&["equal", "a", "b"]), "0");
        assert_eq!(ok(&["compare", "a", "b"]), "-1");
        assert_eq!(ok(&["compare", "b", "a"]), "1");
        assert_eq!(ok(&["compare", "a", "a"]), "0");
        assert_eq!(ok(&["match", "*.exr", "plate.0001.exr"]), "1");
        assert_eq!(ok(&["match", "left", "right"]), "0");
        assert_eq!(ok(&["match", "?a*b*", "xaQbZ"]), "1");
        assert_eq!(ok(&["match", "a*b", "aXbY"]), "0");
        assert_eq!(ok(&["match", "*", ""]), "1");
    }

    #[test]
    fn refusals() {
        for args in [
            &["tolower", "É"][..],
            &["tolower", "a", "0", "1"],
            &["length", "😀"],
            &["trim", "\u{a0}a"],
            &["trim", "a\u{b}"],
            &["map", "-nocase", "a b", "a"],
            &["map", "a", "a"],
            &["map", "{} x", "a"],
            &["match", "[ab]", "a"],
            &["match", "-nocase", "a", "A"],
            &["repeat", "ab", "1e3"],
            &["repeat", "abcdefgh", "1000000"],
            &["is", "integer", "1"],
            &["equal", "-nocase", "a", "A"],
        ] {
            assert!(st(args).is_err(), "{args:?}");
        }
    }
}
