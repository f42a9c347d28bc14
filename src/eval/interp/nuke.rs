//! Nuke's expression language: `frame>=10 && Ctrl.k`, `parent.size*2`,
//! `Blur1.size(frame-1)`, `clamp(x, 0, 1)`.
//!
//! Only floating-point numbers; C's operators and precedence (`?:` `||` `&&` `== !=`
//! `< > <= >=` `+ -` `* / %` and unary `- + !`); comparisons and logic give 1 or 0;
//! `&&`, `||` and `?:` evaluate only the operand they need, but the whole text must
//! parse. Tcl substitution runs first, on the whole text, as Nuke does.
//!
//! Deliberately Unknown: `**`, `^`, `&`, `|`, `~`, `<<`, `>>` (not documented for
//! Nuke); `%` except on non-negative integers by positive integers (whether Nuke uses
//! `fmod` is not documented); `curve`, `value`, `y`, `random`, `noise`, … (see
//! [`functions`](super::functions)); division by zero and non-finite results; a knob
//! read at another time (`size(t)`) with anything but one exact argument.

use super::ctx::Ctx;
use super::error::{arithmetic, inexact, malformed, unavailable, unsupported, Unknown};
use super::functions::{self, Kind, Num};
use super::nuke_lex::{tokens, Tok, Token};
use super::tcl;

/// Evaluates a Nuke expression (Tcl substitutions first).
pub(crate) fn evaluate(ctx: &mut Ctx<'_>, text: &str) -> Result<Num, Unknown> {
    let substituted = tcl::subst(ctx, text)?;
    let toks = tokens(ctx, &substituted)?;
    if toks.is_empty() {
        return malformed(text, "empty expression");
    }
    let mut p = Parser {
        src: &substituted,
        toks: &toks,
        pos: 0,
    };
    let v = p.ternary(ctx, true)?;
    if let Some(t) = toks.get(p.pos) {
        return malformed(
            &substituted[t.start..],
            "unexpected text after the expression",
        );
    }
    Ok(v)
}

struct Parser<'s> {
    src: &'s str,
    toks: &'s [Token],
    pos: usize,
}

/// Value of whatever is parsed without being evaluated.
const DRY: Num = Num {
    value: 0.0,
    exact: true,
};

fn bool_num(b: bool) -> Num {
    Num::exact(if b { 1.0 } else { 0.0 })
}

fn precedence(op: &str) -> u8 {
    match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" => 3,
        "<" | ">" | "<=" | ">=" => 4,
        "+" | "-" => 5,
        "*" | "/" | "%" => 6,
        _ => 0,
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&'s Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    /// Source text from token `from` to the current position.
    fn span(&self, from: usize) -> &'s str {
        let start = self.toks.get(from).map_or(self.src.len(), |t| t.start);
        let end = if self.pos > from {
            self.toks[self.pos - 1].end
        } else {
            self.toks.get(from).map_or(self.src.len(), |t| t.end)
        };
        &self.src[start..end.max(start)]
    }

    fn rest(&self) -> &'s str {
        self.toks.get(self.pos).map_or("", |t| &self.src[t.start..])
    }

    fn expect(&mut self, want: &Tok, what: &'static str, from: usize) -> Result<(), Unknown> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            malformed(self.span(from), what)
        }
    }

    fn ternary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<Num, Unknown> {
        let from = self.pos;
        let cond = self.binary(ctx, 1, live)?;
        if self.peek() != Some(&Tok::Question) {
            return Ok(cond);
        }
        let truth = live && cond.decisive(self.span(from))? != 0.0;
        self.pos += 1;
        let part = self.span(from);
        ctx.nested(part, |ctx| {
            let a = self.ternary(ctx, live && truth)?;
            self.expect(&Tok::Colon, "? without :", from)?;
            let b = self.ternary(ctx, live && !truth)?;
            Ok(if !live {
                DRY
            } else if truth {
                a
            } else {
                b
            })
        })
    }

    fn binary(&mut self, ctx: &mut Ctx<'_>, min: u8, live: bool) -> Result<Num, Unknown> {
        let from = self.pos;
        let mut lhs = self.unary(ctx, live)?;
        while let Some(Tok::Op(op)) = self.peek() {
            let prec = precedence(op);
            if prec < min || prec == 0 {
                break;
            }
            self.pos += 1;
            let short = match *op {
                "&&" | "||" if live => {
                    let l = lhs.decisive(self.span(from))? != 0.0;
                    // `&&` is decided by a false left side, `||` by a true one.
                    (l == (*op == "||")).then_some(l)
                }
                _ => None,
            };
            let rhs = self.binary(ctx, prec + 1, live && short.is_none())?;
            if !live {
                continue;
            }
            let part = self.span(from);
            lhs = match (*op, short) {
                (_, Some(l)) => bool_num(l),
                ("&&" | "||", None) => bool_num(rhs.decisive(part)? != 0.0),
                _ => apply(op, lhs, rhs, part)?,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<Num, Unknown> {
        let from = self.pos;
        let op = match self.peek() {
            Some(Tok::Op(op @ ("-" | "+" | "!"))) => *op,
            _ => return self.primary(ctx, live),
        };
        self.pos += 1;
        let part = self.rest();
        let v = ctx.nested(part, |ctx| self.unary(ctx, live))?;
        if !live {
            return Ok(DRY);
        }
        Ok(match op {
            "-" => Num {
                value: -v.value,
                exact: v.exact,
            },
            "+" => v,
            _ => bool_num(v.decisive(self.span(from))? == 0.0),
        })
    }

    fn primary(&mut self, ctx: &mut Ctx<'_>, live: bool) -> Result<Num, Unknown> {
        let from = self.pos;
        let Some(tok) = self.peek() else {
            return malformed(self.src, "expression ends where a value is expected");
        };
        self.pos += 1;
        match tok {
            Tok::Num(v) => Ok(Num::exact(*v)),
            Tok::LParen => {
                let part = self.rest();
                let v = ctx.nested(part, |ctx| self.ternary(ctx, live))?;
                self.expect(&Tok::RParen, "missing )", from)?;
                Ok(v)
            }
            Tok::Name(name) if self.peek() == Some(&Tok::LParen) => {
                self.pos += 1;
                let part = self.rest();
                let args = ctx.nested(part, |ctx| self.arguments(ctx, live, from))?;
                self.call(ctx, name, &args, live, from)
            }
            Tok::Name(name) => self.name(ctx, name, live),
            _ => malformed(self.span(from), "a value is expected here"),
        }
    }

    /// Arguments after `(`, up to and including `)`.
    fn arguments(
        &mut self,
        ctx: &mut Ctx<'_>,
        live: bool,
        from: usize,
    ) -> Result<Vec<Num>, Unknown> {
        let mut args = Vec::new();
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.ternary(ctx, live)?);
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::RParen) => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => return malformed(self.span(from), "expected , or ) in a call"),
            }
        }
    }

    fn call(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &str,
        args: &[Num],
        live: bool,
        from: usize,
    ) -> Result<Num, Unknown> {
        let part = self.span(from);
        let dotted = name.contains('.');
        match (dotted, functions::kind(name)) {
            (false, Kind::Function) => {
                if !functions::arity_ok(name, args.len()) {
                    return malformed(part, "wrong number of arguments");
                }
                if live {
                    functions::call(name, args, part)
                } else {
                    Ok(DRY)
                }
            }
            (false, Kind::Unsupported) if live => unsupported(
                part,
                "Nuke function not evaluated (animation, noise or lookup table)",
            ),
            (false, Kind::Unsupported) => Ok(DRY),
            _ if !dotted && builtin(name) => {
                malformed(part, "a built-in word called like a function")
            }
            _ => {
                // A knob read at another time: `Blur1.size(frame-1)`.
                if args.len() != 1 {
                    return unsupported(part, "knob read with other than one time argument");
                }
                if !live {
                    return Ok(DRY);
                }
                let t = args[0].decisive(part)?;
                knob(ctx, name, t, part)
            }
        }
    }

    fn name(&mut self, ctx: &mut Ctx<'_>, name: &str, live: bool) -> Result<Num, Unknown> {
        let frame = ctx.frame;
        if name.contains('.') {
            return if live {
                knob(ctx, name, frame, name)
            } else {
                Ok(DRY)
            };
        }
        if matches!(name, "curve" | "value" | "y") {
            return if live {
                unsupported(name, "refers to the knob's own animation")
            } else {
                Ok(DRY)
            };
        }
        if !builtin(name) {
            return if live {
                knob(ctx, name, frame, name)
            } else {
                Ok(DRY)
            };
        }
        if !live {
            return Ok(DRY);
        }
        if ctx.scope.shadows(name) {
            return inexact(name, "the word is also the name of a knob or node in reach");
        }
        match name {
            "frame" | "t" | "x" => {
                if !ctx.frame.is_finite() {
                    return arithmetic(name, "the frame is not a finite number");
                }
                Ok(Num::exact(ctx.frame))
            }
            // Whether Nuke's pi is the double closest to π is not documented.
            "pi" | "PI" => Ok(Num::approx(std::f64::consts::PI)),
            "true" => Ok(Num::exact(1.0)),
            _ => Ok(Num::exact(0.0)),
        }
    }
}

/// Words the expression language defines.
fn builtin(name: &str) -> bool {
    matches!(name, "frame" | "t" | "x" | "pi" | "PI" | "true" | "false")
}

fn knob(ctx: &mut Ctx<'_>, path: &str, frame: f64, part: &str) -> Result<Num, Unknown> {
    match ctx.scope.number(path, frame) {
        Some(v) if v.is_finite() => Ok(Num::exact(v)),
        Some(_) => arithmetic(part, "knob value is not a finite number"),
        None => unavailable(part, "knob value not available"),
    }
}

fn apply(op: &str, l: Num, r: Num, part: &str) -> Result<Num, Unknown> {
    let exact = l.exact && r.exact;
    let value = match op {
        "+" => l.value + r.value,
        "-" => l.value - r.value,
        "*" => l.value * r.value,
        "/" => {
            if r.value == 0.0 {
                return arithmetic(part, "division by zero");
            }
            l.value / r.value
        }
        "%" => {
            let (a, b) = (l.decisive(part)?, r.decisive(part)?);
            if b == 0.0 {
                return arithmetic(part, "modulo by zero");
            }
            if a < 0.0 || b < 0.0 || a.fract() != 0.0 || b.fract() != 0.0 {
                return unsupported(
                    part,
                    "% on negative or fractional operands is not documented for Nuke",
                );
            }
            a % b
        }
        _ => {
            let (a, b) = (l.decisive(part)?, r.decisive(part)?);
            return Ok(bool_num(match op {
                "<" => a < b,
                ">" => a > b,
                "<=" => a <= b,
                ">=" => a >= b,
                "==" => a == b,
                _ => a != b,
            }));
        }
    };
    if !value.is_finite() {
        return arithmetic(part, "result is not a finite number");
    }
    Ok(Num { value, exact })
}

#[cfg(test)]
mod tests {
    use crate::eval::interp::testing::{expr, expr_num, why, MapScope};
    use crate::eval::interp::Why;

    fn val(text: &str) -> f64 {
        expr(&mut MapScope::new(), text, 1.0).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn operators_and_precedence() {
        for (text, want) in [
            ("1+2*3", 7.0),
            ("(1+2)*3", 9.0),
            ("10-4-3", 3.0),
            ("12/4/3", 1.0),
            ("7/2", 3.5),
            ("-2*3", -6.0),
            ("2*-3", -6.0),
            ("- -1", 1.0),
            ("+2", 2.0),
            ("1+-1", 0.0),
            ("7%3", 1.0),
            ("2*7%4", 2.0),
            ("1<2", 1.0),
            ("2<=2", 1.0),
            ("3>=4", 0.0),
            ("3>2", 1.0),
            ("1==1.0", 1.0),
            ("1!=2", 1.0),
            ("1<2==1", 1.0),
            ("!0", 1.0),
            ("!5", 0.0),
            ("!!2", 1.0),
            ("!0+1", 2.0),
            ("1&&0", 0.0),
            ("2&&3", 1.0),
            ("0||3", 1.0),
            ("0||0", 0.0),
            ("1||0&&0", 1.0),
            ("1?2:3", 2.0),
            ("0?2:3", 3.0),
            ("0?1:0?5:6", 6.0),
            ("1?0?7:8:9", 8.0),
            ("1+1?10:20", 10.0),
            ("0x10", 16.0),
            ("1e3+.5", 1000.5),
            ("5.*2", 10.0),
            (" 1 +\n2 ", 3.0),
            ("true+false", 1.0),
        ] {
            assert_eq!(val(text), want, "{text}");
        }
    }

    #[test]
    fn frame_words() {
        let mut s = MapScope::new();
        assert_eq!(expr(&mut s, "frame", 12.5), Ok(12.5));
        assert_eq!(expr(&mut s, "t+x", 12.0), Ok(24.0));
        assert_eq!(expr(&mut s, "frame>=10", 9.0), Ok(0.0));
        assert_eq!(expr(&mut s, "frame>=10", 10.0), Ok(1.0));
        let mut shadowed = MapScope::new();
        shadowed.shadowed.push("t".into());
        assert_eq!(
            why(expr(&mut shadowed, "t", 1.0)),
            (Why::Inexact, "t".into())
        );
        assert_eq!(expr(&mut shadowed, "frame", 3.0), Ok(3.0));
        assert_eq!(why(expr(&mut s, "frame", f64::NAN)).0, Why::Arithmetic);
    }

    #[test]
    fn knob_reads() {
        let mut s = MapScope::new()
            .num("Blur1.size", 4.0)
            .num("Blur1.size@9", 3.0)
            .num("size.w", 2.0)
            .num("mix", 0.5)
            .num("parent.ControlsA.3", 7.0);
        assert_eq!(expr(&mut s, "Blur1.size*2", 10.0), Ok(8.0));
        assert_eq!(expr(&mut s, "Blur1.size(frame-1)", 10.0), Ok(3.0));
        assert_eq!(expr(&mut s, "Blur1.size (9)", 10.0), Ok(3.0));
        assert_eq!(expr(&mut s, "size.w+mix", 10.0), Ok(2.5));
        s.texts.insert("this.number".into(), "3".into());
        assert_eq!(
            expr(&mut s, "parent.ControlsA.[value this.number]", 1.0),
            Ok(7.0)
        );
        assert_eq!(
            s.reads,
            [
                "Blur1.size@10",
                "Blur1.size@9",
                "Blur1.size@9",
                "size.w@10",
                "mix@10",
                "parent.ControlsA.3@1"
            ]
        );
        assert_eq!(
            why(expr(&mut s, "Blur2.size", 1.0)),
            (Why::Unavailable, "Blur2.size".into())
        );
        assert_eq!(why(expr(&mut s, "Blur1.size()", 1.0)).0, Why::Unsupported);
        assert_eq!(
            why(expr(&mut s, "Blur1.size(1,2)", 1.0)).0,
            Why::Unsupported
        );
        s.numbers.insert("nan".into(), f64::NAN);
        assert_eq!(why(expr(&mut s, "nan", 1.0)).0, Why::Arithmetic);
    }

    #[test]
    fn only_the_needed_branch_is_read() {
        let mut s = MapScope::new()
            .num("determinant", 0.0)
            .num("cofactor.6", 2.0);
        let text = "cofactor.6 == 0 || determinant == 0 ? 0 : cofactor.6/determinant";
        assert_eq!(expr(&mut s, text, 1.0), Ok(0.0));
        assert_eq!(expr(&mut s, "0 && missing", 1.0), Ok(0.0));
        assert_eq!(expr(&mut s, "1 || missing", 1.0), Ok(1.0));
        assert_eq!(expr(&mut s, "1 ? 2 : random()", 1.0), Ok(2.0));
        assert!(!s.reads.iter().any(|r| r.starts_with("missing")));
        // The skipped branch must still parse.
        assert_eq!(why(expr(&mut s, "1 ? 2 : (", 1.0)).0, Why::Malformed);
        assert_eq!(why(expr(&mut s, "1 ? 2 : sin(1,2)", 1.0)).0, Why::Malformed);
        assert_eq!(why(expr(&mut s, "0 && 2**3", 1.0)).0, Why::Unsupported);
    }

    #[test]
    fn tcl_runs_first() {
        let mut s = MapScope::new();
        assert_eq!(expr(&mut s, "$gui", 1.0), Ok(0.0));
        assert_eq!(expr(&mut s, "!$gui", 1.0), Ok(1.0));
        assert_eq!(expr(&mut s, "[frame]+1", 41.0), Ok(42.0));
        assert_eq!(
            why(expr(&mut s, "[python nuke.thisNode()]", 1.0)),
            (Why::Unsupported, "[python nuke.thisNode()]".into())
        );
        // `0 &&` does not protect a substitution: Tcl runs before the expression.
        assert_eq!(
            why(expr(&mut s, "0 && [python x]", 1.0)).0,
            Why::Unsupported
        );
    }

    #[test]
    fn refusals() {
        let mut s = MapScope::new();
        for (text, want, part) in [
            ("1/0", Why::Arithmetic, "1/0"),
            ("2*(1/(frame-1))", Why::Arithmetic, "1/(frame-1)"),
            ("1e308*10", Why::Arithmetic, "1e308*10"),
            ("random()", Why::Unsupported, "random()"),
            ("noise(frame)", Why::Unsupported, "noise(frame)"),
            ("curve", Why::Unsupported, "curve"),
            ("curve(frame-1)", Why::Unsupported, "curve(frame-1)"),
            ("y", Why::Unsupported, "y"),
            ("2**3", Why::Unsupported, "**"),
            ("3 & 1", Why::Unsupported, "&"),
            ("-7%3", Why::Unsupported, "-7%3"),
            ("7.5%2", Why::Unsupported, "7.5%2"),
            ("7%0", Why::Arithmetic, "7%0"),
            ("", Why::Malformed, ""),
            ("1 2", Why::Malformed, "2"),
            ("(1", Why::Malformed, "(1"),
            ("1+", Why::Malformed, "1+"),
            ("frame(1)", Why::Malformed, "frame(1)"),
            ("sin(1,2)", Why::Malformed, "sin(1,2)"),
            ("1 ? 2", Why::Malformed, "1 ? 2"),
            ("\"x\"", Why::Malformed, "\""),
            ("010", Why::Unsupported, "010"),
            ("sin(frame) > 0", Why::Inexact, "sin(frame) > 0"),
            ("floor(pi)", Why::Inexact, "floor(pi)"),
            ("sin(1)", Why::Inexact, "sin(1)"),
            ("a\\b", Why::Unsupported, "\\b"),
        ] {
            assert_eq!(
                why(expr(&mut s, text, 1.0)),
                (want, part.to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn approximate_values_are_returned_marked() {
        let mut s = MapScope::new();
        let n = expr_num(&mut s, "sin(1)*2").unwrap();
        assert_eq!((n.value, n.exact), (1f64.sin() * 2.0, false));
        let n = expr_num(&mut s, "abs(-3)").unwrap();
        assert_eq!((n.value, n.exact), (3.0, true));
        // A decision inside is still refused.
        assert_eq!(why(expr_num(&mut s, "cos(0) == 1")).0, Why::Inexact);
    }

    #[test]
    fn functions_in_context() {
        let mut s = MapScope::new()
            .num("ittNum", 3.0)
            .num("parent.Erode_master.quality", 2.0)
            .num("parent.abberation.r", -0.25);
        assert_eq!(
            expr(&mut s, "ittNum/parent.Erode_master.quality", 1.0),
            Ok(1.5)
        );
        assert_eq!(expr(&mut s, "abs(parent.abberation.r*10)", 1.0), Ok(2.5));
        assert_eq!(expr(&mut s, "clamp(frame/10, 0, 1)", 5.0), Ok(0.5));
        assert_eq!(expr(&mut s, "int(frame/4)", 11.0), Ok(2.0));
        assert_eq!(expr(&mut s, "floor(frame/4)*4", 11.0), Ok(8.0));
        assert_eq!(expr(&mut s, "max(frame, 1010)", 1001.0), Ok(1010.0));
        // pow2 is approximate: fine as a value only.
        assert_eq!(why(expr(&mut s, "pow2(ittNum)", 1.0)).0, Why::Inexact);
        assert_eq!(expr_num(&mut s, "pow2(ittNum)").unwrap().value, 9.0);
    }
}
