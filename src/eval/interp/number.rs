//! Numbers: reading literals and numeric strings, and printing numbers as Tcl would.
//!
//! Reading is strict: a form that some parser reads differently from another (`010`,
//! octal in Tcl 8.4 and decimal in Tcl 9; ` 1` with spaces; `1_000`; `Inf`; `0o7`) is
//! [`NumText::Unclear`], which callers turn into Unknown.
//!
//! Printing is exact or absent. Tcl 8.4 prints doubles with 12 significant digits,
//! Tcl 8.5+ with the shortest round-trip digits, and a host may set `tcl_precision`:
//! the only doubles that print the same under every setting are those whose exact
//! binary value has at most 12 significant decimal digits (`2.0`, `1001.5`, `0.125`).
//! Those are printed (fixed notation between 1e-4 and 1e12, always with a `.`); any
//! other double is Unknown.
//!
//! Indices (`4`, `end`, `end-2`), which the string and list commands share, are read
//! here too: an index is a number or counts from the end.

use super::error::{malformed, unsupported, Unknown};

/// A numeric literal or string, as Tcl and the expression parser read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumText {
    Int(i64),
    Dbl(f64),
    /// Not a number in any version: a string.
    NotNumber,
    /// Read as a number by some parsers and not others, or differently.
    Unclear,
}

/// Largest integer any evaluator computes with: beyond it Tcl 8.4 (32-bit `long` on
/// Windows) wraps while later versions do not.
pub(crate) const TCL_INT_MAX: i64 = i32::MAX as i64;
/// Largest integer a double holds exactly.
const EXACT_INT_MAX: u64 = 1 << 53;

/// Length of the longest numeric lexeme at `i` (`0x1F`, `12`, `1.5`, `.5`, `5.`,
/// `1e-3`); `0` when none starts there. What follows the lexeme is the caller's
/// concern (`2pi`, `1.2.3` are errors there).
pub(crate) fn scan_number(b: &[u8], i: usize) -> usize {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    if at(i) == b'0' && matches!(at(i + 1), b'x' | b'X') && at(i + 2).is_ascii_hexdigit() {
        let mut j = i + 2;
        while at(j).is_ascii_hexdigit() {
            j += 1;
        }
        return j - i;
    }
    let mut j = i;
    let mut digits = 0;
    while at(j).is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if at(j) == b'.' {
        j += 1;
        while at(j).is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return 0;
    }
    if matches!(at(j), b'e' | b'E') {
        let mut k = j + 1;
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            while at(k).is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    j - i
}

/// Reads a whole unsigned lexeme as found by [`scan_number`].
pub(crate) fn parse_lexeme(s: &str) -> NumText {
    let b = s.as_bytes();
    if b.is_empty() || scan_number(b, 0) != b.len() {
        return NumText::NotNumber;
    }
    if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X') {
        return match u64::from_str_radix(&s[2..], 16) {
            Ok(v) if v <= EXACT_INT_MAX => NumText::Int(v as i64),
            _ => NumText::Unclear,
        };
    }
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len > 1 && b[0] == b'0' {
        // `010`, `00.5`: octal or an error in some parsers, decimal in others.
        return NumText::Unclear;
    }
    if int_len == b.len() {
        return match s.parse::<u64>() {
            Ok(v) if v <= EXACT_INT_MAX => NumText::Int(v as i64),
            _ => NumText::Unclear,
        };
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => NumText::Dbl(v),
        _ => NumText::Unclear,
    }
}

/// Classifies a whole string the way Tcl's `expr`, `format %d` and friends would read
/// it, keeping to what every Tcl version agrees on.
pub(crate) fn tcl_number(s: &str) -> NumText {
    const SPACE: &[char] = &[' ', '\t', '\n', '\r', '\u{b}', '\u{c}'];
    let trimmed = s.trim_matches(SPACE);
    if trimmed.len() != s.len() {
        // Tcl accepts surrounding white space in some places and versions only.
        return match tcl_number(trimmed) {
            NumText::NotNumber => NumText::NotNumber,
            _ => NumText::Unclear,
        };
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = if body.len() <= 8 {
        body.to_ascii_lowercase()
    } else {
        String::new()
    };
    if matches!(lower.as_str(), "inf" | "infinity" | "nan")
        || (lower.len() > 2
            && lower.starts_with('0')
            && matches!(lower.as_bytes()[1], b'o' | b'b' | b'd'))
    {
        return NumText::Unclear;
    }
    if body.contains('_') && body.bytes().next().is_some_and(|c| c.is_ascii_digit()) {
        // Tcl 9 reads `1_000` as a number.
        return match parse_lexeme(&body.replace('_', "")) {
            NumText::NotNumber => NumText::NotNumber,
            _ => NumText::Unclear,
        };
    }
    match parse_lexeme(body) {
        NumText::Int(v) if v <= TCL_INT_MAX => NumText::Int(if negative { -v } else { v }),
        NumText::Int(_) => NumText::Unclear,
        NumText::Dbl(v) => NumText::Dbl(if negative { -v } else { v }),
        other => other,
    }
}

/// The exact decimal expansion of `|v|`: significant digits without leading or trailing
/// zeros, and the position of the decimal point relative to the first digit
/// (`1001.5` → `("10015", 4)`, `0.125` → `("125", 0)`, `0.0625` → `("625", -1)`).
/// Zero gives `("", 0)`.
pub(crate) fn exact_digits(v: f64) -> (String, i64) {
    if v == 0.0 {
        return (String::new(), 0);
    }
    // A double's exact expansion has at most 767 significant digits; Rust prints the
    // digits asked for exactly.
    let s = format!("{:.800e}", v.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let lead = digits.len() - digits.trim_start_matches('0').len();
    (digits[lead..].to_owned(), exp + 1 - lead as i64)
}

/// Rounds an exact expansion to its first `keep` digits (which may be zero or negative:
/// rounding above the first digit). Returns `None` on an exact tie, where C libraries
/// differ (round-half-even, round-half-away); otherwise the nearest value, which every
/// correctly rounding library prints.
pub(crate) fn round_digits(digits: &str, point: i64, keep: i64) -> Option<(String, i64)> {
    let len = digits.len() as i64;
    if keep >= len {
        return Some((digits.to_owned(), point));
    }
    if keep < 0 {
        return Some((String::new(), point));
    }
    let keep = keep as usize;
    let dropped = &digits.as_bytes()[keep..];
    if dropped == b"5" {
        return None;
    }
    let mut kept: Vec<u8> = digits.as_bytes()[..keep].to_vec();
    if dropped[0] >= b'5' {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                let s = String::from_utf8(kept).unwrap_or_default();
                return Some((s.trim_end_matches('0').to_owned(), point + 1));
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let s = String::from_utf8(kept).unwrap_or_default();
    Some((s.trim_end_matches('0').to_owned(), point))
}

/// Renders digits and point in fixed notation with exactly `frac` fractional digits
/// (`frac == 0`: no decimal point). The digits must need no more than `frac`.
pub(crate) fn render_fixed(digits: &str, point: i64, frac: usize) -> String {
    let mut out = String::new();
    if point <= 0 {
        out.push('0');
    } else {
        for k in 0..point as usize {
            out.push(digits.as_bytes().get(k).map_or('0', |&c| c as char));
        }
    }
    if frac > 0 {
        out.push('.');
        for k in 0..frac as i64 {
            let idx = point + k;
            let c = if idx < 0 {
                '0'
            } else {
                digits
                    .as_bytes()
                    .get(idx as usize)
                    .map_or('0', |&c| c as char)
            };
            out.push(c);
        }
    }
    out
}

/// How Tcl prints a double, when every Tcl version and precision setting agrees (see
/// the module documentation); `None` otherwise.
pub(crate) fn tcl_double_text(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return (!v.is_sign_negative()).then(|| "0.0".to_owned());
    }
    if !(1e-4..1e12).contains(&v.abs()) {
        return None;
    }
    let (digits, point) = exact_digits(v);
    if digits.len() > 12 {
        return None;
    }
    let frac = (digits.len() as i64 - point).max(1) as usize;
    let sign = if v < 0.0 { "-" } else { "" };
    Some(format!("{sign}{}", render_fixed(&digits, point, frac)))
}

/// How `[frame]` prints the frame: an integral frame as an integer. Fractional frames
/// are `None`: how Nuke prints them is not documented.
pub(crate) fn frame_text(frame: f64) -> Option<String> {
    (frame.is_finite() && frame.fract() == 0.0 && frame.abs() <= TCL_INT_MAX as f64)
        .then(|| format!("{}", frame as i64))
}

/// Reads a Tcl index (`4`, `-1`, `end`, `end-2`) against a sequence of `len` items;
/// the result may be out of range. Forms added after Tcl 8.4 (`end+1`, `1+2`) are
/// Unknown.
pub(crate) fn index(text: &str, len: usize, part: &str) -> Result<i64, Unknown> {
    let end = len as i64 - 1;
    if text == "end" {
        return Ok(end);
    }
    if let Some(n) = text.strip_prefix("end-") {
        if !n.is_empty()
            && n.bytes().all(|c| c.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'))
        {
            if let Ok(n) = n.parse::<i64>() {
                return Ok(end - n);
            }
        }
        return unsupported(part, "index form not read alike by every Tcl version");
    }
    match tcl_number(text) {
        NumText::Int(i) => Ok(i),
        NumText::NotNumber | NumText::Dbl(_) => malformed(part, "bad index"),
        NumText::Unclear => unsupported(part, "index form not read alike by every Tcl version"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices() {
        assert_eq!(index("2", 5, "").unwrap(), 2);
        assert_eq!(index("-1", 5, "").unwrap(), -1);
        assert_eq!(index("end", 5, "").unwrap(), 4);
        assert_eq!(index("end-1", 5, "").unwrap(), 3);
        assert_eq!(index("end-0", 5, "").unwrap(), 4);
        assert_eq!(index("0x2", 5, "").unwrap(), 2);
        for bad in ["end+1", "1+1", "end-01", "end-", "01", " 1", "x", "1.0"] {
            assert!(index(bad, 5, "").is_err(), "{bad}");
        }
    }

    #[test]
    fn lexemes() {
        let b = b"0x1Fg 12 1.5e-3x .5 5. 1e 0x";
        assert_eq!(scan_number(b, 0), 4);
        assert_eq!(scan_number(b, 6), 2);
        assert_eq!(scan_number(b, 9), 6);
        assert_eq!(scan_number(b, 17), 2);
        assert_eq!(scan_number(b, 20), 2);
        assert_eq!(scan_number(b, 23), 1);
        assert_eq!(scan_number(b, 26), 1);
        assert_eq!(scan_number(b".", 0), 0);
    }

    #[test]
    fn literal_values() {
        assert_eq!(parse_lexeme("0x1F"), NumText::Int(31));
        assert_eq!(parse_lexeme("12"), NumText::Int(12));
        assert_eq!(parse_lexeme("0"), NumText::Int(0));
        assert_eq!(parse_lexeme("1.5"), NumText::Dbl(1.5));
        assert_eq!(parse_lexeme("5."), NumText::Dbl(5.0));
        assert_eq!(parse_lexeme(".5"), NumText::Dbl(0.5));
        assert_eq!(parse_lexeme("0.5"), NumText::Dbl(0.5));
        assert_eq!(parse_lexeme("1e3"), NumText::Dbl(1000.0));
        assert_eq!(parse_lexeme("010"), NumText::Unclear);
        assert_eq!(parse_lexeme("00.5"), NumText::Unclear);
        assert_eq!(parse_lexeme("1e999"), NumText::Unclear);
        assert_eq!(parse_lexeme("99999999999999999999"), NumText::Unclear);
        assert_eq!(parse_lexeme("1x"), NumText::NotNumber);
        assert_eq!(parse_lexeme(""), NumText::NotNumber);
    }

    #[test]
    fn tcl_strings() {
        assert_eq!(tcl_number("1001"), NumText::Int(1001));
        assert_eq!(tcl_number("-7"), NumText::Int(-7));
        assert_eq!(tcl_number("+7"), NumText::Int(7));
        assert_eq!(tcl_number("-0x10"), NumText::Int(-16));
        assert_eq!(tcl_number("1.5"), NumText::Dbl(1.5));
        assert_eq!(tcl_number("gaussian"), NumText::NotNumber);
        assert_eq!(tcl_number("1001_v2"), NumText::NotNumber);
        assert_eq!(tcl_number(""), NumText::NotNumber);
        assert_eq!(tcl_number(" a "), NumText::NotNumber);
        for unclear in [
            " 1",
            "1\n",
            "010",
            "Inf",
            "-nan",
            "0o7",
            "0b1",
            "1_000",
            "4294967296",
        ] {
            assert_eq!(tcl_number(unclear), NumText::Unclear, "{unclear:?}");
        }
    }

    #[test]
    fn exact_expansions_and_rounding() {
        assert_eq!(exact_digits(1001.5), ("10015".to_owned(), 4));
        assert_eq!(exact_digits(0.0625), ("625".to_owned(), -1));
        assert_eq!(exact_digits(-2.0), ("2".to_owned(), 1));
        assert_eq!(exact_digits(0.0), (String::new(), 0));
        assert!(exact_digits(0.1).0.len() > 50);
        // 0.125 to two places is a tie; 0.375 to one place is not (0.375 → 0.4).
        let (d, p) = exact_digits(0.125);
        assert_eq!(round_digits(&d, p, p + 2), None);
        let (d, p) = exact_digits(0.375);
        assert_eq!(round_digits(&d, p, p + 1), Some(("4".to_owned(), 0)));
        let (d, p) = exact_digits(9.96);
        assert_eq!(round_digits(&d, p, p + 1), Some(("1".to_owned(), 2)));
        assert_eq!(round_digits("5", 0, -1), Some((String::new(), 0)));
    }

    #[test]
    fn fixed_rendering() {
        assert_eq!(render_fixed("10015", 4, 1), "1001.5");
        assert_eq!(render_fixed("10015", 4, 3), "1001.500");
        assert_eq!(render_fixed("625", -1, 4), "0.0625");
        assert_eq!(render_fixed("2", 1, 0), "2");
        assert_eq!(render_fixed("", 0, 2), "0.00");
        assert_eq!(render_fixed("1", 3, 0), "100");
    }

    #[test]
    fn tcl_double_printing_is_exact_or_absent() {
        assert_eq!(tcl_double_text(2.0).as_deref(), Some("2.0"));
        assert_eq!(tcl_double_text(1001.5).as_deref(), Some("1001.5"));
        assert_eq!(tcl_double_text(-0.125).as_deref(), Some("-0.125"));
        assert_eq!(tcl_double_text(0.0).as_deref(), Some("0.0"));
        assert_eq!(tcl_double_text(-0.0), None);
        assert_eq!(tcl_double_text(0.1), None);
        assert_eq!(tcl_double_text(1e12), None);
        assert_eq!(tcl_double_text(1.0 / 65536.0), None);
        assert_eq!(tcl_double_text(f64::NAN), None);
    }

    #[test]
    fn frames() {
        assert_eq!(frame_text(1001.0).as_deref(), Some("1001"));
        assert_eq!(frame_text(-3.0).as_deref(), Some("-3"));
        assert_eq!(frame_text(1001.5), None);
        assert_eq!(frame_text(f64::INFINITY), None);
    }
}
