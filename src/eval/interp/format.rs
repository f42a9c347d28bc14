//! Tcl's `format`: the printf conversions whose output is the same in every C library
//! Nuke runs on.
//!
//! Supported: `%d %i %x %X %s %f %g %%` with the flags `- + space 0`, a width, and a
//! precision (not for integers). `%f` and `%g` print the correctly rounded decimal,
//! which glibc and current Windows runtimes agree on, except on exact ties (glibc
//! rounds half to even, older Windows runtimes away from zero: Unknown), beyond 17
//! significant digits (older Windows runtimes print zeros: Unknown), and where `%g`
//! would use an exponent (2 or 3 exponent digits depending on the runtime: Unknown).
//! `%e`, `%c`, `%o`, `%u`, `*`, `#`, positional `%n$` and size modifiers are Unknown.

use super::ctx::Ctx;
use super::error::{inexact, malformed, unsupported, Unknown};
use super::number::{exact_digits, render_fixed, round_digits, tcl_number, NumText};

/// Largest width or precision accepted.
const MAX_FIELD: usize = 100;

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// `format FORMAT ARG…`.
pub(crate) fn format(ctx: &mut Ctx<'_>, args: &[String], part: &str) -> Result<String, Unknown> {
    let Some((fmt, mut values)) = args.split_first() else {
        return malformed(part, "format without a format string");
    };
    ctx.charge(fmt.len(), part)?;
    let mut out = String::new();
    let mut rest = fmt.as_str();
    while let Some(k) = rest.find('%') {
        out.push_str(&rest[..k]);
        rest = &rest[k + 1..];
        if let Some(r) = rest.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        let mut spec = Spec::default();
        let b = rest.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                b'#' => return unsupported(part, "format flag #"),
                _ => break,
            }
            i += 1;
        }
        let (width, n) = digits(&b[i..]);
        i += n;
        if b.get(i) == Some(&b'$') {
            return unsupported(part, "positional format argument");
        }
        spec.width = width;
        if b.get(i) == Some(&b'.') {
            let (p, n) = digits(&b[i + 1..]);
            spec.precision = Some(p);
            i += 1 + n;
        }
        if spec.width > MAX_FIELD || spec.precision.is_some_and(|p| p > MAX_FIELD) {
            return unsupported(part, "format width or precision too large");
        }
        let Some(&conv) = b.get(i) else {
            return malformed(part, "format string ends in a conversion");
        };
        if !matches!(conv, b'd' | b'i' | b'x' | b'X' | b's' | b'f' | b'g') {
            return unsupported(part, "format conversion not evaluated");
        }
        rest = &rest[i + 1..];
        let Some((value, more)) = values.split_first() else {
            return malformed(part, "not enough arguments for format string");
        };
        values = more;
        let field = convert(conv, &spec, value, part)?;
        out.push_str(&field);
        ctx.check_len(out.len(), part)?;
    }
    out.push_str(rest);
    if !values.is_empty() {
        return unsupported(part, "more arguments than conversions");
    }
    ctx.produce(out.len(), part)?;
    Ok(out)
}

/// A decimal number at the start of `b` (no sign), and its length.
fn digits(b: &[u8]) -> (usize, usize) {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let v = std::str::from_utf8(&b[..n])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    (if n == 0 { 0 } else { v }, n)
}

fn convert(conv: u8, spec: &Spec, value: &str, part: &str) -> Result<String, Unknown> {
    match conv {
        b'd' | b'i' | b'x' | b'X' => {
            if spec.precision.is_some() {
                return unsupported(part, "precision on an integer conversion");
            }
            let v = match tcl_number(value) {
                NumText::Int(v) => v,
                NumText::Unclear => {
                    return inexact(part, "argument read differently by Tcl versions")
                }
                _ => return malformed(part, "expected integer"),
            };
            let (sign, body) = if conv == b'd' || conv == b'i' {
                (sign(v < 0, spec), v.unsigned_abs().to_string())
            } else if v < 0 {
                return unsupported(part, "negative value for %x (width of long differs)");
            } else if conv == b'x' {
                ("", format!("{v:x}"))
            } else {
                ("", format!("{v:X}"))
            };
            Ok(pad(sign, &body, spec, true))
        }
        b's' => {
            if spec.zero {
                return unsupported(part, "0 flag on %s");
            }
            if value.chars().any(|c| c as u32 > 0xFFFF) {
                return unsupported(part, "character Tcl versions count differently");
            }
            let body: String = match spec.precision {
                Some(p) => value.chars().take(p).collect(),
                None => value.to_owned(),
            };
            Ok(pad("", &body, spec, false))
        }
        _ => {
            let v = match tcl_number(value) {
                NumText::Int(v) => v as f64,
                NumText::Dbl(v) => v,
                NumText::Unclear => {
                    return inexact(part, "argument read differently by Tcl versions")
                }
                NumText::NotNumber => return malformed(part, "expected floating-point number"),
            };
            let body = if conv == b'f' {
                fixed(v, spec.precision.unwrap_or(6), part)?
            } else {
                general(v, spec.precision.unwrap_or(6), part)?
            };
            Ok(pad(sign(v.is_sign_negative(), spec), &body, spec, true))
        }
    }
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// Pads a field to the width: left-justified, zero-filled after the sign (numbers),
/// or right-justified with spaces.
fn pad(sign: &str, body: &str, spec: &Spec, numeric: bool) -> String {
    let len = sign.chars().count() + body.chars().count();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

/// `%.Nf` of `|v|`, correctly rounded; Unknown on ties and beyond 17 significant
/// digits.
fn fixed(v: f64, precision: usize, part: &str) -> Result<String, Unknown> {
    let (d, point) = exact_digits(v);
    if v.abs() >= 1e15 || point.max(1) + precision as i64 > 17 {
        return inexact(part, "more than 17 significant digits: C libraries differ");
    }
    let Some((r, rpoint)) = round_digits(&d, point, point + precision as i64) else {
        return inexact(part, "rounding tie: C libraries differ");
    };
    Ok(render_fixed(&r, rpoint, precision))
}

/// `%.Ng` of `|v|`, when it prints in fixed notation.
fn general(v: f64, precision: usize, part: &str) -> Result<String, Unknown> {
    let p = precision.max(1);
    if p > 17 {
        return inexact(part, "more than 17 significant digits: C libraries differ");
    }
    let (d, point) = exact_digits(v);
    let (r, rpoint) = if d.is_empty() {
        (String::new(), 1)
    } else {
        match round_digits(&d, point, p as i64) {
            Some(x) => x,
            None => return inexact(part, "rounding tie: C libraries differ"),
        }
    };
    let exp = rpoint - 1;
    if exp < -4 || exp >= p as i64 {
        return inexact(
            part,
            "%g in exponent form: exponent digits differ between C libraries",
        );
    }
    let s = render_fixed(&r, rpoint, (p as i64 - 1 - exp) as usize);
    Ok(if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::interp::scope::NoScope;

    fn fmt(args: &[&str]) -> Result<String, Unknown> {
        let mut scope = NoScope;
        let mut ctx = Ctx::new(&mut scope, 1.0, "", crate::eval::interp::ctx::no_commands);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        format(&mut ctx, &args, "format")
    }

    #[test]
    fn conversions() {
        let ok = |a: &[&str]| fmt(a).unwrap();
        assert_eq!(ok(&["%04d", "7"]), "0007");
        assert_eq!(ok(&["%04d", "1001"]), "1001");
        assert_eq!(ok(&["%04d", "-7"]), "-007");
        assert_eq!(
            ok(&["%5d|%-5d|%+d|% d", "42", "42", "42", "42"]),
            "   42|42   |+42| 42"
        );
        assert_eq!(ok(&["%i", "0x10"]), "16");
        assert_eq!(ok(&["%x %X %04x", "255", "255", "10"]), "ff FF 000a");
        assert_eq!(ok(&["%s_v%03d.%s", "shot", "12", "exr"]), "shot_v012.exr");
        assert_eq!(ok(&["%5s|%-5s|%.2s", "ab", "ab", "abc"]), "   ab|ab   |ab");
        assert_eq!(ok(&["%f", "1.5"]), "1.500000");
        assert_eq!(ok(&["%.2f", "1001"]), "1001.00");
        assert_eq!(ok(&["%.0f", "2.4"]), "2");
        assert_eq!(ok(&["%.1f", "0.05"]), "0.1");
        assert_eq!(ok(&["%.3f", "-0.0001"]), "-0.000");
        assert_eq!(ok(&["%08.3f", "-3.14159"]), "-003.142");
        assert_eq!(ok(&["%g", "1001.5"]), "1001.5");
        assert_eq!(ok(&["%g", "0.0001"]), "0.0001");
        assert_eq!(ok(&["%g", "100000"]), "100000");
        assert_eq!(ok(&["%g", "0"]), "0");
        assert_eq!(ok(&["%.3g", "3.14159"]), "3.14");
        assert_eq!(ok(&["%g", "2"]), "2");
        assert_eq!(ok(&["100%%"]), "100%");
        assert_eq!(ok(&["%s", ""]), "");
    }

    #[test]
    fn refusals() {
        for args in [
            &["%d", "1.5"][..],
            &["%d", "abc"],
            &["%d", "010"],
            &["%d"],
            &["%d", "1", "2"],
            &["%.2d", "1"],
            &["%e", "1"],
            &["%c", "65"],
            &["%1$s", "a"],
            &["%ld", "1"],
            &["%*d", "1", "2"],
            &["%#x", "1"],
            &["%x", "-1"],
            &["%.2f", "0.125"],
            &["%.0f", "0.5"],
            &["%.20f", "1"],
            &["%g", "1e6"],
            &["%g", "0.00001"],
            &["%f", "1e20"],
            &["%05s", "a"],
            &["%200d", "1"],
        ] {
            assert!(fmt(args).is_err(), "{args:?}");
        }
    }
}
