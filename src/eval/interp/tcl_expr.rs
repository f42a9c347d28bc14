//! Tcl's `expr` (and the conditions of `if`), as far as every Tcl version from 8.4
//! on agrees.
//!
//! Supported: integer and double arithmetic (`+ - * / %`, integer division rounding
//! down, remainder with the divisor's sign), comparisons (numeric when both operands
//! are numbers, else string comparison), `eq` `ne`, `! && || ?:` with Tcl's lazy
//! evaluation, operands that are numbers, `$variables`, `[commands]`, `"strings"` and
//! `{braced strings}`, and the functions `abs double int round ceil floor fmod sqrt`.
//!
//! Deliberately Unknown: bitwise operators, `**`, `in`/`ni` and bare boolean words
//! (not in Tcl 8.4); transcendental functions (the C library's rounding); integers
//! outside 32 bits (Tcl 8.4 wraps, later versions do not); doubles that do not print
//! identically in every version (see [`number`](super::number)); boolean words used as
//! operands.

use std::cmp::Ordering;

use super::ctx::Ctx;
use super::error::{arithmetic, inexact, malformed, unsupported, Unknown};
use super::number::{parse_lexeme, scan_number, tcl_double_text, tcl_number, NumText, TCL_INT_MAX};
use super::tcl::{braced, command_subst, quoted, variable, Src};

/// A value inside `expr`.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Dbl(f64),
    /// An operand as text: a string, a substitution's result.
    Str(String),
    /// A numeric literal as written (`0x10`, `1.50`): whether Tcl keeps the written
    /// text as its string form differs between versions.
    Lit(String),
}

#[derive(Debug, Clone, Copy)]
enum Numeric {
    Int(i64),
    Dbl(f64),
}

impl Numeric {
    fn f(self) -> f64 {
        match self {
            Numeric::Int(i) => i as f64,
            Numeric::Dbl(d) => d,
        }
    }
}

const DUMMY: V = V::Int(0);

fn int(v: i64, part: &str) -> Result<V, Unknown> {
    if (-TCL_INT_MAX - 1..=TCL_INT_MAX).contains(&v) {
        Ok(V::Int(v))
    } else {
        inexact(part, "integer beyond 32 bits: Tcl versions differ")
    }
}

fn dbl(v: f64, part: &str) -> Result<V, Unknown> {
    if v.is_finite() {
        Ok(V::Dbl(v))
    } else {
        arithmetic(part, "result is not a finite number")
    }
}

impl V {
    /// The numeric reading, or Unknown (a string where Tcl needs a number is a Tcl
    /// error).
    fn numeric(&self, part: &str) -> Result<Numeric, Unknown> {
        match self {
            V::Int(i) => Ok(Numeric::Int(*i)),
            V::Dbl(d) => Ok(Numeric::Dbl(*d)),
            V::Str(s) | V::Lit(s) => match tcl_number(s) {
                NumText::Int(i) => Ok(Numeric::Int(i)),
                NumText::Dbl(d) => Ok(Numeric::Dbl(d)),
                NumText::NotNumber => malformed(part, "non-numeric string used as a number"),
                NumText::Unclear => {
                    inexact(part, "string read as a number differently by Tcl versions")
                }
            },
        }
    }

    /// The numeric reading when the value is a number; `None` for a plain string.
    fn maybe_numeric(&self, part: &str) -> Result<Option<Numeric>, Unknown> {
        match self {
            V::Str(s) | V::Lit(s) if tcl_number(s) == NumText::NotNumber => Ok(None),
            _ => self.numeric(part).map(Some),
        }
    }

    /// The string representation.
    fn text(&self, part: &str) -> Result<String, Unknown> {
        match self {
            V::Int(i) => Ok(i.to_string()),
            V::Dbl(d) => match tcl_double_text(*d) {
                Some(s) => Ok(s),
                None => inexact(part, "double whose printing differs between Tcl versions"),
            },
            V::Str(s) => Ok(s.clone()),
            V::Lit(s) if canonical(s) => Ok(s.clone()),
            V::Lit(_) => inexact(
                part,
                "numeric literal whose string form differs between Tcl versions",
            ),
        }
    }

    /// The truth value for `! && || ?:`.
    fn truth(&self, part: &str) -> Result<bool, Unknown> {
        if let V::Str(s) | V::Lit(s) = self {
            if tcl_number(s) == NumText::NotNumber {
                return if boolean_word(s).is_some() {
                    inexact(part, "boolean word as an operand: Tcl versions differ")
                } else {
                    malformed(part, "non-numeric string used as a condition")
                };
            }
        }
        Ok(self.numeric(part)?.f() != 0.0)
    }
}

/// Tcl's boolean words, whole and in any case (abbreviations are Unknown).
fn boolean_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `true` when Tcl prints the number read from `s` as `s` itself.
fn canonical(s: &str) -> bool {
    match tcl_number(s) {
        NumText::Int(i) => i.to_string() == s,
        NumText::Dbl(d) => tcl_double_text(d).as_deref() == Some(s),
        _ => false,
    }
}

/// The result of `expr` on `text` (its arguments already concatenated), as text.
///
/// Tcl converts a numeric result to its canonical form (`expr {0x10}` is `16`, `expr
/// {"1.50"}` is `1.5`: Tcl 8.4's `INST_TRY_CVT_TO_NUMERIC` discards the string form),
/// so a numeric string prints as the number it reads as.
pub(crate) fn expr_text(ctx: &mut Ctx<'_>, text: &str) -> Result<String, Unknown> {
    match evaluate(ctx, text)? {
        V::Str(s) | V::Lit(s) => match tcl_number(&s) {
            NumText::NotNumber => Ok(s),
            NumText::Int(i) => Ok(i.to_string()),
            NumText::Dbl(d) => V::Dbl(d).text(text),
            NumText::Unclear => {
                inexact(text, "string read as a number differently by Tcl versions")
            }
        },
        v => v.text(text),
    }
}

/// The truth of an `if` condition: a number, or a whole boolean word.
pub(crate) fn condition(ctx: &mut Ctx<'_>, text: &str) -> Result<bool, Unknown> {
    match evaluate(ctx, text)? {
        V::Str(s) | V::Lit(s) => match tcl_number(&s) {
            NumText::NotNumber => match boolean_word(&s) {
                Some(b) => Ok(b),
                None => unsupported(text, "condition is neither a number nor a boolean word"),
            },
            _ => Ok(V::Str(s).numeric(text)?.f() != 0.0),
        },
        v => Ok(v.numeric(text)?.f() != 0.0),
    }
}

fn evaluate(ctx: &mut Ctx<'_>, text: &str) -> Result<V, Unknown> {
    ctx.charge(text.len(), text)?;
    ctx.nested(text, |ctx| {
        let mut p = Parser {
            src: Src::new(text, 0),
        };
        let v = p.ternary(ctx, true)?;
        p.skip_ws();
        if p.src.peek().is_some() {
            return malformed(p.src.rest(), "unexpected text in expression");
        }
        Ok(v)
    })
}

struct Parser<'s> {
    src: Src<'s>,
}

/// Binary operators by precedence (higher binds tighter).
fn binary_op(rest: &str) -> Option<(&'static str, u8)> {
    const OPS: &[(&str, u8)] = &[
        ("||", 1),
        ("&&", 2),
        ("==", 4),
        ("!=", 4),
        ("<=", 5),
        (">=", 5),
        ("<", 5),
        (">", 5),
        ("+", 6),
        ("-", 6),
        ("*", 7),
        ("/", 7),
        ("%", 7),
    ];
    for &(op, prec) in OPS {
        if rest.starts_with(op) {
            return Some((op, prec));
        }
    }
    for op in ["eq", "ne"] {
        if rest.starts_with(op)
            && !rest[2..]
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Some((if op == "eq" { "eq" } else { "ne" }, 3));
        }
    }
    None
}

/// Operators Tcl has that are not evaluated here.
fn unsupported_op(rest: &str) -> Option<&str> {
    ["**", "<<", ">>", "&", "|", "^", "~", "in ", "ni "]
        .into_iter()
        .find(|op| rest.starts_with(op))
}

impl<'s> Parser<'s> {
    fn skip_ws(&mut self) {
        while self
            .src
            .peek()
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c'))
        {
            self.src.pos += 1;
        }
    }

    fn ternary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<V, Unknown> {
        let start = self.src.pos;
        let cond = self.binary(ctx, 1, live)?;
        self.skip_ws();
        if self.src.peek() != Some(b'?') {
            return Ok(cond);
        }
        let part = self.src.s;
        let truth = if live {
            cond.truth(&part[start..self.src.pos])?
        } else {
            false
        };
        self.src.pos += 1;
        ctx.nested(&part[start..], |ctx| {
            let a = self.ternary(ctx, live && truth)?;
            self.skip_ws();
            if self.src.peek() != Some(b':') {
                return malformed(&part[start..], "? without :");
            }
            self.src.pos += 1;
            let b = self.ternary(ctx, live && !truth)?;
            Ok(if truth { a } else { b })
        })
    }

    fn binary(&mut self, ctx: &mut Ctx<'_>, min: u8, live: bool) -> Result<V, Unknown> {
        let start = self.src.pos;
        let mut lhs = self.unary(ctx, live)?;
        loop {
            self.skip_ws();
            let rest = self.src.rest();
            if let Some(op) = unsupported_op(rest) {
                if !matches!(op, "&" | "|") || !(rest.starts_with("&&") || rest.starts_with("||")) {
                    return unsupported(rest, "Tcl operator not evaluated");
                }
            }
            let Some((op, prec)) = binary_op(rest) else {
                return Ok(lhs);
            };
            if prec < min {
                return Ok(lhs);
            }
            self.src.pos += op.len();
            let part_src = self.src.s;
            match op {
                "&&" | "||" => {
                    let l = if live {
                        Some(lhs.truth(&part_src[start..self.src.pos])?)
                    } else {
                        None
                    };
                    let decided = l == Some(op == "||");
                    let rhs = self.binary(ctx, prec + 1, live && !decided)?;
                    lhs = match l {
                        None => DUMMY,
                        Some(_) if decided => V::Int(i64::from(op == "||")),
                        Some(_) => V::Int(i64::from(rhs.truth(&part_src[start..self.src.pos])?)),
                    };
                }
                _ => {
                    let rhs = self.binary(ctx, prec + 1, live)?;
                    if live {
                        lhs = apply(op, &lhs, &rhs, &part_src[start..self.src.pos])?;
                    }
                }
            }
        }
    }

    fn unary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<V, Unknown> {
        self.skip_ws();
        let start = self.src.pos;
        let op = match self.src.peek() {
            Some(b'-') => "-",
            Some(b'+') => "+",
            Some(b'!') => "!",
            Some(b'~') => return unsupported(self.src.rest(), "Tcl operator not evaluated"),
            _ => return self.primary(ctx, live),
        };
        self.src.pos += 1;
        let part_src = self.src.s;
        let v = ctx.nested(&part_src[start..], |ctx| self.unary(ctx, live))?;
        if !live {
            return Ok(DUMMY);
        }
        let part = &part_src[start..self.src.pos];
        match op {
            "!" => Ok(V::Int(i64::from(!v.truth(part)?))),
            "-" => match v.numeric(part)? {
                Numeric::Int(i) => int(-i, part),
                Numeric::Dbl(d) => dbl(-d, part),
            },
            _ => match &v {
                V::Str(s) | V::Lit(s) => {
                    v.numeric(part)?;
                    if canonical(s) {
                        Ok(V::Str(s.clone()))
                    } else {
                        inexact(part, "unary + on a number Tcl may print in another form")
                    }
                }
                _ => Ok(v),
            },
        }
    }

    fn primary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<V, Unknown> {
        self.skip_ws();
        let start = self.src.pos;
        let s = self.src.s;
        let b = s.as_bytes();
        let Some(c) = self.src.peek() else {
            return malformed(s, "missing operand");
        };
        match c {
            b'(' => {
                self.src.pos += 1;
                let v = ctx.nested(&s[start..], |ctx| self.ternary(ctx, live))?;
                self.skip_ws();
                if self.src.peek() != Some(b')') {
                    return malformed(&s[start..], "missing )");
                }
                self.src.pos += 1;
                Ok(v)
            }
            b'[' => Ok(V::Str(command_subst(ctx, &mut self.src, live, false)?)),
            b'$' => match variable(ctx, &mut self.src, live)? {
                Some(v) => Ok(V::Str(v)),
                None => malformed(&s[start..], "$ without a variable name"),
            },
            b'"' => Ok(V::Str(quoted(ctx, &mut self.src, live)?)),
            b'{' => Ok(V::Str(braced(&mut self.src)?.to_owned())),
            _ if c.is_ascii_digit()
                || (c == b'.' && b.get(start + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let len = scan_number(b, start);
                self.src.pos += len;
                let lexeme = &s[start..self.src.pos];
                if self
                    .src
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || n == b'_' || n == b'.')
                {
                    return unsupported(
                        &s[start..],
                        "number form not read alike by every Tcl version",
                    );
                }
                match parse_lexeme(lexeme) {
                    NumText::Int(i) if i <= TCL_INT_MAX => Ok(V::Lit(lexeme.to_owned())),
                    NumText::Dbl(_) => Ok(V::Lit(lexeme.to_owned())),
                    _ => inexact(lexeme, "number read differently by Tcl versions"),
                }
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = start;
                while b
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    j += 1;
                }
                let name = &s[start..j];
                self.src.pos = j;
                self.skip_ws();
                if self.src.peek() != Some(b'(') {
                    return unsupported(
                        name,
                        "bare word in expr (a boolean literal only since Tcl 8.5)",
                    );
                }
                self.src.pos += 1;
                let args = ctx.nested(&s[start..], |ctx| self.arguments(ctx, live))?;
                let part = &s[start..self.src.pos];
                function(name, &args, live, part)
            }
            _ => malformed(&s[start..], "unexpected character in expression"),
        }
    }

    /// Arguments of a function call, after the `(`; leaves the cursor after `)`.
    fn arguments(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<Vec<V>, Unknown> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.src.peek() == Some(b')') {
            self.src.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.ternary(ctx, live)?);
            self.skip_ws();
            match self.src.peek() {
                Some(b',') => self.src.pos += 1,
                Some(b')') => {
                    self.src.pos += 1;
                    return Ok(args);
                }
                _ => return malformed(self.src.rest(), "expected , or ) in function call"),
            }
        }
    }
}

/// A binary operator other than `&&` and `||`, live.
fn apply(op: &str, l: &V, r: &V, part: &str) -> Result<V, Unknown> {
    match op {
        "eq" | "ne" => {
            let equal = l.text(part)? == r.text(part)?;
            Ok(V::Int(i64::from(equal == (op == "eq"))))
        }
        "==" | "!=" | "<" | ">" | "<=" | ">=" => {
            let ord = match (l.maybe_numeric(part)?, r.maybe_numeric(part)?) {
                (Some(a), Some(b)) => match (a, b) {
                    (Numeric::Int(x), Numeric::Int(y)) => x.cmp(&y),
                    _ => a.f().partial_cmp(&b.f()).unwrap_or(Ordering::Equal),
                },
                _ => {
                    let (a, b) = (l.text(part)?, r.text(part)?);
                    if a.contains('\0') || b.contains('\0') {
                        return unsupported(part, "NUL in a string comparison");
                    }
                    a.cmp(&b)
                }
            };
            let t = match op {
                "==" => ord == Ordering::Equal,
                "!=" => ord != Ordering::Equal,
                "<" => ord == Ordering::Less,
                ">" => ord == Ordering::Greater,
                "<=" => ord != Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            Ok(V::Int(i64::from(t)))
        }
        _ => {
            let (a, b) = (l.numeric(part)?, r.numeric(part)?);
            match (a, b) {
                (Numeric::Int(x), Numeric::Int(y)) => match op {
                    "+" => int(x + y, part),
                    "-" => int(x - y, part),
                    "*" => int(x * y, part),
                    _ if y == 0 => arithmetic(part, "division by zero"),
                    "/" => int(
                        x.div_euclid(y) - i64::from(y < 0 && x.rem_euclid(y) != 0),
                        part,
                    ),
                    _ => int(
                        x - y * (x.div_euclid(y) - i64::from(y < 0 && x.rem_euclid(y) != 0)),
                        part,
                    ),
                },
                _ => {
                    let (x, y) = (a.f(), b.f());
                    match op {
                        "+" => dbl(x + y, part),
                        "-" => dbl(x - y, part),
                        "*" => dbl(x * y, part),
                        "/" if y == 0.0 => arithmetic(part, "division by zero"),
                        "/" => dbl(x / y, part),
                        _ => malformed(part, "% on a floating-point value"),
                    }
                }
            }
        }
    }
}

/// A math function call. Dry, only the name and argument count are checked.
fn function(name: &str, args: &[V], live: bool, part: &str) -> Result<V, Unknown> {
    let want = match name {
        "abs" | "double" | "int" | "round" | "ceil" | "floor" | "sqrt" => 1,
        "fmod" => 2,
        "exp" | "log" | "log10" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh"
        | "cosh" | "tanh" => {
            return if live {
                inexact(
                    part,
                    "transcendental function: the C library's rounding may differ",
                )
            } else {
                check_count(args, 1, part)
            }
        }
        "atan2" | "hypot" | "pow" => {
            return if live {
                inexact(
                    part,
                    "transcendental function: the C library's rounding may differ",
                )
            } else {
                check_count(args, 2, part)
            }
        }
        _ => return unsupported(part, "Tcl math function not evaluated"),
    };
    check_count(args, want, part)?;
    if !live {
        return Ok(DUMMY);
    }
    let a = args[0].numeric(part)?;
    match name {
        "abs" => match a {
            Numeric::Int(i) => int(i.abs(), part),
            Numeric::Dbl(d) => dbl(d.abs(), part),
        },
        "double" => dbl(a.f(), part),
        "int" => match a {
            Numeric::Int(i) => Ok(V::Int(i)),
            Numeric::Dbl(d) => {
                let t = d.trunc();
                if t.abs() > TCL_INT_MAX as f64 {
                    return inexact(part, "integer beyond 32 bits: Tcl versions differ");
                }
                Ok(V::Int(t as i64))
            }
        },
        "round" => match a {
            Numeric::Int(i) => Ok(V::Int(i)),
            Numeric::Dbl(d) => {
                let frac = (d - d.trunc()).abs();
                if (frac - 0.5).abs() < 1e-9 {
                    return inexact(part, "round() near a tie: Tcl versions round differently");
                }
                let r = d.round();
                if r.abs() > TCL_INT_MAX as f64 {
                    return inexact(part, "integer beyond 32 bits: Tcl versions differ");
                }
                Ok(V::Int(r as i64))
            }
        },
        "ceil" => dbl(a.f().ceil(), part),
        "floor" => dbl(a.f().floor(), part),
        "sqrt" if a.f() < 0.0 => arithmetic(part, "square root of a negative number"),
        "sqrt" => dbl(a.f().sqrt(), part),
        _ => {
            let y = args[1].numeric(part)?.f();
            if y == 0.0 {
                return arithmetic(part, "fmod by zero");
            }
            dbl(a.f() % y, part)
        }
    }
}

fn check_count(args: &[V], want: usize, part: &str) -> Result<V, Unknown> {
    if args.len() == want {
        Ok(DUMMY)
    } else {
        malformed(part, "wrong number of arguments to a math function")
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::interp::testing::{tcl, why, MapScope};
    use crate::eval::interp::Why;

    fn scope() -> MapScope {
        MapScope::new()
            .text("mute", "1")
            .text("off", "0")
            .text("filter", "gaussian")
            .text("ROrP", "false")
            .text("sCount", "0xff8800")
            .text("half", "1.50")
    }

    fn e(text: &str) -> String {
        let t = format!("[expr {{{text}}}]");
        tcl(&mut scope(), &t).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    fn refused(text: &str) -> (Why, String) {
        why(tcl(&mut scope(), &format!("[expr {{{text}}}]")))
    }

    #[test]
    fn arithmetic() {
        for (text, want) in [
            ("1+2", "3"),
            ("7/2", "3"),
            ("-7/2", "-4"),
            ("7/-2", "-4"),
            ("-7/-2", "3"),
            ("-6/2", "-3"),
            ("7%3", "1"),
            ("-7%2", "1"),
            ("7%-2", "-1"),
            ("7.0/2", "3.5"),
            ("1.0+1", "2.0"),
            ("1001 + 0.5", "1001.5"),
            ("2*(3+4)", "14"),
            ("-(3)", "-3"),
            ("0x10", "16"),
            ("0x10 + 0", "16"),
            ("1.50", "1.5"),
            ("\"0x10\"", "16"),
            ("+3", "3"),
            ("1e3", "1000.0"),
            ("[value sCount] eq \"0xff8800\"", "1"),
            ("[value half] + 0", "1.5"),
        ] {
            assert_eq!(e(text), want, "{text}");
        }
        assert_eq!(
            tcl(&mut scope(), "[expr 0x[string range [value sCount] 2 3]]").unwrap(),
            "255"
        );
        assert_eq!(tcl(&mut scope(), "[expr 1 + 2]").unwrap(), "3");
    }

    #[test]
    fn comparisons_and_logic() {
        for (text, want) in [
            ("1 < 2", "1"),
            ("\"1.0\" == 1", "1"),
            ("[value filter] == \"gaussian\"", "1"),
            ("[value filter] != \"box\"", "1"),
            ("\"abc\" < \"abd\"", "1"),
            ("\"b\" > \"abc\"", "1"),
            ("\"10\" < \"9\"", "0"),
            ("[value ROrP] == \"true\"", "0"),
            ("\"a\" eq \"a\"", "1"),
            ("1 ne 2", "1"),
            ("1 eq 1.0", "0"),
            ("!0", "1"),
            ("!2.5", "0"),
            ("1 && 0", "0"),
            ("2 || 0", "1"),
            ("[value mute] ? \"Mute\" : []", "Mute"),
            ("[value off] ? \"Mute\" : []", ""),
            ("0 && [python x]", "0"),
            ("1 || [python x]", "1"),
            ("1 ? 2 : [python x]", "2"),
            ("0 ? [python x] : 3", "3"),
            ("[value off] ? 1 : 0 ? 2 : 3", "3"),
        ] {
            assert_eq!(e(text), want, "{text}");
        }
    }

    #[test]
    fn functions() {
        for (text, want) in [
            ("int(2.7)", "2"),
            ("int(-2.7)", "-2"),
            ("round(2.4)", "2"),
            ("round(-2.6)", "-3"),
            ("abs(-3)", "3"),
            ("abs(-1.5)", "1.5"),
            ("double(3)", "3.0"),
            ("floor(2.5)", "2.0"),
            ("ceil(2.1)", "3.0"),
            ("fmod(7,3)", "1.0"),
            ("sqrt(4)", "2.0"),
            ("int(1.0 * 3 / 2)", "1"),
        ] {
            assert_eq!(e(text), want, "{text}");
        }
    }

    #[test]
    fn refusals() {
        for (text, want) in [
            ("0.1+0.2", Why::Inexact),
            ("1/0", Why::Arithmetic),
            ("1.0/0", Why::Arithmetic),
            ("1.5%1", Why::Malformed),
            ("round(2.5)", Why::Inexact),
            ("sin(0)", Why::Inexact),
            ("pow(2,3)", Why::Inexact),
            ("rand()", Why::Unsupported),
            ("max(1,2)", Why::Unsupported),
            ("2**3", Why::Unsupported),
            ("1<<2", Why::Unsupported),
            ("1 & 3", Why::Unsupported),
            ("~1", Why::Unsupported),
            ("true", Why::Unsupported),
            ("2147483647+1", Why::Inexact),
            ("-2147483647-2", Why::Inexact),
            ("010", Why::Inexact),
            ("08", Why::Inexact),
            ("1abc", Why::Unsupported),
            ("\"abc\" + 1", Why::Malformed),
            ("[value ROrP] && 1", Why::Inexact),
            ("[value filter] ? 1 : 0", Why::Malformed),
            ("1 +", Why::Malformed),
            ("(1", Why::Malformed),
            ("1 ? 2", Why::Malformed),
            ("1 2", Why::Malformed),
            ("int(1,2)", Why::Malformed),
            ("0 && sin(1,2)", Why::Malformed),
            ("0 && rand()", Why::Unsupported),
            ("1.5 eq 1.50", Why::Inexact),
            ("[value ROrP] == false", Why::Unsupported),
        ] {
            assert_eq!(refused(text).0, want, "{text}");
        }
    }
}
