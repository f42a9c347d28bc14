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
